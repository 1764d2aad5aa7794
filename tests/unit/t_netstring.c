/*
 * t_netstring: lookupd/netstring.c.  Every decode status, every prefix of
 * every case (a netstring arriving one byte at a time must say NS_MORE
 * until it is complete, or give its error as soon as the error is
 * visible), lengths at and over the limit, leading zeros, 8-digit
 * lengths, payloads with NUL and other binary bytes, two netstrings in one
 * buffer, and the encoder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "lookupd/netstring.h"
#include "unit.h"

#define S(lit)	lit, sizeof(lit) - 1

struct dcase {
	const char *name;
	const char *in;
	size_t len;
	size_t max;
	enum ns_status want;
	const char *payload;	/* NS_OK */
	size_t plen;
	size_t consumed;	/* NS_OK */
	size_t first_bad;	/* errors: shortest prefix that shows it */
};

static const struct dcase dcases[] = {
	{ "simple", S("5:hello,"), 100, NS_OK, S("hello"), 8, 0 },
	{ "empty payload", S("0:,"), 100, NS_OK, S(""), 3, 0 },
	{ "request with space", S("11:alias a@b.c,"), 100, NS_OK,
	    S("alias a@b.c"), 15, 0 },
	{ "payload with NUL", S("3:a\0b,"), 100, NS_OK, S("a\0b"), 6, 0 },
	{ "payload all NUL", S("2:\0\0,"), 100, NS_OK, S("\0\0"), 5, 0 },
	{ "payload with ',' and ':'", S("3:,:,,"), 100, NS_OK, S(",:,"), 6, 0 },
	{ "payload binary", S("4:\xff\x80\r\n,"), 100, NS_OK,
	    S("\xff\x80\r\n"), 7, 0 },
	{ "trailing bytes left", S("1:a,2:bc,"), 100, NS_OK, S("a"), 4, 0 },
	{ "length = max", S("3:abc,"), 3, NS_OK, S("abc"), 6, 0 },
	{ "length = max 0", S("0:,"), 0, NS_OK, S(""), 3, 0 },
	{ "seven zeros", S("0000000"), 100, NS_BAD, NULL, 0, 0, 2 },
	{ "length max+1", S("4:abcd,"), 3, NS_TOO_LONG, NULL, 0, 0, 1 },
	{ "length over max before ':'", S("17"), 16, NS_TOO_LONG,
	    NULL, 0, 0, 2 },
	{ "200 kB announced, nothing sent", S("200000:"), 16384,
	    NS_TOO_LONG, NULL, 0, 0, 5 },
	{ "8 digits", S("12345678:"), 100000000, NS_TOO_LONG,
	    NULL, 0, 0, 8 },
	{ "8 digits under a small max", S("12345678"), 16384, NS_TOO_LONG,
	    NULL, 0, 0, 6 },
	{ "7 digits allowed", S("1000000:"), 1000000, NS_MORE, NULL, 0, 0, 0 },
	{ "leading zero", S("05:hello,"), 100, NS_BAD, NULL, 0, 0, 2 },
	{ "two zeros", S("00:,"), 100, NS_BAD, NULL, 0, 0, 2 },
	{ "no digits", S(":hello,"), 100, NS_BAD, NULL, 0, 0, 1 },
	{ "letter", S("x"), 100, NS_BAD, NULL, 0, 0, 1 },
	{ "sign", S("+5:hello,"), 100, NS_BAD, NULL, 0, 0, 1 },
	{ "minus", S("-1:,"), 100, NS_BAD, NULL, 0, 0, 1 },
	{ "space before", S(" 5:hello,"), 100, NS_BAD, NULL, 0, 0, 1 },
	{ "space after digits", S("5 :hello,"), 100, NS_BAD, NULL, 0, 0, 2 },
	{ "digit then letter", S("5x"), 100, NS_BAD, NULL, 0, 0, 2 },
	{ "missing comma", S("5:helloX"), 100, NS_BAD, NULL, 0, 0, 8 },
	{ "length too short", S("4:hello,"), 100, NS_BAD, NULL, 0, 0, 7 },
	{ "NUL in length", S("5\0:hello,"), 100, NS_BAD, NULL, 0, 0, 2 },
	{ "newline framing", S("5:hello\n"), 100, NS_BAD, NULL, 0, 0, 8 },
	{ "empty input", "", 0, 100, NS_MORE, NULL, 0, 0, 0 },
	{ "digits only", S("12"), 100, NS_MORE, NULL, 0, 0, 0 },
	{ "0 alone", S("0"), 100, NS_MORE, NULL, 0, 0, 0 },
	{ "no payload yet", S("5:"), 100, NS_MORE, NULL, 0, 0, 0 },
	{ "payload without comma yet", S("5:hello"), 100, NS_MORE,
	    NULL, 0, 0, 0 },
};

