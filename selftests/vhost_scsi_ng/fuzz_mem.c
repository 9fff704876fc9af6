// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_fuzz: the arena every guest buffer of a run comes from, and its
 * oracle.
 *
 * The arena is four pieces of guest memory: one in R0, the two sides of
 * the R0/R1 seam (contiguous guest-physical, apart in the process) and one
 * in R2.  It is filled with FZ_POISON and mirrored by a shadow copy; the
 * fuzzer writes guest memory only through fz_put(), which writes both.
 * Every device-writable descriptor of a batch is recorded (fz_allow());
 * when the batch is over (every chain answered, or the device closed), a
 * byte that differs from the shadow outside those ranges was written by
 * the device where the guest did not allow it: a finding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define PAGE_SZ	4096

int fz_mem_init(struct fz *f)
{
	struct vsng_mem *m = &f->mem;
	struct vsng_region *r0, *r1, *r2;
	int i;

	if (vsng_mem_create(&f->d))
		return -1;
	*m = f->d.mem;
	r0 = &m->r[0];
	r1 = &m->r[1];
	r2 = &m->r[2];
	/* A0 at the start of R0, the rings after it */
	f->a0_gpa = r0->gpa;
	r0->brk = FZ_ARENA0;
	f->brk0 = r0->brk;
	/* the seam: last FZ_SEAM bytes of R0, first FZ_SEAM bytes of R1 */
	f->seam_gpa = r1->gpa - FZ_SEAM;
	f->a2_gpa = r2->gpa;
	r2->brk = FZ_ARENA2;

	f->piece[0] = (struct fz_piece){ f->a0_gpa, r0->hva, NULL, FZ_ARENA0 };
	f->piece[1] = (struct fz_piece){ f->seam_gpa,
					 r0->hva + r0->size - FZ_SEAM, NULL,
					 FZ_SEAM };
	f->piece[2] = (struct fz_piece){ r1->gpa, r1->hva, NULL, FZ_SEAM };
	f->piece[3] = (struct fz_piece){ f->a2_gpa, r2->hva, NULL, FZ_ARENA2 };
	f->npieces = 4;
	for (i = 0; i < f->npieces; i++) {
		f->piece[i].shadow = malloc(f->piece[i].len);
		if (!f->piece[i].shadow)
			return -1;
		memset(f->piece[i].hva, FZ_POISON, f->piece[i].len);
		memset(f->piece[i].shadow, FZ_POISON, f->piece[i].len);
	}
	/* the dirty log: one bit per 4 KiB page up to the end of R2 */
	f->loglen = (r2->gpa + r2->size) / PAGE_SZ / 8 + 8;
	f->logbuf = calloc(1, f->loglen);
	return f->logbuf ? 0 : -1;
}

/* Start a batch: allocators from the start, no writable range yet. */
void fz_arena_reset(struct fz *f)
{
	f->a0_off = 0;
	f->seam_off = 0;
	f->a2_off = 0;
	f->nwr = 0;
	/* event buffers stay posted: their zone is always writable */
	fz_allow(f, f->a2_gpa + FZ_ARENA2 - FZ_EVTZONE, FZ_EVTZONE);
}

/*
 * A buffer of @len bytes: where 0 in R0, 1 across the R0/R1 seam (when it
 * fits, the buffer straddles the seam), 2 in R2.  0 when the arena is full.
 */
uint64_t fz_alloc(struct fz *f, int where, uint32_t len, uint32_t align)
{
	uint32_t *off, size, o;
	uint64_t base;

	if (!align)
		align = 1;
	if (f->evt_alloc)
		where = 3;
	switch (where) {
	case 1:
		off = &f->seam_off;
		size = 2 * FZ_SEAM;
		base = f->seam_gpa;
		break;
	case 2:
		off = &f->a2_off;
		size = FZ_ARENA2 - FZ_EVTZONE;
		base = f->a2_gpa;
		break;
	case 3:		/* event buffers: live across batches */
		off = &f->evt_off;
		size = FZ_EVTZONE;
		base = f->a2_gpa + FZ_ARENA2 - FZ_EVTZONE;
		break;
	default:
		off = &f->a0_off;
		size = FZ_ARENA0;
		base = f->a0_gpa;
		break;
	}
	o = (*off + align - 1) & ~(align - 1);
	if (where == 1 && o < FZ_SEAM && len > 1 && o + len <= FZ_SEAM + len / 2)
		o = (FZ_SEAM - len / 2) & ~(align - 1);
	if (len > size || o > size - len)
		return 0;
	*off = o + len;
	return base + o;
}

