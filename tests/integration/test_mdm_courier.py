#!/usr/bin/env python3
"""test_mdm_courier: maildirsize quotas and default folders
(maildirmake/quota.c, folders.c through tests/tools/mdm-courier) against
Courier's own programs.

- quota, new file: byte for byte, name, mode and owner what Courier's
  maildirmake -q writes (under umask 022) for sizes only, counts only,
  both, the largest values, and no quota (no file); on a maildir already
  holding mail (sizes in names and not, a T-flagged message, a folder,
  .Trash, a dot file) the usage line counts what Courier counts;
- quota changed: only the first line is replaced, the usage lines Courier
  appended stay byte for byte, the mode is kept, and Courier's
  deliverquota then enforces the new quota; the same quota changes
  nothing (same inode, same mtime); no quota removes the file; -n
  changes nothing;
- safety: a maildirsize that is a symlink or has two links, a tmp/ that
  is a symlink, a maildir reached through a symlink: refused, nothing
  written anywhere; run as root with mail_owner, files are
  mail_owner's;
- default folders: the tree equals maildirmake -f NAME for each (UTF-8
  and hierarchical names), courierimapsubscribed equals what imapd's
  SUBSCRIBE writes for the same folders, imapd LSUB lists them; existing
  lines (one left unterminated) are kept, a line is never added twice;
  bad names are refused.
Runs as root.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t  # noqa: E402
import mdm_util as m       # noqa: E402

D = t.tmpdir("ldapmail-courier-")
os.chmod(D, 0o755)
BASE = os.path.join(D, "vmail")
TOOL = t.tool("mdm-courier")
DELIVERQUOTA = "/usr/sbin/deliverquota.maildrop"
IMAPD = "/usr/bin/imapd"
FOLDERS = ["Sent", "Drafts", "Trash", "Entw\u00fcrfe", "Archive.2024"]
# The same folders as an IMAP client names them (modified UTF-7).
IMAP_NAMES = ["Sent", "Drafts", "Trash", "Entw&APw-rfe", "Archive.2024"]


def courier(*args):
    """Courier's maildirmake under umask 022."""
    return t.run(["/bin/sh", "-c", 'umask 022; exec "$@"', "sh",
                  m.COURIER] + list(args), timeout=30)


def tool(*args, owner=None):
    argv = [TOOL]
    if owner:
        argv += ["-o", "%d:%d" % owner]
    return t.run(argv + [BASE] + list(args), timeout=30)


def fresh():
    m.clear(BASE)


def maildir(name):
    """A new maildir made by Courier's maildirmake; its path."""
    p = os.path.join(BASE, name)
    r = courier(p)
    assert r.rc == 0, r.why()
    return p


def put_mail(md):
    """Mail as deliveries and IMAP leave it, the same in every maildir."""
    msgs = {
        "new/1.M1P1.host,S=20": 20,       # size stated in the name
        "cur/2.M1P2.host:2,S": 33,        # size from the file
        "cur/3.M1P3.host,S=7:2,ST": 7,    # trashed: not counted
        "cur/.hidden": 5,                 # dot file: not counted
        ".Sent/cur/4.M1P4.host,S=4:2,S": 4,
        ".Trash/cur/5.M1P5.host,S=50:2,S": 50,   # Trash: not counted
    }
    for d in (".Sent", ".Trash"):
        r = courier("-f", d[1:], md)
        assert r.rc == 0, r.why()
    for rel, n in msgs.items():
        with open(os.path.join(md, rel), "wb") as f:
            f.write(b"x" * n)


def read(path):
    with open(path, "rb") as f:
        return f.read()


CASES = [(104857600, 1000), (104857600, 0), (0, 1000), (1, 1),
         (9223372036854775807, 2147483647), (0, 0)]


@t.test
def new_quota_as_maildirmake_q():
    for mail in (False, True):
        for b, c in CASES:
            fresh()
            ref, got = maildir("ref"), maildir("got")
            if mail:
                put_mail(ref)
                put_mail(got)
            what = "%dS,%dC%s" % (b, c, " (with mail)" if mail else "")
            r = courier("-q", "%dS,%dC" % (b, c), ref)
            t.eq(r.rc, 0, "maildirmake -q " + what, r.why())
            r = tool("quota", got, str(b), str(c))
            t.eq(r.rc, 0, "mdm-courier quota " + what, r.why())
            want, have = m.snapshot(ref), m.snapshot(got)
            t.ok(want == have, "quota %s: tree as maildirmake -q" % what,
                 lambda: m.diff(have, want))
            if b == 0 and c == 0:
                t.ok(not os.path.exists(os.path.join(got, "maildirsize")),
                     "quota %s: no maildirsize" % what)
            t.eq(r.out.splitlines()[-1], "exists" if b == c == 0
                 else "created", "quota %s: result" % what)
            t.eq(m.leftovers(BASE), [], "quota %s: no leftover" % what)
    fresh()
    got = maildir("got")
    put_mail(got)
    tool("quota", got, "1000", "0")
    t.eq(read(os.path.join(got, "maildirsize")),
         b"1000S\n          57            3\n",
         "usage: 20 + 33 + 4 bytes, 3 messages (not T, dot, .Trash)")


