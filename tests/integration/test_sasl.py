#!/usr/bin/env python3
"""test_sasl: SASL EXTERNAL binds of lookupd and ldap-maildirmake.

One private slapd (scripts/test-slapd, TLS with its test CA) holds the
howto's directory.  It maps, with authz-regexp, the peer credentials of
our uid over ldapi:// and the client certificate "cn=lookupd,o=ldapmail
test" over TLS to the system DN (the shipped slapd.conf.example's ldapi
line, filled in by test-slapd).  Checked, with no password anywhere in
the configurations:

- over ldapi://, with libsasl2's plugin directory empty (SASL_PATH: so
  EXTERNAL needs no libsasl2-modules): `lookupd check` names the mapped
  identity, `lookupd sync` writes a snapshot that Postfix's cdb: reads,
  `lookupd serve` answers Postfix's `postmap -q` (snapshot hits and a
  live find of an entry added afterwards), `query --direct` answers;
  ldap-maildirmake builds the tree, which a second run with a simple
  bind then finds complete;
- over StartTLS with a client certificate the test makes with the test
  CA: the same answers from lookupd, and ldap-maildirmake reads the same
  directory;
- a wrong mapping (a uid slapd does not map, a certificate it does not
  map): a clear error naming the identity, TEMP answers (never
  NOTFOUND), exit 2 for query --direct and ldap-maildirmake;
- sasl_authz_id is asked of the server: the mapped DN itself binds, an
  identity slapd does not let it act as (dn:, u:) is refused by slapd
  (Insufficient access), lookupd check says so and exits 1.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
import mdm_util as m       # noqa: E402

D = t.tmpdir("ldapmail-sasl-")
os.chmod(D, 0o755)             # the test user reaches the ldapi socket
BASE = os.path.join(D, "vmail")
NO_PLUGINS = os.path.join(D, "no-sasl-plugins")
os.makedirs(NO_PLUGINS)
ENV = {"SASL_PATH": NO_PLUGINS}

# Fixture answers (paths moved under BASE).
ANSWERS = [
    ("domain", "mydomain.nl", "mydomain.nl"),
    ("alias", "ao@anotherdomain.nu", "albert.onestone@anotherdomain.nu"),
    ("mailbox", "a.onestone@anotherdomain.nu",
     BASE + "/albert.onestone/Maildir/"),
]
NEWBIE = """dn: uid=newbie,ou=Tokelau,o=company
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: inetOrgPerson
objectClass: qmailUser
cn: New Bie
sn: Bie
uid: newbie
mail: newbie@anotherdomain.nu
accountStatus: active
mailMessageStore: %s/newbie/Maildir/
""" % BASE
_env = {}


def slapd():
    if "s" not in _env:
        ldif = m.write(os.path.join(D, "data.ldif"), m.rewrite_fixture(BASE))
        _env["s"] = t.Slapd(dir=os.path.join(D, "slapd"), ldifs=[ldif],
                            ldaps=True).start()
    return _env["s"]


def cert(cn):
    if cn not in _env:
        _env[cn] = slapd().client_cert(cn, dir=D)
    return _env[cn]


def lookupd_conf(name, **params):
    """A lookupd config in D/name/ with SASL EXTERNAL and no password."""
    d = os.path.join(D, name)
    os.makedirs(d)
    os.chmod(d, 0o755)
    text = t.lookupd_config(slapd(), d, bind_dn=None, bind_pw_file=None,
                            sasl_mech="EXTERNAL", ldap_timeout=3, **params)
    os.unlink(os.path.join(d, "bindpw"))     # made by lookupd_config
    return d, text


def tls_params(cn):
    c, k = cert(cn)
    return {"ldap_uri": slapd().uri, "tls": "starttls",
            "tls_ca_file": slapd().ca_file, "tls_cert_file": c,
            "tls_key_file": k}


def mdm_conf(name, extra):
    path = os.path.join(D, name + ".conf")
    uid, gid = m.default_owner()
    t.write(path, "ldap_timeout = 3\naccount_base = %s\ndomain_base = %s\n"
            "mail_base = %s\nmail_owner = %d:%d\nsasl_mech = EXTERNAL\n"
            "state_dir = %s\n%s" % (t.ACCOUNT_BASE, t.DOMAIN_BASE, BASE, uid,
                                    gid, m.state_dir(BASE), extra), 0o600)
    return path


def mdm_tls_conf(name, cn):
    c, k = cert(cn)
    return mdm_conf(name, "ldap_uri = %s\ntls = starttls\ntls_ca_file = %s\n"
                    "tls_cert_file = %s\ntls_key_file = %s\n" % (
                        slapd().uri, slapd().ca_file, c, k))


def mdm_changes(r):
    """ldap-maildirmake's change lines (its summary line left out)."""
    return [ln for ln in r.out.splitlines()
            if not ln.startswith("ldap-maildirmake:")]


