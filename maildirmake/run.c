/*
 * run: one run of ldap-maildirmake, from the configuration file to the
 * summary line (see run.h, and main.c for the arguments).
 *
 * The steps, in order, each a function of its own that either lets the
 * run go on or ends it with its exit status: the configuration, mail_owner
 * and mail_base (load); with --watch, the watcher, whose passes each go
 * on in a child process (watch); one paged read of the account leaf
 * (read_dir); the plan (plan.c: pure) and its problems (make_plan); with
 * --orphans, the list of maildirs no entry names, and the end (orphans);
 * the run lock (lock); the two passes over the objects in plan order
 * (maildir.c; passes), a maildir made in the second getting the
 * default_folders (folders.c); each account's maildirsize from its quota
 * attributes (quota.c; quotas); the entries left out or incomplete and
 * the summary (report).  Whatever step ends the run, everything the run
 * holds is given back in one place (state_free), the one exit path.
 *
 * LDAP is read whole before anything is touched, so an unreachable or
 * failing directory leaves the file system exactly as it was (exit 2,
 * exit_temp).  The first pass only looks, and leaves out whole every
 * entry with an object that cannot be made (a symlink or a foreign object
 * in the way); the second makes what the remaining entries need and was
 * not found whole.  An object that fails skips what depends on it; every
 * entry left out or incomplete is named on stderr with its DN (exit 1).
 * One line per change on stdout, one summary line last.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/cfg.h"
#include "common/exitcode.h"
#include "common/layout.h"
#include "common/ldapconn.h"
#include "common/log.h"
#include "common/privs.h"
#include "common/mdquota.h"
#include "maildirmake/claim.h"
#include "maildirmake/folders.h"
#include "maildirmake/maildir.h"
#include "maildirmake/orphans.h"
#include "maildirmake/plan.h"
#include "maildirmake/quota.h"
#include "maildirmake/run.h"
#include "maildirmake/watch.h"

#define PROG	"ldap-maildirmake"
#define GO_ON	(-1)	/* a step's "the run goes on" */

/* ---- reading the directory ---- */

/* The entries read, with the profile's attribute names (common/layout:
 * the search filter and attributes are the profile's too). */
struct collect {
	const struct layout_profile *pf;
	struct mdm_entry *v;
	size_t n, cap;
};

static struct layout_val *
copy_vals(const struct lentry *le, const char *attr, size_t *n)
{
	const struct lval *lv;
	struct layout_val *v;

	*n = 0;
	if (attr == NULL)
		return NULL;	/* the profile has no such attribute */
	*n = lentry_values(le, attr, &lv);
	if (*n == 0)
		return NULL;
	v = xcalloc(*n, sizeof(*v));
	for (size_t i = 0; i < *n; i++) {
		v[i].p = xmalloc(lv[i].len + 1);
		memcpy(v[i].p, lv[i].ptr, lv[i].len);
		v[i].p[lv[i].len] = '\0';
		v[i].len = lv[i].len;
	}
	return v;
}

static int
collect_entry(const struct lentry *le, void *arg)
{
	struct collect *c = arg;
	const struct layout_profile *pf = c->pf;
	struct mdm_entry *e;
	const struct lval *lv;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
	}
	e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	e->dn = xstrdup(lentry_dn(le));
	if (lentry_values(le, "entryUUID", &lv) == 1 && lv[0].len > 0 &&
	    lv[0].len < 64 && memchr(lv[0].ptr, '\0', lv[0].len) == NULL)
		e->uuid = xstrndup(lv[0].ptr, lv[0].len);
	e->status = copy_vals(le, pf->status_attr, &e->n_status);
	/* Only shared entries are looked up by DN (seeAlso). */
	if (pf->kind == LAYOUT_KIND_HOWTO &&
	    layout_status(pf, e->status, e->n_status) == LAYOUT_SHARED)
		e->ndn = ldapconn_dn_normalize(e->dn);
	e->mms = copy_vals(le, pf->store_attr, &e->n_mms);
	e->uid = copy_vals(le, pf->folder_attr, &e->n_uid);
	e->cn = copy_vals(le, pf->nick_attr, &e->n_cn);
	e->pob = copy_vals(le, pf->box_attr, &e->n_pob);
	e->off = copy_vals(le, pf->off_attr, &e->n_off);
	e->addr = copy_vals(le, pf->addr_attr, &e->n_addr);
	e->qsize = copy_vals(le, pf->quota_size, &e->n_qsize);
	e->qcount = copy_vals(le, pf->quota_count, &e->n_qcount);
	e->n_see = pf->kind == LAYOUT_KIND_HOWTO ?
	    lentry_values(le, "seeAlso", &lv) : 0;
	if (e->n_see > 0) {
		e->see = xcalloc(e->n_see, sizeof(char *));
		for (size_t i = 0; i < e->n_see; i++) {
			char *raw;

			if (memchr(lv[i].ptr, '\0', lv[i].len) != NULL)
				continue;	/* not a DN: matches nothing */
			raw = xstrndup(lv[i].ptr, lv[i].len);
			e->see[i] = ldapconn_dn_normalize(raw);
			free(raw);
		}
	}
	return 0;
}

