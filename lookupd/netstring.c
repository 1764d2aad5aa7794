/*
 * netstring: decode and encode "LEN:BYTES," (see netstring.h).
 *
 * The length prefix is what Postfix's netstring writer produces
 * ("%ld:"): plain ASCII digits, no sign, no space, no leading zero
 * except for "0" itself.  Postfix's reader would accept leading zeros,
 * but no Postfix client ever sends them, so a prefix like "007:" is
 * refused as NS_BAD rather than guessed at.  At most NS_DIGITS_MAX
 * digits are read, whatever the limit: a longer prefix is NS_TOO_LONG.
 * The declared length is compared with the limit as soon as the digits
 * already seen prove it too large, so a client announcing 200 kB is
 * turned away before its payload arrives and before anything is
 * buffered for it.  The payload may hold any byte, NUL included.
 */
#include <stddef.h>

#include "common/buf.h"
#include "lookupd/netstring.h"

/* 9,999,999 bytes: far above any limit lookupd uses. */
#define NS_DIGITS_MAX	7

enum ns_status
netstring_decode(const char *in, size_t len, size_t max,
    const char **payload, size_t *plen, size_t *consumed)
{
	size_t pos = 0, n = 0;

	if (len == 0)
		return NS_MORE;
	for (;;) {
		unsigned char c;

		if (pos == len)
			return NS_MORE;
		c = (unsigned char)in[pos];
		if (c < '0' || c > '9')
			break;
		/* "0" is the only number that may start with a zero. */
		if (pos == 1 && in[0] == '0')
			return NS_BAD;
		if (pos == NS_DIGITS_MAX)
			return NS_TOO_LONG;
		n = n * 10 + (size_t)(c - '0');
		pos++;
		/* More digits can only make it larger. */
		if (n > max)
			return NS_TOO_LONG;
	}
	if (pos == 0 || in[pos] != ':')
		return NS_BAD;
	pos++;
	/* Payload and the ',' after it: len - pos < n + 1 without overflow. */
	if (len - pos < n || len - pos - n < 1)
		return NS_MORE;
	if (in[pos + n] != ',')
		return NS_BAD;
	*payload = in + pos;
	*plen = n;
	*consumed = pos + n + 1;
	return NS_OK;
}

void
netstring_encode(struct buf *out, const char *data, size_t len)
{
	buf_printf(out, "%zu:", len);
	buf_append(out, data, len);
	buf_putc(out, ',');
}
