#!/usr/bin/env python3
"""test_hardening_faults: lookupd while the directory and the disk fail
under it, with a real slapd (the fixture and 3,000 generated accounts) and
tests/tools/delay-relay between them.

- LDAP gone in the middle of a snapshot build (a paged read held back by
  the relay, about 6 s long): first the relay is killed, then slapd is
  stopped.  The old snapshot stays byte for byte, its digests verify with
  sha256sum -c, no temporary file is left in cache_dir, every answer
  given meanwhile is the old snapshot's (and answers go on while the
  build reads), the failure is logged, and the next build succeeds by
  itself once LDAP is back;
- LDAP answering slowly (each chunk held 4 s, ldap_timeout 1 s), on new
  connections and on sessions already bound: live lookups answer TEMP /
  400 before LDAP could answer, snapshot hits are answered while those
  live lookups still wait, and no TEMP is remembered (the same keys are
  answered once LDAP is fast again);
- cache_dir full, then read-only (a small tmpfs mounted in lookupd's own
  mount namespace, filled and remounted from outside): the old snapshot
  keeps answering, the error names the cause, every digest still
  verifies, nothing is left behind, and once the disk is fixed the next
  build succeeds and brings the new entries;
- a SIGHUP with a broken config: the log names FILE:LINE of the fault
  and the old config keeps answering;
- a SIGHUP or SIGTERM sent the moment the socket appears (before the
  daemon has reached its loop) neither kills it nor is lost: SIGHUP, it
  serves on; SIGTERM, it exits 0.
Runs as root (mount namespaces).  About a minute.
"""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

N = 3000                       # generated accounts: 6 pages of 500
DELAY_US = 200000              # the slow relay: 64 KiB per 0.2 s at most
ALBERT = "ao@anotherdomain.nu"
ALBERT_MAIL = "albert.onestone@anotherdomain.nu"
MAPS = ("domain", "alias", "mailbox")
S = {}


def gen(i):
    return "g%05d" % i


def gen_ldif(path):
    with open(path, "w") as f:
        for i in range(N):
            u = gen(i)
            f.write("dn: uid=%s,ou=Tokelau,o=company\n"
                    "objectClass: inetOrgPerson\nobjectClass: qmailUser\n"
                    "cn: %s\nsn: generated\nuid: %s\nmail: %s@mydomain.nl\n"
                    % (u, u, u, u))
            for k in range(4):
                f.write("mailAlternateAddress: %s.alternate.address.%d"
                        "@mydomain.nl\n" % (u, k))
            f.write("accountStatus: active\n"
                    "mailMessageStore: /vmail/generated/%s/Maildir/\n\n" % u)


# Keys every snapshot of the test knows, with their answers.
EXPECT = [("alias", ALBERT, "OK " + ALBERT_MAIL),
          ("mailbox", "%s@mydomain.nl" % gen(42),
           "OK /vmail/generated/%s/Maildir/" % gen(42)),
          ("alias", "%s.alternate.address.3@mydomain.nl" % gen(2999),
           "OK %s@mydomain.nl" % gen(2999)),
          ("alias", "G01234.Alternate.Address.0+ext@MyDomain.NL",
           "OK %s+ext@mydomain.nl" % gen(1234)),
          ("domain", "MyDomain.NL.", "OK mydomain.nl")]


def person(uid):
    return t.person_ldif(uid)


class Checker:
    """Asks lookupd the EXPECT keys over one socketmap connection, again
    and again, until stop(): every answer must be the expected one."""

    def __init__(self, lk):
        self.lk, self.n, self.wrong, self.lat = lk, 0, [], []
        self.halt = threading.Event()
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        try:
            with t.SocketmapClient(self.lk.socket, timeout=10) as c:
                while not self.halt.is_set():
                    for name, key, want in EXPECT:
                        t0 = time.monotonic()
                        got = c.request(name, key).decode("utf-8",
                                                          "replace")
                        self.lat.append(time.monotonic() - t0)
                        self.n += 1
                        if got != want and len(self.wrong) < 10:
                            self.wrong.append((key, got))
                    time.sleep(0.005)
        except Exception as e:                   # a failure, reported
            self.wrong.append(("connection", repr(e)))

    def stop(self):
        self.halt.set()
        self.th.join(10)
        self.lat.sort()
        return self

    def pct(self, p):
        return self.lat[min(len(self.lat) - 1, int(len(self.lat) * p))] \
            if self.lat else 0.0