static void
free_vals(struct layout_val *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].p);
	free(v);
}

static void
free_entries(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct mdm_entry *e = &c->v[i];

		free(e->dn);
		free(e->ndn);
		free(e->uuid);
		free_vals(e->status, e->n_status);
		free_vals(e->mms, e->n_mms);
		free_vals(e->uid, e->n_uid);
		free_vals(e->cn, e->n_cn);
		free_vals(e->pob, e->n_pob);
		free_vals(e->qsize, e->n_qsize);
		free_vals(e->qcount, e->n_qcount);
		free_vals(e->off, e->n_off);
		free_vals(e->addr, e->n_addr);
		for (size_t k = 0; k < e->n_see; k++)
			free(e->see[k]);
		free(e->see);
	}
	free(c->v);
}

/* ---- running the plan ---- */

enum ostate { O_SKIPPED, O_EXISTS, O_CREATED, O_WOULD, O_FAILED };

/* The outcome of one pass over the plan, per object. */
struct phase {
	enum ostate *st;
	char **why;		/* of a failed object */
	size_t *cause;		/* the object whose failure this is */
	size_t n;
};

static void
phase_init(struct phase *ph, size_t n)
{
	ph->n = n;
	ph->st = xcalloc(n ? n : 1, sizeof(*ph->st));
	ph->why = xcalloc(n ? n : 1, sizeof(*ph->why));
	ph->cause = xcalloc(n ? n : 1, sizeof(*ph->cause));
}

static void
phase_free(struct phase *ph)
{
	for (size_t i = 0; i < ph->n; i++)
		free(ph->why[i]);
	free(ph->why);
	free(ph->cause);
	free(ph->st);
	free(ph);
}

struct counter {
	int quiet;
	size_t changes;
};

static void
print_change(const char *line, void *arg)
{
	struct counter *r = arg;

	r->changes++;
	if (!r->quiet)
		printf("%s\n", line);
}

/* Each object in order.  The first pass (prev NULL) only looks.  The
 * second makes (or, dry, tells) what use marks and the first pass did not
 * find whole; a maildir it makes gets the folders (default_folders).  An
 * object whose parent or need failed or was left out fails without being
 * tried. */
static void
phase(struct mdm_fs *fs, const struct mdm_plan *pl, int dry, int verbose,
    mdm_change_fn fn, void *arg, const unsigned char *use,
    const struct phase *prev, const struct strlist *folders,
    struct phase *ph)
{
	int first = prev == NULL;
	char err[1024];

