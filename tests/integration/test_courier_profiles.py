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
    def authldaprc(self):
        return e.set_rc(e.shipped("courier/authldaprc.jamm"), {
            "LDAP_URI": self.m.slapd.uri,
            "LDAP_BINDPW": t.SYSTEM_PW,
            "LDAP_GLOB_UID": self.m.owner,
            "LDAP_GLOB_GID": grp.getgrgid(self.m.gid).gr_name})


def jamm_account(local, active="TRUE", delete=None):
    dom = "jamm.example"
    return ("dn: mail=%s@%s,jvd=%s,o=hosting,o=company\n"
            "objectClass: JammMailAccount\nmail: %s@%s\n"
            "mailbox: %s/%s/\naccountActive: %s\n%s"
            "jammHomeDirectory: /home/vmail/domains\n"
            "userPassword: %s-secret\n\n" % (
                local, dom, dom, local, dom, dom, local, active,
                "delete: %s\n" % delete if delete else "", local))


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
    finally:
        c.stop()


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
    finally:
        c.stop()


if __name__ == "__main__":
    t.main()
