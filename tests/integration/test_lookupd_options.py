#!/usr/bin/env python3
"""test_lookupd_options: the options of ldapmail.conf(5) and lookupd(8)
that no other test set, each proven by what it changes (tests/README maps
every option and command to its tests).

One slapd with the howto's directory plus an account one level deeper
(ou=Deep,ou=Tokelau); each case has its own lookupd and cache_dir.  A
snapshot is made older by setting its file's mtime back before the daemon
opens it (lookupd dates a snapshot by its mtime).

- max_stale: a snapshot older than it, LDAP down: TEMP for its own keys
  (never the stale answer) and for the rest (never NOTFOUND); the same
  snapshot with a larger max_stale answers; a snapshot that grows older
  than max_stale under a running daemon stops answering then, not
  before; LDAP back: answers again, and the rebuilt snapshot answers
  when LDAP is down once more;
- miss_lookup = no: a key the snapshot lacks is NOTFOUND with LDAP up,
  even one added since (never asked live: live.lookups stays 0); no
  snapshot and LDAP down, or a stale snapshot and LDAP up: TEMP;
- negative_ttl: a live miss is remembered that long (from memory, not
  LDAP) and no longer (less the clock's second); 0: not remembered;
- min_refresh: a live find brings the cdb file forward (refresh is an
  hour), but not before min_refresh; a failed rebuild is retried after
  min_refresh but at least 5 s, and at most after refresh;
- map base, scope (base, one, sub), format (with %%) and kind = plain:
  the snapshot (lookupd sync, read with postmap -q cdb:) and the live
  walk (query --direct) both honour them;
- recipient_delimiter "-", "+-" and empty: from the snapshot (serve)
  and live (query --direct);
- cache_dir is made 0750 by serve and by sync;
- with 2048 live lookups waiting (slapd frozen), one more is TEMP at
  once, counted as live.refused_busy;
- serve without -f detaches (parent exits 0, new session, stdio on
  /dev/null) and serves; -v adds debug lines; SIGINT and SIGTERM exit 0
  and remove the socket; a SIGHUP that changes a listener says it needs
  a restart and keeps serving on the old one;
- query without socketmap_listen asks the map's tcp_listen endpoint;
- a client's bad requests are logged once a second, with a count;
- sync prints a line per map and writes nothing when one map cannot be
  read; check prints warnings and binds with bind_pw; serve exits 2 when
  it cannot listen; include reads map sections from the files a pattern
  names; an answer too long for tcp_table is 400, never cut.
"""
import glob
import os
import resource
import selectors
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

ALBERT = "ao@anotherdomain.nu"
OK_ALBERT = b"OK albert.onestone@anotherdomain.nu"
NOTFOUND = b"NOTFOUND "
DEEP = """dn: ou=Deep,ou=Tokelau,o=company
objectClass: organizationalUnit
ou: Deep

""" + t.person_ldif("deep", base="ou=Deep,ou=Tokelau,o=company")

S = {}


def slapd():
    if "slapd" not in S:
        d = t.tmpdir()
        ldif = t.write(os.path.join(d, "deep.ldif"), DEEP)
        S["slapd"] = t.Slapd(ldifs=[t.fixture_path(), ldif]).start()
    return S["slapd"]


def lookupd(**params):
    """A Lookupd (not started) with the usual test config plus params,
    in a new directory."""
    d = t.tmpdir()
    return t.Lookupd(t.lookupd_config(slapd(), d, **params), dir=d)


def q(lk, name, key):
    return t.socketmap_request(lk.socket, name, key, timeout=15)


def cache(lk):
    return os.path.join(lk.dir, "cache")


def age_snapshots(lk, secs):
    """Date every snapshot of lk secs seconds back (its mtime)."""
    when = time.time() - secs
    files = glob.glob(os.path.join(cache(lk), "*.cdb"))
    for f in files:
        os.utime(f, (when, when))
    return files


def sync(lk):
    r = lk.cli("sync")
    t.eq(r.rc, 0, "lookupd sync", r.why())
    return r


def temp(r):
    return r.startswith(b"TEMP ")


def snapshot_answers(lk):
    """Wait until lk answers from its first snapshot."""
    return t.wait_until(lambda: q(lk, "alias", ALBERT) == OK_ALBERT and
                        lk.stats()["map.alias.snapshot_keys"] > 0, 15)


