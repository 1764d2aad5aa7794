/*
 * engine: snapshot, memory of live answers, live workers, snapshot builder
 * (see engine.h).
 *
 * Threads.  The event loop (the caller) owns the per-map state: the open
 * snapshot, the caches, the counters.  NWORKERS workers each own an LDAP
 * session and take live walks from a bounded queue; one builder owns
 * another session and rebuilds snapshots.  Workers and builder never touch
 * the loop's state: they put finished jobs and freshly opened snapshots on
 * a list and write the eventfd; the loop picks them up in engine_drain().
 * A configuration is shared by reference count, so a SIGHUP never pulls a
 * map out from under a walk in progress.
 *
 * Freshness.  Snapshots are rebuilt every `refresh` s; a live find asks
 * for an earlier rebuild (at most one per `min_refresh` s); a snapshot
 * replaced on disk by someone else (`lookupd sync` from cron) is reopened;
 * one changed in place or found damaged is dropped at once and rebuilt; one
 * older than `max_stale` (the directory has been unreachable that long) is
 * no longer answered from.
 *
 * Failing fast.  A live walk that finds LDAP down or too slow takes up to
 * ldap_timeout; NWORKERS of them at a time would make the jobs queued
 * behind wait several ldap_timeouts.  So a job queued before the latest
 * such failure, and taken up less than ldap_timeout after it, is answered
 * TEMP at once with that failure's reason.  Jobs queued after it still
 * ask LDAP (that is how its return is seen), and any complete answer
 * ends the failure.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/cfg.h"
#include "common/ldapconn.h"
#include "common/ldaptable.h"
#include "common/log.h"
#include "lookupd/decide.h"
#include "lookupd/engine.h"
#include "lookupd/kcache.h"
#include "lookupd/live.h"
#include "lookupd/maps.h"
#include "lookupd/overlay.h"
#include "lookupd/persist.h"
#include "lookupd/pfldap.h"
#include "lookupd/snapshot.h"
#include "lookupd/status.h"
#include "lookupd/sync.h"

#define NWORKERS	4
#define QUEUE_MAX	2048
#define CACHE_MAX	100000
#define LAT_RING	1024
#define RETRY_MIN	5

struct cfgref {
	struct cfg *cfg;
	atomic_int refs;
};

struct job {
	struct job *next;
	struct cfgref *cr;
	size_t map;
	struct walk w;
	uint64_t token;
	double t0;			/* clock_ms() when it was queued */
	double ms;
	struct live_answer a;
	struct buf value;
};

/* What the builder hands to the loop: one opened snapshot per map. */
struct snapset {
	struct snapset *next;
	struct cfgref *cr;
	struct snapshot **snap;		/* per map of cr->cfg, may be NULL */
	int built;			/* fresh from LDAP (drop live finds) */
	/* persist: the files of these maps hold the changes up to seq */
	uint64_t seq;
	size_t *maps;			/* indexes in cr->cfg->maps */
	size_t nmaps;
};

/* Changes a persist stream hands to the loop for the overlays. */
struct changeset {
	struct changeset *next;
	struct cfgref *cr;
	uint64_t seq;
	struct uuidx_keys k;
	struct keybatch b;
};

struct mapstate {
	struct snapshot *snap;
	struct overlay *ov;		/* persist changes not in snap yet */
	struct decide_mem mem;		/* live answers remembered */
	unsigned long long count[4];	/* by enum result */
	unsigned long long snap_hits, cache_hits, live;
	time_t stale_logged;
};

struct engine {
	struct cfgref *cur;
	struct mapstate *ms;		/* per map of cur */
	int efd;
	time_t started;

	pthread_mutex_t mu;
	pthread_cond_t work_cv;		/* workers wait here */
	pthread_cond_t build_cv;	/* the builder waits here */
	struct job *queue, **queue_tail;
	size_t queued;
	struct job *done;		/* finished live jobs */
	struct snapset *sets;		/* opened snapshots for the loop */
	struct changeset *changes, **changes_tail;	/* persist */
	int stop;

	/* sync = persist: the streams; off when the server refused */
	struct persist *persist;
	struct cfgref *persist_cr;
	int persist_on;			/* under mu */
	int persist_refused;
	char live_server[NWORKERS][300];	/* per worker, under mu */
	size_t live_tables[NWORKERS];	/* its ldap_table sessions, under mu */
	char build_server[300];

	/* builder state, under mu */
	struct cfgref *build_cr;
	time_t next_build;
	time_t last_build;		/* start of the last attempt */
	int want_early;
	int want_now;
	int want_reopen;
	char last_error[640];
	time_t last_error_at;
	unsigned long long ldap_errors;
	double build_seconds;		/* the last build's, < 0 none */
	int live_down;			/* a live walk found LDAP down... */
	double live_down_at;		/* ...then (clock_ms()) */
	char live_down_err[512];
	unsigned long long builds_ok, builds_failed;

	pthread_t workers[NWORKERS];
	int nworkers;
	int nworkers_up;		/* under mu: numbers the workers */
	pthread_t builder;
	int has_builder;

