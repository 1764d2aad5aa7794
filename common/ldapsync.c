/*
 * ldapsync: an RFC 4533 refreshAndPersist stream (see ldapsync.h).
 *
 * Messages are decoded by libldap's ldap_sync_poll() into the handlers of
 * an ldap_sync_t.  The search itself is started here, not by
 * ldap_sync_init(): that call returns only once the whole refresh phase is
 * over and waits without a bound meanwhile (a server frozen in the middle
 * of a refresh would hold the thread for ever, deaf to a stop).  So
 * ldap_sync_poll() runs with a zero timeout and the waiting happens here,
 * with poll(2) on the connection, every wait bounded by the caller's time,
 * the keepalive or ldap_timeout.  What ldap_sync_poll() does not pass on
 * is recovered here: a new cookie without an entry (syncInfo newcookie:
 * ls_cookie changes), which kind of phase a refreshDone ends (the syncInfo
 * message is read again), a search that ends with an error (its code is
 * ldap_sync_poll's value).
 *
 * The keepalive is a base search of the root DSE (no attributes) on the
 * stream's own connection, sent after keepalive ms without any message;
 * slapd answers it whatever the stream does, so no answer within
 * ldap_timeout means the server (or the way to it) is gone, whereas a
 * quiet directory only costs one tiny request a second.
 */
#include <ldap.h>

#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/ldapint.h"
#include "common/ldapsync.h"

#define KEEPALIVE_MS	1000
#define SERVER_MAX	300

struct ldapsync {
	struct ldapconn *lc;
	char *base;
	int scope;
	char *filter;
	char **attrs;			/* NULL: all user attributes */
	const struct ldapsync_handler *h;
	void *arg;
	int keepalive_ms;

	/* What to resume from: the last cookie delivered (or given) and
	 * the ldap_uri entry that issued it (NULL: no cookie). */
	struct buf cookie;
	char *cookie_server;

	/* The search, while running. */
	int running;
	LDAP *ld;
	ldap_sync_t ls;
	int refreshing;
	char server[SERVER_MAX];	/* its ldap_uri entry, "" if none */
	double last_rx;			/* ms (clock_ms) of the last message */
	int probe;			/* msgid of the keepalive, -1: none */
	double probe_sent;

	/* What the handlers of ls saw, for ldapsync_run. */
	unsigned long events;
	int stop;			/* a handler said stop */
	int bad;			/* a message made no sense */
	int ended;			/* the search ended with success */
	int refresh_required;		/* ... or asked for a full refresh */
	char why[300];			/* the server's reason, if any */
	char restart_why[400];		/* why the next start is a full one */
};

/* ---- small helpers ---- */

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (errsz == 0)
		return;
	va_start(ap, fmt);
	r = vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	if (r < 0)
		err[0] = '\0';
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/* The code of a failed search: PERM when asking again will not help. */
static enum ldapconn_status
result_status(int rc)
{
	switch (rc) {
	case LDAP_UNAVAILABLE_CRITICAL_EXTENSION:	/* no syncprov */
	case LDAP_PROTOCOL_ERROR:
	case LDAP_FILTER_ERROR:
	case LDAP_INSUFFICIENT_ACCESS:
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_SIZELIMIT_EXCEEDED:			/* limits of the DN */
	case LDAP_ADMINLIMIT_EXCEEDED:
	case LDAP_INVALID_DN_SYNTAX:
	case LDAP_PARAM_ERROR:
	case LDAP_NOT_SUPPORTED:
		return LDAPCONN_PERM;
	default:
		return LDAPCONN_TEMP;
	}
}

static const char *
result_hint(int rc)
{
	switch (rc) {
	case LDAP_UNAVAILABLE_CRITICAL_EXTENSION:
		return " (the server does not offer RFC 4533 sync: no "
		    "syncprov overlay on this database?)";
	case LDAP_SIZELIMIT_EXCEEDED:
		return " (a sync search cannot be paged: the bind DN needs "
		    "\"limits ... size.hard=unlimited\" in slapd)";
	default:
		return "";
	}
}

