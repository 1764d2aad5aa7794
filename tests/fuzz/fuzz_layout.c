/*
 * fuzz_layout: common/layout.c, the rule that turns a directory entry
 * into the paths ldap-maildirmake (as root) builds, lint judges and
 * route follows.
 *
 * Input: the first byte picks mail_base ("/", "/vmail", "/srv/mail.d": %
 * 3) and the profile (howto, jamm, ox, apple: / 3 % 4); the rest is four
 * fields separated by LF (status, store, uid, postOfficeBox; for jamm,
 * ox and apple the third is the off attribute, delete or colocRouteAddr,
 * and the fourth is not read), each a list of values separated by "|"
 * (an empty field: no value).  What must hold, checked here
 * independently of layout.c:
 *   - the same entry gives the same layout and texts twice;
 *   - ok exactly when no problem refuses the entry; parts only when ok
 *     and the status is active or shared;
 *   - active: maildir + "/" is the one store, and safepath_under()
 *     accepts it below mail_base;
 *   - shared: the store lies at least two levels below
 *     <mail_base>/shared/; link is the store without its "/"; shared is
 *     <mail_base>/smd/ + what lies between the prefix and the link's last
 *     component; target is shared/.UID; the folders are shared/.UID then
 *     shared/.BOX for each postOfficeBox, each a valid Courier folder
 *     name and shorter than PATH_MAX; layout_shared_split() agrees;
 *   - jamm, ox, apple: never shared; active and ok: the maildir is
 *     <mail_base>/<store> without its "/" (jamm) or
 *     <mail_base>/<first store>/Maildir (ox, apple), below mail_base;
 *   - layout_state() gives the status layout_build() found;
 *   - every problem's text is one non-empty printable line.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/layout.h"
#include "common/safepath.h"
#include "tests/fuzz/fuzz.h"

static const char *const bases[] = { "/", "/vmail", "/srv/mail.d" };
static const char *const profiles[] = { "howto", "jamm", "ox", "apple" };

struct field {
	struct layout_val *v;
	size_t n;
};

static void
push(struct field *f, const uint8_t *p, size_t len)
{
	struct layout_val *v;

	f->v = xreallocarray(f->v, f->n + 1, sizeof(*f->v));
	v = &f->v[f->n++];
	v->p = xmalloc(len + 1);	/* NULs inside kept */
	if (len > 0)
		memcpy(v->p, p, len);
	v->p[len] = '\0';
	v->len = len;
}

/* Four fields by LF (the rest of the input in the last); in a non-empty
 * field, values by "|". */
static void
parse(const uint8_t *p, size_t len, struct field *f)
{
	size_t k = 0, start = 0, vstart = 0;

	for (size_t i = 0; i <= len; i++) {
		int eof = i == len, eol = !eof && p[i] == '\n' && k < 3;

		if (!eof && !eol && p[i] != '|')
			continue;
		if (i > start || (!eof && !eol) || vstart > start)
			push(&f[k], p + vstart, i - vstart);
		vstart = i + 1;
		if (eol) {
			k++;
			start = i + 1;
		}
	}
}

static void
texts(const struct layout_profile *pf, const struct layout_params *prm,
    const struct layout *l, struct buf *o)
{
	for (size_t k = 0; k < l->nprob; k++) {
		size_t at = o->len;

		layout_problem_text(pf, prm, &l->prob[k], o);
		FUZZ_ASSERT(o->len > at);
		for (size_t j = at; j < o->len; j++)
			FUZZ_ASSERT((unsigned char)o->p[j] >= 0x20 &&
			    o->p[j] != 0x7f);
		buf_putc(o, '\n');
	}
}

static char *
cat(const char *a, const char *b, size_t blen)
{
	struct buf x = BUF_INIT;
	char *s;

	buf_puts(&x, a);
	buf_append(&x, b, blen);
	s = xstrdup(buf_str(&x));
	buf_free(&x);
	return s;
}

