// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-scsi task management set (issue 18): ABORT TASK on a command
 * held in a slow backend, ABORT TASK SET, I_T NEXUS RESET, QUERY TASK,
 * QUERY TASK SET, CLEAR ACA, CLEAR TASK SET and the asynchronous
 * notification query/subscribe.
 *
 * LUN 0 is a slow null_blk disk (every I/O takes DELAY_MS), LUN 1 a second
 * LUN of the same backstore: a command on LUN 1 sits in the same LIO
 * device as LUN 0's, so only the target's own I_T_L scoping keeps a TMF
 * on LUN 0 away from it.
 *
 * In-tree 6.12 passes only LOGICAL UNIT RESET to LIO and answers every
 * other TMF FUNCTION_REJECTED (vhost_scsi_handle_tmf()), and answers an AN
 * request S_OK whatever its target: each wrong answer is reported as
 * "in-tree: affected" (vsng_test.h), and what follows from it (the held
 * command then completes GOOD) is checked as such.
 *
 * Every test ends with no_leak(): every request answered exactly once,
 * every descriptor back, (ours) nothing in flight on either queue, and
 * both LUNs unlinked within 10 s (LIO's unlink waits for every command
 * that references a LUN, so LIO's count is back to 0).
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "vsng_test.h"

#define NB		"vsng_tmfb"
#define DELAY_MS	1000	/* per I/O on LUN 0 (and LUN 1) */
#define HOLD_MS		100	/* a command is surely held this long */
#define NCMD		8
#define FUNCTION_COMPLETE	VIRTIO_SCSI_S_OK	/* the spec's name for 0 */
#define SAM_TASK_ABORTED	0x40

/* A request and how many answers it got. */
struct held {
	struct vsng_cmd c;	/* first: the used ring's cookie */
	int answers;
};

FIXTURE(tmf) {
	struct vsng_env e;
	uint8_t *buf;
	struct held h[NCMD];
};

FIXTURE_SETUP(tmf)
{
	struct vsng_dev_opts o = { .nreq = 1 };
	char tpg[256], dev[256], p[400];
	int err;

	self->e.d.fd = -1;
	err = vsng_env_up_slow(&self->e, &o, NB, DELAY_MS);
	/* no null_blk: the test cannot run, that is a failure */
	ASSERT_EQ(0, err) {
		TH_LOG("slow null_blk LUN: %s", strerror(-err));
	}
	/* LUN 1: the same backstore behind a second LUN of the TPG */
	vsng_target_tpg_path(&self->e.t, tpg, sizeof(tpg));
	vsng_target_dev_path(&self->e.t, 0, dev, sizeof(dev));
	snprintf(p, sizeof(p), "%s/lun/lun_1", tpg);
	ASSERT_EQ(0, mkdir(p, 0755));
	snprintf(p, sizeof(p), "%s/lun/lun_1/vsng_port", tpg);
	ASSERT_EQ(0, symlink(dev, p));
	self->e.t.luns_mask |= 2;
	vsng_clear_ua(vsng_req_vq(&self->e, 0), 0);
	vsng_clear_ua(vsng_req_vq(&self->e, 0), 1);
	self->buf = vsng_alloc(&self->e.d, 2, NCMD * 4096, 4096);
	ASSERT_NE(NULL, self->buf);
}

/*
 * The slow disk is made by the first test and kept for the others: adding
 * a disk scans its partitions, a few reads of DELAY_MS each.  The test
 * process (each test runs in a child of it) removes it when it exits.
 */
static void __attribute__((destructor)) tmf_nullb_destroy(void)
{
	vsng_nullb_slow_destroy(NB);
}

FIXTURE_TEARDOWN(tmf)
{
	vsng_env_down(&self->e);
}

/* Place READ h[i] of 8 blocks on @lun with @tag (not kicked). */
static int rd_submit(FIXTURE_DATA(tmf) *self, int i, uint16_t lun,
		     uint64_t tag)
{
	struct vsng_cmd *c = &self->h[i].c;

	vsng_cmd_init(c, VSNG_TPGT, lun);
	vsng_cdb_rw(c->cdb, 10, false, i * 8, 8);
	c->tag = tag;
	c->din_gpa = vsng_gpa(&self->e.d, self->buf + i * 4096);
	c->din_len = 4096;
	self->h[i].answers = 0;
	return vsng_cmd_submit(vsng_req_vq(&self->e, 0), c);
}

/* Take every answer the request queue has; count them per command. */
static void reap(FIXTURE_DATA(tmf) *self)
{
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	struct held *h;
	void *cookie;
	uint32_t len;

	while (vsng_vq_get_used(vq, &len, &cookie) == 1) {
		h = cookie;
		memcpy(&h->c.rsp, h->c.resp, sizeof(h->c.rsp));
		h->c.used_len = len;
		h->c.done = true;
		h->answers++;
	}
}

/* Wait until h[0..n-1] are all answered; how many are. */
static int wait_answered(FIXTURE_DATA(tmf) *self, int n, int timeout_ms)
{
	uint64_t end = vsng_now_ms() + timeout_ms;
	int i, done;

	for (;;) {
		reap(self);
		for (done = 0, i = 0; i < n; i++)
			done += self->h[i].answers > 0;
		if (done == n || vsng_now_ms() > end)
			return done;
		vsng_vq_wait(vsng_req_vq(&self->e, 0), 50);
	}
}

static bool good(const struct held *h)
{
	return h->answers == 1 && h->c.rsp.response == VIRTIO_SCSI_S_OK &&
	       h->c.rsp.status == 0 && h->c.rsp.resid == 0;
}

/* Answered once, as aborted: ABORTED, or LIO's TASK ABORTED status. */
static bool aborted(const struct held *h)
{
	return h->answers == 1 &&
	       (h->c.rsp.response == VIRTIO_SCSI_S_ABORTED ||
		(h->c.rsp.response == VIRTIO_SCSI_S_OK &&
		 h->c.rsp.status == SAM_TASK_ABORTED));
}

static void show(struct __test_metadata *_metadata, const char *what,
		 const struct held *h)
{
	TH_LOG("%s: tag %llu: %d answers, response %u, status 0x%02x, resid %u",
	       what, (unsigned long long)h->c.tag, h->answers,
	       h->c.rsp.response, h->c.rsp.status, h->c.rsp.resid);
}

/* The control queue's and the request queue's counters (ours). */
static void expect_idle(struct __test_metadata *_metadata,
			FIXTURE_DATA(tmf) *self)
{
	struct vhost_scsi_ng_vq_stats st;
	int q;

	if (!vsng_target_is_ours())
		return;
	for (q = VSNG_VQ_CTL; q <= VSNG_VQ_REQ; q += VSNG_VQ_REQ) {
		ASSERT_EQ(0, vsng_vq_stats(&self->e.d, q, &st));
		EXPECT_EQ(0, st.inflight) {
			TH_LOG("vq %d: %llu in flight", q,
			       (unsigned long long)st.inflight);
		}
	}
}

/*
 * Nothing leaks: no second answer to anything, every descriptor of both
 * queues back, nothing in flight (ours), and both LUNs unlink promptly.
 */
static void no_leak(struct __test_metadata *_metadata, FIXTURE_DATA(tmf) *self,
		    int n)
{
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	struct vsng_vq *cq = &self->e.d.vq[VSNG_VQ_CTL];
	int i;

	usleep(100 * 1000);
	reap(self);
	for (i = 0; i < n; i++)
		EXPECT_EQ(1, self->h[i].answers) {
			show(_metadata, "answered more or less than once",
			     &self->h[i]);
		}
	EXPECT_EQ(rq->num, rq->num_free);
	EXPECT_EQ(cq->num, cq->num_free);
	expect_idle(_metadata, self);
	EXPECT_EQ(0, vsng_target_del_lun_timed(&self->e.t, 1, 10000));
	EXPECT_EQ(0, vsng_target_del_lun_timed(&self->e.t, 0, 10000));
}

/* Send a TMF and wait for its answer (0xff: none came). */
static uint8_t tmf(FIXTURE_DATA(tmf) *self, uint32_t subtype, uint16_t lun,
		   uint64_t tag)
{
	uint8_t resp = 0xff;

	if (vsng_tmf(&self->e.d, subtype, VSNG_TPGT, lun, tag, &resp,
		     VSNG_TMO))
		return 0xff;
	return resp;
}

/*
 * Proves: ABORT TASK of a READ held in the backend is answered FUNCTION
 * COMPLETE, and by then the READ has been answered, once, as aborted
 * (VIRTIO_SCSI_S_ABORTED); a READ on LUN 1 that was in flight beside it
 * completes GOOD; nothing leaks.  In-tree: FUNCTION_REJECTED, the READ
 * completes GOOD (affected).
 */
TEST_F(tmf, abort_held)
{
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	uint8_t r;

	ASSERT_EQ(0, rd_submit(self, 0, 0, 100));
	ASSERT_EQ(0, rd_submit(self, 1, 1, 101));
	vsng_vq_kick(rq, true);
	usleep(HOLD_MS * 1000);
	reap(self);
	ASSERT_EQ(0, self->h[0].answers);	/* held */
	r = tmf(self, VIRTIO_SCSI_T_TMF_ABORT_TASK, 0, 100);
	reap(self);
	show(_metadata, "aborted READ", &self->h[0]);
	if (!VSNG_INTREE_AFFECTED(r != FUNCTION_COMPLETE,
				  "ABORT TASK of a held READ answered %u", r)) {
		/* the READ's answer came before the TMF's */
		EXPECT_TRUE(aborted(&self->h[0]));
	} else {
		EXPECT_EQ(1, wait_answered(self, 1, VSNG_TMO));
		EXPECT_TRUE(good(&self->h[0]));
	}
	EXPECT_EQ(2, wait_answered(self, 2, VSNG_TMO));
	EXPECT_TRUE(good(&self->h[1])) {
		show(_metadata, "LUN 1 READ", &self->h[1]);
	}
	no_leak(_metadata, self, 2);
}

/*
 * Proves: ABORT TASK of a tag no command has (while a READ is held) is
 * answered FUNCTION COMPLETE (nothing left to abort), and the held READ
 * completes GOOD.  In-tree: FUNCTION_REJECTED (affected).
 */
TEST_F(tmf, abort_nonexistent_tag)
{
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	uint8_t r;

	ASSERT_EQ(0, rd_submit(self, 0, 0, 200));
	vsng_vq_kick(rq, true);
	usleep(HOLD_MS * 1000);
	r = tmf(self, VIRTIO_SCSI_T_TMF_ABORT_TASK, 0, 0xdead0000);
	VSNG_INTREE_AFFECTED(r != FUNCTION_COMPLETE,
			     "ABORT TASK of a tag not there answered %u", r);
	EXPECT_EQ(1, wait_answered(self, 1, VSNG_TMO));
	EXPECT_TRUE(good(&self->h[0])) {
		show(_metadata, "held READ", &self->h[0]);
	}
	no_leak(_metadata, self, 1);
}

/*
 * Proves: ABORT TASK of a tag whose READ has completed (GOOD) is answered
 * FUNCTION COMPLETE and changes nothing: no second answer.  In-tree:
 * FUNCTION_REJECTED (affected).
 */
TEST_F(tmf, abort_completed_tag)
{
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	uint8_t r;

	ASSERT_EQ(0, rd_submit(self, 0, 0, 300));
	vsng_vq_kick(rq, true);
	ASSERT_EQ(1, wait_answered(self, 1, VSNG_TMO));
	EXPECT_TRUE(good(&self->h[0]));
	r = tmf(self, VIRTIO_SCSI_T_TMF_ABORT_TASK, 0, 300);
	VSNG_INTREE_AFFECTED(r != FUNCTION_COMPLETE,
			     "ABORT TASK of a completed tag answered %u", r);
	no_leak(_metadata, self, 1);
}

/*
 * Proves: an ABORT TASK sent when its READ is due to complete (at
 * DELAY_MS - 30, - 10, + 10 ms after the kick) is answered FUNCTION
 * COMPLETE whichever wins, and the READ is answered exactly once, either
 * GOOD or aborted.  In-tree: FUNCTION_REJECTED (affected).
 */
TEST_F(tmf, abort_races_completion)
{
	static const int offset[] = { -30, -10, 10 };
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	int i, n_good = 0, n_aborted = 0, wrong = 0;
	uint64_t t0;
	uint8_t r;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, rd_submit(self, i, 0, 400 + i));
		t0 = vsng_now_ms();
		vsng_vq_kick(rq, true);
		while (vsng_now_ms() < t0 + DELAY_MS + offset[i])
			usleep(2000);
		r = tmf(self, VIRTIO_SCSI_T_TMF_ABORT_TASK, 0, 400 + i);
		if (r != FUNCTION_COMPLETE)
			wrong++;
		ASSERT_EQ(i + 1, wait_answered(self, i + 1, VSNG_TMO));
		if (good(&self->h[i]))
			n_good++;
		else if (aborted(&self->h[i]))
			n_aborted++;
		else
			show(_metadata, "neither GOOD nor aborted", &self->h[i]);
	}
	TH_LOG("3 races: READ GOOD %d, aborted %d; TMF not FUNCTION COMPLETE %d",
	       n_good, n_aborted, wrong);
	EXPECT_EQ(3, n_good + n_aborted);
	VSNG_INTREE_AFFECTED(wrong != 0,
			     "%d of 3 ABORT TASKs racing completion not answered FUNCTION COMPLETE",
			     wrong);
	no_leak(_metadata, self, 3);
}

