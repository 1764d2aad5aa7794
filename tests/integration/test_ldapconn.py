#!/usr/bin/env python3
"""test_ldapconn: common/ldapconn against a real, private slapd.

Drives tests/tools/ldapconn-probe ($LDAPMAIL_BUILD/tests/tools) against
the harness's slapd (scripts/test-slapd: the shipped slapd.conf example,
size limit 500, paged reads by the system DN unlimited; StartTLS and
ldaps with a test CA) loaded with the howto's example directory, 1,200
generated entries under ou=Big and one entry with a tagged attribute.
Checks: reading the fixture, bind failures, paging past the size limit,
the size limit itself, a missing base, bad filters, failover between URIs,
a server stopped, restarted (also behind a live session, also over TLS),
frozen with SIGSTOP (also during an ldaps handshake), a password file
rotated, TLS trust, several threads, DN normalization, and that the
password shows neither in output nor in /proc/PID/cmdline.
"""
import os
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402

PROBE = t.tool("ldapconn-probe")
PASSWORD = "system-secret"
BIND_DN = "ou=System,o=company"
TIMEOUT = 2                     # ldap_timeout of the probe's configs
BIG = 1200                      # entries under ou=Big (slapd's limit: 500)
TOKELAU = "ou=Tokelau,o=company"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")

_env = {}                       # slapd, tmp, other_ca: made once
_outputs = []                   # every probe output, for the password check


def env():
    if _env:
        return _env
    tmp = t.tmpdir("ldapmail-lc-")
    extra = os.path.join(tmp, "extra.ldif")
    with open(extra, "w") as f:
        f.write("dn: cn=tagged,o=company\nobjectClass: person\n"
                "cn: tagged\ncn;lang-de: markiert\nsn: t\n\n")
        f.write("dn: ou=Big,o=company\nobjectClass: organizationalUnit\n"
                "ou: Big\n\n")
        for i in range(BIG):
            f.write("dn: cn=user%04d,ou=Big,o=company\nobjectClass: person"
                    "\ncn: user%04d\nsn: u%d\n\n" % (i, i, i))
    # A CA that signed nothing here: who trusts only it must refuse.
    other_ca = os.path.join(tmp, "other-ca.pem")
    t.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
           "-days", "2", "-subj", "/CN=some other CA", "-keyout",
           os.path.join(tmp, "other-ca.key"), "-out", other_ca], check=True)
    _env["tmp"] = tmp
    _env["other_ca"] = other_ca
    _env["extra"] = extra
    _env["slapd"] = t.Slapd(ldifs=[t.fixture_path(), extra],
                            ldaps=True).start()
    _env["n"] = 0
    return _env


def second():
    """A second slapd with the same data, for failover (made once)."""
    e = env()
    if "slapd2" not in e:
        e["slapd2"] = t.Slapd(ldifs=[t.fixture_path(), e["extra"]]).start()
    return e["slapd2"]


def config(uris, bind=True, pw=PASSWORD, extra=()):
    """A config file for the probe; returns (path, bind_pw_file)."""
    e = env()
    e["n"] += 1
    pwfile = os.path.join(e["tmp"], "pw%d" % e["n"])
    lines = ["ldap_uri = %s" % " ".join(uris),
             "ldap_timeout = %d" % TIMEOUT,
             "domain_base = " + t.DOMAIN_BASE,
             "account_base = " + t.ACCOUNT_BASE,
             "cache_dir = " + e["tmp"]]
    if bind:
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (pw + "\n").encode())
        os.close(fd)
        lines += ["bind_dn = " + BIND_DN, "bind_pw_file = " + pwfile]
    lines += list(extra)
    path = os.path.join(e["tmp"], "ldapmail%d.conf" % e["n"])
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, pwfile


