/*
 * route: `lookupd route ADDRESS`, an address followed the way Postfix
 * follows it with the shipped configuration (see route.h).
 *
 * What Postfix does, and so what the walk does, in order:
 *   1. trivial-rewrite: the recipient's domain is asked of
 *      virtual_mailbox_domains (the `domain` map).  Not there: smtpd
 *      answers "454 4.7.1 Relay access denied" to a client that may not
 *      relay (Postfix's default smtpd_relay_restrictions end in
 *      defer_unauth_destination; 554 5.7.1 with reject_unauth_destination)
 *      and the mail never comes in.  virtual_alias_domains is empty in the
 *      shipped main.cf; mydestination is not ours to know.
 *   2. smtpd, reject_unlisted_recipient: the address must be in
 *      virtual_alias_maps (`alias`) or virtual_mailbox_maps (`mailbox`),
 *      else "550 5.1.1 ... User unknown in virtual mailbox table".
 *   3. cleanup, virtual alias expansion (cleanup_map1n.c): a list that
 *      starts as the address; each item is looked up again and again and
 *      replaced by the first address of the answer (the others go to the
 *      end of the list) until it is not found, or until it expanded into
 *      itself ("an address may expand into itself once").  A chain that
 *      comes back to an address is a loop: Postfix goes round it until
 *      virtual_alias_recursion_limit and then refuses the message with
 *      "451 4.6.0 Alias expansion error", as it does for a list longer
 *      than virtual_alias_expansion_limit or an address longer than
 *      virtual_alias_address_length_limit.  Duplicates are dropped
 *      (case-insensitively), as cleanup's duplicate filter does.
 *   4. each final recipient: its domain again (not ours: smtp(8) takes
 *      it away), the `transport` map when there is one (the address
 *      only: Postfix never asks a socketmap or tcp transport table for
 *      the domain, see maps.c for the catchall that answers it; an
 *      answer naming the transport `virtual`, or none for a domain of
 *      ours, is still virtual(8), as the Jamm howto's "virtual:" is),
 *      then virtual(8): `mailbox` (which virtual(8)
 *      reads from the cdb file only), `uid` and `gid` when there are
 *      such maps.  A relative mailbox (the jamm, ox and apple profiles)
 *      lies below virtual_mailbox_base, which those profiles set to
 *      mail_base.  With the howto's layout, a mailbox below
 *      <mail_base>/<shared_dir>/ is a shared folder: the path is the
 *      delivery link into the shared maildir (the other profiles have
 *      no shared folders).
 * A lookup is made once per (map, key) and shown once, where it is first
 * needed.  Steps that need LDAP while it cannot be asked end the walk
 * with "unknown" (exit 2): a guess would be worse than no answer.
 *
 * The resolver of the command is the daemon's own code: decide() (the
 * order the daemon answers in: the map's cdb snapshot if it verifies and
 * is younger than max_stale, then a live walk if miss_lookup), and the
 * same live walk its workers run.  The snapshot records no DNs, so for
 * a snapshot answer the same walk is asked of LDAP for them; when LDAP
 * cannot be asked the DN is "(snapshot: DN not recorded)".  There is no
 * daemon in the way, so no memory of live answers either: a live "not
 * found" here may be a "found" the daemon still hides for up to
 * negative_ttl seconds.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/exitcode.h"
#include "common/layout.h"
#include "common/ldapconn.h"
#include "common/ldapesc.h"
#include "common/log.h"
#include "lookupd/decide.h"
#include "lookupd/live.h"
#include "lookupd/maps.h"
#include "lookupd/route.h"
#include "lookupd/snapshot.h"

#define POSTFIX_LIMIT	1000

/* ---- the report ------------------------------------------------------ */

enum ftype { F_STR, F_INT, F_LIST, F_DNS };

struct fact {
	const char *name;
	enum ftype type;
	char *s;
	long n;
	const char *unit;
	char **v;
	size_t nv;
	int unknown;		/* F_DNS: LDAP could not be asked */
};

struct step {
	const char *kind;
	char *subject;
	char *summary;
	struct fact *f;
	size_t nf;
};

struct strvec {
	char **v;
	size_t n;
};

struct memo {
	char *map;
	char *key;
	struct route_answer a;
	int shown;
};

struct route {
	struct route_params p;
	const struct route_resolver *r;
	char *address;
	struct step **steps;
	size_t nsteps;
	struct memo **memo;
	size_t nmemo;
	int rc;			/* 0, 2 or 1: the worst so far */
	char *verdict;
	char *reason;
};

static void
vec_push(struct strvec *v, const char *s)
{
	v->v = xreallocarray(v->v, v->n + 1, sizeof(*v->v));
	v->v[v->n++] = xstrdup(s);
}

static void
vec_free(struct strvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static int
vec_has(const struct strvec *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcasecmp(v->v[i], s) == 0)
			return 1;
	return 0;
}

static struct step *
step_new(struct route *rt, const char *kind, const char *subject)
{
	struct step *st = xcalloc(1, sizeof(*st));

	st->kind = kind;
	st->subject = xstrdup(subject);
	rt->steps = xreallocarray(rt->steps, rt->nsteps + 1,
	    sizeof(*rt->steps));
	rt->steps[rt->nsteps++] = st;
	return st;
}

static struct fact *
fact_new(struct step *st, const char *name, enum ftype type)
{
	struct fact *f;

	st->f = xreallocarray(st->f, st->nf + 1, sizeof(*st->f));
	f = &st->f[st->nf++];
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->type = type;
	return f;
}

static void
fact_str(struct step *st, const char *name, const char *s)
{
	fact_new(st, name, F_STR)->s = xstrdup(s);
}

static void
fact_int(struct step *st, const char *name, long n, const char *unit)
{
	struct fact *f = fact_new(st, name, F_INT);

	f->n = n;
	f->unit = unit;
}

/* Items of a "\n"-separated list; nothing for an empty one. */
static void
split_lines(const struct buf *b, char ***v, size_t *n)
{
	const char *p = b->p, *end = b->p + b->len;

	*v = NULL;
	*n = 0;
	while (p != NULL && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);

		if (len > 0) {
			*v = xreallocarray(*v, *n + 1, sizeof(**v));
			(*v)[(*n)++] = xstrndup(p, len);
		}
		p = nl ? nl + 1 : NULL;
	}
}

static void
fact_list(struct step *st, const char *name, const struct buf *b)
{
	struct fact *f;

	if (b->len == 0)
		return;
	f = fact_new(st, name, F_LIST);
	split_lines(b, &f->v, &f->nv);
	if (f->nv == 0)
		st->nf--;
}