def check_answers(lk, label):
    for map_, key, want in ANSWERS:
        t.eq(t.postmap_q(key, lk.table(map_)), (0, want),
             "%s: postmap -q %s on socketmap %s" % (label, key, map_))
    t.eq(t.postmap_q("nobody@anotherdomain.nu", lk.table("mailbox")),
         (1, ""), "%s: an unknown address is not found" % label)
    r = lk.cli("query", "--direct", "alias", "ao@anotherdomain.nu")
    t.eq((r.rc, r.out), (0, "albert.onestone@anotherdomain.nu\n"),
         "%s: query --direct asks LDAP itself" % label, r.why())


@t.test
def ldapi_lookupd_binds_with_peer_credentials():
    d, text = lookupd_conf("ldapi", ldap_uri=slapd().ldapi_uri)
    t.ok("bind" not in text and "pw" not in text,
         "ldapi: the configuration holds no bind DN and no password", text)
    lk = t.Lookupd(text, dir=d, env=ENV)
    r = lk.cli("check")
    t.ok(r.rc == 0 and "ldap: bound as dn:ou=system,o=company (SASL "
         "EXTERNAL)\n" in r.out and "map mailbox: 3 entries" in r.out,
         "ldapi: lookupd check binds as the mapped system DN, without "
         "libsasl2's plugins", r.why())
    r = t.run([t.LOOKUPD, "-c", lk.conf, "sync"], env=ENV)
    t.eq(r.rc, 0, "ldapi: lookupd sync", r.why())
    mb = "cdb:" + os.path.join(d, "cache", "mailbox")
    t.eq(t.postmap_q("a.onestone@anotherdomain.nu", mb),
         (0, BASE + "/albert.onestone/Maildir/"),
         "ldapi: the snapshot of sync answers Postfix's cdb: table")
    lk.start()
    check_answers(lk, "ldapi")
    slapd().add(NEWBIE)
    t.eq(t.postmap_q("newbie@anotherdomain.nu", lk.table("mailbox")),
         (0, BASE + "/newbie/Maildir/"),
         "ldapi: an entry added after the snapshot is found live")
    t.eq(lk.stop(), 0, "ldapi: lookupd exits 0 on SIGTERM")


@t.test
def ldapi_maildirmake_binds_with_peer_credentials():
    slapd()
    m.clear(BASE)
    conf = mdm_conf("mdm-ldapi", "ldap_uri = %s\n" % slapd().ldapi_uri)
    r = m.run(conf, env=ENV)
    t.eq(r.rc, 0, "ldapi: ldap-maildirmake with SASL EXTERNAL", r.why())
    uid, _ = m.default_owner()
    md = os.path.join(BASE, "albert.onestone", "Maildir")
    t.ok(all(os.path.isdir(os.path.join(md, s)) for s in ("cur", "new",
                                                           "tmp")) and
         os.stat(md).st_uid == uid,
         "ldapi: Albert's maildir made, owned by mail_owner")
    t.ok(os.path.isdir(os.path.join(BASE, "newbie", "Maildir", "new")),
         "ldapi: the entry added later has its maildir too")
    r = m.run(m.config(slapd(), D, BASE))
    t.ok(r.rc == 0 and mdm_changes(r) == [],
         "a simple bind then finds the tree complete: both read the same "
         "directory", r.why())


@t.test
def client_certificate_over_starttls():
    d, text = lookupd_conf("tls", **tls_params("lookupd"))
    lk = t.Lookupd(text, dir=d)
    r = lk.cli("check")
    t.ok(r.rc == 0 and "ldap: bound as dn:ou=system,o=company (SASL "
         "EXTERNAL)\n" in r.out,
         "StartTLS: lookupd check binds with the client certificate as "
         "the mapped system DN", r.why())
    lk.start()
    check_answers(lk, "StartTLS")
    lk.stop()
    r = m.run(mdm_tls_conf("mdm-tls", "lookupd"), "-n")
    t.ok(r.rc == 0 and mdm_changes(r) == [],
         "StartTLS: ldap-maildirmake binds with the certificate and reads "
         "the same directory (nothing left to do)", r.why())


