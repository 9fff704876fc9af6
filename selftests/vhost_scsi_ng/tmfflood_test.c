// SPDX-License-Identifier: GPL-2.0
/*
 * A guest that floods the control queue with task management functions
 * (issue 14, defect 3).
 *
 * Every TMF used to cost a kzalloc with no cap on how many are in flight,
 * a forwarded ABORT TASK makes LIO print an unratelimited line
 * (core_tmr_abort_task(): "ABORT_TASK: Sending TMR_TASK_DOES_NOT_EXIST
 * for ref_tag: N"), and every TMF release flushed every worker of the
 * device from the system workqueue.  A hostile guest looping ABORT TASK
 * floods the host's log, and one that piles up LUN RESETs behind a slow
 * backend holds any number of them.
 *
 * LUN 0 is a slow null_blk disk (2 s per I/O), so I/O and LUN RESETs stay
 * in flight.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include "kselftest_harness.h"
#include "vsng_test.h"

#define NB		"vsng_tmff"
#define CTL_QN		512	/* descriptors; 2 per TMF */
#define OUTST		(CTL_QN / 2)	/* TMFs outstanding at most */
#define FLOOD		10000
#define RESETS		200
/*
 * Most TMFs a device may hold at once, as the test sees it.  The module's
 * cap (VSNG_TMF_MAX_INFLIGHT) is lower; this leaves room and still fails
 * an uncapped target by far.
 */
#define HELD_MAX	64

FIXTURE(tmff) {
	struct vsng_env e;
	bool nullb;
};

FIXTURE_SETUP(tmff)
{
	struct vsng_dev_opts o = { .nreq = 1, .ctl_size = CTL_QN };
	int err;

	self->e.d.fd = -1;
	err = vsng_env_up_slow(&self->e, &o, NB, 2000);
	self->nullb = err != -ENOENT;
	/* no null_blk: the test cannot run, that is a failure */
	ASSERT_EQ(0, err) {
		TH_LOG("slow null_blk LUN: %s", strerror(-err));
	}
}

FIXTURE_TEARDOWN(tmff)
{
	vsng_env_down(&self->e);
	if (self->nullb)
		vsng_nullb_slow_destroy(NB);
}

/* The control queue's TMFs in flight (ours), -1 on in-tree. */
static long ctl_inflight(struct vsng_dev *d)
{
	struct vhost_scsi_ng_vq_stats st = { 0 };

	if (vsng_vq_stats(d, VSNG_VQ_CTL, &st))
		return -1;
	return st.inflight;
}

/* The control queue's busy count (ours), 0 on in-tree. */
static uint64_t ctl_busy(struct vsng_dev *d)
{
	struct vhost_scsi_ng_vq_stats st = { 0 };

	if (vsng_vq_stats(d, VSNG_VQ_CTL, &st))
		return 0;
	return st.busy;
}

/* A TMF response code virtio-scsi defines (5.6.6.2, plus the generic ones). */
static bool tmf_code_valid(uint8_t r)
{
	switch (r) {
	case VIRTIO_SCSI_S_OK:	/* FUNCTION COMPLETE */
	case VIRTIO_SCSI_S_FUNCTION_SUCCEEDED:
	case VIRTIO_SCSI_S_FUNCTION_REJECTED:
	case VIRTIO_SCSI_S_INCORRECT_LUN:
	case VIRTIO_SCSI_S_BAD_TARGET:
	case VIRTIO_SCSI_S_BUSY:
	case VIRTIO_SCSI_S_TRANSPORT_FAILURE:
	case VIRTIO_SCSI_S_TARGET_FAILURE:
	case VIRTIO_SCSI_S_NEXUS_FAILURE:
	case VIRTIO_SCSI_S_FAILURE:
		return true;
	}
	return false;
}

/* Start n slow READs on LUN 0 (tags 1..n); they stay in flight ~2 s. */
static int slow_reads(struct vsng_env *e, struct vsng_cmd *c, uint8_t *buf,
		      int n)
{
	struct vsng_vq *vq = vsng_req_vq(e, 0);
	int i;

	for (i = 0; i < n; i++) {
		vsng_cmd_init(&c[i], VSNG_TPGT, 0);
		vsng_cdb_rw(c[i].cdb, 10, false, i * 8, 8);
		c[i].tag = i + 1;
		c[i].din_gpa = vsng_gpa(&e->d, buf + i * 4096);
		c[i].din_len = 4096;
		if (vsng_cmd_submit(vq, &c[i]))
			return -EIO;
	}
	vsng_vq_kick(vq, true);
	return 0;
}

/* Reap control-queue answers: counts per code, bad ones, total. */
struct tally {
	int total, bad;
	int code[256];
};

static int ctl_reap(struct vsng_dev *d, struct tally *t,
		    struct vsng_ctl **freed)
{
	struct vsng_vq *vq = &d->vq[VSNG_VQ_CTL];
	void *cookie;
	int n = 0;

