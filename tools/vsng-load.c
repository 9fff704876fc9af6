// SPDX-License-Identifier: GPL-2.0
/*
 * vsng-load: a target-level load generator for /dev/vhost-scsi.
 *
 * It plays a virtio-scsi guest driver with the selftest library
 * (selftests/vhost_scsi_ng/vsng_drv.c): one thread per request queue, each
 * keeping QD commands in flight on its own queue, and measures what the
 * target costs without any guest kernel in the way.
 *
 *   vsng-load [--queues N] [--qd N] [--bs SIZE] [--rw KIND] [--rwmix PCT]
 *             [--runtime SECS] [--ramp SECS] [--poll] [--new-workers]
 *             [--size-mb MB] [--no-indirect] [--label NAME] [--json FILE]
 *             [--mark ID] [--insn-log FILE] [--quiet] [--hold SECS]
 *             [--ring split|packed] [--in-order]
 *
 *   --rw      read | write | randread | randwrite | randrw | rw
 *   --rwmix   percentage of reads for randrw / rw (default 70)
 *   --poll    completions by busy-polling the used ring, interrupts off
 *             (default: wait on the call eventfd, EVENT_IDX like Linux)
 *   --new-workers  give every request queue its own vhost worker through
 *             VHOST_NEW_WORKER + VHOST_ATTACH_VRING_WORKER (in-tree >= 6.5)
 *   --mark ID executes marker ID at the start and ID+1 at the end of the
 *             measured window (tools/tcg-insn-plugin.c); with --insn-log
 *             (default $VSNG_INSN_LOG) the plugin's log is read back and
 *             guest instructions per I/O are reported.
 *   --ring    the ring format (default: $VSNG_RING, else split); packed
 *             acks VIRTIO_F_RING_PACKED (a target without it refuses)
 *   --in-order  ack VIRTIO_F_IN_ORDER when the target offers it (ours:
 *             in_order=Y, read when the device is opened); the report
 *             says whether it was negotiated
 *   --hold S  keep the device open and idle for S seconds after the report
 *             (tools/vsng-stat-test.sh reads its counters then); a signal
 *             ends the run early, another one the hold.
 *
 * Environment (as the selftests): VSNG_DEV (device, default
 * /dev/vhost-scsi), VSNG_FABRIC (configfs fabric, default vhost),
 * VSNG_BACKEND (rd | brd | nullb | fileio: LUN 0 on rd_mcp, /dev/ram0,
 * /dev/nullb0 or a file).  The LIO target is created and removed here.
 *
 * Output: a table on stdout, and with --json FILE one JSON object.
 * Counters: kicks and interrupts per I/O as the driver side saw them
 * (eventfd writes and eventfd counts read), used-index writes and the
 * target's own kick/interrupt counts from VHOST_SCSI_NG_GET_VQ_STATS (our
 * module only), CPU seconds per I/O of the whole machine (/proc/stat).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "vsng_drv.h"
#include "vsng_test.h"
#include "linux/vhost_scsi_ng.h"
#include "vsng-mark.h"

#define SECTOR		512
#define HBUCKETS	(64 + 40 * 32)

enum rw_kind { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE, RW_RANDRW, RW_RW };
static const char *const rw_names[] = {
	"read", "write", "randread", "randwrite", "randrw", "rw",
};

struct opts {
	int queues;
	int qd;
	uint32_t bs;
	enum rw_kind rw;
	int rwmix;
	double runtime;
	double ramp;
	double hold;
	bool poll;
	bool new_workers;
	bool indirect;
	enum vsng_ring_fmt ring;	/* --ring */
	bool in_order;			/* --in-order */
	uint32_t size_mb;
	const char *label;
	const char *json;
	int mark;
	const char *insn_log;
	bool quiet;
	const char *tpg_attr[8];	/* --tpg-attr NAME=VALUE */
	int ntpg_attr;
	const char *dev_attr[8];	/* --dev-attr NAME=VALUE */
	int ndev_attr;
};

static struct opts o = {
	.queues = 1, .qd = 32, .bs = 4096, .rw = RW_RANDREAD, .rwmix = 70,
	.runtime = 10, .ramp = 1, .indirect = true, .size_mb = 256,
	.label = "", .mark = -1,
};

struct slot {
	struct virtio_scsi_cmd_req *req;
	struct virtio_scsi_cmd_resp *resp;
	uint8_t *buf;
	uint64_t t0;
	bool write;
};

