/*
 * ldaptable: Postfix ldap_table(5) files (see ldaptable.h).  The file is
 * first split into (name, value, line) settings the way Postfix's
 * readllines + split_nameval do, then each known name is read with the
 * type and range Postfix's dict_ldap gives it; what is left over is an
 * unknown parameter.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/filter.h"
#include "common/ldaptable.h"
#include "common/log.h"

struct setting {
	char *name, *value;
	int line, used;
};

struct tparse {
	const char *file;
	struct setting *s;
	size_t n;
	char *err;
	size_t errsz;
};

static const char *const known[] = {
	"server_host", "server_port", "timeout", "search_base",
	"query_filter", "result_format", "result_filter", "domain",
	"result_attribute", "special_result_attribute",
	"terminal_result_attribute", "leaf_result_attribute", "scope",
	"bind", "bind_dn", "bind_pw", "cache", "cache_expiry", "cache_size",
	"recursion_limit", "expansion_limit", "size_limit", "dereference",
	"chase_referrals", "version", "debuglevel", "sasl_mechs",
	"sasl_realm", "sasl_authz_id", "sasl_minssf", "start_tls",
	"tls_ca_cert_dir", "tls_ca_cert_file", "tls_cert", "tls_key",
	"tls_require_cert", "tls_random_file", "tls_cipher_suite", NULL
};

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

static char *
trim(char *s)
{
	char *e;

	while (is_space((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_space((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

static int
errline(struct tparse *tp, int line, const char *what, const char *arg)
{
	char pr[LOG_PRINTABLE_SIZE];

	if (arg == NULL)
		return log_errf(tp->err, tp->errsz, "%s:%d: %s", tp->file,
		    line, what);
	log_printable(pr, sizeof(pr), arg, strlen(arg));
	return log_errf(tp->err, tp->errsz, "%s:%d: %s \"%s\"", tp->file,
	    line, what, pr);
}

static struct setting *
find(struct tparse *tp, const char *name)
{
	for (size_t i = tp->n; i-- > 0;)
		if (strcmp(tp->s[i].name, name) == 0)
			return &tp->s[i];
	return NULL;
}

/* One logical line (continuations joined) starting at line. */
static int
add_setting(struct tparse *tp, char *text, int line)
{
	char *eq = strchr(text, '='), *name, *value;
	struct setting *old;

	if (eq == NULL)
		return errline(tp, line, "expected \"name = value\", not",
		    trim(text));
	*eq = '\0';
	name = trim(text);
	value = trim(eq + 1);
	if (*name == '\0')
		return errline(tp, line, "missing parameter name before '='",
		    NULL);
	for (const char *c = name; *c; c++)
		if (is_space((unsigned char)*c))
			return errline(tp, line, "white space in parameter "
			    "name", name);
	if ((old = find(tp, name)) != NULL) {
		/* a later setting replaces an earlier one, as in Postfix */
		free(old->value);
		old->value = xstrdup(value);
		old->line = line;
		return 0;
	}
	tp->s = xreallocarray(tp->s, tp->n + 1, sizeof(*tp->s));
	tp->s[tp->n].name = xstrdup(name);
	tp->s[tp->n].value = xstrdup(value);
	tp->s[tp->n].line = line;
	tp->s[tp->n].used = 0;
	tp->n++;
	return 0;
}

static int
split_lines(struct tparse *tp, const char *text, size_t len)
{
	struct buf cur = BUF_INIT;
	int line = 0, curline = 0, rc = 0;
	size_t pos = 0;

	while (pos < len && rc == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		const char *l = text + pos;
		size_t i = 0;

		line++;
		pos += ll + (nl != NULL);
		if (memchr(l, '\0', ll) != NULL) {
			rc = errline(tp, line, "NUL byte in the file", NULL);
			break;
		}
		while (i < ll && is_space((unsigned char)l[i]))
			i++;
		if (i == ll || l[i] == '#')
			continue;	/* blank or comment */
		if (i > 0) {
			if (curline == 0) {
				rc = errline(tp, line, "continuation line "
				    "without a line before it", NULL);
				break;
			}
			buf_putc(&cur, ' ');
			buf_append(&cur, l + i, ll - i);
			continue;
		}
		if (curline != 0)
			rc = add_setting(tp, cur.p, curline);
		buf_reset(&cur);
		buf_append(&cur, l, ll);
		curline = line;
	}
	if (rc == 0 && curline != 0)
		rc = add_setting(tp, cur.p, curline);
	buf_free(&cur);
	return rc;
}

