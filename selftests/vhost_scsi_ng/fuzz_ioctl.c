// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_fuzz: ioctl sequences while I/O is in flight.  SET_FEATURES flips,
 * memory-table variants, SET_VRING_* on a running device, endpoint
 * cycling, workers, log bases, events missed, eventfd swaps, unknown
 * ioctls, a second process on the same fd, and close with I/O in flight.
 *
 * An ioctl that leaves the device in a state our model of the rings does
 * not follow (a new ring size or base, say) taints the queues: their
 * answers are no longer checked and the device is replaced at the end of
 * the batch.  Guest memory, the second process and the kernel are checked
 * all the same.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"
#include "vsng_ring.h"
#include "fuzz_chain.h"
#include "linux/vhost_scsi_ng.h"

#define MAX_REGIONS_BUF	600

static unsigned int workers[8];
static int nworkers;

static int xioctl(struct fz *f, unsigned long req, void *arg)
{
	f->st.ioctls++;
	return vsng_ioctl(&f->d, req, arg);
}

static void op_features(struct fz *f)
{
	static const uint64_t bits[] = {
		VSNG_F_T10_PI, VSNG_F_EVENT_IDX, VSNG_F_INDIRECT,
		VSNG_F_VERSION_1, VSNG_F_ANY_LAYOUT, VSNG_F_HOTPLUG,
		1ULL << VHOST_F_LOG_ALL, 1ULL << VIRTIO_F_NOTIFY_ON_EMPTY,
	};
	uint8_t m = fz_u8(f);
	uint64_t want = 0;
	unsigned int i;

	if (m == 0xff) {
		want = fz_u64(f);
	} else {
		for (i = 0; i < 8; i++)
			if (m & (1u << i))
				want |= bits[i];
		want &= f->offered;
	}
	want &= ~f->mask_features;
	if (xioctl(f, VHOST_SET_FEATURES, &want))
		return;
	/* the rings are laid out for the other format now */
	if ((want ^ f->features) & VSNG_F_RING_PACKED)
		fz_taint_all(f);
	f->features = f->d.features = want;
	for (i = 0; i < VSNG_MAX_VQS; i++)
		f->d.vq[i].event_idx = !!(want & VSNG_F_EVENT_IDX);
}

static void op_mem_table(struct fz *f)
{
	struct vhost_memory *vm;
	struct vhost_memory_region *r;
	struct vsng_region *g = f->mem.r;
	uint8_t v = fz_u8(f);
	int n = 0;

	vm = calloc(1, sizeof(*vm) + MAX_REGIONS_BUF * sizeof(*r));
	if (!vm)
		return;
	r = vm->regions;
#define REG(i) (r[n++] = (struct vhost_memory_region){ g[i].gpa, g[i].size, \
		(uintptr_t)g[i].hva, 0 })
	switch (v % 9) {
	case 0:
		REG(0);
		REG(1);
		REG(2);
		break;
	case 1:
		REG(0);
		break;
	case 2:
		REG(0);
		REG(2);
		break;
	case 3:
		break;
	case 4:
		REG(0);
		REG(0);
		REG(1);
		REG(2);
		break;
	case 5:	/* R1 backed by nothing mapped */
		REG(0); REG(1); REG(2);
		r[1].userspace_addr = 0x1000;
		break;
	case 6:	/* R2 pointing at kernel memory */
		REG(0); REG(1); REG(2);
		r[2].userspace_addr = 0xffff888000000000ULL + (v >> 4) * 4096;
		break;
	case 7:	/* a region that wraps, one of size 0 */
		REG(0); REG(1); REG(2);
		r[n++] = (struct vhost_memory_region){ ~0ULL - 4095, 1 << 20,
			(uintptr_t)g[2].hva, 0 };
		r[n++] = (struct vhost_memory_region){ 0x1000, 0,
			(uintptr_t)g[2].hva, 0 };
		break;
	default:	/* a region count of any size */
		REG(0); REG(1); REG(2);
		n = fz_u16(f);
		if (v & 0x80)
			n = fz_u32(f);
		break;
	}
#undef REG
	vm->nregions = n;
	if (!xioctl(f, VHOST_SET_MEM_TABLE, vm))
		fz_set_table_full(v % 9 == 0 || v % 9 == 4);
	free(vm);
}

