/*
 * persist: sync = persist, one stream per group of maps (see persist.h).
 *
 * A group's thread owns everything of its stream: the ldapsync handle,
 * the persist index (uuidx), the changes not yet committed and, during
 * a full refresh, one full snapshot writer per map.  The handlers below
 * run inside ldapsync_run() on that thread.  Every persist_flush s it
 * hands what is pending (changes, the index encoded as it stands after
 * them, the cookie) to its flusher thread, which writes the commit while
 * the stream goes on being read: a commit of a large map takes a good
 * part of a second, which changes arriving meanwhile must not wait for.
 * A change waits persist_flush less the time the last commit took, so
 * that it reaches the files within about persist_flush (at once when
 * commits take longer: then each starts when the one before ends).
 * A commit handed over while one is written is merged into the next.  A
 * full refresh drops what is queued and waits for the commit under way
 * before writing the files whole.  Only the few words `stats` shows
 * (server, state, counters) are shared, under the mutex.
 *
 * A full refresh is recognised by the stream's reset(): from there on,
 * entries go to full writers (not to the answers: the old snapshot
 * answers until the whole new one is committed at the refresh's end).
 * Otherwise each message becomes key changes (syncapply.h), handed to
 * the loop at once and kept for the next flush.  A resumed refresh may
 * hold a present phase: its first message clears the index's marks.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/ldapconn.h"
#include "common/ldapsync.h"
#include "common/log.h"
#include "common/synccookie.h"
#include "lookupd/maps.h"
#include "lookupd/persist.h"
#include "lookupd/snapshot.h"
#include "lookupd/snapwriter.h"
#include "lookupd/sync.h"

#define RUN_MS		250		/* one ldapsync_run, stop checked */
#define MIN_RUN_MS	10
#define TRIM_IDLE_S	1		/* the flusher's memory given back */
#define RETRY_MS	2000		/* after a failed full commit */
/* Silence after which the stream's server is asked whether it lives:
 * a frozen one is left within this + ldap_timeout. */
#define KEEPALIVE_MS	500
#define INDEX_MS	5000		/* the index is written at most */
#define INDEX_MAX	((size_t)16 << 30)

struct persist;

struct group {
	struct persist *p;
	pthread_t th;
	int started;
	const struct cfg_map **maps;
	size_t *idx;			/* in cfg->maps */
	size_t n;
	char name[256];			/* of the cookie and index files */

	struct ldapsync *s;
	struct uuidx *x;
	struct syncgroup *g;
	struct keybatch tmp;		/* one message's changes */
	struct keybatch pending;	/* since the last flush */
	double pending_since;		/* clock_ms(); 0: nothing pending */
	uint64_t pending_seq;
	struct buf cookie;
	char cookie_server[300];
	int cookie_dirty;
	/* The index and the cookie on disk may lag the cdb files (a restart
	 * then replays changes already in them, which changes nothing):
	 * written with a commit at most every INDEX_MS, so a steady flow
	 * of changes does not rewrite the index each persist_flush. */
	int unindexed;			/* commits handed over since */
	double index_due;		/* clock_ms() of the next write */
	int final;			/* going: write everything now */
	int in_refresh;			/* marks cleared for this refresh */
	int full;			/* a full refresh: writers below */
	struct snapwriter **w;
	size_t full_entries;
	/* Per map, the file the last commit wrote (or the last verified
	 * one), kept open as the base of the next batch: re-verified only
	 * when another file took its place.  The flusher's, or the group
	 * thread's while the flusher is idle (a full refresh). */
	struct snapshot **base;
	int restart;			/* start over with a full refresh */

	/* The flusher: commits handed over, so the stream goes on being
	 * read (and answered) while a commit writes. */
	pthread_t fth;
	int fstarted;
	pthread_mutex_t fmu;
	pthread_cond_t fcv;
	struct fjob *queued;		/* the next commit, merged into */
	int busy;			/* a commit is being written */
	/* How long the last commit of changes took (ms): a change waits
	 * persist_flush less that, so it reaches the files within about
	 * persist_flush (at once when commits take longer). */
	double commit_ms;
	int fstop;
	int failed;			/* a commit failed: full refresh */
	time_t next_full;		/* the safety full reload */

	/* shown by stats, under p->mu */
	char server[300];
	const char *state;
	unsigned long long changes, commits, fulls;
};

/* One commit for the flusher: changes (map: index in the group), the
 * index as it stands after them, the cookie. */
struct fjob {
	struct keybatch b;
	uint64_t seq;
	struct uuidx_keys k;
	unsigned char *index;		/* NULL: no change, not written */
	size_t ilen;
	struct buf cookie;
	char server[300];		/* "": no cookie to keep */
	double first, handed;		/* clock_ms(): first change, flush() */
};

struct persist {
	const struct cfg *cfg;
	const struct persist_hooks *h;
	void *arg;
	struct group *groups;
	size_t ng;
	pthread_mutex_t mu;
	int stop;
	int want_full;			/* generation, bumped by persist_full */
	uint64_t seq;			/* of the last batch, under mu */
};

static uint64_t
next_seq(struct persist *p)
{
	uint64_t s;

	pthread_mutex_lock(&p->mu);
	s = ++p->seq;
	pthread_mutex_unlock(&p->mu);
	return s;
}

