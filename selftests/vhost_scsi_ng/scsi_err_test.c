// SPDX-License-Identifier: GPL-2.0
/*
 * SCSI error tests: what the guest sees for wrong targets, LUNs, LBAs and
 * mismatched buffer lengths.
 */
#include <fcntl.h>

#include "kselftest_harness.h"
#include "vsng_test.h"

FIXTURE(err) {
	struct vsng_env e;
	struct vsng_cmd c;
	uint8_t *buf;
};

FIXTURE_SETUP(err)
{
	ASSERT_EQ(0, vsng_env_up(&self->e, NULL, 1));
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	self->buf = vsng_alloc_guarded(&self->e.d, 0, 8192, 256);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(err)
{
	vsng_env_down(&self->e);
}

#define EXPECT_SENSE(c, key, asc) do { \
	EXPECT_EQ(VIRTIO_SCSI_S_OK, (c)->rsp.response); \
	EXPECT_EQ(2, (c)->rsp.status); \
	EXPECT_EQ(key, vsng_sense_key(&(c)->rsp)); \
	EXPECT_EQ(asc, vsng_sense_asc(&(c)->rsp)) { \
		TH_LOG("sense key 0x%x asc 0x%x ascq 0x%x", \
		       vsng_sense_key(&(c)->rsp), vsng_sense_asc(&(c)->rsp), \
		       vsng_sense_ascq(&(c)->rsp)); \
	} \
	EXPECT_GE((c)->rsp.sense_len, 14); \
} while (0)

static struct vsng_vq *vq0(struct vsng_env *e)
{
	return vsng_req_vq(e, 0);
}

/* Proves: a target byte naming no attached TPG gets VIRTIO_SCSI_S_BAD_TARGET
 * (no SCSI status), and the queue keeps working.
 */
TEST_F(err, bad_target)
{
	int t;
	uint8_t targets[3] = { 0, 2, 255 };

	for (t = 0; t < 3; t++) {
		ASSERT_EQ(0, vsng_tur(vq0(&self->e), targets[t], 0, &self->c));
		EXPECT_EQ(VIRTIO_SCSI_S_BAD_TARGET, self->c.rsp.response);
	}
	ASSERT_EQ(0, vsng_tur(vq0(&self->e), VSNG_TPGT, 0, &self->c));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, self->c.rsp.response);
	EXPECT_EQ(0, self->c.rsp.status);
}

/* Proves: a LUN field whose first byte is not 1 (virtio-scsi requires 1)
 * is refused with BAD_TARGET, not executed.
 */
TEST_F(err, lun_byte0_not_1)
{
	uint8_t cdb[6] = { 0 };

	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	vsng_lun_encode(self->c.lun8, VSNG_TPGT, 0);
	self->c.lun8[0] = 2;
	self->c.raw_lun = true;
	ASSERT_EQ(0, vsng_scsi(vq0(&self->e), &self->c, cdb, 6, 0, 0, 0, 0));
	EXPECT_EQ(VIRTIO_SCSI_S_BAD_TARGET, self->c.rsp.response);
	ASSERT_EQ(0, vsng_tur(vq0(&self->e), VSNG_TPGT, 0, &self->c));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, self->c.rsp.response);
}

/* Proves: a LUN that is not mapped answers CHECK CONDITION, ILLEGAL
 * REQUEST, LOGICAL UNIT NOT SUPPORTED (ASC 0x25), for TUR and for READ.
 */
TEST_F(err, unknown_lun)
{
	ASSERT_EQ(0, vsng_tur(vq0(&self->e), VSNG_TPGT, 5, &self->c));
	EXPECT_SENSE(&self->c, 5, 0x25);

	vsng_cmd_init(&self->c, VSNG_TPGT, 300);
	ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, 10, false, 0, 1,
			     vsng_gpa(&self->e.d, self->buf), 512));
	EXPECT_SENSE(&self->c, 5, 0x25);
	EXPECT_TRUE(vsng_guard_ok(self->buf, 8192, 256));
}

/* Proves: LBA out of range (start past the end, or running past it)
 * answers ILLEGAL REQUEST, LBA OUT OF RANGE (ASC 0x21), for READ and WRITE
 * and every CDB size, without touching the buffer's surroundings.
 */
