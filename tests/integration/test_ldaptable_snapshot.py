#!/usr/bin/env python3
"""test_ldaptable_snapshot: enumerable ldap_table maps are answered from
a snapshot (lookupd/tablebuild.c, common/tablesnap.c) that holds what
Postfix's own ldap: client answers (`postmap -q - ldap:FILE`), against
the real slapd and configurations of test_ldaptable_diff.

One lookupd serves every configuration of test_ldaptable_diff as a map
(miss_lookup = no: a key the snapshot lacks is NOTFOUND from it when the
snapshot proves it, asked live otherwise; refresh = 2).  For each
enumerable configuration over the same 606 keys:
  - `postmap -q - cdb:CACHE/NAME` (the file virtual(8) would read, folded
    by Postfix as for ldap:) answers what ldap:FILE answers, except (1)
    keys Postfix reports an error for (a limit exceeded): the cdb has no
    error, they are not found there and TEMP through lookupd (the file
    holds them under a key Postfix never asks), and (2) keys the
    snapshot cannot prove absent (tablesnap_key_complete: leading,
    trailing or double spaces, non-ASCII), which Postfix finds through
    a value that differs only in insignificant spaces: not found there,
    asked live through lookupd;
  - `postmap -q - socketmap:...:NAME` answers exactly what ldap:FILE
    answers, every key.
A configuration that turns out not computable exactly (groups_url: an
LDAP URL among the special values) has no cdb file, says why in the log,
and is answered live (the same answers).

After ldapmodify (an alias added, an account deactivated, an entry
deleted, a member added to a group) the snapshot answers what Postfix
answers again within `refresh`.  With slapd stopped, enumerable maps
still give their answers over socketmap, live-only maps answer TEMP, and
no key Postfix finds answers NOTFOUND.  With sync = persist (a syncprov
slapd of its own) the ldap_table map is polled: its snapshot is made and
a new alias is in it within refresh.
"""
import concurrent.futures
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import ldapmail_test as t  # noqa: E402
import pftables            # noqa: E402

# the configurations, directory and key list of the differential test;
# its own tests are not run here
_n = len(t._tests)
import test_ldaptable_diff as d  # noqa: E402
del t._tests[_n:]

# enumerable configurations that are not computable on this directory
NOT_COMPUTABLE = {"groups_url": "an LDAP URL among the special values"}
ENUMERABLE = [n for n in d.CONFIGS if d.CLASSES[n].startswith("enumerable")]
LIVE_ONLY = [n for n in d.CONFIGS if n not in ENUMERABLE]
SNAPSHOT = [n for n in ENUMERABLE if n not in NOT_COMPUTABLE]

_lk = []


def lookupd():
    if not _lk:
        dir = t.tmpdir("ldapmail-tablesnap-")
        extra = "".join("[map %s]\nldap_table = %s\n" % (
            name, d.write_cf(dir, name, body))
            for name, (body, _) in d.CONFIGS.items())
        lk = t.Lookupd(t.lookupd_config(
            d.slapd(), dir, miss_lookup="no", refresh="2", min_refresh="1",
            extra=extra), dir=dir).start()
        lk.cache = os.path.join(dir, "cache")
        _lk.append(lk)
        t.ok(t.wait_until(lambda: all(os.path.exists(cdb(n))
                                      for n in SNAPSHOT), 30 * t.SLOW),
             "every computable enumerable map has a snapshot file",
             lk.errors()[-800:])
    return _lk[0]


def cdb(name):
    return os.path.join(_lk[0].cache, name + ".cdb")


def complete(key):
    """tablesnap_key_complete() of the key Postfix sends (folded)."""
    k = key.casefold()
    return (k != "" and k[0] != " " and k[-1] != " " and "  " not in k
            and all(0x20 <= ord(c) < 0x7f for c in k))


def answers(name, keys, table, alone=()):
    """Postfix's answers through table (None: ldap:FILE): the keys in
    alone (those that err) one postmap each, in parallel (postmap sleeps
    a second before it exits on an error), the others in one batch."""
    table = table or "ldap:" + os.path.join(_lk[0].dir, name + ".cf")
    out = {}
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        for k, a in zip(alone, ex.map(
                lambda k: pftables._postfix_one(table, k), alone)):
            out[k] = a
    pftables._postfix_batch(table, [k for k in keys if k not in out], out)
    return out


def query(name, key):
    """lookupd's answer to the key as Postfix sends it (folded): a
    ("found", sorted values) / ("notfound",) / ("temp",) tuple."""
    r = _lk[0].query(name, key.casefold(), timeout=30)
    if r.startswith(b"OK "):
        return ("found", sorted(r[3:].decode().split(",")))
    return ("notfound",) if r.startswith(b"NOTFOUND") else ("temp",)


