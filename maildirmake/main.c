/*
 * ldap-maildirmake: create every maildir, Courier shared maildir, shared
 * folder, delivery link and shared-maildirs line the directory describes.
 * Replaces the howto's makeMailMessageStoreDirs script and its calls of
 * Courier's maildirmake (see ../shared/SPEC.md, man/ldap-maildirmake.8).
 *
 * main() reads: arguments, configuration, mail_owner, mail_base (must
 * exist), one paged read of the account leaf, the plan (plan.c: pure),
 * the run lock, then two passes over the objects in plan order
 * (maildir.c): the first only looks, and leaves out whole every entry
 * with an object that cannot be made (a symlink or a foreign object in
 * the way); the second makes what the remaining entries need and was not
 * found whole.  LDAP is read whole before anything is touched, so an
 * unreachable or failing directory leaves the file system exactly as it
 * was (exit 2).  An object that fails skips what depends on it; every
 * entry left out or incomplete is named on stderr with its DN (exit 1).
 * One line per change on stdout, one summary line last.
 *
 * The lock is flock(2) on <mail_base>/.ldap-maildirmake.lock, taken
 * without waiting: a second run while one is under way says so and exits
 * 2 at once, so cron runs never pile up behind a stuck one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/cfg.h"
#include "common/exitcode.h"
#include "common/ldapconn.h"
#include "common/log.h"
#include "common/privs.h"
#include "maildirmake/maildir.h"
#include "maildirmake/plan.h"
#include "maildirmake/watch.h"

#define PROG	"ldap-maildirmake"
#define FILTER	"(&(mailMessageStore=*)" \
		"(|(accountStatus=active)(accountStatus=shared)))"

static const char *const attrs[] = { "accountStatus", "mailMessageStore",
	"uid", "cn", "postOfficeBox", "seeAlso", NULL };

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-c FILE] [-n] [-q | -v] [--watch]\n"
	    "\n"
	    "Create the maildirs, Courier shared maildirs, shared folders,\n"
	    "delivery links and shared-maildirs lines that the LDAP directory\n"
	    "describes, under mail_base, owned by mail_owner.\n"
	    "\n"
	    "  -c FILE   configuration file (default " CFG_DEFAULT_PATH ")\n"
	    "  -n        print what would be done, do nothing\n"
	    "  -q        quiet: print only errors\n"
	    "  -v        verbose: also tell what is already there\n"
	    "  --tempfail  exit 75 instead of 2 when LDAP could not be asked\n"
	    "            or another run holds the lock\n"
	    "  --watch   stay running: follow the directory (RFC 4533\n"
	    "            sync) and make what each change asks for at once\n"
	    "  --help    this text\n"
	    "\n"
	    "Exit status: 0 all done, 1 some entries failed, 2 configuration,\n"
	    "LDAP, lock or usage error (nothing done), 75 out of memory.\n");
}

/* ---- reading the directory ---- */

struct collect {
	struct mdm_entry *v;
	size_t n, cap;
};

static struct layout_val *
copy_vals(const struct lentry *le, const char *attr, size_t *n)
{
	const struct lval *lv;
	struct layout_val *v;

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
	const struct layout_profile *pf = layout_profile(NULL);
	struct collect *c = arg;
	struct mdm_entry *e;
	const struct lval *lv;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
	}
	e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	e->dn = xstrdup(lentry_dn(le));
	e->status = copy_vals(le, pf->status_attr, &e->n_status);
	/* Only shared entries are looked up by DN (seeAlso). */
	if (layout_status(pf, e->status, e->n_status) == LAYOUT_SHARED)
		e->ndn = ldapconn_dn_normalize(e->dn);
	e->mms = copy_vals(le, pf->store_attr, &e->n_mms);
	e->uid = copy_vals(le, pf->folder_attr, &e->n_uid);
	e->cn = copy_vals(le, pf->nick_attr, &e->n_cn);
	e->pob = copy_vals(le, pf->box_attr, &e->n_pob);
	e->n_see = lentry_values(le, "seeAlso", &lv);
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
		free_vals(e->status, e->n_status);
		free_vals(e->mms, e->n_mms);
		free_vals(e->uid, e->n_uid);
		free_vals(e->cn, e->n_cn);
		free_vals(e->pob, e->n_pob);
		for (size_t k = 0; k < e->n_see; k++)
			free(e->see[k]);
		free(e->see);
	}
	free(c->v);
}

/* ---- running the plan ---- */

static int verbose;		/* -v */

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

