/*
 * t_cfg: the configuration language of common/cfg.c, as case tables:
 * every default, every parameter's accepted and refused values with the
 * exact "FILE:LINE: text" message, continuation lines, $-expansion,
 * duplicates, lists, the built-in profile, map sections, tcp_listen, the
 * file limits, cfg_load() and cfg_bind_password().
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "unit.h"

/* Three lines: what every test config needs.  Errors below start at 4. */
#define BASE "ldap_uri = ldap://127.0.0.1\naccount_base = o=x\n" \
	"domain_base = o=d\n"
/* A map section at lines 4-6. */
#define MAP_M "[map m]\nkey = uid\nresult = cn\n"

static char errbuf[1024];

/* Parse text; NULL (and a failed check named name) on error. */
static struct cfg *
parse_len(const char *name, const char *text, size_t len)
{
	struct cfg *cfg;
	char why[1200];

	errbuf[0] = '\0';
	cfg = cfg_parse(text, len, "t.conf", errbuf, sizeof(errbuf));
	if (cfg == NULL) {
		snprintf(why, sizeof(why), "%s (parse: %s)", name, errbuf);
		CHECK(why, cfg != NULL);
	}
	return cfg;
}

static struct cfg *
parse(const char *name, const char *text)
{
	return parse_len(name, text, strlen(text));
}

/* The error of text, or "(parsed)". */
static const char *
error_of_len(const char *text, size_t len)
{
	struct cfg *cfg;

	errbuf[0] = '\0';
	cfg = cfg_parse(text, len, "t.conf", errbuf, sizeof(errbuf));
	if (cfg != NULL) {
		cfg_free(cfg);
		return "(parsed)";
	}
	return errbuf;
}

static const char *
error_of(const char *text)
{
	return error_of_len(text, strlen(text));
}

/* ---- defaults and the built-in profile --------------------------------- */

static void
check_list(const char *name, const struct strlist *l, const char *want)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < l->n; i++) {
		if (i)
			buf_putc(&b, '|');
		buf_puts(&b, l->v[i]);
	}
	CHECK_STR(name, buf_str(&b), want);
	CHECK(name, l->n == 0 || l->v[l->n] == NULL);
	buf_free(&b);
}

static void
test_defaults(void)
{
	struct cfg *c = parse("defaults", BASE);
	const struct cfg_map *m;

	if (c == NULL)
		return;
	CHECK_STR("file name", c->file, "t.conf");
	check_list("ldap_uri", &c->ldap_uri, "ldap://127.0.0.1");
	CHECK("bind_dn default NULL", c->bind_dn == NULL);
	CHECK("bind_pw default NULL", c->bind_pw == NULL);
	CHECK("bind_pw_file default NULL", c->bind_pw_file == NULL);
	CHECK("bind_pw_file_readable default no",
	    c->bind_pw_file_readable == 0);
	CHECK("tls default no", c->tls == CFG_TLS_NO);
	CHECK("tls_ca_file default NULL", c->tls_ca_file == NULL);
	CHECK("tls_require_cert default yes", c->tls_require_cert == 1);
	CHECK("ldap_timeout default 5", c->ldap_timeout == 5);
	CHECK("failback default 60", c->failback == 60);
	CHECK("sync default poll", c->sync == CFG_SYNC_POLL);
	CHECK("persist_flush default 0.5 s", c->persist_flush == 500);
	CHECK_STR("domain_base", c->domain_base, "o=d");
	CHECK_STR("account_base", c->account_base, "o=x");
	CHECK("socketmap_listen default none", c->n_socketmap_listen == 0 &&
	    c->socketmap_listen == NULL);
	CHECK("tcp_listen default none", c->n_tcp_listen == 0 &&
	    c->tcp_listen == NULL);
	CHECK_STR("cache_dir default", c->cache_dir, "/var/lib/ldapmail");
	CHECK("refresh default 300", c->refresh == 300);
	CHECK("miss_lookup default yes", c->miss_lookup == 1);
	CHECK("negative_ttl default 30", c->negative_ttl == 30);
	CHECK("min_refresh default 10", c->min_refresh == 10);
	CHECK("max_stale default 86400", c->max_stale == 86400);
	CHECK_STR("recipient_delimiter default", c->recipient_delimiter, "+");
	CHECK("user default NULL", c->user == NULL);
	CHECK("group default NULL", c->group == NULL);
	CHECK_STR("socket_group default", c->socket_group, "postfix");
	CHECK("socket_mode default 0660", c->socket_mode == 0660);
	CHECK("max_connections default 4096", c->max_connections == 4096);
	CHECK("idle_timeout default 300", c->idle_timeout == 300);
	CHECK("max_request_size default 16384", c->max_request_size == 16384);
	CHECK_STR("mail_base default", c->mail_base, "/vmail");
	CHECK_STR("mail_owner default", c->mail_owner, "vmail");
	CHECK_STR("shared_dir default", c->shared_dir, "shared");
	CHECK_STR("shared_maildirs_dir default", c->shared_maildirs_dir,
	    "shared.maildirs");
	CHECK("no warnings", c->warnings.n == 0);

	CHECK("built-in profile", c->builtin_maps == 3 && c->n_maps == 3);
	CHECK_STR("profile default howto", c->profile, "howto");
	CHECK("local_domains default empty", c->local_domains.n == 0);
	m = cfg_map_find(c, "domain", 6);
	CHECK("built-in domain exists", m != NULL);
	if (m != NULL) {
		CHECK_STR("domain base = $domain_base", m->base, "o=d");
		CHECK("domain scope sub", m->scope == CFG_SCOPE_SUB);
		CHECK_STR("domain filter", m->filter,
		    "(objectClass=domainRelatedObject)");
		check_list("domain key", &m->key, "associatedDomain");
		check_list("domain result", &m->result, "associatedDomain");
		CHECK_STR("domain format", m->format, "%s");
		CHECK("domain kind", m->kind == CFG_KIND_DOMAIN);
		CHECK("domain catchall no", m->catchall == 0);
		CHECK("domain single no", m->single == 0);
		CHECK("domain built-in origin", m->file == NULL && m->line == 0);
	}
	m = cfg_map_find(c, "alias", 5);
	CHECK("built-in alias exists", m != NULL);
	if (m != NULL) {
		CHECK_STR("alias base = $account_base", m->base, "o=x");
		CHECK("alias scope sub", m->scope == CFG_SCOPE_SUB);
		CHECK_STR("alias filter", m->filter,
		    "(|(accountStatus=active)(accountStatus=shared))");
		check_list("alias key", &m->key, "mail|mailAlternateAddress");
		check_list("alias result", &m->result, "mail");
		CHECK_STR("alias format", m->format, "%s");
		CHECK("alias kind address", m->kind == CFG_KIND_ADDRESS);
		CHECK("alias catchall no", m->catchall == 0);
		CHECK("alias single no", m->single == 0);
	}
	m = cfg_map_find(c, "mailbox", 7);
	CHECK("built-in mailbox exists", m != NULL);
	if (m != NULL) {
		CHECK_STR("mailbox base", m->base, "o=x");
		CHECK_STR("mailbox filter", m->filter,
		    "(|(accountStatus=active)(accountStatus=shared))");
		check_list("mailbox key", &m->key, "mail|mailAlternateAddress");
		check_list("mailbox result", &m->result, "mailMessageStore");
		CHECK("mailbox kind address", m->kind == CFG_KIND_ADDRESS);
		CHECK("mailbox single yes", m->single == 1);
		CHECK("mailbox catchall no", m->catchall == 0);
	}
	CHECK("map_find by length", cfg_map_find(c, "aliasXYZ", 5) != NULL);
	CHECK("map_find prefix is not a match", cfg_map_find(c, "alia", 4) ==
	    NULL);
	CHECK("map_find longer is not a match",
	    cfg_map_find(c, "aliases", 7) == NULL);
	CHECK("map_find is case-sensitive", cfg_map_find(c, "Alias", 5) ==
	    NULL);
	CHECK("map_find empty", cfg_map_find(c, "", 0) == NULL);
	cfg_free(c);
}

/* ---- error messages ---------------------------------------------------- */

struct ecase {
	const char *name;
	const char *text;
	const char *want;
};

