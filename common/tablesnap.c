/*
 * tablesnap: an ldap_table map's answers from one read (see
 * tablesnap.h).  The walk of the matching entries mirrors
 * lookupd/pfldap.c's walk_entries() line for line (which follows
 * Postfix's dict_ldap): when one changes, the other must.
 *
 * Entries are kept whole (attributes in the server's order, values as
 * C strings for the walk, as pfldap keeps them, and with their length
 * for matching).  Two hash tables: the normalized DN of every entry
 * (special values are looked up there), and the coarse form of every
 * key attribute value of a candidate (lowercase, without spaces, '-'
 * or controls: values equal under any rule tablesnap accepts have the
 * same coarse form), which narrows the entries a key's filter is
 * evaluated on.  Everything an entry or a table holds lives in one
 * arena (common/arena.c), freed at once: a map of 100,000 entries makes
 * a few hundred allocations, not a million.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/exitcode.h"
#include "common/filter.h"
#include "common/ldaptable.h"
#include "common/log.h"
#include "common/matchrule.h"
#include "common/pctexpand.h"
#include "common/tablesnap.h"

#define ABSENT		SIZE_MAX	/* DN index: known not to exist */
#define PENDING		(SIZE_MAX - 1)	/* DN index: handed out, not read */

/* A node and its key in one piece of the arena; most nodes hold one
 * value, in v0. */
struct hnode {
	size_t *v;
	size_t nv, cap;
	size_t v0;
	size_t klen;
	char k[];
};

/* Open addressing, linear probing, at most half full; the hash in the
 * slot spares a look at the node of most other keys. */
struct hslot {
	uint64_t h;
	struct hnode *n;
};

struct hmap {
	struct hslot *s;
	size_t cap, n;
	struct arena *mem;	/* where the nodes live */
};

/* An attribute name as the server spelled it, kept once per snapshot
 * with what every attribute of that name shares.  An entry's
 * attributes are the struct mr_attr matchrule evaluates (name: the
 * name here, so aname_of() finds the rest). */
struct aname {
	const char *equality;	/* rule_of(name) */
	size_t ai;		/* attr_index() of name */
	int key;		/* a key attribute */
	int ascii_only;		/* keys from ASCII values only */
	size_t len;
	char name[];
};

/*
 * An entry as kept, in one piece of the arena: this header, its DN
 * (NUL-terminated), then each attribute: its aname (a pointer) and its
 * number of values (uint32_t), then each value: its length (uint32_t),
 * its bytes and a NUL; unaligned, read with memcpy (attr_take,
 * value_take).  About half the memory of mr_attr and mr_value arrays,
 * and memory is time here: a page faulted in costs more than the
 * unpacking (view_of) of the few entries each key's filter is
 * evaluated on.
 */
struct tentry {
	uint32_t k0;		/* its first key value in read order */
	uint32_t n;		/* attributes */
	uint32_t nv;		/* values, all attributes */
	uint32_t dnlen;
	uint32_t candidate;
	char dn[];
};

/* An entry unpacked as matchrule and the walk read it. */
struct view {
	struct mr_attr *a;
	size_t n, acap;
	struct mr_value *v;
	size_t vcap;
};

/*
 * The key index: one kref for each value of a key attribute of a
 * candidate, appended as read (in blocks of the arena), then sorted
 * into kr by KBITS bits of the hash of its coarse form (lowercase,
 * without spaces, '-' or controls: values equal under any rule
 * tablesnap accepts have the same coarse form).  A group is a run of
 * kr with one coarse form, its entries in read order; once sorted, the
 * block slot of each value holds its group.  One sort of an array of
 * 16-byte krefs costs a fraction of a hash table's inserts (no node,
 * no growing, no cache miss per value; see the README's "Enumerable
 * maps from their snapshot" for the figures).
 */
#define KBLOCK		4096	/* krefs in a block */
#define KBITS		33	/* three passes of 11 bits */
struct kref {
	uint64_t h;		/* hash of the coarse form */
	uint32_t e;		/* its entry */
	uint32_t orig;		/* its place in the read order */
};

struct kgroup {
	uint32_t start, n;	/* in kr; n == 0: no group */
	uint32_t e0;		/* the entry of its first kref */
	uint32_t one;		/* 1 if all its krefs are of entry e0 */
};

/* A block's slot: the kref as read; once sorted, its group. */
union kslot {
	struct kref r;
	struct kgroup g;
};

struct tablesnap {
	const struct ldaptable *t;
	char **key_attrs;
	size_t nkey;
	tablesnap_rule_fn rule;
	void *arg;
	int has_special;
	struct arena mem;	/* entries, values, names, DN nodes */
	struct tentry **e;
	size_t n, cap;
	/* the entry being read (e[n - 1]), until sealed into mem */
	int open;		/* tablesnap_attr adds to it */
	int sealed;		/* e[n - 1] is it as read so far */
	struct buf pdn, pattrs;
	uint32_t pn, pnv, pk0, pcand;
	struct view **views;	/* by depth of the walk; 0: matching */
	size_t nviews;
	struct aname **names;
	size_t nnames;
	struct hmap dns;	/* normalized DN -> entry index or ABSENT */
	/* special values normalized once each (a member is in many
	 * groups, and each walk follows it again): raw text -> index in
	 * norms */
	struct hmap raw;
	struct {
		char *p;	/* NULL: not a DN lookupd compares */
		size_t len;
	} *norms;
	size_t nnorms, cnorms;
	union kslot **kb;	/* the key index in read order, in blocks */
	size_t nk;
	struct kref *kr;	/* sorted */
	int kbits;		/* KBITS, or fewer for tests */
	uint64_t kmask;
	char **cover;		/* normalized subtrees read whole */
	size_t ncover;
	size_t scanned;		/* entries looked at for unresolved DNs */
	size_t unsure_dns;	/* entries whose DN is not in dns */
	struct {
		char *name;
		const char *rule;
	} *rules;		/* rule_of()'s answers */
	size_t nrules;
	/* the query_filter template parsed once; for each key its
	 * expansions are put in the values of tnode (tmpl NULL: the
	 * expanded text is parsed for each key) */
	struct filter *tmpl;
	struct filter *tkey;	/* decided_and(): tmpl's conjuncts with
				 * the key, evaluated instead of tmpl */
	struct filter **tnode;
	struct filter_val *torig;
	struct buf *tval;
	size_t ntnode;
	/* scratch buffers of answer(), kept from key to key */
	struct buf sfilter, sout, sone, scoarse, scoarse2, skeys;
	struct buf skey, sprep;	/* tablesnap_answers()'s */
	size_t *sidx;
	size_t sidx_cap;
	int cannot;
	char why[400];
};

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* ---- a small hash table ---- */

