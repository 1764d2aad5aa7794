/*
 * import: `lookupd import [-d DIR] [MAIN.CF | -]`.  Reads Postfix's
 * main.cf (or `postconf -n` output; "-" is stdin) with common/mainscan,
 * finds every ldap: (or proxy:ldap:) table, and prints an ldapmail.conf
 * with one [map NAME] per table (ldap_table = its file) and, as comment
 * lines "# postconf ...", the commands that switch Postfix over.  It runs no
 * program and changes nothing but the files -d asks for.
 *
 * Which parameters it switches, and how (the table below): the kind
 * follows the parameter; Postfix walks the keys of an ldap: table
 * (user+ext@dom, user@dom, @dom; for transport(5) also the domain and
 * its parents) only when its query uses no %u/%d/%1..%9 (db_common's
 * "fixed" tables) and never on a socketmap: table, so a fixed table
 * becomes kind address with catchall (lookupd walks) or kind domain,
 * and one with those expansions kind plain (Postfix sent the whole key
 * only).  A fixed transport_maps table becomes kind domain with
 * catchall (an address answered by its domain).  virtual(8) reads cdb:
 * only (virtual_mailbox_maps through the virtual service of master.cf,
 * virtual_uid_maps, virtual_gid_maps),
 * and transport(5)'s walk over domains and parent domains needs a fixed
 * table, so those get lookupd's snapshot, cdb:<cache_dir>/NAME.  Other
 * entries of each list stay where they are.  A table used by several
 * parameters of one kind is one map.  ldap: tables of other parameters
 * are reported and left alone.
 *
 * The Postfix 2.0 form (ldap:NAME with NAME_server_host, NAME_query_filter
 * ... in main.cf) needs -d DIR: its parameters are written to DIR/NAME.cf
 * (mode 0600, never over an existing file), which the map then names.
 * Without -d it is refused: an ldapmail.conf cannot hold a table.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/ldaptable.h"
#include "common/log.h"
#include "common/mainscan.h"
#include "common/pctexpand.h"
#include "lookupd/import.h"
#include "lookupd/pfldap.h"

#define DEFAULT_MAIN_CF	"/etc/postfix/main.cf"
#define CACHE_DIR	"/var/lib/ldapmail"
#define SOCK_REL	"ldapmail/lookupd.sock"

enum target {
	T_SOCKET,	/* socketmap: */
	T_BOTH,		/* main.cf cdb: + socketmap:, virtual(8) cdb: alone */
	T_CDB,		/* cdb: alone */
	T_TRANSPORT	/* fixed table: cdb:; else socketmap: */
};

static const struct role {
	const char *param;
	enum cfg_kind kind;
	enum target target;
} roles[] = {
	{ "virtual_alias_maps", CFG_KIND_ADDRESS, T_SOCKET },
	{ "virtual_maps", CFG_KIND_ADDRESS, T_SOCKET },
	{ "smtpd_sender_login_maps", CFG_KIND_ADDRESS, T_SOCKET },
	{ "relay_recipient_maps", CFG_KIND_ADDRESS, T_SOCKET },
	{ "virtual_mailbox_maps", CFG_KIND_ADDRESS, T_BOTH },
	{ "virtual_uid_maps", CFG_KIND_ADDRESS, T_CDB },
	{ "virtual_gid_maps", CFG_KIND_ADDRESS, T_CDB },
	{ "transport_maps", CFG_KIND_DOMAIN, T_TRANSPORT },
	{ "virtual_mailbox_domains", CFG_KIND_DOMAIN, T_SOCKET },
	{ "virtual_alias_domains", CFG_KIND_DOMAIN, T_SOCKET },
	{ "relay_domains", CFG_KIND_DOMAIN, T_SOCKET },
	{ "mydestination", CFG_KIND_DOMAIN, T_SOCKET },
};
#define NROLES (sizeof(roles) / sizeof(roles[0]))

struct imap {
	char *table;		/* after "ldap:", as main.cf has it */
	enum cfg_kind kind;
	char *name;
	char *file;		/* its ldap_table */
	struct ldaptable *t;
	int params20;		/* written from main.cf's NAME_* */
	int cdb;		/* virtual(8) or transport read its cdb file */
	int transport;		/* transport_maps uses it (kind domain) */
	struct buf users;	/* the parameters that use it */
};

