/*
 * pfldap: Postfix's ldap: answers, live (see pfldap.h).  The order of
 * the steps, which failures are errors and which state carries from one
 * entry to the next (terminal and leaf flags are kept from the entry
 * before when an entry has none of those attributes, as dict_ldap's
 * loop does) follow Postfix 3.7's dict_ldap.c, read to learn; this is
 * our own code.  Entries of a search are read whole first, then walked:
 * a special attribute's DN is searched on the same session after its
 * parent's search has ended.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/ldapconn.h"
#include "common/ldaptable.h"
#include "common/log.h"
#include "common/pctexpand.h"
#include "common/subschema.h"
#include "lookupd/pfldap.h"

/* One LDAP session, for every table of its pool with the same key. */
struct pfsession {
	char *key;		/* session_key(): never logged (a password) */
	size_t keylen;
	struct cfg cfg;		/* what ldapconn needs, made from a table */
	struct ldapconn *lc;
};

struct pfpool {
	struct pfsession **s;
	size_t n;
};

struct pfldap {
	const struct ldaptable *t;
	struct pfpool *own;	/* pfldap_new: a pool of its own */
	struct ldapconn *lc;	/* its session's */
	const char **attrs;	/* t->attrs, NULL-terminated */
	int unreachable;	/* the last lookup: LDAP said "try later" */
	struct buf dns;		/* the last lookup: DNs behind its values */
};

/* One entry read from a search: attributes in the server's order. */
struct pattr {
	char *name;
	char **vals;		/* C strings: Postfix stops at a NUL too */
	size_t n;
};
struct pentry {
	char *dn;
	struct pattr *a;
	size_t n;
};
struct pentries {
	struct pentry *e;
	size_t n;
	long limit;		/* size_limit; 0: none */
	int over;
};

/* The state of one lookup (dict_ldap keeps it in statics). */
struct walk {
	struct pfldap *p;
	const char *key;
	struct buf *out;
	long expansion;
	int error;
	char *err;
	size_t errsz;
	struct buf *sources;	/* NULL, or "DN TAB VALUE" lines */
};

static void
pentries_free(struct pentries *r)
{
	for (size_t i = 0; i < r->n; i++) {
		for (size_t k = 0; k < r->e[i].n; k++) {
			struct pattr *a = &r->e[i].a[k];

			for (size_t j = 0; j < a->n; j++)
				free(a->vals[j]);
			free(a->vals);
			free(a->name);
		}
		free(r->e[i].a);
		free(r->e[i].dn);
	}
	free(r->e);
	r->e = NULL;
	r->n = 0;
}

static int
collect(const struct lentry *le, void *arg)
{
	struct pentries *r = arg;
	struct pentry *e;
	size_t na = lentry_nattrs(le);

	if (r->limit > 0 && (long)r->n >= r->limit) {
		r->over = 1;
		return 1;
	}
	r->e = xreallocarray(r->e, r->n + 1, sizeof(*r->e));
	e = &r->e[r->n++];
	e->dn = xstrdup(lentry_dn(le));
	e->a = xcalloc(na ? na : 1, sizeof(*e->a));
	e->n = na;
	for (size_t i = 0; i < na; i++) {
		const struct lval *v;
		size_t len, nv;
		const char *name = lentry_attr(le, i, &len, &v, &nv);

		e->a[i].name = xstrndup(name, len);
		e->a[i].vals = xcalloc(nv ? nv : 1, sizeof(char *));
		e->a[i].n = nv;
		for (size_t j = 0; j < nv; j++)
			e->a[i].vals[j] = xstrndup(v[j].ptr, v[j].len);
	}
	return 0;
}

static const struct pattr *
entry_attr(const struct pentry *e, const char *name)
{
	size_t l = strcspn(name, ";");

	for (size_t i = 0; i < e->n; i++)
		if (strlen(e->a[i].name) == l &&
		    strncasecmp(e->a[i].name, name, l) == 0)
			return &e->a[i];
	return NULL;
}

