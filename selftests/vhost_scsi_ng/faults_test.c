// SPDX-License-Identifier: GPL-2.0
/*
 * Backend faults: LUN 0 is an iblock backstore on a device-mapper device
 * that fails on demand, stacked on a memory-backed null_blk disk:
 *
 *   LUN 0 -> iblock -> /dev/mapper/vsngf (linear | error | flakey)
 *                          -> /dev/vsngfb (null_blk, memory_backed, badblocks)
 *
 * Each test writes known data, makes the backend fail (a dm table swap, or
 * null_blk badblocks), checks what the guest gets, clears the fault and
 * checks that the same LUN serves I/O again with nothing reloaded.
 *
 * What LIO answers for a failed bio, read in 6.12's target_core_iblock.c:
 * iblock_bio_done() counts the error, iblock_complete_cmd() completes with
 * target_complete_cmd(CHECK CONDITION), which picks the sense reason
 * TCM_LOGICAL_UNIT_COMMUNICATION_FAILURE: sense key NOT READY (0x2), ASC
 * 0x08, ASCQ 0x00, for a READ and a WRITE alike.  Not MEDIUM ERROR 0x11/0x00
 * as a real disk would send: the block layer's error does not say which.
 * Both targets use LIO's core, so both must give exactly that triple.
 *
 * Needs dmsetup, null_blk (a failure without), and dm-mod, dm-flakey and
 * dm-delay (a SKIP on a kernel built without them: the debug kernel).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vsng_test.h"

#define NB_NAME		"vsngfb"
#define __str(x)	#x
#define __stringify(x)	__str(x)
#define DM_NAME		"vsngf"
#define DM_DEV		"/dev/mapper/" DM_NAME
#define NB_CFS		"/sys/kernel/config/nullb/" NB_NAME
#define SIZE_MB		16
#define SECTORS		(SIZE_MB * 2048)
#define NBLK		8		/* blocks per I/O */
#define LEN		(NBLK * VSNG_BLK)
#define LBA		64
#define BUFLEN		(2 * LEN)	/* room for a READ over two ranges */
#define BAD_FIRST	(LBA + NBLK)	/* the badblocks test's bad sectors */
#define BAD_LAST	(LBA + 2 * NBLK - 1)
#define FILL		0x5c		/* data-in buffer before a READ */
/*
 * The data buffer is page-aligned on purpose.  With a buffer at a page
 * offset that is not a multiple of 512 (vsng_alloc_guarded()'s 64-byte
 * alignment plus a 256-byte guard), the blocks written through iblock ->
 * dm-linear -> memory-backed null_blk read back wrong from the first
 * sector that straddles a page, identically on ours and in-tree: a bio
 * segment that is not a whole number of sectors trips null_blk's
 * memory-backed copy (null_transfer() advances the sector by len >> 9 per
 * segment).  That is below the target; see Documentation/selftests.md.
 */
#define GUARD		4096

/* The sense LIO sends for any failed backend bio (see above). */
#define FAULT_KEY	0x02		/* NOT READY */
#define FAULT_ASC	0x08		/* LOGICAL UNIT COMMUNICATION FAILURE */
#define FAULT_ASCQ	0x00

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -errno : WIFEXITED(rc) ? WEXITSTATUS(rc) : 255;
}

/* udev does not run in the test guest: dmsetup makes the nodes itself. */
#define DMSETUP "DM_DISABLE_UDEV=1 dmsetup"

static int dm_table(const char *table)
{
	return sh(DMSETUP " reload " DM_NAME " --table '%s' && "
		  DMSETUP " resume " DM_NAME, table);
}

static int dm_linear(void)
{
	char t[128];

	snprintf(t, sizeof(t), "0 %d linear /dev/%s 0", SECTORS, NB_NAME);
	return dm_table(t);
}

static int dm_flakey(const char *feature)
{
	char t[128];

	/* up 0 s, down 1 s: always down */
	snprintf(t, sizeof(t), "0 %d flakey /dev/%s 0 0 1 %s", SECTORS,
		 NB_NAME, feature);
	return dm_table(t);
}

/*
 * dm-flakey's error_reads feature is newer than 6.1 (whose flakey without
 * features fails writes too): try it on a throw-away device over the same
 * null_blk, leaving the test's device alone.
 */
