// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_ring_split: the split virtqueue (virtio 1.x, 2.7) as a driver sees
 * it: descriptor table, avail ring (driver -> device), used ring (device
 * -> driver), with used_event / avail_event under EVENT_IDX.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vsng_ring.h"

#define PAGE		4096ULL

static size_t avail_size(const struct vsng_vq *vq)
{
	return 4 + 2 * vq->num + 2;
}

static size_t used_size(const struct vsng_vq *vq)
{
	return 4 + 8 * vq->num + 2;
}

static uint16_t *used_event_p(struct vsng_vq *vq)
{
	return &vq->avail->ring[vq->num];
}

static uint16_t *avail_event_p(struct vsng_vq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

static int split_alloc(struct vsng_vq *vq)
{
	vq->desc = vsng_alloc(vq->dev, 0, 16 * vq->num, PAGE);
	vq->avail = vsng_alloc(vq->dev, 0, avail_size(vq), PAGE);
	vq->used = vsng_alloc(vq->dev, 0, used_size(vq), PAGE);
	return vq->desc && vq->avail && vq->used ? 0 : -ENOMEM;
}

static void split_reset(struct vsng_vq *vq)
{
	unsigned int i;

	memset(vq->desc, 0, 16 * vq->num);
	memset(vq->avail, 0, avail_size(vq));
	memset(vq->used, 0, used_size(vq));
	for (i = 0; i < vq->num; i++)
		vq->next[i] = i + 1;
	memset(vq->chain_len, 0, vq->num * sizeof(*vq->chain_len));
	memset(vq->cookie, 0, vq->num * sizeof(*vq->cookie));
	vq->free_head = 0;
	vq->num_free = vq->num;
	vq->avail_idx = vq->kicked_idx = vq->last_used = 0;
}

static uint32_t split_base(struct vsng_vq *vq)
{
	return vq->avail_idx;
}

static void split_addr(struct vsng_vq *vq, struct vhost_vring_addr *a)
{
	a->desc_user_addr = (uintptr_t)vq->desc;
	a->avail_user_addr = (uintptr_t)vq->avail;
	a->used_user_addr = (uintptr_t)vq->used;
	a->log_guest_addr = vsng_gpa(vq->dev, vq->used);
}

int vsng_vq_take_descs(struct vsng_vq *vq, int n, void *cookie)
{
	uint16_t head = vq->free_head, cur = head;
	int i;

	if (n <= 0 || n > vq->num_free)
		return -ENOSPC;
	for (i = 0; i < n; i++)
		cur = vq->next[cur];
	vq->free_head = cur;
	vq->num_free -= n;
	vq->chain_len[head] = n;
	vq->cookie[head] = cookie;
	return head;
}

void vsng_vq_publish(struct vsng_vq *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx % vq->num] = head;
	vq->avail_idx++;
	/* ring entry (and the descriptors) before the index that exposes it */
	smp_wmb();
	WRITE_ONCE16(vq->avail->idx, vq->avail_idx);
}

static int split_add(struct vsng_vq *vq, const struct vsng_seg *segs,
		     int nsegs, bool indirect, void *cookie)
{
	int head, i;
	uint16_t cur;

	if (indirect) {
		struct vring_desc *t;

		if (nsegs > VSNG_INDIR_MAX)
			return -EINVAL;
		if (vsng_vq_indir_alloc(vq))
			return -ENOMEM;
		head = vsng_vq_take_descs(vq, 1, cookie);
		if (head < 0)
			return head;
		t = vq->indir + (size_t)head * VSNG_INDIR_MAX;
		for (i = 0; i < nsegs; i++) {
			t[i].addr = segs[i].gpa;
			t[i].len = segs[i].len;
			t[i].flags = (segs[i].write ? VRING_DESC_F_WRITE : 0) |
				     (i + 1 < nsegs ? VRING_DESC_F_NEXT : 0);
			t[i].next = i + 1 < nsegs ? i + 1 : 0;
		}
		vq->desc[head].addr = vsng_gpa(vq->dev, t);
		vq->desc[head].len = nsegs * sizeof(*t);
		vq->desc[head].flags = VRING_DESC_F_INDIRECT;
		vq->desc[head].next = 0;
	} else {
		head = vsng_vq_take_descs(vq, nsegs, cookie);
		if (head < 0)
			return head;
		cur = head;
		for (i = 0; i < nsegs; i++) {
			vq->desc[cur].addr = segs[i].gpa;
			vq->desc[cur].len = segs[i].len;
			vq->desc[cur].flags =
				(segs[i].write ? VRING_DESC_F_WRITE : 0) |
				(i + 1 < nsegs ? VRING_DESC_F_NEXT : 0);
			vq->desc[cur].next = i + 1 < nsegs ? vq->next[cur] : 0;
			cur = vq->next[cur];
		}
	}
	vsng_vq_publish(vq, head);
	return head;
}

