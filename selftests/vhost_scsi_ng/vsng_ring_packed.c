// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_ring_packed: the packed virtqueue (virtio 1.1, 2.8) as a driver
 * sees it.
 *
 * One ring of 16-byte descriptors {addr, len, id, flags} serves both
 * directions.  The driver fills slots in order from next_avail; a
 * descriptor is available when its AVAIL bit equals the driver's avail
 * wrap counter and its USED bit does not; the counter flips each time
 * next_avail wraps to 0.  The device writes one used element per buffer,
 * in the slot of the buffer's first descriptor as it reaches it: {id, len,
 * flags with AVAIL = USED = the device's used wrap counter}.  The driver
 * reads used elements in order from used_pos and skips as many slots as
 * the buffer (by its id) took.
 *
 * Buffer ids come from a free list (vq->next, head vq->free_head) of
 * vq->num ids; chain_len[id] is the number of ring slots the buffer took
 * (1 for an indirect one), cookie[id] its owner.  Indirect table id is
 * at vq->indir + id * VSNG_INDIR_MAX.
 *
 * Event suppression: the driver event area (vq->drv_event, written here)
 * tells the device when to interrupt (ENABLE / DISABLE / DESC at
 * off_wrap = used_pos | used_wrap << 15 with EVENT_IDX); the device event
 * area (vq->dev_event) tells us when to kick, read as Linux's
 * virtqueue_kick_prepare_packed() does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vsng_ring.h"

#define PAGE		4096ULL
#define WRAP_BIT	(1u << VRING_PACKED_EVENT_F_WRAP_CTR)

static int packed_alloc(struct vsng_vq *vq)
{
	vq->pdesc = vsng_alloc(vq->dev, 0, 16 * vq->num, PAGE);
	vq->drv_event = vsng_alloc(vq->dev, 0, 4, PAGE);
	vq->dev_event = vsng_alloc(vq->dev, 0, 4, PAGE);
	return vq->pdesc && vq->drv_event && vq->dev_event ? 0 : -ENOMEM;
}

static void packed_reset(struct vsng_vq *vq)
{
	unsigned int i;

	memset(vq->pdesc, 0, 16 * vq->num);
	memset(vq->drv_event, 0, sizeof(*vq->drv_event));
	memset(vq->dev_event, 0, sizeof(*vq->dev_event));
	for (i = 0; i < vq->num; i++)
		vq->next[i] = i + 1;
	memset(vq->chain_len, 0, vq->num * sizeof(*vq->chain_len));
	memset(vq->cookie, 0, vq->num * sizeof(*vq->cookie));
	vq->free_head = 0;
	vq->num_free = vq->num;
	vq->avail_idx = vq->kicked_idx = vq->last_used = 0;
	vq->next_avail = vq->used_pos = 0;
	vq->avail_wrap = vq->used_wrap = true;
	vq->num_added = 0;
	/* interrupts on: with EVENT_IDX at the first used element */
	vq->drv_event->off_wrap = WRAP_BIT;
	vq->drv_event->flags = vq->event_idx ? VRING_PACKED_EVENT_FLAG_DESC :
				VRING_PACKED_EVENT_FLAG_ENABLE;
}

static uint32_t packed_base(struct vsng_vq *vq)
{
	return VSNG_PACKED_BASE(vq->next_avail, vq->avail_wrap, vq->used_pos,
				vq->used_wrap);
}

static void packed_addr(struct vsng_vq *vq, struct vhost_vring_addr *a)
{
	a->desc_user_addr = (uintptr_t)vq->pdesc;
	a->avail_user_addr = (uintptr_t)vq->drv_event;
	a->used_user_addr = (uintptr_t)vq->dev_event;
	/* as QEMU: the "used" (device) area's guest-physical address */
	a->log_guest_addr = vsng_gpa(vq->dev, vq->dev_event);
}

static void slot_advance(struct vsng_vq *vq, uint16_t *pos, bool *wrap,
			 unsigned int n)
{
	*pos += n;
	if (*pos >= vq->num) {
		*pos -= vq->num;
		*wrap = !*wrap;
	}
}

int vsng_pq_put_raw(struct vsng_vq *vq, const struct vring_packed_desc *d,
		    int n)
{
	uint16_t pos = vq->next_avail, head = pos;
	bool wrap = vq->avail_wrap;
	int i;

	if (!vq->packed || n <= 0 || n > (int)vq->num)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		struct vring_packed_desc *s = &vq->pdesc[pos];

		s->addr = d[i].addr;
		s->len = d[i].len;
		s->id = d[i].id;
		if (i)
			WRITE_ONCE16(s->flags, d[i].flags);
		slot_advance(vq, &pos, &wrap, 1);
	}
	/* every descriptor of the chain before the head's flags expose it */
	smp_wmb();
	WRITE_ONCE16(vq->pdesc[head].flags, d[0].flags);
	vq->next_avail = pos;
	vq->avail_wrap = wrap;
	vq->num_added += n;
	vq->avail_idx++;
	return head;
}

