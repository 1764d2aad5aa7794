#!/usr/bin/env python3
"""test_lookupd_protocol: bad, oversized and binary requests to the real
lookupd, and clients that misbehave, never crash it, hang it or get a
wrong answer; everyone else keeps being served by the same process.

One daemon, against a real slapd holding the fixture (plus an account
with very long alternate addresses), listening for socketmap on a UNIX
socket and on 127.0.0.1, and for tcp_table on two ports (alias,
mailbox), with limits set low on purpose: idle_timeout 3 s,
max_connections 350, max_request_size 4000.  Each case asserts the exact
bytes lookupd sends back, and that the connection goes on or is closed;
after each case a control request on fresh connections (socketmap unix,
socketmap inet, tcp) answers right and the PID is the same.

- netstring length with letters, a leading zero, 8 digits, none, a
  sign; a missing comma; junk after a good request: "PERM bad netstring"
  or "PERM request too long", then closed;
- 200 kB requests (socketmap unix and inet, sent whole): "PERM request too
  long" from the length prefix, then closed;
- a request of exactly max_request_size bytes (the limit covers map
  name, space and key) is answered (FOUND: an account has such an
  address); one byte more, or a key of max_request_size bytes, is refused
  and closed;
  likewise a tcp_table line of exactly 4096 bytes, and one of 4097 / 5 kB;
- NUL, CR, LF and other control bytes in a key: "NOTFOUND " on every map
  and protocol, never asked of LDAP (answered in well under 100 ms while
  slapd is frozen, when a plain miss is not answered at all; and lookupd's
  own live.lookups counter, from `#stats`, counts only that plain miss);
- unknown map, empty map name, binary map name: "PERM unknown map name";
  no space: "PERM bad request: no space after the map name"; empty key:
  "NOTFOUND "; binary keys and random binary payloads: one reply each,
  never OK; the connection goes on;
- tcp_table: bad %-encoding, raw white space, no key, a request word
  other than "get" (put, GET), binary lines: 400 and the connection goes
  on; an empty key: 500; %00/%0D/%0A/raw CR: 500;
- a client that stalls in the middle of a request (socketmap unix, inet,
  tcp) does not delay others and is closed after idle_timeout, not before;
- 300 idle connections (socketmap unix/inet, tcp) and one busy one: the
  busy one gets 2000 answers fast, the idle ones stay open until
  idle_timeout and are closed then;
- max_connections: at the limit new clients are closed at once without a
  reply, existing ones are served; below it again, new ones are served;
- 1000 pipelined requests in one write (socketmap unix, inet, tcp, with
  live lookups among them) are answered in order;
- a client that never reads its replies: others are served, lookupd's
  memory stays bounded, the client is closed after idle_timeout;
- at the end: no sanitizer report on lookupd's stderr, SIGTERM exits 0.
"""
import os
import random
import re
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

IDLE = 3                # idle_timeout
MAXCONN = 350           # max_connections
MAXREQ = 4000           # max_request_size
TCP_LINE_MAX = 4096     # lookupd's tcp_table line limit (LF included)

ALBERT = "ao@anotherdomain.nu"
ALBERT_MAIL = b"albert.onestone@anotherdomain.nu"
ALBERT_BOX = b"/vmail/albert.onestone/Maildir/"
NINE_BOX = b"/vmail/seven.of.nine/Maildir/"

# Addresses that make requests of exactly the limits:
#   "alias " + SM_LONG is MAXREQ bytes; "get " + TCP_LONG + LF is 4096.
SM_LONG = "l" * (MAXREQ - len("alias ") - len("@testdomain.nu")) + \
    "@testdomain.nu"
TCP_LONG = "t" * (TCP_LINE_MAX - len("get \n") - len("@testdomain.nu")) + \
    "@testdomain.nu"
LONG_ENTRY = """dn: uid=longkey,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: Long Key
sn: Key
uid: longkey
mail: long.key@testdomain.nu
mailAlternateAddress: %s
mailAlternateAddress: %s
accountStatus: active
mailMessageStore: /vmail/long.key/Maildir/
""" % (SM_LONG, TCP_LONG)

S = {}

PERM_BAD_NS = b"PERM bad netstring"
PERM_TOO_LONG = b"PERM request too long"
PERM_NO_SPACE = b"PERM bad request: no space after the map name"
PERM_UNKNOWN = b"PERM unknown map name"
NOTFOUND = b"NOTFOUND "
TCP_BAD = b"400 bad%20request"
TCP_UNSUPPORTED = b"400 unsupported%20request"
TCP_TOO_LONG = b"400 request%20too%20long"
TCP_NOTFOUND = b"500 not%20found"


