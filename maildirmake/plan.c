/*
 * plan: what the directory asks ldap-maildirmake to build (see plan.h).
 *
 * Three steps, all in memory:
 *  1. each entry is checked alone by common/layout (the account layout
 *     every program shares: paths, folder names, the nickname).  A
 *     failing entry gets one problem, the first reason layout gives, and
 *     is out.
 *  2. the objects of the remaining entries go into one table keyed by
 *     path (parents added as plain directories on the way).  Two entries
 *     that want different things at one path (a maildir here, a parent
 *     directory there; two link targets; one nickname for two shared
 *     maildirs in one maildir) are both out, and so is every other entry
 *     that uses that path, whatever the order the directory sent them in.
 *     The step is repeated without them until nothing clashes.
 *  3. the last, clean table is the plan: parents before children, the
 *     active maildirs, then the shared maildirs with their folders and
 *     links, then the shared-maildirs lines.
 *
 * The same path wanted twice as the same thing is one object (two people
 * with one maildir, a postOfficeBox equal to the uid).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/layout.h"
#include "common/log.h"
#include "maildirmake/plan.h"

struct idxlist {
	size_t *v;
	size_t n, cap;
};

/* What one good entry wants, worked out once in step 1. */
struct info {
	int bad;
	enum layout_status st;
	struct layout lay;	/* maildir; shared, link, target, folders */
	char *nick;		/* shared: nickname */
};

struct mdm_plan {
	struct mdm_obj *obj;
	char **key;		/* table key of each object */
	size_t nobj, capobj;
	size_t *tab;		/* open addressing: object index + 1; 0 empty */
	size_t tabcap;

	/* Clashes found in the current pass. */
	unsigned char *clash;	/* per object */
	size_t *clash_entry;	/* the entry that wanted something else */
	enum mdm_kind *clash_kind;
	size_t last_clash;	/* the object the last refused want hit */
	enum mdm_kind last_kind; /* and what was wanted there */

	struct idxlist *eobj;	/* per entry: objects it asked for */
	size_t nent;

	struct mdm_problem *prob;
	size_t nprob, capprob;
};

/* ---- small helpers ---- */

char *
mdm_nickname(const char *cn, size_t len)
{
	struct layout_val v = { (char *)cn, len };
	struct layout_problem why;
	char *nick = layout_nickname(&v, 1, &why);

	return nick != NULL ? nick : xstrndup(cn, len);
}

const char *
mdm_kind_name(enum mdm_kind k)
{
	switch (k) {
	case MDM_DIR:		return "directory";
	case MDM_MAILDIR:	return "maildir";
	case MDM_SHARABLE:	return "sharable maildir";
	case MDM_FOLDER:	return "shared folder";
	case MDM_LINK:		return "delivery link";
	case MDM_SUBSCRIBE:	return "shared-maildirs line";
	}
	return "object";
}

static void
idx_push(struct idxlist *l, size_t v)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == v)
			return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = v;
}

static void
problem(struct mdm_plan *pl, size_t entry, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct mdm_plan *pl, size_t entry, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvprintf(fmt, ap);
	va_end(ap);
	if (pl->nprob == pl->capprob) {
		pl->capprob = pl->capprob ? pl->capprob * 2 : 8;
		pl->prob = xreallocarray(pl->prob, pl->capprob,
		    sizeof(*pl->prob));
	}
	pl->prob[pl->nprob].entry = entry;
	pl->prob[pl->nprob].text = text;
	pl->nprob++;
}

/* ---- step 1: one entry alone ---- */

void
mdm_entry_layout(const struct mdm_entry *e, struct layout_entry *le)
{
	memset(le, 0, sizeof(*le));
	le->status = e->status;
	le->n_status = e->n_status;
	le->store = e->mms;
	le->n_store = e->n_mms;
	le->folder = e->uid;
	le->n_folder = e->n_uid;
	le->box = e->pob;
	le->n_box = e->n_pob;
	le->off = e->off;
	le->n_off = e->n_off;
	le->qsize = e->qsize;
	le->n_qsize = e->n_qsize;
	le->qcount = e->qcount;
	le->n_qcount = e->n_qcount;
	le->domain_off = e->domain_off;
}

/* The entry by common/layout; the first reason that refuses it, if any,
 * is its problem. */
