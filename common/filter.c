/*
 * filter: RFC 4515 filters parsed into a tree and printed back.
 *
 * Grammar (RFC 4515 section 3, with RFC 4526's "(&)" and "(|)"):
 *   filter  = "(" comp ")"      comp = and / or / not / item
 *   item    = attr "=" value | attr "=" [ini] *(any "*") [fin]
 *           | attr ">=" v | attr "<=" v | attr "~=" v | attr "=*"
 *           | [attr] [":dn"] [":" rule] ":=" v
 * attr is a descriptor (letter, then letters, digits, '-') or a
 * numeric OID, then options (";opt").  Values escape with \HH only;
 * raw '(' ')' '*' (outside substrings) and NUL are refused, as RFC 4515
 * says.  Spaces are allowed between components, as libldap allows.
 * The printer escapes what must be (NUL * ( ) \\) and control bytes.
 * Pure: bytes in, a tree or an error with the offset out.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/filter.h"
#include "common/hex.h"
#include "common/log.h"

struct fp {
	const char *s;
	size_t len, pos;
	int depth;
	char *err;
	size_t errsz;
	int failed;
};

static int
fail(struct fp *p, const char *what)
{
	if (!p->failed)
		log_errf(p->err, p->errsz, "filter byte %zu: %s", p->pos, what);
	p->failed = 1;
	return -1;
}

static int
at_end(const struct fp *p)
{
	return p->pos >= p->len;
}

static int
peek(const struct fp *p)
{
	return at_end(p) ? -1 : (unsigned char)p->s[p->pos];
}

static void
skip_space(struct fp *p)
{
	while (!at_end(p) && p->s[p->pos] == ' ')
		p->pos++;
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_keychar(int c)
{
	return is_alpha(c) || is_digit(c) || c == '-';
}

static struct filter *
node(enum filter_type t)
{
	struct filter *f = xcalloc(1, sizeof(*f));

	f->type = t;
	return f;
}

/* descr / numericoid: the text from the current position, or NULL. */
static char *
oid_or_descr(struct fp *p)
{
	size_t start = p->pos;

	if (is_alpha(peek(p))) {
		while (is_keychar(peek(p)))
			p->pos++;
	} else if (is_digit(peek(p))) {
		int dots = 0;

		for (;;) {
			if (!is_digit(peek(p)))
				return NULL;
			/* no leading zero in a number of more digits */
			if (peek(p) == '0' && p->pos + 1 < p->len &&
			    is_digit((unsigned char)p->s[p->pos + 1]))
				return NULL;
			while (is_digit(peek(p)))
				p->pos++;
			if (peek(p) != '.')
				break;
			p->pos++;
			dots++;
		}
		if (dots == 0)
			return NULL;	/* a numericoid has a dot */
	} else {
		return NULL;
	}
	return xstrndup(p->s + start, p->pos - start);
}

/* attributedescription = attributetype options */
static char *
attrdesc(struct fp *p)
{
	size_t start = p->pos;
	char *a = oid_or_descr(p);

	if (a == NULL)
		return NULL;
	while (peek(p) == ';') {
		p->pos++;
		if (!is_keychar(peek(p))) {
			free(a);
			return NULL;
		}
		while (is_keychar(peek(p)))
			p->pos++;
	}
	free(a);
	return xstrndup(p->s + start, p->pos - start);
}

/* One assertion value up to a ')' or, when star_ends, a '*'. */
static int
value(struct fp *p, struct filter_val *v, int star_ends)
{
	struct buf b = BUF_INIT;

	for (;;) {
		int c = peek(p);

		if (c < 0)
			break;
		if (c == ')' || (star_ends && c == '*'))
			break;
		if (c == '(' || c == '*' || c == 0) {
			buf_free(&b);
			return fail(p, c == 0 ? "NUL in a value" :
			    c == '(' ? "unescaped '(' in a value" :
			    "unescaped '*' in a value");
		}
		if (c == '\\') {
			int hi, lo;

			if (p->len - p->pos < 3 ||
			    (hi = hex_value((unsigned char)p->s[p->pos + 1]))
			    < 0 ||
			    (lo = hex_value((unsigned char)p->s[p->pos + 2]))
			    < 0) {
				buf_free(&b);
				return fail(p, "'\\' not followed by two hex "
				    "digits");
			}
			buf_putc(&b, hi << 4 | lo);
			p->pos += 3;
			continue;
		}
		buf_putc(&b, c);
		p->pos++;
	}
	buf_reserve(&b, 0);
	v->p = b.p;
	v->len = b.len;
	return 0;
}

