// SPDX-License-Identifier: GPL-2.0
/*
 * Command pool exhaustion (TASK SET FULL).
 *
 * The target keeps a command pool per queue sized to the ring, so a
 * well-behaved guest can never exhaust it.  A hostile one can: with every
 * command held in flight by a slow backend (null_blk, 2 s completion,
 * made through null_blk's configfs), it republishes the same heads.  The
 * extra requests must each get an answer (SCSI status TASK SET FULL at
 * once, in-tree and ours), nothing may crash, and the device must be
 * reusable.
 */
#include "kselftest_harness.h"
#include "vsng_test.h"

#define NB "vsng_slow"
#define QN 64

FIXTURE(pool) {
	struct vsng_env e;
	bool nullb;
};

FIXTURE_SETUP(pool)
{
	struct vsng_dev_opts o = { .nreq = 1, .req_size = QN };
	int err;

	self->e.d.fd = -1;
	err = vsng_env_up_slow(&self->e, &o, NB, 2000);
	/* -ENOENT: the kernel has no null_blk; the test cannot run: fail */
	self->nullb = err != -ENOENT;
	ASSERT_EQ(0, err) {
		TH_LOG("slow null_blk LUN: %s", strerror(-err));
	}
}

FIXTURE_TEARDOWN(pool)
{
	vsng_env_down(&self->e);
	if (self->nullb)
		vsng_nullb_slow_destroy(NB);
}

/* Proves: requests beyond the command pool (the same heads republished
 * while the first ones are all still in flight) are each answered TASK SET
 * FULL at once, in-tree and ours: every one of the QN extras, not some; the
 * first QN are answered normally later; nothing crashes or hangs, and a
 * fresh device works afterwards.  In-tree 6.1 answers the extras
 * BAD_TARGET (vhost_scsi_get_cmd()'s -ENOMEM takes its "bad target on any
 * error" path), which a Linux guest fails with DID_BAD_TARGET instead of
 * retrying: affected.
 */
TEST_F_TIMEOUT(pool, task_set_full_when_pool_exhausted, 120)
{
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	struct vsng_cmd *cmds = calloc(QN, sizeof(*cmds));
	uint8_t *buf = vsng_alloc(&self->e.d, 2, QN * 4096, 4096);
	uint16_t start = vq->last_used, idx;
	int i, tsf = 0, seen = 0, other = 0, bad_target = 0;
	uint64_t end;

	VSNG_SPLIT_LAYOUT("reads used ring entries");

	if (!(self->e.d.features & VSNG_F_INDIRECT))
		SKIP(return, "needs INDIRECT_DESC");
	for (i = 0; i < QN; i++) {
		vsng_cmd_init(&cmds[i], VSNG_TPGT, 0);
		vsng_cdb_rw(cmds[i].cdb, 10, false, i * 8, 8);
		cmds[i].din_gpa = vsng_gpa(&self->e.d, buf + i * 4096);
		cmds[i].din_len = 4096;
		cmds[i].indirect = true;
		ASSERT_EQ(0, vsng_cmd_submit(vq, &cmds[i]));
	}
	vsng_vq_kick(vq, true);
	usleep(50 * 1000);
	/* nothing can be back yet: the backend takes 2 s per I/O */
	ASSERT_EQ(0, (uint16_t)(vsng_vq_used_idx(vq) - start));
	/* hostile: the same QN heads again, while the first QN are in flight */
	for (i = 0; i < QN; i++)
		vsng_vq_publish(vq, cmds[i].head);
	vsng_vq_kick(vq, true);
	/*
	 * Read each used entry's response as soon as the entry shows up: an
	 * extra and its original share the response buffer, and the
	 * original's normal answer (2 s after it was sent) overwrites the
	 * extra's.  The status written first is the target's answer to the
	 * extra.
	 */
	end = vsng_now_ms() + VSNG_TMO;
	while (seen < 2 * QN && vsng_now_ms() < end) {
		idx = vsng_vq_used_idx(vq);
		for (; seen < (uint16_t)(idx - start); seen++) {
			struct vring_used_elem *u =
				&vq->used->ring[(start + seen) % vq->num];
			struct vsng_cmd *c = NULL;
			int k;

			for (k = 0; k < QN; k++)
				if (cmds[k].head == (int)u->id)
					c = &cmds[k];
			if (c && c->resp->response == VIRTIO_SCSI_S_OK &&
			    c->resp->status == 0x28)
				tsf++;
			else if (c && c->resp->response ==
				 VIRTIO_SCSI_S_BAD_TARGET)
				bad_target++;
			else if (!c || c->resp->response != VIRTIO_SCSI_S_OK ||
				 c->resp->status != 0)
				other++;
		}
		usleep(500);
	}
	TH_LOG("%d used entries for %d requests: %d TASK SET FULL, %d BAD_TARGET, %d GOOD, %d other",
	       seen, 2 * QN, tsf, bad_target, seen - tsf - bad_target - other,
	       other);
	EXPECT_EQ(2 * QN, seen);
	/* every extra gets TASK SET FULL, every original its GOOD answer */
	if (!VSNG_INTREE_AFFECTED(bad_target != 0,
				  "%d of %d requests beyond the command pool answered BAD_TARGET, not TASK SET FULL",
				  bad_target, QN)) {
		EXPECT_EQ(QN, tsf);
	} else {
		EXPECT_EQ(QN, tsf + bad_target);
	}
	EXPECT_EQ(0, other);

	/* the ring's bookkeeping is now the guest's mess: use a fresh device */
	vsng_dev_clear_endpoint(&self->e.d);
	vsng_dev_close(&self->e.d);
	free(cmds);
	{
		struct vsng_dev_opts o = { .nreq = 1, .req_size = QN };
		struct vsng_cmd c = { 0 };

		ASSERT_EQ(0, vsng_dev_init(&self->e.d, &o));
		ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
		ASSERT_EQ(0, vsng_tur(vsng_req_vq(&self->e, 0), VSNG_TPGT, 0,
				      &c));
		EXPECT_EQ(0, c.rsp.status);
	}
}

TEST_HARNESS_MAIN
