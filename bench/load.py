#!/usr/bin/env python3
"""bench/load.py: lookupd under load while everything moves underneath
(a report, never pass/fail; tests/integration/test_lookupd_load.py runs a
smaller version of the same thing with assertions).

    bench/load.py [--conns 1000] [--busy 60] [--procs N] [--phase 30]
                  [--phases 2] [--users 20000] [--churn 50]
                  [--no-sigterm]

A real slapd holds the fixture plus --users accounts; lookupd serves
socketmap on a UNIX socket and on 127.0.0.1 and tcp_table for the alias
and mailbox maps, with refresh = 2 s, min_refresh = 1 s, negative_ttl =
2 s and max_connections = --conns.  Then, --phases times (equal phases):

- --procs client processes (Python, selectors) open --conns connections
  between them, socketmap unix, socketmap inet and tcp_table mixed; each
  connection is checked with one request first;
- --busy of them ask one request after the other for --phase seconds
  (Postfix's way: never more than one request in flight per connection),
  the others are idle and ask one request every 10 s or so;
- meanwhile, from the side: --churn accounts get a new mailMessageStore
  (version N+1) about 50 times a second and new accounts are added about
  10 times a second (one long-running ldapmodify); the snapshot is rebuilt
  every 2 s by the daemon itself, SIGHUP every 5 s, `lookupd sync` (a
  second writer of the same cache_dir) every 3 s;
- every answer is checked: exact value for fixed keys (addresses, case
  folding, extensions, domains, misses, control bytes, unknown map); for a
  churned account a version that has been written (never a value the
  directory never held); for an added account NOTFOUND or, once the add
  was sent, its value.  Errors: any other answer, a connection closed by
  lookupd, a request without an answer for 10 s.  Counted, not errors:
  answers of changing keys that were older than the newest one written,
  and those that went back, on one connection, to an older value than
  that connection had already seen (when the side `lookupd sync` commits
  a snapshot it read before the daemon's last one, the later commit wins
  and the daemon reopens it);
- once every connection is open, 20 more clients are turned away at once
  (max_connections) while the 1000 keep being served;
- lookupd's file descriptors (/proc/PID/fd) and memory (/proc/PID/status
  VmRSS, RssAnon, RssFile) are taken before, every second during, and
  after the phase, once the clients have left.
Last, unless --no-sigterm, a phase is cut short by SIGTERM: lookupd must
exit 0 within seconds and every client sees only complete right answers,
then a closed connection.

Prints requests/s, p50/p99/max latency (as the clients see it, Python
included), errors, fds and memory.  Needs the release build (`make`),
slapd and ldap-utils.
"""
import argparse
import array
import multiprocessing as mp
import os
import random
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import ldapmail_test as t                                   # noqa: E402

DOM = "loadtest.example"
REPLY_TIMEOUT = 10.0        # a request without an answer this long: error
IDLE_EVERY = 10.0           # idle connections ask about this often
ADDS_MAX = 20000            # capacity of the shared "added" table
MISS_KEYS = 3000            # distinct unknown addresses asked

# Answers, protocol-neutral.
FOUND, NOTFOUND, PERM, CHURN, ADD = range(5)


def say(msg=""):
    print(msg, flush=True)


# ------------------------------------------------------------ directory

def person(uid, mail, box, alt=None):
    return ("dn: uid=%s,ou=Tokelau,o=company\n"
            "objectClass: inetOrgPerson\nobjectClass: qmailUser\n"
            "uid: %s\ncn: %s\nsn: %s\nmail: %s\n%s"
            "accountStatus: active\nmailMessageStore: %s\n\n"
            % (uid, uid, uid, uid, mail,
               "mailAlternateAddress: %s\n" % alt if alt else "", box))


def churn_box(k, v):
    return "/vmail/churn/c%d/v%d/" % (k, v)


def add_box(k):
    return "/vmail/new/n%d/" % k


def gen_ldif(path, users, churn):
    """The load's accounts (the fixture is loaded beside it): a domain
    entry for DOM, users pK (mail pK@DOM, alternate aK@DOM), churned
    accounts cK at version 0."""
    with open(path, "w") as f:
        f.write("dn: dc=loadtest,ou=postfix,ou=System,o=company\n"
                "objectClass: dNSDomain\nobjectClass: domainRelatedObject\n"
                "dc: loadtest\nassociatedDomain: %s\n\n" % DOM)
        for k in range(users):
            f.write(person("p%d" % k, "p%d@%s" % (k, DOM),
                           "/vmail/loadtest/p%d/" % k, "a%d@%s" % (k, DOM)))
        for k in range(churn):
            f.write(person("c%d" % k, "c%d@%s" % (k, DOM), churn_box(k, 0)))