static const struct ecase errors[] = {
	/* Required parameters. */
	{ "empty file", "", "t.conf: missing required parameter \"ldap_uri\"" },
	{ "only comments", "# x\n\n   # y\n",
	  "t.conf: missing required parameter \"ldap_uri\"" },
	{ "missing ldap_uri", "account_base = o=x\ndomain_base = o=d\n",
	  "t.conf: missing required parameter \"ldap_uri\"" },
	{ "missing account_base", "ldap_uri = ldap://h\ndomain_base = o=d\n",
	  "t.conf: missing required parameter \"account_base\"" },
	{ "missing domain_base with built-in maps",
	  "ldap_uri = ldap://h\naccount_base = o=x\n",
	  "t.conf: missing required parameter \"domain_base\" (profile "
	  "howto's map domain needs it; or replace it with [map domain], or "
	  "profile = none)" },
	{ "empty domain_base is unset",
	  "ldap_uri = ldap://h\naccount_base = o=x\ndomain_base =\n",
	  "t.conf: missing required parameter \"domain_base\" (profile "
	  "howto's map domain needs it; or replace it with [map domain], or "
	  "profile = none)" },
	{ "empty account_base", BASE "account_base =\n",
	  "t.conf:4: account_base must not be empty" },

	/* Line syntax. */
	{ "no =", BASE "refresh 10\n",
	  "t.conf:4: expected \"name = value\" or \"[map NAME]\", got "
	  "\"refresh 10\"" },
	{ "no name", BASE "= 10\n",
	  "t.conf:4: missing parameter name before \"=\"" },
	/* Never a piece of a password in a message. */
	{ "no = on a bind_pw line", BASE "bind_pw S3cret\n",
	  "t.conf:4: expected \"name = value\" or \"[map NAME]\" (the line "
	  "may hold a password: not shown)" },
	{ "no = on a password: line", BASE "Password: S3cret\n",
	  "t.conf:4: expected \"name = value\" or \"[map NAME]\" (the line "
	  "may hold a password: not shown)" },
	{ "bind_pw with an unknown $name", BASE "bind_pw = S3c$ret\n",
	  "t.conf:4: bind_pw: bad \"$\" in the value (not shown; write $$ for "
	  "a literal \"$\")" },
	{ "bind_pw with an unterminated ${", BASE "bind_pw = S3c${ret\n",
	  "t.conf:4: bind_pw: bad \"$\" in the value (not shown; write $$ for "
	  "a literal \"$\")" },
	{ "bind_pw with a lone $", BASE "bind_pw = S3cret$\n",
	  "t.conf:4: bind_pw: bad \"$\" in the value (not shown; write $$ for "
	  "a literal \"$\")" },
	{ "$bind_pw expanded elsewhere", BASE "bind_dn = cn=a\nbind_pw = S3c\n"
	  "refresh = $bind_pw\n",
	  "t.conf:6: \"$bind_pw\": the password cannot be expanded into another "
	  "parameter" },
	{ "${bind_pw} expanded elsewhere", BASE "bind_dn = cn=a\nbind_pw = S3c\n"
	  "bind_dn = ${bind_pw}\n",
	  "t.conf:6: \"$bind_pw\": the password cannot be expanded into another "
	  "parameter" },
	{ "bad name", BASE "re-fresh = 10\n",
	  "t.conf:4: bad parameter name \"re-fresh\"" },
	{ "name with space", BASE "re fresh = 10\n",
	  "t.conf:4: bad parameter name \"re fresh\"" },
	{ "unknown parameter", BASE "refreshh = 10\n",
	  "t.conf:4: unknown parameter \"refreshh\"" },
	{ "names are case-sensitive", BASE "Refresh = 10\n",
	  "t.conf:4: unknown parameter \"Refresh\"" },
	{ "trailing comment is part of the value", BASE "refresh = 10 # s\n",
	  "t.conf:4: refresh: \"10 # s\" is not a decimal number" },
	{ "continuation before any parameter", "  ldap_uri = ldap://h\n",
	  "t.conf:1: continuation line (starting with white space) before "
	  "any parameter" },
	{ "continuation after a comment only", "# c\n\tldap_uri = x\n",
	  "t.conf:2: continuation line (starting with white space) before "
	  "any parameter" },
	{ "error of a continued value names its first line",
	  BASE "refresh =\n  1\n  x\n",
	  "t.conf:4: refresh: \"1 x\" is not a decimal number" },
	{ "earlier line's error reported first", BASE "refresh = x\n\x01\n",
	  "t.conf:4: refresh: \"x\" is not a decimal number" },

	/* Control characters. */
	{ "control character in value", BASE "refresh = 1\x01\n",
	  "t.conf:4: control character \\x01 in line" },
	{ "escape in comment", BASE "# \x1b[31m\n",
	  "t.conf:4: control character \\x1b in line" },
	{ "DEL", BASE "bind_dn = a\x7f\n",
	  "t.conf:4: control character \\x7f in line" },
	{ "CR inside a line", BASE "refresh = 1\r2\n",
	  "t.conf:4: control character \\x0d in line" },
	{ "control character in continuation", BASE "domain_base = a\n b\x02\n",
	  "t.conf:5: control character \\x02 in line" },
	{ "vertical tab", BASE "\x0b\n",
	  "t.conf:4: control character \\x0b in line" },

	/* Sections. */
	{ "bad header word", BASE "[mapx alias]\n",
	  "t.conf:4: bad section header \"[mapx alias]\" (expected [map NAME])" },
	{ "header unclosed", BASE "[map alias\n",
	  "t.conf:4: bad section header \"[map alias\" (expected [map NAME])" },
	{ "header without name", BASE "[map]\n",
	  "t.conf:4: bad section header \"[map]\" (expected [map NAME])" },
	{ "header with two names", BASE "[map a b]\n",
	  "t.conf:4: bad section header \"[map a b]\" (expected [map NAME])" },
	{ "text after header", BASE "[map a] key = uid\n",
	  "t.conf:4: bad section header \"[map a] key = uid\" (expected [map "
	  "NAME])" },
	{ "other section", BASE "[global]\n",
	  "t.conf:4: bad section header \"[global]\" (expected [map NAME])" },
	{ "map name with /", BASE "[map a/b]\n",
	  "t.conf:4: bad map name \"a/b\" (at most 64 letters, digits, \"_\", "
	  "\"-\", \".\", first a letter or digit)" },
	{ "map name with dot first", BASE "[map .x]\n",
	  "t.conf:4: bad map name \".x\" (at most 64 letters, digits, \"_\", "
	  "\"-\", \".\", first a letter or digit)" },
	{ "map name 65 chars", BASE "[map "
	  "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcde]\n",
	  "t.conf:4: bad map name \"abcdefghijabcdefghijabcdefghijabcdefghij"
	  "abcdefghijabcdefghijabcde\" (at most 64 letters, digits, \"_\", "
	  "\"-\", \".\", first a letter or digit)" },
	{ "map name UTF-8", BASE "[map \xc3\xa9]\n",
	  "t.conf:4: bad map name \"\\xc3\\xa9\" (at most 64 letters, digits, "
	  "\"_\", \"-\", \".\", first a letter or digit)" },
	{ "duplicate map", BASE MAP_M "[map m]\n",
	  "t.conf:7: [map m] is already defined at line 4" },
	{ "global inside a map", BASE "[map alias]\nkey = mail\nrefresh = 5\n",
	  "t.conf:6: \"refresh\" is a global parameter, not allowed inside "
	  "[map alias]" },
	{ "map parameter outside a section", BASE "key = mail\n",
	  "t.conf:4: \"key\" is a map parameter, allowed only inside a [map "
	  "NAME] section" },
	{ "indented parameter after a header", BASE "[map m]\n  key = uid\n",
	  "t.conf:5: a line starting with white space continues the previous "
	  "one: [map m] cannot be continued (do not indent parameters)" },
	{ "map without key", BASE "[map m]\nresult = cn\n",
	  "t.conf:4: [map m]: missing required parameter \"key\"" },
	{ "map without key, another map follows",
	  BASE "[map m]\nresult = cn\n[map n]\nkey = a\nresult = b\n",
	  "t.conf:4: [map m]: missing required parameter \"key\"" },
	{ "empty map", BASE "[map m]\n",
	  "t.conf:4: [map m]: missing required parameter \"key\"" },
	{ "map without result", BASE "[map m]\nkey = uid\n",
	  "t.conf:4: [map m]: missing required parameter \"result\"" },
	{ "plain map without result", BASE "[map m]\nkey = uid\nkind = plain\n",
	  "t.conf:4: [map m]: missing required parameter \"result\"" },

	/* Expansion. */
	{ "unknown $name", BASE "bind_dn = $foo\n",
	  "t.conf:4: \"$foo\": unknown parameter \"foo\"" },
	{ "unknown ${name}", BASE "bind_dn = ${foo}x\n",
	  "t.conf:4: \"$foo\": unknown parameter \"foo\"" },
	{ "unknown $(name)", BASE "bind_dn = $(foo)\n",
	  "t.conf:4: \"$foo\": unknown parameter \"foo\"" },
	{ "$name without value", BASE "cache_dir = /x/$bind_dn\n",
	  "t.conf:4: \"$bind_dn\": parameter \"bind_dn\" has no value" },
	{ "$name defined later", "ldap_uri = ldap://h\naccount_base = "
	  "$domain_base\ndomain_base = o=d\n",
	  "t.conf:2: \"$domain_base\": parameter \"domain_base\" has no value" },
	{ "unterminated ${", BASE "domain_base = ${account_base\n",
	  "t.conf:4: unterminated \"${\" in \"${account_base\"" },
	{ "unterminated $(", BASE "domain_base = $(account_base}\n",
	  "t.conf:4: unterminated \"$(\" in \"$(account_base}\"" },
	{ "empty ${}", BASE "domain_base = ${}\n",
	  "t.conf:4: bad parameter name in \"${}\"" },
	{ "space in ${}", BASE "domain_base = ${a b}\n",
	  "t.conf:4: bad parameter name in \"${a b}\"" },
	{ "lone $ at end", BASE "bind_dn = a$\n",
	  "t.conf:4: \"$\" must be followed by a parameter name (write $$ for a "
	  "literal \"$\")" },
	{ "$ before punctuation", BASE "bind_dn = a$-b\n",
	  "t.conf:4: \"$\" must be followed by a parameter name (write $$ for a "
	  "literal \"$\")" },
	{ "map parameter not set earlier", BASE "[map m]\nfilter = (uid=$key)\n",
	  "t.conf:5: \"$key\": \"key\" is not set earlier in [map m]" },
	{ "map parameter outside a map", BASE "bind_dn = $base\n",
	  "t.conf:4: \"$base\": \"base\" is a map parameter, not known outside "
	  "a [map]" },
	{ "another map's parameter", BASE MAP_M "[map n]\nkey = $result\n",
	  "t.conf:8: \"$result\": \"result\" is not set earlier in [map n]" },

	/* ldap_uri. */
	{ "ldap_uri empty", "ldap_uri =\n",
	  "t.conf:1: ldap_uri must not be empty" },
	{ "ldap_uri only separators", "ldap_uri = , ,\n",
	  "t.conf:1: ldap_uri must not be empty" },
	{ "ldap_uri http", "ldap_uri = ldap://a http://b\n",
	  "t.conf:1: ldap_uri: \"http://b\" is not an ldap://, ldaps:// or "
	  "ldapi:// URI" },
	{ "ldap_uri bare host", "ldap_uri = localhost\n",
	  "t.conf:1: ldap_uri: \"localhost\" is not an ldap://, ldaps:// or "
	  "ldapi:// URI" },

	/* Bind. */
	{ "bind_pw without bind_dn", BASE "bind_pw = s\n",
	  "t.conf:4: bind_pw is set but bind_dn is not" },
	{ "bind_pw_file without bind_dn", BASE "bind_pw_file = /etc/pw\n",
	  "t.conf:4: bind_pw_file is set but bind_dn is not" },
	{ "bind_dn without password", BASE "bind_dn = cn=a\n",
	  "t.conf:4: bind_dn needs bind_pw or bind_pw_file" },
	{ "bind_pw and bind_pw_file",
	  BASE "bind_dn = cn=a\nbind_pw = s\nbind_pw_file = /etc/pw\n",
	  "t.conf:6: bind_pw and bind_pw_file are both set (bind_pw at line 5)" },
	{ "bind_pw_file and bind_pw",
	  BASE "bind_dn = cn=a\nbind_pw_file = /etc/pw\nbind_pw = s\n",
	  "t.conf:6: bind_pw and bind_pw_file are both set (bind_pw_file at "
	  "line 5)" },
	{ "bind_pw_file relative", BASE "bind_dn = cn=a\nbind_pw_file = pw\n",
	  "t.conf:5: bind_pw_file: \"pw\" is not an absolute path" },
	{ "empty bind_dn is unset", BASE "bind_dn =\nbind_pw = s\n",
	  "t.conf:5: bind_pw is set but bind_dn is not" },

	/* tls. */
	{ "tls yes", BASE "tls = yes\n",
	  "t.conf:4: tls: \"yes\" must be one of no, starttls, ldaps" },
	{ "tls empty", BASE "tls =\n",
	  "t.conf:4: tls: \"\" must be one of no, starttls, ldaps" },
	{ "tls_ca_file relative", BASE "tls_ca_file = ca.pem\n",
	  "t.conf:4: tls_ca_file: \"ca.pem\" is not an absolute path" },

	/* Booleans. */
	{ "bool on", BASE "tls_require_cert = on\n",
	  "t.conf:4: tls_require_cert: \"on\" is not a boolean (yes or no)" },
	{ "bool 2", BASE "miss_lookup = 2\n",
	  "t.conf:4: miss_lookup: \"2\" is not a boolean (yes or no)" },
	{ "bool empty", BASE "miss_lookup =\n",
	  "t.conf:4: miss_lookup: \"\" is not a boolean (yes or no)" },
	{ "bool y", BASE "miss_lookup = y\n",
	  "t.conf:4: miss_lookup: \"y\" is not a boolean (yes or no)" },
	{ "bind_pw_file_readable maybe", BASE "bind_pw_file_readable = maybe\n",
	  "t.conf:4: bind_pw_file_readable: \"maybe\" is not a boolean (yes "
	  "or no)" },

	/* Integers. */
	{ "ldap_timeout 0", BASE "ldap_timeout = 0\n",
	  "t.conf:4: ldap_timeout: \"0\" is out of range (1..3600)" },
	{ "ldap_timeout 3601", BASE "ldap_timeout = 3601\n",
	  "t.conf:4: ldap_timeout: \"3601\" is out of range (1..3600)" },
	{ "ldap_timeout negative", BASE "ldap_timeout = -1\n",
	  "t.conf:4: ldap_timeout: \"-1\" is not a decimal number" },
	{ "ldap_timeout plus sign", BASE "ldap_timeout = +5\n",
	  "t.conf:4: ldap_timeout: \"+5\" is not a decimal number" },
	{ "ldap_timeout unit", BASE "ldap_timeout = 5s\n",
	  "t.conf:4: ldap_timeout: \"5s\" is not a decimal number" },
	{ "ldap_timeout hex", BASE "ldap_timeout = 0x10\n",
	  "t.conf:4: ldap_timeout: \"0x10\" is not a decimal number" },
	{ "ldap_timeout empty", BASE "ldap_timeout =\n",
	  "t.conf:4: ldap_timeout: \"\" is not a decimal number" },
	{ "ldap_timeout two numbers", BASE "ldap_timeout = 1 2\n",
	  "t.conf:4: ldap_timeout: \"1 2\" is not a decimal number" },
	{ "ldap_timeout overflow", BASE "ldap_timeout = 99999999999999999999\n",
	  "t.conf:4: ldap_timeout: \"99999999999999999999\" is out of range "
	  "(1..3600)" },
	{ "failback 0", BASE "failback = 0\n",
	  "t.conf:4: failback: \"0\" is out of range (1..86400)" },
	{ "failback a day and a second", BASE "failback = 86401\n",
	  "t.conf:4: failback: \"86401\" is out of range (1..86400)" },
	{ "failback unit", BASE "failback = 1m\n",
	  "t.conf:4: failback: \"1m\" is not a decimal number" },
	{ "sync unknown", BASE "sync = push\n",
	  "t.conf:4: sync: \"push\" must be one of poll, persist" },
	{ "persist_flush 0", BASE "persist_flush = 0\n",
	  "t.conf:4: persist_flush: \"0\" is out of range (0.010..60 s)" },
	{ "persist_flush 61", BASE "persist_flush = 61\n",
	  "t.conf:4: persist_flush: \"61\" is out of range (0.010..60 s)" },
	{ "persist_flush 4 decimals", BASE "persist_flush = 0.0005\n",
	  "t.conf:4: persist_flush: \"0.0005\" is not a number of seconds "
	  "(at most 3 decimals)" },
	{ "persist_flush trailing dot", BASE "persist_flush = 1.\n",
	  "t.conf:4: persist_flush: \"1.\" is not a number of seconds "
	  "(at most 3 decimals)" },
	{ "persist_flush unit", BASE "persist_flush = 1s\n",
	  "t.conf:4: persist_flush: \"1s\" is not a number of seconds "
	  "(at most 3 decimals)" },
	{ "overflow then junk", BASE "refresh = 99999999999999999999x\n",
	  "t.conf:4: refresh: \"99999999999999999999x\" is not a decimal number" },
	{ "refresh 0", BASE "refresh = 0\n",
	  "t.conf:4: refresh: \"0\" is out of range (at least 1)" },
	{ "refresh INT_MAX+1", BASE "refresh = 2147483648\n",
	  "t.conf:4: refresh: \"2147483648\" is out of range (at least 1)" },
	{ "negative_ttl negative", BASE "negative_ttl = -30\n",
	  "t.conf:4: negative_ttl: \"-30\" is not a decimal number" },
	{ "min_refresh float", BASE "min_refresh = 1.5\n",
	  "t.conf:4: min_refresh: \"1.5\" is not a decimal number" },
	{ "max_stale 0", BASE "max_stale = 0\n",
	  "t.conf:4: max_stale: \"0\" is out of range (at least 1)" },
	{ "max_connections 0", BASE "max_connections = 0\n",
	  "t.conf:4: max_connections: \"0\" is out of range (1..1000000)" },
	{ "max_connections 1000001", BASE "max_connections = 1000001\n",
	  "t.conf:4: max_connections: \"1000001\" is out of range (1..1000000)" },
	{ "idle_timeout 0", BASE "idle_timeout = 0\n",
	  "t.conf:4: idle_timeout: \"0\" is out of range (1..86400)" },
	{ "idle_timeout 86401", BASE "idle_timeout = 86401\n",
	  "t.conf:4: idle_timeout: \"86401\" is out of range (1..86400)" },
	{ "max_request_size 511", BASE "max_request_size = 511\n",
	  "t.conf:4: max_request_size: \"511\" is out of range (512..1000000)" },
	{ "max_request_size 1000001", BASE "max_request_size = 1000001\n",
	  "t.conf:4: max_request_size: \"1000001\" is out of range "
	  "(512..1000000)" },

	/* Octal. */
	{ "socket_mode 1000", BASE "socket_mode = 1000\n",
	  "t.conf:4: socket_mode: \"1000\" is not an octal mode (0000..0777)" },
	{ "socket_mode 8", BASE "socket_mode = 0668\n",
	  "t.conf:4: socket_mode: \"0668\" is not an octal mode (0000..0777)" },
	{ "socket_mode symbolic", BASE "socket_mode = rw\n",
	  "t.conf:4: socket_mode: \"rw\" is not an octal mode (0000..0777)" },
	{ "socket_mode empty", BASE "socket_mode =\n",
	  "t.conf:4: socket_mode: \"\" is not an octal mode (0000..0777)" },
	{ "socket_mode huge", BASE "socket_mode = 77777777777777777777777\n",
	  "t.conf:4: socket_mode: \"77777777777777777777777\" is not an octal "
	  "mode (0000..0777)" },

	/* Paths and names. */
	{ "cache_dir relative", BASE "cache_dir = var/lib\n",
	  "t.conf:4: cache_dir: \"var/lib\" is not an absolute path" },
	{ "cache_dir empty", BASE "cache_dir =\n",
	  "t.conf:4: cache_dir: \"\" is not an absolute path" },
	{ "mail_base relative", BASE "mail_base = vmail\n",
	  "t.conf:4: mail_base: \"vmail\" is not an absolute path" },
	{ "mail_base empty", BASE "mail_base =\n",
	  "t.conf:4: mail_base: \"\" is not an absolute path" },
	{ "mail_base ..", BASE "mail_base = /vmail/../etc\n",
	  "t.conf:4: mail_base: \"/vmail/../etc\" is not a normalized path (no "
	  "\".\", \"..\" or \"//\")" },
	{ "mail_base .", BASE "mail_base = /./vmail\n",
	  "t.conf:4: mail_base: \"/./vmail\" is not a normalized path (no "
	  "\".\", \"..\" or \"//\")" },
	{ "mail_base //", BASE "mail_base = /a//b\n",
	  "t.conf:4: mail_base: \"/a//b\" is not a normalized path (no "
	  "\".\", \"..\" or \"//\")" },
	{ "mail_base trailing ..", BASE "mail_base = /a/../\n",
	  "t.conf:4: mail_base: \"/a/../\" is not a normalized path (no "
	  "\".\", \"..\" or \"//\")" },
	{ "mail_owner empty", BASE "mail_owner =\n",
	  "t.conf:4: mail_owner must not be empty" },
	{ "shared_dir with /", BASE "shared_dir = a/b\n",
	  "t.conf:4: shared_dir: \"a/b\" must be one path component (no \"/\", "
	  "not \".\" or \"..\")" },
	{ "shared_dir .", BASE "shared_dir = .\n",
	  "t.conf:4: shared_dir: \".\" must be one path component (no \"/\", "
	  "not \".\" or \"..\")" },
	{ "shared_maildirs_dir ..", BASE "shared_maildirs_dir = ..\n",
	  "t.conf:4: shared_maildirs_dir: \"..\" must be one path component (no "
	  "\"/\", not \".\" or \"..\")" },
	{ "shared_dir empty", BASE "shared_dir =\n",
	  "t.conf:4: shared_dir must not be empty" },
	{ "shared_maildirs_dir empty", BASE "shared_maildirs_dir =\n",
	  "t.conf:4: shared_maildirs_dir must not be empty" },
	{ "shared dirs equal", BASE "shared_dir = s\nshared_maildirs_dir = s\n",
	  "t.conf:5: shared_dir and shared_maildirs_dir must differ" },
	{ "shared_dir = default of the other", BASE
	  "shared_dir = shared.maildirs\n",
	  "t.conf:4: shared_dir and shared_maildirs_dir must differ" },

	/* recipient_delimiter. */
	{ "delimiter @", BASE "recipient_delimiter = @\n",
	  "t.conf:4: recipient_delimiter: \"@\" may hold only printable ASCII "
	  "characters other than \"@\" and space" },
	{ "delimiter with space", BASE "recipient_delimiter = + -\n",
	  "t.conf:4: recipient_delimiter: \"+ -\" may hold only printable ASCII "
	  "characters other than \"@\" and space" },
	{ "delimiter with tab", BASE "recipient_delimiter = +\t-\n",
	  "t.conf:4: recipient_delimiter: \"+\\x09-\" may hold only printable "
	  "ASCII characters other than \"@\" and space" },
	{ "delimiter UTF-8", BASE "recipient_delimiter = \xc2\xa7\n",
	  "t.conf:4: recipient_delimiter: \"\\xc2\\xa7\" may hold only printable "
	  "ASCII characters other than \"@\" and space" },

	/* Listening endpoints. */
	{ "socketmap unix relative", BASE "socketmap_listen = unix:run/s\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"unix:run/s\": the path "
	  "must be absolute" },
	{ "socketmap tcp:", BASE "socketmap_listen = tcp:1.2.3.4:5\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"tcp:1.2.3.4:5\": expected "
	  "unix:/PATH or inet:HOST:PORT" },
	{ "socketmap bare path", BASE "socketmap_listen = /run/s\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"/run/s\": expected "
	  "unix:/PATH or inet:HOST:PORT" },
	{ "socketmap no port", BASE "socketmap_listen = inet:1.2.3.4\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"inet:1.2.3.4\": expected "
	  "inet:HOST:PORT" },
	{ "socketmap IPv6 unbracketed", BASE "socketmap_listen = inet:::1:25\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"inet:::1:25\": write an "
	  "IPv6 address in brackets, inet:[::1]:PORT" },
	{ "socketmap IPv6 no colon", BASE "socketmap_listen = inet:[::1]25\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"inet:[::1]25\": expected "
	  "inet:[IPv6]:PORT" },
	{ "socketmap IPv6 empty", BASE "socketmap_listen = inet:[]:25\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"inet:[]:25\": the host is "
	  "missing" },
	{ "socketmap no host", BASE "socketmap_listen = inet::25\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"inet::25\": the host is "
	  "missing" },
	{ "socketmap port 0", BASE "socketmap_listen = inet:h:0\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"inet:h:0\": the port must "
	  "be a number 1..65535" },
	{ "socketmap port 65536", BASE "socketmap_listen = inet:h:65536\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"inet:h:65536\": the port "
	  "must be a number 1..65535" },
	{ "socketmap port name", BASE "socketmap_listen = inet:h:smtp\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"inet:h:smtp\": the port "
	  "must be a number 1..65535" },
	{ "socketmap port empty", BASE "socketmap_listen = inet:h:\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"inet:h:\": the port must "
	  "be a number 1..65535" },
	{ "socketmap second item bad",
	  BASE "socketmap_listen = unix:/a, inet:h:x\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"inet:h:x\": the port must "
	  "be a number 1..65535" },
	{ "socketmap MAP= form", BASE "socketmap_listen = alias=inet:h:1\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"alias=inet:h:1\": "
	  "expected unix:/PATH or inet:HOST:PORT" },
	{ "socketmap path too long", BASE "socketmap_listen = unix:/"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "t.conf:4: socketmap_listen: bad endpoint \"unix:/"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaa...\": the path is longer than 107 bytes" },
	{ "tcp_listen without MAP=", BASE "tcp_listen = inet:127.0.0.1:1\n",
	  "t.conf:4: tcp_listen: \"inet:127.0.0.1:1\" is not MAP=inet:HOST:PORT" },
	{ "tcp_listen bad map name", BASE "tcp_listen = a/b=inet:h:1\n",
	  "t.conf:4: tcp_listen: bad map name in \"a/b=inet:h:1\"" },
	{ "tcp_listen empty map name", BASE "tcp_listen = =inet:h:1\n",
	  "t.conf:4: tcp_listen: bad map name in \"=inet:h:1\"" },
	{ "tcp_listen bad endpoint", BASE "tcp_listen = alias=inet:h:0\n",
	  "t.conf:4: tcp_listen: bad endpoint \"alias=inet:h:0\": the port must "
	  "be a number 1..65535" },
	{ "tcp_listen unknown map", BASE
	  "tcp_listen = alias=inet:127.0.0.1:1, nomap=inet:127.0.0.1:2\n"
	  "refresh = 9\n",
	  "t.conf:4: tcp_listen: no [map nomap] for \"nomap=inet:127.0.0.1:2\"" },
	{ "tcp_listen names a built-in map, but profile = none", BASE
	  "tcp_listen = alias=inet:127.0.0.1:1\nprofile = none\n" MAP_M,
	  "t.conf:4: tcp_listen: no [map alias] for \"alias=inet:127.0.0.1:1\"" },
	{ "same endpoint in both lists", BASE
	  "socketmap_listen = inet:127.0.0.1:1\n"
	  "tcp_listen = alias=inet:127.0.0.1:1\n",
	  "t.conf:5: tcp_listen: \"alias=inet:127.0.0.1:1\" uses the same "
	  "endpoint as \"inet:127.0.0.1:1\" in socketmap_listen" },
	{ "same unix path twice", BASE
	  "socketmap_listen = unix:/run/a unix:/run/a\n",
	  "t.conf:4: socketmap_listen: \"unix:/run/a\" uses the same endpoint as "
	  "\"unix:/run/a\"" },
	{ "same port, leading zero", BASE
	  "tcp_listen = alias=inet:h:25 mailbox=inet:h:025\n",
	  "t.conf:4: tcp_listen: \"mailbox=inet:h:025\" uses the same endpoint "
	  "as \"alias=inet:h:25\"" },

	/* Map parameters. */
	{ "base empty", BASE "[map m]\nbase =\n",
	  "t.conf:5: base must not be empty" },
	{ "scope subtree", BASE "[map m]\nscope = subtree\n",
	  "t.conf:5: scope: \"subtree\" must be one of base, one, sub" },
	{ "filter without parentheses", BASE "[map m]\nfilter = uid=*\n",
	  "t.conf:5: filter: \"uid=*\" must start with \"(\" and end with \")\"" },
	{ "filter empty", BASE "[map m]\nfilter =\n",
	  "t.conf:5: filter: \"\" must start with \"(\" and end with \")\"" },
	{ "filter unbalanced", BASE "[map m]\nfilter = ((uid=*)\n",
	  "t.conf:5: filter: \"((uid=*)\" has unbalanced parentheses" },
	{ "filter closes early", BASE "[map m]\nfilter = (uid=*))\n",
	  "t.conf:5: filter: \"(uid=*))\" is not one parenthesized filter" },
	{ "filter two filters", BASE "[map m]\nfilter = (a=1)(b=2)\n",
	  "t.conf:5: filter: \"(a=1)(b=2)\" is not one parenthesized filter" },
	{ "filter bad escape", BASE "[map m]\nfilter = (cn=a\\zz)\n",
	  "t.conf:5: filter: \"(cn=a\\x5czz)\" has a \"\\\" not followed by two "
	  "hex digits" },
	{ "filter escaped paren", BASE "[map m]\nfilter = (cn=a\\))\n",
	  "t.conf:5: filter: \"(cn=a\\x5c))\" has a \"\\\" not followed by two "
	  "hex digits" },
	{ "filter tab", BASE "[map m]\nfilter = (cn=a\tb)\n",
	  "t.conf:5: filter: \"(cn=a\\x09b)\" holds a control character" },
	{ "key empty", BASE "[map m]\nkey = ,\n",
	  "t.conf:5: key must not be empty" },
	{ "key underscore", BASE "[map m]\nkey = ma_il\n",
	  "t.conf:5: key: \"ma_il\" is not an attribute name" },
	{ "key digit first", BASE "[map m]\nkey = 2mail\n",
	  "t.conf:5: key: \"2mail\" is not an attribute name" },
	{ "key with option", BASE "[map m]\nkey = cn;lang-de\n",
	  "t.conf:5: key: \"cn;lang-de\" is not an attribute name" },
	{ "key OID leading zero", BASE "[map m]\nkey = 1.02.3\n",
	  "t.conf:5: key: \"1.02.3\" is not an attribute name" },
	{ "key OID empty arc", BASE "[map m]\nkey = 1..3\n",
	  "t.conf:5: key: \"1..3\" is not an attribute name" },
	{ "key OID trailing dot", BASE "[map m]\nkey = 1.3.\n",
	  "t.conf:5: key: \"1.3.\" is not an attribute name" },
	{ "result empty", BASE "[map m]\nkey = uid\nresult =\n",
	  "t.conf:6: result must not be empty" },
	{ "result bad", BASE "[map m]\nkey = uid\nresult = a*\n",
	  "t.conf:6: result: \"a*\" is not an attribute name" },
	{ "format without %s", BASE "[map m]\nformat = smtp:x\n",
	  "t.conf:5: format: \"smtp:x\" must hold exactly one %s" },
	{ "format two %s", BASE "[map m]\nformat = %s,%s\n",
	  "t.conf:5: format: \"%s,%s\" must hold exactly one %s" },
	{ "format %d", BASE "[map m]\nformat = %d\n",
	  "t.conf:5: format: \"%d\" has a \"%\" other than %s or %%" },
	{ "format trailing %", BASE "[map m]\nformat = %s%\n",
	  "t.conf:5: format: \"%s%\" has a \"%\" other than %s or %%" },
	{ "format %%s is no %s", BASE "[map m]\nformat = %%s\n",
	  "t.conf:5: format: \"%%s\" must hold exactly one %s" },
	{ "kind bad", BASE "[map m]\nkind = alias\n",
	  "t.conf:5: kind: \"alias\" must be one of address, domain, plain" },
	{ "catchall bad", BASE "[map m]\ncatchall = maybe\n",
	  "t.conf:5: catchall: \"maybe\" is not a boolean (yes or no)" },
	{ "single bad", BASE "[map m]\nsingle = 2\n",
	  "t.conf:5: single: \"2\" is not a boolean (yes or no)" },
	{ "catchall on a plain map",
	  BASE "[map d]\nkey = uid\nresult = mail\ncatchall = yes\n"
	  "kind = plain\n",
	  "t.conf:7: [map d]: catchall needs kind = address or domain" },
};

