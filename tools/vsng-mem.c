// SPDX-License-Identifier: GPL-2.0
/*
 * vsng-mem: the kernel memory one vhost-scsi device costs (issue 19).
 *
 * Runs inside the test guest, with both targets loaded side by side (as
 * scripts/bench-guest.sh does).  For each configuration Q x N (Q request
 * queues of N ring entries) and each target it plays a VMM with the
 * selftest driver library: open the device, SET_OWNER, features, memory
 * table, control and event queue (128 entries each), Q request queues,
 * SET_ENDPOINT on a LIO TPG with one rd_mcp LUN.  Then it reads what the
 * kernel holds more than before the open, and closes the device.
 *
 *   vsng-mem [--targets "ours intree"] [--configs 1x128,4x256,16x1024]
 *            [--reps N] [--settle-ms MS] [--ours DEV,FABRIC]
 *            [--intree DEV,FABRIC] [--json FILE]
 *
 * Method (the numbers are differences of system-wide counters, so the
 * rest of the guest is noise; keep it idle):
 *   - A snapshot of /proc/meminfo and /proc/vmstat right before the open
 *     (after settle-ms of quiet), another settle-ms after SET_ENDPOINT.
 *   - total = delta Slab (SReclaimable + SUnreclaim; kmalloc above the
 *     slab sizes is counted there too) + delta VmallocUsed (kvmalloc
 *     fall-backs, vmalloc'ed kernel stacks of new workers) + pinned
 *     pages (delta of nr_foll_pin_acquired - nr_foll_pin_released).
 *   - KernelStack is shown apart: with CONFIG_VMAP_STACK it is already
 *     inside VmallocUsed, unless a cached stack was reused.
 *   - "by MemFree" is a cross-check that needs no attribution: the drop
 *     of MemFree less the growth of AnonPages, Cached, Buffers and
 *     PageTables.  Per-CPU page lists make it noisier.
 *   - The VMM side's own memory is kept out: the guest-memory mapping
 *     and the eventfds are made once, before any snapshot, and reused.
 *   - Every configuration is repeated --reps times, the targets
 *     alternating (A B A B ...); the figures are medians with min-max.
 *   - A "noise" run takes the two snapshots with no device at all.
 * A target that fails to set up (in-tree's preallocation can run out of
 * memory) is reported with the failing step and errno.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "vsng_drv.h"
#include "vsng_test.h"

#define MAX_CONF	16
#define MAX_REPS	32
#define MAX_TGT		2

enum { F_SLAB, F_SUNRECL, F_VMALLOC, F_KSTACK, F_PINNED, F_MEMFREE,
       F_TOTAL, NFIELDS };
static const char *const fnames[NFIELDS] = {
	"slab_kib", "sunreclaim_kib", "vmalloc_kib", "kstack_kib",
	"pinned_kib", "by_memfree_kib", "total_kib",
};

struct snap {
	long long sreclaim, sunreclaim, vmalloc, kstack, pagetables;
	long long memfree, anon, cached, buffers;
	long long pin_acq, pin_rel;	/* pages */
};

struct tgt {
	const char *name;
	char dev[128];
	char fabric[32];
	struct vsng_target t;
	bool made;
};

struct conf {
	int queues;
	unsigned int entries;
};

struct cell {
	int n;
	long long v[NFIELDS][MAX_REPS];
	char err[160];
};

static struct tgt tgts[MAX_TGT];
static int ntgt;
static struct conf confs[MAX_CONF];
static int nconf;
static struct cell cells[MAX_CONF][MAX_TGT];
static struct cell noise;
static int reps = 5;
static int settle_ms = 300;

/* Made once, reused by every device: not part of the device's cost. */
static struct vsng_mem gmem;
static int efd[VSNG_MAX_VQS][3];

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int read_snap(struct snap *s)
{
	char line[256], key[64];
	long long v;
	FILE *f;

	memset(s, 0, sizeof(*s));
	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^:]: %lld", key, &v) != 2)
			continue;
		if (!strcmp(key, "SReclaimable"))
			s->sreclaim = v;
		else if (!strcmp(key, "SUnreclaim"))
			s->sunreclaim = v;
		else if (!strcmp(key, "VmallocUsed"))
			s->vmalloc = v;
		else if (!strcmp(key, "KernelStack"))
			s->kstack = v;
		else if (!strcmp(key, "PageTables"))
			s->pagetables = v;
		else if (!strcmp(key, "MemFree"))
			s->memfree = v;
		else if (!strcmp(key, "AnonPages"))
			s->anon = v;
		else if (!strcmp(key, "Cached"))
			s->cached = v;
		else if (!strcmp(key, "Buffers"))
			s->buffers = v;
	}
	fclose(f);
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", key, &v) != 2)
			continue;
		if (!strcmp(key, "nr_foll_pin_acquired"))
			s->pin_acq = v;
		else if (!strcmp(key, "nr_foll_pin_released"))
			s->pin_rel = v;
	}
	fclose(f);
	return 0;
}

