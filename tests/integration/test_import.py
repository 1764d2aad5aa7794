#!/usr/bin/env python3
"""test_import: `lookupd import` (lookupd/import.c, common/mainscan.c)
makes Postfix's ldap: tables into an ldapmail.conf whose maps answer
what the old tables answered.

Two main.cf files are migrated: the Jamm Virtual Mail Server HOWTO's
(tests/fixtures/jamm-main.cf, four sources in the Postfix 2.0 form,
NAME_* parameters in main.cf, written out with -d; server_host, the
suffix and the bind pointed at the test slapd), and one with five
tables (four files and one 2.0 source; one table used by two
parameters; one with %u/%d in its filter, which Postfix asks with the
whole key only).  For each: `lookupd check` accepts the output as it
is (only the socket, cache_dir and socket_group moved into the test's
directory), and a lookupd serving it answers, over the differential
key list of test_ldaptable_diff (tests/lib/pftables.py), exactly what
Postfix answers from the old table with its own walk (keys folded as
postmap folds them before either table sees them): for kind
address the key, the key without its +extension (the answer then
carries it) and @domain, the first found (an error stops the walk);
for kind domain the key without a trailing dot; for transport_maps
(kind domain, catchall: an address answered by its domain) transport(5)'s
walk, the address, without its extension, its domain and each parent
as ".parent"; for kind plain the key alone.  Postfix's answers come
from the original main.cf (the 2.0 sources through `postmap -c` on it),
not from the files import wrote.
And the snapshots the postconf lines hand to virtual(8) and
transport(5) (cdb:CACHE/NAME) exist and, walked by Postfix itself as
those read them, answer as the old tables did (except Postfix's errors
and keys found only through LDAP's insignificant spaces or non-ASCII
folding, which a cdb file cannot hold: test_ldaptable_snapshot).

A small main.cf gives exactly the expected text (golden), and the
refusals (a 2.0 source without -d, an unreadable table, no ldap:
table) are one clear line each.
"""
import concurrent.futures
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
from pftables import FIX, key_list, postfix_answers  # noqa: E402

TABLES = "ou=tables,o=company"
ACTIVE = "(|(accountStatus=active)(accountStatus=shared))"
_slapd = []


def slapd():
    if not _slapd:
        _slapd.append(t.Slapd(
            ldifs=[t.fixture_path(), os.path.join(FIX, "tables.ldif"),
                   os.path.join(FIX, "jamm.ldif")],
            schemas=[os.path.join(t.SRC, "schema", "jamm.schema")]).start())
    return _slapd[0]


def conn():
    s = slapd()
    return ("server_host = %s\nversion = 3\nbind_dn = %s\nbind_pw = %s\n"
            % (s.uri.rstrip("/"), t.SYSTEM_DN, t.SYSTEM_PW))


def import_(args, input=None):
    return t.run([t.LOOKUPD, "import"] + list(args), input=input,
                 timeout=60)


def localize(conf, d):
    """The imported configuration with its socket, cache and socket group
    in the test's directory: nothing else changed."""
    conf, n = re.subn(r"(?m)^socketmap_listen = .*$", "socketmap_listen = "
                      "unix:" + os.path.join(d, "lookupd.sock"), conf)
    conf = re.sub(r"(?m)^cache_dir = .*$", "cache_dir = " +
                  os.path.join(d, "cache"), conf)
    conf = re.sub(r"(?m)^socket_group = .*$", "socket_group =", conf)
    return conf


def maps_of(conf):
    """[map NAME] -> (ldap_table, kind) of an imported configuration;
    kind "transport" for a domain map with catchall (an address answered
    by its domain: what import makes of a transport_maps table)."""
    out = {}
    for m in re.finditer(r"(?ms)^\[map (\S+)\]\n(.*?)(?=^\[map |\Z)", conf):
        body = m.group(2)
        kind = re.search(r"(?m)^kind = (.*)$", body).group(1)
        if kind == "domain" and "\ncatchall = yes\n" in body:
            kind = "transport"
        out[m.group(1)] = (
            re.search(r"(?m)^ldap_table = (.*)$", body).group(1), kind)
    return out


