#!/usr/bin/env python3
"""test_route_profiles: `lookupd route` with `profile = jamm | ox | apple`
over the fixtures (tests/fixtures/jamm.ldif, ox.ldif, apple.ldif) in one
real slapd, each from the profile's snapshots (`lookupd sync` first):
exact lines for every step, the profile's maps and layout, not the
howto's names:

- jamm: an alias chain (abuse -> postmaster -> john) to an account, the
  transport map asked the address (as Postfix asks a socketmap table)
  answered by the domain's entry (catchall), its postfixTransport
  "virtual:" still virtual(8), the maildir
  `mailbox` relative to mail_base (virtual_mailbox_base = mail_base);
  a domain with smtp:[relay] leaves virtual(8) out; an inactive account
  is rejected (550), an account of an inactive domain is refused as
  relaying (454: the domain map does not answer for it), and route names
  the inactive JammVirtualDomain entry (not for a domain nobody holds);
- ox: an `alias` value -> the account -> <uid>/Maildir/ below mail_base;
  a colocRouteAddr user's mail goes where colocRouteAddr says (smtp(8));
  a disabled user (mailEnabled NONE) is rejected;
- apple: short names in every local_domains domain and one holding "@"
  (a virtual host) -> <first short name>/Maildir/; a Forward account goes
  to kAutoForwardValue; Off is rejected; a domain not in local_domains
  is refused as relaying.
These layouts have no shared folders (no shared step); -j gives the
delivery's path too.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402

D = t.tmpdir("ldapmail-routeprof-")
BASE = "/srv/vmail"
LOCAL = "example.org, mail.example.net"

PROFILES = {
    "jamm": ("o=hosting,o=company", "o=hosting,o=company"),
    "ox": ("ou=OX,o=company", None),
    "apple": ("cn=users,ou=Apple,o=company", None),
}
JAMM = ",o=hosting,o=company"
OX = ",ou=OX,o=company"
APPLE = ",cn=users,ou=Apple,o=company"
slapd = t.profiles_slapd    # the four fixtures, one slapd


_conf = {}


def conf(prof):
    """The profile's config, its snapshots made (lookupd sync)."""
    if prof not in _conf:
        d = os.path.join(D, prof)
        os.makedirs(d)
        acct, dom = PROFILES[prof]
        params = dict(profile=prof, account_base=acct, domain_base=dom,
                      mail_base=BASE)
        if prof == "apple":
            params["local_domains"] = LOCAL
        path = t.write(os.path.join(d, "ldapmail.conf"),
                       t.lookupd_config(slapd(), d, **params))
        r = t.run([t.LOOKUPD, "-c", path, "sync"], timeout=60)
        assert r.rc == 0, r.why()
        _conf[prof] = (path, os.path.join(d, "cache"))
    return _conf[prof]


CATCH = ["catch-all: the address itself is not in the map, its domain is"]


def found(map, asked, summary, key, answer, dns, notes=()):
    if isinstance(dns, str):
        dns = [dns]
    return ["%s %s: %s" % (map, asked, summary),
            "  key: " + key, "  result: found", "  answer: " + answer,
            "  source: snapshot", "  snapshot: CACHE/%s.cdb" % map,
            "  age: N s"] + ["  dn: " + dn for dn in dns] + \
        ["  note: " + n for n in notes]


def missed(map, asked, summary="not found"):
    return ["%s %s: %s" % (map, asked, summary), "  result: notfound",
            "  source: live", "  snapshot: CACHE/%s.cdb" % map,
            "  age: N s"]


def itself(map, addr, dn):
    return found(map, addr, addr + " (itself: final)", addr, addr, dn)


def to_virtual(addr, box, how=""):
    return ["delivery %s: virtual(8) into %s/%s%s" % (addr, BASE, box, how),
            "  agent: virtual", "  mailbox: " + box,
            "  path: %s/%s" % (BASE, box)]


def rejected(addr):
    return ["recipient %s: rejected: in neither the alias nor the mailbox "
            "map" % addr, "verdict: rejected",
            "reason: 550 5.1.1 <%s>: Recipient address rejected: User "
            "unknown in virtual mailbox table" % addr]


