/*
 * ldapconn: one LDAP session (see ldapconn.h): connecting to the ldap_uri
 * entries in order, with failover and failback (section "failover"
 * below), TLS (with a client certificate when configured),
 * a simple bind with a freshly read password or a SASL EXTERNAL bind,
 * RFC 2696 paging, a bound on every wait, and reconnecting.
 *
 * SASL EXTERNAL (sasl_mech): slapd takes the identity from the connection
 * (ldapi:// peer credentials, or the client certificate's subject over
 * TLS) and maps it to a DN with authz-regexp.  A mapping that is missing
 * or wrong still binds, and then every search comes back empty or "no
 * such object": mail would bounce.  So after the bind the session asks
 * who it is (RFC 4532) and reads one entry of account_base; an identity
 * that cannot is a failed bind (TEMP) whose message names the identity.
 * EXTERNAL is built into libsasl2 itself: no plugin package is needed.
 *
 * With a client certificate, libldap 2.5 (tls_g.c) leaks the key and
 * certificate it loads into every new TLS context (some 14 kB), so such a
 * session keeps one context and gives it to each new connection; it makes
 * a new one only when tls_ca_file, tls_cert_file or tls_key_file changed
 * on disk (a renewed certificate is picked up at the next connect).
 *
 * Answers:
 *   OK    the server sent a complete answer (every page of a paged search);
 *   TEMP  it could not be asked, or its answer was cut short: connection
 *         lost, timeout, busy/unavailable/unwilling, a size or time limit,
 *         a missing base, a failed bind (mail must wait, never bounce);
 *   PERM  the server refused the request itself (bad filter, protocol
 *         error, insufficient access, ...) or the configuration cannot
 *         work (bad URI, tls = ldaps with an ldap:// URI, unusable CA file).
 *
 * A connection that failed (server down, connect error, timeout, garbage,
 * busy or unavailable) is dropped; the next operation starts afresh.  When
 * a reused connection turns out dead before anything was delivered, the
 * operation is retried once on a new one: that is how a server restart
 * looks from here.  A timeout is never retried on the same server, so no
 * operation waits much more than ldap_timeout per server.  A failed
 * connect is remembered for one second and repeated at once to anyone
 * asking meanwhile.  Connecting (TCP, TLS,
 * bind) is watched by a short-lived thread that gives up on the socket
 * after ldap_timeout + 1 s: libldap has no limit of its own on an ldaps
 * handshake (see watchdog_main).
 *
 * liblber writes with write(2), and over TLS libldap writes to a socket
 * the server has closed: SIGPIPE.  Every public function blocks SIGPIPE in
 * the calling thread while it runs (the entry callback included) and
 * swallows one raised meanwhile, so a program that does not ignore
 * SIGPIPE is not killed by a restarting directory.
 *
 * Limits: attribute names are matched by name, not by OID or alias
 * (servers send back the names they were asked for); DN normalization
 * folds ASCII case only.
 */
#include <ldap.h>
#include <sasl/sasl.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/cfg.h"
#include "common/ldapconn.h"
#include "common/ldapint.h"

/* Exported by libldap (OPENLDAP_2.5), declared in no installed header:
 * drops the reference that LDAP_OPT_X_TLS_CTX's ldap_get_option took. */
void ldap_pvt_tls_ctx_free(void *ctx);

#define PAGE_ENTRIES	500	/* slapd's default size limit */
#define RETRY_PAUSE_MS	1000	/* after a failed connect */
#define KEEPALIVE_IDLE	60
#define KEEPALIVE_PROBES 3
#define KEEPALIVE_INTVL	10

/* What the process knows of one server (one ldap_uri text), shared by
 * its sessions under health_mu: what one session found out about a
 * frozen server, the others need not wait ldap_timeout to learn. */
struct health {
	char *uri;
	int down;		/* did not answer: tried after the others,
				 * until it answers again */
	/* The last failed connect, repeated for RETRY_PAUSE_MS. */
	int failed;
	struct timespec failed_at;
	enum ldapconn_status failed_st;
	char failed_err[512];
	struct health *next;
};

static pthread_mutex_t health_mu = PTHREAD_MUTEX_INITIALIZER;
static struct health *health_list;	/* lives as long as the process */

/* One ldap_uri entry of a session. */
struct server {
	const char *uri;	/* as configured (in cfg) */
	struct health *h;
};

struct probe;

struct ldapconn {
	const struct cfg *cfg;
	char *uris;		/* every ldap_uri, space-separated */
	int timeout;		/* seconds */
	LDAP *ld;		/* NULL: not connected */
	struct ldap_conncb cb;	/* tells which URI answered */
	char server[300];	/* that URI; "" when not connected */
	char identity[300];	/* Who am I? after a SASL bind; "" otherwise */
	int no_such_base;	/* the last search: noSuchObject */

	/* The TLS context kept with a client certificate (see the top),
	 * and what its files looked like when it was made. */
	void *tls_ctx;
	struct timespec tls_mtime[3];	/* CA, certificate, key */
	ino_t tls_ino[3];

	/* Failover: the servers in ldap_uri order, which one ld talks to,
	 * since when (or since the last failback probe), and the probe of
	 * the earlier ones that runs in the background (see failback). */
	struct server *srv;
	size_t nsrv;
	size_t cur;
	const char *trying;	/* URI being connected, for messages */
	struct timespec cur_since;
	long failback_ms;
	struct probe *probe;

	/* What ldapconn_current tells other threads, under pub_mu. */
	pthread_mutex_t pub_mu;
	int pub_index;		/* -1: not connected */
	char pub_uri[300];

	/* The watchdog of a connect (see watchdog_main); wd_fd, wd_stop
	 * and wd_fired are shared with its thread, under wd_mu. */
	pthread_mutex_t wd_mu;
	pthread_cond_t wd_cv;
	pthread_t wd_thread;
	int wd_running;
	int wd_stop;
	int wd_fd;		/* the socket to shut down, -1: none */
	int wd_fired;
	struct timespec wd_deadline;
};

struct lattr {
	const char *name;	/* into the entry's BER, not NUL-terminated */
	size_t namelen;		/* without options */
	struct lval *v;
	size_t n;
	size_t first_n;		/* values of its first occurrence */
};

struct lentry {
	char *dn;
	struct lattr *a;
	size_t n;
	BerElement *ber;	/* names and values point into its buffer */
	char **own;		/* or into these copies (lentry_add) */
	size_t nown;
	size_t *occ;		/* attribute index of each occurrence, in
				 * the server's order (lentry_attr) */
	size_t nocc;
};

/* ---- small helpers ---- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
	int v;

	/* libldap reads ldap.conf on first use; do it once, not racing. */
	(void)ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &v);
}

struct pipe_guard {
	sigset_t old;
	int pending;		/* SIGPIPE was pending before: not ours */
};

