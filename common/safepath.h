/*
 * safepath: checks of the paths and names that come from the directory
 * before anything touches the file system with them.
 *
 * Pure text checks, no I/O: they say whether a string may be used, never
 * "repair" it.  Following no symlink is the job of the walk that uses
 * the path (openat + O_NOFOLLOW), not of these checks.
 */
#ifndef LDAPMAIL_SAFEPATH_H
#define LDAPMAIL_SAFEPATH_H

#include <stddef.h>

/* Components that begin with this belong to ldap-maildirmake itself (its
 * temporary names and lock file, with or without a leading dot): a path
 * or name from the directory may not hold one. */
#define SAFEPATH_RESERVED "ldap-maildirmake."

enum safepath_err {
	SAFEPATH_OK = 0,
	SAFEPATH_EMPTY,		/* nothing at all */
	SAFEPATH_NUL,		/* a NUL byte inside */
	SAFEPATH_CONTROL,	/* a control character (0x01-0x1f, 0x7f) */
	SAFEPATH_RELATIVE,	/* does not start with "/" */
	SAFEPATH_NOT_NORMAL,	/* "//", "." or ".." component */
	SAFEPATH_TOO_LONG,	/* >= PATH_MAX, or a component > NAME_MAX */
	SAFEPATH_OUTSIDE,	/* not strictly below the base */
	SAFEPATH_RESERVED_NAME,	/* a component of ldap-maildirmake's own */
	SAFEPATH_SLASH,		/* a name holds "/" */
	SAFEPATH_DOT,		/* a name is "." or ".." */
	SAFEPATH_LEADING_DOT,	/* a folder name starts with "." */
	SAFEPATH_EMPTY_LEVEL,	/* a folder name has an empty level ("a..b") */
	SAFEPATH_UTF8		/* not valid UTF-8 */
};

/* A short English text for an error ("contains \"..\"", ...). */
const char *safepath_strerror(enum safepath_err e);

/* path (len bytes): absolute, normalized (no empty, "." or ".."
 * component; one trailing "/" allowed), no control character, no
 * reserved component, shorter than PATH_MAX. */
enum safepath_err safepath_check(const char *path, size_t len);

/* safepath_check(), and strictly below base (an absolute normalized
 * path without trailing "/", "/" itself allowed): on success *relpos is
 * the offset in path of the part below base (no leading "/"). */
enum safepath_err safepath_under(const char *base, const char *path,
    size_t len, size_t *relpos);

/* name (len bytes) as one path component: not empty, no "/", not "." or
 * "..", no control character, not reserved, at most NAME_MAX bytes. */
enum safepath_err safepath_component(const char *name, size_t len);

/* A Courier folder name (becomes the directory ".NAME" of a maildir):
 * a component as above of at most NAME_MAX - 1 bytes, valid UTF-8, not
 * starting with "." (maildirmake refuses it) and without an empty
 * hierarchy level ("a..b", "a."), which no IMAP client can name. */
enum safepath_err safepath_folder(const char *name, size_t len);

/* 1 if s (len bytes) is valid UTF-8 (shortest forms, no surrogates,
 * at most U+10FFFF), else 0. */
int safepath_utf8(const char *s, size_t len);

#endif
