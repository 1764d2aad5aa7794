/*
 * ldapconn-probe: drives common/ldapconn for the integration tests
 * (tests/integration/test_ldapconn.py).  Not installed.
 *
 *   ldapconn-probe CONFIG search BASE SCOPE FILTER [paged|plain] [ATTR...]
 *   ldapconn-probe CONFIG open
 *   ldapconn-probe CONFIG normalize DN
 *   ldapconn-probe CONFIG loop N BASE FILTER
 *   ldapconn-probe CONFIG threads N BASE FILTER
 *
 * search prints "dn: DN" and "ATTR: value" lines (the attributes named,
 * in that order; none named: DNs only), then "entries: N",
 * "status: OK|TEMP|PERM|ABORTED" and, on failure, "error: ...".  open
 * prints "server: URI" when connected.  loop runs one session's search
 * (subtree, plain, no attributes) N times, one second apart, one line
 * "status: S entries=N ms=T server=I" (+ "error: ...") each, flushed at
 * once; I is the index in ldap_uri of the server the session is on after
 * the search (ldapconn_current), -1 when none.
 * threads runs N threads, each with its own session doing 20 paged
 * searches at once; "status: OK entries=N" when every search of every
 * thread was OK and found the same N entries.
 * Bytes outside printable ASCII and UTF-8 are shown as \xHH.  Exit: 0 OK,
 * 1 TEMP, 2 PERM (or a bad config/DN), 3 ABORTED, 64 usage.
 *
 * SIGPIPE is left at its default on purpose: ldapconn must survive a
 * server that goes away without the program's help.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cfg.h"
#include "common/ldapconn.h"

struct want {
	const char *const *attrs;
	size_t count;
};

static const char *
status_name(enum ldapconn_status st)
{
	switch (st) {
	case LDAPCONN_OK:
		return "OK";
	case LDAPCONN_TEMP:
		return "TEMP";
	case LDAPCONN_PERM:
		return "PERM";
	case LDAPCONN_ABORTED:
		return "ABORTED";
	}
	return "?";
}

static int
status_exit(enum ldapconn_status st)
{
	switch (st) {
	case LDAPCONN_OK:
		return 0;
	case LDAPCONN_TEMP:
		return 1;
	case LDAPCONN_PERM:
		return 2;
	case LDAPCONN_ABORTED:
		return 3;
	}
	return 2;
}

static void
put_bytes(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c >= 0x20 && c < 0x7f && c != '\\') || c >= 0x80)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

static int
print_entry(const struct lentry *e, void *arg)
{
	struct want *w = arg;

	printf("dn: %s\n", lentry_dn(e));
	for (size_t i = 0; w->attrs && w->attrs[i]; i++) {
		const struct lval *v;
		size_t n = lentry_values(e, w->attrs[i], &v);

		for (size_t j = 0; j < n; j++) {
			printf("%s: ", w->attrs[i]);
			put_bytes(v[j].ptr, v[j].len);
			putchar('\n');
		}
	}
	w->count++;
	return 0;
}

static int
count_entry(const struct lentry *e, void *arg)
{
	(void)e;
	((struct want *)arg)->count++;
	return 0;
}

static int
parse_scope(const char *s, enum cfg_scope *scope)
{
	if (strcmp(s, "base") == 0)
		*scope = CFG_SCOPE_BASE;
	else if (strcmp(s, "one") == 0)
		*scope = CFG_SCOPE_ONE;
	else if (strcmp(s, "sub") == 0)
		*scope = CFG_SCOPE_SUB;
	else
		return -1;
	return 0;
}

static void
report(enum ldapconn_status st, const char *err)
{
	printf("status: %s\n", status_name(st));
	if (st != LDAPCONN_OK)
		printf("error: %s\n", err);
	fflush(stdout);
}

static long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

#define THREAD_ROUNDS 20

struct worker {
	pthread_t t;
	const struct cfg *cfg;
	const char *base, *filter;
	enum ldapconn_status st;
	size_t first, bad;	/* entries of the first search; rounds that differ */
	char err[512];
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct ldapconn *lc = ldapconn_new(w->cfg);
	const char *const none[] = { NULL };

	w->st = LDAPCONN_OK;
	for (int i = 0; i < THREAD_ROUNDS && w->st == LDAPCONN_OK; i++) {
		struct want c = { NULL, 0 };

		w->st = ldapconn_search(lc, w->base, CFG_SCOPE_SUB, w->filter,
		    none, 1, count_entry, &c, w->err, sizeof(w->err));
		if (i == 0)
			w->first = c.count;
		else if (c.count != w->first)
			w->bad++;
	}
	ldapconn_free(lc);
	return NULL;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: ldapconn-probe CONFIG search BASE base|one|sub FILTER "
	    "[paged|plain] [ATTR...]\n"
	    "       ldapconn-probe CONFIG open\n"
	    "       ldapconn-probe CONFIG normalize DN\n"
	    "       ldapconn-probe CONFIG loop N BASE FILTER\n"
	    "       ldapconn-probe CONFIG threads N BASE FILTER\n");
	return 64;
}

