/*
 * cfg: the parser of /etc/ldapmail/ldapmail.conf (see SPEC "Configuration").
 *
 * The file is untrusted input of at most 4 MiB: physical lines of at most
 * 64 KiB, no NUL or control byte but tab (a CR before the LF is dropped),
 * and so are values after $-expansion.  Processing goes logical line by
 * logical line, as Postfix's readlline(): blank and "#" lines are skipped
 * (they do not end a logical line), a line starting with white space
 * continues the previous one, joined with one space.
 *
 * Every value is expanded and checked when its line is read, so an error
 * always points at the line that holds it, even when a later line would
 * override it.  $name expands the text of a parameter defined earlier:
 * any global (a default counts as defined) and, inside a map section, that
 * map's own earlier parameters.  A global without a value, an unknown name
 * and a lone "$" are errors: "$$" is a literal "$".  $bind_pw expands
 * nowhere, and no message quotes a piece of a bind_pw value (a line
 * without "=" is not quoted when its first word looks like a password's).
 *
 * What only the whole file can tell (required parameters, bind_dn and its
 * password, the built-in profile, tcp_listen naming a defined map, one
 * endpoint listed twice) is checked at the end.  Messages read
 * "FILE:LINE: text" ("FILE: text" for what no line holds); values in them
 * go through log_printable().
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/ldaptable.h"
#include "common/log.h"
#include "common/profile.h"
#include "common/safepath.h"

#define CFG_FILE_MAX	(4 * 1024 * 1024)	/* the file is smaller */
#define CFG_LINE_MAX	65536			/* a line, and a value */
#define CFG_MAPNAME_MAX	64
#define CFG_PW_MAX	4096
#define CFG_SUN_PATH_MAX 107			/* sizeof(sun_path) - 1 */
#define CFG_FOLDERS_MAX	64			/* default_folders */
/* include = GLOB */
#define CFG_INCLUDE_DEPTH	8		/* files including files */
#define CFG_INCLUDE_FILES	1000		/* files in all */
#define CFG_INCLUDE_BYTES	(64 * 1024 * 1024)	/* read in all */

/* Global parameters, in the order of the SPEC table. */
enum {
	G_LDAP_URI, G_BIND_DN, G_BIND_PW, G_BIND_PW_FILE,
	G_BIND_PW_FILE_READABLE, G_TLS,
	G_TLS_CA_FILE, G_TLS_REQUIRE_CERT,
	G_SASL_MECH, G_SASL_AUTHZ_ID, G_TLS_CERT_FILE, G_TLS_KEY_FILE,
	G_LDAP_TIMEOUT, G_DOMAIN_BASE,
	G_ACCOUNT_BASE, G_SOCKETMAP_LISTEN, G_TCP_LISTEN, G_CACHE_DIR,
	G_REFRESH, G_MISS_LOOKUP, G_NEGATIVE_TTL, G_MIN_REFRESH, G_MAX_STALE,
	G_RECIPIENT_DELIMITER, G_USER, G_GROUP, G_SOCKET_GROUP,
	G_SOCKET_MODE, G_MAX_CONNECTIONS, G_IDLE_TIMEOUT,
	G_MAX_REQUEST_SIZE, G_MAIL_BASE, G_MAIL_OWNER, G_SHARED_DIR,
	G_SHARED_MAILDIRS_DIR,
	G_DEFAULT_FOLDERS,
	G_FAILBACK,			/* failover between ldap_uri entries */
	G_SYNC, G_PERSIST_FLUSH,	/* RFC 4533 persist sync */
	G_PROFILE, G_LOCAL_DOMAINS,	/* directory designs */
	G_METRICS_FILE, G_METRICS_INTERVAL,	/* lookupd's metrics file */
	G_ACCOUNT_FILTER,
	G_STATE_DIR, G_ADOPT_ORPHANS,	/* ldap-maildirmake's orphans */
	G_COUNT
};

enum {
	M_BASE, M_SCOPE, M_FILTER, M_KEY, M_RESULT, M_FORMAT, M_KIND,
	M_CATCHALL, M_SINGLE, M_SHORT_NAMES, M_KEY_DOMAIN, M_VALUES, M_APPLE,
	M_LDAP_TABLE,
	M_COUNT
};

struct pstate {
	struct cfg *cfg;
	char *err;
	size_t errsz;
	const char *file;		/* the file at work (main or included) */
	int line;			/* of the logical line at work */
	int in_map;			/* cfg->maps[n_maps - 1] is open */
	char *gtext[G_COUNT];		/* text for $name; NULL: no value */
	int gline[G_COUNT];		/* 0: default or never set */
	char *mtext[M_COUNT];		/* of the open map */
	int mline[M_COUNT];
	char show[2][LOG_PRINTABLE_SIZE];	/* values in messages */

	/* include = GLOB (NULL files: parsing from memory, no include) */
	const struct cfg_files *files;
	int depth;			/* 0 in the main file */
	struct strlist ids;		/* every file read, main first */
	struct strlist where;		/* "FILE:LINE" that included each */
	char *stack[CFG_INCLUDE_DEPTH + 1];	/* ids being read */
	size_t bytes;			/* read by include so far */
	/* An included file's "domain" and "account_filter" (inherited by
	 * the files it includes), given to its map sections. */
	struct strlist fdomains;
	char *ffilter;
	int fline;			/* the first of the two, for messages */
};

struct gparam {
	const char *name;
	const char *def;		/* default text; NULL: none */
	int (*set)(struct pstate *, int, const char *);
	size_t off;			/* in struct cfg */
	long long min, max;		/* integers */
};

struct mparam {
	const char *name;
	int (*set)(struct pstate *, struct cfg_map *, int, const char *);
	size_t off;			/* in struct cfg_map */
};

static int set_uri_list(struct pstate *, int, const char *);
static int set_str_opt(struct pstate *, int, const char *);
static int set_str_req(struct pstate *, int, const char *);
static int set_str_any(struct pstate *, int, const char *);
static int set_tls(struct pstate *, int, const char *);
static int set_bool(struct pstate *, int, const char *);
static int set_int(struct pstate *, int, const char *);
static int set_listen(struct pstate *, int, const char *);
static int set_abs_path(struct pstate *, int, const char *);
static int set_mail_base(struct pstate *, int, const char *);
static int set_delim(struct pstate *, int, const char *);
static int set_octal(struct pstate *, int, const char *);
static int set_component(struct pstate *, int, const char *);
static int set_sasl_mech(struct pstate *, int, const char *);
static int set_authz_id(struct pstate *, int, const char *);
static int set_folders(struct pstate *, int, const char *);
static int set_sync(struct pstate *, int, const char *);
static int set_ms(struct pstate *, int, const char *);
static int set_profile(struct pstate *, int, const char *);
static int set_domains(struct pstate *, int, const char *);
static int set_gfilter(struct pstate *, int, const char *);
static int include(struct pstate *, const char *, struct buf *);
static int file_param(struct pstate *, int, const char *, struct buf *);

#define G(name, def, fn, field, min, max) \
	{ name, def, fn, offsetof(struct cfg, field), min, max }

static const struct gparam gparams[G_COUNT] = {
	[G_LDAP_URI] = G("ldap_uri", NULL, set_uri_list, ldap_uri, 0, 0),
	[G_BIND_DN] = G("bind_dn", NULL, set_str_opt, bind_dn, 0, 0),
	[G_BIND_PW] = G("bind_pw", NULL, set_str_opt, bind_pw, 0, 0),
	[G_BIND_PW_FILE] = G("bind_pw_file", NULL, set_abs_path,
	    bind_pw_file, 0, 0),
	[G_BIND_PW_FILE_READABLE] = G("bind_pw_file_readable", "no", set_bool,
	    bind_pw_file_readable, 0, 0),
	[G_TLS] = G("tls", "no", set_tls, tls, 0, 0),
	[G_TLS_CA_FILE] = G("tls_ca_file", NULL, set_abs_path, tls_ca_file,
	    0, 0),
	[G_TLS_REQUIRE_CERT] = G("tls_require_cert", "yes", set_bool,
	    tls_require_cert, 0, 0),
	[G_SASL_MECH] = G("sasl_mech", NULL, set_sasl_mech, sasl_mech, 0, 0),
	[G_SASL_AUTHZ_ID] = G("sasl_authz_id", NULL, set_authz_id,
	    sasl_authz_id, 0, 0),
	[G_TLS_CERT_FILE] = G("tls_cert_file", NULL, set_abs_path,
	    tls_cert_file, 0, 0),
	[G_TLS_KEY_FILE] = G("tls_key_file", NULL, set_abs_path,
	    tls_key_file, 0, 0),
	[G_LDAP_TIMEOUT] = G("ldap_timeout", "5", set_int, ldap_timeout,
	    1, 3600),
	[G_DOMAIN_BASE] = G("domain_base", NULL, set_str_opt, domain_base,
	    0, 0),
	[G_ACCOUNT_BASE] = G("account_base", NULL, set_str_req,
	    account_base, 0, 0),
	[G_SOCKETMAP_LISTEN] = G("socketmap_listen", NULL, set_listen,
	    socketmap_listen, 0, 0),
	[G_TCP_LISTEN] = G("tcp_listen", NULL, set_listen, tcp_listen, 0, 0),
	[G_CACHE_DIR] = G("cache_dir", "/var/lib/ldapmail", set_abs_path,
	    cache_dir, 0, 0),
	[G_REFRESH] = G("refresh", "300", set_int, refresh, 1, INT_MAX),
	[G_MISS_LOOKUP] = G("miss_lookup", "yes", set_bool, miss_lookup,
	    0, 0),
	[G_NEGATIVE_TTL] = G("negative_ttl", "30", set_int, negative_ttl,
	    0, INT_MAX),
	[G_MIN_REFRESH] = G("min_refresh", "10", set_int, min_refresh,
	    0, INT_MAX),
	[G_MAX_STALE] = G("max_stale", "86400", set_int, max_stale,
	    1, INT_MAX),
	[G_RECIPIENT_DELIMITER] = G("recipient_delimiter", "+", set_delim,
	    recipient_delimiter, 0, 0),
	[G_USER] = G("user", NULL, set_str_opt, user, 0, 0),
	[G_GROUP] = G("group", NULL, set_str_opt, group, 0, 0),
	[G_SOCKET_GROUP] = G("socket_group", "postfix", set_str_any,
	    socket_group, 0, 0),
	[G_SOCKET_MODE] = G("socket_mode", "0660", set_octal, socket_mode,
	    0, 0777),
	[G_MAX_CONNECTIONS] = G("max_connections", "4096", set_int,
	    max_connections, 1, 1000000),
	[G_IDLE_TIMEOUT] = G("idle_timeout", "300", set_int, idle_timeout,
	    1, 86400),
	[G_MAX_REQUEST_SIZE] = G("max_request_size", "16384", set_int,
	    max_request_size, 512, 1000000),
	[G_MAIL_BASE] = G("mail_base", "/vmail", set_mail_base, mail_base,
	    0, 0),
	[G_MAIL_OWNER] = G("mail_owner", "vmail", set_str_req, mail_owner,
	    0, 0),
	[G_SHARED_DIR] = G("shared_dir", "shared", set_component,
	    shared_dir, 0, 0),
	[G_SHARED_MAILDIRS_DIR] = G("shared_maildirs_dir", "shared.maildirs",
	    set_component, shared_maildirs_dir, 0, 0),
	[G_DEFAULT_FOLDERS] = G("default_folders", "", set_folders,
	    default_folders, 0, 0),
	[G_FAILBACK] = G("failback", "60", set_int, failback, 1, 86400),
	[G_SYNC] = G("sync", "poll", set_sync, sync, 0, 0),
	/* seconds with up to 3 decimals, kept in ms */
	[G_PERSIST_FLUSH] = G("persist_flush", "0.5", set_ms, persist_flush,
	    10, 60000),
	[G_PROFILE] = G("profile", "howto", set_profile, profile, 0, 0),
	[G_LOCAL_DOMAINS] = G("local_domains", "", set_domains,
	    local_domains, 0, 0),
	[G_METRICS_FILE] = G("metrics_file", NULL, set_abs_path,
	    metrics_file, 0, 0),
	[G_METRICS_INTERVAL] = G("metrics_interval", "15", set_int,
	    metrics_interval, 1, 86400),
	[G_ACCOUNT_FILTER] = G("account_filter", NULL, set_gfilter,
	    account_filter, 0, 0),
	[G_STATE_DIR] = G("state_dir", NULL, set_mail_base, state_dir, 0, 0),
	[G_ADOPT_ORPHANS] = G("adopt_orphans", "no", set_bool, adopt_orphans,
	    0, 0),
};

