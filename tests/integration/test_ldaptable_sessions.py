#!/usr/bin/env python3
"""test_ldaptable_sessions: ldap_table maps with the same server and
identity share one LDAP session; a map whose server or identity differs
gets its own (lookupd/pfldap.c's pfpool, keyed on one identity string
made from what the session is given).

Two slapds (A, B) logging every connection and bind (loglevel stats).
Five ldap_table maps, live-only (a branch without the whole key: the
daemon asks every key live, never from a snapshot): three on A as the system DN, written three ways
(server_host as a URL, as a URL with a trailing '/', as a host with
server_port), one on A bound as another DN, one on B as the system DN.

- `lookupd check` (one thread, one pool): slapd A sees exactly one
  connection bound as the system DN for the three tables (plus the one
  of the native maps), one as the other DN; B exactly one.  Counted as
  binds per connection in slapd's own log.
- The daemon (four workers, a pool each), every map asked 40 times from
  several clients at once: `lookupd stats` gives each worker at most 3
  ldap_table sessions (one per server and identity, never one per map),
  together exactly the connections lookupd holds to A and B
  (/proc/net/tcp), and every answer is Postfix's (postmap -q ldap:).
"""
import os
import re
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402

FIX = os.path.join(t.SRC, "tests", "fixtures")
TABLES = "ou=tables,o=company"
S = {}
KEY = "alice@example.com"


def binds(slapd):
    """{conn: [bound DNs]} from slapd's log."""
    out = {}
    with open(slapd.log, errors="replace") as f:
        for line in f:
            m = re.search(r'conn=(\d+) op=\d+ BIND dn="([^"]*)"', line)
            if m:
                out.setdefault(m.group(1), []).append(m.group(2).lower())
    return out


def new_conns(slapd, before):
    """Connections opened since before (binds()), by the DN they bound
    as: {dn: count}."""
    out = {}
    for c, dns in binds(slapd).items():
        if c not in before:
            out[dns[0]] = out.get(dns[0], 0) + 1
    return out


def table(dir, name, host, dn, pw, result="mail"):
    path = os.path.join(dir, name + ".cf")
    t.write(path, "%sversion = 3\nbind_dn = %s\nbind_pw = %s\n"
            "search_base = %s\n"
            "query_filter = (&(uid=%%u)(accountStatus=active))\n"
            "result_attribute = %s\n" % (host, dn, pw, TABLES, result),
            mode=0o600)
    S.setdefault("files", {})[name] = path
    return "[map %s]\nldap_table = %s\n" % (name, path)


@t.test
def setup():
    S["a"] = t.Slapd(ldifs=[t.fixture_path(),
                            os.path.join(FIX, "tables.ldif")],
                     debug=256).start()
    S["b"] = t.Slapd(ldifs=[t.fixture_path(),
                            os.path.join(FIX, "tables.ldif")],
                     debug=256).start()
    d = S["dir"] = t.tmpdir("ldapmail-sessions-")
    a, b = S["a"], S["b"]
    sys_ = (t.SYSTEM_DN, t.SYSTEM_PW)
    root = (t.ROOT_DN, t.ROOT_PW)
    extra = table(d, "a1", "server_host = ldap://127.0.0.1:%d\n" % a.port,
                  *sys_)
    extra += table(d, "a2", "server_host = ldap://127.0.0.1:%d/\n"
                   % a.port, *sys_, result="mailMessageStore")
    extra += table(d, "a3", "server_host = 127.0.0.1\nserver_port = %d\n"
                   % a.port, *sys_, result="uid")
    extra += table(d, "a_root", "server_host = ldap://127.0.0.1:%d\n"
                   % a.port, *root)
    extra += table(d, "b1", "server_host = ldap://127.0.0.1:%d\n" % b.port,
                   *sys_)
    S["extra"] = extra
    S["conf"] = os.path.join(d, "ldapmail.conf")
    t.write(S["conf"], t.lookupd_config(a, d, extra=extra))
    # what Postfix's own ldap: client answers for each file
    S["want"] = {}
    for n, f in S["files"].items():
        r = t.postmap(["-q", KEY, "ldap:" + f])
        S["want"][n] = sorted(r.out.strip().split(",")) if r.rc == 0 \
            else None
    t.ok(all(S["want"].values()), "the key has every answer", S["want"])


@t.test
def check_shares_one_session_per_server_and_identity():
    a, b = S["a"], S["b"]
    before_a, before_b = binds(a), binds(b)
    r = t.run([t.LOOKUPD, "-c", S["conf"], "check"])
    t.eq(r.rc, 0, "check passes", r.why())
    for m in ("a1", "a2", "a3", "a_root", "b1"):
        t.ok(re.search(r"(?m)^map %s: ldap_table .*: live-only" % m, r.out),
             "check classifies %s (its session answered)" % m, r.out)
    sysdn, rootdn = t.SYSTEM_DN.lower(), t.ROOT_DN.lower()
    want_a = {sysdn: 2, rootdn: 1}
    t.wait_until(lambda: new_conns(a, before_a) == want_a, 5 * t.SLOW)
    t.eq(new_conns(a, before_a), want_a,
         "slapd A: one connection for the native maps and one for the "
         "three system-DN tables (bound as the system DN), one for the "
         "table bound as another DN")
    t.wait_until(lambda: new_conns(b, before_b) == {sysdn: 1}, 5 * t.SLOW)
    t.eq(new_conns(b, before_b), {sysdn: 1},
         "slapd B: one connection, its own")


def established(port):
    """ESTABLISHED TCP connections to 127.0.0.1:port (clients' side)."""
    n = 0
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(f).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            rem, st = fields[2], fields[3]
            if st == "01" and int(rem.split(":")[1], 16) == port:
                n += 1
    return n


@t.test
def daemon_workers_share_sessions():
    d = S["dir"]
    # only the tables: no native map, no builder connection to count
    lk = t.Lookupd(t.lookupd_config(S["a"], d, profile="none",
                                    extra=S["extra"]), dir=d).start()
    bad = []

    def client(names):
        with t.SocketmapClient(lk.socket) as c:
            for i in range(40):
                for n in names:
                    got = c.request(n, KEY).decode()
                    if not got.startswith("OK ") or \
                            sorted(got[3:].split(",")) != S["want"][n]:
                        bad.append((n, got))
    names = sorted(S["want"])
    threads = [threading.Thread(target=client, args=(names[i:] + names[:i],))
               for i in range(len(names))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60 * t.SLOW)
    t.eq(bad[:5], [], "every answer as postmap -q ldap:FILE's (%d lookups)"
         % (40 * 25))
    st = lk.stats()
    per = [st.get("session.live%d.ldap_tables" % i) for i in range(4)]
    t.ok(all(isinstance(n, int) and 0 <= n <= 3 for n in per),
         "no worker holds more than one session per server and identity "
         "(3 here, 5 maps)", per)
    t.ok(sum(per) >= 3, "each identity has a session somewhere", per)
    conns = established(S["a"].port) + established(S["b"].port)
    t.eq(conns, sum(per), "the workers' sessions are exactly the "
         "connections to A and B (%s)" % per)
    lk.stop()


if __name__ == "__main__":
    t.main()
