#!/usr/bin/env python3
"""test_sync: the replicated directory and the RFC 4533 stream.

A provider (slapd with syncprov and a session log) and a consumer that
replicates it with syncrepl refreshAndPersist (scripts/test-slapd
--syncprov / --consumer-of), both on loopback with the project's schema.
Proves the pair works (changes on the provider show on the consumer, the
system DN binds to the consumer), then drives common/ldapsync through
tests/tools/sync-probe: the first refresh, adds/modifies/deletes (and a
deactivation, which leaves the filter) from the consumer and from the
provider, a restart that resumes from the stored cookie with only what
changed meanwhile, the server restarted under the stream (resumed with
the cookie), a stale cookie (e-syncRefreshRequired, then a full
refresh), a server without syncprov (PERM, `supported` says no), and the
stream's failover when the consumer freezes (keepalive) and its failback
after SIGCONT.
"""
import os
import re
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402

PROBE = t.tool("sync-probe")
TIMEOUT = 2                     # ldap_timeout of the configs here
KEEPALIVE_MS = 500
TOKELAU = t.ACCOUNT_BASE
ACTIVE = "(&(objectClass=qmailUser)(accountStatus=active))"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")

_env = {}


def env():
    if not _env:
        _env["tmp"] = t.tmpdir("ldapmail-sync-")
        _env["p"], _env["c"] = t.sync_pair()
        _env["n"] = 0
    return _env


def config(uris, extra=()):
    e = env()
    e["n"] += 1
    pw = os.path.join(e["tmp"], "pw")
    t.write(pw, t.SYSTEM_PW + "\n", 0o600)
    path = os.path.join(e["tmp"], "sync%d.conf" % e["n"])
    t.write(path, "\n".join([
        "ldap_uri = " + " ".join(uris),
        "ldap_timeout = %d" % TIMEOUT,
        "bind_dn = " + t.SYSTEM_DN,
        "bind_pw_file = " + pw,
        "domain_base = " + t.DOMAIN_BASE,
        "account_base = " + t.ACCOUNT_BASE,
        "cache_dir = " + e["tmp"],
    ] + list(extra)) + "\n")
    return path


def cookie_dir():
    d = os.path.join(env()["tmp"], "cookies%d" % time.monotonic_ns())
    os.mkdir(d)
    return d


class Stream:
    """A running `sync-probe stream`: its events, read as they come.
    An event is a list of words without the time stamp; ev.ms holds it."""

    def __init__(self, conf, filter=ACTIVE, cookies=None, seconds=60,
                 attrs=("mail", "mailAlternateAddress"), keepalive=None):
        argv = [PROBE, conf, "stream", TOKELAU, filter, str(seconds)]
        if cookies:
            argv += [cookies] + list(attrs)
        envs = dict(os.environ)
        envs["SYNC_PROBE_KEEPALIVE"] = str(keepalive or KEEPALIVE_MS)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=envs)
        self.buf = b""
        self.seen = []

    def _line(self, timeout):
        deadline = time.monotonic() + timeout * t.SLOW
        while b"\n" not in self.buf:
            if self.proc.stdout.closed:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if not r:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        words = line.decode("utf-8", "replace").split(" ")
        ev = Event(words[1:], int(words[0]) if words[0].isdigit() else 0)
        self.seen.append(ev)
        if t.VERBOSE:
            t.note("stream: %s" % " ".join(ev)[:200])
        return ev

    def until(self, pred, timeout):
        """Events up to and including the first for which pred is true;
        None when timeout s pass first."""
        got = []
        deadline = time.monotonic() + timeout * t.SLOW
        while True:
            ev = self._line(max(0.0, deadline - time.monotonic()) / t.SLOW)
            if ev is None:
                return None
            got.append(ev)
            if pred(ev):
                return got

    def refreshed(self, timeout=10):
        """Events of the refresh, up to its "phase ... done"."""
        return self.until(lambda e: e[:1] == ["phase"] and e[2] == "done",
                          timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            out, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        self.buf += out
        while self._line(0.01):
            pass
        return self.proc.returncode, err.decode("utf-8", "replace")


class Event(list):
    def __init__(self, words, ms):
        super().__init__(words)
        self.ms = ms


def unescape(word):
    """A word of sync-probe's output with its \\xHH escapes undone."""
    return re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)),
                  word)


