/*
 * t_applemail: common/applemail.c on apple-user-mailattribute values as
 * Mac OS X Server writes them (bare <dict> as dscl stores it, the full
 * plist with DOCTYPE, pretty-printed, every state) and on hostile or
 * broken ones, each with the exact reason it gives.
 */
#include <stdio.h>
#include <string.h>

#include "common/applemail.h"
#include "unit.h"

#define HDR "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define KV(k, v) "<key>" k "</key><string>" v "</string>"
#define V1 KV("kAttributeVersion", "Apple Mail 1.0")

static struct applemail am;
static char why[512];

static int
parse(const char *xml)
{
	return applemail_parse(xml, strlen(xml), &am, why, sizeof(why));
}

/* The reason xml is refused, or "(parsed)". */
static const char *
reason(const char *xml)
{
	if (parse(xml) == 0)
		return "(parsed)";
	return why;
}

static void
real_world(void)
{
	/* What a dscl script stored for a forwarded user (one line, bare
	 * dict, every value a string, kAltMailStoreLoc empty). */
	const char *fwd = HDR "<dict>"
	    KV("kAPOPRequired", "APOPNotRequired")
	    KV("kAltMailStoreLoc", "")
	    KV("kAttributeVersion", "Apple Mail 1.0")
	    KV("kAutoForwardValue", "joe.user@uni-example.de")
	    KV("kIMAPLoginState", "IMAPAllowed")
	    KV("kMailAccountLocation", "purple.example.de")
	    KV("kMailAccountState", "Forward")
	    KV("kPOP3LoginState", "POP3Allowed")
	    KV("kUserDiskQuota", "0") "</dict>";
	/* The Server Admin guide's sample, pretty-printed, in a plist. */
	const char *guide = HDR "\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD "
	    "PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0"
	    ".dtd\">\n<plist version=\"1.0\">\n<dict>\n"
	    "\t<key>kAttributeVersion</key>\n\t<string>Apple Mail 1.0"
	    "</string>\n"
	    "\t<key>kAutoForwardValue</key>\n\t<string>user@example.com"
	    "</string>\n"
	    "\t<key>kIMAPLoginState</key>\n\t<string>IMAPAllowed</string>\n"
	    "\t<key>kMailAccountLocation</key>\n\t<string>domain.example.com"
	    "</string>\n"
	    "\t<key>kMailAccountState</key>\n\t<string>Enabled</string>\n"
	    "\t<key>kNotificationState</key>\n\t<string>NotificationStaticIP"
	    "</string>\n"
	    "\t<key>kNotificationStaticIPValue</key>\n\t<string>[1.2.3.4]"
	    "</string>\n"
	    "\t<key>kPOP3LoginState</key>\n\t<string>POP3Deny</string>\n"
	    "\t<key>kSeparateInboxState</key>\n\t<string>OneInbox</string>\n"
	    "\t<key>kShowPOP3InboxInIMAP</key>\n\t<string>HidePOP3Inbox"
	    "</string>\n"
	    "\t<key>kUserDiskQuota</key>\n\t<string>250</string>\n"
	    "</dict>\n</plist>\n";

	CHECK("forward: parsed", parse(fwd) == 0);
	CHECK("forward: state", am.state == APPLEMAIL_FORWARD);
	CHECK_STR("forward: address", am.forward, "joe.user@uni-example.de");
	CHECK("forward: quota 0", am.quota_mb == 0);
	CHECK("forward: imap", am.imap == APPLEMAIL_LOGIN_ALLOWED);
	CHECK("forward: pop3", am.pop3 == APPLEMAIL_LOGIN_ALLOWED);
	CHECK_STR("forward: location", am.location, "purple.example.de");
	CHECK_STR("forward: altstore", am.altstore, "");
	CHECK("forward: version", am.version == 1);

	CHECK("guide: parsed", parse(guide) == 0);
	CHECK("guide: Enabled", am.state == APPLEMAIL_ENABLED);
	/* A stale forward address means nothing while Enabled. */
	CHECK_STR("guide: no forward while Enabled", am.forward, "");
	CHECK("guide: quota 250 MB", am.quota_mb == 250);
	CHECK("guide: pop3 denied", am.pop3 == APPLEMAIL_LOGIN_DENIED);
	CHECK_STR("guide: location", am.location, "domain.example.com");
	CHECK_STR("guide: state name", applemail_state_name(am.state),
	    "Enabled");

	CHECK("off: parsed", parse("<dict>" V1 KV("kMailAccountState",
	    "Off") "</dict>") == 0);
	CHECK("off: state", am.state == APPLEMAIL_OFF);
	CHECK("off: login unset", am.imap == APPLEMAIL_LOGIN_UNSET &&
	    am.pop3 == APPLEMAIL_LOGIN_UNSET);
	CHECK_STR("off: name", applemail_state_name(am.state), "Off");

	/* Apple compares case-insensitively: so do we. */
	CHECK("case: parsed", parse("<dict>"
	    KV("kAttributeVersion", "apple mail 2.0")
	    KV("kMailAccountState", "FORWARD")
	    KV("kAutoForwardValue", "a@b") KV("kIMAPLoginState", "imapdeny")
	    "</dict>") == 0);
	CHECK("case: version 2", am.version == 2);
	CHECK("case: forward", am.state == APPLEMAIL_FORWARD);
	CHECK("case: imap deny", am.imap == APPLEMAIL_LOGIN_DENIED);
	CHECK_STR("case: name", applemail_state_name(am.state), "Forward");

	/* Values of other types under other keys are read and ignored. */
	CHECK("other types: parsed", parse("<plist version=\"1.0\"><dict>"
	    "<key>kX</key><array><integer>1</integer><true/><false></false>"
	    "<dict><key>n</key><data>AAAA</data></dict><array/></array>"
	    "<key>kY</key><real>1.5</real><key>kZ</key><date>2003-10-20T09:"
	    "47:00Z</date><key>kE</key><dict/>" V1
	    KV("kMailAccountState", "Enabled") "</dict></plist>") == 0);

	/* Entities, references, CDATA and comments in text; CRLF. */
	CHECK("text forms: parsed", parse("<!-- made by hand -->\r\n<dict>"
	    "<key>k&#65;ttributeVersion</key><string>Apple&#x20;Mail 1.0"
	    "</string><key>kMailAccountState</key><string><![CDATA[Forw]]>"
	    "<!-- x -->ard</string><key>kAutoForwardValue</key><string>o&amp;"
	    "neil@example.org</string><key>kMailAccountLocation</key><string>"
	    "h&#xe9;&#233;\xc3\xa9</string></dict>\r\n") == 0);
	CHECK_STR("text forms: forward", am.forward, "o&neil@example.org");
	CHECK_STR("text forms: location", am.location,
	    "h\xc3\xa9\xc3\xa9\xc3\xa9");

	CHECK("quota max", parse("<dict>" V1 KV("kMailAccountState",
	    "Enabled") KV("kUserDiskQuota", "8796093022207") "</dict>") == 0 &&
	    am.quota_mb == APPLEMAIL_QUOTA_MB_MAX);
	CHECK("quota leading zeros", parse("<dict>" V1 KV("kMailAccountState",
	    "Enabled") KV("kUserDiskQuota", "0010") "</dict>") == 0 &&
	    am.quota_mb == 10);
	CHECK("empty elements", parse("<dict>" V1 "<key>kMailAccountState"
	    "</key><string>Off</string><key>kAltMailStoreLoc</key><string/>"
	    "<key/><string/></dict>") == 0);
	CHECK("xml decl variants", parse("<?xml version='1.0' standalone="
	    "'yes' ?><dict >" V1 KV("kMailAccountState", "Off") "</dict >")
	    == 0);
}

