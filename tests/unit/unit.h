/*
 * unit.h: the smallest case-table harness that can fail.
 *
 * Each CHECK prints "ok - NAME" or "not ok - NAME (file:line: what)" in
 * the TAP-like format tests/run counts; unit_done() returns the exit
 * status (1 if anything failed).  Header-only on purpose.
 */
#ifndef LDAPMAIL_UNIT_H
#define LDAPMAIL_UNIT_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int unit_failed, unit_passed;

#define CHECK(name, cond) do { \
	if (cond) { unit_passed++; printf("ok - %s\n", (name)); } \
	else { unit_failed++; printf("not ok - %s (%s:%d: %s)\n", (name), \
	    __FILE__, __LINE__, #cond); } \
	fflush(stdout); \
} while (0)

/* Compare len bytes of memory with an expected string, show both. */
#define CHECK_MEM(name, got, gotlen, want) do { \
	const char *u_w = (want); size_t u_wl = strlen(u_w); \
	size_t u_gl = (gotlen); const char *u_g = (got); \
	if (u_gl == u_wl && (u_wl == 0 || memcmp(u_g, u_w, u_wl) == 0)) { \
		unit_passed++; printf("ok - %s\n", (name)); \
	} else { unit_failed++; printf("not ok - %s (%s:%d: got \"%.*s\" want \"%s\")\n", \
	    (name), __FILE__, __LINE__, (int)(u_gl > 200 ? 200 : u_gl), \
	    u_g ? u_g : "(null)", u_w); } \
	fflush(stdout); \
} while (0)

#define CHECK_STR(name, got, want) do { \
	const char *u_s = (got); \
	CHECK_MEM(name, u_s ? u_s : "(null)", u_s ? strlen(u_s) : 6, want); \
} while (0)

/* A set-up step that must work for the checks after it to mean anything:
 * "not ok - set-up: WHAT (errno)" and exit otherwise. */
static inline void unit_must(int ok, const char *what)
{
	if (!ok) {
		printf("not ok - set-up: %s (%s)\n", what, strerror(errno));
		exit(1);
	}
}

/* A fresh directory $TMPDIR/NAME.XXXXXX (or under /tmp) into top. */
static inline void unit_tmpdir(char *top, size_t n, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	int r = snprintf(top, n, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp",
	    name);

	unit_must(r > 0 && (size_t)r < n && mkdtemp(top) != NULL, "mkdtemp");
}

static inline int unit_rm_one(const char *p, const struct stat *st,
    int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

/* Remove the tree at path (symlinks are removed, not followed). */
static inline void unit_rmtree(const char *path)
{
	nftw(path, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline int unit_done(void)
{
	return unit_failed ? 1 : 0;
}

#endif