def ext_split(local, delim):
    """Where the extension starts (maps.c's rule, Postfix's), or 0."""
    low = local.lower()
    if not delim or not local or low in ("postmaster", "mailer-daemon"):
        return 0
    if "-" in delim and (low.startswith("owner-") or
                         (len(low) > 8 and low.endswith("-request"))):
        return 0
    for i, c in enumerate(local):
        if c in delim:
            return i if i > 0 else 0
    return 0


def walk(kind, key, delim):
    """The keys Postfix asks its ldap: table, in order: (key, ext)."""
    if kind == "plain":
        return [(key, None)]
    if kind == "domain" or (kind == "transport" and "@" not in key):
        k = key[:-1] if key.endswith(".") else key
        return [(k, None)] if k else []
    if kind == "transport":
        # transport(5) on a fixed table: the address, without its
        # extension, its domain, then each parent as ".parent" (the
        # trailing dot trivial-rewrite drops first)
        key = key[:-1] if key.endswith(".") else key
        local, _, dom = key.rpartition("@")
        steps = [(key, None)]
        split = ext_split(local, delim)
        if split:
            steps.append((local[:split] + "@" + dom, None))
        name = dom
        while name:
            steps.append((name, None))
            nxt = name.find(".", 1)
            name = name[nxt:] if nxt > 0 else ""
        return steps
    if "@" not in key:
        return []
    local, _, dom = key.rpartition("@")
    steps, seen = [(key, None)], {key.lower()}
    split = ext_split(local, delim)
    if split:
        steps.append((local[:split] + "@" + dom, local[split:]))
    steps.append(("@" + dom, None))
    out = []
    for k, ext in steps:
        if k.lower() not in seen or k == key:
            seen.add(k.lower())
            out.append((k, ext))
    return out


def with_ext(value, ext):
    """maps_answer's rule: an address item gets the extension before its
    last '@'."""
    if "@" not in value or value.startswith("/") or ":" in value:
        return value
    at = value.rindex("@")
    return value[:at] + ext + value[at:]


def expected(kind, keys, delim, table, config_dir=None):
    """key -> Postfix's answer through its walk over table.  keys are
    folded as Postfix folds them before either table sees them."""
    steps = {k: walk(kind, k, delim) for k in keys}
    asked = sorted({s for st in steps.values() for s, _ in st})
    pf = postfix_answers(None, asked, table=table, config_dir=config_dir)
    out = {}
    for k in keys:
        out[k] = ("notfound",)
        for s, ext in steps[k]:
            a = pf[s]
            if a[0] == "notfound":
                continue
            if a[0] == "found" and ext:
                a = ("found", sorted(with_ext(v, ext) for v in a[1]))
            out[k] = a
            break
    return out