# ------------------------------------------------------------ max_stale

@t.test
def max_stale_snapshot_too_old():
    s = slapd()
    lk = lookupd(max_stale=600, refresh=7200)
    sync(lk)
    t.eq(len(age_snapshots(lk, 3600)), 3, "three snapshots, an hour old")
    s.stop()
    try:
        lk.start()
        r = q(lk, "alias", ALBERT)
        t.ok(temp(r), "max_stale 600, snapshot 3600 s old, LDAP down: a "
             "key of the snapshot is TEMP, not its stale answer", r)
        r = q(lk, "alias", "AO+x@anotherdomain.nu")
        t.ok(temp(r), "and so is its extension walk", r)
        r = q(lk, "mailbox", "nobody@anotherdomain.nu")
        t.ok(temp(r), "a key it lacks is TEMP, not NOTFOUND", r)
        st = lk.stats()
        t.ok(st["map.alias.snapshot_age"] >= 3600 and
             st["map.alias.snapshot_keys"] > 0,
             "the snapshot is loaded: its age refuses it",
             (st["map.alias.snapshot_age"], st["map.alias.snapshot_keys"]))
        t.ok("older than max_stale" in lk.errors(), "and that is logged",
             lk.errors()[-400:])
        lk.stop()
        lk.set_config(t.lookupd_config(s, lk.dir, max_stale=7200,
                                       refresh=7200))
        lk.start()
        t.eq(q(lk, "alias", ALBERT), OK_ALBERT, "the same snapshot with "
             "max_stale 7200: answered (LDAP down)")
        t.ok(temp(q(lk, "alias", "nobody@anotherdomain.nu")),
             "and a key it lacks is TEMP")
        lk.stop()
    finally:
        s.start()
    lk.set_config(t.lookupd_config(s, lk.dir, max_stale=600, refresh=7200))
    lk.start()
    t.eq(q(lk, "alias", ALBERT), OK_ALBERT, "LDAP back: answered again")
    # The live find brings a rebuild forward; the new snapshot is young.
    t.ok(t.wait_until(lambda: 0 <= lk.stats()["map.alias.snapshot_age"]
                      < 600, 15), "the snapshot is rebuilt",
         lambda: lk.stats_text)
    s.stop()
    try:
        t.eq(q(lk, "alias", ALBERT), OK_ALBERT, "LDAP down again: the "
             "rebuilt snapshot answers")
        t.ok(temp(q(lk, "alias", "nobody@anotherdomain.nu")),
             "and a key it lacks is TEMP")
    finally:
        s.start()
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")


@t.test
def max_stale_reached_while_running():
    # A snapshot just built, max_stale a few seconds: answered until it
    # is older than max_stale, TEMP from then on, never NOTFOUND.
    stale = int(4 * t.SLOW)
    s = slapd()
    lk = lookupd(max_stale=stale, refresh=7200)
    sync(lk)
    built = os.stat(os.path.join(cache(lk), "alias.cdb")).st_mtime
    s.stop()
    try:
        lk.start()
        answers = []
        deadline = time.monotonic() + stale + 10 * t.SLOW
        while time.monotonic() < deadline:
            r = q(lk, "alias", ALBERT)
            answers.append(r)
            if r != OK_ALBERT:
                break
            time.sleep(0.1)
        when = time.time()
        t.eq(answers[0], OK_ALBERT, "answered from the snapshot while it "
             "is younger than max_stale (%d s)" % stale)
        t.ok(temp(answers[-1]), "TEMP once it is older", answers[-1])
        t.ok(when >= built + stale, "not before max_stale: first TEMP "
             "%.2f s after the snapshot's data was read" % (when - built))
        t.eq(set(answers[:-1]), {OK_ALBERT}, "nothing but the snapshot's "
             "answer before")
        t.ok(temp(q(lk, "alias", "nobody@anotherdomain.nu")),
             "a key it lacks: TEMP")
        lk.stop()
    finally:
        s.start()


# ---------------------------------------------------------- miss_lookup