	/* loop-only counters */
	unsigned long long unknown_map, busy;
	double lat[LAT_RING];
	size_t nlat;
};

static struct cfgref *
cfgref_new(struct cfg *cfg)
{
	struct cfgref *cr = xcalloc(1, sizeof(*cr));

	cr->cfg = cfg;
	atomic_init(&cr->refs, 1);
	return cr;
}

static struct cfgref *
cfgref_get(struct cfgref *cr)
{
	atomic_fetch_add(&cr->refs, 1);
	return cr;
}

static void
cfgref_put(struct cfgref *cr)
{
	if (cr && atomic_fetch_sub(&cr->refs, 1) == 1) {
		cfg_free(cr->cfg);
		free(cr);
	}
}

static void
wake_loop(struct engine *e)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the loop will look. */
	if (write(e->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("engine: eventfd: %s", strerror(errno));
}

static void
set_error(struct engine *e, const char *what, const char *err)
{
	pthread_mutex_lock(&e->mu);
	snprintf(e->last_error, sizeof(e->last_error), "%s: %s", what, err);
	e->last_error_at = time(NULL);
	e->ldap_errors++;
	pthread_mutex_unlock(&e->mu);
}

/* ---- workers ---- */

/* A worker's ldap_table maps, one per map of cr's configuration, and
 * their LDAP sessions (pool: one per server and identity). */
static void
pf_free(struct pfldap **pf, struct pfpool *pool, const struct cfgref *cr)
{
	if (pf == NULL)
		return;
	for (size_t i = 0; i < cr->cfg->n_maps; i++)
		pfldap_free(pf[i]);
	free(pf);
	pfpool_free(pool);
}

static void *
worker_main(void *arg)
{
	struct engine *e = arg;
	struct ldapconn *lc = NULL;
	struct cfgref *lc_cr = NULL;
	struct pfldap **pf = NULL;	/* per map of lc_cr: ldap_table */
	struct pfpool *pool = NULL;	/* their sessions */
	char server[300];
	int me;

	pthread_mutex_lock(&e->mu);
	me = e->nworkers_up++;
	for (;;) {
		struct job *j;
		const struct cfg_map *m;

		while (!e->stop && e->queue == NULL)
			pthread_cond_wait(&e->work_cv, &e->mu);
		if (e->stop)
			break;
		j = e->queue;
		e->queue = j->next;
		if (e->queue == NULL)
			e->queue_tail = &e->queue;
		e->queued--;
		m = &j->cr->cfg->maps[j->map];
		if (e->live_down && j->t0 < e->live_down_at &&
		    clock_ms() - e->live_down_at <
		    1000.0 * j->cr->cfg->ldap_timeout) {
			/* It waited while LDAP failed: do not wait again. */
			j->a.res = RES_TEMP;
			snprintf(j->a.err, sizeof(j->a.err), "%s",
			    e->live_down_err);
			j->ms = clock_ms() - j->t0;
			j->next = e->done;
			e->done = j;
			wake_loop(e);
			continue;
		}
		pthread_mutex_unlock(&e->mu);

		if (lc_cr != j->cr) {
			pf_free(pf, pool, lc_cr);
			ldapconn_free(lc);
			cfgref_put(lc_cr);
			lc_cr = cfgref_get(j->cr);
			lc = ldapconn_new(lc_cr->cfg);
			pf = xcalloc(lc_cr->cfg->n_maps ? lc_cr->cfg->n_maps :
			    1, sizeof(*pf));
			pool = pfpool_new();
		}
		j->a.value = &j->value;
		if (m->table != NULL) {
			if (pf[j->map] == NULL)
				pf[j->map] = pfldap_new_shared(m->table,
				    pool);
			live_table_walk(pf[j->map], m, &j->w, &j->a);
		} else {
			live_walk(lc, m, &j->w, &j->a);
		}
		j->ms = clock_ms() - j->t0;
		if (j->a.res == RES_TEMP && j->a.err[0])
			set_error(e, "live lookup", j->a.err);
		if (m->table == NULL)
			(void)ldapconn_current(lc, server, sizeof(server));
		else
			snprintf(server, sizeof(server), "%s", m->table->
			    nservers ? m->table->servers[0] : "-");

		pthread_mutex_lock(&e->mu);
		if (me < NWORKERS) {
			memcpy(e->live_server[me], server, sizeof(server));
			e->live_tables[me] = pfpool_sessions(pool);
		}
		if (j->a.unreachable) {
			e->live_down = 1;
			e->live_down_at = clock_ms();
			snprintf(e->live_down_err, sizeof(e->live_down_err),
			    "%s", j->a.err);
		} else if (j->a.res != RES_TEMP && m->table == NULL) {
			e->live_down = 0;
		}
		j->next = e->done;
		e->done = j;
		wake_loop(e);
	}
	pthread_mutex_unlock(&e->mu);
	pf_free(pf, pool, lc_cr);
	ldapconn_free(lc);
	cfgref_put(lc_cr);
	return NULL;
}

static void
job_free(struct job *j)
{
	maps_walk_free(&j->w);
	buf_free(&j->value);
	cfgref_put(j->cr);
	free(j);
}

/* ---- builder ---- */

/* The snapshots of cr's maps; given[i] (NULL, or n_maps of them, each
 * NULL or open): map i's file as its writer left it, taken as it is
 * while it is still the one in place. */
static struct snapset *
open_set(struct cfgref *cr, int built, struct snapshot *const *given)
{
	struct snapset *s = xcalloc(1, sizeof(*s));
	const struct cfg *cfg = cr->cfg;

	s->cr = cfgref_get(cr);
	s->built = built;
	s->snap = xcalloc(cfg->n_maps ? cfg->n_maps : 1, sizeof(*s->snap));
	for (size_t i = 0; i < cfg->n_maps; i++) {
		char err[512];
		enum snap_status st;

		if (cfg->maps[i].table != NULL &&
		    sync_table_live(&cfg->maps[i]))
			continue;	/* answered live in this run */
		if (given && given[i] && snapshot_changed(given[i]) == 0) {
			s->snap[i] = snapshot_ref(given[i]);
			continue;
		}
		st = snapshot_open(cfg->cache_dir, cfg->maps[i].name,
		    &s->snap[i], err, sizeof(err));
		if (st == SNAP_DAMAGED || st == SNAP_ERROR)
			log_warn("snapshot of map %s not used: %s",
			    cfg->maps[i].name, err);
		if (st != SNAP_OK)
			s->snap[i] = NULL;
	}
	return s;
}

static void
snapset_free(struct snapset *s)
{
	free(s->maps);
	for (size_t i = 0; i < s->cr->cfg->n_maps; i++)
		if (s->snap[i])
			snapshot_close(s->snap[i]);
	free(s->snap);
	cfgref_put(s->cr);
	free(s);
}

/* A build is due: asked for now, `refresh` is up, or an early one was
 * asked for and `min_refresh` has passed since the last build. */
static int
has_tables(const struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->n_maps; i++)
		if (cfg->maps[i].table != NULL)
			return 1;
	return 0;
}