class Closed(Exception):
    """The peer closed (EOF or reset)."""


class Conn:
    """A raw client connection with its own read buffer."""

    def __init__(self, addr, timeout=5):
        fam, sa = t._parse_addr(addr)
        self.addr = addr
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(sa)
        self.buf = b""
        self.eof = False

    def send(self, data):
        """sendall; False if the peer had already closed."""
        try:
            self.s.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def _fill(self, deadline):
        if self.eof:
            raise Closed()
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no reply")
        self.s.settimeout(left)
        try:
            d = self.s.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            raise Closed()
        self.buf += d

    def reply(self, timeout=5):
        """One netstring payload; Closed on EOF, ValueError if malformed."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.match(rb"(\d{1,6}):", self.buf)
            if m:
                n = int(m.group(1))
                end = m.end() + n
                if len(self.buf) > end:
                    if self.buf[end:end + 1] != b",":
                        raise ValueError("reply without its comma: %r" %
                                         self.buf[:80])
                    p = self.buf[m.end():end]
                    self.buf = self.buf[end + 1:]
                    return p
            elif self.buf and not re.match(rb"\d{0,6}$", self.buf):
                raise ValueError("not a netstring: %r" % self.buf[:80])
            self._fill(deadline)

    def line(self, timeout=5):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if len(self.buf) > TCP_LINE_MAX:
                raise ValueError("reply line over 4096 bytes")
            self._fill(deadline)
        ln, _, self.buf = self.buf.partition(b"\n")
        return ln

    def ask(self, payload, timeout=5):
        self.send(t.netstring(payload))
        return self.reply(timeout)

    def get(self, key_encoded, timeout=5):
        self.send(b"get " + key_encoded + b"\n")
        return self.line(timeout)

    def closed_within(self, timeout):
        """True when the peer closes within timeout s (anything it still
        sends is kept in buf)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except Closed:
            return True
        except socket.timeout:
            return False

    def is_open(self):
        """Not closed by the peer (a non-blocking look, reads nothing
        unless there is something)."""
        if self.eof:
            return False
        self.s.settimeout(0)
        try:
            d = self.s.recv(65536)
        except BlockingIOError:
            return True
        except ConnectionResetError:
            d = b""
        finally:
            self.s.settimeout(5)
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def close(self):
        self.s.close()


def sm_addrs():
    return [("unix", S["unix"]), ("inet", S["inet"])]


def tcp_addr(m):
    return "inet:127.0.0.1:%d" % S["tcp"][m]


def pid_same():
    return S["lk"].alive() and S["lk"].pid == S["pid"]


def control(case):
    """Fresh connections on every protocol answer right; same PID."""
    got = []
    for addr, payload, want in (
            (S["unix"], b"alias " + ALBERT.encode(), b"OK " + ALBERT_MAIL),
            (S["inet"], b"mailbox s.o.9@anotherdomain.nu", b"OK " +
             NINE_BOX)):
        try:
            c = Conn(addr)
            r = c.ask(payload)
            c.close()
        except (OSError, Closed, ValueError) as e:
            r = repr(e)
        got.append(r == want or r)
    try:
        c = Conn(tcp_addr("alias"))
        r = c.get(b"timetravel@anotherdomain.nu")
        c.close()
    except (OSError, Closed, ValueError) as e:
        r = repr(e)
    got.append(r == b"200 timetravel@anotherdomain.nu" or r)
    got.append(pid_same() or "PID %s, alive %s" % (S["lk"].pid,
                                                   S["lk"].alive()))
    t.eq(got, [True] * 4, "after %s: control requests answered, same PID"
         % case)


def expect_reply_then_close(c, want, name, linger=3):
    try:
        r = c.reply()
    except (Closed, ValueError, OSError) as e:
        r = repr(e)
    t.eq(r, want, name)
    t.ok(c.closed_within(linger) and c.buf == b"",
         name + ": then closed, nothing more sent", c.buf[:80])
    c.close()


@t.test
def setup():
    s = t.Slapd().start()
    s.add(LONG_ENTRY)
    d = t.tmpdir()
    tcp = {"alias": t.free_port(), "mailbox": t.free_port()}
    inet = t.free_port()
    unix = "unix:" + os.path.join(d, "lookupd.sock")
    cfg = t.lookupd_config(
        s, d, socketmap_listen="%s inet:127.0.0.1:%d" % (unix, inet),
        tcp_listen=" ".join("%s=inet:127.0.0.1:%d" % (m, p)
                            for m, p in tcp.items()),
        idle_timeout=IDLE, max_connections=MAXCONN,
        max_request_size=MAXREQ, ldap_timeout=2)
    S.update(slapd=s, dir=d, tcp=tcp, unix=unix,
             inet="inet:127.0.0.1:%d" % inet)
    lk = S["lk"] = t.Lookupd(cfg, dir=d).start()
    S["pid"] = lk.pid
    t.ok(t.wait_until(lambda: all(os.path.exists(
        os.path.join(d, "cache", m + ".cdb"))
        for m in ("domain", "alias", "mailbox")), 15),
        "the first snapshot is built")
    control("start")


