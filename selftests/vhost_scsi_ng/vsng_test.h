/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vhost-scsi-ng selftests: the standard environment
 * (one LIO target with LUNs + one device with its endpoint set) and
 * synchronous SCSI helpers.  Include after kselftest_harness.h.
 */
#ifndef VSNG_TEST_H
#define VSNG_TEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsng_drv.h"
#include "linux/vhost_scsi_ng.h"

#define VSNG_TMO	20000	/* ms: generous, TCG guests are slow */

/*
 * The harness kills a test after TEST_TIMEOUT_DEFAULT (30 s).  Under the
 * debug kernel (KASAN, lockdep, kmemleak: about 3.5 times slower) on a
 * loaded host, a badinput test with its device teardown and re-setup ran
 * past that.  Tests that name their own timeout keep it.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 90
#define VSNG_BLK	512
#define VSNG_TPGT	1

extern char *program_invocation_short_name;

/* A stable id per test program: target names do not clash between them. */
static inline unsigned int vsng_test_id(void)
{
	const char *p = program_invocation_short_name;
	unsigned int h = 5381;

	while (*p)
		h = h * 33 + (unsigned char)*p++;
	return h & 0xffffff;
}

static inline void vsng_clear_ua(struct vsng_vq *vq, uint16_t lun);
static inline int vsng_tur(struct vsng_vq *vq, uint8_t target, uint16_t lun,
			   struct vsng_cmd *c);

struct vsng_env {
	struct vsng_target t;
	struct vsng_dev d;
	uint64_t blocks;	/* per LUN */
};

static inline int vsng_env_up(struct vsng_env *e,
			      const struct vsng_dev_opts *o, int nluns)
{
	int err, i;

	e->d.fd = -1;
	vsng_target_init(&e->t, vsng_test_id());
	e->blocks = (uint64_t)e->t.size_mb * 1024 * 1024 / VSNG_BLK;
	err = vsng_target_create(&e->t, nluns);
	if (err) {
		fprintf(stderr, "# target create: %s\n", strerror(-err));
		return err;
	}
	err = vsng_dev_init(&e->d, o);
	if (err) {
		fprintf(stderr, "# device init: %s\n", strerror(-err));
		return err;
	}
	err = vsng_dev_set_endpoint(&e->d, e->t.wwpn);
	if (err) {
		fprintf(stderr, "# SET_ENDPOINT: %s\n", strerror(-err));
		return err;
	}
	for (i = 0; i < nluns; i++)
		vsng_clear_ua(&e->d.vq[VSNG_VQ_REQ], i);
	return 0;
}

static inline void vsng_env_down(struct vsng_env *e)
{
	if (e->d.fd >= 0) {
		if (e->d.endpoint)
			vsng_dev_clear_endpoint(&e->d);
		vsng_dev_close(&e->d);
	}
	vsng_target_destroy(&e->t);
}

/*
 * The standard environment with LUN 0 on a null_blk disk /dev/<nb> through
 * iblock (every I/O takes delay_ms: requests stay in flight; memory_backed:
 * it keeps what is written).  -ENOENT when the
 * kernel has no null_blk (callers SKIP).  Tear down with vsng_env_down()
 * then vsng_nullb_slow_destroy(nb).
 */
static inline int vsng_env_up_nullb(struct vsng_env *e,
				    const struct vsng_dev_opts *o,
				    const char *nb, unsigned int delay_ms,
				    bool memory_backed)
{
	int err;

	e->d.fd = -1;
	vsng_target_init(&e->t, vsng_test_id());
	err = vsng_nullb_create(nb, delay_ms, 64, memory_backed);
	if (err)
		return err;
	snprintf(e->t.backend, sizeof(e->t.backend), "iblock");
	snprintf(e->t.hba, sizeof(e->t.hba), "iblock_%u",
		 1000 + vsng_test_id() % 8000);
	snprintf(e->t.dev_path, sizeof(e->t.dev_path), "/dev/%s", nb);
	e->t.size_mb = 64;
	e->blocks = (uint64_t)e->t.size_mb * 1024 * 1024 / VSNG_BLK;
	err = vsng_target_create(&e->t, 1);
	if (err)
		return err == -ENOENT ? -EIO : err;
	err = vsng_dev_init(&e->d, o);
	if (!err)
		err = vsng_dev_set_endpoint(&e->d, e->t.wwpn);
	if (err)
		return err == -ENOENT ? -EIO : err;
	vsng_clear_ua(&e->d.vq[VSNG_VQ_REQ], 0);
	return 0;
}

static inline int vsng_env_up_slow(struct vsng_env *e,
				   const struct vsng_dev_opts *o,
				   const char *nb, unsigned int delay_ms)
{
	return vsng_env_up_nullb(e, o, nb, delay_ms, false);
}

static inline struct vsng_vq *vsng_req_vq(struct vsng_env *e, int i)
{
	return &e->d.vq[VSNG_VQ_REQ + i];
}

/* Block READ/WRITE with a CDB of cdbsz bytes, data at gpa. */
static inline int vsng_rw(struct vsng_vq *vq, struct vsng_cmd *c, int cdbsz,
			  bool write, uint64_t lba, uint32_t blocks,
			  uint64_t gpa, uint32_t len)
{
	uint8_t cdb[16];
	int n = vsng_cdb_rw(cdb, cdbsz, write, lba, blocks);

	return vsng_scsi(vq, c, cdb, n, write ? gpa : 0, write ? len : 0,
			 write ? 0 : gpa, write ? 0 : len);
}

