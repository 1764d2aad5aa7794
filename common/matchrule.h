/*
 * matchrule: LDAP equality matching rules (RFC 4517, insignificant space
 * and character handling of RFC 4518) and the evaluation of a filter
 * tree (common/filter.h) against one entry, with each attribute's own
 * rule as the server's subschema names it.
 *
 * Never a guess: what this code cannot decide exactly (a rule it does
 * not implement, non-ASCII text under a rule that needs Unicode case
 * folding or normalization unless the bytes are equal, substrings,
 * ordering, approximate and extensible matches, attribute subtypes, an
 * objectClass the entry does not list, which may be a superclass of one
 * it does)
 * is MR_CANNOT, and a filter holding such a test evaluates to
 * MR_CANNOT unless the rest of it decides the answer alone (a FALSE
 * branch of an AND, a TRUE branch of an OR).  Pure: no I/O, no state.
 */
#ifndef LDAPMAIL_MATCHRULE_H
#define LDAPMAIL_MATCHRULE_H

#include <stddef.h>

struct buf;
struct filter;

enum mr_result { MR_FALSE = 0, MR_TRUE = 1, MR_UNDEFINED = 2,
	MR_CANNOT = 3 };

/* One attribute of an entry: its name as the server returned it and
 * its equality rule (from the subschema; NULL when none or unknown). */
struct mr_value {
	const char *p;
	size_t len;
};
struct mr_attr {
	const char *name;
	const char *equality;
	const struct mr_value *vals;
	size_t nvals;
};
struct mr_entry {
	const struct mr_attr *attrs;
	size_t nattrs;
};

/* 1 if lookupd implements the equality rule named (name or OID). */
int mr_known(const char *rule);
/* Compare an assertion with one attribute value under rule.  MR_UNDEFINED
 * when the assertion is not valid for the rule's syntax. */
enum mr_result mr_equal(const char *rule, const char *a, size_t alen,
    const char *v, size_t vlen);
/* Evaluate filter f against e (LDAP's three-valued logic, plus
 * MR_CANNOT; see above). */
enum mr_result mr_eval(const struct filter *f, const struct mr_entry *e);
const char *mr_result_name(enum mr_result r);

/* How keys can be derived from values of an attribute with this rule
 * (common/tablesnap.c): MR_KEY_NO (integer, boolean, DN, OID, numeric
 * and telephone strings, unknown: a key equal under the rule may look
 * nothing like the value), MR_KEY_ASCII (the IA5 rules and
 * octetStringMatch: equal values prepare to equal ASCII text),
 * MR_KEY_ASCII_ONLY (caseIgnoreMatch, caseExactMatch: the same for
 * ASCII values; a non-ASCII value would need Unicode tables). */
enum mr_keyclass { MR_KEY_NO, MR_KEY_ASCII, MR_KEY_ASCII_ONLY };
enum mr_keyclass mr_key_class(const char *rule);
/* The RFC 4518 preparation of an ASCII string with case folding (the
 * caseIgnore rules): controls mapped, spaces made insignificant, into
 * out.  -1 (out empty) when s holds a byte >= 0x80. */
int mr_prep_fold(const char *s, size_t n, struct buf *out);
/* A canonical text of a DN for distinguishedNameMatch, two DNs equal
 * under the rule having the same text: types by their short names,
 * values of the usual naming attributes prepared and folded.  -1 when
 * this code cannot say (a multi-valued RDN, an OID or an unknown naming
 * attribute, a non-ASCII value, not a DN). */
int mr_dn_norm(const char *s, size_t n, struct buf *out);

#endif
