/*
 * t_tableclass: common/tableclass.c: which ldap_table queries are
 * enumerable (the SPEC's example, the howto's and Jamm's filters, ORs
 * whose every branch holds the key, local tests of any known rule, part
 * of the key tested next to the whole of it) and which are live-only,
 * each with its reason (a branch without the key, the key negated
 * alone, substrings, part of the key alone, an unknown rule, a key-made
 * base).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/ldaptable.h"
#include "common/tableclass.h"
#include "unit.h"

/* a small subschema: these attributes and their rules */
static const char *
rule(const char *attr, void *arg)
{
	static const char *const r[][2] = {
		{ "mail", "caseIgnoreIA5Match" },
		{ "mailAlternateAddress", "caseIgnoreIA5Match" },
		{ "accountStatus", "caseIgnoreMatch" },
		{ "objectClass", "objectIdentifierMatch" },
		{ "uid", "caseIgnoreMatch" },
		{ "accountActive", "booleanMatch" },
		{ "jvd", "caseIgnoreIA5Match" },
		{ "odd", "vendorMatch" },
	};

	(void)arg;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (strcasecmp(r[i][0], attr) == 0)
			return r[i][1];
	return NULL;
}

struct ccase {
	const char *base, *filter;
	const char *want;	/* "enumerable: attrs" or the reason */
};

static const struct ccase cases[] = {
	{ "o=x", "(&(|(mail=%s)(mailAlternateAddress=%s))"
	  "(accountStatus=active))", "enumerable: mail mailAlternateAddress" },
	{ "o=x", "(mail=%s)", "enumerable: mail" },
	{ "o=x", "mail=%s", "enumerable: mail" },
	{ "o=x", "(&(&(objectClass=JammMailAlias)(accountActive=TRUE))"
	  "(mail=%s))", "enumerable: mail" },
	{ "o=x", "(&(uid=%u)(mail=%u@%d))", "enumerable: mail" },
	{ "o=x", "(&(mail=%s)(!(accountStatus=disabled))(accountStatus=*))",
	  "enumerable: mail" },
	{ "o=x", "(|(&(mail=%s)(uid=x))(&(mailAlternateAddress=%s)"
	  "(!(uid=y))))", "enumerable: mail mailAlternateAddress" },
	{ "o=x", "(|)", "enumerable: " },
	{ "o=x", "(|(mail=%s)(accountStatus=active))",
	  "a branch without the key: (accountStatus=active)" },
	{ "o=x", "(&(|(mail=%s)(uid=%s))(|(a=1)(accountStatus=x)))",
	  "an attribute whose equality rule lookupd does not implement: "
	  "(a=1)" },
	{ "o=x", "(|(&(mail=%s)(uid=1))(|(mail=%s)(&(uid=%u)(jvd=x))))",
	  "a branch without the key: (&(uid=%u)(jvd=x))" },
	{ "o=x", "(accountStatus=active)",
	  "a branch without the key: (accountStatus=active)" },
	{ "o=x", "(&(mail=%s)(!(uid=%u)))", "enumerable: mail" },
	{ "o=x", "(!(mail=%s))", "a branch without the key: (!(mail=%s))" },
	{ "o=x", "(mail=*%s*)", "the key in a substring, ordering, "
	  "approximate or extensible match: (mail=*%s*)" },
	{ "o=x", "(&(mail=%s)(cn=a))", "an attribute whose equality rule "
	  "lookupd does not implement: (cn=a)" },
	{ "o=x", "(&(mail=%s)(uid=a*))", "a substring, ordering, approximate "
	  "or extensible match lookupd cannot evaluate on an entry: "
	  "(uid=a*)" },
	{ "o=x", "(uid=%u)", "a branch without the key: (uid=%u)" },
	{ "o=x", "(mail=%u@example.com)",
	  "a branch without the key: (mail=%u@example.com)" },
	{ "o=x", "(jvd=%d)", "a branch without the key: (jvd=%d)" },
	{ "o=x", "(&(jvd=%d)(mail=%s))", "enumerable: mail" },
	{ "o=x", "(&(mail=%s)(odd=1))", "an attribute whose equality rule "
	  "lookupd does not implement: (odd=1)" },
	{ "o=x", "(&(mail=%s)(unknownAttr=1))", "an attribute whose "
	  "equality rule lookupd does not implement: (unknownAttr=1)" },
	{ "o=x", "(mail~=%s)", "the key in a substring, ordering, approximate"
	  " or extensible match: (mail~=%s)" },
	{ "ou=%d,o=x", "(mail=%s)",
	  "search_base depends on the key: ou=%d,o=x" },
};

int
main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[600], err[300], got[400], name[700];
		struct ldaptable *t;
		struct tableclass c;

		snprintf(text, sizeof(text), "search_base = %s\nquery_filter "
		    "= %s\n", cases[i].base, cases[i].filter);
		unit_must(ldaptable_parse("t.cf", text, strlen(text), &t, err,
		    sizeof(err)) == 0, cases[i].filter);
		tableclass_classify(t, rule, NULL, &c);
		if (c.enumerable) {
			size_t n = 0;

			n += (size_t)snprintf(got, sizeof(got), "enumerable:");
			for (size_t k = 0; k < c.nkey_attrs && n < sizeof(got);
			    k++)
				n += (size_t)snprintf(got + n, sizeof(got) - n,
				    " %s", c.key_attrs[k]);
			if (c.nkey_attrs == 0)
				snprintf(got + n, sizeof(got) - n, " ");
		} else {
			snprintf(got, sizeof(got), "%s", c.why);
		}
		snprintf(name, sizeof(name), "%s %s", cases[i].base,
		    cases[i].filter);
		CHECK_STR(name, got, cases[i].want);
		tableclass_free(&c);
		ldaptable_free(t);
	}
	return unit_done();
}
