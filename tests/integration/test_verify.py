#!/usr/bin/env python3
"""test_verify: `lookupd verify [MAP...] [-k KEYFILE] [--rate N]` against a
real slapd (the howto's example and tests/fixtures/tables.ldif), the
snapshots built by `lookupd sync`.

- A fresh snapshot of every map verifies clean: exit 0, no line, every
  key of every cdb file asked once (the count is the cdb files' own);
  so do the maps of profile = ox, apple and jamm over their fixtures.
- A cdb file edited behind lookupd's back (one value changed, one key
  removed, rebuilt with tinycdb's `cdb -c`): refused while its digest
  does not match (exit 2, the digest named); once the digest file is
  rewritten in its documented format (sha256sum(1), as an administrator
  who edits a snapshot by hand must), exactly the two planted
  differences, each with the DN LDAP gives (the removed key through -k).
- A map's filter changed between snapshot and verify: exactly the keys
  of the entries the new filter leaves out.
- -k keys the snapshot lacks: an entry added after the snapshot is a
  difference, an unknown key is not; a bad key file is exit 2 naming
  its line.
- --rate paces: a run killed after T seconds asked at most 1 + rate*T
  keys (counted in slapd's own log: a busy machine only lowers that
  count), and a whole run of n keys took at least (n - 1) / rate s.
- On a terminal a progress line on standard error, none otherwise.
- LDAP down: exit 2 and "LDAP not answering", 75 with --tempfail
  (exitcode.h's rule); no snapshot or a damaged one: exit 2; usage.
- ldap_table maps: verified like native maps when they have a snapshot
  (through pfldap, as Postfix's ldap: answers; a cdb made from
  `postmap -q - ldap:FILE` verifies clean, a changed query_filter or a
  planted value gives exactly those differences), skipped and said so
  while they are live-only.
"""
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402

FIX = os.path.join(t.SRC, "tests", "fixtures")
TABLES = "ou=tables,o=company"
ACTIVE = "(|(accountStatus=active)(accountStatus=shared))"

_slapd = []


def slapd():
    if not _slapd:
        # loglevel stats: every connection and search in slapd.log
        sch = os.path.join(t.SRC, "schema")
        _slapd.append(t.Slapd(
            ldifs=[t.fixture_path(), os.path.join(FIX, "tables.ldif")] +
            [os.path.join(FIX, p + ".ldif") for p in t.PROFILES],
            schemas=["/etc/ldap/schema/nis.schema"] +
            [os.path.join(sch, p + ".schema") for p in t.PROFILES],
            debug=256).start())
    return _slapd[0]


def table_file(dir, name, body, uri=None):
    s = slapd()
    path = os.path.join(dir, name + ".cf")
    t.write(path, "server_host = %s\nversion = 3\nbind_dn = %s\n"
            "bind_pw = %s\n%s" % ((uri or s.uri).rstrip("/"), t.SYSTEM_DN,
                                  t.SYSTEM_PW, body), mode=0o600)
    return path


PEOPLE = ("[map people]\nbase = %s\nfilter = %s\nkey = mail\n"
          "result = uid\nkind = plain\n")


_built = []


def setup():
    """A directory with a config (howto maps, a plain map "people", two
    ldap_table maps) and its snapshots: (dir, conf path).  `lookupd sync`
    runs once, in a directory of its own; each test gets a copy of those
    snapshots (the same configuration in another directory)."""
    if not _built:
        d, conf = config()
        r = t.run([t.LOOKUPD, "-c", conf, "sync"])
        if r.rc != 0:
            raise RuntimeError("lookupd sync: " + r.why())
        _built.append(os.path.join(d, "cache"))
    d, conf = config()
    shutil.copytree(_built[0], os.path.join(d, "cache"))
    return d, conf


