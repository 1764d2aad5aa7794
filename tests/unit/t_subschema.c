/*
 * t_subschema: common/subschema.c on attributeTypes values as slapd
 * serves them (core, cosine, qmail, with DESC text holding parentheses
 * and quotes of its own), names and OIDs without case, EQUALITY
 * inherited through SUP (cn from name), a SUP loop, unreadable values.
 */
#include <string.h>

#include "common/subschema.h"
#include "unit.h"

static const char *const descs[] = {
	"( 2.5.4.41 NAME 'name' DESC 'RFC4519: common supertype of name "
	"attributes' EQUALITY caseIgnoreMatch SUBSTR "
	"caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768}"
	" )",
	"( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s) "
	"for which the entity is known by' SUP name )",
	"( 0.9.2342.19200300.100.1.3 NAME ( 'mail' 'rfc822Mailbox' ) DESC "
	"'RFC1274: RFC822 Mailbox' EQUALITY caseIgnoreIA5Match SUBSTR "
	"caseIgnoreIA5SubstringsMatch SYNTAX "
	"1.3.6.1.4.1.1466.115.121.1.26{256} )",
	"( 2.5.4.0 NAME 'objectClass' DESC 'RFC4512: object classes of the "
	"entity' EQUALITY objectIdentifierMatch SYNTAX "
	"1.3.6.1.4.1.1466.115.121.1.38 )",
	"( 1.3.6.1.4.1.7914.1.2.1.12 NAME 'accountStatus' DESC 'The status "
	"of a user account: active, nopop, disabled, deleted' EQUALITY "
	"caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
	"( 1.2.3.1 NAME 'loopA' SUP loopB )",
	"( 1.2.3.2 NAME 'loopB' SUP loopA )",
	"( 1.2.3.3 NAME 'noRule' DESC 'none' SYNTAX 1.3.6.1.4.1.1466."
	"115.121.1.40 )",
	"( 1.2.3.4 NAME 'emptyRule' EQUALITY '' )",
};

int
main(void)
{
	struct subschema *s = subschema_new();

	for (size_t i = 0; i < sizeof(descs) / sizeof(descs[0]); i++)
		CHECK(descs[i], subschema_add(s, descs[i], strlen(descs[i]))
		    == 0);
	CHECK("unterminated quote refused", subschema_add(s,
	    "( 1.2 NAME 'x )", 15) < 0);
	CHECK("no parenthesis refused", subschema_add(s, "1.2 NAME 'x'", 12)
	    < 0);
	CHECK("unclosed refused", subschema_add(s, "( 1.2 NAME 'x'", 14) < 0);
	CHECK_STR("name", subschema_equality(s, "name"), "caseIgnoreMatch");
	CHECK_STR("cn inherits from name", subschema_equality(s, "CN"),
	    "caseIgnoreMatch");
	CHECK_STR("second name", subschema_equality(s, "commonName"),
	    "caseIgnoreMatch");
	CHECK_STR("by OID", subschema_equality(s, "2.5.4.3"),
	    "caseIgnoreMatch");
	CHECK_STR("mail", subschema_equality(s, "rfc822mailbox"),
	    "caseIgnoreIA5Match");
	CHECK_STR("objectClass", subschema_equality(s, "objectclass"),
	    "objectIdentifierMatch");
	CHECK_STR("accountStatus", subschema_equality(s, "accountStatus"),
	    "caseIgnoreMatch");
	CHECK("a SUP loop ends", subschema_equality(s, "loopA") == NULL);
	CHECK("no rule", subschema_equality(s, "noRule") == NULL);
	CHECK("an empty rule is none", subschema_equality(s, "emptyRule") ==
	    NULL);
	CHECK("unknown attribute", subschema_equality(s, "x") == NULL);
	subschema_free(s);
	return unit_done();
}
