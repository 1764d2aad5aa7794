"""mdm_util: helpers for the ldap-maildirmake tests (stdlib only).

- LDIF writing (values that are not plain ASCII go out base64, as
  ldapsearch and the howto's directories have them);
- the ldap-maildirmake config file and runs (as root, or as another user
  through setpriv, with sanitizer logs of its own);
- tree snapshots (name, type, mode, link target, file bytes; owners and
  mtimes on request) and their differences;
- the reference: the steps of the howto's makeMailMessageStoreDirs script,
  done right, with Courier's real /usr/bin/maildirmake (never with
  ldap-maildirmake).
"""

import base64
import fcntl
import glob
import grp
import os
import pwd
import re
import shutil
import stat
import subprocess

import ldapmail_test as t

COURIER = "/usr/bin/maildirmake"
# The lock file release 1 kept in mail_base (now: flock on mail_base).
OLD_LOCK = ".ldap-maildirmake.lock"
TMP_PREFIX = "ldap-maildirmake.tmp."

# ------------------------------------------------------------------ LDIF


def _safe(v):
    """Can v go into LDIF as "attr: v" (RFC 2849 SAFE-STRING)?"""
    if v == "":
        return True
    if v[0] in " :<" or v[-1] == " ":
        return False
    return all(0x01 <= ord(c) <= 0x7f and c not in "\r\n" for c in v)


def ldif_line(attr, value):
    if isinstance(value, bytes) or not _safe(value):
        b = value if isinstance(value, bytes) else value.encode("utf-8")
        return "%s:: %s\n" % (attr, base64.b64encode(b).decode("ascii"))
    return "%s: %s\n" % (attr, value)


def ldif_entry(dn, attrs):
    """attrs: list of (name, value) pairs."""
    out = ldif_line("dn", dn)
    for name, value in attrs:
        out += ldif_line(name, value)
    return out + "\n"


PERSON_OC = [("objectClass", "top"), ("objectClass", "person"),
             ("objectClass", "organizationalPerson"),
             ("objectClass", "inetOrgPerson"), ("objectClass", "qmailUser")]


def ou(name, suffix=t.SUFFIX):
    return ldif_entry("ou=%s,%s" % (name, suffix),
                      [("objectClass", "organizationalUnit"), ("ou", name)])


def account(dn_cn, base, uid, mms, status="active", see=(), mail=None,
            cn=None, pob=()):
    """An account or shared entry (cn defaults to dn_cn)."""
    attrs = list(PERSON_OC)
    attrs += [("cn", cn or dn_cn), ("sn", "x"), ("uid", uid),
              ("mail", mail or "%s@example.org" % re.sub(r"[^a-z0-9]", "",
                                                       uid.lower()) or "x"),
              ("accountStatus", status), ("mailMessageStore", mms)]
    attrs += [("seeAlso", s) for s in see]
    attrs += [("postOfficeBox", p) for p in pob]
    return ldif_entry("cn=%s,%s" % (dn_cn, base), attrs)


def rewrite_fixture(base):
    """The howto's example with /vmail/ paths moved under base."""
    with open(t.fixture_path(), encoding="utf-8") as f:
        text = f.read()
    return text.replace(": /vmail/", ": %s/" % base)


write = t.write


# ---------------------------------------------------------------- config

def config(slapd, dir, mail_base, account_base=t.ACCOUNT_BASE,
           owner=None, uri=None, extra=""):
    """DIR/ldapmail-N.conf for ldap-maildirmake; its path."""
    pwfile = os.path.join(dir, "bindpw")
    if not os.path.exists(pwfile):
        write(pwfile, t.SYSTEM_PW + "\n", 0o600)
    n = len(glob.glob(os.path.join(dir, "mdm-*.conf")))
    path = os.path.join(dir, "mdm-%d.conf" % n)
    write(path, "".join([
        "ldap_uri = %s\n" % (uri or slapd.uri),
        "ldap_timeout = 3\n",
        "bind_dn = %s\n" % t.SYSTEM_DN,
        "bind_pw_file = %s\n" % pwfile,
        "account_base = %s\n" % account_base,
        "domain_base = %s\n" % t.DOMAIN_BASE,
        "mail_base = %s\n" % mail_base,
        "mail_owner = %s\n" % (owner or "%d:%d" % default_owner()),
        "state_dir = %s\n" % state_dir(mail_base),
        extra]))
    return path


