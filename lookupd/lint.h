/*
 * lint: `lookupd lint`, the directory problems the howto asks admins to
 * avoid, read once from LDAP and reported one line per problem as
 * "DN: text".
 *
 * The checks are pure (lint_new, lint_add_*, lint_run: no I/O, no LDAP),
 * so the unit tests feed entries by hand; lint_read() fills the same
 * struct from the directory and lint_command() is the whole command.
 */
#ifndef LDAPMAIL_LINT_H
#define LDAPMAIL_LINT_H

#include <stddef.h>

#include "common/cfg.h"

struct ldapconn;
struct lint;

/* An empty set of entries checked against mail_base (normalized, no
 * trailing "/"), shared_dir (one component) and account_base (where
 * seeAlso targets must live; named in messages).  Strings are copied. */
struct lint *lint_new(const char *mail_base, const char *shared_dir,
    const char *account_base);
void lint_free(struct lint *l);

/* Whether "@DOMAIN" (a catch-all) is an address: on when a map of the
 * configuration has catchall = yes.  Off by default. */
void lint_set_catchall(struct lint *l, int on);
/* One accepted domain (an associatedDomain value). */
void lint_add_domain(struct lint *l, const char *d, size_t len);
/* A new entry of the account leaf; returns its index. */
size_t lint_add_entry(struct lint *l, const char *dn);
/* A value of attr for entry i; attributes lint does not look at are
 * ignored (-1), see lint_attrs(). */
int lint_add_value(struct lint *l, size_t i, const char *attr,
    const char *v, size_t len);
/* The attributes lint looks at, NULL-terminated (for the search). */
const char *const *lint_attrs(const struct lint *l);
/* The account layout of profile name (howto by default; none: howto):
 * its attributes, account class and domains.  -1 for an unknown one. */
int lint_set_profile(struct lint *l, const char *name);

/* Called once per problem, in a stable order (entries by normalized DN,
 * then by check); dn as the directory sent it, made printable. */
typedef void (*lint_problem_fn)(const char *dn, const char *text, void *arg);
/* Run every check; the number of problems.  *accounts and *domains (if
 * not NULL) get how many accounts and distinct domains were seen. */
size_t lint_run(struct lint *l, lint_problem_fn fn, void *arg,
    size_t *accounts, size_t *domains);

/* Read domain_base and account_base (paged) into l.  -1 with err set
 * when the directory could not be read whole, -2 when it could not be
 * asked (down, too slow, busy). */
int lint_read(struct lint *l, const struct cfg *cfg, struct ldapconn *lc,
    char *err, size_t errsz);

/* `lookupd [-c FILE] lint`: exit 0 clean, 1 problems, 2 not read
 * (exit_temp(2) when LDAP could not be asked). */
int lint_command(const char *cfg_path, int argc, char **argv);

#endif
