/*
 * import: `lookupd import [-d DIR] [MAIN.CF | -]`, Postfix's ldap:
 * tables made into an ldapmail.conf (see import.c).
 */
#ifndef LDAPMAIL_IMPORT_H
#define LDAPMAIL_IMPORT_H

/* The command: 0 done, 1 no ldap: table found, 2 an error. */
int import_command(int argc, char **argv);

#endif
