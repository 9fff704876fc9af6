// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: split virtqueues.
 *
 * Everything read from the rings is hostile.  The avail index may not move
 * by more than the ring size; every descriptor is read from guest memory
 * exactly once into a local copy and checked there; chain walks are
 * bounded by the ring size (direct) or the table length (indirect) and by
 * VSNG_MAX_IOV iovecs; guest-physical addresses are only ever turned into
 * owner addresses through the memory table.  A malformed ring marks the
 * queue broken (vsng_vq_error) until the backend is started again.
 *
 * Ring accesses run on the queue's worker (a thread of the owner) or in
 * the owner's ioctl context, always with vq->mutex held.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <kunit/visibility.h>
#include "compat.h"
#include "engine.h"
#include "trace.h"

/* ---- notification eventfds ------------------------------------------- */

void vsng_vq_error(struct vsng_vq *vq, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	lockdep_assert_held(&vq->mutex);
	vq->stats.errors++;
	if (!vq->broken) {
		va_start(args, fmt);
		vaf.fmt = fmt;
		vaf.va = &args;
		pr_err_ratelimited(VSNG_NAME ": dev %u vq %u broken: %pV\n",
				   vq->dev->id, vq->index, &vaf);
		va_end(args);
	}
	vq->broken = true;
	if (vq->error_ctx)
		vsng_eventfd_signal(vq->error_ctx);
}

void vsng_vq_bad_request(struct vsng_vq *vq, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	lockdep_assert_held(&vq->mutex);
	vq->stats.errors++;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err_ratelimited(VSNG_NAME ": dev %u vq %u: %pV\n", vq->dev->id,
			   vq->index, &vaf);
	va_end(args);
	if (vq->error_ctx)
		vsng_eventfd_signal(vq->error_ctx);
}

/* ---- guest-visible ring words ---------------------------------------- */

static __virtio16 __user *vsng_avail_event(struct vsng_vq *vq)
{
	return (__virtio16 __user *)&vq->used->ring[vq->num];
}

