/*
 * decide: the one order in which lookupd answers a key.  The daemon
 * (engine.c, on its event loop) and `lookupd route` (route.c) both call
 * decide(), so route cannot say what the daemon would not answer.
 *
 * An ldap_table map (ldap_table = FILE) is answered from its snapshot
 * when it has one (an enumerable map, lookupd/tablebuild.h): a value,
 * or TEMP where Postfix's ldap: reports an error; a key it does not
 * hold is NOTFOUND with miss_lookup = no when the snapshot proves it
 * (tablesnap_key_complete), asked live otherwise.  Without a snapshot
 * the map is asked live.
 *
 * In order: the key rules (maps_walk: a key that cannot be in the map is
 * NOTFOUND without looking; no such map is PERM); the map's snapshot
 * (with sync = persist, the changes not in its file yet first), every
 * step of the walk, unless it is older than max_stale (a damaged
 * one is reported and not used further); the live answers the daemon
 * remembers (a find until the next snapshot, a miss for negative_ttl);
 * with miss_lookup = no, NOTFOUND from a usable snapshot and TEMP without
 * one; otherwise the walk must be asked of LDAP (DECIDE_LIVE).
 *
 * decide() never waits: it reads the mapped snapshot and the memory, no
 * more.  The daemon hands a DECIDE_LIVE walk to its workers and learns
 * their answer with decide_learn(); route asks LDAP at once.
 */
#ifndef LDAPMAIL_DECIDE_H
#define LDAPMAIL_DECIDE_H

#include <stddef.h>
#include <time.h>

#include "common/cfg.h"
#include "lookupd/maps.h"
#include "lookupd/result.h"

struct kcache;
struct overlay;
struct snapshot;

enum decide_from {
	DECIDE_RULES,		/* the key rules: NOTFOUND, or PERM (no map) */
	DECIDE_SNAPSHOT,	/* FOUND in the snapshot */
	DECIDE_MEMORY,		/* a live answer remembered (FOUND/NOTFOUND) */
	DECIDE_NO_LIVE,		/* miss_lookup = no: NOTFOUND or TEMP */
	DECIDE_LIVE		/* not decided: ask LDAP for the walk */
};

enum decide_snap {
	DECIDE_SNAP_NONE,	/* no snapshot given, or not needed */
	DECIDE_SNAP_USED,	/* looked at, every step or up to a hit */
	DECIDE_SNAP_STALE,	/* older than max_stale: not answered from */
	DECIDE_SNAP_DAMAGED	/* a bad record or SIGBUS: stop using it */
};

struct decision {
	enum decide_from from;
	enum result res;	/* unless DECIDE_LIVE */
	enum decide_snap snap;
	size_t step;		/* FOUND: the step of the walk that matched */
	const char *val;	/* FOUND: the stored value (no extension */
	size_t vlen;		/* yet), valid while snapshot or memory is */
	const char *why;	/* TEMP, PERM: the reason */
	char whybuf[300];	/* a reason from a snapshot (why points here) */
};

/* The daemon's memory of one map's live answers (NULL members: none). */
struct decide_mem {
	struct kcache *found;
	struct kcache *missed;
};

/* Decide key for map m of cfg (m NULL: no such map) with the map's
 * snapshot (may be NULL), the persist changes not in it yet (ov, may be
 * NULL; consulted before it, each step) and memory (may be NULL) at now.  *w gets the
 * walk (free it with maps_walk_free whatever the decision). */
void decide(const struct cfg *cfg, const struct cfg_map *m, const char *key,
    size_t keylen, struct snapshot *snap, const struct overlay *ov,
    const struct decide_mem *mem, time_t now, struct walk *w,
    struct decision *d);

/* Remember the live answer to w (FOUND at step with the stored value val,
 * or NOTFOUND) so that decide() gives it again; TEMP and PERM are never
 * remembered. */
void decide_learn(const struct cfg *cfg, const struct decide_mem *mem,
    const struct walk *w, enum result res, size_t step, const char *val,
    size_t vlen, time_t now);

#endif