static void add_delta(struct cell *c, const struct snap *a,
		      const struct snap *b)
{
	long long pinned = ((b->pin_acq - b->pin_rel) -
			    (a->pin_acq - a->pin_rel)) * (getpagesize() / 1024);
	long long slab = (b->sreclaim + b->sunreclaim) -
			 (a->sreclaim + a->sunreclaim);
	long long vm = b->vmalloc - a->vmalloc;
	long long other = (b->anon - a->anon) + (b->cached - a->cached) +
			  (b->buffers - a->buffers) +
			  (b->pagetables - a->pagetables);

	if (c->n >= MAX_REPS)
		return;
	c->v[F_SLAB][c->n] = slab;
	c->v[F_SUNRECL][c->n] = b->sunreclaim - a->sunreclaim;
	c->v[F_VMALLOC][c->n] = vm;
	c->v[F_KSTACK][c->n] = b->kstack - a->kstack;
	c->v[F_PINNED][c->n] = pinned;
	c->v[F_MEMFREE][c->n] = (a->memfree - b->memfree) - other;
	c->v[F_TOTAL][c->n] = slab + vm + pinned;
	c->n++;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Median (the lower one of an even count), min and max of n values. */
static void stats(const long long *v, int n, long long *med, long long *lo,
		  long long *hi)
{
	long long s[MAX_REPS];

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_ll);
	*med = s[(n - 1) / 2];
	*lo = s[0];
	*hi = s[n - 1];
}

static void dev_teardown(struct vsng_dev *d)
{
	uint64_t x;
	int i;

	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	for (i = 0; i < VSNG_MAX_VQS; i++) {
		struct vsng_vq *vq = &d->vq[i];

		vsng_vq_free_shadow(vq);
		vq->kick_fd = vq->call_fd = vq->err_fd = -1;
	}
	/* Leave the reused eventfds empty for the next device. */
	for (i = 0; i < VSNG_MAX_VQS; i++)
		for (int j = 0; j < 3; j++)
			while (read(efd[i][j], &x, sizeof(x)) == sizeof(x))
				;
}

/*
 * vsng_dev_init()'s steps, but with the guest memory and the eventfds
 * made beforehand.  On failure: the step that failed in @err.
 */
static int dev_setup(struct vsng_dev *d, struct tgt *t, const struct conf *c,
		     char *err, size_t errlen)
{
	const char *step;
	uint64_t want;
	int ret, i;

	step = "open";
	ret = vsng_dev_open(d, t->dev);
	if (ret)
		goto fail;
	for (i = 0; i < VSNG_MAX_VQS; i++) {
		d->vq[i].kick_fd = efd[i][0];
		d->vq[i].call_fd = efd[i][1];
		d->vq[i].err_fd = efd[i][2];
	}
	step = "SET_OWNER";
	ret = vsng_ioctl(d, VHOST_SET_OWNER, NULL);
	if (ret)
		goto fail;
	step = "GET_FEATURES";
	ret = vsng_ioctl(d, VHOST_GET_FEATURES, &d->offered);
	if (ret)
		goto fail;
	want = d->offered & (VSNG_F_VERSION_1 | VSNG_F_ANY_LAYOUT |
			     VSNG_F_INDIRECT | VSNG_F_EVENT_IDX |
			     VSNG_F_HOTPLUG);
	step = "SET_FEATURES";
	ret = vsng_ioctl(d, VHOST_SET_FEATURES, &want);
	if (ret)
		goto fail;
	d->features = want;
	d->mem = gmem;
	step = "SET_MEM_TABLE";
	ret = vsng_mem_set_table(d);
	if (ret)
		goto fail;
	step = "SET_VRING_*";
	ret = vsng_vq_setup(d, VSNG_VQ_CTL, 128);
	if (!ret)
		ret = vsng_vq_setup(d, VSNG_VQ_EVT, 128);
	for (i = 0; !ret && i < c->queues; i++)
		ret = vsng_vq_setup(d, VSNG_VQ_REQ + i, c->entries);
	if (ret)
		goto fail;
	step = "SET_ENDPOINT";
	ret = vsng_dev_set_endpoint(d, t->t.wwpn);
	if (ret)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", step, strerror(-ret));
	return ret;
}

