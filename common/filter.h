/*
 * filter: RFC 4515 LDAP search filters as a tree (parse, print, free).
 *
 * Pure: no I/O, no globals.  The parser takes what libldap's
 * ldap_search_ext() takes from an ldap_table(5) query_filter: a filter
 * in parentheses, or one item without them ("mail=%s"), spaces between
 * components.  Assertion values are decoded (\HH escapes) and may hold
 * any byte, NUL included, so every value carries its length.  A '%'
 * is an ordinary value byte here: templates (query_filter with %s)
 * parse as filters whose values hold the expansion markers.
 * Limits: FILTER_MAX_DEPTH nested components, FILTER_MAX_LEN bytes of
 * text; more is an error, never a cut filter.
 */
#ifndef LDAPMAIL_FILTER_H
#define LDAPMAIL_FILTER_H

#include <stddef.h>

struct buf;

#define FILTER_MAX_DEPTH	64
#define FILTER_MAX_LEN		65536

enum filter_type {
	FILTER_AND, FILTER_OR, FILTER_NOT,
	FILTER_EQ,		/* attr=value */
	FILTER_SUB,		/* attr=ini*any*...*fin */
	FILTER_GE,		/* attr>=value */
	FILTER_LE,		/* attr<=value */
	FILTER_PRESENT,		/* attr=* */
	FILTER_APPROX,		/* attr~=value */
	FILTER_EXT		/* attr:dn:rule:=value */
};

struct filter_val {
	char *p;		/* NUL-terminated copy; may hold NULs */
	size_t len;
};

struct filter {
	enum filter_type type;
	char *attr;		/* attribute description; EXT: may be NULL */
	char *rule;		/* EXT: matching rule, or NULL */
	int dnattrs;		/* EXT: ":dn" given */
	struct filter_val value;	/* EQ GE LE APPROX EXT */
	/* SUB: initial (p NULL when absent), any[], final */
	struct filter_val initial, final;
	struct filter_val *any;
	size_t nany;
	struct filter **kids;	/* AND OR (n >= 0), NOT (1) */
	size_t nkids;
};

/* Parse len bytes of text.  0 and *out set, or -1 with one line in err
 * naming the byte offset and what was wrong. */
int filter_parse(const char *text, size_t len, struct filter **out,
    char *err, size_t errsz);
/* Append the filter's RFC 4515 text (in parentheses, values escaped as
 * \hh where they must be) to b. */
void filter_print(const struct filter *f, struct buf *b);
/* The name of a type ("and", "eq", ...). */
const char *filter_type_name(enum filter_type t);
void filter_free(struct filter *f);

#endif
