/*
 * pfldap: the answer Postfix's ldap: table gives for a key, asked live,
 * step for step as Postfix 3.7's dict_ldap does it: domain list, '%'
 * expansions with their suppression and quoting, the search, then each
 * entry's result attributes through result_format, special attributes
 * (DNs and LDAP URLs) followed to recursion_limit, terminal and leaf
 * attributes, expansion_limit and size_limit (exceeded: an error).
 * A base made from the key that does not exist is "not found"; every
 * other failure is TEMP, never NOTFOUND.  Keys are taken as Postfix's
 * client sends them (already case-folded); a key that is not UTF-8 is
 * not found, as in Postfix.  One session per pfldap (or per identity in
 * a pfpool): one thread.
 */
#ifndef LDAPMAIL_PFLDAP_H
#define LDAPMAIL_PFLDAP_H

#include <stddef.h>

struct buf;
struct ldapconn;
struct ldaptable;
struct pfldap;
struct subschema;

enum pfldap_result { PFLDAP_FOUND, PFLDAP_NOTFOUND, PFLDAP_TEMP };

/* 0 when lookupd can answer t as Postfix would; -1 with "FILE: why" in
 * err for a parameter it does not implement (a non-zero dereference,
 * chase_referrals, version 2, a SASL mechanism other than EXTERNAL,
 * tls_ca_cert_dir): refused, never answered differently. */
int pfldap_supported(const struct ldaptable *t, char *err, size_t errsz);
/* A live session for table t (kept by reference: t must outlive it).
 * Nothing is sent before the first lookup. */
struct pfldap *pfldap_new(const struct ldaptable *t);

/* LDAP sessions shared by the tables of one thread: tables with the same
 * servers and identity (server_host and server_port as URLs, bind,
 * bind_dn, bind_pw, SASL, TLS, timeout: one key, made in one place from
 * what the session is given) share one session, the others get their
 * own.  Its tables must outlive it; free it after their pfldaps.
 * Messages of a shared session name the file of its first table. */
struct pfpool;
struct pfpool *pfpool_new(void);
/* How many sessions it holds (connected or not). */
size_t pfpool_sessions(const struct pfpool *pool);
void pfpool_free(struct pfpool *pool);
/* pfldap_new with the session of pool for t's servers and identity
 * (made at the first table that needs it). */
struct pfldap *pfldap_new_shared(const struct ldaptable *t,
    struct pfpool *pool);
/* The answer for key: FOUND with the values joined by ',' in out (as
 * Postfix returns them), NOTFOUND, or TEMP with a reason in err. */
enum pfldap_result pfldap_lookup(struct pfldap *p, const char *key,
    struct buf *out, char *err, size_t errsz);
/* pfldap_lookup, and with sources not NULL, which entry each value came
 * from: one line "DN TAB VALUE" per value of the answer, in its order
 * (a group's members each with their own DN).  The daemon passes NULL
 * and pays nothing for it. */
enum pfldap_result pfldap_lookup_sources(struct pfldap *p, const char *key,
    struct buf *out, struct buf *sources, char *err, size_t errsz);
/* After a TEMP from pfldap_lookup: 1 when LDAP said "try later"
 * (unreachable, too slow, busy: ldapconn.h's LDAPCONN_TEMP), 0 for a
 * Postfix error (a limit exceeded) or a refused request. */
int pfldap_unreachable(const struct pfldap *p);
/* After a FOUND from pfldap_lookup: the DNs of the entries whose values
 * made the answer, "\n"-separated, each once ("" otherwise). */
const char *pfldap_dns(const struct pfldap *p);
/* Read the server's subschema (the root DSE's subschemaSubentry, its
 * attributeTypes) with the table's session into *out: 0, or -1 with a
 * reason in err. */
int pfldap_subschema(struct pfldap *p, struct subschema **out, char *err,
    size_t errsz);
/* The table's LDAP session (lookupd/tablebuild.c reads through it). */
struct ldapconn *pfldap_conn(struct pfldap *p);
/* The table p answers. */
const struct ldaptable *pfldap_table(const struct pfldap *p);
void pfldap_free(struct pfldap *p);

#endif