/* FNV-1a, then a 64-bit finalizer: the low bits pick the slot. */
static uint64_t
hash(const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* Slots for cap entries, zeroed. */
static struct hslot *
slots(size_t cap)
{
	struct hslot *p = huge_alloc(cap, sizeof(*p));

	memset(p, 0, cap * sizeof(*p));
	return p;
}

static void
hgrow(struct hmap *m)
{
	size_t cap = m->cap ? 2 * m->cap : 1024;
	struct hslot *ns = slots(cap);

	for (size_t j = 0; j < m->cap; j++) {
		size_t i;

		if (m->s[j].n == NULL)
			continue;
		for (i = m->s[j].h & (cap - 1); ns[i].n; i = (i + 1) &
		    (cap - 1))
			;
		ns[i] = m->s[j];
	}
	free(m->s);
	m->s = ns;
	m->cap = cap;
}

static struct hnode *
hget(struct hmap *m, const char *k, size_t klen, int create)
{
	uint64_t h = hash(k, klen);
	struct hnode *n;
	size_t i;

	if (m->cap == 0) {
		if (!create)
			return NULL;
		hgrow(m);
	}
	for (i = h & (m->cap - 1); m->s[i].n; i = (i + 1) & (m->cap - 1))
		if (m->s[i].h == h && m->s[i].n->klen == klen &&
		    memcmp(m->s[i].n->k, k, klen) == 0)
			return m->s[i].n;
	if (!create)
		return NULL;
	if (m->n + 1 > m->cap / 2) {
		hgrow(m);
		for (i = h & (m->cap - 1); m->s[i].n; i = (i + 1) &
		    (m->cap - 1))
			;
	}
	if (klen > SIZE_MAX - sizeof(*n) - 1)
		log_fatal(EXIT_TEMPFAIL, "out of memory (a key of %zu bytes)", klen);
	n = arena_alloc(m->mem, sizeof(*n) + klen + 1);
	n->v = NULL;
	n->nv = n->cap = 0;
	n->klen = klen;
	memcpy(n->k, k, klen);
	n->k[klen] = '\0';
	m->s[i].h = h;
	m->s[i].n = n;
	m->n++;
	return n;
}

static void
hpush(struct hmap *m, struct hnode *n, size_t v)
{
	if (n->nv > 0 && n->v[n->nv - 1] == v)
		return;
	if (n->nv == n->cap) {
		size_t cap = n->cap ? 2 * n->cap : 1;
		size_t *nv = cap == 1 ? &n->v0 : arena_array(m->mem, cap,
		    sizeof(*nv));

		if (n->nv > 0)
			memcpy(nv, n->v, n->nv * sizeof(*nv));
		n->v = nv;
		n->cap = cap;
	}
	n->v[n->nv++] = v;
}

static void
hfree(struct hmap *m)
{
	free(m->s);
	m->s = NULL;
	m->cap = m->n = 0;
}

/* ---- the read ---- */

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
	case FILTER_PRESENT:
		return 0;
	case FILTER_SUB:
		if (has_pct(&f->initial) || has_pct(&f->final))
			return 1;
		for (size_t i = 0; i < f->nany; i++)
			if (has_pct(&f->any[i]))
				return 1;
		return 0;
	default:
		return has_pct(&f->value);
	}
}

/* Print f with every test of the key widened: a superset of what any
 * key's filter matches. */
static void
print_widened(const struct filter *f, struct buf *out)
{
	switch (f->type) {
	case FILTER_AND:
	case FILTER_OR:
		buf_puts(out, f->type == FILTER_AND ? "(&" : "(|");
		for (size_t i = 0; i < f->nkids; i++)
			print_widened(f->kids[i], out);
		buf_putc(out, ')');
		return;
	case FILTER_NOT:
		if (uses_key(f)) {
			buf_puts(out, "(objectClass=*)");
			return;
		}
		break;
	case FILTER_PRESENT:
		break;
	default:
		if (uses_key(f)) {
			buf_printf(out, "(%s=*)", f->attr ? f->attr :
			    "objectClass");
			return;
		}
		break;
	}
	filter_print(f, out);
}

void
tablesnap_read_filter(const struct ldaptable *t, struct buf *out)
{
	print_widened(t->filter, out);
}

static void
add_attr(const char ***v, size_t *n, const char *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcasecmp((*v)[i], a) == 0)
			return;
	*v = xreallocarray(*v, *n + 2, sizeof(**v));
	(*v)[(*n)++] = a;
	(*v)[*n] = NULL;
}

static void
filter_attrs(const struct filter *f, const char ***v, size_t *n)
{
	add_attr(v, n, f->attr);
	for (size_t i = 0; i < f->nkids; i++)
		filter_attrs(f->kids[i], v, n);
}

/* 1 if q holds an escaped '%' (\25), which would read as an expansion
 * once decoded: its template is not parsed once. */
static int
escaped_pct(const char *q)
{
	for (const char *p = q; (p = strchr(p, '\\')) != NULL; p++)
		if (p[1] == '2' && p[2] == '5')
			return 1;
	return 0;
}

/*
 * 1 if f, the filter of the text q, is an AND some of whose conjuncts
 * hold no expansion:
 * the read filter keeps those as they are (print_widened), so the
 * server found each of them TRUE on every candidate it sent, as it
 * would in Postfix's own search.  On a candidate, a key's filter is
 * then the AND of the conjuncts with the key: only those are evaluated
 * (and only their attributes read); the others, the server's matching
 * decided (objectClass subclasses included).
 */
static int
decided_and(const struct filter *f, const char *q)
{
	size_t with = 0;

	if (f == NULL || f->type != FILTER_AND || escaped_pct(q))
		return 0;
	for (size_t i = 0; i < f->nkids; i++)
		with += uses_key(f->kids[i]) != 0;
	return with > 0 && with < f->nkids;
}

const char **
tablesnap_read_attrs(const struct ldaptable *t)
{
	const char **v = xcalloc(1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < t->nattrs; i++)
		add_attr(&v, &n, t->attrs[i]);
	if (!decided_and(t->filter, t->query_filter))
		filter_attrs(t->filter, &v, &n);
	else
		for (size_t i = 0; i < t->filter->nkids; i++)
			if (uses_key(t->filter->kids[i]))
				filter_attrs(t->filter->kids[i], &v, &n);
	return v;
}

/* ---- entries ---- */

/* The reason, "why: what" (what made printable), the first one only. */
static void
cannot(struct tablesnap *s, const char *why, const char *what)
{
	char shown[LOG_PRINTABLE_SIZE];

	if (s->cannot)
		return;
	s->cannot = 1;
	snprintf(s->why, sizeof(s->why), "%s%s%s", why, what ? ": " : "",
	    what ? log_printable(shown, sizeof(shown), what, strlen(what)) :
	    "");
}

