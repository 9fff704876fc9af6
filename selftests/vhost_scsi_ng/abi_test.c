// SPDX-License-Identifier: GPL-2.0
/*
 * ABI tests: the ioctl contract QEMU and libvirt rely on.
 */
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>

#include "kselftest_harness.h"
#include "vsng_test.h"

static int max_io_vqs(void)
{
	char p[256], buf[32];

	snprintf(p, sizeof(p), "/sys/module/%s/parameters/max_io_vqs",
		 vsng_module());
	if (vsng_sysfs_read(p, buf, sizeof(buf)))
		return -1;
	return atoi(buf);
}

/* A device that is open and owned, with memory, but no queues yet. */
FIXTURE(bare) {
	struct vsng_env e;
};

FIXTURE_SETUP(bare)
{
	self->e.d.fd = -1;
	vsng_target_init(&self->e.t, vsng_test_id());
	ASSERT_EQ(0, vsng_target_create(&self->e.t, 1));
	ASSERT_EQ(0, vsng_dev_open(&self->e.d, NULL));
}

FIXTURE_TEARDOWN(bare)
{
	vsng_env_down(&self->e);
}

/* Proves: GET_ABI_VERSION answers 1 (QEMU refuses > 1) although it is _IOW. */
TEST_F(bare, abi_version)
{
	int ver;

	ASSERT_EQ(0, vsng_abi_version(&self->e.d, &ver));
	EXPECT_EQ(VHOST_SCSI_ABI_VERSION, ver);
}

/* Proves: the offered features include everything in-tree offers. */
TEST_F(bare, features_offered)
{
	uint64_t f = 0, need = VSNG_F_VERSION_1 | VSNG_F_ANY_LAYOUT |
		     VSNG_F_INDIRECT | VSNG_F_EVENT_IDX | VSNG_F_HOTPLUG |
		     VSNG_F_T10_PI | (1ULL << VIRTIO_F_NOTIFY_ON_EMPTY) |
		     (1ULL << VHOST_F_LOG_ALL);

	ASSERT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_OWNER, NULL));
	ASSERT_EQ(0, vsng_ioctl(&self->e.d, VHOST_GET_FEATURES, &f));
	TH_LOG("offered features 0x%llx", (unsigned long long)f);
	EXPECT_EQ(need, f & need);
	/*
	 * Never offered for SCSI: IOMMU, in-order, bidi.  (The packed ring
	 * is offered by ours since issue 18, not by in-tree.)
	 */
	EXPECT_EQ(0, f & ((1ULL << VIRTIO_F_ACCESS_PLATFORM) |
			  (1ULL << VIRTIO_F_IN_ORDER) |
			  (1ULL << VIRTIO_SCSI_F_INOUT)));
}

/* Proves: SET_FEATURES refuses bits not offered with -EOPNOTSUPP, accepts
 * the offered set, and accepts it again (features may be renegotiated).
 */
TEST_F(bare, features_refused)
{
	uint64_t f = 0, bad;

	ASSERT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_OWNER, NULL));
	ASSERT_EQ(0, vsng_ioctl(&self->e.d, VHOST_GET_FEATURES, &f));
	bad = f | (1ULL << VIRTIO_F_IN_ORDER);
	EXPECT_EQ(-EOPNOTSUPP, vsng_ioctl(&self->e.d, VHOST_SET_FEATURES, &bad));
	bad = f | (1ULL << VIRTIO_SCSI_F_CHANGE);
	EXPECT_EQ(-EOPNOTSUPP, vsng_ioctl(&self->e.d, VHOST_SET_FEATURES, &bad));
	bad = f | (1ULL << 63);
	EXPECT_EQ(-EOPNOTSUPP, vsng_ioctl(&self->e.d, VHOST_SET_FEATURES, &bad));
	EXPECT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_FEATURES, &f));
	f &= ~(1ULL << VHOST_F_LOG_ALL);
	EXPECT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_FEATURES, &f));
}

/* Proves: only the owner's mm may drive the device: a forked child (other
 * mm) gets -EPERM, a second SET_OWNER gets -EBUSY, and a device without an
 * owner refuses ring set-up with -EPERM.
 */
