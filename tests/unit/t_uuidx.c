/*
 * t_uuidx: the entryUUID index (lookupd/uuidx.c): put/get/replace/delete,
 * marks and the sweep, growth and compaction against a plain model of
 * 20,000 entries under random changes, the key hash (keyed, 56 bits,
 * stable for one secret), and the encoding with every kind of damage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookupd/uuidx.h"
#include "unit.h"

#define MODEL	20000

static const unsigned char secret[16] = "0123456789abcdef";

static void
uuid_of(unsigned i, unsigned char *u)
{
	memset(u, 0, UUIDX_UUID_LEN);
	memcpy(u, &i, sizeof(i));
	u[15] = 0xa5;
}

struct model {
	int live;
	size_t n;
	uint64_t keys[5];
	uint32_t dig[2];
};

static uint64_t rnd_state = 42;

static uint64_t
rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void
random_rec(struct model *m)
{
	m->live = 1;
	m->n = rnd() % 6;
	for (size_t k = 0; k < m->n; k++)
		m->keys[k] = rnd();
	m->dig[0] = (uint32_t)rnd();
	m->dig[1] = (uint32_t)rnd();
}

static int
same(const struct uuidx *x, unsigned i, const struct model *m)
{
	unsigned char u[UUIDX_UUID_LEN];
	const uint64_t *keys;
	const uint32_t *dig;
	size_t n;

	uuid_of(i, u);
	if (!uuidx_get(x, u, &keys, &n, &dig))
		return !m->live;
	return m->live && n == m->n && memcmp(keys, m->keys, n * 8) == 0 &&
	    dig[0] == m->dig[0] && dig[1] == m->dig[1];
}

static int
all_same(const struct uuidx *x, const struct model *m)
{
	size_t live = 0;

	for (unsigned i = 0; i < MODEL; i++) {
		if (!same(x, i, &m[i]))
			return 0;
		live += m[i].live;
	}
	return uuidx_count(x) == live;
}

static void
put_model(struct uuidx *x, unsigned i, const struct model *m)
{
	unsigned char u[UUIDX_UUID_LEN];

	uuid_of(i, u);
	uuidx_put(x, u, m->keys, m->n, m->dig);
}

static void
basics(void)
{
	struct uuidx *x = uuidx_new(2, secret);
	unsigned char a[UUIDX_UUID_LEN], b[UUIDX_UUID_LEN];
	uint64_t k3[3] = { 1, 2, (UINT64_C(3) << 56) | 7 }, k1[1] = { 9 };
	uint32_t d[2] = { 11, 22 }, d2[2] = { 33, 44 };
	const uint64_t *keys;
	const uint32_t *dig;
	size_t n;

	uuid_of(1, a);
	uuid_of(2, b);
	CHECK("empty: unknown", !uuidx_get(x, a, &keys, &n, &dig));
	uuidx_put(x, a, k3, 3, d);
	CHECK("put: found", uuidx_get(x, a, &keys, &n, &dig) && n == 3 &&
	    keys[2] == ((UINT64_C(3) << 56) | 7) && dig[0] == 11 &&
	    dig[1] == 22);
	CHECK("other uuid: unknown", !uuidx_get(x, b, &keys, &n, &dig));
	uuidx_put(x, a, k1, 1, d2);
	CHECK("replace with fewer keys", uuidx_get(x, a, &keys, &n, &dig) &&
	    n == 1 && keys[0] == 9 && dig[0] == 33 && uuidx_count(x) == 1);
	uuidx_put(x, a, k3, 0, d);
	CHECK("replace with no key", uuidx_get(x, a, &keys, &n, &dig) &&
	    n == 0 && uuidx_count(x) == 1);
	CHECK("delete", uuidx_del(x, a) == 1 && uuidx_count(x) == 0 &&
	    !uuidx_get(x, a, &keys, &n, &dig));
	CHECK("delete unknown", uuidx_del(x, a) == 0);

	CHECK("key hash: 56 bits", (uuidx_key_hash(x, "a@b", 3) &
	    ~UUIDX_HASH_MASK) == 0);
	CHECK("key hash: stable",
	    uuidx_key_hash(x, "a@b", 3) == uuidx_key_hash(x, "a@b", 3));
	CHECK("key hash: differs",
	    uuidx_key_hash(x, "a@b", 3) != uuidx_key_hash(x, "a@c", 3));
	{
		struct uuidx *y = uuidx_new(2, NULL), *z = uuidx_new(2, secret);

		CHECK("key hash: keyed by the secret",
		    uuidx_key_hash(x, "a@b", 3) != uuidx_key_hash(y, "a@b", 3) &&
		    uuidx_key_hash(x, "a@b", 3) == uuidx_key_hash(z, "a@b", 3));
		uuidx_free(y);
		uuidx_free(z);
	}
	uuidx_free(x);
}

struct swept {
	unsigned ids[8];
	size_t n;
};

static void
on_sweep(const unsigned char *uuid, const uint64_t *keys, size_t n,
    void *arg)
{
	struct swept *s = arg;
	unsigned id;

	(void)keys;
	(void)n;
	memcpy(&id, uuid, sizeof(id));
	if (s->n < 8)
		s->ids[s->n] = id;
	s->n++;
}

static void
marks(void)
{
	struct uuidx *x = uuidx_new(1, secret);
	unsigned char u[UUIDX_UUID_LEN];
	uint64_t k[1] = { 5 };
	uint32_t d[1] = { 1 };
	struct swept s = { { 0 }, 0 };

	for (unsigned i = 0; i < 5; i++) {
		uuid_of(i, u);
		uuidx_put(x, u, k, 1, d);
	}
	uuidx_unmark_all(x);
	uuid_of(0, u);
	CHECK("mark known", uuidx_mark(x, u) == 1);
	uuid_of(3, u);
	uuidx_put(x, u, k, 1, d);		/* a put marks */
	uuid_of(9, u);
	CHECK("mark unknown", uuidx_mark(x, u) == 0);
	CHECK("sweep: the 3 unmarked", uuidx_sweep(x, on_sweep, &s) == 3 &&
	    s.n == 3 && s.ids[0] == 1 && s.ids[1] == 2 && s.ids[2] == 4);
	CHECK("sweep: the marked stay", uuidx_count(x) == 2);
	s.n = 0;
	CHECK("second sweep: nothing (marks stay until unmark_all)",
	    uuidx_sweep(x, on_sweep, &s) == 0 && s.n == 0);
	uuidx_clear(x);
	CHECK("clear", uuidx_count(x) == 0);
	uuidx_free(x);
}