static void
test_decode(void)
{
	char name[200];

	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *c = &dcases[i];
		const char *pl = NULL;
		size_t plen = 0, used = 0;
		enum ns_status st;
		int bad = 0;

		st = netstring_decode(c->in, c->len, c->max, &pl, &plen,
		    &used);
		snprintf(name, sizeof(name), "decode %s: status", c->name);
		CHECK(name, st == c->want);
		if (c->want == NS_OK && st == NS_OK) {
			snprintf(name, sizeof(name), "decode %s: payload",
			    c->name);
			CHECK(name, plen == c->plen && pl == c->in +
			    (c->consumed - c->plen - 1) &&
			    memcmp(pl, c->payload, plen) == 0);
			snprintf(name, sizeof(name), "decode %s: consumed",
			    c->name);
			CHECK(name, used == c->consumed);
		}
		/* Every prefix, copied so that reading past it is caught. */
		for (size_t k = 0; k < c->len; k++) {
			char *copy = malloc(k ? k : 1);
			enum ns_status want;

			memcpy(copy, c->in, k);
			st = netstring_decode(copy, k, c->max, &pl, &plen,
			    &used);
			free(copy);
			if (c->want == NS_OK)
				want = k < c->consumed ? NS_MORE : NS_OK;
			else if (c->want == NS_MORE)
				want = NS_MORE;
			else
				want = k < c->first_bad ? NS_MORE : c->want;
			if (st != want)
				bad++;
		}
		snprintf(name, sizeof(name), "decode %s: every prefix",
		    c->name);
		CHECK(name, bad == 0);
	}
}

/* Payloads of max-1, max, max+1 bytes, with a big limit. */
static void
test_sizes(void)
{
	static const size_t maxes[] = { 16384, 100000, 1000000 };
	char name[200];
	struct buf b = BUF_INIT;

	for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
		for (size_t n = maxes[m] - 1; n <= maxes[m] + 1; n++) {
			const char *pl;
			size_t plen, used;
			enum ns_status st;
			char *data = malloc(n);

			memset(data, 'k', n);
			buf_reset(&b);
			netstring_encode(&b, data, n);
			st = netstring_decode(b.p, b.len, maxes[m], &pl, &plen,
			    &used);
			snprintf(name, sizeof(name), "size %zu with max %zu",
			    n, maxes[m]);
			if (n <= maxes[m])
				CHECK(name, st == NS_OK && plen == n &&
				    used == b.len && memcmp(pl, data, n) == 0);
			else
				CHECK(name, st == NS_TOO_LONG);
			/* Only the prefix "N:" is needed to refuse. */
			if (n > maxes[m]) {
				size_t colon = (size_t)((char *)memchr(b.p, ':',
				    b.len) - b.p);

				st = netstring_decode(b.p, colon + 1, maxes[m],
				    &pl, &plen, &used);
				snprintf(name, sizeof(name), "size %zu with max "
				    "%zu refused from its length alone", n,
				    maxes[m]);
				CHECK(name, st == NS_TOO_LONG);
			}
			free(data);
		}
	}
	buf_free(&b);
}

static void
test_encode(void)
{
	struct buf b = BUF_INIT;
	const char *pl;
	size_t plen, used;

	netstring_encode(&b, "hello", 5);
	CHECK_MEM("encode hello", b.p, b.len, "5:hello,");
	buf_reset(&b);
	netstring_encode(&b, "", 0);
	CHECK_MEM("encode empty", b.p, b.len, "0:,");
	buf_reset(&b);
	netstring_encode(&b, NULL, 0);
	CHECK_MEM("encode NULL empty", b.p, b.len, "0:,");
	buf_reset(&b);
	netstring_encode(&b, "a\0b", 3);
	CHECK("encode NUL payload", b.len == 6 &&
	    memcmp(b.p, "3:a\0b,", 6) == 0);
	buf_reset(&b);
	buf_puts(&b, "x");
	netstring_encode(&b, "0123456789", 10);
	CHECK_MEM("encode appends", b.p, b.len, "x10:0123456789,");
	CHECK("encode round trip", netstring_decode(b.p + 1, b.len - 1, 10,
	    &pl, &plen, &used) == NS_OK && plen == 10 && used == 14 &&
	    memcmp(pl, "0123456789", 10) == 0);
	buf_free(&b);
}

int
main(void)
{
	test_decode();
	test_sizes();
	test_encode();
	return unit_done();
}
