// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: the split ring format (virtio 1.0+ "Split Virtqueues").
 *
 * Everything read from the rings is hostile.  The avail index may not move
 * by more than the ring size; every descriptor is read from guest memory
 * exactly once into a local copy and checked there; chain walks are
 * bounded by the ring size (direct) or the table length (indirect) and by
 * VSNG_MAX_IOV iovecs; guest-physical addresses are only ever turned into
 * owner addresses through the memory table.  A malformed ring marks the
 * queue broken (vsng_vq_error) until the backend is started again.
 *
 * Called through the dispatchers of ring.h, always with vq->mutex held.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/uaccess.h>
#include <kunit/visibility.h>
#include "compat.h"
#include "engine.h"
#include "trace.h"

/* ---- guest-visible ring words ---------------------------------------- */

static __virtio16 __user *vsng_avail_event(struct vsng_vq *vq)
{
	return (__virtio16 __user *)&vq->used->ring[vq->num];
}

/*
 * Read avail->idx into vq->avail_idx.  Returns 1 if there is something to
 * pop, 0 if not, negative (queue broken) on a fault or an impossible jump.
 */
static int vsng_fetch_avail_idx(struct vsng_vq *vq)
{
	__virtio16 raw;
	u16 idx;

	if (get_user(raw, &vq->avail->idx)) {
		vsng_vq_error(vq, "cannot read avail idx at %p",
			      &vq->avail->idx);
		return -EFAULT;
	}
	idx = vsng16_to_cpu(vq, raw);
	if (unlikely((u16)(idx - vq->last_avail_idx) > vq->num)) {
		vsng_vq_error(vq, "avail idx moved from %u to %u (num %u)",
			      vq->last_avail_idx, idx, vq->num);
		return -EINVAL;
	}
	vq->avail_idx = idx;
	if (idx == vq->last_avail_idx)
		return 0;
	/* Read the index before the entries it covers. */
	smp_rmb();
	return 1;
}

/* ---- set-up -------------------------------------------------------------- */

size_t vsng_split_used_size(unsigned int num)
{
	return vsng_used_size(num);
}

bool vsng_split_access_ok(struct vsng_vq *vq, unsigned int num,
			  u64 desc, u64 avail, u64 used)
{
	return access_ok(u64_to_user_ptr(desc), vsng_desc_size(num)) &&
	       access_ok(u64_to_user_ptr(avail), vsng_avail_size(num)) &&
	       access_ok(u64_to_user_ptr(used), vsng_used_size(num));
}

int vsng_split_init_access(struct vsng_vq *vq)
{
	__virtio16 raw;

	/* SET_VRING_NUM may have come before the features said "split". */
	if (!vq->num || (vq->num & (vq->num - 1)))
		return -EINVAL;
	if (vsng_put_used16(vq, &vq->used->flags, vq->used_flags))
		return -EFAULT;
	if (get_user(raw, &vq->used->idx))
		return -EFAULT;
	vq->last_used_idx = vsng16_to_cpu(vq, raw);
	return 0;
}

/* VHOST_GET/SET_VRING_BASE: the avail index we will pop next. */
u32 vsng_split_get_base(struct vsng_vq *vq)
{
	return vq->last_avail_idx;
}

int vsng_split_set_base(struct vsng_vq *vq, u32 base)
{
	if (base > 0xffff)
		return -EINVAL;
	vq->last_avail_idx = base;
	vq->avail_idx = base;
	return 0;
}

/* ---- popping chains --------------------------------------------------- */

/* Walk an indirect table; @d is the descriptor that points at it. */
static int vsng_walk_indirect(struct vsng_vq *vq, struct vsng_walk *w,
			      u64 table, u32 len)
{
	struct vring_desc d;
	unsigned int i = 0, steps;
	u16 flags;
	int count, r;

	count = vsng_indirect_count(vq, table, len, USHRT_MAX + 1);
	if (count < 0)
		return count;

	for (steps = 0; ; steps++) {
		if (unlikely(steps >= count)) {
			vsng_vq_error(vq, "loop in indirect table");
			return -ELOOP;
		}
		/* Read each entry once; check only the local copy. */
		if (vsng_mem_read(w->mt, table + i * sizeof(d), &d, sizeof(d))) {
			vsng_vq_error(vq, "indirect table %#llx unreadable",
				      table);
			return -EFAULT;
		}
		flags = vsng16_to_cpu(vq, d.flags);
		if (unlikely(flags & VRING_DESC_F_INDIRECT)) {
			vsng_vq_error(vq, "indirect descriptor inside indirect table");
			return -EINVAL;
		}
		r = vsng_walk_add(vq, w, vsng64_to_cpu(vq, d.addr),
				  vsng32_to_cpu(vq, d.len), flags);
		if (r)
			return r;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		i = vsng16_to_cpu(vq, d.next);
		if (unlikely(i >= count)) {
			vsng_vq_error(vq, "indirect next %u beyond table of %u",
				      i, count);
			return -EINVAL;
		}
	}
}

