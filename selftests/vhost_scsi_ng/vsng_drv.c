// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_drv: userspace virtio-scsi guest driver for /dev/vhost-scsi.
 * See vsng_drv.h for the memory layout and conventions.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vsng_ring.h"
#include "linux/vhost_scsi_ng.h"

#define MB		(1024ULL * 1024)
#define PAGE		4096ULL

uint64_t vsng_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

void vsng_fill(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = x;
	}
}

int vsng_sysfs_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

int vsng_sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;
	int err = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

/* --- device ------------------------------------------------------------ */

const char *vsng_dev_path(void)
{
	const char *p = getenv("VSNG_DEV");

	return p && *p ? p : "/dev/vhost-scsi";
}

bool vsng_target_is_ours(void)
{
	const char *t = getenv("TARGET");

	if (t && !strcmp(t, "intree"))
		return false;
	if (t && !strcmp(t, "ours"))
		return true;
	/* Unknown: probe the stats ioctl on a fresh fd. */
	{
		struct vhost_scsi_ng_vq_stats st = { 0 };
		int fd = open(vsng_dev_path(), O_RDWR);
		bool ours;

		if (fd < 0)
			return false;
		ours = !(ioctl(fd, VHOST_SCSI_NG_GET_VQ_STATS, &st) < 0 &&
			 errno == ENOTTY);
		close(fd);
		return ours;
	}
}

int vsng_ioctl(struct vsng_dev *d, unsigned long req, void *arg)
{
	return ioctl(d->fd, req, arg) < 0 ? -errno : 0;
}

int vsng_abi_version(struct vsng_dev *d, int *ver)
{
	*ver = -1;
	return vsng_ioctl(d, VHOST_SCSI_GET_ABI_VERSION, ver);
}

int vsng_vq_stats(struct vsng_dev *d, unsigned int index,
		  struct vhost_scsi_ng_vq_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->index = index;
	return vsng_ioctl(d, VHOST_SCSI_NG_GET_VQ_STATS, st);
}

int vsng_dev_open(struct vsng_dev *d, const char *path)
{
	int i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < VSNG_MAX_VQS; i++) {
		d->vq[i].kick_fd = -1;
		d->vq[i].call_fd = -1;
		d->vq[i].err_fd = -1;
	}
	d->fd = open(path ? path : vsng_dev_path(), O_RDWR | O_CLOEXEC);
	return d->fd < 0 ? -errno : 0;
}

int vsng_mem_create(struct vsng_dev *d)
{
	struct vsng_mem *m = &d->mem;

	m->map_len = 96 * MB;
	m->map = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->map == MAP_FAILED) {
		m->map = NULL;
		return -errno;
	}
	m->nregions = 3;
	m->r[0] = (struct vsng_region){ VSNG_GPA_BASE, 48 * MB,
					m->map + 20 * MB, 0, 0 };
	m->r[0].limit = m->r[0].size - VSNG_XREGION_SPAN;
	m->r[1] = (struct vsng_region){ VSNG_GPA_BASE + 48 * MB, 16 * MB,
					m->map + 1 * MB, VSNG_XREGION_SPAN, 0 };
	m->r[1].limit = m->r[1].size;
	m->r[2] = (struct vsng_region){ 0x180000000ULL, 16 * MB,
					m->map + 72 * MB, 0, 0 };
	m->r[2].limit = m->r[2].size;
	/* Poison everything, so stray reads and writes are visible. */
	memset(m->map, 0x5a, m->map_len);
	return 0;
}

int vsng_mem_set_table(struct vsng_dev *d)
{
	struct vsng_mem *m = &d->mem;
	struct vhost_memory *vm;
	int i, err;

	vm = calloc(1, sizeof(*vm) + m->nregions * sizeof(vm->regions[0]));
	if (!vm)
		return -ENOMEM;
	vm->nregions = m->nregions;
	for (i = 0; i < m->nregions; i++) {
		vm->regions[i].guest_phys_addr = m->r[i].gpa;
		vm->regions[i].memory_size = m->r[i].size;
		vm->regions[i].userspace_addr = (uintptr_t)m->r[i].hva;
	}
	err = vsng_ioctl(d, VHOST_SET_MEM_TABLE, vm);
	free(vm);
	return err;
}

void *vsng_alloc(struct vsng_dev *d, int region, size_t size, size_t align)
{
	struct vsng_region *r = &d->mem.r[region];
	uint64_t off;

	if (!align)
		align = 64;
	off = (r->brk + align - 1) & ~(uint64_t)(align - 1);
	if (off + size > r->limit)
		return NULL;
	r->brk = off + size;
	return r->hva + off;
}

uint64_t vsng_gpa(struct vsng_dev *d, const void *hva)
{
	const uint8_t *p = hva;
	int i;

	for (i = 0; i < d->mem.nregions; i++) {
		struct vsng_region *r = &d->mem.r[i];

		if (p >= r->hva && p < r->hva + r->size)
			return r->gpa + (p - r->hva);
	}
	fprintf(stderr, "%s: %p is not guest memory\n", __func__, hva);
	abort();
}

