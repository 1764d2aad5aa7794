/*
 * sync-probe: drives common/ldapsync and common/synccookie for the tests
 * and benchmarks (tests/integration/test_sync.py, bench/sync.py).  Not
 * installed.
 *
 *   sync-probe CONFIG stream BASE FILTER SECONDS [COOKIEDIR [ATTR...]]
 *   sync-probe CONFIG supported
 *
 * stream runs one refreshAndPersist stream of the entries under BASE
 * (subtree) matching FILTER for SECONDS (or until SIGTERM/SIGINT) and
 * prints one line per event, flushed at once, each starting with the
 * wall-clock time in ms:
 *     MS reset WHY
 *     MS entry present|add|modify|delete UUID DN [ATTR=VALUE]...
 *     MS idset delete|present N
 *     MS phase present|delete done|more entries=N
 *     MS cookie COOKIE
 *     MS server URI            (the stream moved to another server)
 *     MS status TEMP|PERM|ABORTED ERROR
 *     MS end
 * UUID in hex; DN and VALUE with space, backslash and bytes outside
 * printable ASCII as \xHH (one word each); ATTR are
 * the attributes asked for and printed (none: all, printed none).  With
 * COOKIEDIR (not "-") the cookie is read from COOKIEDIR/stream.cookie at
 * start (resume) and written there at each cookie event (synccookie).
 * SYNC_PROBE_KEEPALIVE=MS sets the keepalive; SYNC_PROBE_QUIET=1 prints
 * no entry lines (refresh benchmarks).
 * supported prints "yes", "no" or "error: ...".  Exit: 0, 1 (TEMP or
 * error), 2 (PERM), 64 usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cfg.h"
#include "common/clock.h"
#include "common/ldapconn.h"
#include "common/ldapsync.h"
#include "common/synccookie.h"

static volatile sig_atomic_t stopping;

struct probe {
	const char *const *attrs;
	const char *cookie_dir;
	int quiet;
	unsigned long entries;	/* since the last phase end */
	struct ldapsync *s;
};

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static long long
wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void
put_bytes(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c > 0x20 && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

static int
h_reset(void *arg, const char *why)
{
	(void)arg;
	printf("%lld reset %s\n", wall_ms(), why);
	fflush(stdout);
	return 0;
}

static const char *const state_name[] = {
	[LDAPSYNC_PRESENT] = "present", [LDAPSYNC_ADD] = "add",
	[LDAPSYNC_MODIFY] = "modify", [LDAPSYNC_DELETE] = "delete",
};

static int
h_entry(void *arg, enum ldapsync_state st, const unsigned char *uuid,
    const struct lentry *e)
{
	struct probe *p = arg;

	p->entries++;
	if (p->quiet)
		return 0;
	printf("%lld entry %s ", wall_ms(), state_name[st]);
	for (int i = 0; i < LDAPSYNC_UUID_LEN; i++)
		printf("%02x", uuid[i]);
	putchar(' ');
	put_bytes(lentry_dn(e), strlen(lentry_dn(e)));
	for (size_t a = 0; p->attrs && p->attrs[a]; a++) {
		const struct lval *v;
		size_t n = lentry_values(e, p->attrs[a], &v);

		for (size_t j = 0; j < n; j++) {
			printf(" %s=", p->attrs[a]);
			put_bytes(v[j].ptr, v[j].len);
		}
	}
	putchar('\n');
	fflush(stdout);
	return 0;
}

static int
h_idset(void *arg, int deletes, const unsigned char *uuids, size_t n)
{
	(void)arg;
	(void)uuids;
	printf("%lld idset %s %zu\n", wall_ms(), deletes ? "delete" :
	    "present", n);
	fflush(stdout);
	return 0;
}

static int
h_phase(void *arg, int present, int done)
{
	struct probe *p = arg;

	printf("%lld phase %s %s entries=%lu\n", wall_ms(),
	    present ? "present" : "delete", done ? "done" : "more",
	    p->entries);
	p->entries = 0;
	fflush(stdout);
	return 0;
}

static int
h_cookie(void *arg, const char *cookie, size_t len)
{
	struct probe *p = arg;
	const char *server = ldapsync_server(p->s);
	char err[512];

	printf("%lld cookie ", wall_ms());
	put_bytes(cookie, len);
	putchar('\n');
	if (p->cookie_dir && server &&
	    synccookie_save(p->cookie_dir, "stream", server, cookie, len,
	    err, sizeof(err)) != 0)
		printf("%lld status TEMP %s\n", wall_ms(), err);
	fflush(stdout);
	return 0;
}

static const struct ldapsync_handler handler = {
	h_reset, h_entry, h_idset, h_phase, h_cookie,
};

static int
usage(void)
{
	fprintf(stderr, "usage: sync-probe CONFIG stream BASE FILTER SECONDS "
	    "[COOKIEDIR [ATTR...]]\n"
	    "       sync-probe CONFIG supported\n");
	return 64;
}

static int
stream(const struct cfg *cfg, int argc, char **argv)
{
	struct probe p = { NULL, NULL, 0, 0, NULL };
	struct ldapsync *s;
	double end = clock_ms() + atof(argv[5]) * 1000;
	const char *ka = getenv("SYNC_PROBE_KEEPALIVE");
	char err[1024], last[1024] = "", *server = NULL, *cookie = NULL;
	size_t len = 0;
	int rc = 0;

	if (argc > 6 && strcmp(argv[6], "-") != 0)
		p.cookie_dir = argv[6];
	if (argc > 7)
		p.attrs = (const char *const *)&argv[7];
	p.quiet = getenv("SYNC_PROBE_QUIET") != NULL;
	s = ldapsync_new(cfg, argv[3], CFG_SCOPE_SUB, argv[4], p.attrs,
	    &handler, &p);
	p.s = s;
	if (ka)
		ldapsync_set_keepalive(s, atoi(ka));
	if (p.cookie_dir) {
		int r = synccookie_load(p.cookie_dir, "stream", &server,
		    &cookie, &len, err, sizeof(err));

		if (r < 0)
			printf("%lld status TEMP %s\n", wall_ms(), err);
		else if (r > 0)
			ldapsync_resume(s, server, cookie, len);
		free(server);
		free(cookie);
	}
	while (!stopping && clock_ms() < end) {
		enum ldapconn_status st = ldapsync_run(s, 200, err,
		    sizeof(err));
		const char *now = ldapsync_server(s);

		if (now && strcmp(now, last) != 0) {
			snprintf(last, sizeof(last), "%s", now);
			printf("%lld server %s\n", wall_ms(), now);
			fflush(stdout);
		}
		if (st != LDAPCONN_OK) {
			printf("%lld status %s %s\n", wall_ms(),
			    st == LDAPCONN_TEMP ? "TEMP" : st == LDAPCONN_PERM ?
			    "PERM" : "ABORTED", err);
			fflush(stdout);
			if (st == LDAPCONN_PERM) {
				rc = 2;
				break;
			}
			if (st == LDAPCONN_ABORTED)
				break;
		}
	}
	ldapsync_free(s);
	printf("%lld end\n", wall_ms());
	fflush(stdout);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cfg *cfg;
	char err[1024];
	int rc;

	if (argc < 3)
		return usage();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	cfg = cfg_load(argv[1], err, sizeof(err));
	if (cfg == NULL) {
		printf("error: %s\n", err);
		return 2;
	}
	if (strcmp(argv[2], "stream") == 0 && argc >= 6) {
		rc = stream(cfg, argc, argv);
	} else if (strcmp(argv[2], "supported") == 0 && argc == 3) {
		struct ldapconn *lc = ldapconn_new(cfg);
		int r = ldapsync_supported(lc, err, sizeof(err));

		if (r < 0)
			printf("error: %s\n", err);
		else
			printf("%s\n", r ? "yes" : "no");
		ldapconn_free(lc);
		rc = r < 0 ? 1 : 0;
	} else {
		rc = usage();
	}
	cfg_free(cfg);
	return rc;
}
