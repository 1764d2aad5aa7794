/*
 * t_snapwriter: the writer's batch interface (lookupd/snapwriter.c)
 * against a full rebuild.  A snapshot of 100,000 keys gets a batch of
 * adds (new keys, one more value for a key, a value it already has),
 * replaces, deletes (of keys that exist and of keys that do not),
 * delete-then-add and replace-then-add of one key, and a replace by a
 * value no snapshot may hold; the same changes are applied to a model
 * of the data, which is then built whole.  The two files must be the
 * same bytes, and so their digests.  Also: a single map's conflict
 * between the snapshot and a change (left out both ways, reported with
 * the DNs), a base in another order than the writer's (made by tinycdb
 * directly, a key twice), a base replaced while the batch was prepared
 * (nothing written, 1), a base read after the batch's data (kept), and
 * a damaged base (refused, nothing replaced); snapwriter_commit_open's
 * file given back open, as the base of the next batch.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdb.h>

#include "common/buf.h"
#include "common/log.h"
#include "lookupd/snapfile.h"
#include "lookupd/snapshot.h"
#include "lookupd/snapwriter.h"
#include "unit.h"

#define NBASE	100000
#define NNEW	1000
#define NK	(NBASE + NNEW)
#define MAXV	4

static char top[256];

/* The model: per key index, its values (ids), in order. */
static int nv[NK];
static int val[NK][MAXV];

static void
key_of(int k, char *out, size_t n)
{
	snprintf(out, n, "user%06d@dom%d.test", k, k % 7);
}

static void
val_of(int id, char *out, size_t n)
{
	snprintf(out, n, "v%d@x.test", id);
}

static void
dir_of(char *out, size_t n, const char *name)
{
	int r = snprintf(out, n, "%s/%s", top, name);

	unit_must(r > 0 && (size_t)r < n && mkdir(out, 0755) == 0, name);
}

/* Whole file into b; -1 if it cannot be read. */
static int
slurp(const char *dir, const char *name, struct buf *b)
{
	char p[1024], chunk[65536];
	ssize_t r;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	buf_reset(b);
	if ((fd = open(p, O_RDONLY)) < 0)
		return -1;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(b, chunk, (size_t)r);
	close(fd);
	return r < 0 ? -1 : 0;
}

/* dir a's map.cdb and digest into dir b. */
static void
copy_files(const char *a, const char *b, const char *map)
{
	struct buf x = BUF_INIT;
	char name[128], p[1024];
	int fd;

	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s.cdb%s", map,
		    i ? ".sha256" : "");
		snprintf(p, sizeof(p), "%s/%s", b, name);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);
		unit_must(slurp(a, name, &x) == 0 && fd >= 0 &&
		    write(fd, x.p, x.len) == (ssize_t)x.len, "copy");
		close(fd);
	}
	buf_free(&x);
}

/* dir/map.cdb and its digest are the same bytes in both dirs. */
static int
same_files(const char *a, const char *b, const char *map)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	char name[128];
	int same = 1;

	for (int i = 0; i < 2 && same; i++) {
		snprintf(name, sizeof(name), "%s.cdb%s", map,
		    i ? ".sha256" : "");
		same = slurp(a, name, &x) == 0 && slurp(b, name, &y) == 0 &&
		    x.len == y.len && memcmp(x.p, y.p, x.len) == 0;
	}
	buf_free(&x);
	buf_free(&y);
	return same;
}

/* A full build of the model into dir. */
static int
build_model(const char *dir, const char *map, int single)
{
	struct snapwriter *w = snapwriter_new(dir, map, single);
	char k[64], v[64], err[512];

	for (int i = 0; i < NK; i++) {
		key_of(i, k, sizeof(k));
		for (int j = 0; j < nv[i]; j++) {
			val_of(val[i][j], v, sizeof(v));
			snapwriter_add(w, k, strlen(k), v, strlen(v), "cn=m");
		}
	}
	return snapwriter_commit(w, NULL, NULL, err, sizeof(err));
}

static void
m_add(int k, int id)
{
	for (int j = 0; j < nv[k]; j++)
		if (val[k][j] == id)
			return;
	unit_must(nv[k] < MAXV, "model: too many values");
	val[k][nv[k]++] = id;
}

