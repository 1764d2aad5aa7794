#!/usr/bin/env python3
"""test_mdm_profiles: ldap-maildirmake with `profile = jamm | ox | apple`
over the fixtures (tests/fixtures/jamm.ldif, ox.ldif, apple.ldif) in a
real slapd, against lookupd's own mailbox map and Courier's maildirmake:

- the maildirs made are exactly the paths lookupd's mailbox map answers
  (asked through Postfix's postmap -q socketmap:, relative answers below
  mail_base as virtual_mailbox_base reads them) for every address of the
  fixture whose domain the domain map answers: jamm's inactive, deleted
  and disabled-by-their-domain accounts, ox's disabled, never enabled and
  colocRouteAddr users, apple's Off, Forward, unreadable and missing
  plists get none;
- the tree equals the one Courier's maildirmake makes for the same
  maildirs (with default_folders: maildirmake -f, the subscriptions);
- apple: kUserDiskQuota (MB) gives maildirsize exactly as
  `maildirmake -q NS` writes it (NS = MB * 1048576);
- apple: a malformed plist is reported with its DN (exit 1), the others
  are built, nothing crashes; a second run changes nothing;
- `lookupd lint` follows each profile's layout: over each fixture exactly
  the expected lines (jamm: the accounts of the inactive domain; ox: the
  user without mailEnabled; apple: the two unreadable plists and the
  user without one).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
import mdm_util as m       # noqa: E402

D = t.tmpdir("ldapmail-mdmprof-")
os.chmod(D, 0o755)
FOLDERS = ["Sent", "Drafts", "Trash"]
LOCAL = ["example.org", "mail.example.net"]

# profile: (account_base, domain_base, key attributes)
PROFILES = {
    "jamm": ("o=hosting,o=company", "o=hosting,o=company", ["mail"]),
    "ox": ("ou=OX,o=company", None, ["mail", "alias"]),
    "apple": ("cn=users,ou=Apple,o=company", None, ["uid"]),
}
slapd = t.profiles_slapd    # the four fixtures, one slapd


def setup(prof):
    """(lookupd, config path, mail_base) for profile prof."""
    d = os.path.join(D, prof)
    os.makedirs(d, exist_ok=True)
    base = os.path.join(d, "vmail")
    m.clear(base)
    acct, dom, _ = PROFILES[prof]
    params = dict(profile=prof, account_base=acct, domain_base=dom,
                  miss_lookup="no", refresh=7200, mail_base=base,
                  mail_owner="%d:%d" % m.default_owner(),
                  default_folders=" ".join(FOLDERS),
                  state_dir=m.state_dir(base))
    if prof == "apple":
        params["local_domains"] = ", ".join(LOCAL)
    lk = t.Lookupd(t.lookupd_config(slapd(), d, **params), dir=d)
    return lk, lk.conf, base


def addresses(prof):
    """Every address the fixture gives profile prof's accounts."""
    acct, _, attrs = PROFILES[prof]
    r = slapd().search(acct, "(objectClass=*)", attrs, bind="admin")
    assert r.rc == 0, r.why()
    keys = set()
    for e in r.entries:
        for a in attrs:
            for v in e.get(a, []):
                if prof == "apple" and "@" not in v:
                    keys.update("%s@%s" % (v, d) for d in LOCAL)
                else:
                    keys.add(v)
    return sorted(keys)


def maildirs(base):
    """Every maildir below base (a directory holding cur, new and tmp
    that is not a folder), absolute, sorted."""
    out = []
    for d, ds, _ in os.walk(base):
        if {"cur", "new", "tmp"} <= set(ds) and \
                not os.path.basename(d).startswith("."):
            out.append(d)
    return sorted(out)


def courier(*args):
    return t.run(["/bin/sh", "-c", 'umask 022; exec "$@"', "sh",
                  m.COURIER] + list(args), timeout=30)


def courier_tree(ref, base, dirs, quotas):
    """What Courier's maildirmake makes for dirs (paths below base), under
    ref: mkdir -p of the parents, maildirmake, -f per folder, the
    subscriptions imapd writes, -q for a quota."""
    m.clear(ref)
    for path in dirs:
        p = os.path.join(ref, os.path.relpath(path, base))
        r = t.run(["/bin/sh", "-c", 'umask 022; exec mkdir -p "$1"', "sh",
                   os.path.dirname(p)], timeout=30)
        assert r.rc == 0, r.why()
        for args in ([p],) + tuple(["-f", f, p] for f in FOLDERS):
            r = courier(*args)
            assert r.rc == 0, r.why()
        with open(os.path.join(p, "courierimapsubscribed"), "wb") as f:
            f.write("".join("INBOX.%s\n" % n for n in FOLDERS).encode())
        if path in quotas:
            r = courier("-q", "%dS" % quotas[path], p)
            assert r.rc == 0, r.why()


