/*
 * syncapply: sync messages -> key changes (see syncapply.h).
 *
 * An entry's new part is gathered per (map, key) with its distinct values
 * in order; each map gets a digest, the sum of a keyed hash of every
 * (key, merged value) it has (order does not matter), and each key one
 * index word (hash | map bits).  Compared with what the index held: a map
 * with the same digest is unchanged; otherwise its keys are ADDed,
 * REPLACEd or DELETEd.  An entry that gives no key at all is not kept.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/ldapconn.h"
#include "lookupd/maps.h"
#include "lookupd/syncapply.h"

struct syncgroup {
	const struct cfg_map *const *maps;
	size_t n;
	struct uuidx *x;
};

/* One (map, key) of an entry with its distinct values. */
struct part {
	size_t map;
	char *key;
	size_t klen;
	uint64_t hash;
	char **vals;
	size_t *vlens;
	size_t nv;
	struct buf merged;
};

struct gather {
	struct part *p;
	size_t n, cap;
	size_t map;		/* of the pairs being emitted */
};

void
keybatch_reset(struct keybatch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].key);
		free(b->v[i].val);
	}
	b->n = 0;
}

void
keybatch_free(struct keybatch *b)
{
	keybatch_reset(b);
	free(b->v);
	b->v = NULL;
	b->cap = 0;
}

static struct keychange *
batch_add(struct keybatch *b, size_t map, enum keychange_op op,
    uint64_t hash)
{
	struct keychange *c;

	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	c = &b->v[b->n++];
	memset(c, 0, sizeof(*c));
	c->map = map;
	c->op = op;
	c->hash = hash;
	return c;
}

struct syncgroup *
syncgroup_new(const struct cfg_map *const *maps, size_t n, struct uuidx *x)
{
	struct syncgroup *g = xcalloc(1, sizeof(*g));

	g->maps = maps;
	g->n = n < uuidx_maps(x) ? n : uuidx_maps(x);
	g->x = x;
	return g;
}

void
syncgroup_free(struct syncgroup *g)
{
	free(g);
}

static void
emit(const char *key, size_t klen, const char *val, size_t vlen,
    const char *dn, void *arg)
{
	struct gather *ga = arg;
	struct part *p = NULL;

	(void)dn;
	for (size_t i = 0; i < ga->n; i++)
		if (ga->p[i].map == ga->map && ga->p[i].klen == klen &&
		    memcmp(ga->p[i].key, key, klen) == 0)
			p = &ga->p[i];
	if (p == NULL) {
		if (ga->n == ga->cap) {
			ga->cap = ga->cap ? 2 * ga->cap : 8;
			ga->p = xreallocarray(ga->p, ga->cap, sizeof(*ga->p));
		}
		p = &ga->p[ga->n++];
		memset(p, 0, sizeof(*p));
		p->map = ga->map;
		p->key = xstrndup(key, klen);
		p->klen = klen;
	}
	/* The snapshot keeps identical values once, the others in order. */
	for (size_t i = 0; i < p->nv; i++)
		if (p->vlens[i] == vlen && memcmp(p->vals[i], val, vlen) == 0)
			return;
	p->vals = xreallocarray(p->vals, p->nv + 1, sizeof(*p->vals));
	p->vlens = xreallocarray(p->vlens, p->nv + 1, sizeof(*p->vlens));
	p->vals[p->nv] = xstrndup(val, vlen);
	p->vlens[p->nv] = vlen;
	p->nv++;
}

static void
gather_free(struct gather *ga)
{
	for (size_t i = 0; i < ga->n; i++) {
		for (size_t j = 0; j < ga->p[i].nv; j++)
			free(ga->p[i].vals[j]);
		free(ga->p[i].vals);
		free(ga->p[i].vlens);
		free(ga->p[i].key);
		buf_free(&ga->p[i].merged);
	}
	free(ga->p);
}

/* The hash of one (key, merged value), for a map's digest. */
static uint32_t
part_hash(const struct syncgroup *g, const struct part *p)
{
	unsigned char small[512], *b = small;
	size_t len = 4 + p->klen + p->merged.len;
	uint64_t h;

	if (len > sizeof(small))
		b = xmalloc(len);
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(p->klen >> (8 * i));
	memcpy(b + 4, p->key, p->klen);
	if (p->merged.len)
		memcpy(b + 4 + p->klen, p->merged.p, p->merged.len);
	h = uuidx_hash(g->x, b, len);
	if (b != small)
		free(b);
	return (uint32_t)(h ^ (h >> 32));
}

/* Is there a word for hash with map m's bit among words? */
static int
has_key(const uint64_t *words, size_t n, uint64_t hash, size_t m)
{
	for (size_t i = 0; i < n; i++)
		if ((words[i] & UUIDX_HASH_MASK) == hash &&
		    (words[i] >> 56 & (1u << m)))
			return 1;
	return 0;
}

