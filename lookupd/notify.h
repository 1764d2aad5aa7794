/*
 * notify: lookupd's side of systemd's service notification protocol
 * (sd_notify(3), libsystemd), for Type=notify and WatchdogSec=.  Without
 * NOTIFY_SOCKET in the environment every call does nothing.
 *
 * The event loop (server.c) decides when: READY=1 once the sockets are
 * bound and every map has a snapshot (from disk or LDAP), RELOADING=1
 * with MONOTONIC_USEC when a SIGHUP arrives and READY=1 again when the
 * reload is done and the daemon ready, STOPPING=1 on SIGTERM, STATUS=
 * with what status_line() says, and WATCHDOG=1 from the loop itself
 * every quarter of WATCHDOG_USEC, so that a loop that no longer turns
 * stops them and systemd restarts the daemon.
 */
#ifndef LDAPMAIL_NOTIFY_H
#define LDAPMAIL_NOTIFY_H

#include <stdint.h>

/* Read NOTIFY_SOCKET and WATCHDOG_USEC (sd_watchdog_enabled(3)). */
void notify_init(void);
/* NOTIFY_SOCKET is set: status lines are worth building. */
int notify_enabled(void);

/* READY=1 and STATUS=status. */
void notify_ready(const char *status);
/* STATUS=status alone. */
void notify_status(const char *status);
/* RELOADING=1, MONOTONIC_USEC=now and STATUS=status. */
void notify_reloading(const char *status);
/* STOPPING=1. */
void notify_stopping(void);

/* WATCHDOG=1 if one is due at now_ms (a clock_ms() reading).  Returns
 * the ms until the next is due (for epoll_wait), -1 without a watchdog. */
int notify_watchdog(int64_t now_ms);

#endif
