/*
 * exitcode: the exit statuses of every ldapmail program, in one place.
 *
 * 0, 1 and 2 keep the meaning the SPEC gives each command (done / failed
 * or not found / error).  EXIT_TEMPFAIL (sysexits EX_TEMPFAIL) is for a
 * failure the same command, run again later, may not meet: see
 * exit_temp().
 */
#ifndef LDAPMAIL_EXITCODE_H
#define LDAPMAIL_EXITCODE_H

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_ERROR	2
#define EXIT_TEMPFAIL	75

#endif
