/*
 * fuzz_tcpmap: lookupd/tcpmap.c, the tcp_table request line and its
 * %XX codec.
 *
 * The input is read three ways:
 *   1. as what a client sent: tcpmap_decode() is run over it line after
 *      line, as the server does; every verdict is checked against the
 *      bytes (an LF where *consumed says, none before; TCPMAP_OK only for
 *      "get SP key" with no raw SP/TAB in the key, and the key equal to
 *      an independent %XX decoding; TCPMAP_MORE/TOO_LONG exactly when no
 *      LF lies within TCPMAP_LINE_MAX bytes);
 *   2. as escaped text: tcpmap_unescape() must agree with the reference
 *      decoder, and on a bad escape leave the buffer as it was;
 *   3. as a key: tcpmap_escape() must give printable non-space ASCII
 *      only, no '%' but as "%XX" with uppercase hex, exactly the bytes
 *      that need it escaped, and tcpmap_unescape() must give the key
 *      back; "get " + that + LF must decode to the key (or be
 *      TCPMAP_TOO_LONG when the line does not fit).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "lookupd/tcpmap.h"
#include "tests/fuzz/fuzz.h"

/* Reference %XX decoder: -1 on '%' not followed by two hex digits. */
static int
ref_unescape(struct buf *out, const unsigned char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '%') {
			buf_putc(out, in[i]);
			continue;
		}
		if (len - i < 3)
			return -1;
		if (fuzz_hexval(in[i + 1]) < 0 || fuzz_hexval(in[i + 2]) < 0)
			return -1;
		buf_putc(out, fuzz_hexval(in[i + 1]) * 16 +
		    fuzz_hexval(in[i + 2]));
		i += 2;
	}
	return 0;
}

static int
is_letter(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* One line (without its LF) as the reference sees it. */
static enum tcpmap_status
ref_line(const unsigned char *l, size_t n, struct buf *key)
{
	size_t w = 0;

	while (w < n && is_letter(l[w]))
		w++;
	if (w == 0 || (w < n && l[w] != ' '))
		return TCPMAP_BAD;
	if (w != 3 || memcmp(l, "get", 3) != 0)
		return TCPMAP_UNSUPPORTED;
	if (w == n)
		return TCPMAP_BAD;
	for (size_t i = 4; i < n; i++)
		if (l[i] == ' ' || l[i] == '\t')
			return TCPMAP_BAD;
	if (ref_unescape(key, l + 4, n - 4) != 0)
		return TCPMAP_BAD;
	return TCPMAP_OK;
}

static void
check_decode_stream(const uint8_t *data, size_t size)
{
	struct buf key = BUF_INIT, rkey = BUF_INIT;
	size_t pos = 0;

	for (;;) {
		const unsigned char *in = data + pos;
		size_t len = size - pos, consumed = (size_t)-1;
		const unsigned char *nl;
		enum tcpmap_status st, ref;

		buf_reset(&key);
		buf_reset(&rkey);
		st = tcpmap_decode((const char *)in, len, &key, &consumed);
		nl = len > 0 ? memchr(in, '\n', len) : NULL;
		if (nl == NULL || (size_t)(nl - in) >= TCPMAP_LINE_MAX) {
			/* No LF within the limit. */
			FUZZ_ASSERT(st == (len >= TCPMAP_LINE_MAX ?
			    TCPMAP_TOO_LONG : TCPMAP_MORE));
			FUZZ_ASSERT(key.len == 0);
			break;
		}
		FUZZ_ASSERT(consumed == (size_t)(nl - in) + 1);
		FUZZ_ASSERT(consumed <= TCPMAP_LINE_MAX);
		ref = ref_line(in, consumed - 1, &rkey);
		FUZZ_ASSERT(st == ref);
		if (st == TCPMAP_OK) {
			FUZZ_ASSERT(consumed >= 5);
			FUZZ_ASSERT(memcmp(in, "get ", 4) == 0);
			FUZZ_ASSERT(key.len == rkey.len);
			FUZZ_ASSERT(fuzz_memeq(key.p, rkey.p, key.len));
			/* An unescaped key is never longer than its line. */
			FUZZ_ASSERT(key.len <= consumed - 5);
			FUZZ_ASSERT(key.p == NULL || key.p[key.len] == '\0');
		}
		pos += consumed;
	}
	buf_free(&key);
	buf_free(&rkey);
}

static void
check_unescape(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT, ref = BUF_INIT;
	int r, rr;

	/* Something already in the buffer must survive either outcome. */
	buf_puts(&out, "kept");
	r = tcpmap_unescape(&out, (const char *)data, size);
	rr = ref_unescape(&ref, data, size);
	FUZZ_ASSERT(r == rr);
	FUZZ_ASSERT(out.len >= 4 && memcmp(out.p, "kept", 4) == 0);
	FUZZ_ASSERT(out.p[out.len] == '\0');
	if (r == 0) {
		FUZZ_ASSERT(out.len - 4 == ref.len);
		FUZZ_ASSERT(fuzz_memeq(out.p + 4, ref.p, ref.len));
	} else {
		FUZZ_ASSERT(out.len == 4);
	}
	buf_free(&out);
	buf_free(&ref);
}

static void
check_escape(const uint8_t *data, size_t size)
{
	struct buf esc = BUF_INIT, back = BUF_INIT, line = BUF_INIT;
	struct buf key = BUF_INIT;
	size_t need = 0, consumed = 0;
	enum tcpmap_status st;

	for (size_t i = 0; i < size; i++)
		need += data[i] > 0x20 && data[i] < 0x7f && data[i] != '%' ?
		    1 : 3;
	tcpmap_escape(&esc, (const char *)data, size);
	FUZZ_ASSERT(esc.len == need);
	for (size_t i = 0; i < esc.len; i++) {
		unsigned char c = (unsigned char)esc.p[i];

		FUZZ_ASSERT(c > 0x20 && c < 0x7f);
		if (c == '%') {
			/* Postfix's hex_unquote() wants uppercase hex. */
			FUZZ_ASSERT(i + 2 < esc.len);
			for (int k = 1; k <= 2; k++) {
				unsigned char h = (unsigned char)esc.p[i + k];

				FUZZ_ASSERT((h >= '0' && h <= '9') ||
				    (h >= 'A' && h <= 'F'));
			}
			i += 2;
		}
	}
	FUZZ_ASSERT(tcpmap_unescape(&back, esc.p, esc.len) == 0);
	FUZZ_ASSERT(back.len == size && fuzz_memeq(back.p, data, size));

	/* The request Postfix would send for this key. */
	buf_puts(&line, "get ");
	buf_append(&line, esc.p, esc.len);
	buf_putc(&line, '\n');
	st = tcpmap_decode(line.p, line.len, &key, &consumed);
	if (line.len <= TCPMAP_LINE_MAX) {
		FUZZ_ASSERT(st == TCPMAP_OK);
		FUZZ_ASSERT(consumed == line.len);
		FUZZ_ASSERT(key.len == size && fuzz_memeq(key.p, data, size));
	} else {
		FUZZ_ASSERT(st == TCPMAP_TOO_LONG);
	}
	buf_free(&esc);
	buf_free(&back);
	buf_free(&line);
	buf_free(&key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decode_stream(data, size);
	check_unescape(data, size);
	check_escape(data, size);
	return 0;
}