void *vsng_hva(struct vsng_dev *d, uint64_t gpa, size_t len)
{
	int i;

	for (i = 0; i < d->mem.nregions; i++) {
		struct vsng_region *r = &d->mem.r[i];

		if (gpa >= r->gpa && gpa + len <= r->gpa + r->size)
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

static int gpa_copy(struct vsng_dev *d, uint64_t gpa, void *buf, size_t len,
		    bool to_guest)
{
	uint8_t *b = buf;

	while (len) {
		struct vsng_region *r = NULL;
		size_t n;
		int i;

		for (i = 0; i < d->mem.nregions; i++)
			if (gpa >= d->mem.r[i].gpa &&
			    gpa < d->mem.r[i].gpa + d->mem.r[i].size)
				r = &d->mem.r[i];
		if (!r)
			return -EFAULT;
		n = r->gpa + r->size - gpa;
		if (n > len)
			n = len;
		if (to_guest)
			memcpy(r->hva + (gpa - r->gpa), b, n);
		else
			memcpy(b, r->hva + (gpa - r->gpa), n);
		gpa += n;
		b += n;
		len -= n;
	}
	return 0;
}

int vsng_gpa_write(struct vsng_dev *d, uint64_t gpa, const void *src,
		   size_t len)
{
	return gpa_copy(d, gpa, (void *)src, len, true);
}

int vsng_gpa_read(struct vsng_dev *d, uint64_t gpa, void *dst, size_t len)
{
	return gpa_copy(d, gpa, dst, len, false);
}

uint64_t vsng_xregion_gpa(struct vsng_dev *d, size_t len)
{
	if (len > 2 * VSNG_XREGION_SPAN)
		return 0;
	return d->mem.r[1].gpa - len / 2;
}

void *vsng_alloc_guarded(struct vsng_dev *d, int region, size_t size,
			 size_t guard)
{
	uint8_t *p = vsng_alloc(d, region, size + 2 * guard, 64);

	if (!p)
		return NULL;
	memset(p, 0xa5, guard);
	memset(p + guard + size, 0xa5, guard);
	return p + guard;
}

bool vsng_guard_ok(const void *buf, size_t size, size_t guard)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < guard; i++)
		if (p[-1 - (long)i] != 0xa5 || p[size + i] != 0xa5)
			return false;
	return true;
}

/* --- virtqueues -------------------------------------------------------- */

bool vsng_ring_env_packed(void)
{
	const char *r = getenv("VSNG_RING");

	return r && !strcmp(r, "packed");
}

const char *vsng_ring_name(const struct vsng_dev *d)
{
	return d->packed ? "packed" : "split";
}

/*
 * Give the device queue @vq as the driver has it: size, @base (the
 * SET_VRING_BASE value: split, the next avail index the device takes;
 * packed, both positions with their wrap counters), ring addresses
 * (VHOST_VRING_F_LOG if vq->log) and the three eventfds.
 */
static int vq_program(struct vsng_dev *d, struct vsng_vq *vq, uint32_t base)
{
	struct vhost_vring_state s = { .index = vq->index };
	struct vhost_vring_file f = { .index = vq->index };
	int err;

	s.num = vq->num;
	err = vsng_ioctl(d, VHOST_SET_VRING_NUM, &s);
	if (err)
		return err;
	s.num = base;
	err = vsng_ioctl(d, VHOST_SET_VRING_BASE, &s);
	if (err)
		return err;
	err = vsng_vq_set_log(vq, vq->log);
	if (err)
		return err;
	f.fd = vq->kick_fd;
	err = vsng_ioctl(d, VHOST_SET_VRING_KICK, &f);
	if (err)
		return err;
	f.fd = vq->call_fd;
	err = vsng_ioctl(d, VHOST_SET_VRING_CALL, &f);
	if (err)
		return err;
	f.fd = vq->err_fd;
	return vsng_ioctl(d, VHOST_SET_VRING_ERR, &f);
}

int vsng_vq_set_log(struct vsng_vq *vq, bool on)
{
	struct vhost_vring_addr a = { .index = vq->index };
	int err;

	vq->ops->addr(vq, &a);
	a.flags = on ? 1U << VHOST_VRING_F_LOG : 0;
	err = vsng_ioctl(vq->dev, VHOST_SET_VRING_ADDR, &a);
	if (!err)
		vq->log = on;
	return err;
}

int vsng_vq_shadow_alloc(struct vsng_vq *vq)
{
	free(vq->next);
	free(vq->chain_len);
	free(vq->cookie);
	free(vq->order);
	vq->next = calloc(vq->num, sizeof(*vq->next));
	vq->chain_len = calloc(vq->num, sizeof(*vq->chain_len));
	vq->cookie = calloc(vq->num, sizeof(*vq->cookie));
	vq->order = calloc(vq->num, sizeof(*vq->order));
	return vq->next && vq->chain_len && vq->cookie && vq->order ?
	       0 : -ENOMEM;
}

static void vsng_vq_order_reset(struct vsng_vq *vq)
{
	vq->order_first = 0;
	vq->order_count = 0;
	vq->batch_last = -1;
	vq->batch_len = 0;
}

