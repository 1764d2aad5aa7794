/*
 * plan: what the directory asks ldap-maildirmake to build (see plan.h).
 *
 * Three steps, all in memory:
 *  1. each entry is checked alone: paths through safepath (absolute,
 *     normalized, inside mail_base), folder names, the nickname; a shared
 *     entry's mailMessageStore must lie two levels or more below
 *     <mail_base>/<shared_dir>/.  A failing entry gets one problem and is
 *     out.
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
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/safepath.h"
#include "maildirmake/plan.h"

struct idxlist {
	size_t *v;
	size_t n, cap;
};

/* What one good entry wants, worked out once in step 1. */
struct info {
	int bad;
	enum mdm_status st;
	char *maildir;		/* active: its maildir; shared: NULL */
	char *sdir;		/* shared: S */
	char *link;		/* shared: P without its "/" */
	char *target;		/* shared: S/.UID */
	char *nick;		/* shared: nickname */
	char **folders;		/* shared: S/.UID, S/.BOX... */
	size_t nfolders;
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

enum mdm_status
mdm_entry_status(const struct mdm_entry *e)
{
	if (e->n_status != 1)
		return MDM_ST_OTHER;
	if (e->status[0].len == 6 && strncasecmp(e->status[0].p, "active", 6)
	    == 0)
		return MDM_ST_ACTIVE;
	if (e->status[0].len == 6 && strncasecmp(e->status[0].p, "shared", 6)
	    == 0)
		return MDM_ST_SHARED;
	return MDM_ST_OTHER;
}

char *
mdm_nickname(const char *cn, size_t len)
{
	char *nick = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		nick[i] = (cn[i] == ' ' || cn[i] == '.' || cn[i] == '/') ?
		    '_' : cn[i];
	nick[len] = '\0';
	return nick;
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

static char *
printable(char *out, size_t outsz, const struct mdm_val *v)
{
	return log_printable(out, outsz, v->p, v->len);
}

static void
problem(struct mdm_plan *pl, size_t entry, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct mdm_plan *pl, size_t entry, const char *fmt, ...)
{
	va_list ap, ap2;
	char *text;
	int r;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	r = vsnprintf(NULL, 0, fmt, ap);
	if (r < 0) {
		text = xstrdup("(unprintable problem)");
	} else {
		text = xmalloc((size_t)r + 1);
		if (vsnprintf(text, (size_t)r + 1, fmt, ap2) != r)
			text[0] = '\0';
	}
	va_end(ap2);
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

/* The mailMessageStore of e, checked: a fresh absolute path without the
 * trailing "/", *relpos the offset below mail_base.  NULL and a problem
 * when it cannot be used. */
static char *
check_mms(struct mdm_plan *pl, size_t i, const struct mdm_entry *e,
    const struct mdm_params *prm, size_t *relpos)
{
	char shown[LOG_PRINTABLE_SIZE];
	enum safepath_err err;
	const struct mdm_val *v;

	if (e->n_mms != 1) {
		problem(pl, i, "has %zu mailMessageStore values, needs "
		    "exactly one", e->n_mms);
		return NULL;
	}
	v = &e->mms[0];
	err = safepath_under(prm->mail_base, v->p, v->len, relpos);
	if (err != SAFEPATH_OK) {
		problem(pl, i, "mailMessageStore \"%s\" %s%s%s",
		    printable(shown, sizeof(shown), v), safepath_strerror(err),
		    err == SAFEPATH_OUTSIDE ? " " : "",
		    err == SAFEPATH_OUTSIDE ? prm->mail_base : "");
		return NULL;
	}
	if (v->p[v->len - 1] != '/') {
		/* virtual(8) would write an mbox file there, not a maildir. */
		problem(pl, i, "mailMessageStore \"%s\" does not end in \"/\" "
		    "(not a maildir)", printable(shown, sizeof(shown), v));
		return NULL;
	}
	return xstrndup(v->p, v->len - 1);
}

static int
check_folder(struct mdm_plan *pl, size_t i, const char *attr,
    const struct mdm_val *v)
{
	char shown[LOG_PRINTABLE_SIZE];
	enum safepath_err err = safepath_folder(v->p, v->len);

	if (err == SAFEPATH_OK)
		return 0;
	problem(pl, i, "%s \"%s\" cannot be a folder name: it %s", attr,
	    printable(shown, sizeof(shown), v), safepath_strerror(err));
	return -1;
}

static char *
join(const char *a, const char *sep, const char *b, size_t blen)
{
	struct buf x = BUF_INIT;
	char *s;

	buf_puts(&x, a);
	buf_puts(&x, sep);
	buf_append(&x, b, blen);
	s = xstrdup(buf_str(&x));
	buf_free(&x);
	return s;
}

static void
check_shared(struct mdm_plan *pl, size_t i, const struct mdm_entry *e,
    const struct mdm_params *prm, struct info *in)
{
	char shown[LOG_PRINTABLE_SIZE];
	size_t rel, sl = strlen(prm->shared_dir), bl = strlen(prm->mail_base);
	const char *r, *last;
	char *p, *sdir = NULL;
	struct buf b = BUF_INIT;
	const struct mdm_val *cn;

	if ((p = check_mms(pl, i, e, prm, &rel)) == NULL)
		goto bad;
	/* P = <mail_base>/<shared_dir>/X.../L: at least X and L. */
	r = p + rel;
	if (strncmp(r, prm->shared_dir, sl) != 0 || r[sl] != '/' ||
	    (last = strrchr(r, '/')) == r + sl) {
		problem(pl, i, "mailMessageStore \"%s\" of a shared entry must "
		    "lie at least two levels below %s%s%s/",
		    printable(shown, sizeof(shown), &e->mms[0]),
		    prm->mail_base, bl == 1 ? "" : "/", prm->shared_dir);
		goto bad;
	}
	if (e->n_uid != 1) {
		problem(pl, i, "has %zu uid values, a shared entry needs "
		    "exactly one", e->n_uid);
		goto bad;
	}
	if (check_folder(pl, i, "uid", &e->uid[0]) != 0)
		goto bad;
	for (size_t k = 0; k < e->n_pob; k++)
		if (check_folder(pl, i, "postOfficeBox", &e->pob[k]) != 0)
			goto bad;
	if (e->n_cn == 0) {
		problem(pl, i, "has no cn (the nickname of its shared "
		    "maildir)");
		goto bad;
	}
	/* The first cn, as the server sent it, names the shared maildir. */
	cn = &e->cn[0];
	if (cn->len == 0 || memchr(cn->p, '\0', cn->len) != NULL ||
	    !safepath_utf8(cn->p, cn->len)) {
		problem(pl, i, "cn \"%s\" cannot be a nickname (empty, NUL or "
		    "not UTF-8)", printable(shown, sizeof(shown), cn));
		goto bad;
	}
	for (size_t k = 0; k < cn->len; k++)
		if ((unsigned char)cn->p[k] < 0x20 || cn->p[k] == 0x7f) {
			problem(pl, i, "cn \"%s\" cannot be a nickname (control "
			    "character)", printable(shown, sizeof(shown), cn));
			goto bad;
		}

	/* S: the parent of P, <shared_dir> replaced by <shared_maildirs_dir>. */
	buf_append(&b, p, rel);
	buf_puts(&b, prm->shared_maildirs_dir);
	buf_append(&b, r + sl, (size_t)(last - (r + sl)));
	sdir = xstrdup(buf_str(&b));
	buf_free(&b);
	/* Its folders must stay within PATH_MAX too. */
	for (size_t k = 0; k <= e->n_pob; k++) {
		size_t fl = k == 0 ? e->uid[0].len : e->pob[k - 1].len;

		if (strlen(sdir) + 2 + fl >= PATH_MAX) {
			problem(pl, i, "mailMessageStore \"%s\" is too long "
			    "for its shared folders", printable(shown,
			    sizeof(shown), &e->mms[0]));
			goto bad;
		}
	}
	in->sdir = sdir;
	in->link = p;
	in->target = join(sdir, "/.", e->uid[0].p, e->uid[0].len);
	in->nick = mdm_nickname(cn->p, cn->len);
	in->folders = xcalloc(1 + e->n_pob, sizeof(char *));
	in->folders[in->nfolders++] = xstrdup(in->target);
	for (size_t k = 0; k < e->n_pob; k++)
		in->folders[in->nfolders++] = join(sdir, "/.", e->pob[k].p,
		    e->pob[k].len);
	return;
bad:
	free(p);
	free(sdir);
	in->bad = 1;
}

static void
check_entry(struct mdm_plan *pl, size_t i, const struct mdm_entry *e,
    const struct mdm_params *prm, struct info *in)
{
	size_t rel;

	memset(in, 0, sizeof(*in));
	in->st = mdm_entry_status(e);
	if (e->n_status > 1) {
		problem(pl, i, "has %zu accountStatus values", e->n_status);
		in->bad = 1;
		return;
	}
	switch (in->st) {
	case MDM_ST_ACTIVE:
		if ((in->maildir = check_mms(pl, i, e, prm, &rel)) == NULL)
			in->bad = 1;
		break;
	case MDM_ST_SHARED:
		check_shared(pl, i, e, prm, in);
		break;
	case MDM_ST_OTHER:
		break;		/* inactive or unknown: nothing to build */
	}
}

static void
info_free(struct info *in)
{
	free(in->maildir);
	free(in->sdir);
	free(in->link);
	free(in->target);
	free(in->nick);
	for (size_t k = 0; k < in->nfolders; k++)
		free(in->folders[k]);
	free(in->folders);
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
	struct hit *hit;
	char *base;
	int ok;

	objs_reset(pl);

	/* <mail_base>/<shared_dir> and <shared_maildirs_dir>, always. */
	ok = 1;
	base = join(prm->mail_base, strlen(prm->mail_base) == 1 ? "" : "/",
	    prm->shared_dir, strlen(prm->shared_dir));
	want(pl, prm, MDM_DIR, base, base, NULL, MDM_NONE, MDM_NONE,
	    MDM_NONE);
	free(base);
	base = join(prm->mail_base, strlen(prm->mail_base) == 1 ? "" : "/",
	    prm->shared_maildirs_dir, strlen(prm->shared_maildirs_dir));
	want(pl, prm, MDM_DIR, base, base, NULL, MDM_NONE, MDM_NONE,
	    MDM_NONE);
	free(base);

	/* The active maildirs. */
	hit = xcalloc(n ? n : 1, sizeof(*hit));
	for (size_t i = 0; i < n; i++)
		hit[i].at = MDM_NONE;
	for (size_t i = 0; i < n; i++) {
		if (in[i].bad || in[i].st != MDM_ST_ACTIVE)
			continue;
		ok = 1;
		want_node(pl, prm, MDM_MAILDIR, in[i].maildir, NULL, MDM_NONE,
		    i, &ok);
		if (!ok)
			set_hit(pl, &hit[i]);
	}
	/* Shared maildirs, their folders, the delivery links. */
	for (size_t i = 0; i < n; i++) {
		size_t so, uo = MDM_NONE;

		if (in[i].bad || in[i].st != MDM_ST_SHARED)
			continue;
		ok = 1;
		so = want_node(pl, prm, MDM_SHARABLE, in[i].sdir, NULL,
		    MDM_NONE, i, &ok);
		if (!ok) {
			set_hit(pl, &hit[i]);
			continue;
		}
		for (size_t k = 0; ok && k < in[i].nfolders; k++) {
			o = want(pl, prm, MDM_FOLDER, in[i].folders[k],
			    in[i].folders[k], NULL, so, MDM_NONE, i);
			if (o == MDM_NONE) {
				ok = 0;
				set_hit(pl, &hit[i]);
			}
			if (k == 0)
				uo = o;
		}
		if (!ok)
			continue;
		want_node(pl, prm, MDM_LINK, in[i].link, in[i].target, uo, i,
		    &ok);
		if (!ok)
			set_hit(pl, &hit[i]);
	}
	/* The shared-maildirs lines. */
	for (size_t i = 0; i < n; i++) {
		size_t mo;

		if (in[i].bad || hit[i].at != MDM_NONE ||
		    in[i].st != MDM_ST_ACTIVE)
			continue;
		mo = tab_find(pl, in[i].maildir);
		for (size_t k = 0; k < e[i].n_see; k++) {
			struct buf key = BUF_INIT, line = BUF_INIT;

			if (e[i].see[k] == NULL)
				continue;
			s = shared_find(shared, nshared, e[i].see[k]);
			if (s == MDM_NONE || in[s].bad || hit[s].at != MDM_NONE)
				continue;
			buf_puts(&key, in[i].maildir);
			buf_puts(&key, "\t");
			buf_puts(&key, in[s].nick);
			buf_puts(&line, in[s].nick);
			buf_putc(&line, '\t');
			buf_puts(&line, in[s].sdir);
			buf_putc(&line, '\n');
			o = want(pl, prm, MDM_SUBSCRIBE, in[i].maildir,
			    buf_str(&key), buf_str(&line), mo,
			    tab_find(pl, in[s].sdir), i);
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
		if (in[i].st == MDM_ST_SHARED && e[i].ndn != NULL) {
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