static void op_vring_running(struct fz *f)
{
	uint8_t m = fz_u8(f);
	unsigned int idx = fz_u8(f) % (3 + f->nreq);
	struct vhost_vring_state s = { .index = idx, .num = fz_u16(f) };
	struct vsng_vq *vq = &f->d.vq[idx < VSNG_MAX_VQS ? idx : 0];
	struct vhost_vring_addr a = { .index = idx };
	int err;

	switch (m % 4) {
	case 0:
		err = xioctl(f, VHOST_SET_VRING_NUM, &s);
		break;
	case 1:
		err = xioctl(f, VHOST_SET_VRING_BASE, &s);
		break;
	case 2:
		err = xioctl(f, VHOST_GET_VRING_BASE, &s);
		if (!err)	/* in-tree stops the ring on GET_VRING_BASE */
			fz_taint_all(f);
		return;
	default:
		if (!vq->desc && !vq->pdesc)
			return;
		vq->ops->addr(vq, &a);
		a.desc_user_addr += m & 0x10 ? 1 : 0;
		if (m & 0x20)
			a.used_user_addr = 0xffff888000000000ULL;
		a.flags = m & 0x40 ? 1u << VHOST_VRING_F_LOG : 0;
		err = xioctl(f, VHOST_SET_VRING_ADDR, &a);
		break;
	}
	if (!err)
		fz_taint_all(f);
}

/* New eventfds for a queue (the old ones closed); call may be unbound. */
static void op_vring_fds(struct fz *f)
{
	uint8_t m = fz_u8(f);
	unsigned int idx = m % (2 + f->nreq);
	struct vsng_vq *vq = &f->d.vq[idx];
	struct vhost_vring_file fl = { .index = idx };
	int *fdp, nfd;
	unsigned long req;

	switch ((m >> 4) % 3) {
	case 0:
		fdp = &vq->kick_fd;
		req = VHOST_SET_VRING_KICK;
		break;
	case 1:
		fdp = &vq->call_fd;
		req = VHOST_SET_VRING_CALL;
		break;
	default:
		fdp = &vq->err_fd;
		req = VHOST_SET_VRING_ERR;
		break;
	}
	if (req == VHOST_SET_VRING_KICK && (m & 0x80)) {
		/* unbind the kick for a moment, with chains in flight */
		fl.fd = -1;
		xioctl(f, req, &fl);
	}
	if (req == VHOST_SET_VRING_CALL && (m & 0x80)) {
		fl.fd = -1;	/* we poll the used ring: no interrupt needed */
		xioctl(f, req, &fl);
		return;
	}
	nfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (nfd < 0)
		return;
	fl.fd = nfd;
	if (xioctl(f, req, &fl)) {
		close(nfd);
		if (req != VHOST_SET_VRING_CALL)
			fz_taint_all(f);
		return;
	}
	if (req == VHOST_SET_VRING_ERR)
		fz_err_fd_retired(f, idx, *fdp);
	close(*fdp);
	*fdp = nfd;
}

static void op_endpoint(struct fz *f)
{
	struct vhost_scsi_target t = { 0 };
	uint8_t m = fz_u8(f);
	int err;

	t.abi_version = VHOST_SCSI_ABI_VERSION;
	snprintf(t.vhost_wwpn, sizeof(t.vhost_wwpn), "%s", f->t->wwpn);
	switch (m % 5) {
	case 0:		/* clear and set again, I/O in flight */
		xioctl(f, VHOST_SCSI_CLEAR_ENDPOINT, &t);
		break;
	case 1:		/* a second SET_ENDPOINT */
		break;
	case 2:		/* a wrong name, a wrong ABI, a wrong tpgt */
		t.vhost_wwpn[m % 16 + 4] ^= 1 + (m >> 4);
		if (m & 0x80)
			t.abi_version = fz_u32(f);
		t.vhost_tpgt = fz_u16(f);
		err = xioctl(f, VHOST_SCSI_SET_ENDPOINT, &t);
		if (!err)
			fz_taint_all(f);
		err = xioctl(f, VHOST_SCSI_CLEAR_ENDPOINT, &t);
		if (!err)
			fz_taint_all(f);
		snprintf(t.vhost_wwpn, sizeof(t.vhost_wwpn), "%s",
			 f->t->wwpn);
		t.abi_version = VHOST_SCSI_ABI_VERSION;
		t.vhost_tpgt = 0;
		break;
	case 3:		/* clear, a new ring base, set */
		xioctl(f, VHOST_SCSI_CLEAR_ENDPOINT, &t);
		{
			struct vhost_vring_state s = {
				.index = VSNG_VQ_REQ + fz_u8(f) % f->nreq,
				.num = fz_u16(f),
			};

			if (!xioctl(f, VHOST_SET_VRING_BASE, &s))
				fz_taint_all(f);
		}
		break;
	default:	/* clear twice */
		xioctl(f, VHOST_SCSI_CLEAR_ENDPOINT, &t);
		xioctl(f, VHOST_SCSI_CLEAR_ENDPOINT, &t);
		break;
	}
	err = xioctl(f, VHOST_SCSI_SET_ENDPOINT, &t);
	if (err && err != -EEXIST)
		fz_taint_all(f);	/* no backend: chains would wait */
	/* the queues restart at the next kick */
	fz_kick_all(f);
}

