// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: per-queue statistics.
 *
 * VHOST_SCSI_NG_GET_VQ_STATS copies one queue's counters (index >= nvqs:
 * -ENOBUFS, like the vring ioctls).  debugfs shows the same as text in
 * /sys/kernel/debug/vhost-scsi-ng/<owner-pid>-<id>/vq<N>, one "name value"
 * line per counter ("bytes" and "worker_tid" are only there); the SCSI
 * side adds "wwpn" to the same directory.  tools/vsng-stat reads them.
 * Counters are updated under vq->mutex (kicks in the eventfd wake-up); the
 * ioctl takes vq->mutex for a consistent snapshot, debugfs reads without
 * it.
 */
#include <linux/debugfs.h>
#include <linux/nospec.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <uapi/linux/vhost_scsi_ng.h>
#include "compat.h"
#include "engine.h"

/* The debugfs root; vsng_root_lock guards its creation and removal. */
static DEFINE_MUTEX(vsng_root_lock);
static struct dentry *vsng_root;

int vsng_engine_init(void)
{
	mutex_lock(&vsng_root_lock);
	if (!vsng_root)
		vsng_root = debugfs_create_dir(VSNG_NAME, NULL);
	mutex_unlock(&vsng_root_lock);
	return 0;
}

void vsng_engine_exit(void)
{
	mutex_lock(&vsng_root_lock);
	debugfs_remove_recursive(vsng_root);
	vsng_root = NULL;
	mutex_unlock(&vsng_root_lock);
}

static int vsng_vq_stats_show(struct seq_file *m, void *unused)
{
	struct vsng_vq *vq = m->private;
	const struct vsng_vq_stats *s = &vq->stats;

	seq_printf(m, "requests %llu\n", READ_ONCE(s->requests));
	seq_printf(m, "completions %llu\n", READ_ONCE(s->completions));
	seq_printf(m, "used_idx_writes %llu\n", READ_ONCE(s->used_idx_writes));
	seq_printf(m, "used_elems %llu\n", READ_ONCE(s->used_elems));
	seq_printf(m, "interrupts %llu\n", READ_ONCE(s->interrupts));
	seq_printf(m, "kicks %llu\n", READ_ONCE(s->kicks));
	seq_printf(m, "poll_hits %llu\n", READ_ONCE(s->poll_hits));
	seq_printf(m, "errors %llu\n", READ_ONCE(s->errors));
	seq_printf(m, "coalesced %llu\n", READ_ONCE(s->coalesced));
	seq_printf(m, "busy %llu\n", READ_ONCE(s->busy));
	seq_printf(m, "bytes %llu\n", READ_ONCE(s->bytes));
	seq_printf(m, "inflight %u\n", READ_ONCE(vq->inflight));
	seq_printf(m, "broken %d\n", READ_ONCE(vq->broken));
	seq_printf(m, "worker %d\n", vsng_worker_alive(vq));
	seq_printf(m, "worker_tid %d\n", vsng_worker_tid(vq));
	seq_printf(m, "num %u\n", READ_ONCE(vq->num));
	seq_printf(m, "last_avail_idx %u\n", READ_ONCE(vq->last_avail_idx));
	seq_printf(m, "last_used_idx %u\n", READ_ONCE(vq->last_used_idx));
	seq_printf(m, "poll_usecs %u\n", READ_ONCE(vq->poll_usecs));
	seq_printf(m, "hold_usecs %u\n", READ_ONCE(vq->hold_usecs));
	seq_printf(m, "coalesce_usecs %u\n", READ_ONCE(vq->coalesce_usecs));
	seq_printf(m, "coalesce_max %u\n", READ_ONCE(vq->coalesce_max));
	/* Ring state, read without the lock: for debugging a stuck queue. */
	seq_printf(m, "avail_idx %u\n", READ_ONCE(vq->avail_idx));
	seq_printf(m, "pending_used %u\n", READ_ONCE(vq->pending_used));
	seq_printf(m, "unsignalled %u\n", READ_ONCE(vq->unsignalled));
	seq_printf(m, "used_flags %#x\n", READ_ONCE(vq->used_flags));
	seq_printf(m, "packed %d\n", READ_ONCE(vq->packed));
	seq_printf(m, "avail_wrap %d\n", READ_ONCE(vq->avail_wrap));
	seq_printf(m, "used_wrap %d\n", READ_ONCE(vq->used_wrap));
	seq_printf(m, "backend %d\n", !!READ_ONCE(vq->private_data));
	seq_printf(m, "kick_fd %d\n", !!READ_ONCE(vq->kick));
	seq_printf(m, "kick_polled %d\n", !!READ_ONCE(vq->wqh));
	seq_printf(m, "call_fd %d\n", !!READ_ONCE(vq->call_ctx));
	seq_printf(m, "kick_queued %d\n",
		   test_bit(VSNG_WORK_QUEUED, &vq->kick_work.flags));
	seq_printf(m, "signal_queued %d\n",
		   test_bit(VSNG_WORK_QUEUED, &vq->signal_work.flags));
	seq_printf(m, "polling %d\n", READ_ONCE(vq->polling));
	seq_printf(m, "holding %d\n", READ_ONCE(vq->holding));
	seq_printf(m, "in_drain %d\n", READ_ONCE(vq->in_drain));
	seq_printf(m, "starved %d\n", READ_ONCE(vq->starved));
	seq_printf(m, "signal_owed %d\n", READ_ONCE(vq->signal_owed));
	seq_printf(m, "signalled_used %u\n", READ_ONCE(vq->signalled_used));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vsng_vq_stats);

