#!/usr/bin/env python3
"""test_profile_schemas: the Open-Xchange and Apple Open Directory designs
(schema/ox.*, schema/apple.*, tests/fixtures/ox.ldif and apple.ldif) in a
real slapd.

- scripts/test-slapd --schema loads ox.schema and apple.schema (with
  nis.schema) next to the shipped ones, and both fixtures (with the
  howto's) load with slapadd;
- every entry of both fixtures reads back as written, attribute by
  attribute (multi-valued uid, several alias values, the plists in
  base64, byte for byte);
- the matching rules the profiles rely on: mailEnabled and alias without
  case, uid short names with and without "@", colocRouteAddr present;
- each plist, as slapd serves it, reads through common/applemail.c
  (tests/tools/applemail-probe) to what its fixture comment says,
  including the malformed one and the unknown state (errors, not
  guesses);
- schema/ox.ldif and apple.ldif load into a cn=config slapd with
  ldapadd -Y EXTERNAL and define exactly what the .schema files define
  (attribute types and classes, names and OIDs).
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
import cnconfig            # noqa: E402

SCHEMA = os.path.join(t.SRC, "schema")
FIX = os.path.join(t.SRC, "tests", "fixtures")
NIS = "/etc/ldap/schema/nis.schema"
OX_OID = "2.25.124660013025372793427718846815151948103."
APPLE_OID = "1.3.6.1.4.1.63.1000.1.1."
_slapd = []


def slapd():
    if not _slapd:
        _slapd.append(t.Slapd(
            ldifs=[t.fixture_path(), os.path.join(FIX, "ox.ldif"),
                   os.path.join(FIX, "apple.ldif")],
            schemas=[NIS, os.path.join(SCHEMA, "ox.schema"),
                     os.path.join(SCHEMA, "apple.schema")]).start())
    return _slapd[0]


def fixture(name):
    with open(os.path.join(FIX, name), encoding="utf-8") as f:
        return t.parse_ldif(f.read())


def lower_keys(e):
    return {k.lower(): sorted(v) for k, v in e.items()}


@t.test
def fixtures_read_back():
    s = slapd()
    for name, n in (("ox.ldif", 6), ("apple.ldif", 10)):
        want = fixture(name)
        t.eq(len(want), n, "%s: %d entries" % (name, n))
        for e in want:
            r = s.search(e.dn, scope="base", bind="admin", attrs=["*"])
            got = r.entries[0] if r.entries else None
            t.ok(got is not None and lower_keys(got) == lower_keys(e),
                 "%s: %s reads back as written" % (name, e.dn),
                 lambda: "got %r" % (got and lower_keys(got)))


def dns(filt, base):
    r = slapd().search(base, filt, attrs=["1.1"])
    return sorted(d.split(",")[0] for d in r.dns) if r.rc == 0 else r.why()


@t.test
def matching_rules():
    ox, apple = "ou=OX,o=company", "cn=users,ou=Apple,o=company"
    t.eq(dns("(mailEnabled=ok)", ox), ["uid=alice", "uid=bob", "uid=eve"],
         "mailEnabled compared without case")
    t.eq(dns("(alias=EVE.ADAMS@ox.example.org)", ox), ["uid=eve"],
         "alias compared without case")
    t.eq(dns("(|(mail=robert@ox.example.org)(alias=robert@ox.example.org))",
             ox), ["uid=bob"], "mail or alias, as the ox maps ask")
    t.eq(dns("(colocRouteAddr=*)", ox), ["uid=bob"], "colocRouteAddr")
    t.eq(dns("(&(objectClass=OXUserObject)(!(mailEnabled=*)))", ox),
         ["uid=dave"], "never enabled")
    t.eq(dns("(uid=john.doe)", apple), ["uid=jdoe"],
         "a second short name finds the user")
    t.eq(dns("(uid=SALES@virtual.example.com)", apple), ["uid=sales"],
         "a short name with @ (uid ignores case)")
    t.eq(dns("(&(objectClass=apple-user)(!(apple-user-mailattribute=*)))",
             apple), ["uid=nomail"], "a user without mail settings")
    t.eq(dns("(apple-generateduid=5dc8a52b-855c-46a4-9074-08a356798100)",
             apple), ["uid=jdoe"], "apple-generateduid without case")


PLISTS = {
    "jdoe": "Enabled v=1 quota_mb=250 imap=allowed pop3=denied forward= "
            "location=mail.example.org altstore=",
    "sales": "Enabled v=2 quota_mb=0 imap=allowed pop3=unset forward= "
             "location= altstore=",
    "fwd": "Forward v=1 quota_mb=0 imap=allowed pop3=allowed "
           "forward=fwd.target@elsewhere.example.net location= altstore=",
    "offuser": "Off v=1 quota_mb=100 imap=unset pop3=unset forward= "
               "location= altstore=",
    "tiny": "Enabled v=1 quota_mb=1 imap=allowed pop3=unset forward= "
            "location= altstore=",
    # The value ends inside <string>10 (190 bytes); the state's <string>
    # starts at byte 131 (38 declaration + 6 + 59 version + 28 key).
    "broken": "error: byte 190: unterminated <string>",
    "badstate": "error: byte 131: kMailAccountState \"Active\" is not "
                "Enabled, Off or Forward",
}


@t.test
def plists_as_served_read_as_documented():
    r = slapd().search("cn=users,ou=Apple,o=company",
                       "(apple-user-mailattribute=*)",
                       attrs=["uid", "apple-user-mailattribute"])
    got = {}
    for e in r.entries:
        v = e.first("apple-user-mailattribute")
        p = t.run([t.tool("applemail-probe")], input=v)
        got[e.dn.split(",")[0][4:]] = p.out.strip()
    for uid, want in PLISTS.items():
        t.eq(got.get(uid), want, "plist of %s" % uid)
    t.eq(sorted(got), sorted(PLISTS), "every plist of the fixture read")


def split_defs(values, prefix):
    out = {}
    for v in values:
        v = re.sub(r"^\{\d+\}", "", v.strip())
        m = re.match(r"\(\s*([0-9.]+)\s(.*)\)$", v, re.S)
        if m and m.group(1).startswith(prefix):
            out[m.group(1)] = " ".join(m.group(2).split())
    return out


@t.test
def cn_config_ldif_equals_schema():
    main = slapd()
    try:
        c = cnconfig.start(["nis"])
    except RuntimeError as e:
        t.ok(False, "cn=config slapd", str(e))
        return
    for name in ("ox.ldif", "apple.ldif"):
        r = c.ldapadd_file(os.path.join(SCHEMA, name))
        t.ok(r.rc == 0, "ldapadd -Y EXTERNAL -f schema/%s" % name, r.why())
    a = c.subschema()
    r = main.search("cn=Subschema", scope="base", bind="system",
                    attrs=["attributeTypes", "objectClasses"])
    b = r.entries[0] if r.entries else None
    for prefix, what, n in ((OX_OID, "ox", (3, 1)), (APPLE_OID, "apple",
                                                     (2, 1))):
        for kind, want_n in zip(("attributeTypes", "objectClasses"), n):
            da = split_defs(a.get(kind, []) if a else [], prefix)
            db = split_defs(b.get(kind, []) if b else [], prefix)
            t.ok(len(da) == want_n and da == db, "%s %s: %s.ldif and "
                 "%s.schema define the same (%d)" % (what, kind, what, what,
                                                      want_n),
                 "ldif %r vs schema %r" % (da, db))
    c.stop()


if __name__ == "__main__":
    t.main()
