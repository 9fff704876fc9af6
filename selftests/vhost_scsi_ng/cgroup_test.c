// SPDX-License-Identifier: GPL-2.0
/*
 * Workers run in the owner's cgroups (issue 17).
 *
 * The I/O a guest makes a worker do is the owner's work: a cgroup limit
 * put on the VMM (cpu.max here) must hold its workers too.  On 6.11+ the
 * workers are vhost_tasks, threads of the owner that inherit its cgroups;
 * on 6.1 they are kthreads, which in-tree vhost moves into the owner's
 * cgroups at SET_OWNER (cgroup_attach_task_all()).  The test puts itself
 * in a fresh cgroup v2 group with a cpu.max limit, becomes the owner of a
 * device with two request queues, finds every worker thread by its name
 * ("vhost-<owner pid>", kthread or thread of ours) and checks that
 * /proc/<worker>/cgroup names the owner's group.  Same expectation for
 * ours and in-tree.
 */
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include "kselftest_harness.h"
#include "vsng_test.h"

#define CG_MNT	"/tmp/vsng-cgroup2"

/* The cgroup v2 line ("0::/path") of /proc/<tid>/cgroup, "" if none. */
static int cg_of(const char *tid, char *out, size_t len)
{
	char p[64], buf[1024], *l;
	int err;

	snprintf(p, sizeof(p), "/proc/%s/cgroup", tid);
	err = vsng_sysfs_read(p, buf, sizeof(buf));
	if (err)
		return err;
	out[0] = 0;
	for (l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		if (!strncmp(l, "0::", 3))
			snprintf(out, len, "%s", l + 3);
	return 0;
}

/* Where cgroup2 is mounted (mounting it at CG_MNT if nowhere). */
static int cg_root(char *out, size_t len)
{
	char line[1024], mnt[512], fs[64];
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *dash = strstr(line, " - ");

			if (!dash || sscanf(dash, " - %63s", fs) != 1 ||
			    strcmp(fs, "cgroup2"))
				continue;
			if (sscanf(line, "%*d %*d %*s %*s %511s", mnt) == 1) {
				fclose(f);
				snprintf(out, len, "%s", mnt);
				return 0;
			}
		}
		fclose(f);
	}
	mkdir(CG_MNT, 0755);
	if (mount("none", CG_MNT, "cgroup2", 0, NULL))
		return -errno;
	snprintf(out, len, "%s", CG_MNT);
	return 0;
}

FIXTURE(cg) {
	char root[512];		/* the cgroup2 mount */
	char grp[600];		/* our group's directory */
	char home[512];		/* where this process was (relative) */
	struct vsng_dev d;
};

FIXTURE_SETUP(cg)
{
	char p[700], me[16];
	int err;

	self->d.fd = -1;
	ASSERT_EQ(0, cg_root(self->root, sizeof(self->root)));
	ASSERT_EQ(0, cg_of("self", self->home, sizeof(self->home)));
	snprintf(self->grp, sizeof(self->grp), "%s/vsng_cg_%d", self->root,
		 getpid());
	ASSERT_EQ(0, mkdir(self->grp, 0755)) {
		TH_LOG("mkdir %s: %s", self->grp, strerror(errno));
	}
	/* A limit to be held to: the cpu controller, if the kernel has it. */
	snprintf(p, sizeof(p), "%s/cgroup.subtree_control", self->root);
	err = vsng_sysfs_write(p, "+cpu");
	if (!err) {
		snprintf(p, sizeof(p), "%s/cpu.max", self->grp);
		ASSERT_EQ(0, vsng_sysfs_write(p, "50000 100000"));
	} else {
		TH_LOG("no cpu controller (%s): membership only",
		       strerror(-err));
	}
	snprintf(p, sizeof(p), "%s/cgroup.procs", self->grp);
	snprintf(me, sizeof(me), "%d", getpid());
	ASSERT_EQ(0, vsng_sysfs_write(p, me));
}

FIXTURE_TEARDOWN(cg)
{
	char p[1100], me[16];

	if (self->d.fd >= 0)
		vsng_dev_close(&self->d);
	/* Back home, so that the group can go (workers are gone by now). */
	snprintf(p, sizeof(p), "%s%s/cgroup.procs", self->root, self->home);
	snprintf(me, sizeof(me), "%d", getpid());
	vsng_sysfs_write(p, me);
	rmdir(self->grp);
}

/*
 * Every thread named @name on the system: its tid into tids[] (up to
 * max), the count returned.  Threads of any process: a 6.1 worker is a
 * kthread of its own, a 6.11+ one a thread of ours.
 */
static int find_threads(const char *name, int *tids, int max)
{
	DIR *pd = opendir("/proc"), *td;
	struct dirent *pe, *te;
	char p[600], comm[32];
	int n = 0;

	if (!pd)
		return -errno;
	while ((pe = readdir(pd))) {
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/task", pe->d_name);
		td = opendir(p);
		if (!td)
			continue;
		while ((te = readdir(td))) {
			if (te->d_name[0] < '1' || te->d_name[0] > '9')
				continue;
			snprintf(p, sizeof(p), "/proc/%s/task/%s/comm",
				 pe->d_name, te->d_name);
			if (vsng_sysfs_read(p, comm, sizeof(comm)) ||
			    strcmp(comm, name))
				continue;
			if (n < max)
				tids[n] = atoi(te->d_name);
			n++;
		}
		closedir(td);
	}
	closedir(pd);
	return n;
}

/*
 * Proves: after SET_OWNER (and the queues' kicks, where ours starts a
 * worker per request queue) by a process in a cgroup v2 group with a
 * cpu.max limit, every worker of the device ("vhost-<pid>") is in that
 * same group, not in the root group a kthread starts in.
 */
TEST_F(cg, workers_join_owner_cgroup)
{
	struct vsng_dev_opts o = { .nreq = 2 };
	char want[512], got[512], name[32], tid[16];
	int tids[16], n, i, bad = 0;

	ASSERT_EQ(0, cg_of("self", want, sizeof(want)));
	ASSERT_NE(0, strcmp(want, self->home)) {
		TH_LOG("still in %s: could not join %s", want, self->grp);
	}
	ASSERT_EQ(0, vsng_dev_init(&self->d, &o));

	snprintf(name, sizeof(name), "vhost-%d", getpid());
	n = find_threads(name, tids, 16);
	ASSERT_LT(0, n) {
		TH_LOG("no worker thread named %s", name);
	}
	if (n > 16)
		n = 16;
	for (i = 0; i < n; i++) {
		snprintf(tid, sizeof(tid), "%d", tids[i]);
		ASSERT_EQ(0, cg_of(tid, got, sizeof(got)));
		ksft_print_msg("worker %s (%s): cgroup %s\n", tid, name, got);
		if (strcmp(got, want)) {
			TH_LOG("worker %s is in '%s', its owner in '%s'",
			       tid, got, want);
			bad++;
		}
	}
	EXPECT_EQ(0, bad);
}

TEST_HARNESS_MAIN
