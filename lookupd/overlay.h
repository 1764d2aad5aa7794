/*
 * overlay: the changes persist sync applied to one map that its snapshot
 * file does not hold yet, consulted before the snapshot (decide.c), so a
 * change answers at once while the cdb file follows within persist_flush.
 *
 * Keyed by the 56-bit key hash of the persist index (uuidx.h), since a
 * delete arrives as a hash only.  Every change carries the sequence
 * number of its batch; once a snapshot holding every change up to S is
 * in use, overlay_commit(S) drops them.  Owned by one thread (the event
 * loop); no locking.
 */
#ifndef LDAPMAIL_OVERLAY_H
#define LDAPMAIL_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#include "lookupd/syncapply.h"
#include "lookupd/uuidx.h"

struct overlay;
struct snapshot;

struct overlay *overlay_new(void);
void overlay_free(struct overlay *o);

/* The key hashes of the changes that follow; other keys than those of
 * the changes held: everything held is dropped. */
void overlay_keys(struct overlay *o, const struct uuidx_keys *k);
/* Apply one change of batch seq.  An ADD merges with what the key has
 * (here, or else in snap, which may be NULL), as the snapshot writer
 * merges. */
void overlay_apply(struct overlay *o, uint64_t seq, const struct keychange *c,
    struct snapshot *snap);
/* key (lowercased): 1 with its value (valid until the next change), -1
 * deleted, 0 no change held. */
int overlay_get(const struct overlay *o, const char *key, size_t klen,
    const char **val, size_t *vlen);
/* The snapshot in use holds every change up to seq: forget them. */
void overlay_commit(struct overlay *o, uint64_t seq);
/* Drop everything (a full refresh replaced the snapshot). */
void overlay_clear(struct overlay *o);
size_t overlay_count(const struct overlay *o);

#endif
