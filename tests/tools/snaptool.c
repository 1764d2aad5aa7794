/*
 * snaptool: lookupd/snapshot.c and snapwriter.c from the command line,
 * for integration tests and measurements (not installed).
 *
 *   snaptool build DIR MAP [--single] < records   key<TAB>value[<TAB>dn]
 *   snaptool batch DIR MAP [--single] < changes   the snapshot in place
 *                                   with changes applied (snapwriter_from):
 *                                   +key<TAB>value[<TAB>dn]  add a value
 *                                   =key<TAB>value[<TAB>dn]  replace
 *                                   -key                     delete
 *   snaptool get DIR MAP KEY        prints the value; exit 0 found,
 *                                   1 not found, 2 error or damaged
 *   snaptool verify DIR MAP         "ok N keys"; exit 0, 1 missing or
 *                                   damaged, 2 error
 *   snaptool dump DIR MAP           key<TAB>value per record (foreach)
 *   snaptool bench DIR MAP N        N lookups of random keys of the map
 *   snaptool hold DIR MAP           open, look every key up once, and
 *                                   print the process's memory each time
 *
 * build and batch print one line per conflict of a single map on stderr:
 * "conflict: MAP KEY: DN; DN", then the commit's time, and exit 1 when
 * the commit fails (batch: 3 when the snapshot was replaced meanwhile).
 * Keys given to get are lowercased first, as Postfix and lookupd do.
 * SNAPTOOL_VERBOSE=1 in the environment shows the commit's debug lines
 * (its phases, bench/snapwriter.py --phases).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/log.h"
#include "lookupd/snapshot.h"
#include "lookupd/snapwriter.h"

static void
usage(void)
{
	fprintf(stderr, "usage: snaptool build DIR MAP [--single] < records\n"
	    "       snaptool batch DIR MAP [--single] < changes\n"
	    "       snaptool get DIR MAP KEY\n"
	    "       snaptool verify DIR MAP\n"
	    "       snaptool dump DIR MAP\n"
	    "       snaptool bench DIR MAP N\n"
	    "       snaptool hold DIR MAP\n");
	exit(2);
}

static void
on_conflict(const char *map, const char *key, const char *const *dns,
    size_t ndns, void *arg)
{
	size_t *n = arg;

	fprintf(stderr, "conflict: %s %s:", map, key);
	for (size_t i = 0; i < ndns; i++)
		fprintf(stderr, "%s %s", i ? ";" : "", dns[i]);
	fputc('\n', stderr);
	(*n)++;
}

/* Split "key<TAB>value[<TAB>dn]" in place; -1 without a tab. */
static int
split_rec(char *line, char *end, char **val, char **vend, const char **dn)
{
	char *tab1 = memchr(line, '\t', (size_t)(end - line)), *tab2;

	*dn = "";
	if (tab1 == NULL)
		return -1;
	tab2 = memchr(tab1 + 1, '\t', (size_t)(end - tab1 - 1));
	if (tab2 != NULL) {
		*tab2 = '\0';
		*dn = tab2 + 1;
	} else {
		tab2 = end;
	}
	*tab1 = '\0';
	*val = tab1 + 1;
	*vend = tab2;
	return 0;
}

/* Read stdin into w (batch: each line starts with + = or -), commit. */
static int
feed_and_commit(struct snapwriter *w, int batch)
{
	char *line = NULL, err[1024];
	size_t cap = 0, nconf = 0, nrec = 0;
	ssize_t len;
	struct timespec t0, t1;
	int rc;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		char *k = line, *end = line + len, *val, *vend;
		const char *dn;
		char op = '+';

		if (end[-1] == '\n')
			*--end = '\0';
		if (batch)
			op = *k++;
		if (op == '-') {
			snapwriter_delete(w, k, (size_t)(end - k));
			nrec++;
			continue;
		}
		if ((op != '+' && op != '=') ||
		    split_rec(k, end, &val, &vend, &dn) != 0) {
			fprintf(stderr, "snaptool: bad line\n");
			continue;
		}
		if (op == '+')
			snapwriter_add(w, k, strlen(k), val,
			    (size_t)(vend - val), dn);
		else
			snapwriter_replace(w, k, strlen(k), val,
			    (size_t)(vend - val), dn);
		nrec++;
	}
	free(line);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = snapwriter_commit(w, on_conflict, &nconf, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "snaptool: %s\n", err);
		return rc == 1 ? 3 : 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "snaptool: %zu %s, %zu conflicts, commit %.3f s\n",
	    nrec, batch ? "changes" : "records", nconf,
	    (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

static int
cmd_build(const char *dir, const char *map, int single)
{
	return feed_and_commit(snapwriter_new(dir, map, single), 0);
}

static struct snapshot *open_or_die(const char *dir, const char *map,
    int *status);

static int
cmd_batch(const char *dir, const char *map, int single)
{
	int st;
	struct snapshot *base = open_or_die(dir, map, &st);

	if (base == NULL)
		return 2;
	st = feed_and_commit(snapwriter_from(base, dir, map, single), 1);
	snapshot_close(base);
	return st;
}

static struct snapshot *
open_or_die(const char *dir, const char *map, int *status)
{
	struct snapshot *s;
	char err[1024];
	enum snap_status st = snapshot_open(dir, map, &s, err, sizeof(err));

	switch (st) {
	case SNAP_OK:
		*status = 0;
		return s;
	case SNAP_MISSING:
		printf("missing: %s\n", err);
		*status = 1;
		return NULL;
	case SNAP_DAMAGED:
		printf("damaged: %s\n", err);
		*status = 1;
		return NULL;
	default:
		printf("error: %s\n", err);
		*status = 2;
		return NULL;
	}
}

static int
cmd_get(const char *dir, const char *map, const char *key)
{
	size_t klen = strlen(key), vlen;
	const char *val;
	char *k = xstrdup(key);
	struct snapshot *s;
	int st, r;

	for (size_t i = 0; i < klen; i++)
		if (k[i] >= 'A' && k[i] <= 'Z')
			k[i] = (char)(k[i] - 'A' + 'a');
	s = open_or_die(dir, map, &st);
	if (s == NULL) {
		free(k);
		return 2;
	}
	r = snapshot_get(s, k, klen, &val, &vlen);
	if (r == 1) {
		fwrite(val, 1, vlen, stdout);
		putchar('\n');
	}
	snapshot_close(s);
	free(k);
	return r == 1 ? 0 : r == 0 ? 1 : 2;
}

static int
cmd_verify(const char *dir, const char *map)
{
	int st;
	struct snapshot *s = open_or_die(dir, map, &st);

	if (s == NULL)
		return st;
	printf("ok %zu keys\n", snapshot_count(s));
	snapshot_close(s);
	return 0;
}

static int
print_rec(const char *key, size_t klen, const char *val, size_t vlen,
    void *arg)
{
	fwrite(key, 1, klen, stdout);
	putchar('\t');
	fwrite(val, 1, vlen, stdout);
	putchar('\n');
	return 0;
}

static int
cmd_dump(const char *dir, const char *map)
{
	int st;
	struct snapshot *s = open_or_die(dir, map, &st);

	if (s == NULL)
		return st;
	st = snapshot_foreach(s, print_rec, NULL);
	snapshot_close(s);
	return st == 0 ? 0 : 2;
}

struct keys {
	struct buf text;	/* key bytes, one after the other */
	size_t *off;
	size_t n, cap;
};

static int
collect(const char *key, size_t klen, const char *val, size_t vlen,
    void *arg)
{
	struct keys *k = arg;

	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 1024;
		k->off = xreallocarray(k->off, k->cap + 1, sizeof(*k->off));
	}
	k->off[k->n++] = k->text.len;
	buf_append(&k->text, key, klen);
	k->off[k->n] = k->text.len;
	return 0;
}