/* Each change to the model and to w. */
static void
add(struct snapwriter *w, int k, int id)
{
	char ks[64], vs[64];

	key_of(k, ks, sizeof(ks));
	val_of(id, vs, sizeof(vs));
	snapwriter_add(w, ks, strlen(ks), vs, strlen(vs), "cn=add");
	m_add(k, id);
}

static void
replace(struct snapwriter *w, int k, int id)
{
	char ks[64], vs[64];

	key_of(k, ks, sizeof(ks));
	val_of(id, vs, sizeof(vs));
	/* Upper case: the writer lowercases keys, as a build does. */
	ks[0] = 'U';
	snapwriter_replace(w, ks, strlen(ks), vs, strlen(vs), "cn=rep");
	nv[k] = 0;
	m_add(k, id);
}

static void
del(struct snapwriter *w, int k)
{
	char ks[64];

	key_of(k, ks, sizeof(ks));
	snapwriter_delete(w, ks, strlen(ks));
	nv[k] = 0;
}

static uint64_t rnd = 88172645463325252ULL;

static int
pick(int n)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return (int)(rnd % (uint64_t)n);
}

static void
test_batch_equals_rebuild(void)
{
	char a[512], b[512], ks[64], err[512];
	struct snapshot *base;
	struct snapwriter *w;
	int rc, id = 10000000;

	dir_of(a, sizeof(a), "batch");
	dir_of(b, sizeof(b), "rebuild");
	memset(nv, 0, sizeof(nv));
	for (int i = 0; i < NBASE; i++) {
		m_add(i, 2 * i);
		if (i % 50 == 0)
			m_add(i, 2 * i + 1);	/* a key with two values */
	}
	unit_must(build_model(a, "alias", 0) == 0, "the base snapshot");
	CHECK("batch: the base opens",
	    snapshot_open(a, "alias", &base, err, sizeof(err)) == SNAP_OK &&
	    snapshot_count(base) == NBASE);
	CHECK("batch: the writer's file is in key order (streamed)",
	    base != NULL && snapshot_sorted(base) == 1);

	w = snapwriter_from(base, a, "alias", 0);
	for (int j = 0; j < 1500; j++)
		replace(w, pick(NBASE), id++);
	for (int j = 0; j < 1500; j++)
		del(w, pick(NBASE));
	for (int j = 0; j < NNEW; j++)
		add(w, NBASE + j, id++);
	for (int j = 0; j < 500; j++)
		add(w, pick(NBASE), id++);	/* one more value */
	for (int j = 0; j < 200; j++) {
		int k = pick(NBASE);

		del(w, k);
		add(w, k, id++);
	}
	for (int j = 0; j < 200; j++) {
		int k = pick(NBASE);

		replace(w, k, id++);
		add(w, k, id++);
	}
	for (int j = 0, done = 0; done < 100 && j < 10000; j++) {
		int k = pick(NBASE);

		if (nv[k] == 1) {	/* a value it already has */
			add(w, k, val[k][0]);
			done++;
		}
	}
	for (int j = 0; j < 100; j++) {
		snprintf(ks, sizeof(ks), "nosuch%d@dom.test", j);
		snapwriter_delete(w, ks, strlen(ks));
	}
	for (int j = 0; j < 50; j++) {
		int k = pick(NBASE);

		key_of(k, ks, sizeof(ks));
		snapwriter_replace(w, ks, strlen(ks), "bad\nvalue", 9, "cn=b");
		nv[k] = 0;	/* a build leaves the value out */
	}
	rc = snapwriter_commit(w, NULL, NULL, err, sizeof(err));
	CHECK("batch: the commit succeeds", rc == 0);
	snapshot_close(base);

	unit_must(build_model(b, "alias", 0) == 0, "the rebuild");
	CHECK("batch: the new file is the rebuild's, byte for byte, and so "
	    "is its digest", same_files(a, b, "alias"));
	CHECK("batch: it verifies",
	    snapshot_open(a, "alias", &base, err, sizeof(err)) == SNAP_OK);
	if (base) {
		size_t n = 0;

		for (int i = 0; i < NK; i++)
			n += nv[i] > 0;
		CHECK("batch: the model's number of keys",
		    snapshot_count(base) == n);
		snapshot_close(base);
	}
}

struct conflicts {
	int calls;
	struct buf text;
};