@t.test
def bad_netstrings():
    cases = [
        ("letters in the length", b"abc:alias a,", PERM_BAD_NS),
        ("a letter after digits", b"1a:alias a,", PERM_BAD_NS),
        ("leading zero", b"07:alias a,", PERM_BAD_NS),
        ("leading zeros, 8 digits", b"00000007:alias a,", PERM_BAD_NS),
        ("8-digit length", b"12345678:", PERM_TOO_LONG),
        ("8-digit length then data", b"10000000:alias a,", PERM_TOO_LONG),
        ("no length", b":alias a,", PERM_BAD_NS),
        ("negative length", b"-7:alias a,", PERM_BAD_NS),
        ("space before the colon", b"7 :alias a,", PERM_BAD_NS),
        ("missing comma", b"7:alias aX", PERM_BAD_NS),
        ("another byte where the comma goes", b"8:alias a,X", PERM_BAD_NS),
        ("length one short", b"6:alias a,", PERM_BAD_NS),
        ("binary garbage", bytes(range(256)), PERM_BAD_NS),
    ]
    for kind, addr in sm_addrs():
        for name, data, want in cases:
            c = Conn(addr)
            c.send(data)
            expect_reply_then_close(c, want, "%s %s -> %s" % (
                kind, name, want.decode()))
        # A good request, then junk on the same connection.
        c = Conn(addr)
        c.send(t.netstring("alias " + ALBERT) + b"xx:")
        try:
            r = c.reply()
        except (Closed, ValueError, OSError) as e:
            r = repr(e)
        t.eq(r, b"OK " + ALBERT_MAIL, "%s good request before junk answered"
             % kind)
        expect_reply_then_close(c, PERM_BAD_NS, "%s then the junk" % kind)
    control("bad netstrings")


@t.test
def oversized_requests():
    big = t.netstring(b"alias " + b"k" * 200000 + b"@anotherdomain.nu")
    for kind, addr in sm_addrs():
        c = Conn(addr)
        c.send(big)
        expect_reply_then_close(c, PERM_TOO_LONG,
                                "%s 200 kB request -> PERM request too long"
                                % kind)
        # Refused from the prefix alone: nothing but "200023:" sent.
        c = Conn(addr)
        c.send(big[:7])
        expect_reply_then_close(c, PERM_TOO_LONG,
                                "%s its length prefix alone is refused" %
                                kind)
        over = t.netstring("alias " + "x" + SM_LONG)
        c = Conn(addr)
        c.send(over)
        expect_reply_then_close(c, PERM_TOO_LONG, "%s max_request_size + 1 "
                                "bytes -> PERM request too long" % kind)
    control("oversized requests")


@t.test
def request_of_exactly_max_request_size():
    req = b"alias " + SM_LONG.encode()
    t.eq(len(req), MAXREQ, "the request is max_request_size bytes")
    for kind, addr in sm_addrs():
        c = Conn(addr)
        t.eq(c.ask(req), b"OK long.key@testdomain.nu",
             "%s request of exactly max_request_size answered" % kind)
        t.eq(c.ask(b"alias " + SM_LONG.upper().encode()),
             b"OK long.key@testdomain.nu",
             "%s again in upper case on the same connection" % kind)
        t.eq(c.ask(b"mailbox " + ALBERT.encode()), b"OK " + ALBERT_BOX,
             "%s and the connection goes on" % kind)
        c.close()
        # The limit is on the request (map name, space, key), so a key of
        # max_request_size bytes makes a request too long.
        c = Conn(addr)
        c.send(t.netstring(b"alias " + b"k" * (MAXREQ - len("@x.nu")) +
                           b"@x.nu"))
        expect_reply_then_close(c, PERM_TOO_LONG, "%s a key of exactly "
                                "max_request_size bytes -> PERM request too "
                                "long" % kind)
    line = b"get " + TCP_LONG.encode() + b"\n"
    t.eq(len(line), TCP_LINE_MAX, "the tcp line is 4096 bytes")
    c = Conn(tcp_addr("alias"))
    t.eq(c.get(TCP_LONG.encode()), b"200 long.key@testdomain.nu",
         "tcp line of exactly 4096 bytes answered")
    t.eq(c.get(ALBERT.encode()), b"200 " + ALBERT_MAIL,
         "and the connection goes on")
    c.send(b"get x" + TCP_LONG.encode() + b"\n")
    try:
        r = c.line()
    except (Closed, ValueError, OSError) as e:
        r = repr(e)
    t.eq(r, TCP_TOO_LONG, "tcp line of 4097 bytes -> 400 request too long")
    t.ok(c.closed_within(3), "then closed")
    c.close()
    control("requests at the size limits")