	while (vsng_vq_get_used(vq, NULL, &cookie) == 1) {
		struct vsng_ctl *c = cookie;
		uint8_t r = c->tmf_resp->response;

		c->done = true;
		t->total++;
		t->code[r]++;
		if (!tmf_code_valid(r))
			t->bad++;
		freed[n++] = c;
	}
	return n;
}

/*
 * Proves: 10,000 ABORT TASKs (tags that name nothing, 256 outstanding at a
 * time, while 16 slow READs are in flight) are each answered with a valid
 * virtio-scsi TMF response; the host log grows by a bounded number of
 * lines (not one per abort: LIO prints one per forwarded ABORT TASK);
 * (ours) the control queue never holds more than HELD_MAX TMFs and its
 * busy counter counts every BUSY answer; the READs complete and normal
 * I/O works afterwards.  In-tree answers ABORT TASK
 * FUNCTION_REJECTED without asking LIO: quiet, passes.
 */
TEST_F_TIMEOUT(tmff, abort_task_flood, 300)
{
	struct vsng_vq *cq = &self->e.d.vq[VSNG_VQ_CTL];
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	struct vsng_ctl *ctl = calloc(OUTST, sizeof(*ctl));
	struct vsng_ctl **freeq = calloc(OUTST, sizeof(*freeq));
	struct tally *t = calloc(1, sizeof(*t));
	uint8_t *buf = vsng_alloc(&self->e.d, 2, 16 * 4096, 4096);
	struct vsng_cmd rd[16] = { 0 }, c = { 0 };
	int kfd, lines, nfree = 0, sent = 0, i, done = 0;
	long long seq0, seq1;
	uint64_t busy0 = ctl_busy(&self->e.d);
	long held, held_max = 0;
	uint64_t t0, end, ms;

	ASSERT_TRUE(ctl && freeq && t && buf);
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, kfd);
	seq0 = vsng_kmsg_seq(kfd, NULL);
	ASSERT_LE(0, seq0);
	ASSERT_EQ(0, slow_reads(&self->e, rd, buf, 16));

	for (i = 0; i < OUTST; i++)
		freeq[nfree++] = &ctl[i];
	t0 = vsng_now_ms();
	end = t0 + 200 * 1000;
	while (t->total < FLOOD && vsng_now_ms() < end) {
		while (nfree && sent < FLOOD) {
			/* tags far from any command's: nothing to abort */
			ASSERT_EQ(0, vsng_tmf_submit(&self->e.d,
						     freeq[--nfree],
						     VIRTIO_SCSI_T_TMF_ABORT_TASK,
						     VSNG_TPGT, 0,
						     0x10000 + sent));
			sent++;
		}
		vsng_vq_kick(cq, true);
		held = ctl_inflight(&self->e.d);
		if (held > held_max)
			held_max = held;
		vsng_vq_wait(cq, 100);
		nfree += ctl_reap(&self->e.d, t, freeq + nfree);
	}
	ms = vsng_now_ms() - t0;
	usleep(200 * 1000);	/* LIO's last lines */
	seq1 = vsng_kmsg_seq(kfd, "ABORT_TASK");
	lines = seq1 < seq0 ? 0 : seq1 - seq0;
	close(kfd);
	TH_LOG("%d ABORT TASKs answered of %d in %llu ms: %d OK, %d BUSY, %d REJECTED, %d other codes; %d kernel log lines; most held %ld",
	       t->total, sent, (unsigned long long)ms,
	       t->code[VIRTIO_SCSI_S_OK], t->code[VIRTIO_SCSI_S_BUSY],
	       t->code[VIRTIO_SCSI_S_FUNCTION_REJECTED], t->bad, lines,
	       held_max);
	EXPECT_EQ(FLOOD, t->total);
	EXPECT_EQ(0, t->bad);
	/* not one line per abort: a small bound that grows with time only */
	EXPECT_GE(20 + 4 * (int)(ms / 1000), lines) {
		TH_LOG("%d kernel log lines for %d ABORT TASKs", lines,
		       t->total);
	}
	if (vsng_target_is_ours()) {
		EXPECT_GE(HELD_MAX, held_max);
		EXPECT_GT(t->code[VIRTIO_SCSI_S_OK], 0);
		/* every BUSY answer is counted */
		EXPECT_EQ((uint64_t)t->code[VIRTIO_SCSI_S_BUSY],
			  ctl_busy(&self->e.d) - busy0);
	}

	/* the slow READs complete GOOD, then normal I/O works */
	end = vsng_now_ms() + VSNG_TMO;
	while (done < 16 && vsng_now_ms() < end) {
		vsng_vq_wait(rq, 100);
		vsng_vq_reap(rq);
		for (done = 0, i = 0; i < 16; i++)
			done += rd[i].done;
	}
	EXPECT_EQ(16, done);
	for (i = 0; i < 16; i++)
		EXPECT_TRUE(RESP_OK(&rd[i]) && rd[i].rsp.status == 0);
	vsng_cmd_init(&c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(rq, &c, 10, false, 0, 8, vsng_gpa(&self->e.d, buf),
			     4096));
	EXPECT_TRUE(RESP_OK(&c) && c.rsp.status == 0);
	free(t);
	free(freeq);
	free(ctl);
}

