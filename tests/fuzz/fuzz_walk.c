/*
 * fuzz_walk: lookupd/maps.c, what a key from the network becomes before
 * it is looked up: the key walk (maps_walk), the answer with the
 * extension put back (maps_answer) and the live LDAP filter
 * (maps_live_filter).  All pure functions, run on the built-in profile
 * (domain, alias, mailbox) with several recipient_delimiter settings,
 * plus a catch-all address map, a plain map and a catch-all domain map
 * (an address walks as its domain, as Jamm's transport map).
 *
 * Input: byte 0 picks the configuration and the map; the rest is
 * "KEY" or "KEY\xffVALUE" (0xff never occurs in a real key or value).
 * Invariants:
 *   - at most WALK_MAX steps, all different, none empty, none holding a
 *     control byte or an uppercase ASCII letter, each NUL-terminated;
 *   - a key that is empty or holds a control byte walks nowhere; so does
 *     an address-map key without '@';
 *   - a catch-all domain map walks an address (a key with '@') as the
 *     part after its last '@';
 *   - step 0 is the key lowercased (a domain without its trailing dot);
 *     an extension-less step is the key minus the extension, and the
 *     extension starts with a delimiter; a catch-all step is "@domain";
 *   - maps_answer gives the value unchanged unless the step carries the
 *     extension; then every address item (holds '@', no ':', does not
 *     start with '/') gets exactly the extension before its last '@'
 *     and nothing else changes;
 *   - the live filter is "(&" FILTER "(|" terms "))", parentheses
 *     balanced (depth never below zero, zero only at the very end), every
 *     "\" a \HH escape, and the terms, in order, are (ATTR=step) for each
 *     step and key attribute with step RFC 4515-escaped: no raw '*', '(',
 *     ')', control or non-ASCII byte from the key, and decoding the
 *     escapes gives the step back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "lookupd/maps.h"
#include "tests/fuzz/fuzz.h"

#define BASE_CFG \
	"ldap_uri = ldap://127.0.0.1:1\n" \
	"account_base = o=x\n" \
	"domain_base = o=d\n"

/* The built-in profile with several delimiters, then explicit maps. */
static const char *const cfg_texts[] = {
	BASE_CFG,
	BASE_CFG "recipient_delimiter =\n",
	BASE_CFG "recipient_delimiter = +-\n",
	BASE_CFG "recipient_delimiter = -\n",
	BASE_CFG "recipient_delimiter = +\n"
	    "[map catch]\nkey = mail mailAlternateAddress\nresult = mail\n"
	    "catchall = yes\n"
	    "[map relay]\nkind = domain\nkey = associatedDomain\n"
	    "result = host\nformat = smtp:[%s]\n"
	    "[map plain]\nkind = plain\nkey = uid\nresult = mail\n"
	    "format = 100%% %s\n"
	    "[map dcatch]\nkind = domain\nkey = jvd\n"
	    "result = postfixTransport\ncatchall = yes\n",
};
#define NCFG (sizeof(cfg_texts) / sizeof(cfg_texts[0]))

static struct cfg *cfgs[NCFG];

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	for (size_t i = 0; i < NCFG; i++) {
		cfgs[i] = cfg_parse(cfg_texts[i], strlen(cfg_texts[i]),
		    "fuzz_walk.conf", err, sizeof(err));
		if (cfgs[i] == NULL) {
			fprintf(stderr, "fuzz_walk: config %zu: %s\n", i, err);
			abort();
		}
	}
	return 0;
}

static int
is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static void
lower(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] + ('a' - 'A'));
}

