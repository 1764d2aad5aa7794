#!/usr/bin/env python3
"""test_e2e_mail: mail really flows, with a real Postfix and a real Courier.

One mail system for the four tests (tests/lib/e2e_mail.py): the test slapd
with the howto's directory (paths under a temporary mail_base, plus an
inactive account), ldap-maildirmake and lookupd configured from the
shipped ldapmail.conf.example (lookupd as an unprivileged user with group
postfix, as lookupd.service runs it), and a private Postfix instance
(postfix -c DIR start: its own queue and data directories, smtpd on
127.0.0.1) whose main.cf holds the shipped postfix/main.cf.fragment and
whose master.cf is Debian's own (smtpd, cleanup, trivial-rewrite chrooted)
with the shipped master.cf.fragment as its virtual service.

1. SMTP in, lookupd asked, virtual(8) delivers: a.onestone@ and
   AO+news@AnotherDomain.nu land in Albert's Maildir/new, timetravel@ in
   the shared folder through the delivery link; an inactive account and an
   unknown address get 550, another domain is refused as relaying.  Every
   shipped parameter is in effect (postconf -n, -M, -P) and the system's
   /etc/postfix is never written.  Why the master.cf override: without
   it, virtual(8) refuses the socketmap ("not allowed for
   security-sensitive data") and defers user+ext mail while user@ is
   delivered; with it back, the deferred mail is delivered.  The
   mydestination + local_transport = virtual variant delivers and rejects
   the same way.
2. A user added with ldapadd (and ldap-maildirmake run) receives mail
   within seconds, without reloading Postfix or lookupd; while the cdb
   snapshot catches up (min_refresh after the previous rebuild),
   virtual(8) soft-bounces it ("unknown user", 4.1.1) and retries; nothing
   bounces.
3. slapd stopped: mail to existing users (+ext too) is accepted and
   delivered; an unknown address (and an unknown domain) gets 4xx, never
   5xx; slapd back: 550 again, nothing bounced or lost (every accepted
   message of the file is in its maildir or in the queue).  Postfix
   stops by "postfix stop", checked by the PID of its master.
4. Courier (courier-authdaemon + courier-authlib-ldap, the shipped
   authldaprc and authdaemonrc line) in a private mount namespace:
   authtest by uid and by address succeeds and shows the maildir and the
   vmail uid/gid; a wrong password, an inactive account, a shared entry,
   an alternate address fail; Courier-IMAP on 127.0.0.1: Albert
   logs in, LISTs the shared folder of "Timetravel weekly", SELECTs it
   and finds the message of test 1 (counts, not only OK).
Runs as root.
"""
import grp
import hashlib
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t   # noqa: E402
import e2e_mail as e        # noqa: E402

ALBERT = "albert.onestone"
ALBERT_MAIL = "albert.onestone@anotherdomain.nu"
NEW_DN = "cn=Nova Newcomer,ou=Tokelau,o=company"
NEW_MAIL = "nova.newcomer@anotherdomain.nu"
EARLY_DN = "cn=Early Bird,ou=Tokelau,o=company"
EARLY_MAIL = "early.bird@anotherdomain.nu"

S = {"accepted": []}        # (Sent, maildir) of every accepted message


def tree_digest(top):
    """{path: sha256} of the regular files under top (and their modes)."""
    out = {}
    for dirpath, _, files in os.walk(top):
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                st = os.lstat(p)
                with open(p, "rb") as fh:
                    out[p] = (hashlib.sha256(fh.read()).hexdigest(),
                              st.st_mode, st.st_mtime_ns)
            except OSError:
                out[p] = None
    return out


