/*
 * cdbout: writing a cdb file (see cdbout.h).
 *
 * The format (D. J. Bernstein's cdb, as tinycdb writes it): a table of
 * contents of 256 (position, slots) pairs, the records (key length and
 * value length as 32-bit little-endian numbers, the key, the value),
 * then 256 hash tables.  A record goes to table hash & 255 (tinycdb's
 * cdb_hash of the key); a table of n records has 2n slots of (hash,
 * position), and each record, in file order, takes the first free slot
 * from (hash >> 8) % 2n on, wrapping around.  Empty tables take no
 * bytes and point where the next one starts.  Writing the same records
 * in the same order therefore gives the same bytes as tinycdb's
 * cdb_make, which tests/unit/t_cdbout.c checks on random files.
 *
 * Records are buffered (BUF_SIZE) and written with write(2); copied
 * records that lie one after the other in their file go out as one run,
 * straight from where they are mapped (a long run skips the buffer).
 * Only (hash, position) is kept per record, 8 bytes, in an anonymous
 * mapping given back at cdbout_free.  Every SYNC_STEP written, the
 * writeback of what is written is started (sync_file_range), so that
 * the caller's fsync waits for the tail only.
 *
 * Limits: the whole file under 4 GiB (32-bit positions), checked before
 * each record and before the tables (EFBIG).
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cdb.h>

#include "common/buf.h"
#include "lookupd/cdbout.h"

#define TOC		2048u
#define POS_MAX		0xffffffffULL
#define BUF_SIZE	((size_t)256 << 10)
#define SMALL_RUN	(BUF_SIZE / 4)	/* copied through the buffer */
#define SYNC_STEP	((uint64_t)8 << 20)
#define HP_MIN		((size_t)1 << 16)	/* slots of the first mapping */

struct slot {
	uint32_t hash, pos;
};

struct cdbout {
	int fd;
	uint64_t pos;		/* where the next record goes */
	uint64_t count;
	unsigned char *buf;	/* blen bytes not yet written */
	size_t blen;
	const char *run;	/* copied records after the buffer's */
	size_t runlen;
	uint64_t written;	/* handed to write(2) */
	uint64_t synced;	/* writeback started up to here */
	struct slot *hp;	/* one per record, in file order */
	size_t nhp, caphp;
};

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 255;
	p[1] = (v >> 8) & 255;
	p[2] = (v >> 16) & 255;
	p[3] = v >> 24;
}

static void *
map_anon(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

struct cdbout *
cdbout_new(int fd)
{
	struct cdbout *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->buf = xcalloc(1, BUF_SIZE);
	c->blen = TOC;		/* zeros, until cdbout_finish */
	c->pos = TOC;
	return c;
}

void
cdbout_free(struct cdbout *c)
{
	if (c == NULL)
		return;
	if (c->hp != NULL)
		munmap(c->hp, c->caphp * sizeof(*c->hp));
	free(c->buf);
	free(c);
}

uint64_t
cdbout_pos(const struct cdbout *c)
{
	return c->pos;
}

uint64_t
cdbout_count(const struct cdbout *c)
{
	return c->count;
}

/* Start the disk on what is written, but the last page (more may come
 * to it).  Advice: a failure is the caller's fsync's to see. */
static void
start_writeback(struct cdbout *c)
{
	if (c->written - c->synced < SYNC_STEP + 4096)
		return;
	(void)sync_file_range(c->fd, (off_t)c->synced,
	    (off_t)(c->written - c->synced - 4096), SYNC_FILE_RANGE_WRITE);
	c->synced = c->written - 4096;
}

static int
write_all(struct cdbout *c, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		size_t step = n < SYNC_STEP ? n : SYNC_STEP;
		ssize_t w = write(c->fd, s, step);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
		c->written += (uint64_t)w;
		start_writeback(c);
	}
	return 0;
}

static int
flush_buf(struct cdbout *c)
{
	if (c->blen > 0 && write_all(c, c->buf, c->blen) != 0)
		return -1;
	c->blen = 0;
	return 0;
}

static int
put(struct cdbout *c, const void *p, size_t n)
{
	if (n > BUF_SIZE - c->blen) {
		if (flush_buf(c) != 0)
			return -1;
		if (n >= BUF_SIZE)
			return write_all(c, p, n);
	}
	memcpy(c->buf + c->blen, p, n);
	c->blen += n;
	return 0;
}

/* The pending run of copied records goes out after the buffer's bytes. */
static int
flush_run(struct cdbout *c)
{
	int r;

	if (c->runlen == 0)
		return 0;
	if (c->runlen <= SMALL_RUN)
		r = put(c, c->run, c->runlen);
	else
		r = flush_buf(c) != 0 ? -1 : write_all(c, c->run, c->runlen);
	c->run = NULL;
	c->runlen = 0;
	return r;
}