static int set_m_base(struct pstate *, struct cfg_map *, int, const char *);
static int set_m_scope(struct pstate *, struct cfg_map *, int,
    const char *);
static int set_m_filter(struct pstate *, struct cfg_map *, int,
    const char *);
static int set_m_attrs(struct pstate *, struct cfg_map *, int,
    const char *);
static int set_m_format(struct pstate *, struct cfg_map *, int,
    const char *);
static int set_m_kind(struct pstate *, struct cfg_map *, int, const char *);
static int set_m_bool(struct pstate *, struct cfg_map *, int, const char *);
static int set_m_values(struct pstate *, struct cfg_map *, int,
    const char *);
static int set_m_apple(struct pstate *, struct cfg_map *, int,
    const char *);

#define M(name, fn, field) { name, fn, offsetof(struct cfg_map, field) }

static const struct mparam mparams[M_COUNT] = {
	[M_BASE] = M("base", set_m_base, base),
	[M_SCOPE] = M("scope", set_m_scope, scope),
	[M_FILTER] = M("filter", set_m_filter, filter),
	[M_KEY] = M("key", set_m_attrs, key),
	[M_RESULT] = M("result", set_m_attrs, result),
	[M_FORMAT] = M("format", set_m_format, format),
	[M_KIND] = M("kind", set_m_kind, kind),
	[M_CATCHALL] = M("catchall", set_m_bool, catchall),
	[M_SINGLE] = M("single", set_m_bool, single),
	[M_SHORT_NAMES] = M("short_names", set_m_bool, short_names),
	[M_KEY_DOMAIN] = M("key_domain", set_m_bool, key_domain),
	[M_VALUES] = M("result_values", set_m_values, values),
	[M_APPLE] = M("apple_mail", set_m_apple, apple),
	[M_LDAP_TABLE] = M("ldap_table", set_m_base, ldap_table),
};

/* ---- messages ---------------------------------------------------------- */

/* "FILE:LINE: text", or "FILE: text" for line 0. */
static int __attribute__((format(printf, 3, 4)))
errat(struct pstate *ps, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ps->err == NULL || ps->errsz == 0)
		return -1;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	if (line > 0)
		return log_errf(ps->err, ps->errsz, "%s:%d: %s", ps->file, line,
		    msg);
	return log_errf(ps->err, ps->errsz, "%s: %s", ps->file, msg);
}

#define err(ps, ...) errat((ps), (ps)->line, __VA_ARGS__)

/* A value made printable for a message; slot 0 or 1. */
static const char *
show(struct pstate *ps, int slot, const char *v)
{
	return log_printable(ps->show[slot], sizeof(ps->show[slot]), v,
	    strlen(v));
}

static void
strlist_add(struct strlist *l, const char *s, size_t len)
{
	l->v = xreallocarray(l->v, l->n + 2, sizeof(*l->v));
	l->v[l->n++] = xstrndup(s, len);
	l->v[l->n] = NULL;
}

static void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void __attribute__((format(printf, 3, 4)))
warnat(struct pstate *ps, int line, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	char msg[1024];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r < 0)
		msg[0] = '\0';
	if (line > 0)
		buf_printf(&b, "%s:%d: %s", ps->file, line, msg);
	else
		buf_printf(&b, "%s: %s", ps->file, msg);
	strlist_add(&ps->cfg->warnings, b.p, b.len);
	buf_free(&b);
}

/* ---- small parsers ----------------------------------------------------- */

static int
is_ws(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_namechar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* Split at commas and/or white space, empty items dropped. */
static void
split_list(const char *v, struct strlist *out)
{
	const char *p = v, *s;

	for (;;) {
		while (*p == ',' || is_ws(*p))
			p++;
		if (*p == '\0')
			break;
		s = p;
		while (*p != '\0' && *p != ',' && !is_ws(*p))
			p++;
		strlist_add(out, s, (size_t)(p - s));
	}
}

/* Decimal, no sign, no blanks; -1 if not a number, -2 if > INT_MAX. */
static int
parse_uint(const char *v, long long *out)
{
	long long n = 0;

	if (*v == '\0')
		return -1;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		if (n > (INT_MAX - (*v - '0')) / 10) {
			/* Still a number: keep scanning for junk. */
			while (*v >= '0' && *v <= '9')
				v++;
			return *v == '\0' ? -2 : -1;
		}
		n = n * 10 + (*v - '0');
	}
	*out = n;
	return 0;
}

static int
parse_bool(const char *v, int *out)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0) {
		*out = 1;
		return 0;
	}
	if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 ||
	    strcmp(v, "0") == 0) {
		*out = 0;
		return 0;
	}
	return -1;
}

/* Map names end up in file names and on command lines. */
static int
valid_map_name(const char *s, size_t len)
{
	if (len == 0 || len > CFG_MAPNAME_MAX || !isalnum((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) && c < 0x80) && c != '_' && c != '-' &&
		    c != '.')
			return 0;
	}
	return 1;
}

/* [A-Za-z][A-Za-z0-9-]* or a numeric OID. */
static int
valid_attr(const char *s)
{
	const char *p;

	if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
		for (p = s + 1; *p != '\0'; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '-'))
				return 0;
		return 1;
	}
	for (p = s;;) {
		if (*p < '0' || *p > '9')
			return 0;
		/* No leading zero in an arc, as RFC 4512 numericoid. */
		if (*p == '0' && p[1] >= '0' && p[1] <= '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == '\0')
			return 1;
		if (*p != '.')
			return 0;
		p++;
	}
}

/* ---- global setters ---------------------------------------------------- */

#define GFIELD(ps, i, type) \
	((type *)(void *)((char *)(ps)->cfg + gparams[i].off))

static int
set_uri_list(struct pstate *ps, int i, const char *v)
{
	struct strlist l = { NULL, 0 };

	split_list(v, &l);
	if (l.n == 0)
		return err(ps, "%s must not be empty", gparams[i].name);
	for (size_t k = 0; k < l.n; k++) {
		if (strncasecmp(l.v[k], "ldap://", 7) != 0 &&
		    strncasecmp(l.v[k], "ldaps://", 8) != 0 &&
		    strncasecmp(l.v[k], "ldapi://", 8) != 0) {
			err(ps, "%s: \"%s\" is not an ldap://, ldaps:// or "
			    "ldapi:// URI", gparams[i].name,
			    show(ps, 0, l.v[k]));
			strlist_free(&l);
			return -1;
		}
	}
	strlist_free(GFIELD(ps, i, struct strlist));
	*GFIELD(ps, i, struct strlist) = l;
	return 0;
}

static void
set_string(char **field, const char *v)
{
	free(*field);
	*field = v != NULL ? xstrdup(v) : NULL;
}

/* Optional: an empty value means "not set". */
static int
set_str_opt(struct pstate *ps, int i, const char *v)
{
	set_string(GFIELD(ps, i, char *), *v != '\0' ? v : NULL);
	return 0;
}

static int
set_str_req(struct pstate *ps, int i, const char *v)
{
	if (*v == '\0')
		return err(ps, "%s must not be empty", gparams[i].name);
	set_string(GFIELD(ps, i, char *), v);
	return 0;
}

static int
set_str_any(struct pstate *ps, int i, const char *v)
{
	set_string(GFIELD(ps, i, char *), v);
	return 0;
}

static int
set_tls(struct pstate *ps, int i, const char *v)
{
	enum cfg_tls t;

	if (strcasecmp(v, "no") == 0)
		t = CFG_TLS_NO;
	else if (strcasecmp(v, "starttls") == 0)
		t = CFG_TLS_STARTTLS;
	else if (strcasecmp(v, "ldaps") == 0)
		t = CFG_TLS_LDAPS;
	else
		return err(ps, "%s: \"%s\" must be one of no, starttls, ldaps",
		    gparams[i].name, show(ps, 0, v));
	*GFIELD(ps, i, enum cfg_tls) = t;
	return 0;
}

static int
set_bool(struct pstate *ps, int i, const char *v)
{
	if (parse_bool(v, GFIELD(ps, i, int)) != 0)
		return err(ps, "%s: \"%s\" is not a boolean (yes or no)",
		    gparams[i].name, show(ps, 0, v));
	return 0;
}

static int
set_int(struct pstate *ps, int i, const char *v)
{
	const struct gparam *gp = &gparams[i];
	long long n = 0;
	int r = parse_uint(v, &n);

	if (r == -1)
		return err(ps, "%s: \"%s\" is not a decimal number", gp->name,
		    show(ps, 0, v));
	if (r == -2 || n < gp->min || n > gp->max) {
		if (gp->max == INT_MAX)
			return err(ps, "%s: \"%s\" is out of range (at least "
			    "%lld)", gp->name, show(ps, 0, v), gp->min);
		return err(ps, "%s: \"%s\" is out of range (%lld..%lld)",
		    gp->name, show(ps, 0, v), gp->min, gp->max);
	}
	*GFIELD(ps, i, int) = (int)n;
	return 0;
}

static int
set_sync(struct pstate *ps, int i, const char *v)
{
	enum cfg_sync t;

	if (strcasecmp(v, "poll") == 0)
		t = CFG_SYNC_POLL;
	else if (strcasecmp(v, "persist") == 0)
		t = CFG_SYNC_PERSIST;
	else
		return err(ps, "%s: \"%s\" must be one of poll, persist",
		    gparams[i].name, show(ps, 0, v));
	*GFIELD(ps, i, enum cfg_sync) = t;
	return 0;
}

/* Seconds with up to three decimals ("0.5"), kept in milliseconds. */
static int
set_ms(struct pstate *ps, int i, const char *v)
{
	const struct gparam *gp = &gparams[i];
	const char *p = v;
	long long ms = 0;
	int frac = 0;

	for (; *p >= '0' && *p <= '9' && ms <= gp->max; p++)
		ms = ms * 10 + (*p - '0');
	ms *= 1000;
	if (*p == '.' && p > v) {
		int scale = 100;

		for (p++; *p >= '0' && *p <= '9' && frac < 3; p++, frac++) {
			ms += (*p - '0') * scale;
			scale /= 10;
		}
		if (frac == 0)
			p = v;		/* "1." */
	}
	if (p == v || *p != '\0')
		return err(ps, "%s: \"%s\" is not a number of seconds (at most "
		    "3 decimals)", gp->name, show(ps, 0, v));
	if (ms < gp->min || ms > gp->max)
		return err(ps, "%s: \"%s\" is out of range (%lld.%03lld.."
		    "%lld s)", gp->name, show(ps, 0, v), gp->min / 1000,
		    gp->min % 1000, gp->max / 1000);
	*GFIELD(ps, i, int) = (int)ms;
	return 0;
}

