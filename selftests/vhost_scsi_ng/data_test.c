// SPDX-License-Identifier: GPL-2.0
/*
 * Data path tests: SCSI commands a guest sends, data compared byte for byte,
 * with every descriptor layout the ring allows.
 */
#include "kselftest_harness.h"
#include "vsng_test.h"

#define NQ 4

static const struct vsng_dev_opts data_opts = {
	.nreq = NQ,
	.req_sizes = { 128, 512, 128, 128 },
};

FIXTURE(data) {
	struct vsng_env e;
	struct vsng_cmd c;
};

FIXTURE_SETUP(data)
{
	VSNG_PACKED_SKIP();
	ASSERT_EQ(0, vsng_env_up(&self->e, &data_opts, 2));
	vsng_cmd_init(&self->c, VSNG_TPGT, 0);
}

FIXTURE_TEARDOWN(data)
{
	vsng_env_down(&self->e);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Run cdb on request queue q, LUN lun, data-in of len bytes into buf. */
static int din(struct vsng_env *e, struct vsng_cmd *c, int q, uint16_t lun,
	       const uint8_t *cdb, int n, void *buf, uint32_t len)
{
	vsng_cmd_init(c, VSNG_TPGT, lun);
	memset(buf, 0xcc, len);
	return vsng_scsi(vsng_req_vq(e, q), c, cdb, n, 0, 0,
			 vsng_gpa(&e->d, buf), len);
}

#define EXPECT_GOOD(c) do { \
	EXPECT_TRUE((c)->done); \
	EXPECT_EQ(VIRTIO_SCSI_S_OK, (c)->rsp.response); \
	EXPECT_EQ(0, (c)->rsp.status) { \
		TH_LOG("status 0x%x sense key 0x%x asc 0x%x ascq 0x%x", \
		       (c)->rsp.status, vsng_sense_key(&(c)->rsp), \
		       vsng_sense_asc(&(c)->rsp), vsng_sense_ascq(&(c)->rsp)); \
	} \
} while (0)

/* Write len bytes of a pattern at lba from wbuf, read them back into rbuf,
 * compare.  Both buffers are guarded; guards must stay intact.
 */
static void write_read_cmp(struct __test_metadata *_metadata,
			   struct vsng_env *e, struct vsng_cmd *c, int q,
			   int cdbsz, uint64_t lba, uint8_t *wbuf, uint8_t *rbuf,
			   uint32_t len, int split, bool indirect, uint32_t seed)
{
	uint32_t blocks = len / VSNG_BLK;

	vsng_fill(wbuf, len, seed);
	memset(rbuf, 0, len);
	vsng_cmd_init(c, VSNG_TPGT, 0);
	c->dout_split = split;
	c->indirect = indirect;
	ASSERT_EQ(0, vsng_rw(vsng_req_vq(e, q), c, cdbsz, true, lba, blocks,
			     vsng_gpa(&e->d, wbuf), len));
	EXPECT_GOOD(c);
	vsng_cmd_init(c, VSNG_TPGT, 0);
	c->din_split = split;
	c->indirect = indirect;
	ASSERT_EQ(0, vsng_rw(vsng_req_vq(e, q), c, cdbsz, false, lba, blocks,
			     vsng_gpa(&e->d, rbuf), len));
	EXPECT_GOOD(c);
	EXPECT_EQ(0, c->rsp.resid);
	EXPECT_EQ(0, memcmp(wbuf, rbuf, len)) {
		uint32_t k = 0, nbad = 0;

		while (k < len && wbuf[k] == rbuf[k])
			k++;
		for (uint32_t m = 0; m < len; m++)
			nbad += wbuf[m] != rbuf[m];
		TH_LOG("data mismatch: %u bytes at lba %llu: first at %u (wrote %02x read %02x), %u bytes differ",
		       len, (unsigned long long)lba, k, wbuf[k], rbuf[k], nbad);
	}
}

/* Proves: standard INQUIRY answers a direct-access LIO device; the VPD
 * page list includes device identification (0x83).
 */