static int packed_add(struct vsng_vq *vq, const struct vsng_seg *segs,
		      int nsegs, bool indirect, void *cookie)
{
	struct vring_packed_desc d[VSNG_INDIR_MAX];
	struct vring_packed_desc *big = NULL, *dp = d;
	int ndesc = indirect ? 1 : nsegs, i, head;
	bool wrap = vq->avail_wrap;
	uint16_t pos = vq->next_avail, id;

	if (indirect && nsegs > VSNG_INDIR_MAX)
		return -EINVAL;
	if (ndesc > vq->num_free || vq->free_head >= vq->num)
		return -ENOSPC;
	if (indirect && vsng_vq_indir_alloc(vq))
		return -ENOMEM;
	if (ndesc > VSNG_INDIR_MAX) {
		big = calloc(ndesc, sizeof(*big));
		if (!big)
			return -ENOMEM;
		dp = big;
	}
	id = vq->free_head;
	vq->free_head = vq->next[id];
	vq->chain_len[id] = ndesc;
	vq->cookie[id] = cookie;
	vq->num_free -= ndesc;
	if (indirect) {
		struct vring_packed_desc *t;

		t = (void *)(vq->indir + (size_t)id * VSNG_INDIR_MAX);
		for (i = 0; i < nsegs; i++) {
			t[i].addr = segs[i].gpa;
			t[i].len = segs[i].len;
			t[i].id = 0;
			t[i].flags = segs[i].write ? VRING_DESC_F_WRITE : 0;
		}
		dp[0].addr = vsng_gpa(vq->dev, t);
		dp[0].len = nsegs * sizeof(*t);
		dp[0].id = id;
		dp[0].flags = VRING_DESC_F_INDIRECT | vsng_pq_avail_bits(wrap);
	} else {
		/* the avail bits follow the lap of each slot */
		for (i = 0; i < nsegs; i++) {
			dp[i].addr = segs[i].gpa;
			dp[i].len = segs[i].len;
			dp[i].id = id;
			dp[i].flags = (segs[i].write ? VRING_DESC_F_WRITE : 0) |
				      (i + 1 < nsegs ? VRING_DESC_F_NEXT : 0) |
				      vsng_pq_avail_bits(wrap);
			slot_advance(vq, &pos, &wrap, 1);
		}
	}
	head = vsng_pq_put_raw(vq, dp, ndesc);
	free(big);
	return head < 0 ? head : id;
}

/*
 * Linux's virtqueue_kick_prepare_packed(): the device event area says
 * ENABLE / DISABLE, or DESC with the slot (and its lap) whose making
 * available asks for a kick.
 */
static bool packed_need_kick(struct vsng_vq *vq)
{
	uint16_t new = vq->next_avail, old = new - vq->num_added;
	uint16_t off_wrap, flags, event;

	vq->kicked_idx = vq->avail_idx;
	vq->num_added = 0;
	off_wrap = READ_ONCE16(vq->dev_event->off_wrap);
	flags = READ_ONCE16(vq->dev_event->flags);
	if (flags == VRING_PACKED_EVENT_FLAG_DESC) {
		event = off_wrap & ~WRAP_BIT;
		if (!!(off_wrap & WRAP_BIT) != vq->avail_wrap)
			event -= vq->num;
		return vring_need_event(event, new, old);
	}
	return flags != VRING_PACKED_EVENT_FLAG_DISABLE;
}

static bool packed_kick_wanted(struct vsng_vq *vq)
{
	uint16_t off_wrap = READ_ONCE16(vq->dev_event->off_wrap);
	uint16_t flags = READ_ONCE16(vq->dev_event->flags);

	if (flags == VRING_PACKED_EVENT_FLAG_DESC)
		return off_wrap == (vq->next_avail |
				    (vq->avail_wrap ? WRAP_BIT : 0));
	return flags != VRING_PACKED_EVENT_FLAG_DISABLE;
}

/* Is the slot at pos a used element of lap wrap?  Its id and len then. */
static bool used_at(struct vsng_vq *vq, uint16_t pos, bool wrap,
		    uint16_t *id, uint32_t *len)
{
	struct vring_packed_desc *s = &vq->pdesc[pos];
	uint16_t flags = READ_ONCE16(s->flags);

	if (!!(flags & VSNG_PD_AVAIL) != wrap || !!(flags & VSNG_PD_USED) != wrap)
		return false;
	/* the flags before the id and len they cover */
	smp_rmb();
	*id = s->id;
	*len = s->len;
	return true;
}

int vsng_pq_peek_used(struct vsng_vq *vq, uint16_t *id, uint32_t *len)
{
	return used_at(vq, vq->used_pos, vq->used_wrap, id, len);
}

static void packed_arm_event(struct vsng_vq *vq)
{
	WRITE_ONCE16(vq->drv_event->off_wrap,
		     vq->used_pos | (vq->used_wrap ? WRAP_BIT : 0));
}