# ------------------------------------------------------ what to ask

class Shared:
    """State the side thread writes and the client processes read (shared
    memory, inherited at fork): the version each churned account has been
    given (before the change is sent), and which added accounts have been
    sent to slapd."""

    def __init__(self, churn):
        self.churn = churn
        self.versions = mp.Array("i", max(churn, 1), lock=False)
        self.added = mp.Array("b", ADDS_MAX, lock=False)
        self.nadded = mp.Value("i", 0, lock=False)


def vary_case(rng, s):
    if rng.random() < 0.5:
        return s
    return "".join(c.upper() if rng.random() < 0.5 else c for c in s)


def make_request(rng, users, sh, proto, tcpmap):
    """(map, key bytes, (kind, value)) for one request."""
    r = rng.random()
    m = tcpmap or ("alias" if rng.random() < 0.5 else "mailbox")
    k = rng.randrange(users)
    if r < 0.50:
        key = vary_case(rng, ("p%d@%s" if rng.random() < 0.5 else
                              "a%d@%s") % (k, DOM))
        val = "p%d@%s" % (k, DOM) if m == "alias" else \
            "/vmail/loadtest/p%d/" % k
        return m, key.encode(), (FOUND, val.encode())
    if r < 0.60:
        ext = "x%d" % rng.randrange(100)
        key = "%s%d+%s@%s" % (rng.choice("pa"), k, ext, DOM)
        val = "p%d+%s@%s" % (k, ext, DOM) if m == "alias" else \
            "/vmail/loadtest/p%d/" % k
        return m, key.encode(), (FOUND, val.encode())
    if r < 0.75 and sh.churn:
        c = rng.randrange(sh.churn)
        key = "c%d@%s" % (c, DOM)
        if m == "alias":
            return m, key.encode(), (FOUND, key.encode())
        return m, key.encode(), (CHURN, c)
    if r < 0.82:
        n = sh.nadded.value
        a = rng.randrange(min(n + 20, ADDS_MAX))
        key = "n%d@%s" % (a, DOM)
        if m == "alias":
            return m, key.encode(), (ADD, key.encode())
        return m, key.encode(), (ADD, add_box(a).encode())
    if r < 0.87:
        key = "miss%d@%s" % (rng.randrange(MISS_KEYS), DOM)
        return m, key.encode(), (NOTFOUND, None)
    if r < 0.90:
        key = "p%d@%s\x00" % (k, DOM) if proto != "tcp" else \
            "p%d@%s\n" % (k, DOM)
        return m, key.encode(), (NOTFOUND, None)
    if r < 0.93:
        return m, b"ao@anotherdomain.nu", (FOUND, {
            "alias": b"albert.onestone@anotherdomain.nu",
            "mailbox": b"/vmail/albert.onestone/Maildir/"}[m])
    if proto == "tcp":
        key = "p%d@%s" % (k, DOM)
        return m, key.upper().encode(), (FOUND, ("p%d@%s" % (k, DOM)
                                                 if m == "alias" else
                                                 "/vmail/loadtest/p%d/" % k
                                                 ).encode())
    if r < 0.97:
        return "domain", b"LoadTest.Example.", (FOUND, DOM.encode())
    if r < 0.99:
        return "domain", b"nodomain%d.example" % rng.randrange(100), \
            (NOTFOUND, None)
    return "nosuchmap", b"x", (PERM, None)


def encode_request(proto, m, key):
    if proto == "tcp":
        return b"get " + t.tcp_encode(key) + b"\n"
    return t.netstring(m.encode() + b" " + key)