static void
check_shared(const struct layout_params *prm, const struct field *f,
    const struct layout *l)
{
	const struct layout_val *st = &f[1].v[0];
	int root = strcmp(prm->mail_base, "/") == 0;
	char *pre = cat(root ? "" : prm->mail_base, "/shared/", 8);
	char *smd = cat(root ? "" : prm->mail_base, "/smd/", 5);
	size_t pl = strlen(pre), end = st->len - 1, last;
	char *want, *link, *shared;

	FUZZ_ASSERT(st->len > pl && memcmp(st->p, pre, pl) == 0);
	FUZZ_ASSERT(st->p[end] == '/');
	FUZZ_ASSERT(strlen(l->link) == end &&
	    memcmp(l->link, st->p, end) == 0);
	for (last = end; last > pl && st->p[last - 1] != '/'; last--)
		;
	FUZZ_ASSERT(last > pl + 1);	/* NAME and FOLDER at least */
	want = cat(smd, st->p + pl, last - 1 - pl);
	FUZZ_ASSERT(strcmp(l->shared, want) == 0);
	free(want);
	FUZZ_ASSERT(l->nfolders == 1 + f[3].n);
	for (size_t k = 0; k < l->nfolders; k++) {
		const struct layout_val *v = k == 0 ? &f[2].v[0] :
		    &f[3].v[k - 1];
		size_t sl = strlen(l->shared);

		FUZZ_ASSERT(strlen(l->folders[k]) == sl + 2 + v->len);
		FUZZ_ASSERT(strlen(l->folders[k]) < PATH_MAX);
		FUZZ_ASSERT(memcmp(l->folders[k], l->shared, sl) == 0 &&
		    memcmp(l->folders[k] + sl, "/.", 2) == 0 &&
		    memcmp(l->folders[k] + sl + 2, v->p, v->len) == 0);
		FUZZ_ASSERT(safepath_folder(v->p, v->len) == SAFEPATH_OK);
	}
	FUZZ_ASSERT(strcmp(l->target, l->folders[0]) == 0);
	FUZZ_ASSERT(layout_shared_split(prm, st->p, st->len, &link,
	    &shared) == 0);
	FUZZ_ASSERT(strcmp(link, l->link) == 0 &&
	    strcmp(shared, l->shared) == 0);
	free(link);
	free(shared);
	free(pre);
	free(smd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct layout_profile *pf;
	struct layout_params prm;
	struct field f[4];
	struct layout_entry e;
	struct layout l, l2;
	struct buf t1 = BUF_INIT, t2 = BUF_INIT;
	size_t rel, refusing = 0;

	if (size == 0)
		return 0;
	prm.mail_base = bases[data[0] % 3];
	pf = layout_profile(profiles[(data[0] / 3) % 4]);
	prm.shared_dir = "shared";
	prm.shared_maildirs_dir = "smd";
	memset(f, 0, sizeof(f));
	parse(data + 1, size - 1, f);
	e.status = f[0].v;
	e.n_status = f[0].n;
	e.store = f[1].v;
	e.n_store = f[1].n;
	e.folder = f[2].v;
	e.n_folder = f[2].n;
	e.box = f[3].v;
	e.n_box = f[3].n;
	e.off = NULL;
	e.n_off = 0;
	e.qsize = e.qcount = NULL;
	e.n_qsize = e.n_qcount = 0;
	e.domain_off = 0;
	if (pf->kind != LAYOUT_KIND_HOWTO) {
		e.off = f[2].v;
		e.n_off = f[2].n;
		e.folder = e.box = NULL;
		e.n_folder = e.n_box = 0;
	}

	layout_build(pf, &prm, &e, &l);
	layout_build(pf, &prm, &e, &l2);
	texts(pf, &prm, &l, &t1);
	texts(pf, &prm, &l2, &t2);
	FUZZ_ASSERT(t1.len == t2.len && fuzz_memeq(t1.p, t2.p, t1.len));
	FUZZ_ASSERT(l.ok == l2.ok && l.status == l2.status &&
	    l.nprob == l2.nprob);
	FUZZ_ASSERT(l.status == layout_state(pf, &e));
	if (pf->kind == LAYOUT_KIND_HOWTO)
		FUZZ_ASSERT(l.status == layout_status(NULL, e.status,
		    e.n_status));
	else
		FUZZ_ASSERT(l.status != LAYOUT_SHARED);
	if (pf->kind != LAYOUT_KIND_HOWTO && l.ok &&
	    l.status == LAYOUT_ACTIVE) {
		int root = strcmp(prm.mail_base, "/") == 0;
		const struct layout_val *v = &e.store[0];
		struct buf w = BUF_INIT;

		FUZZ_ASSERT(l.maildir != NULL && e.n_store >= 1);
		buf_puts(&w, root ? "" : prm.mail_base);
		buf_putc(&w, '/');
		if (pf->kind == LAYOUT_KIND_JAMM) {
			FUZZ_ASSERT(e.n_store == 1 && v->len > 0 &&
			    v->p[v->len - 1] == '/');
			buf_append(&w, v->p, v->len - 1);
		} else {
			buf_append(&w, v->p, v->len);
			buf_puts(&w, "/Maildir");
		}
		FUZZ_ASSERT(strlen(l.maildir) == w.len &&
		    memcmp(l.maildir, w.p, w.len) == 0);
		buf_putc(&w, '/');
		FUZZ_ASSERT(safepath_under(prm.mail_base, w.p, w.len, &rel) ==
		    SAFEPATH_OK);
		buf_free(&w);
		goto out;
	}

	for (size_t k = 0; k < l.nprob; k++)
		refusing += l.prob[k].refuses != 0;
	FUZZ_ASSERT(l.ok == (refusing == 0));
	if (!l.ok || (l.status != LAYOUT_ACTIVE && l.status != LAYOUT_SHARED))
		FUZZ_ASSERT(l.maildir == NULL && l.shared == NULL &&
		    l.link == NULL && l.target == NULL && l.nfolders == 0);
	if (l.ok && l.status == LAYOUT_ACTIVE) {
		FUZZ_ASSERT(e.n_store == 1 && l.maildir != NULL);
		FUZZ_ASSERT(strlen(l.maildir) + 1 == e.store[0].len &&
		    memcmp(l.maildir, e.store[0].p, e.store[0].len - 1) == 0 &&
		    e.store[0].p[e.store[0].len - 1] == '/');
		FUZZ_ASSERT(safepath_under(prm.mail_base, e.store[0].p,
		    e.store[0].len, &rel) == SAFEPATH_OK);
	}
	if (l.ok && l.status == LAYOUT_SHARED) {
		FUZZ_ASSERT(e.n_store == 1 && e.n_folder == 1);
		FUZZ_ASSERT(safepath_under(prm.mail_base, e.store[0].p,
		    e.store[0].len, &rel) == SAFEPATH_OK);
		check_shared(&prm, f, &l);
	}

out:
	layout_free(&l);
	layout_free(&l2);
	buf_free(&t1);
	buf_free(&t2);
	for (int k = 0; k < 4; k++) {
		for (size_t j = 0; j < f[k].n; j++)
			free(f[k].v[j].p);
		free(f[k].v);
	}
	return 0;
}
