/*
 * t_metrics: lookupd/metrics.c (Prometheus's text format), status.c
 * (the histogram's buckets, STATUS= lines, readiness) and
 * metricsfile.c (the atomic writer and its thread).  Exact lines for a
 * known state: counters per map and result, sources, the histogram's
 * cumulative buckets with inclusive upper bounds, its sum and count in
 * seconds, maps without a snapshot, the server in use as a label, label
 * escaping; every family announced once, HELP and TYPE before its
 * samples.  The writer: content, mode 0644, a new inode each time,
 * nothing else left in the directory, errors that leave the old file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include "common/buf.h"
#include "lookupd/metrics.h"
#include "lookupd/metricsfile.h"
#include "lookupd/status.h"
#include "unit.h"

static int
has_line(const struct buf *b, const char *line)
{
	size_t n = strlen(line);
	const char *p = buf_str(b);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == buf_str(b) || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p++;
	}
	return 0;
}

#define LINE(b, l)	CHECK(l, has_line((b), (l)))

static void
sample_status(struct status *st, struct status_map *maps)
{
	memset(st, 0, sizeof(*st));
	memset(maps, 0, 2 * sizeof(*maps));
	maps[0].name = "alias";
	maps[0].count[0] = 5;
	maps[0].count[1] = 3;
	maps[0].count[2] = 1;
	maps[0].snap_hits = 5;
	maps[0].cache_hits = 1;
	maps[0].live = 3;
	maps[0].loaded = 1;
	maps[0].age = 42;
	maps[0].keys = 6;
	maps[1].name = "domain";
	maps[1].count[3] = 2;
	st->maps = maps;
	st->n_maps = 2;
	st->started = 1700000000;
	st->now = 1700000100;
	st->builds_ok = 4;
	st->builds_failed = 1;
	st->build_seconds = 0.25;
	st->ldap_errors = 7;
	st->conn_open = 3;
	st->conn_max = 4096;
	st->req_sockmap = 11;
	st->req_tcp = 2;
}

/* Every "# TYPE" once, HELP right before it, samples only after. */
static void
check_families(const struct buf *b)
{
	char seen[64][80];
	size_t nseen = 0;
	int ok = 1, help = 0;
	const char *p = buf_str(b), *nl;
	char cur[80] = "";

	for (; *p; p = nl + 1) {
		char name[80];
		size_t len;

		if ((nl = strchr(p, '\n')) == NULL) {
			ok = 0;
			break;
		}
		if (strncmp(p, "# HELP ", 7) == 0) {
			help = 1;
			continue;
		}
		if (strncmp(p, "# TYPE ", 7) == 0) {
			len = strcspn(p + 7, " ");
			if (!help || len >= sizeof(name))
				ok = 0;
			snprintf(cur, sizeof(cur), "%.*s", (int)len, p + 7);
			for (size_t i = 0; i < nseen; i++)
				if (strcmp(seen[i], cur) == 0)
					ok = 0;
			if (nseen < 64)
				snprintf(seen[nseen++], sizeof(seen[0]), "%s",
				    cur);
			help = 0;
			continue;
		}
		len = strcspn(p, "{ ");
		if (strncmp(p, cur, strlen(cur)) != 0 || cur[0] == '\0' ||
		    (len != strlen(cur) && strncmp(p + strlen(cur), "_bucket",
		    7) != 0 && strncmp(p + strlen(cur), "_sum", 4) != 0 &&
		    strncmp(p + strlen(cur), "_count", 6) != 0))
			ok = 0;
	}
	CHECK("every family once, HELP and TYPE before its samples", ok);
	CHECK("text ends with a newline", b->len > 0 &&
	    b->p[b->len - 1] == '\n');
}