static void op_workers(struct fz *f)
{
	uint8_t m = fz_u8(f);
	struct vhost_worker_state w = { 0 };
	struct vhost_vring_worker vw = { 0 };

	switch (m % 4) {
	case 0:
		if (!xioctl(f, VHOST_NEW_WORKER, &w) && nworkers < 8)
			workers[nworkers++] = w.worker_id;
		break;
	case 1:
		w.worker_id = nworkers && (m & 4) ? workers[fz_u8(f) % nworkers] :
			      fz_u32(f);
		xioctl(f, VHOST_FREE_WORKER, &w);
		break;
	case 2:
		vw.index = fz_u8(f) % (3 + f->nreq);
		vw.worker_id = nworkers && (m & 4) ? workers[fz_u8(f) % nworkers] :
			       fz_u8(f);
		xioctl(f, VHOST_ATTACH_VRING_WORKER, &vw);
		break;
	default:
		vw.index = fz_u8(f);
		xioctl(f, VHOST_GET_VRING_WORKER, &vw);
		break;
	}
}

static void op_log(struct fz *f)
{
	uint8_t m = fz_u8(f);
	uint64_t base;
	int fd;

	switch (m % 5) {
	case 0:
	case 1:
		base = (uintptr_t)f->logbuf;
		break;
	case 2:
		base = 0x1000;
		break;
	case 3:
		base = 0xffff888000000000ULL;
		break;
	default:
		base = (uintptr_t)f->logbuf + 1 + (m >> 3);
		break;
	}
	xioctl(f, VHOST_SET_LOG_BASE, &base);
	if (m & 0x80) {
		fd = m & 0x40 ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
		xioctl(f, VHOST_SET_LOG_FD, &fd);
		if (fd >= 0)
			close(fd);
	}
}

/* Queries and ioctl numbers nobody handles. */
static void op_misc(struct fz *f)
{
	uint8_t m = fz_u8(f);
	uint8_t arg[256];
	struct vhost_scsi_ng_vq_stats st = { .index = fz_u8(f) };
	int v;
	uint64_t u;

	memset(arg, 0, sizeof(arg));
	switch (m % 6) {
	case 0:
		xioctl(f, VHOST_SCSI_GET_ABI_VERSION, &v);
		break;
	case 1:
		xioctl(f, VHOST_GET_FEATURES, &u);
		xioctl(f, VHOST_GET_BACKEND_FEATURES, &u);
		break;
	case 2:
		xioctl(f, VHOST_SCSI_NG_GET_VQ_STATS, &st);
		break;
	case 3:
		u = fz_u64(f);
		if (!xioctl(f, VHOST_SET_BACKEND_FEATURES, &u))
			fz_taint_all(f);
		break;
	case 4: {
		struct vhost_vring_state s = { .index = fz_u8(f) % 4,
					       .num = fz_u8(f) };

		if (!xioctl(f, m & 8 ? VHOST_SET_VRING_ENDIAN :
			    VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &s))
			fz_taint_all(f);
		break;
	}
	default: {
		/* any number in vhost's ioctl space, either direction */
		unsigned int nr = fz_u8(f);
		unsigned long req = (m & 8 ? _IOC_READ : 0) |
				    (m & 16 ? _IOC_WRITE : 0);

		req = _IOC(req, VHOST_VIRTIO, nr, m & 32 ? 8 : 0);
		if (nr == 0x01 || nr == 0x02)	/* SET/RESET_OWNER */
			return;
		if (!xioctl(f, req, arg) && (req & _IOC_WRITE))
			fz_taint_all(f);
		break;
	}
	}
}

