#!/usr/bin/env python3
"""test_route: `lookupd route ADDRESS [-j]` against a real slapd.

The howto's example directory, plus in the test directory an inactive
account, two accounts whose mailForwardingAddress point at each other (an
alias loop, through a forwarding alias map as qmail-ldap sites run it), an
account forwarding to 1001 addresses, a catch-all, an account on another
mail host (transport map), a shared folder under a private mail_base, and
an account added after the snapshot.  Two configurations: the built-in
profile, and a "forward" one whose alias map is mailForwardingAddress.

- every fixture address: the exact lines (ages and the cache path
  normalized), exit 0; the shared folder's delivery link and maildir;
- an unknown address (550, exit 1), an unknown domain (454, exit 1), an
  inactive account (550, exit 1);
- the loop is named and undeliverable, as is a 1001-address expansion;
- a catch-all and a transport map answer;
- an entry LDAP has but the snapshot lacks: source live, with a note;
- the delivery link on disk: missing, present, wrong;
- LDAP down: a known address from the snapshot (exit 0, "DN not
  recorded"), an unknown one exit 2;
- -j: json.loads, and the same facts as the text, line for line;
- usage errors exit 2;
- a real Postfix (the shipped fragments) agrees: the RCPT replies route
  predicts, word for word, and delivery into the mailbox (and shared
  folder) route names.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

DOM_NU = "dc=nu,ou=postfix,ou=System,o=company"
DOM_NL = "dc=nl,ou=postfix,ou=System,o=company"

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

# Loop One forwards to Loop Two, who forwards back: an alias loop.
LOOP = """dn: cn=Loop One,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: Loop One
sn: One
uid: loop1
mail: loop.one@testdomain.nu
mailForwardingAddress: loop.two@testdomain.nu
accountStatus: active
mailMessageStore: /vmail/loop.one/Maildir/

dn: cn=Loop Two,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: Loop Two
sn: Two
uid: loop2
mail: loop.two@testdomain.nu
mailForwardingAddress: LOOP.ONE@testdomain.nu
accountStatus: active
mailMessageStore: /vmail/loop.two/Maildir/

dn: cn=Far Away,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: Far Away
sn: Away
uid: far
mail: far.away@testdomain.nu
mailHost: mx.inside.test
accountStatus: active
mailMessageStore: /vmail/far.away/Maildir/

dn: dc=test,ou=postfix,ou=System,o=company
objectClass: dNSDomain
objectClass: domainRelatedObject
dc: test
associatedDomain: catch.test

dn: cn=Catch All,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: Catch All
sn: All
uid: catchall
mail: catch.all@catch.test
mailAlternateAddress: @catch.test
accountStatus: active
mailMessageStore: /vmail/catch.all/Maildir/
"""

BIG_N = 1001
BIG = """dn: cn=Big List,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: Big List
sn: List
uid: biglist
mail: big.list@testdomain.nu
accountStatus: active
mailMessageStore: /vmail/big.list/Maildir/
""" + "".join("mailForwardingAddress: member%04d@example.org\n" % i
              for i in range(BIG_N))

# The forwarding profile: aliases are mailForwardingAddress (qmail-ldap),
# a catch-all on both address maps, mailHost as the transport.
FORWARD_MAPS = """
[map domain]
base = $domain_base
filter = (objectClass=domainRelatedObject)
key = associatedDomain
result = associatedDomain
kind = domain

[map alias]
filter = (&(|(accountStatus=active)(accountStatus=shared))(mailForwardingAddress=*))
key = mail mailAlternateAddress
result = mailForwardingAddress
catchall = yes

[map mailbox]
filter = (|(accountStatus=active)(accountStatus=shared))
key = mail mailAlternateAddress
result = mailMessageStore
single = yes
catchall = yes

