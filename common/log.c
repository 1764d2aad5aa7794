/*
 * log: "PROG[PID]: warning: text" lines, as Postfix's msg(3) writes them.
 *
 * To stderr (foreground, terminals, tests) or to syslog with facility
 * mail.  Until log_open() is called, lines go to stderr as "ldapmail".
 * Each line is formatted first and written with one call under a mutex,
 * so lines from several threads never interleave.  Control characters in
 * a formatted message (a key someone forgot to pass through
 * log_printable(), a newline in strerror text) become '?': one log call
 * is always exactly one log line.  Messages are cut at LOG_LINE_MAX bytes.
 * errno is preserved across every call, so "log, then look at errno"
 * works.  log_fatal() exits with the status given (sysexits: 75, 78...).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "common/log.h"

#define LOG_LINE_MAX	2048
#define LOG_PROG_MAX	64

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_prog[LOG_PROG_MAX] = "ldapmail";
static int log_to_stderr = 1;
static int log_syslog_open;
static int log_verbose;

void
log_open(const char *prog, int to_stderr)
{
	const char *slash;

	pthread_mutex_lock(&log_lock);
	if (prog != NULL) {
		/* "/usr/sbin/lookupd" logs as "lookupd". */
		if ((slash = strrchr(prog, '/')) != NULL && slash[1] != '\0')
			prog = slash + 1;
		snprintf(log_prog, sizeof(log_prog), "%s", prog);
	}
	if (log_syslog_open) {
		closelog();
		log_syslog_open = 0;
	}
	log_to_stderr = to_stderr;
	if (!to_stderr) {
		/* openlog() keeps the pointer: log_prog lives forever. */
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_syslog_open = 1;
	}
	pthread_mutex_unlock(&log_lock);
}

void
log_set_verbose(int on)
{
	pthread_mutex_lock(&log_lock);
	__atomic_store_n(&log_verbose, on, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&log_lock);
}

static void __attribute__((format(printf, 3, 0)))
log_vline(int prio, const char *word, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	int saved = errno;
	int r;

	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (r < 0)
		snprintf(msg, sizeof(msg), "(unprintable message: %s)", fmt);
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';

	pthread_mutex_lock(&log_lock);
	if (prio == LOG_DEBUG && !log_verbose) {
		pthread_mutex_unlock(&log_lock);
		errno = saved;
		return;
	}
	if (log_to_stderr)
		fprintf(stderr, "%s[%ld]: %s%s\n", log_prog, (long)getpid(),
		    word, msg);
	else
		syslog(prio, "%s%s", word, msg);
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	/* A racy read is fine: at worst one line more or less while -v is
	 * being switched; formatting is skipped when nobody will see it. */
	if (!__atomic_load_n(&log_verbose, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	log_vline(LOG_DEBUG, "debug: ", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

void
log_fatal(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	exit(status);
}

/*
 * At most 100 input bytes; printable ASCII as is, everything else (and
 * the backslash itself, so that the output reads back unambiguously) as
 * \xHH; "..." when the input was longer or out was too small.  Only whole
 * escapes are written: the output is never a cut "\x4".
 */
char *
log_printable(char *out, size_t outsz, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n, need, pos, i;
	int cut;

	if (out == NULL || outsz == 0)
		return out;
	if (s == NULL) {
		s = "(null)";
		len = 6;
	}
	n = len > 100 ? 100 : len;
	cut = len > n;
	need = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		need += (c < 0x20 || c > 0x7e || c == '\\') ? 4 : 1;
	}
	if (need + (cut ? 3 : 0) >= outsz) {
		/* Does not fit whole: keep room for the "...". */
		cut = 1;
	}
	pos = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t w = (c < 0x20 || c > 0x7e || c == '\\') ? 4 : 1;

		if (outsz - pos < w + (cut ? 3 : 0) + 1)
			break;
		if (w == 1) {
			out[pos++] = (char)c;
		} else {
			out[pos++] = '\\';
			out[pos++] = 'x';
			out[pos++] = hex[c >> 4];
			out[pos++] = hex[c & 15];
		}
	}
	if (cut)
		for (i = 0; i < 3 && outsz - pos > 1; i++)
			out[pos++] = '.';
	out[pos] = '\0';
	return out;
}

int
log_errf(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (err == NULL || errsz == 0)
		return -1;
	va_start(ap, fmt);
	r = vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	if (r < 0)
		err[0] = '\0';
	return -1;
}