def entries(events, state=None):
    """{DN: event} of the entry events (of one state)."""
    return {unescape(e[3]): e for e in events or []
            if e[:1] == ["entry"] and (state is None or e[1] == state)}


def clean_exit(name, s):
    rc, err = s.close()
    san = next((m for m in SANITIZER_MARKS if m in err), None)
    t.ok(rc == 0 and not san, name + ": the probe ends cleanly",
         "exit %r, stderr %r" % (rc, err[-500:]))


def new_account(uid, extra=""):
    dn = "cn=%s,%s" % (uid, TOKELAU)
    return dn, ("dn: %s\nobjectClass: inetOrgPerson\nobjectClass: "
                "qmailUser\ncn: %s\nsn: %s\nuid: %s\nmail: %s@"
                "anotherdomain.nu\naccountStatus: active\n"
                "mailMessageStore: /vmail/%s/\n%s\n" % (
                    dn, uid, uid, uid, uid, uid, extra))


def modify(slapd, dn, *changes):
    slapd.modify("dn: %s\nchangetype: modify\n%s\n" % (
        dn, "-\n".join(changes)))


# ------------------------------------------------------------ the pair

@t.test
def pair_replicates():
    p, c = env()["p"], env()["c"]
    dn, ldif = new_account("pairtest")
    p.add(ldif)
    ok = t.wait_until(lambda: c.search(TOKELAU, "(uid=pairtest)",
                                       ["mail"]).dns == [dn], 5)
    t.ok(ok, "an add on the provider shows on the consumer, read by the "
         "system DN (its password replicated)")
    modify(p, dn, "add: mailAlternateAddress\nmailAlternateAddress: "
           "pt@anotherdomain.nu\n")
    ok = t.wait_until(lambda: c.search(
        TOKELAU, "(mailAlternateAddress=pt@anotherdomain.nu)").dns == [dn],
        5)
    t.ok(ok, "a modify on the provider shows on the consumer")
    p.delete(dn)
    ok = t.wait_until(lambda: c.search(TOKELAU, "(uid=pairtest)").rc == 0
                      and c.search(TOKELAU, "(uid=pairtest)").dns == [], 5)
    t.ok(ok, "a delete on the provider shows on the consumer")
    t.ok(t.replicated(p, c, 5), "provider and consumer: same contextCSN")


@t.test
def supported():
    p, c = env()["p"], env()["c"]
    for name, s in (("consumer", c), ("provider", p)):
        r = t.run([PROBE, config([s.uri]), "supported"])
        t.eq(r.out, "yes\n", "supported: the %s offers sync" % name)
    r = t.run([t.LOOKUPD, "-c", config([c.uri]), "check"])
    t.ok(r.rc == 0 and "ldap: server %s (ldap_uri entry 1)" % c.uri in
         r.out.splitlines() and "ldap: RFC 4533 sync offered (syncprov)" in
         r.out.splitlines(), "lookupd check names the server and says "
         "it offers sync", r.why())
    plain = t.Slapd().start()
    try:
        r = t.run([PROBE, config([plain.uri]), "supported"])
        t.eq(r.out, "no\n", "supported: a slapd without syncprov does not")
        r = t.run([t.LOOKUPD, "-c", config([plain.uri]), "check"])
        t.ok(r.rc == 0 and "ldap: RFC 4533 sync not offered (no syncprov):"
             " changes can only be polled" in r.out.splitlines(),
             "lookupd check says when the server offers no sync", r.why())
        r = t.run([PROBE, config([plain.uri]), "stream", TOKELAU, ACTIVE,
                   "10"], timeout=20)
        t.ok(r.rc == 2 and "status PERM" in r.out and
             "no syncprov" in r.out and r.secs < 5 * t.SLOW,
             "a stream from a slapd without syncprov: PERM at once, "
             "saying why", r.why())
    finally:
        plain.stop()


