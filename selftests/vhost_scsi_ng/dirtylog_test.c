// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging and the device hand-over of a live migration (issues 14
 * and 16).
 *
 * dlog: a command in flight while the memory table changes (issue 14,
 * defect 7).  mig: what is logged and what is not, on a fast LUN: the used
 * ring with VHOST_VRING_F_LOG, data-in of aligned, region-crossing and
 * bounce-buffered READs, LOG_ALL on and off, SET_LOG_BASE and SET_LOG_FD
 * while running.  slow: commands in flight at SET_LOG_BASE and at
 * CLEAR_ENDPOINT, and a new device resuming the rings where
 * GET_VRING_BASE says.
 *
 * With VHOST_F_LOG_ALL every guest page the device writes must be marked
 * in the log bitmap, or a live migration copies a stale page.  A READ is
 * held in flight by a slow null_blk LUN; meanwhile SET_MEM_TABLE moves or
 * removes a region its buffers live in; then the READ completes.  Every
 * page of its data-in buffer and its response must be logged, at the
 * guest-physical address the guest gave (the one in force when the device
 * took the request), as the vhost core logs vhost-net's buffers.
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "vsng_test.h"

#define NB	"vsng_dlog"
#define PG	4096ULL
#define NPG	8			/* data-in pages, 4 on each side of the seam */
#define LOG_TOP	0x300000000ULL		/* the bitmap covers GPAs below this */
#define MOVED	0x200000000ULL		/* where R1 moves to */

FIXTURE(dlog) {
	struct vsng_env e;
	bool nullb;
	uint8_t *log;
	size_t log_len;
};

FIXTURE_VARIANT(dlog) {
	bool remove_r0;		/* else: R1 moves to MOVED */
};

/* The region of the first data-in page (and of the response) goes away. */
FIXTURE_VARIANT_ADD(dlog, region_removed) { .remove_r0 = true };
/* The region of the last four data-in pages moves to another GPA. */
FIXTURE_VARIANT_ADD(dlog, region_moved) { .remove_r0 = false };

FIXTURE_SETUP(dlog)
{
	struct vsng_dev_opts o = { .nreq = 1 };
	struct vsng_dev probe = { .fd = -1 };
	uint64_t base;
	int err;

	self->e.d.fd = -1;
	ASSERT_EQ(0, vsng_dev_open(&probe, NULL));
	ASSERT_EQ(0, vsng_ioctl(&probe, VHOST_SET_OWNER, NULL));
	ASSERT_EQ(0, vsng_ioctl(&probe, VHOST_GET_FEATURES, &probe.offered));
	vsng_dev_close(&probe);
	ASSERT_TRUE(probe.offered & (1ULL << VHOST_F_LOG_ALL));
	o.features = probe.offered & (VSNG_F_VERSION_1 | VSNG_F_ANY_LAYOUT |
				      VSNG_F_INDIRECT | VSNG_F_EVENT_IDX |
				      1ULL << VHOST_F_LOG_ALL);
	err = vsng_env_up_slow(&self->e, &o, NB, 1500);
	self->nullb = err != -ENOENT;
	/* no null_blk: the test cannot run, that is a failure */
	ASSERT_EQ(0, err) {
		TH_LOG("slow null_blk LUN: %s", strerror(-err));
	}
	self->log_len = LOG_TOP / PG / 8;
	self->log = mmap(NULL, self->log_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->log);
	base = (uintptr_t)self->log;
	ASSERT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_LOG_BASE, &base));
}

FIXTURE_TEARDOWN(dlog)
{
	/*
	 * A test stopped with the rings' region removed: put the table back
	 * first, or CLEAR_ENDPOINT (and the one in release) fails its ring
	 * access check with -EFAULT and the TPG stays in use, a leftover
	 * target for run.sh (in-tree 6.1, where the in-flight check failed).
	 */
	if (self->e.d.fd >= 0)
		vsng_mem_set_table(&self->e.d);
	vsng_env_down(&self->e);
	if (self->nullb)
		vsng_nullb_slow_destroy(NB);
	if (self->log && self->log != MAP_FAILED)
		munmap(self->log, self->log_len);
}

static bool log_bit(const uint8_t *log, uint64_t gpa)
{
	uint64_t p = gpa / PG;

	return log[p / 8] & (1u << (p % 8));
}

/* The memory table without R0, or with R1 at MOVED. */
static int swap_table(struct vsng_dev *d, bool remove_r0)
{
	struct vhost_memory *vm;
	int i, n = 0, err;

	vm = calloc(1, sizeof(*vm) + d->mem.nregions * sizeof(vm->regions[0]));
	if (!vm)
		return -ENOMEM;
	for (i = 0; i < d->mem.nregions; i++) {
		if (remove_r0 && i == 0)
			continue;
		vm->regions[n].guest_phys_addr = d->mem.r[i].gpa;
		if (!remove_r0 && i == 1)
			vm->regions[n].guest_phys_addr = MOVED;
		vm->regions[n].memory_size = d->mem.r[i].size;
		vm->regions[n].userspace_addr = (uintptr_t)d->mem.r[i].hva;
		n++;
	}
	vm->nregions = n;
	err = vsng_ioctl(d, VHOST_SET_MEM_TABLE, vm);
	free(vm);
	return err;
}

/*
 * After a device ioctl (SET_MEM_TABLE, SET_LOG_BASE) made while one READ,
 * submitted at @t_sub to a LUN that takes @delay_ms, was in flight: true
 * when the READ is still in flight (ours, in-tree 6.12), or when the
 * ioctl itself waited for it to finish in the backend (in-tree 6.1, whose
 * vhost_scsi_ioctl() runs vhost_scsi_flush() after every vhost_dev_ioctl():
 * the change is made with the READ in flight, the READ completes before
 * the ioctl returns).  False (the test proves nothing) when the READ was
 * answered before the backend could have finished it.
 */