struct worker {
	pthread_t th;
	int q;
	struct vsng_vq *vq;
	struct slot *slots;
	uint64_t seq_lba;	/* next LBA for sequential jobs */
	uint64_t rnd;
	/* written by the worker, read racily by main (64-bit: no tearing) */
	_Atomic uint64_t ios, rios, wios, bytes, errors;
	uint64_t hist[HBUCKETS];
	uint64_t lat_sum, lat_n, lat_max;
	int inflight;
	int fail;
};

static struct vsng_env env;
static struct worker *workers;
static uint64_t cap_blocks;
static uint32_t blk_size = SECTOR;
static atomic_int stop_flag;		/* 1: stop resubmitting */
static atomic_int signalled;		/* SIGINT/SIGTERM count (--hold) */
static atomic_int measuring;		/* 1: record latencies */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t xrand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static int hbucket(uint64_t v)
{
	int e;

	if (v < 64)
		return v;
	e = 63 - __builtin_clzll(v);
	if (e > 45)
		return HBUCKETS - 1;
	return 64 + (e - 6) * 32 + ((v >> (e - 5)) & 31);
}

static uint64_t hvalue(int b)
{
	int e;

	if (b < 64)
		return b;
	e = (b - 64) / 32 + 6;
	/* midpoint of the bucket */
	return ((uint64_t)(32 + (b - 64) % 32) << (e - 5)) +
	       ((1ULL << (e - 5)) >> 1);
}

/* ---- one request ---------------------------------------------------------- */
static bool is_write(struct worker *w)
{
	switch (o.rw) {
	case RW_WRITE:
	case RW_RANDWRITE:
		return true;
	case RW_RANDRW:
	case RW_RW:
		return (int)(xrand(&w->rnd) % 100) >= o.rwmix;
	default:
		return false;
	}
}

static uint64_t next_lba(struct worker *w)
{
	uint64_t per = o.bs / blk_size, span = cap_blocks / per, lba;

	if (o.rw == RW_READ || o.rw == RW_WRITE || o.rw == RW_RW) {
		lba = w->seq_lba;
		w->seq_lba += per;
		if (w->seq_lba + per > cap_blocks)
			w->seq_lba = 0;
		return lba;
	}
	return (xrand(&w->rnd) % span) * per;
}

static int submit(struct worker *w, struct slot *s)
{
	struct vsng_dev *d = &env.d;
	struct vsng_seg segs[4];
	uint64_t lba = next_lba(w);
	uint32_t blocks = o.bs / blk_size;
	int n = 0, head;

	s->write = is_write(w);
	memset(s->req->cdb, 0, sizeof(s->req->cdb));
	if (lba + blocks <= 0xffffffffULL && blocks <= 0xffff)
		vsng_cdb_rw(s->req->cdb, 10, s->write, lba, blocks);
	else
		vsng_cdb_rw(s->req->cdb, 16, s->write, lba, blocks);
	s->req->tag++;
	s->resp->response = 0xff;
	segs[n++] = (struct vsng_seg){ vsng_gpa(d, s->req), sizeof(*s->req),
				       false };
	if (s->write)
		segs[n++] = (struct vsng_seg){ vsng_gpa(d, s->buf), o.bs,
					       false };
	segs[n++] = (struct vsng_seg){ vsng_gpa(d, s->resp), sizeof(*s->resp),
				       true };
	if (!s->write)
		segs[n++] = (struct vsng_seg){ vsng_gpa(d, s->buf), o.bs,
					       true };
	s->t0 = now_ns();
	head = vsng_vq_add(w->vq, segs, n, o.indirect, s);
	if (head < 0)
		return head;
	w->inflight++;
	return 0;
}

