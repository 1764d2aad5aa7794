/*
 * matchrule: equality matching rules and filter evaluation (see
 * matchrule.h).  Strings are prepared as RFC 4518 says for the part
 * that is decidable without Unicode tables: ASCII control characters
 * mapped (TAB LF VT FF CR to space, the others to nothing), case folded
 * for the caseIgnore rules, insignificant spaces removed (leading and
 * trailing dropped, inner runs made one).  Any byte >= 0x80 would need
 * NFKC and Unicode case folding: equal bytes still match (the same
 * input prepares to the same output), anything else is MR_CANNOT.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/filter.h"
#include "common/matchrule.h"

enum rule {
	R_UNKNOWN, R_CASE_IGNORE, R_CASE_EXACT, R_IA5_IGNORE, R_IA5_EXACT,
	R_OCTET, R_INTEGER, R_BOOLEAN, R_DN, R_NUMERIC, R_TELEPHONE, R_OID
};

static const struct {
	const char *name, *oid;
	enum rule r;
} rules[] = {
	{ "caseIgnoreMatch", "2.5.13.2", R_CASE_IGNORE },
	{ "caseExactMatch", "2.5.13.5", R_CASE_EXACT },
	{ "caseIgnoreIA5Match", "1.3.6.1.4.1.1466.109.114.2", R_IA5_IGNORE },
	{ "caseExactIA5Match", "1.3.6.1.4.1.1466.109.114.1", R_IA5_EXACT },
	{ "octetStringMatch", "2.5.13.17", R_OCTET },
	{ "integerMatch", "2.5.13.14", R_INTEGER },
	{ "booleanMatch", "2.5.13.13", R_BOOLEAN },
	{ "distinguishedNameMatch", "2.5.13.1", R_DN },
	{ "numericStringMatch", "2.5.13.8", R_NUMERIC },
	{ "telephoneNumberMatch", "2.5.13.20", R_TELEPHONE },
	{ "objectIdentifierMatch", "2.5.13.0", R_OID },
};

/* The last few names asked and their rules, for each thread: a
 * snapshot evaluates filters for 100,000s of keys with the same two or
 * three rules, and the table's scan was a tenth of its answer time. */
#define SEEN	4
static __thread struct {
	char name[48];
	enum rule r;
} seen[SEEN];
static __thread unsigned seen_next;

static enum rule
rule_of(const char *name)
{
	enum rule r = R_UNKNOWN;
	size_t len;

	if (name == NULL)
		return R_UNKNOWN;
	for (size_t i = 0; i < SEEN; i++)
		if (seen[i].name[0] != '\0' && strcmp(name, seen[i].name) == 0)
			return seen[i].r;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcasecmp(name, rules[i].name) == 0 ||
		    strcmp(name, rules[i].oid) == 0) {
			r = rules[i].r;
			break;
		}
	len = strlen(name);
	if (len > 0 && len < sizeof(seen[0].name)) {
		memcpy(seen[seen_next].name, name, len + 1);
		seen[seen_next].r = r;
		seen_next = (seen_next + 1) % SEEN;
	}
	return r;
}

int
mr_known(const char *rule)
{
	return rule_of(rule) != R_UNKNOWN;
}

static int
has_high(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* RFC 4518 on ASCII: map, fold, insignificant spaces (drop is the set
 * of extra characters that are insignificant, e.g. "-" for telephone
 * numbers; all_space: every space is insignificant). */
static void
prep(const char *s, size_t n, int fold, const char *drop, int all_space,
    struct buf *out)
{
	int pending = 0;

	buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c >= 0x09 && c <= 0x0d)
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			continue;
		if (drop && strchr(drop, c) != NULL)
			continue;
		if (c == ' ') {
			pending = !all_space && out->len > 0;
			continue;
		}
		if (pending)
			buf_putc(out, ' ');
		pending = 0;
		buf_putc(out, fold ? lower(c) : c);
	}
	buf_reserve(out, 0);
}

