/*
 * t_layout: case tables for common/layout (entry values -> paths), no I/O.
 *
 * Each case is an entry written as strings ("|" separates the values of
 * one attribute, NULL: none) and the exact layout expected as text: the
 * status, the paths, then every problem ("! " when it refuses the entry,
 * "? " when it does not).  Every rule: mail_base "/", the trailing "/",
 * relative and ".." paths refused, shared folders and their naming, each
 * status; then layout_shared_split, layout_nickname and the profiles.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/layout.h"
#include "common/mdquota.h"
#include "tests/unit/unit.h"

struct lcase {
	const char *name;
	const char *base;	/* mail_base */
	const char *status, *store, *folder, *box;
	const char *want;
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
fv(struct layout_val *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].p);
	free(v);
}

static const char *const stname[] = {
	"none", "active", "inactive", "shared", "other", "many"
};

static void
describe(const struct layout_params *prm, const struct layout *l,
    struct buf *o)
{
	buf_printf(o, "%s%s\n", stname[l->status], l->ok ? "" : " refused");
	if (l->maildir)
		buf_printf(o, "maildir %s\n", l->maildir);
	if (l->shared)
		buf_printf(o, "shared %s\n", l->shared);
	if (l->link)
		buf_printf(o, "link %s -> %s\n", l->link, l->target);
	for (size_t k = 0; k < l->nfolders; k++)
		buf_printf(o, "folder %s\n", l->folders[k]);
	for (size_t k = 0; k < l->nprob; k++) {
		buf_puts(o, l->prob[k].refuses ? "! " : "? ");
		layout_problem_text(layout_profile(NULL), prm, &l->prob[k], o);
		buf_putc(o, '\n');
	}
}

static void
run(const struct lcase *c)
{
	struct layout_params prm = { c->base, "shared", "shared.maildirs" };
	struct layout_val *st, *mms, *uid, *pob;
	struct layout_entry e;
	struct layout l;
	struct buf got = BUF_INIT;

	memset(&e, 0, sizeof(e));
	e.status = st = vals(c->status, &e.n_status);
	e.store = mms = vals(c->store, &e.n_store);
	e.folder = uid = vals(c->folder, &e.n_folder);
	e.box = pob = vals(c->box, &e.n_box);
	layout_build(layout_profile("howto"), &prm, &e, &l);
	describe(&prm, &l, &got);
	CHECK_STR(c->name, buf_str(&got), c->want);
	layout_free(&l);
	buf_free(&got);
	fv(st, e.n_status);
	fv(mms, e.n_store);
	fv(uid, e.n_folder);
	fv(pob, e.n_box);
}

