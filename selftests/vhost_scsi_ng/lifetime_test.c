// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetime tests: tearing things down while I/O is in flight.  Each ends
 * by proving the target is reusable (a fresh device attaches and answers)
 * and, where it can be seen from userspace, that nothing is left behind.
 * run.sh checks at the very end that the module unloads and the kernel log
 * is clean.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <pthread.h>
#include <dirent.h>

#include "kselftest_harness.h"
#include "vsng_test.h"

#define NCMD 128
#define LEN 65536
#define LT_NB "vsnglt0"	/* slow null_blk disk */

static const struct vsng_dev_opts lt_opts = { .nreq = 2, .req_size = 128 };

FIXTURE(lt) {
	struct vsng_env e;
	struct vsng_cmd *cmds;
	uint8_t *buf;
	bool nullb;
};

FIXTURE_SETUP(lt)
{
	ASSERT_EQ(0, vsng_env_up(&self->e, &lt_opts, 2));
	self->cmds = calloc(2 * NCMD, sizeof(*self->cmds));
	self->buf = vsng_alloc(&self->e.d, 2, 8 << 20, 4096);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(lt)
{
	vsng_env_down(&self->e);
	if (self->nullb)
		vsng_nullb_slow_destroy(LT_NB);
}

static long module_refcnt(void)
{
	char p[256], b[32];

	snprintf(p, sizeof(p), "/sys/module/%s/refcnt", vsng_module());
	if (vsng_sysfs_read(p, b, sizeof(b)))
		return -1;
	return atol(b);
}

/* Queue n reads (LEN bytes, indirect when possible) on queue q, LUN lun;
 * kick once.  Returns how many were queued.
 */
static int flood(struct vsng_dev *d, struct vsng_cmd *cmds, uint8_t *buf,
		 int q, int n, uint16_t lun)
{
	struct vsng_vq *vq = &d->vq[VSNG_VQ_REQ + q];
	int i;

	for (i = 0; i < n; i++) {
		struct vsng_cmd *c = &cmds[i];

		vsng_cmd_init(c, VSNG_TPGT, lun);
		vsng_cdb_rw(c->cdb, 10, i & 1, (i % 128) * (LEN / VSNG_BLK),
			    LEN / VSNG_BLK);
		if (i & 1) {
			c->dout_gpa = vsng_gpa(d, buf + (i % 128) * LEN);
			c->dout_len = LEN;
		} else {
			c->din_gpa = vsng_gpa(d, buf + (i % 128) * LEN);
			c->din_len = LEN;
		}
		c->indirect = !!(d->features & VSNG_F_INDIRECT);
		if (vsng_cmd_submit(vq, c))
			break;
	}
	vsng_vq_kick(vq, true);
	return i;
}

static int reap_n(struct vsng_vq *vq, int n, int timeout_ms)
{
	uint64_t end = vsng_now_ms() + timeout_ms;
	int done = 0;

	while (done < n && vsng_now_ms() < end) {
		vsng_vq_wait(vq, 50);
		done += vsng_vq_reap(vq);
	}
	return done;
}

/* A fresh device attaches to the same target (retrying for a while: the
 * old one may still be releasing) and answers TEST UNIT READY.
 */
static void fresh_device_works(struct __test_metadata *_metadata,
			       struct vsng_env *e)
{
	struct vsng_cmd c = { 0 };
	uint64_t end = vsng_now_ms() + 10000;
	int err;

	if (e->d.fd >= 0)
		vsng_dev_close(&e->d);
	ASSERT_EQ(0, vsng_dev_init(&e->d, &lt_opts));
	do {
		err = vsng_dev_set_endpoint(&e->d, e->t.wwpn);
		if (err)
			usleep(100 * 1000);
	} while (err && vsng_now_ms() < end);
	ASSERT_EQ(0, err);
	vsng_clear_ua(&e->d.vq[VSNG_VQ_REQ], 0);
	ASSERT_EQ(0, vsng_tur(&e->d.vq[VSNG_VQ_REQ], VSNG_TPGT, 0, &c));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, c.rsp.response);
	EXPECT_EQ(0, c.rsp.status);
}