/* ---- the handlers of ldap_sync_t ---- */

static int
on_entry(ldap_sync_t *ls, LDAPMessage *msg, struct berval *uuid,
    ldap_sync_refresh_t phase)
{
	struct ldapsync *s = ls->ls_private;
	enum ldapsync_state st;
	struct lentry *e;
	int rc;

	s->events++;
	if (s->stop || s->bad)
		return LDAP_SUCCESS;
	switch (phase) {
	case LDAP_SYNC_CAPI_PRESENT:
		st = LDAPSYNC_PRESENT;
		break;
	case LDAP_SYNC_CAPI_ADD:
		st = LDAPSYNC_ADD;
		break;
	case LDAP_SYNC_CAPI_MODIFY:
		st = LDAPSYNC_MODIFY;
		break;
	case LDAP_SYNC_CAPI_DELETE:
		st = LDAPSYNC_DELETE;
		break;
	default:
		s->bad = 1;
		seterr(s->why, sizeof(s->why), "entry in sync state %d",
		    (int)phase);
		return LDAP_SUCCESS;
	}
	if (uuid == NULL || uuid->bv_len != LDAPSYNC_UUID_LEN) {
		s->bad = 1;
		seterr(s->why, sizeof(s->why), "entryUUID of %lu bytes",
		    uuid ? (unsigned long)uuid->bv_len : 0UL);
		return LDAP_SUCCESS;
	}
	e = ldapconn_entry(ls->ls_ld, msg, &rc);
	if (e == NULL) {
		s->bad = 1;
		seterr(s->why, sizeof(s->why), "undecodable entry: %s",
		    ldap_err2string(rc));
		return LDAP_SUCCESS;
	}
	if (s->h->entry(s->arg, st, (const unsigned char *)uuid->bv_val, e))
		s->stop = 1;
	lentry_free(e);
	return LDAP_SUCCESS;
}

static int
on_reference(ldap_sync_t *ls, LDAPMessage *msg)
{
	struct ldapsync *s = ls->ls_private;

	(void)msg;
	s->events++;
	return LDAP_SUCCESS;
}

/* Which syncInfo msg is: LDAP_TAG_SYNC_REFRESH_PRESENT, _DELETE, ...,
 * or LBER_DEFAULT. */
static ber_tag_t
info_tag(LDAP *ld, LDAPMessage *msg)
{
	char *oid = NULL;
	struct berval *data = NULL;
	ber_tag_t tag = LBER_DEFAULT;
	ber_len_t len;

	if (ldap_parse_intermediate(ld, msg, &oid, &data, NULL, 0) ==
	    LDAP_SUCCESS && oid && strcmp(oid, LDAP_SYNC_INFO) == 0 && data) {
		BerElement *ber = ber_init(data);

		if (ber) {
			tag = ber_peek_tag(ber, &len);
			ber_free(ber, 1);
		}
	}
	ldap_memfree(oid);
	ber_bvfree(data);
	return tag;
}

