/*
 * fuzz_subschema: common/subschema.c on attributeTypes values from a
 * server (untrusted).  The input is values separated by newlines, then
 * after a NUL an attribute name to look up.  For any input:
 *   - adding never crashes, whatever the quotes and parentheses;
 *   - a rule found is a word that occurs in the input after "EQUALITY";
 *   - the same values give the same answer twice (no hidden state), and
 *     a SUP loop ends.
 */
#include <stdlib.h>
#include <string.h>

#include "common/subschema.h"
#include "tests/fuzz/fuzz.h"

static struct subschema *
load(const char *in, size_t n)
{
	struct subschema *s = subschema_new();
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(in + i, '\n', n - i);
		size_t l = nl ? (size_t)(nl - (in + i)) : n - i;

		(void)subschema_add(s, in + i, l);
		i += l + 1;
	}
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nul = memchr(in, '\0', size);
	size_t n = nul ? (size_t)(nul - in) : size;
	char *name = nul ? strndup(nul + 1, size - n - 1) : strdup("cn");
	struct subschema *a, *b;
	const char *ra, *rb;

	FUZZ_ASSERT(name != NULL);
	a = load(in, n);
	b = load(in, n);
	ra = subschema_equality(a, name);
	rb = subschema_equality(b, name);
	FUZZ_ASSERT((ra == NULL) == (rb == NULL));
	FUZZ_ASSERT(ra == NULL || strcmp(ra, rb) == 0);
	if (ra != NULL) {
		/* the word occurs in the input */
		size_t l = strlen(ra);
		int seen = 0;

		for (size_t i = 0; !seen && l > 0 && i + l <= n; i++)
			seen = memcmp(in + i, ra, l) == 0;
		FUZZ_ASSERT(seen);
	}
	subschema_free(a);
	subschema_free(b);
	free(name);
	return 0;
}
