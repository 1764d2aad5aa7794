/*
 * t_safepath: case tables for common/safepath (paths and folder names
 * from the directory, before ldap-maildirmake uses them as root).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/safepath.h"
#include "tests/unit/unit.h"

struct pcase {
	const char *name;
	const char *path;
	size_t len;		/* 0: strlen(path) */
	enum safepath_err want;
	size_t rel;		/* safepath_under: expected relpos */
};

static void
under_cases(void)
{
	static const struct pcase c[] = {
		{ "plain maildir", "/vmail/a/Maildir/", 0, SAFEPATH_OK, 7 },
		{ "no trailing slash", "/vmail/a/Maildir", 0, SAFEPATH_OK, 7 },
		{ "one level", "/vmail/a/", 0, SAFEPATH_OK, 7 },
		{ "space inside", "/vmail/a b/Mail dir/", 0, SAFEPATH_OK, 7 },
		{ "utf-8 kept", "/vmail/\xc3\xa4/Maildir/", 0, SAFEPATH_OK, 7 },
		{ "dots inside names", "/vmail/a.b/..x/x../", 0, SAFEPATH_OK,
		    7 },
		{ "base itself", "/vmail", 0, SAFEPATH_OUTSIDE, 0 },
		{ "base with slash", "/vmail/", 0, SAFEPATH_OUTSIDE, 0 },
		{ "prefix is not inside", "/vmailx/a/", 0, SAFEPATH_OUTSIDE,
		    0 },
		{ "elsewhere", "/etc/x/", 0, SAFEPATH_OUTSIDE, 0 },
		{ "root", "/", 0, SAFEPATH_OUTSIDE, 0 },
		{ "dotdot out", "/vmail/../etc/", 0, SAFEPATH_NOT_NORMAL, 0 },
		{ "dotdot in", "/vmail/a/../b/", 0, SAFEPATH_NOT_NORMAL, 0 },
		{ "dotdot last", "/vmail/a/..", 0, SAFEPATH_NOT_NORMAL, 0 },
		{ "dotdot last slash", "/vmail/a/../", 0, SAFEPATH_NOT_NORMAL,
		    0 },
		{ "dot", "/vmail/./a/", 0, SAFEPATH_NOT_NORMAL, 0 },
		{ "double slash", "/vmail//a/", 0, SAFEPATH_NOT_NORMAL, 0 },
		{ "double trailing slash", "/vmail/a//", 0,
		    SAFEPATH_NOT_NORMAL, 0 },
		{ "leading double slash", "//vmail/a/", 0, SAFEPATH_NOT_NORMAL,
		    0 },
		{ "relative", "vmail/a/", 0, SAFEPATH_RELATIVE, 0 },
		{ "relative dot", "./vmail/a/", 0, SAFEPATH_RELATIVE, 0 },
		{ "empty", "", 0, SAFEPATH_EMPTY, 0 },
		{ "newline", "/vmail/a\n/", 0, SAFEPATH_CONTROL, 0 },
		{ "tab", "/vmail/a\tb/", 0, SAFEPATH_CONTROL, 0 },
		{ "del", "/vmail/a\x7f/", 0, SAFEPATH_CONTROL, 0 },
		{ "nul inside", "/vmail/a\0/../../etc/", 20, SAFEPATH_NUL, 0 },
		{ "reserved tmp", "/vmail/ldap-maildirmake.tmp.0123/", 0,
		    SAFEPATH_RESERVED_NAME, 0 },
		{ "reserved lock", "/vmail/.ldap-maildirmake.lock/", 0,
		    SAFEPATH_RESERVED_NAME, 0 },
		{ "reserved deep", "/vmail/a/ldap-maildirmake.x/", 0,
		    SAFEPATH_RESERVED_NAME, 0 },
		{ "near reserved ok", "/vmail/ldap-maildirmake/", 0,
		    SAFEPATH_OK, 7 },
	};
	char name[200];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t len = c[i].len ? c[i].len : strlen(c[i].path);
		size_t rel = 999;
		enum safepath_err e = safepath_under("/vmail", c[i].path, len,
		    &rel);

		snprintf(name, sizeof(name), "under /vmail: %s", c[i].name);
		CHECK(name, e == c[i].want);
		if (c[i].want == SAFEPATH_OK) {
			snprintf(name, sizeof(name), "under /vmail: %s: relpos",
			    c[i].name);
			CHECK(name, rel == c[i].rel);
		}
	}
}

static void
base_cases(void)
{
	size_t rel = 0;

	CHECK("base / : inside", safepath_under("/", "/a/", 3, &rel) ==
	    SAFEPATH_OK && rel == 1);
	CHECK("base / : not itself", safepath_under("/", "/", 1, &rel) ==
	    SAFEPATH_OUTSIDE);
	CHECK("deep base", safepath_under("/srv/mail/v", "/srv/mail/v/x/",
	    14, &rel) == SAFEPATH_OK && rel == 12);
	CHECK("deep base sibling", safepath_under("/srv/mail/v",
	    "/srv/mail/vv/x/", 15, &rel) == SAFEPATH_OUTSIDE);
}