@t.test
def miss_lookup_no_with_ldap_up():
    s = slapd()
    lk = lookupd(miss_lookup="no", refresh=7200).start()
    t.ok(snapshot_answers(lk), "the first snapshot answers")
    t.eq(q(lk, "alias", "AO+list@AnotherDomain.nu"),
         b"OK albert.onestone+list@anotherdomain.nu",
         "the key walk still runs on the snapshot")
    t.eq(q(lk, "alias", "nobody@anotherdomain.nu"), NOTFOUND,
         "a key the snapshot lacks: NOTFOUND (LDAP up)")
    s.add(t.person_ldif("nolive"))
    r = lk.cli("query", "--direct", "alias", "nolive@mydomain.nl")
    t.eq((r.rc, r.out), (0, "nolive@mydomain.nl\n"),
         "LDAP has an account added since", r.why())
    t.eq(q(lk, "alias", "nolive@mydomain.nl"), NOTFOUND,
         "miss_lookup = no: it is not asked for live")
    st = lk.stats()
    t.eq((st["live.lookups"], st["map.alias.live_lookups"]), (0, 0),
         "live.lookups stays 0")
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")


@t.test
def miss_lookup_no_without_usable_snapshot():
    s = slapd()
    s.stop()
    try:
        lk = lookupd(miss_lookup="no", refresh=7200).start()
        for key in (ALBERT, "nobody@anotherdomain.nu"):
            r = q(lk, "alias", key)
            t.ok(temp(r), "no snapshot, LDAP down: %s is TEMP, never "
                 "NOTFOUND" % key, r)
        lk.stop()
    finally:
        s.start()
    lk = lookupd(miss_lookup="no", max_stale=600, refresh=7200)
    sync(lk)
    age_snapshots(lk, 3600)
    lk.start()
    for key in (ALBERT, "nobody@anotherdomain.nu"):
        r = q(lk, "alias", key)
        t.ok(temp(r), "snapshot older than max_stale, LDAP up: %s is TEMP "
             "(not the stale answer, not NOTFOUND)" % key, r)
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")


# --------------------------------------------------------- negative_ttl

@t.test
def negative_ttl_remembers_then_forgets():
    ttl = int(3 + 2 * t.SLOW)
    s = slapd()
    lk = lookupd(negative_ttl=ttl, refresh=7200).start()
    t.ok(snapshot_answers(lk), "the first snapshot answers")
    key = "later@mydomain.nl"
    t0 = time.monotonic()
    t.eq(q(lk, "alias", key), NOTFOUND, "a live miss")
    s.add(t.person_ldif("later"))
    live0 = lk.stats()["live.lookups"]
    r = q(lk, "alias", key)
    took = time.monotonic() - t0
    t.ok(r == NOTFOUND and took < ttl - 1, "added since, asked again "
         "within negative_ttl (%d s): still NOTFOUND" % ttl,
         "%r after %.2f s" % (r, took))
    t.eq(lk.stats()["live.lookups"], live0, "answered from memory, not "
         "from LDAP")
    found = t.wait_until(lambda: q(lk, "alias", key) ==
                         b"OK later@mydomain.nl", ttl + 5)
    took = time.monotonic() - t0
    t.ok(found and took >= ttl - 1, "found once negative_ttl is over, "
         "not before", "%s after %.2f s" % (found, took))
    lk.stop()

    lk = lookupd(negative_ttl=0, refresh=7200).start()
    t.ok(snapshot_answers(lk), "negative_ttl 0: the first snapshot answers")
    key = "zero@mydomain.nl"
    t.eq(q(lk, "alias", key), NOTFOUND, "negative_ttl 0: a live miss")
    s.add(t.person_ldif("zero"))
    t.eq(q(lk, "alias", key), b"OK zero@mydomain.nl",
         "negative_ttl 0: found right after it was added")
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")


# ---------------------------------------------------------- min_refresh

def cdb(lk, name, key):
    return t.postmap_q(key, "cdb:" + os.path.join(cache(lk), name))