def mailbox_answers(lk, prof, keys):
    """{address: maildir path} for the keys whose domain the domain map
    answers and the mailbox map answers, relative answers below
    mail_base."""
    r = lk.cli("sync")
    assert r.rc == 0, r.why()
    lk.start()
    try:
        doms = sorted({k.rpartition("@")[2] for k in keys})
        _, dpairs = t.postmap_batch(doms, lk.table("domain"))
        live = {d for d, _ in dpairs}
        rc, pairs = t.postmap_batch(
            [k for k in keys if k.rpartition("@")[2] in live],
            lk.table("mailbox"))
    finally:
        lk.stop()
    return dict(pairs)


def check_profile(prof, want_rc, want_err=(), quotas_mb=None):
    lk, conf, base = setup(prof)
    r = m.run(conf)
    t.eq(r.rc, want_rc, "%s: ldap-maildirmake exit status" % prof, r.why())
    for dn, why in want_err:
        t.ok(any(dn in line and why in line for line in r.err.splitlines()),
             "%s: %s reported: %s" % (prof, dn, why), r.why())
    keys = addresses(prof)
    answers = mailbox_answers(lk, prof, keys)
    want = sorted({os.path.join(base, v).rstrip("/")
                   for v in answers.values()})
    t.ok(len(want) > 1, "%s: the mailbox map answers %d maildirs" %
         (prof, len(want)), answers)
    t.eq(maildirs(base), want, "%s: the maildirs made are exactly the "
         "mailbox map's answers over %d addresses" % (prof, len(keys)))
    quotas = {}
    for uid, mb in (quotas_mb or {}).items():
        quotas[os.path.join(base, uid, "Maildir")] = mb * 1048576
    ref = os.path.join(D, prof, "ref")
    courier_tree(ref, base, want, quotas)
    a, b = m.snapshot(base), m.snapshot(ref)
    t.ok(a == b, "%s: the tree (maildirs, folders, subscriptions, "
         "maildirsize) as Courier's maildirmake makes it" % prof,
         lambda: m.diff(a, b))
    r = m.run(conf)
    t.ok(r.rc == want_rc and "no changes" in r.out,
         "%s: a second run changes nothing" % prof, r.why())
    return base


@t.test
def jamm_maildirs_are_the_mailbox_answers():
    base = check_profile("jamm", 0)
    for gone in ("jamm.example/old", "gone.example/john",
                 "gone.example/mary"):
        t.ok(not os.path.exists(os.path.join(base, gone)),
             "jamm: no maildir for %s (inactive, or its domain is)" % gone)


@t.test
def ox_maildirs_are_the_mailbox_answers():
    base = check_profile("ox", 0)
    for uid in ("bob", "carol", "dave"):
        t.ok(not os.path.exists(os.path.join(base, uid)),
             "ox: no maildir for %s (colocRouteAddr, NONE, none)" % uid)


@t.test
def apple_maildirs_quotas_and_a_malformed_plist():
    base = check_profile(
        "apple", 1,
        want_err=[("uid=broken,", "apple-user-mailattribute is not a mail "
                   "settings plist ldapmail reads: byte "),
                  ("uid=badstate,", "apple-user-mailattribute is not a mail "
                   "settings plist ldapmail reads: ")],
        quotas_mb={"jdoe": 250, "tiny": 1})
    for uid in ("fwd", "offuser", "broken", "badstate", "nomail"):
        t.ok(not os.path.exists(os.path.join(base, uid)),
             "apple: no maildir for %s" % uid)
    with open(os.path.join(base, "jdoe", "Maildir", "maildirsize"),
              "rb") as f:
        t.eq(f.read().split(b"\n")[0], b"262144000S",
             "apple: kUserDiskQuota 250 is 262144000S")


LINT = {
    "jamm": ["mail=%s@gone.example,jvd=gone.example,o=hosting,o=company: "
             "mail \"%s@gone.example\": domain gone.example is not "
             "accepted (no active JammVirtualDomain holds it)" % (u, u)
             for u in ("john", "mary", "old")],
    "ox": ["uid=dave,ou=OX,o=company: mailEnabled is missing"],
    "apple": [
        "uid=badstate,cn=users,ou=Apple,o=company: apple-user-mailattribute "
        "is not a mail settings plist ldapmail reads: byte 131: "
        "kMailAccountState \"Active\" is not Enabled, Off or Forward",
        "uid=broken,cn=users,ou=Apple,o=company: apple-user-mailattribute "
        "is not a mail settings plist ldapmail reads: byte 190: "
        "unterminated <string>",
        "uid=nomail,cn=users,ou=Apple,o=company: apple-user-mailattribute "
        "is missing"],
}
ACCOUNTS = {"jamm": 9, "ox": 5, "apple": 8}


@t.test
def lint_follows_each_profile():
    for prof in ("jamm", "ox", "apple"):
        lk, _, _ = setup(prof)
        r = lk.cli("lint")
        t.eq((r.rc, r.out.splitlines()), (1, LINT[prof]),
             "%s: lint: exactly the fixture's problems" % prof, r.why())
        t.ok("lint: %d accounts," % ACCOUNTS[prof] in r.err,
             "%s: lint counts %d accounts" % (prof, ACCOUNTS[prof]), r.err)


if __name__ == "__main__":
    t.main()
