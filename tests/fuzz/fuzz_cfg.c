/*
 * fuzz_cfg: common/cfg.c, the parser of ldapmail.conf, on arbitrary
 * text (a config is untrusted input: a typo, a bad template, an editor
 * that wrote CRs or NULs).
 *
 * cfg_parse() must never crash or leak (ASan's leak check runs at exit
 * and on -detect_leaks).  When it fails, the message must start with the
 * file name and hold no control byte (it goes to a terminal or a log as
 * one line).  When it succeeds, what the rest of ldapmail relies on
 * without checking again must hold:
 *   - ldap_uri has at least one ldap://, ldaps:// or ldapi:// URI;
 *     account_base is set; bind_dn comes with exactly one of bind_pw /
 *     bind_pw_file and they come only with it;
 *   - every integer is inside its documented range;
 *   - mail_base is absolute and normalized; shared_dir and
 *     shared_maildirs_dir are single, different components;
 *   - recipient_delimiter is printable, without '@' or space;
 *   - every listen endpoint is unix:/PATH (<= 107 bytes) or inet with a
 *     host and a port 1..65535; every tcp_listen map exists; no endpoint
 *     is listed twice;
 *   - at least one map; names unique, valid; every map has key.n > 0 and
 *     result.n > 0 (both NULL-terminated lists of attribute names), a
 *     base, a filter that is one balanced parenthesized filter with only
 *     \HH escapes, a format with exactly one %s and no other '%' but
 *     %%, catchall only with kind = address; the built-in profile is the
 *     three maps of the SPEC;
 *   - default_folders: at most 64 Courier folder names (safepath_folder),
 *     none "INBOX" or "INBOX.*", none twice;
 *   - no string anywhere holds a control byte other than TAB;
 *   - parsing the same text twice gives the same verdict and message.
 * The text is also parsed with a 16-byte error buffer (truncation only).
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/cfg.h"
#include "common/profile.h"
#include "common/safepath.h"
#include "tests/fuzz/fuzz.h"

#define NAME "fuzz.conf"

static void
check_text(const char *s)
{
	FUZZ_ASSERT(s != NULL);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		FUZZ_ASSERT((*p >= 0x20 && *p != 0x7f) || *p == '\t');
}

static void
check_opt(const char *s)
{
	if (s != NULL)
		check_text(s);
}

static void
check_list(const struct strlist *l)
{
	FUZZ_ASSERT(l->n == 0 || l->v[l->n] == NULL);
	for (size_t i = 0; i < l->n; i++) {
		check_text(l->v[i]);
		FUZZ_ASSERT(l->v[i][0] != '\0');
		/* Items were split at commas and white space. */
		FUZZ_ASSERT(strpbrk(l->v[i], ", \t") == NULL);
	}
}

static int
is_attr(const char *s)
{
	const char *p = s;

	if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
		for (p++; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '-'))
				return 0;
		return 1;
	}
	/* numericoid: digits and single dots, not first or last. */
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p; p++) {
		if (*p == '.') {
			if (p[1] < '0' || p[1] > '9')
				return 0;
		} else if (*p < '0' || *p > '9') {
			return 0;
		}
	}
	return 1;
}

static void
check_attrs(const struct strlist *l)
{
	FUZZ_ASSERT(l->n > 0);
	FUZZ_ASSERT(l->v != NULL && l->v[l->n] == NULL);
	check_list(l);
	for (size_t i = 0; i < l->n; i++)
		FUZZ_ASSERT(is_attr(l->v[i]));
}

static void
check_filter(const char *f)
{
	size_t len = strlen(f);
	int depth = 0;

	check_text(f);
	FUZZ_ASSERT(len >= 2 && f[0] == '(' && f[len - 1] == ')');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)f[i];

		FUZZ_ASSERT(c >= 0x20 && c != 0x7f);
		if (c == '\\') {
			FUZZ_ASSERT(i + 2 < len);
			FUZZ_ASSERT(fuzz_hexval((unsigned char)f[i + 1]) >= 0);
			FUZZ_ASSERT(fuzz_hexval((unsigned char)f[i + 2]) >= 0);
			i += 2;
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			depth--;
			FUZZ_ASSERT(depth >= 0);
			/* One filter: the outer ")" closes it at the end. */
			FUZZ_ASSERT(depth > 0 || i == len - 1);
		}
	}
	FUZZ_ASSERT(depth == 0);
}

static void
check_format(const char *f)
{
	int n = 0;

	check_text(f);
	for (const char *p = f; *p; p++) {
		if (*p != '%')
			continue;
		FUZZ_ASSERT(p[1] == 's' || p[1] == '%');
		n += p[1] == 's';
		p++;
	}
	FUZZ_ASSERT(n == 1);
}