static struct filter *parse_filter(struct fp *p);

static int
add_kid(struct filter *f, struct filter *k)
{
	f->kids = xreallocarray(f->kids, f->nkids + 1, sizeof(*f->kids));
	f->kids[f->nkids++] = k;
	return 0;
}

/* "*" already seen after attr=: the rest of a substring or presence. */
static struct filter *
substrings(struct fp *p, char *attr, struct filter_val *ini)
{
	struct filter *f;

	if (ini->len == 0 && (peek(p) == ')' || at_end(p))) {
		free(ini->p);
		f = node(FILTER_PRESENT);
		f->attr = attr;
		return f;
	}
	f = node(FILTER_SUB);
	f->attr = attr;
	if (ini->len > 0)
		f->initial = *ini;
	else
		free(ini->p);
	for (;;) {
		struct filter_val v;

		if (value(p, &v, 1) < 0) {
			filter_free(f);
			return NULL;
		}
		if (peek(p) == '*') {
			p->pos++;
			if (v.len == 0) {
				free(v.p);
				filter_free(f);
				fail(p, "empty part between two '*'");
				return NULL;
			}
			f->any = xreallocarray(f->any, f->nany + 1,
			    sizeof(*f->any));
			f->any[f->nany++] = v;
			continue;
		}
		if (v.len > 0)
			f->final = v;
		else
			free(v.p);
		return f;
	}
}

/* [attr] [":dn"] [":" rule] ":=" value, attr already read (or NULL). */
static struct filter *
extensible(struct fp *p, char *attr)
{
	struct filter *f = node(FILTER_EXT);

	f->attr = attr;
	if (p->len - p->pos >= 3 && strncasecmp(p->s + p->pos, ":dn", 3) == 0
	    && (p->len - p->pos == 3 || p->s[p->pos + 3] == ':')) {
		f->dnattrs = 1;
		p->pos += 3;
	}
	if (peek(p) == ':' && p->pos + 1 < p->len && p->s[p->pos + 1] != '=') {
		p->pos++;
		if ((f->rule = oid_or_descr(p)) == NULL) {
			filter_free(f);
			fail(p, "bad matching rule name");
			return NULL;
		}
	}
	if (p->len - p->pos < 2 || p->s[p->pos] != ':' ||
	    p->s[p->pos + 1] != '=') {
		filter_free(f);
		fail(p, "expected ':=' in an extensible match");
		return NULL;
	}
	if (f->attr == NULL && f->rule == NULL) {
		filter_free(f);
		fail(p, "extensible match without attribute or rule");
		return NULL;
	}
	p->pos += 2;
	if (value(p, &f->value, 0) < 0) {
		filter_free(f);
		return NULL;
	}
	return f;
}

static struct filter *
item(struct fp *p)
{
	char *attr = NULL;
	struct filter *f;
	enum filter_type t;
	int c;

	if (peek(p) != ':' && (attr = attrdesc(p)) == NULL) {
		fail(p, "expected an attribute description");
		return NULL;
	}
	c = peek(p);
	if (c == ':')
		return extensible(p, attr);
	if (c == '=') {
		struct filter_val v;

		p->pos++;
		if (value(p, &v, 1) < 0) {
			free(attr);
			return NULL;
		}
		if (peek(p) == '*') {
			p->pos++;
			return substrings(p, attr, &v);
		}
		f = node(FILTER_EQ);
		f->attr = attr;
		f->value = v;
		return f;
	}
	if ((c == '>' || c == '<' || c == '~') && p->pos + 1 < p->len &&
	    p->s[p->pos + 1] == '=') {
		t = c == '>' ? FILTER_GE : c == '<' ? FILTER_LE : FILTER_APPROX;
		p->pos += 2;
		f = node(t);
		f->attr = attr;
		if (value(p, &f->value, 0) < 0) {
			filter_free(f);
			return NULL;
		}
		return f;
	}
	free(attr);
	fail(p, "expected '=', '>=', '<=', '~=' or ':=' after the attribute");
	return NULL;
}

/* The inside of "( ... )", the "(" consumed. */
static struct filter *
comp(struct fp *p)
{
	struct filter *f, *k;
	int c;

	skip_space(p);
	c = peek(p);
	if (c == '&' || c == '|' || c == '!') {
		p->pos++;
		f = node(c == '&' ? FILTER_AND : c == '|' ? FILTER_OR :
		    FILTER_NOT);
		skip_space(p);
		while (peek(p) == '(') {
			if ((k = parse_filter(p)) == NULL) {
				filter_free(f);
				return NULL;
			}
			add_kid(f, k);
			skip_space(p);
		}
		if (f->type == FILTER_NOT && f->nkids != 1) {
			filter_free(f);
			fail(p, "'!' needs exactly one filter");
			return NULL;
		}
		return f;
	}
	return item(p);
}

