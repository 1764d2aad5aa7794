/*
 * verify: does each snapshot answer what LDAP answers now?  (verify.h)
 *
 * For each map (those named, or every map), the snapshot is opened with
 * the daemon's own reader (snapshot.c: a file whose digest does not match
 * is refused, never verified) and its records are copied; then each key,
 * and each key of KEYFILE, is asked of LDAP live exactly as the daemon's
 * workers ask it: a native map through live_walk() with the key as the
 * only step, an ldap_table map through pfldap_lookup(), as Postfix's
 * ldap: would.  A record under VERIFY_TEMP_MARK (an ldap_table map's
 * TEMP, Postfix's error) is that key's answer: error.  A key the map's
 * key rules refuse (maps_walk(): not an address in an address map,
 * outside the file's domains) is answered "not found" without asking, as
 * the daemon does.  Both answers are
 * compared by verifyrule.c (values as a set); each difference is one
 * line on standard output:
 *
 *   MAP "KEY": snapshot ANSWER, live ANSWER[, dn DN[; DN]...]
 *
 * ANSWER is the values in quotes, "not found" or "error: why"; the DNs
 * are those of the entries behind the live answer (a snapshot records
 * none).  A summary goes to standard error.
 *
 * Live questions are paced to --rate per second (VERIFY_RATE, 0: not
 * paced): the n-th starts no sooner than (n - 1) / rate seconds after the
 * first, and never in a burst to catch up after a slow answer.  When a
 * search fails (LDAP not answering, or refusing what it is asked), verify
 * stops at once: it does not hammer a server that is down, and a
 * verification that could not ask is not a clean one.  An ldap_table
 * map's own errors (a limit exceeded) are answers, as Postfix's are.
 * On a terminal, a progress line on standard error (keys done, rate,
 * differences so far), nothing otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/clock.h"
#include "common/exitcode.h"
#include "common/ldapconn.h"
#include "common/log.h"
#include "lookupd/live.h"
#include "lookupd/maps.h"
#include "lookupd/pfldap.h"
#include "lookupd/snapshot.h"
#include "lookupd/verify.h"
#include "lookupd/verifyrule.h"

#define VERIFY_RATE		100	/* live questions per second */
#define VERIFY_RATE_MAX		1000000
#define KEYFILE_MAX		(256u << 20)

static const char verify_usage[] =
"usage: lookupd [-c FILE] verify [MAP...] [-k KEYFILE] [--rate N]\n";

struct rec {
	char *key;
	size_t klen;
	char *val;
	size_t vlen;
};

struct recs {
	struct rec *v;
	size_t n;
};

struct vrun {
	const struct cfg *cfg;
	struct ldapconn *lc;		/* native maps */
	struct pfpool *pool;		/* ldap_table maps' sessions */
	double interval_ms;		/* 0: not paced */
	double next_ms;
	size_t asked, differences;
	enum { GO_ON, STOP_TEMP, STOP_PERM } stop;	/* LDAP failed */
	char why[640];
	/* progress on a terminal */
	int tty;
	double t0_ms, shown_ms;
};

static int
copy_rec(const char *key, size_t klen, const char *val, size_t vlen,
    void *arg)
{
	struct recs *r = arg;
	struct rec *x;

	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	x = &r->v[r->n++];
	x->key = xstrndup(key, klen);
	x->klen = klen;
	x->val = xstrndup(val, vlen);
	x->vlen = vlen;
	return 0;
}

static void
recs_free(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].key);
		free(r->v[i].val);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static void
pace(struct vrun *v)
{
	double now;

	if (v->interval_ms <= 0)
		return;
	now = clock_ms();
	if (v->next_ms > now) {
		double d = v->next_ms - now;
		struct timespec ts;

		ts.tv_sec = (time_t)(d / 1000);
		ts.tv_nsec = (long)((d - 1000.0 * (double)ts.tv_sec) * 1e6);
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		now = v->next_ms;
	}
	v->next_ms = now + v->interval_ms;
}

/* At most once a second, and once more when a map is done (last). */
static void
progress(struct vrun *v, const char *map, size_t done, size_t total,
    int last)
{
	double now, secs;

	if (!v->tty)
		return;
	now = clock_ms();
	if (!last && now - v->shown_ms < 1000)
		return;
	v->shown_ms = now;
	secs = (now - v->t0_ms) / 1000;
	fprintf(stderr, "\rverify: map %s: %zu/%zu keys, %.0f/s, %zu "
	    "differences\033[K", map, done, total, secs > 0 ?
	    (double)v->asked / secs : 0.0, v->differences);
	if (last)
		fputc('\n', stderr);
}