/* At SET_OWNER; failures only cost the debugfs view. */
void vsng_stats_dev_add(struct vsng_dev *dev)
{
	char name[32];
	int i;

	mutex_lock(&vsng_root_lock);
	if (!vsng_root)
		vsng_root = debugfs_create_dir(VSNG_NAME, NULL);
	snprintf(name, sizeof(name), "%d-%u", task_tgid_nr(current), dev->id);
	dev->debugfs = debugfs_create_dir(name, vsng_root);
	mutex_unlock(&vsng_root_lock);
	if (IS_ERR_OR_NULL(dev->debugfs))
		return;
	for (i = 0; i < dev->nvqs; i++) {
		snprintf(name, sizeof(name), "vq%d", i);
		debugfs_create_file(name, 0444, dev->debugfs, dev->vqs[i],
				    &vsng_vq_stats_fops);
	}
}

/* Waits for readers, so the queues may be freed afterwards. */
void vsng_stats_dev_del(struct vsng_dev *dev)
{
	mutex_lock(&vsng_root_lock);
	if (vsng_root)
		debugfs_remove_recursive(dev->debugfs);
	mutex_unlock(&vsng_root_lock);
	dev->debugfs = NULL;
}

long vsng_stats_ioctl(struct vsng_dev *dev, void __user *argp)
{
	struct vhost_scsi_ng_vq_stats st;
	struct vsng_vq *vq;
	u32 idx;

	if (get_user(idx, (u32 __user *)argp))
		return -EFAULT;
	if (idx >= dev->nvqs)
		return -ENOBUFS;
	vq = dev->vqs[array_index_nospec(idx, dev->nvqs)];

	memset(&st, 0, sizeof(st));
	st.index = idx;
	mutex_lock(&vq->mutex);
	st.requests = vq->stats.requests;
	st.completions = vq->stats.completions;
	st.used_idx_writes = vq->stats.used_idx_writes;
	st.used_elems = vq->stats.used_elems;
	st.interrupts = vq->stats.interrupts;
	st.kicks = READ_ONCE(vq->stats.kicks);
	st.poll_hits = vq->stats.poll_hits;
	st.errors = vq->stats.errors;
	st.coalesced = vq->stats.coalesced;
	st.inflight = vq->inflight;
	st.busy = vq->stats.busy;
	if (vq->broken)
		st.flags |= VHOST_SCSI_NG_VQ_BROKEN;
	if (vsng_worker_alive(vq))
		st.flags |= VHOST_SCSI_NG_VQ_HAS_WORKER;
	mutex_unlock(&vq->mutex);

	if (copy_to_user(argp, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}