/* Search and read every entry; 0, or -1 (w->error set) on failure;
 * *nobase when the base does not exist. */
static int
search(struct walk *w, const char *base, enum cfg_scope scope,
    const char *filter, const char *const *attrs, struct pentries *r,
    int *nobase)
{
	enum ldapconn_status st;

	*nobase = 0;
	r->limit = w->p->t->size_limit;
	r->over = 0;
	st = ldapconn_search(w->p->lc, base, scope, filter, attrs, 0, collect,
	    r, w->err, w->errsz);
	if (r->over) {
		log_errf(w->err, w->errsz, "%s: size limit (%ld) exceeded",
		    w->p->t->file, w->p->t->size_limit);
		w->error = 1;
		return -1;
	}
	if (st == LDAPCONN_OK)
		return 0;
	w->p->unreachable = st == LDAPCONN_TEMP;
	if (ldapconn_no_such_base(w->p->lc))
		*nobase = 1;
	w->error = 1;
	return -1;
}

/* Postfix's attrdesc_subtype(a1, a2) > 0: a2 is a1 or a subtype. */
static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
subtype(const char *a1, const char *a2)
{
	while (*a1 && lower((unsigned char)*a1) == lower((unsigned char)*a2))
		a1++, a2++;
	return *a1 == '\0' && (*a2 == '\0' || *a2 == ';');
}

static void walk_entries(struct walk *w, struct pentries *r, int depth);

static int
hexd(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* %XX-decode n bytes of s (an LDAP URL part). */
static char *
url_part(const char *s, size_t n)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    hexd(s[i + 1]) >= 0 && hexd(s[i + 2]) >= 0) {
			buf_putc(&b, hexd(s[i + 1]) << 4 | hexd(s[i + 2]));
			i += 2;
		} else {
			buf_putc(&b, s[i]);
		}
	}
	buf_reserve(&b, 0);
	return b.p;
}

static int
is_url(const char *v)
{
	return strncasecmp(v, "ldap://", 7) == 0 ||
	    strncasecmp(v, "ldaps://", 8) == 0 ||
	    strncasecmp(v, "ldapi://", 8) == 0;
}

/* Follow one special value: a DN (base search) or an LDAP URL. */
static void
follow(struct walk *w, const char *v, int depth)
{
	const struct ldaptable *t = w->p->t;
	struct pentries r = { NULL, 0, 0, 0 };
	int nobase;

	if (!is_url(v)) {
		if (search(w, v, CFG_SCOPE_BASE, "objectclass=*",
		    w->p->attrs, &r, &nobase) == 0)
			walk_entries(w, &r, depth + 1);
		else if (nobase)
			w->error = 0;	/* a DN not found: skipped */
		pentries_free(&r);
		return;
	}
	{
		/* ldap://host/dn?attrs?scope?filter: the host is ignored,
		 * as in Postfix (the table's session is used). */
		const char *p = strstr(v, "://") + 3, *q;
		char *dn = NULL, *filter = NULL, *alist = NULL;
		enum cfg_scope scope = CFG_SCOPE_BASE;
		const char **attrs = NULL;
		size_t na = 0;

		p = strchr(p, '/');
		if (p) {
			p++;
			q = p + strcspn(p, "?");
			dn = url_part(p, (size_t)(q - p));
			p = *q ? q + 1 : q;
			q = p + strcspn(p, "?");
			alist = url_part(p, (size_t)(q - p));
			p = *q ? q + 1 : q;
			q = p + strcspn(p, "?");
			if (q - p == 3 && strncasecmp(p, "one", 3) == 0)
				scope = CFG_SCOPE_ONE;
			else if (q - p == 3 && strncasecmp(p, "sub", 3) == 0)
				scope = CFG_SCOPE_SUB;
			p = *q ? q + 1 : q;
			q = p + strcspn(p, "?");
			if (q > p)
				filter = url_part(p, (size_t)(q - p));
		}
		if (dn == NULL)
			dn = xstrdup("");
		/* the attributes: those of the URL that are ours */
		attrs = xcalloc(t->nattrs + 1, sizeof(*attrs));
		if (alist == NULL || *alist == '\0') {
			for (size_t i = 0; i < t->nattrs; i++)
				attrs[na++] = t->attrs[i];
		} else {
			char *save = NULL;

			for (char *a = strtok_r(alist, ",", &save); a &&
			    na < t->nattrs; a = strtok_r(NULL, ",", &save))
				for (size_t i = 0; i < t->nattrs &&
				    na < t->nattrs; i++) {
					if (subtype(a, t->attrs[i]))
						attrs[na++] = t->attrs[i];
					else if (subtype(t->attrs[i], a) &&
					    strcasecmp(a, t->attrs[i]))
						attrs[na++] = a;
				}
		}
		if (na > 0) {
			if (search(w, dn, scope, filter ? filter :
			    "(objectClass=*)", attrs, &r, &nobase) == 0)
				walk_entries(w, &r, depth + 1);
			else if (nobase)
				w->error = 0;
		}
		pentries_free(&r);
		free(attrs);
		free(dn);
		free(alist);
		free(filter);
	}
}

