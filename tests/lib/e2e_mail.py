"""e2e_mail: a whole mail system for the end-to-end tests (stdlib only).

    m = MailSystem().start()      # slapd, maildirs, lookupd, Postfix
    m.send("a.onestone@anotherdomain.nu")      -> Sent (rcpt replies...)
    m.wait_delivered(sent, m.maildir("albert.onestone"))
    c = Courier(m).start()        # authdaemond + Courier-IMAP

Everything lives in one temporary directory (ROOT, mode 0755, so that
Postfix's unprivileged processes can reach into it):

  ROOT/vmail            mail_base: the fixture's /vmail/... paths moved here
  ROOT/slapd            the test slapd (scripts/test-slapd), the howto's
                        example plus an inactive account
  ROOT/ldapmail.conf    lookupd's and ldap-maildirmake's config: the SHIPPED
                        ldapmail.conf.example with its values replaced
  ROOT/cache            lookupd's cache_dir (cdb snapshots)
  ROOT/pf-etc           the private Postfix's config_directory: main.cf =
                        a base of test settings + a SHIPPED main.cf fragment
                        with /var/lib/ldapmail and the uid/gid replaced;
                        master.cf = Debian's own master.cf.dist (chrooted
                        smtpd, cleanup, trivial-rewrite) with the SHIPPED
                        master.cf.fragment as its virtual service and smtpd
                        on 127.0.0.1:PORT
  ROOT/spool            its queue_directory (the chroot); lookupd's socket
                        is ROOT/spool/ldapmail/lookupd.sock, named
                        "ldapmail/lookupd.sock" in main.cf as shipped
  ROOT/maillog          Postfix's log (maillog_file through postlogd)
  ROOT/courier          authdaemonrc, authldaprc (SHIPPED, values replaced),
                        the authdaemon socket directory

The Postfix instance is started with "postfix -c ROOT/pf-etc start" and
stopped with "postfix -c ... stop", then by the PID of its master (from
ROOT/spool/pid/master.pid) if it is still there; the system's
/etc/postfix is only read (Debian's dynamicmaps.cf, postfix-files).
Courier's programs have fixed paths (/etc/courier/authdaemonrc,
/etc/courier/authldaprc, /run/courier/authdaemon): they run in a private
mount namespace (unshare -m) where our files are bind-mounted over those
paths; the system's files are never written.
"""

import email.utils
import grp
import imaplib
import json
import os
import pwd
import re
import signal
import smtplib
import time
import uuid

import ldapmail_test as t

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"
MASTER_DIST = "/usr/share/postfix/master.cf.dist"
AUTHDAEMOND = "/usr/lib/courier/courier-authlib/authdaemond"
AUTHTEST = "/usr/sbin/authtest"
COURIERTCPD = "/usr/sbin/couriertcpd"
IMAPLOGIN = "/usr/lib/courier/courier/imaplogin"
IMAPD = "/usr/bin/imapd"


INACTIVE_DN = "cn=Ina Active,ou=Tokelau,o=company"
INACTIVE_MAIL = "ina.active@anotherdomain.nu"

# --------------------------------------------------------------- helpers


def shipped(rel):
    """Text of a file of the repository (what make install ships)."""
    with open(os.path.join(t.SRC, rel), encoding="utf-8") as f:
        return f.read()


def vmail_owner():
    """(uid, gid, name) of the unprivileged owner of every maildir."""
    return t.test_user()


def set_params(text, values):
    """A postconf-style text (main.cf, ldapmail.conf) with the value of
    each parameter of `values` replaced.  Every name must be set in the
    text (KeyError otherwise: the shipped file changed and the test must
    follow).  Continuation lines of a replaced parameter are dropped."""
    lines = text.split("\n")
    out = []
    found = set()
    skipping = False
    for line in lines:
        if skipping and line[:1] in (" ", "\t") and line.strip() and \
                not line.lstrip().startswith("#"):
            continue
        skipping = False
        m = re.match(r"^([A-Za-z0-9_]+)\s*=", line)
        if m and m.group(1) in values:
            name = m.group(1)
            out.append("%s = %s" % (name, values[name]))
            found.add(name)
            skipping = True
            continue
        out.append(line)
    missing = set(values) - found
    if missing:
        raise KeyError("not set in the shipped file: %s" %
                       ", ".join(sorted(missing)))
    text = "\n".join(out)
    return text if text.endswith("\n") else text + "\n"


