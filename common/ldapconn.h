/*
 * ldapconn: an LDAP session that owns connecting, TLS, binding, paging,
 * timeouts and reconnecting.  With ldapsync (the RFC 4533 stream, through
 * ldapint.h) the only file of the project that includes <ldap.h>;
 * everything else sees entries through struct lentry.
 *
 * libldap keeps a dead handle dead ("Can't contact LDAP server" forever
 * after a server restart), so a failed operation drops the connection and
 * the next one starts afresh; an operation that fails before it delivered
 * anything is retried once on a new connection.  After a failure to
 * connect, further attempts within one second fail at once: a directory
 * that is down is not hammered by every lookup.  Every wait is bounded by
 * ldap_timeout.  Calls block SIGPIPE in the calling thread while they run
 * (the entry callback too) and swallow one raised by libldap.
 *
 * Failover: the ldap_uri entries are tried in order; a server that does
 * not connect, bind or answer within ldap_timeout (or says it is busy)
 * counts as down and the next one is used, for the operation at hand too
 * when it had delivered nothing yet.  After failback seconds on a later
 * server, the earlier ones are asked again in the background and the
 * session moves back to the first that answers.
 *
 * One session per thread; sessions are independent, except that what one
 * learns about a server (down, or answering again) the process's other
 * sessions know too.
 */
#ifndef LDAPMAIL_LDAPCONN_H
#define LDAPMAIL_LDAPCONN_H

#include <stddef.h>

#include "common/cfg.h"

struct ldapconn;
struct lentry;

struct lval {
	const char *ptr;	/* not NUL-terminated in general */
	size_t len;
};

enum ldapconn_status {
	LDAPCONN_OK = 0,
	LDAPCONN_TEMP,		/* unreachable, timeout, busy: try later */
	LDAPCONN_PERM,		/* the server refused the request itself */
	LDAPCONN_ABORTED	/* the entry callback asked to stop */
};

/* Return 0 to go on, non-zero to stop the search (LDAPCONN_ABORTED). */
typedef int (*ldapconn_entry_fn)(const struct lentry *e, void *arg);

/* A session for cfg (kept by reference; must outlive the session).
 * Nothing is sent until the first operation. */
struct ldapconn *ldapconn_new(const struct cfg *cfg);
void ldapconn_free(struct ldapconn *lc);

/* Connect and bind now (for `check`). */
enum ldapconn_status ldapconn_open(struct ldapconn *lc, char *err,
    size_t errsz);
/* The URI of the server the session is connected to ("ldap://h:port"),
 * or NULL when it is not connected. */
const char *ldapconn_server(const struct ldapconn *lc);
/* Who the server says a SASL-bound session is ("dn:..."), or NULL when it
 * is not connected or bound otherwise. */
const char *ldapconn_identity(const struct ldapconn *lc);
/* Which ldap_uri entry the session uses: its index (0: the first), with
 * the URI as configured copied into uri; -1 (uri "") when not connected.
 * Safe to call from any thread (for `lookupd stats`). */
int ldapconn_current(struct ldapconn *lc, char *uri, size_t size);

/* Search base/scope/filter for attrs (NULL-terminated; NULL = all user
 * attributes), calling fn for each entry.  paged: read with RFC 2696
 * paged results until the server has no more, so no size limit can
 * truncate the answer (a server that caps paged reads too answers TEMP:
 * slapd wants "limits dn.exact=BIND_DN size.prtotal=unlimited");
 * otherwise a size limit is an error (TEMP).  err gets a one-line reason
 * on failure. */
enum ldapconn_status ldapconn_search(struct ldapconn *lc, const char *base,
    enum cfg_scope scope, const char *filter, const char *const *attrs,
    int paged, ldapconn_entry_fn fn, void *arg, char *err, size_t errsz);

/* 1 when the last ldapconn_search failed because its base does not
 * exist (noSuchObject), 0 otherwise: Postfix's ldap: tables treat that
 * as "not found" when the base was made from the key. */
int ldapconn_no_such_base(const struct ldapconn *lc);

/* The entry's DN as the server sent it. */
const char *lentry_dn(const struct lentry *e);
/* The values of attr (matched case-insensitively, options ignored);
 * returns how many, *vals set to an array valid during the callback. */
size_t lentry_values(const struct lentry *e, const char *attr,
    const struct lval **vals);

/* The entry's attributes as the server listed them, one per occurrence
 * (a server may list a name twice), as Postfix's ldap: client walks
 * them: how many, and occurrence i's name (without options, not
 * NUL-terminated: *len) with the values of the first occurrence of that
 * name (what ldap_get_values_len() gives for it).  Each lentry_add()
 * counts as an occurrence of its own. */
size_t lentry_nattrs(const struct lentry *e);
const char *lentry_attr(const struct lentry *e, size_t i, size_t *len,
    const struct lval **vals, size_t *nvals);

/* An entry made by hand (unit tests, changes replayed): lentry_add copies
 * one value of attr; lentry_free frees any entry handed out as a
 * pointer. */
struct lentry *lentry_new(const char *dn);
void lentry_add(struct lentry *e, const char *attr, const char *val,
    size_t len);
void lentry_free(struct lentry *e);

/* Normalize a DN for comparison (spacing per RFC 4514, ASCII case folded)
 * into a fresh string; NULL if it is not a valid DN. */
char *ldapconn_dn_normalize(const char *dn);

#endif
