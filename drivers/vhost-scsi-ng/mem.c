// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: the guest memory table and the dirty log.
 *
 * The table maps guest-physical ranges onto the owner's (QEMU's) virtual
 * addresses.  It is kept sorted by guest address with no overlap, so a
 * lookup is a binary search; a buffer that crosses regions becomes one
 * iovec per region.  Nothing outside the table is ever reachable from a
 * guest address.
 *
 * The dirty log is a bitmap in the owner's memory at dev->log_base, one
 * bit per 4 KiB guest page (VHOST_PAGE_SIZE), like in-tree vhost: bit p
 * lives in byte p / 8, bit p % 8.  We log used-ring writes (vq->log_used)
 * and, unlike in-tree 6.12, every data-in buffer the device writes.
 */
#include <linux/export.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <kunit/visibility.h>
#include "compat.h"
#include "engine.h"

/*
 * The most regions SET_MEM_TABLE accepts.  QEMU does not ask us: it reads
 * /sys/module/vhost/parameters/max_mem_regions (the in-tree vhost.ko's
 * limit, 64 by default) and assumes 64 when vhost.ko is not loaded, so it
 * never sends more than that.  Our default is far above it; raise vhost's
 * parameter to let QEMU use more slots, and keep ours at least as large.
 */
static ushort vsng_max_mem_regions = VSNG_MAX_MEM_REGIONS;
module_param_named(max_mem_regions, vsng_max_mem_regions, ushort, 0644);
MODULE_PARM_DESC(max_mem_regions,
		 "Most guest memory regions in SET_MEM_TABLE (default 509; QEMU reads vhost.max_mem_regions, or assumes 64)");

/* Guest pages covered by one byte of the log bitmap: 8, one per bit. */
#define VSNG_LOG_SHIFT	(ilog2(VHOST_PAGE_SIZE) + 3)

const struct vsng_mem_region *vsng_mem_find(const struct vsng_memtable *mt,
					    u64 gpa)
{
	unsigned int lo = 0, hi = mt->nregions;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct vsng_mem_region *r = &mt->regions[mid];

		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_mem_find);

/*
 * Translate [gpa, gpa + len) into at most @iov_max iovecs.  Returns the
 * number used, -EFAULT if any byte is outside the table, -ENOBUFS if more
 * iovecs would be needed.  The caller checked that gpa + len does not wrap.
 */
int vsng_mem_translate(const struct vsng_memtable *mt, u64 gpa, u64 len,
		       struct iovec *iov, unsigned int iov_max)
{
	const struct vsng_mem_region *r;
	unsigned int n = 0;
	u64 off, chunk;

