// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures (issue 15): every allocation the target makes on the
 * control path (the owner's ioctls) and on the data path (the device's
 * worker threads) is failed once, in turn, with the kernel's fault
 * injection (fail-nth: the Nth failslab or fail_page_alloc check of one
 * task fails).  Each failure must give a defined answer: an errno for an
 * ioctl, a SCSI status or virtio response for a request, a TMF response;
 * never a hang, a broken queue, wrong data with GOOD status, an oops or a
 * leak (run.sh's dmesg check, debug-run.sh's kmemleak scan).  After each
 * failure the device (control path: a fresh one) must serve I/O again.
 *
 * Where each failure came from is read from a kretprobe on
 * should_failslab/should_fail_alloc_page with a stack trace (tracefs),
 * and printed as a table: site, times failed, what the guest or the
 * owner saw.  Needs CONFIG_FAILSLAB and CONFIG_FAIL_PAGE_ALLOC (the debug
 * kernel): SKIP elsewhere.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "vsng_test.h"

#define DBG	"/sys/kernel/debug"
#define TRC	"/sys/kernel/tracing"
#define MAXN	1500		/* injection points walked, at most */
#define MAXSITES 128
#define MAXW	8

struct site {
	char name[200];
	int times;
	char seen[160];		/* distinct answers, comma separated */
};

static struct site sites[MAXSITES];
static int nsites;
static bool tracing;

static int wfile_mode(const char *path, const char *val, int mode)
{
	int fd = open(path, O_WRONLY | mode), n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

static int wfile(const char *path, const char *val)
{
	return wfile_mode(path, val, O_TRUNC);
}

/* A device with no fd open yet (vsng_dev_close() closes fds >= 0). */
static void dev_blank(struct vsng_dev *d)
{
	int i;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	for (i = 0; i < VSNG_MAX_VQS; i++)
		d->vq[i].kick_fd = d->vq[i].call_fd = d->vq[i].err_fd = -1;
}

/* Only fail-nth injects: probability 0, sleeping allocations included. */
static int fi_setup(void)
{
	static const char *const set[][2] = {
		{ DBG "/failslab/probability", "0" },
		{ DBG "/failslab/verbose", "0" },
		{ DBG "/failslab/ignore-gfp-wait", "N" },
		{ DBG "/fail_page_alloc/probability", "0" },
		{ DBG "/fail_page_alloc/verbose", "0" },
		{ DBG "/fail_page_alloc/ignore-gfp-wait", "N" },
		/* user pages (page faults) are never failed */
		{ DBG "/fail_page_alloc/ignore-gfp-highmem", "Y" },
		{ DBG "/fail_page_alloc/min-order", "0" },
	};
	unsigned int i;

	if (access(DBG "/failslab", F_OK))
		mount("debugfs", DBG, "debugfs", 0, NULL);
	if (access(DBG "/failslab", F_OK) ||
	    access(DBG "/fail_page_alloc", F_OK))
		return -ENOENT;
	for (i = 0; i < ARRAY_SIZE(set); i++)
		if (wfile(set[i][0], set[i][1]))
			return -EIO;
	return 0;
}

/* A kretprobe per injection point, recording the stack of each failure. */
static void trace_setup(void)
{
	if (access(TRC "/kprobe_events", F_OK))
		mount("tracefs", TRC, "tracefs", 0, NULL);
	wfile(TRC "/tracing_on", "0");
	wfile(TRC "/kprobe_events", "");
	if (wfile(TRC "/kprobe_events",
		  "r:vsngfi/slab should_failslab ret=$retval:s32") ||
	    wfile_mode(TRC "/kprobe_events",
		       "r:vsngfi/page should_fail_alloc_page ret=$retval:u8",
		       O_APPEND) ||
	    wfile(TRC "/events/vsngfi/slab/filter", "ret != 0") ||
	    wfile(TRC "/events/vsngfi/page/filter", "ret != 0") ||
	    wfile(TRC "/options/stacktrace", "1") ||
	    wfile(TRC "/options/sym-offset", "1") ||
	    wfile(TRC "/events/vsngfi/enable", "1") ||
	    wfile(TRC "/trace", "") || wfile(TRC "/tracing_on", "1")) {
		fprintf(stderr, "# no kretprobe on the injection points: sites not named\n");
		return;
	}
	tracing = true;
}

static void trace_down(void)
{
	wfile(TRC "/tracing_on", "0");
	wfile(TRC "/events/vsngfi/enable", "0");
	wfile(TRC "/options/stacktrace", "0");
	wfile(TRC "/options/sym-offset", "0");
	wfile(TRC "/kprobe_events", "");
	wfile(TRC "/trace", "");
	tracing = false;
}

/* Allocator frames: the site is the first frame that is none of these. */
static bool alloc_frame(const char *f)
{
	static const char *const pfx[] = {
		"should_fail", "__kretprobe", "kretprobe", "slab_pre_alloc",
		"kmem_cache_alloc", "__kmalloc", "kmalloc", "__kvmalloc",
		"kvmalloc", "kvzalloc", "kzalloc", "kcalloc", "kvcalloc",
		"alloc_pages", "__alloc_pages", "alloc_page", "folio_alloc",
		"__folio_alloc", "alloc_slab", "allocate_slab", "new_slab",
		"___slab_alloc", "__slab_alloc", "slab_alloc", "kstrdup",
		"kmemdup", "kasprintf", "kvasprintf", "__get_free_pages",
		"get_zeroed_page", "krealloc", "__do_krealloc", "mempool_alloc",
		"__vmalloc", "vmalloc", "vzalloc", "__get_vm_area",
		"alloc_vmap_area", "kvrealloc", "dup_task_struct",
		"alloc_thread_stack", "__kmem_cache_alloc", "___kmalloc_large",
		"vm_area_alloc_pages", "mempool_kmalloc", "kstrndup",
		"prepare_alloc_pages", "xas_", "__xa_alloc", "xa_alloc",
		"radix_tree_node_alloc", "kvasprintf", "get_free_pages",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pfx); i++)
		if (!strncmp(f, pfx[i], strlen(pfx[i])))
			return true;
	return false;
}