/*
 * IN_ORDER: a used element names buffer @id; it stands for every buffer
 * made available before it that is still outstanding, so @id must be
 * among the first @limit outstanding ones (the device published at most
 * that many).  Anything else is a buffer used out of order.
 */
int vsng_vq_order_batch(struct vsng_vq *vq, uint16_t id, uint32_t len,
			unsigned int limit)
{
	unsigned int i, k = vq->order_first;

	if (limit > vq->order_count)
		limit = vq->order_count;
	for (i = 0; i < limit; i++) {
		if (vq->order[k] == id) {
			vq->batch_last = id;
			vq->batch_len = len;
			vq->used_elems++;
			return 0;
		}
		if (++k == vq->num)
			k = 0;
	}
	fprintf(stderr,
		"vsng: vq %u: IN_ORDER: used id %u is not among the next %u buffers (next is %u)\n",
		vq->index, id, limit,
		vq->order_count ? vq->order[vq->order_first] : 0xffff);
	return -EIO;
}

/* IN_ORDER: the next buffer the current used element stands for. */
uint16_t vsng_vq_order_take(struct vsng_vq *vq, uint32_t *len)
{
	uint16_t head = vq->order[vq->order_first];

	if (++vq->order_first == vq->num)
		vq->order_first = 0;
	vq->order_count--;
	if (head == vq->batch_last) {
		vq->batch_last = -1;
		*len = vq->batch_len;
	} else {
		*len = 0;
	}
	return head;
}

int vsng_vq_setup(struct vsng_dev *d, unsigned int index, unsigned int num)
{
	struct vsng_vq *vq = &d->vq[index];
	int err;

	if (index >= VSNG_MAX_VQS || !num || num > 32768 || (num & (num - 1)))
		return -EINVAL;
	vq->dev = d;
	vq->index = index;
	vq->num = num;
	vq->packed = d->packed;
	vq->ops = d->packed ? &vsng_ring_packed_ops : &vsng_ring_split_ops;
	vq->event_idx = !!(d->features & VSNG_F_EVENT_IDX);
	vq->in_order = !!(d->features & VSNG_F_IN_ORDER);
	err = vq->ops->alloc(vq);
	if (err)
		return err;
	err = vsng_vq_shadow_alloc(vq);
	if (err)
		return err;
	vq->indir = NULL;
	vq->ops->reset(vq);
	vsng_vq_order_reset(vq);
	vq->log = d->vring_log;

	if (vq->kick_fd < 0)
		vq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vq->call_fd < 0)
		vq->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vq->err_fd < 0)
		vq->err_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vq->kick_fd < 0 || vq->call_fd < 0 || vq->err_fd < 0)
		return -errno;

	err = vq_program(d, vq, vq->ops->base(vq));
	if (err)
		return err;
	vq->setup = true;
	if (index + 1 > (unsigned int)d->nvqs)
		d->nvqs = index + 1;
	return 0;
}

