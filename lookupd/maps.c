/*
 * maps: the key walk and the entry -> (key, value) rule of a map.
 *
 * The walk follows Postfix's mail_addr_find() for an address map: the full
 * key; then, when recipient_delimiter is set, the key without its
 * extension (split at the first delimiter of the local part, except for
 * postmaster, MAILER-DAEMON, a null local part and, when '-' is a
 * delimiter, owner-x and x-request); then @domain when the map has
 * catchall = yes.  As in Postfix, only the extension-less step carries the
 * extension into the answer; a catch-all answer does not.  A domain map
 * with catchall = yes answers an address by its domain's entry (Postfix
 * asks a socketmap or tcp transport_maps table the address only, never
 * its domain: the Jamm transport map needs it).
 *
 * The extension goes into every answer item that is an address: one that
 * holds '@', does not start with '/' (a mailbox path) and holds no ':'
 * (a transport "smtp:[host]").  Postfix's own alias tables do the same.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/applemail.h"
#include "common/buf.h"
#include "common/ldapconn.h"
#include "common/ldapesc.h"
#include "lookupd/maps.h"

void
maps_lower(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
}

static int
has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return 1;
	}
	return 0;
}

static void
add_step(struct walk *w, const char *a, size_t alen, const char *b,
    size_t blen, int carries_ext)
{
	size_t len = alen + blen;
	char *k;

	if (w->n >= WALK_MAX)
		return;
	k = xmalloc(len + 1);
	memcpy(k, a, alen);
	if (blen)
		memcpy(k + alen, b, blen);
	k[len] = '\0';
	maps_lower(k, len);
	for (size_t i = 0; i < w->n; i++)
		if (w->steplen[i] == len && memcmp(w->step[i], k, len) == 0) {
			free(k);
			return;
		}
	w->step[w->n] = k;
	w->steplen[w->n] = len;
	w->carries_ext[w->n] = carries_ext;
	w->n++;
}

static int
eq_nocase(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

/* Where the extension of local part (len bytes) starts, or 0 for none. */
static size_t
ext_split(const char *local, size_t len, const char *delims)
{
	size_t i;

	if (delims == NULL || *delims == '\0' || len == 0)
		return 0;
	if (eq_nocase(local, len, "postmaster") ||
	    eq_nocase(local, len, "mailer-daemon"))
		return 0;
	if (strchr(delims, '-') != NULL) {
		if (len >= 6 && strncasecmp(local, "owner-", 6) == 0)
			return 0;
		if (len > 8 && strncasecmp(local + len - 8, "-request", 8) == 0)
			return 0;
	}
	for (i = 0; i < len; i++)
		if (strchr(delims, local[i]) != NULL)
			break;
	if (i == 0 || i == len)
		return 0;
	return i;
}

/*
 * A key (len bytes) of m within its file's "domain" list: an address's
 * domain, a domain key itself (ASCII case ignored).  Always 1 without a
 * list, and for a plain map.
 */
static int
in_domains(const struct cfg_map *m, const char *key, size_t len)
{
	const char *at;

	if (m->domains.n == 0 || m->kind == CFG_KIND_PLAIN)
		return 1;
	if (m->kind == CFG_KIND_ADDRESS) {
		if ((at = memrchr(key, '@', len)) == NULL)
			return 0;
		len -= (size_t)(at + 1 - key);
		key = at + 1;
	}
	if (len > 0 && key[len - 1] == '.')
		len--;
	for (size_t i = 0; i < m->domains.n; i++)
		if (strlen(m->domains.v[i]) == len &&
		    strncasecmp(m->domains.v[i], key, len) == 0)
			return 1;
	return 0;
}

