/*
 * t_plan: case tables for maildirmake/plan (entries -> objects), no I/O.
 *
 * Each case is a small directory written as entry lines and the exact
 * plan expected, one object per line ("KIND PATH [ARG]"), plus which
 * entries are refused.  Also: the script's known bugs (second and third
 * subscriber, two shared folders for one person, spaces, UTF-8), every
 * unsafe value, clashes between entries whatever their order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/ldapconn.h"
#include "maildirmake/plan.h"
#include "tests/unit/unit.h"

/* An entry described by strings; "|" separates values of one attribute
 * (NULL: none). */
struct spec {
	const char *dn, *status, *mms, *uid, *cn, *pob, *see;
};

static struct layout_val *
vals(const char *s, size_t *n)
{
	struct layout_val *v = NULL;
	const char *p, *bar;

	*n = 0;
	if (s == NULL)
		return NULL;
	for (p = s;; p = bar + 1) {
		bar = strchr(p, '|');
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[*n].len = bar ? (size_t)(bar - p) : strlen(p);
		v[*n].p = xstrndup(p, v[*n].len);
		(*n)++;
		if (bar == NULL)
			break;
	}
	return v;
}

static void
mk(struct mdm_entry *e, const struct spec *s)
{
	struct layout_val *see;

	memset(e, 0, sizeof(*e));
	e->dn = xstrdup(s->dn);
	e->ndn = ldapconn_dn_normalize(s->dn);
	e->status = vals(s->status, &e->n_status);
	e->mms = vals(s->mms, &e->n_mms);
	e->uid = vals(s->uid, &e->n_uid);
	e->cn = vals(s->cn, &e->n_cn);
	e->pob = vals(s->pob, &e->n_pob);
	see = vals(s->see, &e->n_see);
	if (e->n_see) {
		e->see = xcalloc(e->n_see, sizeof(char *));
		for (size_t i = 0; i < e->n_see; i++) {
			e->see[i] = ldapconn_dn_normalize(see[i].p);
			free(see[i].p);
		}
	}
	free(see);
}

static void
fv(struct layout_val *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].p);
	free(v);
}

static void
unmk(struct mdm_entry *e)
{
	free(e->dn);
	free(e->ndn);
	fv(e->status, e->n_status);
	fv(e->mms, e->n_mms);
	fv(e->uid, e->n_uid);
	fv(e->cn, e->n_cn);
	fv(e->pob, e->n_pob);
	for (size_t i = 0; i < e->n_see; i++)
		free(e->see[i]);
	free(e->see);
}

static const char *const kinds[] = { "dir", "maildir", "sharable",
	"folder", "link", "line" };

/* The plan as text, one object per line. */
static void
plan_text(const struct mdm_plan *pl, struct buf *b)
{
	for (size_t i = 0; i < mdm_plan_nobj(pl); i++) {
		const struct mdm_obj *o = mdm_plan_obj(pl, i);

		buf_printf(b, "%s %s", kinds[o->kind], o->path);
		if (o->kind == MDM_LINK)
			buf_printf(b, " -> %s", o->arg);
		else if (o->kind == MDM_SUBSCRIBE)
			buf_printf(b, " %.*s", (int)strlen(o->arg) - 1, o->arg);
		buf_putc(b, '\n');
	}
}

/* Refused entries as "i,j,k". */
static void
refused_text(const struct mdm_plan *pl, struct buf *b)
{
	size_t last = MDM_NONE;

	for (size_t i = 0; i < mdm_plan_nproblems(pl); i++) {
		const struct mdm_problem *p = mdm_plan_problem(pl, i);

		if (p->entry == last)
			continue;
		buf_printf(b, "%s%zu", b->len ? "," : "", p->entry);
		last = p->entry;
	}
}

static const struct mdm_params vmail = { "/vmail", "shared",
	"shared.maildirs", NULL };

struct pcase {
	const char *name;
	struct spec e[6];
	size_t n;
	const char *want;	/* the plan */
	const char *refused;	/* entries refused */
	const char *problem;	/* a part of the first problem's text */
};

