// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_fuzz: inputs: files, generation and mutation (all from one
 * xorshift generator, so a seed reproduces a whole session).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

uint64_t fz_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

int fz_load_file(const char *path, struct fz_input *in)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	in->buf = malloc(FZ_MAX_INPUT);
	if (!in->buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, in->buf, FZ_MAX_INPUT);
	close(fd);
	if (n < 0)
		return -errno;
	in->len = n;
	return 0;
}

int fz_save_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* A fresh input: 64 to 1024 random bytes. */
void fz_generate(uint64_t *rng, struct fz_input *in)
{
	size_t i;

	in->len = 64 + fz_rand(rng) % 961;
	for (i = 0; i < in->len; i++)
		in->buf[i] = fz_rand(rng);
}

/* Bit flips, byte sets, inserts, deletes, block copies and splices. */
void fz_mutate(uint64_t *rng, const struct fz_input *src,
	       const struct fz_input *other, struct fz_input *out)
{
	int n = 1 + fz_rand(rng) % 8, i;
	size_t pos, len, k;

	memcpy(out->buf, src->buf, src->len);
	out->len = src->len;
	for (i = 0; i < n; i++) {
		if (!out->len)
			out->len = 1, out->buf[0] = 0;
		pos = fz_rand(rng) % out->len;
		switch (fz_rand(rng) % 7) {
		case 0:
			out->buf[pos] ^= 1u << (fz_rand(rng) % 8);
			break;
		case 1:
			out->buf[pos] = fz_rand(rng);
			break;
		case 2:		/* insert random bytes */
			len = 1 + fz_rand(rng) % 32;
			if (out->len + len > FZ_MAX_INPUT)
				break;
			memmove(out->buf + pos + len, out->buf + pos,
				out->len - pos);
			for (k = 0; k < len; k++)
				out->buf[pos + k] = fz_rand(rng);
			out->len += len;
			break;
		case 3:		/* delete */
			len = 1 + fz_rand(rng) % 32;
			if (pos + len > out->len)
				len = out->len - pos;
			memmove(out->buf + pos, out->buf + pos + len,
				out->len - pos - len);
			out->len -= len;
			break;
		case 4:		/* copy a block inside */
			len = 1 + fz_rand(rng) % 64;
			k = fz_rand(rng) % out->len;
			if (k + len > out->len || pos + len > out->len)
				break;
			memmove(out->buf + pos, out->buf + k, len);
			break;
		case 5:		/* splice the tail of another input */
			if (!other || !other->len)
				break;
			k = fz_rand(rng) % other->len;
			len = other->len - k;
			if (pos + len > FZ_MAX_INPUT)
				len = FZ_MAX_INPUT - pos;
			memcpy(out->buf + pos, other->buf + k, len);
			out->len = pos + len;
			break;
		default:	/* append a fresh tail */
			len = 1 + fz_rand(rng) % 128;
			if (out->len + len > FZ_MAX_INPUT)
				break;
			for (k = 0; k < len; k++)
				out->buf[out->len + k] = fz_rand(rng);
			out->len += len;
			break;
		}
	}
}
