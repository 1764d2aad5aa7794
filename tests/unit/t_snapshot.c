/*
 * t_snapshot: lookupd/snapshot.c and snapwriter.c's full builds against
 * real files in a temporary directory: building (lowercasing, merging,
 * duplicates, single-map conflicts), verifying (missing, damaged digest,
 * flipped byte, truncation, crafted layouts with a matching digest),
 * reading through a file truncated in place (the SIGBUS guard), change
 * detection, and commits that fail (read-only and full file systems in a private mount
 * namespace, a directory where the file should go) leaving the old
 * snapshot in place and verifying.
 *
 * Under AddressSanitizer the SIGBUS guard still works: ASan's default
 * allow_user_segv_handler=1 lets our handler replace its own (keep it:
 * with ASAN_OPTIONS=allow_user_segv_handler=0 the guard cannot work and
 * its cases are skipped).  The cases that let a SIGBUS kill a child run
 * that child as a new t_snapshot (--sigbus-child) with handle_sigbus=0
 * added to ASAN_OPTIONS, so that ASan neither catches nor reports the
 * SIGBUS: what was there before our handler is then the default action.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/log.h"
#include "lookupd/snapshot.h"
#include "lookupd/snapwriter.h"
#include "unit.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static char top[256];

static void
skip(const char *name, const char *why)
{
	printf("ok - %s # SKIP %s\n", name, why);
	fflush(stdout);
}

static void
path_of(char *out, size_t n, const char *dir, const char *name)
{
	int r = snprintf(out, n, "%s/%s", dir, name);

	if (r < 0 || (size_t)r >= n) {
		printf("not ok - path too long\n");
		exit(1);
	}
}

static void
mkdir_in(char *out, size_t n, const char *name)
{
	path_of(out, n, top, name);
	if (mkdir(out, 0755) != 0) {
		printf("not ok - mkdir %s: %s\n", out, strerror(errno));
		exit(1);
	}
}

/* Whole contents of a file into b; -1 if it cannot be read. */
static int
slurp(const char *path, struct buf *b)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY);
	ssize_t r;

	buf_reset(b);
	if (fd < 0)
		return -1;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(b, chunk, (size_t)r);
	close(fd);
	return r < 0 ? -1 : 0;
}

static int
spit(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, p, n) == (ssize_t)n;
	return close(fd) == 0 && ok ? 0 : -1;
}

