// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: module init/exit, parameters, the misc device and its
 * ioctls.
 *
 * A drop-in replacement for drivers/vhost/scsi.c: the same device
 * (/dev/vhost-scsi), ioctls, error codes and LIO fabric ("vhost"), on our
 * own virtqueue engine (vq.h).  devname= and fabric= let it run next to
 * the in-tree module for side-by-side comparisons.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/namei.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vhost.h>
#include <linux/vmalloc.h>
#include <target/target_core_fabric.h>
#include <uapi/linux/vhost_scsi_ng.h>

#include "vsng.h"

static unsigned int vsng_max_io_vqs = VSNG_DEFAULT_IO_VQ;
module_param_named(max_io_vqs, vsng_max_io_vqs, uint, 0644);
MODULE_PARM_DESC(max_io_vqs,
		 "Maximum I/O virtqueues of a device (default 128, max 1024)");

static char *vsng_devname = "vhost-scsi";
module_param_named(devname, vsng_devname, charp, 0444);
MODULE_PARM_DESC(devname, "Misc device name (default vhost-scsi)");

char *vsng_fabric_name = "vhost";
module_param_named(fabric, vsng_fabric_name, charp, 0444);
MODULE_PARM_DESC(fabric, "LIO fabric name in configfs (default vhost)");

static bool vsng_worker_per_vq = true;
module_param_named(worker_per_vq, vsng_worker_per_vq, bool, 0644);
MODULE_PARM_DESC(worker_per_vq,
		 "One worker per I/O virtqueue (default Y); N: one shared worker per device");

/*
 * VIRTIO_F_IN_ORDER (inorder.c) is offered only when asked for: buffers
 * are then used in the order the guest made them available, so a fast
 * command can wait behind a slow one.  A device takes the value when it
 * is opened (GET_FEATURES and SET_FEATURES then agree).
 */
static bool vsng_in_order;
module_param_named(in_order, vsng_in_order, bool, 0644);
MODULE_PARM_DESC(in_order,
		 "Offer VIRTIO_F_IN_ORDER to devices opened from now on (default N)");

/* ---- open / release --------------------------------------------------- */

static void vsng_scsi_free(struct vsng_scsi *vs)
{
	int i;

	for (i = 0; i < vs->nvqs; i++)
		kvfree(vs->svqs[i]);
	kfree(vs->svqs);
	kfree(vs->vqs);
	kfree(vs);
}

static int vsng_open(struct inode *inode, struct file *f)
{
	unsigned int nvqs = READ_ONCE(vsng_max_io_vqs);
	struct vsng_scsi *vs;
	struct vsng_svq *svq;
	int i;

	if (nvqs > VSNG_MAX_IO_VQ) {
		pr_err("vhost-scsi-ng: invalid max_io_vqs %u, using %d\n",
		       nvqs, VSNG_MAX_IO_VQ);
		nvqs = VSNG_MAX_IO_VQ;
	} else if (!nvqs) {
		pr_err("vhost-scsi-ng: invalid max_io_vqs 0, using 1\n");
		nvqs = 1;
	}
	nvqs += VSNG_VQ_IO;

	vs = kzalloc(sizeof(*vs), GFP_KERNEL);
	if (!vs)
		return -ENOMEM;
	vs->features = VSNG_FEATURES;
	if (READ_ONCE(vsng_in_order))
		vs->features |= 1ULL << VIRTIO_F_IN_ORDER;
	vs->svqs = kcalloc(nvqs, sizeof(*vs->svqs), GFP_KERNEL);
	vs->vqs = kcalloc(nvqs, sizeof(*vs->vqs), GFP_KERNEL);
	if (!vs->svqs || !vs->vqs)
		goto nomem;
	for (i = 0; i < nvqs; i++) {
		/* Each queue carries a UIO_MAXIOV iovec array: 16 KiB+. */
		svq = kvzalloc(sizeof(*svq), GFP_KERNEL);
		if (!svq)
			goto nomem;
		vs->svqs[i] = svq;
		vs->nvqs = i + 1;
		svq->vs = vs;
		init_llist_head(&svq->free);
		init_llist_head(&svq->completions);
		vsng_work_init(&svq->completion_work, vsng_scsi_complete_work);
		atomic_set(&svq->inflight, 0);
		if (i == VSNG_VQ_CTL)
			svq->vq.handle_kick = vsng_ctl_handle_kick;
		else if (i == VSNG_VQ_EVT)
			svq->vq.handle_kick = vsng_evt_handle_kick;
		else
			svq->vq.handle_kick = vsng_scsi_handle_kick;
		vs->vqs[i] = &svq->vq;
	}

	spin_lock_init(&vs->wwpn_lock);
	init_waitqueue_head(&vs->inflight_wq);
	atomic_set(&vs->tmf_inflight, 0);
	atomic_set(&vs->resetting, 0);
	ratelimit_state_init(&vs->abort_rs, VSNG_ABORT_INTERVAL,
			     VSNG_ABORT_BURST);
	/* No "callbacks suppressed" lines: the busy count says it. */
	ratelimit_set_flags(&vs->abort_rs, RATELIMIT_MSG_ON_RELEASE);
	init_llist_head(&vs->events);
	vsng_work_init(&vs->event_work, vsng_evt_work);

	vsng_dev_init(&vs->dev, vs->vqs, nvqs);
	vs->dev.shared_worker = !READ_ONCE(vsng_worker_per_vq);

	f->private_data = vs;
	return 0;

nomem:
	vsng_scsi_free(vs);
	return -ENOMEM;
}

