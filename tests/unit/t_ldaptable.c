/*
 * t_ldaptable: common/ldaptable.c on ldap_table(5) files: the defaults
 * Postfix gives, every parameter that changes an answer, continuation
 * and comment lines, a later line replacing an earlier one, the domain
 * list (names, "!names", files), and one exact error line for each bad
 * file (unknown parameter, bad numbers and choices, "%x", an unbalanced
 * filter, a type:table domain list, a missing file).
 */
#include <stdio.h>
#include <string.h>

#include "common/filter.h"
#include "common/ldaptable.h"
#include "unit.h"

static struct ldaptable *t;
static char err[512];

static int
parse(const char *text)
{
	ldaptable_free(t);
	t = NULL;
	err[0] = '\0';
	return ldaptable_parse("t.cf", text, strlen(text), &t, err,
	    sizeof(err));
}

static void
defaults(void)
{
	CHECK("empty file parses", parse("") == 0);
	CHECK_STR("default server", t->servers[0], "ldap://localhost:389");
	CHECK("one server", t->nservers == 1);
	CHECK_STR("default filter", t->query_filter,
	    "(mailacceptinggeneralid=%s)");
	CHECK_STR("default result format", t->result_format, "%s");
	CHECK_STR("default base", t->search_base, "");
	CHECK("default attribute maildrop", t->nattrs == 1 &&
	    strcmp(t->attrs[0], "maildrop") == 0 && t->num_attributes == 1);
	CHECK("default scope sub", t->scope == LDAPTABLE_SUB);
	CHECK("default version 3", t->version == 3);
	CHECK("default bind yes", t->bind == LDAPTABLE_BIND_SIMPLE);
	CHECK("default limits", t->recursion_limit == 1000 &&
	    t->expansion_limit == 0 && t->size_limit == 0 &&
	    t->dereference == 0 && t->timeout == 10);
	CHECK("no domain list", t->ndomains == 0 &&
	    ldaptable_domain_ok(t, "anything"));
}

static void
full(void)
{
	CHECK("full file parses", parse(
	    "# the howto's aliases\n"
	    "server_host = ldap://127.0.0.1:3890 ldaps://h2,\n"
	    "    h3 h4:1389\n"
	    "server_port = 636\n"
	    "search_base = ou=%d, dc=example, dc=com\n"
	    "\n"
	    "query_filter = (&(mail=%s)\n"
	    "\t(active=TRUE))\n"
	    "result_attribute = maildrop, mail\n"
	    "special_result_attribute = member\n"
	    "terminal_result_attribute = forward\n"
	    "leaf_result_attribute = mail2\n"
	    "result_format = smtp:[%s]\n"
	    "scope = one\n"
	    "bind = no\n"
	    "recursion_limit = 5\n"
	    "expansion_limit = 7\n"
	    "dereference = 3\n"
	    "domain = example.com, !bad.example.com example.com\n"
	    "version = 2\n"
	    "timeout = 3\n"
	    "cache = yes\n"
	    "cache_size = 100\n"
	    "scope = base\n") == 0);
	CHECK_STR("no error", err, "");
	CHECK("four servers", t->nservers == 4);
	CHECK_STR("url kept", t->servers[0], "ldap://127.0.0.1:3890");
	CHECK_STR("ldaps kept", t->servers[1], "ldaps://h2");
	CHECK_STR("continuation host", t->servers[2], "ldap://h3:636");
	CHECK_STR("host:port", t->servers[3], "ldap://h4:1389");
	CHECK_STR("base", t->search_base, "ou=%d, dc=example, dc=com");
	CHECK("dynamic base", t->dynamic_base == 1);
	CHECK_STR("continued filter", t->query_filter,
	    "(&(mail=%s) (active=TRUE))");
	CHECK("filter tree", t->filter && t->filter->type == FILTER_AND &&
	    t->filter->nkids == 2);
	CHECK("attribute order: terminal leaf result special",
	    t->nattrs == 5 && strcmp(t->attrs[0], "forward") == 0 &&
	    strcmp(t->attrs[1], "mail2") == 0 &&
	    strcmp(t->attrs[2], "maildrop") == 0 &&
	    strcmp(t->attrs[3], "mail") == 0 &&
	    strcmp(t->attrs[4], "member") == 0);
	CHECK("attribute counts", t->num_terminal == 1 && t->num_leaf == 1 &&
	    t->num_attributes == 4);
	CHECK_STR("result format", t->result_format, "smtp:[%s]");
	CHECK("later scope wins", t->scope == LDAPTABLE_BASE);
	CHECK("bind no", t->bind == LDAPTABLE_BIND_NONE);
	CHECK("limits", t->recursion_limit == 5 && t->expansion_limit == 7
	    && t->size_limit == 7 && t->dereference == 3 &&
	    t->version == 2 && t->timeout == 3);
	CHECK("flags of the table", t->ctx.flags == PCT_KEY_DOMAIN);
	CHECK("domain ok", ldaptable_domain_ok(t, "u@Example.COM"));
	CHECK("domain excluded by !", !ldaptable_domain_ok(t,
	    "u@bad.example.com"));
	CHECK("domain not listed", !ldaptable_domain_ok(t, "u@other.com"));
	CHECK("domain: subdomain not listed", !ldaptable_domain_ok(t,
	    "u@x.example.com"));
	CHECK("domain: bare name skipped", !ldaptable_domain_ok(t,
	    "example.com"));
	CHECK("domain: @domain skipped", !ldaptable_domain_ok(t,
	    "@example.com"));
	CHECK("result_filter is the old name", parse("result_filter = "
	    "x%s\n") == 0 && strcmp(t->result_format, "x%s") == 0);
	CHECK("result_format wins over result_filter", parse("result_format"
	    " = a%s\nresult_filter = b%s\n") == 0 &&
	    strcmp(t->result_format, "a%s") == 0);
	CHECK("size_limit of its own", parse("expansion_limit = 2\n"
	    "size_limit = 9\n") == 0 && t->size_limit == 9);
	CHECK("start_tls makes version 3", parse("version = 2\nstart_tls = "
	    "yes\n") == 0 && t->version == 3 && t->start_tls == 1);
	CHECK("sasl bind", parse("bind = sasl\nsasl_mechs = EXTERNAL\n") == 0
	    && t->bind == LDAPTABLE_BIND_SASL &&
	    strcmp(t->sasl_mechs, "EXTERNAL") == 0);
	CHECK("CRLF lines", parse("scope = one\r\nbind_dn = cn=x\r\n") == 0
	    && t->scope == LDAPTABLE_ONE && strcmp(t->bind_dn, "cn=x") == 0);
}

