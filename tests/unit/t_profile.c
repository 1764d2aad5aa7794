/*
 * t_profile: what entries of each directory design give to the built-in
 * maps of their profile (lookupd/maps.c's entry rule with short_names,
 * key_domain, result_values and apple_mail), and the live filters that
 * find them.  Configurations come from the real parser; entries are made
 * by hand, as the fixtures hold them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/ldapconn.h"
#include "lookupd/maps.h"
#include "unit.h"

static struct cfg *
parse(const char *extra)
{
	char text[4096], err[512];
	struct cfg *cfg;

	snprintf(text, sizeof(text), "ldap_uri = ldap://127.0.0.1:1\n"
	    "account_base = o=x\ndomain_base = o=d\n%s", extra);
	cfg = cfg_parse(text, strlen(text), "t.conf", err, sizeof(err));
	if (cfg == NULL) {
		printf("# config error: %s\n", err);
		exit(1);
	}
	return cfg;
}

/* "attr=value" lines, one per value, into an entry. */
static struct lentry *
entry(const char *dn, const char *const *av)
{
	struct lentry *e = lentry_new(dn);

	for (; *av != NULL; av++) {
		const char *eq = strchr(*av, '=');
		char attr[64];

		snprintf(attr, sizeof(attr), "%.*s", (int)(eq - *av), *av);
		lentry_add(e, attr, eq + 1, strlen(eq + 1));
	}
	return e;
}

static void
emit(const char *key, size_t klen, const char *val, size_t vlen,
    const char *dn, void *arg)
{
	struct buf *b = arg;

	if (b->len > 0)
		buf_putc(b, ' ');
	buf_append(b, key, klen);
	buf_puts(b, "=>");
	buf_append(b, val, vlen);
}

/* The pairs of map name for the entry, "key=>value ...". */
static void
check_pairs(const char *what, const struct cfg *cfg, const char *map,
    const char *const *av, const char *want, size_t want_bad)
{
	const struct cfg_map *m = cfg_map_find(cfg, map, strlen(map));
	struct lentry *e = entry("uid=x,o=x", av);
	struct buf got = BUF_INIT;
	size_t bad = 0;
	char name[256];

	buf_puts(&got, "");
	maps_entry_pairs(m, e, emit, &got, &bad);
	CHECK_STR(what, got.p, want);
	snprintf(name, sizeof(name), "%s: bad values", what);
	CHECK(name, bad == want_bad);
	buf_free(&got);
	lentry_free(e);
}

static void
check_filter(const char *what, const struct cfg *cfg, const char *map,
    const char *key, const char *want)
{
	const struct cfg_map *m = cfg_map_find(cfg, map, strlen(map));
	struct walk w;
	struct buf f = BUF_INIT;

	maps_walk(cfg, m, key, strlen(key), &w);
	maps_live_filter(m, &w, &f);
	CHECK_STR(what, f.p, want);
	maps_walk_free(&w);
	buf_free(&f);
}

static void
test_jamm(void)
{
	struct cfg *cfg = parse("profile = jamm\n");
	static const char *const acct[] = { "objectClass=JammMailAccount",
	    "mail=John@Example.com", "mailbox=example.com/john/",
	    "accountActive=TRUE", "delete=FALSE", NULL };
	static const char *const alias[] = { "objectClass=JammMailAlias",
	    "mail=info@example.com", "maildrop=john@example.com",
	    "maildrop=ext@other.example", NULL };
	static const char *const dom[] = { "jvd=Example.COM",
	    "postfixTransport=virtual:", NULL };

	check_pairs("jamm account: itself", cfg, "alias", acct,
	    "john@example.com=>John@Example.com", 0);
	check_pairs("jamm account: mailbox", cfg, "mailbox", acct,
	    "john@example.com=>example.com/john/", 0);
	check_pairs("jamm alias: maildrops, not itself", cfg, "alias", alias,
	    "info@example.com=>john@example.com "
	    "info@example.com=>ext@other.example", 0);
	check_pairs("jamm alias: no mailbox", cfg, "mailbox", alias, "", 0);
	check_pairs("jamm domain", cfg, "domain", dom,
	    "example.com=>example.com", 0);
	check_pairs("jamm transport", cfg, "transport", dom,
	    "example.com=>virtual:", 0);
	cfg_free(cfg);
}

static void
test_ox(void)
{
	struct cfg *cfg = parse("profile = ox\n");
	static const char *const alice[] = { "uid=alice",
	    "mail=alice@ox.example.org", "alias=a.smith@ox.example.org",
	    "alias=alice@other.example.net", "mailEnabled=OK", NULL };
	static const char *const bob[] = { "uid=bob", "mail=bob@ox.example.org",
	    "alias=robert@ox.example.org",
	    "colocRouteAddr=bob@store2.ox.example.org", NULL };

	check_pairs("ox alias: the mail", cfg, "alias", alice,
	    "alice@ox.example.org=>alice@ox.example.org "
	    "a.smith@ox.example.org=>alice@ox.example.org "
	    "alice@other.example.net=>alice@ox.example.org", 0);
	check_pairs("ox alias: colocRouteAddr first", cfg, "alias", bob,
	    "bob@ox.example.org=>bob@store2.ox.example.org "
	    "robert@ox.example.org=>bob@store2.ox.example.org", 0);
	check_pairs("ox mailbox: uid/Maildir/", cfg, "mailbox", alice,
	    "alice@ox.example.org=>alice/Maildir/ "
	    "a.smith@ox.example.org=>alice/Maildir/ "
	    "alice@other.example.net=>alice/Maildir/", 0);
	check_pairs("ox domain: every address's domain", cfg, "domain", alice,
	    "ox.example.org=>ox.example.org ox.example.org=>ox.example.org "
	    "other.example.net=>other.example.net", 0);
	check_filter("ox domain: live filter by suffix", cfg, "domain",
	    "Other.Example.NET",
	    "(&(&(objectClass=OXUserObject)(mailEnabled=OK))"
	    "(|(mail=*@other.example.net)(alias=*@other.example.net)))");
	check_filter("ox domain: live filter escapes", cfg, "domain", "a*)(b",
	    "(&(&(objectClass=OXUserObject)(mailEnabled=OK))"
	    "(|(mail=*@a\\2a\\29\\28b)(alias=*@a\\2a\\29\\28b)))");
	cfg_free(cfg);
}