@t.test
def unmapped_peer_credentials_fail_clearly():
    uid, gid, _ = t.test_user()
    d, text = lookupd_conf("unmapped", ldap_uri=slapd().ldapi_uri)
    conf = os.path.join(d, "ldapmail.conf")
    t.write(conf, text, 0o644)
    as_user = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid,
               "--clear-groups", "--", t.LOOKUPD, "-c", conf]
    want = ("ldapi://%s: SASL EXTERNAL bind as dn:gidNumber=%d+uidNumber="
            "%d,cn=peercred,cn=external,cn=auth, which cannot read "
            "account_base ou=Tokelau,o=company: slapd mapped it to no DN "
            "(authz-regexp)" % (
                os.path.join(slapd().dir, "ldapi"), gid, uid))
    r = t.run(as_user + ["query", "--direct", "mailbox",
                         "a.onestone@anotherdomain.nu"], env=t.user_san_env())
    t.ok(r.rc == 2 and r.out == "" and want in r.err,
         "unmapped uid: query --direct fails (exit 2), naming the "
         "identity and authz-regexp", r.why())
    r = t.run(as_user + ["check"], env=t.user_san_env())
    t.ok(r.rc == 1 and ("ldap: " + want + "\n") in r.out,
         "unmapped uid: lookupd check says why", r.why())
    t.eq(t.user_san_reports(), [], "no sanitizer report as the test user")


@t.test
def unmapped_certificate_answers_temp():
    d, text = lookupd_conf("stranger", **tls_params("stranger"))
    lk = t.Lookupd(text, dir=d).start()
    want = ("SASL EXTERNAL bind as dn:cn=stranger,o=ldapmail test, which "
            "cannot read account_base ou=Tokelau,o=company: wrong DN "
            "(authz-regexp) or ACLs?")
    reply = lk.query("mailbox", "a.onestone@anotherdomain.nu")
    t.ok(reply.startswith(b"TEMP ") and want.encode() in reply,
         "unmapped certificate: socketmap answers TEMP with the reason, "
         "never NOTFOUND", reply)
    reply = lk.query("alias", "nobody@anotherdomain.nu")
    t.ok(reply.startswith(b"TEMP "), "unmapped certificate: an unknown "
         "key is TEMP too (LDAP could not be asked)", reply)
    r = lk.cli("query", "--direct", "mailbox", "a.onestone@anotherdomain.nu")
    t.ok(r.rc == 2 and want in r.err, "unmapped certificate: query "
         "--direct exits 2 with the reason", r.why())
    t.ok(want in lk.errors(), "unmapped certificate: lookupd logs the "
         "reason", lk.errors()[-600:])
    lk.stop()
    m.clear(BASE)
    r = m.run(mdm_tls_conf("mdm-stranger", "stranger"))
    t.ok(r.rc == 2 and want in r.err and os.listdir(BASE) == [],
         "unmapped certificate: ldap-maildirmake exits 2, creates nothing",
         r.why())



@t.test
def sasl_authz_id_is_asked_of_the_server():
    for n, (authz, allowed) in enumerate((
            ("dn:ou=System,o=company", True),
            ("dn:cn=admin,o=company", False),
            ("u:nobody", False))):
        d, text = lookupd_conf("authz%d" % n, ldap_uri=slapd().ldapi_uri,
                               sasl_authz_id=authz)
        conf = os.path.join(d, "ldapmail.conf")
        t.write(conf, text, 0o600)
        r = t.run([t.LOOKUPD, "-c", conf, "check"])
        if allowed:
            t.ok(r.rc == 0 and "ldap: bound as dn:ou=system,o=company "
                 "(SASL EXTERNAL)\n" in r.out, "sasl_authz_id %s (the "
                 "mapped DN): bound" % authz, r.why())
        else:
            t.ok(r.rc == 1 and "SASL EXTERNAL bind failed: Insufficient "
                 "access" in r.out and "not authorized" in r.out,
                 "sasl_authz_id %s: slapd refuses it, check says so" %
                 authz, r.why())


if __name__ == "__main__":
    t.main()