def stats_value(name):
    """One counter of the daemon's `#stats` answer, or None."""
    try:
        c = Conn(S["unix"])
        r = c.ask(b"#stats x")
        c.close()
    except (OSError, Closed, ValueError):
        return None
    m = re.search(rb"^" + re.escape(name.encode()) + rb" (-?\d+)$", r, re.M)
    return int(m.group(1)) if r.startswith(b"OK ") and m else None


def live_lookups():
    """The daemon's live.lookups counter (the `lookupd stats` request),
    or None where the daemon has none."""
    return stats_value("live.lookups")


CONTROL_KEYS = [
    ("alias", b"ao@anotherdomain.nu\x00"),
    ("alias", b"ao\x00x@anotherdomain.nu"),
    ("alias", b"\x00"),
    ("alias", b"ao@anotherdomain.nu\r"),
    ("alias", b"ao@anotherdomain.nu\n"),
    ("alias", b"\nao@anotherdomain.nu"),
    ("alias", b"ao@anotherdomain.nu\r\n"),
    ("alias", b"ao@another\x01domain.nu"),
    ("alias", b"ao@anotherdomain.nu\x7f"),
    ("alias", b"ao+\x00@anotherdomain.nu"),
    ("mailbox", b"ao@anotherdomain.nu\x00"),
    ("mailbox", b"s.o.9@anotherdomain.nu\r"),
    ("mailbox", b"s.o.9@anotherdomain.nu\n"),
    ("mailbox", b"nobody\x00@anotherdomain.nu"),
    ("domain", b"mydomain.nl\x00"),
    ("domain", b"mydomain.nl\r"),
    ("domain", b"mydomain.nl\n"),
    ("domain", b"unknown\x00.example"),
]
TCP_CONTROL_KEYS = [b"ao@anotherdomain.nu%00", b"ao%00x@anotherdomain.nu",
                    b"ao@anotherdomain.nu%0D", b"ao@anotherdomain.nu%0A",
                    b"ao@anotherdomain.nu%0d%0a", b"ao@anotherdomain.nu\r",
                    b"ao@another%01domain.nu", b"%7Fao@anotherdomain.nu",
                    b"new%00x@anotherdomain.nu"]


@t.test
def control_bytes_in_keys():
    # Asked with slapd frozen: an answer that needed LDAP could not come
    # before ldap_timeout (2 s); these must come at once.
    slapd = S["slapd"]
    probe = Conn(S["unix"], timeout=15)
    live0 = live_lookups()
    slapd.freeze()
    try:
        probe.send(t.netstring("alias never.seen@anotherdomain.nu"))
        worst = 0.0
        for kind, addr in sm_addrs():
            c = Conn(addr)
            for m, key in CONTROL_KEYS:
                t0 = time.monotonic()
                r = c.ask(m.encode() + b" " + key)
                worst = max(worst, time.monotonic() - t0)
                t.eq(r, NOTFOUND, "%s %s %r -> NOTFOUND" % (kind, m, key))
            c.close()
        for m in ("alias", "mailbox"):
            c = Conn(tcp_addr(m))
            for key in TCP_CONTROL_KEYS:
                t0 = time.monotonic()
                r = c.get(key)
                worst = max(worst, time.monotonic() - t0)
                t.eq(r, TCP_NOTFOUND, "tcp %s %r -> 500" % (m, key))
            c.close()
        # Ordering, not wall time: every answer above came while a plain
        # miss, sent first, still waits on the frozen slapd (it waits
        # ldap_timeout, 2 s); one that had asked LDAP would wait as long.
        t.ok(probe.is_open() and probe.buf == b"",
             "all answered without LDAP: meanwhile a plain miss is still "
             "waiting on the frozen slapd", probe.buf)
        t.note("control-byte keys, slapd frozen: worst answer %.1f ms"
               % (worst * 1000))
        live1 = live_lookups()
        # `#stats` is lookupd's own (lookupd(8), STATISTICS): no answer
        # or no counter is a failure, never a skip.
        t.ok(live0 is not None and live1 is not None and
             live1 - live0 == 1, "lookupd's live.lookups counter: the "
             "probe went to LDAP, none of the %d control-byte keys did"
             % (2 * len(CONTROL_KEYS) + 2 * len(TCP_CONTROL_KEYS)),
             "live.lookups before %r, after %r (None: no counter in the "
             "#stats answer)" % (live0, live1))
    finally:
        slapd.thaw()
    try:
        r = probe.reply(10)
    except (Closed, ValueError, OSError) as e:
        r = repr(e)
    t.ok(r in (NOTFOUND,) or (isinstance(r, bytes) and r.startswith(
        b"TEMP ")), "the plain miss then answers NOTFOUND or TEMP", r)
    probe.close()
    control("control bytes in keys")