static const char *
get_str(struct tparse *tp, const char *name, const char *def, int *line)
{
	struct setting *s = find(tp, name);

	if (s == NULL) {
		*line = 0;
		return def;
	}
	s->used = 1;
	*line = s->line;
	return s->value;
}

static int
get_long(struct tparse *tp, const char *name, long def, long min, long max,
    long *out)
{
	int line;
	const char *v = get_str(tp, name, NULL, &line);
	char *end;
	long n;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || is_space(*v))
		return log_errf(tp->err, tp->errsz, "%s:%d: %s: not a number:"
		    " \"%.100s\"", tp->file, line, name, v);
	if (n < min || (max >= min && n > max)) {
		if (max >= min)
			return log_errf(tp->err, tp->errsz, "%s:%d: %s = %ld:"
			    " must be between %ld and %ld", tp->file, line,
			    name, n, min, max);
		return log_errf(tp->err, tp->errsz, "%s:%d: %s = %ld: must "
		    "be at least %ld", tp->file, line, name, n, min);
	}
	*out = n;
	return 0;
}

static int
get_int(struct tparse *tp, const char *name, long def, long min, long max,
    int *out)
{
	long n;

	if (max < min || max > INT_MAX)
		max = INT_MAX;
	if (get_long(tp, name, def, min, max, &n) < 0)
		return -1;
	*out = (int)n;
	return 0;
}

static int
get_bool(struct tparse *tp, const char *name, int def, int *out)
{
	int line;
	const char *v = get_str(tp, name, NULL, &line);

	if (v == NULL)
		*out = def;
	else if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0)
		*out = 1;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0)
		*out = 0;
	else
		return log_errf(tp->err, tp->errsz, "%s:%d: %s: \"%.100s\" is "
		    "not yes or no", tp->file, line, name, v);
	return 0;
}

/* Split on commas and white space, append to *v (Postfix's
 * CHARS_COMMA_SP). */
static void
split_append(const char *s, char ***v, size_t *n)
{
	const char *sep = ", \t\r\n";

	while (*s) {
		size_t l;

		s += strspn(s, sep);
		if ((l = strcspn(s, sep)) == 0)
			break;
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		(*v)[(*n)++] = xstrndup(s, l);
		s += l;
	}
}

static char *
dup_str(struct tparse *tp, const char *name, const char *def)
{
	int line;

	return xstrdup(get_str(tp, name, def, &line));
}

static int
has_scheme(const char *h, const char *scheme)
{
	return strncasecmp(h, scheme, strlen(scheme)) == 0;
}

static int
servers(struct tparse *tp, struct ldaptable *t)
{
	int line, port;
	const char *v;
	char **hosts = NULL;
	size_t nh = 0;
	int rc = 0;

	if (get_int(tp, "server_port", 389, 1, 65535, &port) < 0)
		return -1;
	v = get_str(tp, "server_host", "localhost", &line);
	split_append(v, &hosts, &nh);
	if (nh == 0)
		return log_errf(tp->err, tp->errsz, "%s:%d: server_host is "
		    "empty", tp->file, line);
	for (size_t i = 0; i < nh; i++) {
		struct buf u = BUF_INIT;

		if (strstr(hosts[i], "://") != NULL) {
			if (!has_scheme(hosts[i], "ldap://") &&
			    !has_scheme(hosts[i], "ldaps://") &&
			    !has_scheme(hosts[i], "ldapi://") && rc == 0)
				rc = log_errf(tp->err, tp->errsz, "%s:%d: "
				    "server_host: \"%.100s\" is not an "
				    "ldap://, ldaps:// or ldapi:// URL",
				    tp->file, line, hosts[i]);
			buf_puts(&u, hosts[i]);
		} else if (strrchr(hosts[i], ':') != NULL) {
			buf_printf(&u, "ldap://%s", hosts[i]);
		} else {
			buf_printf(&u, "ldap://%s:%d", hosts[i], port);
		}
		free(hosts[i]);
		t->servers = xreallocarray(t->servers, t->nservers + 1,
		    sizeof(*t->servers));
		t->servers[t->nservers++] = u.p;
	}
	free(hosts);
	return rc;
}

