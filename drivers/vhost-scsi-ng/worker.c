// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: workers.
 *
 * A worker is a thread that runs queued struct vsng_work items in the
 * owner's address space, so ring and data accesses are plain user copies.
 * With vhost_task (6.11+) it is a thread of the owner process itself
 * (accounted to it, killed with it); on older kernels it is a kthread that
 * adopts the owner's mm and joins the owner's cgroups.
 *
 * Placement: SET_OWNER makes a default worker and attaches it to every
 * queue (so GET_VRING_WORKER answers like in-tree).  At SET_VRING_KICK a
 * request queue (index >= 2) that userspace did not attach itself gets a
 * worker of its own, unless dev->shared_worker asks for the single-worker
 * comparison mode.  Queues 0 and 1 (control, event) share the default one.
 *
 * Owner SIGKILL: the vhost_task calls vsng_worker_killed() before it exits.
 * It detaches the worker from its queues, runs what was already queued,
 * and marks the device orphaned: work queued afterwards (LIO completions
 * of I/O still in flight, say) runs on dev->orphan_work, a kworker that
 * borrows the owner's mm, which we keep alive with our mm reference.  So
 * nothing is lost and flushes never wait on a dead thread.
 *
 * Locking: dev->mutex -> dev->worker_rwsem -> worker->mutex -> vq->mutex.
 * worker_rwsem keeps workers alive while vsng_dev_flush() walks them (it
 * may run without dev->mutex); freeing takes it for writing.  worker->mutex
 * protects attachment_cnt and killed and serialises flush, attach, free
 * and the kill handler.  vq->worker is changed with both worker->mutex and
 * vq->mutex held and read under RCU by vsng_vq_work_queue().
 *
 * KCOV: a worker remembers the owner's common KCOV handle and runs each
 * item as a remote-coverage section, as the vhost core does, so a fuzzer
 * that enabled remote coverage with that handle sees the data path.  On a
 * kernel without CONFIG_KCOV the calls are empty.
 */
#include <linux/cgroup.h>
#include <linux/kcov.h>
#include <linux/kthread.h>
#include <linux/nospec.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "compat.h"
#include "engine.h"

struct vsng_worker {
	struct vsng_dev *dev;
#ifdef HAVE_VHOST_TASK
	struct vhost_task *vtsk;
#else
	struct task_struct *task;
	/* Only while vsng_worker_start() waits for the thread to start: */
	struct task_struct *owner;	/* whose cgroups to join */
	struct completion started;	/* it tried */
	int start_err;			/* and got this */
#endif
	struct llist_head work_list;	/* lock-free: queued vsng_work */
	struct mutex mutex;		/* see the top of this file */
	int attachment_cnt;		/* queues using us; worker->mutex */
	bool killed;			/* owner SIGKILLed us; worker->mutex */
	u32 id;				/* key in dev->worker_xa */
	u64 kcov_handle;		/* owner's; set at creation */
	pid_t tid;			/* the thread's, set by itself */
};

struct vsng_flush {
	struct vsng_work work;
	struct completion done;
};

void vsng_work_init(struct vsng_work *work, vsng_work_fn_t fn)
{
	clear_bit(VSNG_WORK_QUEUED, &work->flags);
	work->fn = fn;
}

/*
 * Run everything queued on @list, each item as a KCOV remote section of
 * @kcov_handle (0: none); returns whether anything ran.
 */
static bool vsng_run_list(struct llist_head *list, u64 kcov_handle)
{
	struct vsng_work *work, *next;
	struct llist_node *node;

	node = llist_del_all(list);
	if (!node)
		return false;
	__set_current_state(TASK_RUNNING);
	node = llist_reverse_order(node);
	/* Clear QUEUED only after the item left the list. */
	smp_wmb();
	llist_for_each_entry_safe(work, next, node, node) {
		clear_bit(VSNG_WORK_QUEUED, &work->flags);
		kcov_remote_start_common(kcov_handle);
		work->fn(work);
		kcov_remote_stop();
		cond_resched();
	}
	return true;
}

static void vsng_worker_wake(struct vsng_worker *w)
{
#ifdef HAVE_VHOST_TASK
	vhost_task_wake(w->vtsk);
#else
	wake_up_process(w->task);
#endif
}

