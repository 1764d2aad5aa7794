/*
 * applemail: reading apple-user-mailattribute (see applemail.h).
 *
 * What Mac OS X Server writes there is a property list of one dictionary,
 * with or without the plist wrapper, e.g.
 *
 *   <?xml version="1.0" encoding="UTF-8"?><dict>
 *   <key>kAttributeVersion</key><string>Apple Mail 1.0</string>
 *   <key>kMailAccountState</key><string>Forward</string>
 *   <key>kAutoForwardValue</key><string>joe@example.org</string>
 *   <key>kUserDiskQuota</key><string>0</string> ... </dict>
 *
 * The grammar read (a strict subset of XML 1.0 and Apple's plist DTD):
 *   - UTF-8 only (valid, shortest forms; an XML declaration may say
 *     encoding="UTF-8", nothing else), at most APPLEMAIL_MAX bytes;
 *   - an optional XML declaration at byte 0; comments and white space
 *     between elements; an optional <!DOCTYPE ...> without an internal
 *     subset (no entity can be declared, so none can expand); no other
 *     processing instruction;
 *   - the root is <plist> (attribute version only) holding one <dict>,
 *     or that <dict> itself;
 *   - elements key, string, integer, real, date, data, true, false,
 *     array, dict, plist, without attributes but plist's, case as
 *     written, nested at most APPLEMAIL_DEPTH deep; a dict is key/value
 *     pairs; an empty element may be written <x/>;
 *   - text: XML characters only, the five predefined entities, &#N; and
 *     &#xH; character references, CDATA sections and comments.
 *
 * What it means (Apple's mail service, checked against its source, reads
 * the same keys the same way):
 *   - kAttributeVersion must be "Apple Mail 1.0" or "Apple Mail 2.0"
 *     (case-insensitive), else Apple reads nothing: here an error;
 *   - kMailAccountState is "Enabled", "Off" or "Forward"
 *     (case-insensitive), required; "Forward" needs kAutoForwardValue,
 *     one plain address (local@domain: no white space, no list, no
 *     display name);
 *   - kUserDiskQuota, MB, decimal digits in a <string> as Apple writes
 *     it (absent: 0, no quota);
 *   - kIMAPLoginState / kPOP3LoginState: IMAPAllowed/IMAPDeny,
 *     POP3Allowed/POP3Deny; kMailAccountLocation (host keeping the
 *     mail), kAltMailStoreLoc (another store): kept for the caller;
 *   - these keys must be <string>s and appear once; any other key, and
 *     its value of any type, is read and ignored (kAPOPRequired,
 *     kNotificationState, ...).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/applemail.h"
#include "common/log.h"
#include "common/safepath.h"

#define APPLEMAIL_DEPTH	16
#define KEY_MAX		256	/* a key we might know is shorter */

enum elem {
	E_NONE, E_PLIST, E_DICT, E_KEY, E_STRING, E_INTEGER, E_REAL, E_DATE,
	E_DATA, E_TRUE, E_FALSE, E_ARRAY
};

static const char *const elem_names[] = {
	[E_NONE] = "", [E_PLIST] = "plist", [E_DICT] = "dict",
	[E_KEY] = "key", [E_STRING] = "string", [E_INTEGER] = "integer",
	[E_REAL] = "real", [E_DATE] = "date", [E_DATA] = "data",
	[E_TRUE] = "true", [E_FALSE] = "false", [E_ARRAY] = "array"
};

/* The keys read; any other is ignored. */
enum key {
	K_VERSION, K_STATE, K_FORWARD, K_QUOTA, K_IMAP, K_POP3, K_LOCATION,
	K_ALTSTORE, K_COUNT
};

static const struct {
	const char *name;
	size_t max;		/* longest value kept */
} keys[K_COUNT] = {
	[K_VERSION] = { "kAttributeVersion", 64 },
	[K_STATE] = { "kMailAccountState", 64 },
	[K_FORWARD] = { "kAutoForwardValue", APPLEMAIL_ADDR_MAX },
	[K_QUOTA] = { "kUserDiskQuota", 64 },
	[K_IMAP] = { "kIMAPLoginState", 64 },
	[K_POP3] = { "kPOP3LoginState", 64 },
	[K_LOCATION] = { "kMailAccountLocation", APPLEMAIL_HOST_MAX },
	[K_ALTSTORE] = { "kAltMailStoreLoc", APPLEMAIL_PATH_MAX },
};

