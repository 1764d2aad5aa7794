/*
 * t_synccookie: the sync cookie beside a snapshot (common/synccookie.c):
 * stored and read back (printable and binary cookies), replaced, nothing
 * left behind, mode 0640; a missing file is "none"; every damaged form
 * is refused with a reason; names that would leave the directory or hide
 * a temporary file are refused.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/synccookie.h"
#include "unit.h"

static char dir[] = "/tmp/t_synccookie.XXXXXX";

static void
write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int
files_in_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	return n;
}

static int
load(const char *name, char **server, char **cookie, size_t *len,
    char *err, size_t errsz)
{
	free(*server);
	free(*cookie);
	return synccookie_load(dir, name, server, cookie, len, err, errsz);
}

int
main(void)
{
	char err[512], path[512];
	char *server = NULL, *cookie = NULL;
	size_t len = 0;
	struct stat st;
	static const char bin[] = { 'a', '\0', '\n', (char)0xff, ' ' };

	if (mkdtemp(dir) == NULL) {
		printf("not ok - mkdtemp\n");
		return 1;
	}
	CHECK("none yet: 0", load("alias", &server, &cookie, &len, err,
	    sizeof(err)) == 0 && server == NULL && cookie == NULL);

	CHECK("save", synccookie_save(dir, "alias", "ldap://h1/",
	    "rid=000,csn=20261204180252.333779Z#000000#000#000000", 52, err,
	    sizeof(err)) == 0);
	CHECK("load: 1", load("alias", &server, &cookie, &len, err,
	    sizeof(err)) == 1);
	CHECK_STR("load: the server", server, "ldap://h1/");
	CHECK_MEM("load: the cookie", cookie, len,
	    "rid=000,csn=20261204180252.333779Z#000000#000#000000");
	snprintf(path, sizeof(path), "%s/alias.cookie", dir);
	CHECK("mode 0640", stat(path, &st) == 0 &&
	    (st.st_mode & 07777) == 0640);

	CHECK("replace", synccookie_save(dir, "alias", "ldap://h2/", "c2", 2,
	    err, sizeof(err)) == 0 && load("alias", &server, &cookie, &len,
	    err, sizeof(err)) == 1 && strcmp(server, "ldap://h2/") == 0 &&
	    len == 2 && memcmp(cookie, "c2", 2) == 0);
	CHECK("binary cookie: stored as hex, read back",
	    synccookie_save(dir, "bin", "ldap://h1/", bin, sizeof(bin), err,
	    sizeof(err)) == 0 && load("bin", &server, &cookie, &len, err,
	    sizeof(err)) == 1 && len == sizeof(bin) &&
	    memcmp(cookie, bin, sizeof(bin)) == 0);
	CHECK("no temporary file left", files_in_dir() == 2);

	CHECK("empty cookie refused", synccookie_save(dir, "x", "ldap://h/",
	    "", 0, err, sizeof(err)) == -1);
	CHECK("server with a space refused", synccookie_save(dir, "x",
	    "ldap://h/ x", "c", 1, err, sizeof(err)) == -1);
	CHECK("name with / refused", synccookie_save(dir, "../x", "ldap://h/",
	    "c", 1, err, sizeof(err)) == -1);
	CHECK("name starting with . refused", synccookie_save(dir, ".x",
	    "ldap://h/", "c", 1, err, sizeof(err)) == -1);
	CHECK("nothing written for them", files_in_dir() == 2);

	{
		static const struct {
			const char *name, *text;
		} bad[] = {
			{ "bad magic", "ldapmail sync cookie 2\nserver s\n"
			  "cookie c\n" },
			{ "no server", "ldapmail sync cookie 1\ncookie c\n" },
			{ "empty server", "ldapmail sync cookie 1\nserver \n"
			  "cookie c\n" },
			{ "no cookie", "ldapmail sync cookie 1\nserver s\n" },
			{ "empty cookie", "ldapmail sync cookie 1\nserver s\n"
			  "cookie \n" },
			{ "no final newline", "ldapmail sync cookie 1\nserver s\n"
			  "cookie c" },
			{ "extra line", "ldapmail sync cookie 1\nserver s\n"
			  "cookie c\nmore\n" },
			{ "control in cookie", "ldapmail sync cookie 1\nserver s\n"
			  "cookie c\tc\n" },
			{ "odd hex", "ldapmail sync cookie 1\nserver s\n"
			  "cookie-hex abc\n" },
			{ "not hex", "ldapmail sync cookie 1\nserver s\n"
			  "cookie-hex zz\n" },
			{ "upper-case hex", "ldapmail sync cookie 1\nserver s\n"
			  "cookie-hex AB\n" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char name[80], want[600];

			write_file("bad.cookie", bad[i].text);
			snprintf(name, sizeof(name), "damaged (%s): -1, none",
			    bad[i].name);
			CHECK(name, load("bad", &server, &cookie, &len, err,
			    sizeof(err)) == -1 && server == NULL &&
			    cookie == NULL);
			snprintf(want, sizeof(want),
			    "%s/bad.cookie: damaged cookie file", dir);
			snprintf(name, sizeof(name), "damaged (%s): says so",
			    bad[i].name);
			CHECK_STR(name, err, want);
		}
	}
	write_file("big.cookie", "");
	{
		FILE *f;
		char big[512];

		snprintf(big, sizeof(big), "%s/big.cookie", dir);
		f = fopen(big, "w");
		for (int i = 0; f && i < 20000; i++)
			fputc('x', f);
		if (f)
			fclose(f);
	}
	CHECK("a file too big: refused", load("big", &server, &cookie, &len,
	    err, sizeof(err)) == -1);

	CHECK("remove", synccookie_remove(dir, "alias", err, sizeof(err)) == 0
	    && load("alias", &server, &cookie, &len, err, sizeof(err)) == 0);
	CHECK("remove a missing one: fine", synccookie_remove(dir, "alias",
	    err, sizeof(err)) == 0);

	free(server);
	free(cookie);
	{
		const char *names[] = { "bin.cookie", "bad.cookie",
		    "big.cookie" };

		for (size_t i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			unlink(path);
		}
		rmdir(dir);
	}
	return unit_done();
}