static void vsng_worker_queue(struct vsng_worker *w, struct vsng_work *work)
{
	/* test_and_set_bit() orders the flag before the list insertion. */
	if (!test_and_set_bit(VSNG_WORK_QUEUED, &work->flags)) {
		llist_add(&work->node, &w->work_list);
		vsng_worker_wake(w);
	}
}

bool vsng_vq_work_queue(struct vsng_vq *vq, struct vsng_work *work)
{
	struct vsng_dev *dev = vq->dev;
	struct vsng_worker *w;
	bool queued = true;

	rcu_read_lock();
	w = rcu_dereference(vq->worker);
	if (w) {
		vsng_worker_queue(w, work);
	} else if (READ_ONCE(dev->orphaned) && !READ_ONCE(dev->dying)) {
		if (!test_and_set_bit(VSNG_WORK_QUEUED, &work->flags)) {
			llist_add(&work->node, &dev->orphan_list);
			queue_work(system_unbound_wq, &dev->orphan_work);
		}
	} else {
		queued = false;
	}
	rcu_read_unlock();
	return queued;
}

/* Work left behind by a killed owner, run with the owner's mm. */
static void vsng_orphan_fn(struct work_struct *ws)
{
	struct vsng_dev *dev = container_of(ws, struct vsng_dev, orphan_work);
	struct mm_struct *mm = READ_ONCE(dev->mm);

	/* dev->mm stays referenced until cleanup has flushed us. */
	if (mm)
		kthread_use_mm(mm);
	while (vsng_run_list(&dev->orphan_list, 0))
		;
	if (mm)
		kthread_unuse_mm(mm);
}

static void vsng_flush_fn(struct vsng_work *work)
{
	complete(&container_of(work, struct vsng_flush, work)->done);
}

/* worker->mutex held; dropped while waiting so a kill can proceed. */
static void __vsng_worker_flush(struct vsng_worker *w)
{
	struct vsng_flush f;

	lockdep_assert_held(&w->mutex);
	if (w->killed)
		return;
	init_completion(&f.done);
	vsng_work_init(&f.work, vsng_flush_fn);
	vsng_worker_queue(w, &f.work);
	mutex_unlock(&w->mutex);
	wait_for_completion(&f.done);
	mutex_lock(&w->mutex);
}

static void vsng_worker_flush(struct vsng_worker *w)
{
	mutex_lock(&w->mutex);
	__vsng_worker_flush(w);
	mutex_unlock(&w->mutex);
}

void vsng_dev_flush(struct vsng_dev *dev)
{
	struct vsng_worker *w;
	unsigned long i;

	/* Keeps FREE_WORKER/release from freeing a worker under us. */
	down_read(&dev->worker_rwsem);
	xa_for_each(&dev->worker_xa, i, w)
		vsng_worker_flush(w);
	up_read(&dev->worker_rwsem);
	flush_work(&dev->orphan_work);
}

#ifdef HAVE_VHOST_TASK
static bool vsng_vhost_task_fn(void *data)
{
	struct vsng_worker *w = data;

	if (unlikely(!READ_ONCE(w->tid)))
		WRITE_ONCE(w->tid, task_pid_nr(current));
	return vsng_run_list(&w->work_list, w->kcov_handle);
}

/* The owner was SIGKILLed; runs in the dying worker itself. */
static void vsng_worker_killed(void *data)
{
	struct vsng_worker *w = data;
	struct vsng_dev *dev = w->dev;
	struct vsng_vq *vq;
	int i, detached = 0;

	mutex_lock(&w->mutex);
	w->killed = true;
	/* From now on work for detached queues goes to orphan_work. */
	WRITE_ONCE(dev->orphaned, true);
	for (i = 0; i < dev->nvqs; i++) {
		vq = dev->vqs[i];
		mutex_lock(&vq->mutex);
		if (rcu_access_pointer(vq->worker) == w) {
			rcu_assign_pointer(vq->worker, NULL);
			detached++;
		}
		mutex_unlock(&vq->mutex);
	}
	w->attachment_cnt -= detached;
	if (detached)
		synchronize_rcu();
	/* Whatever slipped in before the detach, flushes included. */
	vsng_run_list(&w->work_list, w->kcov_handle);
	mutex_unlock(&w->mutex);
}