struct imp {
	const char *src;	/* main.cf's name, for messages */
	struct mainscan ms;
	const char *dir;	/* -d */
	struct imap *m;
	size_t n;
	struct buf lines;	/* "# postconf -e ..." */
	struct buf plines;	/* "# postconf -P ..." (master.cf) */
	struct buf notes;	/* remarks for the header */
	int errors;
};

static const struct role *
role_of(const char *param)
{
	for (size_t i = 0; i < NROLES; i++)
		if (strcmp(roles[i].param, param) == 0)
			return &roles[i];
	return NULL;
}

static void
fail(struct imp *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct imp *x, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lookupd: import: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	x->errors++;
}

/* A map name from a table: the file's name without ".cf", or the 2.0
 * name; bytes a map name cannot hold become '_'; unique. */
static char *
map_name(struct imp *x, const char *table, enum cfg_kind kind,
    int params20)
{
	const char *b = params20 ? table : strrchr(table, '/');
	struct buf n = BUF_INIT;
	char *name;
	size_t len;

	b = b == NULL ? table : params20 ? b : b + 1;
	len = strlen(b);
	if (!params20 && len > 3 && strcmp(b + len - 3, ".cf") == 0)
		len -= 3;
	for (size_t i = 0; i < len && i < 48; i++) {
		char c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		    (c == '.' && i > 0)))
			c = '_';
		buf_putc(&n, c);
	}
	if (n.len == 0 || n.p[0] == '_' || n.p[0] == '-')
		buf_puts(&n, "table");
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->m[i].table, table) == 0) {
			/* the same table in another kind */
			buf_puts(&n, kind == CFG_KIND_DOMAIN ? "_domain" :
			    kind == CFG_KIND_ADDRESS ? "_address" : "_plain");
			break;
		}
	name = xstrdup(buf_str(&n));
	for (int k = 2;; k++) {
		int taken = 0;

		for (size_t i = 0; i < x->n; i++)
			taken |= strcmp(x->m[i].name, name) == 0;
		if (!taken)
			break;
		free(name);
		name = xprintf("%s_%d", buf_str(&n), k);
	}
	buf_free(&n);
	return name;
}

/* Write fd fully: 0 or -1. */
static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The 2.0 form: main.cf's NAME_* parameters as an ldap_table file in
 * x->dir.  0 with m->file and m->t, or -1 (reported). */
static int
write_params20(struct imp *x, struct imap *m)
{
	struct buf text = BUF_INIT;
	size_t plen = strlen(m->table);
	char dir[PATH_MAX], err[1024];
	int fd, rc = -1;

	if (x->dir == NULL) {
		fail(x, "ldap:%s is the Postfix 2.0 form (its parameters "
		    "%s_* in %s): give -d DIR to write them to DIR/%s.cf",
		    m->table, m->table, x->src, m->name);
		return -1;
	}
	buf_printf(&text, "# Postfix's ldap:%s, from the parameters %s_* of "
	    "%s\n# (written by lookupd import)\n", m->table, m->table,
	    x->src);
	for (size_t i = 0; i < x->ms.n; i++) {
		const struct mainscan_param *p = &x->ms.p[i];
		char *v;

		if (strncmp(p->name, m->table, plen) != 0 ||
		    p->name[plen] != '_' || !ldaptable_known(p->name + plen +
		    1))
			continue;
		if ((v = mainscan_expand(&x->ms, p->value, err,
		    sizeof(err))) == NULL) {
			fail(x, "%s:%d: %s: %s", x->src, p->line, p->name, err);
			goto out;
		}
		buf_printf(&text, "%s = %s\n", p->name + plen + 1, v);
		free(v);
	}
	if (realpath(x->dir, dir) == NULL) {
		fail(x, "-d %s: %s", x->dir, strerror(errno));
		goto out;
	}
	m->file = xprintf("%s/%s.cf", dir, m->name);
	if (ldaptable_parse(m->file, text.p, text.len, &m->t, err,
	    sizeof(err)) != 0) {
		fail(x, "ldap:%s (from %s): %s", m->table, x->src, err);
		goto out;
	}
	fd = open(m->file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0) {
		fail(x, "%s: %s (not overwritten)", m->file, strerror(errno));
		goto out;
	}
	if (write_all(fd, text.p, text.len) != 0 || fsync(fd) != 0) {
		fail(x, "%s: %s", m->file, strerror(errno));
		close(fd);
		goto out;
	}
	rc = close(fd) == 0 ? 0 : -1;
	if (rc != 0)
		fail(x, "%s: %s", m->file, strerror(errno));
out:
	explicit_bzero(text.p, text.len);	/* it may hold bind_pw */
	buf_free(&text);
	return rc;
}

