// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_inorder: VIRTIO_F_IN_ORDER, split and packed rings (a fixture
 * variant each).
 *
 * The module offers IN_ORDER only with its in_order parameter set (read
 * when the device is opened).  Then it uses buffers in the order they
 * were made available although LIO completes them in any order: READs
 * to a slow LUN (null_blk, SLOW_MS per I/O) followed by READs to a fast
 * LUN (rd) come back in submission order, with the right data, and the
 * fast ones wait behind the slow ones.  One used element stands for a
 * run of buffers, so a burst costs fewer used-element writes than I/Os.
 * With the parameter off (the default) the bit is not offered and the
 * fast READs pass the slow ones as before.
 *
 * In-tree 6.12 vhost_scsi offers no IN_ORDER: the tests that need it
 * SKIP with that reason; the others run there unchanged.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "kselftest_harness.h"
#include "vsng_test.h"

#define IO_NB		"vsng_ino0"
#define SLOW_MS		800
#define NSLOW		4
#define NFAST		12
#define NIO		(NSLOW + NFAST)
#define PG		4096
#define QSZ		64
#define CFS_CORE	"/sys/kernel/config/target/core"

/* The module parameter; -ENOENT where there is none (in-tree). */
static int in_order_param(bool on)
{
	char p[128];
	int fd, r = 0;

	snprintf(p, sizeof(p), "/sys/module/%s/parameters/in_order",
		 vsng_module());
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, on ? "Y" : "N", 1) != 1)
		r = -errno;
	close(fd);
	return r;
}

static int in_order_param_get(void)
{
	char p[128], v = 0;
	int fd, r;

	snprintf(p, sizeof(p), "/sys/module/%s/parameters/in_order",
		 vsng_module());
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read(fd, &v, 1) == 1 ? v == 'Y' : -EIO;
	close(fd);
	return r;
}

FIXTURE(inorder) {
	struct vsng_env e;
	struct vsng_vq *vq;
	struct vsng_cmd cmds[NIO];
	int order[NIO];
	int ndone;
	uint8_t *buf;		/* NIO pages read into, NIO pages written */
	bool began, nullb, fast_lun;
	char hba[64], backend[16], dev_path[64];	/* LUN 0's (iblock) */
};

FIXTURE_VARIANT(inorder) {
	enum vsng_ring_fmt ring;
};

FIXTURE_VARIANT_ADD(inorder, split) {
	.ring = VSNG_RING_SPLIT,
};

FIXTURE_VARIANT_ADD(inorder, packed) {
	.ring = VSNG_RING_PACKED,
};

FIXTURE_SETUP(inorder)
{
	self->e.d.fd = -1;
	if (variant->ring == VSNG_RING_PACKED && !vsng_target_is_ours())
		SKIP(return, "in-tree: packed rings not supported");
	/* ours starts with the default, whatever a test before left */
	if (vsng_target_is_ours())
		ASSERT_EQ(0, in_order_param(false));
}

FIXTURE_TEARDOWN(inorder)
{
	struct vsng_target *t = &self->e.t;
	char p[128];

	if (vsng_target_is_ours())
		in_order_param(false);
	if (!self->began)
		return;
	if (self->fast_lun) {
		vsng_target_del_lun(t, 1);
		snprintf(p, sizeof(p), CFS_CORE "/%s", t->hba);
		rmdir(p);
		snprintf(t->hba, sizeof(t->hba), "%s", self->hba);
		snprintf(t->backend, sizeof(t->backend), "%s", self->backend);
		snprintf(t->dev_path, sizeof(t->dev_path), "%s",
			 self->dev_path);
	}
	vsng_env_down(&self->e);
	if (self->nullb)
		vsng_nullb_slow_destroy(IO_NB);
}

/*
 * LUN 0 on a slow, memory-backed null_blk (SLOW_MS per I/O), LUN 1 on a
 * ramdisk of its own HBA; the driver acks IN_ORDER if offered.
 */
