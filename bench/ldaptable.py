#!/usr/bin/env python3
"""bench/ldaptable.py: lookupd's live ldap_table answers (lookupd/pfldap.c
through tests/tools/ldaptable-answer) beside Postfix's own ldap: client
(`postmap -q - ldap:FILE`) on the same ldap_table file and keys, side by
side in one run (never pass/fail).

    bench/ldaptable.py [--users 20000] [--keys 2000] [--rounds 3]

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
from lookupd import gen_ldif, FILTER                        # noqa: E402

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--keys", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
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
