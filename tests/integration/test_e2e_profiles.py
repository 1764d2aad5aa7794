#!/usr/bin/env python3
"""test_e2e_profiles: mail really flows with `profile = jamm`, `ox` and
`apple`, through a real Postfix and a real Courier (tests/lib/e2e_mail.py).

One slapd holds the three fixtures (tests/fixtures/jamm.ldif, ox.ldif,
apple.ldif; Jamm's jammHomeDirectory set to the test's mail_base and a
userPassword on each account), and one private Postfix instance serves the
three profiles in turn: for each, ldap-maildirmake builds the maildirs
(default_folders = Sent Drafts Trash) below the profile's own mail_base
from the SHIPPED ldapmail.conf.example (profile, local_domains and
default_folders set), lookupd (as an unprivileged user with group
postfix) serves the profile on the one socket Postfix names, and Postfix
is reloaded with the SHIPPED main.cf and master.cf fragments plus what
the profiles ask of it: virtual_mailbox_base = mail_base (their mailbox
answers are relative), and for jamm transport_maps = the transport map.
The test instance has defer_transports = smtp: mail that leaves by
smtp(8) stays in the queue, "deferred transport", and no DNS is asked.

Per profile:
- the maildirs are exactly those of the profile's active accounts, each
  with the default folders;
- every address: `lookupd route` predicts what Postfix does, and the
  test says what that must be: RCPT 550 for inactive, disabled (jamm:
  accountActive FALSE, an inactive alias; ox: mailEnabled NONE or none;
  apple: Off, a malformed plist) and unknown addresses, 454 for a Jamm
  account of an inactive domain (the domain map does not answer for it);
  delivery by virtual(8) into exactly the maildir ldap-maildirmake built
  (alias chains, +ext, case, Apple short names in both local_domains and
  at a virtual host); the transport answer (jamm: hosted.example's
  smtp:[relay.hosted.example]) and the forward answers (ox:
  colocRouteAddr, apple: Forward's kAutoForwardValue) in the queue as
  smtp(8) mail for the right recipient, "deferred transport", and in no
  maildir;
- Courier, with the SHIPPED courier/authldaprc.PROFILE (values
  replaced): authtest logs an active account in (home and maildir where
  the mail went) and refuses a disabled one; Courier-IMAP: LOGIN, LIST
  shows exactly INBOX and the default folders, LSUB the subscribed
  default folders, and INBOX holds the message Postfix delivered.
- Found by this test: Postfix asks a socketmap transport_maps table
  the address only, never its domain; the jamm transport map answers
  the address by its domain's entry (catchall = yes on a domain map).
- Known, and checked as it is: Courier's authldap cannot see a Jamm
  domain entry, so an active account of an inactive domain passes
  authtest (README); it has no maildir, and mail to it is refused.
Runs as root.
"""
import concurrent.futures
import grp
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t   # noqa: E402
import e2e_mail as e        # noqa: E402

SCHEMA = os.path.join(t.SRC, "schema")
FIX = os.path.join(t.SRC, "tests", "fixtures")
NIS = "/etc/ldap/schema/nis.schema"
FOLDERS = ["Sent", "Drafts", "Trash"]
LOCAL = "example.org, mail.example.net"
SOCK = "socketmap:unix:ldapmail/lookupd.sock:"

