/*
 * exitcode: the rule for temporary failures (see exitcode.h).  One flag
 * for the process, set while the arguments are read, before any thread.
 */
#include "common/exitcode.h"

static int tempfail;

void
exit_tempfail_on(void)
{
	tempfail = 1;
}

int
exit_temp(int status)
{
	return tempfail ? EXIT_TEMPFAIL : status;
}
