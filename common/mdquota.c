/*
 * mdquota: Courier's maildirsize text (see mdquota.h).
 *
 * Checked against Courier's maildir/maildirquota.c (maildrop 2.9.3 as
 * Debian ships it) and its maildirmake -q by tests/integration/
 * test_mdm_quota.py:
 *   - the quota line is "<bytes>S" if bytes > 0, then ",<count>C" (no
 *     comma when alone) if count > 0; nothing when both are 0, and then
 *     maildirmake -q writes no file at all;
 *   - a new file's usage line is printf("%12s %12s\n") of the two sums;
 *   - reading a quota string, every run of digits followed by S or C
 *     sets that limit (later ones win) and any other byte is skipped, so
 *     "1000C,104857600S" and "104857600S,1000C" are the same quota;
 *   - mail is counted in new/ and cur/ of the maildir and of each
 *     ".FOLDER" but ".Trash"; dot files and messages flagged T (":2,"
 *     then capitals holding "T") are not counted; a size ",S=NNN" in the
 *     name is believed, else the file's own size.
 */
#include <stdio.h>
#include <string.h>

#include "common/mdquota.h"

void
mdquota_courier_parse(const char *s, size_t len, struct mdquota *q)
{
	const char *end, *nl;

	q->bytes = q->count = 0;
	if (len == 0)
		return;		/* s may be NULL then */
	nl = memchr(s, '\n', len);
	end = nl != NULL ? nl : s + len;
	while (s < end) {
		unsigned long long n = 0;

		if (*s < '0' || *s > '9') {
			s++;
			continue;
		}
		/* Courier's int64 wraps; a number this large is nonsense
		 * either way: it saturates here. */
		for (; s < end && *s >= '0' && *s <= '9'; s++)
			n = n > (MDQUOTA_BYTES_MAX - 9) / 10 ? MDQUOTA_BYTES_MAX :
			    n * 10 + (unsigned)(*s - '0');
		if (s < end && *s == 'S')
			q->bytes = n;
		else if (s < end && *s == 'C')
			q->count = n;
	}
}

size_t
mdquota_line(const struct mdquota *q, char out[MDQUOTA_LINE_MAX])
{
	int r = 0;

	out[0] = '\0';
	if (q->bytes > 0 && q->count > 0)
		r = snprintf(out, MDQUOTA_LINE_MAX, "%lluS,%lluC", q->bytes,
		    q->count);
	else if (q->bytes > 0)
		r = snprintf(out, MDQUOTA_LINE_MAX, "%lluS", q->bytes);
	else if (q->count > 0)
		r = snprintf(out, MDQUOTA_LINE_MAX, "%lluC", q->count);
	/* Two 20-digit numbers fit: r >= MDQUOTA_LINE_MAX cannot happen. */
	if (r < 0 || r >= MDQUOTA_LINE_MAX) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)r;
}

void
mdquota_file(const struct mdquota *q, unsigned long long bytes,
    unsigned long long count, struct buf *out)
{
	char line[MDQUOTA_LINE_MAX];

	buf_reset(out);
	mdquota_line(q, line);
	buf_printf(out, "%s\n%12llu %12llu\n", line, bytes, count);
}

enum mdquota_update
mdquota_update(const char *old, size_t len, const struct mdquota *q,
    struct buf *out)
{
	const char *nl = len > 0 ? memchr(old, '\n', len) : NULL;
	char line[MDQUOTA_LINE_MAX];
	struct mdquota have;

	buf_reset(out);
	if (nl == NULL || nl == old + len - 1)
		return MDQUOTA_NO_USAGE;
	mdquota_courier_parse(old, (size_t)(nl - old), &have);
	if (have.bytes == q->bytes && have.count == q->count)
		return MDQUOTA_SAME;
	mdquota_line(q, line);
	buf_puts(out, line);
	buf_append(out, nl, len - (size_t)(nl - old));
	return MDQUOTA_CHANGED;
}

int
mdquota_number(const char *v, size_t len, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long n = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(v[i] - '0');

		if (v[i] < '0' || v[i] > '9' || n > (max - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

int
mdquota_counts_folder(const char *name)
{
	return name[0] == '.' && strcmp(name, ".") != 0 &&
	    strcmp(name, "..") != 0 && strcmp(name, ".Trash") != 0;
}

int
mdquota_counts_file(const char *name)
{
	const char *p;

	if (name[0] == '.')
		return 0;
	if ((p = strstr(name, ":2,")) == NULL)
		return 1;
	for (p += 3; *p >= 'A' && *p <= 'Z'; p++)
		if (*p == 'T')
			return 0;
	return 1;
}

int
mdquota_name_size(const char *name, unsigned long long *size)
{
	const char *colon = strchr(name, ':');
	const char *o = colon != NULL ? colon : name + strlen(name);
	unsigned long long n = 0;

	/* The last ",S=" before the ":" (Courier scans backwards). */
	for (;; o--) {
		if (o[0] == ',' && o[1] == 'S' && o[2] == '=')
			break;
		if (o == name)
			return -1;
	}
	for (o += 3; *o >= '0' && *o <= '9'; o++) {
		if (n > (MDQUOTA_BYTES_MAX - (unsigned)(*o - '0')) / 10)
			return -1;
		n = n * 10 + (unsigned)(*o - '0');
	}
	*size = n;
	return 0;
}
