// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: interrupts to the guest (call eventfd).
 *
 * vsng_vq_flush_used() publishes a batch and asks us whether to signal.
 * First the guest's wish, asked of the ring format (ring.h).  Split, exactly
 * like in-tree vhost: with EVENT_IDX only if used_event falls inside the
 * entries published since the last signal (vring_need_event), otherwise
 * unless VRING_AVAIL_F_NO_INTERRUPT is set; NOTIFY_ON_EMPTY forces a
 * signal when the avail ring ran dry.  Packed: the driver event area's
 * flags (ENABLE / DISABLE / DESC with its off_wrap position, see
 * ring_packed.c).  A wanted signal is "owed" until sent.
 *
 * Then the adaptive coalescing policy (defaults and reasoning in vq.h):
 *  - at most VSNG_COALESCE_IDLE_INFLIGHT requests still in flight (an
 *    idle queue, queue depth 1), coalescing off (coalesce_usecs == 0 or
 *    coalesce_max <= 1), or coalesce_max completions unsignalled: signal
 *    now;
 *  - otherwise (deep queue): defer, counting it in stats.coalesced, and
 *    arm coalesce_timer for coalesce_usecs.
 * The timer runs in softirq context without the owner's mm, so it never
 * touches the ring: it queues signal_work on the queue's worker, which
 * sends the owed signal under vq->mutex.  A later flush that signals
 * first makes that work a no-op.
 */
#include <linux/ktime.h>
#include <linux/uaccess.h>
#include "compat.h"
#include "engine.h"

/* Send the call eventfd now.  vq->mutex held. */
static void vsng_signal_now(struct vsng_vq *vq)
{
	vq->signal_owed = false;
	vq->unsignalled = 0;
	if (vq->call_ctx) {
		vsng_eventfd_signal(vq->call_ctx);
		vq->stats.interrupts++;
	}
	hrtimer_try_to_cancel(&vq->coalesce_timer);
}

/*
 * Does the guest want an interrupt for what was published?  The ring
 * format decides (vsng_split_wants_signal / vsng_packed_wants_signal).
 */
static bool vsng_guest_wants_signal(struct vsng_vq *vq)
{
	return vsng_ring_wants_signal(vq);
}

bool vsng_notify_after_flush(struct vsng_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	if (vsng_guest_wants_signal(vq))
		vq->signal_owed = true;
	if (!vq->signal_owed)
		return false;

	if (!vq->coalesce_usecs || vq->coalesce_max <= 1 ||
	    vq->inflight <= VSNG_COALESCE_IDLE_INFLIGHT ||
	    vq->unsignalled >= vq->coalesce_max) {
		vsng_signal_now(vq);
		return true;
	}
	vq->stats.coalesced++;
	if (!hrtimer_is_queued(&vq->coalesce_timer))
		hrtimer_start(&vq->coalesce_timer,
			      ns_to_ktime((u64)vq->coalesce_usecs * NSEC_PER_USEC),
			      HRTIMER_MODE_REL_SOFT);
	return false;
}

void vsng_vq_signal(struct vsng_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	if (vsng_guest_wants_signal(vq) || vq->signal_owed)
		vsng_signal_now(vq);
}

static void vsng_signal_work_fn(struct vsng_work *work)
{
	struct vsng_vq *vq = container_of(work, struct vsng_vq, signal_work);

	mutex_lock(&vq->mutex);
	if (vq->signal_owed)
		vsng_signal_now(vq);
	mutex_unlock(&vq->mutex);
}

static enum hrtimer_restart vsng_coalesce_timer_fn(struct hrtimer *t)
{
	struct vsng_vq *vq = container_of(t, struct vsng_vq, coalesce_timer);

	vsng_vq_work_queue(vq, &vq->signal_work);
	return HRTIMER_NORESTART;
}

/* Kick hold ended: let the drain look at the ring (and re-enable kicks). */
static enum hrtimer_restart vsng_hold_timer_fn(struct hrtimer *t)
{
	struct vsng_vq *vq = container_of(t, struct vsng_vq, hold_timer);

	vsng_vq_kick(vq);
	return HRTIMER_NORESTART;
}

void vsng_notify_init(struct vsng_vq *vq)
{
	vsng_hrtimer_setup(&vq->coalesce_timer, vsng_coalesce_timer_fn,
			   CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	vsng_hrtimer_setup(&vq->hold_timer, vsng_hold_timer_fn,
			   CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	vsng_work_init(&vq->signal_work, vsng_signal_work_fn);
}

/* No timer may fire after this; queued signal work is flushed by the caller. */
void vsng_notify_stop(struct vsng_vq *vq)
{
	hrtimer_cancel(&vq->coalesce_timer);
	hrtimer_cancel(&vq->hold_timer);
}