	for (size_t i = 0; i < ph->n; i++) {
		const struct mdm_obj *o = mdm_plan_obj(pl, i);
		size_t dep = MDM_NONE;
		enum mdm_result r;

		ph->cause[i] = i;
		if (use != NULL && !use[i]) {
			ph->st[i] = O_SKIPPED;
			continue;
		}
		if (o->parent != MDM_NONE && (ph->st[o->parent] == O_FAILED ||
		    ph->st[o->parent] == O_SKIPPED))
			dep = o->parent;
		else if (o->need != MDM_NONE && (ph->st[o->need] == O_FAILED ||
		    ph->st[o->need] == O_SKIPPED))
			dep = o->need;
		if (dep != MDM_NONE) {
			ph->st[i] = O_FAILED;
			if (ph->st[dep] == O_FAILED) {
				ph->cause[i] = ph->cause[dep];
			} else {
				struct buf b = BUF_INIT;

				buf_printf(&b, "%s is not built (the entry it "
				    "belongs to was skipped)",
				    mdm_plan_obj(pl, dep)->path);
				ph->why[i] = xstrdup(buf_str(&b));
				buf_free(&b);
			}
			continue;
		}
		if (first)
			r = mdm_fs_check(fs, o, err, sizeof(err));
		else if (prev != NULL && prev->st[i] == O_EXISTS)
			r = MDM_R_EXISTS;	/* seen whole a moment ago */
		else
			r = mdm_fs_make(fs, o, dry, fn, arg, err, sizeof(err));
		if ((r == MDM_R_CREATED || r == MDM_R_WOULD) && folders != NULL &&
		    folders->n > 0 && o->kind == MDM_MAILDIR &&
		    mdm_default_folders(fs, o->path, folders->v, folders->n,
		    dry, fn, arg, err, sizeof(err)) == MDM_R_FAILED)
			r = MDM_R_FAILED;
		switch (r) {
		case MDM_R_EXISTS:
			ph->st[i] = O_EXISTS;
			if (fn != NULL && verbose)
				log_debug("unchanged: %s %s",
				    mdm_kind_name(o->kind), o->path);
			break;
		case MDM_R_CREATED:
			ph->st[i] = O_CREATED;
			break;
		case MDM_R_WOULD:
			ph->st[i] = O_WOULD;
			break;
		case MDM_R_FAILED:
			ph->st[i] = O_FAILED;
			ph->why[i] = xstrdup(err);
			break;
		}
	}
}

/* The first object of entry e that failed in ph, or MDM_NONE. */
static size_t
entry_failure(const struct mdm_plan *pl, size_t e, const struct phase *ph)
{
	const size_t *objs;
	size_t n = mdm_plan_entry_objs(pl, e, &objs);

	for (size_t k = 0; k < n; k++)
		if (ph->st[objs[k]] == O_FAILED)
			return objs[k];
	return MDM_NONE;
}

/* ---- the steps ---- */

/* Everything a run holds; state_free gives it all back. */
struct state {
	const struct mdm_opts *o;
	struct cfg *cfg;
	const struct layout_profile *pf;	/* the profile's layout */
	uid_t uid;
	gid_t gid;
	struct mdm_fs *fs;
	struct collect col;
	struct mdm_plan *pl;
	size_t nobj;
	struct phase *ph1, *ph2;
	unsigned char *use;	/* per object: the second pass makes it */
	size_t *bad;		/* per entry: its object that failed first */
	struct counter changes;
	size_t nquota_failed;	/* accounts whose quota was not set */
	char *state_dir;	/* state_dir, or <cache_dir>/maildirmake */
	struct mdm_claims *claims;	/* whose each maildir is (claim.c) */
	size_t ntaken;		/* first run: maildirs found and taken */
	size_t nclaim_failed;	/* the record could not be written */
	double t0;
};

/* 1 when dir is mail_base or below it (both normalized). */
static int
state_in_base(const char *dir, const char *base)
{
	size_t n = strlen(base);

	if (strcmp(base, "/") == 0)
		return 1;
	return strncmp(dir, base, n) == 0 && (dir[n] == '\0' ||
	    dir[n] == '/');
}