/* Is word one of the ", "-separated words of list? */
static int
has_word(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p++)
		if ((p == list || p[-1] == ' ') && (p[len] == '\0' ||
		    p[len] == ','))
			return 1;
	return 0;
}

/* The map of table in this kind, made the first time. NULL: reported. */
static struct imap *
map_get(struct imp *x, const char *table, enum cfg_kind kind,
    const char *user)
{
	struct imap *m;
	char err[1024];

	for (size_t i = 0; i < x->n; i++) {
		m = &x->m[i];
		if (strcmp(m->table, table) != 0 || m->kind != kind)
			continue;
		if (m->t == NULL)
			return NULL;
		if (!has_word(buf_str(&m->users), user))
			buf_printf(&m->users, ", %s", user);
		return m;
	}
	x->m = xreallocarray(x->m, x->n + 1, sizeof(*x->m));
	m = &x->m[x->n];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->params20 = mainscan_ldap_is_params(table);
	m->name = map_name(x, table, kind, m->params20);
	m->table = xstrdup(table);
	buf_puts(&m->users, user);
	x->n++;
	if (m->params20) {
		if (write_params20(x, m) != 0)
			return NULL;
	} else {
		m->file = xstrdup(table);
		if (ldaptable_load(table, &m->t, err, sizeof(err)) != 0) {
			fail(x, "ldap:%s (%s): %s", table, user, err);
			return NULL;
		}
	}
	if (pfldap_supported(m->t, err, sizeof(err)) != 0) {
		fail(x, "ldap:%s (%s): %s", table, user, err);
		ldaptable_free(m->t);
		m->t = NULL;
		return NULL;
	}
	return m;
}

/* A fixed table: Postfix walks its keys (db_common_dict_partial). */
static int
is_fixed(const struct ldaptable *t)
{
	return (t->ctx.flags & (PCT_KEY_USER | PCT_KEY_DOMAIN)) == 0;
}

static void
push_owned(struct strlist *l, char *s)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(char *));
	l->v[l->n++] = s;
}

static void
push(struct strlist *l, const char *s)
{
	push_owned(l, xstrdup(s));
}

/* The replacement of ldap:table in parameter r, appended to out. */
static void
switch_item(struct imp *x, const struct role *r, const char *table,
    struct strlist *out)
{
	struct imap *m;
	enum cfg_kind kind = r->kind;
	int cdb = r->target == T_CDB || r->target == T_BOTH;
	struct ldaptable *t;
	char err[1024];

	/* Is the table fixed?  Read it first for the kind. */
	if (mainscan_ldap_is_params(table) || ldaptable_load(table, &t, err,
	    sizeof(err)) != 0)
		t = NULL;
	if (t != NULL && !is_fixed(t))
		kind = CFG_KIND_PLAIN;
	if (r->target == T_TRANSPORT)
		cdb = t == NULL || is_fixed(t);
	ldaptable_free(t);
	m = map_get(x, table, kind, r->param);
	if (m == NULL)
		return;
	if (m->params20 && !is_fixed(m->t) && m->kind != CFG_KIND_PLAIN) {
		/* known only now: a 2.0 table with %u/%d */
		m->kind = CFG_KIND_PLAIN;
		if (r->target == T_TRANSPORT)
			cdb = 0;
	}
	m->cdb |= cdb;
	m->transport |= r->target == T_TRANSPORT && m->kind == CFG_KIND_DOMAIN;
	if (cdb)
		push_owned(out, xprintf("cdb:%s/%s", CACHE_DIR, m->name));
	if (r->target == T_SOCKET || r->target == T_BOTH ||
	    (r->target == T_TRANSPORT && !cdb))
		push_owned(out, xprintf("socketmap:unix:%s:%s", SOCK_REL,
		    m->name));
	if (r->target == T_BOTH)
		buf_printf(&x->plines, "# postconf -P 'virtual/unix/%s=cdb:%s/"
		    "%s'\n", r->param, CACHE_DIR, m->name);
}