# profile: account_base, the maildirs its active accounts get (below its
# mail_base), the addresses asked and where the mail must go: a maildir
# list, ("queued", final recipient) or an SMTP reply code.
PROFILES = {
    "jamm": dict(
        base="o=hosting,o=company",
        maildirs=["hosted.example/john", "hosted.example/mary",
                  "jamm.example/john", "jamm.example/mary"],
        cases=[("abuse@jamm.example", ["jamm.example/john"]),
               ("John+Tag@Jamm.Example", ["jamm.example/john"]),
               ("team@jamm.example", ["jamm.example/john",
                                      "jamm.example/mary"]),
               ("info@hosted.example", ("queued", "mary@hosted.example")),
               ("old@jamm.example", 550),
               ("sales@jamm.example", 550),
               ("nobody@jamm.example", 550),
               ("john@gone.example", 454)],
        active=("john@jamm.example", "john-secret",
                "jamm.example/john"),
        disabled=[("old@jamm.example", "old-secret", "accountActive FALSE"),
                  ("john@jamm.example", "wrong", "a wrong password")]),
    "ox": dict(
        base="ou=OX,o=company",
        maildirs=["alice/Maildir", "eve/Maildir"],
        cases=[("alice@ox.example.org", ["alice/Maildir"]),
               ("a.smith@ox.example.org", ["alice/Maildir"]),
               ("a.smith+news@ox.example.org", ["alice/Maildir"]),
               ("alice@other.example.net", ["alice/Maildir"]),
               ("Eve.Adams@OX.Example.org", ["eve/Maildir"]),
               ("robert@ox.example.org",
                ("queued", "bob@store2.ox.example.org")),
               ("carol@ox.example.org", 550),
               ("dave@ox.example.org", 550),
               ("nobody@ox.example.org", 550)],
        active=("alice", "alice-secret", "alice/Maildir"),
        disabled=[("carol", "carol-secret", "mailEnabled NONE"),
                  ("bob", "bob-secret", "colocRouteAddr")]),
    "apple": dict(
        base="cn=users,ou=Apple,o=company",
        maildirs=["jdoe/Maildir", "sales/Maildir", "tiny/Maildir"],
        cases=[("jdoe@example.org", ["jdoe/Maildir"]),
               ("john.doe@mail.example.net", ["jdoe/Maildir"]),
               ("jdoe+news@example.org", ["jdoe/Maildir"]),
               ("sales@virtual.example.com", ["sales/Maildir"]),
               ("fwd@example.org",
                ("queued", "fwd.target@elsewhere.example.net")),
               ("offuser@example.org", 550),
               ("broken@example.org", 550),
               ("jdoe@virtual.example.com", 550),
               ("nobody@example.org", 550)],
        active=("john.doe", "jdoe-secret", "jdoe/Maildir"),
        disabled=[("offuser", "offuser-secret", "Off"),
                  ("fwd", "fwd-secret", "Forward")]),
}
S = {}