static int
build_wanted(const struct engine *e, time_t now)
{
	if (e->persist_on)	/* the streams keep all but ldap_table maps */
		return has_tables(e->build_cr->cfg) && now >= e->next_build;
	return e->want_now || now >= e->next_build || (e->want_early &&
	    now >= e->last_build + e->build_cr->cfg->min_refresh);
}

/* Anything for the builder to do (a build or a reopen); if not, *wake is
 * when there will be. */
static int
build_due(struct engine *e, time_t now, time_t *wake)
{
	time_t early = e->last_build + e->build_cr->cfg->min_refresh;

	if (build_wanted(e, now) || e->want_reopen)
		return 1;
	*wake = e->persist_on && !has_tables(e->build_cr->cfg) ? now + 3600 :
	    e->next_build;
	if (e->want_early && early < *wake)
		*wake = early;
	return 0;
}

static void *
builder_main(void *arg)
{
	struct engine *e = arg;
	struct ldapconn *lc = NULL;
	struct cfgref *lc_cr = NULL;

	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		time_t now = time(NULL), wake = 0;
		struct cfgref *cr;
		int build, ok = 0, tables_only;
		char err[512] = "";
		struct timespec t0;
		double ms;

		if (!build_due(e, now, &wake)) {
			struct timespec ts = { wake, 0 };

			pthread_cond_timedwait(&e->build_cv, &e->mu, &ts);
			continue;
		}
		build = build_wanted(e, now);
		tables_only = e->persist_on;
		e->want_reopen = 0;
		if (build)
			e->want_now = e->want_early = 0;
		cr = cfgref_get(e->build_cr);
		if (build)
			e->last_build = now;
		pthread_mutex_unlock(&e->mu);

		if (build) {
			if (lc_cr != cr) {
				ldapconn_free(lc);
				cfgref_put(lc_cr);
				lc_cr = cfgref_get(cr);
				lc = ldapconn_new(lc_cr->cfg);
			}
			clock_gettime(CLOCK_MONOTONIC, &t0);
			ok = sync_build_maps(cr->cfg, lc, tables_only, NULL,
			    err, sizeof(err)) == 0;
			ms = clock_ms_since(&t0);
			{
				char sv[300];

				(void)ldapconn_current(lc, sv, sizeof(sv));
				pthread_mutex_lock(&e->mu);
				memcpy(e->build_server, sv, sizeof(sv));
				e->build_seconds = ms / 1000.0;
				pthread_mutex_unlock(&e->mu);
			}
			if (ok)
				log_info("snapshot of %zu maps rebuilt in %.0f ms",
				    cr->cfg->n_maps, ms);
			else {
				log_warn("snapshot rebuild failed, the old one "
				    "stays: %s", err);
				set_error(e, "snapshot", err);
			}
		}
		/* Open (and verify) off the loop, then hand over. */
		{
			struct snapset *s = open_set(cr, build && ok, NULL);

			pthread_mutex_lock(&e->mu);
			s->next = e->sets;
			e->sets = s;
			/* These are the files on disk now: a replacement the
			 * tick saw meanwhile (our own commit) is in them.  One
			 * that comes later is seen again at the next tick. */
			e->want_reopen = 0;
			wake_loop(e);
		}
		if (build) {
			int retry = cr->cfg->min_refresh > RETRY_MIN ?
			    cr->cfg->min_refresh : RETRY_MIN;

			if (ok) {
				e->builds_ok++;
				e->next_build = time(NULL) + cr->cfg->refresh;
			} else {
				e->builds_failed++;
				if (retry > cr->cfg->refresh)
					retry = cr->cfg->refresh;
				e->next_build = time(NULL) + retry;
			}
		}
		cfgref_put(cr);
	}
	pthread_mutex_unlock(&e->mu);
	ldapconn_free(lc);
	cfgref_put(lc_cr);
	return NULL;
}

