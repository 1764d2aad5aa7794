/*
 * t_cdbout: lookupd/cdbout.c writes the bytes tinycdb's cdb_make writes
 * for the same records in the same order: random keys and values (empty
 * ones, binary bytes, keys given twice, one value larger than the write
 * buffer), no record at all, and files made partly of records copied
 * from another cdb file (runs of every length, records dropped between
 * them, new records added between them), as a batch commit makes them.
 * The files must be the same bytes, and tinycdb must find every key.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cdb.h>

#include "lookupd/cdbout.h"
#include "unit.h"

#define NREC	20000
#define BIGVAL	(300 * 1024)

static char top[256];

struct rec {
	char *key, *val;
	size_t klen, vlen;
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static char *
rnd_bytes(size_t n, int binary)
{
	char *p = malloc(n + 1);

	unit_must(p != NULL, "malloc");
	for (size_t i = 0; i < n; i++)
		p[i] = binary ? (char)(rnd() & 255) : (char)('a' + rnd() % 26);
	p[n] = '\0';
	return p;
}

static struct rec *
make_recs(size_t n)
{
	struct rec *r = calloc(n, sizeof(*r));

	unit_must(r != NULL, "calloc");
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && rnd() % 50 == 0) {
			/* A key given twice (cdb keeps both records). */
			size_t j = rnd() % i;

			r[i].klen = r[j].klen;
			r[i].key = malloc(r[i].klen + 1);
			unit_must(r[i].key != NULL, "malloc");
			memcpy(r[i].key, r[j].key, r[i].klen + 1);
		} else {
			r[i].klen = rnd() % 60;
			r[i].key = rnd_bytes(r[i].klen, rnd() % 4 == 0);
		}
		r[i].vlen = rnd() % 10 == 0 ? 0 : rnd() % 80;
		if (i == n / 2)
			r[i].vlen = BIGVAL;
		r[i].val = rnd_bytes(r[i].vlen, rnd() % 3 == 0);
	}
	return r;
}

static void
free_recs(struct rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].key);
		free(r[i].val);
	}
	free(r);
}

