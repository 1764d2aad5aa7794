#!/usr/bin/env python3
"""test_slapd: the test harness and the shipped LDAP files, proven.

- scripts/test-slapd builds its slapd from schema/slapd.conf.example and
  schema/qmail.schema and loads the fixture (DNs with spaces included);
- the ACLs: the system DN reads every entry but never userPassword,
  anonymous clients read nothing, users bind and read their own entry;
- the schema: real qmail-ldap OIDs, the howto's matching rules (mail
  case-insensitive, mailMessageStore case-exact), qmailUser AUXILIARY;
- the size limit (500) holds for a plain search; a paged one gets all;
- stop / restart (same port, same data) / freeze / thaw, by the PID that
  was started; ldaps and StartTLS with the test CA;
- schema/qmail.ldif and schema/slapd-ldapmail.ldif load into a cn=config
  slapd with ldapadd -Y EXTERNAL and give exactly what qmail.schema and
  slapd.conf.example give (same attribute and class definitions, same
  ACLs, indexes and limits);
- scripts/example.ldif is the fixture, byte for byte.
"""
import filecmp
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402
import cnconfig                                             # noqa: E402

SCHEMA = os.path.join(t.SRC, "schema")
ALBERT = ("cn=Albert Onestone,ou=Tokelau,o=company", "albert-secret")
SEVEN_DN = "cn=Seven of Nine,ou=Tokelau,o=company"

FIXTURE_DNS = [
    "o=company",
    "ou=System,o=company",
    "ou=postfix,ou=System,o=company",
    "dc=nl,ou=postfix,ou=System,o=company",
    "dc=nu,ou=postfix,ou=System,o=company",
    "ou=Tokelau,o=company",
    "cn=Albert Onestone,ou=Tokelau,o=company",
    "cn=Seven of Nine,ou=Tokelau,o=company",
    "cn=Timetravel weekly,ou=Tokelau,o=company",
]

Q = "1.3.6.1.4.1.7914.1.2"
IA5 = "1.3.6.1.4.1.1466.115.121.1.26"
# name: (OID, EQUALITY, SUBSTR, SYNTAX, SINGLE-VALUE)
QMAIL_ATTRS = {
    "qmailUID": (Q + ".1.1", "numericStringMatch", None,
                 "1.3.6.1.4.1.1466.115.121.1.36", True),
    "qmailGID": (Q + ".1.2", "numericStringMatch", None,
                 "1.3.6.1.4.1.1466.115.121.1.36", True),
    "mailMessageStore": (Q + ".1.3", "caseExactIA5Match",
                         "caseExactIA5SubstringsMatch", IA5 + "{256}", True),
    "mailAlternateAddress": (Q + ".1.4", "caseIgnoreIA5Match",
                             "caseIgnoreIA5SubstringsMatch", IA5 + "{256}",
                             False),
    "mailHost": (Q + ".1.6", "caseIgnoreIA5Match",
                 "caseIgnoreIA5SubstringsMatch", IA5 + "{256}", True),
    "mailForwardingAddress": (Q + ".1.7", "caseIgnoreIA5Match",
                              "caseIgnoreIA5SubstringsMatch", IA5 + "{256}",
                              False),
    "accountStatus": (Q + ".1.12", "caseIgnoreIA5Match",
                      "caseIgnoreIA5SubstringsMatch", IA5, True),
    "mailQuotaSize": (Q + ".1.15", "integerMatch", None,
                      "1.3.6.1.4.1.1466.115.121.1.27", True),
}

_slapd = []


def slapd():
    """The file's main slapd (fixture loaded), started once."""
    if not _slapd:
        _slapd.append(t.Slapd().start())
    s = _slapd[0]
    if not s.alive():
        s.start()
    return s


def port_refuses(port):
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def split_defs(values):
    """Definitions from a list of attribute values (one per value)."""
    out = {}
    for v in values:
        v = re.sub(r"^\{\d+\}", "", v.strip())
        m = re.match(r"\(\s*([0-9.]+)\s(.*)\)$", v, re.S)
        if m and m.group(1).startswith("1.3.6.1.4.1.7914."):
            out[m.group(1)] = " ".join(m.group(2).split())
    return out