static void
add_value(struct walk *w, const char *v, const char *dn)
{
	const struct ldaptable *t = w->p->t;
	struct buf one = BUF_INIT;

	if (pct_expand(&t->ctx, t->result_format, v, w->key, &one,
	    PCT_QUOTE_NONE)) {
		if (w->out->len > 0)
			buf_putc(w->out, ',');
		buf_append(w->out, one.p ? one.p : "", one.len);
		if (w->sources != NULL) {
			buf_printf(w->sources, "%s\t", dn);
			buf_append(w->sources, one.p ? one.p : "", one.len);
			buf_putc(w->sources, '\n');
		}
		if (t->expansion_limit > 0 &&
		    ++w->expansion > t->expansion_limit) {
			log_errf(w->err, w->errsz, "%s: expansion limit "
			    "(%ld) exceeded", t->file, t->expansion_limit);
			w->error = 1;
		}
	}
	buf_free(&one);
}

/* The DN of an entry whose values went into the answer, once. */
static void
add_dn(struct walk *w, const char *dn)
{
	struct buf *b = &w->p->dns;
	const char *p = b->p, *end = b->p + b->len;
	size_t n = strlen(dn);

	while (p != NULL && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if ((size_t)((nl ? nl : end) - p) == n &&
		    memcmp(p, dn, n) == 0)
			return;
		p = nl ? nl + 1 : NULL;
	}
	if (b->len)
		buf_putc(b, '\n');
	buf_puts(b, dn);
}

static void
walk_entries(struct walk *w, struct pentries *r, int depth)
{
	const struct ldaptable *t = w->p->t;
	int is_leaf = 1, is_terminal = 0;
	long entries = 0;

	for (size_t k = 0; k < r->n; k++) {
		const struct pentry *e = &r->e[k];

		if (!w->error && t->size_limit && ++entries > t->size_limit) {
			log_errf(w->err, w->errsz, "%s: size limit (%ld) "
			    "exceeded", t->file, t->size_limit);
			w->error = 1;
		}
		for (size_t i = 0; i < t->num_terminal; i++) {
			const struct pattr *a = entry_attr(e, t->attrs[i]);

			if (a == NULL)
				continue;
			is_terminal = a->n > 0;
			if (is_terminal)
				break;
		}
		if (!is_terminal && t->num_leaf > 0)
			for (size_t i = t->num_attributes; i < t->nattrs;
			    i++) {
				const struct pattr *a =
				    entry_attr(e, t->attrs[i]);

				if (a == NULL)
					continue;
				is_leaf = a->n == 0;
				if (!is_leaf)
					break;
			}
		for (size_t j = 0; j < e->n; j++) {
			/* An attribute the server lists twice (slapadd keeps
			 * separate lines apart) gives the first one's values
			 * each time (lentry_attr), as for Postfix. */
			const struct pattr *a = &e->a[j];
			size_t i;

			if (w->error || a->n == 0)
				continue;
			for (i = 0; i < t->nattrs; i++)
				if (subtype(t->attrs[i], a->name))
					break;
			if (i < t->num_attributes || is_terminal) {
				if ((is_terminal && i >= t->num_terminal) ||
				    (!is_leaf &&
				    i < t->num_terminal + t->num_leaf))
					continue;
				size_t before = w->out->len;

				for (size_t v = 0; v < a->n && !w->error; v++)
					add_value(w, a->vals[v], e->dn);
				if (w->out->len != before)
					add_dn(w, e->dn);
			} else if (depth < t->recursion_limit &&
			    i < t->nattrs) {
				for (size_t v = 0; v < a->n && !w->error; v++)
					follow(w, a->vals[v], depth);
			} else if (depth >= t->recursion_limit &&
			    i < t->nattrs) {
				log_errf(w->err, w->errsz, "%s: recursion "
				    "limit (%ld) exceeded at %s", t->file,
				    t->recursion_limit, a->name);
				w->error = 1;
			}
		}
	}
}

