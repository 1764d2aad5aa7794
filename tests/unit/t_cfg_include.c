/*
 * t_cfg_include: "include = GLOB" and "default_folders" of common/cfg.c,
 * as case tables: files in memory (struct cfg_files) for the language
 * (order, relative patterns, errors naming the included file and line,
 * loops, repeats, depth, limits, what an included file may hold), then
 * cfg_load() on real files (glob, a directory and a FIFO matched, a
 * symlink loop, a missing file).
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "unit.h"

#define BASE "ldap_uri = ldap://127.0.0.1\naccount_base = o=x\n" \
	"domain_base = o=d\n"
#define MAP(n) "[map " n "]\nkey = mail\nresult = cn\n"

/* ---- files in memory --------------------------------------------------- */

struct mfile {
	const char *path, *text, *id;	/* id NULL: the path */
};

static const struct mfile *mfiles;
static size_t n_mfiles;

static void
paths_add(struct strlist *l, const char *s)
{
	l->v = realloc(l->v, (l->n + 2) * sizeof(*l->v));
	l->v[l->n++] = strdup(s);
	l->v[l->n] = NULL;
}

static int
mem_glob(void *arg, const char *pattern, struct strlist *paths, char *err,
    size_t errsz)
{
	if (strstr(pattern, "unreadable") != NULL) {
		snprintf(err, errsz, "cannot read a directory of the pattern");
		return -1;
	}
	/* Backwards: include() must sort. */
	for (size_t i = n_mfiles; i-- > 0;)
		if (fnmatch(pattern, mfiles[i].path, FNM_PATHNAME) == 0)
			paths_add(paths, mfiles[i].path);
	return 0;
}

static int
mem_read(void *arg, const char *path, size_t max, char **text, size_t *len,
    char **id, char *err, size_t errsz)
{
	for (size_t i = 0; i < n_mfiles; i++) {
		if (strcmp(mfiles[i].path, path) != 0)
			continue;
		if (strlen(mfiles[i].text) > max) {
			snprintf(err, errsz, "file too large");
			return -1;
		}
		*text = strdup(mfiles[i].text);
		*len = strlen(mfiles[i].text);
		*id = strdup(mfiles[i].id != NULL ? mfiles[i].id : path);
		return 0;
	}
	snprintf(err, errsz, "cannot open: No such file or directory");
	return -1;
}

static const struct cfg_files mem = { mem_glob, mem_read, NULL };
static char errbuf[1024];

/* Parse main.conf = files[0] with the others readable; the error or
 * "(parsed)" in errbuf, the cfg (or NULL). */
static struct cfg *
load(const struct mfile *f, size_t n)
{
	struct cfg *c;

	mfiles = f;
	n_mfiles = n;
	errbuf[0] = '\0';
	c = cfg_parse_files(f[0].text, strlen(f[0].text), f[0].path, f[0].path,
	    &mem, errbuf, sizeof(errbuf));
	if (c != NULL)
		snprintf(errbuf, sizeof(errbuf), "(parsed)");
	return c;
}

#define LOAD(arr) load((arr), sizeof(arr) / sizeof((arr)[0]))

/* "name@file:line name@file:line ..." */
static const char *
map_list(const struct cfg *c)
{
	static char out[1024];
	size_t n = 0;

	out[0] = '\0';
	/* The files' maps; the profile's come after them. */
	for (size_t i = 0; c != NULL && i < c->n_maps; i++)
		if (!c->maps[i].builtin)
			n += (size_t)snprintf(out + n, sizeof(out) - n,
			    "%s%s@%s:%d", n ? " " : "", c->maps[i].name,
			    c->maps[i].file ? c->maps[i].file : "-",
			    c->maps[i].line);
	return out;
}