struct rd {
	const char *start, *p, *end;
	char *why;
	size_t whysz;
	const char *dict_end;	/* "</dict>" of the top dictionary */
	/* The top dictionary's values of the known keys: decoded into
	 * val[k] (small ones here, the others straight into the result). */
	char *val[K_COUNT];
	char small[K_COUNT][64 + 1];
	size_t vlen[K_COUNT];
	size_t vpos[K_COUNT];
	int seen[K_COUNT];
	char show[LOG_PRINTABLE_SIZE];	/* a value quoted in a message */
};

/* A decoded text goes here (NULL: only checked). */
struct sink {
	char *p;
	size_t max, len;
	int over;
};

static int __attribute__((format(printf, 3, 4)))
fail(struct rd *r, const char *at, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	return log_errf(r->why, r->whysz, "byte %zu: %s",
	    (size_t)(at - r->start), msg);
}

/* A value for a message: printable, at most 100 bytes shown. */
static const char *
shown(struct rd *r, const char *v, size_t vl)
{
	return log_printable(r->show, sizeof(r->show), v, vl);
}

static int
left(const struct rd *r, size_t n)
{
	return (size_t)(r->end - r->p) >= n;
}

static int
at(const struct rd *r, const char *s)
{
	size_t n = strlen(s);

	return left(r, n) && memcmp(r->p, s, n) == 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
skip_space(struct rd *r)
{
	while (r->p < r->end && is_space(*r->p))
		r->p++;
}

/* A byte XML allows in text (UTF-8 was checked for the whole input). */
static int
xml_byte(unsigned char c)
{
	return c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
}

/* At "<!--": the comment, which may not hold "--". */
static int
comment(struct rd *r)
{
	const char *s = r->p;

	for (r->p += 4; r->p < r->end; r->p++) {
		if (!xml_byte((unsigned char)*r->p))
			return fail(r, r->p, "control character in a comment");
		if (at(r, "--")) {
			if (!at(r, "-->"))
				return fail(r, r->p, "\"--\" inside a comment");
			r->p += 3;
			return 0;
		}
	}
	return fail(r, s, "unterminated comment");
}

/* White space and comments. */
static int
misc(struct rd *r)
{
	for (;;) {
		skip_space(r);
		if (!at(r, "<!--"))
			return 0;
		if (comment(r) != 0)
			return -1;
	}
}

/* A quoted value at r->p; [*v, *v + *vlen) is its text (no entity). */
static int
quoted(struct rd *r, const char **v, size_t *vlen)
{
	char q;
	const char *s;

	if (r->p >= r->end || (*r->p != '"' && *r->p != '\''))
		return fail(r, r->p, "expected a quoted value");
	q = *r->p++;
	for (s = r->p; r->p < r->end && *r->p != q; r->p++)
		if (*r->p == '<' || *r->p == '&' ||
		    !xml_byte((unsigned char)*r->p))
			return fail(r, r->p, "bad character in a quoted value");
	if (r->p >= r->end)
		return fail(r, s, "unterminated quoted value");
	*v = s;
	*vlen = (size_t)(r->p - s);
	r->p++;
	return 0;
}

static int
name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
}

/* A name at r->p: its length (0: none). */
static size_t
name(struct rd *r)
{
	const char *s = r->p;

	if (r->p < r->end && name_char(*r->p, 1))
		for (r->p++; r->p < r->end && name_char(*r->p, 0); r->p++)
			;
	return (size_t)(r->p - s);
}