/* "$name", "${name}" or "$(name)" of a switched parameter. */
static int
is_role_ref(const struct imp *x, const char *item)
{
	char name[128];
	size_t len = strlen(item);

	if (len < 2 || item[0] != '$')
		return 0;
	if (item[1] == '{' || item[1] == '(') {
		if (len < 4 || item[len - 1] != (item[1] == '{' ? '}' : ')'))
			return 0;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 3), item + 2);
	} else
		snprintf(name, sizeof(name), "%s", item + 1);
	return role_of(name) != NULL && mainscan_get(&x->ms, name) != NULL;
}

/* Shell quoting for '...'. */
static void
put_quoted(struct buf *b, const char *s)
{
	buf_putc(b, '\'');
	for (; *s; s++)
		if (*s == '\'')
			buf_puts(b, "'\\''");
		else if (*s == '\n')
			buf_putc(b, ' ');
		else
			buf_putc(b, *s);
	buf_putc(b, '\'');
}

/* One parameter of the role table: its ldap: items switched. */
static void
do_role(struct imp *x, const struct mainscan_param *p, const struct role *r)
{
	char **items, **sub, err[1024];
	size_t n, nsub;
	struct strlist out = { NULL, 0 };
	int changed = 0;
	const char *table;

	mainscan_items(p->value, &items, &n);
	for (size_t i = 0; i < n; i++) {
		char *e;

		if (mainscan_ldap_ref(items[i], &table)) {
			switch_item(x, r, table, &out);
			changed = 1;
			continue;
		}
		if (strchr(items[i], '$') == NULL || is_role_ref(x, items[i])) {
			push(&out, items[i]);
			continue;
		}
		if ((e = mainscan_expand(&x->ms, items[i], err,
		    sizeof(err))) == NULL) {
			fail(x, "%s:%d: %s: %s", x->src, p->line, p->name, err);
			continue;
		}
		mainscan_items(e, &sub, &nsub);
		if (strstr(e, "ldap:") == NULL) {
			push(&out, items[i]);
		} else {
			for (size_t k = 0; k < nsub; k++)
				if (mainscan_ldap_ref(sub[k], &table)) {
					switch_item(x, r, table, &out);
					changed = 1;
				} else
					push(&out, sub[k]);
		}
		mainscan_items_free(sub, nsub);
		free(e);
	}
	if (changed) {
		struct buf v = BUF_INIT;

		buf_printf(&v, "%s =", p->name);
		for (size_t i = 0; i < out.n; i++)
			buf_printf(&v, "%s%s", i ? ", " : " ", out.v[i]);
		buf_puts(&x->lines, "# postconf -e ");
		put_quoted(&x->lines, buf_str(&v));
		buf_putc(&x->lines, '\n');
		buf_free(&v);
	}
	mainscan_items_free(items, n);
	for (size_t i = 0; i < out.n; i++)
		free(out.v[i]);
	free(out.v);
}

/* Is parameter name used as $name, ${name} or $(name) by a parameter
 * this command switches?  (Then it is that one's list, not a user.) */
static int
referenced(const struct imp *x, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < x->ms.n; i++) {
		const char *v = x->ms.p[i].value, *d;

		if (role_of(x->ms.p[i].name) == NULL)
			continue;
		for (d = strchr(v, '$'); d != NULL; d = strchr(d + 1, '$')) {
			const char *n = d + 1 + (d[1] == '{' || d[1] == '(');

			if (strncmp(n, name, len) == 0 && (n[len] == '\0' ||
			    !(n[len] == '_' || (n[len] >= 'a' && n[len] <= 'z') ||
			    (n[len] >= 'A' && n[len] <= 'Z') ||
			    (n[len] >= '0' && n[len] <= '9'))))
				return 1;
		}
	}
	return 0;
}

/* Tables of parameters this command does not switch: named, not used. */
static void
do_other(struct imp *x, const struct mainscan_param *p)
{
	char **items, err[1024], *e;
	size_t n;
	const char *table;

	if (strstr(p->value, "ldap:") == NULL && strchr(p->value, '$') == NULL)
		return;
	if (referenced(x, p->name))
		return;
	if ((e = mainscan_expand(&x->ms, p->value, err, sizeof(err))) == NULL)
		return;		/* nothing of ours; Postfix will say */
	mainscan_items(e, &items, &n);
	for (size_t i = 0; i < n; i++) {
		if (!mainscan_ldap_ref(items[i], &table))
			continue;
		buf_printf(&x->notes, "# not switched: %s uses ldap:%s (how "
		    "Postfix walks %s's keys is not one of lookupd's kinds)\n",
		    p->name, table, p->name);
		fprintf(stderr, "lookupd: import: warning: %s:%d: %s: ldap:%s "
		    "left as it is\n", x->src, p->line, p->name, table);
	}
	mainscan_items_free(items, n);
	free(e);
}