int vsng_split_pop(struct vsng_vq *vq, struct vsng_chain *ch)
{
	struct vsng_walk w;
	struct vring_desc d;
	unsigned int i, steps;
	__virtio16 raw;
	u16 head, flags;
	int r;

	lockdep_assert_held(&vq->mutex);
	if (unlikely(vq->broken))
		return -EIO;

	if (vq->avail_idx == vq->last_avail_idx) {
		r = vsng_fetch_avail_idx(vq);
		if (r <= 0)
			return r < 0 ? -EIO : 0;
	}

	if (get_user(raw, &vq->avail->ring[vq->last_avail_idx & (vq->num - 1)])) {
		vsng_vq_error(vq, "cannot read avail ring entry %u",
			      vq->last_avail_idx);
		return -EIO;
	}
	head = vsng16_to_cpu(vq, raw);
	if (unlikely(head >= vq->num)) {
		vsng_vq_error(vq, "head %u >= ring size %u", head, vq->num);
		return -EIO;
	}

	w.mt = vsng_vq_mem(vq);
	if (unlikely(!w.mt)) {
		vsng_vq_error(vq, "no memory table");
		return -EIO;
	}
	ch->head = head;
	vsng_walk_start(vq, &w, ch);

	i = head;
	for (steps = 0; ; steps++) {
		if (unlikely(steps >= vq->num)) {
			vsng_vq_error(vq, "loop in chain at head %u", head);
			return -EIO;
		}
		i = array_index_nospec(i, vq->num);
		if (copy_from_user(&d, vq->desc + i, sizeof(d))) {
			vsng_vq_error(vq, "cannot read descriptor %u", i);
			return -EIO;
		}
		flags = vsng16_to_cpu(vq, d.flags);
		if (flags & VRING_DESC_F_INDIRECT) {
			if (unlikely(flags & VRING_DESC_F_NEXT)) {
				vsng_vq_error(vq, "indirect descriptor %u has NEXT",
					      i);
				return -EIO;
			}
			r = vsng_walk_indirect(vq, &w, vsng64_to_cpu(vq, d.addr),
					       vsng32_to_cpu(vq, d.len));
			if (r)
				return -EIO;
			break;
		}
		r = vsng_walk_add(vq, &w, vsng64_to_cpu(vq, d.addr),
				  vsng32_to_cpu(vq, d.len), flags);
		if (r)
			return -EIO;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = vsng16_to_cpu(vq, d.next);
		if (unlikely(i >= vq->num)) {
			vsng_vq_error(vq, "next %u beyond ring of %u", i,
				      vq->num);
			return -EIO;
		}
	}

	vq->last_avail_idx++;
	vq->inflight++;
	vq->stats.requests++;
	return 1;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_split_pop);

bool vsng_split_unpop(struct vsng_vq *vq, int n)
{
	lockdep_assert_held(&vq->mutex);
	if (WARN_ON_ONCE(n < 0 || n > vq->inflight))
		return false;
	vq->last_avail_idx -= n;
	vq->inflight -= n;
	vq->stats.requests -= n;
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_split_unpop);

/* ---- used ring -------------------------------------------------------- */

/*
 * One used element for @count buffers: @head is the last of them (with
 * IN_ORDER a run of buffers used in order, see inorder.c; else @count 1).
 * used->idx will advance by @count.
 */
int vsng_split_add_used_run(struct vsng_vq *vq, u16 head, u32 len, u16 count)
{
	struct vring_used_elem e;
	u16 slot;

	lockdep_assert_held(&vq->mutex);
	if (unlikely(vq->broken))
		return -EIO;
	/* Never let unpublished entries lap the ring. */
	if (unlikely(vq->pending_used + count > vq->num))
		vsng_split_flush_used(vq);

	slot = (vq->last_used_idx + vq->pending_used) & (vq->num - 1);
	e.id = cpu_to_vsng32(vq, head);
	e.len = cpu_to_vsng32(vq, len);
	if (copy_to_user(&vq->used->ring[slot], &e, sizeof(e))) {
		vsng_vq_error(vq, "cannot write used entry %u", slot);
		return -EFAULT;
	}
	vsng_vq_used_added(vq, count);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_split_add_used_run);

int vsng_split_add_used(struct vsng_vq *vq, u16 head, u32 len)
{
	return vsng_split_add_used_run(vq, head, len, 1);
}
EXPORT_SYMBOL_IF_KUNIT(vsng_split_add_used);