@t.test
def min_refresh_brings_the_rebuild_forward():
    s = slapd()
    lk = lookupd(refresh=7200, min_refresh=1).start()
    t.ok(snapshot_answers(lk), "the first snapshot answers")
    s.add(t.person_ldif("early"))
    t.eq(q(lk, "mailbox", "early@mydomain.nl"),
         b"OK /vmail/early/Maildir/", "found live")
    t.ok(t.wait_until(lambda: cdb(lk, "mailbox", "early@mydomain.nl") ==
                      (0, "/vmail/early/Maildir/"), 10),
         "min_refresh 1, refresh 7200: the live find brings it into the "
         "cdb file within seconds")
    lk.stop()

    lk = lookupd(refresh=7200, min_refresh=7200).start()
    t.ok(snapshot_answers(lk), "the first snapshot answers")
    builds = lk.stats()["snapshot.builds_ok"]
    s.add(t.person_ldif("notyet"))
    t.eq(q(lk, "mailbox", "notyet@mydomain.nl"),
         b"OK /vmail/notyet/Maildir/", "found live")
    time.sleep(2)
    t.eq((lk.stats()["snapshot.builds_ok"],
          cdb(lk, "mailbox", "notyet@mydomain.nl")), (builds, (1, "")),
         "min_refresh 7200: no rebuild 2 s later, not in the cdb file")
    t.eq(q(lk, "mailbox", "notyet@mydomain.nl"),
         b"OK /vmail/notyet/Maildir/", "still answered (remembered)")
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")


def failed_builds(lk):
    return lk.stats()["snapshot.builds_failed"]


@t.test
def failed_rebuild_retried_after_min_refresh_within_refresh():
    # A failed rebuild is retried after max(min_refresh, 5) s, but at
    # most after refresh.  Both daemons start without a snapshot and with
    # slapd down: their first build fails at once.
    s = slapd()
    s.stop()
    try:
        capped = lookupd(refresh=1, min_refresh=1).start()
        t0 = time.monotonic()
        floor = lookupd(refresh=60, min_refresh=1).start()
        t.ok(t.wait_until(lambda: failed_builds(capped) >= 3, 5),
             "refresh 1: retried every second, not every 5 s (3 failed "
             "builds within 5 s)", lambda: failed_builds(capped))
        time.sleep(max(0, t0 + 3.5 - time.monotonic()))
        n = failed_builds(floor)
        t.ok(n <= 1, "min_refresh 1, refresh 60: not retried within 3.5 s "
             "(at least 5 s)", "%d failed builds" % n)
        t.ok(t.wait_until(lambda: failed_builds(floor) >= 2, 8),
             "and retried after that")
        capped.stop()
        floor.stop()
    finally:
        s.start()


# ------------------------------------------- base, scope, format, plain

MAPS = """
[map one]
scope = one
filter = (accountStatus=active)
key = mail
result = uid

[map sub]
filter = (accountStatus=active)
key = mail
result = uid

[map entry]
base = cn=Albert Onestone,ou=Tokelau,o=company
scope = base
key = mail mailAlternateAddress
result = mailMessageStore

[map fmt]
kind = plain
filter = (accountStatus=active)
key = uid
result = mail
format = smtp:[%s] 100%%
"""


@t.test
def base_scope_format_and_plain_maps():
    lk = lookupd(extra=MAPS, refresh=7200)
    sync(lk)
    cases = [
        ("one", "albert.onestone@anotherdomain.nu", "onestonea"),
        ("one", "deep@mydomain.nl", None),
        ("sub", "deep@mydomain.nl", "deep"),
        ("sub", "albert.onestone@anotherdomain.nu", "onestonea"),
        ("entry", "ao@anotherdomain.nu", "/vmail/albert.onestone/Maildir/"),
        ("entry", "seven.of.nine@anotherdomain.nu", None),
        ("entry", "deep@mydomain.nl", None),
        ("fmt", "onestonea", "smtp:[albert.onestone@anotherdomain.nu] 100%"),
        ("fmt", "ONESTONEA", "smtp:[albert.onestone@anotherdomain.nu] 100%"),
        ("fmt", "onestonea+x", None),
        ("fmt", "albert.onestone@anotherdomain.nu", None),
    ]
    for name, key, want in cases:
        rc, out = cdb(lk, name, key)
        t.eq((rc, out), (0, want) if want else (1, ""),
             "snapshot %s %s -> %s" % (name, key, want or "not found"))
        r = lk.cli("query", "--direct", name, key)
        t.eq((r.rc, r.out), (0, want + "\n") if want else (1, ""),
             "live %s %s -> %s" % (name, key, want or "not found"),
             r.err[-200:])


