/*
 * snapshot: reading one map's copy of the directory, a Postfix cdb:
 * table (snapwriter.h writes it).
 *
 * <dir>/<map>.cdb is exactly what `postmap cdb:<dir>/<map>` would build:
 * keys lowercased, no trailing NUL, one record per key whose values are
 * merged with ",", so `postmap -q KEY cdb:<dir>/<map>` gives the answer
 * lookupd gives.  Beside it, <map>.cdb.sha256 holds its SHA-256 digest in
 * sha256sum(1) format ("HEX  <map>.cdb").  A snapshot whose digest does
 * not match is never answered from.
 *
 * The file is mapped (tinycdb); a lookup is a few memory reads.  A file
 * truncated in place under a live mapping would raise SIGBUS: lookups
 * are guarded and such a snapshot reports itself damaged.
 */
#ifndef LDAPMAIL_SNAPSHOT_H
#define LDAPMAIL_SNAPSHOT_H

#include <stddef.h>
#include <time.h>

struct snapshot;

enum snap_status {
	SNAP_OK,
	SNAP_MISSING,	/* no file (never built) */
	SNAP_DAMAGED,	/* digest missing or wrong, bad cdb, changed in place */
	SNAP_ERROR	/* could not read (permissions, I/O): see err */
};

/* Open and verify <dir>/<map>.cdb against its digest; a file already
 * open in this process (the same device, inode, size and mtime, not
 * damaged: verified, or written here, snapshot_adopt) is shared, with
 * one more reference, rather than verified again. */
enum snap_status snapshot_open(const char *dir, const char *map,
    struct snapshot **out, char *err, size_t errsz);
/* Drop one reference; the last frees it. */
void snapshot_close(struct snapshot *s);
/* One more reference (each snapshot_close drops one); s may be NULL.  A
 * snapshot may be read by several threads at once. */
struct snapshot *snapshot_ref(struct snapshot *s);

/* The cdb file fd (at path, renamed there or about to be) that the
 * caller wrote and digested itself, count records, sorted as
 * snapshot_sorted says: mapped without hashing or walking it again.  fd
 * stays the caller's. */
enum snap_status snapshot_adopt(const char *path, int fd, size_t count,
    int sorted, struct snapshot **out, char *err, size_t errsz);

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

/* 1 when its records are in strictly increasing key order (memcmp, then
 * length), as snapwriter writes them; 0 otherwise (postmap, a key twice). */
int snapshot_sorted(const struct snapshot *s);

/* Compare the file on disk with the one mapped: 0 the same, 1 replaced by
 * another file (reopen it), 2 changed in place or gone (stop using it). */
int snapshot_changed(const struct snapshot *s);

/* Call fn for every record, in file order (the writer's batch reads its
 * base so); stops and returns fn's value when it is non-zero, -1 when
 * the snapshot is damaged. */
int snapshot_foreach(struct snapshot *s,
    int (*fn)(const char *key, size_t klen, const char *val, size_t vlen,
	void *arg), void *arg);

/* The SHA-256 of the file as mapped (a writer digests what it wrote so,
 * snapwriter_commit_open).  0, or -1 (errno; a fault: damaged). */
int snapshot_sha256(struct snapshot *s, unsigned char out[32]);

/* The same without copies: key and val point into the mapping, valid
 * during the call only, and the whole walk is one guarded read: fn must
 * be safe to leave at any point where it reads them (a SIGBUS jumps out
 * of it: no lock held, no stdio), and must not itself use a snapshot
 * guard (snapshot_get, snapshot_foreach).  Cheaper by a copy and a
 * sigsetjmp per record (a batch commit reads its whole base twice).
 * Returns 0, fn's non-zero value (-1 from fn becomes 1), or -1 when the
 * snapshot is damaged. */
int snapshot_walk(struct snapshot *s,
    int (*fn)(const char *key, size_t klen, const char *val, size_t vlen,
	void *arg), void *arg);

#endif
