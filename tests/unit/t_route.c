/*
 * t_route: the walk of `lookupd route` (lookupd/route.c) over a table
 * resolver: Postfix's order of lookups, alias expansion with its limits
 * and the "itself once" rule, loops, verdicts and exit codes, the shared
 * folder link, and the text and JSON output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/layout.h"
#include "lookupd/route.h"
#include "unit.h"

struct row {
	const char *map, *key;
	enum result res;
	const char *value;	/* FOUND */
	const char *dn;
	int unreachable;
};

struct table {
	const struct row *rows;
	size_t n;
	const char *const *maps;	/* NULL-terminated */
	const char *uid;		/* attr uid of any entry, NULL: LDAP down */
	const char *big_key;		/* answered with big_value */
	const char *big_value;
	int asked;			/* lookups made */
	const char *off_filter;		/* domains(): the filter it answers */
	const char *off_dn;		/* ... with this DN */
};

static int
t_has_map(void *ctx, const char *map)
{
	struct table *t = ctx;

	for (size_t i = 0; t->maps[i]; i++)
		if (strcmp(t->maps[i], map) == 0)
			return 1;
	return 0;
}

static void
t_lookup(void *ctx, const char *map, const char *key, struct route_answer *a)
{
	struct table *t = ctx;

	t->asked++;
	a->src = ROUTE_SRC_SNAPSHOT;
	a->age = 7;
	buf_printf(&a->snapshot, "/c/%s.cdb", map);
	if (t->big_key && strcmp(map, "alias") == 0 &&
	    strcasecmp(key, t->big_key) == 0) {
		a->res = RES_FOUND;
		buf_puts(&a->value, t->big_value);
		buf_puts(&a->key, key);
		a->dn_known = 1;
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct row *r = &t->rows[i];

		if (strcmp(r->map, map) != 0 || strcasecmp(r->key, key) != 0)
			continue;
		a->res = r->res;
		a->unreachable = r->unreachable;
		if (r->res == RES_FOUND) {
			buf_puts(&a->value, r->value);
			buf_puts(&a->key, r->key);
		}
		if (r->res == RES_TEMP)
			snprintf(a->err, sizeof(a->err), "%s",
			    r->unreachable ? "Can't contact LDAP server" :
			    "key has 2 values in a single-valued map");
		if (r->dn) {
			buf_puts(&a->dns, r->dn);
			a->dn_known = 1;
		}
		return;
	}
	a->res = RES_NOTFOUND;
	a->src = ROUTE_SRC_LIVE;
	a->dn_known = 1;
}

static int
t_attr(void *ctx, const char *dn, const char *attr, struct buf *out,
    char *err, size_t errsz)
{
	struct table *t = ctx;

	(void)dn;
	if (t->uid == NULL || strcmp(attr, "uid") != 0) {
		snprintf(err, errsz, "LDAP down");
		return -1;
	}
	buf_puts(out, t->uid);
	return 0;
}

static int
t_domains(void *ctx, const char *filter, struct buf *out, char *err,
    size_t errsz)
{
	struct table *t = ctx;

	if (t->off_filter == NULL) {
		snprintf(err, errsz, "LDAP down");
		return -1;
	}
	if (strcmp(filter, t->off_filter) == 0)
		buf_puts(out, t->off_dn);
	return 0;
}

static const char *const builtin[] = { "domain", "alias", "mailbox", NULL };

static struct route *
walk(struct table *t, const char *addr, size_t recursion, struct buf *text,
    struct buf *json)
{
	struct route_resolver r = { t_has_map, t_lookup, t_attr, t, NULL };
	struct route_params p = { "/vmail", "shared", "shared.maildirs",
	    recursion, 1000, 1000, 0, NULL };
	struct route *rt;

	if (t->maps == NULL)
		t->maps = builtin;
	rt = route_run(&p, &r, addr);
	buf_reset(text);
	buf_reset(json);
	route_text(rt, text);
	route_json(rt, json);
	return rt;
}