def serve_and_compare(conf, d, old_tables, delim, config_dir=None):
    """Run lookupd on conf; each map answers as Postfix's walk over the
    old table old_tables[name] did.  The maps are compared side by side
    (threads: the time goes into waiting for postmap and LDAP)."""
    t.write(os.path.join(d, "ldapmail.conf"), conf)
    lk = t.Lookupd(conf, dir=d).start()
    # postmap folds every key (UTF-8 too) before its ldap: or socketmap:
    # client sends it: KEY, key and MiXeD are one question to both
    keys = sorted({k.casefold() for k in key_list()})

    def one(item):
        name, kind = item
        want = expected(kind, keys, delim, old_tables[name], config_dir)
        got = postfix_answers(None, keys, [k for k in keys
                                           if want[k][0] == "error"],
                              table=lk.table(name))
        return name, kind, want, got

    maps = maps_of(conf)
    cache = re.search(r"(?m)^cache_dir = (.*)$", conf).group(1)
    cdbs = sorted(set(re.findall(r"cdb:/var/lib/ldapmail/([\w.-]+)", conf)))

    def one_cdb(name):
        """Postfix's own walk over the snapshot, as virtual(8) and
        transport(5) read it."""
        path = os.path.join(cache, name + ".cdb")
        if not t.wait_until(lambda: os.path.exists(path), 60):
            return name, None, None
        kind = maps[name][1]
        return name, expected(kind, keys, delim, old_tables[name],
                              config_dir), \
            expected(kind, keys, delim, "cdb:" + path[:-4])

    try:
        items = sorted((n, k) for n, (_, k) in maps.items())
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(one, items))
            cdb_results = list(pool.map(one_cdb, cdbs))
    finally:
        lk.stop()
    for name, want, got in cdb_results:
        t.ok(want is not None, "map %s: lookupd wrote the snapshot "
             "cdb:%s/%s that the postconf lines name" % (name, cache, name))
        if want is None:
            continue
        # what a snapshot cannot hold: Postfix's errors, and keys that
        # match only with LDAP's insignificant spaces or non-ASCII folding
        keys_c = [k for k in keys if want[k][0] != "error" and k.isascii()
                  and k == " ".join(k.split())]
        diffs = ["%r: postfix %s, cdb %s" % (k, want[k], got[k])
                 for k in keys_c if want[k] != got[k]]
        t.eq(diffs[:8], [], "cdb:%s: %d keys walked by Postfix itself "
             "answer as the old table (%d found)" % (
                 name, len(keys_c),
                 sum(1 for k in keys_c if want[k][0] == "found")),
             "%d differences" % len(diffs))
    for name, kind, want, got in results:
        diffs = ["%r: postfix %s, lookupd %s" % (k, want[k], got[k])
                 for k in keys if want[k] != got[k]]
        found = sum(1 for k in keys if want[k][0] == "found")
        errors = sum(1 for k in keys if want[k][0] == "error")
        t.eq(diffs[:8], [], "map %s (kind %s): %d keys answered as "
             "Postfix answered from %s (%d found, %d errors)" % (
                 name, kind, len(keys), old_tables[name], found, errors),
             "%d differences" % len(diffs))
        t.ok(found > 0, "map %s: the comparison finds keys" % name)


def check_accepts(conf, d, want_maps):
    path = os.path.join(d, "ldapmail.conf")
    t.write(path, conf)
    r = t.run([t.LOOKUPD, "-c", path, "check"], timeout=120)
    t.eq(r.rc, 0, "lookupd check accepts the imported configuration",
         r.why())
    got = sorted(re.findall(r"(?m)^map (\S+): ldap_table ", r.out))
    t.eq(got, sorted(want_maps), "check: every table is a map")


def jamm_main_cf():
    s = slapd()
    with open(os.path.join(FIX, "jamm-main.cf")) as f:
        text = f.read()
    text = text.replace("server_host = localhost", "server_host = " +
                        s.uri.rstrip("/"))
    # the test slapd shows o=hosting to a bound client only
    text = re.sub(r"(?m)^(\w+)_bind = no$", r"\1_bind_dn = %s\n"
                  r"\1_bind_pw = %s" % (t.SYSTEM_DN, t.SYSTEM_PW), text)
    return text.replace("dc=example,dc=com", "o=company")


