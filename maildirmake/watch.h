/*
 * watch: ldap-maildirmake --watch.  Stays running on an RFC 4533
 * refreshAndPersist stream of the accounts (common/ldapsync.h: the
 * stream lookupd's sync = persist uses, with its keepalive, failover and
 * failback) and makes a pass (the program's usual run, in a child
 * process) once the stream's refresh is over and again after every
 * batch of changes (adds, modifies, seeAlso subscriptions), within a
 * fraction of a second.  An entry that is deleted or leaves the filter
 * (deactivated) is reported with its maildir, which stays: orphans are
 * never deleted.  SIGTERM or SIGINT end it cleanly (a pass under way
 * finishes first); exit 0.  A server without syncprov: exit 2.
 */
#ifndef LDAPMAIL_MDM_WATCH_H
#define LDAPMAIL_MDM_WATCH_H

#include "common/cfg.h"

#define MDM_WATCH_CHILD	(-1)

/* Watch the entries of cfg's account_base matching filter whose maildir
 * is in attribute store.  Returns MDM_WATCH_CHILD in a child process,
 * which makes one pass and exits with its status; otherwise the
 * watcher's exit status. */
int mdm_watch(const struct cfg *cfg, const char *filter, const char *store);

#endif