void
tablesnap_cannot(struct tablesnap *s, const char *why)
{
	cannot(s, why, NULL);
}

static void
collect_tnodes(struct tablesnap *s, struct filter *f)
{
	for (size_t i = 0; i < f->nkids; i++)
		collect_tnodes(s, f->kids[i]);
	if (f->type != FILTER_EQ || !has_pct(&f->value))
		return;
	s->tnode = xreallocarray(s->tnode, s->ntnode + 1, sizeof(*s->tnode));
	s->tnode[s->ntnode++] = f;
}

/* Parse the template once, unless an escaped '%' (\25) in its text
 * would read as an expansion once decoded. */
static void
template_init(struct tablesnap *s)
{
	const char *q = s->t->query_filter;
	char err[200];

	if (escaped_pct(q))
		return;
	if (filter_parse(q, strlen(q), &s->tmpl, err, sizeof(err)) < 0) {
		s->tmpl = NULL;
		return;
	}
	collect_tnodes(s, s->tmpl);
	if (decided_and(s->tmpl, q)) {
		/* the conjuncts with the key, the template's own nodes */
		s->tkey = xcalloc(1, sizeof(*s->tkey));
		s->tkey->type = FILTER_AND;
		s->tkey->kids = xcalloc(s->tmpl->nkids, sizeof(*s->tkey->kids));
		for (size_t i = 0; i < s->tmpl->nkids; i++)
			if (uses_key(s->tmpl->kids[i]))
				s->tkey->kids[s->tkey->nkids++] =
				    s->tmpl->kids[i];
	}
	s->torig = xcalloc(s->ntnode ? s->ntnode : 1, sizeof(*s->torig));
	s->tval = xcalloc(s->ntnode ? s->ntnode : 1, sizeof(*s->tval));
	for (size_t i = 0; i < s->ntnode; i++)
		s->torig[i] = s->tnode[i]->value;
}

static void
template_free(struct tablesnap *s)
{
	if (s->tkey != NULL) {
		free(s->tkey->kids);	/* the nodes are tmpl's */
		free(s->tkey);
	}
	for (size_t i = 0; i < s->ntnode; i++) {
		s->tnode[i]->value = s->torig[i];
		buf_free(&s->tval[i]);
	}
	filter_free(s->tmpl);
	free(s->tnode);
	free(s->torig);
	free(s->tval);
}

/* The template with key's expansions in it (the same tree the expanded
 * text parses to: a value's quoting is undone by the parser), or NULL
 * when an expansion is suppressed. */
static struct filter *
template_for(struct tablesnap *s, const char *key)
{
	const struct ldaptable *t = s->t;

	for (size_t i = 0; i < s->ntnode; i++) {
		buf_reset(&s->tval[i]);
		if (!pct_expand(&t->ctx, s->torig[i].p, key, NULL,
		    &s->tval[i], PCT_QUOTE_NONE))
			return NULL;
		buf_reserve(&s->tval[i], 0);
		s->tnode[i]->value.p = s->tval[i].p;
		s->tnode[i]->value.len = s->tval[i].len;
	}
	return s->tmpl;
}

struct tablesnap *
tablesnap_new(const struct ldaptable *t, const char *const *key_attrs,
    size_t nkey_attrs, tablesnap_rule_fn rule, void *arg)
{
	struct tablesnap *s = xcalloc(1, sizeof(*s));

	s->t = t;
	s->rule = rule;
	s->arg = arg;
	s->has_special = t->nattrs > t->num_attributes;
	s->dns.mem = &s->mem;
	s->raw.mem = &s->mem;
	tablesnap_index_bits(s, KBITS);
	s->key_attrs = xcalloc(nkey_attrs ? nkey_attrs : 1,
	    sizeof(*s->key_attrs));
	for (size_t i = 0; i < nkey_attrs; i++) {
		const char *r = rule ? rule(key_attrs[i], arg) : NULL;

		s->key_attrs[s->nkey++] = xstrdup(key_attrs[i]);
		if (mr_key_class(r) == MR_KEY_NO)
			cannot(s, "keys come from an attribute whose "
			    "equality rule lets unlike text be equal (or is "
			    "unknown)", key_attrs[i]);
	}
	if (nkey_attrs == 0)
		cannot(s, "no attribute holds the key", NULL);
	template_init(s);
	return s;
}

/* The rule of attr, asked once per name (the subschema's lookup is
 * not made for a call per value). */
static const char *
rule_of(struct tablesnap *s, const char *attr)
{
	const char *r;

	for (size_t i = 0; i < s->nrules; i++)
		if (strcasecmp(s->rules[i].name, attr) == 0)
			return s->rules[i].rule;
	r = s->rule ? s->rule(attr, s->arg) : NULL;
	s->rules = xreallocarray(s->rules, s->nrules + 1, sizeof(*s->rules));
	s->rules[s->nrules].name = xstrdup(attr);
	s->rules[s->nrules++].rule = r;
	return r;
}

/* The entry being read, into the arena. */
static void
seal(struct tablesnap *s)
{
	struct tentry *e;

	if (!s->open || s->sealed)
		return;
	e = arena_alloc(&s->mem, sizeof(*e) + s->pdn.len + 1 +
	    s->pattrs.len);
	e->k0 = s->pk0;
	e->n = s->pn;
	e->nv = s->pnv;
	e->dnlen = (uint32_t)s->pdn.len;
	e->candidate = s->pcand;
	memcpy(e->dn, s->pdn.p, s->pdn.len);
	e->dn[s->pdn.len] = '\0';
	if (s->pattrs.len > 0)
		memcpy(e->dn + s->pdn.len + 1, s->pattrs.p, s->pattrs.len);
	s->e[s->n - 1] = e;
	s->sealed = 1;
}

static const char *
tentry_attrs(const struct tentry *e)
{
	return e->dn + e->dnlen + 1;
}

/* The attribute at *p: its aname; its number of values in *nvals, *p
 * moved to its first value. */
static const struct aname *
attr_take(const char **p, uint32_t *nvals)
{
	const struct aname *an;

	memcpy(&an, *p, sizeof(an));
	memcpy(nvals, *p + sizeof(an), sizeof(*nvals));
	*p += sizeof(an) + sizeof(*nvals);
	return an;
}

/* The value at *p (NUL-terminated), its length in *len; *p moved past
 * it. */
static const char *
value_take(const char **p, uint32_t *len)
{
	const char *v;

	memcpy(len, *p, sizeof(*len));
	v = *p + sizeof(*len);
	*p = v + *len + 1;
	return v;
}

/* The values of an entry kept, in order (next_value). */
struct vcur {
	const char *p;
	uint32_t attrs;			/* attributes not begun */
	uint32_t left;			/* values left of the current one */
	const struct aname *an;		/* the current attribute */
};