static void
pipe_block(struct pipe_guard *g)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pend);
	(void)sigpending(&pend);
	g->pending = sigismember(&pend, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void
pipe_restore(struct pipe_guard *g)
{
	sigset_t set, pend;
	struct timespec zero = { 0, 0 };

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pend);
	if (!g->pending && sigpending(&pend) == 0 &&
	    sigismember(&pend, SIGPIPE) == 1)
		(void)sigtimedwait(&set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++)
		if (ascii_lower((unsigned char)a[i]) !=
		    ascii_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* Length of an attribute description without its options (";binary"). */
static size_t
base_len(const char *name, size_t len)
{
	const char *semi = memchr(name, ';', len);

	return semi ? (size_t)(semi - name) : len;
}

/* Error text goes into logs and protocol replies: one line, no controls. */
static void
one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static int
ld_errno(LDAP *ld)
{
	int rc = LDAP_OTHER;

	if (ld == NULL ||
	    ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc) != LDAP_OPT_SUCCESS)
		return LDAP_OTHER;
	return rc;
}

/* libldap's diagnostic message for the last error, or NULL (ldap_memfree). */
static char *
ld_diag(LDAP *ld)
{
	char *d = NULL;

	if (ld == NULL ||
	    ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &d) !=
	    LDAP_OPT_SUCCESS)
		return NULL;
	/* libldap's placeholder when the TLS layer said nothing */
	if (d && (*d == '\0' || strcmp(d, "(unknown error code)") == 0)) {
		ldap_memfree(d);
		d = NULL;
	}
	return d;
}

/* Format into buf; a reason too long still helps, so it is cut and
 * ends in "...". */
static void __attribute__((format(printf, 3, 0)))
vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	int r;

	if (size == 0)
		return;
	r = vsnprintf(buf, size, fmt, ap);
	if (r < 0)
		buf[0] = '\0';
	else if ((size_t)r >= size && size > 4)
		memcpy(buf + size - 4, "...", 4);
}

/* One line of text (a reason, a server name) into buf. */
static void __attribute__((format(printf, 3, 4)))
linef(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfmt(buf, size, fmt, ap);
	va_end(ap);
	if (size)
		one_line(buf);
}

/* "WHAT: <ldap_err2string> (diag)" into err, WHAT formatted from fmt. */
static void __attribute__((format(printf, 5, 6)))
set_err(char *err, size_t errsz, int rc, const char *diag,
    const char *fmt, ...)
{
	const char *msg = ldap_err2string(rc);
	char what[600];
	va_list ap;

	va_start(ap, fmt);
	vfmt(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (diag && *diag && strcmp(diag, msg) != 0)
		linef(err, errsz, "%s: %s (%s)", what, msg, diag);
	else
		linef(err, errsz, "%s: %s", what, msg);
}

/* GnuTLS tells libldap nothing about a refused certificate. */
#define TLS_HINT "is the server certificate trusted by tls_ca_file and " \
	"issued for this host name?"

/* Whom to name for a connection problem: the URI that answered, the one
 * being tried, or all. */
static const char *
server_name(const struct ldapconn *lc)
{
	return lc->server[0] ? lc->server : lc->trying ? lc->trying :
	    lc->uris;
}

/* ---- classification ---- */

/* Codes after which the connection is not worth keeping. */
static int
conn_broken(int rc)
{
	switch (rc) {
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_TIMEOUT:
	case LDAP_LOCAL_ERROR:
	case LDAP_ENCODING_ERROR:
	case LDAP_DECODING_ERROR:
	case LDAP_NO_MEMORY:
	case LDAP_BUSY:
	case LDAP_UNAVAILABLE:
		return 1;
	default:
		return 0;
	}
}

/* Codes after which the server counts as down: it did not answer in time
 * or says it cannot serve. */
static int
server_unwell(int rc)
{
	return rc == LDAP_TIMEOUT || rc == LDAP_BUSY || rc == LDAP_UNAVAILABLE;
}

/* Codes a stale handle gives: worth one retry on a fresh connection. */
static int
conn_lost(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR;
}

/* A search result code: TEMP when asking later may work (or the answer
 * was cut short), PERM when the server refused the request itself. */
static enum ldapconn_status
search_status(int rc)
{
	switch (rc) {
	case LDAP_SUCCESS:
		return LDAPCONN_OK;
	/* the request or the configuration is wrong: asking again won't do */
	case LDAP_FILTER_ERROR:
	case LDAP_PARAM_ERROR:
	case LDAP_NOT_SUPPORTED:
	case LDAP_CONTROL_NOT_FOUND:
		return LDAPCONN_PERM;
	/* the server is unwell or the answer is incomplete */
	case LDAP_OPERATIONS_ERROR:
	case LDAP_TIMELIMIT_EXCEEDED:
	case LDAP_SIZELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
	case LDAP_NO_SUCH_OBJECT:
	case LDAP_BUSY:
	case LDAP_UNAVAILABLE:
	case LDAP_UNWILLING_TO_PERFORM:
	case LDAP_LOOP_DETECT:
	case LDAP_OTHER:
		return LDAPCONN_TEMP;
	default:
		/* Client-side codes are local trouble (connection, memory,
		 * timeout); server codes left are refusals. */
		return rc < 0 ? LDAPCONN_TEMP : LDAPCONN_PERM;
	}
}

/* ---- the connect watchdog ---- */

/*
 * libldap bounds the TCP connect and each operation, but not the TLS
 * handshake of an ldaps:// URI: with a server that accepted the connection
 * and then says nothing (stopped, overloaded), libldap 2.5.13 with GnuTLS
 * spins on EAGAIN for as long as that lasts.  So from the moment a socket
 * is connected until the session is bound, a thread of its own waits
 * ldap_timeout + 1 s and then shuts the socket down, which ends any wait
 * on it with an error.  libldap's own limits fire first when they work.
 */
static void *
watchdog_main(void *arg)
{
	struct ldapconn *lc = arg;

	pthread_mutex_lock(&lc->wd_mu);
	while (!lc->wd_stop) {
		if (pthread_cond_timedwait(&lc->wd_cv, &lc->wd_mu,
		    &lc->wd_deadline) == ETIMEDOUT) {
			if (!lc->wd_stop && lc->wd_fd >= 0) {
				(void)shutdown(lc->wd_fd, SHUT_RDWR);
				lc->wd_fired = 1;
			}
			break;
		}
	}
	pthread_mutex_unlock(&lc->wd_mu);
	return NULL;
}

/* Watch fd, connected just now (starting the watchdog if needed). */
static void
watchdog_arm(struct ldapconn *lc, int fd)
{
	sigset_t all, old;

	pthread_mutex_lock(&lc->wd_mu);
	lc->wd_fd = fd;
	pthread_mutex_unlock(&lc->wd_mu);
	if (lc->wd_running)
		return;
	clock_gettime(CLOCK_MONOTONIC, &lc->wd_deadline);
	lc->wd_deadline.tv_sec += lc->timeout + 1;
	lc->wd_stop = 0;
	lc->wd_fired = 0;
	/* The watchdog takes no signal meant for the program. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* Without a thread the session works, only unguarded. */
	lc->wd_running = pthread_create(&lc->wd_thread, NULL, watchdog_main,
	    lc) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The socket is about to be closed: never touch its number again. */
static void
watchdog_forget(struct ldapconn *lc, int fd)
{
	pthread_mutex_lock(&lc->wd_mu);
	if (fd < 0 || lc->wd_fd == fd)
		lc->wd_fd = -1;
	pthread_mutex_unlock(&lc->wd_mu);
}

/* Stop watching; returns whether the watchdog shut a socket down. */
static int
watchdog_stop(struct ldapconn *lc)
{
	int fired;

	if (!lc->wd_running)
		return 0;
	pthread_mutex_lock(&lc->wd_mu);
	lc->wd_stop = 1;
	pthread_cond_signal(&lc->wd_cv);
	pthread_mutex_unlock(&lc->wd_mu);
	pthread_join(lc->wd_thread, NULL);
	lc->wd_running = 0;
	fired = lc->wd_fired;
	lc->wd_fired = 0;
	lc->wd_fd = -1;
	return fired;
}

/* ---- connection ---- */

static int
conn_add(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
    struct ldap_conncb *ctx)
{
	struct ldapconn *lc = ctx->lc_arg;
	const char *host = srv->lud_host ? srv->lud_host : "";
	int v6 = strchr(host, ':') != NULL &&
	    strcmp(srv->lud_scheme, "ldapi") != 0;
	ber_socket_t fd = -1;

	(void)ld;
	(void)addr;
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) == 1 && fd >= 0)
		watchdog_arm(lc, fd);
	if (strcmp(srv->lud_scheme, "ldapi") == 0)
		linef(lc->server, sizeof(lc->server), "ldapi://%s", host);
	else
		linef(lc->server, sizeof(lc->server), "%s://%s%s%s:%d",
		    srv->lud_scheme, v6 ? "[" : "", host, v6 ? "]" : "",
		    srv->lud_port);
	return 0;
}