/*
 * Last close, or the owner died: drain and release everything (commands,
 * pinned pages, sessions' references, configfs dependencies), then the
 * engine's state.
 */
static int vsng_release(struct inode *inode, struct file *f)
{
	struct vsng_scsi *vs = f->private_data;

	mutex_lock(&vs->dev.mutex);
	vsng_clear_endpoint(vs, NULL, false);
	mutex_unlock(&vs->dev.mutex);
	vsng_dev_stop(&vs->dev);
	vsng_evt_drop_all(vs);
	vsng_dev_cleanup(&vs->dev);
	vsng_scsi_free(vs);
	return 0;
}

/* ---- ioctls ------------------------------------------------------------ */

/* The arguments of the ioctls handled here, copied in before dev->mutex. */
union vsng_ioctl_arg {
	u64 features;
	u32 missed;
	int abi_version;
	struct vhost_scsi_target t;
};

/*
 * Copy the argument in first, without any lock: the copy may fault and
 * sleep for as long as the caller likes (userfaultfd), and it must not do
 * so with dev->mutex held, nor read the argument after the owner check.
 */
static long vsng_ioctl_copy_in(unsigned int ioctl, void __user *argp,
			       union vsng_ioctl_arg *a)
{
	switch (ioctl) {
	case VHOST_SCSI_SET_ENDPOINT:
	case VHOST_SCSI_CLEAR_ENDPOINT:
		if (copy_from_user(&a->t, argp, sizeof(a->t)))
			return -EFAULT;
		return 0;
	case VHOST_SET_FEATURES:
	case VHOST_SET_BACKEND_FEATURES:
		if (copy_from_user(&a->features, argp, sizeof(a->features)))
			return -EFAULT;
		return 0;
	case VHOST_SCSI_SET_EVENTS_MISSED:
		return get_user(a->missed, (u32 __user *)argp);
	default:
		return 0;
	}
}

/*
 * Everything an ioctl does, under dev->mutex and after the owner check in
 * the same critical section.  Results to copy out go to @a (@out_len bytes
 * of it); the caller copies them after dropping the lock.
 */
/* debugfs <owner-pid>-<id>/wwpn: the endpoint's WWPN, empty without one. */
static int vsng_wwpn_show(struct seq_file *m, void *unused)
{
	struct vsng_scsi *vs = m->private;
	char wwpn[TRANSPORT_IQN_LEN];

	spin_lock(&vs->wwpn_lock);
	memcpy(wwpn, vs->wwpn, sizeof(wwpn));
	spin_unlock(&vs->wwpn_lock);
	seq_printf(m, "%s\n", wwpn);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vsng_wwpn);

