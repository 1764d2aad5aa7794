/*
 * uuidx: entryUUID -> what the entry gives a group of maps (the maps that
 * read the same entries), kept small enough for a million entries: per
 * entry its UUID, one 32-bit digest per map of the (key, value) pairs it
 * gives, and a 64-bit word per key it gives: a 56-bit keyed hash of the
 * key (the snapshot's lowercased key) and 8 bits saying which maps of the
 * group have it.  Key strings are not kept (they are in the cdb files):
 * a delete is described by key hashes, which the snapshot writer matches
 * while it copies the old records.  Pure: no I/O, no globals.
 *
 * Hashes are SipHash-2-4 with a secret of the index (random at
 * uuidx_new, kept by uuidx_encode), so directory contents cannot be made
 * to collide on purpose; by chance, two of 3 million keys share a 56-bit
 * hash with probability about 1e-4 per index, a delete then names both
 * (detected by the writer, which can recompute that key).
 *
 * Present-phase bookkeeping (RFC 4533): every entry has a mark; a refresh
 * clears them, each entry named marks itself, and the present phase's
 * end sweeps the unmarked ones.
 *
 * Limits: at most UUIDX_MAPS maps per group, 2^24 - 1 keys per entry,
 * 16 GiB of records.
 */
#ifndef LDAPMAIL_UUIDX_H
#define LDAPMAIL_UUIDX_H

#include <stddef.h>
#include <stdint.h>

#define UUIDX_UUID_LEN	16
#define UUIDX_MAPS	8
#define UUIDX_HASH_MASK	((UINT64_C(1) << 56) - 1)

struct uuidx;

/* An index for a group of nmaps maps (1..UUIDX_MAPS); secret: 16 bytes,
 * or NULL for a random one. */
struct uuidx *uuidx_new(size_t nmaps, const unsigned char *secret);
void uuidx_free(struct uuidx *x);

/* The 56-bit hash of a key (as the snapshot stores it). */
uint64_t uuidx_key_hash(const struct uuidx *x, const char *key, size_t len);
/* The secret of the key hashes, for uuidx_key_hash_k (another thread
 * can hash keys without touching the index). */
struct uuidx_keys { uint64_t k0, k1; };
void uuidx_keys(const struct uuidx *x, struct uuidx_keys *k);
uint64_t uuidx_key_hash_k(const struct uuidx_keys *k, const char *key,
    size_t len);
/* The keyed 64-bit hash of any bytes (digests are built from these). */
uint64_t uuidx_hash(const struct uuidx *x, const void *p, size_t len);

/* Set what uuid gives: keys[n] (hash | map bits << 56) and one digest per
 * map; replaces what it had; marks it. */
void uuidx_put(struct uuidx *x, const unsigned char *uuid,
    const uint64_t *keys, size_t n, const uint32_t *digests);
/* What uuid gives: 1 (pointers valid until the next change), 0 unknown. */
int uuidx_get(const struct uuidx *x, const unsigned char *uuid,
    const uint64_t **keys, size_t *n, const uint32_t **digests);
/* Forget uuid; 1 if it was known. */
int uuidx_del(struct uuidx *x, const unsigned char *uuid);

/* Clear every mark; mark one (1 if known). */
void uuidx_unmark_all(struct uuidx *x);
int uuidx_mark(struct uuidx *x, const unsigned char *uuid);
/* Call fn for every unmarked entry, then forget them; returns how many. */
typedef void (*uuidx_sweep_fn)(const unsigned char *uuid,
    const uint64_t *keys, size_t n, void *arg);
size_t uuidx_sweep(struct uuidx *x, uuidx_sweep_fn fn, void *arg);

/* Forget everything (a full refresh begins). */
void uuidx_clear(struct uuidx *x);
size_t uuidx_count(const struct uuidx *x);
/* Bytes of memory it holds (records, free space and the table). */
size_t uuidx_bytes(const struct uuidx *x);
size_t uuidx_maps(const struct uuidx *x);

/* The index as bytes (to keep beside the snapshot) and back.  decode
 * returns NULL with err for anything damaged (a checksum covers it). */
void uuidx_encode(const struct uuidx *x, unsigned char **out, size_t *len);
struct uuidx *uuidx_decode(const unsigned char *p, size_t len, char *err,
    size_t errsz);

#endif