def config():
    d = t.tmpdir("ldapmail-verify-")
    extra = PEOPLE % (t.ACCOUNT_BASE, "(objectClass=qmailUser)")
    extra += "[map tbl_alias]\nldap_table = %s\n" % table_file(
        d, "tbl_alias", "search_base = %s\nquery_filter = (&(|(mail=%%s)"
        "(mailAlternateAddress=%%s))%s)\nresult_attribute = mail\n"
        % (TABLES, ACTIVE))
    extra += "[map tbl_groups]\nldap_table = %s\n" % table_file(
        d, "tbl_groups", "search_base = %s\nquery_filter = (mail=%%s)\n"
        "result_attribute = mail\nspecial_result_attribute = member\n"
        % TABLES)
    # Postfix errs for some keys (limits): the snapshot keeps TEMPs
    extra += "[map tbl_limits]\nldap_table = %s\n" % table_file(
        d, "tbl_limits", "search_base = %s\n"
        "query_filter = (|(mail=%%s)(mailAlternateAddress=%%s))\n"
        "result_attribute = mailAlternateAddress\n"
        "leaf_result_attribute = mail\n"
        "terminal_result_attribute = mailForwardingAddress\n"
        "special_result_attribute = member\nrecursion_limit = 3\n"
        "expansion_limit = 8\nsize_limit = 3\n" % TABLES)
    # a branch without the whole key: live-only, no snapshot
    extra += "[map tbl_live]\nldap_table = %s\n" % table_file(
        d, "tbl_live", "search_base = %s\n"
        "query_filter = (&(uid=%%u)(accountStatus=active))\n"
        "result_attribute = mail\n" % TABLES)
    conf = os.path.join(d, "ldapmail.conf")
    t.write(conf, t.lookupd_config(slapd(), d, extra=extra))
    return d, conf


def verify(conf, *args, timeout=120):
    return t.run([t.LOOKUPD, "-c", conf, "verify"] + list(args),
                 timeout=timeout)


def cdb_dump(path):
    """{key: value} of a cdb file, read by tinycdb's own tool."""
    r = t.run(["cdb", "-d", path])
    if r.rc != 0:
        raise RuntimeError("cdb -d: " + r.why())
    out, data = {}, r.out.encode("utf-8", "surrogateescape")
    pos = 0
    while data[pos:pos + 1] == b"+":
        m = re.match(rb"\+(\d+),(\d+):", data[pos:])
        kl, vl = int(m.group(1)), int(m.group(2))
        pos += m.end()
        k = data[pos:pos + kl]
        v = data[pos + kl + 2:pos + kl + 2 + vl]
        out[k.decode()] = v.decode()
        pos += kl + 2 + vl + 1
    return out


def cdb_write(path, records):
    text = "".join("+%d,%d:%s->%s\n" % (len(k.encode()), len(v.encode()),
                                         k, v) for k, v in records.items())
    r = t.run(["cdb", "-c", path], input=text + "\n")
    if r.rc != 0:
        raise RuntimeError("cdb -c: " + r.why())


def rewrite_digest(cache, name):
    """The digest file in its documented format (lookupd(8) FILES:
    sha256sum(1)'s), as sha256sum itself writes it."""
    r = t.run(["sha256sum", name + ".cdb"], cwd=cache)
    t.write(os.path.join(cache, name + ".cdb.sha256"), r.out)


def snapshot_maps(cache):
    return sorted(f[:-4] for f in os.listdir(cache) if f.endswith(".cdb"))


def dn_of(filter):
    r = slapd().search(t.SUFFIX, filter, ["1.1"])
    return [e.dn for e in r.entries]


def summary(r):
    m = re.search(r"verify: (\d+) maps?, (\d+) keys? asked, (\d+) "
                  r"differences?", r.err)
    return tuple(int(x) for x in m.groups()) if m else None