static void complete(struct worker *w, struct slot *s)
{
	uint64_t lat = now_ns() - s->t0;

	w->inflight--;
	if (s->resp->response != VIRTIO_SCSI_S_OK || s->resp->status) {
		if (!atomic_load(&w->errors) && !o.quiet)
			fprintf(stderr, "vsng-load: q%d: response %u status %u sense key %u\n",
				w->q, s->resp->response, s->resp->status,
				vsng_sense_key(s->resp));
		atomic_fetch_add_explicit(&w->errors, 1, memory_order_relaxed);
	}
	atomic_store_explicit(&w->ios, atomic_load_explicit(&w->ios,
			      memory_order_relaxed) + 1, memory_order_relaxed);
	if (s->write)
		atomic_store_explicit(&w->wios, w->wios + 1,
				      memory_order_relaxed);
	else
		atomic_store_explicit(&w->rios, w->rios + 1,
				      memory_order_relaxed);
	atomic_store_explicit(&w->bytes, w->bytes + o.bs,
			      memory_order_relaxed);
	if (atomic_load_explicit(&measuring, memory_order_relaxed)) {
		w->hist[hbucket(lat)]++;
		w->lat_sum += lat;
		w->lat_n++;
		if (lat > w->lat_max)
			w->lat_max = lat;
	}
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct vsng_vq *vq = w->vq;
	uint64_t deadline;
	int i, err;

	if (o.poll)
		vsng_vq_set_no_interrupt(vq, true);
	for (i = 0; i < o.qd; i++) {
		err = submit(w, &w->slots[i]);
		if (err) {
			fprintf(stderr, "vsng-load: q%d: submit: %s\n", w->q,
				strerror(-err));
			w->fail = 1;
			return NULL;
		}
	}
	vsng_vq_kick(vq, false);
	for (;;) {
		bool stopping = atomic_load(&stop_flag);
		int got = 0;
		void *cookie;
		uint32_t len;

		if (stopping && !w->inflight)
			break;
		if (o.poll) {
			unsigned int spins = 0;

			while (vsng_vq_used_idx(vq) == vq->last_used) {
				if (++spins % 256 == 0) {
					sched_yield();
					if (atomic_load(&stop_flag) &&
					    spins > 1000000)
						break;
				}
				__builtin_ia32_pause();
			}
		} else {
			vsng_vq_wait(vq, 1000);
		}
		while ((err = vsng_vq_get_used(vq, &len, &cookie)) == 1) {
			struct slot *s = cookie;

			complete(w, s);
			got++;
			if (!stopping) {
				err = submit(w, s);
				if (err) {
					fprintf(stderr, "vsng-load: q%d: resubmit: %s\n",
						w->q, strerror(-err));
					w->fail = 1;
					stopping = true;
				}
			}
		}
		if (err < 0) {
			w->fail = 1;
			break;
		}
		if (got && !stopping)
			vsng_vq_kick(vq, false);
		if (!got && stopping) {
			/* the target lost commands: give up after 10 s */
			deadline = now_ns() + 10000000000ULL;
			while (w->inflight && now_ns() < deadline) {
				if (vsng_vq_wait(vq, 200) || o.poll)
					break;
			}
			if (now_ns() >= deadline) {
				fprintf(stderr, "vsng-load: q%d: %d commands never completed\n",
					w->q, w->inflight);
				w->fail = 1;
				break;
			}
		}
	}
	return NULL;
}

/* ---- snapshots ------------------------------------------------------------ */
struct snap {
	uint64_t t;
	uint64_t ios, rios, wios, bytes, errors;
	uint64_t kicks, irqs;
	uint64_t cpu_busy, cpu_total;	/* jiffies, all CPUs */
	bool have_stats;
	struct vhost_scsi_ng_vq_stats st;	/* summed over request queues */
	uint64_t insns_mark;
};

static void read_cpu(uint64_t *busy, uint64_t *total)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int i;

	*busy = *total = 0;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
		   &v[8], &v[9]) >= 8) {
		/* guest and guest_nice are already in user and nice */
		for (i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4];
	}
	fclose(f);
}

static void take(struct snap *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->t = now_ns();
	for (i = 0; i < o.queues; i++) {
		struct worker *w = &workers[i];

		s->ios += atomic_load(&w->ios);
		s->rios += atomic_load(&w->rios);
		s->wios += atomic_load(&w->wios);
		s->bytes += atomic_load(&w->bytes);
		s->errors += atomic_load(&w->errors);
		s->kicks += w->vq->kicks;
		s->irqs += w->vq->interrupts;
	}
	read_cpu(&s->cpu_busy, &s->cpu_total);
	s->have_stats = true;
	for (i = 0; i < o.queues; i++) {
		struct vhost_scsi_ng_vq_stats st;

		if (vsng_vq_stats(&env.d, VSNG_VQ_REQ + i, &st)) {
			s->have_stats = false;
			break;
		}
		s->st.requests += st.requests;
		s->st.completions += st.completions;
		s->st.used_idx_writes += st.used_idx_writes;
		s->st.used_elems += st.used_elems;
		s->st.interrupts += st.interrupts;
		s->st.kicks += st.kicks;
		s->st.poll_hits += st.poll_hits;
		s->st.errors += st.errors;
		s->st.coalesced += st.coalesced;
	}
}