static void
conn_del(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	ber_socket_t fd = -1;

	(void)ld;
	/* sb is NULL when the whole handle goes. */
	if (sb == NULL ||
	    ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1)
		fd = -1;
	watchdog_forget(ctx->lc_arg, fd);
}

/* Tell other threads which server the session uses now. */
static void
publish(struct ldapconn *lc)
{
	pthread_mutex_lock(&lc->pub_mu);
	if (lc->ld) {
		lc->pub_index = (int)lc->cur;
		linef(lc->pub_uri, sizeof(lc->pub_uri), "%s",
		    lc->srv[lc->cur].uri);
	} else {
		lc->pub_index = -1;
		lc->pub_uri[0] = '\0';
	}
	pthread_mutex_unlock(&lc->pub_mu);
}

static void
drop(struct ldapconn *lc)
{
	if (lc->ld) {
		ldap_unbind_ext(lc->ld, NULL, NULL);
		lc->ld = NULL;
		publish(lc);
	}
	lc->server[0] = '\0';
}

/* The shared record of uri, made on first use. */
static struct health *
health_of(const char *uri)
{
	struct health *h;

	pthread_mutex_lock(&health_mu);
	for (h = health_list; h; h = h->next)
		if (strcmp(h->uri, uri) == 0)
			break;
	if (h == NULL) {
		h = xcalloc(1, sizeof(*h));
		h->uri = xstrdup(uri);
		h->next = health_list;
		health_list = h;
	}
	pthread_mutex_unlock(&health_mu);
	return h;
}

/* srv[i] failed with st and err: it counts as down, and the failure is
 * repeated at once for RETRY_PAUSE_MS. */
static void
server_failed(struct ldapconn *lc, size_t i, enum ldapconn_status st,
    const char *err)
{
	struct health *h = lc->srv[i].h;

	pthread_mutex_lock(&health_mu);
	h->down = 1;
	h->failed = 1;
	h->failed_st = st;
	clock_gettime(CLOCK_MONOTONIC, &h->failed_at);
	linef(h->failed_err, sizeof(h->failed_err), "%s", err);
	pthread_mutex_unlock(&health_mu);
}

/* srv[i] answered. */
static void
server_up(struct ldapconn *lc, size_t i)
{
	pthread_mutex_lock(&health_mu);
	lc->srv[i].h->down = 0;
	lc->srv[i].h->failed = 0;
	pthread_mutex_unlock(&health_mu);
}

/* Did srv[i] fail within RETRY_PAUSE_MS?  Then 1, with its status and
 * reason. */
static int
server_recently_failed(struct ldapconn *lc, size_t i,
    enum ldapconn_status *st, char *err, size_t errsz)
{
	struct health *h = lc->srv[i].h;
	int r;

	pthread_mutex_lock(&health_mu);
	r = h->failed && (long)clock_ms_since(&h->failed_at) < RETRY_PAUSE_MS;
	if (r) {
		*st = h->failed_st;
		linef(err, errsz, "%s", h->failed_err);
	}
	pthread_mutex_unlock(&health_mu);
	return r;
}

static int
has_scheme(const char *uri, const char *scheme)
{
	size_t n = strlen(scheme);

	return strlen(uri) >= n + 3 && name_eq(uri, n, scheme, n) &&
	    memcmp(uri + n, "://", 3) == 0;
}

/* URIs that contradict the tls setting: better no answer than cleartext. */
static int
check_uris(const struct ldapconn *lc, char *err, size_t errsz)
{
	const struct cfg *cfg = lc->cfg;

	if (cfg->ldap_uri.n == 0) {
		linef(err, errsz, "no ldap_uri configured");
		return -1;
	}
	for (size_t i = 0; i < cfg->ldap_uri.n; i++) {
		const char *u = cfg->ldap_uri.v[i];

		if (cfg->tls == CFG_TLS_LDAPS && !has_scheme(u, "ldaps")) {
			linef(err, errsz, "tls = ldaps but %s is not an "
			    "ldaps:// URI", u);
			return -1;
		}
		if (cfg->tls == CFG_TLS_STARTTLS && has_scheme(u, "ldaps")) {
			linef(err, errsz, "tls = starttls but %s is an "
			    "ldaps:// URI", u);
			return -1;
		}
	}
	return 0;
}

static int
uses_tls(const struct cfg *cfg)
{
	if (cfg->tls != CFG_TLS_NO)
		return 1;
	for (size_t i = 0; i < cfg->ldap_uri.n; i++)
		if (has_scheme(cfg->ldap_uri.v[i], "ldaps"))
			return 1;
	return 0;
}

static void
tls_ctx_forget(struct ldapconn *lc)
{
	if (lc->tls_ctx != NULL)
		ldap_pvt_tls_ctx_free(lc->tls_ctx);
	lc->tls_ctx = NULL;
}

/* Note what the TLS files look like now; 1 if that differs from what it
 * was when lc->tls_ctx was made. */
static int
tls_files_changed(struct ldapconn *lc)
{
	const char *f[3] = { lc->cfg->tls_ca_file, lc->cfg->tls_cert_file,
	    lc->cfg->tls_key_file };
	int changed = 0;

	for (int i = 0; i < 3; i++) {
		struct stat st;

		memset(&st, 0, sizeof(st));
		if (f[i] == NULL || stat(f[i], &st) != 0)
			memset(&st, 0, sizeof(st));
		if (st.st_ino != lc->tls_ino[i] ||
		    st.st_mtim.tv_sec != lc->tls_mtime[i].tv_sec ||
		    st.st_mtim.tv_nsec != lc->tls_mtime[i].tv_nsec)
			changed = 1;
		lc->tls_ino[i] = st.st_ino;
		lc->tls_mtime[i] = st.st_mtim;
	}
	return changed;
}

/* Options of a new handle; -1 with err set if one cannot be set. */
static int
set_options(struct ldapconn *lc, char *err, size_t errsz)
{
	const struct cfg *cfg = lc->cfg;
	LDAP *ld = lc->ld;
	int v3 = LDAP_VERSION3, deref = LDAP_DEREF_NEVER;
	struct timeval tv = { lc->timeout, 0 };
	const char *what;

#define OPT(o, v) do { what = #o; \
	if (ldap_set_option(ld, o, v) != LDAP_OPT_SUCCESS) goto fail; \
} while (0)
	OPT(LDAP_OPT_PROTOCOL_VERSION, &v3);
	OPT(LDAP_OPT_NETWORK_TIMEOUT, &tv);
	OPT(LDAP_OPT_TIMEOUT, &tv);
	OPT(LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	OPT(LDAP_OPT_RESTART, LDAP_OPT_ON);
	OPT(LDAP_OPT_DEREF, &deref);
	OPT(LDAP_OPT_CONNECT_CB, &lc->cb);
	{
		/* Dead peers of idle connections are noticed by the kernel;
		 * these are best effort (absent on some systems). */
#ifdef LDAP_OPT_X_KEEPALIVE_IDLE
		int idle = KEEPALIVE_IDLE, probes = KEEPALIVE_PROBES,
		    intvl = KEEPALIVE_INTVL;

		(void)ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_IDLE, &idle);
		(void)ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_PROBES, &probes);
		(void)ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_INTERVAL,
		    &intvl);
