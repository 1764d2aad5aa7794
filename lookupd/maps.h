/*
 * maps: the rules of a map, without any I/O.
 *
 * Postfix sends socketmap/tcp tables the full key only, so the walk that
 * Postfix does itself on a cdb table happens here: case folding, the
 * address extension (user+ext@dom -> user@dom, carried into alias answers
 * as Postfix's propagate_unmatched_extensions does), the catch-all @dom,
 * a domain's trailing dot.  Both the snapshot path and the live LDAP path
 * use the same walk and the same entry -> (key, value) rule, so they
 * cannot disagree.
 */
#ifndef LDAPMAIL_MAPS_H
#define LDAPMAIL_MAPS_H

#include <stddef.h>

#include "common/cfg.h"

struct buf;
struct lentry;

#define WALK_MAX 3

/* Where apple_mail maps read the mail state. */
#define MAPS_APPLE_ATTR "apple-user-mailattribute"

struct walk {
	size_t n;			/* 0: answer NOTFOUND without looking */
	char *step[WALK_MAX];		/* lowercased keys, in order */
	size_t steplen[WALK_MAX];
	int carries_ext[WALK_MAX];	/* answer of this step gets the ext */
	char *ext;			/* delimiter + extension, or NULL */
	size_t extlen;
};

/* Compute the keys to try for key (len bytes, as the client sent it). A key
 * holding a control byte, an address-map key without '@', or a key outside
 * the domains of the map's file ("domain = ...") yields n = 0. */
void maps_walk(const struct cfg *cfg, const struct cfg_map *m,
    const char *key, size_t len, struct walk *w);
void maps_walk_free(struct walk *w);

/* Append the answer for a value found at step i of w: the extension is
 * inserted before the '@' of every address in it when that step carries
 * it.  Values are comma-separated. */
void maps_answer(const struct cfg_map *m, const struct walk *w, size_t i,
    const char *val, size_t vlen, struct buf *out);

/* Every (key, value) pair entry e contributes to map m: keys are values of
 * m->key attributes (lowercased; a domain's trailing dot dropped); values
 * are those of m->result through m->format, except that a result
 * attribute that is also the key's own attribute contributes only the
 * matched value (a domain answers itself, not its siblings).  Values
 * holding control bytes are skipped (and counted in *bad if not NULL).
 * The map's short_names, key_domain, result_values and apple_mail apply
 * here (see ldapmail.conf(5)); an unreadable apple plist counts in *bad. */
typedef void (*maps_emit_fn)(const char *key, size_t klen, const char *val,
    size_t vlen, const char *dn, void *arg);
void maps_entry_pairs(const struct cfg_map *m, const struct lentry *e,
    maps_emit_fn emit, void *arg, size_t *bad);

/* The LDAP filter that finds the entries holding any key of w:
 * (&FILTER(|(k1=v1)(k2=v1)...)), every value RFC 4515-escaped. */
void maps_live_filter(const struct cfg_map *m, const struct walk *w,
    struct buf *out);

/* NULL-terminated attribute list: keys and results, without repeats.
 * Free with free(). */
const char **maps_attrs(const struct cfg_map *const *maps, size_t n);

/* Lowercase ASCII in place. */
void maps_lower(char *s, size_t len);

#endif