def names_oids(defs):
    return sorted((re.search(r"NAME '([^']+)'", d).group(1), oid)
                  for oid, d in defs.items())


# ------------------------------------------------------------------ tests

@t.test
def fixture_copy_is_identical():
    shared = os.path.join(t.SRC, "..", "shared", "fixtures",
                          "seed-example.ldif")
    copy = os.path.join(t.SRC, "scripts", "example.ldif")
    t.ok(os.path.exists(copy), "scripts/example.ldif exists")
    if os.path.exists(shared):
        t.ok(filecmp.cmp(shared, copy, shallow=False),
             "scripts/example.ldif is the shared fixture, byte for byte",
             "they differ: cp %s %s" % (shared, copy))
        t.eq(t.fixture_path(), os.path.abspath(shared),
             "fixture_path() prefers the shared fixture")
    else:
        # A fresh clone has no ../shared: nothing to compare with.
        t.skip("scripts/example.ldif is the shared fixture",
               "no ../shared/fixtures here", optional=True)


@t.test
def slapd_starts_with_shipped_files():
    s = slapd()
    t.ok(s.alive(), "test-slapd started slapd", s.log)
    with open(os.path.join(s.dir, "slapd-self.pid")) as f:
        own = int(f.read())
    t.eq(s.pid, own, "recorded PID is the one slapd reports for itself")
    with open("/proc/%d/cmdline" % s.pid, "rb") as f:
        argv = f.read().split(b"\0")
    t.ok(s.conf.encode() in argv and argv[0].endswith(b"slapd"),
         "that PID runs slapd -f DIR/slapd.conf", repr(argv))
    with open(s.conf) as f:
        conf = f.read()
    t.ok("include %s/qmail.schema" % SCHEMA in conf,
         "slapd.conf includes the shipped schema/qmail.schema")
    # Everything but the rewritten lines is the example's, in order.
    with open(os.path.join(SCHEMA, "slapd.conf.example")) as f:
        example = f.read()
    rewritten = re.compile(r"^(include|pidfile|argsfile|loglevel|directory"
                           r"|rootpw|dbnosync|TLS\w+)\b")
    # The ldapi authz-regexp line, uncommented with our uid for UID.
    example = example.replace(
        "\n#authz-regexp \"gidNumber=[0-9]+\\\\+uidNumber=UID,",
        "\nauthz-regexp \"gidNumber=[0-9]+\\\\+uidNumber=%d," % os.getuid())
    keep = [l for l in example.splitlines() if not rewritten.match(l)]
    got = [l for l in conf.splitlines() if not rewritten.match(l)]
    t.eq(got, keep, "slapd.conf is slapd.conf.example (ACLs, indexes, "
         "limits) apart from paths, log level, rootpw and the uid of the "
         "ldapi authz-regexp")
    r = t.run([t.TEST_SLAPD, "status", s.dir])
    t.ok(r.rc == 0 and r.out.strip() == str(s.pid),
         "test-slapd status prints the PID", r.why())
    r = t.run([t.TEST_SLAPD, "start", s.dir])
    t.ok(r.rc != 0 and "already runs" in r.err,
         "test-slapd start refuses a second slapd on the same DIR", r.why())


