// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: the event queue.
 *
 * With VIRTIO_SCSI_F_HOTPLUG negotiated, linking a LUN into a TPG in
 * use sends TRANSPORT_RESET/RESCAN and unlinking it TRANSPORT_RESET/
 * REMOVED.  Events wait on vs->events until the event queue's worker
 * places them in guest buffers.  When more than VSNG_MAX_EVENT are
 * pending, an allocation fails or the guest has no buffer, the event is
 * lost and vs->events_missed is set; the next event delivered carries
 * VIRTIO_SCSI_T_EVENTS_MISSED.  Running out of buffers asks the guest for
 * a kick on its next one (avail_event with EVENT_IDX), and that kick
 * produces such an event at once.
 *
 * vs->events_nr and vs->events_missed are protected by the event
 * queue's vq->mutex.
 */
#include <linux/slab.h>
#include <linux/uio.h>

#include "vsng.h"

static struct vsng_vq *vsng_evt_vq(struct vsng_scsi *vs)
{
	return &vs->svqs[VSNG_VQ_EVT]->vq;
}

static void vsng_evt_free(struct vsng_scsi *vs, struct vsng_evt *evt)
{
	vs->events_nr--;
	kfree(evt);
}

/* Free every pending event; event vq->mutex held. */
static void vsng_evt_drop_locked(struct vsng_scsi *vs)
{
	struct vsng_evt *evt, *next;
	struct llist_node *list;

	list = llist_del_all(&vs->events);
	llist_for_each_entry_safe(evt, next, list, node)
		vsng_evt_free(vs, evt);
}

void vsng_evt_drop_all(struct vsng_scsi *vs)
{
	struct vsng_vq *vq = vsng_evt_vq(vs);

	mutex_lock(&vq->mutex);
	vsng_evt_drop_locked(vs);
	mutex_unlock(&vq->mutex);
}

/* Queue an event for the guest; event vq->mutex held. */
static void vsng_evt_queue(struct vsng_scsi *vs, struct vsng_tpg *tpg,
			   struct se_lun *lun, u32 event, u32 reason)
{
	struct vsng_vq *vq = vsng_evt_vq(vs);
	struct vsng_evt *evt;

	lockdep_assert_held(&vq->mutex);

	if (vs->events_nr > VSNG_MAX_EVENT) {
		vs->events_missed = true;
		return;
	}
	evt = kzalloc(sizeof(*evt), GFP_KERNEL);
	if (!evt) {
		vs->events_missed = true;
		return;
	}
	evt->event.event = vsng_cpu_to_v32(vq, event);
	evt->event.reason = vsng_cpu_to_v32(vq, reason);
	if (tpg && lun) {
		/* Same LUN encoding as requests; lun[4..7] stay zero. */
		evt->event.lun[0] = 1;
		evt->event.lun[1] = tpg->tpgt;
		if (lun->unpacked_lun >= 256)
			evt->event.lun[2] = lun->unpacked_lun >> 8 | 0x40;
		evt->event.lun[3] = lun->unpacked_lun & 0xff;
	}
	vs->events_nr++;

	llist_add(&evt->node, &vs->events);
	if (!vsng_vq_work_queue(vq, &vs->event_work))
		vsng_evt_drop_locked(vs);
}

/*
 * Next guest event buffer.  Out of buffers, the event will be lost, so
 * ask the guest to kick when it adds one (avail_event = the index we saw,
 * or the used flags without EVENT_IDX), then look once more.  Nothing
 * else on this queue disables kicks, so the pair always writes the ring.
 */
static int vsng_evt_pop(struct vsng_vq *vq, struct vsng_chain *ch)
{
	int r = vsng_vq_pop(vq, ch);

	if (r == 0) {
		vsng_vq_disable_notify(vq);
		if (vsng_vq_enable_notify(vq))
			r = vsng_vq_pop(vq, ch);
	}
	return r;
}

/* Place one event in a guest buffer; event vq->mutex held. */
static void vsng_evt_send(struct vsng_scsi *vs, struct vsng_evt *evt)
{
	struct vsng_vq *vq = vsng_evt_vq(vs);
	struct virtio_scsi_event *event = &evt->event;
	struct vsng_chain ch;

	if (!vq->private_data || !vsng_vq_is_setup(vq)) {
		vs->events_missed = true;
		return;
	}
	if (vsng_evt_pop(vq, &ch) <= 0) {
		vs->events_missed = true;
		return;
	}
	if (ch.in_len < sizeof(*event)) {
		/*
		 * As in-tree: the malformed buffer is not given back; with
		 * IN_ORDER it is (length 0), or every later event buffer
		 * would wait behind it for ever (inorder.c).
		 */
		if (vq->in_order)
			vsng_vq_add_used(vq, ch.head, 0);
		vq->stats.errors++;
		pr_err_ratelimited("vhost-scsi-ng: event buffer too small: %zu\n",
				   ch.in_len);
		vs->events_missed = true;
		return;
	}
	if (vs->events_missed) {
		event->event |= vsng_cpu_to_v32(vq, VIRTIO_SCSI_T_EVENTS_MISSED);
		vs->events_missed = false;
	}
	vsng_send_resp(vq, &ch, ch.head, event, sizeof(*event));
}

void vsng_evt_work(struct vsng_work *work)
{
	struct vsng_scsi *vs = container_of(work, struct vsng_scsi,
					    event_work);
	struct vsng_vq *vq = vsng_evt_vq(vs);
	struct vsng_evt *evt, *next;
	struct llist_node *list;

	mutex_lock(&vq->mutex);
	list = llist_del_all(&vs->events);
	list = llist_reverse_order(list);
	llist_for_each_entry_safe(evt, next, list, node) {
		vsng_evt_send(vs, evt);
		vsng_evt_free(vs, evt);
	}
	if (vq->private_data && vsng_vq_is_setup(vq))
		vsng_vq_flush_used(vq);
	mutex_unlock(&vq->mutex);
}

/* The guest added event buffers: report lost events now. */
void vsng_evt_handle_kick(struct vsng_work *work)
{
	struct vsng_vq *vq = container_of(work, struct vsng_vq, kick_work);
	struct vsng_scsi *vs = vsng_to_svq(vq)->vs;

	mutex_lock(&vq->mutex);
	if (vq->private_data && vs->events_missed)
		vsng_evt_queue(vs, NULL, NULL, VIRTIO_SCSI_T_NO_EVENT, 0);
	mutex_unlock(&vq->mutex);
}

/*
 * A LUN was linked into (@plug) or unlinked from @tpg.  configfs
 * context, tpg->mutex held (it keeps tpg->vs alive).
 */
void vsng_evt_hotplug(struct vsng_tpg *tpg, struct se_lun *lun, bool plug)
{
	struct vsng_scsi *vs = tpg->vs;
	struct vsng_vq *vq;

	lockdep_assert_held(&tpg->mutex);
	if (!vs)
		return;
	vq = vsng_evt_vq(vs);
	mutex_lock(&vq->mutex);
	/* No backend: a flush may already have run; queue nothing. */
	if (vq->private_data && vsng_has_feature(vq, VIRTIO_SCSI_F_HOTPLUG))
		vsng_evt_queue(vs, tpg, lun, VIRTIO_SCSI_T_TRANSPORT_RESET,
			       plug ? VIRTIO_SCSI_EVT_RESET_RESCAN :
				      VIRTIO_SCSI_EVT_RESET_REMOVED);
	mutex_unlock(&vq->mutex);
}
