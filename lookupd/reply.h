/*
 * reply: the one place where a lookup result becomes protocol bytes.
 *
 *   FOUND    OK value     200 value      (value never empty)
 *   NOTFOUND NOTFOUND     500 not found
 *   TEMP     TEMP reason  400 reason
 *   PERM     PERM reason  400 reason     (tcp_table has no 5xx for errors:
 *                                         500 would mean "not found")
 *
 * A value too long for the protocol (socketmap 100000 bytes, tcp_table
 * 4096 with the LF) becomes TEMP: a truncated answer would be a wrong one.
 * An empty FOUND value becomes TEMP too (Postfix reads it as an error).
 */
#ifndef LDAPMAIL_REPLY_H
#define LDAPMAIL_REPLY_H

#include <stddef.h>

#include "lookupd/result.h"

struct buf;

#define SOCKMAP_REPLY_MAX 100000

/* Append one complete socketmap reply (a netstring) to out. */
void reply_sockmap(struct buf *out, enum result res, const char *text,
    size_t len);
/* Append one complete tcp_table reply line to out. */
void reply_tcp(struct buf *out, enum result res, const char *text,
    size_t len);

#endif