void
maps_walk(const struct cfg *cfg, const struct cfg_map *m, const char *key,
    size_t len, struct walk *w)
{
	const char *at = NULL;
	size_t split;

	memset(w, 0, sizeof(*w));
	if (len == 0 || has_control(key, len))
		return;
	if (m->kind == CFG_KIND_DOMAIN && m->catchall &&
	    (at = memrchr(key, '@', len)) != NULL) {
		len -= (size_t)(at + 1 - key);	/* the address's domain */
		key = at + 1;
		at = NULL;
	}
	if (len == 0 || !in_domains(m, key, len))
		return;
	switch (m->kind) {
	case CFG_KIND_DOMAIN:
		if (key[len - 1] == '.')
			len--;
		if (len == 0)
			return;
		add_step(w, key, len, NULL, 0, 0);
		return;
	case CFG_KIND_PLAIN:
		add_step(w, key, len, NULL, 0, 0);
		return;
	case CFG_KIND_ADDRESS:
		break;
	}
	for (size_t i = len; i > 0; i--)
		if (key[i - 1] == '@') {
			at = key + i - 1;
			break;
		}
	if (at == NULL)
		return;
	add_step(w, key, len, NULL, 0, 0);
	split = ext_split(key, (size_t)(at - key), cfg->recipient_delimiter);
	if (split) {
		w->extlen = (size_t)(at - key) - split;
		w->ext = xstrndup(key + split, w->extlen);
		add_step(w, key, split, at, (size_t)(key + len - at), 1);
	}
	if (m->catchall)
		add_step(w, at, (size_t)(key + len - at), NULL, 0, 0);
}

void
maps_walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->step[i]);
	free(w->ext);
	memset(w, 0, sizeof(*w));
}

static int
is_address_item(const char *s, size_t len)
{
	return len > 0 && s[0] != '/' && memchr(s, '@', len) != NULL &&
	    memchr(s, ':', len) == NULL;
}

void
maps_answer(const struct cfg_map *m, const struct walk *w, size_t i,
    const char *val, size_t vlen, struct buf *out)
{
	const char *p = val, *end = val + vlen;

	if (i >= w->n || !w->carries_ext[i] || w->ext == NULL ||
	    m->kind != CFG_KIND_ADDRESS) {
		buf_append(out, val, vlen);
		return;
	}
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *item_end = comma ? comma : end;
		size_t ilen = (size_t)(item_end - p);

		if (is_address_item(p, ilen)) {
			const char *at = p + ilen;

			while (at[-1] != '@')
				at--;
			at--;
			buf_append(out, p, (size_t)(at - p));
			buf_append(out, w->ext, w->extlen);
			buf_append(out, at, (size_t)(item_end - at));
		} else {
			buf_append(out, p, ilen);
		}
		if (comma == NULL)
			break;
		buf_putc(out, ',');
		p = comma + 1;
	}
}

/* Apply the map's format ("%s" = the value, "%%" = '%') into out. */
static void
format_value(const struct cfg_map *m, const char *v, size_t vlen,
    struct buf *out)
{
	const char *f = m->format ? m->format : "%s";

	buf_reset(out);
	for (; *f; f++) {
		if (f[0] == '%' && f[1] == 's') {
			buf_append(out, v, vlen);
			f++;
		} else if (f[0] == '%' && f[1] == '%') {
			buf_putc(out, '%');
			f++;
		} else {
			buf_putc(out, *f);
		}
	}
}

/* What one entry gives besides its keys. */
struct pairs {
	const struct cfg_map *m;
	const struct lentry *e;
	maps_emit_fn emit;
	void *arg;
	size_t *bad;
	const char *dn;
	const char *fwd;	/* apple Forward: the only answer */
	struct buf val;
};

/*
 * The answers for key (klen bytes, lowercase) found in a value of key
 * attribute kattr; self (slen bytes) is the value as the entry holds it
 * (qualified with its domain for a short name).
 */
