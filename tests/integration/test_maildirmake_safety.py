#!/usr/bin/env python3
"""test_maildirmake_safety: ldap-maildirmake runs as root over paths anyone
with write access to the directory chooses.

- bad entries: a mailMessageStore outside mail_base, one with "..", one
  through a pre-planted symlink to outside, one that is itself a planted
  symlink, a shared entry whose postOfficeBox is "../../x", a shared entry
  whose delivery-link parent is a planted symlink, a planted
  shared-maildirs symlink, a planted FIFO: nothing is created or changed
  outside mail_base (nor through any symlink), each bad entry is named
  with its DN on stderr, every good entry is built, exit 1; an entry left
  out is left out whole (nothing of it is made);
- ownership: run as root with mail_owner an unprivileged user, every
  directory, file and link made belongs to that user and group; run as
  that user (setpriv), the same tree; run as anyone else: exit 2;
- kill -9 at random moments of a run, then a run to the end: every
  object present after a kill is whole, and the final tree is the tree of
  an uninterrupted run with no temporary left;
- a symlink swapped in between the two passes (the run held by strace
  right after it put a maildir's parent in place, the parent replaced by
  a symlink to outside): the second pass does not follow it, nothing is
  made outside, the entry is reported (exit 1).
Runs as root.
"""
import os
import random
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
import mdm_util as m       # noqa: E402

D = t.tmpdir("ldapmail-mdms-")
os.chmod(D, 0o755)
BASE = os.path.join(D, "vmail")
OUT = os.path.join(D, "outside")       # must stay as it is
BAD = "ou=Bad,o=company"
KILL = "ou=Kill,o=company"
_slapd = []


def bad_ldif():
    good_s = "cn=Good Shared,%s" % BAD
    out = m.ou("Bad")
    out += m.account("Outside", BAD, "outside", OUT + "/evil/Maildir/")
    out += m.account("Dot Dot", BAD, "dotdot",
                     BASE + "/../outside/dotdot/Maildir/")
    out += m.account("Through Planted", BAD, "planted",
                     BASE + "/planted/victim/Maildir/")
    out += m.account("Planted Maildir", BAD, "linkmd", BASE + "/linkmd/")
    out += m.account("Planted Shared Maildirs", BAD, "plsm",
                     BASE + "/plsm/Maildir/", see=[good_s])
    out += m.account("Fifo Maildirs", BAD, "fifo", BASE + "/fifo/Maildir/",
                     see=[good_s])
    out += m.account("Bad Box", BAD, "in",
                     BASE + "/shared/badbox/in/", status="shared",
                     pob=["fine", "../../x"], mail="badbox@example.org")
    out += m.account("Planted Link Dir", BAD, "in",
                     BASE + "/shared/plantedlink/in/", status="shared",
                     mail="plantedlink@example.org")
    out += m.account("Subscriber Of Bad", BAD, "subbad",
                     BASE + "/subbad/Maildir/",
                     see=["cn=Planted Link Dir,%s" % BAD])
    out += m.account("Good One", BAD, "good1", BASE + "/good1/Maildir/",
                     see=[good_s])
    out += m.account("Good Two", BAD, "good2", BASE + "/good2/Maildir/")
    out += m.account("Good Shared", BAD, "incoming",
                     BASE + "/shared/good/incoming/", status="shared",
                     pob=["archive"], mail="goodshared@example.org")
    return out


def slapd():
    if not _slapd:
        ldif = m.write(os.path.join(D, "data.ldif"),
                       m.rewrite_fixture(BASE).rstrip("\n") + "\n\n" +
                       bad_ldif() + m.hard_ldif(BASE) +
                       m.big_ldif(BASE, 400, KILL, "k"))
        _slapd.append(t.Slapd(ldifs=[ldif]).start())
    return _slapd[0]


def conf(account_base, **kw):
    return m.config(slapd(), D, BASE, account_base, **kw)


