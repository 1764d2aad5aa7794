/*
 * engine: where a request becomes an answer inside the daemon.
 *
 * engine_lookup() runs on the event loop and never waits on LDAP: it
 * asks decide() (decide.h, the order `lookupd route` follows too) with
 * the map's snapshot and its memory of live answers, and either answers
 * at once or hands the walk to a pool of worker threads that ask LDAP
 * live.  Their answers come back through engine_fd() and
 * engine_drain(), on the event loop again.  A builder thread keeps the
 * snapshots fresh (every `refresh` s, earlier after a live find, at once
 * when a snapshot is found damaged) and hands finished ones over whole.
 */
#ifndef LDAPMAIL_ENGINE_H
#define LDAPMAIL_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "lookupd/result.h"

struct buf;
struct engine;
struct status;

/* Start with cfg (the engine owns it from now on): load the snapshots on
 * disk, start the threads.  NULL with err set on failure. */
struct engine *engine_new(struct cfg *cfg, char *err, size_t errsz);
/* Stop the threads (bounded by ldap_timeout) and free everything. */
void engine_free(struct engine *e);

/* Answer map/key.  Returns 1 when answered now: *res set and, for FOUND,
 * the value (TEMP/PERM: the reason) appended to out.  Returns 0 when the
 * answer will come later through engine_drain() with this token. */
int engine_lookup(struct engine *e, const char *map, size_t maplen,
    const char *key, size_t keylen, uint64_t token, enum result *res,
    struct buf *out);

/* Readable when answers of pending lookups wait to be drained. */
int engine_fd(const struct engine *e);
typedef void (*engine_done_fn)(void *arg, uint64_t token, enum result res,
    const char *text, size_t len);
/* Deliver every waiting answer (tokens of closed connections are the
 * caller's to ignore). */
void engine_drain(struct engine *e, engine_done_fn done, void *arg);

/* Housekeeping, about once a second, from the event loop. */
void engine_tick(struct engine *e);

/* SIGHUP: re-read the configuration file and rebuild.  On success the new
 * cfg is returned (the engine owns it); on error the old one stays in
 * force, the reason is logged, and NULL is returned. */
const struct cfg *engine_reload(struct engine *e);
/* The configuration in force. */
const struct cfg *engine_cfg(const struct engine *e);

/* Every map has a snapshot to answer from (systemd's READY=1). */
int engine_ready(const struct engine *e);
/* Fill the engine's part of st (status.h; status_free() frees it). */
void engine_status(struct engine *e, struct status *st);

#endif