static void
test_order(void)
{
	/* Name order, whatever glob gives; relative to the including file. */
	static const struct mfile f[] = {
		{ "/etc/ldapmail/ldapmail.conf", BASE MAP("first")
		  "include = conf.d/*.conf\n" MAP("last"), NULL },
		{ "/etc/ldapmail/conf.d/b.org.conf", MAP("b") MAP("b2"), NULL },
		{ "/etc/ldapmail/conf.d/a.org.conf", "# a\n" MAP("a"), NULL },
		{ "/etc/ldapmail/conf.d/c.org.conf.dpkg-old", MAP("old"), NULL },
		{ "/etc/ldapmail/conf.d/C.conf", MAP("upper"), NULL },
	};
	struct cfg *c = LOAD(f);

	CHECK_STR("order: parsed", errbuf, "(parsed)");
	CHECK_STR("order: maps in name order, files and lines", map_list(c),
	    "first@/etc/ldapmail/ldapmail.conf:4 "
	    "upper@/etc/ldapmail/conf.d/C.conf:1 "
	    "a@/etc/ldapmail/conf.d/a.org.conf:2 "
	    "b@/etc/ldapmail/conf.d/b.org.conf:1 "
	    "b2@/etc/ldapmail/conf.d/b.org.conf:4 "
	    "last@/etc/ldapmail/ldapmail.conf:8");
	CHECK("order: files read", c != NULL && c->include_files.n == 3 &&
	    strcmp(c->include_files.v[0], "/etc/ldapmail/conf.d/C.conf") == 0);
	CHECK("order: the profile's maps too", c != NULL &&
	    c->builtin_maps == 3 && c->n_maps == 9);
	cfg_free(c);
}

struct icase {
	const char *name;
	struct mfile f[4];
	const char *want;
};

static const struct icase icases[] = {
	{ "error in an included file names it and its line",
	  { { "/e/main.conf", BASE "include = /e/d/*.conf\n", NULL },
	    { "/e/d/x.conf", MAP("x") "scope = wide\n", NULL } },
	  "/e/d/x.conf:4: scope: \"wide\" must be one of base, one, sub" },
	{ "a global parameter in an included file",
	  { { "/e/main.conf", BASE "include = d.conf\n", NULL },
	    { "/e/d.conf", "refresh = 5\n", NULL } },
	  "/e/d.conf:1: \"refresh\" is a global parameter: an included file "
	  "holds only [map] sections" },
	{ "an unfinished section ends with its file",
	  { { "/e/main.conf", BASE "include = d.conf\nkey = x\n", NULL },
	    { "/e/d.conf", "[map y]\n", NULL } },
	  "/e/d.conf:1: [map y]: missing required parameter \"key\"" },
	{ "include ends the section before it",
	  { { "/e/main.conf", BASE MAP("m") "include = d.conf\nkey = x\n",
	      NULL },
	    { "/e/d.conf", "", NULL } },
	  "/e/main.conf:8: \"key\" is a map parameter, allowed only inside a "
	  "[map NAME] section" },
	{ "a map defined in two files",
	  { { "/e/main.conf", BASE MAP("m") "include = d.conf\n", NULL },
	    { "/e/d.conf", "\n" MAP("m"), NULL } },
	  "/e/d.conf:2: [map m] is already defined at /e/main.conf:4" },
	{ "a missing file",
	  { { "/e/main.conf", BASE "include = nothere.conf\n", NULL } },
	  "/e/main.conf:4: include /e/nothere.conf: cannot open: No such file "
	  "or directory" },
	{ "a pattern matching nothing",
	  { { "/e/main.conf", BASE "include = /none/*.conf\n", NULL } },
	  "(parsed)" },
	{ "an unreadable directory",
	  { { "/e/main.conf", BASE "include = /unreadable/*.conf\n", NULL } },
	  "/e/main.conf:4: include /unreadable/*.conf: cannot read a "
	  "directory of the pattern" },
	{ "an include loop",
	  { { "/e/main.conf", BASE "include = a.conf\n", NULL },
	    { "/e/a.conf", "include = b.conf\n", NULL },
	    { "/e/b.conf", "include = a.conf\n", NULL } },
	  "/e/b.conf:1: include /e/a.conf: an include loop (the file is being "
	  "read already)" },
	{ "including the main file",
	  { { "/e/main.conf", BASE "include = a.conf\n", NULL },
	    { "/e/a.conf", "include = /e/main.conf\n", NULL } },
	  "/e/a.conf:1: include /e/main.conf: an include loop (the file is "
	  "being read already)" },
	{ "one file by two names (a symlink)",
	  { { "/e/main.conf", BASE "include = a.conf\ninclude = b.conf\n",
	      NULL },
	    { "/e/a.conf", MAP("a"), "ino-7" },
	    { "/e/b.conf", MAP("b"), "ino-7" } },
	  "/e/main.conf:5: include /e/b.conf: already included at "
	  "/e/main.conf:4" },
	{ "a file name with a control character",
	  { { "/e/main.conf", BASE "include = d/*.conf\n", NULL },
	    { "/e/d/\x0b.conf", MAP("x"), NULL } },
	  "/e/main.conf:4: include /e/d/\\x0b.conf: a file name with a control "
	  "character" },
	{ "an empty include",
	  { { "/e/main.conf", BASE "include =\n", NULL } },
	  "/e/main.conf:4: include needs a file name or a pattern" },
	{ "$ expansion in the pattern",
	  { { "/e/main.conf", BASE "include = $mail_base.conf\n", NULL },
	    { "/vmail.conf", MAP("v"), NULL } },
	  "(parsed)" },
	{ "a relative pattern in a file of the root directory",
	  { { "/main.conf", BASE "include = d/x.conf\n", NULL },
	    { "/d/x.conf", MAP("x"), NULL } },
	  "(parsed)" },
	{ "a relative main file name",
	  { { "main.conf", BASE "include = x.conf\n", NULL },
	    { "./x.conf", MAP("x"), NULL } },
	  "(parsed)" },
	{ "domain: not a domain name, in its file and line",
	  { { "/e/main.conf", BASE "include = d/*.conf\n", NULL },
	    { "/e/d/a.conf", "# a.example\ndomain = a..example\n" MAP("a"),
	      NULL } },
	  "/e/d/a.conf:2: domain: \"a..example\" is not a domain name" },
	{ "domain: empty",
	  { { "/e/main.conf", BASE "include = d.conf\n", NULL },
	    { "/e/d.conf", "domain =\n" MAP("a"), NULL } },
	  "/e/d.conf:1: domain: needs at least one domain name" },
	{ "domain: after a section",
	  { { "/e/main.conf", BASE "include = d.conf\n", NULL },
	    { "/e/d.conf", MAP("a") "domain = a.example\n", NULL } },
	  "/e/d.conf:4: domain: in an included file it stands before the "
	  "file's first [map] section (here inside [map a])" },
	{ "account_filter: unbalanced, in its file and line",
	  { { "/e/main.conf", BASE "include = d.conf\n", NULL },
	    { "/e/d.conf", "account_filter = (uid=a\n" MAP("a"), NULL } },
	  "/e/d.conf:1: account_filter: \"(uid=a\" must start with \"(\" "
	  "and end with \")\"" },
	{ "account_filter: global, checked",
	  { { "/e/main.conf", BASE "account_filter = (a=1)(b=2)\n", NULL } },
	  "/e/main.conf:4: account_filter: \"(a=1)(b=2)\" is not one "
	  "parenthesized filter" },
	{ "domain in the main file is no parameter",
	  { { "/e/main.conf", BASE "domain = a.example\n", NULL } },
	  "/e/main.conf:4: unknown parameter \"domain\"" },
	{ "include inside an included file, relative to it",
	  { { "/e/main.conf", BASE "include = d/a.conf\n", NULL },
	    { "/e/d/a.conf", MAP("a") "include = b.conf\n", NULL },
	    { "/e/d/b.conf", MAP("b"), NULL } },
	  "(parsed)" },
};

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof(icases) / sizeof(icases[0]); i++) {
		size_t n = 0;
		struct cfg *c;

		while (n < 4 && icases[i].f[n].path != NULL)
			n++;
		c = load(icases[i].f, n);
		CHECK_STR(icases[i].name, errbuf, icases[i].want);
		cfg_free(c);
	}
}