@t.test
def bad_map_names_and_keys():
    cases = [
        (b"nosuchmap " + ALBERT.encode(), PERM_UNKNOWN),
        (b"ALIAS " + ALBERT.encode(), PERM_UNKNOWN),
        (b" " + ALBERT.encode(), PERM_UNKNOWN),
        (b"\xff\xfe\x00 x", PERM_UNKNOWN),
        (b"alias\x00 " + ALBERT.encode(), PERM_UNKNOWN),
        (b"alias", PERM_NO_SPACE),
        (b"", PERM_NO_SPACE),
        (b"alias\t" + ALBERT.encode(), PERM_NO_SPACE),
        (b"\xff" * 50, PERM_NO_SPACE),
        (b"alias ", NOTFOUND),
        (b"mailbox ", NOTFOUND),
        (b"domain ", NOTFOUND),
        (b"domain .", NOTFOUND),
        (b"alias  " + ALBERT.encode(), NOTFOUND),     # key " ao@..."
        (b"alias \xff\xfe\x80@anotherdomain.nu", NOTFOUND),
        (b"alias ao@anotherdomain.nu\xff", NOTFOUND),
        (b"alias \xc3\xa9t\xc3\xa9@anotherdomain.nu", NOTFOUND),
        (b"mailbox *", NOTFOUND),
        (b"alias x)(mail=*", NOTFOUND),
        (b"alias " + ALBERT.encode(), b"OK " + ALBERT_MAIL),
    ]
    for kind, addr in sm_addrs():
        c = Conn(addr)
        for payload, want in cases:
            t.eq(c.ask(payload), want, "%s %r -> %s" % (kind, payload[:40],
                                                         want.decode()))
        c.close()
    # Random binary payloads, well framed: one reply each, never OK.
    rnd = random.Random(6)
    payloads = [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 80)))
                for _ in range(200)]
    payloads += [b"alias " + p for p in payloads[:100]]
    for kind, addr in sm_addrs():
        c = Conn(addr)
        bad = []
        for p in payloads:
            r = c.ask(p)
            if r not in (NOTFOUND, PERM_UNKNOWN, PERM_NO_SPACE):
                bad.append((p, r))
        t.eq(bad, [], "%s 300 random binary requests: NOTFOUND or PERM, "
             "never OK" % kind)
        t.eq(c.ask(b"alias " + ALBERT.encode()), b"OK " + ALBERT_MAIL,
             "%s and the connection goes on" % kind)
        c.close()
    control("bad map names and keys")


@t.test
def bad_tcp_requests():
    cases = [
        (b"get a%zz\n", TCP_BAD),
        (b"get a%4\n", TCP_BAD),
        (b"get %\n", TCP_BAD),
        (b"get ao%40anotherdomain.nu%G0\n", TCP_BAD),
        (b"get a%2\n", TCP_BAD),
        (b"get a b\n", TCP_BAD),
        (b"get a\tb\n", TCP_BAD),
        (b"get\n", TCP_BAD),
        (b"\n", TCP_BAD),
        (b"get  ao@anotherdomain.nu\n", TCP_BAD),
        (b"\xff\xfe\x00\n", TCP_BAD),
        (b"1get a\n", TCP_BAD),
        (b"put a b\n", TCP_UNSUPPORTED),
        (b"put ao@anotherdomain.nu x\n", TCP_UNSUPPORTED),
        (b"GET ao@anotherdomain.nu\n", TCP_UNSUPPORTED),
        (b"gets ao@anotherdomain.nu\n", TCP_UNSUPPORTED),
        (b"get \n", TCP_NOTFOUND),
        (b"get %2A\n", TCP_NOTFOUND),
        (b"get ao%40anotherdomain.nu\n", b"200 " + ALBERT_MAIL),
        (b"get AO@AnotherDomain.NU\n", b"200 " + ALBERT_MAIL),
        (b"get ao%2bx@anotherdomain.nu\n",
         b"200 albert.onestone+x@anotherdomain.nu"),
    ]
    c = Conn(tcp_addr("alias"))
    for line, want in cases:
        c.send(line)
        t.eq(c.line(), want, "tcp %r -> %s" % (line[:40], want.decode()))
    c.close()
    # A 5 kB line: 400, then closed (framing is lost).
    for m in ("alias", "mailbox"):
        c = Conn(tcp_addr(m))
        c.send(b"get " + b"k" * 5000 + b"@anotherdomain.nu\n")
        try:
            r = c.line()
        except (Closed, ValueError, OSError) as e:
            r = repr(e)
        t.eq(r, TCP_TOO_LONG, "tcp %s 5 kB line -> 400 request too long" % m)
        t.ok(c.closed_within(3) and c.buf == b"", "then closed", c.buf[:80])
        c.close()
    # 5 kB without any LF at all, in pieces.
    c = Conn(tcp_addr("mailbox"))
    for _ in range(5):
        c.send(b"x" * 1000)
    try:
        r = c.line()
    except (Closed, ValueError, OSError) as e:
        r = repr(e)
    t.eq(r, TCP_TOO_LONG, "tcp 5 kB without LF -> 400 request too long")
    t.ok(c.closed_within(3), "then closed")
    c.close()
    control("bad tcp requests")


