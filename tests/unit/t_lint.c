/*
 * t_lint: the checks of lookupd/lint.c on entries fed by hand (no LDAP):
 * the howto's directory is clean, each planted problem gives exactly its
 * lines, the output order does not depend on the order entries come in.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "lookupd/lint.h"
#include "unit.h"

#define TOK ",ou=Tokelau,o=company"

/* add(l, dn, attr, value, attr, value, ..., NULL) */
static size_t __attribute__((sentinel))
add(struct lint *l, const char *dn, ...)
{
	size_t i = lint_add_entry(l, dn);
	const char *a, *v;
	va_list ap;

	va_start(ap, dn);
	while ((a = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		lint_add_value(l, i, a, v, strlen(v));
	}
	va_end(ap);
	return i;
}

static void
domains(struct lint *l)
{
	lint_add_domain(l, "mydomain.nl", 11);
	lint_add_domain(l, "testdomain.nu", 13);
	lint_add_domain(l, "anotherdomain.nu", 16);
}

static void
albert(struct lint *l)
{
	add(l, "cn=Albert Onestone, ou=Tokelau, o=company",
	    "objectClass", "top", "objectClass", "inetOrgPerson",
	    "objectClass", "qmailUser",
	    "mailMessageStore", "/vmail/albert.onestone/Maildir/",
	    "mail", "albert.onestone@anotherdomain.nu",
	    "mailAlternateAddress", "a.onestone@anotherdomain.nu",
	    "mailAlternateAddress", "ao@anotherdomain.nu",
	    "uid", "onestonea", "accountStatus", "active",
	    "seeAlso", "cn=Timetravel weekly,ou=Tokelau,o=company", NULL);
}

static void
seven(struct lint *l)
{
	add(l, "cn=Seven of Nine, ou=Tokelau, o=company",
	    "objectClass", "inetOrgPerson", "objectClass", "qmailUser",
	    "mailMessageStore", "/vmail/seven.of.nine/Maildir/",
	    "mail", "seven.of.nine@anotherdomain.nu",
	    "mailAlternateAddress", "s.o.9@anotherdomain.nu",
	    "uid", "nines", "accountStatus", "active",
	    "seeAlso", "cn=Timetravel weekly,ou=Tokelau,o=company", NULL);
}

static void
timetravel(struct lint *l)
{
	add(l, "cn=Timetravel weekly, ou=Tokelau, o=company",
	    "objectClass", "inetOrgPerson", "objectClass", "qmailUser",
	    "mailMessageStore", "/vmail/shared/timetravel.weekly/incoming/",
	    "mail", "timetravel@anotherdomain.nu", "uid", "incoming",
	    "accountStatus", "shared", "postOfficeBox", "past.editions",
	    "postOfficeBox", "future.editions", NULL);
}

/* The howto's directory, the leaf entry included. */
static struct lint *
fixture(const char *mail_base)
{
	struct lint *l = lint_new(mail_base ? mail_base : "/vmail", "shared",
	    "ou=Tokelau,o=company");

	domains(l);
	add(l, "ou=Tokelau, o=company", "objectClass", "organizationalUnit",
	    NULL);
	albert(l);
	seven(l);
	timetravel(l);
	return l;
}

static void
collect(const char *dn, const char *text, void *arg)
{
	struct buf *b = arg;

	buf_printf(b, "%s: %s\n", dn, text);
}

/* Every problem line of l, in order; the count in *n. */
static char *
run(struct lint *l, size_t *n, size_t *acc, size_t *dom)
{
	struct buf b = BUF_INIT;
	char *s;

	*n = lint_run(l, collect, &b, acc, dom);
	s = xstrdup(buf_str(&b));
	buf_free(&b);
	return s;
}

static void
expect(const char *name, struct lint *l, const char *want)
{
	size_t n, acc, dom, lines = 0;
	char *got = run(l, &n, &acc, &dom);

	for (const char *p = want; *p; p++)
		lines += *p == '\n';
	CHECK_STR(name, got, want);
	{
		char nm[256];

		snprintf(nm, sizeof(nm), "%s: count", name);
		CHECK(nm, n == lines);
	}
	free(got);
	lint_free(l);
}

static void
t_clean(void)
{
	struct lint *l = fixture(NULL);
	size_t n, acc, dom;
	char *got = run(l, &n, &acc, &dom);

	CHECK_STR("fixture: no problem", got, "");
	CHECK("fixture: 0 problems", n == 0);
	CHECK("fixture: 3 accounts", acc == 3);
	CHECK("fixture: 3 domains", dom == 3);
	free(got);
	/* A second run says the same. */
	got = run(l, &n, &acc, &dom);
	CHECK("fixture: second run the same", n == 0 && acc == 3 && dom == 3);
	free(got);
	lint_free(l);

	/* Case, trailing dots and duplicate domains change nothing. */
	l = lint_new("/vmail", "shared", "ou=Tokelau,o=company");
	lint_add_domain(l, "MyDomain.NL.", 12);
	lint_add_domain(l, "mydomain.nl", 11);
	add(l, "cn=A" TOK, "objectClass", "QMAILUSER", "accountStatus", "Active",
	    "mail", "A@MYDOMAIN.nl", "mailAlternateAddress", "b@mydomain.NL",
	    "mailMessageStore", "/vmail/a/", NULL);
	add(l, "cn=B" TOK, "accountStatus", "INACTIVE", "mail", "b2@mydomain.nl",
	    NULL);
	got = run(l, &n, &acc, &dom);
	CHECK_STR("case-insensitive status, domain, objectClass", got, "");
	CHECK("inactive without store is an account", acc == 2 && dom == 1);
	free(got);
	lint_free(l);
}

static void
t_status(void)
{
	struct lint *l = fixture(NULL);

	add(l, "cn=No Status" TOK, "objectClass", "qmailUser",
	    "mail", "ns@mydomain.nl", NULL);
	add(l, "cn=Bogus" TOK, "objectClass", "qmailUser", "mail",
	    "bogus@mydomain.nl", "accountStatus", "enabled",
	    "mailMessageStore", "/vmail/bogus/", NULL);
	add(l, "cn=Two" TOK, "mail", "two@mydomain.nl", "accountStatus",
	    "active", "accountStatus", "shared",
	    "mailMessageStore", "/vmail/two/", NULL);
	expect("accountStatus", l,
	    "cn=Bogus" TOK ": accountStatus \"enabled\" is not active, "
	    "inactive or shared\n"
	    "cn=No Status" TOK ": accountStatus is missing\n"
	    "cn=Two" TOK ": has 2 accountStatus values; exactly one is "
	    "allowed\n");
}

static void
t_mail(void)
{
	struct lint *l = fixture(NULL);

	add(l, "cn=Two Mails" TOK, "objectClass", "qmailUser", "mail",
	    "one@mydomain.nl", "mail", "two@mydomain.nl", "accountStatus",
	    "active", "mailMessageStore", "/vmail/two/", NULL);
	add(l, "cn=No Mail" TOK, "accountStatus", "inactive", NULL);
	add(l, "cn=Not Address" TOK, "accountStatus", "inactive",
	    "mail", "nobody", "mailAlternateAddress", "@mydomain.nl",
	    "mailAlternateAddress", "x@", NULL);
	expect("mail", l,
	    "cn=No Mail" TOK ": mail is missing\n"
	    "cn=Not Address" TOK ": mail \"nobody\" is not an address "
	    "(LOCAL@DOMAIN)\n"
	    "cn=Not Address" TOK ": mailAlternateAddress \"@mydomain.nl\" is "
	    "not an address (LOCAL@DOMAIN)\n"
	    "cn=Not Address" TOK ": mailAlternateAddress \"x@\" is not an "
	    "address (LOCAL@DOMAIN)\n"
	    "cn=Two Mails" TOK ": has 2 mail values (\"one@mydomain.nl\", "
	    "\"two@mydomain.nl\"); exactly one is allowed\n");
}

static void
t_domain(void)
{
	struct lint *l = fixture(NULL);

	add(l, "cn=Elsewhere" TOK, "mail", "e@Unlisted.Example",
	    "mailAlternateAddress", "e@mydomain.nl",
	    "mailAlternateAddress", "e@sub.mydomain.nl",
	    "mailAlternateAddress", "\"a@b\"@mydomain.nl",
	    "accountStatus", "inactive", NULL);
	expect("domain", l,
	    "cn=Elsewhere" TOK ": mail \"e@Unlisted.Example\": domain "
	    "Unlisted.Example is not accepted (no associatedDomain holds it)\n"
	    "cn=Elsewhere" TOK ": mailAlternateAddress \"e@sub.mydomain.nl\": "
	    "domain sub.mydomain.nl is not accepted (no associatedDomain "
	    "holds it)\n");
}

static void
t_catchall(void)
{
	struct lint *l = fixture(NULL);

	add(l, "cn=Catch" TOK, "mail", "catch@mydomain.nl",
	    "mailAlternateAddress", "@mydomain.nl",
	    "mailAlternateAddress", "@elsewhere.example",
	    "mailAlternateAddress", "@", "accountStatus", "active",
	    "mailMessageStore", "/vmail/catch/", NULL);
	expect("catch-all without catchall", l,
	    "cn=Catch" TOK ": mailAlternateAddress \"@mydomain.nl\" is not an "
	    "address (LOCAL@DOMAIN)\n"
	    "cn=Catch" TOK ": mailAlternateAddress \"@elsewhere.example\" is "
	    "not an address (LOCAL@DOMAIN)\n"
	    "cn=Catch" TOK ": mailAlternateAddress \"@\" is not an address "
	    "(LOCAL@DOMAIN)\n");

	l = fixture(NULL);
	lint_set_catchall(l, 1);
	add(l, "cn=Catch" TOK, "mail", "catch@mydomain.nl",
	    "mailAlternateAddress", "@mydomain.nl",
	    "mailAlternateAddress", "@elsewhere.example",
	    "mailAlternateAddress", "@", "accountStatus", "active",
	    "mailMessageStore", "/vmail/catch/", NULL);
	add(l, "cn=Catch2" TOK, "mail", "@MyDomain.nl", "accountStatus",
	    "inactive", NULL);
	expect("catch-all with catchall = yes", l,
	    "cn=Catch" TOK ": mailAlternateAddress \"@elsewhere.example\": "
	    "domain elsewhere.example is not accepted (no associatedDomain "
	    "holds it)\n"
	    "cn=Catch" TOK ": mailAlternateAddress \"@\" is not an address "
	    "(LOCAL@DOMAIN)\n"
	    "cn=Catch" TOK ": mailAlternateAddress \"@mydomain.nl\" is also an "
	    "address of cn=Catch2" TOK "\n"
	    "cn=Catch2" TOK ": mail \"@MyDomain.nl\" is also an address of "
	    "cn=Catch" TOK "\n");
}

static void
t_duplicates(void)
{
	struct lint *l = fixture(NULL);

	/* Albert's alias on two more accounts (one inactive), case changed;
	 * the same address twice on one account is not a problem. */
	add(l, "cn=Copy" TOK, "mail", "AO@AnotherDomain.nu",
	    "mailAlternateAddress", "copy@mydomain.nl", "accountStatus",
	    "active", "mailMessageStore", "/vmail/copy/", NULL);
	add(l, "cn=Old" TOK, "mail", "old@mydomain.nl",
	    "mailAlternateAddress", "ao@anotherdomain.nu",
	    "mailAlternateAddress", "OLD@mydomain.nl",
	    "accountStatus", "inactive", NULL);
	/* Not an account: its mail-like attributes are not looked at. */
	add(l, "cn=Person" TOK, "objectClass", "person", NULL);
	expect("duplicates", l,
	    "cn=Albert Onestone, ou=Tokelau, o=company: mailAlternateAddress "
	    "\"ao@anotherdomain.nu\" is also an address of cn=Copy" TOK "\n"
	    "cn=Albert Onestone, ou=Tokelau, o=company: mailAlternateAddress "
	    "\"ao@anotherdomain.nu\" is also an address of cn=Old" TOK "\n"
	    "cn=Copy" TOK ": mail \"AO@AnotherDomain.nu\" is also an address "
	    "of cn=Albert Onestone, ou=Tokelau, o=company\n"
	    "cn=Copy" TOK ": mail \"AO@AnotherDomain.nu\" is also an address "
	    "of cn=Old" TOK "\n"
	    "cn=Old" TOK ": mailAlternateAddress \"ao@anotherdomain.nu\" is "
	    "also an address of cn=Albert Onestone, ou=Tokelau, o=company\n"
	    "cn=Old" TOK ": mailAlternateAddress \"ao@anotherdomain.nu\" is "
	    "also an address of cn=Copy" TOK "\n");
}

static void
t_store(void)
{
	struct lint *l = fixture(NULL);

#define ACT(cn, mms) add(l, "cn=" cn TOK, "mail", cn "@mydomain.nl", \
	"accountStatus", "active", "mailMessageStore", mms, NULL)
	add(l, "cn=nostore" TOK, "mail", "nostore@mydomain.nl",
	    "accountStatus", "active", NULL);
	add(l, "cn=nostore-shared" TOK, "mail", "ns@mydomain.nl",
	    "accountStatus", "shared", "uid", "in", NULL);
	add(l, "cn=inactive" TOK, "mail", "inactive@mydomain.nl",
	    "accountStatus", "inactive", "mailMessageStore", "/srv/x/", NULL);
	ACT("notrail", "/vmail/notrail/Maildir");
	ACT("relative", "vmail/relative/");
	ACT("dslash", "/vmail//dslash/");
	ACT("dot", "/vmail/./dot/");
	ACT("dotdot", "/vmail/x/../dotdot/");
	ACT("outside", "/srv/mail/outside/");
	ACT("prefix", "/vmailx/prefix/");
	ACT("base", "/vmail/");
	ACT("ctl", "/vmail/c\tl/");
	ACT("reserved", "/vmail/ldap-maildirmake.tmp/");
	add(l, "cn=twostores" TOK, "mail", "twostores@mydomain.nl",
	    "accountStatus", "active", "mailMessageStore", "/vmail/a/",
	    "mailMessageStore", "/vmail/b/", NULL);
#undef ACT
	expect("mailMessageStore", l,
	    "cn=base" TOK ": mailMessageStore \"/vmail/\" is not inside "
	    "mail_base /vmail\n"
	    "cn=ctl" TOK ": mailMessageStore \"/vmail/c\\x09l/\" contains a "
	    "control character\n"
	    "cn=dot" TOK ": mailMessageStore \"/vmail/./dot/\" is not "
	    "normalized (holds \"//\", \".\" or \"..\")\n"
	    "cn=dotdot" TOK ": mailMessageStore \"/vmail/x/../dotdot/\" is not "
	    "normalized (holds \"//\", \".\" or \"..\")\n"
	    "cn=dslash" TOK ": mailMessageStore \"/vmail//dslash/\" is not "
	    "normalized (holds \"//\", \".\" or \"..\")\n"
	    "cn=inactive" TOK ": mailMessageStore \"/srv/x/\" is not inside "
	    "mail_base /vmail\n"
	    "cn=nostore" TOK ": mailMessageStore is missing\n"
	    "cn=nostore-shared" TOK ": mailMessageStore is missing\n"
	    "cn=notrail" TOK ": mailMessageStore \"/vmail/notrail/Maildir\" "
	    "does not end in \"/\"\n"
	    "cn=outside" TOK ": mailMessageStore \"/srv/mail/outside/\" is not "
	    "inside mail_base /vmail\n"
	    "cn=prefix" TOK ": mailMessageStore \"/vmailx/prefix/\" is not "
	    "inside mail_base /vmail\n"
	    "cn=relative" TOK ": mailMessageStore \"vmail/relative/\" is not "
	    "an absolute path\n"
	    "cn=reserved" TOK ": mailMessageStore "
	    "\"/vmail/ldap-maildirmake.tmp/\" has a component reserved for "
	    "ldap-maildirmake\n"
	    "cn=twostores" TOK ": has 2 mailMessageStore values; exactly one "
	    "is allowed\n");
}

