/*
 * watch: ldap-maildirmake --watch (see watch.h).
 *
 * A pass is forked rather than called: the program's run reads the
 * directory, plans and makes in one process whose state starts fresh
 * every time (and its lock in mail_base is taken and released per pass
 * as a cron run's is), so the long-running watcher holds nothing but the
 * stream and, for reporting orphans, each entry's maildir by entryUUID.
 * Changes are coalesced: a pass starts QUIET_MS after the last change,
 * or MAX_WAIT_MS after the first of a steady flow.  A pass that could
 * not run (exit 75: the lock held by a cron run, LDAP unreachable) is
 * tried again RETRY_MS later.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/exitcode.h"
#include "common/ldapconn.h"
#include "common/ldapsync.h"
#include "common/log.h"
#include "maildirmake/watch.h"

#define RUN_MS		100
#define QUIET_MS	150
#define MAX_WAIT_MS	1000
#define RETRY_MS	1000

/* entryUUID -> its maildir, for the orphans' report. */
struct slot {
	unsigned char uuid[LDAPSYNC_UUID_LEN];
	char *store;		/* NULL: empty slot */
	int dead;		/* removed (probing goes on past it) */
};

struct watch {
	const struct cfg *cfg;
	const char *store_attr;	/* where an entry's maildir is */
	struct ldapsync *s;
	struct slot *t;
	size_t cap, n;
	int refreshed;		/* the first refresh is over */
	int dirty;		/* a pass is due */
	double first, last;	/* clock_ms() of the changes pending */
};

/* Reachable from a static while a child runs its pass: the child
 * returns out of mdm_watch and must not count it as leaked. */
static struct watch *W;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static size_t
slot_of(const struct watch *w, const unsigned char *uuid, int for_insert)
{
	size_t h = 0, i;

	for (size_t k = 0; k < LDAPSYNC_UUID_LEN; k++)
		h = h * 131 + uuid[k];
	for (i = h & (w->cap - 1);; i = (i + 1) & (w->cap - 1)) {
		const struct slot *s = &w->t[i];

		if (s->store == NULL && !s->dead)
			return i;
		if (s->store == NULL && for_insert)
			return i;
		if (s->store && memcmp(s->uuid, uuid, LDAPSYNC_UUID_LEN) == 0)
			return i;
	}
}

static void
table_clear(struct watch *w)
{
	for (size_t i = 0; i < w->cap; i++)
		free(w->t[i].store);
	free(w->t);
	w->t = NULL;
	w->cap = w->n = 0;
}

static void
table_put(struct watch *w, const unsigned char *uuid, const char *store,
    size_t len)
{
	size_t i;

	if (w->cap == 0 || 2 * (w->n + 1) > w->cap) {
		struct slot *old = w->t;
		size_t ocap = w->cap;

		w->cap = ocap ? 2 * ocap : 1024;
		w->t = xcalloc(w->cap, sizeof(*w->t));
		w->n = 0;
		for (size_t k = 0; k < ocap; k++)
			if (old[k].store) {
				w->t[slot_of(w, old[k].uuid, 1)] = old[k];
				w->n++;
			}
		free(old);
	}
	i = slot_of(w, uuid, 0);
	if (w->t[i].store == NULL) {
		i = slot_of(w, uuid, 1);
		memcpy(w->t[i].uuid, uuid, LDAPSYNC_UUID_LEN);
		w->t[i].dead = 0;
		w->n++;
	}
	free(w->t[i].store);
	w->t[i].store = xstrndup(store, len);
}

/* Forget uuid; its maildir (to free), or NULL when unknown. */
static char *
table_take(struct watch *w, const unsigned char *uuid)
{
	size_t i;
	char *store;

	if (w->cap == 0)
		return NULL;
	i = slot_of(w, uuid, 0);
	if (w->t[i].store == NULL)
		return NULL;
	store = w->t[i].store;
	w->t[i].store = NULL;
	w->t[i].dead = 1;
	w->n--;
	return store;
}

static void
changed(struct watch *w)
{
	double now = clock_ms();

	if (!w->dirty)
		w->first = now;
	w->dirty = 1;
	w->last = now;
}

static void
orphan(const char *dn, const char *store)
{
	char shown[LOG_PRINTABLE_SIZE];

	log_warn("orphan: %s left the directory or its active accounts; "
	    "its maildir %s stays (never deleted)", dn ? dn : "an entry",
	    store ? log_printable(shown, sizeof(shown), store,
	    strlen(store)) : "(not known)");
}