static void
print_mem(const char *when)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0 ||
		    strncmp(line, "RssAnon:", 8) == 0 ||
		    strncmp(line, "RssFile:", 8) == 0 ||
		    strncmp(line, "VmHWM:", 6) == 0)
			printf("%s %s", when, line);
	fclose(f);
}

struct holdarg {
	struct snapshot *s;
	size_t found, n;
};

static int
lookup_back(const char *key, size_t klen, const char *val, size_t vlen,
    void *arg)
{
	struct holdarg *h = arg;
	const char *v;
	size_t vl;

	h->n++;
	if (snapshot_get(h->s, key, klen, &v, &vl) == 1 && vl == vlen &&
	    memcmp(v, val, vl) == 0)
		h->found++;
	return 0;
}

/* Open, print the memory, look every key up once, print it again. */
static int
cmd_hold(const char *dir, const char *map)
{
	struct holdarg h = { NULL, 0, 0 };
	int st;

	print_mem("before-open");
	h.s = open_or_die(dir, map, &st);
	if (h.s == NULL)
		return st;
	print_mem("after-open");
	st = snapshot_foreach(h.s, lookup_back, &h);
	print_mem("after-lookups");
	printf("%zu keys, %zu found again\n", h.n, h.found);
	snapshot_close(h.s);
	return st == 0 && h.found == h.n ? 0 : 1;
}

static int
cmd_bench(const char *dir, const char *map, long n)
{
	struct keys k = { BUF_INIT, NULL, 0, 0 };
	struct timespec t0, t1;
	struct snapshot *s;
	unsigned long long found = 0, x = 88172645463325252ULL;
	double secs;
	int st;

	s = open_or_die(dir, map, &st);
	if (s == NULL)
		return st;
	if (snapshot_foreach(s, collect, &k) != 0 || k.n == 0 || n <= 0) {
		printf("no keys\n");
		snapshot_close(s);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		const char *val;
		size_t vlen, j;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = (size_t)(x % k.n);
		found += snapshot_get(s, k.text.p + k.off[j],
		    k.off[j + 1] - k.off[j], &val, &vlen) == 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%ld lookups of %zu keys, %llu found, %.3f s, %.0f lookups/s\n",
	    n, k.n, found, secs, (double)n / secs);
	buf_free(&k.text);
	free(k.off);
	snapshot_close(s);
	return found == (unsigned long long)n ? 0 : 1;
}

int
main(int argc, char **argv)
{
	log_open("snaptool", 1);
	if (getenv("SNAPTOOL_VERBOSE") != NULL)
		log_set_verbose(1);
	if (argc < 4)
		usage();
	if (strcmp(argv[1], "build") == 0 || strcmp(argv[1], "batch") == 0) {
		int single = argc == 5 && strcmp(argv[4], "--single") == 0;

		if (argc != 4 && !single)
			usage();
		return argv[1][1] == 'u' ? cmd_build(argv[2], argv[3], single) :
		    cmd_batch(argv[2], argv[3], single);
	}
	if (strcmp(argv[1], "get") == 0 && argc == 5)
		return cmd_get(argv[2], argv[3], argv[4]);
	if (strcmp(argv[1], "verify") == 0 && argc == 4)
		return cmd_verify(argv[2], argv[3]);
	if (strcmp(argv[1], "dump") == 0 && argc == 4)
		return cmd_dump(argv[2], argv[3]);
	if (strcmp(argv[1], "bench") == 0 && argc == 5)
		return cmd_bench(argv[2], argv[3], strtol(argv[4], NULL, 10));
	if (strcmp(argv[1], "hold") == 0 && argc == 4)
		return cmd_hold(argv[2], argv[3]);
	usage();
	return 2;
}
