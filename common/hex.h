/*
 * hex: hexadecimal digits, both ways, for every codec that needs them
 * (tcp_table's %XX escapes, snapshot digests).  Pure: no I/O, no state.
 */
#ifndef LDAPMAIL_HEX_H
#define LDAPMAIL_HEX_H

#include <stddef.h>

/* The value of one hex digit (either case), or -1. */
int hex_value(int c);
/* n bytes as 2n lowercase hex digits and a NUL (out: 2n + 1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);

#endif