# ------------------------------------------------------- the stream

def stream_changes(name, source, where):
    """Adds, modifies, a deactivation and a delete made on `where`, seen
    by a stream from `source`."""
    p = env()["p"]
    uid = "s%s" % name
    s = Stream(config([source.uri]), cookies=cookie_dir())
    try:
        ev = s.refreshed()
        got = entries(ev, "add")
        t.ok(ev and ev[0][:3] == ["reset", "no", "cookie"] and
             set(got) == {"cn=Albert Onestone,%s" % TOKELAU,
                          "cn=Seven of Nine,%s" % TOKELAU},
             "%s: first refresh: reset, then the active accounts" % name,
             lambda: repr(s.seen[-8:]))
        c = s.until(lambda e: e[0] == "cookie", 5)
        t.ok(c and c[-1][1].startswith("rid="), "%s: the refresh's cookie "
             "comes after its end" % name, repr(s.seen[-4:]))

        dn, ldif = new_account(uid)
        t0 = time.time()
        where.add(ldif)
        ev = s.until(lambda e: e[:2] == ["entry", "add"] and
                     unescape(e[3]) == dn, 5)
        t.ok(ev and "mail=%s@anotherdomain.nu" % uid in ev[-1],
             "%s: an add arrives as add, with its attributes" % name,
             repr(s.seen[-4:]))
        uuid = ev[-1][2] if ev else None
        if ev:
            t.note("%s: add seen %d ms after ldapadd started" % (
                name, ev[-1].ms - t0 * 1000))
        ev = s.until(lambda e: e[0] == "cookie", 5)
        t.ok(ev is not None, "%s: then a cookie" % name)

        modify(where, dn, "add: mailAlternateAddress\nmailAlternateAddress:"
               " %s.alt@anotherdomain.nu\n" % uid)
        ev = s.until(lambda e: e[:2] == ["entry", "modify"] and
                     unescape(e[3]) == dn, 5)
        t.ok(ev and ev[-1][2] == uuid and "mailAlternateAddress=%s.alt@"
             "anotherdomain.nu" % uid in ev[-1] and
             "mail=%s@anotherdomain.nu" % uid in ev[-1],
             "%s: a modify arrives as modify, whole entry, same UUID"
             % name, repr(s.seen[-4:]))

        modify(where, dn, "replace: accountStatus\naccountStatus: "
               "inactive\n")
        ev = s.until(lambda e: e[:2] == ["entry", "delete"], 5)
        t.ok(ev and ev[-1][2] == uuid,
             "%s: a deactivation (out of the filter) arrives as delete"
             % name, repr(s.seen[-4:]))
        modify(where, dn, "replace: accountStatus\naccountStatus: active\n")
        ev = s.until(lambda e: e[:2] == ["entry", "add"] and
                     unescape(e[3]) == dn, 5)
        t.ok(ev and ev[-1][2] == uuid,
             "%s: reactivated: add again, same UUID" % name,
             repr(s.seen[-4:]))

        where.delete(dn)
        ev = s.until(lambda e: e[:2] == ["entry", "delete"], 5)
        t.ok(ev and ev[-1][2] == uuid, "%s: a delete arrives as delete"
             % name, repr(s.seen[-4:]))
    finally:
        clean_exit(name, s)
    # Nothing left behind on either server for the next test.
    t.ok(t.replicated(p, env()["c"], 5), "%s: pair in step" % name)


@t.test
def stream_from_consumer():
    e = env()
    stream_changes("consumer", e["c"], e["p"])


@t.test
def stream_from_provider():
    e = env()
    stream_changes("provider", e["p"], e["p"])


