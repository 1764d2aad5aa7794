#!/usr/bin/env python3
"""test_snapshot_format: lookupd's snapshots are Postfix's own cdb tables.

Builds snapshots with tests/tools/snaptool (in $LDAPMAIL_BUILD) and checks
them with the real tools:
- `postmap -q KEY cdb:DIR/MAP` answers exactly what snaptool's lookup
  answers, for every key: queried in mixed case, multi-valued keys merged
  with ",", a 1000-byte key, a UTF-8 value; a missing key exits 1; the key
  of a single map with two values is absent;
- `cdb -d` shows lowercased keys and no NUL byte anywhere;
- `sha256sum -c MAP.cdb.sha256`, run inside DIR, accepts the digest file;
- `postmap cdb:` building the same (merged) data from a source file gives
  the same records (order aside);
- a flipped byte makes `snaptool verify` refuse the file (postmap would
  still answer from it: the digest is what protects lookupd).
Needs postmap with cdb support (postfix-cdb), tinycdb's `cdb`, sha256sum.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", "lib"))
import ldapmail_test as t  # noqa: E402

SNAPTOOL = t.tool("snaptool")

LONG_KEY = "L" * 988 + "@example.com"          # 1000 bytes
UTF8_VALUE = "J\u00fcrgen M\u00fcller <j@example.com>"

# (key, value, dn), in the order they are added.
RECORDS = [
    ("Alice@Example.COM", "/vmail/example.com/alice/", "uid=alice,o=x"),
    ("bob@example.com", "/vmail/example.com/bob/", "uid=bob,o=x"),
    ("Team@Example.com", "alice@example.com", "cn=team,o=x"),
    ("team@example.com", "bob@example.com,carol@example.com", "cn=team2,o=x"),
    ("TEAM@EXAMPLE.COM", "alice@example.com", "cn=team3,o=x"),
    ("team@example.com", "dave@example.com", "cn=team,o=x"),
    ("@Example.org", "@example.com", "dc=example.org,o=x"),
    (LONG_KEY, "long-key-value", "uid=long,o=x"),
    ("juergen@example.com", UTF8_VALUE, "uid=j,o=x"),
    ("spaces@example.com", "a value with spaces", "uid=s,o=x"),
]

# What each key must answer (merged, duplicates dropped, insertion order).
EXPECTED = {
    "alice@example.com": "/vmail/example.com/alice/",
    "bob@example.com": "/vmail/example.com/bob/",
    "team@example.com": "alice@example.com,bob@example.com,"
                        "carol@example.com,dave@example.com",
    "@example.org": "@example.com",
    LONG_KEY.lower(): "long-key-value",
    "juergen@example.com": UTF8_VALUE,
    "spaces@example.com": "a value with spaces",
}


def records_text(recs):
    return "".join("%s\t%s\t%s\n" % r for r in recs)


def mixed_case(key):
    """A query spelled differently from what was stored."""
    return "".join(c.upper() if i % 2 else c for i, c in enumerate(key))


def short(key):
    return key if len(key) < 40 else "%s...(%d bytes)" % (key[:20], len(key))


def cdb_dump(path):
    """Records of a cdb file as a list of (key, value) bytes, via cdb -d."""
    r = t.run(["cdb", "-d", path], check=True)
    out, recs, i = r.outb, [], 0
    while i < len(out) and out[i:i + 1] == b"+":
        comma = out.index(b",", i)
        colon = out.index(b":", comma)
        klen = int(out[i + 1:comma])
        vlen = int(out[comma + 1:colon])
        k0 = colon + 1
        if out[k0 + klen:k0 + klen + 2] != b"->":
            raise RuntimeError("cdb -d output not understood at %d" % i)
        v0 = k0 + klen + 2
        if out[v0 + vlen:v0 + vlen + 1] != b"\n":
            raise RuntimeError("cdb -d output not understood at %d" % v0)
        recs.append((out[k0:k0 + klen], out[v0:v0 + vlen]))
        i = v0 + vlen + 1
    return recs


def build(d, name, recs, *extra):
    r = t.run([SNAPTOOL, "build", d, name] + list(extra),
              input=records_text(recs))
    t.ok(r.rc == 0, "snaptool builds map %s" % name, r.why())
    return r


def tools_present():
    missing = [x for x in ("cdb", "sha256sum", "/usr/sbin/postmap")
               if shutil.which(x) is None]
    if missing or not os.access(SNAPTOOL, os.X_OK):
        t.ok(False, "tools present", "missing: %s" % (
            ", ".join(missing) or SNAPTOOL))
        return False
    return True


@t.test
def postmap_answers_like_lookupd():
    if not tools_present():
        return
    d = t.tmpdir("snapfmt-")
    if build(d, "m", RECORDS).rc != 0:
        return
    table = "cdb:" + os.path.join(d, "m")
    for key, want in EXPECTED.items():
        for q in (key, mixed_case(key)):
            rc, out = t.postmap_q(q, table)
            t.eq((rc, out), (0, want), "postmap -q %s%s" % (
                short(key), "" if q == key else " (mixed case)"))
        r = t.run([SNAPTOOL, "get", d, "m", mixed_case(key)])
        t.eq((r.rc, r.out), (0, want + "\n"),
             "snaptool get %s gives the same answer" % short(key))
    t.eq(t.postmap_q("nobody@example.com", table), (1, ""),
         "postmap -q of a missing key exits 1 with no output")
    r = t.run([SNAPTOOL, "get", d, "m", "nobody@example.com"])
    t.eq(r.rc, 1, "snaptool get of a missing key exits 1")


@t.test
def cdb_dump_and_digest():
    if not tools_present():
        return
    d = t.tmpdir("snapfmt-")
    if build(d, "m", RECORDS).rc != 0:
        return
    recs = cdb_dump(os.path.join(d, "m.cdb"))
    t.ok(len(recs) == len(EXPECTED) and
         len({k for k, _ in recs}) == len(recs),
         "cdb -d: one record per key", "%d records" % len(recs))
    t.ok(all(b"\0" not in k and b"\0" not in v for k, v in recs),
         "cdb -d: no NUL byte in keys or values")
    t.ok(all(k == k.lower() for k, _ in recs), "cdb -d: keys are lowercased")
    t.eq(sorted(recs), sorted((k.encode(), v.encode())
                              for k, v in EXPECTED.items()),
         "cdb -d: the records are exactly the expected ones")
    r = t.run(["sha256sum", "-c", "m.cdb.sha256"], cwd=d)
    t.eq((r.rc, r.out), (0, "m.cdb: OK\n"),
         "sha256sum -c accepts the digest file inside DIR")


@t.test
def same_records_as_postmaps_own_cdb():
    if not tools_present():
        return
    d = t.tmpdir("snapfmt-")
    if build(d, "m", RECORDS).rc != 0:
        return
    ours = cdb_dump(os.path.join(d, "m.cdb"))
    # The merged data as a postmap source, keys spelled as first added.
    first = {}
    for k, _, _ in RECORDS:
        first.setdefault(k.lower(), k)
    src = os.path.join(d, "pm")
    with open(src, "w", encoding="utf-8") as f:
        for k, v in EXPECTED.items():
            f.write("%s %s\n" % (first[k], v))
    r = t.postmap(["cdb:" + src])
    if not t.ok(r.rc == 0, "postmap cdb: builds the same data", r.why()):
        return
    theirs = cdb_dump(src + ".cdb")
    t.eq(sorted(theirs), sorted(ours),
         "postmap's cdb and ours hold the same records")


@t.test
def single_map_conflict():
    if not tools_present():
        return
    d = t.tmpdir("snapfmt-")
    recs = [
        ("Alice@example.com", "/vmail/a/", "uid=alice,o=x"),
        ("alice@example.com", "/vmail/a2/", "uid=alice2,o=x"),
        ("bob@example.com", "/vmail/b/", "uid=bob,o=x"),
        ("bob@example.com", "/vmail/b/", "uid=bob,o=x"),
    ]
    r = build(d, "s", recs, "--single")
    t.ok("conflict: s alice@example.com: uid=alice,o=x; uid=alice2,o=x\n"
         in r.err, "single map: conflict reported with both DNs", r.why())
    table = "cdb:" + os.path.join(d, "s")
    t.eq(t.postmap_q("alice@example.com", table)[0], 1,
         "single map: postmap does not find the conflicting key")
    t.eq(t.postmap_q("BOB@example.com", table), (0, "/vmail/b/"),
         "single map: postmap finds the repeated same value once")


@t.test
def digest_guards_what_postmap_cannot_see():
    if not tools_present():
        return
    d = t.tmpdir("snapfmt-")
    if build(d, "x", RECORDS).rc != 0:
        return
    r = t.run([SNAPTOOL, "verify", d, "x"])
    t.eq((r.rc, r.out), (0, "ok %d keys\n" % len(EXPECTED)),
         "snaptool verify accepts a fresh snapshot")
    path = os.path.join(d, "x.cdb")
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        # One byte inside a value: the file stays a valid cdb.
        i = data.index(b"/vmail/example.com/bob/")
        data[i + 1] ^= 0x20
        f.seek(0)
        f.write(data)
    rc, out = t.postmap_q("bob@example.com", "cdb:" + os.path.join(d, "x"))
    t.ok(rc == 0 and out != "/vmail/example.com/bob/",
         "a flipped value byte still reads for postmap", (rc, out))
    r = t.run([SNAPTOOL, "verify", d, "x"])
    t.ok(r.rc == 1 and "digest mismatch" in r.out,
         "but snaptool verify refuses it: digest mismatch", r.why())
    r = t.run(["sha256sum", "-c", "x.cdb.sha256"], cwd=d)
    t.ok(r.rc != 0, "and so does sha256sum -c", r.why())


if __name__ == "__main__":
    t.main()