#endif
#ifdef LDAP_OPT_TCP_USER_TIMEOUT
		unsigned int ut = (unsigned int)lc->timeout * 1000u;

		(void)ldap_set_option(ld, LDAP_OPT_TCP_USER_TIMEOUT, &ut);
#endif
	}
	if (uses_tls(cfg)) {
		int req = cfg->tls_require_cert ? LDAP_OPT_X_TLS_DEMAND :
		    LDAP_OPT_X_TLS_NEVER;
		int is_server = 0;

		if (cfg->tls_ca_file && *cfg->tls_ca_file)
			OPT(LDAP_OPT_X_TLS_CACERTFILE, cfg->tls_ca_file);
		OPT(LDAP_OPT_X_TLS_REQUIRE_CERT, &req);
		if (cfg->tls_cert_file != NULL) {
			/* GnuTLS only says "error"; say which file and why,
			 * as the user we run as now (after a privilege drop). */
			if (cfg_tls_client_files(cfg, err, errsz) != 0) {
				one_line(err);
				return -1;
			}
			OPT(LDAP_OPT_X_TLS_CERTFILE, cfg->tls_cert_file);
			OPT(LDAP_OPT_X_TLS_KEYFILE, cfg->tls_key_file);
			if (tls_files_changed(lc))
				tls_ctx_forget(lc);
			if (lc->tls_ctx != NULL) {
				OPT(LDAP_OPT_X_TLS_CTX, lc->tls_ctx);
				goto tls_done;
			}
		}
		/* The settings above take effect in a context of our own. */
		what = "TLS context";
		if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server) !=
		    LDAP_OPT_SUCCESS) {
			char *d = ld_diag(ld);

			linef(err, errsz, "cannot set up TLS%s%s%s%s%s%s%s%s",
			    cfg->tls_ca_file ? " with tls_ca_file " : "",
			    cfg->tls_ca_file ? cfg->tls_ca_file : "",
			    cfg->tls_cert_file ? " and tls_cert_file " : "",
			    cfg->tls_cert_file ? cfg->tls_cert_file : "",
			    cfg->tls_cert_file ? ", tls_key_file " : "",
			    cfg->tls_cert_file ? cfg->tls_key_file : "",
			    d ? ": " : "", d ? d : "");
			ldap_memfree(d);
			return -1;
		}
		if (cfg->tls_cert_file != NULL &&
		    ldap_get_option(ld, LDAP_OPT_X_TLS_CTX, &lc->tls_ctx) !=
		    LDAP_OPT_SUCCESS)
			lc->tls_ctx = NULL;
	}
tls_done:
	/* No reverse DNS lookup of the server's address for SASL. */
	if (cfg->sasl_mech != NULL)
		OPT(LDAP_OPT_X_SASL_NOCANON, LDAP_OPT_ON);
#undef OPT
	return 0;
fail:
	linef(err, errsz, "cannot set %s", what);
	return -1;
}

/* Why a bind (who: "bind as DN", "SASL EXTERNAL bind", ...) failed with
 * LDAP code rc, into err. */
static void
bind_error(struct ldapconn *lc, int rc, const char *who, const char *hint,
    char *err, size_t errsz)
{
	char *d = ld_diag(lc->ld);
	char what[600];

	if (rc == LDAP_TIMEOUT)
		linef(err, errsz, "%s: bind timed out after %d s",
		    server_name(lc), lc->timeout);
	else if (conn_lost(rc) && d == NULL && lc->cfg->tls_require_cert &&
	    has_scheme(lc->server, "ldaps"))
		/* Connected (the callback named the server), then failed:
		 * the handshake. */
		linef(err, errsz, "%s: TLS handshake failed (%s)", lc->server,
		    TLS_HINT);
	else if (conn_lost(rc))
		set_err(err, errsz, rc, d, "%s", server_name(lc));
	else if (hint == NULL)
		set_err(err, errsz, rc, d, "%s failed", who);
	else {
		set_err(what, sizeof(what), rc, d, "%s failed", who);
		linef(err, errsz, "%s; %s", what, hint);
	}
	ldap_memfree(d);
}

/* libsasl2 asks EXTERNAL for the authorization identity only. */
static int
sasl_interact(LDAP *ld, unsigned flags, void *defaults, void *in)
{
	const char *authz = defaults;

	(void)ld;
	(void)flags;
	for (sasl_interact_t *i = in; i->id != SASL_CB_LIST_END; i++) {
		const char *v = i->id == SASL_CB_USER && authz ? authz : "";

		i->result = v;
		i->len = (unsigned)strlen(v);
	}
	return LDAP_SUCCESS;
}

static int
ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && name_eq(s + n - m, m, suffix, m);
}

/* Two "dn:" authorization identities name the same DN. */
static int
same_dn_authz(const char *a, const char *b)
{
	char *na, *nb;
	int same;

	if (strncasecmp(a, "dn:", 3) != 0 || strncasecmp(b, "dn:", 3) != 0)
		return 0;
	na = ldapconn_dn_normalize(a + 3);
	nb = ldapconn_dn_normalize(b + 3);
	same = na && nb && strcmp(na, nb) == 0;
	free(na);
	free(nb);
	return same;
}

/*
 * After a SASL bind: who the server says we are (lc->identity), and
 * whether that identity reads anything of account_base (one entry is
 * enough; a size limit of 1 keeps it cheap).  Unmapped or mapped wrong,
 * it would read nothing and every lookup would say "not found".
 */
static enum ldapconn_status
sasl_identity(struct ldapconn *lc, char *err, size_t errsz)
{
	const struct cfg *cfg = lc->cfg;
	char attr[] = LDAP_NO_ATTRS, *attrs[2] = { attr, NULL };
	struct timeval tv = { lc->timeout, 0 };
	struct berval *id = NULL;
	LDAPMessage *res = NULL;
	const char *who;
	int rc, n;

	rc = ldap_whoami_s(lc->ld, &id, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		bind_error(lc, rc, "Who am I? after the SASL EXTERNAL bind",
		    NULL, err, errsz);
		return LDAPCONN_TEMP;
	}
	if (id && id->bv_val)
		linef(lc->identity, sizeof(lc->identity), "%.*s",
		    (int)(id->bv_len > 280 ? 280 : id->bv_len), id->bv_val);
	ber_bvfree(id);
	who = lc->identity;
	if (*who == '\0') {
		linef(err, errsz, "%s: SASL EXTERNAL bind: the server made us "
		    "anonymous", server_name(lc));
		return LDAPCONN_TEMP;
	}
	if (cfg->sasl_authz_id && strncasecmp(cfg->sasl_authz_id, "dn:", 3)
	    == 0 && !same_dn_authz(who, cfg->sasl_authz_id)) {
		linef(err, errsz, "%s: SASL EXTERNAL bind: asked to be %s, the "
		    "server says we are %s", server_name(lc),
		    cfg->sasl_authz_id, who);
		return LDAPCONN_TEMP;
	}
	rc = ldap_search_ext_s(lc->ld, cfg->account_base, LDAP_SCOPE_SUBTREE,
	    "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1, &res);
	n = res ? ldap_count_entries(lc->ld, res) : 0;
	ldap_msgfree(res);
	if ((rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) && n > 0)
		return LDAPCONN_OK;
	if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED ||
	    rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_INSUFFICIENT_ACCESS) {
		linef(err, errsz, "%s: SASL EXTERNAL bind as %s, which cannot "
		    "read account_base %s: %s", server_name(lc), who,
		    cfg->account_base, ends_with_ci(who, ",cn=auth") ?
		    "slapd mapped it to no DN (authz-regexp)" :
		    "wrong DN (authz-regexp) or ACLs?");
		return LDAPCONN_TEMP;
	}
	{
		char what[600];

		linef(what, sizeof(what), "SASL EXTERNAL bind as %s: search %s",
		    who, cfg->account_base);
		bind_error(lc, rc, what, NULL, err, errsz);
	}
	return LDAPCONN_TEMP;
}