int
pfldap_supported(const struct ldaptable *t, char *err, size_t errsz)
{
	if (t->dereference != 0)
		return log_errf(err, errsz, "%s: dereference = %d: lookupd "
		    "never dereferences aliases (only 0 is supported)",
		    t->file, t->dereference);
	if (t->chase_referrals)
		return log_errf(err, errsz, "%s: chase_referrals = yes is not "
		    "supported", t->file);
	if (t->version != 3)
		return log_errf(err, errsz, "%s: version = %d is not supported"
		    " (lookupd speaks LDAPv3 only)", t->file, t->version);
	if (t->bind == LDAPTABLE_BIND_SASL &&
	    strcasecmp(t->sasl_mechs, "EXTERNAL") != 0)
		return log_errf(err, errsz, "%s: sasl_mechs = %s: only "
		    "EXTERNAL is supported", t->file, t->sasl_mechs);
	if (*t->tls_ca_cert_dir && !*t->tls_ca_cert_file)
		return log_errf(err, errsz, "%s: tls_ca_cert_dir is not "
		    "supported: name the CA file in tls_ca_cert_file",
		    t->file);
	return 0;
}

/* The session parameters of table t: everything ldapconn reads. */
static void
session_cfg(const struct ldaptable *t, struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->file = t->file;
	c->ldap_uri.v = t->servers;
	c->ldap_uri.n = t->nservers;
	if (t->bind != LDAPTABLE_BIND_NONE && *t->bind_dn) {
		c->bind_dn = t->bind_dn;
		c->bind_pw = t->bind_pw;
	}
	if (t->bind == LDAPTABLE_BIND_SASL && *t->sasl_mechs) {
		c->sasl_mech = t->sasl_mechs;
		if (*t->sasl_authz_id)
			c->sasl_authz_id = t->sasl_authz_id;
	}
	c->tls = t->start_tls ? CFG_TLS_STARTTLS : CFG_TLS_NO;
	if (*t->tls_ca_cert_file)
		c->tls_ca_file = t->tls_ca_cert_file;
	c->tls_require_cert = t->tls_require_cert;
	if (*t->tls_cert)
		c->tls_cert_file = t->tls_cert;
	if (*t->tls_key)
		c->tls_key_file = t->tls_key;
	c->ldap_timeout = t->timeout > 0 ? t->timeout : 10;
	c->failback = 60;
}

static void
key_str(struct buf *k, const char *s)
{
	/* length-prefixed: no value can run into the next */
	buf_printf(k, "%zu:", s ? strlen(s) : 0);
	if (s)
		buf_puts(k, s);
	buf_putc(k, s ? ';' : '-');
}

