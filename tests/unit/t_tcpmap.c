/*
 * t_tcpmap: lookupd/tcpmap.c.  Request lines (get, other requests, junk),
 * every prefix of each line, the TCPMAP_LINE_MAX bound at and around the
 * limit, %XX decoding (both cases, bad escapes, %00), encoding of every
 * byte class Postfix encodes (uppercase hex), and a round trip of all 256
 * byte values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "lookupd/tcpmap.h"
#include "unit.h"

#define S(lit)	lit, sizeof(lit) - 1

struct dcase {
	const char *name;
	const char *in;
	size_t len;
	enum tcpmap_status want;
	const char *key;	/* TCPMAP_OK */
	size_t keylen;
	size_t consumed;	/* OK, BAD, UNSUPPORTED */
};

static const struct dcase dcases[] = {
	{ "plain key", S("get user@example.com\n"), TCPMAP_OK,
	    S("user@example.com"), 21 },
	{ "empty key", S("get \n"), TCPMAP_OK, S(""), 5 },
	{ "encoded space", S("get %22a%20b%22@d\n"), TCPMAP_OK,
	    S("\"a b\"@d"), 18 },
	{ "lowercase hex", S("get %7e%7E%2f\n"), TCPMAP_OK, S("~~/"), 14 },
	{ "encoded percent", S("get 100%25\n"), TCPMAP_OK, S("100%"), 11 },
	{ "%00 gives NUL", S("get a%00b\n"), TCPMAP_OK, S("a\0b"), 10 },
	{ "%0D%0A decoded", S("get a%0D%0A\n"), TCPMAP_OK, S("a\r\n"), 12 },
	{ "8-bit encoded", S("get %C3%A9\n"), TCPMAP_OK, S("\xc3\xa9"), 11 },
	{ "raw CR stays in key", S("get a\r\n"), TCPMAP_OK, S("a\r"), 7 },
	{ "raw 8-bit stays", S("get \xc3\xa9\n"), TCPMAP_OK,
	    S("\xc3\xa9"), 7 },
	{ "raw NUL stays", S("get a\0b\n"), TCPMAP_OK, S("a\0b"), 8 },
	{ "second line left", S("get a\nget b\n"), TCPMAP_OK, S("a"), 6 },
	{ "bad escape %G0", S("get a%G0\n"), TCPMAP_BAD, NULL, 0, 9 },
	{ "bad escape %0G", S("get a%0G\n"), TCPMAP_BAD, NULL, 0, 9 },
	{ "escape cut at end", S("get a%4\n"), TCPMAP_BAD, NULL, 0, 8 },
	{ "lone percent", S("get %\n"), TCPMAP_BAD, NULL, 0, 6 },
	{ "percent space", S("get % 20\n"), TCPMAP_BAD, NULL, 0, 9 },
	{ "raw space in key", S("get a b\n"), TCPMAP_BAD, NULL, 0, 8 },
	{ "raw tab in key", S("get a\tb\n"), TCPMAP_BAD, NULL, 0, 8 },
	{ "two spaces", S("get  a\n"), TCPMAP_BAD, NULL, 0, 7 },
	{ "get without key", S("get\n"), TCPMAP_BAD, NULL, 0, 4 },
	{ "get tab key", S("get\ta\n"), TCPMAP_BAD, NULL, 0, 6 },
	{ "empty line", S("\n"), TCPMAP_BAD, NULL, 0, 1 },
	{ "CR LF line", S("\r\n"), TCPMAP_BAD, NULL, 0, 2 },
	{ "leading space", S(" get a\n"), TCPMAP_BAD, NULL, 0, 7 },
	{ "binary junk", S("\x01\x02\xff\n"), TCPMAP_BAD, NULL, 0, 4 },
	{ "digits", S("123 a\n"), TCPMAP_BAD, NULL, 0, 6 },
	{ "put", S("put key value\n"), TCPMAP_UNSUPPORTED, NULL, 0, 14 },
	{ "put alone", S("put\n"), TCPMAP_UNSUPPORTED, NULL, 0, 4 },
	{ "uppercase GET", S("GET a\n"), TCPMAP_UNSUPPORTED, NULL, 0, 6 },
	{ "getx", S("getx a\n"), TCPMAP_UNSUPPORTED, NULL, 0, 7 },
	{ "HTTP", S("GET / HTTP/1.0\r\n"), TCPMAP_UNSUPPORTED, NULL, 0, 16 },
	{ "empty input", "", 0, TCPMAP_MORE, NULL, 0, 0 },
	{ "no LF yet", S("get abc"), TCPMAP_MORE, NULL, 0, 0 },
};