#define PL_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?><dict>" \
	"<key>kAttributeVersion</key><string>Apple Mail 1.0</string>"
#define PL_ENABLED "apple-user-mailattribute=" PL_HEAD \
	"<key>kMailAccountState</key><string>Enabled</string></dict>"
#define PL_FORWARD "apple-user-mailattribute=" PL_HEAD \
	"<key>kAutoForwardValue</key><string>t@elsewhere.example</string>" \
	"<key>kMailAccountState</key><string>Forward</string></dict>"
#define PL_OFF "apple-user-mailattribute=" PL_HEAD \
	"<key>kAutoForwardValue</key><string>t@elsewhere.example</string>" \
	"<key>kMailAccountState</key><string>Off</string></dict>"

static void
test_apple(void)
{
	struct cfg *cfg = parse("profile = apple\n"
	    "local_domains = example.org Mail.Example.NET\n");
	static const char *const jdoe[] = { "uid=JDoe", "uid=john.doe",
	    PL_ENABLED, NULL };
	static const char *const sales[] = { "uid=sales",
	    "uid=sales@virtual.example.com", PL_ENABLED, NULL };
	static const char *const fwd[] = { "uid=fwd", PL_FORWARD, NULL };
	static const char *const off[] = { "uid=off", PL_OFF, NULL };
	static const char *const bad[] = { "uid=bad",
	    "apple-user-mailattribute=<dict><key>kMailAccountState</key>",
	    NULL };
	static const char *const two[] = { "uid=two", PL_ENABLED, PL_ENABLED,
	    NULL };

	check_pairs("apple alias: short names in every local domain", cfg,
	    "alias", jdoe,
	    "jdoe@example.org=>JDoe@example.org "
	    "jdoe@mail.example.net=>JDoe@mail.example.net "
	    "john.doe@example.org=>john.doe@example.org "
	    "john.doe@mail.example.net=>john.doe@mail.example.net", 0);
	check_pairs("apple mailbox: the first short name", cfg, "mailbox",
	    jdoe,
	    "jdoe@example.org=>JDoe/Maildir/ "
	    "jdoe@mail.example.net=>JDoe/Maildir/ "
	    "john.doe@example.org=>JDoe/Maildir/ "
	    "john.doe@mail.example.net=>JDoe/Maildir/", 0);
	check_pairs("apple alias: a virtual host's address as it is", cfg,
	    "alias", sales,
	    "sales@example.org=>sales@example.org "
	    "sales@mail.example.net=>sales@mail.example.net "
	    "sales@virtual.example.com=>sales@virtual.example.com", 0);
	check_pairs("apple domain: local and virtual", cfg, "domain", sales,
	    "example.org=>example.org mail.example.net=>mail.example.net "
	    "virtual.example.com=>virtual.example.com", 0);
	check_pairs("apple forward: the alias answers kAutoForwardValue", cfg,
	    "alias", fwd, "fwd@example.org=>t@elsewhere.example "
	    "fwd@mail.example.net=>t@elsewhere.example", 0);
	check_pairs("apple forward: no mailbox", cfg, "mailbox", fwd, "", 0);
	check_pairs("apple off: no alias", cfg, "alias", off, "", 0);
	check_pairs("apple off: no mailbox", cfg, "mailbox", off, "", 0);
	check_pairs("apple malformed plist: nothing, counted", cfg, "alias",
	    bad, "", 1);
	check_pairs("apple two plists: nothing", cfg, "alias", two, "", 0);
	check_filter("apple alias: live filter asks the short name too", cfg,
	    "alias", "JDoe+x@Example.org",
	    "(&(objectClass=apple-user)(|(uid=jdoe+x@example.org)(uid=jdoe+x)"
	    "(uid=jdoe@example.org)(uid=jdoe)))");
	check_filter("apple alias: not in a local domain", cfg, "alias",
	    "jdoe@virtual.example.com",
	    "(&(objectClass=apple-user)(|(uid=jdoe@virtual.example.com)))");
	check_filter("apple domain: local", cfg, "domain", "example.org",
	    "(&(objectClass=apple-user)(|(uid=*@example.org)"
	    "(&(uid=*)(!(uid=*@*)))))");
	{
		const struct cfg_map *ms[1] = { cfg_map_find(cfg, "alias", 5) };
		const char **a = maps_attrs(ms, 1);

		CHECK("apple attrs read the plist", a[0] && a[1] &&
		    strcmp(a[1], MAPS_APPLE_ATTR) == 0 && a[2] == NULL);
		free(a);
	}
	cfg_free(cfg);
}

int
main(void)
{
	test_jamm();
	test_ox();
	test_apple();
	return unit_done();
}
