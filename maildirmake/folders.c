/*
 * folders: default folders and their subscriptions (see folders.h).
 *
 * On disk, as Courier-IMAP 5 (Debian 12) and maildrop's maildirmake -f
 * make and read them (checked by tests/integration/test_mdm_folders.py):
 * a folder NAME is the directory ".NAME" (UTF-8 as written, "." between
 * hierarchy levels) with cur/new/tmp 0700 and an empty maildirfolder
 * 0600; imapd's SUBSCRIBE writes courierimapsubscribed as one
 * "INBOX.NAME" line per folder, UTF-8, mode 0644.
 *
 * The folders are made by mdm_fs_make_folder (no symlink followed, built
 * under a temporary name, renamed into place whole).  The subscription
 * file is read (a regular file with one link owned by mail_owner or
 * root, at most 1 MiB), the missing lines are appended to its text and
 * the whole is written under a temporary name and renamed over it: an
 * existing file keeps its lines, bytes and mode.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "maildirmake/folders.h"

#define SUBSCRIBED	"courierimapsubscribed"
#define SUBSCRIBED_MAX	(1024 * 1024)
#define IMAP_PREFIX	"INBOX."

/* Is line (len bytes, no "\n") a whole line of text? */
static int
has_line(const struct buf *text, const char *line, size_t len)
{
	const char *p = text->p, *end;

	if (text->len == 0)
		return 0;	/* text->p may be NULL then */
	end = text->p + text->len;
	while (p != NULL && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);

		if (l == len && memcmp(p, line, len) == 0)
			return 1;
		p = eol != NULL ? eol + 1 : NULL;
	}
	return 0;
}

static enum mdm_result
subscribe(struct mdm_fs *fs, const char *maildir, char *const *names,
    size_t n, int dry, mdm_change_fn fn, void *arg, char *err, size_t errsz)
{
	struct buf text = BUF_INIT, line = BUF_INIT;
	enum mdm_result res = MDM_R_FAILED;
	struct stat st;
	size_t kept;
	mode_t mode = 0644;
	int mfd, eno, r = 0;

	mfd = mdm_fs_opendir(fs, maildir, &eno, err, errsz);
	if (mfd < 0 && !(dry && eno == ENOENT))
		return MDM_R_FAILED;
	err[0] = '\0';
	if (mfd >= 0 && (r = mdm_fs_read(fs, mfd, maildir, SUBSCRIBED,
	    SUBSCRIBED_MAX, &text, &st, err, errsz)) < 0)
		goto out;
	if (r > 0)
		mode = st.st_mode & 07777;
	if (text.len > 0 && text.p[text.len - 1] != '\n')
		buf_putc(&text, '\n');	/* someone left the last line open */
	kept = text.len;
	for (size_t i = 0; i < n; i++) {
		buf_reset(&line);
		buf_puts(&line, IMAP_PREFIX);
		buf_puts(&line, names[i]);
		if (has_line(&text, line.p, line.len))
			continue;
		buf_append(&text, line.p, line.len);
		buf_putc(&text, '\n');
	}
	res = MDM_R_EXISTS;
	if (text.len == kept)
		goto out;
	if (!dry && mdm_fs_replace(fs, mfd, maildir, SUBSCRIBED, text.p,
	    text.len, mode, err, errsz) != 0) {
		res = MDM_R_FAILED;
		goto out;
	}
	/* One line per subscription added, once it is there. */
	for (const char *p = text.p + kept, *eol; p < text.p + text.len;
	    p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(text.p + text.len - p));
		mdm_fs_note(fn, arg, dry, "add", "\"%.*s\" to %s/%s",
		    (int)(eol - p), p, maildir, SUBSCRIBED);
	}
	res = dry ? MDM_R_WOULD : MDM_R_CREATED;
out:
	if (mfd >= 0)
		close(mfd);
	buf_free(&text);
	buf_free(&line);
	return res;
}

enum mdm_result
mdm_default_folders(struct mdm_fs *fs, const char *maildir,
    char *const *names, size_t n, int dry, mdm_change_fn fn, void *arg,
    char *err, size_t errsz)
{
	enum mdm_result res = MDM_R_EXISTS, r;

	for (size_t i = 0; i < n; i++) {
		r = mdm_fs_make_folder(fs, maildir, names[i], dry, fn, arg,
		    err, errsz);
		if (r == MDM_R_FAILED)
			return r;
		if (r != MDM_R_EXISTS)
			res = r;
	}
	r = subscribe(fs, maildir, names, n, dry, fn, arg, err, errsz);
	if (r == MDM_R_FAILED)
		return r;
	return r != MDM_R_EXISTS ? r : res;
}