static struct filter *
parse_filter(struct fp *p)
{
	struct filter *f;

	skip_space(p);
	if (peek(p) != '(') {
		fail(p, "expected '('");
		return NULL;
	}
	if (++p->depth > FILTER_MAX_DEPTH) {
		fail(p, "nested too deep");
		return NULL;
	}
	p->pos++;
	if ((f = comp(p)) == NULL)
		return NULL;
	skip_space(p);
	if (peek(p) != ')') {
		filter_free(f);
		fail(p, at_end(p) ? "missing ')'" : "expected ')'");
		return NULL;
	}
	p->pos++;
	p->depth--;
	return f;
}

int
filter_parse(const char *text, size_t len, struct filter **out, char *err,
    size_t errsz)
{
	struct fp p = { text, len, 0, 0, err, errsz, 0 };
	struct filter *f;

	*out = NULL;
	if (len > FILTER_MAX_LEN)
		return fail(&p, "filter too long");
	skip_space(&p);
	if (at_end(&p))
		return fail(&p, "empty filter");
	if (peek(&p) == '(') {
		f = parse_filter(&p);
	} else {
		/* One item without parentheses, as libldap takes it. */
		f = item(&p);
		if (f != NULL && peek(&p) == ')') {
			filter_free(f);
			return fail(&p, "unbalanced ')'");
		}
	}
	if (f == NULL)
		return -1;
	skip_space(&p);
	if (!at_end(&p)) {
		filter_free(f);
		return fail(&p, "text after the filter");
	}
	*out = f;
	return 0;
}

static void
put_value(struct buf *b, const struct filter_val *v)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < v->len; i++) {
		unsigned char c = (unsigned char)v->p[i];

		if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 ||
		    c == 0x7f) {
			buf_putc(b, '\\');
			buf_putc(b, hx[c >> 4]);
			buf_putc(b, hx[c & 15]);
		} else {
			buf_putc(b, c);
		}
	}
}

void
filter_print(const struct filter *f, struct buf *b)
{
	buf_putc(b, '(');
	switch (f->type) {
	case FILTER_AND:
	case FILTER_OR:
	case FILTER_NOT:
		buf_putc(b, f->type == FILTER_AND ? '&' :
		    f->type == FILTER_OR ? '|' : '!');
		for (size_t i = 0; i < f->nkids; i++)
			filter_print(f->kids[i], b);
		break;
	case FILTER_EQ:
	case FILTER_GE:
	case FILTER_LE:
	case FILTER_APPROX:
		buf_puts(b, f->attr);
		buf_puts(b, f->type == FILTER_EQ ? "=" : f->type == FILTER_GE ?
		    ">=" : f->type == FILTER_LE ? "<=" : "~=");
		put_value(b, &f->value);
		break;
	case FILTER_PRESENT:
		buf_puts(b, f->attr);
		buf_puts(b, "=*");
		break;
	case FILTER_SUB:
		buf_puts(b, f->attr);
		buf_putc(b, '=');
		if (f->initial.p)
			put_value(b, &f->initial);
		buf_putc(b, '*');
		for (size_t i = 0; i < f->nany; i++) {
			put_value(b, &f->any[i]);
			buf_putc(b, '*');
		}
		if (f->final.p)
			put_value(b, &f->final);
		break;
	case FILTER_EXT:
		if (f->attr)
			buf_puts(b, f->attr);
		if (f->dnattrs)
			buf_puts(b, ":dn");
		if (f->rule) {
			buf_putc(b, ':');
			buf_puts(b, f->rule);
		}
		buf_puts(b, ":=");
		put_value(b, &f->value);
		break;
	}
	buf_putc(b, ')');
}

const char *
filter_type_name(enum filter_type t)
{
	static const char *const names[] = { "and", "or", "not", "eq", "sub",
	    "ge", "le", "present", "approx", "ext" };

	return (size_t)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

void
filter_free(struct filter *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->nkids; i++)
		filter_free(f->kids[i]);
	free(f->kids);
	for (size_t i = 0; i < f->nany; i++)
		free(f->any[i].p);
	free(f->any);
	free(f->attr);
	free(f->rule);
	free(f->value.p);
	free(f->initial.p);
	free(f->final.p);
	free(f);
}