def plant():
    """A fresh mail_base with the traps, and OUT with its contents."""
    m.clear(BASE)
    m.clear(OUT)
    m.write(os.path.join(OUT, "precious"), "do not touch\n", 0o600)
    os.mkdir(os.path.join(OUT, "md"), 0o700)
    os.symlink(OUT, os.path.join(BASE, "planted"))
    os.symlink(os.path.join(OUT, "md"), os.path.join(BASE, "linkmd"))
    os.mkdir(os.path.join(BASE, "shared"), 0o755)
    os.symlink(OUT, os.path.join(BASE, "shared", "plantedlink"))
    for who in ("plsm", "fifo"):
        os.makedirs(os.path.join(BASE, who, "Maildir", "tmp"))
        os.mkdir(os.path.join(BASE, who, "Maildir", "new"))
        os.mkdir(os.path.join(BASE, who, "Maildir", "cur"))
    os.symlink(os.path.join(OUT, "precious"),
               os.path.join(BASE, "plsm", "Maildir", "shared-maildirs"))
    os.mkfifo(os.path.join(BASE, "fifo", "Maildir", "shared-maildirs"))


@t.test
def bad_entries_refused_good_ones_built():
    plant()
    c = conf(BAD)
    out_before = m.snapshot(OUT, owners=True, times=True, skip=())
    d_before = sorted(os.listdir(D))
    r = m.run(c, timeout=60)
    t.note(r.err)
    t.eq(r.rc, 1, "some entries failed: exit 1", r.why())
    t.ok(not r.timed_out, "a planted FIFO does not hang the run")
    out_after = m.snapshot(OUT, owners=True, times=True, skip=())
    t.ok(out_after == out_before, "nothing created or changed outside "
         "mail_base", lambda: m.diff(out_after, out_before))
    t.eq(sorted(os.listdir(D)), d_before, "nothing new next to mail_base")
    for dn in ("Outside", "Dot Dot", "Through Planted", "Planted Maildir",
               "Planted Shared Maildirs", "Fifo Maildirs", "Bad Box",
               "Planted Link Dir", "Subscriber Of Bad"):
        full = "cn=%s,%s" % (dn, BAD)
        t.ok(full in r.err, "stderr names %s" % full, r.err[-800:])
    for dn in ("Good One", "Good Two", "Good Shared"):
        t.ok("cn=%s," % dn not in r.err, "no complaint about %s" % dn)
    for d in ("good1/Maildir/cur", "good2/Maildir/new",
              "shared.maildirs/good/.incoming/tmp",
              "shared.maildirs/good/.archive/maildirfolder",
              "subbad/Maildir/cur"):
        t.ok(os.path.lexists(os.path.join(BASE, d)), "good part built: "
             "%s" % d)
    t.eq(os.readlink(os.path.join(BASE, "shared", "good", "incoming")),
         BASE + "/shared.maildirs/good/.incoming", "good delivery link")
    with open(os.path.join(BASE, "good1", "Maildir", "shared-maildirs"),
              "rb") as f:
        t.eq(f.read(), b"Good_Shared\t" + os.fsencode(BASE) +
             b"/shared.maildirs/good\n", "good subscriber's line")
    # Skipped whole: nothing of the bad shared entries was made.
    for p in ("shared.maildirs/badbox", "shared/badbox",
              "shared.maildirs/plantedlink", "subbad/Maildir/"
              "shared-maildirs"):
        t.ok(not os.path.lexists(os.path.join(BASE, p)),
             "nothing of a refused entry: %s" % p)
    t.eq(os.path.islink(os.path.join(BASE, "plsm", "Maildir",
                                     "shared-maildirs")), True,
         "planted shared-maildirs symlink left alone")
    t.ok("shared-maildirs is not a regular file" in r.err or
         "is a symlink" in r.err, "planted shared-maildirs reported",
         r.err[-600:])
    # The run after is the same refusal, no more and no less.
    before = m.snapshot(BASE, owners=True, times=True, skip=())
    r2 = m.run(conf(BAD), timeout=60)
    after = m.snapshot(BASE, owners=True, times=True, skip=())
    t.eq(r2.rc, 1, "second run: exit 1 again")
    t.ok(after == before, "second run over the traps changes nothing",
         lambda: m.diff(after, before))