static void one(struct tgt *t, const struct conf *c, struct cell *cell)
{
	struct vsng_dev d = { .fd = -1 };
	struct snap a, b;
	char err[160];

	msleep(settle_ms);
	if (read_snap(&a))
		return;
	if (dev_setup(&d, t, c, err, sizeof(err))) {
		if (!cell->err[0])
			snprintf(cell->err, sizeof(cell->err), "%s", err);
		fprintf(stderr, "vsng-mem: %s %dx%u: %s\n", t->name, c->queues,
			c->entries, err);
		dev_teardown(&d);
		return;
	}
	msleep(settle_ms);
	if (!read_snap(&b))
		add_delta(cell, &a, &b);
	dev_teardown(&d);
}

static int parse_tgt(struct tgt *t, const char *name, const char *spec)
{
	const char *comma = strchr(spec, ',');

	if (!comma || comma == spec || comma - spec >= (int)sizeof(t->dev) ||
	    strlen(comma + 1) >= sizeof(t->fabric)) {
		fprintf(stderr, "vsng-mem: --%s wants DEV,FABRIC\n", name);
		return -1;
	}
	snprintf(t->dev, sizeof(t->dev), "%.*s", (int)(comma - spec), spec);
	snprintf(t->fabric, sizeof(t->fabric), "%s", comma + 1);
	return 0;
}

static void print_cell(FILE *f, const struct cell *c, bool json)
{
	long long m, lo, hi;
	int i;

	for (i = 0; i < NFIELDS; i++) {
		if (!c->n) {
			if (json)
				fprintf(f, ", \"%s\": null", fnames[i]);
			else
				printf(" %20s", "-");
			continue;
		}
		stats(c->v[i], c->n, &m, &lo, &hi);
		if (json)
			fprintf(f, ", \"%s\": {\"median\": %lld, \"min\": %lld, \"max\": %lld}",
				fnames[i], m, lo, hi);
		else
			printf(" %8lld (%lld..%lld)", m, lo, hi);
	}
}

static void write_json(const char *path)
{
	FILE *f = fopen(path, "w");
	int i, k, r;

	if (!f) {
		perror(path);
		return;
	}
	fprintf(f, "{\"reps\": %d, \"settle_ms\": %d, \"noise\": {\"n\": %d",
		reps, settle_ms, noise.n);
	print_cell(f, &noise, true);
	fprintf(f, "}, \"results\": [\n");
	for (i = 0; i < nconf; i++) {
		for (k = 0; k < ntgt; k++) {
			const struct cell *c = &cells[i][k];

			fprintf(f, "%s{\"target\": \"%s\", \"device\": \"%s\", \"queues\": %d, \"entries\": %u, \"ok\": %s, \"n\": %d, \"error\": ",
				i || k ? ",\n" : "", tgts[k].name, tgts[k].dev,
				confs[i].queues, confs[i].entries,
				c->n == reps ? "true" : "false", c->n);
			if (c->err[0])
				fprintf(f, "\"%s\"", c->err);
			else
				fprintf(f, "null");
			print_cell(f, c, true);
			fprintf(f, ", \"raw_total_kib\": [");
			for (r = 0; r < c->n; r++)
				fprintf(f, "%s%lld", r ? ", " : "",
					c->v[F_TOTAL][r]);
			fprintf(f, "]}");
		}
	}
	fprintf(f, "\n]}\n");
	fclose(f);
}