static int
on_intermediate(ldap_sync_t *ls, LDAPMessage *msg, BerVarray uuids,
    ldap_sync_refresh_t phase)
{
	struct ldapsync *s = ls->ls_private;

	s->events++;
	if (s->stop || s->bad)
		return LDAP_SUCCESS;
	if (phase == LDAP_SYNC_CAPI_PRESENTS_IDSET ||
	    phase == LDAP_SYNC_CAPI_DELETES_IDSET) {
		struct buf all = BUF_INIT;
		size_t n = 0;

		for (; uuids && uuids[n].bv_val; n++) {
			if (uuids[n].bv_len != LDAPSYNC_UUID_LEN) {
				s->bad = 1;
				seterr(s->why, sizeof(s->why), "syncIdSet "
				    "UUID of %lu bytes",
				    (unsigned long)uuids[n].bv_len);
				buf_free(&all);
				return LDAP_SUCCESS;
			}
			buf_append(&all, uuids[n].bv_val, LDAPSYNC_UUID_LEN);
		}
		if (n && s->h->idset(s->arg,
		    phase == LDAP_SYNC_CAPI_DELETES_IDSET,
		    (const unsigned char *)all.p, n))
			s->stop = 1;
		buf_free(&all);
		return LDAP_SUCCESS;
	}
	/* refreshPresent or refreshDelete: libldap says "done" or the phase
	 * it thinks begins; RFC 4533 has the message end the phase it
	 * names.  Which one it is, the message itself says. */
	{
		ber_tag_t tag = info_tag(ls->ls_ld, msg);
		int done = phase == LDAP_SYNC_CAPI_DONE;

		if (tag != LDAP_TAG_SYNC_REFRESH_PRESENT &&
		    tag != LDAP_TAG_SYNC_REFRESH_DELETE) {
			s->bad = 1;
			seterr(s->why, sizeof(s->why), "syncInfo of kind "
			    "0x%lx", (unsigned long)tag);
			return LDAP_SUCCESS;
		}
		if (s->h->phase_end(s->arg,
		    tag == LDAP_TAG_SYNC_REFRESH_PRESENT, done))
			s->stop = 1;
		if (done)
			s->refreshing = 0;
	}
	return LDAP_SUCCESS;
}

/* searchResultDone: success (the server ended the search after a
 * refresh) or e-syncRefreshRequired; other codes come back from
 * ldap_sync_poll without this call. */
static int
on_result(ldap_sync_t *ls, LDAPMessage *msg, int refresh_deletes)
{
	struct ldapsync *s = ls->ls_private;
	int code = LDAP_OTHER;
	char *diag = NULL;

	s->events++;
	if (ldap_parse_result(ls->ls_ld, msg, &code, NULL, &diag, NULL, NULL,
	    0) != LDAP_SUCCESS)
		code = LDAP_OTHER;
	seterr(s->why, sizeof(s->why), "%s", diag ? diag : "");
	ldap_memfree(diag);
	if (code == LDAP_SYNC_REFRESH_REQUIRED) {
		s->refresh_required = 1;
		return LDAP_SUCCESS;
	}
	s->ended = 1;
	if (s->refreshing && !s->stop && !s->bad && refresh_deletes >= 0) {
		s->refreshing = 0;
		if (s->h->phase_end(s->arg, refresh_deletes == 0, 1))
			s->stop = 1;
	}
	return LDAP_SUCCESS;
}

/* ---- the stream ---- */

struct ldapsync *
ldapsync_new(const struct cfg *cfg, const char *base, enum cfg_scope scope,
    const char *filter, const char *const *attrs,
    const struct ldapsync_handler *h, void *arg)
{
	struct ldapsync *s = xcalloc(1, sizeof(*s));

	s->lc = ldapconn_new(cfg);
	s->base = xstrdup(base);
	s->scope = scope == CFG_SCOPE_BASE ? LDAP_SCOPE_BASE :
	    scope == CFG_SCOPE_ONE ? LDAP_SCOPE_ONELEVEL : LDAP_SCOPE_SUBTREE;
	s->filter = xstrdup(filter);
	if (attrs) {
		size_t n = 0;

		while (attrs[n])
			n++;
		/* An empty list would mean "all attributes" on the wire. */
		s->attrs = xcalloc(n + 2, sizeof(*s->attrs));
		for (size_t i = 0; i < n; i++)
			s->attrs[i] = xstrdup(attrs[i]);
		if (n == 0)
			s->attrs[0] = xstrdup(LDAP_NO_ATTRS);
	}
	s->h = h;
	s->arg = arg;
	s->keepalive_ms = KEEPALIVE_MS;
	s->probe = -1;
	return s;
}

/* Forget the search (its handle may be gone already). */
static void
stream_end(struct ldapsync *s)
{
	if (!s->running)
		return;
	s->ls.ls_ld = NULL;		/* not ours to unbind */
	ldap_sync_destroy(&s->ls, 0);	/* frees ls_cookie */
	s->running = 0;
	s->ld = NULL;
	s->probe = -1;
	s->refreshing = 0;
	s->server[0] = '\0';
}