TEST_F(data, inquiry)
{
	uint8_t *buf = vsng_alloc(&self->e.d, 0, 256, 64);
	uint8_t cdb[6];
	int n, i, found = 0;

	n = vsng_cdb_inquiry(cdb, false, 0, 96);
	ASSERT_EQ(0, din(&self->e, &self->c, 0, 0, cdb, n, buf, 96));
	EXPECT_GOOD(&self->c);
	EXPECT_EQ(0, buf[0] & 0x1f);
	EXPECT_EQ(0, memcmp(buf + 8, "LIO-ORG", 7));

	n = vsng_cdb_inquiry(cdb, true, 0, 255);
	ASSERT_EQ(0, din(&self->e, &self->c, 0, 0, cdb, n, buf, 255));
	EXPECT_GOOD(&self->c);
	EXPECT_EQ(0, buf[1]);
	for (i = 0; i < buf[3]; i++)
		found |= buf[4 + i] == 0x83;
	EXPECT_TRUE(found) {
		TH_LOG("VPD 0x00: %02x %02x %02x %02x %02x %02x %02x %02x resid %u st %u",
		       buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6],
		       buf[7], self->c.rsp.resid, self->c.rsp.status);
	}
}

/* Proves: READ CAPACITY(10) and (16) report the backstore size, 512-byte
 * blocks.
 */
TEST_F(data, read_capacity)
{
	uint8_t *buf = vsng_alloc(&self->e.d, 0, 64, 64);
	uint8_t cdb10[10] = { 0x25 };
	uint8_t cdb16[16] = { 0x9e, 0x10 };

	ASSERT_EQ(0, din(&self->e, &self->c, 0, 0, cdb10, 10, buf, 8));
	EXPECT_GOOD(&self->c);
	EXPECT_EQ(self->e.blocks - 1, be32(buf));
	EXPECT_EQ(VSNG_BLK, be32(buf + 4));

	cdb16[13] = 32;
	ASSERT_EQ(0, din(&self->e, &self->c, 0, 0, cdb16, 16, buf, 32));
	EXPECT_GOOD(&self->c);
	EXPECT_EQ(self->e.blocks - 1, be64(buf));
	EXPECT_EQ(VSNG_BLK, be32(buf + 8));
}

/* Proves: TEST UNIT READY on every LUN and every queue answers GOOD. */
TEST_F(data, test_unit_ready)
{
	int q, lun;

	for (q = 0; q < NQ; q++)
		for (lun = 0; lun < 2; lun++) {
			ASSERT_EQ(0, vsng_tur(vsng_req_vq(&self->e, q),
					      VSNG_TPGT, lun, &self->c));
			EXPECT_GOOD(&self->c);
		}
}

/* Proves: REPORT LUNS lists exactly the two configured LUNs. */
TEST_F(data, report_luns)
{
	uint8_t *buf = vsng_alloc(&self->e.d, 0, 256, 64);
	uint8_t cdb[12] = { 0xa0 };

	cdb[9] = 255;
	ASSERT_EQ(0, din(&self->e, &self->c, 0, 0, cdb, 12, buf, 255));
	EXPECT_GOOD(&self->c);
	EXPECT_EQ(16, be32(buf));
	/* LUN 0 and LUN 1, in any order (LIO lists the newest first) */
	EXPECT_EQ(1ULL << 48, be64(buf + 8) ^ be64(buf + 16));
	EXPECT_EQ(0, be64(buf + 8) & be64(buf + 16));
}

/* Walk the mode pages in buf[off, end): the offset where the walk ends
 * (end itself for a well-formed answer); pages seen set bits in *seen.
 */
static int mode_pages(const uint8_t *buf, int off, int end, uint64_t *seen)
{
	*seen = 0;
	while (off + 2 <= end) {
		*seen |= 1ULL << (buf[off] & 0x3f);
		off += 2 + buf[off + 1];
	}
	return off;
}

/* Proves: MODE SENSE(6) and (10), all pages, answer GOOD with a
 * well-formed answer: the mode data length covers exactly the bytes
 * transferred (255 - resid), the block descriptor length is 0 or 8, and
 * the pages that follow tile the rest, including the caching (0x08) and
 * control (0x0a) pages LIO emulates.  din() prefills the buffer with
 * 0xcc, which none of this accepts.
 */
