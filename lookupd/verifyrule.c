/*
 * verifyrule: key file lines and answer comparison for `lookupd verify`
 * (see verifyrule.h).  Values are compared by sorting each answer's
 * comma-separated items and dropping repeats: n log n, no allocation
 * beyond two arrays of pointers.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "lookupd/verifyrule.h"

struct item {
	const char *p;
	size_t len;
};

static int
item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n ? memcmp(x->p, y->p, n) : 0;

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* The distinct items of s (len bytes, ","-separated), sorted; *n set. */
static struct item *
items(const char *s, size_t len, size_t *n)
{
	size_t count = 1, k = 0, o = 0;
	struct item *v;
	const char *p = s, *end = s + len;

	for (size_t i = 0; i < len; i++)
		count += s[i] == ',';
	v = xcalloc(count, sizeof(*v));
	for (;;) {
		const char *c = memchr(p, ',', (size_t)(end - p));

		v[k].p = p;
		v[k].len = (size_t)((c ? c : end) - p);
		k++;
		if (c == NULL)
			break;
		p = c + 1;
	}
	qsort(v, k, sizeof(*v), item_cmp);
	for (size_t i = 0; i < k; i++)
		if (o == 0 || item_cmp(&v[o - 1], &v[i]) != 0)
			v[o++] = v[i];
	*n = o;
	return v;
}

int
verify_differs(const struct verify_answer *a, const struct verify_answer *b)
{
	struct item *x, *y;
	size_t nx, ny;
	int differ;

	if (a->kind != b->kind)
		return 1;
	if (a->kind != VERIFY_FOUND)
		return 0;
	if (a->len == b->len && (a->len == 0 ||
	    memcmp(a->val, b->val, a->len) == 0))
		return 0;
	x = items(a->val ? a->val : "", a->len, &nx);
	y = items(b->val ? b->val : "", b->len, &ny);
	differ = nx != ny;
	for (size_t i = 0; !differ && i < nx; i++)
		differ = item_cmp(&x[i], &y[i]) != 0;
	free(x);
	free(y);
	return differ;
}

void
verify_record(const char *key, size_t klen, const char *val, size_t vlen,
    struct verify_answer *a, const char **k, size_t *kl)
{
	int temp = klen > 0 && key[0] == VERIFY_TEMP_MARK;

	a->kind = temp ? VERIFY_ERROR : VERIFY_FOUND;
	a->val = val;
	a->len = vlen;
	*k = key + temp;
	*kl = klen - (size_t)temp;
}

int
verify_key_next(const char *text, size_t len, size_t *pos, size_t *line,
    char *key, size_t keysz, size_t *klen, char *err, size_t errsz)
{
	while (*pos < len) {
		const char *p = text + *pos;
		const char *nl = memchr(p, '\n', len - *pos);
		size_t n = (size_t)((nl ? nl : text + len) - p);

		*pos += n + (nl != NULL);
		(*line)++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		if (n > VERIFY_KEY_MAX || n >= keysz)
			return log_errf(err, errsz, "line %zu: key longer "
			    "than %u bytes", *line, VERIFY_KEY_MAX);
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];

			if (c < 0x20 || c == 0x7f)
				return log_errf(err, errsz, "line %zu: a "
				    "control byte (0x%02x) in the key", *line,
				    c);
			key[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) :
			    (char)c;
		}
		key[n] = '\0';
		*klen = n;
		return 1;
	}
	return 0;
}