static void
set_state(struct group *gr, const char *state)
{
	char server[sizeof(gr->server)];
	const char *sv = gr->s ? ldapsync_server(gr->s) : NULL;

	snprintf(server, sizeof(server), "%s", sv ? sv : "-");
	pthread_mutex_lock(&gr->p->mu);
	gr->state = state;
	memcpy(gr->server, server, sizeof(server));
	pthread_mutex_unlock(&gr->p->mu);
}

/* A group's file names: its maps and a digest of what they read, so a
 * changed configuration never resumes from another one's state. */
static void
group_name(struct group *gr)
{
	uint64_t h = 1469598103934665603ULL;
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < gr->n; i++) {
		const struct cfg_map *m = gr->maps[i];

		buf_printf(&b, "%s|%s|%d|%s|%d|%d|%s|", m->name, m->base,
		    (int)m->scope, m->filter, (int)m->kind, m->catchall,
		    m->format ? m->format : "");
		for (size_t k = 0; k < m->key.n; k++)
			buf_printf(&b, "k%s|", m->key.v[k]);
		for (size_t k = 0; k < m->result.n; k++)
			buf_printf(&b, "r%s|", m->result.v[k]);
	}
	for (size_t i = 0; i < b.len; i++)
		h = (h ^ (unsigned char)b.p[i]) * 1099511628211ULL;
	buf_reset(&b);
	buf_puts(&b, "persist");
	for (size_t i = 0; i < gr->n && b.len < 160; i++)
		buf_printf(&b, "-%s", gr->maps[i]->name);
	snprintf(gr->name, sizeof(gr->name), "%.200s-%08x", buf_str(&b),
	    (unsigned)(h ^ (h >> 32)));
	buf_free(&b);
}

/* ---- the index file: written as snapshots are ---- */

static int
index_path(const struct group *gr, char *out, size_t size, const char *pre,
    const char *suf)
{
	int r = snprintf(out, size, "%s/%s%s.uuidx%s", gr->p->cfg->cache_dir,
	    pre, gr->name, suf);

	return r < 0 || (size_t)r >= size ? -1 : 0;
}

/* The index's encoding (len bytes) written and fsynced to a temporary
 * file (its name in tmp, 4096 bytes), not yet in place. */
static int
index_write_tmp(struct group *gr, const unsigned char *bytes, size_t len,
    char *tmp, char *err, size_t errsz)
{
	size_t off = 0;
	int fd, e;

	if (index_path(gr, tmp, 4096, ".", ".XXXXXX") != 0)
		return log_errf(err, errsz, "cache_dir: path too long");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		return log_errf(err, errsz, "%s: %s", tmp, strerror(e));
	}
	while (off < len) {
		ssize_t w = write(fd, bytes + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off < len || fsync(fd) != 0 || close(fd) != 0) {
		e = errno;
		if (off < len && e == 0)
			e = EIO;
		close(fd);
		unlink(tmp);
		return log_errf(err, errsz, "writing %s: %s", tmp,
		    strerror(e));
	}
	return 0;
}

