/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-scsi-ng: the ring-format layer of the virtqueue engine.
 *
 * A queue is either split (ring_split.c, virtio 1.0 "Split Virtqueues")
 * or packed (ring_packed.c, virtio 1.1 "Packed Virtqueues"), fixed by
 * VIRTIO_F_RING_PACKED in the acked features (vq->packed, written with
 * vq->acked_features).  Each format implements the same small set of
 * operations, vsng_split_*() and vsng_packed_*(); the vsng_vq_*() and
 * vsng_ring_*() inlines below pick one with a single test of vq->packed,
 * which the CPU predicts perfectly (a queue never changes format while it
 * runs), instead of an indirect call (a retpoline on every request).
 *
 * Everything here is called with vq->mutex held (or dev->mutex for the
 * set-up checks), see vq.h.
 */
#ifndef _VSNG_RING_H
#define _VSNG_RING_H

/* ---- split ring (ring_split.c) ---------------------------------------- */
int vsng_split_pop(struct vsng_vq *vq, struct vsng_chain *ch);
bool vsng_split_unpop(struct vsng_vq *vq, int n);
int vsng_split_add_used(struct vsng_vq *vq, u16 head, u32 len);
int vsng_split_add_used_run(struct vsng_vq *vq, u16 head, u32 len, u16 count);
void vsng_split_flush_used(struct vsng_vq *vq);
void vsng_split_disable_notify(struct vsng_vq *vq);
bool vsng_split_enable_notify(struct vsng_vq *vq);
bool vsng_split_avail_empty(struct vsng_vq *vq);
bool vsng_split_wants_signal(struct vsng_vq *vq);
bool vsng_split_access_ok(struct vsng_vq *vq, unsigned int num,
			  u64 desc, u64 avail, u64 used);
int vsng_split_init_access(struct vsng_vq *vq);
u32 vsng_split_get_base(struct vsng_vq *vq);
int vsng_split_set_base(struct vsng_vq *vq, u32 base);
size_t vsng_split_used_size(unsigned int num);

/* ---- packed ring (ring_packed.c) -------------------------------------- */
int vsng_packed_pop(struct vsng_vq *vq, struct vsng_chain *ch);
bool vsng_packed_unpop(struct vsng_vq *vq, int n);
int vsng_packed_add_used(struct vsng_vq *vq, u16 id, u32 len);
int vsng_packed_add_used_run(struct vsng_vq *vq, u16 id, u32 len, u16 count,
			     u16 skipped_descs);
u16 vsng_packed_take_descs(struct vsng_vq *vq, u16 id);
void vsng_packed_flush_used(struct vsng_vq *vq);
void vsng_packed_disable_notify(struct vsng_vq *vq);
bool vsng_packed_enable_notify(struct vsng_vq *vq);
bool vsng_packed_avail_empty(struct vsng_vq *vq);
bool vsng_packed_wants_signal(struct vsng_vq *vq);
bool vsng_packed_access_ok(struct vsng_vq *vq, unsigned int num,
			   u64 desc, u64 avail, u64 used);
int vsng_packed_init_access(struct vsng_vq *vq);
u32 vsng_packed_get_base(struct vsng_vq *vq);
int vsng_packed_set_base(struct vsng_vq *vq, u32 base);
void vsng_packed_free(struct vsng_vq *vq);

/* ---- VIRTIO_F_IN_ORDER (inorder.c), both formats ---------------------- */
int vsng_inorder_init(struct vsng_vq *vq);
void vsng_inorder_free(struct vsng_vq *vq);
int vsng_inorder_popped(struct vsng_vq *vq, u16 head);
void vsng_inorder_unpop(struct vsng_vq *vq, int n);
int vsng_inorder_done(struct vsng_vq *vq, u16 head, u32 len);
void vsng_inorder_publish(struct vsng_vq *vq);

/* Largest packed ring (virtio 1.1: the indexes have 15 bits). */
#define VSNG_PACKED_MAX_NUM	32768

/*
 * Packed ring positions as one number: index @idx with wrap counter @wrap
 * maps to idx while the counter is 1 (its initial value) and to idx + num
 * while it is 0, so positions count modulo 2 * num and "how far apart"
 * is well defined even when num is not a power of two.
 */
static inline u32 vsng_packed_pos(unsigned int num, u16 idx, bool wrap)
{
	return idx + (wrap ? 0 : num);
}

/*
 * vring_need_event() for a packed ring: does the driver's event position
 * @off_wrap (off_wrap field of the driver event area) lie in the used
 * positions [@old, @new) published since the last check?  @old and @new
 * are vsng_packed_pos() values.  Bounded arithmetic only: a hostile
 * off_wrap gives a wrong answer (a signal more or less), never a fault.
 */