static void
vcur_init(struct vcur *c, const struct tentry *e)
{
	c->p = tentry_attrs(e);
	c->attrs = e->n;
	c->left = 0;
	c->an = NULL;
}

/* The next value (NUL-terminated; its attribute in c->an, its length
 * in *len), or NULL after the last. */
static const char *
next_value(struct vcur *c, uint32_t *len)
{
	while (c->left == 0) {
		if (c->attrs == 0)
			return NULL;
		c->attrs--;
		c->an = attr_take(&c->p, &c->left);
	}
	c->left--;
	return value_take(&c->p, len);
}

/* e unpacked into the view of slot (0: matching and the scan of
 * special values; d: the walk at depth d, so that a walk deeper in
 * keeps the view of the entry it was called from). */
static const struct view *
view_of(struct tablesnap *s, const struct tentry *e, size_t slot)
{
	struct view *w;
	const char *p = tentry_attrs(e);
	size_t nv = 0;

	if (slot >= s->nviews) {
		s->views = xreallocarray(s->views, slot + 1,
		    sizeof(*s->views));
		while (s->nviews <= slot)
			s->views[s->nviews++] = xcalloc(1, sizeof(**s->views));
	}
	w = s->views[slot];
	if (e->n > w->acap) {
		w->acap = e->n;
		w->a = xreallocarray(w->a, w->acap, sizeof(*w->a));
	}
	if (e->nv > w->vcap) {
		w->vcap = e->nv;
		w->v = xreallocarray(w->v, w->vcap, sizeof(*w->v));
	}
	for (uint32_t j = 0; j < e->n; j++) {
		uint32_t n;
		const struct aname *an = attr_take(&p, &n);
		struct mr_attr *a = &w->a[j];

		a->name = an->name;
		a->equality = an->equality;
		a->vals = w->v + nv;
		a->nvals = n;
		for (uint32_t v = 0; v < n; v++) {
			uint32_t len;

			w->v[nv].p = value_take(&p, &len);
			w->v[nv++].len = len;
		}
	}
	w->n = e->n;
	return w;
}

void
tablesnap_entry(struct tablesnap *s, const char *dn, int candidate)
{
	struct buf norm = BUF_INIT;
	struct hnode *h = NULL;

	seal(s);
	s->open = 0;
	if (!s->has_special) {
		/* no DN is ever looked up */
	} else if (mr_dn_norm(dn, strlen(dn), &norm) == 0) {
		h = hget(&s->dns, norm.p, norm.len, 1);
		if (h->nv > 0 && h->v[0] != ABSENT && h->v[0] != PENDING) {
			buf_free(&norm);
			return;		/* known: ignored */
		}
	} else {
		/* only a problem if a special value may name it */
		s->unsure_dns++;
	}
	buf_free(&norm);
	if (s->n >= UINT32_MAX || s->nk >= UINT32_MAX) {
		cannot(s, "more entries or key values than a snapshot "
		    "counts", NULL);
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->e = xreallocarray(s->e, s->cap, sizeof(*s->e));
	}
	s->e[s->n] = NULL;	/* sealed later */
	if (h) {
		h->nv = 0;
		hpush(&s->dns, h, s->n);
	}
	s->n++;
	buf_reset(&s->pdn);
	buf_puts(&s->pdn, dn);
	buf_reset(&s->pattrs);
	s->pn = s->pnv = 0;
	s->pk0 = (uint32_t)s->nk;
	s->pcand = candidate != 0;
	s->open = 1;
	s->sealed = 0;
}

/* Lowercase, without spaces, '-' and controls. */
static void
coarse(const char *p, size_t n, struct buf *out)
{
	size_t k = 0;

	buf_reset(out);
	buf_reserve(out, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x20 || c == 0x7f || c == '-')
			continue;
		out->p[k++] = (char)lower(c);
	}
	out->len = k;
	out->p[k] = '\0';
}

/* pfldap's subtype(a1, a2): a2 is a1 or a1 with options. */
static int
subtype(const char *a1, const char *a2)
{
	while (*a1 && lower((unsigned char)*a1) == lower((unsigned char)*a2))
		a1++, a2++;
	return *a1 == '\0' && (*a2 == '\0' || *a2 == ';');
}

/* The index in t->attrs of the first attribute a is a subtype of, or
 * t->nattrs. */
static size_t
attr_index(const struct ldaptable *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nattrs; i++)
		if (subtype(t->attrs[i], name))
			break;
	return i;
}

static int
is_key_attr(const struct tablesnap *s, const char *name)
{
	for (size_t i = 0; i < s->nkey; i++)
		if (strcasecmp(s->key_attrs[i], name) == 0)
			return 1;
	return 0;
}

/* The name's aname, made the first time the name is seen. */
static const struct aname *
intern(struct tablesnap *s, const char *name, size_t len)
{
	struct aname *an;

	for (size_t i = 0; i < s->nnames; i++)
		if (s->names[i]->len == len && memcmp(s->names[i]->name,
		    name, len) == 0)
			return s->names[i];
	an = arena_alloc(&s->mem, sizeof(*an) + len + 1);
	memcpy(an->name, name, len);
	an->name[len] = '\0';
	an->len = len;
	an->equality = rule_of(s, an->name);
	an->ai = attr_index(s->t, an->name);
	an->key = is_key_attr(s, an->name);
	an->ascii_only = mr_key_class(rule_of(s, an->name)) ==
	    MR_KEY_ASCII_ONLY;
	s->names = xreallocarray(s->names, s->nnames + 1, sizeof(*s->names));
	s->names[s->nnames++] = an;
	return an;
}

static const struct aname *
aname_of(const struct mr_attr *a)
{
	return (const struct aname *)(const void *)(a->name -
	    offsetof(struct aname, name));
}

