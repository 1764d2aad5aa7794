#!/usr/bin/env python3
"""bench/ldaptable.py: lookupd's live ldap_table answers (lookupd/pfldap.c
through tests/tools/ldaptable-answer) beside Postfix's own ldap: client
(`postmap -q - ldap:FILE`) on the same ldap_table file and keys, side by
side in one run (never pass/fail).

    bench/ldaptable.py [--users 20000] [--keys 2000] [--rounds 3]
    bench/ldaptable.py --snapshot [--users 100000] [--groups 10000]

--snapshot: an enumerable ldap_table map's snapshot (lookupd/tablebuild.c)
beside the equivalent native map's: `lookupd sync` of the howto's alias
filter as an ldap_table file and as a [map] section (profile = none, one
map each; --rounds rounds, native and ldap_table in turn, medians; `-v
sync` prints each phase's time: the read, the answers, the writing);
then sequential lookups (postmap -q -, found keys) through the floor
socketmap server (bench/floor-sockmap), lookupd answering the
ldap_table map from its snapshot, and Postfix's ldap: on the same file
with slapd 1 ms of round trip away; then a group map (--groups groups
of 50 members each, special_result_attribute = member): snapshot time
and size.

slapd holds --users accounts (bench/lookupd.py's generator); the table is
the howto's alias filter.  Both programs read the same keys (half found,
half unknown addresses of the same domains) from stdin in one process
each, one search per key, and print what they find: the time per key is
the lookup path itself (process start-up is a few ms of the total).
Rounds are interleaved; medians.  Then the same with slapd 1 ms of round
trip away (tests/tools/delay-relay, 0.5 ms each way).  The answers of the
two are compared, and any difference is printed (the differential test,
tests/integration/test_ldaptable_diff.py, is what proves them equal).

Needs the release build (`make`) and slapd.
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
sys.path.insert(0, HERE)
import ldapmail_test as t                                   # noqa: E402
from lookupd import gen_ldif, FILTER, BENCH_BIN, postmap_rate  # noqa

ANSWER = os.path.join(t.SRC, "build", "rel", "tests", "tools",
                      "ldaptable-answer")


def say(s):
    print(s, flush=True)


def table(path, uri):
    t.write(path, "server_host = %s\nversion = 3\nbind_dn = %s\n"
            "bind_pw = %s\nsearch_base = ou=Tokelau,o=company\n"
            "query_filter = (&(|(mail=%%s)(mailAlternateAddress=%%s))%s)\n"
            "result_attribute = mail\n" % (uri, t.SYSTEM_DN, t.SYSTEM_PW,
                                           FILTER), mode=0o600)
    return path


def run(argv, keyfile):
    with open(keyfile) as f:
        t0 = time.monotonic()
        r = subprocess.run(argv, stdin=f, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        return time.monotonic() - t0, r


def compare(d, cf, keyfile, nkeys, rounds, label):
    pf_argv = ["/usr/sbin/postmap", "-c", t._postfix_config_dir(), "-q",
               "-", "ldap:" + cf]
    our_argv = [ANSWER, cf]
    times = {"postfix": [], "lookupd": []}
    outs = {}
    for _ in range(rounds):
        for name, argv in (("postfix", pf_argv), ("lookupd", our_argv)):
            s, r = run(argv, keyfile)
            if r.returncode != 0:
                say("  %s failed: %s" % (name, r.stderr.strip()[:300]))
                return
            times[name].append(s)
            outs[name] = r.stdout
    med = {k: statistics.median(v) for k, v in times.items()}
    say("%s: %d keys, %d rounds, medians" % (label, nkeys, rounds))
    for name in ("postfix", "lookupd"):
        say("  %-8s %7.3f s  %7.3f ms/key" % (name, med[name],
                                             1000 * med[name] / nkeys))
    say("  lookupd / postfix time = %.2f" % (med["lookupd"] /
                                              med["postfix"]))

    def answers(text):
        out = {}
        for line in text.splitlines():
            k, _, v = line.partition("\t")
            out[k] = sorted(v.split(","))
        return out
    a, b = answers(outs["postfix"]), answers(outs["lookupd"])
    diff = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
    say("  found: postfix %d, lookupd %d, keys answered differently: %d"
        % (len(a), len(b), len(diff)))


def groups_ldif(path, ngroups, nusers, members=50):
    """ngroups groups of members accounts each (mail group%06d@...)."""
    with open(path, "w") as f:
        f.write("dn: ou=Groups,o=company\nobjectClass: organizationalUnit"
                "\nou: Groups\n\n")
        for g in range(ngroups):
            f.write("dn: cn=group%06d,ou=Groups,o=company\n"
                    "objectClass: groupOfNames\nobjectClass: "
                    "extensibleObject\ncn: group%06d\n"
                    "mail: group%06d@example0.test\n" % (g, g, g))
            for m in range(members):
                u = (g * members + m) % nusers
                f.write("member: uid=user%07d,ou=Tokelau,o=company\n" % u)
            f.write("\n")


def sync_secs(d, name, cfg, rounds):
    return syncs_secs(d, [(name, cfg)], rounds)[0]


def syncs_secs(d, runs, rounds):
    """lookupd sync of each (name, cfg) in turn, rounds times (the
    rounds interleaved: a change of load hits every one alike); for each
    the median seconds, its directory and its last output."""
    confs = []
    for name, cfg in runs:
        ld = os.path.join(d, name)
        os.makedirs(ld, exist_ok=True)
        conf = os.path.join(ld, "ldapmail.conf")
        t.write(conf, cfg(ld))
        confs.append((ld, conf))
    secs = [[] for _ in runs]
    outs = [None for _ in runs]
    for _ in range(rounds):
        for i, (ld, conf) in enumerate(confs):
            t0 = time.monotonic()
            r = subprocess.run([t.LOOKUPD, "-c", conf, "sync"],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            secs[i].append(time.monotonic() - t0)
            if r.returncode != 0:
                raise RuntimeError("lookupd sync: " + r.stderr[-400:])
            outs[i] = r.stdout
    return [(statistics.median(secs[i]), confs[i][0], outs[i])
            for i in range(len(runs))]


def snapshot_bench(args):
    d = t.tmpdir("ldapmail-bench-tablesnap-")
    ldif = os.path.join(d, "users.ldif")
    pairs = gen_ldif(ldif, args.users)
    gl = os.path.join(d, "groups.ldif")
    groups_ldif(gl, args.groups, args.users)
    slapd = t.Slapd(ldifs=[ldif, gl]).start(timeout=1200)
    uri = slapd.uri.rstrip("/")
    base = "ou=Tokelau,o=company"
    cf = table(os.path.join(d, "alias.cf"), uri)

    def conf(extra):
        return lambda ld: t.lookupd_config(
            slapd, ld, profile="none", refresh=86400, min_refresh=86400,
            extra=extra)
    native = ("[map alias]\nbase = %s\nfilter = %s\nkey = mail "
              "mailAlternateAddress\nresult = mail\nkind = plain\n"
              % (base, FILTER))
    say("slapd with %d accounts and %d groups of 50" % (args.users,
                                                        args.groups))
    (n_secs, n_dir, _), (t_secs, t_dir, out) = syncs_secs(
        d, [("native", conf(native)),
            ("table", conf("[map alias]\nldap_table = %s\n" % cf))],
        args.rounds)
    say("\n## Snapshot of the howto's alias filter (lookupd sync, median "
        "of %d interleaved rounds)" % args.rounds)
    for label, secs, ld in (("native [map]", n_secs, n_dir),
                            ("ldap_table", t_secs, t_dir)):
        size = os.path.getsize(os.path.join(ld, "cache", "alias.cdb"))
        say("  %-13s %7.2f s  %9d bytes" % (label, secs, size))
    say("  ldap_table / native = %.2f" % (t_secs / n_secs))
    same = subprocess.run(["cmp", os.path.join(n_dir, "cache", "alias.cdb"),
                           os.path.join(t_dir, "cache", "alias.cdb")],
                          stdout=subprocess.DEVNULL).returncode == 0
    say("  the two cdb files are %s" % ("identical" if same else
                                        "different"))

    # lookups: floor, lookupd from the snapshot, Postfix ldap: 1 ms away
    rnd = random.Random(5)
    found = [k for k, _ in rnd.sample(pairs, min(len(pairs), args.keys))]
    keyfile = os.path.join(d, "keys")
    t.write(keyfile, "".join(k + "\n" for k in found))
    recfile = os.path.join(d, "records")
    with open(recfile, "w") as f:
        for i in range(args.users):
            dom = "example%d.test" % (i % 10)
            mail = "user%07d@%s" % (i, dom)
            f.write("%s\t%s\nu%07d.alias@%s\t%s\n" % (mail, mail, i, dom,
                                                      mail))
    floor_sock = os.path.join(d, "floor.sock")
    floor = t.Daemon([os.path.join(BENCH_BIN, "floor-sockmap"), floor_sock,
                      recfile], name="floor").start()
    t.wait_until(lambda: os.path.exists(floor_sock), 60)
    time.sleep(0.5)
    lk = t.Lookupd(conf("[map alias]\nldap_table = %s\n" % cf)(t_dir),
                   dir=t_dir).start()
    rport = t.free_port()
    relay = t.delay_relay(rport, slapd.port, 500)
    far = table(os.path.join(d, "far.cf"), "ldap://127.0.0.1:%d" % rport)
    tables = [("floor", "socketmap:unix:%s:alias" % floor_sock),
              ("lookupd", lk.table("alias")),
              ("ldap 1ms", "ldap:" + far)]
    rates = {n: [] for n, _ in tables}
    for n, tb in tables:            # warm up: connections, page cache
        postmap_rate(tb, keyfile, len(found), len(found))
    for _ in range(args.rounds):
        for n, tb in tables:
            rates[n].append(postmap_rate(tb, keyfile, len(found),
                                         len(found)))
    med = {k: statistics.median(v) for k, v in rates.items()}
    say("\n## Sequential lookups/s, postmap -q -, %d found keys, median of "
        "%d" % (len(found), args.rounds))
    for n, _ in tables:
        say("  %-9s %9.0f" % (n, med[n]))
    say("  lookupd / floor = %.2f   lookupd / Postfix ldap: 1 ms away = "
        "%.1f" % (med["lookupd"] / med["floor"],
                  med["lookupd"] / med["ldap 1ms"]))
    relay.stop()
    lk.stop()
    floor.stop()

    # a group map
    gcf = os.path.join(d, "groups.cf")
    t.write(gcf, "server_host = %s\nversion = 3\nbind_dn = %s\n"
            "bind_pw = %s\nsearch_base = o=company\n"
            "query_filter = (&(objectClass=groupOfNames)(mail=%%s))\n"
            "result_attribute = mail\nspecial_result_attribute = member\n"
            % (uri, t.SYSTEM_DN, t.SYSTEM_PW), mode=0o600)
    g_secs, g_dir, out = sync_secs(
        d, "groups", conf("[map groups]\nldap_table = %s\n" % gcf), 1)
    size = os.path.getsize(os.path.join(g_dir, "cache", "groups.cdb"))
    say("\n## Group map: %d groups of 50 members (search_base o=company, "
        "member DNs followed)" % args.groups)
    say("  lookupd sync %.2f s, %d bytes, %s" % (g_secs, size,
                                                out.strip()))
    slapd.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--keys", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--snapshot", action="store_true")
    ap.add_argument("--groups", type=int, default=10000)
    args = ap.parse_args()
    if args.snapshot:
        return snapshot_bench(args)
    if not os.access(ANSWER, os.X_OK):
        sys.exit("bench/ldaptable.py: build first: make")
    d = t.tmpdir("ldapmail-bench-ldaptable-")
    ldif = os.path.join(d, "users.ldif")
    pairs = gen_ldif(ldif, args.users)
    slapd = t.Slapd(ldifs=[ldif]).start(timeout=600)
    rnd = random.Random(11)
    found = [k for k, _ in rnd.sample(pairs, min(len(pairs),
                                                 args.keys // 2))]
    unknown = ["nobody%06d@%s" % (i, k.rsplit("@", 1)[1])
               for i, k in enumerate(found)]
    keys = found + unknown
    rnd.shuffle(keys)
    keyfile = os.path.join(d, "keys")
    t.write(keyfile, "".join(k + "\n" for k in keys))
    say("slapd with %d accounts; the howto's alias filter as an "
        "ldap_table file" % args.users)
    compare(d, table(os.path.join(d, "near.cf"),
                     slapd.uri.rstrip("/")), keyfile, len(keys),
            args.rounds, "slapd on loopback")
    rport = t.free_port()
    relay = t.delay_relay(rport, slapd.port, 500)
    far = "ldap://127.0.0.1:%d" % rport
    compare(d, table(os.path.join(d, "far.cf"), far), keyfile, len(keys),
            args.rounds, "slapd 1 ms away")
    relay.stop()
    slapd.stop()


if __name__ == "__main__":
    main()