/* Abandon the search (and the keepalive) on a live handle, then end. */
static void
stream_stop(struct ldapsync *s)
{
	if (s->running && s->ld) {
		(void)ldap_abandon_ext(s->ld, s->ls.ls_msgid, NULL, NULL);
		if (s->probe >= 0)
			(void)ldap_abandon_ext(s->ld, s->probe, NULL, NULL);
	}
	stream_end(s);
}

void
ldapsync_free(struct ldapsync *s)
{
	struct ldapconn_pipe g;

	if (s == NULL)
		return;
	ldapconn_pipe_block(&g);
	stream_stop(s);
	ldapconn_free(s->lc);
	ldapconn_pipe_restore(&g);
	for (size_t i = 0; s->attrs && s->attrs[i]; i++)
		free(s->attrs[i]);
	free(s->attrs);
	free(s->base);
	free(s->filter);
	buf_free(&s->cookie);
	free(s->cookie_server);
	free(s);
}

static void
forget_cookie(struct ldapsync *s)
{
	buf_reset(&s->cookie);
	free(s->cookie_server);
	s->cookie_server = NULL;
}

void
ldapsync_resume(struct ldapsync *s, const char *server, const char *cookie,
    size_t len)
{
	forget_cookie(s);
	if (server && cookie && len) {
		buf_append(&s->cookie, cookie, len);
		s->cookie_server = xstrdup(server);
	}
}

void
ldapsync_set_keepalive(struct ldapsync *s, int ms)
{
	s->keepalive_ms = ms > 0 ? ms : KEEPALIVE_MS;
}

const char *
ldapsync_server(const struct ldapsync *s)
{
	return s->running && s->server[0] ? s->server : NULL;
}

int
ldapsync_refreshing(const struct ldapsync *s)
{
	return s->running && s->refreshing;
}

/* Start the search on the session's server, with the cookie if that
 * server issued it. */
static enum ldapconn_status
stream_start(struct ldapsync *s, char *err, size_t errsz)
{
	LDAPControl ctrl, *ctrls[2] = { &ctrl, NULL };
	struct berval cookie;
	BerElement *ber;
	enum ldapconn_status st;
	const char *why = NULL;
	int rc, msgid, resume;
	char server[SERVER_MAX];

	st = ldapconn_ld(s->lc, &s->ld, err, errsz);
	if (st != LDAPCONN_OK)
		return st;
	(void)ldapconn_current(s->lc, server, sizeof(server));
	resume = s->cookie_server && s->cookie.len &&
	    strcmp(s->cookie_server, server) == 0;
	if (!resume) {
		why = s->restart_why[0] ? s->restart_why :
		    s->cookie_server == NULL ? "no cookie" :
		    "the cookie is of another server";
		forget_cookie(s);
	}

	memset(&ctrl, 0, sizeof(ctrl));
	ber = ber_alloc_t(LBER_USE_DER);
	if (ber == NULL) {
		seterr(err, errsz, "out of memory");
		return LDAPCONN_TEMP;
	}
	cookie.bv_val = s->cookie.p;
	cookie.bv_len = s->cookie.len;
	/* reloadHint FALSE: a server that cannot resume says so
	 * (e-syncRefreshRequired) rather than sending everything again. */
	rc = resume ? ber_printf(ber, "{eOb}", LDAP_SYNC_REFRESH_AND_PERSIST,
	    &cookie, 0) : ber_printf(ber, "{eb}",
	    LDAP_SYNC_REFRESH_AND_PERSIST, 0);
	if (rc < 0 || ber_flatten2(ber, &ctrl.ldctl_value, 0) < 0) {
		ber_free(ber, 1);
		seterr(err, errsz, "cannot encode the sync request");
		return LDAPCONN_TEMP;
	}
	ctrl.ldctl_oid = (char *)LDAP_CONTROL_SYNC;
	ctrl.ldctl_iscritical = 1;
	/* No size limit, explicitly: a limit of "none" gets slapd's soft
	 * limit (500), this one its hard limit. */
	rc = ldap_search_ext(s->ld, s->base, s->scope, s->filter, s->attrs, 0,
	    ctrls, NULL, NULL, INT_MAX, &msgid);
	ber_free(ber, 1);
	if (rc != LDAP_SUCCESS) {
		seterr(err, errsz, "%s: sync search %s: %s", server, s->base,
		    ldap_err2string(rc));
		ldapconn_ld_drop(s->lc);
		return LDAPCONN_TEMP;
	}

	ldap_sync_initialize(&s->ls);
	s->ls.ls_ld = s->ld;
	s->ls.ls_msgid = msgid;
	s->ls.ls_refreshPhase = LDAP_SYNC_CAPI_NONE;
	s->ls.ls_timeout = 0;		/* we wait, in poll(2) */
	s->ls.ls_private = s;
	s->ls.ls_search_entry = on_entry;
	s->ls.ls_search_reference = on_reference;
	s->ls.ls_intermediate = on_intermediate;
	s->ls.ls_search_result = on_result;
	s->running = 1;
	s->refreshing = 1;
	s->stop = s->bad = s->ended = s->refresh_required = 0;
	s->why[0] = '\0';
	s->probe = -1;
	s->last_rx = clock_ms();
	memcpy(s->server, server, sizeof(s->server));
	if (why && s->h->reset(s->arg, why))
		s->stop = 1;
	s->restart_why[0] = '\0';
	return LDAPCONN_OK;
}

