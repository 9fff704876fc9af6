// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: the control queue - task management and asynchronous
 * notification requests.
 *
 * What each virtio-scsi TMF gets (Documentation/design.md, "Task
 * management"):
 *   ABORT TASK, LOGICAL UNIT RESET  one LIO TMR (target_submit_tmr()).
 *   ABORT TASK SET                  every command of the I_T_L nexus in
 *                                   the in-flight table is marked (and
 *                                   answered ABORTED when LIO releases
 *                                   it), then an LIO ABORT TASK for each
 *                                   marked one still there, in turn.
 *   I_T NEXUS RESET                 an LIO LUN RESET for each LUN the
 *                                   nexus reaches (its node ACL's mapped
 *                                   LUNs), lowest first.
 *   QUERY TASK, QUERY TASK SET      answered at once from the in-flight
 *                                   table (vsng_cmd.in_lio): FUNCTION
 *                                   SUCCEEDED when there, FUNCTION
 *                                   COMPLETE when not.
 *   CLEAR ACA, CLEAR TASK SET,      FUNCTION REJECTED: no ACA (NACA is
 *   anything else                   never set by LIO), and clearing other
 *                                   nexuses' tasks is not a guest's call.
 * AN query/subscribe: S_OK with no events (none is supported) for a
 * target that exists, BAD_TARGET otherwise.
 *
 * A TMF's life: parsed on the control queue's worker -> (over the cap on
 * TMFs in flight, or an ABORT TASK over the abort rate: answered BUSY at
 * once) -> LIO -> LIO's last reference calls vsng_tmf_release() -> for a
 * series, step_work on the control queue's worker hands LIO the next
 * step (the se_cmd is zeroed and used again); a series answers once its
 * last step and every command it marked are done (tmf->marks) -> hop_work
 * visits the worker of every request queue in turn, so that the
 * responses of the commands the TMF aborted (queued on those workers
 * before the release) reach the guest first -> resp_work on the control
 * queue's worker writes the TMF response.  Nothing blocks and nothing
 * runs on the system workqueue.  A series holds one slot of the cap for
 * all its steps.
 *
 * Why BUSY: a guest can loop ABORT TASK, and LIO logs one line per ABORT
 * TASK it is handed (core_tmr_abort_task(), printk without a ratelimit),
 * and each TMF held costs memory.  virtio-scsi's VIRTIO_SCSI_S_BUSY
 * ("the request failed because the target is busy; it may be retried")
 * is the one answer that promises nothing about the task: a Linux guest
 * treats it as a failed abort and escalates (LUN RESET), as it does for
 * FUNCTION_REJECTED.  Each ABORT TASK of an ABORT TASK SET takes its
 * share of the same abort rate; over it, LIO is not asked any more and
 * the marks alone end the set's tasks (as each finishes in the backend).
 */
#include <linux/slab.h>
#include <linux/uio.h>
#include <target/target_core_fabric.h>

#include "vsng.h"

static void vsng_tmf_free(struct vsng_tmf *tmf)
{
	struct vsng_svq *svq = tmf->svq;

	if (tmf->resets)
		atomic_dec(&svq->vs->resetting);
	kfree(tmf);
	atomic_dec(&svq->vs->tmf_inflight);
	vsng_inflight_put(svq);
}

static void vsng_tmf_resp_work(struct vsng_work *work)
{
	struct vsng_tmf *tmf = container_of(work, struct vsng_tmf, resp_work);
	struct vsng_vq *vq = &tmf->svq->vq;
	struct virtio_scsi_ctrl_tmf_resp rsp = { .response = tmf->response };

	mutex_lock(&vq->mutex);
	/* IN_ORDER: used even unanswered, or later buffers wait for ever. */
	if (!vsng_write_resp(vq, tmf->in_iov, tmf->in_gpa, tmf->in_cnt, &rsp,
			     sizeof(rsp)) || vq->in_order)
		vsng_vq_add_used(vq, tmf->head, 0);
	vsng_vq_flush_used(vq);
	mutex_unlock(&vq->mutex);

	vsng_tmf_free(tmf);
}

/*
 * Queue hop_work on the next request queue that has a worker, or, past
 * the last one, the response on the control queue.  Each request queue's
 * worker runs its work in order, so when hop_work has run there, every
 * completion queued on it before the TMF's release has run too.  Any
 * context; one step at a time, so tmf->hop needs no lock.
 */
static void vsng_tmf_next_hop(struct vsng_tmf *tmf)
{
	struct vsng_scsi *vs = tmf->svq->vs;
	struct vsng_vq *vq;
	const void *w;

	while (tmf->hop < vs->nvqs) {
		vq = &vs->svqs[tmf->hop++]->vq;
		/*
		 * Queues that share the worker of the previous hop were
		 * passed with it (the default worker runs every queue
		 * without one of its own).  The pointer is only compared.
		 */
		rcu_read_lock();
		w = rcu_dereference(vq->worker);
		rcu_read_unlock();
		if (w && w == tmf->last_worker)
			continue;
		tmf->last_worker = w;
		if (vsng_vq_work_queue(vq, &tmf->hop_work))
			return;
	}
	if (!vsng_vq_work_queue(&tmf->svq->vq, &tmf->resp_work))
		vsng_tmf_free(tmf);
}

static void vsng_tmf_hop_work(struct vsng_work *work)
{
	vsng_tmf_next_hop(container_of(work, struct vsng_tmf, hop_work));
}

/* Answer with tmf->response once every earlier completion is out. */
static void vsng_tmf_finish(struct vsng_tmf *tmf)
{
	tmf->hop = VSNG_VQ_IO;
	tmf->last_worker = NULL;
	vsng_tmf_next_hop(tmf);
}

/* A TMF done as a series of LIO TMRs, one per step. */
static bool vsng_tmf_is_series(u32 subtype)
{
	return subtype == VIRTIO_SCSI_T_TMF_ABORT_TASK_SET ||
	       subtype == VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET;
}

/* LIO released the TMF (any context). */
void vsng_tmf_release(struct se_cmd *se_cmd)
{
	struct vsng_tmf *tmf = container_of(se_cmd, struct vsng_tmf, se_cmd);

	if (vsng_tmf_is_series(tmf->subtype)) {
		/*
		 * The next step needs process context: the control worker.
		 * Without one, the series ends here; commands may still hold
		 * its marks, so its own mark goes, and the last one frees it.
		 */
		if (!vsng_vq_work_queue(&tmf->svq->vq, &tmf->step_work)) {
			tmf->response = VIRTIO_SCSI_S_FUNCTION_REJECTED;
			vsng_tmf_mark_put(tmf);
		}
		return;
	}
	vsng_tmf_finish(tmf);
}

/* LIO's answer to the TMF; turned into a virtio-scsi response code. */
void vsng_tmf_queue_rsp(struct se_cmd *se_cmd)
{
	struct vsng_tmf *tmf = container_of(se_cmd, struct vsng_tmf, se_cmd);
	u8 lio = se_cmd->se_tmr_req->response;

	switch (tmf->subtype) {
	case VIRTIO_SCSI_T_TMF_ABORT_TASK:
		/* Aborted, or no longer there to abort: both are done. */
		if (lio == TMR_FUNCTION_COMPLETE ||
		    lio == TMR_TASK_DOES_NOT_EXIST)
			tmf->response = VSNG_S_FUNCTION_COMPLETE;
		else
			tmf->response = VIRTIO_SCSI_S_FUNCTION_REJECTED;
		break;
	case VIRTIO_SCSI_T_TMF_ABORT_TASK_SET:
		/* A task that finished meanwhile needs no abort. */
		tmf->step_ok = lio == TMR_FUNCTION_COMPLETE ||
			       lio == TMR_TASK_DOES_NOT_EXIST;
		break;
	case VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET:
		/* Nor a LUN unlinked meanwhile a reset. */
		tmf->step_ok = lio == TMR_FUNCTION_COMPLETE ||
			       lio == TMR_LUN_DOES_NOT_EXIST;
		break;
	default:
		/* LOGICAL UNIT RESET: SUCCEEDED, as in-tree answers it. */
		tmf->response = lio == TMR_FUNCTION_COMPLETE ?
				VIRTIO_SCSI_S_FUNCTION_SUCCEEDED :
				VIRTIO_SCSI_S_FUNCTION_REJECTED;
		break;
	}
	transport_generic_free_cmd(se_cmd, 0);
}

static void vsng_tmf_answer(struct vsng_vq *vq, struct vsng_chain *ch,
			    u8 response)
{
	struct virtio_scsi_ctrl_tmf_resp rsp = { .response = response };

	vsng_send_resp(vq, ch, ch->head, &rsp, sizeof(rsp));
}

/* One warning for the whole module per minute, however many guests flood. */
static struct ratelimit_state vsng_tmf_busy_rs =
	RATELIMIT_STATE_INIT_FLAGS(vsng_tmf_busy_rs, 60 * HZ, 1,
				   RATELIMIT_MSG_ON_RELEASE);

static void vsng_tmf_busy_count(struct vsng_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	vq->stats.busy++;
	if (__ratelimit(&vsng_tmf_busy_rs))
		pr_warn("vhost-scsi-ng: task management flood from a guest (pid %d): answering BUSY; see the control queue's busy count\n",
			task_tgid_nr(current));
}

/*
 * May the control queue hand this TMF to LIO?  Takes a slot of
 * vs->tmf_inflight when it may (vsng_tmf_free() gives it back).
 */
static bool vsng_tmf_admit(struct vsng_vq *vq, struct vsng_scsi *vs,
			   unsigned char tm_type)
{
	if (atomic_inc_return(&vs->tmf_inflight) > VSNG_TMF_MAX_INFLIGHT)
		goto busy;
	if (tm_type == TMR_ABORT_TASK && !__ratelimit(&vs->abort_rs))
		goto busy;
	return true;

busy:
	atomic_dec(&vs->tmf_inflight);
	vsng_tmf_busy_count(vq);
	return false;
}

/*
 * Is there a command of @tpg's nexus on LUN @lun (with tag @tag unless
 * @any_tag; one an ABORT TASK SET marked, if @marked) in the in-flight
 * table?  The control queue's worker, with the endpoint set or a TMF of
 * the device in flight, so the command pools stay (they go only once
 * every queue is idle).
 */
static bool vsng_tmf_task_present(struct vsng_scsi *vs, struct vsng_tpg *tpg,
				  u16 lun, bool any_tag, u64 tag, bool marked)
{
	struct vsng_svq *svq;
	unsigned int i;
	bool m;
	int q;

	for (q = VSNG_VQ_IO; q < vs->nvqs; q++) {
		svq = vs->svqs[q];
		for (i = 0; svq->cmds && i < svq->max_cmds; i++)
			if (vsng_cmd_lio_match(&svq->cmds[i], tpg, lun, any_tag,
					       &tag, &m) && (m || !marked))
				return true;
	}
	return false;
}

/*
 * ABORT TASK SET, first: mark every command of the I_T_L nexus in the
 * in-flight table.  Whatever becomes of it in LIO, a marked command is
 * answered ABORTED, and the TMF only once each is (tmf->marks).  LIO
 * carries out one TMR at a time per device and an ABORT TASK waits for
 * its task to finish in the backend, so ABORT TASKs alone, one after
 * the other, would let the later tasks of the set complete meanwhile.
 */
static void vsng_tmf_mark_set(struct vsng_tmf *tmf)
{
	struct vsng_scsi *vs = tmf->svq->vs;
	struct vsng_svq *svq;
	unsigned int i;
	int q;

	for (q = VSNG_VQ_IO; q < vs->nvqs; q++) {
		svq = vs->svqs[q];
		for (i = 0; svq->cmds && i < svq->max_cmds; i++) {
			/* Counted first: LIO may release it at once. */
			atomic_inc(&tmf->marks);
			if (!vsng_cmd_lio_mark(&svq->cmds[i], tmf->tpg,
					       tmf->lun, tmf))
				atomic_dec(&tmf->marks);	/* > 0: ours */
		}
	}
}

/*
 * ABORT TASK SET, then: the tag of the next command still in LIO with
 * our mark, from where the previous step stopped, for an LIO ABORT TASK
 * (it stops what LIO has not started yet).  One pass over the pools.
 */
static bool vsng_tmf_next_marked(struct vsng_tmf *tmf, u64 *tag)
{
	struct vsng_scsi *vs = tmf->svq->vs;
	struct vsng_svq *svq;
	struct vsng_cmd *cmd;

	for (; tmf->scan_vq < vs->nvqs; tmf->scan_vq++, tmf->scan_slot = 0) {
		svq = vs->svqs[tmf->scan_vq];
		while (svq->cmds && tmf->scan_slot < svq->max_cmds) {
			cmd = &svq->cmds[tmf->scan_slot++];
			if (vsng_cmd_lio_marked(cmd, tmf, tag))
				return true;
		}
	}
	return false;
}

/*
 * I_T NEXUS RESET: the lowest LUN the nexus reaches not reset yet.  These
 * are the LUNs of the session's node ACL, in its numbers (what LIO's LUN
 * RESET looks up), not the TPG's: with an explicit ACL they differ.
 */
static bool vsng_tmf_next_lun(struct vsng_tmf *tmf,
			      struct vsng_nexus *nexus, u64 *lun)
{
	if (tmf->luns_done || !vsng_nexus_next_lun(nexus, tmf->next_lun, lun))
		return false;
	if (*lun == U64_MAX)
		tmf->luns_done = true;
	else
		tmf->next_lun = *lun + 1;
	return true;
}

/* A mark given back; the last one answers the series. Any context. */
void vsng_tmf_mark_put(struct vsng_tmf *tmf)
{
	if (atomic_dec_and_test(&tmf->marks))
		vsng_tmf_finish(tmf);
}

/*
 * Hand LIO the next step of a series (ABORT TASK SET, I_T NEXUS RESET),
 * or end the series when none is left.  The control queue's worker,
 * vq->mutex held.  The TPG and its nexus stay while the TMF is in
 * flight (the endpoint is cleared only once every TMF is freed, and a
 * nexus in use cannot be dropped).
 */
static void vsng_tmf_step(struct vsng_tmf *tmf)
{
	struct vsng_vq *vq = &tmf->svq->vq;
	struct vsng_scsi *vs = tmf->svq->vs;
	struct vsng_nexus *nexus = READ_ONCE(tmf->tpg->nexus);
	unsigned char tm_type;
	u64 lun, tag = 0;

	lockdep_assert_held(&vq->mutex);
	if (!nexus || !nexus->se_sess)
		goto reject;
	if (tmf->subtype == VIRTIO_SCSI_T_TMF_ABORT_TASK_SET) {
		/*
		 * Over the abort rate, LIO is not asked (it would log a line
		 * for each): the marks alone end the tasks, once they finish.
		 */
		if (!vsng_tmf_next_marked(tmf, &tag) ||
		    !__ratelimit(&vs->abort_rs))
			goto end;
		tm_type = TMR_ABORT_TASK;
		lun = tmf->lun;
	} else {
		if (!vsng_tmf_next_lun(tmf, nexus, &lun)) {
			tmf->response = VSNG_S_FUNCTION_COMPLETE;
			goto end;
		}
		tm_type = TMR_LUN_RESET;
	}

	/* LIO is done with the previous step: the se_cmd is free again. */
	memset(&tmf->se_cmd, 0, sizeof(tmf->se_cmd));
	tmf->step_ok = false;	/* until LIO answers (an aborted TMR never does) */
	if (target_submit_tmr(&tmf->se_cmd, nexus->se_sess, NULL, lun, NULL,
			      tm_type, GFP_KERNEL, tag,
			      TARGET_SCF_ACK_KREF) < 0)
		goto reject;
	return;

reject:
	tmf->response = VIRTIO_SCSI_S_FUNCTION_REJECTED;
end:
	vsng_tmf_mark_put(tmf);
}

static void vsng_tmf_step_work(struct vsng_work *work)
{
	struct vsng_tmf *tmf = container_of(work, struct vsng_tmf, step_work);
	struct vsng_vq *vq = &tmf->svq->vq;

	mutex_lock(&vq->mutex);
	/* ABORT TASK SET's ABORT TASKs only help: their answer is not its. */
	if (tmf->step_ok || tmf->subtype == VIRTIO_SCSI_T_TMF_ABORT_TASK_SET) {
		vsng_tmf_step(tmf);
	} else {
		tmf->response = VIRTIO_SCSI_S_FUNCTION_REJECTED;
		vsng_tmf_mark_put(tmf);
	}
	mutex_unlock(&vq->mutex);
}

/* QUERY TASK, QUERY TASK SET: our own table, no LIO. */
static void vsng_tmf_query(struct vsng_vq *vq, struct vsng_chain *ch,
			   struct vsng_tpg *tpg, u32 subtype, u16 lun, u64 tag)
{
	bool any = subtype == VIRTIO_SCSI_T_TMF_QUERY_TASK_SET;

	vsng_tmf_answer(vq, ch,
			vsng_tmf_task_present(vsng_to_svq(vq)->vs, tpg, lun,
					      any, tag, false) ?
			VIRTIO_SCSI_S_FUNCTION_SUCCEEDED :
			VSNG_S_FUNCTION_COMPLETE);
}

static void vsng_tmf_handle(struct vsng_vq *vq, struct vsng_chain *ch,
			    struct vsng_tpg *tpg,
			    const struct virtio_scsi_ctrl_tmf_req *req)
{
	u32 subtype = vsng_v32_to_cpu(vq, req->subtype);
	u64 tag = vsng_v64_to_cpu(vq, req->tag);
	u16 lun = vsng_lun_decode(req->lun);
	struct vsng_svq *svq = vsng_to_svq(vq);
	struct vsng_nexus *nexus;
	struct vsng_tmf *tmf;
	unsigned char tm_type = 0;

	switch (subtype) {
	case VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET:
		tm_type = TMR_LUN_RESET;
		break;
	case VIRTIO_SCSI_T_TMF_ABORT_TASK:
		tm_type = TMR_ABORT_TASK;
		break;
	case VIRTIO_SCSI_T_TMF_ABORT_TASK_SET:
	case VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET:
		break;
	case VIRTIO_SCSI_T_TMF_QUERY_TASK:
	case VIRTIO_SCSI_T_TMF_QUERY_TASK_SET:
		vsng_tmf_query(vq, ch, tpg, subtype, lun, tag);
		return;
	default:
		/* CLEAR ACA, CLEAR TASK SET and unknown subtypes. */
		goto reject;
	}

	nexus = READ_ONCE(tpg->nexus);
	if (!nexus || !nexus->se_sess)
		goto reject;

	/*
	 * An ABORT TASK SET of this I_T_L still waits for tasks it marked
	 * (a guest retrying one that timed out): a second one would find
	 * them marked, mark nothing and answer at once, while they still
	 * run.  BUSY: retry later, or escalate.
	 */
	if (subtype == VIRTIO_SCSI_T_TMF_ABORT_TASK_SET &&
	    vsng_tmf_task_present(svq->vs, tpg, lun, true, 0, true)) {
		vq->stats.busy++;
		vsng_tmf_answer(vq, ch, VIRTIO_SCSI_S_BUSY);
		return;
	}

	if (!vsng_tmf_admit(vq, svq->vs, tm_type)) {
		vsng_tmf_answer(vq, ch, VIRTIO_SCSI_S_BUSY);
		return;
	}
	tmf = kzalloc(sizeof(*tmf), GFP_KERNEL_ACCOUNT);
	if (!tmf) {
		atomic_dec(&svq->vs->tmf_inflight);
		goto reject;
	}
	vsng_work_init(&tmf->hop_work, vsng_tmf_hop_work);
	vsng_work_init(&tmf->resp_work, vsng_tmf_resp_work);
	vsng_work_init(&tmf->step_work, vsng_tmf_step_work);
	tmf->svq = svq;
	tmf->tpg = tpg;
	tmf->lun = lun;
	tmf->head = ch->head;
	tmf->subtype = subtype;
	tmf->scan_vq = VSNG_VQ_IO;
	tmf->resets = subtype == VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET ||
		      subtype == VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET;
	if (tmf->resets)
		atomic_inc(&svq->vs->resetting);
	/* Until LIO answers (an aborted TMF never does). */
	tmf->response = VIRTIO_SCSI_S_FUNCTION_REJECTED;
	vsng_copy_resp_iov(tmf->in_iov, tmf->in_gpa, VSNG_INLINE_IOVS,
			   &ch->iov[ch->out_num], &ch->gpa[ch->out_num],
			   ch->in_num,
			   sizeof(struct virtio_scsi_ctrl_tmf_resp),
			   &tmf->in_cnt);
	vsng_inflight_get(svq);

	if (vsng_tmf_is_series(subtype)) {
		atomic_set(&tmf->marks, 1);	/* the series' own */
		if (subtype == VIRTIO_SCSI_T_TMF_ABORT_TASK_SET) {
			tmf->response = VSNG_S_FUNCTION_COMPLETE;
			vsng_tmf_mark_set(tmf);
		}
		vsng_tmf_step(tmf);
		return;
	}
	if (target_submit_tmr(&tmf->se_cmd, nexus->se_sess, NULL, lun, NULL,
			      tm_type, GFP_KERNEL, tag,
			      TARGET_SCF_ACK_KREF) < 0) {
		vsng_tmf_free(tmf);
		goto reject;
	}
	return;

reject:
	vsng_tmf_answer(vq, ch, VIRTIO_SCSI_S_FUNCTION_REJECTED);
}

static void vsng_an_resp(struct vsng_vq *vq, struct vsng_chain *ch)
{
	struct virtio_scsi_ctrl_an_resp rsp;

	memset(&rsp, 0, sizeof(rsp));	/* event_actual = 0 */
	rsp.response = VIRTIO_SCSI_S_OK;
	vsng_send_resp(vq, ch, ch->head, &rsp, sizeof(rsp));
}

static void vsng_ctl_bad_target(struct vsng_vq *vq, struct vsng_chain *ch,
				bool is_tmf)
{
	union {
		struct virtio_scsi_ctrl_tmf_resp tmf;
		struct virtio_scsi_ctrl_an_resp an;
	} rsp;

	memset(&rsp, 0, sizeof(rsp));
	vq->stats.errors++;
	if (is_tmf) {
		rsp.tmf.response = VIRTIO_SCSI_S_BAD_TARGET;
		vsng_send_resp(vq, ch, ch->head, &rsp.tmf, sizeof(rsp.tmf));
	} else {
		rsp.an.response = VIRTIO_SCSI_S_BAD_TARGET;
		vsng_send_resp(vq, ch, ch->head, &rsp.an, sizeof(rsp.an));
	}
}

static int vsng_ctl_handle_req(struct vsng_vq *vq, struct vsng_chain *ch)
{
	struct vsng_tpg **tpgs = vq->private_data;
	union {
		__virtio32 type;
		struct virtio_scsi_ctrl_tmf_req tmf;
		struct virtio_scsi_ctrl_an_req an;
	} req;
	size_t req_size, rsp_size;
	struct iov_iter it;
	struct vsng_tpg *tpg;
	const u8 *lun;
	bool is_tmf;

	lockdep_assert_held(&vq->mutex);

	iov_iter_init(&it, ITER_SOURCE, ch->iov, ch->out_num, ch->out_len);
	/* Type unknown: the response size is unknown too; no answer. */
	if (unlikely(!copy_from_iter_full(&req.type, sizeof(req.type), &it)))
		goto drop;

	switch (vsng_v32_to_cpu(vq, req.type)) {
	case VIRTIO_SCSI_T_TMF:
		is_tmf = true;
		req_size = sizeof(req.tmf);
		rsp_size = sizeof(struct virtio_scsi_ctrl_tmf_resp);
		lun = req.tmf.lun;
		break;
	case VIRTIO_SCSI_T_AN_QUERY:
	case VIRTIO_SCSI_T_AN_SUBSCRIBE:
		is_tmf = false;
		req_size = sizeof(req.an);
		rsp_size = sizeof(struct virtio_scsi_ctrl_an_resp);
		lun = req.an.lun;
		break;
	default:
		goto drop;
	}

	if (unlikely(ch->in_len < rsp_size))
		goto drop;
	if (unlikely(ch->out_len < req_size))
		goto bad_target;
	if (unlikely(!copy_from_iter_full((u8 *)&req + sizeof(req.type),
					  req_size - sizeof(req.type), &it)))
		goto bad_target;
	if (unlikely(lun[0] != 1))
		goto bad_target;

	tpg = READ_ONCE(tpgs[lun[1]]);
	if (unlikely(!tpg))
		goto bad_target;
	if (!is_tmf) {
		vsng_an_resp(vq, ch);
		return 0;
	}
	vsng_tmf_handle(vq, ch, tpg, &req.tmf);
	return 0;

bad_target:
	vsng_ctl_bad_target(vq, ch, is_tmf);
	return 0;
drop:
	/* No response possible: err eventfd, chain returned unanswered. */
	vsng_vq_bad_request(vq, "malformed control request (out %zu, in %zu bytes)",
			    ch->out_len, ch->in_len);
	vsng_vq_add_used(vq, ch->head, 0);
	return 0;
}

void vsng_ctl_handle_kick(struct vsng_work *work)
{
	struct vsng_vq *vq = container_of(work, struct vsng_vq, kick_work);

	vsng_vq_drain(vq, vsng_ctl_handle_req);
}