/* Temporary files left behind in dir (names starting with "."). */
static int
leftovers(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* Write the sha256sum line for dir/map.cdb as the writer does. */
static void
write_digest(const char *dir, const char *map)
{
	char p[512], line[256];
	unsigned char md[32];
	unsigned int mdlen = 0;
	struct buf b = BUF_INIT;
	int n;

	snprintf(p, sizeof(p), "%s/%s.cdb", dir, map);
	slurp(p, &b);
	EVP_Digest(b.p ? b.p : "", b.len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(line + 2 * i, 3, "%02x", md[i]);
	n = snprintf(line + 64, sizeof(line) - 64, "  %s.cdb\n", map);
	snprintf(p, sizeof(p), "%s/%s.cdb.sha256", dir, map);
	spit(p, line, 64 + (size_t)n);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */

struct rec {
	const char *key, *val, *dn;
};

static int
build(const char *dir, const char *map, int single, const struct rec *r,
    size_t n, snap_conflict_fn cf, void *arg, char *err, size_t errsz)
{
	struct snapwriter *w = snapwriter_new(dir, map, single);

	for (size_t i = 0; i < n; i++)
		snapwriter_add(w, r[i].key, strlen(r[i].key), r[i].val,
		    strlen(r[i].val), r[i].dn);
	return snapwriter_commit(w, cf, arg, err, errsz);
}

/* Value of key in dir/map as a string ("" not found, "!" damaged). */
static void
get_str(struct snapshot *s, const char *key, struct buf *out)
{
	const char *v;
	size_t vl;
	int r = snapshot_get(s, key, strlen(key), &v, &vl);

	buf_reset(out);
	if (r == 1)
		buf_append(out, v, vl);
	else if (r < 0)
		buf_puts(out, "!");
	buf_puts(out, "");
}

struct conflicts {
	int calls;
	struct buf text;	/* "map key: dn; dn\n" per call */
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

static int
count_rec(const char *key, size_t klen, const char *val, size_t vlen,
    void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

static int
stop_at_two(const char *key, size_t klen, const char *val, size_t vlen,
    void *arg)
{
	return ++*(size_t *)arg == 2 ? 7 : 0;
}

static const struct rec basic[] = {
	{ "Foo@Example.COM", "/vmail/foo/", "uid=foo1,o=x" },
	{ "list@example.com", "a@example.com", "cn=list,o=x" },
	{ "other@example.com", "o", "uid=o,o=x" },
	{ "LIST@example.com", "b@example.com,c@example.com", "cn=list2,o=x" },
	{ "list@EXAMPLE.com", "a@example.com", "cn=list3,o=x" },
	{ "list@example.com", "d@example.com", "cn=list,o=x" },
	{ "utf8@example.com", "J\xc3\xbcrgen M\xc3\xbcller", "uid=j,o=x" },
	{ "Dup@example.com", "same", "uid=d1,o=x" },
	{ "dup@example.com", "same", "uid=d2,o=x" },
	{ "bad@example.com", "with\nnewline", "uid=b,o=x" },
	{ "", "empty key", "uid=e,o=x" },
	{ "empty@example.com", "", "uid=e,o=x" },
};

static void
test_build_and_get(void)
{
	char dir[512], p[600], err[512];
	struct snapshot *s = NULL;
	struct buf v = BUF_INIT, b = BUF_INIT;
	enum snap_status st;
	size_t n = 0;
	int r;

	mkdir_in(dir, sizeof(dir), "basic");
	r = build(dir, "mailbox", 0, basic, sizeof(basic) / sizeof(basic[0]),
	    NULL, NULL, err, sizeof(err));
	CHECK("basic: commit succeeds", r == 0);
	st = snapshot_open(dir, "mailbox", &s, err, sizeof(err));
	CHECK("basic: opens and verifies", st == SNAP_OK);
	if (st != SNAP_OK) {
		printf("# %s\n", err);
		return;
	}
	CHECK("basic: 5 keys (bad, empty key and empty value left out)",
	    snapshot_count(s) == 5);
	get_str(s, "foo@example.com", &v);
	CHECK_STR("basic: mixed-case key stored lowercased", v.p,
	    "/vmail/foo/");
	get_str(s, "list@example.com", &v);
	CHECK_STR("basic: values merged in insertion order, duplicate dropped",
	    v.p, "a@example.com,b@example.com,c@example.com,d@example.com");
	get_str(s, "dup@example.com", &v);
	CHECK_STR("basic: identical values kept once", v.p, "same");
	get_str(s, "utf8@example.com", &v);
	CHECK_STR("basic: UTF-8 value byte for byte", v.p,
	    "J\xc3\xbcrgen M\xc3\xbcller");
	get_str(s, "Foo@Example.COM", &v);
	CHECK_STR("basic: lookup is exact (caller lowercases)", v.p, "");
	get_str(s, "nobody@example.com", &v);
	CHECK_STR("basic: absent key not found", v.p, "");
	get_str(s, "bad@example.com", &v);
	CHECK_STR("basic: value with LF left out", v.p, "");
	get_str(s, "empty@example.com", &v);
	CHECK_STR("basic: empty value left out", v.p, "");
	CHECK("basic: built is the file's mtime, now",
	    llabs((long long)(snapshot_built(s) - time(NULL))) <= 5);
	path_of(p, sizeof(p), dir, "mailbox.cdb");
	CHECK_STR("basic: path", snapshot_path(s), p);
	CHECK("basic: cdb mode 0640", mode_of(p) == 0640);
	path_of(p, sizeof(p), dir, "mailbox.cdb.sha256");
	CHECK("basic: digest mode 0640", mode_of(p) == 0640);
	slurp(p, &b);
	CHECK("basic: digest line is sha256sum format",
	    b.len == 64 + 2 + strlen("mailbox.cdb") + 1 &&
	    strspn(b.p, "0123456789abcdef") == 64 &&
	    strcmp(b.p + 64, "  mailbox.cdb\n") == 0);
	CHECK("basic: no temporary files left", leftovers(dir) == 0);
	CHECK("basic: foreach sees every key",
	    snapshot_foreach(s, count_rec, &n) == 0 && n == 5);
	n = 0;
	CHECK("basic: foreach stops with fn's value",
	    snapshot_foreach(s, stop_at_two, &n) == 7 && n == 2);
	n = 0;
	CHECK("basic: walk (no copies) sees every key",
	    snapshot_walk(s, count_rec, &n) == 0 && n == 5);
	n = 0;
	CHECK("basic: walk stops with fn's value",
	    snapshot_walk(s, stop_at_two, &n) == 7 && n == 2);
	CHECK("basic: unchanged file reads as unchanged",
	    snapshot_changed(s) == 0);
	{
		struct snapshot *again = NULL;

		CHECK("basic: opened again while open: the same one, shared",
		    snapshot_open(dir, "mailbox", &again, err,
		    sizeof(err)) == SNAP_OK && again == s);
		snapshot_close(again);
		CHECK("basic: and still open after one close",
		    snapshot_count(s) == 5);
	}
	snapshot_close(s);
	buf_free(&v);
	buf_free(&b);
}

static void
test_single(void)
{
	static const struct rec recs[] = {
		{ "Alice@example.com", "/vmail/alice/", "uid=alice,o=x" },
		{ "bob@example.com", "/vmail/bob/", "uid=bob,o=x" },
		{ "alice@example.com", "/vmail/alice2/", "uid=alice2,o=x" },
		{ "ALICE@example.com", "/vmail/alice/", "uid=alice,o=x" },
		{ "carol@example.com", "/vmail/carol/", "uid=carol,o=x" },
		{ "Carol@example.com", "/vmail/carol/", "uid=carol2,o=x" },
	};
	struct conflicts c = { 0, BUF_INIT };
	char dir[512], err[512];
	struct snapshot *s = NULL;
	struct buf v = BUF_INIT;
	int r;

	mkdir_in(dir, sizeof(dir), "single");
	r = build(dir, "mailbox", 1, recs, sizeof(recs) / sizeof(recs[0]),
	    on_conflict, &c, err, sizeof(err));
	CHECK("single: commit succeeds", r == 0);
	CHECK("single: one conflict reported", c.calls == 1);
	CHECK_STR("single: conflict names every DN once", buf_str(&c.text),
	    "mailbox alice@example.com: uid=alice,o=x; uid=alice2,o=x\n");
	if (snapshot_open(dir, "mailbox", &s, err, sizeof(err)) != SNAP_OK) {
		CHECK("single: opens", 0);
		return;
	}
	get_str(s, "alice@example.com", &v);
	CHECK_STR("single: conflicting key left out", v.p, "");
	get_str(s, "bob@example.com", &v);
	CHECK_STR("single: other key kept", v.p, "/vmail/bob/");
	get_str(s, "carol@example.com", &v);
	CHECK_STR("single: same value from two entries is no conflict", v.p,
	    "/vmail/carol/");
	CHECK("single: 2 keys", snapshot_count(s) == 2);
	snapshot_close(s);
	buf_free(&v);
	buf_free(&c.text);
}

/* Many keys in scrambled order, a key with many values, a long key and a
 * value larger than an arena chunk. */
static void
test_scale(void)
{
	char dir[512], err[512], key[64], val[64];
	struct snapwriter *w;
	struct snapshot *s = NULL;
	struct buf v = BUF_INIT, want = BUF_INIT;
	size_t n = 20000, bad = 0;
	char *longkey = xmalloc(1001), *bigval = xmalloc(5u << 20);
	int r;

	mkdir_in(dir, sizeof(dir), "scale");
	w = snapwriter_new(dir, "m", 0);
	for (size_t i = 0; i < n; i++) {
		size_t j = (i * 7919) % n;	/* 7919 prime: permutation */

		snprintf(key, sizeof(key), "User%06zu@Example.com", j);
		snprintf(val, sizeof(val), "/vmail/u%zu/", j);
		snapwriter_add(w, key, strlen(key), val, strlen(val), "dn");
	}
	for (int i = 0; i < 100; i++) {
		snprintf(val, sizeof(val), "m%d@example.com", i % 40);
		snapwriter_add(w, "big@example.com", 15, val, strlen(val),
		    "cn=big");
	}
	memset(longkey, 'K', 1000);
	longkey[1000] = '\0';
	snapwriter_add(w, longkey, 1000, "long", 4, "dn");
	memset(bigval, 'v', 5u << 20);
	snapwriter_add(w, "bigval", 6, bigval, 5u << 20, "dn");
	r = snapwriter_commit(w, NULL, NULL, err, sizeof(err));
	CHECK("scale: commit succeeds", r == 0);
	if (snapshot_open(dir, "m", &s, err, sizeof(err)) != SNAP_OK) {
		CHECK("scale: opens", 0);
		printf("# %s\n", err);
		return;
	}
	CHECK("scale: key count", snapshot_count(s) == n + 3);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "user%06zu@example.com", i);
		snprintf(val, sizeof(val), "/vmail/u%zu/", i);
		get_str(s, key, &v);
		if (strcmp(v.p, val) != 0)
			bad++;
	}
	CHECK("scale: every one of 20000 keys answers its value", bad == 0);
	for (int i = 0; i < 40; i++)
		buf_printf(&want, "%sm%d@example.com", i ? "," : "", i);
	get_str(s, "big@example.com", &v);
	CHECK_STR("scale: 100 values, 40 distinct, first-seen order", v.p,
	    buf_str(&want));
	for (size_t i = 0; i < 1000; i++)
		longkey[i] = 'k';
	get_str(s, longkey, &v);
	CHECK_STR("scale: 1000-byte key", v.p, "long");
	get_str(s, "bigval", &v);
	CHECK("scale: 5 MiB value intact", v.len == (5u << 20) &&
	    memcmp(v.p, bigval, v.len) == 0);
	snapshot_close(s);
	free(longkey);
	free(bigval);
	buf_free(&v);
	buf_free(&want);
}

static void
test_names(void)
{
	static const char *const bad[] = { "../x", "a/b", "", ".hidden",
	    "a b", "x\ny" };
	char dir[512], err[512];
	struct snapshot *s;
	int allbad = 1, allerr = 1, r;

	mkdir_in(dir, sizeof(dir), "names");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct snapwriter *w = snapwriter_new(dir, bad[i], 0);

		snapwriter_add(w, "k", 1, "v", 1, "dn");
		err[0] = '\0';
		r = snapwriter_commit(w, NULL, NULL, err, sizeof(err));
		if (r != -1 || strstr(err, "invalid map name") == NULL)
			allbad = 0;
		if (snapshot_open(dir, bad[i], &s, err, sizeof(err)) !=
		    SNAP_ERROR)
			allerr = 0;
	}
	CHECK("names: paths and odd names refused by the writer", allbad);
	CHECK("names: and by the reader", allerr);
	CHECK("names: nothing written", leftovers(dir) == 0);
	r = build(dir, "virtual_alias-2.x", 0,
	    (const struct rec[]){ { "k", "v", "dn" } }, 1, NULL, NULL, err,
	    sizeof(err));
	CHECK("names: letters, digits, _ - . accepted", r == 0);
}

/* A fresh copy of the basic snapshot in its own directory. */
static void
fresh(char *dir, size_t n, const char *name)
{
	char err[512];

	mkdir_in(dir, n, name);
	if (build(dir, "m", 0, basic, sizeof(basic) / sizeof(basic[0]), NULL,
	    NULL, err, sizeof(err)) != 0) {
		printf("not ok - build %s: %s\n", name, err);
		exit(1);
	}
}

static enum snap_status
try_open(const char *dir, char *err, size_t errsz)
{
	struct snapshot *s = NULL;
	enum snap_status st = snapshot_open(dir, "m", &s, err, errsz);

	if (st == SNAP_OK)
		snapshot_close(s);
	else
		printf("# %s\n", err);
	return st;
}

static void
test_damage(void)
{
	char dir[512], p[600], err[512];
	struct buf b = BUF_INIT;
	enum snap_status st;

	mkdir_in(dir, sizeof(dir), "none");
	st = snapshot_open(dir, "m", &(struct snapshot *){ NULL }, err,
	    sizeof(err));
	CHECK("damage: never built is SNAP_MISSING", st == SNAP_MISSING);

	fresh(dir, sizeof(dir), "nodigest");
	path_of(p, sizeof(p), dir, "m.cdb.sha256");
	unlink(p);
	st = try_open(dir, err, sizeof(err));
	CHECK("damage: digest file missing is SNAP_DAMAGED",
	    st == SNAP_DAMAGED && strstr(err, "missing") != NULL);

	fresh(dir, sizeof(dir), "baddigest");
	path_of(p, sizeof(p), dir, "m.cdb.sha256");
	spit(p, "xyz  m.cdb\n", 11);
	st = try_open(dir, err, sizeof(err));
	CHECK("damage: malformed digest file is SNAP_DAMAGED",
	    st == SNAP_DAMAGED && strstr(err, "malformed") != NULL);

	fresh(dir, sizeof(dir), "othername");
	path_of(p, sizeof(p), dir, "m.cdb.sha256");
	slurp(p, &b);
	b.p[66] = 'x';		/* "xm.cdb" */
	spit(p, b.p, b.len);
	st = try_open(dir, err, sizeof(err));
	CHECK("damage: digest of another file name is SNAP_DAMAGED",
	    st == SNAP_DAMAGED);

	fresh(dir, sizeof(dir), "flip");
	path_of(p, sizeof(p), dir, "m.cdb");
	slurp(p, &b);
	b.p[b.len / 2] ^= 0x01;
	spit(p, b.p, b.len);
	st = try_open(dir, err, sizeof(err));
	CHECK("damage: one bit flipped is SNAP_DAMAGED, digest mismatch",
	    st == SNAP_DAMAGED && strstr(err, "digest mismatch") != NULL);

	fresh(dir, sizeof(dir), "trunc1");
	path_of(p, sizeof(p), dir, "m.cdb");
	slurp(p, &b);
	unit_must(truncate(p, (off_t)b.len - 1) == 0, "truncate");
	st = try_open(dir, err, sizeof(err));
	CHECK("damage: truncated by 1 byte is SNAP_DAMAGED, truncated",
	    st == SNAP_DAMAGED && strstr(err, "truncated") != NULL);

	fresh(dir, sizeof(dir), "trunc0");
	path_of(p, sizeof(p), dir, "m.cdb");
	unit_must(truncate(p, 0) == 0, "truncate");
	st = try_open(dir, err, sizeof(err));
	CHECK("damage: truncated to 0 is SNAP_DAMAGED, truncated",
	    st == SNAP_DAMAGED && strstr(err, "truncated") != NULL);

	fresh(dir, sizeof(dir), "unreadable");
	path_of(p, sizeof(p), dir, "m.cdb");
	if (geteuid() != 0) {	/* as root: see perm_child */
		chmod(p, 0);
		st = try_open(dir, err, sizeof(err));
		CHECK("damage: unreadable file is SNAP_ERROR",
		    st == SNAP_ERROR);
	}
	buf_free(&b);
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/*
 * Files whose digest matches but whose layout lies: the reader must
 * refuse them at open, or (changed in place later) at the lookup, without
 * reading outside the file.
 */
static void
test_crafted(void)
{
	char dir[512], p[600], err[512];
	unsigned char f[2048 + 64];
	struct snapshot *s = NULL;
	struct buf b = BUF_INIT, v = BUF_INIT;
	enum snap_status st;
	int fd;

	mkdir_in(dir, sizeof(dir), "crafted");
	path_of(p, sizeof(p), dir, "m.cdb");

	/* Header says the data runs past the end of the file. */
	memset(f, 0, sizeof(f));
	for (int t = 0; t < 256; t++)
		put32(f + 8 * t, 1u << 20);
	spit(p, f, 2048);
	write_digest(dir, "m");
	st = try_open(dir, err, sizeof(err));
	CHECK("crafted: data end past the file is refused",
	    st == SNAP_DAMAGED && strstr(err, "bad cdb") != NULL);

	/* One record whose key length wraps around 32 bits. */
	memset(f, 0, sizeof(f));
	for (int t = 0; t < 256; t++)
		put32(f + 8 * t, 2048 + 16);
	put32(f + 8 * 7 + 4, 2);	/* table 7: 2 slots at 2064 */
	put32(f + 2048, 0xfffffff8u);	/* klen */
	put32(f + 2052, 16);		/* vlen */
	put32(f + 2064 + 4, 2048);
	spit(p, f, 2048 + 16 + 16);
	write_digest(dir, "m");
	st = try_open(dir, err, sizeof(err));
	CHECK("crafted: record length wrapping around is refused",
	    st == SNAP_DAMAGED && strstr(err, "bad cdb") != NULL);

	/* Hash table beyond the end of the file. */
	memset(f, 0, sizeof(f));
	for (int t = 0; t < 256; t++)
		put32(f + 8 * t, 2048);
	put32(f + 8 * 3 + 4, 1000);
	spit(p, f, 2048);
	write_digest(dir, "m");
	st = try_open(dir, err, sizeof(err));
	CHECK("crafted: hash table outside the file is refused",
	    st == SNAP_DAMAGED && strstr(err, "bad cdb header") != NULL);

	/* A good file, changed in place after it was verified: a record
	 * length pointing far beyond the file. */
	fresh(dir, sizeof(dir), "inplace");
	path_of(p, sizeof(p), dir, "m.cdb");
	if (snapshot_open(dir, "m", &s, err, sizeof(err)) != SNAP_OK) {
		CHECK("crafted: in-place change opens first", 0);
		return;
	}
	slurp(p, &b);
	/* The first record starts at 2048: make its value length huge. */
	fd = open(p, O_WRONLY);
	put32((unsigned char *)b.p, 0x7fffffffu);
	CHECK("crafted: value length rewritten in place",
	    pwrite(fd, b.p, 4, 2052) == 4);
	close(fd);
	get_str(s, "bad@example.com", &v);	/* lookups still work... */
	{
		size_t bad = 0;
		static const char *const keys[] = { "foo@example.com",
		    "list@example.com", "other@example.com",
		    "utf8@example.com", "dup@example.com" };

		/* ...and the rewritten record is refused, not read. */
		for (size_t i = 0; i < 5; i++) {
			get_str(s, keys[i], &v);
			if (strcmp(v.p, "!") == 0)
				bad++;
		}
		CHECK("crafted: the lying record makes get return -1",
		    bad >= 1);
	}
	get_str(s, "foo@example.com", &v);
	CHECK_STR("crafted: and the snapshot stays damaged", v.p, "!");
	snapshot_close(s);
	buf_free(&b);
	buf_free(&v);
}

static int
commit_many(const char *dir, size_t n, char *err, size_t errsz)
{
	struct snapwriter *w = snapwriter_new(dir, "m", 0);
	char k[64], v[128];

	for (size_t i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "user%zu@example.com", i);
		snprintf(v, sizeof(v), "/vmail/example.com/user%zu/with/a/"
		    "longer/path/", i);
		snapwriter_add(w, k, strlen(k), v, strlen(v), "dn");
	}
	return snapwriter_commit(w, NULL, NULL, err, errsz);
}

/* What a child does in sigbus_kills(): our handler installed (a
 * snapshot_open), then a SIGBUS sent ("raise") or a fault on a mapping of
 * the file p truncated under it ("fault").  It must die of it. */
static void
sigbus_child(const char *dir, const char *p, const char *how)
{
	struct snapshot *s = NULL;
	char err[512];

	if (snapshot_open(dir, "m", &s, err, sizeof(err)) == SNAP_OK)
		snapshot_close(s);
	if (strcmp(how, "raise") == 0) {
		raise(SIGBUS);
	} else {
		int fd = open(p, O_RDWR);
		volatile const char *m;

		unit_must(fd >= 0 && ftruncate(fd, 8192) == 0, "ftruncate");
		m = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
		unit_must(m != MAP_FAILED && ftruncate(fd, 0) == 0, "ftruncate");
		(void)m[4096];
	}
	_exit(4);
}

/* True if sigbus_child(dir, p, how) dies of SIGBUS.  Under ASan it is a
 * new t_snapshot with handle_sigbus=0 (see the top of this file). */
static int
sigbus_kills(const char *dir, const char *p, const char *how)
{
	pid_t pid;
	int status = 0;

	fflush(stdout);
	pid = fork();
	if (pid == 0 && UNDER_ASAN) {
		const char *cur = getenv("ASAN_OPTIONS");
		char opts[2048];
		int r = snprintf(opts, sizeof(opts), "%s%shandle_sigbus=0",
		    cur ? cur : "", cur && *cur ? ":" : "");

		if (r < 0 || (size_t)r >= sizeof(opts) ||
		    setenv("ASAN_OPTIONS", opts, 1) != 0)
			_exit(5);
		execl("/proc/self/exe", "t_snapshot", "--sigbus-child", dir,
		    p, how, (char *)NULL);
		_exit(6);
	}
	if (pid == 0)
		sigbus_child(dir, p, how);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS))
		printf("# sigbus child (%s): status 0x%x\n", how, status);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS;
}