static const struct lcase cases[] = {
	/* ---- statuses ---- */
	{ "active", "/vmail", "active", "/vmail/a/Maildir/", NULL, NULL,
	  "active\nmaildir /vmail/a/Maildir\n" },
	{ "status case ignored", "/vmail", "AcTiVe", "/vmail/a/", NULL, NULL,
	  "active\nmaildir /vmail/a\n" },
	{ "inactive: nothing, no problem", "/vmail", "inactive", "/vmail/a/",
	  NULL, NULL, "inactive\n" },
	{ "inactive with a bad store: noted, not refused", "/vmail",
	  "inactive", "/srv/x/", NULL, NULL,
	  "inactive\n? mailMessageStore \"/srv/x/\" is not inside mail_base "
	  "/vmail\n" },
	{ "no status: noted", "/vmail", NULL, "/vmail/a/", NULL, NULL,
	  "none\n? accountStatus is missing\n" },
	{ "unknown status: noted", "/vmail", "deleted", "/vmail/a/", NULL,
	  NULL, "other\n? accountStatus \"deleted\" is not active, inactive or "
	  "shared\n" },
	{ "two statuses: refused", "/vmail", "active|shared", "/vmail/a/",
	  NULL, NULL, "many refused\n! has 2 accountStatus values; exactly "
	  "one is allowed\n" },

	/* ---- the store ---- */
	{ "store missing", "/vmail", "active", NULL, NULL, NULL,
	  "active refused\n! mailMessageStore is missing\n" },
	{ "two stores: each checked too", "/vmail", "active",
	  "/vmail/a/|vmail/b/", NULL, NULL,
	  "active refused\n! has 2 mailMessageStore values; exactly one is "
	  "allowed\n! mailMessageStore \"vmail/b/\" is not an absolute "
	  "path\n" },
	{ "no trailing slash", "/vmail", "active", "/vmail/a", NULL, NULL,
	  "active refused\n! mailMessageStore \"/vmail/a\" does not end in "
	  "\"/\"\n" },
	{ "relative", "/vmail", "active", "vmail/a/", NULL, NULL,
	  "active refused\n! mailMessageStore \"vmail/a/\" is not an absolute "
	  "path\n" },
	{ "relative and no slash: both", "/vmail", "active", "a", NULL, NULL,
	  "active refused\n! mailMessageStore \"a\" does not end in \"/\"\n"
	  "! mailMessageStore \"a\" is not an absolute path\n" },
	{ "..", "/vmail", "active", "/vmail/x/../../etc/", NULL, NULL,
	  "active refused\n! mailMessageStore \"/vmail/x/../../etc/\" is not "
	  "normalized (holds \"//\", \".\" or \"..\")\n" },
	{ "//", "/vmail", "active", "/vmail//a/", NULL, NULL,
	  "active refused\n! mailMessageStore \"/vmail//a/\" is not "
	  "normalized (holds \"//\", \".\" or \"..\")\n" },
	{ "outside", "/vmail", "active", "/etc/cron.d/", NULL, NULL,
	  "active refused\n! mailMessageStore \"/etc/cron.d/\" is not inside "
	  "mail_base /vmail\n" },
	{ "a prefix of mail_base is outside", "/vmail", "active", "/vmailx/a/",
	  NULL, NULL, "active refused\n! mailMessageStore \"/vmailx/a/\" is "
	  "not inside mail_base /vmail\n" },
	{ "mail_base itself", "/vmail", "active", "/vmail/", NULL, NULL,
	  "active refused\n! mailMessageStore \"/vmail/\" is not inside "
	  "mail_base /vmail\n" },
	{ "control character", "/vmail", "active", "/vmail/a\tb/", NULL, NULL,
	  "active refused\n! mailMessageStore \"/vmail/a\\x09b/\" contains a "
	  "control character\n" },
	{ "reserved component", "/vmail", "active",
	  "/vmail/.ldap-maildirmake.lock/", NULL, NULL,
	  "active refused\n! mailMessageStore \"/vmail/.ldap-maildirmake.lock/\""
	  " has a component reserved for ldap-maildirmake\n" },
	{ "mail_base /", "/", "active", "/home/a/Maildir/", NULL, NULL,
	  "active\nmaildir /home/a/Maildir\n" },
	{ "mail_base /: / itself", "/", "active", "/", NULL, NULL,
	  "active refused\n! mailMessageStore \"/\" is not inside mail_base "
	  "/\n" },

	/* ---- shared ---- */
	{ "shared", "/vmail", "shared", "/vmail/shared/tt/incoming/",
	  "incoming", "archive|Zeitreise w\xc3\xb6" "chentlich",
	  "shared\nshared /vmail/shared.maildirs/tt\n"
	  "link /vmail/shared/tt/incoming -> "
	  "/vmail/shared.maildirs/tt/.incoming\n"
	  "folder /vmail/shared.maildirs/tt/.incoming\n"
	  "folder /vmail/shared.maildirs/tt/.archive\n"
	  "folder /vmail/shared.maildirs/tt/.Zeitreise w\xc3\xb6" "chentlich\n" },
	{ "shared, deeper", "/vmail", "shared", "/vmail/shared/a/b/in/",
	  "in", NULL, "shared\nshared /vmail/shared.maildirs/a/b\n"
	  "link /vmail/shared/a/b/in -> /vmail/shared.maildirs/a/b/.in\n"
	  "folder /vmail/shared.maildirs/a/b/.in\n" },
	{ "shared, mail_base /", "/", "shared", "/shared/tt/in/", "in", NULL,
	  "shared\nshared /shared.maildirs/tt\n"
	  "link /shared/tt/in -> /shared.maildirs/tt/.in\n"
	  "folder /shared.maildirs/tt/.in\n" },
	{ "shared outside shared_dir", "/vmail", "shared",
	  "/vmail/bulletin/in/", "in", NULL,
	  "shared refused\n! mailMessageStore \"/vmail/bulletin/in/\" of a "
	  "shared entry is not under /vmail/shared/\n" },
	{ "shared in shared.maildirs", "/vmail", "shared",
	  "/vmail/shared.maildirs/x/in/", "in", NULL,
	  "shared refused\n! mailMessageStore \"/vmail/shared.maildirs/x/in/\" "
	  "of a shared entry is not under /vmail/shared/\n" },
	{ "shared directly in shared_dir", "/vmail", "shared",
	  "/vmail/shared/in/", "in", NULL,
	  "shared refused\n! mailMessageStore \"/vmail/shared/in/\" of a "
	  "shared entry lies directly in /vmail/shared/ (expected "
	  "/vmail/shared/NAME/FOLDER/)\n" },
	{ "shared, mail_base /, outside", "/", "shared",
	  "/vmail/shared/t/in/", "in", NULL,
	  "shared refused\n! mailMessageStore \"/vmail/shared/t/in/\" of a "
	  "shared entry is not under /shared/\n" },
	{ "shared without a slash: both said", "/vmail", "shared",
	  "/vmail/shared/in", "in", NULL,
	  "shared refused\n! mailMessageStore \"/vmail/shared/in\" does not "
	  "end in \"/\"\n! mailMessageStore \"/vmail/shared/in\" of a shared "
	  "entry lies directly in /vmail/shared/ (expected "
	  "/vmail/shared/NAME/FOLDER/)\n" },
	{ "shared without uid", "/vmail", "shared", "/vmail/shared/t/in/",
	  NULL, NULL, "shared refused\n! shared entry has no uid (the folder "
	  "that receives mail)\n" },
	{ "shared with two uids", "/vmail", "shared", "/vmail/shared/t/in/",
	  "in|out", NULL, "shared refused\n! shared entry has 2 uid values; "
	  "exactly one is allowed\n" },
	{ "uid with a slash", "/vmail", "shared", "/vmail/shared/t/in/",
	  "a/b", NULL, "shared refused\n! uid \"a/b\" is not a valid folder "
	  "name: contains \"/\"\n" },
	{ "uid ..", "/vmail", "shared", "/vmail/shared/t/in/", "..", NULL,
	  "shared refused\n! uid \"..\" is not a valid folder name: is \".\" "
	  "or \"..\"\n" },
	{ "postOfficeBox ../../x", "/vmail", "shared", "/vmail/shared/t/in/",
	  "in", "ok|../../x", "shared refused\n! postOfficeBox \"../../x\" is "
	  "not a valid folder name: contains \"/\"\n" },
	{ "postOfficeBox with a leading dot", "/vmail", "shared",
	  "/vmail/shared/t/in/", "in", ".x", "shared refused\n! postOfficeBox "
	  "\".x\" is not a valid folder name: starts with \".\"\n" },
	{ "postOfficeBox a..b", "/vmail", "shared", "/vmail/shared/t/in/",
	  "in", "a..b", "shared refused\n! postOfficeBox \"a..b\" is not a "
	  "valid folder name: has an empty folder level (\"..\" or a "
	  "trailing \".\")\n" },
	{ "active: uid not a folder, no problem", "/vmail", "active",
	  "/vmail/shared/t/in/", "a/b", ".x",
	  "active\nmaildir /vmail/shared/t/in\n" },
};