@t.test
def client_stalls_mid_request():
    stalled = {
        "socketmap unix": (Conn(S["unix"]), b"40:alias ao@anoth"),
        "socketmap inet": (Conn(S["inet"]), b"4"),
        "tcp": (Conn(tcp_addr("alias")), b"get ao@anotherdom"),
    }
    t0 = time.monotonic()
    for c, data in stalled.values():
        c.send(data)
    # Others are served meanwhile, on every protocol.
    c = Conn(S["unix"])
    ok = all(c.ask(b"alias " + ALBERT.encode()) == b"OK " + ALBERT_MAIL
             for _ in range(200))
    c.close()
    c = Conn(tcp_addr("mailbox"))
    ok = ok and c.get(ALBERT.encode()) == b"200 " + ALBERT_BOX
    c.close()
    t.ok(ok, "others served while three clients stall")
    # When lookupd closes a staller is seen when we look: late on a busy
    # machine, never early.  So "not before idle_timeout" is the time we
    # see the close (never too early to fail wrongly); "by" has a margin.
    for name, (c, _) in stalled.items():
        closed = c.closed_within(t0 + IDLE + 2.5 * t.SLOW -
                                 time.monotonic())
        took = time.monotonic() - t0
        t.ok(closed and c.buf == b"", "%s staller closed by idle_timeout "
             "(seen after %.1f s), without a reply" % (name, took), c.buf)
        t.ok(took >= IDLE - 0.05, "%s: not before idle_timeout" % name,
             "%.2f s" % took)
        c.close()
    control("clients stalled mid-request")


def daemon_fds():
    try:
        return len(os.listdir("/proc/%d/fd" % S["lk"].pid))
    except OSError:
        return -1


def client_fds():
    """lookupd's client sockets (t.client_fds): unlike the count of all
    its fds, not moved by a snapshot build's LDAP connection or files."""
    pid = S["lk"].pid
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return -1
    ports = [int(S["inet"].rsplit(":", 1)[1])] + list(S["tcp"].values())
    return t.client_fds(pid, fds, [S["unix"][5:]], ports)


def daemon_rss_kb():
    return int(t.proc_status(S["lk"].pid)["VmRSS"].split()[0])


