/*
 * fuzz_applemail: common/applemail.c, the reader of Apple Open
 * Directory's apple-user-mailattribute (an XML property list from the
 * directory: untrusted).
 *
 * applemail_parse() must never crash, read out of bounds or hang on any
 * input (the sanitizers and libFuzzer's timeout watch that), and:
 *   - it decides the same twice (same verdict, same reason, same result);
 *   - a refusal says "byte N: reason" with N inside the input, one
 *     printable line;
 *   - what it accepts is what applemail.h promises: version 1 or 2, a
 *     known state, a forward address exactly when the state is Forward
 *     and then one plain local@domain address (checked by a reference
 *     written here), a quota within APPLEMAIL_QUOTA_MB_MAX, known login
 *     states, every string NUL-terminated in its field, valid UTF-8
 *     and without control characters;
 *   - the result written back as a canonical plist (escaped here) reads
 *     back to the same result;
 *   - an accepted input cut just before its last ">" is refused (the
 *     root, or a comment after it, is then not closed): nothing is read
 *     from a value that was not read whole.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/applemail.h"
#include "common/safepath.h"
#include "tests/fuzz/fuzz.h"

static void
check_field(const char *f, size_t size)
{
	size_t n = strnlen(f, size);

	FUZZ_ASSERT(n < size);
	FUZZ_ASSERT(safepath_utf8(f, n));
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT((unsigned char)f[i] >= 0x20 && f[i] != 0x7f);
}

/* Reference: local@domain, both non-empty, one "@", nothing a list or a
 * display name would need. */
static int
ref_address(const char *s)
{
	size_t n = strlen(s), ats = 0, at = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '@') {
			ats++;
			at = i;
		}
		if (c <= ' ' || c == 0x7f)
			return 0;
		switch (c) {
		case ',': case ';': case ':': case '<': case '>': case '(':
		case ')': case '[': case ']': case '"': case '\\':
			return 0;
		}
	}
	return ats == 1 && at > 0 && at < n - 1;
}

static void
check_ok(const struct applemail *m)
{
	FUZZ_ASSERT(m->version == 1 || m->version == 2);
	FUZZ_ASSERT(m->state == APPLEMAIL_ENABLED ||
	    m->state == APPLEMAIL_OFF || m->state == APPLEMAIL_FORWARD);
	check_field(m->forward, sizeof(m->forward));
	check_field(m->location, sizeof(m->location));
	check_field(m->altstore, sizeof(m->altstore));
	if (m->state == APPLEMAIL_FORWARD)
		FUZZ_ASSERT(ref_address(m->forward));
	else
		FUZZ_ASSERT(m->forward[0] == '\0');
	FUZZ_ASSERT(m->quota_mb <= APPLEMAIL_QUOTA_MB_MAX);
	FUZZ_ASSERT(m->imap <= APPLEMAIL_LOGIN_DENIED);
	FUZZ_ASSERT(m->pop3 <= APPLEMAIL_LOGIN_DENIED);
}

static void
check_why(const char *why, size_t len)
{
	unsigned long long n = 0;
	const char *p = why;

	FUZZ_ASSERT(strncmp(p, "byte ", 5) == 0);
	p += 5;
	FUZZ_ASSERT(*p >= '0' && *p <= '9');
	while (*p >= '0' && *p <= '9')
		n = n * 10 + (unsigned)(*p++ - '0');
	FUZZ_ASSERT(n <= len);
	FUZZ_ASSERT(p[0] == ':' && p[1] == ' ' && p[2] != '\0');
	for (p = why; *p; p++)
		FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
}

/* s with &, < and > escaped, as a <string>. */
static size_t
put_string(char *out, size_t n, const char *key, const char *s)
{
	size_t k = (size_t)snprintf(out + n, 8 * APPLEMAIL_MAX - n,
	    "<key>%s</key><string>", key);

	for (n += k; *s; s++) {
		const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" :
		    *s == '>' ? "&gt;" : NULL;

		if (e != NULL) {
			memcpy(out + n, e, strlen(e));
			n += strlen(e);
		} else {
			out[n++] = *s;
		}
	}
	memcpy(out + n, "</string>", 9);
	return n + 9;
}

static void
roundtrip(const struct applemail *m)
{
	static char doc[8 * APPLEMAIL_MAX];
	static const char *const login[2][3] = {
		{ NULL, "IMAPAllowed", "IMAPDeny" },
		{ NULL, "POP3Allowed", "POP3Deny" },
	};
	struct applemail again;
	char why[256], q[32];
	size_t n = 0;

	n += (size_t)snprintf(doc, sizeof(doc), "<dict>");
	n = put_string(doc, n, "kAttributeVersion", m->version == 1 ?
	    "Apple Mail 1.0" : "Apple Mail 2.0");
	n = put_string(doc, n, "kMailAccountState",
	    applemail_state_name(m->state));
	if (m->state == APPLEMAIL_FORWARD)
		n = put_string(doc, n, "kAutoForwardValue", m->forward);
	snprintf(q, sizeof(q), "%llu", m->quota_mb);
	n = put_string(doc, n, "kUserDiskQuota", q);
	if (m->imap != APPLEMAIL_LOGIN_UNSET)
		n = put_string(doc, n, "kIMAPLoginState", login[0][m->imap]);
	if (m->pop3 != APPLEMAIL_LOGIN_UNSET)
		n = put_string(doc, n, "kPOP3LoginState", login[1][m->pop3]);
	n = put_string(doc, n, "kMailAccountLocation", m->location);
	n = put_string(doc, n, "kAltMailStoreLoc", m->altstore);
	memcpy(doc + n, "</dict>", 7);
	n += 7;
	FUZZ_ASSERT(applemail_parse(doc, n, &again, why, sizeof(why)) == 0);
	FUZZ_ASSERT(memcmp(&again, m, sizeof(again)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	struct applemail a, b;
	char why[512], why2[512], tiny[8];
	int ra, rb;

	memset(&a, 0, sizeof(a));
	memset(&b, 0xff, sizeof(b));
	ra = applemail_parse(xml, size, &a, why, sizeof(why));
	rb = applemail_parse(xml, size, &b, why2, sizeof(why2));
	FUZZ_ASSERT(ra == 0 || ra == -1);
	FUZZ_ASSERT(ra == rb);
	if (ra != 0) {
		check_why(why, size);
		FUZZ_ASSERT(strcmp(why, why2) == 0);
	} else {
		const char *last;

		FUZZ_ASSERT(memcmp(&a, &b, sizeof(a)) == 0);
		check_ok(&a);
		roundtrip(&a);
		last = memrchr(xml, '>', size);
		FUZZ_ASSERT(last != NULL);
		FUZZ_ASSERT(applemail_parse(xml, (size_t)(last - xml), &b, why2,
		    sizeof(why2)) == -1);
	}
	memset(tiny, 'x', sizeof(tiny));
	(void)applemail_parse(xml, size, &b, tiny, sizeof(tiny));
	FUZZ_ASSERT(memchr(tiny, '\0', sizeof(tiny)) != NULL);
	(void)applemail_parse(xml, size, &b, NULL, 0);
	return 0;
}
