#!/usr/bin/env python3
"""test_lint: `lookupd lint` against a real slapd holding the howto's
directory.

The fixture is clean (exit 0, no problem line, the summary on stderr).
Each problem lint knows is then planted in the same slapd (entries added,
values changed) and lint must print exactly the expected lines, with
their DNs, and nothing else (the sets are compared whole); the planted
entries are removed again after each case, and a final case plants them
all at once.  600 extra accounts show the read is paged past slapd's
size limit of 500.  LDAP unreachable, a missing base, a config error and
bad arguments exit 2 with a message on stderr and nothing on stdout.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                               # noqa: E402

TOK = ",ou=Tokelau,o=company"
ALBERT = "cn=Albert Onestone" + TOK
SEVEN = "cn=Seven of Nine" + TOK
SUMMARY = re.compile(r"^lint: (\d+) accounts?, (\d+) domains?, "
                     r"(\d+) problems?$")

_state = {}


def slapd():
    if "slapd" not in _state:
        _state["slapd"] = t.Slapd().start()
    return _state["slapd"]


def config(uri=None, extra="", **params):
    """A config file of its own (in a fresh directory); its path.  None
    drops a parameter; extra is appended verbatim (map sections)."""
    d = t.tmpdir("ldapmail-lint-")
    pw = os.path.join(d, "bindpw")
    fd = os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, (t.SYSTEM_PW + "\n").encode())
    os.close(fd)
    conf = {
        "ldap_uri": uri or slapd().uri,
        "bind_dn": t.SYSTEM_DN,
        "bind_pw_file": pw,
        "domain_base": t.DOMAIN_BASE,
        "account_base": t.ACCOUNT_BASE,
        "mail_base": "/vmail",
        "ldap_timeout": "3",
    }
    conf.update(params)
    path = os.path.join(d, "ldapmail.conf")
    with open(path, "w") as f:
        for k, v in conf.items():
            if v is not None:
                f.write("%s = %s\n" % (k, v))
        f.write(extra)
    return path


def lint(conf=None, args=()):
    return t.run([t.LOOKUPD, "-c", conf or config(), "lint"] + list(args),
                 timeout=60)


def lines(text):
    return [x for x in text.split("\n") if x]


def account(cn, status="active", store=None, mail=None, classes=None,
            **attrs):
    """LDIF of an account under ou=Tokelau; None leaves an attribute out,
    lists give several values; store defaults to /vmail/CN/Maildir/."""
    dn = "cn=%s%s" % (cn, TOK)
    out = ["dn: " + dn]
    for oc in classes or ("inetOrgPerson", "qmailUser"):
        out.append("objectClass: " + oc)
    out += ["cn: " + cn, "sn: " + cn.split()[-1]]
    key = cn.lower().replace(" ", ".")
    attrs["mail"] = mail if mail is not None else key + "@mydomain.nl"
    attrs["accountStatus"] = status
    attrs["mailMessageStore"] = store if store is not None else \
        "/vmail/%s/Maildir/" % key
    for name, vals in attrs.items():
        if vals is None or vals == "":
            continue
        for v in vals if isinstance(vals, list) else [vals]:
            out.append("%s: %s" % (name, v))
    return "\n".join(out) + "\n\n"


def dns_of(ldif):
    return [x[4:] for x in ldif.split("\n") if x.startswith("dn: ")]


def check_report(name, r, want, accounts=None):
    """Exit status, the exact set of problem lines, the summary."""
    got = lines(r.out)
    t.eq(r.rc, 1 if want else 0, name + ": exit status", r.why())
    t.eq(sorted(got), sorted(want), name + ": exactly the planted problems")
    t.eq(len(got), len(set(got)), name + ": no line twice")
    err = lines(r.err)
    m = SUMMARY.match(err[-1]) if len(err) == 1 else None
    t.ok(m is not None, name + ": the summary alone on stderr", r.err)
    if m:
        t.eq(int(m.group(3)), len(want), name + ": summary counts problems")
        if accounts is not None:
            t.eq(int(m.group(1)), accounts, name + ": summary counts "
                 "accounts")


def planted(name, ldif="", modify=None, revert=None, want=(),
            accounts=None):
    s = slapd()
    added = []
    try:
        for dn_ldif in [x + "\n\n" for x in ldif.split("\n\n") if x.strip()]:
            s.add(dn_ldif)
            added += dns_of(dn_ldif)
        if modify:
            s.modify(modify)
        r = lint()
        check_report(name, r, list(want), accounts)
    finally:
        if modify and revert:
            s.modify(revert)
        for dn in reversed(added):
            s.delete(dn)


# --------------------------------------------------------------- cases

TWO_MAILS = account("Two Mails", mail=["one@mydomain.nl",
                                       "two@mydomain.nl"])
TWO_MAILS_WANT = [
    "cn=Two Mails%s: has 2 mail values (\"one@mydomain.nl\", "
    "\"two@mydomain.nl\"); exactly one is allowed" % TOK]

ELSEWHERE = account(
    "Elsewhere", mail="e@Unlisted.Example",
    mailAlternateAddress=["e@MyDomain.NL", "e2@Other.Example",
                          "e3@extra.example"])
ELSEWHERE_WANT = [
    "cn=Elsewhere%s: mail \"e@Unlisted.Example\": domain Unlisted.Example "
    "is not accepted (no associatedDomain holds it)" % TOK,
    "cn=Elsewhere%s: mailAlternateAddress \"e2@Other.Example\": domain "
    "Other.Example is not accepted (no associatedDomain holds it)" % TOK]
# An accepted domain in capitals with a trailing dot accepts extra.example.
EXTRA_DOMAIN = ("dn: dc=nl,ou=postfix,ou=System,o=company\n"
                "changetype: modify\nadd: associatedDomain\n"
                "associatedDomain: Extra.Example.\n\n")
EXTRA_DOMAIN_UNDO = ("dn: dc=nl,ou=postfix,ou=System,o=company\n"
                     "changetype: modify\ndelete: associatedDomain\n"
                     "associatedDomain: Extra.Example.\n\n")

COPY_CAT = account("Copy Cat", mailAlternateAddress="AO@AnotherDomain.nu")
COPY_CAT_WANT = [
    "%s: mailAlternateAddress \"ao@anotherdomain.nu\" is also an address "
    "of cn=Copy Cat%s" % (ALBERT, TOK),
    "cn=Copy Cat%s: mailAlternateAddress \"AO@AnotherDomain.nu\" is also "
    "an address of %s" % (TOK, ALBERT)]

STORES = "".join([
    account("No Store", store=""),
    account("Sleeping", status="inactive", store=""),
    account("Relative", store="vmail/relative/Maildir/"),
    account("No Trail", store="/vmail/notrail/Maildir"),
    account("Double Slash", store="/vmail//dslash/Maildir/"),
    account("Dot", store="/vmail/./dot/Maildir/"),
    account("Dot Dot", store="/vmail/x/../dotdot/Maildir/"),
    account("Outside", store="/srv/mail/outside/Maildir/"),
])
NORM = "is not normalized (holds \"//\", \".\" or \"..\")"
STORES_WANT = [
    "cn=No Store%s: mailMessageStore is missing" % TOK,
    "cn=Relative%s: mailMessageStore \"vmail/relative/Maildir/\" is not an "
    "absolute path" % TOK,
    "cn=No Trail%s: mailMessageStore \"/vmail/notrail/Maildir\" does not "
    "end in \"/\"" % TOK,
    "cn=Double Slash%s: mailMessageStore \"/vmail//dslash/Maildir/\" %s"
    % (TOK, NORM),
    "cn=Dot%s: mailMessageStore \"/vmail/./dot/Maildir/\" %s" % (TOK, NORM),
    "cn=Dot Dot%s: mailMessageStore \"/vmail/x/../dotdot/Maildir/\" %s"
    % (TOK, NORM),
    "cn=Outside%s: mailMessageStore \"/srv/mail/outside/Maildir/\" is not "
    "inside mail_base /vmail" % TOK,
]

SHARED = "".join([
    account("Bulletin", status="shared",
            store="/vmail/bulletin/incoming/", uid="incoming"),
    account("No Uid", status="shared",
            store="/vmail/shared/nouid/incoming/"),
    account("Flat", status="shared", store="/vmail/shared/flat/",
            uid="flat"),
])
SHARED_WANT = [
    "cn=Bulletin%s: mailMessageStore \"/vmail/bulletin/incoming/\" of a "
    "shared entry is not under /vmail/shared/" % TOK,
    "cn=No Uid%s: shared entry has no uid (the folder that receives mail)"
    % TOK,
    "cn=Flat%s: mailMessageStore \"/vmail/shared/flat/\" of a shared entry "
    "lies directly in /vmail/shared/ (expected /vmail/shared/NAME/FOLDER/)"
    % TOK,
]

# Seven of Nine subscribes to a missing entry and to Albert instead of the
# shared folder; the reader names the folder in other case and spacing
# (fine) and an entry outside the account leaf.
SEE_ALSO = account("Reader", seeAlso=[
    "cn=timetravel WEEKLY , ou=tokelau,o=COMPANY", "ou=System,o=company"])
SEE_ALSO_MOD = ("dn: %s\nchangetype: modify\nreplace: seeAlso\n"
                "seeAlso: cn=Nobody,ou=Tokelau,o=company\n"
                "seeAlso: %s\n\n" % (SEVEN, ALBERT))
SEE_ALSO_UNDO = ("dn: %s\nchangetype: modify\nreplace: seeAlso\n"
                 "seeAlso: cn=Timetravel weekly,ou=Tokelau,o=company\n\n"
                 % SEVEN)
SEE_ALSO_WANT = [
    "%s: seeAlso \"cn=Nobody,ou=Tokelau,o=company\" names no entry under "
    "ou=Tokelau,o=company" % SEVEN,
    "%s: seeAlso \"%s\" names an entry that is not shared (accountStatus "
    "\"active\")" % (SEVEN, ALBERT),
    "cn=Reader%s: seeAlso \"ou=System,o=company\" names no entry under "
    "ou=Tokelau,o=company" % TOK,
]

STATUS = "".join([
    account("No Status", status=None),
    account("Bogus", status="enabled"),
    account("Capital", status="Active"),
    account("Asleep", status="INACTIVE"),
])
STATUS_WANT = [
    "cn=No Status%s: accountStatus is missing" % TOK,
    "cn=Bogus%s: accountStatus \"enabled\" is not active, inactive or "
    "shared" % TOK,
]


@t.test
def fixture_is_clean():
    r = lint()
    check_report("fixture", r, [], accounts=3)
    t.eq(lines(r.err), ["lint: 3 accounts, 3 domains, 0 problems"],
         "fixture: summary")


@t.test
def more_than_one_mail():
    planted("two mails", TWO_MAILS, want=TWO_MAILS_WANT, accounts=4)


@t.test
def address_in_unlisted_domain():
    planted("unlisted domain", ELSEWHERE, modify=EXTRA_DOMAIN,
            revert=EXTRA_DOMAIN_UNDO, want=ELSEWHERE_WANT)


CATCH_ALL = account("Catch All", mail="catch.all@mydomain.nl",
                    mailAlternateAddress=["@mydomain.nl",
                                          "@unlisted.example"])
CATCH_ALL_MAP = """
[map mailbox]
filter = (|(accountStatus=active)(accountStatus=shared))
key = mail mailAlternateAddress
result = mailMessageStore
single = yes
catchall = yes
"""


@t.test
def catch_all_address_with_catchall_yes():
    """"@domain" is an address (the catch-all of domain) when a map has
    catchall = yes; without such a map it is not one.  Its domain must
    be accepted either way."""
    s = slapd()
    s.add(CATCH_ALL)
    try:
        plain = lint()
        with_map = lint(config(extra=CATCH_ALL_MAP))
    finally:
        s.delete(dns_of(CATCH_ALL)[0])
    dn = dns_of(CATCH_ALL)[0]
    check_report("no catchall map", plain, [
        "%s: mailAlternateAddress \"@mydomain.nl\" is not an address "
        "(LOCAL@DOMAIN)" % dn,
        "%s: mailAlternateAddress \"@unlisted.example\" is not an address "
        "(LOCAL@DOMAIN)" % dn])
    check_report("catchall = yes", with_map, [
        "%s: mailAlternateAddress \"@unlisted.example\": domain "
        "unlisted.example is not accepted (no associatedDomain holds it)"
        % dn])


@t.test
def same_address_on_two_accounts():
    planted("duplicate address", COPY_CAT, want=COPY_CAT_WANT)


@t.test
def mail_message_store():
    planted("mailMessageStore", STORES, want=STORES_WANT, accounts=11)


@t.test
def shared_entries():
    planted("shared entries", SHARED, want=SHARED_WANT)


@t.test
def see_also():
    planted("seeAlso", SEE_ALSO, modify=SEE_ALSO_MOD, revert=SEE_ALSO_UNDO,
            want=SEE_ALSO_WANT)


@t.test
def account_status():
    planted("accountStatus", STATUS, want=STATUS_WANT, accounts=7)


@t.test
def everything_at_once():
    s = slapd()
    ldif = TWO_MAILS + ELSEWHERE + COPY_CAT + STORES + SHARED + SEE_ALSO + \
        STATUS
    want = TWO_MAILS_WANT + ELSEWHERE_WANT + COPY_CAT_WANT + STORES_WANT + \
        SHARED_WANT + SEE_ALSO_WANT + STATUS_WANT
    added = []
    try:
        s.modify(EXTRA_DOMAIN)
        s.modify(SEE_ALSO_MOD)
        s.add(ldif)
        added = dns_of(ldif)
        conf = config()
        r = lint(conf)
        check_report("all problems", r, want, accounts=3 + len(added))
        r2 = lint(conf)
        t.eq(r2.out, r.out, "all problems: a second run prints the same "
             "lines in the same order")
    finally:
        s.modify(EXTRA_DOMAIN_UNDO)
        s.modify(SEE_ALSO_UNDO)
        for dn in reversed(added):
            s.delete(dn)
    check_report("clean again", lint(), [], accounts=3)


@t.test
def paged_past_the_size_limit():
    s = slapd()
    n = 600
    parts = ["dn: ou=Big,ou=Tokelau,o=company\nobjectClass: "
             "organizationalUnit\nou: Big\n\n"]
    for i in range(n):
        parts.append(
            "dn: uid=u%d,ou=Big,ou=Tokelau,o=company\nobjectClass: "
            "inetOrgPerson\nobjectClass: qmailUser\nuid: u%d\ncn: u%d\n"
            "sn: u\nmail: u%d@testdomain.nu\naccountStatus: active\n"
            "mailMessageStore: /vmail/big/u%d/\n\n" % (i, i, i, i, i))
    # One duplicate at the very end: found only if every page was read.
    parts.append(account("Late Dup", mail="u0@TestDomain.nu"))
    s.add("".join(parts))
    try:
        r = lint()
        check_report("600 accounts", r, [
            "uid=u0,ou=Big%s: mail \"u0@testdomain.nu\" is also an address "
            "of cn=Late Dup%s" % (TOK, TOK),
            "cn=Late Dup%s: mail \"u0@TestDomain.nu\" is also an address of "
            "uid=u0,ou=Big%s" % (TOK, TOK)], accounts=3 + n + 1)
    finally:
        s.delete("cn=Late Dup" + TOK)
        s.delete("ou=Big,ou=Tokelau,o=company", recursive=True)


def check_error(name, r, *words):
    t.eq(r.rc, 2, name + ": exit 2", r.why())
    t.eq(r.out, "", name + ": nothing on stdout")
    for w in words:
        t.ok(w in r.err, "%s: stderr names %r" % (name, w), r.err)


@t.test
def ldap_unreachable():
    r = lint(config(uri="ldap://127.0.0.1:%d/" % t.free_port()))
    check_error("nothing listens", r, "lint: cannot read domain_base",
                "Can't contact LDAP server")
    s = slapd()
    conf = config()
    s.stop()
    try:
        r = lint(conf)
    finally:
        s.start()
    check_error("slapd stopped", r, "Can't contact LDAP server")
    check_report("slapd back", lint(conf), [], accounts=3)


@t.test
def bases_and_config():
    check_error("missing domain_base entry", lint(config(
        domain_base="ou=nowhere,o=company")),
        "cannot read domain_base ou=nowhere,o=company")
    check_error("missing account_base entry", lint(config(
        account_base="ou=nowhere,o=company")),
        "cannot read account_base ou=nowhere,o=company")
    conf = config(domain_base=None, extra_param="1")
    check_error("config error", lint(conf), conf + ":",
                "unknown parameter \"extra_param\"")
    # Without domain_base the built-in maps cannot exist: a config error.
    conf = config(domain_base=None)
    check_error("no domain_base, built-in maps", lint(conf), conf + ":",
                "domain_base")
    # With maps of its own a config may do without it; lint may not.
    conf = config(domain_base=None, profile="none",
                  extra="[map alias]\nkey = mail\nresult = mail\n")
    check_error("no domain_base, own maps", lint(conf),
                "domain_base is not set")
    check_error("no config file", lint("/nonexistent/ldapmail.conf"),
                "/nonexistent/ldapmail.conf")


@t.test
def usage():
    r = lint(args=["extra"])
    t.eq(r.rc, 2, "lint with an argument: exit 2", r.why())
    t.ok("usage: lookupd [-c FILE] lint" in r.err, "lint usage on stderr",
         r.err)
    r = t.run([t.LOOKUPD, "-h"])
    t.ok(r.rc == 0 and re.search(r"^  lint ", r.out, re.M) is not None,
         "-h lists lint", r.why())


if __name__ == "__main__":
    t.main()