struct bad {
	const char *name, *xml, *why;
};

static const struct bad bads[] = {
	{ "empty", "", "byte 0: empty value" },
	{ "not xml", "Enabled", "byte 0: expected an element" },
	{ "a string root", "<string>x</string>",
	  "byte 0: the root must be <plist> or <dict>, not <string>" },
	{ "unclosed dict", "<dict>" V1,
	  "byte 65: unexpected end" },
	{ "unclosed string", "<dict><key>kMailAccountState</key><string>On",
	  "byte 44: unterminated <string>" },
	{ "missing version", "<dict>" KV("kMailAccountState", "Enabled")
	  "</dict>", "byte 58: kAttributeVersion is missing" },
	{ "wrong version", "<dict>" KV("kAttributeVersion", "AppleMail 1.0")
	  KV("kMailAccountState", "Enabled") "</dict>",
	  "byte 34: kAttributeVersion \"AppleMail 1.0\" is not Apple Mail "
	  "1.0 or 2.0" },
	{ "missing state", "<dict>" V1 "</dict>",
	  "byte 65: kMailAccountState is missing" },
	{ "unknown state", "<dict>" V1 KV("kMailAccountState", "On")
	  "</dict>", "byte 93: kMailAccountState \"On\" is not Enabled, Off "
	  "or Forward" },
	{ "state with spaces", "<dict>" V1 KV("kMailAccountState",
	  " Enabled") "</dict>", "byte 93: kMailAccountState \" Enabled\" is "
	  "not Enabled, Off or Forward" },
	{ "forward without address", "<dict>" V1 KV("kMailAccountState",
	  "Forward") "</dict>", "byte 117: kMailAccountState is Forward but "
	  "kAutoForwardValue is missing" },
	{ "forward empty", "<dict>" V1 KV("kMailAccountState", "Forward")
	  KV("kAutoForwardValue", "") "</dict>", "byte 162: kMailAccountState "
	  "is Forward but kAutoForwardValue is empty" },
	{ "forward list", "<dict>" V1 KV("kMailAccountState", "Forward")
	  KV("kAutoForwardValue", "a@b, c@d") "</dict>", "byte 145: "
	  "kAutoForwardValue is not one plain address (local@domain)" },
	{ "forward display name", "<dict>" V1 KV("kMailAccountState",
	  "Forward") KV("kAutoForwardValue", "Joe &lt;j@x&gt;") "</dict>",
	  "byte 145: kAutoForwardValue is not one plain address "
	  "(local@domain)" },
	{ "forward no domain", "<dict>" V1 KV("kMailAccountState", "Forward")
	  KV("kAutoForwardValue", "joe@") "</dict>", "byte 145: "
	  "kAutoForwardValue is not one plain address (local@domain)" },
	{ "forward two @", "<dict>" V1 KV("kMailAccountState", "Forward")
	  KV("kAutoForwardValue", "a@b@c") "</dict>", "byte 145: "
	  "kAutoForwardValue is not one plain address (local@domain)" },
	{ "quota not a number", "<dict>" V1 KV("kMailAccountState", "Enabled")
	  KV("kUserDiskQuota", "10MB") "</dict>", "byte 142: kUserDiskQuota "
	  "\"10MB\" is not a number of MB" },
	{ "quota negative", "<dict>" V1 KV("kMailAccountState", "Enabled")
	  KV("kUserDiskQuota", "-1") "</dict>", "byte 142: kUserDiskQuota "
	  "\"-1\" is not a number of MB" },
	{ "quota empty", "<dict>" V1 KV("kMailAccountState", "Enabled")
	  KV("kUserDiskQuota", "") "</dict>",
	  "byte 142: kUserDiskQuota is empty" },
	{ "quota overflow", "<dict>" V1 KV("kMailAccountState", "Enabled")
	  KV("kUserDiskQuota", "8796093022208") "</dict>", "byte 142: "
	  "kUserDiskQuota is larger than 8796093022207 MB" },
	{ "quota integer", "<dict>" V1 KV("kMailAccountState", "Enabled")
	  "<key>kUserDiskQuota</key><integer>5</integer></dict>",
	  "byte 142: kUserDiskQuota: expected <string>, found <integer>" },
	{ "imap unknown", "<dict>" V1 KV("kMailAccountState", "Enabled")
	  KV("kIMAPLoginState", "yes") "</dict>", "byte 143: kIMAPLoginState "
	  "\"yes\" is neither IMAPAllowed nor IMAPDeny" },
	{ "duplicate state", "<dict>" V1 KV("kMailAccountState", "Enabled")
	  KV("kMailAccountState", "Off") "</dict>",
	  "byte 117: kMailAccountState appears twice" },
	{ "key without value", "<dict>" V1 "<key>kMailAccountState</key>"
	  "</dict>", "byte 93: expected an element" },
	{ "value without key", "<dict><string>x</string></dict>",
	  "byte 6: expected <key> in <dict>, found <string>" },
	{ "mismatched end", "<dict>" V1 KV("kMailAccountState", "Off")
	  "</plist>", "byte 113: expected </dict>" },
	{ "uppercase element", "<Dict></Dict>",
	  "byte 0: unknown element <Dict>" },
	{ "unknown element", "<dict><key>a</key><foo/></dict>",
	  "byte 18: unknown element <foo>" },
	{ "attribute", "<dict id=\"1\"></dict>",
	  "byte 6: unexpected attribute in <dict>" },
	{ "unknown entity", "<dict><key>a&nbsp;</key><true/></dict>",
	  "byte 12: unknown entity (only &amp; &lt; &gt; &quot; &apos; and "
	  "&#N; are read)" },
	{ "raw ampersand", "<dict><key>a & b</key><true/></dict>",
	  "byte 13: unknown entity (only &amp; &lt; &gt; &quot; &apos; and "
	  "&#N; are read)" },
	{ "reference to NUL", "<dict><key>a&#0;</key><true/></dict>",
	  "byte 12: character reference to a character XML does not allow" },
	{ "reference to a surrogate", "<dict><key>&#xd800;</key><true/>"
	  "</dict>", "byte 11: character reference to a character XML does "
	  "not allow" },
	{ "reference too long", "<dict><key>&#x0000000041;</key><true/>"
	  "</dict>", "byte 11: bad character reference" },
	{ "reference not a number", "<dict><key>&#x4g;</key><true/></dict>",
	  "byte 11: bad character reference" },
	{ "internal subset (entity bomb)", "<?xml version=\"1.0\"?><!DOCTYPE "
	  "plist [<!ENTITY a \"aaaa\">]><plist><dict></dict></plist>",
	  "byte 37: a DOCTYPE with an internal subset is not read" },
	{ "other doctype", "<!DOCTYPE html><dict></dict>",
	  "byte 10: the DOCTYPE must be plist" },
	{ "latin-1 declared", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\""
	  "?><dict></dict>", "byte 30: encoding \"ISO-8859-1\" is not UTF-8" },
	{ "latin-1 bytes", "<dict><key>caf\xe9</key><true/></dict>",
	  "byte 0: not valid UTF-8" },
	{ "overlong UTF-8", "<dict><key>\xc0\xbc</key><true/></dict>",
	  "byte 0: not valid UTF-8" },
	{ "control character", "<dict><key>a\x01</key><true/></dict>",
	  "byte 12: control character in text" },
	{ "processing instruction", "<?php echo 1; ?><dict></dict>",
	  "byte 0: unexpected processing instruction" },
	{ "late xml declaration", " <?xml version=\"1.0\"?><dict></dict>",
	  "byte 1: unexpected processing instruction" },
	{ "bad comment", "<!-- a -- b --><dict></dict>",
	  "byte 7: \"--\" inside a comment" },
	{ "unterminated comment", "<dict><!-- ", "byte 6: unterminated "
	  "comment" },
	{ "cdata end in text", "<dict><key>a]]>b</key><true/></dict>",
	  "byte 12: \"]]>\" in text" },
	{ "unterminated cdata", "<dict><key><![CDATA[x</key></dict>",
	  "byte 11: unterminated CDATA section" },
	{ "text after the root", "<dict>" V1 KV("kMailAccountState", "Off")
	  "</dict><dict></dict>", "byte 120: text after the end of the "
	  "property list" },
	{ "two roots in plist", "<plist><dict></dict><dict></dict></plist>",
	  "byte 20: expected </plist>" },
	{ "plist holding an array", "<plist><array/></plist>",
	  "byte 15: <plist> must hold a <dict>, not <array>" },
	{ "true with content", "<dict><key>a</key><true>yes</true></dict>",
	  "byte 24: expected </true>" },
	{ "forward too long", "<dict>" V1 KV("kMailAccountState", "Forward")
	  "<key>kAutoForwardValue</key><string>"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "</string></dict>", "byte 145: kAutoForwardValue: longer than 320 "
	  "bytes" },
	{ "location with a tab", "<dict>" V1 KV("kMailAccountState", "Off")
	  KV("kMailAccountLocation", "a\tb") "</dict>", "byte 144: "
	  "kMailAccountLocation holds a control character" },
};