static int parse_confs(const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int q;
	unsigned int n;

	for (tok = strtok_r(copy, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (nconf >= MAX_CONF || sscanf(tok, "%dx%u", &q, &n) != 2 ||
		    q < 1 || q > VSNG_MAX_VQS - 2 || !n || n > 32768 ||
		    (n & (n - 1))) {
			fprintf(stderr, "vsng-mem: bad configuration %s (QxN, N a power of 2)\n",
				tok);
			free(copy);
			return -1;
		}
		confs[nconf].queues = q;
		confs[nconf].entries = n;
		nconf++;
	}
	free(copy);
	return nconf ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "targets", required_argument, NULL, 't' },
		{ "configs", required_argument, NULL, 'c' },
		{ "reps", required_argument, NULL, 'r' },
		{ "settle-ms", required_argument, NULL, 's' },
		{ "ours", required_argument, NULL, 'O' },
		{ "intree", required_argument, NULL, 'I' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *targets = "ours intree", *json = NULL;
	struct tgt ours = { .name = "ours" }, intree = { .name = "intree" };
	int opt, i, k, r, fail = 0;

	snprintf(ours.dev, sizeof(ours.dev), "/dev/vhost-scsi-ng");
	snprintf(ours.fabric, sizeof(ours.fabric), "vhost_ng");
	snprintf(intree.dev, sizeof(intree.dev), "/dev/vhost-scsi");
	snprintf(intree.fabric, sizeof(intree.fabric), "vhost");
	parse_confs("1x128,4x256,16x1024");
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 't':
			targets = optarg;
			break;
		case 'c':
			nconf = 0;
			if (parse_confs(optarg))
				return 2;
			break;
		case 'r':
			reps = atoi(optarg);
			if (reps < 1 || reps > MAX_REPS)
				return 2;
			break;
		case 's':
			settle_ms = atoi(optarg);
			break;
		case 'O':
			if (parse_tgt(&ours, "ours", optarg))
				return 2;
			break;
		case 'I':
			if (parse_tgt(&intree, "intree", optarg))
				return 2;
			break;
		case 'j':
			json = optarg;
			break;
		default:
			fprintf(stderr, "usage: vsng-mem [--targets \"ours intree\"] [--configs QxN,...] [--reps N] [--settle-ms MS] [--ours DEV,FABRIC] [--intree DEV,FABRIC] [--json FILE]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (strstr(targets, "ours"))
		tgts[ntgt++] = ours;
	if (strstr(targets, "intree"))
		tgts[ntgt++] = intree;
	if (!ntgt)
		return 2;

	/* The VMM side: guest memory and eventfds, before any snapshot. */
	{
		struct vsng_dev tmp = { .fd = -1 };

		if (vsng_mem_create(&tmp)) {
			perror("vsng-mem: guest memory");
			return 1;
		}
		gmem = tmp.mem;
	}
	for (i = 0; i < VSNG_MAX_VQS; i++)
		for (k = 0; k < 3; k++) {
			efd[i][k] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (efd[i][k] < 0) {
				perror("vsng-mem: eventfd");
				return 1;
			}
		}
	for (k = 0; k < ntgt; k++) {
		struct tgt *t = &tgts[k];
		int err;

		vsng_target_init(&t->t, vsng_test_id() + k);
		snprintf(t->t.fabric, sizeof(t->t.fabric), "%s", t->fabric);
		snprintf(t->t.backend, sizeof(t->t.backend), "rd");
		snprintf(t->t.hba, sizeof(t->t.hba), "rd_mcp_%u",
			 1000 + (vsng_test_id() + k) % 8000);
		err = vsng_target_create(&t->t, 1);
		if (err) {
			fprintf(stderr, "vsng-mem: LIO target %s/%s: %s\n",
				t->fabric, t->t.wwpn, strerror(-err));
			fail = 1;
			goto out;
		}
		t->made = true;
	}

	for (r = 0; r < reps; r++) {
		struct snap a, b;

		msleep(settle_ms);
		if (!read_snap(&a)) {
			msleep(settle_ms);
			if (!read_snap(&b))
				add_delta(&noise, &a, &b);
		}
	}
	for (i = 0; i < nconf; i++)
		for (r = 0; r < reps; r++)
			for (k = 0; k < ntgt; k++)
				one(&tgts[k], &confs[i], &cells[i][k]);

	printf("%-8s %-8s %20s %20s %20s %20s %20s %20s %20s\n", "target",
	       "QxN", "slab KiB", "SUnreclaim KiB", "vmalloc KiB",
	       "kstack KiB", "pinned KiB", "by MemFree KiB", "total KiB");
	printf("%-8s %-8s", "none", "-");
	print_cell(stdout, &noise, false);
	printf("\n");
	for (i = 0; i < nconf; i++)
		for (k = 0; k < ntgt; k++) {
			char qn[32];

			snprintf(qn, sizeof(qn), "%dx%u", confs[i].queues,
				 confs[i].entries);
			printf("%-8s %-8s", tgts[k].name, qn);
			print_cell(stdout, &cells[i][k], false);
			if (cells[i][k].err[0])
				printf("  [%s]", cells[i][k].err);
			printf("\n");
		}
	if (json)
		write_json(json);
out:
	for (k = 0; k < ntgt; k++)
		if (tgts[k].made)
			vsng_target_destroy(&tgts[k].t);
	return fail;
}