@t.test
def resume_from_cookie():
    e = env()
    p, c = e["p"], e["c"]
    conf, cookies = config([c.uri]), cookie_dir()
    s = Stream(conf, cookies=cookies)
    ev = s.refreshed()
    s.until(lambda x: x[0] == "cookie", 5)
    clean_exit("resume, first run", s)
    t.ok(ev and os.path.exists(os.path.join(cookies, "stream.cookie")),
         "the cookie is stored beside (COOKIEDIR/stream.cookie)")

    # Meanwhile: a new account, a changed one, a deleted one.
    dn_new, ldif = new_account("resumenew")
    p.add(ldif)
    dn_gone, ldif = new_account("resumegone")
    p.add(ldif)
    t.replicated(p, c, 5)
    s = Stream(conf, cookies=cookies)
    s.refreshed()
    s.until(lambda x: x[0] == "cookie", 5)
    clean_exit("resume, second run", s)
    seven = "cn=Seven of Nine,%s" % TOKELAU
    modify(p, seven, "add: mailAlternateAddress\nmailAlternateAddress: "
           "seven.resume@anotherdomain.nu\n")
    p.delete(dn_gone)
    dn_late, ldif = new_account("resumelate")
    p.add(ldif)
    t.replicated(p, c, 5)

    s = Stream(conf, cookies=cookies)
    try:
        ev = s.refreshed()
        got = entries(ev)
        t.ok(ev is not None and not any(x[0] == "reset" for x in ev),
             "restarted with the cookie: no reset", repr(ev))
        t.ok(set(entries(ev, "add")) == {seven, dn_late} and
             dn_new not in got and "cn=Albert Onestone,%s" % TOKELAU
             not in got,
             "restarted: only what changed comes again (a modify, an add)",
             repr(ev))
        deleted = [x for x in ev or [] if x[:2] == ["entry", "delete"] or
                   x[:2] == ["idset", "delete"]]
        t.ok(len(deleted) == 1 and ev[-1][1] == "delete",
             "restarted: the delete comes as a delete, in a delete phase "
             "(the session log covers it)", repr(ev))
    finally:
        clean_exit("resume, third run", s)
    for dn in (dn_new, dn_late):
        p.delete(dn)
    modify(p, seven, "delete: mailAlternateAddress\nmailAlternateAddress: "
           "seven.resume@anotherdomain.nu\n")


@t.test
def server_restarted():
    # The stream reconnects to the same server and resumes with its
    # cookie: a short refresh, never a full one.
    e = env()
    p, c = e["p"], e["c"]
    s = Stream(config([c.uri]), cookies=cookie_dir())
    dn = None
    try:
        s.refreshed()
        s.until(lambda x: x[0] == "cookie", 5)
        c.stop()
        dn, ldif = new_account("restarted")
        p.add(ldif)
        c.start()
        ev = s.until(lambda x: x[:2] == ["entry", "add"] and
                     unescape(x[3]) == dn, 20)
        t.ok(ev and any(x[:2] == ["status", "TEMP"] for x in ev) and
             not any(x[0] == "reset" for x in ev),
             "consumer restarted under the stream: reconnected with its "
             "cookie, no full refresh, the change made meanwhile arrives",
             repr(s.seen[-8:]))
        if ev and not any(x[:1] == ["phase"] for x in ev):
            ev += s.refreshed(5) or []
        t.ok(ev and set(entries(ev)) == {dn} and
             any(x[:2] == ["phase", "delete"] and x[2] == "done"
                 for x in ev),
             "... its refresh brings that change alone", repr(ev))
    finally:
        clean_exit("restart", s)
        if dn:
            p.delete(dn)


