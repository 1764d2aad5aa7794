/*
 * sync: a full snapshot of every map (see sync.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/ldapconn.h"
#include "common/log.h"
#include "lookupd/maps.h"
#include "lookupd/snapshot.h"
#include "lookupd/snapwriter.h"
#include "lookupd/sync.h"
#include "lookupd/tablebuild.h"

struct group {
	const struct cfg_map **maps;
	struct snapwriter **w;
	size_t *idx;			/* index of each map in cfg->maps */
	size_t n;
	size_t entries;
	size_t bad;
	int table;			/* one ldap_table map, built apart */
};

/* ldap_table maps whose answers could not be computed exactly in this
 * run (tablebuild: TABLEBUILD_CANNOT): answered live until lookupd
 * starts again.  Map name and file, under off_mu (builder threads). */
static pthread_mutex_t off_mu = PTHREAD_MUTEX_INITIALIZER;
static char **off;
static size_t noff;

static char *
off_name(const struct cfg_map *m)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s %s", m->name, m->ldap_table);
	return b.p;
}

int
sync_table_live(const struct cfg_map *m)
{
	char *k = off_name(m);
	int found = 0;

	pthread_mutex_lock(&off_mu);
	for (size_t i = 0; i < noff && !found; i++)
		found = strcmp(off[i], k) == 0;
	pthread_mutex_unlock(&off_mu);
	free(k);
	return found;
}

static void
table_set_live(const struct cfg *cfg, const struct cfg_map *m,
    const char *why)
{
	if (!sync_table_live(m)) {
		pthread_mutex_lock(&off_mu);
		off = xreallocarray(off, noff + 1, sizeof(*off));
		off[noff++] = off_name(m);
		pthread_mutex_unlock(&off_mu);
	}
	log_warn("map %s: ldap_table %s answered live (no snapshot) until "
	    "lookupd restarts: %s", m->name, m->ldap_table, why);
	tablebuild_remove(cfg, m);
}

/* Read an ldap_table map into a writer of its own group.  0, -1 (the map
 * is live-only now: no group), -2 LDAP could not be read (err). */
static int
table_group(const struct cfg *cfg, const struct cfg_map *m, size_t idx,
    struct group *g, char *err, size_t errsz)
{
	struct snapwriter *w;
	char why[512];
	enum tablebuild_status st;
	struct timespec t0;

	if (sync_table_live(m))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = tablebuild_writer(cfg, m, &w, &g->entries, why, sizeof(why));
	if (st == TABLEBUILD_TEMP) {
		log_errf(err, errsz, "map %s: ldap_table %s: %s", m->name,
		    m->ldap_table, why);
		return -2;
	}
	if (st == TABLEBUILD_CANNOT) {
		table_set_live(cfg, m, why);
		return -1;
	}
	log_debug("sync: map %s: %zu entries of ldap_table %s read in %.0f "
	    "ms", m->name, g->entries, m->ldap_table, clock_ms_since(&t0));
	g->maps = xcalloc(1, sizeof(*g->maps));
	g->w = xcalloc(1, sizeof(*g->w));
	g->idx = xcalloc(1, sizeof(*g->idx));
	g->maps[0] = m;
	g->w[0] = w;
	g->idx[0] = idx;
	g->n = 1;
	g->table = 1;
	return 0;
}

int
sync_same_read(const struct cfg_map *a, const struct cfg_map *b)
{
	return a->scope == b->scope && strcmp(a->base, b->base) == 0 &&
	    strcmp(a->filter, b->filter) == 0;
}

static void
emit_pair(const char *key, size_t klen, const char *val, size_t vlen,
    const char *dn, void *arg)
{
	snapwriter_add(arg, key, klen, val, vlen, dn);
}

static int
group_entry(const struct lentry *e, void *arg)
{
	struct group *g = arg;

	g->entries++;
	for (size_t i = 0; i < g->n; i++)
		maps_entry_pairs(g->maps[i], e, emit_pair, g->w[i], &g->bad);
	return 0;
}

void
sync_conflict(const char *map, const char *key, const char *const *dns,
    size_t ndns, void *arg)
{
	struct buf list = BUF_INIT;
	char printable[LOG_PRINTABLE_SIZE];

	(void)arg;
	for (size_t i = 0; i < ndns; i++) {
		if (i)
			buf_puts(&list, "; ");
		buf_puts(&list, dns[i]);
	}
	log_warn("map %s: key %s has several values (single = yes), "
	    "left out of the snapshot: %s", map,
	    log_printable(printable, sizeof(printable), key, strlen(key)),
	    buf_str(&list));
	buf_free(&list);
}

/* Writing a map (sort, merge, cdb, fsync, digest) is CPU and disk work
 * while the directory sits idle: the maps are written in parallel, one
 * thread each.  Every writer is consumed whatever happens. */
struct commit_job {
	pthread_t th;
	int started;
	struct snapwriter *w;
	const char *name;
	int rc;
	char err[512];
	double ms;
};

static void *
commit_one(void *arg)
{
	struct commit_job *c = arg;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	c->rc = snapwriter_commit(c->w, sync_conflict, NULL, c->err,
	    sizeof(c->err));
	c->ms = clock_ms_since(&t0);
	return NULL;
}