@t.test
def clean_snapshots_verify_clean():
    d, conf = setup()
    cache = os.path.join(d, "cache")
    maps = snapshot_maps(cache)
    keys = sum(len(cdb_dump(os.path.join(cache, m + ".cdb"))) for m in maps)
    t.ok({"domain", "alias", "mailbox", "people"} <= set(maps),
         "sync wrote the howto maps and people", maps)
    t.ok(keys > 10, "the snapshots hold keys (%d)" % keys)
    r = verify(conf, "--rate", "0")
    t.eq((r.rc, r.out), (0, ""), "exit 0, no difference line", r.why())
    t.eq(summary(r), (len(maps), keys, 0),
         "every key of every snapshot asked once, 0 differences", r.err)
    t.eq(len(r.err.splitlines()), 1, "not on a terminal: the summary "
         "only, no progress line", r.err)
    t.ok({"tbl_alias", "tbl_groups", "tbl_limits"} <= set(maps) and
         "tbl_live" not in maps, "the enumerable ldap_table maps have "
         "snapshots, the live-only one none", maps)
    temps = sum(1 for k in cdb_dump(os.path.join(cache, "tbl_limits.cdb"))
                if k.startswith("\x01"))
    t.ok(temps > 0, "tbl_limits' snapshot holds Postfix's errors (%d), "
         "verified equal to the errors asked live" % temps)
    t.ok("(1 map without snapshot skipped)" in r.err,
         "the live-only ldap_table map is said to be skipped", r.err)
    # named maps only
    r = verify(conf, "--rate", "0", "alias", "people")
    n = sum(len(cdb_dump(os.path.join(cache, m + ".cdb")))
            for m in ("alias", "people"))
    t.eq((r.rc, summary(r)), (0, (2, n, 0)), "verify alias people: only "
         "those two maps", r.why())


@t.test
def every_profile_verifies_clean():
    """The maps of the other directory designs (keys made from the
    domains of addresses, short names in local_domains, Apple's plist,
    first values only) verify clean too: verify asks as the daemon
    does, whatever the map's rules."""
    for prof, params in (
            ("ox", dict(account_base="ou=OX,o=company", domain_base=None)),
            ("apple", dict(account_base="cn=users,ou=Apple,o=company",
                           domain_base=None,
                           local_domains="example.org, Mail.Example.NET")),
            ("jamm", dict(account_base="o=hosting,o=company",
                          domain_base="o=hosting,o=company"))):
        d = t.tmpdir("ldapmail-verify-%s-" % prof)
        conf = os.path.join(d, "ldapmail.conf")
        t.write(conf, t.lookupd_config(slapd(), d, profile=prof, **params))
        r = t.run([t.LOOKUPD, "-c", conf, "sync"])
        cache = os.path.join(d, "cache")
        maps = snapshot_maps(cache) if r.rc == 0 else []
        keys = sum(len(cdb_dump(os.path.join(cache, m + ".cdb")))
                   for m in maps)
        t.ok(r.rc == 0 and keys > 5, "%s: sync, %d keys" % (prof, keys),
             r.why())
        r = verify(conf, "--rate", "0")
        t.eq((r.rc, r.out, summary(r)), (0, "", (len(maps), keys, 0)),
             "%s: every key of its %d maps verifies clean" % (
                 prof, len(maps)), r.why())


@t.test
def progress_on_a_terminal():
    d, conf = setup()
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([t.LOOKUPD, "-c", conf, "verify", "alias",
                              "--rate", "0"], stdout=subprocess.PIPE,
                             stderr=slave)
        os.close(slave)
        slave = None
        out = p.communicate(timeout=60 * t.SLOW)[0]
        err = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    n = len(cdb_dump(os.path.join(d, "cache", "alias.cdb")))
    t.eq((p.returncode, out), (0, b""), "exit 0, nothing on stdout")
    t.ok(re.search(rb"\rverify: map alias: %d/%d keys, \d+/s, 0 "
                   rb"differences" % (n, n), err),
         "on a terminal: a progress line (keys done, rate, differences)",
         err[-300:])


