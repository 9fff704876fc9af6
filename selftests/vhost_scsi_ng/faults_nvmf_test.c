// SPDX-License-Identifier: GPL-2.0
/*
 * Backend gone for a while: a remote backing device whose connection is
 * cut and restored (issue 15).
 *
 *   LUN 0 -> iblock -> /dev/nvmeXnY (nvme-tcp to 127.0.0.1)
 *            -> nvmet (tcp port 4420) -> /dev/vsngnv (memory-backed null_blk)
 *
 * all in the test guest.  The connection is cut by unlinking the subsystem
 * from the nvmet port (nvmet deletes the port's controllers and stops
 * listening) and restored by linking it again; the host reconnects by
 * itself.  The load and its checks are faults_load.h's.
 *
 * Needs nvmet, nvmet-tcp, nvme-tcp and null_blk: Debian's 6.12 has them;
 * a kernel without them (the debug kernel) SKIPs, with the reason.
 */
#include "kselftest_harness.h"
#include "vsng_test.h"
#include "faults_load.h"

#define NV_NB		"vsngnv"
#define NV_NQN		"nqn.2026-12.io.vhost-scsi-ng:faults"
#define NVMET		"/sys/kernel/config/nvmet"
#define NV_SUBSYS	NVMET "/subsystems/" NV_NQN
#define NV_PORT		NVMET "/ports/15"
#define NV_LINK		NV_PORT "/subsystems/" NV_NQN
/*
 * The host's timing knobs (nvme connect -l/-c/-f): a reconnect every
 * second; I/O that finds no live path is queued for FAST_IO_FAIL s after
 * the controller starts reconnecting, then failed; the controller (and
 * its namespace, the LUN's device) is removed only after CTRL_LOSS s.
 */
#define RECONNECT	1
#define FAST_IO_FAIL	5
#define CTRL_LOSS	60

static int nvmet_unexport(void)
{
	unlink(NV_LINK);
	rmdir(NV_PORT);
	vsng_sysfs_write(NV_SUBSYS "/namespaces/1/enable", "0");
	rmdir(NV_SUBSYS "/namespaces/1");
	rmdir(NV_SUBSYS);
	return access(NV_SUBSYS, F_OK) ? 0 : -EBUSY;
}

static int nvmet_export(const char *dev)
{
	if (mkdir(NV_SUBSYS, 0755) ||
	    vsng_sysfs_write(NV_SUBSYS "/attr_allow_any_host", "1") ||
	    mkdir(NV_SUBSYS "/namespaces/1", 0755) ||
	    vsng_sysfs_write(NV_SUBSYS "/namespaces/1/device_path", dev) ||
	    vsng_sysfs_write(NV_SUBSYS "/namespaces/1/enable", "1") ||
	    mkdir(NV_PORT, 0755) ||
	    vsng_sysfs_write(NV_PORT "/addr_trtype", "tcp") ||
	    vsng_sysfs_write(NV_PORT "/addr_adrfam", "ipv4") ||
	    vsng_sysfs_write(NV_PORT "/addr_traddr", "127.0.0.1") ||
	    vsng_sysfs_write(NV_PORT "/addr_trsvcid", "4420"))
		return -errno ?: -EIO;
	return 0;
}

/* Cut (nvmet deletes the controllers, stops listening) or restore. */
static int nvmet_link(bool on)
{
	if (on)
		return symlink(NV_SUBSYS, NV_LINK) ? -errno : 0;
	return unlink(NV_LINK) ? -errno : 0;
}

