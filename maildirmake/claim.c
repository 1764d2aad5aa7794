/*
 * claim: the record of which account each maildir belongs to (see
 * claim.h).
 *
 * The file is read whole (at most MAX_FILE bytes, lines at most MAX_LINE)
 * and refused whole when any line is not "ID<TAB>/PATH": a damaged record
 * must not turn into "take everything".  It lives in a directory of its
 * own that only root or mail_owner may write, reached with O_NOFOLLOW
 * (its parents are the administrator's, as for cache_dir).  Lines are
 * kept sorted, so a lookup is a binary search and an unchanged record is
 * recognised by comparing texts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "maildirmake/claim.h"
#include "maildirmake/maildir.h"

#define MAX_FILE	(256u * 1024 * 1024)
#define MAX_LINE	8192
#define TMP_NAME	MDM_CLAIM_FILE ".tmp"
#define HEADER		"# ldap-maildirmake: the account each maildir " \
			"belongs to (ID<TAB>PATH); see ldapmail.conf(5)\n"

struct lines {
	char **v;	/* "ID\tPATH", sorted */
	size_t n, cap;
};

struct mdm_claims {
	char *dir;
	int dfd;		/* -1: dry run and no dir */
	uid_t uid;
	gid_t gid;
	int do_chown;
	int first;
	struct buf text;	/* the file as read */
	struct lines old, now;
};

static void
lines_add(struct lines *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = s;
}

static void
lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, each string once. */
static void
lines_sort(struct lines *l)
{
	size_t k = 0;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	for (size_t i = 0; i < l->n; i++) {
		if (k > 0 && strcmp(l->v[k - 1], l->v[i]) == 0) {
			free(l->v[i]);
			continue;
		}
		l->v[k++] = l->v[i];
	}
	l->n = k;
}

static int
lines_has(const struct lines *l, const char *s)
{
	return l->n > 0 && bsearch(&s, l->v, l->n, sizeof(*l->v),
	    cmp_str) != NULL;
}

static int
trusted(const struct stat *st, uid_t uid)
{
	return (st->st_uid == 0 || st->st_uid == uid ||
	    st->st_uid == geteuid()) && (st->st_mode & 022) == 0;
}

/* "ID\tPATH": an id of ours, one tab, an absolute path, no control
 * byte. */
static int
good_line(const char *s, size_t len)
{
	const char *tab = memchr(s, '\t', len);

	if (tab == NULL || memchr(tab + 1, '\t', len - (size_t)(tab + 1 - s))
	    != NULL || tab + 1 == s + len || tab[1] != '/')
		return 0;
	if (!((tab - s > 5 && memcmp(s, "uuid:", 5) == 0) ||
	    (tab - s > 3 && memcmp(s, "dn:", 3) == 0)))
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return 0;
	return 1;
}

static int
parse(struct mdm_claims *c, char *err, size_t errsz)
{
	const char *p = buf_str(&c->text), *end = p + c->text.len;
	int line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len;

		line++;
		if (nl == NULL) {
			log_errf(err, errsz, "%s/%s:%d: the last line is not "
			    "terminated (a torn write?)", c->dir,
			    MDM_CLAIM_FILE, line);
			return -1;
		}
		len = (size_t)(nl - p);
		if (len > 0 && *p != '#') {
			if (len > MAX_LINE || !good_line(p, len)) {
				log_errf(err, errsz, "%s/%s:%d: not \"ID<TAB>"
				    "/PATH\"", c->dir, MDM_CLAIM_FILE, line);
				return -1;
			}
			lines_add(&c->old, xstrndup(p, len));
		}
		p = nl + 1;
	}
	lines_sort(&c->old);
	return 0;
}