#define BASEDIRS "dir /vmail/shared\ndir /vmail/shared.maildirs\n"
#define TT "cn=Timetravel weekly,ou=Tokelau,o=company"
#define TTS "/vmail/shared.maildirs/timetravel.weekly"

static const struct pcase cases[] = {
	{ "howto example", {
	    { "cn=Albert Onestone, ou=Tokelau, o=company", "active",
	      "/vmail/albert.onestone/Maildir/", "onestonea",
	      "Albert Onestone", NULL, TT },
	    { "cn=Seven of Nine, ou=Tokelau, o=company", "active",
	      "/vmail/seven.of.nine/Maildir/", "nines", "Seven of Nine", NULL,
	      TT },
	    { "cn=Timetravel weekly, ou=Tokelau, o=company", "shared",
	      "/vmail/shared/timetravel.weekly/incoming/", "incoming",
	      "Timetravel weekly", "past.editions|future.editions", NULL },
	  }, 3,
	  BASEDIRS
	  "dir /vmail/albert.onestone\n"
	  "maildir /vmail/albert.onestone/Maildir\n"
	  "dir /vmail/seven.of.nine\n"
	  "maildir /vmail/seven.of.nine/Maildir\n"
	  "sharable " TTS "\n"
	  "folder " TTS "/.incoming\n"
	  "folder " TTS "/.past.editions\n"
	  "folder " TTS "/.future.editions\n"
	  "dir /vmail/shared/timetravel.weekly\n"
	  "link /vmail/shared/timetravel.weekly/incoming -> " TTS
	  "/.incoming\n"
	  "line /vmail/albert.onestone/Maildir Timetravel_weekly\t" TTS "\n"
	  "line /vmail/seven.of.nine/Maildir Timetravel_weekly\t" TTS "\n",
	  "", NULL },

	{ "third subscriber gets its line too", {
	    { "cn=a,o=c", "active", "/vmail/a/", NULL, "a", NULL, "cn=t,o=c" },
	    { "cn=b,o=c", "active", "/vmail/b/", NULL, "b", NULL, "cn=t,o=c" },
	    { "cn=c,o=c", "active", "/vmail/c/", NULL, "c", NULL,
	      "CN=T, O=C" },
	    { "cn=t,o=c", "shared", "/vmail/shared/t/in/", "in", "T", NULL,
	      NULL },
	  }, 4,
	  BASEDIRS
	  "maildir /vmail/a\nmaildir /vmail/b\nmaildir /vmail/c\n"
	  "sharable /vmail/shared.maildirs/t\n"
	  "folder /vmail/shared.maildirs/t/.in\n"
	  "dir /vmail/shared/t\n"
	  "link /vmail/shared/t/in -> /vmail/shared.maildirs/t/.in\n"
	  "line /vmail/a T\t/vmail/shared.maildirs/t\n"
	  "line /vmail/b T\t/vmail/shared.maildirs/t\n"
	  "line /vmail/c T\t/vmail/shared.maildirs/t\n", "", NULL },

	{ "one person, two shared folders; spaces and utf-8", {
	    { "cn=Ann Lee,ou=x x,o=c", "Active", "/vmail/ann lee/Mail dir/",
	      NULL, "Ann", NULL, "cn=s1,o=c|cn=Zeit reise,o=c" },
	    { "cn=s1,o=c", "SHARED", "/vmail/shared/s 1/in box/", "in box",
	      "Team. A/B", "Caf\xc3\xa9", NULL },
	    { "cn=Zeit reise,o=c", "shared", "/vmail/shared/zr/incoming/",
	      "incoming", "Zeitreise w\xc3\xb6" "chentlich  x", NULL, NULL },
	  }, 3,
	  BASEDIRS
	  "dir /vmail/ann lee\n"
	  "maildir /vmail/ann lee/Mail dir\n"
	  "sharable /vmail/shared.maildirs/s 1\n"
	  "folder /vmail/shared.maildirs/s 1/.in box\n"
	  "folder /vmail/shared.maildirs/s 1/.Caf\xc3\xa9\n"
	  "dir /vmail/shared/s 1\n"
	  "link /vmail/shared/s 1/in box -> /vmail/shared.maildirs/s 1/.in box\n"
	  "sharable /vmail/shared.maildirs/zr\n"
	  "folder /vmail/shared.maildirs/zr/.incoming\n"
	  "dir /vmail/shared/zr\n"
	  "link /vmail/shared/zr/incoming -> /vmail/shared.maildirs/zr/"
	  ".incoming\n"
	  "line /vmail/ann lee/Mail dir Team__A_B\t/vmail/shared.maildirs/s 1\n"
	  "line /vmail/ann lee/Mail dir Zeitreise_w\xc3\xb6" "chentlich__x\t"
	  "/vmail/shared.maildirs/zr\n", "", NULL },

	{ "inactive gets nothing, not even its subscription", {
	    { "cn=a,o=c", "inactive", "/vmail/a/", NULL, "a", NULL,
	      "cn=t,o=c" },
	    { "cn=t,o=c", "shared", "/vmail/shared/t/in/", "in", "T", NULL,
	      NULL },
	    { "cn=b,o=c", "active", "/vmail/b/", NULL, "b", NULL,
	      "cn=nothere,o=c|cn=a,o=c" },
	  }, 3,
	  BASEDIRS
	  "maildir /vmail/b\n"
	  "sharable /vmail/shared.maildirs/t\n"
	  "folder /vmail/shared.maildirs/t/.in\n"
	  "dir /vmail/shared/t\n"
	  "link /vmail/shared/t/in -> /vmail/shared.maildirs/t/.in\n", "",
	  NULL },

	{ "mailMessageStore outside mail_base", {
	    { "cn=bad,o=c", "active", "/etc/cron.d/", NULL, NULL, NULL, NULL },
	    { "cn=good,o=c", "active", "/vmail/good/", NULL, NULL, NULL,
	      NULL },
	  }, 2, BASEDIRS "maildir /vmail/good\n", "0", "not inside" },

	{ "mailMessageStore with ..", {
	    { "cn=bad,o=c", "active", "/vmail/../etc/", NULL, NULL, NULL,
	      NULL },
	  }, 1, BASEDIRS, "0", "normalized" },

	{ "mailMessageStore prefix of mail_base", {
	    { "cn=bad,o=c", "active", "/vmailx/a/", NULL, NULL, NULL, NULL },
	  }, 1, BASEDIRS, "0", "not inside" },

	{ "mailMessageStore relative", {
	    { "cn=bad,o=c", "active", "vmail/a/", NULL, NULL, NULL, NULL },
	  }, 1, BASEDIRS, "0", "absolute" },

	{ "mailMessageStore without trailing slash", {
	    { "cn=bad,o=c", "active", "/vmail/a", NULL, NULL, NULL, NULL },
	  }, 1, BASEDIRS, "0", "does not end" },

	{ "mailMessageStore is mail_base", {
	    { "cn=bad,o=c", "active", "/vmail/", NULL, NULL, NULL, NULL },
	  }, 1, BASEDIRS, "0", "not inside" },

	{ "two mailMessageStore values", {
	    { "cn=bad,o=c", "active", "/vmail/a/|/vmail/b/", NULL, NULL, NULL,
	      NULL },
	  }, 1, BASEDIRS, "0", "2 mailMessageStore" },

	{ "mailMessageStore with a newline", {
	    { "cn=bad,o=c", "active", "/vmail/a\n/", NULL, NULL, NULL, NULL },
	  }, 1, BASEDIRS, "0", "control" },

	{ "postOfficeBox ../../x refuses the whole shared entry", {
	    { "cn=t,o=c", "shared", "/vmail/shared/t/in/", "in", "T",
	      "ok|../../x", NULL },
	    { "cn=a,o=c", "active", "/vmail/a/", NULL, NULL, NULL,
	      "cn=t,o=c" },
	  }, 2, BASEDIRS "maildir /vmail/a\n", "0", "postOfficeBox" },

	{ "uid with a slash", {
	    { "cn=t,o=c", "shared", "/vmail/shared/t/in/", "a/b", "T", NULL,
	      NULL },
	  }, 1, BASEDIRS, "0", "contains \"/\"" },

	{ "uid ..", {
	    { "cn=t,o=c", "shared", "/vmail/shared/t/in/", "..", "T", NULL,
	      NULL },
	  }, 1, BASEDIRS, "0", "uid" },

	{ "postOfficeBox with a leading dot", {
	    { "cn=t,o=c", "shared", "/vmail/shared/t/in/", "in", "T", ".x",
	      NULL },
	  }, 1, BASEDIRS, "0", "starts with" },

	{ "shared entry outside shared_dir", {
	    { "cn=t,o=c", "shared", "/vmail/elsewhere/t/in/", "in", "T", NULL,
	      NULL },
	  }, 1, BASEDIRS, "0", "is not under /vmail/shared/" },

	{ "shared entry one level below shared_dir", {
	    { "cn=t,o=c", "shared", "/vmail/shared/in/", "in", "T", NULL,
	      NULL },
	  }, 1, BASEDIRS, "0", "lies directly in /vmail/shared/" },

	{ "shared entry without cn", {
	    { "cn=t,o=c", "shared", "/vmail/shared/t/in/", "in", NULL, NULL,
	      NULL },
	  }, 1, BASEDIRS, "0", "no cn" },

	{ "shared entry with a newline in cn", {
	    { "cn=t,o=c", "shared", "/vmail/shared/t/in/", "in", "a\nb", NULL,
	      NULL },
	  }, 1, BASEDIRS, "0", "control" },

	{ "shared entry with two uids", {
	    { "cn=t,o=c", "shared", "/vmail/shared/t/in/", "in|out", "T",
	      NULL, NULL },
	  }, 1, BASEDIRS, "0", "2 uid" },

	{ "a maildir inside another maildir: all three refused", {
	    { "cn=b,o=c", "active", "/vmail/a/b/", NULL, NULL, NULL, NULL },
	    { "cn=a,o=c", "active", "/vmail/a/", NULL, NULL, NULL, NULL },
	    { "cn=c,o=c", "active", "/vmail/a/c/", NULL, NULL, NULL, NULL },
	    { "cn=d,o=c", "active", "/vmail/d/", NULL, NULL, NULL, NULL },
	  }, 4, BASEDIRS "maildir /vmail/d\n", "0,1,2", "/vmail/a" },

	{ "the same, other order", {
	    { "cn=a,o=c", "active", "/vmail/a/", NULL, NULL, NULL, NULL },
	    { "cn=d,o=c", "active", "/vmail/d/", NULL, NULL, NULL, NULL },
	    { "cn=c,o=c", "active", "/vmail/a/c/", NULL, NULL, NULL, NULL },
	    { "cn=b,o=c", "active", "/vmail/a/b/", NULL, NULL, NULL, NULL },
	  }, 4, BASEDIRS "maildir /vmail/d\n", "0,2,3", "/vmail/a" },

	{ "two people, one maildir: one object", {
	    { "cn=a,o=c", "active", "/vmail/x/", NULL, NULL, NULL, NULL },
	    { "cn=b,o=c", "active", "/vmail/x/", NULL, NULL, NULL, NULL },
	  }, 2, BASEDIRS "maildir /vmail/x\n", "", NULL },

	{ "a maildir where a delivery link belongs", {
	    { "cn=a,o=c", "active", "/vmail/shared/t/in/", NULL, NULL, NULL,
	      NULL },
	    { "cn=t,o=c", "shared", "/vmail/shared/t/in/", "in", "T", NULL,
	      NULL },
	    { "cn=b,o=c", "active", "/vmail/b/", NULL, NULL, NULL, NULL },
	  }, 3, BASEDIRS "maildir /vmail/b\n", "0,1", "delivery link" },

	{ "a maildir that is mail_base/shared", {
	    { "cn=a,o=c", "active", "/vmail/shared/", NULL, NULL, NULL,
	      NULL },
	  }, 1, BASEDIRS, "0", "ldap-maildirmake itself" },

	{ "one nickname for two shared maildirs in one maildir", {
	    { "cn=a,o=c", "active", "/vmail/a/", NULL, NULL, NULL,
	      "cn=t1,o=c|cn=t2,o=c" },
	    { "cn=t1,o=c", "shared", "/vmail/shared/t1/in/", "in", "a b",
	      NULL, NULL },
	    { "cn=t2,o=c", "shared", "/vmail/shared/t2/in/", "in", "a.b",
	      NULL, NULL },
	  }, 3,
	  BASEDIRS
	  "sharable /vmail/shared.maildirs/t1\n"
	  "folder /vmail/shared.maildirs/t1/.in\n"
	  "dir /vmail/shared/t1\n"
	  "link /vmail/shared/t1/in -> /vmail/shared.maildirs/t1/.in\n"
	  "sharable /vmail/shared.maildirs/t2\n"
	  "folder /vmail/shared.maildirs/t2/.in\n"
	  "dir /vmail/shared/t2\n"
	  "link /vmail/shared/t2/in -> /vmail/shared.maildirs/t2/.in\n", "0",
	  "nickname \"a_b\" for two" },

	{ "postOfficeBox equal to uid: one folder", {
	    { "cn=t,o=c", "shared", "/vmail/shared/t/in/", "in", "T", "in",
	      NULL },
	  }, 1,
	  BASEDIRS
	  "sharable /vmail/shared.maildirs/t\n"
	  "folder /vmail/shared.maildirs/t/.in\n"
	  "dir /vmail/shared/t\n"
	  "link /vmail/shared/t/in -> /vmail/shared.maildirs/t/.in\n", "",
	  NULL },

	{ "deeper shared path", {
	    { "cn=t,o=c", "shared", "/vmail/shared/a/b/in/", "in", "T", NULL,
	      NULL },
	  }, 1,
	  BASEDIRS
	  "dir /vmail/shared.maildirs/a\n"
	  "sharable /vmail/shared.maildirs/a/b\n"
	  "folder /vmail/shared.maildirs/a/b/.in\n"
	  "dir /vmail/shared/a\n"
	  "dir /vmail/shared/a/b\n"
	  "link /vmail/shared/a/b/in -> /vmail/shared.maildirs/a/b/.in\n", "",
	  NULL },
};

