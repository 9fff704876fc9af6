/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-scsi-ng: the only place kernel-version differences live.
 *
 * Features are detected, not assumed from version numbers: scripts/kprobe.sh
 * compiles small probes against the target kernel's headers and writes
 * compat-autoconf.h with HAVE_* defines.  Each shim below names the
 * upstream change that made it necessary.
 *
 * Section "engine": owned by the virtqueue engine (vq/worker/mem/notify).
 * Section "target": owned by the LIO side (scsi/fabric/configfs).
 */
#ifndef _VSNG_COMPAT_H
#define _VSNG_COMPAT_H

#include "compat-autoconf.h"

/* ---- engine ---------------------------------------------------------- */

#include <linux/eventfd.h>
#include <linux/hrtimer.h>
#include <linux/vhost.h>

/*
 * 6.8, "eventfd: simplify eventfd_signal()": the count argument went away
 * (it was always 1 for us).
 */
static inline void vsng_eventfd_signal(struct eventfd_ctx *ctx)
{
#ifdef HAVE_EVENTFD_SIGNAL_NOCOUNT
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/*
 * 6.13, "hrtimer: Add hrtimer_setup()": hrtimer_init() plus setting the
 * function by hand is deprecated there.
 */
static inline void vsng_hrtimer_setup(struct hrtimer *t,
				      enum hrtimer_restart (*fn)(struct hrtimer *),
				      clockid_t clock, enum hrtimer_mode mode)
{
#ifdef HAVE_HRTIMER_SETUP
	hrtimer_setup(t, fn, clock, mode);
#else
	hrtimer_init(t, clock, mode);
	t->function = fn;
#endif
}

/*
 * 6.5, "vhost: allow userspace to create workers": the worker ioctls.
 * Older uapi headers lack them; we still need the numbers to answer them
 * (with -ENOIOCTLCMD when there is no vhost_task, like in-tree 6.1).
 */
#ifndef HAVE_VHOST_WORKER_IOCTLS
struct vhost_worker_state {
	unsigned int worker_id;
};

struct vhost_vring_worker {
	unsigned int index;
	unsigned int worker_id;
};

#define VHOST_NEW_WORKER _IOR(VHOST_VIRTIO, 0x8, struct vhost_worker_state)
#define VHOST_FREE_WORKER _IOW(VHOST_VIRTIO, 0x9, struct vhost_worker_state)
#define VHOST_ATTACH_VRING_WORKER _IOW(VHOST_VIRTIO, 0x15, \
				       struct vhost_vring_worker)
#define VHOST_GET_VRING_WORKER _IOWR(VHOST_VIRTIO, 0x16, \
				     struct vhost_vring_worker)
#endif

/*
 * 6.11, "vhost_task: Handle SIGKILL by flushing work and exiting": a
 * vhost_task with a kill callback.  Without it (6.1) workers are kthreads
 * that adopt the owner's mm with kthread_use_mm(); see worker.c.
 */
#ifdef HAVE_VHOST_TASK
#include <linux/sched/vhost_task.h>
#endif

/* ---- target ---------------------------------------------------------- */

#include <target/target_core_base.h>

/*
 * 6.10, "scsi: target: Allow userspace to request direct submissions":
 * a fabric declares whether target_submit() may run the backend in the
 * caller's context (direct_submit_supp) and which way is its default.
 * We default to direct submission: the command runs in the queue's
 * worker with no hop through LIO's workqueue; LIO's per-device
 * attrib/submit_type can still ask for queued submission.  Before 6.10
 * target_submit() always ran in the caller's context, which is the same
 * behaviour, so nothing is needed there.
 */
#ifdef HAVE_TARGET_SUBMIT_TYPE
#define VSNG_FABRIC_OPS_SUBMIT				\
	.direct_submit_supp	= 1,			\
	.default_submit_type	= TARGET_DIRECT_SUBMIT,
#else
#define VSNG_FABRIC_OPS_SUBMIT
#endif

/*
 * LIO's default fabric ops (target_set_default_ops(), between 6.1 and
 * 6.12): LIO fills in the ops below when a fabric leaves them NULL.  On 6.1
 * target_register_template() refuses a fabric without them ("Missing
 * tfo->tpg_check_demo_mode_write_protect()", insmod -EINVAL).  Nothing in
 * LIO's headers shows the change to a probe, and LIO's later defaults are
 * exactly these (no write protection, instance index 1, session index 0,
 * no node ACL attributes, command state 0), so every kernel gets them.
 */
static inline int vsng_tpg_check_false(struct se_portal_group *se_tpg)
{
	return 0;
}

static inline u32 vsng_tpg_get_inst_index(struct se_portal_group *se_tpg)
{
	return 1;
}

static inline u32 vsng_sess_get_index(struct se_session *se_sess)
{
	return 0;
}

static inline void vsng_set_default_node_attrs(struct se_node_acl *nacl)
{
}

static inline int vsng_get_cmd_state(struct se_cmd *se_cmd)
{
	return 0;
}

#define VSNG_FABRIC_OPS_DEFAULTS					\
	.tpg_check_demo_mode_write_protect = vsng_tpg_check_false,	\
	.tpg_check_prod_mode_write_protect = vsng_tpg_check_false,	\
	.tpg_get_inst_index		= vsng_tpg_get_inst_index,	\
	.sess_get_index			= vsng_sess_get_index,		\
	.set_default_node_attributes	= vsng_set_default_node_attrs,	\
	.get_cmd_state			= vsng_get_cmd_state,

#endif /* _VSNG_COMPAT_H */
