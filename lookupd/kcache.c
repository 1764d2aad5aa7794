/*
 * kcache: a bounded, expiring key -> value memory (see kcache.h).
 * Chained hash table with FNV-1a; key and value live in one allocation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "lookupd/kcache.h"

struct kentry {
	struct kentry *next;
	time_t expires;
	size_t klen;
	size_t vlen;
	int has_val;
	char data[];		/* key, then value */
};

struct kcache {
	struct kentry **slot;
	size_t nslot;
	size_t count;
	size_t max;
};

static uint32_t
hash(const char *k, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)k[i];
		h *= 16777619u;
	}
	return h;
}

struct kcache *
kcache_new(size_t max_entries)
{
	struct kcache *c = xcalloc(1, sizeof(*c));

	c->max = max_entries ? max_entries : 1;
	c->nslot = 1024;
	while (c->nslot < c->max / 2 && c->nslot < (1u << 20))
		c->nslot *= 2;
	c->slot = xcalloc(c->nslot, sizeof(*c->slot));
	return c;
}

void
kcache_clear(struct kcache *c)
{
	for (size_t i = 0; i < c->nslot; i++) {
		struct kentry *e = c->slot[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
		c->slot[i] = NULL;
	}
	c->count = 0;
}

void
kcache_free(struct kcache *c)
{
	if (c == NULL)
		return;
	kcache_clear(c);
	free(c->slot);
	free(c);
}

static struct kentry **
find(struct kcache *c, const char *key, size_t klen)
{
	struct kentry **pp = &c->slot[hash(key, klen) & (c->nslot - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->klen == klen && memcmp((*pp)->data, key, klen) == 0)
			break;
	return pp;
}

int
kcache_get(struct kcache *c, const char *key, size_t klen, time_t now,
    const char **val, size_t *vlen)
{
	struct kentry **pp = find(c, key, klen), *e = *pp;

	if (e == NULL)
		return 0;
	if (e->expires <= now) {
		*pp = e->next;
		free(e);
		c->count--;
		return 0;
	}
	*val = e->has_val ? e->data + e->klen : NULL;
	*vlen = e->vlen;
	return 1;
}

void
kcache_expire(struct kcache *c, time_t now)
{
	for (size_t i = 0; i < c->nslot; i++) {
		struct kentry **pp = &c->slot[i];

		while (*pp) {
			struct kentry *e = *pp;

			if (e->expires <= now) {
				*pp = e->next;
				free(e);
				c->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}

void
kcache_put(struct kcache *c, const char *key, size_t klen, const char *val,
    size_t vlen, time_t expires)
{
	struct kentry **pp, *e;

	if (val == NULL)
		vlen = 0;
	if (klen > SIZE_MAX / 2 - sizeof(*e) - vlen)
		return;
	pp = find(c, key, klen);
	if (*pp) {
		e = *pp;
		*pp = e->next;
		free(e);
		c->count--;
	}
	if (c->count >= c->max) {
		kcache_expire(c, time(NULL));
		if (c->count >= c->max)
			kcache_clear(c);
		pp = find(c, key, klen);
	}
	e = xmalloc(sizeof(*e) + klen + vlen);
	e->expires = expires;
	e->klen = klen;
	e->vlen = vlen;
	e->has_val = val != NULL;
	memcpy(e->data, key, klen);
	if (vlen)
		memcpy(e->data + klen, val, vlen);
	e->next = *pp;
	*pp = e;
	c->count++;
}