/* A cookie ldap_sync_poll took from the last messages: handed on, except
 * in the middle of a refresh (it comes after the refresh's end). */
static void
pass_cookie(struct ldapsync *s)
{
	const struct berval *c = &s->ls.ls_cookie;

	if (c->bv_val == NULL || s->refreshing || s->stop)
		return;
	if (s->cookie_server && s->cookie.len == c->bv_len &&
	    memcmp(s->cookie.p, c->bv_val, c->bv_len) == 0)
		return;
	buf_reset(&s->cookie);
	buf_append(&s->cookie, c->bv_val, c->bv_len);
	free(s->cookie_server);
	s->cookie_server = xstrdup(s->server);
	s->events++;
	if (s->h->cookie(s->arg, s->cookie.p, s->cookie.len))
		s->stop = 1;
}

/* The stream is lost (why: err); frozen: its server counts as down. */
static enum ldapconn_status
stream_lost(struct ldapsync *s, int frozen, const char *err,
    enum ldapconn_status st)
{
	if (frozen)
		ldapconn_ld_failed(s->lc, err);
	else
		ldapconn_ld_drop(s->lc);
	stream_end(s);
	return st;
}

/* Wait up to ms for the connection to have bytes to read (in the socket
 * or, with TLS, already in libldap's buffer, which does not wake
 * poll(2)); 1 if it has. */
