/*
 * route: `lookupd route ADDRESS`, the way Postfix takes an address with
 * the shipped configuration (virtual_mailbox_domains = the `domain` map,
 * virtual_alias_maps = `alias`, virtual_mailbox_maps = `mailbox`, and
 * `uid`, `gid`, `transport` maps when the configuration has them),
 * step by step, each answer with where it came from and the DN behind it.
 *
 * The walk (route_run) is pure: every answer comes through a resolver, so
 * the unit tests drive it with a table and the command with the
 * daemon's own code (snapshot files first, live LDAP for what they lack).
 * Postfix's limits are modelled: virtual_alias_recursion_limit,
 * virtual_alias_expansion_limit, virtual_alias_address_length_limit
 * (1000 each by default), and "an address may expand into itself once".
 */
#ifndef LDAPMAIL_ROUTE_H
#define LDAPMAIL_ROUTE_H

#include <stddef.h>

#include "common/buf.h"
#include "lookupd/result.h"

enum route_source {
	ROUTE_SRC_NONE,		/* decided by the key rules, nothing asked */
	ROUTE_SRC_SNAPSHOT,	/* the map's cdb file */
	ROUTE_SRC_LIVE		/* LDAP, asked now */
};

/* One answer as lookupd would give it.  route.c initializes and frees
 * the buffers; a resolver appends to them. */
struct route_answer {
	enum result res;
	enum route_source src;
	int unreachable;	/* TEMP because LDAP could not be asked */
	struct buf value;	/* FOUND: the answer, extension carried */
	struct buf key;		/* FOUND: the key (walk step) that matched */
	struct buf snapshot;	/* the cdb file consulted, if any */
	long age;		/* its age in seconds, -1 without one */
	struct buf snapstate;	/* why the snapshot was not used, if so */
	struct buf dns;		/* DNs behind the answer, "\n"-separated */
	struct buf sources;	/* ldap_table maps: "DN TAB VALUE" lines, the
				 * entry each value came from */
	int dn_known;		/* 0: LDAP could not be asked for them */
	struct buf notes;	/* remarks, "\n"-separated */
	char err[512];		/* TEMP/PERM: why */
};

struct route_resolver {
	/* Does the configuration have a map of this name? */
	int (*has_map)(void *ctx, const char *map);
	/* Answer map/key as the daemon would. */
	void (*lookup)(void *ctx, const char *map, const char *key,
	    struct route_answer *a);
	/* Values of attr of the entry dn, "\n"-separated, appended to out:
	 * 0, or -1 with err set when the directory could not be asked. */
	int (*attr)(void *ctx, const char *dn, const char *attr,
	    struct buf *out, char *err, size_t errsz);
	void *ctx;
	/* DNs of the entries below domain_base that filter matches,
	 * "\n"-separated, appended to out: 0, or -1 with err set (NULL: not
	 * asked).  Why a domain is not accepted (jamm: an inactive domain). */
	int (*domains)(void *ctx, const char *filter, struct buf *out,
	    char *err, size_t errsz);
};

struct route_params {
	const char *mail_base;		/* no trailing "/" */
	const char *shared_dir;
	const char *shared_maildirs_dir;
	size_t recursion_limit;		/* Postfix: 1000 */
	size_t expansion_limit;		/* Postfix: 1000 */
	size_t addrlen_limit;		/* Postfix: 1000 */
	/* Check the delivery link of a shared folder on disk (0: say
	 * "not checked"). */
	int check_disk;
	/* The profile's account layout (common/layout; NULL: the howto's):
	 * which of its mailboxes are shared folders, and what names one. */
	const struct layout_profile *layout;
};

struct route;
struct layout_profile;

/* Follow address.  Never fails (out of memory is fatal). */
struct route *route_run(const struct route_params *p,
    const struct route_resolver *r, const char *address);
/* 0 deliverable, 1 Postfix rejects or cannot deliver, 2 the answer
 * depends on LDAP and LDAP could not be asked. */
int route_exit(const struct route *rt);
/* One fact per line ("name: value"), steps as "KIND SUBJECT: SUMMARY". */
void route_text(const struct route *rt, struct buf *out);
/* The same facts as one JSON object and a newline. */
void route_json(const struct route *rt, struct buf *out);
void route_free(struct route *rt);

/* `lookupd [-c FILE] route ADDRESS [-j]`. */
int route_command(const char *cfg_path, int argc, char **argv);

#endif
