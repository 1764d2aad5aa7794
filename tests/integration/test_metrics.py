#!/usr/bin/env python3
"""test_metrics: lookupd's metrics in Prometheus's text format, from
`lookupd stats --format=prometheus` and from metrics_file.

A real slapd with the howto's directory, lookupd building its own
snapshot (no snapshot on disk), a socketmap socket and a tcp_table port,
metrics_interval = 1:

- after a known sequence of lookups through Postfix's own clients
  (postmap -q over socketmap: and tcp:), every counter equals it exactly:
  lookups by map and result, by source (snapshot, cache, live), unknown
  maps, requests by protocol, the latency histogram's count and its
  cumulative buckets; snapshot keys per map as in the fixture, a rebuild
  counted with its duration, the LDAP server in use as a label;
- `promtool check metrics` (Debian's prometheus) accepts both outputs;
- the file holds the same counters, mode 0644, and is replaced
  atomically: a reader polling it in a loop always reads a complete
  text, each new content comes with a new inode (renamed over, never
  rewritten in place), and no temporary file is left behind;
- a metrics_file that cannot be written is logged once and lookupd goes
  on answering;
- `lookupd stats --format=bogus` is a usage error (exit 2).
"""
import os
import re
import shutil
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

MAPS = ("domain", "alias", "mailbox")
PROMTOOL = shutil.which("promtool")
SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*'
                    r'="(?:[^"\\\n]|\\.)*",?)*)\})? (\S+)')
S = {}