/* The first (worst) verdict of each rank stays: rejected/undeliverable
 * (1) over unknown (2) over deliverable (0). */
static int
rank(int rc)
{
	return rc == 1 ? 2 : rc == 2 ? 1 : 0;
}

static void
verdict(struct route *rt, int rc, const char *v, char *reason)
{
	if (rt->verdict != NULL && rank(rc) <= rank(rt->rc)) {
		free(reason);
		return;
	}
	free(rt->verdict);
	free(rt->reason);
	rt->rc = rc;
	rt->verdict = xstrdup(v);
	rt->reason = reason;
}

/* ---- lookups --------------------------------------------------------- */

static const char *
result_name(enum result r)
{
	switch (r) {
	case RES_FOUND:
		return "found";
	case RES_NOTFOUND:
		return "notfound";
	case RES_TEMP:
		return "temp";
	case RES_PERM:
		return "perm";
	}
	return "?";
}

static const char *
source_name(enum route_source s)
{
	switch (s) {
	case ROUTE_SRC_SNAPSHOT:
		return "snapshot";
	case ROUTE_SRC_LIVE:
		return "live";
	case ROUTE_SRC_NONE:
		break;
	}
	return "none";
}

static void
answer_init(struct route_answer *a)
{
	memset(a, 0, sizeof(*a));
	a->age = -1;
	a->res = RES_TEMP;
}

static void
answer_free(struct route_answer *a)
{
	buf_free(&a->value);
	buf_free(&a->key);
	buf_free(&a->snapshot);
	buf_free(&a->snapstate);
	buf_free(&a->dns);
	buf_free(&a->sources);
	buf_free(&a->notes);
}

/* map/key, asked once per run. */
static struct memo *
ask(struct route *rt, const char *map, const char *key)
{
	struct memo *m;

	for (size_t i = 0; i < rt->nmemo; i++)
		if (strcmp(rt->memo[i]->map, map) == 0 &&
		    strcmp(rt->memo[i]->key, key) == 0)
			return rt->memo[i];
	m = xcalloc(1, sizeof(*m));
	m->map = xstrdup(map);
	m->key = xstrdup(key);
	answer_init(&m->a);
	rt->r->lookup(rt->r->ctx, map, key, &m->a);
	if (m->a.res == RES_FOUND && m->a.value.len == 0)
		m->a.res = RES_TEMP;	/* lookupd never answers empty */
	rt->memo = xreallocarray(rt->memo, rt->nmemo + 1, sizeof(*rt->memo));
	rt->memo[rt->nmemo++] = m;
	return m;
}

static char *
lower_dup(const char *s)
{
	char *l = xstrdup(s);

	maps_lower(l, strlen(l));
	return l;
}

/* Domains are asked in lowercase, as trivial-rewrite asks them. */
static struct memo *
ask_lower(struct route *rt, const char *map, const char *dom)
{
	char *l = lower_dup(dom);
	struct memo *m = ask(rt, map, l);

	free(l);
	return m;
}

static int
has_map(const struct route *rt, const char *map)
{
	return rt->r->has_map(rt->r->ctx, map);
}

/* The items of an answer: split at commas and white space. */
static void
answer_items(const struct buf *value, struct strvec *out)
{
	const char *p = value->p, *end = value->p + value->len;

	while (p != NULL && p < end) {
		size_t n = strcspn(p, ", \t");
		char *item;

		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		if (n > 0) {
			item = xstrndup(p, n);
			out->v = xreallocarray(out->v, out->n + 1,
			    sizeof(*out->v));
			out->v[out->n++] = item;
		}
		p += n;
		if (p < end)
			p++;
	}
}

static char *
summary_of(const struct memo *m)
{
	const struct route_answer *a = &m->a;

	switch (a->res) {
	case RES_FOUND:
		if (strcmp(m->map, "domain") == 0)
			return xstrdup("accepted");
		if (strcmp(m->map, "alias") == 0) {
			struct strvec items = { NULL, 0 };
			struct buf b = BUF_INIT;
			int self = 0;

			answer_items(&a->value, &items);
			for (size_t i = 0; i < items.n; i++) {
				if (i)
					buf_puts(&b, ", ");
				buf_puts(&b, items.v[i]);
				if (strcasecmp(items.v[i], m->key) == 0)
					self = 1;
			}
			if (self)
				buf_puts(&b, items.n == 1 ?
				    " (itself: final)" :
				    " (itself once: final)");
			vec_free(&items);
			return b.p ? b.p : xstrdup("");
		}
		return xstrndup(a->value.p, a->value.len);
	case RES_NOTFOUND:
		if (strcmp(m->map, "domain") == 0)
			return xstrdup("not accepted");
		return xstrdup("not found");
	case RES_TEMP:
		if (a->unreachable)
			return xprintf("unknown: LDAP could not be asked");
		return xprintf("temporary error: %s", a->err);
	case RES_PERM:
		return xprintf("error: %s", a->err);
	}
	return xstrdup("?");
}

/* "DN TAB VALUE" lines as "VALUE <- DN" lines: which entry each value
 * of an ldap_table answer came from (a group's members each from theirs). */
static void
from_lines(const struct buf *src, struct buf *out)
{
	const char *p = src->p, *end = src->p + src->len;

	while (p != NULL && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *tab = memchr(p, '\t', (size_t)(le - p));

		if (tab != NULL) {
			buf_append(out, tab + 1, (size_t)(le - tab - 1));
			buf_puts(out, " <- ");
			buf_append(out, p, (size_t)(tab - p));
			buf_putc(out, '\n');
		}
		p = nl ? nl + 1 : NULL;
	}
}