@t.test
def jamm_howto():
    d = t.tmpdir("ldapmail-import-jamm-")
    main = jamm_main_cf()
    r = import_(["-d", d, "-"], input=main)
    t.eq((r.rc, r.err), (0, ""), "import -d DIR of the Jamm howto's "
         "main.cf (2.0 form)", r.why())
    conf = r.out
    maps = maps_of(conf)
    t.eq({n: (os.path.basename(f), k) for n, (f, k) in maps.items()},
         {"transport": ("transport.cf", "transport"),
          "aliases": ("aliases.cf", "address"),
          "accountsmap": ("accountsmap.cf", "address"),
          "accounts": ("accounts.cf", "address")},
         "four maps, kind from the parameter that uses each (transport: "
         "domain with catchall)")
    for n, (f, _) in maps.items():
        t.eq(oct(os.stat(f).st_mode & 0o777), "0o600",
             "%s written mode 0600 (it may hold bind_pw)" % f)
    lines = [ln for ln in conf.splitlines() if ln.startswith("# postconf")]
    t.eq(lines, [
        "# postconf -e 'transport_maps = cdb:/var/lib/ldapmail/transport'",
        "# postconf -e 'virtual_maps = socketmap:unix:ldapmail/lookupd.sock:"
        "aliases, socketmap:unix:ldapmail/lookupd.sock:accountsmap'",
        "# postconf -e 'virtual_mailbox_maps = cdb:/var/lib/ldapmail/"
        "accounts, socketmap:unix:ldapmail/lookupd.sock:accounts'",
        "# postconf -P 'virtual/unix/virtual_mailbox_maps=cdb:/var/lib/"
        "ldapmail/accounts'"], "the postconf lines: cdb: where virtual(8) "
         "and transport(5)'s walk read, socketmap: elsewhere")
    t.ok("\nrecipient_delimiter = \n" in conf, "no recipient_delimiter in "
         "main.cf: none in ldapmail.conf either (Postfix's default)")
    conf = localize(conf, d)
    check_accepts(conf, d, list(maps))
    # Postfix's answers from the 2.0 parameters of main.cf itself
    pfconf = t.tmpdir("ldapmail-import-pfconf-")
    t.write(os.path.join(pfconf, "main.cf"),
            "compatibility_level = 3.6\n" + main)
    serve_and_compare(conf, d, {n: "ldap:" + n for n in maps}, "",
                      config_dir=pfconf)


FIVE = """\
# five ldap: tables (one through proxymap): four files, one 2.0 source
# (groups: nested, not the cycle, whose errors would cost a postmap run
# per key); aliases.cf used twice
recipient_delimiter = +
virtual_mailbox_domains = ldap:{d}/domains.cf
virtual_alias_maps = hash:/etc/postfix/virtual,
    ldap:{d}/aliases.cf, ldap:groups
smtpd_sender_login_maps = ldap:{d}/aliases.cf
virtual_mailbox_maps = ldap:{d}/mailbox.cf
relay_recipient_maps = proxy:ldap:{d}/byuser.cf
groups_server_host = {uri}
groups_version = 3
groups_bind_dn = {bind_dn}
groups_bind_pw = {bind_pw}
groups_search_base = {tables}
groups_query_filter = (&(|(mail=%s)(mailAlternateAddress=%s))(!(cn=loop*)))
groups_recursion_limit = 20
groups_result_attribute = mailAlternateAddress
groups_leaf_result_attribute = mail
groups_terminal_result_attribute = mailForwardingAddress
groups_special_result_attribute = member
"""


