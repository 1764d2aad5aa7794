/*
 * t_tablesnap: common/tablesnap.c, an ldap_table map's answers from
 * entries in memory: the candidate read's filter, the keys derived from
 * the key attributes (folded, and prepared: " A@x " gives "a@x" too),
 * the original filter evaluated with each attribute's rule (caseExact:
 * a folded key never matches an uppercase value), result_format,
 * special/leaf/terminal attributes followed through DNs (known, absent
 * under a covered base, unresolved outside it), the limits as TEMP
 * answers, and every 'cannot' (a non-ASCII value under a Unicode rule,
 * an LDAP URL, an objectClass the entry does not list, keys from an
 * integer attribute).  Also mr_dn_norm, mr_prep_fold, mr_key_class and
 * tablesnap_key_complete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/ldaptable.h"
#include "common/matchrule.h"
#include "common/tableclass.h"
#include "common/tablesnap.h"
#include "unit.h"

static const char *
rule(const char *attr, void *arg)
{
	static const char *const r[][2] = {
		{ "mail", "caseIgnoreIA5Match" },
		{ "mailAlternateAddress", "caseIgnoreIA5Match" },
		{ "exact", "caseExactIA5Match" },
		{ "accountStatus", "caseIgnoreMatch" },
		{ "cn", "caseIgnoreMatch" },
		{ "objectClass", "objectIdentifierMatch" },
		{ "uid", "caseIgnoreMatch" },
		{ "num", "integerMatch" },
		{ "member", "distinguishedNameMatch" },
	};

	(void)arg;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (strcasecmp(r[i][0], attr) == 0)
			return r[i][1];
	return NULL;
}

/* An entry as text: "DN|attr=v|attr=v..." (a '*' before the DN: not a
 * candidate). */
static void
add_entry(struct tablesnap *s, const char *text)
{
	char *copy = strdup(text), *save = NULL, *dn;
	int candidate = 1;

	unit_must(copy != NULL, "strdup");
	dn = strtok_r(copy, "|", &save);
	if (*dn == '*') {
		candidate = 0;
		dn++;
	}
	tablesnap_entry(s, dn, candidate);
	for (char *a = strtok_r(NULL, "|", &save); a;
	    a = strtok_r(NULL, "|", &save)) {
		char *eq = strchr(a, '=');
		struct mr_value v;

		unit_must(eq != NULL, a);
		v.p = eq + 1;
		v.len = strlen(eq + 1);
		tablesnap_attr(s, a, (size_t)(eq - a), &v, 1);
	}
	free(copy);
}

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct out {
	char *line[64];
	size_t n;
};

static void
emit(const char *key, size_t klen, enum tablesnap_kind kind,
    const char *val, size_t vlen, void *arg)
{
	struct out *o = arg;
	char line[600];

	snprintf(line, sizeof(line), "%.*s %s %.*s", (int)klen, key,
	    kind == TABLESNAP_FOUND ? "FOUND" : "TEMP", (int)vlen, val);
	if (o->n < 64)
		o->line[o->n++] = strdup(line);
}

static void
dn_read(const char *dn, void *arg)
{
	struct buf *b = arg;

	buf_printf(b, "%s;", dn);
}

struct scase {
	const char *name;
	const char *table;		/* ldap_table text after the base */
	const char *entries[8];
	const char *cover;		/* a base read whole, or NULL */
	const char *unresolved;		/* DNs to read, ';'-separated */
	const char *want;		/* sorted lines, or "cannot: why" */
};

/* The howto's aliases, whichever way the filter says them */
#define HOWTO_WANT \
	" a@x  FOUND Alice@Example.COM\n" \
	"a@x FOUND Alice@Example.COM\n" \
	"alice@example.com FOUND Alice@Example.COM\n" \
	"c@x FOUND c@x\n" \
	"d@x FOUND d@x\n" \
	"shared@x FOUND c@x,d@x\n"