static int vsng_worker_start(struct vsng_worker *w, const char *name)
{
	struct vhost_task *vtsk;

	vtsk = vhost_task_create(vsng_vhost_task_fn, vsng_worker_killed, w,
				 name);
	if (IS_ERR(vtsk))
		return PTR_ERR(vtsk);
	w->vtsk = vtsk;
	vhost_task_start(vtsk);
	return 0;
}

static void vsng_worker_stop(struct vsng_worker *w)
{
	vhost_task_stop(w->vtsk);
}
#else
static int vsng_kthread_fn(void *data)
{
	struct vsng_worker *w = data;
	struct mm_struct *mm = w->dev->mm;

	WRITE_ONCE(w->tid, task_pid_nr(current));
	/*
	 * A kthread starts in kthreadd's cgroups: join the owner's, so that
	 * the owner's limits hold the work it makes us do, as in-tree 6.1
	 * vhost does at SET_OWNER.  vsng_worker_start() waits for this (the
	 * owner stays alive meanwhile) and stops us if it failed.
	 */
	w->start_err = cgroup_attach_task_all(w->owner, current);
	complete(&w->started);
	kthread_use_mm(mm);
	for (;;) {
		/* Pairs with kthread_stop(); see vsng_worker_queue(). */
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		if (!vsng_run_list(&w->work_list, w->kcov_handle))
			schedule();
	}
	/* Anything queued after the last pass (flushes) still runs. */
	vsng_run_list(&w->work_list, w->kcov_handle);
	kthread_unuse_mm(mm);
	return 0;
}

/* In the owner's context. */
static int vsng_worker_start(struct vsng_worker *w, const char *name)
{
	struct task_struct *t;

	w->owner = current;
	init_completion(&w->started);
	t = kthread_create(vsng_kthread_fn, w, "%s", name);
	if (IS_ERR(t))
		return PTR_ERR(t);
	w->task = t;
	wake_up_process(t);
	wait_for_completion(&w->started);
	w->owner = NULL;
	if (w->start_err) {
		kthread_stop(t);
		return w->start_err;
	}
	return 0;
}

static void vsng_worker_stop(struct vsng_worker *w)
{
	kthread_stop(w->task);
}
#endif

/* Make a worker in the caller's (the owner's) context.  dev->mutex held. */
static struct vsng_worker *vsng_worker_create(struct vsng_dev *dev)
{
	char name[TASK_COMM_LEN];
	struct vsng_worker *w;
	u32 id;
	int r;

	lockdep_assert_held(&dev->mutex);
	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return ERR_PTR(-ENOMEM);
	w->dev = dev;
	w->kcov_handle = kcov_common_handle();
	init_llist_head(&w->work_list);
	mutex_init(&w->mutex);
	snprintf(name, sizeof(name), "vhost-%d", current->pid);

	r = vsng_worker_start(w, name);
	if (r)
		goto free_worker;
	r = xa_alloc(&dev->worker_xa, &id, w, xa_limit_32b, GFP_KERNEL);
	if (r)
		goto stop_worker;
	w->id = id;
	return w;

stop_worker:
	vsng_worker_stop(w);
free_worker:
	kfree(w);
	return ERR_PTR(r);
}

/* dev->worker_rwsem held for writing. */
static void vsng_worker_destroy(struct vsng_dev *dev, struct vsng_worker *w)
{
	lockdep_assert_held_write(&dev->worker_rwsem);
	xa_erase(&dev->worker_xa, w->id);
	vsng_worker_stop(w);
	WARN_ON_ONCE(!llist_empty(&w->work_list));
	if (dev->default_worker == w)
		dev->default_worker = NULL;
	kfree(w);
}

/*
 * Point @vq at @w.  dev->mutex held.  If the queue was live on another
 * worker, wait until no queue/flush can still see the old one and run
 * what was queued there, so work never runs on two threads at once.
 */
