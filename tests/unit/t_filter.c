/*
 * t_filter: common/filter.c, RFC 4515 filters into a tree and back: the
 * RFC's own examples, the shapes ldap_table(5) files use (templates with
 * %s), every item type, and the malformed filters with their reasons.
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/filter.h"
#include "unit.h"

/* parse then print: the printed text, or "ERR: reason" */
static const char *
roundtrip(const char *in)
{
	static struct buf b;
	static char err[256];
	struct filter *f;

	buf_reset(&b);
	if (filter_parse(in, strlen(in), &f, err, sizeof(err)) < 0) {
		buf_printf(&b, "ERR: %s", err);
		return buf_str(&b);
	}
	filter_print(f, &b);
	filter_free(f);
	return buf_str(&b);
}

struct rcase {
	const char *in, *want;
};

static const struct rcase rcases[] = {
	/* RFC 4515 section 4 */
	{ "(cn=Babs Jensen)", "(cn=Babs Jensen)" },
	{ "(!(cn=Tim Howes))", "(!(cn=Tim Howes))" },
	{ "(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))",
	  "(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))" },
	{ "(o=univ*of*mich*)", "(o=univ*of*mich*)" },
	{ "(seeAlso=)", "(seeAlso=)" },
	{ "(cn:caseExactMatch:=Fred Flintstone)",
	  "(cn:caseExactMatch:=Fred Flintstone)" },
	{ "(cn:=Betty Rubble)", "(cn:=Betty Rubble)" },
	{ "(sn:dn:2.4.6.8.10:=Barney Rubble)",
	  "(sn:dn:2.4.6.8.10:=Barney Rubble)" },
	{ "(o:dn:=Ace Industry)", "(o:dn:=Ace Industry)" },
	{ "(:1.2.3:=Wilma Flintstone)", "(:1.2.3:=Wilma Flintstone)" },
	{ "(:DN:2.4.6.8.10:=Dino)", "(:dn:2.4.6.8.10:=Dino)" },
	{ "(o=Parens R Us \\28for all your parenthetical needs\\29)",
	  "(o=Parens R Us \\28for all your parenthetical needs\\29)" },
	{ "(cn=*\\2A*)", "(cn=*\\2a*)" },
	{ "(filename=C:\\5cMyFile)", "(filename=C:\\5cMyFile)" },
	{ "(bin=\\00\\00\\00\\04)", "(bin=\\00\\00\\00\\04)" },
	{ "(sn=Lu\\c4\\8di\\c4\\87)", "(sn=Lu\xc4\x8di\xc4\x87)" },
	{ "(1.3.6.1.4.1.1466.0=\\04\\02\\48\\69)",
	  "(1.3.6.1.4.1.1466.0=\\04\\02Hi)" },
	/* ldap_table(5) shapes */
	{ "(&(objectClass=VirtualMailAlias)(mail=%s)(accountActive=TRUE))",
	  "(&(objectClass=VirtualMailAlias)(mail=%s)(accountActive=TRUE))" },
	{ "mail=%s", "(mail=%s)" },
	{ "objectclass=*", "(objectclass=*)" },
	/* found by fuzz_filter: a bare "a=*" was a substring of nothing */
	{ "a=*", "(a=*)" },
	{ "  ( | (mail=%s) (mailAlternateAddress=%u@%d) )  ",
	  "(|(mail=%s)(mailAlternateAddress=%u@%d))" },
	{ "(&(|(mail=%s)(uid=%u))(!(accountStatus=disabled)))",
	  "(&(|(mail=%s)(uid=%u))(!(accountStatus=disabled)))" },
	{ "(uidNumber>=1000)", "(uidNumber>=1000)" },
	{ "(uidNumber<=99)", "(uidNumber<=99)" },
	{ "(cn~=jensen)", "(cn~=jensen)" },
	{ "(mail=*@example.com)", "(mail=*@example.com)" },
	{ "(mail=a*)", "(mail=a*)" },
	{ "(mail=*b)", "(mail=*b)" },
	{ "(cn;lang-de=x)", "(cn;lang-de=x)" },
	{ "(&)", "(&)" },
	{ "(|)", "(|)" },
	/* malformed */
	{ "", "ERR: filter byte 0: empty filter" },
	{ "(mail=x", "ERR: filter byte 7: missing ')'" },
	{ "(mail=x))", "ERR: filter byte 8: text after the filter" },
	{ "mail=x)", "ERR: filter byte 6: unbalanced ')'" },
	{ "(&(mail=x)", "ERR: filter byte 10: missing ')'" },
	{ "(mail=a(b)", "ERR: filter byte 7: unescaped '(' in a value" },
	{ "(mail=\\zz)",
	  "ERR: filter byte 6: '\\' not followed by two hex digits" },
	{ "(mail=\\4)",
	  "ERR: filter byte 6: '\\' not followed by two hex digits" },
	{ "(=x)", "ERR: filter byte 1: expected an attribute description" },
	{ "(1mail=x)",
	  "ERR: filter byte 2: expected an attribute description" },
	{ "(mail x)", "ERR: filter byte 5: expected '=', '>=', '<=', '~=' "
	  "or ':=' after the attribute" },
	{ "(!(a=b)(c=d))", "ERR: filter byte 12: '!' needs exactly one "
	  "filter" },
	{ "(a=b**c)", "ERR: filter byte 6: empty part between two '*'" },
	{ "(a>=b*)", "ERR: filter byte 5: unescaped '*' in a value" },
	{ "(:=x)", "ERR: filter byte 1: extensible match without attribute "
	  "or rule" },
	{ "(cn:dn=x)", "ERR: filter byte 6: expected ':=' in an extensible "
	  "match" },
	{ "(01.2=x)", "ERR: filter byte 1: expected an attribute description" },
};

