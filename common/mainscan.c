/*
 * mainscan: Postfix's main.cf, read as Postfix reads it (see mainscan.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/mainscan.h"

static int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int
is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

static struct mainscan_param *
find(const struct mainscan *ms, const char *name, size_t len)
{
	for (size_t i = 0; i < ms->n; i++)
		if (strlen(ms->p[i].name) == len &&
		    memcmp(ms->p[i].name, name, len) == 0)
			return &ms->p[i];
	return NULL;
}

/* One logical line, continuations joined with ' ': name = value. */
static int
logical(const char *file, struct mainscan *ms, struct buf *l, int line,
    char *err, size_t errsz)
{
	char *s = l->p, *eq, *v, *end;
	size_t nlen;
	struct mainscan_param *p;

	eq = strchr(s, '=');
	if (eq == NULL)
		return log_errf(err, errsz, "%s:%d: missing '=' after "
		    "parameter name", file, line);
	nlen = (size_t)(eq - s);
	while (nlen > 0 && is_blank(s[nlen - 1]))
		nlen--;
	if (nlen == 0)
		return log_errf(err, errsz, "%s:%d: missing parameter name "
		    "before '='", file, line);
	for (size_t i = 0; i < nlen; i++)
		if (is_blank(s[i]))
			return log_errf(err, errsz, "%s:%d: white space in "
			    "parameter name", file, line);
	v = eq + 1;
	while (is_blank(*v))
		v++;
	end = v + strlen(v);
	while (end > v && is_blank(end[-1]))
		end--;
	if ((p = find(ms, s, nlen)) != NULL) {
		free(p->value);
	} else {
		ms->p = xreallocarray(ms->p, ms->n + 1, sizeof(*ms->p));
		p = &ms->p[ms->n++];
		p->name = xstrndup(s, nlen);
	}
	p->value = xstrndup(v, (size_t)(end - v));
	p->line = line;
	return 0;
}

int
mainscan_parse(const char *file, const char *text, size_t len,
    struct mainscan *ms, char *err, size_t errsz)
{
	const char *p = text, *end = text + len;
	struct buf l = BUF_INIT;
	int lineno = 0, first = 0, rc = 0;

	memset(ms, 0, sizeof(*ms));
	if (len > MAINSCAN_MAX_SIZE)
		return log_errf(err, errsz, "%s: more than %u bytes", file,
		    MAINSCAN_MAX_SIZE);
	if (memchr(text, '\0', len) != NULL)
		return log_errf(err, errsz, "%s: a NUL byte: not a main.cf",
		    file);
	while (rc == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *q = p;

		lineno++;
		while (q < le && is_blank(*q))
			q++;
		if (q == le || *q == '#') {
			/* blank or comment: ignored, continuation goes on */
		} else if (q != p) {
			if (l.len > 0) {
				buf_putc(&l, ' ');
				buf_append(&l, q, (size_t)(le - q));
			}
			/* else: continues nothing; Postfix warns, ignores */
		} else {
			if (l.len > 0)
				rc = logical(file, ms, &l, first, err, errsz);
			buf_reset(&l);
			buf_append(&l, p, (size_t)(le - p));
			first = lineno;
		}
		p = nl ? nl + 1 : end;
	}
	if (rc == 0 && l.len > 0)
		rc = logical(file, ms, &l, first, err, errsz);
	buf_free(&l);
	if (rc != 0)
		mainscan_free(ms);
	return rc;
}

const char *
mainscan_get(const struct mainscan *ms, const char *name)
{
	const struct mainscan_param *p = find(ms, name, strlen(name));

	return p ? p->value : NULL;
}

struct xp {
	const struct mainscan *ms;
	char *err;
	size_t errsz;
	int failed;
	unsigned long steps;	/* names expanded so far */
};

static void expand_into(struct xp *x, const char *s, size_t len,
    int depth, struct buf *out);

/* The end of a ${...} or $(...) group starting after open: the matching
 * close, or NULL. */
static const char *
group_end(const char *s, const char *end, char open, char close)
{
	int level = 1;

	for (; s < end; s++) {
		if (*s == open)
			level++;
		else if (*s == close && --level == 0)
			return s;
	}
	return NULL;
}

static void
too_long(struct xp *x, struct buf *out)
{
	if (!x->failed && out->len > MAINSCAN_MAX_VALUE) {
		x->failed = 1;
		log_errf(x->err, x->errsz, "a value longer than %u bytes once "
		    "expanded", MAINSCAN_MAX_VALUE);
	}
}

/* $name: the parameter's own value, expanded in turn. */
static void
expand_name(struct xp *x, const char *name, size_t nlen, int depth,
    struct buf *out)
{
	const struct mainscan_param *p = find(x->ms, name, nlen);

