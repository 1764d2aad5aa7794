/*
 * ldapint: what common/ldapsync needs of an ldapconn session beyond its
 * public interface: the bound libldap handle itself (with failover and
 * failback), entries decoded from a message, the SIGPIPE guard.  Only
 * ldapconn.c and ldapsync.c include this header (and <ldap.h>).
 *
 * Call these between ldapconn_pipe_block and ldapconn_pipe_restore.
 */
#ifndef LDAPMAIL_LDAPINT_H
#define LDAPMAIL_LDAPINT_H

#include <ldap.h>
#include <signal.h>

#include "common/ldapconn.h"

struct ldapconn_pipe {
	sigset_t old;
	int pending;
};

/* Block SIGPIPE in this thread; restore, swallowing one raised meanwhile. */
void ldapconn_pipe_block(struct ldapconn_pipe *g);
void ldapconn_pipe_restore(struct ldapconn_pipe *g);

/* A bound handle (connecting to the first server that answers when there
 * is none); valid until the next call below. */
enum ldapconn_status ldapconn_ld(struct ldapconn *lc, LDAP **ld, char *err,
    size_t errsz);
/* The server of the handle did not answer in time: it counts as down
 * (why is repeated to who asks within a second); the handle is closed. */
void ldapconn_ld_failed(struct ldapconn *lc, const char *why);
/* Close the handle (connection lost, or done with it). */
void ldapconn_ld_drop(struct ldapconn *lc);
/* On a later server: start or collect the failback probe; 1 when the
 * session moved to an earlier server (the old handle is closed). */
int ldapconn_ld_failback(struct ldapconn *lc);
/* ldap_timeout in seconds. */
int ldapconn_timeout(const struct ldapconn *lc);

/* The entry of msg as a struct lentry (free with lentry_free); NULL with
 * *rc set to an LDAP code when it cannot be decoded. */
struct lentry *ldapconn_entry(LDAP *ld, LDAPMessage *msg, int *rc);

#endif
