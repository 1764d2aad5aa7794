#!/usr/bin/env python3
"""bench/maildirmake.py: ldap-maildirmake against the howto's script.

A generated directory of N accounts (default 10,000) in a private slapd
(scripts/test-slapd, the shipped slapd.conf.example): 1% of them shared
entries (two postOfficeBox folders each) with 3 subscribers each, the rest
active accounts.  In one run, with one mail_base:

  script cold   bench/maildirmake-howto-script.sh (ldapsearch | grep | awk
                + Courier's maildirmake) on an empty mail_base (only
                shared/ and shared.maildirs/ made first, as the howto's
                set-up does: the script needs them);
  script warm   the same again, everything there;
  script [ -d ] the script with CHECK_FIRST=yes (a [ -d ] test before each
                maildirmake: a cheaper warm run than the original's);
  ours cold     maildirmake/ldap-maildirmake on an empty mail_base;
  ours warm     the same again.

The script binds as the rootdn (no size limit: it does not page, and with
slapd's limit of 500 it would build 500 maildirs and stop); ldap-maildirmake
binds as the system DN with paged results.  Both run as root; ldap-
maildirmake's mail_owner is nobody.  Times are wall-clock, the median of
--repeat runs for ldap-maildirmake (the script runs once each: it takes
tens of seconds).  Not a test: it prints figures and never fails on them.

With --lifecycle, every active account also has a mailQuotaSize and
ldap-maildirmake runs with default_folders = Sent Drafts Trash (issue 13:
quotas and three default folders), and the other side is
bench/maildirmake-lifecycle.sh: the howto's makeMailMessageStoreDirs as
published (../shared/reference/, unchanged: binds as the rootdn, given as
its SYSTEMLEAVE, since it does not page), then, in its style, for every
active account `maildirmake -f NAME` for each missing folder with its
INBOX.NAME line appended to courierimapsubscribed, and `maildirmake -q
NS` where maildirsize does not begin with that quota; warm, that loop
only runs shell builtins.  The record of ldap-maildirmake (state_dir) is
removed before each cold run with the tree.

With --compare DIR, a second ldap-maildirmake (DIR/maildirmake/, another
build: the commit before a change, say) is timed in the same run, cold
and warm alternating with ours on the same directory, and the ratio of
the medians is printed; --no-script leaves the script out.

  make && python3 bench/maildirmake.py [--accounts N] [--repeat R]
      [--bin DIR] [--compare DIR] [--no-script] [--keep]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
import ldapmail_test as t  # noqa: E402
import mdm_util as m       # noqa: E402

SCRIPT = os.path.join(SRC, "bench", "maildirmake-howto-script.sh")
LIFECYCLE = os.path.join(SRC, "bench", "maildirmake-lifecycle.sh")
REFERENCE = os.path.join(SRC, "..", "shared", "reference",
                         "makeMailMessageStoreDirs")
FOLDERS = "Sent Drafts Trash"
BASE_DN = "ou=Bench,o=company"


def with_quota(ldif, i):
    """An account entry with a mailQuotaSize (100..149 MB)."""
    return ldif.rstrip("\n") + "\nmailQuotaSize: %d\n\n" % (
        (100 + i % 50) * 1048576)


def directory(base, n, quotas=False):
    """LDIF: n accounts, 1% shared (3 subscribers each); quotas: every
    active account has a mailQuotaSize."""
    nshared = max(1, n // 100)
    out = m.ou("Bench")
    for s in range(nshared):
        out += m.account("Shared %04d" % s, BASE_DN, "incoming",
                         "%s/shared/s%04d/incoming/" % (base, s),
                         status="shared", mail="shared%04d@example.org" % s,
                         pob=["archive", "drafts.old"])
    for i in range(n - nshared):
        see = []
        if i < 3 * nshared:
            see = ["cn=Shared %04d,%s" % (i // 3, BASE_DN)]
        e = m.account("User %05d" % i, BASE_DN, "u%05d" % i,
                      "%s/d%02d/u%05d/Maildir/" % (base, i % 100, i),
                      see=see, mail="u%05d@example.org" % i)
        out += with_quota(e, i) if quotas else e
    return out, nshared


def timed(argv, env=None, cpu=None):
    """Wall-clock seconds and the exit status; the child's CPU seconds
    (user + system, from wait4) appended to the list cpu if given."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stderr.close()
    if cpu is not None:
        cpu.append(ru.ru_utime + ru.ru_stime)
    if p.returncode != 0:
        sys.stderr.write("# %s: exit %d: %s\n" % (
            os.path.basename(argv[0]), p.returncode,
            err.decode(errors="replace")[-300:]))
    return secs, p.returncode


