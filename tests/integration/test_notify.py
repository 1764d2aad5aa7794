#!/usr/bin/env python3
"""test_notify: lookupd speaks systemd's notification protocol
(sd_notify(3)) to a datagram socket this test listens on, as systemd's
would (no systemd needed): NOTIFY_SOCKET names it, WATCHDOG_USEC asks for
the watchdog.

- started with slapd frozen and no snapshot on disk: the sockets answer,
  but no READY=1 arrives, and STATUS= says why (no snapshot of a map);
  once slapd is thawed and the snapshot built, READY=1 arrives, and by
  then every map has its snapshot;
- with LDAP unreachable and no snapshot: never READY=1, STATUS= names the
  map and LDAP's error; with a snapshot on disk and LDAP unreachable:
  READY=1 at once, STATUS= says the snapshot's age, keys per map and that
  LDAP does not answer;
- STATUS= when ready: the age, every map's keys, the LDAP server in use;
- SIGHUP: RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC, between the
  signal and its receipt), then READY=1;
- WATCHDOG=1 at least every half of WATCHDOG_USEC; a lookupd stopped
  with SIGSTOP sends nothing; after SIGCONT they come again;
- SIGTERM: STOPPING=1;
- the shipped unit is Type=notify, NotifyAccess=main, WatchdogSec=30s.
"""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

MAPS = ("domain", "alias", "mailbox")
WD_USEC = 1000000
S = {}


