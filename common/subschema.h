/*
 * subschema: the equality matching rule of each attribute type, read
 * from a server's subschema entry (attributeTypes values, RFC 4512
 * section 4.1.2), with rules inherited through SUP as RFC 4512 says
 * (cn has none of its own: it takes name's caseIgnoreMatch).  Pure:
 * values in, lookups out.  Limits: 64 levels of SUP; a description it
 * cannot read is skipped (its attribute then has no known rule, which
 * makes a query on it live-only, never a guess).
 */
#ifndef LDAPMAIL_SUBSCHEMA_H
#define LDAPMAIL_SUBSCHEMA_H

#include <stddef.h>

struct subschema;

struct subschema *subschema_new(void);
/* Add one attributeTypes value (len bytes). 0, or -1 if unreadable. */
int subschema_add(struct subschema *s, const char *desc, size_t len);
/* The EQUALITY rule of attr (any of its names or its OID, without
 * case), inherited through SUP; NULL when none is known. */
const char *subschema_equality(const struct subschema *s, const char *attr);
void subschema_free(struct subschema *s);

#endif