def missing():
    """Why this machine cannot run the test (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (Postfix's chroot, useradd, mount namespaces)"
    progs = [e.POSTFIX, e.POSTCONF, e.POSTQUEUE, e.MASTER_DIST,
             "/usr/lib/postfix/postfix-cdb.so", t.LOOKUPD, t.MAILDIRMAKE,
             e.AUTHDAEMOND, e.AUTHTEST, e.COURIERTCPD, e.IMAPLOGIN,
             e.IMAPD, "/usr/lib/courier-authlib/libauthldap.so"]
    progs += [p for p in ("unshare", "nsenter", "setpriv", "mount")
              if not shutil.which(p)]
    gone = [p for p in progs if not os.path.exists(p)]
    return "missing: " + " ".join(gone) if gone else None


def jamm_ldif(vmail):
    """The Jamm fixture with its accounts' home at vmail and a password
    ("<local part>-secret") on each."""
    with open(os.path.join(FIX, "jamm.ldif"), encoding="utf-8") as f:
        blocks = f.read().split("\n\n")
    out = []
    for b in blocks:
        if "objectClass: JammMailAccount" in b:
            local = re.search(r"(?m)^mail: ([^@]+)@", b).group(1)
            b = b.replace("jammHomeDirectory: /home/vmail/domains",
                          "jammHomeDirectory: " + vmail)
            b = b.rstrip("\n") + "\nuserPassword: %s-secret" % local
        out.append(b)
    return "\n\n".join(out)


class System:
    """The slapd and the Postfix instance the three profiles share."""

    def __init__(self):
        self.root = t.tmpdir("ldapmail-e2eprof-")
        os.chmod(self.root, 0o755)
        self.uid, self.gid, self.owner = e.vmail_owner()
        self.pf_gid = grp.getgrnam("postfix").gr_gid
        self.postfix = e.Postfix(self.root)
        self.sock_dir = os.path.join(self.postfix.queue_dir, "ldapmail")
        self.pw = t.write(os.path.join(self.root, "bindpw"),
                          t.SYSTEM_PW + "\n", 0o600)
        os.chown(self.pw, self.uid, self.gid)
        # lookupd's socket directory, as ldapmail's tmpfiles.d makes it
        os.makedirs(self.sock_dir)
        os.chown(self.sock_dir, self.uid, self.pf_gid)
        os.chmod(self.sock_dir, 0o750)
        self.vmail = {p: self.mkdir("vmail-" + p) for p in PROFILES}
        ldif = t.write(os.path.join(self.root, "jamm.ldif"),
                       jamm_ldif(self.vmail["jamm"]))
        self.slapd = t.Slapd(
            dir=os.path.join(self.root, "slapd"),
            ldifs=[t.fixture_path(), os.path.join(FIX, "ox.ldif"),
                   os.path.join(FIX, "apple.ldif"), ldif],
            schemas=[NIS] + [os.path.join(SCHEMA, p + ".schema")
                             for p in ("ox", "apple", "jamm")]).start()
        self.lookupd = None
        self.prof = None

    def mkdir(self, name, group=None, mode=0o755):
        d = os.path.join(self.root, name)
        os.makedirs(d)
        os.chown(d, self.uid, self.gid if group is None else group)
        os.chmod(d, mode)
        return d

    def conf_text(self, prof):
        """The shipped ldapmail.conf.example for profile prof."""
        text = e.set_params(e.shipped("ldapmail.conf.example"), {
            "ldap_uri": self.slapd.uri,
            "bind_dn": t.SYSTEM_DN,
            "bind_pw_file": self.pw,
            "account_base": PROFILES[prof]["base"],
            "socketmap_listen": "unix:" + os.path.join(self.sock_dir,
                                                       "lookupd.sock"),
            "cache_dir": self.cache,
            "mail_base": self.vmail[prof],
            "mail_owner": self.owner,
            "profile": prof,
            # jamm's domains are JammVirtualDomain entries there too
            "domain_base": PROFILES[prof]["base"] if prof == "jamm" else
            t.DOMAIN_BASE})
        more = "default_folders = %s\n" % " ".join(FOLDERS)
        if prof == "apple":
            more += "local_domains = %s\n" % LOCAL
        return text.replace("profile = %s\n" % prof,
                            "profile = %s\n%s" % (prof, more), 1)

    def main_cf(self, prof):
        text = e.shipped("postfix/main.cf.fragment").replace(
            "cdb:/var/lib/ldapmail/", "cdb:%s/" % self.cache)
        text = e.set_params(text, {
            "virtual_uid_maps": "static:%d" % self.uid,
            "virtual_gid_maps": "static:%d" % self.gid,
            "virtual_mailbox_base": self.vmail[prof]})
        if prof == "jamm":
            text += "transport_maps = %stransport\n" % SOCK
        return text + ("# the test: mail leaving by smtp(8) stays queued\n"
                       "defer_transports = smtp\n")

    def serve(self, prof):
        """ldap-maildirmake, lookupd and Postfix for profile prof."""
        if self.lookupd is not None:
            self.lookupd.stop()
        self.prof = prof
        self.cache = self.mkdir("cache-" + prof, self.pf_gid, 0o750)
        self.conf = t.write(os.path.join(self.root, prof + ".conf"),
                            self.conf_text(prof))
        self.mdm = t.run([t.MAILDIRMAKE, "-c", self.conf], timeout=60)
        self.lookupd = e.UserLookupd(
            open(self.conf).read(), self.uid, self.pf_gid,
            dir=os.path.join(self.root, "lookupd-" + prof))
        self.lookupd.start()
        if not t.wait_until(lambda: os.path.exists(
                os.path.join(self.cache, "mailbox.cdb")), 15):
            raise RuntimeError("no snapshot after 15 s: " +
                               self.lookupd.errors()[-1000:])
        master = e.shipped("postfix/master.cf.fragment").replace(
            "cdb:/var/lib/ldapmail/", "cdb:%s/" % self.cache)
        self.postfix.write_config(self.main_cf(prof), master)
        if self.postfix.alive():
            self.postfix.reload()
        else:
            self.postfix.start()

    def stop(self):
        self.postfix.stop()
        if self.lookupd:
            self.lookupd.stop()
        self.slapd.stop()


def system():
    if "sys" not in S:
        t0 = time.monotonic()
        S["sys"] = System()
        S["t0"] = t0
    return S["sys"]


def maildirs(base):
    out = []
    for d, ds, _ in os.walk(base):
        if {"cur", "new", "tmp"} <= set(ds) and \
                not os.path.basename(d).startswith("."):
            out.append(os.path.relpath(d, base))
    return sorted(out)


def route(m, addr):
    r = t.run([t.LOOKUPD, "-c", m.conf, "route", addr], timeout=60)
    facts = {}
    for line in r.out.splitlines():
        k, _, v = line.strip().partition(": ")
        facts.setdefault(k, []).append(v)
    return r, facts


def queued_to(m, qid, rcpt):
    """The log line of qid's "deferred transport" for rcpt, once seen."""
    pat = re.compile(r"%s: to=<%s>.*status=deferred \(deferred transport\)"
                     % (qid, re.escape(rcpt)))
    return t.wait_until(lambda: [ln for ln in m.postfix.log().splitlines()
                                 if pat.search(ln)], 20)