@t.test
def pre_planted_symlinks_in_the_layout():
    """Symlinks where Courier's tmp/new/cur or a folder belong."""
    m.clear(BASE)
    m.clear(OUT)
    c = conf(t.ACCOUNT_BASE)
    t.eq(m.run(c, "-q").rc, 0, "first run")
    md = os.path.join(BASE, "albert.onestone", "Maildir")
    os.rmdir(os.path.join(md, "tmp"))
    os.symlink(OUT, os.path.join(md, "tmp"))
    fold = os.path.join(BASE, "shared.maildirs", "timetravel.weekly",
                        ".future.editions")
    for sub in ("tmp", "new", "cur"):
        os.rmdir(os.path.join(fold, sub))
    os.unlink(os.path.join(fold, "maildirfolder"))
    os.rmdir(fold)
    os.symlink(OUT, fold)
    link = os.path.join(BASE, "shared", "timetravel.weekly", "incoming")
    os.unlink(link)
    os.symlink(OUT, link)
    r = m.run(c)
    t.eq(r.rc, 1, "planted symlinks: exit 1", r.why())
    t.eq(os.listdir(OUT), [], "nothing made through them")
    t.ok("cn=Albert Onestone" in r.err and "cn=Timetravel weekly" in r.err,
         "both entries named", r.err)
    t.eq(os.readlink(link), OUT, "a wrong delivery link is left alone")


@t.test
def something_else_where_the_delivery_link_belongs():
    """A link elsewhere, a directory or a file where the delivery link
    belongs: left alone and named with its entry, in a real and in a
    dry run."""
    link = os.path.join(BASE, "shared", "timetravel.weekly", "incoming")
    c = conf(t.ACCOUNT_BASE)
    for what, plant, want in (
            ("a link elsewhere", lambda: os.symlink(OUT, link),
             "%s is a link to %s, not to " % (link, OUT)),
            ("directory", lambda: os.mkdir(link),
             "%s is a directory, not the link to " % link),
            ("file", lambda: open(link, "w").close(),
             "%s exists and is not the link to " % link)):
        m.clear(BASE)
        m.clear(OUT)
        t.eq(m.run(c, "-q").rc, 0, "%s: first run" % what)
        os.unlink(link)
        plant()
        for args in ((), ("-n",)):
            r = m.run(c, *args)
            t.eq(r.rc, 1, "%s in place of the link %s: exit 1" % (
                what, " ".join(args)), r.why())
            t.ok(want in r.err and "cn=Timetravel weekly" in r.err,
                 "%s %s: named with its entry" % (what, " ".join(args)),
                 r.err)
        t.ok(os.readlink(link) == OUT if os.path.islink(link) else
             what != "a link elsewhere" and os.path.exists(link),
             "%s: left alone" % what)


# ------------------------------------------------------------- ownership

def owners_of(root):
    return {(st.st_uid, st.st_gid) for st in
            (os.lstat(os.path.join(d, n)) for d, ds, fs in os.walk(root)
             for n in ds + fs)}


@t.test
def root_run_gives_everything_to_mail_owner():
    uid, gid = m.default_owner()
    t.note("mail_owner: %s (%d:%d)" % (m.user_name(uid), uid, gid))
    t.ok(uid != 0 and gid != 0, "mail_owner is not root")
    m.clear(BASE)
    c = conf(m.HARD, owner=m.user_name(uid))
    r = m.run(c)
    t.eq(r.rc, 0, "root run, mail_owner by name", r.why())
    t.eq(owners_of(BASE), {(uid, gid)}, "every directory, file and link "
         "belongs to mail_owner (links included)")
    links = [os.path.join(d, n) for d, ds, fs in os.walk(BASE)
             for n in fs + ds if os.path.islink(os.path.join(d, n))]
    t.ok(links and all(os.lstat(p).st_uid == uid for p in links),
         "delivery links are mail_owner's")