static void
on_conflict(const char *map, const char *key, const char *const *dns,
    size_t ndns, void *arg)
{
	struct conflicts *c = arg;

	c->calls++;
	buf_printf(&c->text, "%s %s:", map, key);
	for (size_t i = 0; i < ndns; i++)
		buf_printf(&c->text, "%s %s", i ? ";" : "", dns[i]);
	buf_putc(&c->text, '\n');
}

static void
test_single(void)
{
	char a[512], b[512], err[512];
	struct snapshot *base;
	struct snapwriter *w;
	struct conflicts c = { 0, BUF_INIT };
	const char *v;
	size_t vl;

	dir_of(a, sizeof(a), "single-batch");
	dir_of(b, sizeof(b), "single-rebuild");
	memset(nv, 0, sizeof(nv));
	for (int i = 0; i < 1000; i++)
		m_add(i, i);
	unit_must(build_model(a, "mailbox", 1) == 0, "a single base");
	unit_must(snapshot_open(a, "mailbox", &base, err, sizeof(err)) ==
	    SNAP_OK,
	    "open the single base");
	w = snapwriter_from(base, a, "mailbox", 1);
	add(w, 5, 77777);	/* a second account with this address */
	replace(w, 6, 66666);
	add(w, 7, 7);		/* the value it has */
	CHECK("single: the commit succeeds",
	    snapwriter_commit(w, on_conflict, &c, err, sizeof(err)) == 0);
	snapshot_close(base);
	CHECK_MEM("single: the conflict is reported with both DNs", c.text.p,
	    c.text.len, "mailbox user000005@dom5.test: (snapshot: DN not "
	    "recorded); cn=add\n");
	unit_must(build_model(b, "mailbox", 1) == 0, "the single rebuild");
	CHECK("single: the key is left out as a rebuild leaves it out, byte "
	    "for byte", same_files(a, b, "mailbox"));
	unit_must(snapshot_open(a, "mailbox", &base, err, sizeof(err)) ==
	    SNAP_OK,
	    "open the result");
	CHECK("single: user000005 is not answered",
	    snapshot_get(base, "user000005@dom5.test", 20, &v, &vl) == 0);
	snapshot_close(base);
	buf_free(&c.text);
}

/* A cdb of the model's first n keys in descending order, key 3 twice
 * (the first answers), with its digest: not made by this writer. */
static void
foreign_base(const char *dir, int n)
{
	char p[1024], k[64], v[64], line[256];
	unsigned char md[32];
	struct cdb_make cm;
	uint64_t total;
	int fd, len;

	snprintf(p, sizeof(p), "%s/alias.cdb", dir);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0640);
	unit_must(fd >= 0 && cdb_make_start(&cm, fd) == 0, "foreign cdb");
	for (int i = n - 1; i >= 0; i--) {
		key_of(i, k, sizeof(k));
		val_of(val[i][0], v, sizeof(v));
		unit_must(cdb_make_add(&cm, k, (unsigned)strlen(k), v,
		    (unsigned)strlen(v)) == 0, "cdb_make_add");
		if (i == 3)
			unit_must(cdb_make_add(&cm, k, (unsigned)strlen(k),
			    "second", 6) == 0, "cdb_make_add twice");
	}
	unit_must(cdb_make_finish(&cm) == 0 &&
	    snapfile_sha256(fd, md, &total) == 0, "cdb_make_finish");
	close(fd);
	len = snapfile_digest_line(md, "alias", line, sizeof(line));
	snprintf(p, sizeof(p), "%s/alias.cdb.sha256", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	unit_must(fd >= 0 && len > 0 && write(fd, line, (size_t)len) == len,
	    "foreign digest");
	close(fd);
}

