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

/* Write a 16-bit word of the used ring / device area and log it. */
int vsng_put_used16(struct vsng_vq *vq, __virtio16 __user *p, u16 v)
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

void vsng_vq_flushed(struct vsng_vq *vq, u16 n)
{
	trace_vsng_flush(vq->index, n, vsng_notify_after_flush(vq));
	/* Kick hold: a completion pass looks at the avail ring for us. */
	if (vq->holding && !vq->in_drain)
		vsng_vq_kick(vq);
}

/* ---- setup checks ----------------------------------------------------- */

bool vsng_vq_access_ok(struct vsng_vq *vq)
{
	void __user *log_base = READ_ONCE(vq->dev->log_base);
	unsigned int num = vq->num;

	if (!vsng_ring_access_ok(vq, num, (u64)(uintptr_t)vq->desc,
				 (u64)(uintptr_t)vq->avail,
				 (u64)(uintptr_t)vq->used))
		return false;
	if (vq->log_used &&
	    !vsng_log_range_ok(log_base, vq->log_addr,
			       vsng_ring_used_size(vq, num)))
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
	int r;

	lockdep_assert_held(&vq->mutex);
	if (!vq->desc || !vq->avail || !vq->used)
		return -EFAULT;

	/* A fresh start forgives a past malformed ring. */
	vq->broken = false;
	vq->pending_used = 0;
	vq->pending_descs = 0;
	vq->inflight_descs = 0;
	vq->inflight = 0;
	vq->unsignalled = 0;
	vq->signal_owed = false;
	vq->polling = false;
	vq->holding = false;
	vq->starved = false;
	vq->poll_deadline_ns = 0;
	vq->hold_deadline_ns = 0;
	vq->signalled_used_valid = false;

	/*
	 * A start that fails leaves the queue broken (pop refuses), not
	 * running on half-reset state: a ring size the format cannot take,
	 * an in-order record of the previous session.
	 */
	r = vsng_ring_init_access(vq);
	if (!r)
		r = vsng_inorder_init(vq);
	if (r) {
		vq->broken = true;
		return r;
	}

	/* Buffers posted before the backend existed got no kick of theirs. */
	if (vq->kick && vq->handle_kick)
		vsng_vq_kick(vq);
	return 0;
}

/* ---- popping chains --------------------------------------------------- */

int vsng_indirect_count(struct vsng_vq *vq, u64 table, u32 len,
			unsigned int max)
{
	BUILD_BUG_ON(sizeof(struct vring_desc) !=
		     sizeof(struct vring_packed_desc));
	if (unlikely(!len || len % sizeof(struct vring_desc))) {
		vsng_vq_error(vq, "indirect table length %u", len);
		return -EINVAL;
	}
	if (unlikely(table + len < table)) {
		vsng_vq_error(vq, "indirect table %#llx+%u wraps", table, len);
		return -EINVAL;
	}
	if (unlikely(len / sizeof(struct vring_desc) > max)) {
		vsng_vq_error(vq, "indirect table of %zu entries",
			      len / sizeof(struct vring_desc));
		return -EINVAL;
	}
	return len / sizeof(struct vring_desc);
}

/* Add one (already read) descriptor's buffer to the chain. */
int vsng_walk_add(struct vsng_vq *vq, struct vsng_walk *w,
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
	/* IN_ORDER: answers given here are only marked, the flush uses them. */
	if (vq->pending_used || unlikely(vq->in_order))
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
	/*
	 * Split ring: a power of two that the u16 indexes can address.
	 * Packed ring: any size up to 2^15 (15-bit indexes).  The format is
	 * known here when the features came first (as QEMU does); the start
	 * of the backend checks the size again against the final format.
	 */
	if (!s.num || s.num > 0xffff)
		return -EINVAL;
	if (vq->packed ? s.num > VSNG_PACKED_MAX_NUM : (s.num & (s.num - 1)))
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
	/* Packed: 16-byte descriptors, 4-byte event areas (virtio 1.1). */
	if (vq->packed && ((a.desc_user_addr & 15) ||
			   (a.avail_user_addr & 3)))
		return -EINVAL;

	log = a.flags & (1U << VHOST_VRING_F_LOG);
	/* A running queue must stay valid; idle ones are checked at start. */
	if (vq->private_data) {
		unsigned int num = vq->num;

		if (!vsng_ring_access_ok(vq, num, a.desc_user_addr,
					 a.avail_user_addr, a.used_user_addr))
			return -EINVAL;
		if (log && !vsng_log_range_ok(READ_ONCE(vq->dev->log_base),
					      a.log_guest_addr,
					      vsng_ring_used_size(vq, num)))
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
		r = vsng_ring_set_base(vq, s.num);
		break;
	case VHOST_GET_VRING_BASE:
		s.index = idx;
		s.num = vsng_ring_get_base(vq);
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
	vq->packed = false;
	vq->in_order = false;
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
	vq->avail_wrap = true;
	vq->used_wrap = true;
	vq->pending_descs = 0;
	vq->inflight_descs = 0;
	vsng_packed_free(vq);
	vsng_inorder_free(vq);
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
	/* Packed rings are a virtio 1.x feature (no legacy byte order). */
	if ((features & (1ULL << VIRTIO_F_RING_PACKED)) &&
	    !(features & (1ULL << VIRTIO_F_VERSION_1)))
		return -EINVAL;
	/*
	 * A running queue cannot change its ring format under the guest, nor
	 * start or stop keeping the in-order record (inorder.c).
	 */
	if ((features ^ dev->acked_features) &
	    ((1ULL << VIRTIO_F_RING_PACKED) | (1ULL << VIRTIO_F_IN_ORDER))) {
		for (i = 0; i < dev->nvqs; i++)
			if (READ_ONCE(dev->vqs[i]->private_data))
				return -EBUSY;
	}
	/*
	 * Quiesce, then publish: a queue gets the new features only while
	 * its mutex is held, i.e. between two handler passes, never half-way
	 * through a request (EVENT_IDX, VERSION_1 or LOG_ALL changing under
	 * a handler would answer one request with a mix of both).
	 */
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->acked_features = features;
		dev->vqs[i]->packed = features & (1ULL << VIRTIO_F_RING_PACKED);
		dev->vqs[i]->in_order = features & (1ULL << VIRTIO_F_IN_ORDER);
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
