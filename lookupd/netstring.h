/*
 * netstring: the framing of Postfix's socketmap protocol ("LEN:BYTES,").
 * A pure codec: bytes in, a verdict and the bytes consumed out; no I/O, no
 * globals.  The declared length is checked against the limit before
 * anything is buffered for it.
 */
#ifndef LDAPMAIL_NETSTRING_H
#define LDAPMAIL_NETSTRING_H

#include <stddef.h>

struct buf;

enum ns_status {
	NS_OK,		/* *payload, *plen set, *consumed = whole netstring */
	NS_MORE,	/* incomplete: read more and call again */
	NS_BAD,		/* not a netstring (bad digits, missing ':' or ',') */
	NS_TOO_LONG	/* declared length above max */
};

/* Decode one netstring at the start of in[0..len). */
enum ns_status netstring_decode(const char *in, size_t len, size_t max,
    const char **payload, size_t *plen, size_t *consumed);
/* Append data as a netstring to out. */
void netstring_encode(struct buf *out, const char *data, size_t len);

#endif