def relay(port, target_port, delay_us=DELAY_US):
    return t.delay_relay(port, target_port, delay_us, dir=S["dir"])


def cache_files(cache):
    out = {}
    for n in sorted(os.listdir(cache)):
        with open(os.path.join(cache, n), "rb") as f:
            out[n] = f.read()
    return out


def digests_verify(cache):
    """sha256sum -c of every map's digest file, in cache_dir: a Result."""
    return t.run(["sha256sum", "--strict", "-c"] +
                 ["%s.cdb.sha256" % m for m in MAPS], cwd=cache)


def temporaries(cache):
    return [n for n in os.listdir(cache) if n.startswith(".")]


def count(lk, text):
    return lk.errors().count(text)


REBUILT = "snapshot of 3 maps rebuilt"
FAILED = "snapshot rebuild failed, the old one stays"


def wait_log(lk, text, n, timeout):
    """Until text is in lk's log more than n times."""
    return t.wait_until(lambda: count(lk, text) > n, timeout, 0.05)


@t.test
def setup():
    if os.geteuid() != 0:
        t.skip("setup", "needs root")
        sys.exit(0)
    d = S["dir"] = t.tmpdir("ldapmail-hf-")
    ldif = os.path.join(d, "generated.ldif")
    gen_ldif(ldif)
    t0 = time.monotonic()
    S["slapd"] = t.Slapd(ldifs=[t.fixture_path(), ldif]).start()
    t.note("slapd with %d more accounts up in %.1f s" % (
        N, time.monotonic() - t0))


def daemon(name, uri, **params):
    """A lookupd in DIR/name using uri, its first snapshot made by a
    `lookupd sync` straight from slapd (fast), refresh off: builds happen
    when the test asks (SIGHUP) or after a failure (the retry)."""
    d = os.path.join(S["dir"], name)
    os.makedirs(d)
    conf = dict(refresh=3600, min_refresh=1, ldap_timeout=5)
    conf.update(params)
    direct = t.lookupd_config(S["slapd"], d, **conf)
    with open(os.path.join(d, "direct.conf"), "w") as f:
        f.write(direct)
    r = t.run([t.LOOKUPD, "-c", os.path.join(d, "direct.conf"), "sync"])
    t.eq(r.rc, 0, "%s: first snapshot by lookupd sync" % name, r.why())
    cfg = direct.replace(S["slapd"].uri, uri)
    return cfg, d


# ------------------------------------------------ LDAP gone mid-build