static int
on_reset(void *arg, const char *why)
{
	struct watch *w = arg;

	log_info("watch: full refresh (%s)", why);
	table_clear(w);
	changed(w);
	return 0;
}

static int
on_entry(void *arg, enum ldapsync_state st, const unsigned char *uuid,
    const struct lentry *e)
{
	struct watch *w = arg;
	const char *store_attr = w->store_attr;
	const struct lval *v;
	char *store;

	switch (st) {
	case LDAPSYNC_PRESENT:
		break;
	case LDAPSYNC_ADD:
	case LDAPSYNC_MODIFY:
		if (lentry_values(e, store_attr, &v) > 0)
			table_put(w, uuid, v[0].ptr, v[0].len);
		changed(w);
		break;
	case LDAPSYNC_DELETE:
		store = table_take(w, uuid);
		orphan(lentry_dn(e), store);
		free(store);
		break;
	}
	return 0;
}

static int
on_idset(void *arg, int deletes, const unsigned char *uuids, size_t n)
{
	struct watch *w = arg;

	for (size_t i = 0; deletes && i < n; i++) {
		char *store = table_take(w, uuids + i * LDAPSYNC_UUID_LEN);

		if (store)
			orphan(NULL, store);
		free(store);
	}
	return 0;
}

static int
on_phase_end(void *arg, int present, int done)
{
	struct watch *w = arg;

	(void)present;
	if (done && !w->refreshed) {
		w->refreshed = 1;
		log_info("watch: refresh done, %zu accounts; following changes",
		    w->n);
		changed(w);
	}
	return 0;
}

static int
on_cookie(void *arg, const char *cookie, size_t len)
{
	(void)arg;
	(void)cookie;
	(void)len;
	return 0;		/* every start makes a whole pass anyway */
}

static const struct ldapsync_handler handler = {
	on_reset, on_entry, on_idset, on_phase_end, on_cookie
};

/* Run one pass in a child; the parent waits for it.  Returns
 * MDM_WATCH_CHILD in the child. */
static int
pass(struct watch *w)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		log_warn("watch: fork: %s; trying again", strerror(errno));
		return 0;
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		/* The lock held by a cron run, LDAP unreachable: 75, so
		 * that the watcher tries again. */
		exit_tempfail_on();
		return MDM_WATCH_CHILD;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			log_warn("watch: waitpid: %s", strerror(errno));
			return 0;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_TEMPFAIL) {
		log_warn("watch: the pass could not run now; again in %d ms",
		    RETRY_MS);
		w->dirty = 1;
		w->first = w->last = clock_ms() + RETRY_MS;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warn("watch: the pass exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warn("watch: the pass was killed by signal %d",
		    WTERMSIG(status));
	return 0;
}

int
mdm_watch(const struct cfg *cfg, const char *filter, const char *store)
{
	const char *const attrs[] = { store, NULL };
	struct sigaction sa;
	char err[1024], last[1024] = "";
	double last_at = 0;
	int rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	W = xcalloc(1, sizeof(*W));
	W->cfg = cfg;
	W->store_attr = store;
	W->s = ldapsync_new(cfg, cfg->account_base, CFG_SCOPE_SUB, filter,
	    attrs, &handler, W);
	while (!stop) {
		enum ldapconn_status st = ldapsync_run(W->s, RUN_MS, err,
		    sizeof(err));
		double now = clock_ms();

		if (st == LDAPCONN_PERM) {
			log_error("watch: %s", err);
			rc = EXIT_ERROR;
			break;
		}
		if (st != LDAPCONN_OK && (strcmp(err, last) != 0 ||
		    now - last_at > 60000)) {
			log_warn("watch: %s", err);
			snprintf(last, sizeof(last), "%s", err);
			last_at = now;
		}
		if (W->refreshed && W->dirty && !stop &&
		    (now - W->last >= QUIET_MS ||
		    now - W->first >= MAX_WAIT_MS)) {
			W->dirty = 0;
			if (pass(W) == MDM_WATCH_CHILD)
				return MDM_WATCH_CHILD;
		}
	}
	if (stop)
		log_info("watch: stopped by a signal");
	ldapsync_free(W->s);
	table_clear(W);
	free(W);
	W = NULL;
	return rc;
}
