##VERSION: ldapmail
#
# authldaprc.ox: Courier authlib's LDAP module (courier-authlib-ldap 0.71,
# Debian 12) for a directory of Open-Xchange users (ldapmail's profile =
# ox).  Install as /etc/courier/authldaprc, owner root, group courier,
# mode 0640, as courier/README says for the howto's authldaprc.
#
# What it does:
#   - login by uid ("alice") or by the mail address;
#   - only users with mailEnabled=OK (compared without case) may log in;
#     a user whose mailbox is elsewhere (colocRouteAddr) may not;
#   - the password is checked by binding as the user (LDAP_AUTHBIND);
#   - the home directory is <LDAP_MAILROOT>/<uid> and the maildir its
#     Maildir, where Postfix's virtual(8) delivers the ox profile's
#     mailbox answer "<uid>/Maildir/" (virtual_mailbox_base = mail_base);
#     LDAP_MAILROOT is mail_base of ldapmail.conf.
#
# Format: NAME, then tabs or spaces, then the value; no trailing blanks.
# Keep the ## lines and the MARKER section at the end.

##NAME: LOCATION:1
#
# The directory server(s), tried in turn.  With ldaps:// leave LDAP_TLS
# at 0; with ldap:// to another host, set LDAP_TLS 1 (StartTLS) so that
# passwords do not cross the network in clear.

LDAP_URI		ldap://localhost/

##NAME: LDAP_PROTOCOL_VERSION:0

LDAP_PROTOCOL_VERSION	3

##NAME: LDAP_BASEDN:0
#
# The account leaf (account_base of ldapmail.conf).

LDAP_BASEDN		ou=OX,o=company

##NAME: LDAP_BINDDN:0
#
# The read-only system DN (bind_dn of ldapmail.conf) finds the entry;
# the user's own bind then checks the password.

LDAP_BINDDN		ou=System,o=company
LDAP_BINDPW		system-secret

##NAME: LDAP_TIMEOUT:0

LDAP_TIMEOUT		5

##NAME: LDAP_AUTHBIND:0
#
# Check passwords by binding as the user: userPassword is never readable
# (the shipped slapd ACLs give it "by anonymous auth" only).

LDAP_AUTHBIND		1

##NAME: LDAP_INITBIND:1

LDAP_INITBIND		1

##NAME: LDAP_MAIL:0
#
# The login name is looked up in uid.  A login with an '@' goes through
# LDAP_EMAILMAP below instead.

LDAP_MAIL		uid

##NAME: LDAP_FILTER:0
#
# ANDed with every account search: only active accounts log in.

LDAP_FILTER		(&(objectClass=OXUserObject)(mailEnabled=OK)(!(colocRouteAddr=*)))

##NAME: LDAP_GLOB_IDS:0
#
# Every maildir belongs to mail_owner (ldapmail.conf); Postfix's
# virtual_uid_maps and virtual_gid_maps name the same user.

LDAP_GLOB_UID		vmail
LDAP_GLOB_GID		vmail

##NAME: LDAP_HOMEDIR:0
#
# authlib needs a home directory it can chdir to; the accounts have no
# homeDirectory, so the maildir serves as home too.

LDAP_HOMEDIR		uid

##NAME: LDAP_MAILROOT:0
#
# mail_base of ldapmail.conf: the root of the relative home directories.

LDAP_MAILROOT		/vmail

##NAME: LDAP_MAILDIR:0

# LDAP_MAILDIR: none, the home's Maildir

##NAME: LDAP_MAILDIRQUOTA:0
#
# Not set: OX's attributes hold no mail quota for Courier.
# A directory holding Courier's own "quota" attribute (authldap.schema,
# a string like "104857600S") may set:
#LDAP_MAILDIRQUOTA	quota

##NAME: LDAP_FULLNAME:0

LDAP_FULLNAME		cn

##NAME: LDAP_PW:0
#
# No LDAP_CLEARPW or LDAP_CRYPTPW: with LDAP_AUTHBIND authlib never reads
# a password attribute (and the ACLs let nobody read userPassword, nor
# change it: password changes through Courier are not offered).

##NAME: LDAP_AUXOPTIONS:0
#
# No per-account options.  Present (empty) because authlib 0.71 logs
# "LDAP_AUXOPTIONS not found" at every login when the name is missing.

LDAP_AUXOPTIONS

##NAME: LDAP_DEREF:0

LDAP_DEREF		never

##NAME: LDAP_TLS:0

LDAP_TLS		0

##NAME: LDAP_EMAILMAP:0
#
# Login by address: user@realm is first looked up here (in
# LDAP_EMAILMAP_BASEDN), the entry's LDAP_EMAILMAP_ATTRIBUTE (its uid)
# is then looked up as LDAP_EMAILMAP_MAIL in LDAP_BASEDN, with
# LDAP_FILTER.  \40 is a literal '@' in the filter.  Only the account's
# mail value logs in, not its mailAlternateAddress values.

LDAP_EMAILMAP		(mail=@user@\40@realm@)

##NAME: LDAP_EMAILMAP_BASEDN:0

LDAP_EMAILMAP_BASEDN	ou=OX,o=company

##NAME: LDAP_EMAILMAP_ATTRIBUTE:0

LDAP_EMAILMAP_ATTRIBUTE	uid

##NAME: LDAP_EMAILMAP_MAIL:0

LDAP_EMAILMAP_MAIL	uid

##NAME: MARKER:0
#
# Do not remove this section from this configuration file. This section
# must be present at the end of this file.
