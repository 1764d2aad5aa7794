/*
 * mdm-courier: maildirmake/quota.c and folders.c from the command line,
 * for integration tests (not installed).
 *
 *   mdm-courier [-n] [-o UID:GID] MAIL_BASE quota MAILDIR BYTES COUNT
 *   mdm-courier [-n] [-o UID:GID] MAIL_BASE folders MAILDIR NAME...
 *
 * -n: dry run; -o: give what is made to UID:GID (as root).  Prints each
 * change line, then one of "exists", "created", "would", "failed: WHY";
 * exit 0 unless failed (1) or usage (2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mdquota.h"
#include "maildirmake/folders.h"
#include "maildirmake/quota.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: mdm-courier [-n] [-o UID:GID] MAIL_BASE quota "
	    "MAILDIR BYTES COUNT\n"
	    "       mdm-courier [-n] [-o UID:GID] MAIL_BASE folders MAILDIR "
	    "NAME...\n");
	exit(2);
}

static void
print_change(const char *line, void *arg)
{
	printf("%s\n", line);
}

static unsigned long long
number(const char *s, unsigned long long max)
{
	unsigned long long n;

	if (mdquota_number(s, strlen(s), max, &n) != 0)
		usage();
	return n;
}

int
main(int argc, char **argv)
{
	unsigned long uid = getuid(), gid = getgid();
	int dry = 0, chown_it = 0, c;
	enum mdm_result r;
	struct mdm_fs *fs;
	char err[2048];

	while ((c = getopt(argc, argv, "no:")) != -1) {
		switch (c) {
		case 'n':
			dry = 1;
			break;
		case 'o':
			if (sscanf(optarg, "%lu:%lu", &uid, &gid) != 2)
				usage();
			chown_it = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3)
		usage();
	fs = mdm_fs_open(argv[0], (uid_t)uid, (gid_t)gid, chown_it, err,
	    sizeof(err));
	if (fs == NULL) {
		printf("failed: %s\n", err);
		return 1;
	}
	if (strcmp(argv[1], "quota") == 0 && argc == 5) {
		struct mdquota q = {
			number(argv[3], MDQUOTA_BYTES_MAX),
			number(argv[4], MDQUOTA_COUNT_MAX)
		};

		r = mdm_quota_apply(fs, argv[2], &q, dry, print_change, NULL,
		    err, sizeof(err));
	} else if (strcmp(argv[1], "folders") == 0) {
		r = mdm_default_folders(fs, argv[2], argv + 3,
		    (size_t)(argc - 3), dry, print_change, NULL, err,
		    sizeof(err));
	} else {
		usage();
	}
	mdm_fs_close(fs);
	switch (r) {
	case MDM_R_EXISTS:	printf("exists\n"); break;
	case MDM_R_CREATED:	printf("created\n"); break;
	case MDM_R_WOULD:	printf("would\n"); break;
	case MDM_R_FAILED:	printf("failed: %s\n", err); return 1;
	}
	return 0;
}
