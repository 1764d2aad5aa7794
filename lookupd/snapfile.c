/*
 * snapfile: names, limits and digests of snapshot files (see snapfile.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/hex.h"
#include "lookupd/snapfile.h"

#define HASH_CHUNK	(1u << 20)

int
snapfile_valid_map(const char *map)
{
	size_t n;

	if (map == NULL || map[0] == '\0' || map[0] == '.')
		return 0;
	for (n = 0; map[n] != '\0'; n++) {
		unsigned char c = (unsigned char)map[n];

		if (n >= SNAP_NAME_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

int
snapfile_path(char *out, size_t outsz, const char *dir, const char *prefix,
    const char *map, const char *suffix)
{
	int r = snprintf(out, outsz, "%s/%s%s%s", dir, prefix, map, suffix);

	if (r < 0 || (size_t)r >= outsz)
		return -1;
	return 0;
}

int
snapfile_digest_line(const unsigned char md[32], const char *map, char *out,
    size_t outsz)
{
	char hex[65];
	int r;

	hex_encode(md, 32, hex);
	r = snprintf(out, outsz, "%s  %s.cdb\n", hex, map);
	if (r < 0 || (size_t)r >= outsz)
		return -1;
	return r;
}

int
snapfile_digest_parse(const char *text, const char *map,
    unsigned char want[32])
{
	char name[SNAP_NAME_MAX + 8];
	const char *p;
	int r;

	for (int i = 0; i < 32; i++) {
		int hi = hex_value((unsigned char)text[2 * i]);
		int lo = hex_value((unsigned char)text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		want[i] = (unsigned char)(hi << 4 | lo);
	}
	p = text + 64;
	/* sha256sum writes "  " (text mode) or " *" (binary mode). */
	if (p[0] != ' ' || (p[1] != ' ' && p[1] != '*'))
		return -1;
	p += 2;
	r = snprintf(name, sizeof(name), "%s.cdb\n", map);
	if (r < 0 || (size_t)r >= sizeof(name))
		return -1;
	return strcmp(p, name) == 0 ? 0 : -2;
}

ssize_t
snapfile_pread(int fd, void *buf, size_t n, off_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done,
		    off + (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int
snapfile_write(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

int
snapfile_sha256(int fd, unsigned char out[32], uint64_t *total)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *chunk = xmalloc(HASH_CHUNK);
	unsigned int outlen = 0;
	uint64_t off = 0;
	int rc = -1, saved = EIO;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		saved = ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = snapfile_pread(fd, chunk, HASH_CHUNK, (off_t)off);

		if (r < 0) {
			saved = errno;
			goto out;
		}
		if (r == 0)
			break;
		if (EVP_DigestUpdate(ctx, chunk, (size_t)r) != 1)
			goto out;
		off += (uint64_t)r;
	}
	if (EVP_DigestFinal_ex(ctx, out, &outlen) != 1 || outlen != 32)
		goto out;
	*total = off;
	rc = 0;
out:
	free(chunk);
	EVP_MD_CTX_free(ctx);
	if (rc != 0)
		errno = saved;
	return rc;
}