def check_answer(proto, got, want, sh, seen=None, last=None):
    """None if got (reply payload / line) is a right answer, else why.
    seen (a dict) counts what the changing keys answered; last (a dict per
    connection, whose answers come in the order lookupd gave them) keeps
    the newest value each changing key answered there, to count answers
    that went back to an older value (legal: two snapshot writers, the
    daemon's builder and a side `lookupd sync`, may finish in the other
    order than they read)."""
    kind, val = want
    if proto == "tcp":
        ok_p, nf = b"200 ", b"500 not%20found"
    else:
        ok_p, nf = b"OK ", b"NOTFOUND "
    if kind == FOUND:
        return None if got == ok_p + val else "want %r" % (ok_p + val)
    if kind == NOTFOUND:
        return None if got == nf else "want %r" % nf
    if kind == PERM:
        return None if got == b"PERM unknown map name" else "want PERM"
    if kind == CHURN:
        m = re.match(rb"/vmail/churn/c(\d+)/v(\d+)/$", got[len(ok_p):])
        if not got.startswith(ok_p) or not m or int(m.group(1)) != val:
            return "not a value of c%d" % val
        v = int(m.group(2))
        # Read after the answer came: any version written before it.
        cur = sh.versions[val]
        if v > cur:
            return "version %d never written (at %d)" % (v, cur)
        if seen is not None:
            k = "churn_latest" if v >= cur - 1 else "churn_older"
            seen[k] = seen.get(k, 0) + 1
            if v > 0:
                seen["churn_changed"] = seen.get("churn_changed", 0) + 1
        if last is not None and seen is not None:
            prev = last.get(val, -1)
            if v < prev:
                seen["churn_went_back"] = seen.get("churn_went_back", 0) + 1
                seen["churn_went_back_max"] = max(
                    seen.get("churn_went_back_max", 0), prev - v)
            else:
                last[val] = v
        return None
    if kind == ADD:
        a = int(re.search(rb"n(\d+)[@/]", val).group(1))
        if got == nf:
            if seen is not None and sh.added[a]:
                seen["add_notfound_yet"] = seen.get("add_notfound_yet", 0) + 1
            if last is not None and seen is not None and ("n", a) in last:
                seen["add_went_back"] = seen.get("add_went_back", 0) + 1
            return None
        if got == ok_p + val and sh.added[a]:
            if seen is not None:
                seen["add_found"] = seen.get("add_found", 0) + 1
            if last is not None:
                last[("n", a)] = 1
            return None
        return "want NOTFOUND or %r (added: %d)" % (ok_p + val, sh.added[a])
    return "?"


# ------------------------------------------------------- client process

class CConn:
    __slots__ = ("sock", "proto", "map", "busy", "buf", "want", "sent", "last",
                 "next_at", "rng", "out", "closed", "addr")


def parse_reply(c):
    """One complete reply taken from c.buf, or None."""
    if c.proto == "tcp":
        i = c.buf.find(b"\n")
        if i < 0:
            if len(c.buf) > 4096:
                raise ValueError("reply line over 4096 bytes")
            return None
        ln, c.buf = c.buf[:i], c.buf[i + 1:]
        return ln
    m = re.match(rb"(\d{1,6}):", c.buf)
    if not m:
        if c.buf and not re.match(rb"\d{0,6}$", c.buf):
            raise ValueError("not a netstring: %r" % c.buf[:60])
        return None
    end = m.end() + int(m.group(1))
    if len(c.buf) <= end:
        return None
    if c.buf[end:end + 1] != b",":
        raise ValueError("netstring without its comma: %r" % c.buf[:60])
    p, c.buf = c.buf[m.end():end], c.buf[end + 1:]
    return p