def relay_denied(addr, dom):
    return ["verdict: rejected",
            "reason: 454 4.7.1 <%s>: Relay access denied (%s is not a "
            "domain of this system; 554 5.7.1 with "
            "reject_unauth_destination)" % (addr, dom)]


def route(prof, addr, *args):
    path, cache = conf(prof)
    r = t.run([t.LOOKUPD, "-c", path, "route", addr] + list(args),
              timeout=60)
    out = re.sub(r"(?m)^  age: \d+ s$", "  age: N s", r.out)
    return r, out.replace(cache + "/", "CACHE/")


def check(prof, addr, rc, want):
    r, out = route(prof, addr)
    got = out.splitlines()
    t.eq(r.rc, rc, "%s: route %s: exit %d" % (prof, addr, rc), r.why())
    if not t.eq(got, ["address: " + addr] + want,
                "%s: route %s: the lines" % (prof, addr)):
        for a, b in zip(got, ["address: " + addr] + want):
            if a != b:
                t.note("first difference: got %r, want %r" % (a, b))
                break
    return out


JAMM_DOM = found("domain", "jamm.example", "accepted", "jamm.example",
                 "jamm.example", "jvd=jamm.example" + JAMM)


@t.test
def jamm_routes():
    john = "mail=john@jamm.example,jvd=jamm.example" + JAMM
    check("jamm", "abuse@jamm.example", 0, JAMM_DOM + found(
        "alias", "abuse@jamm.example", "postmaster@jamm.example",
        "abuse@jamm.example", "postmaster@jamm.example",
        "mail=abuse@jamm.example,jvd=jamm.example" + JAMM) +
        ["recipient abuse@jamm.example: accepted (in the alias map)"] +
        found("alias", "postmaster@jamm.example", "john@jamm.example",
              "postmaster@jamm.example", "john@jamm.example",
              "mail=postmaster@jamm.example,jvd=jamm.example" + JAMM) +
        itself("alias", "john@jamm.example", john) +
        found("transport", "john@jamm.example", "virtual:", "jamm.example",
              "virtual:", "jvd=jamm.example" + JAMM, CATCH) +
        found("mailbox", "john@jamm.example", "jamm.example/john/",
              "john@jamm.example", "jamm.example/john/", john) +
        to_virtual("john@jamm.example", "jamm.example/john/",
                   " (transport map: virtual:)") +
        ["verdict: deliverable"])
    hjohn = "mail=john@hosted.example,jvd=hosted.example" + JAMM
    check("jamm", "john@hosted.example", 0, found(
        "domain", "hosted.example", "accepted", "hosted.example",
        "hosted.example", "jvd=hosted.example" + JAMM) +
        itself("alias", "john@hosted.example", hjohn) +
        ["recipient john@hosted.example: accepted (in the alias map)"] +
        found("transport", "john@hosted.example",
              "smtp:[relay.hosted.example]", "hosted.example",
              "smtp:[relay.hosted.example]", "jvd=hosted.example" + JAMM,
              CATCH) +
        ["delivery john@hosted.example: smtp:[relay.hosted.example] "
         "(transport map)", "  agent: smtp:[relay.hosted.example]",
         "verdict: deliverable"])
    check("jamm", "old@jamm.example", 1, JAMM_DOM +
          missed("alias", "old@jamm.example") +
          missed("mailbox", "old@jamm.example") +
          rejected("old@jamm.example"))
    check("jamm", "john@gone.example", 1,
          missed("domain", "gone.example", "not accepted") +
          ["  note: jvd=gone.example%s holds it but is no active domain: "
           "its accounts and aliases get no mail" % JAMM] +
          relay_denied("john@gone.example", "gone.example"))
    check("jamm", "john@nowhere.example", 1,
          missed("domain", "nowhere.example", "not accepted") +
          relay_denied("john@nowhere.example", "nowhere.example"))


OX_DOM = found("domain", "ox.example.org", "accepted", "ox.example.org",
               "ox.example.org", ["uid=%s%s" % (u, OX)
                                  for u in ("alice", "bob", "eve")])