static void site_add(const char *name, const char *seen)
{
	struct site *s = NULL;
	int i;

	for (i = 0; i < nsites; i++)
		if (!strcmp(sites[i].name, name))
			s = &sites[i];
	if (!s) {
		if (nsites == MAXSITES)
			return;
		s = &sites[nsites++];
		snprintf(s->name, sizeof(s->name), "%s", name);
	}
	s->times++;
	if (!strstr(s->seen, seen) &&
	    strlen(s->seen) + strlen(seen) + 3 < sizeof(s->seen)) {
		if (s->seen[0])
			strcat(s->seen, ", ");
		strcat(s->seen, seen);
	}
}

/*
 * A frame of the stack as the site's name: "func+0xoff [module]" (the
 * function's length dropped).
 */
static void frame_name(char *dst, size_t n, const char *f)
{
	const char *slash = strchr(f, '/'), *mod = strchr(f, '[');

	if (slash && (!mod || slash < mod))
		snprintf(dst, n, "%.*s%s%s", (int)(slash - f), f, mod ? " " : "",
			 mod ? mod : "");
	else
		snprintf(dst, n, "%s", f);
}

static void site_flush(const char *kind, const char *site, const char *tgt,
		       const char *seen)
{
	char name[200];

	if (!site[0])
		return;
	/* outside the target: also the target's frame that led there */
	if (tgt[0] && strcmp(site, tgt))
		snprintf(name, sizeof(name), "%s: %s <- %s", kind, site, tgt);
	else
		snprintf(name, sizeof(name), "%s: %s", kind, site);
	site_add(name, seen);
}

/*
 * The site of each failure recorded since the last call: the first frame
 * of the stack that is not an allocator ("func+0xoff [module]"), with the
 * first frame of the target module (vhost_scsi_ng, or in-tree vhost_scsi)
 * when the site is elsewhere (LIO, vhost, the core kernel).  "slab" is a
 * failslab failure, "page" a fail_page_alloc one.
 */
