/*
 * lint: `lookupd lint`, what is wrong in the directory (see lint.h).
 *
 * The directory is read once, paged: the associatedDomain values of the
 * domainRelatedObject entries under domain_base (the accepted domains),
 * and every entry under account_base.  An entry there is an account when
 * it is a qmailUser or holds mail, mailMessageStore or accountStatus;
 * the others (organizational units, people without mail) are only
 * looked at as seeAlso targets.  Each account is checked for:
 *
 *  - accountStatus: present, one value, one of active, inactive, shared.
 *    The schema compares it with caseIgnoreIA5Match, so "Active" is the
 *    value active (the filters of lookupd match it): not a problem.
 *  - exactly one mail;
 *  - every mail and mailAlternateAddress is LOCAL@DOMAIN (or @DOMAIN, the
 *    catch-all, when a map has catchall = yes) with DOMAIN an
 *    accepted domain (ASCII case ignored, a trailing dot of an
 *    associatedDomain ignored, as lookupd does);
 *  - no address (case ignored) on two accounts, whatever their status: an
 *    inactive account holding an address blocks nothing today but
 *    becomes ambiguous the day it is reactivated.  Each account names
 *    the other.  The same address as mail and mailAlternateAddress of
 *    one account is harmless (the answers merge) and not reported.
 *  - the account layout, by common/layout (the rule ldap-maildirmake
 *    builds by): mailMessageStore present for active and shared
 *    accounts, one value, ending in "/", absolute, normalized, inside
 *    mail_base; a shared account's store is
 *    <mail_base>/<shared_dir>/NAME/FOLDER/, with one uid, and uid and
 *    every postOfficeBox valid Courier folder names.  The status
 *    problems come first, the others after the addresses.
 *  - every seeAlso is a DN naming an entry under account_base whose
 *    accountStatus is shared (DNs compared normalized).
 *
 * Another profile (lint_set_profile: jamm, ox, apple) puts its own
 * attributes in the same slots (lprofiles below): its account class,
 * address attributes, domains (jamm: active JammVirtualDomain jvd; ox and
 * apple: none to check) and common/layout's row; no seeAlso or shared.
 *
 * Problems come out sorted by the normalized DN of their entry, so two
 * runs over the same directory print the same lines whatever order the
 * server returns entries in.  Values in messages are quoted, with
 * control bytes, invalid UTF-8, '"' and '\' escaped, and cut after 200
 * bytes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/exitcode.h"
#include "common/layout.h"
#include "common/ldapconn.h"
#include "common/log.h"
#include "lookupd/lint.h"
#include "lookupd/maps.h"

enum {
	A_OC, A_MAIL, A_ALT, A_MMS, A_STATUS, A_UID, A_SEE, A_POB, A_OFF, A_N
};

/* The attribute of each slot, per profile (NULL: the profile has none);
 * the account class; whether addresses must be in a domain read from
 * domain_base. */
struct lprofile {
	const char *name;
	const char *names[A_N];
	const char *account_class;
	int domains;
};

static const struct lprofile lprofiles[] = {
	{ "howto", { "objectClass", "mail", "mailAlternateAddress",
	  "mailMessageStore", "accountStatus", "uid", "seeAlso",
	  "postOfficeBox", NULL }, "qmailUser", 1 },
	/* Accounts only: JammMailAlias entries are no mailboxes. */
	{ "jamm", { "objectClass", "mail", NULL, "mailbox", "accountActive",
	  NULL, NULL, NULL, "delete" }, "JammMailAccount", 1 },
	/* The domain map is made of the addresses: every domain is one. */
	{ "ox", { "objectClass", "mail", "alias", "uid", "mailEnabled", NULL,
	  NULL, NULL, "colocRouteAddr" }, "OXUserObject", 0 },
	/* Short names, not addresses: no mail or domain checks. */
	{ "apple", { "objectClass", NULL, NULL, "uid",
	  "apple-user-mailattribute", NULL, NULL, NULL, NULL }, "apple-user",
	  0 },
};

struct vals {
	struct layout_val *v;
	size_t n;
};

struct ent {
	char *dn;		/* as sent */
	char *show;		/* dn made printable */
	char *ndn;		/* normalized (or lowercased if not a DN) */
	struct vals a[A_N];
	int account;
	enum layout_status status;
};

struct problem {
	size_t ent;
	size_t seq;
	char *text;
};