/* depth nested parentheses: (!(!...(a=b)...)) */
static int
nested(int depth, char *err, size_t errsz)
{
	struct buf b = BUF_INIT;
	struct filter *f;
	int r;

	for (int i = 0; i < depth - 1; i++)
		buf_puts(&b, "(!");
	buf_puts(&b, "(a=b)");
	for (int i = 0; i < depth - 1; i++)
		buf_putc(&b, ')');
	r = filter_parse(b.p, b.len, &f, err, errsz);
	filter_free(f);
	buf_free(&b);
	return r;
}

static void
nul_and_depth(void)
{
	struct filter *f;
	char err[256];

	CHECK("NUL in text refused",
	    filter_parse("(a=b\0c)", 7, &f, err, sizeof(err)) < 0 &&
	    strcmp(err, "filter byte 4: NUL in a value") == 0);
	CHECK("depth at the limit parses",
	    nested(FILTER_MAX_DEPTH, err, sizeof(err)) == 0);
	CHECK("depth over the limit refused",
	    nested(FILTER_MAX_DEPTH + 1, err, sizeof(err)) < 0 &&
	    strstr(err, "nested too deep") != NULL);
}

static void
tree(void)
{
	struct filter *f;
	char err[256];
	const char *t = "(&(|(mail=%s)(cn=a*b*c))(!(x=\\2a)))";

	CHECK("tree parses", filter_parse(t, strlen(t), &f, err,
	    sizeof(err)) == 0);
	CHECK("and of two", f->type == FILTER_AND && f->nkids == 2);
	CHECK("or first", f->kids[0]->type == FILTER_OR);
	CHECK_STR("eq attr", f->kids[0]->kids[0]->attr, "mail");
	CHECK_MEM("eq value", f->kids[0]->kids[0]->value.p,
	    f->kids[0]->kids[0]->value.len, "%s");
	CHECK("sub parts", f->kids[0]->kids[1]->type == FILTER_SUB &&
	    f->kids[0]->kids[1]->nany == 1);
	CHECK_STR("sub initial", f->kids[0]->kids[1]->initial.p, "a");
	CHECK_STR("sub any", f->kids[0]->kids[1]->any[0].p, "b");
	CHECK_STR("sub final", f->kids[0]->kids[1]->final.p, "c");
	CHECK("not", f->kids[1]->type == FILTER_NOT &&
	    f->kids[1]->nkids == 1);
	CHECK_MEM("escaped value decoded", f->kids[1]->kids[0]->value.p,
	    f->kids[1]->kids[0]->value.len, "*");
	CHECK_STR("type name", filter_type_name(f->kids[1]->type), "not");
	filter_free(f);
	CHECK("bare a=* is presence", filter_parse("a=*", 3, &f, err,
	    sizeof(err)) == 0 && f->type == FILTER_PRESENT);
	filter_free(f);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		char name[160];

		snprintf(name, sizeof(name), "round trip %.120s",
		    rcases[i].in);
		CHECK_STR(name, roundtrip(rcases[i].in), rcases[i].want);
	}
	nul_and_depth();
	tree();
	return unit_done();
}