static int
set_octal(struct pstate *ps, int i, const char *v)
{
	const char *p;
	long n = 0;

	for (p = v; *p >= '0' && *p <= '7' && n <= gparams[i].max; p++)
		n = n * 8 + (*p - '0');
	if (*v == '\0' || *p != '\0' || n > gparams[i].max)
		return err(ps, "%s: \"%s\" is not an octal mode (0000..0777)",
		    gparams[i].name, show(ps, 0, v));
	*GFIELD(ps, i, int) = (int)n;
	return 0;
}

static int
set_abs_path(struct pstate *ps, int i, const char *v)
{
	if (*v == '\0' && gparams[i].def == NULL) {
		set_string(GFIELD(ps, i, char *), NULL);
		return 0;
	}
	if (*v != '/')
		return err(ps, "%s: \"%s\" is not an absolute path",
		    gparams[i].name, show(ps, 0, v));
	set_string(GFIELD(ps, i, char *), v);
	return 0;
}

/* Absolute, no ".", ".." or empty component; trailing "/" dropped. */
static int
set_mail_base(struct pstate *ps, int i, const char *v)
{
	size_t len = strlen(v);
	const char *p, *e;

	if (*v != '/')
		return err(ps, "%s: \"%s\" is not an absolute path",
		    gparams[i].name, show(ps, 0, v));
	while (len > 1 && v[len - 1] == '/')
		len--;
	for (p = v + 1; p < v + len; p = e + 1) {
		e = memchr(p, '/', (size_t)(v + len - p));
		if (e == NULL)
			e = v + len;
		if (e - p == 0 || (e - p == 1 && p[0] == '.') ||
		    (e - p == 2 && p[0] == '.' && p[1] == '.'))
			return err(ps, "%s: \"%s\" is not a normalized path "
			    "(no \".\", \"..\" or \"//\")", gparams[i].name,
			    show(ps, 0, v));
	}
	free(*GFIELD(ps, i, char *));
	*GFIELD(ps, i, char *) = xstrndup(v, len);
	/* $mail_base expands to the normalized form. */
	free(ps->gtext[i]);
	ps->gtext[i] = xstrndup(v, len);
	return 0;
}

static int
set_component(struct pstate *ps, int i, const char *v)
{
	if (*v == '\0')
		return err(ps, "%s must not be empty", gparams[i].name);
	if (strchr(v, '/') != NULL || strcmp(v, ".") == 0 ||
	    strcmp(v, "..") == 0)
		return err(ps, "%s: \"%s\" must be one path component (no "
		    "\"/\", not \".\" or \"..\")", gparams[i].name,
		    show(ps, 0, v));
	set_string(GFIELD(ps, i, char *), v);
	return 0;
}

/*
 * default_folders: Courier folder names (safepath_folder), split at
 * commas and white space; a name with a space is written in double
 * quotes ("Sent Items"), and a quote may only enclose a whole name.
 */
static int
set_folders(struct pstate *ps, int i, const char *v)
{
	struct strlist l = { NULL, 0 };
	const char *p = v, *s, *e;
	enum safepath_err se;

	for (;;) {
		while (*p == ',' || is_ws(*p))
			p++;
		if (*p == '\0')
			break;
		if (*p == '"') {
			s = ++p;
			if ((e = strchr(s, '"')) == NULL || (e[1] != '\0' &&
			    e[1] != ',' && !is_ws(e[1]))) {
				err(ps, "%s: a quote must enclose a whole name "
				    "in \"%s\"", gparams[i].name, show(ps, 0, v));
				goto fail;
			}
			p = e + 1;
		} else {
			s = p;
			while (*p != '\0' && *p != ',' && !is_ws(*p))
				p++;
			e = p;
			if (memchr(s, '"', (size_t)(e - s)) != NULL) {
				err(ps, "%s: a quote must enclose a whole name "
				    "in \"%s\"", gparams[i].name, show(ps, 0, v));
				goto fail;
			}
		}
		if ((se = safepath_folder(s, (size_t)(e - s))) != SAFEPATH_OK) {
			err(ps, "%s: folder name \"%s\" %s", gparams[i].name,
			    log_printable(ps->show[0], sizeof(ps->show[0]), s,
			    (size_t)(e - s)), safepath_strerror(se));
			goto fail;
		}
		/* Courier-IMAP shows a folder NAME as INBOX.NAME already. */
		if ((e - s == 5 || (e - s > 5 && s[5] == '.')) &&
		    strncasecmp(s, "INBOX", 5) == 0) {
			err(ps, "%s: \"%s\": write the folder name without "
			    "\"INBOX.\" (Sent, not INBOX.Sent)", gparams[i].name,
			    log_printable(ps->show[0], sizeof(ps->show[0]), s,
			    (size_t)(e - s)));
			goto fail;
		}
		for (size_t k = 0; k < l.n; k++)
			if (strlen(l.v[k]) == (size_t)(e - s) &&
			    memcmp(l.v[k], s, (size_t)(e - s)) == 0) {
				err(ps, "%s: \"%s\" is listed twice",
				    gparams[i].name, show(ps, 0, l.v[k]));
				goto fail;
			}
		if (l.n >= CFG_FOLDERS_MAX) {
			err(ps, "%s: more than %d folders", gparams[i].name,
			    CFG_FOLDERS_MAX);
			goto fail;
		}
		strlist_add(&l, s, (size_t)(e - s));
	}
	strlist_free(GFIELD(ps, i, struct strlist));
	*GFIELD(ps, i, struct strlist) = l;
	return 0;
fail:
	strlist_free(&l);
	return -1;
}

static int
set_profile(struct pstate *ps, int i, const char *v)
{
	if (profile_find(v) == NULL)
		return err(ps, "%s: \"%s\" must be one of %s", gparams[i].name,
		    show(ps, 0, v), profile_names());
	set_string(GFIELD(ps, i, char *), v);
	return 0;
}

/* Domain names (lowercased, one trailing dot dropped), at least a dot
 * apart from nothing: letters, digits, "-", "." and "_". */
/* Domain names (lowercased, one trailing dot dropped): letters, digits,
 * "-", "." and "_", no empty label.  0, or -1 (err set). */
static int
parse_domains(struct pstate *ps, const char *name, const char *v,
    struct strlist *out)
{
	struct strlist l = { NULL, 0 };

	split_list(v, &l);
	for (size_t k = 0; k < l.n; k++) {
		char *d = l.v[k];
		size_t len = strlen(d);
		int bad = len > 254 || d[0] == '.' || strstr(d, "..") != NULL;

		if (len > 1 && d[len - 1] == '.')
			d[--len] = '\0';
		for (size_t j = 0; j < len && !bad; j++) {
			unsigned char c = (unsigned char)d[j];

			if (c >= 'A' && c <= 'Z')
				d[j] = (char)(c - 'A' + 'a');
			else if (!((c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
			    c == '_'))
				bad = 1;
		}
		if (bad) {
			err(ps, "%s: \"%s\" is not a domain name", name,
			    show(ps, 0, l.v[k]));
			strlist_free(&l);
			return -1;
		}
	}
	strlist_free(out);
	*out = l;
	return 0;
}

static int
set_domains(struct pstate *ps, int i, const char *v)
{
	return parse_domains(ps, gparams[i].name, v,
	    GFIELD(ps, i, struct strlist));
}

static int check_filter(struct pstate *, const char *, const char *);

/* account_filter: one filter, or empty for none. */
static int
set_gfilter(struct pstate *ps, int i, const char *v)
{
	if (*v != '\0' && check_filter(ps, gparams[i].name, v) != 0)
		return -1;
	set_string(GFIELD(ps, i, char *), *v != '\0' ? v : NULL);
	return 0;
}

static int
set_delim(struct pstate *ps, int i, const char *v)
{
	for (const char *p = v; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '@')
			return err(ps, "%s: \"%s\" may hold only printable "
			    "ASCII characters other than \"@\" and space",
			    gparams[i].name, show(ps, 0, v));
	set_string(GFIELD(ps, i, char *), v);
	return 0;
}

/* Only EXTERNAL: the mechanisms that need a secret would want one more
 * password file, and libsasl2 has EXTERNAL built in (no plugin). */
static int
set_sasl_mech(struct pstate *ps, int i, const char *v)
{
	if (*v == '\0') {
		set_string(GFIELD(ps, i, char *), NULL);
		return 0;
	}
	if (strcasecmp(v, "EXTERNAL") != 0)
		return err(ps, "%s: \"%s\" is not supported (only EXTERNAL; "
		    "leave it unset for a simple bind with bind_dn)",
		    gparams[i].name, show(ps, 0, v));
	set_string(GFIELD(ps, i, char *), "EXTERNAL");
	return 0;
}

/* RFC 4513 authzId: "dn:DN" or "u:NAME". */
static int
set_authz_id(struct pstate *ps, int i, const char *v)
{
	if (*v == '\0') {
		set_string(GFIELD(ps, i, char *), NULL);
		return 0;
	}
	if (strncasecmp(v, "dn:", 3) != 0 && strncasecmp(v, "u:", 2) != 0)
		return err(ps, "%s: \"%s\" must start with \"dn:\" or \"u:\"",
		    gparams[i].name, show(ps, 0, v));
	set_string(GFIELD(ps, i, char *), v);
	return 0;
}

/* unix:/PATH or inet:HOST:PORT (inet:[v6]:PORT); NULL or the reason. */
static const char *
parse_endpoint(const char *ep, struct cfg_listen *l)
{
	const char *host, *hend, *port;
	long long n;
	char num[16];
	int r;

	if (strncmp(ep, "unix:", 5) == 0) {
		if (ep[5] != '/')
			return "the path must be absolute";
		if (strlen(ep + 5) > CFG_SUN_PATH_MAX)
			return "the path is longer than 107 bytes";
		l->is_unix = 1;
		l->path = xstrdup(ep + 5);
		return NULL;
	}
	if (strncmp(ep, "inet:", 5) != 0)
		return "expected unix:/PATH or inet:HOST:PORT";
	host = ep + 5;
	if (*host == '[') {
		host++;
		if ((hend = strchr(host, ']')) == NULL || hend[1] != ':')
			return "expected inet:[IPv6]:PORT";
		port = hend + 2;
		if (memchr(host, '[', (size_t)(hend - host)) != NULL)
			return "expected inet:[IPv6]:PORT";
	} else {
		if ((hend = strrchr(host, ':')) == NULL)
			return "expected inet:HOST:PORT";
		port = hend + 1;
		if (memchr(host, ':', (size_t)(hend - host)) != NULL)
			return "write an IPv6 address in brackets, "
			    "inet:[::1]:PORT";
	}
	if (hend == host)
		return "the host is missing";
	if (memchr(host, '[', (size_t)(hend - host)) != NULL ||
	    memchr(host, ']', (size_t)(hend - host)) != NULL)
		return "expected inet:HOST:PORT";
	if (parse_uint(port, &n) != 0 || n < 1 || n > 65535)
		return "the port must be a number 1..65535";
	r = snprintf(num, sizeof(num), "%lld", n);
	if (r < 0 || (size_t)r >= sizeof(num))
		return "the port must be a number 1..65535";
	l->host = xstrndup(host, (size_t)(hend - host));
	l->port = xstrdup(num);
	return NULL;
}

static void
listen_free(struct cfg_listen *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].path);
		free(l[i].host);
		free(l[i].port);
		free(l[i].map);
		free(l[i].text);
	}
	free(l);
}

