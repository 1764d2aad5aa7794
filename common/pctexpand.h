/*
 * pctexpand: Postfix's '%' templates of ldap_table(5) (search_base,
 * query_filter, result_format), expanded as Postfix's db_common does.
 *
 * One context per table collects what its templates use (the flags),
 * so that the rules are Postfix's: a query is suppressed (no search,
 * not found) when the key lacks what any template of the table needs:
 * no domain or an empty one for %d %D %1..%9, an empty local part
 * ("@dom") for %u %U, fewer labels than the highest %N.  A key without
 * '@' gives all of itself to %u.  A result value is skipped when it is
 * empty, or lacks the domain %d of result_format needs.  Lowercase
 * letters expand the value (the key in a query, the attribute value in
 * a result), uppercase ones the key.  Pure: no I/O, no globals.
 */
#ifndef LDAPMAIL_PCTEXPAND_H
#define LDAPMAIL_PCTEXPAND_H

#include <stddef.h>

struct buf;

#define PCT_KEY_USER		0x01
#define PCT_KEY_DOMAIN		0x02
#define PCT_VALUE_USER		0x04
#define PCT_VALUE_DOMAIN	0x08

struct pct_ctx {
	unsigned flags;
	int nparts;		/* highest %1..%9 used */
};

enum pct_quote {
	PCT_QUOTE_NONE,		/* result_format */
	PCT_QUOTE_FILTER,	/* query_filter: * ( ) \ as \HH */
	PCT_QUOTE_DN		/* search_base: space TAB " # + , ; < > \ */
};

/* Add what format uses to ctx (query: search_base or query_filter, else
 * result_format).  1 if it holds an expansion, 0 if not, -1 with err
 * naming the bad "%x" when it holds an unknown one. */
int pct_parse(struct pct_ctx *ctx, const char *format, int query,
    char *err, size_t errsz);
/* Expand format into out (appended).  Query templates: value is the
 * key, key NULL.  Result templates: value is an attribute value, key
 * the lookup key.  1 when expanded, 0 when suppressed (nothing
 * appended). */
int pct_expand(const struct pct_ctx *ctx, const char *format,
    const char *value, const char *key, struct buf *out, enum pct_quote q);
/* Append s quoted as q says. */
void pct_quote(const char *s, enum pct_quote q, struct buf *out);

#endif