static void
test_foreign_order(void)
{
	char a[512], b[512], err[512];
	struct snapshot *base;
	struct snapwriter *w;

	dir_of(a, sizeof(a), "foreign");
	dir_of(b, sizeof(b), "foreign-rebuild");
	memset(nv, 0, sizeof(nv));
	for (int i = 0; i < 5000; i++)
		m_add(i, 3 * i);
	foreign_base(a, 5000);
	unit_must(snapshot_open(a, "alias", &base, err, sizeof(err)) ==
	    SNAP_OK,
	    "open the foreign base");
	CHECK("foreign order: the reader sees it is not in key order",
	    snapshot_sorted(base) == 0);
	w = snapwriter_from(base, a, "alias", 0);
	for (int j = 0; j < 100; j++)
		replace(w, pick(5000), 900000 + j);
	for (int j = 0; j < 100; j++)
		del(w, pick(5000));
	add(w, 5000, 1);
	add(w, 3, 999999);	/* after the first of key 3's records */
	CHECK("foreign order: the commit succeeds",
	    snapwriter_commit(w, NULL, NULL, err, sizeof(err)) == 0);
	snapshot_close(base);
	unit_must(build_model(b, "alias", 0) == 0, "the foreign rebuild");
	CHECK("foreign order: the result is the rebuild's, byte for byte",
	    same_files(a, b, "alias"));
}

static void
test_base_replaced(void)
{
	char a[512], b[512], err[512] = "";
	struct snapshot *base;
	struct snapwriter *w;

	dir_of(a, sizeof(a), "replaced");
	dir_of(b, sizeof(b), "replaced-copy");
	memset(nv, 0, sizeof(nv));
	for (int i = 0; i < 100; i++)
		m_add(i, i);
	unit_must(build_model(a, "alias", 0) == 0, "the first snapshot");
	unit_must(snapshot_open(a, "alias", &base, err, sizeof(err)) ==
	    SNAP_OK,
	    "open it");
	w = snapwriter_from(base, a, "alias", 0);
	add(w, 200, 1);
	/* Meanwhile a full build takes its place. */
	m_add(300, 3);
	unit_must(build_model(a, "alias", 0) == 0 &&
	    build_model(b, "alias", 0) == 0, "the second snapshot");
	CHECK("base replaced: the commit writes nothing and returns 1",
	    snapwriter_commit(w, NULL, NULL, err, sizeof(err)) == 1);
	CHECK("base replaced: the error says so",
	    strstr(err, "was replaced since") != NULL);
	CHECK("base replaced: the file in place is the full build's",
	    same_files(a, b, "alias"));
	snapshot_close(base);
}

static void
test_read_later_stays(void)
{
	char a[512], b[512], err[512];
	struct snapshot *base;
	struct snapwriter *w;
	struct timespec old;

	dir_of(a, sizeof(a), "later");
	dir_of(b, sizeof(b), "later-copy");
	memset(nv, 0, sizeof(nv));
	for (int i = 0; i < 100; i++)
		m_add(i, i);
	unit_must(build_model(a, "alias", 0) == 0 &&
	    build_model(b, "alias", 0) == 0, "the snapshot");
	unit_must(snapshot_open(a, "alias", &base, err, sizeof(err)) ==
	    SNAP_OK,
	    "open it");
	w = snapwriter_from(base, a, "alias", 0);
	add(w, 200, 1);
	clock_gettime(CLOCK_REALTIME, &old);
	old.tv_sec -= 100;	/* changes older than the file in place */
	snapwriter_set_time(w, &old);
	CHECK("read later: the commit succeeds",
	    snapwriter_commit(w, NULL, NULL, err, sizeof(err)) == 0);
	CHECK("read later: the snapshot read after the changes stays",
	    same_files(a, b, "alias"));
	snapshot_close(base);
}

static void
test_damaged_base(void)
{
	char a[512], b[512], p[600], err[512] = "";
	struct snapshot *base;
	struct snapwriter *w;
	const unsigned char ff[4] = { 0xff, 0xff, 0xff, 0xff };
	int fd;

	dir_of(a, sizeof(a), "damaged");
	dir_of(b, sizeof(b), "damaged-copy");
	memset(nv, 0, sizeof(nv));
	for (int i = 0; i < 100; i++)
		m_add(i, i);
	unit_must(build_model(a, "alias", 0) == 0, "the snapshot");
	unit_must(snapshot_open(a, "alias", &base, err, sizeof(err)) ==
	    SNAP_OK,
	    "open it");
	/* The first record's key length, changed in place. */
	snprintf(p, sizeof(p), "%s/alias.cdb", a);
	fd = open(p, O_WRONLY);
	unit_must(fd >= 0 && pwrite(fd, ff, 4, CDB_TOC) == 4, "damage it");
	close(fd);
	copy_files(a, b, "alias");
	w = snapwriter_from(base, a, "alias", 0);
	add(w, 200, 1);
	CHECK("damaged base: the commit fails",
	    snapwriter_commit(w, NULL, NULL, err, sizeof(err)) == -1);
	CHECK("damaged base: the error says so",
	    strstr(err, "is damaged") != NULL);
	CHECK("damaged base: nothing in place was replaced",
	    same_files(a, b, "alias"));
	snapshot_close(base);
}

