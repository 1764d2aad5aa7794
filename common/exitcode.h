/*
 * exitcode: the exit statuses of both programs, and the one rule for
 * temporary failures.
 *
 * 0, 1 and 2 keep the meaning the SPEC gives each command.  A failure is
 * temporary when the same command, run again later unchanged, may
 * succeed: what lookupd would answer Postfix TEMP (LDAP's "try later",
 * ldapconn.h: unreachable, too slow, busy, a refused bind, a missing
 * base), the daemon not answering or answering TEMP (query, stats),
 * ldap-maildirmake's run lock held by another run, memory exhausted.
 * Out of memory always exits EXIT_TEMPFAIL (the SPEC gives it no
 * status); the others exit the command's usual status unless --tempfail
 * was given, then EXIT_TEMPFAIL, for cron jobs and systemd units that
 * want to tell them apart.
 */
#ifndef LDAPMAIL_EXITCODE_H
#define LDAPMAIL_EXITCODE_H

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_ERROR	2
#define EXIT_TEMPFAIL	75	/* sysexits EX_TEMPFAIL */

/* The option of both programs, for their getopt_long tables (<getopt.h>);
 * getopt_long returns 'T' for it. */
#define EXIT_TEMPFAIL_OPTION	{ "tempfail", no_argument, NULL, 'T' }

/* --tempfail: temporary failures exit EXIT_TEMPFAIL from now on. */
void exit_tempfail_on(void);
/* The status of a temporary failure of a command that would otherwise
 * exit status. */
int exit_temp(int status);

#endif