static bool flakey_has_error_reads(void)
{
	return !sh(DMSETUP " create vsngfp --table '0 8 flakey /dev/%s 0 0 1 "
		   "1 error_reads' 2>/dev/null && " DMSETUP " remove vsngfp",
		   NB_NAME);
}

/* The null_blk disk of the timeout test (see nullb_timeout) */
#define TMO_NB		"vsngft"

static void backend_destroy(void)
{
	/* LIO may put the block device a little after the backstore goes */
	sh("[ -e " DM_DEV " ] && " DMSETUP " remove --retry " DM_NAME);
	vsng_sysfs_write(NB_CFS "/power", "0");
	rmdir(NB_CFS);
	vsng_nullb_slow_destroy(TMO_NB);
}

/*
 * 0, a positive exit code of a failed step, -EOPNOTSUPP without the dm
 * modules, -ENOENT without dmsetup or null_blk.
 */
static int backend_create(void)
{
	struct stat st;
	int i;

	/* A kernel built without device-mapper (the debug kernel): SKIP */
	if (sh("/sbin/modprobe -q dm-mod && /sbin/modprobe -q dm-flakey && "
	       "/sbin/modprobe -q dm-delay"))
		return -EOPNOTSUPP;
	/* Anything else missing is a broken fixture: fail */
	if (sh("command -v dmsetup >/dev/null"))
		return -ENOENT;
	if (access("/sys/kernel/config/nullb", F_OK) &&
	    sh("/sbin/modprobe -q null_blk nr_devices=0"))
		return -ENOENT;
	backend_destroy();
	if (mkdir(NB_CFS, 0755))
		return -errno;
	if (vsng_sysfs_write(NB_CFS "/size", __stringify(SIZE_MB)) ||
	    vsng_sysfs_write(NB_CFS "/blocksize", "512") ||
	    vsng_sysfs_write(NB_CFS "/memory_backed", "1") ||
	    vsng_sysfs_write(NB_CFS "/power", "1"))
		return -EIO;
	for (i = 0; i < 50 && stat("/dev/" NB_NAME, &st); i++)
		usleep(20 * 1000);
	if (sh(DMSETUP " create " DM_NAME " --table '0 %d linear /dev/%s 0'",
	       SECTORS, NB_NAME))
		return 1;
	for (i = 0; i < 50 && stat(DM_DEV, &st); i++)
		usleep(20 * 1000);
	return stat(DM_DEV, &st) ? -ENODEV : 0;
}

FIXTURE(flt) {
	struct vsng_env e;
	struct vsng_cmd c;
	uint8_t *buf;		/* data-in / data-out, guarded */
	uint8_t *good;		/* what LBA..LBA+NBLK holds */
};

FIXTURE_SETUP(flt)
{
	struct vsng_env *e = &self->e;
	int err;

	e->d.fd = -1;
	vsng_target_init(&e->t, vsng_test_id());
	vsng_target_destroy(&e->t);	/* a failed setup has no teardown */
	err = backend_create();
	if (err == -EOPNOTSUPP) {
		struct utsname u;

		uname(&u);
		SKIP(return, "kernel %s has no dm-mod, dm-flakey or dm-delay",
		     u.release);
	}
	ASSERT_EQ(0, err) {
		TH_LOG("backend: %s", err == -ENOENT ?
		       "no dmsetup or null_blk in the guest" : "set-up failed");
	}
	snprintf(e->t.backend, sizeof(e->t.backend), "iblock");
	snprintf(e->t.hba, sizeof(e->t.hba), "iblock_%u",
		 1000 + vsng_test_id() % 8000);
	snprintf(e->t.dev_path, sizeof(e->t.dev_path), DM_DEV);
	e->t.size_mb = SIZE_MB;
	e->blocks = (uint64_t)SIZE_MB * 2048;
	ASSERT_EQ(0, vsng_target_create(&e->t, 1));
	ASSERT_EQ(0, vsng_dev_init(&e->d, NULL));
	ASSERT_EQ(0, vsng_dev_set_endpoint(&e->d, e->t.wwpn));
	vsng_clear_ua(&e->d.vq[VSNG_VQ_REQ], 0);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	self->buf = vsng_alloc(&e->d, 0, BUFLEN + 2 * GUARD, 4096);
	ASSERT_NE(NULL, self->buf);
	memset(self->buf, 0xa5, BUFLEN + 2 * GUARD);
	self->buf += GUARD;	/* page-aligned, guards of vsng_alloc_guarded */
	ASSERT_NE(NULL, self->buf);
	self->good = malloc(LEN);
	ASSERT_NE(NULL, self->good);
}