static const struct scase cases[] = {
	{ "howto aliases, folded and prepared keys",
	  "query_filter = (&(|(mail=%s)(mailAlternateAddress=%s))"
	  "(|(accountStatus=active)(accountStatus=shared)))\n"
	  "result_attribute = mail\n",
	  /* the entries the read filter finds: accountStatus is the
	   * server's to decide */
	  { "uid=a,o=x|mail=Alice@Example.COM|mailAlternateAddress= A@x ",
	    "uid=c,o=x|mail=c@x|mailAlternateAddress=shared@x",
	    "uid=d,o=x|mail=d@x|mailAlternateAddress=shared@x" },
	  NULL, "",
	  HOWTO_WANT },
	{ "no AND at the top: every test evaluated here",
	  "query_filter = (|(&(mail=%s)(|(accountStatus=active)"
	  "(accountStatus=shared)))(&(mailAlternateAddress=%s)"
	  "(|(accountStatus=active)(accountStatus=shared))))\n"
	  "result_attribute = mail\n",
	  { "uid=a,o=x|mail=Alice@Example.COM|mailAlternateAddress= A@x "
	    "|accountStatus=Active",
	    "uid=b,o=x|mail=bob@x|accountStatus=disabled",
	    "uid=c,o=x|mail=c@x|mailAlternateAddress=shared@x"
	    "|accountStatus=shared",
	    "uid=d,o=x|mail=d@x|mailAlternateAddress=shared@x"
	    "|accountStatus=active" },
	  NULL, "",
	  HOWTO_WANT },
	{ "caseExact: a folded key never matches an uppercase value",
	  "query_filter = (exact=%s)\nresult_attribute = cn\n",
	  { "cn=a,o=x|exact=Bob@x|cn=upper", "cn=b,o=x|exact=bob@x|cn=lower" },
	  NULL, "", "bob@x FOUND lower\n" },
	{ "result_format and %u@%d keys",
	  "query_filter = (&(uid=%u)(mail=%u@%d))\nresult_attribute = mail\n"
	  "result_format = %u+%D\n",
	  { "uid=a,o=x|uid=alice|mail=alice@x.org",
	    "uid=b,o=x|uid=bob|mail=robert@x.org",
	    "uid=c,o=x|uid=nodomain|mail=nodomain" },
	  NULL, "", "alice@x.org FOUND alice+x.org\n" },
	{ "groups: leaf members followed, a missing one skipped",
	  "query_filter = (mail=%s)\nresult_attribute = cn\n"
	  "leaf_result_attribute = mail\n"
	  "special_result_attribute = member\n",
	  { "cn=g,ou=g,o=x|mail=g@x|member=UID=A, o=x|member=uid=gone,o=x",
	    "*uid=a,o=x|mail=a@x|cn=alice" },
	  "o=x", "", "g@x FOUND a@x,alice\n" },
	{ "groups: a DN outside the covered base is read",
	  "query_filter = (mail=%s)\nresult_attribute = cn\n"
	  "special_result_attribute = member\n",
	  { "cn=g,ou=g,o=x|mail=g@x|member=uid=a,o=y" },
	  "ou=g,o=x", "uid=a,o=y;", "cannot: a special value names an "
	  "entry not read: uid=a,o=y" },
	{ "a cycle exceeds recursion_limit: TEMP",
	  "query_filter = (mail=%s)\nresult_attribute = cn\n"
	  "special_result_attribute = member\nrecursion_limit = 3\n",
	  { "cn=s,o=x|mail=s@x|cn=self|member=cn=s,o=x" },
	  "o=x", "", "s@x TEMP t.cf: recursion limit (3) exceeded at "
	  "member\n" },
	{ "expansion_limit and size_limit exceeded: TEMP",
	  "query_filter = (mail=%s)\nresult_attribute = cn\n"
	  "expansion_limit = 1\nsize_limit = 1\n",
	  { "cn=a,o=x|mail=one@x|cn=a|cn=b", "cn=b,o=x|mail=two@x|cn=b",
	    "cn=c,o=x|mail=two@x|cn=c" },
	  NULL, "", "one@x TEMP t.cf: expansion limit (1) exceeded\n"
	  "two@x TEMP t.cf: size limit (1) exceeded\n" },
	{ "a non-ASCII value under a Unicode rule: cannot",
	  "query_filter = (cn=%s)\nresult_attribute = mail\n",
	  { "cn=a,o=x|cn=M\xc3\xbcller|mail=m@x" },
	  NULL, "", "cannot: a non-ASCII value under a Unicode rule: cn" },
	{ "an LDAP URL among the special values: cannot",
	  "query_filter = (mail=%s)\nresult_attribute = cn\n"
	  "special_result_attribute = member\n",
	  { "cn=g,o=x|mail=g@x|member=ldap:///o=x??sub?(uid=a)" },
	  "o=x", "", "cannot: an LDAP URL among the special values: "
	  "ldap:///o=x??sub?(uid=a)" },
	{ "an objectClass the entry does not list: cannot",
	  "query_filter = (|(&(mail=%s)(objectClass=a))(uid=%s))\n"
	  "result_attribute = mail\n",
	  { "uid=a,o=x|mail=a@x|objectClass=c" },
	  NULL, "", "cannot: lookupd cannot evaluate the filter on: "
	  "uid=a,o=x" },
	{ "a conjunct without the key is the server's (a subclass)",
	  "query_filter = (&(mail=%s)(|(objectClass=a)(objectClass=b)))\n"
	  "result_attribute = mail\n",
	  { "uid=a,o=x|mail=a@x|objectClass=c" },
	  NULL, "", "a@x FOUND a@x\n" },
	{ "keys from an integer attribute: cannot",
	  "query_filter = (num=%s)\nresult_attribute = mail\n",
	  { "uid=a,o=x|num=1|mail=a@x" },
	  NULL, "", "cannot: keys come from an attribute whose equality "
	  "rule lets unlike text be equal (or is unknown): num" },
};

