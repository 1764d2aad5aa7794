#!/usr/bin/env python3
"""test_persist: lookupd with sync = persist against a replicated OpenLDAP.

A provider (syncprov) and a consumer replicating it (test_sync's pair),
`ldap_uri = <consumer> <provider>`, `sync = persist`, `refresh = 3600`:
- 100 changes made on the provider (new accounts, new alternate
  addresses, removed ones, deactivations, deletions), five per
  ldapmodify: each is answered right over socketmap (within 2 s) and by
  the cdb file as Postfix reads it (within 3 s), and every answer is
  right at the end;
- with persist_flush = 5, each kind of change answers over socketmap
  within 1 s while the cdb file still answers as before (the changes
  held in memory answer first), and the file follows;
- lookupd stopped, changes made, started again: it resumes from the
  stored cookie (no full refresh) and answers them within 2 s;
- the consumer stopped, changes made meanwhile, started again: caught
  up within 5 s;
- the consumer frozen with SIGSTOP (miss_lookup = yes): live lookups and
  the persist stream go on from the provider within ldap_timeout + 2 s;
  after SIGCONT lookupd returns to the consumer after `failback`;
- a server without syncprov: `check` says so, lookupd polls.
The frozen-first-server case with sync = poll: test_failover.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ldapmail_test as t                                   # noqa: E402

TIMEOUT = 2                     # ldap_timeout
FAILBACK = 4
BASE = t.ACCOUNT_BASE
DOM = "anotherdomain.nu"
ALBERT = "ao@anotherdomain.nu"
ALBERT_BOX = "/vmail/albert.onestone/Maildir/"
S = {}


def account(uid, alts=()):
    return ("dn: uid=%s,%s\nobjectClass: inetOrgPerson\nobjectClass: "
            "qmailUser\ncn: %s\nsn: %s\nuid: %s\nmail: %s@%s\n"
            "accountStatus: active\nmailMessageStore: /vmail/%s/Maildir/\n"
            "%s\n" % (uid, BASE, uid, uid, uid, uid, DOM, uid,
                      "".join("mailAlternateAddress: %s\n" % a
                              for a in alts)))


def dn(uid):
    return "uid=%s,%s" % (uid, BASE)


class Model:
    """What the directory holds of the accounts made here: the mailbox
    map's answer for each key (None: NOTFOUND)."""

    def __init__(self):
        self.acc = {}           # uid -> {"alts": set, "active": bool}

    def want(self):
        out = {}
        for uid, a in self.acc.items():
            box = "/vmail/%s/Maildir/" % uid if a["active"] else None
            out["%s@%s" % (uid, DOM)] = box
            for x in a["alts"]:
                out[x] = box
        return out


def box_cdb():
    return "cdb:" + os.path.join(S["dir"], "cache", "mailbox")


def sm_answer(key):
    r = S["lk"].query("mailbox", key)
    if r.startswith(b"OK "):
        return r[3:].decode()
    if r.startswith(b"NOTFOUND"):
        return None
    return "error: %r" % r


def cdb_answer(key):
    rc, out = t.postmap_q(key, box_cdb())
    return out if rc == 0 else None if rc == 1 else "error %s" % rc


def cdb_answers(keys):
    """The cdb's answers for keys, one postmap for them all."""
    rc, pairs = t.postmap_batch(keys, box_cdb())
    got = dict(pairs)
    if rc not in (0, 1):
        return {k: "error %s" % rc for k in keys}
    return {k: got.get(k) for k in keys}


def right_within(keys, want, answer, secs):
    """Seconds until answer(k) == want[k] for every key, or None (answer
    cdb_answer: asked of the cdb file with one postmap per look)."""
    t0 = time.monotonic()
    todo = set(keys)

    def look():
        if answer is cdb_answer:
            got = cdb_answers(sorted(todo))
            for k in list(todo):
                if got[k] == want.get(k):
                    todo.discard(k)
            return not todo
        for k in list(todo):
            if answer(k) == want.get(k):
                todo.discard(k)
        return not todo
    if t.wait_until(look, secs * t.SLOW, 0.01):
        return time.monotonic() - t0
    S["late"] = {k: (answer(k), want.get(k)) for k in todo}
    return None


def ldapmodify(text):
    S["p"].modify(text)


def config(**kw):
    c, p, d = S["c"], S["p"], S["dir"]
    params = dict(ldap_uri="%s %s" % (c.uri, p.uri), ldap_timeout=TIMEOUT,
                  sync="persist", refresh=3600, miss_lookup="no",
                  failback=FAILBACK, persist_flush="0.2")
    params.update(kw)
    return t.lookupd_config(c, d, **params)


def stats_value(name):
    try:
        return S["lk"].stats().get(name)
    except RuntimeError:
        return None


