/*
 * t_buf: common/buf.c (growth, NUL termination, embedded NULs, consume,
 * printf, self-append, the x* helpers) and, as the other small piece of
 * common/, log_printable() from common/log.c (cutting, escapes, tiny
 * output buffers that must never overflow).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "unit.h"

static void
test_buf(void)
{
	struct buf b = BUF_INIT;
	char big[5000];

	CHECK_STR("empty buf_str is \"\"", buf_str(&b), "");
	CHECK("empty buf has no memory", b.p == NULL && b.len == 0);

	buf_append(&b, "", 0);
	CHECK("append 0 bytes allocates and terminates",
	    b.p != NULL && b.len == 0 && b.p[0] == '\0');

	buf_puts(&b, "abc");
	CHECK_MEM("puts", b.p, b.len, "abc");
	CHECK("puts NUL-terminated", b.p[b.len] == '\0');

	buf_putc(&b, 'd');
	CHECK_MEM("putc", b.p, b.len, "abcd");

	buf_append(&b, "e\0f", 3);
	CHECK("embedded NUL kept", b.len == 7 && memcmp(b.p, "abcde\0f", 7) == 0);
	CHECK("NUL after embedded NUL", b.p[7] == '\0');

	buf_reset(&b);
	CHECK("reset empties", b.len == 0 && b.p != NULL && b.p[0] == '\0');
	CHECK_STR("reset buf_str", buf_str(&b), "");

	buf_printf(&b, "%d-%s", 42, "x");
	CHECK_STR("printf", buf_str(&b), "42-x");
	buf_printf(&b, "%s", "");
	CHECK_STR("printf empty", buf_str(&b), "42-x");

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_printf(&b, "[%s]", big);
	CHECK("printf grows", b.len == 4 + 2 + sizeof(big) - 1);
	CHECK("printf grown content", b.p[4] == '[' && b.p[5] == 'z' &&
	    b.p[b.len - 1] == ']' && b.p[b.len] == '\0');
	CHECK("cap covers len + NUL", b.cap >= b.len + 1);

	buf_reset(&b);
	buf_puts(&b, "hello world");
	buf_consume(&b, 6);
	CHECK_STR("consume", buf_str(&b), "world");
	buf_consume(&b, 0);
	CHECK_STR("consume 0", buf_str(&b), "world");
	buf_consume(&b, 5);
	CHECK("consume all", b.len == 0 && b.p[0] == '\0');
	buf_puts(&b, "ab");
	buf_consume(&b, 99);
	CHECK("consume more than len empties", b.len == 0 && b.p[0] == '\0');

	buf_reset(&b);
	buf_puts(&b, "0123456789");
	for (int i = 0; i < 10; i++)
		buf_append(&b, b.p, b.len);	/* may move the source */
	CHECK("self-append doubles", b.len == 10240);
	CHECK("self-append content", memcmp(b.p + 10230, "0123456789",
	    10) == 0 && b.p[10240] == '\0');

	buf_free(&b);
	CHECK("free resets", b.p == NULL && b.len == 0 && b.cap == 0);
	buf_puts(&b, "again");
	CHECK_STR("reusable after free", buf_str(&b), "again");
	buf_free(&b);
	buf_free(&b);
	CHECK("double free harmless", b.p == NULL);

	buf_reserve(&b, 1000);
	CHECK("reserve", b.p != NULL && b.cap >= 1001 && b.len == 0 &&
	    b.p[0] == '\0');
	buf_free(&b);

	for (int i = 0; i < 1000; i++)
		buf_putc(&b, 'a' + i % 26);
	CHECK("1000 putc", b.len == 1000 && b.p[999] == 'a' + 999 % 26 &&
	    b.p[1000] == '\0');
	buf_free(&b);
}

static void
test_x(void)
{
	char *s, *t;
	int *v;

	s = xstrdup("abc");
	CHECK_STR("xstrdup", s, "abc");
	free(s);
	s = xstrndup("abcdef", 3);
	CHECK_STR("xstrndup cuts", s, "abc");
	free(s);
	s = xstrndup("ab", 10);
	CHECK_STR("xstrndup short", s, "ab");
	free(s);
	s = xmalloc(0);
	CHECK("xmalloc(0) not NULL", s != NULL);
	free(s);
	v = xcalloc(4, sizeof(int));
	CHECK("xcalloc zeroed", v[0] == 0 && v[3] == 0);
	v = xreallocarray(v, 100, sizeof(int));
	v[99] = 7;
	CHECK("xreallocarray", v[99] == 7 && v[0] == 0);
	free(v);
	t = xrealloc(NULL, 5);
	CHECK("xrealloc(NULL)", t != NULL);
	free(t);
}

