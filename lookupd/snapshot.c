/*
 * snapshot: one map's copy of the directory, kept as a Postfix cdb: table
 * (<dir>/<map>.cdb) with its SHA-256 digest beside it
 * (<dir>/<map>.cdb.sha256, sha256sum(1) format).
 *
 * Writing.  Records are copied into an arena of large anonymous mappings
 * (no malloc per record) and indexed by an array of pointers.  At commit
 * the index is merge-sorted by key (stable, so the records of one key stay
 * in the order they were added), each run of one key becomes one cdb
 * record whose value is the distinct values joined with ",", and the
 * arena is given back before tinycdb builds its hash tables, so the peak
 * is the arena plus the index, never both copies of the data.  The file
 * goes to a mkstemp(3) name in <dir> (mode 0640), is fsynced, digested by
 * reading it back, and the digest goes to a second temporary file.  The
 * digest is renamed into place first, then the cdb; a reader that sees the
 * new digest beside the old file retries once after a short pause.  If
 * the second rename fails the old digest is put back (it was swapped out
 * with RENAME_EXCHANGE, or kept in memory where that is unsupported), so
 * a failed commit leaves what was in place as it was.
 *
 * Reading.  The file is opened once; everything is checked through that
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
 * Two writers of one map (the daemon and a cron `lookupd sync`) hold an
 * flock on the directory around their two renames, so that one's digest
 * never ends beside the other's file.  Temporary files of the map older
 * than an hour (a crashed build) are removed after a commit.
 *
 * Limits: keys up to SNAP_KEY_MAX bytes, single values up to
 * SNAP_VAL_MAX; keys or values that are empty or hold NUL, CR or LF are
 * left out (and counted in a warning); the whole file must stay under
 * 4 GiB (tinycdb's 32-bit offsets); keys are lowercased in ASCII only
 * (caseIgnoreIA5Match); map names are letters, digits, "_", "-", "." and
 * may not start with "." (the temporary files do).
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
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdb.h>
#include <openssl/evp.h>

#include "common/buf.h"
#include "common/log.h"
#include "lookupd/snapshot.h"

#define SNAP_KEY_MAX	65536u
#define SNAP_VAL_MAX	(16u << 20)
#define SNAP_NAME_MAX	128
#define CDB_LIMIT	0xffffffffULL	/* tinycdb offsets are 32-bit */
#define CDB_TOC		2048u
#define DIGEST_MAX	4096		/* one short line */
#define HASH_CHUNK	(1u << 20)
#define ARENA_CHUNK	((size_t)4 << 20)
#define RETRY_NS	50000000L	/* 50 ms between two reads of a pair */
#define STALE_AGE	3600		/* s: older temporaries: debris */

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