/*
 * Proves: LUN RESETs piled up behind slow backend I/O are not all held by
 * the device: 200 are published at once while a READ keeps LIO's first
 * reset waiting ~2 s; the device takes all 200 from the ring (avail_event,
 * EVENT_IDX; within 1 s) and 300 ms later holds at most HELD_MAX unanswered
 * (the rest answered at once with a valid code, e.g. BUSY).  Every reset
 * is answered in the end, the READ too, and I/O works afterwards.
 * In-tree allocates and holds every one of them: affected.
 */
TEST_F_TIMEOUT(tmff, lun_reset_pileup, 120)
{
	struct vsng_vq *cq = &self->e.d.vq[VSNG_VQ_CTL];
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	struct vsng_ctl *ctl = calloc(RESETS, sizeof(*ctl));
	struct vsng_ctl **freeq = calloc(OUTST, sizeof(*freeq));
	struct tally *t = calloc(1, sizeof(*t));
	uint8_t *buf = vsng_alloc(&self->e.d, 2, 4096, 4096);
	struct vsng_cmd rd = { 0 }, c = { 0 };
	uint16_t start = cq->last_used, avail_event, taken;
	int i, answered, held;
	uint64_t end, t0;

	VSNG_SPLIT_LAYOUT("avail_event in the used ring");

	ASSERT_TRUE(ctl && freeq && t && buf);
	if (!(self->e.d.features & VSNG_F_EVENT_IDX))
		SKIP(return, "needs EVENT_IDX to see what the device took");
	ASSERT_EQ(0, slow_reads(&self->e, &rd, buf, 1));
	usleep(100 * 1000);
	for (i = 0; i < RESETS; i++)
		ASSERT_EQ(0, vsng_tmf_submit(&self->e.d, &ctl[i],
					     VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET,
					     VSNG_TPGT, 0, 0));
	vsng_vq_kick(cq, true);
	/*
	 * The device writes avail_event once it found the ring empty.  Look
	 * while LIO's first reset still waits for the READ (2 s): as soon as
	 * all 200 are taken, and 300 ms later again.
	 */
	t0 = vsng_now_ms();
	do {
		usleep(20 * 1000);
		avail_event = __atomic_load_n((uint16_t *)(void *)
					      &cq->used->ring[cq->num],
					      __ATOMIC_ACQUIRE);
		taken = avail_event - cq->avail_idx + RESETS;
	} while (taken != RESETS && vsng_now_ms() - t0 < 1000);
	usleep(300 * 1000);
	answered = (uint16_t)(vsng_vq_used_idx(cq) - start);
	held = (int)taken - answered;
	TH_LOG("after %llu ms: %u of %d LUN RESETs taken, %d answered, %d held",
	       (unsigned long long)(vsng_now_ms() - t0), taken, RESETS,
	       answered, held);
	EXPECT_EQ(RESETS, taken);
	VSNG_INTREE_AFFECTED(held > HELD_MAX,
			     "%d LUN RESETs held at once (%d answered of %u taken), no cap",
			     held, answered, taken);

	end = vsng_now_ms() + 60000;
	while (t->total < RESETS && vsng_now_ms() < end) {
		vsng_vq_wait(cq, 100);
		ctl_reap(&self->e.d, t, freeq);
	}
	TH_LOG("%d answered: %d SUCCEEDED, %d BUSY, %d REJECTED, %d invalid",
	       t->total, t->code[VIRTIO_SCSI_S_FUNCTION_SUCCEEDED],
	       t->code[VIRTIO_SCSI_S_BUSY],
	       t->code[VIRTIO_SCSI_S_FUNCTION_REJECTED], t->bad);
	EXPECT_EQ(RESETS, t->total);
	EXPECT_EQ(0, t->bad);
	EXPECT_LT(0, t->code[VIRTIO_SCSI_S_FUNCTION_SUCCEEDED]);

	end = vsng_now_ms() + VSNG_TMO;
	while (!rd.done && vsng_now_ms() < end) {
		vsng_vq_wait(rq, 100);
		vsng_vq_reap(rq);
	}
	EXPECT_TRUE(rd.done);
	vsng_clear_ua(rq, 0);
	vsng_cmd_init(&c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(rq, &c, 10, false, 0, 8, vsng_gpa(&self->e.d, buf),
			     4096));
	EXPECT_TRUE(RESP_OK(&c) && c.rsp.status == 0);
	free(t);
	free(freeq);
	free(ctl);
}

TEST_HARNESS_MAIN