def parse(text):
    """{(name, ((label, value), ...)): float}; ValueError on any line that
    is not a sample, a # HELP or a # TYPE line, or a text that does not
    end with a newline."""
    if not text.endswith("\n"):
        raise ValueError("no final newline")
    out = {}
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = SAMPLE.fullmatch(line)
        if not m:
            raise ValueError("bad line %r" % line)
        labels = tuple(sorted(re.findall(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"',
                                         m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def get(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def prom():
    r = S["lookupd"].cli("stats", "--format=prometheus")
    t.eq(r.rc, 0, "stats --format=prometheus exits 0", r.why())
    return r.out


fixture_keys = t.fixture_key_counts


@t.test
def setup():
    s = t.Slapd().start()
    d = t.tmpdir()
    port = t.free_port()
    mdir = os.path.join(d, "textfile")
    os.mkdir(mdir)
    path = os.path.join(mdir, "ldapmail.prom")
    cfg = t.lookupd_config(s, d, tcp_listen="domain=inet:127.0.0.1:%d" %
                           port, negative_ttl="60", metrics_file=path,
                           metrics_interval="1")
    lk = t.Lookupd(cfg, dir=d).start()
    S.update(slapd=s, dir=d, port=port, lookupd=lk, path=path, mdir=mdir)
    ok = t.wait_until(lambda: all(
        lk.stats()["map.%s.snapshot_keys" % m] > 0 for m in MAPS), 20)
    t.ok(ok, "lookupd built its snapshot")


@t.test
def counters_equal_a_known_sequence():
    lk = S["lookupd"]
    sm = lk.table
    tcp = "tcp:127.0.0.1:%d" % S["port"]
    found = ["ao@anotherdomain.nu", "albert.onestone@anotherdomain.nu",
             "s.o.9@anotherdomain.nu", "timetravel@anotherdomain.nu"]
    got = [t.postmap_q(k, sm("alias"))[0] for k in found]
    t.eq(got, [0] * 4, "4 aliases found (snapshot)")
    got = [t.postmap_q(k, sm("alias"))[0] for k in (
        "nobody1@anotherdomain.nu", "nobody2@anotherdomain.nu",
        "nobody1@anotherdomain.nu")]
    t.eq(got, [1] * 3, "3 aliases not found (2 live, 1 remembered)")
    t.eq(t.postmap_q("ao@anotherdomain.nu", sm("mailbox")),
         (0, "/vmail/albert.onestone/Maildir/"), "1 mailbox found")
    t.eq(t.postmap_q("mydomain.nl", tcp)[0], 0, "tcp_table: 1 domain found")
    t.eq(t.postmap_q("example.org", tcp)[0], 1,
         "tcp_table: 1 domain not found (live)")
    r = lk.query("nosuchmap", "x@y.z")
    t.ok(r.startswith(b"PERM "), "unknown map: PERM", r)

    text = prom()
    S["text"] = text
    try:
        p = parse(text)
    except ValueError as e:
        t.ok(False, "the output parses", str(e))
        return
    want = {
        ("alias", "FOUND"): 4, ("alias", "NOTFOUND"): 3,
        ("alias", "TEMP"): 0, ("alias", "PERM"): 0,
        ("mailbox", "FOUND"): 1, ("mailbox", "NOTFOUND"): 0,
        ("domain", "FOUND"): 1, ("domain", "NOTFOUND"): 1,
        ("domain", "TEMP"): 0, ("domain", "PERM"): 0,
    }
    t.eq({k: get(p, "ldapmail_lookups_total", map=k[0], result=k[1])
          for k in want}, want, "ldapmail_lookups_total by map and result")
    src = {("alias", "snapshot"): 4, ("alias", "cache"): 1,
           ("alias", "live"): 2, ("mailbox", "snapshot"): 1,
           ("mailbox", "live"): 0, ("domain", "snapshot"): 1,
           ("domain", "live"): 1, ("domain", "cache"): 0}
    t.eq({k: get(p, "ldapmail_lookup_sources_total", map=k[0], source=k[1])
          for k in src}, src, "ldapmail_lookup_sources_total by source")
    t.eq(get(p, "ldapmail_unknown_map_lookups_total"), 1, "unknown map")
    t.eq((get(p, "ldapmail_requests_total", protocol="socketmap"),
          get(p, "ldapmail_requests_total", protocol="tcp_table")),
         (9, 2), "requests by protocol (stats requests not counted)")
    n = "ldapmail_lookup_duration_seconds"
    t.eq(get(p, n + "_count"), 11, "histogram: every lookup counted once")
    buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in p.items()
                      if k[0] == n + "_bucket"), key=lambda x: x[0])
    t.ok(len(buckets) >= 10 and buckets[-1] == (float("inf"), 11) and
         all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
         "histogram: cumulative buckets ending in +Inf = count", buckets)
    t.ok(0 < get(p, n + "_sum") < 11 * 5, "histogram: sum in seconds",
         get(p, n + "_sum"))
    t.eq({m: get(p, "ldapmail_snapshot_keys", map=m) for m in MAPS},
         fixture_keys(), "snapshot keys per map as in the fixture")
    t.ok(all(0 <= get(p, "ldapmail_snapshot_age_seconds", map=m) < 120
             for m in MAPS), "snapshot ages in seconds")
    t.eq(get(p, "ldapmail_snapshot_rebuilds_total", result="ok"), 1,
         "one rebuild, counted")
    t.ok(0 < get(p, "ldapmail_snapshot_rebuild_duration_seconds") < 60,
         "its duration in seconds")
    t.eq(get(p, "ldapmail_ldap_server", uri=S["slapd"].uri), 1,
         "the server in use, as a label")
    t.eq(get(p, "ldapmail_ldap_errors_total"), 0, "no LDAP error")
    t.eq(get(p, "ldapmail_connections_open"), 1,
         "open connections: the stats request's own")
    t.eq(get(p, "ldapmail_ready"), 1, "ready")
    st = lk.stats()
    t.eq((st["map.alias.found"], st["map.alias.notfound"],
          st["requests.socketmap"]), (4, 3, 9),
         "`lookupd stats` text says the same")


@t.test
def promtool_accepts_it():
    if PROMTOOL is None:
        t.skip("promtool check metrics", "promtool not installed "
               "(Debian package prometheus)")
        return
    r = t.run([PROMTOOL, "check", "metrics"], input=S["text"])
    t.eq(r.rc, 0, "promtool check metrics: stats --format=prometheus",
         r.why())
    with open(S["path"]) as f:
        r = t.run([PROMTOOL, "check", "metrics"], input=f.read())
    t.eq(r.rc, 0, "promtool check metrics: metrics_file", r.why())


@t.test
def the_file_holds_the_same_counters():
    path = S["path"]
    want = {k: v for k, v in parse(prom()).items()
            if k[0].endswith("_total") or k[0].startswith(
                "ldapmail_lookup_duration_seconds") or
            k[0] == "ldapmail_snapshot_keys"}

    def same():
        try:
            with open(path) as f:
                got = parse(f.read())
        except (OSError, ValueError):
            return False
        return all(got.get(k) == v for k, v in want.items())
    t.ok(t.wait_until(same, 5), "the file's counters equal the CLI's "
         "within a metrics_interval or two")
    st = os.stat(path)
    t.eq(oct(st.st_mode & 0o7777), "0o644", "mode 0644")


@t.test
def the_file_is_replaced_atomically():
    path = S["path"]
    reads, bad = [], []
    stop = time.monotonic() + 4.5

    def reader():
        while time.monotonic() < stop:
            try:
                with open(path, "rb") as f:
                    ino = os.fstat(f.fileno()).st_ino
                    data = f.read()
            except FileNotFoundError:
                bad.append("missing")
                continue
            text = data.decode()
            try:
                p = parse(text)
                if get(p, "ldapmail_requests_pending") is None:
                    raise ValueError("the last sample is missing")
            except ValueError as e:
                bad.append("%s: %r" % (e, text[-80:]))
            reads.append((ino, data))
    th = threading.Thread(target=reader)
    th.start()
    # Lookups meanwhile, so that the contents change.
    while time.monotonic() < stop:
        S["lookupd"].query("alias", "ao@anotherdomain.nu")
        time.sleep(0.05)
    th.join()
    t.eq(bad[:3], [], "every read of %d is a whole text" % len(reads))
    inodes = []
    for ino, _ in reads:
        if not inodes or inodes[-1] != ino:
            inodes.append(ino)
    t.ok(len(inodes) >= 3, "replaced about every second (metrics_interval)",
         len(inodes))
    in_place = [i for i in range(1, len(reads))
                if reads[i][1] != reads[i - 1][1] and
                reads[i][0] == reads[i - 1][0]]
    t.eq(in_place, [], "every new content came with a new inode "
         "(renamed over, never rewritten in place)")
    t.eq(sorted(os.listdir(S["mdir"])), ["ldapmail.prom"],
         "no temporary file left beside it")


@t.test
def unwritable_file_is_logged_once():
    s = S["slapd"]
    d = t.tmpdir()
    bad = os.path.join(d, "no-such-dir", "ldapmail.prom")
    cfg = t.lookupd_config(s, d, metrics_file=bad, metrics_interval="1")
    lk = t.Lookupd(cfg, dir=d, name="lookupd-bad").start()
    t.wait_until(lambda: "metrics_file" in lk.errors(), 5)
    time.sleep(2.5)
    t.eq(lk.query("domain", "mydomain.nl"), b"OK mydomain.nl",
         "lookupd answers")
    lines = [x for x in lk.errors().splitlines() if "metrics_file" in x]
    t.ok(len(lines) == 1 and bad in lines[0],
         "the failure is logged once, naming the file", lines)
    t.eq(lk.stop(), 0, "exit 0")


@t.test
def bad_format_is_a_usage_error():
    r = S["lookupd"].cli("stats", "--format=bogus")
    t.eq(r.rc, 2, "stats --format=bogus exits 2", r.why())
    t.ok("--format" in r.err, "and says how it is used", r.err)


if __name__ == "__main__":
    t.main()