static int env_up(FIXTURE_DATA(inorder) *self, enum vsng_ring_fmt ring)
{
	struct vsng_dev_opts o = { .nreq = 1, .req_size = QSZ,
				   .in_order = true, .ring = ring };
	struct vsng_target *t = &self->e.t;
	int err;

	self->began = true;
	err = vsng_env_up_nullb(&self->e, &o, IO_NB, SLOW_MS, true);
	self->nullb = err != -ENOENT;
	if (err)
		return err;
	snprintf(self->hba, sizeof(self->hba), "%s", t->hba);
	snprintf(self->backend, sizeof(self->backend), "%s", t->backend);
	snprintf(self->dev_path, sizeof(self->dev_path), "%s", t->dev_path);
	snprintf(t->hba, sizeof(t->hba), "rd_mcp_%u",
		 1000 + vsng_test_id() % 8000);
	snprintf(t->backend, sizeof(t->backend), "rd");
	t->dev_path[0] = 0;
	self->fast_lun = true;
	err = vsng_target_add_lun(t, 1);
	if (err)
		return err;
	self->vq = vsng_req_vq(&self->e, 0);
	vsng_clear_ua(self->vq, 0);
	vsng_clear_ua(self->vq, 1);
	self->buf = vsng_alloc(&self->e.d, 2, 2 * NIO * PG, PG);
	return self->buf ? 0 : -ENOMEM;
}

/* Command @i: READ (or WRITE) of one page; the first NSLOW to LUN 0. */
static void prep(FIXTURE_DATA(inorder) *self, int i, bool write)
{
	struct vsng_cmd *c = &self->cmds[i];
	uint64_t gpa = vsng_gpa(&self->e.d, self->buf + (write ? NIO + i : i) * PG);

	vsng_cmd_init(c, VSNG_TPGT, i < NSLOW ? 0 : 1);
	vsng_cdb_rw(c->cdb, 10, write, i * (PG / VSNG_BLK), PG / VSNG_BLK);
	if (write) {
		c->dout_gpa = gpa;
		c->dout_len = PG;
	} else {
		c->din_gpa = gpa;
		c->din_len = PG;
	}
	c->indirect = !!(self->e.d.features & VSNG_F_INDIRECT);
}

/* Reap what is there, noting the order: -EIO on a bogus used element. */
static int reap(FIXTURE_DATA(inorder) *self)
{
	uint32_t len;
	void *cookie;
	int r;

	while ((r = vsng_vq_get_used(self->vq, &len, &cookie)) == 1) {
		struct vsng_cmd *c = cookie;

		c->used_len = len;
		memcpy(&c->rsp, c->resp, sizeof(c->rsp));
		c->done = true;
		if (self->ndone < NIO)
			self->order[self->ndone] = c - self->cmds;
		self->ndone++;
	}
	return r < 0 ? r : 0;
}

static int wait_n(FIXTURE_DATA(inorder) *self, int n)
{
	uint64_t end = vsng_now_ms() + VSNG_TMO;
	int err = 0;

	while (!err && self->ndone < n && vsng_now_ms() < end) {
		vsng_vq_wait(self->vq, 100);
		err = reap(self);
	}
	return err;
}

/* Submit commands [from, to) in one burst with one kick. */
static int burst(FIXTURE_DATA(inorder) *self, int from, int to, bool write)
{
	int i, err;

	for (i = from; i < to; i++) {
		prep(self, i, write);
		err = vsng_cmd_submit(self->vq, &self->cmds[i]);
		if (err)
			return err;
	}
	vsng_vq_kick(self->vq, true);
	return 0;
}

