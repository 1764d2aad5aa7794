/*
 * snapshot: reading one map's snapshot, a Postfix cdb: table
 * (<dir>/<map>.cdb) with its SHA-256 digest beside it (snapfile.h).  The
 * writer is snapwriter.c.
 *
 * The file is opened once; everything is checked through that
 * descriptor: its bytes are hashed with read(2), compared with the digest,
 * then mapped (cdb_init) and the whole layout is walked (header, every
 * record, every hash table inside the file and consistent with the
 * records).  Every lookup still checks what it reads against the file
 * size, because a file changed in place after it was verified must not
 * make us read outside the mapping.  A file truncated in place under the
 * mapping raises SIGBUS: lookups run under a thread-local guard whose
 * SIGBUS handler siglongjmps back, and the snapshot then answers -1
 * forever.  The handler is installed once, at the first snapshot_open or
 * snapshot_foreach; a SIGBUS outside a guarded read goes to the handler
 * that was there before, or takes the default action (core dump).
 *
 * The writer renames the digest into place first, then the cdb: a reader
 * that sees the new digest beside the old file retries once after a short
 * pause (RETRY_NS).
 *
 * Limits: those of snapfile.h; keys longer than SNAP_KEY_MAX are never
 * found (never written).
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdb.h>
#include <openssl/evp.h>

#include "common/buf.h"
#include "common/hex.h"
#include "common/log.h"
#include "lookupd/snapfile.h"
#include "lookupd/snapshot.h"

#define RETRY_NS	50000000L	/* 50 ms between two reads of a pair */

static uint32_t
unpack32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* ------------------------------------------------------------------ */
/* The SIGBUS guard                                                     */

/*
 * One per thread: the jump buffer of the guarded read in progress and the
 * mapping it reads.  Initial-exec TLS in a static library, so reading it
 * from the handler is async-signal-safe.
 */
struct guard {
	sigjmp_buf *jb;
	const unsigned char *lo, *hi;
};
static __thread struct guard guard;
static struct sigaction bus_old;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

static void
bus_handler(int sig, siginfo_t *si, void *uctx)
{
	struct guard *g = &guard;
	const unsigned char *addr = si ? (const unsigned char *)si->si_addr :
	    NULL;

	if (g->jb != NULL && si != NULL && si->si_code > 0 &&
	    addr >= g->lo && addr < g->hi) {
		sigjmp_buf *jb = g->jb;

		g->jb = NULL;
		siglongjmp(*jb, 1);
	}
	/* Not one of ours: whatever handled SIGBUS before gets it. */
	if ((bus_old.sa_flags & SA_SIGINFO) &&
	    bus_old.sa_sigaction != NULL) {
		bus_old.sa_sigaction(sig, si, uctx);
		return;
	}
	if (bus_old.sa_handler != SIG_DFL && bus_old.sa_handler != SIG_IGN) {
		bus_old.sa_handler(sig);
		return;
	}
	/* The default action: a fault re-runs the access when we return,
	 * a sent signal is raised again. */
	signal(SIGBUS, SIG_DFL);
	if (si == NULL || si->si_code <= 0)
		raise(sig);
}

static void
bus_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = bus_handler;
	sigemptyset(&sa.sa_mask);
	/* SA_NODEFER: leaving by siglongjmp must not leave SIGBUS blocked,
	 * and sigsetjmp(.., 0) then needs no sigprocmask per lookup. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	if (sigaction(SIGBUS, &sa, &bus_old) != 0 ||
	    sigaction(SIGBUS, NULL, &sa) != 0 ||
	    sa.sa_sigaction != bus_handler)
		/* e.g. AddressSanitizer with allow_user_segv_handler=0 */
		log_warn("snapshot: the SIGBUS handler could not be installed: "
		    "a snapshot truncated in place will crash this process");
}

