/*
 * plan: from directory entries to the ordered list of file system objects
 * ldap-maildirmake must make exist.  Pure: no I/O, no LDAP, no globals;
 * the same entries always give the same plan.
 *
 * Every entry is checked whole first; an entry with any bad part (a path
 * outside mail_base, a bad folder name, a nickname that cannot be
 * written, a path another entry claims as something else) gives no
 * object at all and one problem naming it.  Objects come parents first;
 * each knows the object it is made in (parent) and the one that must
 * exist before it (need), so a failure skips exactly what depends on it.
 */
#ifndef LDAPMAIL_MDM_PLAN_H
#define LDAPMAIL_MDM_PLAN_H

#include <stddef.h>

#include "common/layout.h"

#define MDM_NONE ((size_t)-1)

/* One entry of the account leaf, as read. */
struct mdm_entry {
	char *dn;		/* as sent */
	char *ndn;		/* ldapconn_dn_normalize(dn); NULL if invalid */
	char *uuid;		/* entryUUID; NULL: the server gave none */
	struct layout_val *status;	/* accountStatus */
	size_t n_status;
	struct layout_val *mms;	/* mailMessageStore */
	size_t n_mms;
	struct layout_val *uid;
	size_t n_uid;
	struct layout_val *cn;
	size_t n_cn;
	struct layout_val *pob;	/* postOfficeBox */
	size_t n_pob;
	char **see;		/* seeAlso, normalized (NULL: not a DN) */
	size_t n_see;
	struct layout_val *qsize;	/* mailQuotaSize (bytes) */
	size_t n_qsize;
	struct layout_val *qcount;	/* mailQuotaCount (messages) */
	size_t n_qcount;
	struct layout_val *off;	/* the profile's off_attr (delete, ...) */
	size_t n_off;
	struct layout_val *addr;	/* the profile's addr_attr (jamm: mail) */
	size_t n_addr;
	int domain_off;		/* no address in a live domain (jamm) */
};

struct mdm_params {
	const char *mail_base;		/* normalized, no trailing "/" */
	const char *shared_dir;		/* one component */
	const char *shared_maildirs_dir; /* one component */
	const struct layout_profile *pf; /* the account layout; NULL: howto */
};

/* The layout's view of entry e (values shared, not copied). */
void mdm_entry_layout(const struct mdm_entry *e, struct layout_entry *le);

enum mdm_kind {
	MDM_DIR,		/* a parent directory, 0755 */
	MDM_MAILDIR,		/* maildirmake DIR */
	MDM_SHARABLE,		/* maildirmake -S DIR */
	MDM_FOLDER,		/* maildirmake -s write -f NAME: path is DIR/.NAME */
	MDM_LINK,		/* symlink path -> arg */
	MDM_SUBSCRIBE		/* line arg in path/shared-maildirs */
};

struct mdm_obj {
	enum mdm_kind kind;
	char *path;	/* absolute, no trailing "/" */
	size_t rel;	/* offset of the part below mail_base */
	char *arg;	/* LINK: target; SUBSCRIBE: "NICK\tS\n" */
	size_t parent;	/* object it is made in, or MDM_NONE (mail_base) */
	size_t need;	/* object that must exist first, or MDM_NONE */
	size_t entry;	/* first entry that asked for it, or MDM_NONE */
};

/* Why an entry gives nothing. */
struct mdm_problem {
	size_t entry;
	char *text;	/* "mailMessageStore \"...\" is not inside mail_base" */
};

struct mdm_plan;

/* The plan for n entries.  Never fails (out of memory is fatal). */
struct mdm_plan *mdm_plan_build(const struct mdm_entry *e, size_t n,
    const struct mdm_params *prm);
void mdm_plan_free(struct mdm_plan *pl);

size_t mdm_plan_nobj(const struct mdm_plan *pl);
const struct mdm_obj *mdm_plan_obj(const struct mdm_plan *pl, size_t i);
size_t mdm_plan_nproblems(const struct mdm_plan *pl);
const struct mdm_problem *mdm_plan_problem(const struct mdm_plan *pl,
    size_t i);
/* The objects entry i needs (its own and their parents), in plan order;
 * none for an entry that was refused or asks for nothing. */
size_t mdm_plan_entry_objs(const struct mdm_plan *pl, size_t entry,
    const size_t **objs);

/* The shared-maildirs nickname for a cn (layout_nickname; a cn that
 * cannot be one is returned as it is).  A fresh string. */
char *mdm_nickname(const char *cn, size_t len);

/* A short name of a kind ("maildir", "sharable maildir", ...). */
const char *mdm_kind_name(enum mdm_kind k);

#endif