/* Write the pattern of every page (slow ones in a burst of their own). */
static int fill(struct __test_metadata *_metadata,
		FIXTURE_DATA(inorder) *self)
{
	int i, err;

	for (i = 0; i < NIO; i++)
		memset(self->buf + (NIO + i) * PG, 0x40 + i, PG);
	err = burst(self, 0, NIO, true);
	if (!err)
		err = wait_n(self, NIO);
	if (err || self->ndone != NIO)
		return err ? err : -ETIMEDOUT;
	for (i = 0; i < NIO; i++) {
		EXPECT_EQ(0, self->cmds[i].rsp.status) {
			TH_LOG("WRITE %d: status 0x%x", i,
			       self->cmds[i].rsp.status);
		}
	}
	self->ndone = 0;
	memset(self->buf, 0xee, NIO * PG);
	return 0;
}

static void check_data(struct __test_metadata *_metadata,
		       FIXTURE_DATA(inorder) *self)
{
	int i;

	for (i = 0; i < NIO; i++) {
		EXPECT_TRUE(RESP_OK(&self->cmds[i]));
		EXPECT_EQ(0, self->cmds[i].rsp.status);
		EXPECT_EQ(0, memcmp(self->buf + i * PG,
				    self->buf + (NIO + i) * PG, PG)) {
			TH_LOG("READ %d (LUN %d): wrong data", i,
			       i < NSLOW ? 0 : 1);
		}
	}
}

/*
 * Proves: with in_order off (the default) IN_ORDER is not offered, a
 * SET_FEATURES with it is refused, and fast READs still pass slow ones.
 */
TEST_F_TIMEOUT(inorder, off_by_default, 120)
{
	uint64_t f;
	int err, i;

	if (vsng_target_is_ours())
		EXPECT_EQ(0, in_order_param_get());
	err = env_up(self, variant->ring);
	if (err == -ENOENT)
		SKIP(return, "no null_blk in this kernel");
	ASSERT_EQ(0, err);
	EXPECT_EQ(0, self->e.d.offered & VSNG_F_IN_ORDER);
	EXPECT_EQ(0, self->e.d.features & VSNG_F_IN_ORDER);
	EXPECT_FALSE(self->vq->in_order);
	f = self->e.d.features | VSNG_F_IN_ORDER;
	EXPECT_EQ(-EOPNOTSUPP, vsng_ioctl(&self->e.d, VHOST_SET_FEATURES, &f));

	ASSERT_EQ(0, fill(_metadata, self));
	ASSERT_EQ(0, burst(self, 0, NIO, false));
	ASSERT_EQ(0, wait_n(self, NIO));
	ASSERT_EQ(NIO, self->ndone);
	check_data(_metadata, self);
	/* LIO finished the fast READs first, and nothing held them back */
	EXPECT_GE(self->order[0], NSLOW) {
		TH_LOG("first completion: command %d (a slow one)",
		       self->order[0]);
	}
	for (i = 0; i < NIO; i++)
		TH_LOG("completion %d: command %d", i, self->order[i]);
}

/*
 * Proves: with IN_ORDER negotiated, slow READs followed by fast READs
 * all complete in submission order with the right data, nothing is
 * published while the oldest is in flight, and the burst costs fewer
 * used-element writes than I/Os (device counter and driver count agree).
 */