static void
key_values(struct pairs *x, const char *kattr, const char *key, size_t klen,
    const char *self, size_t slen)
{
	const struct cfg_map *m = x->m;

	if (!in_domains(m, key, klen))
		return;
	if (x->fwd != NULL) {
		format_value(m, x->fwd, strlen(x->fwd), &x->val);
		x->emit(key, klen, x->val.p, x->val.len, x->dn, x->arg);
		return;
	}
	if (m->key_domain) {
		format_value(m, key, klen, &x->val);
		x->emit(key, klen, x->val.p, x->val.len, x->dn, x->arg);
		return;
	}
	for (size_t r = 0; r < m->result.n; r++) {
		const struct lval *rv;
		size_t nr, given = 0;

		if (m->values != CFG_VALUES_FIRST &&
		    strcasecmp(m->result.v[r], kattr) == 0) {
			/* The matched value itself; a domain answers in the
			 * key's lowercase. */
			if (m->kind == CFG_KIND_DOMAIN)
				format_value(m, key, klen, &x->val);
			else
				format_value(m, self, slen, &x->val);
			x->emit(key, klen, x->val.p, x->val.len, x->dn, x->arg);
			if (m->values != CFG_VALUES_ALL)
				return;
			continue;
		}
		nr = lentry_values(x->e, m->result.v[r], &rv);
		for (size_t j = 0; j < nr; j++) {
			if (rv[j].len == 0 || has_control(rv[j].ptr, rv[j].len)) {
				if (x->bad)
					(*x->bad)++;
				continue;
			}
			format_value(m, rv[j].ptr, rv[j].len, &x->val);
			x->emit(key, klen, x->val.p, x->val.len, x->dn, x->arg);
			given++;
			if (m->values == CFG_VALUES_FIRST)
				break;
		}
		if (given > 0 && m->values != CFG_VALUES_ALL)
			return;
	}
}

/*
 * apple_mail: what the entry's one apple-user-mailattribute says.  1 when
 * the entry answers (x->fwd set for a forward), 0 when it does not (Off,
 * Forward in a map without forwards, no or an unreadable value: lint
 * reports those).
 */
static int
apple_state(struct pairs *x, struct applemail *am)
{
	const struct lval *v;
	char why[128];

	if (lentry_values(x->e, MAPS_APPLE_ATTR, &v) != 1)
		return 0;
	if (applemail_parse(v[0].ptr, v[0].len, am, why, sizeof(why)) != 0) {
		if (x->bad)
			(*x->bad)++;
		return 0;
	}
	if (am->state == APPLEMAIL_ENABLED)
		return 1;
	if (am->state == APPLEMAIL_FORWARD &&
	    x->m->apple == CFG_APPLE_FORWARD && am->forward[0] != '\0' &&
	    !has_control(am->forward, strlen(am->forward))) {
		x->fwd = am->forward;
		return 1;
	}
	return 0;
}

void
maps_entry_pairs(const struct cfg_map *m, const struct lentry *e,
    maps_emit_fn emit, void *arg, size_t *bad)
{
	struct pairs x = { m, e, emit, arg, bad, lentry_dn(e), NULL, BUF_INIT };
	struct buf key = BUF_INIT, self = BUF_INIT;
	struct applemail am;

	if (m->apple != CFG_APPLE_NO && !apple_state(&x, &am))
		return;
	for (size_t a = 0; a < m->key.n; a++) {
		const struct lval *kv;
		size_t nk = lentry_values(e, m->key.v[a], &kv);

		for (size_t k = 0; k < nk; k++) {
			const char *v = kv[k].ptr, *at;
			size_t vlen = kv[k].len;

			if (vlen == 0 || has_control(v, vlen)) {
				if (bad)
					(*bad)++;
				continue;
			}
			at = memrchr(v, '@', vlen);
			if (m->key_domain && at != NULL) {
				/* The domain of an address. */
				vlen -= (size_t)(at + 1 - v);
				v = at + 1;
				at = NULL;
			} else if (m->short_names && at == NULL) {
				/* A name in every local domain. */
				for (size_t q = 0; q < m->qualify.n; q++) {
					const char *d = m->qualify.v[q];

					buf_reset(&key);
					buf_reset(&self);
					if (m->kind != CFG_KIND_DOMAIN) {
						buf_append(&self, v, vlen);
						buf_putc(&self, '@');
					}
					buf_puts(&self, d);
					buf_append(&key, self.p, self.len);
					maps_lower(key.p, key.len);
					key_values(&x, m->key.v[a], key.p,
					    key.len, self.p, self.len);
				}
				continue;
			} else if (m->key_domain) {
				continue;	/* not an address */
			}
			if (m->kind == CFG_KIND_DOMAIN && v[vlen - 1] == '.')
				vlen--;
			if (vlen == 0)
				continue;
			buf_reset(&key);
			buf_append(&key, v, vlen);
			maps_lower(key.p, key.len);
			key_values(&x, m->key.v[a], key.p, key.len, v, vlen);
		}
	}
	buf_free(&key);
	buf_free(&self);
	buf_free(&x.val);
}

