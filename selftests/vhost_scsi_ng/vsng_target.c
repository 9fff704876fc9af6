// SPDX-License-Identifier: GPL-2.0
/*
 * LIO target set-up for the tests, through raw configfs (fast: no python).
 *
 *   core/<hba>/vsng<id>_l<N>                   one backstore per LUN
 *   <fabric>/<wwpn>/tpgt_<tpgt>/nexus          generated nexus WWN
 *   <fabric>/<wwpn>/tpgt_<tpgt>/lun/lun_<N>/vsng_port -> backstore
 *   <fabric>/<wwpn>/tpgt_<tpgt>/acls/<nexus>/lun_<M>/vsng_map -> lun_<N>
 *
 * Backends ($VSNG_BACKEND): rd (rd_mcp, default), brd (iblock on /dev/ramN),
 * nullb (iblock on /dev/nullbN, no data), fileio (file in /tmp).
 * Fabric directory name: $VSNG_FABRIC (default "vhost").
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vsng_drv.h"

#define CFS "/sys/kernel/config/target"

const char *vsng_fabric(void)
{
	const char *f = getenv("VSNG_FABRIC");

	return f && *f ? f : "vhost";
}

void vsng_target_init(struct vsng_target *t, unsigned int id)
{
	const char *b = getenv("VSNG_BACKEND");

	memset(t, 0, sizeof(*t));
	snprintf(t->fabric, sizeof(t->fabric), "%s", vsng_fabric());
	snprintf(t->wwpn, sizeof(t->wwpn), "naa.5001405a%08x", id);
	snprintf(t->nexus, sizeof(t->nexus), "naa.5001405b%08x", id);
	t->tpgt = 1;
	snprintf(t->backend, sizeof(t->backend), "%s", b && *b ? b : "rd");
	t->size_mb = 16;
	if (!strcmp(t->backend, "brd") || !strcmp(t->backend, "nullb"))
		snprintf(t->hba, sizeof(t->hba), "iblock_%u", 1000 + id % 8000);
	else if (!strcmp(t->backend, "fileio"))
		snprintf(t->hba, sizeof(t->hba), "fileio_%u", 1000 + id % 8000);
	else
		snprintf(t->hba, sizeof(t->hba), "rd_mcp_%u", 1000 + id % 8000);
}

char *vsng_target_tpg_path(struct vsng_target *t, char *buf, size_t len)
{
	snprintf(buf, len, CFS "/%s/%s/tpgt_%u", t->fabric, t->wwpn, t->tpgt);
	return buf;
}

static int mkdir_ok(const char *p)
{
	if (mkdir(p, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int wr(const char *dir, const char *file, const char *val)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	return vsng_sysfs_write(p, val);
}

char *vsng_target_dev_path(struct vsng_target *t, int lun, char *buf,
			   size_t len)
{
	snprintf(buf, len, CFS "/core/%s/vsng_l%d", t->hba, lun);
	return buf;
}

static int backstore_create(struct vsng_target *t, int lun)
{
	char p[256], ctl[256];
	int err;

	snprintf(p, sizeof(p), CFS "/core/%s", t->hba);
	err = mkdir_ok(p);
	if (err)
		return err;
	vsng_target_dev_path(t, lun, p, sizeof(p));
	err = mkdir_ok(p);
	if (err)
		return err;
	if (t->dev_path[0])
		snprintf(ctl, sizeof(ctl), "udev_path=%s", t->dev_path);
	else if (!strcmp(t->backend, "brd"))
		snprintf(ctl, sizeof(ctl), "udev_path=/dev/ram%d", lun);
	else if (!strcmp(t->backend, "nullb"))
		snprintf(ctl, sizeof(ctl), "udev_path=/dev/nullb%d", lun);
	else if (!strcmp(t->backend, "fileio"))
		snprintf(ctl, sizeof(ctl),
			 "fd_dev_name=/tmp/%s_l%d.img,fd_dev_size=%llu",
			 t->hba, lun, (unsigned long long)t->size_mb << 20);
	else
		snprintf(ctl, sizeof(ctl), "rd_pages=%u", t->size_mb * 256);
	err = wr(p, "control", ctl);
	if (err)
		return err;
	err = wr(p, "enable", "1");
	if (err)
		return err;
	/* As targetcli does: a unit serial, without it LIO hides the VPD
	 * pages (INQUIRY EVPD page 0x00 comes back empty).
	 */
	snprintf(ctl, sizeof(ctl), "5a4e%04x-%s-%d", t->tpgt, t->hba, lun);
	return wr(p, "wwn/vpd_unit_serial", ctl);
}

