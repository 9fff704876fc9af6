// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-scsi-ng: configfs - WWNs (target ports), TPGs, the nexus file
 * and the TPG attributes, under /sys/kernel/config/target/<fabric>/.
 *
 *   <fabric>/version                     read-only
 *   <fabric>/{naa.,fc.,iqn.}<name>/      a target port
 *   .../tpgt_N/                          N < 256: the virtio target number
 *   .../tpgt_N/nexus                     initiator WWN, or NULL to drop
 *   .../tpgt_N/attrib/fabric_prot_type   0, 1 or 3 (as in-tree)
 *   .../tpgt_N/attrib/poll_usecs         busy-poll window, 0 = off
 *   .../tpgt_N/attrib/kick_hold_usecs    kick hold while I/O in flight
 *   .../tpgt_N/attrib/coalesce_usecs     longest interrupt deferral
 *   .../tpgt_N/attrib/coalesce_max       signal at once past this many
 *
 * There is deliberately no "enable" file (rtslib expects none).
 */
#include <linux/configfs.h>
#include <linux/ctype.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <linux/wait_bit.h>
#include <scsi/scsi_proto.h>
#include <target/target_core_base.h>
#include <target/target_core_fabric.h>

#include "vsng.h"

/* Every TPG of the fabric, for SET_ENDPOINT to search. */
DEFINE_MUTEX(vsng_tpg_list_mutex);
LIST_HEAD(vsng_tpg_list);

/*
 * Protects vsng_tport_list: every target port, so that no two have the
 * same stored name (a leaf lock: nothing is taken under it).
 */
static DEFINE_MUTEX(vsng_tport_mutex);
static LIST_HEAD(vsng_tport_list);

static const char *vsng_proto_name(u8 proto_id)
{
	switch (proto_id) {
	case SCSI_PROTOCOL_SAS:
		return "SAS";
	case SCSI_PROTOCOL_FCP:
		return "FCP";
	case SCSI_PROTOCOL_ISCSI:
		return "iSCSI";
	default:
		return "Unknown";
	}
}

/*
 * The protocol of a WWN from its prefix; @skip is how much of the
 * prefix is not part of the name (fc. is dropped, as in-tree).
 */