static enum ldapconn_status
sasl_bind(struct ldapconn *lc, char *err, size_t errsz)
{
	const struct cfg *cfg = lc->cfg;
	const char *hint = NULL;
	int rc;

	rc = ldap_sasl_interactive_bind_s(lc->ld, NULL, cfg->sasl_mech, NULL,
	    NULL, LDAP_SASL_QUIET, sasl_interact, cfg->sasl_authz_id);
	if (rc == LDAP_SUCCESS)
		return sasl_identity(lc, err, errsz);
	if (rc == LDAP_INSUFFICIENT_ACCESS && cfg->sasl_authz_id)
		hint = "may this identity act as sasl_authz_id (slapd's "
		    "authz-policy, authzTo/authzFrom)?";
	else if (has_scheme(lc->server, "ldapi"))
		hint = "does slapd listen on this ldapi:// socket?";
	else
		hint = "did the server ask for our certificate (slapd's "
		    "TLSVerifyClient try or demand) and trust its issuer?";
	bind_error(lc, rc, "SASL EXTERNAL bind", hint, err, errsz);
	return LDAPCONN_TEMP;
}

static enum ldapconn_status
do_bind(struct ldapconn *lc, char *err, size_t errsz)
{
	const struct cfg *cfg = lc->cfg;
	char *pw = NULL, empty[1] = "", what[600];
	struct berval cred;
	int rc;

	lc->identity[0] = '\0';
	if (cfg->sasl_mech != NULL)
		return sasl_bind(lc, err, errsz);
	/* Read now, not at start: a rotated password file is picked up. */
	if (cfg_bind_password(cfg, &pw, err, errsz) != 0) {
		if (errsz)
			one_line(err);
		return LDAPCONN_TEMP;
	}
	cred.bv_val = pw ? pw : empty;
	cred.bv_len = strlen(cred.bv_val);
	rc = ldap_sasl_bind_s(lc->ld, cfg->bind_dn, LDAP_SASL_SIMPLE, &cred,
	    NULL, NULL, NULL);
	if (pw) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
	cred.bv_val = NULL;
	if (rc == LDAP_SUCCESS)
		return LDAPCONN_OK;
	if (cfg->bind_dn)
		linef(what, sizeof(what), "bind as %s", cfg->bind_dn);
	else
		linef(what, sizeof(what), "anonymous bind");
	bind_error(lc, rc, what, NULL, err, errsz);
	/* Even bad credentials: the lookup must be deferred, not bounced. */
	return LDAPCONN_TEMP;
}

/* ---- failover ---- */

/*
 * The servers of ldap_uri are tried in order.  One that fails to connect
 * or bind, or does not answer an operation within ldap_timeout (stopped,
 * overloaded), or says it is busy, counts as down: it is tried after the
 * others from then on, and its failure is repeated at once for
 * RETRY_PAUSE_MS, for every session of the process (struct health).  A
 * connection reset alone (a restart) is not a failure of the server: the
 * operation is retried once on a new connection.
 * While the session is on a later server, every failback seconds the
 * earlier ones are asked again by a thread of its own (no operation waits
 * for a server that still does not answer); the next operation moves to
 * the first of them that answered.
 */

static int failback(struct ldapconn *lc);

/* A bound connection to srv[i]. */
static enum ldapconn_status
connect_one(struct ldapconn *lc, size_t i, char *err, size_t errsz)
{
	const char *uri = lc->srv[i].uri;
	enum ldapconn_status st;
	int rc;

	lc->server[0] = '\0';
	lc->trying = uri;
	rc = ldap_initialize(&lc->ld, uri);
	if (rc != LDAP_SUCCESS) {
		lc->ld = NULL;
		set_err(err, errsz, rc, NULL, "ldap_uri %s", uri);
		st = LDAPCONN_PERM;
		goto failed;
	}
	if (set_options(lc, err, errsz) != 0) {
		st = LDAPCONN_PERM;
		goto failed;
	}
	if (lc->cfg->tls == CFG_TLS_STARTTLS) {
		rc = ldap_start_tls_s(lc->ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			char *d = ld_diag(lc->ld);

			set_err(err, errsz, rc, d ? d :
			    rc == LDAP_CONNECT_ERROR &&
			    lc->cfg->tls_require_cert ? TLS_HINT : NULL,
			    "%s: StartTLS failed", server_name(lc));
			ldap_memfree(d);
			st = LDAPCONN_TEMP;
			goto failed;
		}
	}
	st = do_bind(lc, err, errsz);
	if (st != LDAPCONN_OK)
		goto failed;
	(void)watchdog_stop(lc);
	lc->trying = NULL;
	lc->cur = i;
	server_up(lc, i);
	clock_gettime(CLOCK_MONOTONIC, &lc->cur_since);
	publish(lc);
	return LDAPCONN_OK;

failed:
	if (watchdog_stop(lc))
		linef(err, errsz, "%s: no answer within %d s while connecting "
		    "(StartTLS, TLS handshake or bind)", server_name(lc),
		    lc->timeout + 1);
	drop(lc);
	lc->trying = NULL;
	server_failed(lc, i, st, err);
	return st;
}

/* Make sure lc->ld is a bound connection: the servers not counted as down
 * first, in ldap_uri order, then the others; one that failed within
 * RETRY_PAUSE_MS gives its failure again without being asked.  err gets
 * every server's reason, "; "-separated. */
static enum ldapconn_status
session(struct ldapconn *lc, char *err, size_t errsz)
{
	enum ldapconn_status st = LDAPCONN_PERM;
	struct buf why = BUF_INIT;
	size_t *order, n = 0;

	if (lc->ld || lc->probe)
		(void)failback(lc);
	if (lc->ld)
		return LDAPCONN_OK;
	if (check_uris(lc, err, errsz) != 0)
		return LDAPCONN_PERM;
	order = xcalloc(lc->nsrv, sizeof(*order));
	pthread_mutex_lock(&health_mu);
	for (int down = 0; down < 2; down++)
		for (size_t i = 0; i < lc->nsrv; i++)
			if (lc->srv[i].h->down == down)
				order[n++] = i;
	pthread_mutex_unlock(&health_mu);
	for (size_t k = 0; k < n; k++) {
		enum ldapconn_status one;
		char e[512];

		if (!server_recently_failed(lc, order[k], &one, e,
		    sizeof(e))) {
			one = connect_one(lc, order[k], e, sizeof(e));
			if (one == LDAPCONN_OK)
				break;
		}
		if (one == LDAPCONN_TEMP)
			st = LDAPCONN_TEMP;
		if (why.len)
			buf_puts(&why, "; ");
		buf_puts(&why, e);
	}
	free(order);
	if (lc->ld)
		st = LDAPCONN_OK;
	else
		linef(err, errsz, "%s", buf_str(&why));
	buf_free(&why);
	return st;
}