static bool ioctl_left_inflight(struct __test_metadata *_metadata,
				struct vsng_vq *vq, uint16_t start,
				uint64_t t_sub, unsigned int delay_ms,
				const char *what)
{
	uint64_t waited = vsng_now_ms() - t_sub;

	if ((uint16_t)(vsng_vq_used_idx(vq) - start) == 0)
		return true;
	TH_LOG("%s returned after the READ in flight was answered, %llu ms after it was sent (the LUN takes %u ms)",
	       what, (unsigned long long)waited, delay_ms);
	if (vsng_target_is_ours())
		return false;
	/* in-tree 6.1: the ioctl flushes; the READ waited for its backend */
	return waited + 50 >= delay_ms;
}

/*
 * Proves: a READ's 8 data-in pages (8 descriptors, 4 pages in R0 then 4
 * in R1) and its response page (R0) are all logged at the GPAs the guest
 * gave, although R0 was removed / R1 moved by SET_MEM_TABLE while the READ
 * was in flight; nothing is logged at R1's new place; the device works
 * with the old table again afterwards.  In-tree 6.12 logs no data-in or
 * response page at all: affected.
 */
TEST_F_TIMEOUT(dlog, inflight_read_logged, 120)
{
	struct vsng_dev *d = &self->e.d;
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	uint64_t gpa = vsng_xregion_gpa(d, NPG * PG), rsp_gpa, end;
	uint16_t start = vq->last_used;
	struct vsng_cmd c = { 0 }, c2 = { 0 };
	int i, missing = 0, stray = 0;
	uint64_t t_sub;
	bool rsp_logged;

	ASSERT_NE(0, gpa);
	ASSERT_EQ(0, gpa % PG);
	vsng_cmd_init(&c, VSNG_TPGT, 0);
	vsng_cdb_rw(c.cdb, 10, false, 0, NPG * PG / VSNG_BLK);
	c.din_gpa = gpa;
	c.din_len = NPG * PG;
	c.din_split = NPG;
	ASSERT_EQ(0, vsng_cmd_submit(vq, &c));
	t_sub = vsng_now_ms();
	vsng_vq_kick(vq, true);
	/* the device takes it (maps its buffers) at once; LUN 0 needs 1.5 s */
	if (vsng_target_is_ours()) {
		struct vhost_scsi_ng_vq_stats st = { 0 };

		end = vsng_now_ms() + VSNG_TMO;
		do {
			ASSERT_EQ(0, vsng_vq_stats(d, VSNG_VQ_REQ, &st));
		} while (st.inflight < 1 && vsng_now_ms() < end);
		ASSERT_EQ(1, st.inflight);
	} else {
		usleep(300 * 1000);
	}
	/* still in flight when the table changes, or the test proves nothing */
	ASSERT_EQ(0, (uint16_t)(vsng_vq_used_idx(vq) - start));
	ASSERT_EQ(0, swap_table(d, variant->remove_r0));
	ASSERT_TRUE(ioctl_left_inflight(_metadata, vq, start, t_sub, 1500,
					"SET_MEM_TABLE"));

	end = vsng_now_ms() + VSNG_TMO;
	while (!c.done && vsng_now_ms() < end) {
		vsng_vq_wait(vq, 100);
		vsng_vq_reap(vq);
	}
	ASSERT_TRUE(c.done);
	EXPECT_TRUE(RESP_OK(&c) && c.rsp.status == 0);

	for (i = 0; i < NPG; i++) {
		if (!log_bit(self->log, gpa + i * PG))
			missing++;
		if (!variant->remove_r0 && i >= NPG / 2 &&
		    log_bit(self->log, MOVED + (gpa + i * PG - d->mem.r[1].gpa)))
			stray++;
	}
	rsp_gpa = vsng_gpa(d, c.resp);
	rsp_logged = log_bit(self->log, rsp_gpa);
	TH_LOG("%s: %d of %d data-in pages not logged, response page %s, %d logged at R1's new place",
	       variant->remove_r0 ? "R0 removed" : "R1 moved", missing, NPG,
	       rsp_logged ? "logged" : "not logged", stray);
	VSNG_INTREE_AFFECTED(missing || !rsp_logged,
			     "%d of %d data-in pages and %d response page the device wrote not logged after SET_MEM_TABLE",
			     missing, NPG, !rsp_logged);
	EXPECT_EQ(0, stray);

	/* the old table back: the device works */
	ASSERT_EQ(0, vsng_mem_set_table(d));
	vsng_cmd_init(&c2, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(vq, &c2, 10, false, 8, 8, gpa, 4096));
	EXPECT_TRUE(RESP_OK(&c2) && c2.rsp.status == 0);
	if (vsng_target_is_ours())
		EXPECT_TRUE(log_bit(self->log, gpa));
}

/* ---- helpers shared by mig and slow ----------------------------------- */

/* What QEMU acks during a migration: a Linux guest's set plus LOG_ALL. */
static uint64_t mig_features(void)
{
	struct vsng_dev probe = { .fd = -1 };
	uint64_t f = 0;

	if (vsng_dev_open(&probe, NULL) ||
	    vsng_ioctl(&probe, VHOST_SET_OWNER, NULL) ||
	    vsng_ioctl(&probe, VHOST_GET_FEATURES, &probe.offered))
		probe.offered = 0;
	vsng_dev_close(&probe);
	if (probe.offered & (1ULL << VHOST_F_LOG_ALL))
		f = probe.offered & (VSNG_F_VERSION_1 | VSNG_F_ANY_LAYOUT |
				     VSNG_F_INDIRECT | VSNG_F_EVENT_IDX |
				     1ULL << VHOST_F_LOG_ALL);
	return f;
}