/* Connect as "nvme connect" does: the controller's instance or -errno. */
static int nvmf_connect(void)
{
	char opt[512], ans[128];
	int fd, inst = -1;
	ssize_t n;

	snprintf(opt, sizeof(opt),
		 "transport=tcp,traddr=127.0.0.1,trsvcid=4420,nqn=%s,"
		 "nr_io_queues=1,reconnect_delay=%d,ctrl_loss_tmo=%d,"
		 "fast_io_fail_tmo=%d", NV_NQN, RECONNECT, CTRL_LOSS,
		 FAST_IO_FAIL);
	fd = open("/dev/nvme-fabrics", O_RDWR);
	if (fd < 0)
		return -errno;
	n = write(fd, opt, strlen(opt));
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	n = read(fd, ans, sizeof(ans) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	ans[n] = 0;
	if (sscanf(ans, "instance=%d", &inst) != 1)
		return -EIO;
	return inst;
}

static void nvmf_state(int inst, char *st, size_t len)
{
	char p[96];

	snprintf(p, sizeof(p), "/sys/class/nvme/nvme%d/state", inst);
	if (vsng_sysfs_read(p, st, len))
		snprintf(st, len, "gone");
}

/* Wait (at most ms) until the controller is (or is not) live. */
static int nvmf_wait(int inst, bool live, int ms)
{
	uint64_t end = vsng_now_ms() + ms;
	char st[32];

	for (;;) {
		nvmf_state(inst, st, sizeof(st));
		if (!strcmp(st, "live") == live)
			return 0;
		if (vsng_now_ms() > end)
			return -ETIMEDOUT;
		usleep(20 * 1000);
	}
}

/* The namespace's block device: the multipath node nvmeXnY of nvmeXcZnY. */
static int nvmf_disk(int inst, char *name, size_t len)
{
	uint64_t end = vsng_now_ms() + 10000;
	char pat[96], dev[80];
	int s, c, n, err = -ENOENT;
	glob_t g;

	snprintf(pat, sizeof(pat), "/sys/class/nvme/nvme%d/nvme*n*", inst);
	do {
		if (!glob(pat, 0, NULL, &g)) {
			const char *b = strrchr(g.gl_pathv[0], '/') + 1;

			if (sscanf(b, "nvme%dc%dn%d", &s, &c, &n) == 3)
				snprintf(name, len, "nvme%dn%d", s, n);
			else
				snprintf(name, len, "%s", b);
			err = 0;
		}
		globfree(&g);
		if (!err) {
			snprintf(dev, sizeof(dev), "/dev/%s", name);
			return wait_path(dev, 5000);
		}
		usleep(50 * 1000);
	} while (vsng_now_ms() < end);
	return err;
}

/* Delete every host controller of our subsystem (a leftover, or ours). */
static void nvmf_disconnect_all(void)
{
	glob_t g;
	size_t i;

	if (glob("/sys/class/nvme/nvme*", 0, NULL, &g))
		return;
	for (i = 0; i < g.gl_pathc; i++) {
		char p[300], nqn[256];

		snprintf(p, sizeof(p), "%s/subsysnqn", g.gl_pathv[i]);
		if (vsng_sysfs_read(p, nqn, sizeof(nqn)) || strcmp(nqn, NV_NQN))
			continue;
		snprintf(p, sizeof(p), "%s/delete_controller", g.gl_pathv[i]);
		vsng_sysfs_write(p, "1");
	}
	globfree(&g);
}

static void nvmf_cleanup(void)
{
	nvmf_disconnect_all();
	nvmet_unexport();
	vsng_nullb_slow_destroy(NV_NB);
}

FIXTURE(nvmf) {
	struct vsng_env e;
	struct load l;
	int inst;
	char disk[32];
};

FIXTURE_SETUP(nvmf)
{
	char dev[64];
	int err;

	self->e.d.fd = -1;
	self->inst = -1;
	vsng_target_init(&self->e.t, vsng_test_id());
	vsng_target_destroy(&self->e.t);
	if (sh("/sbin/modprobe -q nvmet && /sbin/modprobe -q nvmet-tcp && "
	       "/sbin/modprobe -q nvme-tcp")) {
		struct utsname u;

		uname(&u);
		SKIP(return, "kernel %s has no nvmet, nvmet-tcp or nvme-tcp",
		     u.release);
	}
	nvmf_cleanup();
	err = vsng_nullb_create(NV_NB, 0, SIZE_MB, true);
	ASSERT_EQ(0, err) {
		TH_LOG("null_blk %s: %s", NV_NB, strerror(-err));
	}
	ASSERT_EQ(0, nvmet_export("/dev/" NV_NB));
	ASSERT_EQ(0, nvmet_link(true));
	self->inst = nvmf_connect();
	ASSERT_LE(0, self->inst) {
		TH_LOG("connect through /dev/nvme-fabrics: %s",
		       strerror(-self->inst));
	}
	ASSERT_EQ(0, nvmf_wait(self->inst, true, 10000));
	ASSERT_EQ(0, nvmf_disk(self->inst, self->disk, sizeof(self->disk)));
	snprintf(dev, sizeof(dev), "/dev/%s", self->disk);
	ASSERT_EQ(0, lun_on(&self->e, dev));
	ASSERT_EQ(0, load_init(&self->e, &self->l));
	ASSERT_EQ(0, load_prepare(&self->e, &self->l));
}

FIXTURE_TEARDOWN(nvmf)
{
	vsng_env_down(&self->e);
	if (access(NV_LINK, F_OK))
		nvmet_link(true);
	nvmf_cleanup();
	free(self->l.exp);
}

/*
 * Cut the connection: unlink, then wait until the host's controller has
 * noticed (it is no longer live).  Returns the time of the cut.
 */
#define CUT(self) ({							\
	uint64_t __t = vsng_now_ms();					\
									\
	ASSERT_EQ(0, nvmet_link(false));				\
	ASSERT_EQ(0, nvmf_wait((self)->inst, false, 10000)) {		\
		TH_LOG("controller still live 10 s after the cut");	\
	}								\
	__t;								\
})

/*
 * Proves: a cut shorter than fast_io_fail_tmo is invisible to the guest
 * but for the delay.  Half the commands are sent just before the cut (in
 * flight on the wire when it happens), half while the controller is
 * reconnecting; the port is back after 500 ms.  Every command is
 * answered within the bound and GOOD, READs with the right data (the host
 * queued them and sent them again after the reconnect), every WRITE
 * landed; the same LUN serves verified I/O with nothing reconfigured; the
 * LUN unlinks promptly.
 */