	while (len) {
		if (n >= iov_max)
			return -ENOBUFS;
		r = vsng_mem_find(mt, gpa);
		if (!r)
			return -EFAULT;
		off = gpa - r->gpa;
		chunk = min(len, r->size - off);
		iov[n].iov_base = u64_to_user_ptr(r->uaddr + off);
		iov[n].iov_len = chunk;
		n++;
		gpa += chunk;
		len -= chunk;
	}
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(vsng_mem_translate);

/* Copy @len bytes of guest memory at @gpa, across regions if needed. */
int vsng_mem_read(const struct vsng_memtable *mt, u64 gpa, void *buf,
		  size_t len)
{
	const struct vsng_mem_region *r;
	u64 off, chunk;

	if (gpa + len < gpa)
		return -EFAULT;
	while (len) {
		r = vsng_mem_find(mt, gpa);
		if (!r)
			return -EFAULT;
		off = gpa - r->gpa;
		chunk = min_t(u64, len, r->size - off);
		if (copy_from_user(buf, u64_to_user_ptr(r->uaddr + off), chunk))
			return -EFAULT;
		buf += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

/* Can the bitmap at @log_base cover guest range [gpa, gpa + len)? */
bool vsng_log_range_ok(void __user *log_base, u64 gpa, u64 len)
{
	unsigned long base = (unsigned long)log_base;
	u64 first, last;

	if (!len)
		return true;
	if (gpa + len - 1 < gpa)
		return false;
	first = gpa >> VSNG_LOG_SHIFT;
	last = (gpa + len - 1) >> VSNG_LOG_SHIFT;
	if (last > ULONG_MAX - base)
		return false;
	return access_ok(log_base + first, last - first + 1);
}

bool vsng_mem_log_access_ok(const struct vsng_memtable *mt,
			    void __user *log_base)
{
	unsigned int i;

	if (!mt)
		return true;
	for (i = 0; i < mt->nregions; i++)
		if (!vsng_log_range_ok(log_base, mt->regions[i].gpa,
				       mt->regions[i].size))
			return false;
	return true;
}

/*
 * Set the log bits of guest pages [first, last].  The bitmap lives in the
 * owner's memory: pin one bitmap page at a time and set bits atomically,
 * since QEMU clears them concurrently.
 */
static int vsng_log_set_bits(void __user *log_base, u64 first, u64 last)
{
	unsigned long base = (unsigned long)log_base;
	unsigned long ua, upage;
	struct page *page;
	void *kaddr;
	u64 p = first;
	int r;

	while (p <= last) {
		if ((p >> 3) > ULONG_MAX - base)
			return -EFAULT;
		ua = base + (unsigned long)(p >> 3);
		upage = ua & PAGE_MASK;
		r = pin_user_pages_fast(upage, 1, FOLL_WRITE, &page);
		if (r != 1)
			return r < 0 ? r : -EFAULT;
		kaddr = kmap_local_page(page);
		do {
			unsigned long nr;

			ua = base + (unsigned long)(p >> 3);
			if ((ua & PAGE_MASK) != upage)
				break;
			nr = ((ua & ~PAGE_MASK) << 3) + (p & 7);
			set_bit(nr, kaddr);
		} while (p++ < last);
		kunmap_local(kaddr);
		unpin_user_pages_dirty_lock(&page, 1, true);
		if (p > last || p == 0)
			break;
	}
	return 0;
}

int vsng_log_gpa(struct vsng_vq *vq, u64 gpa, u64 len)
{
	void __user *log_base = READ_ONCE(vq->dev->log_base);

	if (!len)
		return 0;
	if (!log_base || gpa + len - 1 < gpa)
		return -EFAULT;
	return vsng_log_set_bits(log_base, gpa / VHOST_PAGE_SIZE,
				 (gpa + len - 1) / VHOST_PAGE_SIZE);
}

int vsng_log_used(struct vsng_vq *vq, u64 offset, u64 len)
{
	return vsng_log_gpa(vq, vq->log_addr + offset, len);
}

/*
 * Log a device write at owner address [@uaddr, @uaddr + @len) that has no
 * recorded guest address: the packed ring's used elements, which go to
 * the descriptor ring (SET_VRING_ADDR gives only its owner address).  The
 * current memory table maps it back; every region that overlaps the range
 * is logged (a ring may straddle regions).  vq->mutex held.
 */
int vsng_log_uaddr(struct vsng_vq *vq, u64 uaddr, u64 len)
{
	const struct vsng_memtable *mt = vsng_vq_mem(vq);
	const struct vsng_mem_region *r;
	u64 end = uaddr + len, s, e;
	int ret = 0, err;
	bool found = false;
	u32 i;

	if (!len)
		return 0;
	if (!mt || end < uaddr)
		return -EFAULT;
	for (i = 0; i < mt->nregions; i++) {
		r = &mt->regions[i];
		s = max(uaddr, r->uaddr);
		e = min(end, r->uaddr + r->size);
		if (s >= e)
			continue;
		found = true;
		err = vsng_log_gpa(vq, r->gpa + (s - r->uaddr), e - s);
		ret = ret ?: err;
	}
	if (!found)
		ret = -EFAULT;
	if (unlikely(ret)) {
		vq->stats.errors++;
		pr_err_ratelimited(VSNG_NAME ": dev %u vq %u: cannot log ring write at %#llx+%llu (%d)\n",
				   vq->dev->id, vq->index, uaddr, len, ret);
	}
	return ret;
}

/* ---- ioctls ----------------------------------------------------------- */

static int vsng_region_cmp(const void *a, const void *b)
{
	const struct vsng_mem_region *x = a, *y = b;

	if (x->gpa < y->gpa)
		return -1;
	return x->gpa > y->gpa;
}

/*
 * VHOST_SET_MEM_TABLE.  Errors: -EOPNOTSUPP padding set, -E2BIG more than
 * max_mem_regions, -EINVAL zero size / wrap / overlap, -EFAULT
 * unreadable argument, owner range not accessible, or a table the dirty log
 * cannot cover while LOG_ALL is on (like in-tree).
 */
long vsng_set_mem_table(struct vsng_dev *dev, void __user *argp)
{
	struct vhost_memory __user *um = argp;
	struct vhost_memory_region *raw;
	struct vsng_memtable *mt, *old;
	struct vhost_memory hdr;
	unsigned int i;
	long r;

	lockdep_assert_held(&dev->mutex);
	if (copy_from_user(&hdr, um, offsetof(struct vhost_memory, regions)))
		return -EFAULT;
	if (hdr.padding)
		return -EOPNOTSUPP;
	if (hdr.nregions > READ_ONCE(vsng_max_mem_regions))
		return -E2BIG;

	raw = kvmalloc_array(hdr.nregions, sizeof(*raw), GFP_KERNEL);
	if (!raw)
		return -ENOMEM;
	mt = kvzalloc(struct_size(mt, regions, hdr.nregions), GFP_KERNEL);
	if (!mt) {
		r = -ENOMEM;
		goto free_raw;
	}
	if (copy_from_user(raw, um->regions, sizeof(*raw) * hdr.nregions)) {
		r = -EFAULT;
		goto free_mt;
	}

	mt->nregions = hdr.nregions;
	for (i = 0; i < hdr.nregions; i++) {
		u64 gpa = raw[i].guest_phys_addr;
		u64 size = raw[i].memory_size;
		u64 ua = raw[i].userspace_addr;

		r = -EINVAL;
		if (!size || gpa + size - 1 < gpa || ua + size - 1 < ua ||
		    (u64)(unsigned long)(ua + size - 1) != ua + size - 1)
			goto free_mt;
		r = -EFAULT;
		if (!access_ok(u64_to_user_ptr(ua), size))
			goto free_mt;
		mt->regions[i].gpa = gpa;
		mt->regions[i].size = size;
		mt->regions[i].uaddr = ua;
	}
	sort(mt->regions, mt->nregions, sizeof(mt->regions[0]),
	     vsng_region_cmp, NULL);
	r = -EINVAL;
	for (i = 1; i < mt->nregions; i++)
		if (mt->regions[i].gpa - mt->regions[i - 1].gpa <
		    mt->regions[i - 1].size)
			goto free_mt;

	r = -EFAULT;
	if ((dev->acked_features & (1ULL << VHOST_F_LOG_ALL)) &&
	    !vsng_mem_log_access_ok(mt, dev->log_base))
		goto free_mt;

	old = rcu_replace_pointer(dev->mem, mt, lockdep_is_held(&dev->mutex));
	/* Once every queue let go of its mutex, none can see @old. */
	vsng_dev_cycle_vqs(dev);
	kvfree(old);
	kvfree(raw);
	return 0;

free_mt:
	kvfree(mt);
free_raw:
	kvfree(raw);
	return r;
}

/* VHOST_SET_LOG_BASE: -EFAULT if the bitmap cannot cover what it must. */
long vsng_set_log_base(struct vsng_dev *dev, void __user *argp)
{
	const struct vsng_memtable *mt;
	void __user *base;
	struct vsng_vq *vq;
	bool ok = true;
	u64 p;
	int i;

	lockdep_assert_held(&dev->mutex);
	if (copy_from_user(&p, argp, sizeof(p)))
		return -EFAULT;
	if ((u64)(unsigned long)p != p)
		return -EFAULT;
	base = u64_to_user_ptr(p);

	mt = rcu_dereference_protected(dev->mem, lockdep_is_held(&dev->mutex));
	if ((dev->acked_features & (1ULL << VHOST_F_LOG_ALL)) &&
	    !vsng_mem_log_access_ok(mt, base))
		return -EFAULT;
	for (i = 0; i < dev->nvqs && ok; i++) {
		vq = dev->vqs[i];
		mutex_lock(&vq->mutex);
		/* Idle rings are checked when their backend starts. */
		if (vq->private_data && vq->log_used)
			ok = vsng_log_range_ok(base, vq->log_addr,
					       vsng_ring_used_size(vq, vq->num));
		mutex_unlock(&vq->mutex);
	}
	if (!ok)
		return -EFAULT;
	WRITE_ONCE(dev->log_base, base);
	vsng_dev_cycle_vqs(dev);
	return 0;
}

/* VHOST_SET_LOG_FD: the eventfd signalled after log bits were set. */
long vsng_set_log_fd(struct vsng_dev *dev, void __user *argp)
{
	struct eventfd_ctx *ctx;
	int fd;

	lockdep_assert_held(&dev->mutex);
	if (get_user(fd, (int __user *)argp))
		return -EFAULT;
	ctx = fd == VHOST_FILE_UNBIND ? NULL : eventfd_ctx_fdget(fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	swap(ctx, dev->log_ctx);
	/* Queues read dev->log_ctx under their mutex: wait them out. */
	vsng_dev_cycle_vqs(dev);
	if (ctx)
		eventfd_ctx_put(ctx);
	return 0;
}

void vsng_mem_free(struct vsng_dev *dev)
{
	kvfree(rcu_replace_pointer(dev->mem, NULL, true));
}