/* Write a 16-bit used-ring word (flags or avail_event) and log it. */
static int vsng_put_used16(struct vsng_vq *vq, __virtio16 __user *p, u16 v)
{
	if (put_user(cpu_to_vsng16(vq, v), p))
		return -EFAULT;
	if (unlikely(vq->log_used)) {
		/* The word must be visible before the log bit. */
		smp_wmb();
		vsng_log_used(vq, (void __user *)p - (void __user *)vq->used,
			      sizeof(*p));
		if (vq->dev->log_ctx)
			vsng_eventfd_signal(vq->dev->log_ctx);
	}
	return 0;
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

/* ---- setup checks ----------------------------------------------------- */

bool vsng_vq_access_ok(struct vsng_vq *vq)
{
	void __user *log_base = READ_ONCE(vq->dev->log_base);
	unsigned int num = vq->num;

	if (!access_ok(vq->desc, vsng_desc_size(num)) ||
	    !access_ok(vq->avail, vsng_avail_size(num)) ||
	    !access_ok(vq->used, vsng_used_size(num)))
		return false;
	if (vq->log_used &&
	    !vsng_log_range_ok(log_base, vq->log_addr, vsng_used_size(num)))
		return false;
	if (vsng_has_feature(vq, VHOST_F_LOG_ALL) &&
	    !vsng_mem_log_access_ok(vsng_vq_mem(vq), log_base))
		return false;
	return true;
}

bool vsng_vq_is_setup(struct vsng_vq *vq)
{
	return vq->desc && vq->avail && vq->used && vsng_vq_access_ok(vq);
}

int vsng_vq_init_access(struct vsng_vq *vq)
{
	__virtio16 raw;

	lockdep_assert_held(&vq->mutex);
	if (!vq->desc || !vq->avail || !vq->used)
		return -EFAULT;

	/* A fresh start forgives a past malformed ring. */
	vq->broken = false;
	vq->pending_used = 0;
	vq->inflight = 0;
	vq->unsignalled = 0;
	vq->signal_owed = false;
	vq->polling = false;
	vq->holding = false;
	vq->starved = false;
	vq->poll_deadline_ns = 0;
	vq->hold_deadline_ns = 0;
	vq->signalled_used_valid = false;

	if (vsng_put_used16(vq, &vq->used->flags, vq->used_flags))
		return -EFAULT;
	if (get_user(raw, &vq->used->idx))
		return -EFAULT;
	vq->last_used_idx = vsng16_to_cpu(vq, raw);

	/* Buffers posted before the backend existed got no kick of theirs. */
	if (vq->kick && vq->handle_kick)
		vsng_vq_kick(vq);
	return 0;
}

/* ---- popping chains --------------------------------------------------- */

struct vsng_walk {
	const struct vsng_memtable *mt;
	struct vsng_chain *ch;
	unsigned int nr_iov;		/* out_num + in_num so far */
};

/* Add one (already read) descriptor's buffer to the chain. */
static int vsng_walk_add(struct vsng_vq *vq, struct vsng_walk *w,
			 u64 addr, u32 len, u16 flags)
{
	struct vsng_chain *ch = w->ch;
	unsigned int i;
	int n;

	if (unlikely(addr + len < addr)) {
		vsng_vq_error(vq, "descriptor %#llx+%u wraps", addr, len);
		return -EINVAL;
	}
	if (flags & VRING_DESC_F_WRITE) {
		ch->in_len += len;
	} else {
		if (unlikely(ch->in_num)) {
			vsng_vq_error(vq, "readable descriptor after writable one");
			return -EINVAL;
		}
		ch->out_len += len;
	}
	if (!len)
		return 0;

	n = vsng_mem_translate(w->mt, addr, len, ch->iov + w->nr_iov,
			       VSNG_MAX_IOV - w->nr_iov);
	if (unlikely(n == -ENOBUFS)) {
		vsng_vq_error(vq, "chain needs more than %u iovecs",
			      VSNG_MAX_IOV);
		return n;
	}
	if (unlikely(n < 0)) {
		vsng_vq_error(vq, "buffer %#llx+%u outside guest memory",
			      addr, len);
		return n;
	}
	/* Where each piece came from, for the dirty log. */
	for (i = w->nr_iov; i < w->nr_iov + n; i++) {
		ch->gpa[i] = addr;
		addr += ch->iov[i].iov_len;
	}
	w->nr_iov += n;
	if (flags & VRING_DESC_F_WRITE)
		ch->in_num += n;
	else
		ch->out_num += n;
	return 0;
}

/* Walk an indirect table; @d is the descriptor that points at it. */
static int vsng_walk_indirect(struct vsng_vq *vq, struct vsng_walk *w,
			      u64 table, u32 len)
{
	struct vring_desc d;
	unsigned int count, i = 0, steps;
	u16 flags;
	int r;

	if (unlikely(!len || len % sizeof(d))) {
		vsng_vq_error(vq, "indirect table length %u", len);
		return -EINVAL;
	}
	if (unlikely(table + len < table)) {
		vsng_vq_error(vq, "indirect table %#llx+%u wraps", table, len);
		return -EINVAL;
	}
	count = len / sizeof(d);
	if (unlikely(count > USHRT_MAX + 1)) {
		vsng_vq_error(vq, "indirect table of %u entries", count);
		return -EINVAL;
	}

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

int vsng_vq_pop(struct vsng_vq *vq, struct vsng_chain *ch)
{
	struct vsng_walk w = { .ch = ch };
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
	ch->out_num = 0;
	ch->in_num = 0;
	ch->out_len = 0;
	ch->in_len = 0;
	ch->iov = vq->iov;
	ch->gpa = vq->iov_gpa;

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
EXPORT_SYMBOL_IF_KUNIT(vsng_vq_pop);

void vsng_vq_unpop(struct vsng_vq *vq, int n)
{
	lockdep_assert_held(&vq->mutex);
	if (WARN_ON_ONCE(n < 0 || n > vq->inflight))
		return;
	vq->last_avail_idx -= n;
	vq->inflight -= n;
	vq->stats.requests -= n;
}

/* ---- used ring -------------------------------------------------------- */

int vsng_vq_add_used(struct vsng_vq *vq, u16 head, u32 len)
{
	struct vring_used_elem e;
	u16 slot;

	lockdep_assert_held(&vq->mutex);
	if (unlikely(vq->broken))
		return -EIO;
	/* Never let unpublished entries lap the ring. */
	if (unlikely(vq->pending_used >= vq->num))
		vsng_vq_flush_used(vq);

	slot = (vq->last_used_idx + vq->pending_used) & (vq->num - 1);
	e.id = cpu_to_vsng32(vq, head);
	e.len = cpu_to_vsng32(vq, len);
	if (copy_to_user(&vq->used->ring[slot], &e, sizeof(e))) {
		vsng_vq_error(vq, "cannot write used entry %u", slot);
		return -EFAULT;
	}
	vq->pending_used++;
	if (vq->inflight)
		vq->inflight--;
	vq->unsignalled++;
	vq->stats.completions++;
	if (vq->starved) {
		/* The handler ran out of resources; this frees some. */
		vq->starved = false;
		vsng_vq_kick(vq);
	}
	return 0;
}

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

void vsng_vq_flush_used(struct vsng_vq *vq)
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
	trace_vsng_flush(vq->index, n, vsng_notify_after_flush(vq));
	/* Kick hold: a completion pass looks at the avail ring for us. */
	if (vq->holding && !vq->in_drain)
		vsng_vq_kick(vq);
}

/* ---- kick suppression ------------------------------------------------- */

void vsng_vq_disable_notify(struct vsng_vq *vq)
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

bool vsng_vq_enable_notify(struct vsng_vq *vq)
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

bool vsng_vq_avail_empty(struct vsng_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	if (vq->avail_idx != vq->last_avail_idx)
		return false;
	/* An error counts as "empty": the queue is broken by then. */
	return vsng_fetch_avail_idx(vq) <= 0;
}

/* ---- the drain loop --------------------------------------------------- */

void vsng_vq_kick(struct vsng_vq *vq)
{
	vsng_vq_work_queue(vq, &vq->kick_work);
}

bool vsng_vq_exceeds_weight(struct vsng_vq *vq, int reqs)
{
	if (reqs < VSNG_WEIGHT)
		return false;
	vsng_vq_kick(vq);
	return true;
}

/*
 * The ring looks empty.  Returns true if the caller should pop again,
 * false if this pass is over (kicks re-enabled, or a poll pass requeued).
 */
static bool vsng_vq_empty(struct vsng_vq *vq)
{
	u64 now;

	if (vq->poll_usecs) {
		now = ktime_get_ns();
		if (!vq->polling) {
			vq->polling = true;
			vq->poll_deadline_ns = now +
				(u64)vq->poll_usecs * NSEC_PER_USEC;
		}
		if (now < vq->poll_deadline_ns) {
			/* Kicks stay off; look again after other work ran. */
			vsng_vq_kick(vq);
			return false;
		}
		vq->polling = false;
	}
	/* Kick hold; not at queue depth 1, where no kick is to be saved. */
	if (vq->hold_usecs && vq->inflight > VSNG_HOLD_MIN_INFLIGHT) {
		now = ktime_get_ns();
		if (!vq->holding) {
			vq->holding = true;
			vq->hold_deadline_ns = now +
				(u64)vq->hold_usecs * NSEC_PER_USEC;
			hrtimer_start(&vq->hold_timer,
				      ns_to_ktime((u64)vq->hold_usecs *
						  NSEC_PER_USEC),
				      HRTIMER_MODE_REL_SOFT);
		}
		/* Kicks stay off; a completion or the timer drains again. */
		if (now < vq->hold_deadline_ns)
			return false;
	}
	if (vq->holding) {
		vq->holding = false;
		hrtimer_try_to_cancel(&vq->hold_timer);
	}
	if (unlikely(vsng_vq_enable_notify(vq))) {
		vsng_vq_disable_notify(vq);
		return true;
	}
	return false;
}

int vsng_vq_drain(struct vsng_vq *vq,
		  int (*handle)(struct vsng_vq *vq, struct vsng_chain *ch))
{
	struct vsng_chain ch;
	int n = 0, r;

	mutex_lock(&vq->mutex);
	if (!vq->private_data || vq->broken)
		goto out;

	vq->in_drain = true;
	vsng_vq_disable_notify(vq);
	for (;;) {
		r = vsng_vq_pop(vq, &ch);
		if (r < 0)
			break;
		if (r == 0) {
			if (vsng_vq_empty(vq))
				continue;
			break;
		}
		if (vq->polling || vq->holding) {
			/* Found while kicks were off for polling/holding. */
			vq->stats.poll_hits++;
			vq->polling = false;
			/* The next empty ring starts a fresh hold. */
			vq->holding = false;
		}
		r = handle(vq, &ch);
		if (r == -EAGAIN) {
			vsng_vq_unpop(vq, 1);
			/* vsng_vq_add_used() kicks us again. */
			vq->starved = true;
			break;
		}
		if (vsng_vq_exceeds_weight(vq, ++n))
			break;
	}
	if (vq->pending_used)
		vsng_vq_flush_used(vq);
	vq->in_drain = false;
out:
	mutex_unlock(&vq->mutex);
	return n;
}

/* ---- dirty log for device writes -------------------------------------- */

int vsng_vq_log_write(struct vsng_vq *vq, const struct iovec *iov,
		      const u64 *gpa, unsigned int count, size_t len)
{
	u64 start = 0, end = 0, l;
	unsigned int i;
	int r, err = 0;

	lockdep_assert_held(&vq->mutex);
	if (!vsng_has_feature(vq, VHOST_F_LOG_ALL))
		return 0;
	/* LOG_ALL before SET_LOG_BASE: nowhere to log yet (as in-tree). */
	if (!READ_ONCE(vq->dev->log_base))
		return -EFAULT;
	/* The data must be visible before the log bits. */
	smp_wmb();

	/* [start, end): the current run of guest-contiguous iovecs. */
	for (i = 0; i < count && len; i++) {
		l = min_t(u64, iov[i].iov_len, len);
		len -= l;
		if (!l)
			continue;
		if (end != start && gpa[i] == end) {
			end += l;
			continue;
		}
		if (end != start) {
			r = vsng_log_gpa(vq, start, end - start);
			err = err ?: r;
		}
		start = gpa[i];
		end = start + l;
	}
	if (end != start) {
		r = vsng_log_gpa(vq, start, end - start);
		err = err ?: r;
	}
	if (unlikely(err)) {
		vq->stats.errors++;
		pr_err_ratelimited("vhost-scsi-ng: dirty log write failed (%d)\n",
				   err);
	}
	if (vq->dev->log_ctx)
		vsng_eventfd_signal(vq->dev->log_ctx);
	return err;
}

/* ---- vring ioctls ----------------------------------------------------- */

static long vsng_vring_set_num(struct vsng_vq *vq, void __user *argp)
{
	struct vhost_vring_state s;

	if (vq->private_data)
		return -EBUSY;
	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	/* Split ring: a power of two that the u16 indexes can address. */
	if (!s.num || s.num > 0xffff || (s.num & (s.num - 1)))
		return -EINVAL;
	vq->num = s.num;
	return 0;
}

static long vsng_vring_set_addr(struct vsng_vq *vq, void __user *argp)
{
	struct vhost_vring_addr a;
	bool log;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~(1U << VHOST_VRING_F_LOG))
		return -EOPNOTSUPP;
	if ((u64)(uintptr_t)a.desc_user_addr != a.desc_user_addr ||
	    (u64)(uintptr_t)a.used_user_addr != a.used_user_addr ||
	    (u64)(uintptr_t)a.avail_user_addr != a.avail_user_addr)
		return -EFAULT;
	BUILD_BUG_ON(__alignof__(struct vring_avail) > VRING_AVAIL_ALIGN_SIZE);
	BUILD_BUG_ON(__alignof__(struct vring_used) > VRING_USED_ALIGN_SIZE);
	if ((a.avail_user_addr & (VRING_AVAIL_ALIGN_SIZE - 1)) ||
	    (a.used_user_addr & (VRING_USED_ALIGN_SIZE - 1)) ||
	    (a.log_guest_addr & (VRING_USED_ALIGN_SIZE - 1)))
		return -EINVAL;

	log = a.flags & (1U << VHOST_VRING_F_LOG);
	/* A running queue must stay valid; idle ones are checked at start. */
	if (vq->private_data) {
		unsigned int num = vq->num;

		if (!access_ok(u64_to_user_ptr(a.desc_user_addr),
			       vsng_desc_size(num)) ||
		    !access_ok(u64_to_user_ptr(a.avail_user_addr),
			       vsng_avail_size(num)) ||
		    !access_ok(u64_to_user_ptr(a.used_user_addr),
			       vsng_used_size(num)))
			return -EINVAL;
		if (log && !vsng_log_range_ok(READ_ONCE(vq->dev->log_base),
					      a.log_guest_addr,
					      vsng_used_size(num)))
			return -EINVAL;
	}

	vq->log_used = log;
	vq->desc = u64_to_user_ptr(a.desc_user_addr);
	vq->avail = u64_to_user_ptr(a.avail_user_addr);
	vq->used = u64_to_user_ptr(a.used_user_addr);
	vq->log_addr = a.log_guest_addr;
	return 0;
}

/* Poll table callback: hook our wait entry on the kick eventfd. */
static void vsng_kick_poll_func(struct file *file, wait_queue_head_t *wqh,
				poll_table *pt)
{
	struct vsng_vq *vq = container_of(pt, struct vsng_vq, table);

	vq->wqh = wqh;
	add_wait_queue(wqh, &vq->wait);
}

/* The eventfd's wait queue woke us (its lock held): a guest kick. */
static int vsng_kick_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			    int sync, void *key)
{
	struct vsng_vq *vq = container_of(wait, struct vsng_vq, wait);

	if (!(key_to_poll(key) & EPOLLIN))
		return 0;
	/* Serialised by the eventfd's wait queue lock. */
	WRITE_ONCE(vq->stats.kicks, vq->stats.kicks + 1);
	trace_vsng_kick(vq->dev->id, vq->index);
	vsng_vq_kick(vq);
	return 0;
}

