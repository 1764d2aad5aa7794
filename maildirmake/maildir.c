/*
 * maildir: making plan objects exist, with Courier's layout, without ever
 * following a symlink (see maildir.h).
 *
 * The layout, as Debian's maildirmake (maildrop 2.9.3) makes it, checked
 * by tests/integration/test_maildirmake.py against the real program:
 *
 *   object                  top      tmp/new/cur  maildirfolder
 *   maildir                 0700     0700         -
 *   sharable maildir (-S)   0755     0700         -
 *   folder (-s write -f)    01755    01777        0600, empty
 *   parent directory        0755     -            -
 *   shared-maildirs         0644 (Courier: 0666 & ~umask), "NICK\tPATH\n"
 *
 * How an object is made:
 *   - the parent is reached from the mail_base descriptor, a component at
 *     a time, openat(O_DIRECTORY | O_NOFOLLOW): a symlink anywhere on the
 *     way is refused (ELOOP), never followed;
 *   - a directory object is built under "ldap-maildirmake.tmp.<hash of
 *     its name>" in its parent: mkdirat 0700, then its tmp/new/cur (and
 *     maildirfolder) inside, each opened O_NOFOLLOW and given owner and
 *     mode through its descriptor (fchown, fchmod: the umask plays no
 *     part), the top last; then renameat2(RENAME_NOREPLACE) to its name.
 *     Until that rename the object does not exist; after it, it is whole;
 *   - the delivery link is symlinkat to a temporary name, owned through an
 *     O_PATH | O_NOFOLLOW descriptor checked to be that symlink, renamed;
 *   - a new shared-maildirs file is written whole under a temporary name
 *     and renamed; an existing one (a regular file with one link, ours or
 *     root's) gets the line appended by a single write(2) with O_APPEND.
 *   A temporary name left by a killed run is removed the next time its
 *   object is built (removal walks with O_NOFOLLOW too).
 *
 * What exists is never changed: no mode, owner or content of an existing
 * object is touched; a maildir or folder missing one of its tmp/new/cur
 * (or maildirfolder) gets it.  A wrong existing object (a symlink where a
 * maildir belongs, a link to elsewhere, a directory where the delivery
 * link belongs) is reported and left alone.
 *
 * Limits: no fsync (a power cut may lose a rename; the next run redoes
 * it); a process running as mail_owner may still swap things inside
 * directories mail_owner owns while we work, which gains it nothing it
 * did not have: we only ever chown to mail_owner, through descriptors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/safepath.h"
#include "maildirmake/maildir.h"

#define SUBS_MAX	3
#define SHARED_MAILDIRS	"shared-maildirs"
#define SHARED_MAX	(1024 * 1024)	/* larger: not ours to parse */
#define LEFTOVER_DEPTH	3

#define DIR_FLAGS	(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

struct mdm_fs {
	char *base;		/* mail_base, for messages */
	int basefd;
	int lockfd;		/* the run lock, -1 until taken */
	uid_t uid;
	gid_t gid;
	int do_chown;

	/* The last directory walked to, relative to mail_base. */
	char *cache_rel;
	int cache_fd;
};

/* How a directory object looks. */
struct courier_modes {
	mode_t top;
	mode_t sub;
	int nsubs;
	int folder;		/* has maildirfolder */
};

static const char *const subs[SUBS_MAX] = { "tmp", "new", "cur" };

static const struct courier_modes *
modes_of(enum mdm_kind k)
{
	static const struct courier_modes dir = { 0755, 0, 0, 0 };
	static const struct courier_modes maildir = { 0700, 0700, 3, 0 };
	static const struct courier_modes sharable = { 0755, 0700, 3, 0 };
	static const struct courier_modes folder = { 01755, 01777, 3, 1 };

	switch (k) {
	case MDM_DIR:		return &dir;
	case MDM_MAILDIR:	return &maildir;
	case MDM_SHARABLE:	return &sharable;
	case MDM_FOLDER:	return &folder;
	default:		return NULL;
	}
}

void
mdm_fs_note(mdm_change_fn fn, void *arg, int dry, const char *verb,
    const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	char line[PATH_MAX * 2 + 256];
	va_list ap;
	int r;

	if (fn == NULL)
		return;
	va_start(ap, fmt);
	r = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	if (dry) {
		buf_puts(&b, "would ");
		buf_puts(&b, verb);
	} else {
		/* "create" -> "created", "add" -> "added", "remove" -> ... */
		buf_puts(&b, verb);
		buf_puts(&b, verb[strlen(verb) - 1] == 'e' ? "d" : "ed");
	}
	buf_putc(&b, ' ');
	buf_puts(&b, line);
	if ((size_t)r >= sizeof(line))
		buf_puts(&b, "...");
	fn(buf_str(&b), arg);
	buf_free(&b);
}

/* Every change line here (mdm_fs_note: quota.c and folders.c use it too). */
#define note mdm_fs_note

/* The temporary name used for name in its parent (NUL-terminated). */
static void
mdm_tmp_name(char *out, size_t outsz, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int r;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	r = snprintf(out, outsz, "%s%016llx", MDM_TMP_PREFIX,
	    (unsigned long long)h);

	/* Callers give 64 bytes for 37: a cut name would be a bug. */
	if ((r < 0 || (size_t)r >= outsz) && outsz > 0)
		out[0] = '\0';
}