/*
 * Proves: ABORT TASK SET on LUN 0 with three READs held there and one on
 * LUN 1 (same backstore) is answered FUNCTION COMPLETE once the three are
 * answered aborted; the LUN 1 READ completes GOOD.  In-tree:
 * FUNCTION_REJECTED, all four GOOD (affected).
 */
TEST_F(tmf, abort_task_set)
{
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	uint8_t r;
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, rd_submit(self, i, 0, 500 + i));
	ASSERT_EQ(0, rd_submit(self, 3, 1, 503));
	vsng_vq_kick(rq, true);
	usleep(HOLD_MS * 1000);
	reap(self);
	ASSERT_EQ(0, self->h[0].answers + self->h[1].answers +
		  self->h[2].answers + self->h[3].answers);
	r = tmf(self, VIRTIO_SCSI_T_TMF_ABORT_TASK_SET, 0, 0);
	reap(self);
	if (!VSNG_INTREE_AFFECTED(r != FUNCTION_COMPLETE,
				  "ABORT TASK SET answered %u", r)) {
		for (i = 0; i < 3; i++)
			EXPECT_TRUE(aborted(&self->h[i])) {
				show(_metadata, "LUN 0 READ", &self->h[i]);
			}
	}
	EXPECT_EQ(4, wait_answered(self, 4, VSNG_TMO));
	EXPECT_TRUE(good(&self->h[3])) {
		show(_metadata, "LUN 1 READ", &self->h[3]);
	}
	no_leak(_metadata, self, 4);
}

