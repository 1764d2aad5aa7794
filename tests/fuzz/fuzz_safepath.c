/*
 * fuzz_safepath: common/safepath.c, the text checks ldap-maildirmake
 * (running as root) applies to mailMessageStore, uid and postOfficeBox
 * values before it touches the file system.
 *
 * Every function is cross-checked against a reference written here
 * independently, from the contract in safepath.h and the SPEC, in a
 * different style (split into components first, then judge each):
 *   - the reference computes the set of rules the value breaks; the
 *     function must accept exactly when that set is empty, and when it
 *     refuses, the error it gives must be one of the broken rules (the
 *     order in which rules are tested is the function's business);
 *   - what safepath_under() accepts is also checked directly: absolute,
 *     starts with base + "/" (or is below "/"), *relpos points at a
 *     non-empty relative part, no empty, "." or ".." component (one
 *     trailing "/" allowed), no reserved component;
 *   - safepath_utf8() must equal a table-driven validator (Unicode
 *     Table 3-7, well-formed byte sequences).
 * The whole input is the path/name; with fixed bases "/", "/vmail",
 * "/vmail/shared", "/srv/mail.d".  When the input holds a NUL, the part
 * before it is also tried as the base (if it is one: absolute,
 * normalized, no trailing "/") and the part after it as the path.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/safepath.h"
#include "tests/fuzz/fuzz.h"

#define BIT(e) (1u << (e))
#define RESERVED "ldap-maildirmake."

static const char *const bases[] = {
	"/", "/vmail", "/vmail/shared", "/srv/mail.d"
};

/* ---- the reference ----------------------------------------------------- */

struct comp {
	const unsigned char *p;
	size_t n;
};

static int
ref_reserved(const unsigned char *p, size_t n)
{
	size_t rl = strlen(RESERVED);

	if (n >= 1 && p[0] == '.')
		p++, n--;
	return n >= rl && memcmp(p, RESERVED, rl) == 0;
}

/* Rules about the bytes themselves, shared by paths and names. */
static unsigned
ref_bytes(const unsigned char *s, size_t len)
{
	unsigned bad = 0;

	if (len == 0)
		return BIT(SAFEPATH_EMPTY);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == 0)
			bad |= BIT(SAFEPATH_NUL);
		else if (s[i] < 0x20 || s[i] == 0x7f)
			bad |= BIT(SAFEPATH_CONTROL);
	}
	return bad;
}

/*
 * The components of an absolute path: "/" has none; otherwise what lies
 * between the slashes after the first one, one trailing "/" forgiven
 * ("/a/b/" is "a", "b"; "/a//" is "a", ""; "//" is "").  Returns the
 * count, at most max stored.
 */
static size_t
ref_split(const unsigned char *s, size_t len, struct comp *c, size_t max)
{
	size_t n = 0, start;

	if (len == 1)
		return 0;
	s++, len--;
	if (s[len - 1] == '/')
		len--;
	start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (n < max) {
			c[n].p = s + start;
			c[n].n = i - start;
		}
		n++;
		start = i + 1;
	}
	return n;
}

static unsigned
ref_check(const unsigned char *s, size_t len)
{
	static struct comp c[PATH_MAX];
	unsigned bad = ref_bytes(s, len);
	size_t n;

	if (len == 0)
		return bad;
	if (s[0] != '/')
		return bad | BIT(SAFEPATH_RELATIVE);
	if (len >= PATH_MAX)
		bad |= BIT(SAFEPATH_TOO_LONG);
	n = ref_split(s, len, c, PATH_MAX);
	for (size_t i = 0; i < n && i < PATH_MAX; i++) {
		if (c[i].n == 0 || (c[i].n == 1 && c[i].p[0] == '.') ||
		    (c[i].n == 2 && c[i].p[0] == '.' && c[i].p[1] == '.'))
			bad |= BIT(SAFEPATH_NOT_NORMAL);
		if (c[i].n > NAME_MAX)
			bad |= BIT(SAFEPATH_TOO_LONG);
		if (ref_reserved(c[i].p, c[i].n))
			bad |= BIT(SAFEPATH_RESERVED_NAME);
	}
	return bad;
}

/* path strictly below base: base's components are a strict prefix. */
static int
ref_below(const char *base, const unsigned char *s, size_t len)
{
	size_t bl = strlen(base);

	if (len == 0 || s[0] != '/')
		return 0;
	if (len > 1 && s[len - 1] == '/')
		len--;
	if (bl == 1)
		return len > 1;
	return len > bl + 1 && memcmp(s, base, bl) == 0 && s[bl] == '/';
}

