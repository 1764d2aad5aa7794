#!/usr/bin/env python3
"""test_snapshot_durability: a snapshot is on the disk before it replaces
the old one, seen in the system calls `lookupd sync` makes (strace -f).

For every map, in the first sync (no old files) and in a second one (old
files in place, swapped out):
- the temporary cdb file and the temporary digest file are each fsynced
  (fsync or fdatasync of a descriptor open on that very file), and the
  call has returned before the rename that puts the file in place starts;
- the digest is put in place before the cdb file (a reader that sees a
  new cdb file always finds its digest);
- cache_dir itself is fsynced after both renames (the names survive a
  crash);
- afterwards both files verify (sha256sum -c) and no temporary is left.
A kernel crash can thus leave the old pair or the new pair, never a
renamed file whose blocks were not written.  The traced lookupd runs with
LeakSanitizer off (it cannot work under ptrace); the same command runs
leak-checked in test_lookupd_answers.
"""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

MAPS = ("domain", "alias", "mailbox")
S = {}

# [pid N] NAME(ARGS) = RET, possibly split into "<unfinished ...>" and
# "<... NAME resumed>" lines when threads interleave.
LINE = re.compile(r"^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)?(.*)$")


def calls(path):
    """[(index, pid, name, text, finished)] of an strace -f -y log: one
    entry when a call starts (finished: its result is on the same line)
    and one when an unfinished call resumes (name, finished=True)."""
    out = []
    with open(path, errors="replace") as f:
        for i, raw in enumerate(f):
            m = LINE.match(raw.rstrip("\n"))
            pid = m.group(1) or m.group(2) or "0"
            body = m.group(3)
            r = re.match(r"<\.\.\. (\w+) resumed>(.*)$", body)
            if r:
                out.append((i, pid, r.group(1), r.group(2), True))
                continue
            c = re.match(r"(\w+)\((.*)$", body)
            if c:
                out.append((i, pid, c.group(1), c.group(2),
                            "<unfinished ...>" not in body))
    return out


def done_at(cs, k):
    """Index of the line where call cs[k] returned."""
    i, pid, name, _, finished = cs[k]
    if finished:
        return i
    for j, p, n, _, fin in cs[k + 1:]:
        if p == pid and n == name and fin:
            return j
    return None


def succeeded(cs, k):
    """Whether call cs[k] returned 0."""
    j = done_at(cs, k)
    text = [c for c in cs if c[0] == j and c[4]]
    return bool(text) and re.search(r"\)\s*=\s*0\s*$", text[-1][3]) is not None


def fd_path(text):
    m = re.match(r"\d+<([^>]*)>", text)
    return m.group(1) if m else None


def rename_args(name, text):
    """(source, target) of a rename/renameat/renameat2 call's text."""
    strs = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
    return (strs[0], strs[1]) if len(strs) >= 2 else (None, None)


def check_log(log, cache, label):
    cs = calls(log)
    syncs = []          # (line returned, path)
    renames = []        # (line started, source, target) that succeeded
    for k, (i, pid, name, text, _) in enumerate(cs):
        if name in ("fsync", "fdatasync") and not text.startswith(")"):
            syncs.append((done_at(cs, k), fd_path(text)))
        elif name in ("rename", "renameat", "renameat2") and \
                not text.startswith(")") and succeeded(cs, k):
            src, dst = rename_args(name, text)
            renames.append((i, src, dst))
    t.ok(syncs and renames, "%s: strace saw fsync and rename calls" % label,
         "%d fsyncs, %d renames" % (len(syncs), len(renames)))
    for m in MAPS:
        final = os.path.join(cache, m + ".cdb")
        dfinal = final + ".sha256"
        for what, target, pat in (
                ("cdb", final, r"\.%s\.cdb\.[A-Za-z0-9]{6}$" % m),
                ("digest", dfinal, r"\.%s\.cdb\.sha256\.[A-Za-z0-9]{6}$"
                 % m)):
            rn = [(i, s) for i, s, d in renames if d == target and s and
                  re.search(pat, os.path.basename(s))]
            t.eq(len(rn), 1, "%s: %s: the %s is renamed into place once, "
                 "from a temporary" % (label, m, what),
                 repr([r for r in renames if r[2] == target]))
            if len(rn) != 1:
                continue
            at, tmp = rn[0]
            synced = [j for j, p in syncs if p == tmp and j is not None]
            t.ok(synced and min(synced) < at, "%s: %s: its temporary %s "
                 "is fsynced before the rename" % (label, m, what),
                 "fsyncs of it end at lines %s, rename at line %d" %
                 (synced, at))
        cdb_at = [i for i, s, d in renames if d == final]
        dig_at = [i for i, s, d in renames if d == dfinal]
        t.ok(cdb_at and dig_at and max(dig_at) < min(cdb_at),
             "%s: %s: the digest is in place before the cdb file" %
             (label, m))
        dsync = [j for j, p in syncs if p == cache and j is not None]
        t.ok(cdb_at and any(j > min(cdb_at) for j in dsync),
             "%s: %s: cache_dir is fsynced after the renames" % (label, m),
             "directory fsyncs end at %s, cdb renamed at %s" %
             (dsync, cdb_at))
    r = t.run(["sha256sum", "--strict", "-c"] +
              ["%s.cdb.sha256" % m for m in MAPS], cwd=cache)
    t.eq(r.rc, 0, "%s: every digest verifies" % label, r.why())
    t.eq([n for n in os.listdir(cache) if n.startswith(".")], [],
         "%s: no temporary left" % label)


def traced_sync(lk, log):
    return t.run(["strace", "-f", "-qq", "-y", "-s", "4096", "-e",
                  "signal=none", "-e",
                  "trace=fsync,fdatasync,rename,renameat,renameat2",
                  "-o", log, t.LOOKUPD, "-c", lk.conf, "sync"],
                 timeout=120, env=t.traced_env())


@t.test
def sync_fsyncs_before_it_renames():
    if shutil.which("strace") is None:
        t.skip("fsync before rename", "strace is not installed "
               "(scripts/deps installs it)")
        return
    s = t.Slapd().start()
    d = t.tmpdir()
    lk = t.Lookupd(t.lookupd_config(s, d), dir=d)
    cache = os.path.join(d, "cache")
    for n, label in ((1, "first sync"), (2, "second sync")):
        log = os.path.join(d, "strace.%d" % n)
        r = traced_sync(lk, log)
        t.eq(r.rc, 0, "%s under strace: exit 0" % label, r.why())
        check_log(log, cache, label)


if __name__ == "__main__":
    t.main()
