/*
 * ldapesc: RFC 4515 escaping of assertion values for LDAP search filters.
 *
 * "*", "(", ")", "\", NUL and every byte outside 0x20..0x7e become \hh
 * (lowercase hex), so neither a wildcard nor a parenthesis from the
 * network can widen or reshape a search, and no control byte or stray
 * UTF-8 reaches the filter raw (\c3\a9 still matches "é" on the server).
 * The bounded form fails (-1, out = "") rather than return a cut value:
 * a truncated assertion would be a different, wider search.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/ldapesc.h"

static const char hex[] = "0123456789abcdef";

static int
must_escape(unsigned char c)
{
	return c < 0x20 || c > 0x7e || c == '*' || c == '(' || c == ')' ||
	    c == '\\';
}

ssize_t
ldapesc_filter(char *out, size_t outsz, const char *in, size_t len)
{
	size_t need = 0, pos = 0, i;

	if (out == NULL || outsz == 0)
		return -1;
	out[0] = '\0';
	for (i = 0; i < len; i++) {
		size_t w = must_escape((unsigned char)in[i]) ? 3 : 1;

		/* need + w + 1 <= outsz, written so that nothing wraps. */
		if (outsz - 1 - need < w)
			return -1;
		need += w;
	}
	if (need > SSIZE_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (must_escape(c)) {
			out[pos++] = '\\';
			out[pos++] = hex[c >> 4];
			out[pos++] = hex[c & 15];
		} else {
			out[pos++] = (char)c;
		}
	}
	out[pos] = '\0';
	return (ssize_t)pos;
}

void
ldapesc_filter_buf(struct buf *b, const char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (must_escape(c)) {
			char e[3] = { '\\', hex[c >> 4], hex[c & 15] };

			buf_append(b, e, sizeof(e));
		} else {
			buf_putc(b, c);
		}
	}
	if (len == 0)
		buf_reserve(b, 0);
}
