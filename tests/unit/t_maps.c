/*
 * t_maps: the key walk and the answer rules of lookupd/maps.c, as case
 * tables.  Configurations come from the real parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "lookupd/maps.h"
#include "unit.h"

static const char base_cfg[] =
    "ldap_uri = ldap://127.0.0.1:1\n"
    "account_base = o=x\n"
    "domain_base = o=d\n";

static struct cfg *
parse(const char *extra)
{
	char text[4096], err[512];
	struct cfg *cfg;

	snprintf(text, sizeof(text), "%s%s", base_cfg, extra);
	cfg = cfg_parse(text, strlen(text), "t.conf", err, sizeof(err));
	if (cfg == NULL) {
		printf("# config error: %s\n", err);
		exit(1);
	}
	return cfg;
}

/* The walk as "step|step|..." with a '+' after steps that carry the ext. */
static void
walk_str(const struct cfg *cfg, const char *map, const char *key,
    size_t keylen, struct buf *out)
{
	const struct cfg_map *m = cfg_map_find(cfg, map, strlen(map));
	struct walk w;

	buf_reset(out);
	maps_walk(cfg, m, key, keylen, &w);
	for (size_t i = 0; i < w.n; i++) {
		if (i)
			buf_putc(out, '|');
		buf_append(out, w.step[i], w.steplen[i]);
		if (w.carries_ext[i])
			buf_putc(out, '*');
	}
	maps_walk_free(&w);
}

struct wcase {
	const char *name, *map, *key, *want;
};

static const struct wcase builtin_cases[] = {
	{ "plain address", "alias", "ao@anotherdomain.nu", "ao@anotherdomain.nu" },
	{ "case folded", "alias", "AO@AnotherDomain.NU", "ao@anotherdomain.nu" },
	{ "extension stripped", "alias", "AO+news@AnotherDomain.nu",
	  "ao+news@anotherdomain.nu|ao@anotherdomain.nu*" },
	{ "first delimiter splits", "alias", "a+b+c@d", "a+b+c@d|a@d*" },
	{ "null local part not split", "alias", "+x@d", "+x@d" },
	{ "trailing delimiter", "alias", "a+@d", "a+@d|a@d*" },
	{ "postmaster not split", "alias", "postmaster@d", "postmaster@d" },
	{ "no @: not an address", "alias", "anotherdomain.nu", "" },
	{ "null sender", "alias", "\"\"", "" },
	{ "empty key", "alias", "", "" },
	{ "last @ is the domain", "alias", "\"a@b\"@d", "\"a@b\"@d" },
	{ "quoted with space", "alias", "\"a b\"@d", "\"a b\"@d" },
	{ "star is just a key", "alias", "*@anotherdomain.nu", "*@anotherdomain.nu" },
	{ "domain folded", "domain", "MyDomain.NL", "mydomain.nl" },
	{ "domain trailing dot", "domain", "MyDomain.NL.", "mydomain.nl" },
	{ "domain only dot", "domain", ".", "" },
	{ "domain keeps +", "domain", "a+b.nl", "a+b.nl" },
	{ "mailbox walks too", "mailbox", "x+y@d", "x+y@d|x@d*" },
};

static void
test_builtin(void)
{
	struct cfg *cfg = parse("");
	struct buf got = BUF_INIT;

	for (size_t i = 0; i < sizeof(builtin_cases) / sizeof(builtin_cases[0]); i++) {
		const struct wcase *c = &builtin_cases[i];

		walk_str(cfg, c->map, c->key, strlen(c->key), &got);
		CHECK_MEM(c->name, got.p ? got.p : "", got.len, c->want);
	}
	/* Control bytes: never a key (slapd would match a<NUL>x as a). */
	walk_str(cfg, "alias", "a\0x@d", 5, &got);
	CHECK_MEM("NUL in key", got.p ? got.p : "", got.len, "");
	walk_str(cfg, "alias", "a\r@d", 4, &got);
	CHECK_MEM("CR in key", got.p ? got.p : "", got.len, "");
	walk_str(cfg, "alias", "a\n@d", 4, &got);
	CHECK_MEM("LF in key", got.p ? got.p : "", got.len, "");
	walk_str(cfg, "alias", "a\x7f@d", 4, &got);
	CHECK_MEM("DEL in key", got.p ? got.p : "", got.len, "");
	walk_str(cfg, "domain", "a\tb", 3, &got);
	CHECK_MEM("TAB in domain", got.p ? got.p : "", got.len, "");
	buf_free(&got);
	cfg_free(cfg);
}