/*
 * Request and response headers on pages of their own (R2), so that a
 * logged response page tells nothing about the rings, and back.
 */
static int cmd_own_pages(struct vsng_dev *d, struct vsng_cmd *c)
{
	c->req = vsng_alloc(d, 2, PG, PG);
	c->resp = vsng_alloc(d, 2, PG, PG);
	return c->req && c->resp ? 0 : -ENOMEM;
}

/* A buffer of @len bytes at page offset @off in R2, one free page each side */
static uint64_t buf_gpa(struct vsng_dev *d, uint64_t len, uint64_t off)
{
	uint8_t *p = vsng_alloc(d, 2, len + off + 2 * PG, PG);

	return p ? vsng_gpa(d, p) + PG + off : 0;
}

/* ---- mig: a fast LUN -------------------------------------------------- */

FIXTURE(mig) {
	struct vsng_env e;
	uint8_t *log;
	size_t log_len;
};

FIXTURE_SETUP(mig)
{
	struct vsng_dev_opts o = { .nreq = 1, .vring_log = true };

	self->e.d.fd = -1;
	o.features = mig_features();
	ASSERT_NE(0, o.features);
	ASSERT_EQ(0, vsng_env_up(&self->e, &o, 1));
	self->log = vsng_log_alloc(&self->log_len);
	ASSERT_NE(NULL, self->log);
	ASSERT_EQ(0, vsng_log_set_base(&self->e.d, self->log));
}

FIXTURE_TEARDOWN(mig)
{
	vsng_env_down(&self->e);
	if (self->log)
		munmap(self->log, self->log_len);
}

/* READ or WRITE of @len bytes at @gpa in @split descriptors; status GOOD. */
static int mig_rw(struct vsng_env *e, bool write, uint64_t lba, uint64_t gpa,
		  uint32_t len, int split, struct vsng_cmd *c)
{
	struct vsng_vq *vq = vsng_req_vq(e, 0);
	int err;

	vsng_cmd_init(c, VSNG_TPGT, 0);
	if (!c->req && cmd_own_pages(&e->d, c))
		return -ENOMEM;
	vsng_cdb_rw(c->cdb, 10, write, lba, len / VSNG_BLK);
	if (write) {
		c->dout_gpa = gpa;
		c->dout_len = len;
		c->dout_split = split;
	} else {
		c->din_gpa = gpa;
		c->din_len = len;
		c->din_split = split;
	}
	err = vsng_cmd_run(vq, c, VSNG_TMO);
	if (err)
		return err;
	return RESP_OK(c) && c->rsp.status == 0 ? 0 : -EIO;
}

/*
 * Proves: with VHOST_VRING_F_LOG off the used ring's page is not logged;
 * turned on while running (SET_VRING_ADDR, as QEMU does when a migration
 * starts), the next completion logs the used ring's page at
 * log_guest_addr, and neither the descriptor table, the avail ring nor
 * the data-out pages are logged (the device only reads them).
 */
TEST_F(mig, used_ring_logged)
{
	struct vsng_dev *d = &self->e.d;
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	uint64_t used = vsng_gpa(d, vq->used), dout = buf_gpa(d, 2 * PG, 0);
	struct vsng_cmd c = { 0 };

	VSNG_SPLIT_LAYOUT("the used ring's logged pages");

	ASSERT_NE(0, dout);
	ASSERT_EQ(0, vsng_vq_set_log(vq, false));
	ASSERT_EQ(0, mig_rw(&self->e, true, 0, dout, 2 * PG, 1, &c));
	EXPECT_FALSE(vsng_log_test(self->log, used));

	ASSERT_EQ(0, vsng_vq_set_log(vq, true));
	memset(self->log, 0, self->log_len);
	ASSERT_EQ(0, mig_rw(&self->e, true, 0, dout, 2 * PG, 1, &c));
	EXPECT_TRUE(vsng_log_test(self->log, used));
	EXPECT_FALSE(vsng_log_test(self->log, vsng_gpa(d, vq->desc)));
	EXPECT_FALSE(vsng_log_test(self->log, vsng_gpa(d, vq->avail)));
	EXPECT_EQ(0, vsng_log_count(self->log, dout, 2 * PG));
}

/*
 * Write a pattern to LBA 0, clear the log, READ it back into @npg pages
 * at page offset @off (@split descriptors).  Proves: the data read equals
 * the data written; every page of the data-in buffer and the response
 * page are logged; the pages either side of the buffer, the data-out
 * buffer and the request page are not.  In-tree 6.12 logs no data-in or
 * response page: affected.
 */