@t.test
def system_dn_reads_fixture():
    s = slapd()
    rc, who = s.whoami("system")
    t.ok(rc == 0 and who.lower() == "dn:ou=system,o=company",
         "system DN binds (password system-secret)", who)
    r = s.search(t.SUFFIX, bind="system")
    t.eq(r.rc, 0, "system DN: subtree search succeeds", r.why())
    t.eq(sorted(r.dns), sorted(FIXTURE_DNS),
         "system DN sees every fixture entry (DNs with spaces normalized)")
    a = [e for e in r.entries if e.dn == ALBERT[0]]
    t.ok(a and a[0].get("mailAlternateAddress") ==
         ["a.onestone@anotherdomain.nu", "ao@anotherdomain.nu"] and
         a[0].first("mailMessageStore") == "/vmail/albert.onestone/Maildir/"
         and a[0].first("accountStatus") == "active",
         "system DN reads albert's qmail attributes", repr(a))
    shared = [e for e in r.entries if e.first("accountStatus") == "shared"]
    t.ok(len(shared) == 1 and shared[0].get("postOfficeBox") ==
         ["past.editions", "future.editions"],
         "the shared entry and its postOfficeBox values", repr(shared))
    t.ok(not any("userPassword" in e for e in r.entries),
         "system DN: no userPassword in a search for all attributes")
    r = s.search(t.SUFFIX, "(userPassword=*)", ["userPassword"],
                 bind="system")
    t.ok(r.rc == 0 and not r.entries,
         "system DN: a filter on userPassword matches nothing", r.why())
    r = s.search(ALBERT[0], attrs=["userPassword"], scope="base",
                 bind="system")
    t.ok(r.rc == 0 and r.entries and "userPassword" not in r.entries[0],
         "system DN: userPassword asked by name is not returned", r.why())


@t.test
def anonymous_reads_nothing():
    s = slapd()
    for base, filt in ((t.SUFFIX, "(objectClass=*)"),
                       (t.ACCOUNT_BASE, "(mail=*)"),
                       (t.DOMAIN_BASE, "(associatedDomain=mydomain.nl)"),
                       (ALBERT[0], "(objectClass=*)")):
        r = s.search(base, filt, bind="anonymous")
        t.ok(not r.entries and r.rc in (0, 32),
             "anonymous search %s %s returns nothing" % (base, filt),
             r.why())
    r = s.search("", "(objectClass=*)", ["namingContexts"], scope="base",
                 bind="anonymous")
    t.ok(r.rc == 0, "anonymous may still read the root DSE", r.why())


@t.test
def users_bind_and_read_themselves():
    s = slapd()
    rc, who = s.whoami(ALBERT)
    t.ok(rc == 0 and who.lower() ==
         "dn:cn=albert onestone,ou=tokelau,o=company",
         "Albert binds with albert-secret", "rc %s %s" % (rc, who))
    rc, who = s.whoami((SEVEN_DN, "seven-secret"))
    t.eq(rc, 0, "Seven of Nine binds with seven-secret", who)
    rc, _ = s.whoami((ALBERT[0], "wrong"))
    t.eq(rc, 49, "a wrong password is refused (invalid credentials)")
    rc, _ = s.whoami(("cn=Timetravel weekly,ou=Tokelau,o=company", "x"))
    t.eq(rc, 49, "an entry without userPassword cannot bind")
    r = s.search(ALBERT[0], scope="base", bind=ALBERT)
    t.ok(r.rc == 0 and len(r.entries) == 1 and
         r.entries[0].first("mail") == "albert.onestone@anotherdomain.nu"
         and "userPassword" not in r.entries[0],
         "a user reads their own entry, without userPassword", r.why())
    r = s.search(SEVEN_DN, scope="base", bind=ALBERT)
    t.ok(not r.entries, "a user does not read someone else's entry",
         r.why())
    r = s.search(t.DOMAIN_BASE, bind=ALBERT)
    t.ok(not r.entries, "a user does not read the system leaf", r.why())