@t.test
def five_tables():
    s = slapd()
    d = t.tmpdir("ldapmail-import-five-")
    files = {
        "domains": "search_base = ou=postfix,ou=System,o=company\n"
                   "query_filter = (&(objectClass=domainRelatedObject)"
                   "(associatedDomain=%s))\n"
                   "result_attribute = associatedDomain\n",
        "aliases": "search_base = %s\nquery_filter = (&(|(mail=%%s)"
                   "(mailAlternateAddress=%%s))%s)\nresult_attribute = mail\n"
                   % (TABLES, ACTIVE),
        "mailbox": "search_base = %s\nquery_filter = (&(|(mail=%%s)"
                   "(mailAlternateAddress=%%s))%s)\n"
                   "result_attribute = mailMessageStore\n" % (TABLES, ACTIVE),
        "byuser": "search_base = %s\nquery_filter = (&(uid=%%u)"
                  "(mail=%%u@%%d))\nresult_attribute = mail\n" % TABLES,
    }
    for n, body in files.items():
        t.write(os.path.join(d, n + ".cf"), conn() + body, mode=0o600)
    main = FIVE.format(d=d, uri=s.uri.rstrip("/"), bind_dn=t.SYSTEM_DN,
                       bind_pw=t.SYSTEM_PW, tables=TABLES)
    mainpath = os.path.join(d, "main.cf")
    t.write(mainpath, main)
    out = t.tmpdir("ldapmail-import-five-out-")
    r = import_(["-d", out, mainpath])
    t.eq((r.rc, r.err), (0, ""), "import of a main.cf with five ldap: "
         "tables", r.why())
    conf = r.out
    maps = maps_of(conf)
    t.eq({n: k for n, (_, k) in maps.items()},
         {"domains": "domain", "aliases": "address", "groups": "address",
          "mailbox": "address", "byuser": "plain"},
         "five maps: domain, address, address (2.0), address, plain (%u/%d)")
    t.ok("[map aliases]\n# virtual_alias_maps, smtpd_sender_login_maps: "
         "Postfix's ldap:%s/aliases.cf\n# one map for virtual_alias_maps, "
         "smtpd_sender_login_maps: the same table and kind\n" % d in conf,
         "a table used by two parameters is one map, and says so", conf)
    sock = "socketmap:unix:ldapmail/lookupd.sock:"
    lines = [ln for ln in conf.splitlines() if ln.startswith("# postconf")]
    t.eq(lines, [
        "# postconf -e 'virtual_mailbox_domains = %sdomains'" % sock,
        "# postconf -e 'virtual_alias_maps = hash:/etc/postfix/virtual, "
        "%saliases, %sgroups'" % (sock, sock),
        "# postconf -e 'smtpd_sender_login_maps = %saliases'" % sock,
        "# postconf -e 'virtual_mailbox_maps = cdb:/var/lib/ldapmail/"
        "mailbox, %smailbox'" % sock,
        "# postconf -e 'relay_recipient_maps = %sbyuser'" % sock,
        "# postconf -P 'virtual/unix/virtual_mailbox_maps=cdb:/var/lib/"
        "ldapmail/mailbox'"],
         "postconf lines keep the other entries of each list in order")
    t.ok("\nldap_uri = %s\nbind_dn = %s\n" % (s.uri.rstrip("/"),
                                              t.SYSTEM_DN) in conf,
         "one server and bind in every table: the global connection")
    conf = localize(conf, out)
    check_accepts(conf, out, list(maps))
    pfconf = t.tmpdir("ldapmail-import-pfconf5-")
    t.write(os.path.join(pfconf, "main.cf"),
            "compatibility_level = 3.6\n" + main)
    old = {n: "ldap:%s/%s.cf" % (d, n) for n in files}
    old["groups"] = "ldap:groups"
    serve_and_compare(conf, out, old, "+", config_dir=pfconf)


SMALL = """\
# a small main.cf
myhostname = mx.example.com
queue_directory = /srv/postfix
recipient_delimiter = +
alias_db = ldap:{d}/aliases.cf
virtual_alias_maps = hash:/etc/postfix/virtual,
\t$alias_db
smtpd_sender_login_maps = $virtual_alias_maps
smtpd_recipient_restrictions = permit_mynetworks,
    check_recipient_access ldap:{d}/access.cf, reject
"""