/* Proves: closing the fd with 200+ requests in flight on two queues
 * neither hangs nor leaks: close returns, the module reference count is
 * back where it was, and the target is reusable.  The LUN is a slow
 * null_blk disk (100 ms per I/O, so 256 requests take 400 ms or more):
 * before the close the test checks that requests are unanswered and
 * (ours) that the device holds some in flight.
 */
TEST_F_TIMEOUT(lt, close_with_io_in_flight, 120)
{
	struct vhost_scsi_ng_vq_stats st = { 0 };
	int n0, n1, answered, err;
	uint64_t t0, end;
	long ref0;

	vsng_env_down(&self->e);
	self->nullb = true;
	err = vsng_env_up_slow(&self->e, &lt_opts, LT_NB, 100);
	/* -ENOENT: the kernel has no null_blk; the test cannot run: fail */
	ASSERT_EQ(0, err) {
		TH_LOG("slow null_blk LUN: %s", strerror(-err));
	}
	vsng_dev_clear_endpoint(&self->e.d);
	vsng_dev_close(&self->e.d);
	ref0 = module_refcnt();
	ASSERT_EQ(0, vsng_dev_init(&self->e.d, &lt_opts));
	ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
	self->buf = vsng_alloc(&self->e.d, 2, 8 << 20, 4096);
	ASSERT_NE(NULL, self->buf);
	memset(self->cmds, 0, 2 * NCMD * sizeof(*self->cmds));
	n0 = flood(&self->e.d, self->cmds, self->buf, 0, NCMD, 0);
	n1 = flood(&self->e.d, self->cmds + NCMD, self->buf, 1, NCMD, 0);
	EXPECT_GT(n0, 60);
	EXPECT_GT(n1, 60);
	if (vsng_target_is_ours()) {
		end = vsng_now_ms() + VSNG_TMO;
		do {
			ASSERT_EQ(0, vsng_vq_stats(&self->e.d, VSNG_VQ_REQ,
						   &st));
		} while (!st.inflight && vsng_now_ms() < end);
		EXPECT_GT(st.inflight, 0);
	}
	answered = vsng_vq_used_idx(&self->e.d.vq[VSNG_VQ_REQ]) +
		   vsng_vq_used_idx(&self->e.d.vq[VSNG_VQ_REQ + 1]);
	TH_LOG("before close: %d of %d answered, %llu in flight in queue 0",
	       answered, n0 + n1, (unsigned long long)st.inflight);
	EXPECT_LT(answered, n0 + n1);
	t0 = vsng_now_ms();
	vsng_dev_close(&self->e.d);	/* fd first, then the memory */
	TH_LOG("close with I/O in flight took %llu ms",
	       (unsigned long long)(vsng_now_ms() - t0));
	usleep(200 * 1000);
	EXPECT_EQ(ref0, module_refcnt());
	fresh_device_works(_metadata, &self->e);
}

/* Proves: SIGKILL of the owner process in the middle of I/O releases
 * everything: the TPG can be claimed again by another process.
 */
TEST_F_TIMEOUT(lt, kill_owner_mid_io, 120)
{
	int pfd[2], status;
	char ch;
	pid_t pid;

	vsng_dev_clear_endpoint(&self->e.d);
	vsng_dev_close(&self->e.d);
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct vsng_dev d;
		struct vsng_cmd *cmds = calloc(NCMD, sizeof(*cmds));
		uint8_t *buf;
		int round = 0;

		if (vsng_dev_init(&d, &lt_opts) ||
		    vsng_dev_set_endpoint(&d, self->e.t.wwpn))
			_exit(1);
		buf = vsng_alloc(&d, 2, 8 << 20, 4096);
		for (;;) {
			int n = flood(&d, cmds, buf, 0, 64, 0);

			if (round++ == 2 && write(pfd[1], "x", 1) != 1)
				_exit(2);
			/* reap a few, leave the rest in flight */
			reap_n(&d.vq[VSNG_VQ_REQ], n, 2000);
		}
	}
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], &ch, 1));
	usleep(50 * 1000);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	fresh_device_works(_metadata, &self->e);
}