static void
hostile(void)
{
	char big[APPLEMAIL_MAX + 2];
	char deep[16 * 7 + 200];
	size_t n = 0;
	int r;

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const char *x = bads[i].xml;
		size_t len = strlen(x);
		char name[160];

		snprintf(name, sizeof(name), "refused: %s", bads[i].name);
		if (applemail_parse(x, len, &am, why, sizeof(why)) == 0)
			snprintf(why, sizeof(why), "(parsed)");
		CHECK_STR(name, why, bads[i].why);
	}
	/* The NUL byte: refused where it stands, not as an empty value. */
	CHECK_STR("refused: NUL inside", (applemail_parse("<dict>\0</dict>",
	    14, &am, why, sizeof(why)) == 0 ? "(parsed)" : why),
	    "byte 6: NUL byte");

	memset(big, ' ', sizeof(big));
	CHECK_STR("refused: too long", (applemail_parse(big, APPLEMAIL_MAX + 1,
	    &am, why, sizeof(why)) == 0 ? "(parsed)" : why),
	    "byte 0: longer than 65536 bytes");

	/* 17 nested arrays under a key: deeper than 16. */
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "<dict><key>a</key>");
	for (int i = 0; i < 17; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "<array>");
	CHECK_STR("refused: too deep", reason(deep),
	    "byte 123: nested deeper than 16");

	/* A tiny reason buffer is cut, never overrun. */
	memset(why, 'x', sizeof(why));
	r = applemail_parse("<x/>", 4, &am, why, 8);
	CHECK("tiny reason buffer", r == -1 && why[7] == '\0' &&
	    why[8] == 'x');
	CHECK("no reason buffer", applemail_parse("<x/>", 4, &am, NULL, 0) ==
	    -1);
}

int
main(void)
{
	real_world();
	hostile();
	return unit_done();
}
