/*
 * run: one run of ldap-maildirmake (the run policy): configuration,
 * directory, plan, lock, the two passes, the report; one exit path.
 */
#ifndef LDAPMAIL_MDM_RUN_H
#define LDAPMAIL_MDM_RUN_H

/* What the command line asks for. */
struct mdm_opts {
	const char *cfgpath;
	int dry;		/* -n */
	int quiet;		/* -q */
	int verbose;		/* -v */
	int watch;		/* --watch (watch.h) */
	int orphans;		/* --orphans (orphans.h) */
};

/* The whole run; the exit status (0, 1, 2, or 75 by exit_temp). */
int mdm_run(const struct mdm_opts *o);

#endif