static int
eq_ci(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

static int
eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* At "<?xml": version="1.0" [encoding="UTF-8"] [standalone="yes|no"]. */
static int
xml_decl(struct rd *r)
{
	const char *n, *v;
	size_t nl, vl;
	int k = 0;

	r->p += 5;
	for (;; k++) {
		const char *s = r->p;

		skip_space(r);
		if (at(r, "?>")) {
			r->p += 2;
			break;
		}
		if (s == r->p)
			return fail(r, r->p, "bad XML declaration");
		n = r->p;
		if ((nl = name(r)) == 0)
			return fail(r, n, "bad XML declaration");
		skip_space(r);
		if (r->p >= r->end || *r->p != '=')
			return fail(r, r->p, "expected \"=\" in the XML "
			    "declaration");
		r->p++;
		skip_space(r);
		if (quoted(r, &v, &vl) != 0)
			return -1;
		if (k == 0 && !eq(n, nl, "version"))
			return fail(r, n, "the XML declaration must start with "
			    "version");
		if (eq(n, nl, "version")) {
			if (k != 0 || !eq(v, vl, "1.0"))
				return fail(r, v, "XML version must be 1.0");
		} else if (eq(n, nl, "encoding")) {
			if (!eq_ci(v, vl, "UTF-8"))
				return fail(r, v, "encoding \"%s\" is not UTF-8",
				    shown(r, v, vl));
		} else if (eq(n, nl, "standalone")) {
			if (!eq(v, vl, "yes") && !eq(v, vl, "no"))
				return fail(r, v, "bad standalone value");
		} else {
			return fail(r, n, "unknown item in the XML "
			    "declaration");
		}
	}
	if (k == 0)
		return fail(r, r->p, "the XML declaration has no version");
	return 0;
}

/* At "<!DOCTYPE": <!DOCTYPE plist [PUBLIC "x" "y" | SYSTEM "y"]>. */
static int
doctype(struct rd *r)
{
	const char *s = r->p, *v;
	size_t vl;

	r->p += 9;
	skip_space(r);
	if (!at(r, "plist") || (left(r, 6) && name_char(r->p[5], 0)))
		return fail(r, r->p, "the DOCTYPE must be plist");
	r->p += 5;
	for (;;) {
		skip_space(r);
		if (r->p >= r->end)
			return fail(r, s, "unterminated DOCTYPE");
		if (*r->p == '>') {
			r->p++;
			return 0;
		}
		if (*r->p == '[')
			return fail(r, r->p, "a DOCTYPE with an internal "
			    "subset is not read");
		if (*r->p == '"' || *r->p == '\'') {
			if (quoted(r, &v, &vl) != 0)
				return -1;
			continue;
		}
		v = r->p;
		if ((vl = name(r)) == 0 || (!eq(v, vl, "PUBLIC") &&
		    !eq(v, vl, "SYSTEM")))
			return fail(r, v, "bad DOCTYPE");
	}
}

static enum elem
elem_of(const char *s, size_t len)
{
	for (int e = E_PLIST; e <= E_ARRAY; e++)
		if (eq(s, len, elem_names[e]))
			return (enum elem)e;
	return E_NONE;
}

/*
 * A start tag at r->p ("<" first).  *empty: it was <x/>.  Attributes
 * only on plist (version="..."); anything else is refused.
 */
static int
start_tag(struct rd *r, enum elem *e, int *empty)
{
	const char *s = r->p, *n, *v;
	size_t nl, vl;

	if (r->p >= r->end || *r->p != '<')
		return fail(r, r->p, r->p >= r->end ? "unexpected end" :
		    "expected an element");
	r->p++;
	if (r->p < r->end && (*r->p == '?' || *r->p == '!'))
		return fail(r, s, "unexpected %s", *r->p == '?' ?
		    "processing instruction" : "declaration");
	n = r->p;
	if ((nl = name(r)) == 0)
		return fail(r, s, "expected an element");
	if ((*e = elem_of(n, nl)) == E_NONE)
		return fail(r, s, "unknown element <%s>", shown(r, n, nl));
	for (;;) {
		const char *before = r->p;

		skip_space(r);
		if (at(r, "/>")) {
			r->p += 2;
			*empty = 1;
			return 0;
		}
		if (at(r, ">")) {
			r->p++;
			*empty = 0;
			return 0;
		}
		n = r->p;
		if (before == r->p || (nl = name(r)) == 0)
			return fail(r, r->p >= r->end ? s : r->p, "bad tag "
			    "<%s>", elem_names[*e]);
		if (*e != E_PLIST || !eq(n, nl, "version"))
			return fail(r, n, "unexpected attribute in <%s>",
			    elem_names[*e]);
		skip_space(r);
		if (r->p >= r->end || *r->p != '=')
			return fail(r, r->p, "expected \"=\"");
		r->p++;
		skip_space(r);
		if (quoted(r, &v, &vl) != 0)
			return -1;
	}
}

/* "</name>" for e at r->p. */
static int
end_tag(struct rd *r, enum elem e)
{
	const char *s = r->p;
	size_t nl;

	if (!at(r, "</"))
		return fail(r, s, "expected </%s>", elem_names[e]);
	r->p += 2;
	nl = strlen(elem_names[e]);
	if (!left(r, nl) || memcmp(r->p, elem_names[e], nl) != 0)
		return fail(r, s, "expected </%s>", elem_names[e]);
	r->p += nl;
	skip_space(r);
	if (r->p >= r->end || *r->p != '>')
		return fail(r, s, "expected </%s>", elem_names[e]);
	r->p++;
	return 0;
}

static void
put(struct sink *k, const char *s, size_t n)
{
	if (k == NULL)
		return;
	if (k->max - k->len < n) {
		k->over = 1;
		return;
	}
	memcpy(k->p + k->len, s, n);
	k->len += n;
}

static void
put_cp(struct sink *k, unsigned long cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	put(k, b, n);
}

/* At "&": one reference. */
static int
reference(struct rd *r, struct sink *k)
{
	static const struct { const char *n; char c; } named[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	const char *s = r->p;
	unsigned long cp = 0;
	int hex, digits = 0;

	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (at(r, named[i].n)) {
			r->p += strlen(named[i].n);
			put(k, &named[i].c, 1);
			return 0;
		}
	if (!at(r, "&#"))
		return fail(r, s, "unknown entity (only &amp; &lt; &gt; "
		    "&quot; &apos; and &#N; are read)");
	r->p += 2;
	hex = r->p < r->end && *r->p == 'x';
	r->p += hex;
	for (; r->p < r->end && *r->p != ';'; r->p++, digits++) {
		char c = *r->p;
		int d = c >= '0' && c <= '9' ? c - '0' :
		    hex && c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		    hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0 || digits >= 8)
			return fail(r, s, "bad character reference");
		cp = cp * (hex ? 16 : 10) + (unsigned long)d;
	}
	if (r->p >= r->end || digits == 0)
		return fail(r, s, "bad character reference");
	r->p++;
	/* XML's Char production. */
	if (!(cp == 0x9 || cp == 0xa || cp == 0xd ||
	    (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
	    (cp >= 0x10000 && cp <= 0x10ffff)))
		return fail(r, s, "character reference to a character XML "
		    "does not allow");
	put_cp(k, cp);
	return 0;
}

/*
 * The text of a key or scalar up to its end tag (consumed), decoded into
 * k.  XML's end-of-line handling: CR LF and lone CR read as LF.
 */
static int
text(struct rd *r, enum elem e, struct sink *k)
{
	for (;;) {
		const char *s = r->p;

		while (r->p < r->end && *r->p != '<' && *r->p != '&' &&
		    *r->p != '\r' && *r->p != ']') {
			if (!xml_byte((unsigned char)*r->p))
				return fail(r, r->p, "control character in "
				    "text");
			r->p++;
		}
		put(k, s, (size_t)(r->p - s));
		if (r->p >= r->end)
			return fail(r, r->p, "unterminated <%s>",
			    elem_names[e]);
		if (*r->p == '\r') {
			r->p++;
			if (r->p < r->end && *r->p == '\n')
				r->p++;
			put(k, "\n", 1);
		} else if (*r->p == ']') {
			if (at(r, "]]>"))
				return fail(r, r->p, "\"]]>\" in text");
			put(k, "]", 1);
			r->p++;
		} else if (*r->p == '&') {
			if (reference(r, k) != 0)
				return -1;
		} else if (at(r, "<!--")) {
			if (comment(r) != 0)
				return -1;
		} else if (at(r, "<![CDATA[")) {
			const char *c = r->p += 9, *q;

			q = memmem(c, (size_t)(r->end - c), "]]>", 3);
			if (q == NULL)
				return fail(r, s, "unterminated CDATA section");
			for (; r->p < q; r->p++)
				if (!xml_byte((unsigned char)*r->p))
					return fail(r, r->p, "control "
					    "character in text");
			put(k, c, (size_t)(q - c));
			r->p = q + 3;
		} else {
			return end_tag(r, e);
		}
	}
}

static int value(struct rd *r, int depth, int top);

/*
 * A dict after its start tag, up to and with its end tag.  In the top
 * dict (top), the values of the known keys are kept in r.
 */
static int
dict(struct rd *r, int depth, int top)
{
	char kb[KEY_MAX + 1];

	for (;;) {
		struct sink ks = { kb, KEY_MAX, 0, 0 };
		const char *kpos, *vpos;
		enum elem e;
		int empty, kn = K_COUNT;

		if (misc(r) != 0)
			return -1;
		if (at(r, "</")) {
			if (top)
				r->dict_end = r->p;
			return end_tag(r, E_DICT);
		}
		kpos = r->p;
		if (start_tag(r, &e, &empty) != 0)
			return -1;
		if (e != E_KEY)
			return fail(r, kpos, "expected <key> in <dict>, found "
			    "<%s>", elem_names[e]);
		if (!empty && text(r, E_KEY, &ks) != 0)
			return -1;
		if (top && !ks.over)
			for (kn = 0; kn < K_COUNT; kn++)
				if (eq(kb, ks.len, keys[kn].name))
					break;
		if (misc(r) != 0)
			return -1;
		vpos = r->p;
		if (kn == K_COUNT) {
			if (value(r, depth + 1, 0) != 0)
				return -1;
			continue;
		}
		/* A key we read: a <string>, once. */
		if (r->seen[kn])
			return fail(r, kpos, "%s appears twice", keys[kn].name);
		r->seen[kn] = 1;
		r->vpos[kn] = (size_t)(vpos - r->start);
		if (start_tag(r, &e, &empty) != 0)
			return -1;
		if (e != E_STRING)
			return fail(r, vpos, "%s: expected <string>, found "
			    "<%s>", keys[kn].name, elem_names[e]);
		if (!empty) {
			struct sink vs = { r->val[kn], keys[kn].max, 0, 0 };

			if (text(r, E_STRING, &vs) != 0)
				return -1;
			if (vs.over)
				return fail(r, vpos, "%s: longer than %zu "
				    "bytes", keys[kn].name, keys[kn].max);
			r->vlen[kn] = vs.len;
		}
		r->val[kn][r->vlen[kn]] = '\0';
	}
}

/* One value of any type (read, checked, not kept). */
static int
value(struct rd *r, int depth, int top)
{
	const char *s = r->p;
	enum elem e;
	int empty;

	if (depth > APPLEMAIL_DEPTH)
		return fail(r, s, "nested deeper than %d", APPLEMAIL_DEPTH);
	if (start_tag(r, &e, &empty) != 0)
		return -1;
	switch (e) {
	case E_DICT:
		return empty ? 0 : dict(r, depth, top);
	case E_ARRAY:
		if (empty)
			return 0;
		for (;;) {
			if (misc(r) != 0)
				return -1;
			if (at(r, "</"))
				return end_tag(r, E_ARRAY);
			if (value(r, depth + 1, 0) != 0)
				return -1;
		}
	case E_TRUE:
	case E_FALSE:
		if (empty)
			return 0;
		if (misc(r) != 0)
			return -1;
		return end_tag(r, e);
	case E_STRING:
	case E_INTEGER:
	case E_REAL:
	case E_DATE:
	case E_DATA:
		return empty ? 0 : text(r, e, NULL);
	default:
		return fail(r, s, "<%s> where a value belongs", elem_names[e]);
	}
}

/* A plain address: local@domain, printable, nothing a list could split. */
static int
plain_address(const char *s, size_t len)
{
	const char *at_sign = memchr(s, '@', len);

	if (at_sign == NULL || at_sign == s || at_sign == s + len - 1 ||
	    memchr(at_sign + 1, '@', (size_t)(s + len - at_sign - 1)) != NULL)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || strchr(",;:<>()[]\"\\", c))
			return 0;
	}
	return 1;
}

