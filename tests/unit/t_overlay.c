/*
 * t_overlay: the persist changes the loop answers before the cdb file
 * (lookupd/overlay.c): add, replace, delete by hash, an add merging with
 * what the key has, commits that drop what a snapshot holds and keep
 * later changes, other key hashes dropping everything, growth past many
 * keys.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookupd/overlay.h"
#include "unit.h"

static const unsigned char secret[16] = "0123456789abcdef";

static struct uuidx_keys K;

static void
change(struct overlay *o, uint64_t seq, enum keychange_op op,
    const char *key, const char *val)
{
	struct keychange c;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.hash = uuidx_key_hash_k(&K, key, strlen(key));
	c.key = (char *)key;
	c.klen = strlen(key);
	c.val = (char *)val;
	c.vlen = val ? strlen(val) : 0;
	overlay_apply(o, seq, &c, NULL);
}

/* "v:VALUE", "deleted" or "none". */
static const char *
get(const struct overlay *o, const char *key)
{
	static char out[256];
	const char *v;
	size_t n;
	int r = overlay_get(o, key, strlen(key), &v, &n);

	if (r < 0)
		return "deleted";
	if (r == 0)
		return "none";
	snprintf(out, sizeof(out), "v:%.*s", (int)n, v);
	return out;
}

int
main(void)
{
	struct uuidx *x = uuidx_new(2, secret);
	struct overlay *o = overlay_new();
	struct uuidx_keys other;
	char key[64];

	uuidx_keys(x, &K);
	overlay_keys(o, &K);
	CHECK_STR("empty: nothing", get(o, "a@x"), "none");
	change(o, 1, KEYCHANGE_ADD, "a@x", "/m/a/");
	CHECK_STR("add", get(o, "a@x"), "v:/m/a/");
	change(o, 2, KEYCHANGE_ADD, "a@x", "/m/b/");
	CHECK_STR("a second entry adds a value: merged", get(o, "a@x"),
	    "v:/m/a/,/m/b/");
	change(o, 3, KEYCHANGE_ADD, "b@x", "/m/b/");
	change(o, 3, KEYCHANGE_ADD, "b@x", "/m/b/");
	CHECK_STR("the same value twice: once", get(o, "b@x"), "v:/m/b/");
	change(o, 4, KEYCHANGE_REPLACE, "a@x", "/m/c/");
	CHECK_STR("replace: the value alone", get(o, "a@x"), "v:/m/c/");
	change(o, 5, KEYCHANGE_DELETE, "b@x", NULL);
	CHECK_STR("delete by hash", get(o, "b@x"), "deleted");
	change(o, 6, KEYCHANGE_ADD, "b@x", "/m/d/");
	CHECK_STR("added after a delete: the new value alone", get(o, "b@x"),
	    "v:/m/d/");
	CHECK("count", overlay_count(o) == 2);
	overlay_commit(o, 4);
	CHECK_STR("commit 4: a@x (last changed at 4) dropped", get(o, "a@x"),
	    "none");
	CHECK_STR("commit 4: b@x (changed at 6) kept", get(o, "b@x"),
	    "v:/m/d/");
	overlay_commit(o, 6);
	CHECK("commit 6: empty", overlay_count(o) == 0);

	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d@x", i);
		change(o, 10 + (uint64_t)i, i % 3 ? KEYCHANGE_ADD :
		    KEYCHANGE_DELETE, key, "/v/");
	}
	CHECK("5000 keys held", overlay_count(o) == 5000);
	CHECK_STR("one of them (deleted)", get(o, "k4998@x"), "deleted");
	CHECK_STR("another (added)", get(o, "k4999@x"), "v:/v/");
	overlay_commit(o, 10 + 2499);
	CHECK("commit half: 2500 left", overlay_count(o) == 2500);
	CHECK_STR("an early one gone", get(o, "k1@x"), "none");
	CHECK_STR("a late one kept", get(o, "k2501@x"), "v:/v/");

	other = K;
	other.k0 ^= 1;
	overlay_keys(o, &other);
	CHECK("other key hashes: everything dropped", overlay_count(o) == 0);
	overlay_keys(o, &other);
	change(o, 1, KEYCHANGE_ADD, "z@x", "/z/");
	overlay_keys(o, &other);
	CHECK("the same key hashes again: kept", overlay_count(o) == 1);

	overlay_free(o);
	uuidx_free(x);
	return unit_done();
}
