/*
 * notify: systemd's notification protocol through libsystemd's
 * sd_notify (see notify.h).  The datagram socket is libsystemd's, opened
 * and closed inside each call, like libldap's connections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "common/buf.h"
#include "common/log.h"
#include "lookupd/notify.h"

#define STATUS_MAX	1024	/* STATUS= text kept, in bytes */

static int enabled;
static int64_t wd_every_ms;	/* 0: no watchdog */
static int64_t wd_next_ms;

void
notify_init(void)
{
	uint64_t usec = 0;
	int r;

	enabled = getenv("NOTIFY_SOCKET") != NULL;
	r = sd_watchdog_enabled(0, &usec);
	if (r < 0)
		log_warn("WATCHDOG_USEC: %s: no watchdog", strerror(-r));
	if (r > 0 && usec > 0) {
		/* A quarter of the period: twice as often as systemd's
		 * advice, so one slow turn of the loop does not count. */
		wd_every_ms = (int64_t)(usec / 4000);
		if (wd_every_ms < 1)
			wd_every_ms = 1;
		wd_next_ms = 0;
		log_info("watchdog: WATCHDOG=1 every %lld ms",
		    (long long)wd_every_ms);
	}
}

int
notify_enabled(void)
{
	return enabled;
}

static void
tell(const char *fixed, const char *status)
{
	struct buf b = BUF_INIT;
	int r;

	if (!enabled)
		return;
	buf_puts(&b, fixed);
	if (status != NULL) {
		size_t n = strlen(status);

		buf_puts(&b, "STATUS=");
		/* One line: a newline would start another assignment. */
		for (size_t i = 0; i < n && i < STATUS_MAX; i++)
			buf_putc(&b, (unsigned char)status[i] < 0x20 ? ' ' :
			    status[i]);
		buf_putc(&b, '\n');
	}
	r = sd_notify(0, buf_str(&b));
	if (r < 0)
		log_warn("sd_notify: %s", strerror(-r));
	buf_free(&b);
}

void
notify_ready(const char *status)
{
	tell("READY=1\n", status);
}

void
notify_status(const char *status)
{
	tell("", status);
}

void
notify_reloading(const char *status)
{
	char fixed[80];
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	r = snprintf(fixed, sizeof(fixed), "RELOADING=1\nMONOTONIC_USEC=%llu\n",
	    (unsigned long long)ts.tv_sec * 1000000u +
	    (unsigned long long)ts.tv_nsec / 1000u);
	if (r < 0 || (size_t)r >= sizeof(fixed))
		return;
	tell(fixed, status);
}

void
notify_stopping(void)
{
	tell("STOPPING=1\n", NULL);
}

int
notify_watchdog(int64_t now_ms)
{
	if (wd_every_ms == 0)
		return -1;
	if (now_ms >= wd_next_ms) {
		tell("WATCHDOG=1\n", NULL);
		wd_next_ms = now_ms + wd_every_ms;
	}
	return (int)(wd_next_ms - now_ms);
}