static void read_logged(struct __test_metadata *_metadata, struct vsng_env *e,
			uint8_t *log, size_t log_len, uint64_t din,
			uint32_t len, int split)
{
	struct vsng_dev *d = &e->d;
	uint64_t dout = buf_gpa(d, len, 0);
	struct vsng_cmd c = { 0 };
	uint8_t *want, *got;
	int npg, logged;
	bool rsp;

	ASSERT_NE(0, dout);
	ASSERT_NE(0, din);
	want = malloc(len);
	got = malloc(len);
	ASSERT_TRUE(want && got);
	vsng_fill(want, len, len + split);
	ASSERT_EQ(0, vsng_gpa_write(d, dout, want, len));
	ASSERT_EQ(0, mig_rw(e, true, 0, dout, len, 1, &c));
	memset(log, 0, log_len);

	ASSERT_EQ(0, mig_rw(e, false, 0, din, len, split, &c));
	ASSERT_EQ(0, vsng_gpa_read(d, din, got, len));
	EXPECT_EQ(0, memcmp(want, got, len));
	npg = (din + len - 1) / PG - din / PG + 1;
	logged = vsng_log_count(log, din, len);
	rsp = vsng_log_test(log, vsng_gpa(d, c.resp));
	VSNG_INTREE_AFFECTED(logged != npg || !rsp,
			     "%d of %d data-in pages and %d response page not logged",
			     npg - logged, npg, !rsp);
	EXPECT_FALSE(vsng_log_test(log, din - PG));
	EXPECT_FALSE(vsng_log_test(log, din + len - 1 + PG));
	EXPECT_EQ(0, vsng_log_count(log, dout, len));
	EXPECT_FALSE(vsng_log_test(log, vsng_gpa(d, c.req)));
	free(want);
	free(got);
}

/* 4 pages in 4 descriptors, page-aligned. */
TEST_F(mig, data_in_logged)
{
	read_logged(_metadata, &self->e, self->log, self->log_len,
		    buf_gpa(&self->e.d, 4 * PG, 0), 4 * PG, 4);
}

/* 4 pages in one descriptor that crosses from R0 into R1. */
TEST_F(mig, data_in_cross_region_logged)
{
	read_logged(_metadata, &self->e, self->log, self->log_len,
		    vsng_xregion_gpa(&self->e.d, 4 * PG), 4 * PG, 1);
}

/*
 * 257 pages at page offset 8: the iovecs touch 258 pages and are not
 * sector-aligned, more than a bio takes, so ours bounce-buffers the READ
 * and copies back; the copy-back is logged like a direct write.
 */
TEST_F(mig, data_in_bounce_logged)
{
	read_logged(_metadata, &self->e, self->log, self->log_len,
		    buf_gpa(&self->e.d, 257 * PG, 8), 257 * PG, 2);
}

/*
 * Proves: a READ the target refuses (LBA past the end: CHECK CONDITION,
 * ILLEGAL REQUEST) writes no data, and none of its data-in pages is
 * logged; its response page is (in-tree: affected).
 */
TEST_F(mig, failed_read_not_logged)
{
	struct vsng_dev *d = &self->e.d;
	uint64_t din = buf_gpa(d, 2 * PG, 0);
	struct vsng_cmd c = { 0 };
	uint8_t *p;

	ASSERT_NE(0, din);
	EXPECT_EQ(-EIO, mig_rw(&self->e, false, self->e.blocks, din, 2 * PG,
			       2, &c));
	EXPECT_EQ(2, c.rsp.status);
	EXPECT_EQ(5, vsng_sense_key(&c.rsp));
	p = vsng_hva(d, din, 2 * PG);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0x5a, p[0]);
	EXPECT_EQ(0x5a, p[2 * PG - 1]);
	EXPECT_EQ(0, vsng_log_count(self->log, din, 2 * PG));
	VSNG_INTREE_AFFECTED(!vsng_log_test(self->log, vsng_gpa(d, c.resp)),
			     "response page of a failed READ not logged");
}

/*
 * Proves: a READ of one page into a three-page data-in buffer (the CDB
 * asks for less than the buffer holds: an underflow, resid two pages)
 * writes and logs the first page only; the two pages it did not write
 * keep their poison and are not logged.  In-tree: the first page is not
 * logged (affected).
 */
TEST_F(mig, short_read_logs_what_was_written)
{
	struct vsng_dev *d = &self->e.d;
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	uint64_t din = buf_gpa(d, 3 * PG, 0);
	struct vsng_cmd c = { 0 };
	uint8_t *p;

	ASSERT_NE(0, din);
	vsng_cmd_init(&c, VSNG_TPGT, 0);
	ASSERT_EQ(0, cmd_own_pages(d, &c));
	vsng_cdb_rw(c.cdb, 10, false, 0, PG / VSNG_BLK);
	c.din_gpa = din;
	c.din_len = 3 * PG;
	ASSERT_EQ(0, vsng_cmd_run(vq, &c, VSNG_TMO));
	ASSERT_TRUE(RESP_OK(&c));
	EXPECT_EQ(0, c.rsp.status);
	EXPECT_EQ(2 * PG, c.rsp.resid);
	p = vsng_hva(d, din, 3 * PG);
	ASSERT_NE(NULL, p);
	EXPECT_NE(0x5a, p[0]);
	EXPECT_EQ(0x5a, p[PG]);
	EXPECT_EQ(0x5a, p[3 * PG - 1]);
	VSNG_INTREE_AFFECTED(!vsng_log_test(self->log, din),
			     "the data-in page a short READ wrote not logged");
	EXPECT_EQ(0, vsng_log_count(self->log, din + PG, 2 * PG));
}

/*
 * Proves: LOG_ALL turned off while running (SET_FEATURES, as QEMU does
 * when a migration ends or is cancelled) stops data-in and response
 * logging while the used ring, with VHOST_VRING_F_LOG still set, is
 * logged; turned on again, data-in is logged again (in-tree: affected).
 */
