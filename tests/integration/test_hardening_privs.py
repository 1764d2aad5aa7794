#!/usr/bin/env python3
"""test_hardening_privs: privileges and secrets of lookupd and
ldap-maildirmake, with a real slapd.

- `lookupd sync` run as root with `user`/`group` set drops to them
  before it talks to LDAP (its /proc/PID/status read mid-run: every uid
  and gid, no supplementary group, no capability left), and its
  snapshot belongs to that user; `serve` likewise, in every thread;
- the bind password never shows: not in any log line or output of
  serve, sync, check, query --direct and ldap-maildirmake (-v), with a
  wrong password, with slapd down, restarted, with the password in the
  config file, nor in a TEMP reply; not in /proc/PID/cmdline or
  /proc/PID/environ (ps) of lookupd and ldap-maildirmake while they run;
  not in the messages about config lines that hold it;
- a bind_pw_file readable by others is refused (serve, check, sync,
  ldap-maildirmake: exit 2, FILE:LINE named), at SIGHUP (reload refused)
  and at each bind of a running daemon (TEMP, the old snapshot answers),
  unless bind_pw_file_readable = yes (then a warning); a symlink counts
  as its target; a FIFO is refused at once (never blocks);
- the UNIX socket's group and mode are socket_group/socket_mode: user
  postfix connects (a socketmap client and postmap -q), nobody cannot;
  with other values the other way round.
Runs as root.
"""
import grp
import os
import pwd
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402
import mdm_util as m                                        # noqa: E402

ALBERT = "ao@anotherdomain.nu"
ALBERT_MAIL = "albert.onestone@anotherdomain.nu"
WRONG_PW = "Wr0ng-Pw-6f1c9e"
S = {}


def setup_dir(name):
    d = os.path.join(S["dir"], name)
    os.makedirs(d)
    os.chmod(d, 0o755)
    return d


def write_pw(path, pw, mode=0o600, owner=None):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.write(fd, (pw + "\n").encode())
    os.close(fd)
    os.chmod(path, mode)
    if owner:
        os.chown(path, *owner)


proc_status = t.proc_status


def dropped(st, uid, gid):
    """[what is wrong] with a /proc status dict for uid/gid."""
    bad = []
    if st["Uid"].split() != [str(uid)] * 4:
        bad.append("Uid " + st["Uid"].strip())
    if st["Gid"].split() != [str(gid)] * 4:
        bad.append("Gid " + st["Gid"].strip())
    if st["Groups"].split() not in ([str(gid)], []):
        bad.append("Groups " + st["Groups"].strip())
    for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        if cap in st and int(st[cap], 16) != 0:
            bad.append("%s %s" % (cap, st[cap].strip()))
    return bad


def start_relay(delay_us):
    port = t.free_port()
    return (t.delay_relay(port, S["slapd"].port, delay_us, dir=S["dir"]),
            "ldap://127.0.0.1:%d/" % port)


@t.test
def setup():
    if os.geteuid() != 0:
        t.skip("setup", "needs root")
        sys.exit(0)
    S["dir"] = t.tmpdir("ldapmail-hp-")
    os.chmod(S["dir"], 0o755)
    S["slapd"] = t.Slapd().start()
    S["nobody"] = pwd.getpwnam("nobody").pw_uid
    S["nogroup"] = grp.getgrnam("nogroup").gr_gid
    S["postfix"] = pwd.getpwnam("postfix")


# ----------------------------------------------------- dropping root