def missing(courier=False):
    """Why this machine cannot run the test (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (Postfix's chroot, useradd, mount namespaces)"
    progs = [e.POSTFIX, e.POSTCONF, e.POSTQUEUE, e.MASTER_DIST,
             "/usr/lib/postfix/postfix-cdb.so", t.LOOKUPD, t.MAILDIRMAKE]
    if courier:
        progs += [e.AUTHDAEMOND, e.AUTHTEST, e.COURIERTCPD, e.IMAPLOGIN,
                  e.IMAPD, "/usr/lib/courier-authlib/libauthldap.so"]
    progs += [p for p in ("unshare", "nsenter", "setpriv", "mount")
              if not shutil.which(p)]
    gone = [p for p in progs if not os.path.exists(p)]
    return "missing: " + " ".join(gone) if gone else None


def system():
    """The mail system, started once (by whichever test runs first)."""
    if "m" not in S:
        S["etc_postfix"] = tree_digest("/etc/postfix")
        S["etc_courier"] = tree_digest("/etc/courier")
        S["run_courier"] = sorted(os.listdir("/run/courier/authdaemon")) \
            if os.path.isdir("/run/courier/authdaemon") else None
        t0 = time.monotonic()
        m = e.MailSystem()
        S["m"] = m
        m.start()
        t.note("mail system up in %.1f s (%s)" % (time.monotonic() - t0,
                                                  m.root))
    return S["m"]


def accept(sent, maildir):
    S["accepted"].append((sent, maildir))


def header(path, name):
    with open(path, "rb") as f:
        head = f.read().split(b"\n\n", 1)[0].decode("utf-8", "replace")
    return re.findall(r"(?mi)^%s:\s*(.*)$" % re.escape(name), head)


def fragment_params(text):
    """name -> value of a main.cf text (continuations joined)."""
    out = {}
    cur = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[:1] in (" ", "\t") and cur:
            out[cur] += " " + line.strip()
            continue
        name, _, value = line.partition("=")
        cur = name.strip()
        out[cur] = value.strip()
    return {k: " ".join(v.split()) for k, v in out.items()}


def check_config(m, fragment_text, label):
    """postconf -n: no warning, every parameter of the fragment in effect."""
    r = m.postfix.postconf("-n")
    t.eq((r.rc, r.err), (0, ""), "%s: postconf -c DIR -n runs without "
         "warnings" % label)
    got = {}
    for line in r.out.splitlines():
        k, _, v = line.partition("=")
        got[k.strip()] = " ".join(v.split())
    want = fragment_params(fragment_text)
    bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    t.ok(not bad and want, "%s: every parameter of the fragment (%d) in "
         "effect" % (label, len(want)), "differ (got, want): %r" % bad)


def deliverables(m, label):
    """The deliveries and refusals of test 1, for one main.cf setup."""
    albert = m.maildir(ALBERT)
    cases = [("a.onestone@anotherdomain.nu", albert,
              ALBERT_MAIL),
             ("AO+news@AnotherDomain.nu", albert,
              "albert.onestone+news@anotherdomain.nu"),
             ("timetravel@anotherdomain.nu", m.shared_incoming,
              "timetravel@anotherdomain.nu")]
    sents = []
    for rcpt, box, delivered_to in cases:
        s = m.send(rcpt)
        t.ok(s.accepted and s.code(rcpt) == 250,
             "%s: RCPT and DATA to %s accepted" % (label, rcpt), repr(s))
        sents.append((s, rcpt, box, delivered_to))
        if s.accepted:
            accept(s, box)
    for s, rcpt, box, delivered_to in sents:
        t0 = time.monotonic()
        files = m.wait_delivered(s, box, 20)
        where = os.path.relpath(box, m.vmail)
        t.ok(len(files) == 1 and "/new/" in files[0],
             "%s: %s delivered into %s/new (%.1f s)" % (
                 label, rcpt, where, time.monotonic() - t0),
             "found %r; queue %r; log %s" % (files, m.postfix.queue(),
                                             m.postfix.log()[-1500:]))
        if files:
            st = os.stat(files[0])
            t.eq((st.st_uid, st.st_gid), (m.uid, m.gid),
                 "%s: %s: the message belongs to the vmail user" % (
                     label, rcpt))
            t.eq(header(files[0], "Delivered-To"), [delivered_to],
                 "%s: %s: Delivered-To %s" % (label, rcpt, delivered_to))
        S.setdefault("first_" + label, {})[rcpt] = s
    refused = m.send([e.INACTIVE_MAIL, "nobody@anotherdomain.nu",
                      "someone@example.com"])
    t.eq(refused.code(e.INACTIVE_MAIL), 550,
         "%s: RCPT to an inactive account: 550" % label,
         refused.text(e.INACTIVE_MAIL))
    t.eq(refused.code("nobody@anotherdomain.nu"), 550,
         "%s: RCPT to an unknown address: 550" % label,
         refused.text("nobody@anotherdomain.nu"))
    code, text = refused.rcpts["someone@example.com"]
    t.ok(code in (454, 554) and "Relay access denied" in text,
         "%s: RCPT to a domain not in the directory: relay refused (%d)" %
         (label, code), text)


@t.test
def postfix_delivers_through_lookupd_into_the_maildirs():
    why = missing()
    if why:
        t.skip('postfix delivers through lookupd into the maildirs', why)
        return
    m = system()
    pf = m.postfix
    check_config(m, m.postfix_main(), "main.cf.fragment")
    want = "".join(e._master_entries(m.postfix_master())).split()
    t.eq(pf.postconf("-M", "virtual/unix").out.split(), want,
         "master.cf.fragment is the virtual service (postconf -M)")
    t.eq(pf.postconf("-P", "virtual/unix/virtual_mailbox_maps").out.strip(),
         "virtual/unix/virtual_mailbox_maps = cdb:%s/mailbox" % m.cache,
         "master.cf.fragment: virtual(8) reads the cdb snapshot alone")
    t.eq(pf.postconf("-P", "virtual/unix/soft_bounce").out.strip(),
         "virtual/unix/soft_bounce = yes",
         "master.cf.fragment: virtual(8) runs with soft_bounce=yes")
    chroot = {}
    for line in pf.postconf("-M").out.splitlines():
        f = line.split()
        chroot["smtpd" if f[1] == "inet" else f[0]] = f[4]
    t.eq([chroot.get(s) for s in ("smtpd", "cleanup", "rewrite")],
         ["y", "y", "y"], "Debian's master.cf: smtpd, cleanup and "
         "trivial-rewrite chrooted into the queue directory")
    st = os.stat(m.sock)
    t.ok(oct(st.st_mode & 0o777) == oct(0o660) and
         st.st_gid == grp.getgrnam("postfix").gr_gid,
         "lookupd's socket: mode 0660, group postfix, in "
         "queue_directory/ldapmail/",
         "mode %o gid %d" % (st.st_mode, st.st_gid))

    deliverables(m, "recommended")
    link = os.path.join(m.vmail, "shared", "timetravel.weekly", "incoming")
    t.eq(os.path.realpath(link), os.path.realpath(m.shared_incoming),
         "timetravel@ went through the delivery link %s" %
         os.path.relpath(link, m.vmail))

    # Why master.cf needs the override: virtual(8) given main.cf's
    # "cdb:..., socketmap:..." refuses the socketmap and defers user+ext.
    plain = "virtual   unix  -       n       n       -       -       " \
        "virtual\n"
    pf.write_config(m.postfix_main(), plain)
    pf.reload()
    s_ext = m.send("AO+bug@anotherdomain.nu")
    s_plain = m.send(ALBERT_MAIL)
    accept(s_ext, m.maildir(ALBERT))
    accept(s_plain, m.maildir(ALBERT))
    got_plain = m.wait_delivered(s_plain, m.maildir(ALBERT), 20)
    t.ok(got_plain, "without the override: %s still delivered (cdb hit "
         "first)" % ALBERT_MAIL)
    qid = s_ext.data[1].split()[-1] if s_ext.accepted else "?"
    deferred = t.wait_until(lambda: [
        l for l in pf.log_lines(r"%s: to=<albert.onestone\+bug@" % qid)
        if "status=deferred" in l], 20)
    refusal = pf.log_lines(r"virtual\[\d+\]: .*socketmap:unix:ldapmail/"
                           r"lookupd\.sock:mailbox .*not allowed for "
                           r"security-sensitive data")
    t.ok(deferred and refusal and
         not e.maildir_files(m.maildir(ALBERT), s_ext.token),
         "without the override: virtual(8) refuses the socketmap (\"not "
         "allowed for security-sensitive data\") and defers AO+bug@",
         "deferred %r, refusal %r" % (deferred[:1], refusal[:1]))
    if deferred:
        t.note(deferred[0].split(": ", 1)[1])
    time.sleep(2)
    t.ok(not e.maildir_files(m.maildir(ALBERT), s_ext.token) and
         qid in pf.queued_ids(),
         "without the override: AO+bug@ still waits in the queue after "
         "retries")
    pf.write_config(m.postfix_main(), m.postfix_master())
    pf.reload()
    pf.flush()
    t.ok(m.wait_delivered(s_ext, m.maildir(ALBERT), 20, flush=True),
         "override back: the deferred AO+bug@ message is delivered")

    # The howto's variant: mydestination + local_transport = virtual.
    variant = m.postfix_main("postfix/main.cf.mydestination.fragment")
    pf.write_config(variant, m.postfix_master())
    pf.reload()
    check_config(m, variant, "main.cf.mydestination.fragment")
    deliverables(m, "mydestination variant")
    pf.write_config(m.postfix_main(), m.postfix_master())
    pf.reload()
    t.eq(m.bounces(), [], "nothing bounced")
    t.eq(tree_digest("/etc/postfix"), S["etc_postfix"],
         "the system's /etc/postfix is untouched")


@t.test
def a_new_user_receives_mail_within_seconds():
    why = missing()
    if why:
        t.skip('a new user receives mail within seconds', why)
        return
    m = system()
    pf = m.postfix
    lookupd_pid, master_pid = m.lookupd.pid, pf.master_pid()
    reloads = len(pf.log_lines(r"master\[\d+\]: reload"))
    box = os.path.join(m.vmail, "nova.newcomer", "Maildir")
    cdb = "cdb:" + os.path.join(m.cache, "mailbox")
    # A first newcomer, found live, brings a snapshot rebuild forward; the
    # one added right after must wait min_refresh (10 s, the default) for
    # the next rebuild: virtual(8)'s first attempt finds no mailbox
    # for it in the cdb file, and soft_bounce must turn that into a retry.
    m.slapd.add(m.account_ldif(EARLY_DN, "earlyb", EARLY_MAIL,
                               "early.bird", "active", "early-secret"))
    t_live = time.monotonic()       # the rebuild it brings starts later
    t.ok(m.lookupd.query("mailbox", EARLY_MAIL).startswith(b"OK "),
         "a first newcomer: lookupd finds it live")
    t.ok(t.wait_until(lambda: t.postmap_q(EARLY_MAIL, cdb)[0] == 0, 15,
                      0.2), "... and its live find brings a snapshot "
         "rebuild forward (the cdb file lists it)")
    m.slapd.add(m.account_ldif(NEW_DN, "newcomern", NEW_MAIL,
                               "nova.newcomer", "active", "nova-secret"))
    S["new_user_added"] = True
    t0 = time.monotonic()
    m.maildirmake()
    t.ok(os.path.isdir(os.path.join(box, "new")),
         "ldap-maildirmake made the newcomer's maildir")
    s = m.send(NEW_MAIL)
    t.ok(s.accepted, "RCPT to the new address accepted at once (lookupd "
         "asks LDAP live)", repr(s))
    accept(s, box)
    files = m.wait_delivered(s, box, 30, flush=True)
    secs = time.monotonic() - t0
    t.ok(files and secs < 30 * t.SLOW, "delivered into the new maildir "
         "%.1f s after ldapadd" % secs, "queue %r, log %s" % (
             pf.queue(), pf.log()[-1500:]))
    qid = s.data[1].split()[-1] if s.accepted else "?"
    lines = pf.log_lines(r"%s: to=<" % qid)
    # soft_bounce logs a would-be bounce as status=SOFTBOUNCE (dsn 4.x).
    deferrals = [l for l in lines if re.search(r"status=(deferred|"
                                               r"SOFTBOUNCE)", l)]
    if deferrals:
        t.note(deferrals[0].split(": ", 1)[1])
    # The next rebuild starts min_refresh (10 s) after the one the first
    # newcomer brought, which started after t_live: a delivery seen
    # before that cannot have found the newcomer in the cdb file at its
    # first attempt, so it was deferred.  Seen later (valgrind, a busy
    # machine), the snapshot may have caught up first.
    caught_up = t0 + secs - t_live >= 10
    t.ok((deferrals or caught_up) and
         all("dsn=4." in l for l in deferrals),
         "while the cdb snapshot catches up, virtual(8) defers (%d x, "
         "4.x) and never bounces" % len(deferrals), repr(lines))
    t.eq(m.bounces(), [], "nothing bounced")
    t.eq((m.lookupd.pid, m.lookupd.alive(), pf.master_pid(),
          len(pf.log_lines(r"master\[\d+\]: reload"))),
         (lookupd_pid, True, master_pid, reloads),
         "neither lookupd nor Postfix was restarted or reloaded")


@t.test
def slapd_down_mail_still_flows_and_nothing_is_lost():
    why = missing()
    if why:
        t.skip('slapd down mail still flows and nothing is lost', why)
        return
    m = system()
    pf = m.postfix
    m.slapd.stop()
    t.ok(not m.slapd.alive(), "slapd stopped")
    cases = [("a.onestone@anotherdomain.nu", m.maildir(ALBERT)),
             ("AO+outage@anotherdomain.nu", m.maildir(ALBERT)),
             ("s.o.9@anotherdomain.nu", m.maildir("seven.of.nine")),
             ("timetravel@anotherdomain.nu", m.shared_incoming)]
    if S.get("new_user_added"):
        cases.append((NEW_MAIL, os.path.join(m.vmail, "nova.newcomer",
                                             "Maildir")))
    sents = []
    for rcpt, box in cases:
        s = m.send(rcpt)
        t.ok(s.accepted, "slapd down: mail to %s accepted" % rcpt, repr(s))
        if s.accepted:
            accept(s, box)
            sents.append((s, rcpt, box))
    for s, rcpt, box in sents:
        t.ok(m.wait_delivered(s, box, 20),
             "slapd down: %s delivered" % rcpt,
             "queue %r" % pf.queue())
    # Addresses never asked before: one that lookupd found unknown less
    # than negative_ttl (30 s) ago would still get its remembered 550.
    unknown = ["nobody.%s@anotherdomain.nu" % sents[0][0].token,
               "someone@unknown-%s.example" % sents[0][0].token] \
        if sents else ["nobody.x@anotherdomain.nu", "someone@unknown.example"]
    r = m.send(unknown)
    for rcpt, what in zip(unknown, ("an unknown address",
                                    "an unknown domain")):
        code = r.code(rcpt)
        t.ok(400 <= code < 500, "slapd down: RCPT to %s gets %d (4xx, "
             "never 5xx)" % (what, code), r.text(rcpt))

    m.slapd.start()
    t.ok(m.slapd.alive(), "slapd back")
    r = t.wait_until(lambda: (lambda x: x if x.code(unknown[0]) == 550
                              else None)(m.send(unknown[0])), 20, 1)
    t.ok(r, "slapd back: the same unknown address gets 550")
    pf.flush()
    time.sleep(1)
    queued = set(pf.queue_tokens())
    lost = []
    for s, box in S["accepted"]:
        if not e.maildir_files(box, s.token) and s.token not in queued:
            lost.append((s.token, os.path.relpath(box, m.vmail)))
    t.ok(S["accepted"] and not lost, "nothing lost: each of the %d "
         "accepted messages is in its maildir or in the queue" %
         len(S["accepted"]), "missing %r" % lost)
    t.eq(m.bounces(), [], "nothing bounced (no status=bounced in the log)")
    t.eq([q for q in pf.queue() if q.get("sender") == ""], [],
         "no bounce message in the queue")

    pid = pf.master_pid()
    pf.stop()
    t.ok(pid and not t.pid_alive(pid),
         "postfix -c DIR stop: the master (PID %s, from its pid file) is "
         "gone" % pid)
    # smtpd processes notice the master is gone and exit on their own,
    # each in its time (later on a busy machine).
    t.ok(t.wait_until(lambda: not t._connectable(("127.0.0.1", pf.port)),
                      10), "nothing listens on the SMTP port any more")
    t.eq(tree_digest("/etc/postfix"), S["etc_postfix"],
         "the system's /etc/postfix is untouched")


@t.test
def courier_authenticates_and_shows_the_shared_folder():
    why = missing(courier=True)
    if why:
        t.skip('courier authenticates and shows the shared folder', why)
        return
    m = system()
    c = e.Courier(m)
    c.start()
    albert_box = m.maildir(ALBERT) + "/"
    for login in ("onestonea", ALBERT_MAIL):
        r = c.authtest(login, "albert-secret")
        t.ok(r.rc == 0 and "Authentication succeeded" in r.out and
             re.search(r"(?m)^\s*Maildir: %s$" % re.escape(albert_box),
                       r.out),
             "authtest %s albert-secret succeeds, Maildir %s" % (
                 login, os.path.relpath(albert_box, m.root)), r.why())
        t.ok("(uid %d, gid %d)" % (m.uid, m.gid) in r.out,
             "authtest %s: the global vmail uid/gid" % login, r.out)
    for login, pw, what in (
            ("onestonea", "wrong-secret", "a wrong password"),
            (ALBERT_MAIL, "wrong-secret", "a wrong password (by address)"),
            ("inactivei", "ina-secret", "an inactive account"),
            (e.INACTIVE_MAIL, "ina-secret", "an inactive account (by "
             "address)"),
            ("incoming", "x", "a shared entry"),
            ("a.onestone@anotherdomain.nu", "albert-secret",
             "an alternate address (not a login name)")):
        r = c.authtest(login, pw)
        t.ok(r.rc != 0 and "Authentication succeeded" not in r.out,
             "authtest %s: %s fails" % (login, what), r.why())

    first = S.get("first_recommended", {}).get(
        "timetravel@anotherdomain.nu")
    on_disk = len(e.maildir_files(m.shared_incoming))
    im = c.imap()
    try:
        typ, data = im.login("onestonea", "albert-secret")
        t.eq(typ, "OK", "IMAP LOGIN onestonea")
        typ, data = im.list()
        names = [re.findall(r'"([^"]*)"$', x.decode())[0] for x in data
                 if x]
        folder = "shared.Timetravel_weekly.incoming"
        t.ok(folder in names and
             "shared.Timetravel_weekly.past.editions" in names,
             "LIST shows the shared folders of Timetravel weekly", names)
        typ, data = im.select('"%s"' % folder, readonly=True)
        count = int(data[0]) if typ == "OK" else -1
        t.ok(typ == "OK" and count == on_disk and count >= 1,
             "SELECT %s: %d message(s), as many as the shared folder "
             "holds" % (folder, count), "%s %r, on disk %d" % (
                 typ, data, on_disk))
        if first is None:
            t.ok(False, "the message of test 1 is there",
                 "test 1 delivered none")
        else:
            typ, data = im.search(None, "SUBJECT", first.token)
            hits = data[0].split() if typ == "OK" else []
            t.eq(len(hits), 1, "SEARCH finds the message delivered in "
                 "test 1 (%s)" % first.token)
            if hits:
                typ, data = im.fetch(hits[0], "(BODY.PEEK[HEADER.FIELDS "
                                     "(MESSAGE-ID)])")
                t.ok(first.msgid.encode() in data[0][1],
                     "FETCH: its Message-ID %s" % first.msgid, repr(data))
        im.logout()
    finally:
        try:
            im.shutdown()
        except OSError:
            pass
    im = c.imap()
    try:
        typ, _ = im.login(ALBERT_MAIL, "albert-secret")
        t.eq(typ, "OK", "IMAP LOGIN by address")
        im.logout()
    finally:
        try:
            im.shutdown()
        except OSError:
            pass
    c.stop()
    t.eq(tree_digest("/etc/courier"), S["etc_courier"],
         "the system's /etc/courier is untouched")
    t.eq(sorted(os.listdir("/run/courier/authdaemon"))
         if os.path.isdir("/run/courier/authdaemon") else None,
         S["run_courier"], "the system's /run/courier/authdaemon is "
         "untouched")
    m.stop()
    reports = e.san_reports()
    t.eq(reports, [], "no sanitizer report from lookupd (run as the "
         "unprivileged user)")


if __name__ == "__main__":
    t.main()