TEST_F(bare, owner_checks)
{
	struct vhost_vring_state s = { .index = VSNG_VQ_REQ, .num = 128 };
	struct vsng_dev other;
	int status;
	pid_t pid;

	/* No owner yet. */
	EXPECT_EQ(-EPERM, vsng_ioctl(&self->e.d, VHOST_SET_VRING_NUM, &s));
	ASSERT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_OWNER, NULL));
	EXPECT_EQ(-EBUSY, vsng_ioctl(&self->e.d, VHOST_SET_OWNER, NULL));
	ASSERT_EQ(0, vsng_mem_create(&self->e.d));
	EXPECT_EQ(0, vsng_mem_set_table(&self->e.d));
	EXPECT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_VRING_NUM, &s));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		int rc = 0;

		if (vsng_ioctl(&self->e.d, VHOST_SET_VRING_NUM, &s) != -EPERM)
			rc |= 1;
		if (vsng_mem_set_table(&self->e.d) != -EPERM)
			rc |= 2;
		if (vsng_ioctl(&self->e.d, VHOST_SET_OWNER, NULL) != -EBUSY)
			rc |= 4;
		_exit(rc);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("child saw wrong errors, mask %d", WEXITSTATUS(status));
	}

	/* A second device is independent: its own owner, its own rings. */
	ASSERT_EQ(0, vsng_dev_open(&other, NULL));
	EXPECT_EQ(0, vsng_ioctl(&other, VHOST_SET_OWNER, NULL));
	vsng_dev_close(&other);
}

/* The standard environment minus the endpoint. */
FIXTURE(dev) {
	struct vsng_env e;
};

FIXTURE_SETUP(dev)
{
	self->e.d.fd = -1;
	vsng_target_init(&self->e.t, vsng_test_id());
	ASSERT_EQ(0, vsng_target_create(&self->e.t, 1));
	ASSERT_EQ(0, vsng_dev_init(&self->e.d, NULL));
}

FIXTURE_TEARDOWN(dev)
{
	vsng_env_down(&self->e);
}

/* Proves: SET_ENDPOINT with a wwpn nobody configured fails with -ENODEV. */
TEST_F(dev, endpoint_unknown_wwpn)
{
	EXPECT_EQ(-ENODEV, vsng_dev_set_endpoint(&self->e.d,
						 "naa.5001405deadbeef"));
	/* and the right one still works afterwards */
	EXPECT_EQ(0, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
}

/* Proves: a TPG without a nexus cannot be attached (-ENODEV), and the
 * nexus cannot be dropped while the TPG has LUNs (-EBUSY, in-tree too).
 */
TEST_F(dev, endpoint_no_nexus)
{
	EXPECT_EQ(-EBUSY, vsng_target_set_nexus(&self->e.t, false));
	ASSERT_EQ(0, vsng_target_del_lun(&self->e.t, 0));
	ASSERT_EQ(0, vsng_target_set_nexus(&self->e.t, false));
	EXPECT_EQ(-ENODEV, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
	ASSERT_EQ(0, vsng_target_set_nexus(&self->e.t, true));
	ASSERT_EQ(0, vsng_target_add_lun(&self->e.t, 0));
	EXPECT_EQ(0, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
}

/* Proves: a TPG is attached to one device only.  A second device gets an
 * error (in-tree: -ENODEV, as a claimed TPG is skipped; -EEXIST also
 * accepted), and the same device setting it twice gets -EEXIST.
 */
TEST_F(dev, endpoint_claimed)
{
	struct vsng_dev other;
	int err;

	ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
	EXPECT_EQ(-EEXIST, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
	ASSERT_EQ(0, vsng_dev_init(&other, NULL));
	err = vsng_dev_set_endpoint(&other, self->e.t.wwpn);
	TH_LOG("second device SET_ENDPOINT: %d (%s)", err, strerror(-err));
	EXPECT_TRUE(err == -ENODEV || err == -EEXIST);
	/* once released, the other device may take it */
	ASSERT_EQ(0, vsng_dev_clear_endpoint(&self->e.d));
	EXPECT_EQ(0, vsng_dev_set_endpoint(&other, self->e.t.wwpn));
	EXPECT_EQ(0, vsng_dev_clear_endpoint(&other));
	vsng_dev_close(&other);
}

/* Proves: reserved != 0 in struct vhost_scsi_target is refused with
 * -EOPNOTSUPP by SET and CLEAR.
 */
TEST_F(dev, endpoint_reserved)
{
	struct vhost_scsi_target t = { .abi_version = VHOST_SCSI_ABI_VERSION };

	snprintf(t.vhost_wwpn, sizeof(t.vhost_wwpn), "%s", self->e.t.wwpn);
	t.reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP,
		  vsng_ioctl(&self->e.d, VHOST_SCSI_SET_ENDPOINT, &t));
	EXPECT_EQ(-EOPNOTSUPP,
		  vsng_ioctl(&self->e.d, VHOST_SCSI_CLEAR_ENDPOINT, &t));
	t.reserved = 0;
	EXPECT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SCSI_SET_ENDPOINT, &t));
	self->e.d.endpoint = true;
	snprintf(self->e.d.wwpn, sizeof(self->e.d.wwpn), "%s", self->e.t.wwpn);
}

/* Proves: SET/CLEAR_ENDPOINT cycles (QEMU stop/resume) can repeat; the
 * device answers I/O after each.
 */
TEST_F_TIMEOUT(dev, endpoint_cycles_100, 240)
{
	struct vsng_cmd c = { 0 };
	int i;

	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
		if (i % 10 == 0) {
			ASSERT_EQ(0, vsng_tur(&self->e.d.vq[VSNG_VQ_REQ],
					      VSNG_TPGT, 0, &c));
			ASSERT_EQ(VIRTIO_SCSI_S_OK, c.rsp.response);
			ASSERT_EQ(0, c.rsp.status);
		}
		ASSERT_EQ(0, vsng_dev_clear_endpoint(&self->e.d));
	}
	/* CLEAR without an endpoint is harmless */
	EXPECT_EQ(0, vsng_dev_clear_endpoint(&self->e.d));
}