static void
check_entry(struct mdm_plan *pl, size_t i, const struct mdm_entry *e,
    const struct mdm_params *prm, struct info *in)
{
	const struct layout_profile *pf = prm->pf != NULL ? prm->pf :
	    layout_profile(NULL);
	struct layout_params lp = { prm->mail_base, prm->shared_dir,
	    prm->shared_maildirs_dir };
	struct layout_entry le;
	struct layout_problem why;
	const struct layout_problem *p = NULL;
	struct buf text = BUF_INIT;

	memset(in, 0, sizeof(*in));
	mdm_entry_layout(e, &le);
	layout_build(pf, &lp, &le, &in->lay);
	in->st = in->lay.status;
	if (in->lay.ok && in->st == LAYOUT_SHARED &&
	    (in->nick = layout_nickname(e->cn, e->n_cn, &why)) == NULL)
		p = &why;
	for (size_t k = 0; p == NULL && k < in->lay.nprob; k++)
		if (in->lay.prob[k].refuses)
			p = &in->lay.prob[k];
	if (p == NULL)
		return;
	layout_problem_text(pf, &lp, p, &text);
	problem(pl, i, "%s", buf_str(&text));
	buf_free(&text);
	in->bad = 1;
}

static void
info_free(struct info *in)
{
	layout_free(&in->lay);
	free(in->nick);
}

/* ---- step 2: the table ---- */

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static size_t
tab_find(const struct mdm_plan *pl, const char *key)
{
	size_t m, j;

	if (pl->tabcap == 0)
		return MDM_NONE;
	m = pl->tabcap - 1;
	for (j = (size_t)hash_str(key) & m; pl->tab[j] != 0; j = (j + 1) & m)
		if (strcmp(pl->key[pl->tab[j] - 1], key) == 0)
			return pl->tab[j] - 1;
	return MDM_NONE;
}

static void
tab_insert(struct mdm_plan *pl, size_t o)
{
	size_t m, j;

	if ((pl->nobj + 1) * 2 > pl->tabcap) {
		size_t ncap = pl->tabcap ? pl->tabcap * 2 : 64;

		free(pl->tab);
		pl->tab = xcalloc(ncap, sizeof(*pl->tab));
		pl->tabcap = ncap;
		m = ncap - 1;
		for (size_t k = 0; k < o; k++) {
			for (j = (size_t)hash_str(pl->key[k]) & m;
			    pl->tab[j] != 0; j = (j + 1) & m)
				;
			pl->tab[j] = k + 1;
		}
	}
	m = pl->tabcap - 1;
	for (j = (size_t)hash_str(pl->key[o]) & m; pl->tab[j] != 0;
	    j = (j + 1) & m)
		;
	pl->tab[j] = o + 1;
}

static void
objs_reset(struct mdm_plan *pl)
{
	for (size_t k = 0; k < pl->nobj; k++) {
		free(pl->obj[k].path);
		free(pl->obj[k].arg);
		free(pl->key[k]);
	}
	pl->nobj = 0;
	if (pl->tab != NULL)
		memset(pl->tab, 0, pl->tabcap * sizeof(*pl->tab));
	for (size_t k = 0; k < pl->nent; k++)
		pl->eobj[k].n = 0;
}

/* The object at key, made if new.  A clash (same key, another kind or
 * another arg) marks the existing object and returns MDM_NONE. */
static size_t
want(struct mdm_plan *pl, const struct mdm_params *prm, enum mdm_kind kind,
    const char *path, const char *key, const char *arg, size_t parent,
    size_t need, size_t entry)
{
	size_t o = tab_find(pl, key);
	struct mdm_obj *ob;

	if (o != MDM_NONE) {
		ob = &pl->obj[o];
		if (ob->kind == kind && ((arg == NULL && ob->arg == NULL) ||
		    (arg != NULL && ob->arg != NULL &&
		    strcmp(arg, ob->arg) == 0)))
			goto mine;
		pl->last_clash = o;
		pl->last_kind = kind;
		if (!pl->clash[o]) {
			pl->clash[o] = 1;
			pl->clash_entry[o] = entry;
			pl->clash_kind[o] = kind;
		}
		return MDM_NONE;
	}
	if (pl->nobj == pl->capobj) {
		pl->capobj = pl->capobj ? pl->capobj * 2 : 64;
		pl->obj = xreallocarray(pl->obj, pl->capobj, sizeof(*pl->obj));
		pl->key = xreallocarray(pl->key, pl->capobj, sizeof(*pl->key));
		pl->clash = xrealloc(pl->clash, pl->capobj);
		pl->clash_entry = xreallocarray(pl->clash_entry, pl->capobj,
		    sizeof(*pl->clash_entry));
		pl->clash_kind = xreallocarray(pl->clash_kind, pl->capobj,
		    sizeof(*pl->clash_kind));
	}
	o = pl->nobj;
	ob = &pl->obj[o];
	ob->kind = kind;
	ob->path = xstrdup(path);
	ob->rel = strlen(prm->mail_base) == 1 ? 1 : strlen(prm->mail_base) + 1;
	ob->arg = arg ? xstrdup(arg) : NULL;
	ob->parent = parent;
	ob->need = need;
	ob->entry = entry;
	pl->key[o] = xstrdup(key);
	pl->clash[o] = 0;
	pl->clash_entry[o] = MDM_NONE;
	pl->nobj++;
	tab_insert(pl, o);
mine:
	if (entry != MDM_NONE)
		idx_push(&pl->eobj[entry], o);
	return o;
}

