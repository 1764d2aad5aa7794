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
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/layout.h"
#include "common/safepath.h"

static const struct layout_profile profiles[] = {
	{ "howto", "accountStatus", "mailMessageStore", "uid",
	  "postOfficeBox", "cn" },
};

const struct layout_profile *
layout_profile(const char *name)
{
	if (name == NULL)
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

/* Each store value; the usable path (fresh, no trailing "/") of the only
 * one, or NULL. */
static char *
check_stores(const struct layout_params *prm, const struct layout_entry *e,
    struct layout *l, int build)
{
	char *path = NULL;
	size_t rel;

	if (e->n_store == 0) {
		if (build)
			add(l, LAYOUT_STORE_MISSING, 1, 0, SAFEPATH_OK, NULL);
		return NULL;
	}
	if (e->n_store > 1)
		add(l, LAYOUT_STORE_MANY, build, e->n_store, SAFEPATH_OK, NULL);
	for (size_t k = 0; k < e->n_store; k++) {
		const struct layout_val *v = &e->store[k];
		enum safepath_err se;
		int good = 1;

		if (v->len > 0 && v->p[v->len - 1] != '/') {
			/* virtual(8) would write an mbox file there. */
			add(l, LAYOUT_STORE_NO_SLASH, build, 0, SAFEPATH_OK, v);
			good = 0;
		}
		se = safepath_under(prm->mail_base, v->p, v->len, &rel);
		if (se != SAFEPATH_OK) {
			add(l, LAYOUT_STORE_PATH, build, 0, se, v);
			continue;
		}
		if (l->status == LAYOUT_SHARED) {
			char *link, *shared;
			int c = layout_shared_split(prm, v->p, v->len, &link,
			    &shared);

			if (c != 0) {
				add(l, (enum layout_code)c, build, 0,
				    SAFEPATH_OK, v);
				continue;
			}
			if (good && e->n_store == 1) {
				l->link = link;
				l->shared = shared;
			} else {
				free(link);
				free(shared);
			}
		}
		if (good && e->n_store == 1)
			path = xstrndup(v->p, v->len - 1);
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
	l->status = layout_status(pf, e->status, e->n_status);
	switch (l->status) {
	case LAYOUT_NONE:
		add(l, LAYOUT_STATUS_MISSING, 0, 0, SAFEPATH_OK, NULL);
		break;
	case LAYOUT_MANY:
		add(l, LAYOUT_STATUS_MANY, 1, e->n_status, SAFEPATH_OK, NULL);
		break;
	case LAYOUT_OTHER:
		add(l, LAYOUT_STATUS_UNKNOWN, 0, 0, SAFEPATH_OK, &e->status[0]);
		break;
	default:
		break;
	}
	build = l->status == LAYOUT_ACTIVE || l->status == LAYOUT_SHARED;
	path = check_stores(prm, e, l, build);
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
	const char *attr = pf->store_attr;

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