def query_live(name):
    """Postfix's ldap: answer for alice@example.com, as query() gives
    lookupd's."""
    a = answers(name, ["alice@example.com"], None)["alice@example.com"]
    return a if a[0] != "error" else ("temp",)


def temp_keys(name, keys):
    """The keys lookupd answers TEMP: Postfix's clients stop at the first
    error, so these are asked alone (quicker than halving batches)."""
    return [k for k in keys if query(name, k) == ("temp",)]


def postfix(name, keys):
    """Postfix's ldap: answers (table None: ldap:cf)."""
    return answers(name, keys, None, temp_keys(name, keys))


def compare_cdb(name, keys, pf):
    """Differences of cdb:CACHE/NAME from Postfix's ldap: answers, and
    the keys that differ as documented (an error, an unprovable key)."""
    got = answers(name, keys, "cdb:" + os.path.join(_lk[0].cache, name))
    diffs, allowed = [], []
    for k in keys:
        if got[k] == pf[k]:
            continue
        if got[k] == ("notfound",) and (pf[k] == ("error",) or
                                        not complete(k)):
            allowed.append(k)
        else:
            diffs.append("%r: postfix %s, cdb %s" % (k, pf[k], got[k]))
    return diffs, allowed


def make_test(name):
    def fn():
        lk = lookupd()
        keys = d.key_list()
        if name in LIVE_ONLY or name in NOT_COMPUTABLE:
            # answered live: test_ldaptable_diff compares every key
            t.eq(query(name, "alice@example.com"), query_live(name),
                 "%s: answered live" % name)
        if name in NOT_COMPUTABLE:
            t.ok(not os.path.exists(cdb(name)) and re.search(
                r"map %s: ldap_table \S+ answered live \(no snapshot\) "
                r"until lookupd restarts: %s" % (name, re.escape(
                    NOT_COMPUTABLE[name])), lk.errors()),
                 "%s: not computable exactly: no snapshot, the log says "
                 "why" % name, lk.errors()[-600:])
            return
        if name in LIVE_ONLY:
            t.ok(not os.path.exists(cdb(name)), "%s: live-only, no "
                 "snapshot file" % name)
            return
        # TEMP keys: postmap through socketmap reports them as errors
        # (test_ldaptable_diff asks it); here lookupd's reply is enough
        alone = temp_keys(name, keys)
        served = {k: ("error",) for k in alone}
        pftables._postfix_batch(lk.table(name), [
            k for k in keys if k not in served], served)
        pf = answers(name, keys, None, alone)
        diffs = ["%r: postfix %s, lookupd %s" % (k, pf[k], served[k])
                 for k in keys if pf[k] != served[k]]
        t.eq(diffs[:8], [], "%s: lookupd answers %d keys as Postfix's ldap:"
             " does (%d found)" % (name, len(keys), sum(
                 1 for k in keys if pf[k][0] == "found")),
             "%d differences" % len(diffs))
        diffs, allowed = compare_cdb(name, keys, pf)
        t.eq(diffs[:8], [], "%s: cdb:CACHE/%s answers as ldap:FILE (%d "
             "keys; %d errors or unprovable keys not found there)"
             % (name, name, len(keys), len(allowed)),
             "%d differences" % len(diffs))
        if d.CONFIGS[name][1]:
            errs = [k for k in keys if pf[k] == ("error",)]
            t.ok(errs and all(served[k] == ("error",) for k in errs),
                 "%s: keys Postfix errs on are TEMP from the snapshot "
                 "(%d)" % (name, len(errs)))
    fn.__name__ = "snapshot_" + name
    return fn


for _name in d.CONFIGS:
    t.test(make_test(_name))


@t.test
def check_says_snapshot():
    lk = lookupd()
    r = lk.cli("check", timeout=120)
    for name in ENUMERABLE:
        want = "map %s: ldap_table %s: %s (answered from the snapshot " \
            "%s)" % (name, os.path.join(lk.dir, name + ".cf"),
                     d.CLASSES[name], cdb(name))
        t.ok(want in r.out.splitlines(), "check: %s is answered from "
             "the snapshot" % name, r.out[-600:])


PEOPLE = "ou=people,ou=tables,o=company"
GROUPS = "ou=groups,ou=tables,o=company"
CHANGES = [
    # an alias added
    ("dn: uid=heidi,%s\nchangetype: modify\nadd: mailAlternateAddress\n"
     "mailAlternateAddress: h.new@example.com\n\n"
     "dn: uid=bob,%s\nchangetype: modify\nadd: mailAlternateAddress\n"
     "mailAlternateAddress: bobby@example.com\n" % (PEOPLE, PEOPLE)),
    # an account deactivated
    ("dn: uid=ivan,%s\nchangetype: modify\nreplace: accountStatus\n"
     "accountStatus: disabled\n" % PEOPLE),
    # an entry deleted
    ("dn: uid=olga,%s\nchangetype: delete\n" % PEOPLE),
    # a member added to a group
    ("dn: cn=announce,%s\nchangetype: modify\nadd: member\n"
     "member: uid=eve,%s\n" % (GROUPS, PEOPLE)),
]
CHANGED_KEYS = ["h.new@example.com", "bobby@example.com",
                "ivan@example.com", "ivan@example.org",
                "ivan@sub.example.net", "olga@example.com",
                "olga@example.org", "announce@example.com",
                "deep@example.org", "mx1users@example.com",
                "bob@example.com", "heidi@example.com"]


