/*
 * uuidx: the entryUUID index of a sync group (see uuidx.h).
 *
 * Records live one after the other in a slab of 64-bit words:
 *     [0..1]      the UUID
 *     [2..2+mw)   a 32-bit header (number of keys, flags) and one 32-bit
 *                 digest per map, padded to whole words
 *     then        one word per key: hash (56 bits) | map bits << 56
 * (for the built-in profile, 2 maps and 3 keys: 7 words, 56 bytes).  An
 * open-addressing table (linear probing, backward-shift deletion, at most
 * 70 % full) maps the UUID's hash to the record's word offset; offset 0
 * is never a record, so 0 marks an empty slot.  A record that changes
 * size, or is deleted, leaves a dead one behind; when dead words exceed
 * the live ones the slab is compacted.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/buf.h"
#include "common/log.h"
#include "lookupd/uuidx.h"

#define F_MARK		0x01000000u
#define F_DEAD		0x02000000u
#define N_MASK		0x00ffffffu
#define MAGIC		"ldmuuidx"
#define VERSION		1

struct uuidx {
	size_t nmaps;
	size_t mw;			/* words of header + digests */
	unsigned char secret[16];
	uint64_t k0, k1;
	uint64_t *slab;			/* slab[0] unused */
	size_t used, cap, dead;		/* words */
	uint32_t *table;		/* word offsets, 0: empty */
	size_t tcap;			/* a power of two */
	size_t count;
};

/* ---- SipHash-2-4 (Aumasson, Bernstein) ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

static uint64_t
le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
siphash(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ k0;
	uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
	uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ k0;
	uint64_t v3 = UINT64_C(0x7465646279746573) ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < left; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
uuidx_hash(const struct uuidx *x, const void *p, size_t len)
{
	return siphash(x->k0, x->k1, p, len);
}

uint64_t
uuidx_key_hash(const struct uuidx *x, const char *key, size_t len)
{
	return siphash(x->k0, x->k1, key, len) & UUIDX_HASH_MASK;
}

void
uuidx_keys(const struct uuidx *x, struct uuidx_keys *k)
{
	k->k0 = x->k0;
	k->k1 = x->k1;
}

uint64_t
uuidx_key_hash_k(const struct uuidx_keys *k, const char *key, size_t len)
{
	return siphash(k->k0, k->k1, key, len) & UUIDX_HASH_MASK;
}

/* ---- records ---- */

static uint32_t *
hdr(const struct uuidx *x, size_t off)
{
	return (uint32_t *)(void *)&x->slab[off + 2];
}

static size_t
rec_words(const struct uuidx *x, size_t n)
{
	return 2 + x->mw + n;
}

static size_t
rec_n(const struct uuidx *x, size_t off)
{
	return *hdr(x, off) & N_MASK;
}

static uint64_t
uuid_hash(const struct uuidx *x, const unsigned char *uuid)
{
	return siphash(x->k0, x->k1, uuid, UUIDX_UUID_LEN);
}

/* The table slot of uuid (whose uuid_hash is h), or of where it would
 * go. */
static size_t
slot_at(const struct uuidx *x, const unsigned char *uuid, uint64_t h)
{
	size_t i = (size_t)h & (x->tcap - 1);

	while (x->table[i] != 0 &&
	    memcmp(&x->slab[x->table[i]], uuid, UUIDX_UUID_LEN) != 0)
		i = (i + 1) & (x->tcap - 1);
	return i;
}

static size_t
slot_of(const struct uuidx *x, const unsigned char *uuid)
{
	return slot_at(x, uuid, uuid_hash(x, uuid));
}

static void
table_insert(struct uuidx *x, size_t off)
{
	size_t i = slot_of(x, (const unsigned char *)&x->slab[off]);

	x->table[i] = (uint32_t)off;
}