def mail_flows(prof):
    m = system()
    p = PROFILES[prof]
    t0 = time.monotonic()
    m.serve(prof)
    t.note("%s: served in %.1f s" % (prof, time.monotonic() - t0))
    base = m.vmail[prof]
    if prof == "apple":
        t.ok(m.mdm.rc == 1 and "uid=broken," in m.mdm.err and
             "uid=badstate," in m.mdm.err, "apple: ldap-maildirmake "
             "reports the two malformed plists (exit 1)", m.mdm.why())
    else:
        t.eq(m.mdm.rc, 0, "%s: ldap-maildirmake exit 0" % prof, m.mdm.why())
    built = maildirs(base)
    t.eq(built, p["maildirs"], "%s: ldap-maildirmake built exactly the "
         "active accounts' maildirs" % prof)
    t.ok(all(os.path.isdir(os.path.join(base, d, "." + f, "new"))
             for d in built for f in FOLDERS),
         "%s: each with the default folders %s" % (prof, " ".join(FOLDERS)))
    delivered = {}
    # route first (side by side: each run is a process of its own), then
    # one SMTP transaction per address, then what became of each.
    addrs = [a for a, _ in p["cases"]]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        routes = dict(zip(addrs, pool.map(lambda a: route(m, a), addrs)))
    sents = {a: e.smtp_send(m.postfix.port, a) for a in addrs}
    for addr, want in p["cases"]:
        r, facts = routes[addr]
        sent = sents[addr]
        code, text = sent.rcpts[addr]
        if isinstance(want, int):
            reason = facts.get("reason", [""])[0]
            t.ok(code == want and r.rc == 1 and
                 reason.startswith("%d %s" % (code, text)),
                 "%s: %s: RCPT %d, as route says" % (prof, addr, want),
                 "smtpd %d %s; route %d %r" % (code, text, r.rc, reason))
            continue
        t.ok(sent.accepted and r.rc == 0, "%s: %s: accepted, route says "
             "deliverable" % (prof, addr), "%r; %s" % (sent, r.why()))
        if not sent.accepted:
            continue
        if isinstance(want, tuple):
            qid = sent.data[1].split()[-1]
            agents = facts.get("agent", [])
            t.ok(agents and all(a.startswith("smtp") for a in agents),
                 "%s: %s: route says smtp(8) (%s)" % (prof, addr,
                                                      ", ".join(agents)),
                 r.out)
            t.ok(queued_to(m, qid, want[1]),
                 "%s: %s: queued for smtp(8) to %s (deferred transport)" %
                 (prof, addr, want[1]), m.postfix.log()[-1500:])
            t.eq([f for d in built for f in
                  e.maildir_files(os.path.join(base, d), sent.token)], [],
                 "%s: %s: in no maildir" % (prof, addr))
            continue
        paths = sorted(os.path.relpath(x.rstrip("/"), base)
                       for x in facts.get("path", []))
        t.eq(paths, want, "%s: %s: route's path below mail_base" %
             (prof, addr), r.out)
        for d in want:
            t1 = time.monotonic()
            got = t.wait_until(lambda: e.maildir_files(
                os.path.join(base, d), sent.token), 20)
            t.ok(got and "/new/" in got[0], "%s: %s: delivered by "
                 "virtual(8) into %s/new (%.1f s)" % (
                     prof, addr, d, time.monotonic() - t1),
                 "queue %r; log %s" % (m.postfix.queue(),
                                       m.postfix.log()[-1500:]))
            delivered.setdefault(d, sent)
    t.eq(m.postfix.log_lines(r"status=bounced"), [],
         "%s: nothing bounced" % prof)
    S.setdefault("delivered", {})[prof] = delivered
    t.note("%s: mail part %.1f s" % (prof, time.monotonic() - t0))


