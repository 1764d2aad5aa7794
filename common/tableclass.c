/*
 * tableclass: enumerable or live-only (see tableclass.h).  One walk of
 * the filter tree: each node says whether every entry it matches must
 * hold the whole key in some attribute (it "binds" the key), and the
 * first thing that cannot be decided on an entry stops the walk with
 * its reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/filter.h"
#include "common/ldaptable.h"
#include "common/matchrule.h"
#include "common/tableclass.h"

struct cls {
	tableclass_rule_fn rule;
	void *arg;
	struct tableclass *out;
	int failed;
};

static int
has_pct(const struct filter_val *v)
{
	for (size_t i = 0; v->p && i + 1 < v->len; i++) {
		if (v->p[i] != '%')
			continue;
		if (v->p[i + 1] != '%')
			return 1;
		i++;
	}
	return 0;
}

static int
sub_has_pct(const struct filter *f)
{
	if (has_pct(&f->initial) || has_pct(&f->final))
		return 1;
	for (size_t i = 0; i < f->nany; i++)
		if (has_pct(&f->any[i]))
			return 1;
	return 0;
}

/* Does the subtree hold an expansion of the key anywhere? */
static int
uses_key(const struct filter *f)
{
	switch (f->type) {
	case FILTER_AND:
	case FILTER_OR:
	case FILTER_NOT:
		for (size_t i = 0; i < f->nkids; i++)
			if (uses_key(f->kids[i]))
				return 1;
		return 0;
	case FILTER_SUB:
		return sub_has_pct(f);
	case FILTER_PRESENT:
		return 0;
	default:
		return has_pct(&f->value);
	}
}

static void
reason(struct cls *c, const struct filter *f, const char *what)
{
	struct buf b = BUF_INIT;

	if (c->failed)
		return;
	c->failed = 1;
	if (f != NULL)
		filter_print(f, &b);
	snprintf(c->out->why, sizeof(c->out->why), "%s%s%s", what,
	    f ? ": " : "", f ? buf_str(&b) : "");
	buf_free(&b);
}

static void
add_key_attr(struct cls *c, const char *attr)
{
	struct tableclass *o = c->out;

	for (size_t i = 0; i < o->nkey_attrs; i++)
		if (strcasecmp(o->key_attrs[i], attr) == 0)
			return;
	o->key_attrs = xreallocarray(o->key_attrs, o->nkey_attrs + 1,
	    sizeof(*o->key_attrs));
	o->key_attrs[o->nkey_attrs++] = xstrdup(attr);
}

/* 1 if every entry f matches holds the key (f binds it). */
static int
walk(struct cls *c, const struct filter *f)
{
	int any = 0, all = 1;
	const char *r;

	if (c->failed)
		return 0;
	switch (f->type) {
	case FILTER_AND:
		for (size_t i = 0; i < f->nkids; i++)
			any |= walk(c, f->kids[i]);
		return any;
	case FILTER_OR:
		for (size_t i = 0; i < f->nkids; i++)
			all &= walk(c, f->kids[i]);
		return all;
	case FILTER_NOT:
		/* evaluable once the key is known from a binding sibling */
		(void)walk(c, f->kids[0]);
		return 0;
	case FILTER_PRESENT:
		if (strchr(f->attr, ';') != NULL)
			reason(c, f, "an attribute with options");
		return 0;
	case FILTER_EQ:
		if (strchr(f->attr, ';') != NULL) {
			reason(c, f, "an attribute with options");
			return 0;
		}
		r = c->rule ? c->rule(f->attr, c->arg) : NULL;
		if (!mr_known(r)) {
			reason(c, f, "an attribute whose equality rule lookupd "
			    "does not implement");
			return 0;
		}
		if (!has_pct(&f->value))
			return 0;
		if ((f->value.len == 2 && memcmp(f->value.p, "%s", 2) == 0) ||
		    (f->value.len == 5 && memcmp(f->value.p, "%u@%d", 5) ==
		    0)) {
			add_key_attr(c, f->attr);
			return 1;
		}
		/* part of the key (%u, %d, text around %s): no key comes
		 * from it, but it is evaluable once a binding sibling gave
		 * the key */
		return 0;
	case FILTER_SUB:
	case FILTER_GE:
	case FILTER_LE:
	case FILTER_APPROX:
	case FILTER_EXT:
		reason(c, f, uses_key(f) ? "the key in a substring, ordering,"
		    " approximate or extensible match" : "a substring, "
		    "ordering, approximate or extensible match lookupd "
		    "cannot evaluate on an entry");
		return 0;
	}
	return 0;
}

static int
binds(const struct filter *f)
{
	int any = 0, all = 1;

	switch (f->type) {
	case FILTER_AND:
		for (size_t i = 0; i < f->nkids; i++)
			any |= binds(f->kids[i]);
		return any;
	case FILTER_OR:
		for (size_t i = 0; i < f->nkids; i++)
			all &= binds(f->kids[i]);
		return all;
	case FILTER_EQ:
		return (f->value.len == 2 && memcmp(f->value.p, "%s", 2) == 0)
		    || (f->value.len == 5 && memcmp(f->value.p, "%u@%d", 5) ==
		    0);
	default:
		return 0;
	}
}

/* The branch to name when f does not bind the key: down through ORs to
 * the first branch without it. */
static const struct filter *
unbound(const struct filter *f)
{
	if (f->type == FILTER_OR)
		for (size_t i = 0; i < f->nkids; i++)
			if (!binds(f->kids[i]))
				return unbound(f->kids[i]);
	return f;
}

void
tableclass_classify(const struct ldaptable *t, tableclass_rule_fn rule,
    void *arg, struct tableclass *out)
{
	struct cls c = { rule, arg, out, 0 };

	memset(out, 0, sizeof(*out));
	if (t->dynamic_base) {
		snprintf(out->why, sizeof(out->why), "search_base depends on "
		    "the key: %s", t->search_base);
		return;
	}
	if (!walk(&c, t->filter) && !c.failed)
		reason(&c, unbound(t->filter), "a branch without the key");
	if (c.failed) {
		for (size_t i = 0; i < out->nkey_attrs; i++)
			free(out->key_attrs[i]);
		free(out->key_attrs);
		out->key_attrs = NULL;
		out->nkey_attrs = 0;
		return;
	}
	out->enumerable = 1;
}

void
tableclass_free(struct tableclass *c)
{
	for (size_t i = 0; i < c->nkey_attrs; i++)
		free(c->key_attrs[i]);
	free(c->key_attrs);
	memset(c, 0, sizeof(*c));
}