FIXTURE_TEARDOWN(flt)
{
	vsng_env_down(&self->e);
	backend_destroy();
	free(self->good);
}

static struct vsng_vq *vq0(struct vsng_env *e)
{
	return vsng_req_vq(e, 0);
}

/* A READ of nblk blocks at lba into the FILL-ed buffer; 0 or -errno. */
static int do_read(FIXTURE_DATA(flt) *self, uint64_t lba, uint32_t nblk)
{
	memset(self->buf, FILL, BUFLEN);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	return vsng_rw(vq0(&self->e), &self->c, 10, false, lba, nblk,
		       vsng_gpa(&self->e.d, self->buf), nblk * VSNG_BLK);
}

static int do_write(FIXTURE_DATA(flt) *self, const void *data)
{
	memcpy(self->buf, data, LEN);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	return vsng_rw(vq0(&self->e), &self->c, 10, true, LBA, NBLK,
		       vsng_gpa(&self->e.d, self->buf), LEN);
}

/* Write seed's data at LBA, expect GOOD, keep it as self->good. */
#define WRITE_GOOD(seed) do {						\
	vsng_fill(self->good, LEN, seed);				\
	ASSERT_EQ(0, do_write(self, self->good));			\
	ASSERT_TRUE(RESP_OK(&self->c));					\
	ASSERT_EQ(0, self->c.rsp.status);				\
} while (0)

/* READ LBA: GOOD, no residual, and exactly self->good. */
#define READ_GOOD() do {						\
	ASSERT_EQ(0, do_read(self, LBA, NBLK));				\
	ASSERT_TRUE(RESP_OK(&self->c));					\
	EXPECT_EQ(0, self->c.rsp.status);				\
	EXPECT_EQ(0, self->c.rsp.resid);				\
	EXPECT_EQ(0, memcmp(self->buf, self->good, LEN)) {		\
		int __i = 0;						\
									\
		while (__i < LEN && self->buf[__i] == self->good[__i])	\
			__i++;						\
		TH_LOG("first difference at byte %d: read %02x, wrote %02x",\
		       __i, self->buf[__i], self->good[__i]);		\
	}								\
	EXPECT_TRUE(vsng_guard_ok(self->buf, BUFLEN, GUARD));		\
} while (0)

/*
 * After the fault and the recovery, LIO holds no command of the LUN: the
 * LUN unlinks promptly (LIO's unlink waits for every command that
 * references it; see vsng_target_del_lun_timed()).
 */
#define LUN_RELEASED() \
	EXPECT_EQ(0, vsng_target_del_lun_timed(&self->e.t, 0, 10000))

/*
 * The answer to a command the backend failed: CHECK CONDITION with LIO's
 * sense for a failed bio, never GOOD.  Residual: what was seen on both
 * targets is 0 (LIO sets no residual on a failed command; the guest must
 * go by the status, not by the residual).
 */
#define EXPECT_FAULT_OF(cmd, what) do {					\
	const struct vsng_cmd *__c = (cmd);				\
									\
	EXPECT_TRUE(RESP_OK(__c));					\
	EXPECT_EQ(2, __c->rsp.status) {					\
		TH_LOG("%s: status 0x%x, GOOD for failed data?", what,	\
		       __c->rsp.status);				\
	}								\
	EXPECT_EQ(FAULT_KEY, vsng_sense_key(&__c->rsp));		\
	EXPECT_EQ(FAULT_ASC, vsng_sense_asc(&__c->rsp));		\
	EXPECT_EQ(FAULT_ASCQ, vsng_sense_ascq(&__c->rsp)) {		\
		TH_LOG("%s: sense %02x/%02x/%02x", what,		\
		       vsng_sense_key(&__c->rsp),			\
		       vsng_sense_asc(&__c->rsp),			\
		       vsng_sense_ascq(&__c->rsp));			\
	}								\
	EXPECT_GE(__c->rsp.sense_len, 14);				\
	EXPECT_EQ(0, __c->rsp.resid);					\
	ksft_print_msg("%s: status 0x%x sense %02x/%02x/%02x resid %u\n",\
		       what, __c->rsp.status,				\
		       vsng_sense_key(&__c->rsp),			\
		       vsng_sense_asc(&__c->rsp),			\
		       vsng_sense_ascq(&__c->rsp), __c->rsp.resid);	\
} while (0)
#define EXPECT_FAULT(what) EXPECT_FAULT_OF(&self->c, what)

