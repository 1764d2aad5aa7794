/*
 * client: ask the running daemon exactly as Postfix would, over the first
 * socketmap endpoint of the configuration (or, failing that, the
 * tcp_table endpoint of the map).  For `lookupd query` and `lookupd stats`.
 * The client's sockets are its own (HACKING.md, "Sockets"); the words it
 * shares with the daemon are in proto.h.
 */
#ifndef LDAPMAIL_CLIENT_H
#define LDAPMAIL_CLIENT_H

#include <stddef.h>

#include "common/cfg.h"
#include "lookupd/result.h"

struct buf;

/* The daemon's answer for map/key: the value (FOUND) or reason (TEMP,
 * PERM) in out.  Cannot reach the daemon: RES_TEMP with err set. */
enum result client_query(const struct cfg *cfg, const char *map,
    const char *key, size_t keylen, struct buf *out, char *err,
    size_t errsz);

/* The daemon's counters, "name value\n" lines (prometheus: Prometheus's
 * text format), into out.  -1 with err set when it cannot be asked (no
 * socketmap_listen) or refuses, -2 when it does not answer (not running,
 * too slow). */
int client_stats(const struct cfg *cfg, int prometheus, struct buf *out,
    char *err, size_t errsz);

/* `lookupd [-c FILE] stats [--format=text|prometheus]`: 0, or 2 when the
 * daemon cannot be asked (exit_temp(2) when it does not answer). */
int client_stats_command(const char *cfg_path, int argc, char **argv);

#endif