/* No space, control or DEL (what prep() maps or drops) in s. */
static int
plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static enum mr_result
string_equal(const char *a, size_t an, const char *v, size_t vn, int fold,
    const char *drop, int all_space)
{
	struct buf pa = BUF_INIT, pv = BUF_INIT;
	enum mr_result r;

	if (an == vn && memcmp(a, v, an) == 0)
		return MR_TRUE;
	if (has_high(a, an) || has_high(v, vn))
		return MR_CANNOT;
	if (drop == NULL && plain(a, an) && plain(v, vn)) {
		/* nothing for prep() to map or drop: it only folds */
		if (an != vn)
			return MR_FALSE;
		for (size_t i = 0; i < an; i++)
			if (fold ? lower((unsigned char)a[i]) !=
			    lower((unsigned char)v[i]) : a[i] != v[i])
				return MR_FALSE;
		return MR_TRUE;
	}
	prep(a, an, fold, drop, all_space, &pa);
	prep(v, vn, fold, drop, all_space, &pv);
	r = pa.len == pv.len && memcmp(pa.p, pv.p, pa.len) == 0 ?
	    MR_TRUE : MR_FALSE;
	buf_free(&pa);
	buf_free(&pv);
	return r;
}

/* An INTEGER's canonical text ("-0" and leading zeros gone), or -1. */
static int
integer_norm(const char *s, size_t n, struct buf *out)
{
	size_t i = 0;
	int neg = 0;

	buf_reset(out);
	if (i < n && s[i] == '-') {
		neg = 1;
		i++;
	}
	if (i == n)
		return -1;
	for (size_t k = i; k < n; k++)
		if (s[k] < '0' || s[k] > '9')
			return -1;
	while (i + 1 < n && s[i] == '0')
		i++;
	if (neg && !(n - i == 1 && s[i] == '0'))
		buf_putc(out, '-');
	buf_append(out, s + i, n - i);
	return 0;
}

static int
is_numeric_string(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= '0' && s[i] <= '9') && s[i] != ' ')
			return 0;
	return 1;
}

static int
is_descr(const char *s, size_t n)
{
	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') ||
	    (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-'))
			return 0;
	return 1;
}

static int
is_numericoid(const char *s, size_t n)
{
	int dots = 0;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i - 1] == '.')
				return 0;
			dots++;
		} else if (s[i] < '0' || s[i] > '9') {
			return 0;
		}
	}
	return dots > 0;
}

/* One AVA of a DN: type and decoded value. */
struct ava {
	char *type;
	struct buf val;
};

static void
avas_free(struct ava *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].type);
		buf_free(&v[i].val);
	}
	free(v);
}