@t.test
def run_as_mail_owner_gives_the_same_tree():
    uid, gid = m.default_owner()
    m.clear(BASE)
    c = conf(m.HARD, owner="%d:%d" % (uid, gid))
    t.eq(m.run(c, "-q").rc, 0, "root run")
    want = m.snapshot(BASE, owners=True)
    m.clear(BASE)
    os.chown(BASE, uid, gid)
    os.chown(os.path.join(D, "bindpw"), uid, gid)
    r = m.run(c, as_user=(uid, gid))
    t.eq(r.rc, 0, "run as mail_owner", r.why())
    got = m.snapshot(BASE, owners=True)
    t.ok(got == want, "same tree, modes and owners as the root run",
         lambda: m.diff(got, want))
    r2 = m.run(c, as_user=(uid, gid))
    t.ok(r2.rc == 0 and r2.out.strip().endswith("no changes"),
         "second run as mail_owner: no changes", r2.why())
    # Someone else: refused before anything happens.
    other = (uid + 1, gid + 1)
    r3 = m.run(c, as_user=other)
    t.ok(r3.rc == 2 and "run as root or as mail_owner" in r3.err,
         "run as another user: exit 2", r3.why())
    os.chown(os.path.join(D, "bindpw"), 0, 0)
    for path, text in m.san_reports():
        t.ok(False, "sanitizer report of a run as mail_owner: %s" % path,
             text[:500])


# --------------------------------------------------------------- kill -9

def whole(root):
    """Every maildir-like directory present is whole: [problems]."""
    bad = []
    for d, ds, fs in os.walk(root):
        names = set(ds) | set(fs)
        if os.path.basename(d).startswith(m.TMP_PREFIX):
            continue
        subs = names & {"tmp", "new", "cur"}
        if subs and subs != {"tmp", "new", "cur"}:
            bad.append("%s has only %s" % (d, sorted(subs)))
        if os.path.basename(d).startswith(".") and "shared.maildirs" in d \
                and "maildirfolder" not in names:
            bad.append("%s lacks maildirfolder" % d)
        for n in names:
            p = os.path.join(d, n)
            if n == "shared-maildirs" and not os.path.islink(p):
                with open(p, "rb") as f:
                    data = f.read()
                if data and not data.endswith(b"\n"):
                    bad.append("%s ends in a cut line" % p)
    return bad


@t.test
def kill_9_at_random_points_then_complete():
    c_kill, c_hard = conf(KILL), conf(m.HARD)
    # What an uninterrupted run builds, and how long it takes.
    m.clear(BASE)
    t0 = time.monotonic()
    t.eq(m.run(c_kill, "-q").rc, 0, "clean run (ou=Kill)")
    t.eq(m.run(c_hard, "-q").rc, 0, "clean run (ou=Hard)")
    full = time.monotonic() - t0
    want = m.snapshot(BASE, owners=True)
    rnd = random.Random(int(os.environ.get("LDAPMAIL_SEED", "0")) or None)
    m.clear(BASE)
    kills = 0
    problems = []
    # A SIGKILL that lands while LeakSanitizer checks at exit leaves its
    # helper complaining it lost the process: no leak check in runs that
    # are meant to be killed (the runs to the end keep it).
    env = dict(os.environ)
    if env.get("ASAN_OPTIONS"):
        env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"].replace(
            "detect_leaks=1", "detect_leaks=0") + ":detect_leaks=0"
    for i in range(20):
        c = c_kill if i % 3 else c_hard
        p = subprocess.Popen([t.MAILDIRMAKE, "-c", c, "-q"],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=env)
        time.sleep(rnd.uniform(0, full * 0.4))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
        problems += whole(BASE)
    t.note("%d of 20 runs killed by SIGKILL (a clean pair takes %.2f s)" %
           (kills, full))
    t.ok(kills > 0, "at least one run was killed mid-way")
    t.eq(problems, [], "after each kill every object present is whole")
    r1, r2 = m.run(c_kill), m.run(c_hard)
    t.ok(r1.rc == 0 and r2.rc == 0, "runs to the end after the kills",
         r1.why() + r2.why())
    got = m.snapshot(BASE, owners=True)
    t.ok(got == want, "final tree equals an uninterrupted run's",
         lambda: m.diff(got, want))
    t.eq(m.leftovers(BASE), [], "no temporary name left")



