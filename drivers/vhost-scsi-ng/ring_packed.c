// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: the packed ring format (virtio 1.1+ "Packed Virtqueues").
 *
 * One descriptor ring (vq->desc, struct vring_packed_desc) carries both
 * directions: the driver makes a descriptor available by writing it with
 * AVAIL = its wrap counter and USED = the inverse; the device writes used
 * elements back into the same ring, in its own order, with AVAIL = USED =
 * the device's wrap counter.  Two 4-byte event areas: the driver's
 * (vq->avail) says when the driver wants interrupts, the device's
 * (vq->used) when the device wants kicks.
 *
 * Device state (all under vq->mutex):
 *   last_avail_idx, avail_wrap  next descriptor to look at and the driver
 *                               wrap counter it must carry to be available;
 *   last_used_idx, used_wrap    next slot a used element goes to and the
 *                               wrap counter it is written with;
 *   pk_ndescs[id]               ring descriptors the in-flight buffer @id
 *                               used (0 = not in flight): the used index
 *                               advances by this much for its element.
 *
 * Hostile input: every descriptor is read once (the head's flags first,
 * then, after a read barrier, the rest of it without the flags); a chain
 * longer than the ring, chains in flight that cover more than the ring
 * (inflight_descs: a driver never reuses a slot before its used element
 * is published), a buffer ID >= num or already in flight, INDIRECT
 * with NEXT or not alone, an indirect table of zero or odd length or with
 * an INDIRECT entry, and every unreadable or unwritable word break the
 * queue (vsng_vq_error) until the backend is started again.  Loops are
 * bounded by the ring size and the table length.
 *
 * Called through the dispatchers of ring.h, always with vq->mutex held.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <kunit/visibility.h>
#include "compat.h"
#include "engine.h"
#include "trace.h"

#define VSNG_PK_AVAIL	BIT(VRING_PACKED_DESC_F_AVAIL)
#define VSNG_PK_USED	BIT(VRING_PACKED_DESC_F_USED)

static inline struct vring_packed_desc __user *vsng_pk_desc(struct vsng_vq *vq)
{
	return (struct vring_packed_desc __user *)vq->desc;
}

static inline struct vring_packed_desc_event __user *
vsng_pk_driver(struct vsng_vq *vq)
{
	return (struct vring_packed_desc_event __user *)vq->avail;
}

static inline struct vring_packed_desc_event __user *
vsng_pk_device(struct vsng_vq *vq)
{
	return (struct vring_packed_desc_event __user *)vq->used;
}

/* Is a descriptor with @flags available for driver wrap counter @wrap? */
static inline bool vsng_pk_is_avail(u16 flags, bool wrap)
{
	bool avail = flags & VSNG_PK_AVAIL;
	bool used = flags & VSNG_PK_USED;

	return avail != used && avail == wrap;
}

/* Advance a ring position by @n (< num), flipping the wrap counter. */
static inline void vsng_pk_advance(unsigned int num, u16 *idx, bool *wrap,
				   unsigned int n)
{
	unsigned int i = *idx + n;

	if (i >= num) {
		i -= num;
		*wrap = !*wrap;
	}
	*idx = i;
}

/* ---- set-up -------------------------------------------------------------- */

bool vsng_packed_access_ok(struct vsng_vq *vq, unsigned int num,
			   u64 desc, u64 avail, u64 used)
{
	return access_ok(u64_to_user_ptr(desc),
			 sizeof(struct vring_packed_desc) * (size_t)num) &&
	       access_ok(u64_to_user_ptr(avail),
			 sizeof(struct vring_packed_desc_event)) &&
	       access_ok(u64_to_user_ptr(used),
			 sizeof(struct vring_packed_desc_event));
}

void vsng_packed_free(struct vsng_vq *vq)
{
	kvfree(vq->pk_ndescs);
	vq->pk_ndescs = NULL;
	vq->pk_ndescs_num = 0;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_packed_free);

/*
 * VHOST_GET/SET_VRING_BASE for packed rings, QEMU's encoding
 * (virtio_queue_packed_get/set_last_avail_idx): bits 0-14 last_avail_idx,
 * bit 15 the driver wrap counter we expect, bits 16-30 the used index,
 * bit 31 the used wrap counter.  A fresh ring is 0x80008000.
 */
