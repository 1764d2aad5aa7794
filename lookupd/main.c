/*
 * lookupd: the Postfix lookup daemon and its command-line tools.
 *
 *   lookupd [-c FILE] [-v] serve [-f]        run the daemon
 *   lookupd [-c FILE] [-v] sync              build the snapshots once
 *   lookupd [-c FILE] query [--direct] MAP KEY
 *   lookupd [-c FILE] check                  config, bind, entry counts
 *   lookupd [-c FILE] lint                   directory problems
 *   lookupd [-c FILE] route ADDRESS [-j]     an address as Postfix takes it
 *   lookupd [-c FILE] verify [MAP...] [-k KEYFILE] [--rate N]
 *                                            snapshots against LDAP now
 *   lookupd [-c FILE] stats [--format=F]     the running daemon's counters
 *   lookupd import [-d DIR] [MAIN.CF]        ldapmail.conf from main.cf
 *
 * Before the command, --tempfail: temporary failures exit 75 (exitcode.h).
 *
 * serve reads: parse argv, parse config, bind sockets and open the cache,
 * drop privileges, start the engine's threads, run the loop.  Nothing
 * else hides in start-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/exitcode.h"
#include "common/ldapconn.h"
#include "common/ldapsync.h"
#include "common/log.h"
#include "common/privs.h"
#include "common/subschema.h"
#include "common/tableclass.h"
#include "lookupd/client.h"
#include "lookupd/engine.h"
#include "lookupd/import.h"
#include "lookupd/lint.h"
#include "lookupd/live.h"
#include "lookupd/maps.h"
#include "lookupd/pfldap.h"
#include "lookupd/route.h"
#include "lookupd/server.h"
#include "lookupd/sync.h"
#include "lookupd/verify.h"

static const char usage[] =
"usage: lookupd [-c FILE] [-v] COMMAND [ARGS]\n"
"\n"
"commands:\n"
"  serve [-f]               run the daemon (-f: foreground, log to stderr)\n"
"  sync                     build every map's snapshot once and exit\n"
"  query MAP KEY            ask the running daemon as Postfix would\n"
"  query --direct MAP KEY   ask LDAP itself, bypassing daemon and snapshot\n"
"  check                    check the configuration, the bind and the maps\n"
"  lint                     report directory problems, one line each\n"
"  route ADDRESS [-j]       follow an address as Postfix would (-j: JSON)\n"
"  verify [MAP...] [-k KEYFILE] [--rate N]  snapshots against LDAP now\n"
"  stats [--format=FORMAT]  the daemon's counters (text, or prometheus)\n"
"  import [-d DIR] [MAIN.CF]  an ldapmail.conf for main.cf's ldap: tables\n"
"\n"
"options:\n"
"  -c FILE   configuration file (default " CFG_DEFAULT_PATH ")\n"
"  -v        verbose logging\n"
"  -h        this help\n"
"  --tempfail  exit 75 (EX_TEMPFAIL) instead of 1 or 2 when the failure\n"
"            is temporary: LDAP or the daemon could not be asked\n"
"\n"
"exit status: serve 0 on SIGTERM; sync/check 0 ok, 1 failed;\n"
"query 0 found, 1 not found, 2 error;\n"
"lint 0 clean, 1 problems found, 2 directory not read;\n"
"route 0 deliverable, 1 rejected or undeliverable, 2 LDAP needed but\n"
"not reachable; verify 0 same answers, 1 differences, 2 no snapshot or\n"
"LDAP not reachable; stats 0 ok, 2 daemon not reachable; import 0 done,\n"
"1 no ldap: table, 2 error; 75 out of memory.\n";

static struct cfg *
load_cfg(const char *path, int show_warnings)
{
	char err[1024];
	struct cfg *cfg = cfg_load(path, err, sizeof(err));

	if (cfg != NULL && live_tables_supported(cfg, err, sizeof(err))) {
		cfg_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		log_error("%s", err);
		exit(EXIT_ERROR);
	}
	if (show_warnings)
		for (size_t i = 0; i < cfg->warnings.n; i++)
			log_warn("%s", cfg->warnings.v[i]);
	return cfg;
}

/* As root with `user` set: hand cache_dir to that user, then become it. */
static int
become_user(const struct cfg *cfg, int chown_cache)
{
	uid_t uid;
	gid_t gid;
	char err[512];

	if (geteuid() != 0)
		return 0;
	if (cfg->user == NULL || *cfg->user == '\0') {
		log_warn("running as root: set `user` in %s", cfg->file);
		return 0;
	}
	if (privs_user(cfg->user, &uid, &gid, err, sizeof(err)) != 0 ||
	    (cfg->group && *cfg->group &&
	    privs_group(cfg->group, &gid, err, sizeof(err)) != 0)) {
		log_error("%s", err);
		return -1;
	}
	if (chown_cache) {
		struct stat st;
		int fd = open(cfg->cache_dir, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);

		/* Only a directory owned by root or by us is ours to give. */
		if (fd < 0 || fstat(fd, &st) != 0) {
			log_error("cache_dir %s: %s", cfg->cache_dir,
			    strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		if (st.st_uid == 0 && fchown(fd, uid, gid) != 0)
			log_warn("cache_dir %s: chown: %s", cfg->cache_dir,
			    strerror(errno));
		close(fd);
	}
	if (privs_drop(uid, gid, err, sizeof(err)) != 0) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static int
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		return -1;
	fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return -1;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return 0;
}

static int
cmd_serve(const char *path, int argc, char **argv)
{
	int foreground = 0;
	struct cfg *cfg;
	struct server *srv;
	struct engine *eng;
	char err[1024];
	sigset_t set;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0)
			foreground = 1;
		else {
			fprintf(stderr, "%s", usage);
			return EXIT_ERROR;
		}
	}
	log_open("lookupd", foreground);
	cfg = load_cfg(path, 1);
	if (cfg->n_socketmap_listen + cfg->n_tcp_listen == 0) {
		log_error("%s: serve needs socketmap_listen or tcp_listen",
		    cfg->file);
		cfg_free(cfg);
		return EXIT_ERROR;
	}
	/* Before any thread exists: signals go to the loop's signalfd.  And
	 * before the sockets exist: whoever sees them may signal us (a SIGHUP
	 * would otherwise kill a daemon that has not reached its loop yet). */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	srv = server_new(cfg, err, sizeof(err));
	if (srv == NULL) {
		log_error("%s", err);
		cfg_free(cfg);
		return EXIT_ERROR;
	}
	if (sync_cache_dir(cfg, err, sizeof(err)) != 0) {
		log_error("%s", err);
		goto fail;
	}
	if (become_user(cfg, 1) != 0)
		goto fail;
	if (!foreground && daemonize() != 0) {
		log_error("cannot become a daemon: %s", strerror(errno));
		goto fail;
	}
	eng = engine_new(cfg, err, sizeof(err));
	if (eng == NULL) {
		log_error("%s", err);
		server_free(srv);
		return EXIT_ERROR;
	}
	log_info("ready: %zu maps, %zu socketmap and %zu tcp_table endpoints",
	    cfg->n_maps, cfg->n_socketmap_listen, cfg->n_tcp_listen);
	rc = server_run(srv, eng);
	server_free(srv);
	engine_free(eng);
	log_info("stopped");
	return rc;
fail:
	server_free(srv);
	cfg_free(cfg);
	return EXIT_ERROR;
}

