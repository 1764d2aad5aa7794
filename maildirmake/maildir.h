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

/* Lock file in mail_base (mode 0600, mail_owner's). */
#define MDM_LOCK_NAME ".ldap-maildirmake.lock"
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

/* Take the run lock without waiting: 0 taken, 1 another run holds it,
 * -1 error (err set).  Held until mdm_fs_close or exit. */
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

#endif
