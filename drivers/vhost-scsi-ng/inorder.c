// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: VIRTIO_F_IN_ORDER ("In-order use of descriptors", virtio
 * 1.1+ for split and packed rings).
 *
 * With IN_ORDER the device must use buffers in the order they were made
 * available, but LIO completes commands in any order (several LUNs, each
 * backend its own speed).  So the queue keeps its own record of the pop
 * order (io_order[], a ring of at most vq->num heads: at most that many
 * buffers can be in flight) and a per-head count of completions not yet
 * published (io_done[]).  A completion only marks its head; the flush
 * publishes the run of completed heads at the front of the record, as one
 * used element, which the spec allows for a batch:
 *
 *   split:  one used ring entry with the id of the last buffer of the run,
 *           used->idx advanced by the length of the run;
 *   packed: one used descriptor with the buffer ID of the last buffer,
 *           the used index advanced by the descriptors of the whole run.
 *
 * vhost-scsi writes len 0 in every used element (the response carries the
 * residual), so nothing the driver reads is lost by skipping the others.
 *
 * The record is ours: nothing is read back from the ring.  A guest that
 * made the same split head available twice while it was in flight only
 * gets its own buffers confused; the counts keep the record consistent
 * and every loop here is bounded by vq->num.
 *
 * All functions run with vq->mutex held (they are called from the
 * dispatchers of ring.h).
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <kunit/visibility.h>
#include "compat.h"
#include "engine.h"

void vsng_inorder_free(struct vsng_vq *vq)
{
	kvfree(vq->io_order);
	kvfree(vq->io_done);
	kvfree(vq->io_len);
	vq->io_order = NULL;
	vq->io_done = NULL;
	vq->io_len = NULL;
	vq->io_num = 0;
	vq->io_first = 0;
	vq->io_count = 0;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_inorder_free);

/* Backend start: an empty record for a ring of vq->num entries. */
int vsng_inorder_init(struct vsng_vq *vq)
{
	unsigned int num = vq->num;

	lockdep_assert_held(&vq->mutex);
	vq->io_first = 0;
	vq->io_count = 0;
	if (!vq->in_order) {
		vsng_inorder_free(vq);
		return 0;
	}
	if (vq->io_num != num) {
		vsng_inorder_free(vq);
		vq->io_order = kvcalloc(num, sizeof(*vq->io_order),
					GFP_KERNEL_ACCOUNT);
		vq->io_done = kvcalloc(num, sizeof(*vq->io_done),
				       GFP_KERNEL_ACCOUNT);
		vq->io_len = kvcalloc(num, sizeof(*vq->io_len),
				      GFP_KERNEL_ACCOUNT);
		if (!vq->io_order || !vq->io_done || !vq->io_len) {
			vsng_inorder_free(vq);
			return -ENOMEM;
		}
		vq->io_num = num;
	} else {
		memset(vq->io_done, 0, num * sizeof(*vq->io_done));
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_inorder_init);

/* A chain with head (buffer ID) @head was popped: append it. */
int vsng_inorder_popped(struct vsng_vq *vq, u16 head)
{
	unsigned int slot;

	lockdep_assert_held(&vq->mutex);
	if (unlikely(!vq->io_num || head >= vq->io_num ||
		     vq->io_count >= vq->io_num)) {
		vsng_vq_error(vq, "in-order: more than %u buffers in flight",
			      vq->io_num);
		return -EIO;
	}
	slot = vq->io_first + vq->io_count;
	if (slot >= vq->io_num)
		slot -= vq->io_num;
	vq->io_order[slot] = head;
	vq->io_count++;
	return 1;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_inorder_popped);

/* The last @n pops were put back (vsng_vq_unpop()). */
void vsng_inorder_unpop(struct vsng_vq *vq, int n)
{
	lockdep_assert_held(&vq->mutex);
	if (WARN_ON_ONCE(n < 0 || n > vq->io_count))
		return;
	vq->io_count -= n;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_inorder_unpop);

/* The command of @head completed: mark it, publish at the next flush. */
int vsng_inorder_done(struct vsng_vq *vq, u16 head, u32 len)
{
	lockdep_assert_held(&vq->mutex);
	if (unlikely(vq->broken))
		return -EIO;
	if (unlikely(head >= vq->io_num ||
		     vq->io_done[head] >= vq->io_count)) {
		vsng_vq_error(vq, "in-order: head %u is not in flight", head);
		return -EINVAL;
	}
	vq->io_done[head]++;
	vq->io_len[head] = len;
	if (vq->starved) {
		/* The handler ran out of resources; this freed some. */
		vq->starved = false;
		vsng_vq_kick(vq);
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_inorder_done);

/*
 * Write one used element for the run of completed buffers at the front of
 * the pop order (nothing if the oldest buffer is still in flight).  The
 * caller (the flush dispatcher) publishes it right after.
 */
void vsng_inorder_publish(struct vsng_vq *vq)
{
	unsigned int run = 0, slot = vq->io_first, descs = 0, n;
	u16 head, last = 0;

	lockdep_assert_held(&vq->mutex);
	if (unlikely(vq->broken) || !vq->io_count)
		return;
	while (run < vq->io_count) {
		head = vq->io_order[slot];
		if (!vq->io_done[head])
			break;
		if (run && vq->packed) {
			/* A skipped buffer: its descriptors still count. */
			n = vsng_packed_take_descs(vq, last);
			if (!n)
				return;
			descs += n;
		}
		vq->io_done[head]--;
		last = head;
		run++;
		if (++slot == vq->io_num)
			slot = 0;
	}
	if (!run)
		return;
	vq->io_first = slot;
	vq->io_count -= run;
	if (vq->packed)
		vsng_packed_add_used_run(vq, last, vq->io_len[last], run, descs);
	else
		vsng_split_add_used_run(vq, last, vq->io_len[last], run);
}
EXPORT_SYMBOL_IF_KUNIT(vsng_inorder_publish);