/* ---- the loop's side ---- */

static void
mapstate_free(struct mapstate *ms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ms[i].snap)
			snapshot_close(ms[i].snap);
		overlay_free(ms[i].ov);
		kcache_free(ms[i].mem.missed);
		kcache_free(ms[i].mem.found);
	}
	free(ms);
}

static struct mapstate *
mapstate_new(size_t n)
{
	struct mapstate *ms = xcalloc(n ? n : 1, sizeof(*ms));

	for (size_t i = 0; i < n; i++) {
		ms[i].ov = overlay_new();
		ms[i].mem.missed = kcache_new(CACHE_MAX);
		ms[i].mem.found = kcache_new(CACHE_MAX);
	}
	return ms;
}

static void
request_build(struct engine *e, int now_or_early)
{
	pthread_mutex_lock(&e->mu);
	if (e->persist_on) {
		/* The streams keep the snapshots; a damaged one is
		 * replaced by a full refresh. */
		pthread_mutex_unlock(&e->mu);
		if (now_or_early && e->persist)
			persist_full(e->persist);
		return;
	}
	if (now_or_early)
		e->want_now = 1;
	else
		e->want_early = 1;
	pthread_cond_signal(&e->build_cv);
	pthread_mutex_unlock(&e->mu);
}

static void
drop_snapshot(struct engine *e, size_t i, const char *why)
{
	log_warn("snapshot %s %s: no longer answered from, rebuilding",
	    snapshot_path(e->ms[i].snap), why);
	snapshot_close(e->ms[i].snap);
	e->ms[i].snap = NULL;
	request_build(e, 1);
}

/* Install the snapshots of set s where they belong to the current cfg. */
static void
take_set(struct engine *e, struct snapset *s)
{
	const struct cfg *cfg = e->cur->cfg;

	for (size_t i = 0; i < s->cr->cfg->n_maps; i++) {
		const struct cfg_map *m;
		size_t k;

		if (s->snap[i] == NULL)
			continue;
		m = cfg_map_find(cfg, s->cr->cfg->maps[i].name,
		    strlen(s->cr->cfg->maps[i].name));
		if (m == NULL)
			continue;
		k = (size_t)(m - cfg->maps);
		if (e->ms[k].snap)
			snapshot_close(e->ms[k].snap);
		e->ms[k].snap = s->snap[i];
		s->snap[i] = NULL;
		/* The new snapshot knows what the live finds knew. */
		if (s->built)
			kcache_clear(e->ms[k].mem.found);
	}
	/* A persist commit: its changes are in the files now. */
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct cfg_map *m;

		m = cfg_map_find(cfg, s->cr->cfg->maps[s->maps[i]].name,
		    strlen(s->cr->cfg->maps[s->maps[i]].name));
		if (m)
			overlay_commit(e->ms[m - cfg->maps].ov, s->seq);
	}
}

/* Persist changes into the overlays of the current maps. */
static void
take_changes(struct engine *e, struct changeset *c)
{
	const struct cfg *cfg = e->cur->cfg;

	for (size_t i = 0; i < c->b.n; i++) {
		const struct keychange *k = &c->b.v[i];
		const struct cfg_map *m;
		struct mapstate *ms;

		if (k->map >= c->cr->cfg->n_maps)
			continue;
		m = cfg_map_find(cfg, c->cr->cfg->maps[k->map].name,
		    strlen(c->cr->cfg->maps[k->map].name));
		if (m == NULL)
			continue;
		ms = &e->ms[m - cfg->maps];
		overlay_keys(ms->ov, &c->k);
		overlay_apply(ms->ov, c->seq, k, ms->snap);
		/* A remembered live find may be what just went. */
		kcache_clear(ms->mem.found);
	}
}

static void
changeset_free(struct changeset *c)
{
	keybatch_free(&c->b);
	cfgref_put(c->cr);
	free(c);
}

/* ---- the persist streams' hooks (their threads) ---- */