static int
cmd_sync(const char *path, int argc)
{
	struct cfg *cfg;
	struct ldapconn *lc;
	size_t *entries;
	char err[1024];
	int rc = EXIT_FAIL, r;

	if (argc != 0) {
		fprintf(stderr, "%s", usage);
		return EXIT_ERROR;
	}
	cfg = load_cfg(path, 1);
	if (sync_cache_dir(cfg, err, sizeof(err)) != 0) {
		log_error("%s", err);
		cfg_free(cfg);
		return EXIT_FAIL;
	}
	if (become_user(cfg, 1) != 0) {
		cfg_free(cfg);
		return EXIT_FAIL;
	}
	entries = xcalloc(cfg->n_maps ? cfg->n_maps : 1, sizeof(*entries));
	lc = ldapconn_new(cfg);
	r = sync_build(cfg, lc, entries, err, sizeof(err));
	if (r == 0) {
		for (size_t i = 0; i < cfg->n_maps; i++)
			if (cfg->maps[i].table &&
			    sync_table_live(&cfg->maps[i]))
				printf("map %s: answered live, no snapshot\n",
				    cfg->maps[i].name);
			else
				printf("map %s: %zu entries -> %s/%s.cdb\n",
				    cfg->maps[i].name, entries[i],
				    cfg->cache_dir, cfg->maps[i].name);
		rc = EXIT_OK;
	} else {
		log_error("sync failed, old snapshots kept: %s", err);
		if (r == -2)
			rc = exit_temp(EXIT_FAIL);
	}
	ldapconn_free(lc);
	free(entries);
	cfg_free(cfg);
	return rc;
}

