/*
 * fuzz_ldapesc: common/ldapesc.c, RFC 4515 escaping of a key before it
 * enters an LDAP filter.  A key from the network must never widen or
 * reshape a search, so for any input:
 *   - the escaped text holds no raw '*', '(', ')', NUL, control byte or
 *     byte >= 0x80, and every '\' starts a \HH escape;
 *   - exactly the bytes that need it are escaped (the length is known);
 *   - decoding every \HH gives the input back, byte for byte;
 *   - ldapesc_filter() into a buffer of exactly outsz bytes (heap, so
 *     ASan sees one byte too far) returns the same text when it fits
 *     (need + 1 <= outsz) and -1 with out = "" when it does not, for
 *     outsz 0, 1, need - 1, need, need + 1 and one taken from the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/ldapesc.h"
#include "tests/fuzz/fuzz.h"

static int
needs_escape(unsigned char c)
{
	return c < 0x20 || c >= 0x7f || c == '*' || c == '(' || c == ')' ||
	    c == '\\';
}

/* The escaped text is safe, and decodes back to in. */
static void
check_escaped(const char *e, size_t elen, const uint8_t *in, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; i < elen; i++) {
		unsigned char c = (unsigned char)e[i];
		int hi, lo;

		FUZZ_ASSERT(c >= 0x20 && c < 0x7f);
		FUZZ_ASSERT(c != '*' && c != '(' && c != ')');
		FUZZ_ASSERT(j < len);
		if (c != '\\') {
			FUZZ_ASSERT(in[j] == c);
			j++;
			continue;
		}
		FUZZ_ASSERT(elen - i >= 3);
		hi = fuzz_hexval((unsigned char)e[i + 1]);
		lo = fuzz_hexval((unsigned char)e[i + 2]);
		FUZZ_ASSERT(hi >= 0 && lo >= 0);
		FUZZ_ASSERT(in[j] == (hi << 4 | lo));
		/* Only what has to be escaped is: no needless growth. */
		FUZZ_ASSERT(needs_escape(in[j]));
		j++;
		i += 2;
	}
	FUZZ_ASSERT(j == len);
}

static void
check_bounded(const uint8_t *in, size_t len, size_t outsz,
    const struct buf *want)
{
	char *out = outsz > 0 ? malloc(outsz) : NULL;
	ssize_t r;

	if (outsz > 0) {
		FUZZ_ASSERT(out != NULL);
		memset(out, 'Z', outsz);
	}
	r = ldapesc_filter(out, outsz, (const char *)in, len);
	if (want->len + 1 <= outsz) {
		FUZZ_ASSERT(r >= 0 && (size_t)r == want->len);
		FUZZ_ASSERT(fuzz_memeq(out, want->p, want->len));
		FUZZ_ASSERT(out[r] == '\0');
	} else {
		FUZZ_ASSERT(r == -1);
		FUZZ_ASSERT(outsz == 0 || out[0] == '\0');
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b = BUF_INIT;
	size_t need = 0, sizes[6];

	for (size_t i = 0; i < size; i++)
		need += needs_escape(data[i]) ? 3 : 1;

	/* Appending after what is already there, as filters are built. */
	buf_puts(&b, "(mail=");
	ldapesc_filter_buf(&b, (const char *)data, size);
	FUZZ_ASSERT(b.p != NULL && b.p[b.len] == '\0');
	FUZZ_ASSERT(memcmp(b.p, "(mail=", 6) == 0);
	FUZZ_ASSERT(b.len == 6 + need);
	check_escaped(b.p + 6, b.len - 6, data, size);
	buf_consume(&b, 6);
	FUZZ_ASSERT(b.len == need);

	sizes[0] = 0;
	sizes[1] = 1;
	sizes[2] = need;
	sizes[3] = need + 1;
	sizes[4] = need > 0 ? need - 1 : 2;
	sizes[5] = size >= 2 ? ((size_t)data[0] << 8 | data[1]) % 8192 : 3;
	for (size_t k = 0; k < 6; k++)
		check_bounded(data, size, sizes[k], &b);
	/* NULL out is refused, whatever the size claims. */
	FUZZ_ASSERT(ldapesc_filter(NULL, 100, (const char *)data, size) == -1);
	buf_free(&b);
	return 0;
}
