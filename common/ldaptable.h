/*
 * ldaptable: a Postfix ldap_table(5) file, parsed into what changes an
 * answer (search, expansions, result attributes, limits) and what opens
 * the LDAP session (servers, bind, TLS).
 *
 * Syntax as Postfix's cfg_parser reads it: "name = value" lines, '#'
 * comment lines, blank lines, a line starting with white space
 * continues the one before; a later line for the same name replaces an
 * earlier one.  Unlike Postfix (which ignores unknown names and falls
 * back on some bad values with a warning) every unknown parameter and
 * every bad value is an error: one line "FILE:LINE: what".  Postfix's
 * cache, cache_expiry and cache_size are accepted and ignored.
 * ldaptable_parse() is pure (text in); ldaptable_load() reads a file
 * and the files named in "domain".  Defaults are Debian 12's Postfix
 * 3.7 (version 3).
 */
#ifndef LDAPMAIL_LDAPTABLE_H
#define LDAPMAIL_LDAPTABLE_H

#include <stddef.h>

#include "common/pctexpand.h"

struct filter;

#define LDAPTABLE_MAX_SIZE	(1u << 20)	/* bytes of one file */

enum ldaptable_scope { LDAPTABLE_BASE, LDAPTABLE_ONE, LDAPTABLE_SUB };
enum ldaptable_bind { LDAPTABLE_BIND_NONE, LDAPTABLE_BIND_SIMPLE,
	LDAPTABLE_BIND_SASL };

struct ldaptable {
	char *file;
	/* the search */
	char *search_base, *query_filter, *result_format;
	struct filter *filter;	/* query_filter as a tree (a template) */
	enum ldaptable_scope scope;
	struct pct_ctx ctx;	/* flags of all three templates */
	int dynamic_base;	/* search_base holds an expansion */
	/* terminal, leaf, result, special: in this order, like Postfix */
	char **attrs;
	size_t nattrs, num_terminal, num_leaf, num_attributes;
	/* domain list: names ("!name" negates), "/files" expanded by
	 * ldaptable_load(); "type:table" refused */
	char **domains;
	size_t ndomains;
	long recursion_limit, expansion_limit, size_limit;
	int dereference, chase_referrals;
	/* the session */
	char **servers;		/* ldap:// URLs */
	size_t nservers;
	int version, timeout;
	enum ldaptable_bind bind;
	char *bind_dn, *bind_pw;
	char *sasl_mechs, *sasl_realm, *sasl_authz_id;
	int sasl_minssf;
	int start_tls, tls_require_cert;
	char *tls_ca_cert_file, *tls_ca_cert_dir, *tls_cert, *tls_key,
	    *tls_random_file, *tls_cipher_suite;
	int debuglevel;
};

/* Parse len bytes of text read from file (the name used in errors).
 * 0 and *out, or -1 with "FILE:LINE: what" in err. */
int ldaptable_parse(const char *file, const char *text, size_t len,
    struct ldaptable **out, char *err, size_t errsz);
/* Read and parse path, then the domain files it names. */
int ldaptable_load(const char *path, struct ldaptable **out, char *err,
    size_t errsz);
/* 1 if name is a parameter of ldap_table(5) (those this file reads). */
int ldaptable_known(const char *name);
/* 1 if key may be searched under the domain list (no list: always),
 * 0 if Postfix would skip it (not found). */
int ldaptable_domain_ok(const struct ldaptable *t, const char *key);
/* 1 if key is valid UTF-8; Postfix's ldap: finds nothing for a key
 * that is not. */
int ldaptable_utf8(const char *key);
void ldaptable_free(struct ldaptable *t);

#endif