struct pcase {
	const char *name;
	const char *in;
	size_t len;
	size_t outsz;
	const char *want;
};

#define S(x) x, sizeof(x) - 1

static const struct pcase pcases[] = {
	{ "printable as is", S("user@example.com"), 420, "user@example.com" },
	{ "empty", S(""), 420, "" },
	{ "control as \\xHH", S("a\r\nb"), 420, "a\\x0d\\x0ab" },
	{ "NUL as \\x00", S("a\0b"), 420, "a\\x00b" },
	{ "high byte", S("\xc3\xa9"), 420, "\\xc3\\xa9" },
	{ "DEL", S("\x7f"), 420, "\\x7f" },
	{ "backslash escaped", S("a\\b"), 420, "a\\x5cb" },
	{ "space and tilde kept", S(" ~"), 420, " ~" },
	{ "exactly 100 not cut",
	  S("0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"),
	  420,
	  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789" },
	{ "101 cut at 100",
	  S("0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789X"),
	  420,
	  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789..." },
	{ "tiny out: 1", S("abcdef"), 1, "" },
	{ "tiny out: 2", S("abcdef"), 2, "." },
	{ "tiny out: 4", S("abcdef"), 4, "..." },
	{ "tiny out: 5", S("abcdef"), 5, "a..." },
	{ "exact fit", S("abcdef"), 7, "abcdef" },
	{ "one short", S("abcdef"), 6, "ab..." },
	{ "escape not split", S("a\x01"), 5, "a..." },
	{ "escape fits", S("a\x01"), 6, "a\\x01" },
};

static void
test_printable(void)
{
	char out[LOG_PRINTABLE_SIZE + 8];
	char all[256];
	size_t i;

	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];

		memset(out, 'Z', sizeof(out));
		log_printable(out, c->outsz, c->in, c->len);
		CHECK_STR(c->name, out, c->want);
		CHECK("no write past outsz", out[c->outsz] == 'Z');
	}
	/* The worst case fits LOG_PRINTABLE_SIZE. */
	for (i = 0; i < sizeof(all); i++)
		all[i] = (char)(0x80 + i % 128);
	memset(out, 'Z', sizeof(out));
	log_printable(out, LOG_PRINTABLE_SIZE, all, sizeof(all));
	CHECK("worst case length 403", strlen(out) == 100 * 4 + 3);
	CHECK("worst case ends with ...", strcmp(out + 400, "...") == 0);
	CHECK("NULL string", strcmp(log_printable(out, 20, NULL, 3),
	    "(null)") == 0);
	CHECK("outsz 0 returns out untouched",
	    log_printable(out, 0, "x", 1) == out);
}

static void
test_shown(void)
{
	struct buf b = BUF_INIT;
	char big[BUF_SHOWN_MAX + 5];
	char *s;

	buf_put_shown(&b, "a\"b\\c\td\xc3\xbc\xff", 10, 1);
	CHECK_STR("shown, quoted", buf_str(&b),
	    "\"a\\\"b\\\\c\\x09d\xc3\xbc\\xff\"");
	buf_reset(&b);
	buf_put_shown(&b, "a\"b\nc\0d", 7, 0);
	CHECK_STR("shown, bare: quotes kept, control bytes escaped",
	    buf_str(&b), "a\"b\\x0ac\\x00d");
	buf_reset(&b);
	memset(big, 'x', sizeof(big));
	buf_put_shown(&b, big, sizeof(big), 1);
	CHECK("shown, quoted: cut after BUF_SHOWN_MAX with ...",
	    b.len == BUF_SHOWN_MAX + 5 && memcmp(b.p + BUF_SHOWN_MAX + 1,
	    "...\"", 4) == 0);
	buf_reset(&b);
	/* A UTF-8 sequence cut by the limit is shown as bytes. */
	memset(big, 'x', sizeof(big));
	memcpy(big + BUF_SHOWN_MAX - 1, "\xc3\xbc", 2);
	buf_put_shown(&b, big, sizeof(big), 1);
	CHECK("shown: a sequence cut by the limit as \\xHH",
	    strstr(buf_str(&b), "x\\xc3...\"") != NULL);
	buf_free(&b);

	s = xprintf("%s-%d-%zu", "a", -1, (size_t)7);
	CHECK_STR("xprintf", s, "a--1-7");
	free(s);
	s = xprintf("%s", "");
	CHECK_STR("xprintf, empty", s, "");
	free(s);
}

int
main(void)
{
	test_buf();
	test_x();
	test_printable();
	test_shown();
	return unit_done();
}
