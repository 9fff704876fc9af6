// SPDX-License-Identifier: GPL-2.0
/*
 * Backend gone: LUN 0 -> iblock -> /dev/sdX, a scsi_debug disk (16 MiB),
 * deleted through sysfs (.../device/delete) while commands are in flight:
 * a real hot removal (del_gendisk), not a table swap (issue 15).
 *
 * The load (faults_load.h): known data written to NIO ranges, then NIO
 * commands in flight (READs of the known data, WRITEs of new data), each
 * answer checked: GOOD only with the right data, otherwise CHECK CONDITION
 * with the sense LIO gives for the case, no stale memory in a READ's
 * buffer, nothing past the bound.  The LUN must then unlink promptly (LIO
 * holds no command of it) and the disk's driver unload.
 *
 * Needs scsi_debug: Debian's 6.12 has it; a kernel without it (the debug
 * kernel of make check KERNEL=debug) SKIPs, with the reason, as
 * vsng_faults does without device-mapper.
 */
#include "kselftest_harness.h"
#include "vsng_test.h"
#include "faults_load.h"

/* --- gone: a scsi_debug disk deleted under load -------------------------- */

#define SDEBUG		"/sys/bus/pseudo/drivers/scsi_debug"
#define SDEBUG_NS	"800000000"	/* ns per command while the disk goes */

/* The scsi_debug disk's name (sdX) once sd has bound it: 0 or -ENOENT. */
static int sdebug_disk(char *name, size_t len)
{
	uint64_t end = vsng_now_ms() + 10000;
	glob_t g;
	int err = -ENOENT;

	do {
		if (!glob(SDEBUG "/adapter*/host*/target*/*:*:*:*/block/sd*",
			  0, NULL, &g)) {
			snprintf(name, len, "%s", strrchr(g.gl_pathv[0], '/') + 1);
			err = 0;
		}
		globfree(&g);
		if (!err) {
			char dev[64];

			snprintf(dev, sizeof(dev), "/dev/%s", name);
			return wait_path(dev, 5000);
		}
		usleep(50 * 1000);
	} while (vsng_now_ms() < end);
	return err;
}

FIXTURE(gone) {
	struct vsng_env e;
	struct load l;
	char disk[32];
	bool loaded;
};

FIXTURE_SETUP(gone)
{
	char dev[64];
	int err;

	self->e.d.fd = -1;
	vsng_target_init(&self->e.t, vsng_test_id());
	vsng_target_destroy(&self->e.t);
	sh("rmmod scsi_debug 2>/dev/null");
	/* no udev in the test guest: nothing would load sd_mod for it */
	err = sh("/sbin/modprobe -q sd_mod && "
		 "/sbin/modprobe -q scsi_debug dev_size_mb=%d num_tgts=1 "
		 "max_luns=1 add_host=1", SIZE_MB);
	if (err) {
		struct utsname u;

		uname(&u);
		SKIP(return, "kernel %s has no scsi_debug", u.release);
	}
	self->loaded = true;
	ASSERT_EQ(0, sdebug_disk(self->disk, sizeof(self->disk))) {
		TH_LOG("scsi_debug loaded, but no sd disk within 10 s");
	}
	snprintf(dev, sizeof(dev), "/dev/%s", self->disk);
	ASSERT_EQ(0, lun_on(&self->e, dev));
	ASSERT_EQ(0, load_init(&self->e, &self->l));
}

FIXTURE_TEARDOWN(gone)
{
	vsng_env_down(&self->e);
	if (self->loaded) {
		vsng_sysfs_write(SDEBUG "/ndelay", "0");
		sh("rmmod scsi_debug");
	}
	free(self->l.exp);
}

/*
 * Proves, for a disk deleted through sysfs (del_gendisk) with NIO/2 READs
 * and NIO/2 WRITEs in flight (scsi_debug answers each after 800 ms):
 * - every in-flight command is answered within the bound: GOOD only with
 *   the right data (the disk finished it before it went; del_gendisk
 *   waits for what the disk holds), else CHECK CONDITION;
 * - a READ and a WRITE sent after the removal get CHECK CONDITION, the
 *   exact sense LIO gives here: a deleted disk has capacity 0, LIO's iblock
 *   reads the capacity live (iblock_get_blocks()), so every block is
 *   beyond the end: ILLEGAL REQUEST, LBA OUT OF RANGE (05/21/00), not
 *   NOT READY; the READ's buffer untouched;
 * - READ CAPACITY then reports what LIO computes from capacity 0
 *   (printed for the docs);
 * - the LUN unlinks within 10 s (LIO holds no command), the target and
 *   the backstore go, and scsi_debug unloads (nothing holds the disk).
 */