static int
valid_map_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 64)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9');

		if (i == 0 && !alnum)
			return 0;
		if (!alnum && c != '_' && c != '-' && c != '.')
			return 0;
	}
	return 1;
}

static void
check_map(const struct cfg *cfg, size_t idx)
{
	const struct cfg_map *m = &cfg->maps[idx];

	FUZZ_ASSERT(m->name != NULL && valid_map_name(m->name));
	for (size_t j = 0; j < idx; j++)
		FUZZ_ASSERT(strcmp(cfg->maps[j].name, m->name) != 0);
	FUZZ_ASSERT(cfg_map_find(cfg, m->name, strlen(m->name)) == m);
	FUZZ_ASSERT(m->base != NULL && m->base[0] != '\0');
	check_text(m->base);
	FUZZ_ASSERT(m->scope == CFG_SCOPE_BASE || m->scope == CFG_SCOPE_ONE ||
	    m->scope == CFG_SCOPE_SUB);
	FUZZ_ASSERT(m->filter != NULL);
	check_filter(m->filter);
	check_attrs(&m->key);
	check_attrs(&m->result);
	FUZZ_ASSERT(m->format != NULL);
	check_format(m->format);
	FUZZ_ASSERT(m->kind == CFG_KIND_ADDRESS || m->kind == CFG_KIND_DOMAIN ||
	    m->kind == CFG_KIND_PLAIN);
	FUZZ_ASSERT(m->catchall == 0 || m->catchall == 1);
	FUZZ_ASSERT(m->single == 0 || m->single == 1);
	FUZZ_ASSERT(!m->catchall || m->kind == CFG_KIND_ADDRESS);
	FUZZ_ASSERT((m->file == NULL) == (m->builtin != 0));
	FUZZ_ASSERT(!m->key_domain || m->kind == CFG_KIND_DOMAIN);
	FUZZ_ASSERT(!m->short_names || m->kind != CFG_KIND_PLAIN);
	FUZZ_ASSERT(m->apple == CFG_APPLE_NO || m->kind == CFG_KIND_ADDRESS);
	FUZZ_ASSERT(m->short_names ? m->qualify.n == cfg->local_domains.n :
	    m->qualify.n == 0);
	FUZZ_ASSERT(m->file == NULL || m->line > 0);
}

static void
check_listen(const struct cfg *cfg, const struct cfg_listen *l, int tcp)
{
	check_text(l->text);
	if (tcp) {
		FUZZ_ASSERT(l->map != NULL && valid_map_name(l->map));
		FUZZ_ASSERT(cfg_map_find(cfg, l->map, strlen(l->map)) != NULL);
	}
	if (l->is_unix) {
		FUZZ_ASSERT(l->path != NULL && l->path[0] == '/');
		FUZZ_ASSERT(strlen(l->path) <= 107);
		check_text(l->path);
	} else {
		long port = 0;

		FUZZ_ASSERT(l->host != NULL && l->host[0] != '\0');
		check_text(l->host);
		FUZZ_ASSERT(strpbrk(l->host, "[]") == NULL);
		FUZZ_ASSERT(l->port != NULL && l->port[0] != '\0');
		for (const char *p = l->port; *p; p++) {
			FUZZ_ASSERT(*p >= '0' && *p <= '9');
			port = port * 10 + (*p - '0');
			FUZZ_ASSERT(port <= 65535);
		}
		FUZZ_ASSERT(port >= 1 && l->port[0] != '0');
	}
}

static int
same_endpoint(const struct cfg_listen *a, const struct cfg_listen *b)
{
	if (a->is_unix != b->is_unix)
		return 0;
	if (a->is_unix)
		return strcmp(a->path, b->path) == 0;
	return strcmp(a->host, b->host) == 0 && strcmp(a->port, b->port) == 0;
}

static void
check_range(int v, long long lo, long long hi)
{
	FUZZ_ASSERT(v >= lo && v <= hi);
}

static void
check_component(const char *s)
{
	check_text(s);
	FUZZ_ASSERT(s[0] != '\0' && strchr(s, '/') == NULL);
	FUZZ_ASSERT(strcmp(s, ".") != 0 && strcmp(s, "..") != 0);
}

