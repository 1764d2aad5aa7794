/*
 * tablebuild: the answers of one enumerable ldap_table map, read from
 * its directory (common/tablesnap.c computes them): the server's
 * subschema (each attribute's equality rule), one paged read of the
 * candidate entries under search_base, and, when the table has
 * special_result_attribute, one paged read of search_base's subtree and
 * a base read of each DN outside it (TABLEBUILD_MAX_DN_READS at most).
 * Everything through the table's own session (pfldap), so the bind
 * identity sees what Postfix's ldap: client sees.
 *
 * tablebuild_answers() is the interface for anyone who needs a map's
 * answers (the snapshot, `lookupd verify`); tablebuild_writer() fills a
 * snapshot writer with them: FOUND answers under their key, TEMP ones
 * (Postfix's errors: a limit exceeded) under TABLESNAP_TEMP_MARK + key,
 * which decide() answers TEMP and Postfix never asks for.
 */
#ifndef LDAPMAIL_TABLEBUILD_H
#define LDAPMAIL_TABLEBUILD_H

#include <stddef.h>

#include "common/tablesnap.h"

struct cfg;
struct cfg_map;
struct pfldap;
struct snapwriter;

#define TABLEBUILD_MAX_DN_READS	1000

enum tablebuild_status {
	TABLEBUILD_OK,
	TABLEBUILD_CANNOT,	/* not computable exactly: answer live */
	TABLEBUILD_TEMP		/* LDAP could not be read: try later */
};

/* Read the entries of p's table and emit every key's answer; *entries
 * (may be NULL) gets how many entries were read.  The reason in err
 * unless OK. */
enum tablebuild_status tablebuild_answers(struct pfldap *p,
    tablesnap_emit_fn emit, void *arg, size_t *entries, char *err,
    size_t errsz);
/* A writer of <cache_dir>/<map>.cdb holding map m's answers, read now
 * (commit or abort it); NULL unless OK. */
enum tablebuild_status tablebuild_writer(const struct cfg *cfg,
    const struct cfg_map *m, struct snapwriter **out, size_t *entries,
    char *err, size_t errsz);
/* Remove <cache_dir>/<map>.cdb and its digest (a map answered live
 * must not be answered from an old file). */
void tablebuild_remove(const struct cfg *cfg, const struct cfg_map *m);

#endif