/* ... renamed into place (or removed if that fails). */
static int
index_install(struct group *gr, const char *tmp, char *err, size_t errsz)
{
	char path[4096];
	int e, dfd;

	if (index_path(gr, path, sizeof(path), "", "") != 0) {
		unlink(tmp);
		return log_errf(err, errsz, "cache_dir: path too long");
	}
	if (rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		return log_errf(err, errsz, "%s: %s", path, strerror(e));
	}
	dfd = open(gr->p->cfg->cache_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Write the index's encoding (len bytes). */
static int
index_write(struct group *gr, const unsigned char *bytes, size_t len,
    char *err, size_t errsz)
{
	char tmp[4096];

	if (index_write_tmp(gr, bytes, len, tmp, err, errsz) != 0)
		return -1;
	return index_install(gr, tmp, err, errsz);
}

/* The index as it stands to a temporary file (see index_write_tmp). */
static int
index_save_tmp(struct group *gr, char *tmp, char *err, size_t errsz)
{
	unsigned char *bytes = NULL;
	size_t len = 0;
	int r;

	uuidx_encode(gr->x, &bytes, &len);
	r = index_write_tmp(gr, bytes, len, tmp, err, errsz);
	free(bytes);
	return r;
}

/* The index on disk, or NULL (err: why, "" when there is none). */
static struct uuidx *
index_load(struct group *gr, char *err, size_t errsz)
{
	char path[4096];
	struct buf b = BUF_INIT;
	struct uuidx *x = NULL;
	int fd;

	err[0] = '\0';
	if (index_path(gr, path, sizeof(path), "", "") != 0)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno != ENOENT)
			log_errf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		char chunk[65536];
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_errf(err, errsz, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (b.len + (size_t)r > INDEX_MAX) {
			log_errf(err, errsz, "%s: too large", path);
			goto out;
		}
		buf_append(&b, chunk, (size_t)r);
	}
	x = uuidx_decode((const unsigned char *)b.p, b.len, err, errsz);
	if (x && uuidx_maps(x) != gr->n) {
		log_errf(err, errsz, "%s: made for %zu maps, not %zu", path,
		    uuidx_maps(x), gr->n);
		uuidx_free(x);
		x = NULL;
	}
out:
	close(fd);
	buf_free(&b);
	return x;
}

static void flusher_idle(struct group *);

/* ---- applying changes ---- */

static uint64_t
writer_hash(const char *key, size_t klen, void *arg)
{
	return uuidx_key_hash(arg, key, klen);
}

static void
apply_to(struct snapwriter *w, const struct keychange *c, const char *dn)
{
	switch (c->op) {
	case KEYCHANGE_ADD:
		snapwriter_add(w, c->key, c->klen, c->val, c->vlen, dn);
		break;
	case KEYCHANGE_REPLACE:
		snapwriter_replace(w, c->key, c->klen, c->val, c->vlen, dn);
		break;
	case KEYCHANGE_DELETE:
		snapwriter_delete_hash(w, c->hash);
		break;
	}
}

/* The changes of one message (in tmp): to the full writers, or to the
 * loop and the pending batch. */
static void
handle_changes(struct group *gr, const char *dn)
{
	struct keybatch copy = KEYBATCH_INIT;
	struct uuidx_keys k;
	uint64_t seq;

	if (gr->tmp.n == 0)
		return;
	if (gr->full) {
		for (size_t i = 0; i < gr->tmp.n; i++)
			apply_to(gr->w[gr->tmp.v[i].map], &gr->tmp.v[i], dn);
		keybatch_reset(&gr->tmp);
		return;
	}
	seq = next_seq(gr->p);
	copy.v = xcalloc(gr->tmp.n, sizeof(*copy.v));
	copy.cap = gr->tmp.n;
	for (size_t i = 0; i < gr->tmp.n; i++) {
		struct keychange *c = &gr->tmp.v[i], *d = &copy.v[copy.n++];

		*d = *c;
		d->map = gr->idx[c->map];
		d->key = c->key ? xstrndup(c->key, c->klen) : NULL;
		d->val = c->val ? xstrndup(c->val, c->vlen) : NULL;
		/* moved into the pending batch */
		if (gr->pending.n == gr->pending.cap) {
			gr->pending.cap = gr->pending.cap ?
			    2 * gr->pending.cap : 64;
			gr->pending.v = xreallocarray(gr->pending.v,
			    gr->pending.cap, sizeof(*gr->pending.v));
		}
		gr->pending.v[gr->pending.n++] = *c;
	}
	gr->tmp.n = 0;		/* its strings now belong to pending */
	if (gr->pending_since == 0)
		gr->pending_since = clock_ms();
	gr->pending_seq = seq;
	uuidx_keys(gr->x, &k);
	pthread_mutex_lock(&gr->p->mu);
	gr->changes += copy.n;
	pthread_mutex_unlock(&gr->p->mu);
	gr->p->h->changes(gr->p->arg, seq, &k, &copy);
}

/* A resumed refresh: its first message starts the present bookkeeping. */
static void
refresh_mark(struct group *gr)
{
	if (!gr->full && !gr->in_refresh && gr->s &&
	    ldapsync_refreshing(gr->s)) {
		syncapply_refresh_begin(gr->g);
		gr->in_refresh = 1;
	}
}

static void
full_abort(struct group *gr)
{
	if (gr->w)
		for (size_t i = 0; i < gr->n; i++)
			if (gr->w[i])
				snapwriter_abort(gr->w[i]);
	free(gr->w);
	gr->w = NULL;
	gr->full = 0;
}

static int
on_reset(void *arg, const char *why)
{
	struct group *gr = arg;
	struct timespec now;

	log_info("persist %s: full refresh (%s)", gr->name, why);
	full_abort(gr);
	flusher_idle(gr);
	keybatch_reset(&gr->pending);
	keybatch_reset(&gr->tmp);
	gr->pending_since = 0;
	gr->cookie_dirty = 0;
	gr->unindexed = 0;
	uuidx_clear(gr->x);
	clock_gettime(CLOCK_REALTIME, &now);
	gr->w = xcalloc(gr->n, sizeof(*gr->w));
	for (size_t i = 0; i < gr->n; i++) {
		gr->w[i] = snapwriter_new(gr->p->cfg->cache_dir,
		    gr->maps[i]->name, gr->maps[i]->single);
		snapwriter_set_time(gr->w[i], &now);
		snapwriter_key_hash(gr->w[i], writer_hash, gr->x);
	}
	gr->full = 1;
	gr->full_entries = 0;
	gr->in_refresh = 0;
	set_state(gr, "full-refresh");
	return 0;
}

static int
on_entry(void *arg, enum ldapsync_state st, const unsigned char *uuid,
    const struct lentry *e)
{
	struct group *gr = arg;

	refresh_mark(gr);
	switch (st) {
	case LDAPSYNC_PRESENT:
		(void)syncapply_present(gr->g, uuid);
		return 0;
	case LDAPSYNC_DELETE:
		syncapply_delete(gr->g, uuid, &gr->tmp);
		break;
	case LDAPSYNC_ADD:
	case LDAPSYNC_MODIFY:
		syncapply_entry(gr->g, uuid, e, &gr->tmp);
		gr->full_entries++;
		break;
	}
	handle_changes(gr, e ? lentry_dn(e) : "(persist sync)");
	return 0;
}

static int
on_idset(void *arg, int deletes, const unsigned char *uuids, size_t n)
{
	struct group *gr = arg;

	refresh_mark(gr);
	syncapply_idset(gr->g, deletes, uuids, n, &gr->tmp);
	handle_changes(gr, "(persist sync)");
	return 0;
}

/* Writing a map (sort, merge, cdb, fsync, digest) is CPU and disk work:
 * the maps of a full refresh are written in parallel, as sync.c does. */
struct commit_job {
	pthread_t th;
	int started;
	struct snapwriter *w;
	struct snapshot *snap;		/* the file written, open */
	int rc;
	char err[512];
};

static void *
commit_one(void *arg)
{
	struct commit_job *c = arg;

	c->rc = snapwriter_commit_open(c->w, sync_conflict, NULL, &c->snap,
	    c->err, sizeof(c->err));
	return NULL;
}

/* The full refresh is complete: its files replace the snapshots whole,
 * then the index; the cookie follows.  Non-zero: it failed. */
static int
full_commit(struct group *gr)
{
	char err[512], ierr[512], itmp[4096];
	size_t *maps = xcalloc(gr->n, sizeof(*maps));
	struct commit_job *jobs = xcalloc(gr->n, sizeof(*jobs));
	int rc = 0, irc;
	uint64_t seq;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	flusher_idle(gr);
	for (size_t i = 0; i < gr->n; i++) {
		jobs[i].w = gr->w[i];
		gr->w[i] = NULL;
		maps[i] = gr->idx[i];
		jobs[i].started = pthread_create(&jobs[i].th, NULL,
		    commit_one, &jobs[i]) == 0;
		if (!jobs[i].started)
			commit_one(&jobs[i]);
	}
	/* Meanwhile the index is encoded and written beside them (the
	 * writers only read its key hash); it is renamed into place once
	 * every map is, as before. */
	irc = index_save_tmp(gr, itmp, ierr, sizeof(ierr));
	for (size_t i = 0; i < gr->n; i++) {
		if (jobs[i].started)
			pthread_join(jobs[i].th, NULL);
		if (jobs[i].rc != 0) {
			log_warn("persist %s: map %s: full refresh not "
			    "written, the old snapshot stays: %s", gr->name,
			    gr->maps[i]->name, jobs[i].err);
			gr->p->h->error(gr->p->arg, jobs[i].err);
			rc = -1;
		}
	}
	for (size_t i = 0; i < gr->n; i++) {
		snapshot_close(gr->base[i]);
		gr->base[i] = jobs[i].snap;	/* NULL: opened when needed */
	}
	free(jobs);
	free(gr->w);
	gr->w = NULL;
	gr->full = 0;
	if (rc == 0 && (irc != 0 || index_install(gr, itmp, ierr,
	    sizeof(ierr)) != 0)) {
		log_warn("persist %s: index not written: %s", gr->name, ierr);
		rc = -1;
	} else if (rc != 0 && irc == 0) {
		unlink(itmp);
	}
	if (rc == 0) {
		/* The old cookie no longer goes with these files. */
		if (synccookie_remove(gr->p->cfg->cache_dir, gr->name, err,
		    sizeof(err)) != 0)
			log_warn("persist %s: %s", gr->name, err);
		seq = next_seq(gr->p);
		log_info("persist %s: full refresh of %zu entries written in "
		    "%.0f ms", gr->name, gr->full_entries,
		    clock_ms_since(&t0));
		pthread_mutex_lock(&gr->p->mu);
		gr->fulls++;
		pthread_mutex_unlock(&gr->p->mu);
		gr->p->h->committed(gr->p->arg, seq, maps, gr->base, gr->n);
		gr->next_full = time(NULL) + gr->p->cfg->refresh;
		/* The writers' memory goes back to the system, not to
		 * the heap's free lists: RssAnon stays small between full
		 * refreshes. */
		mem_trim();
	}
	free(maps);
	return rc;
}

static int
on_phase_end(void *arg, int present, int done)
{
	struct group *gr = arg;

	if (!gr->full) {
		refresh_mark(gr);
		if (present) {
			syncapply_present_end(gr->g, &gr->tmp);
			handle_changes(gr, "(persist sync)");
		}
		if (done)
			gr->in_refresh = 0;
	} else if (done && full_commit(gr) != 0) {
		gr->restart = 1;
		return 1;
	}
	if (done)
		set_state(gr, "persist");
	return 0;
}

static int
on_cookie(void *arg, const char *cookie, size_t len)
{
	struct group *gr = arg;
	const char *sv = ldapsync_server(gr->s);

	buf_reset(&gr->cookie);
	buf_append(&gr->cookie, cookie, len);
	snprintf(gr->cookie_server, sizeof(gr->cookie_server), "%s",
	    sv ? sv : "");
	gr->cookie_dirty = 1;
	return 0;
}

static const struct ldapsync_handler handler = {
	on_reset, on_entry, on_idset, on_phase_end, on_cookie
};

/* ---- the flush ---- */

static uint64_t
job_hash(const char *key, size_t klen, void *arg)
{
	return uuidx_key_hash_k(arg, key, klen);
}

static void
fjob_free(struct fjob *j)
{
	if (j == NULL)
		return;
	keybatch_free(&j->b);
	free(j->index);
	buf_free(&j->cookie);
	free(j);
}

/* The changes of job j for map i into its file.  0, or -1. */
static int
flush_map(struct group *gr, struct fjob *j, size_t i,
    const struct timespec *now)
{
	const struct cfg *cfg = gr->p->cfg;
	struct snapshot *base = gr->base[i], *made = NULL;
	struct snapwriter *w;
	char err[512];
	int rc, any = 0;

	for (size_t k = 0; k < j->b.n && !any; k++)
		any = j->b.v[k].map == i;
	if (!any)
		return 0;
	if (base != NULL && snapshot_changed(base) != 0) {
		/* Not the file we wrote any more: verified afresh. */
		snapshot_close(base);
		base = gr->base[i] = NULL;
	}
	if (base == NULL && snapshot_open(cfg->cache_dir, gr->maps[i]->name,
	    &base, err, sizeof(err)) != SNAP_OK) {
		log_warn("persist %s: map %s: %s", gr->name,
		    gr->maps[i]->name, err[0] ? err : "no snapshot");
		return -1;
	}
	gr->base[i] = base;
	w = snapwriter_from(base, cfg->cache_dir, gr->maps[i]->name,
	    gr->maps[i]->single);
	snapwriter_set_time(w, now);
	snapwriter_key_hash(w, job_hash, &j->k);
	for (size_t k = 0; k < j->b.n; k++)
		if (j->b.v[k].map == i)
			apply_to(w, &j->b.v[k], "(persist sync)");
	rc = snapwriter_commit_open(w, sync_conflict, NULL, &made, err,
	    sizeof(err));
	/* The base goes; the new file (NULL: a later one stayed in place,
	 * or the commit failed) is the next one's. */
	snapshot_close(base);
	gr->base[i] = made;
	if (rc == 0)
		return 0;
	if (rc == 1)
		snprintf(err, sizeof(err), "the snapshot was replaced "
		    "meanwhile");
	log_warn("persist %s: map %s: changes not written (%s): full "
	    "refresh", gr->name, gr->maps[i]->name, err);
	gr->p->h->error(gr->p->arg, err);
	return -1;
}

struct map_flush {
	struct group *gr;
	struct fjob *j;
	size_t i;
	const struct timespec *now;
	int started;
	pthread_t th;
	int rc;
};

static void *
flush_map_main(void *arg)
{
	struct map_flush *m = arg;

	m->rc = flush_map(m->gr, m->j, m->i, m->now);
	return NULL;
}

/* Write one job (the flusher's thread).  0, or -1: start over. */
static int
flush_job(struct group *gr, struct fjob *j)
{
	char err[512];
	struct timespec now;
	double t0 = clock_ms(), t1 = t0, t2;

	if (j->b.n) {
		size_t *maps = xcalloc(gr->n, sizeof(*maps));
		struct map_flush *mf = xcalloc(gr->n, sizeof(*mf));
		int bad = 0;

		/* The maps in parallel, as a full build writes them. */
		clock_gettime(CLOCK_REALTIME, &now);
		for (size_t i = 0; i < gr->n; i++) {
			mf[i].gr = gr;
			mf[i].j = j;
			mf[i].i = i;
			mf[i].now = &now;
			maps[i] = gr->idx[i];
			mf[i].started = i + 1 < gr->n && pthread_create(
			    &mf[i].th, NULL, flush_map_main, &mf[i]) == 0;
			if (!mf[i].started)
				flush_map_main(&mf[i]);
		}
		for (size_t i = 0; i < gr->n; i++) {
			if (mf[i].started)
				pthread_join(mf[i].th, NULL);
			bad |= mf[i].rc != 0;
		}
		free(mf);
		if (bad) {
			free(maps);
			return -1;
		}
		pthread_mutex_lock(&gr->p->mu);
		gr->commits++;
		pthread_mutex_unlock(&gr->p->mu);
		gr->p->h->committed(gr->p->arg, j->seq, maps, gr->base,
		    gr->n);
		free(maps);
		t1 = clock_ms();
		pthread_mutex_lock(&gr->fmu);
		gr->commit_ms = t1 - t0;
		pthread_mutex_unlock(&gr->fmu);
	}
	if (j->index && index_write(gr, j->index, j->ilen, err,
	    sizeof(err)) != 0) {
		log_warn("persist %s: index not written: %s: full refresh",
		    gr->name, err);
		return -1;
	}
	if (j->server[0] && synccookie_save(gr->p->cfg->cache_dir,
	    gr->name, j->server, j->cookie.p, j->cookie.len, err,
	    sizeof(err)) != 0)
		log_warn("persist %s: cookie not kept: %s", gr->name, err);
	t2 = clock_ms();
	if (j->b.n)
		log_debug("persist %s: %zu changes: handed over %.0f ms after "
		    "the first, started %.0f ms later, files %.0f ms, index "
		    "%s%.0f ms", gr->name, j->b.n, j->handed - j->first,
		    t0 - j->handed, t1 - t0, j->index ? "" : "(none) ",
		    t2 - t1);
	else
		log_debug("persist %s: no changes, index %s%.0f ms", gr->name,
		    j->index ? "" : "(none) ", t2 - t1);
	return 0;
}

static void *
flusher_main(void *arg)
{
	struct group *gr = arg;

	int trim = 0;

	pthread_mutex_lock(&gr->fmu);
	for (;;) {
		struct fjob *j;
		int r;

		while (gr->queued == NULL && !gr->fstop) {
			struct timespec ts;
			double t0;

			if (!trim) {
				pthread_cond_wait(&gr->fcv, &gr->fmu);
				continue;
			}
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += TRIM_IDLE_S;
			if (pthread_cond_timedwait(&gr->fcv, &gr->fmu, &ts) !=
			    ETIMEDOUT || gr->queued != NULL || gr->fstop)
				continue;
			/* Idle: a commit's buffers (the index's encoding,
			 * tinycdb's lists) go back to the system.  Not
			 * after every commit: with a large heap it takes a
			 * good part of a second, which the next change
			 * would wait for. */
			pthread_mutex_unlock(&gr->fmu);
			t0 = clock_ms();
			mem_trim();
			log_debug("persist %s: malloc_trim %.0f ms", gr->name,
			    clock_ms() - t0);
			trim = 0;
			pthread_mutex_lock(&gr->fmu);
		}
		if (gr->queued == NULL)
			break;
		j = gr->queued;
		gr->queued = NULL;
		gr->busy = 1;
		pthread_mutex_unlock(&gr->fmu);
		r = flush_job(gr, j);
		fjob_free(j);
		trim = 1;
		pthread_mutex_lock(&gr->fmu);
		gr->busy = 0;
		if (r != 0)
			gr->failed = 1;
		pthread_cond_broadcast(&gr->fcv);
	}
	pthread_mutex_unlock(&gr->fmu);
	return NULL;
}

/* No commit queued or being written any more (a full refresh is about
 * to write the files whole): what was queued is dropped. */
static void
flusher_idle(struct group *gr)
{
	pthread_mutex_lock(&gr->fmu);
	fjob_free(gr->queued);
	gr->queued = NULL;
	while (gr->busy)
		pthread_cond_wait(&gr->fcv, &gr->fmu);
	gr->failed = 0;
	pthread_mutex_unlock(&gr->fmu);
}

/* Hand the pending changes, the index when due and the cookie when it
 * goes with the index on disk to the flusher, merged into a commit not
 * yet started. */
static void
flush(struct group *gr)
{
	struct fjob *j;
	double now = clock_ms();

	if (gr->full)
		return;
	j = xcalloc(1, sizeof(*j));
	uuidx_keys(gr->x, &j->k);
	if (gr->pending.n) {
		j->b = gr->pending;
		memset(&gr->pending, 0, sizeof(gr->pending));
		j->seq = gr->pending_seq;
		j->first = gr->pending_since;
		j->handed = now;
		gr->pending_since = 0;
		gr->unindexed = 1;
	}
	if (gr->unindexed && (now >= gr->index_due || gr->final)) {
		uuidx_encode(gr->x, &j->index, &j->ilen);
		gr->unindexed = 0;
		gr->index_due = now + INDEX_MS;
	}
	/* A cookie never gets ahead of the index on disk. */
	if (gr->cookie_dirty && !gr->unindexed && gr->cookie_server[0]) {
		buf_append(&j->cookie, gr->cookie.p, gr->cookie.len);
		memcpy(j->server, gr->cookie_server, sizeof(j->server));
		gr->cookie_dirty = 0;
	}
	if (j->b.n == 0 && j->index == NULL && j->server[0] == '\0') {
		fjob_free(j);
		return;
	}
	if (!gr->fstarted) {
		/* No flusher thread: write here. */
		if (flush_job(gr, j) != 0)
			gr->restart = 1;
		fjob_free(j);
		return;
	}
	pthread_mutex_lock(&gr->fmu);
	if (gr->queued) {
		struct fjob *q = gr->queued;

		/* Not started yet: one commit for both. */
		for (size_t i = 0; i < j->b.n; i++) {
			if (q->b.n == q->b.cap) {
				q->b.cap = q->b.cap ? 2 * q->b.cap : 64;
				q->b.v = xreallocarray(q->b.v, q->b.cap,
				    sizeof(*q->b.v));
			}
			q->b.v[q->b.n++] = j->b.v[i];
		}
		if (j->b.n) {
			q->seq = j->seq;
			if (q->first == 0)
				q->first = j->first;
			if (q->handed == 0)
				q->handed = j->handed;
		}
		j->b.n = 0;
		if (j->index) {
			free(q->index);
			q->index = j->index;
			q->ilen = j->ilen;
			j->index = NULL;
		}
		if (j->server[0]) {
			buf_reset(&q->cookie);
			buf_append(&q->cookie, j->cookie.p, j->cookie.len);
			memcpy(q->server, j->server, sizeof(q->server));
		}
		fjob_free(j);
	} else {
		gr->queued = j;
	}
	pthread_cond_signal(&gr->fcv);
	pthread_mutex_unlock(&gr->fmu);
}

/* ---- the thread ---- */

static void
stream_new(struct group *gr, int resume)
{
	const char **attrs = maps_attrs(gr->maps, gr->n);
	char err[512], *server = NULL, *cookie = NULL;
	size_t len = 0;

	ldapsync_free(gr->s);
	gr->s = ldapsync_new(gr->p->cfg, gr->maps[0]->base,
	    gr->maps[0]->scope, gr->maps[0]->filter, attrs, &handler, gr);
	free(attrs);
	ldapsync_set_keepalive(gr->s, KEEPALIVE_MS);
	gr->in_refresh = 0;
	if (!resume)
		return;
	if (synccookie_load(gr->p->cfg->cache_dir, gr->name, &server,
	    &cookie, &len, err, sizeof(err)) == 1) {
		ldapsync_resume(gr->s, server, cookie, len);
		snprintf(gr->cookie_server, sizeof(gr->cookie_server), "%s",
		    server);
		buf_reset(&gr->cookie);
		buf_append(&gr->cookie, cookie, len);
	} else if (err[0]) {
		log_warn("persist %s: %s", gr->name, err);
	}
	free(server);
	free(cookie);
}

static double
last_commit_ms(struct group *gr)
{
	double ms;

	pthread_mutex_lock(&gr->fmu);
	ms = gr->commit_ms;
	pthread_mutex_unlock(&gr->fmu);
	return ms;
}

/* When the flush has something to do: ms from now (0: now), or -1
 * for nothing to do. */
static double
flush_due(struct group *gr)
{
	double now = clock_ms(), due = 0;
	int any = 0;

	if (gr->full)
		return -1;
	if (gr->cookie_dirty && !gr->unindexed && !gr->pending.n)
		return 0;
	if (gr->pending.n) {
		due = gr->pending_since + gr->p->cfg->persist_flush - now -
		    last_commit_ms(gr);
		any = 1;
	}
	if (gr->unindexed && (!any || gr->index_due - now < due)) {
		due = gr->index_due - now;
		any = 1;
	}
	if (!any)
		return -1;
	return due < 0 ? 0 : due;
}

/* How long the stream may run before the flush is due.  A change that
 * comes during the run waits for its end: the run is no longer than
 * such a change would wait (MIN_RUN_MS at least) when nothing is
 * pending. */
static int
run_ms(struct group *gr)
{
	double due = flush_due(gr);

	if (due == -1 && !gr->full) {
		due = gr->p->cfg->persist_flush - last_commit_ms(gr);
		if (due < MIN_RUN_MS)
			return MIN_RUN_MS;
	}
	if (due == -1 || due >= RUN_MS)
		return RUN_MS;
	return due < 1 ? 1 : (int)due;
}

static int
stopping(struct persist *p, int *gen)
{
	int stop, want;

	pthread_mutex_lock(&p->mu);
	stop = p->stop;
	want = p->want_full;
	pthread_mutex_unlock(&p->mu);
	if (want != *gen) {
		*gen = want;
		return -1;
	}
	return stop;
}

static void *
group_main(void *arg)
{
	struct group *gr = arg;
	struct persist *p = gr->p;
	char err[512], last[512] = "";
	double last_at = 0;
	int gen = 0, r, resume = 0;

	(void)stopping(p, &gen);
	gr->x = index_load(gr, err, sizeof(err));
	if (gr->x == NULL && err[0])
		log_warn("persist %s: index not used: %s", gr->name, err);
	if (gr->x) {
		/* Resume only where every file of the group is there. */
		resume = 1;
		for (size_t i = 0; i < gr->n && resume; i++) {
			struct snapshot *s = NULL;

			resume = snapshot_open(p->cfg->cache_dir,
			    gr->maps[i]->name, &s, err, sizeof(err)) ==
			    SNAP_OK;
			if (s) {
				time_t due = snapshot_built(s) +
				    p->cfg->refresh;

				if (i == 0 || due < gr->next_full)
					gr->next_full = due;
				snapshot_close(s);
			}
		}
	} else {
		gr->x = uuidx_new(gr->n, NULL);
	}
	if (!resume)
		gr->next_full = time(NULL) + p->cfg->refresh;
	gr->g = syncgroup_new(gr->maps, gr->n, gr->x);
	gr->base = xcalloc(gr->n, sizeof(*gr->base));
	pthread_mutex_init(&gr->fmu, NULL);
	pthread_cond_init(&gr->fcv, NULL);
	gr->fstarted = pthread_create(&gr->fth, NULL, flusher_main, gr) == 0;
	stream_new(gr, resume);
	set_state(gr, "connecting");

	while ((r = stopping(p, &gen)) != 1) {
		enum ldapconn_status st;

		pthread_mutex_lock(&gr->fmu);
		if (gr->failed) {
			gr->failed = 0;
			gr->restart = 1;
		}
		pthread_mutex_unlock(&gr->fmu);

		if (r < 0 || gr->restart || time(NULL) >= gr->next_full) {
			if (time(NULL) >= gr->next_full)
				log_info("persist %s: safety full reload "
				    "(refresh = %d s)", gr->name,
				    p->cfg->refresh);
			gr->restart = 0;
			gr->next_full = time(NULL) + p->cfg->refresh;
			stream_new(gr, 0);
		}
		st = ldapsync_run(gr->s, run_ms(gr), err, sizeof(err));
		if (st == LDAPCONN_PERM) {
			set_state(gr, "refused");
			log_warn("persist %s: %s: polling instead (every "
			    "refresh = %d s)", gr->name, err, p->cfg->refresh);
			p->h->refused(p->arg, err);
			break;
		}
		if (st == LDAPCONN_TEMP || st == LDAPCONN_ABORTED) {
			double now = clock_ms();

			set_state(gr, "down");
			if (st == LDAPCONN_TEMP && (strcmp(err, last) != 0 ||
			    now - last_at > 60000)) {
				log_warn("persist %s: %s", gr->name, err);
				snprintf(last, sizeof(last), "%s", err);
				last_at = now;
			}
			if (st == LDAPCONN_TEMP)
				p->h->error(p->arg, err);
			if (st == LDAPCONN_ABORTED) {
				/* a failed commit: not again at once */
				struct timespec ts = { RETRY_MS / 1000, 0 };

				nanosleep(&ts, NULL);
			}
		} else if (!gr->full) {
			set_state(gr, ldapsync_refreshing(gr->s) ?
			    "refreshing" : "persist");
		}
		if (flush_due(gr) == 0)
			flush(gr);
	}
	/* What is pending is written before going. */
	gr->final = 1;
	if (!gr->full && (gr->pending.n || gr->unindexed ||
	    gr->cookie_dirty))
		flush(gr);
	if (gr->fstarted) {
		pthread_mutex_lock(&gr->fmu);
		gr->fstop = 1;
		pthread_cond_signal(&gr->fcv);
		pthread_mutex_unlock(&gr->fmu);
		pthread_join(gr->fth, NULL);
	}
	fjob_free(gr->queued);
	gr->queued = NULL;
	pthread_mutex_destroy(&gr->fmu);
	pthread_cond_destroy(&gr->fcv);
	full_abort(gr);
	for (size_t i = 0; i < gr->n; i++)
		snapshot_close(gr->base[i]);
	free(gr->base);
	gr->base = NULL;
	ldapsync_free(gr->s);
	gr->s = NULL;
	syncgroup_free(gr->g);
	uuidx_free(gr->x);
	keybatch_free(&gr->pending);
	keybatch_free(&gr->tmp);
	buf_free(&gr->cookie);
	return NULL;
}

struct persist *
persist_new(const struct cfg *cfg, const struct persist_hooks *h, void *arg,
    char *err, size_t errsz)
{
	struct persist *p = xcalloc(1, sizeof(*p));

	p->cfg = cfg;
	p->h = h;
	p->arg = arg;
	/* Buffers of a commit or a full refresh are large and short-lived:
	 * a fixed mmap threshold gives them back to the system when freed
	 * (glibc's moving threshold would keep them in the heap). */
	(void)mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	pthread_mutex_init(&p->mu, NULL);
	p->groups = xcalloc(cfg->n_maps ? cfg->n_maps : 1,
	    sizeof(*p->groups));
	for (size_t i = 0; i < cfg->n_maps; i++) {
		const struct cfg_map *m = &cfg->maps[i];
		struct group *gr = NULL;

		if (m->table != NULL)
			continue;	/* ldap_table: live-only, no snapshot */
		for (size_t j = 0; j < p->ng; j++)
			if (sync_same_read(p->groups[j].maps[0], m) &&
			    p->groups[j].n < UUIDX_MAPS)
				gr = &p->groups[j];
		if (gr == NULL) {
			gr = &p->groups[p->ng++];
			gr->p = p;
			gr->maps = xcalloc(cfg->n_maps, sizeof(*gr->maps));
			gr->idx = xcalloc(cfg->n_maps, sizeof(*gr->idx));
			gr->state = "starting";
			snprintf(gr->server, sizeof(gr->server), "-");
		}
		gr->maps[gr->n] = m;
		gr->idx[gr->n++] = i;
	}
	for (size_t j = 0; j < p->ng; j++)
		group_name(&p->groups[j]);
	for (size_t j = 0; j < p->ng; j++) {
		int r = pthread_create(&p->groups[j].th, NULL, group_main,
		    &p->groups[j]);

		if (r != 0) {
			log_errf(err, errsz, "pthread_create: %s",
			    strerror(r));
			persist_free(p);
			return NULL;
		}
		p->groups[j].started = 1;
	}
	return p;
}

void
persist_free(struct persist *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_mutex_unlock(&p->mu);
	for (size_t j = 0; j < p->ng; j++) {
		if (p->groups[j].started)
			pthread_join(p->groups[j].th, NULL);
		free(p->groups[j].maps);
		free(p->groups[j].idx);
	}
	free(p->groups);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

void
persist_full(struct persist *p)
{
	pthread_mutex_lock(&p->mu);
	p->want_full++;
	pthread_mutex_unlock(&p->mu);
}

void
persist_stats(struct persist *p, struct buf *out)
{
	pthread_mutex_lock(&p->mu);
	for (size_t j = 0; j < p->ng; j++) {
		const struct group *gr = &p->groups[j];
		const char *name = gr->maps[0]->name;

		buf_printf(out, "persist.%s.server %s\n", name, gr->server);
		buf_printf(out, "persist.%s.state %s\n", name, gr->state);
		buf_printf(out, "persist.%s.changes %llu\n", name,
		    gr->changes);
		buf_printf(out, "persist.%s.commits %llu\n", name,
		    gr->commits);
		buf_printf(out, "persist.%s.full_refreshes %llu\n", name,
		    gr->fulls);
	}
	pthread_mutex_unlock(&p->mu);
}
