/*
 * server: the event loop of lookupd and the only file of the daemon that
 * owns sockets (client.c owns those of `lookupd query` and `stats`).
 *
 * One thread, one epoll set, level-triggered: the listeners, every client
 * connection, a signalfd (SIGHUP, SIGTERM, SIGINT), a 1-second timerfd
 * (engine_tick() and the idle scan) and the engine's completion fd.
 *
 * Connections.  Each one has an input and an output buffer and holds at
 * most one request in the engine at a time: while a lookup is pending
 * (engine_lookup() returned 0), further requests stay in the input buffer,
 * and the answer comes back through engine_drain() with the token given
 * at the start, (generation << 32 | slot).  A slot's generation changes
 * whenever its connection closes, so the completion of a closed
 * connection, or of an earlier connection in a reused slot, is dropped.
 * The same token is the connection's epoll data, so a stale event in a
 * batch can never reach a new connection.
 *
 * Limits, all of them bounding memory and time per client:
 *   - input: at most one maximal request (max_request_size for socketmap,
 *     TCPMAP_LINE_MAX for tcp_table) is buffered; past that, reading
 *     stops until requests are answered.  A netstring announcing more
 *     than max_request_size is refused from its length prefix alone.
 *   - output: requests are processed only while less than OUT_SOFT bytes
 *     of replies wait to be written; a client that never reads thus holds
 *     at most OUT_SOFT plus one reply, stops being served, and is closed
 *     by the idle timeout.
 *   - fairness: at most SERVICE_BUDGET requests of one connection are
 *     handled per turn; the rest wait on a ready list for the next turn.
 *   - idle_timeout: a connection with no progress (bytes read or
 *     written) for that long is closed, checked every second against a
 *     millisecond clock; a connection waiting on the engine is not idle.
 *   - max_connections: clients beyond it are accepted and closed at once
 *     (counted, logged at most once a second), which keeps the backlog
 *     moving without spinning and never touches existing connections.
 *     When accept() itself fails for lack of descriptors, the listeners
 *     pause until the next tick.
 * Protocol errors: a bad or oversized netstring gets "PERM ..." and the
 * connection is closed (framing is lost); a tcp_table line that is bad or
 * unsupported gets a 400 reply and the connection goes on; a line over
 * TCPMAP_LINE_MAX gets a 400 and is closed.  Before closing after an
 * error the server shuts down its sending side and reads what the client
 * still sends for up to LINGER_MS, so that the error reply is not lost to
 * a TCP reset.  Every reply is built by reply.c.
 *
 * `lookupd stats`: a socketmap request named PROTO_STATS_NAME ("#stats",
 * which no map can be called) is answered here, not by the engine: "OK"
 * and the daemon's state (status.h: the engine's part and ours) as
 * "name value" lines, or in Prometheus's text format when the key is
 * PROTO_STATS_PROMETHEUS.  It is counted as requests.stats, not as
 * requests.socketmap.
 *
 * Each lookup's latency, from the request taken out of the input buffer
 * to its answer, goes to a histogram (status.h): one clock reading
 * before and one after, counted on the loop with no lock.
 *
 * systemd (notify.h): the loop tells READY=1 once every map has a
 * snapshot, RELOADING=1 and READY=1 around a SIGHUP, STOPPING=1, STATUS=
 * when it changes (at most every STATUS_EVERY_MS while ready), and
 * WATCHDOG=1 from the loop itself.  Every metrics_interval s it renders
 * the metrics and hands them to metrics_file's writer (metricsfile.h).
 */
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/cfg.h"
#include "common/log.h"
#include "lookupd/engine.h"
#include "lookupd/metrics.h"
#include "lookupd/metricsfile.h"
#include "lookupd/netstring.h"
#include "lookupd/notify.h"
#include "lookupd/proto.h"
#include "lookupd/reply.h"
#include "lookupd/server.h"
#include "lookupd/status.h"
#include "lookupd/tcpmap.h"

#define LISTEN_BACKLOG	4096	/* the kernel caps it at somaxconn */
#define MAX_EVENTS	256
#define ACCEPT_BATCH	64	/* accepts per listener per turn */
#define SERVICE_BUDGET	64	/* requests per connection per turn */
#define OUT_SOFT	16384	/* stop serving while this much is unsent */
#define READ_CHUNK	65536
#define BUF_KEEP	8192	/* larger idle buffers are given back */
#define LINGER_MS	2000	/* reading after an error reply, at most */
#define LINGER_BYTES	(1024 * 1024)
#define NS_OVERHEAD	9	/* 7 digits, ':' and ',' */
#define FD_RESERVE	64	/* descriptors kept for the engine and LDAP */
#define STATUS_EVERY_MS	10000	/* STATUS= while ready, at most */
#define BAD_NO_SPACE	"bad request: no space after the map name"

/* epoll data: a connection's token, or (kind << 24 | index) < 2^32. */
enum { EV_LISTENER = 1, EV_SIGNAL, EV_TIMER, EV_ENGINE };
#define EV_DATA(kind, i)	((uint64_t)(kind) << 24 | (uint64_t)(i))

