// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_fuzz: coverage of our module by KCOV (kernels with CONFIG_KCOV:
 * the debug kernel, where only our module is instrumented).
 *
 * Two KCOV handles, because a thread has one:
 *   - the main thread traces its own syscalls (KCOV_ENABLE): the ioctl
 *     paths and whatever runs in its context;
 *   - an "owner thread" enables remote coverage with a common handle
 *     (KCOV_REMOTE_ENABLE) and is the one that calls SET_OWNER, so the
 *     device's workers (which run every item as a remote section of the
 *     owner's kcov_common_handle(), see drivers/vhost-scsi-ng/worker.c
 *     and the vhost core) report into its area.
 * PCs are kept when they fall in our module's .text: the start from
 * /sys/module/<mod>/sections/.text, the size and the number of
 * __sanitizer_cov_trace_pc call sites from the .ko (fuzz.sh passes them).
 * KCOV canonicalises PCs by the KASLR offset; it is added back.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kcov.h>

#include "fuzz.h"

#define COVER_WORDS	(1 << 18)
#define SET_SIZE	(1 << 17)

static struct {
	bool on;
	unsigned long *self, *remote;
	uint64_t text, size, kaslr, sites, unique;
	uint64_t *set;
	int owner_req[2], owner_rsp[2];
	int remote_fd;
	pthread_t thr;
	int thr_err;
} kc;

static unsigned long *kcov_open(int *fdp)
{
	unsigned long *a;
	int fd = open("/sys/kernel/debug/kcov", O_RDWR);

	if (fd < 0)
		return NULL;
	if (ioctl(fd, KCOV_INIT_TRACE, COVER_WORDS)) {
		close(fd);
		return NULL;
	}
	a = mmap(NULL, COVER_WORDS * sizeof(unsigned long),
		 PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	*fdp = fd;
	return a;
}

/* The owner thread: remote coverage, and SET_OWNER on request. */
static void *owner_thread(void *arg)
{
	struct kcov_remote_arg ra = {
		.trace_mode = KCOV_TRACE_PC,
		.area_size = COVER_WORDS,
		.num_handles = 0,
		.common_handle = 0x100 + (getpid() & 0xffff),
	};
	int fd, r;

	if (ioctl(kc.remote_fd, KCOV_REMOTE_ENABLE, &ra)) {
		kc.thr_err = -errno;
		r = kc.thr_err;
		if (write(kc.owner_rsp[1], &r, sizeof(r)) != sizeof(r))
			return NULL;
		return NULL;
	}
	r = 0;
	if (write(kc.owner_rsp[1], &r, sizeof(r)) != sizeof(r))
		return NULL;
	while (read(kc.owner_req[0], &fd, sizeof(fd)) == sizeof(fd)) {
		r = ioctl(fd, VHOST_SET_OWNER, NULL) ? -errno : 0;
		if (write(kc.owner_rsp[1], &r, sizeof(r)) != sizeof(r))
			break;
	}
	return NULL;
}

int fz_kcov_owner_thread_set_owner(int fd)
{
	int r;

	if (write(kc.owner_req[1], &fd, sizeof(fd)) != sizeof(fd) ||
	    read(kc.owner_rsp[0], &r, sizeof(r)) != sizeof(r))
		return -EIO;
	return r;
}

static uint64_t read_hex(const char *path, const char *sym)
{
	char line[256];
	uint64_t v = 0;
	FILE *fp = fopen(path, "r");

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long a;
		char t, name[128];

		if (!sym) {
			v = strtoull(line, NULL, 16);
			break;
		}
		if (sscanf(line, "%llx %c %127s", &a, &t, name) == 3 &&
		    !strcmp(name, sym)) {
			v = a;
			break;
		}
	}
	fclose(fp);
	return v;
}

/* @spec: "SIZE:SITES" of the module's .text (hex size, decimal sites). */
int fz_kcov_init(const char *mod, const char *spec)
{
	char path[256];
	int self_fd;
	int r;

	if (!spec || sscanf(spec, "%lx:%lu", (unsigned long *)&kc.size,
			    (unsigned long *)&kc.sites) != 2)
		return -EINVAL;
	snprintf(path, sizeof(path), "/sys/module/%s/sections/.text", mod);
	kc.text = read_hex(path, NULL);
	kc.kaslr = read_hex("/proc/kallsyms", "_text");
	if (!kc.text || !kc.kaslr)
		return -ENOENT;
	kc.kaslr -= 0xffffffff81000000ULL;
	kc.set = calloc(SET_SIZE, sizeof(*kc.set));
	kc.self = kcov_open(&self_fd);
	kc.remote = kcov_open(&kc.remote_fd);
	if (!kc.set || !kc.self || !kc.remote)
		return -ENODEV;
	if (pipe(kc.owner_req) || pipe(kc.owner_rsp))
		return -errno;
	if (pthread_create(&kc.thr, NULL, owner_thread, NULL))
		return -EAGAIN;
	if (read(kc.owner_rsp[0], &r, sizeof(r)) != sizeof(r) || r)
		return r ? r : -EIO;
	if (ioctl(self_fd, KCOV_ENABLE, KCOV_TRACE_PC))
		return -errno;
	kc.on = true;
	fz_kcov_reset();
	return 0;
}

bool fz_kcov_on(void)
{
	return kc.on;
}

void fz_kcov_reset(void)
{
	if (!kc.on)
		return;
	__atomic_store_n(&kc.self[0], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&kc.remote[0], 0, __ATOMIC_RELAXED);
}

static int add_pc(uint64_t pc)
{
	uint64_t h = (pc * 0x9e3779b97f4a7c15ULL) >> 47;

	for (;;) {
		h &= SET_SIZE - 1;
		if (kc.set[h] == pc)
			return 0;
		if (!kc.set[h]) {
			kc.set[h] = pc;
			kc.unique++;
			return 1;
		}
		h++;
	}
}

static int collect(unsigned long *a)
{
	unsigned long n = __atomic_load_n(&a[0], __ATOMIC_RELAXED), i;
	int fresh = 0;

	if (n > COVER_WORDS - 1)
		n = COVER_WORDS - 1;
	for (i = 1; i <= n; i++) {
		uint64_t pc = a[i] + kc.kaslr;

		if (pc - kc.text < kc.size && kc.unique < SET_SIZE / 2)
			fresh += add_pc(pc);
	}
	__atomic_store_n(&a[0], 0, __ATOMIC_RELAXED);
	return fresh;
}

int fz_kcov_collect(void)
{
	if (!kc.on)
		return 0;
	return collect(kc.self) + collect(kc.remote);
}

uint64_t fz_kcov_unique(void)
{
	return kc.unique;
}

uint64_t fz_kcov_sites(void)
{
	return kc.sites;
}
