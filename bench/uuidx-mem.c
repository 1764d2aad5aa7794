/*
 * uuidx-mem: memory and speed of lookupd's entryUUID index (uuidx) for a
 * sync group shaped like the built-in profile (alias + mailbox over the
 * same entries), filled through syncapply from generated accounts (mail,
 * KEYS-1 mailAlternateAddress, mailMessageStore), as a full refresh
 * would fill it.  A benchmark, never a test.
 *
 *   build/rel/bench/uuidx-mem [ENTRIES [KEYS]]     default 1000000 3
 *
 * Prints the index's own count of bytes, the process's RssAnon growth
 * (/proc/self/status), both per entry, and the time per entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cfg.h"
#include "common/ldapconn.h"
#include "lookupd/syncapply.h"
#include "lookupd/uuidx.h"

static long
rss_anon_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "RssAnon:", 8) == 0)
			kb = strtol(line + 8, NULL, 10);
	fclose(f);
	return kb;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static const char conf[] = "ldap_uri = ldap://127.0.0.1:1\n"
	    "account_base = ou=People,o=x\ndomain_base = o=d\n";
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	int keys = argc > 2 ? atoi(argv[2]) : 3;
	char err[256], buf[128];
	struct cfg *cfg = cfg_parse(conf, strlen(conf), "b.conf", err,
	    sizeof(err));
	const struct cfg_map *maps[2];
	struct keybatch b = KEYBATCH_INIT;
	struct syncgroup *g;
	struct uuidx *x;
	long before, after;
	double t0, t1;
	size_t changes = 0;

	if (cfg == NULL || n < 1 || keys < 1) {
		fprintf(stderr, "usage: uuidx-mem [ENTRIES [KEYS]]\n");
		return 64;
	}
	maps[0] = cfg_map_find(cfg, "alias", 5);
	maps[1] = cfg_map_find(cfg, "mailbox", 7);
	before = rss_anon_kb();
	x = uuidx_new(2, NULL);
	g = syncgroup_new(maps, 2, x);
	t0 = now();
	for (long i = 0; i < n; i++) {
		unsigned char uuid[UUIDX_UUID_LEN];
		struct lentry *e;

		memset(uuid, 0, sizeof(uuid));
		memcpy(uuid, &i, sizeof(i));
		uuid[15] = 0x42;
		snprintf(buf, sizeof(buf), "uid=user%ld,ou=People,o=x", i);
		e = lentry_new(buf);
		snprintf(buf, sizeof(buf), "user%ld@domain%ld.example", i,
		    i % 1000);
		lentry_add(e, "mail", buf, strlen(buf));
		for (int k = 1; k < keys; k++) {
			snprintf(buf, sizeof(buf), "alias%d.user%ld@domain%ld."
			    "example", k, i, i % 1000);
			lentry_add(e, "mailAlternateAddress", buf, strlen(buf));
		}
		snprintf(buf, sizeof(buf), "/vmail/domain%ld/user%ld/", i % 1000,
		    i);
		lentry_add(e, "mailMessageStore", buf, strlen(buf));
		syncapply_entry(g, uuid, e, &b);
		changes += b.n;
		keybatch_reset(&b);
		lentry_free(e);
	}
	t1 = now();
	after = rss_anon_kb();
	printf("entries %ld, keys per entry %d, key changes %zu\n", n, keys,
	    changes);
	printf("index: %zu bytes, %.1f B/entry\n", uuidx_bytes(x),
	    (double)uuidx_bytes(x) / (double)n);
	printf("RssAnon: +%ld kB, %.1f B/entry\n", after - before,
	    (double)(after - before) * 1024 / (double)n);
	printf("apply: %.2f s, %.2f us/entry\n", t1 - t0,
	    (t1 - t0) * 1e6 / (double)n);
	{
		unsigned char *enc;
		size_t len;

		t0 = now();
		uuidx_encode(x, &enc, &len);
		t1 = now();
		printf("encoded: %zu bytes in %.2f s\n", len, t1 - t0);
		free(enc);
	}
	keybatch_free(&b);
	syncgroup_free(g);
	uuidx_free(x);
	cfg_free(cfg);
	return 0;
}