static int
open_new(const char *name, char *path, size_t n)
{
	int fd;

	snprintf(path, n, "%s/%s", top, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	unit_must(fd >= 0, path);
	return fd;
}

/* The file of the records at idx[] (n of them), by tinycdb. */
static void
write_tinycdb(const char *name, char *path, size_t psz,
    const struct rec *r, const size_t *idx, size_t n)
{
	struct cdb_make cm;
	int fd = open_new(name, path, psz);

	unit_must(cdb_make_start(&cm, fd) == 0, "cdb_make_start");
	for (size_t i = 0; i < n; i++)
		unit_must(cdb_make_add(&cm, r[idx[i]].key,
		    (unsigned)r[idx[i]].klen, r[idx[i]].val,
		    (unsigned)r[idx[i]].vlen) == 0, "cdb_make_add");
	unit_must(cdb_make_finish(&cm) == 0, "cdb_make_finish");
	close(fd);
}

static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *p;
	int fd = open(path, O_RDONLY);

	unit_must(fd >= 0 && fstat(fd, &st) == 0, path);
	p = malloc((size_t)st.st_size + 1);
	unit_must(p != NULL, "malloc");
	unit_must(read(fd, p, (size_t)st.st_size) == st.st_size, "read");
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static int
same_file(const char *a, const char *b)
{
	size_t la, lb;
	char *pa = slurp(a, &la), *pb = slurp(b, &lb);
	int same = la == lb && memcmp(pa, pb, la) == 0;

	free(pa);
	free(pb);
	return same;
}

static int
same_val(struct cdb *c, const struct rec *x)
{
	return cdb_datalen(c) == x->vlen && (x->vlen == 0 ||
	    memcmp(cdb_get(c, cdb_datalen(c), cdb_datapos(c)), x->val,
	    x->vlen) == 0);
}

/* tinycdb finds every key of idx[] in path, first value the first
 * record's. */
static int
all_found(const char *path, const struct rec *r, const size_t *idx,
    size_t n)
{
	struct cdb c;
	int fd = open(path, O_RDONLY), ok = 1;

	unit_must(fd >= 0 && cdb_init(&c, fd) == 0, "cdb_init");
	for (size_t i = 0; i < n && ok; i++) {
		const struct rec *x = &r[idx[i]];

		if (cdb_find(&c, x->key, (unsigned)x->klen) <= 0) {
			ok = 0;
			break;
		}
		ok = same_val(&c, x);
		if (!ok) {
			/* A key twice: the first record of it answers. */
			for (size_t j = 0; j < i; j++)
				if (r[idx[j]].klen == x->klen &&
				    memcmp(r[idx[j]].key, x->key,
				    x->klen) == 0) {
					ok = same_val(&c, &r[idx[j]]);
					break;
				}
		}
	}
	cdb_free(&c);
	close(fd);
	return ok;
}

static void
test_add(void)
{
	struct rec *r = make_recs(NREC);
	size_t *idx = malloc(NREC * sizeof(*idx));
	char want[512], got[512];
	struct cdbout *c;
	int fd;

	unit_must(idx != NULL, "malloc");
	for (size_t i = 0; i < NREC; i++)
		idx[i] = i;
	write_tinycdb("add.tiny", want, sizeof(want), r, idx, NREC);
	fd = open_new("add.out", got, sizeof(got));
	c = cdbout_new(fd);
	for (size_t i = 0; i < NREC; i++)
		unit_must(cdbout_add(c, r[i].key, r[i].klen, r[i].val,
		    r[i].vlen) == 0, "cdbout_add");
	CHECK("add: record count", cdbout_count(c) == NREC);
	unit_must(cdbout_finish(c) == 0, "cdbout_finish");
	cdbout_free(c);
	close(fd);
	CHECK("add: 20,000 random records, the bytes tinycdb writes",
	    same_file(want, got));
	CHECK("add: tinycdb finds every key", all_found(got, r, idx, NREC));
	free(idx);
	free_recs(r, NREC);
}

static void
test_empty(void)
{
	char want[512], got[512];
	struct cdbout *c;
	int fd;

	write_tinycdb("empty.tiny", want, sizeof(want), NULL, NULL, 0);
	fd = open_new("empty.out", got, sizeof(got));
	c = cdbout_new(fd);
	unit_must(cdbout_finish(c) == 0, "cdbout_finish");
	cdbout_free(c);
	close(fd);
	CHECK("empty: no record, the bytes tinycdb writes",
	    same_file(want, got));
}

/*
 * A base file of the first NREC records (by tinycdb); the new file keeps
 * most of them (copied from the base's mapping), drops some, and has new
 * records between them (added), some of them between two copied runs.
 */
static void
test_copy(unsigned keep_pct)
{
	struct rec *r = make_recs(NREC + NREC / 4);
	size_t *base = malloc(NREC * sizeof(*base));
	size_t *want_idx = malloc((NREC + NREC / 4) * sizeof(*want_idx));
	size_t nwant = 0, next_new = NREC, fsize;
	char bpath[512], want[512], got[512], name[80];
	const char *map;
	struct stat st;
	struct cdbout *c;
	int fd, bfd;
	size_t off = 2048;

	unit_must(base != NULL && want_idx != NULL, "malloc");
	for (size_t i = 0; i < NREC; i++)
		base[i] = i;
	write_tinycdb("base.tiny", bpath, sizeof(bpath), r, base, NREC);
	bfd = open(bpath, O_RDONLY);
	unit_must(bfd >= 0 && fstat(bfd, &st) == 0, "open base");
	fsize = (size_t)st.st_size;
	map = mmap(NULL, fsize, PROT_READ, MAP_SHARED, bfd, 0);
	unit_must(map != MAP_FAILED, "mmap base");

	snprintf(name, sizeof(name), "copy%u.out", keep_pct);
	fd = open_new(name, got, sizeof(got));
	c = cdbout_new(fd);
	for (size_t i = 0; i < NREC; i++) {
		/* The base's record i, as it stands in the file. */
		const char *rec = map + off;
		uint32_t kl = (uint8_t)rec[0] | (uint8_t)rec[1] << 8 |
		    (uint32_t)(uint8_t)rec[2] << 16 |
		    (uint32_t)(uint8_t)rec[3] << 24;
		uint32_t vl = (uint8_t)rec[4] | (uint8_t)rec[5] << 8 |
		    (uint32_t)(uint8_t)rec[6] << 16 |
		    (uint32_t)(uint8_t)rec[7] << 24;

		off += 8 + (size_t)kl + vl;
		if (next_new < NREC + NREC / 4 && rnd() % 100 >= keep_pct) {
			/* A new record before it. */
			unit_must(cdbout_add(c, r[next_new].key,
			    r[next_new].klen, r[next_new].val,
			    r[next_new].vlen) == 0, "cdbout_add");
			want_idx[nwant++] = next_new++;
		}
		if (rnd() % 100 >= keep_pct)
			continue;	/* dropped */
		unit_must(cdbout_copy(c, rec, kl, vl) == 0, "cdbout_copy");
		want_idx[nwant++] = i;
	}
	unit_must(cdbout_finish(c) == 0, "cdbout_finish");
	snprintf(name, sizeof(name), "copy%u: records written", keep_pct);
	CHECK(name, cdbout_count(c) == nwant);
	cdbout_free(c);
	close(fd);
	munmap((void *)map, fsize);
	close(bfd);

	snprintf(name, sizeof(name), "copy%u.tiny", keep_pct);
	write_tinycdb(name, want, sizeof(want), r, want_idx, nwant);
	snprintf(name, sizeof(name), "copy, %u%% of the records kept between "
	    "changes: the bytes tinycdb writes", keep_pct);
	CHECK(name, same_file(want, got));
	snprintf(name, sizeof(name), "copy%u: tinycdb finds every key",
	    keep_pct);
	CHECK(name, all_found(got, r, want_idx, nwant));
	free(base);
	free(want_idx);
	free_recs(r, NREC + NREC / 4);
}

int
main(void)
{
	unit_tmpdir(top, sizeof(top), "t_cdbout");
	test_add();
	test_empty();
	test_copy(100);
	test_copy(99);
	test_copy(70);
	test_copy(5);
	unit_rmtree(top);
	return unit_done();
}