@t.test
def edited_cdb_gives_exactly_the_planted_differences():
    d, conf = setup()
    cache = os.path.join(d, "cache")
    path = os.path.join(cache, "alias.cdb")
    orig = cdb_dump(path)
    keyfile = os.path.join(d, "keys")
    t.write(keyfile, "".join(k + "\n" for k in sorted(orig)))
    changed = "albert.onestone@anotherdomain.nu"
    removed = "ao@anotherdomain.nu"
    t.ok(changed in orig and removed in orig, "the fixture's keys are there")
    edited = dict(orig)
    edited[changed] = "someone.else@example.com"
    del edited[removed]
    cdb_write(path, edited)

    r = verify(conf, "alias", "--rate", "0")
    t.eq(r.rc, 2, "a cdb file whose digest does not match: exit 2", r.why())
    t.ok("digest" in r.err and "alias" in r.err and r.out == "",
         "the digest is named, nothing verified", r.why())

    rewrite_digest(cache, "alias")
    r = verify(conf, "alias", "-k", keyfile, "--rate", "0")
    dn_c = dn_of("(mail=%s)" % changed)
    dn_r = dn_of("(|(mail=%s)(mailAlternateAddress=%s))" % (removed,
                                                            removed))
    want = [
        'alias "%s": snapshot "someone.else@example.com", live "%s", '
        'dn %s' % (changed, orig[changed], "; ".join(dn_c)),
        'alias "%s": snapshot not found, live "%s", dn %s' % (
            removed, orig[removed], "; ".join(dn_r)),
    ]
    t.eq(r.rc, 1, "differences: exit 1", r.why())
    t.eq(r.out.splitlines(), want, "exactly the planted differences, "
         "with both answers and the DN")
    t.eq(summary(r), (1, len(orig), 2), "each key asked once: those of "
         "the cdb file, then those of the key file it lacks", r.err)


@t.test
def filter_changed_between_snapshot_and_verify():
    d, conf = setup()
    gone = "onestonea"
    text = open(conf).read()
    t.write(conf, text.replace(
        "filter = (objectClass=qmailUser)",
        "filter = (&(objectClass=qmailUser)(!(uid=%s)))" % gone))
    r = slapd().search(t.ACCOUNT_BASE, "(uid=%s)" % gone, ["mail"])
    mails = sorted(m.lower() for e in r.entries for m in e.get("mail", []))
    t.ok(mails, "the account left out has mail", mails)
    r = verify(conf, "people", "--rate", "0")
    want = ['people "%s": snapshot "%s", live not found' % (m, gone)
            for m in mails]
    t.eq((r.rc, sorted(r.out.splitlines())), (1, want),
         "exactly the keys of the entry the new filter leaves out", r.why())
    r = verify(conf, "alias", "mailbox", "domain", "--rate", "0")
    t.eq((r.rc, r.out), (0, ""), "the other maps still verify clean",
         r.why())


@t.test
def keys_not_in_the_snapshot():
    d, conf = setup()
    keyfile = os.path.join(d, "keys")
    s = slapd()
    s.add(t.person_ldif("verifynew", "Verify.New@MyDomain.nl"))
    try:
        t.write(keyfile, "VERIFY.NEW@mydomain.nl\r\n\n"
                "nobody.here@mydomain.nl\nnot-an-address\n")
        r = verify(conf, "alias", "people", "-k", keyfile, "--rate", "0")
        dn = "uid=verifynew,%s" % t.ACCOUNT_BASE
        want = ['alias "verify.new@mydomain.nl": snapshot not found, live '
                '"Verify.New@MyDomain.nl", dn %s' % dn,
                'people "verify.new@mydomain.nl": snapshot not found, live '
                '"verifynew", dn %s' % dn]
        t.eq((r.rc, sorted(r.out.splitlines())), (1, want), "the entry "
             "added after the snapshot differs; unknown keys do not",
             r.why())
    finally:
        s.delete("uid=verifynew,%s" % t.ACCOUNT_BASE)
    r = verify(conf, "alias", "-k", keyfile, "--rate", "0")
    t.eq((r.rc, r.out), (0, ""), "deleted again: the same answers", r.why())

    t.write(keyfile, "a@b\n\nbad\tkey\n")
    r = verify(conf, "-k", keyfile)
    t.eq(r.rc, 2, "a key with a control byte: exit 2", r.why())
    t.ok("%s: line 3: a control byte (0x09) in the key" % keyfile in r.err,
         "the error names the file and line", r.err)
    r = verify(conf, "-k", os.path.join(d, "missing"))
    t.eq(r.rc, 2, "a missing key file: exit 2", r.why())