static int
hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 4514 string DN into AVAs, separators ('+' or ',') in seps (1 for
 * a '+' after the AVA).  -1: not a DN (or a form this code does not
 * read: #hex values, quotes). */
static int
dn_parse(const char *s, size_t n, struct ava **out, int **plus, size_t *na)
{
	size_t i = 0;

	*out = NULL;
	*plus = NULL;
	*na = 0;
	while (i < n && s[i] == ' ')
		i++;
	if (i == n)
		return 0;	/* the empty DN */
	for (;;) {
		struct ava a;
		size_t t0, t1, lastsig;

		while (i < n && s[i] == ' ')
			i++;
		t0 = i;
		while (i < n && s[i] != '=' && s[i] != ' ')
			i++;
		t1 = i;
		while (i < n && s[i] == ' ')
			i++;
		if (i == n || s[i] != '=' || t1 == t0 ||
		    !(is_descr(s + t0, t1 - t0) ||
		    is_numericoid(s + t0, t1 - t0)))
			return -1;
		i++;
		while (i < n && s[i] == ' ')
			i++;
		if (i < n && (s[i] == '#' || s[i] == '"'))
			return -1;
		a.type = xstrndup(s + t0, t1 - t0);
		a.val = (struct buf)BUF_INIT;
		lastsig = 0;
		while (i < n && s[i] != ',' && s[i] != '+' && s[i] != ';') {
			if (s[i] == '\\') {
				int h, l;

				if (i + 1 >= n)
					goto bad;
				if (i + 2 < n && (h = hexv(s[i + 1])) >= 0 &&
				    (l = hexv(s[i + 2])) >= 0) {
					buf_putc(&a.val, h << 4 | l);
					i += 3;
				} else if (strchr(" \"#+,;<=>\\", s[i + 1])) {
					buf_putc(&a.val, s[i + 1]);
					i += 2;
				} else {
					goto bad;
				}
				lastsig = a.val.len;
				continue;
			}
			if (s[i] == '"' || s[i] == '<' || s[i] == '>' ||
			    s[i] == '=' || s[i] == 0)
				goto bad;
			buf_putc(&a.val, s[i]);
			if (s[i] != ' ')
				lastsig = a.val.len;
			i++;
		}
		/* unescaped trailing spaces are not part of the value */
		a.val.len = lastsig;
		buf_reserve(&a.val, 0);
		*out = xreallocarray(*out, *na + 1, sizeof(**out));
		*plus = xreallocarray(*plus, *na + 1, sizeof(**plus));
		(*out)[*na] = a;
		(*plus)[*na] = i < n && s[i] == '+';
		(*na)++;
		if (i == n)
			return 0;
		i++;
		continue;
bad:
		free(a.type);
		buf_free(&a.val);
		return -1;
	}
}

/* The equality rule of a naming attribute, for the few every directory
 * names entries with; others are compared byte for byte or MR_CANNOT. */
static enum rule
naming_rule(const char *type)
{
	static const char *const ci[] = { "cn", "commonName", "ou",
	    "organizationalUnitName", "o", "organizationName", "c",
	    "countryName", "l", "localityName", "st", "stateOrProvinceName",
	    "street", "uid", "userid", "sn", "surname", "givenName", "dc",
	    "domainComponent", "mail", "rfc822Mailbox", "associatedDomain",
	    NULL };

	for (size_t i = 0; ci[i]; i++)
		if (strcasecmp(ci[i], type) == 0)
			return strcasecmp(type, "dc") == 0 ||
			    strcasecmp(type, "domainComponent") == 0 ||
			    strcasecmp(type, "mail") == 0 ||
			    strcasecmp(type, "rfc822Mailbox") == 0 ||
			    strcasecmp(type, "associatedDomain") == 0 ?
			    R_IA5_IGNORE : R_CASE_IGNORE;
	return R_UNKNOWN;
}

static const char *const aliases[][2] = {
	{ "cn", "commonName" }, { "ou", "organizationalUnitName" },
	{ "o", "organizationName" }, { "c", "countryName" },
	{ "l", "localityName" }, { "st", "stateOrProvinceName" },
	{ "uid", "userid" }, { "sn", "surname" },
	{ "dc", "domainComponent" }, { "mail", "rfc822Mailbox" },
};

static const char *
canon_type(const char *t)
{
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(t, aliases[i][1]) == 0)
			return aliases[i][0];
	return t;
}

static enum mr_result
dn_equal(const char *a, size_t an, const char *v, size_t vn)
{
	struct ava *aa, *va;
	int *ap, *vp;
	size_t na, nv;
	enum mr_result r = MR_TRUE;

	if (an == vn && memcmp(a, v, an) == 0)
		return MR_TRUE;
	if (dn_parse(a, an, &aa, &ap, &na) < 0) {
		avas_free(aa, na);
		free(ap);
		return MR_UNDEFINED;
	}
	if (dn_parse(v, vn, &va, &vp, &nv) < 0) {
		avas_free(aa, na);
		free(ap);
		avas_free(va, nv);
		free(vp);
		return MR_CANNOT;
	}
	if (na != nv)
		r = MR_FALSE;
	for (size_t i = 0; r != MR_FALSE && i < na; i++) {
		enum mr_result x;
		enum rule nr;

		if (ap[i] != vp[i]) {
			r = MR_FALSE;	/* different RDN structure */
			break;
		}
		if (ap[i] || (i > 0 && ap[i - 1])) {
			/* a multi-valued RDN: order does not matter there;
			 * equal in this order is equal, otherwise unsure */
			if (strcasecmp(canon_type(aa[i].type),
			    canon_type(va[i].type)) != 0) {
				r = MR_CANNOT;
				continue;
			}
		} else if (strcasecmp(canon_type(aa[i].type),
		    canon_type(va[i].type)) != 0) {
			if (is_numericoid(aa[i].type, strlen(aa[i].type)) !=
			    is_numericoid(va[i].type, strlen(va[i].type)))
				r = MR_CANNOT;	/* an OID vs a name */
			else
				r = MR_FALSE;
			continue;
		}
		nr = naming_rule(aa[i].type);
		if (nr == R_UNKNOWN)
			x = aa[i].val.len == va[i].val.len &&
			    memcmp(buf_str(&aa[i].val), buf_str(&va[i].val),
			    aa[i].val.len) == 0 ? MR_TRUE : MR_CANNOT;
		else
			x = string_equal(buf_str(&aa[i].val), aa[i].val.len,
			    buf_str(&va[i].val), va[i].val.len, 1, NULL, 0);
		if (x == MR_FALSE && (ap[i] || (i > 0 && ap[i - 1])))
			x = MR_CANNOT;
		if (x == MR_FALSE)
			r = MR_FALSE;
		else if (x != MR_TRUE && r == MR_TRUE)
			r = x;
	}
	avas_free(aa, na);
	free(ap);
	avas_free(va, nv);
	free(vp);
	return r;
}