[map transport]
filter = (&(accountStatus=active)(mailHost=*))
key = mail mailAlternateAddress
result = mailHost
format = smtp:[%s]
"""

S = {}


def fixture_accounts():
    """[(address, mail, store, dn, shared)] for every receiving address of
    the fixture, from the LDIF (DNs as slapd sends them back)."""
    with open(t.fixture_path()) as f:
        entries = t.parse_ldif(f.read())
    out = []
    for e in entries:
        status = (e.first("accountStatus") or "").lower()
        if status not in ("active", "shared"):
            continue
        dn = re.sub(r",\s+", ",", e.dn)
        mail = e.first("mail")
        for a in e.get("mail", []) + e.get("mailAlternateAddress", []):
            out.append((a, mail, e.first("mailMessageStore"), dn,
                        status == "shared", e.first("uid")))
    return out


def norm(text, cache):
    text = re.sub(r"(?m)^  age: \d+ s$", "  age: N s", text)
    return text.replace(cache + "/", "CACHE/")


def route(conf, *args):
    return t.run([t.LOOKUPD, "-c", conf, "route"] + list(args), timeout=60)


def found(map, asked, summary, key, answer, dn, notes=(), source="snapshot"):
    return ["%s %s: %s" % (map, asked, summary),
            "  key: " + key, "  result: found", "  answer: " + answer,
            "  source: " + source, "  snapshot: CACHE/%s.cdb" % map,
            "  age: N s", "  dn: " + dn] + ["  note: " + n for n in notes]


def missed(map, asked, summary="not found", source="live"):
    return ["%s %s: %s" % (map, asked, summary), "  result: notfound",
            "  source: " + source, "  snapshot: CACHE/%s.cdb" % map,
            "  age: N s"]


def domain_lines(dom):
    dn = DOM_NL if dom.endswith(".nl") else DOM_NU
    return found("domain", dom, "accepted", dom, dom, dn)


def link_state(link, target):
    if os.path.islink(link):
        got = os.readlink(link)
        return "present" if got == target else "wrong: a link to " + got
    if os.path.lexists(link):
        return "wrong: not a symbolic link (mail stays there, out of the " \
               "shared folder)"
    return "missing (until ldap-maildirmake makes it, virtual(8) would " \
           "make a plain maildir there)"


def shared_lines(rcpt, store, uid, base="/vmail"):
    link = store.rstrip("/")
    prefix = base + "/shared/"
    smd = base + "/shared.maildirs/" + link[len(prefix):].rsplit("/", 1)[0]
    target = smd + "/." + uid
    return ["shared %s: shared folder %s of the shared maildir %s" % (
        rcpt, uid, smd),
        "  link: " + link, "  shared_maildir: " + smd, "  folder: " + uid,
        "  target: " + target, "  on_disk: " + link_state(link, target)], \
        target


def expected_fixture(addr, mail, store, dn, shared, uid):
    dom = addr.rsplit("@", 1)[1]
    self_note = " (itself: final)"
    lines = ["address: " + addr] + domain_lines(dom)
    lines += found("alias", addr, mail + (self_note if addr == mail
                                           else ""), addr.lower(), mail, dn)
    lines.append("recipient %s: accepted (in the alias map)" % addr)
    if addr != mail:
        lines += found("alias", mail, mail + self_note, mail, mail, dn)
    lines += found("mailbox", mail, store, mail, store, dn)
    how = "virtual(8) into " + store
    if shared:
        sl, target = shared_lines(mail, store, uid)
        lines += sl
        how += ", a link to " + target
    lines += ["delivery %s: %s" % (mail, how), "  agent: virtual",
              "  mailbox: " + store, "verdict: deliverable"]
    return lines


def json_as_text(j):
    """The text format rebuilt from the JSON output: the same facts."""
    lines = ["address: " + j["address"]]
    for st in j["steps"]:
        head = "%s %s" % (st["step"], st["subject"])
        if st["summary"] is not None:
            head += ": " + st["summary"]
        lines.append(head)
        for k, v in st.items():
            if k in ("step", "subject", "summary"):
                continue
            if v is None:
                lines.append("  %s: (snapshot: DN not recorded)" % k)
            elif isinstance(v, list):
                lines += ["  %s: %s" % (k, x) for x in v]
            elif isinstance(v, int):
                lines.append("  %s: %d s" % (k, v))
            else:
                lines.append("  %s: %s" % (k, v))
    lines.append("verdict: " + j["verdict"])
    if j["reason"] is not None:
        lines.append("reason: " + j["reason"])
    return lines


def check(conf, cache, addr, want_rc, want_lines, name):
    r = route(conf, addr)
    t.eq(r.rc, want_rc, "%s: exit %d" % (name, want_rc), r.why())
    got = norm(r.out, cache).splitlines()
    if not t.eq(got, want_lines, "%s: the lines" % name):
        for a, b in zip(got, want_lines):
            if a != b:
                t.note("first difference: got %r, want %r" % (a, b))
                break
    return r


@t.test
def setup():
    s = t.Slapd().start()
    s.add(INACTIVE)
    s.add(LOOP)
    s.add(BIG)
    d = t.tmpdir()
    base = os.path.join(d, "vmail")
    os.makedirs(os.path.join(base, "shared.maildirs", "news"))
    s.add("""dn: cn=Weekly News,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: Weekly News
