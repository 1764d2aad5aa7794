#!/usr/bin/env python3
"""test_deb: the Debian package, built, checked, installed and purged.

Once per run, in a copy of the tree under a temp dir (the repository is
never written to): `dpkg-buildpackage -us -uc -b` (DEB_BUILD_OPTIONS
parallel=2 noddebs) gives ldapmail_VERSION_ARCH.deb, VERSION being
debian/changelog's, whose upstream part is CHANGES's first release.

- its file list is exactly what `make install PREFIX=/usr` lays out in
  the same copy, as debhelper packs it (man pages and doc files over 4
  kB compressed, CHANGES as changelog.gz, plus copyright and
  changelog.Debian.gz), with the conffile /etc/ldapmail/ldapmail.conf;
- lintian reports no error, and no warning README does not list;
- `dpkg -i` with the shipped example as configuration: the user ldapmail
  exists (systemd-sysusers, without systemd as PID 1), the state and
  socket directories are ldapmail:postfix 0750, no unit is enabled and
  the postinst says why; /usr/sbin/lookupd --help, `lookupd check` and
  `lookupd sync` (into /var/lib/ldapmail, as user ldapmail) against a
  test slapd work; `dpkg --purge` removes programs, configuration,
  snapshots and the socket directory, and keeps the user (Debian policy);
- `dpkg -i` over a configuration the administrator wrote first: the
  units are enabled (their links made, not started: no systemd here),
  `lookupd check` reads /etc/ldapmail/ldapmail.conf; purge removes the
  links too;
- afterwards the machine is as it was: every path of the package, the
  unit links and deb-systemd-helper state, /etc/ldapmail, the two
  directories, dpkg's record; the user and group ldapmail are deleted
  again by the test when they did not exist before (purge keeps them).

Needs root and dpkg-buildpackage, debhelper, lintian, fakeroot
(scripts/deps).  Where they are missing the checks are skipped, except
under CI (CI=true), where that is a failure.  An ldapmail package already
installed here is never touched: skipped (a failure under CI).
"""
import glob
import grp
import os
import pwd
import re
import shutil
import stat
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
import srctree  # noqa: E402

CI = os.environ.get("CI") == "true"
CONF = "/etc/ldapmail/ldapmail.conf"
UNIT_LINKS = ["/etc/systemd/system/multi-user.target.wants/lookupd.service",
              "/etc/systemd/system/timers.target.wants/"
              "ldap-maildirmake.timer"]
# lintian warnings kept on purpose (README, "Debian package"): none.
ALLOWED_WARNINGS = set()
_b = {}


def unusable():
    """Why this machine cannot run the test, or None."""
    if os.geteuid() != 0:
        return "not root"
    for prog in ("dpkg-buildpackage", "dh", "lintian", "fakeroot",
                 "dpkg-deb", "systemd-sysusers"):
        if not shutil.which(prog):
            return "%s is not installed (scripts/deps)" % prog
    r = t.run(["dpkg-query", "-W", "-f=${db:Status-Status}", "ldapmail"])
    if r.rc == 0 and r.out.strip() not in ("", "not-installed"):
        return "a package ldapmail is installed here (%s)" % r.out.strip()
    return None


def skip_or_fail(name):
    why = unusable()
    if why is None:
        return False
    if CI:
        t.ok(False, name, why + " (CI must run this test)")
    else:
        t.skip(name, why)
    return True


def build():
    """Build once: {"dir", "src", "deb", "version", "log"}."""
    if _b:
        return _b
    status = ["git", "-C", t.SRC, "status", "--porcelain", "--ignored"]
    before = t.run(status).out
    top = t.tmpdir("ldapmail-deb-")
    os.chmod(top, 0o755)
    src = os.path.join(top, "ldapmail")
    srctree.copy_tree(t.SRC, src)
    ver = t.run(["dpkg-parsechangelog", "-l",
                 os.path.join(src, "debian", "changelog"), "-S",
                 "Version"], check=True).out.strip()
    arch = t.run(["dpkg", "--print-architecture"],
                 check=True).out.strip()
    t0 = time.monotonic()
    r = t.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
              timeout=600, env={"DEB_BUILD_OPTIONS": "parallel=2 noddebs",
                                "MAKEFLAGS": None, "MAKELEVEL": None})
    with open(os.path.join(top, "build.log"), "w") as f:
        f.write(r.out + r.err)
    t.note("dpkg-buildpackage: %.1f s" % (time.monotonic() - t0))
    _b.update(dir=top, src=src, version=ver, rc=r.rc, why=r.why(),
              same=t.run(status).out == before,
              deb=os.path.join(top, "ldapmail_%s_%s.deb" % (ver, arch)))
    return _b


