/*
 * cfg: /etc/ldapmail/ldapmail.conf, shared by lookupd and ldap-maildirmake.
 *
 * Postfix-style "name = value" lines; "#" comment lines; a line starting
 * with white space continues the previous one; $name, ${name} and $(name)
 * expand an earlier parameter ($$ is a literal $).  "[map NAME]" opens a
 * map section.  List values split at commas and/or white space.  A
 * parameter given twice keeps the later value and leaves a warning.  Every
 * error names "FILE:LINE: ...".  "profile = NAME" gives the built-in maps
 * of a directory design (common/profile.c); a [map NAME] section adds a
 * map or replaces the profile's map of that name.
 * "include = GLOB" reads more files (map sections only) in name order;
 * an included file may start with "domain = LIST" (its maps answer keys
 * of those domains only) and "account_filter = FILTER" (ANDed into its
 * maps' filters).
 *
 * The parsed struct is read-only after cfg_load(); lookupd shares one
 * between threads without locking.
 */
#ifndef LDAPMAIL_CFG_H
#define LDAPMAIL_CFG_H

#include <stddef.h>

struct ldaptable;

#define CFG_DEFAULT_PATH "/etc/ldapmail/ldapmail.conf"
#define CFG_PERSIST_REFRESH 3600	/* refresh's default with persist */

struct strlist {
	char **v;	/* v[n] == NULL when n > 0: usable as an attrs list */
	size_t n;
};

enum cfg_tls { CFG_TLS_NO, CFG_TLS_STARTTLS, CFG_TLS_LDAPS };
enum cfg_scope { CFG_SCOPE_BASE, CFG_SCOPE_ONE, CFG_SCOPE_SUB };
enum cfg_sync { CFG_SYNC_POLL, CFG_SYNC_PERSIST };
enum cfg_kind { CFG_KIND_ADDRESS, CFG_KIND_DOMAIN, CFG_KIND_PLAIN };
/* Which result values answer: every one; those of the first result
 * attribute the entry holds; only the first value of that one. */
enum cfg_values { CFG_VALUES_ALL, CFG_VALUES_FIRST_ATTRIBUTE,
	CFG_VALUES_FIRST };
/* apple_mail: the entry's apple-user-mailattribute decides (no: it is not
 * read; enabled: only Enabled entries answer; forward: Forward entries
 * answer their kAutoForwardValue too). */
enum cfg_apple { CFG_APPLE_NO, CFG_APPLE_ENABLED, CFG_APPLE_FORWARD };

/* A listening endpoint: unix:PATH or inet:HOST:PORT. */
struct cfg_listen {
	int is_unix;
	char *path;	/* unix */
	char *host;	/* inet; without [] for IPv6 */
	char *port;	/* inet */
	char *map;	/* tcp_listen only: the one map served there */
	char *text;	/* as written, for messages */
};

struct cfg_map {
	char *name;
	char *base;
	enum cfg_scope scope;
	char *filter;
	struct strlist key;	/* attribute names */
	struct strlist result;	/* attribute names */
	char *format;		/* exactly one %s; %% is a literal % */
	enum cfg_kind kind;
	int catchall;
	int single;
	int short_names;	/* a key value without '@' is a name in every
				 * domain of qualify */
	int key_domain;		/* keys: the domains of the key values */
	enum cfg_values values;
	enum cfg_apple apple;
	struct strlist qualify;	/* short_names: local_domains, lowercase */
	struct strlist domains;	/* its file's "domain": keys only of these
				 * (none: no restriction) */
	char *file_filter;	/* its file's account_filter (already ANDed
				 * into filter), or NULL */
	/* ldap_table = FILE: a Postfix ldap_table(5) file answers this map
	 * (as Postfix's ldap: would); base, filter, key, result, format and
	 * the key options are then not used. */
	char *ldap_table;
	struct ldaptable *table;
	int builtin;		/* from the profile, not a [map] section */
	const char *file;	/* where the section starts (NULL: built-in) */
	int line;
};

struct cfg {
	char *file;

