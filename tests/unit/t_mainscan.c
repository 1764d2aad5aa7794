/*
 * t_mainscan: common/mainscan.c, main.cf as Postfix reads it.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mainscan.h"
#include "tests/unit/unit.h"

static char *
joined(const char *value)
{
	char **v;
	size_t n;
	struct buf b = BUF_INIT;

	mainscan_items(value, &v, &n);
	for (size_t i = 0; i < n; i++) {
		buf_puts(&b, v[i]);
		buf_putc(&b, '|');
	}
	mainscan_items_free(v, n);
	return b.p ? b.p : xstrdup("");
}

static void
t_syntax(void)
{
	static const char text[] =
	    "# a comment\n"
	    "virtual_alias_maps = ldap:/etc/postfix/a.cf,\n"
	    "\thash:/etc/postfix/virtual\n"
	    "\n"
	    "  # an indented comment does not end the line\n"
	    "    ldap:b   \n"
	    "myhostname=mx.example.com\n"
	    "relay_domains = one\n"
	    "relay_domains = two\n"
	    "empty =\n";
	struct mainscan ms;
	char err[256];

	CHECK("parse", mainscan_parse("main.cf", text, strlen(text), &ms,
	    err, sizeof(err)) == 0);
	CHECK("four parameters", ms.n == 4);
	CHECK_STR("continuation lines joined",
	    mainscan_get(&ms, "virtual_alias_maps"),
	    "ldap:/etc/postfix/a.cf, hash:/etc/postfix/virtual ldap:b");
	CHECK("line of the logical line", ms.p[0].line == 2);
	CHECK_STR("no blanks around =", mainscan_get(&ms, "myhostname"),
	    "mx.example.com");
	CHECK_STR("the later value wins", mainscan_get(&ms, "relay_domains"),
	    "two");
	CHECK("its line", ms.p[2].line == 9);
	CHECK_STR("empty value", mainscan_get(&ms, "empty"), "");
	CHECK("unset", mainscan_get(&ms, "mydestination") == NULL);
	mainscan_free(&ms);
}

static void
t_errors(void)
{
	static const struct {
		const char *text, *want;
	} c[] = {
		{ "a = 1\nno equals\n", "m.cf:2: missing '=' after parameter "
		    "name" },
		{ "\n= x\n", "m.cf:2: missing parameter name before '='" },
		{ "two words = x\n", "m.cf:1: white space in parameter name" },
	};
	struct mainscan ms;
	char err[256];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		err[0] = '\0';
		CHECK(c[i].want, mainscan_parse("m.cf", c[i].text,
		    strlen(c[i].text), &ms, err, sizeof(err)) == -1);
		CHECK_STR(c[i].want, err, c[i].want);
	}
	CHECK("a NUL byte", mainscan_parse("m.cf", "a = b\0c", 7, &ms, err,
	    sizeof(err)) == -1 && strstr(err, "NUL") != NULL);
	CHECK("a continuation of nothing is ignored",
	    mainscan_parse("m.cf", "  x = y\na = b\n", 14, &ms, err,
	    sizeof(err)) == 0 && ms.n == 1 &&
	    strcmp(ms.p[0].name, "a") == 0);
	mainscan_free(&ms);
}

static void
t_expand(void)
{
	static const char text[] =
	    "maps = ldap:/a.cf\n"
	    "both = $maps, ${maps} $(maps)\n"
	    "set = x\n"
	    "none =\n"
	    "cond = ${set?yes} ${none?no} ${set:no} ${none:empty} "
	    "${unset:u} ${set?{br}}\n"
	    "dollar = $$maps $ ${ $}\n"
	    "loop1 = $loop2\n"
	    "loop2 = a $loop1\n"
	    "unknown = [$nosuch]\n";
	static const struct {
		const char *name, *want;
	} c[] = {
		{ "both", "ldap:/a.cf, ldap:/a.cf ldap:/a.cf" },
		{ "cond", "yes   empty u br" },
		{ "dollar", "$maps $ ${ $}" },
		{ "unknown", "[]" },
	};
	struct mainscan ms;
	char err[256], *x;

	CHECK("parse", mainscan_parse("m.cf", text, strlen(text), &ms, err,
	    sizeof(err)) == 0);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		x = mainscan_expand(&ms, mainscan_get(&ms, c[i].name), err,
		    sizeof(err));
		CHECK_STR(c[i].name, x, c[i].want);
		free(x);
	}
	err[0] = '\0';
	x = mainscan_expand(&ms, "$loop1", err, sizeof(err));
	CHECK("a loop is refused", x == NULL);
	CHECK_STR("and named", err, "$loop1: expansion nested more than 100 "
	    "deep (a loop?)");
	free(x);
	mainscan_free(&ms);
}

static void
t_blowup(void)
{
	static const char text[] =
	    "a = $b$b$b$b$b$b$b$b$b$b\n"
	    "b = $c$c$c$c$c$c$c$c$c$c\n"
	    "c = $d$d$d$d$d$d$d$d$d$d\n"
	    "d = $e$e$e$e$e$e$e$e$e$e\n"
	    "e = $f$f$f$f$f$f$f$f$f$f\n"
	    "f = ${g?$g}${g?$g}\n"
	    "g =\n";
	struct mainscan ms;
	char err[256], *x;

	CHECK("parse", mainscan_parse("m.cf", text, strlen(text), &ms, err,
	    sizeof(err)) == 0);
	x = mainscan_expand(&ms, "$a", err, sizeof(err));
	CHECK("an expansion that would never end is refused", x == NULL);
	CHECK_STR("and says why", err, "more than 10000 names expanded in "
	    "one value");
	free(x);
	mainscan_free(&ms);
}

static void
t_items(void)
{
	static const struct {
		const char *value, *want;
	} c[] = {
		{ "", "" },
		{ "a", "a|" },
		{ " a,b ,, c\td ", "a|b|c|d|" },
		{ "ldap:/x.cf, {ldap:{a, b}} x", "ldap:/x.cf|{ldap:{a, b}}|x|" },
		{ "check_sender_access ldap:s, reject",
		    "check_sender_access|ldap:s|reject|" },
		{ "{unbalanced, x", "{unbalanced, x|" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *j = joined(c[i].value);

		CHECK_STR(c[i].value, j, c[i].want);
		free(j);
	}
}

static void
t_refs(void)
{
	const char *t = NULL;

	CHECK("ldap:/file", mainscan_ldap_ref("ldap:/etc/a.cf", &t) &&
	    strcmp(t, "/etc/a.cf") == 0 && !mainscan_ldap_is_params(t));
	CHECK("ldap:./file", mainscan_ldap_ref("ldap:./a.cf", &t) &&
	    !mainscan_ldap_is_params(t));
	CHECK("ldap:NAME (2.0)", mainscan_ldap_ref("ldap:aliases", &t) &&
	    strcmp(t, "aliases") == 0 && mainscan_ldap_is_params(t));
	CHECK("ldap:a/b is 2.0 for Postfix too",
	    mainscan_ldap_ref("ldap:a/b", &t) && mainscan_ldap_is_params(t));
	CHECK("ldap: empty", !mainscan_ldap_ref("ldap:", &t));
	CHECK("proxy:ldap: is the same table",
	    mainscan_ldap_ref("proxy:ldap:/a.cf", &t) &&
	    strcmp(t, "/a.cf") == 0);
	CHECK("proxy:hash: is not", !mainscan_ldap_ref("proxy:hash:/a",
	    &t));
	CHECK("ldap:{inline}", !mainscan_ldap_ref("ldap:{x}", &t));
	CHECK("ldapx:", !mainscan_ldap_ref("ldapx:/a", &t));
	CHECK("an LDAP URL is not a table",
	    !mainscan_ldap_ref("ldap://127.0.0.1:389", &t));
}

int
main(void)
{
	t_syntax();
	t_errors();
	t_expand();
	t_blowup();
	t_items();
	t_refs();
	return unit_done();
}