@t.test
def setup():
    p, c = t.sync_pair()
    S.update(p=p, c=c, dir=t.tmpdir(), model=Model())
    S["lk"] = t.Lookupd(config(), dir=S["dir"]).start()
    ok = t.wait_until(lambda: sm_answer(ALBERT) == ALBERT_BOX, 15 * t.SLOW)
    t.ok(ok, "the first full refresh (over the sync stream) answers")
    t.eq(stats_value("sync.mode"), "persist", "stats: sync.mode persist")
    t.ok(t.wait_until(lambda: stats_value("persist.alias.state") ==
                      "persist", 10 * t.SLOW),
         "stats: the stream is in its persist phase")
    t.eq(stats_value("persist.alias.server"), c.uri,
         "stats: the stream uses the first ldap_uri (the consumer)")
    t.eq(cdb_answer(ALBERT), ALBERT_BOX, "the cdb file answers")


def mod(uid, op, attr, val):
    return "dn: %s\nchangetype: modify\n%s: %s\n%s: %s\n\n" % (
        dn(uid), op, attr, attr, val)


def hundred_steps():
    """20 steps of 5 changes: (kind, what, model change) each."""
    names = ["pa%02d" % i for i in range(25)]
    groups = [names[i:i + 5] for i in range(0, 25, 5)]
    steps = []

    def alt(uid):
        return "alt-%s@%s" % (uid, DOM)
    for g in groups:                                    # 25 new accounts
        steps.append(("add", g))
    for g in groups:                                    # 25 new alternates
        steps.append(("modify", [(u, "add", "mailAlternateAddress",
                                  alt(u)) for u in g]))
    for g in groups[:3]:                                # 15 removed
        steps.append(("modify", [(u, "delete", "mailAlternateAddress",
                                  alt(u)) for u in g]))
    for g in groups[2:]:                                # 15 deactivated
        steps.append(("modify", [(u, "replace", "accountStatus",
                                  "disabled") for u in g]))
    for g in groups[:4]:                                # 20 deleted
        steps.append(("delete", g))
    return steps


def apply_step(kind, what):
    """Make one step on the provider and in the model; the keys whose
    answer it may change."""
    m, p = S["model"], S["p"]
    before = m.want()
    if kind == "add":
        p.add("".join(account(uid) + "\n" for uid in what))
        for uid in what:
            m.acc[uid] = {"alts": set(), "active": True}
    elif kind == "delete":
        ldapmodify("".join("dn: %s\nchangetype: delete\n\n" % dn(uid)
                           for uid in what))
        for uid in what:
            del m.acc[uid]
    else:
        ldapmodify("".join(mod(*x) for x in what))
        for uid, op, attr, val in what:
            a = m.acc[uid]
            if attr == "accountStatus":
                a["active"] = val == "active"
            elif op == "add":
                a["alts"].add(val)
            else:
                a["alts"].discard(val)
    after = m.want()
    return sorted(set(before) | set(after)), len(what)


@t.test
def hundred_changes():
    worst_sm = worst_cdb = 0.0
    n = 0
    bad = []
    for kind, what in hundred_steps():
        keys, k = apply_step(kind, what)
        n += k
        want = S["model"].want()
        s1 = right_within(keys, want, sm_answer, 2)
        s2 = right_within(keys, want, cdb_answer, 3)
        if s1 is None or s2 is None:
            bad.append((kind, S.get("late")))
        else:
            worst_sm, worst_cdb = max(worst_sm, s1), max(worst_cdb, s2)
    t.eq(n, 100, "100 changes made on the provider")
    t.ok(not bad, "each change answered right over socketmap within 2 s "
         "and by the cdb within 3 s (slowest %.2f s / %.2f s)" % (
             worst_sm, worst_cdb), repr(bad[:3]))
    want = S["model"].want()
    want[ALBERT] = ALBERT_BOX
    t.eq({k: sm_answer(k) for k in want}, want, "at the end every answer "
         "is right over socketmap (%d keys)" % len(want))
    t.eq(cdb_answers(sorted(want)), want, "... and in the cdb file")
    st = S["lk"].stats()
    t.eq(st.get("persist.alias.full_refreshes"), 1,
         "no full refresh after the first one (stats)")