/* The server of the connection did not answer in time, or said it is
 * busy: it counts as down; the connection is dropped. */
static void
server_down(struct ldapconn *lc, const char *why)
{
	if (lc->ld == NULL)
		return;
	drop(lc);
	server_failed(lc, lc->cur, LDAPCONN_TEMP, why);
}

/* Is there a server not known to have failed within RETRY_PAUSE_MS? */
static int
servers_left(struct ldapconn *lc)
{
	enum ldapconn_status st;
	char e[8];

	for (size_t i = 0; i < lc->nsrv; i++)
		if (!server_recently_failed(lc, i, &st, e, sizeof(e)))
			return 1;
	return 0;
}

struct probe {
	pthread_t th;
	pthread_mutex_t mu;
	int done;			/* under mu */
	enum ldapconn_status st;
	struct ldapconn *sub;		/* a session over srv[0 .. cur) */
};

static struct ldapconn *session_new(const struct cfg *cfg, size_t nsrv);

static void *
probe_main(void *arg)
{
	struct probe *p = arg;
	struct pipe_guard g;
	enum ldapconn_status st;
	char err[512];

	pipe_block(&g);
	st = session(p->sub, err, sizeof(err));
	pipe_restore(&g);
	pthread_mutex_lock(&p->mu);
	p->st = st;
	p->done = 1;
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void
probe_start(struct ldapconn *lc)
{
	struct probe *p = xcalloc(1, sizeof(*p));
	sigset_t all, old;

	p->sub = session_new(lc->cfg, lc->cur);
	/* The client certificate's TLS context too: libldap leaks one for
	 * each one made (see the top of this file). */
	if (lc->tls_ctx != NULL && lc->ld != NULL &&
	    ldap_get_option(lc->ld, LDAP_OPT_X_TLS_CTX, &p->sub->tls_ctx) ==
	    LDAP_OPT_SUCCESS && p->sub->tls_ctx != NULL) {
		memcpy(p->sub->tls_ino, lc->tls_ino, sizeof(lc->tls_ino));
		memcpy(p->sub->tls_mtime, lc->tls_mtime, sizeof(lc->tls_mtime));
	}
	pthread_mutex_init(&p->mu, NULL);
	/* The probe takes no signal meant for the program. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&p->th, NULL, probe_main, p) == 0) {
		lc->probe = p;
	} else {
		pthread_mutex_destroy(&p->mu);
		ldapconn_free(p->sub);
		free(p);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Wait for the probe, take its connection if it has one; 1 if taken. */
static int
probe_finish(struct ldapconn *lc)
{
	struct probe *p = lc->probe;
	struct ldapconn *sub = p->sub;
	int moved = 0;

	pthread_join(p->th, NULL);
	lc->probe = NULL;
	if (p->st == LDAPCONN_OK && sub->ld) {
		drop(lc);
		lc->ld = sub->ld;
		sub->ld = NULL;
		/* The handle reports its connections to us from now on
		 * (getting a connect callback removes it). */
		(void)ldap_get_option(lc->ld, LDAP_OPT_CONNECT_CB, &sub->cb);
		(void)ldap_set_option(lc->ld, LDAP_OPT_CONNECT_CB, &lc->cb);
		memcpy(lc->server, sub->server, sizeof(lc->server));
		memcpy(lc->identity, sub->identity, sizeof(lc->identity));
		lc->cur = sub->cur;
		clock_gettime(CLOCK_MONOTONIC, &lc->cur_since);
		publish(lc);
		moved = 1;
	}
	pthread_mutex_destroy(&p->mu);
	ldapconn_free(sub);
	free(p);
	return moved;
}

/* Start or collect the failback probe (see above); 1 if the session moved
 * to an earlier server (a new handle: whatever ran on the old is gone). */
static int
failback(struct ldapconn *lc)
{
	int done;

	if (lc->probe == NULL) {
		if (lc->ld == NULL || lc->cur == 0 ||
		    (long)clock_ms_since(&lc->cur_since) < lc->failback_ms)
			return 0;
		/* The next probe, if this one finds nothing, in failback s. */
		clock_gettime(CLOCK_MONOTONIC, &lc->cur_since);
		probe_start(lc);
		return 0;
	}
	pthread_mutex_lock(&lc->probe->mu);
	done = lc->probe->done;
	pthread_mutex_unlock(&lc->probe->mu);
	return done ? probe_finish(lc) : 0;
}

/* ---- entries ---- */

static void
entry_free(struct lentry *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->a[i].v);
	free(e->a);
	free(e->dn);
	if (e->ber)
		ber_free(e->ber, 0);
	for (size_t i = 0; i < e->nown; i++)
		free(e->own[i]);
	free(e->own);
	free(e->occ);
	memset(e, 0, sizeof(*e));
}

static void
entry_add(struct lentry *e, const struct berval *name,
    const struct berval *vals)
{
	size_t nlen = base_len(name->bv_val, name->bv_len), nv = 0, ai = 0;
	struct lattr *a = NULL;

	for (size_t i = 0; i < e->n; i++)
		if (name_eq(e->a[i].name, e->a[i].namelen, name->bv_val,
		    nlen)) {
			a = &e->a[i];
			ai = i;
		}
	while (vals && vals[nv].bv_val)
		nv++;
	if (a == NULL) {
		e->a = xreallocarray(e->a, e->n + 1, sizeof(*e->a));
		ai = e->n;
		a = &e->a[e->n++];
		a->name = name->bv_val;
		a->namelen = nlen;
		a->v = NULL;
		a->n = 0;
		a->first_n = nv;
	}
	e->occ = xreallocarray(e->occ, e->nocc + 1, sizeof(*e->occ));
	e->occ[e->nocc++] = ai;
	if (nv == 0)
		return;
	a->v = xreallocarray(a->v, a->n + nv, sizeof(*a->v));
	for (size_t i = 0; i < nv; i++) {
		a->v[a->n].ptr = vals[i].bv_val;
		a->v[a->n].len = vals[i].bv_len;
		a->n++;
	}
}

/* The entry of msg (which must outlive it); an LDAP code. */
static int
entry_load(LDAP *ld, LDAPMessage *msg, struct lentry *e)
{
	struct berval dn, name, *vals;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = ldap_get_dn_ber(ld, msg, &e->ber, &dn);
	if (rc != LDAP_SUCCESS)
		return rc;
	e->dn = xstrndup(dn.bv_val ? dn.bv_val : "", dn.bv_len);
	for (;;) {
		vals = NULL;
		rc = ldap_get_attribute_ber(ld, msg, e->ber, &name, &vals);
		if (rc != LDAP_SUCCESS || name.bv_val == NULL) {
			ber_memfree(vals);
			return rc;
		}
		entry_add(e, &name, vals);
		ber_memfree(vals);
	}
}

struct lentry *
lentry_new(const char *dn)
{
	struct lentry *e = xcalloc(1, sizeof(*e));

	e->dn = xstrdup(dn);
	return e;
}

/* A copy of len bytes (NUL-terminated) that lives as long as e. */
static char *
entry_own(struct lentry *e, const char *p, size_t len)
{
	char *c = xmalloc(len + 1);

	memcpy(c, p, len);
	c[len] = '\0';
	e->own = xreallocarray(e->own, e->nown + 1, sizeof(*e->own));
	e->own[e->nown++] = c;
	return c;
}

void
lentry_add(struct lentry *e, const char *attr, const char *val, size_t len)
{
	struct berval name, v[2];

	name.bv_len = strlen(attr);
	name.bv_val = entry_own(e, attr, name.bv_len);
	v[0].bv_len = len;
	v[0].bv_val = entry_own(e, val, len);
	v[1].bv_val = NULL;
	v[1].bv_len = 0;
	entry_add(e, &name, v);
}

void
lentry_free(struct lentry *e)
{
	if (e == NULL)
		return;
	entry_free(e);
	free(e);
}

struct lentry *
ldapconn_entry(LDAP *ld, LDAPMessage *msg, int *rc)
{
	struct lentry *e = xcalloc(1, sizeof(*e));

	*rc = entry_load(ld, msg, e);
	if (*rc != LDAP_SUCCESS) {
		lentry_free(e);
		return NULL;
	}
	return e;
}

const char *
lentry_dn(const struct lentry *e)
{
	return e->dn;
}

size_t
lentry_values(const struct lentry *e, const char *attr,
    const struct lval **vals)
{
	size_t len = base_len(attr, strlen(attr));

	for (size_t i = 0; i < e->n; i++)
		if (name_eq(e->a[i].name, e->a[i].namelen, attr, len)) {
			*vals = e->a[i].v;
			return e->a[i].n;
		}
	*vals = NULL;
	return 0;
}

size_t
lentry_nattrs(const struct lentry *e)
{
	return e->nocc;
}

const char *
lentry_attr(const struct lentry *e, size_t i, size_t *len,
    const struct lval **vals, size_t *nvals)
{
	const struct lattr *a = &e->a[e->occ[i]];

	*len = a->namelen;
	*vals = a->v;
	*nvals = a->first_n;
	return a->name;
}

int
ldapconn_no_such_base(const struct ldapconn *lc)
{
	return lc->no_such_base;
}

/* ---- searching ---- */

struct search {
	const char *base;
	int scope;
	const char *filter;
	char **attrs;
	int paged;
	ldapconn_entry_fn fn;
	void *arg;
	size_t delivered;
	int last_rc;		/* the LDAP code behind a failure */
	int server_down;	/* the server counts as down since */
};

/* A failure with LDAP code rc during the search s. */
static enum ldapconn_status
search_fail(struct ldapconn *lc, struct search *s, int rc, const char *diag,
    const char *matched, char *err, size_t errsz)
{
	enum ldapconn_status st = search_status(rc);

	s->last_rc = rc;
	if (rc == LDAP_SIZELIMIT_EXCEEDED)
		linef(err, errsz, "search %s: size limit exceeded, the answer "
		    "would be incomplete", s->base);
	else if (rc == LDAP_NO_SUCH_OBJECT)
		/* Never "not found": the base itself is missing. */
		linef(err, errsz, "search %s: the base does not exist "
		    "(No such object%s%s)", s->base,
		    matched && *matched ? "; matched " : "",
		    matched && *matched ? matched : "");
	else if (conn_lost(rc))
		set_err(err, errsz, rc, diag, "%s", server_name(lc));
	else
		set_err(err, errsz, rc, diag, "search %s", s->base);
	if (server_unwell(rc)) {
		s->server_down = 1;
		server_down(lc, err);
	} else if (conn_broken(rc)) {
		drop(lc);
	}
	return st;
}

/* Read the answers to msgid; *ctrls gets the result's controls. */
static enum ldapconn_status
read_results(struct ldapconn *lc, struct search *s, int msgid,
    LDAPControl ***ctrls, char *err, size_t errsz)
{
	LDAP *ld = lc->ld;

	for (;;) {
		LDAPMessage *msg = NULL;
		struct timeval tv = { lc->timeout, 0 };
		struct lentry e;
		char *diag = NULL, *matched = NULL;
		enum ldapconn_status st;
		int rc, code, stop;

		rc = ldap_result(ld, msgid, LDAP_MSG_ONE, &tv, &msg);
		if (rc == 0) {
			(void)ldap_abandon_ext(ld, msgid, NULL, NULL);
			linef(err, errsz, "search %s: timed out after %d s (%s)",
			    s->base, lc->timeout, server_name(lc));
			s->last_rc = LDAP_TIMEOUT;
			s->server_down = 1;
			server_down(lc, err);
			return LDAPCONN_TEMP;
		}
		if (rc < 0) {
			diag = ld_diag(ld);
			st = search_fail(lc, s, ld_errno(ld), diag, NULL, err,
			    errsz);
			ldap_memfree(diag);
			return st;
		}
		switch (ldap_msgtype(msg)) {
		case LDAP_RES_SEARCH_ENTRY:
			rc = entry_load(ld, msg, &e);
			if (rc != LDAP_SUCCESS) {
				entry_free(&e);
				ldap_msgfree(msg);
				return search_fail(lc, s, rc, NULL, NULL, err,
				    errsz);
			}
			stop = s->fn(&e, s->arg);
			entry_free(&e);
			ldap_msgfree(msg);
			s->delivered++;
			if (stop) {
				(void)ldap_abandon_ext(ld, msgid, NULL, NULL);
				linef(err, errsz, "search %s: stopped", s->base);
				return LDAPCONN_ABORTED;
			}
			break;
		case LDAP_RES_SEARCH_RESULT:
			code = LDAP_OTHER;
			rc = ldap_parse_result(ld, msg, &code, &matched, &diag,
			    NULL, ctrls, 1);
			if (rc != LDAP_SUCCESS)
				code = rc;
			st = code == LDAP_SUCCESS ? LDAPCONN_OK :
			    search_fail(lc, s, code, diag, matched, err, errsz);
			ldap_memfree(diag);
			ldap_memfree(matched);
			return st;
		default:
			/* references (referrals are off), intermediates */
			ldap_msgfree(msg);
			break;
		}
	}
}

/* One complete search (every page) on the current connection. */
static enum ldapconn_status
search_once(struct ldapconn *lc, struct search *s, char *err, size_t errsz)
{
	struct berval cookie = { 0, NULL };
	enum ldapconn_status st;

	for (;;) {
		LDAPControl *page = NULL, *sctrls[2] = { NULL, NULL };
		LDAPControl **ctrls = NULL, *resp;
		struct timeval limit = { lc->timeout, 0 };
		int rc, msgid;

		if (s->paged) {
			/* Not critical: a server without paging answers in
			 * full or says its size limit was hit (TEMP). */
			rc = ldap_create_page_control(lc->ld, PAGE_ENTRIES,
			    &cookie, 0, &page);
			if (rc != LDAP_SUCCESS) {
				st = search_fail(lc, s, rc, NULL, NULL, err,
				    errsz);
				break;
			}
			sctrls[0] = page;
		}
		rc = ldap_search_ext(lc->ld, s->base, s->scope, s->filter,
		    s->attrs, 0, sctrls, NULL, &limit, LDAP_NO_LIMIT, &msgid);
		if (page)
			ldap_control_free(page);
		if (rc != LDAP_SUCCESS) {
			char *diag = ld_diag(lc->ld);

			st = search_fail(lc, s, rc, diag, NULL, err, errsz);
			ldap_memfree(diag);
			break;
		}
		st = read_results(lc, s, msgid, &ctrls, err, errsz);
		ber_memfree(cookie.bv_val);
		cookie.bv_val = NULL;
		cookie.bv_len = 0;
		if (st == LDAPCONN_OK && s->paged && ctrls &&
		    (resp = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrls,
		    NULL)) != NULL) {
			ber_int_t estimate;

			rc = ldap_parse_pageresponse_control(lc->ld, resp,
			    &estimate, &cookie);
			if (rc != LDAP_SUCCESS)
				st = search_fail(lc, s, rc, NULL, NULL, err,
				    errsz);
		}
		ldap_controls_free(ctrls);
		if (st != LDAPCONN_OK || cookie.bv_len == 0)
			break;
	}
	ber_memfree(cookie.bv_val);
	return st;
}

