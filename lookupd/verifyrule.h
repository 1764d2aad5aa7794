/*
 * verifyrule: the pure parts of `lookupd verify` (verify.c): reading a
 * key file and comparing two answers.  No I/O, no globals.
 *
 * A key file holds one key per line, as `postmap -q -` reads them: the
 * line is the key, a trailing CR dropped (a file from Windows), empty
 * lines skipped.  Keys are lowercased (ASCII) as the daemon lowercases a
 * key before it looks into a snapshot.  A line holding another control
 * byte or longer than VERIFY_KEY_MAX bytes is an error naming the line.
 *
 * Two answers are the same when both are not found, or both found with
 * the same values compared as a set (an answer is its values joined by
 * ",", as Postfix returns them and as the cdb file stores them: order and
 * repeats do not count), or both an error (TEMP: Postfix defers the mail
 * either way, whatever the reason).
 *
 * A snapshot record whose key starts with VERIFY_TEMP_MARK holds a TEMP
 * answer (its reason) for the rest of the key: an ldap_table map's
 * snapshot keeps Postfix's errors (a limit exceeded) so (tablebuild
 * writes them, common/tablesnap.h names the byte).
 */
#ifndef LDAPMAIL_VERIFYRULE_H
#define LDAPMAIL_VERIFYRULE_H

#include <stddef.h>

#include "common/tablesnap.h"

#define VERIFY_KEY_MAX	4096

enum verify_kind { VERIFY_NOTFOUND, VERIFY_FOUND, VERIFY_ERROR };

struct verify_answer {
	enum verify_kind kind;
	const char *val;	/* FOUND: values joined by ","; ERROR: why */
	size_t len;
};

#define VERIFY_TEMP_MARK	TABLESNAP_TEMP_MARK

/* The answer a snapshot record (key, val) gives and for which key (into
 * *k, *klen: the record's key, or the rest of it after the mark). */
void verify_record(const char *key, size_t klen, const char *val,
    size_t vlen, struct verify_answer *a, const char **k, size_t *kl);

/* 1 when a and b differ (see above), 0 when they are the same. */
int verify_differs(const struct verify_answer *a,
    const struct verify_answer *b);

/* The next key of text[*pos..len): 1 with the key (lowercased) copied
 * into key (keysz > VERIFY_KEY_MAX), its length in *klen and its line
 * number in *line; 0 at the end; -1 with "line N: why" in err.  *pos and
 * *line start at 0 and are carried from call to call. */
int verify_key_next(const char *text, size_t len, size_t *pos,
    size_t *line, char *key, size_t keysz, size_t *klen, char *err,
    size_t errsz);

#endif