static void
too_long(void)
{
	struct layout_params prm = { "/vmail", "shared", "shared.maildirs" };
	struct buf store = BUF_INIT, got = BUF_INIT;
	struct layout_val st = { (char *)"shared", 6 }, mms, uid;
	char name[250];
	struct layout_entry e;
	struct layout l;

	/* A store just under PATH_MAX whose folder paths are not. */
	buf_puts(&store, "/vmail/shared");
	while (store.len + 201 < PATH_MAX - 10)
		buf_puts(&store, "/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	buf_puts(&store, "/in/");
	memset(name, 'f', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	mms.p = store.p;
	mms.len = store.len;
	uid.p = name;
	uid.len = strlen(name);
	memset(&e, 0, sizeof(e));
	e.status = &st;
	e.n_status = 1;
	e.store = &mms;
	e.n_store = 1;
	e.folder = &uid;
	e.n_folder = 1;
	layout_build(layout_profile(NULL), &prm, &e, &l);
	CHECK("store near PATH_MAX: refused", !l.ok && l.nprob == 1 &&
	    l.prob[0].code == LAYOUT_FOLDERS_TOO_LONG);
	if (l.nprob == 1)
		layout_problem_text(layout_profile(NULL), &prm, &l.prob[0],
		    &got);
	CHECK("store near PATH_MAX: said", strstr(buf_str(&got),
	    "is too long for its shared folders") != NULL);
	layout_free(&l);
	/* The same with a short uid fits. */
	uid.len = 2;
	layout_build(layout_profile(NULL), &prm, &e, &l);
	CHECK("store near PATH_MAX, short uid: built", l.ok &&
	    l.nfolders == 1);
	layout_free(&l);
	buf_free(&store);
	buf_free(&got);
}

static void
split(void)
{
	static const struct {
		const char *base, *store;
		int code;
		const char *link, *shared;
	} c[] = {
		{ "/vmail", "/vmail/shared/t/in/", 0, "/vmail/shared/t/in",
		  "/vmail/smd/t" },
		{ "/vmail", "/vmail/shared/t/in", 0, "/vmail/shared/t/in",
		  "/vmail/smd/t" },
		{ "/vmail", "/vmail/shared/t/in//", 0, "/vmail/shared/t/in/",
		  "/vmail/smd/t/in" },
		{ "/vmail", "/vmail/shared/", LAYOUT_SHARED_OUTSIDE, NULL, NULL },
		{ "/vmail", "/vmail/shared", LAYOUT_SHARED_OUTSIDE, NULL, NULL },
		{ "/vmail", "/vmail/sharedx/t/in/", LAYOUT_SHARED_OUTSIDE, NULL,
		  NULL },
		{ "/vmail", "/vmail/shared/in/", LAYOUT_SHARED_FLAT, NULL,
		  NULL },
		{ "/vmail", "/vmail/shared//", LAYOUT_SHARED_FLAT, NULL, NULL },
		{ "/", "/shared/t/in/", 0, "/shared/t/in", "/smd/t" },
		{ "/", "/vmail/shared/t/in/", LAYOUT_SHARED_OUTSIDE, NULL,
		  NULL },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct layout_params prm = { c[i].base, "shared", "smd" };
		char *link, *shared, name[100];
		int r = layout_shared_split(&prm, c[i].store,
		    strlen(c[i].store), &link, &shared);

		snprintf(name, sizeof(name), "split %s", c[i].store);
		CHECK(name, r == c[i].code);
		CHECK_STR(name, link ? link : "(null)",
		    c[i].link ? c[i].link : "(null)");
		CHECK_STR(name, shared ? shared : "(null)",
		    c[i].shared ? c[i].shared : "(null)");
		free(link);
		free(shared);
	}
}

static void
nicknames(void)
{
	static const struct {
		const char *cn;
		size_t len;
		const char *nick;	/* NULL: refused */
		enum layout_code code;
	} c[] = {
		{ "Timetravel weekly", 17, "Timetravel_weekly", 0 },
		{ "a.b/c d", 7, "a_b_c_d", 0 },
		{ "  ", 2, "__", 0 },
		{ "Zeitreise w\xc3\xb6" "chentlich", 22,
		  "Zeitreise_w\xc3\xb6" "chentlich", 0 },
		{ "x_y", 3, "x_y", 0 },
		{ "", 0, NULL, LAYOUT_NICK_BAD },
		{ "a\0b", 3, NULL, LAYOUT_NICK_BAD },
		{ "\xff", 1, NULL, LAYOUT_NICK_BAD },
		{ "a\nb", 3, NULL, LAYOUT_NICK_CONTROL },
		{ "a\x7f", 2, NULL, LAYOUT_NICK_CONTROL },
	};
	struct layout_val two[2] = { { (char *)"First one", 9 },
	    { (char *)"Second", 6 } };
	struct layout_problem p;
	char *n;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct layout_val v = { (char *)c[i].cn, c[i].len };
		char name[100];

		n = layout_nickname(&v, 1, &p);
		snprintf(name, sizeof(name), "nickname %zu", i);
		if (c[i].nick == NULL) {
			CHECK(name, n == NULL && p.refuses &&
			    p.code == c[i].code);
		} else {
			CHECK_STR(name, n, c[i].nick);
		}
		free(n);
	}
	n = layout_nickname(two, 2, &p);
	CHECK_STR("nickname: the first cn", n, "First_one");
	free(n);
	n = layout_nickname(NULL, 0, &p);
	CHECK("nickname: no cn", n == NULL && p.code == LAYOUT_NICK_MISSING);
}

static void
profiles(void)
{
	const struct layout_profile *pf = layout_profile(NULL);

	CHECK("default profile is the howto's", pf != NULL &&
	    pf == layout_profile("howto") && strcmp(pf->name, "howto") == 0);
	CHECK("howto attributes", strcmp(pf->status_attr, "accountStatus") ==
	    0 && strcmp(pf->store_attr, "mailMessageStore") == 0 &&
	    strcmp(pf->folder_attr, "uid") == 0 &&
	    strcmp(pf->box_attr, "postOfficeBox") == 0 &&
	    strcmp(pf->nick_attr, "cn") == 0);
	CHECK("none: the howto's accounts", layout_profile("none") == pf);
	CHECK("unknown profile", layout_profile("nosuch") == NULL);
	CHECK("jamm, ox, apple rows", layout_profile("jamm") != NULL &&
	    layout_profile("ox") != NULL && layout_profile("apple") != NULL &&
	    strcmp(layout_profile("jamm")->store_attr, "mailbox") == 0);
}

/* ---- the other profiles ---- */

#define KV(k, v) "<key>" k "</key><string>" v "</string>"
#define PL(state, quota) "<dict>" KV("kAttributeVersion", "Apple Mail 1.0") \
	KV("kMailAccountState", state) quota "</dict>"

struct pcase {
	const char *name, *profile, *base;
	const char *status, *off, *store, *qsize;
	const char *want;	/* describe(), then "quota R B C" */
};

static const struct pcase pcases[] = {
	/* jamm: mailbox relative to mail_base. */
	{ "jamm active", "jamm", "/vmail", "TRUE", NULL, "dom/john/", NULL,
	  "active\nmaildir /vmail/dom/john\nquota 0 0 0\n" },
	{ "jamm active, delete FALSE, quota", "jamm", "/vmail", "TRUE",
	  "FALSE", "dom/john/", "1000",
	  "active\nmaildir /vmail/dom/john\nquota 1 1000 0\n" },
	{ "jamm mail_base /", "jamm", "/", "TRUE", NULL, "dom/john/", NULL,
	  "active\nmaildir /dom/john\nquota 0 0 0\n" },
	{ "jamm deleted", "jamm", "/vmail", "TRUE", "TRUE", "dom/old/", NULL,
	  "inactive\nquota 0 0 0\n" },
	{ "jamm inactive", "jamm", "/vmail", "FALSE", NULL, "dom/x/", NULL,
	  "inactive\nquota 0 0 0\n" },
	{ "jamm no accountActive", "jamm", "/vmail", NULL, NULL, "dom/x/",
	  NULL, "none\n? accountActive is missing\nquota 0 0 0\n" },
	{ "jamm no slash", "jamm", "/vmail", "TRUE", NULL, "dom/x", NULL,
	  "active refused\n! mailbox \"dom/x\" does not end in \"/\"\n"
	  "quota 0 0 0\n" },
	{ "jamm ..", "jamm", "/vmail", "TRUE", NULL, "../etc/", NULL,
	  "active refused\n! mailbox \"../etc/\" is not normalized (holds "
	  "\"//\", \".\" or \"..\")\nquota 0 0 0\n" },
	{ "jamm absolute", "jamm", "/vmail", "TRUE", NULL, "/etc/", NULL,
	  "active refused\n! mailbox \"/etc/\" is not normalized (holds "
	  "\"//\", \".\" or \"..\")\nquota 0 0 0\n" },
	{ "jamm two mailboxes", "jamm", "/vmail", "TRUE", NULL, "a/|b/", NULL,
	  "active refused\n! has 2 mailbox values; exactly one is allowed\n"
	  "quota 0 0 0\n" },
	/* ox: <mail_base>/<first uid>/Maildir. */
	{ "ox active", "ox", "/vmail", "OK", NULL, "alice", NULL,
	  "active\nmaildir /vmail/alice/Maildir\nquota 0 0 0\n" },
	{ "ox ok in lower case, first uid", "ox", "/vmail", "ok", NULL,
	  "alice|al", NULL,
	  "active\nmaildir /vmail/alice/Maildir\nquota 0 0 0\n" },
	{ "ox colocRouteAddr", "ox", "/vmail", "OK", "b@store2", "bob", NULL,
	  "inactive\nquota 0 0 0\n" },
	{ "ox NONE", "ox", "/vmail", "NONE", NULL, "carol", NULL,
	  "inactive\nquota 0 0 0\n" },
	{ "ox uid ..", "ox", "/vmail", "OK", NULL, "..", NULL,
	  "active refused\n! uid \"..\" is not normalized (holds \"//\", "
	  "\".\" or \"..\")\nquota 0 0 0\n" },
	/* apple: the plist decides, <first short name>/Maildir. */
	{ "apple enabled, quota", "apple", "/vmail",
	  PL("Enabled", KV("kUserDiskQuota", "250")), NULL, "ann|ann@x.org",
	  NULL, "active\nmaildir /vmail/ann/Maildir\n"
	  "quota 1 262144000 0\n" },
	{ "apple enabled, no quota", "apple", "/vmail", PL("Enabled", ""),
	  NULL, "ann", NULL,
	  "active\nmaildir /vmail/ann/Maildir\nquota 0 0 0\n" },
	{ "apple off", "apple", "/vmail", PL("Off", ""), NULL, "ann", NULL,
	  "inactive\nquota 0 0 0\n" },
	{ "apple malformed", "apple", "/vmail", "<dict><key>kMailAcc", NULL,
	  "ann", NULL, "other refused\n! apple-user-mailattribute is not a "
	  "mail settings plist ldapmail reads: byte 19: unterminated "
	  "<key>\nquota -1 0 0\n" },
	{ "apple no plist", "apple", "/vmail", NULL, NULL, "ann", NULL,
	  "none\n? apple-user-mailattribute is missing\nquota -1 0 0\n" },
};

static void
prun(const struct pcase *c)
{
	const struct layout_profile *pf = layout_profile(c->profile);
	struct layout_params prm = { c->base, "shared", "shared.maildirs" };
	struct layout_val *st, *off, *mms, *qs;
	struct layout_entry e;
	struct layout l;
	struct mdquota q;
	struct buf got = BUF_INIT;
	char why[160];
	int r;

	memset(&e, 0, sizeof(e));
	e.status = st = vals(c->status, &e.n_status);
	e.off = off = vals(c->off, &e.n_off);
	e.store = mms = vals(c->store, &e.n_store);
	e.qsize = qs = vals(c->qsize, &e.n_qsize);
	layout_build(pf, &prm, &e, &l);
	buf_printf(&got, "%s%s\n", stname[l.status], l.ok ? "" : " refused");
	if (l.maildir)
		buf_printf(&got, "maildir %s\n", l.maildir);
	for (size_t k = 0; k < l.nprob; k++) {
		buf_puts(&got, l.prob[k].refuses ? "! " : "? ");
		layout_problem_text(pf, &prm, &l.prob[k], &got);
		buf_putc(&got, '\n');
	}
	r = layout_quota(pf, &e, &q, why, sizeof(why));
	buf_printf(&got, "quota %d %llu %llu\n", r, r < 0 ? 0 : q.bytes,
	    r < 0 ? 0 : q.count);
	CHECK_STR(c->name, buf_str(&got), c->want);
	CHECK(c->name, layout_state(pf, &e) == l.status);
	layout_free(&l);
	buf_free(&got);
	fv(st, e.n_status);
	fv(off, e.n_off);
	fv(mms, e.n_store);
	fv(qs, e.n_qsize);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(&cases[i]);
	too_long();
	split();
	nicknames();
	profiles();
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++)
		prun(&pcases[i]);
	return unit_done();
}