/* How many of h[0..n-1] have been answered. */
static int answered(FIXTURE_DATA(tmf) *self, int n)
{
	int i, done = 0;

	for (i = 0; i < n; i++)
		done += self->h[i].answers > 0;
	return done;
}

/*
 * Proves: a second ABORT TASK SET for the same I_T_L, sent while the
 * first still waits for its three READs in the backend, is not answered
 * FUNCTION COMPLETE before those READs are answered (the guest would take
 * the set as gone and reuse their buffers while the backend still writes
 * them): it is answered BUSY (retry later), or after them.  The first is
 * answered FUNCTION COMPLETE after the READs, each aborted; nothing
 * leaks.  In-tree: both FUNCTION_REJECTED (affected, as abort_task_set).
 */
TEST_F(tmf, abort_task_set_twice)
{
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	struct vsng_vq *cq = &self->e.d.vq[VSNG_VQ_CTL];
	struct vsng_ctl a = { 0 }, b = { 0 }, *c;
	int i, before_b = -1, before_a = -1;
	void *cookie;
	uint64_t end;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, rd_submit(self, i, 0, 700 + i));
	vsng_vq_kick(rq, true);
	usleep(HOLD_MS * 1000);
	reap(self);
	ASSERT_EQ(0, answered(self, 3));
	ASSERT_EQ(0, vsng_tmf_submit(&self->e.d, &a,
				     VIRTIO_SCSI_T_TMF_ABORT_TASK_SET,
				     VSNG_TPGT, 0, 0));
	usleep(HOLD_MS * 1000);
	ASSERT_EQ(0, vsng_tmf_submit(&self->e.d, &b,
				     VIRTIO_SCSI_T_TMF_ABORT_TASK_SET,
				     VSNG_TPGT, 0, 0));
	end = vsng_now_ms() + VSNG_TMO;
	while ((!a.done || !b.done) && vsng_now_ms() < end) {
		vsng_vq_wait(cq, 20);
		/* a READ answered before a TMF is on the used ring first */
		reap(self);
		while (vsng_vq_get_used(cq, NULL, &cookie) == 1) {
			c = cookie;
			c->done = true;
			if (c == &a)
				before_a = answered(self, 3);
			if (c == &b)
				before_b = answered(self, 3);
		}
	}
	ASSERT_TRUE(a.done && b.done);
	TH_LOG("first answered %u after %d READs, second %u after %d READs",
	       a.tmf_resp->response, before_a, b.tmf_resp->response, before_b);
	EXPECT_EQ(3, wait_answered(self, 3, VSNG_TMO));
	if (!VSNG_INTREE_AFFECTED(a.tmf_resp->response != FUNCTION_COMPLETE,
				  "ABORT TASK SET answered %u",
				  a.tmf_resp->response)) {
		EXPECT_EQ(3, before_a);
		for (i = 0; i < 3; i++)
			EXPECT_TRUE(aborted(&self->h[i])) {
				show(_metadata, "LUN 0 READ", &self->h[i]);
			}
	}
	if (b.tmf_resp->response == FUNCTION_COMPLETE) {
		EXPECT_EQ(3, before_b) {
			TH_LOG("the second ABORT TASK SET was answered FUNCTION COMPLETE with %d of its 3 READs still in the backend",
			       3 - before_b);
		}
	} else {
		EXPECT_TRUE(b.tmf_resp->response == VIRTIO_SCSI_S_BUSY ||
			    b.tmf_resp->response ==
			    VIRTIO_SCSI_S_FUNCTION_REJECTED);
	}
	no_leak(_metadata, self, 3);
}

