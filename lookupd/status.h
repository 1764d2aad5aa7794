/*
 * status: the daemon's state in one structure, filled in by the engine
 * (maps, snapshots, LDAP) and the server (connections, requests,
 * latency), and the one place every report of it is rendered from:
 * `lookupd stats` ("name value" lines), systemd's STATUS= line and
 * whether the daemon is ready (notify.c), and Prometheus's text format
 * (metrics.c).  So the three never disagree.
 *
 * Filled on the event loop, which owns every counter: nothing here is
 * shared with another thread.
 */
#ifndef LDAPMAIL_STATUS_H
#define LDAPMAIL_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;

/* The latency histogram of answered lookups (from the request read to
 * its answer), counted on the loop.  STATUS_LAT_BOUNDS upper bounds in
 * ns, plus one bucket above the last; not cumulative (Prometheus's
 * cumulative buckets are summed when rendered). */
#define STATUS_LAT_BOUNDS 14
extern const uint64_t status_lat_bounds_ns[STATUS_LAT_BOUNDS];

struct lathist {
	uint64_t bucket[STATUS_LAT_BOUNDS + 1];
	uint64_t count;
	uint64_t sum_ns;
};

/* Count one latency: a few comparisons, no clock, no lock. */
static inline void
lathist_add(struct lathist *h, uint64_t ns)
{
	size_t i = 0;

	while (i < STATUS_LAT_BOUNDS && ns > status_lat_bounds_ns[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_ns += ns;
}

struct status_map {
	const char *name;		/* the configuration's, borrowed */
	unsigned long long count[4];	/* by enum result */
	unsigned long long snap_hits, cache_hits, live;
	int loaded;			/* a snapshot is answered from */
	long age;			/* s since it was built */
	size_t keys;
};

struct status {
	time_t now, started;
	struct status_map *maps;
	size_t n_maps;

	/* engine */
	unsigned long long unknown_map, busy;
	int has_lat;			/* live latencies seen */
	double lat_p50_ms, lat_p99_ms;
	unsigned long long builds_ok, builds_failed;
	double build_seconds;		/* the last build's, < 0: none yet */
	unsigned long long ldap_errors;
	char last_error[640];		/* "" none */
	long last_error_age;
	char server[512];		/* the ldap_uri entry in use, "" none */
	char *extra;			/* more `stats` lines (the sync, the
					 * sessions), owned, may be NULL */
	size_t extra_len;

	/* server */
	size_t conn_open;
	int conn_max;
	unsigned long long accepted, refused, closed_idle;
	unsigned long long req_sockmap, req_tcp, req_bad, req_async;
	unsigned long long req_pending, req_stats, dropped;
	struct lathist lat;
};

/* Ready for systemd: every map has a snapshot to answer from (sockets
 * are bound before the loop that asks this runs). */
int status_ready(const struct status *st);

/* `lookupd stats`: "name value\n" lines (documented in lookupd(8)). */
void status_text(const struct status *st, struct buf *out);

/* One line for systemd's STATUS=: ready, the snapshot's age, keys per
 * map, the LDAP server in use; or why not ready. */
void status_line(const struct status *st, struct buf *out);

/* Free what engine_status() allocated. */
void status_free(struct status *st);

#endif