enum mr_result
mr_equal(const char *rule, const char *a, size_t alen, const char *v,
    size_t vlen)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	enum mr_result r;

	switch (rule_of(rule)) {
	case R_CASE_IGNORE:
		return string_equal(a, alen, v, vlen, 1, NULL, 0);
	case R_CASE_EXACT:
		return string_equal(a, alen, v, vlen, 0, NULL, 0);
	case R_IA5_IGNORE:
	case R_IA5_EXACT:
		if (has_high(a, alen))
			return MR_UNDEFINED;
		return string_equal(a, alen, v, vlen,
		    rule_of(rule) == R_IA5_IGNORE, NULL, 0);
	case R_OCTET:
		return alen == vlen && memcmp(a, v, alen) == 0 ? MR_TRUE :
		    MR_FALSE;
	case R_INTEGER:
		if (integer_norm(a, alen, &x) < 0) {
			buf_free(&x);
			return MR_UNDEFINED;
		}
		if (integer_norm(v, vlen, &y) < 0)
			r = MR_CANNOT;
		else
			r = x.len == y.len && memcmp(x.p, y.p, x.len) == 0 ?
			    MR_TRUE : MR_FALSE;
		buf_free(&x);
		buf_free(&y);
		return r;
	case R_BOOLEAN:
		if (!(alen == 4 && memcmp(a, "TRUE", 4) == 0) &&
		    !(alen == 5 && memcmp(a, "FALSE", 5) == 0))
			return MR_UNDEFINED;
		return alen == vlen && memcmp(a, v, alen) == 0 ? MR_TRUE :
		    MR_FALSE;
	case R_NUMERIC:
		if (!is_numeric_string(a, alen))
			return MR_UNDEFINED;
		return string_equal(a, alen, v, vlen, 0, NULL, 1);
	case R_TELEPHONE:
		return string_equal(a, alen, v, vlen, 1, "-", 1);
	case R_OID:
		if (is_descr(a, alen) && is_descr(v, vlen))
			return alen == vlen && strncasecmp(a, v, alen) == 0 ?
			    MR_TRUE : MR_FALSE;
		if (is_numericoid(a, alen) && is_numericoid(v, vlen))
			return alen == vlen && memcmp(a, v, alen) == 0 ?
			    MR_TRUE : MR_FALSE;
		if (!is_descr(a, alen) && !is_numericoid(a, alen))
			return MR_UNDEFINED;
		return MR_CANNOT;
	case R_DN:
		return dn_equal(a, alen, v, vlen);
	case R_UNKNOWN:
		break;
	}
	return MR_CANNOT;
}

/* The entry's attribute named like the filter's, or NULL; *cannot set
 * when the filter's description has options (subtypes undecided). */
static const struct mr_attr *
find_attr(const struct mr_entry *e, const char *name, int *cannot)
{
	*cannot = strchr(name, ';') != NULL;
	for (size_t i = 0; i < e->nattrs; i++)
		if (strcasecmp(e->attrs[i].name, name) == 0)
			return &e->attrs[i];
	return NULL;
}

static enum mr_result
eval_eq(const struct filter *f, const struct mr_entry *e)
{
	int cannot;
	const struct mr_attr *a = find_attr(e, f->attr, &cannot);
	enum mr_result worst = MR_FALSE;

	if (cannot)
		return MR_CANNOT;
	if (a == NULL)
		return MR_FALSE;
	if (!mr_known(a->equality))
		return MR_CANNOT;
	for (size_t i = 0; i < a->nvals; i++) {
		enum mr_result r = mr_equal(a->equality, f->value.p,
		    f->value.len, a->vals[i].p, a->vals[i].len);

		if (r == MR_TRUE)
			return MR_TRUE;
		if (r == MR_CANNOT || (r == MR_UNDEFINED && worst == MR_FALSE))
			worst = r;
	}
	/* slapd matches (objectClass=C) on an entry of a subclass of C
	 * too; without the class hierarchy "no value equals C" is not
	 * "FALSE" */
	if (worst == MR_FALSE && strcasecmp(a->name, "objectClass") == 0)
		return MR_CANNOT;
	return worst;
}