/* The directory that holds path, and its parents, as MDM_DIR objects;
 * MDM_NONE for mail_base itself.  *ok = 0 on a clash. */
static size_t
want_parent(struct mdm_plan *pl, const struct mdm_params *prm,
    const char *path, size_t entry, int *ok)
{
	const char *slash = strrchr(path, '/');
	size_t bl = strlen(prm->mail_base), len, parent, o;
	char *dir;

	len = slash == NULL ? 0 : (size_t)(slash - path);
	if (len == 0)
		len = 1;	/* "/" */
	if ((len == bl && strncmp(path, prm->mail_base, bl) == 0) ||
	    (bl == 1 && len == 1))
		return MDM_NONE;
	dir = xstrndup(path, len);
	o = tab_find(pl, dir);
	if (o != MDM_NONE && pl->obj[o].kind == MDM_DIR) {
		if (entry != MDM_NONE)
			idx_push(&pl->eobj[entry], o);
		free(dir);
		return o;
	}
	parent = want_parent(pl, prm, dir, entry, ok);
	o = want(pl, prm, MDM_DIR, dir, dir, NULL, parent, MDM_NONE, entry);
	if (o == MDM_NONE)
		*ok = 0;
	free(dir);
	return o;
}

/* A file system object at path, with its parent directories. */
static size_t
want_node(struct mdm_plan *pl, const struct mdm_params *prm,
    enum mdm_kind kind, const char *path, const char *arg, size_t need,
    size_t entry, int *ok)
{
	size_t parent = want_parent(pl, prm, path, entry, ok);
	size_t o;

	if (!*ok)
		return MDM_NONE;
	o = want(pl, prm, kind, path, path, arg, parent, need, entry);
	if (o == MDM_NONE)
		*ok = 0;
	return o;
}

/* Where an entry's own want clashed. */
struct hit {
	size_t at;		/* the object, MDM_NONE if none */
	enum mdm_kind kind;	/* what the entry wanted there */
};

static void
set_hit(const struct mdm_plan *pl, struct hit *h)
{
	if (h->at != MDM_NONE)
		return;
	h->at = pl->last_clash;
	h->kind = pl->last_kind;
}

/* Shared entries by normalized DN, for seeAlso. */
struct dnidx {
	const char *ndn;
	size_t entry;
};

static int
cmp_dnidx(const void *a, const void *b)
{
	const struct dnidx *x = a, *y = b;
	int c = strcmp(x->ndn, y->ndn);

	if (c != 0)
		return c;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* The first shared entry whose normalized DN is ndn, or MDM_NONE. */
static size_t
shared_find(const struct dnidx *v, size_t n, const char *ndn)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v[mid].ndn, ndn) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(v[lo].ndn, ndn) == 0 ? v[lo].entry : MDM_NONE;
}