TEST_F(mig, log_all_on_off)
{
	struct vsng_dev *d = &self->e.d;
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	uint64_t din = buf_gpa(d, 2 * PG, 0), f = d->features;
	struct vsng_cmd c = { 0 };

	VSNG_SPLIT_LAYOUT("the used ring's logged pages");

	ASSERT_NE(0, din);
	f &= ~(1ULL << VHOST_F_LOG_ALL);
	ASSERT_EQ(0, vsng_ioctl(d, VHOST_SET_FEATURES, &f));
	ASSERT_EQ(0, mig_rw(&self->e, false, 0, din, 2 * PG, 1, &c));
	EXPECT_EQ(0, vsng_log_count(self->log, din, 2 * PG));
	EXPECT_FALSE(vsng_log_test(self->log, vsng_gpa(d, c.resp)));
	EXPECT_TRUE(vsng_log_test(self->log, vsng_gpa(d, vq->used)));

	f |= 1ULL << VHOST_F_LOG_ALL;
	ASSERT_EQ(0, vsng_ioctl(d, VHOST_SET_FEATURES, &f));
	memset(self->log, 0, self->log_len);
	ASSERT_EQ(0, mig_rw(&self->e, false, 0, din, 2 * PG, 1, &c));
	VSNG_INTREE_AFFECTED(vsng_log_count(self->log, din, 2 * PG) != 2,
			     "data-in not logged after LOG_ALL came back on");
	EXPECT_TRUE(vsng_log_test(self->log, vsng_gpa(d, vq->used)));
}

/*
 * Proves: SET_LOG_BASE while running (QEMU grows the log as memory is
 * added) moves logging at once: the next completion sets its bits in the
 * new bitmap (used ring; data-in, in-tree: affected) and none in the old.
 */
TEST_F(mig, set_log_base_running)
{
	struct vsng_dev *d = &self->e.d;
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	uint64_t din = buf_gpa(d, 2 * PG, 0);
	struct vsng_cmd c = { 0 };
	size_t len2;
	uint8_t *log2 = vsng_log_alloc(&len2);

	VSNG_SPLIT_LAYOUT("the used ring's logged pages");

	ASSERT_NE(0, din);
	ASSERT_NE(NULL, log2);
	ASSERT_EQ(0, mig_rw(&self->e, false, 0, din, 2 * PG, 1, &c));
	EXPECT_TRUE(vsng_log_test(self->log, vsng_gpa(d, vq->used)));

	ASSERT_EQ(0, vsng_log_set_base(d, log2));
	memset(self->log, 0, self->log_len);
	ASSERT_EQ(0, mig_rw(&self->e, false, 0, din, 2 * PG, 1, &c));
	EXPECT_EQ(0, vsng_log_total(self->log));
	EXPECT_TRUE(vsng_log_test(log2, vsng_gpa(d, vq->used)));
	VSNG_INTREE_AFFECTED(vsng_log_count(log2, din, 2 * PG) != 2,
			     "data-in not logged in the new bitmap");
	/* the fixture's bitmap back before log2 goes */
	ASSERT_EQ(0, vsng_log_set_base(d, self->log));
	munmap(log2, len2);
}

static uint64_t efd_take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/*
 * Proves: the log eventfd is signalled after bits were set; SET_LOG_FD
 * while running moves the signal to the new eventfd (the old one stays
 * quiet); unbound (-1), neither is signalled.
 */
TEST_F(mig, set_log_fd_running)
{
	struct vsng_dev *d = &self->e.d;
	uint64_t dout = buf_gpa(d, PG, 0);
	struct vsng_cmd c = { 0 };
	int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK);
	int fd;

	ASSERT_NE(0, dout);
	ASSERT_TRUE(a >= 0 && b >= 0);
	fd = a;
	ASSERT_EQ(0, vsng_ioctl(d, VHOST_SET_LOG_FD, &fd));
	ASSERT_EQ(0, mig_rw(&self->e, true, 0, dout, PG, 1, &c));
	EXPECT_LT(0, efd_take(a));

	fd = b;
	ASSERT_EQ(0, vsng_ioctl(d, VHOST_SET_LOG_FD, &fd));
	efd_take(a);
	ASSERT_EQ(0, mig_rw(&self->e, true, 0, dout, PG, 1, &c));
	EXPECT_EQ(0, efd_take(a));
	EXPECT_LT(0, efd_take(b));

	fd = -1;
	ASSERT_EQ(0, vsng_ioctl(d, VHOST_SET_LOG_FD, &fd));
	/*
	 * The last pass's signal may reach b after the driver saw its
	 * response (it follows the used write); once SET_LOG_FD returned,
	 * no queue signals b any more: take what came before, then none.
	 */
	efd_take(b);
	ASSERT_EQ(0, mig_rw(&self->e, true, 0, dout, PG, 1, &c));
	EXPECT_EQ(0, efd_take(a));
	EXPECT_EQ(0, efd_take(b));
	close(a);
	close(b);
}

/* ---- ibm: the fast LUN on iblock (a memory-backed null_blk) ----------- */

#define NB_IB		"vsng_dlog3"

FIXTURE(ibm) {
	struct vsng_env e;
	bool nullb;
	uint8_t *log;
	size_t log_len;
};

FIXTURE_SETUP(ibm)
{
	struct vsng_dev_opts o = { .nreq = 1, .vring_log = true };
	int err;

	self->e.d.fd = -1;
	o.features = mig_features();
	ASSERT_NE(0, o.features);
	err = vsng_env_up_nullb(&self->e, &o, NB_IB, 0, true);
	self->nullb = err != -ENOENT;
	ASSERT_EQ(0, err) {
		TH_LOG("memory-backed null_blk LUN: %s", strerror(-err));
	}
	self->log = vsng_log_alloc(&self->log_len);
	ASSERT_NE(NULL, self->log);
	ASSERT_EQ(0, vsng_log_set_base(&self->e.d, self->log));
}