/* 0: every byte still FILL; 1: all zero; -1: anything else. */
static int buf_state(const uint8_t *b, size_t len)
{
	size_t i;
	bool fill = true, zero = true;

	for (i = 0; i < len; i++) {
		fill &= b[i] == FILL;
		zero &= b[i] == 0;
	}
	return fill ? 0 : zero ? 1 : -1;
}

/*
 * A failed READ's data-in buffer: left as the guest filled it (the backend
 * wrote nothing, nothing else was copied in).  Neither the backend's data
 * nor any other memory may show up; zeroes are accepted but reported.
 */
#define EXPECT_BUF_UNTOUCHED(what, len) do {				\
	int __s = buf_state(self->buf, len);				\
									\
	EXPECT_LE(0, __s) {						\
		TH_LOG("%s: data-in buffer changed on a failed READ%s", \
		       what, memmem(self->buf, len, self->good, 64) ?	\
		       " (holds the backend's data)" : "");		\
	}								\
	if (__s >= 0)							\
		ksft_print_msg("%s: data-in buffer %s\n", what,		\
			       __s ? "zeroed" : "unchanged");		\
	EXPECT_TRUE(vsng_guard_ok(self->buf, BUFLEN, GUARD));		\
} while (0)

/*
 * Proves: with the whole device an error target, READ and WRITE both get
 * CHECK CONDITION 02/08/00 (never GOOD), the data-in buffer is untouched,
 * and after a table swap back to linear the same LUN reads the data from
 * before the fault and takes new writes.
 */
TEST_F(flt, dm_error)
{
	uint8_t *next = malloc(LEN);

	ASSERT_NE(NULL, next);
	WRITE_GOOD(0x1501);
	{
		char t[64];

		snprintf(t, sizeof(t), "0 %d error", SECTORS);
		ASSERT_EQ(0, dm_table(t));
	}

	ASSERT_EQ(0, do_read(self, LBA, NBLK));
	EXPECT_FAULT("dm-error READ");
	EXPECT_BUF_UNTOUCHED("dm-error READ", LEN);

	vsng_fill(next, LEN, 0x1502);
	ASSERT_EQ(0, do_write(self, next));
	EXPECT_FAULT("dm-error WRITE");

	ASSERT_EQ(0, dm_linear());
	READ_GOOD();
	WRITE_GOOD(0x1503);
	READ_GOOD();
	free(next);
	LUN_RELEASED();
}

/*
 * Proves: dm-flakey error_reads fails READs (02/08/00, buffer untouched)
 * while WRITEs succeed and land: after recovery the write made during the
 * fault reads back.
 */
TEST_F(flt, flakey_error_reads)
{
	if (!flakey_has_error_reads())
		SKIP(return, "this kernel's dm-flakey has no error_reads feature (6.1)");
	WRITE_GOOD(0x1511);
	ASSERT_EQ(0, dm_flakey("1 error_reads"));

	ASSERT_EQ(0, do_read(self, LBA, NBLK));
	EXPECT_FAULT("flakey error_reads READ");
	EXPECT_BUF_UNTOUCHED("flakey error_reads READ", LEN);

	WRITE_GOOD(0x1512);		/* writes pass */

	ASSERT_EQ(0, dm_linear());
	READ_GOOD();			/* the write made during the fault */
	LUN_RELEASED();
}

/*
 * Proves: dm-flakey error_writes fails WRITEs (02/08/00) while READs are
 * served; the failed write did not land (old data after recovery), and a
 * new write after recovery reads back.
 */
TEST_F(flt, flakey_error_writes)
{
	uint8_t *next = malloc(LEN);

	ASSERT_NE(NULL, next);
	WRITE_GOOD(0x1521);
	ASSERT_EQ(0, dm_flakey("1 error_writes"));

	vsng_fill(next, LEN, 0x1522);
	ASSERT_EQ(0, do_write(self, next));
	EXPECT_FAULT("flakey error_writes WRITE");

	READ_GOOD();			/* reads pass, old data */

	ASSERT_EQ(0, dm_linear());
	READ_GOOD();
	WRITE_GOOD(0x1523);
	READ_GOOD();
	free(next);
	LUN_RELEASED();
}