	struct strlist ldap_uri;
	char *bind_dn;
	char *bind_pw;
	char *bind_pw_file;
	int bind_pw_file_readable;	/* others may read it: warn only */
	int bind_pw_file_line;		/* where it is set, for messages */
	enum cfg_tls tls;
	char *tls_ca_file;
	int tls_require_cert;
	/* SASL bind and client certificate (NULL: unset) */
	char *sasl_mech;		/* "EXTERNAL"; NULL: simple bind */
	char *sasl_authz_id;		/* "dn:..." or "u:..." */
	char *tls_cert_file;
	char *tls_key_file;
	int tls_cert_file_line;		/* where they are set, for messages */
	int tls_key_file_line;
	int ldap_timeout;
	int failback;			/* s on a later ldap_uri before the
					 * earlier ones are tried again */
	char *domain_base;
	char *account_base;

	struct cfg_listen *socketmap_listen;
	size_t n_socketmap_listen;
	struct cfg_listen *tcp_listen;
	size_t n_tcp_listen;

	char *cache_dir;
	int refresh;			/* persist: the safety full reload */
	enum cfg_sync sync;		/* poll: rebuild every refresh s */
	int persist_flush;		/* ms: changes coalesced into a commit */
	int miss_lookup;
	int negative_ttl;
	int min_refresh;
	int max_stale;
	char *recipient_delimiter;	/* "" = none */
	char *user;			/* NULL = do not change */
	char *group;
	char *socket_group;		/* NULL/"" = leave as created */
	int socket_mode;
	int max_connections;
	int idle_timeout;
	int max_request_size;
	char *metrics_file;		/* NULL: none (lookupd's metrics in
					 * Prometheus's text format) */
	int metrics_interval;		/* s between two writes of it */

	char *mail_base;
	char *mail_owner;
	char *shared_dir;
	char *shared_maildirs_dir;

	char *profile;			/* howto, jamm, ox, apple, none */
	char *account_filter;		/* ANDed into account searches; NULL */
	struct strlist local_domains;	/* lowercase, no trailing dot */

	struct cfg_map *maps;
	size_t n_maps;
	int builtin_maps;		/* how many come from the profile */

	/* ldap-maildirmake: folders of every new maildir (Courier names,
	 * "." between levels, UTF-8), subscribed */
	struct strlist default_folders;
	/* ldap-maildirmake: its state (NULL: <cache_dir>/maildirmake), and
	 * whether a new account may take an orphan's maildir holding mail */
	char *state_dir;
	int adopt_orphans;

	/* include = GLOB: every file read, in order (a map's file points
	 * into it) */
	struct strlist include_files;

	struct strlist warnings;	/* "FILE:LINE: text", for `check` */
};

/* Read and check a file.  NULL on error, with "FILE:LINE: text" in err. */
struct cfg *cfg_load(const char *path, char *err, size_t errsz);
/* The same from memory; name is used in messages (fuzzing, unit tests).
 * include is refused. */
struct cfg *cfg_parse(const char *text, size_t len, const char *name,
    char *err, size_t errsz);

/* How include = GLOB reads files (cfg_load: the file system; tests and
 * fuzzing: files in memory). */
struct cfg_files {
	/* Add to paths the files pattern names (in any order; none is fine);
	 * a pattern without * ? [ is a path, added as it is.  0, or -1 with
	 * a reason in err. */
	int (*glob)(void *arg, const char *pattern, struct strlist *paths,
	    char *err, size_t errsz);
	/* A fresh, NUL-terminated copy of a regular file of at most max
	 * bytes, and an identity that two names of one file share.  0, or
	 * -1 with a reason in err. */
	int (*read)(void *arg, const char *path, size_t max, char **text,
	    size_t *len, char **id, char *err, size_t errsz);
	void *arg;
};

/* cfg_parse, with include read through files; id: the main file's. */
struct cfg *cfg_parse_files(const char *text, size_t len, const char *name,
    const char *id, const struct cfg_files *files, char *err,
    size_t errsz);
void cfg_free(struct cfg *cfg);

/* The map called name (len bytes), or NULL. */
const struct cfg_map *cfg_map_find(const struct cfg *cfg, const char *name,
    size_t len);

/* Read the bind password (bind_pw or bind_pw_file, one trailing newline
 * dropped) into a fresh buffer the caller wipes and frees.  *pw is NULL
 * for an anonymous bind.  -1 with err set when the file cannot be read. */
int cfg_bind_password(const struct cfg *cfg, char **pw, char *err,
    size_t errsz);

/* Check that tls_cert_file and tls_key_file (when set) are regular files
 * this process can open, the key not readable by others.  -1 with
 * "FILE:LINE: text" in err if not; 0 otherwise (and when unset). */
int cfg_tls_client_files(const struct cfg *cfg, char *err, size_t errsz);

#endif
