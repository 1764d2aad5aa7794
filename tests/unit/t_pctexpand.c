/*
 * t_pctexpand: common/pctexpand.c against Postfix's db_common rules:
 * every expansion in query and result templates, the two quotings
 * (RFC 4515 for query_filter, RFC 4514 for search_base), and every
 * suppression (no '@' with %d, "@dom" with %u, too few labels for %N,
 * empty values, result values without a domain for %d), including the
 * flags one template gives the others of the same table.
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/pctexpand.h"
#include "unit.h"

struct xcase {
	const char *name;
	const char *tmpl[3];	/* search_base, query_filter, result */
	int which;		/* 0 base, 1 filter, 2 result */
	const char *value, *key;
	const char *want;	/* NULL: suppressed */
};

#define Q(f) { "", f, "%s" }

static const struct xcase xcases[] = {
	{ "s", Q("(mail=%s)"), 1, "a@b.c", NULL, "(mail=a@b.c)" },
	{ "u", Q("(uid=%u)"), 1, "joe@b.c", NULL, "(uid=joe)" },
	{ "u without @ is the key", Q("(uid=%u)"), 1, "joe", NULL,
	  "(uid=joe)" },
	{ "u with @dom suppressed", Q("(uid=%u)"), 1, "@b.c", NULL, NULL },
	{ "u with user@ keeps user", Q("(uid=%u)"), 1, "joe@", NULL,
	  "(uid=joe)" },
	{ "d", Q("(dc=%d)"), 1, "joe@b.c", NULL, "(dc=b.c)" },
	{ "d without @ suppressed", Q("(dc=%d)"), 1, "joe", NULL, NULL },
	{ "d with user@ suppressed", Q("(dc=%d)"), 1, "joe@", NULL, NULL },
	{ "d with @dom", Q("(dc=%d)"), 1, "@b.c", NULL, "(dc=b.c)" },
	{ "last @ splits", Q("(a=%u)(b=%d)"), 1, "a@b@c.d", NULL,
	  "(a=a@b)(b=c.d)" },
	{ "1 2 3", Q("(x=%1.%2.%3)"), 1, "u@a.b.c", NULL, "(x=c.b.a)" },
	{ "too few labels", Q("(x=%3)"), 1, "u@b.c", NULL, NULL },
	{ "empty labels dropped", Q("(x=%1-%2)"), 1, "u@.b..c.", NULL,
	  "(x=c-b)" },
	{ "9 labels", Q("(x=%9)"), 1, "u@1.2.3.4.5.6.7.8.9", NULL,
	  "(x=1)" },
	{ "S U D in a query", Q("(x=%S/%U/%D)"), 1, "Joe@B.c", NULL,
	  "(x=Joe@B.c/Joe/B.c)" },
	{ "U suppresses @dom", Q("(x=%U)"), 1, "@b.c", NULL, NULL },
	{ "percent", Q("(x=100%%)"), 1, "a", NULL, "(x=100%)" },
	{ "empty key suppressed", Q("(x=%s)"), 1, "", NULL, NULL },
	{ "filter quoting", Q("(x=%s)"), 1, "*()\\ ,+#\xc3\xa9", NULL,
	  "(x=\\2A\\28\\29\\5C ,+#\xc3\xa9)" },
	{ "DN quoting", { "uid=%u,ou=%d", "(x=1)", "%s" }, 0,
	  " a\t\"#+,;<>\\*()@x y", NULL,
	  "uid=\\20a\\09\\22\\23\\2B\\2C\\3B\\3C\\3E\\5C*(),ou=x\\20y" },
	/* a result template's flags reach the query */
	{ "result %D suppresses a domainless key", { "", "(x=%s)", "%D" }, 1,
	  "joe", NULL, NULL },
	{ "result %U suppresses @dom", { "", "(x=%s)", "%U" }, 1, "@b.c",
	  NULL, NULL },
	{ "result %d does not touch the query", { "", "(x=%s)", "%d" }, 1,
	  "joe", NULL, "(x=joe)" },
	/* result templates */
	{ "result s", Q("(x=%s)"), 2, "v@w.x", "k@l.m", "v@w.x" },
	{ "result smtp:[%s]", { "", "(x=%s)", "smtp:[%s]" }, 2, "h.x",
	  "k@l.m", "smtp:[h.x]" },
	{ "result u+D", { "", "(x=%s)", "%u+%D" }, 2, "joe@w.x", "k@l.m",
	  "joe+l.m" },
	{ "result u of a bare value", { "", "(x=%s)", "%u" }, 2, "joe",
	  "k@l.m", "joe" },
	{ "result u of @dom skipped", { "", "(x=%s)", "%u" }, 2, "@w.x",
	  "k@l.m", NULL },
	{ "result d of a bare value skipped", { "", "(x=%s)", "%d" }, 2,
	  "joe", "k@l.m", NULL },
	{ "result d", { "", "(x=%s)", "%d" }, 2, "joe@w.x", "k", "w.x" },
	{ "result S U D", { "", "(x=%s)", "%S %U %D" }, 2, "v", "k@l.m",
	  "k@l.m k l.m" },
	{ "result 1 2", { "", "(x=%s)", "%2/%1" }, 2, "v", "k@l.m", "l/m" },
	{ "result empty value skipped", Q("(x=%s)"), 2, "", "k", NULL },
	{ "result not quoted", Q("(x=%s)"), 2, "a*(b)", "k", "a*(b)" },
};

