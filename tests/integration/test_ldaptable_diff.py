#!/usr/bin/env python3
"""test_ldaptable_diff: lookupd's ldap_table code (common/ldaptable.c,
common/pctexpand.c, lookupd/pfldap.c, driven by tests/tools/
ldaptable-answer) answers exactly what Postfix's own ldap: client answers
(`postmap -q - ldap:FILE`), against a real slapd holding the howto's
example, tests/fixtures/tables.ldif and the Jamm directory
tests/fixtures/jamm.ldif (schema/jamm.schema).

For every configuration below, over the same list of well over 300 keys
(every address, alias and domain of the directory as stored, in lower,
UPPER and MiXeD case, with +ext, unknown local parts in known domains,
bare domains, @domain, an empty local part, keys holding * ( ) \\ , and
spaces, UTF-8, a 300-byte key), each key's answer must be the same:
the values as a multiset (Postfix keeps duplicates), not found the same,
and TEMP exactly where Postfix reports an error.  Postfix folds keys
(UTF-8 too) before its ldap: table sees them, as it does before asking a
socketmap: the keys given to ldaptable-answer are folded the same way
(Python's casefold, the full Unicode folding Postfix's ICU does).
The Jamm fixture's "team" aliases list maildrop on two separated LDIF
lines, which slapadd keeps as two attributes: Postfix then gives the
first one's values twice, and so must we.

Configurations: the howto's alias and mailbox filters; %u/%d in
search_base and query_filter (a base per domain: a missing one is not
found), %1/%2 in base and filter; result_format smtp:[%s] and %u+%D;
a domain list; groups through special_result_attribute = member with
leaf and terminal attributes, nesting, a missing member and a cycle
(recursion_limit: an error), LDAP URLs (labeledURI: host ignored,
attributes, scope, a %-encoded filter); expansion_limit, size_limit and a small
recursion_limit exceeded (errors); a nested |/& filter with several %s
and a negation; the Jamm howto's four sources; two live-only shapes (a
branch without the key, a substring on the key).  Each configuration must
find something, and the limit ones must give errors, or the comparison
would prove little.

schema/jamm.ldif (cn=config) defines exactly what schema/jamm.schema
defines.

Each configuration is also classified (common/tableclass.c, with the
rules of the server's own subschema, common/subschema.c): enumerable
with the attributes its keys come from, or live-only and why.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
import cnconfig            # noqa: E402
from pftables import key_list, postfix_answers  # noqa: E402

FIX = os.path.join(t.SRC, "tests", "fixtures")
SCHEMA = os.path.join(t.SRC, "schema")
TABLES = "ou=tables,o=company"
ACTIVE = "(|(accountStatus=active)(accountStatus=shared))"
GROUPS = ("result_attribute = mailAlternateAddress\n"
          "leaf_result_attribute = mail\n"
          "terminal_result_attribute = mailForwardingAddress\n"
          "special_result_attribute = member\n")

# name -> (ldap_table text without the connection, expect errors)
CONFIGS = {
    "howto_alias": (
        "search_base = %s\n"
        "query_filter = (&(|(mail=%%s)(mailAlternateAddress=%%s))%s)\n"
        "result_attribute = mail\n" % (TABLES, ACTIVE), False),
    "howto_mailbox": (
        "search_base = %s\n"
        "query_filter = (&(|(mail=%%s)(mailAlternateAddress=%%s))%s)\n"
        "result_attribute = mailMessageStore\n" % (TABLES, ACTIVE), False),
    "pct_base_ud": (
        "search_base = ou=%%d,ou=bydomain,%s\n"
        "scope = one\n"
        "query_filter = (&(uid=%%u)(accountStatus=active))\n"
        "result_attribute = mailMessageStore\n" % TABLES, False),
    "pct_filter_ud": (
        "search_base = %s\n"
        "query_filter = (&(uid=%%u)(mail=%%u@%%d))\n"
        "result_attribute = mail\n"
        "result_format = %%u+%%D\n" % TABLES, False),
    "pct_labels": (
        "search_base = ou=%%2.%%1,ou=bydomain,%s\n"
        "query_filter = (|(mail=%%u@%%2.%%1)(uid=%%u))\n"
        "result_attribute = mail, mailHost\n"
        "result_format = %%s/%%2\n" % TABLES, False),
    "smtp_transport": (
        "search_base = %s\n"
        "query_filter = (&(objectClass=qmailUser)(|(mail=%%s)"
        "(mailAlternateAddress=%%s))(mailHost=*))\n"
        "result_attribute = mailHost\n"
        "result_format = smtp:[%%s]\n" % TABLES, False),
    "domain_list": (
        "search_base = %s\n"
        "query_filter = (|(mail=%%s)(mailAlternateAddress=%%s))\n"
        "result_attribute = mail\n"
        "domain = example.com, sub.example.net\n" % TABLES, False),
    "groups": (
        "search_base = %s\n"
        "query_filter = (|(mail=%%s)(mailAlternateAddress=%%s))\n"
        "recursion_limit = 20\n" % TABLES + GROUPS, True),
    "groups_limits": (
        "search_base = %s\n"
        "query_filter = (|(mail=%%s)(mailAlternateAddress=%%s))\n"
        "recursion_limit = 3\n"
        "expansion_limit = 8\n"
        "size_limit = 3\n" % TABLES + GROUPS, True),
    "groups_url": (
        "search_base = %s\n"
        "query_filter = (mail=%%s)\n"
        "result_attribute = mail\n"
        "special_result_attribute = member, labeledURI\n" % TABLES, False),
    "nested_filter": (
        "search_base = %s\n"
        "query_filter = (&(|(mail=%%s)(mailAlternateAddress=%%s)"
        "(&(uid=%%u)(mail=%%s)))(!(|(accountStatus=disabled)"
        "(accountStatus=deleted)))(|(objectClass=qmailUser)"
        "(objectClass=groupOfNames)))\n"
        "result_attribute = mail\n" % TABLES, False),
    "jamm_transport": (
        "search_base = o=hosting,o=company\n"
        "query_filter = (&(&(objectClass=JammVirtualDomain)"
        "(accountActive=TRUE))(jvd=%s))\n"
        "result_attribute = postfixTransport\n", False),
    "jamm_aliases": (
        "search_base = o=hosting,o=company\n"
        "query_filter = (&(&(objectClass=JammMailAlias)"
        "(accountActive=TRUE))(mail=%s))\n"
        "result_attribute = maildrop\n", False),
    "jamm_accounts": (
        "search_base = o=hosting,o=company\n"
        "query_filter = (&(&(objectClass=JammMailAccount)"
        "(accountActive=TRUE))(mail=%s))\n"
        "result_attribute = mailbox\n", False),
    "jamm_accountsmap": (
        "search_base = o=hosting,o=company\n"
        "query_filter = (&(&(objectClass=JammMailAccount)"
        "(accountActive=TRUE))(mail=%s))\n"
        "result_attribute = mail\n", False),
    # the two live-only shapes of the issue: they must answer the same too
    "live_branch": (
        "search_base = %s\n"
        "query_filter = (|(mail=%%s)(&(uid=%%u)(accountStatus=active)))\n"
        "result_attribute = mail\n" % TABLES, False),
    "live_substring": (
        "search_base = %s\n"
        "query_filter = (&(mail=%%u@*)(mailHost=*))\n"
        "result_attribute = mail\n" % TABLES, False),
}

# what tableclass makes of each, with this server's subschema
ENUM_ALIAS = "enumerable: mail mailAlternateAddress"
CLASSES = {
    "howto_alias": ENUM_ALIAS,
    "howto_mailbox": ENUM_ALIAS,
    "pct_base_ud": "live-only: search_base depends on the key: "
                   "ou=%d,ou=bydomain," + TABLES,
    "pct_filter_ud": "enumerable: mail",
    "pct_labels": "live-only: search_base depends on the key: "
                  "ou=%2.%1,ou=bydomain," + TABLES,
    "smtp_transport": ENUM_ALIAS,
    "domain_list": ENUM_ALIAS,
    "groups": ENUM_ALIAS,
    "groups_limits": ENUM_ALIAS,
    "groups_url": "enumerable: mail",
    "nested_filter": ENUM_ALIAS,
    "jamm_transport": "enumerable: jvd",
    "jamm_aliases": "enumerable: mail",
    "jamm_accounts": "enumerable: mail",
    "jamm_accountsmap": "enumerable: mail",
    "live_branch": "live-only: a branch without the key: "
                   "(&(uid=%u)(accountStatus=active))",
    "live_substring": "live-only: the key in a substring, ordering, "
                      "approximate or extensible match: (mail=%u@*)",
}

_slapd = []


def slapd():
    if not _slapd:
        _slapd.append(t.Slapd(
            ldifs=[t.fixture_path(), os.path.join(FIX, "tables.ldif"),
                   os.path.join(FIX, "jamm.ldif")],
            schemas=[os.path.join(SCHEMA, "jamm.schema")]).start())
    return _slapd[0]


def write_cf(dir, name, body):
    s = slapd()
    path = os.path.join(dir, name + ".cf")
    t.write(path, "server_host = %s\nversion = 3\nbind_dn = %s\n"
            "bind_pw = %s\n%s" % (s.uri.rstrip("/"), t.SYSTEM_DN,
                                  t.SYSTEM_PW, body), mode=0o600)
    return path


def our_answers(cf, keys):
    r = t.run([t.tool("ldaptable-answer"), "-a", cf],
              input="".join(k.casefold() + "\n" for k in keys),
              timeout=300)
    if r.rc not in (0, 75):
        raise RuntimeError("ldaptable-answer: " + r.why())
    lines = r.out.split("\n")[:-1]
    if len(lines) != len(keys):
        raise RuntimeError("ldaptable-answer: %d lines for %d keys"
                           % (len(lines), len(keys)))
    out = {}
    for k, line in zip(keys, lines):
        f = line.split("\t", 2)
        if f[0] == "FOUND":
            out[k] = ("found", sorted(f[2].split(",")))
        elif f[0] == "NOTFOUND":
            out[k] = ("notfound",)
        else:
            out[k] = ("error",)
    return out


_lookupd = []


def lookupd():
    """One lookupd serving every configuration as a map of its own
    (ldap_table = its file, kind plain by default)."""
    if not _lookupd:
        d = t.tmpdir("ldapmail-ldaptable-lookupd-")
        extra = "".join("[map %s]\nldap_table = %s\n" % (
            name, write_cf(d, name, body))
            for name, (body, _) in CONFIGS.items())
        # a table whose server does not answer (nothing listens there)
        down = os.path.join(d, "down.cf")
        t.write(down, "server_host = ldap://127.0.0.1:%d\ntimeout = 2\n"
                "search_base = %s\nquery_filter = (mail=%%s)\n"
                "result_attribute = mail\n" % (t.free_port(), TABLES))
        extra += "[map down]\nldap_table = %s\n" % down
        _lookupd.append(t.Lookupd(t.lookupd_config(
            slapd(), d, extra=extra), dir=d).start())
    return _lookupd[0]


def compare(name, body, want_errors, keys, dir):
    cf = write_cf(dir, name, body)
    ours = our_answers(cf, keys)
    pf = postfix_answers(cf, keys, [k for k in keys
                                    if ours[k][0] == "error"])
    # the same keys through lookupd serving the file, as Postfix asks
    # it (its socketmap client folds keys as its ldap: client does)
    served = postfix_answers(cf, keys, [k for k in keys
                                        if ours[k][0] == "error"],
                             table=lookupd().table(name))
    diffs = ["%r: postfix %s, lookupd %s" % (k, pf[k], served[k])
             for k in keys if pf[k] != served[k]]
    t.eq(diffs[:8], [], "%s: lookupd serving the file answers %d keys "
         "as Postfix's ldap: does" % (name, len(keys)),
         "%d differences" % len(diffs))
    diffs = ["%r: postfix %s, ours %s" % (k, pf[k], ours[k])
             for k in keys if pf[k] != ours[k]]
    counts = {s: sum(1 for k in keys if pf[k][0] == s)
              for s in ("found", "notfound", "error")}
    t.eq(diffs[:8], [], "%s: %d keys answered as Postfix answers "
         "(%d found, %d not found, %d errors)" % (
             name, len(keys), counts["found"], counts["notfound"],
             counts["error"]), "%d differences" % len(diffs))
    t.ok(counts["found"] > 0, "%s: Postfix finds keys (the comparison "
         "is not all not-found)" % name)
    if want_errors:
        t.ok(counts["error"] > 0, "%s: Postfix reports errors for some "
             "keys (the limits are reached)" % name)


@t.test
def key_list_is_large():
    keys = key_list()
    t.ok(len(keys) >= 300, "at least 300 distinct keys (%d)" % len(keys))
    t.ok(any(len(k.encode()) >= 300 for k in keys), "a 300-byte key")
    t.ok(any(ord(c) > 127 for k in keys for c in k), "UTF-8 keys")


def make_test(name):
    body, errs = CONFIGS[name]

    def fn():
        compare(name, body, errs, key_list(),
                t.tmpdir("ldapmail-ldaptable-"))
    fn.__name__ = "diff_" + name
    return fn


for _n in CONFIGS:
    t.test(make_test(_n))


@t.test
def served_temp_when_ldap_is_down():
    lk = lookupd()
    for key in ("alice@example.com", "nosuchuser@example.com"):
        r = lk.query("down", key, timeout=30)
        t.ok(r.startswith(b"TEMP "), "an ldap_table map whose server is "
             "down answers TEMP, never NOTFOUND (%s)" % key, repr(r))
    r = t.postmap(["-q", "alice@example.com", lk.table("down")],
                  timeout=60)
    t.ok(r.rc != 0 and r.rc != 1 or "fatal:" in r.err,
         "postmap through lookupd reports an error, not not-found",
         r.why())


@t.test
def check_says_enumerable_or_live_only():
    lk = lookupd()
    r = lk.cli("check", timeout=120)
    lines, snap = {}, set()
    for line in r.out.splitlines():
        m = re.match(r"map (\S+): ldap_table (\S+): (.*?)"
                     r"( \(answered from the snapshot \S+\))?$", line)
        if m:
            lines[m.group(1)] = (m.group(2), m.group(3))
            if m.group(4):
                snap.add(m.group(1))
    for name in CONFIGS:
        cf = os.path.join(lk.dir, name + ".cf")
        t.eq(lines.get(name), (cf, CLASSES[name]), "check: map %s: %s"
             % (name, CLASSES[name].split(":")[0]))
        t.eq(name in snap, CLASSES[name].startswith("enumerable"),
             "check: map %s: answered from the snapshot if enumerable"
             % name)
    t.ok("down" in lines and "Can't contact" in lines["down"][1] or
         "down" in lines and "contact" in lines["down"][1].lower(),
         "check: a table whose server is down says so", repr(lines.get(
             "down")))
    t.ok(r.rc != 0, "check fails while a table's server is down", r.why())


@t.test
def config_errors_name_file_and_line():
    s = slapd()
    d = t.tmpdir("ldapmail-ldaptable-cfg-")
    good = write_cf(d, "good", CONFIGS["howto_alias"][0])
    bad = os.path.join(d, "bad.cf")
    t.write(bad, "server_host = %s\nquery_filtre = (mail=%%s)\n" % s.uri)
    deref = os.path.join(d, "deref.cf")
    t.write(deref, "server_host = %s\ndereference = 3\n" % s.uri)
    missing = os.path.join(d, "missing.cf")
    base = t.lookupd_config(s, d)
    n = base.count("\n")
    for extra, want in (
            ("[map x]\nldap_table = %s\nkey = mail\n" % good,
             "%%s:%d: [map x]: key is not used with ldap_table (the file "
             "says it)" % (n + 3)),
            ("[map x]\nresult = mail\nldap_table = %s\n" % good,
             "%%s:%d: [map x]: result is not used with ldap_table (the "
             "file says it)" % (n + 2)),
            ("[map x]\nldap_table = %s\n" % bad,
             "%%s:%d: [map x]: ldap_table: %s:2: unknown parameter "
             "\"query_filtre\"" % (n + 2, bad)),
            ("[map x]\nldap_table = %s\n" % missing,
             "%%s:%d: [map x]: ldap_table: %s: " % (n + 2, missing)),
            ("[map x]\nldap_table = %s\n" % deref,
             "%%s:%d: [map x]: ldap_table: %s: dereference = 3: lookupd "
             "never dereferences aliases (only 0 is supported)"
             % (n + 1, deref))):
        conf = os.path.join(d, "ldapmail.conf")
        t.write(conf, base + extra)
        r = t.run([t.LOOKUPD, "-c", conf, "check"], timeout=60)
        err = r.err.strip().split("\n")
        w = want % conf
        t.ok(r.rc == 2 and len(err) == 1 and
             re.sub(r"^lookupd\[\d+\]: error: ", "", err[0]).startswith(w),
             "one error line naming the file and line: %s" % w, r.why())


@t.test
def classification_with_the_servers_rules():
    d = t.tmpdir("ldapmail-ldaptable-class-")
    for name, (body, _) in CONFIGS.items():
        cf = write_cf(d, name, body)
        r = t.run([t.tool("ldaptable-answer"), "-c", cf], timeout=60)
        t.eq((r.rc, r.out.strip()), (0, CLASSES[name]),
             "%s is %s" % (name, CLASSES[name].split(":")[0]))


JAMM_OID = "2.25.67959956779120657986497574575789110116."


def jamm_defs(values):
    out = {}
    for v in values:
        v = re.sub(r"^\{\d+\}", "", v.strip())
        m = re.match(r"\(\s*([0-9.]+)\s(.*)\)$", v, re.S)
        if m and m.group(1).startswith(JAMM_OID):
            out[m.group(1)] = " ".join(m.group(2).split())
    return out


@t.test
def jamm_ldif_equals_schema():
    """schema/jamm.ldif loads into a cn=config slapd and defines exactly
    what schema/jamm.schema (loaded by the test slapd) defines."""
    main = slapd()
    try:
        c = cnconfig.start()
    except RuntimeError as e:
        t.ok(False, "cn=config slapd", str(e))
        return
    r = c.ldapadd_file(os.path.join(SCHEMA, "jamm.ldif"))
    t.ok(r.rc == 0, "ldapadd -Y EXTERNAL -f schema/jamm.ldif", r.why())
    a = c.subschema()
    r = main.search("cn=Subschema", scope="base", bind="system",
                    attrs=["attributeTypes", "objectClasses"])
    b = r.entries[0] if r.entries else None
    for kind, n in (("attributeTypes", 7), ("objectClasses", 3)):
        da = jamm_defs(a.get(kind, []) if a else [])
        db = jamm_defs(b.get(kind, []) if b else [])
        t.ok(len(da) == n and da == db, "jamm %s: jamm.ldif and "
             "jamm.schema define the same (%d)" % (kind, n),
             "ldif %r vs schema %r" % (da, db))
    c.stop()


@t.test
def bad_files_one_error_line():
    d = t.tmpdir("ldapmail-ldaptable-bad-")
    for body, want in (
            ("query_filtre = (mail=%s)\n", "unknown parameter "
             "\"query_filtre\""),
            ("query_filter = (&(mail=%s)\n", "query_filter: filter byte "
             "11: missing ')'"),
            ("query_filter = (mail=%x)\n", "query_filter: unknown "
             "expansion '%x' in \"(mail=%x)\""),
            ("scope = everything\n", "scope: \"everything\" is not sub, "
             "one or base")):
        cf = os.path.join(d, "bad.cf")
        t.write(cf, "server_host = ldap://127.0.0.1:1\n" + body)
        r = t.run([t.tool("ldaptable-answer"), cf], input="a@b\n")
        err = r.err.strip().split("\n")
        t.eq((r.rc, err), (78, ["ldaptable-answer: %s:2: %s" % (cf, want)]),
             "bad file: one error line: %s" % want)
    # what Postfix does and lookupd does not: refused, never answered
    # differently
    for body, want in (
            ("dereference = 3\n", "dereference = 3: lookupd never "
             "dereferences aliases (only 0 is supported)"),
            ("chase_referrals = yes\n", "chase_referrals = yes is not "
             "supported"),
            ("version = 2\n", "version = 2 is not supported (lookupd "
             "speaks LDAPv3 only)"),
            ("bind = sasl\nsasl_mechs = DIGEST-MD5\n", "sasl_mechs = "
             "DIGEST-MD5: only EXTERNAL is supported")):
        cf = os.path.join(d, "unsupported.cf")
        t.write(cf, "server_host = ldap://127.0.0.1:1\n" + body)
        r = t.run([t.tool("ldaptable-answer"), cf], input="a@b\n")
        t.eq((r.rc, r.err.strip()), (78, "ldaptable-answer: %s: %s"
                                     % (cf, want)),
             "unsupported, refused: %s" % want)


if __name__ == "__main__":
    t.main()