static void
t_shared(void)
{
	struct lint *l = fixture(NULL);

#define SH(cn, mms, ...) add(l, "cn=" cn TOK, "mail", cn "@mydomain.nl", \
	"accountStatus", "shared", "mailMessageStore", mms, __VA_ARGS__)
	SH("outside", "/vmail/bulletin/incoming/", "uid", "incoming", NULL);
	SH("direct", "/vmail/shared/incoming/", "uid", "incoming", NULL);
	SH("nouid", "/vmail/shared/nouid/incoming/", NULL);
	SH("twouid", "/vmail/shared/twouid/in/", "uid", "in", "uid", "out",
	    NULL);
	SH("baduid", "/vmail/shared/baduid/in/", "uid", "a/b",
	    "postOfficeBox", ".hidden", "postOfficeBox", "ok.box", NULL);
	SH("deep", "/vmail/shared/a/b/in/", "uid", "in", NULL);
	SH("maildirs", "/vmail/shared.maildirs/x/in/", "uid", "in", NULL);
	/* Active accounts may live anywhere under mail_base. */
	add(l, "cn=active" TOK, "mail", "active@mydomain.nl", "accountStatus",
	    "active", "mailMessageStore", "/vmail/other/in/", "uid", "a/b",
	    NULL);
#undef SH
	expect("shared", l,
	    "cn=baduid" TOK ": uid \"a/b\" is not a valid folder name: "
	    "contains \"/\"\n"
	    "cn=baduid" TOK ": postOfficeBox \".hidden\" is not a valid folder "
	    "name: starts with \".\"\n"
	    "cn=direct" TOK ": mailMessageStore \"/vmail/shared/incoming/\" of "
	    "a shared entry lies directly in /vmail/shared/ (expected "
	    "/vmail/shared/NAME/FOLDER/)\n"
	    "cn=maildirs" TOK ": mailMessageStore "
	    "\"/vmail/shared.maildirs/x/in/\" of a shared entry is not under "
	    "/vmail/shared/\n"
	    "cn=nouid" TOK ": shared entry has no uid (the folder that "
	    "receives mail)\n"
	    "cn=outside" TOK ": mailMessageStore \"/vmail/bulletin/incoming/\" "
	    "of a shared entry is not under /vmail/shared/\n"
	    "cn=twouid" TOK ": shared entry has 2 uid values; exactly one is "
	    "allowed\n");

	/* mail_base "/" */
	l = lint_new("/", "shared", "o=x");
	domains(l);
	add(l, "cn=s,o=x", "mail", "s@mydomain.nl", "accountStatus", "shared",
	    "uid", "in", "mailMessageStore", "/shared/s/in/", NULL);
	add(l, "cn=t,o=x", "mail", "t@mydomain.nl", "accountStatus", "shared",
	    "uid", "in", "mailMessageStore", "/vmail/shared/t/in/", NULL);
	expect("shared, mail_base /", l,
	    "cn=t,o=x: mailMessageStore \"/vmail/shared/t/in/\" of a shared "
	    "entry is not under /shared/\n");
}

