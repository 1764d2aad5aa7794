/*
 * fuzz_ldaptable: common/ldaptable.c on any ldap_table(5) file text.
 *   - Same verdict and message twice (no hidden state).
 *   - A refusal is one line "fuzz.cf..." without control bytes.
 *   - An accepted table: at least one server, each an ldap://,
 *     ldaps:// or ldapi:// URL; attribute counts ordered (terminal <=
 *     terminal + leaf <= result <= all) and every name non-empty; the
 *     filter tree exists and prints into a filter that parses; limits
 *     in Postfix's ranges; domain entries non-empty and never
 *     type:table.
 */
#include <string.h>

#include "common/buf.h"
#include "common/filter.h"
#include "common/ldaptable.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ldaptable *t, *u;
	char e1[512], e2[512];
	int r1, r2;

	e1[0] = e2[0] = '\0';
	r1 = ldaptable_parse("fuzz.cf", (const char *)data, size, &t, e1,
	    sizeof(e1));
	r2 = ldaptable_parse("fuzz.cf", (const char *)data, size, &u, e2,
	    sizeof(e2));
	FUZZ_ASSERT(r1 == r2 && strcmp(e1, e2) == 0);
	if (r1 < 0) {
		FUZZ_ASSERT(t == NULL && u == NULL);
		FUZZ_ASSERT(strncmp(e1, "fuzz.cf", 7) == 0);
		for (const char *c = e1; *c; c++)
			FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f);
		return 0;
	}
	FUZZ_ASSERT(t->nservers > 0);
	for (size_t i = 0; i < t->nservers; i++)
		FUZZ_ASSERT(strncasecmp(t->servers[i], "ldap://", 7) == 0 ||
		    strncasecmp(t->servers[i], "ldaps://", 8) == 0 ||
		    strncasecmp(t->servers[i], "ldapi://", 8) == 0);
	FUZZ_ASSERT(t->num_terminal <= t->num_terminal + t->num_leaf);
	FUZZ_ASSERT(t->num_terminal + t->num_leaf <= t->num_attributes);
	FUZZ_ASSERT(t->num_attributes <= t->nattrs);
	for (size_t i = 0; i < t->nattrs; i++)
		FUZZ_ASSERT(t->attrs[i][0] != '\0');
	for (size_t i = 0; i < t->ndomains; i++)
		FUZZ_ASSERT(t->domains[i][0] != '\0' &&
		    (t->domains[i][0] == '/' ||
		    strchr(t->domains[i], ':') == NULL));
	FUZZ_ASSERT(t->filter != NULL);
	{
		struct buf b = BUF_INIT;
		struct filter *f;

		filter_print(t->filter, &b);
		FUZZ_ASSERT(filter_parse(b.p, b.len, &f, e1, sizeof(e1)) == 0);
		filter_free(f);
		buf_free(&b);
	}
	FUZZ_ASSERT(t->version == 2 || t->version == 3);
	FUZZ_ASSERT(t->recursion_limit >= 1 && t->expansion_limit >= 0 &&
	    t->size_limit >= 0 && t->dereference >= 0 &&
	    t->dereference <= 3 && t->timeout >= 0);
	FUZZ_ASSERT(t->search_base && t->query_filter && t->result_format);
	ldaptable_free(t);
	ldaptable_free(u);
	return 0;
}
