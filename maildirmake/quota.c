/*
 * quota: maildirsize as the directory's quota asks (see quota.h); the
 * text itself is common/mdquota.c's.
 *
 * The maildir is reached from mail_base without following a symlink
 * (mdm_fs_opendir); maildirsize is read only if it is a regular file
 * with one link owned by mail_owner or root, and is never written in
 * place: the new text goes to a temporary file in the maildir's tmp/
 * (as Courier does), owned by mail_owner, then is renamed over it.  A
 * new file is mode 0644 (what maildirmake -q gives under umask 022); a
 * rewritten one keeps its mode.
 *
 * Usage of a new file is counted like Courier's maildirmake -q: new/ and
 * cur/ of the maildir and of its ".FOLDER"s but ".Trash" (no symlinked
 * folder), messages named ",S=N" believed, others lstat'ed (a symlinked
 * message counts as the link, where Courier would follow it).
 *
 * Limits: Courier appends a usage line at every delivery it makes; one
 * appended between our read and our rename would be lost, so the file is
 * looked at again just before the rename and the work redone (three
 * tries).  Postfix's virtual(8) never touches maildirsize.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "maildirmake/quota.h"

#define MAILDIRSIZE	"maildirsize"
#define SIZE_MAX_READ	(1024 * 1024)	/* larger: not Courier's file */
#define TRIES		3
#define DIR_FLAGS	(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* Add the mail in dirfd/sub (new or cur) as Courier counts it. */
static void
count_dir(int dirfd, const char *sub, unsigned long long *bytes,
    unsigned long long *count)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if ((fd = openat(dirfd, sub, DIR_FLAGS)) < 0)
		return;		/* Courier ignores what it cannot open */
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		unsigned long long s;

		if (!mdquota_counts_file(de->d_name))
			continue;
		if (mdquota_name_size(de->d_name, &s) != 0) {
			if (fstatat(fd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			s = (unsigned long long)st.st_size;
		}
		*bytes += s;
		(*count)++;
	}
	closedir(d);
}

static void
count_maildir(int mfd, unsigned long long *bytes, unsigned long long *count)
{
	struct dirent *de;
	DIR *d;
	int fd, ffd;

	*bytes = *count = 0;
	count_dir(mfd, "new", bytes, count);
	count_dir(mfd, "cur", bytes, count);
	if ((fd = openat(mfd, ".", DIR_FLAGS)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!mdquota_counts_folder(de->d_name))
			continue;
		if ((ffd = openat(fd, de->d_name, DIR_FLAGS)) < 0)
			continue;	/* a file, a symlink: not a folder */
		count_dir(ffd, "new", bytes, count);
		count_dir(ffd, "cur", bytes, count);
		close(ffd);
	}
	closedir(d);
}