TEST_F(err, lba_out_of_range)
{
	uint64_t n = self->e.blocks;
	int sizes[3] = { 6, 10, 16 }, i;

	for (i = 0; i < 3; i++) {
		uint64_t lba = sizes[i] == 6 && n > 0x1fffff ? 0x1fffff : n;

		vsng_cmd_init(&self->c, VSNG_TPGT, 0);
		ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, sizes[i], false,
				     lba, 1, vsng_gpa(&self->e.d, self->buf),
				     512));
		EXPECT_SENSE(&self->c, 5, 0x21);
		vsng_cmd_init(&self->c, VSNG_TPGT, 0);
		ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, sizes[i], true,
				     n - 4, 8, vsng_gpa(&self->e.d, self->buf),
				     4096));
		EXPECT_SENSE(&self->c, 5, 0x21);
	}
	EXPECT_TRUE(vsng_guard_ok(self->buf, 8192, 256));
	/* The last block itself is fine */
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, 16, false, n - 1, 1,
			     vsng_gpa(&self->e.d, self->buf), 512));
	EXPECT_EQ(0, self->c.rsp.status);
}

/* Proves: an unknown opcode answers ILLEGAL REQUEST, INVALID COMMAND
 * OPERATION CODE (ASC 0x20).
 */
TEST_F(err, invalid_opcode)
{
	uint8_t cdb[10] = { 0xd9 };

	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_scsi(vq0(&self->e), &self->c, cdb, 10, 0, 0, 0, 0));
	EXPECT_SENSE(&self->c, 5, 0x20);
}

/* The first byte of the 8 KiB buffer at or after off that is no longer
 * the fill pattern; 8192 if none: nothing was written from off on.
 */
static int first_change(const uint8_t *b, const uint8_t *ref, int off)
{
	while (off < 8192 && b[off] == ref[off])
		off++;
	return off;
}

/* The last byte of the 8 KiB buffer that is no longer the fill pattern. */
static int last_change(const uint8_t *b, const uint8_t *ref)
{
	int i = 8191;

	while (i >= 0 && b[i] == ref[i])
		i--;
	return i;
}

/* Proves: residuals are reported in virtio_scsi_cmd_resp.resid: a READ
 * (or INQUIRY) whose buffer is longer than the CDB asks (underflow)
 * completes GOOD with resid = the difference, and the part of the buffer
 * past what the CDB asks is not written; a READ whose buffer is shorter
 * (overflow) and a WRITE with a mismatched buffer are refused with
 * ILLEGAL REQUEST (LIO's rule for fabrics passing their own SGL); nothing
 * outside the descriptor (the rest of the 8 KiB buffer, the guards) is
 * written.
 */
TEST_F(err, residuals)
{
	uint8_t *b = self->buf, ref[8192];

	vsng_fill(ref, sizeof(ref), 1);

	/* READ 8 blocks into 2048 bytes: LIO refuses data overflow for a
	 * fabric that passes its own scatterlist (vhost): CHECK CONDITION.
	 */
	vsng_fill(self->buf, 8192, 1);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, 10, false, 0, 8,
			     vsng_gpa(&self->e.d, b), 2048));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, self->c.rsp.response);
	TH_LOG("READ 8 blocks into 2048: status 0x%x key 0x%x asc 0x%x/0x%x resid %u",
	       self->c.rsp.status, vsng_sense_key(&self->c.rsp),
	       vsng_sense_asc(&self->c.rsp), vsng_sense_ascq(&self->c.rsp),
	       self->c.rsp.resid);
	EXPECT_EQ(2, self->c.rsp.status);
	EXPECT_EQ(5, vsng_sense_key(&self->c.rsp));
	EXPECT_EQ(8192, first_change(b, ref, 2048));
	EXPECT_TRUE(vsng_guard_ok(b, 8192, 256));

	/* READ 4 blocks into 4096 bytes */
	vsng_fill(b, 8192, 1);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, 10, false, 0, 4,
			     vsng_gpa(&self->e.d, b), 4096));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, self->c.rsp.response);
	TH_LOG("READ 4 blocks into 4096: status 0x%x key 0x%x asc 0x%x/0x%x resid %u",
	       self->c.rsp.status, vsng_sense_key(&self->c.rsp),
	       vsng_sense_asc(&self->c.rsp), vsng_sense_ascq(&self->c.rsp),
	       self->c.rsp.resid);
	EXPECT_EQ(0, self->c.rsp.status);
	EXPECT_EQ(2048, self->c.rsp.resid);
	EXPECT_EQ(8192, first_change(b, ref, 2048));

	/* INQUIRY asking 36 bytes with a 255 byte buffer */
	{
		uint8_t cdb[6];
		int n = vsng_cdb_inquiry(cdb, false, 0, 36);

		vsng_fill(b, 8192, 1);
		vsng_cmd_init(&self->c, VSNG_TPGT, 0);
		ASSERT_EQ(0, vsng_scsi(vq0(&self->e), &self->c, cdb, n, 0, 0,
				       vsng_gpa(&self->e.d, b), 255));
		EXPECT_EQ(0, self->c.rsp.status);
		TH_LOG("INQUIRY 36 into 255: resid %u", self->c.rsp.resid);
		EXPECT_EQ(255 - 36, self->c.rsp.resid);
		/* LIO's emulation copies its zero-padded answer up to the
		 * buffer's length (both targets): bytes 36..254 may change.
		 */
		TH_LOG("INQUIRY 36 into 255: bytes %d..%d changed",
		       first_change(b, ref, 36), last_change(b, ref));
		EXPECT_EQ(8192, first_change(b, ref, 255));
	}

	/* WRITE 8 blocks from 2048 bytes: refused; the device only reads */
	vsng_fill(b, 8192, 1);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, 10, true, 0, 8,
			     vsng_gpa(&self->e.d, b), 2048));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, self->c.rsp.response);
	EXPECT_EQ(2, self->c.rsp.status);
	EXPECT_EQ(5, vsng_sense_key(&self->c.rsp));
	EXPECT_EQ(8192, first_change(b, ref, 0));
	EXPECT_TRUE(vsng_guard_ok(b, 8192, 256));
}