sn: News
uid: incoming
mail: news@mydomain.nl
accountStatus: shared
mailMessageStore: %s/shared/news/incoming/
""" % base)
    conf = os.path.join(d, "builtin.conf")
    with open(conf, "w") as f:
        f.write(t.lookupd_config(s, d))
    # The same maps and snapshots, with a mail_base of the test's own.
    private = os.path.join(d, "private.conf")
    with open(private, "w") as f:
        f.write(t.lookupd_config(s, d, mail_base=base))
    fwd_dir = os.path.join(d, "fwd")
    os.makedirs(fwd_dir)
    fwd = os.path.join(fwd_dir, "forward.conf")
    with open(fwd, "w") as f:
        f.write(t.lookupd_config(s, fwd_dir, extra=FORWARD_MAPS))
    for c in (conf, fwd):
        r = t.run([t.LOOKUPD, "-c", c, "sync"])
        t.eq(r.rc, 0, "sync %s" % os.path.basename(c), r.why())
    S.update(slapd=s, dir=d, conf=conf, cache=os.path.join(d, "cache"),
             fwd=fwd, fwd_cache=os.path.join(fwd_dir, "cache"), base=base,
             private=private)


@t.test
def every_fixture_address():
    accounts = fixture_accounts()
    t.eq(len(accounts), 6, "the fixture has 6 receiving addresses")
    for a in accounts:
        check(S["conf"], S["cache"], a[0], 0, expected_fixture(*a), a[0])


@t.test
def extension_and_case():
    dn = "cn=Albert Onestone,ou=Tokelau,o=company"
    mail = "albert.onestone@anotherdomain.nu"
    ext = "albert.onestone+News@anotherdomain.nu"
    store = "/vmail/albert.onestone/Maildir/"
    note = ["found without the address extension"]
    want = ["address: AO+News@AnotherDomain.NU"] + \
        domain_lines("anotherdomain.nu")
    want += found("alias", "AO+News@AnotherDomain.NU", ext,
                  "ao@anotherdomain.nu", ext, dn, note)
    want.append("recipient AO+News@AnotherDomain.NU: accepted (in the "
                "alias map)")
    want += found("alias", ext, ext + " (itself: final)", mail, ext, dn,
                  note)
    want += found("mailbox", ext, store, mail, store, dn, note)
    want += ["delivery %s: virtual(8) into %s" % (ext, store),
             "  agent: virtual", "  mailbox: " + store,
             "verdict: deliverable"]
    check(S["conf"], S["cache"], "AO+News@AnotherDomain.NU", 0, want,
          "extension and mixed case")


@t.test
def unknown_address_domain_inactive():
    for addr in ("nobody@anotherdomain.nu", "old.timer@anotherdomain.nu",
                 "ot@anotherdomain.nu"):
        want = ["address: " + addr] + domain_lines("anotherdomain.nu") + \
            missed("alias", addr) + missed("mailbox", addr) + [
                "recipient %s: rejected: in neither the alias nor the "
                "mailbox map" % addr,
                "verdict: rejected",
                "reason: 550 5.1.1 <%s>: Recipient address rejected: User "
                "unknown in virtual mailbox table" % addr]
        check(S["conf"], S["cache"], addr, 1, want, addr)
    addr = "albert.onestone@example.org"
    want = ["address: " + addr] + missed("domain", "example.org",
                                         "not accepted") + [
        "verdict: rejected",
        "reason: 454 4.7.1 <%s>: Relay access denied (example.org is not "
        "a domain of this system; 554 5.7.1 with reject_unauth_destination)"
        % addr]
    check(S["conf"], S["cache"], addr, 1, want, "unknown domain")


@t.test
def alias_loop():
    one, two = "loop.one@testdomain.nu", "loop.two@testdomain.nu"
    d1, d2 = "cn=Loop One,ou=Tokelau,o=company", \
        "cn=Loop Two,ou=Tokelau,o=company"
    want = ["address: " + one] + domain_lines("testdomain.nu")
    want += found("alias", one, two, one, two, d1)
    want.append("recipient %s: accepted (in the alias map)" % one)
    want += found("alias", two, "LOOP.ONE@testdomain.nu", two,
                  "LOOP.ONE@testdomain.nu", d2)
    want += ["loop %s: %s -> %s -> LOOP.ONE@testdomain.nu" % (one, one, two),
             "verdict: undeliverable",
             "reason: alias loop through LOOP.ONE@testdomain.nu: Postfix "
             "follows it up to virtual_alias_recursion_limit (1000) and "
             "answers \"451 4.6.0 Alias expansion error\"; the sender's "
             "server retries, then returns the mail"]
    check(S["fwd"], S["fwd_cache"], one, 1, want, "alias loop")


@t.test
def expansion_limit():
    r = route(S["fwd"], "big.list@testdomain.nu")
    t.eq(r.rc, 1, "1001 forwarding addresses: exit 1", r.why())
    t.ok("limit big.list@testdomain.nu: more than 1000 addresses "
         "(virtual_alias_expansion_limit)\n" in r.out,
         "the expansion limit is named", r.out[-500:])
    t.ok(r.out.endswith(
        "verdict: undeliverable\nreason: 451 4.6.0 Alias expansion error: "
        "unreasonable virtual_alias_maps map expansion size for "
        "big.list@testdomain.nu\n"), "Postfix's answer", r.out[-300:])


@t.test
def catchall_transport_mailbox_only():
    fwd, cache = S["fwd"], S["fwd_cache"]
    addr = "anyone@catch.test"
    dn = "cn=Catch All,ou=Tokelau,o=company"
    store = "/vmail/catch.all/Maildir/"
    note = ["catch-all: the address itself is not in the map, its "
            "domain is"]
    want = ["address: " + addr] + found(
        "domain", "catch.test", "accepted", "catch.test", "catch.test",
        "dc=test,ou=postfix,ou=System,o=company")
    want += missed("alias", addr)
    want += found("mailbox", addr, store, "@catch.test", store, dn, note)
    want.append("recipient %s: accepted (in the mailbox map)" % addr)
    # Postfix asks a socketmap transport table the address only.
    want += missed("transport", addr)
    want += ["delivery %s: virtual(8) into %s" % (addr, store),
             "  agent: virtual", "  mailbox: " + store,
             "verdict: deliverable"]
    check(fwd, cache, addr, 0, want, "catch-all")

    addr = "far.away@testdomain.nu"
    dn = "cn=Far Away,ou=Tokelau,o=company"
    want = ["address: " + addr] + domain_lines("testdomain.nu")
    want += missed("alias", addr)
    want += found("mailbox", addr, "/vmail/far.away/Maildir/", addr,
                  "/vmail/far.away/Maildir/", dn)
    want.append("recipient %s: accepted (in the mailbox map)" % addr)
    want += found("transport", addr, "smtp:[mx.inside.test]", addr,
                  "smtp:[mx.inside.test]", dn)
    want += ["delivery %s: smtp:[mx.inside.test] (transport map)" % addr,
             "  agent: smtp:[mx.inside.test]", "verdict: deliverable"]
    check(fwd, cache, addr, 0, want, "transport map")


@t.test
def added_after_the_snapshot():
    S["slapd"].add("""dn: cn=New Person,ou=Tokelau,o=company