static void
test_errors(void)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		CHECK_STR(errors[i].name, error_of(errors[i].text),
		    errors[i].want);
}

/* Errors that need lengths or sizes a literal cannot hold. */
static void
test_limits(void)
{
	static const char nul[] = BASE "bind_dn = a\0b\n";
	struct buf b = BUF_INIT;
	struct cfg *c;
	char *big;
	size_t n;

	CHECK_STR("NUL byte", error_of_len(nul, sizeof(nul) - 1),
	    "t.conf:4: control character \\x00 in line");

	/* A line of exactly 65536 bytes is fine, one more is not. */
	buf_puts(&b, BASE "bind_pw_file = /");
	n = 65536 - strlen("bind_pw_file = /");
	for (size_t i = 0; i < n; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "\nbind_dn = cn=a\n");
	c = parse("line of 65536 bytes", buf_str(&b));
	CHECK("line of 65536 bytes kept whole", c != NULL &&
	    strlen(c->bind_pw_file) == n + 1);
	cfg_free(c);
	buf_reset(&b);
	buf_puts(&b, BASE "bind_pw_file = /");
	for (size_t i = 0; i < n + 1; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "\n");
	CHECK_STR("line of 65537 bytes", error_of(buf_str(&b)),
	    "t.conf:4: line longer than 65536 bytes");

	/* Continuations cannot build a longer logical line. */
	buf_reset(&b);
	buf_puts(&b, BASE "domain_base = ");
	for (int l = 0; l < 2; l++) {
		for (int i = 0; i < 40000; i++)
			buf_putc(&b, 'a');
		buf_puts(&b, "\n ");
	}
	buf_puts(&b, "x\n");
	CHECK_STR("logical line too long", error_of(buf_str(&b)),
	    "t.conf:5: logical line longer than 65536 bytes");

	/* Nor can expansion. */
	buf_reset(&b);
	buf_puts(&b, "ldap_uri = ldap://h\ndomain_base = ");
	for (int i = 0; i < 40000; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "\naccount_base = $domain_base,$domain_base\n");
	CHECK_STR("expansion too long", error_of(buf_str(&b)),
	    "t.conf:3: value longer than 65536 bytes after expansion");

	/* The file: under 4 MiB. */
	n = 4 * 1024 * 1024;
	big = xmalloc(n);
	memset(big, '#', n);
	for (size_t i = 999; i < n; i += 1000)
		big[i] = '\n';		/* comment lines of 1000 bytes */
	memcpy(big, BASE, strlen(BASE));
	big[n - 1] = '\n';
	CHECK_STR("file of 4 MiB", error_of_len(big, n),
	    "t.conf: file too large (at most 4194303 bytes)");
	c = parse_len("file just under 4 MiB", big, n - 1);
	CHECK("file just under 4 MiB parses", c != NULL);
	cfg_free(c);
	free(big);
	buf_free(&b);
}

