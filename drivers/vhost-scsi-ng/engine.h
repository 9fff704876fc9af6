/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-scsi-ng: declarations shared by the engine's own files only
 * (vq.c, mem.c, worker.c, notify.c, stats.c).  The SCSI side uses vq.h.
 */
#ifndef _VSNG_ENGINE_H
#define _VSNG_ENGINE_H

#include <linux/lockdep.h>
#include <linux/printk.h>
#include <linux/virtio_byteorder.h>
#include "vq.h"

#define VSNG_NAME	"vhost-scsi-ng"

/* Bytes of the split ring parts for @num entries, event words included. */
static inline size_t vsng_desc_size(unsigned int num)
{
	return sizeof(struct vring_desc) * num;
}

static inline size_t vsng_avail_size(unsigned int num)
{
	return sizeof(struct vring_avail) + sizeof(__virtio16) * num +
	       sizeof(__virtio16);
}

static inline size_t vsng_used_size(unsigned int num)
{
	return sizeof(struct vring_used) +
	       sizeof(struct vring_used_elem) * num + sizeof(__virtio16);
}

/* Ring byte order: little endian for VERSION_1, native for legacy. */
static inline bool vsng_is_le(struct vsng_vq *vq)
{
	return vsng_has_feature(vq, VIRTIO_F_VERSION_1) ||
	       virtio_legacy_is_little_endian();
}

static inline u16 vsng16_to_cpu(struct vsng_vq *vq, __virtio16 v)
{
	return __virtio16_to_cpu(vsng_is_le(vq), v);
}

static inline __virtio16 cpu_to_vsng16(struct vsng_vq *vq, u16 v)
{
	return __cpu_to_virtio16(vsng_is_le(vq), v);
}

static inline u32 vsng32_to_cpu(struct vsng_vq *vq, __virtio32 v)
{
	return __virtio32_to_cpu(vsng_is_le(vq), v);
}

static inline __virtio32 cpu_to_vsng32(struct vsng_vq *vq, u32 v)
{
	return __cpu_to_virtio32(vsng_is_le(vq), v);
}

static inline u64 vsng64_to_cpu(struct vsng_vq *vq, __virtio64 v)
{
	return __virtio64_to_cpu(vsng_is_le(vq), v);
}

/* The memory table as seen by a queue; vq->mutex (or dev->mutex) held. */
static inline struct vsng_memtable *vsng_vq_mem(struct vsng_vq *vq)
{
	return rcu_dereference_protected(vq->dev->mem,
					 lockdep_is_held(&vq->mutex) ||
					 lockdep_is_held(&vq->dev->mutex));
}

/* Take and release every vq->mutex once (see the lock comment in vq.h). */
void vsng_dev_cycle_vqs(struct vsng_dev *dev);

/* vq.c: pieces shared by the ring formats (ring_split.c, ring_packed.c) */
struct vsng_walk {
	const struct vsng_memtable *mt;
	struct vsng_chain *ch;
	unsigned int nr_iov;		/* out_num + in_num so far */
};

/*
 * Add one (already read and copied) descriptor's buffer to the chain: the
 * VRING_DESC_F_WRITE bit of @flags (same value in both formats) picks the
 * direction.  On error the queue is broken (vsng_vq_error).
 */
int vsng_walk_add(struct vsng_vq *vq, struct vsng_walk *w,
		  u64 addr, u32 len, u16 flags);

/*
 * The entry count of an indirect table of @len bytes at guest address
 * @table, entries of 16 bytes in both formats: at most @max, no empty or
 * partial table, no wrap.  Else -EINVAL with the queue broken.
 */
int vsng_indirect_count(struct vsng_vq *vq, u64 table, u32 len,
			unsigned int max);

/* Start a chain at @w (its iov/gpa arrays are the queue's). */
static inline void vsng_walk_start(struct vsng_vq *vq, struct vsng_walk *w,
				   struct vsng_chain *ch)
{
	w->ch = ch;
	w->nr_iov = 0;
	ch->out_num = 0;
	ch->in_num = 0;
	ch->out_len = 0;
	ch->in_len = 0;
	ch->iov = vq->iov;
	ch->gpa = vq->iov_gpa;
}

/* Write a 16-bit word of the used ring / device area, log it if asked. */
int vsng_put_used16(struct vsng_vq *vq, __virtio16 __user *p, u16 v);

/* Book-keeping after a used element was written (both formats). */
static inline void vsng_vq_used_added(struct vsng_vq *vq, u16 n)
{
	vq->pending_used += n;
	vq->inflight -= min_t(unsigned int, vq->inflight, n);
	vq->unsignalled += n;
	vq->stats.completions += n;
	vq->stats.used_elems++;
	if (vq->starved) {
		/* The handler ran out of resources; this frees some. */
		vq->starved = false;
		vsng_vq_kick(vq);
	}
}

/* After a flush published @n entries: signal policy, kick hold. */
void vsng_vq_flushed(struct vsng_vq *vq, u16 n);

/* mem.c */
const struct vsng_mem_region *vsng_mem_find(const struct vsng_memtable *mt,
					    u64 gpa);
int vsng_mem_translate(const struct vsng_memtable *mt, u64 gpa, u64 len,
		       struct iovec *iov, unsigned int iov_max);
int vsng_mem_read(const struct vsng_memtable *mt, u64 gpa, void *buf,
		  size_t len);
bool vsng_mem_log_access_ok(const struct vsng_memtable *mt,
			    void __user *log_base);
bool vsng_log_range_ok(void __user *log_base, u64 gpa, u64 len);
int vsng_log_gpa(struct vsng_vq *vq, u64 gpa, u64 len);
int vsng_log_used(struct vsng_vq *vq, u64 offset, u64 len);
int vsng_log_uaddr(struct vsng_vq *vq, u64 uaddr, u64 len);
long vsng_set_mem_table(struct vsng_dev *dev, void __user *argp);
long vsng_set_log_base(struct vsng_dev *dev, void __user *argp);
long vsng_set_log_fd(struct vsng_dev *dev, void __user *argp);
void vsng_mem_free(struct vsng_dev *dev);

/* worker.c */
void vsng_workers_init(struct vsng_dev *dev);
int vsng_workers_setup(struct vsng_dev *dev);
void vsng_workers_free(struct vsng_dev *dev);
void vsng_vq_worker_ensure(struct vsng_vq *vq);
bool vsng_worker_alive(struct vsng_vq *vq);
pid_t vsng_worker_tid(struct vsng_vq *vq);

/* notify.c */
void vsng_notify_init(struct vsng_vq *vq);
void vsng_notify_stop(struct vsng_vq *vq);
bool vsng_notify_after_flush(struct vsng_vq *vq);

/* stats.c */
void vsng_stats_dev_add(struct vsng_dev *dev);
void vsng_stats_dev_del(struct vsng_dev *dev);

#endif /* _VSNG_ENGINE_H */
