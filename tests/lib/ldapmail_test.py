"""ldapmail_test: the harness of ldapmail's integration tests (stdlib only).

A test file is a Python 3 script in tests/integration/test_*.py:

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "lib"))
    import ldapmail_test as t

    @t.test
    def fixture_is_served():
        s = t.Slapd().start()
        r = s.search("ou=Tokelau,o=company", "(uid=onestonea)", ["mail"])
        t.eq(r.entries[0].first("mail"), "albert.onestone@anotherdomain.nu",
             "albert's mail")

    if __name__ == "__main__":
        t.main()

Output is one line per check, "ok - NAME" or "not ok - NAME (why)", which
tests/run counts; skip() prints "ok - NAME # SKIP why", which tests/run
counts apart (never as passed; with CI=true, as failed unless optional),
and note() "# text" lines, which count for nothing.  main() runs the @test
functions of the file in order; an exception fails the test (traceback on
stderr) and the next one runs; the file exits 1 if anything failed.  A
test that checks nothing itself is not counted: a note says it ran.

Everything a test starts is bounded in time and stopped by its own PID:
Slapd (scripts/test-slapd), Daemon and Lookupd stop what is still running
at exit; tmpdir()s are removed at exit unless LDAPMAIL_KEEP=1.

Environment (set by tests/run; defaults for running a file by hand):
  LDAPMAIL_SRC    the repository (default: found from this file)
  LDAPMAIL_BIN    where lookupd/lookupd, maildirmake/ldap-maildirmake are
                  (default: LDAPMAIL_SRC)
  LDAPMAIL_BUILD  the build dir with tests/tools/* (default: SRC/build/rel)
  LDAPMAIL_LONG   "1": run the long variants
  LDAPMAIL_KEEP   "1": keep temporary directories (printed on stderr)
  LDAPMAIL_TEST_ONLY  NAME[,NAME...]: run only the tests whose name
                  contains one of them (tests/run --only)
  VERBOSE         "1": show commands run and their results as "#" lines
  LDAPMAIL_SLOW   N: the programs under test run N times slower than
                  usual (valgrind): SLOW = N (default 1) scales every
                  timeout here; tests scale their own timing assertions
"""

import atexit
import base64
import ctypes
import fnmatch
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

__all__ = [
    "SRC", "BIN", "BUILD", "LOOKUPD", "MAILDIRMAKE", "TEST_SLAPD", "LONG",
    "SLOW",
    "SUFFIX", "ROOT_DN", "ROOT_PW", "SYSTEM_DN", "SYSTEM_PW",
    "DOMAIN_BASE", "ACCOUNT_BASE",
    "test", "ok", "eq", "skip", "note", "main", "failures",
    "run", "Result", "free_port", "tmpdir", "wait_until", "pid_alive",
    "write", "proc_status", "test_user", "user_san_env", "user_san_reports",
    "traced_env",
    "delay_relay",
    "fixture_path", "tool", "Slapd", "Entry", "SearchResult", "LdapError",
    "parse_ldif", "replicated", "sync_pair",
    "Daemon", "Lookupd", "lookupd_config", "person_ldif",
    "postmap", "postmap_q", "postmap_batch",
    "netstring", "socketmap_request", "SocketmapClient",
    "tcp_encode", "tcp_request", "TcpClient",
]

# ---------------------------------------------------------------- paths