void
syncapply_entry(struct syncgroup *g, const unsigned char *uuid,
    const struct lentry *e, struct keybatch *out)
{
	struct gather ga = { NULL, 0, 0, 0 };
	uint32_t digests[UUIDX_MAPS] = { 0 };
	const uint64_t *okeys;
	const uint32_t *odig;
	uint64_t *old = NULL, *words;
	uint32_t olddig[UUIDX_MAPS] = { 0 };
	size_t on = 0, nw = 0;
	int known;

	for (ga.map = 0; ga.map < g->n; ga.map++)
		maps_entry_pairs(g->maps[ga.map], e, emit, &ga, NULL);
	words = xcalloc(ga.n ? ga.n : 1, sizeof(*words));
	for (size_t i = 0; i < ga.n; i++) {
		struct part *p = &ga.p[i];
		size_t w;

		for (size_t j = 0; j < p->nv; j++) {
			if (j)
				buf_putc(&p->merged, ',');
			buf_append(&p->merged, p->vals[j], p->vlens[j]);
		}
		p->hash = uuidx_key_hash(g->x, p->key, p->klen);
		digests[p->map] += part_hash(g, p);
		for (w = 0; w < nw; w++)
			if ((words[w] & UUIDX_HASH_MASK) == p->hash)
				break;
		if (w == nw)
			words[nw++] = p->hash;
		words[w] |= (uint64_t)1 << (56 + p->map);
	}

	known = uuidx_get(g->x, uuid, &okeys, &on, &odig);
	if (known) {
		old = xcalloc(on ? on : 1, sizeof(*old));
		memcpy(old, okeys, on * sizeof(*old));
		memcpy(olddig, odig, g->n * sizeof(*olddig));
	}
	for (size_t m = 0; m < g->n; m++) {
		if (known && olddig[m] == digests[m])
			continue;	/* this map's part did not change */
		for (size_t i = 0; i < ga.n; i++) {
			struct part *p = &ga.p[i];
			struct keychange *c;

			if (p->map != m)
				continue;
			c = batch_add(out, m, known && has_key(old, on, p->hash,
			    m) ? KEYCHANGE_REPLACE : KEYCHANGE_ADD, p->hash);
			/* The part's key and merged value move into the
			 * change (a part is emitted once, for its map). */
			c->key = p->key;
			c->klen = p->klen;
			p->key = NULL;
			c->val = p->merged.p ? p->merged.p : xstrndup("", 0);
			c->vlen = p->merged.len;
			memset(&p->merged, 0, sizeof(p->merged));
		}
		for (size_t k = 0; k < on; k++) {
			uint64_t h = old[k] & UUIDX_HASH_MASK;

			if ((old[k] >> 56 & (1u << m)) &&
			    !has_key(words, nw, h, m))
				(void)batch_add(out, m, KEYCHANGE_DELETE, h);
		}
	}
	if (nw)
		uuidx_put(g->x, uuid, words, nw, digests);
	else if (known)
		(void)uuidx_del(g->x, uuid);
	free(old);
	free(words);
	gather_free(&ga);
}

int
syncapply_present(struct syncgroup *g, const unsigned char *uuid)
{
	return uuidx_mark(g->x, uuid);
}

struct deleting {
	struct syncgroup *g;
	struct keybatch *out;
};

static void
delete_keys(const unsigned char *uuid, const uint64_t *keys, size_t n,
    void *arg)
{
	struct deleting *d = arg;

	(void)uuid;
	for (size_t m = 0; m < d->g->n; m++)
		for (size_t k = 0; k < n; k++)
			if (keys[k] >> 56 & (1u << m))
				(void)batch_add(d->out, m, KEYCHANGE_DELETE,
				    keys[k] & UUIDX_HASH_MASK);
}

void
syncapply_delete(struct syncgroup *g, const unsigned char *uuid,
    struct keybatch *out)
{
	struct deleting d = { g, out };
	const uint64_t *keys;
	const uint32_t *dig;
	size_t n;

	if (!uuidx_get(g->x, uuid, &keys, &n, &dig))
		return;
	delete_keys(uuid, keys, n, &d);
	(void)uuidx_del(g->x, uuid);
}

void
syncapply_idset(struct syncgroup *g, int deletes, const unsigned char *uuids,
    size_t n, struct keybatch *out)
{
	for (size_t i = 0; i < n; i++) {
		const unsigned char *u = uuids + i * UUIDX_UUID_LEN;

		if (deletes)
			syncapply_delete(g, u, out);
		else
			(void)uuidx_mark(g->x, u);
	}
}

void
syncapply_refresh_begin(struct syncgroup *g)
{
	uuidx_unmark_all(g->x);
}

void
syncapply_present_end(struct syncgroup *g, struct keybatch *out)
{
	struct deleting d = { g, out };

	(void)uuidx_sweep(g->x, delete_keys, &d);
}
