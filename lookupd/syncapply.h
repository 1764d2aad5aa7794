/*
 * syncapply: what one RFC 4533 sync message (an entry added, modified,
 * present or deleted, a syncIdSet, the end of a present phase) does to
 * the maps of a group (the maps that read the same entries), as a batch
 * of key changes for the snapshot writer and the live answers.  Pure: no
 * I/O; the group's uuidx is the only state, kept up to date here.
 *
 * The keys and values an entry gives a map are those of maps_entry_pairs
 * (the rule the full snapshot uses).  Changes are per entry: ADD and
 * REPLACE carry the key and what this entry gives it (its values merged
 * with "," as the snapshot merges them); DELETE carries only the key's
 * hash, the index keeping no key strings.  A key that several entries
 * give (an address two accounts share) is for the writer to merge: when
 * one entry's part changes or goes, what the others give stays.  A map
 * whose part of an entry did not change (same digest: an attribute no map
 * reads was modified) gives no change at all; when it did change, every
 * key the entry keeps gets a REPLACE, changed or not.
 */
#ifndef LDAPMAIL_SYNCAPPLY_H
#define LDAPMAIL_SYNCAPPLY_H

#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "lookupd/uuidx.h"

struct lentry;
struct syncgroup;

enum keychange_op { KEYCHANGE_ADD, KEYCHANGE_REPLACE, KEYCHANGE_DELETE };

struct keychange {
	size_t map;		/* index in the group's maps */
	enum keychange_op op;
	uint64_t hash;		/* uuidx_key_hash of the key */
	char *key;		/* ADD, REPLACE (lowercased); DELETE: NULL */
	size_t klen;
	char *val;		/* ADD, REPLACE: this entry's value(s) */
	size_t vlen;
};

struct keybatch {
	struct keychange *v;
	size_t n, cap;
};

#define KEYBATCH_INIT { NULL, 0, 0 }

void keybatch_reset(struct keybatch *b);
void keybatch_free(struct keybatch *b);

/* A group of n maps (at most UUIDX_MAPS) over index x (uuidx_new(n, ..)):
 * maps and x must outlive it. */
struct syncgroup *syncgroup_new(const struct cfg_map *const *maps, size_t n,
    struct uuidx *x);
void syncgroup_free(struct syncgroup *g);

/* An entry added or modified (or added in a refresh): e holds its
 * attributes.  Appends its changes to out; marks it present. */
void syncapply_entry(struct syncgroup *g, const unsigned char *uuid,
    const struct lentry *e, struct keybatch *out);
/* An entry unchanged (present, refresh): marks it; 1 if known. */
int syncapply_present(struct syncgroup *g, const unsigned char *uuid);
/* An entry gone (or out of the filter): DELETE of each key it gave. */
void syncapply_delete(struct syncgroup *g, const unsigned char *uuid,
    struct keybatch *out);
/* syncIdSet of n UUIDs: deleted (deletes) or present. */
void syncapply_idset(struct syncgroup *g, int deletes,
    const unsigned char *uuids, size_t n, struct keybatch *out);
/* A refresh begins: nothing is marked present any more. */
void syncapply_refresh_begin(struct syncgroup *g);
/* A present phase ended: every entry not marked since refresh_begin is
 * gone (its keys deleted). */
void syncapply_present_end(struct syncgroup *g, struct keybatch *out);

#endif