SRC = os.path.abspath(os.environ.get("LDAPMAIL_SRC") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def _dir_env(name, default):
    v = os.environ.get(name) or default
    return v if os.path.isabs(v) else os.path.join(SRC, v)


BIN = _dir_env("LDAPMAIL_BIN", SRC)
BUILD = _dir_env("LDAPMAIL_BUILD", os.path.join("build", "rel"))
LOOKUPD = os.path.join(BIN, "lookupd", "lookupd")
MAILDIRMAKE = os.path.join(BIN, "maildirmake", "ldap-maildirmake")
TEST_SLAPD = os.path.join(SRC, "scripts", "test-slapd")
LONG = os.environ.get("LDAPMAIL_LONG") == "1"
KEEP = os.environ.get("LDAPMAIL_KEEP") == "1"
VERBOSE = os.environ.get("VERBOSE") == "1"
SLOW = max(1.0, float(os.environ.get("LDAPMAIL_SLOW") or 1))

# The fixture's directory (see ../shared/fixtures/seed-example.ldif).
SUFFIX = "o=company"
ROOT_DN, ROOT_PW = "cn=admin,o=company", "admin-secret"
SYSTEM_DN, SYSTEM_PW = "ou=System,o=company", "system-secret"
DOMAIN_BASE = "ou=postfix,ou=System,o=company"
ACCOUNT_BASE = "ou=Tokelau,o=company"

# The ldap client tools read neither /etc/ldap/ldap.conf nor ~/.ldaprc.
os.environ["LDAPNOINIT"] = "1"


def tool(name):
    """Path of a test driver built from tests/tools/NAME.c."""
    return os.path.join(BUILD, "tests", "tools", name)


def fixture_path():
    """The example directory: ../shared/fixtures/seed-example.ldif next to
    the repository when it is there, else the copy scripts/example.ldif."""
    shared = os.path.join(SRC, "..", "shared", "fixtures",
                          "seed-example.ldif")
    if os.path.exists(shared):
        return os.path.abspath(shared)
    return os.path.join(SRC, "scripts", "example.ldif")


# ------------------------------------------------------- test reporting

_tests = []
_counts = {"passed": 0, "failed": 0, "skipped": 0}


def _one_line(s):
    return " | ".join(str(s).splitlines())


def ok(cond, name, why=""):
    """Print "ok - NAME" or "not ok - NAME (why)"; return bool(cond)."""
    name = _one_line(name)
    if cond:
        _counts["passed"] += 1
        print("ok - %s" % name)
    else:
        _counts["failed"] += 1
        why = _one_line(why() if callable(why) else why)
        if len(why) > 600:
            why = why[:600] + "..."
        print("not ok - %s (%s)" % (name, why or "failed"))
    sys.stdout.flush()
    return bool(cond)


def eq(got, want, name, why=""):
    """ok(got == want), showing both when they differ."""
    return ok(got == want, name, "got %r, want %r%s" % (
        got, want, ("; " + why) if why else ""))


def skip(name, why, optional=False):
    """A check that cannot run here: "ok - NAME # SKIP why".  tests/run
    counts it as skipped, never as passed, and with CI=true as failed:
    CI must run everything the README promises.  optional=True is only
    for a check that does not apply to the tree under test at all (e.g.
    a comparison with a file outside the repository that a fresh clone
    lacks): "# SKIP optional: why", which CI accepts.  Missing tools,
    missing privileges or a missing feature are never optional."""
    _counts["skipped"] += 1
    print("ok - %s # SKIP %s%s" % (_one_line(name),
                                   "optional: " if optional else "",
                                   _one_line(why)))
    sys.stdout.flush()


def note(msg):
    """A comment line in the output (ignored by tests/run)."""
    for line in str(msg).splitlines() or [""]:
        print("# " + line)
    sys.stdout.flush()


def failures():
    return _counts["failed"]


def test(fn=None, name=None):
    """Register a test: @test or @test(name="...")."""
    def reg(f):
        _tests.append((name or f.__name__.replace("_", " "), f))
        return f
    if fn is None:
        return reg
    if isinstance(fn, str):
        name = fn
        return reg
    return reg(fn)


def main(argv=None):
    """Run the registered tests in order; exit 1 if any check failed.
    Arguments (or LDAPMAIL_TEST_ONLY, names separated by commas) keep
    only the tests whose name contains one of them."""
    argv = sys.argv[1:] if argv is None else argv
    only = list(argv)
    if os.environ.get("LDAPMAIL_TEST_ONLY"):
        only += [o for o in os.environ["LDAPMAIL_TEST_ONLY"].split(",")
                 if o]
    for name, fn in _tests:
        if only and not any(o in name or fnmatch.fnmatch(name, o)
                            for o in only):
            continue
        before = dict(_counts)
        try:
            fn()
        except KeyboardInterrupt:
            raise
        except BaseException as e:           # a broken test is a failure
            sys.stderr.write("--- %s\n" % name)
            traceback.print_exc()
            sys.stderr.flush()
            ok(False, name, "%s: %s" % (type(e).__name__, e))
            continue
        if _counts == before:
            note("%s: ran, no check of its own" % name)
    _cleanup()
    sys.exit(1 if _counts["failed"] else 0)


# ------------------------------------------------------------ processes

class Result:
    """What run() saw: rc (None on timeout), out/err text, raw bytes."""

    def __init__(self, argv, rc, outb, errb, secs, timed_out=False):
        self.argv, self.rc, self.secs = argv, rc, secs
        self.outb, self.errb, self.timed_out = outb or b"", errb or b"", \
            timed_out
        self.out = self.outb.decode("utf-8", "replace")
        self.err = self.errb.decode("utf-8", "replace")

    @property
    def code(self):
        return self.rc

    def why(self):
        """A one-line account for a failed check."""
        what = "timed out" if self.timed_out else "exit %s" % self.rc
        return "%s: %s, %.2f s, out %r, err %r" % (
            os.path.basename(str(self.argv[0])), what, self.secs,
            self.out[-300:], self.err[-300:])

    def __repr__(self):
        return "Result(%s)" % self.why()


def _merge_env(env):
    """os.environ with env's changes (a None value removes the name)."""
    if not env:
        return None
    full = dict(os.environ)
    for k, v in env.items():
        if v is None:
            full.pop(k, None)
        else:
            full[k] = v
    return full


def run(cmd, timeout=60, input=None, env=None, cwd=None, check=False):
    """Run cmd (a list, or a string for sh -c) to completion, at most
    timeout seconds (then it is killed: rc None, timed_out True).  input
    may be str or bytes; env holds changes to os.environ (None removes a
    name).  check=True raises RuntimeError unless rc == 0."""
    argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else \
        [str(a) for a in cmd]
    if isinstance(input, str):
        input = input.encode("utf-8")
    full_env = _merge_env(env)
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=full_env, cwd=cwd,
                           timeout=timeout * SLOW,
                           stdin=None if input is not None
                           else subprocess.DEVNULL)
        r = Result(argv, p.returncode, p.stdout, p.stderr,
                   time.monotonic() - t0)
    except subprocess.TimeoutExpired as e:
        r = Result(argv, None, e.stdout, e.stderr, time.monotonic() - t0,
                   timed_out=True)
    if VERBOSE:
        note("run %s -> %s" % (" ".join(argv)[:200],
                               "timeout" if r.timed_out else r.rc))
    if check and r.rc != 0:
        raise RuntimeError("command failed: " + r.why())
    return r


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


_tmpdirs = []