/* Last "MARK id total" line of the plugin's log; 0 if none. */
static uint64_t insn_mark(const char *path, int id)
{
	char line[256];
	uint64_t v = 0, total;
	unsigned int mid, cpu;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MARK %u %" SCNu64 " %u", &mid, &total,
			   &cpu) == 3 && (int)mid == id)
			v = total;
	fclose(f);
	return v;
}

/* ---- set-up ----------------------------------------------------------------*/
static int read_capacity(void)
{
	struct vsng_vq *vq = &env.d.vq[VSNG_VQ_REQ];
	struct vsng_cmd c = { 0 };
	uint8_t cdb[16] = { 0x9e, 0x10 };	/* READ CAPACITY (16) */
	uint8_t *buf = vsng_alloc(&env.d, 0, 32, 64);
	int err, i;

	if (!buf)
		return -ENOMEM;
	cdb[13] = 32;
	vsng_cmd_init(&c, VSNG_TPGT, 0);
	err = vsng_scsi(vq, &c, cdb, 16, 0, 0, vsng_gpa(&env.d, buf), 32);
	if (err)
		return err;
	if (!RESP_OK(&c) || c.rsp.status)
		return -EIO;
	cap_blocks = 0;
	for (i = 0; i < 8; i++)
		cap_blocks = cap_blocks << 8 | buf[i];
	cap_blocks++;
	blk_size = (uint32_t)buf[8] << 24 | buf[9] << 16 | buf[10] << 8 |
		   buf[11];
	if (!blk_size || blk_size > o.bs || o.bs % blk_size)
		return -EINVAL;
	return 0;
}

static int attach_workers(void)
{
	int i, err;

	for (i = 0; i < o.queues; i++) {
		struct vhost_worker_state ws = { 0 };
		struct vhost_vring_worker vw = { 0 };

		err = vsng_ioctl(&env.d, VHOST_NEW_WORKER, &ws);
		if (err)
			return err;
		vw.index = VSNG_VQ_REQ + i;
		vw.worker_id = ws.worker_id;
		err = vsng_ioctl(&env.d, VHOST_ATTACH_VRING_WORKER, &vw);
		if (err)
			return err;
	}
	return 0;
}

/*
 * NAME=VALUE into DIR/attrib/NAME: the TPG's (--tpg-attr) or the LUN's
 * backstore's (--dev-attr), before SET_ENDPOINT.
 */
static int set_attr(const char *dir, const char *spec)
{
	char path[512], name[64];
	const char *eq = strchr(spec, '=');
	size_t n;
	int err;

	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(name) ||
	    strchr(spec, '/')) {
		fprintf(stderr, "vsng-load: attribute %s: want NAME=VALUE\n", spec);
		return -EINVAL;
	}
	n = eq - spec;
	memcpy(name, spec, n);
	name[n] = 0;
	snprintf(path, sizeof(path), "%s/attrib/%s", dir, name);
	err = vsng_sysfs_write(path, eq + 1);
	if (err)
		fprintf(stderr, "vsng-load: %s = %s: %s\n", path, eq + 1,
			strerror(-err));
	return err;
}

