#!/usr/bin/env python3
"""test_confd: a configuration kept one file per domain
(`include = conf.d/*.conf`, each file starting with `domain = ...` and
maybe `account_filter = ...`) answers as one file holding all of it
would, against a real slapd, through Postfix's own client (postmap -q
socketmap:) from the snapshots and live (lookupd query --direct):

- the global account_filter leaves an account out of every account map;
- a file's domain list: its maps answer keys of those domains only
  (the other file's maps: not found), and their snapshots hold no other
  key;
- a file's account_filter is ANDed into that file's maps only;
- a broken file: `lookupd check` exits 2 naming the file and its line.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402

ACTIVE = "(|(accountStatus=active)(accountStatus=shared))"
_slapd = []


def slapd():
    if not _slapd:
        s = t.Slapd().start()
        s.add("\n".join([
            t.person_ldif("anna"),
            t.person_ldif("bert", "bert@mydomain.nl") +
            "mailAlternateAddress: b@mydomain.nl\n",
            t.person_ldif("skip"),
            t.person_ldif("carl", "carl@testdomain.nu"),
            t.person_ldif("cleo", "cleo@testdomain.nu"),
            t.person_ldif("dora", "dora@testdomain.nu", status="inactive"),
        ]))
        _slapd.append(s)
    return _slapd[0]


def maps(suffix, extra_filter=""):
    f = "(&%s%s)" % (ACTIVE, extra_filter) if extra_filter else ACTIVE
    return ("[map domain%s]\nbase = $domain_base\n"
            "filter = (objectClass=domainRelatedObject)\n"
            "key = associatedDomain\nkind = domain\n\n"
            "[map alias%s]\nfilter = %s\nkey = mail mailAlternateAddress\n"
            "result = mail\n\n"
            "[map mailbox%s]\nfilter = %s\nkey = mail mailAlternateAddress\n"
            "result = mailMessageStore\nsingle = yes\n" % (
                suffix, suffix, f, suffix, f))


# (domain, key) for every key asked; domain picks the file's maps.
ADDRS = [
    ("mydomain.nl", "anna@mydomain.nl"),
    ("mydomain.nl", "bert@mydomain.nl"),
    ("mydomain.nl", "B+x@MyDomain.NL"),
    ("mydomain.nl", "skip@mydomain.nl"),
    ("mydomain.nl", "nobody@mydomain.nl"),
    ("anotherdomain.nu", "albert.onestone@anotherdomain.nu"),
    ("anotherdomain.nu", "ao@anotherdomain.nu"),
    ("anotherdomain.nu", "timetravel@anotherdomain.nu"),
    ("testdomain.nu", "carl@testdomain.nu"),
    ("testdomain.nu", "cleo@testdomain.nu"),
    ("testdomain.nu", "dora@testdomain.nu"),
]
DOMAINS = ["mydomain.nl", "anotherdomain.nu", "TestDomain.NU.",
           "example.org"]
FILE_OF = {"mydomain.nl": "_nl", "anotherdomain.nu": "_nu",
           "testdomain.nu": "_nu", "example.org": None}


def answers(lk, m, keys):
    """{key: answer} of map m for keys: from the daemon's snapshot
    through postmap (socketmap), and live (query --direct)."""
    rc, pairs = t.postmap_batch(keys, lk.table(m))
    snap = dict(pairs)
    live = {}
    for k in keys:
        r = lk.cli("query", "--direct", m, k)
        if r.rc == 0:
            live[k] = r.out.rstrip("\n")
        elif r.rc != 1:
            live[k] = "error: " + r.why()
    return snap, live


def started(text):
    d = t.tmpdir()
    conf = t.lookupd_config(slapd(), d, miss_lookup="no", refresh=7200,
                            profile="none", extra="")
    lk = t.Lookupd(conf, dir=d)
    files = text(d)
    lk.set_config(conf + files)
    r = lk.cli("sync")
    t.eq(r.rc, 0, "lookupd sync", r.why())
    return lk.start()


@t.test
def domain_files_answer_as_one_file():
    glob_filter = "account_filter = (!(uid=skip))\n"

    def one(d):
        # One file: carl is left out by the map filters themselves.
        return glob_filter + maps("", "(!(uid=carl))")

    def split(d):
        confd = os.path.join(d, "conf.d")
        os.makedirs(confd)
        t.write(os.path.join(confd, "10-nl.conf"),
                "# one site\ndomain = MyDomain.nl\n" + maps("_nl"))
        t.write(os.path.join(confd, "20-nu.conf"),
                "domain = anotherdomain.nu, testdomain.nu\n"
                "account_filter = (!(uid=carl))\n" + maps("_nu"))
        return glob_filter + "include = conf.d/*.conf\n"

    a = started(one)
    b = started(split)
    r = b.cli("check")
    t.ok(r.rc == 0 and "6 maps (0 from profile none)" in r.out,
         "conf.d: check reads both files' maps", r.why())
    for kind, cases in (("alias", ADDRS), ("mailbox", ADDRS),
                        ("domain", [(d.lower().rstrip("."), d)
                                    for d in DOMAINS])):
        keys = [k for _, k in cases]
        want_snap, want_live = answers(a, kind, keys)
        t.eq(want_snap, want_live, "one file, map %s: snapshot and live "
             "agree" % kind)
        got = {}
        for suffix in ("_nl", "_nu"):
            snap, live = answers(b, kind + suffix, keys)
            t.eq(snap, live, "conf.d, map %s%s: snapshot and live agree" %
                 (kind, suffix))
            for dom, k in cases:
                if k in snap and FILE_OF[dom] != suffix:
                    got[k] = "answered by the other file: %s" % snap[k]
                elif k in snap:
                    got[k] = snap[k]
        t.eq(got, want_snap, "conf.d: map %s of each domain's file answers "
             "as the one file's map %s (%d keys, %d found)" % (
                 kind, kind, len(keys), len(want_snap)))
    # Not vacuous: the table's answers, and what the filters left out.
    snap, _ = answers(b, "alias_nl", ["anna@mydomain.nl", "B+x@MyDomain.NL",
                                      "skip@mydomain.nl"])
    t.eq(snap, {"anna@mydomain.nl": "anna@mydomain.nl",
                "B+x@MyDomain.NL": "bert+x@mydomain.nl"},
         "alias_nl: anna, bert by an alternate address; skip left out by "
         "the global account_filter")
    snap, _ = answers(b, "alias_nu", ["cleo@testdomain.nu",
                                      "carl@testdomain.nu"])
    t.eq(snap, {"cleo@testdomain.nu": "cleo@testdomain.nu"},
         "alias_nu: carl left out by its file's account_filter")
    snap, _ = answers(b, "mailbox_nl", ["albert.onestone@anotherdomain.nu"])
    t.eq(snap, {}, "mailbox_nl: an address of another domain is not found")
    r = b.cli("query", "mailbox_nl", "albert.onestone@anotherdomain.nu")
    t.eq(r.rc, 1, "and the daemon says NOTFOUND", r.why())
    a.stop()
    b.stop()


@t.test
def broken_file_names_itself_and_its_line():
    d = t.tmpdir()
    confd = os.path.join(d, "conf.d")
    os.makedirs(confd)
    bad = os.path.join(confd, "20-bad.conf")
    t.write(os.path.join(confd, "10-ok.conf"), "domain = mydomain.nl\n" +
            maps("_ok"))
    t.write(bad, "# broken\ndomain = my..domain.nl\n" + maps("_bad"))
    lk = t.Lookupd(t.lookupd_config(slapd(), d, profile="none",
                                    extra="include = conf.d/*.conf\n"),
                   dir=d)
    r = lk.cli("check")
    t.ok(r.rc == 2 and "%s:2: domain: \"my..domain.nl\" is not a domain "
         "name" % bad in r.err, "a bad domain: exit 2, the file and line 2",
         r.why())
    t.write(bad, "domain = mydomain.nl\n" + maps("_bad") +
            "account_filter = (uid=x)\n")
    r = lk.cli("check")
    t.ok(r.rc == 2 and "%s:18: account_filter: in an included file it "
         "stands before the file's first [map] section" % bad in r.err,
         "account_filter after a section: exit 2, the file and its line",
         r.why())


if __name__ == "__main__":
    t.main()
