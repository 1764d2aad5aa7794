#!/usr/bin/env python3
"""test_profiles: `profile = ox | apple | jamm | howto | none` give the built-in
maps of their directory design, against the fixtures in a real slapd
(tests/fixtures/ox.ldif, apple.ldif; the howto's seed), asked by Postfix's
own client (postmap -q socketmap:) of a daemon answering from its snapshot
only (miss_lookup = no), and the same keys asked live (lookupd query
--direct): both must give exactly the answers of the table.

- ox: mail and alias find the account, mailEnabled=OK only (NONE and
  none: not found), colocRouteAddr is the alias answer and keeps the
  mailbox away, the mailbox is "<uid>/Maildir/", domains are those of the
  addresses;
- apple: uid short names without "@" in every local_domains domain, with
  "@" as they are; Enabled answers, Forward answers kAutoForwardValue in
  the alias map and has no mailbox, Off, a malformed plist, an unknown
  state and no plist answer nothing; the mailbox is the first short name;
- jamm: jvd domains and their postfixTransport, accounts and aliases
  with accountActive=TRUE and not delete=TRUE, the "@domain" catch-all,
  mailbox relative; an inactive domain's domain and transport not found;
  over every address and domain of tests/fixtures/jamm.ldif the answers
  equal Postfix's own ldap: tables written as the Jamm howto writes them
  (postmap -q - ldap:FILE);
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

FIX = os.path.join(t.SRC, "tests", "fixtures")
OX_BASE = "ou=OX,o=company"
APPLE_BASE = "cn=users,ou=Apple,o=company"
slapd = t.profiles_slapd    # the four fixtures, one slapd


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
        ("alice@ox.example.org", "alice/Maildir/"),
        ("alice@other.example.net", "alice/Maildir/"),
        ("bob@ox.example.org", NF),
        ("carol@ox.example.org", NF),
        ("dave@ox.example.org", NF),
        ("eve@ox.example.org", "eve/Maildir/"),
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
        ("jdoe@example.org", "jdoe/Maildir/"),
        ("john.doe@mail.example.net", "jdoe/Maildir/"),
        ("sales@virtual.example.com", "sales/Maildir/"),
        ("sales@mail.example.net", "sales/Maildir/"),
        ("fwd@example.org", NF),
        ("offuser@example.org", NF),
        ("tiny@example.org", "tiny/Maildir/"),
        ("broken@example.org", NF),
        ("nomail@example.org", NF),
    ],
}

JAMM_BASE = "o=hosting,o=company"
# Added to tests/fixtures/jamm.ldif for the jamm profile's own checks.
JAMM_EXTRA = """dn: mail=@jamm.example,jvd=jamm.example,o=hosting,o=company
objectClass: JammMailAlias
mail: @jamm.example
maildrop: john@jamm.example
accountActive: TRUE

dn: mail=gone@jamm.example,jvd=jamm.example,o=hosting,o=company
objectClass: JammMailAccount
mail: gone@jamm.example
mailbox: jamm.example/gone/
accountActive: TRUE
delete: TRUE