/* The maps of a.conf and b.conf: their domains and filters. */
static void
test_domains(void)
{
	static const struct mfile f[] = {
		{ "/e/main.conf", BASE "profile = none\n"
		  "account_filter = (!(uid=x))\n"
		  "include = d/*.conf\n" MAP("all"), NULL },
		{ "/e/d/a.conf", "domain = A.example, b.example.\n"
		  "account_filter = (ou=a)\n" MAP("a")
		  "[map ad]\nkind = domain\nkey = associatedDomain\n"
		  "include = /e/sub.inc\n", NULL },
		{ "/e/sub.inc", MAP("sub"), NULL },
		{ "/e/d/c.conf", MAP("c"), NULL },
	};
	const struct cfg_map *m;
	struct cfg *c = load(f, 4);

	CHECK_STR("domains: parsed", errbuf, "(parsed)");
	m = c ? cfg_map_find(c, "a", 1) : NULL;
	CHECK("domains: a.conf's map", m != NULL && m->domains.n == 2 &&
	    strcmp(m->domains.v[0], "a.example") == 0 &&
	    strcmp(m->domains.v[1], "b.example") == 0);
	CHECK_STR("domains: both filters ANDed", m ? m->filter : NULL,
	    "(&(&(objectClass=*)(ou=a))(!(uid=x)))");
	m = c ? cfg_map_find(c, "ad", 2) : NULL;
	CHECK_STR("domains: a domain map: only the file's filter",
	    m ? m->filter : NULL, "(&(objectClass=*)(ou=a))");
	m = c ? cfg_map_find(c, "sub", 3) : NULL;
	CHECK("domains: an included file inherits them", m != NULL &&
	    m->domains.n == 2 && strcmp(m->filter,
	    "(&(&(objectClass=*)(ou=a))(!(uid=x)))") == 0);
	m = c ? cfg_map_find(c, "c", 1) : NULL;
	CHECK("domains: another file does not", m != NULL &&
	    m->domains.n == 0 && strcmp(m->filter,
	    "(&(objectClass=*)(!(uid=x)))") == 0);
	m = c ? cfg_map_find(c, "all", 3) : NULL;
	CHECK("domains: nor the main file after the include", m != NULL &&
	    m->domains.n == 0 && m->file_filter == NULL);
	CHECK_STR("domains: account_filter", c ? c->account_filter : NULL,
	    "(!(uid=x))");
	cfg_free(c);
}