void
tablesnap_attr(struct tablesnap *s, const char *name, size_t len,
    const struct mr_value *vals, size_t nvals)
{
	const struct aname *an;
	uint32_t n32 = (uint32_t)nvals;

	if (!s->open)
		return;
	s->sealed = 0;	/* more after a pause: sealed again, whole */
	if (nvals > UINT32_MAX - s->pnv || s->pn == UINT32_MAX) {
		cannot(s, "more values than a snapshot counts", name);
		return;
	}
	for (size_t i = 0; i < nvals; i++)
		if (vals[i].len >= UINT32_MAX) {
			cannot(s, "a value longer than a snapshot counts",
			    name);
			return;
		}
	an = intern(s, name, len);
	{
		size_t total = sizeof(an) + sizeof(n32);
		char *p;

		for (size_t i = 0; i < nvals; i++)
			total += sizeof(uint32_t) + vals[i].len + 1;
		buf_reserve(&s->pattrs, total);
		p = s->pattrs.p + s->pattrs.len;
		memcpy(p, &an, sizeof(an));
		memcpy(p + sizeof(an), &n32, sizeof(n32));
		p += sizeof(an) + sizeof(n32);
		for (size_t i = 0; i < nvals; i++) {
			uint32_t l = (uint32_t)vals[i].len;

			memcpy(p, &l, sizeof(l));
			if (l > 0)
				memcpy(p + sizeof(l), vals[i].p, l);
			p[sizeof(l) + l] = '\0';
			p += sizeof(l) + l + 1;
		}
		s->pattrs.len += total;
	}
	s->pn++;
	s->pnv += n32;
	if (!s->pcand || !an->key)
		return;
	if (nvals > UINT32_MAX - s->nk) {
		cannot(s, "more key values than a snapshot counts", NULL);
		return;
	}
	for (size_t i = 0; i < nvals; i++) {
		struct kref *k;
		struct buf *c = &s->scoarse;

		if (s->nk % KBLOCK == 0) {
			s->kb = xreallocarray(s->kb, s->nk / KBLOCK + 1,
			    sizeof(*s->kb));
			s->kb[s->nk / KBLOCK] = arena_array(&s->mem, KBLOCK,
			    sizeof(**s->kb));
		}
		k = &s->kb[s->nk / KBLOCK][s->nk % KBLOCK].r;

		for (size_t j = 0; an->ascii_only && j < vals[i].len; j++)
			if ((unsigned char)vals[i].p[j] >= 0x80)
				cannot(s, "a non-ASCII value under a Unicode "
				    "rule", an->name);
		coarse(vals[i].p, vals[i].len, c);
		k->h = hash(c->p, c->len);
		k->e = (uint32_t)(s->n - 1);
		k->orig = (uint32_t)s->nk++;
	}
}

void
tablesnap_cover(struct tablesnap *s, const char *base)
{
	struct buf norm = BUF_INIT;

	if (mr_dn_norm(base, strlen(base), &norm) < 0) {
		buf_free(&norm);
		return;		/* DNs under it stay unresolved: read */
	}
	s->cover = xreallocarray(s->cover, s->ncover + 1, sizeof(*s->cover));
	s->cover[s->ncover++] = xstrdup(buf_str(&norm));
	buf_free(&norm);
}

static int
covered(const struct tablesnap *s, const struct buf *norm)
{
	for (size_t i = 0; i < s->ncover; i++) {
		size_t l = strlen(s->cover[i]);

		if (l <= norm->len && memcmp(norm->p + norm->len - l,
		    s->cover[i], l) == 0 && (l == norm->len ||
		    norm->p[norm->len - l - 1] == ','))
			return 1;
	}
	return 0;
}

/* The normalized form of the special value v (mr_dn_norm), into *out
 * (valid while s lives), remembered; -1 when v is not a DN lookupd
 * compares. */
static int
norm_of(struct tablesnap *s, const char *v, struct buf *out)
{
	size_t vlen = strlen(v);
	struct hnode *h = hget(&s->raw, v, vlen, 1);

	if (h->nv == 0) {
		struct buf norm = BUF_INIT;

		if (s->nnorms == s->cnorms) {
			s->cnorms = s->cnorms ? 2 * s->cnorms : 256;
			s->norms = xreallocarray(s->norms, s->cnorms,
			    sizeof(*s->norms));
		}
		if (mr_dn_norm(v, vlen, &norm) == 0) {
			s->norms[s->nnorms].p = arena_strndup(&s->mem,
			    norm.p ? norm.p : "", norm.len);
			s->norms[s->nnorms].len = norm.len;
		} else {
			s->norms[s->nnorms].p = NULL;
			s->norms[s->nnorms].len = 0;
		}
		buf_free(&norm);
		hpush(&s->raw, h, s->nnorms++);
	}
	if (s->norms[h->v[0]].p == NULL)
		return -1;
	out->p = s->norms[h->v[0]].p;
	out->len = s->norms[h->v[0]].len;
	out->cap = out->len + 1;
	return 0;
}

static int
is_url(const char *v)
{
	return strncasecmp(v, "ldap://", 7) == 0 ||
	    strncasecmp(v, "ldaps://", 8) == 0 ||
	    strncasecmp(v, "ldapi://", 8) == 0;
}

size_t
tablesnap_unresolved(struct tablesnap *s,
    void (*fn)(const char *dn, void *arg), void *arg)
{
	const struct ldaptable *t = s->t;
	struct buf norm;	/* s's: never freed here */
	size_t count = 0;

	if (!s->has_special)
		return 0;
	seal(s);
	for (; s->scanned < s->n; s->scanned++) {
		struct vcur c;
		const char *dn;
		uint32_t len;

		vcur_init(&c, s->e[s->scanned]);
		while ((dn = next_value(&c, &len)) != NULL) {
			struct hnode *h;

			if (c.an->ai < t->num_attributes ||
			    c.an->ai >= t->nattrs)
				continue;	/* not a special value */
			if (is_url(dn) || norm_of(s, dn, &norm) < 0 ||
			    covered(s, &norm))
				continue;	/* decided in the walk */
			h = hget(&s->dns, norm.p, norm.len, 1);
			if (h->nv > 0)
				continue;	/* known or asked */
			hpush(&s->dns, h, PENDING);
			fn(dn, arg);
			count++;
		}
	}
	return count;
}

void
tablesnap_absent(struct tablesnap *s, const char *dn)
{
	struct buf norm = BUF_INIT;

	if (mr_dn_norm(dn, strlen(dn), &norm) == 0) {
		struct hnode *h = hget(&s->dns, norm.p, norm.len, 1);

		if (h->nv == 0)
			hpush(&s->dns, h, ABSENT);
		else if (h->v[0] == PENDING)
			h->v[0] = ABSENT;
	}
	buf_free(&norm);
}

size_t
tablesnap_entries(const struct tablesnap *s)
{
	return s->n;
}

/* ---- the answers: pfldap's walk on entries in memory ---- */

struct sim {
	struct tablesnap *s;
	const char *key;
	struct buf *out;
	long expansion;
	int error;
	char err[300];
};

static const struct mr_attr *
entry_attr(const struct view *e, const char *name)
{
	size_t l = strcspn(name, ";");

	for (size_t i = 0; i < e->n; i++)
		if (aname_of(&e->a[i])->len == l &&
		    strncasecmp(e->a[i].name, name, l) == 0)
			return &e->a[i];
	return NULL;
}

static void walk_entries(struct sim *w, const size_t *idx, size_t n,
    int depth);

