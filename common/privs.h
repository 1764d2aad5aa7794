/*
 * privs: who we run as.  Resolving user/group names (or numeric ids) and
 * dropping root for good: setgroups, setresgid, setresuid, then checking
 * that neither the real, effective nor saved ids can go back.
 */
#ifndef LDAPMAIL_PRIVS_H
#define LDAPMAIL_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

/* user: a name or a number; its primary group goes to *gid. -1 if unknown. */
int privs_user(const char *user, uid_t *uid, gid_t *gid, char *err,
    size_t errsz);
/* group: a name or a number. */
int privs_group(const char *group, gid_t *gid, char *err, size_t errsz);
/* "user" (its uid and primary gid) or "uid:gid" (numbers), as mail_owner. */
int privs_owner(const char *spec, uid_t *uid, gid_t *gid, char *err,
    size_t errsz);
/* Become uid/gid with no supplementary groups but gid; verified. */
int privs_drop(uid_t uid, gid_t gid, char *err, size_t errsz);

#endif
