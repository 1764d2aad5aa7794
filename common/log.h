/*
 * log: one way to speak for every program of ldapmail.
 *
 * Lines read "PROG[PID]: warning: text", as Postfix writes them: to syslog
 * (facility mail) normally, to stderr when the program runs in the
 * foreground or from a terminal.  Keys and other untrusted text go
 * through log_printable() first.  Safe to call from several threads.
 */
#ifndef LDAPMAIL_LOG_H
#define LDAPMAIL_LOG_H

#include <stddef.h>

/* Name the program and choose stderr (to_stderr) or syslog. */
void log_open(const char *prog, int to_stderr);
/* Show log_debug() lines too. */
void log_set_verbose(int on);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log "fatal: ..." and exit with status. */
void log_fatal(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Format a one-line error into the caller's buffer err (errsz bytes), as
 * the functions of this project hand errors back: cut when too long (it is
 * read by people), "" if the format fails, nothing if err is NULL.
 * Returns -1, so that "return log_errf(...);" reports a failure. */
int log_errf(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy at most 100 bytes of s into out as printable ASCII (others as \xHH),
 * adding "..." when cut; always NUL-terminated.  Returns out. */
char *log_printable(char *out, size_t outsz, const char *s, size_t len);
#define LOG_PRINTABLE_SIZE 420

#endif