/* The identity of a session, made from exactly the parameters
 * session_cfg() hands ldapconn (the servers in order, a trailing '/'
 * of a URL dropped; the bind, its password, SASL, TLS, the timeout):
 * two tables with the same key get the same session. */
static void
session_key(const struct cfg *c, struct buf *k)
{
	buf_printf(k, "uri%zu", c->ldap_uri.n);
	for (size_t i = 0; i < c->ldap_uri.n; i++) {
		const char *u = c->ldap_uri.v[i];
		size_t n = strlen(u);

		while (n > 0 && u[n - 1] == '/')
			n--;
		buf_printf(k, "%zu:", n);
		buf_append(k, u, n);
		buf_putc(k, ';');
	}
	key_str(k, c->bind_dn);
	key_str(k, c->bind_pw);
	key_str(k, c->sasl_mech);
	key_str(k, c->sasl_authz_id);
	key_str(k, c->tls_ca_file);
	key_str(k, c->tls_cert_file);
	key_str(k, c->tls_key_file);
	buf_printf(k, "tls%d,%d;timeout%d;failback%d", (int)c->tls,
	    c->tls_require_cert, c->ldap_timeout, c->failback);
}

struct pfpool *
pfpool_new(void)
{
	return xcalloc(1, sizeof(struct pfpool));
}

size_t
pfpool_sessions(const struct pfpool *pool)
{
	return pool ? pool->n : 0;
}

void
pfpool_free(struct pfpool *pool)
{
	if (pool == NULL)
		return;
	for (size_t i = 0; i < pool->n; i++) {
		struct pfsession *x = pool->s[i];

		ldapconn_free(x->lc);
		/* the key holds the bind password */
		explicit_bzero(x->key, x->keylen);
		free(x->key);
		free(x);
	}
	free(pool->s);
	free(pool);
}

struct pfldap *
pfldap_new_shared(const struct ldaptable *t, struct pfpool *pool)
{
	struct pfldap *p = xcalloc(1, sizeof(*p));
	struct pfsession *x = NULL;
	struct cfg c;
	struct buf k = BUF_INIT;

	p->t = t;
	session_cfg(t, &c);
	session_key(&c, &k);
	for (size_t i = 0; i < pool->n && x == NULL; i++)
		if (pool->s[i]->keylen == k.len &&
		    memcmp(pool->s[i]->key, k.p, k.len) == 0)
			x = pool->s[i];
	if (x == NULL) {
		x = xcalloc(1, sizeof(*x));
		x->key = xstrndup(k.p, k.len);
		x->keylen = k.len;
		x->cfg = c;
		x->lc = ldapconn_new(&x->cfg);
		pool->s = xreallocarray(pool->s, pool->n + 1,
		    sizeof(*pool->s));
		pool->s[pool->n++] = x;
	}
	explicit_bzero(k.p, k.len);
	buf_free(&k);
	p->lc = x->lc;
	p->attrs = xcalloc(t->nattrs + 1, sizeof(*p->attrs));
	for (size_t i = 0; i < t->nattrs; i++)
		p->attrs[i] = t->attrs[i];
	return p;
}

struct pfldap *
pfldap_new(const struct ldaptable *t)
{
	struct pfpool *own = pfpool_new();
	struct pfldap *p = pfldap_new_shared(t, own);

	p->own = own;
	return p;
}

enum pfldap_result
pfldap_lookup(struct pfldap *p, const char *key, struct buf *out,
    char *err, size_t errsz)
{
	return pfldap_lookup_sources(p, key, out, NULL, err, errsz);
}

enum pfldap_result
pfldap_lookup_sources(struct pfldap *p, const char *key, struct buf *out,
    struct buf *sources, char *err, size_t errsz)
{
	const struct ldaptable *t = p->t;
	struct buf base = BUF_INIT, filter = BUF_INIT;
	struct pentries r = { NULL, 0, 0, 0 };
	struct walk w = { p, key, out, 0, 0, err, errsz, sources };
	enum pfldap_result res = PFLDAP_NOTFOUND;
	enum cfg_scope scope = t->scope == LDAPTABLE_BASE ? CFG_SCOPE_BASE :
	    t->scope == LDAPTABLE_ONE ? CFG_SCOPE_ONE : CFG_SCOPE_SUB;
	int nobase;