static int vsng_parse_wwn(const char *name, u8 *proto_id, size_t *skip)
{
	if (strstr(name, "naa.")) {
		*proto_id = SCSI_PROTOCOL_SAS;
		*skip = 0;
	} else if (strstr(name, "fc.")) {
		*proto_id = SCSI_PROTOCOL_FCP;
		*skip = 3;
	} else if (strstr(name, "iqn.")) {
		*proto_id = SCSI_PROTOCOL_ISCSI;
		*skip = 0;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* ---- tpgt_N/attrib ------------------------------------------------------ */

static struct vsng_tpg *vsng_attrib_to_tpg(struct config_item *item)
{
	return vsng_se_to_tpg(attrib_to_tpg(item));
}

static ssize_t vsng_tpg_attrib_fabric_prot_type_show(struct config_item *item,
						     char *page)
{
	return sysfs_emit(page, "%d\n",
			  vsng_attrib_to_tpg(item)->fabric_prot_type);
}

static ssize_t vsng_tpg_attrib_fabric_prot_type_store(struct config_item *item,
						      const char *page,
						      size_t count)
{
	struct vsng_tpg *tpg = vsng_attrib_to_tpg(item);
	unsigned long val;
	int ret;

	ret = kstrtoul(page, 0, &val);
	if (ret)
		return ret;
	if (val != 0 && val != 1 && val != 3)
		return -EINVAL;
	mutex_lock(&tpg->mutex);
	/* Writing back the value it has (a tool saving state) always works. */
	if (tpg->vhost_count && (int)val != tpg->fabric_prot_type) {
		mutex_unlock(&tpg->mutex);
		pr_err("vhost-scsi-ng: fabric_prot_type of %s tpgt %u cannot change while a device uses the TPG\n",
		       tpg->tport->name, tpg->tpgt);
		return -EBUSY;
	}
	tpg->fabric_prot_type = val;
	/*
	 * LIO gives a session its protection type when the session is made.
	 * targetcli and rtslib's restore write the nexus before the TPG
	 * attributes, so the nexus takes the new value here, while no
	 * device uses it (no command is in flight on the session).
	 */
	if (tpg->nexus && !tpg->vhost_count) {
		struct se_session *se_sess = tpg->nexus->se_sess;

		se_sess->sess_prot_type = val;
		se_sess->se_node_acl->saved_prot_type = val;
	}
	mutex_unlock(&tpg->mutex);
	return count;
}

/* Read a tunable under tpg->mutex. */
static ssize_t vsng_tunable_show(struct config_item *item, char *page,
				 size_t off)
{
	struct vsng_tpg *tpg = vsng_attrib_to_tpg(item);
	unsigned int val;

	mutex_lock(&tpg->mutex);
	val = *(unsigned int *)((char *)tpg + off);
	mutex_unlock(&tpg->mutex);
	return sysfs_emit(page, "%u\n", val);
}

/* Set a tunable and pass it on to the queues of the device using it. */
static ssize_t vsng_tunable_store(struct config_item *item, const char *page,
				  size_t count, size_t off, unsigned int max)
{
	struct vsng_tpg *tpg = vsng_attrib_to_tpg(item);
	unsigned int val;
	int ret;

	ret = kstrtouint(page, 0, &val);
	if (ret)
		return ret;
	if (val > max)
		return -EINVAL;
	mutex_lock(&tpg->mutex);
	*(unsigned int *)((char *)tpg + off) = val;
	vsng_tpg_apply_tunables(tpg);
	mutex_unlock(&tpg->mutex);
	return count;
}

static ssize_t vsng_tpg_attrib_poll_usecs_show(struct config_item *item,
					       char *page)
{
	return vsng_tunable_show(item, page,
				 offsetof(struct vsng_tpg, poll_usecs));
}

static ssize_t vsng_tpg_attrib_poll_usecs_store(struct config_item *item,
						const char *page,
						size_t count)
{
	return vsng_tunable_store(item, page, count,
				  offsetof(struct vsng_tpg, poll_usecs),
				  VSNG_MAX_POLL_USECS);
}

static ssize_t vsng_tpg_attrib_kick_hold_usecs_show(struct config_item *item,
						    char *page)
{
	return vsng_tunable_show(item, page,
				 offsetof(struct vsng_tpg, hold_usecs));
}

static ssize_t vsng_tpg_attrib_kick_hold_usecs_store(struct config_item *item,
						     const char *page,
						     size_t count)
{
	return vsng_tunable_store(item, page, count,
				  offsetof(struct vsng_tpg, hold_usecs),
				  VSNG_MAX_HOLD_USECS);
}

static ssize_t vsng_tpg_attrib_coalesce_usecs_show(struct config_item *item,
						   char *page)
{
	return vsng_tunable_show(item, page,
				 offsetof(struct vsng_tpg, coalesce_usecs));
}

static ssize_t vsng_tpg_attrib_coalesce_usecs_store(struct config_item *item,
						    const char *page,
						    size_t count)
{
	return vsng_tunable_store(item, page, count,
				  offsetof(struct vsng_tpg, coalesce_usecs),
				  VSNG_MAX_COALESCE_USECS);
}

static ssize_t vsng_tpg_attrib_coalesce_max_show(struct config_item *item,
						 char *page)
{
	return vsng_tunable_show(item, page,
				 offsetof(struct vsng_tpg, coalesce_max));
}

static ssize_t vsng_tpg_attrib_coalesce_max_store(struct config_item *item,
						  const char *page,
						  size_t count)
{
	return vsng_tunable_store(item, page, count,
				  offsetof(struct vsng_tpg, coalesce_max),
				  VSNG_MAX_COALESCE_MAX);
}

CONFIGFS_ATTR(vsng_tpg_attrib_, fabric_prot_type);
CONFIGFS_ATTR(vsng_tpg_attrib_, poll_usecs);
CONFIGFS_ATTR(vsng_tpg_attrib_, kick_hold_usecs);
CONFIGFS_ATTR(vsng_tpg_attrib_, coalesce_usecs);
CONFIGFS_ATTR(vsng_tpg_attrib_, coalesce_max);

struct configfs_attribute *vsng_tpg_attrib_attrs[] = {
	&vsng_tpg_attrib_attr_fabric_prot_type,
	&vsng_tpg_attrib_attr_poll_usecs,
	&vsng_tpg_attrib_attr_kick_hold_usecs,
	&vsng_tpg_attrib_attr_coalesce_usecs,
	&vsng_tpg_attrib_attr_coalesce_max,
	NULL,
};

/* ---- tpgt_N/nexus ------------------------------------------------------- */

static ssize_t vsng_tpg_nexus_show(struct config_item *item, char *page)
{
	struct vsng_tpg *tpg = vsng_se_to_tpg(to_tpg(item));
	ssize_t ret;

	mutex_lock(&tpg->mutex);
	if (!tpg->nexus) {
		mutex_unlock(&tpg->mutex);
		return -ENODEV;
	}
	ret = sysfs_emit(page, "%s\n",
			 tpg->nexus->se_sess->se_node_acl->initiatorname);
	mutex_unlock(&tpg->mutex);
	return ret;
}

static ssize_t vsng_tpg_nexus_store(struct config_item *item,
				    const char *page, size_t count)
{
	struct vsng_tpg *tpg = vsng_se_to_tpg(to_tpg(item));
	char name[VSNG_NAMELEN];
	size_t skip, len;
	u8 proto_id;
	int ret;

	if (!strncmp(page, "NULL", 4)) {
		ret = vsng_nexus_drop(tpg);
		return ret ? ret : count;
	}
	if (strlen(page) >= VSNG_NAMELEN) {
		pr_err("vhost-scsi-ng: initiator port name too long\n");
		return -EINVAL;
	}
	strscpy(name, page, sizeof(name));
	len = strlen(name);
	if (len && name[len - 1] == '\n')
		name[--len] = '\0';

	/* The initiator must speak the target port's protocol. */
	if (vsng_parse_wwn(name, &proto_id, &skip)) {
		pr_err("vhost-scsi-ng: no naa./fc./iqn. prefix in initiator %s\n",
		       name);
		return -EINVAL;
	}
	if (proto_id != tpg->tport->proto_id) {
		pr_err("vhost-scsi-ng: %s initiator %s on a %s target port\n",
		       vsng_proto_name(proto_id), name,
		       vsng_proto_name(tpg->tport->proto_id));
		return -EINVAL;
	}
	ret = vsng_nexus_make(tpg, name + skip);
	return ret ? ret : count;
}

CONFIGFS_ATTR(vsng_tpg_, nexus);

struct configfs_attribute *vsng_tpg_attrs[] = {
	&vsng_tpg_attr_nexus,
	NULL,
};

/* ---- tpgt_N ------------------------------------------------------------- */

struct se_portal_group *vsng_make_tpg(struct se_wwn *wwn, const char *name)
{
	struct vsng_tport *tport = container_of(wwn, struct vsng_tport, wwn);
	struct vsng_tpg *tpg;
	u16 tpgt;
	int ret;

	if (strncmp(name, "tpgt_", 5))
		return ERR_PTR(-EINVAL);
	if (kstrtou16(name + 5, 10, &tpgt) || tpgt >= VSNG_MAX_TARGET)
		return ERR_PTR(-EINVAL);

	tpg = kzalloc(sizeof(*tpg), GFP_KERNEL);
	if (!tpg)
		return ERR_PTR(-ENOMEM);
	mutex_init(&tpg->mutex);
	INIT_LIST_HEAD(&tpg->node);
	tpg->tport = tport;
	tpg->tpgt = tpgt;
	tpg->poll_usecs = VSNG_POLL_USECS_DEFAULT;
	tpg->hold_usecs = VSNG_HOLD_USECS_DEFAULT;
	tpg->coalesce_usecs = VSNG_COALESCE_USECS_DEFAULT;
	tpg->coalesce_max = VSNG_COALESCE_MAX_DEFAULT;

	ret = core_tpg_register(wwn, &tpg->se_tpg, tport->proto_id);
	if (ret < 0) {
		kfree(tpg);
		return ERR_PTR(ret);
	}
	mutex_lock(&vsng_tpg_list_mutex);
	list_add_tail(&tpg->node, &vsng_tpg_list);
	mutex_unlock(&vsng_tpg_list_mutex);
	return &tpg->se_tpg;
}

void vsng_drop_tpg(struct se_portal_group *se_tpg)
{
	struct vsng_tpg *tpg = vsng_se_to_tpg(se_tpg);

	mutex_lock(&vsng_tpg_list_mutex);
	list_del(&tpg->node);
	mutex_unlock(&vsng_tpg_list_mutex);
	/*
	 * No device has it pinned (configfs refuses rmdir while it is) and
	 * none can pin it any more; a SET_ENDPOINT that claimed it before
	 * configfs marked it dropping fails its pin and gives it back.
	 */
	wait_var_event(&tpg->vhost_count, !READ_ONCE(tpg->vhost_count));
	/* LUNs are gone. */
	vsng_nexus_drop(tpg);
	core_tpg_deregister(se_tpg);
	kfree(tpg);
}

/* ---- WWN ---------------------------------------------------------------- */

struct se_wwn *vsng_make_tport(struct target_fabric_configfs *tf,
			       struct config_group *group, const char *name)
{
	struct vsng_tport *tport, *other;
	size_t skip;
	u8 proto_id;

	if (vsng_parse_wwn(name, &proto_id, &skip)) {
		pr_err("vhost-scsi-ng: no naa./fc./iqn. prefix in %s\n", name);
		return ERR_PTR(-EINVAL);
	}
	if (strlen(name) >= VSNG_NAMELEN) {
		pr_err("vhost-scsi-ng: target port name %s too long\n", name);
		return ERR_PTR(-EINVAL);
	}
	tport = kzalloc(sizeof(*tport), GFP_KERNEL);
	if (!tport)
		return ERR_PTR(-ENOMEM);
	tport->proto_id = proto_id;
	strscpy(tport->name, name + skip, sizeof(tport->name));

	/*
	 * "fc." is not part of the stored name, so "fc.iqn.X" and "iqn.X"
	 * would be one target port: SET_ENDPOINT would attach the TPGs of
	 * both into one slot per tag and lose one of them.  Refuse the
	 * second name.
	 */
	mutex_lock(&vsng_tport_mutex);
	list_for_each_entry(other, &vsng_tport_list, node) {
		if (!strcmp(other->name, tport->name)) {
			mutex_unlock(&vsng_tport_mutex);
			pr_err_ratelimited("vhost-scsi-ng: cannot create target port %s: its name %s is already used by another target port (an \"fc.\" prefix is not part of the name)\n",
					   name, tport->name);
			kfree(tport);
			return ERR_PTR(-EEXIST);
		}
	}
	list_add_tail(&tport->node, &vsng_tport_list);
	mutex_unlock(&vsng_tport_mutex);
	return &tport->wwn;
}

void vsng_drop_tport(struct se_wwn *wwn)
{
	struct vsng_tport *tport = container_of(wwn, struct vsng_tport, wwn);

	mutex_lock(&vsng_tport_mutex);
	list_del(&tport->node);
	mutex_unlock(&vsng_tport_mutex);
	kfree(tport);
}

/* ---- <fabric>/version --------------------------------------------------- */

static ssize_t vsng_wwn_version_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "vhost-scsi-ng fabric module %s on %s/%s on %s\n",
			  VSNG_VERSION, utsname()->sysname,
			  utsname()->machine, utsname()->release);
}

CONFIGFS_ATTR_RO(vsng_wwn_, version);

struct configfs_attribute *vsng_wwn_attrs[] = {
	&vsng_wwn_attr_version,
	NULL,
};