static int
no_controls(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
login(struct rd *r, enum key kn, const char *yes, const char *no,
    enum applemail_login *out)
{
	const char *v = r->val[kn];
	size_t vl = r->vlen[kn];

	if (!r->seen[kn]) {
		*out = APPLEMAIL_LOGIN_UNSET;
		return 0;
	}
	if (eq_ci(v, vl, yes))
		*out = APPLEMAIL_LOGIN_ALLOWED;
	else if (eq_ci(v, vl, no))
		*out = APPLEMAIL_LOGIN_DENIED;
	else
		return fail(r, r->start + r->vpos[kn], "%s \"%s\" is "
		    "neither %s nor %s", keys[kn].name, shown(r, v, vl), yes,
		    no);
	return 0;
}

/* What the known keys mean, once the text is read. */
static int
meaning(struct rd *r, struct applemail *out)
{
	const char *dict_end = r->dict_end;
	const char *v;
	size_t vl;

	if (!r->seen[K_VERSION])
		return fail(r, dict_end, "kAttributeVersion is missing");
	v = r->val[K_VERSION];
	vl = r->vlen[K_VERSION];
	if (eq_ci(v, vl, "Apple Mail 1.0"))
		out->version = 1;
	else if (eq_ci(v, vl, "Apple Mail 2.0"))
		out->version = 2;
	else
		return fail(r, r->start + r->vpos[K_VERSION],
		    "kAttributeVersion \"%s\" is not Apple Mail 1.0 or 2.0",
		    shown(r, v, vl));

	if (!r->seen[K_STATE])
		return fail(r, dict_end, "kMailAccountState is missing");
	v = r->val[K_STATE];
	vl = r->vlen[K_STATE];
	if (eq_ci(v, vl, "Enabled"))
		out->state = APPLEMAIL_ENABLED;
	else if (eq_ci(v, vl, "Off"))
		out->state = APPLEMAIL_OFF;
	else if (eq_ci(v, vl, "Forward"))
		out->state = APPLEMAIL_FORWARD;
	else
		return fail(r, r->start + r->vpos[K_STATE], "kMailAccountState "
		    "\"%s\" is not Enabled, Off or Forward", shown(r, v, vl));

	if (out->state == APPLEMAIL_FORWARD) {
		v = r->val[K_FORWARD];
		vl = r->vlen[K_FORWARD];
		if (!r->seen[K_FORWARD] || vl == 0)
			return fail(r, dict_end, "kMailAccountState is Forward "
			    "but kAutoForwardValue is %s", r->seen[K_FORWARD] ?
			    "empty" : "missing");
		if (!plain_address(v, vl))
			return fail(r, r->start + r->vpos[K_FORWARD],
			    "kAutoForwardValue is not one plain address "
			    "(local@domain)");
	} else {
		/* Apple keeps the last forward address when the state
		 * changes back: it means nothing then. */
		memset(out->forward, 0, sizeof(out->forward));
	}

	out->quota_mb = 0;
	if (r->seen[K_QUOTA]) {
		unsigned long long q = 0;

		v = r->val[K_QUOTA];
		vl = r->vlen[K_QUOTA];
		if (vl == 0)
			return fail(r, r->start + r->vpos[K_QUOTA],
			    "kUserDiskQuota is empty");
		for (size_t i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				return fail(r, r->start + r->vpos[K_QUOTA],
				    "kUserDiskQuota \"%s\" is not a number "
				    "of MB", shown(r, v, vl));
			if (q > (APPLEMAIL_QUOTA_MB_MAX - (unsigned)(v[i] -
			    '0')) / 10)
				return fail(r, r->start + r->vpos[K_QUOTA],
				    "kUserDiskQuota is larger than %llu MB",
				    APPLEMAIL_QUOTA_MB_MAX);
			q = q * 10 + (unsigned)(v[i] - '0');
		}
		out->quota_mb = q;
	}

	if (login(r, K_IMAP, "IMAPAllowed", "IMAPDeny", &out->imap) != 0 ||
	    login(r, K_POP3, "POP3Allowed", "POP3Deny", &out->pop3) != 0)
		return -1;

	if (!no_controls(out->location, r->vlen[K_LOCATION]))
		return fail(r, r->start + r->vpos[K_LOCATION],
		    "kMailAccountLocation holds a control character");
	if (!no_controls(out->altstore, r->vlen[K_ALTSTORE]))
		return fail(r, r->start + r->vpos[K_ALTSTORE],
		    "kAltMailStoreLoc holds a control character");
	return 0;
}

int
applemail_parse(const char *xml, size_t len, struct applemail *out,
    char *why, size_t whysz)
{
	struct rd rd, *r = &rd;
	enum elem e;
	int empty, rc = -1;

	if (why != NULL && whysz > 0)
		why[0] = '\0';
	memset(out, 0, sizeof(*out));
	memset(r, 0, sizeof(*r));
	for (int k = 0; k < K_COUNT; k++)
		r->val[k] = r->small[k];
	r->val[K_FORWARD] = out->forward;
	r->val[K_LOCATION] = out->location;
	r->val[K_ALTSTORE] = out->altstore;
	r->start = r->p = xml;
	r->end = xml + len;
	r->why = why;
	r->whysz = whysz;

	if (len == 0) {
		fail(r, r->p, "empty value");
		goto out;
	}
	if (len > APPLEMAIL_MAX) {
		fail(r, r->p, "longer than %d bytes", APPLEMAIL_MAX);
		goto out;
	}
	if (memchr(xml, '\0', len) != NULL) {
		fail(r, memchr(xml, '\0', len), "NUL byte");
		goto out;
	}
	if (!safepath_utf8(xml, len)) {
		fail(r, r->p, "not valid UTF-8");
		goto out;
	}
	if (at(r, "<?xml") && left(r, 6) && (is_space(r->p[5]) ||
	    r->p[5] == '?') && xml_decl(r) != 0)
		goto out;
	if (misc(r) != 0)
		goto out;
	if (at(r, "<!DOCTYPE")) {
		if (doctype(r) != 0 || misc(r) != 0)
			goto out;
	}
	if (start_tag(r, &e, &empty) != 0)
		goto out;
	if (e == E_PLIST) {
		if (empty) {
			fail(r, r->p, "empty <plist>");
			goto out;
		}
		if (misc(r) != 0 || start_tag(r, &e, &empty) != 0)
			goto out;
		if (e != E_DICT) {
			fail(r, r->p, "<plist> must hold a <dict>, not <%s>",
			    elem_names[e]);
			goto out;
		}
		if (empty)
			r->dict_end = r->p - 2;
		else if (dict(r, 1, 1) != 0)
			goto out;
		if (misc(r) != 0 || end_tag(r, E_PLIST) != 0)
			goto out;
	} else if (e == E_DICT) {
		if (empty)
			r->dict_end = r->p - 2;
		else if (dict(r, 1, 1) != 0)
			goto out;
	} else {
		fail(r, r->start, "the root must be <plist> or <dict>, not "
		    "<%s>", elem_names[e]);
		goto out;
	}
	if (misc(r) != 0)
		goto out;
	if (r->p != r->end) {
		fail(r, r->p, "text after the end of the property list");
		goto out;
	}
	rc = meaning(r, out);
out:
	return rc;
}

const char *
applemail_state_name(enum applemail_state s)
{
	switch (s) {
	case APPLEMAIL_ENABLED:	return "Enabled";
	case APPLEMAIL_OFF:	return "Off";
	case APPLEMAIL_FORWARD:	return "Forward";
	}
	return "?";
}