static int vsng_kick_poll_start(struct vsng_vq *vq)
{
	__poll_t mask;

	if (vq->wqh || !vq->kick || !vq->handle_kick)
		return 0;
	mask = vfs_poll(vq->kick, &vq->table);
	if (mask & EPOLLIN)
		vsng_kick_wakeup(&vq->wait, 0, 0, poll_to_key(mask));
	if (mask & EPOLLERR) {
		if (vq->wqh) {
			remove_wait_queue(vq->wqh, &vq->wait);
			vq->wqh = NULL;
		}
		return -EINVAL;
	}
	return 0;
}

static void vsng_kick_poll_stop(struct vsng_vq *vq)
{
	if (vq->wqh) {
		remove_wait_queue(vq->wqh, &vq->wait);
		vq->wqh = NULL;
	}
}

static void vsng_kick_work_fn(struct vsng_work *work)
{
	struct vsng_vq *vq = container_of(work, struct vsng_vq, kick_work);
	vsng_work_fn_t fn = READ_ONCE(vq->handle_kick);

	if (fn)
		fn(work);
}

static int vsng_get_vq(struct vsng_dev *dev, void __user *argp,
		       struct vsng_vq **vqp, u32 *idxp)
{
	u32 idx;

	if (get_user(idx, (u32 __user *)argp))
		return -EFAULT;
	if (idx >= dev->nvqs)
		return -ENOBUFS;
	idx = array_index_nospec(idx, dev->nvqs);
	*vqp = dev->vqs[idx];
	*idxp = idx;
	return 0;
}

