#!/usr/bin/env python3
"""test_lookupd_faults: freshness and faults of lookupd, with a real slapd.

- a user added with ldapadd is found at once (live), reaches the cdb file
  within min_refresh (early rebuild); one set inactive disappears within
  refresh (negative_ttl, min_refresh and max_stale on their own:
  test_lookupd_options);
- slapd stopped: snapshot hits still OK (socketmap and tcp, extension
  walk included), anything else TEMP / 400, never NOTFOUND; slapd back:
  new keys found within seconds, by the same daemon (reconnect);
- a daemon started while slapd is down answers from its last snapshot;
- slapd frozen (SIGSTOP): snapshot hits answered while live lookups,
  sent before them, still hang (an order, not a time); those answer TEMP
  within ldap_timeout;
- a snapshot altered or truncated on disk is never answered from (at
  start, and under a running daemon) and is rebuilt;
- SIGHUP re-reads the config (same PID); a broken config is refused and
  the old one stays; SIGTERM exits 0;
- as root with user/group set, the daemon drops to them after binding
  its socket (/proc/PID/status) and the socket gets socket_mode.
"""
import os
import pwd
import grp
import select
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

ALBERT = "ao@anotherdomain.nu"
ALBERT_MAIL = "albert.onestone@anotherdomain.nu"
ALBERT_BOX = "/vmail/albert.onestone/Maildir/"

S = {}


def person(uid, mail, status="active"):
    return t.person_ldif(uid, mail, status)


def q(name, key):
    return t.socketmap_request(S["lk"].socket, name, key, timeout=15)


def tq(key):
    return t.tcp_request(("127.0.0.1", S["tcp"]), key, timeout=15)


def cdb(name, key):
    return t.postmap_q(key, "cdb:" + os.path.join(S["dir"], "cache", name))


@t.test
def setup():
    s = t.Slapd().start()
    d = t.tmpdir()
    S.update(slapd=s, dir=d, tcp=t.free_port())
    cfg = t.lookupd_config(s, d, refresh=4, min_refresh=1, negative_ttl=2,
                           ldap_timeout=2,
                           tcp_listen="mailbox=inet:127.0.0.1:%d" % S["tcp"])
    S["cfg"] = cfg
    S["lk"] = t.Lookupd(cfg, dir=d).start()
    t.ok(t.wait_until(lambda: os.path.exists(
        os.path.join(d, "cache", "mailbox.cdb")), 10),
        "the first snapshot is built at start")


@t.test
def added_user_found_at_once():
    S["slapd"].add(person("newbie", "newbie@mydomain.nl"))
    t.eq(q("mailbox", "newbie@mydomain.nl"),
         b"OK /vmail/newbie/Maildir/", "found live right after ldapadd")
    t.eq(q("alias", "Newbie+x@MyDomain.nl"),
         b"OK newbie+x@mydomain.nl", "its extension walk works live too")
    t.eq(tq("newbie@mydomain.nl"), b"200 /vmail/newbie/Maildir/",
         "and over tcp")
    t0 = time.time()
    r = t.wait_until(lambda: cdb("mailbox", "newbie@mydomain.nl") ==
                     (0, "/vmail/newbie/Maildir/"), 8)
    t.ok(r, "the live find brings the cdb snapshot forward")
    t.note("new user in mailbox.cdb after %.1f s (refresh 4, min_refresh 1)"
           % (time.time() - t0))


@t.test
def inactive_user_disappears():
    S["slapd"].modify("""dn: uid=newbie,ou=Tokelau,o=company
changetype: modify
replace: accountStatus
accountStatus: inactive
""")
    t0 = time.time()
    r = t.wait_until(lambda: q("mailbox", "newbie@mydomain.nl") ==
                     b"NOTFOUND ", 4 + 2)
    t.ok(r, "an account set inactive is not found within refresh (4 s)")
    t.ok(t.wait_until(lambda: cdb("mailbox", "newbie@mydomain.nl") ==
                      (1, ""), 2), "and is gone from the cdb file")
    t.note("inactive account gone after %.1f s" % (time.time() - t0))