GOLDEN = """\
# ldapmail.conf made by `lookupd import` from {d}/main.cf:
# 1 Postfix ldap: table, one [map] each, answering as Postfix's ldap:
# answers from the same file.  `lookupd check` says which maps are
# enumerable.  Switch Postfix over with the postconf lines at the end:
#   sed -n 's/^# postconf /postconf /p' THIS_FILE | sh && postfix reload
# not switched: smtpd_recipient_restrictions uses ldap:{d}/access.cf \
(how Postfix walks smtpd_recipient_restrictions's keys is not one of \
lookupd's kinds)

# every table has this server, bind and TLS
ldap_uri = ldap://127.0.0.1:1
# no built-in maps: every map is a table below
profile = none
# required, used by native maps only
account_base = ou=tables,o=company
socketmap_listen = unix:/srv/postfix/ldapmail/lookupd.sock
socket_group = postfix
socket_mode = 0660
cache_dir = /var/lib/ldapmail
# Postfix's own (main.cf)
recipient_delimiter = +

[map aliases]
# virtual_alias_maps: Postfix's ldap:{d}/aliases.cf
ldap_table = {d}/aliases.cf
kind = address
# Postfix tries @domain too
catchall = yes

# Switch Postfix over (main.cf, and master.cf's virtual service):
# postconf -e 'virtual_alias_maps = hash:/etc/postfix/virtual, \
socketmap:unix:ldapmail/lookupd.sock:aliases'
"""


@t.test
def small_main_cf_golden():
    d = t.tmpdir("ldapmail-import-small-")
    t.write(os.path.join(d, "aliases.cf"),
            "server_host = ldap://127.0.0.1:1\nbind = no\n"
            "search_base = ou=tables,o=company\nquery_filter = (mail=%s)\n"
            "result_attribute = mail\n")
    t.write(os.path.join(d, "main.cf"), SMALL.format(d=d))
    r = import_([os.path.join(d, "main.cf")])
    t.eq(r.rc, 0, "import of a small main.cf", r.why())
    t.eq(r.out, GOLDEN.format(d=d), "the exact output: $alias_db expanded "
         "in place, $virtual_alias_maps left to follow, hash: kept")
    t.eq(r.err, "lookupd: import: warning: %s/main.cf:9: "
         "smtpd_recipient_restrictions: ldap:%s/access.cf left as it is\n"
         % (d, d), "the table of a parameter it does not switch: a warning")


@t.test
def refusals_one_line():
    d = t.tmpdir("ldapmail-import-bad-")
    main = "virtual_alias_maps = ldap:aliases\naliases_search_base = o=x\n"
    r = import_(["-"], input=main)
    t.eq((r.rc, r.out, r.err), (2, "", "lookupd: import: ldap:aliases is "
                                "the Postfix 2.0 form (its parameters "
                                "aliases_* in (stdin)): give -d DIR to "
                                "write them to DIR/aliases.cf\n"),
         "the 2.0 form without -d: refused, one line")
    r = import_(["-"], input="virtual_alias_maps = ldap:%s/none.cf\n" % d)
    t.ok(r.rc == 2 and r.out == "" and r.err.startswith(
        "lookupd: import: ldap:%s/none.cf (virtual_alias_maps): %s/none.cf:"
        % (d, d)) and r.err.count("\n") == 1,
        "a table file that cannot be read: one line naming it", r.why())
    r = import_(["-"], input="virtual_alias_maps = hash:/etc/x\n")
    t.eq((r.rc, r.out), (1, ""), "no ldap: table: exit 1, nothing printed")
    r = import_(["-"], input="virtual_alias_maps = ldap:/a.cf\nno equals\n")
    t.eq((r.rc, r.err), (2, "lookupd: import: (stdin):2: missing '=' after "
                         "parameter name\n"), "a line that is not "
         "name = value: refused with its line")
    t.write(os.path.join(d, "aliases.cf"), "existing\n")
    r = import_(["-d", d, "-"], input=main + "aliases_server_host = "
                "ldap://127.0.0.1:1\n")
    t.ok(r.rc == 2 and "aliases.cf: File exists (not overwritten)" in r.err,
         "-d never overwrites a file", r.why())


if __name__ == "__main__":
    t.main()
