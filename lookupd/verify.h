/*
 * verify: `lookupd [-c FILE] verify [MAP...] [-k KEYFILE] [--rate N]`,
 * every key of each map's snapshot (and of KEYFILE) asked of LDAP live
 * with the map's own query, as the daemon's live path asks it (a native
 * map: live.c; an ldap_table map: pfldap, as Postfix's ldap: would), and
 * every answer that differs from the snapshot's printed on a line.
 */
#ifndef LDAPMAIL_VERIFY_H
#define LDAPMAIL_VERIFY_H

/* 0 no difference, 1 differences, 2 usage, configuration, a snapshot
 * missing or damaged, or LDAP not answering (exit_temp: 75 with
 * --tempfail). */
int verify_command(const char *cfg_path, int argc, char **argv);

#endif