def client_main(wid, plan, users, sh, seed, ctl, res_q, stop_at,
                sigterm_mode):
    """One client process: open plan's connections, report, wait for
    ctl "go", drive them until stop_at (shared), report the results."""
    rng0 = random.Random(seed)
    sel = selectors.DefaultSelector()
    conns = []
    stats = {"requests": 0, "busy_requests": 0, "errors": 0, "samples": [],
             "closed": 0, "closed_pending": 0, "truncated": 0,
             "connect_failed": 0}
    lat = array.array("d")
    seen = {}

    def error(c, why):
        stats["errors"] += 1
        if len(stats["samples"]) < 20:
            stats["samples"].append("%s %s: %s" % (c.addr, c.proto, why))

    for addr, proto, tmap, busy in plan:
        c = CConn()
        c.addr, c.proto, c.map, c.busy = addr, proto, tmap, busy
        c.buf, c.want, c.sent, c.out, c.closed = b"", None, 0.0, b"", False
        c.last = {}
        c.rng = random.Random(rng0.random())
        fam, sa = t._parse_addr(addr)
        try:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(sa)
            # One request first: the connection is accepted and served.
            m, key, want = make_request(c.rng, users, sh, proto, tmap)
            s.sendall(encode_request(proto, m, key))
            c.sock = s
            while True:
                d = s.recv(65536)
                if not d:
                    raise ConnectionError("closed at the first request")
                c.buf += d
                got = parse_reply(c)
                if got is not None:
                    break
            why = check_answer(proto, got, want, sh)
            if why:
                error(c, "%r: got %r, %s" % (key, got, why))
        except (OSError, ValueError) as e:
            stats["connect_failed"] += 1
            error(c, "connect/first request: %s" % e)
            continue
        s.setblocking(False)
        c.next_at = time.monotonic() + (0 if busy else
                                        c.rng.uniform(0, IDLE_EVERY))
        sel.register(s, selectors.EVENT_READ, c)
        conns.append(c)
    ctl.send(("ready", len(conns)))
    ctl.recv()                                  # "go"

    def send_next(c, now):
        m, key, want = make_request(c.rng, users, sh, c.proto, c.map)
        c.want = (key, want)
        c.sent = now
        c.out = encode_request(c.proto, m, key)
        flush(c)

    def flush(c):
        try:
            n = c.sock.send(c.out)
            c.out = c.out[n:]
        except BlockingIOError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            gone(c)

    def gone(c):
        if c.closed:
            return
        c.closed = True
        sel.unregister(c.sock)
        c.sock.close()
        stats["closed"] += 1
        if c.buf:
            stats["truncated"] += 1
            error(c, "closed after a partial reply %r" % c.buf[:60])
        if c.want is not None:
            stats["closed_pending"] += 1
        if not sigterm_mode:
            error(c, "closed by lookupd")

    open_n = len(conns)
    while True:
        now = time.monotonic()
        stopping = time.time() >= stop_at.value
        if stopping:
            # Let what is in flight come back, for 2 s at most.
            if all(c.want is None or c.closed for c in conns) or \
                    time.time() >= stop_at.value + 2:
                break
        for c in conns:
            if c.closed:
                continue
            if c.want is None and not stopping and now >= c.next_at:
                send_next(c, now)
            elif c.want is not None:
                if c.out:
                    flush(c)
                if now - c.sent > REPLY_TIMEOUT and c.sent > 0:
                    error(c, "%r: no answer in %.0f s" % (c.want[0],
                                                         REPLY_TIMEOUT))
                    c.sent = 0          # reported once
        if sigterm_mode and all(c.closed for c in conns):
            break
        for key, _ in sel.select(0.05):
            c = key.data
            try:
                d = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                d = b""
            if not d:
                gone(c)
                continue
            c.buf += d
            try:
                while True:
                    got = parse_reply(c)
                    if got is None:
                        break
                    t1 = time.monotonic()
                    if c.want is None:
                        error(c, "an answer nobody asked for: %r" % got)
                        continue
                    key_, want = c.want
                    why = check_answer(c.proto, got, want, sh, seen, c.last)
                    if why:
                        error(c, "%r: got %r, %s" % (key_, got, why))
                    stats["requests"] += 1
                    if c.busy:
                        stats["busy_requests"] += 1
                        lat.append(t1 - c.sent)
                        c.next_at = t1
                    else:
                        c.next_at = t1 + c.rng.uniform(0.5, 1.5) * IDLE_EVERY
                    c.want = None
                    if c.busy and not stopping:
                        send_next(c, t1)
            except ValueError as e:
                error(c, str(e))
                gone(c)
    for c in conns:
        if not c.closed:
            sel.unregister(c.sock)
            c.sock.close()
    stats["open_at_end"] = open_n - stats["closed"]
    stats["seen"] = seen
    res_q.put((wid, stats, lat.tobytes()))


# ------------------------------------------------------------- the side