/* The live answer for key: its kind, values (","-joined) into val, the
 * DNs behind it ("\n"-separated) into dns, the reason of an error into
 * err.  A search that failed sets v->stop (STOP_TEMP: LDAP said "try
 * later"); an ldap_table map's other errors are answers (Postfix's). */
static enum verify_kind
ask(struct vrun *v, const struct cfg_map *m, struct pfldap *pf,
    const char *key, size_t klen, struct buf *val, struct buf *dns,
    char *err, size_t errsz)
{
	struct walk w;
	struct live_answer a;
	int refused;

	buf_reset(val);
	buf_reset(dns);
	err[0] = '\0';
	maps_walk(v->cfg, m, key, klen, &w);
	refused = w.n == 0;
	maps_walk_free(&w);
	if (refused)
		return VERIFY_NOTFOUND;	/* the daemon does not ask either */
	pace(v);
	v->asked++;
	if (pf != NULL) {
		switch (pfldap_lookup(pf, key, val, err, errsz)) {
		case PFLDAP_FOUND:
			buf_puts(dns, pfldap_dns(pf));
			return VERIFY_FOUND;
		case PFLDAP_NOTFOUND:
			return VERIFY_NOTFOUND;
		case PFLDAP_TEMP:
			if (pfldap_unreachable(pf))
				v->stop = STOP_TEMP;
			return VERIFY_ERROR;
		}
		return VERIFY_ERROR;
	}
	memset(&w, 0, sizeof(w));
	w.n = 1;
	w.step[0] = (char *)(uintptr_t)key;
	w.steplen[0] = klen;
	memset(&a, 0, sizeof(a));
	a.value = val;
	a.dns = dns;
	live_walk(v->lc, m, &w, &a);
	snprintf(err, errsz, "%s", a.err);
	switch (a.res) {
	case RES_FOUND:
		return VERIFY_FOUND;
	case RES_NOTFOUND:
		return VERIFY_NOTFOUND;
	case RES_TEMP:
		if (a.failed)
			v->stop = a.unreachable ? STOP_TEMP : STOP_PERM;
		return VERIFY_ERROR;
	case RES_PERM:
		return VERIFY_ERROR;
	}
	return VERIFY_ERROR;
}

static void
put_answer(struct buf *b, const struct verify_answer *a)
{
	switch (a->kind) {
	case VERIFY_NOTFOUND:
		buf_puts(b, "not found");
		break;
	case VERIFY_FOUND:
		buf_put_shown(b, a->val, a->len, 1);
		break;
	case VERIFY_ERROR:
		buf_puts(b, "error: ");
		buf_put_shown(b, a->val, a->len, 0);
		break;
	}
}

/* Compare one key; print it when it differs.  0, or -1 when LDAP does
 * not answer (v->why says why). */
static int
verify_key(struct vrun *v, const struct cfg_map *m, struct pfldap *pf,
    const char *key, size_t klen, const struct verify_answer *snap)
{
	struct buf val = BUF_INIT, dns = BUF_INIT, line = BUF_INIT;
	char err[512];
	struct verify_answer live;
	int rc = 0;

	live.kind = ask(v, m, pf, key, klen, &val, &dns, err, sizeof(err));
	live.val = live.kind == VERIFY_ERROR ? err : val.p;
	live.len = live.kind == VERIFY_ERROR ? strlen(err) : val.len;
	if (v->stop != GO_ON) {
		snprintf(v->why, sizeof(v->why), "map %s: %s", m->name,
		    err[0] ? err : "LDAP lookup failed");
		rc = -1;
		goto out;
	}
	if (!verify_differs(snap, &live))
		goto out;
	v->differences++;
	buf_printf(&line, "%s ", m->name);
	buf_put_shown(&line, key, klen, 1);
	buf_puts(&line, ": snapshot ");
	put_answer(&line, snap);
	buf_puts(&line, ", live ");
	put_answer(&line, &live);
	if (dns.len > 0) {
		buf_puts(&line, ", dn ");
		for (size_t i = 0; i < dns.len; i++)
			if (dns.p[i] == '\n')
				buf_puts(&line, "; ");
			else
				buf_put_shown(&line, dns.p + i, 1, 0);
	}
	printf("%s\n", buf_str(&line));
	fflush(stdout);
out:
	buf_free(&val);
	buf_free(&dns);
	buf_free(&line);
	return rc;
}

/* Every key of the snapshot, then every key of the key file.  0, -1 LDAP
 * does not answer, -2 the snapshot is damaged (err). */