static int
set_listen(struct pstate *ps, int i, const char *v)
{
	struct strlist l = { NULL, 0 };
	struct cfg_listen *ls, **field;
	const char *name = gparams[i].name, *ep, *why;
	size_t *nfield, k;
	int tcp = i == G_TCP_LISTEN;

	if (tcp) {
		field = &ps->cfg->tcp_listen;
		nfield = &ps->cfg->n_tcp_listen;
	} else {
		field = &ps->cfg->socketmap_listen;
		nfield = &ps->cfg->n_socketmap_listen;
	}
	split_list(v, &l);
	ls = xcalloc(l.n, sizeof(*ls));
	for (k = 0; k < l.n; k++) {
		ls[k].text = xstrdup(l.v[k]);
		ep = l.v[k];
		if (tcp) {
			const char *eq = strchr(ep, '=');

			if (eq == NULL) {
				err(ps, "%s: \"%s\" is not MAP=inet:HOST:PORT",
				    name, show(ps, 0, l.v[k]));
				goto fail;
			}
			if (!valid_map_name(ep, (size_t)(eq - ep))) {
				err(ps, "%s: bad map name in \"%s\"", name,
				    show(ps, 0, l.v[k]));
				goto fail;
			}
			ls[k].map = xstrndup(ep, (size_t)(eq - ep));
			ep = eq + 1;
		}
		if ((why = parse_endpoint(ep, &ls[k])) != NULL) {
			err(ps, "%s: bad endpoint \"%s\": %s", name,
			    show(ps, 0, l.v[k]), why);
			goto fail;
		}
	}
	listen_free(*field, *nfield);
	*field = ls;
	*nfield = l.n;
	strlist_free(&l);
	return 0;
fail:
	listen_free(ls, l.n);
	strlist_free(&l);
	return -1;
}

/* ---- map setters ------------------------------------------------------- */

#define MFIELD(m, i, type) \
	((type *)(void *)((char *)(m) + mparams[i].off))

static int
set_m_base(struct pstate *ps, struct cfg_map *m, int i, const char *v)
{
	if (*v == '\0')
		return err(ps, "%s must not be empty", mparams[i].name);
	set_string(MFIELD(m, i, char *), v);
	return 0;
}

static int
set_m_scope(struct pstate *ps, struct cfg_map *m, int i, const char *v)
{
	if (strcasecmp(v, "base") == 0)
		m->scope = CFG_SCOPE_BASE;
	else if (strcasecmp(v, "one") == 0)
		m->scope = CFG_SCOPE_ONE;
	else if (strcasecmp(v, "sub") == 0)
		m->scope = CFG_SCOPE_SUB;
	else
		return err(ps, "%s: \"%s\" must be one of base, one, sub",
		    mparams[i].name, show(ps, 0, v));
	return 0;
}

/*
 * One parenthesized filter: "(" first, its matching ")" last, no control
 * character, and a "\" only as RFC 4515's \HH.  The server checks the
 * rest; this catches what would turn a typo into a different search.
 */
static int
check_filter(struct pstate *ps, const char *name, const char *v)
{
	size_t len = strlen(v);
	int depth = 0;

	if (len < 2 || v[0] != '(' || v[len - 1] != ')')
		return err(ps, "%s: \"%s\" must start with \"(\" and end with "
		    "\")\"", name, show(ps, 0, v));
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)v[k];

		if (c < 0x20 || c == 0x7f)
			return err(ps, "%s: \"%s\" holds a control character",
			    name, show(ps, 0, v));
		if (c == '\\') {
			if (k + 2 >= len || !isxdigit((unsigned char)v[k + 1])
			    || !isxdigit((unsigned char)v[k + 2]))
				return err(ps, "%s: \"%s\" has a \"\\\" not "
				    "followed by two hex digits", name,
				    show(ps, 0, v));
			k += 2;
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (--depth < 0 || (depth == 0 && k != len - 1))
				return err(ps, "%s: \"%s\" is not one "
				    "parenthesized filter", name,
				    show(ps, 0, v));
		}
	}
	if (depth != 0)
		return err(ps, "%s: \"%s\" has unbalanced parentheses", name,
		    show(ps, 0, v));
	return 0;
}

static int
set_m_filter(struct pstate *ps, struct cfg_map *m, int i, const char *v)
{
	if (check_filter(ps, mparams[i].name, v) != 0)
		return -1;
	set_string(&m->filter, v);
	return 0;
}

static int
set_m_attrs(struct pstate *ps, struct cfg_map *m, int i, const char *v)
{
	struct strlist l = { NULL, 0 };

	split_list(v, &l);
	if (l.n == 0)
		return err(ps, "%s must not be empty", mparams[i].name);
	for (size_t k = 0; k < l.n; k++)
		if (!valid_attr(l.v[k])) {
			err(ps, "%s: \"%s\" is not an attribute name",
			    mparams[i].name, show(ps, 0, l.v[k]));
			strlist_free(&l);
			return -1;
		}
	strlist_free(MFIELD(m, i, struct strlist));
	*MFIELD(m, i, struct strlist) = l;
	return 0;
}

static int
set_m_format(struct pstate *ps, struct cfg_map *m, int i, const char *v)
{
	int n = 0;

	for (const char *p = v; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		if (p[1] == 's')
			n++;
		else if (p[1] != '%')
			return err(ps, "%s: \"%s\" has a \"%%\" other than %%s "
			    "or %%%%", mparams[i].name, show(ps, 0, v));
		p++;
	}
	if (n != 1)
		return err(ps, "%s: \"%s\" must hold exactly one %%s",
		    mparams[i].name, show(ps, 0, v));
	set_string(&m->format, v);
	return 0;
}

static int
set_m_kind(struct pstate *ps, struct cfg_map *m, int i, const char *v)
{
	if (strcasecmp(v, "address") == 0)
		m->kind = CFG_KIND_ADDRESS;
	else if (strcasecmp(v, "domain") == 0)
		m->kind = CFG_KIND_DOMAIN;
	else if (strcasecmp(v, "plain") == 0)
		m->kind = CFG_KIND_PLAIN;
	else
		return err(ps, "%s: \"%s\" must be one of address, domain, "
		    "plain", mparams[i].name, show(ps, 0, v));
	return 0;
}

static int
set_m_bool(struct pstate *ps, struct cfg_map *m, int i, const char *v)
{
	if (parse_bool(v, MFIELD(m, i, int)) != 0)
		return err(ps, "%s: \"%s\" is not a boolean (yes or no)",
		    mparams[i].name, show(ps, 0, v));
	return 0;
}

static int
set_m_values(struct pstate *ps, struct cfg_map *m, int i, const char *v)
{
	if (strcasecmp(v, "all") == 0)
		m->values = CFG_VALUES_ALL;
	else if (strcasecmp(v, "first_attribute") == 0)
		m->values = CFG_VALUES_FIRST_ATTRIBUTE;
	else if (strcasecmp(v, "first") == 0)
		m->values = CFG_VALUES_FIRST;
	else
		return err(ps, "%s: \"%s\" must be one of all, "
		    "first_attribute, first", mparams[i].name, show(ps, 0, v));
	return 0;
}

static int
set_m_apple(struct pstate *ps, struct cfg_map *m, int i, const char *v)
{
	if (strcasecmp(v, "no") == 0)
		m->apple = CFG_APPLE_NO;
	else if (strcasecmp(v, "enabled") == 0)
		m->apple = CFG_APPLE_ENABLED;
	else if (strcasecmp(v, "forward") == 0)
		m->apple = CFG_APPLE_FORWARD;
	else
		return err(ps, "%s: \"%s\" must be one of no, enabled, "
		    "forward", mparams[i].name, show(ps, 0, v));
	return 0;
}

/* ---- expansion --------------------------------------------------------- */

static int
find_gparam(const char *name, size_t len)
{
	for (int i = 0; i < G_COUNT; i++)
		if (strlen(gparams[i].name) == len &&
		    memcmp(gparams[i].name, name, len) == 0)
			return i;
	return -1;
}

static int
find_mparam(const char *name, size_t len)
{
	for (int i = 0; i < M_COUNT; i++)
		if (strlen(mparams[i].name) == len &&
		    memcmp(mparams[i].name, name, len) == 0)
			return i;
	return -1;
}

static const char *
cur_map_name(struct pstate *ps)
{
	return ps->cfg->maps[ps->cfg->n_maps - 1].name;
}

/* $name, ${name}, $(name), $$; once, no recursion into the result. */
static int
expand(struct pstate *ps, const char *v, struct buf *out)
{
	const char *p = v, *s, *e;
	const char *text;
	char name[CFG_MAPNAME_MAX + 1];
	size_t nlen;
	int g, m;

	buf_reset(out);
	buf_reserve(out, 0);
	while (*p != '\0') {
		if ((s = strchr(p, '$')) == NULL)
			s = p + strlen(p);
		buf_append(out, p, (size_t)(s - p));
		if (*s == '\0')
			break;
		p = s + 1;
		if (*p == '$') {
			buf_putc(out, '$');
			p++;
			continue;
		}
		if (*p == '{' || *p == '(') {
			char open = *p, close = *p == '{' ? '}' : ')';

			if ((e = strchr(p + 1, close)) == NULL)
				return err(ps, "unterminated \"$%c\" in \"%s\"",
				    open, show(ps, 0, v));
			s = p + 1;
			nlen = (size_t)(e - s);
			for (size_t k = 0; k < nlen; k++)
				if (!is_namechar((unsigned char)s[k]))
					nlen = 0;
			if (nlen == 0)
				return err(ps, "bad parameter name in \"%s\"",
				    show(ps, 0, v));
			p = e + 1;
		} else if (is_namechar((unsigned char)*p)) {
			s = p;
			while (is_namechar((unsigned char)*p))
				p++;
			nlen = (size_t)(p - s);
		} else {
			return err(ps, "\"$\" must be followed by a parameter "
			    "name (write $$ for a literal \"$\")");
		}
		/* No parameter name is longer: a longer one is unknown. */
		memcpy(name, s, nlen > CFG_MAPNAME_MAX ? CFG_MAPNAME_MAX : nlen);
		name[nlen > CFG_MAPNAME_MAX ? CFG_MAPNAME_MAX : nlen] = '\0';
		if ((g = find_gparam(s, nlen)) >= 0) {
			/* The password goes to the bind and nowhere else
			 * (not into a value that a message may quote). */
			if (g == G_BIND_PW)
				return err(ps, "\"$%s\": the password cannot "
				    "be expanded into another parameter", name);
			if ((text = ps->gtext[g]) == NULL)
				return err(ps, "\"$%s\": parameter \"%s\" has "
				    "no value", name, name);
		} else if ((m = find_mparam(s, nlen)) >= 0) {
			if (!ps->in_map)
				return err(ps, "\"$%s\": \"%s\" is a map "
				    "parameter, not known outside a [map]",
				    name, name);
			if ((text = ps->mtext[m]) == NULL)
				return err(ps, "\"$%s\": \"%s\" is not set "
				    "earlier in [map %s]", name, name,
				    cur_map_name(ps));
		} else {
			return err(ps, "\"$%s\": unknown parameter \"%s\"",
			    name, name);
		}
		buf_puts(out, text);
		if (out->len > CFG_LINE_MAX)
			break;
	}
	if (out->len > CFG_LINE_MAX)
		return err(ps, "value longer than %d bytes after expansion",
		    CFG_LINE_MAX);
	return 0;
}

/* ---- lines ------------------------------------------------------------- */