/*
 * Documents: dm-flakey drop_writes completes WRITEs as successful without
 * writing.  The backend lies, so no target can know: the guest gets GOOD
 * and, after recovery, the old data.  This pins that down (it is the
 * backend's silent loss, not the target's).
 */
TEST_F(flt, flakey_drop_writes)
{
	uint8_t *next = malloc(LEN);

	ASSERT_NE(NULL, next);
	WRITE_GOOD(0x1531);
	ASSERT_EQ(0, dm_flakey("1 drop_writes"));

	vsng_fill(next, LEN, 0x1532);
	ASSERT_EQ(0, do_write(self, next));
	ASSERT_TRUE(RESP_OK(&self->c));
	EXPECT_EQ(0, self->c.rsp.status);

	ASSERT_EQ(0, dm_linear());
	READ_GOOD();			/* the dropped write is not there */
	ksft_print_msg("flakey drop_writes: WRITE GOOD, old data after recovery\n");
	free(next);
	LUN_RELEASED();
}

/* A data-in buffer the targets bounce: more than BIO_MAX_VECS pages, not
 * sector aligned (as scsi_err's bounce_copies_back_only_the_answer).
 */
#define BNC_LEN		(1024 * 1024 + 4096)
#define BNC_AREA	(BNC_LEN + 3 * 4096)
#define BNC_FILL	0x77

static size_t area_changed(const uint8_t *area, const uint8_t *keep,
			   size_t keep_len, size_t *stale)
{
	size_t i, n = 0;

	*stale = 0;
	for (i = 0; i < BNC_AREA; i++) {
		if (area + i >= keep && area + i < keep + keep_len)
			continue;
		if (area[i] != BNC_FILL) {
			n++;
			*stale += area[i] != 0;
		}
	}
	return n;
}

/*
 * Proves: a READ that takes the bounce path (1 MiB + 4 KiB at a 3-byte
 * offset) and that the backend fails (dm-error) gets 02/08/00 and leaves
 * the guest's buffer exactly as it was: no bounce page (zeroed or not)
 * is copied back for a failed command.  After recovery the same bounced
 * READ is GOOD and brings the data written before the fault, and nothing
 * past the data.  In-tree 6.12 copies every bounce page back whatever the
 * status: affected.  In-tree 6.1 has no bounce path: it hands the 3-byte
 * offset scatterlist to iblock as it is, and the recovered READ is GOOD
 * with wrong data: affected.
 */
TEST_F_TIMEOUT(flt, dm_error_bounced_read, 120)
{
	size_t changed, stale, i, wrong, first;
	uint8_t *area, *buf;
	char t[64];

	area = vsng_alloc(&self->e.d, 2, BNC_AREA, 4096);
	ASSERT_NE(NULL, area);
	buf = area + 4096 + 3;
	vsng_fill(self->good, LEN, 0x1551);
	ASSERT_EQ(0, do_write(self, self->good));	/* page-aligned */
	ASSERT_EQ(0, self->c.rsp.status);
	snprintf(t, sizeof(t), "0 %d error", SECTORS);
	ASSERT_EQ(0, dm_table(t));

	memset(area, BNC_FILL, BNC_AREA);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, 10, false, LBA,
			     BNC_LEN / VSNG_BLK, vsng_gpa(&self->e.d, buf),
			     BNC_LEN));
	EXPECT_FAULT("dm-error bounced READ");
	changed = area_changed(area, NULL, 0, &stale);
	if (!VSNG_INTREE_AFFECTED(changed != 0,
				  "bounced READ failed by the backend: %zu bytes of the guest buffer overwritten, %zu of them non-zero",
				  changed, stale))
		ksft_print_msg("dm-error bounced READ: data-in buffer unchanged\n");

	ASSERT_EQ(0, dm_linear());
	memset(area, BNC_FILL, BNC_AREA);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, 10, false, LBA,
			     BNC_LEN / VSNG_BLK, vsng_gpa(&self->e.d, buf),
			     BNC_LEN));
	ASSERT_TRUE(RESP_OK(&self->c));
	EXPECT_EQ(0, self->c.rsp.status);
	EXPECT_EQ(0, self->c.rsp.resid);
	for (i = 0, wrong = 0, first = LEN; i < LEN; i++)
		if (buf[i] != self->good[i]) {
			wrong++;
			first = first < i ? first : i;
		}
	VSNG_INTREE_AFFECTED(self->c.rsp.status == 0 && wrong,
			     "misaligned READ through iblock answered GOOD with %zu of %d bytes wrong (first at %zu)",
			     wrong, LEN, first);
	EXPECT_EQ(0, area_changed(area, buf, BNC_LEN, &stale));
	LUN_RELEASED();
}

