/*
 * sync: a full snapshot of every map (see sync.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/ldapconn.h"
#include "common/log.h"
#include "lookupd/maps.h"
#include "lookupd/snapshot.h"
#include "lookupd/sync.h"

struct group {
	const struct cfg_map **maps;
	struct snapwriter **w;
	size_t *idx;			/* index of each map in cfg->maps */
	size_t n;
	size_t entries;
	size_t bad;
};

static int
same_read(const struct cfg_map *a, const struct cfg_map *b)
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

static void
conflict(const char *map, const char *key, const char *const *dns,
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

int
sync_cache_dir(const struct cfg *cfg, char *err, size_t errsz)
{
	struct stat st;

	if (mkdir(cfg->cache_dir, 0750) == 0)
		return 0;
	if (errno == EEXIST && stat(cfg->cache_dir, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		return 0;
	snprintf(err, errsz, "cache_dir %s: %s", cfg->cache_dir,
	    errno == EEXIST ? "not a directory" : strerror(errno));
	return -1;
}

int
sync_build(const struct cfg *cfg, struct ldapconn *lc, size_t *entries,
    char *err, size_t errsz)
{
	struct group *groups = xcalloc(cfg->n_maps ? cfg->n_maps : 1,
	    sizeof(*groups));
	size_t ng = 0, i, j;
	int rc = -1;

	/* Group the maps that read the same entries. */
	for (i = 0; i < cfg->n_maps; i++) {
		const struct cfg_map *m = &cfg->maps[i];
		struct group *g = NULL;

		for (j = 0; j < ng; j++)
			if (same_read(groups[j].maps[0], m))
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
		const char **attrs = maps_attrs(g->maps, g->n);
		enum ldapconn_status st;

		st = ldapconn_search(lc, g->maps[0]->base, g->maps[0]->scope,
		    g->maps[0]->filter, attrs, 1, group_entry, g, err, errsz);
		free(attrs);
		if (st != LDAPCONN_OK)
			goto out;
		if (g->bad)
			log_warn("map %s: %zu values with control characters "
			    "or empty were left out", g->maps[0]->name, g->bad);
	}
	for (j = 0; j < ng; j++) {
		struct group *g = &groups[j];

		for (i = 0; i < g->n; i++) {
			struct snapwriter *w = g->w[i];

			g->w[i] = NULL;
			if (snapwriter_commit(w, conflict, NULL, err, errsz) != 0)
				goto out;
			if (entries)
				entries[g->idx[i]] = g->entries;
		}
	}
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