@t.test
def answered_before_the_cdb_has_it():
    """With persist_flush = 5, each kind of change answers over socketmap
    while the cdb file still has the old answer: the answer comes from
    the changes held in memory, not from the file."""
    lk, c, p = S["lk"], S["c"], S["p"]
    lk.set_config(config(persist_flush="5"))
    lk.reload()
    t.wait_until(lambda: stats_value("persist.alias.state") == "persist",
                 10 * t.SLOW)
    time.sleep(0.5)
    m = S["model"]
    before = m.want()
    steps = [("add", ["pm01", "pm02"]),
             ("modify", [("pm01", "add", "mailAlternateAddress",
                          "alt-pm01@" + DOM)])]
    keys = set()
    for kind, what in steps:
        k, _ = apply_step(kind, what)
        keys |= set(k)
    t0 = time.monotonic()
    s1 = right_within(sorted(keys), m.want(), sm_answer, 1)
    cdb_now = cdb_answers(sorted(keys))
    old = {k: before.get(k) for k in keys}
    t.ok(s1 is not None, "persist_flush 5 s: new accounts and a new "
         "alternate address answer over socketmap within 1 s",
         repr(S.get("late")))
    t.eq(cdb_now, old, "... while the cdb file still answers as before "
         "(%.2f s after the change)" % (time.monotonic() - t0))
    t.ok(right_within(sorted(keys), m.want(), cdb_answer, 5 + 3)
         is not None, "the cdb file has them after persist_flush",
         repr(S.get("late")))
    before = m.want()
    keys = set()
    for kind, what in [("modify", [("pm01", "delete",
                                    "mailAlternateAddress",
                                    "alt-pm01@" + DOM)]),
                       ("modify", [("pm02", "replace", "accountStatus",
                                    "disabled")])]:
        k, _ = apply_step(kind, what)
        keys |= set(k)
    s1 = right_within(sorted(keys), m.want(), sm_answer, 1)
    cdb_now = cdb_answers(sorted(keys))
    t.ok(s1 is not None, "a removed alternate address and a deactivation "
         "answer NOTFOUND over socketmap within 1 s", repr(S.get("late")))
    t.eq(cdb_now, {k: before.get(k) for k in keys},
         "... while the cdb file still has them")
    t.ok(right_within(sorted(keys), m.want(), cdb_answer, 5 + 3)
         is not None, "... and has the removals after persist_flush",
         repr(S.get("late")))
    lk.set_config(config())
    lk.reload()
    t.wait_until(lambda: stats_value("persist.alias.state") == "persist",
                 10 * t.SLOW)


@t.test
def restart_resumes():
    m, p, lk = S["model"], S["p"], S["lk"]
    lk.stop()
    keys = []
    for uid in ("pr01", "pr02"):
        p.add(account(uid))
        m.acc[uid] = {"alts": set(), "active": True}
        keys.append("%s@%s" % (uid, DOM))
    p.delete(dn("pa24"))
    keys += ["pa24@" + DOM] + sorted(m.acc.pop("pa24")["alts"])
    lk.start()
    took = right_within(keys, m.want(), sm_answer, 2)
    t.ok(took is not None, "lookupd restarted: the changes made while it "
         "was down answer within 2 s (%s s)" % took, repr(S.get("late")))
    st = lk.stats()
    t.eq(st.get("persist.alias.full_refreshes"), 0,
         "it resumed from the stored cookie, no full refresh", repr(st))
    t.ok(right_within(keys, m.want(), cdb_answer, 3) is not None,
         "... and the cdb file has them", repr(S.get("late")))


@t.test
def killed_after_a_commit_replays():
    """SIGKILL right after changes reached the cdb files, before the index
    and cookie caught up (written at most every 5 s): the restart replays
    those changes from the older cookie, which leaves every answer
    right."""
    m, p, lk = S["model"], S["p"], S["lk"]
    # A commit writes the index when 5 s have passed since the last one
    # (the first does); the next commit, a moment later, does not.
    k1, _ = apply_step("modify", [("pr01", "add", "mailAlternateAddress",
                                   "alt-pr01@" + DOM)])
    right_within(k1, m.want(), cdb_answer, 3)
    k2, _ = apply_step("modify", [("pr02", "replace", "accountStatus",
                                   "disabled")])
    k3, _ = apply_step("add", ["pk01"])
    keys = sorted(set(k1) | set(k2) | set(k3))
    t.ok(right_within(keys, m.want(), cdb_answer, 3) is not None,
         "the changes are in the cdb file", repr(S.get("late")))
    cache = os.path.join(S["dir"], "cache")
    index = [f for f in os.listdir(cache) if f.endswith(".uuidx") and
             "alias" in f]
    lag = index and os.stat(os.path.join(cache, index[0])).st_mtime < \
        os.stat(os.path.join(cache, "mailbox.cdb")).st_mtime
    t.ok(lag, "the index on disk is older than the cdb file at the kill",
         index)
    lk.stop(sig=signal.SIGKILL)
    lk.start()
    took = right_within(keys, m.want(), sm_answer, 2)
    t.ok(took is not None, "killed and restarted: every answer right "
         "within 2 s (%s s)" % took, repr(S.get("late")))
    t.ok(right_within(keys, m.want(), cdb_answer, 3) is not None,
         "... and in the cdb file", repr(S.get("late")))
    t.eq(stats_value("persist.alias.full_refreshes"), 0,
         "resumed from the cookie it had, no full refresh")