static int
own(const struct mdm_fs *fs, int fd)
{
	if (!fs->do_chown)
		return 0;
	return fchown(fd, fs->uid, fs->gid);
}

/* ---- the walk ---- */

struct mdm_fs *
mdm_fs_open(const char *mail_base, uid_t uid, gid_t gid, int do_chown,
    char *err, size_t errsz)
{
	struct mdm_fs *fs;
	int fd;

	fd = open(mail_base, DIR_FLAGS);
	if (fd < 0) {
		int e = errno;

		struct stat st;

		/* O_DIRECTORY | O_NOFOLLOW says ENOTDIR for a symlink. */
		if (e == ELOOP || (e == ENOTDIR && lstat(mail_base, &st) == 0 &&
		    S_ISLNK(st.st_mode)))
			log_errf(err, errsz,
			    "mail_base %s is a symlink: name the "
			    "directory it points to", mail_base);
		else if (e == ENOTDIR)
			log_errf(err, errsz, "mail_base %s is not a directory",
			    mail_base);
		else
			log_errf(err, errsz, "mail_base %s: %s", mail_base,
			    strerror(e));
		return NULL;
	}
	fs = xcalloc(1, sizeof(*fs));
	fs->base = xstrdup(mail_base);
	fs->basefd = fd;
	fs->lockfd = -1;
	fs->uid = uid;
	fs->gid = gid;
	fs->do_chown = do_chown;
	fs->cache_fd = -1;
	return fs;
}

static void
cache_drop(struct mdm_fs *fs)
{
	if (fs->cache_fd >= 0)
		close(fs->cache_fd);
	fs->cache_fd = -1;
	free(fs->cache_rel);
	fs->cache_rel = NULL;
}

void
mdm_fs_close(struct mdm_fs *fs)
{
	if (fs == NULL)
		return;
	cache_drop(fs);
	if (fs->lockfd >= 0)
		close(fs->lockfd);
	close(fs->basefd);
	free(fs->base);
	free(fs);
}

int
mdm_fs_lock(struct mdm_fs *fs, char *err, size_t errsz)
{
	struct stat st;
	int fd;

	/*
	 * The lock is the mail_base directory itself: no file in the tree,
	 * none anywhere else, nothing a root and a mail_owner run could
	 * disagree on.  It is taken on a descriptor of its own (a flock
	 * belongs to the open file), so that a --watch pass, a child that
	 * shares the watcher's descriptors, gives it back when it exits.
	 */
	fd = openat(fs->basefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		if (e == EWOULDBLOCK)
			return 1;
		log_errf(err, errsz, "cannot lock mail_base %s: %s", fs->base,
		    strerror(e));
		return -1;
	}
	fs->lockfd = fd;
	/* The lock file of release 1 goes: no entry can name it
	 * (a reserved component), and the tree holds only what the
	 * directory describes.  unlinkat() follows no symlink. */
	if (fstatat(fs->basefd, MDM_OLD_LOCK_NAME, &st, AT_SYMLINK_NOFOLLOW)
	    == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
		(void)unlinkat(fs->basefd, MDM_OLD_LOCK_NAME, 0);
	return 0;
}

/* Why a component could not be opened as a directory. */
static void
walk_err(char *err, size_t errsz, const struct mdm_fs *fs, const char *rel,
    size_t len, int e)
{
	const char *why = e == ELOOP ? "is a symlink (not followed)" :
	    e == ENOTDIR ? "is not a directory" : e == ENOENT ?
	    "does not exist" : strerror(e);

	log_errf(err, errsz, "%s/%.*s %s", fs->base, (int)len, rel, why);
}

/*
 * A descriptor of the directory rel[0..len) below mail_base (len 0:
 * mail_base), owned by fs (do not close).  -1 with *eno set and err
 * filled when a component is missing, a symlink or not a directory.
 */
static int
walk(struct mdm_fs *fs, const char *rel, size_t len, int *eno, char *err,
    size_t errsz)
{
	size_t pos = 0, cl;
	int fd = fs->basefd, owned = 0;

	if (len == 0)
		return fs->basefd;
	if (fs->cache_rel != NULL) {
		cl = strlen(fs->cache_rel);
		if (cl == len && memcmp(fs->cache_rel, rel, len) == 0)
			return fs->cache_fd;
		if (cl < len && memcmp(fs->cache_rel, rel, cl) == 0 &&
		    rel[cl] == '/') {
			/* Go on from the cached directory. */
			fd = fs->cache_fd;
			pos = cl + 1;
		}
	}
	while (pos < len) {
		const char *slash = memchr(rel + pos, '/', len - pos);
		size_t end = slash ? (size_t)(slash - rel) : len;
		char name[NAME_MAX + 1];
		int nfd;

		if (end - pos > NAME_MAX) {
			*eno = ENAMETOOLONG;
			walk_err(err, errsz, fs, rel, end, ENAMETOOLONG);
			goto fail;
		}
		memcpy(name, rel + pos, end - pos);
		name[end - pos] = '\0';
		nfd = openat(fd, name, DIR_FLAGS);
		if (nfd < 0) {
			struct stat st;

			*eno = errno;
			/* O_DIRECTORY | O_NOFOLLOW says ENOTDIR for a symlink. */
			if (*eno == ENOTDIR && fstatat(fd, name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				*eno = ELOOP;
			errno = *eno;
			walk_err(err, errsz, fs, rel, end, errno);
			goto fail;
		}
		if (owned)
			close(fd);
		fd = nfd;
		owned = 1;
		pos = end + 1;
	}
	if (!owned) {
		/* Started from the cache and stayed there: cannot happen. */
		*eno = EINVAL;
		log_errf(err, errsz,
		    "internal error walking %.*s", (int)len, rel);
		return -1;
	}
	cache_drop(fs);
	fs->cache_rel = xstrndup(rel, len);
	fs->cache_fd = fd;
	return fd;
fail:
	if (owned)
		close(fd);
	return -1;
}

/* ---- leftovers ---- */

/* Remove name in dirfd, a tree of at most depth levels, without
 * following symlinks.  0, or -1 with errno. */
static int
remove_tree(int dirfd, const char *name, int depth)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int fd, e = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0);
	if (depth <= 0) {
		errno = ENOTEMPTY;
		return -1;
	}
	if ((fd = openat(dirfd, name, DIR_FLAGS)) < 0)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..")
		    == 0)
			continue;
		if (remove_tree(fd, de->d_name, depth - 1) != 0 && e == 0)
			e = errno;
	}
	closedir(d);
	if (e != 0) {
		errno = e;
		return -1;
	}
	return unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Remove the temporary of name in dirfd if a killed run left it. */