@t.test
def matching_rules():
    s = slapd()

    def dns(filt):
        r = s.search(t.SUFFIX, filt, ["1.1"], bind="system")
        return sorted(r.dns) if r.rc == 0 else ("rc", r.rc, r.err)
    t.eq(dns("(mail=ALBERT.Onestone@AnotherDomain.NU)"), [ALBERT[0]],
         "mail equality ignores case")
    t.eq(dns("(mailAlternateAddress=AO@anotherdomain.NU)"), [ALBERT[0]],
         "mailAlternateAddress equality ignores case")
    t.eq(dns("(mailAlternateAddress=*@ANOTHERdomain.nu)"),
         sorted([ALBERT[0], SEVEN_DN]),
         "mailAlternateAddress substrings ignore case")
    t.eq(dns("(accountStatus=ACTIVE)"), sorted([ALBERT[0], SEVEN_DN]),
         "accountStatus equality ignores case")
    t.eq(dns("(associatedDomain=AnotherDomain.NU)"),
         ["dc=nu,ou=postfix,ou=System,o=company"],
         "associatedDomain equality ignores case")
    t.eq(dns("(mailMessageStore=/vmail/albert.onestone/Maildir/)"),
         [ALBERT[0]], "mailMessageStore equality: exact value matches")
    t.eq(dns("(mailMessageStore=/vmail/Albert.Onestone/Maildir/)"), [],
         "mailMessageStore equality is case-exact")
    t.eq(dns("(mailMessageStore=/vmail/albert.onestone/maildir/)"), [],
         "mailMessageStore equality is case-exact (last part)")
    t.eq(dns("(mailMessageStore=/vmail/shared/*)"),
         ["cn=Timetravel weekly,ou=Tokelau,o=company"],
         "mailMessageStore substrings match")
    t.eq(dns("(mailMessageStore=/VMAIL/*)"), [],
         "mailMessageStore substrings are case-exact too")


@t.test
def schema_as_served():
    s = slapd()
    r = s.search("cn=Subschema", "(objectClass=subschema)",
                 ["attributeTypes", "objectClasses"], scope="base",
                 bind="system")
    t.eq(r.rc, 0, "cn=Subschema is readable", r.why())
    if not r.entries:
        return
    attrs = split_defs(r.entries[0].get("attributeTypes", []))
    for name, (oid, eqr, sub, syn, single) in QMAIL_ATTRS.items():
        d = attrs.get(oid, "")
        want = [("NAME '%s'" % name), "EQUALITY " + eqr, "SYNTAX " + syn]
        if sub:
            want.append("SUBSTR " + sub)
        bad = [w for w in want if w not in d]
        if single != ("SINGLE-VALUE" in d):
            bad.append("SINGLE-VALUE" if single else "multi-valued")
        if not sub and "SUBSTR" in d:
            bad.append("no SUBSTR")
        t.ok(d and not bad, "%s is %s with %s" % (name, oid, eqr),
             "missing %s in %r" % (bad, d))
    t.eq(sorted(attrs), sorted(v[0] for v in QMAIL_ATTRS.values()),
         "no other qmail-ldap attribute is defined")
    ocs = split_defs(r.entries[0].get("objectClasses", []))
    qu = ocs.get(Q + ".2.1", "")
    t.ok("NAME 'qmailUser'" in qu and "AUXILIARY" in qu and
         "MUST mail" in qu,
         "qmailUser is %s.2.1, AUXILIARY, MUST mail" % Q, qu)
    may = re.search(r"MAY \((.*?)\)", qu)
    may = {x.strip() for x in may.group(1).split("$")} if may else set()
    need = {"uid", "userPassword", "mailMessageStore", "mailAlternateAddress",
            "accountStatus", "seeAlso", "postOfficeBox"} | set(QMAIL_ATTRS)
    t.ok(need <= may, "qmailUser allows every attribute the fixture and "
         "the SPEC use", "missing %s" % sorted(need - may))