static void
check_walk(const struct cfg *cfg, const struct cfg_map *m, const char *key,
    size_t len, const struct walk *w)
{
	int any_control = 0;
	const char *at = NULL;
	char *low;
	size_t want0;

	for (size_t i = 0; i < len; i++)
		any_control |= is_control((unsigned char)key[i]);
	for (size_t i = 0; i < len; i++)
		if (key[i] == '@')
			at = key + i;
	FUZZ_ASSERT(w->n <= WALK_MAX);
	if (m->kind == CFG_KIND_DOMAIN && m->catchall && at != NULL &&
	    !any_control) {
		/* An address walks as its domain. */
		len -= (size_t)(at + 1 - key);
		key = at + 1;
		at = NULL;
	}
	if (len == 0 || any_control ||
	    (m->kind == CFG_KIND_ADDRESS && at == NULL) ||
	    (m->kind == CFG_KIND_DOMAIN && len == 1 && key[0] == '.')) {
		FUZZ_ASSERT(w->n == 0);
		return;
	}
	FUZZ_ASSERT(w->n >= 1);
	for (size_t i = 0; i < w->n; i++) {
		const char *s = w->step[i];

		FUZZ_ASSERT(s != NULL && w->steplen[i] > 0);
		FUZZ_ASSERT(s[w->steplen[i]] == '\0');
		for (size_t k = 0; k < w->steplen[i]; k++) {
			FUZZ_ASSERT(!is_control((unsigned char)s[k]));
			FUZZ_ASSERT(!(s[k] >= 'A' && s[k] <= 'Z'));
		}
		for (size_t j = 0; j < i; j++)
			FUZZ_ASSERT(w->steplen[j] != w->steplen[i] ||
			    memcmp(w->step[j], s, w->steplen[i]) != 0);
		/* Only an address map's extension-less step carries it. */
		if (w->carries_ext[i])
			FUZZ_ASSERT(m->kind == CFG_KIND_ADDRESS &&
			    w->ext != NULL);
	}
	/* Step 0: the key itself, folded. */
	want0 = len;
	if (m->kind == CFG_KIND_DOMAIN && key[len - 1] == '.')
		want0--;
	low = malloc(want0 + 1);
	FUZZ_ASSERT(low != NULL);
	memcpy(low, key, want0);
	lower(low, want0);
	FUZZ_ASSERT(w->steplen[0] == want0);
	FUZZ_ASSERT(memcmp(w->step[0], low, want0) == 0);
	FUZZ_ASSERT(!w->carries_ext[0]);
	if (m->kind != CFG_KIND_ADDRESS) {
		FUZZ_ASSERT(w->n == 1 && w->ext == NULL);
		free(low);
		return;
	}
	if (w->ext != NULL) {
		size_t local = (size_t)(at - key), el = w->extlen;
		const char *d = cfg->recipient_delimiter;
		int found = 0;

		/* The extension: a delimiter, then the rest of the local
		 * part; the step without it is local - ext + "@domain". */
		FUZZ_ASSERT(el > 0 && el < local);
		FUZZ_ASSERT(d != NULL && strchr(d, w->ext[0]) != NULL);
		FUZZ_ASSERT(memcmp(w->ext, key + local - el, el) == 0);
		for (size_t i = 1; i < w->n; i++) {
			if (!w->carries_ext[i])
				continue;
			FUZZ_ASSERT(!found);
			found = 1;
			FUZZ_ASSERT(w->steplen[i] == want0 - el);
			FUZZ_ASSERT(memcmp(w->step[i], low, local - el) == 0);
			FUZZ_ASSERT(memcmp(w->step[i] + local - el, low + local,
			    want0 - local) == 0);
		}
		FUZZ_ASSERT(found);
	} else {
		for (size_t i = 0; i < w->n; i++)
			FUZZ_ASSERT(!w->carries_ext[i]);
	}
	if (m->catchall) {
		/* The last step is "@domain" (unless the key was that). */
		size_t dl = want0 - (size_t)(at - key);
		const char *s = w->step[w->n - 1];

		FUZZ_ASSERT(w->steplen[w->n - 1] == dl);
		FUZZ_ASSERT(memcmp(s, low + (at - key), dl) == 0);
	} else {
		FUZZ_ASSERT(w->n <= 2);
	}
	free(low);
}

static int
address_item(const char *s, size_t n)
{
	return n > 0 && s[0] != '/' && memchr(s, '@', n) != NULL &&
	    memchr(s, ':', n) == NULL;
}

static void
check_answer(const struct cfg_map *m, const struct walk *w, size_t i,
    const char *val, size_t vlen)
{
	struct buf out = BUF_INIT;
	const char *o, *oend, *v = val, *vend = val + vlen;

	buf_puts(&out, "prefix");
	maps_answer(m, w, i, val, vlen, &out);
	FUZZ_ASSERT(out.p[out.len] == '\0');
	FUZZ_ASSERT(memcmp(out.p, "prefix", 6) == 0);
	o = out.p + 6;
	oend = out.p + out.len;
	if (i >= w->n || !w->carries_ext[i] || w->ext == NULL) {
		FUZZ_ASSERT((size_t)(oend - o) == vlen);
		FUZZ_ASSERT(fuzz_memeq(o, val, vlen));
		buf_free(&out);
		return;
	}
	/* Item by item: the same items, address ones with the extension. */
	for (;;) {
		const char *vc = memchr(v, ',', (size_t)(vend - v));
		const char *ve = vc != NULL ? vc : vend;
		size_t vn = (size_t)(ve - v);

		if (address_item(v, vn)) {
			const char *lastat = v;

			for (const char *p = v; p < ve; p++)
				if (*p == '@')
					lastat = p;
			size_t pre = (size_t)(lastat - v);

			FUZZ_ASSERT((size_t)(oend - o) >= vn + w->extlen);
			FUZZ_ASSERT(memcmp(o, v, pre) == 0);
			FUZZ_ASSERT(memcmp(o + pre, w->ext, w->extlen) == 0);
			FUZZ_ASSERT(memcmp(o + pre + w->extlen, lastat,
			    vn - pre) == 0);
			o += vn + w->extlen;
		} else {
			FUZZ_ASSERT((size_t)(oend - o) >= vn);
			FUZZ_ASSERT(fuzz_memeq(o, v, vn));
			o += vn;
		}
		if (vc == NULL)
			break;
		FUZZ_ASSERT(o < oend && *o == ',');
		o++;
		v = vc + 1;
	}
	FUZZ_ASSERT(o == oend);
	buf_free(&out);
}