static void
test_no_match_warns(void)
{
	static const struct mfile f[] = {
		{ "/w/main.conf", BASE "include = /w/conf.d/*.conf\n", NULL },
	};
	struct cfg *c = LOAD(f);

	CHECK_STR("no match: parsed", errbuf, "(parsed)");
	CHECK("no match: one warning", c != NULL && c->warnings.n == 1);
	if (c != NULL && c->warnings.n == 1)
		CHECK_STR("no match: the warning", c->warnings.v[0],
		    "/w/main.conf:4: include /w/conf.d/*.conf: no file matches");
	CHECK("no match: the built-in maps", c != NULL && c->builtin_maps);
	cfg_free(c);
}

static void
test_limits(void)
{
	static struct mfile chain[11];
	static char names[11][32], texts[11][160];
	struct cfg *c;

	/* main -> 1 -> ... -> 8 is allowed, one more is not. */
	for (int i = 0; i < 11; i++) {
		snprintf(names[i], sizeof(names[i]), "/c/%d.conf", i);
		snprintf(texts[i], sizeof(texts[i]), "%sinclude = %d.conf\n",
		    i == 0 ? BASE : "", i + 1);
		chain[i].path = names[i];
		chain[i].text = texts[i];
	}
	snprintf(texts[8], sizeof(texts[8]), MAP("deep"));
	c = load(chain, 9);
	CHECK_STR("depth 8: parsed", errbuf, "(parsed)");
	CHECK_STR("depth 8: the map", map_list(c), "deep@/c/8.conf:1");
	cfg_free(c);
	snprintf(texts[8], sizeof(texts[8]), "include = 9.conf\n");
	snprintf(texts[9], sizeof(texts[9]), MAP("deeper"));
	c = load(chain, 10);
	CHECK_STR("depth 9: refused", errbuf, "/c/8.conf:1: include "
	    "/c/9.conf: included files nested deeper than 8");
	cfg_free(c);

	/* cfg_parse (no files): include is refused, never reads a disk. */
	errbuf[0] = '\0';
	c = cfg_parse(BASE "include = /etc/passwd\n", strlen(BASE) + 23,
	    "mem.conf", errbuf, sizeof(errbuf));
	CHECK_STR("from memory: refused", errbuf, "mem.conf:4: include: not "
	    "available here (the configuration is not read from a file)");
	cfg_free(c);
}

static void
test_many_files(void)
{
	static struct mfile f[1002];
	static char names[1002][32];
	struct cfg *c;

	f[0].path = "/m/main.conf";
	f[0].text = BASE "include = /m/d/*.conf\n";
	for (int i = 1; i < 1002; i++) {
		snprintf(names[i], sizeof(names[i]), "/m/d/%04d.conf", i);
		f[i].path = names[i];
		f[i].text = "# empty\n";
	}
	c = load(f, 1001);
	CHECK_STR("1000 files: parsed", errbuf, "(parsed)");
	CHECK("1000 files: all read", c != NULL &&
	    c->include_files.n == 1000);
	cfg_free(c);
	c = load(f, 1002);
	CHECK_STR("1001 files: refused", errbuf, "/m/main.conf:4: include: "
	    "more than 1000 files");
	cfg_free(c);
}

/* ---- default_folders --------------------------------------------------- */

