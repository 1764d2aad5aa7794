/*
 * metrics: Prometheus's text format of the daemon's state (metrics.h).
 */
#include <stdio.h>

#include "common/buf.h"
#include "lookupd/metrics.h"
#include "lookupd/status.h"

static const char *const results[4] = { "FOUND", "NOTFOUND", "TEMP",
    "PERM" };

static void
family(struct buf *out, const char *name, const char *type,
    const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

void
metrics_label(struct buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			buf_puts(out, "\\\\");
		else if (*v == '"')
			buf_puts(out, "\\\"");
		else if (*v == '\n')
			buf_puts(out, "\\n");
		else
			buf_putc(out, *v);
	}
}

/* name{map="M"} or name{map="M",LABEL="V"} */
static void
map_sample(struct buf *out, const char *name, const char *map,
    const char *label, const char *v)
{
	buf_printf(out, "%s{map=\"", name);
	metrics_label(out, map);
	if (label) {
		buf_printf(out, "\",%s=\"", label);
		metrics_label(out, v);
	}
	buf_puts(out, "\"} ");
}

/* Seconds from ns, exactly as a decimal (no float rounding). */
static void
seconds(struct buf *out, uint64_t ns)
{
	uint64_t frac = ns % 1000000000u;
	int digits = 9;

	buf_printf(out, "%llu", (unsigned long long)(ns / 1000000000u));
	if (frac == 0)
		return;
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	buf_printf(out, ".%0*llu", digits, (unsigned long long)frac);
}

static void
lookups(const struct status *st, struct buf *out)
{
	static const char *const sources[3] = { "snapshot", "cache", "live" };

	family(out, "ldapmail_lookups_total", "counter",
	    "Lookups answered, by map and result.");
	for (size_t i = 0; i < st->n_maps; i++)
		for (int r = 0; r < 4; r++) {
			map_sample(out, "ldapmail_lookups_total",
			    st->maps[i].name, "result", results[r]);
			buf_printf(out, "%llu\n", st->maps[i].count[r]);
		}
	family(out, "ldapmail_lookup_sources_total", "counter",
	    "Lookups by where the answer came from: the snapshot, the "
	    "memory of live answers (cache), or LDAP asked live.");
	for (size_t i = 0; i < st->n_maps; i++) {
		const struct status_map *m = &st->maps[i];
		unsigned long long v[3] = { m->snap_hits, m->cache_hits,
		    m->live };

		for (int k = 0; k < 3; k++) {
			map_sample(out, "ldapmail_lookup_sources_total",
			    m->name, "source", sources[k]);
			buf_printf(out, "%llu\n", v[k]);
		}
	}
	family(out, "ldapmail_unknown_map_lookups_total", "counter",
	    "Requests naming a map that is not configured.");
	buf_printf(out, "ldapmail_unknown_map_lookups_total %llu\n",
	    st->unknown_map);
	family(out, "ldapmail_live_lookups_refused_total", "counter",
	    "Live lookups answered TEMP at once: too many waiting.");
	buf_printf(out, "ldapmail_live_lookups_refused_total %llu\n",
	    st->busy);
}

static void
latency(const struct status *st, struct buf *out)
{
	const char *n = "ldapmail_lookup_duration_seconds";
	uint64_t cum = 0;

	family(out, n, "histogram",
	    "Time from a lookup request read to its answer.");
	for (int i = 0; i < STATUS_LAT_BOUNDS; i++) {
		cum += st->lat.bucket[i];
		buf_printf(out, "%s_bucket{le=\"", n);
		seconds(out, status_lat_bounds_ns[i]);
		buf_printf(out, "\"} %llu\n", (unsigned long long)cum);
	}
	cum += st->lat.bucket[STATUS_LAT_BOUNDS];
	buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", n,
	    (unsigned long long)cum);
	buf_printf(out, "%s_sum ", n);
	seconds(out, st->lat.sum_ns);
	buf_printf(out, "\n%s_count %llu\n", n,
	    (unsigned long long)st->lat.count);
}

