// SPDX-License-Identifier: GPL-2.0
/*
 * vsng_fuzz: the device of a run.  Every run opens a fresh device on the
 * same LIO target and the same guest-memory mapping (mapped and poisoned
 * once), so that an input replays alone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fuzz.h"

int fz_set_owner(int fd)
{
	if (fz_kcov_on())
		return fz_kcov_owner_thread_set_owner(fd);
	return ioctl(fd, VHOST_SET_OWNER, NULL) ? -errno : 0;
}

static int dev_up(struct fz *f, uint64_t features, int nreq, unsigned int qsz)
{
	struct vsng_dev *d = &f->d;
	int err, i;

	err = vsng_dev_open(d, NULL);
	if (err)
		return err;
	err = fz_set_owner(d->fd);
	if (err)
		goto fail;
	err = vsng_ioctl(d, VHOST_GET_FEATURES, &d->offered);
	if (err)
		goto fail;
	f->offered = d->offered;
	features &= d->offered;
	err = vsng_ioctl(d, VHOST_SET_FEATURES, &features);
	if (err)
		goto fail;
	d->features = f->features = features;
	d->packed = !!(features & VSNG_F_RING_PACKED);
	d->mem = f->mem;
	d->mem.r[0].brk = f->brk0;
	err = vsng_mem_set_table(d);
	if (err)
		goto fail;
	err = vsng_vq_setup(d, VSNG_VQ_CTL, qsz);
	if (!err)
		err = vsng_vq_setup(d, VSNG_VQ_EVT, qsz);
	for (i = 0; !err && i < nreq; i++)
		err = vsng_vq_setup(d, VSNG_VQ_REQ + i, qsz);
	if (err)
		goto fail;
	err = vsng_dev_set_endpoint(d, f->t->wwpn);
	if (err)
		goto fail;
	f->nreq = nreq;
	memset(f->q, 0, sizeof(f->q));
	f->up = true;
	f->dirty = false;
	return 0;
fail:
	fprintf(stderr, "# fuzz: device setup: %s\n", strerror(-err));
	fz_dev_down(f);
	return err;
}

int fz_dev_up(struct fz *f, uint64_t features, int nreq, unsigned int qsz)
{
	uint64_t t0 = vsng_now_ms();
	int err = dev_up(f, features, nreq, qsz);

	f->st.setup_ms += vsng_now_ms() - t0;
	return err;
}

/*
 * A virtio reset instead of a new device, as QEMU does when the guest
 * resets the device: CLEAR_ENDPOINT (what is in flight is answered or
 * dropped), @features and the whole memory table again, every ring back
 * to index 0, SET_ENDPOINT.  The fd, its owner, workers and eventfds
 * stay.  A broken queue is running again after it.
 */
int fz_dev_soft_reset(struct fz *f, uint64_t features)
{
	struct vsng_dev *d = &f->d;
	uint64_t t0 = vsng_now_ms();
	int err, qi;

	features &= f->offered;
	/* the rings are laid out for one format: a new device for another */
	if (!!(features & VSNG_F_RING_PACKED) != d->packed)
		return -EINVAL;
	err = vsng_dev_clear_endpoint(d);
	if (!err)
		err = vsng_ioctl(d, VHOST_SET_FEATURES, &features);
	if (!err) {
		d->features = f->features = features;
		for (qi = 0; qi < VSNG_MAX_VQS; qi++)
			d->vq[qi].event_idx = !!(features & VSNG_F_EVENT_IDX);
		err = vsng_mem_set_table(d);
	}
	for (qi = 0; !err && qi < 2 + f->nreq; qi++)
		err = vsng_vq_restart(d, qi);
	if (!err)
		err = vsng_dev_set_endpoint(d, f->t->wwpn);
	memset(f->q, 0, sizeof(f->q));
	f->dirty = false;
	f->st.setup_ms += vsng_now_ms() - t0;
	return err;
}

/* Close the device, whatever is in flight (the release path waits). */
void fz_dev_down(struct fz *f)
{
	struct vsng_dev *d = &f->d;
	uint64_t t0 = vsng_now_ms();

	d->mem.map = NULL;	/* the mapping is kept for the next device */
	if (d->fd >= 0 || f->up)
		vsng_dev_close(d);
	d->fd = -1;
	f->up = false;
	f->st.setup_ms += vsng_now_ms() - t0;
}