dn: mail=kept@jamm.example,jvd=jamm.example,o=hosting,o=company
objectClass: JammMailAccount
mail: kept@jamm.example
mailbox: jamm.example/kept/
accountActive: TRUE
delete: FALSE
"""

JAMM = {
    "domain": [
        ("jamm.example", "jamm.example"),
        ("Hosted.Example.", "hosted.example"),
        ("gone.example", NF),
        ("ox.example.org", NF),
    ],
    "transport": [
        ("jamm.example", "virtual:"),
        ("hosted.example", "smtp:[relay.hosted.example]"),
        ("gone.example", NF),
    ],
    "alias": [
        ("john@jamm.example", "john@jamm.example"),
        ("John+x@Jamm.example", "john+x@jamm.example"),
        ("info@jamm.example", "mary@jamm.example"),
        ("team@jamm.example", "john@jamm.example,mary@jamm.example"),
        ("postmaster@jamm.example", "john@jamm.example"),
        ("sales@jamm.example", "john@jamm.example"),
        ("nobody@jamm.example", "john@jamm.example"),
        ("old@jamm.example", "john@jamm.example"),
        ("gone@jamm.example", "john@jamm.example"),
        ("kept@jamm.example", "kept@jamm.example"),
        ("nobody@hosted.example", NF),
        ("sales@hosted.example", NF),
        ("old@hosted.example", NF),
    ],
    "mailbox": [
        ("john@jamm.example", "jamm.example/john/"),
        ("mary@hosted.example", "hosted.example/mary/"),
        ("old@jamm.example", NF),
        ("gone@jamm.example", NF),
        ("kept@jamm.example", "jamm.example/kept/"),
        ("info@jamm.example", NF),
        ("john@gone.example", "gone.example/john/"),
    ],
}

# The Jamm howto's Postfix ldap: tables, for the differential.
JAMM_TABLES = {
    "transport": [("JammVirtualDomain", "jvd", "postfixTransport")],
    "alias": [("JammMailAlias", "mail", "maildrop"),
              ("JammMailAccount", "mail", "mail")],
    "mailbox": [("JammMailAccount", "mail", "mailbox")],
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


_jamm = []


def jamm_lookupd():
    """A lookupd with profile = jamm over the fixture and JAMM_EXTRA."""
    if not _jamm:
        slapd().add(JAMM_EXTRA)
        _jamm.append(lookupd(profile="jamm", account_base=JAMM_BASE,
                             domain_base=JAMM_BASE))
    return _jamm[0]


def ldap_table(dir, name, oc, key, result):
    path = os.path.join(dir, name + ".cf")
    t.write(path, "server_host = %s\nversion = 3\nbind = yes\n"
            "bind_dn = %s\nbind_pw = %s\nsearch_base = %s\n"
            "query_filter = (&(&(objectClass=%s)(accountActive=TRUE))"
            "(%s=%%s))\nresult_attribute = %s\n" % (
                slapd().uri, t.SYSTEM_DN, t.SYSTEM_PW, JAMM_BASE, oc, key,
                result))
    return "ldap:" + path


@t.test
def jamm_answers_as_the_howtos_ldap_tables():
    """Every address and domain of tests/fixtures/jamm.ldif, asked of
    lookupd's jamm maps and of Postfix's ldap: tables as the Jamm howto
    writes them (virtual_alias_maps = aliases, accountsmap: the first
    that answers).  Runs before JAMM_EXTRA is added."""
    t.ok(not _jamm, "the fixture as it is")
    lk = lookupd(profile="jamm", account_base=JAMM_BASE,
                 domain_base=JAMM_BASE)
    with open(os.path.join(FIX, "jamm.ldif"), encoding="utf-8") as f:
        entries = t.parse_ldif(f.read())
    addrs = sorted({v for e in entries for k, vs in e.items()
                    if k.lower() in ("mail", "maildrop") for v in vs})
    domains = sorted({v for e in entries for k, vs in e.items()
                      if k.lower() == "jvd" for v in vs})
    t.ok(len(addrs) > 20 and len(domains) == 3, "the fixture's %d "
         "addresses and %d domains" % (len(addrs), len(domains)))
    d = t.tmpdir()
    r = lk.cli("sync")
    t.eq(r.rc, 0, "jamm: lookupd sync", r.why())
    lk.start()
    for m, tables in sorted(JAMM_TABLES.items()):
        keys = domains if m == "transport" else addrs
        want = {}
        for i, (oc, key, result) in enumerate(tables):
            rc, pairs = t.postmap_batch(keys, ldap_table(
                d, "%s%d" % (m, i), oc, key, result))
            for k, v in pairs:
                want.setdefault(k, v)
        rc, got = t.postmap_batch(keys, lk.table(m))
        got = {k: norm(v) for k, v in dict(got).items()}
        want = {k: norm(v) for k, v in want.items()}
        # Postfix's dict_ldap reads an attribute the server lists twice
        # in one entry (the fixture's team@ entries: maildrop, then
        # accountActive, then maildrop again) as its first occurrence
        # twice: "john,john".  lookupd reads every value; those keys are
        # compared with the values the directory holds.
        for k, v in list(want.items()):
            items = v.split(",")
            if len(set(items)) == len(items):
                continue
            r = slapd().search(JAMM_BASE, "(mail=%s)" % k,
                               attrs=["maildrop"])
            held = sorted(x for e in r.entries for x in e.get("maildrop",
                                                                []))
            t.note("%s: ldap: answers %s; the directory holds %s" % (
                k, v, ",".join(held)))
            want[k] = ",".join(held)
        t.ok(got == want, "jamm map %s = the howto's ldap: table%s over %d "
             "keys (%d found)" % (m, "s" if len(tables) > 1 else "",
                                  len(keys), len(want)),
             lambda: "; ".join("%s: lookupd %r, ldap: %r" % (
                 k, got.get(k), want.get(k)) for k in sorted(set(got) |
                 set(want)) if got.get(k) != want.get(k)))
    lk.stop()


@t.test
def jamm_profile():
    # sales (inactive alias) and old (inactive account) fall to the
    # catch-all, as gone (delete: TRUE) does; gone.example's addresses
    # answer (as the howto's tables do) but the domain map does not.
    check_profile("jamm", jamm_lookupd(), JAMM)


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


if __name__ == "__main__":
    t.main()