static void
run_case(const struct pcase *c)
{
	struct mdm_entry e[6];
	struct mdm_plan *pl;
	struct buf got = BUF_INIT, ref = BUF_INIT;
	char name[300];
	int order_ok = 1;

	for (size_t i = 0; i < c->n; i++)
		mk(&e[i], &c->e[i]);
	pl = mdm_plan_build(e, c->n, &vmail);
	plan_text(pl, &got);
	refused_text(pl, &ref);
	snprintf(name, sizeof(name), "%s: plan", c->name);
	CHECK_STR(name, buf_str(&got), c->want);
	snprintf(name, sizeof(name), "%s: refused entries", c->name);
	CHECK_STR(name, buf_str(&ref), c->refused);
	if (c->problem != NULL) {
		const struct mdm_problem *p = mdm_plan_problem(pl, 0);

		snprintf(name, sizeof(name), "%s: problem says \"%s\"",
		    c->name, c->problem);
		CHECK(name, p != NULL && strstr(p->text, c->problem) != NULL);
		if (p == NULL || strstr(p->text, c->problem) == NULL)
			printf("# problem: %s\n", p ? p->text : "(none)");
	}
	for (size_t i = 0; i < mdm_plan_nproblems(pl); i++)
		printf("# %s: entry %zu: %s\n", c->name,
		    mdm_plan_problem(pl, i)->entry,
		    mdm_plan_problem(pl, i)->text);
	/* Parents and needs always come first. */
	for (size_t i = 0; i < mdm_plan_nobj(pl); i++) {
		const struct mdm_obj *o = mdm_plan_obj(pl, i);

		if ((o->parent != MDM_NONE && o->parent >= i) ||
		    (o->need != MDM_NONE && o->need >= i) ||
		    strncmp(o->path, "/vmail/", 7) != 0 || o->rel != 7)
			order_ok = 0;
	}
	snprintf(name, sizeof(name), "%s: parents first, all below mail_base",
	    c->name);
	CHECK(name, order_ok);
	mdm_plan_free(pl);
	for (size_t i = 0; i < c->n; i++)
		unmk(&e[i]);
	buf_free(&got);
	buf_free(&ref);
}

