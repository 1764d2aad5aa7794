/*
 * quota: a maildir's Courier quota (maildirsize), made to say what the
 * directory says, safely (see quota.c).
 */
#ifndef LDAPMAIL_MDM_QUOTA_H
#define LDAPMAIL_MDM_QUOTA_H

#include <stddef.h>

#include "common/mdquota.h"
#include "maildirmake/maildir.h"

/*
 * Make maildir/maildirsize hold quota q: a new file as Courier's
 * maildirmake -q writes it (mail already there counted as Courier
 * counts it), a changed quota on the first line of an existing one (the
 * usage lines Courier keeps are left as they are), no quota (q 0,0) as
 * no file.  EXISTS when it already says q.
 */
enum mdm_result mdm_quota_apply(struct mdm_fs *fs, const char *maildir,
    const struct mdquota *q, int dry, mdm_change_fn fn, void *arg,
    char *err, size_t errsz);

#endif