static int
print_result(enum result res, const struct buf *out, const char *err)
{
	switch (res) {
	case RES_FOUND:
		printf("%s\n", buf_str(out));
		return EXIT_OK;
	case RES_NOTFOUND:
		return EXIT_FAIL;
	case RES_TEMP:
		fprintf(stderr, "lookupd: temporary failure: %s\n",
		    err && *err ? err : buf_str(out));
		return exit_temp(EXIT_ERROR);
	case RES_PERM:
		fprintf(stderr, "lookupd: error: %s\n",
		    err && *err ? err : buf_str(out));
		return EXIT_ERROR;
	}
	return EXIT_ERROR;
}

static int
cmd_query(const char *path, int argc, char **argv)
{
	int direct = 0, rc;
	struct cfg *cfg;
	struct buf out = BUF_INIT;
	char err[1024] = "";
	enum result res;

	if (argc > 0 && strcmp(argv[0], "--direct") == 0) {
		direct = 1;
		argc--;
		argv++;
	}
	if (argc != 2) {
		fprintf(stderr, "%s", usage);
		return EXIT_ERROR;
	}
	cfg = load_cfg(path, 0);
	if (!direct) {
		res = client_query(cfg, argv[0], argv[1], strlen(argv[1]), &out,
		    err, sizeof(err));
	} else {
		const struct cfg_map *m = cfg_map_find(cfg, argv[0],
		    strlen(argv[0]));
		struct ldapconn *lc;
		struct walk w;
		struct buf val = BUF_INIT;
		struct live_answer a;

		if (m == NULL) {
			fprintf(stderr, "lookupd: unknown map %s in %s\n",
			    argv[0], cfg->file);
			cfg_free(cfg);
			return EXIT_ERROR;
		}
		memset(&a, 0, sizeof(a));
		a.value = &val;
		lc = ldapconn_new(cfg);
		maps_walk(cfg, m, argv[1], strlen(argv[1]), &w);
		res = live_walk_any(lc, m, &w, &a);
		if (res == RES_FOUND)
			maps_answer(m, &w, a.step, val.p, val.len, &out);
		snprintf(err, sizeof(err), "%s", a.err);
		maps_walk_free(&w);
		buf_free(&val);
		ldapconn_free(lc);
	}
	rc = print_result(res, &out, err);
	buf_free(&out);
	cfg_free(cfg);
	return rc;
}

static int
count_entry(const struct lentry *e, void *arg)
{
	(void)e;
	(*(size_t *)arg)++;
	return 0;
}

/* Which server `check` reached, and whether it offers RFC 4533 sync. */
static void
check_server(const struct cfg *cfg, struct ldapconn *lc)
{
	char uri[300], err[1024];
	int i = ldapconn_current(lc, uri, sizeof(uri)), r;

	if (i >= 0)
		printf("ldap: server %s (ldap_uri entry %d)\n", uri, i + 1);
	r = ldapsync_supported(lc, err, sizeof(err));
	if (r > 0)
		printf("ldap: RFC 4533 sync offered (syncprov)\n");
	else if (r == 0)
		printf("ldap: RFC 4533 sync not offered (no syncprov): "
		    "changes can only be polled%s\n",
		    cfg->sync == CFG_SYNC_PERSIST ? " (sync = persist: "
		    "lookupd polls instead)" : "");
	else
		printf("ldap: RFC 4533 sync: cannot tell (%s)\n", err);
}

static const char *
rule_of(const char *attr, void *arg)
{
	return subschema_equality(arg, attr);
}

/* An ldap_table map: "enumerable: ATTR... (answered from the snapshot
 * FILE)" (the attributes its keys come from) or "live-only: why",
 * classified with the rules of its own server's subschema
 * (common/tableclass.c).  An enumerable map whose answers turn out not
 * to be computable exactly is answered live: the daemon logs why. */
static void
check_table(const struct cfg *cfg, const struct cfg_map *m,
    struct pfpool *pool, int *rc)
{
	struct pfldap *p = pfldap_new_shared(m->table, pool);
	struct subschema *ss;
	struct tableclass tc;
	char err[1024];

	if (pfldap_subschema(p, &ss, err, sizeof(err)) < 0) {
		printf("map %s: ldap_table %s: %s\n", m->name, m->ldap_table,
		    err);
		if (*rc == EXIT_OK)
			*rc = exit_temp(EXIT_FAIL);
		pfldap_free(p);
		return;
	}
	tableclass_classify(m->table, rule_of, ss, &tc);
	if (tc.enumerable) {
		printf("map %s: ldap_table %s: enumerable:", m->name,
		    m->ldap_table);
		for (size_t i = 0; i < tc.nkey_attrs; i++)
			printf(" %s", tc.key_attrs[i]);
		printf(" (answered from the snapshot %s/%s.cdb)\n",
		    cfg->cache_dir, m->name);
	} else
		printf("map %s: ldap_table %s: live-only: %s\n", m->name,
		    m->ldap_table, tc.why);
	tableclass_free(&tc);
	subschema_free(ss);
	pfldap_free(p);
}