static inline void
guard_on(sigjmp_buf *jb, const unsigned char *mem, size_t size)
{
	guard.lo = mem;
	guard.hi = mem + size;
	guard.jb = jb;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void
guard_off(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	guard.jb = NULL;
}

struct snapshot {
	struct cdb cdb;		/* mem, fsize, dend: fixed once open */
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
	size_t count;
	int sorted;		/* keys strictly increasing, file order */
	int damaged;		/* __atomic: a fault or bad record seen */
	int refs;		/* under reg_mu: snapshot_ref + 1 */
	struct snapshot *reg_next;	/* the registry, under reg_mu */
};

/*
 * Every snapshot open in the process, verified or written here
 * (snapshot_adopt): opening a file whose identity (device, inode, size,
 * mtime) is one of them gives that one, not hashed and walked again.
 * Persist sync's answers and its next batch so share the file its last
 * commit wrote (at 1,000,000 entries a verification reads 334 MB), and a
 * reopen after a replacement verifies only what nobody here wrote.
 */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *reg_head;

static void
reg_add(struct snapshot *s)
{
	pthread_mutex_lock(&reg_mu);
	s->refs = 1;
	s->reg_next = reg_head;
	reg_head = s;
	pthread_mutex_unlock(&reg_mu);
}

/* The live snapshot of path that is the file st describes, with one more
 * reference; NULL if none. */
static struct snapshot *
reg_find(const char *path, const struct stat *st)
{
	struct snapshot *s;

	pthread_mutex_lock(&reg_mu);
	for (s = reg_head; s != NULL; s = s->reg_next)
		if (s->refs > 0 && s->dev == st->st_dev &&
		    s->ino == st->st_ino && s->size == st->st_size &&
		    s->mtim.tv_sec == st->st_mtim.tv_sec &&
		    s->mtim.tv_nsec == st->st_mtim.tv_nsec &&
		    !__atomic_load_n(&s->damaged, __ATOMIC_RELAXED) &&
		    strcmp(s->path, path) == 0)
			break;
	if (s != NULL)
		s->refs++;
	pthread_mutex_unlock(&reg_mu);
	return s;
}

static int
is_damaged(const struct snapshot *s)
{
	return __atomic_load_n(&s->damaged, __ATOMIC_RELAXED);
}

static void
set_damaged(struct snapshot *s)
{
	__atomic_store_n(&s->damaged, 1, __ATOMIC_RELAXED);
}

/* Is the key at b (blen bytes) after the one at a? */
static int
key_after(const unsigned char *a, uint32_t alen, const unsigned char *b,
    uint32_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c < 0 || (c == 0 && alen < blen);
}

/*
 * Check the layout of the mapped file: header, every record, every hash
 * table.  Called under the guard.  0 with *count and *sorted (the keys
 * strictly increasing in file order), or -1 with why.
 */
static int
check_layout(const unsigned char *mem, uint32_t fsize, size_t *count,
    int *sorted, char *why, size_t whysz)
{
	uint32_t dend, pos, prev = 0, prevlen = 0;
	uint64_t slots = 0;
	size_t n = 0;

	if (fsize < CDB_TOC) {
		log_errf(why, whysz, "truncated: %u bytes, less than a cdb "
		    "header", (unsigned)fsize);
		return -1;
	}
	dend = unpack32(mem);
	if (dend < CDB_TOC || dend > fsize) {
		log_errf(why, whysz, "bad cdb header: data ends at %u, file "
		    "size %u", (unsigned)dend, (unsigned)fsize);
		return -1;
	}
	for (unsigned t = 0; t < 256; t++) {
		uint32_t hpos = unpack32(mem + 8 * t);
		uint32_t hlen = unpack32(mem + 8 * t + 4);

		if (hpos < dend || hpos > fsize ||
		    hlen > (fsize - hpos) / 8) {
			log_errf(why, whysz, "bad cdb header: hash table %u "
			    "(%u slots at %u) is outside the file of %u "
			    "bytes (truncated?)", t, (unsigned)hlen,
			    (unsigned)hpos, (unsigned)fsize);
			return -1;
		}
		slots += hlen;
	}
	if (slots * 8 != (uint64_t)(fsize - dend)) {
		log_errf(why, whysz, "bad cdb: hash tables hold %llu bytes, "
		    "%u follow the data", (unsigned long long)(slots * 8),
		    (unsigned)(fsize - dend));
		return -1;
	}
	for (pos = CDB_TOC; pos < dend; n++) {
		uint32_t klen, vlen;

		if (dend - pos < 8)
			goto bad;
		klen = unpack32(mem + pos);
		vlen = unpack32(mem + pos + 4);
		pos += 8;
		if (dend - pos < klen)
			goto bad;
		if (n > 0 && *sorted && !key_after(mem + prev, prevlen,
		    mem + pos, klen))
			*sorted = 0;
		prev = pos;
		prevlen = klen;
		pos += klen;
		if (dend - pos < vlen)
			goto bad;
		pos += vlen;
	}
	if (slots != 2 * (uint64_t)n) {
		log_errf(why, whysz, "bad cdb: %zu records but %llu hash slots",
		    n, (unsigned long long)slots);
		return -1;
	}
	*count = n;
	return 0;
bad:
	log_errf(why, whysz, "bad cdb: record %zu at offset %u runs past the "
	    "data", n, (unsigned)pos);
	return -1;
}

static int
guarded_check(struct snapshot *s, char *why, size_t whysz)
{
	sigjmp_buf jb;
	int r;

	if (sigsetjmp(jb, 0) != 0) {
		log_errf(why, whysz, "file shrank while being read (SIGBUS)");
		return -1;
	}
	guard_on(&jb, s->cdb.cdb_mem, s->cdb.cdb_fsize);
	s->sorted = 1;
	r = check_layout(s->cdb.cdb_mem, s->cdb.cdb_fsize, &s->count,
	    &s->sorted, why, whysz);
	guard_off();
	return r;
}

/* How large the header says the file is (for a better message). */
static uint64_t
header_extent(int fd)
{
	unsigned char toc[CDB_TOC];
	uint64_t ext = 0;

	if (snapfile_pread(fd, toc, sizeof(toc), 0) != (ssize_t)sizeof(toc))
		return 0;
	for (unsigned t = 0; t < 256; t++) {
		uint64_t end = (uint64_t)unpack32(toc + 8 * t) +
		    8 * (uint64_t)unpack32(toc + 8 * t + 4);

		if (end > ext)
			ext = end;
	}
	return ext;
}

/* Read and parse <map>.cdb.sha256; SNAP_OK, or a status with err. */
static enum snap_status
read_digest(const char *dpath, const char *map, unsigned char want[32],
    char *err, size_t errsz)
{
	char text[DIGEST_MAX + 1];
	ssize_t n;
	int fd, r;

	fd = open(dpath, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			log_errf(err, errsz,
			    "digest file %s is missing", dpath);
			return SNAP_DAMAGED;
		}
		log_errf(err, errsz, "cannot open %s: %s", dpath,
		    strerror(errno));
		return SNAP_ERROR;
	}
	n = snapfile_pread(fd, text, sizeof(text) - 1, 0);
	r = errno;
	close(fd);
	if (n < 0) {
		log_errf(err, errsz, "reading %s: %s", dpath, strerror(r));
		return SNAP_ERROR;
	}
	text[n] = '\0';
	switch (snapfile_digest_parse(text, map, want)) {
	case 0:
		return SNAP_OK;
	case -2:
		log_errf(err, errsz, "digest file %s is not about %s.cdb",
		    dpath, map);
		return SNAP_DAMAGED;
	default:
		log_errf(err, errsz, "digest file %s is malformed", dpath);
		return SNAP_DAMAGED;
	}
}

