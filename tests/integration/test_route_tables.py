#!/usr/bin/env python3
"""test_route_tables: `lookupd route` through ldap_table maps
(lookupd/route.c, lookupd/live.c, lookupd/pfldap.c).

The domain, alias and mailbox maps are Postfix ldap_table files over
tests/fixtures/tables.ldif; the alias map expands groups through
special_result_attribute = member (staff holds alice, bob and the group
devs, which holds dave, eve and the group ops).  route must give the
alias answer Postfix's own `ldap:` gives (postmap -q, as a set), name
for each value the entry it came from ("from: VALUE <- DN", the DN of
the member entry, looked up here in the directory), send every value
on through the alias map as native aliases go (each member's own
lookup, "itself: final"), carry an address extension as kind address
does, and say "unknown" (exit 2) when a table's server cannot be
asked, never "undeliverable".
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
from pftables import FIX  # noqa: E402

PEOPLE = "ou=people,ou=tables,o=company"
NOT_BYDOMAIN = "(!(ou:dn:=bydomain))"
TABLES = {
    "domains": "search_base = ou=bydomain,ou=tables,o=company\n"
               "scope = one\nquery_filter = (ou=%s)\n"
               "result_attribute = ou\n",
    "groups": "search_base = ou=tables,o=company\n"
              "query_filter = (&(mail=%%s)%s)\n"
              "result_attribute = maildrop\n"
              "leaf_result_attribute = mail\n"
              "special_result_attribute = member\n" % NOT_BYDOMAIN,
    "mailbox": "search_base = %s\n"
               "query_filter = (&(|(mail=%%s)(mailAlternateAddress=%%s))"
               "(accountStatus=active))\n"
               "result_attribute = mailMessageStore\n" % PEOPLE,
}
_env = []


def env():
    """slapd, the table files and ldapmail.conf (no daemon: route needs
    none)."""
    if not _env:
        s = t.Slapd(ldifs=[t.fixture_path(),
                           os.path.join(FIX, "tables.ldif")]).start()
        d = t.tmpdir("ldapmail-route-tables-")
        conn = "server_host = %s\nbind_dn = %s\nbind_pw = %s\n" % (
            s.uri.rstrip("/"), t.SYSTEM_DN, t.SYSTEM_PW)
        for n, body in TABLES.items():
            t.write(os.path.join(d, n + ".cf"), conn + body, mode=0o600)
        extra = ("[map domain]\nldap_table = %s/domains.cf\nkind = domain\n"
                 "[map alias]\nldap_table = %s/groups.cf\nkind = address\n"
                 "catchall = yes\n"
                 "[map mailbox]\nldap_table = %s/mailbox.cf\n"
                 "kind = address\n" % (d, d, d))
        conf = os.path.join(d, "ldapmail.conf")
        t.write(conf, t.lookupd_config(s, d, profile="none", extra=extra))
        _env.append((s, d, conf))
    return _env[0]


def route(conf, *args):
    return t.run([t.LOOKUPD, "-c", conf, "route"] + list(args), timeout=60)


def steps(out):
    """route's text: [(header, [(fact, value)])]."""
    res = []
    for line in out.splitlines():
        if line.startswith("  "):
            k, _, v = line.strip().partition(": ")
            res[-1][1].append((k, v))
        else:
            res.append((line, []))
    return res


def step(out, header_start):
    for h, facts in steps(out):
        if h.startswith(header_start):
            return h, facts
    return None, []


def facts_of(facts, name):
    return [v for k, v in facts if k == name]


def postfix_values(d, key):
    r = t.postmap(["-q", key, "ldap:%s/groups.cf" % d])
    return r.rc, r.out.strip().split(",") if r.rc == 0 else []


def dn_of(s, mail):
    r = s.search(PEOPLE, "(mail=%s)" % mail, attrs=["1.1"], bind="system")
    return [e.dn for e in r.entries]