static void
test_sigbus(void)
{
	char dir[512], p[600], err[512];
	struct snapshot *s = NULL;
	struct buf v = BUF_INIT;
	size_t n = 0;

	const char *asan = getenv("ASAN_OPTIONS");

	if (UNDER_ASAN && asan != NULL &&
	    (strstr(asan, "allow_user_segv_handler=0") != NULL ||
	    strstr(asan, "allow_user_segv_handler=false") != NULL)) {
		skip("sigbus: get after truncation returns -1",
		    "ASAN_OPTIONS forbids our SIGBUS handler");
		return;
	}
	fresh(dir, sizeof(dir), "sigbus");
	path_of(p, sizeof(p), dir, "m.cdb");
	if (snapshot_open(dir, "m", &s, err, sizeof(err)) != SNAP_OK) {
		CHECK("sigbus: opens", 0);
		return;
	}
	get_str(s, "foo@example.com", &v);
	CHECK_STR("sigbus: answers before", v.p, "/vmail/foo/");
	CHECK("sigbus: truncate in place", truncate(p, 0) == 0);
	get_str(s, "foo@example.com", &v);
	CHECK_STR("sigbus: get after truncation returns -1, no crash", v.p,
	    "!");
	get_str(s, "list@example.com", &v);
	CHECK_STR("sigbus: and every later get too", v.p, "!");
	CHECK("sigbus: foreach returns -1",
	    snapshot_foreach(s, count_rec, &n) == -1);
	CHECK("sigbus: changed in place", snapshot_changed(s) == 2);
	snapshot_close(s);

	/* Cut after its first page: the header reads, what follows
	 * faults. */
	mkdir_in(dir, sizeof(dir), "sigbus2");
	unit_must(commit_many(dir, 2000, err, sizeof(err)) == 0, "build");
	path_of(p, sizeof(p), dir, "m.cdb");
	if (snapshot_open(dir, "m", &s, err, sizeof(err)) == SNAP_OK) {
		get_str(s, "user1999@example.com", &v);
		CHECK("sigbus: 2000 keys answer before", v.len > 0);
		unit_must(truncate(p, 4096) == 0, "truncate");
		get_str(s, "user1999@example.com", &v);
		CHECK_STR("sigbus: cut after one page, get returns -1", v.p,
		    "!");
		snapshot_close(s);
	}
	/* The same under a walk: its one guard catches the fault inside
	 * the callback's reading. */
	mkdir_in(dir, sizeof(dir), "sigbus3");
	unit_must(commit_many(dir, 2000, err, sizeof(err)) == 0, "build");
	path_of(p, sizeof(p), dir, "m.cdb");
	if (snapshot_open(dir, "m", &s, err, sizeof(err)) == SNAP_OK) {
		unit_must(truncate(p, 4096) == 0, "truncate");
		n = 0;
		CHECK("sigbus: a walk over a file cut in place returns -1",
		    snapshot_walk(s, count_rec, &n) == -1);
		get_str(s, "user1999@example.com", &v);
		CHECK_STR("sigbus: and the snapshot is damaged from then on",
		    v.p, "!");
		snapshot_close(s);
	}

	/* A SIGBUS that is not ours still kills. */
	CHECK("sigbus: a SIGBUS sent outside a lookup still kills",
	    sigbus_kills(dir, p, "raise"));
	CHECK("sigbus: a fault outside a lookup still kills",
	    sigbus_kills(dir, p, "fault"));
	buf_free(&v);
}