enum ldapconn_status
ldapconn_search(struct ldapconn *lc, const char *base, enum cfg_scope scope,
    const char *filter, const char *const *attrs, int paged,
    ldapconn_entry_fn fn, void *arg, char *err, size_t errsz)
{
	char noattr[] = LDAP_NO_ATTRS, *none[2] = { noattr, NULL };
	struct search s;
	struct pipe_guard g;
	enum ldapconn_status st;

	memset(&s, 0, sizeof(s));
	s.base = base;
	s.scope = scope == CFG_SCOPE_BASE ? LDAP_SCOPE_BASE :
	    scope == CFG_SCOPE_ONE ? LDAP_SCOPE_ONELEVEL : LDAP_SCOPE_SUBTREE;
	s.filter = filter;
	/* An empty list would mean "all attributes" on the wire. */
	s.attrs = attrs == NULL ? NULL : attrs[0] == NULL ? none :
	    (char **)attrs;
	s.paged = paged;
	s.fn = fn;
	s.arg = arg;

	pipe_block(&g);
	for (size_t attempt = 0; ; attempt++) {
		int reused = lc->ld != NULL;

		s.last_rc = LDAP_SUCCESS;
		s.server_down = 0;
		st = session(lc, err, errsz);
		if (st != LDAPCONN_OK)
			break;
		st = search_once(lc, &s, err, errsz);
		if (st == LDAPCONN_OK || s.delivered > 0)
			break;
		/* Nothing delivered yet.  A server that did not answer (or
		 * is busy) counts as down: the next one is asked. */
		if (s.server_down) {
			if (attempt < lc->nsrv && servers_left(lc))
				continue;
			break;
		}
		/* A connection found dead: the server restarted.  Once more,
		 * afresh. */
		if (attempt > 0 || !reused || !conn_lost(s.last_rc))
			break;
	}
	(void)watchdog_stop(lc);	/* in case libldap connected by itself */
	pipe_restore(&g);
	lc->no_such_base = st != LDAPCONN_OK &&
	    s.last_rc == LDAP_NO_SUCH_OBJECT;
	if (st == LDAPCONN_OK && errsz)
		err[0] = '\0';
	return st;
}