static void
test_render(void)
{
	struct status st;
	struct status_map maps[2];
	struct buf b = BUF_INIT;

	sample_status(&st, maps);
	/* 50 us exactly (le is inclusive), 50 us + 1 ns, 1 ms, 10 s. */
	lathist_add(&st.lat, 50000);
	lathist_add(&st.lat, 50001);
	lathist_add(&st.lat, 1000000);
	lathist_add(&st.lat, 10000000000u);
	metrics_render(&st, &b);
	check_families(&b);
	LINE(&b, "# TYPE ldapmail_lookups_total counter");
	LINE(&b, "ldapmail_lookups_total{map=\"alias\",result=\"FOUND\"} 5");
	LINE(&b, "ldapmail_lookups_total{map=\"alias\",result=\"NOTFOUND\"} 3");
	LINE(&b, "ldapmail_lookups_total{map=\"alias\",result=\"TEMP\"} 1");
	LINE(&b, "ldapmail_lookups_total{map=\"alias\",result=\"PERM\"} 0");
	LINE(&b, "ldapmail_lookups_total{map=\"domain\",result=\"PERM\"} 2");
	LINE(&b, "ldapmail_lookup_sources_total{map=\"alias\","
	    "source=\"snapshot\"} 5");
	LINE(&b, "ldapmail_lookup_sources_total{map=\"alias\","
	    "source=\"cache\"} 1");
	LINE(&b, "ldapmail_lookup_sources_total{map=\"alias\","
	    "source=\"live\"} 3");
	LINE(&b, "# TYPE ldapmail_lookup_duration_seconds histogram");
	LINE(&b, "ldapmail_lookup_duration_seconds_bucket{le=\"0.00005\"} 1");
	LINE(&b, "ldapmail_lookup_duration_seconds_bucket{le=\"0.0001\"} 2");
	LINE(&b, "ldapmail_lookup_duration_seconds_bucket{le=\"0.0005\"} 2");
	LINE(&b, "ldapmail_lookup_duration_seconds_bucket{le=\"0.001\"} 3");
	LINE(&b, "ldapmail_lookup_duration_seconds_bucket{le=\"5\"} 3");
	LINE(&b, "ldapmail_lookup_duration_seconds_bucket{le=\"+Inf\"} 4");
	LINE(&b, "ldapmail_lookup_duration_seconds_sum 10.001100001");
	LINE(&b, "ldapmail_lookup_duration_seconds_count 4");
	LINE(&b, "ldapmail_snapshot_loaded{map=\"alias\"} 1");
	LINE(&b, "ldapmail_snapshot_loaded{map=\"domain\"} 0");
	LINE(&b, "ldapmail_snapshot_age_seconds{map=\"alias\"} 42");
	LINE(&b, "ldapmail_snapshot_keys{map=\"alias\"} 6");
	CHECK("no age or keys for a map without a snapshot",
	    strstr(buf_str(&b), "_age_seconds{map=\"domain\"}") == NULL &&
	    strstr(buf_str(&b), "_keys{map=\"domain\"}") == NULL);
	LINE(&b, "ldapmail_snapshot_rebuilds_total{result=\"ok\"} 4");
	LINE(&b, "ldapmail_snapshot_rebuilds_total{result=\"failed\"} 1");
	LINE(&b, "ldapmail_snapshot_rebuild_duration_seconds 0.250000");
	LINE(&b, "ldapmail_ldap_errors_total 7");
	CHECK("no server sample when none is in use",
	    strstr(buf_str(&b), "ldapmail_ldap_server{") == NULL);
	LINE(&b, "ldapmail_connections_open 3");
	LINE(&b, "ldapmail_requests_total{protocol=\"socketmap\"} 11");
	LINE(&b, "ldapmail_requests_total{protocol=\"tcp_table\"} 2");
	LINE(&b, "ldapmail_ready 0");
	LINE(&b, "ldapmail_start_time_seconds 1700000000");

	/* Ready, a server in use, no build yet. */
	buf_reset(&b);
	maps[1].loaded = 1;
	st.build_seconds = -1;
	snprintf(st.server, sizeof(st.server), "ldap://h\"x\\y/");
	metrics_render(&st, &b);
	check_families(&b);
	LINE(&b, "ldapmail_ready 1");
	LINE(&b, "ldapmail_ldap_server{uri=\"ldap://h\\\"x\\\\y/\"} 1");
	CHECK("no rebuild duration before a build",
	    strstr(buf_str(&b), "rebuild_duration") == NULL);
	buf_free(&b);

	metrics_label(&b, "a\"b\\c\nd");
	CHECK_STR("label escaping", buf_str(&b), "a\\\"b\\\\c\\nd");
	buf_free(&b);
}

