#!/usr/bin/env python3
"""test_maildirmake_options: the ldapmail.conf(5) parameters of shared
folders set to other values than their defaults, read alike by
ldap-maildirmake, lookupd lint and lookupd route; and ldap-maildirmake -v.

The howto's directory with its paths moved under a temporary mail_base
and its shared entry under <mail_base>/pub/ instead of shared/:
- shared_dir = pub, shared_maildirs_dir = pub.maildirs: ldap-maildirmake
  builds the tree Courier's maildirmake builds when driven with those
  names (mdm_util.courier_reference), name for name, mode and link
  target; nothing named shared or shared.maildirs appears; with the
  defaults the shared entry is refused (exit 1, its DN on stderr) and
  the active accounts are still built;
- lookupd lint is clean with shared_dir = pub and reports the entry with
  the default; lookupd route follows the shared folder's delivery link
  into pub.maildirs (the link made above, on_disk present);
- -v: a run over a complete tree reports every object already there
  ("unchanged: ...") and the time of each step on stderr, which a run
  without -v does not.
Runs as root (mail_owner: an unprivileged user, see mdm_util).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402
import mdm_util as m                                        # noqa: E402

D = t.tmpdir("ldapmail-mdmopt-")
BASE = os.path.join(D, "vmail")
REF = os.path.join(D, "ref")
SHARED = "cn=Timetravel weekly,ou=Tokelau,o=company"
PUB = "shared_dir = pub\nshared_maildirs_dir = pub.maildirs\n"
S = {}


def slapd():
    if "slapd" not in S:
        text = m.rewrite_fixture(BASE).replace(
            ": %s/shared/" % BASE, ": %s/pub/" % BASE)
        ldif = m.write(os.path.join(D, "pub.ldif"), text)
        S["slapd"] = t.Slapd(ldifs=[ldif]).start()
    return S["slapd"]


def conf(extra=""):
    return m.config(slapd(), D, BASE, extra=extra)


def names(root):
    return sorted(os.path.relpath(os.path.join(d, n), root)
                  for d, ds, fs in os.walk(root) for n in ds + fs)


@t.test
def setup():
    if os.geteuid() != 0:
        t.skip("setup", "needs root (maildirs owned by mail_owner)")
        sys.exit(0)
    os.makedirs(BASE)
    t.ok(slapd().alive(), "slapd with the howto's directory under pub/")


@t.test
def shared_dir_and_shared_maildirs_dir():
    m.clear(BASE)
    m.courier_reference(m.read_entries(slapd(), t.ACCOUNT_BASE), BASE,
                        shared_dir="pub", shared_maildirs_dir="pub.maildirs")
    want = m.snapshot(BASE)
    os.rename(BASE, REF)
    os.makedirs(BASE)
    r = m.run(conf(PUB))
    t.eq(r.rc, 0, "shared_dir = pub: exit 0", r.why())
    got = m.snapshot(BASE)
    t.ok(got == want, "the tree equals Courier's with pub and pub.maildirs "
         "(names, types, modes, link targets, shared-maildirs bytes)",
         lambda: "; ".join(m.diff(got, want)))
    t.ok(os.path.islink(os.path.join(BASE, "pub", "timetravel.weekly",
                                     "incoming")) and
         os.path.isdir(os.path.join(BASE, "pub.maildirs",
                                    "timetravel.weekly", ".incoming")),
         "the delivery link under pub/, the shared maildir under "
         "pub.maildirs/")
    t.eq([n for n in names(BASE) if n.split("/")[0] in
          ("shared", "shared.maildirs")], [],
         "nothing named shared or shared.maildirs")

    m.clear(BASE)
    r = m.run(conf())
    t.eq(r.rc, 1, "the defaults (shared_dir = shared): exit 1", r.why())
    t.ok(SHARED.split(",")[0] in r.err and "shared" in r.err,
         "the shared entry is refused, named on stderr", r.err[-400:])
    t.ok(os.path.isdir(os.path.join(BASE, "albert.onestone", "Maildir",
                                    "new")) and
         not os.path.exists(os.path.join(BASE, "pub")),
         "the active accounts are built, nothing of the shared entry")


def lookupd_conf(extra=""):
    d = t.tmpdir()
    path = os.path.join(d, "ldapmail.conf")
    t.write(path, t.lookupd_config(slapd(), d, mail_base=BASE) + extra)
    return path


@t.test
def lint_and_route_read_them_too():
    m.clear(BASE)
    r = m.run(conf(PUB))
    t.eq(r.rc, 0, "the tree with pub/ is made", r.why())
    # Global parameters come before the map sections (none here).
    pub = lookupd_conf(PUB)
    r = t.run([t.LOOKUPD, "-c", pub, "lint"])
    t.eq((r.rc, r.out), (0, ""), "lint, shared_dir = pub: no problem",
         r.why())
    r = t.run([t.LOOKUPD, "-c", lookupd_conf(), "lint"])
    t.ok(r.rc == 1 and SHARED.split(",")[0] in r.out and
         "/shared/" in r.out, "lint, the default: the shared entry's store "
         "is not below mail_base/shared/", r.why())
    t.eq(t.run([t.LOOKUPD, "-c", pub, "sync"]).rc, 0, "sync")
    r = t.run([t.LOOKUPD, "-c", pub, "route", "timetravel@anotherdomain.nu"])
    link = os.path.join(BASE, "pub", "timetravel.weekly", "incoming")
    smd = os.path.join(BASE, "pub.maildirs", "timetravel.weekly")
    for line in ("  link: " + link, "  shared_maildir: " + smd,
                 "  target: " + smd + "/.incoming", "  on_disk: present",
                 "verdict: deliverable"):
        t.ok(r.rc == 0 and line in r.out.splitlines(),
             "route, shared_dir = pub: %r" % line, r.why())


@t.test
def verbose_reports_what_is_there():
    m.clear(BASE)
    c = conf(PUB)
    t.eq(m.run(c, "-q").rc, 0, "first run")
    r = m.run(c)
    t.ok(r.rc == 0 and "unchanged" not in r.err and "read " not in r.err,
         "without -v: nothing about what is there", r.why())
    r = m.run(c, "-v")
    box = os.path.join(BASE, "albert.onestone", "Maildir")
    t.ok(r.rc == 0 and any(ln.endswith(("unchanged: maildir " + box,
                                        "unchanged: maildir " + box + "/"))
                           for ln in r.err.splitlines()),
         "-v: an existing maildir is reported unchanged", r.why())
    n = sum(1 for ln in r.err.splitlines() if "unchanged: " in ln)
    t.eq(n, 14, "-v: each of the 14 objects is reported")
    t.ok("read 3 entries" in r.err and " ms" in r.err,
         "-v: and the time each step took", r.err[-400:])


if __name__ == "__main__":
    t.main()