/* SET_VRING_CALL / SET_VRING_ERR: swap an eventfd context. */
static long vsng_vring_set_ctx(struct eventfd_ctx **slot, void __user *argp)
{
	struct vhost_vring_file f;
	struct eventfd_ctx *ctx;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	ctx = f.fd == VHOST_FILE_UNBIND ? NULL : eventfd_ctx_fdget(f.fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	swap(ctx, *slot);
	if (ctx)
		eventfd_ctx_put(ctx);
	return 0;
}

static long vsng_vring_set_kick(struct vsng_vq *vq, void __user *argp,
				bool *stopped)
{
	struct vhost_vring_file f;
	struct file *eventfp, *old;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	eventfp = f.fd == VHOST_FILE_UNBIND ? NULL : eventfd_fget(f.fd);
	if (IS_ERR(eventfp))
		return PTR_ERR(eventfp);
	if (eventfp == vq->kick) {
		if (eventfp)
			fput(eventfp);
		return 0;
	}
	old = vq->kick;
	if (old) {
		vsng_kick_poll_stop(vq);
		*stopped = true;
	}
	vq->kick = eventfp;
	if (old)
		fput(old);
	return vsng_kick_poll_start(vq);
}

long vsng_vring_ioctl(struct vsng_dev *dev, unsigned int ioctl,
		      void __user *argp)
{
	struct vhost_vring_state s;
	bool stopped = false;
	struct vsng_vq *vq;
	u32 idx;
	long r;

	switch (ioctl) {
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_ADDR:
	case VHOST_SET_VRING_BASE:
	case VHOST_GET_VRING_BASE:
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
		break;
	default:
		return -ENOIOCTLCMD;
	}
	lockdep_assert_held(&dev->mutex);
	r = vsng_dev_check_owner(dev);
	if (r)
		return r;
	r = vsng_get_vq(dev, argp, &vq, &idx);
	if (r)
		return r;

	/* A queue's worker is settled before its kicks can arrive. */
	if (ioctl == VHOST_SET_VRING_KICK)
		vsng_vq_worker_ensure(vq);

	mutex_lock(&vq->mutex);
	switch (ioctl) {
	case VHOST_SET_VRING_NUM:
		r = vsng_vring_set_num(vq, argp);
		break;
	case VHOST_SET_VRING_ADDR:
		r = vsng_vring_set_addr(vq, argp);
		break;
	case VHOST_SET_VRING_BASE:
		if (vq->private_data) {
			r = -EBUSY;
			break;
		}
		if (copy_from_user(&s, argp, sizeof(s))) {
			r = -EFAULT;
			break;
		}
		if (s.num > 0xffff) {
			r = -EINVAL;
			break;
		}
		vq->last_avail_idx = s.num;
		vq->avail_idx = s.num;
		break;
	case VHOST_GET_VRING_BASE:
		s.index = idx;
		s.num = vq->last_avail_idx;
		if (copy_to_user(argp, &s, sizeof(s)))
			r = -EFAULT;
		break;
	case VHOST_SET_VRING_KICK:
		r = vsng_vring_set_kick(vq, argp, &stopped);
		break;
	case VHOST_SET_VRING_CALL:
		r = vsng_vring_set_ctx(&vq->call_ctx, argp);
		break;
	case VHOST_SET_VRING_ERR:
		r = vsng_vring_set_ctx(&vq->error_ctx, argp);
		break;
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
		/*
		 * Same meaning as for vhost-net: the busy-poll window.  Bounded
		 * like the TPG attribute; SET_ENDPOINT resets it from there.
		 */
		if (copy_from_user(&s, argp, sizeof(s))) {
			r = -EFAULT;
			break;
		}
		vq->poll_usecs = min_t(unsigned int, s.num,
				       VSNG_POLL_USECS_MAX);
		break;
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
		s.index = idx;
		s.num = vq->poll_usecs;
		if (copy_to_user(argp, &s, sizeof(s)))
			r = -EFAULT;
		break;
	}
	mutex_unlock(&vq->mutex);

	/* No kick work of the old eventfd may still run after we return. */
	if (stopped)
		vsng_dev_flush(dev);
	return r;
}

/* ---- device ----------------------------------------------------------- */

static void vsng_vq_reset(struct vsng_vq *vq)
{
	vq->num = 1;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->log_addr = -1ULL;
	vq->log_used = false;
	vq->acked_features = 0;
	vq->kick = NULL;
	vq->call_ctx = NULL;
	vq->error_ctx = NULL;
	vq->last_avail_idx = 0;
	vq->avail_idx = 0;
	vq->last_used_idx = 0;
	vq->pending_used = 0;
	vq->used_flags = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->broken = false;
	vq->inflight = 0;
	vq->unsignalled = 0;
	vq->poll_deadline_ns = 0;
	vq->hold_deadline_ns = 0;
	vq->private_data = NULL;
	vq->worker_by_user = false;
	vq->polling = false;
	vq->holding = false;
	vq->in_drain = false;
	vq->starved = false;
	vq->signal_owed = false;
	RCU_INIT_POINTER(vq->worker, NULL);
}

void vsng_dev_init(struct vsng_dev *dev, struct vsng_vq **vqs, int nvqs)
{
	static atomic_t next_id = ATOMIC_INIT(0);
	struct vsng_vq *vq;
	int i;

	mutex_init(&dev->mutex);
	dev->mm = NULL;
	RCU_INIT_POINTER(dev->mem, NULL);
	dev->acked_features = 0;
	dev->acked_backend_features = 0;
	dev->log_base = NULL;
	dev->log_ctx = NULL;
	dev->vqs = vqs;
	dev->nvqs = nvqs;
	xa_init_flags(&dev->worker_xa, XA_FLAGS_ALLOC);
	dev->default_worker = NULL;
	dev->id = atomic_inc_return(&next_id);
	dev->debugfs = NULL;
	init_llist_head(&dev->orphan_list);
	dev->orphaned = false;
	dev->dying = false;

	for (i = 0; i < nvqs; i++) {
		vq = vqs[i];
		vq->dev = dev;
		vq->index = i;
		mutex_init(&vq->mutex);
		vsng_vq_reset(vq);
		vq->wqh = NULL;
		init_waitqueue_func_entry(&vq->wait, vsng_kick_wakeup);
		init_poll_funcptr(&vq->table, vsng_kick_poll_func);
		vsng_work_init(&vq->kick_work, vsng_kick_work_fn);
		memset(&vq->stats, 0, sizeof(vq->stats));
		vq->poll_usecs = VSNG_POLL_USECS_DEFAULT;
		vq->hold_usecs = 0;
		vq->coalesce_usecs = VSNG_COALESCE_USECS_DEFAULT;
		vq->coalesce_max = VSNG_COALESCE_MAX_DEFAULT;
		vsng_notify_init(vq);
	}
	vsng_workers_init(dev);
}

bool vsng_dev_has_owner(struct vsng_dev *dev)
{
	return dev->mm;
}

long vsng_dev_check_owner(struct vsng_dev *dev)
{
	return dev->mm == current->mm ? 0 : -EPERM;
}

void vsng_dev_cycle_vqs(struct vsng_dev *dev)
{
	int i;

	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		mutex_unlock(&dev->vqs[i]->mutex);
	}
}