/* Proves: queue indexes beyond 2 + max_io_vqs get -ENOBUFS (QEMU relies on
 * it to refuse too many queues); the last valid index works.
 */
TEST_F(dev, queue_index_limit)
{
	struct vhost_vring_file f = { .fd = -1 };
	int max = max_io_vqs();

	TH_LOG("max_io_vqs = %d", max);
	if (max > 0) {
		f.index = max + 1;
		EXPECT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_VRING_CALL, &f));
		f.index = max + 2;
		EXPECT_EQ(-ENOBUFS, vsng_ioctl(&self->e.d, VHOST_SET_VRING_CALL,
					       &f));
	}
	f.index = 1024 + 2;
	EXPECT_EQ(-ENOBUFS, vsng_ioctl(&self->e.d, VHOST_SET_VRING_ERR, &f));
	f.index = 0xffff;
	EXPECT_EQ(-ENOBUFS, vsng_ioctl(&self->e.d, VHOST_SET_VRING_KICK, &f));
}

/* Proves: the worker ioctls (QEMU worker_per_virtqueue=on) work: a new
 * worker can be attached to a request queue, reported back, cannot be freed
 * while attached, and I/O on that queue still completes.  -ENOTTY (no such
 * ioctls) is acceptable to QEMU and is reported as a skip.
 */
TEST_F(dev, worker_ioctls)
{
	struct vhost_worker_state w = { 0 }, bogus = { .worker_id = 4242 };
	struct vhost_vring_worker vw = { .index = VSNG_VQ_REQ };
	struct vsng_cmd c = { 0 };
	int err;

	err = vsng_ioctl(&self->e.d, VHOST_NEW_WORKER, &w);
	if (err == -ENOTTY)
		SKIP(return, "VHOST_NEW_WORKER not supported (-ENOTTY)");
	ASSERT_EQ(0, err);
	vw.worker_id = w.worker_id;
	EXPECT_EQ(0, vsng_ioctl(&self->e.d, VHOST_ATTACH_VRING_WORKER, &vw));
	memset(&vw, 0, sizeof(vw));
	vw.index = VSNG_VQ_REQ;
	EXPECT_EQ(0, vsng_ioctl(&self->e.d, VHOST_GET_VRING_WORKER, &vw));
	EXPECT_EQ(w.worker_id, vw.worker_id);
	EXPECT_EQ(-EBUSY, vsng_ioctl(&self->e.d, VHOST_FREE_WORKER, &w));
	EXPECT_EQ(-ENODEV, vsng_ioctl(&self->e.d, VHOST_FREE_WORKER, &bogus));
	vw.index = 4000;
	EXPECT_EQ(-ENOBUFS, vsng_ioctl(&self->e.d, VHOST_GET_VRING_WORKER,
				       &vw));

	ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
	ASSERT_EQ(0, vsng_tur(&self->e.d.vq[VSNG_VQ_REQ], VSNG_TPGT, 0, &c));
	EXPECT_EQ(VIRTIO_SCSI_S_OK, c.rsp.response);
}

