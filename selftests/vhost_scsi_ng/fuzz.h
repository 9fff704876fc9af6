/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vsng_fuzz: a hostile-guest fuzzer of /dev/vhost-scsi on vsng_drv.
 *
 * One "run" executes one input: a byte string read as a sequence of
 * operations (fuzz_ops.c).  Bytes past the end read as 0, so every byte
 * string is a valid input and inputs can be mutated freely.  Each run
 * starts from a fresh device on the same LIO target, so a saved input
 * replays alone (--replay FILE).
 *
 * Oracles (a failure is a "finding": the input is saved, exit non-zero):
 *   - arena: every guest buffer lives in a poisoned arena with a shadow
 *     copy; a byte changed outside a device-writable descriptor is a
 *     finding (fuzz_mem.c);
 *   - answers: every published chain gets a used entry with a known head
 *     and a length within its writable bytes, unless the queue's err
 *     eventfd fired (queue broken); no answer and no err is a hang;
 *   - valid requests (a pattern written, read back) return the data;
 *   - a second process on the fd cannot take or drive the device.
 * The kernel side (KASAN, lockdep, kmemleak, hung task, WARN) and LIO's
 * counts (leftovers, module unload) are checked by fuzz.sh in the guest.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vsng_drv.h"

/* ring accesses (as in vsng_drv.c) */
#define smp_rmb()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define READ_ONCE16(x)	__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define WRITE_ONCE16(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define FZ_MAX_INPUT	4096

/* --ring: the ring format of each run (mixed: byte 0 bit 6 of the input). */
enum { FZ_RING_SPLIT, FZ_RING_PACKED, FZ_RING_MIXED };
#define FZ_MAX_REQ	4		/* request queues per device, at most */
#define FZ_MAX_INFL	64		/* chains in flight per queue and batch */
#define FZ_MAX_WR	(FZ_MAX_INFL * 8)	/* writable ranges per batch */

/* Arena: the guest memory buffers come from (poisoned, with a shadow). */
#define FZ_POISON	0x5a
#define FZ_ARENA0	(1u << 20)	/* in R0 */
#define FZ_SEAM		(256u * 1024)	/* per side of the R0/R1 seam */
#define FZ_ARENA2	(1u << 20)	/* in R2 */
#define FZ_EVTZONE	(16u * 1024)	/* top of A2: event buffers */

struct fz_piece {
	uint64_t gpa;
	uint8_t *hva;
	uint8_t *shadow;
	size_t len;
};

struct fz_range {
	uint64_t gpa;
	uint64_t len;
};

/* One chain in flight. */
struct fz_infl {
	uint16_t head;
	uint32_t wlen;		/* device-writable bytes (max used.len) */
	bool answered;
	bool valid;		/* a VALID request: must succeed */
	void *resp;		/* response header (hva), or NULL */
	uint16_t span;		/* packed: ring slots the chain took */
};

struct fz_q {
	struct fz_infl infl[FZ_MAX_INFL];
	int ninfl;
	int published;		/* avail entries published this batch */
	uint16_t next_desc;	/* descriptor allocation cursor */
	bool broken;		/* err eventfd fired */
	bool tainted;		/* ring state out of our model: no oracle */
};

struct fz_stats {
	uint64_t runs, requests, hostile, valid, tmf, an, events, ioctls;
	uint64_t broken, tainted, reinit, findings;
	uint64_t soft;		/* soft resets instead of a new device */
	uint64_t setup_ms;	/* setting up, resetting, closing devices */
};

struct fz {
	/* configuration */
	struct vsng_target *t;
	int timeout_ms;
	bool verbose;
	bool ours;
	uint64_t mask_features;	/* --no-t10pi: never negotiated */
	int ring;		/* --ring: FZ_RING_SPLIT, _PACKED, _MIXED */
	uint64_t offered;

