/*
 * profile: the built-in maps of each directory design ldapmail knows
 * (`profile = howto | jamm | ox | apple | none`), as the native map
 * definitions a [map] section would give.  A table, no code: cfg.c turns
 * the rows into maps, and [map NAME] sections add to them or replace the
 * row of the same name.
 */
#ifndef LDAPMAIL_PROFILE_H
#define LDAPMAIL_PROFILE_H

#include <stddef.h>

#include "common/cfg.h"

/* One built-in map: the fields of a [map] section. */
struct profile_map {
	const char *name;
	int on_domain_base;	/* base = domain_base (else account_base) */
	const char *filter;
	const char *key;	/* attribute names, white space between */
	const char *result;
	const char *format;
	enum cfg_kind kind;
	int catchall;
	int single;
	int short_names;
	int key_domain;
	enum cfg_values values;
	enum cfg_apple apple;
};

struct profile {
	const char *name;
	const struct profile_map *maps;
	size_t n_maps;
};

/* The profile called name, or NULL. */
const struct profile *profile_find(const char *name);

/* "howto, jamm, ox, apple, none", for messages. */
const char *profile_names(void);

#endif