TEST_F_TIMEOUT(gone, disk_deleted_under_load, 90)
{
	static const uint32_t inflight_ok[] = { S_COMM_FAILURE, S_LBA_RANGE, 0 };
	struct vsng_env *e = &self->e;
	struct load *l = &self->l;
	struct vsng_cmd c = { 0 };
	uint8_t cdb[16] = { 0 }, *cap;
	uint64_t t0;
	struct tally t;
	int kfd, before, lines;
	struct io *r, *w;

	ASSERT_EQ(0, load_prepare(e, l));
	ASSERT_EQ(0, wr(SDEBUG_NS, SDEBUG "/ndelay"));
	kfd = kmsg_open();
	ASSERT_EQ(0, load_submit(e, l, 0, NIO));
	usleep(200 * 1000);
	before = load_reap(e, l, 0, NIO, 0);
	t0 = vsng_now_ms();
	ASSERT_EQ(0, sh("echo 1 > /sys/block/%s/device/delete", self->disk));
	ksft_print_msg("disk %s deleted in %llu ms, %d of %d answered before\n",
		       self->disk, (unsigned long long)(vsng_now_ms() - t0),
		       before, NIO);
	{
		char p[64];

		snprintf(p, sizeof(p), "/sys/block/%s", self->disk);
		EXPECT_NE(0, access(p, F_OK));	/* the disk is gone */
	}
	ASSERT_EQ(NIO, load_reap(e, l, 0, NIO, BOUND_MS));
	load_print(l, 0, NIO, "in flight");
	load_check(_metadata, l, 0, NIO, inflight_ok, &t, "in flight");
	ksft_print_msg("in flight at the removal: %d GOOD, %d CHECK CONDITION\n",
		       t.good, t.failed);

	/* later commands: one READ, one WRITE */
	r = &l->io[0];
	w = &l->io[1];
	ASSERT_EQ(0, load_submit(e, l, 0, 2));
	ASSERT_EQ(2, load_reap(e, l, 0, 2, BOUND_MS));
	load_print(l, 0, 2, "after");
	EXPECT_EQ(2, r->c.rsp.status);
	EXPECT_EQ(S_LBA_RANGE, sense_of(&r->c));
	EXPECT_EQ(2, w->c.rsp.status);
	EXPECT_EQ(S_LBA_RANGE, sense_of(&w->c));
	EXPECT_EQ(0, stale_blocks(l, r));
	memset(l->exp, FILL, LEN);
	EXPECT_EQ(0, memcmp(r->buf, l->exp, LEN)) {
		TH_LOG("READ after the removal changed its buffer");
	}

	/* what the guest learns about the device now */
	cap = r->buf;
	memset(cap, FILL, 32);
	ASSERT_EQ(0, vsng_tur(vsng_req_vq(e, 0), VSNG_TPGT, 0, &c));
	ksft_print_msg("after: TEST UNIT READY status 0x%x sense %06x\n",
		       c.rsp.status, c.rsp.status ? sense_of(&c) : 0);
	cdb[0] = 0x25;
	vsng_cmd_init(&c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_scsi(vsng_req_vq(e, 0), &c, cdb, 10, 0, 0,
			       vsng_gpa(&e->d, cap), 8));
	ksft_print_msg("after: READ CAPACITY(10) status 0x%x last LBA 0x%02x%02x%02x%02x block %u\n",
		       c.rsp.status, cap[0], cap[1], cap[2], cap[3],
		       cap[4] << 24 | cap[5] << 16 | cap[6] << 8 | cap[7]);
	lines = vsng_kmsg_count(kfd, "exceeds last lba", "LIO");
	ksft_print_msg("kernel log: %d 'cmd exceeds last lba' lines\n", lines);
	if (kfd >= 0)
		close(kfd);

	LUN_RELEASED(e);
	vsng_env_down(e);
	EXPECT_EQ(0, sh("rmmod scsi_debug"));
	self->loaded = false;
}

TEST_HARNESS_MAIN