@t.test
def size_limit_and_paging():
    s = slapd()
    n = 600
    ldif = ["dn: ou=Big,o=company\nobjectClass: organizationalUnit\n"
            "ou: Big\n"]
    for i in range(n):
        ldif.append("dn: uid=big%04d,ou=Big,o=company\nobjectClass: "
                    "inetOrgPerson\nobjectClass: qmailUser\ncn: Big %d\n"
                    "sn: Big\nuid: big%04d\nmail: big%04d@big.example\n"
                    "accountStatus: active\nmailMessageStore: "
                    "/vmail/big%04d/\n" % (i, i, i, i, i))
    t0 = time.monotonic()
    s.add("\n".join(ldif))
    t.note("added %d entries with ldapadd in %.1f s" % (n, time.monotonic()
                                                        - t0))
    r = s.search("ou=Big,o=company", "(accountStatus=active)", ["mail"],
                 bind="system")
    t.ok(r.rc == 4 and len(r.entries) == 500,
         "plain search for %d entries: size limit exceeded after 500" % n,
         "rc %s, %d entries; %s" % (r.rc, len(r.entries), r.err[-200:]))
    r = s.search("ou=Big,o=company", "(accountStatus=active)", ["mail"],
                 bind="system", paged=200)
    t.ok(r.rc == 0 and len(r.entries) == n and
         len(set(r.dns)) == n,
         "paged search (pr=200) as the system DN gets all %d" % n,
         "rc %s, %d entries; %s" % (r.rc, len(r.entries), r.err[-200:]))
    r = s.search("ou=Big,o=company", "(accountStatus=active)", ["mail"],
                 bind=ALBERT, paged=200)
    t.ok(not r.entries, "a user's paged search still reads nothing of "
         "others", r.why())


@t.test
def stop_restart_freeze_thaw():
    s = slapd()
    pid0 = s.pid
    before = s.search(t.SUFFIX, "(objectClass=*)", ["1.1"], bind="admin")
    s.stop()
    t.ok(not t.pid_alive(pid0), "stop: the started PID is gone")
    t.ok(port_refuses(s.port), "stop: the port refuses connections")
    t.ok(not os.path.exists(os.path.join(s.dir, "slapd.pid")),
         "stop: DIR/slapd.pid removed")
    s.start()
    t.ok(s.pid != pid0 and s.alive(), "start again: a new PID runs",
         "pid %s" % s.pid)
    after = s.search(t.SUFFIX, "(objectClass=*)", ["1.1"], bind="admin")
    t.ok(after.rc == 0 and sorted(after.dns) == sorted(before.dns),
         "start again: same port, same data (%d entries)" %
         len(before.dns), "%d vs %d" % (len(after.dns), len(before.dns)))
    pid1 = s.pid
    s.restart()
    t.ok(s.pid != pid1 and not t.pid_alive(pid1) and s.alive() and
         s.search(t.SUFFIX, "(uid=onestonea)", ["1.1"]).dns == [ALBERT[0]],
         "restart(): new PID, old one gone, data served")

    s.freeze()
    st = open("/proc/%d/stat" % s.pid).read().rsplit(")", 1)[1].split()[0]
    t.eq(st, "T", "freeze(): slapd is stopped (SIGSTOP)")
    t0 = time.monotonic()
    r = t.run(["ldapsearch", "-x", "-H", s.uri, "-o", "nettimeout=1",
               "-l", "1", "-b", "", "-s", "base", "namingContexts"],
              timeout=3)
    t.ok(r.rc != 0 or r.timed_out, "frozen: a search gets no answer",
         r.why())
    s.thaw()
    r = s.search(t.SUFFIX, "(uid=onestonea)", ["1.1"])
    t.ok(r.rc == 0 and r.dns == [ALBERT[0]], "thaw(): answers again",
         r.why())
    # stop() of a frozen slapd must still work (SIGCONT first)
    s.freeze()
    pid2 = s.pid
    s.stop()
    t.ok(not t.pid_alive(pid2), "stop() of a frozen slapd ends it")
    s.start()


@t.test
def tls_listeners():
    s = t.Slapd(ldaps=True).start()
    # LDAPNOINIT (set by the harness) would make the tools ignore
    # LDAPTLS_*: let them read the environment, and nothing else.
    env = {"LDAPNOINIT": None, "LDAPCONF": "/dev/null",
           "LDAPRC": "/nonexistent/ldaprc", "HOME": s.dir,
           "LDAPTLS_CACERT": s.ca_file, "LDAPTLS_REQCERT": "demand"}
    base = ["-x", "-D", t.SYSTEM_DN, "-w", t.SYSTEM_PW, "-b", ALBERT[0],
            "-s", "base", "-LLL", "1.1"]
    r = t.run(["ldapsearch", "-H", s.ldaps_uri] + base, env=env)
    t.ok(r.rc == 0 and ALBERT[0] in r.out, "ldaps:// with the test CA",
         r.why())
    r = t.run(["ldapsearch", "-ZZ", "-H", s.uri] + base, env=env)
    t.ok(r.rc == 0 and ALBERT[0] in r.out, "StartTLS on the plain port",
         r.why())
    s.stop()