int vsng_target_add_lun(struct vsng_target *t, int lun)
{
	char tpg[256], p[384], dev[256];
	int err;

	err = backstore_create(t, lun);
	if (err)
		return err;
	vsng_target_tpg_path(t, tpg, sizeof(tpg));
	snprintf(p, sizeof(p), "%s/lun/lun_%d", tpg, lun);
	err = mkdir_ok(p);
	if (err)
		return err;
	vsng_target_dev_path(t, lun, dev, sizeof(dev));
	snprintf(p, sizeof(p), "%s/lun/lun_%d/vsng_port", tpg, lun);
	if (symlink(dev, p) && errno != EEXIST)
		return -errno;
	t->luns_mask |= 1u << lun;
	return 0;
}

int vsng_target_del_lun(struct vsng_target *t, int lun)
{
	char tpg[256], p[384];
	int err = 0;

	vsng_target_tpg_path(t, tpg, sizeof(tpg));
	snprintf(p, sizeof(p), "%s/lun/lun_%d/vsng_port", tpg, lun);
	if (unlink(p) && errno != ENOENT)
		err = -errno;
	snprintf(p, sizeof(p), "%s/lun/lun_%d", tpg, lun);
	if (rmdir(p) && errno != ENOENT && !err)
		err = -errno;
	vsng_target_dev_path(t, lun, p, sizeof(p));
	if (rmdir(p) && errno != ENOENT && !err)
		err = -errno;
	t->luns_mask &= ~(1u << lun);
	return err;
}

int vsng_target_set_nexus(struct vsng_target *t, bool on)
{
	char tpg[256];

	vsng_target_tpg_path(t, tpg, sizeof(tpg));
	return wr(tpg, "nexus", on ? t->nexus : "NULL");
}

int vsng_target_create_tpg(struct vsng_target *t)
{
	char p[256];
	int err;

	vsng_target_destroy(t);
	snprintf(p, sizeof(p), CFS "/%s", t->fabric);
	err = mkdir_ok(p);
	if (err)
		return err;
	snprintf(p, sizeof(p), CFS "/%s/%s", t->fabric, t->wwpn);
	err = mkdir_ok(p);
	if (err)
		return err;
	vsng_target_tpg_path(t, p, sizeof(p));
	return mkdir_ok(p);
}

int vsng_target_create(struct vsng_target *t, int nluns)
{
	int err, i;

	err = vsng_target_create_tpg(t);
	if (err)
		return err;
	/* LUNs before the nexus: the session then starts without the
	 * REPORTED LUNS DATA HAS CHANGED unit attention.
	 */
	for (i = 0; i < nluns; i++) {
		err = vsng_target_add_lun(t, i);
		if (err)
			return err;
	}
	return vsng_target_set_nexus(t, true);
}