@t.test
def sync_drops_privileges():
    nobody, nogroup = S["nobody"], S["nogroup"]
    relay, uri = start_relay(100000)          # slow: a sync of ~2 s
    d = setup_dir("sync")
    cfg = t.lookupd_config(S["slapd"], d, ldap_uri=uri, user="nobody",
                           group="nogroup")
    os.chown(os.path.join(d, "bindpw"), nobody, nogroup)
    conf = os.path.join(d, "ldapmail.conf")
    with open(conf, "w") as f:
        f.write(cfg)
    p = subprocess.Popen([t.LOOKUPD, "-c", conf, "sync"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = []

    def look():
        # Once it talks to LDAP (a socket to the relay), it must be
        # nobody; sample until it exits.
        try:
            st = proc_status(p.pid)
            fds = os.listdir("/proc/%d/fd" % p.pid)
        except OSError:
            return True
        if any(os.readlink("/proc/%d/fd/%s" % (p.pid, fd)).startswith(
                "socket:") for fd in fds if os.path.exists(
                "/proc/%d/fd/%s" % (p.pid, fd))):
            seen.append(st)
        return p.poll() is not None
    t.wait_until(look, 60, 0.01)
    out, err = p.communicate(timeout=60 * t.SLOW)
    relay.stop()
    t.eq(p.returncode, 0, "lookupd sync as root with user set: exit 0",
         err.decode()[-300:])
    t.ok(len(seen) > 3, "its status read while it talked to LDAP",
         "%d samples" % len(seen))
    bad = [b for st in seen for b in dropped(st, nobody, nogroup)]
    t.eq(bad, [], "sync: uid/gid nobody/nogroup, no other group, no "
         "capability, while it reads the directory")
    for name in ("domain", "alias", "mailbox"):
        st = os.stat(os.path.join(d, "cache", name + ".cdb"))
        t.eq((st.st_uid, st.st_gid), (nobody, nogroup),
             "sync: %s.cdb belongs to nobody:nogroup" % name)
    st = os.stat(os.path.join(d, "cache"))
    t.eq(st.st_uid, nobody, "sync: cache_dir handed to nobody")


@t.test
def serve_drops_privileges_in_every_thread():
    nobody, nogroup = S["nobody"], S["nogroup"]
    d = setup_dir("serve")
    cfg = t.lookupd_config(S["slapd"], d, user="nobody", group="nogroup")
    os.chown(os.path.join(d, "bindpw"), nobody, nogroup)
    lk = t.Lookupd(cfg, dir=d).start()
    t.eq(lk.query("alias", "live-one@mydomain.nl", timeout=15), b"NOTFOUND ",
         "serve: a live lookup works (workers bound)")
    # A short-lived thread (a snapshot commit) may end between the
    # listing and the read: those are left out of the count.
    tasks, bad = [], []
    for tid in os.listdir("/proc/%d/task" % lk.pid):
        try:
            st = proc_status(lk.pid, tid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        tasks.append(tid)
        if dropped(st, nobody, nogroup):
            bad.append((tid, dropped(st, nobody, nogroup)))
    t.ok(len(tasks) >= 6, "serve: loop, workers and builder threads",
         "%d threads" % len(tasks))
    t.eq(bad, [], "serve: every thread nobody/nogroup, no capability")
    t.eq(lk.stop(), 0, "serve: SIGTERM exit 0")


# ------------------------------------------------------ the password

def leaks(text, secrets):
    return [s for s in secrets if s in text]


@t.test
def password_never_logged():
    d = setup_dir("pw")
    slapd = S["slapd"]
    secrets = [t.SYSTEM_PW, WRONG_PW]
    cache = os.path.join(d, "cache")
    # A good snapshot first, then a wrong password.
    cfg = t.lookupd_config(slapd, d, refresh=2, min_refresh=1,
                           ldap_timeout=2, negative_ttl=0)
    lk = t.Lookupd(cfg, dir=d, args=["-v"]).start()
    t.ok(t.wait_until(lambda: os.path.exists(os.path.join(
        cache, "mailbox.cdb")), 10), "first snapshot")
    write_pw(os.path.join(d, "bindpw"), WRONG_PW)
    slapd.restart()                 # the sessions must bind again
    replies = []
    for i in range(5):
        replies.append(lk.query("mailbox", "x%d@mydomain.nl" % i,
                                timeout=15))
        time.sleep(0.3)
    t.ok(all(r.startswith(b"TEMP ") for r in replies),
         "wrong password: live lookups TEMP", replies)
    t.note("reply: %s" % replies[-1].decode())
    t.ok(t.wait_until(lambda: "Invalid credentials" in lk.errors() and
                      "snapshot rebuild failed" in lk.errors(), 10),
         "wrong password: the failed binds are logged", lk.errors()[-300:])
    # slapd down, then frozen, with the right password again.
    write_pw(os.path.join(d, "bindpw"), t.SYSTEM_PW)
    slapd.stop()
    replies.append(lk.query("mailbox", "down@mydomain.nl", timeout=15))
    time.sleep(2.5)                 # a failed build too
    slapd.start()
    t.ok(t.wait_until(lambda: lk.query("mailbox", "back@mydomain.nl") ==
                      b"NOTFOUND ", 10, 0.2), "slapd back: live lookups")
    t.eq(lk.stop(), 0, "daemon stopped")
    t.eq(leaks(b"".join(replies).decode(), secrets), [],
         "no password in any TEMP reply")
    t.eq(leaks(lk.errors() + lk.output(), secrets), [],
         "no password in %d log lines of serve -v" %
         len(lk.errors().splitlines()))

    # The commands, each with a wrong password, with slapd down, with the
    # password in the config file itself.
    outputs = []
    conf = lk.conf
    inline = os.path.join(d, "inline.conf")
    with open(inline, "w") as f:
        f.write(cfg.replace("bind_pw_file = %s" % os.path.join(d, "bindpw"),
                            "bind_pw = %s" % WRONG_PW))
    os.chmod(inline, 0o600)
    base = os.path.join(d, "vmail")
    os.makedirs(base)
    mconf = m.config(slapd, d, base)
    pwfile = os.path.join(d, "bindpw")

    def commands(c, mc):
        for argv in ([t.LOOKUPD, "-v", "-c", c, "sync"],
                     [t.LOOKUPD, "-v", "-c", c, "check"],
                     [t.LOOKUPD, "-c", c, "query", "--direct", "alias",
                      ALBERT],
                     [t.LOOKUPD, "-c", c, "lint"],
                     [t.MAILDIRMAKE, "-v", "-c", mc]):
            r = t.run(argv, timeout=60)
            outputs.append((" ".join(argv[1:]), r))

    write_pw(pwfile, WRONG_PW)
    commands(conf, mconf)
    commands(inline, mconf)
    wrong = [o for o in outputs]
    t.ok(all(r.rc != 0 for _, r in wrong),
         "wrong password: every command fails",
         [(a, r.rc) for a, r in wrong])
    write_pw(pwfile, t.SYSTEM_PW)
    slapd.stop()
    commands(conf, mconf)
    slapd.start()
    commands(conf, mconf)           # and working, for good measure
    found = [(a, leaks(r.out + r.err, secrets)) for a, r in outputs]
    t.eq([f for f in found if f[1]], [], "no password in the output of "
         "%d runs of sync, check, query --direct, lint, ldap-maildirmake"
         % len(outputs))
    t.note("e.g. check: %s" % [ln for a, r in outputs if "check" in a
                               for ln in r.out.splitlines()
                               if ln.startswith("ldap:")][0])

    # Config lines that hold a password, written wrong.
    for text in ("bind_pw %s\n" % WRONG_PW, "bind_pw = %s$x\n" % WRONG_PW,
                 "bind_pw = %s\nrefresh = $bind_pw\n" % WRONG_PW,
                 "bind_pw = ${%s\n" % WRONG_PW):
        bad = os.path.join(d, "bad.conf")
        with open(bad, "w") as f:
            f.write(cfg.replace("bind_pw_file = %s\n" % pwfile, text))
        os.chmod(bad, 0o600)
        r1 = t.run([t.LOOKUPD, "-c", bad, "check"])
        r2 = t.run([t.MAILDIRMAKE, "-c", bad])
        t.ok(r1.rc == 2 and r2.rc == 2 and not leaks(
            r1.out + r1.err + r2.out + r2.err, [WRONG_PW[1:]]),
            "config error on a password line %r: not quoted" % text.split(
                "\n")[0][:12], r1.why() + r2.why())


@t.test
def password_not_in_ps():
    d = setup_dir("ps")
    relay, uri = start_relay(300000)
    cfg = t.lookupd_config(S["slapd"], d)
    lk = t.Lookupd(cfg, dir=d).start()
    t.eq(lk.query("alias", "ps@mydomain.nl", timeout=15), b"NOTFOUND ",
         "serve bound (a live lookup)")
    base = os.path.join(d, "vmail")
    os.makedirs(base)
    mconf = m.config(S["slapd"], d, base, uri=uri)
    p = subprocess.Popen([t.MAILDIRMAKE, "-c", mconf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = {}

    def grab(name, pid):
        for what in ("cmdline", "environ"):
            try:
                with open("/proc/%d/%s" % (pid, what), "rb") as f:
                    seen["%s %s" % (name, what)] = f.read()
            except OSError:
                pass
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/comm" % (pid, tid), "rb") as f:
                    seen["%s comm %s" % (name, tid)] = f.read()
        except OSError:
            pass
    def talking():
        # Once it has a socket (to the relay), it has read the password.
        try:
            fds = ["/proc/%d/fd/%s" % (p.pid, fd)
                   for fd in os.listdir("/proc/%d/fd" % p.pid)]
            return p.poll() is not None or any(
                os.readlink(fd).startswith("socket:") for fd in fds)
        except OSError:
            return True
    t.wait_until(talking, 10, 0.01)
    time.sleep(0.2)
    alive = p.poll() is None
    grab("ldap-maildirmake", p.pid)
    grab("lookupd", lk.pid)
    err = p.communicate(timeout=60 * t.SLOW)[1].decode()
    relay.stop()
    t.ok(alive, "ldap-maildirmake looked at while it ran", err[-300:])
    t.ok(any(k.startswith("ldap-maildirmake cmdline") for k in seen) and
         any(k.startswith("lookupd environ") for k in seen),
         "cmdline and environ of both read", sorted(seen))
    pw = t.SYSTEM_PW.encode()
    t.eq([k for k, v in seen.items() if pw in v], [],
         "no password in cmdline, environ or thread names (%d read)" %
         len(seen))
    ps = t.run(["ps", "-eo", "args"])
    t.ok(t.SYSTEM_PW not in ps.out, "nor in ps output")
    lk.stop()


# ------------------------------------------ bind_pw_file readable by others

@t.test
def readable_pw_file_refused():
    d = setup_dir("ro")
    pwfile = os.path.join(d, "bindpw")
    cfg = t.lookupd_config(S["slapd"], d, refresh=3600, min_refresh=1)
    line = [i + 1 for i, ln in enumerate(cfg.splitlines())
            if ln.startswith("bind_pw_file")][0]
    lk = t.Lookupd(cfg, dir=d)
    where = "%s:%d: bind_pw_file %s" % (lk.conf, line, pwfile)
    os.chmod(pwfile, 0o644)
    r = t.run([t.LOOKUPD, "-c", lk.conf, "serve", "-f"], timeout=20)
    t.ok(r.rc == 2 and where + " is readable by others (mode 0644): "
         "refused" in r.err, "serve refuses to start, naming FILE:LINE",
         r.why())
    for argv in (["check"], ["sync"], ["query", "--direct", "alias", ALBERT]):
        r = t.run([t.LOOKUPD, "-c", lk.conf] + argv)
        t.ok(r.rc == 2 and where in r.err and "refused" in r.err,
             "lookupd %s refuses it too" % argv[0], r.why())
    base = os.path.join(d, "vmail")
    os.makedirs(base)
    mconf = m.config(S["slapd"], d, base)
    r = m.run(mconf)
    t.ok(r.rc == 2 and "is readable by others (mode 0644): refused" in r.err,
         "ldap-maildirmake refuses it", r.why())

    # Explicitly allowed: a warning, and it works.
    lk.set_config(cfg + "bind_pw_file_readable = yes\n")
    lk.start()
    t.ok(where + " is readable by others (mode 0644)" in lk.errors(),
         "allowed: a warning at start naming FILE:LINE", lk.errors()[-400:])
    t.eq(lk.query("mailbox", "allowed@mydomain.nl", timeout=15),
         b"NOTFOUND ", "allowed: the daemon binds and answers live")
    lk.stop()

    # A running daemon whose file becomes readable.
    os.chmod(pwfile, 0o600)
    lk.set_config(cfg)
    lk.start()
    t.ok(t.wait_until(lambda: os.path.exists(os.path.join(
        d, "cache", "alias.cdb")), 10), "private again: the daemon runs")
    os.chmod(pwfile, 0o640 | 0o004)
    lk.reload()
    t.ok(t.wait_until(lambda: "reload refused" in lk.errors() and
                      where in lk.errors(), 5),
         "SIGHUP: reload refused, naming FILE:LINE", lk.errors()[-400:])
    S["slapd"].restart()            # the sessions must bind again
    r = lk.query("mailbox", "rebind@mydomain.nl", timeout=15)
    t.ok(r.startswith(b"TEMP ") and b"readable by others" in r,
         "at the next bind: refused, TEMP", r)
    t.eq(lk.query("alias", ALBERT), b"OK " + ALBERT_MAIL.encode(),
         "the snapshot answers on")
    os.chmod(pwfile, 0o640)
    t.ok(t.wait_until(lambda: lk.query("mailbox", "rebind@mydomain.nl") ==
                      b"NOTFOUND ", 10, 0.3),
         "fixed: binds again without a reload")
    t.eq(lk.stop(), 0, "exit 0")

    # A symlink is its target; a FIFO is refused at once.
    link = os.path.join(d, "pw.link")
    os.symlink(pwfile, link)
    with open(lk.conf, "w") as f:
        f.write(cfg.replace(pwfile, link))
    r = t.run([t.LOOKUPD, "-c", lk.conf, "query", "--direct", "alias",
               ALBERT])
    t.eq((r.rc, r.out), (0, ALBERT_MAIL + "\n"),
         "symlink to a 0640 file: used", r.why())
    os.chmod(pwfile, 0o644)
    r = t.run([t.LOOKUPD, "-c", lk.conf, "check"])
    t.ok(r.rc == 2 and "refused" in r.err,
         "symlink to a 0644 file: refused", r.why())
    fifo = os.path.join(d, "pw.fifo")
    os.mkfifo(fifo, 0o600)
    with open(lk.conf, "w") as f:
        f.write(cfg.replace(pwfile, fifo))
    r = t.run([t.LOOKUPD, "-c", lk.conf, "check"], timeout=10)
    t.ok(r.rc == 2 and "not a regular file" in r.err,
         "a FIFO: refused at once", r.why())


# ------------------------------------------------------------ the socket

CLIENT = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("EACCES")
    sys.exit(3)
req = ("alias " + sys.argv[2]).encode()
s.sendall(b"%d:%s," % (len(req), req))
print(s.recv(1000).decode())
"""


def as_user(user, group, argv):
    return t.run(["setpriv", "--reuid=" + user, "--regid=" + group,
                  "--clear-groups", "--"] + argv, timeout=30)


@t.test
def socket_group_and_mode():
    postfix = S["postfix"]
    pfgroup = grp.getgrgid(postfix.pw_gid).gr_name
    d = setup_dir("sock")
    pfconf = os.path.join(d, "postfix")
    os.makedirs(pfconf)
    os.chmod(pfconf, 0o755)
    with open(os.path.join(pfconf, "main.cf"), "w") as f:
        f.write("compatibility_level = 3.6\n")
    os.chmod(os.path.join(pfconf, "main.cf"), 0o644)
    cases = [
        # socket_group, socket_mode: who may connect
        (pfgroup, "0660", {"postfix": True, "nobody": False}),
        ("nogroup", "0660", {"postfix": False, "nobody": True}),
        (pfgroup, "0666", {"postfix": True, "nobody": True}),
    ]
    want = "OK " + ALBERT_MAIL
    for group, mode, may in cases:
        cfg = t.lookupd_config(S["slapd"], d, user="nobody",
                               group="nogroup", socket_group=group,
                               socket_mode=mode)
        os.chown(os.path.join(d, "bindpw"), S["nobody"], S["nogroup"])
        lk = t.Lookupd(cfg, dir=d, name="lookupd-" + group).start()
        sock = lk.socket[5:]
        st = os.stat(sock)
        t.eq((oct(st.st_mode & 0o7777), grp.getgrgid(st.st_gid).gr_name),
             (oct(int(mode, 8)), group),
             "socket_group %s, socket_mode %s: the socket's" % (group, mode))
        for user, ugroup in (("postfix", pfgroup), ("nobody", "nogroup")):
            r = as_user(user, ugroup, ["python3", "-c", CLIENT, sock,
                                       ALBERT])
            got = r.out.strip()
            if may[user]:
                t.eq(got, t.netstring(want).decode(), "%s/%s: user %s "
                     "connects and is answered" % (group, mode, user),
                     r.why())
            else:
                t.eq((r.rc, got), (3, "EACCES"), "%s/%s: user %s cannot "
                     "connect" % (group, mode, user), r.why())
        r = as_user("postfix", pfgroup, [
            "/usr/sbin/postmap", "-c", pfconf, "-q", ALBERT,
            "socketmap:unix:%s:alias" % sock])
        if may["postfix"]:
            t.eq((r.rc, r.out.strip()), (0, ALBERT_MAIL),
                 "%s/%s: postmap -q as postfix" % (group, mode), r.why())
        else:
            t.ok(r.rc != 0 and r.out == "", "%s/%s: postmap -q as postfix "
                 "fails" % (group, mode), r.why())
        t.eq(lk.stop(), 0, "%s/%s: exit 0" % (group, mode))


if __name__ == "__main__":
    t.main()
