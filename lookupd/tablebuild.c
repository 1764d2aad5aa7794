/*
 * tablebuild: an ldap_table map's answers from its directory (see
 * tablebuild.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/clock.h"
#include "common/ldapconn.h"
#include "common/ldaptable.h"
#include "common/log.h"
#include "common/matchrule.h"
#include "common/subschema.h"
#include "common/tableclass.h"
#include "lookupd/pfldap.h"
#include "lookupd/snapfile.h"
#include "lookupd/snapwriter.h"
#include "lookupd/tablebuild.h"

struct reader {
	struct tablesnap *s;
	int candidate;
	size_t entries;
	struct mr_value *mv;	/* one attribute's values, reused */
	size_t nmv;
};

static int
take_entry(const struct lentry *le, void *arg)
{
	struct reader *r = arg;
	size_t na = lentry_nattrs(le);

	r->entries++;
	tablesnap_entry(r->s, lentry_dn(le), r->candidate);
	/* occurrence by occurrence, as pfldap's collect() reads them */
	for (size_t i = 0; i < na; i++) {
		const struct lval *v;
		size_t len, nv;
		const char *name = lentry_attr(le, i, &len, &v, &nv);

		if (nv > r->nmv) {
			r->mv = xreallocarray(r->mv, nv, sizeof(*r->mv));
			r->nmv = nv;
		}
		for (size_t j = 0; j < nv; j++) {
			r->mv[j].p = v[j].ptr;
			r->mv[j].len = v[j].len;
		}
		tablesnap_attr(r->s, name, len, r->mv, nv);
	}
	return 0;
}

static const char *
rule_of(const char *attr, void *arg)
{
	return subschema_equality(arg, attr);
}

struct dnlist {
	char **v;
	size_t n;
};

static void
want_dn(const char *dn, void *arg)
{
	struct dnlist *l = arg;

	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(dn);
}

static enum cfg_scope
scope_of(const struct ldaptable *t)
{
	return t->scope == LDAPTABLE_BASE ? CFG_SCOPE_BASE :
	    t->scope == LDAPTABLE_ONE ? CFG_SCOPE_ONE : CFG_SCOPE_SUB;
}

/* The entries special values name: search_base's subtree, then each DN
 * outside it, until every one is known. */
static enum tablebuild_status
read_specials(struct pfldap *p, const struct ldaptable *t, struct reader *r,
    char *err, size_t errsz)
{
	struct ldapconn *lc = pfldap_conn(p);
	const char **attrs = xcalloc(t->nattrs + 1, sizeof(*attrs));
	struct dnlist l = { NULL, 0 };
	size_t reads = 0;
	enum tablebuild_status rc = TABLEBUILD_OK;

	for (size_t i = 0; i < t->nattrs; i++)
		attrs[i] = t->attrs[i];
	r->candidate = 0;
	if (ldapconn_search(lc, t->search_base, CFG_SCOPE_SUB,
	    "(objectClass=*)", attrs, 1, take_entry, r, err, errsz) !=
	    LDAPCONN_OK) {
		rc = TABLEBUILD_TEMP;
		goto out;
	}
	tablesnap_cover(r->s, t->search_base);
	while (rc == TABLEBUILD_OK && tablesnap_unresolved(r->s, want_dn, &l)) {
		for (size_t i = 0; i < l.n; i++) {
			enum ldapconn_status st;

			if (rc != TABLEBUILD_OK) {
				free(l.v[i]);
				continue;
			}
			if (++reads > TABLEBUILD_MAX_DN_READS) {
				tablesnap_cannot(r->s, "special values name "
				    "more entries outside search_base than "
				    "a snapshot reads one by one");
				rc = TABLEBUILD_CANNOT;
				free(l.v[i]);
				continue;
			}
			st = ldapconn_search(lc, l.v[i], CFG_SCOPE_BASE,
			    "(objectClass=*)", attrs, 0, take_entry, r, err,
			    errsz);
			if (st != LDAPCONN_OK && ldapconn_no_such_base(lc))
				tablesnap_absent(r->s, l.v[i]);
			else if (st != LDAPCONN_OK)
				rc = TABLEBUILD_TEMP;
			free(l.v[i]);
		}
		free(l.v);
		l.v = NULL;
		l.n = 0;
	}
	if (rc == TABLEBUILD_CANNOT)
		snprintf(err, errsz, "special values name more than %d "
		    "entries outside search_base", TABLEBUILD_MAX_DN_READS);
out:
	free(attrs);
	return rc;
}

