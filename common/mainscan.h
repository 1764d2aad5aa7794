/*
 * mainscan: Postfix's main.cf (or `postconf -n` output) read as Postfix
 * reads it, for `lookupd import`: which parameters are set, their values
 * with $name expanded, their lists split, and the `ldap:` tables in
 * them.  Pure: text in, nothing read or written.
 *
 * Syntax (Postfix's readlline and mac_expand): blank lines and lines
 * whose first non-blank byte is '#' are ignored; a line starting with
 * white space continues the logical line before it (also across ignored
 * lines); "name = value", white space around both trimmed; a parameter
 * set twice keeps the later value.  Expansion: $name, ${name}, $(name),
 * ${name?text} (text when name is set and not empty), ${name:text}
 * (text when it is empty or unset), $$ (a '$'); a name main.cf does not
 * set expands to nothing (Postfix's defaults are not known here).  A
 * list splits at commas and white space; "{...}" stays one item.
 *
 * Limits: MAINSCAN_MAX_SIZE bytes of text, expansion nested at most
 * MAINSCAN_MAX_DEPTH deep (a loop is an error), values of at most
 * MAINSCAN_MAX_VALUE bytes once expanded, at most MAINSCAN_MAX_STEPS
 * names expanded for one value.
 */
#ifndef LDAPMAIL_MAINSCAN_H
#define LDAPMAIL_MAINSCAN_H

#include <stddef.h>

#define MAINSCAN_MAX_SIZE	(4u << 20)
#define MAINSCAN_MAX_DEPTH	100
#define MAINSCAN_MAX_VALUE	(1u << 20)
#define MAINSCAN_MAX_STEPS	10000u	/* names expanded in one value */

struct mainscan_param {
	char *name;
	char *value;	/* as written, continuation lines joined by ' ' */
	int line;	/* where its (last) logical line starts */
};

struct mainscan {
	struct mainscan_param *p;	/* in order of first appearance */
	size_t n;
};

/* Parse len bytes read from file (its name for messages).  0, or -1 with
 * "FILE:LINE: what" in err (a logical line that is not name = value, a
 * NUL byte, too much text). */
int mainscan_parse(const char *file, const char *text, size_t len,
    struct mainscan *ms, char *err, size_t errsz);
/* The value of name as written, or NULL when main.cf does not set it. */
const char *mainscan_get(const struct mainscan *ms, const char *name);
/* value with every $name expanded: a fresh string, or NULL with a reason
 * in err (a loop, too deep, too long). */
char *mainscan_expand(const struct mainscan *ms, const char *value,
    char *err, size_t errsz);
/* The items of a list value: *v gets n fresh strings (free with
 * mainscan_items_free). */
void mainscan_items(const char *value, char ***v, size_t *n);
void mainscan_items_free(char **v, size_t n);
/* An item naming an ldap: table: 1 and *table (into item) for
 * "ldap:TABLE" or "proxy:ldap:TABLE" (TABLE not empty; "ldap:{...}" and
 * an LDAP URL "ldap://..." are not one), else 0. */
int mainscan_ldap_ref(const char *item, const char **table);
/* 1 when table is the Postfix 2.0 form (parameters TABLE_* in main.cf),
 * 0 for a file name: as Postfix's cfg_parser, one starting with '/' or
 * '.'. */
int mainscan_ldap_is_params(const char *table);
void mainscan_free(struct mainscan *ms);

#endif