# -------------------------------------------------- recipient_delimiter

@t.test
def recipient_delimiter_values():
    news = "albert.onestone%snews@anotherdomain.nu"
    for delim, found in (("-", "-"), ("+-", "+-"), ("", "")):
        lk = lookupd(recipient_delimiter=delim, refresh=7200)
        sync(lk)
        lk.start()
        for c in "+-":
            key = "ao%snews@anotherdomain.nu" % c
            want = (news % c) if c in found else None
            got = q(lk, "alias", key)
            t.eq(got, b"OK " + want.encode() if want else NOTFOUND,
                 "recipient_delimiter %r, snapshot: %s" % (delim, key))
            r = lk.cli("query", "--direct", "alias", key)
            t.eq((r.rc, r.out), (0, want + "\n") if want else (1, ""),
                 "recipient_delimiter %r, live: %s" % (delim, key))
        lk.stop()


# ------------------------------------------------------------ cache_dir

@t.test
def cache_dir_made_0750():
    lk = lookupd(refresh=7200)
    sync(lk)
    t.eq(oct(os.stat(cache(lk)).st_mode & 0o7777), "0o750",
         "lookupd sync makes cache_dir 0750")
    lk = lookupd(refresh=7200).start()
    t.eq(oct(os.stat(cache(lk)).st_mode & 0o7777), "0o750",
         "lookupd serve makes cache_dir 0750")
    t.ok(snapshot_answers(lk), "and builds its snapshots there")
    t.eq(sorted(os.listdir(cache(lk))),
         sorted(m + x for m in ("alias", "domain", "mailbox")
                for x in (".cdb", ".cdb.sha256")),
         "one MAP.cdb and MAP.cdb.sha256 per map, nothing else")
    lk.stop()


# ------------------------------------------------------ live queue full

QUEUE_MAX = 2048                    # lookupd(8): "2048 live lookups"


@t.test
def live_queue_full_is_temp_at_once():
    s = slapd()
    n = QUEUE_MAX + 60
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000),
                                                    hard))
    lk = lookupd(refresh=7200, ldap_timeout=60).start()
    t.ok(snapshot_answers(lk), "the first snapshot answers")
    sel = selectors.DefaultSelector()
    conns = []
    s.freeze()
    try:
        for i in range(n):
            c = socket.socket(socket.AF_UNIX)
            c.settimeout(10 * t.SLOW)
            c.connect(lk.socket[5:])
            c.sendall(t.netstring("alias busy%d@mydomain.nl" % i))
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ)
            conns.append(c)
        # Whatever answers while slapd is frozen did not wait for LDAP.
        # Read until a second passes without a reply (5 s at most).
        replies = []
        deadline = time.monotonic() + 5 * t.SLOW
        quiet = time.monotonic() + 1.0 * t.SLOW
        while time.monotonic() < min(deadline, quiet) and len(replies) < n:
            for key, _ in sel.select(0.1):
                quiet = time.monotonic() + 1.0 * t.SLOW
                try:
                    data = key.fileobj.recv(4096)
                except OSError as e:
                    data = repr(e).encode()
                replies.append(data)
                sel.unregister(key.fileobj)
        busy = [r for r in replies if r == t.netstring(
            "TEMP too many LDAP lookups waiting")]
        t.ok(0 < len(busy) <= n - QUEUE_MAX and len(busy) == len(replies),
             "%d live lookups with slapd frozen: the ones beyond %d "
             "waiting are TEMP at once, nothing else answers" % (
                 n, QUEUE_MAX), "%d busy of %d replies: %r" % (
                 len(busy), len(replies), sorted(set(replies))[:5]))
        t.eq(lk.stats()["live.refused_busy"], len(busy),
             "counted as live.refused_busy")
    finally:
        s.thaw()
    # Thawed: every lookup still waiting is answered (not found).
    late = []
    deadline = time.monotonic() + 60 * t.SLOW
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(0.5):
            try:
                late.append(key.fileobj.recv(4096))
            except OSError as e:
                late.append(repr(e).encode())
            sel.unregister(key.fileobj)
    t.ok(not sel.get_map() and set(late) == {t.netstring(NOTFOUND)},
         "slapd thawed: every waiting lookup answers NOTFOUND",
         "%d without an answer; %r" % (len(sel.get_map()),
                                       sorted(set(late))[:5]))
    for c in conns:
        c.close()
    t.eq(q(lk, "alias", ALBERT), OK_ALBERT, "and lookupd serves on")
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")