class ProfileCourier(e.Courier):
    """Courier with the shipped courier/authldaprc.PROFILE."""

    def __init__(self, m, prof):
        self.prof = prof
        self.vmail = m.vmail[prof]
        holder = type("M", (), {})()
        holder.root = os.path.join(m.root, "courier-" + prof)
        os.makedirs(holder.root)
        os.chmod(holder.root, 0o755)
        holder.slapd, holder.owner, holder.gid = m.slapd, m.owner, m.gid
        super().__init__(holder)

    def authldaprc(self):
        values = {"LDAP_URI": self.m.slapd.uri,
                  "LDAP_BINDPW": t.SYSTEM_PW,
                  "LDAP_GLOB_UID": self.m.owner,
                  "LDAP_GLOB_GID": grp.getgrgid(self.m.gid).gr_name}
        if self.prof != "jamm":
            values["LDAP_MAILROOT"] = self.vmail
        return e.set_rc(e.shipped("courier/authldaprc." + self.prof),
                        values)


def imap_check(c, prof, login, pw, box, sent):
    im = c.imap()
    try:
        typ, _ = im.login(login, pw)
        t.eq(typ, "OK", "%s: IMAP LOGIN %s" % (prof, login))
        typ, data = im.list()
        names = sorted(re.findall(r'"([^"]*)"$', x.decode())[0]
                       for x in data if x)
        t.eq(names, sorted(["INBOX"] + ["INBOX." + f for f in FOLDERS]),
             "%s: LIST: INBOX and the default folders" % prof)
        typ, data = im.lsub()
        subs = sorted(re.findall(r'"([^"]*)"$', x.decode())[0]
                      for x in data if x)
        t.eq(subs, sorted(["INBOX"] + ["INBOX." + f for f in FOLDERS]),
             "%s: LSUB: the default folders are subscribed (and INBOX, "
             "which Courier always lists)" % prof)
        typ, data = im.select("INBOX", readonly=True)
        if sent is None:
            t.ok(False, "%s: a message was delivered to %s" % (prof, box))
        else:
            typ, data = im.search(None, "SUBJECT", sent.token)
            hits = data[0].split() if typ == "OK" else []
            t.eq(len(hits), 1, "%s: INBOX holds the message Postfix "
                 "delivered into %s" % (prof, box))
        im.logout()
    finally:
        try:
            im.shutdown()
        except OSError:
            pass


def courier_logs_in(prof):
    m = system()
    p = PROFILES[prof]
    t0 = time.monotonic()
    c = ProfileCourier(m, prof).start()
    try:
        login, pw, box = p["active"]
        r = c.authtest(login, pw)
        if prof == "jamm":
            where = "Home Directory: %s\n" % m.vmail[prof] in r.out and \
                "Maildir: %s/\n" % box in r.out
        else:
            where = "Home Directory: %s\n" % os.path.join(
                m.vmail[prof], box.split("/")[0]) in r.out and \
                "Maildir: (none)" in r.out
        t.ok(r.rc == 0 and "Authentication succeeded" in r.out and where,
             "%s: authtest %s: logs in, home and maildir where Postfix "
             "delivered (%s)" % (prof, login, box), r.why())
        for who, wpw, why in p["disabled"]:
            r = c.authtest(who, wpw)
            t.ok(r.rc != 0 and "Authentication succeeded" not in r.out,
                 "%s: authtest %s refused (%s)" % (prof, who, why),
                 r.why())
        if prof == "jamm":
            r = c.authtest("john@gone.example", "john-secret")
            t.ok(r.rc == 0 and not os.path.exists(
                os.path.join(m.vmail[prof], "gone.example")),
                 "jamm: known: authtest john@gone.example (inactive "
                 "domain) passes, Courier cannot see the domain; it has "
                 "no maildir (README)", r.why())
        sent = S.get("delivered", {}).get(prof, {}).get(box)
        imap_check(c, prof, login, pw, box, sent)
    finally:
        c.stop()
    t.note("%s: Courier part %.1f s" % (prof, time.monotonic() - t0))


def run_profile(prof):
    why = missing()
    if why:
        t.skip("%s: mail flows end to end" % prof, why)
        return
    mail_flows(prof)
    courier_logs_in(prof)


@t.test
def jamm_end_to_end():
    run_profile("jamm")


@t.test
def ox_end_to_end():
    run_profile("ox")


@t.test
def apple_end_to_end():
    run_profile("apple")
    if "sys" in S:
        S["sys"].stop()
        t.note("three profiles in %.1f s" % (time.monotonic() - S["t0"]))
        t.eq(e.san_reports(), [], "no sanitizer report from lookupd (run "
             "as the unprivileged user)")


if __name__ == "__main__":
    t.main()
