/*
 * sync-latency: how long a change made on the provider takes to show (1)
 * in the consumer replica itself (slapd's own replication: the anchor),
 * (2) through common/ldapsync's stream from the consumer, (3) through the
 * stream from the provider.  A benchmark, never a test (bench/sync.py
 * runs it); the modifies are made here with libldap directly, as the
 * provider's rootdn, so no process start sits inside a measurement.
 *
 *   sync-latency CONSUMER_CONF PROVIDER_CONF N ACCOUNTS
 *
 * Each CONF is an ldapmail.conf whose ldap_uri is that server (bind as
 * the system DN).  Change i replaces mailAlternateAddress of the entry
 * uid=userNNNNNNN,<account_base> (NNNNNNN random below ACCOUNTS: the
 * accounts of bench/lookupd.py's gen_ldif) with a fresh value; (1) is a base search of that entry on the consumer
 * every 0.3 ms until it holds the value.  Changes go one at a time, 20-40
 * ms apart, each once all three saw it (5 s at most: "missed").  Prints
 * p50/p90/p99/max in ms from the start of the modify for each, and the
 * modify's own round trip.
 *
 *   sync-latency CONSUMER_CONF PROVIDER_CONF N ACCOUNTS SOCKET CDB
 *
 * adds (4) a running lookupd (sync = persist) that answers the new value
 * over socketmap (SOCKET: its UNIX socket, map "mailbox", polled every
 * 0.3 ms on one connection) and (5) the cdb file (CDB: its mailbox.cdb,
 * opened afresh and looked up every ms).
 */
#include <ldap.h>

#include <cdb.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/ldapconn.h"
#include "common/ldapsync.h"

#define OBS 5

struct target {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char dn[256];
	char val[128];
	double t0;
	double seen[OBS];	/* ms, 0: not yet */
	int stop;
	int ready[OBS];		/* the stream finished its refresh */
};

static struct target T = { PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_COND_INITIALIZER, "", "", 0, { 0 }, 0, { 0 } };

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void
saw(int who, const char *dn, const struct lentry *e)
{
	const struct lval *v;
	size_t n = lentry_values(e, "mailAlternateAddress", &v);
	double t = now_ms();

	pthread_mutex_lock(&T.mu);
	if (T.dn[0] && strcasecmp(dn, T.dn) == 0 && T.seen[who] == 0)
		for (size_t i = 0; i < n; i++)
			if (v[i].len == strlen(T.val) &&
			    memcmp(v[i].ptr, T.val, v[i].len) == 0) {
				T.seen[who] = t;
				pthread_cond_broadcast(&T.cv);
			}
	pthread_mutex_unlock(&T.mu);
}

/* ---- (1) the replica itself ---- */

struct poller {
	const struct cfg *cfg;
};

static int
poll_entry(const struct lentry *e, void *arg)
{
	(void)arg;
	saw(0, lentry_dn(e), e);
	return 0;
}

static void *
poller_main(void *arg)
{
	struct poller *p = arg;
	struct ldapconn *lc = ldapconn_new(p->cfg);
	const char *const attrs[] = { "mailAlternateAddress", NULL };
	char err[512], dn[256];

	for (;;) {
		struct timespec pause = { 0, 300000 };
		int wait;

		pthread_mutex_lock(&T.mu);
		if (T.stop) {
			pthread_mutex_unlock(&T.mu);
			break;
		}
		wait = T.dn[0] == '\0' || T.seen[0] != 0;
		snprintf(dn, sizeof(dn), "%s", T.dn);
		pthread_mutex_unlock(&T.mu);
		if (!wait)
			(void)ldapconn_search(lc, dn, CFG_SCOPE_BASE,
			    "(objectClass=*)", attrs, 0, poll_entry, NULL, err,
			    sizeof(err));
		nanosleep(&pause, NULL);
	}
	ldapconn_free(lc);
	return NULL;
}

/* ---- (4) lookupd over socketmap, (5) its cdb file ---- */

