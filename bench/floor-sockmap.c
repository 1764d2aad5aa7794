/*
 * floor-sockmap: the least a socketmap server can do, for the benchmark.
 *
 *   floor-sockmap SOCKET_PATH RECORDS_FILE
 *
 * Loads "key<TAB>value" lines into a hash table and answers every
 * "NAME KEY" netstring from memory with "OK value" or "NOTFOUND ", one
 * client at a time, with plain blocking reads.  Whatever lookupd achieves
 * is compared with this: the cost of the protocol and of postmap itself on
 * this machine.  Not part of the product; no limits worth the name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct rec {
	struct rec *next;
	char *key;
	char *val;
};

static struct rec **tab;
static size_t ntab = 1u << 20;

static size_t
hash(const char *s, size_t n)
{
	size_t h = 5381;

	while (n--)
		h = h * 33 + (unsigned char)*s++;
	return h & (ntab - 1);
}

static const char *
find(const char *k, size_t n)
{
	for (struct rec *r = tab[hash(k, n)]; r; r = r->next)
		if (strlen(r->key) == n && memcmp(r->key, k, n) == 0)
			return r->val;
	return NULL;
}

static void
load(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	tab = calloc(ntab, sizeof(*tab));
	while ((len = getline(&line, &cap, f)) > 0) {
		char *tabc = strchr(line, '\t');
		struct rec *r;
		size_t h;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (tabc == NULL)
			continue;
		*tabc = '\0';
		r = malloc(sizeof(*r));
		r->key = strdup(line);
		r->val = strdup(tabc + 1);
		h = hash(r->key, strlen(r->key));
		r->next = tab[h];
		tab[h] = r;
	}
	free(line);
	fclose(f);
}

static void
serve(int fd)
{
	static char in[1 << 16], out[1 << 16];
	size_t have = 0;

	for (;;) {
		char *colon;
		size_t len, hdr, olen;
		ssize_t n;
		const char *sp, *v;
		int w;

		colon = memchr(in, ':', have);
		if (colon != NULL) {
			len = strtoul(in, NULL, 10);
			hdr = (size_t)(colon - in) + 1;
			if (len < sizeof(in) - 32 && have >= hdr + len + 1) {
				sp = memchr(in + hdr, ' ', len);
				v = sp ? find(sp + 1, len - (size_t)(sp + 1 -
				    (in + hdr))) : NULL;
				if (v)
					w = snprintf(out + 16, sizeof(out) - 16,
					    "OK %s", v);
				else
					w = snprintf(out + 16, sizeof(out) - 16,
					    "NOTFOUND ");
				olen = (size_t)w;
				w = snprintf(out, 16, "%zu:", olen);
				memmove(out + w, out + 16, olen);
				out[w + olen] = ',';
				if (write(fd, out, (size_t)w + olen + 1) < 0)
					return;
				memmove(in, in + hdr + len + 1,
				    have - hdr - len - 1);
				have -= hdr + len + 1;
				continue;
			}
		}
		if (have == sizeof(in))
			return;
		n = read(fd, in + have, sizeof(in) - have);
		if (n <= 0)
			return;
		have += (size_t)n;
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	int s;

	if (argc != 3) {
		fprintf(stderr, "usage: floor-sockmap SOCKET RECORDS\n");
		return 2;
	}
	load(argv[2]);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(s, 128) != 0) {
		perror(argv[1]);
		return 1;
	}
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		serve(c);
		close(c);
	}
}