/* After SET_OWNER made the directory; removed with it by the engine. */
static void vsng_wwpn_debugfs_add(struct vsng_scsi *vs)
{
	if (!IS_ERR_OR_NULL(vs->dev.debugfs))
		debugfs_create_file("wwpn", 0444, vs->dev.debugfs, vs,
				    &vsng_wwpn_fops);
}

static long vsng_ioctl_locked(struct vsng_scsi *vs, unsigned int ioctl,
			      void __user *argp, union vsng_ioctl_arg *a,
			      size_t *out_len)
{
	struct vsng_vq *evq = &vs->svqs[VSNG_VQ_EVT]->vq;
	long r;

	lockdep_assert_held(&vs->dev.mutex);
	*out_len = 0;
	switch (ioctl) {
	case VHOST_SCSI_SET_ENDPOINT:
	case VHOST_SCSI_CLEAR_ENDPOINT:
		if (a->t.reserved)
			return -EOPNOTSUPP;
		if (ioctl == VHOST_SCSI_SET_ENDPOINT)
			return vsng_set_endpoint(vs, &a->t);
		return vsng_clear_endpoint(vs, &a->t, true);
	case VHOST_SCSI_GET_ABI_VERSION:
		/* Declared _IOW, but it writes the version back (as in-tree). */
		a->abi_version = VHOST_SCSI_ABI_VERSION;
		*out_len = sizeof(a->abi_version);
		return 0;
	case VHOST_SCSI_SET_EVENTS_MISSED:
		mutex_lock(&evq->mutex);
		vs->events_missed = a->missed;
		mutex_unlock(&evq->mutex);
		return 0;
	case VHOST_SCSI_GET_EVENTS_MISSED:
		mutex_lock(&evq->mutex);
		a->missed = vs->events_missed;
		mutex_unlock(&evq->mutex);
		*out_len = sizeof(a->missed);
		return 0;
	case VHOST_GET_FEATURES:
		a->features = vs->features;
		*out_len = sizeof(a->features);
		return 0;
	case VHOST_SET_FEATURES:
		if (a->features & ~vs->features)
			return -EOPNOTSUPP;
		return vsng_dev_set_features(&vs->dev, a->features);
	case VHOST_GET_BACKEND_FEATURES:
		a->features = VSNG_BACKEND_FEATURES;
		*out_len = sizeof(a->features);
		return 0;
	case VHOST_SET_BACKEND_FEATURES:
		if (a->features & ~VSNG_BACKEND_FEATURES)
			return -EOPNOTSUPP;
		vs->dev.acked_backend_features = a->features;
		return 0;
	case VHOST_NEW_WORKER:
	case VHOST_FREE_WORKER:
	case VHOST_ATTACH_VRING_WORKER:
	case VHOST_GET_VRING_WORKER:
		return vsng_worker_ioctl(&vs->dev, ioctl, argp);
	case VHOST_SCSI_NG_GET_VQ_STATS:
		return vsng_stats_ioctl(&vs->dev, argp);
	default:
		/* SET_OWNER, memory table, log, rings. */
		r = vsng_dev_ioctl(&vs->dev, ioctl, argp);
		if (!r && ioctl == VHOST_SET_OWNER)
			vsng_wwpn_debugfs_add(vs);
		if (r == -ENOIOCTLCMD)
			r = vsng_vring_ioctl(&vs->dev, ioctl, argp);
		return r;
	}
}

