#!/usr/bin/env python3
"""test_courier_profiles: the shipped courier/authldaprc.ox,
authldaprc.jamm and authldaprc.apple, read by the real
courier-authdaemon (authldap) against the OX, Jamm and Apple fixtures in
a real slapd, asked with Courier's authtest.

ox:
- an active user (mailEnabled OK, also "ok") logs in by uid and by mail
  address, with its password; the home directory is
  <LDAP_MAILROOT>/<uid> and no maildir is named (imapd's default
  ./Maildir): exactly where the ox profile's mailbox answer
  "<uid>/Maildir/" below mail_base puts the mail;
- a disabled user (mailEnabled NONE), one never enabled, one whose
  mailbox lives elsewhere (colocRouteAddr) and a wrong password are
  refused.

jamm: an active account logs in by its address, home its homeDirectory
(mail_base), maildir its mailbox relative to it (where the jamm profile's
mailbox answer puts the mail); inactive, deleted (delete: TRUE) and a
wrong password refused.

apple: Enabled users log in by any short name, home
<LDAP_MAILROOT>/<first short name>; Forward, Off, an unknown state, no
mail settings and a wrong password refused.

quotas (jamm: mailQuotaSize of a qmailUser account; apple: kUserDiskQuota
MB): authtest says "Quota: (none)" (no authldaprc sets
LDAP_MAILDIRQUOTA), and after ldap-maildirmake an IMAP LOGIN through
authdaemond and GETQUOTAROOT INBOX show exactly the profile's quota, from
maildirsize.  With LDAP_MAILDIRQUOTA mailQuotaSize, authtest shows the
bare number, which Courier's deliverquota cannot parse.
"""
import grp
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
import e2e_mail as e       # noqa: E402

SCHEMA = os.path.join(t.SRC, "schema")
FIX = os.path.join(t.SRC, "tests", "fixtures")
NIS = "/etc/ldap/schema/nis.schema"


class Mail:
    """What e2e_mail.Courier needs of a mail system."""

    def __init__(self, fixture="ox"):
        self.root = t.tmpdir("ldapmail-cprof-")
        os.chmod(self.root, 0o755)
        self.vmail = os.path.join(self.root, "vmail")
        os.makedirs(self.vmail)
        self.uid, self.gid, self.owner = e.vmail_owner()
        self.slapd = t.Slapd(ldifs=[t.fixture_path(),
                                    os.path.join(FIX, fixture + ".ldif")],
                             schemas=[NIS, os.path.join(
                                 SCHEMA, fixture + ".schema")]).start()


class OxCourier(e.Courier):
    def authldaprc(self):
        return e.set_rc(e.shipped("courier/authldaprc.ox"), {
            "LDAP_URI": self.m.slapd.uri,
            "LDAP_BINDPW": t.SYSTEM_PW,
            "LDAP_GLOB_UID": self.m.owner,
            "LDAP_GLOB_GID": grp.getgrgid(self.m.gid).gr_name,
            "LDAP_MAILROOT": self.m.vmail})


@t.test
def ox_authldaprc():
    m = Mail()
    c = OxCourier(m).start()
    try:
        for login in ("alice", "alice@ox.example.org", "eve"):
            uid = login.split("@")[0]
            r = c.authtest(login, "%s-secret" % uid)
            home = os.path.join(m.vmail, uid)
            t.ok(r.rc == 0 and "Home Directory: %s\n" % home in r.out and
                 "Maildir: (none)" in r.out,
                 "authtest %s: logs in, home %s, the home's Maildir" % (
                     login, home), r.why())
        for login, pw, why in (("carol", "carol-secret", "mailEnabled NONE"),
                               ("dave", "dave-secret", "no mailEnabled"),
                               ("bob", "bob-secret", "colocRouteAddr: "
                                "its mailbox is elsewhere"),
                               ("alice", "wrong", "a wrong password")):
            r = c.authtest(login, pw)
            t.ok(r.rc != 0 and "Authentication FAILED" in r.out + r.err,
                 "authtest %s refused (%s)" % (login, why), r.why())
    finally:
        c.stop()


