/*
 * live: one walk asked of LDAP itself (see live.h).
 *
 * The values found for each step are merged exactly as a snapshot merges
 * them (in the order the server sends entries, duplicates once), so a
 * live answer and the next snapshot's answer agree.  A `single` map whose
 * key has several distinct values answers TEMP and logs the DNs: one of
 * them is a directory error, and guessing would deliver mail to the wrong
 * mailbox.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/ldapconn.h"
#include "common/log.h"
#include "lookupd/live.h"
#include "lookupd/maps.h"
#include "lookupd/pfldap.h"

struct collect {
	const struct walk *w;
	struct buf val[WALK_MAX];	/* merged values per step */
	size_t nval[WALK_MAX];
	struct buf dns[WALK_MAX];
};

static int
has_item(const struct buf *b, const char *v, size_t vlen)
{
	const char *p = b->p, *end = b->p + b->len;

	while (p != NULL && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ilen = (size_t)((nl ? nl : end) - p);

		if (ilen == vlen && memcmp(p, v, vlen) == 0)
			return 1;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* Values are collected "\n"-separated (they cannot hold control bytes),
 * so that a value with a comma in it is still one value here. */
static void
collect_pair(const char *key, size_t klen, const char *val, size_t vlen,
    const char *dn, void *arg)
{
	struct collect *c = arg;

	for (size_t i = 0; i < c->w->n; i++) {
		if (c->w->steplen[i] != klen ||
		    memcmp(c->w->step[i], key, klen) != 0)
			continue;
		if (!has_item(&c->val[i], val, vlen)) {
			if (c->val[i].len)
				buf_putc(&c->val[i], '\n');
			buf_append(&c->val[i], val, vlen);
			c->nval[i]++;
		}
		if (!has_item(&c->dns[i], dn, strlen(dn))) {
			if (c->dns[i].len)
				buf_putc(&c->dns[i], '\n');
			buf_puts(&c->dns[i], dn);
		}
	}
}

struct live_ctx {
	const struct cfg_map *m;
	struct collect *c;
};

static int
live_entry(const struct lentry *e, void *arg)
{
	struct live_ctx *x = arg;

	maps_entry_pairs(x->m, e, collect_pair, x->c, NULL);
	return 0;
}

enum result
live_walk(struct ldapconn *lc, const struct cfg_map *m,
    const struct walk *w, struct live_answer *a)
{
	struct collect c;
	struct live_ctx x = { m, &c };
	struct buf filter = BUF_INIT;
	const struct cfg_map *one[1] = { m };
	const char **attrs;
	enum ldapconn_status st;
	char printable[LOG_PRINTABLE_SIZE];

	a->err[0] = '\0';
	a->step = 0;
	a->unreachable = 0;
	a->failed = 0;
	if (w->n == 0) {
		a->res = RES_NOTFOUND;
		return a->res;
	}
	memset(&c, 0, sizeof(c));
	c.w = w;
	maps_live_filter(m, w, &filter);
	attrs = maps_attrs(one, 1);
	st = ldapconn_search(lc, m->base, m->scope, buf_str(&filter), attrs, 0,
	    live_entry, &x, a->err, sizeof(a->err));
	free(attrs);
	buf_free(&filter);

	if (st != LDAPCONN_OK) {
		/* Anything but a complete answer is TEMP: mail waits. */
		a->res = RES_TEMP;
		a->unreachable = st == LDAPCONN_TEMP;
		a->failed = 1;
		if (a->err[0] == '\0')
			snprintf(a->err, sizeof(a->err), "LDAP lookup failed");
		goto out;
	}
	a->res = RES_NOTFOUND;
	for (size_t i = 0; i < w->n; i++) {
		if (c.nval[i] == 0)
			continue;
		a->step = i;
		if (a->dns)
			buf_append(a->dns, c.dns[i].p, c.dns[i].len);
		if (m->single && c.nval[i] > 1) {
			for (size_t j = 0; j < c.dns[i].len; j++)
				if (c.dns[i].p[j] == '\n')
					c.dns[i].p[j] = ';';
			a->res = RES_TEMP;
			snprintf(a->err, sizeof(a->err),
			    "map %s: key has %zu values in a single-valued map",
			    m->name, c.nval[i]);
			log_warn("map %s: key %s has %zu values (single = yes): "
			    "entries %s", m->name, log_printable(printable,
			    sizeof(printable), w->step[i], w->steplen[i]),
			    c.nval[i], buf_str(&c.dns[i]));
			break;
		}
		a->res = RES_FOUND;
		if (a->value) {
			/* "\n" between values becomes ",", as in the cdb. */
			size_t start = a->value->len;

			buf_append(a->value, c.val[i].p, c.val[i].len);
			for (size_t j = start; j < a->value->len; j++)
				if (a->value->p[j] == '\n')
					a->value->p[j] = ',';
		}
		break;
	}
out:
	for (size_t i = 0; i < WALK_MAX; i++) {
		buf_free(&c.val[i]);
		buf_free(&c.dns[i]);
	}
	return a->res;
}

enum result
live_table_walk(struct pfldap *p, const struct cfg_map *m,
    const struct walk *w, struct live_answer *a)
{
	struct buf val = BUF_INIT, src = BUF_INIT;

	(void)m;
	a->err[0] = '\0';
	a->step = 0;
	a->unreachable = 0;
	a->res = RES_NOTFOUND;
	for (size_t i = 0; i < w->n; i++) {
		enum pfldap_result r;

		buf_reset(&val);
		r = pfldap_lookup_sources(p, w->step[i], &val, a->sources ?
		    &src : NULL, a->err, sizeof(a->err));
		if (r == PFLDAP_NOTFOUND)
			continue;
		if (r == PFLDAP_TEMP) {
			a->res = RES_TEMP;
			if (a->err[0] == '\0')
				snprintf(a->err, sizeof(a->err),
				    "LDAP lookup failed");
			break;
		}
		a->res = RES_FOUND;
		a->step = i;
		if (a->value)
			buf_append(a->value, val.p, val.len);
		if (a->dns)
			buf_puts(a->dns, pfldap_dns(p));
		if (a->sources)
			buf_append(a->sources, src.p, src.len);
		break;
	}
	buf_free(&val);
	buf_free(&src);
	return a->res;
}

enum result
live_walk_any(struct ldapconn *lc, const struct cfg_map *m,
    const struct walk *w, struct live_answer *a)
{
	struct pfldap *p;

	if (m->table == NULL)
		return live_walk(lc, m, w, a);
	p = pfldap_new(m->table);
	live_table_walk(p, m, w, a);
	a->unreachable = a->res == RES_TEMP && pfldap_unreachable(p);
	pfldap_free(p);
	return a->res;
}

int
live_tables_supported(const struct cfg *cfg, char *err, size_t errsz)
{
	char why[512];

	for (size_t i = 0; i < cfg->n_maps; i++) {
		const struct cfg_map *m = &cfg->maps[i];

		if (m->table == NULL ||
		    pfldap_supported(m->table, why, sizeof(why)) == 0)
			continue;
		return log_errf(err, errsz, "%s:%d: [map %s]: ldap_table: %s",
		    m->file ? m->file : cfg->file, m->line, m->name, why);
	}
	return 0;
}
