/*
 * cdbout: writing a cdb file, the format tinycdb, Postfix's cdb: tables
 * and snapshot.c read, byte for byte as tinycdb's cdb_make writes it
 * for the same records in the same order.  Records come one by one
 * (cdbout_add) or as they stand in another cdb file (cdbout_copy:
 * consecutive records of that file go out in one write, unparsed, which
 * is what makes a batch commit cheaper than a rebuild).  See cdbout.c.
 */
#ifndef LDAPMAIL_CDBOUT_H
#define LDAPMAIL_CDBOUT_H

#include <stddef.h>
#include <stdint.h>

struct cdbout;

/* A writer of the file open on fd, at its start (it must be empty). */
struct cdbout *cdbout_new(int fd);

/* One record.  0, or -1 with errno (EFBIG: the file would pass 4 GiB). */
int cdbout_add(struct cdbout *c, const char *key, size_t klen,
    const char *val, size_t vlen);

/* One record as it stands in another cdb file: rec points at its 8
 * bytes of lengths, the key (klen bytes) and value (vlen bytes) follow.
 * The bytes are read when written: they must stay mapped until the next
 * call.  0, or -1 with errno. */
int cdbout_copy(struct cdbout *c, const char *rec, size_t klen,
    size_t vlen);

/* Bytes of records written so far (the 2048 of the table of contents
 * included) and records. */
uint64_t cdbout_pos(const struct cdbout *c);
uint64_t cdbout_count(const struct cdbout *c);

/* The hash tables and the table of contents.  0, or -1 with errno. */
int cdbout_finish(struct cdbout *c);

/* Free it (the fd stays open). */
void cdbout_free(struct cdbout *c);

#endif
