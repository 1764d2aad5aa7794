/*
 * persist: sync = persist.  One RFC 4533 refreshAndPersist stream
 * (common/ldapsync.h) per group of maps that read the same entries, each
 * on a thread of its own, so a slow or dead stream never delays an
 * answer.  Every change is handed to the event loop at once (its overlay
 * answers it) and, coalesced over persist_flush, committed to the map's
 * cdb file through the snapshot writer's batch interface; the persist
 * index (<cache_dir>/<group>.uuidx) and the cookie (<group>.cookie) are
 * written after the files, so a restart resumes from them (replaying a
 * change twice changes nothing).  Without a usable cookie and index, on
 * e-syncRefreshRequired, on another server, a failed commit or every
 * `refresh` s, the stream starts over: a full refresh written whole,
 * the old files answering meanwhile.
 */
#ifndef LDAPMAIL_PERSIST_H
#define LDAPMAIL_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "lookupd/syncapply.h"
#include "lookupd/uuidx.h"

struct buf;
struct persist;
struct snapshot;

/* What the streams hand over; called from their threads. */
struct persist_hooks {
	/* Changes of batch seq (map: an index in cfg->maps), key hashes
	 * keyed with k: to answer at once.  The hook owns b. */
	void (*changes)(void *arg, uint64_t seq, const struct uuidx_keys *k,
	    struct keybatch *b);
	/* The files of maps (n indexes in cfg->maps) hold every change up
	 * to seq.  snaps[i]: map i's file as the stream wrote it, open (the
	 * hook takes its own snapshot_ref), or NULL: open it. */
	void (*committed)(void *arg, uint64_t seq, const size_t *maps,
	    struct snapshot *const *snaps, size_t n);
	/* The server offers no RFC 4533 sync (why): poll instead. */
	void (*refused)(void *arg, const char *why);
	/* Something failed (why), for `stats`. */
	void (*error)(void *arg, const char *why);
};

/* Start a stream per group of the maps of cfg (cfg, h, arg must outlive
 * it).  NULL with err set if a thread cannot start. */
struct persist *persist_new(const struct cfg *cfg,
    const struct persist_hooks *h, void *arg, char *err, size_t errsz);
/* Stop the streams (within about ldap_timeout) and free. */
void persist_free(struct persist *p);
/* Start every stream over with a full refresh (a damaged snapshot). */
void persist_full(struct persist *p);
/* Append "persist.GROUP.* value" lines: server, state, counters. */
void persist_stats(struct persist *p, struct buf *out);

#endif