/* TEST UNIT READY on @lun: the RESET unit attention (06/29/xx), then GOOD. */
static void expect_reset_ua(struct __test_metadata *_metadata,
			    FIXTURE_DATA(tmf) *self, uint16_t lun)
{
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	struct vsng_cmd c = { 0 };

	ASSERT_EQ(0, vsng_tur(rq, VSNG_TPGT, lun, &c));
	EXPECT_EQ(2, c.rsp.status);
	EXPECT_EQ(6, vsng_sense_key(&c.rsp));
	EXPECT_EQ(0x29, vsng_sense_asc(&c.rsp)) {
		TH_LOG("LUN %u: sense %x/%02x/%02x", lun,
		       vsng_sense_key(&c.rsp), vsng_sense_asc(&c.rsp),
		       vsng_sense_ascq(&c.rsp));
	}
	vsng_clear_ua(rq, lun);
	ASSERT_EQ(0, vsng_tur(rq, VSNG_TPGT, lun, &c));
	EXPECT_EQ(0, c.rsp.status);
}

/* Answered once, as cancelled by a reset: VIRTIO_SCSI_S_RESET. */
static bool reset(const struct held *h)
{
	return h->answers == 1 && h->c.rsp.response == VIRTIO_SCSI_S_RESET;
}

/*
 * Proves: I_T NEXUS RESET with a READ held on each of LUN 0 and LUN 1 is
 * answered FUNCTION COMPLETE once both are answered VIRTIO_SCSI_S_RESET
 * (a request cancelled by a reset; a Linux guest retries it); each LUN
 * then reports the reset (unit attention 06/29/xx) once and is GOOD
 * after.  In-tree: FUNCTION_REJECTED, both GOOD (affected).
 */
