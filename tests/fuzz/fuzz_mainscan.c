/*
 * fuzz_mainscan: common/mainscan.c, Postfix's main.cf as `lookupd import`
 * reads it.  For any input:
 *   - the same verdict, message and parameters twice;
 *   - a refusal is one printable line starting "fuzz.cf";
 *   - an accepted file has unique, non-empty parameter names without
 *     white space or '=', values without a newline or white space at
 *     either end, lines within the file, each found by mainscan_get;
 *   - a value without '$' expands to itself; expansion is the same
 *     twice; a refused expansion says why;
 *   - a list's items are non-empty, hold no comma or white space outside
 *     braces, and appear in the value in order;
 *   - mainscan_ldap_ref accepts exactly "ldap:" (or "proxy:ldap:") + a
 *     non-empty name not starting with '{' or "//" (an LDAP URL).
 */
#include <stdlib.h>
#include <string.h>

#include "common/mainscan.h"
#include "tests/fuzz/fuzz.h"

static int
blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' ||
	    c == '\n';
}

static void
check_items(const char *value)
{
	char **v;
	size_t n;
	const char *at = value;

	mainscan_items(value, &v, &n);
	for (size_t i = 0; i < n; i++) {
		int level = 0;
		const char *t, *hit;

		FUZZ_ASSERT(v[i][0] != '\0');
		for (const char *c = v[i]; *c; c++) {
			if (*c == '{')
				level++;
			else if (*c == '}' && level > 0)
				level--;
			else if (level == 0)
				FUZZ_ASSERT(*c != ',' && !blank(*c));
		}
		hit = strstr(at, v[i]);
		FUZZ_ASSERT(hit != NULL);
		at = hit + strlen(v[i]);
		const char *l = strncmp(v[i], "proxy:", 6) == 0 ? v[i] + 6 :
		    v[i];

		if (mainscan_ldap_ref(v[i], &t))
			FUZZ_ASSERT(strncmp(l, "ldap:", 5) == 0 &&
			    t == l + 5 && *t && *t != '{' &&
			    strncmp(t, "//", 2) != 0);
		else
			FUZZ_ASSERT(strncmp(l, "ldap:", 5) != 0 ||
			    l[5] == '\0' || l[5] == '{' ||
			    strncmp(l, "ldap://", 7) == 0);
	}
	mainscan_items_free(v, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mainscan a, b;
	char ea[512] = "", eb[512] = "";
	int ra, rb;
	size_t lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	ra = mainscan_parse("fuzz.cf", (const char *)data, size, &a, ea,
	    sizeof(ea));
	rb = mainscan_parse("fuzz.cf", (const char *)data, size, &b, eb,
	    sizeof(eb));
	FUZZ_ASSERT(ra == rb && strcmp(ea, eb) == 0);
	if (ra != 0) {
		FUZZ_ASSERT(strncmp(ea, "fuzz.cf", 7) == 0);
		for (const char *c = ea; *c; c++)
			FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f);
		return 0;
	}
	FUZZ_ASSERT(a.n == b.n);
	for (size_t i = 0; i < a.n; i++) {
		const struct mainscan_param *p = &a.p[i];
		size_t vl = strlen(p->value);
		char e1[256], e2[256], *x1, *x2;

		FUZZ_ASSERT(strcmp(p->name, b.p[i].name) == 0 &&
		    strcmp(p->value, b.p[i].value) == 0 &&
		    p->line == b.p[i].line);
		FUZZ_ASSERT(p->name[0] != '\0' && p->line >= 1 &&
		    (size_t)p->line <= lines);
		for (const char *c = p->name; *c; c++)
			FUZZ_ASSERT(!blank(*c) && *c != '=');
		FUZZ_ASSERT(strchr(p->value, '\n') == NULL);
		FUZZ_ASSERT(vl == 0 || (!blank(p->value[0]) &&
		    !blank(p->value[vl - 1])));
		for (size_t k = 0; k < i; k++)
			FUZZ_ASSERT(strcmp(a.p[k].name, p->name) != 0);
		FUZZ_ASSERT(mainscan_get(&a, p->name) == p->value);
		x1 = mainscan_expand(&a, p->value, e1, sizeof(e1));
		x2 = mainscan_expand(&a, p->value, e2, sizeof(e2));
		FUZZ_ASSERT((x1 == NULL) == (x2 == NULL));
		if (x1 != NULL) {
			FUZZ_ASSERT(strcmp(x1, x2) == 0);
			FUZZ_ASSERT(strlen(x1) <= MAINSCAN_MAX_VALUE +
			    strlen(p->value));
			if (strchr(p->value, '$') == NULL)
				FUZZ_ASSERT(strcmp(x1, p->value) == 0);
			check_items(x1);
		} else {
			FUZZ_ASSERT(strcmp(e1, e2) == 0 && e1[0] != '\0');
		}
		free(x1);
		free(x2);
		check_items(p->value);
	}
	mainscan_free(&a);
	mainscan_free(&b);
	return 0;
}
