/*
 * proto: the words of the socketmap protocol that both ends of lookupd
 * use: the daemon (server.c reads requests, reply.c writes replies) and
 * its own client (client.c: `lookupd query`, `lookupd stats`).  So the
 * client cannot drift from the server.  Constants only; the framing is
 * netstring.h, tcp_table's lines tcpmap.h, the reply limits reply.h.
 */
#ifndef LDAPMAIL_PROTO_H
#define LDAPMAIL_PROTO_H

/* Reply words, as Postfix's dict_sockmap.c reads them ("TIMEOUT" is
 * Postfix's too: read, never sent). */
#define PROTO_OK	"OK"
#define PROTO_NOTFOUND	"NOTFOUND"
#define PROTO_TEMP	"TEMP"
#define PROTO_TIMEOUT	"TIMEOUT"
#define PROTO_PERM	"PERM"

/* The request name that asks the daemon for its counters ("#stats" SP
 * anything): never a map name, since a map name starts with a letter or
 * a digit.  The reply is "OK" and "name value" lines. */
#define PROTO_STATS_NAME "#stats"
/* The key that asks for them in Prometheus's text format instead. */
#define PROTO_STATS_PROMETHEUS "prometheus"

#endif
