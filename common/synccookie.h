/*
 * synccookie: the RFC 4533 cookie of a snapshot, kept beside it as
 * <dir>/<name>.cookie with the ldap_uri entry that issued it, so that a
 * restart resumes the stream where the snapshot stands.
 *
 * Written as snapshots are: a temporary file in <dir>, fsynced, renamed
 * into place (then the directory fsynced); a reader sees the old file or
 * the new one, never a torn one.  The file is small text:
 *     ldapmail sync cookie 1
 *     server ldap://ldap1.example.org/
 *     cookie rid=000,csn=20261204180252.333779Z#000000#000#000000
 * ("cookie-hex HEX" when the cookie holds bytes outside printable ASCII).
 * Limits: a cookie of at most 4096 bytes, a server of at most 1024.
 */
#ifndef LDAPMAIL_SYNCCOOKIE_H
#define LDAPMAIL_SYNCCOOKIE_H

#include <stddef.h>

#define SYNCCOOKIE_MAX 4096

/* Store cookie (len bytes, 1..SYNCCOOKIE_MAX) and server; 0, or -1 with
 * err (what was in place stays). */
int synccookie_save(const char *dir, const char *name, const char *server,
    const char *cookie, size_t len, char *err, size_t errsz);
/* 1: *server and *cookie (len bytes, NUL-terminated) are fresh strings to
 * free; 0: there is none; -1: unreadable or damaged (err): do as if
 * there were none, with a full refresh. */
int synccookie_load(const char *dir, const char *name, char **server,
    char **cookie, size_t *len, char *err, size_t errsz);
/* Remove it (a full refresh is under way); 0, or -1 with err. */
int synccookie_remove(const char *dir, const char *name, char *err,
    size_t errsz);

#endif