@t.test
def idle_connections_and_a_busy_one():
    fd0 = daemon_fds()
    t.eq(client_fds(), 0, "no client socket open before")
    t0 = time.monotonic()
    idle = [Conn(S["unix"]) for _ in range(100)] + \
        [Conn(S["inet"]) for _ in range(100)] + \
        [Conn(tcp_addr("alias")) for _ in range(50)] + \
        [Conn(tcp_addr("mailbox")) for _ in range(50)]
    opened = time.monotonic() - t0
    busy = Conn(S["inet"])
    lat = []
    ok = True
    keys = [(b"alias " + ALBERT.encode(), b"OK " + ALBERT_MAIL),
            (b"mailbox s.o.9@anotherdomain.nu", b"OK " + NINE_BOX),
            (b"domain MyDomain.NL.", b"OK mydomain.nl"),
            (b"alias AO+News@anotherdomain.nu",
             b"OK albert.onestone+News@anotherdomain.nu")]
    tb = time.monotonic()
    for i in range(2000):
        req, want = keys[i % len(keys)]
        t1 = time.monotonic()
        ok = ok and busy.ask(req) == want
        lat.append(time.monotonic() - t1)
    secs = time.monotonic() - tb
    busy.close()
    lat.sort()
    t.ok(ok, "the busy client gets 2000 right answers with 300 idle "
         "connections open")
    # A figure, not a test (bench/ measures speed).
    t.note("busy client: %.0f/s, p50 %.2f ms, p99 %.2f ms, worst %.2f ms"
           % (2000 / secs, lat[1000] * 1000, lat[1980] * 1000,
              lat[-1] * 1000))
    fdn = daemon_fds()
    t.eq(stats_value("connections.open"), 301, "lookupd holds the 300 "
         "connections (and the one asking; fds %d -> %d)" % (fd0, fdn))
    t.eq(client_fds(), 300, "its 300 idle client sockets are open")
    # Every close as soon as we see it: the first must not come before
    # idle_timeout after the first connection was opened (a busy machine
    # only makes us see it later), and all come by idle_timeout and a
    # margin after the last was opened.
    sel = selectors.DefaultSelector()
    for c in idle:
        sel.register(c.s, selectors.EVENT_READ, c)
    seen = []
    deadline = t0 + opened + IDLE + 2.5 * t.SLOW
    while len(seen) < len(idle) and time.monotonic() < deadline:
        for key, _ in sel.select(max(0, deadline - time.monotonic())):
            c = key.data
            if not c.is_open() or c.buf:
                seen.append((time.monotonic() - t0, c.buf))
                sel.unregister(c.s)
    sel.close()
    first = min(s for s, _ in seen) if seen else 0
    t.ok(len(seen) == 300 and first >= IDLE - 0.05,
         "no idle connection closed before idle_timeout (first seen "
         "after %.2f s, opened in %.2f s)" % (first, opened),
         "%d closed" % len(seen))
    t.eq((len(seen), [b for _, b in seen if b]), (300, []),
         "all 300 closed by idle_timeout, nothing sent (%.1f s after the "
         "first was opened)" % (time.monotonic() - t0))
    for c in idle:
        c.close()
    t.ok(t.wait_until(lambda: client_fds() == 0, 5),
         "lookupd closed every client socket (%d open)" % client_fds())
    t.ok(t.wait_until(lambda: daemon_fds() <= fd0, 5 * t.SLOW),
         "lookupd's fds back to %d (%d)" % (fd0, daemon_fds()))
    control("300 idle connections")


@t.test
def max_connections():
    addrs = [S["unix"], S["inet"], tcp_addr("alias")]
    conns = [Conn(addrs[i % 3]) for i in range(MAXCONN)]

    def ask(i, c):
        if c.addr.startswith("inet:") and c.addr != S["inet"]:
            return c.get(ALBERT.encode()) == b"200 " + ALBERT_MAIL
        return c.ask(b"alias " + ALBERT.encode()) == b"OK " + ALBERT_MAIL
    ok = all(ask(i, c) for i, c in enumerate(conns))
    t.ok(ok, "%d connections (max_connections) all served" % MAXCONN)
    # "At once": well before idle_timeout (3 s) could close them.
    refused = []
    for i in range(30):
        c = Conn(addrs[i % 3])
        closed = c.closed_within(min(IDLE - 1, 2 * t.SLOW))
        refused.append(closed and c.buf == b"")
        c.close()
    t.eq(refused, [True] * 30, "30 new clients beyond max_connections: "
         "closed at once, nothing sent")
    # A refused client that sends a request gets no answer either.
    c = Conn(S["unix"])
    c.send(t.netstring("alias " + ALBERT))
    t.ok(c.closed_within(min(IDLE - 1, 2 * t.SLOW)) and c.buf == b"",
         "a refused client's request is not answered", c.buf)
    c.close()
    ok = all(ask(i, conns[i]) for i in (0, 1, 2, 100, 201, MAXCONN - 1))
    t.ok(ok, "existing connections still served at the limit")
    t.ok(pid_same(), "same PID at the limit")
    for c in conns[:10]:
        c.close()
    t.ok(t.wait_until(lambda: new_conn_served(), 5),
         "below the limit again, new clients are served")
    for c in conns[10:]:
        c.close()
    time.sleep(0.3)
    control("max_connections")


def new_conn_served():
    try:
        c = Conn(S["unix"])
        r = c.ask(b"alias " + ALBERT.encode(), timeout=1)
        c.close()
        return r == b"OK " + ALBERT_MAIL
    except (OSError, Closed, ValueError):
        return False


