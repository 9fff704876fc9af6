// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: per-queue command pools and in-flight accounting.
 *
 * Each I/O queue gets a pool of commands as large as its ring when the
 * endpoint is set; a correct guest can never have more requests
 * outstanding than ring entries, so an empty pool means a misbehaving
 * guest and is answered with TASK SET FULL.  Free commands sit on a
 * lock-free list: only the queue's worker takes from it (under
 * vq->mutex), anyone may give back.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "vsng.h"

int vsng_cmd_pool_create(struct vsng_svq *svq, unsigned int num)
{
	unsigned int i;

	if (svq->cmds)
		return 0;

	svq->pin_pages = kcalloc(VSNG_PIN_BATCH, sizeof(*svq->pin_pages),
				 GFP_KERNEL);
	if (!svq->pin_pages)
		return -ENOMEM;

	svq->cmds = kvcalloc(num, sizeof(*svq->cmds), GFP_KERNEL);
	if (!svq->cmds) {
		kfree(svq->pin_pages);
		svq->pin_pages = NULL;
		return -ENOMEM;
	}
	svq->max_cmds = num;
	init_llist_head(&svq->free);
	for (i = 0; i < num; i++) {
		svq->cmds[i].svq = svq;
		seqcount_init(&svq->cmds[i].lio_seq);
		llist_add(&svq->cmds[i].node, &svq->free);
	}
	return 0;
}

/* Only with the backend stopped and svq->inflight at zero. */
void vsng_cmd_pool_destroy(struct vsng_svq *svq)
{
	unsigned int i;

	if (!svq->cmds)
		return;
	WARN_ON(atomic_read(&svq->inflight));
	for (i = 0; i < svq->max_cmds; i++) {
		kfree(svq->cmds[i].big_sgl);
		kfree(svq->cmds[i].big_iov);
		kfree(svq->cmds[i].big_gpa);
	}
	kvfree(svq->cmds);
	svq->cmds = NULL;
	svq->max_cmds = 0;
	init_llist_head(&svq->free);
	kfree(svq->pin_pages);
	svq->pin_pages = NULL;
}

void vsng_inflight_get(struct vsng_svq *svq)
{
	atomic_inc(&svq->inflight);
}

void vsng_inflight_put(struct vsng_svq *svq)
{
	struct vsng_scsi *vs = svq->vs;

	/* Full barrier in atomic_dec_and_test pairs with wait_event(). */
	if (atomic_dec_and_test(&svq->inflight) &&
	    wq_has_sleeper(&vs->inflight_wq))
		wake_up(&vs->inflight_wq);
}

/*
 * Take a command from the pool, zeroed and counted in flight.  Worker
 * context, vq->mutex held (the single consumer of svq->free).
 */
struct vsng_cmd *vsng_cmd_get(struct vsng_svq *svq)
{
	struct llist_node *node;
	struct vsng_cmd *cmd;

	lockdep_assert_held(&svq->vq.mutex);

	if (!svq->cmds)
		return NULL;
	node = llist_del_first(&svq->free);
	if (!node)
		return NULL;
	cmd = llist_entry(node, struct vsng_cmd, node);

	memset(&cmd->se_cmd, 0, sizeof(cmd->se_cmd));
	cmd->flags = 0;
	cmd->dir = DMA_NONE;
	cmd->data_len = 0;
	cmd->sgl = cmd->inline_sgl;
	cmd->sgl_count = 0;
	cmd->prot_sgl = NULL;
	cmd->prot_sgl_count = 0;
	cmd->in_iov = cmd->inline_iov;
	cmd->in_gpa = cmd->inline_gpa;
	cmd->in_cnt = 0;
	cmd->in_len = 0;
	cmd->prot_len = 0;
	vsng_inflight_get(svq);
	return cmd;
}

/*
 * Give back everything a command holds: pinned or bounce pages, the
 * scatterlists and iovecs allocated for it, its pool slot and its
 * in-flight count.  Any context.
 */
void vsng_cmd_release(struct vsng_cmd *cmd)
{
	struct vsng_svq *svq = cmd->svq;
	unsigned int i;

	for (i = 0; i < cmd->sgl_count; i++) {
		if (cmd->flags & VSNG_CMD_BOUNCE)
			__free_page(sg_page(&cmd->sgl[i]));
		else
			put_page(sg_page(&cmd->sgl[i]));
	}
	cmd->sgl = cmd->inline_sgl;
	cmd->sgl_count = 0;

	/* PI is always in bounce pages (vsng_map_prot()) */
	for (i = 0; i < cmd->prot_sgl_count; i++)
		__free_page(sg_page(&cmd->prot_sgl[i]));
	kfree(cmd->prot_sgl);
	cmd->prot_sgl = NULL;
	cmd->prot_sgl_count = 0;

	cmd->in_iov = cmd->inline_iov;
	cmd->in_gpa = cmd->inline_gpa;

	llist_add(&cmd->node, &svq->free);
	vsng_inflight_put(svq);
}