static void trace_collect(const char *seen)
{
	char line[512], site[96] = "", tgt[96] = "", kind[8] = "?";
	bool instack = false;
	FILE *f;

	if (!tracing) {
		site_add("(site not traced)", seen);
		return;
	}
	f = fopen(TRC "/trace", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, " => ");

		if (strstr(line, ": slab: (") || strstr(line, ": page: (")) {
			if (instack)
				site_flush(kind, site, tgt, seen);
			instack = false;
			snprintf(kind, sizeof(kind), "%s",
				 strstr(line, ": slab: (") ? "slab" : "page");
			continue;
		}
		if (strstr(line, "<stack trace>")) {
			if (instack)
				site_flush(kind, site, tgt, seen);
			instack = true;
			site[0] = tgt[0] = 0;
			continue;
		}
		if (!instack || !p)
			continue;
		p += 4;
		p[strcspn(p, "\n")] = 0;
		if (!site[0] && !alloc_frame(p))
			frame_name(site, sizeof(site), p);
		if (!tgt[0] && (strstr(p, "[vhost_scsi") ||
				!strncmp(p, "vsng_", 5) ||
				!strncmp(p, "vhost_scsi_", 11)))
			frame_name(tgt, sizeof(tgt), p);
	}
	if (instack)
		site_flush(kind, site, tgt, seen);
	fclose(f);
	wfile(TRC "/trace", "");
}

static void sites_print(const char *what)
{
	int i, ours = 0;

	for (i = 0; i < nsites; i++) {
		char own[200], *via;

		/* the site itself, not the target frame that led there */
		memcpy(own, sites[i].name, sizeof(own));
		own[sizeof(own) - 1] = 0;
		via = strstr(own, " <- ");
		if (via)
			*via = 0;
		ours += strstr(own, "[vhost_scsi") || strstr(own, ": vsng_") ||
			strstr(own, ": vhost_scsi_");
		printf("# %s site %s: failed %d time(s); seen: %s\n", what,
		       sites[i].name, sites[i].times, sites[i].seen);
	}
	printf("# %s: %d distinct sites failed, %d of them in the target module\n",
	       what, nsites, ours);
}

/*
 * fail-nth of one task, through a file opened once: opening
 * /proc/.../fail-nth allocates (a struct file, the path lookup), so an
 * open after the count was set would fail or consume injection points of
 * the harness, not of the target.  Reading and writing an open fail-nth
 * file allocates nothing.
 */
static int fail_nth_open(pid_t tid)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/task/%d/fail-nth", tid);
	return open(p, O_RDWR);
}

static int set_fail_nth(int fd, int n)
{
	char v[16];
	int len = snprintf(v, sizeof(v), "%d", n);

	return pwrite(fd, v, len, 0) == len ? 0 : -errno;
}

static long get_fail_nth(int fd)
{
	char b[32];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);

	if (n <= 0)
		return -1;
	b[n] = 0;
	return atol(b);
}

/* The device's worker threads: our threads named vhost-<pid>. */
static int workers(pid_t *tids)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < MAXW) {
		char p[300], comm[32];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/task/%s/comm", de->d_name);
		if (!vsng_sysfs_read(p, comm, sizeof(comm)) &&
		    !strncmp(comm, "vhost-", 6))
			tids[n++] = atoi(de->d_name);
	}
	closedir(d);
	return n;
}

FIXTURE(fa) {
	struct vsng_target t;
	bool target_up;
};

FIXTURE_SETUP(fa)
{
	int err = fi_setup();

	if (err)
		SKIP(return, "no failslab/fail_page_alloc (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC: the debug kernel)");
	vsng_target_init(&self->t, vsng_test_id());
	ASSERT_EQ(0, vsng_target_create(&self->t, 1));
	self->target_up = true;
	nsites = 0;
	trace_setup();
}

FIXTURE_TEARDOWN(fa)
{
	trace_down();
	if (self->target_up)
		vsng_target_destroy(&self->t);
}

static const char *const ctl_step[] = {
	"open", "SET_OWNER", "GET_FEATURES", "SET_FEATURES", "SET_MEM_TABLE",
	"rings", "SET_ENDPOINT", "READ", "NEW_WORKER", "CLEAR_ENDPOINT",
};