static void
t_see_also(void)
{
	struct lint *l = fixture(NULL);

	add(l, "cn=Reader" TOK, "mail", "reader@mydomain.nl", "accountStatus",
	    "active", "mailMessageStore", "/vmail/reader/",
	    "seeAlso", "CN=timetravel WEEKLY , ou=tokelau,o=COMPANY",
	    "seeAlso", "cn=Nobody,ou=Tokelau,o=company",
	    "seeAlso", "cn=Seven of Nine,ou=Tokelau,o=company",
	    "seeAlso", "ou=Tokelau,o=company",
	    "seeAlso", "ou=System,o=company",
	    "seeAlso", "cn=Inactive" TOK,
	    "seeAlso", "not a dn", NULL);
	add(l, "cn=Inactive" TOK, "mail", "in@mydomain.nl", "accountStatus",
	    "inactive", NULL);
	expect("seeAlso", l,
	    "cn=Reader" TOK ": seeAlso \"cn=Nobody,ou=Tokelau,o=company\" "
	    "names no entry under ou=Tokelau,o=company\n"
	    "cn=Reader" TOK ": seeAlso \"cn=Seven of Nine,ou=Tokelau,o=company\" "
	    "names an entry that is not shared (accountStatus \"active\")\n"
	    "cn=Reader" TOK ": seeAlso \"ou=Tokelau,o=company\" names an entry "
	    "that is not shared (no accountStatus)\n"
	    "cn=Reader" TOK ": seeAlso \"ou=System,o=company\" names no entry "
	    "under ou=Tokelau,o=company\n"
	    "cn=Reader" TOK ": seeAlso \"cn=Inactive" TOK "\" names an entry "
	    "that is not shared (accountStatus \"inactive\")\n"
	    "cn=Reader" TOK ": seeAlso \"not a dn\" is not a valid DN\n");
}