# ------------------------------------------------------ serve, -v, signals

def pids_running(conf):
    """PIDs of the lookupd processes whose command line names conf (a
    config path of our own temp dir: nobody else's)."""
    pids = []
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError):
            continue
        if conf.encode() in argv and t.pid_alive(int(d)):
            pids.append(int(d))
    return pids


@t.test
def serve_without_f_detaches():
    lk = lookupd(refresh=7200)          # its config; started by hand
    sock = lk.socket[5:]
    r = t.run([t.LOOKUPD, "-c", lk.conf, "serve"], timeout=30)
    t.eq((r.rc, r.out, r.err), (0, "", ""), "lookupd serve: the command "
         "returns 0 at once, says nothing (no -f: logs go to syslog)",
         r.why())
    pid = None
    try:
        t.ok(t.wait_until(lambda: os.path.exists(sock), 10),
             "the daemon listens")
        pids = pids_running(lk.conf)
        t.eq(len(pids), 1, "one daemon runs", repr(pids))
        pid = pids[0]
        t.ok(os.getsid(pid) != os.getsid(0), "in a session of its own")
        t.eq([os.readlink("/proc/%d/fd/%d" % (pid, fd)) for fd in (0, 1, 2)],
             ["/dev/null"] * 3, "stdin, stdout, stderr on /dev/null")
        t.ok(snapshot_answers(lk), "and it answers from its snapshot")
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            t.ok(t.wait_until(lambda: not t.pid_alive(pid), 10),
                 "SIGTERM by its PID: gone")
    t.ok(not os.path.exists(sock), "its socket removed")


@t.test
def verbose_adds_debug_lines():
    lk = lookupd(refresh=7200)
    r = lk.cli("sync")
    t.ok(r.rc == 0 and "debug:" not in r.err, "sync: no debug line "
         "without -v", r.err[-300:])
    r = t.run([t.LOOKUPD, "-v", "-c", lk.conf, "sync"], timeout=60)
    t.ok(r.rc == 0 and "debug: sync: read" in r.err, "sync -v: debug "
         "lines", r.why())


@t.test
def sigint_and_sigterm_exit_0_and_remove_the_socket():
    for sig in (signal.SIGINT, signal.SIGTERM):
        lk = lookupd(refresh=7200).start()
        sock = lk.socket[5:]
        t.eq(q(lk, "alias", ALBERT), OK_ALBERT, "answers")
        t.eq(lk.stop(sig=sig), 0, "%s: exit 0" % sig.name)
        t.ok(not os.path.exists(sock), "%s: the socket file is removed"
             % sig.name)


@t.test
def sighup_with_a_new_listener_needs_a_restart():
    lk = lookupd(refresh=7200).start()
    old = lk.socket
    new = "unix:" + os.path.join(lk.dir, "other.sock")
    pid = lk.pid
    text = lk.cfg_text.replace(old, new)
    with open(lk.conf, "w") as f:       # not set_config: keep lk.socket
        f.write(text)
    lk.reload()
    t.ok(t.wait_until(lambda: "restart lookupd" in lk.errors(), 10),
         "SIGHUP with another socketmap_listen: logged as needing a "
         "restart", lk.errors()[-400:])
    t.eq((lk.pid, q(lk, "alias", ALBERT)), (pid, OK_ALBERT),
         "same PID, still serving on the old socket")
    t.ok(not os.path.exists(new[5:]), "the new one is not made")
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")