/* One attempt at opening and verifying; s->path is set. */
static enum snap_status
open_once(struct snapshot *s, const char *dpath, const char *map, char *err,
    size_t errsz)
{
	unsigned char want[32], got[32];
	char whex[65], ghex[65], why[256];
	struct stat st, st2;
	enum snap_status rs;
	uint64_t hashed;
	int fd;

	fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			log_errf(err, errsz, "%s does not exist", s->path);
			return SNAP_MISSING;
		}
		log_errf(err, errsz, "cannot open %s: %s", s->path,
		    strerror(errno));
		return SNAP_ERROR;
	}
	if (fstat(fd, &st) != 0) {
		log_errf(err, errsz, "fstat %s: %s", s->path, strerror(errno));
		rs = SNAP_ERROR;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		log_errf(err, errsz, "%s is not a regular file", s->path);
		rs = SNAP_ERROR;
		goto fail;
	}
	if ((uint64_t)st.st_size > CDB_LIMIT) {
		log_errf(err, errsz, "%s is larger than 4 GiB: not a cdb file",
		    s->path);
		rs = SNAP_DAMAGED;
		goto fail;
	}
	rs = read_digest(dpath, map, want, err, errsz);
	if (rs != SNAP_OK)
		goto fail;
	if (snapfile_sha256(fd, got, &hashed) != 0) {
		log_errf(err, errsz, "reading %s: %s", s->path,
		    strerror(errno));
		rs = SNAP_ERROR;
		goto fail;
	}
	rs = SNAP_DAMAGED;
	if (hashed != (uint64_t)st.st_size) {
		log_errf(err, errsz,
		    "%s changed size while being read", s->path);
		goto fail;
	}
	if (memcmp(want, got, sizeof(want)) != 0) {
		uint64_t ext = st.st_size >= (off_t)CDB_TOC ?
		    header_extent(fd) : 0;

		if (st.st_size < (off_t)CDB_TOC)
			log_errf(err, errsz, "digest mismatch: %s is truncated "
			    "(%lld bytes, less than a cdb header)", s->path,
			    (long long)st.st_size);
		else if (ext > (uint64_t)st.st_size)
			log_errf(err, errsz, "digest mismatch: %s has %lld "
			    "bytes, its header asks for %llu (truncated?)",
			    s->path, (long long)st.st_size,
			    (unsigned long long)ext);
		else {
			hex_encode(want, 32, whex);
			hex_encode(got, 32, ghex);
			log_errf(err, errsz, "digest mismatch: %s hashes to "
			    "%.16s..., its digest file says %.16s...", s->path,
			    ghex, whex);
		}
		goto fail;
	}
	if (st.st_size < (off_t)CDB_TOC) {
		log_errf(err, errsz, "%s is truncated: %lld bytes, less than a "
		    "cdb header", s->path, (long long)st.st_size);
		goto fail;
	}
	if (cdb_init(&s->cdb, fd) != 0) {
		log_errf(err, errsz, "cannot map %s: %s", s->path,
		    strerror(errno));
		rs = SNAP_ERROR;
		goto fail;
	}
	if ((off_t)s->cdb.cdb_fsize != st.st_size) {
		log_errf(err, errsz, "%s changed while being opened", s->path);
		goto unmap;
	}
	if (guarded_check(s, why, sizeof(why)) != 0) {
		log_errf(err, errsz, "%s: %s", s->path, why);
		goto unmap;
	}
	if (fstat(fd, &st2) != 0 || st2.st_size != st.st_size ||
	    st2.st_mtim.tv_sec != st.st_mtim.tv_sec ||
	    st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec) {
		log_errf(err, errsz, "%s changed while being opened", s->path);
		goto unmap;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtim = st.st_mtim;
	/* The mapping keeps the file; the descriptor is not needed. */
	close(fd);
	s->cdb.cdb_fd = -1;
	return SNAP_OK;
unmap:
	cdb_free(&s->cdb);
fail:
	close(fd);
	memset(&s->cdb, 0, sizeof(s->cdb));
	return rs;
}