static void
test_status(void)
{
	struct status st;
	struct status_map maps[2];
	struct buf b = BUF_INIT;

	sample_status(&st, maps);
	CHECK("not ready while a map has no snapshot", !status_ready(&st));
	status_line(&st, &b);
	CHECK_STR("STATUS= before the first build", buf_str(&b),
	    "not ready: no snapshot of map domain: first build from LDAP "
	    "under way");
	buf_reset(&b);
	snprintf(st.last_error, sizeof(st.last_error), "snapshot: down");
	status_line(&st, &b);
	CHECK_STR("STATUS= says why", buf_str(&b),
	    "not ready: no snapshot of map domain: snapshot: down");
	buf_reset(&b);
	maps[1].loaded = 1;
	maps[1].age = 50;
	maps[1].keys = 3;
	CHECK("ready once every map has one", status_ready(&st));
	status_line(&st, &b);
	CHECK_STR("STATUS= ready, LDAP not answering", buf_str(&b),
	    "ready: snapshot 50 s old (alias 6 keys, domain 3 keys); LDAP "
	    "not answering: snapshot: down");
	buf_reset(&b);
	snprintf(st.server, sizeof(st.server), "ldap://a/");
	status_line(&st, &b);
	CHECK_STR("STATUS= ready, the server in use", buf_str(&b),
	    "ready: snapshot 50 s old (alias 6 keys, domain 3 keys); LDAP "
	    "ldap://a/");
	buf_reset(&b);
	status_text(&st, &b);
	CHECK("stats: per-map lines", has_line(&b, "map.alias.found 5") &&
	    has_line(&b, "map.domain.snapshot_age 50") &&
	    has_line(&b, "uptime 100") && has_line(&b, "live.lookups 3"));
	buf_free(&b);
}

static size_t
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	unit_must(d != NULL, "opendir");
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char text[256];
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void
test_file(void)
{
	char top[512], path[600], bad[700], err[512];
	struct stat st1, st2;
	struct metricsfile *mf;
	struct buf b = BUF_INIT;

	unit_tmpdir(top, sizeof(top), "t_metrics");
	snprintf(path, sizeof(path), "%s/ldapmail.prom", top);
	umask(077);
	CHECK("write", metricsfile_write(path, "a 1\n", 4, err,
	    sizeof(err)) == 0);
	CHECK_STR("content", slurp(path), "a 1\n");
	CHECK("mode 0644 whatever the umask", stat(path, &st1) == 0 &&
	    (st1.st_mode & 07777) == 0644);
	CHECK("write again", metricsfile_write(path, "a 2\n", 4, err,
	    sizeof(err)) == 0);
	CHECK_STR("new content", slurp(path), "a 2\n");
	CHECK("replaced: a new inode", stat(path, &st2) == 0 &&
	    st2.st_ino != st1.st_ino);
	CHECK("nothing else in the directory", entries(top) == 1);

	snprintf(bad, sizeof(bad), "%s/ldapmail.prom/x.prom", top);
	CHECK("a directory that is a file: error", metricsfile_write(bad,
	    "b 1\n", 4, err, sizeof(err)) == -1 && strstr(err, bad) != NULL);
	snprintf(bad, sizeof(bad), "%s/", top);
	CHECK("a path ending in /: error", metricsfile_write(bad, "b 1\n", 4,
	    err, sizeof(err)) == -1);
	CHECK_STR("the old file stays", slurp(path), "a 2\n");
	CHECK("still nothing else", entries(top) == 1);

	mf = metricsfile_new(err, sizeof(err));
	unit_must(mf != NULL, "metricsfile_new");
	buf_puts(&b, "c 1\n");
	metricsfile_post(mf, path, &b);
	CHECK("post takes the text over", b.len == 0 && b.p == NULL);
	buf_puts(&b, "c 2\n");
	metricsfile_post(mf, path, &b);
	metricsfile_free(mf);
	CHECK_STR("the thread wrote the newest text", slurp(path), "c 2\n");
	CHECK("and nothing else", entries(top) == 1);
	unit_rmtree(top);
}

int
main(void)
{
	test_render();
	test_status();
	test_file();
	return unit_done();
}