def config_values(e, names):
    """{name: [values without {n}]} from an Entry."""
    return {n: [re.sub(r"^\{-?\d+\}", "", v) for v in e.get(n, [])]
            for n in names}


def normalized(values):
    """Config values as slapd understands them: white space collapsed,
    case folded, dn.exact spelled dn.base (slapd writes it so)."""
    return {n: [" ".join(v.split()).lower().replace("dn.exact=", "dn.base=")
                for v in vs] for n, vs in values.items()}


def index_set(values):
    pairs = set()
    for v in values:
        attrs, _, kinds = v.strip().partition(" ")
        for a in attrs.split(","):
            for k in kinds.replace(" ", "").split(","):
                pairs.add((a.strip().lower(), k))
    return pairs


@t.test
def cn_config_files():
    main = slapd()
    try:
        c = cnconfig.start()
    except RuntimeError as e:
        t.ok(False, "a cn=config slapd (slapadd -n0, then it answers)",
             str(e))
        return
    d, uri, ldapi, ext, dm = c.dir, c.uri, c.ldapi, c.ext, c.daemon

    r = t.run(["ldapadd"] + ext + ["-f", os.path.join(SCHEMA, "qmail.ldif")])
    t.ok(r.rc == 0, "ldapadd -Y EXTERNAL -f schema/qmail.ldif loads it",
         r.why())
    with open(os.path.join(SCHEMA, "slapd-ldapmail.ldif")) as f:
        dbldif = f.read()
    t.ok("olcDbDirectory: /var/lib/ldap/company\n" in dbldif,
         "slapd-ldapmail.ldif names its directory as documented")
    dbldif = dbldif.replace("olcDbDirectory: /var/lib/ldap/company",
                            "olcDbDirectory: %s/db" % d)
    r = t.run(["ldapadd"] + ext, input=dbldif)
    t.ok(r.rc == 0 and "olcDatabase=mdb,cn=config" in r.out,
         "ldapadd -Y EXTERNAL of schema/slapd-ldapmail.ldif", r.why())
    r = t.run(["ldapmodify"] + ext, input=(
        "dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\n"
        "add: olcRootPW\nolcRootPW: %s\n" % t.ROOT_PW))
    t.ok(r.rc == 0, "rootpw added for the test", r.why())
    r = t.run(["ldapadd", "-x", "-H", ldapi, "-D", t.ROOT_DN, "-w",
               t.ROOT_PW, "-f", t.fixture_path()])
    t.ok(r.rc == 0, "the fixture loads into the cn=config slapd", r.why())

    # The schema: same definitions through both files.
    def subschema(u):
        return t.run(["ldapsearch", "-x", "-H", u, "-D", t.SYSTEM_DN,
                      "-w", t.SYSTEM_PW, "-LLL", "-o", "ldif-wrap=no",
                      "-b", "cn=Subschema", "-s", "base",
                      "attributeTypes", "objectClasses"])
    a = t.parse_ldif(subschema(uri).out)
    b = t.parse_ldif(subschema(main.uri).out)
    if t.ok(a and b, "both servers publish cn=Subschema"):
        for kind in ("attributeTypes", "objectClasses"):
            da = split_defs(a[0].get(kind, []))
            db = split_defs(b[0].get(kind, []))
            t.ok(da and da == db, "qmail %s: qmail.ldif and qmail.schema "
                 "define the same (%d)" % (kind, len(da)),
                 "ldif %r vs schema %r" % (da, db))
            t.eq(names_oids(da), names_oids(db),
                 "qmail %s: same names and OIDs" % kind)
    conv = os.path.join(d, "conv")
    os.makedirs(conv)
    r2 = t.run(["/usr/sbin/slaptest", "-f", main.conf, "-F", conv])
    t.ok(r2.rc == 0, "slaptest converts the test slapd.conf", r2.why())

    # The database: same ACLs, indexes and limits as slapd.conf.example.
    r = t.run(["ldapsearch"] + ext + ["-LLL", "-o", "ldif-wrap=no", "-b",
                                      "olcDatabase={1}mdb,cn=config",
                                      "-s", "base"])
    ldif_db = t.parse_ldif(r.out)
    conv_db = []
    p = os.path.join(conv, "cn=config", "olcDatabase={1}mdb.ldif")
    if os.path.exists(p):
        with open(p) as f:
            conv_db = t.parse_ldif(f.read())
    if t.ok(ldif_db and conv_db, "both database entries found"):
        names = ["olcSuffix", "olcRootDN", "olcAccess", "olcLimits",
                 "olcDbMaxSize"]
        got = normalized(config_values(ldif_db[0], names))
        want = normalized(config_values(conv_db[0], names))
        for n in names:
            t.eq(got[n], want[n], "%s of slapd-ldapmail.ldif equals "
                 "slapd.conf.example's" % n)
        t.eq(index_set(ldif_db[0].get("olcDbIndex", [])),
             index_set(conv_db[0].get("olcDbIndex", [])),
             "olcDbIndex of slapd-ldapmail.ldif equals slapd.conf."
             "example's")
        want_idx = {(a.lower(), "eq") for a in (
            "objectClass", "uid", "mail", "mailAlternateAddress",
            "associatedDomain", "accountStatus", "seeAlso")}
        t.eq(index_set(conv_db[0].get("olcDbIndex", [])), want_idx,
             "the indexes are the howto's")

    # And it behaves: the ACLs at work on the cn=config server.
    def srch(bind, b=t.SUFFIX, attrs=()):
        return t.run(["ldapsearch", "-H", uri, "-LLL", "-o",
                      "ldif-wrap=no", "-b", b] + t._bind_args(bind) +
                     ["(objectClass=*)"] + list(attrs))
    r = srch("system")
    es = t.parse_ldif(r.out)
    t.ok(r.rc == 0 and sorted(e.dn for e in es) == sorted(FIXTURE_DNS),
         "cn=config server: system DN reads the fixture", r.why())
    t.ok(not any("userPassword" in e for e in es),
         "cn=config server: no userPassword for the system DN")
    r = srch("anonymous")
    t.ok(not t.parse_ldif(r.out), "cn=config server: anonymous gets "
         "nothing", r.why())
    r = srch(ALBERT, b=ALBERT[0])
    t.ok(r.rc == 0 and len(t.parse_ldif(r.out)) == 1,
         "cn=config server: Albert binds and reads his entry", r.why())
    # SASL EXTERNAL: the olcAuthzRegexp the file's comment shows, with
    # root's uid for UID, maps root's peer credentials as slapd.conf.
    # example's authz-regexp line does (last: root loses cn=config).
    lines = dbldif.splitlines()
    at = [i for i, ln in enumerate(lines) if "olcAuthzRegexp:" in ln]
    start = [i for i, ln in enumerate(lines[:at[0]] if at else [])
             if "ldapmodify" in ln]
    block = []
    for ln in lines[start[-1] + 1 if start else len(lines):]:
        if ln.strip() == "#   !":
            break
        block.append(ln[len("#   "):])
    mod = "\n".join(block).replace("uidNumber=UID,", "uidNumber=0,") + "\n"
    r = t.run(["ldapmodify"] + ext, input=mod)
    t.ok(r.rc == 0 and "olcAuthzRegexp" in mod,
         "the olcAuthzRegexp of slapd-ldapmail.ldif's comment applies",
         r.why() + " " + mod)
    r = t.run(["ldapwhoami", "-Y", "EXTERNAL", "-Q", "-H", ldapi])
    t.eq((r.rc, r.out.strip()), (0, "dn:ou=system,o=company"),
         "cn=config server: root's peer credentials map to the system DN")
    conv_cfg = []
    p = os.path.join(conv, "cn=config.ldif")
    if os.path.exists(p):
        with open(p) as f:
            conv_cfg = t.parse_ldif(f.read())
    t.eq(conv_cfg[0].get("olcAuthzRegexp") if conv_cfg else None,
         ['{0}"gidNumber=[0-9]+\\+uidNumber=0,cn=peercred,cn=external,'
          'cn=auth" "ou=System,o=company"'],
         "slapd.conf.example's authz-regexp (doubled backslash) converts "
         "to the value of slapd-ldapmail.ldif's comment (single)")
    st = dm.stop()
    t.eq(st, 0, "cn=config slapd stops on SIGTERM with status 0")


