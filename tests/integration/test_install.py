#!/usr/bin/env python3
"""test_install: make install lays out what a Debian administrator expects.

- make install DESTDIR=<staging> PREFIX=/usr (with the binaries already
  built: make -o, nothing is compiled) installs exactly the expected
  files, with their modes (0755 programs and directories, 0644 the rest),
  and nothing else; each one equals its source (the units and the cron
  file name $(SBINDIR) for the programs);
- an existing /etc/ldapmail/ldapmail.conf is never overwritten;
- PREFIX=/usr/local: the units and the cron file run /usr/local/sbin/...;
- the installed units pass systemd-analyze verify (with ExecStart pointed
  at the built programs) and lookupd.service's systemd-analyze security
  exposure stays at 1.2 or below;
- sysusers.d and tmpfiles.d files, applied to a copy of /etc/passwd and
  /etc/group under a scratch root (systemd-sysusers/-tmpfiles --root),
  make the user ldapmail, /var/spool/postfix/ldapmail and /var/lib/ldapmail
  as ldapmail:postfix 0750.  The system's own files are not touched.
"""
import filecmp
import glob
import grp
import os
import re
import shutil
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402

LOOKUPD, MDM = t.LOOKUPD, t.MAILDIRMAKE
EX = "usr/share/doc/ldapmail/examples"


def make_install(destdir, prefix="/usr"):
    """make install with the programs of LDAPMAIL_BIN, never rebuilt."""
    return t.run(["make", "-s", "-C", t.SRC, "install",
                  "DESTDIR=" + destdir, "PREFIX=" + prefix,
                  "OUT=" + t.BIN, "-o", LOOKUPD, "-o", MDM], timeout=120)


def expected(prefix="/usr"):
    """{relative path: (mode, source path or None)}."""
    p = prefix.strip("/")
    want = {
        p + "/sbin/lookupd": (0o755, LOOKUPD),
        p + "/sbin/ldap-maildirmake": (0o755, MDM),
        "etc/ldapmail/ldapmail.conf": (0o644, "ldapmail.conf.example"),
        "lib/systemd/system/lookupd.service": (0o644,
                                               "scripts/lookupd.service"),
        "lib/systemd/system/ldap-maildirmake.service": (
            0o644, "scripts/ldap-maildirmake.service"),
        "lib/systemd/system/ldap-maildirmake.timer": (
            0o644, "scripts/ldap-maildirmake.timer"),
        "lib/systemd/system/ldap-maildirmake-watch.service": (
            0o644, "scripts/ldap-maildirmake-watch.service"),
        p + "/lib/sysusers.d/ldapmail.conf": (0o644,
                                              "scripts/ldapmail.sysusers"),
        p + "/lib/tmpfiles.d/ldapmail.conf": (0o644,
                                              "scripts/ldapmail.tmpfiles"),
        p + "/share/ldapmail/schema/qmail.schema": (0o644,
                                                    "schema/qmail.schema"),
        p + "/share/ldapmail/schema/qmail.ldif": (0o644,
                                                  "schema/qmail.ldif"),
    }
    for f in ("ox.schema", "ox.ldif", "apple.schema", "apple.ldif",
              "jamm.schema", "jamm.ldif"):
        want[p + "/share/ldapmail/schema/" + f] = (0o644, "schema/" + f)
    ex = p + "/share/doc/ldapmail/examples"
    for src in ("ldapmail.conf.example", "postfix/README",
                "postfix/main.cf.fragment",
                "postfix/main.cf.mydestination.fragment",
                "postfix/master.cf.fragment", "courier/README",
                "courier/authldaprc", "courier/authldaprc.ox",
                "courier/authldaprc.jamm", "courier/authldaprc.apple",
                "courier/authdaemonrc.fragment"):
        want[ex + "/" + src] = (0o644, src)
    want[ex + "/slapd/slapd.conf.example"] = (0o644,
                                              "schema/slapd.conf.example")
    want[ex + "/slapd/slapd-ldapmail.ldif"] = (0o644,
                                               "schema/slapd-ldapmail.ldif")
    want[ex + "/ldap-maildirmake.cron"] = (0o644,
                                           "scripts/ldap-maildirmake.cron")
    for src in ("README.md", "CHANGES"):
        want[p + "/share/doc/ldapmail/" + src] = (0o644, src)
    for sec in ("5", "8"):
        for f in sorted(glob.glob(os.path.join(t.SRC, "man", "*." + sec))):
            want["%s/share/man/man%s/%s" % (p, sec, os.path.basename(f))] = \
                (0o644, os.path.relpath(f, t.SRC))
    return want


