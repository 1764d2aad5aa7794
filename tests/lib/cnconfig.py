"""cnconfig: a throwaway slapd configured through cn=config (slapd.d), as
Debian ships it, for tests that load the project's *.ldif schema files
with ldapadd -Y EXTERNAL (stdlib only).

    c = cnconfig.start(["nis"])    # core, cosine, inetorgperson (+ nis)
    c.ldapadd_file("schema/qmail.ldif"); c.uri, c.ldapi, c.dir
    c.subschema()                  # cn=Subschema entry (parsed), anonymous
    c.stop()
"""
import os

import ldapmail_test as t

SLAPD_BIN = "/usr/sbin/slapd"

BASE = """\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {dir}/slapd-self.pid

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema
{includes}
dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=extern
 al,cn=auth manage by * break
"""


class CnConfig:
    def __init__(self, d, daemon, port):
        self.dir = d
        self.daemon = daemon
        self.uri = "ldap://127.0.0.1:%d/" % port
        self.ldapi = "ldapi://%s/" % os.path.join(d, "ldapi").replace(
            "/", "%2F")
        self.ext = ["-Y", "EXTERNAL", "-Q", "-H", self.ldapi]

    def ldapadd_file(self, path):
        return t.run(["ldapadd"] + self.ext + ["-f", path])

    def subschema(self, bind=None):
        """The cn=Subschema entry as served (an Entry), or None."""
        args = ["-x"] if bind is None else ["-x", "-D", bind[0], "-w",
                                             bind[1]]
        r = t.run(["ldapsearch"] + args + ["-H", self.uri, "-LLL", "-o",
                  "ldif-wrap=no", "-b", "cn=Subschema", "-s", "base",
                  "attributeTypes", "objectClasses"])
        e = t.parse_ldif(r.out)
        return e[0] if e else None

    def stop(self):
        self.daemon.stop()


def start(schemas=()):
    """A cn=config slapd with core, cosine, inetorgperson and the Debian
    schemas named (e.g. "nis"), listening on 127.0.0.1 and an ldapi
    socket; returns a CnConfig (raises RuntimeError when it cannot)."""
    d = os.path.join(t.tmpdir("ldapmail-cnconfig-"), "c")
    cfg = os.path.join(d, "slapd.d")
    os.makedirs(cfg)
    os.makedirs(os.path.join(d, "db"), mode=0o700)
    names = ["core", "cosine", "inetorgperson"] + list(schemas)
    includes = "".join("\ninclude: file:///etc/ldap/schema/%s.ldif\n" % n
                       for n in names)
    base = os.path.join(d, "base.ldif")
    with open(base, "w") as f:
        f.write(BASE.format(dir=d, includes=includes))
    r = t.run(["/usr/sbin/slapadd", "-n0", "-F", cfg, "-l", base])
    if r.rc != 0:
        raise RuntimeError("slapadd -n0 failed: " + r.why())
    port = t.free_port()
    c = CnConfig(d, None, port)
    c.daemon = t.Daemon([SLAPD_BIN, "-F", cfg, "-h", "%s %s" % (
        c.uri, c.ldapi), "-d", "0"], name="slapd-cnconfig", dir=d).start()

    def answers():
        return t.run(["ldapsearch", "-x", "-H", c.ldapi, "-b", "", "-s",
                      "base", "-LLL", "1.1"], timeout=5).rc == 0
    if not t.wait_until(answers, 10):
        c.daemon.stop()
        raise RuntimeError("cn=config slapd does not answer: " +
                           c.daemon.errors()[-500:])
    return c