static int
valid_map_name(const char *map)
{
	size_t n;

	if (map == NULL || map[0] == '\0' || map[0] == '.')
		return 0;
	for (n = 0; map[n] != '\0'; n++) {
		unsigned char c = (unsigned char)map[n];

		if (n >= SNAP_NAME_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

/* dir "/" prefix map suffix; 0, or -1 when it does not fit. */
static int
mkpath(char *out, size_t outsz, const char *dir, const char *prefix,
    const char *map, const char *suffix)
{
	int r = snprintf(out, outsz, "%s/%s%s%s", dir, prefix, map, suffix);

	if (r < 0 || (size_t)r >= outsz)
		return -1;
	return 0;
}

static uint32_t
unpack32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static ssize_t
pread_full(int fd, void *buf, size_t n, off_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done,
		    off + (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

static int
write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/*
 * SHA-256 of the file behind fd, read from offset 0 to its end.  *total
 * gets the number of bytes hashed.  0, or -1 with errno.
 */
static int
sha256_fd(int fd, unsigned char out[32], uint64_t *total)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *chunk = xmalloc(HASH_CHUNK);
	unsigned int outlen = 0;
	uint64_t off = 0;
	int rc = -1, saved = EIO;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		saved = ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = pread_full(fd, chunk, HASH_CHUNK, (off_t)off);

		if (r < 0) {
			saved = errno;
			goto out;
		}
		if (r == 0)
			break;
		if (EVP_DigestUpdate(ctx, chunk, (size_t)r) != 1)
			goto out;
		off += (uint64_t)r;
	}
	if (EVP_DigestFinal_ex(ctx, out, &outlen) != 1 || outlen != 32)
		goto out;
	*total = off;
	rc = 0;
out:
	free(chunk);
	EVP_MD_CTX_free(ctx);
	if (rc != 0)
		errno = saved;
	return rc;
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

/* ------------------------------------------------------------------ */
/* Reading                                                              */

struct snapshot {
	struct cdb cdb;		/* mem, fsize, dend: fixed once open */
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
	size_t count;
	int damaged;		/* __atomic: a fault or bad record seen */
};

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

/*
 * Check the layout of the mapped file: header, every record, every hash
 * table.  Called under the guard.  0 with *count, or -1 with why.
 */
static int
check_layout(const unsigned char *mem, uint32_t fsize, size_t *count,
    char *why, size_t whysz)
{
	uint32_t dend, pos;
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
	r = check_layout(s->cdb.cdb_mem, s->cdb.cdb_fsize, &s->count, why,
	    whysz);
	guard_off();
	return r;
}

/* How large the header says the file is (for a better message). */
static uint64_t
header_extent(int fd)
{
	unsigned char toc[CDB_TOC];
	uint64_t ext = 0;

	if (pread_full(fd, toc, sizeof(toc), 0) != (ssize_t)sizeof(toc))
		return 0;
	for (unsigned t = 0; t < 256; t++) {
		uint64_t end = (uint64_t)unpack32(toc + 8 * t) +
		    8 * (uint64_t)unpack32(toc + 8 * t + 4);

		if (end > ext)
			ext = end;
	}
	return ext;
}

/* Read and parse "<64 hex>  <map>.cdb\n"; 0, or a status with err. */
static enum snap_status
read_digest(const char *dpath, const char *map, unsigned char want[32],
    char *err, size_t errsz)
{
	char text[DIGEST_MAX + 1], name[SNAP_NAME_MAX + 8];
	ssize_t n;
	int fd, r;
	char *p;

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
	n = pread_full(fd, text, sizeof(text) - 1, 0);
	r = errno;
	close(fd);
	if (n < 0) {
		log_errf(err, errsz, "reading %s: %s", dpath, strerror(r));
		return SNAP_ERROR;
	}
	text[n] = '\0';
	for (int i = 0; i < 32; i++) {
		int hi = hexval((unsigned char)text[2 * i]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			goto bad;
		want[i] = (unsigned char)(hi << 4 | lo);
	}
	p = text + 64;
	/* sha256sum writes "  " (text mode) or " *" (binary mode). */
	if (p[0] != ' ' || (p[1] != ' ' && p[1] != '*'))
		goto bad;
	p += 2;
	r = snprintf(name, sizeof(name), "%s.cdb\n", map);
	if (r < 0 || (size_t)r >= sizeof(name))
		goto bad;
	if (strcmp(p, name) != 0) {
		log_errf(err, errsz,
		    "digest file %s is not about %s.cdb", dpath,
		    map);
		return SNAP_DAMAGED;
	}
	return SNAP_OK;
bad:
	log_errf(err, errsz, "digest file %s is malformed", dpath);
	return SNAP_DAMAGED;
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
	if (sha256_fd(fd, got, &hashed) != 0) {
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
	if (!valid_map_name(map)) {
		log_errf(err, errsz, "invalid map name");
		return SNAP_ERROR;
	}
	if (mkpath(path, sizeof(path), dir, "", map, ".cdb") != 0 ||
	    mkpath(dpath, sizeof(dpath), dir, "", map, ".cdb.sha256") != 0) {
		log_errf(err, errsz, "path of map %s in %.100s is too long",
		    map, dir);
		return SNAP_ERROR;
	}
	pthread_once(&bus_once, bus_install);
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
	*out = s;
	return SNAP_OK;
}

void
snapshot_close(struct snapshot *s)
{
	if (s == NULL)
		return;
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

/* ------------------------------------------------------------------ */
/* Writing                                                              */

/* Large blocks straight from the kernel, so that they go back to it. */
static void *
big_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		log_fatal(75, "snapshot: out of memory (%zu bytes)", n);
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
		log_fatal(75, "snapshot: out of memory (%zu bytes)", n);
	return q;
}

static void
big_free(void *p, size_t n)
{
	if (p != NULL)
		munmap(p, n);
}

/*
 * A record in the arena: 8 bytes of lengths, the key, the value and, in a
 * single map only, a pointer to the DN (unaligned: read with memcpy).
 * Records are 4-byte aligned.
 */
struct rec {
	uint32_t klen;
	uint32_t vlen;
	/* klen bytes of key, vlen bytes of value [, const char *dn] */
};

#define REC_KEY(r)	((const char *)(r) + sizeof(struct rec))
#define REC_VAL(r)	(REC_KEY(r) + (r)->klen)
#define REC_END(r)	(REC_VAL(r) + (r)->vlen)

static const char *
rec_dn(const struct rec *r)
{
	const char *dn;

	memcpy(&dn, REC_END(r), sizeof(dn));
	return dn;
}

struct chunk {
	struct chunk *next;
	size_t size;		/* of the whole mapping */
};

struct snapwriter {
	char *dir;
	char *map;
	int single;
	int badname;
	struct chunk *chunks;
	char *cur;		/* free space in the newest chunk */
	size_t left;
	struct rec **idx;	/* one per record, in the order added */
	size_t n, cap;
	const char *last_dn;	/* interned copy of the last DN added */
	size_t dropped;
	struct timespec read_time;	/* when its data was read; 0: unknown */
};

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

struct snapwriter *
snapwriter_new(const char *dir, const char *map, int single)
{
	struct snapwriter *w = xcalloc(1, sizeof(*w));

	w->dir = xstrdup(dir ? dir : "");
	w->map = xstrdup(map ? map : "");
	w->single = single;
	/* Refused at commit, with a message: the caller has no other way
	 * to hear about it. */
	w->badname = !valid_map_name(map);
	return w;
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

void
snapwriter_add(struct snapwriter *w, const char *key, size_t klen,
    const char *val, size_t vlen, const char *dn)
{
	struct rec *r;
	char *k;

	if (w->badname)
		return;
	if (klen == 0 || vlen == 0 || klen > SNAP_KEY_MAX ||
	    vlen > SNAP_VAL_MAX || bad_bytes(key, klen) ||
	    bad_bytes(val, vlen)) {
		w->dropped++;
		return;
	}
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 65536;

		w->idx = big_grow(w->idx, w->cap * sizeof(*w->idx),
		    ncap * sizeof(*w->idx));
		w->cap = ncap;
	}
	if (w->single) {
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
	    (w->single ? sizeof(const char *) : 0));
	r->klen = (uint32_t)klen;
	r->vlen = (uint32_t)vlen;
	if (w->single)
		memcpy((char *)REC_END(r), &w->last_dn, sizeof(w->last_dn));
	k = (char *)REC_KEY(r);
	for (size_t i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)key[i];

		k[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	memcpy(k + klen, val, vlen);
	w->idx[w->n++] = r;
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
	uint32_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(REC_KEY(a), REC_KEY(b), n);

	if (c != 0)
		return c;
	return (a->klen > b->klen) - (a->klen < b->klen);
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

static int
same_val(const struct rec *a, const struct rec *b)
{
	return a->vlen == b->vlen &&
	    memcmp(REC_VAL(a), REC_VAL(b), a->vlen) == 0;
}

static uint64_t
val_hash(const struct rec *r)
{
	const unsigned char *p = (const unsigned char *)REC_VAL(r);
	uint64_t h = 1469598103934665603ULL;

	for (uint32_t i = 0; i < r->vlen; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/*
 * Keep the first of each distinct value of g[0..n), in order: compacts g
 * in place and returns how many are left.  A key with many values (a big
 * alias list) gets a hash set rather than n*n comparisons.
 */
static size_t
distinct_values(struct rec **g, size_t n)
{
	size_t out = 0;

	if (n <= 16) {
		for (size_t i = 0; i < n; i++) {
			size_t j;

			for (j = 0; j < out; j++)
				if (same_val(g[j], g[i]))
					break;
			if (j == out)
				g[out++] = g[i];
		}
		return out;
	}
	size_t mask = 1;
	while (mask < 2 * n)
		mask <<= 1;
	struct rec **set = xcalloc(mask, sizeof(*set));
	mask--;
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)val_hash(g[i]) & mask;

		while (set[h] != NULL && !same_val(set[h], g[i]))
			h = (h + 1) & mask;
		if (set[h] == NULL) {
			set[h] = g[i];
			g[out++] = g[i];
		}
	}
	free(set);
	return out;
}

static void
report_conflict(struct snapwriter *w, struct rec **g, size_t n,
    snap_conflict_fn conflict, void *arg)
{
	const char **dns;
	struct buf key = BUF_INIT;
	size_t nd = 0;

	if (conflict == NULL)
		return;
	dns = xreallocarray(NULL, n, sizeof(*dns));
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < nd; j++)
			if (dns[j] == rec_dn(g[i]) ||
			    strcmp(dns[j], rec_dn(g[i])) == 0)
				break;
		if (j == nd)
			dns[nd++] = rec_dn(g[i]);
	}
	buf_append(&key, REC_KEY(g[0]), g[0]->klen);
	conflict(w->map, buf_str(&key), dns, nd, arg);
	buf_free(&key);
	free(dns);
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

/* Write the sorted records to cm; -1 with err. */
static int
write_records(struct snapwriter *w, struct cdb_make *cm, struct commit *cc,
    snap_conflict_fn conflict, void *arg, char *err, size_t errsz)
{
	struct buf merged = BUF_INIT;
	uint64_t dpos = CDB_TOC, nrec = 0;
	size_t i = 0;
	int rc = -1;

	while (i < w->n) {
		struct rec **g = w->idx + i;
		size_t n = 1, nd;
		const char *val;
		uint64_t vlen;

		while (i + n < w->n && key_cmp(g[0], g[n]) == 0)
			n++;
		i += n;
		if (w->single) {
			/* All the same value, or a conflict reported with
			 * every record's DN: nothing is compacted away. */
			size_t j;

			for (j = 1; j < n && same_val(g[0], g[j]); j++)
				;
			if (j < n) {
				report_conflict(w, g, n, conflict, arg);
				continue;
			}
			nd = 1;
		} else {
			nd = distinct_values(g, n);
		}
		if (nd == 1) {
			val = REC_VAL(g[0]);
			vlen = g[0]->vlen;
		} else {
			buf_reset(&merged);
			for (size_t j = 0; j < nd; j++) {
				if (j > 0)
					buf_putc(&merged, ',');
				buf_append(&merged, REC_VAL(g[j]), g[j]->vlen);
			}
			val = merged.p;
			vlen = merged.len;
		}
		/* Data, then two hash slots (16 bytes) per record. */
		if (8 + g[0]->klen + vlen > CDB_LIMIT - dpos ||
		    16 * (nrec + 1) >
		    CDB_LIMIT - dpos - 8 - g[0]->klen - vlen) {
			log_errf(err, errsz, "snapshot of map %s would exceed "
			    "the 4 GiB limit of a cdb file", w->map);
			goto out;
		}
		if (cdb_make_add(cm, REC_KEY(g[0]), g[0]->klen, val,
		    (unsigned)vlen) != 0) {
			log_errf(err, errsz, "writing %s: %s", cc->tmp,
			    strerror(errno));
			goto out;
		}
		dpos += 8 + g[0]->klen + vlen;
		nrec++;
	}
	rc = 0;
out:
	buf_free(&merged);
	return rc;
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
			oldlen = pread_full(ofd, old, sizeof(old), 0);
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
		    write_full(fd, old, (size_t)oldlen) == 0 && fsync(fd) == 0;
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

int
snapwriter_commit(struct snapwriter *w, snap_conflict_fn conflict,
    void *arg, char *err, size_t errsz)
{
	struct commit cc;
	struct cdb_make cm;
	unsigned char md[32];
	char hex[65], line[SNAP_NAME_MAX + 80];
	uint64_t hashed;
	int rc = -1, made = 0, locked, r;
	struct rec **tmp;
	size_t tmpsz;

	memset(&cc, 0, sizeof(cc));
	cc.fd = cc.dfd = cc.dirfd = -1;
	if (w->badname) {
		log_errf(err, errsz, "invalid map name (letters, digits, _ - . "
		    "only, not first .)");
		goto out;
	}
	if (mkpath(cc.path, sizeof(cc.path), w->dir, "", w->map, ".cdb") ||
	    mkpath(cc.dpath, sizeof(cc.dpath), w->dir, "", w->map,
	    ".cdb.sha256") ||
	    mkpath(cc.tmp, sizeof(cc.tmp), w->dir, ".", w->map,
	    ".cdb.XXXXXX") ||
	    mkpath(cc.dtmp, sizeof(cc.dtmp), w->dir, ".", w->map,
	    ".cdb.sha256.XXXXXX")) {
		log_errf(err, errsz, "path of map %s in %.100s is too long",
		    w->map, w->dir);
		cc.tmp[0] = cc.dtmp[0] = '\0';
		goto out;
	}
	if (w->dropped)
		log_warn("map %s: %zu empty, oversized or control-character "
		    "keys or values were left out", w->map, w->dropped);

	/* The merge copies out only the left half of a run. */
	tmpsz = (w->n / 2 + 1) * sizeof(*tmp);
	tmp = big_alloc(tmpsz);
	rec_sort(w->idx, tmp, w->n);
	big_free(tmp, tmpsz);

	cc.dirfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cc.dirfd < 0) {
		log_errf(err, errsz, "cannot open directory %s: %s", w->dir,
		    strerror(errno));
		cc.tmp[0] = cc.dtmp[0] = '\0';
		goto out;
	}
	cc.dtmp[0] = '\0';	/* not made yet */
	if (make_temp(cc.tmp, &cc.fd, err, errsz) != 0)
		goto out;
	if (cdb_make_start(&cm, cc.fd) != 0) {
		log_errf(err, errsz, "writing %s: %s", cc.tmp, strerror(errno));
		goto out;
	}
	made = 1;
	r = write_records(w, &cm, &cc, conflict, arg, err, errsz);
	/* The records are in the file: give their memory back before
	 * tinycdb allocates its hash tables. */
	arena_free(w);
	made = 0;
	if (cdb_make_finish(&cm) != 0 && r == 0) {
		log_errf(err, errsz, "writing %s: %s", cc.tmp, strerror(errno));
		r = -1;
	}
	if (r != 0)
		goto out;
	if (fsync(cc.fd) != 0) {
		log_errf(err, errsz, "fsync %s: %s", cc.tmp, strerror(errno));
		goto out;
	}
	if (sha256_fd(cc.fd, md, &hashed) != 0) {
		log_errf(err, errsz, "reading back %s: %s", cc.tmp,
		    strerror(errno));
		goto out;
	}
	if (w->read_time.tv_sec != 0) {
		/* The file's mtime says when its data was read. */
		struct timespec ts[2] = { w->read_time, w->read_time };

		if (futimens(cc.fd, ts) != 0) {
			log_errf(err, errsz, "futimens %s: %s", cc.tmp,
			    strerror(errno));
			goto out;
		}
	}
	if (close(cc.fd) != 0) {
		cc.fd = -1;
		log_errf(err, errsz, "closing %s: %s", cc.tmp, strerror(errno));
		goto out;
	}
	cc.fd = -1;

	hex_encode(md, sizeof(md), hex);
	r = snprintf(line, sizeof(line), "%s  %s.cdb\n", hex, w->map);
	if (r < 0 || (size_t)r >= sizeof(line)) {
		log_errf(err, errsz, "digest line too long");
		goto out;
	}
	if (mkpath(cc.dtmp, sizeof(cc.dtmp), w->dir, ".", w->map,
	    ".cdb.sha256.XXXXXX") != 0 ||
	    make_temp(cc.dtmp, &cc.dfd, err, errsz) != 0)
		goto out;
	if (write_full(cc.dfd, line, (size_t)r) != 0 || fsync(cc.dfd) != 0) {
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
	while ((r = flock(cc.dirfd, LOCK_EX)) != 0 && errno == EINTR)
		;
	locked = r == 0;
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
	rc = 0;
out:
	if (made)
		(void)cdb_make_finish(&cm);	/* frees tinycdb's lists */
	commit_cleanup(&cc);
	snapwriter_abort(w);
	return rc;
}
