/*
 * ldap-maildirmake: create every maildir, Courier shared maildir, shared
 * folder, delivery link and shared-maildirs line the directory describes.
 * Replaces the howto's makeMailMessageStoreDirs script and its calls of
 * Courier's maildirmake (see ../shared/SPEC.md, man/ldap-maildirmake.8).
 *
 * main() reads the arguments; the run itself (configuration, directory,
 * plan, lock, the two passes, the report) is run.c's, and --watch's
 * watcher (watch.c) makes its passes through it too.
 */
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include "common/cfg.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "maildirmake/run.h"

#define PROG	"ldap-maildirmake"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-c FILE] [-n] [-q | -v] [--watch | --orphans]\n"
	    "\n"
	    "Create the maildirs, Courier shared maildirs, shared folders,\n"
	    "delivery links and shared-maildirs lines that the LDAP directory\n"
	    "describes, under mail_base, owned by mail_owner.\n"
	    "\n"
	    "  -c FILE   configuration file (default " CFG_DEFAULT_PATH ")\n"
	    "  -n        print what would be done, do nothing\n"
	    "  -q        quiet: print only errors\n"
	    "  -v        verbose: also tell what is already there\n"
	    "  --tempfail  exit 75 instead of 2 when LDAP could not be asked\n"
	    "            or another run holds the lock\n"
	    "  --watch   stay running: follow the directory (RFC 4533\n"
	    "            sync) and make what each change asks for at once\n"
	    "  --orphans list the maildirs under mail_base no entry names\n"
	    "            (path, bytes, last change); change nothing\n"
	    "  --help    this text\n"
	    "\n"
	    "Exit status: 0 all done, 1 some entries failed, 2 configuration,\n"
	    "LDAP, lock or usage error (nothing done), 75 out of memory.\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "watch", no_argument, NULL, 'W' },
		{ "orphans", no_argument, NULL, 'O' },
		EXIT_TEMPFAIL_OPTION,
		{ NULL, 0, NULL, 0 }
	};
	struct mdm_opts o = { CFG_DEFAULT_PATH, 0, 0, 0, 0, 0 };
	int ch;

	/* Modes are set explicitly; this only keeps a strange umask from
	 * making our own fresh directories unreadable to us. */
	umask(077);
	log_open(PROG, 1);
	while ((ch = getopt_long(argc, argv, "c:nqvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.cfgpath = optarg;
			break;
		case 'n':
			o.dry = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'T':
			exit_tempfail_on();
			break;
		case 'W':
			o.watch = 1;
			break;
		case 'O':
			o.orphans = 1;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (o.quiet && o.verbose) ||
	    (o.orphans && o.watch)) {
		usage(stderr);
		return 2;
	}
	log_set_verbose(o.verbose);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return mdm_run(&o);
}