static void
test_changed(void)
{
	char dir[512], p[600], q[600], err[512];
	struct snapshot *s = NULL, *s2 = NULL;
	struct buf v = BUF_INIT;
	struct timespec ts = { 0, 20000000 };
	int fd;

	fresh(dir, sizeof(dir), "changed");
	path_of(p, sizeof(p), dir, "m.cdb");
	if (snapshot_open(dir, "m", &s, err, sizeof(err)) != SNAP_OK) {
		CHECK("changed: opens", 0);
		return;
	}
	CHECK("changed: 0 at first", snapshot_changed(s) == 0);
	build(dir, "m", 0, (const struct rec[]){ { "new", "1", "dn" } }, 1,
	    NULL, NULL, err, sizeof(err));
	CHECK("changed: replaced by rename is 1", snapshot_changed(s) == 1);
	get_str(s, "foo@example.com", &v);
	CHECK_STR("changed: the old mapping still answers", v.p,
	    "/vmail/foo/");
	CHECK("changed: the new file opens",
	    snapshot_open(dir, "m", &s2, err, sizeof(err)) == SNAP_OK);
	if (s2) {
		get_str(s2, "new", &v);
		CHECK_STR("changed: and answers", v.p, "1");
		/* Same size, same inode, later mtime. */
		nanosleep(&ts, NULL);
		fd = open(p, O_WRONLY);
		CHECK("changed: rewrite one byte in place",
		    pwrite(fd, "\0", 1, 2047) == 1);
		close(fd);
		CHECK("changed: written in place is 2",
		    snapshot_changed(s2) == 2);
		snapshot_close(s2);
	}
	snapshot_close(s);

	fresh(dir, sizeof(dir), "changed2");
	path_of(p, sizeof(p), dir, "m.cdb");
	if (snapshot_open(dir, "m", &s, err, sizeof(err)) == SNAP_OK) {
		fd = open(p, O_WRONLY | O_APPEND);
		CHECK("changed: append in place",
		    write(fd, "x", 1) == 1);
		close(fd);
		CHECK("changed: grown in place is 2", snapshot_changed(s) == 2);
		path_of(q, sizeof(q), dir, "m.cdb.moved");
		rename(p, q);
		CHECK("changed: path gone is 2", snapshot_changed(s) == 2);
		snapshot_close(s);
	}
	buf_free(&v);
}

