/*
 * t_matchrule: common/matchrule.c: each equality rule with the RFC 4518
 * space and character handling (equal, not equal, invalid assertion,
 * and what cannot be decided without Unicode tables), then filters
 * evaluated on an entry with LDAP's three-valued logic, where an
 * unknown rule or an undecidable test is "cannot", never a guess.
 */
#include <stdio.h>
#include <string.h>

#include "common/filter.h"
#include "common/matchrule.h"
#include "unit.h"

struct ecase {
	const char *rule, *a, *v;
	enum mr_result want;
};

static const struct ecase ecases[] = {
	{ "caseIgnoreMatch", "Babs Jensen", "babs jensen", MR_TRUE },
	{ "caseIgnoreMatch", "  babs   jensen ", "Babs Jensen", MR_TRUE },
	{ "caseIgnoreMatch", "babs\tjensen", "babs jensen", MR_TRUE },
	{ "caseIgnoreMatch", "babsjensen", "babs jensen", MR_FALSE },
	{ "caseIgnoreMatch", "a\x01" "b", "ab", MR_TRUE },
	{ "caseIgnoreMatch", "M\xc3\xbcller", "M\xc3\xbcller", MR_TRUE },
	{ "caseIgnoreMatch", "M\xc3\x9cller", "m\xc3\xbcller", MR_CANNOT },
	{ "2.5.13.2", "X", "x", MR_TRUE },
	{ "caseExactMatch", "Babs", "babs", MR_FALSE },
	{ "caseExactMatch", " Babs  J ", "Babs J", MR_TRUE },
	{ "caseIgnoreIA5Match", "User@Example.COM", "user@example.com",
	  MR_TRUE },
	{ "caseIgnoreIA5Match", "user@example.com ", "user@example.com",
	  MR_TRUE },
	{ "caseIgnoreIA5Match", "us er@x", "user@x", MR_FALSE },
	/* without spaces or controls: folded and compared as they are */
	{ "caseIgnoreIA5Match", "User@X", "user@xy", MR_FALSE },
	{ "caseIgnoreIA5Match", "u-1@X", "U1@x", MR_FALSE },
	{ "caseIgnoreMatch", "Ab", "aB", MR_TRUE },
	{ "caseExactMatch", "Ab", "AB", MR_FALSE },
	{ "caseIgnoreIA5Match", "\xc3\xa9@x", "e@x", MR_UNDEFINED },
	{ "caseExactIA5Match", "/Home/a", "/home/a", MR_FALSE },
	{ "caseExactIA5Match", "/home/a", "/home/a", MR_TRUE },
	{ "octetStringMatch", "ab ", "ab", MR_FALSE },
	{ "octetStringMatch", "aB", "aB", MR_TRUE },
	{ "integerMatch", "0042", "42", MR_TRUE },
	{ "integerMatch", "-0", "0", MR_TRUE },
	{ "integerMatch", "-5", "5", MR_FALSE },
	{ "integerMatch", "4x", "4", MR_UNDEFINED },
	{ "integerMatch", "", "4", MR_UNDEFINED },
	{ "booleanMatch", "TRUE", "TRUE", MR_TRUE },
	{ "booleanMatch", "FALSE", "TRUE", MR_FALSE },
	{ "booleanMatch", "true", "TRUE", MR_UNDEFINED },
	{ "numericStringMatch", "1 234 5", "12345", MR_TRUE },
	{ "numericStringMatch", "12a", "12", MR_UNDEFINED },
	{ "numericStringMatch", "123", "124", MR_FALSE },
	{ "telephoneNumberMatch", "+1 512-555 0100", "+15125550100",
	  MR_TRUE },
	{ "telephoneNumberMatch", "+1 512 555 0101", "+15125550100",
	  MR_FALSE },
	{ "objectIdentifierMatch", "inetOrgPerson", "inetorgperson",
	  MR_TRUE },
	{ "objectIdentifierMatch", "person", "inetOrgPerson", MR_FALSE },
	{ "objectIdentifierMatch", "2.5.6.6", "2.5.6.6", MR_TRUE },
	{ "objectIdentifierMatch", "2.5.6.6", "person", MR_CANNOT },
	{ "distinguishedNameMatch", "uid=a,ou=People,dc=example,dc=com",
	  "UID=A, ou=people,DC=Example,dc=COM", MR_TRUE },
	{ "distinguishedNameMatch", "cn=A\\2cB,dc=x", "cn=a\\,b,dc=x",
	  MR_TRUE },
	{ "distinguishedNameMatch", "commonName=x,dc=y", "cn=X,dc=y",
	  MR_TRUE },
	{ "distinguishedNameMatch", "uid=a,dc=x", "uid=b,dc=x", MR_FALSE },
	{ "distinguishedNameMatch", "uid=a,dc=x", "uid=a,dc=x,dc=y",
	  MR_FALSE },
	{ "distinguishedNameMatch", "uid=a,dc=x", "cn=a,dc=x", MR_FALSE },
	{ "distinguishedNameMatch", "0.9.2342.19200300.100.1.1=a,dc=x",
	  "uid=a,dc=x", MR_CANNOT },
	{ "distinguishedNameMatch", "x-my=A,dc=x", "x-my=a,dc=x", MR_CANNOT },
	{ "distinguishedNameMatch", "cn=a+sn=b,dc=x", "sn=b+cn=a,dc=x",
	  MR_CANNOT },
	{ "distinguishedNameMatch", "not a dn", "cn=a", MR_UNDEFINED },
	{ "distinguishedNameMatch", "cn=#0403414243", "cn=ABC", MR_UNDEFINED },
	{ "caseIgnoreSubstringsMatch", "a", "a", MR_CANNOT },
	{ NULL, "a", "a", MR_CANNOT },
};