static const char *
folders_of(const char *line)
{
	static char out[512];
	struct buf b = BUF_INIT;
	struct cfg *c;
	size_t n = 0;

	buf_puts(&b, BASE);
	buf_puts(&b, line);
	errbuf[0] = '\0';
	c = cfg_parse(b.p, b.len, "t.conf", errbuf, sizeof(errbuf));
	buf_free(&b);
	if (c == NULL)
		return errbuf;
	out[0] = '\0';
	for (size_t i = 0; i < c->default_folders.n; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s[%s]",
		    i ? " " : "", c->default_folders.v[i]);
	cfg_free(c);
	return out;
}

static void
test_folders(void)
{
	CHECK_STR("folders: default none", folders_of(""), "");
	CHECK_STR("folders: list", folders_of("default_folders = Sent Drafts "
	    "Trash\n"), "[Sent] [Drafts] [Trash]");
	CHECK_STR("folders: commas", folders_of("default_folders = Sent,"
	    "Drafts, Trash\n"), "[Sent] [Drafts] [Trash]");
	CHECK_STR("folders: UTF-8 and levels", folders_of("default_folders = "
	    "Entw\xc3\xbcrfe Archive.2024\n"),
	    "[Entw\xc3\xbcrfe] [Archive.2024]");
	CHECK_STR("folders: a quoted name with a space", folders_of(
	    "default_folders = \"Sent Items\" Junk\n"), "[Sent Items] [Junk]");
	CHECK_STR("folders: continued", folders_of("default_folders = Sent\n"
	    "  Trash\n"), "[Sent] [Trash]");
	CHECK_STR("folders: empty value", folders_of("default_folders =\n"),
	    "");
	CHECK_STR("folders: quote inside", folders_of("default_folders = a\"b\n"),
	    "t.conf:4: default_folders: a quote must enclose a whole name in "
	    "\"a\"b\"");
	CHECK_STR("folders: unterminated quote", folders_of(
	    "default_folders = \"Sent Items\n"), "t.conf:4: default_folders: "
	    "a quote must enclose a whole name in \"\"Sent Items\"");
	CHECK_STR("folders: text after a quote", folders_of(
	    "default_folders = \"a\"b\n"), "t.conf:4: default_folders: a quote "
	    "must enclose a whole name in \"\"a\"b\"");
	CHECK_STR("folders: empty quoted", folders_of("default_folders = \"\"\n"),
	    "t.conf:4: default_folders: folder name \"\" is empty");
	CHECK_STR("folders: slash", folders_of("default_folders = a/b\n"),
	    "t.conf:4: default_folders: folder name \"a/b\" contains \"/\"");
	CHECK_STR("folders: leading dot", folders_of("default_folders = .x\n"),
	    "t.conf:4: default_folders: folder name \".x\" starts with \".\"");
	CHECK_STR("folders: empty level", folders_of("default_folders = a..b\n"),
	    "t.conf:4: default_folders: folder name \"a..b\" has an empty "
	    "folder level (\"..\" or a trailing \".\")");
	CHECK_STR("folders: latin-1", folders_of("default_folders = "
	    "Entw\xfcrfe\n"), "t.conf:4: default_folders: folder name "
	    "\"Entw\\xfcrfe\" is not valid UTF-8");
	CHECK_STR("folders: INBOX.", folders_of("default_folders = INBOX.Sent\n"),
	    "t.conf:4: default_folders: \"INBOX.Sent\": write the folder name "
	    "without \"INBOX.\" (Sent, not INBOX.Sent)");
	CHECK_STR("folders: inbox", folders_of("default_folders = inbox\n"),
	    "t.conf:4: default_folders: \"inbox\": write the folder name "
	    "without \"INBOX.\" (Sent, not INBOX.Sent)");
	CHECK_STR("folders: INBOXES is a name", folders_of(
	    "default_folders = INBOXES\n"), "[INBOXES]");
	CHECK_STR("folders: twice", folders_of("default_folders = Sent Sent\n"),
	    "t.conf:4: default_folders: \"Sent\" is listed twice");
	CHECK_STR("folders: reserved", folders_of("default_folders = "
	    "ldap-maildirmake.x\n"), "t.conf:4: default_folders: folder name "
	    "\"ldap-maildirmake.x\" has a component reserved for "
	    "ldap-maildirmake");
	CHECK_STR("folders: expanded", folders_of("default_folders = Sent\n"
	    "default_folders = $default_folders Trash\n"), "[Sent] [Trash]");
}