TEST_F(data, mode_sense)
{
	uint8_t *buf = vsng_alloc(&self->e.d, 0, 256, 64);
	uint8_t cdb6[6] = { 0x1a, 0, 0x3f, 0, 255 };
	uint8_t cdb10[10] = { 0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 255 };
	uint64_t seen;
	int len, bdl;

	ASSERT_EQ(0, din(&self->e, &self->c, 0, 0, cdb6, 6, buf, 255));
	EXPECT_GOOD(&self->c);
	len = buf[0] + 1;
	bdl = buf[3];
	TH_LOG("MODE SENSE(6): length %d, block descriptors %d, resid %u",
	       len, bdl, self->c.rsp.resid);
	EXPECT_EQ(255 - (int)self->c.rsp.resid, len);
	EXPECT_TRUE(bdl == 0 || bdl == 8);
	EXPECT_EQ(len, mode_pages(buf, 4 + bdl, len, &seen));
	EXPECT_TRUE(seen & (1ULL << 0x08));
	EXPECT_TRUE(seen & (1ULL << 0x0a));

	ASSERT_EQ(0, din(&self->e, &self->c, 0, 0, cdb10, 10, buf, 255));
	EXPECT_GOOD(&self->c);
	len = (buf[0] << 8 | buf[1]) + 2;
	bdl = buf[6] << 8 | buf[7];
	TH_LOG("MODE SENSE(10): length %d, block descriptors %d, resid %u",
	       len, bdl, self->c.rsp.resid);
	EXPECT_EQ(255 - (int)self->c.rsp.resid, len);
	EXPECT_TRUE(bdl == 0 || bdl == 8);
	EXPECT_EQ(len, mode_pages(buf, 8 + bdl, len, &seen));
	EXPECT_TRUE(seen & (1ULL << 0x08));
	EXPECT_TRUE(seen & (1ULL << 0x0a));
}

/* Proves: WRITE/READ 6, 10 and 16 move the same data: what one CDB size
 * writes, every other reads back byte for byte.
 */
TEST_F(data, rw_6_10_16)
{
	uint8_t *w = vsng_alloc_guarded(&self->e.d, 0, 8192, 64);
	uint8_t *r = vsng_alloc_guarded(&self->e.d, 0, 8192, 64);
	int sizes[3] = { 6, 10, 16 }, i, j;

	for (i = 0; i < 3; i++) {
		uint64_t lba = 1000 + 100 * i;

		write_read_cmp(_metadata, &self->e, &self->c, 0, sizes[i], lba,
			       w, r, 8192, 1, false, i + 1);
		for (j = 0; j < 3; j++) {
			memset(r, 0, 8192);
			vsng_cmd_init(&self->c, VSNG_TPGT, 0);
			ASSERT_EQ(0, vsng_rw(vsng_req_vq(&self->e, 0), &self->c,
					     sizes[j], false, lba, 16,
					     vsng_gpa(&self->e.d, r), 8192));
			EXPECT_GOOD(&self->c);
			EXPECT_EQ(0, memcmp(w, r, 8192));
		}
	}
	EXPECT_TRUE(vsng_guard_ok(w, 8192, 64));
	EXPECT_TRUE(vsng_guard_ok(r, 8192, 64));
}

/* Proves: transfers from 512 B to 1 MiB are correct, and nothing outside
 * the buffers is written.
 */
TEST_F_TIMEOUT(data, sizes_512_to_1m, 120)
{
	uint32_t len;
	uint8_t *w = vsng_alloc_guarded(&self->e.d, 0, 1 << 20, 4096);
	uint8_t *r = vsng_alloc_guarded(&self->e.d, 2, 1 << 20, 4096);

	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, r);
	for (len = 512; len <= (1u << 20); len *= 4)
		write_read_cmp(_metadata, &self->e, &self->c, 0, 10, 4096, w,
			       r, len, 1, false, len);
	write_read_cmp(_metadata, &self->e, &self->c, 0, 16, 8192, w, r,
		       1 << 20, 1, false, 77);
	EXPECT_TRUE(vsng_guard_ok(w, 1 << 20, 4096));
	EXPECT_TRUE(vsng_guard_ok(r, 1 << 20, 4096));
}

