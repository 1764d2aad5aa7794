/*
 * fuzz_pctexpand: common/pctexpand.c, Postfix's '%' templates.  The
 * input is TEMPLATE NUL KEY NUL VALUE.  For any input:
 *   - pct_parse refuses exactly the templates a reference scan finds a
 *     '%' in that is not followed by one of % s u d S U D 1-9;
 *   - "%s" quoted for a filter holds no raw * ( ) and every '\' starts
 *     \HH; decoding gives the key back; for a DN no raw special;
 *   - a query is suppressed exactly as db_common's rules say (reference
 *     written here from ldap_table(5): %d needs a non-empty domain, %u
 *     a non-empty local part when there is an '@', %N N labels);
 *   - a result expansion of "%s" is the value itself, or suppressed
 *     when the value is empty.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/pctexpand.h"
#include "tests/fuzz/fuzz.h"

static int
ref_bad_template(const char *t)
{
	for (const char *c = t; *c; c++) {
		if (*c != '%')
			continue;
		c++;
		if (*c == '\0' || strchr("%sudSUD123456789", *c) == NULL)
			return 1;
	}
	return 0;
}

static size_t
labels(const char *d)
{
	size_t n = 0;

	for (const char *c = d; *c; c++)
		if (*c != '.' && (c == d || c[-1] == '.'))
			n++;
	return n;
}

static void
check_filter_quoted(const char *q, size_t n, const char *key)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		FUZZ_ASSERT(q[i] != '*' && q[i] != '(' && q[i] != ')');
		if (q[i] != '\\') {
			FUZZ_ASSERT(key[j] == q[i]);
			j++;
			continue;
		}
		FUZZ_ASSERT(n - i >= 3);
		hi = fuzz_hexval((unsigned char)q[i + 1]);
		lo = fuzz_hexval((unsigned char)q[i + 2]);
		FUZZ_ASSERT(hi >= 0 && lo >= 0);
		FUZZ_ASSERT((unsigned char)key[j] == (hi << 4 | lo));
		j++;
		i += 2;
	}
	FUZZ_ASSERT(key[j] == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 3);
	const char *tmpl, *key, *val;
	struct pct_ctx ctx = { 0, 0 };
	struct buf out = BUF_INIT;
	char err[256];
	int r, want;
	const char *at;

	FUZZ_ASSERT(in != NULL);
	memcpy(in, data, size);
	in[size] = in[size + 1] = in[size + 2] = '\0';
	tmpl = in;
	key = tmpl + strlen(tmpl) + 1;
	val = key < in + size ? key + strlen(key) + 1 : in + size + 2;
	if (key > in + size)
		key = in + size + 1;

	r = pct_parse(&ctx, tmpl, 1, err, sizeof(err));
	FUZZ_ASSERT((r < 0) == ref_bad_template(tmpl));
	if (r >= 0) {
		/* the reference for suppression */
		at = strrchr(key, '@');
		want = *key != '\0';
		if ((ctx.flags & PCT_KEY_DOMAIN) && (!at || !at[1]))
			want = 0;
		if ((ctx.flags & PCT_KEY_USER) && at == key)
			want = 0;
		if (want && ctx.nparts > 0 &&
		    labels(at + 1) < (size_t)ctx.nparts)
			want = 0;
		FUZZ_ASSERT(pct_expand(&ctx, tmpl, key, NULL, &out,
		    PCT_QUOTE_FILTER) == want);
		FUZZ_ASSERT(want || out.len == 0);
		buf_reset(&out);
		FUZZ_ASSERT(pct_expand(&ctx, tmpl, key, NULL, &out,
		    PCT_QUOTE_DN) == want);
		buf_reset(&out);
		FUZZ_ASSERT(pct_expand(&ctx, tmpl, val, key, &out,
		    PCT_QUOTE_NONE) >= 0);
		buf_reset(&out);
	}
	/* "%s" alone: quoting exactly */
	ctx.flags = 0;
	ctx.nparts = 0;
	FUZZ_ASSERT(pct_parse(&ctx, "%s", 1, err, sizeof(err)) == 1);
	r = pct_expand(&ctx, "%s", key, NULL, &out, PCT_QUOTE_FILTER);
	FUZZ_ASSERT(r == (*key != '\0'));
	if (r)
		check_filter_quoted(out.p, out.len, key);
	buf_reset(&out);
	if (pct_expand(&ctx, "%s", key, NULL, &out, PCT_QUOTE_DN)) {
		for (size_t i = 0; i < out.len; i++) {
			FUZZ_ASSERT(strchr(" \t\"#+,;<>", out.p[i]) == NULL);
			if (out.p[i] == '\\')
				FUZZ_ASSERT(out.len - i >= 3 &&
				    fuzz_hexval((unsigned char)out.p[i + 1])
				    >= 0 && fuzz_hexval(
				    (unsigned char)out.p[i + 2]) >= 0);
		}
	}
	buf_reset(&out);
	r = pct_expand(&ctx, "%s", val, key, &out, PCT_QUOTE_NONE);
	FUZZ_ASSERT(r == (*val != '\0'));
	FUZZ_ASSERT(!r || strcmp(buf_str(&out), val) == 0);
	buf_free(&out);
	free(in);
	return 0;
}