def tmpdir(prefix="ldapmail-"):
    """A new directory under /tmp, removed at exit unless LDAPMAIL_KEEP=1.
    Short on purpose: UNIX socket paths must fit in 108 bytes."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    _tmpdirs.append(d)
    return d


def wait_until(fn, timeout=10.0, interval=0.02):
    """Call fn until it returns something true (returned), or until
    timeout seconds (times SLOW) passed (returns the last false value)."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def write(path, text, mode=0o644):
    """Write text to path with mode; returns path."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def proc_status(pid, task=None):
    """/proc/PID/status (or of its thread task) as a dict of stripped-less
    "name: value" texts."""
    path = "/proc/%d/status" % pid if task is None else \
        "/proc/%d/task/%s/status" % (pid, task)
    with open(path) as f:
        return dict(ln.split(":", 1) for ln in f.read().splitlines()
                    if ":" in ln)


def listener_inodes(unix_paths, tcp_ports):
    """Inodes of the sockets bound to the given UNIX paths or local TCP
    ports: the listeners and every connection accepted on them (Linux
    shows an accepted UNIX socket with its listener's path)."""
    out = set()
    try:
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                fl = line.split()
                if len(fl) >= 8 and fl[7] in unix_paths:
                    out.add(fl[6])
        for name in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(name) as f:
                next(f)
                for line in f:
                    fl = line.split()
                    port = int(fl[1].rsplit(":", 1)[1], 16)
                    if port in tcp_ports:
                        out.add(fl[9])
    except (OSError, StopIteration, IndexError, ValueError):
        pass
    return out


def client_fds(pid, fds, unix_paths, tcp_ports):
    """How many of pid's fds are connections its clients opened: sockets
    at its listening addresses, the listeners themselves left out.  Unlike
    the count of all fds this does not move with an LDAP connection or a
    snapshot file a rebuild holds for a moment."""
    ino = listener_inodes(unix_paths, tcp_ports)
    n = 0
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]$", link)
        if m and m.group(1) in ino:
            n += 1
    return max(n - len(unix_paths) - len(tcp_ports), 0)


TEST_USER = "ldapmail-test-vmail"
_test_user = []


def test_user():
    """(uid, gid, name) of an unprivileged user for the tests (maildir
    owner, lookupd's user): TEST_USER, made with useradd --system when
    missing and we are root, else nobody."""
    if _test_user:
        return _test_user[0]
    import pwd
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        if os.geteuid() == 0 and shutil.which("useradd"):
            subprocess.run(["useradd", "--system", "--no-create-home",
                            "--home-dir", "/nonexistent", "--shell",
                            "/usr/sbin/nologin", "--user-group", TEST_USER],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        try:
            pw = pwd.getpwnam(TEST_USER)
        except KeyError:
            pw = pwd.getpwnam("nobody")
    _test_user.append((pw.pw_uid, pw.pw_gid, pw.pw_name))
    return _test_user[0]


_user_san = []


def user_san_env():
    """Sanitizer options for a program run as another user: its reports
    go to a directory any user may write (tests/run's is root's), read
    back by user_san_reports()."""
    if not _user_san:
        d = tmpdir("ldapmail-user-san-")
        os.chmod(d, 0o1777)
        _user_san.append(d)
    env = {}
    for name, prefix in (("ASAN_OPTIONS", "asan"),
                         ("UBSAN_OPTIONS", "ubsan")):
        cur = os.environ.get(name)
        if cur:
            parts = [p for p in cur.split(":")
                     if not p.startswith("log_path=")]
            env[name] = ":".join(parts + ["log_path=%s/%s" % (
                _user_san[0], prefix)])
    return env


def user_san_reports():
    """Reports written through user_san_env(): [(path, text)]."""
    out = []
    for d in _user_san:
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), errors="replace") as f:
                out.append((os.path.join(d, name), f.read()))
    return out


def traced_env():
    """Environment changes for a program run under strace (ptrace):
    LeakSanitizer cannot work there, so detect_leaks=0 (the same
    programs run leak-checked elsewhere in the suite)."""
    opts = [o for o in os.environ.get("ASAN_OPTIONS", "").split(":")
            if o and not o.startswith("detect_leaks=")]
    return {"ASAN_OPTIONS": ":".join(opts + ["detect_leaks=0"])}


def _proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _wait_stopped(pid, timeout=5):
    # SIGSTOP takes effect asynchronously: wait for state T.
    wait_until(lambda: _proc_state(pid) in ("T", "t", "Z", None), timeout,
               0.005)


