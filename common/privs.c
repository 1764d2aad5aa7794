/*
 * privs: resolving users and groups, and dropping root for good.
 *
 * Names are looked up with getpwnam_r/getgrnam_r (thread-safe, no static
 * buffers); a string of digits is a numeric id.  A numeric user must
 * still have a passwd entry, because its primary group has to come from
 * somewhere: guessing gid = uid could hand out some unrelated group's
 * rights.  Write "uid:gid" (privs_owner) to name both numerically.
 *
 * privs_drop() does setgroups(1, &gid), setresgid, setresuid, in that
 * order (groups can no longer be changed once the uid is gone), then
 * checks the result: real, effective and saved ids all equal to the
 * targets, the supplementary groups nothing but gid, and setuid(0)
 * failing.  A process that already runs as exactly uid/gid succeeds
 * without changing anything (a non-root caller cannot call setgroups).
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/privs.h"

#define PRIVS_BUFSZ	16384
#define PRIVS_BUFMAX	(1024 * 1024)

/* A decimal id, no sign; -1 if s is not one or is out of range. */
static int
parse_id(const char *s, unsigned long *id)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT_MAX - 1 - (unsigned long)(*s - '0')) / 10)
			return -1;	/* (uid_t)-1 is "no change", never an id */
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*id = v;
	return 0;
}

/* What one getpwnam_r, getpwuid_r or getgrnam_r call asks and finds. */
struct idq {
	const char *name;	/* NULL: by uid */
	uid_t uid;
	int group;		/* getgrnam_r */
	uid_t ruid;
	gid_t rgid;
};

/* One call with the buffer mem (sz bytes); 1 in *found when it found. */
static int
id_call(struct idq *q, char *mem, size_t sz, int *found)
{
	struct passwd pw, *pres = NULL;
	struct group gr, *gres = NULL;
	int e;

	if (q->group) {
		e = getgrnam_r(q->name, &gr, mem, sz, &gres);
		if ((*found = e == 0 && gres != NULL))
			q->rgid = gr.gr_gid;
		return e;
	}
	e = q->name != NULL ? getpwnam_r(q->name, &pw, mem, sz, &pres) :
	    getpwuid_r(q->uid, &pw, mem, sz, &pres);
	if ((*found = e == 0 && pres != NULL)) {
		q->ruid = pw.pw_uid;
		q->rgid = pw.pw_gid;
	}
	return e;
}

/* The call with a buffer that grows on ERANGE (up to PRIVS_BUFMAX). */
static int
id_lookup(struct idq *q, int *found)
{
	size_t sz = PRIVS_BUFSZ;
	char *mem;
	int e;

	*found = 0;
	for (;;) {
		if ((mem = malloc(sz)) == NULL)
			return ENOMEM;
		e = id_call(q, mem, sz, found);
		free(mem);
		if (e != ERANGE || sz >= PRIVS_BUFMAX)
			return e;
		sz *= 2;
	}
}

static int
lookup_pw(const char *name, uid_t uid, uid_t *ruid, gid_t *rgid, int *rc)
{
	struct idq q = { name, uid, 0, 0, 0 };
	int e = id_lookup(&q, rc);

	*ruid = q.ruid;		/* 0 unless found */
	*rgid = q.rgid;
	return e;
}

static int
lookup_gr(const char *name, gid_t *rgid, int *rc)
{
	struct idq q = { name, 0, 1, 0, 0 };
	int e = id_lookup(&q, rc);

	*rgid = q.rgid;		/* 0 unless found */
	return e;
}

int
privs_user(const char *user, uid_t *uid, gid_t *gid, char *err,
    size_t errsz)
{
	unsigned long id;
	uid_t u;
	gid_t g;
	int found, e;

	if (user == NULL || *user == '\0') {
		log_errf(err, errsz, "empty user name");
		return -1;
	}
	if (parse_id(user, &id) == 0)
		e = lookup_pw(NULL, (uid_t)id, &u, &g, &found);
	else
		e = lookup_pw(user, 0, &u, &g, &found);
	if (e != 0 && e != ENOENT && e != ESRCH && e != EBADF && e != EPERM) {
		log_errf(err, errsz, "user %s: %s", user, strerror(e));
		return -1;
	}
	if (!found) {
		if (parse_id(user, &id) == 0)
			log_errf(err, errsz, "user %s: no such uid in the "
			    "passwd database", user);
		else
			log_errf(err, errsz, "user %s: no such user", user);
		return -1;
	}
	*uid = u;
	*gid = g;
	return 0;
}

