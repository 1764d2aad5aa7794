/*
 * live: one walk asked of LDAP itself.
 *
 * All keys of the walk go into one search (one round trip); the first step
 * that any entry holds wins, as on the snapshot.  Used by the daemon's
 * workers, by `query --direct` and by `route`.  Blocks for up to
 * ldap_timeout (twice with the reconnect): never call it on the event loop.
 */
#ifndef LDAPMAIL_LIVE_H
#define LDAPMAIL_LIVE_H

#include <stddef.h>

#include "common/cfg.h"
#include "lookupd/result.h"

struct buf;
struct ldapconn;
struct walk;

struct live_answer {
	enum result res;
	size_t step;		/* FOUND: which step of the walk matched */
	struct buf *value;	/* FOUND: the merged values (no extension) */
	struct buf *dns;	/* FOUND/TEMP: DNs behind the answer, "\n"-separated */
	char err[512];		/* TEMP/PERM: why */
	int unreachable;	/* TEMP because LDAP failed or timed out */
};

/* Ask LDAP for w on map m.  value and dns are appended to (caller resets). */
enum result live_walk(struct ldapconn *lc, const struct cfg_map *m,
    const struct walk *w, struct live_answer *a);

#endif
