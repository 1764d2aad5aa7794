/*
 * applemail: the mail settings of a Mac OS X Server Open Directory user,
 * read from its apple-user-mailattribute value (an XML property list).
 *
 * A pure, bounded reader of the small subset of XML that property list
 * uses: no I/O, no allocation, no globals.  A value it cannot read whole
 * and for sure is an error with a reason (lint reports it; the account
 * is not deliverable), never a guess.  See applemail.c for the grammar.
 */
#ifndef LDAPMAIL_APPLEMAIL_H
#define LDAPMAIL_APPLEMAIL_H

#include <stddef.h>

/* Longest value read; a longer one is refused whole. */
#define APPLEMAIL_MAX		65536
/* Longest kAutoForwardValue, kMailAccountLocation, kAltMailStoreLoc. */
#define APPLEMAIL_ADDR_MAX	320
#define APPLEMAIL_HOST_MAX	255
#define APPLEMAIL_PATH_MAX	1023
/* Largest kUserDiskQuota (MB) whose bytes still fit Courier's int64. */
#define APPLEMAIL_QUOTA_MB_MAX	8796093022207ULL

/* kMailAccountState */
enum applemail_state {
	APPLEMAIL_ENABLED,	/* "Enabled": mail is delivered */
	APPLEMAIL_OFF,		/* "Off": not deliverable */
	APPLEMAIL_FORWARD	/* "Forward": to kAutoForwardValue only */
};

/* kIMAPLoginState, kPOP3LoginState (Apple treats UNSET as DENIED). */
enum applemail_login {
	APPLEMAIL_LOGIN_UNSET,
	APPLEMAIL_LOGIN_ALLOWED,
	APPLEMAIL_LOGIN_DENIED
};

struct applemail {
	int version;			/* 1 or 2 (kAttributeVersion) */
	enum applemail_state state;
	char forward[APPLEMAIL_ADDR_MAX + 1];	/* "" unless FORWARD */
	unsigned long long quota_mb;	/* kUserDiskQuota; 0 = none */
	enum applemail_login imap;
	enum applemail_login pop3;
	char location[APPLEMAIL_HOST_MAX + 1];	/* kMailAccountLocation */
	char altstore[APPLEMAIL_PATH_MAX + 1];	/* kAltMailStoreLoc */
};

/* Read len bytes of XML into *out: 0, or -1 with "byte N: reason" in
 * why (out is then unspecified). */
int applemail_parse(const char *xml, size_t len, struct applemail *out,
    char *why, size_t whysz);

/* The state as Apple writes it ("Enabled", "Off", "Forward"). */
const char *applemail_state_name(enum applemail_state s);

#endif
