/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vsng_ring: the ring formats behind vsng_drv's virtqueue calls.
 *
 * vsng_drv.c keeps what every format shares (eventfds, programming the
 * device, counters, waiting); each format (vsng_ring_split.c,
 * vsng_ring_packed.c) keeps its ring memory and the driver's side of the
 * ring protocol.  Internal to the library: tests use vsng_drv.h.
 */
#ifndef VSNG_RING_H
#define VSNG_RING_H

#include "vsng_drv.h"

/*
 * The device (a kernel thread) and this process share the rings like two
 * CPUs: the usual virtio barriers, from the C11 fences.
 */
#define smp_mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)	/* full */
#define smp_rmb()	__atomic_thread_fence(__ATOMIC_ACQUIRE)	/* loads */
#define smp_wmb()	__atomic_thread_fence(__ATOMIC_RELEASE)	/* stores */
#define READ_ONCE16(x)	__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define WRITE_ONCE16(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

struct vsng_ring_ops {
	const char *name;
	/* Allocate the ring memory in guest memory (once per queue). */
	int (*alloc)(struct vsng_vq *vq);
	/* Zero the rings and the driver's ring state (a fresh queue). */
	void (*reset)(struct vsng_vq *vq);
	/* The VHOST_SET_VRING_BASE value for the driver's current state. */
	uint32_t (*base)(struct vsng_vq *vq);
	/* desc / avail (driver area) / used (device area) and log address */
	void (*addr)(struct vsng_vq *vq, struct vhost_vring_addr *a);
	/* Lay out and make available one chain: the head / buffer id. */
	int (*add)(struct vsng_vq *vq, const struct vsng_seg *segs, int nsegs,
		   bool indirect, void *cookie);
	/* Does the device want a kick for what was added since the last? */
	bool (*need_kick)(struct vsng_vq *vq);
	/* Take one used element: 1, 0 if none, -EIO if bogus. */
	int (*get_used)(struct vsng_vq *vq, uint32_t *len, void **cookie);
	/* A used element is waiting. */
	bool (*pending)(struct vsng_vq *vq);
	/* Completions the device published: consumed + waiting (mod 2^16). */
	uint16_t (*used_count)(struct vsng_vq *vq);
	/*
	 * Interrupt suppression: @on false asks for an interrupt at the next
	 * used element (EVENT_IDX: the event at the driver's used position),
	 * @on true asks for none.
	 */
	void (*set_no_interrupt)(struct vsng_vq *vq, bool on);
	/* EVENT_IDX: move the used event to the driver's used position. */
	void (*arm_event)(struct vsng_vq *vq);
	/* Does the device event state ask for a kick right now? */
	bool (*kick_wanted)(struct vsng_vq *vq);
};

extern const struct vsng_ring_ops vsng_ring_split_ops;
extern const struct vsng_ring_ops vsng_ring_packed_ops;

/* Indirect tables: num tables of VSNG_INDIR_MAX 16-byte entries. */
int vsng_vq_indir_alloc(struct vsng_vq *vq);
/* The shadow arrays (next / chain_len / cookie / order), vq->num entries. */
int vsng_vq_shadow_alloc(struct vsng_vq *vq);
/* IN_ORDER (vsng_drv.c): a used element for @id; the next buffer it covers. */
int vsng_vq_order_batch(struct vsng_vq *vq, uint16_t id, uint32_t len,
			unsigned int limit);
uint16_t vsng_vq_order_take(struct vsng_vq *vq, uint32_t *len);

#endif /* VSNG_RING_H */