def searches(log, needle):
    with open(log, errors="replace") as f:
        return sum(1 for line in f if " SRCH " in line and needle in line)


def table_keys():
    r = slapd().search(TABLES, "(objectClass=*)",
                       ["mail", "mailAlternateAddress"])
    return sorted({v.lower() for e in r.entries
                   for a in ("mail", "mailAlternateAddress")
                   for v in e.get(a, [])})


@t.test
def ldap_table_map_verified_from_its_cdb():
    """An ldap_table map with a snapshot is verified through pfldap, as
    Postfix's ldap: answers.  The snapshot here is made from Postfix's own
    answers (postmap -q - ldap:FILE), whoever builds it in production."""
    d, conf = setup()
    cache = os.path.join(d, "cache")
    cf = os.path.join(d, "tbl_alias.cf")
    keys = table_keys()
    r = t.postmap(["-q", "-", "ldap:" + cf],
                  input="".join(k + "\n" for k in keys), timeout=120)
    pf = dict(line.split("\t", 1) for line in r.out.splitlines())
    t.ok(r.rc == 0 and len(pf) > 10, "Postfix answers %d of %d keys"
         % (len(pf), len(keys)), r.why())
    cdb_write(os.path.join(cache, "tbl_alias.cdb"), pf)
    rewrite_digest(cache, "tbl_alias")
    keyfile = os.path.join(d, "keys")
    t.write(keyfile, "".join(k + "\n" for k in keys))
    r = verify(conf, "tbl_alias", "-k", keyfile, "--rate", "0")
    t.eq((r.rc, r.out, summary(r)), (0, "", (1, len(keys), 0)),
         "Postfix's answers verify clean, each key asked once", r.why())

    # the table's filter changed since: its keys of one entry differ
    gone = "alice"
    text = open(cf).read()
    t.write(cf, text.replace("query_filter = (&", "query_filter = "
                             "(&(!(uid=%s))" % gone), mode=0o600)
    e = slapd().search(TABLES, "(&(uid=%s)(mail=*))" % gone,
                       ["mail", "mailAlternateAddress"]).entries
    lost = sorted(k for k in pf if any(
        k in [v.lower() for v in x.get("mail", []) +
              x.get("mailAlternateAddress", [])] for x in e))
    t.ok(lost, "the entry left out answers keys", lost)
    r = verify(conf, "tbl_alias", "--rate", "0")
    want = ['tbl_alias "%s": snapshot "%s", live not found' % (k, pf[k])
            for k in lost]
    t.eq((r.rc, sorted(r.out.splitlines())), (1, want),
         "exactly the keys the changed query_filter leaves out", r.why())
    t.write(cf, text, mode=0o600)

    # a value planted, and a TEMP (an ldap_table snapshot keeps
    # Postfix's errors under a key of byte 1 + the key): the DN is the
    # entry behind the live answer
    k, k2 = sorted(pf)[:2]
    planted = dict(pf)
    planted[k] = "planted@example.com"
    del planted[k2]
    planted["\x01" + k2] = "expansion limit (8) exceeded"
    cdb_write(os.path.join(cache, "tbl_alias.cdb"), planted)
    rewrite_digest(cache, "tbl_alias")

    def dns(key):
        return "; ".join(dn_of("(&(|(mail=%s)(mailAlternateAddress=%s))%s)"
                               % (key, key, ACTIVE)))
    r = verify(conf, "tbl_alias", "--rate", "0")
    t.eq((r.rc, r.out.splitlines()), (1, [
        'tbl_alias "%s": snapshot "planted@example.com", live "%s", dn %s'
        % (k, pf[k], dns(k)),
        'tbl_alias "%s": snapshot error: expansion limit (8) exceeded, '
        'live "%s", dn %s' % (k2, pf[k2], dns(k2))]),
        "the planted value and TEMP, with the DN", r.why())
    r = verify(conf, "tbl_alias", "--rate", "0", "-k", keyfile)
    t.eq((r.rc, summary(r)), (1, (1, len(keys), 2)), "-k: the key held "
         "as a TEMP is not asked twice", r.why())