/*
 * The owner's sequence, with guest memory mapped beforehand (@m): which
 * step failed, and with what.  0 when every step passed and the READ
 * came back GOOD.
 */
static int ctl_seq(struct vsng_dev *d, const struct vsng_mem *m,
		   const char *wwpn, int *step)
{
	uint64_t f;
	struct vsng_cmd c = { 0 };
	struct vhost_worker_state w = { 0 };
	uint8_t *buf;
	int err, i;

	*step = 0;
	err = vsng_dev_open(d, NULL);
	if (err)
		return err;
	*step = 1;
	err = vsng_ioctl(d, VHOST_SET_OWNER, NULL);
	if (err)
		return err;
	*step = 2;
	err = vsng_ioctl(d, VHOST_GET_FEATURES, &d->offered);
	if (err)
		return err;
	*step = 3;
	f = d->offered & (VSNG_F_VERSION_1 | VSNG_F_ANY_LAYOUT |
			  VSNG_F_INDIRECT | VSNG_F_EVENT_IDX);
	err = vsng_ioctl(d, VHOST_SET_FEATURES, &f);
	if (err)
		return err;
	d->features = f;
	*step = 4;
	d->mem = *m;
	err = vsng_mem_set_table(d);
	if (err)
		return err;
	*step = 5;
	for (i = 0; !err && i < 3; i++)
		err = vsng_vq_setup(d, i, 32);
	if (err)
		return err;
	*step = 6;
	err = vsng_dev_set_endpoint(d, wwpn);
	if (err)
		return err;
	*step = 7;
	buf = vsng_alloc(d, 0, 4096, 4096);
	if (!buf)
		return -ENOSPC;
	vsng_cmd_init(&c, VSNG_TPGT, 0);
	for (i = 0; i < 3; i++) {	/* past the unit attention */
		err = vsng_rw(&d->vq[VSNG_VQ_REQ], &c, 10, false, 0, 8,
			      vsng_gpa(d, buf), 4096);
		if (err || c.rsp.response || c.rsp.status != 2)
			break;
	}
	if (err)
		return err;
	if (c.rsp.response || c.rsp.status)
		return -EPROTO;
	*step = 8;
	err = vsng_ioctl(d, VHOST_NEW_WORKER, &w);
	if (err)
		return err;
	*step = 9;
	return vsng_dev_clear_endpoint(d);
}

/*
 * Control path: the owner's Nth injection point fails, N = 1, 2, ...
 * until the whole sequence passes with the counter not reached.
 */
TEST_F_TIMEOUT(fa, control_path, 1200)
{
	int fnfd = fail_nth_open(gettid());
	struct vsng_dev d0;
	struct vsng_mem m;
	int n, step, failed = 0, bad = 0;

	ASSERT_LE(0, fnfd);
	dev_blank(&d0);
	ASSERT_EQ(0, vsng_mem_create(&d0));
	m = d0.mem;
	for (n = 1; n <= MAXN; n++) {
		struct vsng_dev d;
		char seen[64];
		long left;
		int err;

		dev_blank(&d);
		ASSERT_EQ(0, set_fail_nth(fnfd, n));
		err = ctl_seq(&d, &m, self->t.wwpn, &step);
		left = get_fail_nth(fnfd);
		set_fail_nth(fnfd, 0);
		d.mem.map = NULL;	/* keep the mapping */
		vsng_dev_close(&d);
		if (left > 0) {		/* fewer than n injection points */
			ASSERT_EQ(0, err) TH_LOG("no injection, yet %s failed: %s",
						 ctl_step[step], strerror(-err));
			break;
		}
		failed++;
		snprintf(seen, sizeof(seen), "%s %s", ctl_step[step],
			 err ? strerror(-err) : "ok");
		trace_collect(seen);
		/* a step may absorb a failure; never with a wrong answer */
		if (err == -EPROTO || err == -ETIMEDOUT) {
			bad++;
			TH_LOG("n=%d: %s: %s", n, ctl_step[step], strerror(-err));
		}
	}
	printf("# control path: %d injection points failed in turn (n=1..%d)\n",
	       failed, n - 1);
	sites_print("control");
	EXPECT_GT(failed, 0);
	EXPECT_LE(n, MAXN) TH_LOG("more than %d injection points", MAXN);
	EXPECT_EQ(0, bad);
	/* a device set up with no failure works */
	{
		struct vsng_dev d;

		dev_blank(&d);
		EXPECT_EQ(0, ctl_seq(&d, &m, self->t.wwpn, &step))
			TH_LOG("after the walk: %s failed", ctl_step[step]);
		d.mem.map = NULL;
		vsng_dev_close(&d);
	}
	d0.mem.map = m.map;
	vsng_dev_close(&d0);
	close(fnfd);
}