static void
model_test(void)
{
	struct uuidx *x = uuidx_new(2, secret);
	struct model *m = calloc(MODEL, sizeof(*m));
	int ok = 1;

	for (unsigned i = 0; i < MODEL; i++) {
		random_rec(&m[i]);
		put_model(x, i, &m[i]);
	}
	CHECK("20000 puts: all there", all_same(x, m));
	/* Random replaces and deletes, checked every 5000 changes. */
	for (int round = 0; round < 40000; round++) {
		unsigned i = (unsigned)(rnd() % MODEL);
		unsigned char u[UUIDX_UUID_LEN];

		if (rnd() % 3 == 0) {
			uuid_of(i, u);
			if (uuidx_del(x, u) != m[i].live)
				ok = 0;
			m[i].live = 0;
		} else {
			random_rec(&m[i]);
			put_model(x, i, &m[i]);
		}
		if (round % 5000 == 4999 && !all_same(x, m))
			ok = 0;
	}
	CHECK("40000 random replaces and deletes: same as the model", ok &&
	    all_same(x, m));
	{
		size_t before = uuidx_bytes(x);

		for (unsigned i = 0; i < MODEL; i++) {
			unsigned char u[UUIDX_UUID_LEN];

			uuid_of(i, u);
			(void)uuidx_del(x, u);
			m[i].live = 0;
		}
		CHECK("everything deleted", uuidx_count(x) == 0 &&
		    all_same(x, m));
		CHECK("compaction gave memory back", uuidx_bytes(x) < before);
	}
	uuidx_free(x);
	free(m);
}

static void
encoding(void)
{
	struct uuidx *x = uuidx_new(2, secret), *y;
	unsigned char *enc, u[UUIDX_UUID_LEN];
	size_t len;
	struct model m[50];
	char err[200];
	int ok = 1;

	for (unsigned i = 0; i < 50; i++) {
		random_rec(&m[i]);
		put_model(x, i, &m[i]);
	}
	uuid_of(7, u);
	(void)uuidx_del(x, u);		/* a dead record is not encoded */
	m[7].live = 0;
	uuidx_encode(x, &enc, &len);
	y = uuidx_decode(enc, len, err, sizeof(err));
	CHECK("decode: what was encoded", y != NULL);
	for (unsigned i = 0; y && i < 50; i++)
		if (!same(y, i, &m[i]))
			ok = 0;
	CHECK("decode: every entry, the deleted one gone", y && ok &&
	    uuidx_count(y) == 49);
	CHECK("decode: same secret", y && uuidx_key_hash(y, "k", 1) ==
	    uuidx_key_hash(x, "k", 1));
	uuidx_free(y);

	y = uuidx_decode(enc, len - 1, err, sizeof(err));
	CHECK("decode: truncated is refused", y == NULL);
	CHECK_STR("decode: truncated says why", err,
	    "uuid index damaged (checksum)");
	ok = 1;
	for (size_t i = 0; i < len; i += 7) {
		enc[i] ^= 0x10;
		y = uuidx_decode(enc, len, err, sizeof(err));
		if (y)
			ok = 0;
		uuidx_free(y);
		enc[i] ^= 0x10;
	}
	CHECK("decode: any flipped bit is refused", ok);
	y = uuidx_decode((const unsigned char *)"garbage", 7, err,
	    sizeof(err));
	CHECK("decode: garbage is refused", y == NULL);
	CHECK_STR("decode: garbage says why", err, "not a uuid index");
	free(enc);
	uuidx_free(x);
}

int
main(void)
{
	basics();
	marks();
	model_test();
	encoding();
	return unit_done();
}
