#!/usr/bin/env python3
"""bench/lookupd.py: lookupd against what a mail administrator would use
instead, measured side by side in one run (never pass/fail).

    bench/lookupd.py [--users 100000] [--big 1000000] [--rounds 5]
                     [--keys 20000] [--relay-keys 3000] [--no-big]
                     [--baseline LOOKUPD] [--metrics]

1. Sequential lookups per second through `postmap -q -` (one Postfix
   client process, one connection, as a Postfix daemon asks), for the same
   random existing keys of a directory of --users accounts:
     floor     bench/floor-sockmap: a socketmap server answering from a
               hash table in memory: the protocol's floor on this machine
     lookupd   socketmap:unix:... to lookupd (snapshot hits)
     ldap      Postfix's own ldap: table, the equivalent filter, same slapd
     cdb       Postfix's cdb: table on lookupd's own snapshot file
     base      with --baseline LOOKUPD: another lookupd binary (say, one
               built from an earlier commit) on the same snapshot: what
               a change costs, side by side
     metrics   with --metrics: lookupd with metrics_file written every
               second (the default is every 15 s)
   Rounds are interleaved (floor, lookupd, ldap, cdb, floor, ...) and the
   median of each is reported, with ratios.
2. The same for lookupd and ldap: with slapd 1 ms of round trip away (a
   relay on loopback that holds each chunk 0.5 ms in each direction).
3. Full snapshot (lookupd sync, all maps) of --users and --big accounts:
   wall time and peak RSS, against a plain unpaged ldapsearch of the same
   entries and attributes to /dev/null (as the rootdn: no limits, no ACLs),
   and against the read lookupd really needs (as the system DN, paged),
   and the rootdn's read paged (what paging alone costs slapd); and
   lookupd's memory with the big snapshot loaded, before and after
   looking up 200,000 keys.

Needs the release build (`make && make bench-tools`), slapd, postfix,
postfix-ldap, postfix-cdb.  Everything runs under a temp dir, on loopback,
stopped by PID.
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import ldapmail_test as t                                   # noqa: E402

BENCH_BIN = os.path.join(t.SRC, "build", "rel", "bench")
RELAY = t.tool("delay-relay")
FILTER = "(|(accountStatus=active)(accountStatus=shared))"
DOMAINS = ["example%d.test" % i for i in range(10)]


def say(msg):
    print(msg, flush=True)


def gen_ldif(path, n):
    """The fixture's skeleton plus n active accounts; returns the list of
    (address, mailbox) pairs, mail and alternate addresses both."""
    pairs = []
    with open(path, "w") as f:
        f.write("""dn: o=company
objectClass: organization
o: company

dn: ou=System,o=company
objectClass: organizationalUnit
ou: System
userPassword: system-secret

dn: ou=postfix,ou=System,o=company
objectClass: organizationalUnit
ou: postfix

dn: dc=test,ou=postfix,ou=System,o=company
objectClass: dNSDomain
objectClass: domainRelatedObject
dc: test
%s
dn: ou=Tokelau,o=company
objectClass: organizationalUnit
ou: Tokelau