static int
templates(struct tparse *tp, struct ldaptable *t)
{
	int line, r;
	char msg[512];
	const char *rf;

	t->search_base = dup_str(tp, "search_base", "");
	t->query_filter = dup_str(tp, "query_filter",
	    "(mailacceptinggeneralid=%s)");
	rf = get_str(tp, "result_format", NULL, &line);
	if (rf == NULL)
		rf = get_str(tp, "result_filter", "%s", &line);
	else
		(void)get_str(tp, "result_filter", NULL, &r);
	t->result_format = xstrdup(rf);

	r = pct_parse(&t->ctx, t->search_base, 1, msg, sizeof(msg));
	if (r < 0) {
		(void)get_str(tp, "search_base", NULL, &line);
		return log_errf(tp->err, tp->errsz, "%s:%d: search_base: %s",
		    tp->file, line, msg);
	}
	t->dynamic_base = r;
	if (pct_parse(&t->ctx, t->query_filter, 1, msg, sizeof(msg)) < 0) {
		(void)get_str(tp, "query_filter", NULL, &line);
		return log_errf(tp->err, tp->errsz, "%s:%d: query_filter: %s",
		    tp->file, line, msg);
	}
	if (pct_parse(&t->ctx, t->result_format, 0, msg, sizeof(msg)) < 0) {
		if (get_str(tp, "result_format", NULL, &line) == NULL)
			(void)get_str(tp, "result_filter", NULL, &line);
		return log_errf(tp->err, tp->errsz, "%s:%d: result_format: "
		    "%s", tp->file, line, msg);
	}
	if (filter_parse(t->query_filter, strlen(t->query_filter), &t->filter,
	    msg, sizeof(msg)) < 0) {
		(void)get_str(tp, "query_filter", NULL, &line);
		return log_errf(tp->err, tp->errsz, "%s:%d: query_filter: %s",
		    tp->file, line, msg);
	}
	return 0;
}

static int
attributes(struct tparse *tp, struct ldaptable *t)
{
	int line;

	split_append(get_str(tp, "terminal_result_attribute", "", &line),
	    &t->attrs, &t->nattrs);
	t->num_terminal = t->nattrs;
	split_append(get_str(tp, "leaf_result_attribute", "", &line),
	    &t->attrs, &t->nattrs);
	t->num_leaf = t->nattrs - t->num_terminal;
	split_append(get_str(tp, "result_attribute", "maildrop", &line),
	    &t->attrs, &t->nattrs);
	t->num_attributes = t->nattrs;
	split_append(get_str(tp, "special_result_attribute", "", &line),
	    &t->attrs, &t->nattrs);
	for (size_t i = 0; i < t->nattrs; i++)
		for (const char *c = t->attrs[i]; *c; c++)
			if (!(*c >= 'a' && *c <= 'z') &&
			    !(*c >= 'A' && *c <= 'Z') &&
			    !(*c >= '0' && *c <= '9') && *c != '-' &&
			    *c != ';' && *c != '.')
				return log_errf(tp->err, tp->errsz, "%s: "
				    "\"%.100s\" is not an attribute name",
				    tp->file, t->attrs[i]);
	return 0;
}

static int
choices(struct tparse *tp, struct ldaptable *t)
{
	int line;
	const char *v;

	v = get_str(tp, "scope", "sub", &line);
	if (strcasecmp(v, "sub") == 0)
		t->scope = LDAPTABLE_SUB;
	else if (strcasecmp(v, "one") == 0)
		t->scope = LDAPTABLE_ONE;
	else if (strcasecmp(v, "base") == 0)
		t->scope = LDAPTABLE_BASE;
	else
		return log_errf(tp->err, tp->errsz, "%s:%d: scope: \"%.100s\" "
		    "is not sub, one or base", tp->file, line, v);
	v = get_str(tp, "bind", "yes", &line);
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "simple") == 0)
		t->bind = LDAPTABLE_BIND_SIMPLE;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "none") == 0)
		t->bind = LDAPTABLE_BIND_NONE;
	else if (strcasecmp(v, "sasl") == 0)
		t->bind = LDAPTABLE_BIND_SASL;
	else
		return log_errf(tp->err, tp->errsz, "%s:%d: bind: \"%.100s\" "
		    "is not yes, no, simple, none or sasl", tp->file, line, v);
	return 0;
}

static int
domains(struct tparse *tp, struct ldaptable *t)
{
	int line;

	split_append(get_str(tp, "domain", "", &line), &t->domains,
	    &t->ndomains);
	for (size_t i = 0; i < t->ndomains; i++) {
		const char *d = t->domains[i];

		if (*d != '/' && strchr(d, ':') != NULL)
			return log_errf(tp->err, tp->errsz, "%s:%d: domain: "
			    "\"%.100s\": type:table lists are not supported"
			    " (list the names, or a file of them)", tp->file,
			    line, d);
	}
	return 0;
}

