/*
 * t_syncapply: sync messages -> key changes (lookupd/syncapply.c) for the
 * built-in alias and mailbox maps (one group: they read the same
 * entries), from the real config parser and maps_entry_pairs: add, a
 * modify that changes keys, one that changes only a result, one that
 * changes nothing a map reads, several values merged, delete, syncIdSet
 * with refreshDeletes TRUE and FALSE (present phase and sweep).
 *
 * A batch is shown as one line per change: "MAP +KEY=VALUE" (add),
 * "MAP ~KEY=VALUE" (replace), "MAP -KEY" (delete: the key found back from
 * its hash among the keys the test knows).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cfg.h"
#include "common/ldapconn.h"
#include "lookupd/syncapply.h"
#include "lookupd/uuidx.h"
#include "unit.h"

static const char conf[] =
    "ldap_uri = ldap://127.0.0.1:1\n"
    "account_base = ou=People,o=x\n"
    "domain_base = o=d\n";

static const char *const known_keys[] = {
	"albert@x.nu", "a@x.nu", "ao@x.nu", "new@x.nu", "seven@x.nu",
	"s9@x.nu", "tt@x.nu", "m2@x.nu", NULL
};

static struct uuidx *ix;
static const char *map_names[2] = { "alias", "mailbox" };

static void
uuid_of(int i, unsigned char *u)
{
	memset(u, 0x11, UUIDX_UUID_LEN);
	u[0] = (unsigned char)i;
}

/* An entry from "attr=value" strings. */
static struct lentry *
entry(const char *dn, const char *const *av)
{
	struct lentry *e = lentry_new(dn);

	for (; *av; av++) {
		const char *eq = strchr(*av, '=');
		char attr[64];

		snprintf(attr, sizeof(attr), "%.*s", (int)(eq - *av), *av);
		lentry_add(e, attr, eq + 1, strlen(eq + 1));
	}
	return e;
}

/* Apply an entry made of av to the group. */
static void
apply(struct syncgroup *g, const unsigned char *uuid, const char *dn,
    const char *const *av, struct keybatch *b)
{
	struct lentry *e = entry(dn, av);

	syncapply_entry(g, uuid, e, b);
	lentry_free(e);
}

static const char *
key_of(uint64_t hash)
{
	for (size_t i = 0; known_keys[i]; i++)
		if (uuidx_key_hash(ix, known_keys[i], strlen(known_keys[i])) ==
		    hash)
			return known_keys[i];
	return "?";
}

/* The batch as text; every hash checked against its key. */
static const char *
show(struct keybatch *b)
{
	static struct buf out;

	buf_reset(&out);
	for (size_t i = 0; i < b->n; i++) {
		const struct keychange *c = &b->v[i];

		if (i)
			buf_putc(&out, '|');
		buf_puts(&out, map_names[c->map]);
		if (c->op == KEYCHANGE_DELETE) {
			buf_printf(&out, " -%s", key_of(c->hash));
			if (c->key)
				buf_puts(&out, "(key?)");
			continue;
		}
		buf_printf(&out, " %c%.*s=%.*s", c->op == KEYCHANGE_ADD ? '+' :
		    '~', (int)c->klen, c->key, (int)c->vlen, c->val);
		if (c->hash != uuidx_key_hash(ix, c->key, c->klen))
			buf_puts(&out, "(bad hash)");
	}
	keybatch_reset(b);
	return buf_str(&out);
}