/* Proves: buffers at odd addresses split into hundreds of odd-sized
 * descriptors (the in-tree bounce path) carry the right data.
 */
TEST_F_TIMEOUT(data, misaligned, 120)
{
	uint8_t *wb = vsng_alloc(&self->e.d, 0, (1 << 20) + 16384, 4096);
	uint8_t *rb = vsng_alloc(&self->e.d, 2, (1 << 20) + 16384, 4096);
	uint8_t *w = wb + 4096 + 7, *r = rb + 4096 + 3;

	memset(wb, 0xa5, (1 << 20) + 16384);
	memset(rb, 0xa5, (1 << 20) + 16384);
	write_read_cmp(_metadata, &self->e, &self->c, 1, 10, 3000, w, r,
		       1 << 20, 300, false, 5);
	write_read_cmp(_metadata, &self->e, &self->c, 1, 10, 3000, w, r,
		       64 * 1024, 3, false, 6);
	EXPECT_TRUE(vsng_guard_ok(w, 1 << 20, 4096));
	EXPECT_TRUE(vsng_guard_ok(r, 1 << 20, 4096));
}

/* Proves: many small descriptors per request (128 x 512 B, 256 x 256 B)
 * work in both directions.
 */
TEST_F(data, many_small_descriptors)
{
	uint8_t *w = vsng_alloc_guarded(&self->e.d, 0, 65536, 64);
	uint8_t *r = vsng_alloc_guarded(&self->e.d, 0, 65536, 64);

	write_read_cmp(_metadata, &self->e, &self->c, 1, 10, 5000, w, r,
		       65536, 128, false, 8);
	write_read_cmp(_metadata, &self->e, &self->c, 1, 16, 5200, w, r,
		       65536, 256, false, 9);
	EXPECT_TRUE(vsng_guard_ok(w, 65536, 64));
	EXPECT_TRUE(vsng_guard_ok(r, 65536, 64));
}

/* Proves: indirect descriptor tables (header, data in 32 pieces) work. */
TEST_F(data, indirect)
{
	uint8_t *w = vsng_alloc_guarded(&self->e.d, 0, 131072, 64);
	uint8_t *r = vsng_alloc_guarded(&self->e.d, 2, 131072, 64);

	if (!(self->e.d.features & VSNG_F_INDIRECT))
		SKIP(return, "INDIRECT_DESC not offered");
	write_read_cmp(_metadata, &self->e, &self->c, 0, 10, 6000, w, r,
		       131072, 32, true, 10);
	write_read_cmp(_metadata, &self->e, &self->c, 0, 10, 6000, w, r,
		       4096, 1, true, 11);
	EXPECT_TRUE(vsng_guard_ok(w, 131072, 64));
	EXPECT_TRUE(vsng_guard_ok(r, 131072, 64));
}

/* Proves: one descriptor whose guest-physical range crosses from one
 * memory region into the next (contiguous in GPA, not in process VA) is
 * translated piecewise, in both directions.
 */