enum proto { P_SOCKMAP, P_TCP };

struct listener {
	int fd;
	enum proto proto;
	int is_unix;
	char *map;		/* tcp_table: the one map served here */
	char *text;		/* as configured, for messages */
	char *path;		/* unix: the file we created */
	dev_t dev;
	ino_t ino;
};

struct conn {
	int fd;
	uint32_t slot;
	uint32_t gen;
	const struct listener *l;
	struct buf in;
	struct buf out;
	uint32_t events;	/* registered with epoll */
	int64_t last_ms;	/* last progress */
	int64_t linger_ms;	/* when lingering began */
	uint64_t t0_ns;		/* the pending lookup's start */
	size_t drained;		/* bytes thrown away while lingering */
	unsigned pending:1;	/* a lookup is in the engine */
	unsigned eof:1;		/* the client sent EOF */
	unsigned closing:1;	/* error reply sent: flush, then linger */
	unsigned lingering:1;
	unsigned ready:1;	/* on the ready list */
};

struct slot {
	struct conn *c;
	uint32_t gen;
};

struct server {
	struct listener *ls;
	size_t nls;
	char *listen_sig;	/* listener settings, to notice a change */

	int ep, sigfd, tfd;
	struct engine *e;
	int stop;
	int paused;		/* listeners paused (no descriptors) */

	struct slot *slots;
	uint32_t nslots;	/* slots ever used */
	uint32_t *freel;	/* free slot indexes */
	uint32_t nfree;
	size_t nconn;

	uint64_t *ready, *ready2;
	size_t nready, capready;

	int max_conn;
	int64_t idle_ms;
	size_t max_req;

	int64_t now_ms;
	int64_t refuse_log_ms;
	int64_t warn_ms;
	unsigned long warn_suppressed;

	struct buf val;		/* engine answers */
	struct buf key;		/* decoded tcp_table keys */
	char rbuf[READ_CHUNK];

	/* Counters for server_stats(). */
	unsigned long long accepted, refused, closed_idle;
	unsigned long long req_sockmap, req_tcp, req_bad, req_async;
	unsigned long long req_stats;
	unsigned long long dropped, npending;
	struct lathist lat;

	/* systemd and the metrics file */
	int ready_told;		/* READY=1 sent since the last (re)load */
	int64_t status_ms;	/* when STATUS= was last sent */
	struct buf status_last;
	int64_t metrics_ms;	/* when metrics_file is due */
	struct metricsfile *mf;
};

static void conn_service(struct server *, struct conn *);

/*
 * Warnings caused by clients (bad requests) are limited to one per
 * second, so that a misbehaving client cannot flood the log.
 */
static void
client_warn(struct server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
client_warn(struct server *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int r;

	if (s->now_ms - s->warn_ms < 1000) {
		s->warn_suppressed++;
		return;
	}
	va_start(ap, fmt);
	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	if (s->warn_suppressed > 0)
		log_warn("%s (and %lu similar in the last second)", msg,
		    s->warn_suppressed);
	else
		log_warn("%s", msg);
	s->warn_ms = s->now_ms;
	s->warn_suppressed = 0;
}

/* ---- listeners ------------------------------------------------------- */

/* A description of every setting a running daemon cannot change. */
static char *
listen_signature(const struct cfg *cfg)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < cfg->n_socketmap_listen; i++)
		buf_printf(&b, "socketmap %s\n", cfg->socketmap_listen[i].text);
	for (size_t i = 0; i < cfg->n_tcp_listen; i++)
		buf_printf(&b, "tcp %s\n", cfg->tcp_listen[i].text);
	buf_printf(&b, "group %s\nmode %o\n",
	    cfg->socket_group ? cfg->socket_group : "", cfg->socket_mode);
	if (b.p == NULL)
		buf_puts(&b, "");
	return b.p;
}

static struct listener *
listener_add(struct server *s)
{
	struct listener *l;

	s->ls = xreallocarray(s->ls, s->nls + 1, sizeof(*s->ls));
	l = &s->ls[s->nls++];
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	return l;
}

