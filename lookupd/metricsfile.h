/*
 * metricsfile: the daemon's metrics_file, replaced atomically so that a
 * reader (node_exporter's textfile collector) sees the old file or the
 * new one, never a part: the text goes to a temporary file in the same
 * directory (".NAME.XXXXXX", which the collector's "*.prom" pattern
 * skips), is flushed to disk (fsync), made mode 0644 and renamed over
 * NAME; the directory is flushed after.
 *
 * The event loop renders the text (it owns the counters) and posts it;
 * a thread of this file writes it, so that a slow disk never stalls the
 * loop.  A post while a write is under way replaces the text waiting,
 * if any: only the newest counts.  Failures are logged once, and again
 * when writes work again.
 */
#ifndef LDAPMAIL_METRICSFILE_H
#define LDAPMAIL_METRICSFILE_H

#include <stddef.h>

struct buf;
struct metricsfile;

/* Write len bytes of data to path as described above.  0, or -1 with err
 * set (the temporary file removed, path untouched). */
int metricsfile_write(const char *path, const char *data, size_t len,
    char *err, size_t errsz);

/* The writer thread.  NULL with err set when it cannot be started. */
struct metricsfile *metricsfile_new(char *err, size_t errsz);
/* Hand text to the writer for path (text is left empty: its bytes are
 * taken over). */
void metricsfile_post(struct metricsfile *mf, const char *path,
    struct buf *text);
/* Write what waits, stop the thread, free. */
void metricsfile_free(struct metricsfile *mf);

#endif