objectClass: inetOrgPerson
objectClass: qmailUser
cn: New Person
sn: Person
uid: newp
mail: new.person@testdomain.nu
accountStatus: active
mailMessageStore: /vmail/new.person/Maildir/
""")
    addr = "new.person@testdomain.nu"
    dn = "cn=New Person,ou=Tokelau,o=company"
    store = "/vmail/new.person/Maildir/"
    want = ["address: " + addr] + domain_lines("testdomain.nu")
    want += found("alias", addr, addr + " (itself: final)", addr, addr, dn,
                  source="live")
    want.append("recipient %s: accepted (in the alias map)" % addr)
    want += found("mailbox", addr, store, addr, store, dn, source="live")
    want += ["delivery %s: virtual(8) into %s" % (addr, store),
             "  agent: virtual", "  mailbox: " + store,
             "  note: not in the mailbox snapshot yet: virtual(8) reads "
             "only the cdb file and defers the mail until the next "
             "snapshot", "verdict: deliverable"]
    check(S["conf"], S["cache"], addr, 0, want, "a live find")


@t.test
def shared_folder_link_on_disk():
    base = S["base"]
    store = base + "/shared/news/incoming/"
    link = store.rstrip("/")
    target = base + "/shared.maildirs/news/.incoming"

    def shared_part():
        r = route(S["private"], "news@mydomain.nl")
        t.eq(r.rc, 0, "shared folder under mail_base: exit 0", r.why())
        return [ln for ln in r.out.splitlines()
                if ln.startswith("  on_disk: ") or
                ln.startswith("shared ") or ln.startswith("delivery ")]

    want_head = "shared news@mydomain.nl: shared folder incoming of the " \
        "shared maildir %s/shared.maildirs/news" % base
    want_delivery = "delivery news@mydomain.nl: virtual(8) into %s, a " \
        "link to %s" % (store, target)
    t.eq(shared_part(), [want_head, "  on_disk: missing (until "
                         "ldap-maildirmake makes it, virtual(8) would make a "
                         "plain maildir there)", want_delivery],
         "the link is missing")
    os.makedirs(os.path.dirname(link))
    os.symlink(target, link)
    t.eq(shared_part(), [want_head, "  on_disk: present", want_delivery],
         "the link is present")
    os.unlink(link)
    os.symlink("/elsewhere", link)
    t.eq(shared_part()[1], "  on_disk: wrong: a link to /elsewhere",
         "the link points elsewhere")
    os.unlink(link)
    os.mkdir(link)
    t.eq(shared_part()[1], "  on_disk: wrong: not a symbolic link (mail "
         "stays there, out of the shared folder)", "a directory in the way")


@t.test
def json_output():
    addrs = [a[0] for a in fixture_accounts()] + [
        "nobody@anotherdomain.nu", "x@example.org", "ao+x@anotherdomain.nu"]
    for addr in addrs:
        r = route(S["conf"], addr, "-j")
        text = route(S["conf"], addr)
        try:
            j = json.loads(r.out)
        except ValueError as e:
            t.ok(False, "-j %s: json.loads" % addr, "%s: %r" % (e, r.out))
            continue
        t.eq(r.rc, text.rc, "-j %s: the same exit status" % addr)
        t.eq(norm("\n".join(json_as_text(j)) + "\n", S["cache"]),
             norm(text.out, S["cache"]),
             "-j %s: the same facts as the text" % addr)
    r = route(S["fwd"], "-j", "loop.one@testdomain.nu")
    j = json.loads(r.out)
    t.eq((r.rc, j["verdict"], [s["step"] for s in j["steps"]]),
         (1, "undeliverable", ["domain", "alias", "recipient", "alias",
                               "loop"]), "-j loop: steps and verdict")
    r = route(S["conf"], "timetravel@anotherdomain.nu", "-j")
    sh = [s for s in json.loads(r.out)["steps"] if s["step"] == "shared"]
    t.eq([(s["link"], s["shared_maildir"], s["folder"], s["target"])
          for s in sh],
         [("/vmail/shared/timetravel.weekly/incoming",
           "/vmail/shared.maildirs/timetravel.weekly", "incoming",
           "/vmail/shared.maildirs/timetravel.weekly/.incoming")],
         "-j shared folder: link, shared maildir, folder, target")


@t.test
def usage_errors():
    for args in ([], ["a@b", "c@d"], ["-x", "a@b"], ["nodomain"], ["x@"],
                 ["@example.org"], ["a\nb@example.org"]):
        r = route(S["conf"], *args)
        t.eq((r.rc, r.out), (2, ""), "route %r: usage, exit 2" % args)
    r = t.run([t.LOOKUPD, "-c", os.path.join(S["dir"], "nonexistent.conf"),
               "route", "a@b.c"])
    t.eq(r.rc, 2, "route with a missing config: exit 2", r.why())


@t.test
def ldap_down():
    S["slapd"].stop()
    mail = "albert.onestone@anotherdomain.nu"
    dn_lines_re = re.compile(r"(?m)^  dn: .*$")
    r = route(S["conf"], mail)
    t.eq(r.rc, 0, "LDAP down, known address: exit 0 from the snapshot",
         r.why())
    dns = dn_lines_re.findall(r.out)
    t.ok(len(dns) == 3 and all(d == "  dn: (snapshot: DN not recorded)"
                               for d in dns),
         "every DN is \"(snapshot: DN not recorded)\"", dns)
    t.ok("\nverdict: deliverable\n" in r.out, "verdict deliverable", r.out)
    r = route(S["conf"], "nobody@anotherdomain.nu")
    t.eq(r.rc, 2, "LDAP down, unknown address: exit 2", r.why())
    t.ok("\nverdict: unknown\n" in r.out and
         "needs LDAP, which could not be asked" in r.out,
         "verdict unknown, LDAP named", r.out[-400:])
    r = route(S["conf"], "someone@example.org")
    t.eq(r.rc, 2, "LDAP down, a domain the snapshot lacks: exit 2",
         r.why())
    r = route(S["conf"], "timetravel@anotherdomain.nu", "-j")
    j = json.loads(r.out)
    sh = [s for s in j["steps"] if s["step"] == "shared"][0]
    t.eq((r.rc, sh["folder"]), (0, "unknown: LDAP could not be asked for "
                                   "the entry's uid"),
         "LDAP down, shared folder: deliverable, the uid unknown")
    t.ok(all(s.get("dn", "x") is None for s in j["steps"]
             if s.get("result") == "found"), "-j: dn null from the snapshot")
    S["slapd"].start()


@t.test
def postfix_agrees():
    """The verdicts against a real Postfix (tests/lib/e2e_mail.py: the
    shipped main.cf and master.cf fragments, the shipped ldapmail.conf,
    maildirs made by ldap-maildirmake): what route says smtpd answers, it
    answers, word for word; where route says the mail goes, it arrives."""
    import e2e_mail as e
    m = e.MailSystem().start()
    base = m.vmail
    cases = ["albert.onestone@anotherdomain.nu", "ao+news@anotherdomain.nu",
             "S.O.9@AnotherDomain.NU", "timetravel@anotherdomain.nu",
             "nobody@anotherdomain.nu", e.INACTIVE_MAIL,
             "someone@example.org"]
    for addr in cases:
        r = route(m.conf, addr)
        sent = m.send(addr)
        code, text = sent.rcpts[addr]
        reason = [ln[len("reason: "):] for ln in r.out.splitlines()
                  if ln.startswith("reason: ")]
        if r.rc == 0:
            t.eq(code, 250, "%s: route deliverable, smtpd accepts" % addr,
                 "%s %s" % (code, text))
            boxes = [ln[len("  mailbox: "):] for ln in r.out.splitlines()
                     if ln.startswith("  mailbox: ")]
            t.eq(len(boxes), 1, "%s: one mailbox" % addr, r.out)
            if len(boxes) == 1:
                got = m.wait_delivered(sent, boxes[0].rstrip("/"))
                t.ok(got, "%s: delivered into %s, as route says" % (
                    addr, boxes[0]), m.postfix.log()[-800:])
            if "\nshared " in r.out:
                t.ok("  on_disk: present\n" in r.out, "%s: the delivery "
                     "link ldap-maildirmake made is present" % addr, r.out)
                t.ok(m.wait_delivered(sent, m.shared_incoming),
                     "%s: the mail is in the shared folder %s" % (
                         addr, m.shared_incoming))
        else:
            t.eq(r.rc, 1, "%s: route exit 1" % addr, r.why())
            t.ok(len(reason) == 1 and
                 reason[0].startswith("%d %s" % (code, text)),
                 "%s: route's reason is smtpd's reply" % addr,
                 "route %r, smtpd %d %s" % (reason, code, text))
    m.stop()


if __name__ == "__main__":
    t.main()