static const struct mr_value mails[] = { { "Joe@Example.COM", 15 },
	{ "joe.user@example.com", 20 } };
static const struct mr_value ocs[] = { { "top", 3 },
	{ "inetOrgPerson", 13 } };
static const struct mr_value act[] = { { "TRUE", 4 } };
static const struct mr_value uidn[] = { { "1001", 4 } };
static const struct mr_value odd[] = { { "x", 1 } };
static const struct mr_attr attrs[] = {
	{ "mail", "caseIgnoreIA5Match", mails, 2 },
	{ "objectClass", "objectIdentifierMatch", ocs, 2 },
	{ "accountActive", "booleanMatch", act, 1 },
	{ "uidNumber", "integerMatch", uidn, 1 },
	{ "oddAttr", "someVendorMatch", odd, 1 },
};
static const struct mr_entry entry = { attrs, 5 };

struct fcase {
	const char *filter;
	enum mr_result want;
};

static const struct fcase fcases[] = {
	{ "(mail=joe@example.com)", MR_TRUE },
	{ "(MAIL=JOE.USER@EXAMPLE.COM)", MR_TRUE },
	{ "(mail=bob@example.com)", MR_FALSE },
	{ "(&(objectClass=inetOrgPerson)(mail=joe@example.com)"
	  "(accountActive=TRUE))", MR_TRUE },
	{ "(&(mail=joe@example.com)(accountActive=FALSE))", MR_FALSE },
	{ "(!(accountActive=FALSE))", MR_TRUE },
	{ "(accountActive=yes)", MR_UNDEFINED },
	{ "(!(accountActive=yes))", MR_UNDEFINED },
	{ "(|(accountActive=yes)(mail=joe@example.com))", MR_TRUE },
	{ "(&(accountActive=yes)(mail=joe@example.com))", MR_UNDEFINED },
	{ "(&(accountActive=yes)(mail=bob@x))", MR_FALSE },
	{ "(uidNumber=01001)", MR_TRUE },
	{ "(absent=x)", MR_FALSE },
	{ "(!(absent=x))", MR_TRUE },
	{ "(mail=*)", MR_TRUE },
	{ "(absent=*)", MR_FALSE },
	{ "(oddAttr=x)", MR_CANNOT },
	{ "(!(oddAttr=x))", MR_CANNOT },
	{ "(&(oddAttr=x)(mail=bob@x))", MR_FALSE },
	{ "(|(oddAttr=x)(mail=joe@example.com))", MR_TRUE },
	{ "(|(oddAttr=x)(mail=bob@x))", MR_CANNOT },
	{ "(mail=joe*)", MR_CANNOT },
	{ "(uidNumber>=1000)", MR_CANNOT },
	{ "(mail~=joe)", MR_CANNOT },
	{ "(mail:caseExactIA5Match:=joe@example.com)", MR_CANNOT },
	{ "(mail;lang-de=joe@example.com)", MR_CANNOT },
	{ "(objectClass=inetorgperson)", MR_TRUE },
	{ "(objectClass=person)", MR_CANNOT },
	{ "(&(objectClass=person)(mail=bob@x))", MR_FALSE },
	{ "(&)", MR_TRUE },
	{ "(|)", MR_FALSE },
};

int
main(void)
{
	for (size_t i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++) {
		const struct ecase *c = &ecases[i];
		char name[200];
		enum mr_result r = mr_equal(c->rule, c->a, strlen(c->a), c->v,
		    strlen(c->v));

		snprintf(name, sizeof(name), "%s: \"%s\" vs \"%s\" is %s (got"
		    " %s)", c->rule ? c->rule : "(none)", c->a, c->v,
		    mr_result_name(c->want), mr_result_name(r));
		CHECK(name, r == c->want);
	}
	for (size_t i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
		struct filter *f;
		char err[200], name[300];
		enum mr_result r = MR_CANNOT;

		unit_must(filter_parse(fcases[i].filter,
		    strlen(fcases[i].filter), &f, err, sizeof(err)) == 0,
		    fcases[i].filter);
		r = mr_eval(f, &entry);
		filter_free(f);
		snprintf(name, sizeof(name), "eval %s is %s (got %s)",
		    fcases[i].filter, mr_result_name(fcases[i].want),
		    mr_result_name(r));
		CHECK(name, r == fcases[i].want);
	}
	CHECK("known rules", mr_known("caseIgnoreMatch") &&
	    mr_known("2.5.13.20") && !mr_known("caseIgnoreOrderingMatch") &&
	    !mr_known(NULL));
	return unit_done();
}