static int setup(void)
{
	struct vsng_dev_opts dopts = { 0 };
	char dir[400];
	size_t need;
	int err, i, j;

	env.d.fd = -1;
	vsng_target_init(&env.t, vsng_test_id());
	env.t.size_mb = o.size_mb;
	err = vsng_target_create(&env.t, 1);
	if (err) {
		fprintf(stderr, "vsng-load: LIO target (%s/%s, backend %s): %s\n",
			env.t.fabric, env.t.wwpn, env.t.backend, strerror(-err));
		return err;
	}
	vsng_target_tpg_path(&env.t, dir, sizeof(dir));
	for (i = 0; i < o.ntpg_attr; i++) {
		err = set_attr(dir, o.tpg_attr[i]);
		if (err)
			return err;
	}
	vsng_target_dev_path(&env.t, 0, dir, sizeof(dir));
	for (i = 0; i < o.ndev_attr; i++) {
		err = set_attr(dir, o.dev_attr[i]);
		if (err)
			return err;
	}
	dopts.nreq = o.queues;
	dopts.ring = o.ring;
	dopts.in_order = o.in_order;
	dopts.req_size = 256;
	while ((int)dopts.req_size < 4 * o.qd)
		dopts.req_size *= 2;
	err = vsng_dev_init(&env.d, &dopts);
	if (err) {
		fprintf(stderr, "vsng-load: device %s: %s\n", vsng_dev_path(),
			strerror(-err));
		return err;
	}
	if (o.new_workers) {
		err = attach_workers();
		if (err) {
			fprintf(stderr, "vsng-load: VHOST_NEW_WORKER/ATTACH: %s\n",
				strerror(-err));
			return err;
		}
	}
	err = vsng_dev_set_endpoint(&env.d, env.t.wwpn);
	if (err) {
		fprintf(stderr, "vsng-load: SET_ENDPOINT: %s\n", strerror(-err));
		return err;
	}
	vsng_clear_ua(&env.d.vq[VSNG_VQ_REQ], 0);
	err = read_capacity();
	if (err) {
		fprintf(stderr, "vsng-load: READ CAPACITY: %s\n", strerror(-err));
		return err;
	}
	if (cap_blocks * blk_size < o.bs * 2ULL) {
		fprintf(stderr, "vsng-load: LUN too small\n");
		return -EINVAL;
	}
	need = (size_t)o.queues * o.qd * o.bs;
	workers = calloc(o.queues, sizeof(*workers));
	if (!workers)
		return -ENOMEM;
	for (i = 0; i < o.queues; i++) {
		struct worker *w = &workers[i];

		w->q = i;
		w->vq = &env.d.vq[VSNG_VQ_REQ + i];
		w->rnd = 0x9e3779b97f4a7c15ULL * (i + 1);
		w->seq_lba = (cap_blocks / o.queues) * i /
			     (o.bs / blk_size) * (o.bs / blk_size);
		w->slots = calloc(o.qd, sizeof(*w->slots));
		if (!w->slots)
			return -ENOMEM;
		for (j = 0; j < o.qd; j++) {
			struct slot *s = &w->slots[j];

			s->req = vsng_alloc(&env.d, 0, sizeof(*s->req), 64);
			s->resp = vsng_alloc(&env.d, 0, sizeof(*s->resp), 64);
			s->buf = vsng_alloc(&env.d, 0, o.bs, 4096);
			if (!s->buf)
				s->buf = vsng_alloc(&env.d, 2, o.bs, 4096);
			if (!s->req || !s->resp || !s->buf) {
				fprintf(stderr, "vsng-load: out of guest memory (%zu bytes of buffers)\n",
					need);
				return -ENOMEM;
			}
			memset(s->req, 0, sizeof(*s->req));
			vsng_lun_encode(s->req->lun, VSNG_TPGT, 0);
			s->req->tag = ((uint64_t)i << 32) | ((uint64_t)j << 16);
			vsng_fill(s->buf, o.bs, i * 1000 + j);
		}
	}
	return 0;
}

/* ---- output ----------------------------------------------------------------*/
static uint64_t pct(const uint64_t *h, uint64_t n, double p)
{
	uint64_t want = (uint64_t)ceil(n * p / 100.0), acc = 0;
	int b;

	if (!n)
		return 0;
	if (!want)
		want = 1;
	for (b = 0; b < HBUCKETS; b++) {
		acc += h[b];
		if (acc >= want)
			return hvalue(b);
	}
	return hvalue(HBUCKETS - 1);
}

static const char *target_name(void)
{
	const char *t = getenv("TARGET");

	if (t && *t)
		return t;
	return vsng_target_is_ours() ? "ours" : "intree";
}

static void jnum(FILE *f, const char *k, double v, bool ok, bool last)
{
	if (ok && isfinite(v))
		fprintf(f, "  \"%s\": %.6g%s\n", k, v, last ? "" : ",");
	else
		fprintf(f, "  \"%s\": null%s\n", k, last ? "" : ",");
}

