/*
 * synccookie: the sync cookie beside a snapshot (see synccookie.h).
 *
 * The file is untrusted on reading: at most FILE_MAX bytes, exactly the
 * three lines of the format, the server printable without spaces, the
 * cookie within SYNCCOOKIE_MAX; anything else is "damaged".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/synccookie.h"

#define MAGIC		"ldapmail sync cookie 1"
#define SERVER_MAX	1024
#define FILE_MAX	(2 * SYNCCOOKIE_MAX + SERVER_MAX + 64)
#define NAME_MAX_LEN	200

/* A name that stays inside dir and hides no temporary file. */
static int
name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= NAME_MAX_LEN && name[0] != '.' &&
	    strchr(name, '/') == NULL;
}

static int
path_of(char *out, size_t size, const char *dir, const char *prefix,
    const char *name, const char *suffix)
{
	int r = snprintf(out, size, "%s/%s%s.cookie%s", dir, prefix, name,
	    suffix);

	return r < 0 || (size_t)r >= size ? -1 : 0;
}

static int
printable(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return 0;
	return 1;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
synccookie_save(const char *dir, const char *name, const char *server,
    const char *cookie, size_t len, char *err, size_t errsz)
{
	char path[4096], tmp[4096];
	struct buf b = BUF_INIT;
	int fd, dfd, e;

	if (!name_ok(name))
		return log_errf(err, errsz, "invalid name for a cookie file");
	if (len == 0 || len > SYNCCOOKIE_MAX)
		return log_errf(err, errsz, "cookie of %zu bytes (1 to %d)",
		    len, SYNCCOOKIE_MAX);
	if (strlen(server) == 0 || strlen(server) > SERVER_MAX ||
	    !printable(server, strlen(server)))
		return log_errf(err, errsz, "server name not storable");
	if (path_of(path, sizeof(path), dir, "", name, "") != 0 ||
	    path_of(tmp, sizeof(tmp), dir, ".", name, ".XXXXXX") != 0)
		return log_errf(err, errsz, "%s: path too long", dir);

	buf_printf(&b, "%s\nserver %s\n", MAGIC, server);
	if (printable(cookie, len)) {
		buf_puts(&b, "cookie ");
		buf_append(&b, cookie, len);
	} else {
		buf_puts(&b, "cookie-hex ");
		for (size_t i = 0; i < len; i++)
			buf_printf(&b, "%02x", (unsigned char)cookie[i]);
	}
	buf_putc(&b, '\n');

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		buf_free(&b);
		return log_errf(err, errsz, "cannot create a temporary file "
		    "like %s: %s", tmp, strerror(e));
	}
	if (fchmod(fd, 0640) != 0 || write_all(fd, b.p, b.len) != 0 ||
	    fsync(fd) != 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		buf_free(&b);
		return log_errf(err, errsz, "writing %s: %s", tmp,
		    strerror(e));
	}
	buf_free(&b);
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		return log_errf(err, errsz, "cannot put %s in place: %s", path,
		    strerror(e));
	}
	/* The rename itself survives a power cut. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* The value of a lower-case hex digit, or -1. */
static int
hexval(int c)
{
	static const char digits[] = "0123456789abcdef";
	const char *d = c ? strchr(digits, c) : NULL;

	return d ? (int)(d - digits) : -1;
}

/* The next line of text at *pos (without its LF): *p, *n; -1 when there
 * is no complete one. */
static int
line(const char *text, size_t len, size_t *pos, const char **p, size_t *n)
{
	const char *lf;

	if (*pos >= len)
		return -1;
	*p = text + *pos;
	lf = memchr(*p, '\n', len - *pos);
	if (lf == NULL)
		return -1;	/* every line ends with LF */
	*n = (size_t)(lf - *p);
	*pos += *n + 1;
	return 0;
}

static int
has_prefix(const char *p, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(p, prefix, k) == 0;
}

int
synccookie_load(const char *dir, const char *name, char **server,
    char **cookie, size_t *len, char *err, size_t errsz)
{
	char path[4096], text[FILE_MAX + 1];
	const char *p;
	size_t n, pos = 0, tlen = 0;
	struct stat st;
	int fd;

	*server = *cookie = NULL;
	*len = 0;
	if (!name_ok(name))
		return log_errf(err, errsz, "invalid name for a cookie file");
	if (path_of(path, sizeof(path), dir, "", name, "") != 0)
		return log_errf(err, errsz, "%s: path too long", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return log_errf(err, errsz, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > FILE_MAX) {
		close(fd);
		return log_errf(err, errsz, "%s: not a cookie file", path);
	}
	while (tlen < sizeof(text) - 1) {
		ssize_t r = read(fd, text + tlen, sizeof(text) - 1 - tlen);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			close(fd);
			return log_errf(err, errsz, "%s: %s", path,
			    strerror(e));
		}
		if (r == 0)
			break;
		tlen += (size_t)r;
	}
	close(fd);

	if (line(text, tlen, &pos, &p, &n) != 0 || n != strlen(MAGIC) ||
	    memcmp(p, MAGIC, n) != 0)
		goto damaged;
	if (line(text, tlen, &pos, &p, &n) != 0 ||
	    !has_prefix(p, n, "server ") || n - 7 == 0 ||
	    n - 7 > SERVER_MAX || !printable(p + 7, n - 7))
		goto damaged;
	*server = xstrndup(p + 7, n - 7);
	if (line(text, tlen, &pos, &p, &n) != 0 || pos != tlen)
		goto damaged;
	if (has_prefix(p, n, "cookie ") && n - 7 > 0 &&
	    n - 7 <= SYNCCOOKIE_MAX && printable(p + 7, n - 7)) {
		*cookie = xstrndup(p + 7, n - 7);
		*len = n - 7;
		return 1;
	}
	if (has_prefix(p, n, "cookie-hex ") && n - 11 > 0 &&
	    (n - 11) % 2 == 0 && (n - 11) / 2 <= SYNCCOOKIE_MAX) {
		size_t k = (n - 11) / 2;
		char *c = xmalloc(k + 1);

		for (size_t i = 0; i < k; i++) {
			int hi = hexval((unsigned char)p[11 + 2 * i]);
			int lo = hexval((unsigned char)p[12 + 2 * i]);

			if (hi < 0 || lo < 0) {
				free(c);
				goto damaged;
			}
			c[i] = (char)(hi << 4 | lo);
		}
		c[k] = '\0';
		*cookie = c;
		*len = k;
		return 1;
	}
damaged:
	free(*server);
	*server = NULL;
	return log_errf(err, errsz, "%s: damaged cookie file", path);
}

int
synccookie_remove(const char *dir, const char *name, char *err,
    size_t errsz)
{
	char path[4096];

	if (!name_ok(name))
		return log_errf(err, errsz, "invalid name for a cookie file");
	if (path_of(path, sizeof(path), dir, "", name, "") != 0)
		return log_errf(err, errsz, "%s: path too long", dir);
	if (unlink(path) != 0 && errno != ENOENT)
		return log_errf(err, errsz, "cannot remove %s: %s", path,
		    strerror(errno));
	return 0;
}