static int
same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The tables' servers, bind and TLS, all the same? */
static int
one_connection(const struct imp *x)
{
	const struct ldaptable *a = x->m[0].t;

	for (size_t i = 1; i < x->n; i++) {
		const struct ldaptable *b = x->m[i].t;

		if (a->nservers != b->nservers || a->bind != b->bind ||
		    !same_str(a->bind_dn, b->bind_dn) ||
		    !same_str(a->bind_pw, b->bind_pw) ||
		    a->start_tls != b->start_tls ||
		    !same_str(a->tls_ca_cert_file, b->tls_ca_cert_file) ||
		    a->tls_require_cert != b->tls_require_cert)
			return 0;
		for (size_t k = 0; k < a->nservers; k++)
			if (strcmp(a->servers[k], b->servers[k]) != 0)
				return 0;
	}
	return 1;
}

static void
print_conf(struct imp *x, FILE *f)
{
	const struct ldaptable *a = x->m[0].t;
	const char *qd = mainscan_get(&x->ms, "queue_directory");
	char *qdx = NULL, *delim = NULL, err[256];
	const char *base = a->search_base;
	int one = one_connection(x);

	if (qd != NULL)
		qdx = mainscan_expand(&x->ms, qd, err, sizeof(err));
	if (mainscan_get(&x->ms, "recipient_delimiter") != NULL)
		delim = mainscan_expand(&x->ms, mainscan_get(&x->ms,
		    "recipient_delimiter"), err, sizeof(err));
	for (size_t i = 0; i < x->n; i++)
		if (strchr(x->m[i].t->search_base, '%') == NULL) {
			base = x->m[i].t->search_base;
			break;
		}
	fprintf(f, "# ldapmail.conf made by `lookupd import` from %s:\n"
	    "# %zu Postfix ldap: table%s, one [map] each, answering as "
	    "Postfix's ldap:\n# answers from the same file.  `lookupd check` "
	    "says which maps are\n# enumerable.  Switch Postfix over with "
	    "the postconf lines at the end:\n#   sed -n 's/^# postconf "
	    "/postconf /p' THIS_FILE | sh && postfix reload\n",
	    x->src, x->n, x->n == 1 ? "" : "s");
	fputs(buf_str(&x->notes), f);
	fprintf(f, "\n");
	if (one) {
		fprintf(f, "# every table has this server, bind and TLS\n");
	} else {
		fprintf(f, "# the tables differ in server, bind or TLS: each "
		    "map connects as its\n# own file says; ldap_uri (needed "
		    "by check, lint and route) is the\n# first table's server, "
		    "asked anonymously\n");
	}
	fprintf(f, "ldap_uri =");
	for (size_t k = 0; k < a->nservers; k++)
		fprintf(f, "%s%s", k ? ", " : " ", a->servers[k]);
	fprintf(f, "\n");
	if (one && a->bind == LDAPTABLE_BIND_SIMPLE && a->bind_dn[0]) {
		fprintf(f, "bind_dn = %s\n", a->bind_dn);
		fprintf(f, "# as in the tables; better in a bind_pw_file\n"
		    "bind_pw = %s\n", a->bind_pw);
	}
	if (one && a->start_tls) {
		fprintf(f, "tls = starttls\n");
		if (a->tls_ca_cert_file[0])
			fprintf(f, "tls_ca_file = %s\n", a->tls_ca_cert_file);
		if (!a->tls_require_cert)
			fprintf(f, "tls_require_cert = no\n");
	}
	fprintf(f, "# no built-in maps: every map is a table below\n"
	    "profile = none\n"
	    "# required, used by native maps only\n"
	    "account_base = %s\n", base);
	fprintf(f, "socketmap_listen = unix:%s/%s\n", qdx && *qdx ? qdx :
	    "/var/spool/postfix", SOCK_REL);
	fprintf(f, "socket_group = postfix\nsocket_mode = 0660\n"
	    "cache_dir = %s\n", CACHE_DIR);
	fprintf(f, "# Postfix's own (main.cf%s)\nrecipient_delimiter = %s\n",
	    delim ? "" : ": not set, none", delim ? delim : "");
	for (size_t i = 0; i < x->n; i++) {
		const struct imap *m = &x->m[i];

		fprintf(f, "\n[map %s]\n# %s: Postfix's ldap:%s%s\n", m->name,
		    buf_str(&m->users), m->table, m->params20 ?
		    " (2.0 form, its main.cf parameters written to the file)" :
		    "");
		if (strchr(buf_str(&m->users), ',') != NULL)
			fprintf(f, "# one map for %s: the same table and kind\n",
			    buf_str(&m->users));
		if (m->kind == CFG_KIND_PLAIN)
			fprintf(f, "# its query uses %%u, %%d or %%1..%%9: "
			    "Postfix asks it the whole key only\n");
		if (m->cdb)
			fprintf(f, "# read as cdb:%s/%s: needs an enumerable "
			    "table (lookupd check)\n", CACHE_DIR, m->name);
		fprintf(f, "ldap_table = %s\nkind = %s\n", m->file,
		    m->kind == CFG_KIND_ADDRESS ? "address" :
		    m->kind == CFG_KIND_DOMAIN ? "domain" : "plain");
		if (m->kind == CFG_KIND_ADDRESS)
			fprintf(f, "# Postfix tries @domain too\ncatchall = yes\n");
		if (m->transport)
			fprintf(f, "# an address answered by its domain, for "
			    "socketmap:...:%s instead of\n# the cdb file "
			    "(transport(5) then asks the address only)\n"
			    "catchall = yes\n", m->name);
	}
	fprintf(f, "\n# Switch Postfix over (main.cf, and master.cf's virtual "
	    "service):\n%s%s", buf_str(&x->lines), buf_str(&x->plines));
	free(qdx);
	free(delim);
}