/* (gid_t)-1 when socket_group is unset or empty. */
static int
socket_gid(const struct cfg *cfg, gid_t *gid, char *err, size_t errsz)
{
	const char *name = cfg->socket_group;
	struct group *gr;

	*gid = (gid_t)-1;
	if (name == NULL || name[0] == '\0')
		return 0;
	errno = 0;
	if ((gr = getgrnam(name)) == NULL) {
		int e = errno;

		if (e == 0 || e == ENOENT || e == ESRCH)
			log_errf(err, errsz, "socket_group %s: no such group",
			    name);
		else
			log_errf(err, errsz, "socket_group %s: %s", name,
			    strerror(e));
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

/* Is someone listening on this UNIX socket? */
static int
unix_alive(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int r, e;

	if (fd < 0)
		return 0;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	e = errno;
	close(fd);
	/* A full backlog (EAGAIN) still means a live server. */
	return r == 0 || e == EAGAIN || e == EINPROGRESS;
}

static int
listen_unix(struct server *s, const struct cfg *cfg,
    const struct cfg_listen *cl, enum proto proto, char *err, size_t errsz)
{
	struct sockaddr_un sun;
	struct listener *l;
	struct stat st;
	size_t plen = strlen(cl->path);
	mode_t old;
	gid_t gid;
	int fd, r, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (plen >= sizeof(sun.sun_path)) {
		log_errf(err, errsz, "%s: socket path too long", cl->text);
		return -1;
	}
	memcpy(sun.sun_path, cl->path, plen + 1);
	if (socket_gid(cfg, &gid, err, errsz) != 0)
		return -1;

	/* A leftover socket of an earlier run goes; anything else stays. */
	if (lstat(cl->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_errf(err, errsz,
			    "%s: %s exists and is not a socket",
			    cl->text, cl->path);
			return -1;
		}
		if (unix_alive(&sun)) {
			log_errf(err, errsz, "%s: another process is listening "
			    "on %s", cl->text, cl->path);
			return -1;
		}
		if (unlink(cl->path) != 0 && errno != ENOENT) {
			log_errf(err, errsz, "%s: cannot remove the old socket "
			    "%s: %s", cl->text, cl->path, strerror(errno));
			return -1;
		}
	} else if (errno != ENOENT) {
		log_errf(err, errsz, "%s: %s: %s", cl->text, cl->path,
		    strerror(errno));
		return -1;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_errf(err, errsz, "%s: socket: %s", cl->text,
		    strerror(errno));
		return -1;
	}
	/* Born owner-only (0600): nobody else can connect before the final
	 * group and mode are set, and nobody can before listen() anyway.
	 * umask is process-wide: server_new() runs before any thread. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	umask(old);
	if (r != 0) {
		log_errf(err, errsz, "%s: bind: %s", cl->text, strerror(e));
		close(fd);
		return -1;
	}
	if (lstat(cl->path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		log_errf(err, errsz, "%s: %s vanished after bind", cl->text,
		    cl->path);
		close(fd);
		return -1;
	}
	l = listener_add(s);
	l->fd = fd;
	l->proto = proto;
	l->is_unix = 1;
	l->text = xstrdup(cl->text);
	l->map = cl->map ? xstrdup(cl->map) : NULL;
	l->path = xstrdup(cl->path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	/* From here on server_free() closes fd and removes the file. */
	if (gid != (gid_t)-1 && lchown(cl->path, (uid_t)-1, gid) != 0) {
		log_errf(err, errsz, "%s: cannot give %s to group %s: %s",
		    cl->text, cl->path, cfg->socket_group, strerror(errno));
		return -1;
	}
	if (chmod(cl->path, (mode_t)cfg->socket_mode & 07777) != 0) {
		log_errf(err, errsz, "%s: chmod %04o %s: %s", cl->text,
		    cfg->socket_mode, cl->path, strerror(errno));
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		log_errf(err, errsz, "%s: listen: %s", cl->text,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
listen_inet(struct server *s, const struct cfg_listen *cl, enum proto proto,
    char *err, size_t errsz)
{
	struct addrinfo hints, *res, *ai;
	int r, bound = 0, one = 1;
	char why[256] = "no address";

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	r = getaddrinfo(cl->host, cl->port, &hints, &res);
	if (r != 0) {
		log_errf(err, errsz, "%s: %s", cl->text, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct listener *l;
		int fd;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			log_errf(why, sizeof(why),
			    "socket: %s", strerror(errno));
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* Keep v4 and v6 apart, as Postfix does. */
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
		    listen(fd, LISTEN_BACKLOG) != 0) {
			int e = errno;

			close(fd);
			/* "localhost" may name an ::1 this host lacks. */
			if (e == EADDRNOTAVAIL || e == EAFNOSUPPORT) {
				log_errf(why, sizeof(why), "bind: %s",
				    strerror(e));
				continue;
			}
			log_errf(err, errsz, "%s: bind: %s", cl->text,
			    strerror(e));
			freeaddrinfo(res);
			return -1;
		}
		l = listener_add(s);
		l->fd = fd;
		l->proto = proto;
		l->text = xstrdup(cl->text);
		l->map = cl->map ? xstrdup(cl->map) : NULL;
		bound++;
	}
	freeaddrinfo(res);
	if (bound == 0) {
		log_errf(err, errsz, "%s: %s", cl->text, why);
		return -1;
	}
	return 0;
}

/* The limits a configuration sets (at start and at every SIGHUP). */
static void
set_limits(struct server *s, const struct cfg *cfg)
{
	s->max_conn = cfg->max_connections;
	s->idle_ms = (int64_t)cfg->idle_timeout * 1000;
	s->max_req = (size_t)cfg->max_request_size;
}

struct server *
server_new(const struct cfg *cfg, char *err, size_t errsz)
{
	struct server *s = xcalloc(1, sizeof(*s));

	s->ep = s->sigfd = s->tfd = -1;
	set_limits(s, cfg);
	s->listen_sig = listen_signature(cfg);
	for (size_t i = 0; i < cfg->n_socketmap_listen +
	    cfg->n_tcp_listen; i++) {
		int tcp = i >= cfg->n_socketmap_listen;
		const struct cfg_listen *cl = tcp ?
		    &cfg->tcp_listen[i - cfg->n_socketmap_listen] :
		    &cfg->socketmap_listen[i];
		enum proto proto = tcp ? P_TCP : P_SOCKMAP;
		int r;

		if (tcp && cl->map == NULL) {
			log_errf(err, errsz, "%s: no map", cl->text);
			r = -1;
		} else if (cl->is_unix)
			r = listen_unix(s, cfg, cl, proto, err, errsz);
		else
			r = listen_inet(s, cl, proto, err, errsz);
		if (r != 0) {
			server_free(s);
			return NULL;
		}
	}
	return s;
}

/* ---- connections ----------------------------------------------------- */

static uint64_t
conn_token(const struct conn *c)
{
	return (uint64_t)c->gen << 32 | c->slot;
}

static struct conn *
conn_by_token(const struct server *s, uint64_t token)
{
	uint32_t slot = (uint32_t)token, gen = (uint32_t)(token >> 32);

	if (slot >= s->nslots || s->slots[slot].c == NULL ||
	    s->slots[slot].gen != gen)
		return NULL;
	return s->slots[slot].c;
}

static size_t
in_cap(const struct server *s, const struct conn *c)
{
	return c->l->proto == P_TCP ? TCPMAP_LINE_MAX : s->max_req +
	    NS_OVERHEAD;
}

static void
conn_close(struct server *s, struct conn *c)
{
	struct slot *sl = &s->slots[c->slot];

	close(c->fd);
	if (c->pending)
		s->npending--;
	sl->c = NULL;
	if (++sl->gen == 0)
		sl->gen = 1;
	s->freel[s->nfree++] = c->slot;
	s->nconn--;
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

static void
conn_update(struct server *s, struct conn *c)
{
	struct epoll_event ev;
	uint32_t want = 0;

	if (c->lingering)
		want = EPOLLIN;
	else {
		if (!c->eof && !c->closing && c->in.len < in_cap(s, c))
			want |= EPOLLIN;
		if (c->out.len > 0)
			want |= EPOLLOUT;
	}
	if (want == c->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.u64 = conn_token(c);
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
		log_warn("epoll_ctl: %s", strerror(errno));
		conn_close(s, c);
		return;
	}
	c->events = want;
}

static void
conn_new(struct server *s, const struct listener *l, int fd)
{
	struct epoll_event ev;
	struct conn *c;
	uint32_t slot;

	if (s->nfree > 0)
		slot = s->freel[--s->nfree];
	else {
		if (s->nslots == UINT32_MAX) {
			close(fd);
			return;
		}
		s->slots = xreallocarray(s->slots, (size_t)s->nslots + 1,
		    sizeof(*s->slots));
		s->freel = xreallocarray(s->freel, (size_t)s->nslots + 1,
		    sizeof(*s->freel));
		slot = s->nslots++;
		s->slots[slot].c = NULL;
		s->slots[slot].gen = 1;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->slot = slot;
	c->gen = s->slots[slot].gen;
	c->l = l;
	c->last_ms = s->now_ms;
	c->events = EPOLLIN;
	s->slots[slot].c = c;
	s->nconn++;
	s->accepted++;
	if (!l->is_unix) {
		int one = 1;

		/* One write per reply: never wait for an ACK. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = c->events;
	ev.data.u64 = conn_token(c);
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		log_warn("epoll_ctl: %s", strerror(errno));
		conn_close(s, c);
	}
}

static void
ready_push(struct server *s, struct conn *c)
{
	if (c->ready)
		return;
	if (s->nready == s->capready) {
		s->capready = s->capready ? s->capready * 2 : 64;
		s->ready = xreallocarray(s->ready, s->capready,
		    sizeof(*s->ready));
		s->ready2 = xreallocarray(s->ready2, s->capready,
		    sizeof(*s->ready2));
	}
	s->ready[s->nready++] = conn_token(c);
	c->ready = 1;
}

static void
run_ready(struct server *s)
{
	uint64_t *list = s->ready;
	size_t n = s->nready;

	/* Connections pushed meanwhile wait for the next turn. */
	s->ready = s->ready2;
	s->ready2 = list;
	s->nready = 0;
	for (size_t i = 0; i < n; i++) {
		struct conn *c = conn_by_token(s, list[i]);

		if (c != NULL && c->ready) {
			c->ready = 0;
			conn_service(s, c);
		}
	}
}

/* Write what we can.  -1: the connection is gone. */
static int
conn_flush(struct server *s, struct conn *c)
{
	while (c->out.len > 0) {
		ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);

		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			c->last_ms = s->now_ms;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && errno != EPIPE && errno != ECONNRESET)
			log_debug("%s: send: %s", c->l->text, strerror(errno));
		conn_close(s, c);
		return -1;
	}
	if (c->out.len == 0 && c->out.cap > BUF_KEEP)
		buf_free(&c->out);
	return 0;
}

static void
conn_reply(struct conn *c, enum result res, const char *text, size_t len)
{
	if (c->l->proto == P_TCP)
		reply_tcp(&c->out, res, text, len);
	else
		reply_sockmap(&c->out, res, text, len);
}

static void
conn_lookup(struct server *s, struct conn *c, const char *map, size_t maplen,
    const char *key, size_t keylen)
{
	enum result res = RES_TEMP;
	uint64_t t0 = clock_ns();

	buf_reset(&s->val);
	if (engine_lookup(s->e, map, maplen, key, keylen, conn_token(c), &res,
	    &s->val)) {
		lathist_add(&s->lat, clock_ns() - t0);
		conn_reply(c, res, s->val.p, s->val.len);
		if (s->val.cap > 4 * SOCKMAP_REPLY_MAX)
			buf_free(&s->val);
		return;
	}
	c->t0_ns = t0;
	c->pending = 1;
	s->npending++;
	s->req_async++;
}

/* The daemon's state: the engine's part and ours. */
static void
get_status(struct server *s, struct status *st)
{
	memset(st, 0, sizeof(*st));
	engine_status(s->e, st);
	server_status(s, st);
}

/* `lookupd stats`: the counters of the engine and ours, one reply. */
static void
conn_stats(struct server *s, struct conn *c, const char *key, size_t len)
{
	struct buf b = BUF_INIT;
	struct status st;

	s->req_stats++;
	get_status(s, &st);
	if (len == strlen(PROTO_STATS_PROMETHEUS) &&
	    memcmp(key, PROTO_STATS_PROMETHEUS, len) == 0)
		metrics_render(&st, &b);
	else
		status_text(&st, &b);
	status_free(&st);
	if (b.len > 0 && b.p[b.len - 1] == '\n')
		b.p[--b.len] = '\0';
	conn_reply(c, RES_FOUND, b.p, b.len);
	buf_free(&b);
}

/* An error that ends the connection: reply, then flush and linger. */
static void
conn_fatal(struct server *s, struct conn *c, enum result res,
    const char *why)
{
	char shown[LOG_PRINTABLE_SIZE];

	s->req_bad++;
	client_warn(s, "%s: %s from a client, connection closed (input "
	    "began \"%s\")", c->l->text, why,
	    log_printable(shown, sizeof(shown), c->in.p, c->in.len < 40 ?
	    c->in.len : 40));
	conn_reply(c, res, why, strlen(why));
	c->closing = 1;
	buf_reset(&c->in);
}

/* Handle one request of the input buffer.  0: it is not complete yet. */
static int
conn_request(struct server *s, struct conn *c)
{
	const char *in = c->in.p ? c->in.p : "";
	size_t used = 0;

	if (c->l->proto == P_SOCKMAP) {
		const char *pl = NULL, *sp;
		size_t plen = 0;

		switch (netstring_decode(in, c->in.len, s->max_req, &pl, &plen,
		    &used)) {
		case NS_MORE:
			return 0;
		case NS_BAD:
			conn_fatal(s, c, RES_PERM, "bad netstring");
			return 1;
		case NS_TOO_LONG:
			conn_fatal(s, c, RES_PERM, "request too long");
			return 1;
		case NS_OK:
			break;
		}
		sp = memchr(pl, ' ', plen);
		if (sp != NULL && (size_t)(sp - pl) == strlen(PROTO_STATS_NAME)
		    && memcmp(pl, PROTO_STATS_NAME, (size_t)(sp - pl)) == 0) {
			conn_stats(s, c, sp + 1, plen - (size_t)(sp - pl) - 1);
			buf_consume(&c->in, used);
			return 1;
		}
		s->req_sockmap++;
		/* "NAME SP KEY": the key may hold spaces; it may be empty. */
		if (sp == NULL) {
			s->req_bad++;
			client_warn(s, "%s: socketmap request without a space",
			    c->l->text);
			reply_sockmap(&c->out, RES_PERM, BAD_NO_SPACE,
			    strlen(BAD_NO_SPACE));
		} else
			conn_lookup(s, c, pl, (size_t)(sp - pl), sp + 1,
			    plen - (size_t)(sp - pl) - 1);
		buf_consume(&c->in, used);
		return 1;
	}

	buf_reset(&s->key);
	switch (tcpmap_decode(in, c->in.len, &s->key, &used)) {
	case TCPMAP_MORE:
		return 0;
	case TCPMAP_TOO_LONG:
		conn_fatal(s, c, RES_TEMP, "request too long");
		return 1;
	case TCPMAP_BAD:
		s->req_bad++;
		client_warn(s, "%s: bad tcp_table request", c->l->text);
		reply_tcp(&c->out, RES_PERM, "bad request",
		    strlen("bad request"));
		break;
	case TCPMAP_UNSUPPORTED:
		s->req_bad++;
		client_warn(s, "%s: unsupported tcp_table request",
		    c->l->text);
		reply_tcp(&c->out, RES_PERM, "unsupported request",
		    strlen("unsupported request"));
		break;
	case TCPMAP_OK:
		s->req_tcp++;
		conn_lookup(s, c, c->l->map, strlen(c->l->map), s->key.p ?
		    s->key.p : "", s->key.len);
		break;
	}
	buf_consume(&c->in, used);
	return 1;
}

static void
conn_linger(struct server *s, struct conn *c)
{
	if (c->eof || shutdown(c->fd, SHUT_WR) != 0) {
		conn_close(s, c);
		return;
	}
	c->lingering = 1;
	c->linger_ms = s->now_ms;
	buf_free(&c->in);
	conn_update(s, c);
}

/*
 * Answer what the input buffer holds, within the budget and while the
 * output is not backed up; write; then decide what to wait for.
 */
static void
conn_service(struct server *s, struct conn *c)
{
	int budget = SERVICE_BUDGET, more = 0;

	if (c->lingering)
		return;
	while (!c->pending && !c->closing && c->out.len < OUT_SOFT) {
		if (budget-- == 0) {
			more = 1;
			break;
		}
		if (!conn_request(s, c)) {
			more = 0;
			break;
		}
		more = 1;
	}
	if (conn_flush(s, c) != 0)
		return;
	if (c->in.len == 0 && c->in.cap > BUF_KEEP)
		buf_free(&c->in);
	if (c->closing) {
		if (c->out.len == 0)
			conn_linger(s, c);
		else
			conn_update(s, c);
		return;
	}
	if (c->eof && !c->pending && c->out.len == 0 && !more) {
		if (c->in.len > 0)
			log_debug("%s: EOF in the middle of a request (%zu "
			    "bytes)", c->l->text, c->in.len);
		conn_close(s, c);
		return;
	}
	if (more && !c->pending && c->out.len == 0)
		ready_push(s, c);
	conn_update(s, c);
}

static void
conn_read(struct server *s, struct conn *c)
{
	size_t room;
	ssize_t n;

	if (c->lingering) {
		n = recv(c->fd, s->rbuf, sizeof(s->rbuf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || (c->drained += (size_t)n) > LINGER_BYTES)
			conn_close(s, c);
		return;
	}
	room = in_cap(s, c) > c->in.len ? in_cap(s, c) - c->in.len : 0;
	if (room == 0 || c->eof) {
		/* Input still polled for though there is no room: a SIGHUP
		 * lowered max_request_size under a partial request.  Let the
		 * request be judged by the new limit and the interest be
		 * updated, or level-triggered epoll spins on this fd. */
		conn_service(s, c);
		return;
	}
	if (room > sizeof(s->rbuf))
		room = sizeof(s->rbuf);
	n = recv(c->fd, s->rbuf, room, 0);
	if (n > 0) {
		buf_append(&c->in, s->rbuf, (size_t)n);
		c->last_ms = s->now_ms;
	} else if (n == 0)
		c->eof = 1;
	else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return;
	else {
		if (errno != ECONNRESET)
			log_debug("%s: recv: %s", c->l->text, strerror(errno));
		conn_close(s, c);
		return;
	}
	conn_service(s, c);
}

static void
conn_event(struct server *s, uint64_t token, uint32_t ev)
{
	struct conn *c = conn_by_token(s, token);

	if (c == NULL)
		return;
	if (ev & EPOLLERR) {
		conn_close(s, c);
		return;
	}
	if (c->lingering) {
		conn_read(s, c);
		return;
	}
	if (ev & EPOLLOUT) {
		if (conn_flush(s, c) != 0)
			return;
		if (c->out.len == 0) {
			conn_service(s, c);
			if ((c = conn_by_token(s, token)) == NULL)
				return;
		}
	}
	if (ev & (EPOLLIN | EPOLLHUP)) {
		size_t cap = in_cap(s, c);

		/* Peer gone and nothing we could read: done. */
		if ((ev & EPOLLHUP) && (c->eof || c->in.len >= cap)) {
			conn_close(s, c);
			return;
		}
		conn_read(s, c);
	}
}

/* ---- listeners at run time ------------------------------------------- */

static void
listeners_set(struct server *s, int on)
{
	for (size_t i = 0; i < s->nls; i++) {
		struct epoll_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.events = on ? EPOLLIN : 0;
		ev.data.u64 = EV_DATA(EV_LISTENER, i);
		if (epoll_ctl(s->ep, EPOLL_CTL_MOD, s->ls[i].fd, &ev) != 0)
			log_warn("epoll_ctl: %s", strerror(errno));
	}
	s->paused = !on;
}

static void
do_accept(struct server *s, const struct listener *l)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC);

		if (fd < 0) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				/* Retrying now would spin: wait a second. */
				client_warn(s, "%s: accept: %s (%zu "
				    "connections open): not accepting for a "
				    "second", l->text, strerror(errno),
				    s->nconn);
				listeners_set(s, 0);
				return;
			default:
				log_warn("%s: accept: %s", l->text,
				    strerror(errno));
				return;
			}
		}
		if (s->nconn >= (size_t)s->max_conn) {
			close(fd);
			s->refused++;
			if (s->now_ms - s->refuse_log_ms >= 1000) {
				log_warn("max_connections (%d) reached: new "
				    "clients are refused (%llu so far)",
				    s->max_conn, s->refused);
				s->refuse_log_ms = s->now_ms;
			}
			continue;
		}
		conn_new(s, l, fd);
	}
}

/* ---- engine, timer, signals ------------------------------------------ */

static void
on_done(void *arg, uint64_t token, enum result res, const char *text,
    size_t len)
{
	struct server *s = arg;
	struct conn *c = conn_by_token(s, token);

	if (c == NULL || !c->pending) {
		s->dropped++;
		return;
	}
	c->pending = 0;
	s->npending--;
	c->last_ms = s->now_ms;
	lathist_add(&s->lat, clock_ns() - c->t0_ns);
	conn_reply(c, res, text, len);
	/* Written and followed up after engine_drain() returns, so that
	 * the engine is never entered again from inside its own drain. */
	ready_push(s, c);
}

static void
check_fd_limit(int max_conn, size_t nls)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)max_conn + nls + FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ?
	    rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need)
		log_warn("max_connections = %d needs %llu file descriptors, the "
		    "limit is %llu: raise it (LimitNOFILE=)", max_conn,
		    (unsigned long long)need, (unsigned long long)rl.rlim_cur);
}