def proc_sample(pid, unix_paths=(), tcp_ports=()):
    """fds, client connections (see t.client_fds), VmRSS, RssAnon, RssFile
    (kB), cpu seconds of pid."""
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
        nfd = len(fds)
        conns = t.client_fds(pid, fds, unix_paths, tcp_ports)
        st = t.proc_status(pid)
        with open("/proc/%d/stat" % pid) as f:
            fl = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fl[11]) + int(fl[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, KeyError, IndexError):
        return None
    return {"fds": nfd, "conns": conns,
            "rss": int(st["VmRSS"].split()[0]),
            "anon": int(st["RssAnon"].split()[0]),
            "file": int(st["RssFile"].split()[0]), "cpu": cpu}


class Side:
    """What moves underneath during a phase: churn and adds through one
    long-running ldapmodify, SIGHUP, `lookupd sync` from the side."""

    def __init__(self, slapd, lk, sh, hup_every=5.0, sync_every=3.0,
                 churn_rate=50.0, add_rate=10.0):
        self.slapd, self.lk, self.sh = slapd, lk, sh
        self.hup_every, self.sync_every = hup_every, sync_every
        self.churn_rate, self.add_rate = churn_rate, add_rate
        self.counts = {"modifies": 0, "adds": 0, "sighups": 0, "syncs": 0,
                       "sync_failed": 0, "ldapmodify_errors": 0}
        self.sync_errors = []
        self.stop_ev = threading.Event()
        self.threads = []
        self.mod = None

    def start(self):
        errf = open(os.path.join(t.tmpdir(), "ldapmodify.err"), "w+b")
        self.mod_err = errf
        self.mod = subprocess.Popen(
            ["ldapmodify", "-H", self.slapd.uri, "-x", "-D", t.ROOT_DN,
             "-w", t.ROOT_PW, "-c"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=errf, bufsize=0)
        for fn in (self._churn, self._hup, self._sync):
            th = threading.Thread(target=fn, daemon=True)
            th.start()
            self.threads.append(th)
        return self

    def _write(self, text):
        try:
            self.mod.stdin.write(text.encode())
        except (BrokenPipeError, OSError):
            self.counts["ldapmodify_errors"] += 1

    def _churn(self):
        sh = self.sh
        next_add = time.monotonic()
        k = 0
        while not self.stop_ev.wait(1.0 / self.churn_rate):
            if sh.churn:
                c = k % sh.churn
                k += 1
                v = sh.versions[c] + 1
                sh.versions[c] = v          # before the change is sent
                self._write("dn: uid=c%d,ou=Tokelau,o=company\n"
                            "changetype: modify\nreplace: mailMessageStore\n"
                            "mailMessageStore: %s\n\n" % (c, churn_box(c, v)))
                self.counts["modifies"] += 1
            if time.monotonic() >= next_add and sh.nadded.value < ADDS_MAX:
                next_add += 1.0 / self.add_rate
                a = sh.nadded.value
                sh.added[a] = 1             # before the add is sent
                sh.nadded.value = a + 1
                rec = person("n%d" % a, "n%d@%s" % (a, DOM), add_box(a))
                dn, rest = rec.split("\n", 1)
                self._write(dn + "\nchangetype: add\n" + rest)
                self.counts["adds"] += 1

    def _hup(self):
        while not self.stop_ev.wait(self.hup_every):
            self.lk.reload()
            self.counts["sighups"] += 1

    def _sync(self):
        while not self.stop_ev.wait(self.sync_every):
            r = self.lk.cli("sync", timeout=60)
            self.counts["syncs"] += 1
            if r.rc != 0:
                self.counts["sync_failed"] += 1
                if len(self.sync_errors) < 3:
                    self.sync_errors.append(r.why())

    def stop(self):
        self.stop_ev.set()
        for th in self.threads:
            th.join(60)
        if self.mod:
            self.mod.stdin.close()
            rc = self.mod.wait(60)
            self.mod_err.seek(0)
            err = self.mod_err.read().decode("utf-8", "replace")
            self.counts["ldapmodify_errors"] += len(re.findall(
                r"ldap_\w+: ", err)) + (1 if rc else 0)
            self.ldapmodify_err = err[-500:]


# ---------------------------------------------------------------- setup

class Setup:
    """slapd (fixture + the load's accounts) and lookupd."""

    def __init__(self, users, churn, max_conn, extra_cfg=None, env=None):
        self.users, self.churn = users, churn
        self.dir = d = t.tmpdir("ldapmail-load-")
        ldif = os.path.join(d, "load.ldif")
        gen_ldif(ldif, users, churn)
        self.slapd = t.Slapd(ldifs=[t.fixture_path(), ldif]).start()
        self.sh = Shared(churn)
        self.unix = "unix:" + os.path.join(d, "lookupd.sock")
        self.inet = "inet:127.0.0.1:%d" % t.free_port()
        self.tcp = {"alias": "inet:127.0.0.1:%d" % t.free_port(),
                    "mailbox": "inet:127.0.0.1:%d" % t.free_port()}
        params = dict(
            socketmap_listen="%s %s" % (self.unix, self.inet),
            tcp_listen=" ".join("%s=%s" % (m, a)
                                for m, a in self.tcp.items()),
            refresh=2, min_refresh=1, negative_ttl=2,
            max_connections=max_conn)
        params.update(extra_cfg or {})
        self.cfg = t.lookupd_config(self.slapd, d, **params)
        self.lk = t.Lookupd(self.cfg, dir=d, wait_timeout=30,
                            env=env).start()
        self.pid = self.lk.pid
        self.max_conn = max_conn
        ok = t.wait_until(lambda: all(os.path.exists(os.path.join(
            d, "cache", m + ".cdb")) for m in ("domain", "alias", "mailbox")),
            30)
        if not ok:
            raise RuntimeError("no snapshot: " + self.lk.errors()[-800:])

    def plan(self, conns, busy):
        """Connections: (addr, proto, tcp map or None, busy), a third each
        on socketmap unix, socketmap inet, tcp (alias, mailbox)."""
        kinds = [(self.unix, "sm", None), (self.inet, "sm", None),
                 (self.tcp["alias"], "tcp", "alias"),
                 (self.unix, "sm", None), (self.inet, "sm", None),
                 (self.tcp["mailbox"], "tcp", "mailbox")]
        out = []
        for i in range(conns):
            addr, proto, m = kinds[i % len(kinds)]
            out.append((addr, proto, m, i < busy))
        return out

    def sample(self):
        addrs = [self.unix, self.inet] + list(self.tcp.values())
        paths = [a[5:] for a in addrs if a.startswith("unix:")]
        ports = [int(a.rsplit(":", 1)[1]) for a in addrs
                 if a.startswith("inet:")]
        return proc_sample(self.pid, paths, ports)


def percentile(sorted_v, p):
    if not sorted_v:
        return 0.0
    i = min(len(sorted_v) - 1, int(len(sorted_v) * p / 100.0))
    return sorted_v[i]


def refuse_extra(st, n=20):
    """n more clients at max_connections: each must be closed at once
    with nothing sent.  Returns how many were."""
    kinds = [st.unix, st.inet, st.tcp["alias"]]
    ok = 0
    for i in range(n):
        fam, sa = t._parse_addr(kinds[i % 3])
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(sa)
            t0 = time.monotonic()
            data = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            if data == b"" and time.monotonic() - t0 < 1.5:
                ok += 1
        except ConnectionResetError:
            ok += 1
        except OSError:
            pass
        finally:
            s.close()
    return ok


def daemon_stats(st):
    """lookupd's own counters (the `lookupd stats` request), or {}."""
    try:
        r = t.socketmap_request(st.unix, "#stats", "x", timeout=5)
    except (OSError, ValueError):
        return {}
    if not r.startswith(b"OK "):
        return {}
    out = {}
    for ln in r[3:].decode("utf-8", "replace").splitlines():
        k, _, v = ln.partition(" ")
        try:
            out[k] = float(v) if "." in v and k.startswith("live.lat") \
                else int(v)
        except ValueError:
            out[k] = v
    return out


# Server and builder counters only: the per-map ones (live.lookups...)
# start again at every SIGHUP.
STATS_SHOWN = ("requests.socketmap", "requests.tcp", "requests.bad",
               "requests.deferred", "snapshot.builds_ok",
               "snapshot.builds_failed", "connections.accepted",
               "connections.refused", "answers.dropped")


def run_phase(st, name, secs, conns, busy, procs, seed, side=True,
              sigterm_after=None, over_limit=20):
    """One phase: connect, load for secs (or until SIGTERM), leave.
    Returns a dict of results."""
    ctx = mp.get_context("fork")
    res = {"name": name}
    res["before"] = st.sample()
    stats0 = daemon_stats(st)
    plan = st.plan(conns, busy)
    stop_at = ctx.Value("d", time.time() + 3600, lock=False)
    res_q = ctx.Queue()
    workers, pipes = [], []
    for w in range(procs):
        a, b = ctx.Pipe()
        p = ctx.Process(target=client_main, args=(
            w, plan[w::procs], st.users, st.sh, seed * 1000 + w, b, res_q,
            stop_at, sigterm_after is not None), daemon=True)
        p.start()
        workers.append(p)
        pipes.append(a)
    t0 = time.monotonic()
    opened = 0
    for a in pipes:
        if not a.poll(120):
            raise RuntimeError("a client process did not get ready")
        opened += a.recv()[1]
    res["connect_secs"] = time.monotonic() - t0
    res["opened"] = opened
    sd = Side(st.slapd, st.lk, st.sh).start() if side else None
    start = time.time()
    stop_at.value = start + (secs if sigterm_after is None else 3600)
    for a in pipes:
        a.send("go")
    samples = []
    res["refused_extra"] = None
    exit_code = None
    term_at = None
    while True:
        now = time.time()
        if sigterm_after is None and now >= stop_at.value:
            break
        if sigterm_after is not None and term_at is None and \
                now - start >= sigterm_after:
            term_at = time.monotonic()
            st.lk.send_signal(signal.SIGTERM)
        if term_at is not None:
            exit_code = st.lk.wait(0.2)
            if exit_code is not None:
                res["exit_secs"] = time.monotonic() - term_at
                break
            if time.monotonic() - term_at > 30:
                break
            continue
        s = st.sample()
        if s:
            samples.append(s)
        if res["refused_extra"] is None and over_limit and \
                now - start >= min(2.0, secs / 3):
            res["refused_extra"] = (refuse_extra(st, over_limit), over_limit)
        time.sleep(1.0 - (time.time() - now) % 1.0)
    if sigterm_after is not None:
        res["exit_code"] = exit_code
        stop_at.value = time.time()
    wall = time.time() - start
    if sd:
        sd.stop()
        res["side"] = dict(sd.counts)
        res["side_errors"] = sd.sync_errors + (
            [sd.ldapmodify_err] if sd.counts["ldapmodify_errors"] else [])
    stats, lat = [], array.array("d")
    for _ in workers:
        wid, s, lb = res_q.get(timeout=120)
        stats.append(s)
        lat.frombytes(lb)
    for p in workers:
        p.join(30)
    agg = {k: sum(s[k] for s in stats) for k in
           ("requests", "busy_requests", "errors", "closed",
            "closed_pending", "truncated", "connect_failed", "open_at_end")}
    agg["samples"] = [x for s in stats for x in s["samples"]][:20]
    agg["seen"] = {}
    for s in stats:
        for k, v in s["seen"].items():
            agg["seen"][k] = agg["seen"].get(k, 0) + v
    res.update(agg)
    res["secs"] = wall
    lat = sorted(lat)
    res["rps"] = agg["requests"] / wall if wall else 0
    res["p50_ms"] = percentile(lat, 50) * 1000
    res["p99_ms"] = percentile(lat, 99) * 1000
    res["max_ms"] = (lat[-1] if lat else 0) * 1000
    res["during"] = samples
    if sigterm_after is None:
        # The clients have left: wait for lookupd to close its side.
        base = res["before"]["conns"] if res["before"] else 0
        t.wait_until(lambda: (st.sample() or {"conns": -1})["conns"] <= base,
                     15, 0.1)
        # The least of a few samples over 3 s (more than refresh): one
        # not taken in the middle of a snapshot build.
        after = []
        for _ in range(7):
            time.sleep(0.5)
            after.append(st.sample())
        after = [a for a in after if a]
        res["after"] = min(after, key=lambda a: a["anon"]) if after else None
        res["after_fds_max"] = max(a["fds"] for a in after) if after else -1
        res["after_fds_min"] = min(a["fds"] for a in after) if after else -1
        res["after_conns_max"] = max(a["conns"] for a in after) \
            if after else -1
        stats1 = daemon_stats(st)
        res["daemon"] = {k: stats1[k] - stats0.get(k, 0) for k in STATS_SHOWN
                         if isinstance(stats1.get(k), int)}
        res["daemon"]["live.latency_ms_p99"] = stats1.get(
            "live.latency_ms_p99")
    return res


def fmt_sample(s):
    if not s:
        return "-"
    return "fds %d, VmRSS %d kB (anon %d, file %d)" % (
        s["fds"], s["rss"], s["anon"], s["file"])


def report(res):
    say("## phase %s: %.1f s, %d connections open (%.1f s to open and "
        "check them all)" % (res["name"], res["secs"], res["opened"],
                             res["connect_secs"]))
    say("   requests %d (%.0f/s), busy-client latency p50 %.2f ms, p99 "
        "%.2f ms, max %.1f ms" % (res["requests"], res["rps"],
                                  res["p50_ms"], res["p99_ms"],
                                  res["max_ms"]))
    say("   errors %d, connections closed by lookupd %d, truncated "
        "replies %d" % (res["errors"], res["closed"], res["truncated"]))
    for s in res["samples"]:
        say("     " + s)
    if res.get("side"):
        say("   underneath: %s" % ", ".join("%s %d" % kv for kv in
                                            res["side"].items()))
        for e in res.get("side_errors", []):
            say("     " + e)
    if res.get("seen"):
        say("   changing keys answered: %s" % ", ".join(
            "%s %d" % kv for kv in sorted(res["seen"].items())))
    if res.get("refused_extra"):
        say("   at max_connections: %d of %d extra clients closed at once"
            % res["refused_extra"])
    d = res["during"]
    if d:
        say("   before: %s" % fmt_sample(res["before"]))
        say("   during: fds %d..%d, VmRSS %d..%d kB, RssAnon %d..%d kB, "
            "lookupd cpu %.0f%%" % (
                min(x["fds"] for x in d), max(x["fds"] for x in d),
                min(x["rss"] for x in d), max(x["rss"] for x in d),
                min(x["anon"] for x in d), max(x["anon"] for x in d),
                100 * (d[-1]["cpu"] - d[0]["cpu"]) /
                max(1e-9, len(d) - 1)))
    if res.get("after"):
        say("   after:  %s" % fmt_sample(res["after"]))
    if res.get("daemon"):
        say("   lookupd's counters over the phase: %s" % ", ".join(
            "%s %s" % kv for kv in res["daemon"].items()))
    if "exit_code" in res:
        say("   SIGTERM: exit %s after %.2f s; %d connections closed by "
            "it, %d of them with a request in flight" % (
                res["exit_code"], res.get("exit_secs", -1), res["closed"],
                res["closed_pending"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--busy", type=int, default=60)
    ap.add_argument("--procs", type=int, default=max(2, os.cpu_count() or 2))
    ap.add_argument("--phase", type=float, default=30)
    ap.add_argument("--phases", type=int, default=2)
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--churn", type=int, default=50)
    ap.add_argument("--no-sigterm", action="store_true")
    args = ap.parse_args()
    if not os.access(t.LOOKUPD, os.X_OK):
        sys.exit("build first: make")
    say("# bench/load.py on %s, %d CPUs, %s; lookupd %s" % (
        os.uname().nodename, os.cpu_count(), time.strftime("%F %T"),
        t.LOOKUPD))
    say("# %s" % " ".join(sys.argv))
    t0 = time.monotonic()
    st = Setup(args.users, args.churn, args.conns)
    say("# slapd with the fixture + %d accounts + %d churned, lookupd PID "
        "%d ready in %.1f s" % (args.users, args.churn, st.pid,
                                time.monotonic() - t0))
    # Warm-up: live lookups, a SIGHUP, a side sync, so that the baseline
    # holds every LDAP session lookupd keeps.
    warm = run_phase(st, "warm-up", 5, min(args.conns, 200),
                     min(args.busy, 40), args.procs, 99, over_limit=0)
    say("# warm-up: %d requests, %d errors" % (warm["requests"],
                                               warm["errors"]))
    results = []
    for i in range(args.phases):
        r = run_phase(st, str(i + 1), args.phase, args.conns, args.busy,
                      args.procs, i + 1)
        report(r)
        results.append(r)
    if len(results) >= 2 and results[0].get("after") and \
            results[-1].get("after"):
        a, b = results[0]["after"], results[-1]["after"]
        say("## between phase 1 and phase %d (after each): fds %+d, "
            "VmRSS %+d kB, RssAnon %+d kB" % (
                len(results), b["fds"] - a["fds"], b["rss"] - a["rss"],
                b["anon"] - a["anon"]))
    if not args.no_sigterm:
        r = run_phase(st, "SIGTERM", 0, args.conns, args.busy, args.procs,
                      77, sigterm_after=5, over_limit=0)
        report(r)
    err = st.lk.errors()
    say("# sanitizer report on lookupd's stderr: %s" % (
        "YES" if "Sanitizer" in err or "runtime error" in err else "none"))
    total_err = sum(r["errors"] for r in results)
    say("# total errors: %d" % total_err)
    st.lk.stop()
    st.slapd.stop()


if __name__ == "__main__":
    main()