static int
read_file(struct mdm_claims *c, char *err, size_t errsz)
{
	struct stat st;
	char chunk[65536];
	ssize_t r;
	int fd;

	fd = openat(c->dfd, MDM_CLAIM_FILE, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		c->first = 1;
		return 0;
	}
	if (fd < 0) {
		log_errf(err, errsz, "%s/%s: %s", c->dir, MDM_CLAIM_FILE,
		    errno == ELOOP ? "a symlink" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || !trusted(&st, c->uid) ||
	    st.st_size > (off_t)MAX_FILE) {
		close(fd);
		log_errf(err, errsz, "%s/%s: not a regular file of root or "
		    "mail_owner with one link, not writable by others, at "
		    "most %u bytes", c->dir, MDM_CLAIM_FILE, MAX_FILE);
		return -1;
	}
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || c->text.len + (size_t)r > MAX_FILE) {
			log_errf(err, errsz, "%s/%s: %s", c->dir,
			    MDM_CLAIM_FILE, r < 0 ? strerror(errno) :
			    "grew while read");
			close(fd);
			return -1;
		}
		buf_append(&c->text, chunk, (size_t)r);
	}
	close(fd);
	return parse(c, err, errsz);
}

static int
open_dir(struct mdm_claims *c, int dry, char *err, size_t errsz)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;

	c->dfd = open(c->dir, flags);
	if (c->dfd < 0 && errno == ENOENT && dry) {
		c->first = 1;
		return 0;
	}
	if (c->dfd < 0 && errno == ENOENT) {
		if (mkdir(c->dir, 0700) != 0 && errno != EEXIST) {
			log_errf(err, errsz, "state_dir %s: cannot make it: "
			    "%s", c->dir, strerror(errno));
			return -1;
		}
		c->dfd = open(c->dir, flags);
		if (c->dfd >= 0 && c->do_chown &&
		    fchown(c->dfd, c->uid, c->gid) != 0) {
			log_errf(err, errsz, "state_dir %s: chown: %s", c->dir,
			    strerror(errno));
			return -1;
		}
	}
	if (c->dfd < 0) {
		log_errf(err, errsz, "state_dir %s: %s", c->dir,
		    errno == ELOOP || errno == ENOTDIR ? "not a directory "
		    "(a symlink is not followed)" : strerror(errno));
		return -1;
	}
	if (fstat(c->dfd, &st) != 0 || !trusted(&st, c->uid)) {
		log_errf(err, errsz, "state_dir %s: must belong to root or "
		    "mail_owner and not be writable by others", c->dir);
		return -1;
	}
	return read_file(c, err, errsz);
}

struct mdm_claims *
mdm_claims_open(const char *dir, uid_t uid, gid_t gid, int do_chown,
    int dry, char *err, size_t errsz)
{
	struct mdm_claims *c = xcalloc(1, sizeof(*c));

	c->dir = xstrdup(dir);
	c->uid = uid;
	c->gid = gid;
	c->do_chown = do_chown;
	c->dfd = -1;
	if (open_dir(c, dry, err, errsz) != 0) {
		mdm_claims_free(c);
		return NULL;
	}
	return c;
}

void
mdm_claims_free(struct mdm_claims *c)
{
	if (c == NULL)
		return;
	if (c->dfd >= 0)
		close(c->dfd);
	lines_free(&c->old);
	lines_free(&c->now);
	buf_free(&c->text);
	free(c->dir);
	free(c);
}

int
mdm_claims_first(const struct mdm_claims *c)
{
	return c->first;
}

static char *
join(const char *id, const char *path)
{
	size_t a = strlen(id), b = strlen(path);
	char *s = xmalloc(a + b + 2);

	memcpy(s, id, a);
	s[a] = '\t';
	memcpy(s + a + 1, path, b + 1);
	return s;
}

int
mdm_claims_has(const struct mdm_claims *c, const char *id,
    const char *path)
{
	char *s = join(id, path);
	int r = lines_has(&c->old, s);

	free(s);
	return r;
}

void
mdm_claims_put(struct mdm_claims *c, const char *id, const char *path)
{
	char *s = join(id, path);

	if (!good_line(s, strlen(s))) {
		free(s);	/* an id that cannot be a line: never kept */
		return;
	}
	lines_add(&c->now, s);
}

/* The ids (what) or paths of l, sorted. */
static void
parts(const struct lines *l, int path, struct lines *out)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *tab = strchr(l->v[i], '\t');

		lines_add(out, path ? xstrdup(tab + 1) :
		    xstrndup(l->v[i], (size_t)(tab - l->v[i])));
	}
	lines_sort(out);
}