/* The reader falls between the two renames: it must wait and retry. */
struct swap {
	char from[600], to[600];
};

static void *
late_rename(void *arg)
{
	struct swap *sw = arg;
	struct timespec ts = { 0, 15000000 };

	nanosleep(&ts, NULL);
	rename(sw->from, sw->to);
	return NULL;
}

static void
test_between_renames(void)
{
	char dir[512], dir2[512], p[600], err[512];
	struct snapshot *s = NULL;
	struct swap sw;
	struct buf v = BUF_INIT;
	pthread_t th;
	enum snap_status st;

	fresh(dir, sizeof(dir), "between");
	mkdir_in(dir2, sizeof(dir2), "between.new");
	build(dir2, "m", 0, (const struct rec[]){ { "new", "2", "dn" } }, 1,
	    NULL, NULL, err, sizeof(err));
	/* The new digest is in place, the new file not yet. */
	path_of(p, sizeof(p), dir2, "m.cdb.sha256");
	path_of(sw.to, sizeof(sw.to), dir, "m.cdb.sha256");
	rename(p, sw.to);
	path_of(sw.from, sizeof(sw.from), dir2, "m.cdb");
	path_of(sw.to, sizeof(sw.to), dir, "m.cdb");
	pthread_create(&th, NULL, late_rename, &sw);
	st = snapshot_open(dir, "m", &s, err, sizeof(err));
	pthread_join(th, NULL);
	CHECK("between renames: the retry finds the new pair", st == SNAP_OK);
	if (s) {
		get_str(s, "new", &v);
		CHECK_STR("between renames: answers from the new file", v.p,
		    "2");
		snapshot_close(s);
	} else {
		printf("# %s\n", err);
	}
	buf_free(&v);
}

