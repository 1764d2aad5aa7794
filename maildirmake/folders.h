/*
 * folders: the default folders of a new maildir (default_folders), made
 * as Courier's maildirmake -f makes them and subscribed as Courier-IMAP's
 * SUBSCRIBE does (see folders.c).
 */
#ifndef LDAPMAIL_MDM_FOLDERS_H
#define LDAPMAIL_MDM_FOLDERS_H

#include <stddef.h>

#include "maildirmake/maildir.h"

/*
 * Make the n folders names in maildir (Courier folder names, UTF-8,
 * checked with safepath_folder) and subscribe each: a line "INBOX.NAME"
 * in maildir/courierimapsubscribed, added once, the lines there kept.
 * Meant for a maildir made in this run: a user who later deletes or
 * unsubscribes a folder keeps it that way.  Stops at the first failure.
 */
enum mdm_result mdm_default_folders(struct mdm_fs *fs, const char *maildir,
    char *const *names, size_t n, int dry, mdm_change_fn fn, void *arg,
    char *err, size_t errsz);

#endif