static void
apply_limits(struct server *s, const struct cfg *cfg)
{
	char *sig = listen_signature(cfg);

	set_limits(s, cfg);
	check_fd_limit(s->max_conn, s->nls);
	if (strcmp(sig, s->listen_sig) != 0)
		log_warn("socketmap_listen, tcp_listen, socket_group or "
		    "socket_mode changed: restart lookupd to apply them (the "
		    "old listeners stay)");
	free(sig);
}

/* STATUS= when it says something new: at once while not ready (why not
 * is news), at most every STATUS_EVERY_MS once ready (the age moves);
 * READY=1 (force) when the daemon has become ready. */
static void
tell_status(struct server *s, int force)
{
	struct buf b = BUF_INIT;
	struct status st;
	int ready;

	if (!notify_enabled())
		return;
	get_status(s, &st);
	ready = status_ready(&st);
	status_line(&st, &b);
	status_free(&st);
	if (force && ready)
		notify_ready(buf_str(&b));
	else if (b.len != s->status_last.len ||
	    memcmp(buf_str(&b), buf_str(&s->status_last), b.len) != 0) {
		if (ready && s->now_ms - s->status_ms < STATUS_EVERY_MS) {
			buf_free(&b);
			return;
		}
		notify_status(buf_str(&b));
	} else {
		buf_free(&b);
		return;
	}
	s->status_ms = s->now_ms;
	buf_free(&s->status_last);
	s->status_last = b;
}