static void
test_decode(void)
{
	char name[200];
	struct buf key = BUF_INIT;

	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *c = &dcases[i];
		size_t used = 0;
		enum tcpmap_status st;
		size_t line;
		int bad = 0;

		buf_reset(&key);
		st = tcpmap_decode(c->in, c->len, &key, &used);
		snprintf(name, sizeof(name), "decode %s: status", c->name);
		CHECK(name, st == c->want);
		if (c->want == TCPMAP_OK && st == TCPMAP_OK) {
			snprintf(name, sizeof(name), "decode %s: key", c->name);
			CHECK(name, key.len == c->keylen &&
			    memcmp(key.p, c->key, key.len) == 0);
		}
		if (c->want != TCPMAP_MORE) {
			snprintf(name, sizeof(name), "decode %s: consumed",
			    c->name);
			CHECK(name, used == c->consumed);
		}
		/* Each prefix without its LF is incomplete. */
		line = c->want == TCPMAP_MORE ? c->len : c->consumed;
		for (size_t k = 0; k < line; k++) {
			char *copy = malloc(k ? k : 1);

			memcpy(copy, c->in, k);
			buf_reset(&key);
			if (tcpmap_decode(copy, k, &key, &used) != TCPMAP_MORE)
				bad++;
			free(copy);
		}
		snprintf(name, sizeof(name), "decode %s: every prefix MORE",
		    c->name);
		CHECK(name, bad == 0);
	}
	buf_free(&key);
}

/* Lines of 4095, 4096, 4097 bytes with the LF, and 5 kB. */
static void
test_limits(void)
{
	static const size_t sizes[] = { 4095, 4096, 4097, 5000 };
	struct buf key = BUF_INIT;
	char name[200];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		char *line = malloc(n);
		size_t used = 0;
		enum tcpmap_status st;

		memcpy(line, "get ", 4);
		memset(line + 4, 'k', n - 5);
		line[n - 1] = '\n';
		buf_reset(&key);
		st = tcpmap_decode(line, n, &key, &used);
		snprintf(name, sizeof(name), "line of %zu bytes with LF", n);
		if (n <= TCPMAP_LINE_MAX)
			CHECK(name, st == TCPMAP_OK && used == n &&
			    key.len == n - 5);
		else
			CHECK(name, st == TCPMAP_TOO_LONG);
		/* Without the LF: MORE below the limit, TOO_LONG at it. */
		st = tcpmap_decode(line, n - 1, &key, &used);
		snprintf(name, sizeof(name), "%zu bytes without LF", n - 1);
		CHECK(name, st == (n - 1 < TCPMAP_LINE_MAX ? TCPMAP_MORE :
		    TCPMAP_TOO_LONG));
		free(line);
	}
	buf_free(&key);
}

struct ecase {
	const char *name;
	const char *in;
	size_t len;
	const char *want;
};