static int
clean_leftover(struct mdm_fs *fs, int dirfd, const char *dirpath,
    const char *name, int dry, mdm_change_fn fn, void *arg, char *err,
    size_t errsz)
{
	char tmp[64];
	struct stat st;

	mdm_tmp_name(tmp, sizeof(tmp), name);
	if (fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 0;
		log_errf(err, errsz,
		    "%s/%s: %s", dirpath, tmp, strerror(errno));
		return -1;
	}
	if (!dry && remove_tree(dirfd, tmp, LEFTOVER_DEPTH) != 0) {
		log_errf(err, errsz,
		    "cannot remove leftover %s/%s: %s", dirpath,
		    tmp, strerror(errno));
		return -1;
	}
	note(fn, arg, dry, "remove", "leftover %s/%s", dirpath, tmp);
	return 1;
}

/* renameat2(RENAME_NOREPLACE), or a careful renameat where the file
 * system has no such flag (we hold the lock and saw no target). */
static int
rename_noreplace(int dirfd, const char *from, const char *to)
{
	struct stat st;

	if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (fstatat(dirfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(dirfd, from, dirfd, to);
}

/* ---- directories ---- */

/* A new directory name in dirfd, given to mail_owner with mode; its
 * descriptor, or -1 with errno. */
static int
new_dir(const struct mdm_fs *fs, int dirfd, const char *name, mode_t mode)
{
	struct stat st;
	int fd, e;

	if (mkdirat(dirfd, name, 0700) != 0)
		return -1;
	if ((fd = openat(dirfd, name, DIR_FLAGS)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
		close(fd);
		errno = ENOTDIR;
		return -1;
	}
	if (own(fs, fd) != 0 || fchmod(fd, mode) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* An empty maildirfolder file in dirfd. */
static int
new_marker(const struct mdm_fs *fs, int dirfd)
{
	int fd, e;

	fd = openat(dirfd, "maildirfolder", O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (own(fs, fd) != 0 || fchmod(fd, 0600) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* Build the directory object name in dirfd under its temporary name and
 * rename it into place.  1 made, 0 someone else made it meanwhile, -1
 * failure (err set; the temporary is gone). */
static int
build_dir(struct mdm_fs *fs, int dirfd, const char *name,
    const struct mdm_obj *o, const struct courier_modes *ly, char *err,
    size_t errsz)
{
	char tmp[64];
	const char *what = "mkdir";
	int tfd, sfd, e;

	mdm_tmp_name(tmp, sizeof(tmp), name);
	if ((tfd = new_dir(fs, dirfd, tmp, 0700)) < 0)
		goto fail;
	for (int k = 0; k < ly->nsubs; k++) {
		if ((sfd = new_dir(fs, tfd, subs[k], ly->sub)) < 0) {
			what = subs[k];
			goto fail_fd;
		}
		close(sfd);
	}
	if (ly->folder && new_marker(fs, tfd) != 0) {
		what = "maildirfolder";
		goto fail_fd;
	}
	/* The top last: until now nobody but us could enter it. */
	if (own(fs, tfd) != 0 || fchmod(tfd, ly->top) != 0) {
		what = "chown/chmod";
		goto fail_fd;
	}
	close(tfd);
	if (rename_noreplace(dirfd, tmp, name) != 0) {
		e = errno;
		(void)remove_tree(dirfd, tmp, LEFTOVER_DEPTH);
		if (e == EEXIST || e == ENOTEMPTY)
			return 0;
		log_errf(err, errsz, "%s: rename into place: %s", o->path,
		    strerror(e));
		return -1;
	}
	return 1;
fail_fd:
	e = errno;
	close(tfd);
	errno = e;
fail:
	e = errno;
	(void)remove_tree(dirfd, tmp, LEFTOVER_DEPTH);
	log_errf(err, errsz, "%s: cannot create (%s): %s", o->path, what,
	    strerror(e));
	return -1;
}

/* An existing directory object: complete what Courier's layout needs. */
static enum mdm_result
check_dir(struct mdm_fs *fs, int dirfd, const char *name,
    const struct mdm_obj *o, const struct courier_modes *ly, int dry,
    mdm_change_fn fn, void *arg, char *err, size_t errsz)
{
	enum mdm_result res = MDM_R_EXISTS;
	struct stat st;
	int fd, sfd;

	if (ly->nsubs == 0 && !ly->folder)
		return MDM_R_EXISTS;
	if ((fd = openat(dirfd, name, DIR_FLAGS)) < 0) {
		log_errf(err, errsz, "%s: %s", o->path, strerror(errno));
		return MDM_R_FAILED;
	}
	for (int k = 0; k < ly->nsubs; k++) {
		if (fstatat(fd, subs[k], &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode))
				continue;
			log_errf(err, errsz, "%s/%s exists and is not a "
			    "directory%s", o->path, subs[k],
			    S_ISLNK(st.st_mode) ? " (a symlink)" : "");
			goto fail;
		}
		if (errno != ENOENT) {
			log_errf(err, errsz, "%s/%s: %s", o->path, subs[k],
			    strerror(errno));
			goto fail;
		}
		if (!dry) {
			if ((sfd = new_dir(fs, fd, subs[k], ly->sub)) < 0) {
				log_errf(err, errsz, "%s/%s: cannot create: %s",
				    o->path, subs[k], strerror(errno));
				goto fail;
			}
			close(sfd);
		}
		note(fn, arg, dry, "add", "missing %s/%s/", o->path, subs[k]);
		res = dry ? MDM_R_WOULD : MDM_R_CREATED;
	}
	if (ly->folder) {
		if (fstatat(fd, "maildirfolder", &st, AT_SYMLINK_NOFOLLOW) ==
		    0) {
			if (!S_ISREG(st.st_mode)) {
				log_errf(err, errsz,
				    "%s/maildirfolder is not a "
				    "regular file", o->path);
				goto fail;
			}
		} else if (errno != ENOENT) {
			log_errf(err, errsz, "%s/maildirfolder: %s", o->path,
			    strerror(errno));
			goto fail;
		} else {
			if (!dry && new_marker(fs, fd) != 0) {
				log_errf(err, errsz, "%s/maildirfolder: cannot "
				    "create: %s", o->path, strerror(errno));
				goto fail;
			}
			note(fn, arg, dry, "add", "missing %s/maildirfolder",
			    o->path);
			res = dry ? MDM_R_WOULD : MDM_R_CREATED;
		}
	}
	close(fd);
	return res;
fail:
	close(fd);
	return MDM_R_FAILED;
}

static enum mdm_result
make_dir(struct mdm_fs *fs, int dirfd, const char *dirpath,
    const char *name, const struct mdm_obj *o, const struct courier_modes *ly,
    const char *what, int dry, mdm_change_fn fn, void *arg, char *err,
    size_t errsz)
{
	enum mdm_result res = MDM_R_EXISTS;
	struct stat st;
	int r;

	if ((r = clean_leftover(fs, dirfd, dirpath, name, dry, fn, arg, err,
	    errsz)) < 0)
		return MDM_R_FAILED;
	if (r > 0)
		res = dry ? MDM_R_WOULD : MDM_R_CREATED;
	for (int tries = 0; tries < 2; tries++) {
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			enum mdm_result c;

			if (S_ISLNK(st.st_mode)) {
				log_errf(err, errsz, "%s is a symlink (not "
				    "followed; left alone)", o->path);
				return MDM_R_FAILED;
			}
			if (!S_ISDIR(st.st_mode)) {
				log_errf(err, errsz, "%s exists and is not a "
				    "directory (left alone)", o->path);
				return MDM_R_FAILED;
			}
			c = check_dir(fs, dirfd, name, o, ly, dry, fn, arg, err,
			    errsz);
			return c == MDM_R_EXISTS ? res : c;
		}
		if (errno != ENOENT) {
			log_errf(err, errsz,
			    "%s: %s", o->path, strerror(errno));
			return MDM_R_FAILED;
		}
		if (dry) {
			note(fn, arg, 1, "create", "%s %s/", what, o->path);
			return MDM_R_WOULD;
		}
		r = build_dir(fs, dirfd, name, o, ly, err, errsz);
		if (r < 0)
			return MDM_R_FAILED;
		if (r > 0) {
			note(fn, arg, 0, "create", "%s %s/", what, o->path);
			return MDM_R_CREATED;
		}
		/* Made by someone else meanwhile: look at it again. */
	}
	log_errf(err, errsz, "%s: appears and disappears", o->path);
	return MDM_R_FAILED;
}

/* ---- the delivery link ---- */

/*
 * Is the object st (at dirfd/name, not followed) the link o asks for?
 * 0 if so; -1 with a message in err if something else is in the way (a
 * directory, a file, a link elsewhere): it is left alone.
 */
static int
is_our_link(int dirfd, const char *name, const struct stat *st,
    const struct mdm_obj *o, char *err, size_t errsz)
{
	char have[PATH_MAX];
	ssize_t n;

	if (S_ISDIR(st->st_mode))
		return log_errf(err, errsz, "%s is a directory, not the link "
		    "to %s (mail delivered before the link existed? move it "
		    "into the folder and remove it; left alone)", o->path,
		    o->arg);
	if (!S_ISLNK(st->st_mode))
		return log_errf(err, errsz, "%s exists and is not the link to "
		    "%s (left alone)", o->path, o->arg);
	n = readlinkat(dirfd, name, have, sizeof(have));
	if (n < 0 || (size_t)n >= sizeof(have))
		return log_errf(err, errsz, "%s: readlink: %s", o->path,
		    n < 0 ? strerror(errno) : "too long");
	if ((size_t)n != strlen(o->arg) || memcmp(have, o->arg, (size_t)n) != 0)
		return log_errf(err, errsz, "%s is a link to %.*s, not to %s "
		    "(left alone)", o->path, (int)n, have, o->arg);
	return 0;
}

static enum mdm_result
make_link(struct mdm_fs *fs, int dirfd, const char *dirpath,
    const char *name, const struct mdm_obj *o, int dry, mdm_change_fn fn,
    void *arg, char *err, size_t errsz)
{
	enum mdm_result res = MDM_R_EXISTS;
	char tmp[64];
	struct stat st;
	int fd, r;

	if ((r = clean_leftover(fs, dirfd, dirpath, name, dry, fn, arg, err,
	    errsz)) < 0)
		return MDM_R_FAILED;
	if (r > 0)
		res = dry ? MDM_R_WOULD : MDM_R_CREATED;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return is_our_link(dirfd, name, &st, o, err, errsz) == 0 ? res :
		    MDM_R_FAILED;
	if (errno != ENOENT) {
		log_errf(err, errsz, "%s: %s", o->path, strerror(errno));
		return MDM_R_FAILED;
	}
	if (dry) {
		note(fn, arg, 1, "create", "link %s -> %s", o->path, o->arg);
		return MDM_R_WOULD;
	}
	mdm_tmp_name(tmp, sizeof(tmp), name);
	if (symlinkat(o->arg, dirfd, tmp) != 0) {
		log_errf(err, errsz,
		    "%s: symlink: %s", o->path, strerror(errno));
		return MDM_R_FAILED;
	}
	if (fs->do_chown) {
		/* Through a descriptor of the very symlink we made. */
		fd = openat(dirfd, tmp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISLNK(st.st_mode) ||
		    fchownat(fd, "", fs->uid, fs->gid, AT_EMPTY_PATH |
		    AT_SYMLINK_NOFOLLOW) != 0) {
			int e = fd < 0 ? errno : S_ISLNK(st.st_mode) ? errno :
			    EINVAL;

			if (fd >= 0)
				close(fd);
			(void)unlinkat(dirfd, tmp, 0);
			log_errf(err, errsz, "%s: chown of the new link: %s",
			    o->path, strerror(e));
			return MDM_R_FAILED;
		}
		close(fd);
	}
	if (rename_noreplace(dirfd, tmp, name) != 0) {
		int e = errno;

		(void)unlinkat(dirfd, tmp, 0);
		log_errf(err, errsz, "%s: rename into place: %s", o->path,
		    strerror(e));
		return MDM_R_FAILED;
	}
	note(fn, arg, 0, "create", "link %s -> %s", o->path, o->arg);
	return MDM_R_CREATED;
}

/* ---- shared-maildirs ---- */

/* Read all of fd (at most max bytes) into b. */
static int
read_all(int fd, struct buf *b, size_t max)
{
	char chunk[8192];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		if (max - b->len < (size_t)n) {
			errno = EFBIG;
			return -1;
		}
		buf_append(b, chunk, (size_t)n);
	}
}

/* Is the line (with its "\n") there?  1 yes, 0 no, -1 its nickname is
 * there for another path (*other points at that line). */
static int
find_line(const struct buf *b, const char *line, const char **other,
    size_t *otherlen)
{
	const char *tab = strchr(line, '\t');
	size_t nl = (size_t)(tab - line), ll = strlen(line) - 1;
	const char *p = b->p, *end = b->p + b->len;

	while (p != NULL && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);

		if (len > nl && p[nl] == '\t' && memcmp(p, line, nl) == 0) {
			if (len == ll && memcmp(p, line, ll) == 0)
				return 1;
			*other = p;
			*otherlen = len;
			return -1;
		}
		p = eol ? eol + 1 : NULL;
	}
	return 0;
}

/* A new shared-maildirs holding just line, written whole then renamed. */
static int
new_shared_file(struct mdm_fs *fs, int mfd, const char *line,
    const struct mdm_obj *o, char *err, size_t errsz)
{
	char tmp[64];
	size_t len = strlen(line);
	int fd, e;

	mdm_tmp_name(tmp, sizeof(tmp), SHARED_MAILDIRS);
	fd = openat(mfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if (write(fd, line, len) != (ssize_t)len) {
		if (errno == 0)
			errno = EIO;
		goto fail_fd;
	}
	if (own(fs, fd) != 0 || fchmod(fd, 0644) != 0)
		goto fail_fd;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	if (rename_noreplace(mfd, tmp, SHARED_MAILDIRS) != 0) {
		e = errno;
		(void)unlinkat(mfd, tmp, 0);
		if (e == EEXIST)
			return 0;
		errno = e;
		fd = -1;
		goto fail;
	}
	return 1;
fail_fd:
	e = errno;
	close(fd);
	errno = e;
fail:
	e = errno;
	(void)unlinkat(mfd, tmp, 0);
	log_errf(err, errsz, "%s/%s: cannot create: %s", o->path,
	    SHARED_MAILDIRS, strerror(e));
	return -1;
}

static enum mdm_result
make_line(struct mdm_fs *fs, const struct mdm_obj *o, int dry,
    mdm_change_fn fn, void *arg, char *err, size_t errsz)
{
	const char *rel = o->path + o->rel, *other = NULL;
	enum mdm_result res = MDM_R_EXISTS;
	size_t otherlen = 0, nicklen = strcspn(o->arg, "\t");
	struct buf b = BUF_INIT;
	struct stat st;
	int mfd, fd, eno, r, found;

	mfd = walk(fs, rel, strlen(rel), &eno, err, errsz);
	if (mfd < 0) {
		if (!dry || eno != ENOENT)
			return MDM_R_FAILED;
		err[0] = '\0';
		note(fn, arg, 1, "add", "\"%.*s\" to %s/%s",
		    (int)nicklen, o->arg, o->path, SHARED_MAILDIRS);
		return MDM_R_WOULD;
	}
	if ((r = clean_leftover(fs, mfd, o->path, SHARED_MAILDIRS, dry, fn,
	    arg, err, errsz)) < 0)
		return MDM_R_FAILED;
	if (r > 0)
		res = dry ? MDM_R_WOULD : MDM_R_CREATED;
	for (int tries = 0; tries < 2; tries++) {
		fd = openat(mfd, SHARED_MAILDIRS, (dry ? O_RDONLY : O_RDWR) |
		    O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			if (dry) {
				note(fn, arg, 1, "add", "\"%.*s\" to %s/%s", (int)nicklen, o->arg, o->path,
				    SHARED_MAILDIRS);
				return MDM_R_WOULD;
			}
			r = new_shared_file(fs, mfd, o->arg, o, err, errsz);
			if (r < 0)
				return MDM_R_FAILED;
			if (r == 0)
				continue;	/* appeared meanwhile */
			note(fn, arg, 0, "add", "\"%.*s\" to %s/%s",
			    (int)nicklen, o->arg, o->path, SHARED_MAILDIRS);
			return MDM_R_CREATED;
		}
		if (fd < 0) {
			log_errf(err, errsz,
			    "%s/%s: %s", o->path, SHARED_MAILDIRS,
			    errno == ELOOP ? "is a symlink (not followed)" :
			    strerror(errno));
			return MDM_R_FAILED;
		}
		break;
	}
	if (fd < 0) {
		log_errf(err, errsz, "%s/%s: appears and disappears", o->path,
		    SHARED_MAILDIRS);
		return MDM_R_FAILED;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (st.st_uid != fs->uid && st.st_uid != 0 &&
	    st.st_uid != geteuid())) {
		log_errf(err, errsz,
		    "%s/%s is not a regular file with one link "
		    "owned by mail_owner or root (left alone)", o->path,
		    SHARED_MAILDIRS);
		close(fd);
		return MDM_R_FAILED;
	}
	if (read_all(fd, &b, SHARED_MAX) != 0) {
		log_errf(err, errsz, "%s/%s: %s", o->path, SHARED_MAILDIRS,
		    strerror(errno));
		goto fail;
	}
	found = find_line(&b, o->arg, &other, &otherlen);
	if (found < 0) {
		log_errf(err, errsz,
		    "%s/%s already names another shared maildir "
		    "\"%.*s\" (left alone)", o->path, SHARED_MAILDIRS,
		    (int)(otherlen > 300 ? 300 : otherlen), other);
		goto fail;
	}
	if (found == 0) {
		if (!dry) {
			struct buf w = BUF_INIT;
			ssize_t n;

			/* One write of the whole line, after a "\n" if
			 * someone left the last line open. */
			if (b.len > 0 && b.p[b.len - 1] != '\n')
				buf_putc(&w, '\n');
			buf_puts(&w, o->arg);
			n = write(fd, w.p, w.len);
			if (n != (ssize_t)w.len) {
				log_errf(err, errsz,
				    "%s/%s: write: %s", o->path,
				    SHARED_MAILDIRS, n < 0 ? strerror(errno) :
				    "short write");
				buf_free(&w);
				goto fail;
			}
			buf_free(&w);
		}
		note(fn, arg, dry, "add", "\"%.*s\" to %s/%s", (int)nicklen,
		    o->arg, o->path, SHARED_MAILDIRS);
		res = dry ? MDM_R_WOULD : MDM_R_CREATED;
	}
	buf_free(&b);
	close(fd);
	return res;
fail:
	buf_free(&b);
	close(fd);
	return MDM_R_FAILED;
}

/* ---- looking only ---- */

/*
 * The quick look of the first pass: one fstatat per object (and per
 * tmp/new/cur), relative to mail_base, the last component never
 * followed.  The plan puts every parent before its children and a child
 * is only looked at when its parent was found to be a real directory, so
 * no component on the way is a symlink either (as of that look).  It
 * only reads: whatever is then made goes through the O_NOFOLLOW walk.
 */
enum mdm_result
mdm_fs_check(struct mdm_fs *fs, const struct mdm_obj *o, char *err,
    size_t errsz)
{
	const struct courier_modes *ly;
	const char *rel = o->path + o->rel;
	char sub[PATH_MAX];
	struct stat st;
	int r;

	err[0] = '\0';
	if (o->kind == MDM_SUBSCRIBE)	/* reads a file: the safe walk */
		return make_line(fs, o, 1, NULL, NULL, err, errsz);
	if (fstatat(fs->basefd, rel, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return MDM_R_WOULD;
		log_errf(err, errsz, "%s: %s", o->path, strerror(errno));
		return MDM_R_FAILED;
	}
	if (o->kind == MDM_LINK)
		return is_our_link(fs->basefd, rel, &st, o, err, errsz) == 0 ?
		    MDM_R_EXISTS : MDM_R_FAILED;
	if (S_ISLNK(st.st_mode)) {
		log_errf(err, errsz,
		    "%s is a symlink (not followed; left alone)",
		    o->path);
		return MDM_R_FAILED;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_errf(err, errsz, "%s exists and is not a directory (left "
		    "alone)", o->path);
		return MDM_R_FAILED;
	}
	ly = modes_of(o->kind);
	for (int k = 0; k <= ly->nsubs; k++) {
		const char *name = k < ly->nsubs ? subs[k] : "maildirfolder";
		int want_dir = k < ly->nsubs;

		if (k == ly->nsubs && !ly->folder)
			break;
		r = snprintf(sub, sizeof(sub), "%s/%s", rel, name);
		if (r < 0 || (size_t)r >= sizeof(sub))
			return MDM_R_WOULD;	/* let the walk say why */
		if (fstatat(fs->basefd, sub, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				return MDM_R_WOULD;
			log_errf(err, errsz, "%s/%s: %s", o->path, name,
			    strerror(errno));
			return MDM_R_FAILED;
		}
		if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
			log_errf(err, errsz, "%s/%s exists and is not a %s%s",
			    o->path, name, want_dir ? "directory" :
			    "regular file", S_ISLNK(st.st_mode) ?
			    " (a symlink)" : "");
			return MDM_R_FAILED;
		}
	}
	return MDM_R_EXISTS;
}

/* ---- one object ---- */

/* The dry-run line of an object whose parent does not exist yet. */
static enum mdm_result
would_make(const struct mdm_obj *o, mdm_change_fn fn, void *arg)
{
	if (o->kind == MDM_LINK)
		note(fn, arg, 1, "create", "link %s -> %s", o->path, o->arg);
	else if (o->kind == MDM_SUBSCRIBE)
		note(fn, arg, 1, "add", "\"%.*s\" to %s/%s",
		    (int)strcspn(o->arg, "\t"), o->arg, o->path,
		    SHARED_MAILDIRS);
	else
		note(fn, arg, 1, "create", "%s %s/",
		    mdm_kind_name(o->kind), o->path);
	return MDM_R_WOULD;
}

enum mdm_result
mdm_fs_make(struct mdm_fs *fs, const struct mdm_obj *o, int dry,
    mdm_change_fn fn, void *arg, char *err, size_t errsz)
{
	const char *rel = o->path + o->rel, *slash, *name;
	size_t dirlen, plen;
	char dirpath[PATH_MAX];
	int dirfd, eno;

	err[0] = '\0';
	if (o->kind == MDM_SUBSCRIBE)
		return make_line(fs, o, dry, fn, arg, err, errsz);
	slash = strrchr(rel, '/');
	dirlen = slash ? (size_t)(slash - rel) : 0;
	name = slash ? slash + 1 : rel;
	dirfd = walk(fs, rel, dirlen, &eno, err, errsz);
	if (dirfd < 0) {
		if (dry && eno == ENOENT) {
			err[0] = '\0';
			return would_make(o, fn, arg);
		}
		return MDM_R_FAILED;
	}
	/* The parent's absolute path, for messages. */
	plen = dirlen > 0 ? o->rel + dirlen : o->rel > 1 ? o->rel - 1 : 1;
	if (plen >= sizeof(dirpath))
		plen = sizeof(dirpath) - 1;
	memcpy(dirpath, o->path, plen);
	dirpath[plen] = '\0';
	if (o->kind == MDM_LINK)
		return make_link(fs, dirfd, dirpath, name, o, dry, fn, arg, err,
		    errsz);
	return make_dir(fs, dirfd, dirpath, name, o, modes_of(o->kind),
	    mdm_kind_name(o->kind), dry, fn, arg, err, errsz);
}

/* ---- shared with quota.c and folders.c ---- */

/* The part of path below mail_base, or NULL (err set). */
static const char *
below_base(const struct mdm_fs *fs, const char *path, char *err,
    size_t errsz)
{
	enum safepath_err e;
	size_t rel;

	e = safepath_under(fs->base, path, strlen(path), &rel);
	if (e != SAFEPATH_OK) {
		log_errf(err, errsz, "%s: %s", path, e == SAFEPATH_OUTSIDE ?
		    "not inside mail_base" : safepath_strerror(e));
		return NULL;
	}
	return path + rel;
}

int
mdm_fs_opendir(struct mdm_fs *fs, const char *path, int *eno, char *err,
    size_t errsz)
{
	const char *rel;
	int fd;

	*eno = EINVAL;
	if ((rel = below_base(fs, path, err, errsz)) == NULL)
		return -1;
	if ((fd = walk(fs, rel, strlen(rel), eno, err, errsz)) < 0)
		return -1;
	if ((fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		*eno = errno;
		log_errf(err, errsz, "%s: %s", path, strerror(errno));
	}
	return fd;
}

/* A file of a maildir ldap-maildirmake may rewrite: a regular file with
 * one link, owned by mail_owner, root or us. */
static int
trusted_file(const struct mdm_fs *fs, const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_nlink == 1 &&
	    (st->st_uid == fs->uid || st->st_uid == 0 ||
	    st->st_uid == geteuid());
}

int
mdm_fs_read(const struct mdm_fs *fs, int dirfd, const char *dirpath,
    const char *name, size_t max, struct buf *out, struct stat *st,
    char *err, size_t errsz)
{
	int fd, e;

	buf_reset(out);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return log_errf(err, errsz, "%s/%s: %s", dirpath, name,
		    errno == ELOOP ? "is a symlink (not followed; left "
		    "alone)" : strerror(errno));
	if (fstat(fd, st) != 0 || !trusted_file(fs, st)) {
		close(fd);
		return log_errf(err, errsz, "%s/%s is not a regular file with "
		    "one link owned by mail_owner or root (left alone)",
		    dirpath, name);
	}
	if (read_all(fd, out, max) != 0) {
		e = errno;
		close(fd);
		return log_errf(err, errsz, "%s/%s: %s%s", dirpath, name,
		    e == EFBIG ? "larger than expected" : strerror(e),
		    e == EFBIG ? " (left alone)" : "");
	}
	close(fd);
	return 1;
}

int
mdm_fs_replace(const struct mdm_fs *fs, int dirfd, const char *dirpath,
    const char *name, const void *data, size_t len, mode_t mode, char *err,
    size_t errsz)
{
	char tmp[64];
	const char *what = "tmp";
	ssize_t n;
	int tfd, fd = -1, e;

	/* Courier builds maildirsize in the maildir's tmp/ too. */
	if ((tfd = openat(dirfd, "tmp", DIR_FLAGS)) < 0) {
		struct stat st;

		/* O_DIRECTORY | O_NOFOLLOW says ENOTDIR for a symlink. */
		e = errno == ENOTDIR && fstatat(dirfd, "tmp", &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) ? ELOOP :
		    errno;
		return log_errf(err, errsz, "%s/tmp: %s", dirpath,
		    e == ELOOP ? "is a symlink (not followed)" : strerror(e));
	}
	mdm_tmp_name(tmp, sizeof(tmp), name);
	/* A killed run's leftover (unlinkat follows no symlink). */
	if (unlinkat(tfd, tmp, 0) != 0 && errno != ENOENT)
		goto fail;
	what = name;
	fd = openat(tfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	n = write(fd, data, len);
	if (n != (ssize_t)len) {
		if (n >= 0)
			errno = EIO;
		goto fail;
	}
	if (own(fs, fd) != 0 || fchmod(fd, mode) != 0)
		goto fail;
	e = close(fd);
	fd = -1;
	if (e != 0 || renameat(tfd, tmp, dirfd, name) != 0)
		goto fail;
	close(tfd);
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	(void)unlinkat(tfd, tmp, 0);
	close(tfd);
	return log_errf(err, errsz, "%s/%s: cannot write: %s", dirpath, what,
	    strerror(e));
}

enum mdm_result
mdm_fs_make_folder(struct mdm_fs *fs, const char *maildir, const char *name,
    int dry, mdm_change_fn fn, void *arg, char *err, size_t errsz)
{
	/* maildirmake -f NAME: private, as an IMAP CREATE makes it. */
	static const struct courier_modes private_folder = { 0700, 0700, 3, 1 };
	enum safepath_err e;
	struct mdm_obj o;
	char dname[NAME_MAX + 1], path[PATH_MAX];
	const char *rel;
	int dirfd, eno, r;

	err[0] = '\0';
	if ((e = safepath_folder(name, strlen(name))) != SAFEPATH_OK) {
		char shown[LOG_PRINTABLE_SIZE];

		log_errf(err, errsz, "%s: folder name \"%s\": %s", maildir,
		    log_printable(shown, sizeof(shown), name, strlen(name)),
		    safepath_strerror(e));
		return MDM_R_FAILED;
	}
	r = snprintf(dname, sizeof(dname), ".%s", name);
	if (r < 0 || (size_t)r >= sizeof(dname))
		return MDM_R_FAILED;	/* safepath_folder said it fits */
	r = snprintf(path, sizeof(path), "%s/%s", maildir, dname);
	if (r < 0 || (size_t)r >= sizeof(path)) {
		log_errf(err, errsz, "%s/%s: path too long", maildir, dname);
		return MDM_R_FAILED;
	}
	if ((rel = below_base(fs, maildir, err, errsz)) == NULL)
		return MDM_R_FAILED;
	memset(&o, 0, sizeof(o));
	o.kind = MDM_FOLDER;
	o.path = path;
	o.rel = (size_t)(rel - maildir);
	o.parent = o.need = o.entry = MDM_NONE;
	dirfd = walk(fs, rel, strlen(rel), &eno, err, errsz);
	if (dirfd < 0) {
		if (!dry || eno != ENOENT)
			return MDM_R_FAILED;
		err[0] = '\0';
		note(fn, arg, 1, "create", "folder %s/", path);
		return MDM_R_WOULD;
	}
	return make_dir(fs, dirfd, maildir, dname, &o, &private_folder,
	    "folder", dry, fn, arg, err, errsz);
}