/*
 * A second process on the same fd (a fork: another mm).  It is not the
 * owner: SET_OWNER, SET_MEM_TABLE, SET_VRING_KICK, SET_ENDPOINT,
 * CLEAR_ENDPOINT and NEW_WORKER must all fail for it.
 */
static const char *const child_ops[] = {
	"SET_OWNER", "SET_MEM_TABLE", "SET_VRING_KICK", "SET_ENDPOINT",
	"CLEAR_ENDPOINT", "NEW_WORKER",
};

static int child(struct fz *f, uint8_t mask)
{
	struct vhost_scsi_target t = { .abi_version = VHOST_SCSI_ABI_VERSION };
	struct vhost_vring_file fl = { .index = VSNG_VQ_REQ,
				       .fd = eventfd(0, 0) };
	struct vhost_worker_state w = { 0 };
	struct {
		struct vhost_memory m;
		struct vhost_memory_region r[1];
	} vm = { { .nregions = 1 }, { { f->mem.r[0].gpa, f->mem.r[0].size,
					(uintptr_t)f->mem.r[0].hva, 0 } } };
	int fd = f->d.fd, bad = 0;

	snprintf(t.vhost_wwpn, sizeof(t.vhost_wwpn), "%s", f->t->wwpn);
	if ((mask & 1) && !ioctl(fd, VHOST_SET_OWNER, NULL))
		bad |= 1;
	if ((mask & 2) && !ioctl(fd, VHOST_SET_MEM_TABLE, &vm))
		bad |= 2;
	if ((mask & 4) && !ioctl(fd, VHOST_SET_VRING_KICK, &fl))
		bad |= 4;
	if ((mask & 8) && !ioctl(fd, VHOST_SCSI_SET_ENDPOINT, &t))
		bad |= 8;
	if ((mask & 16) && !ioctl(fd, VHOST_SCSI_CLEAR_ENDPOINT, &t))
		bad |= 16;
	if ((mask & 32) && !ioctl(fd, VHOST_NEW_WORKER, &w))
		bad |= 32;
	return bad;
}

static void op_second_process(struct fz *f)
{
	uint8_t mask = fz_u8(f);
	uint64_t end;
	int st = 0, i;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return;
	if (!pid)
		_exit(child(f, mask | 1));
	f->st.ioctls++;
	end = vsng_now_ms() + f->timeout_ms;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (vsng_now_ms() > end) {
			fz_find(f, "a second process on the fd hung in an ioctl (mask 0x%x)",
				mask);
			kill(pid, SIGKILL);
			return;
		}
		usleep(1000);
	}
	if (!WIFEXITED(st) || !WEXITSTATUS(st))
		return;
	for (i = 0; i < 6; i++)
		if (WEXITSTATUS(st) & (1 << i)) {
			fz_find(f, "a second process (not the owner) on the same fd succeeded in %s",
				child_ops[i]);
			break;
		}
	fz_taint_all(f);
}

/* Close the device with chains in flight, then carry on with a new one. */
static void op_close(struct fz *f)
{
	fz_kick_all(f);
	f->st.ioctls++;
	fz_dev_again(f, true);
}

void fz_op_ioctl(struct fz *f)
{
	uint8_t m = fz_u8(f);

	static const char *const name[12] = {
		"features", "features", "mem_table", "vring_running",
		"vring_fds", "endpoint", "workers", "log", "misc",
		"second_process", "close", "flush+features",
	};

	f->dirty = true;
	if (f->verbose)
		printf("# ioctl op %s (byte 0x%02x at %zu)\n", name[m % 12], m,
		       f->pos - 1);
	switch (m % 12) {
	case 0:
	case 1:
		op_features(f);
		break;
	case 2:
		op_mem_table(f);
		break;
	case 3:
		op_vring_running(f);
		break;
	case 4:
		op_vring_fds(f);
		break;
	case 5:
		op_endpoint(f);
		break;
	case 6:
		op_workers(f);
		break;
	case 7:
		op_log(f);
		break;
	case 8:
		op_misc(f);
		break;
	case 9:
		op_second_process(f);
		break;
	case 10:
		op_close(f);
		break;
	default:
		fz_flush(f);
		op_features(f);
		break;
	}
}
