/*
 * sync: a full snapshot of every map, from a paged read of the directory.
 *
 * Maps that read the same entries (same base, scope and filter: the
 * built-in alias and mailbox maps) share one search.  All reads must
 * complete before anything is written; then each map's file is committed
 * whole (snapwriter.h).  A failure leaves every old snapshot in place.
 */
#ifndef LDAPMAIL_SYNC_H
#define LDAPMAIL_SYNC_H

#include <stddef.h>

#include "common/cfg.h"

struct ldapconn;

/* Build <cache_dir>/<map>.cdb for every map of cfg.  entries (may be
 * NULL) gets, per map in cfg order, how many entries the map read.
 * 0 on success, -1 with err set; -2 with err set when the directory
 * could not be asked (down, too slow, busy: a later try may succeed). */
int sync_build(const struct cfg *cfg, struct ldapconn *lc, size_t *entries,
    char *err, size_t errsz);

/* The same, or (tables_only) only the ldap_table maps (sync = persist
 * keeps the others).  An ldap_table map whose answers cannot be computed
 * exactly (lookupd/tablebuild.h) gets no snapshot: its file is removed,
 * the reason logged, and it is answered live until lookupd restarts. */
int sync_build_maps(const struct cfg *cfg, struct ldapconn *lc,
    int tables_only, size_t *entries, char *err, size_t errsz);
/* 1 when ldap_table map m was found not computable in this run. */
int sync_table_live(const struct cfg_map *m);

/* Do maps a and b read the same entries (one search, one persist
 * stream)? */
int sync_same_read(const struct cfg_map *a, const struct cfg_map *b);
/* Report a key left out of a single map (snapwriter's conflict()). */
void sync_conflict(const char *map, const char *key, const char *const *dns,
    size_t ndns, void *arg);

/* Create cache_dir (mode 0750) if it is missing; -1 with err set. */
int sync_cache_dir(const struct cfg *cfg, char *err, size_t errsz);

#endif
