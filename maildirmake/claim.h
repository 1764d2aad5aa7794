/*
 * claim: which account each existing maildir belongs to, so that a new
 * account never silently gets an orphan's mail (the Jamm howto's privacy
 * warning: a deleted user's maildir stays, and the next account given
 * the same path would read it).
 *
 * The record is a state file, <state_dir>/maildirs, outside mail_base:
 * one line per account whose maildir a run found or made whole, "ID<TAB>
 * PATH", ID being "uuid:" and the entry's entryUUID (a DN rename keeps
 * it; an entry deleted and made again gets a new one) or, from a server
 * without entryUUID, "dn:" and the normalized DN.  Read before the
 * passes, written after them under the run lock (temporary file, fsync,
 * rename; never by -n), only when it changes.  No symlink is followed.
 */
#ifndef LDAPMAIL_MDM_CLAIM_H
#define LDAPMAIL_MDM_CLAIM_H

#include <stddef.h>
#include <sys/types.h>

#define MDM_CLAIM_FILE "maildirs"

struct mdm_claims;
struct mdm_fs;

/*
 * The record in dir (absolute).  A missing dir is made (0700, one level,
 * given to uid:gid when do_chown) unless dry; a missing file is a first
 * run (mdm_claims_first).  NULL with err set: dir or file unusable (a
 * symlink, not ours, writable by others, a line that is not "ID<TAB>
 * /PATH").
 */
struct mdm_claims *mdm_claims_open(const char *dir, uid_t uid, gid_t gid,
    int do_chown, int dry, char *err, size_t errsz);
void mdm_claims_free(struct mdm_claims *c);

/* 1 when there was no record yet (every maildir found is taken). */
int mdm_claims_first(const struct mdm_claims *c);

/* 1 when the record says maildir path is id's. */
int mdm_claims_has(const struct mdm_claims *c, const char *id,
    const char *path);

/* Path is id's now (this run found or made it whole, or adopted it). */
void mdm_claims_put(struct mdm_claims *c, const char *id, const char *path);

/*
 * Write the record: this run's lines, and the earlier lines of every id
 * this run did not record (an inactive account keeps its maildir's
 * line) whose path no other id took.  Nothing is written when that is
 * what the file holds.  1 written, 0 unchanged, -1 (err set).
 */
int mdm_claims_write(struct mdm_claims *c, char *err, size_t errsz);

/* The messages in maildir path (cur/ and new/ of it and of its folders
 * ".NAME"), counted without following a symlink: 0 when path is not
 * there, -1 with err set when it cannot be read. */
long mdm_claims_mail(struct mdm_fs *fs, const char *path, char *err,
    size_t errsz);

#endif