int
main(void)
{
	char err[512];
	struct cfg *cfg = cfg_parse(conf, strlen(conf), "t.conf", err,
	    sizeof(err));
	const struct cfg_map *maps[2];
	struct keybatch b = KEYBATCH_INIT;
	struct syncgroup *g;
	unsigned char u1[16], u2[16], u3[16], u4[16];
	struct lentry *e;

	if (cfg == NULL) {
		printf("not ok - config (%s)\n", err);
		return 1;
	}
	maps[0] = cfg_map_find(cfg, "alias", 5);
	maps[1] = cfg_map_find(cfg, "mailbox", 7);
	ix = uuidx_new(2, (const unsigned char *)"t_syncapply-key!");
	g = syncgroup_new(maps, 2, ix);
	uuid_of(1, u1);
	uuid_of(2, u2);
	uuid_of(3, u3);
	uuid_of(4, u4);

	/* add */
	e = entry("cn=Albert,ou=People,o=x", (const char *const[]){
	    "mail=Albert@X.nu", "mailAlternateAddress=a@x.nu",
	    "mailAlternateAddress=ao@x.nu", "accountStatus=active",
	    "mailMessageStore=/vmail/albert/", NULL });
	syncapply_entry(g, u1, e, &b);
	lentry_free(e);
	CHECK_STR("add: every key of both maps", show(&b),
	    "alias +albert@x.nu=Albert@X.nu|alias +a@x.nu=Albert@X.nu|"
	    "alias +ao@x.nu=Albert@X.nu|mailbox +albert@x.nu=/vmail/albert/|"
	    "mailbox +a@x.nu=/vmail/albert/|mailbox +ao@x.nu=/vmail/albert/");
	CHECK("add: indexed", uuidx_count(ix) == 1);

	/* a modify of something no map reads: nothing */
	e = entry("cn=Albert,ou=People,o=x", (const char *const[]){
	    "mail=Albert@X.nu", "mailAlternateAddress=a@x.nu",
	    "mailAlternateAddress=ao@x.nu", "accountStatus=active",
	    "mailMessageStore=/vmail/albert/", "description=new desk", NULL });
	syncapply_entry(g, u1, e, &b);
	lentry_free(e);
	CHECK_STR("modify, nothing the maps read: no change", show(&b), "");

	/* a modify that changes keys: ao@ goes, new@ comes */
	e = entry("cn=Albert,ou=People,o=x", (const char *const[]){
	    "mail=Albert@X.nu", "mailAlternateAddress=a@x.nu",
	    "mailAlternateAddress=new@x.nu",
	    "mailMessageStore=/vmail/albert/", NULL });
	syncapply_entry(g, u1, e, &b);
	lentry_free(e);
	CHECK_STR("modify that changes keys: add, replace the kept, delete",
	    show(&b),
	    "alias ~albert@x.nu=Albert@X.nu|alias ~a@x.nu=Albert@X.nu|"
	    "alias +new@x.nu=Albert@X.nu|alias -ao@x.nu|"
	    "mailbox ~albert@x.nu=/vmail/albert/|mailbox ~a@x.nu=/vmail/albert/|"
	    "mailbox +new@x.nu=/vmail/albert/|mailbox -ao@x.nu");

	/* a modify that changes only a result (the mailbox path) */
	e = entry("cn=Albert,ou=People,o=x", (const char *const[]){
	    "mail=Albert@X.nu", "mailAlternateAddress=a@x.nu",
	    "mailAlternateAddress=new@x.nu",
	    "mailMessageStore=/vmail/albert2/", NULL });
	syncapply_entry(g, u1, e, &b);
	lentry_free(e);
	CHECK_STR("modify that changes only a result: that map only",
	    show(&b),
	    "mailbox ~albert@x.nu=/vmail/albert2/|"
	    "mailbox ~a@x.nu=/vmail/albert2/|"
	    "mailbox ~new@x.nu=/vmail/albert2/");

	/* several values for one key, merged as the snapshot merges */
	e = entry("cn=Seven,ou=People,o=x", (const char *const[]){
	    "mail=seven@x.nu", "mail=m2@x.nu", "mailAlternateAddress=s9@x.nu",
	    "mailAlternateAddress=S9@x.nu", NULL });
	syncapply_entry(g, u2, e, &b);
	lentry_free(e);
	CHECK_STR("two mail values: an alternate address gets both, each "
	    "address itself; no mailbox path: no mailbox key", show(&b),
	    "alias +seven@x.nu=seven@x.nu|alias +m2@x.nu=m2@x.nu|"
	    "alias +s9@x.nu=seven@x.nu,m2@x.nu");

	/* delete */
	syncapply_delete(g, u1, &b);
	CHECK_STR("delete: every key of both maps, by hash", show(&b),
	    "alias -albert@x.nu|alias -a@x.nu|alias -new@x.nu|"
	    "mailbox -albert@x.nu|mailbox -a@x.nu|mailbox -new@x.nu");
	CHECK("delete: forgotten", uuidx_count(ix) == 1);
	syncapply_delete(g, u1, &b);
	CHECK_STR("delete again: nothing", show(&b), "");

	/* an entry whose keys all go: deletes, and it is forgotten */
	e = entry("cn=Seven,ou=People,o=x", (const char *const[]){
	    "cn=Seven", NULL });
	syncapply_entry(g, u2, e, &b);
	lentry_free(e);
	CHECK_STR("no key left: deletes", show(&b),
	    "alias -seven@x.nu|alias -m2@x.nu|alias -s9@x.nu");
	CHECK("no key left: not kept", uuidx_count(ix) == 0);

	/* syncIdSet, refreshDeletes TRUE */
	{
		static const char *const a1[] = { "mail=albert@x.nu",
		    "mailMessageStore=/vmail/albert/", NULL };
		static const char *const a2[] = { "mail=seven@x.nu", NULL };
		unsigned char set[3 * 16];

		apply(g, u1, "cn=Albert,ou=People,o=x", a1, &b);
		apply(g, u2, "cn=Seven,ou=People,o=x", a2, &b);
		keybatch_reset(&b);
		memcpy(set, u2, 16);
		memcpy(set + 16, u4, 16);	/* unknown: ignored */
		syncapply_idset(g, 1, set, 2, &b);
		CHECK_STR("syncIdSet refreshDeletes TRUE: the known one's keys "
		    "deleted", show(&b), "alias -seven@x.nu");
		CHECK("syncIdSet refreshDeletes TRUE: forgotten",
		    uuidx_count(ix) == 1);
	}

	/* syncIdSet, refreshDeletes FALSE: a present phase */
	{
		static const char *const a2[] = { "mail=seven@x.nu", NULL };
		static const char *const a3[] = { "mail=tt@x.nu",
		    "mailMessageStore=/vmail/tt/", NULL };
		static const char *const a3b[] = { "mail=tt@x.nu",
		    "mailMessageStore=/vmail/tt2/", NULL };
		unsigned char set[16];

		apply(g, u2, "cn=Seven,ou=People,o=x", a2, &b);
		apply(g, u3, "cn=TT,ou=People,o=x", a3, &b);
		keybatch_reset(&b);
		/* Restart: u1 unchanged (present idset), u3 changed (add),
		 * u2 not named: gone. */
		syncapply_refresh_begin(g);
		memcpy(set, u1, 16);
		syncapply_idset(g, 0, set, 1, &b);
		CHECK_STR("syncIdSet refreshDeletes FALSE: no change by itself",
		    show(&b), "");
		apply(g, u3, "cn=TT,ou=People,o=x", a3b, &b);
		CHECK_STR("present phase: a changed entry's changes", show(&b),
		    "mailbox ~tt@x.nu=/vmail/tt2/");
		syncapply_present_end(g, &b);
		CHECK_STR("present phase end: the entry not named is deleted",
		    show(&b), "alias -seven@x.nu");
		CHECK("present phase end: the named ones stay",
		    uuidx_count(ix) == 2);
		CHECK("present state: marks a known entry, not an unknown",
		    syncapply_present(g, u1) == 1 &&
		    syncapply_present(g, u2) == 0);
	}

	keybatch_free(&b);
	syncgroup_free(g);
	uuidx_free(ix);
	cfg_free(cfg);
	return unit_done();
}