@t.test
def group_expansion_shows_each_values_dn():
    s, d, conf = env()
    rc, want = postfix_values(d, "staff@example.com")
    t.ok(rc == 0 and len(want) >= 6, "Postfix's ldap: expands the nested "
         "group staff@example.com", repr(want))
    r = route(conf, "staff@example.com")
    t.eq(r.rc, 1, "route exit 1: one member has no mailbox", r.why())
    h, facts = step(r.out, "alias staff@example.com:")
    t.ok(h is not None, "an alias step for the group", r.out[:400])
    t.eq(sorted(facts_of(facts, "answer")[0].split(",")) if facts else None,
         sorted(want), "the alias answer is Postfix's ldap: answer (as a "
         "set)")
    dns = {v: dn_of(s, v) for v in want}
    t.ok(all(len(x) == 1 for x in dns.values()), "each value is the mail "
         "of one member entry", repr(dns))
    t.eq(sorted(facts_of(facts, "from")),
         sorted("%s <- %s" % (v, dns[v][0]) for v in want),
         "from: each value with the DN of the entry it came from")
    t.eq(sorted(facts_of(facts, "dn")), sorted(x[0] for x in dns.values()),
         "dn: the member entries behind the answer, not the groups")
    for v in want:
        hv, fv = step(r.out, "alias %s:" % v)
        t.eq((hv, facts_of(fv, "key")),
             ("alias %s: %s (itself: final)" % (v, v), [v.lower()]),
             "the value %s goes on through the alias map as a native "
             "alias does" % v)
    # dave's entry is "shared", which the mailbox table's filter leaves out
    t.ok(r.out.endswith("verdict: undeliverable\nreason: virtual(8): "
                        "5.1.1 unknown user: \"dave@example.org\" "
                        "(soft_bounce = yes: deferred, then returned to "
                        "the sender) (%d of %d recipients are delivered)\n"
                        % (len(want) - 1, len(want))),
         "every member is a final recipient, each asked of the mailbox "
         "table", r.out[-300:])


@t.test
def extension_carried_through_the_group():
    s, d, conf = env()
    _, want = postfix_values(d, "staff@example.com")
    r = route(conf, "staff+tag@example.com")
    h, facts = step(r.out, "alias staff+tag@example.com:")
    items = [v.replace("@", "+tag@", 1) for v in want]
    t.eq((r.rc, facts_of(facts, "key"),
          sorted(facts_of(facts, "answer")[0].split(",")) if facts else
          None, facts_of(facts, "note")),
         (1, ["staff@example.com"], sorted(items),
          ["found without the address extension"]),
         "kind address: found without the extension, which each address "
         "of the answer carries")
    t.eq(sorted(facts_of(facts, "from")),
         sorted("%s <- %s" % (v, dn_of(s, v)[0]) for v in want),
         "from: the values as the table gave them, each with its DN")


@t.test
def json_has_from():
    s, d, conf = env()
    r = route(conf, "-j", "ops@example.com")
    t.eq(r.rc, 0, "route -j exit 0: ops's members are delivered",
         r.why())
    doc = json.loads(r.out)
    alias = [x for x in doc["steps"] if x["step"] == "alias" and
             x["subject"] == "ops@example.com"]
    _, want = postfix_values(d, "ops@example.com")
    t.eq(sorted(alias[0].get("from", [])) if alias else None,
         sorted("%s <- %s" % (v, dn_of(s, v)[0]) for v in want),
         "JSON: \"from\" is an array of VALUE <- DN")


@t.test
def table_server_down_is_unknown():
    s, d, conf = env()
    port = t.free_port()
    down = os.path.join(d, "down")
    os.makedirs(down, exist_ok=True)
    for n, body in TABLES.items():
        t.write(os.path.join(down, n + ".cf"), "server_host = "
                "ldap://127.0.0.1:%d\ntimeout = 2\n%s" % (port, body))
    with open(conf) as f:
        text = f.read()
    dconf = os.path.join(down, "ldapmail.conf")
    for n in TABLES:
        text = text.replace("%s/%s.cf" % (d, n), "%s/%s.cf" % (down, n))
    t.write(dconf, text)
    r = route(dconf, "staff@example.com")
    t.eq(r.rc, 2, "a table's server that cannot be asked: exit 2", r.why())
    t.ok("verdict: unknown\n" in r.out and
         "unknown: LDAP could not be asked" in r.out, "verdict unknown "
         "(LDAP could not be asked), never undeliverable", r.out)


if __name__ == "__main__":
    t.main()