TEST_F(tmf, i_t_nexus_reset)
{
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	uint8_t r;

	ASSERT_EQ(0, rd_submit(self, 0, 0, 600));
	ASSERT_EQ(0, rd_submit(self, 1, 1, 601));
	vsng_vq_kick(rq, true);
	usleep(HOLD_MS * 1000);
	reap(self);
	ASSERT_EQ(0, self->h[0].answers + self->h[1].answers);
	r = tmf(self, VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET, 0, 0);
	reap(self);
	if (!VSNG_INTREE_AFFECTED(r != FUNCTION_COMPLETE,
				  "I_T NEXUS RESET answered %u", r)) {
		EXPECT_TRUE(reset(&self->h[0])) {
			show(_metadata, "LUN 0 READ", &self->h[0]);
		}
		EXPECT_TRUE(reset(&self->h[1])) {
			show(_metadata, "LUN 1 READ", &self->h[1]);
		}
		expect_reset_ua(_metadata, self, 0);
		expect_reset_ua(_metadata, self, 1);
	}
	EXPECT_EQ(2, wait_answered(self, 2, VSNG_TMO));
	no_leak(_metadata, self, 2);
}

/*
 * Proves: QUERY TASK of a held READ's tag is answered FUNCTION SUCCEEDED;
 * of another tag, and of the same tag on LUN 1, FUNCTION COMPLETE; the
 * READ is not disturbed (GOOD), and once it has completed its tag is
 * answered FUNCTION COMPLETE.  In-tree: FUNCTION_REJECTED (affected).
 */