int vsng_target_map_lun(struct vsng_target *t, int mapped, int tpg_lun)
{
	char tpg[256], acl[384], p[512], lun[384];
	int err;

	vsng_target_tpg_path(t, tpg, sizeof(tpg));
	snprintf(acl, sizeof(acl), "%s/acls/%s", tpg, t->nexus);
	err = mkdir_ok(acl);
	if (err)
		return err;
	snprintf(p, sizeof(p), "%s/lun_%d", acl, mapped);
	err = mkdir_ok(p);
	if (err)
		return err;
	snprintf(lun, sizeof(lun), "%s/lun/lun_%d", tpg, tpg_lun);
	snprintf(p, sizeof(p), "%s/lun_%d/vsng_map", acl, mapped);
	if (symlink(lun, p) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * The mapped LUNs of every ACL of the TPG (before the TPG's LUNs go), or
 * the ACL directories themselves (after the nexus: LIO waits for the
 * ACL's sessions to end before it removes it).
 */
static void acls_remove(const char *tpg, bool mapped_luns)
{
	char p[384], q[700];
	struct dirent *de, *le;
	DIR *dir, *ldir;

	snprintf(p, sizeof(p), "%s/acls", tpg);
	dir = opendir(p);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(q, sizeof(q), "%s/%s", p, de->d_name);
		if (!mapped_luns) {
			rmdir(q);
			continue;
		}
		ldir = opendir(q);
		if (!ldir)
			continue;
		while ((le = readdir(ldir))) {
			char r[1100];

			if (strncmp(le->d_name, "lun_", 4))
				continue;
			snprintf(r, sizeof(r), "%s/%s/vsng_map", q, le->d_name);
			unlink(r);
			snprintf(r, sizeof(r), "%s/%s", q, le->d_name);
			rmdir(r);
		}
		closedir(ldir);
	}
	closedir(dir);
}

void vsng_target_destroy(struct vsng_target *t)
{
	char tpg[256], p[600];
	struct dirent *de;
	DIR *dir;

	vsng_target_tpg_path(t, tpg, sizeof(tpg));
	acls_remove(tpg, true);
	snprintf(p, sizeof(p), "%s/lun", tpg);
	dir = opendir(p);
	if (dir) {
		while ((de = readdir(dir))) {
			int lun;

			if (sscanf(de->d_name, "lun_%d", &lun) == 1)
				vsng_target_del_lun(t, lun);
		}
		closedir(dir);
	}
	if (access(tpg, F_OK) == 0) {
		char nx[128];

		vsng_target_set_nexus(t, false);
		/* Never with a session: the rmdir would wait for it. */
		if (vsng_target_get_nexus(t, nx, sizeof(nx)) == -ENODEV)
			acls_remove(tpg, false);
		rmdir(tpg);
	}
	snprintf(p, sizeof(p), CFS "/%s/%s", t->fabric, t->wwpn);
	rmdir(p);
	snprintf(p, sizeof(p), CFS "/core/%s", t->hba);
	dir = opendir(p);
	if (dir) {
		while ((de = readdir(dir))) {
			char q[900];

			if (strncmp(de->d_name, "vsng_l", 6))
				continue;
			snprintf(q, sizeof(q), "%s/%s", p, de->d_name);
			rmdir(q);
		}
		closedir(dir);
		rmdir(p);
	}
}

int vsng_target_get_nexus(struct vsng_target *t, char *buf, size_t len)
{
	char tpg[256], p[300];

	vsng_target_tpg_path(t, tpg, sizeof(tpg));
	snprintf(p, sizeof(p), "%s/nexus", tpg);
	return vsng_sysfs_read(p, buf, len);
}

int vsng_target_del_lun_timed(struct vsng_target *t, int lun, int timeout_ms)
{
	uint64_t end = vsng_now_ms() + timeout_ms;
	int status;
	pid_t pid, r;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(-vsng_target_del_lun(t, lun));
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0)
			return -errno;
		if (vsng_now_ms() > end)
			return -ETIMEDOUT;
		usleep(10 * 1000);
	}
	t->luns_mask &= ~(1u << lun);
	if (!WIFEXITED(status))
		return -EINTR;
	return -WEXITSTATUS(status);
}

#define NULLB_CFS "/sys/kernel/config/nullb"

int vsng_nullb_slow_create(const char *name, unsigned int delay_ms,
			   unsigned int size_mb)
{
	return vsng_nullb_create(name, delay_ms, size_mb, false);
}

int vsng_nullb_create(const char *name, unsigned int delay_ms,
		      unsigned int size_mb, bool memory_backed)
{
	char dir[256], dev[256], v[32];
	struct stat st;

	if (access(NULLB_CFS, F_OK) &&
	    system("/sbin/modprobe null_blk nr_devices=0 >/dev/null 2>&1"))
		return -ENOENT;
	if (access(NULLB_CFS, F_OK))
		return -ENOENT;
	snprintf(dir, sizeof(dir), NULLB_CFS "/%s", name);
	snprintf(dev, sizeof(dev), "/dev/%s", name);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	if (!stat(dev, &st))
		return 0;
	snprintf(v, sizeof(v), "%u", size_mb);
	if (wr(dir, "size", v) || wr(dir, "irqmode", "2") ||
	    (memory_backed && wr(dir, "memory_backed", "1")))
		return -EIO;
	snprintf(v, sizeof(v), "%llu", (unsigned long long)delay_ms * 1000000);
	if (wr(dir, "completion_nsec", v) || wr(dir, "power", "1"))
		return -EIO;
	/* udev is not running in the test guest: the node is devtmpfs' */
	for (int i = 0; i < 50 && stat(dev, &st); i++)
		usleep(20 * 1000);
	return stat(dev, &st) ? -ENODEV : 0;
}

void vsng_nullb_slow_destroy(const char *name)
{
	char dir[256];

	snprintf(dir, sizeof(dir), NULLB_CFS "/%s", name);
	wr(dir, "power", "0");
	rmdir(dir);
}