TEST_F(data, region_crossing)
{
	uint32_t len = 256 * 1024;
	uint64_t x = vsng_xregion_gpa(&self->e.d, len);
	uint8_t *pat = malloc(len), *back = malloc(len);
	uint8_t *buf = vsng_alloc_guarded(&self->e.d, 2, len, 64);

	ASSERT_NE(0, x);
	vsng_fill(pat, len, 12);
	ASSERT_EQ(0, vsng_gpa_write(&self->e.d, x, pat, len));
	vsng_cmd_init(&self->c, VSNG_TPGT, 1);
	ASSERT_EQ(0, vsng_rw(vsng_req_vq(&self->e, 0), &self->c, 10, true,
			     100, len / VSNG_BLK, x, len));
	EXPECT_GOOD(&self->c);
	/* read back into plain memory */
	vsng_cmd_init(&self->c, VSNG_TPGT, 1);
	ASSERT_EQ(0, vsng_rw(vsng_req_vq(&self->e, 0), &self->c, 10, false,
			     100, len / VSNG_BLK, vsng_gpa(&self->e.d, buf),
			     len));
	EXPECT_GOOD(&self->c);
	EXPECT_EQ(0, memcmp(pat, buf, len));
	/* and into the crossing buffer again */
	memset(back, 0, len);
	ASSERT_EQ(0, vsng_gpa_write(&self->e.d, x, back, len));
	vsng_cmd_init(&self->c, VSNG_TPGT, 1);
	ASSERT_EQ(0, vsng_rw(vsng_req_vq(&self->e, 0), &self->c, 10, false,
			     100, len / VSNG_BLK, x, len));
	EXPECT_GOOD(&self->c);
	ASSERT_EQ(0, vsng_gpa_read(&self->e.d, x, back, len));
	EXPECT_EQ(0, memcmp(pat, back, len));
	EXPECT_TRUE(vsng_guard_ok(buf, len, 64));
	free(pat);
	free(back);
}

/* Proves: all request queues work at the same time: 16 writes in flight on
 * each of 4 queues, then cross-queue read-back.
 */
TEST_F_TIMEOUT(data, all_queues_at_once, 120)
{
	enum { PER = 16, LEN = 16384 };
	struct vsng_cmd *cmds = calloc(NQ * PER, sizeof(*cmds));
	uint8_t *w = vsng_alloc(&self->e.d, 2, NQ * PER * LEN, 4096);
	uint8_t *r = vsng_alloc(&self->e.d, 0, LEN, 4096);
	uint64_t end = vsng_now_ms() + VSNG_TMO;
	int q, i, done = 0;

	ASSERT_NE(NULL, w);
	vsng_fill(w, NQ * PER * LEN, 13);
	for (q = 0; q < NQ; q++) {
		for (i = 0; i < PER; i++) {
			struct vsng_cmd *c = &cmds[q * PER + i];
			int k = q * PER + i;

			vsng_cmd_init(c, VSNG_TPGT, k & 1);
			vsng_cdb_rw(c->cdb, 10, true, 10000 + k * 32, 32);
			c->dout_gpa = vsng_gpa(&self->e.d, w + k * LEN);
			c->dout_len = LEN;
			ASSERT_EQ(0, vsng_cmd_submit(vsng_req_vq(&self->e, q),
						     c));
		}
	}
	for (q = 0; q < NQ; q++)
		vsng_vq_kick(vsng_req_vq(&self->e, q), false);
	while (done < NQ * PER && vsng_now_ms() < end) {
		for (q = 0; q < NQ; q++) {
			vsng_vq_wait(vsng_req_vq(&self->e, q), 10);
			done += vsng_vq_reap(vsng_req_vq(&self->e, q));
		}
	}
	ASSERT_EQ(NQ * PER, done);
	for (i = 0; i < NQ * PER; i++)
		EXPECT_GOOD(&cmds[i]);
	for (i = 0; i < NQ * PER; i++) {
		vsng_cmd_init(&self->c, VSNG_TPGT, i & 1);
		ASSERT_EQ(0, vsng_rw(vsng_req_vq(&self->e, (i + 1) % NQ),
				     &self->c, 10, false, 10000 + i * 32, 32,
				     vsng_gpa(&self->e.d, r), LEN));
		EXPECT_GOOD(&self->c);
		EXPECT_EQ(0, memcmp(w + i * LEN, r, LEN));
	}
	free(cmds);
}

/* Proves: a completely full ring (every descriptor in use, one kick) is
 * served entirely: 128 indirect requests on a 128-entry ring, then 42
 * three-descriptor direct requests (126 of 128 descriptors).
 */
