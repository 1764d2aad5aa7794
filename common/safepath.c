/*
 * safepath: text checks of directory-supplied paths and names (see
 * safepath.h).  ldap-maildirmake runs as root over mailMessageStore,
 * uid and postOfficeBox values anyone with write access to the directory
 * can set; these checks are the first of two walls (the second is the
 * O_NOFOLLOW walk in maildirmake/maildir.c).
 *
 * Everything is decided on the bytes as given: no case folding, no
 * Unicode normalization, no trimming.  A value that needs any of these is
 * refused, not fixed.
 */
#include <limits.h>
#include <string.h>

#include "common/safepath.h"

const char *
safepath_strerror(enum safepath_err e)
{
	switch (e) {
	case SAFEPATH_OK:		return "ok";
	case SAFEPATH_EMPTY:		return "is empty";
	case SAFEPATH_NUL:		return "contains a NUL byte";
	case SAFEPATH_CONTROL:		return "contains a control character";
	case SAFEPATH_RELATIVE:		return "is not an absolute path";
	case SAFEPATH_NOT_NORMAL:	return "is not normalized (contains "
					    "\"//\", \".\" or \"..\")";
	case SAFEPATH_TOO_LONG:		return "is too long";
	case SAFEPATH_OUTSIDE:		return "is not inside mail_base";
	case SAFEPATH_RESERVED_NAME:	return "has a component reserved for "
					    "ldap-maildirmake";
	case SAFEPATH_SLASH:		return "contains \"/\"";
	case SAFEPATH_DOT:		return "is \".\" or \"..\"";
	case SAFEPATH_LEADING_DOT:	return "starts with \".\"";
	case SAFEPATH_EMPTY_LEVEL:	return "has an empty folder level "
					    "(\"..\" or a trailing \".\")";
	case SAFEPATH_UTF8:		return "is not valid UTF-8";
	}
	return "is invalid";
}

static int
is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static int
is_reserved(const char *p, size_t n)
{
	size_t rl = sizeof(SAFEPATH_RESERVED) - 1;

	if (n > 0 && p[0] == '.') {
		p++;
		n--;
	}
	return n >= rl && memcmp(p, SAFEPATH_RESERVED, rl) == 0;
}

/* The checks every byte of a path or name gets. */
static enum safepath_err
check_bytes(const char *s, size_t len)
{
	if (len == 0)
		return SAFEPATH_EMPTY;
	if (memchr(s, '\0', len) != NULL)
		return SAFEPATH_NUL;
	for (size_t i = 0; i < len; i++)
		if (is_control((unsigned char)s[i]))
			return SAFEPATH_CONTROL;
	return SAFEPATH_OK;
}

enum safepath_err
safepath_check(const char *path, size_t len)
{
	enum safepath_err e;
	const char *p, *end, *slash;

	if ((e = check_bytes(path, len)) != SAFEPATH_OK)
		return e;
	if (path[0] != '/')
		return SAFEPATH_RELATIVE;
	if (len >= PATH_MAX)
		return SAFEPATH_TOO_LONG;
	end = path + len;
	if (len > 1 && end[-1] == '/') {
		end--;		/* the one trailing "/" of a maildir path */
		if (end[-1] == '/')
			return SAFEPATH_NOT_NORMAL;	/* "//" at the end */
	}
	for (p = path + 1; p < end; p = slash + 1) {
		size_t n;

		slash = memchr(p, '/', (size_t)(end - p));
		if (slash == NULL)
			slash = end;
		n = (size_t)(slash - p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return SAFEPATH_NOT_NORMAL;
		if (n > NAME_MAX)
			return SAFEPATH_TOO_LONG;
		if (is_reserved(p, n))
			return SAFEPATH_RESERVED_NAME;
	}
	return SAFEPATH_OK;
}

enum safepath_err
safepath_under(const char *base, const char *path, size_t len,
    size_t *relpos)
{
	enum safepath_err e;
	size_t bl = strlen(base);

	if ((e = safepath_check(path, len)) != SAFEPATH_OK)
		return e;
	if (bl == 1 && base[0] == '/') {
		/* Everything absolute is below "/", but not "/" itself. */
		if (len < 2)
			return SAFEPATH_OUTSIDE;
		*relpos = 1;
		return SAFEPATH_OK;
	}
	/* base + "/" + at least one byte that is not "/". */
	if (len - 1 <= bl || memcmp(path, base, bl) != 0 || path[bl] != '/' ||
	    path[bl + 1] == '/')
		return SAFEPATH_OUTSIDE;
	*relpos = bl + 1;
	return SAFEPATH_OK;
}

enum safepath_err
safepath_component(const char *name, size_t len)
{
	enum safepath_err e;

	if ((e = check_bytes(name, len)) != SAFEPATH_OK)
		return e;
	if (memchr(name, '/', len) != NULL)
		return SAFEPATH_SLASH;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return SAFEPATH_DOT;
	if (len > NAME_MAX)
		return SAFEPATH_TOO_LONG;
	if (is_reserved(name, len))
		return SAFEPATH_RESERVED_NAME;
	return SAFEPATH_OK;
}

enum safepath_err
safepath_folder(const char *name, size_t len)
{
	enum safepath_err e;

	if ((e = safepath_component(name, len)) != SAFEPATH_OK)
		return e;
	if (len > NAME_MAX - 1)
		return SAFEPATH_TOO_LONG;	/* the directory is ".NAME" */
	if (name[0] == '.')
		return SAFEPATH_LEADING_DOT;
	if (name[len - 1] == '.' || memmem(name, len, "..", 2) != NULL)
		return SAFEPATH_EMPTY_LEVEL;
	if (!safepath_utf8(name, len))
		return SAFEPATH_UTF8;
	return SAFEPATH_OK;
}

int
safepath_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len;

	while (p < end) {
		unsigned char c = *p;
		size_t n;
		unsigned long cp, min;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1; cp = c & 0x1f; min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2; cp = c & 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; cp = c & 0x07; min = 0x10000;
		} else {
			return 0;	/* continuation byte, 0xc0/0xc1, > 0xf4 */
		}
		if ((size_t)(end - p) < n + 1)
			return 0;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}