def deb_paths(deb):
    """{path: type letter} of the package's contents."""
    r = t.run(["dpkg-deb", "-c", deb], check=True)
    out = {}
    for line in r.out.splitlines():
        f = line.split()
        path = f[5][1:].rstrip("/") or "/"          # "./usr/" -> "/usr"
        out[path] = f[0][0]
    return out


def expected_paths(src):
    """What make install lays out, as debhelper packs it."""
    stage = os.path.join(os.path.dirname(src), "stage")
    r = t.run(["make", "-s", "-C", src, "install", "DESTDIR=" + stage,
               "PREFIX=/usr"], timeout=120)
    if r.rc != 0:
        raise RuntimeError("make install: " + r.why())
    doc = "/usr/share/doc/ldapmail"
    out = {"/": "d"}
    for d, dirs, files in os.walk(stage):
        rel = "/" + os.path.relpath(d, stage) if d != stage else "/"
        for x in dirs:
            out[os.path.join(rel, x)] = "d"
        for x in files:
            p = os.path.join(rel, x)
            size = os.path.getsize(os.path.join(d, x))
            if p == doc + "/CHANGES":
                p = doc + "/changelog.gz"   # the upstream changelog
            elif p.startswith("/usr/share/man/"):
                p += ".gz"
            elif p.startswith(doc + "/") and \
                    not p.startswith(doc + "/examples/") and size > 4096:
                p += ".gz"
            out[p] = "-"
    out[doc + "/copyright"] = "-"
    out[doc + "/changelog.Debian.gz"] = "-"
    return out


@t.test
def the_package_builds_with_the_version_of_changes():
    if skip_or_fail("dpkg-buildpackage builds ldapmail"):
        return
    b = build()
    if not t.ok(b["rc"] == 0 and os.path.exists(b["deb"]),
                "dpkg-buildpackage -us -uc -b builds %s" %
                os.path.basename(b["deb"]), b["why"]):
        return
    with open(os.path.join(t.SRC, "CHANGES")) as f:
        first = [ln for ln in f if re.match(r"^\d", ln)][0].split()[0]
    t.eq(b["version"].rsplit("-", 1)[0], first,
         "debian/changelog's upstream version is CHANGES's first release")
    t.ok(b["same"], "the build left the working tree as it was (git "
         "status, ignored files included)")


@t.test
def the_file_list_is_make_installs():
    if unusable() or not _b or _b["rc"] != 0:
        t.skip("file list", "no package built")
        return
    got = deb_paths(_b["deb"])
    want = expected_paths(_b["src"])
    t.eq(sorted(set(got) - set(want)), [], "no file beyond make install's")
    t.eq(sorted(set(want) - set(got)), [], "every file of make install")
    for p in ("/usr/sbin/lookupd", "/usr/sbin/ldap-maildirmake",
              "/usr/share/man/man8/lookupd.8.gz",
              "/usr/share/man/man5/ldapmail.conf.5.gz",
              "/usr/share/ldapmail/schema/qmail.schema",
              "/usr/share/doc/ldapmail/examples/ldapmail.conf.example",
              "/usr/share/doc/ldapmail/examples/slapd/slapd.conf.example",
              "/lib/systemd/system/lookupd.service",
              "/lib/systemd/system/ldap-maildirmake.service",
              "/lib/systemd/system/ldap-maildirmake.timer",
              "/usr/lib/sysusers.d/ldapmail.conf",
              "/usr/lib/tmpfiles.d/ldapmail.conf", CONF):
        t.eq(got.get(p), "-", "the package holds %s" % p)
    r = t.run(["dpkg-deb", "-f", _b["deb"], "Depends"])
    t.ok("postfix" in r.out.split(", ") and "systemd | "
         "systemd-standalone-sysusers" in r.out,
         "Depends: postfix and a systemd-sysusers", r.out)
    ctl = t.tmpdir("ldapmail-debctl-")
    t.run(["dpkg-deb", "-e", _b["deb"], ctl], check=True)
    with open(os.path.join(ctl, "conffiles")) as f:
        t.eq(f.read().split(), [CONF], "conffiles: ldapmail.conf alone")


@t.test
def lintian_reports_no_error():
    if unusable() or not _b or _b["rc"] != 0:
        t.skip("lintian", "no package built")
        return
    r = t.run(["lintian", "--info", "--display-info", _b["deb"]],
              timeout=300)
    tags = [ln for ln in r.out.splitlines() if re.match(r"^[EWIPX]: ", ln)]
    for ln in tags:
        t.note("lintian: " + ln)
    t.eq([ln for ln in tags if ln.startswith("E: ")], [],
         "lintian: no error")
    warnings = {ln.split()[2] for ln in tags if ln.startswith("W: ")}
    t.eq(sorted(warnings - ALLOWED_WARNINGS), [],
         "lintian: no warning but those README lists")