static void vsng_vq_attach(struct vsng_vq *vq, struct vsng_worker *w)
{
	struct vsng_worker *old;
	bool live;

	mutex_lock(&w->mutex);
	if (w->killed) {
		mutex_unlock(&w->mutex);
		return;
	}
	mutex_lock(&vq->mutex);
	old = rcu_dereference_protected(vq->worker,
					lockdep_is_held(&vq->mutex));
	if (old == w) {
		mutex_unlock(&vq->mutex);
		mutex_unlock(&w->mutex);
		return;
	}
	rcu_assign_pointer(vq->worker, w);
	w->attachment_cnt++;
	live = vq->private_data || vq->kick;
	mutex_unlock(&vq->mutex);
	mutex_unlock(&w->mutex);
	if (!old)
		return;

	mutex_lock(&old->mutex);
	if (old->killed) {
		mutex_unlock(&old->mutex);
		return;
	}
	if (live) {
		synchronize_rcu();
		__vsng_worker_flush(old);
	}
	old->attachment_cnt--;
	mutex_unlock(&old->mutex);
}

void vsng_workers_init(struct vsng_dev *dev)
{
	init_rwsem(&dev->worker_rwsem);
	INIT_WORK(&dev->orphan_work, vsng_orphan_fn);
}

/* SET_OWNER: the default worker, attached to every queue. */
int vsng_workers_setup(struct vsng_dev *dev)
{
	struct vsng_worker *w;
	int i;

	lockdep_assert_held(&dev->mutex);
	w = vsng_worker_create(dev);
	if (IS_ERR(w))
		return PTR_ERR(w);
	dev->default_worker = w;
	for (i = 0; i < dev->nvqs; i++)
		vsng_vq_attach(dev->vqs[i], w);
	return 0;
}

/*
 * SET_VRING_KICK: give a request queue its own worker unless userspace
 * chose one or the device runs in shared mode.  Failure to create one is
 * not fatal: the queue keeps the default worker.
 */
void vsng_vq_worker_ensure(struct vsng_vq *vq)
{
	struct vsng_dev *dev = vq->dev;
	struct vsng_worker *cur, *w;
	bool want_own;

	lockdep_assert_held(&dev->mutex);
	if (READ_ONCE(dev->dying))
		return;
	mutex_lock(&vq->mutex);
	cur = rcu_dereference_protected(vq->worker,
					lockdep_is_held(&vq->mutex));
	want_own = vq->index >= 2 && !dev->shared_worker &&
		   !vq->worker_by_user &&
		   (!cur || cur == dev->default_worker);
	mutex_unlock(&vq->mutex);

	if (!want_own) {
		if (!cur && dev->default_worker)
			vsng_vq_attach(vq, dev->default_worker);
		return;
	}
	w = vsng_worker_create(dev);
	if (IS_ERR(w)) {
		pr_warn_ratelimited(VSNG_NAME ": vq %u: no worker of its own (%ld), sharing\n",
				    vq->index, PTR_ERR(w));
		if (!cur && dev->default_worker)
			vsng_vq_attach(vq, dev->default_worker);
		return;
	}
	vsng_vq_attach(vq, w);
}

bool vsng_worker_alive(struct vsng_vq *vq)
{
	return rcu_access_pointer(vq->worker);
}

/* Thread id of @vq's worker for debugfs, 0 if none (or not started yet). */
pid_t vsng_worker_tid(struct vsng_vq *vq)
{
	struct vsng_worker *w;
	pid_t tid = 0;

	rcu_read_lock();
	w = rcu_dereference(vq->worker);
	if (w)
		tid = READ_ONCE(w->tid);
	rcu_read_unlock();
	return tid;
}

/* Release: stop every worker; dev->mutex need not be held (last user). */
void vsng_workers_free(struct vsng_dev *dev)
{
	struct vsng_worker *w;
	unsigned long i;
	int j;

	/* Run what is pending while the queues can still reach it. */
	vsng_dev_flush(dev);
	WRITE_ONCE(dev->dying, true);
	for (j = 0; j < dev->nvqs; j++) {
		mutex_lock(&dev->vqs[j]->mutex);
		RCU_INIT_POINTER(dev->vqs[j]->worker, NULL);
		mutex_unlock(&dev->vqs[j]->mutex);
	}
	synchronize_rcu();
	down_write(&dev->worker_rwsem);
	xa_for_each(&dev->worker_xa, i, w)
		vsng_worker_destroy(dev, w);
	up_write(&dev->worker_rwsem);
	xa_destroy(&dev->worker_xa);
	xa_init_flags(&dev->worker_xa, XA_FLAGS_ALLOC);
	dev->default_worker = NULL;
	/* No new orphan work can be queued now; finish the old. */
	flush_work(&dev->orphan_work);
	dev->orphaned = false;
}