static void
run(const struct xcase *c)
{
	struct pct_ctx ctx = { 0, 0 };
	struct buf out = BUF_INIT;
	char err[256];
	int r;
	enum pct_quote q = c->which == 0 ? PCT_QUOTE_DN : c->which == 1 ?
	    PCT_QUOTE_FILTER : PCT_QUOTE_NONE;

	pct_parse(&ctx, c->tmpl[0], 1, err, sizeof(err));
	pct_parse(&ctx, c->tmpl[1], 1, err, sizeof(err));
	pct_parse(&ctx, c->tmpl[2], 0, err, sizeof(err));
	r = pct_expand(&ctx, c->tmpl[c->which], c->value, c->key, &out, q);
	if (c->want == NULL)
		CHECK(c->name, r == 0 && out.len == 0);
	else
		CHECK_STR(c->name, r == 1 ? buf_str(&out) : "(suppressed)",
		    c->want);
	buf_free(&out);
}

static void
parse_errors(void)
{
	struct pct_ctx ctx = { 0, 0 };
	char err[256];

	CHECK("static template", pct_parse(&ctx, "ou=x", 1, err,
	    sizeof(err)) == 0);
	CHECK("dynamic template", pct_parse(&ctx, "ou=%d", 1, err,
	    sizeof(err)) == 1);
	CHECK("%% alone is static", pct_parse(&ctx, "a%%b", 1, err,
	    sizeof(err)) == 0);
	CHECK("%x refused", pct_parse(&ctx, "(mail=%x)", 1, err,
	    sizeof(err)) == -1);
	CHECK_STR("%x reason", err, "unknown expansion '%x' in \"(mail=%x)\"");
	CHECK("%0 refused", pct_parse(&ctx, "%0", 0, err, sizeof(err)) == -1);
	CHECK("trailing % refused", pct_parse(&ctx, "a%", 0, err,
	    sizeof(err)) == -1);
	CHECK_STR("trailing % reason", err, "'%' at the end of \"a%\"");
	CHECK("control byte shown", pct_parse(&ctx, "%\x01", 0, err,
	    sizeof(err)) == -1 && strstr(err, "'%\\x01'") != NULL);
	ctx.flags = 0;
	ctx.nparts = 0;
	pct_parse(&ctx, "%3%1", 1, err, sizeof(err));
	CHECK("nparts is the highest", ctx.nparts == 3 &&
	    ctx.flags == PCT_KEY_DOMAIN);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(xcases) / sizeof(xcases[0]); i++)
		run(&xcases[i]);
	parse_errors();
	return unit_done();
}
