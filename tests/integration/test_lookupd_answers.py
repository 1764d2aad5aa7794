#!/usr/bin/env python3
"""test_lookupd_answers: what lookupd answers, asked as Postfix asks.

Against a real slapd holding the howto's example directory (plus an
inactive account and two accounts sharing an address), through the real
Postfix client `postmap -q` on socketmap:, on tcp: and on the cdb: file of
lookupd's own snapshot:

- every mail / mailAlternateAddress of the fixture answers its mail (alias)
  and its mailMessageStore (mailbox); the expected answers are read from
  the fixture LDIF itself;
- domains in mixed case and with a trailing dot answer the domain itself;
- user+ext@dom answers real+ext@dom (alias), the plain mailbox (mailbox);
- an inactive account, an unknown domain and filter metacharacters are not
  found; an unknown map is PERM;
- `postmap -q KEY cdb:<cache_dir>/<map>` agrees with the daemon;
- a key on two accounts: alias merges both, mailbox (single = yes) is TEMP
  / 400 and absent from the cdb;
- the commands: query (0/1/2), query --direct, check, sync.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

INACTIVE = """dn: cn=Old Timer,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: Old Timer
sn: Timer
uid: oldtimer
mail: old.timer@anotherdomain.nu
mailAlternateAddress: ot@anotherdomain.nu
accountStatus: inactive
mailMessageStore: /vmail/old.timer/Maildir/
"""

# Two accounts claiming one alternate address: a directory error.
TWINS = """dn: cn=Twin One,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: Twin One
sn: One
uid: twin1
mail: twin.one@testdomain.nu
mailAlternateAddress: twins@testdomain.nu
accountStatus: active
mailMessageStore: /vmail/twin.one/Maildir/

