#!/usr/bin/env python3
"""test_stats: `lookupd stats`, the running daemon's counters.

A real slapd with the howto's directory, a snapshot built by `lookupd
sync`, the daemon on a UNIX socketmap socket and one tcp_table port:

- the output is "name value" lines, every documented name present once;
- snapshot keys per map match the fixture, snapshot ages are small;
- counters move exactly as requests are made: N found and M not found
  (live, then the negative cache) for a map, requests by protocol,
  unknown map names, bad requests, live lookups and their latency;
- connections open and accepted follow the clients;
- the reserved request name "#stats" answers over a raw socketmap
  connection and is not counted as a lookup; no map can be named so;
- with slapd stopped, a miss is TEMP, counted, and ldap.last_error says
  why; snapshot hits still answer;
- `lookupd stats` exits 2 when the daemon cannot be asked.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

MAPS = ("domain", "alias", "mailbox")
PER_MAP = ("found", "notfound", "temp", "perm", "snapshot_hits",
           "cache_hits", "live_lookups", "snapshot_age", "snapshot_keys",
           "pending_changes")
GLOBAL = ("uptime", "requests.unknown_map", "live.lookups",
          "live.refused_busy", "live.latency_ms_p50", "live.latency_ms_p99",
          "snapshot.builds_ok", "snapshot.builds_failed", "ldap.last_error",
          "ldap.last_error_age", "connections.open", "connections.max",
          "connections.accepted", "connections.refused",
          "connections.closed_idle", "requests.socketmap", "requests.tcp",
          "requests.bad", "requests.deferred", "requests.pending",
          "requests.stats", "answers.dropped", "sync.mode",
          "session.live0.server", "session.live1.server",
          "session.live2.server", "session.live3.server",
          "session.live0.ldap_tables", "session.live1.ldap_tables",
          "session.live2.ldap_tables", "session.live3.ldap_tables",
          "session.builder.server")
NAMES = ["map.%s.%s" % (m, n) for m in MAPS for n in PER_MAP] + list(GLOBAL)

S = {}


def stats():
    """`lookupd stats` as {name: value} (numbers as int/float)."""
    out = S["lookupd"].stats()
    S["last_raw"] = S["lookupd"].stats_text
    return out


fixture_keys = t.fixture_key_counts


@t.test
def setup():
    s = t.Slapd().start()
    d = t.tmpdir()
    port = t.free_port()
    cfg = t.lookupd_config(s, d, tcp_listen="domain=inet:127.0.0.1:%d" %
                           port, negative_ttl="60")
    conf = os.path.join(d, "sync.conf")
    with open(conf, "w") as f:
        f.write(cfg)
    r = t.run([t.LOOKUPD, "-c", conf, "sync"])
    t.eq(r.rc, 0, "sync", r.why())
    S.update(slapd=s, dir=d, port=port,
             lookupd=t.Lookupd(cfg, dir=d).start())


@t.test
def format_and_names():
    st = stats()
    raw = S["last_raw"]
    t.ok(raw.endswith("\n") and all(
        re.fullmatch(r"[a-z0-9_.-]+ \S.*", ln) for ln in raw.splitlines()),
        "every line is \"name value\"", raw[:300])
    names = [ln.split(" ", 1)[0] for ln in raw.splitlines()]
    t.eq(sorted(set(names)), sorted(names), "every name once")
    t.eq(sorted(n for n in NAMES if n not in st), [],
         "every documented name is there")
    t.eq(sorted(n for n in st if n not in NAMES), [],
         "no undocumented name")
    t.ok(0 <= st["uptime"] < 60, "uptime in seconds", st["uptime"])
    t.eq({m: st["map.%s.snapshot_keys" % m] for m in MAPS}, fixture_keys(),
         "snapshot keys per map match the fixture")
    t.ok(all(0 <= st["map.%s.snapshot_age" % m] < 60 for m in MAPS),
         "snapshot ages are seconds, fresh",
         [st["map.%s.snapshot_age" % m] for m in MAPS])
    t.eq([st["map.%s.%s" % (m, n)] for m in MAPS
          for n in ("found", "notfound", "temp", "perm", "live_lookups")],
         [0] * 15, "no request yet: every per-map counter is 0")
    t.eq((st["live.lookups"], st["live.latency_ms_p50"],
          st["live.latency_ms_p99"]), (0, 0, 0), "no live lookup yet")
    t.eq((st["ldap.last_error"], st["ldap.last_error_age"]), ("-", -1),
         "no LDAP error yet")
    t.eq((st["connections.open"], st["requests.socketmap"],
          st["requests.stats"]), (1, 0, 1),
         "the stats request's own connection, counted as stats only")


@t.test
def counters_move_with_requests():
    lk = S["lookupd"]
    before = stats()
    found = ["ao@anotherdomain.nu", "albert.onestone@anotherdomain.nu",
             "s.o.9@anotherdomain.nu", "AO+x@anotherdomain.nu",
             "timetravel@anotherdomain.nu"]
    missing = ["nobody%d@anotherdomain.nu" % i for i in range(3)]
    with t.SocketmapClient(lk.socket) as c:
        got = [c.request("alias", k) for k in found]
        t.ok(all(g.startswith(b"OK ") for g in got), "5 found", got)
        got = [c.request("alias", k) for k in missing]
        t.eq(got, [b"NOTFOUND "] * 3, "3 not found (live)")
        t.eq(c.request("alias", missing[0]), b"NOTFOUND ",
             "the first again: from the negative cache")
        t.eq(c.request("mailbox", "ao@anotherdomain.nu"),
             b"OK /vmail/albert.onestone/Maildir/", "1 mailbox found")
        t.ok(c.request("nosuchmap", "x@y").startswith(b"PERM "),
             "unknown map")
        t.eq(c.request("alias", "no-at-sign"), b"NOTFOUND ",
             "a key without @: not found without looking")
    t.eq(t.tcp_request(("127.0.0.1", S["port"]), "mydomain.nl"),
         b"200 mydomain.nl", "tcp_table domain found")
    t.ok(t.tcp_request(("127.0.0.1", S["port"]),
                       "example.org").startswith(b"500 "),
         "tcp_table domain not found")
    after = stats()

    def delta(name):
        return after[name] - before[name]
    t.eq({n: delta("map.alias." + n) for n in (
        "found", "notfound", "temp", "perm", "snapshot_hits", "cache_hits",
        "live_lookups")},
        {"found": 5, "notfound": 5, "temp": 0, "perm": 0,
         "snapshot_hits": 5, "cache_hits": 1, "live_lookups": 3},
        "alias: 5 found from the snapshot, 5 not found (3 live, 1 cached, "
        "1 without looking)")
    t.eq((delta("map.mailbox.found"), delta("map.mailbox.snapshot_hits")),
         (1, 1), "mailbox: 1 found")
    t.eq({n: delta("map.domain." + n) for n in ("found", "notfound",
                                                 "live_lookups")},
         {"found": 1, "notfound": 1, "live_lookups": 1},
         "domain over tcp_table: 1 found, 1 not found (live)")
    t.eq((delta("requests.socketmap"), delta("requests.tcp"),
          delta("requests.unknown_map"), delta("requests.deferred"),
          delta("requests.stats")), (12, 2, 1, 4, 1),
         "requests by protocol, unknown map, deferred to LDAP, stats")
    t.eq(delta("live.lookups"), 4, "live lookups: 3 alias + 1 domain")
    t.ok(0 < after["live.latency_ms_p50"] <= after["live.latency_ms_p99"]
         < 5000, "live latency median and p99 in ms",
         (after["live.latency_ms_p50"], after["live.latency_ms_p99"]))
    t.eq(after["requests.pending"], 0, "nothing pending")


@t.test
def counters_survive_sighup():
    lk = S["lookupd"]
    before = stats()
    lk.reload()
    t.ok(t.wait_until(lambda: "reloaded" in lk.errors(), 10),
         "SIGHUP: configuration reloaded")
    after = stats()
    for n in ("found", "notfound", "snapshot_hits", "live_lookups"):
        t.ok(after["map.alias." + n] >= before["map.alias." + n] > 0,
             "map.alias.%s kept across SIGHUP" % n,
             (before["map.alias." + n], after["map.alias." + n]))
    t.ok(after["live.lookups"] >= before["live.lookups"] > 0,
         "live.lookups kept across SIGHUP")


@t.test
def connections():
    lk = S["lookupd"]
    before = stats()
    clients = [t.SocketmapClient(lk.socket) for _ in range(3)]
    for c in clients:
        c.request("domain", "mydomain.nl")
    mid = stats()
    t.eq(mid["connections.open"], 4, "3 clients + the stats connection")
    t.eq(mid["connections.accepted"] - before["connections.accepted"], 4,
         "accepted: 3 clients + 1 stats connection")
    for c in clients:
        c.close()
    ok = t.wait_until(lambda: stats()["connections.open"] == 1, 5)
    t.ok(ok, "closed clients are no longer counted", S["last_raw"][-400:])


@t.test
def reserved_name():
    r = t.socketmap_request(S["lookupd"].socket, "#stats", "")
    t.ok(r.startswith(b"OK uptime ") and b"\nconnections.open " in r,
         "a raw \"#stats \" request answers OK and the lines", r[:100])
    r = t.socketmap_request(S["lookupd"].socket, "#stats", "anything")
    t.ok(r.startswith(b"OK uptime "), "the key is ignored", r[:60])
    bad = os.path.join(S["dir"], "bad.conf")
    with open(bad, "w") as f:
        f.write(S["lookupd"].cfg_text + "\n[map #stats]\nkey = mail\n"
                "result = mail\n")
    r = t.run([t.LOOKUPD, "-c", bad, "check"])
    t.eq(r.rc, 2, "no map can be named #stats", r.why())


@t.test
def ldap_error_after_slapd_stops():
    lk = S["lookupd"]
    before = stats()
    S["slapd"].stop()
    r = lk.query("alias", "still.missing@anotherdomain.nu", timeout=30)
    t.ok(r.startswith(b"TEMP "), "a miss with LDAP down is TEMP", r)
    t.eq(lk.query("alias", "ao@anotherdomain.nu"),
         b"OK albert.onestone@anotherdomain.nu", "a snapshot hit answers")
    after = stats()
    t.eq((after["map.alias.temp"] - before["map.alias.temp"],
          after["map.alias.found"] - before["map.alias.found"],
          after["live.lookups"] - before["live.lookups"]), (1, 1, 1),
         "1 temp, 1 found, 1 live lookup")
    t.ok(after["ldap.last_error"].startswith("live lookup: ") and
         "Can't contact LDAP server" in after["ldap.last_error"],
         "ldap.last_error says why", after["ldap.last_error"])
    t.ok(0 <= after["ldap.last_error_age"] < 30, "ldap.last_error_age",
         after["ldap.last_error_age"])
    S["slapd"].start()


@t.test
def stats_without_daemon():
    lk = S["lookupd"]
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")
    r = lk.cli("stats")
    t.eq((r.rc, r.out), (2, ""), "stats with the daemon stopped: exit 2")
    t.ok(": error: stats: " in r.err and "lookupd.sock" in r.err,
         "and says why, naming the socket", r.err)
    conf = os.path.join(S["dir"], "tcponly.conf")
    with open(conf, "w") as f:
        f.write(t.lookupd_config(S["slapd"], S["dir"], socketmap_listen=None,
                                 tcp_listen="domain=inet:127.0.0.1:%d" %
                                 S["port"]))
    r = t.run([t.LOOKUPD, "-c", conf, "stats"])
    t.eq(r.rc, 2, "stats without socketmap_listen: exit 2", r.why())
    t.ok("socketmap_listen" in r.err, "and names socketmap_listen", r.err)
    r = lk.cli("stats", "extra")
    t.eq(r.rc, 2, "stats with an argument: usage, exit 2")


if __name__ == "__main__":
    t.main()