/* Old snapshot m in dir: still there, same bytes, still verifying. */
static void
check_intact(const char *what, const char *dir, const struct buf *cdb0,
    const struct buf *dig0)
{
	char p[600], name[200], err[512];
	struct buf b = BUF_INIT;
	struct snapshot *s = NULL;
	struct buf v = BUF_INIT;

	path_of(p, sizeof(p), dir, "m.cdb");
	snprintf(name, sizeof(name), "%s: old cdb untouched", what);
	CHECK(name, slurp(p, &b) == 0 && b.len == cdb0->len &&
	    memcmp(b.p, cdb0->p, b.len) == 0);
	path_of(p, sizeof(p), dir, "m.cdb.sha256");
	snprintf(name, sizeof(name), "%s: old digest untouched", what);
	CHECK(name, slurp(p, &b) == 0 && b.len == dig0->len &&
	    memcmp(b.p, dig0->p, b.len) == 0);
	snprintf(name, sizeof(name), "%s: old snapshot still verifies", what);
	CHECK(name, snapshot_open(dir, "m", &s, err, sizeof(err)) == SNAP_OK);
	if (s) {
		get_str(s, "foo@example.com", &v);
		snprintf(name, sizeof(name), "%s: and answers", what);
		CHECK_STR(name, v.p, "/vmail/foo/");
		snapshot_close(s);
	}
	snprintf(name, sizeof(name), "%s: no temporary files left", what);
	CHECK(name, leftovers(dir) == 0);
	buf_free(&b);
	buf_free(&v);
}

static void
save_pair(const char *dir, struct buf *cdb0, struct buf *dig0)
{
	char p[600];

	path_of(p, sizeof(p), dir, "m.cdb");
	slurp(p, cdb0);
	path_of(p, sizeof(p), dir, "m.cdb.sha256");
	slurp(p, dig0);
}