def set_rc(text, values):
    """Courier's "NAME<TAB>value" files (authldaprc): replace the value of
    each active (uncommented) NAME; every one must be there."""
    out = []
    found = set()
    for line in text.split("\n"):
        m = re.match(r"^([A-Z_]+)([ \t]+)", line)
        if m and m.group(1) in values:
            out.append("%s\t\t%s" % (m.group(1), values[m.group(1)]))
            found.add(m.group(1))
            continue
        out.append(line)
    missing = set(values) - found
    if missing:
        raise KeyError("not set in the shipped file: %s" %
                       ", ".join(sorted(missing)))
    return "\n".join(out)


write = t.write


def listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


# ---------------------------------------------------------------- SMTP


class Sent:
    """One SMTP transaction: rcpts {address: (code, text)}, data (code,
    text) or None, the Message-ID and a token in the Subject."""

    def __init__(self, token, msgid):
        self.token, self.msgid = token, msgid
        self.rcpts = {}
        self.data = None

    @property
    def accepted(self):
        return self.data is not None and self.data[0] == 250

    def code(self, rcpt):
        return self.rcpts[rcpt][0]

    def text(self, rcpt):
        return self.rcpts[rcpt][1]

    def __repr__(self):
        return "Sent(%s, rcpts %r, data %r)" % (self.token, self.rcpts,
                                                self.data)


def smtp_send(port, rcpts, sender="tester@example.org", body="",
              timeout=30):
    """One SMTP transaction to 127.0.0.1:port with every rcpt; DATA only
    if one was accepted.  Returns a Sent."""
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    token = "e2e-" + uuid.uuid4().hex[:12]
    msgid = "<%s@ldapmail.test>" % token
    sent = Sent(token, msgid)
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test",
                     timeout=timeout)
    try:
        s.ehlo()
        code, text = s.mail(sender)
        if code != 250:
            raise RuntimeError("MAIL FROM: %d %s" % (code, text))
        for r in rcpts:
            code, text = s.rcpt(r)
            sent.rcpts[r] = (code, text.decode("utf-8", "replace"))
        if any(c == 250 for c, _ in sent.rcpts.values()):
            msg = ("From: <%s>\r\nTo: %s\r\nSubject: %s\r\n"
                   "Message-ID: %s\r\nDate: %s\r\n\r\n%s\r\n" % (
                       sender, ", ".join("<%s>" % r for r in rcpts),
                       token, msgid, email.utils.formatdate(),
                       body or "test message " + token))
            code, text = s.data(msg.encode("utf-8"))
            sent.data = (code, text.decode("utf-8", "replace"))
        else:
            s.rset()
        s.quit()
    finally:
        s.close()
    return sent


def maildir_files(maildir, token=None):
    """Paths of the messages in maildir's new/ and cur/ (holding token)."""
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        for name in listdir(d):
            p = os.path.join(d, name)
            if token is None:
                out.append(p)
                continue
            try:
                with open(p, "rb") as f:
                    if token.encode() in f.read():
                        out.append(p)
            except OSError:
                pass
    return out


# ---------------------------------------------------------------- Postfix