def state_dir(mail_base):
    """The state_dir config() gives: beside mail_base, so that clear()
    makes a fresh install of both (the record of whose each maildir is
    goes with the tree)."""
    return mail_base.rstrip("/") + ".state"


def default_owner():
    """(uid, gid) of an unprivileged mail_owner for the tests."""
    return t.test_user()[:2]


def owner_name():
    uid, _ = default_owner()
    return pwd.getpwuid(uid).pw_name


def run(conf, *args, as_user=None, umask=None, timeout=300, env=None):
    """ldap-maildirmake -c CONF ARGS; as_user=(uid, gid) runs it through
    setpriv (no supplementary groups), with sanitizer logs in a directory
    that user can write (checked by san_reports())."""
    argv = [t.MAILDIRMAKE, "-c", conf] + list(args)
    env = dict(env or {})
    if as_user is not None:
        uid, gid = as_user
        argv = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid,
                "--clear-groups", "--"] + argv
        env.update(t.user_san_env())
    if umask is not None:
        argv = ["/bin/sh", "-c", 'umask %03o; exec "$@"' % umask, "sh"] + \
            argv
    return t.run(argv, timeout=timeout, env=env)


san_reports = t.user_san_reports


# ------------------------------------------------------------- snapshots

def snapshot(root, owners=False, times=False, skip=()):
    """{relative path (bytes): (type, mode, data[, uid, gid][, mtime])}
    for everything below root, without following symlinks.  type: d, f,
    l or ?; data: file bytes, link target bytes, or None.  Nothing is
    skipped unless named: the tree must hold what the directory asks for
    and nothing else (no lock file either)."""
    rootb = os.fsencode(root)
    snap = {}

    def add(path, rel):
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            kind, data = "d", None
        elif stat.S_ISLNK(st.st_mode):
            kind, data = "l", os.readlink(path)
        elif stat.S_ISREG(st.st_mode):
            kind = "f"
            with open(path, "rb") as f:
                data = f.read()
        else:
            kind, data = "?", None
        rec = (kind, stat.S_IMODE(st.st_mode), data)
        if owners:
            rec += (st.st_uid, st.st_gid)
        if times:
            rec += (st.st_mtime_ns, st.st_ino)
        snap[rel] = rec
        return kind

    for dirpath, dirnames, filenames in os.walk(rootb):
        for name in sorted(dirnames + filenames):
            rel = os.path.relpath(os.path.join(dirpath, name), rootb)
            if os.fsdecode(rel) in skip:
                continue
            add(os.path.join(dirpath, name), rel)
    return snap


def show(rel, rec):
    kind, mode, data = rec[:3]
    s = "%s %s %04o" % (os.fsdecode(rel), kind, mode)
    if kind == "l":
        s += " -> %s" % os.fsdecode(data)
    elif kind == "f":
        s += " %r" % data[:80]
    if len(rec) > 3:
        s += " " + " ".join(str(x) for x in rec[3:])
    return s


def diff(a, b, limit=8):
    """Human-readable differences between two snapshots (a: got, b: want)."""
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) == b.get(k):
            continue
        if k not in a:
            out.append("missing " + show(k, b[k]))
        elif k not in b:
            out.append("extra " + show(k, a[k]))
        else:
            out.append("differs %s (want %s)" % (show(k, a[k]),
                                                 show(k, b[k])))
        if len(out) >= limit:
            out.append("...")
            break
    return out


def clear(path):
    """Make path an empty directory (0755), and the state_dir() beside
    it an empty one of mail_owner (0700): a fresh install of both that a
    run as mail_owner can use too (ldap-maildirmake makes a missing one
    only where it may)."""
    st = state_dir(path)
    if os.path.isdir(st) and not os.path.islink(st):
        shutil.rmtree(st)
    os.mkdir(st, 0o700)
    os.chown(st, *default_owner())
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    os.mkdir(path)
    os.chmod(path, 0o755)


def leftovers(root):
    return [os.path.join(d, n) for d, ds, fs in os.walk(root)
            for n in ds + fs if n.startswith(TMP_PREFIX)]


# ------------------------------------------------------------- reference