	/* the device of this run */
	struct vsng_dev d;
	bool up;
	bool reuse;		/* keep a clean device for the next run */
	bool no_soft_reset;	/* a broken queue always costs a new device */
	bool dirty;		/* this device saw ioctls or ring games */
	int reuse_left;
	int nreq;
	uint64_t features;
	struct vsng_mem mem;	/* kept across devices: map once */
	uint64_t brk0;		/* R0 allocator start for rings */
	struct fz_q q[VSNG_MAX_VQS];

	/* arena */
	struct fz_piece piece[4];
	int npieces;
	uint64_t a0_gpa, seam_gpa, a2_gpa;
	uint32_t a0_off, seam_off, a2_off, evt_off;	/* bump allocators */
	/*
	 * Building an event chain: every allocation comes from the event
	 * zone.  Event buffers stay posted across batches, so neither their
	 * buffers nor their indirect tables may be handed out again.
	 */
	bool evt_alloc;
	struct fz_range wr[FZ_MAX_WR];
	int nwr;
	uint8_t *logbuf;
	size_t loglen;

	/* input */
	const uint8_t *in;
	size_t inlen, pos;

	/* result */
	char finding[256];
	struct fz_stats st;
};

/*
 * --inject KIND: a deliberately broken check, to show that an oracle
 * fires (arena, guard, hang, usedid, usedlen, valid).
 */
extern const char *fz_inject;
static inline bool fz_inj(const char *kind)
{
	return fz_inject && !strcmp(fz_inject, kind);
}

/* input reader: past the end every read gives 0 */
static inline uint8_t fz_u8(struct fz *f)
{
	return f->pos < f->inlen ? f->in[f->pos++] : (f->pos++, 0);
}

static inline bool fz_eof(const struct fz *f)
{
	return f->pos >= f->inlen;
}

uint16_t fz_u16(struct fz *f);
uint32_t fz_u32(struct fz *f);
uint64_t fz_u64(struct fz *f);

/* a finding: the first one is kept, the run stops at the next check */
void fz_find(struct fz *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* fuzz_mem.c */
int fz_mem_init(struct fz *f);
void fz_arena_reset(struct fz *f);
uint64_t fz_alloc(struct fz *f, int where, uint32_t len, uint32_t align);
void fz_put(struct fz *f, uint64_t gpa, const void *src, size_t len);
int fz_get(struct fz *f, uint64_t gpa, void *dst, size_t len);
void *fz_hva(struct fz *f, uint64_t gpa, size_t len);
void fz_allow(struct fz *f, uint64_t gpa, uint64_t len);
void fz_arena_check(struct fz *f);
int fz_guard_check(struct fz *f);

/* fuzz_dev.c */
int fz_dev_soft_reset(struct fz *f, uint64_t features);
int fz_dev_up(struct fz *f, uint64_t features, int nreq, unsigned int qsz);
void fz_dev_down(struct fz *f);
int fz_set_owner(int fd);

/* fuzz_ops.c */
void fz_run(struct fz *f, const uint8_t *in, size_t len);
void fz_flush(struct fz *f);
void fz_set_table_full(bool full);
void fz_taint_all(struct fz *f);
void fz_dev_again(struct fz *f, bool full);
uint64_t fz_run_features(void);

/* fuzz_ioctl.c */
void fz_op_ioctl(struct fz *f);

/* fuzz_kcov.c */
int fz_kcov_init(const char *mod, const char *ko_sites);
bool fz_kcov_on(void);
void fz_kcov_reset(void);
/* Collect PCs of this run; returns how many are new. */
int fz_kcov_collect(void);
uint64_t fz_kcov_unique(void);
uint64_t fz_kcov_sites(void);
int fz_kcov_owner_thread_set_owner(int fd);

/* fuzz_corpus.c */
struct fz_input {
	uint8_t *buf;
	size_t len;
};
int fz_load_file(const char *path, struct fz_input *in);
int fz_save_file(const char *path, const uint8_t *buf, size_t len);
void fz_generate(uint64_t *rng, struct fz_input *in);
void fz_mutate(uint64_t *rng, const struct fz_input *src,
	       const struct fz_input *other, struct fz_input *out);
uint64_t fz_rand(uint64_t *rng);

#endif /* FUZZ_H */