/* Room for the record of klen + vlen bytes, and its slot. */
static int
room(struct cdbout *c, size_t klen, size_t vlen)
{
	if (klen > POS_MAX || vlen > POS_MAX ||
	    8 + (uint64_t)klen + vlen > POS_MAX - c->pos) {
		errno = EFBIG;
		return -1;
	}
	if (c->nhp == c->caphp) {
		size_t ncap = c->caphp ? c->caphp * 2 : HP_MIN;
		void *p = c->hp == NULL ? map_anon(ncap * sizeof(*c->hp)) :
		    mremap(c->hp, c->caphp * sizeof(*c->hp),
		    ncap * sizeof(*c->hp), MREMAP_MAYMOVE);

		if (p == NULL || p == MAP_FAILED) {
			errno = ENOMEM;
			return -1;
		}
		c->hp = p;
		c->caphp = ncap;
	}
	return 0;
}

static void
note_record(struct cdbout *c, const char *key, size_t klen, size_t vlen)
{
	c->hp[c->nhp].hash = cdb_hash(key, (unsigned)klen);
	c->hp[c->nhp].pos = (uint32_t)c->pos;
	c->nhp++;
	c->pos += 8 + klen + vlen;
	c->count++;
}

int
cdbout_add(struct cdbout *c, const char *key, size_t klen, const char *val,
    size_t vlen)
{
	unsigned char head[8];

	if (room(c, klen, vlen) != 0 || flush_run(c) != 0)
		return -1;
	put32(head, (uint32_t)klen);
	put32(head + 4, (uint32_t)vlen);
	if (put(c, head, 8) != 0 || put(c, key, klen) != 0 ||
	    put(c, val, vlen) != 0)
		return -1;
	note_record(c, key, klen, vlen);
	return 0;
}

int
cdbout_copy(struct cdbout *c, const char *rec, size_t klen, size_t vlen)
{
	if (room(c, klen, vlen) != 0)
		return -1;
	if (c->runlen > 0 && rec != c->run + c->runlen && flush_run(c) != 0)
		return -1;
	if (c->runlen == 0)
		c->run = rec;
	c->runlen += 8 + klen + vlen;
	note_record(c, rec + 8, klen, vlen);
	return 0;
}

int
cdbout_finish(struct cdbout *c)
{
	uint32_t cnt[256] = { 0 }, start[256], max = 0;
	unsigned char toc[TOC];
	struct slot *order = NULL, *tab = NULL;
	unsigned char *packed = NULL;
	uint64_t tpos = c->pos;
	size_t osz = 0, tsz = 0;
	int rc = -1;

	if (flush_run(c) != 0)
		return -1;
	if ((uint64_t)c->nhp * 16 > POS_MAX - c->pos) {
		errno = EFBIG;
		return -1;
	}
	for (size_t i = 0; i < c->nhp; i++)
		cnt[c->hp[i].hash & 255]++;
	for (unsigned t = 0, s = 0; t < 256; t++) {
		start[t] = s;
		s += cnt[t];
		if (cnt[t] > max)
			max = cnt[t];
	}
	if (c->nhp > 0) {
		/* Each table's records, still in file order. */
		osz = c->nhp * sizeof(*order);
		tsz = (size_t)max * 2 * sizeof(*tab);
		order = map_anon(osz);
		tab = map_anon(tsz);
		packed = map_anon(tsz);
		if (order == NULL || tab == NULL || packed == NULL) {
			errno = ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < c->nhp; i++)
			order[start[c->hp[i].hash & 255]++] = c->hp[i];
	}
	for (unsigned t = 0, s = 0; t < 256; t++) {
		uint32_t len = cnt[t] * 2;

		put32(toc + t * 8, (uint32_t)tpos);
		put32(toc + t * 8 + 4, len);
		if (len == 0)
			continue;
		memset(tab, 0, (size_t)len * sizeof(*tab));
		for (uint32_t i = 0; i < cnt[t]; i++) {
			const struct slot *r = &order[s + i];
			uint32_t hi = (r->hash >> 8) % len;

			while (tab[hi].pos != 0)
				if (++hi == len)
					hi = 0;
			tab[hi] = *r;
		}
		for (uint32_t i = 0; i < len; i++) {
			put32(packed + i * 8, tab[i].hash);
			put32(packed + i * 8 + 4, tab[i].pos);
		}
		if (put(c, packed, (size_t)len * 8) != 0)
			goto out;
		tpos += (uint64_t)len * 8;
		s += cnt[t];
	}
	if (flush_buf(c) != 0)
		goto out;
	for (ssize_t w = 0, off = 0; off < (ssize_t)TOC; off += w) {
		w = pwrite(c->fd, toc + off, TOC - (size_t)off, off);
		if (w < 0 && errno != EINTR)
			goto out;
		if (w < 0)
			w = 0;
	}
	rc = 0;
out:
	if (order != NULL)
		munmap(order, osz);
	if (tab != NULL)
		munmap(tab, tsz);
	if (packed != NULL)
		munmap(packed, tsz);
	return rc;
}