@t.test
def slapd_down():
    S["slapd"].stop()
    t.eq(q("alias", ALBERT), b"OK " + ALBERT_MAIL.encode(),
         "slapd down: snapshot hit answered")
    t.eq(q("alias", "AO+list@anotherdomain.nu"),
         b"OK albert.onestone+list@anotherdomain.nu",
         "slapd down: user+ext answered from the snapshot's user")
    t.eq(tq("s.o.9@anotherdomain.nu"), b"200 /vmail/seven.of.nine/Maildir/",
         "slapd down: tcp snapshot hit answered")
    r = q("alias", "unknown@anotherdomain.nu")
    t.ok(r.startswith(b"TEMP "), "slapd down: unknown key is TEMP", r)
    r = tq("unknown@anotherdomain.nu")
    t.ok(r.startswith(b"400 "), "slapd down: unknown key is 400 on tcp", r)
    # postmap exits 1 both for "not found" and for a failed query: only
    # its message tells them apart.
    r = t.postmap(["-q", "unknown@anotherdomain.nu", S["lk"].table("alias")])
    t.ok(r.out == "" and "temporary error" in r.err,
         "postmap sees a temporary error, not 'not found'", r.why())
    t.ok(q("domain", "example.org").startswith(b"TEMP "),
         "slapd down: unknown domain is TEMP")
    r = S["lk"].cli("query", "alias", "unknown@anotherdomain.nu")
    t.eq(r.rc, 2, "query: TEMP is exit 2", r.why())


@t.test
def slapd_back():
    S["slapd"].start()
    S["slapd"].add(person("comeback", "comeback@mydomain.nl"))
    t0 = time.time()
    ok = t.wait_until(lambda: q("mailbox", "comeback@mydomain.nl") ==
                      b"OK /vmail/comeback/Maildir/", 10)
    t.ok(ok, "slapd back: a new key is found by the same daemon")
    t.note("found %.2f s after slapd came back" % (time.time() - t0))
    t.ok(S["lk"].alive(), "same daemon, same PID")


@t.test
def started_while_slapd_down():
    # The live find reaches the cdb file first (early rebuild).
    t.wait_until(lambda: cdb("mailbox", "comeback@mydomain.nl") ==
                 (0, "/vmail/comeback/Maildir/"), 10)
    S["lk"].stop()
    S["slapd"].stop()
    lk = t.Lookupd(S["cfg"], dir=S["dir"]).start()
    S["lk"] = lk
    t.eq(q("mailbox", ALBERT), b"OK " + ALBERT_BOX.encode(),
         "started with slapd down: answers from the last snapshot")
    t.eq(q("mailbox", "comeback@mydomain.nl"),
         b"OK /vmail/comeback/Maildir/",
         "including what the last snapshot learnt")
    t.ok(q("mailbox", "nope@mydomain.nl").startswith(b"TEMP "),
         "and TEMP for the rest")
    S["slapd"].start()