struct run {
	int quiet;
	size_t changes;
};

static void
print_change(const char *line, void *arg)
{
	struct run *r = arg;

	r->changes++;
	if (!r->quiet)
		printf("%s\n", line);
}

/* Each object in order.  The first pass (prev NULL) only looks.  The
 * second makes (or, dry, tells) what use marks and the first pass did not
 * find whole.  An object whose parent or need failed or was left out
 * fails without being tried. */
static void
phase(struct mdm_fs *fs, const struct mdm_plan *pl, int dry,
    mdm_change_fn fn, void *arg, const unsigned char *use,
    const struct phase *prev, struct phase *ph)
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

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "watch", no_argument, NULL, 'W' },
		EXIT_TEMPFAIL_OPTION,
		{ NULL, 0, NULL, 0 }
	};
	const char *cfgpath = CFG_DEFAULT_PATH;
	int dry = 0, quiet = 0, watch = 0, ch, status = 0;
	char err[1024];
	struct cfg *cfg;
	uid_t uid;
	gid_t gid;
	struct mdm_fs *fs;
	struct ldapconn *lc;
	struct collect col = { NULL, 0, 0 };
	enum ldapconn_status ls;
	struct mdm_plan *pl;
	struct mdm_params prm;
	struct phase *ph1, *ph2;
	unsigned char *use;
	size_t *bad, nobj, nfailed = 0, nactive = 0, nshared = 0;
	struct run run = { 0, 0 };
	double t0;

	/* Modes are set explicitly; this only keeps a strange umask from
	 * making our own fresh directories unreadable to us. */
	umask(077);
	log_open(PROG, 1);
	while ((ch = getopt_long(argc, argv, "c:nqvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'n':
			dry = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'T':
			exit_tempfail_on();
			break;
		case 'W':
			watch = 1;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (quiet && verbose)) {
		usage(stderr);
		return 2;
	}
	log_set_verbose(verbose);
	setvbuf(stdout, NULL, _IOLBF, 0);
	run.quiet = quiet;

	if ((cfg = cfg_load(cfgpath, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return 2;
	}
	if (privs_owner(cfg->mail_owner, &uid, &gid, err, sizeof(err)) != 0) {
		log_error("mail_owner: %s", err);
		cfg_free(cfg);
		return 2;
	}
	if (!dry && geteuid() != 0 && geteuid() != uid) {
		log_error("run as root or as mail_owner %s (uid %lu), not as "
		    "uid %lu", cfg->mail_owner, (unsigned long)uid,
		    (unsigned long)geteuid());
		cfg_free(cfg);
		return 2;
	}
	fs = mdm_fs_open(cfg->mail_base, uid, gid, geteuid() == 0, err,
	    sizeof(err));
	if (fs == NULL) {
		log_error("%s", err);
		cfg_free(cfg);
		return 2;
	}

	if (watch) {
		/* watch.h: a pass per batch of changes, each in a child that
		 * goes on below. */
		int r = mdm_watch(cfg, FILTER,
		    layout_profile(NULL)->store_attr);

		if (r != MDM_WATCH_CHILD) {
			mdm_fs_close(fs);
			cfg_free(cfg);
			return r;
		}
	}

	/* The whole directory first: nothing is touched if this fails. */
	t0 = clock_ms();
	lc = ldapconn_new(cfg);
	ls = ldapconn_search(lc, cfg->account_base, CFG_SCOPE_SUB, FILTER,
	    attrs, 1, collect_entry, &col, err, sizeof(err));
	ldapconn_free(lc);
	if (ls != LDAPCONN_OK) {
		log_error("cannot read %s from the directory: %s; nothing done",
		    cfg->account_base, err);
		free_entries(&col);
		mdm_fs_close(fs);
		cfg_free(cfg);
		return ls == LDAPCONN_TEMP ? exit_temp(EXIT_ERROR) : EXIT_ERROR;
	}

	log_debug("read %zu entries from %s in %.0f ms", col.n,
	    cfg->account_base, clock_ms() - t0);
	t0 = clock_ms();
	prm.mail_base = cfg->mail_base;
	prm.shared_dir = cfg->shared_dir;
	prm.shared_maildirs_dir = cfg->shared_maildirs_dir;
	pl = mdm_plan_build(col.v, col.n, &prm);
	for (size_t i = 0; i < col.n; i++) {
		enum layout_status s = layout_status(NULL, col.v[i].status,
		    col.v[i].n_status);

		nactive += s == LAYOUT_ACTIVE;
		nshared += s == LAYOUT_SHARED;
	}
	for (size_t i = 0; i < mdm_plan_nproblems(pl); i++) {
		const struct mdm_problem *p = mdm_plan_problem(pl, i);

		log_error("%s: skipped: %s", col.v[p->entry].dn, p->text);
	}

	if (!dry) {
		int r = mdm_fs_lock(fs, err, sizeof(err));

		if (r != 0) {
			if (r > 0)
				log_error("another " PROG " is running (%s/%s "
				    "is locked); nothing done", cfg->mail_base,
				    MDM_LOCK_NAME);
			else
				log_error("%s; nothing done", err);
			mdm_plan_free(pl);
			free_entries(&col);
			mdm_fs_close(fs);
			cfg_free(cfg);
			return r > 0 ? exit_temp(EXIT_ERROR) : EXIT_ERROR;
		}
	}

	/*
	 * Two passes.  The first only looks (as -n does, silently): an entry
	 * with a part that cannot be made (a symlink on its way, a wrong
	 * object where one of its objects belongs) is left out whole before
	 * anything is made.  The second makes what the other entries need.
	 */
	nobj = mdm_plan_nobj(pl);
	ph1 = xcalloc(1, sizeof(*ph1));
	ph2 = xcalloc(1, sizeof(*ph2));
	phase_init(ph1, nobj);
	phase_init(ph2, nobj);
	use = xcalloc(nobj ? nobj : 1, 1);
	bad = xcalloc(col.n ? col.n : 1, sizeof(*bad));
	log_debug("planned %zu objects in %.0f ms", nobj, clock_ms() - t0);
	t0 = clock_ms();
	phase(fs, pl, 1, NULL, NULL, NULL, NULL, ph1);
	log_debug("looked at them in %.0f ms", clock_ms() - t0);
	t0 = clock_ms();
	for (size_t e = 0; e < col.n; e++)
		bad[e] = entry_failure(pl, e, ph1);
	for (size_t e = 0; e < col.n; e++) {
		const size_t *objs;
		size_t n = mdm_plan_entry_objs(pl, e, &objs);

		for (size_t k = 0; bad[e] == MDM_NONE && k < n; k++)
			use[objs[k]] = 1;
	}
	for (size_t i = 0; i < nobj; i++)
		if (mdm_plan_obj(pl, i)->entry == MDM_NONE &&
		    ph1->st[i] != O_FAILED)
			use[i] = 1;	/* shared_dir, shared_maildirs_dir */
	phase(fs, pl, dry, print_change, &run, use, ph1, ph2);
	log_debug("%s in %.0f ms", dry ? "told" : "made", clock_ms() - t0);

	/* Every entry with a part missing, once, with the first reason;
	 * and what failed for nobody in particular. */
	nfailed = mdm_plan_nproblems(pl);
	for (size_t i = 0; i < nobj; i++)
		if (mdm_plan_obj(pl, i)->entry == MDM_NONE &&
		    (ph1->st[i] == O_FAILED || ph2->st[i] == O_FAILED)) {
			log_error("%s", ph1->st[i] == O_FAILED ?
			    ph1->why[ph1->cause[i]] : ph2->why[ph2->cause[i]]);
			status = 1;
		}
	for (size_t e = 0; e < col.n; e++) {
		const struct phase *ph = ph1;
		size_t at = bad[e];

		if (at == MDM_NONE) {
			ph = ph2;
			at = entry_failure(pl, e, ph2);
		}
		if (at == MDM_NONE)
			continue;
		log_error("%s: %s: %s", col.v[e].dn, ph == ph1 ? "skipped" :
		    "not built", ph->why[ph->cause[at]] ?
		    ph->why[ph->cause[at]] : "(unknown)");
		nfailed++;
	}
	if (nfailed > 0)
		status = 1;
	if (!quiet) {
		printf(PROG ": %zu entries (%zu active, %zu shared, %zu failed), "
		    "%zu objects, ", col.n, nactive, nshared, nfailed, nobj);
		if (run.changes == 0)
			printf("no changes%s\n", dry ? " (dry run)" : "");
		else if (dry)
			printf("%zu changes to make (dry run: nothing done)\n",
			    run.changes);
		else
			printf("%zu changes\n", run.changes);
	}
	fflush(stdout);

	phase_free(ph1);
	phase_free(ph2);
	free(use);
	free(bad);
	mdm_plan_free(pl);
	free_entries(&col);
	mdm_fs_close(fs);
	cfg_free(cfg);
	return status;
}
