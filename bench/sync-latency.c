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
 */
#include <ldap.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cfg.h"
#include "common/ldapconn.h"
#include "common/ldapsync.h"

#define OBS 3

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

	if (argc != 5) {
		fprintf(stderr, "usage: sync-latency CONSUMER_CONF "
		    "PROVIDER_CONF N ACCOUNTS\n");
		return 64;
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
		while ((!T.seen[0] || !T.seen[1] || !T.seen[2]) &&
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
		for (int k = 0; k < OBS; k++) {
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
	for (int i = 0; i < OBS; i++)
		pthread_join(th[i], NULL);
	report("modify round trip (provider)", rtt, nrtt, 0);
	report("visible in the consumer replica", lat[0], got[0], missed[0]);
	report("delivered: stream from consumer", lat[1], got[1], missed[1]);
	report("delivered: stream from provider", lat[2], got[2], missed[2]);
	ldap_unbind_ext(ld, NULL, NULL);
	for (int i = 0; i < OBS; i++)
		free(lat[i]);
	free(rtt);
	cfg_free(ccfg);
	cfg_free(pcfg);
	return 0;
}
