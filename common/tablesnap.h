/*
 * tablesnap: every answer of an enumerable ldap_table(5) map, computed
 * from one read of its entries instead of one search per key.  Pure:
 * entries in (as the directory gave them), (key, answer) pairs out.
 *
 * The caller reads the candidate entries (tablesnap_read_filter(): the
 * query_filter with each test on the key made a presence test, under
 * search_base and scope, attributes tablesnap_read_attrs()), then, if
 * the table has special_result_attribute, the entries their DNs name
 * (tablesnap_unresolved(): a read of search_base's subtree covers most,
 * tablesnap_cover(); the others one by one), and asks for the answers.
 *
 * Keys: each value of the attributes the key is compared with (the
 * tableclass key attributes) folded as Postfix folds keys, as is and
 * prepared as RFC 4518 says.  For each key the original filter,
 * expanded as Postfix expands it, is evaluated on the entries holding
 * a value equal to the key (common/matchrule.c, each attribute's rule
 * from the subschema; of a filter that is an AND, only the conjuncts
 * with the key: the read filter keeps the others as they are, so the
 * server found them TRUE on every candidate), and the answer is made
 * from the matching entries step for step as lookupd/pfldap.c makes it
 * live (result attributes, result_format, special, leaf and terminal
 * attributes, recursion_limit, expansion_limit, size_limit).  A key
 * whose answer is Postfix's error comes out as TABLESNAP_TEMP with the
 * reason.
 *
 * Never a guess: anything that cannot be decided exactly (a 'cannot'
 * of matchrule, a non-ASCII value under a Unicode rule, keys from an
 * attribute whose rule lets unlike text be equal, an LDAP URL or a DN
 * it cannot compare among the special values, an entry DN it cannot
 * compare when special values must be found) makes tablesnap_answers()
 * fail with the reason: the map is then answered live.
 *
 * Completeness: every key Postfix could send that has an answer is
 * among the keys given, except keys that differ from a value only in
 * insignificant spaces or controls (" alice@example.com") or that hold
 * non-ASCII text; tablesnap_key_complete() says whether a key not among
 * them is surely not found.
 */
#ifndef LDAPMAIL_TABLESNAP_H
#define LDAPMAIL_TABLESNAP_H

#include <stddef.h>

struct buf;
struct ldaptable;
struct mr_value;
struct tablesnap;

/* The first byte of the key under which a TEMP answer's reason is
 * stored in a snapshot (key: this byte, then the lookup key).  Postfix
 * never asks for such a key; lookupd refuses keys with control bytes. */
#define TABLESNAP_TEMP_MARK	'\001'

enum tablesnap_kind { TABLESNAP_FOUND, TABLESNAP_TEMP };

/* The EQUALITY rule of attr (from the subschema), or NULL. */
typedef const char *(*tablesnap_rule_fn)(const char *attr, void *arg);
typedef void (*tablesnap_emit_fn)(const char *key, size_t klen,
    enum tablesnap_kind kind, const char *val, size_t vlen, void *arg);

/* The filter that reads the candidate entries: t's query_filter with
 * each equality on an expansion made a presence test and each negation
 * holding an expansion made (objectClass=*).  Appended to out. */
void tablesnap_read_filter(const struct ldaptable *t, struct buf *out);
/* t's attributes and those its filter tests (of an AND, those its
 * conjuncts with the key test), NULL-terminated (free() the array; the
 * strings are t's). */
const char **tablesnap_read_attrs(const struct ldaptable *t);

/* A computation for table t whose keys come from key_attrs (tableclass:
 * copied); rule gives each attribute's equality rule. */
struct tablesnap *tablesnap_new(const struct ldaptable *t,
    const char *const *key_attrs, size_t nkey_attrs, tablesnap_rule_fn rule,
    void *arg);
/* One entry of the candidate read (candidate 1) or one a special value
 * may name (0).  An entry already known is ignored with its attributes. */
void tablesnap_entry(struct tablesnap *s, const char *dn, int candidate);
/* One attribute occurrence of the last entry (name without options),
 * its values as the server listed them. */
void tablesnap_attr(struct tablesnap *s, const char *name, size_t len,
    const struct mr_value *vals, size_t nvals);
/* Every entry under base (its subtree) has been given: a DN under it
 * that is not known does not exist (for the bind identity). */
void tablesnap_cover(struct tablesnap *s, const char *base);
/* Call fn once for each DN a special value names that is neither known
 * nor covered; each must then be given (tablesnap_entry) or declared
 * absent.  Returns how many; 0: everything is known. */
size_t tablesnap_unresolved(struct tablesnap *s,
    void (*fn)(const char *dn, void *arg), void *arg);
void tablesnap_absent(struct tablesnap *s, const char *dn);
/* The caller could not read what is needed: answers fail with why. */
void tablesnap_cannot(struct tablesnap *s, const char *why);

/* Emit every key's answer (FOUND: the values joined with ',' as Postfix
 * returns them; TEMP: the reason).  0, or -1 with the reason why the
 * map cannot be computed in err. */
int tablesnap_answers(struct tablesnap *s, tablesnap_emit_fn emit, void *arg,
    char *err, size_t errsz);
size_t tablesnap_entries(const struct tablesnap *s);
/* For tests: group the key index by the low bits (1-64) of the hash
 * of each value's coarse form instead of 33, before the answers: unlike
 * values then share runs, and the answers must not change. */
void tablesnap_index_bits(struct tablesnap *s, int bits);
void tablesnap_free(struct tablesnap *s);

/* 1 when key (lowercased) missing from a map's answers is surely not
 * found by Postfix: printable ASCII, no leading, trailing or double
 * space.  Other keys must be asked live. */
int tablesnap_key_complete(const char *key, size_t len);

#endif
