#!/usr/bin/env python3
"""test_profiles: `profile = ox | apple | howto | none` give the built-in
maps of their directory design, against the fixtures in a real slapd
(tests/fixtures/ox.ldif, apple.ldif; the howto's seed), asked by Postfix's
own client (postmap -q socketmap:) of a daemon answering from its snapshot
only (miss_lookup = no), and the same keys asked live (lookupd query
--direct): both must give exactly the answers of the table.

- ox: mail and alias find the account, mailEnabled=OK only (NONE and
  none: not found), colocRouteAddr is the alias answer and keeps the
  mailbox away, the mailbox is "<uid>/", domains are those of the
  addresses;
- apple: uid short names without "@" in every local_domains domain, with
  "@" as they are; Enabled answers, Forward answers kAutoForwardValue in
  the alias map and has no mailbox, Off, a malformed plist, an unknown
  state and no plist answer nothing; the mailbox is the first short name;
- a [map] section adds to the profile (howto + a map), or replaces the
  profile's map of its name; profile = none keeps only the sections, and
  check warns when domain, alias or mailbox is then missing.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402

SCHEMA = os.path.join(t.SRC, "schema")
FIX = os.path.join(t.SRC, "tests", "fixtures")
NIS = "/etc/ldap/schema/nis.schema"
OX_BASE = "ou=OX,o=company"
APPLE_BASE = "cn=users,ou=Apple,o=company"
_slapd = []


def slapd():
    if not _slapd:
        _slapd.append(t.Slapd(
            ldifs=[t.fixture_path(), os.path.join(FIX, "ox.ldif"),
                   os.path.join(FIX, "apple.ldif")],
            schemas=[NIS, os.path.join(SCHEMA, "ox.schema"),
                     os.path.join(SCHEMA, "apple.schema")]).start())
    return _slapd[0]


NF = None   # not found

OX = {
    "domain": [
        ("ox.example.org", "ox.example.org"),
        ("OX.Example.ORG.", "ox.example.org"),
        ("other.example.net", "other.example.net"),
        ("store2.ox.example.org", NF),
        ("mydomain.nl", NF),
    ],
    "alias": [
        ("alice@ox.example.org", "alice@ox.example.org"),
        ("a.smith@ox.example.org", "alice@ox.example.org"),
        ("alice@other.example.net", "alice@ox.example.org"),
        ("Alice+news@OX.example.org", "alice+news@ox.example.org"),
        ("bob@ox.example.org", "bob@store2.ox.example.org"),
        ("robert@ox.example.org", "bob@store2.ox.example.org"),
        ("carol@ox.example.org", NF),
        ("carol.jones@ox.example.org", NF),
        ("dave@ox.example.org", NF),
        ("eve.adams@ox.example.org", "eve@ox.example.org"),
        ("nobody@ox.example.org", NF),
    ],
    "mailbox": [
        ("alice@ox.example.org", "alice/"),
        ("alice@other.example.net", "alice/"),
        ("bob@ox.example.org", NF),
        ("carol@ox.example.org", NF),
        ("dave@ox.example.org", NF),
        ("eve@ox.example.org", "eve/"),
    ],
}

APPLE = {
    "domain": [
        ("example.org", "example.org"),
        ("MAIL.example.net", "mail.example.net"),
        ("virtual.example.com", "virtual.example.com"),
        ("elsewhere.example.net", NF),
    ],
    "alias": [
        ("jdoe@example.org", "jdoe@example.org"),
        ("JDoe@Example.ORG", "jdoe@example.org"),
        ("john.doe@mail.example.net", "john.doe@mail.example.net"),
        ("jdoe+x@example.org", "jdoe+x@example.org"),
        ("jdoe@virtual.example.com", NF),
        ("sales@virtual.example.com", "sales@virtual.example.com"),
        ("sales@example.org", "sales@example.org"),
        ("fwd@example.org", "fwd.target@elsewhere.example.net"),
        ("offuser@example.org", NF),
        ("tiny@mail.example.net", "tiny@mail.example.net"),
        ("broken@example.org", NF),
        ("badstate@example.org", NF),
        ("nomail@example.org", NF),
        ("nobody@example.org", NF),
    ],
    "mailbox": [
        ("jdoe@example.org", "jdoe/"),
        ("john.doe@mail.example.net", "jdoe/"),
        ("sales@virtual.example.com", "sales/"),
        ("sales@mail.example.net", "sales/"),
        ("fwd@example.org", NF),
        ("offuser@example.org", NF),
        ("tiny@example.org", "tiny/"),
        ("broken@example.org", NF),
        ("nomail@example.org", NF),
    ],
}


def lookupd(**params):
    d = t.tmpdir()
    params.setdefault("miss_lookup", "no")
    params.setdefault("refresh", 7200)
    return t.Lookupd(t.lookupd_config(slapd(), d, **params), dir=d)


def norm(v):
    """Multi-valued answers in a fixed order."""
    return v if v is None else ",".join(sorted(v.split(",")))


def check_profile(name, lk, table):
    r = lk.cli("check")
    t.ok(r.rc == 0 and "(%d from profile %s)" % (len(table), name) in r.out,
         "%s: check names the profile and its %d maps" % (name, len(table)),
         r.why())
    r = lk.cli("sync")
    t.eq(r.rc, 0, "%s: lookupd sync" % name, r.why())
    lk.start()
    for m, cases in sorted(table.items()):
        keys = [k for k, _ in cases]
        rc, pairs = t.postmap_batch(keys, lk.table(m))
        got = dict(pairs)
        want = {k: v for k, v in cases if v is not None}
        t.eq({k: norm(v) for k, v in got.items()},
             {k: norm(v) for k, v in want.items()},
             "%s: map %s over socketmap from the snapshot: %d keys, "
             "exactly the table" % (name, m, len(keys)))
        live = {}
        for k in keys:
            r = lk.cli("query", "--direct", m, k)
            if r.rc == 0:
                live[k] = norm(r.out.rstrip("\n"))
            elif r.rc != 1:
                live[k] = "error: " + r.why()
        t.eq(live, {k: norm(v) for k, v in want.items()},
             "%s: map %s asked live: the same answers" % (name, m))
    lk.stop()


@t.test
def ox_profile():
    lk = lookupd(profile="ox", account_base=OX_BASE, domain_base=None)
    check_profile("ox", lk, OX)


@t.test
def apple_profile():
    lk = lookupd(profile="apple", account_base=APPLE_BASE, domain_base=None,
                 local_domains="example.org, Mail.Example.NET")
    check_profile("apple", lk, APPLE)
    r = lk.cli("sync")
    t.ok("map alias:" in r.out and "left out" in r.out + r.err,
         "apple: sync says the unreadable plist was left out", r.why())


@t.test
def sections_add_to_and_replace_the_profile():
    lk = lookupd(extra="[map uid]\nkind = plain\nkey = uid\nresult = mail\n"
                 "filter = (accountStatus=active)\n")
    r = lk.cli("check")
    t.ok(r.rc == 0 and "4 maps (3 from profile howto)" in r.out and
         "map alias:" in r.out and "map uid:" in r.out,
         "howto + [map uid]: the profile's three and the section", r.why())
    r = lk.cli("query", "--direct", "uid", "onestonea")
    t.eq((r.rc, r.out), (0, "albert.onestone@anotherdomain.nu\n"),
         "the added map answers", r.why())
    r = lk.cli("query", "--direct", "alias",
               "albert.onestone@anotherdomain.nu")
    t.eq((r.rc, r.out), (0, "albert.onestone@anotherdomain.nu\n"),
         "the profile's alias map answers beside it", r.why())

    lk = lookupd(extra="[map alias]\nkey = mail\nresult = uid\n"
                 "filter = (accountStatus=active)\n")
    r = lk.cli("check")
    t.ok(r.rc == 0 and "3 maps (2 from profile howto)" in r.out,
         "[map alias] replaces the profile's alias", r.why())
    r = lk.cli("query", "--direct", "alias",
               "albert.onestone@anotherdomain.nu")
    t.eq((r.rc, r.out), (0, "onestonea\n"), "the section's alias answers",
         r.why())

    lk = lookupd(profile="none", extra="[map uid]\nkind = plain\nkey = uid\n"
                 "result = mail\n")
    r = lk.cli("check")
    t.ok(r.rc == 0 and "1 maps (0 from profile none)" in r.out and
         "map alias" not in r.out, "profile = none: only the section",
         r.why())
    r = lk.cli("query", "--direct", "alias", "x@mydomain.nl")
    t.ok(r.rc == 2 and "unknown map alias" in r.err,
         "profile = none: no alias map", r.why())


SHIPPED_WARNING = ("warning: FILE: the maps leave out %s (profile %s): "
                   "the Postfix configuration ldapmail ships asks for "
                   "domain, alias and mailbox")


def warnings(r):
    """check's warning lines, the config file's name as FILE."""
    return [re.sub(r"^warning: /[^:]*\.conf: ", "warning: FILE: ", x)
            for x in r.out.splitlines() if x.startswith("warning:")]


@t.test
def check_warns_when_domain_alias_or_mailbox_is_missing():
    """[map] sections keep the profile's maps (no warning); with profile =
    none, check says which of the three maps Postfix is configured to ask
    for no section defines, and still exits 0."""
    uid = "[map uid]\nkind = plain\nkey = uid\nresult = mail\n"
    r = lookupd(extra=uid).cli("check")
    t.ok(r.rc == 0 and "warning:" not in r.out, "howto + [map uid]: no "
         "warning (the profile's maps stay)", r.why())
    r = lookupd(profile="none", extra=uid).cli("check")
    t.eq((r.rc, warnings(r)),
         (0, [SHIPPED_WARNING % ("domain, alias, mailbox", "none")]),
         "profile = none + [map uid]: the three named", r.why())
    r = lookupd(profile="none", extra=uid + "[map alias]\nkey = mail\n"
                "result = mail\n").cli("check")
    t.eq((r.rc, warnings(r)),
         (0, [SHIPPED_WARNING % ("domain, mailbox", "none")]),
         "profile = none + [map alias]: domain and mailbox named", r.why())


@t.test
def maildirmake_and_lint_say_the_layout_is_not_theirs_yet():
    for prof in ("ox", "apple"):
        lk = lookupd(profile=prof, account_base=OX_BASE, domain_base=None)
        r = t.run([t.MAILDIRMAKE, "-c", lk.conf, "-n"], timeout=60)
        t.ok(r.rc == 2 and "profile %s: ldap-maildirmake builds the "
             "accounts of the howto's layout only, not yet those of %s; "
             "nothing done" % (prof, prof) in r.err,
             "ldap-maildirmake with profile %s: exit 2, says why" % prof,
             r.why())
        r = lk.cli("lint")
        t.ok(r.rc == 2 and "profile %s: lint checks the accounts of the "
             "howto's layout only" % prof in r.err,
             "lint with profile %s: exit 2, says why" % prof, r.why())


if __name__ == "__main__":
    t.main()
