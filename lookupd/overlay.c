/*
 * overlay: changes not yet in a map's snapshot (see overlay.h).
 *
 * An open-addressing table (linear probing, at most half full) of
 * (hash, seq, value or deleted).  A commit rebuilds the table from what
 * survives: it is small (the changes of one persist_flush).
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "lookupd/overlay.h"
#include "lookupd/snapshot.h"

enum { E_EMPTY, E_VALUE, E_DELETED };

struct oent {
	uint64_t hash;
	uint64_t seq;
	char *val;
	size_t vlen;
	int state;
};

struct overlay {
	struct oent *t;
	size_t cap, n;		/* cap: a power of two */
	struct uuidx_keys k;
	int has_keys;
};

struct overlay *
overlay_new(void)
{
	return xcalloc(1, sizeof(struct overlay));
}

void
overlay_clear(struct overlay *o)
{
	for (size_t i = 0; i < o->cap; i++)
		free(o->t[i].val);
	free(o->t);
	o->t = NULL;
	o->cap = o->n = 0;
}

void
overlay_free(struct overlay *o)
{
	if (o == NULL)
		return;
	overlay_clear(o);
	free(o);
}

size_t
overlay_count(const struct overlay *o)
{
	return o ? o->n : 0;
}

void
overlay_keys(struct overlay *o, const struct uuidx_keys *k)
{
	if (o->has_keys && o->k.k0 == k->k0 && o->k.k1 == k->k1)
		return;
	overlay_clear(o);
	o->k = *k;
	o->has_keys = 1;
}

static struct oent *
slot(const struct overlay *o, uint64_t hash)
{
	size_t i;

	if (o->cap == 0)
		return NULL;
	for (i = (size_t)(hash * UINT64_C(0x9e3779b97f4a7c15) >> 7) &
	    (o->cap - 1);; i = (i + 1) & (o->cap - 1))
		if (o->t[i].state == E_EMPTY || o->t[i].hash == hash)
			return &o->t[i];
}

static void
grow(struct overlay *o)
{
	struct oent *old = o->t;
	size_t ocap = o->cap;

	o->cap = ocap ? 2 * ocap : 64;
	o->t = xcalloc(o->cap, sizeof(*o->t));
	for (size_t i = 0; i < ocap; i++)
		if (old[i].state != E_EMPTY)
			*slot(o, old[i].hash) = old[i];
	free(old);
}

void
overlay_apply(struct overlay *o, uint64_t seq, const struct keychange *c,
    struct snapshot *snap)
{
	struct oent *e;
	struct buf v = BUF_INIT;

	if (2 * (o->n + 1) > o->cap)
		grow(o);
	e = slot(o, c->hash);
	if (e->state == E_EMPTY) {
		e->hash = c->hash;
		o->n++;
	}
	e->seq = seq;
	if (c->op == KEYCHANGE_DELETE) {
		free(e->val);
		e->val = NULL;
		e->vlen = 0;
		e->state = E_DELETED;
		return;
	}
	if (c->op == KEYCHANGE_ADD) {
		/* One more value: after what the key has, unless the same. */
		const char *old = NULL;
		size_t olen = 0;

		if (e->state == E_VALUE) {
			old = e->val;
			olen = e->vlen;
		} else if (e->state == E_EMPTY && snap &&
		    snapshot_get(snap, c->key, c->klen, &old, &olen) != 1) {
			old = NULL;
		}
		if (old && !(olen == c->vlen && memcmp(old, c->val, olen) ==
		    0)) {
			buf_append(&v, old, olen);
			buf_putc(&v, ',');
		}
	}
	buf_append(&v, c->val, c->vlen);
	free(e->val);
	e->val = xmalloc(v.len + 1);
	memcpy(e->val, v.p, v.len);
	e->val[v.len] = '\0';
	e->vlen = v.len;
	e->state = E_VALUE;
	buf_free(&v);
}

int
overlay_get(const struct overlay *o, const char *key, size_t klen,
    const char **val, size_t *vlen)
{
	const struct oent *e;

	if (o == NULL || o->n == 0)
		return 0;
	e = slot(o, uuidx_key_hash_k(&o->k, key, klen));
	if (e == NULL || e->state == E_EMPTY)
		return 0;
	if (e->state == E_DELETED)
		return -1;
	*val = e->val;
	*vlen = e->vlen;
	return 1;
}

void
overlay_commit(struct overlay *o, uint64_t seq)
{
	struct oent *old = o->t;
	size_t ocap = o->cap;

	o->t = NULL;
	o->cap = o->n = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].state == E_EMPTY)
			continue;
		if (old[i].seq <= seq) {
			free(old[i].val);
			continue;
		}
		if (2 * (o->n + 1) > o->cap)
			grow(o);
		*slot(o, old[i].hash) = old[i];
		o->n++;
	}
	free(old);
}