/*
 * Enter @cmd in the in-flight table as LIO's, for @tpg's nexus, LUN
 * @lun, tag @tag: the owner of the command, before handing it to LIO.
 */
void vsng_cmd_lio_enter(struct vsng_cmd *cmd, struct vsng_tpg *tpg, u16 lun,
			u64 tag)
{
	raw_write_seqcount_begin(&cmd->lio_seq);
	cmd->lio_tpg = tpg;
	cmd->lio_lun = lun;
	cmd->lio_tag = tag;
	WRITE_ONCE(cmd->lio_abort, VSNG_IN_LIO);
	raw_write_seqcount_end(&cmd->lio_seq);
}

/*
 * LIO let go of @cmd (its release, any context).  Returns the ABORT TASK
 * SET that marked it, if one did: the caller answers it aborted and then
 * drops the mark (vsng_tmf_mark_put()).
 */
struct vsng_tmf *vsng_cmd_lio_leave(struct vsng_cmd *cmd)
{
	struct vsng_tmf *by;

	raw_write_seqcount_begin(&cmd->lio_seq);
	by = xchg(&cmd->lio_abort, NULL);
	raw_write_seqcount_end(&cmd->lio_seq);
	return by == VSNG_IN_LIO ? NULL : by;
}

/*
 * Read @cmd's table entry: a lockless snapshot.  False when LIO does not
 * have the command, or when the entry is being written while we look
 * (its command is entering or leaving LIO right now, concurrently with
 * the TMF that asks: absent is as true as present).
 */
static bool vsng_cmd_lio_read(struct vsng_cmd *cmd, struct vsng_tpg **tpg,
			      u16 *lun, u64 *tag, struct vsng_tmf **abort)
{
	unsigned int seq = raw_seqcount_begin(&cmd->lio_seq);

	*abort = READ_ONCE(cmd->lio_abort);
	*tpg = READ_ONCE(cmd->lio_tpg);
	*lun = READ_ONCE(cmd->lio_lun);
	*tag = READ_ONCE(cmd->lio_tag);
	return !read_seqcount_retry(&cmd->lio_seq, seq) && *abort;
}

/*
 * Does @cmd stand in the in-flight table for @tpg and @lun (and @tag
 * unless @any_tag)?  The tag seen goes to @tag, and to @marked (unless
 * NULL) whether an ABORT TASK SET marked it.
 */
bool vsng_cmd_lio_match(struct vsng_cmd *cmd, struct vsng_tpg *tpg, u16 lun,
			bool any_tag, u64 *tag, bool *marked)
{
	struct vsng_tmf *abort;
	struct vsng_tpg *t;
	u64 g;
	u16 l;

	if (!vsng_cmd_lio_read(cmd, &t, &l, &g, &abort))
		return false;
	if (t != tpg || l != lun || (!any_tag && g != *tag))
		return false;
	*tag = g;
	if (marked)
		*marked = abort != VSNG_IN_LIO;
	return true;
}

/*
 * Mark @cmd, if LIO has it for @tpg and @lun and no TMF marked it yet,
 * as aborted by @tmf.  The caller counted the mark in tmf->marks first
 * (LIO may release the command at once) and gives it back when this
 * fails.  Should the slot have been given to a new command between the
 * look and the mark, that command is marked instead: it is in LIO too,
 * so its release still comes and drops the mark.
 */
bool vsng_cmd_lio_mark(struct vsng_cmd *cmd, struct vsng_tpg *tpg, u16 lun,
		       struct vsng_tmf *tmf)
{
	u64 tag;

	if (!vsng_cmd_lio_match(cmd, tpg, lun, true, &tag, NULL))
		return false;
	return cmpxchg(&cmd->lio_abort, VSNG_IN_LIO, tmf) == VSNG_IN_LIO;
}

/* Is @cmd still in LIO with @tmf's mark?  Its tag goes to @tag. */
bool vsng_cmd_lio_marked(struct vsng_cmd *cmd, struct vsng_tmf *tmf,
			 u64 *tag)
{
	struct vsng_tmf *abort;
	struct vsng_tpg *t;
	u16 l;

	return vsng_cmd_lio_read(cmd, &t, &l, tag, &abort) && abort == tmf;
}

static bool vsng_scsi_idle(struct vsng_scsi *vs)
{
	int i;

	for (i = 0; i < vs->nvqs; i++)
		if (atomic_read(&vs->svqs[i]->inflight))
			return false;
	return true;
}

/*
 * Wait for every command and TMF of the device to be released, then for
 * the workers to finish what those completions queued.  The caller has
 * stopped every backend, so nothing new can start.
 */
void vsng_scsi_drain(struct vsng_scsi *vs)
{
	vsng_dev_flush(&vs->dev);
	wait_event(vs->inflight_wq, vsng_scsi_idle(vs));
	vsng_dev_flush(&vs->dev);
}