enum tablebuild_status
tablebuild_answers(struct pfldap *p, tablesnap_emit_fn emit, void *arg,
    size_t *entries, char *err, size_t errsz)
{
	const struct ldaptable *t = pfldap_table(p);
	struct subschema *ss = NULL;
	struct tableclass tc;
	struct reader r = { NULL, 1, 0, NULL, 0 };
	struct buf filter = BUF_INIT;
	const char **attrs = NULL;
	enum tablebuild_status rc;

	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (entries)
		*entries = 0;
	memset(&tc, 0, sizeof(tc));
	if (pfldap_subschema(p, &ss, err, errsz) != 0)
		return TABLEBUILD_TEMP;
	tableclass_classify(t, rule_of, ss, &tc);
	if (!tc.enumerable) {
		log_errf(err, errsz, "live-only: %s", tc.why);
		rc = TABLEBUILD_CANNOT;
		goto out;
	}
	r.s = tablesnap_new(t, (const char *const *)tc.key_attrs,
	    tc.nkey_attrs, rule_of, ss);
	tablesnap_read_filter(t, &filter);
	attrs = tablesnap_read_attrs(t);
	if (ldapconn_search(pfldap_conn(p), t->search_base, scope_of(t),
	    buf_str(&filter), attrs, 1, take_entry, &r, err, errsz) !=
	    LDAPCONN_OK) {
		rc = TABLEBUILD_TEMP;
		goto out;
	}
	if (t->nattrs > t->num_attributes) {
		rc = read_specials(p, t, &r, err, errsz);
		if (rc != TABLEBUILD_OK)
			goto out;
	}
	log_debug("tablebuild: %s: %zu entries read in %.0f ms", t->file,
	    r.entries, clock_ms_since(&t0));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = tablesnap_answers(r.s, emit, arg, err, errsz) == 0 ?
	    TABLEBUILD_OK : TABLEBUILD_CANNOT;
	log_debug("tablebuild: %s: answers computed in %.0f ms", t->file,
	    clock_ms_since(&t0));
out:
	if (entries)
		*entries = r.entries;
	tablesnap_free(r.s);
	free(r.mv);
	free(attrs);
	buf_free(&filter);
	tableclass_free(&tc);
	subschema_free(ss);
	return rc;
}

static void
to_writer(const char *key, size_t klen, enum tablesnap_kind kind,
    const char *val, size_t vlen, void *arg)
{
	struct snapwriter *w = arg;

	if (kind == TABLESNAP_FOUND) {
		snapwriter_add(w, key, klen, val, vlen, NULL);
	} else {
		struct buf k = BUF_INIT;

		buf_putc(&k, TABLESNAP_TEMP_MARK);
		buf_append(&k, key, klen);
		snapwriter_add(w, k.p, k.len, val, vlen, NULL);
		buf_free(&k);
	}
}

enum tablebuild_status
tablebuild_writer(const struct cfg *cfg, const struct cfg_map *m,
    struct snapwriter **out, size_t *entries, char *err, size_t errsz)
{
	struct pfldap *p = pfldap_new(m->table);
	struct snapwriter *w = snapwriter_new(cfg->cache_dir, m->name, 0);
	enum tablebuild_status rc;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	snapwriter_set_time(w, &now);
	rc = tablebuild_answers(p, to_writer, w, entries, err, errsz);
	pfldap_free(p);
	if (rc != TABLEBUILD_OK) {
		snapwriter_abort(w);
		w = NULL;
	}
	*out = w;
	return rc;
}

void
tablebuild_remove(const struct cfg *cfg, const struct cfg_map *m)
{
	char path[4096];

	if (snapfile_path(path, sizeof(path), cfg->cache_dir, "", m->name,
	    ".cdb") == 0)
		(void)unlink(path);
	if (snapfile_path(path, sizeof(path), cfg->cache_dir, "", m->name,
	    ".cdb.sha256") == 0)
		(void)unlink(path);
}