TEST_F_TIMEOUT(inorder, slow_then_fast_in_submission_order, 120)
{
	struct vhost_scsi_ng_vq_stats a, b;
	uint64_t elems0;
	int err, i;

	err = in_order_param(true);
	if (err == -ENOENT && !vsng_target_is_ours())
		; /* in-tree: no parameter, the offer below decides */
	else
		ASSERT_EQ(0, err);
	err = env_up(self, variant->ring);
	if (err == -ENOENT)
		SKIP(return, "no null_blk in this kernel");
	ASSERT_EQ(0, err);
	if (!(self->e.d.offered & VSNG_F_IN_ORDER)) {
		EXPECT_FALSE(vsng_target_is_ours());
		SKIP(return, "VIRTIO_F_IN_ORDER not offered (in-tree 6.12 vhost_scsi has none)");
	}
	ASSERT_TRUE(self->e.d.features & VSNG_F_IN_ORDER);
	ASSERT_TRUE(self->vq->in_order);

	ASSERT_EQ(0, fill(_metadata, self));
	ASSERT_EQ(0, vsng_vq_stats(&self->e.d, self->vq->index, &a));
	elems0 = self->vq->used_elems;
	ASSERT_EQ(0, burst(self, 0, NIO, false));
	/* the slow READs take SLOW_MS: nothing may be used before them */
	usleep(SLOW_MS / 3 * 1000);
	EXPECT_EQ(self->vq->last_used, vsng_vq_used_idx(self->vq));
	ASSERT_EQ(0, wait_n(self, NIO));
	ASSERT_EQ(NIO, self->ndone);
	for (i = 0; i < NIO; i++) {
		EXPECT_EQ(i, self->order[i]) {
			TH_LOG("completion %d: command %d", i, self->order[i]);
		}
	}
	check_data(_metadata, self);

	ASSERT_EQ(0, vsng_vq_stats(&self->e.d, self->vq->index, &b));
	TH_LOG("%d READs: %llu used elements written (%.2f per I/O), %llu used index writes",
	       NIO, (unsigned long long)(b.used_elems - a.used_elems),
	       (double)(b.used_elems - a.used_elems) / NIO,
	       (unsigned long long)(b.used_idx_writes - a.used_idx_writes));
	EXPECT_EQ(NIO, b.completions - a.completions);
	EXPECT_GE(b.used_elems - a.used_elems, 1);
	EXPECT_LT(b.used_elems - a.used_elems, NIO);
	EXPECT_EQ(b.used_elems - a.used_elems, self->vq->used_elems - elems0);
	EXPECT_EQ(0, b.inflight);
}

/*
 * Proves: with IN_ORDER, a request the device answers at once while
 * taking it (response buffer too small: used with length 0) is used
 * too, alone and between a slow and a fast READ, in order; a device
 * that only marked it would hold it, and every later buffer, for ever.
 */
TEST_F_TIMEOUT(inorder, bad_request_used_in_order, 120)
{
	struct vsng_cmd *bad = &self->cmds[1];
	uint8_t tur[6] = { 0 };
	int err;

	VSNG_OURS_ONLY("VIRTIO_F_IN_ORDER");
	ASSERT_EQ(0, in_order_param(true));
	err = env_up(self, variant->ring);
	if (err == -ENOENT)
		SKIP(return, "no null_blk in this kernel");
	ASSERT_EQ(0, err);
	ASSERT_TRUE(self->vq->in_order);

	/* alone */
	vsng_cmd_init(bad, VSNG_TPGT, 1);
	memcpy(bad->cdb, tur, sizeof(tur));
	bad->resp_len = 4;
	ASSERT_EQ(0, vsng_cmd_submit(self->vq, bad));
	vsng_vq_kick(self->vq, true);
	self->ndone = 0;
	ASSERT_EQ(0, wait_n(self, 1));
	ASSERT_EQ(1, self->ndone);
	EXPECT_EQ(0, bad->used_len);

	/* slow READ, the bad request, a fast READ */
	self->ndone = 0;
	prep(self, 0, false);
	ASSERT_EQ(0, vsng_cmd_submit(self->vq, &self->cmds[0]));
	vsng_cmd_init(bad, VSNG_TPGT, 1);
	memcpy(bad->cdb, tur, sizeof(tur));
	bad->resp_len = 4;
	ASSERT_EQ(0, vsng_cmd_submit(self->vq, bad));
	prep(self, NSLOW, false);
	ASSERT_EQ(0, vsng_cmd_submit(self->vq, &self->cmds[NSLOW]));
	vsng_vq_kick(self->vq, true);
	ASSERT_EQ(0, wait_n(self, 3));
	ASSERT_EQ(3, self->ndone);
	EXPECT_EQ(0, self->order[0]);
	EXPECT_EQ(1, self->order[1]);
	EXPECT_EQ(NSLOW, self->order[2]);
	EXPECT_TRUE(RESP_OK(&self->cmds[0]));
	EXPECT_TRUE(RESP_OK(&self->cmds[NSLOW]));
}

TEST_HARNESS_MAIN
