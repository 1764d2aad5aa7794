/*
 * server: the daemon's sockets, all of them (HACKING.md, "Sockets": the
 * command-line client has its own, client.c).  One event loop (epoll)
 * serves every socketmap and tcp_table listener, hundreds of persistent,
 * mostly idle connections, and the engine's completions.  Requests of
 * one connection are answered in order, one at a time (Postfix never
 * pipelines; a client that does simply waits).  Bad input gets an error
 * reply or a closed connection and never disturbs other clients.
 */
#ifndef LDAPMAIL_SERVER_H
#define LDAPMAIL_SERVER_H

#include <stddef.h>

#include "common/cfg.h"

struct buf;
struct server;
struct engine;

/* Create and bind every listener of cfg (socketmap_listen, tcp_listen),
 * UNIX sockets with socket_group/socket_mode.  Done before privileges are
 * dropped.  NULL with err set on failure. */
struct server *server_new(const struct cfg *cfg, char *err, size_t errsz);

/* Serve until SIGTERM or SIGINT (then return 0).  SIGHUP calls
 * engine_reload() and applies the new limits; listeners stay as they are
 * (a change to them is logged as needing a restart).  The caller blocks
 * SIGHUP, SIGTERM, SIGINT (and ignores SIGPIPE) in every thread before
 * any thread is started; the loop takes them through a signalfd. */
int server_run(struct server *s, struct engine *e);

/* Fill the server's part of st (connections, requests, latency). */
struct status;
void server_status(const struct server *s, struct status *st);

/* Close the listeners (removing UNIX socket files) and free. */
void server_free(struct server *s);

#endif
