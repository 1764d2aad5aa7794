#!/usr/bin/env python3
"""test_failover: lookupd with two servers in ldap_uri, the first frozen.

The replicated pair of test_sync (scripts/test-slapd: a provider and a
consumer replicating it), `ldap_uri = <consumer> <provider>`; the
consumer frozen with SIGSTOP accepts connections and answers nothing,
which libldap's own list of URIs never gets past:
- `lookupd sync` builds its snapshot from the provider within
  ldap_timeout + 2 s, and Postfix reads the same answers from the cdb;
- `lookupd query --direct` and `lookupd check` answer within
  ldap_timeout + 2 s;
- the daemon (miss_lookup = yes): an account added on the provider while
  the consumer is frozen is found live within ldap_timeout + 2 s, and
  reaches the cdb file through the early rebuild; snapshot hits stay
  fast meanwhile; after SIGCONT everything still answers.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

TIMEOUT = 2
ALBERT = "ao@anotherdomain.nu"
ALBERT_BOX = "/vmail/albert.onestone/Maildir/"
S = {}


def person(uid):
    return ("dn: uid=%s,ou=Tokelau,o=company\nobjectClass: inetOrgPerson\n"
            "objectClass: qmailUser\ncn: %s\nsn: %s\nuid: %s\nmail: %s@"
            "anotherdomain.nu\naccountStatus: active\nmailMessageStore: "
            "/vmail/%s/Maildir/\n" % (uid, uid, uid, uid, uid, uid))


def frozen_first(fn):
    """Run fn with the consumer frozen; always thaw it."""
    c = S["c"]
    c.freeze()
    try:
        return fn()
    finally:
        c.thaw()


@t.test
def setup():
    p, c = t.sync_pair()
    d = t.tmpdir()
    S.update(p=p, c=c, dir=d)
    S["cfg"] = t.lookupd_config(c, d, ldap_uri="%s %s" % (c.uri, p.uri),
                                ldap_timeout=TIMEOUT, refresh=30,
                                min_refresh=1, failback=60)


@t.test
def sync_with_first_frozen():
    d = S["dir"]
    conf = os.path.join(d, "ldapmail.conf")
    t.write(conf, S["cfg"])

    def go():
        return t.run([t.LOOKUPD, "-c", conf, "sync"], timeout=30)
    r = frozen_first(go)
    t.ok(r.rc == 0 and r.secs < (TIMEOUT + 2) * t.SLOW,
         "lookupd sync, first server frozen: built from the second within "
         "ldap_timeout + 2 s (%.2f s)" % r.secs, r.why())
    t.eq(t.postmap_q(ALBERT, "cdb:" + os.path.join(d, "cache", "mailbox")),
         (0, ALBERT_BOX), "the cdb it wrote answers as Postfix reads it")

    def direct():
        return t.run([t.LOOKUPD, "-c", conf, "query", "--direct",
                      "mailbox", ALBERT], timeout=30)
    r = frozen_first(direct)
    t.ok(r.rc == 0 and r.out == ALBERT_BOX + "\n" and
         r.secs < (TIMEOUT + 2) * t.SLOW,
         "query --direct, first server frozen: answered by the second "
         "(%.2f s)" % r.secs, r.why())

    def check():
        return t.run([t.LOOKUPD, "-c", conf, "check"], timeout=30)
    r = frozen_first(check)
    t.ok(r.rc == 0 and r.secs < (TIMEOUT + 2) * t.SLOW,
         "check, first server frozen: passes on the second (%.2f s)"
         % r.secs, r.why())


@t.test
def daemon_with_first_frozen():
    p, c, d = S["p"], S["c"], S["dir"]
    lk = t.Lookupd(S["cfg"], dir=d).start()
    try:
        t.ok(t.wait_until(lambda: lk.query("mailbox", ALBERT) ==
                          b"OK " + ALBERT_BOX.encode(), 10),
             "the daemon answers from its snapshot")
        c.freeze()
        try:
            p.add(person("frozentest"))
            key = "frozentest@anotherdomain.nu"
            t0 = time.monotonic()
            r = lk.query("mailbox", key, timeout=30)
            took = time.monotonic() - t0
            t.ok(r == b"OK /vmail/frozentest/Maildir/" and
                 took < (TIMEOUT + 2) * t.SLOW,
                 "consumer frozen: a new account is found live from the "
                 "provider within ldap_timeout + 2 s (%.2f s)" % took, r)
            t0 = time.monotonic()
            r = lk.query("mailbox", ALBERT)
            t.ok(r == b"OK " + ALBERT_BOX.encode() and
                 time.monotonic() - t0 < 0.5 * t.SLOW,
                 "snapshot hits stay fast", r)
            box = "cdb:" + os.path.join(d, "cache", "mailbox")
            ok = t.wait_until(lambda: t.postmap_q(key, box) ==
                              (0, "/vmail/frozentest/Maildir/"),
                              TIMEOUT * 2 + 8)
            t.ok(ok, "consumer frozen: the rebuild reads the provider, "
                 "the cdb gets the new account")
            t0 = time.monotonic()
            r = lk.query("mailbox", "nobody-here@anotherdomain.nu",
                         timeout=30)
            took = time.monotonic() - t0
            t.ok(r == b"NOTFOUND " and took < 1.0 * t.SLOW,
                 "consumer still frozen: a miss is asked of the provider "
                 "at once (%.2f s)" % took, r)
        finally:
            c.thaw()
        t.ok(t.replicated(p, c, 10), "after SIGCONT the consumer catches up")
        r = lk.query("mailbox", "frozentest@anotherdomain.nu")
        t.eq(r, b"OK /vmail/frozentest/Maildir/", "and answers go on")
    finally:
        st = lk.stop()
        t.eq(st, 0, "lookupd exits 0 on SIGTERM")


if __name__ == "__main__":
    t.main()