/* One address of one account, for the duplicate search. */
struct addr {
	char *key;		/* lowercased */
	size_t len;
	size_t ent;
	int attr;
	size_t idx;
};

struct lint {
	const struct lprofile *lp;
	const struct layout_profile *pf;
	const char *attrs[A_N + 1];	/* for the search, NULLs left out */
	char *mail_base;
	char *shared_dir;
	char *account_base;
	int catchall;		/* "@DOMAIN" is an address (lint_set_catchall) */

	struct ent *e;
	size_t n;

	char **dom;		/* lowercased, sorted, unique after lint_run */
	size_t ndom;

	struct problem *pr;
	size_t npr;

	size_t *order;		/* entry indexes sorted by ndn */
	struct buf q[3];	/* quoted values for one message */
};

/* ---- text ---------------------------------------------------------- */

/* A quoted value in slot k (0..2) of l, valid until the slot is reused. */
static const char *
qv(struct lint *l, int k, const struct layout_val *v)
{
	buf_reset(&l->q[k]);
	buf_put_shown(&l->q[k], v->p, v->len, 1);
	return buf_str(&l->q[k]);
}

/* The same, unquoted, for bytes that are not a whole value. */
static const char *
qs(struct lint *l, int k, const char *s, size_t len)
{
	buf_reset(&l->q[k]);
	buf_put_shown(&l->q[k], s, len, 0);
	return buf_str(&l->q[k]);
}

static void __attribute__((format(printf, 3, 4)))
say(struct lint *l, size_t i, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvprintf(fmt, ap);
	va_end(ap);
	l->pr = xreallocarray(l->pr, l->npr + 1, sizeof(*l->pr));
	l->pr[l->npr].ent = i;
	l->pr[l->npr].seq = l->npr;
	l->pr[l->npr].text = text;
	l->npr++;
}

/* ---- building ------------------------------------------------------ */

struct lint *
lint_new(const char *mail_base, const char *shared_dir,
    const char *account_base)
{
	struct lint *l = xcalloc(1, sizeof(*l));

	l->mail_base = xstrdup(mail_base);
	l->shared_dir = xstrdup(shared_dir);
	l->account_base = xstrdup(account_base);
	if (lint_set_profile(l, "howto") != 0)
		abort();
	return l;
}

int
lint_set_profile(struct lint *l, const char *name)
{
	size_t n = 0;

	if (name == NULL || strcmp(name, "none") == 0)
		name = "howto";
	for (size_t k = 0; k < sizeof(lprofiles) / sizeof(lprofiles[0]); k++)
		if (strcmp(lprofiles[k].name, name) == 0)
			l->lp = &lprofiles[k];
	if (l->lp == NULL || strcmp(l->lp->name, name) != 0 ||
	    (l->pf = layout_profile(name)) == NULL)
		return -1;
	for (int a = 0; a < A_N; a++) {
		int dup = 0;

		for (int b = 0; b < a; b++)
			if (l->lp->names[b] != NULL && l->lp->names[a] != NULL &&
			    strcmp(l->lp->names[a], l->lp->names[b]) == 0)
				dup = 1;
		if (l->lp->names[a] != NULL && !dup)
			l->attrs[n++] = l->lp->names[a];
	}
	l->attrs[n] = NULL;
	return 0;
}

void
lint_free(struct lint *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct ent *e = &l->e[i];

		free(e->dn);
		free(e->show);
		free(e->ndn);
		for (int a = 0; a < A_N; a++) {
			for (size_t k = 0; k < e->a[a].n; k++)
				free(e->a[a].v[k].p);
			free(e->a[a].v);
		}
	}
	free(l->e);
	for (size_t i = 0; i < l->ndom; i++)
		free(l->dom[i]);
	free(l->dom);
	for (size_t i = 0; i < l->npr; i++)
		free(l->pr[i].text);
	free(l->pr);
	free(l->order);
	for (int k = 0; k < 3; k++)
		buf_free(&l->q[k]);
	free(l->mail_base);
	free(l->shared_dir);
	free(l->account_base);
	free(l);
}

void
lint_set_catchall(struct lint *l, int on)
{
	l->catchall = on;
}