/* One pass over the good entries.  Returns how many became bad. */
static size_t
pass(struct mdm_plan *pl, const struct mdm_entry *e, size_t n,
    const struct mdm_params *prm, struct info *in,
    const struct dnidx *shared, size_t nshared)
{
	size_t newbad = 0, o, s;
	struct layout_params lp = { prm->mail_base, prm->shared_dir,
	    prm->shared_maildirs_dir };
	struct hit *hit;
	char *base;
	int ok;

	objs_reset(pl);

	/* <mail_base>/<shared_dir> and <shared_maildirs_dir>, always in
	 * the howto's layout; the others have no shared folders. */
	ok = 1;
	if (prm->pf == NULL || prm->pf->kind == LAYOUT_KIND_HOWTO) {
		base = layout_base_join(&lp, prm->shared_dir);
		want(pl, prm, MDM_DIR, base, base, NULL, MDM_NONE, MDM_NONE,
		    MDM_NONE);
		free(base);
		base = layout_base_join(&lp, prm->shared_maildirs_dir);
		want(pl, prm, MDM_DIR, base, base, NULL, MDM_NONE, MDM_NONE,
		    MDM_NONE);
		free(base);
	}

	/* The active maildirs. */
	hit = xcalloc(n ? n : 1, sizeof(*hit));
	for (size_t i = 0; i < n; i++)
		hit[i].at = MDM_NONE;
	for (size_t i = 0; i < n; i++) {
		if (in[i].bad || in[i].st != LAYOUT_ACTIVE)
			continue;
		ok = 1;
		want_node(pl, prm, MDM_MAILDIR, in[i].lay.maildir, NULL, MDM_NONE,
		    i, &ok);
		if (!ok)
			set_hit(pl, &hit[i]);
	}
	/* Shared maildirs, their folders, the delivery links. */
	for (size_t i = 0; i < n; i++) {
		size_t so, uo = MDM_NONE;

		if (in[i].bad || in[i].st != LAYOUT_SHARED)
			continue;
		ok = 1;
		so = want_node(pl, prm, MDM_SHARABLE, in[i].lay.shared, NULL,
		    MDM_NONE, i, &ok);
		if (!ok) {
			set_hit(pl, &hit[i]);
			continue;
		}
		for (size_t k = 0; ok && k < in[i].lay.nfolders; k++) {
			o = want(pl, prm, MDM_FOLDER, in[i].lay.folders[k],
			    in[i].lay.folders[k], NULL, so, MDM_NONE, i);
			if (o == MDM_NONE) {
				ok = 0;
				set_hit(pl, &hit[i]);
			}
			if (k == 0)
				uo = o;
		}
		if (!ok)
			continue;
		want_node(pl, prm, MDM_LINK, in[i].lay.link, in[i].lay.target, uo, i,
		    &ok);
		if (!ok)
			set_hit(pl, &hit[i]);
	}
	/* The shared-maildirs lines. */
	for (size_t i = 0; i < n; i++) {
		size_t mo;

		if (in[i].bad || hit[i].at != MDM_NONE ||
		    in[i].st != LAYOUT_ACTIVE)
			continue;
		mo = tab_find(pl, in[i].lay.maildir);
		for (size_t k = 0; k < e[i].n_see; k++) {
			struct buf key = BUF_INIT, line = BUF_INIT;

			if (e[i].see[k] == NULL)
				continue;
			s = shared_find(shared, nshared, e[i].see[k]);
			if (s == MDM_NONE || in[s].bad || hit[s].at != MDM_NONE)
				continue;
			buf_puts(&key, in[i].lay.maildir);
			buf_puts(&key, "\t");
			buf_puts(&key, in[s].nick);
			buf_puts(&line, in[s].nick);
			buf_putc(&line, '\t');
			buf_puts(&line, in[s].lay.shared);
			buf_putc(&line, '\n');
			o = want(pl, prm, MDM_SUBSCRIBE, in[i].lay.maildir,
			    buf_str(&key), buf_str(&line), mo,
			    tab_find(pl, in[s].lay.shared), i);
			if (o == MDM_NONE && hit[i].at == MDM_NONE)
				set_hit(pl, &hit[i]);
			buf_free(&key);
			buf_free(&line);
		}
	}

	/* Every entry whose own want clashed is out, and so is every entry
	 * that uses an object someone else wanted as something else. */
	for (size_t i = 0; i < n; i++) {
		size_t at = hit[i].at, other;
		enum mdm_kind mine, theirs;
		char shown[LOG_PRINTABLE_SIZE];
		const char *who;

		if (in[i].bad)
			continue;
		if (at != MDM_NONE) {
			mine = hit[i].kind;
			theirs = pl->obj[at].kind;
			other = pl->obj[at].entry;
		} else {
			for (size_t k = 0; at == MDM_NONE &&
			    k < pl->eobj[i].n; k++)
				if (pl->clash[pl->eobj[i].v[k]])
					at = pl->eobj[i].v[k];
			if (at == MDM_NONE)
				continue;
			mine = pl->obj[at].kind;
			theirs = pl->clash_kind[at];
			other = pl->clash_entry[at];
		}
		log_printable(shown, sizeof(shown), pl->obj[at].path,
		    strlen(pl->obj[at].path));
		who = other == MDM_NONE ? "ldap-maildirmake itself "
		    "(shared_dir, shared_maildirs_dir)" : other == i ?
		    "this entry too" : e[other].dn;
		if (mine == MDM_SUBSCRIBE && theirs == MDM_SUBSCRIBE)
			problem(pl, i, "\"%s/shared-maildirs\" would get the "
			    "nickname \"%.*s\" for two shared maildirs (their "
			    "cn differ only in \" \", \".\" or \"/\")", shown,
			    (int)strcspn(pl->obj[at].arg, "\t"),
			    pl->obj[at].arg);
		else if (mine == theirs)
			problem(pl, i, "\"%s\" is wanted as a %s by this entry "
			    "and as a different one by %s%s%s", shown,
			    mdm_kind_name(mine), other < n && other != i ?
			    "\"" : "", who, other < n && other != i ? "\"" :
			    "");
		else
			problem(pl, i, "\"%s\" is wanted as a %s by this entry "
			    "but as a %s by %s%s%s", shown, mdm_kind_name(mine),
			    mdm_kind_name(theirs), other < n && other != i ?
			    "\"" : "", who, other < n && other != i ? "\"" :
			    "");
		in[i].bad = 1;
		newbad++;
	}
	free(hit);
	return newbad;
}