/* Proves: a command with no data and a CDB asking for data (READ of 8
 * blocks, no buffer) does not crash and reports the full residual or an
 * error.
 */
TEST_F(err, read_without_buffer)
{
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, 10, false, 0, 8, 0, 0));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, self->c.rsp.response);
	TH_LOG("READ(10) 8 blocks, no buffer: status 0x%x resid %u key 0x%x",
	       self->c.rsp.status, self->c.rsp.resid,
	       vsng_sense_key(&self->c.rsp));
	EXPECT_TRUE(self->c.rsp.status != 0 || self->c.rsp.resid == 4096);
	ASSERT_EQ(0, vsng_tur(vq0(&self->e), VSNG_TPGT, 0, &self->c));
	EXPECT_EQ(0, self->c.rsp.status);
}

/*
 * A data-in buffer that takes the bounce path: one descriptor of 1 MiB +
 * 4 KiB at an odd address spans 258 pages, more than BIO_MAX_VECS (256),
 * and is not sector aligned, so the target reads into pages of its own
 * and copies them to the guest at completion.  The whole area around it
 * is filled with 0x77 first.
 */
#define BNC_LEN		((1u << 20) + 4096)
#define BNC_AREA	(BNC_LEN + 3 * 4096)

struct bounce_area {
	uint8_t *area;
	uint8_t *buf;	/* area + 4096 + 3 */
};

static void bounce_fill(struct bounce_area *b)
{
	memset(b->area, 0x77, BNC_AREA);
}

/*
 * Bytes of the area changed outside the first @produced bytes of the
 * buffer; *stale counts those that are neither the fill nor zero (host
 * memory that was never the device's answer).
 */
static size_t bounce_changed(const struct bounce_area *b, uint32_t produced,
			     size_t *stale)
{
	size_t i, n = 0;

	*stale = 0;
	for (i = 0; i < BNC_AREA; i++) {
		const uint8_t *p = b->area + i;

		if (p >= b->buf && p < b->buf + produced)
			continue;
		if (*p != 0x77) {
			n++;
			*stale += *p != 0;
		}
	}
	return n;
}

/*
 * Proves: on the bounce path only what the device produced is copied back
 * to the guest: an INQUIRY for 36 bytes, a READ of 8 blocks and a READ
 * that fails (LBA out of range) into a 1 MiB + 4 KiB bounced buffer leave
 * every byte after the answer (for the failed READ: every byte) as the
 * guest left it, so no host memory (bounce pages are not the guest's) can
 * reach the guest.  In-tree 6.12 copies every bounce page back whatever
 * the residual and the status: affected.
 */
