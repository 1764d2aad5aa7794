#!/bin/sh
#
# maildirmake-howto-script.sh: the howto's makeMailMessageStoreDirs,
# RECONSTRUCTED, for the benchmark (bench/maildirmake.py) and as a note in
# tests/integration/test_maildirmake.py.  Not part of the product.
#
# The original script of the "ldap, postfix and courier-imap" howto could
# not be found (the stored copy of the howto ends before it).  This one is
# rebuilt from ../shared/SPEC.md's summary of its logic and from the
# failures issue 3 lists for it, in the style of its time: ldapsearch |
# grep | awk, Courier's maildirmake, a "subscribed" flag that is never
# reset, no paging, no quoting, run as root (so everything is root's).
# Where the summary leaves a choice, the choice that gives the timings the
# issue reports for the original on this kind of machine (about 37 s cold,
# 7 s warm for 10,000 accounts) was taken: maildirmake is simply run for
# every account and its "File exists" failure taken as "already there".
#
#   LDAPURI=ldap://... BINDDN=... BINDPW=... BASE=ou=Tokelau,o=company \
#   VMAIL=/vmail maildirmake-howto-script.sh
#
# Known wrong, on purpose (as the original): only the first subscriber of
# the first shared folder gets its shared-maildirs line; values with
# spaces are cut (awk '{print $2}', unquoted words); base64 values (a
# UTF-8 cn or DN) are not understood; lines longer than 76 characters are
# wrapped by ldapsearch and cut here; without paging a server size limit
# truncates the list (the benchmark binds as the rootdn, which has none);
# <VMAIL>/shared and <VMAIL>/shared.maildirs must already exist.

LDAPURI=${LDAPURI:-ldap://localhost/}
BINDDN=${BINDDN:-ou=System,o=company}
BINDPW=${BINDPW:-secret}
BASE=${BASE:-ou=Tokelau,o=company}
VMAIL=${VMAIL:-/vmail}

search() {
	ldapsearch -x -LLL -H $LDAPURI -D "$BINDDN" -w "$BINDPW" -b "$BASE" "$@"
}

# Personal maildirs: maildirmake refuses an existing maildir, so a
# failure means "already there" -- or a missing parent, made then.
# (CHECK_FIRST=yes: look with [ -d ] first, a cheaper variant the
# benchmark also times.)
for dir in `search '(&(accountStatus=active)(mailMessageStore=*))' \
    mailMessageStore | grep '^mailMessageStore:' | awk '{print $2}'`
do
	if [ "$CHECK_FIRST" = yes ] && [ -d $dir ]; then
		continue
	fi
	maildirmake $dir 2>/dev/null && continue
	[ -d $dir ] && continue
	mkdir -p `dirname $dir`
	maildirmake $dir
done

# Shared maildirs, their folders, the delivery links, the subscribers.
search '(accountStatus=shared)' cn uid mailMessageStore postOfficeBox |
while read attr value
do
	case $attr in
	dn:)	dn=$value ;;
	cn:)	nick=`echo $value | tr ' ./' '___'` ;;
	uid:)	uid=$value ;;
	mailMessageStore:) store=$value ;;
	postOfficeBox:) boxes="$boxes $value" ;;
	'')
		shared=`dirname $store | sed "s#^$VMAIL/shared/#$VMAIL/shared.maildirs/#"`
		if [ ! -d $shared ]; then
			maildirmake -S $shared
			maildirmake -s write -f $uid $shared
			for box in $boxes; do
				maildirmake -s write -f $box $shared
			done
			mkdir `dirname $store`
			ln -s $shared/.$uid `echo $store | sed 's#/$##'`
		fi
		for subscriber in `search "(seeAlso=$dn)" mailMessageStore |
		    grep '^mailMessageStore:' | awk '{print $2}'`
		do
			if [ "$subscribed" != yes ]; then
				maildirmake --add $nick=$shared $subscriber
				subscribed=yes
			fi
		done
		boxes=
		;;
	esac
done
