/*
 * result: the one answer type of every lookup, whatever asked.
 *
 * FOUND carries a value; NOTFOUND makes Postfix reject or bounce, so it is
 * only ever given when the directory (or a snapshot of it) was actually
 * consulted; TEMP defers mail; PERM is reserved for requests that can
 * never succeed (unknown map name).  reply.c maps these onto the two
 * wire protocols, and nowhere else does.
 */
#ifndef LDAPMAIL_RESULT_H
#define LDAPMAIL_RESULT_H

enum result {
	RES_FOUND,
	RES_NOTFOUND,
	RES_TEMP,
	RES_PERM
};

#endif
