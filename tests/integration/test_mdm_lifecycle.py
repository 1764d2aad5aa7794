#!/usr/bin/env python3
"""test_mdm_lifecycle: what ldap-maildirmake gives a new account besides
its maildir, against a real slapd, compared with Courier's own
maildirmake:

- default_folders: every maildir made in a run gets the folders, made as
  `maildirmake -f NAME` makes them, and subscribed as imapd's SUBSCRIBE
  writes courierimapsubscribed; a maildir that already existed gets
  none (a user who deleted one keeps it that way);
- quotas: mailQuotaSize gives maildirsize exactly as `maildirmake -q NS`
  writes it (with the mail already there counted); a changed value
  changes the first line only, the usage lines Courier appended are kept;
  the same value again changes nothing; an account without the attribute
  keeps the maildirsize it has;
- account_filter: an account it leaves out gets nothing;
- --orphans lists exactly the maildirs under mail_base no entry names
  (three here: one at the top, one deep, one sharable maildir), with
  their bytes and last change, and not the maildir of an inactive
  account, a directory that is no maildir, or what a symlink points to;
  it changes nothing;
- a new account on an orphan's path holding mail is refused (its DN and
  the path on stderr, exit 1, the orphan's maildir untouched), also
  when the old entry is deleted and made again with the same DN (a new
  entryUUID); adopt_orphans = yes takes it, recorded in state_dir; an
  account deactivated and activated again keeps its maildir; the first
  run (no record yet) takes every maildir it finds.
"""
import time
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
import mdm_util as m       # noqa: E402

D = t.tmpdir("ldapmail-life-")
os.chmod(D, 0o755)
BASE = os.path.join(D, "vmail")
REF = os.path.join(D, "ref")
LEAF = "ou=Life,%s" % t.SUFFIX
FOLDERS = ["Sent", "Drafts", "Trash", "Entw\u00fcrfe"]
_slapd = []


def quota_account(uid, quota=None, status="active"):
    ldif = m.account(uid, LEAF, uid, "%s/%s/" % (BASE, uid), status=status)
    if quota is not None:
        ldif = ldif.rstrip("\n") + "\nmailQuotaSize: %d\n\n" % quota
    return ldif


def slapd():
    if not _slapd:
        ldif = m.write(os.path.join(D, "data.ldif"), m.ou("Life") +
                       quota_account("qa", 104857600) +
                       quota_account("qb", 2048) +
                       quota_account("plain") +
                       quota_account("off", 1000, status="inactive") +
                       quota_account("left", 1000))
        _slapd.append(t.Slapd(ldifs=[t.fixture_path(), ldif]).start())
    return _slapd[0]


def conf(extra=""):
    return m.config(slapd(), D, BASE, LEAF, extra=(
        "default_folders = %s\naccount_filter = (!(uid=left))\n" %
        " ".join(FOLDERS)) + extra)


def courier(*args):
    return t.run(["/bin/sh", "-c", 'umask 022; exec "$@"', "sh",
                  m.COURIER] + list(args), timeout=30)


def courier_maildir(path, quota=None):
    """The maildir Courier's tools make: maildirmake, -f for each folder,
    the subscriptions imapd writes, maildirmake -q."""
    for args in ([path],) + tuple(["-f", f, path] for f in FOLDERS):
        r = courier(*args)
        assert r.rc == 0, r.why()
    with open(os.path.join(path, "courierimapsubscribed"), "wb") as f:
        f.write("".join("INBOX.%s\n" % n for n in FOLDERS).encode())
    if quota is not None:
        r = courier("-q", "%dS" % quota, path)
        assert r.rc == 0, r.why()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def snap(path):
    return m.snapshot(path)