/* READY=1 once every map has a snapshot (checked after every turn until
 * then: a flag once told). */
static void
check_ready(struct server *s)
{
	if (s->ready_told || !engine_ready(s->e))
		return;
	s->ready_told = 1;
	log_info("ready: every map has a snapshot");
	tell_status(s, 1);
}

/* metrics_file, every metrics_interval s (the first at once). */
static void
write_metrics(struct server *s)
{
	const struct cfg *cfg = engine_cfg(s->e);
	struct buf b = BUF_INIT;
	struct status st;
	char err[256];

	if (cfg->metrics_file == NULL || s->now_ms < s->metrics_ms)
		return;
	s->metrics_ms = s->now_ms + 1000 * (int64_t)cfg->metrics_interval;
	if (s->mf == NULL && (s->mf = metricsfile_new(err, sizeof(err))) ==
	    NULL) {
		log_warn("%s", err);
		return;
	}
	get_status(s, &st);
	metrics_render(&st, &b);
	status_free(&st);
	metricsfile_post(s->mf, cfg->metrics_file, &b);
	buf_free(&b);
}

static void
on_timer(struct server *s)
{
	uint64_t ticks;

	if (read(s->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("timerfd: %s", strerror(errno));
	engine_tick(s->e);
	for (uint32_t i = 0; i < s->nslots; i++) {
		struct conn *c = s->slots[i].c;

		if (c == NULL)
			continue;
		if (c->lingering) {
			if (s->now_ms - c->linger_ms >= LINGER_MS)
				conn_close(s, c);
		} else if (!c->pending && s->now_ms - c->last_ms >= s->idle_ms) {
			log_debug("%s: connection idle for %lld ms, closed",
			    c->l->text, (long long)(s->now_ms - c->last_ms));
			s->closed_idle++;
			conn_close(s, c);
		}
	}
	if (s->paused)
		listeners_set(s, 1);
	tell_status(s, 0);
	write_metrics(s);
}

static void
on_signal(struct server *s)
{
	struct signalfd_siginfo si;
	const struct cfg *cfg;

	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_info("SIGHUP: reloading the configuration");
			notify_reloading("reloading the configuration");
			if ((cfg = engine_reload(s->e)) != NULL) {
				apply_limits(s, cfg);
				s->metrics_ms = 0;
			}
			/* READY=1 again once ready (check_ready). */
			s->ready_told = 0;
			break;
		case SIGTERM:
		case SIGINT:
			log_info("%s: stopping", strsignal((int)si.ssi_signo));
			notify_stopping();
			s->stop = 1;
			break;
		default:
			break;
		}
	}
}