static int
load(struct state *s)
{
	char err[1024];

	if ((s->cfg = cfg_load(s->o->cfgpath, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return EXIT_ERROR;
	}
	if ((s->pf = layout_profile(s->cfg->profile)) == NULL) {
		log_error("%s: profile %s has no account layout; nothing done",
		    s->cfg->file, s->cfg->profile);
		return EXIT_ERROR;
	}
	s->col.pf = s->pf;
	s->state_dir = s->cfg->state_dir != NULL ? xstrdup(s->cfg->state_dir) :
	    xprintf("%s/maildirmake", strcmp(s->cfg->cache_dir, "/") == 0 ?
	    "" : s->cfg->cache_dir);
	if (state_in_base(s->state_dir, s->cfg->mail_base)) {
		log_error("%s: state_dir %s lies in mail_base %s: the tree "
		    "holds only what the directory describes", s->cfg->file,
		    s->state_dir, s->cfg->mail_base);
		return EXIT_ERROR;
	}
	if (privs_owner(s->cfg->mail_owner, &s->uid, &s->gid, err,
	    sizeof(err)) != 0) {
		log_error("mail_owner: %s", err);
		return EXIT_ERROR;
	}
	if (!s->o->dry && geteuid() != 0 && geteuid() != s->uid) {
		log_error("run as root or as mail_owner %s (uid %lu), not as "
		    "uid %lu", s->cfg->mail_owner, (unsigned long)s->uid,
		    (unsigned long)geteuid());
		return EXIT_ERROR;
	}
	s->fs = mdm_fs_open(s->cfg->mail_base, s->uid, s->gid, geteuid() == 0,
	    err, sizeof(err));
	if (s->fs == NULL) {
		log_error("%s", err);
		return EXIT_ERROR;
	}
	return GO_ON;
}

/* --watch: the watcher stays in mdm_watch(); each of its passes comes
 * back here in a child process that goes on with the steps below. */
static int
watch(struct state *s)
{
	int r;

	if (!s->o->watch)
		return GO_ON;
	r = mdm_watch(s->cfg, s->pf->filter, s->pf->store_attr);
	return r == MDM_WATCH_CHILD ? GO_ON : r;
}

/* The live domains of a profile that has them (jamm), lowercase. */
struct domains {
	const char *attr;
	char **v;
	size_t n;
};

static int
collect_domain(const struct lentry *le, void *arg)
{
	struct domains *d = arg;
	const struct lval *lv;
	size_t n = lentry_values(le, d->attr, &lv);

	d->v = xreallocarray(d->v, d->n + n + 1, sizeof(*d->v));
	for (size_t i = 0; i < n; i++) {
		char *v = xstrndup(lv[i].ptr, lv[i].len);

		for (char *p = v; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		d->v[d->n++] = v;
	}
	return 0;
}

static int
live_domain(const struct domains *d, const char *addr, size_t len)
{
	const char *at = memrchr(addr, '@', len);

	if (at == NULL)
		return 0;
	len -= (size_t)(at + 1 - addr);
	for (size_t i = 0; i < d->n; i++)
		if (strlen(d->v[i]) == len &&
		    strncasecmp(d->v[i], at + 1, len) == 0)
			return 1;
	return 0;
}

/*
 * jamm: an inactive or deleted domain disables its accounts (the Jamm
 * howto's domain map does not answer for it, so Postfix takes no mail
 * there): an account none of whose addresses lies in a live domain below
 * domain_base gets no maildir.
 */
static int
read_domains(struct state *s, struct ldapconn *lc)
{
	struct domains d = { s->pf->domain_attr, NULL, 0 };
	const char *const attrs[] = { s->pf->domain_attr, NULL };
	enum ldapconn_status ls;
	char err[1024];

	if (s->pf->domain_filter == NULL || s->cfg->domain_base == NULL)
		return GO_ON;
	ls = ldapconn_search(lc, s->cfg->domain_base, CFG_SCOPE_SUB,
	    s->pf->domain_filter, attrs, 1, collect_domain, &d, err,
	    sizeof(err));
	if (ls != LDAPCONN_OK) {
		for (size_t i = 0; i < d.n; i++)
			free(d.v[i]);
		free(d.v);
		log_error("cannot read %s from the directory: %s; nothing done",
		    s->cfg->domain_base, err);
		return ls == LDAPCONN_TEMP ? exit_temp(EXIT_ERROR) : EXIT_ERROR;
	}
	for (size_t e = 0; e < s->col.n; e++) {
		struct mdm_entry *me = &s->col.v[e];
		int live = 0;

		for (size_t k = 0; !live && k < me->n_addr; k++)
			live = live_domain(&d, me->addr[k].p, me->addr[k].len);
		me->domain_off = !live;
	}
	for (size_t i = 0; i < d.n; i++)
		free(d.v[i]);
	free(d.v);
	return GO_ON;
}

/* The whole directory first: nothing is touched if this fails. */
static int
read_dir(struct state *s)
{
	enum ldapconn_status ls;
	struct ldapconn *lc;
	struct buf filter = BUF_INIT;
	const char **attrs;
	size_t na = 0;
	int rc;
	char err[1024];

	s->t0 = clock_ms();
	while (s->pf->attrs[na] != NULL)
		na++;
	/* entryUUID: who an entry is, whatever its DN (claim.c) */
	attrs = xcalloc(na + 2, sizeof(*attrs));
	memcpy(attrs, s->pf->attrs, na * sizeof(*attrs));
	attrs[na] = "entryUUID";
	lc = ldapconn_new(s->cfg);
	if (s->cfg->account_filter != NULL)
		buf_printf(&filter, "(&%s%s)", s->o->orphans ?
		    s->pf->filter_named : s->pf->filter,
		    s->cfg->account_filter);
	else
		buf_puts(&filter, s->o->orphans ? s->pf->filter_named :
		    s->pf->filter);
	ls = ldapconn_search(lc, s->cfg->account_base, CFG_SCOPE_SUB,
	    buf_str(&filter), (const char *const *)attrs, 1, collect_entry,
	    &s->col, err, sizeof(err));
	buf_free(&filter);
	free(attrs);
	if (ls != LDAPCONN_OK) {
		ldapconn_free(lc);
		log_error("cannot read %s from the directory: %s; nothing done",
		    s->cfg->account_base, err);
		return ls == LDAPCONN_TEMP ? exit_temp(EXIT_ERROR) : EXIT_ERROR;
	}
	rc = read_domains(s, lc);
	ldapconn_free(lc);
	if (rc != GO_ON)
		return rc;
	log_debug("read %zu entries from %s in %.0f ms", s->col.n,
	    s->cfg->account_base, clock_ms() - s->t0);
	return GO_ON;
}

static int
make_plan(struct state *s)
{
	struct mdm_params prm;

	s->t0 = clock_ms();
	prm.mail_base = s->cfg->mail_base;
	prm.shared_dir = s->cfg->shared_dir;
	prm.shared_maildirs_dir = s->cfg->shared_maildirs_dir;
	prm.pf = s->pf;
	s->pl = mdm_plan_build(s->col.v, s->col.n, &prm);
	for (size_t i = 0; i < mdm_plan_nproblems(s->pl); i++) {
		const struct mdm_problem *p = mdm_plan_problem(s->pl, i);

		log_error("%s: skipped: %s", s->col.v[p->entry].dn, p->text);
	}
	s->nobj = mdm_plan_nobj(s->pl);
	log_debug("planned %zu objects in %.0f ms", s->nobj,
	    clock_ms() - s->t0);
	return GO_ON;
}

static void
print_orphan(const char *path, unsigned long long bytes, time_t changed,
    void *arg)
{
	char when[32];
	struct tm tm;

	(void)arg;
	if (gmtime_r(&changed, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)changed);
	printf("orphan %s %llu %s\n", path, bytes, when);
}

/*
 * --orphans: the maildirs under mail_base that no entry names: neither a
 * maildir or sharable maildir of the plan, nor the mailMessageStore of
 * any entry (an inactive account still names its maildir).  Lists them
 * and ends the run; nothing is changed, nothing is locked.
 */
static int
orphans(struct state *s)
{
	char **named, err[1024];
	size_t n = 0, cap = s->nobj + 1;
	long found;

	if (!s->o->orphans)
		return GO_ON;
	for (size_t e = 0; e < s->col.n; e++)
		cap += s->col.v[e].n_mms;
	named = xcalloc(cap, sizeof(*named));
	for (size_t i = 0; i < s->nobj; i++) {
		const struct mdm_obj *o = mdm_plan_obj(s->pl, i);

		if (o->kind == MDM_MAILDIR || o->kind == MDM_SHARABLE)
			named[n++] = xstrdup(o->path);
	}
	for (size_t e = 0; e < s->col.n; e++)
		for (size_t k = 0; k < s->col.v[e].n_mms; k++) {
			struct layout_params lp = { s->cfg->mail_base,
			    s->cfg->shared_dir, s->cfg->shared_maildirs_dir };
			char *p = layout_store_path(s->pf, &lp,
			    &s->col.v[e].mms[k]);
			size_t len = strlen(p);

			while (len > 1 && p[len - 1] == '/')
				len--;
			p[len] = '\0';
			named[n++] = p;
		}
	found = mdm_orphans(s->cfg->mail_base, named, n, print_orphan, NULL,
	    err, sizeof(err));
	for (size_t i = 0; i < n; i++)
		free(named[i]);
	free(named);
	if (found < 0) {
		log_error("%s", err);
		return EXIT_ERROR;
	}
	if (!s->o->quiet)
		printf(PROG ": %zu entries, %ld orphans (nothing changed)\n",
		    s->col.n, found);
	fflush(stdout);
	return 0;
}

static int
lock(struct state *s)
{
	char err[1024];
	int r;

	if (s->o->dry)
		return GO_ON;	/* -n changes nothing: no lock needed */
	if ((r = mdm_fs_lock(s->fs, err, sizeof(err))) == 0)
		return GO_ON;
	if (r > 0)
		log_error("another " PROG " is running (%s is locked); nothing "
		    "done", s->cfg->mail_base);
	else
		log_error("%s; nothing done", err);
	return r > 0 ? exit_temp(EXIT_ERROR) : EXIT_ERROR;
}

/* The record's read (claim.c), after the lock: no other run writes it
 * meanwhile. */
static int
open_claims(struct state *s)
{
	char err[1024];

	s->claims = mdm_claims_open(s->state_dir, s->uid, s->gid,
	    geteuid() == 0, s->o->dry, err, sizeof(err));
	if (s->claims == NULL) {
		log_error("%s; nothing done", err);
		return EXIT_ERROR;
	}
	return GO_ON;
}

/* Who entry e is in the record: its entryUUID, or its DN. */
static char *
entry_id(const struct mdm_entry *e)
{
	char *n, *id;

	if (e->uuid != NULL)
		return xprintf("uuid:%s", e->uuid);
	n = e->ndn != NULL ? xstrdup(e->ndn) : ldapconn_dn_normalize(e->dn);
	id = xprintf("dn:%s", n != NULL ? n : e->dn);
	free(n);
	return id;
}

/*
 * An account whose maildir the record gives to nobody else yet, on a
 * path that already holds mail (an orphan's: a deleted or renamed
 * account's maildir stays) is left out whole, unless adopt_orphans says
 * to take it.  The first run (no record yet) takes every maildir found:
 * otherwise an upgrade would refuse every account.  Nothing in the old
 * maildir is changed either way.
 */
static void
claim(struct state *s)
{
	int first = mdm_claims_first(s->claims);
	char err[1024];

	for (size_t e = 0; e < s->col.n; e++) {
		const struct mdm_entry *me = &s->col.v[e];
		const size_t *objs;
		size_t n;
		char *id;

		if (s->bad[e] != MDM_NONE)
			continue;
		n = mdm_plan_entry_objs(s->pl, e, &objs);
		id = NULL;
		for (size_t k = 0; k < n && s->bad[e] == MDM_NONE; k++) {
			const struct mdm_obj *o = mdm_plan_obj(s->pl, objs[k]);
			size_t i = objs[k];
			long msgs;

			if (o->kind != MDM_MAILDIR || o->entry != e)
				continue;
			if (first) {
				s->ntaken += s->ph1->st[i] == O_EXISTS;
				continue;
			}
			if (id == NULL)
				id = entry_id(me);
			if (mdm_claims_has(s->claims, id, o->path))
				continue;
			msgs = mdm_claims_mail(s->fs, o->path, err,
			    sizeof(err));
			if (msgs == 0)
				continue;
			if (msgs > 0 && s->cfg->adopt_orphans) {
				mdm_fs_note(print_change, &s->changes,
				    s->o->dry, "adopt", "%s/ (%ld messages an "
				    "orphan left) for %s", o->path, msgs,
				    me->dn);
				continue;
			}
			s->ph1->st[i] = O_FAILED;
			s->ph1->cause[i] = i;
			free(s->ph1->why[i]);
			s->ph1->why[i] = msgs < 0 ? xstrdup(err) : xprintf(
			    "%s/ already holds %ld messages no account had (an "
			    "orphan's mail: adopt_orphans = yes gives them to "
			    "this account)", o->path, msgs);
			s->bad[e] = i;
		}
		free(id);
	}
}

/*
 * Two passes.  The first only looks (as -n does, silently): an entry
 * with a part that cannot be made (a symlink on its way, a wrong object
 * where one of its objects belongs) is left out whole before anything is
 * made.  The second makes what the other entries need.
 */
static int
passes(struct state *s)
{
	size_t nobj = s->nobj, n;
	const size_t *objs;

	s->ph1 = xcalloc(1, sizeof(*s->ph1));
	s->ph2 = xcalloc(1, sizeof(*s->ph2));
	phase_init(s->ph1, nobj);
	phase_init(s->ph2, nobj);
	s->use = xcalloc(nobj ? nobj : 1, 1);
	s->bad = xcalloc(s->col.n ? s->col.n : 1, sizeof(*s->bad));
	s->t0 = clock_ms();
	phase(s->fs, s->pl, 1, s->o->verbose, NULL, NULL, NULL, NULL, NULL,
	    s->ph1);
	log_debug("looked at them in %.0f ms", clock_ms() - s->t0);
	s->t0 = clock_ms();
	for (size_t e = 0; e < s->col.n; e++)
		s->bad[e] = entry_failure(s->pl, e, s->ph1);
	claim(s);
	for (size_t e = 0; e < s->col.n; e++) {
		n = mdm_plan_entry_objs(s->pl, e, &objs);
		for (size_t k = 0; s->bad[e] == MDM_NONE && k < n; k++)
			s->use[objs[k]] = 1;
	}
	for (size_t i = 0; i < nobj; i++)
		if (mdm_plan_obj(s->pl, i)->entry == MDM_NONE &&
		    s->ph1->st[i] != O_FAILED)
			s->use[i] = 1;	/* shared_dir, shared_maildirs_dir */
	phase(s->fs, s->pl, s->o->dry, s->o->verbose, print_change,
	    &s->changes, s->use, s->ph1, &s->cfg->default_folders, s->ph2);
	log_debug("%s in %.0f ms", s->o->dry ? "told" : "made",
	    clock_ms() - s->t0);
	return GO_ON;
}

/*
 * Each active account built whole that has a quota attribute: its
 * maildirsize says that quota (quota.c: a new file as maildirmake -q
 * writes it, or the first line changed, the usage lines kept).  An
 * account without one is left as it is (a maildirsize Courier or an
 * administrator made stays).
 */
static int
quotas(struct state *s)
{
	char err[1024];

	s->t0 = clock_ms();
	for (size_t e = 0; e < s->col.n; e++) {
		const struct mdm_entry *me = &s->col.v[e];
		const size_t *objs;
		struct layout_entry le;
		char why[160];
		size_t n;
		struct mdquota q;
		int r;

		mdm_entry_layout(me, &le);
		if (s->bad[e] != MDM_NONE ||
		    entry_failure(s->pl, e, s->ph2) != MDM_NONE ||
		    layout_state(s->pf, &le) != LAYOUT_ACTIVE)
			continue;
		if ((r = layout_quota(s->pf, &le, &q, why, sizeof(why))) == 0)
			continue;
		if (r < 0) {
			log_error("%s: quota not set: %s", me->dn, why);
			s->nquota_failed++;
			continue;
		}
		n = mdm_plan_entry_objs(s->pl, e, &objs);
		for (size_t k = 0; k < n; k++) {
			const struct mdm_obj *o = mdm_plan_obj(s->pl, objs[k]);

			if (o->kind != MDM_MAILDIR)
				continue;
			if (mdm_quota_apply(s->fs, o->path, &q, s->o->dry,
			    print_change, &s->changes, err, sizeof(err)) ==
			    MDM_R_FAILED) {
				log_error("%s: quota not set: %s", me->dn, err);
				s->nquota_failed++;
			}
		}
	}
	log_debug("quotas in %.0f ms", clock_ms() - s->t0);
	return GO_ON;
}

/* Every account built whole is its maildir's in the record, written
 * when it changed (never by -n). */
static int
record(struct state *s)
{
	char err[1024];
	int r;

	if (s->o->dry) {
		if (mdm_claims_first(s->claims) && s->ntaken > 0 &&
		    !s->o->quiet)
			printf(PROG ": no record in %s yet: the %zu maildirs "
			    "found would be taken as their accounts'\n",
			    s->state_dir, s->ntaken);
		return GO_ON;
	}
	s->t0 = clock_ms();
	for (size_t e = 0; e < s->col.n; e++) {
		const size_t *objs;
		size_t n;
		char *id;

		if (s->bad[e] != MDM_NONE ||
		    entry_failure(s->pl, e, s->ph2) != MDM_NONE)
			continue;
		n = mdm_plan_entry_objs(s->pl, e, &objs);
		id = NULL;
		for (size_t k = 0; k < n; k++) {
			const struct mdm_obj *o = mdm_plan_obj(s->pl, objs[k]);

			if (o->kind != MDM_MAILDIR || o->entry != e)
				continue;
			if (id == NULL)
				id = entry_id(&s->col.v[e]);
			mdm_claims_put(s->claims, id, o->path);
		}
		free(id);
	}
	r = mdm_claims_write(s->claims, err, sizeof(err));
	log_debug("record %s in %.0f ms", r > 0 ? "written" : "unchanged",
	    clock_ms() - s->t0);
	if (r < 0) {
		log_error("%s: the next run cannot tell an orphan's maildir "
		    "from an account's", err);
		s->nclaim_failed++;
	} else if (r > 0 && mdm_claims_first(s->claims) && s->ntaken > 0 &&
	    !s->o->quiet) {
		printf(PROG ": no record in %s yet: the %zu maildirs found "
		    "taken as their accounts'\n", s->state_dir, s->ntaken);
	}
	return GO_ON;
}

/* Every entry with a part missing, once, with the first reason; what
 * failed for nobody in particular; the summary.  The exit status. */
static int
report(struct state *s)
{
	const struct phase *ph1 = s->ph1, *ph2 = s->ph2;
	size_t nfailed = mdm_plan_nproblems(s->pl), nactive = 0, nshared = 0;
	int status = 0;

	for (size_t i = 0; i < s->nobj; i++)
		if (mdm_plan_obj(s->pl, i)->entry == MDM_NONE &&
		    (ph1->st[i] == O_FAILED || ph2->st[i] == O_FAILED)) {
			log_error("%s", ph1->st[i] == O_FAILED ?
			    ph1->why[ph1->cause[i]] : ph2->why[ph2->cause[i]]);
			status = 1;
		}
	for (size_t e = 0; e < s->col.n; e++) {
		const struct phase *ph = ph1;
		struct layout_entry le;
		enum layout_status st;
		size_t at = s->bad[e];

		mdm_entry_layout(&s->col.v[e], &le);
		st = layout_state(s->pf, &le);
		nactive += st == LAYOUT_ACTIVE;
		nshared += st == LAYOUT_SHARED;
		if (at == MDM_NONE) {
			ph = ph2;
			at = entry_failure(s->pl, e, ph2);
		}
		if (at == MDM_NONE)
			continue;
		log_error("%s: %s: %s", s->col.v[e].dn, ph == ph1 ? "skipped" :
		    "not built", ph->why[ph->cause[at]] ?
		    ph->why[ph->cause[at]] : "(unknown)");
		nfailed++;
	}
	if (nfailed > 0 || s->nquota_failed > 0 || s->nclaim_failed > 0)
		status = 1;
	if (!s->o->quiet) {
		printf(PROG ": %zu entries (%zu active, %zu shared, %zu failed), "
		    "%zu objects, ", s->col.n, nactive, nshared, nfailed,
		    s->nobj);
		if (s->changes.changes == 0)
			printf("no changes%s\n", s->o->dry ? " (dry run)" : "");
		else if (s->o->dry)
			printf("%zu changes to make (dry run: nothing done)\n",
			    s->changes.changes);
		else
			printf("%zu changes\n", s->changes.changes);
	}
	fflush(stdout);
	return status;
}

static void
state_free(struct state *s)
{
	if (s->ph1 != NULL)
		phase_free(s->ph1);
	if (s->ph2 != NULL)
		phase_free(s->ph2);
	free(s->use);
	free(s->bad);
	mdm_plan_free(s->pl);
	mdm_claims_free(s->claims);
	free(s->state_dir);
	free_entries(&s->col);
	mdm_fs_close(s->fs);
	cfg_free(s->cfg);
}

int
mdm_run(const struct mdm_opts *o)
{
	static int (*const step[])(struct state *) = {
		load, watch, read_dir, make_plan, orphans, lock, open_claims,
		passes, quotas, record, report
	};
	struct state s;
	int rc = GO_ON;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.changes.quiet = o->quiet;
	for (size_t k = 0; rc == GO_ON && k < sizeof(step) / sizeof(step[0]);
	    k++)
		rc = step[k](&s);
	state_free(&s);
	return rc;
}
