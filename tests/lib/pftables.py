"""pftables: what the ldap_table tests share: the differential key list
over the test directories (the howto fixture, tests/fixtures/tables.ldif
and jamm.ldif) and Postfix's own answers for a table (`postmap -q`),
errors told apart from not-found."""
import os

import ldapmail_test as t

FIX = os.path.join(t.SRC, "tests", "fixtures")


def ldif_values(path, names):
    """Every value of the attributes names (lowercase) in an LDIF."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            k, sep, v = line.rstrip("\n").partition(": ")
            if sep and k.lower() in names:
                out.append(v)
    return out


def key_list():
    addrs = []
    for f in (t.fixture_path(), os.path.join(FIX, "tables.ldif"),
              os.path.join(FIX, "jamm.ldif")):
        addrs += ldif_values(f, ("mail", "mailalternateaddress",
                                 "maildrop", "mailforwardingaddress"))
    domains = set()
    for f in (t.fixture_path(), os.path.join(FIX, "jamm.ldif")):
        domains.update(ldif_values(f, ("associateddomain", "jvd")))
    for a in addrs:
        if "@" in a:
            domains.add(a.rsplit("@", 1)[1])
    keys = []
    for a in sorted(set(addrs)):
        local, _, dom = a.rpartition("@")
        keys += [a, a.upper(),
                 "".join(c.upper() if i % 2 else c.lower()
                         for i, c in enumerate(a)),
                 "%s+ext@%s" % (local, dom), local]
    for d in sorted(domains):
        keys += [d, d.upper(), "@" + d, "nosuchuser@" + d,
                 "postmaster@" + d, "sub." + d]
    keys += ["", "@", "alice@", "@example.com", "alice@@example.com",
             "*", "*@example.com", "alice*", "(alice@example.com)",
             "alice@example.com)(mail=*", "\\", "back\\slash@example.com",
             "back\\5cslash@example.com", "com,ma@example.com",
             "sp ace@example.com", " alice@example.com",
             "alice@example.com ", "alice @example.com",
             "st(ar)@example.com", "star\\2a@example.com",
             "m\u00fcller@example.com", "M\u00dcLLER@EXAMPLE.COM",
             "stra\u00dfe@example.com", "\u00e9ve@sub.example.net",
             "\u4f8b@example.com", "a" * 288 + "@example.com",
             "alice@example.com.", "alice@.example.com",
             "alice@example..com", "frank@a.b.c.example",
             "frank@A.B.C.EXAMPLE", "x@b.c.example", "x@c.example",
             "eve@sub.example.net", "uid=alice", "alice,ou=people"]
    seen, out = set(), []
    for k in keys:
        if "\n" not in k and "\t" not in k and k not in seen:
            seen.add(k)
            out.append(k)
    return out



def _postfix_one(table, k, config_dir=None):
    r = t.postmap(["-q", k, table], timeout=60, config_dir=config_dir)
    if r.rc == 0:
        return ("found", sorted(r.out.rstrip("\n").split(",")))
    if r.rc == 1 and "fatal:" not in r.err:
        return ("notfound",)
    return ("error",)


def _postfix_batch(table, keys, out, config_dir=None):
    """postmap -q - stops at the first key that errors (its output is
    lost): halve the list until the failing keys are asked alone."""
    if not keys:
        return
    if len(keys) == 1:
        out[keys[0]] = _postfix_one(table, keys[0], config_dir)
        return
    r = t.postmap(["-q", "-", table], input="".join(k + "\n" for k in keys),
                  timeout=120, config_dir=config_dir)
    if r.rc == 0 and "fatal:" not in r.err:
        found = {}
        for line in r.out.splitlines():
            k, _, v = line.partition("\t")
            found[k] = v
        for k in keys:
            out[k] = ("found", sorted(found[k].split(","))) \
                if k in found else ("notfound",)
        return
    half = len(keys) // 2
    _postfix_batch(table, keys[:half], out, config_dir)
    _postfix_batch(table, keys[half:], out, config_dir)


def postfix_answers(cf, keys, alone=(), table=None, config_dir=None):
    """key -> ("found", sorted values) / ("notfound",) / ("error",).
    Keys in alone (those we answer TEMP) are asked one at a time, the
    others in one batch (halved where Postfix errs).  table: another
    Postfix table than ldap:cf; config_dir: postmap -c (a main.cf of
    the test's own, e.g. with Postfix 2.0 NAME_* parameters)."""
    table = table or "ldap:" + cf
    out = {}
    for k in alone:
        out[k] = _postfix_one(table, k, config_dir)
    _postfix_batch(table, [k for k in keys if k not in out], out,
                   config_dir)
    return out