static void
test_commit_fails_plain(void)
{
	char dir[512], p[600], q[600], err[512];
	struct buf cdb0 = BUF_INIT, dig0 = BUF_INIT;
	int r;

	/* A file where the directory should be. */
	path_of(p, sizeof(p), top, "notadir");
	spit(p, "x", 1);
	r = commit_many(p, 10, err, sizeof(err));
	CHECK("fail: directory is a file gives -1, Not a directory",
	    r == -1 && strstr(err, "Not a directory") != NULL);
	path_of(p, sizeof(p), top, "nosuchdir");
	r = commit_many(p, 10, err, sizeof(err));
	CHECK("fail: missing directory gives -1, No such file",
	    r == -1 && strstr(err, "No such file") != NULL);

	/* The second rename fails (a directory has the cdb's name): the
	 * digest renamed before it must be put back. */
	fresh(dir, sizeof(dir), "renamefail");
	save_pair(dir, &cdb0, &dig0);
	path_of(p, sizeof(p), dir, "m.cdb");
	path_of(q, sizeof(q), top, "renamefail.keep");
	rename(p, q);
	mkdir(p, 0755);
	path_of(p, sizeof(p), dir, "m.cdb/x");
	spit(p, "x", 1);	/* not empty: rename over it must fail */
	r = commit_many(dir, 10, err, sizeof(err));
	printf("# %s\n", err);
	CHECK("fail: second rename failing gives -1", r == -1);
	unlink(p);
	path_of(p, sizeof(p), dir, "m.cdb");
	rmdir(p);
	rename(q, p);
	check_intact("fail: second rename", dir, &cdb0, &dig0);

	/* Same with no earlier snapshot: no digest may be left behind. */
	mkdir_in(dir, sizeof(dir), "renamefail2");
	path_of(p, sizeof(p), dir, "m.cdb");
	mkdir(p, 0755);
	path_of(q, sizeof(q), dir, "m.cdb/x");
	spit(q, "x", 1);
	r = commit_many(dir, 10, err, sizeof(err));
	path_of(q, sizeof(q), dir, "m.cdb.sha256");
	CHECK("fail: first build failing leaves no digest",
	    r == -1 && access(q, F_OK) != 0 && leftovers(dir) == 0);
	buf_free(&cdb0);
	buf_free(&dig0);
}

/* Debris of a crashed writer is removed once old; nothing else is. */
static void
test_stale(void)
{
	static const char *const names[] = { ".m.cdb.ABCDEF",
	    ".m.cdb.sha256.GHIJKL", ".m.cdb.fresh1", ".other.cdb.ABCDEF",
	    ".m.cdb.toolong7" };
	static const int old[] = { 1, 1, 0, 1, 1 };
	static const int gone[] = { 1, 1, 0, 0, 0 };
	char dir[512], p[600], err[512];
	int ok = 1;

	mkdir_in(dir, sizeof(dir), "stale");
	for (size_t i = 0; i < 5; i++) {
		struct timespec ts[2] = { { time(NULL) - 7200, 0 },
		    { time(NULL) - 7200, 0 } };

		path_of(p, sizeof(p), dir, names[i]);
		unit_must(spit(p, "x", 1) == 0, "write debris");
		if (old[i])
			unit_must(utimensat(AT_FDCWD, p, ts, 0) == 0,
			    "utimensat");
	}
	unit_must(commit_many(dir, 10, err, sizeof(err)) == 0, "commit");
	for (size_t i = 0; i < 5; i++) {
		path_of(p, sizeof(p), dir, names[i]);
		if ((access(p, F_OK) != 0) != gone[i]) {
			printf("# %s %s\n", names[i], gone[i] ? "kept" :
			    "removed");
			ok = 0;
		}
	}
	CHECK("stale: old temporary files of the map removed, others kept",
	    ok);
}

/* Two writers of one map and a reader at the same time. */
struct racer {
	const char *dir;
	int id, fails;
};

static void *
writer_thread(void *arg)
{
	struct racer *r = arg;
	char err[512], key[32], val[32];

	for (int i = 0; i < 30; i++) {
		struct snapwriter *w = snapwriter_new(r->dir, "m", 0);

		for (int j = 0; j < 200 + r->id * 50 + i; j++) {
			snprintf(key, sizeof(key), "k%d", j);
			snprintf(val, sizeof(val), "w%d.%d", r->id, i);
			snapwriter_add(w, key, strlen(key), val, strlen(val),
			    "dn");
		}
		if (snapwriter_commit(w, NULL, NULL, err, sizeof(err)) != 0)
			r->fails++;
	}
	return NULL;
}

static void
test_two_writers(void)
{
	char dir[512], err[512];
	struct racer r1, r2;
	pthread_t t1, t2;
	struct snapshot *s = NULL;
	int damaged = 0, opened = 0;

	fresh(dir, sizeof(dir), "race");
	r1 = (struct racer){ dir, 1, 0 };
	r2 = (struct racer){ dir, 2, 0 };
	pthread_create(&t1, NULL, writer_thread, &r1);
	pthread_create(&t2, NULL, writer_thread, &r2);
	for (int i = 0; i < 20; i++) {
		enum snap_status st = snapshot_open(dir, "m", &s, err,
		    sizeof(err));

		if (st == SNAP_OK) {
			opened++;
			snapshot_close(s);
		} else if (st == SNAP_DAMAGED) {
			damaged++;
			printf("# reader: %s\n", err);
		}
	}
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK("race: 60 commits by two writers all succeed",
	    r1.fails == 0 && r2.fails == 0);
	printf("# reader: %d opened, %d damaged while writers ran\n", opened,
	    damaged);
	CHECK("race: the pair in place verifies afterwards",
	    try_open(dir, err, sizeof(err)) == SNAP_OK);
	CHECK("race: no temporary files left", leftovers(dir) == 0);
}

/*
 * Read-only and full file systems need a mount: done in a child inside
 * its own mount namespace, so nothing outside it ever sees the mounts.
 * The child prints its own check lines; its exit status says whether one
 * failed.  Without the privilege for that, the read-only case falls back
 * to an unprivileged child and a mode 0500 directory.
 */