struct bad {
	const char *name, *text, *why;
};

static const struct bad bads[] = {
	{ "unknown parameter", "scope = sub\nquery_filtre = (a=%s)\n",
	  "t.cf:2: unknown parameter \"query_filtre\"" },
	{ "not name = value", "\nscope sub\n",
	  "t.cf:2: expected \"name = value\", not \"scope sub\"" },
	{ "continuation first", "  scope = sub\n",
	  "t.cf:1: continuation line without a line before it" },
	{ "bad scope", "scope = all\n",
	  "t.cf:1: scope: \"all\" is not sub, one or base" },
	{ "bad bind", "bind = maybe\n", "t.cf:1: bind: \"maybe\" is not yes, "
	  "no, simple, none or sasl" },
	{ "bad number", "timeout = 10s\n",
	  "t.cf:1: timeout: not a number: \"10s\"" },
	{ "version 4", "version = 4\n",
	  "t.cf:1: version = 4: must be between 2 and 3" },
	{ "recursion_limit 0", "recursion_limit = 0\n",
	  "t.cf:1: recursion_limit = 0: must be at least 1" },
	{ "dereference 4", "dereference = 4\n",
	  "t.cf:1: dereference = 4: must be between 0 and 3" },
	{ "bad bool", "start_tls = on\n",
	  "t.cf:1: start_tls: \"on\" is not yes or no" },
	{ "%x in the filter", "\nquery_filter = (mail=%x)\n",
	  "t.cf:2: query_filter: unknown expansion '%x' in \"(mail=%x)\"" },
	{ "%x in the base", "search_base = o=%x\n",
	  "t.cf:1: search_base: unknown expansion '%x' in \"o=%x\"" },
	{ "%x in the result", "result_format = %x\n",
	  "t.cf:1: result_format: unknown expansion '%x' in \"%x\"" },
	{ "unbalanced filter", "query_filter = (&(mail=%s)\n",
	  "t.cf:1: query_filter: filter byte 11: missing ')'" },
	{ "type:table domain", "domain = hash:/etc/postfix/d\n",
	  "t.cf:1: domain: \"hash:/etc/postfix/d\": type:table lists are "
	  "not supported (list the names, or a file of them)" },
	{ "bad server URL", "server_host = http://x\n",
	  "t.cf:1: server_host: \"http://x\" is not an ldap://, ldaps:// or "
	  "ldapi:// URL" },
	{ "bad attribute", "result_attribute = ma(il\n",
	  "t.cf: \"ma(il\" is not an attribute name" },
	{ "port 0", "server_port = 0\n",
	  "t.cf:1: server_port = 0: must be between 1 and 65535" },
};

static void
files(void)
{
	char dir[256], path[300], dom[300], text[700];
	FILE *f;

	unit_tmpdir(dir, sizeof(dir), "t_ldaptable");
	snprintf(dom, sizeof(dom), "%s/domains", dir);
	f = fopen(dom, "w");
	unit_must(f != NULL, "create domains");
	fputs("# ours\na.example, b.example\n\n  c.example\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/t.cf", dir);
	f = fopen(path, "w");
	unit_must(f != NULL, "create t.cf");
	snprintf(text, sizeof(text), "domain = x.example %s\n", dom);
	fputs(text, f);
	fclose(f);
	ldaptable_free(t);
	CHECK("load with a domain file", ldaptable_load(path, &t, err,
	    sizeof(err)) == 0);
	CHECK("domain file expanded", t && t->ndomains == 4 &&
	    ldaptable_domain_ok(t, "u@c.example") &&
	    ldaptable_domain_ok(t, "u@x.example") &&
	    !ldaptable_domain_ok(t, "u@d.example"));
	ldaptable_free(t);
	t = NULL;
	snprintf(text, sizeof(text), "%s/none", dir);
	CHECK("missing file", ldaptable_load(text, &t, err, sizeof(err)) < 0
	    && strstr(err, "cannot open") != NULL && t == NULL);
	unit_rmtree(dir);
}

int
main(void)
{
	defaults();
	full();
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		int r = parse(bads[i].text);

		CHECK(bads[i].name, r < 0 && t == NULL);
		CHECK_STR(bads[i].name, err, bads[i].why);
	}
	files();
	ldaptable_free(t);
	return unit_done();
}