@t.test
def stale_cookie():
    e = env()
    c = e["c"]
    cookies = cookie_dir()
    t.write(os.path.join(cookies, "stream.cookie"),
            "ldapmail sync cookie 1\nserver %s\ncookie rid=000,csn="
            "19700101000000.000000Z#000000#000#000000\n" % c.uri)
    s = Stream(config([c.uri]), cookies=cookies)
    try:
        ev = s.refreshed()
        t.ok(ev and ev[0][0] == "reset" and "e-syncRefreshRequired" in
             " ".join(ev[0]) and "stale" in " ".join(ev[0]),
             "a stale cookie: the server asks for a full refresh, reset",
             repr(ev and ev[:2]))
        t.eq(sorted(entries(ev, "add")), ["cn=Albert Onestone,%s" % TOKELAU,
                                          "cn=Seven of Nine,%s" % TOKELAU],
             "then everything, as adds")
    finally:
        clean_exit("stale cookie", s)

    # Damaged, or of another server: a full refresh too, never a crash.
    t.write(os.path.join(cookies, "stream.cookie"), "ldapmail sync "
            "cookie 1\nserver x\ncookie \x01\n")
    s = Stream(config([c.uri]), cookies=cookies)
    try:
        ev = s.refreshed()
        t.ok(ev and any("damaged cookie file" in " ".join(x) for x in ev)
             and ev[1][:3] == ["reset", "no", "cookie"],
             "a damaged cookie file: said so, full refresh", repr(ev))
    finally:
        clean_exit("damaged cookie", s)
    s = Stream(config([e["p"].uri]), cookies=cookies)
    try:
        ev = s.refreshed()
        t.ok(ev and " ".join(ev[0]) ==
             "reset the cookie is of another server",
             "a cookie of the consumer used on the provider: full refresh",
             repr(ev))
    finally:
        clean_exit("other server", s)


@t.test
def failover_and_failback():
    e = env()
    p, c = e["p"], e["c"]
    conf = config([c.uri, p.uri], extra=["failback = 3"])
    s = Stream(conf, cookies=cookie_dir())
    try:
        s.refreshed()
        t.ok(s.until(lambda x: x[0] == "server", 5) and
             s.seen[-1][1] == c.uri,
             "the stream runs on the consumer (first ldap_uri)",
             repr(s.seen[-3:]))
        c.freeze()
        frozen = time.time()
        dn, ldif = new_account("failover")
        p.add(ldif)
        ev = s.until(lambda x: x[:2] == ["entry", "add"] and
                     unescape(x[3]) == dn, TIMEOUT + 8)
        took = ev[-1].ms / 1000.0 - frozen if ev else None
        t.ok(ev and took < (TIMEOUT + KEEPALIVE_MS / 1000.0 + 1) * t.SLOW,
             "consumer frozen: the stream goes on from the provider "
             "within ldap_timeout + keepalive + 1 s (%.2f s)" % (took or -1),
             repr(s.seen[-6:]))
        words = [" ".join(x) for x in ev or []]
        t.ok(any(w.startswith("status TEMP") and "no answer within" in w
                 for w in words) and
             any(w == "reset the cookie is of another server"
                 for w in words),
             "failover: said why, full refresh", repr(words))
        t.ok(s.until(lambda x: x[0] == "server", 5) and
             s.seen[-1][1] == p.uri, "failover: on the provider",
             repr(s.seen[-3:]))
        # Failback: after SIGCONT and failback (3 s), back on the consumer
        # (which has the account too by then).
        c.thaw()
        ev = s.until(lambda x: x[:2] == ["server", c.uri], 3 + 10)
        t.ok(ev is not None, "consumer thawed: the stream moves back "
             "after failback", repr(s.seen[-5:]))
        if ev and not any(x[:1] == ["phase"] and x[2] == "done"
                          for x in ev):
            ev += s.refreshed() or []
        t.ok(ev and ev[0][0] == "reset" and dn in entries(ev, "add") and
             any(x[:1] == ["phase"] and x[2] == "done" for x in ev),
             "back on the consumer: full refresh, the new account in it",
             repr(ev))
        p.delete(dn)
        ev = s.until(lambda x: x[:2] == ["entry", "delete"], 5)
        t.ok(ev is not None, "back on the consumer: changes flow again")
    finally:
        c.thaw()
        clean_exit("failover", s)


if __name__ == "__main__":
    if not os.path.exists(PROBE):
        t.ok(False, "sync-probe built", "missing " + PROBE)
        sys.exit(1)
    t.main()