/*
 * Keep up to 64 requests in flight on request queue 0 (LUN lun) while an
 * action runs in another thread of the owner process; stop submitting when
 * it is done and wait for every submitted request.  Returns the number
 * submitted; *done / *good count answers / GOOD answers.
 */
struct action {
	int (*fn)(struct vsng_env *e);
	struct vsng_env *e;
	int delay_ms;
	int finished;		/* atomic accesses only */
	int err;
};

static void *action_thread(void *p)
{
	struct action *a = p;

	usleep(a->delay_ms * 1000);
	a->err = a->fn(a->e);
	__atomic_store_n(&a->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int load_during(struct vsng_env *e, struct vsng_cmd *cmds,
		       uint8_t *buf, uint16_t lun, struct action *a,
		       int *done, int *good)
{
	struct vsng_vq *vq = &e->d.vq[VSNG_VQ_REQ];
	int i, submitted = 0, inflight = 0, before;
	uint64_t end;
	pthread_t th;
	bool busy[64] = { 0 };

	*done = *good = 0;
	a->e = e;
	if (pthread_create(&th, NULL, action_thread, a))
		return -1;
	while (!__atomic_load_n(&a->finished, __ATOMIC_SEQ_CST)) {
		for (i = 0; i < 64; i++) {
			struct vsng_cmd *c = &cmds[i];

			if (busy[i])
				continue;
			vsng_cmd_init(c, VSNG_TPGT, lun);
			vsng_cdb_rw(c->cdb, 10, false, i * 64, 64);
			c->din_gpa = vsng_gpa(&e->d, buf + i * 32768);
			c->din_len = 32768;
			c->indirect = !!(e->d.features & VSNG_F_INDIRECT);
			if (vsng_cmd_submit(vq, c))
				break;
			busy[i] = true;
			submitted++;
			inflight++;
		}
		vsng_vq_kick(vq, false);
		vsng_vq_wait(vq, 20);
		before = *done;
		vsng_vq_reap(vq);
		for (i = 0; i < 64; i++)
			if (busy[i] && cmds[i].done) {
				busy[i] = false;
				inflight--;
				(*done)++;
				*good += cmds[i].rsp.response == 0 &&
					 cmds[i].rsp.status == 0;
			}
		(void)before;
	}
	pthread_join(th, NULL);
	vsng_vq_kick(vq, true);
	end = vsng_now_ms() + VSNG_TMO;
	while (inflight && vsng_now_ms() < end) {
		vsng_vq_wait(vq, 50);
		vsng_vq_reap(vq);
		for (i = 0; i < 64; i++)
			if (busy[i] && cmds[i].done) {
				busy[i] = false;
				inflight--;
				(*done)++;
				*good += cmds[i].rsp.response == 0 &&
					 cmds[i].rsp.status == 0;
			}
	}
	return submitted;
}

static int clear_then_set(struct vsng_env *e)
{
	int err = vsng_dev_clear_endpoint(&e->d);

	if (err)
		return err;
	usleep(300 * 1000);
	return vsng_dev_set_endpoint(&e->d, e->t.wwpn);
}

/* Proves: CLEAR_ENDPOINT while a loader keeps 64 requests in flight
 * returns; SET_ENDPOINT again resumes the ring where it stopped and every
 * request is answered exactly once, GOOD: neither the requests in flight
 * at the CLEAR nor those placed while no endpoint was set may fail (QEMU
 * stop/resume under I/O must be invisible to the guest).
 */
TEST_F_TIMEOUT(lt, clear_endpoint_under_load, 120)
{
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	struct action a = { .fn = clear_then_set, .delay_ms = 500 };
	int n, done, good;

	n = load_during(&self->e, self->cmds, self->buf, 0, &a, &done, &good);
	TH_LOG("%d submitted, %d answered (%d GOOD) around CLEAR/SET",
	       n, done, good);
	EXPECT_EQ(0, a.err);
	EXPECT_GT(n, 64);
	EXPECT_EQ(n, done);
	EXPECT_EQ(done, good);
	EXPECT_EQ(vq->num, vq->num_free);
	/* nothing extra shows up */
	usleep(200 * 1000);
	EXPECT_EQ(0, vsng_vq_reap(vq));
}

static int unlink_lun1(struct vsng_env *e)
{
	return vsng_target_del_lun(&e->t, 1);
}

/* Proves: unlinking a LUN while a loader keeps 64 requests in flight on
 * it completes every request (good or error), then the LUN answers
 * LOGICAL UNIT NOT SUPPORTED; the other LUN keeps working.
 */
TEST_F_TIMEOUT(lt, unlink_lun_under_load, 120)
{
	struct vsng_vq *vq = vsng_req_vq(&self->e, 0);
	struct action a = { .fn = unlink_lun1, .delay_ms = 500 };
	struct vsng_cmd c = { 0 };
	int n, done, good;

	n = load_during(&self->e, self->cmds, self->buf, 1, &a, &done, &good);
	TH_LOG("%d submitted, %d answered, %d GOOD, around the unlink",
	       n, done, good);
	EXPECT_EQ(0, a.err);
	EXPECT_GT(n, 64);
	EXPECT_EQ(n, done);
	EXPECT_GT(good, 0);
	EXPECT_EQ(vq->num, vq->num_free);
	vsng_clear_ua(vq, 1);
	ASSERT_EQ(0, vsng_tur(vq, VSNG_TPGT, 1, &c));
	EXPECT_EQ(2, c.rsp.status);
	EXPECT_EQ(0x25, vsng_sense_asc(&c.rsp));
	vsng_clear_ua(vq, 0);
	ASSERT_EQ(0, vsng_tur(vq, VSNG_TPGT, 0, &c));
	EXPECT_EQ(0, c.rsp.status);
}

/* Devices of this process still in ours' debugfs (-1: no debugfs view). */
static int our_debugfs_devs(void)
{
	char pre[32];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	if (access("/sys/kernel/debug/vhost-scsi-ng", F_OK))
		system("mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null");
	dir = opendir("/sys/kernel/debug/vhost-scsi-ng");
	if (!dir)
		return -1;
	snprintf(pre, sizeof(pre), "%d-", getpid());
	while ((de = readdir(dir)))
		n += !strncmp(de->d_name, pre, strlen(pre));
	closedir(dir);
	return n;
}

/* Proves: after closing a device with 256 requests in flight on two LUNs,
 * nothing is left in LIO: unlinking each LUN returns at once (LIO's unlink
 * waits until every command referencing the LUN is released, so its
 * command count is zero), the nexus can be dropped (no device holds the
 * TPG any more; the session is deregistered) and reads back as gone, and
 * (ours) the device's debugfs directory is gone.  Then it all comes back
 * and a fresh device works.
 */
TEST_F_TIMEOUT(lt, lio_counts_back_to_zero, 120)
{
	char nexus[128];
	uint64_t t0;
	int err, n;

	EXPECT_GT(flood(&self->e.d, self->cmds, self->buf, 0, NCMD, 0), 60);
	EXPECT_GT(flood(&self->e.d, self->cmds + NCMD, self->buf, 1, NCMD, 1),
		  60);
	n = vsng_target_is_ours() ? our_debugfs_devs() : -1;
	if (n >= 0)
		EXPECT_EQ(1, n);
	vsng_dev_close(&self->e.d);
	self->e.d.endpoint = false;

	t0 = vsng_now_ms();
	err = vsng_target_del_lun_timed(&self->e.t, 0, 20000);
	EXPECT_EQ(0, err) {
		TH_LOG("unlink LUN 0: %s", strerror(-err));
	}
	err = vsng_target_del_lun_timed(&self->e.t, 1, 20000);
	EXPECT_EQ(0, err) {
		TH_LOG("unlink LUN 1: %s", strerror(-err));
	}
	TH_LOG("both LUNs unlinked %llu ms after close",
	       (unsigned long long)(vsng_now_ms() - t0));
	ASSERT_EQ(0, err);
	EXPECT_EQ(0, vsng_target_get_nexus(&self->e.t, nexus, sizeof(nexus)));
	EXPECT_EQ(0, vsng_target_set_nexus(&self->e.t, false));
	err = vsng_target_get_nexus(&self->e.t, nexus, sizeof(nexus));
	EXPECT_TRUE(err < 0 || !nexus[0] || !strcmp(nexus, "NULL")) {
		TH_LOG("nexus still reads '%s' after dropping it", nexus);
	}
	if (vsng_target_is_ours()) {
		for (t0 = vsng_now_ms(); vsng_now_ms() - t0 < 5000; usleep(50000)) {
			n = our_debugfs_devs();
			if (n <= 0)
				break;
		}
		if (n >= 0)
			EXPECT_EQ(0, n);
	}
	ASSERT_EQ(0, vsng_target_add_lun(&self->e.t, 0));
	ASSERT_EQ(0, vsng_target_set_nexus(&self->e.t, true));
	fresh_device_works(_metadata, &self->e);
}

/* Proves (packed, ours): the chains in flight never cover more than the
 * ring.  Chain A, a 4 KiB READ whose data-in is split over num - 4
 * descriptors (num - 2 ring slots), waits 1 s in a slow null_blk; chain
 * B, a READ of 3 descriptors made available right after it, would take
 * A's head slot while A is still in flight.  A driver never does that (a
 * slot is free again only once its used element is published); before
 * the bound, such chains made the device write used elements past the
 * end of the ring (review 2026-12-06, finding 1; KUnit
 * vsng_kt_packed_bad_overlap).  The queue must break at B: err eventfd,
 * one "broken" log line, no used element; a fresh device then works.
 */
TEST_F_TIMEOUT(lt, packed_chains_in_flight_exceed_ring, 120)
{
	struct vsng_dev_opts o = lt_opts;
	struct vhost_scsi_ng_vq_stats st = { 0 };
	struct vring_packed_desc b[3];
	struct vsng_cmd a = { 0 };
	struct vsng_vq *vq;
	uint8_t *mem;
	uint16_t pos, id;
	uint64_t end;
	uint32_t len;
	bool wrap;
	int i, kfd, err;

	if (!vsng_target_is_ours())
		SKIP(return, "in-tree: packed rings not supported");
	vsng_env_down(&self->e);
	self->nullb = true;
	o.ring = VSNG_RING_PACKED;
	err = vsng_env_up_slow(&self->e, &o, LT_NB, 1000);
	ASSERT_EQ(0, err) {
		TH_LOG("slow null_blk LUN: %s", strerror(-err));
	}
	vq = &self->e.d.vq[VSNG_VQ_REQ];
	ASSERT_TRUE(vq->packed);
	mem = vsng_alloc(&self->e.d, 2, 3 * 4096, 4096);
	ASSERT_NE(NULL, mem);
	vsng_clear_ua(vq, 0);

	vsng_cmd_init(&a, VSNG_TPGT, 0);
	vsng_cdb_rw(a.cdb, 10, false, 0, 8);
	a.din_gpa = vsng_gpa(&self->e.d, mem);
	a.din_len = 4096;
	a.din_split = vq->num - 4;
	ASSERT_EQ(0, vsng_cmd_submit(vq, &a));
	vsng_vq_kick(vq, true);
	end = vsng_now_ms() + VSNG_TMO;
	do {
		ASSERT_EQ(0, vsng_vq_stats(&self->e.d, vq->index, &st));
	} while (!st.inflight && vsng_now_ms() < end);
	ASSERT_EQ(1, st.inflight);

	/* B: A's request again, its own response and data, a free id */
	b[0] = (struct vring_packed_desc){ vsng_gpa(&self->e.d, a.req),
		sizeof(struct virtio_scsi_cmd_req), 0, VRING_DESC_F_NEXT };
	b[1] = (struct vring_packed_desc){ vsng_gpa(&self->e.d, mem + 4096),
		sizeof(struct virtio_scsi_cmd_resp), 0,
		VRING_DESC_F_NEXT | VRING_DESC_F_WRITE };
	id = (a.head + 1) % vq->num;
	b[2] = (struct vring_packed_desc){ vsng_gpa(&self->e.d, mem + 8192),
		4096, id, VRING_DESC_F_WRITE };
	pos = vq->next_avail;
	wrap = vq->avail_wrap;
	for (i = 0; i < 3; i++) {
		b[i].flags |= vsng_pq_avail_bits(wrap);
		if (++pos == vq->num) {
			pos = 0;
			wrap = !wrap;
		}
	}
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kfd >= 0)
		lseek(kfd, 0, SEEK_END);
	ASSERT_LE(0, vsng_pq_put_raw(vq, b, 3));
	vsng_vq_kick(vq, true);
	EXPECT_TRUE(vsng_vq_err_fired(vq, 3000));
	if (kfd >= 0) {
		EXPECT_EQ(1, vsng_kmsg_count(kfd, " broken: ", "packed"));
		close(kfd);
	}
	usleep(1500 * 1000);	/* A's backend time is over */
	EXPECT_EQ(0, vsng_pq_peek_used(vq, &id, &len)) {
		TH_LOG("a used element: id %u len %u", id, len);
	}
	vsng_dev_close(&self->e.d);
	fresh_device_works(_metadata, &self->e);
}

/* Set queue @idx's avail ring to @avail (desc and used stay in @mem). */
static int lt_set_avail(struct vsng_dev *d, unsigned int idx, uint8_t *mem,
			uint64_t avail)
{
	struct vhost_vring_addr a = {
		.index = idx,
		.desc_user_addr = (uintptr_t)mem,
		.avail_user_addr = avail,
		.used_user_addr = (uintptr_t)mem + 8192,
	};

	return vsng_ioctl(d, VHOST_SET_VRING_ADDR, &a);
}

/* Proves: closing the fd gives the TPG back even when a queue's ring no
 * longer passes the access check.  The check of a running queue's ring
 * is made with the ring sizes of the features of that moment, and
 * SET_FEATURES may add EVENT_IDX later, which makes the avail ring 2
 * bytes longer: a queue of 1 entry whose avail ring ends 1 byte below
 * the top of user space passes, and fails once EVENT_IDX is on.
 * CLEAR_ENDPOINT then refuses with EFAULT, since it checks every ring.
 * In-tree 6.12's release calls that same vhost_scsi_clear_endpoint() and
 * ignores its error: it frees the device while the TPG still points at
 * it (tv_tpg_vhost_count stays 1, the configfs item stays pinned, a later
 * LUN link hot-plugs into freed memory).  On in-tree the test stops at
 * the refusal, takes EVENT_IDX back and reports "in-tree: affected";
 * ours sizes the avail ring with its event word whatever the features,
 * and its close gives the TPG back whatever CLEAR_ENDPOINT would say.
 */
TEST_F(lt, release_after_ring_check_fails)
{
	struct vsng_dev_opts o = lt_opts;
	unsigned int idx = VSNG_VQ_REQ + lt_opts.nreq;	/* never used */
	struct vhost_vring_state num = { .index = idx, .num = 1 };
	static const uint64_t tops[] = { 1ULL << 47, 1ULL << 56 };
	struct vhost_scsi_target t = { 0 };
	uint64_t feat, avail = 0;
	uint8_t *mem;
	int i, k, err;

	vsng_dev_clear_endpoint(&self->e.d);
	vsng_dev_close(&self->e.d);
	o.no_event_idx = true;
	ASSERT_EQ(0, vsng_dev_init(&self->e.d, &o));
	if (!(self->e.d.offered & VSNG_F_EVENT_IDX))
		SKIP(return, "EVENT_IDX not offered");
	mem = vsng_alloc(&self->e.d, 0, 16384, 4096);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_VRING_NUM, &num));
	ASSERT_EQ(0, lt_set_avail(&self->e.d, idx, mem,
				  (uintptr_t)mem + 4096));
	ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
	/*
	 * The highest avail address the running queue takes: the top of
	 * user space is 2^47 or 2^56 less a page; below it, the first even
	 * address accepted after a refused one.
	 */
	for (i = 0; i < 2 && !avail; i++) {
		for (k = 2; k <= 64; k += 2) {
			err = lt_set_avail(&self->e.d, idx, mem,
					   tops[i] - 4096 - k);
			if (!err && k > 2)
				avail = tops[i] - 4096 - k;
			if (!err)
				break;
		}
	}
	if (!avail)
		SKIP(return, "no user-space top found for the avail ring");
	TH_LOG("queue %u: avail ring at %#llx", idx,
	       (unsigned long long)avail);
	feat = self->e.d.features | VSNG_F_EVENT_IDX;
	ASSERT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_FEATURES, &feat));
	snprintf(t.vhost_wwpn, sizeof(t.vhost_wwpn), "%s", self->e.t.wwpn);
	err = vsng_ioctl(&self->e.d, VHOST_SCSI_CLEAR_ENDPOINT, &t);
	TH_LOG("CLEAR_ENDPOINT after EVENT_IDX came on: %s",
	       err ? strerror(-err) : "ok");
	if (!vsng_target_is_ours()) {
		VSNG_INTREE_AFFECTED(err == -EFAULT,
				     "CLEAR_ENDPOINT refuses (EFAULT) and release runs the same function: a close now would free the device with TPG %s still attached to it",
				     self->e.t.wwpn);
		if (err) {
			feat = self->e.d.features;
			ASSERT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_FEATURES,
						&feat));
			ASSERT_EQ(0, vsng_ioctl(&self->e.d,
						VHOST_SCSI_CLEAR_ENDPOINT, &t));
		}
	} else {
		EXPECT_EQ(0, err);
		/* back in the state: attached, EVENT_IDX on, the ring high */
		ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d,
						   self->e.t.wwpn));
	}
	self->e.d.endpoint = false;	/* the close must do it */
	vsng_dev_close(&self->e.d);
	fresh_device_works(_metadata, &self->e);
}