TEST_F_TIMEOUT(err, bounce_copies_back_only_the_answer, 120)
{
	struct bounce_area b;
	size_t changed, stale;
	uint8_t cdb[6];
	int n;

	b.area = vsng_alloc(&self->e.d, 2, BNC_AREA, 4096);
	ASSERT_NE(NULL, b.area);
	b.buf = b.area + 4096 + 3;

	/* INQUIRY, allocation length 36: GOOD, resid = the rest */
	bounce_fill(&b);
	n = vsng_cdb_inquiry(cdb, false, 0, 36);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_scsi(vq0(&self->e), &self->c, cdb, n, 0, 0,
			       vsng_gpa(&self->e.d, b.buf), BNC_LEN));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, self->c.rsp.response);
	EXPECT_EQ(0, self->c.rsp.status);
	EXPECT_EQ(BNC_LEN - 36, self->c.rsp.resid);
	EXPECT_EQ(0, memcmp(b.buf + 8, "LIO-ORG", 7));
	changed = bounce_changed(&b, 36, &stale);
	VSNG_INTREE_AFFECTED(changed != 0,
			     "bounced INQUIRY for 36 bytes (resid %u): %zu bytes after the answer overwritten, %zu of them neither the fill nor zero (stale host memory)",
			     self->c.rsp.resid, changed, stale);

	/* READ of 8 blocks into the whole buffer: 4096 bytes produced */
	bounce_fill(&b);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, 10, false, 0, 8,
			     vsng_gpa(&self->e.d, b.buf), BNC_LEN));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, self->c.rsp.response);
	EXPECT_EQ(0, self->c.rsp.status);
	EXPECT_EQ(BNC_LEN - 4096, self->c.rsp.resid);
	changed = bounce_changed(&b, 4096, &stale);
	VSNG_INTREE_AFFECTED(changed != 0,
			     "bounced READ of 8 blocks (resid %u): %zu bytes after the data overwritten, %zu of them neither the fill nor zero (stale host memory)",
			     self->c.rsp.resid, changed, stale);

	/* READ past the end of the LUN: CHECK CONDITION, nothing produced */
	bounce_fill(&b);
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(vq0(&self->e), &self->c, 10, false,
			     self->e.blocks - 1, BNC_LEN / 512,
			     vsng_gpa(&self->e.d, b.buf), BNC_LEN));
	EXPECT_SENSE(&self->c, 5, 0x21);
	changed = bounce_changed(&b, 0, &stale);
	VSNG_INTREE_AFFECTED(changed != 0,
			     "bounced READ answered CHECK CONDITION: %zu bytes of the buffer overwritten, %zu of them neither the fill nor zero (stale host memory)",
			     changed, stale);
}

/*
 * Proves: a guest that keeps sending commands to a LUN that does not
 * exist cannot flood the host's kernel log.  Every command still gets
 * LIO's answer (CHECK CONDITION, ILLEGAL REQUEST, LOGICAL UNIT NOT
 * SUPPORTED), but LIO logs "Detected NON_EXISTENT_LUN Access" with a
 * plain pr_err for each one it looks up; ours answers them before LIO
 * and says so at most once a minute (a ratelimit of a few lines per 5 s
 * would still be a line every second or two for ever: two bursts 5.5 s
 * apart catch that).  In-tree: affected.
 */
#define LUN_FLOOD	300
TEST_F(err, unknown_lun_no_log_flood)
{
	int kfd, i, lines, wrong = 0;
	long long seq0, seq1;
	uint64_t t0, ms;

	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, kfd);
	seq0 = vsng_kmsg_seq(kfd, NULL);
	ASSERT_LE(0, seq0);
	t0 = vsng_now_ms();
	for (i = 0; i < LUN_FLOOD; i++) {
		if (i == LUN_FLOOD / 2)
			usleep(5500 * 1000);
		ASSERT_EQ(0, vsng_tur(vq0(&self->e), VSNG_TPGT, 7 + i % 50,
				      &self->c));
		wrong += self->c.rsp.response != VIRTIO_SCSI_S_OK ||
			 self->c.rsp.status != 2 ||
			 vsng_sense_key(&self->c.rsp) != 5 ||
			 vsng_sense_asc(&self->c.rsp) != 0x25;
	}
	ms = vsng_now_ms() - t0;
	usleep(200 * 1000);
	seq1 = vsng_kmsg_seq(kfd, "NON_EXISTENT");
	close(kfd);
	lines = seq1 < seq0 ? 0 : seq1 - seq0;
	TH_LOG("%d commands to missing LUNs in %llu ms (two bursts): %d wrong answers, %d kernel log lines",
	       LUN_FLOOD, (unsigned long long)ms, wrong, lines);
	EXPECT_EQ(0, wrong);
	VSNG_INTREE_AFFECTED(lines > 3,
			     "%d kernel log lines for %d commands to missing LUNs in %llu ms",
			     lines, LUN_FLOOD, (unsigned long long)ms);
	/* LUN 0 still answers */
	ASSERT_EQ(0, vsng_tur(vq0(&self->e), VSNG_TPGT, 0, &self->c));
	EXPECT_EQ(0, self->c.rsp.status);
}