/* Proves: SET/GET_EVENTS_MISSED round-trip. */
TEST_F(dev, events_missed_ioctls)
{
	uint32_t v = 1, r = 7;

	EXPECT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SCSI_SET_EVENTS_MISSED, &v));
	EXPECT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SCSI_GET_EVENTS_MISSED, &r));
	EXPECT_EQ(1, r);
	v = 0;
	EXPECT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SCSI_SET_EVENTS_MISSED, &v));
	EXPECT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SCSI_GET_EVENTS_MISSED, &r));
	EXPECT_EQ(0, r);
}

/* Proves (ours only): VHOST_SCSI_NG_GET_VQ_STATS counts requests and
 * completions per queue, refuses a queue beyond the device, and in-tree
 * answers -ENOTTY (which is how tools tell the two apart).
 */
TEST_F(dev, stats_ioctl)
{
	struct vhost_scsi_ng_vq_stats st;
	struct vsng_cmd c = { 0 };
	int i, err;

	err = vsng_vq_stats(&self->e.d, VSNG_VQ_REQ, &st);
	if (!vsng_target_is_ours()) {
		EXPECT_EQ(-ENOTTY, err);
		SKIP(return, "in-tree vhost_scsi has no stats ioctl");
	}
	ASSERT_EQ(0, err);
	ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d, self->e.t.wwpn));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, vsng_tur(&self->e.d.vq[VSNG_VQ_REQ], VSNG_TPGT, 0,
				      &c));
	}
	ASSERT_EQ(0, vsng_vq_stats(&self->e.d, VSNG_VQ_REQ, &st));
	TH_LOG("req %llu compl %llu used_idx_writes %llu irq %llu kicks %llu",
	       (unsigned long long)st.requests,
	       (unsigned long long)st.completions,
	       (unsigned long long)st.used_idx_writes,
	       (unsigned long long)st.interrupts,
	       (unsigned long long)st.kicks);
	EXPECT_EQ(5, st.requests);
	EXPECT_EQ(5, st.completions);
	EXPECT_EQ(0, st.inflight);
	EXPECT_NE(0, vsng_vq_stats(&self->e.d, 5000, &st));
}

/*
 * WWN directories whose names alias: "fc." is dropped from the stored name
 * (as in-tree), so "fc.iqn.X" and "iqn.X" would be one target port name.
 */
FIXTURE(wwn_alias) {
	char iqn[96];
	char fc[100];
};

static int wwn_dir(const char *name, bool make)
{
	char p[256];

	snprintf(p, sizeof(p), "/sys/kernel/config/target/%s/%s",
		 vsng_fabric(), name);
	if (make ? mkdir(p, 0755) : rmdir(p))
		return -errno;
	return 0;
}

FIXTURE_SETUP(wwn_alias)
{
	char p[256];

	snprintf(self->iqn, sizeof(self->iqn), "iqn.2026-01.org.vsng:alias%06x",
		 vsng_test_id());
	snprintf(self->fc, sizeof(self->fc), "fc.%s", self->iqn);
	/* The fabric directory (LIO makes it on first mkdir). */
	snprintf(p, sizeof(p), "/sys/kernel/config/target/%s", vsng_fabric());
	ASSERT_TRUE(!mkdir(p, 0755) || errno == EEXIST);
}

FIXTURE_TEARDOWN(wwn_alias)
{
	wwn_dir(self->fc, false);
	wwn_dir(self->iqn, false);
}

/* Proves (issue 14, item 6): a WWN directory whose stored name equals an
 * existing one ("fc.iqn.X" next to "iqn.X", either order) is refused (the
 * module says -EEXIST and logs why; LIO's configfs turns every refusal of
 * fabric_make_wwn into -EINVAL, so that is what mkdir sees), so
 * SET_ENDPOINT can never match two TPGs for one slot; the name
 * is free again once the first directory is removed.  In-tree accepts both
 * (reported as "in-tree: affected"; nothing beyond the mkdir is run there:
 * a SET_ENDPOINT on such a pair leaves a TPG that can never be removed).
 */
