/*
 * snapwriter: writing one map's snapshot (see snapwriter.h), the files
 * snapshot.c reads; names, limits and the digest format in snapfile.h.
 *
 * Records.  Every add, replace and delete is copied into an arena of
 * large anonymous mappings (no malloc per record) and indexed by an array
 * of pointers.  At commit the index is merge-sorted by key (stable, so the
 * records of one key stay in the order they were given); each run of one
 * key is applied in that order (add: one more value; replace: this value
 * alone; delete: none) and becomes one cdb record whose value is the
 * distinct values joined with ",".  A single map's key with more than one
 * distinct value is left out and reported with every DN behind it.  The
 * arena is given back before tinycdb builds its hash tables, so the peak
 * is the arena plus the index, never both copies of the data.
 *
 * A batch (snapwriter_from).  Only the changes are in the arena.  The
 * base snapshot is read in file order, which for a file this writer made
 * is key order (the reader notes it while it verifies the file,
 * snapshot_sorted): it is merged with the sorted changes as it streams into
 * the new file, so a commit costs one sequential read of the old file and
 * the writing of the new one, and memory for the changes only; never an
 * LDAP read.  A base record no change touches is the record the merge
 * would write, byte for byte: it is copied as it stands (cdbout_copy),
 * and runs of such records go out in one write from the base's mapping;
 * only its key is hashed, for the tables.  A base in another order (made by postmap, or with a key
 * twice) is first copied into the arena and sorted with the changes.
 * Either way the new file holds exactly what a full build of the same
 * data holds, record for record, so it is the same bytes.  The base must
 * stay open until the commit; it is read in place (snapshot_walk: no
 * copy per record), once for the deletes by hash, once for the merge.  A
 * batch replaces only its base: if another file took the base's place
 * meanwhile, the commit writes nothing and returns 1, and the caller
 * applies its changes to the new one.  A
 * batch may name a key to delete by its hash alone (persist sync's index
 * keeps no key strings): before the merge, every key of the base and of
 * the batch is hashed and each such delete becomes the delete of the one
 * key it names, in its place in the batch; a hash naming two keys makes
 * the commit refuse (2) rather than lose or keep a wrong answer.
 *
 * What a commit costs: `python3 bench/snapwriter.py --rounds 3` (snaptool
 * build and batch; keys of 25 bytes, values of 28, a third of the
 * changes replaces, a third deletes, a third new keys), medians, on the
 * development machine (2 vCPUs shared with other jobs, load 5-7, ext4),
 * 2026-12-05:
 *                            batch of 1,000   of 10,000   full build
 *     100,000 keys (7.6 MB)      0.055 s       0.063 s     0.095 s
 *   1,000,000 keys (76 MB)       0.46 s        0.47 s      1.20 s
 * (full build: the commit alone, records in LDAP's random order; the
 * directory read before it takes 6 s more at 1,000,000).  Since the
 * base's unchanged records are copied as they stand (cdbout_copy) and
 * the fsync runs beside the digest, a batch of 200 on 1,000,000 keys
 * (`SNAPTOOL_VERBOSE=1 snaptool batch`, 3 runs each, quiet machine,
 * 2026-12-05 night): the merge and write 140-151 ms (was 256-308), the
 * whole commit 0.43-0.45 s (was 0.56-0.58 s); at 2,000,000 keys (152
 * MB): write 256-280 ms, tables 81-111 ms, digest 177-188 ms.  The
 * bench above, before and after in turn, twice (load 1.5-2.0): at
 * 1,000,000 keys a batch of 200 0.45 / 0.53 s -> 0.31 / 0.37 s, of
 * 10,000 0.47 / 0.52 s -> 0.21 / 0.28 s, full build 1.14 / 1.26 s ->
 * 0.80 / 0.94 s.  The day
 * before, with the base copied out record by record and the file read
 * back for its digest, under more load: 0.12 / 0.11 / 0.31 s and 1.32 /
 * 1.20 / 4.6 s.  A batch costs about one writing of the whole file
 * (tinycdb's hash tables, write, fsync, the digest through the mapping);
 * the number of changes hardly counts below 10,000.  In lookupd, persist
 * sync's batches also delete by hash (every base key hashed once more:
 * about 22 ms of CPU at 100,000 keys, a quarter of the commit), and a
 * commit of the 1,000,000-entry alias and mailbox maps (334 MB) took
 * about 2.9 s there (the cdb p50 less persist_flush) under load 7-14
 * (bench/sync.py; README).
 *
 * Committing.  The file goes to a mkstemp(3) name in <dir> (mode 0640),
 * written by cdbout.c (the bytes tinycdb's cdb_make would write), its
 * writeback started as it is written, so the disk works while the rest
 * is merged; then it is fsynced (in a thread) while it is mapped and
 * digested through the mapping here (the table of contents is written
 * last, so the digest cannot be taken while writing), and the digest
 * goes to a second temporary file once both are done.  snapwriter_commit_open gives
 * that mapping back as the new snapshot (snapshot_adopt): persist sync
 * keeps it as the base of its next batch and answers from it, so the
 * file it wrote is never read and verified again.  The digest is
 * renamed into place first, then the cdb; a reader that sees the new
 * digest beside the old file retries once (snapshot.c).  If the second
 * rename fails the old digest is put back (it was swapped out with
 * RENAME_EXCHANGE, or kept in memory where that is unsupported), so a
 * failed commit leaves what was in place as it was.  Two writers of one
 * map (the daemon and a cron `lookupd sync`) hold an flock on the
 * directory around their two renames, so that one's digest never ends
 * beside the other's file; a writer whose data was read before that of
 * the file in place drops its own.  Temporary files of the
 * map older than an hour (a crashed build) are removed after a commit.
 *
 * Limits: keys up to SNAP_KEY_MAX bytes, single values up to
 * SNAP_VAL_MAX; keys or values that are empty or hold NUL, CR or LF are
 * left out (and counted in a warning; a replace by such a value deletes);
 * the whole file must stay under 4 GiB (tinycdb's 32-bit offsets); keys
 * are lowercased in ASCII only (caseIgnoreIA5Match); map names are
 * letters, digits, "_", "-", "." and may not start with "." (the
 * temporary files do).
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdb.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "lookupd/cdbout.h"
#include "lookupd/snapfile.h"
#include "lookupd/snapshot.h"
#include "lookupd/snapwriter.h"

#define ARENA_CHUNK	((size_t)4 << 20)
#define STALE_AGE	3600		/* s: older temporaries: debris */
#define BASE_DN		"(snapshot: DN not recorded)"

