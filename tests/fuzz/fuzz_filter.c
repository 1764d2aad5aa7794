/*
 * fuzz_filter: common/filter.c, RFC 4515 filters into a tree and back.
 * For any input:
 *   - a refusal says "filter byte N: ..." with N within the input;
 *   - an accepted filter prints as balanced text (outside \HH escapes)
 *     that parses again, and prints the same the second time (print is
 *     a fixed point), and both trees evaluate the same on an entry;
 *   - the tree is well formed: NOT has one child, items have an
 *     attribute (EXT: an attribute or a rule), values are NUL-ended.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/filter.h"
#include "common/matchrule.h"
#include "tests/fuzz/fuzz.h"

static void
check_tree(const struct filter *f, int depth)
{
	FUZZ_ASSERT(depth <= FILTER_MAX_DEPTH);
	switch (f->type) {
	case FILTER_AND:
	case FILTER_OR:
		for (size_t i = 0; i < f->nkids; i++)
			check_tree(f->kids[i], depth + 1);
		break;
	case FILTER_NOT:
		FUZZ_ASSERT(f->nkids == 1);
		check_tree(f->kids[0], depth + 1);
		break;
	case FILTER_EXT:
		FUZZ_ASSERT(f->attr != NULL || f->rule != NULL);
		FUZZ_ASSERT(f->value.p && f->value.p[f->value.len] == '\0');
		break;
	case FILTER_SUB:
		FUZZ_ASSERT(f->attr != NULL);
		FUZZ_ASSERT(f->initial.p == NULL || f->initial.len > 0);
		FUZZ_ASSERT(f->final.p == NULL || f->final.len > 0);
		for (size_t i = 0; i < f->nany; i++)
			FUZZ_ASSERT(f->any[i].len > 0);
		break;
	case FILTER_PRESENT:
		FUZZ_ASSERT(f->attr != NULL);
		break;
	default:
		FUZZ_ASSERT(f->attr != NULL);
		FUZZ_ASSERT(f->value.p && f->value.p[f->value.len] == '\0');
		break;
	}
}

static void
check_balanced(const char *s, size_t n)
{
	long depth = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\') {
			FUZZ_ASSERT(n - i >= 3);
			i += 2;
			continue;
		}
		FUZZ_ASSERT((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
		if (s[i] == '(')
			depth++;
		else if (s[i] == ')')
			FUZZ_ASSERT(--depth >= 0);
	}
	FUZZ_ASSERT(depth == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mr_value v1[] = { { "Joe@Example.COM", 15 } };
	static const struct mr_value v2[] = { { "TRUE", 4 } };
	static const struct mr_attr at[] = {
		{ "mail", "caseIgnoreIA5Match", v1, 1 },
		{ "a", "booleanMatch", v2, 1 },
	};
	static const struct mr_entry e = { at, 2 };
	struct filter *f, *g;
	struct buf b1 = BUF_INIT, b2 = BUF_INIT;
	char err[256];
	size_t off;

	if (filter_parse((const char *)data, size, &f, err, sizeof(err)) < 0) {
		FUZZ_ASSERT(f == NULL);
		FUZZ_ASSERT(strncmp(err, "filter byte ", 12) == 0);
		off = strtoul(err + 12, NULL, 10);
		FUZZ_ASSERT(off <= size);
		return 0;
	}
	check_tree(f, 1);
	filter_print(f, &b1);
	check_balanced(b1.p, b1.len);
	FUZZ_ASSERT(filter_parse(b1.p, b1.len, &g, err, sizeof(err)) == 0);
	filter_print(g, &b2);
	FUZZ_ASSERT(b1.len == b2.len && memcmp(b1.p, b2.p, b1.len) == 0);
	FUZZ_ASSERT(mr_eval(f, &e) == mr_eval(g, &e));
	filter_free(f);
	filter_free(g);
	buf_free(&b1);
	buf_free(&b2);
	return 0;
}
