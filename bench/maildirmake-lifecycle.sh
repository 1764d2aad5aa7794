#!/bin/sh
#
# maildirmake-lifecycle.sh: the reference side of
# `bench/maildirmake.py --lifecycle`.  Not part of the product.
#
# 1. The howto's makeMailMessageStoreDirs as published, unchanged, run
#    from ../shared/reference/ ($REFERENCE): the maildirs, the shared
#    folders and the first subscriber's shared-maildirs line.
# 2. What the howto's script does not do and ldap-maildirmake does with
#    default_folders and mailQuotaSize, done with Courier's maildirmake in
#    the script's own style (one ldapsearch, then a shell loop), for every
#    active account:
#      - each folder of $FOLDERS missing: `maildirmake -f NAME DIR`, and
#        the line INBOX.NAME appended to DIR/courierimapsubscribed (what
#        imapd's SUBSCRIBE writes);
#      - a mailQuotaSize Q whose maildirsize does not begin with "QS":
#        `maildirmake -q QS DIR`.
#    Every test is a shell builtin ([ -d ], read), so a warm run forks
#    nothing here: as cheap as a script can be, to be fair to it.
#
#   LDAPURI=ldap://... SYSTEMPASS=... SYSTEMLEAVE=DN ACCOUNTLEAVE=BASE \
#   REFERENCE=.../makeMailMessageStoreDirs FOLDERS="Sent Drafts Trash" \
#   maildirmake-lifecycle.sh

"${REFERENCE:?}" || exit 1

ldapsearch -x -LLL -o ldif-wrap=no -w "$SYSTEMPASS" -D "$SYSTEMLEAVE" \
    -b "$ACCOUNTLEAVE" "(accountStatus=active)" mailMessageStore \
    mailQuotaSize |
awk '/^mailMessageStore:/ { d = $2 }
     /^mailQuotaSize:/ { q = $2 }
     /^$/ { if (d != "") print d, q; d = ""; q = "" }
     END { if (d != "") print d, q }' |
while read dir quota
do
	for f in $FOLDERS
	do
		if [ ! -d $dir/.$f ]
		then
			maildirmake -f $f $dir
			echo "INBOX.$f" >> $dir/courierimapsubscribed
		fi
	done
	if [ -n "$quota" ]
	then
		line=
		[ -f $dir/maildirsize ] && read line < $dir/maildirsize
		if [ "$line" != "${quota}S" ]
		then
			maildirmake -q ${quota}S $dir
		fi
	fi
done