static const char *sock_path, *cdb_path;

static void
seen_now(int who, const char *val)
{
	double t = now_ms();

	pthread_mutex_lock(&T.mu);
	if (T.dn[0] && strcmp(val, T.val) == 0 && T.seen[who] == 0) {
		T.seen[who] = t;
		pthread_cond_broadcast(&T.cv);
	}
	pthread_mutex_unlock(&T.mu);
}

/* What to look for now (0: nothing). */
static int
wanted(int who, char *val, size_t size)
{
	int want;

	pthread_mutex_lock(&T.mu);
	want = T.dn[0] != '\0' && T.seen[who] == 0 && !T.stop;
	snprintf(val, size, "%s", T.val);
	pthread_mutex_unlock(&T.mu);
	return want;
}

static int
stopped(void)
{
	int st;

	pthread_mutex_lock(&T.mu);
	st = T.stop;
	pthread_mutex_unlock(&T.mu);
	return st;
}

static int
sock_open(void)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* One socketmap request; 1 OK, 0 other, -1 the connection failed. */
static int
sock_ask(int fd, const char *key)
{
	char req[512], rep[4096];
	size_t got = 0;
	int n = snprintf(req + 16, sizeof(req) - 16, "mailbox %s", key);
	int h = snprintf(req, 16, "%d:", n);

	memmove(req + h, req + 16, (size_t)n);
	req[h + n] = ',';
	if (write(fd, req, (size_t)(h + n + 1)) != h + n + 1)
		return -1;
	for (;;) {
		ssize_t r = read(fd, rep + got, sizeof(rep) - 1 - got);
		char *colon;

		if (r <= 0)
			return -1;
		got += (size_t)r;
		rep[got] = '\0';
		colon = strchr(rep, ':');
		if (colon && got >= (size_t)(colon - rep) + 2 +
		    (size_t)atol(rep))
			return strncmp(colon + 1, "OK", 2) == 0;
	}
}

