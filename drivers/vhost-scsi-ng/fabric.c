// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: the LIO fabric - target_core_fabric_ops, the I_T nexus
 * (session) of each TPG, and binding TPGs to devices (the endpoint).
 */
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait_bit.h>
#include <scsi/scsi_proto.h>
#include <target/target_core_base.h>
#include <target/target_core_fabric.h>

#include "vsng.h"

/* ---- fabric ops --------------------------------------------------------- */

static char *vsng_tpg_get_wwn(struct se_portal_group *se_tpg)
{
	return vsng_se_to_tpg(se_tpg)->tport->name;
}

static u16 vsng_tpg_get_tag(struct se_portal_group *se_tpg)
{
	return vsng_se_to_tpg(se_tpg)->tpgt;
}

/*
 * Demo mode: an initiator (the nexus) with no explicit ACL in configfs
 * (tpgt_N/acls/<wwn>) gets a dynamic one, which maps every LUN of the TPG
 * at its own number (vsng_nexus_has_lun()).
 */
static int vsng_tpg_check_true(struct se_portal_group *se_tpg)
{
	return 1;
}

static int vsng_tpg_check_prot_fabric_only(struct se_portal_group *se_tpg)
{
	return vsng_se_to_tpg(se_tpg)->fabric_prot_type;
}

static int vsng_check_stop_free(struct se_cmd *se_cmd)
{
	return target_put_sess_cmd(se_cmd);
}

/* LIO's last reference is gone: answer the guest from the worker. */
static void vsng_release_cmd(struct se_cmd *se_cmd)
{
	if (se_cmd->se_cmd_flags & SCF_SCSI_TMR_CDB)
		vsng_tmf_release(se_cmd);
	else
		vsng_scsi_queue_completion(container_of(se_cmd,
							struct vsng_cmd,
							se_cmd));
}

/* Data-out is already in the scatterlist: execute at once. */
static int vsng_write_pending(struct se_cmd *se_cmd)
{
	target_execute_cmd(se_cmd);
	return 0;
}

/* Status, sense and residual are read from se_cmd at release. */
static int vsng_queue_status(struct se_cmd *se_cmd)
{
	transport_generic_free_cmd(se_cmd, 0);
	return 0;
}

static void vsng_aborted_task(struct se_cmd *se_cmd)
{
	struct vsng_cmd *cmd;

	if (se_cmd->se_cmd_flags & SCF_SCSI_TMR_CDB)
		return;
	cmd = container_of(se_cmd, struct vsng_cmd, se_cmd);
	cmd->flags |= VSNG_CMD_ABORTED;
}

static int vsng_port_link(struct se_portal_group *se_tpg, struct se_lun *lun)
{
	struct vsng_tpg *tpg = vsng_se_to_tpg(se_tpg);

	mutex_lock(&tpg->mutex);
	tpg->port_count++;
	vsng_evt_hotplug(tpg, lun, true);
	mutex_unlock(&tpg->mutex);
	return 0;
}

static void vsng_port_unlink(struct se_portal_group *se_tpg,
			     struct se_lun *lun)
{
	struct vsng_tpg *tpg = vsng_se_to_tpg(se_tpg);

	mutex_lock(&tpg->mutex);
	tpg->port_count--;
	vsng_evt_hotplug(tpg, lun, false);
	mutex_unlock(&tpg->mutex);
}