static void
table_grow(struct uuidx *x, size_t tcap)
{
	free(x->table);
	x->tcap = tcap;
	x->table = xcalloc(tcap, sizeof(*x->table));
	if (tcap >= 65536)	/* every page is written below */
		mem_prefault(x->table, tcap * sizeof(*x->table));
	for (size_t off = 1; off < x->used; off += rec_words(x,
	    rec_n(x, off)))
		if (!(*hdr(x, off) & F_DEAD))
			table_insert(x, off);
}

/* Backward-shift deletion of slot i (linear probing). */
static void
table_remove(struct uuidx *x, size_t i)
{
	size_t mask = x->tcap - 1, j = i;

	x->table[i] = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (x->table[j] == 0)
			return;
		home = (size_t)uuid_hash(x,
		    (const unsigned char *)&x->slab[x->table[j]]) & mask;
		/* j's entry may move to i if its home is not in (i, j]. */
		if ((i < j) ? (home <= i || home > j) : (home <= i && home > j)) {
			x->table[i] = x->table[j];
			x->table[j] = 0;
			i = j;
		}
	}
}

/* Move the live records to the front; offsets change, the table is
 * rebuilt. */
static void
compact(struct uuidx *x)
{
	size_t to = 1;

	for (size_t off = 1; off < x->used;) {
		size_t w = rec_words(x, rec_n(x, off));

		if (!(*hdr(x, off) & F_DEAD)) {
			if (to != off)
				memmove(&x->slab[to], &x->slab[off],
				    w * sizeof(*x->slab));
			to += w;
		}
		off += w;
	}
	x->used = to;
	x->dead = 0;
	/* Give back what a big refresh left unused. */
	if (x->cap > 2 * x->used + 1024) {
		x->cap = x->used + x->used / 4 + 64;
		x->slab = xreallocarray(x->slab, x->cap, sizeof(*x->slab));
	}
	table_grow(x, x->tcap);
}

static void
kill_rec(struct uuidx *x, size_t off)
{
	*hdr(x, off) |= F_DEAD;
	x->dead += rec_words(x, rec_n(x, off));
}

static void
maybe_compact(struct uuidx *x)
{
	if (x->dead > 4096 && x->dead > x->used - x->dead)
		compact(x);
}

/* ---- the interface ---- */