@t.test
def changed_quota_keeps_usage_lines():
    fresh()
    md = maildir("a")
    r = courier("-q", "1000S", md)
    size = os.path.join(md, "maildirsize")
    with open(size, "ab") as f:
        f.write(b"         100            2\n        -100           -1\n")
    os.chmod(size, 0o640)
    before = read(size)
    r = tool("quota", md, "50", "7")
    t.eq(r.out, 'changed quota of %s from "1000S" to "50S,7C"\ncreated\n'
         % size, "change: one line says what changed", r.why())
    t.eq(read(size), b"50S,7C\n" + before.split(b"\n", 1)[1],
         "change: first line replaced, usage lines byte for byte")
    t.eq(oct(os.stat(size).st_mode & 0o7777), oct(0o640), "change: mode kept")
    st = os.stat(size)
    r = tool("quota", md, "50", "7")
    st2 = os.stat(size)
    t.eq(r.out, "exists\n", "same quota: nothing to do")
    t.eq((st2.st_ino, st2.st_mtime_ns), (st.st_ino, st.st_mtime_ns),
         "same quota: file untouched")
    # Courier reads the new line: 100 bytes over a 50-byte quota.
    with open("/tmp/ldapmail-msg100", "wb") as f:
        f.write(b"x" * 100)
    tool("quota", md, "50", "0")
    with open("/tmp/ldapmail-msg100", "rb") as f:
        p = subprocess.run([DELIVERQUOTA, md], stdin=f,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
    t.eq(p.returncode, 77, "deliverquota refuses 100 bytes over 50S",
         p.stderr.decode(errors="replace"))
    tool("quota", md, "100000", "0")
    with open("/tmp/ldapmail-msg100", "rb") as f:
        p = subprocess.run([DELIVERQUOTA, md], stdin=f,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
    os.unlink("/tmp/ldapmail-msg100")
    t.eq(p.returncode, 0, "deliverquota delivers under 100000S",
         p.stderr.decode(errors="replace"))
    # Dry run: says, does nothing.
    before = read(size)
    r = tool("-n", "quota", md, "1", "0")
    t.eq(r.out, 'would change quota of %s from "100000S" to "1S"\nwould\n'
         % size, "dry run: what would change")
    t.eq(read(size), before, "dry run: unchanged")
    r = tool("-n", "quota", md, "0", "0")
    t.eq(r.out, "would remove %s (no quota)\nwould\n" % size,
         "dry run: would remove")
    r = tool("quota", md, "0", "0")
    t.eq(r.out, "removed %s (no quota)\ncreated\n" % size, "no quota: removed")
    t.ok(not os.path.lexists(size), "no quota: no file")
    r = tool("-n", "quota", os.path.join(BASE, "new"), "5", "0")
    t.eq(r.out, "would create %s/new/maildirsize\nwould\n" % BASE,
         "dry run of a maildir still to be made")
    # An empty file: made whole again.
    with open(size, "wb") as f:
        pass
    r = tool("quota", md, "10", "0")
    t.eq(read(size), b"10S\n         100            1\n",
         "an empty maildirsize: a new file, delivered mail counted", r.why())
    # A file holding only the quota line: made whole again, mail counted.
    with open(size, "wb") as f:
        f.write(b"9S\n")
    tool("quota", md, "10", "0")
    t.eq(read(size), b"10S\n         100            1\n",
         "a line without usage: a new file, delivered mail counted")


@t.test
def quota_as_root_for_mail_owner():
    fresh()
    md = maildir("a")
    uid, gid = m.default_owner()
    os.chown(md, uid, gid)
    r = tool("quota", md, "5", "0", owner=(uid, gid))
    st = os.stat(os.path.join(md, "maildirsize"))
    t.eq((st.st_uid, st.st_gid, oct(st.st_mode & 0o7777)),
         (uid, gid, oct(0o644)), "owned by mail_owner, 0644", r.why())


@t.test
def quota_never_follows_a_symlink():
    fresh()
    md = maildir("a")
    victim = os.path.join(D, "victim")
    m.write(victim, "5S\n keep\n", 0o644)
    size = os.path.join(md, "maildirsize")

    os.symlink(victim, size)
    r = tool("quota", md, "9", "0")
    t.eq(r.out, "failed: %s: is a symlink (not followed; left alone)\n"
         % size, "maildirsize a symlink: refused")
    t.eq(read(victim), b"5S\n keep\n", "symlink target untouched")
    os.unlink(size)

    os.link(victim, size)
    r = tool("quota", md, "9", "0")
    t.eq(r.out, "failed: %s is not a regular file with one link owned by "
         "mail_owner or root (left alone)\n" % size,
         "maildirsize with two links: refused")
    t.eq(read(victim), b"5S\n keep\n", "hard link target untouched")
    os.unlink(size)

    shutil.rmtree(os.path.join(md, "tmp"))
    os.symlink(D, os.path.join(md, "tmp"))
    r = tool("quota", md, "9", "0")
    t.eq(r.out, "failed: %s/tmp: is a symlink (not followed)\n" % md,
         "tmp/ a symlink: refused")
    t.eq(m.leftovers(D), [], "nothing written through tmp/")
    t.ok(not os.path.lexists(size), "no maildirsize made")

    os.symlink(maildir("real"), os.path.join(BASE, "link"))
    r = tool("quota", os.path.join(BASE, "link"), "9", "0")
    t.eq(r.out, "failed: %s/link is a symlink (not followed)\n" % BASE,
         "maildir reached through a symlink: refused")
    t.ok(not os.path.exists(os.path.join(BASE, "real", "maildirsize")),
         "nothing written in the link's target")
    r = tool("quota", "/etc", "9", "0")
    t.eq(r.out, "failed: /etc: not inside mail_base\n",
         "outside mail_base: refused")


def imapd(md, commands):
    """Courier-IMAP, pre-authenticated in md, given commands; its reply."""
    lines = "".join("%s %s\r\n" % (chr(ord("a") + i), c)
                    for i, c in enumerate(commands + ["LOGOUT"]))
    p = subprocess.run([IMAPD, "."], input=lines.encode(), cwd=md,
                       env={"AUTHENTICATED": "test", "PATH": "/usr/bin:/bin"},
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    return p.stdout.decode("utf-8", errors="replace")


@t.test
def default_folders_as_maildirmake_f_and_subscribe():
    fresh()
    ref, got = maildir("ref"), maildir("got")
    for f in FOLDERS:
        r = courier("-f", f, ref)
        t.eq(r.rc, 0, "maildirmake -f %s" % f, r.why())
    out = imapd(ref, ["SUBSCRIBE \"INBOX.%s\"" % n for n in IMAP_NAMES])
    t.eq(out.count("OK Folder subscribed"), len(FOLDERS),
         "imapd subscribed every folder", out)
    r = tool("folders", got, *FOLDERS)
    t.eq(r.rc, 0, "mdm-courier folders", r.why())
    want, have = m.snapshot(ref), m.snapshot(got)
    t.ok(want == have, "folders and courierimapsubscribed as Courier's",
         lambda: m.diff(have, want))
    t.eq(r.out.splitlines(),
         ["created folder %s/.%s/" % (got, f) for f in FOLDERS] +
         ['added "INBOX.%s" to %s/courierimapsubscribed' % (f, got)
          for f in FOLDERS] + ["created"], "one line per change")
    lsub = imapd(got, ['LSUB "" "*"'])
    for n in IMAP_NAMES:
        t.ok('"INBOX.%s"\r\n' % n in lsub, "imapd LSUB lists INBOX.%s" % n,
             lsub)
    r = tool("folders", got, *FOLDERS)
    t.eq(r.out, "exists\n", "second run: nothing to do")
    t.eq(m.leftovers(BASE), [], "no leftover")


@t.test
def subscriptions_kept_and_added_once():
    fresh()
    md = maildir("a")
    sub = os.path.join(md, "courierimapsubscribed")
    with open(sub, "wb") as f:
        f.write(b"INBOX.Junk\nINBOX.Sent")      # the last line left open
    os.chmod(sub, 0o600)
    r = tool("folders", md, "Sent", "Drafts")
    t.eq(read(sub), b"INBOX.Junk\nINBOX.Sent\nINBOX.Drafts\n",
         "existing lines kept, the open one closed, Sent not added twice",
         r.why())
    t.eq(oct(os.stat(sub).st_mode & 0o7777), oct(0o600), "mode kept")
    t.ok(os.path.isfile(os.path.join(md, ".Sent", "maildirfolder")),
         "Sent made although already subscribed")
    for bad, why in (("..", 'is "." or ".."'),
                     ("a/b", 'contains "/"'),
                     (".x", 'starts with "."'),
                     ("a..b", 'has an empty folder level (".." or a '
                      'trailing ".")'),
                     ("x\x01", "contains a control character")):
        r = tool("folders", md, bad)
        t.ok(r.rc == 1 and r.out.startswith(
            'failed: %s: folder name "' % md) and
            r.out.endswith('": %s\n' % why) and "\x01" not in r.out,
            "folder name %r refused: %s" % (bad, why), r.out)
    t.eq(read(sub), b"INBOX.Junk\nINBOX.Sent\nINBOX.Drafts\n",
         "nothing written for bad names")
    r = tool("-n", "folders", os.path.join(BASE, "b"), "Sent")
    t.eq(r.out, "would create folder %s/b/.Sent/\nwould add \"INBOX.Sent\" "
         "to %s/b/courierimapsubscribed\nwould\n" % (BASE, BASE),
         "dry run of a maildir still to be made")


if __name__ == "__main__":
    t.main()