RACE = "ou=Race,o=company"


def tracee(parent):
    """The one child process of parent (strace), or None."""
    try:
        with open("/proc/%d/task/%d/children" % (parent, parent)) as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        return None
    return kids[0] if len(kids) == 1 else None


@t.test
def symlink_swapped_in_between_the_passes():
    # The first pass looks, the second makes, reaching every directory
    # from mail_base one component at a time with O_NOFOLLOW.  strace
    # stops the run (SIGSTOP) when its first rename has put the parent
    # directory of the maildir in place; that parent is then replaced by
    # a symlink to OUT before the run goes on to make the maildir in it.
    import shutil
    import signal
    import subprocess
    if shutil.which("strace") is None:
        t.skip("symlink swapped in", "strace is not installed "
               "(scripts/deps installs it)")
        return
    s = slapd()
    if not s.search(RACE, "(objectClass=*)", ["dn"], scope="base").entries:
        s.add(m.ou("Race") + m.account("Victim", RACE, "victim",
                                       BASE + "/victim/Maildir/"))
    m.clear(BASE)
    m.clear(OUT)
    for d in ("shared", "shared.maildirs"):      # made: no rename of them
        os.mkdir(os.path.join(BASE, d), 0o755)
    env = dict(os.environ)
    env.update(t.traced_env())
    rn = "rename,renameat,renameat2"
    log = os.path.join(D, "race.strace")
    t.write(log, "")
    p = subprocess.Popen(
        ["strace", "-f", "-qq", "-o", log, "-e", "trace=" + rn,
         "-e", "inject=%s:signal=SIGSTOP:when=1" % rn, t.MAILDIRMAKE,
         "-c", conf(RACE)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env)
    try:
        # strace says so once the run is held (not at its first stop,
        # the one before exec).
        pid = t.wait_until(lambda: tracee(p.pid) if "stopped by SIGSTOP"
                           in open(log).read() else None, 30)
        victim = os.path.join(BASE, "victim")
        t.ok(pid and os.path.isdir(victim) and not os.path.islink(victim)
             and not os.path.exists(os.path.join(victim, "Maildir")),
             "held after its first rename: the parent is in place, the "
             "maildir not yet", os.listdir(BASE))
        os.rename(victim, victim + ".real")
        os.symlink(OUT, victim)
    finally:
        # strace counts each syscall apart: the run is held again at its
        # first renameat (the record in state_dir, after the passes).
        end = time.monotonic() + 60 * t.SLOW
        while p.poll() is None and time.monotonic() < end:
            pid = tracee(p.pid)
            if pid:
                os.kill(pid, signal.SIGCONT)
            time.sleep(0.05)
        try:
            out, err = p.communicate(timeout=60 * t.SLOW)
        except subprocess.TimeoutExpired:
            for who in (tracee(p.pid), p.pid):
                if who:
                    os.kill(who, signal.SIGKILL)
            out, err = p.communicate()
    err = err.decode("utf-8", "replace")
    t.eq(os.listdir(OUT), [], "nothing made through the symlink")
    t.ok(p.returncode == 1 and "cn=Victim" in err and "symlink" in err,
         "the entry is reported, exit 1", "exit %s: %s" % (p.returncode,
                                                          err[-400:]))
    t.eq(os.readlink(os.path.join(BASE, "victim")), OUT,
         "the symlink is left as it is")


if __name__ == "__main__":
    t.main()