/* Whether a TUR on @lun got CHECK CONDITION with this key/asc/ascq. */
static bool tur_sense(struct vsng_vq *vq, uint16_t lun, struct vsng_cmd *c,
		      uint8_t key, uint8_t asc, uint8_t ascq)
{
	if (vsng_tur(vq, VSNG_TPGT, lun, c))
		return false;
	return c->rsp.response == VIRTIO_SCSI_S_OK && c->rsp.status == 2 &&
	       vsng_sense_key(&c->rsp) == key &&
	       vsng_sense_asc(&c->rsp) == asc &&
	       vsng_sense_ascq(&c->rsp) == ascq;
}

/*
 * Proves: the guest's LUN numbers are those of the nexus's node ACL, as
 * LIO resolves them, not the TPG's.  The TPG has LUNs 0 and 3; an
 * explicit ACL for the nexus WWN (made before the nexus, so the session
 * uses it instead of a dynamic one) maps only guest LUN 7 -> TPG LUN 0.
 * Then: guest LUN 7 is TPG LUN 0's backstore (its unit serial, VPD page
 * 0x80) and a WRITE through it reads back equal; guest LUN 0 is LIO's
 * virtual LUN 0 (a WRITE gets DATA PROTECT, WRITE PROTECTED, 07/27/00);
 * guest LUN 3 and LUNs nothing maps get 05/25/00 (100 commands, at most
 * 3 kernel log lines); I_T NEXUS RESET resets the LUNs the nexus reaches
 * (FUNCTION COMPLETE, then LUN 7 reports the reset: 06/29/xx).  In-tree
 * answers the TMF FUNCTION_REJECTED and logs each missing-LUN command
 * (affected).  Review finding 8.
 */