/* ---- worker ioctls ---------------------------------------------------- */

static struct vsng_worker *vsng_worker_find(struct vsng_dev *dev, u32 id)
{
	return xa_load(&dev->worker_xa, id);
}

static long vsng_free_worker(struct vsng_dev *dev, u32 id)
{
	struct vsng_worker *w;
	long r = 0;

	down_write(&dev->worker_rwsem);
	w = vsng_worker_find(dev, id);
	if (!w) {
		r = -ENODEV;
		goto out;
	}
	mutex_lock(&w->mutex);
	if (w->attachment_cnt || w->killed) {
		mutex_unlock(&w->mutex);
		r = -EBUSY;
		goto out;
	}
	/* A flush may have been queued before the last detach. */
	__vsng_worker_flush(w);
	mutex_unlock(&w->mutex);
	vsng_worker_destroy(dev, w);
out:
	up_write(&dev->worker_rwsem);
	return r;
}

/*
 * NEW_WORKER, FREE_WORKER, ATTACH_VRING_WORKER, GET_VRING_WORKER with the
 * in-tree 6.12 error codes: -EINVAL without an owner, -EPERM from another
 * process, -ENOBUFS for a queue index >= nvqs, -ENODEV for an unknown
 * worker id, -EBUSY to free an attached (or killed) worker, -EINVAL for
 * GET on a queue with no worker.  Without vhost_task (6.1) the ioctls do
 * not exist, as in-tree 6.1: -ENOIOCTLCMD (QEMU then only warns).
 */
long vsng_worker_ioctl(struct vsng_dev *dev, unsigned int ioctl,
		       void __user *argp)
{
	struct vhost_vring_worker rw;
	struct vhost_worker_state st;
	struct vsng_worker *w;
	struct vsng_vq *vq;
	long r;
	u32 idx;

	switch (ioctl) {
	case VHOST_NEW_WORKER:
	case VHOST_FREE_WORKER:
	case VHOST_ATTACH_VRING_WORKER:
	case VHOST_GET_VRING_WORKER:
		break;
	default:
		return -ENOIOCTLCMD;
	}
#ifndef HAVE_VHOST_TASK
	return -ENOIOCTLCMD;
#endif
	lockdep_assert_held(&dev->mutex);
	if (!vsng_dev_has_owner(dev))
		return -EINVAL;
	r = vsng_dev_check_owner(dev);
	if (r)
		return r;

	switch (ioctl) {
	case VHOST_NEW_WORKER:
		w = vsng_worker_create(dev);
		if (IS_ERR(w))
			return PTR_ERR(w);
		st.worker_id = w->id;
		if (copy_to_user(argp, &st, sizeof(st)))
			return -EFAULT;
		return 0;
	case VHOST_FREE_WORKER:
		if (copy_from_user(&st, argp, sizeof(st)))
			return -EFAULT;
		return vsng_free_worker(dev, st.worker_id);
	}

	if (copy_from_user(&rw, argp, sizeof(rw)))
		return -EFAULT;
	if (rw.index >= dev->nvqs)
		return -ENOBUFS;
	idx = array_index_nospec(rw.index, dev->nvqs);
	vq = dev->vqs[idx];

	if (ioctl == VHOST_ATTACH_VRING_WORKER) {
		w = vsng_worker_find(dev, rw.worker_id);
		if (!w)
			return -ENODEV;
		vsng_vq_attach(vq, w);
		mutex_lock(&vq->mutex);
		vq->worker_by_user = true;
		mutex_unlock(&vq->mutex);
		return 0;
	}

	/* GET_VRING_WORKER */
	w = rcu_dereference_protected(vq->worker, lockdep_is_held(&dev->mutex));
	if (!w)
		return -EINVAL;
	rw.index = idx;
	rw.worker_id = w->id;
	if (copy_to_user(argp, &rw, sizeof(rw)))
		return -EFAULT;
	return 0;
}
