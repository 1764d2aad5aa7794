/*
 * fuzz_netstring: lookupd/netstring.c, the framing of every socketmap
 * request.
 *
 * For each of several limits (0, 1, 9, 10, 100, 512, the default
 * max_request_size, the largest configurable one, 100000 and SIZE_MAX)
 * the decoder's verdict on the input must equal that of an independent
 * reference written here from the netstring definition and the rules of
 * netstring.c's top comment; an NS_OK answer must point inside the input
 * and re-encode to exactly the bytes consumed.  The input is also read
 * as a stream (decode, drop what was consumed, again), as the server
 * does with pipelined requests.  Then the input itself is used as a
 * payload: encode -> decode gives it back with the exact limit, is
 * NS_TOO_LONG one byte under it, and every strict prefix of the encoding
 * is NS_MORE.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "lookupd/netstring.h"
#include "tests/fuzz/fuzz.h"

/* As netstring.c: at most 7 digits are read, whatever the limit. */
#define REF_DIGITS_MAX 7

static const size_t limits[] = {
	0, 1, 9, 10, 100, 512, 16384, 1000000, 100000, (size_t)-1
};

/*
 * The reference: the prefix is 1..7 ASCII digits without a leading zero
 * (except "0" itself), then ':', n bytes, ','.  A prefix proven above
 * max by the digits seen so far (or an 8th digit) is NS_TOO_LONG even
 * if what follows is garbage: that is how a 200 kB announcement is
 * refused before its payload arrives.  Anything that could still become
 * a valid netstring with more bytes is NS_MORE.
 */
static enum ns_status
ref_decode(const unsigned char *in, size_t len, size_t max, size_t *plen,
    size_t *consumed)
{
	size_t nd = 0;
	unsigned long long n = 0;

	for (;;) {
		if (nd == len)
			return NS_MORE;
		if (in[nd] < '0' || in[nd] > '9')
			break;
		if (nd >= 1 && in[0] == '0')
			return NS_BAD;
		if (nd == REF_DIGITS_MAX)
			return NS_TOO_LONG;
		n = n * 10 + (unsigned long long)(in[nd] - '0');
		nd++;
		if (n > (unsigned long long)max)
			return NS_TOO_LONG;
	}
	if (nd == 0 || in[nd] != ':')
		return NS_BAD;
	/* Total length: nd digits, ':', n bytes, ','. */
	if ((unsigned long long)len < nd + 1 + n + 1)
		return NS_MORE;
	if (in[nd + 1 + n] != ',')
		return NS_BAD;
	*plen = (size_t)n;
	*consumed = nd + 1 + (size_t)n + 1;
	return NS_OK;
}

static void
check_one(const uint8_t *data, size_t size, size_t max)
{
	const char *in = (const char *)data;
	const char *payload = NULL;
	size_t plen = 0, consumed = 0, rplen = 0, rconsumed = 0;
	enum ns_status st, ref;

	st = netstring_decode(in, size, max, &payload, &plen, &consumed);
	ref = ref_decode(data, size, max, &rplen, &rconsumed);
	FUZZ_ASSERT(st == ref);
	if (st != NS_OK)
		return;
	FUZZ_ASSERT(plen == rplen && consumed == rconsumed);
	FUZZ_ASSERT(plen <= max);
	FUZZ_ASSERT(consumed <= size);
	FUZZ_ASSERT(payload >= in && payload + plen < in + consumed);
	FUZZ_ASSERT(in[consumed - 1] == ',');
	/* What was consumed is exactly the canonical encoding. */
	{
		struct buf b = BUF_INIT;

		netstring_encode(&b, payload, plen);
		FUZZ_ASSERT(b.len == consumed);
		FUZZ_ASSERT(memcmp(b.p, in, consumed) == 0);
		buf_free(&b);
	}
}

/* The server's loop: decode, drop, decode again, until not NS_OK. */
static void
check_stream(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t pos = 0, rounds = 0;

	for (;;) {
		const char *payload;
		size_t plen, consumed;
		enum ns_status st;

		st = netstring_decode(in + pos, size - pos, 16384, &payload,
		    &plen, &consumed);
		if (st != NS_OK)
			break;
		FUZZ_ASSERT(consumed > 0 && consumed <= size - pos);
		pos += consumed;
		FUZZ_ASSERT(++rounds <= size);
	}
}

static void
check_roundtrip(const uint8_t *data, size_t size)
{
	struct buf b = BUF_INIT;
	const char *payload = NULL;
	size_t plen = 0, consumed = 0;
	enum ns_status st;

	netstring_encode(&b, (const char *)data, size);
	/* The exact limit and anything above it: the payload comes back. */
	st = netstring_decode(b.p, b.len, size, &payload, &plen, &consumed);
	FUZZ_ASSERT(st == NS_OK);
	FUZZ_ASSERT(plen == size && consumed == b.len);
	FUZZ_ASSERT(payload == b.p + (b.len - size - 1));
	FUZZ_ASSERT(fuzz_memeq(payload, data, size));
	st = netstring_decode(b.p, b.len, (size_t)-1, &payload, &plen,
	    &consumed);
	FUZZ_ASSERT(st == NS_OK && plen == size && consumed == b.len);
	/* One byte under the limit: refused. */
	if (size > 0) {
		st = netstring_decode(b.p, b.len, size - 1, &payload, &plen,
		    &consumed);
		FUZZ_ASSERT(st == NS_TOO_LONG);
	}
	/* Every strict prefix asks for more, never for a verdict. */
	for (size_t k = 0; k < b.len; k++) {
		st = netstring_decode(b.p, k, size, &payload, &plen,
		    &consumed);
		FUZZ_ASSERT(st == NS_MORE);
	}
	/* Two in a row: the first comes back alone. */
	netstring_encode(&b, "x", 1);
	st = netstring_decode(b.p, b.len, size, &payload, &plen, &consumed);
	FUZZ_ASSERT(st == NS_OK && plen == size && consumed < b.len);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		check_one(data, size, limits[i]);
	/* A limit taken from the input, for the boundaries near n. */
	if (size >= 2)
		check_one(data + 2, size - 2,
		    (size_t)data[0] << 8 | (size_t)data[1]);
	check_stream(data, size);
	check_roundtrip(data, size);
	return 0;
}
