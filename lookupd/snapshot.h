/*
 * snapshot: one map's copy of the directory, as a Postfix cdb: table.
 *
 * <dir>/<map>.cdb is exactly what `postmap cdb:<dir>/<map>` would build:
 * keys lowercased, no trailing NUL, one record per key whose values are
 * merged with ",", so `postmap -q KEY cdb:<dir>/<map>` gives the answer
 * lookupd gives.  Beside it, <map>.cdb.sha256 holds its SHA-256 digest in
 * sha256sum(1) format ("HEX  <map>.cdb").  A snapshot whose digest does
 * not match is never answered from.
 *
 * Writing: records are collected in memory, sorted, merged, written to a
 * temporary file in <dir>, fsynced, digested, and renamed into place
 * (digest first, then the cdb); readers of the old file are unaffected.
 * Reading: the file is mapped (tinycdb); a lookup is a few memory reads.
 * A file truncated in place under a live mapping would raise SIGBUS:
 * lookups are guarded and such a snapshot reports itself damaged.
 */
#ifndef LDAPMAIL_SNAPSHOT_H
#define LDAPMAIL_SNAPSHOT_H

#include <stddef.h>
#include <time.h>

struct snapshot;
struct snapwriter;

enum snap_status {
	SNAP_OK,
	SNAP_MISSING,	/* no file (never built) */
	SNAP_DAMAGED,	/* digest missing or wrong, bad cdb, changed in place */
	SNAP_ERROR	/* could not read (permissions, I/O): see err */
};

/* Open and verify <dir>/<map>.cdb against its digest. */
enum snap_status snapshot_open(const char *dir, const char *map,
    struct snapshot **out, char *err, size_t errsz);
void snapshot_close(struct snapshot *s);

/* Look up key (already lowercased) exactly.  1 found (*val, *vlen point
 * into the mapping, valid until snapshot_close), 0 not found, -1 the
 * snapshot is damaged (SIGBUS caught or bad record): stop using it. */
int snapshot_get(struct snapshot *s, const char *key, size_t klen,
    const char **val, size_t *vlen);

/* When its data was read from the directory (the file's mtime) and how
 * many keys it holds. */
time_t snapshot_built(const struct snapshot *s);
size_t snapshot_count(const struct snapshot *s);
const char *snapshot_path(const struct snapshot *s);

/* Compare the file on disk with the one mapped: 0 the same, 1 replaced by
 * another file (reopen it), 2 changed in place or gone (stop using it). */
int snapshot_changed(const struct snapshot *s);

/* Call fn for every record (for building a new snapshot from an old one
 * plus changes); stops and returns fn's value when it is non-zero. */
int snapshot_foreach(struct snapshot *s,
    int (*fn)(const char *key, size_t klen, const char *val, size_t vlen,
	void *arg), void *arg);

/* A new snapshot for map in dir.  single: a key with more than one
 * distinct value is left out and reported through conflict(). */
struct snapwriter *snapwriter_new(const char *dir, const char *map,
    int single);
/* When the data being added was read from the directory (the start of
 * the read).  It becomes the file's mtime (snapshot_built), and a commit
 * never replaces a snapshot whose data was read later: of two writers of
 * one map, the fresher data stays whichever renames last. */
void snapwriter_set_time(struct snapwriter *w, const struct timespec *t);
/* Add one value for key (lowercased here); dn says where it came from.
 * Identical values for one key are kept once; others are merged with ","
 * in the order they were added. */
void snapwriter_add(struct snapwriter *w, const char *key, size_t klen,
    const char *val, size_t vlen, const char *dn);
/* Called once per left-out key of a single map, with every DN behind it. */
typedef void (*snap_conflict_fn)(const char *map, const char *key,
    const char *const *dns, size_t ndns, void *arg);
/* Write, fsync, digest and rename into place; frees w.  0 on success,
 * -1 with err set (nothing in place changed). */
int snapwriter_commit(struct snapwriter *w, snap_conflict_fn conflict,
    void *arg, char *err, size_t errsz);
/* Throw the unfinished snapshot away; frees w. */
void snapwriter_abort(struct snapwriter *w);

#endif