def tree(root):
    """{relative path: (kind, mode)} of everything under root."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            kind = "d" if stat.S_ISDIR(st.st_mode) else \
                "f" if stat.S_ISREG(st.st_mode) else "?"
            out[os.path.relpath(path, root)] = (kind,
                                                stat.S_IMODE(st.st_mode))
    return out


def sbin_subst(text, sbindir):
    return text.replace("/usr/sbin/lookupd", sbindir + "/lookupd").replace(
        "/usr/sbin/ldap-maildirmake", sbindir + "/ldap-maildirmake")


def read(path):
    with open(path, "rb") as f:
        return f.read()


_staged = []


def staged():
    """The DESTDIR of the first make install (PREFIX=/usr)."""
    if not _staged:
        for prog in (LOOKUPD, MDM):
            if not os.access(prog, os.X_OK):
                raise RuntimeError("not built: %s" % prog)
        d = os.path.join(t.tmpdir("ldapmail-install-"), "root")
        r = make_install(d)
        if r.rc != 0:
            raise RuntimeError("make install failed: " + r.why())
        _staged.append(d)
    return _staged[0]


@t.test
def make_install_lays_out_every_file_with_its_mode():
    d = staged()
    want = expected("/usr")
    got = tree(d)
    files = {k: v[1] for k, v in got.items() if v[0] == "f"}
    t.eq(sorted(files), sorted(want), "exactly the expected files")
    t.eq({k: oct(m) for k, m in files.items() if k in want and
          m != want[k][0]}, {}, "modes: 0755 programs, 0644 the rest")
    dirs = {k: oct(v[1]) for k, v in got.items() if v[0] == "d"}
    t.eq({k: m for k, m in dirs.items() if m != oct(0o755)}, {},
         "every directory made is 0755")
    t.eq([k for k, v in got.items() if v[0] not in "df"], [],
         "no links or other objects")
    differ = []
    for rel, (_, src) in want.items():
        if rel not in files:
            continue
        s = src if os.path.isabs(src) else os.path.join(t.SRC, src)
        if rel.startswith("lib/systemd/") or rel.endswith(".cron"):
            same = read(os.path.join(d, rel)) == sbin_subst(
                read(s).decode(), "/usr/sbin").encode()
        else:
            same = filecmp.cmp(os.path.join(d, rel), s, shallow=False)
        if not same:
            differ.append(rel)
    t.eq(differ, [], "each installed file equals its source")
    t.ok(any("/man8/lookupd.8" in k for k in files) or not os.path.exists(
        os.path.join(t.SRC, "man", "lookupd.8")),
        "man pages in $(MANDIR)/man5 and man8")
    unit = read(os.path.join(d, "lib/systemd/system/lookupd.service"))
    t.ok(b"ExecStart=/usr/sbin/lookupd serve -f" in unit,
         "lookupd.service runs /usr/sbin/lookupd")


@t.test
def an_existing_ldapmail_conf_is_kept():
    d = staged()
    conf = os.path.join(d, "etc", "ldapmail", "ldapmail.conf")
    with open(conf, "a") as f:
        f.write("# edited by the administrator\n")
    mine = read(conf)
    r = make_install(d)
    t.eq(r.rc, 0, "make install again", r.why())
    t.eq(read(conf), mine, "the edited ldapmail.conf is kept")
    t.ok("keeping" in r.out, "make install says it kept it", r.out)


@t.test
def prefix_usr_local_reaches_the_units():
    d = os.path.join(t.tmpdir("ldapmail-install-"), "root")
    r = make_install(d, "/usr/local")
    t.eq(r.rc, 0, "make install PREFIX=/usr/local", r.why())
    files = sorted(k for k, v in tree(d).items() if v[0] == "f")
    t.eq(files, sorted(expected("/usr/local")),
         "PREFIX=/usr/local: the expected files")
    unit = read(os.path.join(d, "lib/systemd/system/lookupd.service"))
    mdm = read(os.path.join(d, "lib/systemd/system/"
                            "ldap-maildirmake.service"))
    cron = read(os.path.join(d, "usr/local/share/doc/ldapmail/examples/"
                             "ldap-maildirmake.cron"))
    t.ok(b"ExecStart=/usr/local/sbin/lookupd serve -f" in unit and
         b"/usr/sbin/lookupd" not in unit,
         "lookupd.service runs /usr/local/sbin/lookupd")
    t.ok(b"ExecStart=/usr/local/sbin/ldap-maildirmake" in mdm,
         "ldap-maildirmake.service runs /usr/local/sbin/ldap-maildirmake")
    t.ok(b"/usr/local/sbin/ldap-maildirmake -q" in cron and
         b"/usr/sbin/ldap-maildirmake" not in cron,
         "the cron file runs /usr/local/sbin/ldap-maildirmake")


@t.test
def the_units_pass_systemd_analyze():
    if not shutil.which("systemd-analyze"):
        t.skip("systemd-analyze", "not installed")
        return
    d = staged()
    units = os.path.join(d, "lib", "systemd", "system")
    scratch = t.tmpdir("ldapmail-units-")
    for name in ("lookupd.service", "ldap-maildirmake.service",
                 "ldap-maildirmake.timer", "ldap-maildirmake-watch.service"):
        text = read(os.path.join(units, name)).decode()
        text = text.replace("/usr/sbin/lookupd", LOOKUPD).replace(
            "/usr/sbin/ldap-maildirmake", MDM)
        with open(os.path.join(scratch, name), "w") as f:
            f.write(text)
    r = t.run(["systemd-analyze", "verify", "--man=no"] + [
        os.path.join(scratch, n) for n in (
            "lookupd.service", "ldap-maildirmake.service",
            "ldap-maildirmake.timer", "ldap-maildirmake-watch.service")],
        timeout=60)
    t.eq((r.rc, r.err.strip()), (0, ""), "systemd-analyze verify: the "
         "four units, no complaint")
    r = t.run(["systemd-analyze", "security", "--offline=yes",
               "--threshold=12", os.path.join(units, "lookupd.service")],
              timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\S+)",
                  r.out)
    t.note("systemd-analyze security lookupd.service: %s" % (
        m.group(0) if m else r.why()))
    t.ok(r.rc == 0 and m and float(m.group(1)) <= 1.2,
         "lookupd.service: exposure %s (1.2 or below)" % (
             m.group(1) if m else "?"), r.why())
    for check in ("PrivateUsers=", "ProtectSystem=", "NoNewPrivileges=",
                  "PrivateTmp=", "RestrictNamespaces=~user",
                  "SystemCallArchitectures=", "MemoryDenyWriteExecute=",
                  "CapabilityBoundingSet=~CAP_SYS_ADMIN"):
        line = [l for l in r.out.splitlines() if l[2:].startswith(check)]
        t.ok(line and line[0].startswith("\u2713"),
             "lookupd.service: %s passes" % check.rstrip("="),
             line[0] if line else "not listed")


@t.test
def sysusers_and_tmpfiles_make_the_user_and_the_socket_directory():
    for prog in ("systemd-sysusers", "systemd-tmpfiles"):
        if not shutil.which(prog):
            t.skip(prog, "not installed")
            return
    try:
        pf_gid = grp.getgrnam("postfix").gr_gid
    except KeyError:
        t.skip("group postfix", "postfix is not installed")
        return
    d = staged()
    root = os.path.join(t.tmpdir("ldapmail-sysroot-"), "root")
    os.makedirs(os.path.join(root, "etc"))
    os.makedirs(os.path.join(root, "var", "spool", "postfix"))
    for f in ("passwd", "group"):
        shutil.copy(os.path.join("/etc", f), os.path.join(root, "etc", f))
    for sub in ("sysusers.d", "tmpfiles.d"):
        shutil.copytree(os.path.join(d, "usr", "lib", sub),
                        os.path.join(root, "usr", "lib", sub))
    before = read("/etc/passwd")
    r = t.run(["systemd-sysusers", "--root=" + root], timeout=60)
    t.eq(r.rc, 0, "systemd-sysusers --root", r.why())
    users = {}
    with open(os.path.join(root, "etc", "passwd")) as f:
        for line in f:
            parts = line.rstrip("\n").split(":")
            users[parts[0]] = parts
    ldapmail = users.get("ldapmail")
    t.ok(ldapmail and ldapmail[6] == "/usr/sbin/nologin" and
         ldapmail[5] == "/var/lib/ldapmail",
         "sysusers.d: user ldapmail, no login shell, home /var/lib/ldapmail",
         repr(ldapmail))
    r = t.run(["systemd-tmpfiles", "--root=" + root, "--create"],
              timeout=60)
    t.eq(r.rc, 0, "systemd-tmpfiles --root --create", r.why())
    for sd in ("/var/spool/postfix/ldapmail", "/var/lib/ldapmail"):
        p = os.path.join(root, sd.lstrip("/"))
        st = os.lstat(p) if os.path.lexists(p) else None
        t.ok(st and stat.S_ISDIR(st.st_mode) and
             stat.S_IMODE(st.st_mode) == 0o750 and ldapmail and
             st.st_uid == int(ldapmail[2]) and st.st_gid == pf_gid,
             "tmpfiles.d: %s is ldapmail:postfix 0750" % sd,
             st and "%o %d:%d" % (st.st_mode, st.st_uid, st.st_gid))
    t.eq(read("/etc/passwd"), before, "the system's /etc/passwd is "
         "untouched")


if __name__ == "__main__":
    t.main()