static int
ep_add(struct server *s, int fd, uint64_t data)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = data;
	return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int
loop_setup(struct server *s)
{
	struct itimerspec its;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) < 0) {
		log_error("server: %s", strerror(errno));
		return -1;
	}
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_sec = 1;
	its.it_value.tv_sec = 1;
	if (timerfd_settime(s->tfd, 0, &its, NULL) != 0 ||
	    ep_add(s, s->sigfd, EV_DATA(EV_SIGNAL, 0)) != 0 ||
	    ep_add(s, s->tfd, EV_DATA(EV_TIMER, 0)) != 0 ||
	    ep_add(s, engine_fd(s->e), EV_DATA(EV_ENGINE, 0)) != 0) {
		log_error("server: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < s->nls; i++)
		if (ep_add(s, s->ls[i].fd, EV_DATA(EV_LISTENER, i)) != 0) {
			log_error("server: %s: %s", s->ls[i].text,
			    strerror(errno));
			return -1;
		}
	return 0;
}

static void
loop_teardown(struct server *s)
{
	for (uint32_t i = 0; i < s->nslots; i++)
		if (s->slots[i].c != NULL)
			conn_close(s, s->slots[i].c);
	if (s->ep >= 0)
		close(s->ep);
	if (s->sigfd >= 0)
		close(s->sigfd);
	if (s->tfd >= 0)
		close(s->tfd);
	s->ep = s->sigfd = s->tfd = -1;
	/* Completions still in the engine belong to closed connections. */
	s->npending = 0;
}

int
server_run(struct server *s, struct engine *e)
{
	struct epoll_event evs[MAX_EVENTS];
	int rc = 0;

	s->e = e;
	s->now_ms = (int64_t)clock_ms();
	s->refuse_log_ms = s->warn_ms = s->now_ms - 1000;
	check_fd_limit(s->max_conn, s->nls);
	if (loop_setup(s) != 0) {
		loop_teardown(s);
		return 1;
	}
	notify_init();
	tell_status(s, 0);
	check_ready(s);
	write_metrics(s);
	while (!s->stop) {
		/* WATCHDOG=1 from here: a loop that stops turning stops
		 * them.  The wait ends in time for the next. */
		int wd = notify_watchdog(s->now_ms);
		int n = epoll_wait(s->ep, evs, MAX_EVENTS, s->nready ? 0 : wd);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			rc = 1;
			break;
		}
		s->now_ms = (int64_t)clock_ms();
		for (int i = 0; i < n && !s->stop; i++) {
			uint64_t d = evs[i].data.u64;

			if (d >> 32 != 0) {
				conn_event(s, d, evs[i].events);
				continue;
			}
			switch (d >> 24) {
			case EV_LISTENER:
				if (!s->paused)
					do_accept(s, &s->ls[d & 0xffffff]);
				break;
			case EV_SIGNAL:
				on_signal(s);
				break;
			case EV_TIMER:
				on_timer(s);
				break;
			case EV_ENGINE:
				engine_drain(s->e, on_done, s);
				break;
			default:
				break;
			}
		}
		if (!s->stop)
			run_ready(s);
		check_ready(s);
	}
	loop_teardown(s);
	return rc;
}