static int
numbers(struct tparse *tp, struct ldaptable *t)
{
	long dummy;
	int b;

	if (get_int(tp, "version", 3, 2, 3, &t->version) < 0 ||
	    get_int(tp, "timeout", 10, 0, -1, &t->timeout) < 0 ||
	    get_long(tp, "recursion_limit", 1000, 1, -1,
	    &t->recursion_limit) < 0 ||
	    get_long(tp, "expansion_limit", 0, 0, -1, &t->expansion_limit)
	    < 0 ||
	    get_long(tp, "size_limit", t->expansion_limit, 0, INT_MAX,
	    &t->size_limit) < 0 ||
	    get_int(tp, "dereference", 0, 0, 3, &t->dereference) < 0 ||
	    get_bool(tp, "chase_referrals", 0, &t->chase_referrals) < 0 ||
	    get_int(tp, "debuglevel", 0, 0, -1, &t->debuglevel) < 0 ||
	    get_int(tp, "sasl_minssf", 0, 0, 4096, &t->sasl_minssf) < 0 ||
	    get_bool(tp, "start_tls", 0, &t->start_tls) < 0 ||
	    get_bool(tp, "tls_require_cert", 0, &t->tls_require_cert) < 0 ||
	    /* accepted and ignored, as Postfix does (with a warning) */
	    get_bool(tp, "cache", 0, &b) < 0 ||
	    get_long(tp, "cache_expiry", -1, 0, -1, &dummy) < 0 ||
	    get_long(tp, "cache_size", -1, 0, -1, &dummy) < 0)
		return -1;
	if (t->start_tls && t->version < 3)
		t->version = 3;
	return 0;
}

