/*
 * t_reply: lookupd/reply.c.  The exact bytes of every result on both
 * protocols, values exactly at, under and over each protocol's limit
 * (socketmap 100000-byte payload, tcp_table 4096 bytes with the LF,
 * counted after %-encoding), empty and NUL-holding values, reasons with
 * control bytes and over-long reasons, and appending after existing
 * output.  (reply.c logs a warning for each refused value: expected on
 * stderr.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "lookupd/netstring.h"
#include "lookupd/reply.h"
#include "lookupd/tcpmap.h"
#include "unit.h"

#define S(lit)	lit, sizeof(lit) - 1

struct rcase {
	const char *name;
	enum result res;
	const char *text;
	size_t len;
	const char *sockmap;
	const char *tcp;
};

static const struct rcase rcases[] = {
	{ "found", RES_FOUND, S("x"), "4:OK x,", "200 x\n" },
	{ "found address", RES_FOUND, S("real+ext@example.com"),
	    "23:OK real+ext@example.com,", "200 real+ext@example.com\n" },
	{ "found with space and %", RES_FOUND, S("a b%"), "7:OK a b%,",
	    "200 a%20b%25\n" },
	{ "found 8-bit", RES_FOUND, S("\xc3\xa9"), "5:OK \xc3\xa9,",
	    "200 %C3%A9\n" },
	{ "found CR LF", RES_FOUND, S("a\r\n"), "6:OK a\r\n,",
	    "200 a%0D%0A\n" },
	{ "found empty", RES_FOUND, S(""), "17:TEMP empty answer,",
	    "400 empty%20answer\n" },
	{ "found NULL", RES_FOUND, NULL, 0, "17:TEMP empty answer,",
	    "400 empty%20answer\n" },
	{ "found with NUL", RES_FOUND, S("a\0b"),
	    "28:TEMP answer holds a NUL byte,",
	    "400 answer%20holds%20a%20NUL%20byte\n" },
	{ "notfound", RES_NOTFOUND, NULL, 0, "9:NOTFOUND ,",
	    "500 not%20found\n" },
	{ "notfound ignores text", RES_NOTFOUND, S("whatever"), "9:NOTFOUND ,",
	    "500 not%20found\n" },
	{ "temp", RES_TEMP, S("LDAP server unreachable"),
	    "28:TEMP LDAP server unreachable,",
	    "400 LDAP%20server%20unreachable\n" },
	{ "temp without reason", RES_TEMP, S(""), "20:TEMP temporary error,",
	    "400 temporary%20error\n" },
	{ "temp NULL reason", RES_TEMP, NULL, 0, "20:TEMP temporary error,",
	    "400 temporary%20error\n" },
	{ "temp control bytes", RES_TEMP, S("a\nb\rc\0d\x7f\xff%"),
	    "15:TEMP a?b?c?d??%,", "400 a?b?c?d??%25\n" },
	{ "perm", RES_PERM, S("unknown map name"),
	    "21:PERM unknown map name,", "400 unknown%20map%20name\n" },
	{ "perm without reason", RES_PERM, S(""), "20:PERM permanent error,",
	    "400 permanent%20error\n" },
};

static void
test_table(void)
{
	struct buf b = BUF_INIT;
	char name[200];

	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];

		buf_reset(&b);
		reply_sockmap(&b, c->res, c->text, c->len);
		snprintf(name, sizeof(name), "sockmap %s", c->name);
		CHECK_MEM(name, b.p, b.len, c->sockmap);
		buf_reset(&b);
		reply_tcp(&b, c->res, c->text, c->len);
		snprintf(name, sizeof(name), "tcp %s", c->name);
		CHECK_MEM(name, b.p, b.len, c->tcp);
	}
	buf_free(&b);
}

/* Long reasons are cut at 200 bytes, both protocols. */
static void
test_reasons(void)
{
	struct buf b = BUF_INIT;
	char reason[300];
	const char *pl;
	size_t plen, used;

	memset(reason, 'r', sizeof(reason));
	reply_sockmap(&b, RES_TEMP, reason, sizeof(reason));
	CHECK("sockmap long reason cut at 200",
	    netstring_decode(b.p, b.len, SOCKMAP_REPLY_MAX, &pl, &plen,
	    &used) == NS_OK && used == b.len && plen == 5 + 200 &&
	    memcmp(pl, "TEMP r", 6) == 0);
	buf_reset(&b);
	memset(reason, ' ', sizeof(reason));
	reply_tcp(&b, RES_PERM, reason, sizeof(reason));
	CHECK("tcp long reason cut at 200, encoded",
	    b.len == 4 + 600 + 1 && memcmp(b.p, "400 %20", 7) == 0 &&
	    b.p[b.len - 1] == '\n');
	buf_free(&b);
}