""" % "".join("associatedDomain: %s\n" % d for d in DOMAINS))
        for i in range(n):
            dom = DOMAINS[i % len(DOMAINS)]
            mail = "user%07d@%s" % (i, dom)
            alt = "u%07d.alias@%s" % (i, dom)
            box = "/vmail/%s/user%07d/Maildir/" % (dom, i)
            f.write("dn: uid=user%07d,ou=Tokelau,o=company\n"
                    "objectClass: inetOrgPerson\nobjectClass: qmailUser\n"
                    "uid: user%07d\ncn: User %d\nsn: %d\n"
                    "mail: %s\nmailAlternateAddress: %s\n"
                    "accountStatus: active\nmailMessageStore: %s\n\n"
                    % (i, i, i, i, mail, alt, box))
            if i % 5 == 0 or n <= 200000:
                pairs.append((mail, box))
                pairs.append((alt, box))
    return pairs


def timed(argv, stdin=None, env=None):
    """Wall seconds and peak RSS (KiB) of a command, via /usr/bin/time."""
    tf = os.path.join(t.tmpdir(), "time")
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as fin:
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf] + argv,
                           stdin=fin, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env=env)
        secs = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (argv[0], p.stderr[-500:]))
    with open(tf) as f:
        rss = int(f.read().split()[-1])
    return secs, rss


def postmap_rate(table, keyfile, nkeys, want_found):
    """Lookups/s of postmap -q - TABLE < keyfile (checks every key hit)."""
    t0 = time.monotonic()
    p = subprocess.run(["/usr/sbin/postmap", "-c", t._postfix_config_dir(),
                        "-q", "-", table], stdin=open(keyfile, "rb"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    secs = time.monotonic() - t0
    found = p.stdout.count(b"\n")
    if found != want_found:
        raise RuntimeError("%s: %d of %d keys found; %s" % (
            table, found, want_found, p.stderr[-300:]))
    return nkeys / secs


def ldap_cf(path, uri):
    with open(path, "w") as f:
        f.write("server_host = %s\nsearch_base = %s\nversion = 3\n"
                "query_filter = (&%s(|(mail=%%s)(mailAlternateAddress=%%s)))\n"
                "result_attribute = mailMessageStore\n"
                "bind = yes\nbind_dn = %s\nbind_pw = %s\n"
                % (uri, t.ACCOUNT_BASE, FILTER, t.SYSTEM_DN, t.SYSTEM_PW))
    return "ldap:" + path


def proc_mem(pid):
    st = t.proc_status(pid)
    return {k: int(st[k].split()[0]) for k in
            ("VmRSS", "RssAnon", "RssFile")}


def lookupd_conf(d, slapd_uri):
    return t.lookupd_config(_Uri(slapd_uri), d, refresh=86400,
                            min_refresh=86400, negative_ttl=30,
                            domain_base="ou=postfix,ou=System,o=company")


class _Uri:
    def __init__(self, uri):
        self.uri = uri


def throughput(args, slapd, pairs, d):
    keys = random.Random(1).sample(pairs, min(args.keys, len(pairs)))
    keyfile = os.path.join(d, "keys")
    with open(keyfile, "w") as f:
        f.write("".join(k + "\n" for k, _ in keys))
    recfile = os.path.join(d, "records")
    with open(recfile, "w") as f:
        f.write("".join("%s\t%s\n" % p for p in pairs))

    floor_sock = os.path.join(d, "floor.sock")
    floor = t.Daemon([os.path.join(BENCH_BIN, "floor-sockmap"), floor_sock,
                      recfile], name="floor").start()
    t.wait_until(lambda: os.path.exists(floor_sock), 60)
    time.sleep(0.5)

    ld = os.path.join(d, "lk")
    os.makedirs(ld)
    cfg = lookupd_conf(ld, slapd.uri)
    with open(os.path.join(ld, "sync.conf"), "w") as f:
        f.write(cfg)
    subprocess.run([t.LOOKUPD, "-c", os.path.join(ld, "sync.conf"), "sync"],
                   check=True, stdout=subprocess.DEVNULL)
    lk = t.Lookupd(cfg, dir=ld).start()

    tables = [
        ("floor", "socketmap:unix:%s:mailbox" % floor_sock),
        ("lookupd", lk.table("mailbox")),
        ("ldap", ldap_cf(os.path.join(d, "ldap-mailbox.cf"), slapd.uri)),
        ("cdb", "cdb:" + os.path.join(ld, "cache", "mailbox")),
    ]
    extra = []
    if args.baseline:
        # The same snapshot (cache_dir), its own socket.
        bcfg = cfg.replace(os.path.join(ld, "lookupd.sock"),
                           os.path.join(ld, "base.sock"))
        bd = os.path.join(d, "lk-base")
        os.makedirs(bd)
        base = t.Lookupd(bcfg, dir=bd, name="lookupd-base")
        base.argv[0] = args.baseline
        base.start()
        extra.append(base)
        tables.append(("base", base.table("mailbox")))
    if args.metrics:
        mcfg = cfg.replace(os.path.join(ld, "lookupd.sock"),
                           os.path.join(ld, "metrics.sock")) + \
            "metrics_file = %s\nmetrics_interval = 1\n" % os.path.join(
                ld, "ldapmail.prom")
        md = os.path.join(d, "lk-metrics")
        os.makedirs(md)
        mlk = t.Lookupd(mcfg, dir=md, name="lookupd-metrics").start()
        extra.append(mlk)
        tables.append(("metrics", mlk.table("mailbox")))
    rates = {name: [] for name, _ in tables}
    for r in range(args.rounds):
        for name, table in tables:
            rates[name].append(postmap_rate(table, keyfile, len(keys),
                                            len(keys)))
    med = {k: statistics.median(v) for k, v in rates.items()}
    say("\n## Sequential lookups/s, postmap -q -, %d keys, %d rounds, "
        "median (min-max)" % (len(keys), args.rounds))
    for name, _ in tables:
        say("  %-8s %9.0f  (%.0f-%.0f)" % (name, med[name], min(rates[name]),
                                           max(rates[name])))
    say("  lookupd / floor = %.2f   lookupd / ldap = %.2f   cdb / lookupd = "
        "%.1f" % (med["lookupd"] / med["floor"], med["lookupd"] / med["ldap"],
                  med["cdb"] / med["lookupd"]))
    for name in ("base", "metrics"):
        if name in med:
            say("  %s / floor = %.2f   lookupd / %s = %.3f" % (
                name, med[name] / med["floor"], name,
                med["lookupd"] / med[name]))
    for x in extra:
        x.stop()
    lk.stop()
    floor.stop()

    # Slapd 1 ms of round trip away.
    rport = t.free_port()
    relay = t.delay_relay(rport, slapd.port, 500)
    ruri = "ldap://127.0.0.1:%d" % rport
    rkeys = keys[:args.relay_keys]
    rkeyfile = os.path.join(d, "rkeys")
    with open(rkeyfile, "w") as f:
        f.write("".join(k + "\n" for k, _ in rkeys))
    rd = os.path.join(d, "lkr")
    os.makedirs(rd)
    rcfg = lookupd_conf(rd, ruri)
    with open(os.path.join(rd, "sync.conf"), "w") as f:
        f.write(rcfg)
    t0 = time.monotonic()
    subprocess.run([t.LOOKUPD, "-c", os.path.join(rd, "sync.conf"), "sync"],
                   check=True, stdout=subprocess.DEVNULL)
    sync_far = time.monotonic() - t0
    rlk = t.Lookupd(rcfg, dir=rd).start()
    rtables = [("lookupd", rlk.table("mailbox")),
               ("ldap", ldap_cf(os.path.join(d, "ldap-far.cf"), ruri))]
    rrates = {name: [] for name, _ in rtables}
    for r in range(args.rounds):
        for name, table in rtables:
            rrates[name].append(postmap_rate(table, rkeyfile, len(rkeys),
                                             len(rkeys)))
    rmed = {k: statistics.median(v) for k, v in rrates.items()}
    # Misses go to LDAP live: what an unknown address costs.
    mkeyfile = os.path.join(d, "mkeys")
    with open(mkeyfile, "w") as f:
        f.write("".join("nobody%d@%s\n" % (i, DOMAINS[0])
                        for i in range(500)))
    miss = postmap_rate(rlk.table("mailbox"), mkeyfile, 500, 0)
    say("\n## slapd 1 ms away (relay 0.5 ms each way), %d keys, median"
        % len(rkeys))
    for name, _ in rtables:
        say("  %-8s %9.0f  (%.0f-%.0f)" % (name, rmed[name],
                                           min(rrates[name]),
                                           max(rrates[name])))
    say("  lookupd / ldap = %.1f" % (rmed["lookupd"] / rmed["ldap"]))
    say("  lookupd misses (live LDAP, then negative cache): %.0f/s" % miss)
    say("  lookupd sync through the relay: %.1f s" % sync_far)
    rlk.stop()
    relay.stop()


def snapshot_cost(label, slapd, d, big_mem=False):
    ld = os.path.join(d, "snap-" + label.replace(",", ""))
    os.makedirs(ld)
    cfg = lookupd_conf(ld, slapd.uri)
    conf = os.path.join(ld, "sync.conf")
    with open(conf, "w") as f:
        f.write(cfg)
    search = ["/usr/bin/ldapsearch", "-x", "-H", slapd.uri, "-D", t.ROOT_DN,
              "-w", t.ROOT_PW, "-b", t.ACCOUNT_BASE, "-LLL", FILTER,
              "mail", "mailAlternateAddress", "mailMessageStore"]
    # The same read as lookupd does it: as the system DN (ACLs apply),
    # paged (the system DN is held to 500 entries otherwise).
    search_sys = ["/usr/bin/ldapsearch", "-x", "-H", slapd.uri, "-D",
                  t.SYSTEM_DN, "-w", t.SYSTEM_PW, "-b", t.ACCOUNT_BASE,
                  "-LLL", "-E", "pr=500/noprompt", FILTER, "mail",
                  "mailAlternateAddress", "mailMessageStore"]
    # What paging alone costs slapd: the rootdn's read, paged (500 and
    # 5000 a page: the page size hardly matters).
    search_pg = search[:-4] + ["-E", "pr=500/noprompt"] + search[-4:]
    search_pg5k = search[:-4] + ["-E", "pr=5000/noprompt"] + search[-4:]
    s_secs, s_rss = timed(search)
    r_secs, _ = timed(search_pg)
    r5_secs, _ = timed(search_pg5k)
    p_secs, _ = timed(search_sys)
    l_secs, l_rss = timed([t.LOOKUPD, "-c", conf, "sync"])
    size = sum(os.path.getsize(os.path.join(ld, "cache", m + ".cdb"))
               for m in ("domain", "alias", "mailbox"))
    say("\n## Full snapshot, %s accounts" % label)
    say("  ldapsearch, plain, unpaged, to /dev/null: %6.2f s  peak %7d KiB"
        % (s_secs, s_rss))
    say("  ldapsearch, rootdn, paged 500 / 5000:      %6.2f s / %.2f s"
        % (r_secs, r5_secs))
    say("  ldapsearch, system DN, paged 500:          %6.2f s"
        % p_secs)
    say("  lookupd sync (all 3 maps, paged):          %6.2f s  peak %7d KiB"
        % (l_secs, l_rss))
    say("  lookupd / plain ldapsearch %.2f; lookupd / same paged read %.2f;"
        " cdb files %.1f MB" % (l_secs / s_secs, l_secs / p_secs,
                                size / 1e6))
    if big_mem:
        lk = t.Lookupd(cfg, dir=ld).start()
        time.sleep(1)
        before = proc_mem(lk.pid)
        keys = os.path.join(ld, "keys")
        rnd = random.Random(2)
        n = 200000
        with open(keys, "w") as f:
            for _ in range(n):
                i = rnd.randrange(int(label.replace(",", "")) // 5) * 5
                f.write("user%07d@%s\n" % (i, DOMAINS[i % len(DOMAINS)]))
        rate = postmap_rate(lk.table("mailbox"), keys, n, n)
        after = proc_mem(lk.pid)
        say("  lookupd serving it: VmRSS %d KiB (anon %d, file %d) at start;"
            % (before["VmRSS"], before["RssAnon"], before["RssFile"]))
        say("  after %d random lookups (%.0f/s): VmRSS %d KiB (anon %d, "
            "file %d)" % (n, rate, after["VmRSS"], after["RssAnon"],
                          after["RssFile"]))
        lk.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100000)
    ap.add_argument("--big", type=int, default=1000000)
    ap.add_argument("--no-big", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--keys", type=int, default=20000)
    ap.add_argument("--relay-keys", type=int, default=3000)
    ap.add_argument("--baseline", metavar="LOOKUPD",
                    help="another lookupd binary, measured beside")
    ap.add_argument("--metrics", action="store_true",
                    help="also lookupd with metrics_file every second")
    args = ap.parse_args()
    for tool in (os.path.join(BENCH_BIN, "floor-sockmap"), RELAY):
        if not os.access(tool, os.X_OK):
            sys.exit("build first: make && make bench-tools")
    d = t.tmpdir("ldapmail-bench-")
    say("# bench/lookupd.py on %s, %d CPUs, %s" % (
        os.uname().nodename, os.cpu_count(), time.strftime("%F %T")))

    ldif = os.path.join(d, "users.ldif")
    t0 = time.monotonic()
    pairs = gen_ldif(ldif, args.users)
    slapd = t.Slapd(ldifs=[ldif]).start()
    say("# %d accounts generated and loaded in %.0f s" % (
        args.users, time.monotonic() - t0))
    throughput(args, slapd, pairs, d)
    snapshot_cost("{:,}".format(args.users), slapd, d)
    slapd.stop()

    if not args.no_big:
        ldif = os.path.join(d, "big.ldif")
        os.environ["TEST_SLAPD_MAXSIZE"] = str(8 << 30)
        t0 = time.monotonic()
        gen_ldif(ldif, args.big)
        big = t.Slapd(ldifs=[ldif]).start()
        say("\n# %d accounts generated and loaded in %.0f s" % (
            args.big, time.monotonic() - t0))
        os.unlink(ldif)
        snapshot_cost("{:,}".format(args.big), big, d, big_mem=True)
        big.stop()


if __name__ == "__main__":
    main()
