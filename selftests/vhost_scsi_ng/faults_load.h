/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The load of the "backend gone" tests (vsng_faults_gone, vsng_faults_nvmf):
 * NIO commands in flight on LUN 0 (READs of known data and WRITEs of new
 * data, alternately, each 4 KiB into its own page-aligned buffer with
 * guards), and the checks of their answers: GOOD only with the right data,
 * otherwise CHECK CONDITION with one of the senses a test allows, a failed
 * READ's buffer holding nothing but its fill or the device's data (no
 * stale memory).  Also bounded shell and sysfs helpers.  Include after
 * kselftest_harness.h and vsng_test.h.
 */
#ifndef FAULTS_LOAD_H
#define FAULTS_LOAD_H

#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#define SIZE_MB		16
#define NBLK		8		/* blocks per command */
#define LEN		(NBLK * VSNG_BLK)
#define NIO		16		/* commands in flight */
#define GUARD		4096
#define FILL		0x5c		/* data-in buffer before a READ */
#define BOUND_MS	20000		/* every wait of these tests */

/* LIO's sense for a failed backend bio (see faults_test.c) */
#define S_COMM_FAILURE	0x020800	/* NOT READY, LU COMMUNICATION FAILURE */
/* LIO's sense for an LBA beyond the backstore's capacity */
#define S_LBA_RANGE	0x052100	/* ILLEGAL REQUEST, LBA OUT OF RANGE */

