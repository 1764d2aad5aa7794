/*
 * client: ask the running daemon as Postfix would (see client.h).
 * Blocking sockets with a receive/send timeout: a command-line tool may
 * wait, but never forever.  `lookupd stats` is one socketmap request
 * named PROTO_STATS_NAME on the first socketmap endpoint.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "lookupd/client.h"
#include "lookupd/netstring.h"
#include "lookupd/proto.h"
#include "lookupd/reply.h"
#include "lookupd/tcpmap.h"

static int
connect_to(const struct cfg_listen *l, int timeout, char *err, size_t errsz)
{
	struct timeval tv = { timeout, 0 };
	int fd = -1;

	if (l->is_unix) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(l->path) >= sizeof(sun.sun_path)) {
			log_errf(err, errsz, "%s: path too long", l->text);
			return -1;
		}
		memcpy(sun.sun_path, l->path, strlen(l->path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) != 0) {
			log_errf(err, errsz, "%s: %s", l->text, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
	} else {
		struct addrinfo hints, *res, *ai;
		int r;

		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		r = getaddrinfo(l->host, l->port, &hints, &res);
		if (r != 0) {
			log_errf(err, errsz, "%s: %s", l->text, gai_strerror(r));
			return -1;
		}
		log_errf(err, errsz, "%s: no address", l->text);
		for (ai = res; ai; ai = ai->ai_next) {
			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
			if (fd < 0)
				continue;
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
				break;
			log_errf(err, errsz, "%s: %s", l->text, strerror(errno));
			close(fd);
			fd = -1;
		}
		freeaddrinfo(res);
		if (fd < 0)
			return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int
send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
recv_some(int fd, struct buf *in)
{
	char tmp[8192];
	ssize_t n;

	do
		n = recv(fd, tmp, sizeof(tmp), 0);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		buf_append(in, tmp, (size_t)n);
	return (int)(n > 0 ? 1 : n);
}

static int
word(const char *p, size_t len, const char *w, size_t *skip)
{
	size_t wl = strlen(w);

	if (len < wl || memcmp(p, w, wl) != 0)
		return 0;
	if (len > wl && p[wl] != ' ')
		return 0;
	*skip = len > wl ? wl + 1 : wl;
	return 1;
}

static enum result
ask_sockmap(int fd, const char *map, const char *key, size_t keylen,
    struct buf *out, char *err, size_t errsz)
{
	struct buf req = BUF_INIT, in = BUF_INIT;
	const char *payload;
	size_t plen, used, skip;
	enum result res = RES_TEMP;

	buf_puts(&req, map);
	buf_putc(&req, ' ');
	buf_append(&req, key, keylen);
	{
		struct buf ns = BUF_INIT;

		netstring_encode(&ns, req.p, req.len);
		buf_free(&req);
		req = ns;
	}
	if (send_all(fd, req.p, req.len) != 0) {
		log_errf(err, errsz, "send: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		enum ns_status st = netstring_decode(in.p ? in.p : "", in.len,
		    SOCKMAP_REPLY_MAX, &payload, &plen, &used);

		if (st == NS_OK)
			break;
		if (st != NS_MORE) {
			log_errf(err, errsz, "bad reply from the daemon");
			goto out;
		}
		int r = recv_some(fd, &in);

		if (r <= 0) {
			log_errf(err, errsz, "no reply from the daemon: %s",
			    r < 0 ? strerror(errno) : "connection closed");
			goto out;
		}
	}
	if (word(payload, plen, PROTO_OK, &skip))
		res = RES_FOUND;
	else if (word(payload, plen, PROTO_NOTFOUND, &skip))
		res = RES_NOTFOUND;
	else if (word(payload, plen, PROTO_PERM, &skip))
		res = RES_PERM;
	else if (word(payload, plen, PROTO_TEMP, &skip) ||
	    word(payload, plen, PROTO_TIMEOUT, &skip))
		res = RES_TEMP;
	else {
		log_errf(err, errsz, "unexpected reply from the daemon");
		goto out;
	}
	buf_append(out, payload + skip, plen - skip);
	err[0] = '\0';
out:
	buf_free(&req);
	buf_free(&in);
	return res;
}

static enum result
ask_tcp(int fd, const char *key, size_t keylen, struct buf *out, char *err,
    size_t errsz)
{
	struct buf req = BUF_INIT, in = BUF_INIT;
	enum result res = RES_TEMP;
	const char *nl;

	buf_puts(&req, "get ");
	tcpmap_escape(&req, key, keylen);
	buf_putc(&req, '\n');
	if (send_all(fd, req.p, req.len) != 0) {
		log_errf(err, errsz, "send: %s", strerror(errno));
		goto out;
	}
	while ((nl = in.p ? memchr(in.p, '\n', in.len) : NULL) == NULL) {
		if (in.len > TCPMAP_LINE_MAX || recv_some(fd, &in) <= 0) {
			log_errf(err, errsz, "no reply from the daemon");
			goto out;
		}
	}
	if (nl - in.p < 4 || in.p[3] != ' ') {
		log_errf(err, errsz, "unexpected reply from the daemon");
		goto out;
	}
	switch (in.p[0]) {
	case '2':
		res = RES_FOUND;
		break;
	case '5':
		res = RES_NOTFOUND;
		break;
	default:
		res = RES_TEMP;
		break;
	}
	if (tcpmap_unescape(out, in.p + 4, (size_t)(nl - in.p - 4)) != 0) {
		log_errf(err, errsz, "bad %%-encoding in the daemon's reply");
		res = RES_TEMP;
		goto out;
	}
	if (res == RES_NOTFOUND)
		buf_reset(out);
	err[0] = '\0';
out:
	buf_free(&req);
	buf_free(&in);
	return res;
}

enum result
client_query(const struct cfg *cfg, const char *map, const char *key,
    size_t keylen, struct buf *out, char *err, size_t errsz)
{
	const struct cfg_listen *l = NULL;
	int is_tcp = 0, fd;
	/* The daemon may ask LDAP twice (reconnect) before it answers. */
	int timeout = 2 * cfg->ldap_timeout + 5;
	enum result res;

	if (cfg->n_socketmap_listen > 0) {
		l = &cfg->socketmap_listen[0];
	} else {
		for (size_t i = 0; i < cfg->n_tcp_listen; i++)
			if (strcmp(cfg->tcp_listen[i].map, map) == 0)
				l = &cfg->tcp_listen[i];
		is_tcp = 1;
	}
	if (l == NULL) {
		log_errf(err, errsz, "%s: no socketmap_listen, and no "
		    "tcp_listen for map %s", cfg->file, map);
		return RES_TEMP;
	}
	if ((fd = connect_to(l, timeout, err, errsz)) < 0)
		return RES_TEMP;
	if (is_tcp)
		res = ask_tcp(fd, key, keylen, out, err, errsz);
	else
		res = ask_sockmap(fd, map, key, keylen, out, err, errsz);
	close(fd);
	return res;
}