# ------------------------------------------------------ install, purge

def dpkg(args, timeout=300):
    """dpkg ARGS, waiting while another dpkg/apt holds the lock."""
    deadline = time.monotonic() + 180
    while True:
        r = t.run(["dpkg"] + args, timeout=timeout,
                  env={"DEBIAN_FRONTEND": "noninteractive"})
        if r.rc == 0 or "lock" not in r.err or \
                time.monotonic() > deadline:
            return r
        time.sleep(2)


def id_lines(name):
    """The lines for name in the user and group databases."""
    out = {}
    for f in ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"):
        try:
            with open(f) as fh:
                out[f] = [ln for ln in fh if ln.split(":")[0] == name]
        except OSError:
            out[f] = None
    return out


def machine_state(paths):
    """What installing could change, as comparable data."""
    state = {}

    def add(p):
        try:
            st = os.lstat(p)
        except OSError:
            state[p] = None
            return
        if stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                body = f.read()
        elif stat.S_ISLNK(st.st_mode):
            body = os.readlink(p)
        else:
            body = None
        state[p] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                    st.st_uid, st.st_gid, body)
    for p in sorted(set(paths) | {"/etc/ldapmail", "/var/lib/ldapmail",
                                  "/var/spool/postfix/ldapmail"} |
                    set(UNIT_LINKS)):
        add(p)
    for pat in ("/etc/systemd/system/*/*lookupd*",
                "/etc/systemd/system/*/*ldap-maildirmake*",
                "/var/lib/systemd/deb-systemd-helper-*/*lookupd*",
                "/var/lib/systemd/deb-systemd-helper-*/*ldap-maildirmake*",
                "/var/lib/systemd/deb-systemd-helper-*/*/*lookupd*",
                "/var/lib/systemd/deb-systemd-helper-*/*/"
                "*ldap-maildirmake*", "/var/lib/dpkg/info/ldapmail.*"):
        for p in glob.glob(pat):
            add(p)
    state["ids"] = id_lines("ldapmail")
    r = t.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", "ldapmail"])
    state["dpkg"] = r.out.strip() if r.rc == 0 else "(unknown)"
    return state


def test_config(slapd, d, **kw):
    """A config for the packaged lookupd: bind as the system DN with a
    password file the user ldapmail may read, snapshots in
    /var/lib/ldapmail (mode 0644: ldapmail reads it after the drop)."""
    pw = os.path.join(d, "bindpw")
    t.write(pw, t.SYSTEM_PW + "\n", 0o600)
    pwent = pwd.getpwnam("ldapmail")
    os.chown(pw, pwent.pw_uid, pwent.pw_gid)
    conf = {"ldap_uri": slapd.uri, "bind_dn": t.SYSTEM_DN,
            "bind_pw_file": pw, "domain_base": t.DOMAIN_BASE,
            "account_base": t.ACCOUNT_BASE, "cache_dir": "/var/lib/ldapmail",
            "user": "ldapmail", "group": "postfix", "ldap_timeout": "5"}
    conf.update(kw)
    return "".join("%s = %s\n" % kv for kv in conf.items())


def cleanup(before_ids):
    """Purge, and remove the user and group the package made."""
    r = dpkg(["--purge", "ldapmail"])
    if not any(before_ids.values()):
        if id_lines("ldapmail")["/etc/passwd"]:
            t.run(["userdel", "ldapmail"])
        if id_lines("ldapmail")["/etc/group"]:
            t.run(["groupdel", "ldapmail"])
    return r