TEST_F_TIMEOUT(nvmf, cut_shorter_than_fast_io_fail, 90)
{
	static const uint32_t allowed[] = { S_COMM_FAILURE, 0 };
	struct load *l = &self->l;
	uint64_t cut, back;
	struct tally t;

	ASSERT_EQ(0, load_submit(&self->e, l, 0, NIO / 2));
	cut = CUT(self);
	ASSERT_EQ(0, load_submit(&self->e, l, NIO / 2, NIO));
	usleep(500 * 1000);
	back = vsng_now_ms();
	ASSERT_EQ(0, nvmet_link(true));
	ASSERT_EQ(NIO, load_reap(&self->e, l, 0, NIO, BOUND_MS));
	EXPECT_EQ(0, nvmf_wait(self->inst, true, 10000));
	ksft_print_msg("short cut: cut for %llu ms, all answered and live %llu ms after the cut\n",
		       (unsigned long long)(back - cut),
		       (unsigned long long)(vsng_now_ms() - cut));
	load_print(l, 0, NIO, "short cut");
	load_check(_metadata, l, 0, NIO, allowed, &t, "short cut");
	EXPECT_EQ(NIO, t.good) {
		TH_LOG("%d of %d failed though the port was back %d s before fast_io_fail_tmo",
		       t.failed, NIO, FAST_IO_FAIL);
	}
	load_verify(_metadata, &self->e, l, 0, NIO, "short cut");
	LUN_RELEASED(&self->e);
}

/*
 * Proves: a cut longer than fast_io_fail_tmo fails the commands, never
 * with GOOD: every command sent while the controller reconnects is
 * answered CHECK CONDITION NOT READY 02/08/00 (LIO's answer for a failed
 * bio) no earlier than about fast_io_fail_tmo after the cut and within
 * the bound, READ buffers without stale data; a command sent after that
 * fails at once the same way.  Then the port is restored: the controller
 * reconnects by itself and the same LUN serves verified I/O (old data
 * where the WRITEs failed, or their data where the target had written it
 * before the cut: counted) with nothing reconfigured.
 */
TEST_F_TIMEOUT(nvmf, cut_longer_than_fast_io_fail, 90)
{
	static const uint32_t allowed[] = { S_COMM_FAILURE, 0 };
	struct load *l = &self->l;
	uint64_t cut, first = ~0ull, t1;
	struct io *late = &l->io[0];
	struct tally t;
	int i;

	cut = CUT(self);
	ASSERT_EQ(0, load_submit(&self->e, l, 0, NIO));
	ASSERT_EQ(NIO, load_reap(&self->e, l, 0, NIO, BOUND_MS));
	load_print(l, 0, NIO, "long cut");
	load_check(_metadata, l, 0, NIO, allowed, &t, "long cut");
	EXPECT_EQ(NIO, t.failed);
	for (i = 0; i < NIO; i++)
		if (l->io[i].c.done && l->io[i].t0 + l->io[i].ms < first)
			first = l->io[i].t0 + l->io[i].ms;
	ksft_print_msg("long cut: first failure %llu ms after the cut (fast_io_fail_tmo %d s)\n",
		       (unsigned long long)(first - cut), FAST_IO_FAIL);
	/* jiffies may lag the clock on a loaded TCG host: 1 s of slack */
	EXPECT_LE((FAST_IO_FAIL - 1) * 1000, first - cut);

	/* failfast has expired: a new command fails at once */
	ASSERT_EQ(0, load_submit(&self->e, l, 0, 1));
	ASSERT_EQ(1, load_reap(&self->e, l, 0, 1, BOUND_MS));
	EXPECT_EQ(2, late->c.rsp.status);
	EXPECT_EQ(S_COMM_FAILURE, sense_of(&late->c));
	EXPECT_GT(2000, late->ms);
	EXPECT_EQ(0, stale_blocks(l, late));
	ksft_print_msg("long cut: READ after failfast: status 0x%x sense %06x in %lld ms\n",
		       late->c.rsp.status, sense_of(&late->c),
		       (long long)late->ms);

	t1 = vsng_now_ms();
	ASSERT_EQ(0, nvmet_link(true));
	ASSERT_EQ(0, nvmf_wait(self->inst, true, BOUND_MS));
	ksft_print_msg("long cut: cut for %llu ms, live again %llu ms after the restore\n",
		       (unsigned long long)(t1 - cut),
		       (unsigned long long)(vsng_now_ms() - t1));
	load_verify(_metadata, &self->e, l, 0, NIO, "long cut");
	EXPECT_EQ(0, put(&self->e, &l->io[1], 0x1650));
	EXPECT_TRUE(has(&self->e, l, &l->io[1], 0x1650));
	LUN_RELEASED(&self->e);
}

TEST_HARNESS_MAIN