int vsng_dev_set_features(struct vsng_dev *dev, u64 features)
{
	const struct vsng_memtable *mt;
	int i;

	lockdep_assert_held(&dev->mutex);
	mt = rcu_dereference_protected(dev->mem,
				       lockdep_is_held(&dev->mutex));
	if ((features & (1ULL << VHOST_F_LOG_ALL)) && mt &&
	    !vsng_mem_log_access_ok(mt, dev->log_base))
		return -EFAULT;
	/*
	 * Quiesce, then publish: a queue gets the new features only while
	 * its mutex is held, i.e. between two handler passes, never half-way
	 * through a request (EVENT_IDX, VERSION_1 or LOG_ALL changing under
	 * a handler would answer one request with a mix of both).
	 */
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->acked_features = features;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	dev->acked_features = features;
	return 0;
}

void vsng_dev_stop(struct vsng_dev *dev)
{
	int i;

	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		vsng_kick_poll_stop(dev->vqs[i]);
		mutex_unlock(&dev->vqs[i]->mutex);
		vsng_notify_stop(dev->vqs[i]);
	}
	vsng_dev_flush(dev);
}

void vsng_dev_cleanup(struct vsng_dev *dev)
{
	struct vsng_vq *vq;
	int i;

	for (i = 0; i < dev->nvqs; i++) {
		vq = dev->vqs[i];
		mutex_lock(&vq->mutex);
		vsng_kick_poll_stop(vq);
		mutex_unlock(&vq->mutex);
		vsng_notify_stop(vq);
	}
	/* Workers first: after this nothing runs on the rings. */
	vsng_workers_free(dev);
	for (i = 0; i < dev->nvqs; i++) {
		vq = dev->vqs[i];
		/* The final flush may have armed it again. */
		vsng_notify_stop(vq);
		if (vq->kick)
			fput(vq->kick);
		if (vq->call_ctx)
			eventfd_ctx_put(vq->call_ctx);
		if (vq->error_ctx)
			eventfd_ctx_put(vq->error_ctx);
		vsng_vq_reset(vq);
	}
	if (dev->log_ctx)
		eventfd_ctx_put(dev->log_ctx);
	dev->log_ctx = NULL;
	dev->log_base = NULL;
	vsng_mem_free(dev);
	vsng_stats_dev_del(dev);
	if (dev->mm)
		mmput(dev->mm);
	dev->mm = NULL;
	dev->acked_features = 0;
	dev->acked_backend_features = 0;
}

