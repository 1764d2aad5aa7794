#!/usr/bin/env python3
"""test_route_daemon: `lookupd route` says what the daemon answers.

route and the daemon decide every key through one function (decide.c);
this test holds them to it from the outside.  For each address, every
lookup step of `lookupd route -j ADDRESS` (map, key asked, result,
answer) is asked of a running daemon over socketmap with the same map
and key, and the two must agree: the same result, and for a find the
same answer byte for byte (TEMP reasons are worded by each side).

Maps: the built-in three, with catchall = yes on alias and mailbox, and
negative_ttl = 0 (route has no memory of live answers; the daemon then
has none of misses either).  A fresh daemon is started for each phase,
so that it remembers no live find either.

- LDAP up: a found address, its alternate, an extension, mixed case, an
  unknown user, an unknown domain, the catch-all, an entry added after the
  snapshot (live on both sides);
- a damaged snapshot (a byte of alias.cdb flipped, digest kept), LDAP up:
  route says the snapshot is damaged and asks live, the daemon (whose
  snapshot is good) answers the same;
- LDAP down: snapshot hits found on both sides, misses TEMP on both;
  with miss_lookup = no, misses NOTFOUND on both;
- LDAP down and alias.cdb damaged on both sides: TEMP for the alias map,
  found for the others, on both sides.
"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

MAPS = """
[map domain]
base = $domain_base
filter = (objectClass=domainRelatedObject)
key = associatedDomain
result = associatedDomain
kind = domain

[map alias]
filter = (|(accountStatus=active)(accountStatus=shared))
key = mail mailAlternateAddress
result = mail
catchall = yes

[map mailbox]
filter = (|(accountStatus=active)(accountStatus=shared))
key = mail mailAlternateAddress
result = mailMessageStore
single = yes
catchall = yes
"""

CATCH = """dn: dc=test,ou=postfix,ou=System,o=company
objectClass: dNSDomain
objectClass: domainRelatedObject
dc: test
associatedDomain: catch.test

dn: cn=Catch All,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: Catch All
sn: All
uid: catchall
mail: catch.all@catch.test
mailAlternateAddress: @catch.test
accountStatus: active
mailMessageStore: /vmail/catch.all/Maildir/
"""

NEW = """dn: cn=New Person,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: New Person
sn: Person
uid: newp
mail: new.person@testdomain.nu
accountStatus: active
mailMessageStore: /vmail/new.person/Maildir/
"""

ADDRESSES = ["albert.onestone@anotherdomain.nu", "ao@anotherdomain.nu",
             "ao+news@anotherdomain.nu", "AO+News@AnotherDomain.NU",
             "nobody@anotherdomain.nu", "someone@example.org",
             "anyone@catch.test", "catch.all@catch.test",
             "timetravel@anotherdomain.nu"]

S = {}


def conf(name, cache, **params):
    d = os.path.join(S["dir"], name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "ldapmail.conf")
    with open(path, "w") as f:
        f.write(t.lookupd_config(
            S["slapd"], d, cache_dir=cache, negative_ttl=0, refresh=3600,
            min_refresh=3600, ldap_timeout=2, **params) + MAPS)
    return path


def daemon(cache, **params):
    d = t.tmpdir()
    lk = t.Lookupd(t.lookupd_config(
        S["slapd"], d, cache_dir=cache, negative_ttl=0, refresh=3600,
        min_refresh=3600, ldap_timeout=2, **params) + MAPS, dir=d)
    return lk.start()


def daemon_says(lk, m, key):
    """(result, answer) as route writes them, from the daemon's reply."""
    p = lk.query(m, key).decode("utf-8", "replace")
    word, _, rest = p.partition(" ")
    if word == "OK":
        return ("found", rest)
    return ({"NOTFOUND": "notfound", "TEMP": "temp", "PERM": "perm"}.get(
        word, "?" + p), None)


def compare(route_conf, lk, addr, label):
    """Every lookup step of route for addr against the daemon; returns
    {(map, key): (result, answer, source, snapshot_state)} of route."""
    r = t.run([t.LOOKUPD, "-c", route_conf, "route", "-j", addr],
              timeout=60)
    try:
        j = json.loads(r.out)
    except ValueError as e:
        t.ok(False, "%s %s: route -j" % (label, addr), "%s %s" % (e, r.why()))
        return {}
    steps = {}
    for s in j["steps"]:
        if "result" not in s:
            continue                    # recipient, delivery, shared...
        mine = (s["result"], s.get("answer"))
        theirs = daemon_says(lk, s["step"], s["subject"])
        t.eq(mine, theirs, "%s: %s %s %s: route and the daemon agree" % (
            label, addr, s["step"], s["subject"]))
        steps[(s["step"], s["subject"])] = mine + (
            s.get("source"), s.get("snapshot_state"))
    t.ok(len(steps) > 0, "%s: %s: route asked something" % (label, addr))
    return steps


