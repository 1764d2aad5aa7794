/*
 * pctexpand: '%' templates of ldap_table(5), with Postfix's rules for
 * which keys reach LDAP at all (see pctexpand.h).  The quoting follows
 * Postfix's dict_ldap: in a filter, exactly '*', '(', ')' and '\' become
 * \HH (uppercase hex), so a key can never widen a search; in a DN,
 * space, TAB, '"', '#', '+', ',', ';', '<', '>' and '\' do.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/pctexpand.h"

int
pct_parse(struct pct_ctx *ctx, const char *format, int query, char *err,
    size_t errsz)
{
	int dynamic = 0;

	for (const char *cp = format; *cp; cp++) {
		if (*cp != '%')
			continue;
		switch (*++cp) {
		case '%':
			break;
		case 'u':
			ctx->flags |= query ? PCT_KEY_USER : PCT_VALUE_USER;
			dynamic = 1;
			break;
		case 'd':
			ctx->flags |= query ? PCT_KEY_DOMAIN :
			    PCT_VALUE_DOMAIN;
			dynamic = 1;
			break;
		case 's':
		case 'S':
			dynamic = 1;
			break;
		case 'U':
			ctx->flags |= PCT_KEY_USER;
			dynamic = 1;
			break;
		case '1': case '2': case '3': case '4': case '5':
		case '6': case '7': case '8': case '9':
			if (ctx->nparts < *cp - '0')
				ctx->nparts = *cp - '0';
			/* FALLTHROUGH */
		case 'D':
			ctx->flags |= PCT_KEY_DOMAIN;
			dynamic = 1;
			break;
		default:
			if (*cp == '\0')
				return log_errf(err, errsz, "'%%' at the end "
				    "of \"%s\"", format);
			if ((unsigned char)*cp < 0x20 ||
			    (unsigned char)*cp > 0x7e)
				return log_errf(err, errsz, "unknown "
				    "expansion '%%\\x%02x' in \"%s\"",
				    (unsigned char)*cp, format);
			return log_errf(err, errsz, "unknown expansion "
			    "'%%%c' in \"%s\"", *cp, format);
		}
	}
	return dynamic;
}

void
pct_quote(const char *s, enum pct_quote q, struct buf *out)
{
	static const char hx[] = "0123456789ABCDEF";
	const char *special = q == PCT_QUOTE_FILTER ? "*()\\" :
	    " \t\"#+,;<>\\";

	if (q == PCT_QUOTE_NONE) {
		buf_puts(out, s);
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (strchr(special, c) == NULL) {
			buf_putc(out, c);
			continue;
		}
		buf_putc(out, '\\');
		buf_putc(out, hx[c >> 4]);
		buf_putc(out, hx[c & 15]);
	}
}

static void
quote_n(const char *s, size_t n, enum pct_quote q, struct buf *out)
{
	char *t = xstrndup(s, n);

	pct_quote(t, q, out);
	free(t);
}

/* The labels of dom split on '.', empty ones dropped (as Postfix's
 * argv_split does): label i from the right (1-based) into *lp, *ln. */
static int
label_from_right(const char *dom, int i, const char **lp, size_t *ln)
{
	const char *end = dom + strlen(dom);

	while (end > dom) {
		const char *start;

		while (end > dom && end[-1] == '.')
			end--;
		if (end == dom)
			break;
		start = end;
		while (start > dom && start[-1] != '.')
			start--;
		if (--i == 0) {
			*lp = start;
			*ln = (size_t)(end - start);
			return 1;
		}
		end = start;
	}
	return 0;
}

int
pct_expand(const struct pct_ctx *ctx, const char *format, const char *value,
    const char *key, struct buf *out, enum pct_quote q)
{
	const char *vdomain = NULL, *kdomain = NULL, *lp;
	size_t ln;
	unsigned f = ctx->flags;

	if (value == NULL || *value == '\0')
		return 0;
	if (key) {
		if (f & (PCT_VALUE_DOMAIN | PCT_VALUE_USER))
			if ((vdomain = strrchr(value, '@')) != NULL)
				vdomain++;
		if (((!vdomain || !*vdomain) && (f & PCT_VALUE_DOMAIN)) ||
		    (vdomain == value + 1 && (f & PCT_VALUE_USER)))
			return 0;
		if (f & (PCT_KEY_DOMAIN | PCT_KEY_USER))
			if ((kdomain = strrchr(key, '@')) != NULL)
				kdomain++;
		if (((!kdomain || !*kdomain) && (f & PCT_KEY_DOMAIN)) ||
		    (kdomain == key + 1 && (f & PCT_KEY_USER)))
			return 0;
	} else {
		if (f & (PCT_KEY_DOMAIN | PCT_KEY_USER))
			if ((vdomain = strrchr(value, '@')) != NULL)
				vdomain++;
		if (((!vdomain || !*vdomain) && (f & PCT_KEY_DOMAIN)) ||
		    (vdomain == value + 1 && (f & PCT_KEY_USER)))
			return 0;
	}
	if (ctx->nparts > 0 &&
	    !label_from_right(key ? kdomain : vdomain, ctx->nparts, &lp, &ln))
		return 0;

	for (const char *cp = format; *cp; cp++) {
		if (*cp != '%') {
			buf_putc(out, *cp);
			continue;
		}
		switch (*++cp) {
		case '%':
			buf_putc(out, '%');
			break;
		case 's':
			pct_quote(value, q, out);
			break;
		case 'u':
			if (vdomain)
				quote_n(value, (size_t)(vdomain - value - 1),
				    q, out);
			else
				pct_quote(value, q, out);
			break;
		case 'd':
			/* pct_parse set the flag that made vdomain exist */
			pct_quote(vdomain ? vdomain : "", q, out);
			break;
		case 'S':
			pct_quote(key ? key : value, q, out);
			break;
		case 'U':
			if (key && kdomain)
				quote_n(key, (size_t)(kdomain - key - 1), q,
				    out);
			else if (key)
				pct_quote(key, q, out);
			else if (vdomain)
				quote_n(value, (size_t)(vdomain - value - 1),
				    q, out);
			else
				pct_quote(value, q, out);
			break;
		case 'D':
			pct_quote((key ? kdomain : vdomain) ?
			    (key ? kdomain : vdomain) : "", q, out);
			break;
		case '1': case '2': case '3': case '4': case '5':
		case '6': case '7': case '8': case '9':
			if (label_from_right(key ? kdomain : vdomain,
			    *cp - '0', &lp, &ln))
				quote_n(lp, ln, q, out);
			break;
		default:
			/* pct_parse refused it; never reached for a parsed
			 * template.  End here rather than read past. */
			return 1;
		}
	}
	return 1;
}
