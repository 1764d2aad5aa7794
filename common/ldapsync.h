/*
 * ldapsync: one RFC 4533 refreshAndPersist stream (OpenLDAP's syncprov, on
 * a provider or a replica), the one implementation lookupd's sync and
 * ldap-maildirmake --watch both drive.
 *
 * The stream first refreshes (what changed since the cookie, or the whole
 * content), then delivers each change as it happens, to the handlers
 * below, from the thread that calls ldapsync_run.  It runs on an ldapconn
 * session of its own: failover, failback and timeouts as there.  A server
 * that stops delivering (frozen) is found by a keepalive: after
 * keepalive ms of silence a cheap request (the root DSE) goes out on the
 * stream's connection; no answer within ldap_timeout and the server counts
 * as down, the stream is reopened (on the next server) with the cookie.
 * A cookie is only used on the server that issued it: on another server,
 * without a cookie, or when the server answers e-syncRefreshRequired, the
 * stream starts over with a full refresh (reset() first).
 *
 * Limits: the search asks for no size limit explicitly (slapd: the bind DN
 * needs size.hard=unlimited); a refresh is one unpaged search; references
 * are ignored.
 */
#ifndef LDAPMAIL_LDAPSYNC_H
#define LDAPMAIL_LDAPSYNC_H

#include <stddef.h>

#include "common/cfg.h"
#include "common/ldapconn.h"

#define LDAPSYNC_UUID_LEN 16		/* entryUUID, as the wire has it */

struct ldapsync;

enum ldapsync_state {
	LDAPSYNC_PRESENT,	/* refresh: unchanged since the cookie (DN only) */
	LDAPSYNC_ADD,		/* new, or changed while away (refresh) */
	LDAPSYNC_MODIFY,	/* changed (persist): the whole entry */
	LDAPSYNC_DELETE		/* gone or out of the filter (DN only) */
};

/* Every handler returns 0 to go on, non-zero to stop the stream
 * (ldapsync_run then answers LDAPCONN_ABORTED).  Entries and UUIDs are
 * valid during the call only. */
struct ldapsync_handler {
	/* The content starts over: the refresh that follows brings every
	 * entry; forget what the stream delivered before.  why: one line. */
	int (*reset)(void *arg, const char *why);
	/* One entry: its UUID and, for ADD and MODIFY, the attributes asked
	 * for. */
	int (*entry)(void *arg, enum ldapsync_state st,
	    const unsigned char *uuid, const struct lentry *e);
	/* syncIdSet: n UUIDs (LDAPSYNC_UUID_LEN bytes each, one after the
	 * other) that are gone (deletes) or present (unchanged). */
	int (*idset)(void *arg, int deletes, const unsigned char *uuids,
	    size_t n);
	/* A refresh phase ended.  present: a present phase: every entry
	 * known before this refresh began and not named since (present,
	 * add, modify, present idset) is gone.  done: the refresh is over;
	 * changes follow as they happen. */
	int (*phase_end)(void *arg, int present, int done);
	/* The state after everything delivered so far, to resume from (keep
	 * it with what was applied: ldapsync_cookie_save).  Never in the
	 * middle of a refresh: the refresh's cookie comes after its end. */
	int (*cookie)(void *arg, const char *cookie, size_t len);
};

/* A stream of the entries under base/scope matching filter, attrs
 * (NULL-terminated; NULL: all user attributes) delivered to h with arg.
 * cfg, h and arg must outlive it.  Nothing is sent before ldapsync_run. */
struct ldapsync *ldapsync_new(const struct cfg *cfg, const char *base,
    enum cfg_scope scope, const char *filter, const char *const *attrs,
    const struct ldapsync_handler *h, void *arg);
void ldapsync_free(struct ldapsync *s);

/* Resume from cookie (len bytes), issued by server (an ldap_uri entry as
 * ldapsync_server gives it). */
void ldapsync_resume(struct ldapsync *s, const char *server,
    const char *cookie, size_t len);
/* Silence (ms) after which a keepalive asks the server [1000]. */
void ldapsync_set_keepalive(struct ldapsync *s, int ms);

/* Run the stream for about ms milliseconds (connecting first when needed:
 * up to ldap_timeout per server that does not answer).  OK: it runs;
 * TEMP: it was lost or cannot start (err says why), the next call tries
 * again; PERM: the server refuses the search (no syncprov, size limit,
 * filter): trying again will not help; ABORTED: a handler said stop. */
enum ldapconn_status ldapsync_run(struct ldapsync *s, int ms, char *err,
    size_t errsz);

/* The ldap_uri entry the stream runs on, or NULL; 1 while refreshing. */
const char *ldapsync_server(const struct ldapsync *s);
int ldapsync_refreshing(const struct ldapsync *s);

/* Does the server of lc offer RFC 4533 sync (supportedControl
 * 1.3.6.1.4.1.4203.1.9.1.1 in its root DSE: syncprov)?  1 yes, 0 no, -1
 * it could not be asked (err). */
int ldapsync_supported(struct ldapconn *lc, char *err, size_t errsz);

#endif