TEST_F(wwn_alias, refused)
{
	int err;

	ASSERT_EQ(0, wwn_dir(self->iqn, true));
	err = wwn_dir(self->fc, true);
	if (!err && !vsng_target_is_ours()) {
		VSNG_INTREE_AFFECTED(true, "mkdir %s next to %s succeeds: both are target port %s; SET_ENDPOINT then attaches both TPGs and loses one",
				     self->fc, self->iqn, self->iqn);
		return;
	}
	EXPECT_EQ(-EINVAL, err) {
		TH_LOG("mkdir %s next to %s: %d (%s)", self->fc, self->iqn,
		       err, strerror(-err));
	}
	/* The other order. */
	wwn_dir(self->fc, false);
	ASSERT_EQ(0, wwn_dir(self->iqn, false));
	ASSERT_EQ(0, wwn_dir(self->fc, true));
	err = wwn_dir(self->iqn, true);
	EXPECT_EQ(-EINVAL, err) {
		TH_LOG("mkdir %s next to %s: %d (%s)", self->iqn, self->fc,
		       err, strerror(-err));
	}
	/* Removing the first frees the name. */
	wwn_dir(self->iqn, false);
	ASSERT_EQ(0, wwn_dir(self->fc, false));
	EXPECT_EQ(0, wwn_dir(self->iqn, true));
}

/*
 * A process that shares the fd but not the owner's mm, with its ioctl
 * argument on a userfaultfd page: the kernel's copy of the argument stops
 * until the handler thread fills the page, which it does only after the
 * owner-to-be has taken ownership.  So the ioctl starts while the device
 * has no owner and reads its argument after SET_OWNER returned: the order
 * is forced, no timing luck is needed.
 */
struct uffd_stall {
	int uffd;
	void *page;
	int stalled_w;		/* handler -> parent: the copy is stopped */
	int go_r;		/* parent -> handler: ownership taken */
	const void *arg;
	size_t len;
};

#define STALL_PG	4096

static void *uffd_handler(void *p)
{
	static char buf[STALL_PG] __attribute__((aligned(STALL_PG)));
	struct uffd_stall *u = p;
	struct pollfd pfd = { .fd = u->uffd, .events = POLLIN };
	struct uffdio_copy copy = { 0 };
	struct uffd_msg msg;
	char c = 's';

	if (poll(&pfd, 1, 30000) == 1 &&
	    read(u->uffd, &msg, sizeof(msg)) == sizeof(msg) &&
	    msg.event == UFFD_EVENT_PAGEFAULT) {
		if (write(u->stalled_w, &c, 1) == 1) {
			pfd.fd = u->go_r;
			poll(&pfd, 1, 30000);
		}
	}
	memcpy(buf, u->arg, u->len);
	copy.dst = (uintptr_t)u->page;
	copy.src = (uintptr_t)buf;
	copy.len = STALL_PG;
	ioctl(u->uffd, UFFDIO_COPY, &copy);
	return NULL;
}

/* In the child: ioctl(fd, req, arg) with arg read through a stalled page. */
static int stalled_ioctl(int fd, unsigned long req, const void *arg,
			 size_t len, int stalled_w, int go_r)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct uffd_stall u = { .stalled_w = stalled_w, .go_r = go_r,
				.arg = arg, .len = len };
	pthread_t th;
	int r;

	u.page = mmap(NULL, STALL_PG, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u.page == MAP_FAILED)
		return -200;
	u.uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (u.uffd < 0)
		return -201;
	if (ioctl(u.uffd, UFFDIO_API, &api))
		return -202;
	reg.range.start = (uintptr_t)u.page;
	reg.range.len = STALL_PG;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(u.uffd, UFFDIO_REGISTER, &reg))
		return -203;
	if (pthread_create(&th, NULL, uffd_handler, &u))
		return -204;
	r = ioctl(fd, req, u.page) ? -errno : 0;
	/*
	 * Not joined: if the ioctl read its argument the handler is done;
	 * if it was refused without reading it, the handler would wait in
	 * vain.  The child exits at once either way.
	 */
	return r;
}

FIXTURE(owner_race) {
	struct vsng_env e;
};