/* The lookup as a step, the first time it matters. */
static void
show(struct route *rt, struct memo *m)
{
	const struct route_answer *a = &m->a;
	struct step *st;
	struct buf notes = BUF_INIT;

	if (m->shown)
		return;
	m->shown = 1;
	st = step_new(rt, m->map, m->key);
	st->summary = summary_of(m);
	if (a->res == RES_FOUND) {
		char *lk = lower_dup(m->key);

		fact_str(st, "key", buf_str(&a->key));
		if (a->key.len > 0 && strchr(m->key, '@') != NULL &&
		    strcmp(lk, buf_str(&a->key)) != 0 && (a->key.p[0] ==
		    '@' || memchr(a->key.p, '@', a->key.len) == NULL))
			buf_puts(&notes, "catch-all: the address itself is "
			    "not in the map, its domain is\n");
		else if (a->key.len > 0 && strcmp(lk, buf_str(&a->key)) != 0 &&
		    strchr(m->key, '@') != NULL)
			buf_puts(&notes, "found without the address extension"
			    "\n");
		free(lk);
	}
	fact_str(st, "result", result_name(a->res));
	if (a->res == RES_FOUND)
		fact_str(st, "answer", buf_str(&a->value));
	fact_str(st, "source", source_name(a->src));
	if (a->snapshot.len > 0)
		fact_str(st, "snapshot", buf_str(&a->snapshot));
	if (a->age >= 0)
		fact_int(st, "age", a->age, "s");
	if (a->snapstate.len > 0)
		fact_str(st, "snapshot_state", buf_str(&a->snapstate));
	if (a->res == RES_FOUND || a->dns.len > 0) {
		struct fact *f = fact_new(st, "dn", F_DNS);

		split_lines(&a->dns, &f->v, &f->nv);
		f->unknown = !a->dn_known;
		if (!f->unknown && f->nv == 0)
			st->nf--;
	}
	if (a->res == RES_FOUND && a->sources.len > 0) {
		struct buf from = BUF_INIT;

		from_lines(&a->sources, &from);
		fact_list(st, "from", &from);
		buf_free(&from);
	}
	if ((a->res == RES_TEMP || a->res == RES_PERM) && a->err[0])
		fact_str(st, "error", a->err);
	buf_append(&notes, a->notes.p, a->notes.len);
	fact_list(st, "note", &notes);
	buf_free(&notes);
}

/* A lookup that failed ends the walk: exit 2 when LDAP could not be
 * asked, 1 when the directory answered with an error. */
static void
lookup_failed(struct route *rt, const struct memo *m, const char *what)
{
	if (m->a.res == RES_TEMP && m->a.unreachable)
		verdict(rt, 2, "unknown", xprintf("%s: %s map lookup for %s "
		    "needs LDAP, which could not be asked (%s); Postfix defers "
		    "the mail", what, m->map, m->key, m->a.err));
	else
		verdict(rt, 1, "undeliverable", xprintf("%s: %s map lookup "
		    "for %s fails (%s); Postfix defers the mail until the "
		    "directory is fixed", what, m->map, m->key, m->a.err));
}

/* ---- the walk -------------------------------------------------------- */

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at && at[1] ? at + 1 : NULL;
}

/* Step 3: virtual alias expansion.  0 with the final recipients in out,
 * -1 when the walk ended (verdict set). */
static int
expand(struct route *rt, struct strvec *out)
{
	struct strvec list = { NULL, 0 }, been = { NULL, 0 };
	struct strvec chain = { NULL, 0 };
	int rc = -1;

	vec_push(&list, rt->address);
	if (!has_map(rt, "alias"))
		goto done;
	for (size_t i = 0; i < list.n; i++) {
		/* Checked where Postfix checks it: before each item. */
		if (list.n > rt->p.expansion_limit) {
			step_new(rt, "limit", rt->address)->summary =
			    xprintf("more than %zu addresses "
			    "(virtual_alias_expansion_limit)",
			    rt->p.expansion_limit);
			verdict(rt, 1, "undeliverable", xprintf("451 4.6.0 "
			    "Alias expansion error: unreasonable "
			    "virtual_alias_maps map expansion size for %s",
			    rt->address));
			goto out;
		}
		vec_free(&chain);
		for (size_t count = 0;; count++) {
			const char *cur = list.v[i];
			struct memo *m;
			struct strvec items = { NULL, 0 };
			char *saved;

			if (vec_has(&been, cur))
				break;
			if (count >= rt->p.recursion_limit) {
				step_new(rt, "limit", rt->address)->summary =
				    xprintf("more than %zu nested aliases "
				    "(virtual_alias_recursion_limit)",
				    rt->p.recursion_limit);
				verdict(rt, 1, "undeliverable", xprintf("451 "
				    "4.6.0 Alias expansion error: unreasonable "
				    "virtual_alias_maps map nesting for %s",
				    rt->address));
				goto out;
			}
			if (vec_has(&chain, cur)) {
				struct buf b = BUF_INIT;
				struct step *st;

				for (size_t k = 0; k < chain.n; k++) {
					buf_puts(&b, chain.v[k]);
					buf_puts(&b, " -> ");
				}
				buf_puts(&b, cur);
				st = step_new(rt, "loop", chain.v[0]);
				st->summary = xstrdup(buf_str(&b));
				buf_free(&b);
				verdict(rt, 1, "undeliverable", xprintf("alias "
				    "loop through %s: Postfix follows it up to "
				    "virtual_alias_recursion_limit (%zu) and "
				    "answers \"451 4.6.0 Alias expansion "
				    "error\"; the sender's server retries, then "
				    "returns the mail", cur,
				    rt->p.recursion_limit));
				goto out;
			}
			vec_push(&chain, cur);
			m = ask(rt, "alias", cur);
			show(rt, m);
			if (m->a.res == RES_NOTFOUND)
				break;
			if (m->a.res != RES_FOUND) {
				lookup_failed(rt, m, "451 4.6.0 Alias "
				    "expansion error");
				goto out;
			}
			answer_items(&m->a.value, &items);
			saved = xstrdup(cur);
			for (size_t k = 0; k < items.n; k++) {
				if (strlen(items.v[k]) > rt->p.addrlen_limit) {
					step_new(rt, "limit", saved)->summary =
					    xprintf("an address of %zu bytes "
					    "(virtual_alias_address_length_"
					    "limit %zu)", strlen(items.v[k]),
					    rt->p.addrlen_limit);
					verdict(rt, 1, "undeliverable",
					    xprintf("451 4.6.0 Alias expansion "
					    "error: an address in the expansion "
					    "of %s is too long", saved));
					free(saved);
					vec_free(&items);
					goto out;
				}
				if (k == 0) {
					free(list.v[i]);
					list.v[i] = xstrdup(items.v[k]);
				} else
					vec_push(&list, items.v[k]);
				if (strcasecmp(saved, items.v[k]) == 0 &&
				    !vec_has(&been, saved))
					vec_push(&been, saved);
			}
			free(saved);
			vec_free(&items);
		}
	}
done:
	for (size_t i = 0; i < list.n; i++)
		if (!vec_has(out, list.v[i]))
			vec_push(out, list.v[i]);
	rc = 0;
out:
	vec_free(&list);
	vec_free(&been);
	vec_free(&chain);
	return rc;
}

static const struct layout_profile *
route_layout(const struct route *rt)
{
	return rt->p.layout != NULL ? rt->p.layout : layout_profile(NULL);
}