static int
verify_map(struct vrun *v, const struct cfg_map *m, struct snapshot *s,
    const struct recs *keys, char *err, size_t errsz)
{
	struct recs r = { NULL, 0 };
	struct pfldap *pf = m->table ? pfldap_new_shared(m->table, v->pool) :
	    NULL;
	int rc = 0;
	size_t total;

	if (snapshot_foreach(s, copy_rec, &r) != 0) {
		rc = -2;
		log_errf(err, errsz, "%s: damaged while read",
		    snapshot_path(s));
		goto out;
	}
	total = r.n + keys->n;
	for (size_t i = 0; i < r.n && rc == 0; i++) {
		struct verify_answer a;
		const char *k;
		size_t kl;

		verify_record(r.v[i].key, r.v[i].klen, r.v[i].val,
		    r.v[i].vlen, &a, &k, &kl);
		rc = verify_key(v, m, pf, k, kl, &a);
		progress(v, m->name, i + 1, total, 0);
	}
	/* The key file's keys the snapshot lacks (the others were asked
	 * above): the snapshot answers them "not found". */
	for (size_t i = 0; i < keys->n && rc == 0; i++) {
		struct verify_answer a = { VERIFY_NOTFOUND, NULL, 0 };
		struct buf mk = BUF_INIT;
		int g = snapshot_get(s, keys->v[i].key, keys->v[i].klen,
		    &a.val, &a.len);

		if (g == 0) {
			buf_putc(&mk, VERIFY_TEMP_MARK);
			buf_append(&mk, keys->v[i].key, keys->v[i].klen);
			g = snapshot_get(s, mk.p, mk.len, &a.val, &a.len);
			buf_free(&mk);
		}
		if (g < 0) {
			rc = -2;
			log_errf(err, errsz, "%s: damaged while read",
			    snapshot_path(s));
			break;
		}
		if (g == 1)
			continue;	/* asked with the snapshot's keys */
		rc = verify_key(v, m, pf, keys->v[i].key, keys->v[i].klen, &a);
		progress(v, m->name, r.n + i + 1, total, 0);
	}
	if (rc == 0)
		progress(v, m->name, total, total, 1);
out:
	pfldap_free(pf);
	recs_free(&r);
	return rc;
}

static int
rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	return c ? c : x->klen < y->klen ? -1 : x->klen > y->klen;
}