@t.test
def new_maildirs_get_folders_and_quota_as_courier():
    m.clear(BASE)
    c = conf()
    r = m.run(c)
    t.eq(r.rc, 0, "first run", r.why())
    os.makedirs(REF, exist_ok=True)
    for uid, quota in (("qa", 104857600), ("qb", 2048), ("plain", None)):
        ref = os.path.join(REF, uid)
        courier_maildir(ref, quota)
        got = os.path.join(BASE, uid)
        a, b = snap(got), snap(ref)
        t.ok(a == b, "%s: maildir, %d folders, subscriptions and "
             "maildirsize as Courier's tools make them" % (uid, len(FOLDERS)),
             lambda: m.diff(a, b))
    t.eq(read(os.path.join(BASE, "qb", "maildirsize")),
         b"2048S\n           0            0\n",
         "qb: maildirsize holds 2048S and an empty usage line")
    t.ok(not os.path.exists(os.path.join(BASE, "plain", "maildirsize")),
         "no quota attribute: no maildirsize")
    t.ok(not os.path.exists(os.path.join(BASE, "off")),
         "an inactive account: nothing")
    t.ok(not os.path.exists(os.path.join(BASE, "left")),
         "an account account_filter leaves out: nothing")
    for f in FOLDERS:
        line = "created folder %s/qa/.%s/" % (BASE, f)
        t.ok(line in r.out, "one line per folder made: " + line, r.out)
    r = m.run(c)
    t.ok(r.rc == 0 and "no changes" in r.out, "second run: no changes",
         r.why())
    t.eq(m.leftovers(BASE), [], "no leftover")


@t.test
def existing_maildir_gets_no_folders():
    m.clear(BASE)
    r = m.run(m.config(slapd(), D, BASE, LEAF))
    t.eq(r.rc, 0, "a run without default_folders", r.why())
    t.ok(not os.path.exists(os.path.join(BASE, "plain", ".Sent")),
         "no folders then")
    r = m.run(conf())
    t.eq(r.rc, 0, "a run with default_folders", r.why())
    t.ok(not os.path.exists(os.path.join(BASE, "plain", ".Sent")) and
         not os.path.exists(os.path.join(BASE, "plain",
                                         "courierimapsubscribed")),
         "an existing maildir gets no folders and no subscriptions")


@t.test
def quota_change_keeps_usage_lines():
    m.clear(BASE)
    c = conf()
    t.eq(m.run(c).rc, 0, "first run")
    md = os.path.join(BASE, "qb")
    size = os.path.join(md, "maildirsize")
    # Courier appends a line per delivery.
    with open(size, "ab") as f:
        f.write(b"1234 1\n")
    st = os.stat(size)
    slapd().modify("dn: cn=qb,%s\nchangetype: modify\nreplace: "
                   "mailQuotaSize\nmailQuotaSize: 4096\n" % LEAF)
    r = m.run(c)
    t.eq(r.rc, 0, "run after the change", r.why())
    t.eq(read(size), b"4096S\n           0            0\n1234 1\n",
         "the first line changed, the usage lines kept")
    t.ok("quota of %s" % size in r.out or size in r.out,
         "the change is printed", r.out)
    t.eq(os.stat(size).st_uid, st.st_uid, "owner kept")
    r = m.run(c)
    t.ok(r.rc == 0 and "no changes" in r.out, "the same quota again: no "
         "changes", r.why())
    plain = os.path.join(BASE, "plain", "maildirsize")
    r = courier("-q", "777S", os.path.join(BASE, "plain"))
    t.eq(r.rc, 0, "a maildirsize made by hand", r.why())
    before = read(plain)
    r = m.run(c)
    t.ok(r.rc == 0 and read(plain) == before, "an account without a quota "
         "attribute keeps its maildirsize", r.why())


def measure(path):
    """Bytes of the regular files below path and the newest mtime of
    anything there (path included), no symlink followed."""
    total, newest = 0, int(os.lstat(path).st_mtime)
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            st = os.lstat(os.path.join(root, n))
            newest = max(newest, int(st.st_mtime))
            if n in files and os.path.isfile(os.path.join(root, n)) and \
                    not os.path.islink(os.path.join(root, n)):
                total += st.st_size
    return total, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(newest))