static void
t_printable(void)
{
	struct lint *l = fixture(NULL);
	struct buf want = BUF_INIT;
	char big[300], shown[201];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '/';
	memcpy(shown, big, 200);
	shown[200] = '\0';
	add(l, "cn=J\xc3\xbcrgen" TOK, "mail", "j\xc3\xbc@mydomain.nl",
	    "mail", "q\"\\\x01\xff@mydomain.nl", "accountStatus", "active",
	    "mailMessageStore", big, NULL);
	buf_printf(&want, "cn=J\xc3\xbcrgen" TOK ": has 2 mail values "
	    "(\"j\xc3\xbc@mydomain.nl\", \"q\\\"\\\\\\x01\\xff@mydomain.nl\"); "
	    "exactly one is allowed\n");
	buf_printf(&want, "cn=J\xc3\xbcrgen" TOK ": mailMessageStore "
	    "\"%s...\" does not end in \"/\"\n", shown);
	buf_printf(&want, "cn=J\xc3\xbcrgen" TOK ": mailMessageStore "
	    "\"%s...\" is too long\n", shown);
	expect("printable", l, buf_str(&want));
	buf_free(&want);

	/* A NUL inside a value. */
	l = fixture(NULL);
	{
		size_t i = lint_add_entry(l, "cn=nul" TOK);

		lint_add_value(l, i, "mail", "a\0b@mydomain.nl", 15);
		lint_add_value(l, i, "accountStatus", "inactive", 8);
		lint_add_value(l, i, "mailMessageStore", "/vmail/a\0/", 10);
		CHECK("unknown attribute ignored",
		    lint_add_value(l, i, "cn", "nul", 3) == -1);
	}
	expect("NUL in values", l,
	    "cn=nul" TOK ": mail \"a\\x00b@mydomain.nl\" is not an address "
	    "(LOCAL@DOMAIN)\n"
	    "cn=nul" TOK ": mailMessageStore \"/vmail/a\\x00/\" contains a NUL "
	    "byte\n");
}

