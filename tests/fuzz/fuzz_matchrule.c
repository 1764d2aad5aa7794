/*
 * fuzz_matchrule: common/matchrule.c.  The input is RULE-BYTE A NUL V.
 * For any input and each implemented rule:
 *   - a value compared with itself is TRUE, or UNDEFINED when it is not
 *     a valid assertion of the rule (never FALSE or CANNOT);
 *   - on ASCII input, caseIgnore/caseExact/IA5/numeric/telephone/octet
 *     rules decide (never CANNOT) and agree with a reference written
 *     here (fold, drop controls, strip and squeeze spaces);
 *   - TRUE and FALSE are symmetric when both sides are valid assertions;
 *   - "(attr=A)" evaluated on an entry holding V gives mr_equal(A, V);
 *   - mr_prep_fold(A) is idempotent, caseIgnore-equal to A and a key
 *     tablesnap_key_complete() trusts; mr_dn_norm(A) and mr_dn_norm(V)
 *     are equal exactly when distinguishedNameMatch says A equals V.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/filter.h"
#include "common/ldapesc.h"
#include "common/matchrule.h"
#include "common/tablesnap.h"
#include "tests/fuzz/fuzz.h"

static const char *const rule_names[] = {
	"caseIgnoreMatch", "caseExactMatch", "caseIgnoreIA5Match",
	"caseExactIA5Match", "octetStringMatch", "integerMatch",
	"booleanMatch", "distinguishedNameMatch", "numericStringMatch",
	"telephoneNumberMatch", "objectIdentifierMatch", "unknownMatch",
};
#define NRULES (sizeof(rule_names) / sizeof(rule_names[0]))

static int
ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

/* reference preparation: fold?, drop chars, spaces: 0 squeeze, 1 all */
static void
ref(const char *s, size_t n, int fold, const char *drop, int nospace,
    struct buf *o)
{
	struct buf t = BUF_INIT;
	size_t i = 0, j;

	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];

		if (c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
		    c == '\r')
			c = ' ';
		if (c < 0x20 || c == 0x7f || (drop && c && strchr(drop, c)))
			continue;
		if (nospace && c == ' ')
			continue;
		if (fold && c >= 'A' && c <= 'Z')
			c += 32;
		buf_putc(&t, c);
	}
	buf_reset(o);
	/* strip, squeeze */
	while (i < t.len && t.p[i] == ' ')
		i++;
	j = t.len;
	while (j > i && t.p[j - 1] == ' ')
		j--;
	for (size_t k = i; k < j; k++)
		if (!(t.p[k] == ' ' && k > i && t.p[k - 1] == ' '))
			buf_putc(o, t.p[k]);
	buf_reserve(o, 0);
	buf_free(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *rule, *a, *v, *nul;
	size_t an, vn;
	enum mr_result r, s, self;

	if (size < 1)
		return 0;
	rule = rule_names[data[0] % NRULES];
	a = (const char *)data + 1;
	nul = memchr(a, '\0', size - 1);
	an = nul ? (size_t)(nul - a) : size - 1;
	v = nul ? nul + 1 : a + an;
	vn = nul ? size - 1 - an - 1 : 0;

	r = mr_equal(rule, a, an, v, vn);
	self = mr_equal(rule, a, an, a, an);
	if (!mr_known(rule)) {
		FUZZ_ASSERT(r == MR_CANNOT);
		return 0;
	}
	FUZZ_ASSERT(self == MR_TRUE || self == MR_UNDEFINED);
	s = mr_equal(rule, v, vn, a, an);
	if ((r == MR_TRUE || r == MR_FALSE) && (s == MR_TRUE || s == MR_FALSE))
		FUZZ_ASSERT(r == s);
	if (ascii(a, an) && ascii(v, vn)) {
		int k = data[0] % NRULES, fold = -1, nospace = 0;
		const char *drop = NULL;

		if (k == 0 || k == 2)
			fold = 1;
		else if (k == 1 || k == 3)
			fold = 0;
		else if (k == 8) {
			fold = 0;
			nospace = 1;
		} else if (k == 9) {
			fold = 1;
			nospace = 1;
			drop = "-";
		}
		if (k == 4)
			FUZZ_ASSERT(r == (an == vn && fuzz_memeq(a, v, an) ?
			    MR_TRUE : MR_FALSE));
		if (fold >= 0 && r != MR_UNDEFINED) {
			struct buf x = BUF_INIT, y = BUF_INIT;
			int eq;

			ref(a, an, fold, drop, nospace, &x);
			ref(v, vn, fold, drop, nospace, &y);
			eq = x.len == y.len && fuzz_memeq(x.p, y.p, x.len);
			FUZZ_ASSERT(r == (eq ? MR_TRUE : MR_FALSE));
			buf_free(&x);
			buf_free(&y);
		}
	}
	/* mr_prep_fold: idempotent, equal under caseIgnoreMatch to what it
	 * prepared, and a key tablesnap_key_complete() trusts (a snapshot's
	 * keys are such preparations of values) */
	{
		struct buf p1 = BUF_INIT, p2 = BUF_INIT;

		if (mr_prep_fold(a, an, &p1) == 0) {
			FUZZ_ASSERT(ascii(a, an));
			FUZZ_ASSERT(mr_prep_fold(p1.p ? p1.p : "", p1.len,
			    &p2) == 0 && p1.len == p2.len &&
			    fuzz_memeq(p1.p, p2.p, p1.len));
			FUZZ_ASSERT(mr_equal("caseIgnoreMatch", a, an, p1.p ?
			    p1.p : "", p1.len) == MR_TRUE);
			FUZZ_ASSERT(p1.len == 0 ||
			    tablesnap_key_complete(p1.p, p1.len));
		}
		buf_free(&p1);
		buf_free(&p2);
	}
	/* mr_dn_norm: two DNs it can write have the same text exactly when
	 * distinguishedNameMatch says they are equal */
	{
		struct buf x = BUF_INIT, y = BUF_INIT;

		if (mr_dn_norm(a, an, &x) == 0 && mr_dn_norm(v, vn, &y) == 0)
			FUZZ_ASSERT(mr_equal("distinguishedNameMatch", a, an,
			    v, vn) == (x.len == y.len && fuzz_memeq(x.p, y.p,
			    x.len) ? MR_TRUE : MR_FALSE));
		buf_free(&x);
		buf_free(&y);
	}
	/* the same through a filter on an entry */
	{
		struct buf ft = BUF_INIT;
		struct filter *f;
		char err[128];
		struct mr_value val = { v, vn };
		struct mr_attr at = { "x", rule, &val, 1 };
		struct mr_entry e = { &at, 1 };

		buf_puts(&ft, "(x=");
		ldapesc_filter_buf(&ft, a, an);
		buf_putc(&ft, ')');
		FUZZ_ASSERT(filter_parse(ft.p, ft.len, &f, err, sizeof(err))
		    == 0);
		FUZZ_ASSERT(mr_eval(f, &e) == r);
		filter_free(f);
		buf_free(&ft);
	}
	return 0;
}