static void
map_free(struct cfg_map *m)
{
	free(m->name);
	free(m->base);
	free(m->filter);
	strlist_free(&m->key);
	strlist_free(&m->result);
	strlist_free(&m->qualify);
	strlist_free(&m->domains);
	free(m->file_filter);
	free(m->format);
	free(m->ldap_table);
	ldaptable_free(m->table);
}

static void
mtext_clear(struct pstate *ps)
{
	for (int i = 0; i < M_COUNT; i++) {
		free(ps->mtext[i]);
		ps->mtext[i] = NULL;
		ps->mline[i] = 0;
	}
}

static struct cfg_map *
map_add(struct cfg *cfg, const char *name, size_t len)
{
	struct cfg_map *m;

	cfg->maps = xreallocarray(cfg->maps, cfg->n_maps + 1,
	    sizeof(*cfg->maps));
	m = &cfg->maps[cfg->n_maps++];
	memset(m, 0, sizeof(*m));
	m->name = xstrndup(name, len);
	m->scope = CFG_SCOPE_SUB;
	m->filter = xstrdup("(objectClass=*)");
	m->format = xstrdup("%s");
	m->kind = CFG_KIND_ADDRESS;
	return m;
}

static const struct cfg_files fs_files;

/* Read m's ldap_table file: with the file system (cfg_load), as Postfix
 * does, domain files too; through ps->files otherwise (no domain files);
 * parsing from memory alone, refused. */
static int
table_read(struct pstate *ps, struct cfg_map *m, char *why, size_t whysz)
{
	char *text = NULL, *id = NULL;
	size_t len = 0;
	int rc;

	if (ps->files == &fs_files)
		return ldaptable_load(m->ldap_table, &m->table, why, whysz);
	if (ps->files == NULL)
		return log_errf(why, whysz, "%s: not read (a configuration "
		    "parsed from memory)", m->ldap_table);
	if (ps->files->read(ps->files->arg, m->ldap_table,
	    LDAPTABLE_MAX_SIZE, &text, &len, &id, why, whysz) != 0)
		return -1;
	rc = ldaptable_parse(m->ldap_table, text, len, &m->table, why, whysz);
	explicit_bzero(text, len);	/* it may hold bind_pw */
	free(text);
	free(id);
	return rc;
}

/* A map answered by an ldap_table file: none of the parameters that
 * describe a native map's search, kind plain unless given; catchall
 * walks on to @domain (kind address) as Postfix does on its ldap:
 * table, or answers an address by its domain (kind domain), as for a
 * native map. */
static int
table_finish(struct pstate *ps, struct cfg_map *m)
{
	static const int unused[] = { M_BASE, M_SCOPE, M_FILTER, M_KEY,
	    M_RESULT, M_FORMAT, M_SINGLE, M_SHORT_NAMES,
	    M_KEY_DOMAIN, M_VALUES, M_APPLE };
	int line = ps->mline[M_LDAP_TABLE];
	char why[768];

	for (size_t k = 0; k < sizeof(unused) / sizeof(unused[0]); k++)
		if (ps->mline[unused[k]] > 0)
			return errat(ps, ps->mline[unused[k]], "[map %s]: %s is "
			    "not used with ldap_table (the file says it)",
			    m->name, mparams[unused[k]].name);
	if (ps->mline[M_KIND] == 0)
		m->kind = CFG_KIND_PLAIN;
	if (m->catchall && m->kind == CFG_KIND_PLAIN)
		return errat(ps, ps->mline[M_CATCHALL], "[map %s]: catchall "
		    "needs kind = address or domain", m->name);
	if (table_read(ps, m, why, sizeof(why)) != 0)
		return errat(ps, line, "[map %s]: ldap_table: %s", m->name,
		    why);
	mtext_clear(ps);
	return 0;
}

/* What a section needs once all its lines are read. */
static int
map_finish(struct pstate *ps)
{
	struct cfg_map *m;

	if (!ps->in_map)
		return 0;
	m = &ps->cfg->maps[ps->cfg->n_maps - 1];
	ps->in_map = 0;
	if (m->ldap_table != NULL)
		return table_finish(ps, m);
	if (m->key.n == 0)
		return errat(ps, m->line, "[map %s]: missing required "
		    "parameter \"key\"", m->name);
	if (m->result.n == 0) {
		if (m->kind != CFG_KIND_DOMAIN)
			return errat(ps, m->line, "[map %s]: missing required "
			    "parameter \"result\"", m->name);
		for (size_t k = 0; k < m->key.n; k++)
			strlist_add(&m->result, m->key.v[k],
			    strlen(m->key.v[k]));
	}
	if (m->catchall && m->kind == CFG_KIND_PLAIN)
		return errat(ps, ps->mline[M_CATCHALL], "[map %s]: catchall "
		    "needs kind = address or domain", m->name);
	if (m->key_domain && m->kind != CFG_KIND_DOMAIN)
		return errat(ps, ps->mline[M_KEY_DOMAIN], "[map %s]: "
		    "key_domain needs kind = domain", m->name);
	if (m->short_names && m->kind == CFG_KIND_PLAIN)
		return errat(ps, ps->mline[M_SHORT_NAMES], "[map %s]: "
		    "short_names needs kind = address or domain", m->name);
	if (m->apple != CFG_APPLE_NO && m->kind != CFG_KIND_ADDRESS)
		return errat(ps, ps->mline[M_APPLE], "[map %s]: apple_mail "
		    "needs kind = address", m->name);
	mtext_clear(ps);
	return 0;
}

/* "[map NAME]", with white space allowed around the words. */
static int
section(struct pstate *ps, const char *s)
{
	const char *p = s + 1, *name, *e;
	struct cfg *cfg = ps->cfg;
	const struct cfg_map *dup;
	struct cfg_map *m;
	size_t len;

	while (is_ws(*p))
		p++;
	if (strncmp(p, "map", 3) != 0 || !is_ws(p[3]))
		goto bad;
	p += 3;
	while (is_ws(*p))
		p++;
	name = p;
	while (*p != '\0' && *p != ']' && !is_ws(*p))
		p++;
	len = (size_t)(p - name);
	while (is_ws(*p))
		p++;
	if (*p != ']')
		goto bad;
	for (e = p + 1; is_ws(*e); e++)
		;
	if (*e != '\0' || len == 0)
		goto bad;
	if (!valid_map_name(name, len))
		return err(ps, "bad map name \"%s\" (at most %d letters, "
		    "digits, \"_\", \"-\", \".\", first a letter or digit)",
		    log_printable(ps->show[0], sizeof(ps->show[0]), name, len),
		    CFG_MAPNAME_MAX);
	if (map_finish(ps) != 0)
		return -1;
	if ((dup = cfg_map_find(cfg, name, len)) != NULL) {
		if (dup->file != NULL && strcmp(dup->file, ps->file) != 0)
			return err(ps, "[map %s] is already defined at %s:%d",
			    dup->name, dup->file, dup->line);
		return err(ps, "[map %s] is already defined at line %d",
		    dup->name, dup->line);
	}
	m = map_add(cfg, name, len);
	m->file = ps->file;
	m->line = ps->line;
	for (size_t k = 0; k < ps->fdomains.n; k++)
		strlist_add(&m->domains, ps->fdomains.v[k],
		    strlen(ps->fdomains.v[k]));
	if (ps->ffilter != NULL)
		m->file_filter = xstrdup(ps->ffilter);
	ps->in_map = 1;
	return 0;
bad:
	return err(ps, "bad section header \"%s\" (expected [map NAME])",
	    show(ps, 0, s));
}

static int
assignment(struct pstate *ps, const char *s, struct buf *val)
{
	const char *eq = strchr(s, '='), *v, *e;
	size_t nlen;
	char name[CFG_MAPNAME_MAX + 1];
	int g, m, r, *lines;
	char **texts;
	int idx;

	if (eq == NULL) {
		/* "bind_pw secret": a line whose first word has "pw" or
		 * "pass" in it is not quoted. */
		for (e = s; *e != '\0' && !is_ws(*e) && *e != ':'; e++)
			if (strncasecmp(e, "pw", 2) == 0 ||
			    strncasecmp(e, "pass", 4) == 0)
				return err(ps, "expected \"name = value\" or "
				    "\"[map NAME]\" (the line may hold a "
				    "password: not shown)");
		return err(ps, "expected \"name = value\" or \"[map NAME]\", "
		    "got \"%s\"", show(ps, 0, s));
	}
	for (e = eq; e > s && is_ws(e[-1]); e--)
		;
	nlen = (size_t)(e - s);
	if (nlen == 0)
		return err(ps, "missing parameter name before \"=\"");
	for (size_t k = 0; k < nlen; k++)
		if (!is_namechar((unsigned char)s[k]))
			return err(ps, "bad parameter name \"%s\"",
			    log_printable(ps->show[0], sizeof(ps->show[0]), s,
			    nlen));
	if (nlen == 7 && memcmp(s, "include", 7) == 0) {
		for (v = eq + 1; is_ws(*v); v++)
			;
		return include(ps, v, val);
	}
	if (ps->depth > 0 && ((nlen == 6 && memcmp(s, "domain", 6) == 0) ||
	    (nlen == 14 && memcmp(s, "account_filter", 14) == 0)))
		return file_param(ps, nlen == 6, eq + 1, val);
	g = find_gparam(s, nlen);
	m = g < 0 ? find_mparam(s, nlen) : -1;
	if (g < 0 && m < 0)
		return err(ps, "unknown parameter \"%s\"",
		    log_printable(ps->show[0], sizeof(ps->show[0]), s, nlen));
	memcpy(name, s, nlen);
	name[nlen] = '\0';
	if (g >= 0 && ps->depth > 0)
		return err(ps, "\"%s\" is a global parameter: an included "
		    "file holds only [map] sections", name);
	if (g >= 0 && ps->in_map)
		return err(ps, "\"%s\" is a global parameter, not allowed "
		    "inside [map %s]", name, cur_map_name(ps));
	if (m >= 0 && !ps->in_map)
		return err(ps, "\"%s\" is a map parameter, allowed only inside "
		    "a [map NAME] section", name);
	for (v = eq + 1; is_ws(*v); v++)
		;
	if (expand(ps, v, val) != 0) {
		/* Its message would quote a piece of the password. */
		if (g == G_BIND_PW)
			return err(ps, "bind_pw: bad \"$\" in the value (not "
			    "shown; write $$ for a literal \"$\")");
		return -1;
	}

	texts = g >= 0 ? ps->gtext : ps->mtext;
	lines = g >= 0 ? ps->gline : ps->mline;
	idx = g >= 0 ? g : m;
	if (lines[idx] > 0)
		warnat(ps, ps->line, "parameter %s overrides the one at line %d",
		    name, lines[idx]);
	free(texts[idx]);
	texts[idx] = xstrdup(buf_str(val));
	lines[idx] = ps->line;
	if (g >= 0)
		r = gparams[g].set(ps, g, buf_str(val));
	else
		r = mparams[m].set(ps, &ps->cfg->maps[ps->cfg->n_maps - 1],
		    m, buf_str(val));
	return r;
}

/*
 * "domain = LIST" and "account_filter = FILTER" in an included file,
 * before its first section: its maps answer keys of those domains only,
 * and read only the entries the filter also matches.
 */
static int
file_param(struct pstate *ps, int is_domain, const char *v, struct buf *val)
{
	const char *name = is_domain ? "domain" : "account_filter";

	if (ps->in_map)
		return err(ps, "%s: in an included file it stands before the "
		    "file's first [map] section (here inside [map %s])", name,
		    cur_map_name(ps));
	while (is_ws(*v))
		v++;
	if (expand(ps, v, val) != 0)
		return -1;
	if (is_domain) {
		if (parse_domains(ps, name, buf_str(val), &ps->fdomains) != 0)
			return -1;
		if (ps->fdomains.n == 0)
			return err(ps, "domain: needs at least one domain name");
	} else {
		if (check_filter(ps, name, buf_str(val)) != 0)
			return -1;
		free(ps->ffilter);
		ps->ffilter = xstrdup(buf_str(val));
	}
	return 0;
}