u32 vsng_packed_get_base(struct vsng_vq *vq)
{
	return (vq->last_avail_idx | (u32)vq->avail_wrap << 15) |
	       ((vq->last_used_idx | (u32)vq->used_wrap << 15) << 16);
}
EXPORT_SYMBOL_IF_KUNIT(vsng_packed_get_base);

int vsng_packed_set_base(struct vsng_vq *vq, u32 base)
{
	/* Positions are checked against the ring size at backend start. */
	vq->last_avail_idx = base & 0x7fff;
	vq->avail_wrap = base & 0x8000;
	vq->last_used_idx = (base >> 16) & 0x7fff;
	vq->used_wrap = base & 0x80000000;
	vq->avail_idx = vq->last_avail_idx;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_packed_set_base);

/* Tell the driver whether to kick: the device event area's flags. */
static int vsng_pk_put_device_flags(struct vsng_vq *vq, u16 flags)
{
	return vsng_put_used16(vq,
			       (__virtio16 __user *)&vsng_pk_device(vq)->flags,
			       flags);
}

int vsng_packed_init_access(struct vsng_vq *vq)
{
	unsigned int num = vq->num;

	if (!num || num > VSNG_PACKED_MAX_NUM ||
	    vq->last_avail_idx >= num || vq->last_used_idx >= num) {
		/* Pop refuses to run without the table (not started). */
		vsng_packed_free(vq);
		return -EINVAL;
	}
	if (vq->pk_ndescs_num != num) {
		vsng_packed_free(vq);
		vq->pk_ndescs = kvcalloc(num, sizeof(*vq->pk_ndescs),
					 GFP_KERNEL_ACCOUNT);
		if (!vq->pk_ndescs)
			return -ENOMEM;
		vq->pk_ndescs_num = num;
	} else {
		memset(vq->pk_ndescs, 0, num * sizeof(*vq->pk_ndescs));
	}
	vq->unpop_id = num;		/* nothing to put back */
	vq->inflight_descs = 0;
	/* Kicks on: the drain switches them off and on as it goes. */
	vq->used_flags = 0;
	if (vsng_pk_put_device_flags(vq, VRING_PACKED_EVENT_FLAG_ENABLE))
		return -EFAULT;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_packed_init_access);

/* ---- popping chains --------------------------------------------------- */

/* Read the flags of ring descriptor @idx (once). */
static int vsng_pk_read_flags(struct vsng_vq *vq, u16 idx, u16 *flags)
{
	__le16 raw;

	if (get_user(raw, &vsng_pk_desc(vq)[idx].flags)) {
		vsng_vq_error(vq, "cannot read descriptor %u flags", idx);
		return -EFAULT;
	}
	*flags = le16_to_cpu(raw);
	return 0;
}

/*
 * Walk an indirect table: its entries are used one after the other (no
 * next field); NEXT in an entry is ignored, INDIRECT is refused.
 */
static int vsng_pk_walk_indirect(struct vsng_vq *vq, struct vsng_walk *w,
				 u64 table, u32 len)
{
	struct vring_packed_desc d;
	unsigned int i;
	u16 flags;
	int count, r;

	count = vsng_indirect_count(vq, table, len, VSNG_MAX_IOV);
	if (count < 0)
		return count;
	for (i = 0; i < count; i++) {
		/* Read each entry once; check only the local copy. */
		if (vsng_mem_read(w->mt, table + i * sizeof(d), &d, sizeof(d))) {
			vsng_vq_error(vq, "indirect table %#llx unreadable",
				      table);
			return -EFAULT;
		}
		flags = le16_to_cpu(d.flags);
		if (unlikely(flags & VRING_DESC_F_INDIRECT)) {
			vsng_vq_error(vq, "indirect descriptor inside indirect table");
			return -EINVAL;
		}
		r = vsng_walk_add(vq, w, le64_to_cpu(d.addr),
				  le32_to_cpu(d.len), flags);
		if (r)
			return r;
	}
	return 0;
}

