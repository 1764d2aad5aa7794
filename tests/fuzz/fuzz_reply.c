/*
 * fuzz_reply: lookupd/reply.c, the one place where a result becomes
 * protocol bytes.  Whatever the text (a value from LDAP, a reason), the
 * bytes written must be exactly one well-formed reply:
 *   - socketmap: one netstring (netstring_decode with the 100000-byte
 *     limit consumes all of it) whose payload is "OK value",
 *     "NOTFOUND " or "TEMP/PERM reason" with a printable reason of at
 *     most 200 bytes; FOUND is "OK" with the value unchanged exactly when
 *     the value is non-empty, NUL-free and fits, TEMP otherwise;
 *   - tcp_table: one line of at most 4096 bytes ending in its only LF,
 *     no CR, "200 "/"500 "/"400 " then printable non-space ASCII that
 *     %XX-decodes (for 200) back to the value; 200 exactly when the
 *     escaped value fits.
 * Bytes already in the output buffer are left alone.
 *
 * Input: byte 0 picks the result (bits 0-1), a NULL text when the text
 * is empty (bit 2), and (bit 3) stretches the text by repetition to a
 * length near SOCKMAP_REPLY_MAX given by byte 1, so that the socketmap
 * size limit is crossed both ways; the rest is the text.
 *
 * reply.c logs a warning for every refused value: run with
 * -close_fd_mask=2 (tests/fuzz/run-fuzz does) to keep the log quiet.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "lookupd/netstring.h"
#include "lookupd/reply.h"
#include "lookupd/result.h"
#include "lookupd/tcpmap.h"
#include "tests/fuzz/fuzz.h"

#define REASON_MAX 200
#define PREFIX "junk-before:"

static int
has_prefix(const char *p, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return len >= n && memcmp(p, lit, n) == 0;
}

static int
value_ok(const char *text, size_t len, size_t room)
{
	return len > 0 && memchr(text, '\0', len) == NULL && len <= room;
}

static void
check_reason(const char *r, size_t len)
{
	FUZZ_ASSERT(len > 0 && len <= REASON_MAX);
	for (size_t i = 0; i < len; i++)
		FUZZ_ASSERT((unsigned char)r[i] >= 0x20 &&
		    (unsigned char)r[i] < 0x7f);
}

static void
check_sockmap(enum result res, const char *text, size_t len)
{
	struct buf out = BUF_INIT;
	const char *payload = NULL, *p;
	size_t plen = 0, consumed = 0, start = strlen(PREFIX);
	enum ns_status st;

	buf_puts(&out, PREFIX);
	reply_sockmap(&out, res, text, len);
	FUZZ_ASSERT(memcmp(out.p, PREFIX, start) == 0);
	FUZZ_ASSERT(out.p[out.len] == '\0');
	st = netstring_decode(out.p + start, out.len - start,
	    SOCKMAP_REPLY_MAX, &payload, &plen, &consumed);
	FUZZ_ASSERT(st == NS_OK);
	FUZZ_ASSERT(consumed == out.len - start);
	FUZZ_ASSERT(plen <= SOCKMAP_REPLY_MAX);
	p = payload;
	switch (res) {
	case RES_FOUND:
		if (value_ok(text, len, SOCKMAP_REPLY_MAX - 3)) {
			FUZZ_ASSERT(has_prefix(p, plen, "OK "));
			FUZZ_ASSERT(plen == len + 3);
			FUZZ_ASSERT(memcmp(p + 3, text, len) == 0);
		} else {
			FUZZ_ASSERT(has_prefix(p, plen, "TEMP "));
			check_reason(p + 5, plen - 5);
		}
		break;
	case RES_NOTFOUND:
		FUZZ_ASSERT(plen == 9 && memcmp(p, "NOTFOUND ", 9) == 0);
		break;
	case RES_PERM:
		FUZZ_ASSERT(has_prefix(p, plen, "PERM "));
		check_reason(p + 5, plen - 5);
		if (len > 0)
			FUZZ_ASSERT(plen - 5 ==
			    (len < REASON_MAX ? len : REASON_MAX));
		break;
	case RES_TEMP:
		FUZZ_ASSERT(has_prefix(p, plen, "TEMP "));
		check_reason(p + 5, plen - 5);
		if (len > 0)
			FUZZ_ASSERT(plen - 5 ==
			    (len < REASON_MAX ? len : REASON_MAX));
		break;
	}
	buf_free(&out);
}

static size_t
escaped_len(const char *text, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		n += c > 0x20 && c < 0x7f && c != '%' ? 1 : 3;
	}
	return n;
}

static void
check_tcp(enum result res, const char *text, size_t len)
{
	struct buf out = BUF_INIT, dec = BUF_INIT;
	size_t start = strlen(PREFIX), n;
	const char *l;
	int fits;

	buf_puts(&out, PREFIX);
	reply_tcp(&out, res, text, len);
	FUZZ_ASSERT(memcmp(out.p, PREFIX, start) == 0);
	FUZZ_ASSERT(out.p[out.len] == '\0');
	l = out.p + start;
	n = out.len - start;
	FUZZ_ASSERT(n >= 5 && n <= TCPMAP_LINE_MAX);
	FUZZ_ASSERT(l[n - 1] == '\n');
	FUZZ_ASSERT(memchr(l, '\n', n - 1) == NULL);
	FUZZ_ASSERT(memchr(l, '\r', n) == NULL);
	FUZZ_ASSERT(l[3] == ' ');
	/* The text: printable, no space, decodable. */
	for (size_t i = 4; i < n - 1; i++)
		FUZZ_ASSERT((unsigned char)l[i] > 0x20 &&
		    (unsigned char)l[i] < 0x7f);
	FUZZ_ASSERT(tcpmap_unescape(&dec, l + 4, n - 5) == 0);
	switch (res) {
	case RES_FOUND:
		fits = len > 0 && memchr(text, '\0', len) == NULL &&
		    4 + escaped_len(text, len) + 1 <= TCPMAP_LINE_MAX;
		if (fits) {
			FUZZ_ASSERT(memcmp(l, "200 ", 4) == 0);
			FUZZ_ASSERT(dec.len == len);
			FUZZ_ASSERT(memcmp(dec.p, text, len) == 0);
		} else {
			FUZZ_ASSERT(memcmp(l, "400 ", 4) == 0);
			check_reason(dec.p, dec.len);
		}
		break;
	case RES_NOTFOUND:
		FUZZ_ASSERT(n == 16 && memcmp(l, "500 not%20found\n", 16) == 0);
		break;
	case RES_PERM:
	case RES_TEMP:
		/* tcp_table has no 5xx for errors: 500 means not found. */
		FUZZ_ASSERT(memcmp(l, "400 ", 4) == 0);
		check_reason(dec.p, dec.len);
		if (len > 0)
			FUZZ_ASSERT(dec.len ==
			    (len < REASON_MAX ? len : REASON_MAX));
		break;
	}
	buf_free(&out);
	buf_free(&dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum result results[4] = {
		RES_FOUND, RES_NOTFOUND, RES_TEMP, RES_PERM
	};
	const char *text;
	char *big = NULL;
	size_t len;
	enum result res;
	unsigned mode;

	if (size < 1)
		return 0;
	mode = data[0];
	res = results[mode & 3];
	text = (const char *)data + 1;
	len = size - 1;
	if ((mode & 8) && size >= 3) {
		/* 99990 .. 100009 bytes: around "OK " + value = 100000. */
		size_t want = SOCKMAP_REPLY_MAX - 10 + data[1] % 20;
		const char *src = (const char *)data + 2;
		size_t slen = size - 2;

		big = malloc(want);
		FUZZ_ASSERT(big != NULL);
		for (size_t i = 0; i < want; i++)
			big[i] = src[i % slen];
		text = big;
		len = want;
	}
	if (len == 0 && (mode & 4))
		text = NULL;
	check_sockmap(res, text, len);
	check_tcp(res, text, len);
	free(big);
	return 0;
}