int vsng_dev_init(struct vsng_dev *d, const struct vsng_dev_opts *o)
{
	struct vsng_dev_opts def = { 0 };
	uint64_t want;
	int err, i, nreq;
	bool packed;

	if (!o)
		o = &def;
	packed = o->ring == VSNG_RING_PACKED ||
		 (o->ring == VSNG_RING_ENV && vsng_ring_env_packed());
	err = vsng_dev_open(d, o->path);
	if (err)
		return err;
	err = vsng_ioctl(d, VHOST_SET_OWNER, NULL);
	if (err)
		return err;
	err = vsng_ioctl(d, VHOST_GET_FEATURES, &d->offered);
	if (err)
		return err;
	/*
	 * By default ack what a Linux guest acks: no LOG_ALL (migration
	 * only), no NOTIFY_ON_EMPTY (Linux never acks it), no T10_PI (changes
	 * the request header; tests ask for it).  Packed rings are asked for
	 * whether offered or not (a device that lacks them must refuse).
	 */
	want = o->features ? o->features :
	       d->offered & (VSNG_F_VERSION_1 | VSNG_F_ANY_LAYOUT |
			     VSNG_F_INDIRECT | VSNG_F_EVENT_IDX |
			     VSNG_F_HOTPLUG);
	if (o->no_event_idx)
		want &= ~VSNG_F_EVENT_IDX;
	if (o->no_indirect)
		want &= ~VSNG_F_INDIRECT;
	/* $VSNG_IN_ORDER=1: every device acks IN_ORDER when offered */
	if (o->in_order || (getenv("VSNG_IN_ORDER") &&
			    !strcmp(getenv("VSNG_IN_ORDER"), "1")))
		want |= d->offered & VSNG_F_IN_ORDER;
	if (packed)
		want |= VSNG_F_RING_PACKED;
	else if (o->ring == VSNG_RING_SPLIT)
		want &= ~VSNG_F_RING_PACKED;
	err = vsng_ioctl(d, VHOST_SET_FEATURES, &want);
	if (err)
		return err;
	d->features = want;
	d->packed = !!(want & VSNG_F_RING_PACKED);
	d->vring_log = o->vring_log;
	err = vsng_mem_create(d);
	if (err)
		return err;
	err = vsng_mem_set_table(d);
	if (err)
		return err;
	err = vsng_vq_setup(d, VSNG_VQ_CTL, o->ctl_size ? o->ctl_size : 128);
	if (err)
		return err;
	err = vsng_vq_setup(d, VSNG_VQ_EVT, o->evt_size ? o->evt_size : 128);
	if (err)
		return err;
	nreq = o->nreq ? o->nreq : 1;
	if (nreq > VSNG_MAX_VQS - 2)
		return -EINVAL;
	for (i = 0; i < nreq; i++) {
		unsigned int n = o->req_sizes[i] ? o->req_sizes[i] :
				 o->req_size ? o->req_size : 128;

		err = vsng_vq_setup(d, VSNG_VQ_REQ + i, n);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Restart queue @index from its start, as a virtio reset does: the backend
 * must be stopped (CLEAR_ENDPOINT).  The rings are zeroed and given to the
 * device again at the start position; the eventfds stay bound, with
 * anything pending on them read and dropped.
 */
int vsng_vq_restart(struct vsng_dev *d, unsigned int index)
{
	struct vsng_vq *vq = &d->vq[index];
	struct vhost_vring_state s = { .index = index };
	uint64_t v;

	if (index >= VSNG_MAX_VQS || !vq->setup)
		return -EINVAL;
	vq->ops->reset(vq);
	vsng_vq_order_reset(vq);
	s.num = vq->ops->base(vq);
	if (vq->call_fd >= 0 && read(vq->call_fd, &v, sizeof(v)) < 0)
		v = 0;
	if (vq->err_fd >= 0 && read(vq->err_fd, &v, sizeof(v)) < 0)
		v = 0;
	return vsng_ioctl(d, VHOST_SET_VRING_BASE, &s);
}

uint32_t vsng_vq_base(struct vsng_vq *vq)
{
	return vq->ops->base(vq);
}

static void fill_target(struct vhost_scsi_target *t, const char *wwpn)
{
	memset(t, 0, sizeof(*t));
	t->abi_version = VHOST_SCSI_ABI_VERSION;
	snprintf(t->vhost_wwpn, sizeof(t->vhost_wwpn), "%s", wwpn);
}

int vsng_dev_set_endpoint(struct vsng_dev *d, const char *wwpn)
{
	struct vhost_scsi_target t;
	int err;

	fill_target(&t, wwpn);
	err = vsng_ioctl(d, VHOST_SCSI_SET_ENDPOINT, &t);
	if (!err) {
		snprintf(d->wwpn, sizeof(d->wwpn), "%s", wwpn);
		d->endpoint = true;
	}
	return err;
}

int vsng_dev_clear_endpoint(struct vsng_dev *d)
{
	struct vhost_scsi_target t;
	int err;

	fill_target(&t, d->wwpn);
	err = vsng_ioctl(d, VHOST_SCSI_CLEAR_ENDPOINT, &t);
	if (!err)
		d->endpoint = false;
	return err;
}

void vsng_vq_free_shadow(struct vsng_vq *vq)
{
	free(vq->next);
	free(vq->chain_len);
	free(vq->cookie);
	vq->next = NULL;
	vq->chain_len = NULL;
	vq->cookie = NULL;
}

void vsng_dev_close(struct vsng_dev *d)
{
	int i;

	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	for (i = 0; i < VSNG_MAX_VQS; i++) {
		struct vsng_vq *vq = &d->vq[i];

		if (vq->kick_fd >= 0)
			close(vq->kick_fd);
		if (vq->call_fd >= 0)
			close(vq->call_fd);
		if (vq->err_fd >= 0)
			close(vq->err_fd);
		vq->kick_fd = vq->call_fd = vq->err_fd = -1;
		vsng_vq_free_shadow(vq);
	}
	if (d->mem.map)
		munmap(d->mem.map, d->mem.map_len);
	d->mem.map = NULL;
}

int vsng_vq_indir_alloc(struct vsng_vq *vq)
{
	size_t sz = (size_t)vq->num * VSNG_INDIR_MAX * sizeof(struct vring_desc);

	if (vq->indir)
		return 0;
	vq->indir = vsng_alloc(vq->dev, 2, sz, PAGE);
	if (!vq->indir)
		vq->indir = vsng_alloc(vq->dev, 0, sz, PAGE);
	return vq->indir ? 0 : -ENOMEM;
}

int vsng_vq_add(struct vsng_vq *vq, const struct vsng_seg *segs, int nsegs,
		bool indirect, void *cookie)
{
	int head;

	if (nsegs <= 0 || !cookie)
		return -EINVAL;
	head = vq->ops->add(vq, segs, nsegs, indirect, cookie);
	if (head >= 0 && vq->in_order && vq->order_count < vq->num) {
		unsigned int k = vq->order_first + vq->order_count;

		vq->order[k >= vq->num ? k - vq->num : k] = head;
		vq->order_count++;
	}
	return head;
}

bool vsng_vq_kick(struct vsng_vq *vq, bool force)
{
	uint64_t one = 1;
	bool need;

	/* the made-available store before reading the device's event state */
	smp_mb();
	need = vq->ops->need_kick(vq);
	if (need || force) {
		if (write(vq->kick_fd, &one, sizeof(one)) != sizeof(one))
			return false;
		vq->kicks++;
		return true;
	}
	vq->kicks_suppressed++;
	return false;
}

bool vsng_vq_kick_wanted(struct vsng_vq *vq)
{
	smp_mb();
	return vq->ops->kick_wanted(vq);
}

void vsng_vq_arm_event(struct vsng_vq *vq)
{
	vq->ops->arm_event(vq);
	/* visible before the caller's next ring access */
	smp_mb();
}

uint16_t vsng_vq_used_idx(struct vsng_vq *vq)
{
	return vq->ops->used_count(vq);
}

int vsng_vq_get_used(struct vsng_vq *vq, uint32_t *len, void **cookie)
{
	uint32_t l = 0;
	void *c = NULL;
	int r = vq->ops->get_used(vq, &l, &c);

	if (r < 0 && cookie)
		*cookie = NULL;
	if (r != 1)
		return r;
	vq->completions++;
	if (vq->event_idx && !vq->no_interrupt)
		vq->ops->arm_event(vq);
	if (len)
		*len = l;
	if (cookie)
		*cookie = c;
	return 1;
}

uint64_t vsng_vq_drain_irq(struct vsng_vq *vq)
{
	uint64_t v = 0;

	if (read(vq->call_fd, &v, sizeof(v)) == sizeof(v) && v) {
		vq->interrupts += v;
		vq->irq_wakeups++;
		return v;
	}
	return 0;
}

static bool vq_pending(struct vsng_vq *vq)
{
	return vq->ops->pending(vq);
}

/*
 * vq->irq_only: block on the call eventfd alone.  With EVENT_IDX, entries
 * published before the used event moved may legitimately come without a
 * signal (vring_need_event): virtio drivers look once after publishing
 * the event, and so do we (counted in irq_less).  Without EVENT_IDX every
 * publication signals unless interrupts are off: no look at all.
 */
static int vq_wait_irq(struct vsng_vq *vq, int timeout_ms)
{
	uint64_t end = vsng_now_ms() + timeout_ms;
	struct pollfd p = { .fd = vq->call_fd, .events = POLLIN };

	if (vq->event_idx && !vq->no_interrupt) {
		vq->ops->arm_event(vq);
		/* used event store before re-reading the used ring */
		smp_mb();
		if (vq_pending(vq)) {
			vq->irq_less++;
			return 1;
		}
	}
	for (;;) {
		int64_t left = (int64_t)end - (int64_t)vsng_now_ms();

		if (left <= 0)
			return 0;
		if (poll(&p, 1, left > INT32_MAX ? INT32_MAX : left) > 0 &&
		    vsng_vq_drain_irq(vq) && vq_pending(vq))
			return 1;
	}
}

int vsng_vq_wait(struct vsng_vq *vq, int timeout_ms)
{
	uint64_t end = vsng_now_ms() + timeout_ms;
	struct pollfd p = { .fd = vq->call_fd, .events = POLLIN };

	if (vq->irq_only)
		return vq_wait_irq(vq, timeout_ms);
	for (;;) {
		int64_t left;

		if (vq_pending(vq))
			return 1;
		if (vq->event_idx && !vq->no_interrupt) {
			vq->ops->arm_event(vq);
			/* used event store before re-reading the used ring */
			smp_mb();
			if (vq_pending(vq))
				return 1;
		}
		left = (int64_t)end - (int64_t)vsng_now_ms();
		if (left <= 0)
			return 0;
		if (poll(&p, 1, left > 100 ? 100 : left) > 0)
			vsng_vq_drain_irq(vq);
	}
}

int vsng_vq_poll(struct vsng_vq *vq, int timeout_ms)
{
	uint64_t end = vsng_now_ms() + timeout_ms;

	while (!vq_pending(vq)) {
		if (vsng_now_ms() > end)
			return 0;
		sched_yield();
	}
	return 1;
}

void vsng_vq_set_no_interrupt(struct vsng_vq *vq, bool on)
{
	vq->no_interrupt = on;
	vq->ops->set_no_interrupt(vq, on);
	/* visible before the caller's next ring access */
	smp_mb();
}

int vsng_vq_err_fired(struct vsng_vq *vq, int timeout_ms)
{
	struct pollfd p = { .fd = vq->err_fd, .events = POLLIN };
	uint64_t v = 0;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	if (read(vq->err_fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v ? 1 : 0;
}

/* --- SCSI commands ----------------------------------------------------- */

void vsng_lun_encode(uint8_t lun8[8], uint8_t target, uint16_t lun)
{
	memset(lun8, 0, 8);
	lun8[0] = 1;
	lun8[1] = target;
	lun8[2] = 0x40 | ((lun >> 8) & 0x3f);
	lun8[3] = lun & 0xff;
}

void vsng_cmd_init(struct vsng_cmd *c, uint8_t target, uint16_t lun)
{
	void *req = c->req;
	struct virtio_scsi_cmd_resp *resp = c->resp;

	memset(c, 0, sizeof(*c));
	c->req = req;
	c->resp = resp;
	c->target = target;
	c->lun = lun;
	c->dout_split = 1;
	c->din_split = 1;
	c->head = -1;
}

static int split_segs(struct vsng_seg *s, uint64_t gpa, uint32_t len,
		      int parts, bool write)
{
	uint32_t piece, off = 0;
	int i, n = 0;

	if (!len)
		return 0;
	if (parts < 1)
		parts = 1;
	if ((uint32_t)parts > len)
		parts = len;
	piece = len / parts;
	for (i = 0; i < parts; i++) {
		uint32_t l = i + 1 == parts ? len - off : piece;

		s[n].gpa = gpa + off;
		s[n].len = l;
		s[n].write = write;
		off += l;
		n++;
	}
	return n;
}

int vsng_cmd_submit(struct vsng_vq *vq, struct vsng_cmd *c)
{
	struct vsng_dev *d = vq->dev;
	size_t req_sz;
	uint32_t resp_len = c->resp_len ? c->resp_len :
			    sizeof(struct virtio_scsi_cmd_resp);
	int nsegs, n, head;
	struct vsng_seg *segs;

	if (d->features & VSNG_F_T10_PI)
		c->pi = true;
	req_sz = c->pi ? sizeof(struct virtio_scsi_cmd_req_pi) :
			 sizeof(struct virtio_scsi_cmd_req);
	if (!c->req) {
		c->req = vsng_alloc(d, 0, sizeof(struct virtio_scsi_cmd_req_pi),
				    64);
		c->resp = vsng_alloc(d, 0, 256, 64);
		if (!c->req || !c->resp)
			return -ENOMEM;
	}
	if (resp_len > 256)
		return -EINVAL;
	if (c->pi) {
		struct virtio_scsi_cmd_req_pi *r = c->req;

		memset(r, 0, sizeof(*r));
		vsng_lun_encode(r->lun, c->target, c->lun);
		if (c->raw_lun)
			memcpy(r->lun, c->lun8, 8);
		r->tag = c->tag;
		r->task_attr = c->task_attr;
		r->pi_bytesout = c->pi_bytesout;
		r->pi_bytesin = c->pi_bytesin;
		memcpy(r->cdb, c->cdb, sizeof(r->cdb));
	} else {
		struct virtio_scsi_cmd_req *r = c->req;

		memset(r, 0, sizeof(*r));
		vsng_lun_encode(r->lun, c->target, c->lun);
		if (c->raw_lun)
			memcpy(r->lun, c->lun8, 8);
		r->tag = c->tag;
		r->task_attr = c->task_attr;
		memcpy(r->cdb, c->cdb, sizeof(r->cdb));
	}
	memset(c->resp, 0, 256);
	c->resp->response = 0xff;	/* "not written" marker */

	segs = calloc(2 + c->dout_split + c->din_split + 2, sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	nsegs = 0;
	segs[nsegs++] = (struct vsng_seg){ vsng_gpa(d, c->req), req_sz, false };
	n = split_segs(&segs[nsegs], c->dout_gpa, c->dout_len, c->dout_split,
		       false);
	nsegs += n;
	segs[nsegs++] = (struct vsng_seg){ vsng_gpa(d, c->resp), resp_len,
					   true };
	n = split_segs(&segs[nsegs], c->din_gpa, c->din_len, c->din_split,
		       true);
	nsegs += n;
	c->done = false;
	head = vsng_vq_add(vq, segs, nsegs, c->indirect, c);
	free(segs);
	if (head < 0)
		return head;
	c->head = head;
	return 0;
}

int vsng_vq_reap(struct vsng_vq *vq)
{
	int n = 0;
	uint32_t len;
	void *cookie;

	while (vsng_vq_get_used(vq, &len, &cookie) == 1) {
		struct vsng_cmd *c = cookie;

		c->used_len = len;
		memcpy(&c->rsp, c->resp, sizeof(c->rsp));
		c->done = true;
		n++;
	}
	return n;
}

int vsng_cmd_run(struct vsng_vq *vq, struct vsng_cmd *c, int timeout_ms)
{
	uint64_t end = vsng_now_ms() + timeout_ms;
	int err;

	err = vsng_cmd_submit(vq, c);
	if (err)
		return err;
	vsng_vq_kick(vq, false);
	while (!c->done) {
		int64_t left = (int64_t)end - (int64_t)vsng_now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		if (vq->no_interrupt)
			vsng_vq_poll(vq, left);
		else
			vsng_vq_wait(vq, left);
		vsng_vq_reap(vq);
	}
	return 0;
}

int vsng_scsi(struct vsng_vq *vq, struct vsng_cmd *c, const uint8_t *cdb,
	      int cdblen, uint64_t dout, uint32_t dout_len, uint64_t din,
	      uint32_t din_len)
{
	memset(c->cdb, 0, sizeof(c->cdb));
	memcpy(c->cdb, cdb, cdblen);
	c->dout_gpa = dout;
	c->dout_len = dout_len;
	c->din_gpa = din;
	c->din_len = din_len;
	return vsng_cmd_run(vq, c, 20000);
}

uint8_t vsng_sense_key(const struct virtio_scsi_cmd_resp *r)
{
	if ((r->sense[0] & 0x7f) >= 0x72)
		return r->sense[1] & 0xf;
	return r->sense[2] & 0xf;
}

uint8_t vsng_sense_asc(const struct virtio_scsi_cmd_resp *r)
{
	return (r->sense[0] & 0x7f) >= 0x72 ? r->sense[2] : r->sense[12];
}

uint8_t vsng_sense_ascq(const struct virtio_scsi_cmd_resp *r)
{
	return (r->sense[0] & 0x7f) >= 0x72 ? r->sense[3] : r->sense[13];
}

int vsng_cdb_rw(uint8_t *cdb, int size, bool write, uint64_t lba,
		uint32_t blocks)
{
	int i;

	memset(cdb, 0, 16);
	switch (size) {
	case 6:
		cdb[0] = write ? 0x0a : 0x08;
		cdb[1] = (lba >> 16) & 0x1f;
		cdb[2] = lba >> 8;
		cdb[3] = lba;
		cdb[4] = blocks;	/* 0 means 256 */
		return 6;
	case 10:
		cdb[0] = write ? 0x2a : 0x28;
		for (i = 0; i < 4; i++)
			cdb[2 + i] = lba >> (24 - 8 * i);
		cdb[7] = blocks >> 8;
		cdb[8] = blocks;
		return 10;
	case 16:
		cdb[0] = write ? 0x8a : 0x88;
		for (i = 0; i < 8; i++)
			cdb[2 + i] = lba >> (56 - 8 * i);
		for (i = 0; i < 4; i++)
			cdb[10 + i] = blocks >> (24 - 8 * i);
		return 16;
	}
	return -EINVAL;
}

int vsng_cdb_inquiry(uint8_t *cdb, bool evpd, uint8_t page, uint16_t alloc)
{
	memset(cdb, 0, 6);
	cdb[0] = 0x12;
	cdb[1] = evpd;
	cdb[2] = page;
	cdb[3] = alloc >> 8;
	cdb[4] = alloc;
	return 6;
}

/* --- dirty log and hand-over (migration) ------------------------------ */

void *vsng_log_alloc(size_t *len)
{
	void *p;

	*len = VSNG_LOG_TOP / PAGE / 8;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int vsng_log_set_base(struct vsng_dev *d, void *log)
{
	uint64_t base = (uintptr_t)log;
	int err;

	err = vsng_ioctl(d, VHOST_SET_LOG_BASE, &base);
	if (!err)
		d->log = log;
	return err;
}

bool vsng_log_test(const void *log, uint64_t gpa)
{
	const uint8_t *b = log;
	uint64_t p = gpa / PAGE;

	if (gpa >= VSNG_LOG_TOP)
		return false;
	return b[p / 8] & (1u << (p % 8));
}

int vsng_log_count(const void *log, uint64_t gpa, uint64_t len)
{
	uint64_t p;
	int n = 0;

	if (!len)
		return 0;
	for (p = gpa / PAGE; p <= (gpa + len - 1) / PAGE; p++)
		n += vsng_log_test(log, p * PAGE);
	return n;
}

int vsng_log_total(const void *log)
{
	const uint8_t *b = log;
	size_t i;
	int n = 0;

	for (i = 0; i < VSNG_LOG_TOP / PAGE / 8; i++)
		n += __builtin_popcount(b[i]);
	return n;
}

/*
 * The destination side of a migration: a new device on the same guest
 * memory and rings, each queue started at @base[index] (what the source
 * returned from GET_VRING_BASE), the dirty log base and features as the
 * source had them, then SET_ENDPOINT on the same WWPN.  The source's fd is
 * closed first (the caller has cleared its endpoint); the eventfds and the
 * driver's ring state carry over, as they do in a migrated guest.
 */
int vsng_dev_reopen(struct vsng_dev *d, const uint32_t *base)
{
	char wwpn[sizeof(d->wwpn)];
	uint64_t f = d->features;
	int i, err;

	if (d->endpoint)
		return -EBUSY;
	close(d->fd);
	d->fd = open(vsng_dev_path(), O_RDWR | O_CLOEXEC);
	if (d->fd < 0)
		return -errno;
	err = vsng_ioctl(d, VHOST_SET_OWNER, NULL);
	if (!err && d->log)
		err = vsng_log_set_base(d, d->log);
	if (!err)
		err = vsng_ioctl(d, VHOST_SET_FEATURES, &f);
	if (!err)
		err = vsng_mem_set_table(d);
	for (i = 0; !err && i < d->nvqs; i++)
		if (d->vq[i].setup)
			err = vq_program(d, &d->vq[i], base[i]);
	if (err)
		return err;
	snprintf(wwpn, sizeof(wwpn), "%s", d->wwpn);
	return vsng_dev_set_endpoint(d, wwpn);
}

/* --- control and event queues ----------------------------------------- */

static int ctl_alloc(struct vsng_dev *d, struct vsng_ctl *c)
{
	if (c->tmf_req)
		return 0;
	c->tmf_req = vsng_alloc(d, 0, sizeof(*c->tmf_req), 64);
	c->tmf_resp = vsng_alloc(d, 0, sizeof(*c->tmf_resp), 64);
	c->an_req = vsng_alloc(d, 0, sizeof(*c->an_req), 64);
	c->an_resp = vsng_alloc(d, 0, sizeof(*c->an_resp), 64);
	return c->an_resp ? 0 : -ENOMEM;
}

int vsng_tmf_submit(struct vsng_dev *d, struct vsng_ctl *c, uint32_t subtype,
		    uint8_t target, uint16_t lun, uint64_t tag)
{
	struct vsng_vq *vq = &d->vq[VSNG_VQ_CTL];
	struct vsng_seg s[2];
	int head, err;

	err = ctl_alloc(d, c);
	if (err)
		return err;
	memset(c->tmf_req, 0, sizeof(*c->tmf_req));
	c->tmf_req->type = VIRTIO_SCSI_T_TMF;
	c->tmf_req->subtype = subtype;
	vsng_lun_encode(c->tmf_req->lun, target, lun);
	c->tmf_req->tag = tag;
	memset(c->tmf_resp, 0, sizeof(*c->tmf_resp));
	c->tmf_resp->response = 0xff;
	s[0] = (struct vsng_seg){ vsng_gpa(d, c->tmf_req),
				  sizeof(*c->tmf_req), false };
	s[1] = (struct vsng_seg){ vsng_gpa(d, c->tmf_resp),
				  sizeof(*c->tmf_resp), true };
	c->done = false;
	head = vsng_vq_add(vq, s, 2, false, c);
	if (head < 0)
		return head;
	vsng_vq_kick(vq, false);
	return 0;
}

static int ctl_wait(struct vsng_dev *d, struct vsng_ctl *c, int timeout_ms)
{
	struct vsng_vq *vq = &d->vq[VSNG_VQ_CTL];
	uint64_t end = vsng_now_ms() + timeout_ms;
	void *cookie;

	while (!c->done) {
		int64_t left = (int64_t)end - (int64_t)vsng_now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		vsng_vq_wait(vq, left);
		while (vsng_vq_get_used(vq, NULL, &cookie) == 1)
			((struct vsng_ctl *)cookie)->done = true;
	}
	return 0;
}

int vsng_tmf(struct vsng_dev *d, uint32_t subtype, uint8_t target,
	     uint16_t lun, uint64_t tag, uint8_t *response, int timeout_ms)
{
	struct vsng_ctl c = { 0 };
	int err;

	err = vsng_tmf_submit(d, &c, subtype, target, lun, tag);
	if (err)
		return err;
	err = ctl_wait(d, &c, timeout_ms);
	if (!err)
		*response = c.tmf_resp->response;
	return err;
}

int vsng_an(struct vsng_dev *d, uint32_t type, uint8_t target, uint16_t lun,
	    uint32_t requested, uint32_t *actual, uint8_t *response,
	    int timeout_ms)
{
	struct vsng_vq *vq = &d->vq[VSNG_VQ_CTL];
	struct vsng_ctl c = { 0 };
	struct vsng_seg s[2];
	int head, err;

	err = ctl_alloc(d, &c);
	if (err)
		return err;
	c.an_req->type = type;
	vsng_lun_encode(c.an_req->lun, target, lun);
	c.an_req->event_requested = requested;
	c.an_resp->response = 0xff;
	c.an_resp->event_actual = 0xdeadbeef;
	s[0] = (struct vsng_seg){ vsng_gpa(d, c.an_req), sizeof(*c.an_req),
				  false };
	s[1] = (struct vsng_seg){ vsng_gpa(d, c.an_resp), sizeof(*c.an_resp),
				  true };
	head = vsng_vq_add(vq, s, 2, false, &c);
	if (head < 0)
		return head;
	vsng_vq_kick(vq, false);
	err = ctl_wait(d, &c, timeout_ms);
	if (!err) {
		*response = c.an_resp->response;
		*actual = c.an_resp->event_actual;
	}
	return err;
}

int vsng_evt_post(struct vsng_dev *d, int n)
{
	struct vsng_vq *vq = &d->vq[VSNG_VQ_EVT];
	int i, head;

	for (i = 0; i < n; i++) {
		struct virtio_scsi_event *ev = vsng_alloc(d, 0, sizeof(*ev), 16);
		struct vsng_seg s;

		if (!ev)
			return -ENOMEM;
		memset(ev, 0xee, sizeof(*ev));
		s = (struct vsng_seg){ vsng_gpa(d, ev), sizeof(*ev), true };
		head = vsng_vq_add(vq, &s, 1, false, ev);
		if (head < 0)
			return head;
	}
	vsng_vq_kick(vq, false);
	return 0;
}

int vsng_evt_get(struct vsng_dev *d, struct virtio_scsi_event *ev,
		 int timeout_ms)
{
	struct vsng_vq *vq = &d->vq[VSNG_VQ_EVT];
	void *cookie;

	if (!vsng_vq_wait(vq, timeout_ms))
		return 0;
	if (vsng_vq_get_used(vq, NULL, &cookie) != 1 || !cookie)
		return -EIO;
	memcpy(ev, cookie, sizeof(*ev));
	return 1;
}