static long vsng_ioctl(struct file *f, unsigned int ioctl, unsigned long arg)
{
	struct vsng_scsi *vs = f->private_data;
	void __user *argp = (void __user *)arg;
	union vsng_ioctl_arg a;
	size_t out_len;
	long r;

	r = vsng_ioctl_copy_in(ioctl, argp, &a);
	if (r)
		return r;

	/*
	 * Once owned, only the owner's mm may drive the device.  The check
	 * and the operation are one critical section: no SET_OWNER can come
	 * between them.
	 */
	mutex_lock(&vs->dev.mutex);
	if (ioctl != VHOST_SET_OWNER && vsng_dev_has_owner(&vs->dev))
		r = vsng_dev_check_owner(&vs->dev);
	if (!r)
		r = vsng_ioctl_locked(vs, ioctl, argp, &a, &out_len);
	mutex_unlock(&vs->dev.mutex);

	if (!r && out_len && copy_to_user(argp, &a, out_len))
		r = -EFAULT;
	return r;
}

static const struct file_operations vsng_fops = {
	.owner		= THIS_MODULE,
	.open		= vsng_open,
	.release	= vsng_release,
	.unlocked_ioctl	= vsng_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice vsng_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "vhost-scsi",		/* devname= */
	.fops	= &vsng_fops,
};

/* ---- module ------------------------------------------------------------ */

static bool vsng_path_exists(const char *fmt, const char *arg)
{
	struct path path;
	char *name;
	int ret;

	name = kasprintf(GFP_KERNEL, fmt, arg);
	if (!name)
		return false;
	ret = kern_path(name, 0, &path);
	kfree(name);
	if (ret)
		return false;
	path_put(&path);
	return true;
}

/*
 * LIO does not refuse a second fabric of the same name, and a second misc
 * device of the same name only fails after a sysfs warning: check first.
 */
static int vsng_check_clash(void)
{
	if (vsng_path_exists("/sys/class/misc/%s", vsng_devname)) {
		pr_err("vhost-scsi-ng: /dev/%s exists: the in-tree vhost_scsi module is loaded (unload it, or load vhost_scsi_ng with devname= and fabric=)\n",
		       vsng_devname);
		return -EEXIST;
	}
	if (!strcmp(vsng_fabric_name, "vhost") &&
	    vsng_path_exists("/sys/module/%s", "vhost_scsi")) {
		pr_err("vhost-scsi-ng: the in-tree vhost_scsi module is loaded and owns LIO fabric \"vhost\" (unload it, or load vhost_scsi_ng with fabric=)\n");
		return -EEXIST;
	}
	return 0;
}

static int __init vsng_init(void)
{
	int ret;

	if (!vsng_devname || !*vsng_devname || strchr(vsng_devname, '/') ||
	    !vsng_fabric_name || !*vsng_fabric_name ||
	    strchr(vsng_fabric_name, '/')) {
		pr_err("vhost-scsi-ng: invalid devname= or fabric=\n");
		return -EINVAL;
	}
	vsng_misc.name = vsng_devname;
	vsng_fabric_ops.fabric_name = vsng_fabric_name;

	ret = vsng_check_clash();
	if (ret)
		return ret;
	/* The device first: a clash with the in-tree module fails here. */
	ret = misc_register(&vsng_misc);
	if (ret) {
		if (ret == -EEXIST)
			pr_err("vhost-scsi-ng: /dev/%s exists: the in-tree vhost_scsi module is loaded\n",
			       vsng_devname);
		return ret;
	}
	ret = vsng_engine_init();
	if (ret)
		goto deregister;
	ret = target_register_template(&vsng_fabric_ops);
	if (ret)
		goto engine_exit;
	return 0;

engine_exit:
	vsng_engine_exit();
deregister:
	misc_deregister(&vsng_misc);
	return ret;
}

static void __exit vsng_exit(void)
{
	target_unregister_template(&vsng_fabric_ops);
	vsng_engine_exit();
	misc_deregister(&vsng_misc);
}

module_init(vsng_init);
module_exit(vsng_exit);

MODULE_DESCRIPTION("vhost-scsi-ng: vhost SCSI target (LIO fabric) with per-queue workers");
MODULE_VERSION(VSNG_VERSION);
MODULE_ALIAS("tcm_vhost");
MODULE_LICENSE("GPL");