static bool split_kick_wanted(struct vsng_vq *vq)
{
	if (vq->event_idx)
		return READ_ONCE16(*avail_event_p(vq)) == vq->avail_idx;
	return !(READ_ONCE16(vq->used->flags) & VRING_USED_F_NO_NOTIFY);
}

static bool split_need_kick(struct vsng_vq *vq)
{
	uint16_t new_idx = vq->avail_idx, old = vq->kicked_idx;

	vq->kicked_idx = new_idx;
	if (vq->event_idx)
		return vring_need_event(READ_ONCE16(*avail_event_p(vq)),
					new_idx, old);
	return !(READ_ONCE16(vq->used->flags) & VRING_USED_F_NO_NOTIFY);
}

static void free_chain(struct vsng_vq *vq, uint16_t head)
{
	uint16_t last = head;
	int i;

	for (i = 1; i < vq->chain_len[head]; i++)
		last = vq->next[last];
	vq->next[last] = vq->free_head;
	vq->free_head = head;
	vq->num_free += vq->chain_len[head];
	vq->chain_len[head] = 0;
	vq->cookie[head] = NULL;
}

/*
 * IN_ORDER: one used entry (at the slot of the first buffer it covers)
 * names the last buffer of a run; used->idx counts every buffer.
 */
static int split_get_used_in_order(struct vsng_vq *vq, uint32_t *len,
				   void **cookie)
{
	uint16_t head;

	if (vq->batch_last < 0) {
		uint16_t idx = READ_ONCE16(vq->used->idx);
		struct vring_used_elem e;

		if (idx == vq->last_used)
			return 0;
		/* used->idx before the entry it covers */
		smp_rmb();
		e = vq->used->ring[vq->last_used % vq->num];
		if (vsng_vq_order_batch(vq, e.id, e.len,
					(uint16_t)(idx - vq->last_used))) {
			vq->last_used++;
			return -EIO;
		}
	}
	head = vsng_vq_order_take(vq, len);
	vq->last_used++;
	if (head >= vq->num || !vq->cookie[head])
		return -EIO;
	*cookie = vq->cookie[head];
	free_chain(vq, head);
	return 1;
}

static int split_get_used(struct vsng_vq *vq, uint32_t *len, void **cookie)
{
	uint16_t idx = READ_ONCE16(vq->used->idx);
	struct vring_used_elem e;

	if (vq->in_order)
		return split_get_used_in_order(vq, len, cookie);
	if (idx == vq->last_used)
		return 0;
	/* used->idx before the entry it covers */
	smp_rmb();
	e = vq->used->ring[vq->last_used % vq->num];
	vq->last_used++;
	if (e.id >= vq->num || !vq->cookie[e.id]) {
		fprintf(stderr, "vsng: vq %u: bogus used id %u\n",
			vq->index, e.id);
		return -EIO;
	}
	*len = e.len;
	*cookie = vq->cookie[e.id];
	free_chain(vq, e.id);
	vq->used_elems++;
	return 1;
}

static bool split_pending(struct vsng_vq *vq)
{
	if (vq->in_order && vq->batch_last >= 0)
		return true;
	return READ_ONCE16(vq->used->idx) != vq->last_used;
}

static uint16_t split_used_count(struct vsng_vq *vq)
{
	return READ_ONCE16(vq->used->idx);
}

static void split_arm_event(struct vsng_vq *vq)
{
	WRITE_ONCE16(*used_event_p(vq), vq->last_used);
}

static void split_set_no_interrupt(struct vsng_vq *vq, bool on)
{
	if (vq->event_idx)
		WRITE_ONCE16(*used_event_p(vq),
			     on ? (uint16_t)(vq->last_used - 1) :
				  vq->last_used);
	else
		WRITE_ONCE16(vq->avail->flags,
			     on ? VRING_AVAIL_F_NO_INTERRUPT : 0);
}

const struct vsng_ring_ops vsng_ring_split_ops = {
	.name = "split",
	.alloc = split_alloc,
	.reset = split_reset,
	.base = split_base,
	.addr = split_addr,
	.add = split_add,
	.need_kick = split_need_kick,
	.get_used = split_get_used,
	.pending = split_pending,
	.used_count = split_used_count,
	.set_no_interrupt = split_set_no_interrupt,
	.arm_event = split_arm_event,
	.kick_wanted = split_kick_wanted,
};
