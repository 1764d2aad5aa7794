/*
 * tcpmap: the request and text codec of Postfix's tcp_table protocol
 * (see tcpmap.h and tcp_table(5)).
 *
 * Postfix (dict_tcp.c, hex_quote.c) sends exactly "get SP key LF", the key
 * %XX-encoded with uppercase hex wherever it holds '%', white space or a
 * byte outside printable ASCII; it never sends a CR.  Decoding is strict
 * where strictness cannot refuse a real Postfix request and lenient
 * nowhere it could produce a wrong answer:
 *   - the line (LF included) must fit in TCPMAP_LINE_MAX bytes, the bound
 *     Postfix itself puts on replies;
 *   - a raw SP or TAB inside the key makes a request with more than one
 *     parameter: TCPMAP_BAD;
 *   - other raw bytes (CR, NUL, bytes >= 0x80) stay in the key as they
 *     are; the engine answers a key with control bytes NOTFOUND;
 *   - '%' must be followed by two hex digits of either case ("%00" gives
 *     a NUL byte, which the engine then refuses the same way);
 *   - a request word other than "get" ("put k v", "GET k") is
 *     TCPMAP_UNSUPPORTED; anything that is not a word is TCPMAP_BAD.
 */
#include <stddef.h>
#include <string.h>

#include "common/buf.h"
#include "common/hex.h"
#include "lookupd/tcpmap.h"

/* On a bad escape nothing is left appended to out. */
static int
bad_escape(struct buf *out, size_t keep)
{
	if (out->p != NULL) {
		out->len = keep;
		out->p[keep] = '\0';
	}
	return -1;
}

int
tcpmap_unescape(struct buf *out, const char *in, size_t len)
{
	const char *pos = in, *end = in + len, *run = in;
	size_t keep = out->len;

	while (pos < end) {
		int hi, lo;
		char c;

		if (*pos != '%') {
			pos++;
			continue;
		}
		if (end - pos < 3)
			return bad_escape(out, keep);
		hi = hex_value((unsigned char)pos[1]);
		lo = hex_value((unsigned char)pos[2]);
		if (hi < 0 || lo < 0)
			return bad_escape(out, keep);
		buf_append(out, run, (size_t)(pos - run));
		c = (char)(hi << 4 | lo);
		buf_append(out, &c, 1);
		pos += 3;
		run = pos;
	}
	buf_append(out, run, (size_t)(pos - run));
	return 0;
}

void
tcpmap_escape(struct buf *out, const char *in, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *pos = in, *end = in + len, *run = in;

	for (; pos < end; pos++) {
		unsigned char c = (unsigned char)*pos;
		char e[3];

		/* Printable ASCII except SP and '%' passes as it is. */
		if (c > 0x20 && c < 0x7f && c != '%')
			continue;
		buf_append(out, run, (size_t)(pos - run));
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		buf_append(out, e, 3);
		run = pos + 1;
	}
	buf_append(out, run, (size_t)(pos - run));
}

enum tcpmap_status
tcpmap_decode(const char *in, size_t len, struct buf *key, size_t *consumed)
{
	size_t scan = len < TCPMAP_LINE_MAX ? len : TCPMAP_LINE_MAX;
	const char *nl, *p, *end, *word_end;

	nl = scan > 0 ? memchr(in, '\n', scan) : NULL;
	if (nl == NULL)
		return len >= TCPMAP_LINE_MAX ? TCPMAP_TOO_LONG : TCPMAP_MORE;
	*consumed = (size_t)(nl - in) + 1;
	end = nl;

	/* The request word: lowercase or uppercase letters. */
	for (p = in; p < end && ((*p >= 'a' && *p <= 'z') ||
	    (*p >= 'A' && *p <= 'Z')); p++)
		;
	word_end = p;
	if (word_end == in || (word_end < end && *word_end != ' '))
		return TCPMAP_BAD;
	if (word_end - in != 3 || memcmp(in, "get", 3) != 0)
		return TCPMAP_UNSUPPORTED;
	/* "get" alone has no key at all; "get " has the empty key. */
	if (word_end == end)
		return TCPMAP_BAD;
	p = word_end + 1;
	if (memchr(p, ' ', (size_t)(end - p)) != NULL ||
	    memchr(p, '\t', (size_t)(end - p)) != NULL)
		return TCPMAP_BAD;
	if (tcpmap_unescape(key, p, (size_t)(end - p)) != 0)
		return TCPMAP_BAD;
	return TCPMAP_OK;
}