long vsng_dev_set_owner(struct vsng_dev *dev)
{
	int r;

	lockdep_assert_held(&dev->mutex);
	if (dev->mm)
		return -EBUSY;
	dev->mm = get_task_mm(current);
	if (!dev->mm)
		return -EINVAL;
	dev->dying = false;
	r = vsng_workers_setup(dev);
	if (r) {
		mmput(dev->mm);
		dev->mm = NULL;
		return r;
	}
	vsng_stats_dev_add(dev);
	return 0;
}

long vsng_dev_ioctl(struct vsng_dev *dev, unsigned int ioctl,
		    void __user *argp)
{
	long r;

	lockdep_assert_held(&dev->mutex);
	switch (ioctl) {
	case VHOST_SET_OWNER:
		return vsng_dev_set_owner(dev);
	case VHOST_SET_MEM_TABLE:
	case VHOST_SET_LOG_BASE:
	case VHOST_SET_LOG_FD:
		break;
	default:
		return -ENOIOCTLCMD;
	}
	r = vsng_dev_check_owner(dev);
	if (r)
		return r;
	switch (ioctl) {
	case VHOST_SET_MEM_TABLE:
		return vsng_set_mem_table(dev, argp);
	case VHOST_SET_LOG_BASE:
		return vsng_set_log_base(dev, argp);
	default:
		return vsng_set_log_fd(dev, argp);
	}
}