void
lint_add_domain(struct lint *l, const char *d, size_t len)
{
	char *s;

	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0)
		return;
	s = xstrndup(d, len);
	if (strlen(s) != len) {		/* a NUL inside: not a domain */
		free(s);
		return;
	}
	maps_lower(s, len);
	l->dom = xreallocarray(l->dom, l->ndom + 1, sizeof(*l->dom));
	l->dom[l->ndom++] = s;
}

size_t
lint_add_entry(struct lint *l, const char *dn)
{
	struct ent *e;
	struct buf b = BUF_INIT;

	l->e = xreallocarray(l->e, l->n + 1, sizeof(*l->e));
	e = &l->e[l->n];
	memset(e, 0, sizeof(*e));
	e->dn = xstrdup(dn);
	buf_put_shown(&b, dn, strlen(dn), 0);
	e->show = xstrdup(buf_str(&b));
	buf_free(&b);
	if ((e->ndn = ldapconn_dn_normalize(dn)) == NULL) {
		e->ndn = xstrdup(dn);
		maps_lower(e->ndn, strlen(e->ndn));
	}
	return l->n++;
}

const char *const *
lint_attrs(const struct lint *l)
{
	return l->attrs;
}

int
lint_add_value(struct lint *l, size_t i, const char *attr, const char *v,
    size_t len)
{
	struct vals *vs;
	char *p;
	int a;

	if (i >= l->n)
		return -1;
	for (a = 0; a < A_N; a++)
		if (l->lp->names[a] != NULL &&
		    strcasecmp(attr, l->lp->names[a]) == 0)
			break;
	if (a == A_N)
		return -1;
	vs = &l->e[i].a[a];
	p = xmalloc(len + 1);
	if (len > 0)
		memcpy(p, v, len);
	p[len] = '\0';
	vs->v = xreallocarray(vs->v, vs->n + 1, sizeof(*vs->v));
	vs->v[vs->n].p = p;
	vs->v[vs->n].len = len;
	vs->n++;
	return 0;
}