static int
has_line(const struct buf *b, const char *line)
{
	size_t n = strlen(line);
	const char *p = b->p;

	while (p && (p = strstr(p, line)) != NULL) {
		if ((p == b->p || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

static int
count(const struct buf *b, const char *s)
{
	int n = 0;

	for (const char *p = buf_str(b); (p = strstr(p, s)) != NULL; p++)
		n++;
	return n;
}

static int
starts(const struct buf *b, const char *s)
{
	return strncmp(buf_str(b), s, strlen(s)) == 0;
}

#define DOM(d) { "domain", d, RES_FOUND, d, "dc=x", 0 }

static const struct row simple[] = {
	DOM("d.nu"),
	{ "alias", "a@d.nu", RES_FOUND, "a@d.nu", "cn=A,o=x", 0 },
	{ "alias", "alt@d.nu", RES_FOUND, "a@d.nu", "cn=A,o=x", 0 },
	{ "mailbox", "a@d.nu", RES_FOUND, "/vmail/a/", "cn=A,o=x", 0 },
	{ "mailbox", "alt@d.nu", RES_FOUND, "/vmail/a/", "cn=A,o=x", 0 },
	{ "mailbox", "direct@d.nu", RES_FOUND, "/vmail/direct/", "cn=D,o=x", 0 },
	{ "alias", "temp@d.nu", RES_TEMP, NULL, NULL, 1 },
	{ "alias", "twin@d.nu", RES_FOUND, "twin@d.nu", "cn=T1\ncn=T2", 0 },
	{ "mailbox", "twin@d.nu", RES_TEMP, NULL, "cn=T1\ncn=T2", 0 },
	{ "alias", "ext@d.nu", RES_FOUND, "x@remote.org", "cn=E,o=x", 0 },
	{ "alias", "two@d.nu", RES_FOUND, "a@d.nu,gone@d.nu", "cn=2,o=x", 0 },
	{ "alias", "self@d.nu", RES_FOUND, "self@d.nu, a@d.nu", "cn=S,o=x", 0 },
	{ "mailbox", "self@d.nu", RES_FOUND, "/vmail/self/", "cn=S,o=x", 0 },
	{ "alias", "dup@d.nu", RES_FOUND, "b@d.nu,c@d.nu", "cn=U,o=x", 0 },
	{ "alias", "b@d.nu", RES_FOUND, "c@d.nu", "cn=B,o=x", 0 },
	{ "alias", "c@d.nu", RES_FOUND, "c@d.nu", "cn=C,o=x", 0 },
	{ "mailbox", "c@d.nu", RES_FOUND, "/vmail/c/", "cn=C,o=x", 0 },
	{ "alias", "l1@d.nu", RES_FOUND, "l2@d.nu", "cn=L1,o=x", 0 },
	{ "alias", "l2@d.nu", RES_FOUND, "L1@d.nu", "cn=L2,o=x", 0 },
	{ "alias", "n0@d.nu", RES_FOUND, "n1@d.nu", "cn=N,o=x", 0 },
	{ "alias", "n1@d.nu", RES_FOUND, "n2@d.nu", "cn=N,o=x", 0 },
	{ "alias", "n2@d.nu", RES_FOUND, "n3@d.nu", "cn=N,o=x", 0 },
	{ "alias", "n3@d.nu", RES_FOUND, "n4@d.nu", "cn=N,o=x", 0 },
	{ "alias", "tt@d.nu", RES_FOUND, "tt@d.nu", "cn=TT,o=x", 0 },
	{ "mailbox", "tt@d.nu", RES_FOUND, "/vmail/shared/tt.weekly/incoming/",
	    "cn=TT,o=x", 0 },
	{ "alias", "lost@d.nu", RES_FOUND, "gone@d.nu", "cn=G,o=x", 0 },
	{ "domain", "down.nu", RES_TEMP, NULL, NULL, 1 },
};

static void
test_simple(void)
{
	struct table t = { simple, sizeof(simple) / sizeof(simple[0]), NULL,
	    "incoming", NULL, NULL, 0, NULL, NULL };
	struct buf text = BUF_INIT, json = BUF_INIT;
	struct route *rt;
	static const char want[] =
	    "address: alt@d.nu\n"
	    "domain d.nu: accepted\n"
	    "  key: d.nu\n"
	    "  result: found\n"
	    "  answer: d.nu\n"
	    "  source: snapshot\n"
	    "  snapshot: /c/domain.cdb\n"
	    "  age: 7 s\n"
	    "  dn: dc=x\n"
	    "alias alt@d.nu: a@d.nu\n"
	    "  key: alt@d.nu\n"
	    "  result: found\n"
	    "  answer: a@d.nu\n"
	    "  source: snapshot\n"
	    "  snapshot: /c/alias.cdb\n"
	    "  age: 7 s\n"
	    "  dn: cn=A,o=x\n"
	    "recipient alt@d.nu: accepted (in the alias map)\n"
	    "alias a@d.nu: a@d.nu (itself: final)\n"
	    "  key: a@d.nu\n"
	    "  result: found\n"
	    "  answer: a@d.nu\n"
	    "  source: snapshot\n"
	    "  snapshot: /c/alias.cdb\n"
	    "  age: 7 s\n"
	    "  dn: cn=A,o=x\n"
	    "mailbox a@d.nu: /vmail/a/\n"
	    "  key: a@d.nu\n"
	    "  result: found\n"
	    "  answer: /vmail/a/\n"
	    "  source: snapshot\n"
	    "  snapshot: /c/mailbox.cdb\n"
	    "  age: 7 s\n"
	    "  dn: cn=A,o=x\n"
	    "delivery a@d.nu: virtual(8) into /vmail/a/\n"
	    "  agent: virtual\n"
	    "  mailbox: /vmail/a/\n"
	    "verdict: deliverable\n";

	rt = walk(&t, "alt@d.nu", 1000, &text, &json);
	CHECK("alternate address: deliverable", route_exit(rt) == 0);
	CHECK_STR("alternate address: the whole text", buf_str(&text), want);
	CHECK("each lookup asked once (domain, 2 alias, mailbox)",
	    t.asked == 4);
	CHECK("json starts with the address", starts(&json,
	    "{\"address\":\"alt@d.nu\",\"steps\":[{\"step\":\"domain\","
	    "\"subject\":\"d.nu\",\"summary\":\"accepted\",\"key\":\"d.nu\","
	    "\"result\":\"found\",\"answer\":\"d.nu\",\"source\":\"snapshot\","
	    "\"snapshot\":\"/c/domain.cdb\",\"age\":7,\"dn\":[\"dc=x\"]},"));
	CHECK("json ends with the verdict", strstr(buf_str(&json),
	    "],\"verdict\":\"deliverable\",\"reason\":null}\n") != NULL);
	route_free(rt);

	rt = walk(&t, "direct@d.nu", 1000, &text, &json);
	CHECK("in mailbox only: deliverable", route_exit(rt) == 0);
	CHECK("in mailbox only: alias not found is final",
	    has_line(&text, "alias direct@d.nu: not found"));
	CHECK("in mailbox only: accepted by the mailbox map",
	    has_line(&text, "recipient direct@d.nu: accepted (in the mailbox "
	    "map)"));
	route_free(rt);

	rt = walk(&t, "x@other.org", 1000, &text, &json);
	CHECK("unknown domain: exit 1", route_exit(rt) == 1);
	CHECK("unknown domain: relay access denied", has_line(&text,
	    "reason: 454 4.7.1 <x@other.org>: Relay access denied "
	    "(other.org is not a domain of this system; 554 5.7.1 with "
	    "reject_unauth_destination)"));
	CHECK("unknown domain: rejected", has_line(&text, "verdict: rejected"));
	route_free(rt);

	rt = walk(&t, "nobody@d.nu", 1000, &text, &json);
	CHECK("unknown user: exit 1", route_exit(rt) == 1);
	CHECK("unknown user: 550", has_line(&text, "reason: 550 5.1.1 "
	    "<nobody@d.nu>: Recipient address rejected: User unknown in "
	    "virtual mailbox table"));
	route_free(rt);

	rt = walk(&t, "x@down.nu", 1000, &text, &json);
	CHECK("domain lookup needs LDAP: exit 2", route_exit(rt) == 2);
	CHECK("domain lookup needs LDAP: unknown", has_line(&text,
	    "verdict: unknown"));
	route_free(rt);

	rt = walk(&t, "temp@d.nu", 1000, &text, &json);
	CHECK("alias lookup needs LDAP: exit 2", route_exit(rt) == 2);
	CHECK("alias lookup needs LDAP: the error", has_line(&text,
	    "  error: Can't contact LDAP server"));
	route_free(rt);

	rt = walk(&t, "twin@d.nu", 1000, &text, &json);
	CHECK("directory error (not LDAP down): exit 1", route_exit(rt) == 1);
	CHECK("directory error: both DNs", has_line(&text, "  dn: cn=T1") &&
	    has_line(&text, "  dn: cn=T2"));
	route_free(rt);

	rt = walk(&t, "ext@d.nu", 1000, &text, &json);
	CHECK("alias to a remote address: deliverable", route_exit(rt) == 0);
	CHECK("remote: smtp", has_line(&text, "delivery x@remote.org: "
	    "smtp(8) to remote.org (not a domain of this system)"));
	route_free(rt);

	rt = walk(&t, "two@d.nu", 1000, &text, &json);
	CHECK("one of two recipients unknown: exit 1", route_exit(rt) == 1);
	CHECK("one of two: the reason says so", has_line(&text, "reason: "
	    "virtual(8): 5.1.1 unknown user: \"gone@d.nu\" (soft_bounce = "
	    "yes: deferred, then returned to the sender) (1 of 2 recipients "
	    "are delivered)"));
	CHECK("one of two: verdict undeliverable", has_line(&text,
	    "verdict: undeliverable"));
	route_free(rt);

	rt = walk(&t, "self@d.nu", 1000, &text, &json);
	CHECK("itself once plus another: deliverable", route_exit(rt) == 0);
	CHECK("itself once: summary", has_line(&text, "alias self@d.nu: "
	    "self@d.nu, a@d.nu (itself once: final)"));
	CHECK("itself once: both delivered", has_line(&text,
	    "delivery self@d.nu: virtual(8) into /vmail/self/") &&
	    has_line(&text, "delivery a@d.nu: virtual(8) into /vmail/a/"));
	CHECK("itself once: two recipients", has_line(&text,
	    "reason: 2 recipients"));
	route_free(rt);

	rt = walk(&t, "dup@d.nu", 1000, &text, &json);
	CHECK("duplicates: deliverable", route_exit(rt) == 0);
	CHECK("duplicates: delivered once", count(&text,
	    "delivery c@d.nu:") == 1 && count(&text, "delivery ") == 1);
	route_free(rt);

	rt = walk(&t, "l1@d.nu", 1000, &text, &json);
	CHECK("loop: exit 1", route_exit(rt) == 1);
	CHECK("loop: named", has_line(&text, "loop l1@d.nu: l1@d.nu -> "
	    "l2@d.nu -> L1@d.nu"));
	CHECK("loop: Postfix's answer", strstr(buf_str(&text),
	    "451 4.6.0 Alias expansion error") != NULL);
	route_free(rt);

	rt = walk(&t, "n0@d.nu", 3, &text, &json);
	CHECK("nesting limit: exit 1", route_exit(rt) == 1);
	CHECK("nesting limit: named", has_line(&text, "limit n0@d.nu: more "
	    "than 3 nested aliases (virtual_alias_recursion_limit)"));
	route_free(rt);

	rt = walk(&t, "tt@d.nu", 1000, &text, &json);
	CHECK("shared folder: deliverable", route_exit(rt) == 0);
	CHECK("shared folder: the link", has_line(&text,
	    "  link: /vmail/shared/tt.weekly/incoming"));
	CHECK("shared folder: the shared maildir", has_line(&text,
	    "  shared_maildir: /vmail/shared.maildirs/tt.weekly"));
	CHECK("shared folder: the target", has_line(&text,
	    "  target: /vmail/shared.maildirs/tt.weekly/.incoming"));
	CHECK("shared folder: disk not checked", has_line(&text,
	    "  on_disk: not checked"));
	CHECK("shared folder: delivery", has_line(&text, "delivery tt@d.nu: "
	    "virtual(8) into /vmail/shared/tt.weekly/incoming/, a link to "
	    "/vmail/shared.maildirs/tt.weekly/.incoming"));
	route_free(rt);

	t.uid = NULL;
	rt = walk(&t, "tt@d.nu", 1000, &text, &json);
	CHECK("shared folder, LDAP down: still deliverable",
	    route_exit(rt) == 0);
	CHECK("shared folder, LDAP down: uid unknown", has_line(&text,
	    "  folder: unknown: LDAP could not be asked (LDAP down)"));
	route_free(rt);

	rt = walk(&t, "lost@d.nu", 1000, &text, &json);
	CHECK("alias to an unknown local user: exit 1", route_exit(rt) == 1);
	route_free(rt);
	buf_free(&text);
	buf_free(&json);
}

static void
test_limits(void)
{
	struct buf big = BUF_INIT, text = BUF_INIT, json = BUF_INIT;
	static const struct row rows[] = { DOM("d.nu") };
	struct table t = { rows, 1, NULL, NULL, "big@d.nu", NULL, 0,
	    NULL, NULL };
	struct route *rt;

	for (int i = 0; i < 1000; i++)
		buf_printf(&big, "%sx%d@remote.org", i ? "," : "", i);
	t.big_value = buf_str(&big);
	rt = walk(&t, "big@d.nu", 1000, &text, &json);
	CHECK("1000 addresses: deliverable", route_exit(rt) == 0);
	CHECK("1000 addresses: 1000 recipients", has_line(&text,
	    "reason: 1000 recipients"));
	route_free(rt);

	buf_puts(&big, ",one.more@remote.org");
	t.big_value = buf_str(&big);
	rt = walk(&t, "big@d.nu", 1000, &text, &json);
	CHECK("1001 addresses: exit 1", route_exit(rt) == 1);
	CHECK("1001 addresses: expansion limit named", has_line(&text,
	    "limit big@d.nu: more than 1000 addresses "
	    "(virtual_alias_expansion_limit)"));
	CHECK("1001 addresses: Postfix's words", strstr(buf_str(&text),
	    "unreasonable virtual_alias_maps map expansion size for "
	    "big@d.nu") != NULL);
	route_free(rt);

	buf_reset(&big);
	for (int i = 0; i < 990; i++)
		buf_putc(&big, 'x');
	buf_puts(&big, "@remote.org");
	t.big_value = buf_str(&big);
	rt = walk(&t, "big@d.nu", 1000, &text, &json);
	CHECK("an address over 1000 bytes: exit 1", route_exit(rt) == 1);
	CHECK("an address over 1000 bytes: named", strstr(buf_str(&text),
	    "(virtual_alias_address_length_limit 1000)") != NULL);
	route_free(rt);
	buf_free(&big);
	buf_free(&text);
	buf_free(&json);
}

static const struct row extra_rows[] = {
	DOM("d.nu"),
	{ "mailbox", "u@d.nu", RES_FOUND, "/vmail/u/", "cn=U,o=x", 0 },
	{ "uid", "u@d.nu", RES_FOUND, "5000", "cn=U,o=x", 0 },
	{ "gid", "u@d.nu", RES_FOUND, "5000", "cn=U,o=x", 0 },
	{ "mailbox", "nogid@d.nu", RES_FOUND, "/vmail/n/", "cn=N,o=x", 0 },
	{ "uid", "nogid@d.nu", RES_FOUND, "5001", "cn=N,o=x", 0 },
	{ "mailbox", "relayed@d.nu", RES_FOUND, "/vmail/r/", "cn=R,o=x", 0 },
	{ "transport", "relayed@d.nu", RES_FOUND, "smtp:[mx.inside]",
	    "cn=R,o=x", 0 },
};

static void
test_extra_maps(void)
{
	static const char *const maps[] = { "domain", "mailbox", "uid", "gid",
	    "transport", NULL };
	struct table t = { extra_rows, sizeof(extra_rows) /
	    sizeof(extra_rows[0]), maps, NULL, NULL, NULL, 0, NULL,
	    NULL };
	struct buf text = BUF_INIT, json = BUF_INIT;
	struct route *rt;

	rt = walk(&t, "u@d.nu", 1000, &text, &json);
	CHECK("uid and gid maps: deliverable", route_exit(rt) == 0);
	CHECK("uid and gid: shown in the delivery", has_line(&text,
	    "  uid: 5000") && has_line(&text, "  gid: 5000"));
	CHECK("without an alias map: no alias step", strstr(buf_str(&text),
	    "\nalias ") == NULL);
	CHECK("transport asked by the address only, as Postfix asks a "
	    "socketmap table", has_line(&text, "transport u@d.nu: not found")
	    && strstr(buf_str(&text), "\ntransport d.nu") == NULL);
	route_free(rt);

	rt = walk(&t, "nogid@d.nu", 1000, &text, &json);
	CHECK("no gid: exit 1", route_exit(rt) == 1);
	CHECK("no gid: virtual(8)'s error", strstr(buf_str(&text),
	    "5.3.0 mail system configuration error: no gid") != NULL);
	route_free(rt);

	rt = walk(&t, "relayed@d.nu", 1000, &text, &json);
	CHECK("transport map: deliverable", route_exit(rt) == 0);
	CHECK("transport map: the delivery", has_line(&text,
	    "delivery relayed@d.nu: smtp:[mx.inside] (transport map)"));
	route_free(rt);
	buf_free(&text);
	buf_free(&json);
}

static void
test_json_escaping(void)
{
	static const struct row rows[] = { DOM("d.nu") };
	struct table t = { rows, 1, NULL, NULL, NULL, NULL, 0, NULL, NULL };
	struct buf text = BUF_INIT, json = BUF_INIT;
	struct route *rt;

	rt = walk(&t, "\"q\\\"\xff\xc3\xa9@d.nu", 1000, &text, &json);
	CHECK("json: quotes, backslashes, bad and good UTF-8",
	    starts(&json, "{\"address\":\"\\\"q\\\\\\\"\\ufffd"
	    "\xc3\xa9@d.nu\","));
	route_free(rt);
	buf_free(&text);
	buf_free(&json);
}

/* mail_base "/": stores are /shared/..., not //shared/... */
static const struct row root_base[] = {
	DOM("d.nu"),
	{ "alias", "tt@d.nu", RES_FOUND, "tt@d.nu", "cn=TT,o=x", 0 },
	{ "mailbox", "tt@d.nu", RES_FOUND, "/shared/tt.weekly/incoming/",
	    "cn=TT,o=x", 0 },
};

static void
test_root_base(void)
{
	struct table t = { root_base, sizeof(root_base) / sizeof(root_base[0]),
	    builtin, "incoming", NULL, NULL, 0, NULL, NULL };
	struct route_resolver r = { t_has_map, t_lookup, t_attr, &t, NULL };
	struct route_params p = { "/", "shared", "shared.maildirs",
	    1000, 1000, 1000, 0, NULL };
	struct buf text = BUF_INIT;
	struct route *rt = route_run(&p, &r, "tt@d.nu");

	route_text(rt, &text);
	CHECK("mail_base /: deliverable", route_exit(rt) == 0);
	CHECK("mail_base /: the link", has_line(&text,
	    "  link: /shared/tt.weekly/incoming"));
	CHECK("mail_base /: the shared maildir", has_line(&text,
	    "  shared_maildir: /shared.maildirs/tt.weekly"));
	route_free(rt);
	buf_free(&text);
}

/* The jamm, ox and apple layouts: relative mailboxes below mail_base
 * (virtual_mailbox_base = mail_base), no shared folders; a transport
 * answer naming virtual(8) ("virtual:", or ":" for a domain of ours)
 * still goes through the mailbox map, any other leaves it. */
static const struct row profile_rows[] = {
	DOM("j.example"),
	{ "transport", "john@j.example", RES_FOUND, "virtual:", "jvd=j", 0 },
	{ "alias", "pm@j.example", RES_FOUND, "john@j.example", "mail=pm", 0 },
	{ "alias", "john@j.example", RES_FOUND, "john@j.example", "mail=j",
	    0 },
	{ "mailbox", "john@j.example", RES_FOUND, "j.example/john/",
	    "mail=j", 0 },
	DOM("h.example"),
	{ "transport", "ann@h.example", RES_FOUND, "smtp:[relay.h]", "jvd=h",
	    0 },
	{ "alias", "ann@h.example", RES_FOUND, "ann@h.example", "mail=a", 0 },
	{ "mailbox", "ann@h.example", RES_FOUND, "h.example/ann/", "mail=a",
	    0 },
	DOM("e.example"),
	{ "transport", "eve@e.example", RES_FOUND, ":", "jvd=e", 0 },
	{ "alias", "eve@e.example", RES_FOUND, "eve@e.example", "mail=e", 0 },
	/* a relative path that looks like a shared store is none */
	{ "mailbox", "eve@e.example", RES_FOUND, "shared/x/y/", "mail=e", 0 },
};

static void
test_profiles(void)
{
	static const char *const maps[] = { "domain", "alias", "mailbox",
	    "transport", NULL };
	struct table t = { profile_rows, sizeof(profile_rows) /
	    sizeof(profile_rows[0]), maps, "eve", NULL, NULL, 0,
	    "(&(jvd=off\\2a.example)(!(&(objectClass=JammVirtualDomain)"
	    "(accountActive=TRUE)(!(delete=TRUE)))))", "jvd=off*.example" };
	struct route_resolver r = { t_has_map, t_lookup, t_attr, &t,
	    t_domains };
	struct route_params p = { "/srv/mail", "shared", "shared.maildirs",
	    1000, 1000, 1000, 0, NULL };
	struct buf text = BUF_INIT;
	struct route *rt;

	p.layout = layout_profile("jamm");
	rt = route_run(&p, &r, "pm@j.example");
	route_text(rt, &text);
	CHECK("jamm: an alias to an account: deliverable",
	    route_exit(rt) == 0);
	CHECK("jamm: virtual: goes on to the mailbox map", has_line(&text,
	    "mailbox john@j.example: j.example/john/"));
	CHECK("jamm: the maildir below mail_base", has_line(&text,
	    "delivery john@j.example: virtual(8) into "
	    "/srv/mail/j.example/john/ (transport map: virtual:)") &&
	    has_line(&text, "  mailbox: j.example/john/") &&
	    has_line(&text, "  path: /srv/mail/j.example/john/"));
	route_free(rt);

	buf_reset(&text);
	rt = route_run(&p, &r, "ann@Off*.Example");
	route_text(rt, &text);
	CHECK("jamm: an inactive domain entry named (filter escaped)",
	    route_exit(rt) == 1 && has_line(&text, "  note: jvd=off*.example "
	    "holds it but is no active domain: its accounts and aliases get "
	    "no mail"));
	route_free(rt);

	buf_reset(&text);
	t.off_filter = NULL;
	rt = route_run(&p, &r, "ann@off.example");
	route_text(rt, &text);
	CHECK("jamm: LDAP down for the inactive domain: said", has_line(&text,
	    "  note: LDAP could not be asked for an inactive domain entry: "
	    "LDAP down"));
	route_free(rt);

	buf_reset(&text);
	rt = route_run(&p, &r, "ann@h.example");
	route_text(rt, &text);
	CHECK("jamm: smtp:[relay] leaves virtual(8) out", route_exit(rt) == 0 &&
	    has_line(&text, "delivery ann@h.example: smtp:[relay.h] "
	    "(transport map)") && strstr(buf_str(&text), "\nmailbox ") ==
	    NULL);
	route_free(rt);

	buf_reset(&text);
	p.layout = layout_profile("ox");
	rt = route_run(&p, &r, "eve@e.example");
	route_text(rt, &text);
	CHECK("\":\" for a domain of ours: virtual(8)", route_exit(rt) == 0 &&
	    has_line(&text, "delivery eve@e.example: virtual(8) into "
	    "/srv/mail/shared/x/y/ (transport map: :)"));
	CHECK("ox: no shared folder step", strstr(buf_str(&text),
	    "\nshared ") == NULL);
	route_free(rt);

	buf_reset(&text);
	p.layout = NULL;
	p.mail_base = "/";
	rt = route_run(&p, &r, "eve@e.example");
	route_text(rt, &text);
	CHECK("mail_base /: a relative mailbox below /", has_line(&text,
	    "  path: /shared/x/y/"));
	route_free(rt);
	buf_free(&text);
}

int
main(void)
{
	test_profiles();
	test_simple();
	test_limits();
	test_extra_maps();
	test_json_escaping();
	test_root_base();
	return unit_done();
}