static int
cmd_check(const char *path, int argc)
{
	struct cfg *cfg;
	struct ldapconn *lc;
	char err[1024];
	int rc = EXIT_OK;
	enum ldapconn_status st;
	static const char *const noattrs[] = { "1.1", NULL };
	struct pfpool *pool;	/* the ldap_table maps' sessions */

	if (argc != 0) {
		fprintf(stderr, "%s", usage);
		return EXIT_ERROR;
	}
	cfg = load_cfg(path, 0);
	pool = pfpool_new();
	for (size_t i = 0; i < cfg->warnings.n; i++)
		printf("warning: %s\n", cfg->warnings.v[i]);
	printf("config %s: ok, %zu maps (%d from profile %s)\n", cfg->file,
	    cfg->n_maps, cfg->builtin_maps, cfg->profile);
	lc = ldapconn_new(cfg);
	if ((st = ldapconn_open(lc, err, sizeof(err))) != LDAPCONN_OK) {
		printf("ldap: %s\n", err);
		rc = st == LDAPCONN_TEMP ? exit_temp(EXIT_FAIL) : EXIT_FAIL;
		goto out;
	}
	if (ldapconn_identity(lc) != NULL)
		printf("ldap: bound as %s (SASL %s)\n", ldapconn_identity(lc),
		    cfg->sasl_mech);
	else
		printf("ldap: bound as %s\n", cfg->bind_dn ? cfg->bind_dn :
		    "(anonymous)");
	check_server(cfg, lc);
	for (size_t i = 0; i < cfg->n_maps; i++) {
		const struct cfg_map *m = &cfg->maps[i];
		size_t n = 0;

		if (m->table != NULL) {
			check_table(cfg, m, pool, &rc);
			continue;
		}
		st = ldapconn_search(lc, m->base, m->scope, m->filter,
		    noattrs, 1, count_entry, &n, err, sizeof(err));
		if (st != LDAPCONN_OK) {
			printf("map %s: %s\n", m->name, err);
			/* A permanent failure outranks a temporary one. */
			if (rc == EXIT_OK || st != LDAPCONN_TEMP)
				rc = st == LDAPCONN_TEMP ?
				    exit_temp(EXIT_FAIL) : EXIT_FAIL;
		} else {
			printf("map %s: %zu entries\n", m->name, n);
		}
	}
out:
	ldapconn_free(lc);
	pfpool_free(pool);
	cfg_free(cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		EXIT_TEMPFAIL_OPTION,
		{ NULL, 0, NULL, 0 }
	};
	const char *path = CFG_DEFAULT_PATH;
	int opt;

	log_open("lookupd", 1);
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("%s", usage);
		return EXIT_OK;
	}
	while ((opt = getopt_long(argc, argv, "+c:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			log_set_verbose(1);
			break;
		case 'h':
			printf("%s", usage);
			return EXIT_OK;
		case 'T':
			exit_tempfail_on();
			break;
		default:
			fprintf(stderr, "%s", usage);
			return EXIT_ERROR;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0 && strcmp(argv[0], "--help") == 0) {
		printf("%s", usage);
		return EXIT_OK;
	}
	if (argc < 1) {
		fprintf(stderr, "%s", usage);
		return EXIT_ERROR;
	}
	if (strcmp(argv[0], "serve") == 0)
		return cmd_serve(path, argc - 1, argv + 1);
	if (strcmp(argv[0], "sync") == 0)
		return cmd_sync(path, argc - 1);
	if (strcmp(argv[0], "query") == 0)
		return cmd_query(path, argc - 1, argv + 1);
	if (strcmp(argv[0], "check") == 0)
		return cmd_check(path, argc - 1);
	if (strcmp(argv[0], "lint") == 0)
		return lint_command(path, argc - 1, argv + 1);
	if (strcmp(argv[0], "route") == 0)
		return route_command(path, argc - 1, argv + 1);
	if (strcmp(argv[0], "verify") == 0)
		return verify_command(path, argc - 1, argv + 1);
	if (strcmp(argv[0], "stats") == 0)
		return client_stats_command(path, argc - 1, argv + 1);
	if (strcmp(argv[0], "import") == 0)
		return import_command(argc - 1, argv + 1);
	fprintf(stderr, "lookupd: unknown command %s\n%s", argv[0], usage);
	return EXIT_ERROR;
}