static const struct ecase ecases[] = {
	{ "printable", S("user@example.com"), "user@example.com" },
	{ "empty", S(""), "" },
	{ "space", S("a b"), "a%20b" },
	{ "percent", S("100%"), "100%25" },
	{ "tab CR LF", S("\t\r\n"), "%09%0D%0A" },
	{ "NUL", S("a\0b"), "a%00b" },
	{ "DEL", S("\x7f"), "%7F" },
	{ "0xff", S("\xff"), "%FF" },
	{ "utf-8", S("\xc3\xa9t\xc3\xa9"), "%C3%A9t%C3%A9" },
	{ "edges of printable", S("!~"), "!~" },
	{ "quoted local part", S("\"a b\"@d"), "\"a%20b\"@d" },
	{ "vertical tab, form feed", S("\v\f"), "%0B%0C" },
};

static void
test_escape(void)
{
	struct buf b = BUF_INIT;
	char name[200];
	int bad = 0;

	for (size_t i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++) {
		buf_reset(&b);
		tcpmap_escape(&b, ecases[i].in, ecases[i].len);
		snprintf(name, sizeof(name), "escape %s", ecases[i].name);
		CHECK_MEM(name, b.p, b.len, ecases[i].want);
	}
	buf_reset(&b);
	buf_puts(&b, "x");
	tcpmap_escape(&b, " ", 1);
	CHECK_MEM("escape appends", b.p, b.len, "x%20");

	/* All 256 bytes: encoded form printable, decodes back. */
	{
		char all[256];
		struct buf back = BUF_INIT;

		for (int c = 0; c < 256; c++)
			all[c] = (char)c;
		buf_reset(&b);
		tcpmap_escape(&b, all, sizeof(all));
		for (size_t k = 0; k < b.len; k++)
			if ((unsigned char)b.p[k] <= 0x20 ||
			    (unsigned char)b.p[k] >= 0x7f)
				bad++;
		CHECK("escape of 256 bytes is printable", bad == 0);
		CHECK("escape of 256 bytes: 93 plain, 163 encoded",
		    b.len == 93 + 163 * 3);
		CHECK("unescape of escape gives 256 bytes back",
		    tcpmap_unescape(&back, b.p, b.len) == 0 &&
		    back.len == 256 && memcmp(back.p, all, 256) == 0);
		buf_free(&back);
	}
	buf_free(&b);
}

static void
test_unescape(void)
{
	struct buf b = BUF_INIT;

	CHECK("unescape plain", tcpmap_unescape(&b, S("abc")) == 0);
	CHECK_MEM("unescape plain value", b.p, b.len, "abc");
	buf_reset(&b);
	CHECK("unescape mixed case", tcpmap_unescape(&b, S("%4a%4A%aB")) == 0 &&
	    b.len == 3 && memcmp(b.p, "JJ\xab", 3) == 0);
	buf_reset(&b);
	CHECK("unescape %00", tcpmap_unescape(&b, S("%00")) == 0 &&
	    b.len == 1 && b.p[0] == '\0');
	buf_reset(&b);
	CHECK("unescape empty", tcpmap_unescape(&b, S("")) == 0 && b.len == 0);

	buf_reset(&b);
	buf_puts(&b, "keep");
	CHECK("unescape bad at end", tcpmap_unescape(&b, S("abc%4")) == -1);
	CHECK_MEM("unescape bad leaves out unchanged", b.p, b.len, "keep");
	CHECK("unescape bad %zz", tcpmap_unescape(&b, S("a%zzb")) == -1);
	CHECK("unescape bad %-1", tcpmap_unescape(&b, S("%-1")) == -1);
	CHECK("unescape bad %+F", tcpmap_unescape(&b, S("%+F")) == -1);
	CHECK("unescape bad lone %", tcpmap_unescape(&b, S("%")) == -1);
	CHECK("unescape bad %%", tcpmap_unescape(&b, S("%%41")) == -1);
	CHECK_MEM("unescape bad leaves out unchanged (2)", b.p, b.len, "keep");
	/* The escape may not borrow bytes beyond len. */
	CHECK("unescape bad escape cut by len",
	    tcpmap_unescape(&b, "%41", 2) == -1);
	buf_free(&b);
}

int
main(void)
{
	test_decode();
	test_limits();
	test_escape();
	test_unescape();
	return unit_done();
}