/* Proves: a TPG attached to a device cannot be removed from configfs
 * (rmdir fails with EBUSY) until CLEAR_ENDPOINT; then it can.
 */
TEST_F(lt, rmdir_tpg_in_use_fails)
{
	char tpg[256];

	vsng_target_tpg_path(&self->e.t, tpg, sizeof(tpg));
	ASSERT_EQ(0, vsng_target_del_lun(&self->e.t, 0));
	ASSERT_EQ(0, vsng_target_del_lun(&self->e.t, 1));
	EXPECT_EQ(-1, rmdir(tpg));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, vsng_dev_clear_endpoint(&self->e.d));
	EXPECT_EQ(0, rmdir(tpg)) {
		TH_LOG("rmdir after CLEAR_ENDPOINT: %s", strerror(errno));
	}
}

/* Proves: the module cannot be removed while a device fd is open, even
 * with no LIO objects left; it answers EBUSY/EAGAIN and stays usable.
 */
TEST_F(lt, rmmod_with_device_open_fails)
{
	char p[256];
	int fd, r, e;

	vsng_env_down(&self->e);
	snprintf(p, sizeof(p), "/sys/kernel/config/target/%s", vsng_fabric());
	rmdir(p);	/* may fail if other targets exist: fine */
	fd = open(vsng_dev_path(), O_RDWR);
	ASSERT_GE(fd, 0);
	r = syscall(__NR_delete_module, vsng_module(), O_NONBLOCK);
	e = errno;
	EXPECT_EQ(-1, r);
	EXPECT_TRUE(e == EBUSY || e == EAGAIN) {
		TH_LOG("delete_module: %s", strerror(e));
	}
	close(fd);
	/* still registered: a new target and device work */
	ASSERT_EQ(0, vsng_env_up(&self->e, &lt_opts, 1));
}

TEST_HARNESS_MAIN