def _reap(pid):
    """Collect pid's exit status if it is our (exited) child; or None."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if got == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def pid_alive(pid):
    """True while pid runs (stopped counts as running, a zombie does not;
    one that is our child is reaped)."""
    st = _proc_state(pid)
    if st is None:
        return False
    if st in ("Z", "X"):
        _reap(pid)
        return False
    return True


def _become_subreaper():
    # scripts/test-slapd leaves slapd behind as an orphan.  As a child
    # subreaper we inherit it instead of PID 1 (which in some containers
    # never reaps), so a stopped slapd can be collected, not left a zombie.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except Exception:
        pass


_become_subreaper()
_running = []          # Daemons and Slapds to stop at exit


class Daemon:
    """A program in the background, by PID: stdout and stderr go to
    DIR/NAME.out and DIR/NAME.err.

        d = Daemon([prog, args...], name="x").start()
        d.alive(); d.pid; d.stop() -> exit status (negative: signal)
    """

    def __init__(self, argv, name=None, dir=None, env=None, cwd=None):
        self.argv = [str(a) for a in argv]
        self.name = name or os.path.basename(self.argv[0])
        self.dir = dir or tmpdir("ldapmail-%s-" % self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.env, self.cwd = env, cwd
        self.out_path = os.path.join(self.dir, self.name + ".out")
        self.err_path = os.path.join(self.dir, self.name + ".err")
        self.proc = None
        self.status = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        if self.alive():
            raise RuntimeError("%s already runs (PID %d)" % (self.name,
                                                             self.pid))
        env = _merge_env(self.env)
        with open(self.out_path, "ab") as out, \
                open(self.err_path, "ab") as err:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out,
                stderr=err, env=env, cwd=self.cwd)
        self.status = None
        if self not in _running:
            _running.append(self)
        if VERBOSE:
            note("started %s PID %d: %s" % (self.name, self.pid,
                                            " ".join(self.argv)[:200]))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def freeze(self):
        """SIGSTOP; returns once the process is stopped."""
        self.send_signal(signal.SIGSTOP)
        _wait_stopped(self.pid)

    def thaw(self):
        self.send_signal(signal.SIGCONT)

    def wait(self, timeout=10):
        """Exit status once it exits by itself within timeout, else None."""
        if self.proc is None:
            return self.status
        try:
            self.status = self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            return None
        return self.status

    def stop(self, timeout=10, sig=signal.SIGTERM):
        """sig (after SIGCONT), wait up to timeout s, then SIGKILL.
        Returns the exit status (negative signal number if killed)."""
        if self.proc is None:
            return self.status
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout * SLOW)
            except subprocess.TimeoutExpired:
                sys.stderr.write("%s (PID %d) ignored signal %d for %s s: "
                                 "SIGKILL\n" % (self.name, self.proc.pid,
                                                sig, timeout))
                self.proc.kill()
                self.proc.wait()
        self.status = self.proc.returncode
        if self in _running:
            _running.remove(self)
        return self.status

    def _read(self, path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def output(self):
        return self._read(self.out_path)

    def errors(self):
        return self._read(self.err_path)


def _connectable(addr, timeout=0.5):
    """addr: "unix:PATH", "inet:HOST:PORT", a path, or (host, port)."""
    try:
        s = _connect(addr, timeout)
    except OSError:
        return False
    s.close()
    return True


def _parse_addr(addr):
    if isinstance(addr, tuple):
        return socket.AF_INET, (addr[0], int(addr[1]))
    if addr.startswith("unix:"):
        return socket.AF_UNIX, addr[5:]
    if addr.startswith("inet:"):
        host, _, port = addr[5:].rpartition(":")
        return socket.AF_INET, (host or "127.0.0.1", int(port))
    if addr.startswith("/"):
        return socket.AF_UNIX, addr
    host, _, port = addr.rpartition(":")
    return socket.AF_INET, (host or "127.0.0.1", int(port))


def _connect(addr, timeout):
    fam, sa = _parse_addr(addr)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout * SLOW)
    try:
        s.connect(sa)
    except OSError:
        s.close()
        raise
    return s


def _config_values(text, param):
    """Items of a global list parameter of an ldapmail.conf text (the last
    definition wins; continuation lines; no $expansion)."""
    val = None
    cur = None
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line[:1] in (" ", "\t") and line.strip():
            if cur == param:
                val += " " + line.strip()
            continue
        s = line.strip()
        if s.startswith("["):
            break                   # map sections: no listeners there
        name, eqs, v = s.partition("=")
        cur = name.strip() if eqs else None
        if cur == param:
            val = v.strip()
    if not val:
        return []
    return [x for x in re.split(r"[\s,]+", val) if x]


class Lookupd(Daemon):
    """lookupd -c DIR/ldapmail.conf serve -f, with cfg_text as the config.

    start() returns once every socketmap_listen and tcp_listen endpoint
    accepts a connection (wait_timeout s at most; RuntimeError with
    lookupd's stderr if it exited or never listened).
    """

    def __init__(self, cfg_text, dir=None, args=(), env=None, name="lookupd",
                 wait_timeout=10):
        super().__init__([LOOKUPD], name=name, dir=dir, env=env)
        self.conf = os.path.join(self.dir, "ldapmail.conf")
        self.extra_args = list(args)
        self.wait_timeout = wait_timeout
        self.set_config(cfg_text)

    def set_config(self, cfg_text):
        """Rewrite the config file (send SIGHUP to make it count)."""
        self.cfg_text = cfg_text
        with open(self.conf, "w") as f:
            f.write(cfg_text)
        self.socketmaps = _config_values(cfg_text, "socketmap_listen")
        self.tcps = {}
        for item in _config_values(cfg_text, "tcp_listen"):
            m, _, a = item.partition("=")
            self.tcps[m] = a
        self.argv = [LOOKUPD, "-c", self.conf] + self.extra_args + \
            ["serve", "-f"]

    def start(self):
        if not os.access(LOOKUPD, os.X_OK):
            raise RuntimeError("lookupd is not built: %s" % LOOKUPD)
        super().start()
        endpoints = self.socketmaps + list(self.tcps.values())

        def ready():
            if not self.alive():
                return "dead"
            return all(_connectable(a) for a in endpoints)
        r = wait_until(ready, self.wait_timeout)
        if r != True:                                   # noqa: E712
            why = "exited with %s" % self.proc.poll() if r == "dead" else \
                "did not listen on %s within %s s" % (endpoints,
                                                      self.wait_timeout)
            if self.alive():
                self.stop()
            raise RuntimeError("lookupd %s; stderr: %s" % (
                why, self.errors()[-1500:]))
        return self

    def reload(self):
        self.send_signal(signal.SIGHUP)

    @property
    def socket(self):
        """The first socketmap endpoint."""
        return self.socketmaps[0]

    def query(self, name, key, timeout=5):
        """One socketmap request to the first socketmap endpoint."""
        return socketmap_request(self.socket, name, key, timeout=timeout)

    def table(self, name):
        """The Postfix table name for map name: socketmap:unix:...:name."""
        return "socketmap:%s:%s" % (self.socket, name)

    def cli(self, *args, timeout=60):
        """lookupd -c CONF ARGS... (query, sync, route, check, lint)."""
        return run([LOOKUPD, "-c", self.conf] + list(args), timeout=timeout)

    def stats(self):
        """`lookupd stats` as {name: value} (numbers as int or float);
        RuntimeError if it fails.  The text itself: stats_text."""
        r = self.cli("stats")
        if r.rc != 0:
            raise RuntimeError("lookupd stats failed: " + r.why())
        out = {}
        for line in r.out.splitlines():
            name, _, value = line.partition(" ")
            if re.fullmatch(r"-?\d+", value):
                value = int(value)
            elif re.fullmatch(r"-?\d+\.\d+", value):
                value = float(value)
            out[name] = value
        self.stats_text = r.out
        return out


def person_ldif(uid, mail=None, status="active", base=ACCOUNT_BASE):
    """LDIF of an account uid=UID under base: mail (default
    UID@mydomain.nl), accountStatus status, mailMessageStore
    /vmail/UID/Maildir/."""
    return ("dn: uid=%s,%s\nobjectClass: inetOrgPerson\n"
            "objectClass: qmailUser\ncn: %s\nsn: %s\nuid: %s\nmail: %s\n"
            "accountStatus: %s\nmailMessageStore: /vmail/%s/Maildir/\n" % (
                uid, base, uid, uid, uid, mail or uid + "@mydomain.nl",
                status, uid))


def lookupd_config(slapd, dir, **params):
    """The usual test config for lookupd against slapd, files under dir:
    bind as the system DN (password in DIR/bindpw, mode 0600), the
    fixture's two leaves, socketmap on DIR/lookupd.sock, cache DIR/cache,
    socket_group empty.  Keyword arguments add or replace parameters (None
    drops one); "extra" is text appended verbatim (map sections)."""
    pwfile = os.path.join(dir, "bindpw")
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, (SYSTEM_PW + "\n").encode())
    os.close(fd)
    extra = params.pop("extra", "")
    conf = {
        "ldap_uri": slapd.uri,
        "bind_dn": SYSTEM_DN,
        "bind_pw_file": pwfile,
        "domain_base": DOMAIN_BASE,
        "account_base": ACCOUNT_BASE,
        "socketmap_listen": "unix:" + os.path.join(dir, "lookupd.sock"),
        "cache_dir": os.path.join(dir, "cache"),
        "socket_group": "",
    }
    conf.update(params)
    text = "".join("%s = %s\n" % (k, v) for k, v in conf.items()
                   if v is not None)
    return text + extra


def delay_relay(port, target_port, delay_us, dir=None):
    """tests/tools/delay-relay on 127.0.0.1:port to 127.0.0.1:target_port,
    holding each chunk delay_us us each way (SIGUSR1: no delay from now
    on, SIGUSR2: delay again); returned once it listens.  A relay started
    again on the same port (same dir) appends to the same output file."""
    r = Daemon([tool("delay-relay"), str(port), "127.0.0.1",
                str(target_port), str(delay_us)], name="relay-%d" % port,
               dir=dir)
    n = r.output().count("listening")
    r.start()
    if not wait_until(lambda: r.output().count("listening") > n, 5):
        raise RuntimeError("delay-relay did not start: " + r.errors())
    return r


def _cleanup():
    for d in list(reversed(_running)):
        try:
            d.stop()
        except Exception as e:                  # keep cleaning up
            sys.stderr.write("cleanup: %s: %s\n" % (d, e))
    del _running[:]
    for d in _tmpdirs:
        if KEEP:
            sys.stderr.write("# kept %s\n" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    del _tmpdirs[:]


atexit.register(_cleanup)


def _on_term(signum, frame):
    # tests/run's timeout: stop what we started, then die of the signal.
    _cleanup()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


signal.signal(signal.SIGTERM, _on_term)

# ------------------------------------------------------------------ LDAP


class LdapError(RuntimeError):
    pass


class Entry(dict):
    """attribute -> [values] (str, or bytes if not UTF-8), names looked up
    case-insensitively."""

    def __init__(self, dn):
        super().__init__()
        self.dn = dn

    def _k(self, name):
        for k in self.keys():
            if k.lower() == name.lower():
                return k
        return name

    def __getitem__(self, name):
        return super().__getitem__(self._k(name))

    def __contains__(self, name):
        return super().__contains__(self._k(name))

    def get(self, name, default=None):
        return super().get(self._k(name), default)

    def first(self, name, default=None):
        v = self.get(name)
        return v[0] if v else default


def parse_ldif(text):
    """Entries of ldapsearch -LLL output (unwrapped or wrapped)."""
    entries = []
    lines = []
    for raw in text.split("\n"):
        if raw.startswith(" ") and lines:
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    cur = None
    for line in lines + [""]:
        if not line:
            if cur is not None:
                entries.append(cur)
            cur = None
            continue
        if line.startswith("#"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(":"):
            b = base64.b64decode(value[1:].strip())
            try:
                value = b.decode("utf-8")
            except UnicodeDecodeError:
                value = b
        else:
            value = value[1:] if value.startswith(" ") else value
        if name == "dn" and cur is None:
            cur = Entry(value)
        elif cur is not None:
            cur.setdefault(name, []).append(value)
    return entries


class SearchResult(Result):
    """run() Result plus entries (list of Entry) and dns."""

    def __init__(self, r):
        super().__init__(r.argv, r.rc, r.outb, r.errb, r.secs, r.timed_out)
        self.entries = parse_ldif(self.out) if r.rc in (0, 4) else []
        self.dns = [e.dn for e in self.entries]


_IDENTITIES = {
    "admin": (ROOT_DN, ROOT_PW),
    "system": (SYSTEM_DN, SYSTEM_PW),
    "anonymous": None,
    None: None,
}


def _bind_args(bind):
    ident = _IDENTITIES[bind] if bind in _IDENTITIES else bind
    if ident is None:
        return ["-x"]
    return ["-x", "-D", ident[0], "-w", ident[1]]


class Slapd:
    """A throwaway slapd (scripts/test-slapd) for one test file.

        s = Slapd().start()          # the fixture loaded, on a free port
        s.uri, s.ldapi_uri, s.port, s.pid
        s.add(ldif), s.modify(ldif), s.delete(dn), s.search(...)
        s.stop(); s.start()          # same port, same data
        s.restart(); s.freeze(); s.thaw()

    ldifs: files loaded (slapadd) at the first start, default the fixture.
    schemas: more .schema files slapd includes (scripts/test-slapd
    --schema), at every start.
    ldaps=True: also an ldaps:// listener (s.ldaps_uri) with a test CA
    (s.ca_file); StartTLS works on s.uri.
    syncprov=True: an RFC 4533 provider (syncprov with a session log);
    provider=SLAPD: a consumer replicating that provider (syncrepl
    refreshAndPersist, as its rootdn; its own syncprov too), loaded with
    nothing (see sync_pair).
    """

    def __init__(self, dir=None, port=None, ldifs=None, ldaps=False,
                 debug=0, schemas=(), syncprov=False, provider=None):
        self.dir = dir or os.path.join(tmpdir("ldapmail-slapd-"), "slapd")
        self.port = port or free_port()
        self.ldaps_port = free_port() if ldaps else None
        if provider is not None:
            ldifs = [] if ldifs is None else ldifs
        self.ldifs = [fixture_path()] if ldifs is None else list(ldifs)
        self.debug = debug
        self.schemas = list(schemas)
        self.syncprov = syncprov or provider is not None
        self.provider = provider
        self.pid = None
        self._loaded = False

    @property
    def uri(self):
        return "ldap://127.0.0.1:%d/" % self.port

    @property
    def ldaps_uri(self):
        return "ldaps://127.0.0.1:%d/" % self.ldaps_port \
            if self.ldaps_port else None

    @property
    def ldapi_uri(self):
        return "ldapi://%s/" % os.path.join(self.dir, "ldapi").replace(
            "%", "%25").replace("/", "%2F").replace(" ", "%20").replace(
            ",", "%2C")

    @property
    def ca_file(self):
        return os.path.join(self.dir, "tls", "ca.pem")

    @property
    def conf(self):
        return os.path.join(self.dir, "slapd.conf")

    @property
    def log(self):
        return os.path.join(self.dir, "slapd.log")

    def start(self, ldifs=(), timeout=60):
        """Start (the first time: load self.ldifs); more LDIF files may be
        slapadd-ed before this start (timeout s for all that: benchmarks
        load millions of entries).  Returns self."""
        argv = [TEST_SLAPD, "start", self.dir, "--port", str(self.port),
                "--debug", str(self.debug)]
        if self.ldaps_port:
            argv += ["--ldaps-port", str(self.ldaps_port)]
        if self.provider is not None:
            argv += ["--consumer-of", self.provider.uri]
        elif self.syncprov:
            argv += ["--syncprov"]
        todo = list(ldifs) + ([] if self._loaded else self.ldifs)
        for f in self.schemas:
            argv += ["--schema", f]
        for f in todo:
            argv += ["--ldif", f]
        r = run(argv, timeout=timeout)
        if r.rc != 0:
            raise RuntimeError("test-slapd start failed: " + r.why())
        self._loaded = True
        with open(os.path.join(self.dir, "slapd.pid")) as f:
            self.pid = int(f.read().strip())
        if self not in _running:
            _running.append(self)
        return self

    def alive(self):
        return self.pid is not None and pid_alive(self.pid)

    def client_cert(self, cn, dir=None):
        """A client certificate for "CN=cn,O=ldapmail test" signed by the
        test CA (ldaps=True, after start): (cert, key) paths in dir (a new
        temp dir by default), the key mode 0600.  test-slapd maps
        cn=lookupd to the system DN for SASL EXTERNAL; other names are
        not mapped."""
        d = dir or tmpdir("ldapmail-cert-")
        key, csr, cert = (os.path.join(d, "%s.%s" % (cn, x))
                          for x in ("key", "csr", "pem"))
        tls = os.path.join(self.dir, "tls")
        for argv in (["openssl", "req", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
                      "/O=ldapmail test/CN=%s" % cn, "-keyout", key,
                      "-out", csr],
                     ["openssl", "x509", "-req", "-in", csr, "-CA",
                      os.path.join(tls, "ca.pem"), "-CAkey",
                      os.path.join(tls, "ca.key"), "-CAcreateserial",
                      "-CAserial", os.path.join(d, "ca.srl"), "-days", "2",
                      "-out", cert]):
            run(argv, timeout=30, check=True)
        os.chmod(key, 0o600)
        return cert, key

    def stop(self):
        """SIGTERM by PID (test-slapd stop), waits; the data stays."""
        if self.pid is None:
            return
        r = run([TEST_SLAPD, "stop", self.dir], timeout=30)
        if r.rc != 0:
            raise RuntimeError("test-slapd stop failed: " + r.why())
        wait_until(lambda: not pid_alive(self.pid), 5)
        self.pid = None
        if self in _running:
            _running.remove(self)

    def restart(self):
        self.stop()
        return self.start()

    def freeze(self):
        """SIGSTOP: slapd holds its connections and answers nothing.
        Returns once it is stopped."""
        os.kill(self.pid, signal.SIGSTOP)
        _wait_stopped(self.pid)

    def thaw(self):
        os.kill(self.pid, signal.SIGCONT)

    # --- client tools, as the rootdn unless told otherwise
    def _tool(self, prog, args, input=None, bind="admin", check=True,
              uri=None, timeout=60):
        argv = [prog, "-H", uri or self.uri, "-o", "nettimeout=5"] + \
            _bind_args(bind) + list(args)
        r = run(argv, input=input, timeout=timeout)
        if check and r.rc != 0:
            raise LdapError("%s failed: %s" % (prog, r.why()))
        return r

    def add(self, ldif_text, check=True, bind="admin"):
        return self._tool("ldapadd", [], input=ldif_text, check=check,
                          bind=bind)

    def modify(self, ldif_text, check=True, bind="admin"):
        return self._tool("ldapmodify", [], input=ldif_text, check=check,
                          bind=bind)

    def delete(self, dn, recursive=False, check=True, bind="admin"):
        return self._tool("ldapdelete", (["-r"] if recursive else []) +
                          [dn], check=check, bind=bind)

    def search(self, base=SUFFIX, filter="(objectClass=*)", attrs=(),
               scope="sub", bind="system", paged=None, extra=(),
               uri=None, timeout=60):
        """ldapsearch; bind: "system" (default), "admin", "anonymous" or
        (dn, password).  paged=N asks pages of N entries.  Returns a
        SearchResult (rc 4 = size limit exceeded, entries so far)."""
        args = ["-LLL", "-o", "ldif-wrap=no", "-b", base, "-s", scope]
        if paged:
            args += ["-E", "pr=%d/noprompt" % paged]
        args += list(extra) + [filter] + list(attrs)
        return SearchResult(self._tool("ldapsearch", args, bind=bind,
                                       check=False, uri=uri,
                                       timeout=timeout))

    def context_csn(self):
        """The contextCSN values of the suffix (sorted), read as the
        rootdn; [] when there is none (yet)."""
        r = self.search(SUFFIX, "(objectClass=*)", ["contextCSN"],
                        scope="base", bind="admin", timeout=10)
        if r.rc != 0 or not r.entries:
            return []
        return sorted(r.entries[0].get("contextCSN", []))

    def whoami(self, bind):
        """ldapwhoami: (rc, authzid)."""
        r = self._tool("ldapwhoami", [], bind=bind, check=False)
        return r.rc, r.out.strip()

    def __repr__(self):
        return "Slapd(%s, PID %s)" % (self.uri, self.pid)


PROFILES = ("ox", "apple", "jamm")
_profiles_slapd = []


def profiles_slapd():
    """One slapd per test program holding the example directory and the
    OX, Apple and Jamm fixtures (tests/fixtures/NAME.ldif) with their
    schemas (schema/NAME.schema, and nis.schema for Apple's posixAccount),
    started on first use."""
    if not _profiles_slapd:
        fix = os.path.join(SRC, "tests", "fixtures")
        sch = os.path.join(SRC, "schema")
        _profiles_slapd.append(Slapd(
            ldifs=[fixture_path()] + [os.path.join(fix, p + ".ldif")
                                      for p in PROFILES],
            schemas=["/etc/ldap/schema/nis.schema"] +
            [os.path.join(sch, p + ".schema") for p in PROFILES]).start())
    return _profiles_slapd[0]


def fixture_key_counts():
    """Keys per built-in map the example directory gives: its domains,
    and its receiving addresses (accounts active or shared) for alias and
    mailbox."""
    with open(fixture_path()) as f:
        entries = parse_ldif(f.read())
    domains, addrs = set(), set()
    for e in entries:
        domains.update(d.lower() for d in e.get("associatedDomain", []))
        if (e.first("accountStatus") or "").lower() in ("active", "shared"):
            addrs.update(a.lower() for a in e.get("mail", []) +
                         e.get("mailAlternateAddress", []))
    return {"domain": len(domains), "alias": len(addrs),
            "mailbox": len(addrs)}


def replicated(provider, consumer, timeout=10):
    """Wait until consumer holds what provider holds (same contextCSN);
    True if it does within timeout s."""
    def same():
        want = provider.context_csn()
        return bool(want) and consumer.context_csn() == want
    return bool(wait_until(same, timeout, 0.05))


def sync_pair(ldifs=None):
    """A provider (syncprov; ldifs loaded, default the fixture) and a
    consumer replicating it, both on loopback: (provider, consumer),
    returned once the consumer holds everything."""
    p = Slapd(ldifs=ldifs, syncprov=True).start()
    c = Slapd(provider=p).start()
    if not replicated(p, c, 30):
        raise RuntimeError("the consumer did not catch up with the "
                           "provider within 30 s: see %s" % c.log)
    return p, c


# --------------------------------------------------------------- Postfix

_pf_conf = []


def _postfix_config_dir():
    # postmap reads main.cf: give it a minimal one of our own, so the
    # system's Postfix configuration (or its absence) changes nothing.
    if not _pf_conf:
        d = tmpdir("ldapmail-pfconf-")
        with open(os.path.join(d, "main.cf"), "w") as f:
            f.write("compatibility_level = 3.6\n")
        _pf_conf.append(d)
    return _pf_conf[0]


def postmap(args, input=None, timeout=30, config_dir=None):
    """/usr/sbin/postmap -c <private config> ARGS: a Result."""
    return run(["/usr/sbin/postmap", "-c",
                config_dir or _postfix_config_dir()] + list(args),
               input=input, timeout=timeout)


def _chomp(s):
    return s[:-1] if s.endswith("\n") else s


def postmap_q(key, table, timeout=30, config_dir=None):
    """postmap -q KEY TABLE: (exit code, stdout less one trailing newline).
    Exit code: 0 found, 1 not found, other: error (None: timed out)."""
    r = postmap(["-q", key, table], timeout=timeout, config_dir=config_dir)
    if VERBOSE and r.err:
        note("postmap -q %r %s: %s" % (key, table, r.err.strip()))
    return r.rc, _chomp(r.out)


def postmap_batch(keys, table, timeout=60, config_dir=None):
    """postmap -q - TABLE with keys on stdin: (exit code, [(key, value)])
    for the keys found, in output order."""
    r = postmap(["-q", "-", table], input="".join(k + "\n" for k in keys),
                timeout=timeout, config_dir=config_dir)
    pairs = []
    for line in r.out.splitlines():
        k, _, v = line.partition("\t")
        pairs.append((k, v))
    return r.rc, pairs


# ------------------------------------------------------- raw protocols

def netstring(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return b"%d:%s," % (len(data), data)


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes"
                                  % (len(buf), n))
        buf += chunk
    return buf


def read_netstring(s, limit=100000 + 16):
    """One netstring from socket s; its payload.  ConnectionError on EOF,
    ValueError on a malformed one."""
    digits = b""
    while True:
        c = s.recv(1)
        if not c:
            raise ConnectionError("connection closed%s" % (
                " inside the length" if digits else ""))
        if c == b":":
            break
        if not c.isdigit() or len(digits) > 10:
            raise ValueError("bad netstring length %r" % (digits + c))
        digits += c
    if not digits:
        raise ValueError("empty netstring length")
    n = int(digits)
    if n > limit:
        raise ValueError("netstring of %d bytes" % n)
    payload = _recv_exact(s, n)
    if _recv_exact(s, 1) != b",":
        raise ValueError("netstring without its comma")
    return payload


class SocketmapClient:
    """A persistent socketmap connection, as Postfix keeps one.
    addr: "unix:PATH", "inet:HOST:PORT", a path or (host, port)."""

    def __init__(self, addr, timeout=5):
        self.sock = _connect(addr, timeout)

    def request(self, name, key):
        """Send "NAME KEY", return the reply payload (b"OK value"...)."""
        req = (name.encode() if isinstance(name, str) else name) + b" " + \
            (key.encode("utf-8") if isinstance(key, str) else key)
        self.sock.sendall(netstring(req))
        return read_netstring(self.sock)

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_reply(self):
        return read_netstring(self.sock)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def socketmap_request(addr, name, key, timeout=5):
    """One request on a new connection; the reply payload bytes."""
    with SocketmapClient(addr, timeout) as c:
        return c.request(name, key)


def tcp_encode(key):
    """%XX-encode a key as Postfix's tcp_table client does: %, white
    space and bytes outside printable ASCII."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    out = []
    for b in key:
        if b == 0x25 or b <= 0x20 or b >= 0x7f:
            out.append("%%%02X" % b)
        else:
            out.append(chr(b))
    return "".join(out).encode("ascii")


class TcpClient:
    """A persistent tcp_table connection."""

    def __init__(self, addr, timeout=5):
        self.sock = _connect(addr, timeout)
        self.buf = b""

    def request(self, key, encode=True):
        """Send "get KEY\\n" (KEY %XX-encoded unless encode=False);
        return the reply line without its LF (b"200 value"...)."""
        k = tcp_encode(key) if encode else (
            key.encode("utf-8") if isinstance(key, str) else key)
        self.sock.sendall(b"get " + k + b"\n")
        return self.read_line()

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_line(self, limit=65536):
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise ValueError("reply line over %d bytes" % limit)
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def tcp_request(addr, key, timeout=5, encode=True):
    """One tcp_table request on a new connection; the reply line bytes
    (without the LF)."""
    with TcpClient(addr, timeout) as c:
        return c.request(key, encode=encode)