static int report(const struct snap *a, const struct snap *b)
{
	uint64_t hist[HBUCKETS] = { 0 }, lat_sum = 0, lat_n = 0, lat_max = 0;
	double secs = (b->t - a->t) / 1e9;
	uint64_t ios = b->ios - a->ios;
	double dios = ios ? (double)ios : NAN;
	double iops = ios / secs, mbps = (b->bytes - a->bytes) / secs / 1e6;
	double kicks = (b->kicks - a->kicks) / dios;
	double irqs = (b->irqs - a->irqs) / dios;
	double cpu = (b->cpu_busy - a->cpu_busy) / (double)sysconf(_SC_CLK_TCK);
	double cpu_io = cpu / dios;
	bool st = a->have_stats && b->have_stats;
	double uiw = st ? (b->st.used_idx_writes - a->st.used_idx_writes) / dios : NAN;
	double ue = st ? (b->st.used_elems - a->st.used_elems) / dios : NAN;
	bool inord = !!(env.d.features & VSNG_F_IN_ORDER);
	double tk = st ? (b->st.kicks - a->st.kicks) / dios : NAN;
	double ti = st ? (b->st.interrupts - a->st.interrupts) / dios : NAN;
	double tp = st ? (b->st.poll_hits - a->st.poll_hits) / dios : NAN;
	double tc = st ? (b->st.coalesced - a->st.coalesced) / dios : NAN;
	double insn = NAN;
	uint64_t i0 = 0, i1 = 0;
	int i, j;

	for (i = 0; i < o.queues; i++) {
		for (j = 0; j < HBUCKETS; j++)
			hist[j] += workers[i].hist[j];
		lat_sum += workers[i].lat_sum;
		lat_n += workers[i].lat_n;
		if (workers[i].lat_max > lat_max)
			lat_max = workers[i].lat_max;
	}
	if (o.mark >= 0 && o.insn_log) {
		i0 = insn_mark(o.insn_log, o.mark);
		i1 = insn_mark(o.insn_log, o.mark + 1);
		if (i0 && i1 > i0)
			insn = (i1 - i0) / dios;
	}

	if (!o.quiet) {
		printf("# vsng-load %s target=%s dev=%s fabric=%s backend=%s ring=%s%s\n",
		       o.label, target_name(), vsng_dev_path(), vsng_fabric(),
		       env.t.backend, vsng_ring_name(&env.d),
		       inord ? " in_order" : "");
		printf("# %s bs=%u queues=%d qd=%d %s%s runtime=%.1fs lun=%" PRIu64 "x%u\n",
		       rw_names[o.rw], o.bs, o.queues, o.qd,
		       o.poll ? "polled" : "interrupts",
		       o.new_workers ? " new-workers" : "", secs, cap_blocks,
		       blk_size);
		printf("%-22s %12.0f\n", "IOPS", iops);
		printf("%-22s %12.2f\n", "MB/s", mbps);
		printf("%-22s %12.1f us\n", "lat mean",
		       lat_n ? lat_sum / 1e3 / lat_n : 0);
		printf("%-22s %12.1f us\n", "lat p50", pct(hist, lat_n, 50) / 1e3);
		printf("%-22s %12.1f us\n", "lat p99", pct(hist, lat_n, 99) / 1e3);
		printf("%-22s %12.1f us\n", "lat p99.9",
		       pct(hist, lat_n, 99.9) / 1e3);
		printf("%-22s %12.4f\n", "kicks/IO (driver)", kicks);
		printf("%-22s %12.4f\n", "interrupts/IO (driver)", irqs);
		if (st) {
			printf("%-22s %12.4f\n", "used idx writes/IO", uiw);
			printf("%-22s %12.4f\n", "used elems/IO", ue);
			printf("%-22s %12.4f\n", "kicks/IO (target)", tk);
			printf("%-22s %12.4f\n", "interrupts/IO (target)", ti);
			printf("%-22s %12.4f\n", "poll hits/IO", tp);
		} else {
			printf("%-22s %12s\n", "used idx writes/IO", "n/a");
		}
		printf("%-22s %12.2f us\n", "CPU/IO (whole guest)", cpu_io * 1e6);
		if (!isnan(insn))
			printf("%-22s %12.0f\n", "guest insns/IO", insn);
		printf("%-22s %12" PRIu64 "\n", "I/Os", ios);
		printf("%-22s %12" PRIu64 "\n", "errors", b->errors - a->errors);
	}
	if (o.json) {
		FILE *f = fopen(o.json, "w");

		if (!f) {
			perror(o.json);
			return 1;
		}
		fprintf(f, "{\n  \"tool\": \"vsng-load\",\n  \"label\": \"%s\",\n", o.label);
		fprintf(f, "  \"target\": \"%s\",\n  \"dev\": \"%s\",\n  \"fabric\": \"%s\",\n",
			target_name(), vsng_dev_path(), vsng_fabric());
		fprintf(f, "  \"backend\": \"%s\",\n  \"rw\": \"%s\",\n",
			env.t.backend, rw_names[o.rw]);
		fprintf(f, "  \"ring\": \"%s\",\n", vsng_ring_name(&env.d));
		fprintf(f, "  \"in_order\": %s,\n", inord ? "true" : "false");
		fprintf(f, "  \"bs\": %u,\n  \"queues\": %d,\n  \"qd\": %d,\n  \"rwmix_read\": %d,\n",
			o.bs, o.queues, o.qd, o.rwmix);
		fprintf(f, "  \"poll\": %s,\n  \"new_workers\": %s,\n",
			o.poll ? "true" : "false", o.new_workers ? "true" : "false");
		fprintf(f, "  \"ios\": %" PRIu64 ",\n  \"read_ios\": %" PRIu64 ",\n  \"write_ios\": %" PRIu64 ",\n",
			ios, b->rios - a->rios, b->wios - a->wios);
		fprintf(f, "  \"errors\": %" PRIu64 ",\n", b->errors - a->errors);
		jnum(f, "seconds", secs, true, false);
		jnum(f, "iops", iops, true, false);
		jnum(f, "mbps", mbps, true, false);
		jnum(f, "lat_mean_us", lat_n ? lat_sum / 1e3 / lat_n : NAN, true, false);
		jnum(f, "lat_p50_us", pct(hist, lat_n, 50) / 1e3, lat_n, false);
		jnum(f, "lat_p99_us", pct(hist, lat_n, 99) / 1e3, lat_n, false);
		jnum(f, "lat_p999_us", pct(hist, lat_n, 99.9) / 1e3, lat_n, false);
		jnum(f, "lat_max_us", lat_max / 1e3, lat_n, false);
		jnum(f, "kicks_per_io", kicks, true, false);
		jnum(f, "interrupts_per_io", irqs, true, false);
		jnum(f, "notifications_per_io", kicks + irqs, true, false);
		jnum(f, "used_idx_writes_per_io", uiw, st, false);
		jnum(f, "used_elems_per_io", ue, st, false);
		jnum(f, "target_kicks_per_io", tk, st, false);
		jnum(f, "target_interrupts_per_io", ti, st, false);
		jnum(f, "target_poll_hits_per_io", tp, st, false);
		jnum(f, "target_coalesced_per_io", tc, st, false);
		jnum(f, "cpu_busy_s", cpu, true, false);
		jnum(f, "cpu_us_per_io", cpu_io * 1e6, true, false);
		jnum(f, "insns", (double)(i1 - i0), !isnan(insn), false);
		jnum(f, "insns_per_io", insn, !isnan(insn), true);
		fprintf(f, "}\n");
		fclose(f);
	}
	return 0;
}