/* pfldap's search(): more entries than size_limit is an error. */
static int
search_ok(struct sim *w, size_t n)
{
	const struct ldaptable *t = w->s->t;

	if (t->size_limit > 0 && (long)n > t->size_limit) {
		snprintf(w->err, sizeof(w->err), "%s: size limit (%ld) "
		    "exceeded", t->file, t->size_limit);
		w->error = 1;
		return 0;
	}
	return 1;
}

static void
follow(struct sim *w, const char *v, int depth)
{
	struct tablesnap *s = w->s;
	struct buf norm;	/* s's: never freed here */
	struct hnode *h;

	if (is_url(v)) {
		cannot(s, "an LDAP URL among the special values", v);
		w->error = 1;
		return;
	}
	if (norm_of(s, v, &norm) < 0) {
		cannot(s, "a special value lookupd cannot compare as a "
		    "DN", v);
		w->error = 1;
		return;
	}
	h = hget(&s->dns, norm.p, norm.len, 0);
	if (h != NULL && h->v[0] != ABSENT && h->v[0] != PENDING) {
		if (search_ok(w, 1))
			walk_entries(w, h->v, 1, depth + 1);
	} else if ((h == NULL && !covered(s, &norm)) ||
	    (h != NULL && h->v[0] == PENDING)) {
		cannot(s, "a special value names an entry not read", v);
		w->error = 1;
	} else if (h == NULL && s->unsure_dns > 0) {
		cannot(s, "a special value names no entry, and lookupd "
		    "cannot compare the DN of every entry read", v);
		w->error = 1;
	}
	/* absent: skipped, as Postfix skips a DN that is not found */
}

static void
add_value(struct sim *w, const char *v)
{
	const struct ldaptable *t = w->s->t;
	struct buf *one = &w->s->sone;

	buf_reset(one);
	if (pct_expand(&t->ctx, t->result_format, v, w->key, one,
	    PCT_QUOTE_NONE)) {
		if (w->out->len > 0)
			buf_putc(w->out, ',');
		buf_append(w->out, one->p ? one->p : "", one->len);
		if (t->expansion_limit > 0 &&
		    ++w->expansion > t->expansion_limit) {
			snprintf(w->err, sizeof(w->err), "%s: expansion "
			    "limit (%ld) exceeded", t->file,
			    t->expansion_limit);
			w->error = 1;
		}
	}
}

