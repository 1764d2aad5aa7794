#!/usr/bin/env python3
"""bench/snapwriter.py: what a snapshot commit costs (never pass/fail).

    bench/snapwriter.py [--keys 100000 1000000] [--changes 1000 10000]
                        [--rounds 5]

For each size, a mailbox-like map (keys user<N>@example<M>.test, values
/vmail/user<N>/Maildir/, given in random order as LDAP gives entries) is
built whole with `snaptool build` (the commit only: a real full build
also reads the whole directory first, about 6 s at 1,000,000), then
batches of changes (a third replaces, a third deletes, a third new keys)
are applied with `snaptool batch` (snapwriter_from: the snapshot in
place plus the changes, no LDAP), each to a fresh copy of the built
file.  Rounds interleave build and batches; the medians of the commit
times snaptool reports (sort, write, fsync, digest, renames; not the
reading of its input) are printed with the file size.  The figures go
into the header of lookupd/snapwriter.c.

Needs the release build (`make`): build/rel/tests/tools/snaptool.
"""
import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SNAPTOOL = os.path.join(HERE, "..", "build", "rel", "tests", "tools",
                        "snaptool")


def records(n):
    """In no key order, as a directory returns its entries."""
    order = list(range(n))
    random.Random(n).shuffle(order)
    return "".join("user%07d@example%d.test\t/vmail/user%07d/Maildir/\n" %
                   (i, i % 10, i) for i in order)


def changes(n, keys, seed):
    rnd = random.Random(seed)
    third = n // 3
    out = []
    for i in rnd.sample(range(keys), third):
        out.append("=user%07d@example%d.test\t/vmail/moved%07d/Maildir/\n"
                   % (i, i % 10, i))
    for i in rnd.sample(range(keys), third):
        out.append("-user%07d@example%d.test\n" % (i, i % 10))
    for i in range(keys, keys + n - 2 * third):
        out.append("+user%07d@example%d.test\t/vmail/user%07d/Maildir/\n"
                   % (i, i % 10, i))
    rnd.shuffle(out)
    return "".join(out)


def commit_secs(argv, text):
    r = subprocess.run(argv, input=text.encode(), capture_output=True)
    m = re.search(rb"commit ([0-9.]+) s", r.stderr)
    if r.returncode != 0 or not m:
        sys.exit("%s failed: %s" % (" ".join(argv), r.stderr.decode()))
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, nargs="+", default=[100000, 1000000])
    ap.add_argument("--changes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    if not os.access(SNAPTOOL, os.X_OK):
        sys.exit("build first: make (needs %s)" % SNAPTOOL)
    top = tempfile.mkdtemp(prefix="bench-snapwriter-")
    try:
        for n in a.keys:
            built = os.path.join(top, "built-%d" % n)
            work = os.path.join(top, "work-%d" % n)
            os.makedirs(built)
            recs = records(n)
            full, batch = [], {c: [] for c in a.changes}
            for r in range(a.rounds):
                shutil.rmtree(built)
                os.makedirs(built)
                full.append(commit_secs([SNAPTOOL, "build", built,
                                         "mailbox"], recs))
                for c in a.changes:
                    shutil.rmtree(work, ignore_errors=True)
                    shutil.copytree(built, work)
                    batch[c].append(commit_secs(
                        [SNAPTOOL, "batch", work, "mailbox"],
                        changes(c, n, r)))
            size = os.path.getsize(os.path.join(built, "mailbox.cdb"))
            print("%9d keys (%5.1f MB): full build %6.3f s" % (
                n, size / 1e6, statistics.median(full)), end="")
            for c in a.changes:
                print(", batch of %d %6.3f s" % (
                    c, statistics.median(batch[c])), end="")
            print("   (medians of %d)" % a.rounds, flush=True)
    finally:
        shutil.rmtree(top)


if __name__ == "__main__":
    main()