#define ACL_LUN		7
#define ACL_FLOOD	100
TEST_F_TIMEOUT(err, acl_mapped_lun, 120)
{
	struct vsng_env *e = &self->e;
	struct vsng_vq *vq = vq0(e);
	uint8_t *b = self->buf, cdb[6], r = 0xff;
	int kfd, i, n, lines, wrong = 0;
	long long seq0, seq1;
	char serial[128];

	/*
	 * A new TPG whose first nexus finds the ACL (a TPG that had a
	 * nexus keeps its dynamic ACL, which would take all its LUNs).
	 */
	ASSERT_EQ(0, vsng_dev_clear_endpoint(&e->d));
	ASSERT_EQ(0, vsng_target_create_tpg(&e->t));
	ASSERT_EQ(0, vsng_target_add_lun(&e->t, 0));
	ASSERT_EQ(0, vsng_target_add_lun(&e->t, 3));
	ASSERT_EQ(0, vsng_target_map_lun(&e->t, ACL_LUN, 0));
	ASSERT_EQ(0, vsng_target_set_nexus(&e->t, true));
	ASSERT_EQ(0, vsng_dev_set_endpoint(&e->d, e->t.wwpn));
	vsng_clear_ua(vq, ACL_LUN);
	vsng_clear_ua(vq, 0);

	/* Guest LUN 7 is TPG LUN 0's backstore. */
	n = vsng_cdb_inquiry(cdb, true, 0x80, 255);
	memset(b, 0, 255);
	vsng_cmd_init(&self->c, VSNG_TPGT, ACL_LUN);
	ASSERT_EQ(0, vsng_scsi(vq, &self->c, cdb, n, 0, 0,
			       vsng_gpa(&e->d, b), 255));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, self->c.rsp.response);
	EXPECT_EQ(0, self->c.rsp.status) {
		TH_LOG("LUN %d INQUIRY VPD 0x80: sense %x/%02x/%02x",
		       ACL_LUN, vsng_sense_key(&self->c.rsp),
		       vsng_sense_asc(&self->c.rsp),
		       vsng_sense_ascq(&self->c.rsp));
	}
	snprintf(serial, sizeof(serial), "5a4e%04x-%s-0", e->t.tpgt,
		 e->t.hba);
	EXPECT_EQ(0x80, b[1]);
	EXPECT_EQ(0, strncmp((char *)b + 4, serial, strlen(serial) + 1)) {
		TH_LOG("LUN %d unit serial \"%.64s\", TPG LUN 0's \"%s\"",
		       ACL_LUN, (char *)b + 4, serial);
	}

	/* Data written through guest LUN 7 reads back equal. */
	vsng_fill(b, 4096, 77);
	memset(b + 4096, 0, 4096);
	vsng_cmd_init(&self->c, VSNG_TPGT, ACL_LUN);
	ASSERT_EQ(0, vsng_rw(vq, &self->c, 10, true, 16, 8,
			     vsng_gpa(&e->d, b), 4096));
	EXPECT_EQ(0, self->c.rsp.status);
	vsng_cmd_init(&self->c, VSNG_TPGT, ACL_LUN);
	ASSERT_EQ(0, vsng_rw(vq, &self->c, 10, false, 16, 8,
			     vsng_gpa(&e->d, b + 4096), 4096));
	EXPECT_EQ(0, self->c.rsp.status);
	EXPECT_EQ(0, memcmp(b, b + 4096, 4096));
	EXPECT_TRUE(vsng_guard_ok(b, 8192, 256));

	/* Guest LUN 0: LIO's virtual LUN 0, which refuses writes. */
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
	ASSERT_EQ(0, vsng_rw(vq, &self->c, 10, true, 16, 8,
			     vsng_gpa(&e->d, b), 4096));
	EXPECT_SENSE(&self->c, 7, 0x27);
	EXPECT_EQ(0, vsng_sense_ascq(&self->c.rsp));

	/* TPG LUN 3 and LUNs nothing maps: 05/25/00, and no log flood. */
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, kfd);
	seq0 = vsng_kmsg_seq(kfd, NULL);
	ASSERT_LE(0, seq0);
	for (i = 0; i < ACL_FLOOD; i++) {
		if (tur_sense(vq, i % 2 ? 3 : 8 + i % 50, &self->c, 5, 0x25,
			      0))
			continue;
		if (!wrong++)
			TH_LOG("LUN %d: response %u status 0x%x sense %x/%02x/%02x",
			       i % 2 ? 3 : 8 + i % 50, self->c.rsp.response,
			       self->c.rsp.status, vsng_sense_key(&self->c.rsp),
			       vsng_sense_asc(&self->c.rsp),
			       vsng_sense_ascq(&self->c.rsp));
	}
	usleep(200 * 1000);
	seq1 = vsng_kmsg_seq(kfd, "NON_EXISTENT");
	close(kfd);
	lines = seq1 < seq0 ? 0 : seq1 - seq0;
	TH_LOG("%d commands to LUN 3 and unmapped LUNs: %d wrong answers, %d kernel log lines",
	       ACL_FLOOD, wrong, lines);
	EXPECT_EQ(0, wrong);
	VSNG_INTREE_AFFECTED(lines > 3,
			     "%d kernel log lines for %d commands to LUNs the ACL does not map",
			     lines, ACL_FLOOD);

	/* I_T NEXUS RESET reaches guest LUN 7. */
	ASSERT_EQ(0, vsng_tmf(&e->d, VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET,
			      VSNG_TPGT, 0, 0, &r, VSNG_TMO));
	if (!VSNG_INTREE_AFFECTED(r != VIRTIO_SCSI_S_OK,
				  "I_T NEXUS RESET with an explicit ACL answered %u",
				  r)) {
		ASSERT_EQ(0, vsng_tur(vq, VSNG_TPGT, ACL_LUN, &self->c));
		EXPECT_EQ(2, self->c.rsp.status);
		EXPECT_EQ(6, vsng_sense_key(&self->c.rsp));
		EXPECT_EQ(0x29, vsng_sense_asc(&self->c.rsp)) {
			TH_LOG("LUN %d after I_T NEXUS RESET: sense %x/%02x/%02x",
			       ACL_LUN, vsng_sense_key(&self->c.rsp),
			       vsng_sense_asc(&self->c.rsp),
			       vsng_sense_ascq(&self->c.rsp));
		}
	}
	vsng_clear_ua(vq, ACL_LUN);
	ASSERT_EQ(0, vsng_tur(vq, VSNG_TPGT, ACL_LUN, &self->c));
	EXPECT_EQ(0, self->c.rsp.status);
}

TEST_HARNESS_MAIN