static void
structure(void)
{
	const struct spec s[] = {
		{ "cn=a,o=c", "active", "/vmail/a/M/", NULL, NULL, NULL,
		  "cn=t,o=c" },
		{ "cn=t,o=c", "shared", "/vmail/shared/t/in/", "in", "T", NULL,
		  NULL },
	};
	struct mdm_entry e[2];
	struct mdm_plan *pl;
	const size_t *objs;
	size_t n, line = MDM_NONE, link = MDM_NONE;

	for (size_t i = 0; i < 2; i++)
		mk(&e[i], &s[i]);
	pl = mdm_plan_build(e, 2, &vmail);
	for (size_t i = 0; i < mdm_plan_nobj(pl); i++) {
		const struct mdm_obj *o = mdm_plan_obj(pl, i);

		if (o->kind == MDM_SUBSCRIBE)
			line = i;
		if (o->kind == MDM_LINK)
			link = i;
	}
	CHECK("line found", line != MDM_NONE);
	CHECK("line's parent is the maildir", line != MDM_NONE &&
	    mdm_plan_obj(pl, mdm_plan_obj(pl, line)->parent)->kind ==
	    MDM_MAILDIR);
	CHECK("line needs the sharable maildir", line != MDM_NONE &&
	    mdm_plan_obj(pl, mdm_plan_obj(pl, line)->need)->kind ==
	    MDM_SHARABLE);
	CHECK("link needs the uid folder", link != MDM_NONE &&
	    strcmp(mdm_plan_obj(pl, mdm_plan_obj(pl, link)->need)->path,
	    "/vmail/shared.maildirs/t/.in") == 0);
	n = mdm_plan_entry_objs(pl, 0, &objs);
	CHECK("subscriber owns maildir, parent and line", n == 3);
	n = mdm_plan_entry_objs(pl, 1, &objs);
	CHECK("shared entry owns both bases, sharable, folder, dir, link",
	    n == 6);
	CHECK("entry out of range", mdm_plan_entry_objs(pl, 9, &objs) == 0);
	mdm_plan_free(pl);
	for (size_t i = 0; i < 2; i++)
		unmk(&e[i]);
}