static void
fs_child(const char *mp)
{
	char err[512];
	struct buf cdb0 = BUF_INIT, dig0 = BUF_INIT;
	int r;

	if (mount("tmpfs", mp, "tmpfs", 0, "size=256k,mode=0755") != 0) {
		printf("# mount tmpfs: %s\n", strerror(errno));
		_exit(100);
	}
	/* Full: the old snapshot fits, a 10000-key one does not. */
	r = build(mp, "m", 0, basic, sizeof(basic) / sizeof(basic[0]), NULL,
	    NULL, err, sizeof(err));
	CHECK("fs: small snapshot on a 256k tmpfs", r == 0);
	save_pair(mp, &cdb0, &dig0);
	r = commit_many(mp, 10000, err, sizeof(err));
	printf("# %s\n", err);
	CHECK("fs: full file system gives -1, No space left on device",
	    r == -1 && strstr(err, "No space left on device") != NULL);
	check_intact("fs: ENOSPC", mp, &cdb0, &dig0);

	/* Read-only. */
	if (mount(NULL, mp, NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0) {
		printf("not ok - fs: remount read-only (%s)\n",
		    strerror(errno));
		_exit(1);
	}
	r = commit_many(mp, 10, err, sizeof(err));
	printf("# %s\n", err);
	CHECK("fs: read-only file system gives -1, Read-only file system",
	    r == -1 && strstr(err, "Read-only file system") != NULL);
	check_intact("fs: EROFS", mp, &cdb0, &dig0);
	buf_free(&cdb0);
	buf_free(&dig0);
	_exit(unit_done());
}

static void
perm_child(const char *dir)
{
	char err[512];
	int r;

	if (geteuid() == 0 && (setgroups(0, NULL) != 0 ||
	    setresgid(65534, 65534, 65534) != 0 ||
	    setresuid(65534, 65534, 65534) != 0)) {
		printf("# cannot drop privileges: %s\n", strerror(errno));
		_exit(100);
	}
	r = commit_many(dir, 10, err, sizeof(err));
	printf("# %s\n", err);
	CHECK("fs: unwritable directory gives -1, Permission denied",
	    r == -1 && strstr(err, "Permission denied") != NULL);
	if (geteuid() == 65534) {
		struct snapshot *s = NULL;

		/* root's files are 0640 root:root: nobody cannot read them */
		CHECK("fs: unreadable snapshot is SNAP_ERROR, EACCES",
		    snapshot_open(dir, "m", &s, err, sizeof(err)) ==
		    SNAP_ERROR && strstr(err, "Permission denied") != NULL);
		printf("# %s\n", err);
	}
	_exit(unit_done());
}

static int
run_child(void (*fn)(const char *), const char *arg, int newns)
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Counts start again: the parent keeps its own. */
		unit_passed = unit_failed = 0;
		if (newns && (unshare(CLONE_NEWNS) != 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)) {
			printf("# mount namespace: %s\n", strerror(errno));
			_exit(100);
		}
		fn(arg);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
test_commit_fails_fs(void)
{
	char mp[512], dir[512];
	struct buf cdb0 = BUF_INIT, dig0 = BUF_INIT;
	int r;

	mkdir_in(mp, sizeof(mp), "mnt");
	r = run_child(fs_child, mp, 1);
	if (r == 100) {
		skip("fs: full file system gives -1",
		    "no mount namespace (needs CAP_SYS_ADMIN)");
		skip("fs: read-only file system gives -1",
		    "no mount namespace (needs CAP_SYS_ADMIN)");
	} else if (r != 0) {
		unit_failed++;
	}

	fresh(dir, sizeof(dir), "perm");
	save_pair(dir, &cdb0, &dig0);
	chmod(top, 0755);
	chmod(dir, 0555);
	r = run_child(perm_child, dir, 0);
	chmod(dir, 0755);
	if (r == 100)
		skip("fs: unwritable directory gives -1",
		    "cannot become nobody");
	else if (r != 0)
		unit_failed++;
	check_intact("fs: EACCES", dir, &cdb0, &dig0);
	buf_free(&cdb0);
	buf_free(&dig0);
}

/* A writer whose read started earlier never replaces a later one, even
 * when it commits last (the daemon's rebuild racing `lookupd sync`). */
static void
test_read_time(void)
{
	char dir[512], err[256];
	struct snapwriter *old_w, *new_w;
	struct timespec t_old = { 1700000000, 5 }, t_new = { 1700000000, 6 };
	struct snapshot *s = NULL;
	struct buf v = BUF_INIT;
	struct stat st;

	mkdir_in(dir, sizeof(dir), "readtime");
	old_w = snapwriter_new(dir, "m", 0);
	new_w = snapwriter_new(dir, "m", 0);
	snapwriter_set_time(old_w, &t_old);
	snapwriter_set_time(new_w, &t_new);
	snapwriter_add(old_w, "k", 1, "old", 3, "cn=x");
	snapwriter_add(new_w, "k", 1, "new", 3, "cn=x");
	CHECK("read time: newer read commits first",
	    snapwriter_commit(new_w, NULL, NULL, err, sizeof(err)) == 0);
	CHECK("read time: older read commits last, without error",
	    snapwriter_commit(old_w, NULL, NULL, err, sizeof(err)) == 0);
	CHECK("read time: the newer snapshot stays",
	    snapshot_open(dir, "m", &s, err, sizeof(err)) == SNAP_OK);
	if (s) {
		get_str(s, "k", &v);
		CHECK_STR("read time: its value", v.p, "new");
		CHECK("read time: snapshot_built is the read time",
		    snapshot_built(s) == t_new.tv_sec);
		snapshot_close(s);
	}
	path_of(dir + strlen(dir), sizeof(dir) - strlen(dir), "", "m.cdb");
	CHECK("read time: the file's mtime is the read time",
	    stat(dir, &st) == 0 && st.st_mtim.tv_sec == t_new.tv_sec &&
	    st.st_mtim.tv_nsec == t_new.tv_nsec);
	buf_free(&v);
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--sigbus-child") == 0)
		sigbus_child(argv[2], argv[3], argv[4]);
	log_open("t_snapshot", 1);
	unit_tmpdir(top, sizeof(top), "t_snapshot");
	test_build_and_get();
	test_single();
	test_scale();
	test_names();
	test_damage();
	test_crafted();
	test_sigbus();
	test_changed();
	test_between_renames();
	test_commit_fails_plain();
	test_commit_fails_fs();
	test_stale();
	test_two_writers();
	test_read_time();
	unit_rmtree(top);
	return unit_done();
}