	if (p == NULL || x->failed)
		return;
	if (++x->steps > MAINSCAN_MAX_STEPS) {
		log_errf(x->err, x->errsz, "more than %u names expanded in "
		    "one value", MAINSCAN_MAX_STEPS);
		x->failed = 1;
		return;
	}
	if (depth >= MAINSCAN_MAX_DEPTH) {
		if (!x->failed)
			log_errf(x->err, x->errsz, "$%.*s: expansion nested "
			    "more than %d deep (a loop?)", (int)(nlen > 64 ?
			    64 : nlen), name, MAINSCAN_MAX_DEPTH);
		x->failed = 1;
		return;
	}
	expand_into(x, p->value, strlen(p->value), depth + 1, out);
}

/* The value of name (expanded) is it set and not empty? */
static int
is_set(struct xp *x, const char *name, size_t nlen, int depth)
{
	struct buf v = BUF_INIT;
	int set;

	expand_name(x, name, nlen, depth, &v);
	set = v.len > 0;
	buf_free(&v);
	return set;
}

static void
expand_into(struct xp *x, const char *s, size_t len, int depth,
    struct buf *out)
{
	const char *end = s + len;

	while (s < end && !x->failed) {
		const char *d = memchr(s, '$', (size_t)(end - s));
		const char *n, *ge;
		char open, close;

		if (d == NULL) {
			buf_append(out, s, (size_t)(end - s));
			break;
		}
		buf_append(out, s, (size_t)(d - s));
		s = d + 1;
		if (s < end && *s == '$') {
			buf_putc(out, '$');
			s++;
			continue;
		}
		if (s < end && is_name_char(*s)) {
			for (n = s; n < end && is_name_char(*n); n++)
				;
			expand_name(x, s, (size_t)(n - s), depth, out);
			s = n;
			too_long(x, out);
			continue;
		}
		if (s >= end || (*s != '{' && *s != '(')) {
			buf_putc(out, '$');	/* Postfix: an error; kept */
			continue;
		}
		open = *s;
		close = open == '{' ? '}' : ')';
		ge = group_end(s + 1, end, open, close);
		for (n = s + 1; n < end && is_name_char(*n); n++)
			;
		if (ge == NULL || n == s + 1) {
			buf_putc(out, '$');
			continue;
		}
		if (n == ge) {
			expand_name(x, s + 1, (size_t)(n - s - 1), depth, out);
		} else if (*n == '?' || *n == ':') {
			int set = is_set(x, s + 1, (size_t)(n - s - 1), depth);
			const char *t = n + 1;
			size_t tlen = (size_t)(ge - t);

			/* ${name?{text}}: the braces are not part of it */
			if (tlen >= 2 && t[0] == '{' && t[tlen - 1] == '}') {
				t++;
				tlen -= 2;
			}
			if ((*n == '?') == (set != 0))
				expand_into(x, t, tlen, depth + 1, out);
		} else {
			/* a form this reader does not know: kept as written */
			buf_append(out, s - 1, (size_t)(ge + 1 - (s - 1)));
		}
		s = ge + 1;
		too_long(x, out);
	}
}

char *
mainscan_expand(const struct mainscan *ms, const char *value, char *err,
    size_t errsz)
{
	struct xp x = { ms, err, errsz, 0, 0 };
	struct buf out = BUF_INIT;

	expand_into(&x, value, strlen(value), 0, &out);
	if (x.failed) {
		buf_free(&out);
		return NULL;
	}
	return out.p ? out.p : xstrdup("");
}

void
mainscan_items(const char *value, char ***v, size_t *n)
{
	const char *s = value;

	*v = NULL;
	*n = 0;
	while (*s) {
		const char *b;
		int level = 0;

		while (*s == ',' || is_blank(*s) || *s == '\n')
			s++;
		if (*s == '\0')
			break;
		for (b = s; *s; s++) {
			if (*s == '{')
				level++;
			else if (*s == '}' && level > 0)
				level--;
			else if (level == 0 && (*s == ',' || is_blank(*s) ||
			    *s == '\n'))
				break;
		}
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		(*v)[(*n)++] = xstrndup(b, (size_t)(s - b));
	}
}

void
mainscan_items_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
mainscan_ldap_ref(const char *item, const char **table)
{
	if (strncmp(item, "proxy:", 6) == 0)
		item += 6;	/* proxymap(8) in front: the same table */
	if (strncmp(item, "ldap:", 5) != 0 || item[5] == '\0' ||
	    item[5] == '{' || strncmp(item, "ldap://", 7) == 0)
		return 0;
	*table = item + 5;
	return 1;
}

int
mainscan_ldap_is_params(const char *table)
{
	return table[0] != '/' && table[0] != '.';
}

void
mainscan_free(struct mainscan *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		free(ms->p[i].name);
		free(ms->p[i].value);
	}
	free(ms->p);
	memset(ms, 0, sizeof(*ms));
}