@t.test
def changes_within_refresh():
    lk = lookupd()
    s = d.slapd()
    names = ("howto_alias", "groups", "nested_filter")
    before = {n: postfix(n, CHANGED_KEYS) for n in names}
    for text in CHANGES:
        s.modify(text)
    after = {n: postfix(n, CHANGED_KEYS) for n in names}
    t.ok(all(before[n] != after[n] for n in names),
         "the changes change Postfix's answers of every map compared")

    def equal():
        return all(answers(n, CHANGED_KEYS, "cdb:" + os.path.join(
            lk.cache, n)) == after[n] for n in names)
    t.ok(t.wait_until(equal, 2 + 10 * t.SLOW), "after ldapmodify (alias "
         "added, account deactivated, entry deleted, member added) the "
         "snapshots answer as Postfix again within refresh")
    keys = d.key_list()
    for n in ("howto_alias",):
        diffs, _ = compare_cdb(n, keys, postfix(n, keys))
        t.eq(diffs[:8], [], "%s: after the changes the whole key list "
             "answers as Postfix" % n, "%d differences" % len(diffs))


@t.test
def outage_keeps_answers():
    lk = lookupd()
    s = d.slapd()
    keys = d.key_list()
    want = {n: {k: query(n, k) for k in keys} for n in SNAPSHOT}
    s.stop()
    try:
        for n in SNAPSHOT:
            got = {k: query(n, k) for k in keys}
            # a key the snapshot cannot prove absent is asked live: TEMP
            changed = [k for k in keys if got[k] != want[n][k] and
                       (complete(k) or got[k] != ("temp",))]
            t.eq(changed[:5], [], "%s: with slapd stopped every key "
                 "answers as before (%d found; keys the snapshot cannot "
                 "prove absent TEMP, never NOTFOUND)" % (n, sum(
                     1 for k in keys if got[k][0] == "found")))
        for n in LIVE_ONLY + list(NOT_COMPUTABLE):
            r = [lk.query(n, k, timeout=30)[:5] for k in
                 ("alice@example.com", "nosuchuser@example.com")]
            t.eq(r, [b"TEMP "] * 2, "%s: live, TEMP (never NOTFOUND) "
                 "with slapd stopped" % n)
    finally:
        s.start()


@t.test
def persist_polls_tables():
    """sync = persist: the stream keeps the native maps, ldap_table maps
    are polled every refresh."""
    s = t.Slapd(ldifs=[t.fixture_path(), os.path.join(d.FIX, "tables.ldif")],
                syncprov=True).start()
    dir = t.tmpdir("ldapmail-tablesnap-persist-")
    cf = os.path.join(dir, "alias.cf")
    t.write(cf, "server_host = %s\nversion = 3\nbind_dn = %s\n"
            "bind_pw = %s\n%s" % (s.uri.rstrip("/"), t.SYSTEM_DN,
                                   t.SYSTEM_PW, d.CONFIGS["howto_alias"][0]),
            mode=0o600)
    lk = t.Lookupd(t.lookupd_config(
        s, dir, sync="persist", refresh="2", min_refresh="1",
        extra="[map talias]\nldap_table = %s\n" % cf), dir=dir).start()
    table = "cdb:" + os.path.join(dir, "cache", "talias")
    key = "persist.new@example.com"
    t.ok(t.wait_until(lambda: os.path.exists(os.path.join(
        dir, "cache", "talias.cdb")), 20 * t.SLOW),
         "sync = persist: the ldap_table map has its snapshot",
         lk.errors()[-500:])
    t.eq(lk.stats().get("sync.mode"), "persist", "the stream runs")
    t.eq(t.postmap_q(key, table)[0], 1, "a new alias: not there yet")
    s.modify("dn: uid=bob,%s\nchangetype: modify\nadd: "
             "mailAlternateAddress\nmailAlternateAddress: %s\n"
             % (PEOPLE, key))
    t.ok(t.wait_until(lambda: t.postmap_q(key, table) ==
                      (0, "bob@example.com"), 2 + 10 * t.SLOW),
         "the ldap_table snapshot is polled: the new alias within refresh")
    lk.stop()
    s.stop()


if __name__ == "__main__":
    t.main()