static void
snapshots(const struct status *st, struct buf *out)
{
	family(out, "ldapmail_snapshot_loaded", "gauge",
	    "1 when the map is answered from a snapshot.");
	for (size_t i = 0; i < st->n_maps; i++) {
		map_sample(out, "ldapmail_snapshot_loaded", st->maps[i].name,
		    NULL, NULL);
		buf_printf(out, "%d\n", st->maps[i].loaded ? 1 : 0);
	}
	family(out, "ldapmail_snapshot_age_seconds", "gauge",
	    "Age of the map's snapshot (maps with one).");
	for (size_t i = 0; i < st->n_maps; i++)
		if (st->maps[i].loaded) {
			map_sample(out, "ldapmail_snapshot_age_seconds",
			    st->maps[i].name, NULL, NULL);
			buf_printf(out, "%ld\n", st->maps[i].age);
		}
	family(out, "ldapmail_snapshot_keys", "gauge",
	    "Keys in the map's snapshot (maps with one).");
	for (size_t i = 0; i < st->n_maps; i++)
		if (st->maps[i].loaded) {
			map_sample(out, "ldapmail_snapshot_keys",
			    st->maps[i].name, NULL, NULL);
			buf_printf(out, "%zu\n", st->maps[i].keys);
		}
	family(out, "ldapmail_snapshot_rebuilds_total", "counter",
	    "Snapshot builds from LDAP, by result.");
	buf_printf(out, "ldapmail_snapshot_rebuilds_total{result=\"ok\"} "
	    "%llu\n", st->builds_ok);
	buf_printf(out, "ldapmail_snapshot_rebuilds_total{result=\"failed\"} "
	    "%llu\n", st->builds_failed);
	if (st->build_seconds >= 0) {
		family(out, "ldapmail_snapshot_rebuild_duration_seconds",
		    "gauge", "How long the last snapshot build took.");
		buf_printf(out, "ldapmail_snapshot_rebuild_duration_seconds "
		    "%.6f\n", st->build_seconds);
	}
}

static void
ldap(const struct status *st, struct buf *out)
{
	family(out, "ldapmail_ldap_errors_total", "counter",
	    "Failed LDAP operations: live lookups and snapshot builds.");
	buf_printf(out, "ldapmail_ldap_errors_total %llu\n", st->ldap_errors);
	family(out, "ldapmail_ldap_server", "gauge",
	    "The ldap_uri entry in use (1), when one answers.");
	if (st->server[0]) {
		buf_puts(out, "ldapmail_ldap_server{uri=\"");
		metrics_label(out, st->server);
		buf_puts(out, "\"} 1\n");
	}
}

static void
server(const struct status *st, struct buf *out)
{
	family(out, "ldapmail_connections_open", "gauge",
	    "Client connections open.");
	buf_printf(out, "ldapmail_connections_open %zu\n", st->conn_open);
	family(out, "ldapmail_connections_max", "gauge",
	    "max_connections.");
	buf_printf(out, "ldapmail_connections_max %d\n", st->conn_max);
	family(out, "ldapmail_connections_accepted_total", "counter",
	    "Client connections accepted.");
	buf_printf(out, "ldapmail_connections_accepted_total %llu\n",
	    st->accepted);
	family(out, "ldapmail_connections_refused_total", "counter",
	    "Client connections closed at once: max_connections reached.");
	buf_printf(out, "ldapmail_connections_refused_total %llu\n",
	    st->refused);
	family(out, "ldapmail_connections_closed_idle_total", "counter",
	    "Client connections closed after idle_timeout.");
	buf_printf(out, "ldapmail_connections_closed_idle_total %llu\n",
	    st->closed_idle);
	family(out, "ldapmail_requests_total", "counter",
	    "Lookup requests read, by protocol.");
	buf_printf(out, "ldapmail_requests_total{protocol=\"socketmap\"} "
	    "%llu\n", st->req_sockmap);
	buf_printf(out, "ldapmail_requests_total{protocol=\"tcp_table\"} "
	    "%llu\n", st->req_tcp);
	family(out, "ldapmail_bad_requests_total", "counter",
	    "Requests refused as malformed.");
	buf_printf(out, "ldapmail_bad_requests_total %llu\n", st->req_bad);
	family(out, "ldapmail_requests_pending", "gauge",
	    "Lookups waiting for LDAP.");
	buf_printf(out, "ldapmail_requests_pending %llu\n", st->req_pending);
}

void
metrics_render(const struct status *st, struct buf *out)
{
	family(out, "ldapmail_ready", "gauge",
	    "1 when every map has a snapshot to answer from.");
	buf_printf(out, "ldapmail_ready %d\n", status_ready(st));
	family(out, "ldapmail_start_time_seconds", "gauge",
	    "When the daemon started, in seconds since the epoch.");
	buf_printf(out, "ldapmail_start_time_seconds %lld\n",
	    (long long)st->started);
	lookups(st, out);
	latency(st, out);
	snapshots(st, out);
	ldap(st, out);
	server(st, out);
}