FIXTURE_TEARDOWN(ibm)
{
	vsng_env_down(&self->e);
	if (self->nullb)
		vsng_nullb_slow_destroy(NB_IB);
	if (self->log)
		munmap(self->log, self->log_len);
}

/*
 * READ(10) of one page at @lba into a three-page data-in buffer in
 * @split descriptors (an underflow: the CDB asks for less than the buffer
 * holds).  Fills the buffer with 0x5a first; leaves the answer in @c.
 */
static void ib_short_read(struct __test_metadata *_metadata,
			  struct vsng_env *e, struct vsng_cmd *c,
			  uint64_t lba, uint64_t din, int split)
{
	uint8_t *p = vsng_hva(&e->d, din, 3 * PG);

	ASSERT_NE(NULL, p);
	memset(p, 0x5a, 3 * PG);
	vsng_cmd_init(c, VSNG_TPGT, 0);
	ASSERT_EQ(0, cmd_own_pages(&e->d, c));
	vsng_cdb_rw(c->cdb, 10, false, lba, PG / VSNG_BLK);
	c->din_gpa = din;
	c->din_len = 3 * PG;
	c->din_split = split;
	ASSERT_EQ(0, vsng_cmd_run(vsng_req_vq(e, 0), c, VSNG_TMO));
	ASSERT_TRUE(RESP_OK(c));
}

/*
 * Proves, on iblock: a READ of one page into a three-page buffer gets
 * GOOD with a residual of two pages, its first page holds the data
 * written, and the two pages past the transfer keep their poison; every
 * page that changed is logged (a changed page not logged is stale on a
 * migration destination).  LIO cuts data_length to the CDB's but iblock
 * builds its bios from every scatterlist entry: a target that hands LIO
 * the whole buffer gets the next blocks of the disk written past the
 * transfer (in-tree: affected).
 */
TEST_F(ibm, short_read_writes_only_the_transfer)
{
	struct vsng_dev *d = &self->e.d;
	uint64_t din = buf_gpa(d, 3 * PG, 0), dout = buf_gpa(d, 3 * PG, 0);
	uint8_t want[3 * PG], *p;
	struct vsng_cmd c = { 0 };
	int changed = 0, unlogged = 0, i;
	size_t past = 0;

	ASSERT_NE(0, din);
	ASSERT_NE(0, dout);
	vsng_fill(want, sizeof(want), 31);
	ASSERT_EQ(0, vsng_gpa_write(d, dout, want, sizeof(want)));
	ASSERT_EQ(0, mig_rw(&self->e, true, 0, dout, 3 * PG, 1, &c));
	memset(self->log, 0, self->log_len);

	ib_short_read(_metadata, &self->e, &c, 0, din, 3);
	EXPECT_EQ(0, c.rsp.status);
	EXPECT_EQ(2 * PG, c.rsp.resid);
	p = vsng_hva(d, din, 3 * PG);
	EXPECT_EQ(0, memcmp(p, want, PG));
	for (i = PG; i < 3 * PG; i++)
		past += p[i] != 0x5a;
	for (i = 0; i < 3; i++) {
		/* changed: not 0x5a all through */
		bool ch = p[i * PG] != 0x5a ||
			  memcmp(p + i * PG, p + i * PG + 1, PG - 1);

		changed += ch;
		unlogged += ch && !vsng_log_test(self->log, din + i * PG);
	}
	TH_LOG("%zu bytes written past the transfer, %d pages changed, %d of them not logged",
	       past, changed, unlogged);
	VSNG_INTREE_AFFECTED(past != 0,
			     "iblock wrote %zu bytes of the next blocks past a one-page READ's transfer into the guest buffer",
			     past);
	if (vsng_target_is_ours()) {
		EXPECT_EQ(0, unlogged);
		EXPECT_TRUE(vsng_log_test(self->log, din));
		EXPECT_EQ(0, vsng_log_count(self->log, din + PG, 2 * PG));
	}
}

/*
 * Proves, on iblock: a READ of the disk's last page into a three-page
 * buffer gets GOOD and the data, with a residual of two pages.  A target
 * that hands LIO the whole buffer makes iblock read past the end of the
 * disk: the block layer fails the bio and the guest gets a CHECK
 * CONDITION for a valid READ (in-tree: affected).
 */
TEST_F(ibm, short_read_at_end_of_disk)
{
	struct vsng_dev *d = &self->e.d;
	uint64_t din = buf_gpa(d, 3 * PG, 0), dout = buf_gpa(d, PG, 0);
	uint64_t lba = self->e.blocks - PG / VSNG_BLK;
	uint8_t want[PG];
	struct vsng_cmd c = { 0 };

	ASSERT_NE(0, din);
	ASSERT_NE(0, dout);
	vsng_fill(want, sizeof(want), 32);
	ASSERT_EQ(0, vsng_gpa_write(d, dout, want, sizeof(want)));
	ASSERT_EQ(0, mig_rw(&self->e, true, lba, dout, PG, 1, &c));

	ib_short_read(_metadata, &self->e, &c, lba, din, 1);
	if (VSNG_INTREE_AFFECTED(c.rsp.status != 0,
				 "a one-page READ of the last page into a three-page buffer got status 0x%x, sense %x/%02x/%02x",
				 c.rsp.status, vsng_sense_key(&c.rsp),
				 vsng_sense_asc(&c.rsp),
				 vsng_sense_ascq(&c.rsp)))
		return;
	EXPECT_EQ(2 * PG, c.rsp.resid);
	EXPECT_EQ(0, memcmp(vsng_hva(d, din, PG), want, PG));
}

/* ---- slow: commands in flight ----------------------------------------- */

#define NB_SLOW		"vsng_dlog2"
#define SLOW_MS		1000