def norm_dn(dn):
    """Case and spacing of a DN normalized (enough for the test data)."""
    parts = re.split(r"(?<!\\),", dn)
    out = []
    for p in parts:
        a, _, v = p.partition("=")
        out.append(a.strip().lower() + "=" + v.strip().lower())
    return ",".join(out)


def read_entries(slapd, base):
    """Every entry of base with a mailMessageStore, in the server's
    order, as ldap-maildirmake sees them."""
    r = slapd.search(base, "(mailMessageStore=*)",
                     ["accountStatus", "mailMessageStore", "uid", "cn",
                      "postOfficeBox", "seeAlso"], bind="admin",
                     paged=1000)
    if r.rc != 0:
        raise RuntimeError("search failed: " + r.why())
    return r.entries


def courier_reference(entries, base, shared_dir="shared",
                      shared_maildirs_dir="shared.maildirs"):
    """Build under base, with Courier's maildirmake under umask 022, what
    the howto's script means to build for entries: for every active
    account `mkdir -p` of the parents and `maildirmake DIR`; for every
    shared entry `maildirmake -S S`, `maildirmake -s write -f UID S` and
    one per postOfficeBox, `mkdir -p` and `ln -s S/.UID P`; for every
    subscriber `maildirmake --add NICK=S DIR`.  <base>/<shared_dir> and
    <base>/<shared_maildirs_dir> exist first (the howto's set-up)."""
    def sh(argv):
        p = subprocess.run(["/bin/sh", "-c", 'umask 022; exec "$@"', "sh"] +
                           argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(argv),
                                           p.stderr.decode(errors="replace")))

    def mkdir_p(path):
        sh(["mkdir", "-p", path])

    def status(e):
        return (e.first("accountStatus") or "").lower()

    mkdir_p(os.path.join(base, shared_dir))
    mkdir_p(os.path.join(base, shared_maildirs_dir))
    for e in entries:
        if status(e) != "active":
            continue
        d = e.first("mailMessageStore").rstrip("/")
        if not os.path.isdir(d):
            mkdir_p(os.path.dirname(d))
            sh([COURIER, d])
    shared = {}
    sprefix = os.path.join(base, shared_dir) + "/"
    for e in entries:
        if status(e) != "shared":
            continue
        p = e.first("mailMessageStore")
        link = p.rstrip("/")
        s = os.path.dirname(os.path.join(base, shared_maildirs_dir,
                                         link[len(sprefix):]))
        if not os.path.isdir(s):
            mkdir_p(os.path.dirname(s))
            sh([COURIER, "-S", s])
        for f in [e.first("uid")] + list(e.get("postOfficeBox", [])):
            if not os.path.isdir(os.path.join(s, "." + f)):
                sh([COURIER, "-s", "write", "-f", f, s])
        mkdir_p(os.path.dirname(link))
        os.symlink(os.path.join(s, "." + e.first("uid")), link)
        nick = re.sub(r"[ ./]", "_", e.first("cn"))
        shared[norm_dn(e.dn)] = (nick, s)
    for e in entries:
        if status(e) != "active":
            continue
        d = e.first("mailMessageStore").rstrip("/")
        for see in e.get("seeAlso", []):
            if norm_dn(see) in shared:
                nick, s = shared[norm_dn(see)]
                sh([COURIER, "--add", "%s=%s" % (nick, s), d])