static int
commit_all(struct group *groups, size_t ng, size_t *entries, char *err,
    size_t errsz)
{
	size_t n = 0, k = 0, i, j;
	struct commit_job *jobs;
	int rc = 0;

	for (j = 0; j < ng; j++)
		n += groups[j].n;
	jobs = xcalloc(n ? n : 1, sizeof(*jobs));
	for (j = 0; j < ng; j++)
		for (i = 0; i < groups[j].n; i++, k++) {
			struct commit_job *c = &jobs[k];

			c->w = groups[j].w[i];
			c->name = groups[j].maps[i]->name;
			groups[j].w[i] = NULL;
			if (entries)
				entries[groups[j].idx[i]] = groups[j].entries;
			c->started = pthread_create(&c->th, NULL, commit_one, c) == 0;
			if (!c->started)
				commit_one(c);
		}
	for (k = 0; k < n; k++) {
		if (jobs[k].started)
			pthread_join(jobs[k].th, NULL);
		if (jobs[k].rc != 0 && rc == 0) {
			log_errf(err, errsz, "map %s: %s", jobs[k].name,
			    jobs[k].err);
			rc = -1;
		}
		log_debug("sync: map %s written in %.0f ms", jobs[k].name,
		    jobs[k].ms);
	}
	free(jobs);
	return rc;
}

int
sync_cache_dir(const struct cfg *cfg, char *err, size_t errsz)
{
	struct stat st;

	if (mkdir(cfg->cache_dir, 0750) == 0)
		return 0;
	if (errno == EEXIST && stat(cfg->cache_dir, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		return 0;
	return log_errf(err, errsz, "cache_dir %s: %s", cfg->cache_dir,
	    errno == EEXIST ? "not a directory" : strerror(errno));
}

int
sync_build(const struct cfg *cfg, struct ldapconn *lc, size_t *entries,
    char *err, size_t errsz)
{
	return sync_build_maps(cfg, lc, 0, entries, err, errsz);
}

int
sync_build_maps(const struct cfg *cfg, struct ldapconn *lc, int tables_only,
    size_t *entries, char *err, size_t errsz)
{
	struct group *groups = xcalloc(cfg->n_maps ? cfg->n_maps : 1,
	    sizeof(*groups));
	size_t ng = 0, i, j;
	int rc = -1;

	/* Group the maps that read the same entries. */
	for (i = 0; i < cfg->n_maps; i++) {
		const struct cfg_map *m = &cfg->maps[i];
		struct group *g = NULL;

		if (m->table != NULL || tables_only)
			continue;	/* ldap_table maps: below */
		for (j = 0; j < ng; j++)
			if (!groups[j].table &&
			    sync_same_read(groups[j].maps[0], m))
				g = &groups[j];
		if (g == NULL) {
			g = &groups[ng++];
			g->maps = xcalloc(cfg->n_maps, sizeof(*g->maps));
			g->w = xcalloc(cfg->n_maps, sizeof(*g->w));
			g->idx = xcalloc(cfg->n_maps, sizeof(*g->idx));
		}
		g->maps[g->n] = m;
		g->idx[g->n] = i;
		g->w[g->n] = snapwriter_new(cfg->cache_dir, m->name, m->single);
		g->n++;
	}

	for (j = 0; j < ng; j++) {
		struct group *g = &groups[j];
		const char **attrs;

		if (g->table)
			continue;
		attrs = maps_attrs(g->maps, g->n);
		enum ldapconn_status st;
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		{
			struct timespec now;

			clock_gettime(CLOCK_REALTIME, &now);
			for (i = 0; i < g->n; i++)
				snapwriter_set_time(g->w[i], &now);
		}
		st = ldapconn_search(lc, g->maps[0]->base, g->maps[0]->scope,
		    g->maps[0]->filter, attrs, 1, group_entry, g, err, errsz);
		free(attrs);
		if (st != LDAPCONN_OK) {
			rc = st == LDAPCONN_TEMP ? -2 : -1;
			goto out;
		}
		log_debug("sync: read %zu entries for %zu maps from %s in %.0f ms",
		    g->entries, g->n, g->maps[0]->base, clock_ms_since(&t0));
		if (g->bad)
			log_warn("map %s: %zu values with control characters, "
			    "empty or unreadable (an apple plist) were left "
			    "out", g->maps[0]->name, g->bad);
	}
	/* ldap_table maps: each from its own session, after the others */
	for (i = 0; i < cfg->n_maps; i++) {
		int r;

		if (cfg->maps[i].table == NULL)
			continue;
		r = table_group(cfg, &cfg->maps[i], i, &groups[ng], err,
		    errsz);
		if (r == -2)
			goto out;
		if (r == 0)
			ng++;
	}
	if (commit_all(groups, ng, entries, err, errsz) != 0)
		goto out;
	rc = 0;
out:
	for (j = 0; j < ng; j++) {
		for (i = 0; i < groups[j].n; i++)
			if (groups[j].w[i])
				snapwriter_abort(groups[j].w[i]);
		free(groups[j].maps);
		free(groups[j].w);
		free(groups[j].idx);
	}
	free(groups);
	return rc;
}