static inline int vsng_tur(struct vsng_vq *vq, uint8_t target, uint16_t lun,
			   struct vsng_cmd *c)
{
	uint8_t cdb[6] = { 0 };

	vsng_cmd_init(c, target, lun);
	return vsng_scsi(vq, c, cdb, 6, 0, 0, 0, 0);
}

/* Eat pending unit attentions (e.g. LUNs added after the nexus). */
static inline void vsng_clear_ua(struct vsng_vq *vq, uint16_t lun)
{
	struct vsng_cmd c = { 0 };
	int i;

	for (i = 0; i < 4; i++)
		if (vsng_tur(vq, VSNG_TPGT, lun, &c) || c.rsp.status != 2 ||
		    vsng_sense_key(&c.rsp) != 6)
			break;
}

static inline const char *vsng_module(void)
{
	const char *m = getenv("VSNG_TARGET_MOD");

	if (m && *m)
		return m;
	return vsng_target_is_ours() ? "vhost_scsi_ng" : "vhost_scsi";
}

/* Skip a test of a behaviour only our module has. */
#define VSNG_OURS_ONLY(what) do { \
	if (!vsng_target_is_ours()) \
		SKIP(return, "in-tree vhost_scsi has no " what); \
} while (0)

/*
 * The packed-ring run of a group (VSNG_RING=packed, run.sh's *_packed
 * names) on a target without packed rings (in-tree 6.12 refuses
 * VIRTIO_F_RING_PACKED): every test SKIPs; data.ring_packed_feature checks
 * the refusal itself.  Call first in FIXTURE_SETUP.
 */
#define VSNG_PACKED_SKIP() do { \
	if (vsng_ring_env_packed() && !vsng_target_is_ours()) \
		SKIP(return, "in-tree: packed rings not supported"); \
} while (0)

/*
 * A test that reads the split ring's own layout (the used ring's entries,
 * avail_event, the used ring's guest address in the dirty log, the 16-bit
 * vring base): under VSNG_RING=packed (a whole suite run on packed rings)
 * it SKIPs with @what; the packed layout has tests of its own
 * (badinput's packed cases, KUnit, lt.packed_chains_in_flight_exceed_ring).
 */
#define VSNG_SPLIT_LAYOUT(what) do { \
	if (vsng_ring_env_packed()) \
		SKIP(return, "split ring layout: " what); \
} while (0)

#define RESP_OK(c) ((c)->done && (c)->rsp.response == VIRTIO_SCSI_S_OK)

/*
 * A defect that the in-tree target is known to have (Documentation/
 * selftests.md lists them).  @bad true means the defect showed up.  On
 * in-tree this prints "# in-tree: affected: ..." and the test passes (the
 * suite documents the reference, it does not fail on it); on ours it is
 * an EXPECT failure with the same text.  Evaluates to @bad, so a test can
 * stop checking what follows from the defect.
 */
#define VSNG_INTREE_AFFECTED(bad, fmt, ...) ({				\
	bool __bad = (bad);						\
									\
	if (__bad && !vsng_target_is_ours()) {				\
		ksft_print_msg("in-tree: affected: " fmt "\n",		\
			       ##__VA_ARGS__);				\
	} else if (__bad) {						\
		TH_LOG("affected: " fmt, ##__VA_ARGS__);		\
		EXPECT_FALSE(__bad);					\
	}								\
	__bad;								\
})

/*
 * Kernel log records are counted by their sequence numbers, not one by
 * one: a flood overwrites the ring buffer faster than a reader keeps up
 * (reads then fail with EPIPE and skip ahead).  vsng_kmsg_seq() reads all
 * is there and returns the sequence number of the last record; the
 * difference of two calls is what the kernel logged in between.
 */
static inline long long vsng_kmsg_seq(int fd, const char *show)
{
	char rec[2048];
	long long seq = -1, s;
	int shown = 0;
	ssize_t r;

	for (;;) {
		r = read(fd, rec, sizeof(rec) - 1);
		if (r < 0 && errno == EPIPE)
			continue;
		if (r <= 0)
			break;
		rec[r] = 0;
		if (sscanf(rec, "%*d,%lld", &s) == 1)
			seq = s;
		if (show && shown < 3 && strstr(rec, show)) {
			printf("# kmsg: %s", strchr(rec, ';') ?
			       strchr(rec, ';') + 1 : rec);
			shown++;
		}
	}
	return seq;
}

/*
 * Kernel log lines containing @needle since the last call (@fd at the
 * end); the first two are shown, tagged @show, unless @show is NULL.
 */
static inline int vsng_kmsg_count(int fd, const char *needle, const char *show)
{
	char rec[2048];
	int n = 0, shown = 0;
	ssize_t r;

	for (;;) {
		r = read(fd, rec, sizeof(rec) - 1);
		if (r < 0 && errno == EPIPE)
			continue;
		if (r <= 0)
			break;
		rec[r] = 0;
		if (!strstr(rec, needle))
			continue;
		n++;
		if (show && shown++ < 2)
			printf("# kmsg (%s): %s", show, strchr(rec, ';') ?
			       strchr(rec, ';') + 1 : rec);
	}
	return n;
}

#endif /* VSNG_TEST_H */