void
server_status(const struct server *s, struct status *st)
{
	st->conn_open = s->nconn;
	st->conn_max = s->max_conn;
	st->accepted = s->accepted;
	st->refused = s->refused;
	st->closed_idle = s->closed_idle;
	st->req_sockmap = s->req_sockmap;
	st->req_tcp = s->req_tcp;
	st->req_bad = s->req_bad;
	st->req_async = s->req_async;
	st->req_pending = s->npending;
	st->req_stats = s->req_stats;
	st->dropped = s->dropped;
	st->lat = s->lat;
}

void
server_free(struct server *s)
{
	if (s == NULL)
		return;
	loop_teardown(s);
	metricsfile_free(s->mf);
	buf_free(&s->status_last);
	for (size_t i = 0; i < s->nls; i++) {
		struct listener *l = &s->ls[i];
		struct stat st;

		if (l->fd >= 0)
			close(l->fd);
		/* Remove the socket file only if it is still ours. */
		if (l->path != NULL && lstat(l->path, &st) == 0 &&
		    S_ISSOCK(st.st_mode) && st.st_dev == l->dev &&
		    st.st_ino == l->ino && unlink(l->path) != 0)
			log_debug("%s: cannot remove %s: %s", l->text, l->path,
			    strerror(errno));
		free(l->map);
		free(l->text);
		free(l->path);
	}
	free(s->ls);
	free(s->listen_sig);
	free(s->slots);
	free(s->freel);
	free(s->ready);
	free(s->ready2);
	buf_free(&s->val);
	buf_free(&s->key);
	free(s);
}