/* ---- include = GLOB --------------------------------------------------- */

static int read_lines(struct pstate *, const char *, size_t);

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The pattern, relative ones taken from the including file's directory. */
static void
include_pattern(const struct pstate *ps, const char *v, struct buf *out)
{
	const char *slash = strrchr(ps->file, '/');

	buf_reset(out);
	if (*v != '/') {
		if (slash == NULL)
			buf_puts(out, ".");
		else if (slash == ps->file)
			buf_puts(out, "");	/* the file is in "/" */
		else
			buf_append(out, ps->file, (size_t)(slash - ps->file));
		buf_putc(out, '/');
	}
	buf_puts(out, v);
}

/* Read one included file; 0, or -1 (err set). */
static int
include_one(struct pstate *ps, const char *path)
{
	const struct cfg_files *f = ps->files;
	char why[512], *text = NULL, *id = NULL;
	const char *saved_file = ps->file;
	int saved_line = ps->line, rc = -1;
	struct strlist saved_domains;
	char *saved_filter;
	size_t len = 0, k;
	struct buf where = BUF_INIT;

	if (ps->cfg->include_files.n >= CFG_INCLUDE_FILES)
		return err(ps, "include: more than %d files", CFG_INCLUDE_FILES);
	/* Its name starts every message about its lines: one clean line. */
	for (const char *p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return err(ps, "include %s: a file name with a control "
			    "character", show(ps, 0, path));
	why[0] = '\0';
	if (f->read(f->arg, path, CFG_FILE_MAX - 1, &text, &len, &id, why,
	    sizeof(why)) != 0)
		return err(ps, "include %s: %s", show(ps, 0, path), why);
	for (k = 0; k < ps->ids.n; k++)
		if (strcmp(ps->ids.v[k], id) == 0)
			break;
	if (k < ps->ids.n) {
		int loop = 0;

		for (int d = 0; d <= ps->depth; d++)
			loop |= strcmp(ps->stack[d], id) == 0;
		if (loop)
			err(ps, "include %s: an include loop (the file is "
			    "being read already)", show(ps, 0, path));
		else	/* k > 0: the main file is always being read */
			err(ps, "include %s: already included at %s",
			    show(ps, 0, path), ps->where.v[k]);
		goto out;
	}
	if (ps->depth + 1 > CFG_INCLUDE_DEPTH) {
		err(ps, "include %s: included files nested deeper than %d",
		    show(ps, 0, path), CFG_INCLUDE_DEPTH);
		goto out;
	}
	if (CFG_INCLUDE_BYTES - ps->bytes < len) {
		err(ps, "include %s: more than %d bytes included in all",
		    show(ps, 0, path), CFG_INCLUDE_BYTES);
		goto out;
	}
	ps->bytes += len;
	buf_printf(&where, "%s:%d", ps->file, ps->line);
	strlist_add(&ps->ids, id, strlen(id));
	strlist_add(&ps->where, where.p, where.len);
	strlist_add(&ps->cfg->include_files, path, strlen(path));
	ps->stack[++ps->depth] = ps->ids.v[ps->ids.n - 1];
	ps->file = ps->cfg->include_files.v[ps->cfg->include_files.n - 1];
	/* The file's domain and account_filter start as its includer's
	 * and end with it. */
	saved_domains = ps->fdomains;
	saved_filter = ps->ffilter;
	memset(&ps->fdomains, 0, sizeof(ps->fdomains));
	for (k = 0; k < saved_domains.n; k++)
		strlist_add(&ps->fdomains, saved_domains.v[k],
		    strlen(saved_domains.v[k]));
	ps->ffilter = saved_filter != NULL ? xstrdup(saved_filter) : NULL;
	/* A section ends with its file. */
	rc = read_lines(ps, text, len) == 0 && map_finish(ps) == 0 ? 0 : -1;
	strlist_free(&ps->fdomains);
	free(ps->ffilter);
	ps->fdomains = saved_domains;
	ps->ffilter = saved_filter;
	ps->depth--;
	if (rc == 0) {
		ps->file = saved_file;
		ps->line = saved_line;
	}
out:
	if (text != NULL)
		explicit_bzero(text, len);
	free(text);
	free(id);
	buf_free(&where);
	return rc;
}

/*
 * include = GLOB: the files it names, in name order (strcmp), each read
 * as map sections.  It ends the section open before it.  A pattern
 * without * ? [ must name a file; one with them may name none.
 */
static int
include(struct pstate *ps, const char *v, struct buf *val)
{
	struct strlist paths = { NULL, 0 };
	struct buf pat = BUF_INIT;
	char why[512];
	int rc = -1;

	if (map_finish(ps) != 0)
		return -1;
	if (ps->files == NULL)
		return err(ps, "include: not available here (the configuration "
		    "is not read from a file)");
	if (expand(ps, v, val) != 0)
		return -1;
	if (val->len == 0)
		return err(ps, "include needs a file name or a pattern");
	include_pattern(ps, buf_str(val), &pat);
	why[0] = '\0';
	if (strpbrk(buf_str(&pat), "*?[") == NULL)
		strlist_add(&paths, pat.p, pat.len);
	else if (ps->files->glob(ps->files->arg, buf_str(&pat), &paths, why,
	    sizeof(why)) != 0) {
		err(ps, "include %s: %s", show(ps, 0, buf_str(&pat)), why);
		goto out;
	}
	if (paths.n == 0)
		warnat(ps, ps->line, "include %s: no file matches",
		    show(ps, 0, buf_str(&pat)));
	if (paths.n > 1)
		qsort(paths.v, paths.n, sizeof(*paths.v), by_name);
	for (size_t i = 0; i < paths.n; i++)
		if (include_one(ps, paths.v[i]) != 0)
			goto out;
	rc = 0;
out:
	strlist_free(&paths);
	buf_free(&pat);
	return rc;
}

static void
trim_end(struct buf *b)
{
	while (b->len > 0 && is_ws((unsigned char)b->p[b->len - 1]))
		b->len--;
	if (b->p != NULL)
		b->p[b->len] = '\0';
}

static int
read_lines(struct pstate *ps, const char *text, size_t len)
{
	struct buf cur = BUF_INIT, val = BUF_INIT;
	const char *ls, *nl, *p;
	size_t pos = 0, ll;
	int lineno = 0, lstart = 0, header = 0, rc = -1;

	/* cur holds the pending logical line (from lstart) unless header. */
	while (pos < len) {
		ls = text + pos;
		nl = memchr(ls, '\n', len - pos);
		ll = nl != NULL ? (size_t)(nl - ls) : len - pos;
		pos += ll + (nl != NULL);
		ps->line = ++lineno;
		if (ll > 0 && ls[ll - 1] == '\r')
			ll--;
		if (ll > CFG_LINE_MAX) {
			err(ps, "line longer than %d bytes", CFG_LINE_MAX);
			goto out;
		}
		for (p = ls; p < ls + ll && is_ws(*p); p++)
			;
		if (p == ls && p < ls + ll && *p != '#' && lstart != 0 &&
		    !header) {
			/* A new logical line: the pending one is complete. */
			ps->line = lstart;
			trim_end(&cur);
			if (assignment(ps, buf_str(&cur), &val) != 0)
				goto out;
			ps->line = lineno;
			lstart = 0;
		}
		for (size_t k = 0; k < ll; k++) {
			unsigned char c = (unsigned char)ls[k];

			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				err(ps, "control character \\x%02x in line", c);
				goto out;
			}
		}
		if (p == ls + ll || *p == '#')
			continue;
		if (p != ls) {
			if (lstart == 0) {
				err(ps, "continuation line (starting with "
				    "white space) before any parameter");
				goto out;
			}
			if (header) {
				err(ps, "a line starting with white space "
				    "continues the previous one: [map %s] "
				    "cannot be continued (do not indent "
				    "parameters)", cur_map_name(ps));
				goto out;
			}
			trim_end(&cur);
			buf_putc(&cur, ' ');
			buf_append(&cur, p, (size_t)(ls + ll - p));
			if (cur.len > CFG_LINE_MAX) {
				err(ps, "logical line longer than %d bytes",
				    CFG_LINE_MAX);
				goto out;
			}
			continue;
		}
		buf_reset(&cur);
		buf_append(&cur, ls, ll);
		trim_end(&cur);
		lstart = lineno;
		header = *ls == '[';
		if (header && section(ps, buf_str(&cur)) != 0)
			goto out;
	}
	if (lstart != 0 && !header) {
		ps->line = lstart;
		trim_end(&cur);
		if (assignment(ps, buf_str(&cur), &val) != 0)
			goto out;
	}
	rc = 0;
out:
	buf_free(&cur);
	buf_free(&val);
	return rc;
}

/* ---- the whole file ---------------------------------------------------- */

/* "(&A B)" into *f (freed), for each of a, b not NULL. */
static void
and_filter(char **f, const char *a)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "(&%s%s)", *f, a);
	free(*f);
	*f = xstrdup(buf_str(&b));
	buf_free(&b);
}

/*
 * The filter a map searches with: its own, its file's account_filter, and
 * the global account_filter when its entries are accounts (a map of
 * kind address or plain, or a domain map whose keys are the domains of
 * account addresses; not a map of domain entries).
 */
static void
and_filters(struct cfg_map *m, const char *global)
{
	if (m->file_filter != NULL)
		and_filter(&m->filter, m->file_filter);
	if (global != NULL && (m->kind != CFG_KIND_DOMAIN || m->key_domain))
		and_filter(&m->filter, global);
}

/* A map of the profile, unless a [map] section of that name replaces it;
 * -1 (err set) when it needs domain_base and there is none. */
static int
profile_map(struct pstate *ps, const char *profile,
    const struct profile_map *pm)
{
	struct cfg *cfg = ps->cfg;
	struct cfg_map *m;
	const char *base = pm->on_domain_base ? cfg->domain_base :
	    cfg->account_base;

	if (cfg_map_find(cfg, pm->name, strlen(pm->name)) != NULL)
		return 0;
	if (base == NULL)
		return errat(ps, 0, "missing required parameter \"domain_base\""
		    " (profile %s's map %s needs it; or replace it with "
		    "[map %s], or profile = none)", profile, pm->name,
		    pm->name);
	m = map_add(cfg, pm->name, strlen(pm->name));
	m->base = xstrdup(base);
	set_string(&m->filter, pm->filter);
	split_list(pm->key, &m->key);
	split_list(pm->result, &m->result);
	set_string(&m->format, pm->format);
	m->kind = pm->kind;
	m->catchall = pm->catchall;
	m->single = pm->single;
	m->short_names = pm->short_names;
	m->key_domain = pm->key_domain;
	m->values = pm->values;
	m->apple = pm->apple;
	m->builtin = 1;
	m->file = NULL;
	m->line = 0;
	cfg->builtin_maps++;
	return 0;
}

/* Two endpoints the same, textually (127.0.0.1 vs localhost passes). */
static int
same_endpoint(const struct cfg_listen *a, const struct cfg_listen *b)
{
	if (a->is_unix != b->is_unix)
		return 0;
	if (a->is_unix)
		return strcmp(a->path, b->path) == 0;
	return strcmp(a->host, b->host) == 0 && strcmp(a->port, b->port) == 0;
}