def pipeline_cases(n, tcp=False):
    """n requests and their exact answers, with live lookups among them."""
    sm = [
        (b"alias " + ALBERT.encode(), b"OK " + ALBERT_MAIL),
        (b"mailbox s.o.9@anotherdomain.nu", b"OK " + NINE_BOX),
        (b"alias nobody{i}@anotherdomain.nu", NOTFOUND),          # live
        (b"nosuchmap x", PERM_UNKNOWN),
        (b"alias", PERM_NO_SPACE),
        (b"alias ao@anotherdomain.nu\x00", NOTFOUND),
        (b"alias ao+p{i}@anotherdomain.nu",
         b"OK albert.onestone+p{i}@anotherdomain.nu"),
        (b"domain TestDomain.NU", b"OK testdomain.nu"),
        (b"mailbox timetravel@anotherdomain.nu",
         b"OK /vmail/shared/timetravel.weekly/incoming/"),
        (b"domain unknown{i}.example", NOTFOUND),                 # live
    ]
    tc = [
        (b"get ao@anotherdomain.nu\n", b"200 " + ALBERT_MAIL),
        (b"get nobody{i}@anotherdomain.nu\n", TCP_NOTFOUND),     # live
        (b"put a b\n", TCP_UNSUPPORTED),
        (b"get a%zz\n", TCP_BAD),
        (b"get ao%2Bp{i}@anotherdomain.nu\n",
         b"200 albert.onestone+p{i}@anotherdomain.nu"),
        (b"get ao@anotherdomain.nu%00\n", TCP_NOTFOUND),
    ]
    out = []
    table = tc if tcp else sm
    for i in range(n):
        req, want = table[i % len(table)]
        req = req.replace(b"{i}", b"%d" % i)
        want = want.replace(b"{i}", b"%d" % i)
        out.append((req if tcp else t.netstring(req), want))
    return out


@t.test
def pipelined_requests():
    for kind, addr, tcp in (("socketmap unix", S["unix"], False),
                            ("socketmap inet", S["inet"], False),
                            ("tcp", tcp_addr("alias"), True)):
        cases = pipeline_cases(1000, tcp)
        c = Conn(addr, timeout=20)
        data = b"".join(r for r, _ in cases)
        sender = threading.Thread(target=c.send, args=(data,))
        t0 = time.monotonic()
        sender.start()
        got = []
        try:
            for _ in cases:
                got.append(c.line(20) if tcp else c.reply(20))
        except (Closed, ValueError, OSError) as e:
            got.append(repr(e))
        sender.join(20)
        want = [w for _, w in cases]
        bad = [(i, g, w) for i, (g, w) in enumerate(zip(got, want))
               if g != w]
        t.ok(got == want, "%s: 1000 pipelined requests (%d bytes in one "
             "write) answered in order in %.2f s" % (
                 kind, len(data), time.monotonic() - t0),
             "%d answers, first wrong: %r" % (len(got), bad[:3]))
        c.close()
    control("pipelined requests")


@t.test
def client_never_reads():
    rss0 = daemon_rss_kb()
    greedy = Conn(S["unix"])
    greedy.s.setblocking(False)
    req = t.netstring("alias " + ALBERT) * 500
    sent = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2:
        try:
            sent += greedy.s.send(req)
        except BlockingIOError:
            time.sleep(0.02)
    # Also over inet and tcp.
    others = []
    for addr, line in ((S["inet"], t.netstring("mailbox " + ALBERT) * 500),
                       (tcp_addr("alias"), b"get ao@anotherdomain.nu\n" *
                        500)):
        o = Conn(addr)
        o.s.setblocking(False)
        tt = time.monotonic()
        while time.monotonic() - tt < 1:
            try:
                o.s.send(line)
            except BlockingIOError:
                time.sleep(0.02)
        others.append(o)
    rss1 = daemon_rss_kb()
    c = Conn(S["unix"])
    t.eq(c.ask(b"alias " + ALBERT.encode()), b"OK " + ALBERT_MAIL,
         "others served while clients never read (%d kB of requests "
         "pushed)" % (sent // 1024))
    c.close()
    t.ok(rss1 - rss0 < 20000, "lookupd's memory bounded (RSS %d -> %d kB)"
         % (rss0, rss1))
    # Nothing moves any more: closed by idle_timeout.
    time.sleep(IDLE + 1.5)
    for name, o in (("unix", greedy), ("inet", others[0]),
                    ("tcp", others[1])):
        o.s.setblocking(True)
        t.ok(o.closed_within(10), "%s client that never reads is closed "
             "after idle_timeout" % name)
        o.close()
    control("clients that never read")


@t.test
def end():
    lk = S["lk"]
    err = lk.errors()
    t.ok("Sanitizer" not in err and "runtime error" not in err,
         "no sanitizer report on lookupd's stderr", err[-800:])
    t.ok(pid_same(), "the same lookupd answered every case (PID %d)" %
         S["pid"])
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")
    t.ok(not os.path.exists(S["unix"][5:]), "the socket file is removed")


if __name__ == "__main__":
    t.main()