/*
 * dm-delay's delay is jiffies + 400 ms at the time it takes the bio, and
 * jiffies lags the clock while the guest's ticks are late (a loaded TCG
 * host): a READ was seen GOOD after 340 ms (in-tree 6.1).  What proves the
 * target waited is a time far above a linear READ's (tens of ms).
 */
#define DM_DELAY_MS	400
#define DM_DELAY_MIN	250

/*
 * Proves: a slow backend (dm-delay, 400 ms per I/O) is waited for, not
 * failed: a WRITE and a READ each take at least DM_DELAY_MIN ms, are GOOD,
 * and the data reads back; back on linear, I/O is fast again.
 */
TEST_F(flt, dm_delay)
{
	uint64_t t0;
	char t[96];

	snprintf(t, sizeof(t), "0 %d delay /dev/%s 0 %d", SECTORS, NB_NAME,
		 DM_DELAY_MS);
	ASSERT_EQ(0, dm_table(t));
	t0 = vsng_now_ms();
	WRITE_GOOD(0x1561);
	EXPECT_LE(DM_DELAY_MIN, vsng_now_ms() - t0);
	t0 = vsng_now_ms();
	READ_GOOD();
	EXPECT_LE(DM_DELAY_MIN, vsng_now_ms() - t0);
	ksft_print_msg("dm-delay 400 ms: WRITE and READ GOOD in %llu ms (READ)\n",
		       (unsigned long long)(vsng_now_ms() - t0));
	ASSERT_EQ(0, dm_linear());
	t0 = vsng_now_ms();
	READ_GOOD();
	EXPECT_GT(DM_DELAY_MIN, vsng_now_ms() - t0);
	LUN_RELEASED();
}

static int badblocks(char op)
{
	char v[64];

	snprintf(v, sizeof(v), "%c%d-%d", op, BAD_FIRST, BAD_LAST);
	return vsng_sysfs_write(NB_CFS "/badblocks", v);
}

/*
 * Proves: null_blk badblocks under the linear table (sectors BAD_FIRST ..
 * BAD_LAST, right after the written range).  A READ of the good range
 * alone is served; a READ that spans the good and the bad blocks fails as
 * a whole (02/08/00) and none of the good blocks' data reaches the buffer;
 * a WRITE over bad blocks fails; once the badblocks are cleared the same
 * LUN serves both ranges.
 */
TEST_F(flt, nullb_badblocks)
{
	WRITE_GOOD(0x1541);
	ASSERT_EQ(0, badblocks('+'));

	READ_GOOD();			/* LBA .. LBA+7: good */

	ASSERT_EQ(0, do_read(self, LBA, 2 * NBLK));	/* good, then bad */
	EXPECT_FAULT("badblocks READ");
	EXPECT_BUF_UNTOUCHED("badblocks READ", BUFLEN);

	memcpy(self->buf, self->good, LEN);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, 10, true, BAD_FIRST,
			     NBLK, vsng_gpa(&self->e.d, self->buf), LEN));
	EXPECT_FAULT("badblocks WRITE");

	ASSERT_EQ(0, badblocks('-'));
	READ_GOOD();
	ASSERT_EQ(0, do_read(self, BAD_FIRST, NBLK));	/* readable again */
	ASSERT_TRUE(RESP_OK(&self->c));
	EXPECT_EQ(0, self->c.rsp.status);
	WRITE_GOOD(0x1542);
	READ_GOOD();
	LUN_RELEASED();
}