@t.test
def harness_daemon_and_protocols():
    # Daemon: by PID, output to files, stop() gives the exit status.
    d = t.Daemon(["/bin/sh", "-c", "echo hello; echo oops >&2; "
                  "trap 'exit 3' TERM; while :; do sleep 0.05; done"],
                 name="sh-loop").start()
    t.ok(t.wait_until(lambda: "hello" in d.output(), 5),
         "Daemon: stdout goes to its file")
    t.ok(d.alive() and t.pid_alive(d.pid), "Daemon: alive()")
    t.eq(d.stop(), 3, "Daemon: stop() returns the exit status")
    t.ok(not d.alive() and "oops" in d.errors(), "Daemon: stderr kept")
    d = t.Daemon(["/bin/sh", "-c", "trap '' TERM; echo ready; while :; do "
                  "sleep 0.05; done"], name="stubborn").start()
    t.wait_until(lambda: "ready" in d.output(), 5)
    t.eq(d.stop(timeout=0.5), -signal.SIGKILL,
         "Daemon: SIGKILL after the timeout")

    # The raw protocol clients against a tiny in-process server.
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    seen = []

    def serve():
        for _ in range(2):
            c, _ = srv.accept()
            data = c.recv(4096)
            seen.append(data)
            if data.startswith(b"get "):
                c.sendall(b"200 v%20x\n")
            else:
                c.sendall(t.netstring(b"OK value"))
            c.close()
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    t.eq(t.socketmap_request(("127.0.0.1", port), "mailbox", "a b@c"),
         b"OK value", "socketmap_request: reply payload")
    t.eq(t.tcp_request("inet:127.0.0.1:%d" % port, "a b%\xe9"),
         b"200 v%20x", "tcp_request: reply line")
    th.join(5)
    srv.close()
    t.eq(seen, [b"13:mailbox a b@c,", b"get a%20b%25%C3%A9\n"],
         "requests as Postfix encodes them")
    t.eq(t._config_values("socketmap_listen = unix:/a, inet:h:1\n"
                          "  unix:/b\n[map x]\nsocketmap_listen = no\n",
                          "socketmap_listen"),
         ["unix:/a", "inet:h:1", "unix:/b"],
         "Lookupd reads its listeners from the config text")


@t.test
def postmap_helpers():
    d = t.tmpdir()
    src = os.path.join(d, "m")
    with open(src, "w") as f:
        f.write("alice@example.com /vmail/alice/\nbob@example.com b\n")
    r = t.postmap(["cdb:" + src])
    t.eq(r.rc, 0, "postmap builds a cdb table", r.why())
    t.eq(t.postmap_q("Alice@Example.com", "cdb:" + src),
         (0, "/vmail/alice/"), "postmap_q: found")
    t.eq(t.postmap_q("nobody@example.com", "cdb:" + src), (1, ""),
         "postmap_q: not found")
    t.eq(t.postmap_batch(["bob@example.com", "x", "alice@example.com"],
                         "cdb:" + src),
         (0, [("bob@example.com", "b"),
              ("alice@example.com", "/vmail/alice/")]),
         "postmap_batch: the keys found, in order")


if __name__ == "__main__":
    t.main()