enum snap_status
snapshot_open(const char *dir, const char *map, struct snapshot **out,
    char *err, size_t errsz)
{
	char path[PATH_MAX], dpath[PATH_MAX];
	struct snapshot *s;
	enum snap_status rs;

	*out = NULL;
	if (!snapfile_valid_map(map)) {
		log_errf(err, errsz, "invalid map name");
		return SNAP_ERROR;
	}
	if (snapfile_path(path, sizeof(path), dir, "", map, ".cdb") != 0 ||
	    snapfile_path(dpath, sizeof(dpath), dir, "", map,
	    ".cdb.sha256") != 0) {
		log_errf(err, errsz, "path of map %s in %.100s is too long",
		    map, dir);
		return SNAP_ERROR;
	}
	pthread_once(&bus_once, bus_install);
	{
		struct stat st;

		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    (s = reg_find(path, &st)) != NULL) {
			*out = s;
			return SNAP_OK;
		}
	}
	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	rs = open_once(s, dpath, map, err, errsz);
	if (rs == SNAP_DAMAGED) {
		/* The digest and the file are renamed one after the other:
		 * a reader can fall between the two. */
		struct timespec ts = { 0, RETRY_NS };

		nanosleep(&ts, NULL);
		rs = open_once(s, dpath, map, err, errsz);
	}
	if (rs != SNAP_OK) {
		free(s->path);
		free(s);
		return rs;
	}
	reg_add(s);
	*out = s;
	return SNAP_OK;
}

