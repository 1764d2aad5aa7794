/*
 * maildir: Courier's maildir layout, made safely under mail_base.
 *
 * Every path is reached from a descriptor of mail_base, one component at
 * a time with openat(O_DIRECTORY | O_NOFOLLOW): no symlink is ever
 * followed.  A new object is built under a temporary name in its parent
 * and renamed into place whole, so an interrupted run leaves a complete
 * object or a leftover that the next run removes.  Modes are set with
 * fchmod, never left to the umask; owner and group are mail_owner's.
 */
#ifndef LDAPMAIL_MDM_MAILDIR_H
#define LDAPMAIL_MDM_MAILDIR_H

#include <stddef.h>
#include <sys/types.h>

#include "maildirmake/plan.h"

/* The lock file earlier versions left in mail_base (removed). */
#define MDM_OLD_LOCK_NAME ".ldap-maildirmake.lock"
/* Temporary names: this prefix and 16 hex digits. */
#define MDM_TMP_PREFIX "ldap-maildirmake.tmp."

struct mdm_fs;

enum mdm_result {
	MDM_R_EXISTS,	/* already there as asked: nothing done */
	MDM_R_CREATED,	/* made (or completed) now */
	MDM_R_WOULD,	/* dry run: something would be done */
	MDM_R_FAILED	/* err says why; nothing half-made is left */
};

/* Called with each change, one line of text ("created maildir ..."). */
typedef void (*mdm_change_fn)(const char *line, void *arg);

/* Open mail_base (a directory, not a symlink).  do_chown: give every new
 * object to uid:gid (root); otherwise new objects are the caller's. */
struct mdm_fs *mdm_fs_open(const char *mail_base, uid_t uid, gid_t gid,
    int do_chown, char *err, size_t errsz);
void mdm_fs_close(struct mdm_fs *fs);

/* Take the run lock without waiting (flock on mail_base itself): 0
 * taken, 1 another run holds it, -1 error (err set).  Held until
 * mdm_fs_close or exit. */
int mdm_fs_lock(struct mdm_fs *fs, char *err, size_t errsz);

/* Make o exist (dry: only look and tell).  Its parent must exist. */
enum mdm_result mdm_fs_make(struct mdm_fs *fs, const struct mdm_obj *o,
    int dry, mdm_change_fn fn, void *arg, char *err, size_t errsz);

/* Only look, quickly (no descriptor opened but for shared-maildirs):
 * EXISTS when o is there whole, WOULD when something is to be done,
 * FAILED when something else is in the way.  Objects must be looked at
 * in plan order, a child only after its parent was found. */
enum mdm_result mdm_fs_check(struct mdm_fs *fs, const struct mdm_obj *o,
    char *err, size_t errsz);

/* ---- pieces quota.c and folders.c share (Courier files in a maildir) */

struct buf;
struct stat;

/* One change line, as mdm_fs_make gives them ("created ...", "would
 * create ..."; verb "create", "change", "add", "remove"). */
void mdm_fs_note(mdm_change_fn fn, void *arg, int dry, const char *verb,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A new descriptor (the caller closes it) of directory path, absolute and
 * below mail_base, reached without following a symlink; -1 with *eno and
 * err set. */
int mdm_fs_opendir(struct mdm_fs *fs, const char *path, int *eno,
    char *err, size_t errsz);

/* Read name in dirfd (at most max bytes) into out, *st its status: 1
 * read, 0 there is none, -1 (err set) it is a symlink, not a regular file
 * with one link owned by mail_owner or root, or larger than max. */
int mdm_fs_read(const struct mdm_fs *fs, int dirfd, const char *dirpath,
    const char *name, size_t max, struct buf *out, struct stat *st,
    char *err, size_t errsz);

/* Make name in dirfd (a maildir) hold data, whole: written under a
 * temporary name in its tmp/, given to mail_owner with mode, renamed
 * over name.  0, or -1 (err set; nothing changed). */
int mdm_fs_replace(const struct mdm_fs *fs, int dirfd, const char *dirpath,
    const char *name, const void *data, size_t len, mode_t mode, char *err,
    size_t errsz);

/* Make folder name (a Courier folder name, "." its hierarchy separator)
 * in maildir as Courier's maildirmake -f NAME does: ".NAME" 0700,
 * cur/new/tmp 0700, an empty maildirfolder 0600.  The maildir must
 * exist (dry: may not yet). */
enum mdm_result mdm_fs_make_folder(struct mdm_fs *fs, const char *maildir,
    const char *name, int dry, mdm_change_fn fn, void *arg, char *err,
    size_t errsz);

#endif