/* ---- values that parse ------------------------------------------------- */

static void
test_values(void)
{
	struct cfg *c;

	c = parse("booleans", BASE "tls_require_cert = NO\nmiss_lookup = "
	    "False\n");
	CHECK("bool NO and False", c && c->tls_require_cert == 0 &&
	    c->miss_lookup == 0);
	cfg_free(c);
	c = parse("booleans 2", BASE "tls_require_cert = 0\nmiss_lookup = "
	    "TRUE\n");
	CHECK("bool 0 and TRUE", c && c->tls_require_cert == 0 &&
	    c->miss_lookup == 1);
	cfg_free(c);
	c = parse("booleans 3", BASE "tls_require_cert = 1\nmiss_lookup = "
	    "Yes\n");
	CHECK("bool 1 and Yes", c && c->tls_require_cert == 1 &&
	    c->miss_lookup == 1);
	cfg_free(c);

	c = parse("tls starttls", BASE "tls = starttls\n");
	CHECK("tls starttls", c && c->tls == CFG_TLS_STARTTLS);
	cfg_free(c);
	c = parse("tls LDAPS", BASE "tls = LDAPS\ntls_ca_file = /etc/ca.pem\n");
	CHECK("tls LDAPS", c && c->tls == CFG_TLS_LDAPS);
	CHECK_STR("tls_ca_file", c ? c->tls_ca_file : NULL, "/etc/ca.pem");
	cfg_free(c);

	c = parse("integer bounds", BASE "ldap_timeout = 3600\nrefresh = "
	    "2147483647\nnegative_ttl = 0\nmin_refresh = 0\nmax_stale = 1\n"
	    "max_connections = 1000000\nidle_timeout = 86400\n"
	    "max_request_size = 512\n");
	CHECK("ldap_timeout 3600", c && c->ldap_timeout == 3600);
	CHECK("refresh INT_MAX", c && c->refresh == 2147483647);
	CHECK("negative_ttl 0", c && c->negative_ttl == 0);
	CHECK("min_refresh 0", c && c->min_refresh == 0);
	CHECK("max_stale 1", c && c->max_stale == 1);
	CHECK("max_connections 1000000", c && c->max_connections == 1000000);
	CHECK("idle_timeout 86400", c && c->idle_timeout == 86400);
	CHECK("max_request_size 512", c && c->max_request_size == 512);
	cfg_free(c);
	c = parse("integer low bounds", BASE "ldap_timeout = 1\n"
	    "max_connections = 1\nidle_timeout = 1\n"
	    "max_request_size = 1000000\nrefresh = 010\n");
	CHECK("ldap_timeout 1", c && c->ldap_timeout == 1);
	CHECK("max_connections 1", c && c->max_connections == 1);
	CHECK("idle_timeout 1", c && c->idle_timeout == 1);
	CHECK("max_request_size 1000000", c && c->max_request_size == 1000000);
	CHECK("leading zero is decimal", c && c->refresh == 10);
	cfg_free(c);
	c = parse("sync persist", BASE "sync = persist\n");
	CHECK("sync persist: refresh defaults to 3600", c &&
	    c->sync == CFG_SYNC_PERSIST && c->refresh == 3600);
	cfg_free(c);
	c = parse("sync persist refresh", BASE "refresh = 60\nsync = Persist\n");
	CHECK("sync persist keeps a refresh given", c &&
	    c->sync == CFG_SYNC_PERSIST && c->refresh == 60);
	cfg_free(c);
	c = parse("persist_flush", BASE "persist_flush = 0.25\n");
	CHECK("persist_flush 0.25 s", c && c->persist_flush == 250);
	cfg_free(c);
	c = parse("persist_flush 60", BASE "persist_flush = 60\n");
	CHECK("persist_flush 60 s", c && c->persist_flush == 60000);
	cfg_free(c);
	c = parse("persist_flush 0.01", BASE "persist_flush = 0.01\n");
	CHECK("persist_flush 0.01 s", c && c->persist_flush == 10);
	cfg_free(c);
	c = parse("failback bounds", BASE "failback = 1\n");
	CHECK("failback 1", c && c->failback == 1);
	cfg_free(c);
	c = parse("failback a day", BASE "failback = 86400\nrefresh = 7\n");
	CHECK("failback 86400", c && c->failback == 86400 && c->refresh == 7);
	cfg_free(c);

	c = parse("socket_mode 0600", BASE "socket_mode = 0600\n");
	CHECK("socket_mode 0600", c && c->socket_mode == 0600);
	cfg_free(c);
	c = parse("socket_mode 777", BASE "socket_mode = 777\n");
	CHECK("socket_mode 777 without 0", c && c->socket_mode == 0777);
	cfg_free(c);
	c = parse("socket_mode 0", BASE "socket_mode = 0\n");
	CHECK("socket_mode 0", c && c->socket_mode == 0);
	cfg_free(c);

	c = parse("strings", BASE "user = lookupd\ngroup = ldapmail\n"
	    "socket_group = mail\nmail_owner = 5000:5000\n"
	    "bind_dn = cn=lookupd,ou=System,o=company\nbind_pw = s3cr3t $$x\n");
	CHECK_STR("user", c ? c->user : NULL, "lookupd");
	CHECK_STR("group", c ? c->group : NULL, "ldapmail");
	CHECK_STR("socket_group", c ? c->socket_group : NULL, "mail");
	CHECK_STR("mail_owner uid:gid", c ? c->mail_owner : NULL, "5000:5000");
	CHECK_STR("bind_dn", c ? c->bind_dn : NULL,
	    "cn=lookupd,ou=System,o=company");
	CHECK_STR("bind_pw with $$ and space", c ? c->bind_pw : NULL,
	    "s3cr3t $x");
	cfg_free(c);
	c = parse("empty optionals", BASE "user =\ngroup =\nsocket_group =\n"
	    "tls_ca_file =\n");
	CHECK("empty user is unset", c && c->user == NULL);
	CHECK("empty group is unset", c && c->group == NULL);
	CHECK_STR("empty socket_group is \"\"", c ? c->socket_group : NULL,
	    "");
	CHECK("empty tls_ca_file is unset", c && c->tls_ca_file == NULL);
	cfg_free(c);
	c = parse("bind_pw_file", BASE "bind_dn = cn=a\n"
	    "bind_pw_file = /etc/ldapmail/bind.pw\n");
	CHECK_STR("bind_pw_file", c ? c->bind_pw_file : NULL,
	    "/etc/ldapmail/bind.pw");
	CHECK("bind_pw unset", c && c->bind_pw == NULL);
	cfg_free(c);

	c = parse("mail_base trailing /", BASE "mail_base = /srv/mail/\n"
	    "cache_dir = $mail_base/cache\n");
	CHECK_STR("mail_base trailing / stripped", c ? c->mail_base : NULL,
	    "/srv/mail");
	CHECK_STR("$mail_base is the normalized form", c ? c->cache_dir : NULL,
	    "/srv/mail/cache");
	cfg_free(c);
	c = parse("mail_base /", BASE "mail_base = /\n");
	CHECK_STR("mail_base / kept", c ? c->mail_base : NULL, "/");
	cfg_free(c);
	c = parse("mail_base ///", BASE "mail_base = ///\n");
	CHECK_STR("mail_base /// is /", c ? c->mail_base : NULL, "/");
	cfg_free(c);
	c = parse("mail_base dots in names", BASE "mail_base = /v.mail/..x\n"
	    "shared_dir = ..x\nshared_maildirs_dir = .s\n");
	CHECK_STR("mail_base with dotted names", c ? c->mail_base : NULL,
	    "/v.mail/..x");
	CHECK_STR("shared_dir ..x", c ? c->shared_dir : NULL, "..x");
	CHECK_STR("shared_maildirs_dir .s", c ? c->shared_maildirs_dir : NULL,
	    ".s");
	cfg_free(c);

	c = parse("delimiter empty", BASE "recipient_delimiter =\n");
	CHECK_STR("empty delimiter is \"\"", c ? c->recipient_delimiter : NULL,
	    "");
	cfg_free(c);
	c = parse("delimiter set", BASE "recipient_delimiter = +-=\n");
	CHECK_STR("delimiter set of characters",
	    c ? c->recipient_delimiter : NULL, "+-=");
	cfg_free(c);
}