static int
usage(void)
{
	fprintf(stderr, "usage: lookupd import [-d DIR] [MAIN.CF | -]\n");
	return 2;
}

static int
read_input(const char *path, struct buf *b)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char chunk[8192];
	size_t r;

	if (f == NULL)
		return -1;
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf_append(b, chunk, r);
		if (b->len > MAINSCAN_MAX_SIZE)
			break;
	}
	if (ferror(f)) {
		if (f != stdin)
			fclose(f);
		return -1;
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

int
import_command(int argc, char **argv)
{
	struct imp x;
	const char *path = NULL;
	struct buf text = BUF_INIT;
	char err[1024];
	int rc;

	memset(&x, 0, sizeof(x));
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
			x.dir = argv[++i];
		else if (path == NULL && (argv[i][0] != '-' ||
		    strcmp(argv[i], "-") == 0))
			path = argv[i];
		else
			return usage();
	}
	if (path == NULL)
		path = DEFAULT_MAIN_CF;
	x.src = strcmp(path, "-") == 0 ? "(stdin)" : path;
	if (read_input(path, &text) != 0) {
		fprintf(stderr, "lookupd: import: %s: %s\n", x.src,
		    strerror(errno));
		buf_free(&text);
		return 2;
	}
	if (mainscan_parse(x.src, text.p ? text.p : "", text.len, &x.ms, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "lookupd: import: %s\n", err);
		buf_free(&text);
		return 2;
	}
	buf_free(&text);
	for (size_t i = 0; i < x.ms.n; i++) {
		const struct role *r = role_of(x.ms.p[i].name);

		if (r != NULL)
			do_role(&x, &x.ms.p[i], r);
	}
	for (size_t i = 0; i < x.ms.n; i++)
		if (role_of(x.ms.p[i].name) == NULL)
			do_other(&x, &x.ms.p[i]);
	if (x.errors > 0) {
		rc = 2;
	} else if (x.n == 0) {
		fprintf(stderr, "lookupd: import: %s: no ldap: table in the "
		    "parameters lookupd can serve\n", x.src);
		fputs(buf_str(&x.notes), stderr);
		rc = 1;
	} else {
		print_conf(&x, stdout);
		rc = fflush(stdout) == 0 ? 0 : 2;
	}
	for (size_t i = 0; i < x.n; i++) {
		free(x.m[i].table);
		free(x.m[i].name);
		free(x.m[i].file);
		ldaptable_free(x.m[i].t);
		buf_free(&x.m[i].users);
	}
	free(x.m);
	buf_free(&x.lines);
	buf_free(&x.plines);
	buf_free(&x.notes);
	mainscan_free(&x.ms);
	return rc;
}