int
client_stats(const struct cfg *cfg, int prometheus, struct buf *out,
    char *err, size_t errsz)
{
	const char *key = prometheus ? PROTO_STATS_PROMETHEUS : "";
	enum result res;

	if (cfg->n_socketmap_listen == 0) {
		log_errf(err, errsz, "%s: stats asks the daemon over "
		    "socketmap_listen, and there is none", cfg->file);
		return -1;
	}
	res = client_query(cfg, PROTO_STATS_NAME, key, strlen(key), out, err,
	    errsz);
	if (res == RES_FOUND)
		return 0;
	if (err[0] == '\0')
		log_errf(err, errsz, "the daemon refused: %s", buf_str(out));
	return res == RES_TEMP ? -2 : -1;
}

int
client_stats_command(const char *cfg_path, int argc, char **argv)
{
	struct cfg *cfg;
	struct buf out = BUF_INIT;
	char err[1024] = "";
	int rc = 0, prom = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--format=prometheus") == 0)
			prom = 1;
		else if (strcmp(argv[i], "--format=text") == 0)
			prom = 0;
		else {
			fprintf(stderr, "usage: lookupd [-c FILE] stats "
			    "[--format=text|prometheus]\n");
			return 2;
		}
	}
	if ((cfg = cfg_load(cfg_path, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return 2;
	}
	if ((rc = client_stats(cfg, prom, &out, err, sizeof(err))) != 0) {
		log_error("stats: %s", err);
		rc = rc == -2 ? exit_temp(2) : 2;
	} else {
		fwrite(out.p, 1, out.len, stdout);
		if (out.len > 0 && out.p[out.len - 1] != '\n')
			putchar('\n');
	}
	buf_free(&out);
	cfg_free(cfg);
	return rc;
}