int
privs_group(const char *group, gid_t *gid, char *err, size_t errsz)
{
	unsigned long id;
	gid_t g;
	int found, e;

	if (group == NULL || *group == '\0') {
		log_errf(err, errsz, "empty group name");
		return -1;
	}
	if (parse_id(group, &id) == 0) {
		*gid = (gid_t)id;
		return 0;
	}
	e = lookup_gr(group, &g, &found);
	if (e != 0 && e != ENOENT && e != ESRCH && e != EBADF && e != EPERM) {
		log_errf(err, errsz, "group %s: %s", group, strerror(e));
		return -1;
	}
	if (!found) {
		log_errf(err, errsz, "group %s: no such group", group);
		return -1;
	}
	*gid = g;
	return 0;
}

int
privs_owner(const char *spec, uid_t *uid, gid_t *gid, char *err,
    size_t errsz)
{
	const char *colon;
	unsigned long u, g;
	char ubuf[32];

	if (spec == NULL || (colon = strchr(spec, ':')) == NULL)
		return privs_user(spec, uid, gid, err, errsz);
	if ((size_t)(colon - spec) >= sizeof(ubuf)) {
		log_errf(err, errsz, "owner %s: expected uid:gid", spec);
		return -1;
	}
	memcpy(ubuf, spec, (size_t)(colon - spec));
	ubuf[colon - spec] = '\0';
	if (parse_id(ubuf, &u) != 0 || parse_id(colon + 1, &g) != 0) {
		log_errf(err, errsz, "owner %s: expected a user name or "
		    "uid:gid (numbers)", spec);
		return -1;
	}
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

static int
already(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0)
		return 0;
	return ru == uid && eu == uid && su == uid &&
	    rg == gid && eg == gid && sg == gid;
}

int
privs_drop(uid_t uid, gid_t gid, char *err, size_t errsz)
{
	gid_t groups[2];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int n;

	if (already(uid, gid) && geteuid() != 0)
		return 0;
	if (setgroups(1, &gid) != 0) {
		log_errf(err, errsz, "%s: %s", "setgroups", strerror(errno));
		return -1;
	}
	if (setresgid(gid, gid, gid) != 0) {
		log_errf(err, errsz, "%s: %s", "setresgid", strerror(errno));
		return -1;
	}
	if (setresuid(uid, uid, uid) != 0) {
		log_errf(err, errsz, "%s: %s", "setresuid", strerror(errno));
		return -1;
	}
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0) {
		log_errf(err, errsz, "%s: %s", "getresuid", strerror(errno));
		return -1;
	}
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid) {
		log_errf(err, errsz, "dropping privileges failed: uids "
		    "%lu/%lu/%lu gids %lu/%lu/%lu, wanted %lu/%lu",
		    (unsigned long)ru, (unsigned long)eu, (unsigned long)su,
		    (unsigned long)rg, (unsigned long)eg, (unsigned long)sg,
		    (unsigned long)uid, (unsigned long)gid);
		return -1;
	}
	n = getgroups(2, groups);
	if (n < 0 || n > 1 || (n == 1 && groups[0] != gid)) {
		log_errf(err, errsz, "dropping privileges failed: "
		    "supplementary groups remain");
		return -1;
	}
	if (uid != 0 && setuid(0) != -1) {
		log_errf(err, errsz, "dropping privileges failed: "
		    "setuid(0) still works");
		return -1;
	}
	if (uid != 0 && gid != 0 && setgid(0) != -1) {
		log_errf(err, errsz, "dropping privileges failed: "
		    "setgid(0) still works");
		return -1;
	}
	return 0;
}