class Notify:
    """An AF_UNIX datagram socket in a temp dir: what systemd listens on
    for sd_notify.  Messages as (monotonic time seen, {key: value})."""

    def __init__(self):
        self.dir = t.tmpdir("ldapmail-notify-")
        self.path = os.path.join(self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.msgs = []
        self.mark = 0.0

    def env(self, watchdog_usec=None):
        e = {"NOTIFY_SOCKET": self.path}
        if watchdog_usec:
            e["WATCHDOG_USEC"] = str(watchdog_usec)
        return e

    def poll(self, timeout):
        """Messages arriving within timeout s (appended to msgs)."""
        got = []
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            kv = {}
            for line in data.decode("utf-8", "replace").split("\n"):
                if "=" in line:
                    k, _, v = line.partition("=")
                    kv[k] = v
            m = (time.monotonic(), kv)
            self.msgs.append(m)
            got.append(m)
        return got

    def wait_for(self, key, timeout, after=None):
        """The first message with key, seen after time `after` (default:
        any in msgs not yet returned by wait_for), within timeout s; or
        None."""
        end = time.monotonic() + timeout * t.SLOW
        after = self.mark if after is None else after
        while True:
            for m in self.msgs:
                if m[0] > after and key in m[1]:
                    self.mark = m[0]
                    return m
            if time.monotonic() >= end:
                return None
            self.poll(min(0.2, max(0.01, end - time.monotonic())))

    def statuses(self):
        return [m[1]["STATUS"] for m in self.msgs if "STATUS" in m[1]]

    def close(self):
        self.sock.close()


def start(cfg, d, n, watchdog=None):
    lk = t.Lookupd(cfg, dir=d, env=n.env(watchdog)).start()
    return lk


def snapshot_files(d):
    cache = os.path.join(d, "cache")
    return sorted(f for f in os.listdir(cache) if f.endswith(".cdb")) \
        if os.path.isdir(cache) else []


@t.test
def setup():
    S["slapd"] = t.Slapd().start()


@t.test
def ready_only_after_the_snapshot_is_built():
    s = S["slapd"]
    d = t.tmpdir()
    n = Notify()
    cfg = t.lookupd_config(s, d, ldap_timeout="2")
    s.freeze()
    try:
        lk = start(cfg, d, n)
        # The sockets answer; the snapshot cannot be built.
        early = n.poll(2.5)
        t.eq([m for m in early if "READY" in m[1]], [],
             "no READY=1 while there is no snapshot (slapd frozen)")
        st = [m[1]["STATUS"] for m in early if "STATUS" in m[1]]
        t.ok(st and st[-1].startswith("not ready: no snapshot of map "),
             "STATUS= says why it is not ready", st)
        t.eq(snapshot_files(d), [], "and indeed there is no snapshot")
    finally:
        s.thaw()
    m = n.wait_for("READY", 20)
    t.ok(m is not None, "READY=1 once slapd answers", n.statuses())
    if m is None:
        lk.stop()
        return
    t.eq(m[1].get("READY"), "1", "READY=1")
    st = lk.stats()
    t.eq([st["map.%s.snapshot_keys" % x] > 0 for x in MAPS], [True] * 3,
         "by then every map has its snapshot")
    t.ok(m[1].get("STATUS", "").startswith("ready: snapshot "),
         "READY=1 comes with the ready STATUS=", m[1])
    t.eq(lk.stop(), 0, "lookupd exits 0 on SIGTERM")
    n.close()


@t.test
def ldap_down_and_no_snapshot_never_ready():
    d = t.tmpdir()
    n = Notify()
    dead = "ldap://127.0.0.1:%d/" % t.free_port()
    cfg = t.lookupd_config(S["slapd"], d, ldap_uri=dead, ldap_timeout="1")
    lk = start(cfg, d, n)
    got = n.poll(4)
    t.eq([m for m in got if "READY" in m[1]], [],
         "no READY=1 without a snapshot and without LDAP")
    st = n.statuses()
    t.ok(st and st[-1].startswith("not ready: no snapshot of map ") and
         "snapshot" in st[-1].split(":", 2)[2] and
         ("contact" in st[-1].lower() or "connect" in st[-1].lower()),
         "STATUS= names the map and LDAP's error", st)
    t.eq(lk.query("alias", "ao@anotherdomain.nu")[:4], b"TEMP",
         "and lookups answer TEMP meanwhile")
    lk.stop()
    n.close()


@t.test
def snapshot_on_disk_is_ready_without_ldap():
    s = S["slapd"]
    d = t.tmpdir()
    n = Notify()
    cfg = t.lookupd_config(s, d)
    conf = os.path.join(d, "sync.conf")
    t.write(conf, cfg)
    r = t.run([t.LOOKUPD, "-c", conf, "sync"])
    t.eq(r.rc, 0, "sync", r.why())
    dead = "ldap://127.0.0.1:%d/" % t.free_port()
    lk = start(t.lookupd_config(s, d, ldap_uri=dead, ldap_timeout="1"), d,
               n)
    m = n.wait_for("READY", 5)
    t.ok(m is not None, "READY=1 from the snapshot on disk, LDAP down")
    if m is not None:
        st = m[1].get("STATUS", "")
        t.ok(st.startswith("ready: snapshot ") and
             all("%s " % x in st for x in MAPS),
             "STATUS= with the age and every map", st)
    # A miss asks LDAP live, which fails: STATUS= then says so (at the
    # next update: at most 10 s later while ready).
    t.eq(lk.query("alias", "nobody@anotherdomain.nu")[:4], b"TEMP",
         "a miss is TEMP")
    end = time.monotonic() + 15 * t.SLOW
    while time.monotonic() < end and not any(
            "LDAP not answering" in x for x in n.statuses()):
        n.poll(0.5)
    t.ok(any("LDAP not answering" in x for x in n.statuses()),
         "STATUS= says LDAP does not answer", n.statuses())
    lk.stop()
    n.close()


@t.test
def ready_status_sighup_watchdog_stop():
    s = S["slapd"]
    d = t.tmpdir()
    n = Notify()
    cfg = t.lookupd_config(s, d)
    lk = start(cfg, d, n, watchdog=WD_USEC)
    m = n.wait_for("READY", 20)
    t.ok(m is not None, "READY=1")
    if m is None:
        lk.stop()
        return
    st = lk.stats()
    want = ["%s %d keys" % (x, st["map.%s.snapshot_keys" % x]) for x in MAPS]
    line = m[1].get("STATUS", "")
    t.ok(line.startswith("ready: snapshot ") and
         all(w in line for w in want) and
         line.endswith("; LDAP %s" % s.uri),
         "STATUS=: age, keys per map as `stats` says, the server in use",
         (line, want))

    # SIGHUP: RELOADING=1 + MONOTONIC_USEC, then READY=1.
    n.poll(0.1)
    before = time.monotonic()
    lk.reload()
    rl = n.wait_for("RELOADING", 5, after=before)
    t.ok(rl is not None, "RELOADING=1 on SIGHUP")
    if rl is not None:
        usec = int(rl[1].get("MONOTONIC_USEC", "0"))
        t.ok(before * 1e6 <= usec <= rl[0] * 1e6,
             "MONOTONIC_USEC: CLOCK_MONOTONIC between the signal and its "
             "receipt", (before, usec, rl[0]))
        rd = n.wait_for("READY", 10)
        t.ok(rd is not None and rd[0] >= rl[0],
             "then READY=1 again", n.msgs[-5:])
        t.ok(all(m[1].get("READY") != "1" for m in n.msgs
                 if before < m[0] < rl[0]), "not before RELOADING=1")

    # The watchdog: at least every half period, from the loop.
    n.msgs = []
    n.poll(3)
    wd = [m[0] for m in n.msgs if m[1].get("WATCHDOG") == "1"]
    gaps = [b - a for a, b in zip(wd, wd[1:])]
    half = WD_USEC / 2e6
    t.ok(len(wd) >= 3 / half and max(gaps) <= half * t.SLOW,
         "WATCHDOG=1 at least every half of WATCHDOG_USEC (%s s)" % half,
         (len(wd), max(gaps) if gaps else None))

    # SIGSTOP: the loop no longer turns, nothing arrives.
    lk.freeze()
    n.poll(0.3)            # what was sent before the stop
    silent = n.poll(2.5)
    thawed = time.monotonic()
    lk.thaw()
    t.eq(silent, [], "a stopped lookupd sends no WATCHDOG=1 (nothing)")
    t.ok(n.wait_for("WATCHDOG", 2, after=thawed) is not None,
         "after SIGCONT WATCHDOG=1 comes again")

    lk.send_signal(signal.SIGTERM)
    t.ok(n.wait_for("STOPPING", 5, after=thawed) is not None,
         "STOPPING=1 on SIGTERM")
    t.eq(lk.stop(), 0, "exit 0")
    n.close()


@t.test
def the_unit_is_type_notify():
    with open(os.path.join(t.SRC, "scripts", "lookupd.service")) as f:
        lines = [x.strip() for x in f if not x.lstrip().startswith("#")]
    for want in ("Type=notify", "NotifyAccess=main", "WatchdogSec=30s"):
        t.ok(want in lines, "lookupd.service: " + want)
    t.ok("ExecStart=/usr/sbin/lookupd serve -f" in lines,
         "serve -f: the main PID is lookupd itself (NotifyAccess=main)")


if __name__ == "__main__":
    t.main()