static void
hook_changes(void *arg, uint64_t seq, const struct uuidx_keys *k,
    struct keybatch *b)
{
	struct engine *e = arg;
	struct changeset *c = xcalloc(1, sizeof(*c));

	c->seq = seq;
	c->k = *k;
	c->b = *b;
	pthread_mutex_lock(&e->mu);
	c->cr = cfgref_get(e->persist_cr);
	*e->changes_tail = c;
	e->changes_tail = &c->next;
	wake_loop(e);
	pthread_mutex_unlock(&e->mu);
}

static void
hook_committed(void *arg, uint64_t seq, const size_t *maps,
    struct snapshot *const *snaps, size_t n)
{
	struct engine *e = arg;
	struct snapshot **given;
	struct snapset *s;
	struct cfgref *cr;

	pthread_mutex_lock(&e->mu);
	cr = cfgref_get(e->persist_cr);
	pthread_mutex_unlock(&e->mu);
	/* The files the stream just wrote need no second verification. */
	given = xcalloc(cr->cfg->n_maps ? cr->cfg->n_maps : 1,
	    sizeof(*given));
	for (size_t i = 0; i < n; i++)
		if (maps[i] < cr->cfg->n_maps)
			given[maps[i]] = snaps[i];
	s = open_set(cr, 1, given);
	free(given);
	cfgref_put(cr);
	s->seq = seq;
	s->maps = xcalloc(n ? n : 1, sizeof(*s->maps));
	memcpy(s->maps, maps, n * sizeof(*maps));
	s->nmaps = n;
	pthread_mutex_lock(&e->mu);
	s->next = e->sets;
	e->sets = s;
	e->builds_ok++;
	wake_loop(e);
	pthread_mutex_unlock(&e->mu);
}

static void
hook_refused(void *arg, const char *why)
{
	struct engine *e = arg;

	pthread_mutex_lock(&e->mu);
	snprintf(e->last_error, sizeof(e->last_error), "persist: %s", why);
	e->last_error_at = time(NULL);
	e->persist_on = 0;
	e->persist_refused = 1;
	e->want_now = 1;
	pthread_cond_signal(&e->build_cv);
	pthread_mutex_unlock(&e->mu);
}

static void
hook_error(void *arg, const char *why)
{
	set_error(arg, "persist", why);
}

static const struct persist_hooks hooks = {
	hook_changes, hook_committed, hook_refused, hook_error
};

/* Start the persist streams for cr (sync = persist); the builder stands
 * aside while they run. */
static void
persist_start(struct engine *e, struct cfgref *cr)
{
	char err[512];
	struct persist *p;

	pthread_mutex_lock(&e->mu);
	cfgref_put(e->persist_cr);
	e->persist_cr = cfgref_get(cr);
	e->persist_on = 1;
	e->persist_refused = 0;
	pthread_mutex_unlock(&e->mu);
	p = persist_new(cr->cfg, &hooks, e, err, sizeof(err));
	if (p == NULL) {
		log_warn("persist sync not started, polling: %s", err);
		hook_refused(e, err);
	}
	e->persist = p;
}

/* Stop the streams; still_on: new ones follow at once (a reload), the
 * builder is not to start meanwhile. */
static void
persist_stop(struct engine *e, int still_on)
{
	persist_free(e->persist);
	e->persist = NULL;
	pthread_mutex_lock(&e->mu);
	e->persist_on = still_on;
	pthread_mutex_unlock(&e->mu);
}

static void
note_latency(struct engine *e, double ms)
{
	e->lat[e->nlat % LAT_RING] = ms;
	e->nlat++;
}