@t.test
def ox_routes():
    alice = "uid=alice" + OX
    check("ox", "a.smith@ox.example.org", 0, OX_DOM + found(
        "alias", "a.smith@ox.example.org", "alice@ox.example.org",
        "a.smith@ox.example.org", "alice@ox.example.org", alice) +
        ["recipient a.smith@ox.example.org: accepted (in the alias map)"] +
        itself("alias", "alice@ox.example.org", alice) +
        found("mailbox", "alice@ox.example.org", "alice/Maildir/",
              "alice@ox.example.org", "alice/Maildir/", alice) +
        to_virtual("alice@ox.example.org", "alice/Maildir/") +
        ["verdict: deliverable"])
    check("ox", "robert@ox.example.org", 0, OX_DOM + found(
        "alias", "robert@ox.example.org", "bob@store2.ox.example.org",
        "robert@ox.example.org", "bob@store2.ox.example.org", "uid=bob" + OX) +
        ["recipient robert@ox.example.org: accepted (in the alias map)"] +
        missed("alias", "bob@store2.ox.example.org") +
        missed("domain", "store2.ox.example.org", "not accepted") +
        ["delivery bob@store2.ox.example.org: smtp(8) to "
         "store2.ox.example.org (not a domain of this system)",
         "  agent: smtp", "verdict: deliverable"])
    check("ox", "carol@ox.example.org", 1, OX_DOM +
          missed("alias", "carol@ox.example.org") +
          missed("mailbox", "carol@ox.example.org") +
          rejected("carol@ox.example.org"))


def apple_dom(dom):
    return found("domain", dom, "accepted", dom, dom, [
        "uid=%s%s" % (u, APPLE) for u in (
            "jdoe", "fwd", "offuser", "tiny", "broken", "badstate",
            "nomail")])


@t.test
def apple_routes():
    jdoe = "uid=jdoe" + APPLE
    addr = "john.doe@mail.example.net"
    check("apple", addr, 0, apple_dom("mail.example.net") +
          itself("alias", addr, jdoe) +
          ["recipient %s: accepted (in the alias map)" % addr] +
          found("mailbox", addr, "jdoe/Maildir/", addr, "jdoe/Maildir/",
                jdoe) + to_virtual(addr, "jdoe/Maildir/") +
          ["verdict: deliverable"])
    sales = "uid=sales" + APPLE
    addr = "sales@virtual.example.com"
    check("apple", addr, 0, found(
        "domain", "virtual.example.com", "accepted", "virtual.example.com",
        "virtual.example.com", sales) + itself("alias", addr, sales) +
        ["recipient %s: accepted (in the alias map)" % addr] +
        found("mailbox", addr, "sales/Maildir/", addr, "sales/Maildir/",
              sales) + to_virtual(addr, "sales/Maildir/") +
        ["verdict: deliverable"])
    target = "fwd.target@elsewhere.example.net"
    check("apple", "fwd@example.org", 0, apple_dom("example.org") + found(
        "alias", "fwd@example.org", target, "fwd@example.org", target,
        "uid=fwd" + APPLE) +
        ["recipient fwd@example.org: accepted (in the alias map)"] +
        missed("alias", target) +
        missed("domain", "elsewhere.example.net", "not accepted") +
        ["delivery %s: smtp(8) to elsewhere.example.net (not a domain of "
         "this system)" % target, "  agent: smtp", "verdict: deliverable"])
    check("apple", "offuser@example.org", 1, apple_dom("example.org") +
          missed("alias", "offuser@example.org") +
          missed("mailbox", "offuser@example.org") +
          rejected("offuser@example.org"))
    check("apple", "jdoe@other.example", 1,
          missed("domain", "other.example", "not accepted") +
          relay_denied("jdoe@other.example", "other.example"))


@t.test
def json_has_the_same_facts():
    r, out = route("jamm", "abuse@jamm.example", "-j")
    j = json.loads(r.out)
    last = j["steps"][-1]
    t.eq((last["step"], last["agent"], last["mailbox"], last["path"],
          j["verdict"]),
         ("delivery", "virtual", "jamm.example/john/",
          BASE + "/jamm.example/john/", "deliverable"),
         "jamm: -j: the delivery step's agent, mailbox and path")


if __name__ == "__main__":
    t.main()