static void
run_case(const struct scase *c)
{
	char text[1000], err[400], got[2000], name[300];
	struct ldaptable *t;
	struct tableclass tc;
	struct tablesnap *s;
	struct buf dns = BUF_INIT;
	struct out o = { { NULL }, 0 };
	size_t n = 0;

	snprintf(text, sizeof(text), "search_base = o=x\n%s", c->table);
	unit_must(ldaptable_parse("t.cf", text, strlen(text), &t, err,
	    sizeof(err)) == 0, c->name);
	tableclass_classify(t, rule, NULL, &tc);
	unit_must(tc.enumerable, c->name);
	s = tablesnap_new(t, (const char *const *)tc.key_attrs,
	    tc.nkey_attrs, rule, NULL);
	for (size_t i = 0; i < 8 && c->entries[i]; i++)
		add_entry(s, c->entries[i]);
	if (c->cover)
		tablesnap_cover(s, c->cover);
	(void)tablesnap_unresolved(s, dn_read, &dns);
	snprintf(name, sizeof(name), "%s: DNs to read", c->name);
	CHECK_STR(name, buf_str(&dns), c->unresolved);
	got[0] = '\0';
	if (tablesnap_answers(s, emit, &o, err, sizeof(err)) < 0) {
		snprintf(got, sizeof(got), "cannot: %s", err);
	} else {
		qsort(o.line, o.n, sizeof(o.line[0]), cmp_line);
		for (size_t i = 0; i < o.n && n < sizeof(got); i++)
			n += (size_t)snprintf(got + n, sizeof(got) - n,
			    "%s\n", o.line[i]);
	}
	for (size_t i = 0; i < o.n; i++)
		free(o.line[i]);
	CHECK_STR(c->name, got, c->want);
	buf_free(&dns);
	tablesnap_free(s);
	tableclass_free(&tc);
	ldaptable_free(t);
}

/* ---- the key index, whatever its hash: many entries against a
 * brute-force reading of the howto's alias filter ---- */

struct lines {
	char **v;
	size_t n, cap;
};

static void
lines_add(struct lines *l, char *line)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		unit_must(l->v != NULL, "realloc");
	}
	l->v[l->n++] = line;
}

static void
lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void
emit_all(const char *key, size_t klen, enum tablesnap_kind kind,
    const char *val, size_t vlen, void *arg)
{
	char *line;

	unit_must(asprintf(&line, "%.*s|%s|%.*s", (int)klen, key,
	    kind == TABLESNAP_FOUND ? "FOUND" : "TEMP", (int)vlen, val) >= 0,
	    "asprintf");
	lines_add(arg, line);
}

#define NENT	1500

struct rentry {
	char mail[40];
	char alt[2][40];
	int nalt;
	int active;
};

static unsigned long rnd_state = 12345;

static unsigned
rnd(unsigned n)
{
	rnd_state = rnd_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)((rnd_state >> 33) % n);
}