/* Log the used elements [first, first + n) of the ring, wrap included. */
static void vsng_log_used_elems(struct vsng_vq *vq, u16 first, u16 n)
{
	unsigned int start = first & (vq->num - 1);
	unsigned int part = min_t(unsigned int, n, vq->num - start);
	size_t esz = sizeof(struct vring_used_elem);

	vsng_log_used(vq, offsetof(struct vring_used, ring) + start * esz,
		      part * esz);
	if (part < n)
		vsng_log_used(vq, offsetof(struct vring_used, ring),
			      (n - part) * esz);
}

void vsng_split_flush_used(struct vsng_vq *vq)
{
	u16 n = vq->pending_used;
	u16 new;

	lockdep_assert_held(&vq->mutex);
	if (!n) {
		if (vq->signal_owed)
			trace_vsng_flush(vq->index, 0,
					 vsng_notify_after_flush(vq));
		return;
	}
	if (unlikely(vq->broken)) {
		vq->pending_used = 0;
		return;
	}

	new = vq->last_used_idx + n;
	/* Entries must be visible before the index that publishes them. */
	smp_wmb();
	if (put_user(cpu_to_vsng16(vq, new), &vq->used->idx)) {
		vsng_vq_error(vq, "cannot write used idx");
		vq->pending_used = 0;
		return;
	}
	vq->stats.used_idx_writes++;
	if (unlikely(vq->log_used)) {
		/* Data and index before the log bits. */
		smp_wmb();
		vsng_log_used_elems(vq, vq->last_used_idx, n);
		vsng_log_used(vq, offsetof(struct vring_used, idx),
			      sizeof(vq->used->idx));
		if (vq->dev->log_ctx)
			vsng_eventfd_signal(vq->dev->log_ctx);
	}
	vq->last_used_idx = new;
	vq->pending_used = 0;
	vsng_vq_flushed(vq, n);
}

/* ---- kick suppression ------------------------------------------------- */

void vsng_split_disable_notify(struct vsng_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	if (vq->used_flags & VRING_USED_F_NO_NOTIFY)
		return;
	vq->used_flags |= VRING_USED_F_NO_NOTIFY;
	/*
	 * With EVENT_IDX nothing is written: avail_event stays where the last
	 * enable put it, so the guest kicks at most once more.
	 */
	if (!vsng_has_feature(vq, VIRTIO_RING_F_EVENT_IDX) &&
	    vsng_put_used16(vq, &vq->used->flags, vq->used_flags))
		vsng_vq_error(vq, "cannot write used flags");
}

bool vsng_split_enable_notify(struct vsng_vq *vq)
{
	int r;

	lockdep_assert_held(&vq->mutex);
	if (!(vq->used_flags & VRING_USED_F_NO_NOTIFY))
		return false;
	vq->used_flags &= ~VRING_USED_F_NO_NOTIFY;
	if (!vsng_has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
		r = vsng_put_used16(vq, &vq->used->flags, vq->used_flags);
	else
		r = vsng_put_used16(vq, vsng_avail_event(vq), vq->avail_idx);
	if (r) {
		vsng_vq_error(vq, "cannot enable notifications");
		return false;
	}
	/* The guest may have added one meanwhile: publish, then recheck. */
	smp_mb();
	r = vsng_fetch_avail_idx(vq);
	return r > 0;
}

bool vsng_split_avail_empty(struct vsng_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	if (vq->avail_idx != vq->last_avail_idx)
		return false;
	/* An error counts as "empty": the queue is broken by then. */
	return vsng_fetch_avail_idx(vq) <= 0;
}

/* ---- interrupts ------------------------------------------------------- */

/* Does the guest want an interrupt for what was published?  (vhost_notify) */
bool vsng_split_wants_signal(struct vsng_vq *vq)
{
	__virtio16 raw;
	u16 old, new;
	bool valid;

	/* Publish used->idx before reading the guest's suppression state. */
	smp_mb();

	if (vsng_has_feature(vq, VIRTIO_F_NOTIFY_ON_EMPTY) &&
	    vq->avail_idx == vq->last_avail_idx)
		return true;

	if (!vsng_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		if (get_user(raw, &vq->avail->flags))
			return true;
		return !(vsng16_to_cpu(vq, raw) & VRING_AVAIL_F_NO_INTERRUPT);
	}

	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new = vq->last_used_idx;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (unlikely(!valid))
		return true;
	if (get_user(raw, &vq->avail->ring[vq->num]))
		return true;
	return vring_need_event(vsng16_to_cpu(vq, raw), new, old);
}