/*
 * A file the caller has just written, fsynced and digested itself: the
 * bytes are what it hashed, so they are not hashed nor walked again (a
 * commit of a large map would otherwise read it twice more).  What
 * guards a verified snapshot guards this one: lookups check what they
 * read, SIGBUS is caught, snapshot_changed sees a replaced file.
 */
enum snap_status
snapshot_adopt(const char *path, int fd, size_t count, int sorted,
    struct snapshot **out, char *err, size_t errsz)
{
	struct snapshot *s;
	struct stat st;

	*out = NULL;
	pthread_once(&bus_once, bus_install);
	if (fstat(fd, &st) != 0) {
		log_errf(err, errsz, "fstat %s: %s", path, strerror(errno));
		return SNAP_ERROR;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)CDB_TOC ||
	    (uint64_t)st.st_size > CDB_LIMIT) {
		log_errf(err, errsz, "%s: not a cdb file", path);
		return SNAP_DAMAGED;
	}
	s = xcalloc(1, sizeof(*s));
	if (cdb_init(&s->cdb, fd) != 0 ||
	    (off_t)s->cdb.cdb_fsize != st.st_size) {
		log_errf(err, errsz, "cannot map %s: %s", path,
		    strerror(errno));
		if (s->cdb.cdb_mem != NULL)
			cdb_free(&s->cdb);
		free(s);
		return SNAP_ERROR;
	}
	s->cdb.cdb_fd = -1;	/* the caller's */
	s->path = xstrdup(path);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtim = st.st_mtim;
	s->count = count;
	s->sorted = sorted;
	reg_add(s);
	*out = s;
	return SNAP_OK;
}

struct snapshot *
snapshot_ref(struct snapshot *s)
{
	if (s != NULL) {
		pthread_mutex_lock(&reg_mu);
		s->refs++;
		pthread_mutex_unlock(&reg_mu);
	}
	return s;
}

void
snapshot_close(struct snapshot *s)
{
	struct snapshot **pp;

	if (s == NULL)
		return;
	pthread_mutex_lock(&reg_mu);
	if (--s->refs > 0) {
		pthread_mutex_unlock(&reg_mu);
		return;
	}
	for (pp = &reg_head; *pp != NULL; pp = &(*pp)->reg_next)
		if (*pp == s) {
			*pp = s->reg_next;
			break;
		}
	pthread_mutex_unlock(&reg_mu);
	if (s->cdb.cdb_mem != NULL)
		cdb_free(&s->cdb);
	free(s->path);
	free(s);
}

/* Touch every page of [p, p+n) so that a hole faults here, guarded. */
static void
touch(const unsigned char *p, size_t n)
{
	volatile unsigned char sink = 0;

	if (n == 0)
		return;
	/* 4096 or a multiple of it: every page is touched. */
	for (size_t off = 0; off < n; off += 4096)
		sink ^= p[off];
	sink ^= p[n - 1];
	(void)sink;
}

/*
 * The lookup proper, under the guard.  1 found (*vpos, *vlen), 0 not
 * found, -1 a bad record, -2 a fault.  Only objects outside this frame
 * change after sigsetjmp.
 */
static int
guarded_find(const struct snapshot *s, const char *key, unsigned klen,
    uint32_t *vpos, uint32_t *vlen)
{
	sigjmp_buf jb;
	struct cdb c;
	int r;

	if (sigsetjmp(jb, 0) != 0)
		return -2;
	c = s->cdb;		/* cdb_find writes into it: one per call */
	guard_on(&jb, c.cdb_mem, c.cdb_fsize);
	/*
	 * tinycdb 0.78 cdb_find checks its hash table against the file size
	 * and every record against the end of data (dend <= fsize, checked
	 * at open); what it returns is checked again below.
	 */
	r = cdb_find(&c, key, klen);
	if (r > 0) {
		uint32_t p = cdb_datapos(&c), n = cdb_datalen(&c);

		if (p > c.cdb_fsize || c.cdb_fsize - p < n ||
		    cdb_keypos(&c) > p || p - cdb_keypos(&c) != klen) {
			r = -1;
		} else {
			touch(c.cdb_mem + p, n);
			*vpos = p;
			*vlen = n;
		}
	}
	guard_off();
	return r < 0 ? -1 : r;
}