TEST_F_TIMEOUT(data, full_ring, 120)
{
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	struct vsng_cmd *cmds = calloc(vq->num, sizeof(*cmds));
	uint8_t *buf = vsng_alloc(&self->e.d, 2, vq->num * 4096, 4096);
	uint64_t end;
	unsigned int i, n, done, round;

	for (round = 0; round < 2; round++) {
		bool ind = round == 0;

		if (ind && !(self->e.d.features & VSNG_F_INDIRECT))
			continue;
		n = ind ? vq->num : vq->num / 3;
		for (i = 0; i < n; i++) {
			struct vsng_cmd *c = &cmds[i];

			vsng_cmd_init(c, VSNG_TPGT, 0);
			vsng_cdb_rw(c->cdb, 10, false, i * 8, 8);
			c->din_gpa = vsng_gpa(&self->e.d, buf + i * 4096);
			c->din_len = 4096;
			c->indirect = ind;
			ASSERT_EQ(0, vsng_cmd_submit(vq, c));
		}
		if (ind)
			EXPECT_EQ(0, vq->num_free);
		vsng_vq_kick(vq, false);
		done = 0;
		end = vsng_now_ms() + VSNG_TMO;
		while (done < n && vsng_now_ms() < end) {
			vsng_vq_wait(vq, 100);
			done += vsng_vq_reap(vq);
		}
		ASSERT_EQ(n, done);
		for (i = 0; i < n; i++)
			EXPECT_GOOD(&cmds[i]);
		EXPECT_EQ(vq->num, vq->num_free);
	}
	free(cmds);
}

/* Proves: with VIRTIO_SCSI_F_T10_PI negotiated the larger request header
 * (virtio_scsi_cmd_req_pi) is parsed: I/O without protection bytes works.
 */
TEST_F(data, t10_pi_header)
{
	struct vsng_dev_opts o = data_opts;
	uint8_t *w, *r;

	if (!(self->e.d.offered & VSNG_F_T10_PI))
		SKIP(return, "T10_PI not offered");
	vsng_dev_clear_endpoint(&self->e.d);
	vsng_dev_close(&self->e.d);
	o.features = self->e.d.offered & (VSNG_F_VERSION_1 | VSNG_F_ANY_LAYOUT |
					  VSNG_F_INDIRECT | VSNG_F_EVENT_IDX |
					  VSNG_F_T10_PI);
	ASSERT_EQ(0, vsng_dev_init(&self->e.d, &o));
	ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
	memset(&self->c, 0, sizeof(self->c));	/* headers were in old memory */
	w = vsng_alloc_guarded(&self->e.d, 0, 8192, 64);
	r = vsng_alloc_guarded(&self->e.d, 0, 8192, 64);
	write_read_cmp(_metadata, &self->e, &self->c, 0, 10, 7000, w, r, 8192,
		       2, false, 14);
	ASSERT_EQ(0, vsng_tur(vsng_req_vq(&self->e, 0), VSNG_TPGT, 0,
			      &self->c));
	EXPECT_GOOD(&self->c);
}

/* Proves: VIRTIO_F_RING_PACKED is offered and accepted by ours, and the
 * whole device then runs on packed rings (run.sh's packed runs); in-tree
 * 6.12 neither offers it nor accepts it (SET_FEATURES -> EOPNOTSUPP, as
 * drivers/vhost/scsi.c refuses every bit it does not offer).
 */
TEST(ring_packed_feature)
{
	struct vsng_dev d;
	uint64_t f;

	ASSERT_EQ(0, vsng_dev_open(&d, NULL));
	ASSERT_EQ(0, vsng_ioctl(&d, VHOST_SET_OWNER, NULL));
	ASSERT_EQ(0, vsng_ioctl(&d, VHOST_GET_FEATURES, &d.offered));
	f = VSNG_F_VERSION_1 | VSNG_F_RING_PACKED;
	if (vsng_target_is_ours()) {
		EXPECT_TRUE(d.offered & VSNG_F_RING_PACKED);
		EXPECT_EQ(0, vsng_ioctl(&d, VHOST_SET_FEATURES, &f));
	} else {
		EXPECT_FALSE(d.offered & VSNG_F_RING_PACKED);
		EXPECT_EQ(-EOPNOTSUPP, vsng_ioctl(&d, VHOST_SET_FEATURES, &f));
	}
	TH_LOG("offered %#llx, ring of this run: %s",
	       (unsigned long long)d.offered,
	       vsng_ring_env_packed() ? "packed" : "split");
	vsng_dev_close(&d);
}

TEST_HARNESS_MAIN