TEST_F(tmf, query_task)
{
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	uint8_t held, other, lun1, after;

	ASSERT_EQ(0, rd_submit(self, 0, 0, 700));
	vsng_vq_kick(rq, true);
	usleep(HOLD_MS * 1000);
	held = tmf(self, VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 700);
	other = tmf(self, VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 701);
	lun1 = tmf(self, VIRTIO_SCSI_T_TMF_QUERY_TASK, 1, 700);
	reap(self);
	EXPECT_EQ(0, self->h[0].answers);	/* still held when asked */
	EXPECT_EQ(1, wait_answered(self, 1, VSNG_TMO));
	EXPECT_TRUE(good(&self->h[0]));
	after = tmf(self, VIRTIO_SCSI_T_TMF_QUERY_TASK, 0, 700);
	TH_LOG("QUERY TASK: held %u, other tag %u, LUN 1 %u, completed %u",
	       held, other, lun1, after);
	VSNG_INTREE_AFFECTED(held != VIRTIO_SCSI_S_FUNCTION_SUCCEEDED ||
			     other != FUNCTION_COMPLETE ||
			     lun1 != FUNCTION_COMPLETE ||
			     after != FUNCTION_COMPLETE,
			     "QUERY TASK answered %u (held), %u (other tag), %u (LUN 1), %u (completed)",
			     held, other, lun1, after);
	no_leak(_metadata, self, 1);
}

/*
 * Proves: QUERY TASK SET of LUN 0 with a READ held there is answered
 * FUNCTION SUCCEEDED, of LUN 1 (nothing there) FUNCTION COMPLETE; the
 * READ completes GOOD, and LUN 0 is then answered FUNCTION COMPLETE.
 * In-tree: FUNCTION_REJECTED (affected).
 */
