/*
 * kcache: a bounded, expiring key -> value memory for the event loop.
 *
 * The daemon remembers live answers here: a "not found" for negative_ttl
 * seconds (val NULL), a live find until the next snapshot of its map.
 * Bounded: when full, expired entries go first, then everything (a cache
 * may forget, it may never grow without limit).  One thread only.
 */
#ifndef LDAPMAIL_KCACHE_H
#define LDAPMAIL_KCACHE_H

#include <stddef.h>
#include <time.h>

struct kcache;

struct kcache *kcache_new(size_t max_entries);
void kcache_free(struct kcache *c);
/* 1 and *val, *vlen (val NULL for a remembered miss) when key is known and
 * unexpired at now; 0 otherwise. */
int kcache_get(struct kcache *c, const char *key, size_t klen, time_t now,
    const char **val, size_t *vlen);
/* Remember key -> val (NULL: a miss) until expires. */
void kcache_put(struct kcache *c, const char *key, size_t klen,
    const char *val, size_t vlen, time_t expires);
/* Drop entries expired at now. */
void kcache_expire(struct kcache *c, time_t now);
void kcache_clear(struct kcache *c);

#endif
