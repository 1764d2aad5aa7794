/*
 * layout: account entry -> maildir paths (see layout.h).
 *
 * layout_build() checks everything it can and records each problem
 * (lint shows them all, ldap-maildirmake the first that refuses the
 * entry), in this order: the status; the store's count, then each store
 * value (trailing "/", then the path checks of common/safepath, then,
 * for a shared entry, where it lies); the folder (uid) and the boxes
 * (postOfficeBox); the length of the folder paths.  A part nothing is
 * built from (the store of an inactive entry) is still checked, but its
 * problems do not refuse the entry.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/applemail.h"
#include "common/buf.h"
#include "common/layout.h"
#include "common/mdquota.h"
#include "common/safepath.h"

/*
 * One row per profile of common/profile.c.  The filters are those of the
 * profile's mailbox map (with its key present), so that an entry gets a
 * maildir exactly when the mailbox map answers for it, at exactly the
 * path it answers (relative answers below mail_base, as Postfix's
 * virtual_mailbox_base reads them).  filter_named: every entry that names
 * a maildir whatever its state (an inactive account keeps its mail).
 */
static const char *const howto_attrs[] = { "accountStatus",
	"mailMessageStore", "uid", "cn", "postOfficeBox", "seeAlso",
	"mailQuotaSize", "mailQuotaCount", NULL };
static const char *const jamm_attrs[] = { "accountActive", "delete",
	"mailbox", "mail", "mailQuotaSize", "mailQuotaCount", NULL };
static const char *const ox_attrs[] = { "mailEnabled", "colocRouteAddr",
	"uid", NULL };
static const char *const apple_attrs[] = { "apple-user-mailattribute",
	"uid", NULL };

#define JAMM_ACCOUNT	"(objectClass=JammMailAccount)(mail=*)(mailbox=*)"
#define OX_USER		"(objectClass=OXUserObject)(|(mail=*)(alias=*))(uid=*)"

static const struct layout_profile profiles[] = {
	{ "howto", LAYOUT_KIND_HOWTO, "accountStatus", NULL,
	  "mailMessageStore", "uid", "postOfficeBox", "cn", "mailQuotaSize",
	  "mailQuotaCount", "(&(mailMessageStore=*)"
	  "(|(accountStatus=active)(accountStatus=shared)))",
	  "(mailMessageStore=*)", howto_attrs, NULL, NULL, NULL },
	{ "jamm", LAYOUT_KIND_JAMM, "accountActive", "delete", "mailbox",
	  NULL, NULL, NULL, "mailQuotaSize", "mailQuotaCount",
	  "(&" JAMM_ACCOUNT "(accountActive=TRUE)(!(delete=TRUE)))",
	  "(&" JAMM_ACCOUNT ")", jamm_attrs,
	  "(&(objectClass=JammVirtualDomain)(accountActive=TRUE)"
	  "(!(delete=TRUE)))", "jvd", "mail" },
	{ "ox", LAYOUT_KIND_OX, "mailEnabled", "colocRouteAddr", "uid",
	  NULL, NULL, NULL, NULL, NULL,
	  "(&" OX_USER "(mailEnabled=OK)(!(colocRouteAddr=*)))",
	  "(&" OX_USER ")", ox_attrs, NULL, NULL, NULL },
	{ "apple", LAYOUT_KIND_APPLE, "apple-user-mailattribute", NULL,
	  "uid", NULL, NULL, NULL, NULL, NULL,
	  "(&(objectClass=apple-user)(uid=*))",
	  "(&(objectClass=apple-user)(uid=*))", apple_attrs, NULL, NULL,
	  NULL },
};