/* The domain map does not answer d (not shown yet): with a layout that
 * keeps domain entries with an active flag (jamm), its notes name the
 * entries that hold the domain but are not active (common/layout's
 * domain_filter): their accounts and aliases get no mail. */
static void
domain_off(struct route *rt, struct memo *d)
{
	const struct layout_profile *lay = route_layout(rt);
	struct buf f = BUF_INIT, dns = BUF_INIT;
	char err[512] = "";
	char **v;
	size_t nv;

	if (lay->domain_filter == NULL || rt->r->domains == NULL)
		return;
	buf_printf(&f, "(&(%s=", lay->domain_attr);
	ldapesc_filter_buf(&f, d->key, strlen(d->key));
	buf_printf(&f, ")(!%s))", lay->domain_filter);
	if (rt->r->domains(rt->r->ctx, buf_str(&f), &dns, err,
	    sizeof(err)) != 0) {
		buf_printf(&d->a.notes, "LDAP could not be asked for an "
		    "inactive domain entry: %s\n", err);
		goto out;
	}
	split_lines(&dns, &v, &nv);
	for (size_t i = 0; i < nv; i++) {
		buf_printf(&d->a.notes, "%s holds it but is no active domain: "
		    "its accounts and aliases get no mail\n", v[i]);
		free(v[i]);
	}
	free(v);
out:
	buf_free(&f);
	buf_free(&dns);
}

/* Does a transport map answer leave the recipient to virtual(8)?  The
 * transport `virtual` (the shipped master.cf's virtual(8) service), or
 * none at all (":nexthop", the default transport of the address's class:
 * virtual_transport for a domain of ours). */
static int
virtual_transport(const char *answer, int ours)
{
	size_t n = strcspn(answer, ":");

	return (n == 7 && strncmp(answer, "virtual", 7) == 0) ||
	    (n == 0 && ours);
}

/* What is on disk at the delivery link path (lstat/readlink only). */
static char *
link_on_disk(const char *path, const char *target)
{
	char got[4096];
	ssize_t n = readlink(path, got, sizeof(got) - 1);

	if (n >= 0) {
		got[n] = '\0';
		if (strcmp(got, target) == 0)
			return xstrdup("present");
		return xprintf("wrong: a link to %s", got);
	}
	if (errno == ENOENT)
		return xstrdup("missing (until ldap-maildirmake makes it, "
		    "virtual(8) would make a plain maildir there)");
	if (errno == EINVAL)
		return xstrdup("wrong: not a symbolic link (mail stays there, "
		    "out of the shared folder)");
	return xprintf("not checked: %s", strerror(errno));
}

/* A mailbox below <mail_base>/<shared_dir>/: the delivery link into the
 * shared maildir (SPEC, ldap-maildirmake).  *target gets the link's
 * target (or NULL).  Returns the step, or NULL when path is no shared
 * folder store. */
static struct step *
shared_step(struct route *rt, const char *rcpt, const char *path,
    const struct memo *mb, char **target)
{
	struct layout_params lp = { rt->p.mail_base, rt->p.shared_dir,
	    rt->p.shared_maildirs_dir };
	size_t len = strlen(path);
	char *link = NULL, *smd = NULL, *uid = NULL, *why = NULL, *dir;
	struct step *st = NULL;
	int c;

	*target = NULL;
	/* The rule of common/layout, as ldap-maildirmake builds it. */
	c = layout_shared_split(&lp, path, len, &link, &smd);
	if (c == LAYOUT_SHARED_OUTSIDE)
		goto out;
	st = step_new(rt, "shared", rcpt);
	if (path[len - 1] != '/') {
		st->summary = xstrdup("not a maildir: the store does not end "
		    "in \"/\" (lookupd lint says more)");
		goto out;
	}
	if (c == LAYOUT_SHARED_FLAT) {
		dir = layout_base_join(&lp, rt->p.shared_dir);
		st->summary = xprintf("not a shared folder: the store must lie "
		    "in a directory below %s/ (lookupd lint says more)", dir);
		free(dir);
		goto out;
	}
	/* The folder is the entry's uid, which only the directory knows. */
	if (mb->a.dn_known && mb->a.dns.len > 0) {
		struct buf dn = BUF_INIT, vals = BUF_INIT;
		const char *nl = memchr(mb->a.dns.p, '\n', mb->a.dns.len);
		char err[512] = "";
		char **v;
		size_t nv;

		buf_append(&dn, mb->a.dns.p, nl ? (size_t)(nl - mb->a.dns.p) :
		    mb->a.dns.len);
		if (rt->r->attr(rt->r->ctx, buf_str(&dn),
		    route_layout(rt)->folder_attr, &vals, err,
		    sizeof(err)) != 0)
			why = xprintf("unknown: LDAP could not be asked (%s)",
			    err);
		else {
			split_lines(&vals, &v, &nv);
			if (nv == 1)
				uid = xstrdup(v[0]);
			else
				why = xprintf("unknown: the entry has %zu uid "
				    "values (lookupd lint says more)", nv);
			for (size_t i = 0; i < nv; i++)
				free(v[i]);
			free(v);
		}
		buf_free(&dn);
		buf_free(&vals);
	} else
		why = xstrdup("unknown: LDAP could not be asked for the "
		    "entry's uid");
	st->summary = xprintf("shared folder %s of the shared maildir %s",
	    uid ? uid : "(uid unknown)", smd);
	fact_str(st, "link", link);
	fact_str(st, "shared_maildir", smd);
	fact_str(st, "folder", uid ? uid : why);
	if (uid) {
		*target = layout_folder_path(smd, uid, strlen(uid));
		fact_str(st, "target", *target);
		if (rt->p.check_disk) {
			char *d = link_on_disk(link, *target);

			fact_str(st, "on_disk", d);
			free(d);
		} else
			fact_str(st, "on_disk", "not checked");
	}
out:
	free(link);
	free(smd);
	free(uid);
	free(why);
	return st;
}

