/*
 * ldapesc: RFC 4515 escaping of assertion values for LDAP search filters.
 *
 * Every byte that could change a filter's meaning (*, (, ), \, NUL) and
 * every byte outside printable ASCII is written as \HH, so a key from the
 * network can never widen a search.  The result is bounded: too long is a
 * failure, never a truncated filter.
 */
#ifndef LDAPMAIL_LDAPESC_H
#define LDAPMAIL_LDAPESC_H

#include <stddef.h>
#include <sys/types.h>

struct buf;

/* Escape len bytes of in into out (size outsz, NUL-terminated).  Returns
 * the escaped length, or -1 if it does not fit. */
ssize_t ldapesc_filter(char *out, size_t outsz, const char *in, size_t len);
/* Append the escaped value to b. */
void ldapesc_filter_buf(struct buf *b, const char *in, size_t len);

#endif
