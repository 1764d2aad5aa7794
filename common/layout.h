/*
 * layout: the one rule that turns an account entry into file system
 * paths, for ldap-maildirmake (what to build), `lookupd lint` (what is
 * wrong) and `lookupd route` (where mail goes).  Pure: no I/O, no LDAP,
 * no globals; entry values in, a layout or the reasons against it out.
 *
 * The howto's layout (the only profile of release 1):
 *   - accountStatus active: mailMessageStore, one value, absolute,
 *     normalized, strictly inside mail_base, ending in "/", is a maildir;
 *   - accountStatus shared: mailMessageStore P lies at least two levels
 *     below <mail_base>/<shared_dir>/; S, the parent of P with
 *     <shared_dir> replaced by <shared_maildirs_dir>, is a sharable
 *     maildir; its folders are S/.UID (the one uid, which receives the
 *     mail) and S/.BOX for each postOfficeBox; P (without its "/") is a
 *     delivery link to S/.UID; the first cn names S in the subscribers'
 *     shared-maildirs file (layout_nickname);
 *   - inactive, no or another status: nothing is built.
 * mail_base "/" joins without a second "/" ("/shared/...").
 *
 * The other profiles (rows of the table in layout.c, one per profile of
 * common/profile.c) have no shared folders; an entry is active when the
 * profile's mailbox map answers for it, and its maildir is that answer
 * below mail_base:
 *   - jamm: accountActive TRUE, no delete TRUE, an address in a live
 *     JammVirtualDomain (the caller says: domain_off); <mail_base>/mailbox
 *     (one value, ending in "/");
 *   - ox: a mailEnabled OK (any case), no colocRouteAddr;
 *     <mail_base>/<first uid>/Maildir;
 *   - apple: the one apple-user-mailattribute plist says Enabled
 *     (common/applemail; unreadable: a problem that refuses the entry);
 *     <mail_base>/<first uid>/Maildir; kUserDiskQuota MB is the quota.
 */
#ifndef LDAPMAIL_LAYOUT_H
#define LDAPMAIL_LAYOUT_H

#include <stddef.h>

#include "common/safepath.h"

struct buf;

/* How a schema says an account is active and where its maildir is. */
enum layout_kind {
	LAYOUT_KIND_HOWTO,	/* accountStatus; absolute mailMessageStore */
	LAYOUT_KIND_JAMM,	/* accountActive=TRUE, not delete=TRUE;
				 * mailbox relative to mail_base */
	LAYOUT_KIND_OX,		/* mailEnabled=OK, no colocRouteAddr;
				 * <mail_base>/<first uid>/Maildir */
	LAYOUT_KIND_APPLE	/* the plist's kMailAccountState Enabled;
				 * <mail_base>/<first short name>/Maildir */
};

/* How one schema lays accounts out. */
struct layout_profile {
	const char *name;		/* "howto" */
	enum layout_kind kind;
	const char *status_attr;	/* accountStatus */
	const char *off_attr;		/* delete, colocRouteAddr; or NULL */
	const char *store_attr;		/* mailMessageStore */
	const char *folder_attr;	/* uid: the shared folder mail goes to */
	const char *box_attr;		/* postOfficeBox: more shared folders */
	const char *nick_attr;		/* cn: the shared maildir's nickname */
	const char *quota_size;		/* bytes (NULL: apple, in the plist) */
	const char *quota_count;	/* messages */
	const char *filter;		/* the entries with a maildir to make */
	const char *filter_named;	/* every entry naming one (--orphans) */
	const char *const *attrs;	/* what ldap-maildirmake reads */
	/* jamm: the live domains below domain_base (NULL: none kept), their
	 * name attribute, and the account's address attribute; an account
	 * none of whose addresses is in a live domain is disabled. */
	const char *domain_filter;
	const char *domain_attr;
	const char *addr_attr;
};

/* The layout of profile name (common/profile: howto, jamm, ox, apple;
 * "none" and NULL: the howto's), NULL if there is none. */
const struct layout_profile *layout_profile(const char *name);

struct layout_params {
	const char *mail_base;		/* normalized, no trailing "/" */
	const char *shared_dir;		/* one component */
	const char *shared_maildirs_dir; /* one component */
};

/* One attribute value as the directory sent it (p NUL-terminated; a NUL
 * inside is possible and refused by the checks). */
struct layout_val {
	char *p;
	size_t len;
};

/* The values of one entry the layout reads (profile's attributes). */
struct layout_entry {
	const struct layout_val *status;
	size_t n_status;
	const struct layout_val *store;
	size_t n_store;
	const struct layout_val *folder;
	size_t n_folder;
	const struct layout_val *box;
	size_t n_box;
	const struct layout_val *off;	/* off_attr */
	size_t n_off;
	const struct layout_val *qsize;	/* quota_size */
	size_t n_qsize;
	const struct layout_val *qcount; /* quota_count */
	size_t n_qcount;
	int domain_off;		/* jamm: no address in a live domain */
};

enum layout_status {
	LAYOUT_NONE,		/* no status value */
	LAYOUT_ACTIVE,
	LAYOUT_INACTIVE,
	LAYOUT_SHARED,
	LAYOUT_OTHER,		/* a value the profile does not know */
	LAYOUT_MANY		/* more than one value */
};

