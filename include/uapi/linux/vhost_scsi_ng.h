/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vhost-scsi-ng: ABI we add on top of the vhost-scsi one.
 *
 * Everything here is optional for clients: QEMU and libvirt never use it.
 * The in-tree vhost_scsi answers these ioctls with -ENOTTY.
 */
#ifndef _UAPI_LINUX_VHOST_SCSI_NG_H
#define _UAPI_LINUX_VHOST_SCSI_NG_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/vhost.h>

/* Per-virtqueue counters, cumulative since the device was opened. */
struct vhost_scsi_ng_vq_stats {
	__u32 index;		/* in: virtqueue index */
	__u32 flags;		/* out: VHOST_SCSI_NG_VQ_* */
	__u64 requests;		/* chains taken from the avail ring */
	__u64 completions;	/* used entries added */
	__u64 used_idx_writes;	/* stores to used->idx */
	__u64 interrupts;	/* call eventfd signals */
	__u64 kicks;		/* kick eventfd wake-ups */
	__u64 poll_hits;	/* requests found by busy polling */
	__u64 errors;		/* malformed chains and faults */
	__u64 coalesced;	/* signals deferred by coalescing */
	__u64 inflight;		/* requests taken, not yet completed */
	__u64 busy;		/* answered BUSY (control queue: TMF flood) */
	__u64 used_elems;	/* used elements written (IN_ORDER: one a run) */
	__u64 reserved[5];
};

#define VHOST_SCSI_NG_VQ_BROKEN		(1U << 0)
#define VHOST_SCSI_NG_VQ_HAS_WORKER	(1U << 1)

#define VHOST_SCSI_NG_GET_VQ_STATS \
	_IOWR(VHOST_VIRTIO, 0xa0, struct vhost_scsi_ng_vq_stats)

#endif /* _UAPI_LINUX_VHOST_SCSI_NG_H */
