/*
 * t_ldapesc: RFC 4515 escaping (common/ldapesc.c), the examples of the
 * RFC and the keys an attacker would send, bounded and unbounded forms.
 */
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/ldapesc.h"
#include "unit.h"

struct ecase {
	const char *name;
	const char *in;
	size_t len;
	const char *want;
};

#define S(x) x, sizeof(x) - 1

static const struct ecase cases[] = {
	{ "plain address", S("user@example.com"), "user@example.com" },
	{ "empty", S(""), "" },
	{ "star", S("*"), "\\2a" },
	{ "open paren", S("("), "\\28" },
	{ "close paren", S(")"), "\\29" },
	{ "backslash", S("\\"), "\\5c" },
	{ "NUL", S("\0"), "\\00" },
	/* RFC 4515 section 4 examples. */
	{ "RFC: Parens R Us (for all your parenthetical needs)",
	  S("Parens R Us (for all your parenthetical needs)"),
	  "Parens R Us \\28for all your parenthetical needs\\29" },
	{ "RFC: *", S("*"), "\\2a" },
	{ "RFC: C:\\MKS", S("C:\\MKS"), "C:\\5cMKS" },
	{ "RFC: Lu\\c4\\8di\\c4\\87", S("Lu\xc4\x8di\xc4\x87"),
	  "Lu\\c4\\8di\\c4\\87" },
	{ "RFC: \\04\\02\\48\\69 (binary)", S("\x04\x02\x48\x69"),
	  "\\04\\02Hi" },
	{ "UTF-8 0xC3", S("\xc3"), "\\c3" },
	{ "UTF-8 e acute", S("caf\xc3\xa9"), "caf\\c3\\a9" },
	{ "injection x)(mail=*", S("x)(mail=*"), "x\\29\\28mail=\\2a" },
	{ "injection *)(|(uid=*", S("*)(|(uid=*"),
	  "\\2a\\29\\28|\\28uid=\\2a" },
	{ "NUL inside", S("a\0x"), "a\\00x" },
	{ "CR LF", S("a\r\n"), "a\\0d\\0a" },
	{ "tab", S("\t"), "\\09" },
	{ "DEL", S("\x7f"), "\\7f" },
	{ "0xFF", S("\xff"), "\\ff" },
	{ "space, tilde, = & | ! kept", S(" ~=&|!"), " ~=&|!" },
	{ "quoted local part", S("\"a b\"@d"), "\"a b\"@d" },
};

static void
test_cases(void)
{
	char out[256];
	struct buf b = BUF_INIT;
	ssize_t r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ecase *c = &cases[i];
		char name[200];

		r = ldapesc_filter(out, sizeof(out), c->in, c->len);
		CHECK_MEM(c->name, out, r < 0 ? 0 : (size_t)r, c->want);
		snprintf(name, sizeof(name), "%s: length and NUL", c->name);
		CHECK(name, r == (ssize_t)strlen(c->want) && out[r] == '\0');

		buf_reset(&b);
		ldapesc_filter_buf(&b, c->in, c->len);
		snprintf(name, sizeof(name), "%s (buf)", c->name);
		CHECK_MEM(name, buf_str(&b), b.len, c->want);
	}
	buf_free(&b);
}

static void
test_bounds(void)
{
	char out[16];
	ssize_t r;

	memset(out, 'Z', sizeof(out));
	r = ldapesc_filter(out, 4, "*", 1);
	CHECK("\\2a fits in 4", r == 3 && strcmp(out, "\\2a") == 0);
	memset(out, 'Z', sizeof(out));
	r = ldapesc_filter(out, 3, "*", 1);
	CHECK("\\2a does not fit in 3: -1", r == -1);
	CHECK("-1 leaves an empty string", out[0] == '\0');
	CHECK("-1 writes nothing else", out[1] == 'Z' && out[2] == 'Z' &&
	    out[3] == 'Z');
	memset(out, 'Z', sizeof(out));
	r = ldapesc_filter(out, 6, "abcdef", 6);
	CHECK("6 plain bytes need 7: -1", r == -1 && out[0] == '\0');
	r = ldapesc_filter(out, 7, "abcdef", 6);
	CHECK("6 plain bytes in 7", r == 6 && strcmp(out, "abcdef") == 0);
	r = ldapesc_filter(out, 1, "", 0);
	CHECK("empty in 1", r == 0 && out[0] == '\0');
	r = ldapesc_filter(out, 0, "", 0);
	CHECK("outsz 0: -1", r == -1);
	memset(out, 'Z', sizeof(out));
	r = ldapesc_filter(out, 9, "ab*cd*", 6);
	CHECK("never truncated (ab*cd* in 9)", r == -1 && out[0] == '\0' &&
	    out[8] == 'Z');
	r = ldapesc_filter(out, 11, "ab*cd*", 6);
	CHECK("ab*cd* in 11", r == 10 && strcmp(out, "ab\\2acd\\2a") == 0);
}

int
main(void)
{
	test_cases();
	test_bounds();
	return unit_done();
}