static void
sockmap_size(size_t n, int fits)
{
	struct buf b = BUF_INIT;
	char *v = malloc(n), name[200];
	const char *pl;
	size_t plen, used;
	enum ns_status st;

	memset(v, 'v', n);
	reply_sockmap(&b, RES_FOUND, v, n);
	st = netstring_decode(b.p, b.len, SOCKMAP_REPLY_MAX, &pl, &plen,
	    &used);
	snprintf(name, sizeof(name), "sockmap value of %zu bytes %s", n,
	    fits ? "is OK" : "is TEMP answer too long");
	if (fits)
		CHECK(name, st == NS_OK && used == b.len && plen == n + 3 &&
		    memcmp(pl, "OK ", 3) == 0 && memcmp(pl + 3, v, n) == 0);
	else
		CHECK(name, st == NS_OK && used == b.len &&
		    plen == strlen("TEMP answer too long") &&
		    memcmp(pl, "TEMP answer too long", plen) == 0);
	free(v);
	buf_free(&b);
}

static void
tcp_size(const char *what, size_t plain, size_t spaces, int fits)
{
	struct buf b = BUF_INIT, back = BUF_INIT;
	size_t n = plain + spaces;
	char *v = malloc(n ? n : 1), name[200];

	memset(v, 'v', plain);
	memset(v + plain, ' ', spaces);
	buf_puts(&b, "previous\n");
	reply_tcp(&b, RES_FOUND, v, n);
	snprintf(name, sizeof(name), "tcp %s (%zu + 3 x %zu bytes) %s", what,
	    plain, spaces, fits ? "is 200" : "is 400 answer too long");
	if (fits)
		CHECK(name, b.len - 9 == 4 + plain + 3 * spaces + 1 &&
		    b.len - 9 <= TCPMAP_LINE_MAX &&
		    memcmp(b.p + 9, "200 ", 4) == 0 && b.p[b.len - 1] == '\n' &&
		    tcpmap_unescape(&back, b.p + 13, b.len - 14) == 0 &&
		    back.len == n && memcmp(back.p, v, n) == 0);
	else
		CHECK_MEM(name, b.p, b.len,
		    "previous\n400 answer%20too%20long\n");
	free(v);
	buf_free(&b);
	buf_free(&back);
}

static void
test_sizes(void)
{
	/* Payload "OK " + value: 100000 bytes at most. */
	sockmap_size(SOCKMAP_REPLY_MAX - 4, 1);
	sockmap_size(SOCKMAP_REPLY_MAX - 3, 1);
	sockmap_size(SOCKMAP_REPLY_MAX - 2, 0);
	sockmap_size(SOCKMAP_REPLY_MAX, 0);
	sockmap_size(300000, 0);

	/* "200 " + encoded value + LF: 4096 bytes at most. */
	tcp_size("plain max-1", TCPMAP_LINE_MAX - 6, 0, 1);
	tcp_size("plain max", TCPMAP_LINE_MAX - 5, 0, 1);
	tcp_size("plain max+1", TCPMAP_LINE_MAX - 4, 0, 0);
	tcp_size("encoded max-1", 1, 1363, 1);
	tcp_size("encoded max", 2, 1363, 1);
	tcp_size("encoded max+1", 3, 1363, 0);
	tcp_size("encoded over", 0, 1364, 0);
	tcp_size("huge", 100000, 0, 0);
}

int
main(void)
{
	test_table();
	test_reasons();
	test_sizes();
	return unit_done();
}