/* An address from a small pool, so that entries share them, spelled
 * in one of the ways that fold or prepare to it, or that only coarse()
 * confuses with it ("a-b" and "ab"). */
static void
raddr(char *out, size_t sz)
{
	unsigned n = rnd(400);
	char local[20];
	size_t k = 0;

	snprintf(local, sizeof(local), "u%u%s", n, rnd(5) == 0 ? "-x" :
	    rnd(5) == 0 ? "x" : "");
	for (size_t i = 0; local[i]; i++)
		local[k++] = rnd(4) == 0 ? (char)(local[i] >= 'a' &&
		    local[i] <= 'z' ? local[i] - 32 : local[i]) : local[i];
	local[k] = '\0';
	snprintf(out, sz, "%s%s@D%u.test%s", rnd(8) == 0 ? " " : "", local,
	    n % 3, rnd(8) == 0 ? "  " : "");
}

static void
prep(const char *v, struct buf *b)
{
	unit_must(mr_prep_fold(v, strlen(v), b) == 0, v);
}

/* The answer of each key the entries read give (all: inactive ones
 * too), as slapd and Postfix would answer it: the mail of every active
 * entry with a value equal to the key under caseIgnoreIA5Match, in
 * read order. */
static void
oracle(const struct rentry *e, int all, struct lines *out)
{
	struct buf k = BUF_INIT, pk = BUF_INIT, ans = BUF_INIT;
	struct lines keys = { NULL, 0, 0 };
	char (*pv)[3][40] = calloc(NENT, sizeof(*pv));	/* prepared */

	unit_must(pv != NULL, "calloc");
	for (size_t i = 0; i < NENT; i++) {
		const char *vals[3] = { e[i].mail, e[i].alt[0], e[i].alt[1] };

		for (int j = 0; j < 1 + e[i].nalt; j++) {
			prep(vals[j], &k);
			snprintf(pv[i][j], sizeof(pv[i][j]), "%s", buf_str(&k));
		}
	}

	for (size_t i = 0; i < NENT; i++) {
		const char *vals[3] = { e[i].mail, e[i].alt[0], e[i].alt[1] };

		for (int j = 0; j < 1 + e[i].nalt && (all || e[i].active);
		    j++) {
			char *lo = strdup(vals[j]);

			unit_must(lo != NULL, "strdup");
			for (char *p = lo; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p += 32;
			lines_add(&keys, lo);
			prep(vals[j], &k);
			lines_add(&keys, strdup(buf_str(&k)));
		}
	}
	qsort(keys.v, keys.n, sizeof(*keys.v), cmp_line);
	for (size_t x = 0; x < keys.n; x++) {
		char *line;

		if (x > 0 && strcmp(keys.v[x], keys.v[x - 1]) == 0)
			continue;
		prep(keys.v[x], &pk);
		buf_reset(&ans);
		for (size_t i = 0; i < NENT; i++) {
			int eq = 0;

			for (int j = 0; j < 1 + e[i].nalt && !eq; j++)
				eq = strcmp(pv[i][j], buf_str(&pk)) == 0;
			if (!eq || !e[i].active)
				continue;
			if (ans.len > 0)
				buf_putc(&ans, ',');
			buf_puts(&ans, e[i].mail);
		}
		if (ans.len == 0)
			continue;
		unit_must(asprintf(&line, "%s|FOUND|%s", keys.v[x],
		    buf_str(&ans)) >= 0, "asprintf");
		lines_add(out, line);
	}
	lines_free(&keys);
	buf_free(&k);
	buf_free(&pk);
	free(pv);
	buf_free(&ans);
}

/* text: the table; all: the inactive entries are candidates too (the
 * read filter does not decide accountStatus) */
static void
index_any_hash(const char *text, int all)
{
	static const int bits[] = { 1, 2, 5, 33, 64 };
	struct rentry *e = calloc(NENT, sizeof(*e));
	struct lines want = { NULL, 0, 0 };
	struct ldaptable *t;
	struct tableclass tc;
	char err[400];
	size_t shared = 0;

	unit_must(e != NULL, "calloc");
	for (size_t i = 0; i < NENT; i++) {
		raddr(e[i].mail, sizeof(e[i].mail));
		e[i].nalt = (int)rnd(3);
		for (int j = 0; j < e[i].nalt; j++)
			raddr(e[i].alt[j], sizeof(e[i].alt[j]));
		e[i].active = rnd(4) != 0;
	}
	oracle(e, all, &want);
	qsort(want.v, want.n, sizeof(*want.v), cmp_line);
	for (size_t i = 0; i < want.n; i++)
		shared += strchr(strchr(want.v[i], '|') + 7, ',') != NULL;
	CHECK("index: the directory shares keys between entries",
	    want.n > 500 && shared > 50);
	unit_must(ldaptable_parse("t.cf", text, strlen(text), &t, err,
	    sizeof(err)) == 0, err);
	tableclass_classify(t, rule, NULL, &tc);
	for (size_t b = 0; b < sizeof(bits) / sizeof(bits[0]); b++) {
		struct tablesnap *s = tablesnap_new(t,
		    (const char *const *)tc.key_attrs, tc.nkey_attrs, rule,
		    NULL);
		struct lines got = { NULL, 0, 0 };
		char name[100];
		size_t same = 0;

		tablesnap_index_bits(s, bits[b]);
		for (size_t i = 0; i < NENT; i++) {
			char dn[40];
			struct mr_value v;
			const char *st = e[i].active ? (i % 2 ? "active" :
			    "Shared") : "disabled";

			if (!e[i].active && !all)
				continue;	/* the read does not find it */
			snprintf(dn, sizeof(dn), "uid=%zu,o=x", i);
			tablesnap_entry(s, dn, 1);
			v.p = e[i].mail;
			v.len = strlen(e[i].mail);
			tablesnap_attr(s, "mail", 4, &v, 1);
			if (e[i].nalt > 0) {
				struct mr_value av[2];

				for (int j = 0; j < e[i].nalt; j++) {
					av[j].p = e[i].alt[j];
					av[j].len = strlen(e[i].alt[j]);
				}
				tablesnap_attr(s, "mailAlternateAddress", 20,
				    av, (size_t)e[i].nalt);
			}
			v.p = st;
			v.len = strlen(st);
			tablesnap_attr(s, "accountStatus", 13, &v, 1);
		}
		snprintf(name, sizeof(name), "index of %d hash bits%s: "
		    "answers", bits[b], all ? ", every test here" : "");
		CHECK(name, tablesnap_answers(s, emit_all, &got, err,
		    sizeof(err)) == 0);
		qsort(got.v, got.n, sizeof(*got.v), cmp_line);
		for (size_t i = 0, shown = 0; i < got.n && i < want.n; i++) {
			if (strcmp(got.v[i], want.v[i]) == 0)
				same++;
			else if (shown++ < 3)	/* the first differences */
				printf("# got  %s\n# want %s\n", got.v[i],
				    want.v[i]);
		}
		snprintf(name, sizeof(name), "index of %d hash bits%s: %zu "
		    "answers, %zu as brute force reads them, of %zu", bits[b],
		    all ? ", every test here" : "", got.n, same, want.n);
		CHECK(name, got.n == want.n && same == want.n);
		lines_free(&got);
		tablesnap_free(s);
	}
	lines_free(&want);
	tableclass_free(&tc);
	ldaptable_free(t);
	free(e);
}

static void
read_filter(const char *filter, const char *want)
{
	char text[600], err[300];
	struct ldaptable *t;
	struct buf b = BUF_INIT;

	snprintf(text, sizeof(text), "search_base = o=x\nquery_filter = "
	    "%s\n", filter);
	unit_must(ldaptable_parse("t.cf", text, strlen(text), &t, err,
	    sizeof(err)) == 0, filter);
	tablesnap_read_filter(t, &b);
	CHECK_STR(filter, buf_str(&b), want);
	buf_free(&b);
	ldaptable_free(t);
}

static void
read_attrs(const char *table, const char *want)
{
	char text[600], err[300];
	struct ldaptable *t;
	struct buf b = BUF_INIT;
	const char **v;

	snprintf(text, sizeof(text), "search_base = o=x\n%s", table);
	unit_must(ldaptable_parse("t.cf", text, strlen(text), &t, err,
	    sizeof(err)) == 0, table);
	v = tablesnap_read_attrs(t);
	for (size_t i = 0; v[i]; i++)
		buf_printf(&b, "%s%s", i ? "," : "", v[i]);
	CHECK_STR(table, buf_str(&b), want);
	free(v);
	buf_free(&b);
	ldaptable_free(t);
}

static void
dn_norm(const char *dn, const char *want)
{
	struct buf b = BUF_INIT;
	char name[300];

	snprintf(name, sizeof(name), "mr_dn_norm %s", dn);
	if (mr_dn_norm(dn, strlen(dn), &b) < 0)
		CHECK_STR(name, "-1", want);
	else
		CHECK_STR(name, buf_str(&b), want);
	buf_free(&b);
}

int
main(void)
{
	struct buf b = BUF_INIT;

	read_filter("(&(|(mail=%s)(mailAlternateAddress=%s))"
	    "(accountStatus=active))", "(&(|(mail=*)(mailAlternateAddress=*))"
	    "(accountStatus=active))");
	read_filter("(&(mail=%s)(!(uid=%u))(!(uid=x)))",
	    "(&(mail=*)(objectClass=*)(!(uid=x)))");
	read_filter("mail=%s", "(mail=*)");
	read_attrs("query_filter = (&(|(mail=%s)(mailAlternateAddress=%s))"
	    "(accountStatus=active))\nresult_attribute = mail\n",
	    "mail,mailAlternateAddress");
	read_attrs("query_filter = (|(&(mail=%s)(accountStatus=active))"
	    "(uid=%s))\nresult_attribute = cn\n", "cn,mail,accountStatus,uid");
	read_attrs("query_filter = (&(mail=%s)(accountStatus=\\25s))\n"
	    "result_attribute = cn\n", "cn,mail,accountStatus");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	index_any_hash("search_base = o=x\nquery_filter = (&(|(mail=%s)"
	    "(mailAlternateAddress=%s))(|(accountStatus=active)"
	    "(accountStatus=shared)))\nresult_attribute = mail\n", 0);
	index_any_hash("search_base = o=x\nquery_filter = (|(&(mail=%s)"
	    "(|(accountStatus=active)(accountStatus=shared)))"
	    "(&(mailAlternateAddress=%s)(|(accountStatus=active)"
	    "(accountStatus=shared))))\nresult_attribute = mail\n", 1);

	dn_norm("uid=Alice, ou=People,O=x", "uid=alice,ou=people,o=x,");
	dn_norm("commonName=A\\2cB,o=x", "cn=a\\2cb,o=x,");
	dn_norm("cn=a+uid=b,o=x", "-1");
	dn_norm("2.5.4.3=a,o=x", "-1");
	dn_norm("jvd=a,o=x", "-1");
	dn_norm("cn=M\xc3\xbc,o=x", "-1");
	dn_norm("not a dn", "-1");
	dn_norm("", "");

	CHECK("mr_prep_fold", mr_prep_fold("  A\tB  c ", 9, &b) == 0 &&
	    strcmp(buf_str(&b), "a b c") == 0);
	CHECK("mr_prep_fold non-ASCII", mr_prep_fold("\xc3\xbc", 2, &b) < 0);
	CHECK("mr_key_class", mr_key_class("caseIgnoreIA5Match") ==
	    MR_KEY_ASCII && mr_key_class("2.5.13.17") == MR_KEY_ASCII &&
	    mr_key_class("caseIgnoreMatch") == MR_KEY_ASCII_ONLY &&
	    mr_key_class("telephoneNumberMatch") == MR_KEY_NO &&
	    mr_key_class("integerMatch") == MR_KEY_NO &&
	    mr_key_class(NULL) == MR_KEY_NO);
	buf_free(&b);

	CHECK("complete: an address", tablesnap_key_complete("a b@x", 5));
	CHECK("not complete: leading space",
	    !tablesnap_key_complete(" a@x", 4));
	CHECK("not complete: trailing space",
	    !tablesnap_key_complete("a@x ", 4));
	CHECK("not complete: double space",
	    !tablesnap_key_complete("a  b@x", 6));
	CHECK("not complete: non-ASCII",
	    !tablesnap_key_complete("\xc3\xbc@x", 4));
	CHECK("not complete: uppercase", !tablesnap_key_complete("A@x", 3));
	CHECK("not complete: empty", !tablesnap_key_complete("", 0));
	return unit_done();
}