int vsng_packed_pop(struct vsng_vq *vq, struct vsng_chain *ch)
{
	struct vring_packed_desc __user *ring = vsng_pk_desc(vq);
	unsigned int num = vq->num, ndescs = 0;
	u16 idx = vq->last_avail_idx, flags, id;
	bool wrap = vq->avail_wrap;
	struct vring_packed_desc d;
	struct vsng_walk w;
	int r;

	lockdep_assert_held(&vq->mutex);
	if (unlikely(vq->broken))
		return -EIO;
	/* A start that failed (SET_ENDPOINT only warns) left no ID table. */
	if (unlikely(vq->pk_ndescs_num != num)) {
		vsng_vq_error(vq, "packed ring not started");
		return -EIO;
	}

	if (vsng_pk_read_flags(vq, idx, &flags))
		return -EIO;
	if (!vsng_pk_is_avail(flags, wrap))
		return 0;
	/* The flags say "available": only now read the rest. */
	smp_rmb();

	w.mt = vsng_vq_mem(vq);
	if (unlikely(!w.mt)) {
		vsng_vq_error(vq, "no memory table");
		return -EIO;
	}
	vsng_walk_start(vq, &w, ch);

	for (;;) {
		if (unlikely(ndescs >= num)) {
			vsng_vq_error(vq, "chain longer than the ring (%u)", num);
			return -EIO;
		}
		idx = array_index_nospec(idx, num);
		/*
		 * The head's flags were read above; every other descriptor
		 * is read whole, once.  The copy of the head stops short of
		 * its flags so that no field is read twice.
		 */
		if (ndescs == 0) {
			if (copy_from_user(&d, &ring[idx],
					   offsetof(struct vring_packed_desc,
						    flags))) {
				vsng_vq_error(vq, "cannot read descriptor %u",
					      idx);
				return -EIO;
			}
		} else {
			if (copy_from_user(&d, &ring[idx], sizeof(d))) {
				vsng_vq_error(vq, "cannot read descriptor %u",
					      idx);
				return -EIO;
			}
			flags = le16_to_cpu(d.flags);
		}
		ndescs++;
		vsng_pk_advance(num, &idx, &wrap, 1);

		if (flags & VRING_DESC_F_INDIRECT) {
			if (unlikely((flags & VRING_DESC_F_NEXT) || ndescs != 1)) {
				vsng_vq_error(vq, "indirect descriptor %u not alone",
					      vq->last_avail_idx);
				return -EIO;
			}
			r = vsng_pk_walk_indirect(vq, &w, le64_to_cpu(d.addr),
						  le32_to_cpu(d.len));
			if (r)
				return -EIO;
			break;
		}
		r = vsng_walk_add(vq, &w, le64_to_cpu(d.addr),
				  le32_to_cpu(d.len), flags);
		if (r)
			return -EIO;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
	}

	/* The buffer ID is the one of the chain's last descriptor. */
	id = le16_to_cpu(d.id);
	if (unlikely(id >= num)) {
		vsng_vq_error(vq, "buffer id %u >= ring size %u", id, num);
		return -EIO;
	}
	id = array_index_nospec(id, num);
	if (unlikely(vq->pk_ndescs[id])) {
		vsng_vq_error(vq, "buffer id %u is already in flight", id);
		return -EIO;
	}
	/* Its tail must not run over slots still in flight. */
	if (unlikely(vq->inflight_descs + ndescs > num)) {
		vsng_vq_error(vq, "chains in flight cover %u slots of %u",
			      vq->inflight_descs + ndescs, num);
		return -EIO;
	}
	vq->inflight_descs += ndescs;
	vq->pk_ndescs[id] = ndescs;
	vq->unpop_idx = vq->last_avail_idx;
	vq->unpop_wrap = vq->avail_wrap;
	vq->unpop_id = id;
	vq->last_avail_idx = idx;
	vq->avail_wrap = wrap;
	/* No avail index in a packed ring: debugfs shows nothing pending. */
	vq->avail_idx = idx;
	ch->head = id;
	vq->inflight++;
	vq->stats.requests++;
	return 1;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_packed_pop);

bool vsng_packed_unpop(struct vsng_vq *vq, int n)
{
	lockdep_assert_held(&vq->mutex);
	/* Only the last pop can be put back: no earlier position is kept. */
	if (WARN_ON_ONCE(n != 1 || !vq->inflight || vq->unpop_id >= vq->num))
		return false;
	vq->inflight_descs -= vq->pk_ndescs[vq->unpop_id];
	vq->pk_ndescs[vq->unpop_id] = 0;
	vq->last_avail_idx = vq->unpop_idx;
	vq->avail_idx = vq->unpop_idx;
	vq->avail_wrap = vq->unpop_wrap;
	vq->unpop_id = vq->num;
	vq->inflight--;
	vq->stats.requests--;
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_packed_unpop);

/* ---- used elements ---------------------------------------------------- */

/* The flags of a used element written with device wrap counter @wrap. */
static inline __le16 vsng_pk_used_flags(bool wrap)
{
	return cpu_to_le16(wrap ? VSNG_PK_AVAIL | VSNG_PK_USED : 0);
}