/* Large blocks straight from the kernel, so that they go back to it. */
static void *
big_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		log_fatal(EXIT_TEMPFAIL, "snapshot: out of memory (%zu bytes)",
		    n);
	return p;
}

static void *
big_grow(void *p, size_t old, size_t n)
{
	void *q;

	if (p == NULL)
		return big_alloc(n);
	q = mremap(p, old, n, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		log_fatal(EXIT_TEMPFAIL, "snapshot: out of memory (%zu bytes)",
		    n);
	return q;
}

static void
big_free(void *p, size_t n)
{
	if (p != NULL)
		munmap(p, n);
}

/*
 * A record in the arena: 8 bytes of lengths and what it does, the key,
 * the value and, in a single map only, a pointer to the DN (unaligned:
 * read with memcpy).  Records are 4-byte aligned.
 */
enum op {
	OP_BASE,	/* a record of the base (only when sorted here) */
	OP_ADD,
	OP_REPLACE,
	OP_DELETE,
	OP_DELETE_HASH	/* no key; the value is the 8-byte hash */
};

struct rec {
	unsigned klen : 24;	/* SNAP_KEY_MAX fits */
	unsigned op : 8;
	uint32_t vlen;
	/* klen bytes of key, vlen bytes of value [, const char *dn] */
};

#define REC_KEY(r)	((const char *)(r) + sizeof(struct rec))
#define REC_VAL(r)	(REC_KEY(r) + (r)->klen)
#define REC_END(r)	(REC_VAL(r) + (r)->vlen)

struct chunk {
	struct chunk *next;
	size_t size;		/* of the whole mapping */
};

struct snapwriter {
	char *dir;
	char *map;
	int single;
	int badname;
	struct snapshot *base;	/* a batch: the snapshot it starts from */
	struct chunk *chunks;
	char *cur;		/* free space in the newest chunk */
	size_t left;
	struct rec **idx;	/* one per record, in the order given */
	size_t n, cap;
	const char *last_dn;	/* interned copy of the last DN added */
	size_t dropped;
	struct timespec read_time;	/* when its data was read; 0: unknown */
	snap_key_hash_fn hashfn;	/* for OP_DELETE_HASH */
	void *hasharg;
	size_t nhashdel;
};

static const char *
rec_dn(const struct snapwriter *w, const struct rec *r)
{
	const char *dn;

	if (!w->single)
		return NULL;
	if (r->op == OP_BASE)
		return BASE_DN;
	memcpy(&dn, REC_END(r), sizeof(dn));
	return dn;
}

static void *
arena_alloc(struct snapwriter *w, size_t n)
{
	void *p;

	n = (n + 3) & ~(size_t)3;
	if (n > w->left) {
		size_t size = n + sizeof(struct chunk) > ARENA_CHUNK ?
		    ((n + sizeof(struct chunk) + 4095) & ~(size_t)4095) :
		    ARENA_CHUNK;
		struct chunk *c = big_alloc(size);

		/* A writer past its first chunk is a big one (a full
		 * build): the chunk is filled at once, its pages made
		 * present in one call, not faulted in one by one. */
		if (w->chunks != NULL)
			mem_prefault(c, size);
		c->next = w->chunks;
		c->size = size;
		w->chunks = c;
		/* A big record gets its own mapping; keep the old free
		 * space for the small ones after it. */
		if (size != ARENA_CHUNK)
			return (char *)c + sizeof(*c);
		w->cur = (char *)c + sizeof(*c);
		w->left = size - sizeof(*c);
	}
	p = w->cur;
	w->cur += n;
	w->left -= n;
	return p;
}

static void
arena_free(struct snapwriter *w)
{
	while (w->chunks) {
		struct chunk *c = w->chunks;

		w->chunks = c->next;
		big_free(c, c->size);
	}
	w->cur = NULL;
	w->left = 0;
	big_free(w->idx, w->cap * sizeof(*w->idx));
	w->idx = NULL;
	w->n = w->cap = 0;
}

static struct snapwriter *
writer_new(struct snapshot *base, const char *dir, const char *map,
    int single)
{
	struct snapwriter *w = xcalloc(1, sizeof(*w));

	w->dir = xstrdup(dir ? dir : "");
	w->map = xstrdup(map ? map : "");
	w->single = single;
	w->base = base;
	/* Refused at commit, with a message: the caller has no other way
	 * to hear about it. */
	w->badname = !snapfile_valid_map(map);
	return w;
}

struct snapwriter *
snapwriter_new(const char *dir, const char *map, int single)
{
	return writer_new(NULL, dir, map, single);
}

struct snapwriter *
snapwriter_from(struct snapshot *base, const char *dir, const char *map,
    int single)
{
	return writer_new(base, dir, map, single);
}

void
snapwriter_set_time(struct snapwriter *w, const struct timespec *t)
{
	w->read_time = *t;
}

static int
bad_bytes(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL || memchr(s, '\n', n) != NULL ||
	    memchr(s, '\r', n) != NULL;
}

static int
bad_key(const char *key, size_t klen)
{
	return klen == 0 || klen > SNAP_KEY_MAX || bad_bytes(key, klen);
}

static int
bad_val(const char *val, size_t vlen)
{
	return vlen == 0 || vlen > SNAP_VAL_MAX || bad_bytes(val, vlen);
}

static void
idx_push(struct snapwriter *w, struct rec *r)
{
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 65536;

		w->idx = big_grow(w->idx, w->cap * sizeof(*w->idx),
		    ncap * sizeof(*w->idx));
		if (w->cap)	/* the new half is filled next */
			mem_prefault(w->idx + w->cap,
			    (ncap - w->cap) * sizeof(*w->idx));
		w->cap = ncap;
	}
	w->idx[w->n++] = r;
}