static void
length_cases(void)
{
	char p[PATH_MAX + 10];
	size_t rel;

	/* A component of NAME_MAX bytes is fine, one more is not. */
	memcpy(p, "/vmail/", 7);
	memset(p + 7, 'a', NAME_MAX);
	p[7 + NAME_MAX] = '/';
	CHECK("component NAME_MAX ok", safepath_under("/vmail", p,
	    8 + NAME_MAX, &rel) == SAFEPATH_OK);
	memset(p + 7, 'a', NAME_MAX + 1);
	p[8 + NAME_MAX] = '/';
	CHECK("component NAME_MAX+1 too long", safepath_under("/vmail", p,
	    9 + NAME_MAX, &rel) == SAFEPATH_TOO_LONG);
	/* The whole path under PATH_MAX. */
	for (size_t i = 7; i < sizeof(p); i++)
		p[i] = (i % 100 == 0) ? '/' : 'b';
	CHECK("path PATH_MAX too long", safepath_check(p, PATH_MAX) ==
	    SAFEPATH_TOO_LONG);
	CHECK("path PATH_MAX-1 ok", safepath_check(p, PATH_MAX - 1) ==
	    SAFEPATH_OK);
}

struct ncase {
	const char *name;
	const char *s;
	size_t len;
	enum safepath_err comp;		/* safepath_component */
	enum safepath_err folder;	/* safepath_folder */
};

static void
name_cases(void)
{
	static const struct ncase c[] = {
		{ "simple", "incoming", 0, SAFEPATH_OK, SAFEPATH_OK },
		{ "hierarchy", "past.editions", 0, SAFEPATH_OK, SAFEPATH_OK },
		{ "space", "a b", 0, SAFEPATH_OK, SAFEPATH_OK },
		{ "utf-8", "Zeitschriften \xc3\xbc", 0, SAFEPATH_OK,
		    SAFEPATH_OK },
		{ "slash", "a/b", 0, SAFEPATH_SLASH, SAFEPATH_SLASH },
		{ "dotdot slash", "../../x", 0, SAFEPATH_SLASH,
		    SAFEPATH_SLASH },
		{ "dot", ".", 0, SAFEPATH_DOT, SAFEPATH_DOT },
		{ "dotdot", "..", 0, SAFEPATH_DOT, SAFEPATH_DOT },
		{ "leading dot", ".x", 0, SAFEPATH_OK, SAFEPATH_LEADING_DOT },
		{ "empty level", "a..b", 0, SAFEPATH_OK,
		    SAFEPATH_EMPTY_LEVEL },
		{ "trailing dot", "a.", 0, SAFEPATH_OK, SAFEPATH_EMPTY_LEVEL },
		{ "empty", "", 0, SAFEPATH_EMPTY, SAFEPATH_EMPTY },
		{ "newline", "a\nb", 0, SAFEPATH_CONTROL, SAFEPATH_CONTROL },
		{ "tab", "a\tb", 0, SAFEPATH_CONTROL, SAFEPATH_CONTROL },
		{ "escape", "a\x1b[1m", 0, SAFEPATH_CONTROL,
		    SAFEPATH_CONTROL },
		{ "nul", "a\0b", 3, SAFEPATH_NUL, SAFEPATH_NUL },
		{ "latin-1", "\xe4", 0, SAFEPATH_OK, SAFEPATH_UTF8 },
		{ "overlong", "\xc0\xaf", 0, SAFEPATH_OK, SAFEPATH_UTF8 },
		{ "surrogate", "\xed\xa0\x80", 0, SAFEPATH_OK, SAFEPATH_UTF8 },
		{ "cut sequence", "a\xe2\x82", 0, SAFEPATH_OK, SAFEPATH_UTF8 },
		{ "4-byte ok", "\xf0\x9f\x93\xab", 0, SAFEPATH_OK,
		    SAFEPATH_OK },
		{ "above U+10FFFF", "\xf4\x90\x80\x80", 0, SAFEPATH_OK,
		    SAFEPATH_UTF8 },
		{ "reserved", "ldap-maildirmake.tmp.x", 0,
		    SAFEPATH_RESERVED_NAME, SAFEPATH_RESERVED_NAME },
	};
	char name[200];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t len = c[i].len ? c[i].len : strlen(c[i].s);

		snprintf(name, sizeof(name), "component: %s", c[i].name);
		CHECK(name, safepath_component(c[i].s, len) == c[i].comp);
		snprintf(name, sizeof(name), "folder: %s", c[i].name);
		CHECK(name, safepath_folder(c[i].s, len) == c[i].folder);
	}
}

static void
folder_length(void)
{
	char s[NAME_MAX + 2];

	memset(s, 'f', sizeof(s));
	CHECK("folder NAME_MAX-1 ok", safepath_folder(s, NAME_MAX - 1) ==
	    SAFEPATH_OK);
	CHECK("folder NAME_MAX too long (.NAME)", safepath_folder(s,
	    NAME_MAX) == SAFEPATH_TOO_LONG);
	CHECK("component NAME_MAX ok", safepath_component(s, NAME_MAX) ==
	    SAFEPATH_OK);
	CHECK("component NAME_MAX+1 too long", safepath_component(s,
	    NAME_MAX + 1) == SAFEPATH_TOO_LONG);
}

static void
strerror_cases(void)
{
	CHECK("strerror names dotdot", strstr(safepath_strerror(
	    SAFEPATH_NOT_NORMAL), "..") != NULL);
	CHECK("strerror outside", strstr(safepath_strerror(SAFEPATH_OUTSIDE),
	    "mail_base") != NULL);
}

int
main(void)
{
	under_cases();
	base_cases();
	length_cases();
	name_cases();
	folder_length();
	strerror_cases();
	return unit_done();
}
