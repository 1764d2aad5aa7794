/*
 * decide: the order in which a key is answered (see decide.h).
 *
 * A remembered live find is stored as one byte (the step of the walk that
 * matched) and the value, under the walk's first step, until the next
 * snapshot of the map (`refresh` s at the latest: the daemon clears the
 * memory when a fresh snapshot comes in); a miss as a key without a
 * value for negative_ttl s.  Both are written by decide_learn() and read
 * by decide() only, so the format has one home.
 */
#include <string.h>

#include "common/buf.h"
#include "lookupd/decide.h"
#include "lookupd/kcache.h"
#include "lookupd/overlay.h"
#include "lookupd/snapshot.h"
#include "common/tablesnap.h"

static void
decided(struct decision *d, enum decide_from from, enum result res,
    const char *why)
{
	d->from = from;
	d->res = res;
	d->why = why;
}

/* The snapshot's steps.  1 when one of them holds the key. */
static int
from_snapshot(const struct cfg *cfg, struct snapshot *snap,
    const struct overlay *ov, const struct walk *w, time_t now,
    struct decision *d)
{
	if (snap == NULL)
		return 0;
	if (now - snapshot_built(snap) > cfg->max_stale) {
		d->snap = DECIDE_SNAP_STALE;
		return 0;
	}
	d->snap = DECIDE_SNAP_USED;
	for (size_t i = 0; i < w->n; i++) {
		int r = overlay_get(ov, w->step[i], w->steplen[i], &d->val,
		    &d->vlen);

		if (r < 0)
			continue;	/* deleted since the file was written */
		if (r == 0)
			r = snapshot_get(snap, w->step[i], w->steplen[i],
			    &d->val, &d->vlen);

		if (r < 0) {
			d->snap = DECIDE_SNAP_DAMAGED;
			return 0;
		}
		if (r == 1) {
			d->step = i;
			decided(d, DECIDE_SNAPSHOT, RES_FOUND, NULL);
			return 1;
		}
	}
	return 0;
}

/* An ldap_table map's snapshot (lookupd/tablebuild.h): each step in
 * the order Postfix's ldap: walk would ask it, a value or a stored
 * error (TEMP, with Postfix's reason).  1 when one of them decides. */
static int
from_table_snapshot(const struct cfg *cfg, struct snapshot *snap,
    const struct walk *w, time_t now, struct decision *d)
{
	struct buf k = BUF_INIT;
	int r = 0;

	if (now - snapshot_built(snap) > cfg->max_stale) {
		d->snap = DECIDE_SNAP_STALE;
		return 0;
	}
	d->snap = DECIDE_SNAP_USED;
	for (size_t i = 0; i < w->n && r == 0; i++) {
		r = snapshot_get(snap, w->step[i], w->steplen[i], &d->val,
		    &d->vlen);
		if (r == 1) {
			d->step = i;
			decided(d, DECIDE_SNAPSHOT, RES_FOUND, NULL);
			break;
		}
		if (r < 0)
			break;
		buf_reset(&k);
		buf_putc(&k, TABLESNAP_TEMP_MARK);
		buf_append(&k, w->step[i], w->steplen[i]);
		r = snapshot_get(snap, k.p, k.len, &d->val, &d->vlen);
		if (r == 1) {
			size_t n = d->vlen < sizeof(d->whybuf) - 1 ? d->vlen :
			    sizeof(d->whybuf) - 1;

			memcpy(d->whybuf, d->val, n);
			d->whybuf[n] = '\0';
			d->val = NULL;
			d->vlen = 0;
			decided(d, DECIDE_SNAPSHOT, RES_TEMP, d->whybuf);
		}
	}
	buf_free(&k);
	if (r < 0)
		d->snap = DECIDE_SNAP_DAMAGED;
	return r == 1;
}

/* The live answers remembered.  1 when one is. */
static int
from_memory(const struct decide_mem *mem, const struct walk *w, time_t now,
    struct decision *d)
{
	const char *val;
	size_t vlen;

	if (mem == NULL)
		return 0;
	if (mem->found && kcache_get(mem->found, w->step[0], w->steplen[0],
	    now, &val, &vlen) && val != NULL && vlen > 1 &&
	    (size_t)(unsigned char)val[0] < w->n) {
		d->step = (size_t)(unsigned char)val[0];
		d->val = val + 1;
		d->vlen = vlen - 1;
		decided(d, DECIDE_MEMORY, RES_FOUND, NULL);
		return 1;
	}
	if (mem->missed && kcache_get(mem->missed, w->step[0], w->steplen[0],
	    now, &val, &vlen)) {
		decided(d, DECIDE_MEMORY, RES_NOTFOUND, NULL);
		return 1;
	}
	return 0;
}

void
decide(const struct cfg *cfg, const struct cfg_map *m, const char *key,
    size_t keylen, struct snapshot *snap, const struct overlay *ov,
    const struct decide_mem *mem, time_t now, struct walk *w,
    struct decision *d)
{
	memset(d, 0, sizeof(*d));
	memset(w, 0, sizeof(*w));
	if (m == NULL) {
		decided(d, DECIDE_RULES, RES_PERM, "unknown map name");
		return;
	}
	maps_walk(cfg, m, key, keylen, w);
	if (w->n == 0) {
		decided(d, DECIDE_RULES, RES_NOTFOUND, NULL);
		return;
	}
	if (m->table != NULL) {
		/* ldap_table: from the snapshot when it has one (an
		 * enumerable map), else live; no memory of live answers.
		 * A miss is NOTFOUND (miss_lookup = no) only for keys whose
		 * absence the snapshot proves. */
		int complete = 1;

		if (snap != NULL && from_table_snapshot(cfg, snap, w, now, d))
			return;
		for (size_t i = 0; i < w->n; i++)
			complete &= tablesnap_key_complete(w->step[i],
			    w->steplen[i]);
		if (d->snap == DECIDE_SNAP_USED && !cfg->miss_lookup &&
		    complete)
			decided(d, DECIDE_NO_LIVE, RES_NOTFOUND, NULL);
		else
			decided(d, DECIDE_LIVE, RES_TEMP, NULL);
		return;
	}
	if (from_snapshot(cfg, snap, ov, w, now, d) ||
	    from_memory(mem, w, now, d))
		return;
	if (!cfg->miss_lookup) {
		/* Without a usable snapshot, "not found" would be a guess. */
		if (d->snap == DECIDE_SNAP_USED)
			decided(d, DECIDE_NO_LIVE, RES_NOTFOUND, NULL);
		else
			decided(d, DECIDE_NO_LIVE, RES_TEMP, "no usable "
			    "snapshot and miss_lookup = no");
		return;
	}
	decided(d, DECIDE_LIVE, RES_TEMP, NULL);
}

void
decide_learn(const struct cfg *cfg, const struct decide_mem *mem,
    const struct walk *w, enum result res, size_t step, const char *val,
    size_t vlen, time_t now)
{
	if (mem == NULL || w->n == 0)
		return;
	if (res == RES_FOUND && mem->found && step < w->n && vlen > 0) {
		struct buf rec = BUF_INIT;

		buf_putc(&rec, (char)step);
		buf_append(&rec, val, vlen);
		kcache_put(mem->found, w->step[0], w->steplen[0], rec.p,
		    rec.len, now + cfg->refresh);
		buf_free(&rec);
	} else if (res == RES_NOTFOUND && mem->missed &&
	    cfg->negative_ttl > 0) {
		kcache_put(mem->missed, w->step[0], w->steplen[0], NULL, 0,
		    now + cfg->negative_ttl);
	}
}