/* ---- lists, continuation, expansion, duplicates ----------------------- */

static void
test_lists(void)
{
	struct cfg *c;

	c = parse("ldap_uri list", "ldap_uri = ldap://a, ldap://b,,LDAPS://c"
	    "\tldapi:/// ,\naccount_base = o=x\ndomain_base = o=d\n");
	if (c)
		check_list("ldap_uri commas, spaces, tabs", &c->ldap_uri,
		    "ldap://a|ldap://b|LDAPS://c|ldapi:///");
	cfg_free(c);
	c = parse("ldap_uri continued", "ldap_uri = ldap://a,\n"
	    "    ldap://b\n\tldapi://%2frun%2fslapd\naccount_base = o=x\n"
	    "domain_base = o=d\n");
	if (c)
		check_list("ldap_uri over three lines", &c->ldap_uri,
		    "ldap://a|ldap://b|ldapi://%2frun%2fslapd");
	cfg_free(c);

	c = parse("endpoints", BASE "socketmap_listen = unix:/run/ldapmail/s,"
	    " inet:127.0.0.1:1234  inet:[::1]:099\n"
	    "tcp_listen = alias=inet:localhost:10001,mailbox=unix:/run/mb\n");
	CHECK("three socketmap endpoints", c && c->n_socketmap_listen == 3);
	if (c && c->n_socketmap_listen == 3) {
		const struct cfg_listen *l = c->socketmap_listen;

		CHECK("unix endpoint", l[0].is_unix && l[0].host == NULL);
		CHECK_STR("unix path", l[0].path, "/run/ldapmail/s");
		CHECK_STR("unix text", l[0].text, "unix:/run/ldapmail/s");
		CHECK("inet endpoint", !l[1].is_unix && l[1].path == NULL &&
		    l[1].map == NULL);
		CHECK_STR("inet host", l[1].host, "127.0.0.1");
		CHECK_STR("inet port", l[1].port, "1234");
		CHECK_STR("IPv6 host without []", l[2].host, "::1");
		CHECK_STR("port normalized", l[2].port, "99");
		CHECK_STR("IPv6 text as written", l[2].text, "inet:[::1]:099");
	}
	CHECK("two tcp endpoints", c && c->n_tcp_listen == 2);
	if (c && c->n_tcp_listen == 2) {
		const struct cfg_listen *l = c->tcp_listen;

		CHECK_STR("tcp map", l[0].map, "alias");
		CHECK_STR("tcp host", l[0].host, "localhost");
		CHECK_STR("tcp port", l[0].port, "10001");
		CHECK_STR("tcp text", l[0].text, "alias=inet:localhost:10001");
		CHECK("tcp unix allowed", l[1].is_unix);
		CHECK_STR("tcp unix map", l[1].map, "mailbox");
		CHECK_STR("tcp unix path", l[1].path, "/run/mb");
	}
	cfg_free(c);
	c = parse("unix path of 107 bytes", BASE "socketmap_listen = unix:/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
	CHECK("unix path of 107 bytes fits sun_path", c &&
	    strlen(c->socketmap_listen[0].path) == 107);
	cfg_free(c);
	c = parse("endpoint lists emptied", BASE "socketmap_listen = unix:/a\n"
	    "socketmap_listen =\ntcp_listen =\n");
	CHECK("empty socketmap_listen allowed", c &&
	    c->n_socketmap_listen == 0 && c->n_tcp_listen == 0);
	cfg_free(c);
	c = parse("tcp_listen names a defined map", BASE
	    "tcp_listen = n=inet:h:1\n" MAP_M "[map n]\nkey = a\nresult = b\n");
	CHECK("tcp_listen checked after the maps", c && c->n_tcp_listen == 1 &&
	    cfg_map_find(c, "n", 1) != NULL);
	cfg_free(c);
}

static void
test_continuation(void)
{
	struct cfg *c;

	c = parse("continuation", BASE "domain_base = ou=postfix,\n"
	    "\tou=System,\n   o=company\n");
	CHECK_STR("joined with one space", c ? c->domain_base : NULL,
	    "ou=postfix, ou=System, o=company");
	cfg_free(c);
	c = parse("continuation trims", BASE "domain_base = a   \n   b   \n");
	CHECK_STR("blanks around the join collapse", c ? c->domain_base : NULL,
	    "a b");
	cfg_free(c);
	c = parse("continuation across comments", BASE "domain_base = a\n"
	    "# a comment\n\n   \n  # indented comment\n  b\n");
	CHECK_STR("comments and blank lines do not end a line",
	    c ? c->domain_base : NULL, "a b");
	cfg_free(c);
	c = parse("empty value continued", BASE "domain_base =\n  o=z\n");
	CHECK_STR("value on the next line", c ? c->domain_base : NULL, "o=z");
	cfg_free(c);
	c = parse("CRLF", "ldap_uri = ldap://h\r\naccount_base = o=x\r\n"
	    "domain_base = o=d\r\nrefresh = 7\r\n");
	CHECK("CRLF lines", c && c->refresh == 7 &&
	    strcmp(c->domain_base, "o=d") == 0);
	cfg_free(c);
	c = parse("no final newline", BASE "refresh = 8");
	CHECK("last line without newline", c && c->refresh == 8);
	cfg_free(c);
	c = parse("no blanks around =", BASE "refresh=9\nidle_timeout\t=\t10\n");
	CHECK("no blanks and tabs around =", c && c->refresh == 9 &&
	    c->idle_timeout == 10);
	cfg_free(c);
	c = parse("= in value", BASE "domain_base = ou=a,o=b\n");
	CHECK_STR("first = splits", c ? c->domain_base : NULL, "ou=a,o=b");
	cfg_free(c);
	c = parse("leading comment", "# ldapmail\n  # indented\n" BASE);
	CHECK("comments before anything", c != NULL);
	cfg_free(c);
	c = parse("continued map parameter", BASE "[map m]\nkey = uid,\n"
	    "  mail\nresult = cn\n");
	if (c)
		check_list("map key continued", &c->maps[0].key, "uid|mail");
	cfg_free(c);
}

static void
test_expansion(void)
{
	struct cfg *c;

	c = parse("$name", BASE "cache_dir = /x\nbind_dn = cn=a,$account_base\n"
	    "bind_pw = ${account_base}-$(domain_base)\n");
	CHECK_STR("$name", c ? c->bind_dn : NULL, "cn=a,o=x");
	CHECK_STR("${name} and $(name)", c ? c->bind_pw : NULL, "o=x-o=d");
	cfg_free(c);
	c = parse("$$", BASE "bind_dn = cn=a\nbind_pw = a$$b$$$account_base$$\n");
	CHECK_STR("$$ is a literal $", c ? c->bind_pw : NULL, "a$b$o=x$");
	cfg_free(c);
	c = parse("defaults expand", BASE "cache_dir = $mail_base/.cache\n"
	    "bind_dn = cn=$mail_owner\nbind_pw = $socket_mode$recipient_delimiter"
	    "\n");
	CHECK_STR("$mail_base default", c ? c->cache_dir : NULL,
	    "/vmail/.cache");
	CHECK_STR("$mail_owner default", c ? c->bind_dn : NULL, "cn=vmail");
	CHECK_STR("$socket_mode default text", c ? c->bind_pw : NULL,
	    "0660+");
	cfg_free(c);
	c = parse("expansion once", BASE "bind_dn = $$account_base\n"
	    "bind_pw = p\nmail_owner = $bind_dn\n");
	CHECK_STR("$$name stays literal", c ? c->bind_dn : NULL,
	    "$account_base");
	CHECK_STR("an expanded $ is not expanded again",
	    c ? c->mail_owner : NULL, "$account_base");
	cfg_free(c);
	c = parse("expansion at definition time", BASE
	    "bind_dn = cn=a,$account_base\nbind_pw = p\naccount_base = o=y\n");
	CHECK_STR("later change does not reach back", c ? c->bind_dn : NULL,
	    "cn=a,o=x");
	CHECK_STR("later value wins", c ? c->account_base : NULL, "o=y");
	cfg_free(c);
	c = parse("expansion of a list", BASE "socketmap_listen = unix:/a\n"
	    "cache_dir = /c\nbind_dn = $socketmap_listen\nbind_pw = x\n");
	CHECK_STR("$list is the text", c ? c->bind_dn : NULL, "unix:/a");
	cfg_free(c);
	c = parse("$name then text", BASE "bind_dn = $account_base,x\n"
	    "bind_pw = p\n");
	CHECK_STR("$name ends at a comma", c ? c->bind_dn : NULL, "o=x,x");
	cfg_free(c);
	CHECK_STR("$name ends at a non-name character",
	    error_of(BASE "bind_dn = $account_base_x\nbind_pw = p\n"),
	    "t.conf:4: \"$account_base_x\": unknown parameter \"account_base_x\"");
	c = parse("map expansion", BASE "[map m]\nbase = ou=m,$account_base\n"
	    "key = uid mail\nresult = $key\n"
	    "filter = (&(objectClass=x)(cn=$$))\nformat = $(base):%s\n");
	if (c) {
		CHECK_STR("map base from a global", c->maps[0].base, "ou=m,o=x");
		check_list("map result = $key", &c->maps[0].result, "uid|mail");
		CHECK_STR("$$ in a filter", c->maps[0].filter,
		    "(&(objectClass=x)(cn=$))");
		CHECK_STR("map's own earlier parameter", c->maps[0].format,
		    "ou=m,o=x:%s");
	}
	cfg_free(c);
}

static void
test_duplicates(void)
{
	struct cfg *c;

	c = parse("duplicates", BASE "refresh = 1\nrefresh = 2\n"
	    "refresh = 3\n");
	CHECK("later value wins", c && c->refresh == 3);
	CHECK("two warnings", c && c->warnings.n == 2);
	if (c && c->warnings.n == 2) {
		CHECK_STR("first warning", c->warnings.v[0],
		    "t.conf:5: parameter refresh overrides the one at line 4");
		CHECK_STR("second warning", c->warnings.v[1],
		    "t.conf:6: parameter refresh overrides the one at line 5");
	}
	cfg_free(c);
	c = parse("duplicate list", "ldap_uri = ldap://a ldap://b\n"
	    "ldap_uri = ldap://c\naccount_base = o=x\ndomain_base = o=d\n");
	if (c) {
		check_list("later list replaces", &c->ldap_uri, "ldap://c");
		CHECK("list duplicate warned", c->warnings.n == 1);
		CHECK_STR("list duplicate warning", c->warnings.n ?
		    c->warnings.v[0] : NULL,
		    "t.conf:2: parameter ldap_uri overrides the one at line 1");
	}
	cfg_free(c);
	c = parse("default then value", BASE "refresh = 60\n");
	CHECK("setting a default is no duplicate", c && c->warnings.n == 0);
	cfg_free(c);
	c = parse("duplicate in a map", BASE "[map m]\nkey = uid\nkey = cn\n"
	    "result = cn\n[map n]\nkey = uid\nresult = cn\n");
	if (c) {
		check_list("map later key wins", &c->maps[0].key, "cn");
		CHECK("one map warning", c->warnings.n == 1);
		CHECK_STR("map warning", c->warnings.n ? c->warnings.v[0] : NULL,
		    "t.conf:6: parameter key overrides the one at line 5");
	}
	cfg_free(c);
	c = parse("continued duplicate", BASE "refresh = 1\nrefresh =\n  2\n");
	CHECK_STR("warning names logical lines", c && c->warnings.n ?
	    c->warnings.v[0] : NULL,
	    "t.conf:5: parameter refresh overrides the one at line 4");
	cfg_free(c);
}

static void
test_maps(void)
{
	const struct cfg_map *m;
	struct cfg *c;

	c = parse("full map", BASE "profile = none\n"
	    "tcp_listen = transport=inet:127.0.0.1:10002\n"
	    "[map transport]\n"
	    "base = ou=hosts,$account_base\n"
	    "scope = one\n"
	    "filter = (&(objectClass=qmailUser)(mailHost=*)(!(cn=a\\2a)))\n"
	    "key = mail, mailAlternateAddress 1.3.6.1.4.1.7914.1.2.1.1\n"
	    "result = mailHost\n"
	    "format = smtp:[%s]\n"
	    "kind = plain\n"
	    "catchall = no\n"
	    "single = yes\n");
	CHECK("full map: one user map", c && c->n_maps == 1 &&
	    c->builtin_maps == 0);
	m = c ? cfg_map_find(c, "transport", 9) : NULL;
	CHECK("full map found", m != NULL);
	if (m != NULL) {
		CHECK_STR("full map name", m->name, "transport");
		CHECK_STR("full map base", m->base, "ou=hosts,o=x");
		CHECK("full map scope one", m->scope == CFG_SCOPE_ONE);
		CHECK_STR("full map filter", m->filter,
		    "(&(objectClass=qmailUser)(mailHost=*)(!(cn=a\\2a)))");
		check_list("full map key", &m->key,
		    "mail|mailAlternateAddress|1.3.6.1.4.1.7914.1.2.1.1");
		check_list("full map result", &m->result, "mailHost");
		CHECK_STR("full map format", m->format, "smtp:[%s]");
		CHECK("full map kind plain", m->kind == CFG_KIND_PLAIN);
		CHECK("full map catchall no", m->catchall == 0);
		CHECK("full map single yes", m->single == 1);
		CHECK_STR("full map file", m->file, "t.conf");
		CHECK("full map line", m->line == 6);
	}
	CHECK("tcp_listen serves it", c && c->n_tcp_listen == 1 &&
	    strcmp(c->tcp_listen[0].map, "transport") == 0);
	cfg_free(c);

	c = parse("map defaults", BASE "profile = none\n" MAP_M);
	m = c ? cfg_map_find(c, "m", 1) : NULL;
	CHECK("map defaults found", m != NULL);
	if (m != NULL) {
		CHECK_STR("map default base", m->base, "o=x");
		CHECK("map default scope", m->scope == CFG_SCOPE_SUB);
		CHECK_STR("map default filter", m->filter, "(objectClass=*)");
		CHECK_STR("map default format", m->format, "%s");
		CHECK("map default kind", m->kind == CFG_KIND_ADDRESS);
		CHECK("map default catchall", m->catchall == 0);
		CHECK("map default single", m->single == 0);
		CHECK("no built-in maps", c->n_maps == 1 && !c->builtin_maps &&
		    cfg_map_find(c, "alias", 5) == NULL);
	}
	cfg_free(c);

	c = parse("domain_base not needed with maps",
	    "ldap_uri = ldap://h\naccount_base = o=x\nprofile = none\n"
	    MAP_M);
	CHECK("maps without domain_base", c && c->domain_base == NULL);
	cfg_free(c);

	c = parse("domain map result defaults to key", BASE
	    "profile = none\n[map d]\n"
	    "base = $domain_base\nkey = associatedDomain dc\nkind = Domain\n"
	    "[ map  a.b-c_9 ]\nkey = mail\nresult = mail\ncatchall = yes\n");
	if (c && c->n_maps == 2) {
		check_list("domain map result = key", &c->maps[0].result,
		    "associatedDomain|dc");
		CHECK("kind case-insensitive", c->maps[0].kind ==
		    CFG_KIND_DOMAIN);
		CHECK_STR("header with blanks", c->maps[1].name, "a.b-c_9");
		CHECK("catchall yes", c->maps[1].catchall == 1);
		CHECK("second map line", c->maps[1].line == 9);
	}
	cfg_free(c);

	c = parse("scopes", BASE "[map a]\nscope = base\nkey = a\nresult = a\n"
	    "format = 100%%:%s\n[map b]\nscope = ONE\nkey = a\nresult = a\n");
	CHECK("scope base", c && c->maps[0].scope == CFG_SCOPE_BASE);
	CHECK("scope ONE", c && c->maps[1].scope == CFG_SCOPE_ONE);
	CHECK_STR("format with %%", c ? c->maps[0].format : NULL, "100%%:%s");
	cfg_free(c);

	c = parse("64-char map name", BASE "[map "
	    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd]\n"
	    "key = a\nresult = a\n");
	CHECK("64-char map name", c && strlen(c->maps[0].name) == 64);
	cfg_free(c);
}

