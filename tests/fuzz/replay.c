/*
 * replay: a main() for a libFuzzer target, without libFuzzer, so that
 * `make check` replays every seed and every regression input of each
 * target in seconds, under the sanitizer build (gcc, ASan + UBSan).
 *
 * Linked with tests/fuzz/fuzz_NAME.c as B/tests/fuzz/fuzz_NAME (make
 * check-build); tests/run runs it like a unit test.  Without arguments it
 * reads every file of tests/fuzz/corpus/NAME and tests/fuzz/regress/NAME
 * under $LDAPMAIL_SRC (default: the current directory), NAME taken from
 * its own name; arguments name other files or directories instead.  Each
 * input is copied to a heap block of exactly its size (as libFuzzer does,
 * so ASan sees a read past its end) and given to LLVMFuzzerTestOneInput
 * once, after LLVMFuzzerInitialize when the target has one.  Its path
 * goes to stderr first: a broken invariant (FUZZ_ASSERT aborts) or a
 * sanitizer report then names the input.  Prints "ok - fuzz NAME replay:
 * N corpus, M regress inputs" at the end, or "not ok" when an input
 * cannot be read or the seed corpus is missing or empty (a replay of
 * nothing proves nothing).  Limits: inputs of at most 1 MiB, file names
 * of at most PATH_MAX bytes; directories are not recursed into.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

#define REPLAY_MAX	(1u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int failed;

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run the target on one file; 1 if it was run. */
static int
one_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	unsigned char *data = NULL;
	size_t n = 0;
	const char *why = NULL;

	if (f == NULL || fstat(fileno(f), &st) != 0)
		why = strerror(errno);
	else if (st.st_size > REPLAY_MAX)
		why = "over 1 MiB";
	else {
		/* Exactly its size, so that a read past the end is caught. */
		n = (size_t)st.st_size;
		data = malloc(n ? n : 1);
		if (data == NULL)
			why = "out of memory";
		else if (fread(data, 1, n, f) != n)
			why = "short read";
	}
	if (f)
		fclose(f);
	if (why) {
		printf("not ok - replay %s (%s)\n", path, why);
		free(data);
		failed = 1;
		return 0;
	}
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
	fflush(stderr);
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 1;
}

/* Every regular file of dir (sorted), or dir itself when it is a file;
 * the number run, -1 if dir does not exist. */
static int
one_path(const char *dir)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int ran = 0;

	if (stat(dir, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return one_file(dir);
	d = opendir(dir);
	if (d == NULL) {
		printf("not ok - replay %s (%s)\n", dir, strerror(errno));
		failed = 1;
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		int r;

		if (de->d_name[0] == '.')
			continue;
		r = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (r < 0 || (size_t)r >= sizeof(path)) {
			printf("not ok - replay %s/%s (name too long)\n", dir,
			    de->d_name);
			failed = 1;
			continue;
		}
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			char **nn;

			cap = cap ? 2 * cap : 64;
			nn = realloc(names, cap * sizeof(*names));
			if (nn == NULL)
				abort();
			names = nn;
		}
		names[n] = strdup(path);
		if (names[n] == NULL)
			abort();
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		ran += one_file(names[i]);
		free(names[i]);
	}
	free(names);
	return ran;
}

int
main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');
	const char *name, *src = getenv("LDAPMAIL_SRC");
	char corpus[PATH_MAX], regress[PATH_MAX];
	int r, nc, nr;

	self = self ? self + 1 : argv[0];
	name = strncmp(self, "fuzz_", 5) == 0 ? self + 5 : self;
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		int ran = 0;

		for (int i = 1; i < argc; i++) {
			r = one_path(argv[i]);
			if (r < 0) {
				printf("not ok - replay %s (missing)\n",
				    argv[i]);
				failed = 1;
			} else {
				ran += r;
			}
		}
		if (!failed)
			printf("ok - fuzz %s replay: %d inputs\n", name, ran);
		return failed;
	}
	if (src == NULL || *src == '\0')
		src = ".";
	r = snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus/%s", src,
	    name);
	if (r < 0 || (size_t)r >= sizeof(corpus)) {
		printf("not ok - fuzz %s replay (path too long)\n", name);
		return 1;
	}
	r = snprintf(regress, sizeof(regress), "%s/tests/fuzz/regress/%s", src,
	    name);
	if (r < 0 || (size_t)r >= sizeof(regress)) {
		printf("not ok - fuzz %s replay (path too long)\n", name);
		return 1;
	}
	nc = one_path(corpus);
	nr = one_path(regress);
	if (nc <= 0) {
		printf("not ok - fuzz %s replay (no seed corpus in %s)\n",
		    name, corpus);
		return 1;
	}
	if (failed)
		return 1;
	printf("ok - fuzz %s replay: %d corpus, %d regress inputs\n", name,
	    nc, nr < 0 ? 0 : nr);
	return 0;
}