/* FNV-1a of the key; arg non-NULL: keys of the same length collide. */
static uint64_t
test_hash(const char *key, size_t klen, void *arg)
{
	uint64_t h = 1469598103934665603ULL;

	if (arg != NULL)
		return klen;
	for (size_t i = 0; i < klen; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
	return h;
}

static uint64_t
hash_of(int k)
{
	char ks[64];

	key_of(k, ks, sizeof(ks));
	return test_hash(ks, strlen(ks), NULL);
}

static void
test_delete_by_hash(void)
{
	char a[512], b[512], err[512] = "";
	struct snapshot *base;
	struct snapwriter *w;

	dir_of(a, sizeof(a), "byhash");
	dir_of(b, sizeof(b), "byhash-rebuild");
	memset(nv, 0, sizeof(nv));
	for (int i = 0; i < 1000; i++)
		m_add(i, i);
	unit_must(build_model(a, "alias", 0) == 0, "the snapshot");
	copy_files(a, b, "alias");
	unit_must(snapshot_open(a, "alias", &base, err, sizeof(err)) ==
	    SNAP_OK, "open it");
	w = snapwriter_from(base, a, "alias", 0);
	snapwriter_key_hash(w, test_hash, NULL);
	snapwriter_delete_hash(w, hash_of(3));		/* in the base */
	nv[3] = 0;
	snapwriter_delete_hash(w, hash_of(5));		/* then added again */
	nv[5] = 0;
	add(w, 5, 555);
	add(w, 2000, 1);			/* added, then deleted */
	snapwriter_delete_hash(w, hash_of(2000));
	nv[2000] = 0;
	snapwriter_delete_hash(w, hash_of(5000));	/* nowhere: nothing */
	CHECK("by hash: the commit succeeds",
	    snapwriter_commit(w, NULL, NULL, err, sizeof(err)) == 0);
	snapshot_close(base);
	unit_must(build_model(b, "alias", 0) == 0, "the rebuild");
	CHECK("by hash: the result is the rebuild's, byte for byte",
	    same_files(a, b, "alias"));

	/* Two keys of one hash: refused, nothing written. */
	copy_files(a, b, "alias");
	unit_must(snapshot_open(a, "alias", &base, err, sizeof(err)) ==
	    SNAP_OK, "open it again");
	w = snapwriter_from(base, a, "alias", 0);
	snapwriter_key_hash(w, test_hash, w);
	snapwriter_delete_hash(w, 20);	/* the length of every key */
	CHECK("by hash: a hash naming two keys is refused (2)",
	    snapwriter_commit(w, NULL, NULL, err, sizeof(err)) == 2 &&
	    strstr(err, "two keys") != NULL);
	CHECK("by hash: nothing in place changed", same_files(a, b, "alias"));
	/* Only deletes whose hash no key has (persist: an entry that gave
	 * no key to this map): nothing matches, the file stays the same
	 * (UBSan saw qsort and bsearch given no array here). */
	w = snapwriter_from(base, a, "alias", 0);
	snapwriter_key_hash(w, test_hash, NULL);
	snapwriter_delete_hash(w, hash_of(7000));
	snapwriter_delete_hash(w, hash_of(7001));
	CHECK("by hash: deletes that match no key commit",
	    snapwriter_commit(w, NULL, NULL, err, sizeof(err)) == 0);
	snapshot_close(base);
	unit_must(snapshot_open(a, "alias", &base, err, sizeof(err)) ==
	    SNAP_OK, "open the result");
	CHECK("by hash: and change no answer", same_files(a, b, "alias"));
	w = snapwriter_from(base, a, "alias", 0);
	snapwriter_delete_hash(w, 1);
	CHECK("by hash: without a key hash function, an error",
	    snapwriter_commit(w, NULL, NULL, err, sizeof(err)) == -1 &&
	    same_files(a, b, "alias"));
	snapshot_close(base);
}

/* snapwriter_commit_open: the file written comes back open, answers as
 * snapshot_open of it would, and is the base of the next batch (persist
 * sync's chain of commits, never re-read); a reference outlives a close. */
static void
test_commit_open(void)
{
	char a[512], b[512], ks[64], err[512] = "";
	const char *v;
	size_t vl, n = 0;
	struct snapshot *base, *got = NULL, *next = NULL, *check = NULL;
	struct snapwriter *w;

	dir_of(a, sizeof(a), "open");
	dir_of(b, sizeof(b), "open-rebuild");
	memset(nv, 0, sizeof(nv));
	for (int i = 0; i < 1000; i++)
		m_add(i, i);
	unit_must(build_model(a, "alias", 0) == 0, "the snapshot");
	unit_must(snapshot_open(a, "alias", &base, err, sizeof(err)) ==
	    SNAP_OK, "open it");
	w = snapwriter_from(base, a, "alias", 0);
	add(w, 1500, 7);
	del(w, 10);
	CHECK("open: the commit succeeds and gives the new file",
	    snapwriter_commit_open(w, NULL, NULL, &got, err,
	    sizeof(err)) == 0 && got != NULL);
	snapshot_close(base);
	if (got == NULL)
		return;
	key_of(1500, ks, sizeof(ks));
	CHECK("open: it answers the key added",
	    snapshot_get(got, ks, strlen(ks), &v, &vl) == 1 &&
	    vl == 9 && memcmp(v, "v7@x.test", 9) == 0);
	key_of(10, ks, sizeof(ks));
	CHECK("open: not the key deleted",
	    snapshot_get(got, ks, strlen(ks), &v, &vl) == 0);
	CHECK("open: it is the file in place, sorted, with its count",
	    snapshot_changed(got) == 0 && snapshot_sorted(got) == 1 &&
	    snapshot_count(got) == 1000 && strstr(snapshot_path(got),
	    "/alias.cdb") != NULL);
	CHECK("open: snapshot_open of the file written shares it (not "
	    "verified again)",
	    snapshot_open(a, "alias", &check, err, sizeof(err)) == SNAP_OK &&
	    check == got);
	snapshot_close(check);

	/* The next batch from it, and the one after from that. */
	w = snapwriter_from(got, a, "alias", 0);
	add(w, 1501, 8);
	replace(w, 20, 9);
	CHECK("open: a batch from the file given back commits",
	    snapwriter_commit_open(w, NULL, NULL, &next, err,
	    sizeof(err)) == 0 && next != NULL);
	CHECK("open: the old one now reads as replaced",
	    snapshot_changed(got) == 1);
	snapshot_ref(next);
	snapshot_close(next);		/* one reference left */
	key_of(1501, ks, sizeof(ks));
	CHECK("open: a reference outlives a close",
	    snapshot_get(next, ks, strlen(ks), &v, &vl) == 1);
	snapshot_close(got);
	unit_must(build_model(b, "alias", 0) == 0, "the rebuild");
	CHECK("open: the chain's file is the rebuild's, byte for byte",
	    same_files(a, b, "alias"));
	for (int i = 0; i < NK; i++)
		n += nv[i] > 0;
	CHECK("open: the model's number of keys",
	    snapshot_count(next) == n);

	/* A snapshot read later is in place: ours is dropped, none given. */
	w = snapwriter_from(next, a, "alias", 0);
	{
		struct timespec old = { 1000, 0 };

		snapwriter_set_time(w, &old);
	}
	add(w, 1502, 9);
	got = (struct snapshot *)1;
	CHECK("open: a writer whose data is older gives no file",
	    snapwriter_commit_open(w, NULL, NULL, &got, err,
	    sizeof(err)) == 0 && got == NULL);
	snapshot_close(next);
}

int
main(void)
{
	log_open("t_snapwriter", 1);
	unit_tmpdir(top, sizeof(top), "t_snapwriter");
	test_batch_equals_rebuild();
	test_single();
	test_foreign_order();
	test_base_replaced();
	test_read_later_stays();
	test_damaged_base();
	test_delete_by_hash();
	test_commit_open();
	unit_rmtree(top);
	return unit_done();
}