/* ---- main ------------------------------------------------------------------*/
static uint32_t parse_size(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*end == 'k' || *end == 'K')
		v <<= 10;
	else if (*end == 'm' || *end == 'M')
		v <<= 20;
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vsng-load [--queues N] [--qd N] [--bs SIZE] [--rw read|write|randread|randwrite|randrw|rw]\n"
		"                 [--rwmix PCT] [--runtime S] [--ramp S] [--poll] [--new-workers]\n"
		"                 [--size-mb MB] [--no-indirect] [--label NAME] [--json FILE]\n"
		"                 [--ring split|packed] [--in-order]\n"
		"                 [--mark ID] [--insn-log FILE] [--quiet] [--hold S]\n"
		"                 [--tpg-attr NAME=VALUE]... [--dev-attr NAME=VALUE]...\n"
		"                 (the TPG's or the LUN backstore's attrib/NAME, set before SET_ENDPOINT)\n");
	exit(2);
}

static void on_signal(int sig)
{
	atomic_fetch_add(&signalled, 1);
	atomic_store(&stop_flag, 1);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "queues", 1, 0, 'q' }, { "qd", 1, 0, 'd' },
		{ "bs", 1, 0, 'b' }, { "rw", 1, 0, 'w' },
		{ "rwmix", 1, 0, 'm' }, { "runtime", 1, 0, 't' },
		{ "ramp", 1, 0, 'r' }, { "poll", 0, 0, 'p' },
		{ "new-workers", 0, 0, 'n' }, { "size-mb", 1, 0, 's' },
		{ "no-indirect", 0, 0, 'I' }, { "label", 1, 0, 'l' },
		{ "json", 1, 0, 'j' }, { "mark", 1, 0, 'M' },
		{ "insn-log", 1, 0, 'L' }, { "quiet", 0, 0, 'Q' },
		{ "tpg-attr", 1, 0, 'A' }, { "dev-attr", 1, 0, 'D' },
		{ "hold", 1, 0, 'H' }, { "ring", 1, 0, 'R' },
		{ "in-order", 0, 0, 'O' },
		{ "help", 0, 0, 'h' }, { 0 }
	};
	struct snap a = { 0 }, b = { 0 };
	int c, i, rc = 0, err;
	double left;
	bool found;

	o.insn_log = getenv("VSNG_INSN_LOG");
	while ((c = getopt_long(argc, argv, "q:d:b:w:m:t:r:pns:Il:j:M:L:QA:D:H:R:Oh",
				lo, NULL)) != -1) {
		switch (c) {
		case 'q': o.queues = atoi(optarg); break;
		case 'd': o.qd = atoi(optarg); break;
		case 'b': o.bs = parse_size(optarg); break;
		case 'w':
			found = false;
			for (i = 0; i < (int)(sizeof(rw_names) / sizeof(rw_names[0])); i++)
				if (!strcmp(optarg, rw_names[i])) {
					o.rw = i;
					found = true;
				}
			if (!found)
				usage();
			break;
		case 'm': o.rwmix = atoi(optarg); break;
		case 't': o.runtime = atof(optarg); break;
		case 'r': o.ramp = atof(optarg); break;
		case 'p': o.poll = true; break;
		case 'n': o.new_workers = true; break;
		case 's': o.size_mb = atoi(optarg); break;
		case 'I': o.indirect = false; break;
		case 'l': o.label = optarg; break;
		case 'j': o.json = optarg; break;
		case 'M': o.mark = atoi(optarg); break;
		case 'L': o.insn_log = optarg; break;
		case 'Q': o.quiet = true; break;
		case 'H': o.hold = atof(optarg); break;
		case 'O': o.in_order = true; break;
		case 'R':
			o.ring = !strcmp(optarg, "packed") ? VSNG_RING_PACKED :
				 VSNG_RING_SPLIT;
			break;
		case 'A':
			if (o.ntpg_attr == (int)(sizeof(o.tpg_attr) / sizeof(o.tpg_attr[0])))
				usage();
			o.tpg_attr[o.ntpg_attr++] = optarg;
			break;
		case 'D':
			if (o.ndev_attr == (int)(sizeof(o.dev_attr) / sizeof(o.dev_attr[0])))
				usage();
			o.dev_attr[o.ndev_attr++] = optarg;
			break;
		default: usage();
		}
	}
	if (o.queues < 1 || o.queues > VSNG_MAX_VQS - 2 || o.qd < 1 ||
	    o.qd > 1024 || o.bs < 512 || o.bs > (1 << 20) || o.bs % 512 ||
	    o.rwmix < 0 || o.rwmix > 100 || o.runtime <= 0 || o.mark > 254)
		usage();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	err = setup();
	if (err) {
		rc = 1;
		goto out;
	}
	for (i = 0; i < o.queues; i++) {
		if (pthread_create(&workers[i].th, NULL, worker_fn, &workers[i])) {
			fprintf(stderr, "vsng-load: pthread_create failed\n");
			atomic_store(&stop_flag, 1);
			o.queues = i;
			rc = 1;
			break;
		}
	}
	if (!rc) {
		usleep((useconds_t)(o.ramp * 1e6));
		atomic_store(&measuring, 1);
		take(&a);
		if (o.mark >= 0)
			vsng_mark(o.mark);
		/* In steps: a signal may land on a worker thread instead. */
		for (left = o.runtime; left > 0 && !atomic_load(&stop_flag);
		     left -= 0.1)
			usleep((useconds_t)(fmin(left, 0.1) * 1e6));
		if (o.mark >= 0)
			vsng_mark(o.mark + 1);
		take(&b);
		atomic_store(&measuring, 0);
	}
	atomic_store(&stop_flag, 1);
	for (i = 0; i < o.queues; i++) {
		pthread_join(workers[i].th, NULL);
		if (workers[i].fail)
			rc = 1;
	}
	if (o.queues && workers && !(rc && !b.t)) {
		if (report(&a, &b))
			rc = 1;
		if (b.errors - a.errors)
			rc = 1;
	}
	fflush(stdout);
	err = atomic_load(&signalled);
	for (i = 0; i < o.hold * 10 && atomic_load(&signalled) == err; i++)
		usleep(100000);
out:
	if (env.d.fd >= 0) {
		if (env.d.endpoint)
			vsng_dev_clear_endpoint(&env.d);
		vsng_dev_close(&env.d);
	}
	vsng_target_destroy(&env.t);
	return rc;
}