static int
check_endpoints(struct pstate *ps)
{
	struct cfg *cfg = ps->cfg;
	size_t ns = cfg->n_socketmap_listen, n = ns + cfg->n_tcp_listen;

	for (size_t i = 0; i < n; i++) {
		const struct cfg_listen *a = i < ns ? &cfg->socketmap_listen[i] :
		    &cfg->tcp_listen[i - ns];

		for (size_t j = 0; j < i; j++) {
			const struct cfg_listen *b = j < ns ?
			    &cfg->socketmap_listen[j] : &cfg->tcp_listen[j - ns];
			int gi = i < ns ? G_SOCKETMAP_LISTEN : G_TCP_LISTEN;
			int gj = j < ns ? G_SOCKETMAP_LISTEN : G_TCP_LISTEN;

			if (!same_endpoint(a, b))
				continue;
			return errat(ps, ps->gline[gi], "%s: \"%s\" uses the "
			    "same endpoint as \"%s\"%s%s", gparams[gi].name,
			    show(ps, 0, a->text), show(ps, 1, b->text),
			    gi != gj ? " in " : "", gi != gj ?
			    gparams[gj].name : "");
		}
	}
	return 0;
}

static int
uri_scheme_is(const char *uri, const char *scheme)
{
	size_t n = strlen(scheme);

	return strncasecmp(uri, scheme, n) == 0 && strncmp(uri + n, "://", 3)
	    == 0;
}

/*
 * The SASL bind and the client certificate against the rest: EXTERNAL
 * takes its identity from the connection (ldapi:// peer credentials, or
 * the certificate over TLS), so it takes no bind_dn or password, and
 * every server in ldap_uri must be able to give it one.
 */
static int
check_sasl(struct pstate *ps)
{
	struct cfg *cfg = ps->cfg;
	int sl = ps->gline[G_SASL_MECH];
	int cl = ps->gline[G_TLS_CERT_FILE], kl = ps->gline[G_TLS_KEY_FILE];
	int tls_on = cfg->tls != CFG_TLS_NO;

	cfg->tls_cert_file_line = cl;
	cfg->tls_key_file_line = kl;
	if (cfg->tls_cert_file != NULL && cfg->tls_key_file == NULL)
		return errat(ps, cl, "tls_cert_file is set but tls_key_file is "
		    "not");
	if (cfg->tls_key_file != NULL && cfg->tls_cert_file == NULL)
		return errat(ps, kl, "tls_key_file is set but tls_cert_file is "
		    "not");
	if (cfg->tls_cert_file != NULL && !tls_on) {
		int any_ldaps = 0;

		for (size_t i = 0; i < cfg->ldap_uri.n; i++)
			any_ldaps |= uri_scheme_is(cfg->ldap_uri.v[i], "ldaps");
		if (!any_ldaps)
			return errat(ps, cl, "tls_cert_file needs TLS (tls = "
			    "starttls or ldaps, or an ldaps:// URI)");
	}
	if (cfg->sasl_mech == NULL) {
		if (cfg->sasl_authz_id != NULL)
			return errat(ps, ps->gline[G_SASL_AUTHZ_ID],
			    "sasl_authz_id is set but sasl_mech is not");
		return 0;
	}
	if (cfg->bind_pw != NULL)
		return errat(ps, ps->gline[G_BIND_PW], "bind_pw is set but "
		    "sasl_mech = %s binds without a password (sasl_mech at "
		    "line %d)", cfg->sasl_mech, sl);
	if (cfg->bind_pw_file != NULL)
		return errat(ps, ps->gline[G_BIND_PW_FILE], "bind_pw_file is "
		    "set but sasl_mech = %s binds without a password "
		    "(sasl_mech at line %d)", cfg->sasl_mech, sl);
	if (cfg->bind_dn != NULL)
		return errat(ps, ps->gline[G_BIND_DN], "bind_dn is set but "
		    "sasl_mech = %s takes the identity from the connection "
		    "(sasl_mech at line %d; sasl_authz_id = dn:... asks for "
		    "another DN)", cfg->sasl_mech, sl);
	for (size_t i = 0; i < cfg->ldap_uri.n; i++) {
		const char *u = cfg->ldap_uri.v[i];

		if (uri_scheme_is(u, "ldapi"))
			continue;	/* peer credentials */
		if (uri_scheme_is(u, "ldap") && !tls_on)
			return errat(ps, sl, "sasl_mech = %s over \"%s\" needs "
			    "TLS and a client certificate (tls = starttls, "
			    "tls_cert_file, tls_key_file), or an ldapi:// URI",
			    cfg->sasl_mech, show(ps, 0, u));
		if (cfg->tls_cert_file == NULL)
			return errat(ps, sl, "sasl_mech = %s over \"%s\" needs "
			    "a client certificate (tls_cert_file, tls_key_file)"
			    "; without one it works over ldapi:// only",
			    cfg->sasl_mech, show(ps, 0, u));
	}
	return 0;
}

/* The Postfix configuration ldapmail ships (postfix/main.cf.fragment)
 * asks for domain, alias and mailbox: a warning when the maps leave one
 * out (profile = none with [map] sections of other names), as Postfix
 * would get "no such map" for it. */
static void
missing_maps(struct pstate *ps)
{
	static const char *const need[] = { "domain", "alias", "mailbox" };
	struct cfg *cfg = ps->cfg;
	struct buf b = BUF_INIT;
	size_t n = 0;

	for (size_t i = 0; i < 3; i++) {
		if (cfg_map_find(cfg, need[i], strlen(need[i])) != NULL)
			continue;
		buf_printf(&b, "%s%s", n++ ? ", " : "", need[i]);
	}
	if (n > 0)
		warnat(ps, 0, "the maps leave out %s (profile %s): the Postfix "
		    "configuration ldapmail ships asks for domain, alias and "
		    "mailbox", buf_str(&b), cfg->profile);
	buf_free(&b);
}

static int
check_all(struct pstate *ps)
{
	struct cfg *cfg = ps->cfg;
	const struct profile *pf;
	int a, b, warned = 0;

	if (map_finish(ps) != 0)
		return -1;
	if (cfg->ldap_uri.n == 0)
		return errat(ps, 0, "missing required parameter \"ldap_uri\"");
	if (cfg->account_base == NULL)
		return errat(ps, 0, "missing required parameter "
		    "\"account_base\"");
	if (check_sasl(ps) != 0)
		return -1;
	if (cfg->bind_pw != NULL && cfg->bind_pw_file != NULL) {
		a = ps->gline[G_BIND_PW];
		b = ps->gline[G_BIND_PW_FILE];
		if (a > b)
			return errat(ps, a, "bind_pw and bind_pw_file are both "
			    "set (bind_pw_file at line %d)", b);
		return errat(ps, b, "bind_pw and bind_pw_file are both set "
		    "(bind_pw at line %d)", a);
	}
	if (cfg->bind_dn == NULL && cfg->bind_pw != NULL)
		return errat(ps, ps->gline[G_BIND_PW], "bind_pw is set but "
		    "bind_dn is not");
	if (cfg->bind_dn == NULL && cfg->bind_pw_file != NULL)
		return errat(ps, ps->gline[G_BIND_PW_FILE], "bind_pw_file is "
		    "set but bind_dn is not");
	if (cfg->bind_dn != NULL && cfg->bind_pw == NULL &&
	    cfg->bind_pw_file == NULL)
		return errat(ps, ps->gline[G_BIND_DN], "bind_dn needs bind_pw "
		    "or bind_pw_file");
	cfg->bind_pw_file_line = ps->gline[G_BIND_PW_FILE];
	/* With persist sync, refresh is a safety full reload. */
	if (cfg->sync == CFG_SYNC_PERSIST && ps->gline[G_REFRESH] == 0)
		cfg->refresh = CFG_PERSIST_REFRESH;
	if (strcmp(cfg->shared_dir, cfg->shared_maildirs_dir) == 0) {
		a = ps->gline[G_SHARED_DIR];
		b = ps->gline[G_SHARED_MAILDIRS_DIR];
		return errat(ps, a > b ? a : b, "shared_dir and "
		    "shared_maildirs_dir must differ");
	}
	pf = profile_find(cfg->profile);
	for (size_t i = 0; pf != NULL && i < pf->n_maps; i++)
		if (profile_map(ps, pf->name, &pf->maps[i]) != 0)
			return -1;
	for (size_t i = 0; i < cfg->n_maps; i++) {
		struct cfg_map *m = &cfg->maps[i];

		if (m->table != NULL)
			continue;
		if (m->base == NULL)
			m->base = xstrdup(cfg->account_base);
		and_filters(m, cfg->account_filter);
		if (!m->short_names)
			continue;
		if (cfg->local_domains.n == 0 && !warned++)
			warnat(ps, 0, "map %s has short names but local_domains "
			    "is empty: names without \"@\" answer nothing",
			    m->name);
		for (size_t k = 0; k < cfg->local_domains.n; k++)
			strlist_add(&m->qualify, cfg->local_domains.v[k],
			    strlen(cfg->local_domains.v[k]));
	}
	missing_maps(ps);
	for (size_t i = 0; i < cfg->n_tcp_listen; i++) {
		const char *map = cfg->tcp_listen[i].map;

		if (cfg_map_find(cfg, map, strlen(map)) == NULL)
			return errat(ps, ps->gline[G_TCP_LISTEN], "tcp_listen: "
			    "no [map %s] for \"%s\"", map,
			    show(ps, 0, cfg->tcp_listen[i].text));
	}
	return check_endpoints(ps);
}

struct cfg *
cfg_parse(const char *text, size_t len, const char *name, char *err,
    size_t errsz)
{
	return cfg_parse_files(text, len, name, name != NULL ? name :
	    "(config)", NULL, err, errsz);
}