/* ---- the plan ---- */

static int
cmp_problem(const void *a, const void *b)
{
	const struct mdm_problem *x = a, *y = b;

	if (x->entry != y->entry)
		return x->entry < y->entry ? -1 : 1;
	return strcmp(x->text, y->text);
}

struct mdm_plan *
mdm_plan_build(const struct mdm_entry *e, size_t n,
    const struct mdm_params *prm)
{
	struct mdm_plan *pl = xcalloc(1, sizeof(*pl));
	struct info *in = xcalloc(n ? n : 1, sizeof(*in));
	struct dnidx *shared = xcalloc(n ? n : 1, sizeof(*shared));
	size_t nshared = 0;

	pl->nent = n;
	pl->eobj = xcalloc(n ? n : 1, sizeof(*pl->eobj));
	for (size_t i = 0; i < n; i++) {
		check_entry(pl, i, &e[i], prm, &in[i]);
		if (in[i].st == LAYOUT_SHARED && e[i].ndn != NULL) {
			shared[nshared].ndn = e[i].ndn;
			shared[nshared].entry = i;
			nshared++;
		}
	}
	qsort(shared, nshared, sizeof(*shared), cmp_dnidx);
	while (pass(pl, e, n, prm, in, shared, nshared) > 0)
		;
	for (size_t i = 0; i < n; i++) {
		if (in[i].bad)
			pl->eobj[i].n = 0;
		info_free(&in[i]);
	}
	free(in);
	free(shared);
	if (pl->nprob > 1)
		qsort(pl->prob, pl->nprob, sizeof(*pl->prob), cmp_problem);
	return pl;
}

void
mdm_plan_free(struct mdm_plan *pl)
{
	if (pl == NULL)
		return;
	objs_reset(pl);
	for (size_t k = 0; k < pl->nent; k++)
		free(pl->eobj[k].v);
	free(pl->eobj);
	for (size_t k = 0; k < pl->nprob; k++)
		free(pl->prob[k].text);
	free(pl->prob);
	free(pl->obj);
	free(pl->key);
	free(pl->tab);
	free(pl->clash);
	free(pl->clash_entry);
	free(pl->clash_kind);
	free(pl);
}

size_t
mdm_plan_nobj(const struct mdm_plan *pl)
{
	return pl->nobj;
}

const struct mdm_obj *
mdm_plan_obj(const struct mdm_plan *pl, size_t i)
{
	return i < pl->nobj ? &pl->obj[i] : NULL;
}

size_t
mdm_plan_nproblems(const struct mdm_plan *pl)
{
	return pl->nprob;
}

const struct mdm_problem *
mdm_plan_problem(const struct mdm_plan *pl, size_t i)
{
	return i < pl->nprob ? &pl->prob[i] : NULL;
}

size_t
mdm_plan_entry_objs(const struct mdm_plan *pl, size_t entry,
    const size_t **objs)
{
	if (entry >= pl->nent) {
		*objs = NULL;
		return 0;
	}
	*objs = pl->eobj[entry].v;
	return pl->eobj[entry].n;
}