def live_batch(n):
    """n live lookups (new keys) at once, each on its own connection."""
    out = []
    S["batch"] = S.get("batch", 0) + 1
    ths = [threading.Thread(target=lambda i=i: out.append(
        q("mailbox", "warm%d.%d@mydomain.nl" % (S["batch"], i))))
        for i in range(n)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(30)
    return out


@t.test
def slapd_frozen():
    lk = S["lk"]
    t.ok(t.wait_until(lambda: q("mailbox", "nope@mydomain.nl") ==
                      b"NOTFOUND ", 10), "slapd reachable again")
    # Every worker's session bound again (a session left from while slapd
    # was down may fail at once, not hang, when slapd is frozen).
    t.ok(t.wait_until(lambda: live_batch(8) == [b"NOTFOUND "] * 8, 10),
         "8 live lookups at once answered")
    S["slapd"].freeze()
    try:
        # Live lookups that hang on the frozen slapd, in parallel...
        hung = [t.SocketmapClient(lk.socket, timeout=15) for _ in range(6)]
        for i, c in enumerate(hung):
            c.send_raw(t.netstring("alias frozen%d@mydomain.nl" % i))
        # ...and snapshot hits that must not wait for them.
        worst = 0.0
        with t.SocketmapClient(lk.socket) as c:
            for i in range(50):
                t0 = time.monotonic()
                r = c.request("alias", ALBERT)
                worst = max(worst, time.monotonic() - t0)
                if r != b"OK " + ALBERT_MAIL.encode():
                    break
        # An order, not a time: every hit came back while the live
        # lookups sent before them still wait (ldap_timeout, 2 s).
        waiting = select.select([c.sock for c in hung], [], [], 0)[0]
        t.eq(r, b"OK " + ALBERT_MAIL.encode(), "frozen slapd: hits answered")
        t.eq(len(waiting), 0, "frozen slapd: 50 hits answered while the 6 "
             "live lookups sent first still hang")
        t.note("frozen slapd: worst snapshot hit %.2f ms" % (worst * 1000))
        t0 = time.monotonic()
        replies = [c.read_reply() for c in hung]
        took = time.monotonic() - t0
        t.ok(all(r.startswith(b"TEMP ") for r in replies),
             "the hung live lookups answer TEMP", replies)
        t.ok(took < (2 * 2 + 2) * t.SLOW, "within ldap_timeout (2 s, twice "
             "with the reconnect)", "%.1f s" % took)
        for c in hung:
            c.close()
    finally:
        S["slapd"].thaw()
    t.ok(t.wait_until(lambda: q("mailbox", "nope2@mydomain.nl") ==
                      b"NOTFOUND ", 10), "slapd thawed: live lookups again")


def flip_byte(path, marker):
    with open(path, "r+b") as f:
        data = f.read()
        i = data.index(marker)
        f.seek(i)
        f.write(bytes([data[i] ^ 0x20]))


@t.test
def damaged_snapshot_at_start():
    lk = S["lk"]
    lk.stop()
    S["slapd"].stop()
    path = os.path.join(S["dir"], "cache", "alias.cdb")
    # "albert" -> "Albert": same size, the digest no longer matches.
    flip_byte(path, b"albert.onestone@")
    lk = S["lk"] = t.Lookupd(S["cfg"], dir=S["dir"]).start()
    r = q("alias", ALBERT)
    t.ok(r.startswith(b"TEMP "), "an altered snapshot is not answered "
         "from (slapd down: TEMP)", r)
    t.eq(q("mailbox", ALBERT), b"OK " + ALBERT_BOX.encode(),
         "the other maps' snapshots still answer")
    t.ok("alias.cdb" in lk.errors() and "digest" in lk.errors(),
         "the damage is logged", lk.errors()[-500:])
    S["slapd"].start()
    t.ok(t.wait_until(lambda: q("alias", ALBERT) ==
                      b"OK " + ALBERT_MAIL.encode(), 15),
         "slapd back: rebuilt and right again")
    t.ok(t.wait_until(lambda: cdb("alias", ALBERT) == (0, ALBERT_MAIL), 10),
         "the rebuilt alias.cdb is right")


@t.test
def damaged_snapshot_while_running():
    lk = S["lk"]
    S["slapd"].stop()
    path = os.path.join(S["dir"], "cache", "mailbox.cdb")
    t.eq(q("mailbox", ALBERT), b"OK " + ALBERT_BOX.encode(), "before")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    # The daemon looks at its files every second (and a lookup that
    # reads the cut part drops it at once).
    r = t.wait_until(lambda: q("mailbox", ALBERT).startswith(b"TEMP "), 5)
    t.ok(r, "a snapshot truncated under the daemon is dropped (slapd "
         "down: TEMP)", q("mailbox", ALBERT))
    t.ok(lk.alive(), "and the daemon did not crash")
    S["slapd"].start()
    t.ok(t.wait_until(lambda: q("mailbox", ALBERT) ==
                      b"OK " + ALBERT_BOX.encode(), 15), "rebuilt")
    # (the answer above may be a live one: wait for the file itself)
    t.ok(t.wait_until(lambda: cdb("mailbox", ALBERT) ==
                      (0, ALBERT_BOX), 15), "rebuilt on disk")
    # Altered in place, same size: noticed by its mtime.
    S["slapd"].stop()
    time.sleep(1.1)
    flip_byte(path, b"/vmail/albert.onestone/")
    r = t.wait_until(lambda: q("mailbox", ALBERT).startswith(b"TEMP "), 5)
    t.ok(r, "a snapshot altered in place is dropped",
         q("mailbox", ALBERT))
    S["slapd"].start()
    t.ok(t.wait_until(lambda: q("mailbox", ALBERT) ==
                      b"OK " + ALBERT_BOX.encode(), 15), "rebuilt again")


@t.test
def sighup():
    lk = S["lk"]
    pid = lk.pid
    # tcp_listen serves "mailbox": the new file must still define it.
    lk.set_config(S["cfg"] + """profile = none
[map uid]
filter = (accountStatus=active)
key = uid
result = mail
kind = plain

[map mailbox]
filter = (|(accountStatus=active)(accountStatus=shared))
key = mail, mailAlternateAddress
result = mailMessageStore
single = yes
""")
    lk.reload()
    t.ok(t.wait_until(lambda: q("uid", "ONESTONEA") ==
                      b"OK " + ALBERT_MAIL.encode(), 10),
         "SIGHUP: a map added to the config answers")
    t.eq(lk.pid, pid, "same PID")
    t.ok(q("alias", ALBERT).startswith(b"PERM "),
         "maps no longer defined are gone (profile = none now)")
    t.ok(t.wait_until(lambda: q("uid", "nines") ==
                      b"OK seven.of.nine@anotherdomain.nu", 10),
         "the new map answers for every entry")
    lk.set_config("refresh = never\n" + S["cfg"])
    lk.reload()
    t.ok(t.wait_until(lambda: "reload refused" in lk.errors(), 10) and
         "refresh" in lk.errors(), "a broken config: the reload is refused "
         "and the reason is logged", lk.errors()[-400:])
    t.eq(q("uid", "nines"), b"OK seven.of.nine@anotherdomain.nu",
         "the old config stays")
    t.ok(lk.alive(), "still running")
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")


@t.test
def drops_privileges():
    if os.geteuid() != 0:
        t.skip("drops privileges", "needs root")
        return
    nobody = pwd.getpwnam("nobody")
    nogroup = grp.getgrnam("nogroup")
    d = t.tmpdir()
    os.chmod(d, 0o755)
    cfg = t.lookupd_config(S["slapd"], d, user="nobody", group="nogroup",
                           socket_group="nogroup", socket_mode="0660")
    # The password file stays root's: read before the drop?  No: lookupd
    # reads it at every bind, so its user must be able to read it.
    os.chown(os.path.join(d, "bindpw"), nobody.pw_uid, nogroup.gr_gid)
    lk = t.Lookupd(cfg, dir=d, name="lookupd-nobody").start()
    # The socket is there before the drop, answers only after it.
    q2(lk, "alias", ALBERT)
    st = t.proc_status(lk.pid)
    t.eq(st["Uid"].split(), [str(nobody.pw_uid)] * 4,
         "real, effective, saved, fs uid are nobody's")
    t.eq(st["Gid"].split(), [str(nogroup.gr_gid)] * 4,
         "all gids are nogroup's")
    t.eq(st["Groups"].split(), [str(nogroup.gr_gid)],
         "no supplementary group but nogroup")
    sock = os.stat(lk.socket[5:])
    t.eq((oct(sock.st_mode & 0o777), sock.st_gid),
         (oct(0o660), nogroup.gr_gid), "socket mode 0660, group nogroup")
    t.eq(q2(lk, "alias", ALBERT), b"OK " + ALBERT_MAIL.encode(),
         "answers after dropping privileges")
    t.ok(t.wait_until(lambda: os.path.exists(
        os.path.join(d, "cache", "alias.cdb")), 10),
        "builds its snapshot as nobody")
    t.eq(os.stat(os.path.join(d, "cache", "alias.cdb")).st_uid,
         nobody.pw_uid, "snapshot files belong to the user")
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")


def q2(lk, name, key):
    return t.socketmap_request(lk.socket, name, key, timeout=15)


if __name__ == "__main__":
    t.main()