/* The same entries in the opposite order print the same lines. */
static void
t_order(void)
{
	struct lint *a = lint_new("/vmail", "shared", "ou=Tokelau,o=company");
	struct lint *b = lint_new("/vmail", "shared", "ou=Tokelau,o=company");
	size_t n1, n2, x, y;
	char *s1, *s2;

	domains(a);
	albert(a);
	seven(a);
	timetravel(a);
	add(a, "cn=Dup" TOK, "mail", "nines@mydomain.nl",
	    "mailAlternateAddress", "s.o.9@anotherdomain.nu", NULL);
	add(b, "cn=Dup" TOK, "mail", "nines@mydomain.nl",
	    "mailAlternateAddress", "s.o.9@anotherdomain.nu", NULL);
	timetravel(b);
	seven(b);
	albert(b);
	lint_add_domain(b, "anotherdomain.nu", 16);
	lint_add_domain(b, "mydomain.nl", 11);
	s1 = run(a, &n1, &x, &y);
	s2 = run(b, &n2, &x, &y);
	CHECK_STR("order: same lines", s2, s1);
	CHECK("order: 3 problems", n1 == 3 && n2 == 3);
	free(s1);
	free(s2);
	lint_free(a);
	lint_free(b);
}

/* The other profiles: their attributes, account class, layout rule. */
static void
t_profiles(void)
{
	struct lint *l = lint_new("/vmail", "shared", "o=hosting");
	size_t n, acc, dom;
	char *got;

	CHECK("unknown profile refused", lint_set_profile(l, "nosuch") != 0);
	CHECK("jamm known", lint_set_profile(l, "jamm") == 0);
	CHECK("jamm reads mailbox, not mailMessageStore",
	    lint_add_value(l, lint_add_entry(l, "cn=probe"),
	    "mailMessageStore", "/x/", 3) == -1);
	lint_add_domain(l, "jamm.example", 12);
	add(l, "mail=a@jamm.example,o=hosting", "objectClass",
	    "JammMailAccount", "mail", "a@jamm.example", "mailbox",
	    "jamm.example/a/", "accountActive", "TRUE", NULL);
	add(l, "mail=b@jamm.example,o=hosting", "objectClass",
	    "JammMailAccount", "mail", "b@jamm.example", "mailbox",
	    "../b/", "accountActive", "TRUE", NULL);
	add(l, "mail=c@gone.example,o=hosting", "objectClass",
	    "JammMailAccount", "mail", "c@gone.example", "mailbox",
	    "gone.example/c/", "accountActive", "TRUE", NULL);
	add(l, "mail=d@jamm.example,o=hosting", "objectClass",
	    "JammMailAlias", "mail", "a@jamm.example", "maildrop", "x@y",
	    NULL);
	got = run(l, &n, &acc, &dom);
	CHECK_STR("jamm: a relative mailbox checked below mail_base, a dead "
	    "domain, an alias is no account", got,
	    "mail=b@jamm.example,o=hosting: mailbox \"../b/\" is not "
	    "normalized (holds \"//\", \".\" or \"..\")\n"
	    "mail=c@gone.example,o=hosting: mail \"c@gone.example\": domain "
	    "gone.example is not accepted (no active JammVirtualDomain holds "
	    "it)\n");
	CHECK("jamm: 3 accounts", acc == 3);
	free(got);
	lint_free(l);

	l = lint_new("/vmail", "shared", "ou=OX");
	CHECK("ox known", lint_set_profile(l, "ox") == 0);
	add(l, "uid=a,ou=OX", "objectClass", "OXUserObject", "uid", "a",
	    "mail", "a@ox.example", "alias", "x@ox.example", "mailEnabled",
	    "OK", NULL);
	add(l, "uid=b,ou=OX", "objectClass", "OXUserObject", "uid", "b",
	    "mail", "b@ox.example", "alias", "X@ox.example", "mailEnabled",
	    "OK", NULL);
	got = run(l, &n, &acc, &dom);
	CHECK_STR("ox: any domain, an alias on two accounts", got,
	    "uid=a,ou=OX: alias \"x@ox.example\" is also an address of "
	    "uid=b,ou=OX\n"
	    "uid=b,ou=OX: alias \"X@ox.example\" is also an address of "
	    "uid=a,ou=OX\n");
	free(got);
	lint_free(l);
}

int
main(void)
{
	t_clean();
	t_status();
	t_mail();
	t_domain();
	t_catchall();
	t_duplicates();
	t_store();
	t_shared();
	t_see_also();
	t_printable();
	t_order();
	t_profiles();
	return unit_done();
}