FIXTURE(slow) {
	struct vsng_env e;
	bool nullb;
	uint8_t *log;
	size_t log_len;
};

FIXTURE_SETUP(slow)
{
	struct vsng_dev_opts o = { .nreq = 1, .vring_log = true };
	int err;

	self->e.d.fd = -1;
	o.features = mig_features();
	ASSERT_NE(0, o.features);
	err = vsng_env_up_slow(&self->e, &o, NB_SLOW, SLOW_MS);
	self->nullb = err != -ENOENT;
	ASSERT_EQ(0, err) {
		TH_LOG("slow null_blk LUN: %s", strerror(-err));
	}
	self->log = vsng_log_alloc(&self->log_len);
	ASSERT_NE(NULL, self->log);
	ASSERT_EQ(0, vsng_log_set_base(&self->e.d, self->log));
}

FIXTURE_TEARDOWN(slow)
{
	vsng_env_down(&self->e);
	if (self->nullb)
		vsng_nullb_slow_destroy(NB_SLOW);
	if (self->log)
		munmap(self->log, self->log_len);
}

/* Submit a READ of @len at @din and kick; it stays in flight SLOW_MS. */
static int slow_read(struct vsng_env *e, struct vsng_cmd *c, uint64_t lba,
		     uint64_t din, uint32_t len)
{
	struct vsng_vq *vq = vsng_req_vq(e, 0);
	int err;

	vsng_cmd_init(c, VSNG_TPGT, 0);
	if (!c->req && cmd_own_pages(&e->d, c))
		return -ENOMEM;
	vsng_cdb_rw(c->cdb, 10, false, lba, len / VSNG_BLK);
	c->din_gpa = din;
	c->din_len = len;
	err = vsng_cmd_submit(vq, c);
	if (!err)
		vsng_vq_kick(vq, true);
	return err;
}

/* Wait until the device holds @n commands (ours: stats; in-tree: 300 ms) */
static int slow_wait_taken(struct vsng_env *e, unsigned int n)
{
	struct vhost_scsi_ng_vq_stats st = { 0 };
	uint64_t end = vsng_now_ms() + VSNG_TMO;

	if (!vsng_target_is_ours()) {
		usleep(300 * 1000);
		return 0;
	}
	do {
		if (vsng_vq_stats(&e->d, VSNG_VQ_REQ, &st))
			return -EIO;
	} while (st.inflight < n && vsng_now_ms() < end);
	return st.inflight == n ? 0 : -ETIMEDOUT;
}

static bool slow_reap(struct vsng_vq *vq, struct vsng_cmd *c)
{
	uint64_t end = vsng_now_ms() + VSNG_TMO;

	while (!c->done && vsng_now_ms() < end) {
		vsng_vq_wait(vq, 100);
		vsng_vq_reap(vq);
	}
	return c->done;
}

/*
 * Proves: a READ in flight when SET_LOG_BASE moves the bitmap logs its
 * data-in (in-tree: affected), response and used ring in the new bitmap
 * and nothing in the old one.
 */
TEST_F(slow, set_log_base_inflight)
{
	struct vsng_dev *d = &self->e.d;
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	uint64_t din = buf_gpa(d, 2 * PG, 0);
	uint16_t start = vq->last_used;
	struct vsng_cmd c = { 0 };
	uint64_t t_sub;
	size_t len2;
	uint8_t *log2 = vsng_log_alloc(&len2);

	VSNG_SPLIT_LAYOUT("the used ring's logged pages");

	ASSERT_NE(0, din);
	ASSERT_NE(NULL, log2);
	ASSERT_EQ(0, slow_read(&self->e, &c, 0, din, 2 * PG));
	t_sub = vsng_now_ms();
	ASSERT_EQ(0, slow_wait_taken(&self->e, 1));
	ASSERT_EQ(0, (uint16_t)(vsng_vq_used_idx(vq) - start));
	ASSERT_EQ(0, vsng_log_set_base(d, log2));
	memset(self->log, 0, self->log_len);
	ASSERT_TRUE(ioctl_left_inflight(_metadata, vq, start, t_sub, SLOW_MS,
					"SET_LOG_BASE"));
	ASSERT_TRUE(slow_reap(vq, &c));
	EXPECT_TRUE(RESP_OK(&c) && c.rsp.status == 0);
	EXPECT_EQ(0, vsng_log_total(self->log));
	EXPECT_TRUE(vsng_log_test(log2, vsng_gpa(d, vq->used)));
	VSNG_INTREE_AFFECTED(vsng_log_count(log2, din, 2 * PG) != 2 ||
			     !vsng_log_test(log2, vsng_gpa(d, c.resp)),
			     "in-flight READ not logged in the new bitmap");
	ASSERT_EQ(0, vsng_log_set_base(d, self->log));
	munmap(log2, len2);
}

/*
 * The source half of a migration with two READs in flight, then the
 * destination half.  Proves: CLEAR_ENDPOINT returns with both answered;
 * GET_VRING_BASE then equals the used index (every request the device
 * took has its used entry: the destination neither repeats nor loses
 * one); the used ring, the responses and the data-in pages written
 * during the stop are logged (data-in, in-tree: affected).  A new device
 * started at that base on the same rings takes the request made
 * available after the stop, answers it once, at used index base + 1.
 */