def mid_build(lk, cache, what, cut, restore):
    """Start a build (SIGHUP), cut LDAP off while the accounts are being
    read, check the aftermath, restore LDAP, wait for the next build."""
    before = cache_files(cache)
    rebuilt, failed = count(lk, REBUILT), count(lk, FAILED)
    reads = count(lk, "sync: read ")
    chk = Checker(lk)
    t0 = time.monotonic()
    lk.reload()
    # The domain read ends first: then the 3000 accounts are on their way.
    t.ok(wait_log(lk, "sync: read ", reads, 20),
         "%s: the build reads the accounts" % what, lk.errors()[-400:])
    n0 = chk.n
    time.sleep(1.5)
    t.eq(count(lk, REBUILT), rebuilt,
         "%s: cut off while the build was still reading" % what)
    cut()
    t.ok(wait_log(lk, FAILED, failed, 15),
         "%s: the failure is logged" % what, lk.errors()[-600:])
    # The loop never waits for the build: answers went on while it read
    # (an order, not a time; the figures are notes below).
    t.ok(chk.n - n0 >= 20, "%s: answered while the build was reading "
         "(%d answers)" % (what, chk.n - n0))
    t.note("%s: build failed %.1f s after it started" % (
        what, time.monotonic() - t0))
    last = [ln for ln in lk.errors().splitlines() if FAILED in ln][-1]
    t.note(last)
    after = cache_files(cache)
    t.eq(sorted(after), sorted(before), "%s: the same files in cache_dir"
         % what)
    t.ok(after == before, "%s: every file byte for byte as before" % what)
    r = digests_verify(cache)
    t.ok(r.rc == 0, "%s: the digests verify (sha256sum -c)" % what, r.why())
    t.eq(temporaries(cache), [], "%s: no temporary file left" % what)
    t.ok(lk.alive(), "%s: the daemon runs on" % what)

    # The next build, by itself, once LDAP is back (the retry).
    restore()
    t0 = time.monotonic()
    t.ok(wait_log(lk, REBUILT, rebuilt, 30),
         "%s: LDAP back, the next build succeeds by itself" % what,
         lk.errors()[-600:])
    t.note("%s: rebuilt %.1f s after LDAP came back" % (
        what, time.monotonic() - t0))
    chk.stop()
    t.ok(chk.n > 50 and not chk.wrong, "%s: %d answers during all that, "
         "each the snapshot's" % (what, chk.n), chk.wrong)
    t.note("%s: %d answers, p50 %.2f ms, p99 %.2f ms, worst %.1f ms" % (
        what, chk.n, chk.pct(0.5) * 1000, chk.pct(0.99) * 1000,
        chk.pct(1) * 1000))
    # And the daemon is whole again: a new entry is found live and
    # reaches the cdb file (early rebuild).
    newbie = "mb%d" % int(time.time() * 1000 % 1000000)
    S["slapd"].add(person(newbie))
    t.eq(lk.query("mailbox", "%s@mydomain.nl" % newbie, timeout=20),
         b"OK /vmail/%s/Maildir/" % newbie.encode(),
         "%s: a new entry is found live" % what)
    t.ok(t.wait_until(lambda: t.postmap_q("%s@mydomain.nl" % newbie,
                                          "cdb:" + os.path.join(
                                              cache, "mailbox")) ==
                      (0, "/vmail/%s/Maildir/" % newbie), 20, 0.2),
         "%s: and reaches the snapshot" % what)
    r = digests_verify(cache)
    t.ok(r.rc == 0, "%s: the new digests verify" % what, r.why())
    t.eq(temporaries(cache), [], "%s: no temporary file left after the "
         "new build" % what)


@t.test
def ldap_gone_mid_build():
    port = t.free_port()
    S["relay"] = relay(port, S["slapd"].port)
    cfg, d = daemon("mid", "ldap://127.0.0.1:%d/" % port)
    lk = S["mid"] = t.Lookupd(cfg, dir=d, args=["-v"]).start()
    cache = os.path.join(d, "cache")

    def kill_relay():
        S["relay"].stop(sig=signal.SIGKILL)

    def relay_back():
        S["relay"] = relay(port, S["slapd"].port, 0)

    mid_build(lk, cache, "relay killed", kill_relay, relay_back)

    def slow_again():
        S["relay"].stop()
        S["relay"] = relay(port, S["slapd"].port)
    slow_again()

    def slapd_back():
        S["slapd"].start()
        S["relay"].send_signal(signal.SIGUSR1)       # no more delay

    mid_build(lk, cache, "slapd stopped", S["slapd"].stop, slapd_back)
    lk.stop()
    S["relay"].stop()


# ------------------------------------------------------ LDAP slow

def ask_many(lk, keys):
    """Live lookups of keys, all at once on their own connections:
    [(key, reply, seconds)]."""
    out = []

    def one(key):
        t0 = time.monotonic()
        try:
            r = t.socketmap_request(lk.socket, "mailbox", key, timeout=20)
        except Exception as e:
            r = repr(e).encode()
        out.append((key, r, time.monotonic() - t0))
    ths = [threading.Thread(target=one, args=(k,)) for k in keys]
    for th in ths:
        th.start()
    for th in ths:
        th.join(60)
    return out