struct cfg *
cfg_parse_files(const char *text, size_t len, const char *name,
    const char *id, const struct cfg_files *files, char *err, size_t errsz)
{
	struct pstate *ps;
	struct cfg *cfg;
	int rc = -1;

	if (err != NULL && errsz > 0)
		err[0] = '\0';
	ps = xcalloc(1, sizeof(*ps));
	cfg = xcalloc(1, sizeof(*cfg));
	cfg->file = xstrdup(name != NULL ? name : "(config)");
	ps->cfg = cfg;
	ps->file = cfg->file;
	ps->err = err;
	ps->errsz = errsz;
	ps->files = files;
	strlist_add(&ps->ids, id, strlen(id));
	strlist_add(&ps->where, "", 0);
	ps->stack[0] = ps->ids.v[0];
	for (int i = 0; i < G_COUNT; i++) {
		if (gparams[i].def == NULL)
			continue;
		ps->gtext[i] = xstrdup(gparams[i].def);
		if (gparams[i].set(ps, i, gparams[i].def) != 0)
			goto out;	/* a bug in the table */
	}
	if (len >= CFG_FILE_MAX) {
		errat(ps, 0, "file too large (at most %d bytes)",
		    CFG_FILE_MAX - 1);
		goto out;
	}
	if (read_lines(ps, text, len) != 0)
		goto out;
	ps->file = cfg->file;
	if (check_all(ps) != 0)
		goto out;
	rc = 0;
out:
	for (int i = 0; i < G_COUNT; i++)
		free(ps->gtext[i]);
	mtext_clear(ps);
	strlist_free(&ps->ids);
	strlist_free(&ps->where);
	strlist_free(&ps->fdomains);
	free(ps->ffilter);
	free(ps);
	if (rc != 0) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

void
cfg_free(struct cfg *cfg)
{
	if (cfg == NULL)
		return;
	for (int i = 0; i < G_COUNT; i++) {
		void *f = (char *)cfg + gparams[i].off;

		if (gparams[i].set == set_uri_list ||
		    gparams[i].set == set_folders ||
		    gparams[i].set == set_domains)
			strlist_free(f);
		else if (gparams[i].set == set_str_opt ||
		    gparams[i].set == set_gfilter ||
		    gparams[i].set == set_str_req ||
		    gparams[i].set == set_str_any ||
		    gparams[i].set == set_abs_path ||
		    gparams[i].set == set_mail_base ||
		    gparams[i].set == set_component ||
		    gparams[i].set == set_delim ||
		    gparams[i].set == set_sasl_mech ||
		    gparams[i].set == set_profile ||
		    gparams[i].set == set_authz_id)
			free(*(char **)f);
	}
	listen_free(cfg->socketmap_listen, cfg->n_socketmap_listen);
	listen_free(cfg->tcp_listen, cfg->n_tcp_listen);
	for (size_t i = 0; i < cfg->n_maps; i++)
		map_free(&cfg->maps[i]);
	free(cfg->maps);
	strlist_free(&cfg->warnings);
	strlist_free(&cfg->include_files);
	free(cfg->file);
	free(cfg);
}

const struct cfg_map *
cfg_map_find(const struct cfg *cfg, const char *name, size_t len)
{
	for (size_t i = 0; i < cfg->n_maps; i++)
		if (strlen(cfg->maps[i].name) == len &&
		    memcmp(cfg->maps[i].name, name, len) == 0)
			return &cfg->maps[i];
	return NULL;
}

/*
 * Read at most max bytes of fd into a fresh NUL-terminated buffer; 1 if
 * the file holds more, -1 with errno on a read error.
 */
static int
read_all(int fd, size_t max, char **out, size_t *outlen)
{
	size_t cap = 8192, len = 0;
	char *p = xmalloc(cap + 1);
	ssize_t r;

	for (;;) {
		if (len == cap) {
			if (cap > max) {
				explicit_bzero(p, len);
				free(p);
				return 1;
			}
			cap *= 2;
			p = xrealloc(p, cap + 1);
		}
		r = read(fd, p + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			explicit_bzero(p, len);
			free(p);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		explicit_bzero(p, len);
		free(p);
		return 1;
	}
	p[len] = '\0';
	*out = p;
	*outlen = len;
	return 0;
}

/*
 * What is wrong with a file that holds a secret (bind_pw_file,
 * tls_key_file), set at line of the config as name, whose status is st:
 * 0 nothing, 1 a warning (readable by others, allowed by readable_ok),
 * -1 it must not be used.  msg says why, as "FILE:LINE: text"; hint ends
 * the refusal of a file others can read.  Only a regular file will do (a
 * FIFO would block the reader, a device never ends); a symlink counts as
 * its target.  secret = 0: the file only has to be regular.
 */
static int
file_problem(const struct cfg *cfg, const char *name, const char *path,
    int line, int secret, int readable_ok, const char *hint,
    const struct stat *st, char *msg, size_t msgsz)
{
	char where[PATH_MAX + 64];

	/* Cut short at worst: it is only a message. */
	if (snprintf(where, sizeof(where), "%s:%d: %s %s", cfg->file, line,
	    name, path) < 0)
		where[0] = '\0';
	if (!S_ISREG(st->st_mode)) {
		log_errf(msg, msgsz, "%s: not a regular file", where);
		return -1;
	}
	if (!secret || !(st->st_mode & S_IROTH))
		return 0;
	if (readable_ok) {
		log_errf(msg, msgsz, "%s is readable by others (mode %04o)",
		    where, (unsigned)(st->st_mode & 07777));
		return 1;
	}
	log_errf(msg, msgsz, "%s is readable by others (mode %04o): refused "
	    "(%s)", where, (unsigned)(st->st_mode & 07777), hint);
	return -1;
}

static int
pw_file_problem(const struct cfg *cfg, const struct stat *st, char *msg,
    size_t msgsz)
{
	return file_problem(cfg, "bind_pw_file", cfg->bind_pw_file,
	    cfg->bind_pw_file_line, 1, cfg->bind_pw_file_readable,
	    "chmod o-r, or set bind_pw_file_readable = yes", st, msg, msgsz);
}

int
cfg_tls_client_files(const struct cfg *cfg, char *err, size_t errsz)
{
	struct {
		const char *name, *path;
		int line, secret;
	} f[2] = {
		{ "tls_cert_file", cfg->tls_cert_file,
		    cfg->tls_cert_file_line, 0 },
		{ "tls_key_file", cfg->tls_key_file, cfg->tls_key_file_line, 1 },
	};

	for (int i = 0; i < 2; i++) {
		struct stat st;
		int fd, r;

		if (f[i].path == NULL)
			continue;
		/* Opened, not access(2)ed: what counts is what we can read. */
		fd = open(f[i].path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
		    O_NONBLOCK);
		if (fd < 0)
			return log_errf(err, errsz, "%s:%d: %s %s: cannot open: "
			    "%s", cfg->file, f[i].line, f[i].name, f[i].path,
			    strerror(errno));
		r = fstat(fd, &st);
		close(fd);
		if (r != 0)
			return log_errf(err, errsz, "%s:%d: %s %s: cannot stat: "
			    "%s", cfg->file, f[i].line, f[i].name, f[i].path,
			    strerror(errno));
		if (file_problem(cfg, f[i].name, f[i].path, f[i].line,
		    f[i].secret, 0, "chmod o-r", &st, err, errsz) != 0)
			return -1;
	}
	return 0;
}

/* include on the file system: glob(3), sorted by include() itself. */
static int
fs_glob(void *arg, const char *pattern, struct strlist *paths, char *err,
    size_t errsz)
{
	glob_t g;
	int r;

	memset(&g, 0, sizeof(g));
	r = glob(pattern, GLOB_ERR | GLOB_NOSORT, NULL, &g);
	if (r == GLOB_NOMATCH) {
		globfree(&g);
		return 0;
	}
	if (r != 0) {
		globfree(&g);
		return log_errf(err, errsz, r == GLOB_ABORTED ? "cannot read a "
		    "directory of the pattern" : "cannot expand the pattern");
	}
	for (size_t i = 0; i < g.gl_pathc; i++)
		strlist_add(paths, g.gl_pathv[i], strlen(g.gl_pathv[i]));
	globfree(&g);
	return 0;
}

static int
fs_read(void *arg, const char *path, size_t max, char **text, size_t *len,
    char **id, char *err, size_t errsz)
{
	char ident[64];
	struct stat st;
	int fd, r;

	/* O_NONBLOCK: a FIFO must not wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return log_errf(err, errsz, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return log_errf(err, errsz, "not a regular file");
	}
	r = read_all(fd, max, text, len);
	close(fd);
	if (r < 0)
		return log_errf(err, errsz, "cannot read: %s", strerror(errno));
	if (r > 0)
		return log_errf(err, errsz, "file too large (at most %zu bytes)",
		    max);
	r = snprintf(ident, sizeof(ident), "%ju:%ju", (uintmax_t)st.st_dev,
	    (uintmax_t)st.st_ino);
	if (r < 0 || (size_t)r >= sizeof(ident))
		ident[0] = '\0';	/* 41 bytes at most: cannot happen */
	*id = xstrdup(ident);
	return 0;
}

static const struct cfg_files fs_files = { fs_glob, fs_read, NULL };

struct cfg *
cfg_load(const char *path, char *err, size_t errsz)
{
	char ident[64];
	struct stat st;
	struct cfg *cfg;
	size_t len;
	char *text;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		log_errf(err, errsz, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		log_errf(err, errsz, "%s: cannot stat: %s", path,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	if (S_ISREG(st.st_mode) && st.st_size >= CFG_FILE_MAX) {
		log_errf(err, errsz, "%s: file too large (at most %d bytes)",
		    path, CFG_FILE_MAX - 1);
		close(fd);
		return NULL;
	}
	r = read_all(fd, CFG_FILE_MAX - 1, &text, &len);
	if (r != 0) {
		if (r < 0)
			log_errf(err, errsz, "%s: cannot read: %s", path,
			    strerror(errno));
		else
			log_errf(err, errsz, "%s: file too large (at most %d "
			    "bytes)", path, CFG_FILE_MAX - 1);
		close(fd);
		return NULL;
	}
	close(fd);
	r = snprintf(ident, sizeof(ident), "%ju:%ju", (uintmax_t)st.st_dev,
	    (uintmax_t)st.st_ino);
	if (r < 0 || (size_t)r >= sizeof(ident))
		ident[0] = '\0';
	cfg = cfg_parse_files(text, len, path, ident, &fs_files, err, errsz);
	explicit_bzero(text, len);	/* it may hold bind_pw */
	free(text);
	if (cfg != NULL && cfg->bind_pw != NULL && (st.st_mode & S_IROTH)) {
		struct buf b = BUF_INIT;

		buf_printf(&b, "%s: bind_pw is set in a file readable by "
		    "others (use bind_pw_file, mode 0640)", path);
		strlist_add(&cfg->warnings, b.p, b.len);
		buf_free(&b);
	}
	/* A file that is not there yet is the bind's problem, not ours. */
	if (cfg != NULL && cfg->bind_pw_file != NULL &&
	    stat(cfg->bind_pw_file, &st) == 0) {
		char msg[PATH_MAX + 256];

		r = pw_file_problem(cfg, &st, msg, sizeof(msg));
		if (r > 0) {
			strlist_add(&cfg->warnings, msg, strlen(msg));
		} else if (r < 0) {
			log_errf(err, errsz, "%s", msg);
			cfg_free(cfg);
			return NULL;
		}
	}
	if (cfg != NULL && cfg_tls_client_files(cfg, err, errsz) != 0) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

int
cfg_bind_password(const struct cfg *cfg, char **pw, char *err,
    size_t errsz)
{
	const char *f = cfg->bind_pw_file;
	char msg[PATH_MAX + 256];
	struct stat st;
	size_t len;
	char *text;
	int fd, r;

	*pw = NULL;
	if (cfg->bind_pw != NULL) {
		*pw = xstrdup(cfg->bind_pw);
		return 0;
	}
	if (f == NULL)
		return 0;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	if ((fd = open(f, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return log_errf(err, errsz, "bind_pw_file %s: cannot open: %s", f,
		    strerror(errno));
	if (fstat(fd, &st) != 0) {
		r = errno;
		close(fd);
		return log_errf(err, errsz, "bind_pw_file %s: cannot stat: %s", f,
		    strerror(r));
	}
	/* Checked again at every read: the file may have changed since. */
	r = pw_file_problem(cfg, &st, msg, sizeof(msg));
	if (r < 0) {
		close(fd);
		return log_errf(err, errsz, "%s", msg);
	}
	if (r > 0)
		log_warn("%s", msg);
	r = read_all(fd, CFG_PW_MAX, &text, &len);
	close(fd);
	if (r < 0)
		return log_errf(err, errsz, "bind_pw_file %s: cannot read: %s", f,
		    strerror(errno));
	if (r > 0)
		return log_errf(err, errsz, "bind_pw_file %s: longer than %d "
		    "bytes", f, CFG_PW_MAX);
	if (len > 0 && text[len - 1] == '\n') {
		len--;
		if (len > 0 && text[len - 1] == '\r')
			len--;
		text[len] = '\0';
	}
	if (len == 0 || memchr(text, '\0', len) != NULL) {
		explicit_bzero(text, len);
		free(text);
		return log_errf(err, errsz, len == 0 ? "bind_pw_file %s is empty" :
		    "bind_pw_file %s holds a NUL byte", f);
	}
	*pw = text;
	return 0;
}