int
ldaptable_parse(const char *file, const char *text, size_t len,
    struct ldaptable **out, char *err, size_t errsz)
{
	struct tparse tp = { file, NULL, 0, err, errsz };
	struct ldaptable *t = xcalloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	t->file = xstrdup(file);
	rc = split_lines(&tp, text, len);
	if (rc == 0)
		rc = servers(&tp, t);
	if (rc == 0)
		rc = templates(&tp, t);
	if (rc == 0)
		rc = attributes(&tp, t);
	if (rc == 0)
		rc = choices(&tp, t);
	if (rc == 0)
		rc = domains(&tp, t);
	if (rc == 0)
		rc = numbers(&tp, t);
	if (rc == 0) {
		t->bind_dn = dup_str(&tp, "bind_dn", "");
		t->bind_pw = dup_str(&tp, "bind_pw", "");
		t->sasl_mechs = dup_str(&tp, "sasl_mechs", "");
		t->sasl_realm = dup_str(&tp, "sasl_realm", "");
		t->sasl_authz_id = dup_str(&tp, "sasl_authz_id", "");
		t->tls_ca_cert_file = dup_str(&tp, "tls_ca_cert_file", "");
		t->tls_ca_cert_dir = dup_str(&tp, "tls_ca_cert_dir", "");
		t->tls_cert = dup_str(&tp, "tls_cert", "");
		t->tls_key = dup_str(&tp, "tls_key", "");
		t->tls_random_file = dup_str(&tp, "tls_random_file", "");
		t->tls_cipher_suite = dup_str(&tp, "tls_cipher_suite", "");
	}
	for (size_t i = 0; rc == 0 && i < tp.n; i++) {
		int ok = 0;

		for (size_t k = 0; known[k]; k++)
			ok |= strcmp(known[k], tp.s[i].name) == 0;
		if (!ok)
			rc = errline(&tp, tp.s[i].line, "unknown parameter",
			    tp.s[i].name);
	}
	for (size_t i = 0; i < tp.n; i++) {
		free(tp.s[i].name);
		if (tp.s[i].value)
			explicit_bzero(tp.s[i].value, strlen(tp.s[i].value));
		free(tp.s[i].value);
	}
	free(tp.s);
	if (rc < 0) {
		/* values are quoted in messages: no control byte may reach a
		 * log line from them */
		for (char *c = err; errsz && *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		ldaptable_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

static int
read_file(const char *path, struct buf *b, char *err, size_t errsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	char chunk[8192];
	ssize_t r;

	if (fd < 0)
		return log_errf(err, errsz, "%s: cannot open: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return log_errf(err, errsz, "%s: not a regular file", path);
	}
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return log_errf(err, errsz, "%s: read: %s", path,
			    strerror(errno));
		}
		if (b->len + (size_t)r > LDAPTABLE_MAX_SIZE) {
			close(fd);
			return log_errf(err, errsz, "%s: larger than %u bytes",
			    path, LDAPTABLE_MAX_SIZE);
		}
		buf_append(b, chunk, (size_t)r);
	}
	close(fd);
	return 0;
}

/* Replace each "/file" of the domain list by the names it holds
 * (comments and blank lines skipped, names split on commas and white
 * space; files may name files, to a depth of 8). */
static int
domain_files(struct ldaptable *t, int depth, char *err, size_t errsz)
{
	for (size_t i = 0; i < t->ndomains; i++) {
		struct buf b = BUF_INIT, names = BUF_INIT;
		char **add = NULL;
		size_t nadd = 0;
		const char *p, *e;

		if (t->domains[i][0] != '/')
			continue;
		if (depth > 8)
			return log_errf(err, errsz, "%s: domain: files nested "
			    "too deep", t->file);
		if (read_file(t->domains[i], &b, err, errsz) < 0)
			return -1;
		for (p = buf_str(&b); *p; p = e) {
			size_t l;
			const char *h;

			e = strchr(p, '\n');
			e = e ? e + 1 : p + strlen(p);
			l = (size_t)(e - p);
			h = p;
			while (h < e && is_space((unsigned char)*h))
				h++;
			if (h == e || *h == '#')
				continue;
			buf_append(&names, p, l);
			buf_putc(&names, ' ');
		}
		split_append(buf_str(&names), &add, &nadd);
		buf_free(&b);
		buf_free(&names);
		free(t->domains[i]);
		/* splice add[] in place of entry i */
		t->domains = xreallocarray(t->domains, t->ndomains + nadd + 1,
		    sizeof(*t->domains));
		memmove(t->domains + i + nadd, t->domains + i + 1,
		    (t->ndomains - i - 1) * sizeof(*t->domains));
		if (nadd)
			memcpy(t->domains + i, add, nadd * sizeof(*add));
		t->ndomains = t->ndomains - 1 + nadd;
		free(add);
		i--;
		depth++;
	}
	return 0;
}

int
ldaptable_load(const char *path, struct ldaptable **out, char *err,
    size_t errsz)
{
	struct buf b = BUF_INIT;
	int rc;

	*out = NULL;
	if (read_file(path, &b, err, errsz) < 0) {
		buf_free(&b);
		return -1;
	}
	rc = ldaptable_parse(path, buf_str(&b), b.len, out, err, errsz);
	if (b.p)
		explicit_bzero(b.p, b.len);
	buf_free(&b);
	if (rc == 0 && domain_files(*out, 0, err, errsz) < 0) {
		ldaptable_free(*out);
		*out = NULL;
		return -1;
	}
	return rc;
}

int
ldaptable_known(const char *name)
{
	for (size_t k = 0; known[k]; k++)
		if (strcmp(known[k], name) == 0)
			return 1;
	return 0;
}

int
ldaptable_domain_ok(const struct ldaptable *t, const char *key)
{
	const char *dom;

	if (t->ndomains == 0)
		return 1;
	if ((dom = strrchr(key, '@')) == NULL || dom == key)
		return 0;
	dom++;
	/* The first name that matches decides; "!name" excludes. */
	for (size_t i = 0; i < t->ndomains; i++) {
		const char *d = t->domains[i];
		int neg = 0;

		while (*d == '!') {
			neg = !neg;
			d++;
		}
		if (strcasecmp(d, dom) == 0)
			return !neg;
	}
	return 0;
}

static void
free_vec(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
ldaptable_free(struct ldaptable *t)
{
	if (t == NULL)
		return;
	free(t->file);
	free(t->search_base);
	free(t->query_filter);
	free(t->result_format);
	filter_free(t->filter);
	free_vec(t->attrs, t->nattrs);
	free_vec(t->domains, t->ndomains);
	free_vec(t->servers, t->nservers);
	free(t->bind_dn);
	if (t->bind_pw) {
		explicit_bzero(t->bind_pw, strlen(t->bind_pw));
		free(t->bind_pw);
	}
	free(t->sasl_mechs);
	free(t->sasl_realm);
	free(t->sasl_authz_id);
	free(t->tls_ca_cert_file);
	free(t->tls_ca_cert_dir);
	free(t->tls_cert);
	free(t->tls_key);
	free(t->tls_random_file);
	free(t->tls_cipher_suite);
	free(t);
}

int
ldaptable_utf8(const char *key)
{
	const unsigned char *s = (const unsigned char *)key;

	while (*s) {
		size_t n;
		unsigned c = *s;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return 0;
		if (n == 2 && ((c == 0xe0 && s[1] < 0xa0) ||
		    (c == 0xed && s[1] > 0x9f)))
			return 0;
		if (n == 3 && ((c == 0xf0 && s[1] < 0x90) ||
		    (c == 0xf4 && s[1] > 0x8f)))
			return 0;
		for (size_t i = 1; i <= n; i++)
			if ((s[i] & 0xc0) != 0x80)
				return 0;
		s += n + 1;
	}
	return 1;
}