class Postfix:
    """A private Postfix instance: config in DIR/pf-etc, queue in
    DIR/spool, data in DIR/pf-data, log in DIR/maillog, smtpd on
    127.0.0.1:port."""

    def __init__(self, root, port=None):
        self.root = root
        self.conf_dir = os.path.join(root, "pf-etc")
        self.queue_dir = os.path.join(root, "spool")
        self.data_dir = os.path.join(root, "pf-data")
        self.log_path = os.path.join(root, "maillog")
        self.port = port or t.free_port()
        self.pid = None
        for d in (self.conf_dir, self.queue_dir):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)

    def base_main(self):
        """Test settings that are no part of the shipped setup: paths of
        this instance, loopback only, no trusted network (127.0.0.1 must be
        refused relaying like any client), fast retries, a log file."""
        return "\n".join([
            "# --- the test instance (tests/lib/e2e_mail.py)",
            "compatibility_level = 3.6",
            "queue_directory = %s" % self.queue_dir,
            "data_directory = %s" % self.data_dir,
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "myhostname = mx.ldapmail.test",
            "mydomain = ldapmail.test",
            "mydestination =",
            "mynetworks = 192.0.2.1/32",
            "alias_maps =",
            "alias_database =",
            "biff = no",
            "smtpd_peername_lookup = no",
            "maillog_file = %s" % self.log_path,
            "maillog_file_prefixes = %s" % self.root,
            "queue_run_delay = 1s",
            "minimal_backoff_time = 1s",
            "maximal_backoff_time = 2s",
            "delay_warning_time = 0",
            "",
            "# --- the shipped fragment"])

    def write_config(self, main_fragment, master_fragment):
        """main.cf = base + main_fragment; master.cf = Debian's default
        with smtpd on our port and master_fragment as the virtual entry."""
        # A parameter set twice draws a warning from every Postfix
        # program: the fragment's setting replaces the base's.
        names = set(re.findall(r"(?m)^([a-z0-9_]+)\s*=", main_fragment))
        base = "".join(l + "\n" for l in self.base_main().split("\n")
                       if l.split("=")[0].strip() not in names)
        write(os.path.join(self.conf_dir, "main.cf"), base + main_fragment)
        with open(MASTER_DIST, encoding="utf-8") as f:
            dist = f.read()
        entries = _master_entries(dist)
        out = []
        replaced = {"smtp/inet": False, "virtual/unix": False}
        frag = "".join(_master_entries(master_fragment)) \
            if master_fragment is not None else None
        for e in entries:
            key = _master_key(e)
            if key == "smtp/inet":
                fields = e.split(None, 1)
                e = "127.0.0.1:%d %s" % (self.port, fields[1])
                replaced[key] = True
            elif key == "virtual/unix" and frag is not None:
                e = frag
                replaced[key] = True
            out.append(e)
        if not replaced["smtp/inet"] or (frag is not None and
                                         not replaced["virtual/unix"]):
            raise RuntimeError("master.cf.dist without smtp or virtual")
        write(os.path.join(self.conf_dir, "master.cf"), "".join(out))

    def postconf(self, *args):
        return t.run([POSTCONF, "-c", self.conf_dir] + list(args),
                     timeout=30)

    def master_pid(self):
        try:
            with open(os.path.join(self.queue_dir, "pid",
                                   "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self):
        r = t.run([POSTFIX, "-c", self.conf_dir, "start"], timeout=60)
        if r.rc != 0:
            raise RuntimeError("postfix start failed: " + r.why() +
                               "; log: " + self.log()[-1500:])
        pid = t.wait_until(self.master_pid, 10)
        if not pid or not t.pid_alive(pid):
            raise RuntimeError("no Postfix master after start: " + r.why())
        self.pid = pid
        if self not in t._running:
            t._running.append(self)
        # Ready when smtpd answers.
        if not t.wait_until(lambda: t._connectable(("127.0.0.1",
                                                    self.port)), 10):
            raise RuntimeError("smtpd does not listen on %d" % self.port)
        return self

    def alive(self):
        return self.pid is not None and t.pid_alive(self.pid)

    def stop(self):
        """postfix stop, then wait for the master's PID to go; SIGTERM and
        SIGKILL to that PID (never by name) if it stays."""
        if self.pid is None:
            return
        pid = self.pid
        if t.pid_alive(pid):
            t.run([POSTFIX, "-c", self.conf_dir, "stop"], timeout=30)
            if not t.wait_until(lambda: not t.pid_alive(pid), 15):
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        break
                    if t.wait_until(lambda: not t.pid_alive(pid), 5):
                        break
        self.pid = None
        if self in t._running:
            t._running.remove(self)

    def reload(self):
        r = t.run([POSTFIX, "-c", self.conf_dir, "reload"], timeout=30)
        if r.rc != 0:
            raise RuntimeError("postfix reload failed: " + r.why())
        time.sleep(0.5)

    def flush(self):
        t.run([POSTQUEUE, "-c", self.conf_dir, "-f"], timeout=30)

    def queue(self):
        """The messages in the queue: [dict] from postqueue -j."""
        r = t.run([POSTQUEUE, "-c", self.conf_dir, "-j"], timeout=30)
        out = []
        for line in r.out.splitlines():
            line = line.strip()
            if line:
                out.append(json.loads(line))
        return out

    def queued_ids(self):
        return [q["queue_id"] for q in self.queue()]

    def queue_tokens(self):
        """Subject tokens of the queued messages (postcat -q)."""
        toks = []
        for qid in self.queued_ids():
            r = t.run(["/usr/sbin/postcat", "-c", self.conf_dir, "-q",
                       qid], timeout=30)
            toks += re.findall(r"e2e-[0-9a-f]{12}", r.out)
        return toks

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8",
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_lines(self, pattern):
        return [l for l in self.log().splitlines() if re.search(pattern, l)]

    def __repr__(self):
        return "Postfix(%s, PID %s)" % (self.conf_dir, self.pid)


def _master_entries(text):
    """master.cf text -> its entries (a service line and its continuation
    lines, each entry as one string with its newlines); comments and blank
    lines dropped."""
    entries = []
    for line in text.splitlines(True):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[:1] in (" ", "\t") and entries:
            entries[-1] += line
        else:
            entries.append(line)
    return [e if e.endswith("\n") else e + "\n" for e in entries]


def _master_key(entry):
    f = entry.split()
    return "%s/%s" % (f[0], f[1])


# ------------------------------------------------------------ lookupd

san_reports = t.user_san_reports


class UserLookupd(t.Lookupd):
    """lookupd serve -f as uid:gid (setpriv, no supplementary groups),
    as lookupd.service starts it (User=ldapmail, Group=postfix)."""

    def __init__(self, cfg_text, uid, gid, **kw):
        self.uid, self.gid = uid, gid
        kw.setdefault("env", t.user_san_env())
        super().__init__(cfg_text, **kw)

    def set_config(self, cfg_text):
        super().set_config(cfg_text)
        self.argv = ["setpriv", "--reuid=%d" % self.uid,
                     "--regid=%d" % self.gid, "--clear-groups",
                     "--"] + self.argv


# ------------------------------------------------------------ the system


class MailSystem:
    """slapd + ldap-maildirmake + lookupd + Postfix, from the shipped
    files.  main_fragment: the repository path of the main.cf fragment."""

    def __init__(self, main_fragment="postfix/main.cf.fragment"):
        self.root = t.tmpdir("ldapmail-e2e-")
        os.chmod(self.root, 0o755)
        self.vmail = os.path.join(self.root, "vmail")
        os.makedirs(self.vmail)
        self.uid, self.gid, self.owner = vmail_owner()
        os.chown(self.vmail, self.uid, self.gid)
        self.cache = os.path.join(self.root, "cache")
        self.conf = os.path.join(self.root, "ldapmail.conf")
        self.postfix = Postfix(self.root)
        self.sock_dir = os.path.join(self.postfix.queue_dir, "ldapmail")
        self.sock = os.path.join(self.sock_dir, "lookupd.sock")
        self.main_fragment = main_fragment
        self.slapd = None
        self.lookupd = None

    # --- directory
    def ldif(self):
        with open(t.fixture_path(), encoding="utf-8") as f:
            text = f.read()
        text = text.replace(": /vmail/", ": %s/" % self.vmail)
        text = text.rstrip("\n") + "\n\n" + self.account_ldif(
            INACTIVE_DN, "inactivei", INACTIVE_MAIL, "ina.active",
            "inactive", "ina-secret")
        return text

    def account_ldif(self, dn, uid, mail, dirname, status, password):
        cn = dn.split(",")[0].split("=", 1)[1]
        return "".join([
            "dn: %s\n" % dn,
            "objectClass: top\nobjectClass: person\n",
            "objectClass: organizationalPerson\n",
            "objectClass: inetOrgPerson\nobjectClass: qmailUser\n",
            "cn: %s\nsn: %s\nuid: %s\n" % (cn, cn.split()[-1], uid),
            "userPassword: %s\nmail: %s\n" % (password, mail),
            "mailMessageStore: %s/%s/Maildir/\n" % (self.vmail, dirname),
            "accountStatus: %s\n\n" % status])

    def maildir(self, dirname):
        return os.path.join(self.vmail, dirname, "Maildir")

    @property
    def shared_incoming(self):
        return os.path.join(self.vmail, "shared.maildirs",
                            "timetravel.weekly", ".incoming")

    # --- ldapmail.conf from the shipped example
    def ldapmail_conf_text(self):
        pw = write(os.path.join(self.root, "bindpw"), t.SYSTEM_PW + "\n",
                   0o600)
        return set_params(shipped("ldapmail.conf.example"), {
            "ldap_uri": self.slapd.uri,
            "bind_dn": t.SYSTEM_DN,
            "bind_pw_file": pw,
            "domain_base": t.DOMAIN_BASE,
            "account_base": t.ACCOUNT_BASE,
            "socketmap_listen": "unix:" + self.sock,
            "cache_dir": self.cache,
            "mail_base": self.vmail,
            "mail_owner": self.owner,
        })

    def maildirmake(self):
        r = t.run([t.MAILDIRMAKE, "-c", self.conf], timeout=60)
        if r.rc != 0:
            raise RuntimeError("ldap-maildirmake failed: " + r.why())
        return r

    def postfix_main(self, fragment=None):
        text = shipped(fragment or self.main_fragment)
        text = text.replace("cdb:/var/lib/ldapmail/",
                            "cdb:%s/" % self.cache)
        return set_params(text, {
            "virtual_uid_maps": "static:%d" % self.uid,
            "virtual_gid_maps": "static:%d" % self.gid})

    def postfix_master(self):
        return shipped("postfix/master.cf.fragment").replace(
            "cdb:/var/lib/ldapmail/", "cdb:%s/" % self.cache)

    def start(self):
        self.slapd = t.Slapd(dir=os.path.join(self.root, "slapd"),
                             ldifs=[write(os.path.join(self.root,
                                                       "data.ldif"),
                                          self.ldif())]).start()
        write(self.conf, self.ldapmail_conf_text())
        # lookupd runs as lookupd.service runs it: an unprivileged user
        # (here the vmail test user stands in for "ldapmail") with primary
        # group postfix; its socket directory as ldapmail's tmpfiles.d
        # file makes it, its cache_dir as StateDirectory= does (before
        # ldap-maildirmake's first run: its state_dir is in there).
        pf_gid = grp.getgrnam("postfix").gr_gid
        for d in (self.sock_dir, self.cache):
            os.makedirs(d, exist_ok=True)
            os.chown(d, self.uid, pf_gid)
            os.chmod(d, 0o750)
        self.maildirmake()
        os.chown(os.path.join(self.root, "bindpw"), self.uid, self.gid)
        self.lookupd = UserLookupd(open(self.conf).read(), self.uid, pf_gid,
                                   dir=os.path.join(self.root, "lookupd"))
        self.lookupd.start()
        if not t.wait_until(lambda: os.path.exists(
                os.path.join(self.cache, "mailbox.cdb")), 15):
            raise RuntimeError("no snapshot after 15 s: " +
                               self.lookupd.errors()[-1000:])
        self.postfix.write_config(self.postfix_main(),
                                  self.postfix_master())
        self.postfix.start()
        return self

    # --- mail
    def send(self, rcpts, **kw):
        return smtp_send(self.postfix.port, rcpts, **kw)

    def wait_delivered(self, sent, maildir, timeout=20, flush=False):
        """Paths of the message in maildir once it arrived (or [])."""
        def look():
            if flush:
                self.postfix.flush()
            return maildir_files(maildir, sent.token)
        return t.wait_until(look, timeout, 0.5 if flush else 0.1)

    def bounces(self):
        """Log lines of bounced mail, and bounce messages anywhere."""
        return self.postfix.log_lines(r"status=bounced|sender non-delivery")

    def stop(self):
        self.postfix.stop()
        if self.lookupd:
            self.lookupd.stop()
        if self.slapd:
            self.slapd.stop()


# ---------------------------------------------------------------- Courier


class Courier:
    """courier-authdaemon (authldap) and Courier-IMAP on 127.0.0.1:port,
    in a private mount namespace holding the shipped authdaemonrc line and
    authldaprc (values replaced), pointed at m's slapd."""

    def __init__(self, mail, port=None):
        self.m = mail
        self.dir = os.path.join(mail.root, "courier")
        self.run_dir = os.path.join(self.dir, "authdaemon")
        self.port = port or t.free_port()
        self.holder = None
        self.authd = None
        self.imapd = None
        os.makedirs(self.run_dir, exist_ok=True)
        cg = grp.getgrnam("courier").gr_gid
        os.chown(self.run_dir, pwd.getpwnam("courier").pw_uid, cg)
        os.chmod(self.run_dir, 0o750)

    def authldaprc(self):
        return set_rc(shipped("courier/authldaprc"), {
            "LDAP_URI": self.m.slapd.uri,
            "LDAP_BINDPW": t.SYSTEM_PW,
            "LDAP_GLOB_UID": self.m.owner,
            "LDAP_GLOB_GID": grp.getgrgid(self.m.gid).gr_name})

    def authdaemonrc(self):
        with open("/etc/courier/authdaemonrc", encoding="utf-8") as f:
            text = f.read()
        line = [l for l in shipped("courier/authdaemonrc.fragment")
                .splitlines() if l.startswith("authmodulelist=")]
        if len(line) != 1:
            raise RuntimeError("authdaemonrc.fragment: no authmodulelist")
        text, n = re.subn(r"(?m)^authmodulelist=.*$", line[0], text)
        if n != 1:
            raise RuntimeError("/etc/courier/authdaemonrc: no "
                               "authmodulelist line")
        # Two authldap processes are plenty for a test.
        text = re.sub(r"(?m)^daemons=.*$", "daemons=2", text)
        return text

    def start(self):
        cg = grp.getgrnam("courier").gr_gid
        rc = write(os.path.join(self.dir, "authldaprc"), self.authldaprc(),
                   0o640)
        os.chown(rc, 0, cg)
        dr = write(os.path.join(self.dir, "authdaemonrc"),
                   self.authdaemonrc(), 0o640)
        os.chown(dr, 0, cg)
        ready = os.path.join(self.dir, "ns-ready")
        script = "\n".join([
            "set -e",
            "mount --make-rprivate /",
            "mount --bind %s /etc/courier/authldaprc" % rc,
            "mount --bind %s /etc/courier/authdaemonrc" % dr,
            "mkdir -p /run/courier/authdaemon",
            "mount --bind %s /run/courier/authdaemon" % self.run_dir,
            "touch %s" % ready,
            "exec sleep 100000"])
        self.holder = t.Daemon(["unshare", "-m", "--", "/bin/sh", "-c",
                                script], name="courier-ns",
                               dir=self.dir).start()
        if not t.wait_until(lambda: os.path.exists(ready), 10):
            raise RuntimeError("mount namespace not ready: " +
                               self.holder.errors())
        self.authd = t.Daemon(self.nsenter([AUTHDAEMOND]),
                              name="authdaemond", dir=self.dir).start()
        sock = os.path.join(self.run_dir, "socket")
        if not t.wait_until(lambda: os.path.exists(sock), 10):
            raise RuntimeError("authdaemond made no socket: " +
                               self.authd.errors())
        env = ["env", "-i", "PATH=/usr/bin:/bin:/usr/sbin:/sbin",
               "IMAP_CAPABILITY=IMAP4rev1 UIDPLUS CHILDREN NAMESPACE "
               "THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE",
               "IMAP_EMPTYTRASH=", "IMAP_USELOCKS=1", "IMAP_KEYWORDS=1",
               "IMAP_ACL=1", "IMAP_MAILBOX_SANITY_CHECK=1",
               "IMAP_UMASK=022", "IMAP_TRASHFOLDERNAME=Trash",
               "TCPDOPTS=-nodnslookup -noidentlookup",
               "MAILDIRPATH=Maildir"]
        self.imapd = t.Daemon(self.nsenter(env + [
            COURIERTCPD, "-address=127.0.0.1", "-maxprocs=5",
            "-maxperip=5", "-nodnslookup", "-noidentlookup",
            str(self.port), IMAPLOGIN, IMAPD, "Maildir"]),
            name="couriertcpd", dir=self.dir).start()
        if not t.wait_until(lambda: t._connectable(("127.0.0.1",
                                                    self.port)), 10):
            raise RuntimeError("couriertcpd does not listen: " +
                               self.imapd.errors())
        return self

    def nsenter(self, argv):
        return ["nsenter", "-t", str(self.holder.pid), "-m", "--"] + \
            list(argv)

    def authtest(self, login, password):
        return t.run(self.nsenter([AUTHTEST, login, password]), timeout=30)

    def imap(self):
        return imaplib.IMAP4("127.0.0.1", self.port, timeout=30)

    def stop(self):
        for d in (self.imapd, self.authd, self.holder):
            if d is not None:
                d.stop()