int
main(int argc, char **argv)
{
	struct cfg *cfg;
	struct ldapconn *lc;
	char err[1024];
	enum ldapconn_status st = LDAPCONN_OK;
	const char *cmd;
	int rc;

	if (argc < 3)
		return usage();
	cmd = argv[2];
	if (strcmp(cmd, "normalize") == 0) {
		char *n;

		/* Needs no configuration; CONFIG is accepted and ignored. */
		if (argc != 4)
			return usage();
		n = ldapconn_dn_normalize(argv[3]);
		if (n == NULL) {
			printf("invalid\n");
			return 2;
		}
		printf("%s\n", n);
		free(n);
		return 0;
	}

	cfg = cfg_load(argv[1], err, sizeof(err));
	if (cfg == NULL) {
		printf("status: PERM\nerror: %s\n", err);
		return 2;
	}
	lc = ldapconn_new(cfg);
	err[0] = '\0';

	if (strcmp(cmd, "open") == 0 && argc == 3) {
		st = ldapconn_open(lc, err, sizeof(err));
		if (ldapconn_server(lc))
			printf("server: %s\n", ldapconn_server(lc));
		report(st, err);
		rc = status_exit(st);
	} else if (strcmp(cmd, "search") == 0 && argc >= 6) {
		enum cfg_scope scope;
		int paged = 0;
		struct want w = { NULL, 0 };

		if (parse_scope(argv[4], &scope) != 0) {
			rc = usage();
			goto out;
		}
		if (argc >= 7) {
			if (strcmp(argv[6], "paged") == 0)
				paged = 1;
			else if (strcmp(argv[6], "plain") != 0) {
				rc = usage();
				goto out;
			}
			if (argc > 7)
				w.attrs = (const char *const *)&argv[7];
		}
		st = ldapconn_search(lc, argv[3], scope, argv[5], w.attrs,
		    paged, print_entry, &w, err, sizeof(err));
		printf("entries: %zu\n", w.count);
		report(st, err);
		rc = status_exit(st);
	} else if (strcmp(cmd, "loop") == 0 && argc == 6) {
		const char *const none[] = { NULL };
		long n = strtol(argv[3], NULL, 10);

		for (long i = 0; i < n; i++) {
			struct want w = { NULL, 0 };
			long t0 = now_ms();

			if (i) {
				struct timespec sec = { 1, 0 };

				nanosleep(&sec, NULL);
				t0 = now_ms();
			}
			st = ldapconn_search(lc, argv[4], CFG_SCOPE_SUB,
			    argv[5], none, 0, count_entry, &w, err,
			    sizeof(err));
			printf("status: %s entries=%zu ms=%ld server=%d\n",
			    status_name(st), w.count, now_ms() - t0,
			    ldapconn_current(lc, NULL, 0));
			if (st != LDAPCONN_OK)
				printf("error: %s\n", err);
			fflush(stdout);
		}
		rc = status_exit(st);
	} else if (strcmp(cmd, "threads") == 0 && argc == 6) {
		long n = strtol(argv[3], NULL, 10), started = 0, bad = 0;
		struct worker *w;

		if (n < 1 || n > 64) {
			rc = usage();
			goto out;
		}
		w = calloc((size_t)n, sizeof(*w));
		if (w == NULL) {
			rc = 2;
			goto out;
		}
		for (long i = 0; i < n; i++) {
			w[i].cfg = cfg;
			w[i].base = argv[4];
			w[i].filter = argv[5];
			if (pthread_create(&w[i].t, NULL, worker_main, &w[i]))
				break;
			started++;
		}
		for (long i = 0; i < started; i++)
			pthread_join(w[i].t, NULL);
		st = started == n ? LDAPCONN_OK : LDAPCONN_TEMP;
		for (long i = 0; i < started && st == LDAPCONN_OK; i++)
			if (w[i].st != LDAPCONN_OK ||
			    w[i].bad || w[i].first != w[0].first) {
				st = w[i].st != LDAPCONN_OK ? w[i].st :
				    LDAPCONN_TEMP;
				bad = i;
			}
		printf("status: %s entries=%zu\n", status_name(st),
		    started ? w[0].first : 0);
		if (started < n)
			printf("error: cannot start threads\n");
		else if (st != LDAPCONN_OK)
			printf("error: thread %ld: %s (first count %zu, %zu "
			    "different)\n", bad, w[bad].err, w[bad].first,
			    w[bad].bad);
		free(w);
		rc = status_exit(st);
	} else {
		rc = usage();
	}
out:
	ldapconn_free(lc);
	cfg_free(cfg);
	return rc;
}