/* One request's answer, as the guest sees it. */
static void answer(const struct vsng_cmd *c, int err, char *s, size_t n)
{
	if (err)
		snprintf(s, n, "%s", strerror(-err));
	else if (c->rsp.response)
		snprintf(s, n, "response %u", c->rsp.response);
	else if (c->rsp.status == 2)
		snprintf(s, n, "status 02/%x/%02x", vsng_sense_key(&c->rsp),
			 vsng_sense_asc(&c->rsp));
	else
		snprintf(s, n, "status %02x", c->rsp.status);
}

/*
 * A defined answer to a valid request whose allocation failed: GOOD (the
 * failure was absorbed), CHECK CONDITION, BUSY or TASK SET FULL, or the
 * virtio response BUSY; no hang.  Not BAD_TARGET or another virtio
 * failure: a guest fails those for good (Linux: DID_BAD_TARGET), where a
 * shortage of host memory is one a retry gets through.
 */
static bool defined(const struct vsng_cmd *c, int err)
{
	if (err)
		return false;
	if (c->rsp.response)
		return c->rsp.response == VIRTIO_SCSI_S_BUSY;
	return c->rsp.status == 0 || c->rsp.status == 2 ||
	       c->rsp.status == 8 || c->rsp.status == 0x28;
}

/*
 * Data path: the Nth injection point of the device's workers fails while
 * they serve a write, its read-back, a bounced (misaligned) read and
 * write, an INQUIRY and a TMF.
 */
