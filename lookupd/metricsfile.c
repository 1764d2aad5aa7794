/*
 * metricsfile: atomic replacement of the metrics file, by a thread of
 * its own (see metricsfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "lookupd/metricsfile.h"

#define PATH_MAXLEN	4096

struct metricsfile {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *path;		/* of the text waiting */
	struct buf text;
	int waiting;
	int stop;
	int failing;		/* the last write failed (logged) */
};

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
metricsfile_write(const char *path, const char *data, size_t len,
    char *err, size_t errsz)
{
	char tmp[PATH_MAXLEN], dir[PATH_MAXLEN];
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	int fd, r, dfd;

	if (slash == NULL || slash[1] == '\0')
		return log_errf(err, errsz, "metrics_file %s: not a file path",
		    path);
	r = snprintf(tmp, sizeof(tmp), "%.*s/.%s.XXXXXX", (int)dlen, path,
	    slash + 1);
	if (r < 0 || (size_t)r >= sizeof(tmp))
		return log_errf(err, errsz, "metrics_file %s: path too long",
		    path);
	r = snprintf(dir, sizeof(dir), "%.*s", (int)(dlen ? dlen : 1),
	    dlen ? path : "/");
	if (r < 0 || (size_t)r >= sizeof(dir))
		return log_errf(err, errsz, "metrics_file %s: path too long",
		    path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return log_errf(err, errsz, "metrics_file %s: cannot create a "
		    "temporary file in %s: %s", path, dir, strerror(errno));
	if (write_all(fd, data, len) != 0 || fchmod(fd, 0644) != 0 ||
	    fsync(fd) != 0) {
		log_errf(err, errsz, "metrics_file %s: %s: %s", path, tmp,
		    strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		log_errf(err, errsz, "metrics_file %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* The rename itself, to disk. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

static void *
writer_main(void *arg)
{
	struct metricsfile *mf = arg;
	struct buf text = BUF_INIT;
	char *path;

	pthread_mutex_lock(&mf->mu);
	for (;;) {
		char err[PATH_MAXLEN + 256];
		int r;

		while (!mf->waiting && !mf->stop)
			pthread_cond_wait(&mf->cv, &mf->mu);
		if (!mf->waiting)
			break;
		/* Take the text over; the loop may post the next. */
		text = mf->text;
		mf->text = (struct buf)BUF_INIT;
		path = mf->path;
		mf->path = NULL;
		mf->waiting = 0;
		pthread_mutex_unlock(&mf->mu);

		r = metricsfile_write(path, text.p ? text.p : "", text.len,
		    err, sizeof(err));
		if (r != 0 && !mf->failing)
			log_warn("%s", err);
		else if (r == 0 && mf->failing)
			log_info("metrics_file %s written again", path);
		mf->failing = r != 0;
		buf_free(&text);
		free(path);
		pthread_mutex_lock(&mf->mu);
	}
	pthread_mutex_unlock(&mf->mu);
	return NULL;
}

struct metricsfile *
metricsfile_new(char *err, size_t errsz)
{
	struct metricsfile *mf = xcalloc(1, sizeof(*mf));
	int r;

	pthread_mutex_init(&mf->mu, NULL);
	pthread_cond_init(&mf->cv, NULL);
	if ((r = pthread_create(&mf->th, NULL, writer_main, mf)) != 0) {
		log_errf(err, errsz, "metrics_file: pthread_create: %s",
		    strerror(r));
		pthread_mutex_destroy(&mf->mu);
		pthread_cond_destroy(&mf->cv);
		free(mf);
		return NULL;
	}
	return mf;
}

void
metricsfile_post(struct metricsfile *mf, const char *path, struct buf *text)
{
	pthread_mutex_lock(&mf->mu);
	buf_free(&mf->text);
	free(mf->path);
	mf->text = *text;
	*text = (struct buf)BUF_INIT;
	mf->path = xstrdup(path);
	mf->waiting = 1;
	pthread_cond_signal(&mf->cv);
	pthread_mutex_unlock(&mf->mu);
}

void
metricsfile_free(struct metricsfile *mf)
{
	if (mf == NULL)
		return;
	pthread_mutex_lock(&mf->mu);
	mf->stop = 1;
	pthread_cond_signal(&mf->cv);
	pthread_mutex_unlock(&mf->mu);
	pthread_join(mf->th, NULL);
	buf_free(&mf->text);
	free(mf->path);
	pthread_mutex_destroy(&mf->mu);
	pthread_cond_destroy(&mf->cv);
	free(mf);
}