static void
walk_entries(struct sim *w, const size_t *idx, size_t n, int depth)
{
	const struct ldaptable *t = w->s->t;
	int is_leaf = 1, is_terminal = 0;
	long entries = 0;

	for (size_t k = 0; k < n && !w->s->cannot; k++) {
		const struct view *e = view_of(w->s, w->s->e[idx[k]],
		    (size_t)depth);

		if (!w->error && t->size_limit && ++entries > t->size_limit) {
			snprintf(w->err, sizeof(w->err), "%s: size limit "
			    "(%ld) exceeded", t->file, t->size_limit);
			w->error = 1;
		}
		for (size_t i = 0; i < t->num_terminal; i++) {
			const struct mr_attr *a = entry_attr(e, t->attrs[i]);

			if (a == NULL)
				continue;
			is_terminal = a->nvals > 0;
			if (is_terminal)
				break;
		}
		if (!is_terminal && t->num_leaf > 0)
			for (size_t i = t->num_attributes; i < t->nattrs;
			    i++) {
				const struct mr_attr *a =
				    entry_attr(e, t->attrs[i]);

				if (a == NULL)
					continue;
				is_leaf = a->nvals == 0;
				if (!is_leaf)
					break;
			}
		for (size_t j = 0; j < e->n; j++) {
			const struct mr_attr *a = &e->a[j];
			size_t i;

			if (w->error || a->nvals == 0)
				continue;
			i = aname_of(a)->ai;
			if (i < t->num_attributes || is_terminal) {
				if ((is_terminal && i >= t->num_terminal) ||
				    (!is_leaf &&
				    i < t->num_terminal + t->num_leaf))
					continue;
				for (size_t v = 0; v < a->nvals && !w->error;
				    v++)
					add_value(w, a->vals[v].p);
			} else if (depth < t->recursion_limit &&
			    i < t->nattrs) {
				for (size_t v = 0; v < a->nvals && !w->error;
				    v++)
					follow(w, a->vals[v].p, depth);
			} else if (depth >= t->recursion_limit &&
			    i < t->nattrs) {
				snprintf(w->err, sizeof(w->err), "%s: "
				    "recursion limit (%ld) exceeded at %s",
				    t->file, t->recursion_limit, a->name);
				w->error = 1;
			}
		}
	}
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* ---- the key index ---- */

/* The kref at i of arr, or of the blocks when arr is NULL. */
static struct kref *
kref_at(struct tablesnap *s, struct kref *arr, size_t i)
{
	return arr ? &arr[i] : &s->kb[i / KBLOCK][i % KBLOCK].r;
}

/* The krefs read sorted into kr by kbits bits of their hash, 11 at a
 * time from the lowest: stable, so that the krefs of one hash keep the
 * read order.  The passes go from the blocks to kr and back (one array
 * more, not two); an even number of them ends with a copy. */
static void
index_sort(struct tablesnap *s)
{
	enum { BITS = 11, RADIX = 1 << BITS };
	struct kref *arr = huge_alloc(s->nk ? s->nk : 1, sizeof(*arr));
	struct kref *from = NULL, *to = arr;	/* NULL: the blocks */
	size_t *count = xcalloc(RADIX, sizeof(*count));

	for (int shift = 0; shift < s->kbits; shift += BITS) {
		size_t sum = 0, digits = (size_t)1 << (s->kbits - shift <
		    BITS ? s->kbits - shift : BITS);

		memset(count, 0, RADIX * sizeof(*count));
		for (size_t i = 0; i < s->nk; i++)
			count[(kref_at(s, from, i)->h >> shift) &
			    (digits - 1)]++;
		for (size_t d = 0; d < digits; d++) {
			size_t c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < s->nk; i++) {
			const struct kref *k = kref_at(s, from, i);

			*kref_at(s, to, count[(k->h >> shift) &
			    (digits - 1)]++) = *k;
		}
		from = to;
		to = to == arr ? NULL : arr;
	}
	if (from == NULL)
		for (size_t i = 0; i < s->nk; i++)
			arr[i] = *kref_at(s, NULL, i);
	s->kr = arr;
	free(count);
}

struct kcoarse {
	struct kref k;
	char *c;		/* its coarse form */
	size_t len;
};

static int
cmp_kcoarse(const void *a, const void *b)
{
	const struct kcoarse *x = a, *y = b;
	int r = bytes_cmp(x->c, x->len, y->c, y->len);

	if (r != 0)
		return r;
	if (x->k.e != y->k.e)
		return x->k.e < y->k.e ? -1 : 1;
	return (x->k.orig > y->k.orig) - (x->k.orig < y->k.orig);
}

void
tablesnap_index_bits(struct tablesnap *s, int bits)
{
	if (bits < 1)
		bits = 1;
	if (bits > 64)
		bits = 64;
	s->kbits = bits;
	s->kmask = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
}

static struct kgroup *
kgroup_at(struct tablesnap *s, size_t orig)
{
	return &s->kb[orig / KBLOCK][orig % KBLOCK].g;
}

/* The value k stands for (its length in *len): the (orig - k0)th value
 * of a key attribute of its entry. */
static const char *
kref_value(const struct tablesnap *s, const struct kref *k, uint32_t *len)
{
	const struct tentry *e = s->e[k->e];
	size_t left = k->orig - e->k0;
	struct vcur c;
	const char *val;

	vcur_init(&c, e);
	while ((val = next_value(&c, len)) != NULL)
		if (c.an->key && left-- == 0)
			return val;
	log_fatal(EXIT_TEMPFAIL, "internal error: tablesnap: key value %u "
	    "of %s not found", (unsigned)k->orig, e->dn);
}

/* kr[i, j) is one group. */
static void
group(struct tablesnap *s, size_t i, size_t j)
{
	struct kgroup g;

	g.start = (uint32_t)i;
	g.n = (uint32_t)(j - i);
	g.e0 = s->kr[i].e;
	g.one = s->kr[i].e == s->kr[j - 1].e;
	for (size_t x = i; x < j; x++)
		*kgroup_at(s, s->kr[x].orig) = g;
}

/* kr[i, j): one hash (its KBITS bits); its groups, one per coarse form
 * (more than one: sorted by coarse form, then read order). */
static void
index_run(struct tablesnap *s, size_t i, size_t j)
{
	struct kcoarse *r = xcalloc(j - i, sizeof(*r));
	struct buf c = BUF_INIT;
	int one = 1;

	for (size_t k = i; k < j; k++) {
		uint32_t len;
		const char *v = kref_value(s, &s->kr[k], &len);

		coarse(v, len, &c);
		r[k - i].k = s->kr[k];
		r[k - i].c = xstrdup(buf_str(&c));
		r[k - i].len = c.len;
		if (r[k - i].len != r[0].len || memcmp(r[k - i].c, r[0].c,
		    r[0].len) != 0)
			one = 0;
	}
	if (!one) {
		qsort(r, j - i, sizeof(*r), cmp_kcoarse);
		for (size_t k = i; k < j; k++)
			s->kr[k] = r[k - i].k;
	}
	for (size_t k = i; k < j; ) {
		size_t m = k + 1;

		while (m < j && r[m - i].len == r[k - i].len &&
		    memcmp(r[m - i].c, r[k - i].c, r[k - i].len) == 0)
			m++;
		group(s, k, m);
		k = m;
	}
	for (size_t k = 0; k < j - i; k++)
		free(r[k].c);
	free(r);
	buf_free(&c);
}

static void
index_build(struct tablesnap *s)
{
	if (s->kr != NULL)
		return;
	index_sort(s);
	for (size_t i = 0; i < s->nk; ) {
		size_t j = i + 1;

		while (j < s->nk && ((s->kr[j].h ^ s->kr[i].h) & s->kmask) ==
		    0)
			j++;
		if (j - i == 1)
			group(s, i, j);
		else
			index_run(s, i, j);
		i = j;
	}
}

/* The group of the coarse form c, or one of n == 0. */
static struct kgroup
group_of(struct tablesnap *s, const struct buf *c)
{
	struct kgroup none = { 0, 0, 0, 0 };
	uint64_t h = hash(c->p, c->len) & s->kmask;
	size_t lo = 0, hi = s->nk;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((s->kr[mid].h & s->kmask) < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo < s->nk && (s->kr[lo].h & s->kmask) == h) {
		struct kgroup g = *kgroup_at(s, s->kr[lo].orig);
		uint32_t len;
		const char *v = kref_value(s, &s->kr[lo], &len);

		coarse(v, len, &s->scoarse2);
		if (s->scoarse2.len == c->len && memcmp(s->scoarse2.p, c->p,
		    c->len) == 0)
			return g;
		lo = (size_t)g.start + g.n;
	}
	return none;
}

/* The entries key's own filter matches, in the order of the read. */
static size_t
matching(struct tablesnap *s, struct kgroup g, const struct filter *f,
    size_t **out)
{
	size_t n = 0;

	if (g.n > s->sidx_cap) {
		s->sidx_cap = g.n;
		s->sidx = xreallocarray(s->sidx, g.n, sizeof(*s->sidx));
	}
	*out = s->sidx;
	for (size_t i = 0; i < g.n && !s->cannot; i++) {
		uint32_t ei = i == 0 ? g.e0 : s->kr[g.start + i].e;
		const struct tentry *e = s->e[ei];
		const struct view *vw = view_of(s, e, 0);
		struct mr_entry me = { vw->a, vw->n };
		enum mr_result r = mr_eval(f, &me);

		if (r == MR_TRUE)
			(*out)[n++] = ei;
		else if (r == MR_CANNOT)
			cannot(s, "lookupd cannot evaluate the filter on",
			    e->dn);
	}
	if (n > 1)
		qsort(*out, n, sizeof(**out), cmp_size);
	/* an entry listed twice in the index (two equal values) once */
	{
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (k == 0 || (*out)[k - 1] != (*out)[i])
				(*out)[k++] = (*out)[i];
		n = k;
	}
	return n;
}

/* The answer for one key, emitted unless not found.  g: the group of
 * the key's coarse form if the caller knows it, else NULL. */
static void
answer(struct tablesnap *s, const char *key, const struct kgroup *g,
    tablesnap_emit_fn emit, void *arg)
{
	const struct ldaptable *t = s->t;
	struct buf *filter = &s->sfilter, *out = &s->sout;
	struct filter *f = NULL;
	struct sim w;
	size_t *idx = NULL, n;
	struct kgroup kg;
	char ferr[200];

	buf_reset(filter);
	buf_reset(out);
	if (!ldaptable_utf8(key) || !ldaptable_domain_ok(t, key))
		goto done;	/* Postfix does not search: not found */
	/* Whether Postfix searches at all depends on the table's context
	 * and the key only, not on the template (pct_expand): with the
	 * template's expansions, template_for() decides it alone. */
	if ((s->tmpl == NULL || s->ntnode == 0) && !pct_expand(&t->ctx,
	    t->query_filter, key, NULL, filter, PCT_QUOTE_FILTER))
		goto done;
	if (g == NULL) {
		struct buf *c = &s->scoarse;

		coarse(key, strlen(key), c);
		kg = group_of(s, c);
		g = &kg;
	}
	if (s->tmpl != NULL) {
		const struct filter *tf = template_for(s, key);

		if (tf == NULL)
			goto done;
		n = matching(s, *g, s->tkey ? s->tkey : tf, &idx);
	} else if (filter_parse(filter->p, filter->len, &f, ferr,
	    sizeof(ferr)) < 0) {
		cannot(s, "the filter of a key does not parse", ferr);
		goto done;
	} else {
		n = matching(s, *g, f, &idx);
	}
	if (s->cannot)
		goto done;
	memset(&w, 0, sizeof(w));
	w.s = s;
	w.key = key;
	w.out = out;
	if (search_ok(&w, n))
		walk_entries(&w, idx, n, 1);
	if (s->cannot)
		goto done;
	if (w.error)
		emit(key, strlen(key), TABLESNAP_TEMP, w.err, strlen(w.err),
		    arg);
	else if (out->len > 0)
		emit(key, strlen(key), TABLESNAP_FOUND, out->p, out->len, arg);
done:
	filter_free(f);
}

static void
lower_ascii(struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->p[i] >= 'A' && b->p[i] <= 'Z')
			b->p[i] += 32;
}