@t.test
def install_use_purge_leaves_the_machine_as_it_was():
    if unusable() or not _b or _b["rc"] != 0:
        t.skip("install and purge", "no package built")
        return
    deb = _b["deb"]
    paths = sorted(p for p, k in deb_paths(deb).items() if k != "d")
    before = machine_state(paths)
    slapd = t.Slapd().start()
    d = t.tmpdir("ldapmail-debrun-")
    os.chmod(d, 0o755)
    try:
        # 1. The shipped example as configuration.
        r = dpkg(["-i", deb])
        if not t.eq(r.rc, 0, "dpkg -i", r.why()):
            return
        t.ok("nothing enabled" in r.out and "systemctl enable --now "
             "lookupd.service ldap-maildirmake.timer" in r.out,
             "postinst: the example configuration enables nothing, and "
             "says what to do", r.out)
        t.eq([p for p in UNIT_LINKS if os.path.lexists(p)], [],
             "no unit enabled")
        pw = pwd.getpwnam("ldapmail") if id_lines("ldapmail")[
            "/etc/passwd"] else None
        t.ok(pw and pw.pw_shell == "/usr/sbin/nologin" and
             pw.pw_dir == "/var/lib/ldapmail" and pw.pw_uid < 1000,
             "the system user ldapmail exists (systemd-sysusers)", repr(pw))
        pf = grp.getgrnam("postfix").gr_gid
        for p in ("/var/lib/ldapmail", "/var/spool/postfix/ldapmail"):
            st = os.lstat(p) if os.path.lexists(p) else None
            t.ok(st and pw and stat.S_ISDIR(st.st_mode) and
                 stat.S_IMODE(st.st_mode) == 0o750 and
                 st.st_uid == pw.pw_uid and st.st_gid == pf,
                 "%s is ldapmail:postfix 0750" % p,
                 st and "%o %d:%d" % (st.st_mode, st.st_uid, st.st_gid))
        r = t.run(["/usr/sbin/lookupd", "--help"])
        t.ok(r.rc == 0 and r.out.startswith("usage: lookupd"),
             "/usr/sbin/lookupd --help", r.why())
        r = t.run(["/usr/sbin/ldap-maildirmake", "-h"])
        t.ok("ldap-maildirmake" in r.out + r.err,
             "/usr/sbin/ldap-maildirmake -h", r.why())
        conf = t.write(os.path.join(d, "ldapmail.conf"),
                       test_config(slapd, d), 0o644)
        r = t.run(["/usr/sbin/lookupd", "-c", conf, "check"])
        t.ok(r.rc == 0 and "ldap: bound as %s\n" % t.SYSTEM_DN in r.out
             and "map mailbox: 3 entries\n" in r.out,
             "/usr/sbin/lookupd check against the test slapd", r.why())
        r = t.run(["/usr/sbin/lookupd", "-c", conf, "sync"])
        cdb = "/var/lib/ldapmail/mailbox.cdb"
        t.ok(r.rc == 0 and os.path.exists(cdb) and
             os.stat(cdb).st_uid == pw.pw_uid,
             "lookupd sync writes /var/lib/ldapmail as user ldapmail",
             r.why())
        t.eq(t.postmap_q("a.onestone@anotherdomain.nu",
                         "cdb:/var/lib/ldapmail/mailbox"),
             (0, "/vmail/albert.onestone/Maildir/"),
             "Postfix reads the packaged lookupd's snapshot")
        r = dpkg(["--purge", "ldapmail"])
        t.eq(r.rc, 0, "dpkg --purge", r.why())
        t.eq([p for p in paths + ["/etc/ldapmail", "/var/lib/ldapmail",
                                  "/var/spool/postfix/ldapmail"]
              if os.path.lexists(p)], [],
             "purge removes programs, configuration, snapshots and the "
             "socket directory")
        t.ok(id_lines("ldapmail")["/etc/passwd"],
             "purge keeps the user ldapmail (Debian policy)")

        # 2. A configuration the administrator wrote before installing.
        os.makedirs("/etc/ldapmail")
        t.write(CONF, test_config(slapd, d), 0o644)
        r = dpkg(["-i", "--force-confold", deb])
        if not t.eq(r.rc, 0, "dpkg -i over an existing ldapmail.conf",
                    r.why()):
            return
        t.eq([p for p in UNIT_LINKS if not os.path.islink(p)], [],
             "a configured installation enables lookupd.service and "
             "ldap-maildirmake.timer")
        t.ok("nothing enabled" not in r.out, "and says nothing of it",
             r.out)
        r = t.run(["/usr/sbin/lookupd", "check"])
        t.ok(r.rc == 0 and "config %s: ok" % CONF in r.out,
             "lookupd check reads /etc/ldapmail/ldapmail.conf", r.why())
        r = dpkg(["--purge", "ldapmail"])
        t.eq(r.rc, 0, "dpkg --purge (configured)", r.why())
        t.eq([p for p in UNIT_LINKS + ["/etc/ldapmail"]
              if os.path.lexists(p)], [],
             "purge removes the unit links and the configuration")
    finally:
        cleanup(before["ids"])
        slapd.stop()
    after = machine_state(paths)
    t.eq({k: v for k, v in after.items() if before.get(k) != v},
         {}, "the machine is as it was (files, links, user, dpkg)",
         "before: %r" % {k: before.get(k) for k, v in after.items()
                         if before.get(k) != v})


if __name__ == "__main__":
    t.main()