int
snapshot_get(struct snapshot *s, const char *key, size_t klen,
    const char **val, size_t *vlen)
{
	uint32_t p = 0, n = 0;
	int r;

	if (is_damaged(s))
		return -1;
	if (klen == 0 || klen > SNAP_KEY_MAX)
		return 0;	/* never written */
	r = guarded_find(s, key, (unsigned)klen, &p, &n);
	if (r < 0) {
		char pr[LOG_PRINTABLE_SIZE];

		set_damaged(s);
		log_warn("snapshot %s is damaged: %s looking up %s", s->path,
		    r == -2 ? "SIGBUS (file truncated in place?)" :
		    "bad record", log_printable(pr, sizeof(pr), key, klen));
		return -1;
	}
	if (r == 1) {
		*val = (const char *)s->cdb.cdb_mem + p;
		*vlen = n;
	}
	return r;
}

time_t
snapshot_built(const struct snapshot *s)
{
	return s->mtim.tv_sec;
}

size_t
snapshot_count(const struct snapshot *s)
{
	return s->count;
}

int
snapshot_sorted(const struct snapshot *s)
{
	return s->sorted;
}

const char *
snapshot_path(const struct snapshot *s)
{
	return s->path;
}

int
snapshot_changed(const struct snapshot *s)
{
	struct stat st;

	if (stat(s->path, &st) != 0)
		return errno == ENOENT || errno == ENOTDIR ? 2 : 0;
	if (st.st_dev != s->dev || st.st_ino != s->ino)
		return 1;
	if (st.st_size != s->size || st.st_mtim.tv_sec != s->mtim.tv_sec ||
	    st.st_mtim.tv_nsec != s->mtim.tv_nsec)
		return 2;
	return 0;
}

/* Next record copied into kb/vb under the guard: 1, 0 at the end, -1 a
 * bad record, -2 a fault. */
static int
guarded_next(struct cdb *c, unsigned *pos, struct buf *kb, struct buf *vb)
{
	sigjmp_buf jb;
	int r;

	if (sigsetjmp(jb, 0) != 0)
		return -2;
	guard_on(&jb, c->cdb_mem, c->cdb_fsize);
	/*
	 * tinycdb 0.78 cdb_seqnext does not check klen against dend before
	 * adding it, so a crafted length could wrap: recheck everything.
	 */
	if (*pos < CDB_TOC || *pos > c->cdb_dend) {
		r = -1;
	} else if ((r = cdb_seqnext(pos, c)) > 0) {
		uint32_t kp = cdb_keypos(c), kl = cdb_keylen(c);
		uint32_t vp = cdb_datapos(c), vl = cdb_datalen(c);
		uint32_t dend = c->cdb_dend;

		if (kp > dend || dend - kp < kl || vp != kp + kl ||
		    dend - vp < vl || *pos != vp + vl) {
			r = -1;
		} else {
			buf_reset(kb);
			buf_reset(vb);
			buf_reserve(kb, kl);
			buf_reserve(vb, vl);
			memcpy(kb->p, c->cdb_mem + kp, kl);
			memcpy(vb->p, c->cdb_mem + vp, vl);
			kb->len = kl;
			kb->p[kl] = '\0';
			vb->len = vl;
			vb->p[vl] = '\0';
		}
	}
	guard_off();
	return r < 0 ? -1 : r;
}