@t.test
def orphans_listed_never_touched():
    m.clear(BASE)
    c = conf()
    t.eq(m.run(c).rc, 0, "a run makes the accounts' maildirs")
    orphans = [os.path.join(BASE, "deep", "x", "gone2"),
               os.path.join(BASE, "gone1"),
               os.path.join(BASE, "shared.maildirs", "oldshare")]
    os.makedirs(os.path.join(BASE, "deep", "x"))
    os.makedirs(os.path.join(BASE, "shared.maildirs"), exist_ok=True)
    for p in orphans[:2]:
        t.eq(courier(p).rc, 0, "maildirmake " + p)
    t.eq(courier("-S", orphans[2]).rc, 0, "maildirmake -S " + orphans[2])
    with open(os.path.join(orphans[1], "cur", "1.M1.host:2,S"), "wb") as f:
        f.write(b"x" * 1234)
    os.utime(os.path.join(orphans[1], "cur", "1.M1.host:2,S"),
             (1700000000, 1700000000))
    t.eq(courier(os.path.join(BASE, "off")).rc, 0,
         "the inactive account's maildir, made by hand")
    os.makedirs(os.path.join(BASE, "notmail", "cur"))
    outside = os.path.join(D, "outside")
    m.clear(outside)
    t.eq(courier(os.path.join(outside, "md")).rc, 0, "a maildir outside")
    os.symlink(os.path.join(outside, "md"), os.path.join(BASE, "link"))
    before = m.snapshot(BASE, times=True)
    r = m.run(c, "--orphans")
    want = ["orphan %s %d %s" % ((p,) + measure(p)) for p in orphans]
    t.eq(r.rc, 0, "--orphans: exit 0", r.why())
    t.eq(r.out.splitlines(), want + [
        "ldap-maildirmake: 4 entries, 3 orphans (nothing changed)"],
        "--orphans: exactly the three, sorted, with bytes and last change")
    t.ok(" 1234 " in want[1], "the orphan's mail is counted", want)
    t.ok(m.snapshot(BASE, times=True) == before, "nothing changed")
    r = m.run(c, "--orphans", "--watch")
    t.eq(r.rc, 2, "--orphans with --watch: a usage error", r.why())


def put_mail(md):
    """Two messages, as Courier delivers them: one in cur/, one in a
    folder's new/; their paths and contents."""
    got = {}
    for rel, body in (("cur/1700000000.M1P1.h,S=5:2,S", b"mail1"),
                      (".Sent/new/1700000001.M2P1.h,S=5", b"mail2")):
        p = os.path.join(md, rel)
        if not os.path.isdir(os.path.dirname(p)):
            t.eq(courier("-f", "Sent", md).rc, 0, "maildirmake -f Sent")
        with open(p, "wb") as f:
            f.write(body)
        got[p] = body
    return got


def record():
    with open(os.path.join(m.state_dir(BASE), "maildirs")) as f:
        return [ln.split("\t") for ln in f.read().splitlines()
                if not ln.startswith("#")]


def uuid_of(dn):
    r = slapd().search(base=dn, scope="base", attrs=["entryUUID"],
                       bind="admin")
    return r.entries[0]["entryUUID"][0]