TEST_F(tmf, query_task_set)
{
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	uint8_t held, lun1, after;

	ASSERT_EQ(0, rd_submit(self, 0, 0, 800));
	vsng_vq_kick(rq, true);
	usleep(HOLD_MS * 1000);
	held = tmf(self, VIRTIO_SCSI_T_TMF_QUERY_TASK_SET, 0, 0);
	lun1 = tmf(self, VIRTIO_SCSI_T_TMF_QUERY_TASK_SET, 1, 0);
	reap(self);
	EXPECT_EQ(0, self->h[0].answers);
	EXPECT_EQ(1, wait_answered(self, 1, VSNG_TMO));
	EXPECT_TRUE(good(&self->h[0]));
	after = tmf(self, VIRTIO_SCSI_T_TMF_QUERY_TASK_SET, 0, 0);
	TH_LOG("QUERY TASK SET: held %u, LUN 1 %u, completed %u", held, lun1,
	       after);
	VSNG_INTREE_AFFECTED(held != VIRTIO_SCSI_S_FUNCTION_SUCCEEDED ||
			     lun1 != FUNCTION_COMPLETE ||
			     after != FUNCTION_COMPLETE,
			     "QUERY TASK SET answered %u (held), %u (LUN 1), %u (completed)",
			     held, lun1, after);
	no_leak(_metadata, self, 1);
}

/*
 * Proves: CLEAR ACA and CLEAR TASK SET, with a READ held, are answered
 * FUNCTION REJECTED (not supported: LIO never sets ACA, and a guest does
 * not clear other nexuses' tasks) and leave the READ alone (GOOD).  The
 * same on both targets.
 */
TEST_F(tmf, clear_aca_clear_task_set_rejected)
{
	struct vsng_vq *rq = vsng_req_vq(&self->e, 0);
	uint8_t aca, cts;

	ASSERT_EQ(0, rd_submit(self, 0, 0, 900));
	vsng_vq_kick(rq, true);
	usleep(HOLD_MS * 1000);
	aca = tmf(self, VIRTIO_SCSI_T_TMF_CLEAR_ACA, 0, 0);
	cts = tmf(self, VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET, 0, 0);
	EXPECT_EQ(VIRTIO_SCSI_S_FUNCTION_REJECTED, aca);
	EXPECT_EQ(VIRTIO_SCSI_S_FUNCTION_REJECTED, cts);
	EXPECT_EQ(1, wait_answered(self, 1, VSNG_TMO));
	EXPECT_TRUE(good(&self->h[0])) {
		show(_metadata, "held READ", &self->h[0]);
	}
	no_leak(_metadata, self, 1);
}

/*
 * Proves: AN query and subscribe (every event bit asked) are answered
 * S_OK with event_actual 0 (no asynchronous event is supported) for the
 * target, and BAD_TARGET for a target that does not exist.  In-tree
 * answers the unknown target S_OK (affected).
 */
TEST_F(tmf, async_notification)
{
	static const uint32_t type[] = { VIRTIO_SCSI_T_AN_QUERY,
					 VIRTIO_SCSI_T_AN_SUBSCRIBE };
	uint32_t actual;
	uint8_t resp;
	int i;

	for (i = 0; i < 2; i++) {
		actual = 0xffffffff;
		ASSERT_EQ(0, vsng_an(&self->e.d, type[i], VSNG_TPGT, 0, 0x7e,
				     &actual, &resp, VSNG_TMO));
		EXPECT_EQ(VIRTIO_SCSI_S_OK, resp);
		EXPECT_EQ(0, actual);
		ASSERT_EQ(0, vsng_an(&self->e.d, type[i], VSNG_TPGT + 6, 0,
				     0x7e, &actual, &resp, VSNG_TMO));
		VSNG_INTREE_AFFECTED(resp != VIRTIO_SCSI_S_BAD_TARGET,
				     "AN type %u to a target that does not exist answered %u",
				     type[i], resp);
	}
	no_leak(_metadata, self, 0);
}

TEST_HARNESS_MAIN
