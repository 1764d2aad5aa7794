/*
 * status: the daemon's state rendered as `lookupd stats` lines and as
 * systemd's STATUS= line (see status.h; Prometheus's format: metrics.c).
 */
#include <stdlib.h>

#include "common/buf.h"
#include "lookupd/status.h"

#define LINE_MAX_MAPS	8	/* maps named in STATUS=, the rest counted */

const uint64_t status_lat_bounds_ns[STATUS_LAT_BOUNDS] = {
	50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
	10000000, 25000000, 50000000, 100000000, 500000000, 1000000000,
	5000000000u,
};

int
status_ready(const struct status *st)
{
	for (size_t i = 0; i < st->n_maps; i++)
		if (!st->maps[i].loaded)
			return 0;
	return 1;
}

void
status_text(const struct status *st, struct buf *out)
{
	static const char *const names[] = { "found", "notfound", "temp",
	    "perm" };

	buf_printf(out, "uptime %ld\n", (long)(st->now - st->started));
	for (size_t i = 0; i < st->n_maps; i++) {
		const struct status_map *m = &st->maps[i];

		for (int r = 0; r < 4; r++)
			buf_printf(out, "map.%s.%s %llu\n", m->name, names[r],
			    m->count[r]);
		buf_printf(out, "map.%s.snapshot_hits %llu\n", m->name,
		    m->snap_hits);
		buf_printf(out, "map.%s.cache_hits %llu\n", m->name,
		    m->cache_hits);
		buf_printf(out, "map.%s.live_lookups %llu\n", m->name, m->live);
		buf_printf(out, "map.%s.snapshot_age %ld\n", m->name,
		    m->loaded ? m->age : -1L);
		buf_printf(out, "map.%s.snapshot_keys %zu\n", m->name,
		    m->loaded ? m->keys : 0);
	}
	buf_printf(out, "requests.unknown_map %llu\n", st->unknown_map);
	{
		unsigned long long live = 0;

		for (size_t i = 0; i < st->n_maps; i++)
			live += st->maps[i].live;
		buf_printf(out, "live.lookups %llu\n", live);
	}
	buf_printf(out, "live.refused_busy %llu\n", st->busy);
	if (st->has_lat) {
		buf_printf(out, "live.latency_ms_p50 %.3f\n", st->lat_p50_ms);
		buf_printf(out, "live.latency_ms_p99 %.3f\n", st->lat_p99_ms);
	} else {
		buf_puts(out, "live.latency_ms_p50 0\nlive.latency_ms_p99 0\n");
	}
	if (st->extra != NULL)
		buf_append(out, st->extra, st->extra_len);
	buf_printf(out, "snapshot.builds_ok %llu\n", st->builds_ok);
	buf_printf(out, "snapshot.builds_failed %llu\n", st->builds_failed);
	buf_printf(out, "ldap.last_error %s\n",
	    st->last_error[0] ? st->last_error : "-");
	buf_printf(out, "ldap.last_error_age %ld\n", st->last_error[0] ?
	    st->last_error_age : -1L);
	buf_printf(out, "connections.open %zu\n", st->conn_open);
	buf_printf(out, "connections.max %d\n", st->conn_max);
	buf_printf(out, "connections.accepted %llu\n", st->accepted);
	buf_printf(out, "connections.refused %llu\n", st->refused);
	buf_printf(out, "connections.closed_idle %llu\n", st->closed_idle);
	buf_printf(out, "requests.socketmap %llu\n", st->req_sockmap);
	buf_printf(out, "requests.tcp %llu\n", st->req_tcp);
	buf_printf(out, "requests.bad %llu\n", st->req_bad);
	buf_printf(out, "requests.deferred %llu\n", st->req_async);
	buf_printf(out, "requests.pending %llu\n", st->req_pending);
	buf_printf(out, "requests.stats %llu\n", st->req_stats);
	buf_printf(out, "answers.dropped %llu\n", st->dropped);
}

void
status_line(const struct status *st, struct buf *out)
{
	long oldest = -1;
	size_t shown = 0;

	for (size_t i = 0; i < st->n_maps; i++) {
		const struct status_map *m = &st->maps[i];

		if (!m->loaded) {
			buf_printf(out, "not ready: no snapshot of map %s: %s",
			    m->name, st->last_error[0] ? st->last_error :
			    "first build from LDAP under way");
			return;
		}
		if (m->age > oldest)
			oldest = m->age;
	}
	buf_printf(out, "ready: snapshot %ld s old", oldest < 0 ? 0 : oldest);
	for (size_t i = 0; i < st->n_maps && shown < LINE_MAX_MAPS; i++) {
		buf_printf(out, "%s%s %zu keys", shown ? ", " : " (",
		    st->maps[i].name, st->maps[i].keys);
		shown++;
	}
	if (st->n_maps > shown)
		buf_printf(out, ", %zu more maps", st->n_maps - shown);
	if (shown)
		buf_putc(out, ')');
	if (st->server[0])
		buf_printf(out, "; LDAP %s", st->server);
	else if (st->last_error[0])
		buf_printf(out, "; LDAP not answering: %s", st->last_error);
	else
		buf_puts(out, "; LDAP not asked yet");
}

void
status_free(struct status *st)
{
	free(st->maps);
	st->maps = NULL;
	free(st->extra);
	st->extra = NULL;
	st->n_maps = 0;
}