class Out:
    """A probe run: exit code, lines, "name: value" fields."""

    def __init__(self, r):
        self.r = r
        self.code = r.rc
        self.secs = r.secs
        self.lines = r.out.splitlines()
        _outputs.append(r.out + r.err)

    def field(self, name):
        for line in self.lines:
            if line.startswith(name + ": "):
                return line[len(name) + 2:]
        return None

    def status(self):
        return self.field("status")

    def error(self):
        return self.field("error") or ""

    def dns(self):
        return [l[4:] for l in self.lines if l.startswith("dn: ")]

    def why(self):
        return self.r.why()


def probe(conf, *args, timeout=60):
    return Out(t.run([PROBE, conf] + list(args), timeout=timeout))


def check(cond, name, o, extra=""):
    san = next((m for m in SANITIZER_MARKS if m in o.r.err), None)
    if san:
        return t.ok(False, name, "sanitizer report: " + o.r.err[-400:])
    return t.ok(cond, name, lambda: (extra + "; " if extra else "") +
                o.why())


class Loop:
    """A running `loop`: one record per search, read as it comes.

    A record is (status, entries, ms, error)."""

    def __init__(self, conf, rounds=40):
        self.proc = subprocess.Popen(
            [PROBE, conf, "loop", str(rounds), TOKELAU, "(objectClass=*)"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        self.buf = b""
        self.seen = []

    def next(self, timeout):
        """The next record, or None after timeout s (or at the end)."""
        deadline = time.monotonic() + timeout
        while True:
            rec = self._record()
            if rec:
                return rec
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    return None
                self.buf += chunk

    def _record(self):
        # "status: S entries=N ms=T", then "error: ..." unless S is OK
        lines = self.buf.decode("utf-8", "replace").split("\n")
        complete = lines[:-1]
        if not complete or not complete[0].startswith("status: "):
            return None
        words = complete[0].split()
        n = 1 if words[1] == "OK" else 2
        if len(complete) < n:
            return None
        self.buf = "\n".join(lines[n:]).encode()
        kv = dict(w.split("=", 1) for w in words[2:] if "=" in w)
        err = complete[1][7:] if n == 2 and \
            complete[1].startswith("error: ") else ""
        rec = (words[1], int(kv.get("entries", "0")),
               int(kv.get("ms", "0")), err, int(kv.get("server", "-9")))
        self.seen.append(rec)
        if t.VERBOSE:
            t.note("loop: %r" % (rec,))
        return rec

    def until_ok(self, records, per_record):
        for _ in range(records):
            r = self.next(per_record)
            if r is None:
                return None
            if r[0] == "OK":
                return r
        return None

    def cmdline(self):
        with open("/proc/%d/cmdline" % self.proc.pid, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        """Stop it (by its PID); returns (exit before close, stderr)."""
        died = self.proc.poll()
        if died is None:
            self.proc.terminate()
        try:
            out, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        err = err.decode("utf-8", "replace")
        _outputs.append(self.buf.decode("utf-8", "replace") +
                        out.decode("utf-8", "replace") + err)
        return died, err


def loop_check(name, conf, body):
    """Run body(loop, slapd) on a live loop; body returns "" or why."""
    slapd = env()["slapd"]
    lp = Loop(conf)
    try:
        why = body(lp, slapd)
    finally:
        if slapd.pid is not None:
            slapd.thaw()
        else:                       # leave it running for the next test
            slapd.start()
    died, err = lp.close()
    san = next((m for m in SANITIZER_MARKS if m in err), None)
    if san:
        why = "sanitizer: %s" % err[-400:]
    elif died is not None and died not in (0, 1):
        why = "probe died: exit %r (%s); %s" % (
            died, signal.Signals(-died).name if died < 0 else "status",
            why)
    t.ok(not why, name, lambda: "%s; records %r" % (why, lp.seen[-6:]))


# ------------------------------------------------------------ binding

@t.test
def open_binds():
    s = env()["slapd"]
    o = probe(config([s.uri])[0], "open")
    check(o.code == 0 and o.status() == "OK" and
          o.field("server") == s.uri.rstrip("/"),
          "open binds as the system DN", o)


@t.test
def wrong_password():
    s = env()["slapd"]
    bad = config([s.uri], pw="wrong-secret")[0]
    o = probe(bad, "open")
    check(o.code == 1 and o.status() == "TEMP" and
          o.error() == "bind as %s failed: Invalid credentials" % BIND_DN,
          "wrong password: TEMP, Invalid credentials", o)
    o = probe(bad, "search", "o=company", "base", "(objectClass=*)")
    check(o.code == 1 and not o.dns() and "Invalid credentials" in
          o.error(), "wrong password: a search is TEMP, delivers nothing", o)


@t.test
def unreadable_password_file():
    conf, pwfile = config([env()["slapd"].uri])
    os.unlink(pwfile)
    o = probe(conf, "open")
    check(o.code == 1 and pwfile in o.error(),
          "unreadable bind_pw_file: TEMP naming the file", o)


@t.test
def failover():
    s = env()["slapd"]
    dead = "ldap://127.0.0.1:%d/" % t.free_port()
    two = config([dead, s.uri])[0]
    o = probe(two, "open")
    check(o.code == 0 and o.field("server") == s.uri.rstrip("/"),
          "two URIs, first dead: the second answers", o)
    o = probe(two, "search", TOKELAU, "one", "(objectClass=qmailUser)")
    check(o.code == 0 and len(o.dns()) == 3,
          "two URIs, first dead: search answers", o)
    # "At once": a refused connection does not wait for ldap_timeout,
    # set to 60 s here so that a busy machine cannot blur the two.
    o = probe(config([dead], extra=["ldap_timeout = 60"])[0], "search",
              "o=company", "base", "(objectClass=*)")
    check(o.code == 1 and o.secs < 20 and
          o.error() == "%s: Can't contact LDAP server" % dead,
          "server down: TEMP at once (ldap_timeout 60 s), Can't contact", o)


# ------------------------------------------------- failover, failback
#
# Two slapds with the same data; the first of ldap_uri frozen with SIGSTOP
# accepts TCP connections (the kernel completes them) and answers nothing:
# libldap's own list of URIs never moves past it.

def thawed(slapd):
    if slapd.pid is not None:
        slapd.thaw()


@t.test
def failover_first_frozen():
    s1, s2 = env()["slapd"], second()
    two = config([s1.uri, s2.uri], extra=["failback = 60"])[0]
    s1.freeze()
    try:
        o = probe(two, "open")
        check(o.code == 0 and o.field("server") == s2.uri.rstrip("/") and
              o.secs < (TIMEOUT + 1.5) * t.SLOW,
              "first frozen: the second binds within ldap_timeout + 1.5 s",
              o, "%.2f s" % o.secs)
        o = probe(two, "search", TOKELAU, "one", "(objectClass=qmailUser)")
        check(o.code == 0 and len(o.dns()) == 3 and
              o.secs < (TIMEOUT + 1.5) * t.SLOW,
              "first frozen: a search answers from the second within "
              "ldap_timeout + 1.5 s", o, "%.2f s" % o.secs)
        o = probe(two, "search", "ou=Big,o=company", "one",
                  "(objectClass=person)", "paged")
        check(o.code == 0 and len(set(o.dns())) == BIG and
              o.secs < (TIMEOUT + 3) * t.SLOW,
              "first frozen: a paged read of %d entries from the second"
              % BIG, o, "%d dns, %.2f s" % (len(o.dns()), o.secs))
        o = probe(config([s1.uri])[0], "open")
        check(o.code == 1 and "timed out" in o.error() and
              o.secs < (TIMEOUT + 1.5) * t.SLOW,
              "only the frozen one: TEMP after ldap_timeout", o)
        dead = "ldap://127.0.0.1:%d/" % t.free_port()
        o = probe(config([s1.uri, dead])[0], "open")
        check(o.code == 1 and o.error().count("; ") == 1 and
              "Can't contact" in o.error() and s1.uri.rstrip("/") in o.error(),
              "frozen and dead: TEMP naming both", o)
    finally:
        thawed(s1)


def frozen_failover_failback(lp, slapd):
    # On the first; it freezes: the search on the open connection times
    # out and is asked again of the second, in the same call.  failback is
    # 3 s: while the first stays frozen, probing it in the background
    # delays no search; after SIGCONT the session moves back.
    s2 = second()
    r = lp.until_ok(3, 10)
    if not r or r[4] != 0:
        return "no first OK on server 0: %r" % (r,)
    slapd.freeze()
    r = lp.next(TIMEOUT + 5)
    if not r or r[0] != "OK" or r[1] != 4 or r[4] != 1 or \
            r[2] > (TIMEOUT + 1) * 1000 * t.SLOW:
        return "search when the first froze: %r" % (r,)
    for _ in range(6):          # > 2 failback periods, first still frozen
        r = lp.next(5)
        if not r or r[0] != "OK" or r[4] != 1 or r[2] > 1000 * t.SLOW:
            return "while the first stays frozen: %r" % (r,)
    slapd.thaw()
    for _ in range(8):          # failback (3 s) + a probe + a search
        r = lp.next(5)
        if not r or r[0] != "OK":
            return "after SIGCONT: %r" % (r,)
        if r[4] == 0:
            break
    if r[4] != 0:
        return "never moved back to the first: %r" % (lp.seen[-4:],)
    s2.freeze()                 # and it really uses the first now
    try:
        r = lp.next(5)
        if not r or r[0] != "OK" or r[4] != 0 or r[2] > 1000 * t.SLOW:
            return "back on the first, second frozen: %r" % (r,)
    finally:
        s2.thaw()
    return ""


@t.test
def failover_failback():
    s1, s2 = env()["slapd"], second()
    conf = config([s1.uri, s2.uri], extra=["failback = 3"])[0]
    loop_check("frozen while in use: same search answered by the second "
               "within ldap_timeout; no search waits for the frozen one; "
               "back to the first after failback", conf,
               frozen_failover_failback)


# ------------------------------------------------------------ reading

@t.test
def fixture():
    conf = config([env()["slapd"].uri])[0]
    o = probe(conf, "search", TOKELAU, "sub", "(objectClass=qmailUser)",
              "plain", "mail", "mailAlternateAddress")
    want = {
        "cn=Albert Onestone,ou=Tokelau,o=company":
            ["mail: albert.onestone@anotherdomain.nu",
             "mailAlternateAddress: a.onestone@anotherdomain.nu",
             "mailAlternateAddress: ao@anotherdomain.nu"],
        "cn=Seven of Nine,ou=Tokelau,o=company":
            ["mail: seven.of.nine@anotherdomain.nu",
             "mailAlternateAddress: s.o.9@anotherdomain.nu"],
        "cn=Timetravel weekly,ou=Tokelau,o=company":
            ["mail: timetravel@anotherdomain.nu"],
    }
    got, cur = {}, None
    for line in o.lines:
        if line.startswith("dn: "):
            cur = line[4:]
            got[cur] = []
        elif cur and not line.startswith(("entries: ", "status: ")):
            got[cur].append(line)
    check(o.code == 0 and got == want and o.field("entries") == "3",
          "fixture: every entry, every value", o, "got %r" % got)

    o = probe(conf, "search", "cn=Timetravel weekly,ou=Tokelau,o=company",
              "base", "(objectClass=*)", "plain", "POSTOFFICEBOX")
    check(o.code == 0 and o.lines[1:3] == [
        "POSTOFFICEBOX: past.editions", "POSTOFFICEBOX: future.editions"],
        "attribute names: case ignored", o)
    o = probe(conf, "search", "cn=tagged,o=company", "base",
              "(objectClass=*)", "plain", "cn")
    check(o.code == 0 and sorted(o.lines[1:3]) == [
        "cn: markiert", "cn: tagged"],
        "attribute options: cn;lang-de counts as cn", o)


@t.test
def size_limit():
    s = env()["slapd"]
    conf = config([s.uri])[0]
    o = probe(conf, "search", "ou=Big,o=company", "one",
              "(objectClass=person)", "paged", "cn")
    dns = o.dns()
    cns = set(l[4:] for l in o.lines if l.startswith("cn: "))
    check(o.code == 0 and len(dns) == BIG and len(set(dns)) == BIG and
          cns == set("user%04d" % i for i in range(BIG)),
          "paged: %d entries past the size limit of 500" % BIG, o,
          "%d dns" % len(dns))
    o = probe(conf, "search", "ou=Big,o=company", "one",
              "(objectClass=person)", "plain")
    check(o.code == 1 and "size limit exceeded" in o.error(),
          "plain: size limit is TEMP, never a short answer", o)
    # (A server that caps paged reads too, as slapd does without the
    # limits line, gives the same TEMP; the shipped ACLs leave no other
    # DN that could read ou=Big to show it here.)


@t.test
def anonymous():
    # The shipped ACLs give anonymous clients nothing: the bind works, the
    # base is invisible, and that is TEMP, never an empty answer.
    anon = config([env()["slapd"].uri], bind=False)[0]
    o = probe(anon, "open")
    check(o.code == 0, "anonymous bind", o)
    o = probe(anon, "search", TOKELAU, "one", "(objectClass=qmailUser)")
    check(o.code == 1 and not o.dns() and
          "the base does not exist" in o.error(),
          "anonymous, base hidden by ACL: TEMP, not an empty answer", o)


@t.test
def refusals():
    conf = config([env()["slapd"].uri])[0]
    o = probe(conf, "search", "ou=Nowhere,o=company", "sub",
              "(objectClass=*)", "paged")
    check(o.code == 1 and o.error().startswith(
        "search ou=Nowhere,o=company: the base does not exist"),
        "missing base: TEMP naming the base", o)
    o = probe(conf, "search", "o=company", "sub", "(objectClass=*",
              "plain")
    check(o.code == 2 and o.status() == "PERM" and
          "Bad search filter" in o.error(), "bad filter: PERM", o)
    o = probe(conf, "search", "not a dn", "sub", "(objectClass=*)")
    check(o.code == 2 and o.status() == "PERM", "bad base DN: PERM", o)


@t.test
def threads():
    s = env()["slapd"]
    o = probe(config([s.uri])[0], "threads", "8", "ou=Big,o=company",
              "(objectClass=person)", timeout=120)
    check(o.code == 0 and o.status() == "OK entries=%d" % BIG,
          "8 threads, a session each, 20 paged reads each", o)


@t.test
def dn_normalization():
    conf = config([env()["slapd"].uri])[0]
    a = probe(conf, "normalize", "cn=Timetravel weekly, ou=Tokelau, "
              "o=company")
    b = probe(conf, "normalize", "CN=Timetravel weekly,ou=tokelau,O=company")
    check(a.code == 0 and b.code == 0 and a.r.out == b.r.out ==
          "cn=timetravel weekly,ou=tokelau,o=company\n",
          "normalize: spacing and case", a, b.r.out)
    c = probe(conf, "normalize", "cn=Seven of Nine,ou=Tokelau,o=company")
    check(c.code == 0 and c.r.out != a.r.out,
          "normalize: different DNs differ", c)
    d = probe(conf, "normalize", "cn=x,=broken")
    check(d.code == 2, "normalize: an invalid DN is refused", d)


# ------------------------------------------------------------ TLS

@t.test
def tls():
    e = env()
    s = e["slapd"]
    ca = "tls_ca_file = " + s.ca_file
    o = probe(config([s.uri], extra=["tls = starttls", ca])[0], "search",
              TOKELAU, "one", "(objectClass=qmailUser)")
    check(o.code == 0 and len(o.dns()) == 3,
          "StartTLS with the CA: answers", o)
    o = probe(config([s.uri], extra=[
        "tls = starttls", "tls_ca_file = " + e["other_ca"]])[0], "open")
    check(o.code == 1 and "StartTLS failed" in o.error(),
          "StartTLS, untrusted certificate: TEMP StartTLS failed", o)
    o = probe(config([s.uri], extra=[
        "tls = starttls", "tls_ca_file = " + e["other_ca"],
        "tls_require_cert = no"])[0], "open")
    check(o.code == 0, "StartTLS, tls_require_cert = no: answers", o)
    ls = config([s.ldaps_uri], extra=["tls = ldaps", ca])[0]
    o = probe(ls, "open")
    check(o.code == 0 and o.field("server") == s.ldaps_uri.rstrip("/"),
          "ldaps with the CA: answers", o)
    o = probe(config([s.ldaps_uri], extra=[
        "tls = ldaps", "tls_ca_file = " + e["other_ca"]])[0], "open")
    check(o.code == 1 and "TLS handshake failed" in o.error(),
          "ldaps, untrusted certificate: TEMP TLS handshake failed", o)
    o = probe(ls, "threads", "4", TOKELAU, "(objectClass=*)", timeout=120)
    check(o.code == 0 and o.status() == "OK entries=4",
          "ldaps: 4 threads, a TLS context each", o)
    o = probe(config([s.uri], extra=["tls = ldaps", ca])[0], "open")
    check(o.code == 2 and "not an ldaps:// URI" in o.error(),
          "tls = ldaps with an ldap:// URI: PERM, nothing sent", o)


# ------------------------------------------------------------ faults

def stopped_restarted(lp, slapd):
    if not lp.until_ok(3, 10):
        return "no first OK"
    slapd.stop()
    r = lp.next(5)
    if not r or r[0] != "TEMP" or "Can't contact" not in r[3] or \
            r[2] >= 1000:
        return "after stop: %r" % (r,)
    slapd.start()
    if not lp.until_ok(4, 5):
        return "no OK after restart"
    return ""


_asleep = []


def asleep_syscall():
    """What /proc/PID/syscall shows first for a process sleeping in
    nanosleep(3) (clock_nanosleep with glibc): learnt from sleep(1)."""
    if not _asleep:
        p = subprocess.Popen(["sleep", "60"])
        try:
            path = "/proc/%d/wchan" % p.pid
            t.wait_until(lambda: "nanosleep" in open(path).read(), 10)
            with open("/proc/%d/syscall" % p.pid) as f:
                _asleep.append(f.read().split()[0])
        finally:
            p.kill()
            p.wait()
    return _asleep[0]


def restarted_behind(lp, slapd):
    # Restarted between two searches: the session's connection is dead
    # but the server is back; the next search must not fail.  The probe
    # is held (SIGSTOP) in its one-second sleep between two searches
    # while slapd restarts, however long that takes on a busy machine.
    if not lp.until_ok(3, 10):
        return "no first OK"
    pid = lp.proc.pid
    for _ in range(5):
        os.kill(pid, signal.SIGSTOP)
        t._wait_stopped(pid)
        with open("/proc/%d/syscall" % pid) as f:
            if f.read().split()[0] == asleep_syscall():
                break
        os.kill(pid, signal.SIGCONT)        # in a search: the next gap
        lp.next(5)
    else:
        os.kill(pid, signal.SIGCONT)
        return "never caught the probe between two searches"
    try:
        slapd.restart()
    finally:
        os.kill(pid, signal.SIGCONT)
    r = lp.next(5)
    if not r or r[0] != "OK" or r[1] != 4:
        return "first search after restart: %r" % (r,)
    return ""


def frozen(lp, slapd):
    if not lp.until_ok(3, 10):
        return "no first OK"
    slapd.freeze()
    r = lp.next(TIMEOUT + 5)
    if not r or r[0] != "TEMP" or "timed out" not in r[3] or \
            r[2] > (TIMEOUT + 1) * 1000:
        return "frozen: %r" % (r,)
    slapd.thaw()
    if not lp.until_ok(3, TIMEOUT + 5):
        return "no OK after SIGCONT"
    return ""


def frozen_connect(lp, slapd):
    # The search on the open connection times out; the next one connects
    # anew, and libldap puts no limit on an ldaps handshake: ldapconn's
    # watchdog must end it.
    if not lp.until_ok(3, 10):
        return "no first OK"
    slapd.freeze()
    for what in ("open connection", "new connection"):
        r = lp.next(TIMEOUT + 10)
        if not r or r[0] != "TEMP" or r[2] > (TIMEOUT + 1) * 1000 + 500:
            return "frozen, %s: %r" % (what, r)
    slapd.thaw()
    if not lp.until_ok(3, TIMEOUT + 5):
        return "no OK after SIGCONT"
    return ""


@t.test
def faults():
    s = env()["slapd"]
    conf = config([s.uri])[0]
    loop_check("stopped: TEMP within 1 s; restarted: the same session "
               "recovers", conf, stopped_restarted)
    loop_check("restarted between searches: retried on a fresh "
               "connection, no error", conf, restarted_behind)
    loop_check("frozen (SIGSTOP): TEMP within ldap_timeout, recovers "
               "after SIGCONT", conf, frozen)


@t.test
def faults_over_tls():
    # Over TLS libldap writes to the dead socket (a TLS alert): SIGPIPE,
    # which the probe leaves at its default.
    s = env()["slapd"]
    ca = "tls_ca_file = " + s.ca_file
    st = config([s.uri], extra=["tls = starttls", ca])[0]
    loop_check("StartTLS: stopped and restarted, no SIGPIPE, recovers", st,
               stopped_restarted)
    loop_check("StartTLS: restarted between searches, no error", st,
               restarted_behind)
    ls = config([s.ldaps_uri], extra=["tls = ldaps", ca])[0]
    loop_check("ldaps: restarted between searches, no error", ls,
               restarted_behind)
    loop_check("ldaps, frozen: connecting gives up within ldap_timeout "
               "+ 1 s", ls, frozen_connect)


@t.test
def password_rotation():
    conf, pwfile = config([env()["slapd"].uri], pw="old-secret")

    def rotated(lp, slapd):
        r = lp.next(10)
        if not r or r[0] != "TEMP" or "Invalid credentials" not in r[3]:
            return "with the old password: %r" % (r,)
        with open(pwfile, "w") as f:
            f.write(PASSWORD + "\n")
        if not lp.until_ok(3, 5):
            return "new password not picked up"
        return ""
    loop_check("bind_pw_file re-read at each bind", conf, rotated)


@t.test
def password_hidden():
    conf = config([env()["slapd"].uri])[0]

    def hidden(lp, slapd):
        if not lp.until_ok(3, 10):
            return "no first OK"
        if PASSWORD in lp.cmdline():
            return "password in /proc/PID/cmdline"
        return ""
    loop_check("password not in /proc/PID/cmdline", conf, hidden)
    leaked = [o for o in _outputs if PASSWORD in o]
    t.ok(not leaked, "password never in the probe's output (%d runs)" %
         len(_outputs), lambda: "%d outputs hold it: %r" % (
             len(leaked), leaked[:1]))


if __name__ == "__main__":
    if not os.path.exists(PROBE):
        t.ok(False, "ldapconn-probe built", "missing " + PROBE)
        sys.exit(1)
    t.main()