def count(base):
    return sum(len(ds) + len(fs) for _, ds, fs in os.walk(base))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bin", default=SRC, help="dir with maildirmake/")
    ap.add_argument("--compare", metavar="DIR", help="dir with another "
                    "build's maildirmake/, timed side by side")
    ap.add_argument("--no-script", action="store_true")
    ap.add_argument("--lifecycle", action="store_true",
                    help="quotas and default folders, against the "
                    "howto's published script + Courier's maildirmake")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    prog = os.path.join(a.bin, "maildirmake", "ldap-maildirmake")
    progs = [("ours", prog)]
    if a.compare:
        progs.append(("other", os.path.join(a.compare, "maildirmake",
                                            "ldap-maildirmake")))
    for _, p in progs:
        if not os.access(p, os.X_OK):
            sys.exit("build first: make (%s missing)" % p)

    d = t.tmpdir("ldapmail-bench-")
    base = os.path.join(d, "vmail")
    ldif, nshared = directory(base, a.accounts, a.lifecycle)
    ldif_path = m.write(os.path.join(d, "bench.ldif"), ldif)
    s = t.Slapd(ldifs=[t.fixture_path(), ldif_path]).start()
    conf = m.config(s, d, base, BASE_DN, owner="nobody", extra=(
        "default_folders = %s\n" % FOLDERS if a.lifecycle else ""))
    env = dict(os.environ, LDAPURI=s.uri, BINDDN=t.ROOT_DN,
               BINDPW=t.ROOT_PW, BASE=BASE_DN, VMAIL=base)
    if a.lifecycle:
        if not os.access(REFERENCE, os.X_OK) and not a.no_script:
            sys.exit("%s: not found (../shared/reference)" % REFERENCE)
        env.update(SYSTEMPASS=t.ROOT_PW, SYSTEMLEAVE=t.ROOT_DN,
                   ACCOUNTLEAVE=BASE_DN, REFERENCE=REFERENCE,
                   FOLDERS=FOLDERS)
        env.pop("LDAPNOINIT", None)   # its server comes from LDAPURI

    olds = []

    def fresh(setup):
        # The old tree is moved aside, not removed: ext4 would make the
        # next run pay for skipping its freshly freed inodes.  Written
        # back before each cold run, removed at the end.
        if os.path.exists(base):
            old = "%s.old%d" % (base, len(olds))
            os.rename(base, old)
            olds.append(old)
        shutil.rmtree(m.state_dir(base), ignore_errors=True)
        os.mkdir(base)
        if setup:
            for x in ("shared", "shared.maildirs"):
                os.mkdir(os.path.join(base, x))
        os.sync()

    res = {}
    counts = {}
    scripts = () if a.no_script else (
        ("script", {}), ("script [ -d ]", {"CHECK_FIRST": "yes"}))
    if a.lifecycle and not a.no_script:
        scripts = (("reference", {}),)
    for name, extra in scripts:
        fresh(True)
        e = dict(env, **extra)
        prog_ = LIFECYCLE if a.lifecycle else SCRIPT
        res[name + " cold"], _ = timed([prog_], e)
        counts["script"] = count(base)
        res[name + " warm"], _ = timed([prog_], e)
    runs = {who: ([], []) for who, _ in progs}
    cpus = {who: ([], []) for who, _ in progs}
    for _ in range(a.repeat):
        for who, p in progs:
            fresh(False)
            runs[who][0].append(timed([p, "-c", conf, "-q"], None,
                                      cpus[who][0])[0])
            runs[who][1].append(timed([p, "-c", conf, "-q"], None,
                                      cpus[who][1])[0])
            counts[who] = count(base)
    cold, warm = runs["ours"]
    for who, _ in progs:
        res[who + " cold"] = statistics.median(runs[who][0])
        res[who + " warm"] = statistics.median(runs[who][1])
    s.stop()
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)

    print("ldap-maildirmake benchmark: %d accounts (%d shared, %d "
          "subscribers), %d CPUs%s" % (
              a.accounts, nshared, 3 * nshared, os.cpu_count() or 0,
              ", quotas and default_folders = " + FOLDERS if a.lifecycle
              else ""))
    if scripts:
        print("  names built: script %d, ldap-maildirmake %d%s" % (
            counts["script"], counts["ours"], "" if a.lifecycle else
            " (the script leaves subscribers out)"))
    keys = [n + w for n, _ in scripts for w in (" cold", " warm")]
    keys += [who + w for who, _ in progs for w in (" cold", " warm")]
    for k in keys:
        print("  %-20s %8.3f s" % (k, res[k]))
    for k, _ in scripts:
        print("  vs %-14s cold %5.1fx (target 20x)   warm %5.1fx (target "
              "50x)" % (k, res[k + " cold"] / res["ours cold"],
                        res[k + " warm"] / res["ours warm"]))
    for who, _ in progs:
        print("  %s, every run: cold %s  warm %s" % (
            who, " ".join("%.3f" % x for x in runs[who][0]),
            " ".join("%.3f" % x for x in runs[who][1])))
    for who, _ in progs:
        print("  %s, CPU (user+sys) medians: cold %.3f s  warm %.3f s" % (
            who, statistics.median(cpus[who][0]),
            statistics.median(cpus[who][1])))
    if a.compare:
        print("  names built: ours %d, other %d" % (counts["ours"],
                                                   counts["other"]))
        print("  other / ours (CPU medians): cold %.2f  warm %.2f" % (
            statistics.median(cpus["other"][0]) /
            statistics.median(cpus["ours"][0]),
            statistics.median(cpus["other"][1]) /
            statistics.median(cpus["ours"][1])))
        print("  other / ours (medians): cold %.2f  warm %.2f  (%s)" % (
            res["other cold"] / res["ours cold"],
            res["other warm"] / res["ours warm"], a.compare))
    if a.keep:
        print("  kept %s" % d)
        t.KEEP = True


if __name__ == "__main__":
    main()