/* ---- checks -------------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
domain_accepted(const struct lint *l, const char *d)
{
	return bsearch(&d, l->dom, l->ndom, sizeof(*l->dom), cmp_str) != NULL;
}

static int
cmp_order(const void *a, const void *b, void *arg)
{
	const struct lint *l = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(l->e[x].ndn, l->e[y].ndn);

	if (c != 0)
		return c;
	return x < y ? -1 : x > y;
}

/* The entry whose normalized DN is ndn, or NULL. */
static const struct ent *
find_ndn(const struct lint *l, const char *ndn)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->e[l->order[mid]].ndn, ndn);

		if (c == 0)
			return &l->e[l->order[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The layout's view of entry e; domain_off set by the caller. */
static void
entry_layout(const struct ent *e, struct layout_entry *le)
{
	memset(le, 0, sizeof(*le));
	le->status = e->a[A_STATUS].v;
	le->n_status = e->a[A_STATUS].n;
	le->store = e->a[A_MMS].v;
	le->n_store = e->a[A_MMS].n;
	le->folder = e->a[A_UID].v;
	le->n_folder = e->a[A_UID].n;
	le->box = e->a[A_POB].v;
	le->n_box = e->a[A_POB].n;
	le->off = e->a[A_OFF].v;
	le->n_off = e->a[A_OFF].n;
}

static void
classify(const struct lint *l, struct ent *e)
{
	const char *oc = l->lp->account_class;
	struct layout_entry le;

	for (size_t k = 0; k < e->a[A_OC].n; k++)
		if (e->a[A_OC].v[k].len == strlen(oc) &&
		    strncasecmp(e->a[A_OC].v[k].p, oc, strlen(oc)) == 0)
			e->account = 1;
	if (l->pf->kind == LAYOUT_KIND_HOWTO &&
	    e->a[A_MAIL].n + e->a[A_MMS].n + e->a[A_STATUS].n > 0)
		e->account = 1;
	entry_layout(e, &le);
	e->status = layout_state(l->pf, &le);
}

/* What common/layout finds wrong with entry i: the problems about its
 * status (first) or the others. */
static void
check_layout(struct lint *l, size_t i, const struct layout_params *prm,
    const struct layout *lay, int status)
{
	for (size_t k = 0; k < lay->nprob; k++) {
		const struct layout_problem *p = &lay->prob[k];

		if ((p->code <= LAYOUT_STATUS_UNKNOWN) != status)
			continue;
		buf_reset(&l->q[0]);
		layout_problem_text(l->pf, prm, p, &l->q[0]);
		say(l, i, "%s", buf_str(&l->q[0]));
	}
}

static void
check_mail(struct lint *l, size_t i)
{
	const struct vals *m = &l->e[i].a[A_MAIL];
	struct buf b = BUF_INIT;

	if (m->n == 0) {
		say(l, i, "mail is missing");
		return;
	}
	if (m->n == 1)
		return;
	for (size_t k = 0; k < m->n; k++) {
		if (k)
			buf_puts(&b, ", ");
		buf_put_shown(&b, m->v[k].p, m->v[k].len, 1);
	}
	say(l, i, "has %zu mail values (%s); exactly one is allowed", m->n,
	    buf_str(&b));
	buf_free(&b);
}

static void
check_addresses(struct lint *l, size_t i)
{
	static const int which[] = { A_MAIL, A_ALT };

	for (size_t w = 0; w < 2; w++) {
		const struct vals *vs = &l->e[i].a[which[w]];
		const char *name = l->lp->names[which[w]];

		for (size_t k = 0; k < vs->n; k++) {
			const struct layout_val *v = &vs->v[k];
			const char *at = NULL;
			char *dom;
			size_t dlen;

			for (size_t j = v->len; j > 0; j--)
				if (v->p[j - 1] == '@') {
					at = v->p + j - 1;
					break;
				}
			/* "@DOMAIN" is the catch-all of DOMAIN when a map
			 * asks for it (catchall = yes), else no address. */
			if (at == NULL || (at == v->p && !l->catchall) ||
			    at == v->p + v->len - 1 ||
			    memchr(v->p, '\0', v->len) != NULL) {
				say(l, i, "%s %s is not an address "
				    "(LOCAL@DOMAIN)", name, qv(l, 0, v));
				continue;
			}
			if (!l->lp->domains)
				continue;
			dlen = (size_t)(v->p + v->len - at - 1);
			dom = xstrndup(at + 1, dlen);
			maps_lower(dom, dlen);
			if (!domain_accepted(l, dom))
				say(l, i, "%s %s: domain %s is not accepted "
				    "(no %s holds it)", name,
				    qv(l, 0, v), qs(l, 1, at + 1, dlen),
				    l->pf->kind == LAYOUT_KIND_JAMM ? "active "
				    "JammVirtualDomain" : "associatedDomain");
			free(dom);
		}
	}
}

static void
check_see_also(struct lint *l, size_t i)
{
	const struct vals *see = &l->e[i].a[A_SEE];

	for (size_t k = 0; k < see->n; k++) {
		const struct layout_val *v = &see->v[k];
		const struct ent *t;
		char *ndn = NULL;

		if (memchr(v->p, '\0', v->len) == NULL)
			ndn = ldapconn_dn_normalize(v->p);
		if (ndn == NULL) {
			say(l, i, "seeAlso %s is not a valid DN", qv(l, 0, v));
			continue;
		}
		t = find_ndn(l, ndn);
		free(ndn);
		if (t == NULL)
			say(l, i, "seeAlso %s names no entry under %s",
			    qv(l, 0, v), l->account_base);
		else if (t->account && t->status == LAYOUT_SHARED)
			continue;
		else if (t->a[A_STATUS].n == 0)
			say(l, i, "seeAlso %s names an entry that is not shared "
			    "(no accountStatus)", qv(l, 0, v));
		else
			say(l, i, "seeAlso %s names an entry that is not shared "
			    "(accountStatus %s)", qv(l, 0, v),
			    qv(l, 1, &t->a[A_STATUS].v[0]));
	}
}

static int
cmp_addr(const void *a, const void *b)
{
	const struct addr *x = a, *y = b;
	int c = bytes_cmp(x->key, x->len, y->key, y->len);

	if (c != 0)
		return c;
	if (x->ent != y->ent)
		return x->ent < y->ent ? -1 : 1;
	if (x->attr != y->attr)
		return x->attr < y->attr ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Every address held by two accounts: each names the other. */
static void
check_duplicates(struct lint *l)
{
	struct addr *v = NULL;
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (!l->e[i].account)
			continue;
		for (int a = A_MAIL; a <= A_ALT; a++) {
			const struct vals *vs = &l->e[i].a[a];

			for (size_t k = 0; k < vs->n; k++) {
				if (vs->v[k].len == 0)
					continue;
				v = xreallocarray(v, n + 1, sizeof(*v));
				v[n].len = vs->v[k].len;
				v[n].key = xmalloc(v[n].len + 1);
				memcpy(v[n].key, vs->v[k].p, v[n].len + 1);
				maps_lower(v[n].key, v[n].len);
				v[n].ent = i;
				v[n].attr = a;
				v[n].idx = k;
				n++;
			}
		}
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_addr);
	for (size_t g = 0, end; g < n; g = end) {
		for (end = g + 1; end < n && v[end].len == v[g].len &&
		    memcmp(v[end].key, v[g].key, v[g].len) == 0; end++)
			;
		if (v[end - 1].ent == v[g].ent)
			continue;	/* one account only */
		for (size_t x = g; x < end; x++)
			for (size_t y = g; y < end; y++) {
				const struct layout_val *val;

				/* Each other account once (sorted by ent). */
				if (v[y].ent == v[x].ent ||
				    (y > g && v[y - 1].ent == v[y].ent))
					continue;
				val = &l->e[v[x].ent].a[v[x].attr].v[v[x].idx];
				say(l, v[x].ent, "%s %s is also an address of %s",
				    l->lp->names[v[x].attr], qv(l, 0, val),
				    l->e[v[y].ent].show);
			}
	}
	for (size_t k = 0; k < n; k++)
		free(v[k].key);
	free(v);
}

static int
cmp_problem(const void *a, const void *b, void *arg)
{
	const struct lint *l = arg;
	const struct problem *x = a, *y = b;
	int c;

	if (x->ent != y->ent) {
		c = strcmp(l->e[x->ent].ndn, l->e[y->ent].ndn);
		if (c != 0)
			return c;
		return x->ent < y->ent ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t
lint_run(struct lint *l, lint_problem_fn fn, void *arg, size_t *accounts,
    size_t *domains)
{
	/* lint names no shared maildir: shared_maildirs_dir is not needed. */
	struct layout_params prm = { l->mail_base, l->shared_dir, "-" };
	size_t nacc = 0, k;

	for (k = 0; k < l->npr; k++)
		free(l->pr[k].text);
	l->npr = 0;

	/* Domains sorted and unique, for bsearch. */
	if (l->ndom > 1)
		qsort(l->dom, l->ndom, sizeof(*l->dom), cmp_str);
	for (size_t r = k = 0; r < l->ndom; r++) {
		if (k > 0 && strcmp(l->dom[k - 1], l->dom[r]) == 0) {
			free(l->dom[r]);
			continue;
		}
		l->dom[k++] = l->dom[r];
	}
	l->ndom = k;

	free(l->order);
	l->order = xcalloc(l->n ? l->n : 1, sizeof(*l->order));
	for (k = 0; k < l->n; k++) {
		l->order[k] = k;
		classify(l, &l->e[k]);
	}
	if (l->n > 1)
		qsort_r(l->order, l->n, sizeof(*l->order), cmp_order, l);

	for (size_t i = 0; i < l->n; i++) {
		const struct ent *e = &l->e[i];
		struct layout_entry le;
		struct layout lay;

		if (!e->account)
			continue;
		nacc++;
		entry_layout(e, &le);
		layout_build(l->pf, &prm, &le, &lay);
		check_layout(l, i, &prm, &lay, 1);
		if (l->lp->names[A_MAIL] != NULL) {
			check_mail(l, i);
			check_addresses(l, i);
		}
		check_layout(l, i, &prm, &lay, 0);
		layout_free(&lay);
		check_see_also(l, i);
	}
	check_duplicates(l);

	if (l->npr > 1)
		qsort_r(l->pr, l->npr, sizeof(*l->pr), cmp_problem, l);
	if (fn != NULL)
		for (k = 0; k < l->npr; k++)
			fn(l->e[l->pr[k].ent].show, l->pr[k].text, arg);
	if (accounts != NULL)
		*accounts = nacc;
	if (domains != NULL)
		*domains = l->ndom;
	return l->npr;
}

/* ---- reading ------------------------------------------------------- */

static int
read_domain(const struct lentry *e, void *arg)
{
	struct lint *l = arg;
	const struct lval *v;
	size_t n = lentry_values(e, l->pf->domain_attr != NULL ?
	    l->pf->domain_attr : "associatedDomain", &v);

	for (size_t k = 0; k < n; k++)
		lint_add_domain(l, v[k].ptr, v[k].len);
	return 0;
}

static int
read_entry(const struct lentry *e, void *arg)
{
	struct lint *l = arg;
	size_t i = lint_add_entry(l, lentry_dn(e));

	for (int a = 0; a < A_N; a++) {
		const struct lval *v;
		struct vals *vs = &l->e[i].a[a];
		size_t n;

		/* Slot by slot: apple's uid fills two. */
		if (l->lp->names[a] == NULL)
			continue;
		n = lentry_values(e, l->lp->names[a], &v);
		for (size_t k = 0; k < n; k++) {
			char *p = xmalloc(v[k].len + 1);

			if (v[k].len > 0)
				memcpy(p, v[k].ptr, v[k].len);
			p[v[k].len] = '\0';
			vs->v = xreallocarray(vs->v, vs->n + 1,
			    sizeof(*vs->v));
			vs->v[vs->n].p = p;
			vs->v[vs->n].len = v[k].len;
			vs->n++;
		}
	}
	return 0;
}

int
lint_read(struct lint *l, const struct cfg *cfg, struct ldapconn *lc,
    char *err, size_t errsz)
{
	const char *dattrs[] = { "associatedDomain", NULL };
	const char *dfilter = "(objectClass=domainRelatedObject)";
	enum ldapconn_status st = LDAPCONN_OK;
	char why[1024];

	if (l->pf->domain_filter != NULL) {
		dattrs[0] = l->pf->domain_attr;
		dfilter = l->pf->domain_filter;
	}
	if (l->lp->domains && cfg->domain_base == NULL)
		return log_errf(err, errsz, "%s: domain_base is not set (lint "
		    "reads the accepted domains there)", cfg->file);
	if (l->lp->domains)
		st = ldapconn_search(lc, cfg->domain_base, CFG_SCOPE_SUB,
		    dfilter, dattrs, 1, read_domain, l, why, sizeof(why));
	if (st != LDAPCONN_OK) {
		log_errf(err, errsz, "cannot read domain_base %s: %s",
		    cfg->domain_base, why);
		return st == LDAPCONN_TEMP ? -2 : -1;
	}
	st = ldapconn_search(lc, cfg->account_base, CFG_SCOPE_SUB,
	    "(objectClass=*)", lint_attrs(l), 1, read_entry, l, why,
	    sizeof(why));
	if (st != LDAPCONN_OK) {
		log_errf(err, errsz, "cannot read account_base %s: %s",
		    cfg->account_base, why);
		return st == LDAPCONN_TEMP ? -2 : -1;
	}
	return 0;
}

/* ---- the command --------------------------------------------------- */

static void
print_problem(const char *dn, const char *text, void *arg)
{
	fprintf(arg, "%s: %s\n", dn, text);
}

int
lint_command(const char *cfg_path, int argc, char **argv)
{
	struct cfg *cfg;
	struct ldapconn *lc;
	struct lint *l;
	char err[2048];
	size_t n, accounts, domains;
	int rc, r;

	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "usage: lookupd [-c FILE] lint\n");
		return 2;
	}
	if ((cfg = cfg_load(cfg_path, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return 2;
	}
	l = lint_new(cfg->mail_base, cfg->shared_dir, cfg->account_base);
	if (lint_set_profile(l, cfg->profile) != 0) {
		log_error("%s: profile %s: lint knows no account layout for it",
		    cfg->file, cfg->profile);
		lint_free(l);
		cfg_free(cfg);
		return 2;
	}
	for (size_t k = 0; k < cfg->n_maps; k++)
		if (cfg->maps[k].catchall)
			lint_set_catchall(l, 1);
	lc = ldapconn_new(cfg);
	if ((r = lint_read(l, cfg, lc, err, sizeof(err))) != 0) {
		log_error("lint: %s", err);
		rc = r == -2 ? exit_temp(2) : 2;
		goto out;
	}
	n = lint_run(l, print_problem, stdout, &accounts, &domains);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error("lint: cannot write the report");
		rc = 2;
		goto out;
	}
	fprintf(stderr, "lint: %zu account%s, %zu domain%s, %zu problem%s\n",
	    accounts, accounts == 1 ? "" : "s", domains, domains == 1 ? "" :
	    "s", n, n == 1 ? "" : "s");
	rc = n > 0 ? 1 : 0;
out:
	ldapconn_free(lc);
	lint_free(l);
	cfg_free(cfg);
	return rc;
}