def courier_layout(dir, umask):
    """Courier's modes for each kind of object, under umask, as
    {what: mode} (what: "maildir", "maildir/tmp", "sharable", ...)."""
    def mm(*args):
        p = subprocess.run(["/bin/sh", "-c", 'umask %03o; exec "$@"' % umask,
                            "sh", COURIER] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        if p.returncode != 0:
            raise RuntimeError("maildirmake %s: %s" % (
                " ".join(args), p.stderr.decode(errors="replace")))

    clear(dir)
    m, s = os.path.join(dir, "m"), os.path.join(dir, "s")
    mm(m)
    mm("-f", "fold", m)
    mm("-S", s)
    mm("-s", "write", "-f", "w", s)
    mm("-s", "read", "-f", "r", s)
    mm("--add", "Nick=%s" % s, m)

    def mode(p):
        return stat.S_IMODE(os.lstat(p).st_mode)
    out = {}
    for what, path in (("maildir", m), ("folder", m + "/.fold"),
                       ("sharable", s), ("write folder", s + "/.w"),
                       ("read folder", s + "/.r")):
        out[what] = mode(path)
        for sub in ("tmp", "new", "cur"):
            out[what + "/" + sub] = mode(os.path.join(path, sub))
        mf = os.path.join(path, "maildirfolder")
        if os.path.exists(mf):
            out[what + "/maildirfolder"] = mode(mf)
    out["shared-maildirs"] = mode(m + "/shared-maildirs")
    with open(m + "/shared-maildirs", "rb") as f:
        out["shared-maildirs content"] = f.read()
    return out


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


# ------------------------------------------------------- test directories

HARD = "ou=Hard,o=company"
BIG = "ou=Big,o=company"
LONG_DIR = ("a-directory-name-long-enough-that-ldapsearch-wraps-the-line-at-"
            "76-characters/and-one-more-level")


def hard_ldif(base):
    """ou=Hard: everything the howto's script gets wrong.  A shared folder
    with three subscribers (seeAlso spelt three ways), a shared entry with
    a UTF-8 DN and a cn of several spaces and non-ASCII letters (base64 in
    LDIF), a space in a mailMessageStore and a postOfficeBox, one person
    subscribed to two shared folders, a mailMessageStore longer than 76
    characters, an inactive subscriber, a seeAlso to nowhere."""
    tt = "cn=Timetravel weekly, ou=Hard, o=company"
    zr = "cn=Zeitreise w\u00f6chentlich,ou=Hard,o=company"
    out = ou("Hard")
    out += account("Albert Onestone", HARD, "onestonea",
                   base + "/albert.onestone/Maildir/", see=[tt])
    out += account("Seven of Nine", HARD, "nines",
                   base + "/seven.of.nine/Maildir/",
                   see=["CN=timetravel WEEKLY,ou=hard,o=COMPANY"])
    out += account("Third Person", HARD, "third",
                   base + "/third/Maildir/",
                   see=["cn=Timetravel weekly,ou=Hard,o=company"])
    out += account("John Doe", HARD, "jdoe", base + "/john doe/Maildir/",
                   see=[tt, zr, "cn=Nobody Here,ou=Hard,o=company"])
    out += account("Long Path", HARD, "long",
                   base + "/" + LONG_DIR + "/Maildir/", see=[zr])
    out += account("Gone Away", HARD, "gone", base + "/gone/Maildir/",
                   status="inactive", see=[tt])
    out += account("Timetravel weekly", HARD, "incoming",
                   base + "/shared/timetravel.weekly/incoming/",
                   status="shared", pob=["past.editions", "future.editions"],
                   mail="timetravel@example.org")
    out += account("Zeitreise w\u00f6chentlich", HARD, "eingang",
                   base + "/shared/zeitreise woche/eingang/",
                   status="shared", mail="zeitreise@example.org",
                   cn="Zeitreise  w\u00f6chentlich / Ausgabe",
                   pob=["alte Ausgaben", "Archiv.2024",
                        "Gr\u00fc\u00dfe"])
    return out


def big_ldif(base, n=1200, base_dn=BIG, sub="big"):
    """n active accounts (more than slapd's size limit of 500)."""
    out = ou(base_dn.split(",")[0][3:])
    for i in range(n):
        out += ldif_entry("uid=user%05d,%s" % (i, base_dn), PERSON_OC + [
            ("cn", "User %05d" % i), ("sn", "u"), ("uid", "user%05d" % i),
            ("mail", "user%05d@example.org" % i),
            ("accountStatus", "active"),
            ("mailMessageStore", "%s/%s/user%05d/Maildir/" % (base, sub,
                                                               i))])
    return out


def hold_lock(mail_base):
    """Take ldap-maildirmake's run lock as a run does (flock on the
    mail_base directory); returns the descriptor to close."""
    fd = os.open(mail_base, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def lock_holder(mail_base):
    """The PID holding a FLOCK on the mail_base directory (/proc/locks),
    or None."""
    st = os.stat(mail_base)
    want = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev),
                             st.st_ino)
    with open("/proc/locks") as f:
        for line in f:
            w = line.split()
            # "1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF"
            if len(w) >= 6 and w[1] == "FLOCK" and w[5] == want:
                return int(w[4])
    return None