@t.test
def rate_paces_live_questions():
    d, conf = setup()
    s = slapd()
    # keys no snapshot holds, each asked once on the people map: its
    # searches are the only ones with "(mail=verify-rate-"
    keyfile = os.path.join(d, "keys")
    n = 400
    t.write(keyfile, "".join("verify-rate-%d@mydomain.nl\n" % i
                             for i in range(n)))
    needle = "(mail=verify-rate-"
    before = searches(s.log, needle)
    rate = 20
    argv = [t.LOOKUPD, "-c", conf, "verify", "people", "-k", keyfile,
            "--rate", str(rate)]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        # from its first question on (a loaded machine may be slow to
        # start it), one second more
        t.wait_until(lambda: searches(s.log, needle) > before,
                     10 * t.SLOW)
        time.sleep(1.0)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
    elapsed = time.monotonic() - t0
    asked = searches(s.log, needle) - before
    t.ok(1 <= asked <= 1 + rate * elapsed + 1,
         "killed after %.2f s at --rate %d: %d keys asked (at most "
         "1 + rate * T)" % (elapsed, rate, asked))

    # a whole paced run: not before (n - 1) / rate seconds
    few = 11
    t.write(keyfile, "".join("verify-rate-%d@mydomain.nl\n" % i
                             for i in range(few)))
    t0 = time.monotonic()
    r = verify(conf, "people", "-k", keyfile, "--rate", str(rate))
    elapsed = time.monotonic() - t0
    cdb = len(cdb_dump(os.path.join(d, "cache", "people.cdb")))
    total = cdb + few
    t.eq((r.rc, summary(r)), (0, (1, total, 0)), "the paced run is clean",
         r.why())
    t.ok(elapsed >= (total - 1) / rate,
         "%d keys at --rate %d took %.2f s, not less than %.2f" % (
             total, rate, elapsed, (total - 1) / rate))


@t.test
def ldap_down_is_a_temporary_failure():
    d, conf = setup()
    text = open(conf).read()
    t.write(conf, text.replace(slapd().uri, "ldap://127.0.0.1:%d/"
                               % t.free_port()))
    r = verify(conf, "alias")
    t.eq(r.rc, 2, "LDAP down: exit 2", r.why())
    t.ok("LDAP not answering" in r.err and "incomplete" in r.err and
         r.out == "", "a clear message, no difference claimed", r.why())
    r = t.run([t.LOOKUPD, "-c", conf, "--tempfail", "verify", "alias"])
    t.eq(r.rc, 75, "with --tempfail: exit 75", r.why())


@t.test
def usage_and_missing_snapshots():
    d, conf = setup()
    for args, why in ((["nosuchmap"], "an unknown map"),
                      (["--rate", "x"], "a bad --rate"),
                      (["--rate", "-1"], "a negative --rate"),
                      (["-x"], "an unknown option"),
                      (["-k"], "-k without a file")):
        r = verify(conf, *args)
        t.eq(r.rc, 2, "%s: exit 2" % why, r.why())
    os.unlink(os.path.join(d, "cache", "mailbox.cdb"))
    r = verify(conf, "--rate", "0")
    t.eq(r.rc, 2, "a map without its snapshot: exit 2", r.why())
    t.ok("map mailbox: no snapshot" in r.err, "it is named", r.err)
    r = verify(conf, "alias", "--rate", "0")
    t.eq(r.rc, 0, "the other maps still verify", r.why())


if __name__ == "__main__":
    t.main()