class JammCourier(e.Courier):
    def __init__(self, mail, more=None):
        super().__init__(mail)
        self.more = more or {}

    def authldaprc(self):
        text = e.set_rc(e.shipped("courier/authldaprc.jamm"), {
            "LDAP_URI": self.m.slapd.uri,
            "LDAP_BINDPW": t.SYSTEM_PW,
            "LDAP_GLOB_UID": self.m.owner,
            "LDAP_GLOB_GID": grp.getgrgid(self.m.gid).gr_name})
        return text.rstrip("\n") + "\n" + "".join(
            "%s\t%s\n" % kv for kv in self.more.items())


def jamm_account(local, active="TRUE", delete=None,
                 home="/home/vmail/domains", quota=None):
    dom = "jamm.example"
    return ("dn: mail=%s@%s,jvd=%s,o=hosting,o=company\n"
            "objectClass: JammMailAccount\n%smail: %s@%s\n"
            "mailbox: %s/%s/\naccountActive: %s\n%s"
            "jammHomeDirectory: %s\n%s"
            "userPassword: %s-secret\n\n" % (
                local, dom, dom,
                "objectClass: qmailUser\n" if quota else "", local, dom,
                dom, local, active,
                "delete: %s\n" % delete if delete else "", home,
                "mailQuotaSize: %d\n" % quota if quota else "", local))


@t.test
def jamm_authldaprc():
    m = Mail("jamm")
    m.slapd.add(jamm_account("anna") + jamm_account("kurt", delete="FALSE") +
                jamm_account("ida", active="FALSE") +
                jamm_account("del", delete="TRUE"))
    c = JammCourier(m).start()
    try:
        for local in ("anna", "kurt"):
            r = c.authtest("%s@jamm.example" % local, "%s-secret" % local)
            t.ok(r.rc == 0 and "Home Directory: /home/vmail/domains\n" in
                 r.out and "Maildir: jamm.example/%s/\n" % local in r.out,
                 "authtest %s@jamm.example: logs in, home the "
                 "homeDirectory, maildir the mailbox" % local, r.why())
        for local, pw, why in (("ida", "ida-secret", "accountActive FALSE"),
                               ("del", "del-secret", "delete TRUE"),
                               ("anna", "wrong", "a wrong password")):
            r = c.authtest("%s@jamm.example" % local, pw)
            t.ok(r.rc != 0 and "Authentication FAILED" in r.out + r.err,
                 "authtest %s@jamm.example refused (%s)" % (local, why),
                 r.why())
        m.slapd.add(jamm_account("quo", home=m.vmail, quota=2048000))
        quota_through_imap(m, c, "jamm", "o=hosting,o=company",
                           "o=hosting,o=company",
                           [("quo@jamm.example", "quo", 2048000)])
    finally:
        c.stop()
    # What authldap makes of LDAP_MAILDIRQUOTA naming mailQuotaSize: the
    # number as it is, which Courier cannot parse (it wants "NS"); imapd
    # keeps reporting maildirsize's quota.
    for f in (os.path.join(c.run_dir, "socket"),
              os.path.join(c.dir, "ns-ready")):   # the stopped one's
        if os.path.exists(f):
            os.unlink(f)
    c = JammCourier(m, {"LDAP_MAILDIRQUOTA": "mailQuotaSize"}).start()
    try:
        r = c.authtest("quo@jamm.example", "quo-secret")
        t.ok(r.rc == 0 and " Quota: 2048000\n" in r.out, "LDAP_MAILDIRQUOTA "
             "mailQuotaSize: authtest shows the bare number", r.why())
        scratch = os.path.join(m.root, "scratch")
        t.run(["maildirmake", scratch], check=True)
        r = t.run(["deliverquota", scratch, "2048000"], input=b"x\n")
        t.ok("quota string '2048000' not parseable" in r.err,
             "Courier's deliverquota cannot parse it", r.why())
    finally:
        c.stop()