TEST_F(slow, clear_endpoint_resume)
{
	struct vsng_dev *d = &self->e.d;
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	uint64_t din[3];
	uint16_t start = vq->last_used;
	uint32_t base[VSNG_MAX_VQS] = { 0 };
	struct vhost_vring_state s = { 0 };
	struct vsng_cmd c[3] = { 0 };
	int i, missing = 0;

	VSNG_SPLIT_LAYOUT("the 16-bit vring base");

	for (i = 0; i < 3; i++) {
		din[i] = buf_gpa(d, 2 * PG, 0);
		ASSERT_NE(0, din[i]);
	}
	ASSERT_EQ(0, slow_read(&self->e, &c[0], 0, din[0], 2 * PG));
	ASSERT_EQ(0, slow_read(&self->e, &c[1], 8, din[1], 2 * PG));
	ASSERT_EQ(0, slow_wait_taken(&self->e, 2));
	ASSERT_EQ(0, (uint16_t)(vsng_vq_used_idx(vq) - start));
	memset(self->log, 0, self->log_len);

	ASSERT_EQ(0, vsng_dev_clear_endpoint(d));
	for (i = 0; i < d->nvqs; i++) {
		s.index = i;
		s.num = 0xdead;
		ASSERT_EQ(0, vsng_ioctl(d, VHOST_GET_VRING_BASE, &s));
		base[i] = s.num;
	}
	EXPECT_EQ((uint16_t)(start + 2), base[VSNG_VQ_REQ]);
	EXPECT_EQ((uint16_t)base[VSNG_VQ_REQ], vsng_vq_used_idx(vq));
	EXPECT_TRUE(vsng_log_test(self->log, vsng_gpa(d, vq->used)));
	EXPECT_EQ(2, vsng_vq_reap(vq));
	for (i = 0; i < 2; i++) {
		EXPECT_TRUE(c[i].done);
		if (!RESP_OK(&c[i]) || c[i].rsp.status)
			continue;
		missing += 2 - vsng_log_count(self->log, din[i], 2 * PG);
		missing += !vsng_log_test(self->log, vsng_gpa(d, c[i].resp));
	}
	VSNG_INTREE_AFFECTED(missing, "%d pages written during CLEAR_ENDPOINT not logged",
			     missing);

	/* the guest goes on: a request the source never saw */
	vsng_cmd_init(&c[2], VSNG_TPGT, 0);
	ASSERT_EQ(0, cmd_own_pages(d, &c[2]));
	vsng_cdb_rw(c[2].cdb, 10, false, 16, 2 * PG / VSNG_BLK);
	c[2].din_gpa = din[2];
	c[2].din_len = 2 * PG;
	ASSERT_EQ(0, vsng_cmd_submit(vq, &c[2]));

	ASSERT_EQ(0, vsng_dev_reopen(d, base));
	memset(self->log, 0, self->log_len);
	vsng_vq_kick(vq, true);
	ASSERT_TRUE(slow_reap(vq, &c[2]));
	EXPECT_TRUE(RESP_OK(&c[2]) && c[2].rsp.status == 0);
	EXPECT_EQ((uint16_t)(base[VSNG_VQ_REQ] + 1), vsng_vq_used_idx(vq));
	usleep(100 * 1000);
	EXPECT_EQ(0, vsng_vq_reap(vq));
	EXPECT_TRUE(vsng_log_test(self->log, vsng_gpa(d, vq->used)));
	VSNG_INTREE_AFFECTED(vsng_log_count(self->log, din[2], 2 * PG) != 2,
			     "data-in on the destination not logged");
}

/*
 * Proves: a READ whose response page the guest unmaps while the READ is
 * in flight (so writing the response faults) still has its data-in pages
 * logged, and its head comes back on the used ring with length 0: the
 * device wrote the data, and the ring slot is not lost.  In-tree 6.12
 * logs no data-in and never returns the head: affected.
 */
TEST_F(slow, response_fault_logs_data_and_returns_head)
{
	struct vsng_dev *d = &self->e.d;
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	uint64_t din = buf_gpa(d, 2 * PG, 0), end;
	uint16_t start = vq->last_used;
	struct vsng_cmd c = { 0 };
	bool back;
	void *m;

	ASSERT_NE(0, din);
	ASSERT_EQ(0, slow_read(&self->e, &c, 0, din, 2 * PG));
	ASSERT_EQ(0, slow_wait_taken(&self->e, 1));
	/* the response page (its own, page-aligned) goes away */
	ASSERT_EQ(0, (uintptr_t)c.resp % PG);
	ASSERT_EQ(0, munmap(c.resp, PG));
	end = vsng_now_ms() + 3 * SLOW_MS + VSNG_TMO / 4;
	while ((uint16_t)(vsng_vq_used_idx(vq) - start) == 0 &&
	       vsng_now_ms() < end)
		usleep(20 * 1000);
	back = (uint16_t)(vsng_vq_used_idx(vq) - start) != 0;
	if (!back)	/* no completion came: give it its time, then look */
		usleep(2 * SLOW_MS * 1000);
	m = mmap(c.resp, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(c.resp, m);
	VSNG_INTREE_AFFECTED(vsng_log_count(self->log, din, 2 * PG) != 2,
			     "%d of the 2 data-in pages of a READ whose response faulted logged",
			     vsng_log_count(self->log, din, 2 * PG));
	if (VSNG_INTREE_AFFECTED(!back,
				 "the head of a READ whose response faulted never came back"))
		return;
	ASSERT_TRUE(slow_reap(vq, &c));
	EXPECT_EQ(0, c.used_len);
	/* the device is fine: the next READ works */
	memset(&c, 0, sizeof(c));
	ASSERT_EQ(0, slow_read(&self->e, &c, 0, din, PG));
	ASSERT_TRUE(slow_reap(vq, &c));
	EXPECT_TRUE(RESP_OK(&c) && c.rsp.status == 0);
}

TEST_HARNESS_MAIN