static void
check_folders(const struct strlist *l)
{
	FUZZ_ASSERT(l->n <= 64);
	FUZZ_ASSERT(l->n == 0 || l->v[l->n] == NULL);
	for (size_t i = 0; i < l->n; i++) {
		const char *f = l->v[i];

		FUZZ_ASSERT(safepath_folder(f, strlen(f)) == SAFEPATH_OK);
		FUZZ_ASSERT(!(strncasecmp(f, "INBOX", 5) == 0 &&
		    (f[5] == '\0' || f[5] == '.')));
		for (size_t j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(l->v[j], f) != 0);
	}
}

static void
check_cfg(const struct cfg *cfg)
{
	const struct profile *pf;
	const char *p;
	size_t nl;

	FUZZ_ASSERT(strcmp(cfg->file, NAME) == 0);
	check_list(&cfg->ldap_uri);
	FUZZ_ASSERT(cfg->ldap_uri.n > 0);
	for (size_t i = 0; i < cfg->ldap_uri.n; i++) {
		const char *u = cfg->ldap_uri.v[i];

		FUZZ_ASSERT(strncasecmp(u, "ldap://", 7) == 0 ||
		    strncasecmp(u, "ldaps://", 8) == 0 ||
		    strncasecmp(u, "ldapi://", 8) == 0);
	}
	check_opt(cfg->bind_dn);
	check_opt(cfg->bind_pw);
	check_opt(cfg->bind_pw_file);
	FUZZ_ASSERT(cfg->bind_dn == NULL || cfg->bind_dn[0] != '\0');
	FUZZ_ASSERT(!(cfg->bind_pw != NULL && cfg->bind_pw_file != NULL));
	FUZZ_ASSERT((cfg->bind_dn != NULL) ==
	    (cfg->bind_pw != NULL || cfg->bind_pw_file != NULL));
	FUZZ_ASSERT(cfg->bind_pw_file == NULL || cfg->bind_pw_file[0] == '/');
	FUZZ_ASSERT(cfg->tls == CFG_TLS_NO || cfg->tls == CFG_TLS_STARTTLS ||
	    cfg->tls == CFG_TLS_LDAPS);
	check_opt(cfg->tls_ca_file);
	FUZZ_ASSERT(cfg->tls_ca_file == NULL || cfg->tls_ca_file[0] == '/');
	check_range(cfg->tls_require_cert, 0, 1);
	check_range(cfg->ldap_timeout, 1, 3600);
	check_opt(cfg->domain_base);
	FUZZ_ASSERT(cfg->account_base != NULL && cfg->account_base[0] != '\0');
	check_text(cfg->account_base);

	for (size_t i = 0; i < cfg->n_socketmap_listen; i++)
		check_listen(cfg, &cfg->socketmap_listen[i], 0);
	for (size_t i = 0; i < cfg->n_tcp_listen; i++)
		check_listen(cfg, &cfg->tcp_listen[i], 1);
	nl = cfg->n_socketmap_listen + cfg->n_tcp_listen;
	for (size_t i = 0; i < nl; i++)
		for (size_t j = 0; j < i; j++) {
			size_t ns = cfg->n_socketmap_listen;
			const struct cfg_listen *a = i < ns ?
			    &cfg->socketmap_listen[i] : &cfg->tcp_listen[i - ns];
			const struct cfg_listen *b = j < ns ?
			    &cfg->socketmap_listen[j] : &cfg->tcp_listen[j - ns];

			FUZZ_ASSERT(!same_endpoint(a, b));
		}

	FUZZ_ASSERT(cfg->cache_dir != NULL && cfg->cache_dir[0] == '/');
	check_text(cfg->cache_dir);
	check_range(cfg->refresh, 1, INT_MAX);
	check_range(cfg->miss_lookup, 0, 1);
	check_range(cfg->negative_ttl, 0, INT_MAX);
	check_range(cfg->min_refresh, 0, INT_MAX);
	check_range(cfg->max_stale, 1, INT_MAX);
	FUZZ_ASSERT(cfg->recipient_delimiter != NULL);
	for (p = cfg->recipient_delimiter; *p; p++)
		FUZZ_ASSERT(*p > 0x20 && *p < 0x7f && *p != '@');
	check_opt(cfg->user);
	check_opt(cfg->group);
	check_opt(cfg->socket_group);
	check_range(cfg->socket_mode, 0, 0777);
	check_range(cfg->max_connections, 1, 1000000);
	check_range(cfg->idle_timeout, 1, 86400);
	check_range(cfg->max_request_size, 512, 1000000);

	/* mail_base: absolute, normalized, no trailing "/" but "/" itself. */
	FUZZ_ASSERT(cfg->mail_base != NULL && cfg->mail_base[0] == '/');
	check_text(cfg->mail_base);
	if (strcmp(cfg->mail_base, "/") != 0) {
		const char *b = cfg->mail_base;

		FUZZ_ASSERT(b[strlen(b) - 1] != '/');
		FUZZ_ASSERT(strstr(b, "//") == NULL);
		FUZZ_ASSERT(strstr(b, "/./") == NULL);
		FUZZ_ASSERT(strstr(b, "/../") == NULL);
		nl = strlen(b);
		FUZZ_ASSERT(!(nl >= 2 && strcmp(b + nl - 2, "/.") == 0));
		FUZZ_ASSERT(!(nl >= 3 && strcmp(b + nl - 3, "/..") == 0));
	}
	FUZZ_ASSERT(cfg->mail_owner != NULL && cfg->mail_owner[0] != '\0');
	check_text(cfg->mail_owner);
	check_component(cfg->shared_dir);
	check_component(cfg->shared_maildirs_dir);
	FUZZ_ASSERT(strcmp(cfg->shared_dir, cfg->shared_maildirs_dir) != 0);
	check_folders(&cfg->default_folders);
	FUZZ_ASSERT(cfg->include_files.n == 0);	/* refused from memory */

	FUZZ_ASSERT(cfg->n_maps == 0 || cfg->maps != NULL);
	/* Every map of the profile is there, the profile's own unless a
	 * section of its name replaced it; howto's are the SPEC's three. */
	pf = profile_find(cfg->profile);
	FUZZ_ASSERT(pf != NULL);
	for (size_t i = 0, nb = 0; i <= cfg->n_maps; i++) {
		if (i == cfg->n_maps) {
			FUZZ_ASSERT(nb == (size_t)cfg->builtin_maps);
			break;
		}
		nb += cfg->maps[i].builtin != 0;
	}
	for (size_t i = 0; i < pf->n_maps; i++) {
		const struct cfg_map *m = cfg_map_find(cfg, pf->maps[i].name,
		    strlen(pf->maps[i].name));

		FUZZ_ASSERT(m != NULL);
		if (!m->builtin)
			continue;
		FUZZ_ASSERT(strcmp(m->base, pf->maps[i].on_domain_base ?
		    cfg->domain_base : cfg->account_base) == 0);
		FUZZ_ASSERT(m->kind == pf->maps[i].kind);
	}
	if (strcmp(cfg->profile, "howto") == 0)
		FUZZ_ASSERT(pf->n_maps == 3 && pf->maps[2].single &&
		    pf->maps[0].kind == CFG_KIND_DOMAIN);
	for (size_t i = 0; i < cfg->n_maps; i++)
		check_map(cfg, i);
	/* Warnings are sentences: no list splitting, just one clean line. */
	FUZZ_ASSERT(cfg->warnings.n == 0 ||
	    cfg->warnings.v[cfg->warnings.n] == NULL);
	for (size_t i = 0; i < cfg->warnings.n; i++) {
		check_text(cfg->warnings.v[i]);
		FUZZ_ASSERT(strncmp(cfg->warnings.v[i], NAME ":",
		    strlen(NAME) + 1) == 0);
	}
}