static int
put_file(struct mdm_claims *c, const struct buf *b, char *err,
    size_t errsz)
{
	const char *p = buf_str(b);
	size_t left = b->len;
	int fd;

	(void)unlinkat(c->dfd, TMP_NAME, 0);	/* left by a killed run */
	fd = openat(c->dfd, TMP_NAME, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if (c->do_chown && fchown(fd, c->uid, c->gid) != 0)
		goto fail;
	if (fchmod(fd, 0600) != 0)
		goto fail;
	while (left > 0) {
		ssize_t w = write(fd, p, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(c->dfd, TMP_NAME, c->dfd, MDM_CLAIM_FILE) != 0)
		goto fail;
	(void)fsync(c->dfd);
	return 0;
fail:
	log_errf(err, errsz, "%s/%s: cannot write it: %s", c->dir,
	    MDM_CLAIM_FILE, strerror(errno));
	if (fd >= 0)
		close(fd);
	(void)unlinkat(c->dfd, TMP_NAME, 0);
	return -1;
}

int
mdm_claims_write(struct mdm_claims *c, char *err, size_t errsz)
{
	struct lines ids = { 0 }, paths = { 0 }, all = { 0 };
	struct buf b = BUF_INIT;
	int r = 0;

	if (c->dfd < 0) {
		log_errf(err, errsz, "state_dir %s: not open", c->dir);
		return -1;
	}
	lines_sort(&c->now);
	parts(&c->now, 0, &ids);
	parts(&c->now, 1, &paths);
	for (size_t i = 0; i < c->now.n; i++)
		lines_add(&all, xstrdup(c->now.v[i]));
	for (size_t i = 0; i < c->old.n; i++) {
		const char *l = c->old.v[i], *tab = strchr(l, '\t');
		char *id = xstrndup(l, (size_t)(tab - l));
		const char *path = tab + 1;

		if (!lines_has(&ids, id) && !lines_has(&paths, path))
			lines_add(&all, xstrdup(l));
		free(id);
	}
	lines_sort(&all);
	buf_puts(&b, HEADER);
	for (size_t i = 0; i < all.n; i++) {
		buf_puts(&b, all.v[i]);
		buf_puts(&b, "\n");
	}
	if (c->first || b.len != c->text.len ||
	    memcmp(buf_str(&b), buf_str(&c->text), b.len) != 0)
		r = put_file(c, &b, err, errsz) == 0 ? 1 : -1;
	buf_free(&b);
	lines_free(&ids);
	lines_free(&paths);
	lines_free(&all);
	return r;
}

/* Regular files in name (a directory in dfd) not starting with ".":
 * Courier's messages.  0 when there is no such directory. */
static long
count_msgs(int dfd, const char *name)
{
	struct dirent *de;
	long n = 0;
	DIR *d;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (de->d_type == DT_REG || (de->d_type == DT_UNKNOWN &&
		    fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)))
			n++;
	}
	closedir(d);
	return n;
}

static long
count_maildir(int fd)
{
	long a = count_msgs(fd, "cur"), b = count_msgs(fd, "new");

	return a < 0 || b < 0 ? -1 : a + b;
}

long
mdm_claims_mail(struct mdm_fs *fs, const char *path, char *err,
    size_t errsz)
{
	struct dirent *de;
	long total;
	int fd, eno, fd2;
	DIR *d;

	if ((fd = mdm_fs_opendir(fs, path, &eno, err, errsz)) < 0)
		return eno == ENOENT ? 0 : -1;
	if ((total = count_maildir(fd)) < 0 ||
	    (fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0 ||
	    (d = fdopendir(fd2)) == NULL) {
		log_errf(err, errsz, "%s: cannot count its messages: %s",
		    path, strerror(errno));
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		long n;
		int ffd;

		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		ffd = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (ffd < 0)
			continue;	/* a file, or a symlink: no folder */
		n = count_maildir(ffd);
		close(ffd);
		if (n < 0) {
			log_errf(err, errsz, "%s/%s: cannot count its "
			    "messages", path, de->d_name);
			total = -1;
			break;
		}
		total += n;
	}
	closedir(d);
	close(fd);
	return total;
}