/* 1 if s holds no space, control, DEL or non-ASCII byte: RFC 4518's
 * preparation (mr_prep_fold) only lowers it. */
static int
plain_ascii(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return 0;
	return 1;
}

/* 1 if the entry being walked gave key already (its keys: s->skeys,
 * NUL-separated), else 0 and key is added. */
static int
entry_gave(struct tablesnap *s, const char *key, size_t len)
{
	const char *p = s->skeys.p, *end = p + s->skeys.len;

	while (p && p < end) {
		size_t l = strlen(p);

		if (l == len && memcmp(p, key, len) == 0)
			return 1;
		p += l + 1;
	}
	buf_append(&s->skeys, key, len);
	buf_putc(&s->skeys, '\0');
	return 0;
}

/* The keys of the value v of the entry being walked (vg: its group),
 * as stored and prepared (" a@b" -> "a@b") under the rules that
 * prepare, each answered unless the entry gave it already or, in a
 * group of more than one entry, any entry did (keys). */
static void
value_keys(struct tablesnap *s, const char *v, uint32_t len,
    struct kgroup vg, struct hmap *keys, tablesnap_emit_fn emit, void *arg)
{
	struct buf *k = &s->skey, *c = &s->scoarse;

	for (int pass = 0; pass < 2 && !s->cannot; pass++) {
		const struct kgroup *g = &vg;
		struct hnode *seen;

		buf_reset(k);
		if (pass == 0)
			buf_append(k, v, len);
		else if (plain_ascii(v, len))
			continue;	/* prepared: pass 0's */
		else if (mr_prep_fold(v, len, &s->sprep) == 0)
			buf_append(k, s->sprep.p ? s->sprep.p : "",
			    s->sprep.len);
		else
			continue;
		lower_ascii(k);
		if (k->len == 0 || memchr(k->p, '\0', k->len) ||
		    entry_gave(s, k->p, k->len))
			continue;
		/* the value's group is the key's: as stored, lowering its
		 * ASCII letters changes nothing coarse() keeps; prepared,
		 * checked */
		if (pass == 1) {
			coarse(v, len, &s->scoarse2);
			coarse(k->p, k->len, c);
			if (c->len != s->scoarse2.len || memcmp(c->p,
			    s->scoarse2.p, c->len) != 0)
				g = NULL;
		}
		if (g == NULL || !g->one) {
			seen = hget(keys, k->p, k->len, 1);
			if (seen->nv)
				continue;
			hpush(keys, seen, 1);
		}
		answer(s, k->p, g, emit, arg);
	}
}

/*
 * Each key is answered once, when the walk of the entries in read order
 * meets it first (the order of answer() calls, and so of a "cannot",
 * does not depend on how the keys are counted).  The entries that give
 * a key are all in the group of its coarse form (coarse(key) is the
 * coarse form of the value it comes from: lowering and RFC 4518's
 * preparation of ASCII text change nothing coarse() keeps), so a key
 * whose group holds one entry comes from that entry alone: it is
 * counted among that entry's keys only, and the table of every key
 * holds the others.
 */
int
tablesnap_answers(struct tablesnap *s, tablesnap_emit_fn emit, void *arg,
    char *err, size_t errsz)
{
	struct arena mem = ARENA_INIT;
	struct hmap keys = { NULL, 0, 0, &mem };

	seal(s);
	index_build(s);
	for (size_t i = 0; i < s->n && !s->cannot; i++) {
		const struct tentry *e = s->e[i];
		size_t ki = e->k0;
		struct vcur c;
		const char *v;
		uint32_t len;

		if (!e->candidate)
			continue;
		buf_reset(&s->skeys);
		vcur_init(&c, e);
		while (!s->cannot && (v = next_value(&c, &len)) != NULL)
			if (c.an->key)
				value_keys(s, v, len, *kgroup_at(s, ki++),
				    &keys, emit, arg);
	}
	hfree(&keys);
	arena_free(&mem);
	if (s->cannot)
		return log_errf(err, errsz, "%s", s->why);
	return 0;
}

void
tablesnap_free(struct tablesnap *s)
{
	if (s == NULL)
		return;
	arena_free(&s->mem);	/* entries, their values, nodes */
	free(s->e);
	for (size_t i = 0; i < s->nviews; i++) {
		free(s->views[i]->a);
		free(s->views[i]->v);
		free(s->views[i]);
	}
	free(s->views);
	buf_free(&s->pdn);
	buf_free(&s->pattrs);
	free(s->names);
	free(s->kb);
	free(s->kr);
	free(s->sidx);
	for (size_t i = 0; i < s->nkey; i++)
		free(s->key_attrs[i]);
	free(s->key_attrs);
	for (size_t i = 0; i < s->ncover; i++)
		free(s->cover[i]);
	free(s->cover);
	hfree(&s->dns);
	hfree(&s->raw);
	free(s->norms);
	template_free(s);
	buf_free(&s->sfilter);
	buf_free(&s->sout);
	buf_free(&s->sone);
	buf_free(&s->scoarse);
	buf_free(&s->scoarse2);
	buf_free(&s->skeys);
	buf_free(&s->skey);
	buf_free(&s->sprep);
	for (size_t i = 0; i < s->nrules; i++)
		free(s->rules[i].name);
	free(s->rules);
	free(s);
}

int
tablesnap_key_complete(const char *key, size_t len)
{
	if (len == 0 || key[0] == ' ' || key[len - 1] == ' ')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c < 0x20 || c >= 0x7f || (c >= 'A' && c <= 'Z'))
			return 0;
		if (c == ' ' && key[i + 1] == ' ')
			return 0;
	}
	return 1;
}
