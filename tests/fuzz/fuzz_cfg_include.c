/*
 * fuzz_cfg_include: "include = GLOB" of common/cfg.c (cfg_parse_files),
 * on a set of configuration files taken from the input: the text before
 * the first line "=== PATH" is /f/main.conf, each "=== PATH" line starts
 * a file of that name ("=== PATH @ID" gives it identity ID, so that two
 * names may be one file, as a symlink makes them).  glob() and read()
 * answer from these files only: nothing is read from the disk.
 *
 * Whatever the files hold:
 *   - parsing never crashes, leaks or reads a file it was not told of;
 *     it is deterministic (same verdict, message, maps and files);
 *   - a refusal names a file ("FILE:" first) of the set, in one line
 *     without control bytes;
 *   - an accepted configuration read each included file (an identity)
 *     once, at most 1000 of them, all of the set, never the main file;
 *     every map comes from the main file or one of them, with a line,
 *     under a unique valid name, with keys and results; a map defined
 *     in an included file follows the maps of the files before it.
 */
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "tests/fuzz/fuzz.h"

#define MAIN "/f/main.conf"
#define NFILES 64

struct vfile {
	char path[256], id[256];
	const char *text;
	size_t len;
};

static struct vfile files[NFILES];
static size_t nfiles;

static void
add_path(struct strlist *l, const char *s)
{
	l->v = realloc(l->v, (l->n + 2) * sizeof(*l->v));
	FUZZ_ASSERT(l->v != NULL);
	l->v[l->n++] = strdup(s);
	l->v[l->n] = NULL;
}

static int
v_glob(void *arg, const char *pattern, struct strlist *paths, char *err,
    size_t errsz)
{
	/* Only patterns: plain paths are include()'s own business. */
	FUZZ_ASSERT(strpbrk(pattern, "*?[") != NULL);
	for (size_t i = 0; i < nfiles; i++)
		if (fnmatch(pattern, files[i].path, FNM_PATHNAME |
		    FNM_PERIOD) == 0)
			add_path(paths, files[i].path);
	return 0;
}

static int
v_read(void *arg, const char *path, size_t max, char **text, size_t *len,
    char **id, char *err, size_t errsz)
{
	for (size_t i = 0; i < nfiles; i++) {
		if (strcmp(files[i].path, path) != 0)
			continue;
		if (files[i].len > max)
			break;
		*text = malloc(files[i].len + 1);
		FUZZ_ASSERT(*text != NULL);
		memcpy(*text, files[i].text, files[i].len);
		(*text)[files[i].len] = '\0';
		*len = files[i].len;
		*id = strdup(files[i].id);
		return 0;
	}
	snprintf(err, errsz, "cannot open: No such file or directory");
	return -1;
}

static const struct cfg_files vfs = { v_glob, v_read, NULL };

/* Split the input into files; the main file is files[0]. */
static void
split(const char *data, size_t size)
{
	const char *p = data, *end = data + size;

	snprintf(files[0].path, sizeof(files[0].path), "%s", MAIN);
	snprintf(files[0].id, sizeof(files[0].id), "%s", MAIN);
	files[0].text = p;
	nfiles = 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl != NULL ? nl + 1 : end;

		if (end - next >= 4 && memcmp(next, "=== ", 4) == 0 &&
		    nfiles < NFILES) {
			const char *h = next + 4, *he, *at;
			size_t pl;

			files[nfiles - 1].len = (size_t)(next - files[nfiles -
			    1].text);
			he = memchr(h, '\n', (size_t)(end - h));
			if (he == NULL)
				he = end;
			at = memchr(h, '@', (size_t)(he - h));
			pl = (size_t)((at != NULL ? at : he) - h);
			while (pl > 0 && h[pl - 1] == ' ')
				pl--;
			if (pl >= sizeof(files[0].path))
				pl = sizeof(files[0].path) - 1;
			memcpy(files[nfiles].path, h, pl);
			files[nfiles].path[pl] = '\0';
			if (memchr(files[nfiles].path, '\0', pl) != NULL)
				files[nfiles].path[0] = '\0';
			if (at != NULL && (size_t)(he - at - 1) <
			    sizeof(files[0].id)) {
				memcpy(files[nfiles].id, at + 1,
				    (size_t)(he - at - 1));
				files[nfiles].id[he - at - 1] = '\0';
			} else {
				memcpy(files[nfiles].id, files[nfiles].path,
				    sizeof(files[0].id));
			}
			files[nfiles].text = he < end ? he + 1 : end;
			nfiles++;
			p = files[nfiles - 1].text;
			continue;
		}
		p = next;
	}
	files[nfiles - 1].len = (size_t)(end - files[nfiles - 1].text);
}

static const char *
id_of(const char *path)
{
	for (size_t i = 0; i < nfiles; i++)
		if (strcmp(files[i].path, path) == 0)
			return files[i].id;
	return NULL;
}

static void
check_err(const char *err)
{
	int named = 0;

	for (size_t i = 0; i < nfiles; i++) {
		size_t n = strlen(files[i].path);

		named |= strncmp(err, files[i].path, n) == 0 && err[n] == ':';
	}
	FUZZ_ASSERT(named);
	for (const unsigned char *p = (const unsigned char *)err; *p; p++)
		FUZZ_ASSERT(*p >= 0x20 && *p != 0x7f);
}

static void
check_cfg(const struct cfg *c)
{
	const struct strlist *inc = &c->include_files;
	size_t fi = 0;

	FUZZ_ASSERT(inc->n <= 1000);
	for (size_t i = 0; i < inc->n; i++) {
		const char *id = id_of(inc->v[i]);

		FUZZ_ASSERT(id != NULL);
		FUZZ_ASSERT(strcmp(id, MAIN) != 0);
		for (size_t j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(id_of(inc->v[j]), id) != 0);
	}
	for (size_t i = 0; i < c->n_maps; i++) {
		const struct cfg_map *m = &c->maps[i];

		FUZZ_ASSERT(m->key.n > 0 && m->result.n > 0);
		FUZZ_ASSERT(cfg_map_find(c, m->name, strlen(m->name)) == m);
		if (m->file == NULL) {
			FUZZ_ASSERT(c->builtin_maps);
			continue;
		}
		FUZZ_ASSERT(m->line > 0);
		if (strcmp(m->file, c->file) == 0)
			continue;
		/* Files are read in order: a map's file is this one or a
		 * later one than the previous included map's. */
		while (fi < inc->n && inc->v[fi] != m->file)
			fi++;
		FUZZ_ASSERT(fi < inc->n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024], err2[1024];
	struct cfg *a, *b;

	split((const char *)data, size);
	a = cfg_parse_files(files[0].text, files[0].len, MAIN, MAIN, &vfs, err,
	    sizeof(err));
	b = cfg_parse_files(files[0].text, files[0].len, MAIN, MAIN, &vfs, err2,
	    sizeof(err2));
	FUZZ_ASSERT((a == NULL) == (b == NULL));
	if (a == NULL) {
		check_err(err);
		FUZZ_ASSERT(strcmp(err, err2) == 0);
	} else {
		check_cfg(a);
		FUZZ_ASSERT(a->n_maps == b->n_maps);
		FUZZ_ASSERT(a->include_files.n == b->include_files.n);
		for (size_t i = 0; i < a->n_maps; i++)
			FUZZ_ASSERT(strcmp(a->maps[i].name, b->maps[i].name) ==
			    0);
	}
	cfg_free(a);
	cfg_free(b);
	return 0;
}