/* ---- files ------------------------------------------------------------- */

static char tmpdir[] = "/tmp/t_cfg.XXXXXX";

static void
write_file(const char *name, const char *text, mode_t mode, char *path,
    size_t pathsz)
{
	int fd;

	snprintf(path, pathsz, "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(path);
		exit(1);
	}
	fchmod(fd, mode);
	close(fd);
}

/* Run cfg_bind_password() with stderr captured into *log. */
static int
bind_password(const struct cfg *c, char **pw, char *err, size_t errsz,
    char *log, size_t logsz)
{
	char path[256];
	int saved, fd, r;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	r = cfg_bind_password(c, pw, err, errsz);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, log, logsz - 1);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return r;
}

static void
test_files(void)
{
	char path[256], pwpath[256], cpath[256], text[1024], err[512],
	    log[1024], want[1200];
	struct cfg *c;
	char *pw;
	int r;

	if (mkdtemp(tmpdir) == NULL) {
		CHECK("mkdtemp", 0);
		return;
	}

	snprintf(path, sizeof(path), "%s/none.conf", tmpdir);
	c = cfg_load(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: cannot open: No such file or "
	    "directory", path);
	CHECK_STR("load missing file", c == NULL ? err : "(loaded)", want);

	c = cfg_load(tmpdir, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", tmpdir);
	CHECK_STR("load a directory", c == NULL ? err : "(loaded)", want);

	write_file("bad.conf", BASE "refresh = x\n", 0600, path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:4: refresh: \"x\" is not a decimal "
	    "number", path);
	CHECK_STR("load: error names the file", c == NULL ? err : "(loaded)",
	    want);

	write_file("ok.conf", BASE "bind_dn = cn=a\nbind_pw = s\n", 0600, path,
	    sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	CHECK("load a good file", c != NULL);
	CHECK_STR("load: cfg->file", c ? c->file : NULL, path);
	CHECK("load: private file, no warning", c && c->warnings.n == 0);
	r = c ? bind_password(c, &pw, err, sizeof(err), log, sizeof(log)) : -1;
	CHECK_STR("bind_pw returned", r == 0 ? pw : NULL, "s");
	if (r == 0)
		free(pw);
	cfg_free(c);

	write_file("open.conf", BASE "bind_dn = cn=a\nbind_pw = s\n", 0644,
	    path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: bind_pw is set in a file readable by "
	    "others (use bind_pw_file, mode 0640)", path);
	CHECK_STR("load: bind_pw in a world-readable file warns",
	    c && c->warnings.n == 1 ? c->warnings.v[0] : NULL, want);
	cfg_free(c);

	c = parse("anonymous", BASE);
	pw = (char *)"x";
	r = c ? cfg_bind_password(c, &pw, err, sizeof(err)) : -1;
	CHECK("anonymous: no password", r == 0 && pw == NULL);
	cfg_free(c);

	struct {
		const char *name, *content, *want;
	} pwcases[] = {
		{ "pw with LF", "secret\n", "secret" },
		{ "pw with CRLF", "secret\r\n", "secret" },
		{ "pw without newline", "secret", "secret" },
		{ "pw: only one newline dropped", "secret\n\n", "secret\n" },
		{ "pw with blanks kept", " sec ret \n", " sec ret " },
	};
	for (size_t i = 0; i < sizeof(pwcases) / sizeof(pwcases[0]); i++) {
		write_file("bind.pw", pwcases[i].content, 0600, pwpath,
		    sizeof(pwpath));
		snprintf(text, sizeof(text), BASE "bind_dn = cn=a\n"
		    "bind_pw_file = %s\n", pwpath);
		c = parse(pwcases[i].name, text);
		r = c ? bind_password(c, &pw, err, sizeof(err), log,
		    sizeof(log)) : -1;
		CHECK_STR(pwcases[i].name, r == 0 ? pw : err, pwcases[i].want);
		CHECK("private pw file: nothing logged", log[0] == '\0');
		if (r == 0)
			free(pw);
		cfg_free(c);
	}

	/* Readable by others: refused, unless bind_pw_file_readable. */
	write_file("bind.pw", "secret\n", 0644, pwpath, sizeof(pwpath));
	snprintf(text, sizeof(text), BASE "bind_dn = cn=a\nbind_pw_file = %s\n",
	    pwpath);
	c = parse("readable pw file", text);
	r = c ? bind_password(c, &pw, err, sizeof(err), log, sizeof(log)) : 0;
	snprintf(want, sizeof(want), "t.conf:5: bind_pw_file %s is readable by "
	    "others (mode 0644): refused (chmod o-r, or set "
	    "bind_pw_file_readable = yes)", pwpath);
	CHECK_STR("readable pw file refused at bind", r == -1 ? err : "(read)",
	    want);
	CHECK("readable pw file refused: nothing logged", log[0] == '\0');
	CHECK("readable pw file refused: no password", r != 0 || pw == NULL);
	cfg_free(c);

	snprintf(text, sizeof(text), BASE "bind_dn = cn=a\nbind_pw_file = %s\n"
	    "bind_pw_file_readable = yes\n", pwpath);
	c = parse("readable pw file allowed", text);
	CHECK("bind_pw_file_readable = yes parsed",
	    c && c->bind_pw_file_readable == 1);
	r = c ? bind_password(c, &pw, err, sizeof(err), log, sizeof(log)) : -1;
	CHECK_STR("readable pw file allowed: used", r == 0 ? pw : err,
	    "secret");
	if (r == 0)
		free(pw);
	snprintf(want, sizeof(want), "warning: t.conf:5: bind_pw_file %s is "
	    "readable by others (mode 0644)\n", pwpath);
	CHECK("readable pw file allowed: warning logged",
	    strstr(log, want) != NULL);
	cfg_free(c);

	/* The same at cfg_load, naming the file and the line. */
	snprintf(text, sizeof(text), BASE "bind_dn = cn=a\nbind_pw_file = %s\n",
	    pwpath);
	write_file("pwro.conf", text, 0600, path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:5: bind_pw_file %s is readable by "
	    "others (mode 0644): refused (chmod o-r, or set "
	    "bind_pw_file_readable = yes)", path, pwpath);
	CHECK_STR("load: readable pw file refused", c == NULL ? err :
	    "(loaded)", want);
	cfg_free(c);
	snprintf(text, sizeof(text), BASE "bind_dn = cn=a\n"
	    "bind_pw_file_readable = yes\nbind_pw_file = %s\n", pwpath);
	write_file("pwro.conf", text, 0600, path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:6: bind_pw_file %s is readable by "
	    "others (mode 0644)", path, pwpath);
	CHECK_STR("load: readable pw file allowed, a warning",
	    c && c->warnings.n == 1 ? c->warnings.v[0] : err, want);
	cfg_free(c);
	write_file("bind.pw", "secret\n", 0640, pwpath, sizeof(pwpath));
	snprintf(text, sizeof(text), BASE "bind_dn = cn=a\nbind_pw_file = %s\n",
	    pwpath);
	write_file("pwro.conf", text, 0600, path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	CHECK("load: pw file 0640, no warning", c && c->warnings.n == 0);
	cfg_free(c);
	snprintf(text, sizeof(text), BASE "bind_dn = cn=a\nbind_pw_file = "
	    "%s/later\n", tmpdir);
	write_file("pwro.conf", text, 0600, path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	CHECK("load: pw file not there yet is left to the bind",
	    c && c->warnings.n == 0);
	cfg_free(c);

	/* A symlink counts as its target. */
	snprintf(path, sizeof(path), "%s/pw.link", tmpdir);
	unlink(path);
	if (symlink(pwpath, path) != 0)
		perror(path);
	snprintf(text, sizeof(text), BASE "bind_dn = cn=a\nbind_pw_file = %s\n",
	    path);
	c = parse("pw file through a symlink", text);
	r = c ? bind_password(c, &pw, err, sizeof(err), log, sizeof(log)) : -1;
	CHECK_STR("pw file through a symlink to a 0640 file", r == 0 ? pw : err,
	    "secret");
	if (r == 0)
		free(pw);
	chmod(pwpath, 0604);
	r = c ? bind_password(c, &pw, err, sizeof(err), log, sizeof(log)) : 0;
	snprintf(want, sizeof(want), "t.conf:5: bind_pw_file %s is readable by "
	    "others (mode 0604): refused (chmod o-r, or set "
	    "bind_pw_file_readable = yes)", path);
	CHECK_STR("symlink to a file others read: refused", r == -1 ? err :
	    "(read)", want);
	cfg_free(c);
	unlink(path);

	/* A FIFO: refused at once, not read (that would wait forever). */
	snprintf(path, sizeof(path), "%s/pw.fifo", tmpdir);
	unlink(path);
	if (mkfifo(path, 0600) != 0)
		perror(path);
	snprintf(text, sizeof(text), BASE "bind_dn = cn=a\nbind_pw_file = %s\n",
	    path);
	c = parse("pw file is a FIFO", text);
	r = c ? bind_password(c, &pw, err, sizeof(err), log, sizeof(log)) : 0;
	snprintf(want, sizeof(want), "t.conf:5: bind_pw_file %s: not a regular "
	    "file", path);
	CHECK_STR("pw file is a FIFO: refused without blocking", r == -1 ? err :
	    "(read)", want);
	cfg_free(c);
	write_file("pwro.conf", text, 0600, cpath, sizeof(cpath));
	c = cfg_load(cpath, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:5: bind_pw_file %s: not a regular "
	    "file", cpath, path);
	CHECK_STR("load: pw file is a FIFO", c == NULL ? err : "(loaded)",
	    want);
	cfg_free(c);
	unlink(path);
	unlink(cpath);
	snprintf(text, sizeof(text), BASE "bind_dn = cn=a\nbind_pw_file = %s\n",
	    pwpath);

	write_file("bind.pw", "", 0600, pwpath, sizeof(pwpath));
	c = parse("empty pw file", text);
	r = c ? bind_password(c, &pw, err, sizeof(err), log, sizeof(log)) : 0;
	snprintf(want, sizeof(want), "bind_pw_file %s is empty", pwpath);
	CHECK_STR("empty pw file", r == -1 ? err : "(read)", want);
	write_file("bind.pw", "\n", 0600, pwpath, sizeof(pwpath));
	r = c ? bind_password(c, &pw, err, sizeof(err), log, sizeof(log)) : 0;
	CHECK_STR("pw file with only a newline", r == -1 ? err : "(read)",
	    want);
	cfg_free(c);

	snprintf(text, sizeof(text), BASE "bind_dn = cn=a\nbind_pw_file = "
	    "%s/nope\n", tmpdir);
	c = parse("missing pw file", text);
	r = c ? bind_password(c, &pw, err, sizeof(err), log, sizeof(log)) : 0;
	snprintf(want, sizeof(want), "bind_pw_file %s/nope: cannot open: No "
	    "such file or directory", tmpdir);
	CHECK_STR("missing pw file", r == -1 ? err : "(read)", want);
	cfg_free(c);

	snprintf(text, sizeof(text), BASE "bind_dn = cn=a\nbind_pw_file = "
	    "%s\n", tmpdir);
	c = parse("pw file is a directory", text);
	r = c ? bind_password(c, &pw, err, sizeof(err), log, sizeof(log)) : 0;
	snprintf(want, sizeof(want), "t.conf:5: bind_pw_file %s: not a "
	    "regular file", tmpdir);
	CHECK_STR("pw file is a directory", r == -1 ? err : "(read)", want);
	cfg_free(c);

	unlink(pwpath);
	snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ok.conf", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/open.conf", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

/* ---- SASL EXTERNAL and client certificates (issue 14) ------------------ */

#define LDAPI "ldap_uri = ldapi://%2Frun%2Fslapd%2Fldapi\naccount_base = o=x\n" \
	"domain_base = o=d\n"
#define CERT "tls_cert_file = /c.pem\ntls_key_file = /c.key\n"

/* cfg_load's error for path, or "(loaded)". */
static const char *
load_error(const char *path)
{
	struct cfg *c = cfg_load(path, errbuf, sizeof(errbuf));

	if (c == NULL)
		return errbuf;
	cfg_free(c);
	return "(loaded)";
}

static void
test_sasl(void)
{
	static const struct {
		const char *name, *text, *want;
	} cases[] = {
		{ "sasl_mech GSSAPI", BASE "sasl_mech = GSSAPI\n",
		  "t.conf:4: sasl_mech: \"GSSAPI\" is not supported (only "
		  "EXTERNAL; leave it unset for a simple bind with bind_dn)" },
		{ "sasl_mech PLAIN", BASE "sasl_mech = PLAIN\n",
		  "t.conf:4: sasl_mech: \"PLAIN\" is not supported (only "
		  "EXTERNAL; leave it unset for a simple bind with bind_dn)" },
		{ "sasl_authz_id without prefix", LDAPI "sasl_mech = EXTERNAL\n"
		  "sasl_authz_id = ou=System,o=x\n",
		  "t.conf:5: sasl_authz_id: \"ou=System,o=x\" must start with "
		  "\"dn:\" or \"u:\"" },
		{ "sasl_authz_id without sasl_mech",
		  LDAPI "sasl_authz_id = dn:ou=System,o=x\n",
		  "t.conf:4: sasl_authz_id is set but sasl_mech is not" },
		{ "sasl_mech with bind_pw", LDAPI "sasl_mech = EXTERNAL\n"
		  "bind_pw = s\n",
		  "t.conf:5: bind_pw is set but sasl_mech = EXTERNAL binds "
		  "without a password (sasl_mech at line 4)" },
		{ "sasl_mech with bind_pw_file", LDAPI "bind_pw_file = /pw\n"
		  "sasl_mech = EXTERNAL\n",
		  "t.conf:4: bind_pw_file is set but sasl_mech = EXTERNAL "
		  "binds without a password (sasl_mech at line 5)" },
		{ "sasl_mech with bind_dn", LDAPI "sasl_mech = EXTERNAL\n"
		  "bind_dn = ou=System,o=x\n",
		  "t.conf:5: bind_dn is set but sasl_mech = EXTERNAL takes the "
		  "identity from the connection (sasl_mech at line 4; "
		  "sasl_authz_id = dn:... asks for another DN)" },
		{ "sasl_mech over plain ldap://", BASE "sasl_mech = EXTERNAL\n",
		  "t.conf:4: sasl_mech = EXTERNAL over \"ldap://127.0.0.1\" "
		  "needs TLS and a client certificate (tls = starttls, "
		  "tls_cert_file, tls_key_file), or an ldapi:// URI" },
		{ "sasl_mech over StartTLS without a certificate",
		  BASE "tls = starttls\nsasl_mech = EXTERNAL\n",
		  "t.conf:5: sasl_mech = EXTERNAL over \"ldap://127.0.0.1\" "
		  "needs a client certificate (tls_cert_file, tls_key_file); "
		  "without one it works over ldapi:// only" },
		{ "sasl_mech: ldapi then plain ldap://",
		  "ldap_uri = ldapi:/// ldap://b\naccount_base = o=x\n"
		  "domain_base = o=d\nsasl_mech = EXTERNAL\n",
		  "t.conf:4: sasl_mech = EXTERNAL over \"ldap://b\" needs TLS "
		  "and a client certificate (tls = starttls, tls_cert_file, "
		  "tls_key_file), or an ldapi:// URI" },
		{ "sasl_mech over ldaps:// without a certificate",
		  "ldap_uri = ldaps://b\naccount_base = o=x\ndomain_base = o=d\n"
		  "sasl_mech = EXTERNAL\n",
		  "t.conf:4: sasl_mech = EXTERNAL over \"ldaps://b\" needs a "
		  "client certificate (tls_cert_file, tls_key_file); without "
		  "one it works over ldapi:// only" },
		{ "tls_cert_file without tls_key_file",
		  BASE "tls = starttls\ntls_cert_file = /c.pem\n",
		  "t.conf:5: tls_cert_file is set but tls_key_file is not" },
		{ "tls_key_file without tls_cert_file",
		  BASE "tls = starttls\ntls_key_file = /c.key\n",
		  "t.conf:5: tls_key_file is set but tls_cert_file is not" },
		{ "tls_cert_file without TLS", BASE CERT,
		  "t.conf:4: tls_cert_file needs TLS (tls = starttls or ldaps, "
		  "or an ldaps:// URI)" },
		{ "tls_cert_file relative", BASE "tls_cert_file = c.pem\n",
		  "t.conf:4: tls_cert_file: \"c.pem\" is not an absolute path" },
		{ "tls_key_file relative", BASE "tls_key_file = c.key\n",
		  "t.conf:4: tls_key_file: \"c.key\" is not an absolute path" },
		/* accepted */
		{ "EXTERNAL over ldapi", LDAPI "sasl_mech = EXTERNAL\n",
		  "(parsed)" },
		{ "EXTERNAL in lower case", LDAPI "sasl_mech = external\n",
		  "(parsed)" },
		{ "EXTERNAL with an authz id", LDAPI "sasl_mech = EXTERNAL\n"
		  "sasl_authz_id = u:ldapmail\n", "(parsed)" },
		{ "EXTERNAL over StartTLS with a certificate",
		  BASE "tls = starttls\nsasl_mech = EXTERNAL\n" CERT,
		  "(parsed)" },
		{ "EXTERNAL over ldaps:// and ldapi:// with a certificate",
		  "ldap_uri = ldaps://a ldapi:///\naccount_base = o=x\n"
		  "domain_base = o=d\nsasl_mech = EXTERNAL\n" CERT, "(parsed)" },
		{ "a certificate with a simple bind", BASE "tls = starttls\n"
		  "bind_dn = cn=a\nbind_pw = s\n" CERT, "(parsed)" },
		{ "empty sasl_mech is unset", BASE "sasl_mech =\n"
		  "sasl_authz_id =\n", "(parsed)" },
	};
	char dir[] = "/tmp/t_cfg_sasl.XXXXXX", conf[300], cert[300],
	    key[300], text[1200], err[1024], want[1400];
	struct cfg *c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(cases[i].name, error_of(cases[i].text),
		    cases[i].want);

	c = parse("sasl fields", LDAPI "sasl_mech = external\n"
	    "sasl_authz_id = dn:ou=System,o=x\n");
	CHECK_STR("sasl_mech is stored as EXTERNAL", c ? c->sasl_mech : NULL,
	    "EXTERNAL");
	CHECK_STR("sasl_authz_id stored", c ? c->sasl_authz_id : NULL,
	    "dn:ou=System,o=x");
	CHECK("no certificate", c && !c->tls_cert_file && !c->tls_key_file);
	cfg_free(c);
	c = parse("defaults", BASE);
	CHECK("sasl_mech, sasl_authz_id, tls_cert_file, tls_key_file: "
	    "unset by default", c && !c->sasl_mech && !c->sasl_authz_id &&
	    !c->tls_cert_file && !c->tls_key_file);
	CHECK("no client files: nothing to check",
	    c && cfg_tls_client_files(c, err, sizeof(err)) == 0);
	cfg_free(c);

	/* cfg_load opens both files and refuses a key others can read. */
	if (mkdtemp(dir) == NULL) {
		CHECK("mkdtemp", 0);
		return;
	}
	snprintf(conf, sizeof(conf), "%s/s.conf", dir);
	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/c.key", dir);
	snprintf(text, sizeof(text), BASE "tls = starttls\n"
	    "sasl_mech = EXTERNAL\ntls_cert_file = %s\ntls_key_file = %s\n",
	    cert, key);
	{
		int fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || write(fd, text, strlen(text)) !=
		    (ssize_t)strlen(text)) {
			CHECK("write the config", 0);
			return;
		}
		close(fd);
	}
	snprintf(want, sizeof(want), "%s:6: tls_cert_file %s: cannot open: "
	    "No such file or directory", conf, cert);
	CHECK_STR("load: missing tls_cert_file", load_error(conf), want);
	close(open(cert, O_WRONLY | O_CREAT, 0644));
	snprintf(want, sizeof(want), "%s:7: tls_key_file %s: cannot open: "
	    "No such file or directory", conf, key);
	CHECK_STR("load: missing tls_key_file", load_error(conf), want);
	close(open(key, O_WRONLY | O_CREAT, 0644));
	chmod(key, 0644);
	snprintf(want, sizeof(want), "%s:7: tls_key_file %s is readable by "
	    "others (mode 0644): refused (chmod o-r)", conf, key);
	CHECK_STR("load: a key others can read is refused", load_error(conf),
	    want);
	chmod(key, 0640);
	c = cfg_load(conf, err, sizeof(err));
	CHECK_STR("load: key 0640, certificate 0644: accepted",
	    c ? "(loaded)" : err, "(loaded)");
	CHECK("load: the lines are kept for messages",
	    c && c->tls_cert_file_line == 6 && c->tls_key_file_line == 7);
	cfg_free(c);
	unlink(key);
	mkdir(key, 0700);
	snprintf(want, sizeof(want), "%s:7: tls_key_file %s: not a regular "
	    "file", conf, key);
	CHECK_STR("load: a key that is a directory is refused",
	    load_error(conf), want);
	rmdir(key);
	unlink(cert);
	unlink(conf);
	rmdir(dir);
}


/* ---- profiles ---------------------------------------------------------- */

/* "name:base:filter:key:result:format" of every map, in order. */
static void
check_maps(const char *name, const struct cfg *c, const char *want)
{
	char got[4096];
	size_t n = 0;

	got[0] = '\0';
	for (size_t i = 0; c != NULL && i < c->n_maps; i++) {
		const struct cfg_map *m = &c->maps[i];
		int r = snprintf(got + n, sizeof(got) - n, "%s%s%s", n ? " " :
		    "", m->name, m->builtin ? "*" : "");

		if (r < 0 || (size_t)r >= sizeof(got) - n)
			break;
		n += (size_t)r;
	}
	CHECK_STR(name, got, want);
}

static void
test_profiles(void)
{
	const struct cfg_map *m;
	struct cfg *c;

	c = parse("howto plus a map", BASE MAP_M);
	check_maps("howto: [map] adds", c, "m domain* alias* mailbox*");
	CHECK("howto: 3 built-in", c && c->builtin_maps == 3);
	cfg_free(c);

	c = parse("howto, alias replaced", BASE "[map alias]\nkey = uid\n"
	    "result = cn\n");
	check_maps("howto: [map alias] replaces", c, "alias domain* mailbox*");
	m = c ? cfg_map_find(c, "alias", 5) : NULL;
	CHECK("replaced alias is the section's", m && !m->builtin &&
	    m->line == 4 && strcmp(m->key.v[0], "uid") == 0);
	cfg_free(c);

	c = parse("none", BASE "profile = none\n" MAP_M);
	check_maps("none: only the sections", c, "m");
	cfg_free(c);
	CHECK_STR("none and no map",
	    error_of(BASE "profile = none\n"), "(parsed)");

	c = parse("jamm", BASE "profile = jamm\n");
	check_maps("jamm maps", c, "domain* transport* alias* mailbox*");
	m = c ? cfg_map_find(c, "alias", 5) : NULL;
	CHECK("jamm alias: catch-all, first attribute", m && m->catchall &&
	    m->values == CFG_VALUES_FIRST_ATTRIBUTE);
	if (m != NULL) {
		check_list("jamm alias result", &m->result, "maildrop|mail");
		CHECK_STR("jamm alias filter", m->filter,
		    "(&(|(objectClass=JammMailAlias)(objectClass=JammMailAccount"
		    "))(accountActive=TRUE)(!(delete=TRUE)))");
	}
	m = c ? cfg_map_find(c, "transport", 9) : NULL;
	CHECK("jamm transport on domain_base", m && m->kind ==
	    CFG_KIND_DOMAIN && strcmp(m->base, "o=d") == 0);
	cfg_free(c);

	c = parse("ox", BASE "profile = ox\n");
	check_maps("ox maps", c, "domain* alias* mailbox*");
	m = c ? cfg_map_find(c, "domain", 6) : NULL;
	CHECK("ox domain: domains of the addresses", m && m->key_domain &&
	    strcmp(m->base, "o=x") == 0);
	cfg_free(c);

	c = parse("apple", "ldap_uri = ldap://h\naccount_base = o=x\n"
	    "profile = apple\nlocal_domains = Example.ORG., b.example\n");
	check_maps("apple maps, no domain_base needed", c,
	    "domain* alias* mailbox*");
	check_list("local_domains lowercase, no dot", c ? &c->local_domains :
	    NULL, "example.org|b.example");
	m = c ? cfg_map_find(c, "mailbox", 7) : NULL;
	CHECK("apple mailbox", m && m->short_names && m->single &&
	    m->apple == CFG_APPLE_ENABLED && m->values == CFG_VALUES_FIRST);
	if (m != NULL)
		check_list("apple mailbox qualifies", &m->qualify,
		    "example.org|b.example");
	CHECK("apple: no warning", c && c->warnings.n == 0);
	cfg_free(c);

	c = parse("apple without local_domains", BASE "profile = apple\n");
	CHECK_STR("apple: short names warned", c && c->warnings.n ?
	    c->warnings.v[0] : NULL, "t.conf: map domain has short names but "
	    "local_domains is empty: names without \"@\" answer nothing");
	cfg_free(c);

	CHECK_STR("unknown profile", error_of(BASE "profile = qmail\n"),
	    "t.conf:4: profile: \"qmail\" must be one of howto, jamm, ox, "
	    "apple, none");
	CHECK_STR("bad local domain", error_of(BASE "local_domains = a..b\n"),
	    "t.conf:4: local_domains: \"a..b\" is not a domain name");
	CHECK_STR("bad local domain char",
	    error_of(BASE "local_domains = a/b\n"),
	    "t.conf:4: local_domains: \"a/b\" is not a domain name");
	CHECK_STR("key_domain needs domain", error_of(BASE MAP_M
	    "key_domain = yes\n"), "t.conf:7: [map m]: key_domain needs "
	    "kind = domain");
	CHECK_STR("apple_mail needs address", error_of(BASE MAP_M
	    "kind = plain\napple_mail = enabled\n"), "t.conf:8: [map m]: "
	    "apple_mail needs kind = address");
	CHECK_STR("apple_mail values", error_of(BASE MAP_M
	    "apple_mail = on\n"), "t.conf:7: apple_mail: \"on\" must be one "
	    "of no, enabled, forward");
	CHECK_STR("result_values values", error_of(BASE MAP_M
	    "result_values = some\n"), "t.conf:7: result_values: \"some\" "
	    "must be one of all, first_attribute, first");
	c = parse("map flags", BASE "profile = none\n" MAP_M
	    "short_names = yes\nresult_values = first_attribute\n"
	    "apple_mail = forward\n");
	m = c ? cfg_map_find(c, "m", 1) : NULL;
	CHECK("map flags set", m && m->short_names && m->values ==
	    CFG_VALUES_FIRST_ATTRIBUTE && m->apple == CFG_APPLE_FORWARD);
	cfg_free(c);
}

int
main(void)
{
	test_defaults();
	test_errors();
	test_limits();
	test_values();
	test_lists();
	test_continuation();
	test_expansion();
	test_duplicates();
	test_maps();
	test_profiles();
	test_files();
	test_sasl();
	return unit_done();
}