static inline int vsh(int timeout_ms, const char *fmt, va_list ap)
{
	uint64_t end = vsng_now_ms() + timeout_ms;
	char cmd[1024];
	int status;
	pid_t pid, r;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0)
			return -errno;
		if (vsng_now_ms() > end) {
			/* stuck in the kernel: it cannot be reaped, leave it */
			fprintf(stderr, "# still running after %d ms: %s\n",
				timeout_ms, cmd);
			return -ETIMEDOUT;
		}
		usleep(10 * 1000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/* A shell command, waited for at most BOUND_MS: its exit code or -errno. */
static inline int sh(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh(BOUND_MS, fmt, ap);
	va_end(ap);
	return rc;
}

static inline int wr(const char *val, const char *fmt, ...)
{
	char p[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	return vsng_sysfs_write(p, val);
}

/* Wait (at most ms) for a path to exist: 0 or -ENOENT. */
static inline int wait_path(const char *path, int ms)
{
	uint64_t end = vsng_now_ms() + ms;

	while (access(path, F_OK)) {
		if (vsng_now_ms() > end)
			return -ENOENT;
		usleep(20 * 1000);
	}
	return 0;
}

static inline int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* --- the load --------------------------------------------------------- */

struct io {
	struct vsng_cmd c;
	uint8_t *buf;		/* LEN bytes, GUARD either side */
	uint64_t lba;
	bool write;
	uint32_t seed;		/* WRITE: what it sends; READ: what it expects */
	uint32_t old;		/* what the range held before */
	int64_t ms;		/* answered after ms (from submission), -1 */
	uint64_t t0;
};

struct load {
	struct io io[NIO];
	uint8_t *exp;		/* scratch: expected data */
};

static inline uint32_t old_seed(int i)
{
	return 0x15f0 + i;
}

static inline int load_init(struct vsng_env *e, struct load *l)
{
	uint8_t *area;
	int i;

	area = vsng_alloc(&e->d, 0, NIO * (LEN + GUARD) + GUARD, 4096);
	l->exp = malloc(LEN);
	if (!area || !l->exp)
		return -ENOMEM;
	memset(area, 0xa5, NIO * (LEN + GUARD) + GUARD);
	for (i = 0; i < NIO; i++) {
		struct io *o = &l->io[i];

		memset(&o->c, 0, sizeof(o->c));
		o->buf = area + GUARD + i * (LEN + GUARD);
		o->lba = (uint64_t)(i + 1) * 64;
		o->write = i & 1;
		o->old = old_seed(i);
		o->seed = o->write ? 0x1600 + i : o->old;
	}
	return 0;
}

/* Synchronously write seed's data at lba (uses the io's buffer). */
static inline int put(struct vsng_env *e, struct io *o, uint32_t seed)
{
	vsng_fill(o->buf, LEN, seed);
	vsng_cmd_init(&o->c, VSNG_TPGT, 0);
	if (vsng_rw(vsng_req_vq(e, 0), &o->c, 10, true, o->lba, NBLK,
		    vsng_gpa(&e->d, o->buf), LEN))
		return -ETIMEDOUT;
	return RESP_OK(&o->c) && !o->c.rsp.status ? 0 : -EIO;
}

/* Synchronously read o's range into its buffer: GOOD and seed's data? */
static inline bool has(struct vsng_env *e, struct load *l, struct io *o,
		uint32_t seed)
{
	memset(o->buf, FILL, LEN);
	vsng_cmd_init(&o->c, VSNG_TPGT, 0);
	if (vsng_rw(vsng_req_vq(e, 0), &o->c, 10, false, o->lba, NBLK,
		    vsng_gpa(&e->d, o->buf), LEN) || !RESP_OK(&o->c) ||
	    o->c.rsp.status)
		return false;
	vsng_fill(l->exp, LEN, seed);
	return !memcmp(o->buf, l->exp, LEN);
}

/* Every range holds its old data. */
static inline int load_prepare(struct vsng_env *e, struct load *l)
{
	int i;

	for (i = 0; i < NIO; i++)
		if (put(e, &l->io[i], l->io[i].old))
			return -EIO;
	return 0;
}

/* Put io[from..to) in flight: READs into a FILL-ed buffer, WRITEs. */
static inline int load_submit(struct vsng_env *e, struct load *l, int from,
			      int to)
{
	struct vsng_vq *vq = vsng_req_vq(e, 0);
	int i;

	for (i = from; i < to; i++) {
		struct io *o = &l->io[i];

		vsng_cmd_init(&o->c, VSNG_TPGT, 0);
		vsng_cdb_rw(o->c.cdb, 10, o->write, o->lba, NBLK);
		if (o->write) {
			vsng_fill(o->buf, LEN, o->seed);
			o->c.dout_gpa = vsng_gpa(&e->d, o->buf);
			o->c.dout_len = LEN;
		} else {
			memset(o->buf, FILL, LEN);
			o->c.din_gpa = vsng_gpa(&e->d, o->buf);
			o->c.din_len = LEN;
		}
		o->ms = -1;
		o->t0 = vsng_now_ms();
		if (vsng_cmd_submit(vq, &o->c))
			return -ENOSPC;
	}
	vsng_vq_kick(vq, true);
	return 0;
}

/* Reap until io[from..to) are answered or ms pass: how many answered. */
static inline int load_reap(struct vsng_env *e, struct load *l, int from,
			    int to, int ms)
{
	struct vsng_vq *vq = vsng_req_vq(e, 0);
	uint64_t end = vsng_now_ms() + ms;
	int i, done;

	for (;;) {
		vsng_vq_reap(vq);
		for (i = from, done = 0; i < to; i++) {
			struct io *o = &l->io[i];

			if (o->c.done && o->ms < 0)
				o->ms = vsng_now_ms() - o->t0;
			done += o->c.done;
		}
		if (done == to - from || vsng_now_ms() > end)
			return done;
		vsng_vq_wait(vq, 20);
	}
}

static inline uint32_t sense_of(const struct vsng_cmd *c)
{
	return vsng_sense_key(&c->rsp) << 16 | vsng_sense_asc(&c->rsp) << 8 |
	       vsng_sense_ascq(&c->rsp);
}

/*
 * A failed READ's buffer: each block still FILL, or the device's data for
 * it (a bio that completed before the one that failed): never anything
 * else.  Returns the number of blocks holding neither.
 */
static inline int stale_blocks(struct load *l, struct io *o)
{
	int b, bad = 0;

	vsng_fill(l->exp, LEN, o->seed);
	for (b = 0; b < NBLK; b++) {
		const uint8_t *p = o->buf + b * VSNG_BLK;
		bool fill = true;
		int k;

		for (k = 0; k < VSNG_BLK; k++)
			fill &= p[k] == FILL;
		bad += !fill && memcmp(p, l->exp + b * VSNG_BLK, VSNG_BLK);
	}
	return bad;
}

struct tally {
	int good, failed, other;
};

/*
 * Check every answer of io[from..to): GOOD (a READ with exactly the data
 * expected), or CHECK CONDITION with one of the senses allowed (0 ends
 * the list) and a READ buffer without stale data; the guards intact.
 */
static inline void load_check(struct __test_metadata *_metadata,
			      struct load *l, int from, int to,
			      const uint32_t *allowed, struct tally *t,
			      const char *what)
{
	int i, k;

	memset(t, 0, sizeof(*t));
	for (i = from; i < to; i++) {
		struct io *o = &l->io[i];
		const char *op = o->write ? "WRITE" : "READ";
		bool ok = false;

		EXPECT_TRUE(o->c.done) {
			TH_LOG("%s: %s %d not answered", what, op, i);
		}
		if (!o->c.done)
			continue;
		EXPECT_EQ(VIRTIO_SCSI_S_OK, o->c.rsp.response);
		EXPECT_TRUE(vsng_guard_ok(o->buf, LEN, GUARD));
		if (o->c.rsp.status == 0) {
			t->good++;
			if (o->write)
				continue;
			vsng_fill(l->exp, LEN, o->seed);
			EXPECT_EQ(0, memcmp(o->buf, l->exp, LEN)) {
				TH_LOG("%s: READ %d GOOD with wrong data",
				       what, i);
			}
			continue;
		}
		for (k = 0; allowed[k]; k++)
			ok |= o->c.rsp.status == 2 &&
			      sense_of(&o->c) == allowed[k];
		t->failed += ok;
		t->other += !ok;
		EXPECT_TRUE(ok) {
			TH_LOG("%s: %s %d status 0x%x sense %06x after %lld ms",
			       what, op, i, o->c.rsp.status, sense_of(&o->c),
			       (long long)o->ms);
		}
		if (o->write)
			continue;
		EXPECT_EQ(0, stale_blocks(l, o)) {
			TH_LOG("%s: failed READ %d: stale data in the buffer",
			       what, i);
		}
	}
}

/* One line per command: what it got, after how long (for the docs). */
static inline void load_print(struct load *l, int from, int to,
			      const char *what)
{
	int i;

	for (i = from; i < to; i++) {
		struct io *o = &l->io[i];

		ksft_print_msg("%s: %s %d: %s status 0x%x sense %06x resid %u after %lld ms\n",
			       what, o->write ? "WRITE" : "READ", i,
			       o->c.done ? "answered" : "NOT answered",
			       o->c.rsp.status, o->c.rsp.status ?
			       sense_of(&o->c) : 0, o->c.rsp.resid,
			       (long long)o->ms);
	}
}

/* Back on a working device: READs see the old data, WRITEs answered GOOD
 * landed; a failed WRITE may or may not have (counted).
 */
static inline void load_verify(struct __test_metadata *_metadata,
			struct vsng_env *e, struct load *l, int from, int to,
			const char *what)
{
	int i, landed = 0, not_landed = 0;

	for (i = from; i < to; i++) {
		struct io *o = &l->io[i];
		bool good = o->c.done && o->c.rsp.status == 0;

		if (!o->write) {
			EXPECT_TRUE(has(e, l, o, o->old));
			continue;
		}
		if (good) {
			EXPECT_TRUE(has(e, l, o, o->seed)) {
				TH_LOG("%s: WRITE %d answered GOOD did not land",
				       what, i);
			}
			continue;
		}
		if (has(e, l, o, o->seed)) {
			landed++;
		} else {
			EXPECT_TRUE(has(e, l, o, o->old)) {
				TH_LOG("%s: failed WRITE %d left neither old nor new data",
				       what, i);
			}
			not_landed++;
		}
	}
	ksft_print_msg("%s: failed WRITEs: %d landed, %d did not\n", what,
		       landed, not_landed);
}

/* LUN 0 of a new target on an iblock backstore on dev, and the device. */
static inline int lun_on(struct vsng_env *e, const char *dev)
{
	int err;

	e->d.fd = -1;
	vsng_target_init(&e->t, vsng_test_id());
	snprintf(e->t.backend, sizeof(e->t.backend), "iblock");
	snprintf(e->t.hba, sizeof(e->t.hba), "iblock_%u",
		 1000 + vsng_test_id() % 8000);
	snprintf(e->t.dev_path, sizeof(e->t.dev_path), "%s", dev);
	e->t.size_mb = SIZE_MB;
	e->blocks = (uint64_t)SIZE_MB * 2048;
	err = vsng_target_create(&e->t, 1);
	if (!err)
		err = vsng_dev_init(&e->d, NULL);
	if (!err)
		err = vsng_dev_set_endpoint(&e->d, e->t.wwpn);
	if (!err)
		vsng_clear_ua(vsng_req_vq(e, 0), 0);
	return err;
}

#define LUN_RELEASED(e) \
	EXPECT_EQ(0, vsng_target_del_lun_timed(&(e)->t, 0, 10000))

#endif /* FAULTS_LOAD_H */