	buf_reset(out);
	buf_reset(&p->dns);
	if (sources != NULL)
		buf_reset(sources);
	p->unreachable = 0;
	if (errsz)
		err[0] = '\0';
	if (!ldaptable_utf8(key) ||
	    !ldaptable_domain_ok(t, key))
		return PFLDAP_NOTFOUND;
	/* an expansion the key lacks a part for: no search, not found */
	if (!pct_expand(&t->ctx, t->search_base, key, NULL, &base,
	    PCT_QUOTE_DN) ||
	    !pct_expand(&t->ctx, t->query_filter, key, NULL, &filter,
	    PCT_QUOTE_FILTER))
		goto done;
	if (search(&w, buf_str(&base), scope, buf_str(&filter), p->attrs,
	    &r, &nobase) < 0) {
		if (nobase && t->dynamic_base)
			res = PFLDAP_NOTFOUND;
		else
			res = PFLDAP_TEMP;
		goto done;
	}
	walk_entries(&w, &r, 1);
	if (w.error)
		res = PFLDAP_TEMP;
	else if (out->len > 0)
		res = PFLDAP_FOUND;
done:
	if (res != PFLDAP_FOUND) {
		buf_reset(out);
		buf_reset(&p->dns);
		if (sources != NULL)
			buf_reset(sources);
	}
	if (res != PFLDAP_TEMP)
		p->unreachable = 0;
	pentries_free(&r);
	buf_free(&base);
	buf_free(&filter);
	return res;
}

static int
subentry_dn(const struct lentry *e, void *arg)
{
	const struct lval *v;
	char **dn = arg;

	if (*dn == NULL && lentry_values(e, "subschemaSubentry", &v) > 0)
		*dn = xstrndup(v[0].ptr, v[0].len);
	return 0;
}

static int
attribute_types(const struct lentry *e, void *arg)
{
	const struct lval *v;
	size_t n = lentry_values(e, "attributeTypes", &v);

	for (size_t i = 0; i < n; i++)
		(void)subschema_add(arg, v[i].ptr, v[i].len);
	return 0;
}

int
pfldap_unreachable(const struct pfldap *p)
{
	return p->unreachable;
}

const char *
pfldap_dns(const struct pfldap *p)
{
	return buf_str(&p->dns);
}

int
pfldap_subschema(struct pfldap *p, struct subschema **out, char *err,
    size_t errsz)
{
	static const char *const a1[] = { "subschemaSubentry", NULL };
	static const char *const a2[] = { "attributeTypes", NULL };
	char *dn = NULL;
	struct subschema *s;

	*out = NULL;
	if (ldapconn_search(p->lc, "", CFG_SCOPE_BASE, "(objectClass=*)", a1,
	    0, subentry_dn, &dn, err, errsz) != LDAPCONN_OK)
		return -1;
	if (dn == NULL)
		return log_errf(err, errsz, "the server names no "
		    "subschemaSubentry");
	s = subschema_new();
	if (ldapconn_search(p->lc, dn, CFG_SCOPE_BASE,
	    "(objectClass=subschema)", a2, 0, attribute_types, s, err, errsz)
	    != LDAPCONN_OK) {
		free(dn);
		subschema_free(s);
		return -1;
	}
	free(dn);
	*out = s;
	return 0;
}

struct ldapconn *
pfldap_conn(struct pfldap *p)
{
	return p->lc;
}

const struct ldaptable *
pfldap_table(const struct pfldap *p)
{
	return p->t;
}

void
pfldap_free(struct pfldap *p)
{
	if (p == NULL)
		return;
	buf_free(&p->dns);
	free(p->attrs);
	pfpool_free(p->own);
	free(p);
}
