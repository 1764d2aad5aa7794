/*
 * snapfile: what the snapshot reader (snapshot.c) and writer
 * (snapwriter.c) must agree on, and nothing else: the file names in the
 * cache directory, the limits, and the digest beside each file.
 *
 *   <dir>/<map>.cdb               the Postfix cdb: table
 *   <dir>/<map>.cdb.sha256        "<64 hex>  <map>.cdb\n" (sha256sum(1))
 *   <dir>/.<map>.cdb.XXXXXX       temporaries of a commit in progress
 *   <dir>/.<map>.cdb.sha256.XXXXXX
 *
 * Not for other files: snapshot.h and snapwriter.h are the interfaces.
 */
#ifndef LDAPMAIL_SNAPFILE_H
#define LDAPMAIL_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SNAP_KEY_MAX	65536u
#define SNAP_VAL_MAX	(16u << 20)
#define SNAP_NAME_MAX	128
#define CDB_LIMIT	0xffffffffULL	/* tinycdb offsets are 32-bit */
#define CDB_TOC		2048u
#define DIGEST_MAX	4096		/* one short line */

/* Letters, digits, "_", "-", "." and not starting with ".". */
int snapfile_valid_map(const char *map);
/* dir "/" prefix map suffix into out; 0, or -1 when it does not fit. */
int snapfile_path(char *out, size_t outsz, const char *dir,
    const char *prefix, const char *map, const char *suffix);

/* SHA-256 of the file behind fd from offset 0 to its end; *total gets
 * the bytes hashed.  0, or -1 with errno. */
int snapfile_sha256(int fd, unsigned char out[32], uint64_t *total);
/* The digest line for map into out; its length, or -1 if it cannot fit. */
int snapfile_digest_line(const unsigned char md[32], const char *map,
    char *out, size_t outsz);
/* Parse a digest file's text (NUL-terminated): 0 with want set, -1
 * malformed, -2 a digest of another file than <map>.cdb. */
int snapfile_digest_parse(const char *text, const char *map,
    unsigned char want[32]);

/* pread(2) until n bytes or the end: bytes read, or -1. */
ssize_t snapfile_pread(int fd, void *buf, size_t n, off_t off);
/* write(2) all n bytes: 0, or -1 with errno. */
int snapfile_write(int fd, const void *buf, size_t n);

#endif