/* Give buffer @id back to the free list after its used element. */
static void *packed_release(struct vsng_vq *vq, uint16_t id)
{
	void *cookie = vq->cookie[id];

	slot_advance(vq, &vq->used_pos, &vq->used_wrap, vq->chain_len[id]);
	vq->last_used++;
	vq->num_free += vq->chain_len[id];
	vq->chain_len[id] = 0;
	vq->cookie[id] = NULL;
	vq->next[id] = vq->free_head;
	vq->free_head = id;
	return cookie;
}

/*
 * IN_ORDER: one used element, in the slot of the first buffer it covers,
 * names the last buffer of a run; the device skipped the slots of all
 * of them.
 */
static int packed_get_used_in_order(struct vsng_vq *vq, uint32_t *len,
				    void **cookie)
{
	uint16_t id;
	uint32_t l;

	if (vq->batch_last < 0) {
		if (!used_at(vq, vq->used_pos, vq->used_wrap, &id, &l))
			return 0;
		if (vsng_vq_order_batch(vq, id, l, vq->num))
			return -EIO;
	}
	id = vsng_vq_order_take(vq, len);
	if (id >= vq->num || !vq->cookie[id])
		return -EIO;
	*cookie = packed_release(vq, id);
	return 1;
}

static int packed_get_used(struct vsng_vq *vq, uint32_t *len, void **cookie)
{
	uint16_t id;

	if (vq->in_order)
		return packed_get_used_in_order(vq, len, cookie);
	if (!used_at(vq, vq->used_pos, vq->used_wrap, &id, len))
		return 0;
	if (id >= vq->num || !vq->cookie[id]) {
		fprintf(stderr, "vsng: vq %u: bogus used id %u at slot %u\n",
			vq->index, id, vq->used_pos);
		/* step over the slot: the ring is out of our model anyway */
		slot_advance(vq, &vq->used_pos, &vq->used_wrap, 1);
		vq->last_used++;
		return -EIO;
	}
	*cookie = packed_release(vq, id);
	vq->used_elems++;
	return 1;
}

static bool packed_pending(struct vsng_vq *vq)
{
	uint16_t id;
	uint32_t len;

	if (vq->in_order && vq->batch_last >= 0)
		return true;
	return used_at(vq, vq->used_pos, vq->used_wrap, &id, &len);
}

/*
 * IN_ORDER: walk the outstanding buffers in order; each used element
 * ahead covers the buffers up to its id.
 */
static uint16_t packed_used_count_in_order(struct vsng_vq *vq)
{
	uint16_t pos = vq->used_pos, n = vq->last_used, id;
	unsigned int i = 0, k = vq->order_first;
	int last = vq->batch_last;
	bool wrap = vq->used_wrap;
	uint32_t len;

	while (i < vq->order_count) {
		uint16_t b = vq->order[k];

		if (last < 0) {
			if (!used_at(vq, pos, wrap, &id, &len))
				break;
			last = id;
		}
		slot_advance(vq, &pos, &wrap, vq->chain_len[b] ?: 1);
		n++;
		i++;
		if (++k == vq->num)
			k = 0;
		if (b == last)
			last = -1;
	}
	return n;
}

/* Consumed + published-but-not-consumed: walk the used elements ahead. */
static uint16_t packed_used_count(struct vsng_vq *vq)
{
	uint16_t pos = vq->used_pos, n = vq->last_used, id;
	bool wrap = vq->used_wrap;
	unsigned int walked = 0;
	uint32_t len;

	if (vq->in_order)
		return packed_used_count_in_order(vq);
	while (walked < vq->num && used_at(vq, pos, wrap, &id, &len)) {
		unsigned int k = id < vq->num && vq->chain_len[id] ?
				 vq->chain_len[id] : 1;

		walked += k;
		slot_advance(vq, &pos, &wrap, k);
		n++;
	}
	return n;
}

static void packed_set_no_interrupt(struct vsng_vq *vq, bool on)
{
	if (on) {
		WRITE_ONCE16(vq->drv_event->flags,
			     VRING_PACKED_EVENT_FLAG_DISABLE);
		return;
	}
	if (vq->event_idx) {
		packed_arm_event(vq);
		/* the event offset before the flag that makes it count */
		smp_wmb();
		WRITE_ONCE16(vq->drv_event->flags, VRING_PACKED_EVENT_FLAG_DESC);
	} else {
		WRITE_ONCE16(vq->drv_event->flags,
			     VRING_PACKED_EVENT_FLAG_ENABLE);
	}
}

const struct vsng_ring_ops vsng_ring_packed_ops = {
	.name = "packed",
	.alloc = packed_alloc,
	.reset = packed_reset,
	.base = packed_base,
	.addr = packed_addr,
	.add = packed_add,
	.need_kick = packed_need_kick,
	.get_used = packed_get_used,
	.pending = packed_pending,
	.used_count = packed_used_count,
	.set_no_interrupt = packed_set_no_interrupt,
	.arm_event = packed_arm_event,
	.kick_wanted = packed_kick_wanted,
};