def all_temp_in_time(label, timeout, bound, res):
    """Every (key, reply, seconds) of res is TEMP, the slowest in bound."""
    worst = max(s for _, _, s in res)
    t.ok(all(r.startswith(b"TEMP ") for _, r, _ in res),
         "%s: live lookups answer TEMP" % label, res)
    t.ok(worst < bound, "%s: within ldap_timeout (%d s) + margin"
         % (label, timeout), "%.2f s" % worst)
    t.note("%s: TEMP after %.2f s at worst; %s" % (
        label, worst, res[0][1].decode()))


def hits_worst(lk, n=200):
    worst, wrong = 0.0, []
    with t.SocketmapClient(lk.socket, timeout=10) as c:
        for i in range(n):
            name, key, want = EXPECT[i % len(EXPECT)]
            t0 = time.monotonic()
            got = c.request(name, key).decode()
            worst = max(worst, time.monotonic() - t0)
            if got != want:
                wrong.append((key, got))
    return worst, wrong


@t.test
def ldap_slow():
    port, tcp = t.free_port(), t.free_port()
    timeout = 1
    # Much slower than ldap_timeout: every chunk waits 4 s.  TEMP must
    # come within ldap_timeout, so before LDAP could answer at all: the
    # bound is that order (4 s), or more under valgrind (SLOW).
    delay = 4.0
    rl = relay(port, S["slapd"].port, int(delay * 1000000))
    cfg, d = daemon("slow", "ldap://127.0.0.1:%d/" % port,
                    ldap_timeout=timeout, negative_ttl=60,
                    tcp_listen="mailbox=inet:127.0.0.1:%d" % tcp)
    lk = t.Lookupd(cfg, dir=d).start()
    bound = max(delay, timeout + 1.0 * t.SLOW)

    # New connections: the bind itself is slow.
    all_temp_in_time("slow bind", timeout, bound, ask_many(
        lk, ["new%d@mydomain.nl" % i for i in range(6)]))

    # Sessions bound while LDAP was fast, then LDAP turns slow.
    rl.send_signal(signal.SIGUSR1)
    ok = t.wait_until(lambda: all(r == b"NOTFOUND " for _, r, _ in ask_many(
        lk, ["warm%d@mydomain.nl" % i for i in range(8)])), 10, 0.2)
    t.ok(ok, "fast again: live lookups answer (sessions bound)")
    rl.send_signal(signal.SIGUSR2)
    S["slapd"].add(person("slowpoke"))
    keys = ["slow%d@mydomain.nl" % i for i in range(7)] + \
        ["slowpoke@mydomain.nl"]
    got = {}
    th = threading.Thread(target=lambda: got.update(r=ask_many(lk, keys)))
    th.start()
    time.sleep(0.2)
    hw, wrong = hits_worst(lk, 50)
    # An order, not a time: the hits came back while the live lookups
    # sent before them still wait (ldap_timeout, 1 s).
    pending = th.is_alive()
    th.join(60)
    all_temp_in_time("slow search", timeout, bound, got["r"])
    t.eq(wrong, [], "slow LDAP: snapshot hits right")
    t.ok(pending, "slow LDAP: 50 snapshot hits answered while the live "
         "lookups sent before them still wait")
    t.note("slow LDAP: worst snapshot hit %.2f ms" % (hw * 1000))
    t0 = time.monotonic()
    r = t.tcp_request(("127.0.0.1", tcp), "slow-tcp@mydomain.nl", timeout=20)
    took = time.monotonic() - t0
    t.ok(r.startswith(b"400 ") and took < bound,
         "slow LDAP: tcp_table answers 400 within the bound",
         "%r after %.2f s" % (r, took))

    # Nothing TEMP was remembered: LDAP fast, the same keys answer.
    rl.send_signal(signal.SIGUSR1)
    t.ok(t.wait_until(lambda: lk.query("mailbox", "slowpoke@mydomain.nl") ==
                      b"OK /vmail/slowpoke/Maildir/", 5, 0.2),
         "fast again: the key that was TEMP is found")
    t.eq(lk.query("mailbox", "slow0@mydomain.nl"), b"NOTFOUND ",
         "fast again: a key that was TEMP is not found (not TEMP)")
    lk.stop()
    rl.stop()