static void
test_folder_limit(void)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, "default_folders =");
	for (int i = 0; i < 65; i++)
		buf_printf(&b, " f%d", i);
	buf_putc(&b, '\n');
	CHECK_STR("folders: 65", folders_of(b.p), "t.conf:4: default_folders: "
	    "more than 64 folders");
	buf_free(&b);
}

/* ---- real files -------------------------------------------------------- */

static char dir[] = "/tmp/t_cfg_include.XXXXXX";

static void
put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	if (f == NULL) {
		CHECK(path, 0);
		return;
	}
	fputs(text, f);
	fclose(f);
}

static const char *
load_real(const char *rel)
{
	char path[512];
	struct cfg *c;
	static char out[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	c = cfg_load(path, out, sizeof(out));
	if (c == NULL)
		return out;
	snprintf(out, sizeof(out), "%s", map_list(c));
	cfg_free(c);
	return out;
}

static void
test_real(void)
{
	char want[2048], p1[512], p2[512];

	if (mkdtemp(dir) == NULL) {
		CHECK("mkdtemp", 0);
		return;
	}
	snprintf(p1, sizeof(p1), "%s/conf.d", dir);
	mkdir(p1, 0755);
	put("main.conf", BASE "include = conf.d/*.conf\n");
	put("conf.d/b.conf", MAP("b"));
	put("conf.d/a.conf", MAP("a"));
	put("conf.d/.hidden.conf", MAP("hidden"));
	put("conf.d/c.conf~", MAP("backup"));
	snprintf(want, sizeof(want), "a@%s/conf.d/a.conf:1 "
	    "b@%s/conf.d/b.conf:1", dir, dir);
	CHECK_STR("real: glob, name order, no hidden or backup file",
	    load_real("main.conf"), want);

	snprintf(p1, sizeof(p1), "%s/conf.d/d.conf", dir);
	mkdir(p1, 0755);
	snprintf(want, sizeof(want), "%s/main.conf:4: include %s/conf.d/"
	    "d.conf: not a regular file", dir, dir);
	CHECK_STR("real: a directory matched", load_real("main.conf"), want);
	rmdir(p1);

	unit_must(mkfifo(p1, 0644) == 0, "mkfifo");
	CHECK_STR("real: a FIFO matched (does not block)",
	    load_real("main.conf"), want);
	unlink(p1);

	snprintf(p2, sizeof(p2), "%s/main.conf", dir);
	unit_must(symlink(p2, p1) == 0, "symlink");
	snprintf(want, sizeof(want), "%s/main.conf:4: include %s/conf.d/"
	    "d.conf: an include loop (the file is being read already)", dir,
	    dir);
	CHECK_STR("real: a symlink to the main file", load_real("main.conf"),
	    want);
	unlink(p1);

	put("loop.conf", BASE "include = loop.d/x.conf\n");
	snprintf(p1, sizeof(p1), "%s/loop.d", dir);
	mkdir(p1, 0755);
	put("loop.d/x.conf", "include = ../loop2.conf\n");
	put("loop2.conf", "include = loop.d/x.conf\n");
	snprintf(want, sizeof(want), "%s/loop.d/../loop2.conf:1: include "
	    "%s/loop.d/../loop.d/x.conf: an include loop (the file is being "
	    "read already)", dir, dir);
	CHECK_STR("real: a loop through two directories", load_real(
	    "loop.conf"), want);

	put("missing.conf", BASE "include = gone.conf\n");
	snprintf(want, sizeof(want), "%s/missing.conf:4: include %s/gone.conf: "
	    "cannot open: No such file or directory", dir, dir);
	CHECK_STR("real: a missing file", load_real("missing.conf"), want);

	for (const char *const *f = (const char *const[]){ "main.conf",
	    "conf.d/a.conf", "conf.d/b.conf", "conf.d/.hidden.conf",
	    "conf.d/c.conf~", "conf.d", "loop.conf", "loop.d/x.conf",
	    "loop.d", "loop2.conf", "missing.conf", NULL }; *f; f++) {
		snprintf(p1, sizeof(p1), "%s/%s", dir, *f);
		if (unlink(p1) != 0)
			rmdir(p1);
	}
	rmdir(dir);
}

int
main(void)
{
	test_order();
	test_cases();
	test_domains();
	test_no_match_warns();
	test_limits();
	test_many_files();
	test_folders();
	test_folder_limit();
	test_real();
	return unit_done();
}