static void
test_delimiters(void)
{
	struct cfg *cfg;
	struct buf got = BUF_INIT;

	cfg = parse("recipient_delimiter =\n");
	walk_str(cfg, "alias", "a+b@d", 5, &got);
	CHECK_MEM("no delimiter: no split", got.p, got.len, "a+b@d");
	cfg_free(cfg);

	cfg = parse("recipient_delimiter = +-\n");
	walk_str(cfg, "alias", "a-b@d", 5, &got);
	CHECK_MEM("second delimiter char", got.p, got.len, "a-b@d|a@d*");
	walk_str(cfg, "alias", "owner-list@d", 12, &got);
	CHECK_MEM("owner- kept with -", got.p, got.len, "owner-list@d");
	walk_str(cfg, "alias", "list-request@d", 14, &got);
	CHECK_MEM("-request kept with -", got.p, got.len, "list-request@d");
	walk_str(cfg, "alias", "MAILER-DAEMON@d", 15, &got);
	CHECK_MEM("MAILER-DAEMON kept", got.p, got.len, "mailer-daemon@d");
	cfg_free(cfg);

	cfg = parse("[map alias]\nkey = mail\nresult = mail\ncatchall = yes\n");
	walk_str(cfg, "alias", "U+x@D", 5, &got);
	CHECK_MEM("catchall last, without ext", got.p, got.len,
	    "u+x@d|u@d*|@d");
	walk_str(cfg, "alias", "@d", 2, &got);
	CHECK_MEM("catchall key itself once", got.p, got.len, "@d");
	cfg_free(cfg);

	cfg = parse("[map t]\nkey = jvd\nresult = postfixTransport\n"
	    "kind = domain\ncatchall = yes\n[map d]\nkey = jvd\n"
	    "kind = domain\n");
	walk_str(cfg, "t", "John+x@Hosted.Example.", 22, &got);
	CHECK_MEM("domain catchall: an address by its domain", got.p,
	    got.len, "hosted.example");
	walk_str(cfg, "t", "Hosted.Example", 14, &got);
	CHECK_MEM("domain catchall: the domain itself", got.p, got.len,
	    "hosted.example");
	walk_str(cfg, "t", "john@", 5, &got);
	CHECK_MEM("domain catchall: no domain, no step", got.p, got.len, "");
	walk_str(cfg, "t", "j\x01@h.example", 12, &got);
	CHECK_MEM("domain catchall: a control byte in the local part",
	    got.p, got.len, "");
	walk_str(cfg, "d", "john@hosted.example", 19, &got);
	CHECK_MEM("domain map without catchall: the key as it is", got.p,
	    got.len, "john@hosted.example");
	cfg_free(cfg);

	cfg = parse("[map p]\nkey = uid\nresult = mail\nkind = plain\n");
	walk_str(cfg, "p", "Nines", 5, &got);
	CHECK_MEM("plain: folded only", got.p, got.len, "nines");
	walk_str(cfg, "p", "a+b", 3, &got);
	CHECK_MEM("plain: no extension", got.p, got.len, "a+b");
	cfg_free(cfg);
	buf_free(&got);
}

struct acase {
	const char *name, *map, *key, *value;
	size_t step;
	const char *want;
};

static const struct acase answer_cases[] = {
	{ "exact step unchanged", "alias", "ao+x@d", "real@d", 0, "real@d" },
	{ "ext carried", "alias", "ao+news@d", "real@d", 1, "real+news@d" },
	{ "ext case kept", "alias", "AO+News@d", "real@d", 1, "real+News@d" },
	{ "ext into every address", "alias", "a+x@d", "b@d,c@e", 1,
	  "b+x@d,c+x@e" },
	{ "last @ of item", "alias", "a+x@d", "\"q@r\"@d", 1, "\"q@r\"+x@d" },
	{ "path untouched", "mailbox", "a+x@d", "/vmail/a/Maildir/", 1,
	  "/vmail/a/Maildir/" },
	{ "path with @ untouched", "mailbox", "a+x@d", "/vmail/a@d/", 1,
	  "/vmail/a@d/" },
	{ "no-@ item untouched", "alias", "a+x@d", "local", 1, "local" },
	{ "transport untouched", "alias", "a+x@d", "smtp:[mx@y]", 1,
	  "smtp:[mx@y]" },
	{ "mixed items", "alias", "a+x@d", "b@d,/p/,c@e", 1, "b+x@d,/p/,c+x@e" },
};

static void
test_answer(void)
{
	struct cfg *cfg = parse("");
	struct buf got = BUF_INIT;

	for (size_t i = 0; i < sizeof(answer_cases) / sizeof(answer_cases[0]); i++) {
		const struct acase *c = &answer_cases[i];
		const struct cfg_map *m = cfg_map_find(cfg, c->map,
		    strlen(c->map));
		struct walk w;

		maps_walk(cfg, m, c->key, strlen(c->key), &w);
		buf_reset(&got);
		maps_answer(m, &w, c->step, c->value, strlen(c->value), &got);
		CHECK_MEM(c->name, got.p, got.len, c->want);
		maps_walk_free(&w);
	}
	buf_free(&got);
	cfg_free(cfg);
}

static void
test_filter(void)
{
	struct cfg *cfg = parse("");
	const struct cfg_map *m = cfg_map_find(cfg, "alias", 5);
	struct walk w;
	struct buf f = BUF_INIT;
	const char *key = "x)(mail=*+a@D";

	maps_walk(cfg, m, key, strlen(key), &w);
	maps_live_filter(m, &w, &f);
	CHECK_STR("live filter escapes every step", f.p,
	    "(&(|(accountStatus=active)(accountStatus=shared))"
	    "(|(mail=x\\29\\28mail=\\2a+a@d)(mailAlternateAddress=x\\29\\28mail=\\2a+a@d)"
	    "(mail=x\\29\\28mail=\\2a@d)(mailAlternateAddress=x\\29\\28mail=\\2a@d)))");
	maps_walk_free(&w);
	buf_free(&f);

	{
		const struct cfg_map *ms[2] = { cfg_map_find(cfg, "alias", 5),
		    cfg_map_find(cfg, "mailbox", 7) };
		const char **a = maps_attrs(ms, 2);
		struct buf s = BUF_INIT;

		for (size_t i = 0; a[i]; i++) {
			buf_puts(&s, a[i]);
			buf_putc(&s, ' ');
		}
		CHECK_STR("attrs of alias+mailbox, once each", s.p,
		    "mail mailAlternateAddress mailMessageStore ");
		free(a);
		buf_free(&s);
	}
	cfg_free(cfg);
}

int
main(void)
{
	test_builtin();
	test_delimiters();
	test_answer();
	test_filter();
	return unit_done();
}