struct uuidx *
uuidx_new(size_t nmaps, const unsigned char *secret)
{
	struct uuidx *x = xcalloc(1, sizeof(*x));

	if (nmaps < 1)
		nmaps = 1;
	if (nmaps > UUIDX_MAPS)
		nmaps = UUIDX_MAPS;
	x->nmaps = nmaps;
	x->mw = (1 + nmaps + 1) / 2;
	if (secret) {
		memcpy(x->secret, secret, sizeof(x->secret));
	} else {
		size_t got = 0;

		while (got < sizeof(x->secret)) {
			ssize_t r = getrandom(x->secret + got,
			    sizeof(x->secret) - got, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;	/* a fixed secret still works */
			got += (size_t)r;
		}
	}
	x->k0 = le64(x->secret);
	x->k1 = le64(x->secret + 8);
	x->cap = 1024;
	x->used = 1;
	x->slab = xcalloc(x->cap, sizeof(*x->slab));
	x->tcap = 1024;
	x->table = xcalloc(x->tcap, sizeof(*x->table));
	return x;
}

void
uuidx_free(struct uuidx *x)
{
	if (x == NULL)
		return;
	free(x->slab);
	free(x->table);
	free(x);
}

void
uuidx_clear(struct uuidx *x)
{
	x->used = 1;
	x->dead = 0;
	x->count = 0;
	memset(x->table, 0, x->tcap * sizeof(*x->table));
}

size_t
uuidx_count(const struct uuidx *x)
{
	return x->count;
}

size_t
uuidx_maps(const struct uuidx *x)
{
	return x->nmaps;
}

size_t
uuidx_bytes(const struct uuidx *x)
{
	return sizeof(*x) + x->cap * sizeof(*x->slab) +
	    x->tcap * sizeof(*x->table);
}

void
uuidx_put(struct uuidx *x, const unsigned char *uuid, const uint64_t *keys,
    size_t n, const uint32_t *digests)
{
	uint64_t h = uuid_hash(x, uuid);
	size_t i, off, w;

	if (n > N_MASK)
		n = N_MASK;
	i = slot_at(x, uuid, h);
	off = x->table[i];
	if (off != 0 && rec_n(x, off) == n) {
		/* Same size: in place. */
	} else {
		if (off != 0) {
			kill_rec(x, off);
		} else {
			x->count++;
			if (x->count * 10 > x->tcap * 7) {
				table_grow(x, x->tcap * 2);
			}
		}
		w = rec_words(x, n);
		if (x->used + w > x->cap) {
			size_t cap = x->cap + x->cap / 2;

			if (cap < x->used + w)
				cap = x->used + w;
			x->slab = xreallocarray(x->slab, cap,
			    sizeof(*x->slab));
			x->cap = cap;
		}
		off = x->used;
		x->used += w;
		memcpy(&x->slab[off], uuid, UUIDX_UUID_LEN);
		/* The table may have grown: look the slot up again. */
		i = slot_at(x, uuid, h);
		x->table[i] = (uint32_t)off;
	}
	memset(&x->slab[off + 2], 0, x->mw * sizeof(*x->slab));
	*hdr(x, off) = (uint32_t)n | F_MARK;
	memcpy(hdr(x, off) + 1, digests, x->nmaps * sizeof(*digests));
	memcpy(&x->slab[off + 2 + x->mw], keys, n * sizeof(*keys));
	maybe_compact(x);
}

int
uuidx_get(const struct uuidx *x, const unsigned char *uuid,
    const uint64_t **keys, size_t *n, const uint32_t **digests)
{
	size_t off = x->table[slot_of(x, uuid)];

	if (off == 0)
		return 0;
	*n = rec_n(x, off);
	*keys = &x->slab[off + 2 + x->mw];
	*digests = hdr(x, off) + 1;
	return 1;
}

int
uuidx_del(struct uuidx *x, const unsigned char *uuid)
{
	size_t i = slot_of(x, uuid), off = x->table[i];

	if (off == 0)
		return 0;
	kill_rec(x, off);
	table_remove(x, i);
	x->count--;
	maybe_compact(x);
	return 1;
}

void
uuidx_unmark_all(struct uuidx *x)
{
	for (size_t off = 1; off < x->used; off += rec_words(x,
	    rec_n(x, off)))
		*hdr(x, off) &= ~F_MARK;
}

int
uuidx_mark(struct uuidx *x, const unsigned char *uuid)
{
	size_t off = x->table[slot_of(x, uuid)];

	if (off == 0)
		return 0;
	*hdr(x, off) |= F_MARK;
	return 1;
}

size_t
uuidx_sweep(struct uuidx *x, uuidx_sweep_fn fn, void *arg)
{
	size_t swept = 0;

	for (size_t off = 1; off < x->used;) {
		size_t n = rec_n(x, off), w = rec_words(x, n);
		uint32_t h = *hdr(x, off);

		if (!(h & (F_DEAD | F_MARK))) {
			unsigned char uuid[UUIDX_UUID_LEN];

			memcpy(uuid, &x->slab[off], sizeof(uuid));
			if (fn)
				fn(uuid, &x->slab[off + 2 + x->mw], n, arg);
			kill_rec(x, off);
			table_remove(x, slot_of(x, uuid));
			x->count--;
			swept++;
		}
		off += w;
	}
	maybe_compact(x);
	return swept;
}

/* ---- as bytes ---- */

static void
put32(struct buf *b, uint32_t v)
{
	unsigned char c[4];

	for (int i = 0; i < 4; i++)
		c[i] = (unsigned char)(v >> (8 * i));
	buf_append(b, c, 4);
}

static void
put64(struct buf *b, uint64_t v)
{
	put32(b, (uint32_t)v);
	put32(b, (uint32_t)(v >> 32));
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* The checksum of an encoding: not secret, just a guard. */
static uint64_t
checksum(const unsigned char *p, size_t len)
{
	return siphash(UINT64_C(0x6c646d7575696478), UINT64_C(1), p, len);
}

void
uuidx_encode(const struct uuidx *x, unsigned char **out, size_t *len)
{
	struct buf b = BUF_INIT;

	buf_append(&b, MAGIC, 8);
	put32(&b, VERSION);
	put32(&b, (uint32_t)x->nmaps);
	buf_append(&b, x->secret, sizeof(x->secret));
	put64(&b, x->count);
	for (size_t off = 1; off < x->used; off += rec_words(x,
	    rec_n(x, off))) {
		uint32_t h = *hdr(x, off);
		size_t n = h & N_MASK;

		if (h & F_DEAD)
			continue;
		buf_append(&b, &x->slab[off], UUIDX_UUID_LEN);
		put32(&b, (uint32_t)n);
		for (size_t m = 0; m < x->nmaps; m++)
			put32(&b, hdr(x, off)[1 + m]);
		for (size_t k = 0; k < n; k++)
			put64(&b, x->slab[off + 2 + x->mw + k]);
	}
	put64(&b, checksum((const unsigned char *)b.p, b.len));
	*len = b.len;
	*out = (unsigned char *)b.p;	/* the caller frees it */
}

struct uuidx *
uuidx_decode(const unsigned char *p, size_t len, char *err, size_t errsz)
{
	const unsigned char *end, *q;
	uint64_t count, k[256];
	uint32_t d[UUIDX_MAPS];
	size_t nmaps, head = 8 + 4 + 4 + 16 + 8;
	struct uuidx *x;

	if (len < head + 8 || memcmp(p, MAGIC, 8) != 0) {
		log_errf(err, errsz, "not a uuid index");
		return NULL;
	}
	if (le64(p + len - 8) != checksum(p, len - 8)) {
		log_errf(err, errsz, "uuid index damaged (checksum)");
		return NULL;
	}
	nmaps = le32(p + 12);
	if (le32(p + 8) != VERSION || nmaps < 1 || nmaps > UUIDX_MAPS) {
		log_errf(err, errsz, "uuid index of another version");
		return NULL;
	}
	count = le64(p + 32);
	x = uuidx_new(nmaps, p + 16);
	q = p + head;
	end = p + len - 8;
	for (uint64_t i = 0; i < count; i++) {
		const uint64_t *known;
		const uint32_t *kd;
		size_t n, kn;
		uint64_t *keys = k;

		if (end - q < (ptrdiff_t)(UUIDX_UUID_LEN + 4 + 4 * nmaps))
			goto damaged;
		n = le32(q + UUIDX_UUID_LEN);
		if (n > N_MASK || (size_t)(end - q) - UUIDX_UUID_LEN - 4 -
		    4 * nmaps < n * 8)
			goto damaged;
		for (size_t m = 0; m < nmaps; m++)
			d[m] = le32(q + UUIDX_UUID_LEN + 4 + 4 * m);
		if (n > sizeof(k) / sizeof(k[0]))
			keys = xcalloc(n, sizeof(*keys));
		for (size_t j = 0; j < n; j++)
			keys[j] = le64(q + UUIDX_UUID_LEN + 4 + 4 * nmaps +
			    8 * j);
		if (uuidx_get(x, q, &known, &kn, &kd)) {
			if (keys != k)
				free(keys);
			goto damaged;		/* a UUID twice */
		}
		uuidx_put(x, q, keys, n, d);
		if (keys != k)
			free(keys);
		q += UUIDX_UUID_LEN + 4 + 4 * nmaps + 8 * n;
	}
	if (q != end)
		goto damaged;
	return x;
damaged:
	uuidx_free(x);
	log_errf(err, errsz, "uuid index damaged (records)");
	return NULL;
}