dn: cn=Twin Two,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: Twin Two
sn: Two
uid: twin2
mail: twin.two@testdomain.nu
mailAlternateAddress: twins@testdomain.nu
accountStatus: active
mailMessageStore: /vmail/twin.two/Maildir/
"""

S = {}


def fixture_expectations():
    """address -> (mail, mailMessageStore) for every receiving account of
    the fixture, and the set of accepted domains, from the LDIF."""
    with open(t.fixture_path()) as f:
        entries = t.parse_ldif(f.read())
    addrs, domains = {}, set()
    for e in entries:
        for d in e.get("associatedDomain", []):
            domains.add(d.lower())
        status = (e.first("accountStatus") or "").lower()
        if status not in ("active", "shared"):
            continue
        mail = e.first("mail")
        for a in e.get("mail", []) + e.get("mailAlternateAddress", []):
            addrs[a] = (mail, e.first("mailMessageStore"))
    return addrs, domains


@t.test
def setup():
    s = t.Slapd().start()
    s.add(INACTIVE)
    s.add(TWINS)
    d = t.tmpdir()
    ports = {m: t.free_port() for m in ("domain", "alias", "mailbox")}
    cfg = t.lookupd_config(
        s, d, tcp_listen=" ".join("%s=inet:127.0.0.1:%d" % (m, p)
                                  for m, p in ports.items()),
        miss_lookup="yes")
    S.update(slapd=s, dir=d, ports=ports, cache=os.path.join(d, "cache"))
    r = t.run([t.LOOKUPD, "-c", os.path.join(d, "sync.conf"), "sync"])
    t.eq(r.rc, 2, "sync with a missing config file exits 2", r.why())
    with open(os.path.join(d, "sync.conf"), "w") as f:
        f.write(cfg)
    r = t.run([t.LOOKUPD, "-c", os.path.join(d, "sync.conf"), "sync"])
    t.eq(r.rc, 0, "sync builds the snapshot", r.why())
    for m in ("domain", "alias", "mailbox"):
        t.ok(os.path.exists(os.path.join(S["cache"], m + ".cdb")),
             "sync wrote %s.cdb" % m)
        t.ok(os.path.exists(os.path.join(S["cache"], m + ".cdb.sha256")),
             "sync wrote %s.cdb.sha256" % m)
    S["lookupd"] = t.Lookupd(cfg, dir=d).start()


def tables(m):
    lk = S["lookupd"]
    return [("socketmap", lk.table(m)),
            ("tcp", "tcp:127.0.0.1:%d" % S["ports"][m])]


def ask_all(m, key, want_rc, want, cdb=True):
    """key through socketmap, tcp and (exact keys) the cdb file."""
    tabs = tables(m)
    if cdb:
        tabs.append(("cdb", "cdb:" + os.path.join(S["cache"], m)))
    for kind, table in tabs:
        rc, out = t.postmap_q(key, table)
        t.eq((rc, out), (want_rc, want), "%s %s %r" % (kind, m, key))


@t.test
def every_fixture_address():
    addrs, _ = fixture_expectations()
    t.ok(len(addrs) == 6, "the fixture has 6 receiving addresses",
         sorted(addrs))
    for a, (mail, store) in sorted(addrs.items()):
        ask_all("alias", a, 0, mail)
        ask_all("mailbox", a, 0, store)


@t.test
def shared_entry_answers_its_shared_path():
    ask_all("mailbox", "timetravel@anotherdomain.nu", 0,
            "/vmail/shared/timetravel.weekly/incoming/")


@t.test
def domains():
    _, domains = fixture_expectations()
    t.eq(sorted(domains), ["anotherdomain.nu", "mydomain.nl",
                           "testdomain.nu"], "fixture domains")
    for d in sorted(domains):
        ask_all("domain", d, 0, d)
        ask_all("domain", d.upper(), 0, d)
    # Trailing dot: the daemon strips it (a cdb: table does not).
    for kind, table in tables("domain"):
        t.eq(t.postmap_q("MyDomain.NL.", table), (0, "mydomain.nl"),
             "%s domain MyDomain.NL. (trailing dot)" % kind)
    ask_all("domain", "example.org", 1, "")
    ask_all("domain", "nl", 1, "")


@t.test
def case_insensitive_addresses():
    ask_all("alias", "A.OneStone@AnotherDomain.NU", 0,
            "albert.onestone@anotherdomain.nu")
    ask_all("mailbox", "SEVEN.OF.NINE@ANOTHERDOMAIN.NU", 0,
            "/vmail/seven.of.nine/Maildir/")


@t.test
def extensions():
    for kind, table in tables("alias"):
        t.eq(t.postmap_q("ao+news@anotherdomain.nu", table),
             (0, "albert.onestone+news@anotherdomain.nu"),
             "%s alias ao+news@ carries the extension" % kind)
        t.eq(t.postmap_q("AO+News@AnotherDomain.nu", table),
             (0, "albert.onestone+News@anotherdomain.nu"),
             "%s alias keeps the extension's case" % kind)
        t.eq(t.postmap_q("s.o.9+a+b@anotherdomain.nu", table),
             (0, "seven.of.nine+a+b@anotherdomain.nu"),
             "%s alias splits at the first delimiter" % kind)
    for kind, table in tables("mailbox"):
        t.eq(t.postmap_q("ao+news@anotherdomain.nu", table),
             (0, "/vmail/albert.onestone/Maildir/"),
             "%s mailbox of ao+news@ is the plain maildir" % kind)
    # Postfix itself strips the extension on a cdb: table (with
    # recipient_delimiter set); postmap -q asks the exact key only.
    t.eq(t.postmap_q("ao+news@anotherdomain.nu",
                     "cdb:" + os.path.join(S["cache"], "alias")),
         (1, ""), "the cdb file holds exact keys only")


@t.test
def not_found():
    for key in ("old.timer@anotherdomain.nu", "ot@anotherdomain.nu",
                "nobody@anotherdomain.nu", "albert.onestone@example.org",
                "*", "*@anotherdomain.nu", "x)(mail=*", "*)(mail=*",
                "a*@anotherdomain.nu", "\\2a@anotherdomain.nu",
                "(mail=*)@anotherdomain.nu", "anotherdomain.nu", "\"\""):
        for m in ("alias", "mailbox"):
            for kind, table in tables(m):
                t.eq(t.postmap_q(key, table), (1, ""),
                     "%s %s %r not found" % (kind, m, key))


@t.test
def twins():
    # alias merges both accounts' mail; mailbox refuses to guess.
    want = sorted(["twin.one@testdomain.nu", "twin.two@testdomain.nu"])
    for kind, table in tables("alias") + [
            ("cdb", "cdb:" + os.path.join(S["cache"], "alias"))]:
        rc, out = t.postmap_q("twins@testdomain.nu", table)
        t.eq((rc, sorted(out.split(","))), (0, want),
             "%s alias of a shared address lists both" % kind)
    r = t.socketmap_request(S["lookupd"].socket, "mailbox",
                            "twins@testdomain.nu")
    t.ok(r.startswith(b"TEMP "), "socketmap mailbox of a twin is TEMP", r)
    r = t.tcp_request(("127.0.0.1", S["ports"]["mailbox"]),
                      "twins@testdomain.nu")
    t.ok(r.startswith(b"400 "), "tcp mailbox of a twin is 400", r)
    t.eq(t.postmap_q("twins@testdomain.nu",
                     "cdb:" + os.path.join(S["cache"], "mailbox")),
         (1, ""), "the twin key is left out of mailbox.cdb")
    t.ok("twin" in S["lookupd"].errors() and
         "cn=Twin One" in S["lookupd"].errors() and
         "cn=Twin Two" in S["lookupd"].errors(),
         "the conflict is logged with both DNs",
         S["lookupd"].errors()[-600:])
    # The other addresses of the twins are fine.
    ask_all("mailbox", "twin.one@testdomain.nu", 0,
            "/vmail/twin.one/Maildir/")


@t.test
def protocol_answers():
    sock = S["lookupd"].socket
    t.eq(t.socketmap_request(sock, "alias", "ao@anotherdomain.nu"),
         b"OK albert.onestone@anotherdomain.nu", "socketmap OK reply")
    t.eq(t.socketmap_request(sock, "alias", "nobody@anotherdomain.nu"),
         b"NOTFOUND ", "socketmap NOTFOUND reply")
    r = t.socketmap_request(sock, "nosuchmap", "ao@anotherdomain.nu")
    t.ok(r.startswith(b"PERM "), "unknown map is PERM", r)
    t.eq(t.tcp_request(("127.0.0.1", S["ports"]["alias"]),
                       "ao@anotherdomain.nu"),
         b"200 albert.onestone@anotherdomain.nu", "tcp 200 reply")
    r = t.tcp_request(("127.0.0.1", S["ports"]["alias"]), "nobody@x.nu")
    t.ok(r.startswith(b"500 "), "tcp 500 reply", r)
    # Many requests on one persistent connection, as a Postfix process.
    addrs, _ = fixture_expectations()
    with t.SocketmapClient(sock) as c:
        got = [c.request("mailbox", a) for a in sorted(addrs) * 50]
    t.eq(got, [b"OK " + addrs[a][1].encode() for a in sorted(addrs) * 50],
         "300 requests on one connection")
    # postmap -q - (batch) over socketmap.
    rc, pairs = t.postmap_batch(sorted(addrs), S["lookupd"].table("alias"))
    t.eq((rc, pairs), (0, [(a, addrs[a][0]) for a in sorted(addrs)]),
         "postmap -q - batch")


@t.test
def query_command():
    lk = S["lookupd"]
    r = lk.cli("query", "alias", "AO+x@anotherdomain.nu")
    t.eq((r.rc, r.out), (0, "albert.onestone+x@anotherdomain.nu\n"),
         "query found: exit 0, the value and a newline")
    r = lk.cli("query", "alias", "nobody@anotherdomain.nu")
    t.eq((r.rc, r.out), (1, ""), "query not found: exit 1, no output")
    r = lk.cli("query", "nosuchmap", "x@y")
    t.eq((r.rc, r.out), (2, ""), "query unknown map: exit 2")
    r = lk.cli("query", "mailbox", "twins@testdomain.nu")
    t.eq(r.rc, 2, "query TEMP: exit 2", r.why())
    r = lk.cli("query", "--direct", "mailbox", "A.Onestone+x@anotherdomain.nu")
    t.eq((r.rc, r.out), (0, "/vmail/albert.onestone/Maildir/\n"),
         "query --direct asks LDAP")
    r = lk.cli("query", "--direct", "alias", "ao+x@anotherdomain.nu")
    t.eq((r.rc, r.out), (0, "albert.onestone+x@anotherdomain.nu\n"),
         "query --direct carries the extension")
    r = lk.cli("query", "--direct", "alias", "old.timer@anotherdomain.nu")
    t.eq((r.rc, r.out), (1, ""), "query --direct not found")
    r = lk.cli("query", "--direct", "domain", "TestDomain.NU.")
    t.eq((r.rc, r.out), (0, "testdomain.nu\n"), "query --direct domain")
    r = lk.cli("query", "alias")
    t.eq(r.rc, 2, "query without a key: usage, exit 2")


@t.test
def check_command():
    lk = S["lookupd"]
    r = lk.cli("check")
    t.eq(r.rc, 0, "check exits 0", r.why())
    # 3 receiving entries of the fixture + the 2 twins; not the inactive.
    for line in ("map domain: 2 entries", "map alias: 5 entries",
                 "map mailbox: 5 entries",
                 "ldap: bound as ou=System,o=company"):
        t.ok(line in r.out.splitlines(), "check says %r" % line, r.out)
    bad = os.path.join(S["dir"], "bad.conf")
    with open(bad, "w") as f:
        f.write(lk.cfg_text.replace("bind_pw_file", "bind_pw = wrong\n#"))
    r = t.run([t.LOOKUPD, "-c", bad, "check"])
    t.eq(r.rc, 1, "check with a wrong password exits 1", r.why())
    t.ok("Invalid credentials" in r.out, "check names the bind failure",
         r.out)
    t.ok("wrong" not in r.out + r.err, "check never prints the password")
    with open(bad, "w") as f:
        f.write(lk.cfg_text + "refresh = soon\n")
    r = t.run([t.LOOKUPD, "-c", bad, "check"])
    t.eq(r.rc, 2, "check with a bad config exits 2", r.why())
    t.ok("error: %s:11: refresh" % bad in r.err, "the error names FILE:LINE",
         r.err)


@t.test
def sync_without_ldap():
    d = t.tmpdir()
    cfg = t.lookupd_config(S["slapd"], d,
                           ldap_uri="ldap://127.0.0.1:%d" % t.free_port(),
                           ldap_timeout="2")
    conf = os.path.join(d, "c.conf")
    with open(conf, "w") as f:
        f.write(cfg)
    r = t.run([t.LOOKUPD, "-c", conf, "sync"])
    t.eq(r.rc, 1, "sync with LDAP unreachable exits 1", r.why())
    t.ok(not os.path.exists(os.path.join(d, "cache", "alias.cdb")),
         "and writes no snapshot")


@t.test
def stop():
    t.eq(S["lookupd"].stop(), 0, "SIGTERM: exit 0")
    t.ok(not os.path.exists(S["lookupd"].socket[5:]),
         "the socket file is removed at exit")


if __name__ == "__main__":
    t.main()