static struct fz_piece *piece_of(struct fz *f, uint64_t gpa)
{
	int i;

	for (i = 0; i < f->npieces; i++)
		if (gpa >= f->piece[i].gpa &&
		    gpa - f->piece[i].gpa < f->piece[i].len)
			return &f->piece[i];
	return NULL;
}

/* Write guest memory (and the shadow); bytes outside the arena are dropped */
void fz_put(struct fz *f, uint64_t gpa, const void *src, size_t len)
{
	const uint8_t *s = src;

	while (len) {
		struct fz_piece *p = piece_of(f, gpa);
		size_t n;

		if (!p) {
			gpa++;
			s++;
			len--;
			continue;
		}
		n = p->len - (gpa - p->gpa);
		if (n > len)
			n = len;
		memcpy(p->hva + (gpa - p->gpa), s, n);
		memcpy(p->shadow + (gpa - p->gpa), s, n);
		gpa += n;
		s += n;
		len -= n;
	}
}

/* Read guest memory of the arena: -1 if any byte is outside it. */
int fz_get(struct fz *f, uint64_t gpa, void *dst, size_t len)
{
	uint8_t *d = dst;

	while (len) {
		struct fz_piece *p = piece_of(f, gpa);
		size_t n;

		if (!p)
			return -1;
		n = p->len - (gpa - p->gpa);
		if (n > len)
			n = len;
		memcpy(d, p->hva + (gpa - p->gpa), n);
		gpa += n;
		d += n;
		len -= n;
	}
	return 0;
}

/* Process address of an arena buffer that lies in one piece, or NULL. */
void *fz_hva(struct fz *f, uint64_t gpa, size_t len)
{
	struct fz_piece *p = piece_of(f, gpa);

	if (!p || gpa - p->gpa + len > p->len)
		return NULL;
	return p->hva + (gpa - p->gpa);
}

void fz_allow(struct fz *f, uint64_t gpa, uint64_t len)
{
	if (!len)
		return;
	if (f->nwr == FZ_MAX_WR) {
		/* too many to track: allow everything of this batch */
		f->wr[0] = (struct fz_range){ 0, ~0ULL };
		f->nwr = 1;
		return;
	}
	f->wr[f->nwr++] = (struct fz_range){ gpa, len };
}

static bool allowed(struct fz *f, uint64_t gpa)
{
	int i;

	for (i = 0; i < f->nwr; i++)
		if (gpa - f->wr[i].gpa < f->wr[i].len)
			return true;
	return false;
}

/* End of a batch: compare the arena with its shadow, then accept. */
void fz_arena_check(struct fz *f)
{
	int i;

	if (fz_inj("arena"))	/* as if the device wrote a stray byte */
		f->piece[0].hva[FZ_ARENA0 - 1] ^= 0xff;
	for (i = 0; i < f->npieces; i++) {
		struct fz_piece *p = &f->piece[i];
		size_t o, b;

		for (o = 0; o < p->len; o += 64) {
			size_t n = p->len - o < 64 ? p->len - o : 64;

			if (!memcmp(p->hva + o, p->shadow + o, n))
				continue;
			for (b = o; b < o + n; b++) {
				if (p->hva[b] == p->shadow[b])
					continue;
				if (!allowed(f, p->gpa + b))
					fz_find(f, "device wrote guest memory outside every device-writable descriptor: gpa 0x%llx (0x%02x, was 0x%02x)",
						(unsigned long long)(p->gpa + b),
						p->hva[b], p->shadow[b]);
				p->shadow[b] = p->hva[b];
			}
		}
	}
	fz_arena_reset(f);
}

/*
 * The unregistered gaps of the mapping (never in any memory table) must
 * still hold vsng_drv's poison: checked once at the end.
 */
int fz_guard_check(struct fz *f)
{
	static const struct { size_t off, len; } gap[] = {
		{ 0, 1u << 20 }, { 17u << 20, 3u << 20 },
		{ 68u << 20, 4u << 20 }, { 88u << 20, 8u << 20 },
	};
	size_t i, b;

	if (fz_inj("guard"))
		f->mem.map[12345] ^= 1;
	for (i = 0; i < ARRAY_SIZE(gap); i++)
		for (b = 0; b < gap[i].len; b++)
			if (f->mem.map[gap[i].off + b] != FZ_POISON) {
				fz_find(f, "guard zone written at map+0x%zx",
					gap[i].off + b);
				return -1;
			}
	return 0;
}
