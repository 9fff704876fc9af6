// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging of a command that is in flight while the memory table
 * changes (issue 14, defect 7).
 *
 * With VHOST_F_LOG_ALL every guest page the device writes must be marked
 * in the log bitmap, or a live migration copies a stale page.  A READ is
 * held in flight by a slow null_blk LUN; meanwhile SET_MEM_TABLE moves or
 * removes a region its buffers live in; then the READ completes.  Every
 * page of its data-in buffer and its response must be logged, at the
 * guest-physical address the guest gave (the one in force when the device
 * took the request), as the vhost core logs vhost-net's buffers.
 */
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
	bool rsp_logged;

	ASSERT_NE(0, gpa);
	ASSERT_EQ(0, gpa % PG);
	vsng_cmd_init(&c, VSNG_TPGT, 0);
	vsng_cdb_rw(c.cdb, 10, false, 0, NPG * PG / VSNG_BLK);
	c.din_gpa = gpa;
	c.din_len = NPG * PG;
	c.din_split = NPG;
	ASSERT_EQ(0, vsng_cmd_submit(vq, &c));
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
	ASSERT_EQ(0, swap_table(d, variant->remove_r0));
	/* still in flight when the table changed, or the test proves nothing */
	ASSERT_EQ(0, (uint16_t)(vsng_vq_used_idx(vq) - start));

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

TEST_HARNESS_MAIN