/*
 * A request that times out: a null_blk disk, vsngft, in timer mode
 * (irqmode=2) completes each request TMO_DONE_MS after it takes it, and
 * its queue's io_timeout is TMO_IO_MS.  The stock kernel has no
 * CONFIG_FAULT_INJECTION, so null_blk's own timeout injection is not
 * there; this is a real block-layer timeout instead: blk-mq's timeout
 * handler calls null_timeout_rq() (6.12), which logs "rq ... timed out",
 * sets the request's error to BLK_STS_TIMEOUT and returns BLK_EH_DONE; the
 * request then ends, with that error, when null_blk's timer fires.  dm
 * (bio-based) has no timeout of its own: the one of the disk below counts.
 */
#define TMO_DONE_MS	4000
#define TMO_IO_MS	1000

/*
 * Proves: a READ and a WRITE whose requests time out in the block layer
 * (dm table swapped to linear over vsngft) are answered CHECK CONDITION
 * NOT READY 02/08/00, LIO's answer for any failed bio (BLK_STS_TIMEOUT
 * included), once the request ends: after TMO_DONE_MS, never GOOD, the
 * READ's buffer untouched; null_blk logged a timeout for each.  Nothing
 * hangs: both answers come within 20 s.  Back on the linear table the
 * same LUN reads the data from before (the failed WRITE did not land
 * there) and takes new writes.
 */
TEST_F(flt, nullb_timeout)
{
	struct vsng_cmd w = { 0 };
	char p[96], t[96];
	uint64_t t0, ms;
	int kfd, n;

	WRITE_GOOD(0x1571);
	ASSERT_EQ(0, vsng_nullb_create(TMO_NB, TMO_DONE_MS, SIZE_MB, false));
	snprintf(p, sizeof(p), "/sys/block/%s/queue/io_timeout", TMO_NB);
	snprintf(t, sizeof(t), "%d", TMO_IO_MS);
	ASSERT_EQ(0, vsng_sysfs_write(p, t));
	snprintf(t, sizeof(t), "0 %d linear /dev/%s 0", SECTORS, TMO_NB);
	ASSERT_EQ(0, dm_table(t));
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kfd >= 0)
		lseek(kfd, 0, SEEK_END);

	/* a READ (self->c into self->buf) and a WRITE, both in flight */
	memset(self->buf, FILL, BUFLEN);
	vsng_fill(self->buf + LEN, LEN, 0x1572);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	vsng_cdb_rw(self->c.cdb, 10, false, LBA, NBLK);
	self->c.din_gpa = vsng_gpa(&self->e.d, self->buf);
	self->c.din_len = LEN;
	vsng_cmd_init(&w, VSNG_TPGT, 0);
	vsng_cdb_rw(w.cdb, 10, true, LBA, NBLK);
	w.dout_gpa = vsng_gpa(&self->e.d, self->buf + LEN);
	w.dout_len = LEN;
	t0 = vsng_now_ms();
	ASSERT_EQ(0, vsng_cmd_submit(vq0(&self->e), &self->c));
	/* submits and kicks the WRITE, reaps whatever is answered */
	ASSERT_EQ(0, vsng_cmd_run(vq0(&self->e), &w, VSNG_TMO));
	while (!self->c.done && vsng_now_ms() - t0 < VSNG_TMO) {
		vsng_vq_wait(vq0(&self->e), 20);
		vsng_vq_reap(vq0(&self->e));
	}
	ms = vsng_now_ms() - t0;
	ASSERT_TRUE(self->c.done);
	EXPECT_FAULT("timed-out READ");
	EXPECT_BUF_UNTOUCHED("timed-out READ", LEN);
	EXPECT_FAULT_OF(&w, "timed-out WRITE");
	ksft_print_msg("io_timeout %d ms, null_blk completion %d ms: both answered after %llu ms\n",
		       TMO_IO_MS, TMO_DONE_MS, (unsigned long long)ms);
	EXPECT_LE(TMO_DONE_MS / 2, ms);
	n = kfd >= 0 ? vsng_kmsg_count(kfd, "timed out", "block") : -1;
	ksft_print_msg("kernel log: %d 'timed out' lines\n", n);
	EXPECT_LE(2, n);
	if (kfd >= 0)
		close(kfd);

	ASSERT_EQ(0, dm_linear());
	READ_GOOD();			/* the failed WRITE is not there */
	WRITE_GOOD(0x1573);
	READ_GOOD();
	LUN_RELEASED();
}

TEST_HARNESS_MAIN
