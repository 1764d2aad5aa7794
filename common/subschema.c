/*
 * subschema: attribute types' equality rules (see subschema.h).  Reads
 * the parts of an AttributeTypeDescription that matter here: the OID,
 * NAME (one qdescr or a list in parentheses), SUP and EQUALITY; other
 * fields (DESC with its quoted text included) are stepped over.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/subschema.h"

struct atype {
	char *oid;
	char **names;
	size_t nnames;
	char *sup, *equality;
};

struct subschema {
	struct atype *t;
	size_t n;
};

struct subschema *
subschema_new(void)
{
	return xcalloc(1, sizeof(struct subschema));
}

struct tok {
	const char *p, *end;
};

static void
skip_ws(struct tok *k)
{
	while (k->p < k->end && (*k->p == ' ' || *k->p == '\t' ||
	    *k->p == '\n' || *k->p == '\r'))
		k->p++;
}

/* The next token: "(" ")" a 'quoted string' (without quotes) or a
 * word; NULL at the end or on an unterminated quote. */
static char *
next(struct tok *k)
{
	const char *s;

	skip_ws(k);
	if (k->p >= k->end)
		return NULL;
	if (*k->p == '(' || *k->p == ')')
		return xstrndup(k->p++, 1);
	if (*k->p == '\'') {
		s = ++k->p;
		while (k->p < k->end && *k->p != '\'')
			k->p++;
		if (k->p >= k->end)
			return NULL;
		return xstrndup(s, (size_t)(k->p++ - s));
	}
	s = k->p;
	while (k->p < k->end && *k->p != ' ' && *k->p != '\t' &&
	    *k->p != '\n' && *k->p != '\r' && *k->p != '(' && *k->p != ')' &&
	    *k->p != '\'')
		k->p++;
	return xstrndup(s, (size_t)(k->p - s));
}

static void
atype_free(struct atype *a)
{
	for (size_t i = 0; i < a->nnames; i++)
		free(a->names[i]);
	free(a->names);
	free(a->oid);
	free(a->sup);
	free(a->equality);
}

int
subschema_add(struct subschema *s, const char *desc, size_t len)
{
	struct tok k = { desc, desc + len };
	struct atype a;
	char *w = next(&k);
	int ok = 0;

	memset(&a, 0, sizeof(a));
	if (w == NULL || strcmp(w, "(") != 0) {
		free(w);
		return -1;
	}
	free(w);
	a.oid = next(&k);
	if (a.oid == NULL || strcmp(a.oid, ")") == 0)
		goto out;
	while ((w = next(&k)) != NULL) {
		if (strcmp(w, ")") == 0) {
			ok = 1;
			free(w);
			break;
		}
		if (strcmp(w, "NAME") == 0) {
			char *v = next(&k);

			if (v && strcmp(v, "(") == 0) {
				free(v);
				while ((v = next(&k)) != NULL &&
				    strcmp(v, ")") != 0) {
					a.names = xreallocarray(a.names,
					    a.nnames + 1, sizeof(*a.names));
					a.names[a.nnames++] = v;
				}
				free(v);
			} else if (v) {
				a.names = xreallocarray(a.names, a.nnames + 1,
				    sizeof(*a.names));
				a.names[a.nnames++] = v;
			}
		} else if (strcmp(w, "SUP") == 0) {
			free(a.sup);
			a.sup = next(&k);
		} else if (strcmp(w, "EQUALITY") == 0) {
			free(a.equality);
			a.equality = next(&k);
			if (a.equality && a.equality[0] == '\0') {
				/* '' is no rule (found by fuzz_subschema) */
				free(a.equality);
				a.equality = NULL;
			}
		}
		free(w);
	}
out:
	if (!ok) {
		atype_free(&a);
		return -1;
	}
	s->t = xreallocarray(s->t, s->n + 1, sizeof(*s->t));
	s->t[s->n++] = a;
	return 0;
}

static const struct atype *
find(const struct subschema *s, const char *attr)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcasecmp(s->t[i].oid, attr) == 0)
			return &s->t[i];
		for (size_t j = 0; j < s->t[i].nnames; j++)
			if (strcasecmp(s->t[i].names[j], attr) == 0)
				return &s->t[i];
	}
	return NULL;
}

const char *
subschema_equality(const struct subschema *s, const char *attr)
{
	const struct atype *a = find(s, attr);

	for (int depth = 0; a != NULL && depth < 64; depth++) {
		if (a->equality)
			return a->equality;
		if (a->sup == NULL)
			return NULL;
		a = find(s, a->sup);
	}
	return NULL;
}

void
subschema_free(struct subschema *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		atype_free(&s->t[i]);
	free(s->t);
	free(s);
}