struct target_core_fabric_ops vsng_fabric_ops = {
	.module				= THIS_MODULE,
	.fabric_name			= "vhost",	/* module param */
	.max_data_sg_nents		= VSNG_MAX_SGLS,
	.tpg_get_wwn			= vsng_tpg_get_wwn,
	.tpg_get_tag			= vsng_tpg_get_tag,
	.tpg_check_demo_mode		= vsng_tpg_check_true,
	.tpg_check_demo_mode_cache	= vsng_tpg_check_true,
	.tpg_check_prot_fabric_only	= vsng_tpg_check_prot_fabric_only,
	.release_cmd			= vsng_release_cmd,
	.check_stop_free		= vsng_check_stop_free,
	.write_pending			= vsng_write_pending,
	.queue_data_in			= vsng_queue_status,
	.queue_status			= vsng_queue_status,
	.queue_tm_rsp			= vsng_tmf_queue_rsp,
	.aborted_task			= vsng_aborted_task,
	.fabric_make_wwn		= vsng_make_tport,
	.fabric_drop_wwn		= vsng_drop_tport,
	.fabric_make_tpg		= vsng_make_tpg,
	.fabric_drop_tpg		= vsng_drop_tpg,
	.fabric_post_link		= vsng_port_link,
	.fabric_pre_unlink		= vsng_port_unlink,
	.tfc_wwn_attrs			= vsng_wwn_attrs,
	.tfc_tpg_base_attrs		= vsng_tpg_attrs,
	.tfc_tpg_attrib_attrs		= vsng_tpg_attrib_attrs,
	VSNG_FABRIC_OPS_SUBMIT
	VSNG_FABRIC_OPS_DEFAULTS
};

/* ---- nexus ---------------------------------------------------------------- */

int vsng_nexus_make(struct vsng_tpg *tpg, const char *name)
{
	struct vsng_nexus *nexus;
	int ret = 0;

	mutex_lock(&tpg->mutex);
	if (tpg->nexus) {
		ret = -EEXIST;
		goto unlock;
	}
	nexus = kzalloc(sizeof(*nexus), GFP_KERNEL);
	if (!nexus) {
		ret = -ENOMEM;
		goto unlock;
	}
	/* Demo mode: LIO makes a dynamic node ACL named @name. */
	nexus->se_sess = target_setup_session(&tpg->se_tpg, 0, 0,
					      TARGET_PROT_DIN_PASS |
					      TARGET_PROT_DOUT_PASS,
					      name, nexus, NULL);
	if (IS_ERR(nexus->se_sess)) {
		ret = PTR_ERR(nexus->se_sess);
		kfree(nexus);
		goto unlock;
	}
	tpg->nexus = nexus;
unlock:
	mutex_unlock(&tpg->mutex);
	return ret;
}

int vsng_nexus_drop(struct vsng_tpg *tpg)
{
	struct vsng_nexus *nexus;

	mutex_lock(&tpg->mutex);
	nexus = tpg->nexus;
	if (!nexus || !nexus->se_sess) {
		mutex_unlock(&tpg->mutex);
		return -ENODEV;
	}
	if (tpg->port_count || tpg->vhost_count) {
		pr_err("vhost-scsi-ng: cannot drop the nexus of %s tpgt %u: %d LUNs, %d devices use it\n",
		       tpg->tport->name, tpg->tpgt, tpg->port_count,
		       tpg->vhost_count);
		mutex_unlock(&tpg->mutex);
		return -EBUSY;
	}
	target_remove_session(nexus->se_sess);
	tpg->nexus = NULL;
	mutex_unlock(&tpg->mutex);

	kfree(nexus);
	return 0;
}

/*
 * The guest's LUN numbers are those of the session's node ACL: LIO looks
 * a command's LUN up there (transport_lookup_cmd_lun()), not among the
 * TPG's LUNs.  A dynamic (demo-mode) ACL maps each TPG LUN at its own
 * number, and LIO adds and removes them as LUNs are linked; an explicit
 * ACL maps what configfs says (acls/<wwn>/lun_7 -> lun/lun_3: guest LUN
 * 7 is TPG LUN 3, and guest LUN 3 is nothing unless mapped too), and a
 * dynamic ACL turns explicit, keeping its entries, when configfs makes an
 * ACL of the same name.  Reading LIO's own entries follows all of this
 * with nothing of ours to keep current.
 *
 * The entries (se_dev_entry) are an RCU list, added and removed under
 * nacl->lun_entry_mutex and freed by kfree_rcu(); rcu_read_lock() is all
 * a reader needs.  The ACL itself lives as long as the session, which
 * holds a reference on it (configfs's rmdir of the ACL waits for it), and
 * the session as long as the TPG is attached (vsng_nexus_drop() -EBUSY).
 * An entry added or removed while we look is LIO's to answer, as for a
 * command that races a LUN unlink.
 */
