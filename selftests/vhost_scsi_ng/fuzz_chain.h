/* SPDX-License-Identifier: GPL-2.0 */
/* vsng_fuzz: descriptor chains (fuzz_chain.c). */
#ifndef FUZZ_CHAIN_H
#define FUZZ_CHAIN_H

#include "fuzz.h"

#define FZ_MAX_SEGS	40

enum fz_shape {
	FZ_SHAPE_NONE,		/* a well-formed chain */
	FZ_SHAPE_LOOP,		/* the last descriptor links back */
	FZ_SHAPE_NEXT_OOR,	/* next beyond the table */
	FZ_SHAPE_FLAGS,		/* one descriptor's flags and next at random */
	FZ_SHAPE_NESTED,	/* an indirect descriptor inside a table */
	FZ_SHAPE_ITABLE_LEN,	/* indirect table length 0, odd, huge */
	FZ_SHAPE_ITABLE_ADDR,	/* indirect table outside guest memory */
	FZ_SHAPE_ITABLE_NEXT,	/* INDIRECT together with NEXT */
	FZ_SHAPE_ITABLE_WRITE,	/* INDIRECT together with WRITE */
	FZ_NSHAPES
};

struct fz_chain {
	struct vsng_seg seg[FZ_MAX_SEGS];
	int nsegs;
	bool indirect;
	int itable_where;
	enum fz_shape shape;
	uint32_t arg, arg2;
	bool valid;
	void *resp;
	uint32_t wlen;		/* out: device-writable bytes */
};

uint64_t fz_place(struct fz *f, uint8_t how, uint32_t len);
int fz_chain_submit(struct fz *f, int qi, struct fz_chain *c);
void fz_kick_all(struct fz *f);
void fz_err_fd_retired(struct fz *f, int qi, int old_fd);
void fz_wait_queue(struct fz *f, int qi);
void fz_reap_events(struct fz *f);

#endif /* FUZZ_CHAIN_H */