void
engine_drain(struct engine *e, engine_done_fn done, void *arg)
{
	uint64_t n;
	struct job *jobs, *j, *next;
	struct snapset *sets, *s, *snext;
	struct changeset *chg, *c, *cnext;
	struct buf out = BUF_INIT;
	time_t now = time(NULL);

	if (read(e->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("engine: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&e->mu);
	jobs = e->done;
	e->done = NULL;
	sets = e->sets;
	e->sets = NULL;
	chg = e->changes;
	e->changes = NULL;
	e->changes_tail = &e->changes;
	pthread_mutex_unlock(&e->mu);

	/* Changes first: a commit in sets may cover them. */
	for (c = chg; c; c = cnext) {
		cnext = c->next;
		take_changes(e, c);
		changeset_free(c);
	}
	/* Oldest set first (the list is newest first). */
	for (s = sets, sets = NULL; s; s = snext) {
		snext = s->next;
		s->next = sets;
		sets = s;
	}
	for (s = sets; s; s = snext) {
		snext = s->next;
		take_set(e, s);
		snapset_free(s);
	}
	/* Reverse to answer in completion order. */
	for (j = jobs, jobs = NULL; j; j = next) {
		next = j->next;
		j->next = jobs;
		jobs = j;
	}
	for (j = jobs; j; j = next) {
		const struct cfg_map *m = &j->cr->cfg->maps[j->map];
		int current = j->cr == e->cur;
		struct mapstate *ms = current ? &e->ms[j->map] : NULL;
		enum result res = j->a.res;

		next = j->next;
		note_latency(e, j->ms);
		buf_reset(&out);
		/* An ldap_table map remembers no live answer (its snapshot,
		 * if any, holds them all). */
		if (ms && m->table == NULL)
			decide_learn(j->cr->cfg, &ms->mem, &j->w, res,
			    j->a.step, j->value.p, j->value.len, now);
		switch (res) {
		case RES_FOUND:
			maps_answer(m, &j->w, j->a.step, j->value.p,
			    j->value.len, &out);
			if (m->table == NULL || (ms && ms->snap))
				request_build(e, 0);
			break;
		case RES_NOTFOUND:
			break;
		case RES_TEMP:
		case RES_PERM:
			buf_puts(&out, j->a.err[0] ? j->a.err : "LDAP lookup failed");
			break;
		}
		if (ms)
			ms->count[res]++;
		done(arg, j->token, res, out.p ? out.p : "", out.len);
		job_free(j);
	}
	buf_free(&out);
}

static int
answer(struct buf *out, enum result *res, enum result r, const char *text)
{
	*res = r;
	if (text)
		buf_puts(out, text);
	return 1;
}

int
engine_lookup(struct engine *e, const char *map, size_t maplen,
    const char *key, size_t keylen, uint64_t token, enum result *res,
    struct buf *out)
{
	const struct cfg *cfg = e->cur->cfg;
	const struct cfg_map *m = cfg_map_find(cfg, map, maplen);
	struct mapstate *ms = m ? &e->ms[m - cfg->maps] : NULL;
	struct decision d;
	struct walk w;
	time_t now = time(NULL);
	struct job *j;

	decide(cfg, m, key, keylen, ms ? ms->snap : NULL, ms ? ms->ov : NULL,
	    ms ? &ms->mem : NULL, now, &w, &d);
	if (d.snap == DECIDE_SNAP_STALE && ms->stale_logged + 60 <= now) {
		log_warn("snapshot %s is older than max_stale (%d s): not "
		    "answered from", snapshot_path(ms->snap), cfg->max_stale);
		ms->stale_logged = now;
	}
	if (d.snap == DECIDE_SNAP_DAMAGED)
		drop_snapshot(e, (size_t)(m - cfg->maps), "is damaged");
	if (d.from != DECIDE_LIVE) {
		if (ms == NULL)
			e->unknown_map++;
		else
			ms->count[d.res]++;
		if (d.from == DECIDE_SNAPSHOT)
			ms->snap_hits++;
		else if (d.from == DECIDE_MEMORY)
			ms->cache_hits++;
		*res = d.res;
		if (d.res == RES_FOUND)
			maps_answer(m, &w, d.step, d.val, d.vlen, out);
		else if (d.why)
			buf_puts(out, d.why);
		maps_walk_free(&w);
		return 1;
	}

	pthread_mutex_lock(&e->mu);
	if (e->queued >= QUEUE_MAX) {
		pthread_mutex_unlock(&e->mu);
		maps_walk_free(&w);
		e->busy++;
		ms->count[RES_TEMP]++;
		return answer(out, res, RES_TEMP, "too many LDAP lookups waiting");
	}
	j = xcalloc(1, sizeof(*j));
	j->cr = cfgref_get(e->cur);
	j->map = (size_t)(m - cfg->maps);
	j->w = w;
	j->token = token;
	j->t0 = clock_ms();
	*e->queue_tail = j;
	e->queue_tail = &j->next;
	e->queued++;
	ms->live++;
	pthread_cond_signal(&e->work_cv);
	pthread_mutex_unlock(&e->mu);
	return 0;
}

int
engine_fd(const struct engine *e)
{
	return e->efd;
}

void
engine_tick(struct engine *e)
{
	const struct cfg *cfg = e->cur->cfg;
	time_t now = time(NULL);
	int reopen = 0;

	for (size_t i = 0; i < cfg->n_maps; i++) {
		struct mapstate *ms = &e->ms[i];

		if (ms->snap) {
			switch (snapshot_changed(ms->snap)) {
			case 1:
				reopen = 1;
				break;
			case 2:
				drop_snapshot(e, i, "was changed in place or removed");
				break;
			default:
				break;
			}
		}
		if (now % 10 == 0) {
			kcache_expire(ms->mem.missed, now);
			kcache_expire(ms->mem.found, now);
		}
	}
	if (reopen) {
		pthread_mutex_lock(&e->mu);
		e->want_reopen = 1;
		pthread_cond_signal(&e->build_cv);
		pthread_mutex_unlock(&e->mu);
	}
}

/* When the first build is due: now if a snapshot is missing, else when the
 * oldest one reaches `refresh`. */
static time_t
first_build(const struct cfg *cfg, const struct mapstate *ms, time_t now)
{
	time_t due = now + cfg->refresh;

	for (size_t i = 0; i < cfg->n_maps; i++) {
		time_t t;

		if (ms[i].snap == NULL)
			return now;
		t = snapshot_built(ms[i].snap) + cfg->refresh;
		if (t < due)
			due = t;
	}
	return due;
}

struct engine *
engine_new(struct cfg *cfg, char *err, size_t errsz)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	struct snapset *s;
	int r;

	e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->efd < 0) {
		log_errf(err, errsz, "eventfd: %s", strerror(errno));
		free(e);
		return NULL;
	}
	e->started = time(NULL);
	e->build_seconds = -1;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->work_cv, NULL);
	{
		pthread_condattr_t ca;

		/* pthread_cond_timedwait with wall-clock deadlines (time_t). */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_REALTIME);
		pthread_cond_init(&e->build_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	e->queue_tail = &e->queue;
	e->changes_tail = &e->changes;
	e->cur = cfgref_new(cfg);
	e->ms = mapstate_new(cfg->n_maps);

	/* The last good snapshots answer at once, LDAP or not (cache_dir
	 * was made by the caller, before the privileges were dropped). */
	s = open_set(e->cur, 0, NULL);
	take_set(e, s);
	snapset_free(s);
	for (size_t i = 0; i < cfg->n_maps; i++)
		if (e->ms[i].snap)
			log_info("map %s: snapshot of %zu keys, %ld s old",
			    cfg->maps[i].name, snapshot_count(e->ms[i].snap),
			    (long)(time(NULL) - snapshot_built(e->ms[i].snap)));

	e->build_cr = cfgref_get(e->cur);
	e->next_build = first_build(cfg, e->ms, time(NULL));
	/* Persist streams keep the snapshots: no build before they say
	 * the server refuses them. */
	e->persist_on = cfg->sync == CFG_SYNC_PERSIST;

	for (int i = 0; i < NWORKERS; i++) {
		r = pthread_create(&e->workers[i], NULL, worker_main, e);
		if (r != 0) {
			log_errf(err, errsz, "pthread_create: %s", strerror(r));
			engine_free(e);
			return NULL;
		}
		e->nworkers++;
	}
	r = pthread_create(&e->builder, NULL, builder_main, e);
	if (r != 0) {
		log_errf(err, errsz, "pthread_create: %s", strerror(r));
		engine_free(e);
		return NULL;
	}
	e->has_builder = 1;
	if (cfg->sync == CFG_SYNC_PERSIST)
		persist_start(e, e->cur);
	return e;
}

void
engine_free(struct engine *e)
{
	struct job *j, *next;
	struct snapset *s, *snext;

	if (e == NULL)
		return;
	persist_stop(e, 0);
	pthread_mutex_lock(&e->mu);
	e->stop = 1;
	pthread_cond_broadcast(&e->work_cv);
	pthread_cond_broadcast(&e->build_cv);
	pthread_mutex_unlock(&e->mu);
	for (int i = 0; i < e->nworkers; i++)
		pthread_join(e->workers[i], NULL);
	if (e->has_builder)
		pthread_join(e->builder, NULL);

	for (j = e->queue; j; j = next) {
		next = j->next;
		job_free(j);
	}
	for (j = e->done; j; j = next) {
		next = j->next;
		job_free(j);
	}
	for (s = e->sets; s; s = snext) {
		snext = s->next;
		snapset_free(s);
	}
	while (e->changes) {
		struct changeset *c = e->changes;

		e->changes = c->next;
		changeset_free(c);
	}
	cfgref_put(e->persist_cr);
	mapstate_free(e->ms, e->cur->cfg->n_maps);
	cfgref_put(e->build_cr);
	cfgref_put(e->cur);
	close(e->efd);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->work_cv);
	pthread_cond_destroy(&e->build_cv);
	free(e);
}