@t.test
def query_over_tcp_listen_without_socketmap():
    port = t.free_port()
    lk = lookupd(refresh=7200, socketmap_listen=None,
                 tcp_listen="alias=inet:127.0.0.1:%d" % port).start()
    t.ok(t.wait_until(lambda: lk.cli("query", "alias", ALBERT).rc == 0, 15),
         "the first snapshot answers")
    r = lk.cli("query", "alias", "AO+x@anotherdomain.nu")
    t.eq((r.rc, r.out), (0, "albert.onestone+x@anotherdomain.nu\n"),
         "query without socketmap_listen: asked over alias's tcp_listen",
         r.why())
    r = lk.cli("query", "alias", "nobody@anotherdomain.nu")
    t.eq((r.rc, r.out), (1, ""), "not found: exit 1, nothing printed")
    r = lk.cli("query", "mailbox", ALBERT)
    t.ok(r.rc == 2 and r.out == "" and "mailbox" in r.err,
         "a map without an endpoint: exit 2, says why", r.why())
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")
    r = lk.cli("query", "alias", ALBERT)
    t.ok(r.rc == 2 and r.out == "" and r.err, "the daemon gone: exit 2, "
         "says why", r.why())


@t.test
def client_warnings_once_a_second():
    port = t.free_port()
    lk = lookupd(refresh=7200,
                 tcp_listen="alias=inet:127.0.0.1:%d" % port).start()
    bad = b"400 unsupported%20request"
    with t.TcpClient(("127.0.0.1", port), timeout=10) as c:
        c.send_raw(b"put x y\n" * 50)
        replies = [c.read_line() for _ in range(50)]
        t.eq(set(replies), {bad}, "50 unsupported requests: 50 replies")
        time.sleep(1.2)
        c.send_raw(b"put x y\n")
        t.eq(c.read_line(), bad, "one more, a second later")
    lines = [ln for ln in lk.errors().splitlines()
             if "unsupported tcp_table request" in ln]
    t.eq(len(lines), 2, "logged twice, not 51 times", repr(lines))
    t.ok(len(lines) == 2 and "(and 49 similar in the last second)" in
         lines[1], "the second line counts the 49 left out", repr(lines))
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")


# ------------------------------------------------------ sync, check, serve

@t.test
def sync_prints_each_map_and_writes_all_or_nothing():
    lk = lookupd()
    r = sync(lk)
    c = cache(lk)
    n = len(slapd().search(t.ACCOUNT_BASE, "(|(accountStatus=active)"
                           "(accountStatus=shared))", ["dn"]).entries)
    t.eq(r.out.splitlines(), ["map domain: 2 entries -> %s/domain.cdb" % c,
                              "map alias: %d entries -> %s/alias.cdb" % (n, c),
                              "map mailbox: %d entries -> %s/mailbox.cdb"
                              % (n, c)],
         "sync prints one line per map: its entries and its file")
    before = {n: open(os.path.join(c, n), "rb").read()
              for n in sorted(os.listdir(c))}
    broken = lk.cfg_text + """
[map domain]
base = $domain_base
filter = (objectClass=domainRelatedObject)
key = associatedDomain
kind = domain

[map alias]
base = ou=Nowhere,o=company
key = mail
result = mail
"""
    lk.set_config(broken)
    r = lk.cli("sync")
    t.ok(r.rc == 1 and "ou=Nowhere,o=company" in r.err and r.out == "",
         "sync with one map that cannot be read: exit 1, names its base",
         r.why())
    after = {n: open(os.path.join(c, n), "rb").read()
             for n in sorted(os.listdir(c))}
    t.ok(after == before, "and no file changed: the domain map, read "
         "fine, is not written either", sorted(after))


@t.test
def check_prints_warnings_and_binds_with_bind_pw():
    lk = lookupd(bind_pw_file=None, bind_pw=t.SYSTEM_PW)
    os.chmod(lk.conf, 0o600)
    r = lk.cli("check")
    t.ok(r.rc == 0 and "ldap: bound as %s" % t.SYSTEM_DN in r.out and
         "warning" not in r.out + r.err, "bind_pw in a private file: check "
         "binds, no warning", r.why())
    t.ok(t.SYSTEM_PW not in r.out + r.err, "the password is not shown")
    os.chmod(lk.conf, 0o644)
    r = lk.cli("check")
    t.ok(r.rc == 0 and "%s: bind_pw is set in a file readable by others"
         % lk.conf in r.out + r.err, "in a file readable by others: "
         "check prints the warning", r.why())
    lk = lookupd(refresh=60)
    with open(lk.conf, "a") as f:
        f.write("refresh = 120\n")
    r = lk.cli("check")
    n = lk.cfg_text.count("\n") + 1
    t.ok(r.rc == 0 and "%s:%d: parameter refresh overrides the one at "
         "line" % (lk.conf, n) in r.out + r.err, "a parameter given twice: "
         "check prints FILE:LINE of the warning", r.why())


