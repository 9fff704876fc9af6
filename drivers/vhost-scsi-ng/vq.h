/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-scsi-ng: the virtqueue engine.
 *
 * This is our own replacement for the private drivers/vhost/vhost.h, which
 * no kernel package ships.  It knows nothing about SCSI: it owns the memory
 * table, the split rings, kick/call/err eventfds, dirty logging, the
 * per-queue workers and the notification policy.  The SCSI device
 * (vsng.h) embeds a struct vsng_dev and an array of struct vsng_vq.
 *
 * CHANGES for the SCSI side (engine owner, keep this list current):
 *  - Lock order corrected: worker->mutex is taken BEFORE vq->mutex (the
 *    worker kill handler and attach must detach queues while holding the
 *    worker).  The SCSI side never sees worker->mutex, so nothing changes
 *    for it; just never call vsng_dev_flush() with a vq->mutex held.
 *  - Added (no renames): vq->index, vsng_engine_init()/vsng_engine_exit()
 *    (call from module init/exit: debugfs root), VSNG_*_DEFAULT tunables,
 *    vsng_vq_signal(), vsng_vq_kick() and the fields marked "engine".
 *  - vsng_vq_work_queue(): after the owner was SIGKILLed, work is run by
 *    a fallback kworker (using the owner's mm) instead of being refused,
 *    so completions queued during kill -9 still run; it only returns
 *    false before SET_OWNER or after vsng_dev_cleanup() started.
 *  - vsng_vq_bad_request(): err eventfd for one malformed request
 *    without breaking the queue (in-tree vq_err() semantics).
 *  - RESET_OWNER is not implemented (in-tree vhost-scsi does not either):
 *    vsng_dev_ioctl() returns -ENOIOCTLCMD for it.
 *
 * Lock order (outer to inner):
 *   dev->mutex  ->  dev->worker_rwsem  ->  worker->mutex  ->  vq->mutex
 * Only one vq->mutex is ever held at a time: operations on "all queues"
 * (SET_MEM_TABLE, SET_LOG_BASE) update the device field and then take and
 * release every vq->mutex in turn, so that no queue can still be using the
 * old value when they return.  Features are different: a handler tests
 * them many times per request, so each queue has its own copy, written
 * only under its vq->mutex (quiesce, then publish): no handler sees them
 * change half-way through a request.
 *
 * dev->mutex   protects the device configuration: owner, features, memory
 *              table pointer, log base, the worker list, vq->worker changes.
 * vq->mutex    protects the ring state of one queue (addresses, indexes,
 *              eventfds, flags, private_data) and the memory table as seen
 *              by that queue.  Workers hold it while they touch the ring.
 *              SET_MEM_TABLE takes every vq->mutex to swap the table.
 * worker->mutex serialises flushes of a worker against attach/free and
 *              the owner-kill handler; protects attachment_cnt and killed.
 *
 * Object lifetimes:
 *   vsng_dev     lives from open() to the last fput (release()).
 *   vsng_worker  from VHOST_NEW_WORKER (or the implicit default workers made
 *                at the first ring setup) until FREE_WORKER or release; it
 *                cannot be freed while a vq is attached (-EBUSY).
 *   memtable     replaced under dev->mutex; readers hold a vq->mutex and
 *                fetch the pointer once per operation.  The old table is
 *                freed after every vq->mutex was cycled once.
 */
#ifndef _VSNG_VQ_H
#define _VSNG_VQ_H

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/llist.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rwsem.h>
#include <linux/uio.h>
#include <linux/hrtimer.h>
#include <linux/vhost_types.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_config.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

struct vsng_dev;
struct vsng_vq;
struct vsng_work;
struct vsng_worker;

typedef void (*vsng_work_fn_t)(struct vsng_work *work);

/* A unit of work run by a worker; may be queued from any context. */
struct vsng_work {
	struct llist_node node;
	vsng_work_fn_t fn;
	unsigned long flags;		/* VSNG_WORK_QUEUED bit */
};

#define VSNG_WORK_QUEUED 0

void vsng_work_init(struct vsng_work *work, vsng_work_fn_t fn);

/*
 * Queue @work on the worker currently attached to @vq.  Safe from any
 * context (IRQ included).  If the owner was SIGKILLed the work runs on a
 * fallback kworker that uses the owner's mm.  Returns false only if there
 * is nowhere to run it (no worker yet, or the device is being torn down):
 * the caller must then complete or drop whatever the work would have done.
 */
bool vsng_vq_work_queue(struct vsng_vq *vq, struct vsng_work *work);

/*
 * Wait until all work queued so far on every worker of @dev has run.
 * Never hangs on a killed worker.  Callable from any process context
 * except a worker of @dev itself (that would wait for itself), with no
 * vq->mutex held.
 */
void vsng_dev_flush(struct vsng_dev *dev);

/* Maximum iovecs a single chain may expand to (after region splits). */
#define VSNG_MAX_IOV	UIO_MAXIOV

/*
 * One descriptor chain popped from the avail ring, already translated to
 * owner-process virtual addresses.  iov[0 .. out_num) are device-readable
 * (driver -> device), iov[out_num .. out_num + in_num) device-writable.
 * out_len / in_len are the byte totals, computed once while walking.
 * gpa[i] is the guest-physical address iov[i] was translated from: the
 * dirty log is written from it, never by mapping iov_base back through
 * the memory table, which may have changed by the time the device writes.
 */
struct vsng_chain {
	u16 head;
	unsigned int out_num;
	unsigned int in_num;
	size_t out_len;
	size_t in_len;
	struct iovec *iov;		/* points at vq->iov, VSNG_MAX_IOV long */
	u64 *gpa;			/* points at vq->iov_gpa, parallel to iov */
};

/* Per-queue counters (read through debugfs/sysfs by the SCSI layer). */
struct vsng_vq_stats {
	u64 requests;		/* chains popped */
	u64 completions;	/* used entries added */
	u64 used_idx_writes;	/* writes of used->idx */
	u64 interrupts;		/* call eventfd signals */
	u64 kicks;		/* kick eventfd wake-ups */
	u64 poll_hits;		/* found with kicks off (poll/kick hold) */
	u64 errors;		/* malformed chains, faults */
	u64 coalesced;		/* signals deferred by coalescing */
	u64 busy;		/* answered BUSY: over a device limit */
	u64 bytes;		/* data moved by GOOD commands, less residual */
	u64 used_elems;		/* used elements written (IN_ORDER: one a run) */
};

struct vsng_vq {
	struct vsng_dev *dev;
	/* Written under worker->mutex + vq->mutex, read under RCU. */
	struct vsng_worker __rcu *worker;
	unsigned int index;			/* engine: position in dev->vqs */

	/* Everything below is protected by @mutex. */
	struct mutex mutex;			/* this queue's ring state */
	unsigned int num;			/* ring size (split: power of 2) */
	/*
	 * Ring addresses in the owner's mm.  Packed rings (vq->packed) use
	 * the same three: @desc is the descriptor ring (struct
	 * vring_packed_desc), @avail the driver event suppression area and
	 * @used the device event suppression area (struct
	 * vring_packed_desc_event each); ring_packed.c casts them.
	 */
	struct vring_desc __user *desc;
	struct vring_avail __user *avail;
	struct vring_used __user *used;
	u64 log_addr;				/* GPA of the used ring/device area */
	bool log_used;				/* VHOST_VRING_F_LOG */
	/*
	 * dev->acked_features as this queue sees them: written with both
	 * dev->mutex and @mutex held (vsng_dev_set_features()), so a reader
	 * holding either sees one value for as long as it holds it.
	 */
	u64 acked_features;
	/* VIRTIO_F_RING_PACKED acked: written together with acked_features. */
	bool packed;

	struct file *kick;
	struct eventfd_ctx *call_ctx;
	struct eventfd_ctx *error_ctx;

	/* Kick eventfd poll */
	poll_table table;
	wait_queue_head_t *wqh;
	wait_queue_entry_t wait;
	struct vsng_work kick_work;	/* runs handle_kick on the worker */

	/* Set by the device; called on the worker with no lock held. */
	vsng_work_fn_t handle_kick;

	/*
	 * Split: free-running u16 indexes.  Packed: ring positions 0..num-1,
	 * with the wrap counters below.
	 */
	u16 last_avail_idx;		/* next avail entry to pop */
	u16 avail_idx;			/* cached avail->idx (split only) */
	u16 last_used_idx;		/* published used->idx / next used slot */
	u16 pending_used;		/* entries written, idx not yet bumped */
	u16 used_flags;			/* VRING_USED_F_NO_NOTIFY = kicks off */
	u16 signalled_used;		/* packed: a vsng_packed_pos() */
	bool signalled_used_valid;
	bool broken;			/* malformed input; stopped until reset */

	/* Packed ring state (ring_packed.c), protected by @mutex. */
	bool avail_wrap;		/* driver's wrap counter we expect next */
	bool used_wrap;			/* device's wrap counter for next used */
	u16 pending_descs;		/* ring slots the pending entries cover */
	/*
	 * Ring slots of the chains popped and not yet published (pending
	 * ones included): at most num, or a chain would reuse slots of one
	 * still in flight and the used slots would run past the ring.
	 */
	u16 inflight_descs;
	u16 unpop_idx;			/* position/wrap/id of the last pop */
	bool unpop_wrap;
	u16 unpop_id;
	/*
	 * Per buffer ID: 0 = not in flight, else the number of ring
	 * descriptors its chain used (the used index advances by that much).
	 * vq->num entries, allocated at backend start.
	 */
	u16 *pk_ndescs;
	unsigned int pk_ndescs_num;	/* entries allocated in pk_ndescs */

	/*
	 * VIRTIO_F_IN_ORDER (inorder.c), protected by @mutex.  @in_order is
	 * written together with acked_features.  io_order[] is our own record
	 * of the heads (buffer IDs) in the order they were popped, a ring of
	 * io_num entries of which io_count from io_first are in flight;
	 * io_done[head] counts completions not yet published, io_len[head]
	 * the length of the last one.  Never read back from the guest.
	 */
	bool in_order;
	u16 *io_order;
	u16 *io_done;
	u32 *io_len;
	unsigned int io_num;		/* entries allocated in each array */
	unsigned int io_first;		/* io_order[] index of the oldest */
	unsigned int io_count;		/* popped, not yet published */

	/* Notification policy (set by the device from TPG attributes). */
	unsigned int poll_usecs;	/* busy-poll window, 0 = off */
	unsigned int hold_usecs;	/* kick hold while I/O in flight, 0 = off */
	unsigned int coalesce_usecs;	/* max deferral of a signal */
	unsigned int coalesce_max;	/* signal at once past this many */
	unsigned int inflight;		/* requests popped, not yet used */
	unsigned int unsignalled;	/* used entries since last signal */
	struct hrtimer coalesce_timer;
	u64 poll_deadline_ns;		/* busy-poll window end (ktime ns) */
	u64 hold_deadline_ns;		/* kick hold end (ktime ns) */
	struct hrtimer hold_timer;	/* re-runs the drain at hold end */

	void *private_data;		/* device backend, NULL = stopped */
	struct vsng_vq_stats stats;

	/* engine private, protected by @mutex */
	bool worker_by_user;		/* ATTACH_VRING_WORKER was used */
	bool polling;			/* kicks off, busy-poll window open */
	bool holding;			/* kicks off, >1 request in flight (kick hold) */
	bool in_drain;			/* vsng_vq_drain() is running */
	bool starved;			/* handler said -EAGAIN: kick on completion */
	bool signal_owed;		/* guest wants a signal we deferred */
	struct vsng_work signal_work;	/* deferred signal, queued by the timer */

	struct iovec iov[VSNG_MAX_IOV];
	u64 iov_gpa[VSNG_MAX_IOV];	/* guest address of each iov[] */
};

/* Memory table (guest-physical -> owner-virtual), sorted by gpa. */
struct vsng_mem_region {
	u64 gpa;
	u64 size;
	u64 uaddr;
};

struct vsng_memtable {
	struct rcu_head rcu;
	u32 nregions;
	struct vsng_mem_region regions[];
};

/* Default of the max_mem_regions module parameter (mem.c). */
#define VSNG_MAX_MEM_REGIONS	509

struct vsng_dev {
	struct mutex mutex;			/* see the lock order above */
	struct mm_struct *mm;			/* owner, NULL before SET_OWNER */
	struct vsng_memtable __rcu *mem;
	u64 acked_features;
	u64 acked_backend_features;
	void __user *log_base;			/* dirty log bitmap, owner VA */
	struct eventfd_ctx *log_ctx;
	struct vsng_vq **vqs;
	int nvqs;
	struct xarray worker_xa;		/* id -> struct vsng_worker */
	bool shared_worker;		/* one worker for all vqs (compare mode) */

	/* engine private */
	/*
	 * Held for reading while flushing workers (vsng_dev_flush may run
	 * without dev->mutex, e.g. from a kworker), for writing to free one.
	 */
	struct rw_semaphore worker_rwsem;
	struct vsng_worker *default_worker;	/* dev->mutex; vq 0/1 + shared */
	unsigned int id;			/* debugfs name, trace dev_id */
	struct dentry *debugfs;			/* <owner-pid>-<id>/ */
	/* Work queued after the owner was killed; run by orphan_work. */
	struct llist_head orphan_list;
	struct work_struct orphan_work;
	bool orphaned;				/* a worker was killed */
	bool dying;				/* cleanup started: refuse work */
};

/*
 * Notification policy defaults (the SCSI side may override them per vq
 * from TPG attributes before the backend starts).
 *
 * Coalescing is on by default but cannot hurt queue depth 1: a completion
 * is signalled at once whenever at most VSNG_COALESCE_IDLE_INFLIGHT
 * requests are still in flight after it (an idle or nearly idle queue, the
 * guest is waiting for exactly this I/O).  Only with more requests in
 * flight - so another completion is coming anyway - is the interrupt held
 * back, until VSNG_COALESCE_MAX_DEFAULT completions piled up or
 * VSNG_COALESCE_USECS_DEFAULT passed, whichever comes first.  Busy polling
 * costs host CPU, so it stays off unless asked for.
 */
#define VSNG_COALESCE_USECS_DEFAULT	50
#define VSNG_COALESCE_MAX_DEFAULT	32
#define VSNG_COALESCE_IDLE_INFLIGHT	1
#define VSNG_POLL_USECS_DEFAULT		0
#define VSNG_POLL_USECS_MAX		1000

/*
 * Kick hold: when the avail ring runs dry while more than
 * VSNG_HOLD_MIN_INFLIGHT requests of this queue are still in flight, kicks
 * stay off (VRING_USED_F_NO_NOTIFY / avail_event left behind) because the
 * device will look at the ring anyway: every completion pass re-runs the
 * drain, and hold_timer re-runs it after at most hold_usecs.  A request
 * the guest adds meanwhile therefore costs no kick and waits at most
 * hold_usecs (usually just until the next completion).  With at most
 * VSNG_HOLD_MIN_INFLIGHT requests in flight (an idle queue, or queue depth
 * 1, where the guest waits for that very request before it adds the next)
 * there is no kick to save: kicks are re-enabled (and the ring re-checked)
 * at once, no timer is armed and a completion queues no extra drain pass,
 * as in-tree.  The price: the first request of a burst re-enables kicks,
 * so the guest keeps kicking until the device has popped a second
 * request; if the worker cannot run meanwhile (a busy or descheduled CPU),
 * the whole burst kicks, as it would in-tree.  The engine default is 0
 * (off, as in-tree); the SCSI side sets it per I/O queue from the TPG
 * attribute kick_hold_usecs (default below).
 */
#define VSNG_HOLD_USECS_DEFAULT		50
#define VSNG_HOLD_MIN_INFLIGHT		1

/* Module-wide engine state (debugfs root).  Call from module init/exit. */
int vsng_engine_init(void);
void vsng_engine_exit(void);

/* Device life */
void vsng_dev_init(struct vsng_dev *dev, struct vsng_vq **vqs, int nvqs);
long vsng_dev_set_owner(struct vsng_dev *dev);
bool vsng_dev_has_owner(struct vsng_dev *dev);
long vsng_dev_check_owner(struct vsng_dev *dev);	/* 0 or -EPERM */
void vsng_dev_stop(struct vsng_dev *dev);		/* stop kick polling */
void vsng_dev_cleanup(struct vsng_dev *dev);		/* release everything */

/*
 * ioctl entry points.  Each returns -ENOIOCTLCMD for ioctls it does not
 * own.  vsng_dev_ioctl: SET_OWNER, SET_MEM_TABLE, SET_LOG_BASE, SET_LOG_FD,
 * RESET_OWNER.  vsng_vring_ioctl: SET_VRING_*, GET_VRING_BASE (index
 * beyond nvqs -> -ENOBUFS).  vsng_worker_ioctl: NEW/FREE_WORKER,
 * ATTACH/GET_VRING_WORKER.  GET/SET_FEATURES stay in the device.
 * The caller holds dev->mutex.
 */
long vsng_dev_ioctl(struct vsng_dev *dev, unsigned int ioctl, void __user *argp);
long vsng_vring_ioctl(struct vsng_dev *dev, unsigned int ioctl, void __user *argp);
long vsng_worker_ioctl(struct vsng_dev *dev, unsigned int ioctl, void __user *argp);

/*
 * Set the acked features (caller validated them against the device's
 * offer).  Takes every vq->mutex; fails with -EFAULT if LOG_ALL is asked
 * for and the log base is not accessible.  Caller holds dev->mutex.
 */
int vsng_dev_set_features(struct vsng_dev *dev, u64 features);

/*
 * Statistics: VHOST_SCSI_NG_GET_VQ_STATS (include/uapi/linux/
 * vhost_scsi_ng.h) and a debugfs directory per device,
 * /sys/kernel/debug/vhost-scsi-ng/<owner-pid>-<id>/vq<N>, created at
 * SET_OWNER and removed at cleanup by the engine itself.
 */
long vsng_stats_ioctl(struct vsng_dev *dev, void __user *argp);

/* Rings have addresses, num and are accessible from the owner's mm. */
bool vsng_vq_is_setup(struct vsng_vq *vq);
bool vsng_vq_access_ok(struct vsng_vq *vq);
/* Read used->flags etc. once when a backend starts; caller holds vq->mutex. */
int vsng_vq_init_access(struct vsng_vq *vq);

/* Caller holds vq->mutex (handlers) or dev->mutex (set-up checks). */
static inline bool vsng_has_feature(struct vsng_vq *vq, int bit)
{
	return vq->acked_features & (1ULL << bit);
}

/*
 * The ring operations are inlines in ring.h (vsng_vq_pop() & co.) that pick
 * the split or the packed implementation (one test of vq->packed).  All
 * run with vq->mutex held, on the vq's worker (or in ioctl context).
 *
 * vsng_vq_pop(): pop the next chain.  Returns 1 with @ch filled, 0 if the
 * avail ring is empty, or a negative errno if the ring or the chain is
 * malformed; then the vq is marked broken, the err eventfd signalled and
 * -EIO returned until reset.  ch->head is the split head index or the
 * packed buffer ID; either is what vsng_vq_add_used() takes back.
 *
 * vsng_vq_unpop(): put back the last @n popped chains (e.g. when out of
 * resources).  Packed rings can put back only the last one (n == 1).
 *
 * Used ring, batched: vsng_vq_add_used() writes one used element but
 * does not publish it; vsng_vq_flush_used() publishes all pending entries
 * at once (split: one used->idx write; packed: the first element's flags
 * written last), logs the dirty pages, and signals the guest according to
 * EVENT_IDX / NO_INTERRUPT (split) or the driver event area (packed) and
 * the coalescing policy.
 *
 * Kick suppression: vsng_vq_disable_notify() while draining,
 * vsng_vq_enable_notify() when the ring looks empty; it returns true if
 * new buffers arrived while notifications were off (the caller must loop
 * again).  vsng_vq_avail_empty(): nothing to pop right now.
 */

/*
 * The standard kick handler body.  Takes vq->mutex; returns at once if the
 * vq has no backend (private_data == NULL) or is broken.  Otherwise, with
 * kicks suppressed, pops chains and hands each to @handle (vq->mutex
 * held).  @handle returns 0 when it consumed the chain, -EAGAIN when it is
 * out of resources (the chain is put back and draining stops until a
 * completion requeues kick_work), or another errno (chain consumed,
 * draining goes on).  When the ring is empty it re-enables kicks and
 * checks once more, so no wake-up is lost.  If vq->poll_usecs is set, it
 * instead keeps kicks off and requeues kick_work until the ring has been
 * empty for that long (busy polling that never blocks other work on the
 * same worker).  If vq->hold_usecs is set and more than
 * VSNG_HOLD_MIN_INFLIGHT requests are in flight, it keeps kicks off until
 * they complete or hold_usecs passed (kick hold, see
 * VSNG_HOLD_USECS_DEFAULT).  After VSNG_WEIGHT chains it requeues itself
 * and returns.
 */
int vsng_vq_drain(struct vsng_vq *vq,
		  int (*handle)(struct vsng_vq *vq, struct vsng_chain *ch));

/* Worker yields after this much work per handle_kick pass. */
#define VSNG_WEIGHT	256
bool vsng_vq_exceeds_weight(struct vsng_vq *vq, int reqs);

/*
 * Signal the guest now if it wants it (EVENT_IDX/NO_INTERRUPT honoured,
 * coalescing bypassed), e.g. for the event queue.  vq->mutex held.
 */
void vsng_vq_signal(struct vsng_vq *vq);

/* Queue vq->kick_work as if the guest had kicked (no kick counted). */
void vsng_vq_kick(struct vsng_vq *vq);

/* Mark @vq broken: log (ratelimited), signal err eventfd, count. */
void vsng_vq_error(struct vsng_vq *vq, const char *fmt, ...) __printf(2, 3);

/*
 * One malformed request (the ring itself is fine): log (ratelimited),
 * count, signal the err eventfd like in-tree vq_err(), but keep the queue
 * running.  The caller still answers or returns the chain.  vq->mutex held.
 */
void vsng_vq_bad_request(struct vsng_vq *vq, const char *fmt, ...)
	__printf(2, 3);

/*
 * Dirty logging for data written into guest memory by the device outside
 * the used ring (data-in buffers, responses, events): the first @len bytes
 * of @iov, whose guest-physical addresses @gpa recorded when the chain was
 * popped (struct vsng_chain).  The memory table is not consulted, so a
 * SET_MEM_TABLE while a request is in flight cannot lose its pages, and
 * the cost is one pass over the iovecs (adjacent ones merged), whatever
 * the number of regions.  Every range is logged even if one fails; the
 * first error is returned and counted.  No-op unless VHOST_F_LOG_ALL is
 * acked.  vq->mutex held.
 */
int vsng_vq_log_write(struct vsng_vq *vq, const struct iovec *iov,
		      const u64 *gpa, unsigned int count, size_t len);

#include "ring.h"

#endif /* _VSNG_VQ_H */