static void *
sockmap_main(void *arg)
{
	int fd = -1;
	char val[128];

	(void)arg;
	while (!stopped()) {
		struct timespec pause = { 0, 300000 };

		if (wanted(3, val, sizeof(val))) {
			if (fd < 0)
				fd = sock_open();
			if (fd >= 0) {
				int r = sock_ask(fd, val);

				if (r < 0) {
					close(fd);
					fd = -1;
				} else if (r == 1) {
					seen_now(3, val);
				}
			}
		}
		nanosleep(&pause, NULL);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void *
cdbfile_main(void *arg)
{
	char val[128];

	(void)arg;
	while (!stopped()) {
		struct timespec pause = { 0, 1000000 };

		if (wanted(4, val, sizeof(val))) {
			int fd = open(cdb_path, O_RDONLY);
			struct cdb c;

			if (fd >= 0 && cdb_init(&c, fd) == 0) {
				if (cdb_find(&c, val, (unsigned)strlen(val)) > 0)
					seen_now(4, val);
				cdb_free(&c);
			}
			if (fd >= 0)
				close(fd);
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/* ---- (2), (3) streams ---- */

struct streamer {
	const struct cfg *cfg;
	int who;
	const char *base;
};

static int
h_reset(void *arg, const char *why)
{
	(void)arg;
	(void)why;
	return 0;
}

static int
h_entry(void *arg, enum ldapsync_state st, const unsigned char *uuid,
    const struct lentry *e)
{
	struct streamer *s = arg;

	(void)uuid;
	if (st == LDAPSYNC_ADD || st == LDAPSYNC_MODIFY)
		saw(s->who, lentry_dn(e), e);
	return 0;
}

static int
h_idset(void *arg, int deletes, const unsigned char *u, size_t n)
{
	(void)arg;
	(void)deletes;
	(void)u;
	(void)n;
	return 0;
}

static int
h_phase(void *arg, int present, int done)
{
	struct streamer *s = arg;

	(void)present;
	if (done) {
		pthread_mutex_lock(&T.mu);
		T.ready[s->who] = 1;
		pthread_cond_broadcast(&T.cv);
		pthread_mutex_unlock(&T.mu);
	}
	return 0;
}

static int
h_cookie(void *arg, const char *c, size_t len)
{
	(void)arg;
	(void)c;
	(void)len;
	return 0;
}

static const struct ldapsync_handler H = {
	h_reset, h_entry, h_idset, h_phase, h_cookie
};

static void *
streamer_main(void *arg)
{
	struct streamer *s = arg;
	const char *const attrs[] = { "mailAlternateAddress", NULL };
	struct ldapsync *ls = ldapsync_new(s->cfg, s->base, CFG_SCOPE_SUB,
	    "(objectClass=qmailUser)", attrs, &H, s);
	char err[512];

	for (;;) {
		int stop;

		pthread_mutex_lock(&T.mu);
		stop = T.stop;
		pthread_mutex_unlock(&T.mu);
		if (stop)
			break;
		if (ldapsync_run(ls, 100, err, sizeof(err)) != LDAPCONN_OK)
			fprintf(stderr, "stream %d: %s\n", s->who, err);
	}
	ldapsync_free(ls);
	return NULL;
}

/* ---- figures ---- */

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *name, double *v, size_t n, size_t missed)
{
	if (n == 0) {
		printf("%-34s no data (missed %zu)\n", name, missed);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_d);
	printf("%-34s p50 %7.2f  p90 %7.2f  p99 %7.2f  max %7.2f ms  (%zu, "
	    "missed %zu)\n", name, v[n / 2], v[n * 9 / 10],
	    v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], v[n - 1], n,
	    missed);
}

static LDAP *
provider_handle(const struct cfg *cfg)
{
	LDAP *ld = NULL;
	int v3 = LDAP_VERSION3;
	struct berval pw = { 12, (char *)"admin-secret" };

	if (ldap_initialize(&ld, cfg->ldap_uri.v[0]) != LDAP_SUCCESS)
		return NULL;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	if (ldap_sasl_bind_s(ld, "cn=admin,o=company", LDAP_SASL_SIMPLE, &pw,
	    NULL, NULL, NULL) != LDAP_SUCCESS) {
		ldap_unbind_ext(ld, NULL, NULL);
		return NULL;
	}
	return ld;
}

int
main(int argc, char **argv)
{
	struct cfg *ccfg, *pcfg;
	char err[512];
	long n, accounts;
	double *lat[OBS], *rtt;
	size_t got[OBS] = { 0 }, missed[OBS] = { 0 }, nrtt = 0;
	pthread_t th[OBS];
	struct poller po;
	struct streamer st[2];
	LDAP *ld;
	unsigned seed = 12345;
	int nobs = 3;

	if (argc != 5 && argc != 7) {
		fprintf(stderr, "usage: sync-latency CONSUMER_CONF "
		    "PROVIDER_CONF N ACCOUNTS [SOCKET CDB]\n");
		return 64;
	}
	if (argc == 7) {
		sock_path = argv[5];
		cdb_path = argv[6];
		nobs = OBS;
	}
	ccfg = cfg_load(argv[1], err, sizeof(err));
	pcfg = ccfg ? cfg_load(argv[2], err, sizeof(err)) : NULL;
	if (pcfg == NULL) {
		fprintf(stderr, "sync-latency: %s\n", err);
		return 2;
	}
	n = atol(argv[3]);
	accounts = atol(argv[4]);
	ld = provider_handle(pcfg);
	if (ld == NULL || n < 1 || accounts < 1) {
		fprintf(stderr, "sync-latency: cannot bind to the provider\n");
		return 2;
	}
	for (int i = 0; i < OBS; i++)
		lat[i] = calloc((size_t)n, sizeof(double));
	rtt = calloc((size_t)n, sizeof(double));

	po.cfg = ccfg;
	st[0].cfg = ccfg;
	st[0].who = 1;
	st[0].base = ccfg->account_base;
	st[1].cfg = pcfg;
	st[1].who = 2;
	st[1].base = pcfg->account_base;
	pthread_create(&th[0], NULL, poller_main, &po);
	pthread_create(&th[1], NULL, streamer_main, &st[0]);
	pthread_create(&th[2], NULL, streamer_main, &st[1]);
	if (nobs == OBS) {
		pthread_create(&th[3], NULL, sockmap_main, NULL);
		pthread_create(&th[4], NULL, cdbfile_main, NULL);
	}
	pthread_mutex_lock(&T.mu);
	{
		double t0 = now_ms();

		while ((!T.ready[1] || !T.ready[2]) && now_ms() - t0 < 600000) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&T.cv, &T.mu, &ts);
		}
		printf("# streams refreshed in %.0f ms\n", now_ms() - t0);
	}
	pthread_mutex_unlock(&T.mu);

	for (long i = 0; i < n; i++) {
		char dn[256], val[128], *vals[2] = { val, NULL };
		LDAPMod mod = { LDAP_MOD_REPLACE, (char *)"mailAlternateAddress",
			{ vals } }, *mods[2] = { &mod, NULL };
		long j = (long)(rand_r(&seed) % (unsigned)accounts);
		double t0, t1, deadline;
		struct timespec gap = { 0, 20000000L +
		    (long)(rand_r(&seed) % 20) * 1000000L };
		int rc;

		snprintf(dn, sizeof(dn), "uid=user%07ld,%s", j,
		    pcfg->account_base);
		snprintf(val, sizeof(val), "lat%ld.%u@bench.test", i,
		    (unsigned)rand_r(&seed));
		pthread_mutex_lock(&T.mu);
		snprintf(T.dn, sizeof(T.dn), "%s", dn);
		snprintf(T.val, sizeof(T.val), "%s", val);
		for (int k = 0; k < OBS; k++)
			T.seen[k] = 0;
		t0 = now_ms();
		T.t0 = t0;
		pthread_mutex_unlock(&T.mu);
		rc = ldap_modify_ext_s(ld, dn, mods, NULL, NULL);
		t1 = now_ms();
		if (rc != LDAP_SUCCESS) {
			fprintf(stderr, "modify %s: %s\n", dn,
			    ldap_err2string(rc));
			break;
		}
		rtt[nrtt++] = t1 - t0;
		deadline = t0 + 5000;
		pthread_mutex_lock(&T.mu);
		while ((!T.seen[0] || !T.seen[1] || !T.seen[2] ||
		    (nobs == OBS && (!T.seen[3] || !T.seen[4]))) &&
		    now_ms() < deadline) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 5000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&T.cv, &T.mu, &ts);
		}
		for (int k = 0; k < nobs; k++) {
			if (T.seen[k])
				lat[k][got[k]++] = T.seen[k] - t0;
			else
				missed[k]++;
		}
		T.dn[0] = '\0';
		pthread_mutex_unlock(&T.mu);
		nanosleep(&gap, NULL);
	}
	pthread_mutex_lock(&T.mu);
	T.stop = 1;
	pthread_mutex_unlock(&T.mu);
	for (int i = 0; i < nobs; i++)
		pthread_join(th[i], NULL);
	report("modify round trip (provider)", rtt, nrtt, 0);
	report("visible in the consumer replica", lat[0], got[0], missed[0]);
	report("delivered: stream from consumer", lat[1], got[1], missed[1]);
	report("delivered: stream from provider", lat[2], got[2], missed[2]);
	if (nobs == OBS) {
		report("lookupd answers it (socketmap)", lat[3], got[3],
		    missed[3]);
		report("lookupd's cdb file has it", lat[4], got[4], missed[4]);
	}
	ldap_unbind_ext(ld, NULL, NULL);
	for (int i = 0; i < OBS; i++)
		free(lat[i]);
	free(rtt);
	cfg_free(ccfg);
	cfg_free(pcfg);
	return 0;
}