# ----------------------------------------------- cache_dir full / r-o

class NsLookupd(t.Lookupd):
    """lookupd in a mount namespace of its own, where cache_dir is a
    tmpfs of `size` (gone with the process).  Seen from outside through
    /proc/PID/root; changed with nsenter."""

    def __init__(self, cfg_text, dir, cache, size):
        self.cache, self.size = cache, size
        super().__init__(cfg_text, dir=dir, name="lookupd-ns")

    def set_config(self, cfg_text):
        super().set_config(cfg_text)
        self.argv = ["unshare", "-m", "--propagation", "private", "sh",
                     "-c", 'mount -t tmpfs -o size=%s,mode=0750 ldapmail-t '
                     '"$0" && exec "$@"' % self.size, self.cache] + self.argv

    def path(self, p=""):
        return "/proc/%d/root%s%s" % (self.pid, self.cache,
                                      "/" + p if p else "")

    def nsenter(self, *argv):
        return t.run(["nsenter", "-t", str(self.pid), "-m"] + list(argv))


def fill(path):
    """Write path until the file system is full: bytes written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    n = 0
    try:
        for chunk in (1 << 20, 4096, 1):
            block = b"\0" * chunk
            while True:
                try:
                    n += os.write(fd, block)
                except OSError as e:
                    if e.errno != 28:                # ENOSPC
                        raise
                    break
    finally:
        os.close(fd)
    return n


@t.test
def cache_dir_full_and_read_only():
    cfg, d = daemon("ns", S["slapd"].uri)
    cache = os.path.join(d, "cache")
    for n in os.listdir(cache):     # the snapshot comes from inside
        os.unlink(os.path.join(cache, n))
    lk = NsLookupd(cfg, d, cache, "16m").start()
    with open("/proc/%d/mounts" % lk.pid) as f:
        mounted = [ln for ln in f if (" %s tmpfs " % cache) in ln]
    t.ok(mounted, "cache_dir is a tmpfs in lookupd's namespace")
    t.ok(wait_log(lk, REBUILT, 0, 30), "first snapshot built in the tmpfs",
         lk.errors()[-500:])
    t.eq(os.listdir(cache), [], "and nothing of it outside")

    def fault(what, cause, do, undo):
        rebuilt, failed = count(lk, REBUILT), count(lk, FAILED)
        do()
        S["slapd"].add(person(what))
        lk.reload()
        t.ok(wait_log(lk, FAILED, failed, 20), "%s: the build fails" % what,
             lk.errors()[-500:])
        last = [ln for ln in lk.errors().splitlines() if FAILED in ln][-1]
        t.ok(cause in last, "%s: the error names the cause (%s)" % (
            what, cause), last)
        t.note(last)
        for name, key, want in EXPECT:
            t.eq(lk.query(name, key).decode(), want,
                 "%s: old snapshot answers %s %s" % (what, name, key))
        r = digests_verify(lk.path())
        t.ok(r.rc == 0, "%s: every digest verifies" % what, r.why())
        t.eq(temporaries(lk.path()), [], "%s: no temporary file left" %
             what)
        undo()
        t0 = time.monotonic()
        t.ok(wait_log(lk, REBUILT, rebuilt, 30), "%s fixed: the next build "
             "succeeds" % what, lk.errors()[-500:])
        t.note("%s fixed: rebuilt after %.1f s" % (what,
                                                    time.monotonic() - t0))
        t.eq(t.postmap_q("%s@mydomain.nl" % what, "cdb:" + lk.path(
            "mailbox")), (0, "/vmail/%s/Maildir/" % what),
            "%s fixed: the new snapshot has the new entry" % what)
        r = digests_verify(lk.path())
        t.ok(r.rc == 0, "%s fixed: every digest verifies" % what, r.why())
        t.eq(temporaries(lk.path()), [], "%s fixed: no temporary file" %
             what)

    def full():
        n = fill(lk.path("filler"))
        t.note("filled the tmpfs with %d bytes" % n)
    fault("full", "No space left on device", full,
          lambda: os.unlink(lk.path("filler")))

    def ro():
        # EBUSY while a file is open for writing there: a build that a
        # live find brought forward may still be writing (under valgrind
        # it takes a second or more); try again until it is done.
        r = t.wait_until(lambda: (lambda x: x if x.rc == 0 else None)(
            lk.nsenter("mount", "-o", "remount,ro", cache)), 10, 0.1)
        t.ok(r, "cache_dir remounted read-only",
             None if r else lk.nsenter("mount", "-o", "remount,ro",
                                       cache).why())

    def rw():
        r = lk.nsenter("mount", "-o", "remount,rw", cache)
        t.ok(r.rc == 0, "cache_dir remounted read-write", r.why())
    fault("readonly", "Read-only file system", ro, rw)
    S["ns"] = lk


# ------------------------------------------------ SIGHUP, broken config

@t.test
def sighup_broken_config_names_file_and_line():
    lk = S["ns"]
    pid = lk.pid
    good = lk.cfg_text
    lines = good.count("\n")
    lk.set_config(good + "# a comment\nmax_stale = 1 day\n")
    lk.reload()
    want = '%s:%d: max_stale: "1 day" is not a decimal number' % (
        lk.conf, lines + 2)
    t.ok(t.wait_until(lambda: want in lk.errors(), 5),
         "broken config: the log names FILE:LINE and the fault",
         lk.errors()[-400:])
    t.ok("reload refused" in lk.errors(), "and says the reload is refused")
    t.eq(lk.query("alias", ALBERT), b"OK " + ALBERT_MAIL.encode(),
         "the old config answers on")
    t.eq(lk.pid, pid, "same PID")
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")


# ----------------------------------------- a signal as soon as it starts

@t.test
def signal_at_start():
    d = os.path.join(S["dir"], "early")
    os.makedirs(d)
    cfg = t.lookupd_config(S["slapd"], d)
    conf = os.path.join(d, "ldapmail.conf")
    with open(conf, "w") as f:
        f.write(cfg)
    sock = os.path.join(d, "lookupd.sock")
    res = []
    for sig in [signal.SIGHUP] * 5 + [signal.SIGTERM] * 5:
        if os.path.exists(sock):
            os.unlink(sock)
        with open(os.path.join(d, "err"), "ab") as err:
            p = subprocess.Popen([t.LOOKUPD, "-c", conf, "serve", "-f"],
                                 stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 10 * t.SLOW
        while not os.path.exists(sock) and p.poll() is None and \
                time.monotonic() < deadline:
            pass
        p.send_signal(sig)
        if sig == signal.SIGHUP:
            def serving():
                if p.poll() is not None:
                    return "dead"
                try:
                    return t.socketmap_request("unix:" + sock, "alias",
                                               ALBERT) == \
                        b"OK " + ALBERT_MAIL.encode()
                except OSError:
                    return False
            ok = t.wait_until(serving, 10, 0.05)
            res.append(("HUP", p.poll(), ok is True))
            p.terminate()
        try:
            rc = p.wait(20 * t.SLOW)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        if sig == signal.SIGTERM:
            res.append(("TERM", rc, rc == 0))
    t.eq([r for r in res if r[0] == "HUP" and not r[2]], [],
         "SIGHUP the moment the socket appears: the daemon serves on (x5)")
    t.eq([r for r in res if r[0] == "TERM" and not r[2]], [],
         "SIGTERM the moment the socket appears: exit 0 (x5)")


if __name__ == "__main__":
    t.main()