static int
readable(struct ldapsync *s, int ms)
{
	Sockbuf *sb = NULL;
	struct pollfd p;
	int fd = -1;

	if (ldap_get_option(s->ld, LDAP_OPT_SOCKBUF, &sb) == LDAP_OPT_SUCCESS &&
	    sb && ber_sockbuf_ctrl(sb, LBER_SB_OPT_DATA_READY, NULL) > 0)
		return 1;
	if (ldap_get_option(s->ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS ||
	    fd < 0)
		return 1;	/* let libldap find out */
	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	return poll(&p, 1, ms) != 0;
}

/*
 * Everything libldap has or can read now.  OK, or the end of the stream
 * (ABORTED, TEMP, PERM) with err; *again: restart at once.
 *
 * With a zero timeout, ldap_result() (inside ldap_sync_poll) that finds
 * nothing queued reads one message from the connection, queues it and
 * returns "nothing" all the same; the next call returns it.  So a call
 * that handed nothing on is final only if the connection had nothing to
 * read before it.  Asking poll(2) before every call costs two of them a
 * message (a refresh of 1,000,000 entries: seconds of the thread that
 * also builds the snapshot), so after a message the next two calls go
 * unasked (a burst is read on) and only the third empty call in a row
 * is asked before: that one ends the drain, and a message an unasked
 * call queued is the next call's whatever it is.
 */
static enum ldapconn_status
drain(struct ldapsync *s, int *again, char *err, size_t errsz)
{
	int empty = 2;		/* calls in a row that handed nothing on */

	*again = 0;
	for (;;) {
		unsigned long before = s->events;
		int ready = empty >= 2 ? readable(s, 0) : 1;
		int rc = ldap_sync_poll(&s->ls);

		pass_cookie(s);
		if (s->stop) {
			seterr(err, errsz, "stopped");
			stream_stop(s);
			return LDAPCONN_ABORTED;
		}
		if (s->bad) {
			seterr(err, errsz, "%s: sync search %s: %s", s->server,
			    s->base, s->why);
			return stream_lost(s, 0, err, LDAPCONN_TEMP);
		}
		if (s->refresh_required) {
			/* Start over without the cookie, at once. */
			seterr(s->restart_why, sizeof(s->restart_why),
			    "%s: e-syncRefreshRequired (%s)", s->server,
			    s->why[0] ? s->why : "no reason");
			stream_stop(s);
			forget_cookie(s);
			*again = 1;
			return LDAPCONN_OK;
		}
		if (s->ended) {
			/* The server ended the search; resume with the
			 * cookie. */
			stream_stop(s);
			*again = 1;
			return LDAPCONN_OK;
		}
		if (rc < 0) {
			int code = LDAP_SERVER_DOWN;

			(void)ldap_get_option(s->ld, LDAP_OPT_RESULT_CODE,
			    &code);
			seterr(err, errsz, "%s: sync search %s: %s",
			    s->server, s->base, ldap_err2string(code));
			/* Lost while a keepalive waited: the server had
			 * gone silent first (the kernel gave up on it). */
			return stream_lost(s, code == LDAP_TIMEOUT ||
			    s->probe >= 0, err, LDAPCONN_TEMP);
		}
		if (rc > 0) {
			/* The search ended with code rc. */
			seterr(err, errsz, "%s: sync search %s: %s%s%s%s%s",
			    s->server, s->base, ldap_err2string(rc),
			    s->why[0] ? " (" : "", s->why,
			    s->why[0] ? ")" : "", result_hint(rc));
			return stream_lost(s, rc == LDAP_BUSY ||
			    rc == LDAP_UNAVAILABLE, err, result_status(rc));
		}
		if (s->events == before) {
			if (!ready)
				return LDAPCONN_OK;
			empty++;
			continue;
		}
		empty = 0;
		s->last_rx = clock_ms();
	}
}

/* The keepalive: sent after keepalive_ms of silence; its answer (or a
 * failure) collected.  TEMP with err when the server did not answer in
 * time. */
static enum ldapconn_status
keepalive(struct ldapsync *s, char *err, size_t errsz)
{
	double now = clock_ms();
	int timeout = ldapconn_timeout(s->lc);

	if (s->probe >= 0) {
		struct timeval zero = { 0, 0 };
		LDAPMessage *msg = NULL;
		int rc = ldap_result(s->ld, s->probe, LDAP_MSG_ALL, &zero,
		    &msg);

		if (rc > 0) {
			ldap_msgfree(msg);
			s->probe = -1;
			s->last_rx = now;
			return LDAPCONN_OK;
		}
		if (rc < 0) {
			seterr(err, errsz, "%s: sync search %s: connection "
			    "lost while a keepalive waited", s->server,
			    s->base);
			return stream_lost(s, 1, err, LDAPCONN_TEMP);
		}
		if (now - s->probe_sent >= timeout * 1000.0) {
			seterr(err, errsz, "%s: no answer within %d s (sync "
			    "stream of %s)", s->server, timeout, s->base);
			return stream_lost(s, 1, err, LDAPCONN_TEMP);
		}
		return LDAPCONN_OK;
	}
	if (now - s->last_rx >= s->keepalive_ms) {
		char noattr[] = LDAP_NO_ATTRS, *none[2] = { noattr, NULL };
		struct timeval limit = { timeout, 0 };
		int msgid, rc;

		rc = ldap_search_ext(s->ld, "", LDAP_SCOPE_BASE,
		    "(objectClass=*)", none, 0, NULL, NULL, &limit, 1,
		    &msgid);
		if (rc != LDAP_SUCCESS) {
			seterr(err, errsz, "%s: keepalive of the sync stream "
			    "of %s: %s", s->server, s->base,
			    ldap_err2string(rc));
			return stream_lost(s, 0, err, LDAPCONN_TEMP);
		}
		s->probe = msgid;
		s->probe_sent = now;
	}
	return LDAPCONN_OK;
}

/* ms until the keepalive has something to do. */
static double
keepalive_due(const struct ldapsync *s)
{
	double now = clock_ms();

	if (s->probe >= 0)
		return s->probe_sent + ldapconn_timeout(s->lc) * 1000.0 - now;
	return s->last_rx + s->keepalive_ms - now;
}

static void
sleep_ms(double ms)
{
	struct timespec t;

	if (ms <= 0)
		return;
	t.tv_sec = (time_t)(ms / 1000);
	t.tv_nsec = (long)(ms - (double)t.tv_sec * 1000) * 1000000L;
	nanosleep(&t, NULL);
}

enum ldapconn_status
ldapsync_run(struct ldapsync *s, int ms, char *err, size_t errsz)
{
	double deadline = clock_ms() + (ms > 0 ? ms : 0);
	enum ldapconn_status st = LDAPCONN_OK;
	struct ldapconn_pipe g;
	int again, restarts = 0;

	if (errsz)
		err[0] = '\0';
	ldapconn_pipe_block(&g);
	for (;;) {
		if (!s->running) {
			st = stream_start(s, err, errsz);
			if (st != LDAPCONN_OK) {
				/* Not before the caller's next call. */
				sleep_ms(deadline - clock_ms());
				break;
			}
		}
		st = drain(s, &again, err, errsz);
		if (st != LDAPCONN_OK)
			break;
		if (again) {
			/* A server that ends every search at once is not
			 * asked again and again within one call. */
			if (++restarts > 2) {
				seterr(err, errsz, "sync search %s: the server "
				    "ends it at once", s->base);
				st = LDAPCONN_TEMP;
				break;
			}
			continue;
		}
		st = keepalive(s, err, errsz);
		if (st != LDAPCONN_OK)
			break;
		if (ldapconn_ld_failback(s->lc)) {
			/* Back on an earlier server: the old handle is gone,
			 * and so is the search. */
			stream_end(s);
			continue;
		}
		if (clock_ms() >= deadline)
			break;
		{
			double wait = deadline - clock_ms(), k = keepalive_due(s);

			wait = k < wait ? (k > 0 ? k : 0) : wait;
			if (wait > 0)
				(void)readable(s, (int)(wait + 0.999));
		}
	}
	ldapconn_pipe_restore(&g);
	return st;
}

/* ---- does the server offer sync? ---- */

struct supported {
	int found;
};

static int
root_dse(const struct lentry *e, void *arg)
{
	struct supported *sp = arg;
	const struct lval *v;
	size_t n = lentry_values(e, "supportedControl", &v);

	for (size_t i = 0; i < n; i++)
		if (v[i].len == strlen(LDAP_CONTROL_SYNC) &&
		    memcmp(v[i].ptr, LDAP_CONTROL_SYNC, v[i].len) == 0)
			sp->found = 1;
	return 0;
}

int
ldapsync_supported(struct ldapconn *lc, char *err, size_t errsz)
{
	const char *const attrs[] = { "supportedControl", NULL };
	struct supported sp = { 0 };

	if (ldapconn_search(lc, "", CFG_SCOPE_BASE, "(objectClass=*)", attrs,
	    0, root_dse, &sp, err, errsz) != LDAPCONN_OK)
		return -1;
	return sp.found;
}