/* The domain of step s (len bytes) when it is one of m's local domains. */
static int
local_domain(const struct cfg_map *m, const char *d, size_t len)
{
	for (size_t q = 0; q < m->qualify.n; q++)
		if (strlen(m->qualify.v[q]) == len &&
		    memcmp(m->qualify.v[q], d, len) == 0)
			return 1;
	return 0;
}

void
maps_live_filter(const struct cfg_map *m, const struct walk *w,
    struct buf *out)
{
	buf_puts(out, "(&");
	buf_puts(out, m->filter);
	buf_puts(out, "(|");
	for (size_t i = 0; i < w->n; i++)
		for (size_t a = 0; a < m->key.n; a++) {
			const char *s = w->step[i], *at;
			size_t len = w->steplen[i];

			if (m->key_domain || (m->short_names &&
			    m->kind == CFG_KIND_DOMAIN)) {
				if (m->key_domain) {
					/* (attr=*@DOMAIN) */
					buf_printf(out, "(%s=*@", m->key.v[a]);
					ldapesc_filter_buf(out, s, len);
					buf_putc(out, ')');
				}
				if (m->short_names && local_domain(m, s, len))
					buf_printf(out, "(&(%s=*)(!(%s=*@*)))",
					    m->key.v[a], m->key.v[a]);
				continue;
			}
			buf_putc(out, '(');
			buf_puts(out, m->key.v[a]);
			buf_putc(out, '=');
			ldapesc_filter_buf(out, s, len);
			buf_putc(out, ')');
			/* A short name: the local part in a local domain. */
			at = memchr(s, '@', len);
			if (m->short_names && at != NULL && at > s &&
			    local_domain(m, at + 1, (size_t)(s + len - at - 1))) {
				buf_putc(out, '(');
				buf_puts(out, m->key.v[a]);
				buf_putc(out, '=');
				ldapesc_filter_buf(out, s, (size_t)(at - s));
				buf_putc(out, ')');
			}
		}
	buf_puts(out, "))");
}

static size_t
add_attr(const char **v, size_t n, const char *a)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i], a) == 0)
			return n;
	v[n] = a;
	return n + 1;
}

const char **
maps_attrs(const struct cfg_map *const *maps, size_t n)
{
	size_t total = 1, k = 0;
	const char **v;

	for (size_t i = 0; i < n; i++)
		total += maps[i]->key.n + maps[i]->result.n + 1;
	v = xcalloc(total, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < maps[i]->key.n; j++)
			k = add_attr(v, k, maps[i]->key.v[j]);
		for (size_t j = 0; j < maps[i]->result.n; j++)
			k = add_attr(v, k, maps[i]->result.v[j]);
		if (maps[i]->apple != CFG_APPLE_NO)
			k = add_attr(v, k, MAPS_APPLE_ATTR);
	}
	v[k] = NULL;
	return v;
}