/* Step 4 for one final recipient: 0, 1 or 2 (see route_exit). */
static int
deliver(struct route *rt, const char *rcpt)
{
	const char *dom = domain_of(rcpt);
	struct memo *d, *t = NULL, *mb, *ids[2] = { NULL, NULL };
	static const char *const idmaps[2] = { "uid", "gid" };
	struct step *st;
	char *target = NULL, *path = NULL;
	const char *box;

	if (dom == NULL) {
		st = step_new(rt, "delivery", rcpt);
		st->summary = xstrdup("not followed: no domain (Postfix "
		    "appends @$myorigin, which lookupd does not know)");
		fact_str(st, "agent", "unknown");
		return 0;
	}
	d = ask_lower(rt, "domain", dom);
	show(rt, d);
	if (d->a.res != RES_FOUND && d->a.res != RES_NOTFOUND) {
		lookup_failed(rt, d, rcpt);
		return d->a.unreachable ? 2 : 1;
	}
	if (has_map(rt, "transport")) {
		t = ask(rt, "transport", rcpt);
		show(rt, t);
		if (t->a.res != RES_FOUND && t->a.res != RES_NOTFOUND) {
			lookup_failed(rt, t, rcpt);
			return t->a.unreachable ? 2 : 1;
		}
		if (t->a.res != RES_FOUND)
			t = NULL;
	}
	if (t != NULL && !virtual_transport(buf_str(&t->a.value),
	    d->a.res == RES_FOUND)) {
		st = step_new(rt, "delivery", rcpt);
		st->summary = xprintf("%s (transport map)",
		    buf_str(&t->a.value));
		fact_str(st, "agent", buf_str(&t->a.value));
		return 0;
	}
	if (d->a.res == RES_NOTFOUND && t == NULL) {
		st = step_new(rt, "delivery", rcpt);
		st->summary = xprintf("smtp(8) to %s (not a domain of this "
		    "system)", d->key);
		fact_str(st, "agent", "smtp");
		return 0;
	}
	mb = ask(rt, "mailbox", rcpt);
	show(rt, mb);
	if (mb->a.res == RES_NOTFOUND) {
		st = step_new(rt, "delivery", rcpt);
		st->summary = xstrdup("none: not in the mailbox map");
		fact_str(st, "agent", "virtual");
		verdict(rt, 1, "undeliverable", xprintf("virtual(8): 5.1.1 "
		    "unknown user: \"%s\" (soft_bounce = yes: deferred, then "
		    "returned to the sender)", rcpt));
		return 1;
	}
	if (mb->a.res != RES_FOUND) {
		lookup_failed(rt, mb, rcpt);
		return mb->a.unreachable ? 2 : 1;
	}
	for (int i = 0; i < 2; i++) {
		if (!has_map(rt, idmaps[i]))
			continue;
		ids[i] = ask(rt, idmaps[i], rcpt);
		show(rt, ids[i]);
		if (ids[i]->a.res == RES_NOTFOUND) {
			st = step_new(rt, "delivery", rcpt);
			st->summary = xprintf("none: not in the %s map",
			    idmaps[i]);
			fact_str(st, "agent", "virtual");
			verdict(rt, 1, "undeliverable", xprintf("virtual(8): "
			    "5.3.0 mail system configuration error: no %s for "
			    "%s", idmaps[i], rcpt));
			return 1;
		}
		if (ids[i]->a.res != RES_FOUND) {
			lookup_failed(rt, ids[i], rcpt);
			return ids[i]->a.unreachable ? 2 : 1;
		}
	}
	box = buf_str(&mb->a.value);
	if (box[0] != '/') {
		/* virtual_mailbox_base = mail_base (the profiles' setting) */
		struct layout_params lp = { rt->p.mail_base, rt->p.shared_dir,
		    rt->p.shared_maildirs_dir };

		path = layout_base_join(&lp, box);
	} else if (route_layout(rt)->folder_attr != NULL)
		shared_step(rt, rcpt, box, mb, &target);
	st = step_new(rt, "delivery", rcpt);
	if (target != NULL)
		st->summary = xprintf("virtual(8) into %s, a link to %s",
		    box, target);
	else
		st->summary = xprintf("virtual(8) into %s%s%s%s",
		    path ? path : box, t ? " (transport map: " : "",
		    t ? buf_str(&t->a.value) : "", t ? ")" : "");
	fact_str(st, "agent", "virtual");
	fact_str(st, "mailbox", box);
	if (path != NULL)
		fact_str(st, "path", path);
	for (int i = 0; i < 2; i++)
		if (ids[i] != NULL)
			fact_str(st, idmaps[i], buf_str(&ids[i]->a.value));
	if (mb->a.src == ROUTE_SRC_LIVE)
		fact_str(st, "note", "not in the mailbox snapshot yet: "
		    "virtual(8) reads only the cdb file and defers the mail "
		    "until the next snapshot");
	free(target);
	free(path);
	return 0;
}

struct route *
route_run(const struct route_params *p, const struct route_resolver *r,
    const char *address)
{
	struct route *rt = xcalloc(1, sizeof(*rt));
	const char *dom = domain_of(address);
	struct memo *d, *m = NULL;
	struct strvec finals = { NULL, 0 };
	const char *by = NULL;
	struct step *st;
	size_t ok = 0;

	rt->p = *p;
	rt->r = r;
	rt->address = xstrdup(address);
	if (dom == NULL) {
		verdict(rt, 2, "unknown", xstrdup("the address has no domain "
		    "(Postfix appends @$myorigin, which lookupd does not "
		    "know)"));
		return rt;
	}

	/* 1. trivial-rewrite: is the domain ours? */
	d = ask_lower(rt, "domain", dom);
	if (d->a.res == RES_NOTFOUND)
		domain_off(rt, d);
	show(rt, d);
	if (d->a.res == RES_NOTFOUND) {
		verdict(rt, 1, "rejected", xprintf("454 4.7.1 <%s>: Relay "
		    "access denied (%s is not a domain of this system; 554 "
		    "5.7.1 with reject_unauth_destination)", address,
		    d->key));
		return rt;
	}
	if (d->a.res != RES_FOUND) {
		lookup_failed(rt, d, "451 4.3.0 Temporary lookup failure");
		return rt;
	}

	/* 2. smtpd: reject_unlisted_recipient. */
	if (has_map(rt, "alias")) {
		m = ask(rt, "alias", address);
		show(rt, m);
		if (m->a.res == RES_FOUND)
			by = "alias";
		else if (m->a.res != RES_NOTFOUND) {
			lookup_failed(rt, m, "451 4.3.0 Temporary lookup "
			    "failure");
			return rt;
		}
	}
	if (by == NULL) {
		m = ask(rt, "mailbox", address);
		show(rt, m);
		if (m->a.res == RES_FOUND)
			by = "mailbox";
		else if (m->a.res == RES_NOTFOUND) {
			st = step_new(rt, "recipient", address);
			st->summary = xstrdup("rejected: in neither the alias "
			    "nor the mailbox map");
			verdict(rt, 1, "rejected", xprintf("550 5.1.1 <%s>: "
			    "Recipient address rejected: User unknown in "
			    "virtual mailbox table", address));
			return rt;
		} else {
			lookup_failed(rt, m, "451 4.3.0 Temporary lookup "
			    "failure");
			return rt;
		}
	}
	st = step_new(rt, "recipient", address);
	st->summary = xprintf("accepted (in the %s map)", by);

	/* 3. cleanup: virtual alias expansion. */
	if (expand(rt, &finals) != 0) {
		vec_free(&finals);
		return rt;
	}

	/* 4. each final recipient. */
	for (size_t i = 0; i < finals.n; i++)
		if (deliver(rt, finals.v[i]) == 0)
			ok++;
	if (rt->verdict == NULL)
		verdict(rt, 0, "deliverable", finals.n == 1 ? NULL :
		    xprintf("%zu recipients", finals.n));
	else if (ok > 0 && rt->rc == 1) {
		char *more = xprintf("%s (%zu of %zu recipients are "
		    "delivered)", rt->reason, ok, finals.n);

		free(rt->reason);
		rt->reason = more;
	}
	vec_free(&finals);
	return rt;
}