TEST_F_TIMEOUT(fa, data_path, 1200)
{
	static const struct vsng_dev_opts o = { .nreq = 1, .req_size = 64 };
	struct vsng_dev *d;
	struct vsng_env *e;
	struct vsng_vq *vq;
	struct vsng_cmd c[6] = { 0 };
	uint8_t *wbuf, *rbuf, *mis, *ibuf;
	pid_t w[MAXW];
	int wfd[MAXW];
	int nw, n, i, failed = 0, bad = 0;

	e = calloc(1, sizeof(*e));
	ASSERT_NE(NULL, e);
	/* our own device on the fixture's target */
	dev_blank(&e->d);
	ASSERT_EQ(0, vsng_dev_init(&e->d, &o));
	ASSERT_EQ(0, vsng_dev_set_endpoint(&e->d, self->t.wwpn));
	d = &e->d;
	vq = &d->vq[VSNG_VQ_REQ];
	vsng_clear_ua(vq, 0);
	wbuf = vsng_alloc(d, 0, 16384, 4096);
	rbuf = vsng_alloc(d, 0, 16384, 4096);
	mis = vsng_alloc(d, 2, 8192, 4096);
	/* INQUIRY data of its own: not inside the read-back buffer */
	ibuf = vsng_alloc(d, 0, 4096, 4096);
	ASSERT_NE(NULL, mis);
	ASSERT_NE(NULL, ibuf);
	nw = workers(w);
	ASSERT_GT(nw, 0) TH_LOG("no vhost-<pid> worker thread found");
	for (i = 0; i < nw; i++) {
		wfd[i] = fail_nth_open(w[i]);
		ASSERT_LE(0, wfd[i]);
	}

	for (n = 1; n <= MAXN; n++) {
		uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 }, resp = 0xff;
		char s[6][48], seen[320];
		bool reached = false;
		int err[6], terr;

		for (i = 0; i < 16384; i++)
			wbuf[i] = (uint8_t)(n * 7 + i);
		memset(rbuf, 0, 16384);
		for (i = 0; i < nw; i++)
			set_fail_nth(wfd[i], n);
		vsng_cmd_init(&c[0], VSNG_TPGT, 0);
		err[0] = vsng_rw(vq, &c[0], 10, true, 64, 32,
				 vsng_gpa(d, wbuf), 16384);
		vsng_cmd_init(&c[1], VSNG_TPGT, 0);
		err[1] = vsng_rw(vq, &c[1], 10, false, 64, 32,
				 vsng_gpa(d, rbuf), 16384);
		vsng_cmd_init(&c[2], VSNG_TPGT, 0);
		err[2] = vsng_rw(vq, &c[2], 10, false, 64, 8,
				 vsng_gpa(d, mis + 1), 4096);
		vsng_cmd_init(&c[3], VSNG_TPGT, 0);
		err[3] = vsng_rw(vq, &c[3], 10, true, 256, 8,
				 vsng_gpa(d, mis + 4097), 4096);
		vsng_cmd_init(&c[4], VSNG_TPGT, 0);
		err[4] = vsng_scsi(vq, &c[4], inq, 6, 0, 0,
				   vsng_gpa(d, ibuf), 96);
		terr = vsng_tmf(d, VIRTIO_SCSI_T_TMF_ABORT_TASK, VSNG_TPGT, 0,
				0x77777, &resp, 20000);
		for (i = 0; i < nw; i++) {
			if (get_fail_nth(wfd[i]) == 0)
				reached = true;
			set_fail_nth(wfd[i], 0);
		}
		for (i = 0; i < 5; i++)
			answer(&c[i], err[i], s[i], sizeof(s[i]));
		snprintf(s[5], sizeof(s[5]), "%s", terr ? strerror(-terr) : "");
		if (!terr)
			snprintf(s[5], sizeof(s[5]), "tmf %u", resp);
		for (i = 0; i < 5; i++)
			if (!defined(&c[i], err[i])) {
				bad++;
				TH_LOG("n=%d: request %d: %s", n, i, s[i]);
			}
		if (terr) {
			bad++;
			TH_LOG("n=%d: TMF: %s", n, s[5]);
		}
		/* GOOD write and GOOD read: the data is the data */
		if (!err[0] && !err[1] && !c[0].rsp.response &&
		    !c[1].rsp.response && !c[0].rsp.status &&
		    !c[1].rsp.status && memcmp(wbuf, rbuf, 16384)) {
			bad++;
			for (i = 0; i < 16384 && wbuf[i] == rbuf[i]; i++)
				;
			TH_LOG("n=%d: GOOD write and read, data differs from byte %d", n, i);
		}
		for (i = 0; i < 3 && !bad; i++)
			if (vsng_vq_err_fired(&d->vq[i], 0)) {
				bad++;
				TH_LOG("n=%d: queue %d broken", n, i);
			}
		if (!reached)
			break;
		failed++;
		snprintf(seen, sizeof(seen), "W:%s R:%s bR:%s bW:%s INQ:%s %s",
			 s[0], s[1], s[2], s[3], s[4], s[5]);
		trace_collect(seen);
		if (bad)
			break;
		/* the device still serves I/O with nothing failing */
		vsng_cmd_init(&c[5], VSNG_TPGT, 0);
		ASSERT_EQ(0, vsng_rw(vq, &c[5], 10, false, 0, 8,
				     vsng_gpa(d, rbuf), 4096));
		if (c[5].rsp.status == 2)	/* a unit attention, once */
			ASSERT_EQ(0, vsng_rw(vq, &c[5], 10, false, 0, 8,
					     vsng_gpa(d, rbuf), 4096));
		ASSERT_EQ(0, c[5].rsp.response);
		ASSERT_EQ(0, c[5].rsp.status) TH_LOG("n=%d: the device no longer serves I/O", n);
	}
	printf("# data path: %d injection points of %d worker thread(s) failed in turn\n",
	       failed, nw);
	sites_print("data");
	EXPECT_GT(failed, 0);
	EXPECT_LE(n, MAXN);
	EXPECT_EQ(0, bad);
	for (i = 0; i < nw; i++)
		close(wfd[i]);
	vsng_dev_clear_endpoint(d);
	vsng_dev_close(d);
	free(e);
}

TEST_HARNESS_MAIN
