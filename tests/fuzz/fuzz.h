/*
 * fuzz.h: what every libFuzzer target of tests/fuzz shares.
 *
 * FUZZ_ASSERT() is the one way a target says "this input broke an
 * invariant": it names the condition and the line on stderr, then
 * aborts, which libFuzzer records as a crash (with the input saved as
 * crash-*).  Sanitizer reports (ASan, UBSan with -fno-sanitize-recover)
 * end the run the same way.  Header-only, like tests/unit/unit.h.
 */
#ifndef LDAPMAIL_FUZZ_H
#define LDAPMAIL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz: invariant failed: %s (%s:%d)\n", \
		    #cond, __FILE__, __LINE__); \
		fflush(stderr); \
		abort(); \
	} \
} while (0)

/* len bytes at p equal the len bytes at q (either may be NULL if 0). */
static inline int
fuzz_memeq(const void *p, const void *q, size_t len)
{
	return len == 0 || memcmp(p, q, len) == 0;
}

static inline int
fuzz_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
