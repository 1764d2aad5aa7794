#!/usr/bin/env python3
"""bench/sync.py: the RFC 4533 stream (common/ldapsync) against slapd's
own replication and against a plain read, side by side in one run (never
pass/fail).

    bench/sync.py [--users 100000] [--changes 300] [--rounds 3]
                  [--big 0] [--no-latency] [--no-consumer] [--full-only]
                  [--log FILE]

A provider (syncprov) loaded with --users accounts (bench/lookupd.py's
generator) and a consumer replicating it (scripts/test-slapd), on
loopback.
1. Initial read of every account (mail, mailAlternateAddress,
   mailMessageStore of the accounts filter), after one uncounted read
   (the page cache), rounds interleaved, medians:
     ldapsearch  rootdn, unpaged, to /dev/null (no limits, no ACLs)
     paged       system DN, paged 500 (what `lookupd sync` reads today)
     sync-ro     rootdn, ldapsearch -E sync=ro (slapd's refresh alone)
     stream      common/ldapsync as the system DN until its refresh ends
                 (tests/tools/sync-probe, entries decoded, not printed)
     sync        `lookupd sync` (the whole snapshot, 3 maps, for scale)
   from the consumer; with --big N the same against a provider of N
   accounts (no consumer).
2. lookupd with sync = persist against the consumer: the time its
   first full refresh (over the sync stream, 3 maps written) takes until
   it answers, beside the unpaged ldapsearch of step 1.
3. Latency of --changes modifies made on the provider (bench/sync-latency:
   one at a time, 20-40 ms apart): until the consumer replica holds the
   change (slapd's replication: the anchor), until the stream from the
   consumer delivers it, until the stream from the provider does, until
   that lookupd answers it over socketmap, until its mailbox.cdb has it;
   p50/p90/p99/max.  Then lookupd's RssAnon beside the size of its cdb
   files.

--full-only: only the unpaged ldapsearch, the stream and lookupd's first
full refresh, interleaved in each of --rounds rounds (medians), no
latency run: the 1M full-snapshot target alone,
    nice python3 bench/sync.py --users 1000000 --rounds 2 --no-consumer \
        --full-only

--no-consumer: no consumer (a syncrepl refresh of 1,000,000 entries
takes many minutes here): the reads, lookupd and the latency run against
the provider, which is then also the "replica" of step 3.  The 1M run:
    nice python3 bench/sync.py --users 1000000 --changes 200 --rounds 1 \
        --no-consumer

--log FILE: lookupd runs with -v and its log is copied to FILE at the
end (each commit's phases: snapshot ... and persist ... debug lines).

Needs the release build (`make && make bench-tools`) and slapd.
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
sys.path.insert(0, HERE)
import ldapmail_test as t                                   # noqa: E402
from lookupd import gen_ldif, FILTER                        # noqa: E402

BENCH_BIN = os.path.join(t.SRC, "build", "rel", "bench")
PROBE = t.tool("sync-probe")
ATTRS = ["mail", "mailAlternateAddress", "mailMessageStore"]
BASE = t.ACCOUNT_BASE


def say(msg):
    print(msg, flush=True)


def config(d, name, slapd):
    pw = os.path.join(d, "pw")
    t.write(pw, t.SYSTEM_PW + "\n", 0o600)
    path = os.path.join(d, name + ".conf")
    t.write(path, "\n".join([
        "ldap_uri = " + slapd.uri, "ldap_timeout = 30",
        "bind_dn = " + t.SYSTEM_DN, "bind_pw_file = " + pw,
        "domain_base = ou=postfix,ou=System,o=company",
        "account_base = " + BASE, "cache_dir = " + os.path.join(d, name),
    ]) + "\n")
    os.makedirs(os.path.join(d, name), exist_ok=True)
    return path


def run_to_null(argv):
    t0 = time.monotonic()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (argv[0], p.stderr[-300:]))
    return time.monotonic() - t0


def ldapsearch(slapd, bind, extra=()):
    return run_to_null(["ldapsearch", "-x", "-H", slapd.uri] +
                       bind + ["-LLL", "-b", BASE] + list(extra) +
                       [FILTER] + ATTRS)


ROOT = ["-D", t.ROOT_DN, "-w", t.ROOT_PW]
SYSTEM = ["-D", t.SYSTEM_DN, "-w", t.SYSTEM_PW]


def stream_refresh(conf, n):
    """Seconds from start until the stream's refresh ends, and the number
    of entries it delivered."""
    env = dict(os.environ, SYNC_PROBE_QUIET="1")
    t0 = time.monotonic()
    p = subprocess.Popen([PROBE, conf, "stream", BASE, FILTER, "3600", "-"]
                         + ATTRS, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    secs, count = None, None
    try:
        for raw in p.stdout:
            line = raw.decode("utf-8", "replace").split()
            if len(line) >= 5 and line[1] == "phase" and line[3] == "done":
                secs = time.monotonic() - t0
                count = int(line[4].split("=")[1])
                break
            if len(line) >= 2 and line[1] == "status":
                raise RuntimeError("sync-probe: " + " ".join(line))
    finally:
        p.terminate()
        p.communicate(timeout=30)
    if count != n:
        raise RuntimeError("stream delivered %r entries, want %d" % (count, n))
    return secs


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def persist_lookupd(d, slapd, n, args=()):
    """lookupd (sync = persist) against slapd, started and waited for
    until its first full refresh answers: (Lookupd, seconds)."""
    ld = os.path.join(d, "persist")
    os.makedirs(ld, exist_ok=True)
    cfg = t.lookupd_config(slapd, ld, sync="persist", ldap_timeout=30,
                           miss_lookup="no", refresh=36000)
    t0 = time.monotonic()
    lk = t.Lookupd(cfg, dir=ld, args=args, wait_timeout=60).start()

    def ready():
        # Asked over the socket (#stats), not by spawning `lookupd stats`
        # every 50 ms: a process start each time took a core's share
        # from the lookupd being measured.
        try:
            raw = t.socketmap_request(lk.socket, "#stats", "x")
        except (OSError, RuntimeError, ValueError):
            return False
        if not raw.startswith(b"OK "):
            return False
        st = {}
        for line in raw[3:].decode("utf-8", "replace").splitlines():
            name, _, value = line.partition(" ")
            st[name] = value
        try:
            keys = int(st.get("map.mailbox.snapshot_keys", "0"))
        except ValueError:
            return False
        return st.get("persist.alias.state") == "persist" and keys >= n
    if not t.wait_until(ready, 3600, 0.05):
        raise RuntimeError("lookupd's first persist refresh did not end")
    return lk, time.monotonic() - t0


def persist_once(d, slapd, n):
    lk, secs = persist_lookupd(d, slapd, n)
    lk.stop()
    import shutil
    shutil.rmtree(os.path.join(d, "persist"), ignore_errors=True)
    return secs


def reads(label, slapd, conf, n, rounds, full_only=False, d=None):
    kinds = [
        ("ldapsearch rootdn, unpaged", lambda: ldapsearch(slapd, ROOT)),
        ("system DN, paged 500", lambda: ldapsearch(
            slapd, SYSTEM, ["-E", "pr=500/noprompt"])),
        ("ldapsearch rootdn -E sync=ro", lambda: ldapsearch(
            slapd, ROOT, ["-E", "sync=ro"])),
        ("ldapsync stream, system DN", lambda: stream_refresh(conf, n)),
        ("lookupd sync (3 maps)", lambda: run_to_null(
            [t.LOOKUPD, "-c", conf, "sync"])),
    ]
    if full_only:
        kinds = [kinds[0], kinds[3], (
            "lookupd sync = persist, first full refresh",
            lambda: persist_once(d, slapd, n))]
    times = {k: [] for k, _ in kinds}
    # Not counted: the first read after slapadd pulls the database into
    # the page cache (at 1,000,000 it took 2.5x a warm one), which would
    # flatter every ratio to it.
    ldapsearch(slapd, ROOT)
    for _ in range(rounds):
        for k, fn in kinds:
            times[k].append(fn())
    base = statistics.median(times[kinds[0][0]])
    reads.base = base
    say("\n%s accounts, reading from %s (median of %d):" % (
        label, slapd.uri, rounds))
    say("| read | seconds | vs unpaged ldapsearch |")
    say("|---|---|---|")
    for k, _ in kinds:
        m = statistics.median(times[k])
        say("| %s | %.2f (%s) | %.2f× |" % (
            k, m, " ".join("%.2f" % x for x in times[k]), m / base))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100000)
    ap.add_argument("--changes", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--big", type=int, default=0)
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--no-consumer", action="store_true")
    ap.add_argument("--log", help="lookupd -v, its log copied here")
    ap.add_argument("--full-only", action="store_true")
    args = ap.parse_args()
    lat = os.path.join(BENCH_BIN, "sync-latency")
    for f in (t.LOOKUPD, PROBE, lat):
        if not os.access(f, os.X_OK):
            sys.exit("build first: make && make bench-tools (%s)" % f)
    d = t.tmpdir("ldapmail-bench-sync-")
    say("# bench/sync.py on %s, %d CPUs, %s, load %.1f" % (
        os.uname().nodename, os.cpu_count(), time.strftime("%F %T"),
        os.getloadavg()[0]))

    ldif = os.path.join(d, "users.ldif")
    t0 = time.monotonic()
    if args.users > 200000:
        os.environ["TEST_SLAPD_MAXSIZE"] = str(8 << 30)
    gen_ldif(ldif, args.users)
    p = t.Slapd(ldifs=[ldif], syncprov=True).start(timeout=3600)
    os.unlink(ldif)
    say("# provider: %d accounts generated and loaded (slapadd) in %.0f s"
        % (args.users, time.monotonic() - t0))
    pconf = config(d, "provider", p)
    if args.no_consumer:
        c, cconf = p, pconf
        say("# no consumer: everything against the provider")
    else:
        t0 = time.monotonic()
        c = t.Slapd(provider=p).start()
        if not t.replicated(p, c, 1800):
            sys.exit("the consumer did not catch up")
        say("# consumer: replicated them (syncrepl refresh) in %.1f s" % (
            time.monotonic() - t0))
        cconf = config(d, "consumer", c)
    reads("{:,}".format(args.users), c, cconf, args.users, args.rounds,
          args.full_only, d)
    if args.full_only:
        say("# load average at the end: %.1f %.1f %.1f" % os.getloadavg())
        if c is not p:
            c.stop()
        p.stop()
        return

    lk, secs = persist_lookupd(d, c, args.users,
                               ["-v"] if args.log else [])
    say("\nlookupd sync = persist, first full refresh (stream + 3 cdb "
        "files) until it answers: %.2f s = %.2f× the unpaged ldapsearch" %
        (secs, secs / reads.base))
    if not args.no_latency:
        say("\n%d modifies on the provider, %s accounts (ms from the "
            "start of the modify):" % (args.changes,
                                      "{:,}".format(args.users)))
        cache = os.path.join(lk.dir, "cache")
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.wait(0.5):
                peak[0] = max(peak[0], status_kb(lk.pid, "RssAnon") or 0)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        r = subprocess.run([lat, cconf, pconf, str(args.changes),
                            str(args.users), lk.socket.split(":", 1)[1],
                            os.path.join(cache, "mailbox.cdb")],
                           stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=3600)
        say(r.stdout.decode().rstrip())
        if r.returncode != 0 or r.stderr:
            say("# sync-latency: exit %d %s" % (
                r.returncode, r.stderr.decode()[-500:]))
        done.set()
        sampler.join()
        say("\nRssAnon while the changes were committed: at most %.1f MB "
            "(a commit's buffers, the index's encoding)" % (peak[0] / 1024))
        # The steady state: every commit and the index written (the
        # index at most every 5 s), nothing in flight.
        last, since = None, time.monotonic()
        start = since
        while time.monotonic() - since < 8 and \
                time.monotonic() - start < 300:
            n = lk.stats().get("persist.alias.commits")
            if n != last:
                last, since = n, time.monotonic()
            time.sleep(0.5)
    cdbs = sum(os.path.getsize(os.path.join(lk.dir, "cache", f))
               for f in os.listdir(os.path.join(lk.dir, "cache"))
               if f.endswith(".cdb"))
    anon = status_kb(lk.pid, "RssAnon")
    say("\nlookupd sync = persist, %s accounts: RssAnon %.1f MB, cdb "
        "files %.1f MB: %.0f %% of them; VmHWM %.1f MB" % (
            "{:,}".format(args.users), anon / 1024, cdbs / 1048576,
            100.0 * anon * 1024 / cdbs, status_kb(lk.pid, "VmHWM") / 1024))
    say("# load average at the end: %.1f %.1f %.1f" % os.getloadavg())
    lk.stop()
    if args.log:
        with open(lk.err_path, "rb") as src, open(args.log, "wb") as dst:
            dst.write(src.read())
    if c is not p:
        c.stop()
    p.stop()

    if args.big:
        os.environ["TEST_SLAPD_MAXSIZE"] = str(8 << 30)
        ldif = os.path.join(d, "big.ldif")
        t0 = time.monotonic()
        gen_ldif(ldif, args.big)
        big = t.Slapd(ldifs=[ldif], syncprov=True).start(timeout=3600)
        os.unlink(ldif)
        say("\n# provider: %d accounts generated and loaded in %.0f s" % (
            args.big, time.monotonic() - t0))
        reads("{:,}".format(args.big), big, config(d, "big", big),
              args.big, args.rounds)
        big.stop()


if __name__ == "__main__":
    main()