/*
 * A used element goes to the next free used slot (after those still
 * pending): id and len first; its flags, which hand it to the driver,
 * follow after a write barrier.  The first pending element's flags are
 * written only by the flush, so that the driver sees the whole batch at
 * once.
 */
int vsng_packed_add_used(struct vsng_vq *vq, u16 id, u32 len)
{
	return vsng_packed_add_used_run(vq, id, len, 1, 0);
}
EXPORT_SYMBOL_IF_KUNIT(vsng_packed_add_used);

/*
 * IN_ORDER (inorder.c): buffer @id, used before the next one of the run,
 * gets no used element of its own.  Returns the descriptors its chain
 * took (the used index still advances by them), 0 if not in flight.
 */
u16 vsng_packed_take_descs(struct vsng_vq *vq, u16 id)
{
	u16 n;

	lockdep_assert_held(&vq->mutex);
	if (unlikely(id >= vq->pk_ndescs_num || !vq->pk_ndescs[id])) {
		vsng_vq_error(vq, "used buffer id %u is not in flight", id);
		return 0;
	}
	n = vq->pk_ndescs[id];
	vq->pk_ndescs[id] = 0;
	return n;
}

/*
 * One used element for @count buffers, @id the last of them; the earlier
 * ones took @skipped_descs ring descriptors (vsng_packed_take_descs()).
 */
int vsng_packed_add_used_run(struct vsng_vq *vq, u16 id, u32 len, u16 count,
			     u16 skipped_descs)
{
	struct vring_packed_desc __user *ring = vsng_pk_desc(vq);
	struct {
		__le32 len;
		__le16 id;
	} __packed e;
	u16 slot = vq->last_used_idx;
	bool wrap = vq->used_wrap;
	u16 n;

	lockdep_assert_held(&vq->mutex);
	BUILD_BUG_ON(offsetof(struct vring_packed_desc, id) !=
		     offsetof(struct vring_packed_desc, len) + sizeof(e.len));
	if (unlikely(vq->broken))
		return -EIO;
	if (unlikely(id >= vq->pk_ndescs_num || !vq->pk_ndescs[id])) {
		vsng_vq_error(vq, "used buffer id %u is not in flight", id);
		return -EINVAL;
	}
	n = vq->pk_ndescs[id];
	vq->pk_ndescs[id] = 0;

	vsng_pk_advance(vq->num, &slot, &wrap, vq->pending_descs);
	e.len = cpu_to_le32(len);
	e.id = cpu_to_le16(id);
	if (copy_to_user(&ring[slot].len, &e, sizeof(e))) {
		vsng_vq_error(vq, "cannot write used element %u", slot);
		return -EFAULT;
	}
	if (vq->pending_used) {
		/* id and len before the flags that publish them. */
		smp_wmb();
		if (put_user(vsng_pk_used_flags(wrap), &ring[slot].flags)) {
			vsng_vq_error(vq, "cannot write used flags %u", slot);
			return -EFAULT;
		}
	}
	vq->pending_descs += n + skipped_descs;
	vsng_vq_used_added(vq, count);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_packed_add_used_run);

/* Log the descriptor slots [first, first + n) of the ring, wrap included. */
static void vsng_pk_log_descs(struct vsng_vq *vq, u16 first, u16 n)
{
	unsigned int part = min_t(unsigned int, n, vq->num - first);
	u64 base = (u64)(uintptr_t)vq->desc;
	size_t dsz = sizeof(struct vring_packed_desc);

	vsng_log_uaddr(vq, base + first * dsz, part * dsz);
	if (part < n)
		vsng_log_uaddr(vq, base, (n - part) * dsz);
}