bool vsng_nexus_has_lun(struct vsng_nexus *nexus, u64 lun)
{
	struct se_node_acl *nacl = nexus->se_sess->se_node_acl;
	struct se_dev_entry *deve;
	bool found = false;

	rcu_read_lock();
	hlist_for_each_entry_rcu(deve, &nacl->lun_entry_hlist, link) {
		if (deve->mapped_lun == lun) {
			found = true;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

/*
 * The lowest LUN of the session's ACL that is @from or above, in *@lun;
 * false if none.  For I_T NEXUS RESET, which resets one LUN at a time
 * (the list can change between steps: a LUN mapped meanwhile is reset if
 * it is above the ones done).  Locking as vsng_nexus_has_lun().
 */
bool vsng_nexus_next_lun(struct vsng_nexus *nexus, u64 from, u64 *lun)
{
	struct se_node_acl *nacl = nexus->se_sess->se_node_acl;
	struct se_dev_entry *deve;
	bool found = false;
	u64 best = U64_MAX;

	rcu_read_lock();
	hlist_for_each_entry_rcu(deve, &nacl->lun_entry_hlist, link) {
		if (deve->mapped_lun >= from && deve->mapped_lun <= best) {
			best = deve->mapped_lun;
			found = true;
		}
	}
	rcu_read_unlock();
	if (found)
		*lun = best;
	return found;
}

/* ---- endpoint ------------------------------------------------------------- */

/*
 * Copy the notification tunables of @tpg (the first TPG of the device)
 * to every I/O queue.  tpg->mutex held.
 */
static void vsng_apply_tunables(struct vsng_scsi *vs, struct vsng_tpg *tpg)
{
	struct vsng_vq *vq;
	int i;

	lockdep_assert_held(&tpg->mutex);
	for (i = VSNG_VQ_IO; i < vs->nvqs; i++) {
		vq = &vs->svqs[i]->vq;
		mutex_lock(&vq->mutex);
		vq->poll_usecs = tpg->poll_usecs;
		vq->hold_usecs = tpg->hold_usecs;
		vq->coalesce_usecs = tpg->coalesce_usecs;
		vq->coalesce_max = tpg->coalesce_max;
		mutex_unlock(&vq->mutex);
	}
}

/* An attribute of @tpg changed; tpg->mutex held. */
void vsng_tpg_apply_tunables(struct vsng_tpg *tpg)
{
	lockdep_assert_held(&tpg->mutex);
	if (tpg->vs)
		vsng_apply_tunables(tpg->vs, tpg);
}

/*
 * Give back a TPG claimed by vsng_set_endpoint().  The configfs pin
 * (target_depend_item()) is dropped by the caller, outside tpg->mutex.
 * vsng_drop_tpg() may be waiting for the claim to go away.
 */
static void vsng_tpg_release_claim(struct vsng_tpg *tpg)
{
	mutex_lock(&tpg->mutex);
	WRITE_ONCE(tpg->vhost_count, tpg->vhost_count - 1);
	tpg->vs = NULL;
	mutex_unlock(&tpg->mutex);
	/* Pairs with the barrier in wait_var_event() in vsng_drop_tpg(). */
	smp_mb();
	wake_up_var(&tpg->vhost_count);
}

static void vsng_tpg_unclaim(struct vsng_tpg *tpg)
{
	target_undepend_item(&tpg->se_tpg.tpg_group.cg_item);
	vsng_tpg_release_claim(tpg);
}

static bool vsng_rings_ok(struct vsng_scsi *vs)
{
	int i;

	for (i = 0; i < vs->nvqs; i++)
		if (!vsng_vq_access_ok(&vs->svqs[i]->vq))
			return false;
	return true;
}

/*
 * VHOST_SCSI_SET_ENDPOINT: attach every TPG of the WWPN that has a nexus
 * and no other device, pin each in configfs, give the I/O queues their
 * command pools and start every queue.
 *
 * Lock order: dev->mutex -> vsng_tpg_list_mutex -> tpg->mutex -> vq->mutex
 *
 * The TPGs are claimed (vhost_count) under the list and TPG mutexes, and
 * pinned in configfs (target_depend_item()) only after both are dropped:
 * configfs calls into us (port link, attributes, drop_tpg) with its inode
 * locks held and takes those mutexes there, while target_depend_item()
 * takes the configfs root inode lock.  Only dev->mutex, which configfs
 * never takes, is held across the pin.  A TPG whose tpgt_N directory is
 * being removed fails the pin (-ENOENT); vsng_drop_tpg() waits for such a
 * claim to be given back before it frees the TPG.
 *
 * Called with dev->mutex held (the ioctl checks the owner in the same
 * critical section).
 */
long vsng_set_endpoint(struct vsng_scsi *vs, struct vhost_scsi_target *t)
{
	struct vsng_tpg **tpgs, *tpg, *first = NULL;
	bool claimed_elsewhere = false;
	struct vsng_vq *vq;
	int i, j, ret, found = 0;

	lockdep_assert_held(&vs->dev.mutex);
	if (!vsng_rings_ok(vs)) {
		ret = -EFAULT;
		goto out;
	}
	if (vs->tpgs) {
		pr_err("vhost-scsi-ng: endpoint already set for %s\n",
		       vs->wwpn);
		ret = -EEXIST;
		goto out;
	}
	tpgs = kcalloc(VSNG_MAX_TARGET, sizeof(*tpgs), GFP_KERNEL);
	if (!tpgs) {
		ret = -ENOMEM;
		goto out;
	}

	t->vhost_wwpn[sizeof(t->vhost_wwpn) - 1] = '\0';
	mutex_lock(&vsng_tpg_list_mutex);
	list_for_each_entry(tpg, &vsng_tpg_list, node) {
		if (strcmp(tpg->tport->name, t->vhost_wwpn))
			continue;
		mutex_lock(&tpg->mutex);
		if (!tpg->nexus) {
			mutex_unlock(&tpg->mutex);
			continue;
		}
		if (tpg->vhost_count) {
			claimed_elsewhere = true;
			mutex_unlock(&tpg->mutex);
			continue;
		}
		/*
		 * Target port names are unique (vsng_make_tport()), so a tag
		 * has one TPG; never overwrite a slot (the TPG it held would
		 * stay claimed forever).
		 */
		if (tpgs[tpg->tpgt]) {
			pr_err_ratelimited("vhost-scsi-ng: %s: two TPGs with tag %u, the second is not attached\n",
					   t->vhost_wwpn, tpg->tpgt);
			mutex_unlock(&tpg->mutex);
			continue;
		}
		tpg->vhost_count++;
		tpg->vs = vs;
		tpgs[tpg->tpgt] = tpg;
		if (!found++)
			first = tpg;
		mutex_unlock(&tpg->mutex);
	}
	mutex_unlock(&vsng_tpg_list_mutex);

	/* configfs must not remove a TPG while we use it. */
	for (i = 0; i < VSNG_MAX_TARGET; i++) {
		if (!tpgs[i])
			continue;
		ret = target_depend_item(&tpgs[i]->se_tpg.tpg_group.cg_item);
		if (ret) {
			pr_warn("vhost-scsi-ng: %s tpgt %d is going away: target_depend_item() failed: %d\n",
				t->vhost_wwpn, i, ret);
			for (j = 0; j < VSNG_MAX_TARGET; j++) {
				if (!tpgs[j])
					continue;
				if (j < i)
					target_undepend_item(&tpgs[j]->se_tpg.tpg_group.cg_item);
				vsng_tpg_release_claim(tpgs[j]);
			}
			goto free_tpgs;
		}
	}

	if (!found) {
		ret = claimed_elsewhere ? -EEXIST : -ENODEV;
		goto free_tpgs;
	}

	for (i = VSNG_VQ_IO; i < vs->nvqs; i++) {
		vq = &vs->svqs[i]->vq;
		if (!vsng_vq_is_setup(vq))
			continue;
		ret = vsng_cmd_pool_create(vs->svqs[i], vq->num);
		if (ret)
			goto destroy_pools;
	}
	/* Pinned by target_depend_item(): still there. */
	mutex_lock(&first->mutex);
	vsng_apply_tunables(vs, first);
	mutex_unlock(&first->mutex);

	spin_lock(&vs->wwpn_lock);
	memcpy(vs->wwpn, t->vhost_wwpn, sizeof(vs->wwpn));
	vs->wwpn[sizeof(vs->wwpn) - 1] = '\0';
	spin_unlock(&vs->wwpn_lock);
	vs->tpgs = tpgs;
	for (i = 0; i < vs->nvqs; i++) {
		vq = &vs->svqs[i]->vq;
		mutex_lock(&vq->mutex);
		vq->private_data = tpgs;
		if (vsng_vq_is_setup(vq) && vsng_vq_init_access(vq))
			pr_warn_ratelimited("vhost-scsi-ng: vq %d: used ring not accessible\n",
					    i);
		mutex_unlock(&vq->mutex);
	}
	ret = 0;
	goto out;

destroy_pools:
	for (i = VSNG_VQ_IO; i < vs->nvqs; i++)
		vsng_cmd_pool_destroy(vs->svqs[i]);
	for (i = 0; i < VSNG_MAX_TARGET; i++)
		if (tpgs[i])
			vsng_tpg_unclaim(tpgs[i]);
free_tpgs:
	kfree(tpgs);
out:
	return ret;
}

/*
 * VHOST_SCSI_CLEAR_ENDPOINT (and release): stop every queue, drain every
 * command, free the pools and give the TPGs back.  With @check (the
 * ioctl) the rings must be accessible and the WWPN must match, as
 * in-tree; release passes @t NULL and @check false.  dev->mutex held.
 */
long vsng_clear_endpoint(struct vsng_scsi *vs, struct vhost_scsi_target *t,
			 bool check)
{
	struct vsng_tpg **tpgs;
	struct vsng_vq *vq;
	long ret = 0;
	int i;

	lockdep_assert_held(&vs->dev.mutex);
	if (check && !vsng_rings_ok(vs)) {
		ret = -EFAULT;
		goto out;
	}
	tpgs = vs->tpgs;
	if (!tpgs)
		goto out;
	if (check) {
		t->vhost_wwpn[sizeof(t->vhost_wwpn) - 1] = '\0';
		for (i = 0; i < VSNG_MAX_TARGET; i++) {
			if (tpgs[i] &&
			    strcmp(tpgs[i]->tport->name, t->vhost_wwpn)) {
				pr_warn("vhost-scsi-ng: clear endpoint: %s is not %s\n",
					t->vhost_wwpn, tpgs[i]->tport->name);
				ret = -EINVAL;
				goto out;
			}
		}
	}

	/* No new command can start once the backend is gone. */
	for (i = 0; i < vs->nvqs; i++) {
		vq = &vs->svqs[i]->vq;
		mutex_lock(&vq->mutex);
		vq->private_data = NULL;
		mutex_unlock(&vq->mutex);
	}
	vsng_scsi_drain(vs);

	for (i = VSNG_VQ_IO; i < vs->nvqs; i++)
		vsng_cmd_pool_destroy(vs->svqs[i]);
	for (i = 0; i < VSNG_MAX_TARGET; i++)
		if (tpgs[i])
			vsng_tpg_unclaim(tpgs[i]);
	vs->tpgs = NULL;
	spin_lock(&vs->wwpn_lock);
	memset(vs->wwpn, 0, sizeof(vs->wwpn));
	spin_unlock(&vs->wwpn_lock);
	kfree(tpgs);
out:
	return ret;
}