@t.test
def consumer_stopped_and_started():
    m, p, c = S["model"], S["p"], S["c"]
    c.stop()
    keys = []
    for uid in ("pc01", "pc02"):
        p.add(account(uid))
        m.acc[uid] = {"alts": set(), "active": True}
        keys.append("%s@%s" % (uid, DOM))
    c.start()
    took = right_within(keys, m.want(), sm_answer, 5)
    t.ok(took is not None, "consumer stopped, changes made, consumer "
         "started: caught up within 5 s (%s s)" % took, repr(S.get("late")))


@t.test
def consumer_frozen():
    m, p, c, lk = S["model"], S["p"], S["c"], S["lk"]
    lk.set_config(config(miss_lookup="yes"))
    lk.reload()
    t.wait_until(lambda: stats_value("persist.alias.state") == "persist" and
                 stats_value("persist.alias.server") == c.uri, 10 * t.SLOW)
    t.ok(lk.alive(), "lookupd runs (after the reload)", lk.errors()[-1500:])
    c.freeze()
    try:
        t0 = time.monotonic()
        p.add(account("pf01"))
        m.acc["pf01"] = {"alts": set(), "active": True}
        key = "pf01@" + DOM
        # over socketmap a live find would answer it too: ask the cdb
        ok = right_within([key], m.want(), cdb_answer, TIMEOUT + 2)
        took = time.monotonic() - t0
        t.ok(ok is not None, "consumer frozen: the persist stream goes on "
             "from the provider, the cdb has a new account within "
             "ldap_timeout + 2 s of the freeze (%.2f s)" % took,
             repr(S.get("late")))
        t.eq(stats_value("persist.alias.server"), p.uri,
             "stats: the stream now uses the provider")
        t0 = time.monotonic()
        r = lk.query("mailbox", "nobody-%d@%s" % (os.getpid(), DOM),
                     timeout=30)
        took = time.monotonic() - t0
        t.ok(r == b"NOTFOUND " and took < (TIMEOUT + 2) * t.SLOW,
             "consumer frozen: a live lookup is answered by the provider "
             "within ldap_timeout + 2 s (%.2f s)" % took, r)
        st = lk.stats()
        t.ok(p.uri in [st.get("session.live%d.server" % i)
                       for i in range(4)],
             "stats: a live session uses the provider",
             [st.get("session.live%d.server" % i) for i in range(4)])
    finally:
        c.thaw()
    ok = t.wait_until(lambda: stats_value("persist.alias.server") == c.uri,
                      (FAILBACK + TIMEOUT + 5) * t.SLOW, 0.2)
    t.ok(ok, "after SIGCONT the stream returns to the consumer after "
         "failback (%d s)" % FAILBACK, repr(stats_value(
             "persist.alias.server")))
    p.add(account("pf02"))
    m.acc["pf02"] = {"alts": set(), "active": True}
    t.ok(right_within(["pf02@" + DOM], m.want(), cdb_answer, 3)
         is not None, "back on the consumer, changes still come",
         repr(S.get("late")))
    want = m.want()
    want[ALBERT] = ALBERT_BOX
    t.eq({k: sm_answer(k) for k in want}, want,
         "every answer is right at the end")


@t.test
def without_syncprov():
    s = t.Slapd().start()
    try:
        d = t.tmpdir()
        cfg = t.lookupd_config(s, d, sync="persist", ldap_timeout=TIMEOUT,
                               miss_lookup="no")
        lk = t.Lookupd(cfg, dir=d, name="lookupd-nosync").start()
        try:
            r = lk.cli("check")
            t.ok("RFC 4533 sync not offered" in r.out and
                 "lookupd polls instead" in r.out, "check says the server "
                 "offers no sync and that lookupd polls", r.out)
            ok = t.wait_until(lambda: lk.query("mailbox", ALBERT) ==
                              b"OK " + ALBERT_BOX.encode(), 15 * t.SLOW)
            t.ok(ok, "sync = persist without syncprov: lookupd polls and "
                 "answers")
            st = lk.stats()
            t.eq(st.get("sync.mode"), "poll (persist refused)",
                 "stats say it polls")
        finally:
            lk.stop()
    finally:
        s.stop()


@t.test
def teardown():
    S["lk"].stop()
    err = S["lk"].errors()
    t.ok("AddressSanitizer" not in err and "runtime error" not in err,
         "lookupd ended without a sanitizer report", err[-800:])


if __name__ == "__main__":
    sys.exit(t.main())