/* ---- session ---- */

/* A session over the first nsrv servers of ldap_uri. */
static struct ldapconn *
session_new(const struct cfg *cfg, size_t nsrv)
{
	struct ldapconn *lc = xcalloc(1, sizeof(*lc));
	struct buf uris = BUF_INIT;
	pthread_condattr_t ca;

	pthread_once(&global_once, global_init);
	lc->cfg = cfg;
	pthread_mutex_init(&lc->wd_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lc->wd_cv, &ca);
	pthread_condattr_destroy(&ca);
	lc->wd_fd = -1;
	if (nsrv > cfg->ldap_uri.n)
		nsrv = cfg->ldap_uri.n;
	lc->nsrv = nsrv;
	lc->srv = xcalloc(nsrv ? nsrv : 1, sizeof(*lc->srv));
	for (size_t i = 0; i < nsrv; i++) {
		lc->srv[i].uri = cfg->ldap_uri.v[i];
		lc->srv[i].h = health_of(cfg->ldap_uri.v[i]);
		if (i)
			buf_putc(&uris, ' ');
		buf_puts(&uris, cfg->ldap_uri.v[i]);
	}
	lc->uris = xstrdup(buf_str(&uris));
	buf_free(&uris);
	lc->timeout = cfg->ldap_timeout > 0 ? cfg->ldap_timeout : 5;
	lc->failback_ms = (cfg->failback > 0 ? cfg->failback : 60) * 1000L;
	pthread_mutex_init(&lc->pub_mu, NULL);
	lc->pub_index = -1;
	lc->cb.lc_add = conn_add;
	lc->cb.lc_del = conn_del;
	lc->cb.lc_arg = lc;
	return lc;
}

struct ldapconn *
ldapconn_new(const struct cfg *cfg)
{
	return session_new(cfg, cfg->ldap_uri.n);
}

void
ldapconn_free(struct ldapconn *lc)
{
	struct pipe_guard g;

	if (lc == NULL)
		return;
	pipe_block(&g);
	if (lc->probe)	/* bounded by its own watchdog */
		(void)probe_finish(lc);
	drop(lc);
	pipe_restore(&g);
	(void)watchdog_stop(lc);
	tls_ctx_forget(lc);
	pthread_cond_destroy(&lc->wd_cv);
	pthread_mutex_destroy(&lc->wd_mu);
	pthread_mutex_destroy(&lc->pub_mu);
	free(lc->srv);
	free(lc->uris);
	free(lc);
}

enum ldapconn_status
ldapconn_open(struct ldapconn *lc, char *err, size_t errsz)
{
	struct pipe_guard g;
	enum ldapconn_status st;

	pipe_block(&g);
	drop(lc);	/* `check` wants to know about now */
	st = session(lc, err, errsz);
	pipe_restore(&g);
	if (st == LDAPCONN_OK && errsz)
		err[0] = '\0';
	return st;
}

const char *
ldapconn_server(const struct ldapconn *lc)
{
	return lc->ld && lc->server[0] ? lc->server : NULL;
}

const char *
ldapconn_identity(const struct ldapconn *lc)
{
	return lc->ld && lc->identity[0] ? lc->identity : NULL;
}

int
ldapconn_current(struct ldapconn *lc, char *uri, size_t size)
{
	int i;

	pthread_mutex_lock(&lc->pub_mu);
	i = lc->pub_index;
	if (size)
		linef(uri, size, "%s", lc->pub_uri);
	pthread_mutex_unlock(&lc->pub_mu);
	return i;
}

/* ---- for ldapsync (ldapint.h) ---- */

void
ldapconn_pipe_block(struct ldapconn_pipe *g)
{
	struct pipe_guard pg;

	pipe_block(&pg);
	g->old = pg.old;
	g->pending = pg.pending;
}

void
ldapconn_pipe_restore(struct ldapconn_pipe *g)
{
	struct pipe_guard pg;

	pg.old = g->old;
	pg.pending = g->pending;
	pipe_restore(&pg);
}

enum ldapconn_status
ldapconn_ld(struct ldapconn *lc, LDAP **ld, char *err, size_t errsz)
{
	enum ldapconn_status st = session(lc, err, errsz);

	(void)watchdog_stop(lc);
	*ld = st == LDAPCONN_OK ? lc->ld : NULL;
	return st;
}

void
ldapconn_ld_failed(struct ldapconn *lc, const char *why)
{
	server_down(lc, why);
}

void
ldapconn_ld_drop(struct ldapconn *lc)
{
	drop(lc);
}

int
ldapconn_ld_failback(struct ldapconn *lc)
{
	return failback(lc);
}

int
ldapconn_timeout(const struct ldapconn *lc)
{
	return lc->timeout;
}

char *
ldapconn_dn_normalize(const char *dn)
{
	char *out = NULL, *res;

	if (dn == NULL)
		return NULL;
	if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAPV3, &out,
	    LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) {
		ldap_memfree(out);
		return NULL;
	}
	res = xstrdup(out ? out : "");
	ldap_memfree(out);
	for (char *p = res; *p; p++)
		*p = (char)ascii_lower((unsigned char)*p);
	return res;
}