enum layout_code {
	LAYOUT_STATUS_MISSING,
	LAYOUT_STATUS_MANY,
	LAYOUT_STATUS_UNKNOWN,	/* v: the value */
	LAYOUT_STORE_MISSING,
	LAYOUT_STORE_MANY,
	LAYOUT_STORE_NO_SLASH,	/* v: the store (not a maildir) */
	LAYOUT_STORE_PATH,	/* v, se: not usable below mail_base */
	LAYOUT_SHARED_OUTSIDE,	/* v: not under <mail_base>/<shared_dir>/ */
	LAYOUT_SHARED_FLAT,	/* v: directly in it (no NAME/FOLDER) */
	LAYOUT_FOLDER_MISSING,
	LAYOUT_FOLDER_MANY,
	LAYOUT_FOLDER_BAD,	/* v, se: the uid is no folder name */
	LAYOUT_BOX_BAD,		/* v, se: a postOfficeBox is none */
	LAYOUT_FOLDERS_TOO_LONG, /* v: the store; a folder >= PATH_MAX */
	LAYOUT_NICK_MISSING,
	LAYOUT_NICK_BAD,	/* v: empty, NUL or not UTF-8 */
	LAYOUT_NICK_CONTROL,	/* v: a control character */
	LAYOUT_PLIST_BAD	/* v, why: an unreadable mail plist */
};

/* Why (part of) an entry cannot be used. */
struct layout_problem {
	enum layout_code code;
	int refuses;		/* 1: the entry gives nothing; 0: a part
				 * nothing is built from (lint reports it) */
	size_t n;		/* the count for *_MANY */
	enum safepath_err se;	/* for *_PATH, *_BAD */
	const struct layout_val *v;	/* the value, or NULL */
	char why[128];		/* *_PLIST_BAD: the reader's reason */
};

/* What an entry asks for. */
struct layout {
	enum layout_status status;
	int ok;			/* no problem refuses the entry */
	char *maildir;		/* active: the maildir, no trailing "/" */
	char *shared;		/* shared: S, the sharable maildir */
	char *link;		/* shared: P without its "/" */
	char *target;		/* shared: S/.UID, the link's target */
	char **folders;		/* shared: S/.UID, then S/.BOX... */
	size_t nfolders;
	struct layout_problem *prob;	/* in the order lint reports them */
	size_t nprob;
};

/* The status an entry's values give (values compared ignoring case;
 * pf NULL: the howto's).  Howto only: the status attribute alone. */
enum layout_status layout_status(const struct layout_profile *pf,
    const struct layout_val *v, size_t n);

/* The status of entry e in profile pf (NULL: the howto's): ACTIVE when
 * its mailbox map answers (jamm: accountActive TRUE and no delete TRUE;
 * (and e->domain_off not set); ox: a mailEnabled OK, no colocRouteAddr;
 * apple: the one plist says
 * Enabled), INACTIVE when not, NONE without the status attribute, MANY
 * for two plists; OTHER for an unreadable plist. */
enum layout_status layout_state(const struct layout_profile *pf,
    const struct layout_entry *e);

/* The maildir path value v names, "/" kept at its end (howto: v itself;
 * jamm: <mail_base>/v; ox, apple: <mail_base>/v/Maildir/), fresh and not
 * checked. */
char *layout_store_path(const struct layout_profile *pf,
    const struct layout_params *prm, const struct layout_val *v);

struct mdquota;
/* The quota e's attributes give (howto, jamm, ox: quota_size bytes and
 * quota_count messages; apple: kUserDiskQuota MB of the plist): 1 (q
 * set), 0 (none given), -1 (why: a value that is no quota). */
int layout_quota(const struct layout_profile *pf,
    const struct layout_entry *e, struct mdquota *q, char *why,
    size_t whysz);

/* The layout of entry e; every problem found, in order.  Parts are set
 * only when out->ok.  Never fails (out of memory is fatal). */
void layout_build(const struct layout_profile *pf,
    const struct layout_params *prm, const struct layout_entry *e,
    struct layout *out);
void layout_free(struct layout *l);

/* A shared store (len bytes) split: LAYOUT_SHARED_OUTSIDE when it is not
 * below <mail_base>/<shared_dir>/, LAYOUT_SHARED_FLAT when it lies
 * directly there; else 0 with *link (the store without one trailing "/")
 * and *shared (S) fresh strings.  The path itself is not checked. */
int layout_shared_split(const struct layout_params *prm, const char *store,
    size_t len, char **link, char **shared);

/* "<mail_base>/<dir>" (mail_base "/": "/<dir>"), a fresh string. */
char *layout_base_join(const struct layout_params *prm, const char *dir);

/* The folder NAME (len bytes) of a sharable maildir: "S/.NAME", fresh. */
char *layout_folder_path(const char *shared, const char *name, size_t len);

/* The shared-maildirs nickname of the first of n nickname values: a fresh
 * string with every " ", "." and "/" turned into "_" (UTF-8 kept), or
 * NULL with *p set when it cannot be one. */
char *layout_nickname(const struct layout_val *v, size_t n,
    struct layout_problem *p);

/* One line of text for p: "mailMessageStore \"/x\" is not inside
 * mail_base /vmail", values quoted (see buf_put_shown), appended to out. */
void layout_problem_text(const struct layout_profile *pf,
    const struct layout_params *prm, const struct layout_problem *p,
    struct buf *out);

#endif