@t.test
def serve_that_cannot_listen_exits_2():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        lk = lookupd(tcp_listen="alias=inet:127.0.0.1:%d" % port)
        r = t.run([t.LOOKUPD, "-c", lk.conf, "serve", "-f"], timeout=30)
        t.ok(r.rc == 2 and "127.0.0.1:%d" % port in r.err, "serve -f with "
             "a tcp_listen port in use: exit 2, names the endpoint",
             r.why())
        t.ok(not os.path.exists(lk.socket[5:]), "and leaves no socket file")
    finally:
        busy.close()


# --------------------------------------------------------------- include

@t.test
def include_reads_map_sections_from_files():
    lk = lookupd(refresh=7200, profile="none")
    confd = os.path.join(lk.dir, "conf.d")
    os.makedirs(confd)
    os.makedirs(os.path.join(lk.dir, "none.d"))
    t.write(os.path.join(confd, "20-uid.conf"), "[map uid]\nkind = plain\n"
            "filter = (accountStatus=active)\nkey = uid\nresult = mail\n")
    t.write(os.path.join(confd, "10-domain.conf"), "[map domain]\n"
            "base = $domain_base\nfilter = (objectClass=domainRelatedObject)"
            "\nkey = associatedDomain\nkind = domain\n")
    t.write(os.path.join(confd, ".hidden.conf"), "[map hidden]\nkey = uid\n"
            "result = mail\n")
    with open(lk.conf, "a") as f:
        f.write("include = conf.d/*.conf\ninclude = none.d/*.conf\n")
    r = lk.cli("check")
    t.ok(r.rc == 0 and "map domain: 2 entries" in r.out and
         "map uid: " in r.out and "map hidden" not in r.out and
         "map alias" not in r.out, "include = conf.d/*.conf (relative to "
         "the file): its maps, in name order, no dot file", r.why())
    t.ok(r.out.find("map domain:") < r.out.find("map uid:"),
         "10-domain before 20-uid", r.out)
    t.ok("none.d" in r.out + r.err, "a pattern that matches no file: a "
         "warning check shows", r.why())
    r = lk.cli("query", "--direct", "uid", "onestonea")
    t.eq((r.rc, r.out), (0, "albert.onestone@anotherdomain.nu\n"),
         "the included map answers", r.why())
    bad = os.path.join(confd, "30-bad.conf")
    t.write(bad, "refresh = 10\n")
    r = lk.cli("check")
    t.ok(r.rc == 2 and "%s:1:" % bad in r.err, "a global parameter in an "
         "included file: exit 2, FILE:LINE", r.why())


# ------------------------------------------------------------ long answers

@t.test
def answers_too_long_for_tcp_table_are_temp():
    # 130 accounts share one alternate address: the alias answer, their
    # 130 mail values joined, is about 6 kB: fine for socketmap (100000
    # bytes), too long for a tcp_table line (4096): 400, not cut short.
    crowd = "crowd@mydomain.nl"
    member = "member.number.%03d.of.the.crowd@mydomain.nl"
    slapd().add("\n".join(
        t.person_ldif("crowd%03d" % i, member % i) +
        "mailAlternateAddress: %s\n" % crowd for i in range(130)))
    port = t.free_port()
    lk = lookupd(refresh=7200, tcp_listen="alias=inet:127.0.0.1:%d" % port)
    sync(lk)
    lk.start()
    want = ",".join(member % i for i in range(130))
    r = q(lk, "alias", crowd)
    t.eq(sorted(r[3:].split(b",")) if r.startswith(b"OK ") else r,
         sorted(want.encode().split(b",")), "socketmap: the %d-byte "
         "answer whole" % len(want))
    t.eq(t.tcp_request(("127.0.0.1", port), crowd, timeout=15),
         b"400 answer%20too%20long", "tcp_table: 400 answer too long, not "
         "a truncated answer")
    t.eq(lk.stop(), 0, "SIGTERM: exit 0")


if __name__ == "__main__":
    t.main()