static void
check_err(const char *err)
{
	FUZZ_ASSERT(err[0] != '\0');
	FUZZ_ASSERT(strncmp(err, NAME ":", strlen(NAME) + 1) == 0);
	for (const unsigned char *p = (const unsigned char *)err; *p; p++)
		FUZZ_ASSERT(*p >= 0x20 && *p != 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char err[1024], err2[1024], tiny[16];
	struct cfg *cfg, *again;

	memset(err, 'x', sizeof(err));
	cfg = cfg_parse(text, size, NAME, err, sizeof(err));
	err2[0] = '\0';
	again = cfg_parse(text, size, NAME, err2, sizeof(err2));
	FUZZ_ASSERT((cfg == NULL) == (again == NULL));
	if (cfg == NULL) {
		check_err(err);
		FUZZ_ASSERT(strcmp(err, err2) == 0);
	} else {
		check_cfg(cfg);
		FUZZ_ASSERT(cfg->n_maps == again->n_maps);
		FUZZ_ASSERT(cfg->warnings.n == again->warnings.n);
	}
	cfg_free(cfg);
	cfg_free(again);

	/* A small error buffer truncates, never overflows. */
	memset(tiny, 'x', sizeof(tiny));
	cfg = cfg_parse(text, size, NAME, tiny, sizeof(tiny));
	FUZZ_ASSERT(memchr(tiny, '\0', sizeof(tiny)) != NULL);
	cfg_free(cfg);
	/* No buffer at all. */
	cfg = cfg_parse(text, size, NAME, NULL, 0);
	cfg_free(cfg);
	return 0;
}
