/*
 * profile: the built-in maps of each directory design, one table.
 *
 * howto   the "ldap, postfix and courier-imap howto" (qmail-ldap schema):
 *         release 1's maps, unchanged answers.
 * jamm    the Jamm "Virtual Mailserver HOWTO": JammVirtualDomain (jvd,
 *         postfixTransport), JammMailAccount (mail, mailbox relative to
 *         mail_base), JammMailAlias (mail -> maildrop, "@dom" catch-all);
 *         accountActive=TRUE and not delete=TRUE (an entry without delete
 *         is not deleted) on all three, as the howto's
 *         Postfix tables ask.  An inactive or deleted domain disables its
 *         accounts and aliases the way the howto does it: the domain map
 *         does not answer, so Postfix takes no mail for the domain.
 * ox      Open-Xchange users: mail and alias are the addresses,
 *         mailEnabled=OK the active flag; colocRouteAddr, when set, is
 *         where the mail goes (the alias answer), and no mailbox is kept
 *         here for it.  The mailbox is "<uid>/Maildir/" below mail_base
 *         (Courier: home <mail_base>/<uid>, its default ./Maildir).
 * apple   Open Directory users: the uid short names are the addresses
 *         (without "@": in every local_domains domain); the
 *         apple-user-mailattribute plist decides (Enabled: delivered to
 *         "<first short name>/Maildir/" below mail_base; Forward: the
 *         alias map answers kAutoForwardValue; Off or unreadable:
 *         nothing).
 * none    no built-in map: only the [map] sections.
 *
 * Mailbox answers of jamm, ox and apple are relative to mail_base (Postfix:
 * virtual_mailbox_base = mail_base); the howto's are absolute.
 */
#include <string.h>

#include "common/profile.h"

#define ALL	CFG_VALUES_ALL
#define FIRSTA	CFG_VALUES_FIRST_ATTRIBUTE
#define FIRST	CFG_VALUES_FIRST
#define ADDR	CFG_KIND_ADDRESS
#define DOM	CFG_KIND_DOMAIN
#define NOA	CFG_APPLE_NO

#define HOWTO_ACTIVE	"(|(accountStatus=active)(accountStatus=shared))"

static const struct profile_map howto[] = {
	{ "domain", 1, "(objectClass=domainRelatedObject)",
	    "associatedDomain", "associatedDomain", "%s", DOM, 0, 0, 0, 0,
	    ALL, NOA },
	{ "alias", 0, HOWTO_ACTIVE, "mail mailAlternateAddress", "mail",
	    "%s", ADDR, 0, 0, 0, 0, ALL, NOA },
	{ "mailbox", 0, HOWTO_ACTIVE, "mail mailAlternateAddress",
	    "mailMessageStore", "%s", ADDR, 0, 1, 0, 0, ALL, NOA },
};

#define JAMM_ON		"(accountActive=TRUE)(!(delete=TRUE))"
#define JAMM_DOMAIN	"(&(objectClass=JammVirtualDomain)" JAMM_ON ")"

static const struct profile_map jamm[] = {
	{ "domain", 1, JAMM_DOMAIN, "jvd", "jvd", "%s", DOM, 0, 0, 0, 0,
	    ALL, NOA },
	/* catchall: Postfix asks a socketmap transport table the address
	 * only; the domain's entry answers it. */
	{ "transport", 1, JAMM_DOMAIN, "jvd", "postfixTransport", "%s", DOM,
	    1, 0, 0, 0, ALL, NOA },
	/* An alias answers its maildrop, an account itself. */
	{ "alias", 0, "(&(|(objectClass=JammMailAlias)"
	    "(objectClass=JammMailAccount))" JAMM_ON ")", "mail",
	    "maildrop mail", "%s", ADDR, 1, 0, 0, 0, FIRSTA, NOA },
	{ "mailbox", 0, "(&(objectClass=JammMailAccount)" JAMM_ON ")",
	    "mail", "mailbox", "%s", ADDR, 0, 1, 0, 0, ALL, NOA },
};

#define OX_ON		"(objectClass=OXUserObject)(mailEnabled=OK)"

static const struct profile_map ox[] = {
	{ "domain", 0, "(&" OX_ON ")", "mail alias", "mail alias", "%s", DOM,
	    0, 0, 0, 1, ALL, NOA },
	{ "alias", 0, "(&" OX_ON ")", "mail alias", "colocRouteAddr mail",
	    "%s", ADDR, 0, 0, 0, 0, FIRSTA, NOA },
	{ "mailbox", 0, "(&" OX_ON "(!(colocRouteAddr=*)))", "mail alias",
	    "uid", "%s/Maildir/", ADDR, 0, 1, 0, 0, FIRST, NOA },
};

static const struct profile_map apple[] = {
	{ "domain", 0, "(objectClass=apple-user)", "uid", "uid", "%s", DOM,
	    0, 0, 1, 1, ALL, NOA },
	{ "alias", 0, "(objectClass=apple-user)", "uid", "uid", "%s", ADDR,
	    0, 0, 1, 0, ALL, CFG_APPLE_FORWARD },
	{ "mailbox", 0, "(objectClass=apple-user)", "uid", "uid",
	    "%s/Maildir/", ADDR, 0, 1, 1, 0, FIRST, CFG_APPLE_ENABLED },
};

#define P(name, t) { name, t, sizeof(t) / sizeof(t[0]) }

/* The accounts of each (none: the howto's) are common/layout.c's rows,
 * which ldap-maildirmake and lint follow. */
static const struct profile profiles[] = {
	P("howto", howto),
	P("jamm", jamm),
	P("ox", ox),
	P("apple", apple),
	{ "none", NULL, 0 },
};

const struct profile *
profile_find(const char *name)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

const char *
profile_names(void)
{
	return "howto, jamm, ox, apple, none";
}