/* Still the file that was read? */
static int
unchanged(int mfd, const struct stat *was)
{
	struct stat now;

	if (fstatat(mfd, MAILDIRSIZE, &now, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT && was == NULL;
	return was != NULL && now.st_ino == was->st_ino &&
	    now.st_dev == was->st_dev && now.st_size == was->st_size &&
	    now.st_mtim.tv_sec == was->st_mtim.tv_sec &&
	    now.st_mtim.tv_nsec == was->st_mtim.tv_nsec;
}

/* One try: 1 done (or nothing to do), 0 the file changed meanwhile. */
static int
apply(struct mdm_fs *fs, int mfd, const char *maildir, const struct mdquota *q,
    int dry, mdm_change_fn fn, void *arg, enum mdm_result *res, char *err,
    size_t errsz)
{
	struct buf old = BUF_INIT, text = BUF_INIT;
	char want[MDQUOTA_LINE_MAX], had[MDQUOTA_LINE_MAX];
	struct mdquota have;
	struct stat st;
	unsigned long long bytes, count;
	mode_t mode = 0644;
	int r, done = 1;

	*res = MDM_R_FAILED;
	r = mdm_fs_read(fs, mfd, maildir, MAILDIRSIZE, SIZE_MAX_READ, &old,
	    &st, err, errsz);
	if (r < 0)
		goto out;
	mdquota_line(q, want);
	if (q->bytes == 0 && q->count == 0) {
		/* No quota: Courier enforces none without the file. */
		*res = MDM_R_EXISTS;
		if (r == 0)
			goto out;
		if (!dry && unlinkat(mfd, MAILDIRSIZE, 0) != 0) {
			log_errf(err, errsz, "%s/%s: cannot remove: %s", maildir,
			    MAILDIRSIZE, strerror(errno));
			*res = MDM_R_FAILED;
			goto out;
		}
		mdm_fs_note(fn, arg, dry, "remove", "%s/%s (no quota)", maildir,
		    MAILDIRSIZE);
		*res = dry ? MDM_R_WOULD : MDM_R_CREATED;
		goto out;
	}
	if (r > 0) {
		mode = st.st_mode & 07777;
		switch (mdquota_update(old.p, old.len, q, &text)) {
		case MDQUOTA_SAME:
			*res = MDM_R_EXISTS;
			goto out;
		case MDQUOTA_CHANGED:
			mdquota_courier_parse(old.p, old.len, &have);
			mdquota_line(&have, had);
			if (!dry && (!unchanged(mfd, &st) ||
			    mdm_fs_replace(fs, mfd, maildir, MAILDIRSIZE,
			    text.p, text.len, mode, err, errsz) != 0)) {
				done = err[0] == '\0' ? 0 : 1;
				goto out;
			}
			mdm_fs_note(fn, arg, dry, "change", "quota of %s/%s "
			    "from \"%s\" to \"%s\"", maildir, MAILDIRSIZE, had,
			    want);
			*res = dry ? MDM_R_WOULD : MDM_R_CREATED;
			goto out;
		case MDQUOTA_NO_USAGE:
			break;	/* no usage to keep: a new file */
		}
	}
	count_maildir(mfd, &bytes, &count);
	mdquota_file(q, bytes, count, &text);
	if (!dry && (!unchanged(mfd, r > 0 ? &st : NULL) ||
	    mdm_fs_replace(fs, mfd, maildir, MAILDIRSIZE, text.p, text.len,
	    mode, err, errsz) != 0)) {
		done = err[0] == '\0' ? 0 : 1;
		goto out;
	}
	mdm_fs_note(fn, arg, dry, "create", "%s/%s (quota \"%s\")", maildir,
	    MAILDIRSIZE, want);
	*res = dry ? MDM_R_WOULD : MDM_R_CREATED;
out:
	buf_free(&old);
	buf_free(&text);
	return done;
}

enum mdm_result
mdm_quota_apply(struct mdm_fs *fs, const char *maildir,
    const struct mdquota *q, int dry, mdm_change_fn fn, void *arg,
    char *err, size_t errsz)
{
	enum mdm_result res = MDM_R_FAILED;
	int mfd, eno;

	err[0] = '\0';
	if (q->bytes > MDQUOTA_BYTES_MAX || q->count > MDQUOTA_COUNT_MAX) {
		log_errf(err, errsz, "%s: quota larger than Courier can hold",
		    maildir);
		return MDM_R_FAILED;
	}
	if ((mfd = mdm_fs_opendir(fs, maildir, &eno, err, errsz)) < 0) {
		if (!dry || eno != ENOENT)
			return MDM_R_FAILED;
		/* Dry run of a maildir still to be made. */
		err[0] = '\0';
		if (q->bytes == 0 && q->count == 0)
			return MDM_R_EXISTS;
		mdm_fs_note(fn, arg, 1, "create", "%s/%s", maildir,
		    MAILDIRSIZE);
		return MDM_R_WOULD;
	}
	for (int i = 0; i < TRIES; i++)
		if (apply(fs, mfd, maildir, q, dry, fn, arg, &res, err,
		    errsz))
			break;
	if (res == MDM_R_FAILED && err[0] == '\0')
		log_errf(err, errsz, "%s/%s changes while it is read (left "
		    "alone)", maildir, MAILDIRSIZE);
	close(mfd);
	return res;
}
