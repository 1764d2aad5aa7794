/*
 * orphans: maildirs under mail_base no entry names (see orphans.h).
 *
 * The walk goes from a descriptor of mail_base through openat() with
 * O_NOFOLLOW | O_DIRECTORY: a symlink is never followed (a delivery link,
 * or something planted), and a directory is only read, never changed.
 * Entries of each directory are visited in byte order of their names, so
 * the list comes out sorted.  Limits: MAX_DEPTH levels below mail_base
 * (deeper directories are not looked at, and that is said on stderr);
 * a directory that cannot be opened is said and skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "maildirmake/orphans.h"

#define MAX_DEPTH	16
#define DIR_FLAGS	(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

struct walk {
	char **named;		/* sorted */
	size_t n;
	mdm_orphan_fn fn;
	void *arg;
	long found;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_dir_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode);
}

static int
is_maildir(int dfd)
{
	return is_dir_at(dfd, "cur") && is_dir_at(dfd, "new") &&
	    is_dir_at(dfd, "tmp");
}

/* The names in dfd (not "." or ".."), sorted; *n of them. */
static char **
names_of(int dfd, size_t *n)
{
	char **v = NULL;
	size_t cap = 0;
	struct dirent *de;
	int fd = dup(dfd);
	DIR *d;

	*n = 0;
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

static void
names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Add the regular files' bytes and the newest change below dfd. */
static void
measure(int dfd, int depth, unsigned long long *bytes, time_t *changed)
{
	size_t n;
	char **v = names_of(dfd, &n);

	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int fd;

		if (fstatat(dfd, v[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (st.st_mtime > *changed)
			*changed = st.st_mtime;
		if (S_ISREG(st.st_mode))
			*bytes += (unsigned long long)st.st_size;
		else if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH &&
		    (fd = openat(dfd, v[i], DIR_FLAGS)) >= 0) {
			measure(fd, depth + 1, bytes, changed);
			close(fd);
		}
	}
	names_free(v, n);
}

static void
walk_dir(struct walk *w, int dfd, struct buf *path, int depth)
{
	size_t n, len = path->len;
	char **v = names_of(dfd, &n);

	for (size_t i = 0; i < n; i++) {
		char *p;
		int fd;

		if (!is_dir_at(dfd, v[i]))
			continue;
		path->len = len;
		buf_putc(path, '/');
		buf_puts(path, v[i]);
		if ((fd = openat(dfd, v[i], DIR_FLAGS)) < 0) {
			log_warn("orphans: %s: %s (not looked into)",
			    buf_str(path), strerror(errno));
			continue;
		}
		p = (char *)buf_str(path);
		if (is_maildir(fd)) {
			if (bsearch(&p, w->named, w->n, sizeof(*w->named),
			    cmp_str) == NULL) {
				struct stat st;
				unsigned long long bytes = 0;
				time_t changed = 0;

				if (fstat(fd, &st) == 0)
					changed = st.st_mtime;
				measure(fd, depth + 1, &bytes, &changed);
				w->fn(p, bytes, changed, w->arg);
				w->found++;
			}
		} else if (depth + 1 < MAX_DEPTH) {
			walk_dir(w, fd, path, depth + 1);
		} else {
			log_warn("orphans: %s: more than %d levels below "
			    "mail_base (not looked into)", p, MAX_DEPTH);
		}
		close(fd);
	}
	path->len = len;
	if (path->p != NULL)
		path->p[len] = '\0';
	names_free(v, n);
}

long
mdm_orphans(const char *mail_base, char *const *named, size_t n,
    mdm_orphan_fn fn, void *arg, char *err, size_t errsz)
{
	struct walk w;
	struct buf path = BUF_INIT;
	int fd;

	memset(&w, 0, sizeof(w));
	w.named = xcalloc(n ? n : 1, sizeof(*w.named));
	memcpy(w.named, named, n * sizeof(*named));
	w.n = n;
	if (n > 1)
		qsort(w.named, n, sizeof(*w.named), cmp_str);
	w.fn = fn;
	w.arg = arg;
	if ((fd = open(mail_base, DIR_FLAGS)) < 0) {
		log_errf(err, errsz, "cannot read mail_base %s: %s", mail_base,
		    strerror(errno));
		free(w.named);
		return -1;
	}
	/* mail_base "/" joins without a second "/". */
	if (strcmp(mail_base, "/") != 0)
		buf_puts(&path, mail_base);
	walk_dir(&w, fd, &path, 0);
	close(fd);
	buf_free(&path);
	free(w.named);
	return w.found;
}
