/*
 * ldaptable-answer: what lookupd's ldap_table code answers for keys, the
 * way `postmap -q - ldap:FILE` prints Postfix's answers, for the
 * differential tests.
 *
 *   ldaptable-answer [-a] FILE < keys
 *   ldaptable-answer -c FILE
 *
 * FILE is an ldap_table(5) file (common/ldaptable.c), each key is
 * answered live by lookupd/pfldap.c.  Keys are taken as Postfix's
 * clients send them to lookupd (already case-folded): the test folds
 * them as postmap does.  Output: "KEY<TAB>VALUE" for a key found, as
 * postmap prints; with -a one line for every key: "FOUND<TAB>KEY<TAB>
 * VALUE", "NOTFOUND<TAB>KEY" or "TEMP<TAB>KEY<TAB>REASON".  A bad FILE:
 * its one error line on stderr, exit 78.  Exit 75 when a key was TEMP.
 * -c: the table's class (common/tableclass.c) with the server's own
 * subschema rules: "enumerable: ATTR..." or "live-only: REASON".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/ldaptable.h"
#include "common/log.h"
#include "common/subschema.h"
#include "common/tableclass.h"
#include "lookupd/pfldap.h"

static const char *
rule_of(const char *attr, void *arg)
{
	return subschema_equality(arg, attr);
}

int
main(int argc, char **argv)
{
	struct ldaptable *t;
	struct pfldap *p;
	struct buf out = BUF_INIT;
	char err[1024], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int all = 0, temp = 0, classify = 0, c;

	log_open("ldaptable-answer", 1);
	while ((c = getopt(argc, argv, "ac")) != -1) {
		if (c == 'a') {
			all = 1;
		} else if (c == 'c') {
			classify = 1;
		} else {
			fprintf(stderr, "usage: ldaptable-answer [-a] FILE\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: ldaptable-answer [-a] FILE\n");
		return 2;
	}
	if (ldaptable_load(argv[optind], &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "ldaptable-answer: %s\n", err);
		return 78;
	}
	if (pfldap_supported(t, err, sizeof(err)) < 0) {
		fprintf(stderr, "ldaptable-answer: %s\n", err);
		ldaptable_free(t);
		return 78;
	}
	p = pfldap_new(t);
	if (classify) {
		struct subschema *ss;
		struct tableclass tc;

		if (pfldap_subschema(p, &ss, err, sizeof(err)) < 0) {
			fprintf(stderr, "ldaptable-answer: subschema: %s\n",
			    err);
			pfldap_free(p);
			ldaptable_free(t);
			return 75;
		}
		tableclass_classify(t, rule_of, ss, &tc);
		if (tc.enumerable) {
			printf("enumerable:");
			for (size_t i = 0; i < tc.nkey_attrs; i++)
				printf(" %s", tc.key_attrs[i]);
			printf("\n");
		} else {
			printf("live-only: %s\n", tc.why);
		}
		tableclass_free(&tc);
		subschema_free(ss);
		pfldap_free(p);
		ldaptable_free(t);
		return 0;
	}
	while ((n = getline(&line, &cap, stdin)) > 0) {
		enum pfldap_result r;

		if (line[n - 1] == '\n')
			line[--n] = '\0';
		r = pfldap_lookup(p, line, &out, err, sizeof(err));
		if (r == PFLDAP_FOUND && all)
			printf("FOUND\t%s\t%s\n", line, buf_str(&out));
		else if (r == PFLDAP_FOUND)
			printf("%s\t%s\n", line, buf_str(&out));
		else if (r == PFLDAP_NOTFOUND && all)
			printf("NOTFOUND\t%s\n", line);
		else if (r == PFLDAP_TEMP) {
			temp = 1;
			if (all)
				printf("TEMP\t%s\t%s\n", line, err);
			else
				fprintf(stderr, "ldaptable-answer: %s: %s\n",
				    line, err);
		}
		fflush(stdout);
	}
	free(line);
	buf_free(&out);
	pfldap_free(p);
	ldaptable_free(t);
	return temp ? 75 : 0;
}
