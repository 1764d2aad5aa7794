/*
 * applemail-probe: common/applemail.c from the command line, for
 * integration tests (not installed).
 *
 *   applemail-probe < VALUE
 *
 * Reads one apple-user-mailattribute value (at most APPLEMAIL_MAX + 1
 * bytes) and prints one line: "STATE v=N quota_mb=N imap=X pop3=X
 * forward=ADDR location=HOST altstore=PATH", or "error: WHY".  Exit 0,
 * 1 on an error.
 */
#include <stdio.h>

#include "common/applemail.h"

static const char *
login(enum applemail_login l)
{
	return l == APPLEMAIL_LOGIN_ALLOWED ? "allowed" :
	    l == APPLEMAIL_LOGIN_DENIED ? "denied" : "unset";
}

int
main(void)
{
	static char in[APPLEMAIL_MAX + 2];
	struct applemail m;
	char why[512];
	size_t n = fread(in, 1, sizeof(in), stdin);

	if (applemail_parse(in, n, &m, why, sizeof(why)) != 0) {
		printf("error: %s\n", why);
		return 1;
	}
	printf("%s v=%d quota_mb=%llu imap=%s pop3=%s forward=%s location=%s "
	    "altstore=%s\n", applemail_state_name(m.state), m.version,
	    m.quota_mb, login(m.imap), login(m.pop3), m.forward, m.location,
	    m.altstore);
	return 0;
}
