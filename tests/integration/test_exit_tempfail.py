#!/usr/bin/env python3
"""test_exit_tempfail: the one rule for temporary failures (exitcode.h).

Every command keeps the SPEC's status by default; with --tempfail (before
the command) a temporary failure exits 75 (EX_TEMPFAIL) instead, and a
permanent one keeps its status.  Temporary: what LDAP answers "try later"
(ldapconn's TEMP, which lookupd answers Postfix as TEMP): unreachable (an
ldap_uri where nothing listens), a refused bind; the daemon not
answering; the run lock of ldap-maildirmake held.  Permanent: a
configuration that cannot work (tls = ldaps with an ldap:// URI), an
unknown map, no socketmap_listen for stats, an address Postfix rejects.

- lookupd sync, check, lint: 1 / 75 (lint 2 / 75) unreachable and with a
  wrong password; 1 / 1 (lint 2 / 2) when the configuration cannot work;
- lookupd query --direct: 2 / 75 unreachable; 2 / 2 unknown map;
- lookupd query, stats with no daemon: 2 / 75; stats without
  socketmap_listen: 2 / 2;
- lookupd route: 2 / 75 for an address that needs LDAP; 0 / 0 for one
  the snapshot answers; 1 / 1 for an unknown domain (LDAP up);
- lookupd verify: 2 / 75 unreachable and with a wrong password; 2 / 2
  when the configuration cannot work; 0 / 0 all well;
- --tempfail anywhere among the options; a usage error stays 2;
- ldap-maildirmake: 2 / 75 unreachable, with a wrong password and with
  the lock held; 2 / 2 when the configuration cannot work; 0 with
  --tempfail when all is well.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
import mdm_util as m       # noqa: E402

S = {}


def lookupd_conf(name, **params):
    d = os.path.join(S["dir"], name)
    os.makedirs(d, exist_ok=True)
    params.setdefault("cache_dir", S["cache"])
    params.setdefault("ldap_timeout", 2)
    path = os.path.join(d, "ldapmail.conf")
    with open(path, "w") as f:
        f.write(t.lookupd_config(S["slapd"], d, **params))
    return path


def both(conf, *args):
    """(status without --tempfail, status with it) of lookupd ARGS."""
    r1 = t.run([t.LOOKUPD, "-c", conf] + list(args), timeout=60)
    r2 = t.run([t.LOOKUPD, "--tempfail", "-c", conf] + list(args),
               timeout=60)
    return (r1.rc, r2.rc)


@t.test
def setup():
    S["slapd"] = t.Slapd().start()
    S["dir"] = t.tmpdir()
    S["cache"] = os.path.join(S["dir"], "cache")
    S["up"] = lookupd_conf("up")
    r = t.run([t.LOOKUPD, "-c", S["up"], "sync"])
    t.eq(r.rc, 0, "sync", r.why())
    S["dead"] = lookupd_conf("dead", ldap_uri="ldap://127.0.0.1:%d/" %
                             t.free_port())
    wrong = os.path.join(S["dir"], "wrongpw")
    fd = os.open(wrong, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, b"not the password\n")
    os.close(fd)
    S["wrongpw"] = wrong
    S["badpw"] = lookupd_conf("badpw", bind_pw_file=wrong)
    S["notls"] = lookupd_conf("notls", tls="ldaps")


@t.test
def sync_and_check():
    t.eq(both(S["dead"], "sync"), (1, 75), "sync, LDAP unreachable: 1 / 75")
    t.eq(both(S["badpw"], "sync"), (1, 75), "sync, wrong password: 1 / 75")
    t.eq(both(S["notls"], "sync"), (1, 1),
         "sync, a configuration that cannot work: 1 / 1")
    t.eq(both(S["dead"], "check"), (1, 75),
         "check, LDAP unreachable: 1 / 75")
    t.eq(both(S["badpw"], "check"), (1, 75),
         "check, wrong password: 1 / 75")
    t.eq(both(S["notls"], "check"), (1, 1),
         "check, a configuration that cannot work: 1 / 1")
    t.eq(both(S["up"], "check"), (0, 0), "check, all well: 0 / 0")


@t.test
def query_and_stats():
    key = "albert.onestone@anotherdomain.nu"
    t.eq(both(S["dead"], "query", "--direct", "alias", key), (2, 75),
         "query --direct, LDAP unreachable: 2 / 75")
    t.eq(both(S["up"], "query", "--direct", "nosuchmap", key), (2, 2),
         "query --direct, unknown map: 2 / 2")
    t.eq(both(S["up"], "query", "--direct", "alias", "nobody@x.test"),
         (1, 1), "query --direct, not found: 1 / 1")
    t.eq(both(S["up"], "query", "alias", key), (2, 75),
         "query, no daemon: 2 / 75")
    t.eq(both(S["up"], "stats"), (2, 75), "stats, no daemon: 2 / 75")
    nolisten = lookupd_conf("nolisten", socketmap_listen=None,
                            tcp_listen="alias=inet:127.0.0.1:%d" %
                            t.free_port())
    t.eq(both(nolisten, "stats"), (2, 2),
         "stats without socketmap_listen: 2 / 2")


@t.test
def lint():
    t.eq(both(S["dead"], "lint"), (2, 75), "lint, LDAP unreachable: 2 / 75")
    t.eq(both(S["badpw"], "lint"), (2, 75), "lint, wrong password: 2 / 75")
    t.eq(both(S["notls"], "lint"), (2, 2),
         "lint, a configuration that cannot work: 2 / 2")


@t.test
def route():
    t.eq(both(S["dead"], "route", "nobody@anotherdomain.nu"), (2, 75),
         "route, needs LDAP, unreachable: 2 / 75")
    t.eq(both(S["dead"], "route", "albert.onestone@anotherdomain.nu"),
         (0, 0), "route, the snapshot answers: 0 / 0")
    t.eq(both(S["up"], "route", "someone@example.org"), (1, 1),
         "route, unknown domain: 1 / 1")


@t.test
def verify():
    t.eq(both(S["dead"], "verify", "alias"), (2, 75),
         "verify, LDAP unreachable: 2 / 75")
    t.eq(both(S["badpw"], "verify", "alias"), (2, 75),
         "verify, wrong password: 2 / 75")
    t.eq(both(S["notls"], "verify", "alias"), (2, 2),
         "verify, a configuration that cannot work: 2 / 2")
    t.eq(both(S["up"], "verify", "alias", "--rate", "0"), (0, 0),
         "verify, all well: 0 / 0")


@t.test
def options():
    r = t.run([t.LOOKUPD, "-c", S["dead"], "--tempfail", "sync"])
    t.eq(r.rc, 75, "--tempfail after -c", r.why())
    r = t.run([t.LOOKUPD, "--tempfail", "-c", S["up"], "nosuchcommand"])
    t.eq(r.rc, 2, "usage error with --tempfail: 2", r.why())
    r = t.run([t.LOOKUPD, "--help"])
    t.ok("--tempfail" in r.out, "--help names --tempfail", r.out)


@t.test
def maildirmake():
    base = os.path.join(S["dir"], "vmail")
    os.makedirs(base)
    mdir = os.path.join(S["dir"], "mdm")
    os.makedirs(mdir)
    # An account leaf without accounts: nothing to make, all well.
    up = m.config(S["slapd"], mdir, base, "ou=postfix," + t.SYSTEM_DN)
    dead = m.config(S["slapd"], mdir, base, uri="ldap://127.0.0.1:%d/" %
                    t.free_port())
    bad = m.write(os.path.join(mdir, "bad.conf"), open(up).read().replace(
        os.path.join(mdir, "bindpw"), S["wrongpw"]))
    notls = m.config(S["slapd"], mdir, base, extra="tls = ldaps\n")

    def mdm(conf, *args):
        return (m.run(conf, *args).rc, m.run(conf, "--tempfail", *args).rc)

    t.eq(mdm(dead), (2, 75), "ldap-maildirmake, LDAP unreachable: 2 / 75")
    t.eq(mdm(bad), (2, 75), "ldap-maildirmake, wrong password: 2 / 75")
    t.eq(mdm(notls), (2, 2),
         "ldap-maildirmake, a configuration that cannot work: 2 / 2")
    fd = m.hold_lock(base)
    try:
        t.eq(mdm(up), (2, 75), "ldap-maildirmake, lock held: 2 / 75")
    finally:
        os.close(fd)
    r = m.run(up, "--tempfail")
    t.eq(r.rc, 0, "ldap-maildirmake --tempfail, all well: 0", r.why())


if __name__ == "__main__":
    t.main()
