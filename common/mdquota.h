/*
 * mdquota: Courier's maildir quota ("Maildir++"): the maildirsize file
 * and its quota line "NS,NC", as Courier's maildirmake -q, deliverquota
 * and imapd read and write them.  Pure: text in, text out, no I/O.
 *
 * maildirsize holds the quota on its first line, then usage lines
 * "BYTES COUNT" that Courier appends and sums (and rewrites whole when
 * it recalculates).  A new file is the quota line and one usage line
 * "%12lld %12lld"; a changed quota replaces the first line only.
 */
#ifndef LDAPMAIL_MDQUOTA_H
#define LDAPMAIL_MDQUOTA_H

#include <stddef.h>

#include "common/buf.h"

/* Courier keeps bytes in an int64_t and the count in an int. */
#define MDQUOTA_BYTES_MAX	9223372036854775807ULL
#define MDQUOTA_COUNT_MAX	2147483647ULL
/* Room for the quota line "NS,NC" and its NUL. */
#define MDQUOTA_LINE_MAX	48

/* A quota: 0 means no limit of that kind; both 0, no quota at all. */
struct mdquota {
	unsigned long long bytes;
	unsigned long long count;
};

/* A quota string as Courier reads it (parsequotastr): each run of digits
 * followed by "S" or "C" sets that limit, the last one wins, anything
 * else is skipped.  Reads at most up to the first "\n". */
void mdquota_courier_parse(const char *s, size_t len, struct mdquota *q);

/* The quota line Courier writes for q, without "\n" ("NS,NC", "NS",
 * "NC"; "" when both are 0).  Its length. */
size_t mdquota_line(const struct mdquota *q, char out[MDQUOTA_LINE_MAX]);

/* A new maildirsize for q with that usage (what maildirmake -q writes). */
void mdquota_file(const struct mdquota *q, unsigned long long bytes,
    unsigned long long count, struct buf *out);

enum mdquota_update {
	MDQUOTA_SAME,		/* the first line already means q */
	MDQUOTA_CHANGED,	/* out: q's line, then the old lines after it */
	MDQUOTA_NO_USAGE	/* no line after the first: write a new file */
};

/* What an existing maildirsize (len bytes) becomes with quota q. */
enum mdquota_update mdquota_update(const char *old, size_t len,
    const struct mdquota *q, struct buf *out);

/* A limit from the directory (decimal digits, nothing else, at most max):
 * 0, or -1 when it is not such a number. */
int mdquota_number(const char *v, size_t len, unsigned long long max,
    unsigned long long *out);

/* Courier's counting rules (maildirmake -q, deliverquota, imapd): */
/* 1 if directory entry name of a maildir is a folder whose mail counts
 * (".NAME", but not ".Trash"). */
int mdquota_counts_folder(const char *name);
/* 1 if the message file name counts (not a dot file, not flagged T). */
int mdquota_counts_file(const char *name);
/* The size a message file name states (",S=NNN" before ":2,"): 0, or -1
 * when it states none.  Larger than MDQUOTA_BYTES_MAX: -1 too. */
int mdquota_name_size(const char *name, unsigned long long *size);

#endif