const struct cfg *
engine_reload(struct engine *e)
{
	char err[1024];
	struct cfg *cfg = cfg_load(e->cur->cfg->file, err, sizeof(err));
	struct cfgref *cr;
	struct mapstate *ms;
	const struct cfg *old = e->cur->cfg;

	if (cfg != NULL && live_tables_supported(cfg, err, sizeof(err))) {
		cfg_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		log_error("reload refused, the old configuration stays: %s", err);
		return NULL;
	}
	for (size_t i = 0; i < cfg->warnings.n; i++)
		log_warn("%s", cfg->warnings.v[i]);
	cr = cfgref_new(cfg);
	ms = mapstate_new(cfg->n_maps);
	/* Keep answering from the snapshots of maps that stay, until the
	 * rebuild that follows right away replaces them. */
	if (strcmp(cfg->cache_dir, old->cache_dir) == 0)
		for (size_t i = 0; i < cfg->n_maps; i++) {
			const struct cfg_map *m = cfg_map_find(old,
			    cfg->maps[i].name, strlen(cfg->maps[i].name));

			if (m) {
				size_t k = (size_t)(m - old->maps);

				ms[i].snap = e->ms[k].snap;
				e->ms[k].snap = NULL;
			}
		}
	/* Counters belong to the map's name: a reload does not reset them. */
	for (size_t i = 0; i < cfg->n_maps; i++) {
		const struct cfg_map *m = cfg_map_find(old, cfg->maps[i].name,
		    strlen(cfg->maps[i].name));
		const struct mapstate *o;

		if (m == NULL)
			continue;
		o = &e->ms[m - old->maps];
		memcpy(ms[i].count, o->count, sizeof(ms[i].count));
		ms[i].snap_hits = o->snap_hits;
		ms[i].cache_hits = o->cache_hits;
		ms[i].live = o->live;
	}
	persist_stop(e, cfg->sync == CFG_SYNC_PERSIST);
	mapstate_free(e->ms, old->n_maps);
	cfgref_put(e->cur);
	e->cur = cr;
	e->ms = ms;
	if (cfg->sync == CFG_SYNC_PERSIST)
		persist_start(e, cr);

	pthread_mutex_lock(&e->mu);
	cfgref_put(e->build_cr);
	e->build_cr = cfgref_get(cr);
	e->want_now = 1;
	pthread_cond_signal(&e->build_cv);
	pthread_mutex_unlock(&e->mu);
	log_info("configuration %s reloaded: %zu maps", cfg->file, cfg->n_maps);
	return cfg;
}