static void
check_filter(const struct cfg_map *m, const struct walk *w)
{
	struct buf f = BUF_INIT;
	size_t flen = strlen(m->filter), pos;
	int depth = 0;

	maps_live_filter(m, w, &f);
	FUZZ_ASSERT(f.p != NULL && f.p[f.len] == '\0');
	FUZZ_ASSERT(strlen(f.p) == f.len);
	/* Balanced, one filter, escapes well-formed. */
	for (size_t i = 0; i < f.len; i++) {
		unsigned char c = (unsigned char)f.p[i];

		FUZZ_ASSERT(c >= 0x20 && c < 0x7f);
		if (c == '\\') {
			FUZZ_ASSERT(i + 2 < f.len);
			FUZZ_ASSERT(fuzz_hexval((unsigned char)f.p[i + 1]) >= 0);
			FUZZ_ASSERT(fuzz_hexval((unsigned char)f.p[i + 2]) >= 0);
			i += 2;
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			depth--;
			FUZZ_ASSERT(depth >= 0);
			FUZZ_ASSERT(depth > 0 || i == f.len - 1);
		}
	}
	FUZZ_ASSERT(depth == 0);
	/* The shape: "(&" FILTER "(|" terms "))". */
	FUZZ_ASSERT(f.len >= 2 + flen + 2 + 2);
	FUZZ_ASSERT(memcmp(f.p, "(&", 2) == 0);
	FUZZ_ASSERT(memcmp(f.p + 2, m->filter, flen) == 0);
	FUZZ_ASSERT(memcmp(f.p + 2 + flen, "(|", 2) == 0);
	FUZZ_ASSERT(memcmp(f.p + f.len - 2, "))", 2) == 0);
	pos = 2 + flen + 2;
	for (size_t i = 0; i < w->n; i++)
		for (size_t a = 0; a < m->key.n; a++) {
			const char *attr = m->key.v[a];
			size_t al = strlen(attr), k = 0;

			FUZZ_ASSERT(f.p[pos] == '(');
			pos++;
			FUZZ_ASSERT(memcmp(f.p + pos, attr, al) == 0);
			pos += al;
			FUZZ_ASSERT(f.p[pos] == '=');
			pos++;
			/* The value, unescaped, is the step; no raw '*'. */
			while (f.p[pos] != ')') {
				unsigned char c = (unsigned char)f.p[pos];

				FUZZ_ASSERT(c != '*' && c != '(');
				FUZZ_ASSERT(k < w->steplen[i]);
				if (c == '\\') {
					c = (unsigned char)(fuzz_hexval(
					    (unsigned char)f.p[pos + 1]) << 4 |
					    fuzz_hexval(
					    (unsigned char)f.p[pos + 2]));
					pos += 3;
				} else {
					pos++;
				}
				FUZZ_ASSERT((unsigned char)w->step[i][k] == c);
				k++;
			}
			FUZZ_ASSERT(k == w->steplen[i]);
			pos++;
		}
	FUZZ_ASSERT(pos == f.len - 2);
	buf_free(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cfg *cfg;
	const struct cfg_map *m;
	const char *key, *val = NULL, *sep;
	size_t klen, vlen = 0;
	struct walk w;

	if (size < 1)
		return 0;
	cfg = cfgs[data[0] % NCFG];
	m = &cfg->maps[(data[0] / NCFG) % cfg->n_maps];
	key = (const char *)data + 1;
	klen = size - 1;
	if ((sep = memchr(key, 0xff, klen)) != NULL) {
		val = sep + 1;
		vlen = (size_t)(key + klen - val);
		klen = (size_t)(sep - key);
	}

	maps_walk(cfg, m, key, klen, &w);
	check_walk(cfg, m, key, klen, &w);
	check_filter(m, &w);
	if (val != NULL)
		for (size_t i = 0; i <= w.n; i++)
			check_answer(m, &w, i, val, vlen);
	maps_walk_free(&w);
	FUZZ_ASSERT(w.n == 0 && w.ext == NULL);
	return 0;
}