int
snapshot_foreach(struct snapshot *s,
    int (*fn)(const char *key, size_t klen, const char *val, size_t vlen,
	void *arg), void *arg)
{
	struct buf kb = BUF_INIT, vb = BUF_INIT;
	struct cdb c = s->cdb;
	unsigned pos;
	int rc = 0;

	pthread_once(&bus_once, bus_install);
	cdb_seqinit(&pos, &c);
	for (;;) {
		int r;

		if (is_damaged(s)) {
			rc = -1;
			break;
		}
		r = guarded_next(&c, &pos, &kb, &vb);
		if (r < 0) {
			set_damaged(s);
			log_warn("snapshot %s is damaged: %s", s->path,
			    r == -2 ? "SIGBUS (file truncated in place?)" :
			    "bad record");
			rc = -1;
			break;
		}
		if (r == 0)
			break;
		/* Copies: fn may read them after the file is gone. */
		rc = fn(kb.p, kb.len, vb.p, vb.len, arg);
		if (rc != 0)
			break;
	}
	buf_free(&kb);
	buf_free(&vb);
	return rc;
}

/* The records of the mapping, for snapshot_walk: fn's value, or -1 (*bad)
 * for a record that runs past the end of data. */
static int
walk_records(const unsigned char *mem, uint32_t dend,
    int (*fn)(const char *, size_t, const char *, size_t, void *),
    void *arg)
{
	uint32_t pos = CDB_TOC;
	int rc = 0;

	while (pos < dend && rc == 0) {
		uint32_t klen, vlen;

		if (dend - pos < 8)
			return -1;
		klen = unpack32(mem + pos);
		vlen = unpack32(mem + pos + 4);
		if (dend - pos - 8 < klen || dend - pos - 8 - klen < vlen)
			return -1;
		rc = fn((const char *)mem + pos + 8, klen,
		    (const char *)mem + pos + 8 + klen, vlen, arg);
		if (rc == -1)
			rc = 1;		/* fn's own: not a bad record */
		pos += 8 + klen + vlen;
	}
	return rc;
}

/*
 * The records in place, under one guard for the whole walk (a fault
 * jumps back here from inside fn).  The layout was checked when the file
 * was opened (or written by the caller); each record is checked again
 * against the end of data all the same.
 */
int
snapshot_walk(struct snapshot *s,
    int (*fn)(const char *key, size_t klen, const char *val, size_t vlen,
	void *arg), void *arg)
{
	sigjmp_buf jb;
	int r;

	pthread_once(&bus_once, bus_install);
	if (is_damaged(s))
		return -1;
	if (sigsetjmp(jb, 0) != 0) {
		r = -2;
	} else if (s->cdb.cdb_dend < CDB_TOC ||
	    s->cdb.cdb_dend > s->cdb.cdb_fsize) {
		r = -1;
	} else {
		guard_on(&jb, s->cdb.cdb_mem, s->cdb.cdb_fsize);
		r = walk_records(s->cdb.cdb_mem, s->cdb.cdb_dend, fn, arg);
		guard_off();
	}
	if (r < 0) {
		set_damaged(s);
		log_warn("snapshot %s is damaged: %s", s->path, r == -2 ?
		    "SIGBUS (file truncated in place?)" : "bad record");
		return -1;
	}
	return r;
}

/* SHA-256 of the mapping, under the guard, in steps of SHA_STEP. */
#define SHA_STEP	((size_t)1 << 20)

static int
guarded_sha256(const unsigned char *mem, size_t size, EVP_MD_CTX *ctx)
{
	sigjmp_buf jb;
	int r = 0;

	if (sigsetjmp(jb, 0) != 0)
		return -2;
	guard_on(&jb, mem, size);
	for (size_t off = 0; off < size && r == 0; off += SHA_STEP) {
		size_t n = size - off < SHA_STEP ? size - off : SHA_STEP;

		if (EVP_DigestUpdate(ctx, mem + off, n) != 1)
			r = -1;
	}
	guard_off();
	return r;
}

int
snapshot_sha256(struct snapshot *s, unsigned char out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int outlen = 0;
	int r = -1;

	pthread_once(&bus_once, bus_install);
	errno = 0;
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		errno = ENOMEM;
		goto out;
	}
	r = guarded_sha256(s->cdb.cdb_mem, s->cdb.cdb_fsize, ctx);
	if (r == -2) {
		set_damaged(s);
		errno = EIO;
		log_warn("snapshot %s is damaged: SIGBUS (file truncated in "
		    "place?)", s->path);
		r = -1;
	}
	if (r == 0 && (EVP_DigestFinal_ex(ctx, out, &outlen) != 1 ||
	    outlen != 32))
		r = -1;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}