def maildirmake(m, profile, account_base, domain_base):
    """ldap-maildirmake with profile over m's slapd, mail_base m.vmail."""
    conf = os.path.join(m.root, "mdm-%s.conf" % profile)
    pw = os.path.join(m.root, "bindpw")
    e.write(pw, t.SYSTEM_PW + "\n", 0o600)
    e.write(conf, "".join("%s = %s\n" % kv for kv in (
        ("ldap_uri", m.slapd.uri), ("bind_dn", t.SYSTEM_DN),
        ("bind_pw_file", pw), ("account_base", account_base),
        ("domain_base", domain_base or t.DOMAIN_BASE),
        ("profile", profile), ("mail_base", m.vmail),
        ("mail_owner", "%d:%d" % (m.uid, m.gid)),
        ("state_dir", m.vmail + ".state"),
        ("local_domains", "example.org"))), 0o600)
    return t.run([t.MAILDIRMAKE, "-c", conf], timeout=60)


def quota_through_imap(m, c, profile, account_base, domain_base, who):
    """The quota of the profile's attribute reaches Courier-IMAP: through
    the maildirsize ldap-maildirmake writes (authldap passes none: see
    courier/README), shown by GETQUOTAROOT after a LOGIN through
    authdaemond."""
    r = maildirmake(m, profile, account_base, domain_base)
    t.ok(r.rc in (0, 1) and "maildirsize" in r.out,
         "%s: ldap-maildirmake writes the maildirs and maildirsize" %
         profile, r.why())
    for login, pw, size in who:
        r = c.authtest(login, "%s-secret" % pw)
        t.ok(r.rc == 0 and " Quota: (none)\n" in r.out, "authtest %s: "
             "Quota: (none), authldap passes no quota" % login, r.why())
        im = c.imap()
        try:
            im.login(login, "%s-secret" % pw)
            typ, data = im.getquotaroot("INBOX")
            im.logout()
        except Exception as ex:    # noqa: BLE001
            typ, data = "NO", [repr(ex)]
        want = b'"ROOT" (STORAGE 0 %d)' % (size // 1024)
        t.ok(typ == "OK" and want in b" ".join(
            d for d in data[1] if isinstance(d, bytes)) if typ == "OK"
             else False, "%s: IMAP GETQUOTAROOT INBOX says %s (the "
             "profile's quota, %d bytes, from maildirsize)" % (
                 login, want.decode(), size), repr((typ, data)))


class AppleCourier(OxCourier):
    def authldaprc(self):
        return e.set_rc(e.shipped("courier/authldaprc.apple"), {
            "LDAP_URI": self.m.slapd.uri,
            "LDAP_BINDPW": t.SYSTEM_PW,
            "LDAP_GLOB_UID": self.m.owner,
            "LDAP_GLOB_GID": grp.getgrgid(self.m.gid).gr_name,
            "LDAP_MAILROOT": self.m.vmail})


@t.test
def apple_authldaprc():
    m = Mail("apple")
    c = AppleCourier(m).start()
    try:
        for login, first in (("jdoe", "jdoe"), ("john.doe", "jdoe"),
                             ("sales", "sales"), ("tiny", "tiny")):
            r = c.authtest(login, "%s-secret" % first)
            home = os.path.join(m.vmail, first)
            t.ok(r.rc == 0 and "Home Directory: %s\n" % home in r.out and
                 "Maildir: (none)" in r.out,
                 "authtest %s: logs in (Enabled), home %s, its Maildir" % (
                     login, home), r.why())
        for login, why in (("fwd", "Forward"), ("offuser", "Off"),
                           ("badstate", "an unknown state"),
                           ("nomail", "no mail settings")):
            r = c.authtest(login, "%s-secret" % login)
            t.ok(r.rc != 0 and "Authentication FAILED" in r.out + r.err,
                 "authtest %s refused (%s)" % (login, why), r.why())
        r = c.authtest("jdoe", "wrong")
        t.ok(r.rc != 0, "authtest jdoe with a wrong password refused",
             r.why())
        quota_through_imap(m, c, "apple", "cn=users,ou=Apple,o=company",
                           None, [("tiny", "tiny", 1048576),
                                  ("jdoe", "jdoe", 262144000)])
    finally:
        c.stop()


if __name__ == "__main__":
    t.main()