/* Read KEYFILE ("-": standard input) into keys.  0, or -1 with err. */
static int
read_keys(const char *path, struct recs *keys, char *err, size_t errsz)
{
	struct buf text = BUF_INIT;
	char key[VERIFY_KEY_MAX + 1], why[256];
	size_t pos = 0, line = 0, klen;
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return log_errf(err, errsz, "%s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n;

		buf_reserve(&text, 65536);
		n = read(fd, text.p + text.len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_errf(err, errsz, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		text.len += (size_t)n;
		if (text.len > KEYFILE_MAX) {
			log_errf(err, errsz, "%s: larger than %u MiB", path,
			    KEYFILE_MAX >> 20);
			goto fail;
		}
	}
	while ((r = verify_key_next(text.p, text.len, &pos, &line, key,
	    sizeof(key), &klen, why, sizeof(why))) == 1)
		copy_rec(key, klen, "", 0, keys);
	if (r < 0) {
		log_errf(err, errsz, "%s: %s", path, why);
		goto fail;
	}
	/* each key once */
	if (keys->n > 1) {
		size_t o = 1;

		qsort(keys->v, keys->n, sizeof(*keys->v), rec_cmp);
		for (size_t i = 1; i < keys->n; i++) {
			if (rec_cmp(&keys->v[o - 1], &keys->v[i]) == 0) {
				free(keys->v[i].key);
				free(keys->v[i].val);
			} else
				keys->v[o++] = keys->v[i];
		}
		keys->n = o;
	}
	if (fd != 0)
		close(fd);
	buf_free(&text);
	return 0;
fail:
	if (fd != 0)
		close(fd);
	buf_free(&text);
	return -1;
}

static int
usage(void)
{
	fprintf(stderr, "%s", verify_usage);
	return EXIT_ERROR;
}

int
verify_command(const char *cfg_path, int argc, char **argv)
{
	struct vrun v;
	struct cfg *cfg;
	struct recs keys = { NULL, 0 };
	const char *keyfile = NULL, **names;
	size_t nnames = 0, nmaps = 0, skipped = 0;
	long rate = VERIFY_RATE;
	char err[1024];
	int bad = 0, rc;

	names = xcalloc((size_t)argc + 1, sizeof(*names));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *num = NULL;
		char *end;

		if (strcmp(a, "-k") == 0 && i + 1 < argc && keyfile == NULL)
			keyfile = argv[++i];
		else if (strcmp(a, "--rate") == 0 && i + 1 < argc)
			num = argv[++i];
		else if (strncmp(a, "--rate=", 7) == 0)
			num = a + 7;
		else if (a[0] == '-' && a[1] != '\0') {
			free(names);
			return usage();
		} else
			names[nnames++] = a;
		if (num != NULL) {
			errno = 0;
			rate = strtol(num, &end, 10);
			if (errno || end == num || *end || rate < 0 ||
			    rate > VERIFY_RATE_MAX) {
				fprintf(stderr, "lookupd: verify: --rate %s: "
				    "not a number from 0 to %d\n", num,
				    VERIFY_RATE_MAX);
				free(names);
				return EXIT_ERROR;
			}
		}
	}
	cfg = cfg_load(cfg_path, err, sizeof(err));
	if (cfg != NULL && live_tables_supported(cfg, err, sizeof(err))) {
		cfg_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		log_error("%s", err);
		free(names);
		return EXIT_ERROR;
	}
	for (size_t i = 0; i < nnames; i++)
		if (cfg_map_find(cfg, names[i], strlen(names[i])) == NULL) {
			log_error("verify: no map %s in %s", names[i],
			    cfg->file);
			free(names);
			cfg_free(cfg);
			return EXIT_ERROR;
		}
	if (keyfile != NULL && read_keys(keyfile, &keys, err,
	    sizeof(err)) != 0) {
		log_error("verify: %s", err);
		recs_free(&keys);
		free(names);
		cfg_free(cfg);
		return EXIT_ERROR;
	}

	memset(&v, 0, sizeof(v));
	v.cfg = cfg;
	v.lc = ldapconn_new(cfg);
	v.pool = pfpool_new();
	v.interval_ms = rate > 0 ? 1000.0 / (double)rate : 0;
	v.tty = isatty(2);
	v.t0_ms = clock_ms();
	for (size_t i = 0; i < cfg->n_maps && v.stop == GO_ON; i++) {
		const struct cfg_map *m = &cfg->maps[i];
		struct snapshot *s = NULL;
		enum snap_status st;
		int named = 0, r;

		for (size_t k = 0; k < nnames; k++)
			named |= strcmp(names[k], m->name) == 0;
		if (nnames > 0 && !named)
			continue;
		st = snapshot_open(cfg->cache_dir, m->name, &s, err,
		    sizeof(err));
		if (st == SNAP_MISSING && m->table != NULL && !named) {
			/* live-only: nothing kept, nothing to verify */
			skipped++;
			continue;
		}
		if (st == SNAP_MISSING) {
			log_error("verify: map %s: no snapshot in %s (run "
			    "lookupd sync)", m->name, cfg->cache_dir);
			bad = 1;
			continue;
		}
		if (st != SNAP_OK) {
			log_error("verify: map %s: %s", m->name, err);
			bad = 1;
			continue;
		}
		nmaps++;
		r = verify_map(&v, m, s, &keys, err, sizeof(err));
		if (r == -2) {
			log_error("verify: map %s: %s", m->name, err);
			bad = 1;
		}
		snapshot_close(s);
	}
	if (v.stop != GO_ON) {
		if (v.tty)
			fputc('\n', stderr);
		log_error("verify: LDAP %s, verification incomplete after %zu "
		    "keys: %s", v.stop == STOP_TEMP ? "not answering" :
		    "failed", v.asked, v.why);
		rc = v.stop == STOP_TEMP ? exit_temp(EXIT_ERROR) : EXIT_ERROR;
	} else {
		fprintf(stderr, "verify: %zu map%s, %zu key%s asked, %zu "
		    "difference%s", nmaps, nmaps == 1 ? "" : "s", v.asked,
		    v.asked == 1 ? "" : "s", v.differences,
		    v.differences == 1 ? "" : "s");
		if (skipped)
			fprintf(stderr, " (%zu map%s without snapshot "
			    "skipped)", skipped, skipped == 1 ? "" : "s");
		fprintf(stderr, "\n");
		rc = bad ? EXIT_ERROR : v.differences ? EXIT_FAIL : EXIT_OK;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error("verify: cannot write the report");
		rc = EXIT_ERROR;
	}
	ldapconn_free(v.lc);
	pfpool_free(v.pool);
	recs_free(&keys);
	free(names);
	cfg_free(cfg);
	return rc;
}