def compare_all(route_conf, lk, label, extra=()):
    out = {}
    for a in ADDRESSES + list(extra):
        out.update(compare(route_conf, lk, a, label))
    return out


def damage(cache, name="alias.cdb"):
    """Flip one byte in the middle of the file (the digest stays)."""
    p = os.path.join(cache, name)
    mid = os.path.getsize(p) // 2
    with open(p, "r+b") as f:
        f.seek(mid)
        b = f.read(1)
        f.seek(mid)
        f.write(bytes([b[0] ^ 0x55]))


@t.test
def setup():
    s = t.Slapd().start()
    s.add(CATCH)
    S.update(slapd=s, dir=t.tmpdir())
    S["cache"] = os.path.join(S["dir"], "cache")
    S["conf"] = conf("route", S["cache"])
    r = t.run([t.LOOKUPD, "-c", S["conf"], "sync"])
    t.eq(r.rc, 0, "sync", r.why())
    # Added after the snapshot: a live find on both sides.
    s.add(NEW)


@t.test
def ldap_up():
    lk = daemon(S["cache"])
    got = compare_all(S["conf"], lk, "LDAP up", ["new.person@testdomain.nu"])
    lk.stop()
    want = {
        ("alias", "ao+news@anotherdomain.nu"):
            ("found", "albert.onestone+news@anotherdomain.nu", "snapshot"),
        ("alias", "anyone@catch.test"):
            ("found", "catch.all@catch.test", "snapshot"),
        ("alias", "nobody@anotherdomain.nu"): ("notfound", None, "live"),
        ("domain", "example.org"): ("notfound", None, "live"),
        ("alias", "new.person@testdomain.nu"):
            ("found", "new.person@testdomain.nu", "live"),
    }
    t.eq({k: got.get(k, (None,) * 4)[:3] for k in want}, want,
         "LDAP up: extension, catch-all, misses and a live find, as "
         "expected")


@t.test
def damaged_snapshot_ldap_up():
    bad = os.path.join(S["dir"], "bad-cache")
    shutil.copytree(S["cache"], bad)
    damage(bad)
    lk = daemon(S["cache"])
    got = compare_all(conf("bad", bad), lk, "damaged, LDAP up")
    lk.stop()
    a = got.get(("alias", "albert.onestone@anotherdomain.nu"), (None,) * 4)
    t.ok(a[:3] == ("found", "albert.onestone@anotherdomain.nu", "live") and
         (a[3] or "").startswith("damaged, not answered from: digest "
                                 "mismatch"),
         "route: the damaged alias snapshot is not used, LDAP is", a)


@t.test
def ldap_down():
    S["slapd"].stop()
    lk = daemon(S["cache"])
    got = compare_all(S["conf"], lk, "LDAP down")
    lk.stop()
    t.eq([got.get(k, (None,))[0] for k in (
        ("alias", "AO+News@AnotherDomain.NU"),
        ("alias", "anyone@catch.test"),
        ("alias", "nobody@anotherdomain.nu"),
        ("domain", "example.org"))], ["found", "found", "temp", "temp"],
        "LDAP down: snapshot hits found, misses TEMP")
    nolive = conf("nolive", S["cache"], miss_lookup="no")
    lk = daemon(S["cache"], miss_lookup="no")
    got = compare_all(nolive, lk, "LDAP down, miss_lookup = no")
    lk.stop()
    t.eq([got.get(k, (None,))[0] for k in (
        ("alias", "nobody@anotherdomain.nu"), ("domain", "example.org"))],
        ["notfound", "notfound"],
        "miss_lookup = no: misses NOTFOUND from the snapshot")


@t.test
def damaged_snapshot_ldap_down():
    damage(S["cache"])
    lk = daemon(S["cache"])
    got = compare_all(S["conf"], lk, "damaged, LDAP down")
    lk.stop()
    t.eq([got.get(k, (None,))[0] for k in (
        ("domain", "anotherdomain.nu"),
        ("alias", "albert.onestone@anotherdomain.nu"))], ["found", "temp"],
        "damaged alias snapshot, LDAP down: domain found, alias TEMP")
    S["slapd"].start()


if __name__ == "__main__":
    t.main()