enum mr_result
mr_eval(const struct filter *f, const struct mr_entry *e)
{
	enum mr_result r, acc;
	int cannot;

	switch (f->type) {
	case FILTER_AND:
	case FILTER_OR: {
		enum mr_result decide = f->type == FILTER_AND ? MR_FALSE :
		    MR_TRUE;

		acc = f->type == FILTER_AND ? MR_TRUE : MR_FALSE;
		for (size_t i = 0; i < f->nkids; i++) {
			r = mr_eval(f->kids[i], e);
			if (r == decide)
				return decide;
			if (r == MR_CANNOT)
				acc = MR_CANNOT;
			else if (r == MR_UNDEFINED && acc != MR_CANNOT)
				acc = MR_UNDEFINED;
		}
		return acc;
	}
	case FILTER_NOT:
		r = mr_eval(f->kids[0], e);
		return r == MR_TRUE ? MR_FALSE : r == MR_FALSE ? MR_TRUE : r;
	case FILTER_EQ:
		return eval_eq(f, e);
	case FILTER_PRESENT:
		if (find_attr(e, f->attr, &cannot) != NULL)
			return MR_TRUE;
		return cannot ? MR_CANNOT : MR_FALSE;
	case FILTER_SUB:
	case FILTER_GE:
	case FILTER_LE:
	case FILTER_APPROX:
	case FILTER_EXT:
		break;
	}
	return MR_CANNOT;
}

const char *
mr_result_name(enum mr_result r)
{
	switch (r) {
	case MR_FALSE:
		return "FALSE";
	case MR_TRUE:
		return "TRUE";
	case MR_UNDEFINED:
		return "UNDEFINED";
	case MR_CANNOT:
		return "CANNOT";
	}
	return "?";
}

enum mr_keyclass
mr_key_class(const char *rule)
{
	switch (rule_of(rule)) {
	case R_IA5_IGNORE:
	case R_IA5_EXACT:
	case R_OCTET:
		return MR_KEY_ASCII;
	case R_CASE_IGNORE:
	case R_CASE_EXACT:
		return MR_KEY_ASCII_ONLY;
	default:
		return MR_KEY_NO;
	}
}

int
mr_prep_fold(const char *s, size_t n, struct buf *out)
{
	buf_reset(out);
	if (has_high(s, n))
		return -1;
	prep(s, n, 1, NULL, 0, out);
	return 0;
}

int
mr_dn_norm(const char *s, size_t n, struct buf *out)
{
	struct ava *a;
	int *plus;
	size_t na;
	struct buf v = BUF_INIT;
	int rc = 0;

	buf_reset(out);
	if (dn_parse(s, n, &a, &plus, &na) < 0) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < na && rc == 0; i++) {
		const char *type = canon_type(a[i].type);

		if (plus[i] || (i > 0 && plus[i - 1]) ||
		    naming_rule(a[i].type) == R_UNKNOWN ||
		    mr_prep_fold(buf_str(&a[i].val), a[i].val.len, &v) < 0) {
			rc = -1;
			break;
		}
		/* ',' '=' '\\' escaped: one RDN ends at each ',', so a
		 * DN is under another when the other's text ends it at a
		 * ',' */
		for (const char *p = type; *p; p++)
			buf_putc(out, lower((unsigned char)*p));
		buf_putc(out, '=');
		for (size_t k = 0; k < v.len; k++)
			if (strchr(",=\\", v.p[k]))
				buf_printf(out, "\\%02x",
				    (unsigned char)v.p[k]);
			else
				buf_putc(out, v.p[k]);
		buf_putc(out, ',');
	}
out:
	if (rc < 0)
		buf_reset(out);
	buf_reserve(out, 0);
	avas_free(a, na);
	free(plus);
	buf_free(&v);
	return rc;
}