static void
root_base(void)
{
	const struct mdm_params root = { "/", "shared", "shared.maildirs",
	    NULL };
	const struct spec s = { "cn=a,o=c", "active", "/a/M/", NULL, NULL,
	    NULL, NULL };
	struct mdm_entry e;
	struct mdm_plan *pl;
	struct buf got = BUF_INIT;

	mk(&e, &s);
	pl = mdm_plan_build(&e, 1, &root);
	plan_text(pl, &got);
	CHECK_STR("mail_base /", buf_str(&got),
	    "dir /shared\ndir /shared.maildirs\ndir /a\nmaildir /a/M\n");
	CHECK("mail_base /: rel", mdm_plan_obj(pl, 3)->rel == 1);
	mdm_plan_free(pl);
	unmk(&e);
	buf_free(&got);
}

static void
nicknames(void)
{
	static const struct { const char *cn, *nick; } c[] = {
		{ "Timetravel weekly", "Timetravel_weekly" },
		{ "a.b/c d", "a_b_c_d" },
		{ "  ", "__" },
		{ "Zeitreise w\xc3\xb6" "chentlich", "Zeitreise_w\xc3\xb6"
		  "chentlich" },
		{ "x_y", "x_y" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *n = mdm_nickname(c[i].cn, strlen(c[i].cn));
		char name[100];

		snprintf(name, sizeof(name), "nickname %zu", i);
		CHECK_STR(name, n, c[i].nick);
		free(n);
	}
}

static void
empty(void)
{
	struct mdm_plan *pl = mdm_plan_build(NULL, 0, &vmail);
	struct buf got = BUF_INIT;

	plan_text(pl, &got);
	CHECK_STR("no entries: the two shared directories", buf_str(&got),
	    BASEDIRS);
	mdm_plan_free(pl);
	buf_free(&got);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	structure();
	root_base();
	nicknames();
	empty();
	return unit_done();
}