FIXTURE_VARIANT(owner_race) {
	unsigned long req;
	bool endpoint_set;	/* the endpoint is set before the race */
};

FIXTURE_VARIANT_ADD(owner_race, set_features) {
	.req = VHOST_SET_FEATURES,
};

FIXTURE_VARIANT_ADD(owner_race, set_backend_features) {
	.req = VHOST_SET_BACKEND_FEATURES,
};

FIXTURE_VARIANT_ADD(owner_race, set_events_missed) {
	.req = VHOST_SCSI_SET_EVENTS_MISSED,
};

FIXTURE_VARIANT_ADD(owner_race, set_endpoint) {
	.req = VHOST_SCSI_SET_ENDPOINT,
};

FIXTURE_VARIANT_ADD(owner_race, clear_endpoint) {
	.req = VHOST_SCSI_CLEAR_ENDPOINT, .endpoint_set = true,
};

FIXTURE_SETUP(owner_race)
{
	self->e.d.fd = -1;
	vsng_target_init(&self->e.t, vsng_test_id());
	ASSERT_EQ(0, vsng_target_create(&self->e.t, 1));
	/* Open, no owner yet. */
	ASSERT_EQ(0, vsng_dev_open(&self->e.d, NULL));
}

FIXTURE_TEARDOWN(owner_race)
{
	vsng_env_down(&self->e);
}

/* Proves (issue 14, item 4): the owner check and the operation are one
 * critical section.  A forked child (same fd, other mm) starts an ioctl
 * while the device has no owner; its argument is read (userfaultfd) only
 * after the parent's SET_OWNER returned.  It must get -EPERM and must not
 * act: the endpoint and events_missed are as the owner left them.  Each
 * variant runs 5 times.  Not run against in-tree (see the SKIP).
 */
TEST_F(owner_race, nonowner_refused)
{
	struct vhost_scsi_target t = { .abi_version = VHOST_SCSI_ABI_VERSION };
	uint64_t features = VSNG_F_VERSION_1, backend = 0;
	uint32_t missed = 1, got;
	int stalled[2], go[2], status, i, err;
	const void *arg;
	size_t len;
	bool owned;
	char c;
	pid_t pid;

	/*
	 * In-tree checks no owner for SET/CLEAR_ENDPOINT, SET_FEATURES and
	 * events missed at all (design.md, section 9).  A run of the first
	 * version of this test against in-tree hung the test VM (timeout,
	 * no output, cause not found): it is not run there.
	 */
	if (!vsng_target_is_ours())
		SKIP(return, "in-tree checks no owner for these ioctls (design.md section 9); not run there: it hung the test VM once");
	{
		/* The stall needs userfaultfd (the debug kernel of before
		 * 2026-12-04 was built without it).
		 */
		int u = syscall(SYS_userfaultfd, O_CLOEXEC);

		if (u < 0)
			SKIP(return, "this kernel has no userfaultfd (%s): the race cannot be staged",
			     strerror(errno));
		close(u);
	}
	snprintf(t.vhost_wwpn, sizeof(t.vhost_wwpn), "%s", self->e.t.wwpn);
	switch (variant->req) {
	case VHOST_SET_FEATURES:
		arg = &features, len = sizeof(features);
		break;
	case VHOST_SET_BACKEND_FEATURES:
		arg = &backend, len = sizeof(backend);
		break;
	case VHOST_SCSI_SET_EVENTS_MISSED:
		arg = &missed, len = sizeof(missed);
		break;
	default:
		arg = &t, len = sizeof(t);
		break;
	}

	for (i = 0; i < 5; i++) {
		if (i) {
			vsng_dev_close(&self->e.d);
			ASSERT_EQ(0, vsng_dev_open(&self->e.d, NULL));
		}
		if (variant->endpoint_set)
			ASSERT_EQ(0, vsng_dev_set_endpoint(&self->e.d,
							   self->e.t.wwpn));
		ASSERT_EQ(0, pipe(stalled));
		ASSERT_EQ(0, pipe(go));
		pid = fork();
		ASSERT_GE(pid, 0);
		if (!pid) {
			close(stalled[0]);
			close(go[1]);
			_exit(-stalled_ioctl(self->e.d.fd, variant->req, arg,
					     len, stalled[1], go[0]));
		}
		close(stalled[1]);
		close(go[0]);
		/*
		 * The child's ioctl has begun and waits for its argument, or
		 * it ended without reading it (EOF: refused at once).
		 */
		{
			struct pollfd pfd = { .fd = stalled[0],
					      .events = POLLIN };

			ASSERT_EQ(1, poll(&pfd, 1, 30000));
			owned = read(stalled[0], &c, 1) == 1;
		}
		if (owned)
			ASSERT_EQ(0, vsng_ioctl(&self->e.d, VHOST_SET_OWNER,
						NULL));
		ASSERT_EQ(1, write(go[1], "g", 1));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		close(stalled[0]);
		close(go[1]);
		ASSERT_TRUE(WIFEXITED(status));
		err = -WEXITSTATUS(status);
		ASSERT_GT(err, -200) {
			TH_LOG("userfaultfd set-up failed in the child (%d)",
			       err);
		}
		if (!owned) {
			/* Refused before reading its argument: no race. */
			TH_LOG("ioctl 0x%lx by a non-owner refused before it read its argument: %d (%s)",
			       variant->req, err, strerror(-err));
			EXPECT_NE(0, err);
			break;
		}
		EXPECT_EQ(-EPERM, err) {
			TH_LOG("round %d: ioctl 0x%lx by a non-owner after SET_OWNER: %d (%s)",
			       i, variant->req, err, strerror(-err));
		}
		/* And it did nothing. */
		switch (variant->req) {
		case VHOST_SCSI_SET_EVENTS_MISSED:
			ASSERT_EQ(0, vsng_ioctl(&self->e.d,
						VHOST_SCSI_GET_EVENTS_MISSED,
						&got));
			EXPECT_EQ(0, got);
			break;
		case VHOST_SCSI_SET_ENDPOINT:
			/* Not set by the child: the owner can set it. */
			EXPECT_EQ(0, vsng_dev_set_endpoint(&self->e.d,
							   self->e.t.wwpn));
			break;
		case VHOST_SCSI_CLEAR_ENDPOINT:
			/* Not cleared by the child: still set. */
			EXPECT_EQ(-EEXIST,
				  vsng_dev_set_endpoint(&self->e.d,
							self->e.t.wwpn));
			break;
		}
		if (self->e.d.endpoint || variant->endpoint_set)
			vsng_dev_clear_endpoint(&self->e.d);
		if (_metadata->exit_code == KSFT_FAIL)
			break;
	}
}

