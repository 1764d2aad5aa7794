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
	int failed;		/* TEMP because the search failed (LDAP), not
				 * because of what it found */
	struct buf *sources;	/* NULL, or (ldap_table maps, FOUND) one
				 * "DN TAB VALUE" line per value */
};

/* Ask LDAP for w on map m.  value and dns are appended to (caller resets). */
enum result live_walk(struct ldapconn *lc, const struct cfg_map *m,
    const struct walk *w, struct live_answer *a);

/* The same for an ldap_table map, through its pfldap session: each step
 * of w asked as Postfix's ldap: asks it, the first found answers; a
 * Postfix error or LDAP failure is TEMP (never NOTFOUND). */
struct pfldap;
enum result live_table_walk(struct pfldap *p, const struct cfg_map *m,
    const struct walk *w, struct live_answer *a);
/* live_walk for a native map, live_table_walk with a session of its own
 * (opened and closed here) for an ldap_table map, with unreachable set
 * when LDAP said "try later": for one-shot commands (query --direct,
 * route). */
enum result live_walk_any(struct ldapconn *lc, const struct cfg_map *m,
    const struct walk *w, struct live_answer *a);
/* 0 when every ldap_table map of cfg asks only what pfldap implements;
 * -1 with "CFG:LINE: [map NAME]: ldap_table: FILE: why" in err. */
int live_tables_supported(const struct cfg *cfg, char *err, size_t errsz);

#endif