static inline bool vsng_packed_need_event(unsigned int num, u16 off_wrap,
					  u32 new, u32 old)
{
	u32 m = 2 * num;
	u32 ev = vsng_packed_pos(num, off_wrap & 0x7fff,
				 off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR);

	if (unlikely(!num))
		return true;
	ev %= m;
	return (new + 2 * m - ev - 1) % m < (new + m - old) % m;
}

/* ---- dispatchers: the engine's ring operations (documented in vq.h) --- */

/*
 * With VIRTIO_F_IN_ORDER (vq->in_order) pop and unpop also keep the pop
 * order, add_used only marks a buffer done and the flush first writes one
 * used element for the run of done buffers at the front (inorder.c).
 */
static inline int vsng_vq_pop(struct vsng_vq *vq, struct vsng_chain *ch)
{
	int r;

	if (vq->packed)
		r = vsng_packed_pop(vq, ch);
	else
		r = vsng_split_pop(vq, ch);
	if (unlikely(vq->in_order) && r > 0)
		r = vsng_inorder_popped(vq, ch->head);
	return r;
}

static inline void vsng_vq_unpop(struct vsng_vq *vq, int n)
{
	bool done;

	if (vq->packed)
		done = vsng_packed_unpop(vq, n);
	else
		done = vsng_split_unpop(vq, n);
	/* The order record follows the ring only when the ring moved. */
	if (unlikely(vq->in_order) && done)
		vsng_inorder_unpop(vq, n);
}

static inline int vsng_vq_add_used(struct vsng_vq *vq, u16 head, u32 len)
{
	if (unlikely(vq->in_order))
		return vsng_inorder_done(vq, head, len);
	if (vq->packed)
		return vsng_packed_add_used(vq, head, len);
	return vsng_split_add_used(vq, head, len);
}

static inline void vsng_vq_flush_used(struct vsng_vq *vq)
{
	if (unlikely(vq->in_order))
		vsng_inorder_publish(vq);
	if (vq->packed)
		vsng_packed_flush_used(vq);
	else
		vsng_split_flush_used(vq);
}

static inline void vsng_vq_disable_notify(struct vsng_vq *vq)
{
	if (vq->packed)
		vsng_packed_disable_notify(vq);
	else
		vsng_split_disable_notify(vq);
}

static inline bool vsng_vq_enable_notify(struct vsng_vq *vq)
{
	if (vq->packed)
		return vsng_packed_enable_notify(vq);
	return vsng_split_enable_notify(vq);
}

static inline bool vsng_vq_avail_empty(struct vsng_vq *vq)
{
	if (vq->packed)
		return vsng_packed_avail_empty(vq);
	return vsng_split_avail_empty(vq);
}

/* Does the guest want an interrupt for what was published? (notify.c) */
static inline bool vsng_ring_wants_signal(struct vsng_vq *vq)
{
	if (vq->packed)
		return vsng_packed_wants_signal(vq);
	return vsng_split_wants_signal(vq);
}

/* Can rings of @num entries at these owner addresses be accessed? */
static inline bool vsng_ring_access_ok(struct vsng_vq *vq, unsigned int num,
				       u64 desc, u64 avail, u64 used)
{
	if (vq->packed)
		return vsng_packed_access_ok(vq, num, desc, avail, used);
	return vsng_split_access_ok(vq, num, desc, avail, used);
}

/* Bytes of the used ring / device area, what log_guest_addr covers. */
static inline size_t vsng_ring_used_size(struct vsng_vq *vq, unsigned int num)
{
	if (vq->packed)
		return sizeof(struct vring_packed_desc_event);
	return vsng_split_used_size(num);
}

/* Backend start: reset the ring state, check and prime the rings. */
static inline int vsng_ring_init_access(struct vsng_vq *vq)
{
	if (vq->packed)
		return vsng_packed_init_access(vq);
	return vsng_split_init_access(vq);
}

/* VHOST_GET_VRING_BASE / VHOST_SET_VRING_BASE value (see design.md). */
static inline u32 vsng_ring_get_base(struct vsng_vq *vq)
{
	if (vq->packed)
		return vsng_packed_get_base(vq);
	return vsng_split_get_base(vq);
}

static inline int vsng_ring_set_base(struct vsng_vq *vq, u32 base)
{
	if (vq->packed)
		return vsng_packed_set_base(vq, base);
	return vsng_split_set_base(vq, base);
}

#endif /* _VSNG_RING_H */