const struct cfg *
engine_cfg(const struct engine *e)
{
	return e->cur->cfg;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
engine_ready(const struct engine *e)
{
	for (size_t i = 0; i < e->cur->cfg->n_maps; i++)
		if (e->ms[i].snap == NULL && e->cur->cfg->maps[i].table == NULL)
			return 0;
	return 1;
}

void
engine_status(struct engine *e, struct status *st)
{
	const struct cfg *cfg = e->cur->cfg;
	size_t n = e->nlat < LAT_RING ? e->nlat : LAT_RING;
	struct buf extra = BUF_INIT;
	int refused;

	st->now = time(NULL);
	st->started = e->started;
	st->n_maps = cfg->n_maps;
	st->maps = xcalloc(cfg->n_maps ? cfg->n_maps : 1, sizeof(*st->maps));
	for (size_t i = 0; i < cfg->n_maps; i++) {
		const struct mapstate *ms = &e->ms[i];
		struct status_map *m = &st->maps[i];

		m->name = cfg->maps[i].name;
		memcpy(m->count, ms->count, sizeof(m->count));
		m->snap_hits = ms->snap_hits;
		m->cache_hits = ms->cache_hits;
		m->live = ms->live;
		if (ms->snap) {
			m->loaded = 1;
			m->age = (long)(st->now - snapshot_built(ms->snap));
			m->keys = snapshot_count(ms->snap);
		}
	}
	st->unknown_map = e->unknown_map;
	st->busy = e->busy;
	if (n) {
		double *v = xmalloc(n * sizeof(*v));

		memcpy(v, e->lat, n * sizeof(*v));
		qsort(v, n, sizeof(*v), cmp_double);
		st->has_lat = 1;
		st->lat_p50_ms = v[n / 2];
		st->lat_p99_ms = v[n * 99 / 100];
		free(v);
	}
	pthread_mutex_lock(&e->mu);
	refused = e->persist_refused || e->persist == NULL;
	pthread_mutex_unlock(&e->mu);
	/* Lines of the sync and the sessions, for `stats` only. */
	buf_printf(&extra, "sync.mode %s\n", cfg->sync != CFG_SYNC_PERSIST ?
	    "poll" : refused ? "poll (persist refused)" : "persist");
	if (e->persist)
		persist_stats(e->persist, &extra);
	for (size_t i = 0; i < cfg->n_maps; i++)
		buf_printf(&extra, "map.%s.pending_changes %zu\n",
		    cfg->maps[i].name, overlay_count(e->ms[i].ov));
	pthread_mutex_lock(&e->mu);
	for (int i = 0; i < e->nworkers; i++)
		buf_printf(&extra, "session.live%d.server %s\n"
		    "session.live%d.ldap_tables %zu\n", i,
		    e->live_server[i][0] ? e->live_server[i] : "-", i,
		    e->live_tables[i]);
	buf_printf(&extra, "session.builder.server %s\n",
	    e->build_server[0] ? e->build_server : "-");
	st->extra = extra.p;
	st->extra_len = extra.len;
	st->builds_ok = e->builds_ok;
	st->builds_failed = e->builds_failed;
	st->build_seconds = e->build_seconds;
	st->ldap_errors = e->ldap_errors;
	snprintf(st->last_error, sizeof(st->last_error), "%s", e->last_error);
	st->last_error_age = e->last_error[0] ?
	    (long)(st->now - e->last_error_at) : -1L;
	/* The server in use: the builder's, else a live worker's. */
	snprintf(st->server, sizeof(st->server), "%s", e->build_server);
	for (int i = 0; i < e->nworkers && st->server[0] == '\0'; i++)
		snprintf(st->server, sizeof(st->server), "%s",
		    e->live_server[i]);
	pthread_mutex_unlock(&e->mu);
}