/*
 * SET_FEATURES while requests complete: the dirty-log decision of one
 * request (VHOST_F_LOG_ALL) must not change half-way through it.
 */
#define FLIP_PG		4096ULL
#define FLIP_NCMD	64
#define FLIP_QSZ	256

struct flipper {
	struct vsng_dev *d;
	uint64_t base;		/* features without LOG_ALL */
	volatile bool stop;
	unsigned long flips;
	int err;
};

static void *flip_log_all(void *p)
{
	struct flipper *f = p;
	uint64_t feat;

	while (!f->stop) {
		feat = f->base | ((f->flips & 1) ? 0 : 1ULL << VHOST_F_LOG_ALL);
		f->err = vsng_ioctl(f->d, VHOST_SET_FEATURES, &feat);
		if (f->err)
			break;
		f->flips++;
	}
	return NULL;
}

static bool flip_log_bit(const uint8_t *log, uint64_t gpa)
{
	uint64_t pfn = gpa / FLIP_PG;

	return log[pfn / 8] & (1u << (pfn % 8));
}

/* Proves (issue 14, item 5): features are published to a queue only while
 * it is quiesced.  Another thread of the owner flips VHOST_F_LOG_ALL with
 * SET_FEATURES as fast as it can while 64 READs at a time complete, each
 * with its response and its data-in in pages of their own.  For every
 * request the response page and the data-in page must be both logged or
 * both not: a completion pass that saw LOG_ALL for the response and not
 * for the data (or the reverse) answered with a mix.  The race is not
 * forced: the test runs for about 20 s and reports how many requests and
 * flips it saw.  In-tree logs neither responses nor data-in (SKIP).
 */
