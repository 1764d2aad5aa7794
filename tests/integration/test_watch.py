#!/usr/bin/env python3
"""test_watch: ldap-maildirmake --watch against a slapd with syncprov.

The howto's example (paths moved under a temporary mail_base) in a slapd
with the syncprov overlay; `ldap-maildirmake --watch` running as a daemon:
- it makes the whole tree first (a one-shot run afterwards has nothing
  to do);
- an account added with ldapadd has its maildir within 2 s;
- a seeAlso subscription added to an account gets its shared folder
  (again, a one-shot run has nothing left to do);
- a deleted account and a deactivated one leave their maildirs alone and
  are reported as orphans with their paths;
- SIGTERM ends it cleanly (exit 0, no sanitizer report);
- against a server without syncprov it exits 2 saying so.
Runs as root (mail_owner: an unprivileged user, see mdm_util).
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
import mdm_util as m       # noqa: E402

D = t.tmpdir("ldapmail-watch-")
os.chmod(D, 0o755)
BASE = os.path.join(D, "vmail")
os.mkdir(BASE)
S = {}


def account(uid, status="active", extra=""):
    return ("dn: uid=%s,%s\nobjectClass: inetOrgPerson\nobjectClass: "
            "qmailUser\ncn: %s\nsn: %s\nuid: %s\nmail: %s@anotherdomain.nu\n"
            "accountStatus: %s\nmailMessageStore: %s/%s/Maildir/\n%s\n" % (
                uid, t.ACCOUNT_BASE, uid, uid, uid, uid, status, BASE, uid,
                extra))


def maildir(uid):
    return os.path.join(BASE, uid, "Maildir")


def is_maildir(path):
    return all(os.path.isdir(os.path.join(path, x))
               for x in ("cur", "new", "tmp"))


def one_shot_summary():
    r = m.run(S["conf"], "-v")
    lines = r.out.strip().splitlines()
    return r.rc, lines[-1] if lines else r.err


def err_text():
    return S["w"].errors()


@t.test
def setup():
    ldif = m.write(os.path.join(D, "data.ldif"), m.rewrite_fixture(BASE))
    S["slapd"] = t.Slapd(ldifs=[ldif], syncprov=True).start()
    S["conf"] = m.config(S["slapd"], D, BASE)
    S["w"] = t.Daemon([t.MAILDIRMAKE, "-c", S["conf"], "--watch"],
                      name="watch", dir=D).start()
    ok = t.wait_until(lambda: is_maildir(os.path.join(
        BASE, "albert.onestone", "Maildir")), 10 * t.SLOW)
    t.ok(ok, "--watch makes the tree the directory describes first",
         err_text()[-500:])
    time.sleep(0.5)
    rc, last = one_shot_summary()
    t.ok(rc == 0 and "no changes" in last, "a one-shot run after it has "
         "nothing to do", last)
    t.eq(m.lock_holder(BASE), None, "between passes the watcher holds no "
         "run lock (a pass takes it on a descriptor of its own)")


@t.test
def new_account_within_2s():
    S["slapd"].add(account("watchnew"))
    t0 = time.monotonic()
    ok = t.wait_until(lambda: is_maildir(maildir("watchnew")), 2 * t.SLOW,
                      0.01)
    took = time.monotonic() - t0
    t.ok(ok, "ldapadd: the new account's maildir exists within 2 s "
         "(%.2f s)" % took, err_text()[-500:])
    st = os.stat(maildir("watchnew"))
    t.eq((st.st_uid, st.st_gid), m.default_owner(),
         "owned by mail_owner")


@t.test
def see_also_followed():
    before = m.snapshot(BASE)
    S["slapd"].modify("dn: uid=watchnew,%s\nchangetype: modify\nadd: "
                      "seeAlso\nseeAlso: cn=Timetravel weekly,ou=Tokelau,"
                      "o=company\n" % t.ACCOUNT_BASE)
    sub = os.path.join("watchnew", "Maildir").encode()

    def grown():
        try:
            now = m.snapshot(BASE)
        except FileNotFoundError:
            # the watcher renamed a temporary directory during the walk:
            # look again
            return []
        return [k for k in now if k not in before and k.startswith(sub)]
    ok = t.wait_until(grown, 2 * t.SLOW, 0.02)
    t.ok(ok, "a seeAlso subscription added: the subscriber's shared "
         "folder appears within 2 s", grown() or err_text()[-500:])
    time.sleep(0.5)
    rc, last = one_shot_summary()
    t.ok(rc == 0 and "no changes" in last, "a one-shot run then has "
         "nothing to do", last)


@t.test
def deletion_leaves_maildir():
    p = S["slapd"]
    p.add(account("watchgone"))
    t.wait_until(lambda: is_maildir(maildir("watchgone")), 2 * t.SLOW)
    p.delete("uid=watchgone,%s" % t.ACCOUNT_BASE)
    want = "orphan: uid=watchgone,%s" % t.ACCOUNT_BASE
    ok = t.wait_until(lambda: want in err_text(), 3 * t.SLOW, 0.05)
    t.ok(ok and maildir("watchgone") in err_text(),
         "a deleted account is reported as an orphan, with its maildir",
         err_text()[-500:])
    time.sleep(0.5)
    t.ok(is_maildir(maildir("watchgone")),
         "its maildir is left in place")
    p.modify("dn: uid=watchnew,%s\nchangetype: modify\nreplace: "
             "accountStatus\naccountStatus: disabled\n" % t.ACCOUNT_BASE)
    want = "orphan: uid=watchnew,%s" % t.ACCOUNT_BASE
    ok = t.wait_until(lambda: want in err_text(), 3 * t.SLOW, 0.05)
    t.ok(ok, "a deactivated account is reported too", err_text()[-500:])
    t.ok(is_maildir(maildir("watchnew")), "its maildir stays")


@t.test
def sigterm_clean_exit():
    w = S["w"]
    w.send_signal(signal.SIGTERM)
    rc = w.wait(10)
    err = err_text()
    t.eq(rc, 0, "SIGTERM: exit 0", err[-500:])
    t.ok("AddressSanitizer" not in err and "runtime error" not in err and
         "LeakSanitizer" not in err, "no sanitizer report", err[-800:])


@t.test
def without_syncprov():
    s = t.Slapd().start()
    try:
        conf = m.config(s, D, BASE)
        r = m.run(conf, "--watch", timeout=30)
        t.ok(r.rc == 2 and "syncprov" in r.err, "no syncprov: --watch "
             "exits 2 and says why", r.why())
    finally:
        s.stop()


if __name__ == "__main__":
    sys.exit(t.main())