int
route_exit(const struct route *rt)
{
	return rt->rc;
}

void
route_free(struct route *rt)
{
	if (rt == NULL)
		return;
	for (size_t i = 0; i < rt->nsteps; i++) {
		struct step *st = rt->steps[i];

		for (size_t j = 0; j < st->nf; j++) {
			free(st->f[j].s);
			for (size_t k = 0; k < st->f[j].nv; k++)
				free(st->f[j].v[k]);
			free(st->f[j].v);
		}
		free(st->f);
		free(st->subject);
		free(st->summary);
		free(st);
	}
	free(rt->steps);
	for (size_t i = 0; i < rt->nmemo; i++) {
		answer_free(&rt->memo[i]->a);
		free(rt->memo[i]->map);
		free(rt->memo[i]->key);
		free(rt->memo[i]);
	}
	free(rt->memo);
	free(rt->address);
	free(rt->verdict);
	free(rt->reason);
	free(rt);
}

/* ---- output ---------------------------------------------------------- */

#define DN_NOT_RECORDED "(snapshot: DN not recorded)"

void
route_text(const struct route *rt, struct buf *out)
{
	buf_printf(out, "address: %s\n", rt->address);
	for (size_t i = 0; i < rt->nsteps; i++) {
		const struct step *st = rt->steps[i];

		buf_printf(out, "%s %s", st->kind, st->subject);
		if (st->summary)
			buf_printf(out, ": %s", st->summary);
		buf_putc(out, '\n');
		for (size_t j = 0; j < st->nf; j++) {
			const struct fact *f = &st->f[j];

			switch (f->type) {
			case F_STR:
				buf_printf(out, "  %s: %s\n", f->name, f->s);
				break;
			case F_INT:
				buf_printf(out, "  %s: %ld%s%s\n", f->name,
				    f->n, f->unit ? " " : "",
				    f->unit ? f->unit : "");
				break;
			case F_DNS:
				if (f->unknown) {
					buf_printf(out, "  %s: %s\n", f->name,
					    DN_NOT_RECORDED);
					break;
				}
				/* FALLTHROUGH */
			case F_LIST:
				for (size_t k = 0; k < f->nv; k++)
					buf_printf(out, "  %s: %s\n", f->name,
					    f->v[k]);
				break;
			}
		}
	}
	buf_printf(out, "verdict: %s\n", rt->verdict ? rt->verdict : "?");
	if (rt->reason)
		buf_printf(out, "reason: %s\n", rt->reason);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* s as a JSON string; bytes that are not UTF-8 become U+FFFD. */
static void
json_str(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	buf_putc(out, '"');
	while (n > 0) {
		size_t l;

		if (*p == '"' || *p == '\\') {
			buf_putc(out, '\\');
			buf_putc(out, *p);
			l = 1;
		} else if (*p < 0x20 || *p == 0x7f) {
			buf_printf(out, "\\u%04x", *p);
			l = 1;
		} else if ((l = utf8_len(p, n)) == 0) {
			buf_puts(out, "\\ufffd");
			l = 1;
		} else
			buf_append(out, p, l);
		p += l;
		n -= l;
	}
	buf_putc(out, '"');
}

void
route_json(const struct route *rt, struct buf *out)
{
	buf_puts(out, "{\"address\":");
	json_str(out, rt->address);
	buf_puts(out, ",\"steps\":[");
	for (size_t i = 0; i < rt->nsteps; i++) {
		const struct step *st = rt->steps[i];

		buf_puts(out, i ? ",{\"step\":" : "{\"step\":");
		json_str(out, st->kind);
		buf_puts(out, ",\"subject\":");
		json_str(out, st->subject);
		buf_puts(out, ",\"summary\":");
		if (st->summary)
			json_str(out, st->summary);
		else
			buf_puts(out, "null");
		for (size_t j = 0; j < st->nf; j++) {
			const struct fact *f = &st->f[j];

			buf_putc(out, ',');
			json_str(out, f->name);
			buf_putc(out, ':');
			switch (f->type) {
			case F_STR:
				json_str(out, f->s);
				break;
			case F_INT:
				buf_printf(out, "%ld", f->n);
				break;
			case F_DNS:
				if (f->unknown) {
					buf_puts(out, "null");
					break;
				}
				/* FALLTHROUGH */
			case F_LIST:
				buf_putc(out, '[');
				for (size_t k = 0; k < f->nv; k++) {
					if (k)
						buf_putc(out, ',');
					json_str(out, f->v[k]);
				}
				buf_putc(out, ']');
				break;
			}
		}
		buf_putc(out, '}');
	}
	buf_puts(out, "],\"verdict\":");
	json_str(out, rt->verdict ? rt->verdict : "?");
	buf_puts(out, ",\"reason\":");
	if (rt->reason)
		json_str(out, rt->reason);
	else
		buf_puts(out, "null");
	buf_puts(out, "}\n");
}

/* ---- the command's resolver: snapshot files, then LDAP ---------------- */

struct snapslot {
	int tried;
	enum snap_status st;
	struct snapshot *s;
	char err[512];
};

struct real {
	const struct cfg *cfg;
	struct ldapconn *lc;
	struct snapslot *snaps;		/* per map of cfg */
	int ldap_down;
	char ldap_err[512];
	time_t now;
};

static int
real_has_map(void *ctx, const char *map)
{
	struct real *x = ctx;

	return cfg_map_find(x->cfg, map, strlen(map)) != NULL;
}

static struct snapslot *
real_snap(struct real *x, const struct cfg_map *m)
{
	struct snapslot *ss = &x->snaps[m - x->cfg->maps];

	if (!ss->tried) {
		ss->tried = 1;
		ss->st = snapshot_open(x->cfg->cache_dir, m->name, &ss->s,
		    ss->err, sizeof(ss->err));
	}
	return ss;
}

/* Ask LDAP for w; once it could not be asked, it is not asked again in
 * this run (one answer per run, and no minutes of timeouts). */
static enum result
real_live(struct real *x, const struct cfg_map *m, const struct walk *w,
    struct live_answer *la, int *unreachable)
{
	*unreachable = 0;
	if (x->ldap_down) {
		*unreachable = 1;
		la->res = RES_TEMP;
		snprintf(la->err, sizeof(la->err), "%s", x->ldap_err);
		return la->res;
	}
	live_walk_any(x->lc, m, w, la);
	/* Not a single-valued conflict, nor a request the server refused. */
	if (la->res == RES_TEMP && la->unreachable) {
		*unreachable = 1;
		x->ldap_down = 1;
		snprintf(x->ldap_err, sizeof(x->ldap_err), "%s", la->err);
	}
	return la->res;
}

/* What became of the map's snapshot, for the report. */
static void
snap_facts(const struct real *x, const struct snapslot *ss,
    const struct decision *d, struct route_answer *a)
{
	switch (ss->st) {
	case SNAP_OK:
		buf_puts(&a->snapshot, snapshot_path(ss->s));
		a->age = (long)(x->now - snapshot_built(ss->s));
		if (d->snap == DECIDE_SNAP_STALE)
			buf_printf(&a->snapstate, "older than max_stale (%d "
			    "s): not answered from", x->cfg->max_stale);
		else if (d->snap == DECIDE_SNAP_DAMAGED)
			buf_puts(&a->snapstate, "damaged (a bad record): not "
			    "answered from");
		break;
	case SNAP_MISSING:
		buf_printf(&a->snapstate, "missing: %s", ss->err);
		break;
	case SNAP_DAMAGED:
		buf_printf(&a->snapstate, "damaged, not answered from: %s",
		    ss->err);
		break;
	case SNAP_ERROR:
		buf_printf(&a->snapstate, "not readable: %s", ss->err);
		break;
	}
}

/* A snapshot answer: the DNs behind it are the same walk, asked of LDAP. */
static void
snapshot_dns(struct real *x, const struct cfg_map *m, const struct walk *w,
    size_t step, struct live_answer *la, struct route_answer *a)
{
	int unreachable;

	switch (real_live(x, m, w, la, &unreachable)) {
	case RES_FOUND: {
		struct buf now = BUF_INIT;

		maps_answer(m, w, la->step, la->value->p, la->value->len, &now);
		buf_append(&a->dns, la->dns->p, la->dns->len);
		a->dn_known = 1;
		if (la->step != step || now.len != a->value.len ||
		    memcmp(now.p, a->value.p, now.len) != 0)
			buf_printf(&a->notes, "the directory now answers %s "
			    "(key %.*s): the next snapshot will\n",
			    buf_str(&now), (int)w->steplen[la->step],
			    w->step[la->step]);
		buf_free(&now);
		break;
	}
	case RES_NOTFOUND:
		a->dn_known = 1;
		buf_puts(&a->notes, "the directory no longer holds it: the "
		    "next snapshot drops it\n");
		break;
	default:
		if (unreachable) {
			buf_printf(&a->notes, "LDAP could not be asked for the "
			    "DN: %s\n", la->err);
		} else {
			buf_append(&a->dns, la->dns->p, la->dns->len);
			a->dn_known = 1;
			buf_printf(&a->notes, "the directory now answers: %s\n",
			    la->err);
		}
		break;
	}
}

/* The walk asked of LDAP, as the daemon's workers ask it. */
static void
live_answer(struct real *x, const struct cfg_map *m, const struct walk *w,
    struct live_answer *la, struct route_answer *a)
{
	int unreachable;

	a->src = ROUTE_SRC_LIVE;
	switch (real_live(x, m, w, la, &unreachable)) {
	case RES_FOUND:
		a->res = RES_FOUND;
		maps_answer(m, w, la->step, la->value->p, la->value->len,
		    &a->value);
		buf_append(&a->key, w->step[la->step], w->steplen[la->step]);
		buf_append(&a->dns, la->dns->p, la->dns->len);
		a->dn_known = 1;
		break;
	case RES_NOTFOUND:
		a->res = RES_NOTFOUND;
		a->dn_known = 1;
		break;
	default:
		a->res = la->res;
		a->unreachable = unreachable;
		snprintf(a->err, sizeof(a->err), "%s", la->err);
		if (!unreachable) {
			buf_append(&a->dns, la->dns->p, la->dns->len);
			a->dn_known = 1;
		}
		break;
	}
}

/* map/key in the daemon's order (decide.h), without its memory of live
 * answers: LDAP is asked where the daemon would ask it. */
static void
real_lookup(void *ctx, const char *map, const char *key,
    struct route_answer *a)
{
	struct real *x = ctx;
	const struct cfg *cfg = x->cfg;
	const struct cfg_map *m = cfg_map_find(cfg, map, strlen(map));
	struct snapslot *ss = m ? real_snap(x, m) : NULL;
	struct decision d;
	struct walk w;
	struct live_answer la;
	struct buf lval = BUF_INIT, ldns = BUF_INIT;

	decide(cfg, m, key, strlen(key), ss && ss->st == SNAP_OK ? ss->s :
	    NULL, NULL, NULL, x->now, &w, &d);
	memset(&la, 0, sizeof(la));
	la.value = &lval;
	la.dns = &ldns;
	if (m != NULL && m->table != NULL)
		la.sources = &a->sources;	/* the entry of each value */
	if (d.from != DECIDE_RULES)
		snap_facts(x, ss, &d, a);
	switch (d.from) {
	case DECIDE_RULES:
		a->res = d.res;
		a->src = ROUTE_SRC_NONE;
		if (d.res == RES_PERM)
			snprintf(a->err, sizeof(a->err), "no map %s in %s", map,
			    cfg->file);
		else
			buf_puts(&a->notes, m->kind == CFG_KIND_ADDRESS ?
			    "not asked: an address map holds no key without "
			    "\"@\" or with control characters" : "not asked: a "
			    "key with control characters cannot be in the map");
		break;
	case DECIDE_SNAPSHOT:
	case DECIDE_MEMORY:	/* route has no memory: never */
		if (d.res == RES_TEMP) {
			/* an ldap_table key Postfix's ldap: errs on */
			a->res = RES_TEMP;
			a->src = ROUTE_SRC_SNAPSHOT;
			snprintf(a->err, sizeof(a->err), "%s", d.why);
			break;
		}
		a->res = RES_FOUND;
		a->src = ROUTE_SRC_SNAPSHOT;
		maps_answer(m, &w, d.step, d.val, d.vlen, &a->value);
		buf_append(&a->key, w.step[d.step], w.steplen[d.step]);
		snapshot_dns(x, m, &w, d.step, &la, a);
		break;
	case DECIDE_NO_LIVE:
		a->res = d.res;
		a->src = ROUTE_SRC_SNAPSHOT;
		if (d.why)
			snprintf(a->err, sizeof(a->err), "%s", d.why);
		break;
	case DECIDE_LIVE:
		live_answer(x, m, &w, &la, a);
		break;
	}
	buf_free(&lval);
	buf_free(&ldns);
	maps_walk_free(&w);
}

struct attr_ctx {
	struct buf *out;
	const char *attr;
};

static int
attr_entry(const struct lentry *e, void *arg)
{
	struct attr_ctx *c = arg;
	struct buf *out = c->out;
	const struct lval *v;
	size_t n = lentry_values(e, c->attr, &v);

	for (size_t i = 0; i < n; i++) {
		if (memchr(v[i].ptr, '\n', v[i].len) != NULL)
			continue;
		if (out->len)
			buf_putc(out, '\n');
		buf_append(out, v[i].ptr, v[i].len);
	}
	return 0;
}

static int
real_attr(void *ctx, const char *dn, const char *attr, struct buf *out,
    char *err, size_t errsz)
{
	struct real *x = ctx;
	const char *attrs[2] = { attr, NULL };
	struct attr_ctx arg = { out, attr };
	enum ldapconn_status st;

	if (x->ldap_down) {
		snprintf(err, errsz, "%s", x->ldap_err);
		return -1;
	}
	st = ldapconn_search(x->lc, dn, CFG_SCOPE_BASE, "(objectClass=*)",
	    attrs, 0, attr_entry, &arg, err, errsz);
	if (st == LDAPCONN_TEMP) {
		x->ldap_down = 1;
		snprintf(x->ldap_err, sizeof(x->ldap_err), "%s", err);
	}
	return st == LDAPCONN_OK ? 0 : -1;
}

struct dns_ctx {
	struct buf *out;
};

static int
dn_entry(const struct lentry *e, void *arg)
{
	struct dns_ctx *c = arg;
	const char *dn = lentry_dn(e);

	if (dn == NULL || strchr(dn, '\n') != NULL)
		return 0;
	if (c->out->len)
		buf_putc(c->out, '\n');
	buf_puts(c->out, dn);
	return 0;
}

static int
real_domains(void *ctx, const char *filter, struct buf *out, char *err,
    size_t errsz)
{
	struct real *x = ctx;
	const char *attrs[2] = { "1.1", NULL };
	struct dns_ctx arg = { out };
	enum ldapconn_status st;

	if (x->ldap_down) {
		snprintf(err, errsz, "%s", x->ldap_err);
		return -1;
	}
	if (x->cfg->domain_base == NULL) {
		snprintf(err, errsz, "no domain_base");
		return -1;
	}
	st = ldapconn_search(x->lc, x->cfg->domain_base, CFG_SCOPE_SUB,
	    filter, attrs, 0, dn_entry, &arg, err, errsz);
	if (st == LDAPCONN_TEMP) {
		x->ldap_down = 1;
		snprintf(x->ldap_err, sizeof(x->ldap_err), "%s", err);
	}
	return st == LDAPCONN_OK ? 0 : -1;
}

static int
route_usage(void)
{
	fprintf(stderr, "usage: lookupd [-c FILE] route ADDRESS [-j]\n");
	return 2;
}

int
route_command(const char *cfg_path, int argc, char **argv)
{
	const char *address = NULL;
	int json = 0, rc;
	struct cfg *cfg;
	char err[1024];
	struct real x;
	struct route_resolver res = { real_has_map, real_lookup, real_attr,
	    &x, real_domains };
	struct route_params p;
	struct route *rt;
	struct buf out = BUF_INIT;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (address == NULL && argv[i][0] != '-')
			address = argv[i];
		else
			return route_usage();
	}
	if (address == NULL)
		return route_usage();
	for (const char *c = address; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			fprintf(stderr, "lookupd: route: the address holds a "
			    "control character\n");
			return 2;
		}
	if (domain_of(address) == NULL || address[0] == '@' ||
	    strlen(address) > POSTFIX_LIMIT) {
		fprintf(stderr, "lookupd: route: give a whole address, "
		    "user@domain\n");
		return 2;
	}
	if ((cfg = cfg_load(cfg_path, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return 2;
	}
	if (cfg_map_find(cfg, "domain", 6) == NULL ||
	    cfg_map_find(cfg, "mailbox", 7) == NULL) {
		log_error("%s: route follows the shipped Postfix configuration, "
		    "which needs the maps domain and mailbox", cfg->file);
		cfg_free(cfg);
		return 2;
	}
	memset(&x, 0, sizeof(x));
	x.cfg = cfg;
	x.lc = ldapconn_new(cfg);
	x.snaps = xcalloc(cfg->n_maps ? cfg->n_maps : 1, sizeof(*x.snaps));
	x.now = time(NULL);

	memset(&p, 0, sizeof(p));
	p.mail_base = cfg->mail_base;		/* normalized by cfg */
	p.shared_dir = cfg->shared_dir;
	p.shared_maildirs_dir = cfg->shared_maildirs_dir;
	p.recursion_limit = p.expansion_limit = p.addrlen_limit =
	    POSTFIX_LIMIT;
	p.check_disk = 1;
	p.layout = layout_profile(cfg->profile);

	rt = route_run(&p, &res, address);
	if (json)
		route_json(rt, &out);
	else
		route_text(rt, &out);
	fwrite(out.p, 1, out.len, stdout);
	fflush(stdout);
	rc = route_exit(rt);
	if (rc == 2)
		rc = exit_temp(rc);	/* LDAP could not be asked */

	route_free(rt);
	buf_free(&out);
	for (size_t i = 0; i < cfg->n_maps; i++)
		if (x.snaps[i].s)
			snapshot_close(x.snaps[i].s);
	free(x.snaps);
	ldapconn_free(x.lc);
	cfg_free(cfg);
	return rc;
}
