/*
 * tableclass: is an ldap_table(5) query enumerable (its answers can be
 * computed from one read of the directory, for a snapshot) or live-only,
 * and why.  Pure: the table and each attribute's equality rule (from the
 * server's subschema, through a callback) in, a verdict out.
 *
 * Enumerable, as the SPEC says: every branch of the filter that can match
 * holds a positive equality on the whole key ("%s", or "%u@%d"), so each
 * answer comes from entries whose attribute values are the keys; every
 * other test of the filter can be evaluated on an entry exactly
 * (common/matchrule.c: an equality with a rule lookupd implements, or a
 * presence test), tests on part of the key (%u, %d, under a negation)
 * included, once the key is known from the entry; the search base does
 * not depend on the key.  Live-only otherwise, with the first reason
 * met: a branch without the key (part of it is not enough), a
 * substring, ordering, approximate or extensible match, an attribute
 * whose rule is unknown or that has options, a key-made search base.
 */
#ifndef LDAPMAIL_TABLECLASS_H
#define LDAPMAIL_TABLECLASS_H

#include <stddef.h>

struct ldaptable;

/* The EQUALITY rule of attr (name or OID), or NULL when it has none or
 * the schema does not know it. */
typedef const char *(*tableclass_rule_fn)(const char *attr, void *arg);

struct tableclass {
	int enumerable;
	char why[300];		/* live-only: the reason, for `check` */
	char **key_attrs;	/* enumerable: the attributes keys come from */
	size_t nkey_attrs;
};

/* Classify t into out (freed with tableclass_free). */
void tableclass_classify(const struct ldaptable *t, tableclass_rule_fn rule,
    void *arg, struct tableclass *out);
void tableclass_free(struct tableclass *c);

#endif