TEST_F_TIMEOUT(dev, features_flip_under_load, 120)
{
	uint64_t top = 0x180000000ULL + 16 * 1024 * 1024, logb;
	size_t log_len = top / FLIP_PG / 8 + 1;
	struct vsng_cmd *cmds;
	struct vsng_dev *d = &self->e.d;
	struct vsng_vq *vq;
	struct flipper f = { .d = d };
	unsigned long rounds = 0, reqs = 0, mixed = 0, logged = 0;
	uint64_t end, feat;
	uint8_t *log, *data;
	pthread_t th;
	int i, n;

	VSNG_OURS_ONLY("dirty logging of responses and data-in in 6.12");
	/* The dev fixture's device, set up again with bigger rings. */
	vsng_dev_close(d);
	{
		struct vsng_dev_opts o = { .nreq = 1, .req_size = FLIP_QSZ };

		ASSERT_EQ(0, vsng_dev_init(d, &o));
	}
	vq = &d->vq[VSNG_VQ_REQ];
	log = mmap(NULL, log_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, log);
	logb = (uintptr_t)log;
	ASSERT_EQ(0, vsng_ioctl(d, VHOST_SET_LOG_BASE, &logb));
	feat = d->features | (1ULL << VHOST_F_LOG_ALL);
	ASSERT_EQ(0, vsng_ioctl(d, VHOST_SET_FEATURES, &feat));
	ASSERT_EQ(0, vsng_dev_set_endpoint(d, self->e.t.wwpn));
	vsng_clear_ua(vq, 0);

	cmds = calloc(FLIP_NCMD, sizeof(*cmds));
	ASSERT_NE(NULL, cmds);
	data = vsng_alloc(d, 0, FLIP_NCMD * FLIP_PG, FLIP_PG);
	ASSERT_NE(NULL, data);
	for (i = 0; i < FLIP_NCMD; i++) {
		cmds[i].req = vsng_alloc(d, 0, 64, 64);
		cmds[i].resp = vsng_alloc(d, 0, FLIP_PG, FLIP_PG);
		ASSERT_NE(NULL, cmds[i].req);
		ASSERT_NE(NULL, cmds[i].resp);
	}

	f.base = d->features & ~(1ULL << VHOST_F_LOG_ALL);
	ASSERT_EQ(0, pthread_create(&th, NULL, flip_log_all, &f));
	end = vsng_now_ms() + 20000;
	while (vsng_now_ms() < end && !f.err) {
		memset(log, 0, log_len);
		for (i = 0; i < FLIP_NCMD; i++) {
			uint8_t cdb[16];

			vsng_cmd_init(&cmds[i], VSNG_TPGT, 0);
			n = vsng_cdb_rw(cdb, 10, false, i * 8, 8);
			memcpy(cmds[i].cdb, cdb, n);
			cmds[i].din_gpa = vsng_gpa(d, data + i * FLIP_PG);
			cmds[i].din_len = FLIP_PG;
			if (vsng_cmd_submit(vq, &cmds[i]))
				break;
		}
		ASSERT_EQ(FLIP_NCMD, i);
		vsng_vq_kick(vq, true);
		for (n = 0; n < FLIP_NCMD; ) {
			vsng_vq_wait(vq, 1000);
			vsng_vq_reap(vq);
			for (n = 0, i = 0; i < FLIP_NCMD; i++)
				n += cmds[i].done;
			if (vsng_now_ms() > end + 30000)
				break;
		}
		ASSERT_EQ(FLIP_NCMD, n);
		for (i = 0; i < FLIP_NCMD; i++) {
			bool r = flip_log_bit(log, vsng_gpa(d, cmds[i].resp));
			bool dd = flip_log_bit(log, cmds[i].din_gpa);

			EXPECT_TRUE(RESP_OK(&cmds[i]));
			logged += r && dd;
			if (r != dd && mixed++ < 5)
				TH_LOG("round %lu request %d: response page %s, data-in page %s",
				       rounds, i, r ? "logged" : "not logged",
				       dd ? "logged" : "not logged");
		}
		reqs += FLIP_NCMD;
		rounds++;
	}
	f.stop = true;
	pthread_join(th, NULL);
	TH_LOG("%lu requests in %lu rounds, %lu SET_FEATURES flips, %lu logged whole, %lu mixed",
	       reqs, rounds, f.flips, logged, mixed);
	EXPECT_EQ(0, f.err);
	EXPECT_EQ(0, mixed);
	free(cmds);
	munmap(log, log_len);
}

TEST_HARNESS_MAIN