/* One record (key lowercased) in the arena. */
static struct rec *
new_rec(struct snapwriter *w, enum op op, const char *key, size_t klen,
    const char *val, size_t vlen, const char *dn)
{
	int with_dn = w->single && op != OP_BASE && op != OP_DELETE_HASH;
	struct rec *r;
	char *k;

	if (with_dn) {
		/* Consecutive records mostly come from one entry: keep one
		 * copy of its DN. */
		if (dn == NULL)
			dn = "";
		if (w->last_dn == NULL || strcmp(w->last_dn, dn) != 0) {
			size_t dl = strlen(dn);
			char *d = arena_alloc(w, dl + 1);

			memcpy(d, dn, dl + 1);
			w->last_dn = d;
		}
	}
	r = arena_alloc(w, sizeof(*r) + klen + vlen +
	    (with_dn ? sizeof(const char *) : 0));
	r->klen = (unsigned)klen;
	r->op = op;
	r->vlen = (uint32_t)vlen;
	if (with_dn)
		memcpy((char *)REC_END(r), &w->last_dn, sizeof(w->last_dn));
	k = (char *)REC_KEY(r);
	for (size_t i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)key[i];

		k[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	if (vlen)
		memcpy(k + klen, val, vlen);
	return r;
}

/* ... and in the index. */
static void
put_rec(struct snapwriter *w, enum op op, const char *key, size_t klen,
    const char *val, size_t vlen, const char *dn)
{
	idx_push(w, new_rec(w, op, key, klen, val, vlen, dn));
}

void
snapwriter_add(struct snapwriter *w, const char *key, size_t klen,
    const char *val, size_t vlen, const char *dn)
{
	if (w->badname)
		return;
	if (bad_key(key, klen) || bad_val(val, vlen)) {
		w->dropped++;
		return;
	}
	put_rec(w, OP_ADD, key, klen, val, vlen, dn);
}

void
snapwriter_replace(struct snapwriter *w, const char *key, size_t klen,
    const char *val, size_t vlen, const char *dn)
{
	if (w->badname)
		return;
	if (bad_key(key, klen)) {
		w->dropped++;
		return;
	}
	if (bad_val(val, vlen)) {
		/* A build would leave the value out: nothing is left. */
		w->dropped++;
		put_rec(w, OP_DELETE, key, klen, NULL, 0, dn);
		return;
	}
	put_rec(w, OP_REPLACE, key, klen, val, vlen, dn);
}

void
snapwriter_delete(struct snapwriter *w, const char *key, size_t klen)
{
	if (w->badname || bad_key(key, klen))
		return;		/* never written, nothing to delete */
	put_rec(w, OP_DELETE, key, klen, NULL, 0, NULL);
}

void
snapwriter_key_hash(struct snapwriter *w, snap_key_hash_fn fn, void *arg)
{
	w->hashfn = fn;
	w->hasharg = arg;
}

void
snapwriter_delete_hash(struct snapwriter *w, uint64_t hash)
{
	if (w->badname)
		return;
	put_rec(w, OP_DELETE_HASH, NULL, 0, (const char *)&hash, sizeof(hash),
	    NULL);
	w->nhashdel++;
}

void
snapwriter_abort(struct snapwriter *w)
{
	if (w == NULL)
		return;
	arena_free(w);
	free(w->dir);
	free(w->map);
	free(w);
}

static int
key_cmp(const struct rec *a, const struct rec *b)
{
	return bytes_cmp(REC_KEY(a), a->klen, REC_KEY(b), b->klen);
}

/* Stable merge sort of v[0..n) with scratch t[0..n/2]. */
static void
rec_sort(struct rec **v, struct rec **t, size_t n)
{
	size_t mid, i, j, k;

	if (n <= 12) {
		for (i = 1; i < n; i++) {
			struct rec *x = v[i];

			for (j = i; j > 0 && key_cmp(v[j - 1], x) > 0; j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
		return;
	}
	mid = n / 2;
	rec_sort(v, t, mid);
	rec_sort(v + mid, t, n - mid);
	if (key_cmp(v[mid - 1], v[mid]) <= 0)
		return;		/* already in order */
	memcpy(t, v, mid * sizeof(*v));
	i = 0;
	j = mid;
	k = 0;
	while (i < mid && j < n)
		v[k++] = key_cmp(v[j], t[i]) < 0 ? v[j++] : t[i++];
	while (i < mid)
		v[k++] = t[i++];
}

/* ---- from records to cdb records ---- */

/* One value of the key at hand. */
struct val {
	const char *p;
	uint32_t len;
	const char *dn;		/* single maps only */
};

/* Where the records of a commit go. */
struct emit {
	struct snapwriter *w;
	struct cdbout *out;
	const char *tmp;	/* the file, for messages */
	snap_conflict_fn conflict;
	void *arg;
	struct val *v;		/* the values of the key at hand */
	size_t nv, cap;
	struct buf merged;
	uint64_t nrec;
	char *err;
	size_t errsz;
};

static void
val_push(struct emit *em, const char *p, uint32_t len, const char *dn)
{
	if (em->nv == em->cap) {
		em->cap = em->cap ? 2 * em->cap : 16;
		em->v = xreallocarray(em->v, em->cap, sizeof(*em->v));
	}
	em->v[em->nv].p = p;
	em->v[em->nv].len = len;
	em->v[em->nv].dn = dn;
	em->nv++;
}

static int
same_val(const struct val *a, const struct val *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

static uint64_t
val_hash(const struct val *v)
{
	const unsigned char *p = (const unsigned char *)v->p;
	uint64_t h = 1469598103934665603ULL;

	for (uint32_t i = 0; i < v->len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/*
 * Keep the first of each distinct value of v[0..n), in order: compacts v
 * in place and returns how many are left.  A key with many values (a big
 * alias list) gets a hash set rather than n*n comparisons.
 */
static size_t
distinct_values(struct val *v, size_t n)
{
	size_t out = 0, mask = 1;
	size_t *set;

	if (n <= 16) {
		for (size_t i = 0; i < n; i++) {
			size_t j;

			for (j = 0; j < out; j++)
				if (same_val(&v[j], &v[i]))
					break;
			if (j == out)
				v[out++] = v[i];
		}
		return out;
	}
	while (mask < 2 * n)
		mask <<= 1;
	set = xcalloc(mask, sizeof(*set));	/* index + 1, 0: free */
	mask--;
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)val_hash(&v[i]) & mask;

		while (set[h] != 0 && !same_val(&v[set[h] - 1], &v[i]))
			h = (h + 1) & mask;
		if (set[h] == 0) {
			v[out] = v[i];
			set[h] = ++out;
		}
	}
	free(set);
	return out;
}

static void
report_conflict(struct emit *em, const char *key, size_t klen)
{
	const char **dns;
	struct buf k = BUF_INIT;
	size_t nd = 0;

	if (em->conflict == NULL)
		return;
	dns = xreallocarray(NULL, em->nv, sizeof(*dns));
	for (size_t i = 0; i < em->nv; i++) {
		const char *dn = em->v[i].dn ? em->v[i].dn : "";
		size_t j;

		for (j = 0; j < nd; j++)
			if (dns[j] == dn || strcmp(dns[j], dn) == 0)
				break;
		if (j == nd)
			dns[nd++] = dn;
	}
	buf_append(&k, key, klen);
	em->conflict(em->w->map, buf_str(&k), dns, nd, em->arg);
	buf_free(&k);
	free(dns);
}

/* Room in the file for one more record of klen + vlen bytes: data, then
 * two hash slots (16 bytes) per record.  0, or -1 with err. */
static int
limit_ok(struct emit *em, size_t klen, uint64_t vlen)
{
	uint64_t dpos = cdbout_pos(em->out);

	if (8 + klen + vlen > CDB_LIMIT - dpos ||
	    16 * (em->nrec + 1) > CDB_LIMIT - dpos - 8 - klen - vlen)
		return log_errf(em->err, em->errsz, "snapshot of map %s would "
		    "exceed the 4 GiB limit of a cdb file", em->w->map);
	return 0;
}

/* The values of em->v become key's cdb record (or, in a single map with
 * several of them, a reported conflict).  0, or -1 with err. */
static int
emit_key(struct emit *em, const char *key, size_t klen)
{
	const char *val;
	uint64_t vlen;
	size_t nd;

	if (em->nv == 0)
		return 0;
	if (em->w->single) {
		/* All the same value, or a conflict reported with every
		 * value's DN: nothing is compacted away. */
		for (size_t j = 1; j < em->nv; j++)
			if (!same_val(&em->v[0], &em->v[j])) {
				report_conflict(em, key, klen);
				return 0;
			}
		nd = 1;
	} else {
		nd = distinct_values(em->v, em->nv);
	}
	if (nd == 1) {
		val = em->v[0].p;
		vlen = em->v[0].len;
	} else {
		buf_reset(&em->merged);
		for (size_t j = 0; j < nd; j++) {
			if (j > 0)
				buf_putc(&em->merged, ',');
			buf_append(&em->merged, em->v[j].p, em->v[j].len);
		}
		val = em->merged.p;
		vlen = em->merged.len;
	}
	if (limit_ok(em, klen, vlen) != 0)
		return -1;
	if (cdbout_add(em->out, key, klen, val, vlen) != 0)
		return log_errf(em->err, em->errsz, "writing %s: %s", em->tmp,
		    strerror(errno));
	em->nrec++;
	return 0;
}

/*
 * The records of one key, in order, on top of a base value (bval, or
 * NULL), into em->v: add one value, replace by one, delete all.  Only the
 * first record of the base counts (cdb answers the first of a key twice).
 */
static void
apply_run(struct emit *em, const char *bval, uint32_t bvlen,
    struct rec *const *g, size_t n)
{
	struct snapwriter *w = em->w;
	int based = bval != NULL;

	em->nv = 0;
	if (bval != NULL) {
		if (bad_val(bval, bvlen))
			w->dropped++;
		else
			val_push(em, bval, bvlen, w->single ? BASE_DN : NULL);
	}
	for (size_t i = 0; i < n; i++) {
		const struct rec *r = g[i];

		switch ((enum op)r->op) {
		case OP_BASE:
			if (based)
				break;
			based = 1;
			/* FALLTHROUGH */
		case OP_ADD:
			val_push(em, REC_VAL(r), r->vlen, rec_dn(w, r));
			break;
		case OP_REPLACE:
			em->nv = 0;
			val_push(em, REC_VAL(r), r->vlen, rec_dn(w, r));
			break;
		case OP_DELETE:
		case OP_DELETE_HASH:	/* resolved to OP_DELETE before */
			em->nv = 0;
			break;
		}
	}
}

/* How many records from idx[i] on share its key. */
static size_t
run_len(const struct snapwriter *w, size_t i)
{
	size_t n = 1;

	while (i + n < w->n && key_cmp(w->idx[i], w->idx[i + n]) == 0)
		n++;
	return n;
}

/* The records from idx[*i] on, one cdb record per key, up to the first
 * key not before key (key NULL: to the end).  0, or -1 with err. */
static int
emit_before(struct emit *em, size_t *i, const char *key, size_t klen)
{
	struct snapwriter *w = em->w;

	while (*i < w->n) {
		const struct rec *r = w->idx[*i];
		size_t n;

		if (key != NULL && bytes_cmp(REC_KEY(r), r->klen, key,
		    klen) >= 0)
			break;
		n = run_len(w, *i);
		apply_run(em, NULL, 0, w->idx + *i, n);
		*i += n;
		if (emit_key(em, REC_KEY(r), r->klen) != 0)
			return -1;
	}
	return 0;
}

static int
base_damaged(const struct snapwriter *w, char *err, size_t errsz)
{
	return log_errf(err, errsz, "the snapshot %s the changes apply to is "
	    "damaged", snapshot_path(w->base));
}

/* A batch: the base, in its (key) order, merged with the sorted changes. */
struct merge {
	struct emit *em;
	size_t i;		/* next change */
	int failed;		/* writing failed (err set) */
};

static int
merge_base(const char *key, size_t klen, const char *val, size_t vlen,
    void *arg)
{
	struct merge *mg = arg;
	struct snapwriter *w = mg->em->w;
	size_t n = 0;

	if (emit_before(mg->em, &mg->i, key, klen) != 0)
		goto fail;
	if (mg->i < w->n && bytes_cmp(REC_KEY(w->idx[mg->i]),
	    w->idx[mg->i]->klen, key, klen) == 0)
		n = run_len(w, mg->i);
	if (n == 0 && val == key + klen && !bad_val(val, vlen)) {
		/* No change to it: the base's record, bytes as they are
		 * (what apply_run and emit_key would make of it). */
		if (limit_ok(mg->em, klen, vlen) != 0)
			goto fail;
		if (cdbout_copy(mg->em->out, key - 8, klen, vlen) != 0) {
			log_errf(mg->em->err, mg->em->errsz, "writing %s: %s",
			    mg->em->tmp, strerror(errno));
			goto fail;
		}
		mg->em->nrec++;
		return 0;
	}
	apply_run(mg->em, val, (uint32_t)vlen, w->idx + mg->i, n);
	mg->i += n;
	if (emit_key(mg->em, key, klen) != 0)
		goto fail;
	return 0;
fail:
	mg->failed = 1;
	return 1;
}

static int
write_merged(struct emit *em)
{
	struct merge mg = { em, 0, 0 };
	/* No copies: merge_base reads the base's bytes in place. */
	int r = snapshot_walk(em->w->base, merge_base, &mg);

	if (mg.failed)
		return -1;
	if (r != 0)
		return base_damaged(em->w, em->err, em->errsz);
	return emit_before(em, &mg.i, NULL, 0);
}

/* A base in another order: its records go into the arena, before the
 * changes, and everything is sorted together. */
static int
base_rec(const char *key, size_t klen, const char *val, size_t vlen,
    void *arg)
{
	struct snapwriter *w = arg;

	if (bad_key(key, klen) || bad_val(val, vlen))
		w->dropped++;
	else
		put_rec(w, OP_BASE, key, klen, val, vlen, NULL);
	return 0;
}

static int
load_base(struct snapwriter *w, char *err, size_t errsz)
{
	size_t n = w->n, sz = (n ? n : 1) * sizeof(*w->idx);
	struct rec **changes = big_alloc(sz);
	int r;

	if (n > 0)
		memcpy(changes, w->idx, n * sizeof(*w->idx));
	w->n = 0;
	r = snapshot_foreach(w->base, base_rec, w);
	for (size_t i = 0; i < n; i++)
		idx_push(w, changes[i]);
	big_free(changes, sz);
	return r != 0 ? base_damaged(w, err, errsz) : 0;
}

/*
 * Deletes named by hash become deletes of the keys they name, where they
 * stand in the batch: every key of the base and of the batch is hashed
 * once and looked up among the hashes deleted.  A hash that names two
 * different keys is refused whole (2): deleting both would lose an
 * answer, guessing one might keep a wrong one.
 */
struct hmatch {
	uint64_t hash;
	const char *key;	/* in the arena */
	size_t klen;
};

struct resolve {
	struct snapwriter *w;
	uint64_t *want;		/* the hashes deleted, sorted */
	size_t nwant;
	struct hmatch *m;
	size_t nm, cap;
};

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int
hmatch_hash_cmp(const void *a, const void *b)
{
	const struct hmatch *x = a, *y = b;

	return (x->hash > y->hash) - (x->hash < y->hash);
}

static int
hmatch_cmp(const void *a, const void *b)
{
	const struct hmatch *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return bytes_cmp(x->key, x->klen, y->key, y->klen);
}

static void
match_key(struct resolve *rv, const char *key, size_t klen, int copy)
{
	uint64_t h = rv->w->hashfn(key, klen, rv->w->hasharg);

	if (bsearch(&h, rv->want, rv->nwant, sizeof(*rv->want),
	    u64_cmp) == NULL)
		return;
	if (copy) {
		char *c = arena_alloc(rv->w, klen);

		memcpy(c, key, klen);
		key = c;
	}
	if (rv->nm == rv->cap) {
		rv->cap = rv->cap ? 2 * rv->cap : 64;
		rv->m = xreallocarray(rv->m, rv->cap, sizeof(*rv->m));
	}
	rv->m[rv->nm].hash = h;
	rv->m[rv->nm].key = key;
	rv->m[rv->nm].klen = klen;
	rv->nm++;
}

static int
match_base(const char *key, size_t klen, const char *val, size_t vlen,
    void *arg)
{
	match_key(arg, key, klen, 1);
	return 0;
}

/* 0, -1 with err, or 2 with err (a hash names two keys). */
static int
resolve_hashes(struct snapwriter *w, char *err, size_t errsz)
{
	struct resolve rv = { w, NULL, 0, NULL, 0, 0 };
	size_t i, k, n;
	int rc = -1;

	if (w->hashfn == NULL)
		return log_errf(err, errsz, "map %s: deletes by hash without "
		    "a key hash (snapwriter_key_hash)", w->map);
	rv.want = xreallocarray(NULL, w->nhashdel, sizeof(*rv.want));
	for (i = 0; i < w->n; i++)
		if (w->idx[i]->op == OP_DELETE_HASH)
			memcpy(&rv.want[rv.nwant++], REC_VAL(w->idx[i]),
			    sizeof(uint64_t));
	qsort(rv.want, rv.nwant, sizeof(*rv.want), u64_cmp);
	for (i = 0, n = w->n; i < n; i++)
		if (w->idx[i]->op != OP_DELETE_HASH)
			match_key(&rv, REC_KEY(w->idx[i]), w->idx[i]->klen, 0);
	if (w->base && snapshot_walk(w->base, match_base, &rv) != 0) {
		base_damaged(w, err, errsz);
		goto out;
	}
	/* No hash matched: rv.m is NULL, which qsort and bsearch refuse. */
	if (rv.nm > 0)
		qsort(rv.m, rv.nm, sizeof(*rv.m), hmatch_cmp);
	for (i = k = 0; i < rv.nm; i++) {
		if (k > 0 && hmatch_cmp(&rv.m[k - 1], &rv.m[i]) == 0)
			continue;	/* the same key again */
		if (k > 0 && rv.m[k - 1].hash == rv.m[i].hash) {
			rc = 2;
			log_errf(err, errsz, "map %s: a deleted key hash names "
			    "two keys; a full rebuild is needed", w->map);
			goto out;
		}
		rv.m[k++] = rv.m[i];
	}
	rv.nm = k;
	/* Each hash delete becomes the delete of its key, or nothing. */
	for (i = k = 0; i < w->n; i++) {
		struct rec *r = w->idx[i];

		if (r->op == OP_DELETE_HASH) {
			struct hmatch key = { 0, NULL, 0 }, *hit;

			memcpy(&key.hash, REC_VAL(r), sizeof(key.hash));
			hit = rv.nm == 0 ? NULL : bsearch(&key, rv.m, rv.nm,
			    sizeof(*rv.m), hmatch_hash_cmp);
			if (hit == NULL)
				continue;
			r = new_rec(w, OP_DELETE, hit->key, hit->klen, NULL, 0,
			    NULL);
		}
		w->idx[k++] = r;
	}
	w->n = k;
	rc = 0;
out:
	free(rv.want);
	free(rv.m);
	return rc;
}

/* Every sorted record of the index, one cdb record per key. */
static int
write_sorted(struct emit *em)
{
	size_t i = 0;

	return emit_before(em, &i, NULL, 0);
}

static void
sort_index(struct snapwriter *w)
{
	/* The merge copies out only the left half of a run. */
	size_t tmpsz = (w->n / 2 + 1) * sizeof(struct rec *);
	struct rec **tmp = big_alloc(tmpsz);

	rec_sort(w->idx, tmp, w->n);
	big_free(tmp, tmpsz);
}

struct commit {
	char path[PATH_MAX];	/* final names */
	char dpath[PATH_MAX];
	char tmp[PATH_MAX];	/* temporaries, "" once gone */
	char dtmp[PATH_MAX];
	int fd, dfd, dirfd;
};

static int
make_temp(char *tmpl, int *fd, char *err, size_t errsz)
{
	*fd = mkostemp(tmpl, O_CLOEXEC);
	if (*fd < 0) {
		int e = errno;

		log_errf(err, errsz,
		    "cannot create a temporary file like %s: %s",
		    tmpl, strerror(e));
		tmpl[0] = '\0';
		return -1;
	}
	if (fchmod(*fd, 0640) != 0) {
		log_errf(err, errsz, "chmod %s: %s", tmpl, strerror(errno));
		return -1;
	}
	return 0;
}

static void
commit_cleanup(struct commit *cc)
{
	if (cc->fd >= 0)
		close(cc->fd);
	if (cc->dfd >= 0)
		close(cc->dfd);
	if (cc->tmp[0])
		unlink(cc->tmp);
	if (cc->dtmp[0])
		unlink(cc->dtmp);
	if (cc->dirfd >= 0)
		close(cc->dirfd);
}

/* The snapshot in place was read after ours (both with read times). */
static int
superseded(const struct commit *cc, const struct snapwriter *w)
{
	struct stat st;

	if (w->read_time.tv_sec == 0 || stat(cc->path, &st) != 0)
		return 0;
	return st.st_mtim.tv_sec > w->read_time.tv_sec ||
	    (st.st_mtim.tv_sec == w->read_time.tv_sec &&
	    st.st_mtim.tv_nsec > w->read_time.tv_nsec);
}

/*
 * Put the digest and then the cdb in place.  The old digest is kept (at
 * the temporary name, by RENAME_EXCHANGE, or in memory) until the cdb is
 * in place, so that a failure leaves the old pair as it was.
 */
static int
install(struct commit *cc, char *err, size_t errsz)
{
	char old[DIGEST_MAX];
	ssize_t oldlen = -1;
	int exchanged = 0, e;

	if (renameat2(AT_FDCWD, cc->dtmp, AT_FDCWD, cc->dpath,
	    RENAME_EXCHANGE) == 0) {
		exchanged = 1;	/* cc->dtmp now holds the old digest */
	} else if (errno == ENOENT) {
		oldlen = -1;	/* no old digest: nothing to restore */
		if (rename(cc->dtmp, cc->dpath) != 0)
			goto fail_digest;
		cc->dtmp[0] = '\0';
	} else if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
		int ofd = open(cc->dpath, O_RDONLY | O_CLOEXEC);

		if (ofd >= 0) {
			oldlen = snapfile_pread(ofd, old, sizeof(old), 0);
			close(ofd);
		}
		if (rename(cc->dtmp, cc->dpath) != 0)
			goto fail_digest;
		cc->dtmp[0] = '\0';
	} else {
		goto fail_digest;
	}

	if (rename(cc->tmp, cc->path) == 0) {
		cc->tmp[0] = '\0';
		return 0;	/* cleanup unlinks the old digest if swapped */
	}
	e = errno;
	log_errf(err, errsz, "cannot rename %s to %s: %s", cc->tmp, cc->path,
	    strerror(e));
	if (exchanged) {
		if (renameat2(AT_FDCWD, cc->dtmp, AT_FDCWD, cc->dpath,
		    RENAME_EXCHANGE) != 0) {
			log_error("%s: could not put the old digest back (%s); "
			    "it is kept in %s", cc->dpath, strerror(errno),
			    cc->dtmp);
			cc->dtmp[0] = '\0';	/* keep it */
			return -1;
		}
	} else if (oldlen < 0) {
		if (unlink(cc->dpath) != 0 && errno != ENOENT)
			goto fail_restore;
	} else {
		char tmpl[PATH_MAX];
		int fd, ok;

		if (snprintf(tmpl, sizeof(tmpl), "%s.XXXXXX", cc->dpath) >=
		    (int)sizeof(tmpl) || (fd = mkostemp(tmpl, O_CLOEXEC)) < 0)
			goto fail_restore;
		ok = fchmod(fd, 0640) == 0 &&
		    snapfile_write(fd, old, (size_t)oldlen) == 0 &&
		    fsync(fd) == 0;
		if (close(fd) != 0)
			ok = 0;
		if (!ok || rename(tmpl, cc->dpath) != 0) {
			unlink(tmpl);
			goto fail_restore;
		}
	}
	return -1;
fail_digest:
	log_errf(err, errsz, "cannot rename %s to %s: %s", cc->dtmp, cc->dpath,
	    strerror(errno));
	return -1;
fail_restore:
	log_error("%s: could not put the old digest back (%s): the old "
	    "snapshot will read as damaged", cc->dpath, strerror(errno));
	return -1;
}

/*
 * Temporary files of this map that a crashed writer left behind, older
 * than STALE_AGE (a commit takes seconds): ".<map>.cdb.XXXXXX" and
 * ".<map>.cdb.sha256.XXXXXX".
 */
static void
remove_stale(int dirfd, const char *map)
{
	size_t ml = strlen(map);
	time_t now = time(NULL);
	struct dirent *e;
	DIR *d;
	int fd = dup(dirfd);

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name, *rest;
		struct stat st;

		if (n[0] != '.' || strncmp(n + 1, map, ml) != 0)
			continue;
		rest = n + 1 + ml;
		if (strncmp(rest, ".cdb.", 5) == 0)
			rest += 5;
		else
			continue;
		if (strncmp(rest, "sha256.", 7) == 0)
			rest += 7;
		if (strlen(rest) != 6)
			continue;
		if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_mtime > now - STALE_AGE)
			continue;
		if (unlinkat(dirfd, n, 0) == 0)
			log_info("removed %s, left by an interrupted snapshot "
			    "build", n);
	}
	closedir(d);
}

/* fsync(2) of a file, in a thread of its own while the file is digested. */
struct fsync_job {
	int fd;
	int rc;
	int err;
};

static void *
fsync_thread(void *arg)
{
	struct fsync_job *fs = arg;

	fs->rc = fsync(fs->fd);
	fs->err = fs->rc != 0 ? errno : 0;
	return NULL;
}

int
snapwriter_commit(struct snapwriter *w, snap_conflict_fn conflict,
    void *arg, char *err, size_t errsz)
{
	return snapwriter_commit_open(w, conflict, arg, NULL, err, errsz);
}

int
snapwriter_commit_open(struct snapwriter *w, snap_conflict_fn conflict,
    void *arg, struct snapshot **out, char *err, size_t errsz)
{
	struct snapshot *mine = NULL;
	struct commit cc;
	struct emit em;
	struct fsync_job fs;
	pthread_t fs_thread;
	int fsyncing = 0;
	unsigned char md[32];
	char line[SNAP_NAME_MAX + 80];
	int rc = -1, locked, r, merge = 0;
	double t[9];

	t[0] = clock_ms();
	if (out != NULL)
		*out = NULL;
	memset(&cc, 0, sizeof(cc));
	memset(&em, 0, sizeof(em));
	cc.fd = cc.dfd = cc.dirfd = -1;
	if (w->badname) {
		log_errf(err, errsz, "invalid map name (letters, digits, _ - . "
		    "only, not first .)");
		goto out;
	}
	if (snapfile_path(cc.path, sizeof(cc.path), w->dir, "", w->map,
	    ".cdb") || snapfile_path(cc.dpath, sizeof(cc.dpath), w->dir, "",
	    w->map, ".cdb.sha256") || snapfile_path(cc.tmp, sizeof(cc.tmp),
	    w->dir, ".", w->map, ".cdb.XXXXXX") || snapfile_path(cc.dtmp,
	    sizeof(cc.dtmp), w->dir, ".", w->map, ".cdb.sha256.XXXXXX")) {
		log_errf(err, errsz, "path of map %s in %.100s is too long",
		    w->map, w->dir);
		cc.tmp[0] = cc.dtmp[0] = '\0';
		goto out;
	}
	cc.dtmp[0] = '\0';	/* not made yet */
	if (w->nhashdel > 0 && (r = resolve_hashes(w, err, errsz)) != 0) {
		rc = r;
		cc.tmp[0] = '\0';
		goto out;
	}
	if (w->base) {
		/* Streamed when in key order, else sorted with the changes. */
		merge = snapshot_sorted(w->base);
		if (!merge && load_base(w, err, errsz) != 0) {
			cc.tmp[0] = '\0';
			goto out;
		}
	}
	sort_index(w);
	t[1] = clock_ms();

	cc.dirfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cc.dirfd < 0) {
		log_errf(err, errsz, "cannot open directory %s: %s", w->dir,
		    strerror(errno));
		cc.tmp[0] = '\0';
		goto out;
	}
	if (make_temp(cc.tmp, &cc.fd, err, errsz) != 0)
		goto out;
	em.out = cdbout_new(cc.fd);
	em.w = w;
	em.tmp = cc.tmp;
	em.conflict = conflict;
	em.arg = arg;
	em.err = err;
	em.errsz = errsz;
	if (merge)
		r = write_merged(&em);
	else
		r = write_sorted(&em);
	if (w->dropped)
		log_warn("map %s: %zu empty, oversized or control-character "
		    "keys or values were left out", w->map, w->dropped);
	/* The records are in the file: give their memory back before
	 * tinycdb allocates its hash tables. */
	arena_free(w);
	t[2] = clock_ms();
	if (r == 0 && cdbout_finish(em.out) != 0) {
		log_errf(err, errsz, "writing %s: %s", cc.tmp, strerror(errno));
		r = -1;
	}
	if (r != 0)
		goto out;
	t[3] = clock_ms();
	if (w->read_time.tv_sec != 0) {
		/* The file's mtime says when its data was read. */
		struct timespec ts[2] = { w->read_time, w->read_time };

		if (futimens(cc.fd, ts) != 0) {
			log_errf(err, errsz, "futimens %s: %s", cc.tmp,
			    strerror(errno));
			goto out;
		}
	}
	/* The disk works (fsync, in a thread) while the file is digested
	 * here: both must be done before the digest file is written. */
	fs.fd = cc.fd;
	fs.rc = -1;
	fs.err = 0;
	fsyncing = pthread_create(&fs_thread, NULL, fsync_thread, &fs) == 0;
	if (!fsyncing)
		fsync_thread(&fs);
	/* Mapped once: digested in place (no copy into a buffer), and
	 * given back open when asked.  Its keys went out strictly
	 * increasing, one record each. */
	t[4] = clock_ms();
	if (snapshot_adopt(cc.path, cc.fd, (size_t)em.nrec, 1, &mine, err,
	    errsz) != SNAP_OK)
		goto out;
	if (snapshot_sha256(mine, md) != 0) {
		log_errf(err, errsz, "reading back %s: %s", cc.tmp,
		    errno ? strerror(errno) : "damaged");
		goto out;
	}
	t[8] = clock_ms();
	if (fsyncing) {
		pthread_join(fs_thread, NULL);
		fsyncing = 0;
	}
	if (fs.rc != 0) {
		log_errf(err, errsz, "fsync %s: %s", cc.tmp,
		    strerror(fs.err));
		goto out;
	}
	if (out == NULL) {
		snapshot_close(mine);
		mine = NULL;
	}
	if (close(cc.fd) != 0) {
		cc.fd = -1;
		log_errf(err, errsz, "closing %s: %s", cc.tmp, strerror(errno));
		goto out;
	}
	cc.fd = -1;

	t[5] = clock_ms();
	r = snapfile_digest_line(md, w->map, line, sizeof(line));
	if (r < 0) {
		log_errf(err, errsz, "digest line too long");
		goto out;
	}
	if (snapfile_path(cc.dtmp, sizeof(cc.dtmp), w->dir, ".", w->map,
	    ".cdb.sha256.XXXXXX") != 0 ||
	    make_temp(cc.dtmp, &cc.dfd, err, errsz) != 0)
		goto out;
	if (snapfile_write(cc.dfd, line, (size_t)r) != 0 ||
	    fsync(cc.dfd) != 0) {
		log_errf(err, errsz,
		    "writing %s: %s", cc.dtmp, strerror(errno));
		goto out;
	}
	if (close(cc.dfd) != 0) {
		cc.dfd = -1;
		log_errf(err, errsz,
		    "closing %s: %s", cc.dtmp, strerror(errno));
		goto out;
	}
	cc.dfd = -1;

	/*
	 * Two writers of one map (the daemon and a `lookupd sync`) must not
	 * interleave their renames, or one's digest would end up beside the
	 * other's file.  Best effort: some file systems refuse flock on a
	 * directory.
	 */
	t[6] = clock_ms();
	while ((r = flock(cc.dirfd, LOCK_EX)) != 0 && errno == EINTR)
		;
	locked = r == 0;
	if (w->base && strcmp(snapshot_path(w->base), cc.path) == 0 &&
	    snapshot_changed(w->base) == 1) {
		/* Another file took the base's place: ours would undo it. */
		if (locked)
			(void)flock(cc.dirfd, LOCK_UN);
		log_errf(err, errsz, "snapshot %s was replaced since the "
		    "changes began from it", cc.path);
		rc = 1;
		goto out;
	}
	if (superseded(&cc, w)) {
		/* Another writer read the directory after we did: its
		 * snapshot stays, ours is dropped (cleanup unlinks it). */
		if (locked)
			(void)flock(cc.dirfd, LOCK_UN);
		log_info("snapshot %s: a newer one is already in place, "
		    "kept", cc.path);
		rc = 0;
		goto out;
	}
	r = install(&cc, err, errsz);
	if (locked)
		(void)flock(cc.dirfd, LOCK_UN);
	if (r != 0)
		goto out;
	remove_stale(cc.dirfd, w->map);
	if (fsync(cc.dirfd) != 0)
		/* Both files are in place and complete; only their names
		 * might not survive a crash. */
		log_warn("fsync of directory %s: %s", w->dir, strerror(errno));
	t[7] = clock_ms();
	log_debug("snapshot %s: %llu records: resolve+sort %.0f, write %.0f, tables "
	    "%.0f, digest %.0f (fsync beside it, %.0f more), digest file "
	    "%.0f, rename %.0f ms",
	    w->map, (unsigned long long)em.nrec, t[1] - t[0], t[2] - t[1],
	    t[3] - t[2], t[8] - t[4], t[5] - t[8], t[6] - t[5], t[7] - t[6]);
	rc = 0;
	if (out != NULL) {
		*out = mine;
		mine = NULL;
	}
out:
	if (fsyncing)
		pthread_join(fs_thread, NULL);
	snapshot_close(mine);
	cdbout_free(em.out);
	commit_cleanup(&cc);
	buf_free(&em.merged);
	free(em.v);
	snapwriter_abort(w);
	return rc;
}