void vsng_packed_flush_used(struct vsng_vq *vq)
{
	struct vring_packed_desc __user *ring = vsng_pk_desc(vq);
	u16 n = vq->pending_used, first = vq->last_used_idx;

	lockdep_assert_held(&vq->mutex);
	if (!n) {
		if (vq->signal_owed)
			trace_vsng_flush(vq->index, 0,
					 vsng_notify_after_flush(vq));
		return;
	}
	if (unlikely(vq->broken)) {
		vq->inflight_descs -= vq->pending_descs;
		vq->pending_used = 0;
		vq->pending_descs = 0;
		return;
	}

	/* Every other element of the batch before the first one's flags. */
	smp_wmb();
	if (put_user(vsng_pk_used_flags(vq->used_wrap), &ring[first].flags)) {
		vsng_vq_error(vq, "cannot write used flags %u", first);
		vq->inflight_descs -= vq->pending_descs;
		vq->pending_used = 0;
		vq->pending_descs = 0;
		return;
	}
	vq->stats.used_idx_writes++;
	if (unlikely(vq->log_used)) {
		/* Elements before the log bits. */
		smp_wmb();
		vsng_pk_log_descs(vq, first, vq->pending_descs);
		if (vq->dev->log_ctx)
			vsng_eventfd_signal(vq->dev->log_ctx);
	}
	vsng_pk_advance(vq->num, &vq->last_used_idx, &vq->used_wrap,
			vq->pending_descs);
	vq->inflight_descs -= vq->pending_descs;
	vq->pending_used = 0;
	vq->pending_descs = 0;
	vsng_vq_flushed(vq, n);
}

/* ---- kick suppression (device event area) ----------------------------- */

void vsng_packed_disable_notify(struct vsng_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	if (vq->used_flags & VRING_USED_F_NO_NOTIFY)
		return;
	vq->used_flags |= VRING_USED_F_NO_NOTIFY;
	if (vsng_pk_put_device_flags(vq, VRING_PACKED_EVENT_FLAG_DISABLE))
		vsng_vq_error(vq, "cannot write device event flags");
}

bool vsng_packed_avail_empty(struct vsng_vq *vq)
{
	u16 flags;

	lockdep_assert_held(&vq->mutex);
	/* An error counts as "empty": the queue is broken by then. */
	if (vsng_pk_read_flags(vq, vq->last_avail_idx, &flags))
		return true;
	return !vsng_pk_is_avail(flags, vq->avail_wrap);
}

bool vsng_packed_enable_notify(struct vsng_vq *vq)
{
	struct vring_packed_desc_event __user *ev = vsng_pk_device(vq);
	u16 off_wrap;
	int r;

	lockdep_assert_held(&vq->mutex);
	if (!(vq->used_flags & VRING_USED_F_NO_NOTIFY))
		return false;
	vq->used_flags &= ~VRING_USED_F_NO_NOTIFY;
	if (vsng_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		/* Kick when the descriptor we look at next is made available. */
		off_wrap = vq->last_avail_idx |
			   (u16)vq->avail_wrap << VRING_PACKED_EVENT_F_WRAP_CTR;
		r = vsng_put_used16(vq, (__virtio16 __user *)&ev->off_wrap,
				    off_wrap);
		if (!r) {
			/* The position before the flags that point at it. */
			smp_wmb();
			r = vsng_pk_put_device_flags(vq,
						     VRING_PACKED_EVENT_FLAG_DESC);
		}
	} else {
		r = vsng_pk_put_device_flags(vq, VRING_PACKED_EVENT_FLAG_ENABLE);
	}
	if (r) {
		vsng_vq_error(vq, "cannot enable notifications");
		return false;
	}
	/* The guest may have added one meanwhile: publish, then recheck. */
	smp_mb();
	return !vsng_packed_avail_empty(vq);
}

/* ---- interrupts (driver event area) ----------------------------------- */

/*
 * Does the driver want an interrupt for what was published?  Its event
 * area is read in one 32-bit access (off_wrap and flags together): DISABLE
 * says no, ENABLE yes, DESC (EVENT_IDX only) yes if its off_wrap position
 * lies among the used slots written since the last check.  Any other
 * value is treated as ENABLE: a spurious interrupt costs the guest little,
 * a missing one hangs it.
 */
bool vsng_packed_wants_signal(struct vsng_vq *vq)
{
	__le32 __user *p = (__le32 __user *)vsng_pk_driver(vq);
	u16 off_wrap, flags;
	u32 new, old;
	__le32 raw;
	bool valid;

	/* Publish the used elements before reading the driver's wish. */
	smp_mb();
	if (get_user(raw, p))
		return true;
	off_wrap = le32_to_cpu(raw) & 0xffff;
	flags = le32_to_cpu(raw) >> 16;

	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new = vsng_packed_pos(vq->num, vq->last_used_idx, vq->used_wrap);
	vq->signalled_used = new;
	vq->signalled_used_valid = true;

	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC ||
	    !vsng_has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
		return true;
	if (unlikely(!valid))
		return true;
	return vsng_packed_need_event(vq->num, off_wrap, new, old);
}