static unsigned
ref_component(const unsigned char *s, size_t len)
{
	unsigned bad = ref_bytes(s, len);

	if (len == 0)
		return bad;
	if (memchr(s, '/', len) != NULL)
		bad |= BIT(SAFEPATH_SLASH);
	if ((len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		bad |= BIT(SAFEPATH_DOT);
	if (len > NAME_MAX)
		bad |= BIT(SAFEPATH_TOO_LONG);
	if (ref_reserved(s, len))
		bad |= BIT(SAFEPATH_RESERVED_NAME);
	return bad;
}

/* Unicode 15, Table 3-7: the well-formed UTF-8 byte sequences. */
static int
ref_utf8(const unsigned char *s, size_t len)
{
	static const struct {
		unsigned char lo0, hi0, lo1, hi1;
		int n;
	} t[] = {
		{ 0xc2, 0xdf, 0x80, 0xbf, 2 },
		{ 0xe0, 0xe0, 0xa0, 0xbf, 3 },
		{ 0xe1, 0xec, 0x80, 0xbf, 3 },
		{ 0xed, 0xed, 0x80, 0x9f, 3 },
		{ 0xee, 0xef, 0x80, 0xbf, 3 },
		{ 0xf0, 0xf0, 0x90, 0xbf, 4 },
		{ 0xf1, 0xf3, 0x80, 0xbf, 4 },
		{ 0xf4, 0xf4, 0x80, 0x8f, 4 },
	};
	size_t i = 0;

	while (i < len) {
		size_t k;
		int n = 0;

		if (s[i] <= 0x7f) {
			i++;
			continue;
		}
		for (k = 0; k < sizeof(t) / sizeof(t[0]); k++)
			if (s[i] >= t[k].lo0 && s[i] <= t[k].hi0)
				break;
		if (k == sizeof(t) / sizeof(t[0]))
			return 0;
		n = t[k].n;
		if (len - i < (size_t)n)
			return 0;
		if (s[i + 1] < t[k].lo1 || s[i + 1] > t[k].hi1)
			return 0;
		for (int j = 2; j < n; j++)
			if (s[i + j] < 0x80 || s[i + j] > 0xbf)
				return 0;
		i += (size_t)n;
	}
	return 1;
}

static unsigned
ref_folder(const unsigned char *s, size_t len)
{
	unsigned bad = ref_component(s, len);

	if (len == 0)
		return bad;
	if (len > NAME_MAX - 1)
		bad |= BIT(SAFEPATH_TOO_LONG);
	if (s[0] == '.')
		bad |= BIT(SAFEPATH_LEADING_DOT);
	if (s[len - 1] == '.')
		bad |= BIT(SAFEPATH_EMPTY_LEVEL);
	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == '.' && s[i + 1] == '.')
			bad |= BIT(SAFEPATH_EMPTY_LEVEL);
	if (!ref_utf8(s, len))
		bad |= BIT(SAFEPATH_UTF8);
	return bad;
}

/* A base safepath_under() may be given: absolute, normalized, no "/"
 * at the end unless it is "/". */
static int
ref_is_base(const char *b)
{
	size_t len = strlen(b);

	if (len == 0 || b[0] != '/')
		return 0;
	if (len == 1)
		return 1;
	if (b[len - 1] == '/')
		return 0;
	return ref_check((const unsigned char *)b, len) == 0;
}

/* ---- the comparisons --------------------------------------------------- */

static void
agree(enum safepath_err got, unsigned bad)
{
	FUZZ_ASSERT((unsigned)got < 32);
	if (bad == 0)
		FUZZ_ASSERT(got == SAFEPATH_OK);
	else
		FUZZ_ASSERT(got != SAFEPATH_OK && (bad & BIT(got)) != 0);
	FUZZ_ASSERT(safepath_strerror(got) != NULL);
}

/* What an accepted path must look like, checked on its own terms. */
static void
check_accepted(const char *base, const unsigned char *s, size_t len,
    size_t relpos)
{
	size_t bl = strlen(base), end = len;

	FUZZ_ASSERT(len >= 2 && s[0] == '/');
	FUZZ_ASSERT(memchr(s, 0, len) == NULL);
	if (bl > 1) {
		FUZZ_ASSERT(len > bl + 1);
		FUZZ_ASSERT(memcmp(s, base, bl) == 0 && s[bl] == '/');
		FUZZ_ASSERT(relpos == bl + 1);
	} else {
		FUZZ_ASSERT(relpos == 1);
	}
	if (s[end - 1] == '/')
		end--;
	FUZZ_ASSERT(relpos < end);
	/* Walk the relative part as maildir.c will: component by component. */
	for (size_t i = relpos; i <= end;) {
		size_t j = i;

		while (j < end && s[j] != '/')
			j++;
		FUZZ_ASSERT(j > i);
		FUZZ_ASSERT(!(j - i == 1 && s[i] == '.'));
		FUZZ_ASSERT(!(j - i == 2 && s[i] == '.' && s[i + 1] == '.'));
		i = j + 1;
	}
}

static void
check_under(const char *base, const unsigned char *s, size_t len)
{
	size_t relpos = (size_t)-1;
	enum safepath_err e;
	unsigned bad;

	bad = ref_check(s, len);
	if (!ref_below(base, s, len))
		bad |= BIT(SAFEPATH_OUTSIDE);
	e = safepath_under(base, (const char *)s, len, &relpos);
	agree(e, bad);
	if (e == SAFEPATH_OK)
		check_accepted(base, s, len, relpos);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const unsigned char *nul;

	agree(safepath_check(in, size), ref_check(data, size));
	agree(safepath_component(in, size), ref_component(data, size));
	agree(safepath_folder(in, size), ref_folder(data, size));
	FUZZ_ASSERT(safepath_utf8(in, size) == ref_utf8(data, size));
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
		check_under(bases[i], data, size);

	/* "BASE\0PATH": a base from the input. */
	nul = size > 0 ? memchr(data, 0, size) : NULL;
	if (nul != NULL && ref_is_base(in)) {
		size_t off = (size_t)(nul - data) + 1;

		check_under(in, data + off, size - off);
	}
	return 0;
}
