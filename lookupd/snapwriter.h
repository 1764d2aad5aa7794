/*
 * snapwriter: writing one map's snapshot, <dir>/<map>.cdb and its digest
 * (the files snapshot.h reads), exactly as `postmap cdb:` would write
 * them: keys lowercased, no trailing NUL, one record per key whose values
 * are merged with ",".
 *
 * Two ways to a new file, one commit:
 *   - a full build: snapwriter_new(), snapwriter_add() for every (key,
 *     value) the directory gives, snapwriter_commit();
 *   - a batch of changes: snapwriter_from() the snapshot in place, then
 *     snapwriter_add() / snapwriter_replace() / snapwriter_delete(),
 *     snapwriter_commit().  The new file is the old one with the changes
 *     applied in the order given, byte for byte what a full build of the
 *     same data writes; the directory is not read again.
 * A commit writes a temporary file in <dir>, fsyncs and digests it, and
 * renames the digest, then the file, into place; readers of the old file
 * are unaffected.  What a commit costs: snapwriter.c.
 */
#ifndef LDAPMAIL_SNAPWRITER_H
#define LDAPMAIL_SNAPWRITER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct snapshot;
struct snapwriter;

/* A new snapshot for map in dir, empty.  single: a key with more than one
 * distinct value is left out and reported through conflict(). */
struct snapwriter *snapwriter_new(const char *dir, const char *map,
    int single);
/* A new snapshot for map in dir that starts as every record of base (the
 * map's snapshot, opened by the caller and kept open until the commit). */
struct snapwriter *snapwriter_from(struct snapshot *base, const char *dir,
    const char *map, int single);

/* When the data being written was read from the directory.  It becomes
 * the file's mtime (snapshot_built), and a commit never replaces a
 * snapshot whose data was read later: of two writers of one map, the
 * fresher data stays whichever renames last. */
void snapwriter_set_time(struct snapwriter *w, const struct timespec *t);

/* One more value for key (lowercased here); dn says where it came from.
 * Identical values of a key are kept once, others are merged with "," in
 * the order added; a base record counts as one value. */
void snapwriter_add(struct snapwriter *w, const char *key, size_t klen,
    const char *val, size_t vlen, const char *dn);
/* The values of key become val alone (later adds merge with it). */
void snapwriter_replace(struct snapwriter *w, const char *key, size_t klen,
    const char *val, size_t vlen, const char *dn);
/* key leaves the snapshot (a later add brings it back). */
void snapwriter_delete(struct snapwriter *w, const char *key, size_t klen);

/* Persist sync's index keeps key hashes, not keys: fn gives the hash of a
 * key as the snapshot stores it (lowercased), for snapwriter_delete_hash. */
typedef uint64_t (*snap_key_hash_fn)(const char *key, size_t klen,
    void *arg);
void snapwriter_key_hash(struct snapwriter *w, snap_key_hash_fn fn,
    void *arg);
/* The key whose hash is hash (in the base or given to w, at any point)
 * leaves the snapshot, as snapwriter_delete would at this point of the
 * batch; none: nothing.  Costs the commit one more reading of the base. */
void snapwriter_delete_hash(struct snapwriter *w, uint64_t hash);

/* Called once per left-out key of a single map, with every DN behind it
 * ("(snapshot: DN not recorded)" for a value of the base). */
typedef void (*snap_conflict_fn)(const char *map, const char *key,
    const char *const *dns, size_t ndns, void *arg);

/* Write, fsync, digest and rename into place; frees w.  0 on success
 * (or when a snapshot read later than ours is in place: it stays), -1
 * with err set (nothing in place changed), 1 for a writer from a base
 * when the base was replaced since (nothing written: apply the changes
 * to the new one), 2 with err when a deleted hash names two different
 * keys (nothing written: build the map in full). */
int snapwriter_commit(struct snapwriter *w, snap_conflict_fn conflict,
    void *arg, char *err, size_t errsz);
/* The same, and on success *out is the new file, open (NULL when a
 * later snapshot stayed in place): the writer digested what it wrote, so
 * it is not read and hashed again as snapshot_open would (persist sync
 * keeps it as the base of its next batch and answers from it). */
int snapwriter_commit_open(struct snapwriter *w, snap_conflict_fn conflict,
    void *arg, struct snapshot **out, char *err, size_t errsz);
/* Throw the unfinished snapshot away; frees w. */
void snapwriter_abort(struct snapwriter *w);

#endif
