/*
 * t_verifyrule: lookupd/verifyrule.c.  Answers compared as sets (order
 * and repeats do not count, an empty value is a value, not found and an
 * error never equal a found answer, two errors equal whatever the
 * reasons), snapshot records (a TEMP under the mark byte),
 * and key files read as `postmap -q -` reads keys: one per line, CRLF,
 * empty lines, no final newline, lowercased, control bytes and long
 * lines refused with their line number.
 */
#include <stdio.h>
#include <string.h>

#include "lookupd/verifyrule.h"
#include "unit.h"

struct dcase {
	const char *name;
	enum verify_kind ka;
	const char *a;
	enum verify_kind kb;
	const char *b;
	int want;
};

#define F VERIFY_FOUND
#define N VERIFY_NOTFOUND
#define E VERIFY_ERROR

static const struct dcase dcases[] = {
	{ "same value", F, "a@x", F, "a@x", 0 },
	{ "other value", F, "a@x", F, "b@x", 1 },
	{ "order does not count", F, "a,b,c", F, "c,a,b", 0 },
	{ "repeats do not count", F, "a,a,b", F, "b,a", 0 },
	{ "one value more", F, "a,b", F, "a", 1 },
	{ "one value less", F, "a", F, "a,b", 1 },
	{ "prefix is another value", F, "ab", F, "a", 1 },
	{ "case counts", F, "A@x", F, "a@x", 1 },
	{ "empty item is an item", F, "a,", F, "a", 1 },
	{ "both empty", F, "", F, "", 0 },
	{ "both not found", N, NULL, N, NULL, 0 },
	{ "found vs not found", F, "a", N, NULL, 1 },
	{ "not found vs found", N, NULL, F, "a", 1 },
	{ "error vs not found", E, "down", N, NULL, 1 },
	{ "error vs error", E, "size limit", E, "expansion limit", 0 },
	{ "found vs error", F, "a", E, "x", 1 },
};

static void
t_differs(void)
{
	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *c = &dcases[i];
		struct verify_answer a = { c->ka, c->a, c->a ? strlen(c->a) :
		    0 };
		struct verify_answer b = { c->kb, c->b, c->b ? strlen(c->b) :
		    0 };
		char name[200];

		snprintf(name, sizeof(name), "differs: %s", c->name);
		CHECK(name, verify_differs(&a, &b) == c->want);
		snprintf(name, sizeof(name), "differs: %s (swapped)",
		    c->name);
		CHECK(name, verify_differs(&b, &a) == c->want);
	}
}

/* All keys of text, "|"-joined, or "ERR:" and the error. */
static void
keys(const char *text, size_t len, char *out, size_t outsz)
{
	size_t pos = 0, line = 0, klen, o = 0;
	char key[VERIFY_KEY_MAX + 1], err[200];
	int r;

	out[0] = '\0';
	while ((r = verify_key_next(text, len, &pos, &line, key, sizeof(key),
	    &klen, err, sizeof(err))) == 1) {
		int n = snprintf(out + o, outsz - o, "%s%.*s", o ? "|" : "",
		    (int)klen, key);

		if (n < 0 || (size_t)n >= outsz - o)
			return;
		o += (size_t)n;
	}
	if (r < 0)
		snprintf(out, outsz, "ERR:%s", err);
}

#define S(lit)	lit, sizeof(lit) - 1

struct kcase {
	const char *name;
	const char *text;
	size_t len;
	const char *want;
};

static const struct kcase kcases[] = {
	{ "empty file", S(""), "" },
	{ "one key", S("a@x\n"), "a@x" },
	{ "no final newline", S("a@x\nb@y"), "a@x|b@y" },
	{ "empty lines skipped", S("\n\na@x\n\n\nb@y\n\n"), "a@x|b@y" },
	{ "CRLF", S("a@x\r\nb@y\r\n"), "a@x|b@y" },
	{ "lone CR line skipped", S("\r\na\n"), "a" },
	{ "lowercased", S("Albert.ONESTONE@MyDomain.NL\n"),
	    "albert.onestone@mydomain.nl" },
	{ "spaces kept", S(" a b \n"), " a b " },
	{ "UTF-8 kept", S("\xc3\x89t\xc3\xa9@x\n"), "\xc3\x89t\xc3\xa9@x" },
	{ "specials kept", S("*()\\,@x\n#not a comment\n"),
	    "*()\\,@x|#not a comment" },
	{ "tab refused", S("a\n\nb\tc\n"),
	    "ERR:line 3: a control byte (0x09) in the key" },
	{ "NUL refused", S("a\0b\n"),
	    "ERR:line 1: a control byte (0x00) in the key" },
	{ "CR inside refused", S("a\rb\n"),
	    "ERR:line 1: a control byte (0x0d) in the key" },
	{ "DEL refused", S("x\n\x7f\n"),
	    "ERR:line 2: a control byte (0x7f) in the key" },
};

static void
t_keys(void)
{
	char out[8192], name[200];

	for (size_t i = 0; i < sizeof(kcases) / sizeof(kcases[0]); i++) {
		const struct kcase *c = &kcases[i];

		keys(c->text, c->len, out, sizeof(out));
		snprintf(name, sizeof(name), "keys: %s", c->name);
		CHECK_STR(name, out, c->want);
	}
	{
		static char big[VERIFY_KEY_MAX + 3];

		memset(big, 'k', VERIFY_KEY_MAX);
		big[VERIFY_KEY_MAX] = '\n';
		keys(big, VERIFY_KEY_MAX + 1, out, sizeof(out));
		CHECK("keys: VERIFY_KEY_MAX bytes is a key",
		    strncmp(out, "kkk", 3) == 0 &&
		    strlen(out) == VERIFY_KEY_MAX);
		memset(big, 'k', VERIFY_KEY_MAX + 1);
		big[VERIFY_KEY_MAX + 1] = '\n';
		keys(big, VERIFY_KEY_MAX + 2, out, sizeof(out));
		CHECK_STR("keys: one byte more is refused", out,
		    "ERR:line 1: key longer than 4096 bytes");
	}
}

static void
t_record(void)
{
	struct verify_answer a;
	const char *k;
	size_t kl;

	verify_record("a@x", 3, "v", 1, &a, &k, &kl);
	CHECK("record: found", a.kind == VERIFY_FOUND && a.len == 1 &&
	    kl == 3 && memcmp(k, "a@x", 3) == 0);
	verify_record("\001a@x", 4, "size limit", 10, &a, &k, &kl);
	CHECK("record: the mark is a TEMP for the rest of the key",
	    a.kind == VERIFY_ERROR && a.len == 10 && kl == 3 &&
	    memcmp(k, "a@x", 3) == 0);
	verify_record("", 0, "", 0, &a, &k, &kl);
	CHECK("record: the empty key", a.kind == VERIFY_FOUND && kl == 0);
}

int
main(void)
{
	t_record();
	t_differs();
	t_keys();
	return unit_done();
}