const struct layout_profile *
layout_profile(const char *name)
{
	if (name == NULL || strcmp(name, "none") == 0)
		return &profiles[0];
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

static int
eq_nocase(const struct layout_val *v, const char *lit)
{
	return v->len == strlen(lit) && strncasecmp(v->p, lit, v->len) == 0;
}

enum layout_status
layout_status(const struct layout_profile *pf, const struct layout_val *v,
    size_t n)
{
	(void)pf;
	if (n == 0)
		return LAYOUT_NONE;
	if (n > 1)
		return LAYOUT_MANY;
	if (eq_nocase(&v[0], "active"))
		return LAYOUT_ACTIVE;
	if (eq_nocase(&v[0], "inactive"))
		return LAYOUT_INACTIVE;
	if (eq_nocase(&v[0], "shared"))
		return LAYOUT_SHARED;
	return LAYOUT_OTHER;
}

static int
any_value(const struct layout_val *v, size_t n, const char *lit, int ci)
{
	for (size_t k = 0; k < n; k++)
		if (v[k].len == strlen(lit) && (ci ? strncasecmp(v[k].p, lit,
		    v[k].len) : memcmp(v[k].p, lit, v[k].len)) == 0)
			return 1;
	return 0;
}

/* The one plist of an apple entry read into *am: 0, or -1 (why set). */
static int
apple_read(const struct layout_entry *e, struct applemail *am, char *why,
    size_t whysz)
{
	if (e->status[0].len > APPLEMAIL_MAX) {
		snprintf(why, whysz, "longer than %d bytes", APPLEMAIL_MAX);
		return -1;
	}
	return applemail_parse(e->status[0].p, e->status[0].len, am, why,
	    whysz);
}

enum layout_status
layout_state(const struct layout_profile *pf, const struct layout_entry *e)
{
	struct applemail am;
	char why[128];

	if (pf == NULL || pf->kind == LAYOUT_KIND_HOWTO)
		return layout_status(pf, e->status, e->n_status);
	if (e->n_status == 0)
		return LAYOUT_NONE;
	switch (pf->kind) {
	case LAYOUT_KIND_JAMM:
		/* booleanMatch: "TRUE" exactly. */
		return any_value(e->status, e->n_status, "TRUE", 0) &&
		    !any_value(e->off, e->n_off, "TRUE", 0) &&
		    !e->domain_off ? LAYOUT_ACTIVE : LAYOUT_INACTIVE;
	case LAYOUT_KIND_OX:
		return any_value(e->status, e->n_status, "OK", 1) &&
		    e->n_off == 0 ? LAYOUT_ACTIVE : LAYOUT_INACTIVE;
	default:
		if (e->n_status > 1)
			return LAYOUT_MANY;
		if (apple_read(e, &am, why, sizeof(why)) != 0)
			return LAYOUT_OTHER;
		return am.state == APPLEMAIL_ENABLED ? LAYOUT_ACTIVE :
		    LAYOUT_INACTIVE;
	}
}

/* The path v names appended to b, byte for byte (a NUL inside kept for
 * safepath to refuse). */
static void
store_path(const struct layout_profile *pf, const struct layout_params *prm,
    const struct layout_val *v, struct buf *b)
{
	if (pf->kind != LAYOUT_KIND_HOWTO) {
		if (strcmp(prm->mail_base, "/") != 0)
			buf_puts(b, prm->mail_base);
		buf_putc(b, '/');
	}
	buf_append(b, v->p, v->len);
	if (pf->kind == LAYOUT_KIND_OX || pf->kind == LAYOUT_KIND_APPLE)
		buf_puts(b, "/Maildir/");
}

char *
layout_store_path(const struct layout_profile *pf,
    const struct layout_params *prm, const struct layout_val *v)
{
	struct buf b = BUF_INIT;
	char *s;

	store_path(pf != NULL ? pf : &profiles[0], prm, v, &b);
	s = xstrndup(b.p, b.len);
	buf_free(&b);
	return s;
}

int
layout_quota(const struct layout_profile *pf, const struct layout_entry *e,
    struct mdquota *q, char *why, size_t whysz)
{
	struct applemail am;
	char r[128];

	if (pf == NULL)
		pf = &profiles[0];
	memset(q, 0, sizeof(*q));
	if (pf->kind == LAYOUT_KIND_APPLE) {
		if (e->n_status != 1 || apple_read(e, &am, r, sizeof(r)) != 0) {
			snprintf(why, whysz, "%s is unreadable",
			    pf->status_attr);
			return -1;
		}
		if (am.quota_mb == 0)
			return 0;
		/* MB as Apple means it; the reader keeps it below int64. */
		q->bytes = am.quota_mb * 1048576ULL;
		return 1;
	}
	if (e->n_qsize == 0 && e->n_qcount == 0)
		return 0;
	if (e->n_qsize > 1 || e->n_qcount > 1) {
		snprintf(why, whysz, "more than one %s or %s", pf->quota_size,
		    pf->quota_count);
		return -1;
	}
	if (e->n_qsize == 1 && mdquota_number(e->qsize[0].p, e->qsize[0].len,
	    MDQUOTA_BYTES_MAX, &q->bytes) != 0) {
		snprintf(why, whysz, "%s is not a number of bytes",
		    pf->quota_size);
		return -1;
	}
	if (e->n_qcount == 1 && mdquota_number(e->qcount[0].p,
	    e->qcount[0].len, MDQUOTA_COUNT_MAX, &q->count) != 0) {
		snprintf(why, whysz, "%s is not a number of messages",
		    pf->quota_count);
		return -1;
	}
	return 1;
}

char *
layout_base_join(const struct layout_params *prm, const char *dir)
{
	struct buf b = BUF_INIT;
	char *s;

	if (strcmp(prm->mail_base, "/") != 0)
		buf_puts(&b, prm->mail_base);
	buf_putc(&b, '/');
	buf_puts(&b, dir);
	s = xstrdup(buf_str(&b));
	buf_free(&b);
	return s;
}

char *
layout_folder_path(const char *shared, const char *name, size_t len)
{
	struct buf b = BUF_INIT;
	char *s;

	buf_puts(&b, shared);
	buf_puts(&b, "/.");
	buf_append(&b, name, len);
	s = xstrdup(buf_str(&b));
	buf_free(&b);
	return s;
}

int
layout_shared_split(const struct layout_params *prm, const char *store,
    size_t len, char **link, char **shared)
{
	char *dir = layout_base_join(prm, prm->shared_dir);
	size_t plen = strlen(dir) + 1, rlen;
	const char *rest, *last = NULL;
	struct buf b = BUF_INIT;
	char *smd;

	*link = *shared = NULL;
	/* P = <mail_base>/<shared_dir>/X.../L: at least X and L. */
	if (len <= plen || memcmp(store, dir, plen - 1) != 0 ||
	    store[plen - 1] != '/') {
		free(dir);
		return LAYOUT_SHARED_OUTSIDE;
	}
	free(dir);
	rest = store + plen;
	rlen = len - plen;
	if (rest[rlen - 1] == '/')
		rlen--;
	for (size_t k = rlen; k > 0; k--)
		if (rest[k - 1] == '/') {
			last = rest + k - 1;
			break;
		}
	if (last == NULL)
		return LAYOUT_SHARED_FLAT;
	/* S: the parent of P, <shared_dir> replaced. */
	smd = layout_base_join(prm, prm->shared_maildirs_dir);
	buf_puts(&b, smd);
	buf_putc(&b, '/');
	buf_append(&b, rest, (size_t)(last - rest));
	free(smd);
	*shared = xstrdup(buf_str(&b));
	buf_free(&b);
	*link = xstrndup(store, plen + rlen);
	return 0;
}

/* ---- building -------------------------------------------------------- */

static void
add(struct layout *l, enum layout_code code, int refuses, size_t n,
    enum safepath_err se, const struct layout_val *v)
{
	struct layout_problem *p;

	l->prob = xreallocarray(l->prob, l->nprob + 1, sizeof(*l->prob));
	p = &l->prob[l->nprob++];
	p->code = code;
	p->refuses = refuses;
	p->n = n;
	p->se = se;
	p->v = v;
	if (refuses)
		l->ok = 0;
}

/* Each store value (ox, apple: the first, the one the map answers); the
 * usable path (fresh, no trailing "/") of the only one, or NULL. */
static char *
check_stores(const struct layout_profile *pf,
    const struct layout_params *prm, const struct layout_entry *e,
    struct layout *l, int build)
{
	int first = pf->kind == LAYOUT_KIND_OX ||
	    pf->kind == LAYOUT_KIND_APPLE;
	size_t n = first && e->n_store > 1 ? 1 : e->n_store;
	char *path = NULL;
	size_t rel;

	if (n == 0) {
		if (build)
			add(l, LAYOUT_STORE_MISSING, 1, 0, SAFEPATH_OK, NULL);
		return NULL;
	}
	if (n > 1)
		add(l, LAYOUT_STORE_MANY, build, n, SAFEPATH_OK, NULL);
	for (size_t k = 0; k < n; k++) {
		const struct layout_val *v = &e->store[k];
		struct buf b = BUF_INIT;
		const char *full;
		size_t flen;
		enum safepath_err se;
		int good = 1;

		store_path(pf, prm, v, &b);
		full = buf_str(&b);
		flen = b.len;
		if (flen > 0 && full[flen - 1] != '/') {
			/* virtual(8) would write an mbox file there. */
			add(l, LAYOUT_STORE_NO_SLASH, build, 0, SAFEPATH_OK, v);
			good = 0;
		}
		se = safepath_under(prm->mail_base, full, flen, &rel);
		if (se != SAFEPATH_OK) {
			add(l, LAYOUT_STORE_PATH, build, 0, se, v);
			buf_free(&b);
			continue;
		}
		if (l->status == LAYOUT_SHARED) {
			char *link, *shared;
			int c = layout_shared_split(prm, v->p, v->len, &link,
			    &shared);

			if (c != 0) {
				add(l, (enum layout_code)c, build, 0,
				    SAFEPATH_OK, v);
				buf_free(&b);
				continue;
			}
			if (good && n == 1) {
				l->link = link;
				l->shared = shared;
			} else {
				free(link);
				free(shared);
			}
		}
		if (good && n == 1)
			path = xstrndup(full, flen - 1);
		buf_free(&b);
	}
	return path;
}

static void
check_folders(const struct layout_entry *e, struct layout *l)
{
	enum safepath_err se;

	if (e->n_folder == 0)
		add(l, LAYOUT_FOLDER_MISSING, 1, 0, SAFEPATH_OK, NULL);
	else if (e->n_folder > 1)
		add(l, LAYOUT_FOLDER_MANY, 1, e->n_folder, SAFEPATH_OK, NULL);
	for (size_t k = 0; k < e->n_folder; k++)
		if ((se = safepath_folder(e->folder[k].p, e->folder[k].len)) !=
		    SAFEPATH_OK)
			add(l, LAYOUT_FOLDER_BAD, 1, 0, se, &e->folder[k]);
	for (size_t k = 0; k < e->n_box; k++)
		if ((se = safepath_folder(e->box[k].p, e->box[k].len)) !=
		    SAFEPATH_OK)
			add(l, LAYOUT_BOX_BAD, 1, 0, se, &e->box[k]);
}

void
layout_build(const struct layout_profile *pf,
    const struct layout_params *prm, const struct layout_entry *e,
    struct layout *l)
{
	int build;
	char *path;
	size_t sl;

	memset(l, 0, sizeof(*l));
	l->ok = 1;
	if (pf == NULL)
		pf = &profiles[0];
	l->status = layout_state(pf, e);
	switch (l->status) {
	case LAYOUT_NONE:
		add(l, LAYOUT_STATUS_MISSING, 0, 0, SAFEPATH_OK, NULL);
		break;
	case LAYOUT_MANY:
		add(l, LAYOUT_STATUS_MANY, 1, e->n_status, SAFEPATH_OK, NULL);
		break;
	case LAYOUT_OTHER:
		if (pf->kind == LAYOUT_KIND_APPLE) {
			struct applemail am;

			add(l, LAYOUT_PLIST_BAD, 1, 0, SAFEPATH_OK,
			    &e->status[0]);
			(void)apple_read(e, &am, l->prob[l->nprob - 1].why,
			    sizeof(l->prob[0].why));
			break;
		}
		add(l, LAYOUT_STATUS_UNKNOWN, 0, 0, SAFEPATH_OK, &e->status[0]);
		break;
	default:
		break;
	}
	build = l->status == LAYOUT_ACTIVE || l->status == LAYOUT_SHARED;
	path = check_stores(pf, prm, e, l, build);
	if (l->status == LAYOUT_SHARED) {
		check_folders(e, l);
		/* Its folders must stay within PATH_MAX too. */
		for (size_t k = 0; l->ok && k <= e->n_box; k++) {
			sl = k == 0 ? e->folder[0].len : e->box[k - 1].len;
			if (strlen(l->shared) + 2 + sl >= PATH_MAX) {
				add(l, LAYOUT_FOLDERS_TOO_LONG, 1, 0,
				    SAFEPATH_OK, &e->store[0]);
				break;
			}
		}
	}
	if (!l->ok || !build) {
		free(path);
		free(l->link);
		free(l->shared);
		l->link = l->shared = NULL;
		return;
	}
	if (l->status == LAYOUT_ACTIVE) {
		l->maildir = path;
		return;
	}
	free(path);
	l->target = layout_folder_path(l->shared, e->folder[0].p,
	    e->folder[0].len);
	l->folders = xcalloc(1 + e->n_box, sizeof(char *));
	l->folders[l->nfolders++] = xstrdup(l->target);
	for (size_t k = 0; k < e->n_box; k++)
		l->folders[l->nfolders++] = layout_folder_path(l->shared,
		    e->box[k].p, e->box[k].len);
}

void
layout_free(struct layout *l)
{
	if (l == NULL)
		return;
	free(l->maildir);
	free(l->shared);
	free(l->link);
	free(l->target);
	for (size_t k = 0; k < l->nfolders; k++)
		free(l->folders[k]);
	free(l->folders);
	free(l->prob);
	memset(l, 0, sizeof(*l));
}

char *
layout_nickname(const struct layout_val *v, size_t n,
    struct layout_problem *p)
{
	char *nick;

	memset(p, 0, sizeof(*p));
	p->refuses = 1;
	if (n == 0) {
		p->code = LAYOUT_NICK_MISSING;
		return NULL;
	}
	/* The first value, as the server sent it, names the maildir. */
	p->v = &v[0];
	if (v->len == 0 || memchr(v->p, '\0', v->len) != NULL ||
	    !safepath_utf8(v->p, v->len)) {
		p->code = LAYOUT_NICK_BAD;
		return NULL;
	}
	for (size_t k = 0; k < v->len; k++)
		if ((unsigned char)v->p[k] < 0x20 || v->p[k] == 0x7f) {
			p->code = LAYOUT_NICK_CONTROL;
			return NULL;
		}
	nick = xmalloc(v->len + 1);
	for (size_t k = 0; k < v->len; k++)
		nick[k] = (v->p[k] == ' ' || v->p[k] == '.' ||
		    v->p[k] == '/') ? '_' : v->p[k];
	nick[v->len] = '\0';
	return nick;
}

/* ---- words ----------------------------------------------------------- */

void
layout_problem_text(const struct layout_profile *pf,
    const struct layout_params *prm, const struct layout_problem *p,
    struct buf *o)
{
	char *dir = layout_base_join(prm, prm->shared_dir);
	const char *attr;

	if (pf == NULL)
		pf = &profiles[0];
	attr = pf->store_attr;

	switch (p->code) {
	case LAYOUT_STATUS_MISSING:
		buf_printf(o, "%s is missing", pf->status_attr);
		break;
	case LAYOUT_STATUS_MANY:
		buf_printf(o, "has %zu %s values; exactly one is allowed",
		    p->n, pf->status_attr);
		break;
	case LAYOUT_STATUS_UNKNOWN:
		buf_printf(o, "%s ", pf->status_attr);
		buf_put_shown(o, p->v->p, p->v->len, 1);
		buf_puts(o, " is not active, inactive or shared");
		break;
	case LAYOUT_STORE_MISSING:
		buf_printf(o, "%s is missing", attr);
		break;
	case LAYOUT_STORE_MANY:
		buf_printf(o, "has %zu %s values; exactly one is allowed",
		    p->n, attr);
		break;
	case LAYOUT_FOLDER_MISSING:
		buf_printf(o, "shared entry has no %s (the folder that "
		    "receives mail)", pf->folder_attr);
		break;
	case LAYOUT_FOLDER_MANY:
		buf_printf(o, "shared entry has %zu %s values; exactly one is "
		    "allowed", p->n, pf->folder_attr);
		break;
	case LAYOUT_NICK_MISSING:
		buf_printf(o, "has no %s (the nickname of its shared maildir)",
		    pf->nick_attr);
		break;
	case LAYOUT_FOLDER_BAD:
	case LAYOUT_BOX_BAD:
		buf_printf(o, "%s ", p->code == LAYOUT_BOX_BAD ? pf->box_attr :
		    pf->folder_attr);
		buf_put_shown(o, p->v->p, p->v->len, 1);
		buf_printf(o, " is not a valid folder name: %s",
		    safepath_strerror(p->se));
		break;
	case LAYOUT_NICK_BAD:
	case LAYOUT_NICK_CONTROL:
		buf_printf(o, "%s ", pf->nick_attr);
		buf_put_shown(o, p->v->p, p->v->len, 1);
		buf_puts(o, p->code == LAYOUT_NICK_BAD ? " cannot be a nickname "
		    "(empty, NUL or not UTF-8)" : " cannot be a nickname "
		    "(control character)");
		break;
	case LAYOUT_PLIST_BAD:
		buf_printf(o, "%s is not a mail settings plist ldapmail "
		    "reads: %s", pf->status_attr, p->why);
		break;
	default:
		/* The rest are about one store value. */
		buf_printf(o, "%s ", attr);
		buf_put_shown(o, p->v->p, p->v->len, 1);
		if (p->code == LAYOUT_STORE_NO_SLASH)
			buf_puts(o, " does not end in \"/\"");
		else if (p->code == LAYOUT_SHARED_OUTSIDE)
			buf_printf(o, " of a shared entry is not under %s/",
			    dir);
		else if (p->code == LAYOUT_SHARED_FLAT)
			buf_printf(o, " of a shared entry lies directly in %s/ "
			    "(expected %s/NAME/FOLDER/)", dir, dir);
		else if (p->code == LAYOUT_FOLDERS_TOO_LONG)
			buf_puts(o, " is too long for its shared folders");
		else if (p->se == SAFEPATH_RELATIVE)
			buf_puts(o, " is not an absolute path");
		else if (p->se == SAFEPATH_NOT_NORMAL)
			buf_puts(o, " is not normalized (holds \"//\", \".\" "
			    "or \"..\")");
		else if (p->se == SAFEPATH_OUTSIDE)
			buf_printf(o, " is not inside mail_base %s",
			    prm->mail_base);
		else
			buf_printf(o, " %s", safepath_strerror(p->se));
		break;
	}
	free(dir);
}