@t.test
def new_account_on_an_orphans_mail_is_refused():
    m.clear(BASE)
    os.rmdir(m.state_dir(BASE))     # made by the run
    c = conf()
    r = m.run(c)
    t.eq(r.rc, 0, "a first run on an empty tree", r.why())
    st = os.stat(m.state_dir(BASE))
    rec = os.stat(os.path.join(m.state_dir(BASE), "maildirs"))
    uid, gid = m.default_owner()
    t.eq((st.st_mode & 0o7777, st.st_uid, rec.st_mode & 0o7777,
          rec.st_uid, rec.st_gid), (0o700, uid, 0o600, uid, gid),
         "state_dir 0700 and its record 0600, mail_owner's")
    qa = "cn=qa,%s" % LEAF
    t.ok(["uuid:" + uuid_of(qa), os.path.join(BASE, "qa")] in record(),
         "the record holds qa's entryUUID and maildir", record())
    # A deleted account's maildir stays, with its mail.
    md = os.path.join(BASE, "newbie")
    t.eq(courier(md).rc, 0, "an orphan's maildir")
    mail = put_mail(md)
    before = m.snapshot(md, times=True)
    dn = "cn=newbie,%s" % LEAF
    slapd().add(quota_account("newbie", 1000))
    for args in ((), ("-n",)):
        r = m.run(c, *args)
        t.eq(r.rc, 1, "%s: exit 1" % (args or "a run"), r.why())
        want = ("%s: skipped: %s/ already holds 2 messages no account had"
                % (dn, md))
        t.ok(want in r.err, "the refusal names the DN and the path: " +
             want, r.err)
        t.ok(m.snapshot(md, times=True) == before, "the orphan's maildir "
             "is left as it was (no folder, no maildirsize)")
    t.ok(not any(ln[1] == md for ln in record()), "not in the record")
    r = m.run(conf("adopt_orphans = yes\n"))
    t.eq(r.rc, 0, "adopt_orphans = yes: exit 0", r.why())
    want = "adopted %s/ (2 messages an orphan left) for %s" % (md, dn)
    t.ok(want in r.out.splitlines(), "said: " + want, r.out)
    for p, body in mail.items():
        t.eq(read(p), body, "the mail is there: " + p)
    t.ok(["uuid:" + uuid_of(dn), md] in record(), "recorded as newbie's")
    r = m.run(c)
    t.eq(r.rc, 0, "adopt_orphans = no again: the record says whose it is",
         r.why())
    # Deactivated and activated again (its mail there): still its own.
    for status in ("inactive", "active"):
        slapd().modify("dn: %s\nchangetype: modify\nreplace: accountStatus"
                       "\naccountStatus: %s\n" % (dn, status))
        r = m.run(c)
        t.eq(r.rc, 0, "newbie %s: exit 0" % status, r.why())
    # Deleted and made again with the same DN: another entry (entryUUID).
    slapd().delete(dn)
    slapd().add(quota_account("newbie", 1000))
    before = m.snapshot(md, times=True)
    r = m.run(c)
    t.ok(r.rc == 1 and ("%s: skipped: %s/ already holds" % (dn, md)) in
         r.err, "the same DN made again is a new account: refused",
         r.why())
    t.ok(m.snapshot(md, times=True) == before, "nothing changed")
    for p, body in mail.items():
        t.eq(read(p), body, "the mail is still there: " + p)
    slapd().delete(dn)


@t.test
def first_run_takes_what_it_finds():
    m.clear(BASE)
    md = os.path.join(BASE, "qa")
    t.eq(courier(md).rc, 0, "qa's maildir, made before any record")
    mail = put_mail(md)
    r = m.run(conf())
    t.eq(r.rc, 0, "the first run takes it", r.why())
    want = ("ldap-maildirmake: no record in %s yet: the 1 maildirs found "
            "taken as their accounts'" % m.state_dir(BASE))
    t.ok(want in r.out.splitlines(), "said: " + want, r.out)
    for p, body in mail.items():
        t.eq(read(p), body, "the mail is there: " + p)
    r = m.run(conf())
    t.ok(r.rc == 0 and "no changes" in r.out and want not in r.out,
         "a second run: recorded, nothing to say", r.why())


@t.test
def state_dir_and_its_record_checked():
    bad = conf("state_dir = %s/state\n" % BASE)
    r = m.run(bad)
    t.ok(r.rc == 2 and "lies in mail_base" in r.err,
         "state_dir below mail_base: exit 2", r.why())
    os.symlink(D, os.path.join(D, "statelink"))
    r = m.run(conf("state_dir = %s/statelink\n" % D))
    t.ok(r.rc == 2 and "symlink is not followed" in r.err and
         "nothing done" in r.err, "a symlink as state_dir: exit 2",
         r.why())
    # A damaged record is refused whole: it must not turn into "no
    # record yet, take everything".
    m.clear(BASE)
    rec = os.path.join(m.state_dir(BASE), "maildirs")
    for text, why in ((b"uuid:x\t/p\nuuid:y\t/q", "not terminated"),
                      (b"uuid:x /p\n", "not \"ID<TAB>/PATH\""),
                      (b"uuid:x\trelative\n", "not \"ID<TAB>/PATH\"")):
        with open(rec, "wb") as f:
            f.write(text)
        os.chown(rec, *m.default_owner())
        r = m.run(conf())
        t.ok(r.rc == 2 and why in r.err and "nothing done" in r.err and
             os.listdir(BASE) == [], "a record %r: exit 2, nothing made" %
             text, r.why())
    os.chmod(rec, 0o666)
    with open(rec, "wb") as f:
        f.write(b"")
    r = m.run(conf())
    t.ok(r.rc == 2 and "writable by others" in r.err and
         os.listdir(BASE) == [], "a record others may write: exit 2",
         r.why())


if __name__ == "__main__":
    t.main()
