/*
 * orphans: the maildirs under mail_base that no entry names
 * (ldap-maildirmake --orphans).  Only looks: never deletes, never follows
 * a symlink.
 */
#ifndef LDAPMAIL_MDM_ORPHANS_H
#define LDAPMAIL_MDM_ORPHANS_H

#include <stddef.h>
#include <time.h>

/* One orphan: its path, the bytes of its regular files (folders
 * included) and the newest change time of anything in it. */
typedef void (*mdm_orphan_fn)(const char *path, unsigned long long bytes,
    time_t changed, void *arg);

/*
 * Walk mail_base (normalized, no trailing "/"); every maildir (a
 * directory holding the directories cur, new and tmp) whose path is not
 * one of the n paths of named (absolute, no trailing "/"; any order) is
 * given to fn, in path order; nothing below a maildir is walked.  The
 * number of orphans, or -1 with err set (mail_base cannot be read).
 */
long mdm_orphans(const char *mail_base, char *const *named, size_t n,
    mdm_orphan_fn fn, void *arg, char *err, size_t errsz);

#endif
