/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Killing a VE's processes and removing its cgroup tree.
 *
 * cgroup.kill (Linux 5.14) kills a whole subtree in one write, racing no
 * fork: a fork bomb can't outrun it the way it outruns a loop over
 * cgroup.procs.  The loop stays as the fallback for older kernels.  The
 * tree is removed bottom-up: a VE running systemd leaves init.scope,
 * system.slice and the like below its payload.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "cgroup-internal.h"
#include "vert/util.h"

static bool populated_at(int dfd)
{
	_cleanup_free_ char *buf = NULL;
	int64_t v;

	if (cg_read_at(dfd, "cgroup.events", &buf) < 0)
		return false;
	return cg_parse_keyed(buf, "populated", &v) == 0 && v != 0;
}

/* pre-5.14: SIGKILL what cgroup.procs lists, in dfd and below */
static void kill_procs_at(int dfd, int depth)
{
	_cleanup_free_ char *buf = NULL;
	DIR *d;
	struct dirent *de;
	int dup;

	if (cg_read_at(dfd, "cgroup.procs", &buf) == 0)
		for (char *p = buf; *p;) {
			pid_t pid = (pid_t)strtol(p, &p, 10);
			if (pid > 0)
				kill(pid, SIGKILL);
			while (*p == '\n')
				p++;
		}
	if (depth > 64 || (dup = openat(dfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (!(d = fdopendir(dup))) {
		close(dup);
		return;
	}
	while ((de = readdir(d))) {
		int sub;
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = openat(dfd, de->d_name, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (sub >= 0) {
			kill_procs_at(sub, depth + 1);
			close(sub);
		}
	}
	closedir(d);
}

static int kill_at(int dfd)
{
	int r = write_file_str_at(dfd, "cgroup.kill", "1");
	if (r == -ENOENT) {
		kill_procs_at(dfd, 0);
		return 0;
	}
	return r;
}

int cg_kill(const char *path)
{
	_cleanup_close_ int dfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	if (dfd < 0)
		return -errno;
	return kill_at(dfd);
}

/* rmdir every cgroup below dfd, children first */
static int remove_children_at(int dfd, int depth)
{
	DIR *d;
	struct dirent *de;
	int dup, r = 0;

	if (depth > 64)
		return -ELOOP;
	if ((dup = openat(dfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (!(d = fdopendir(dup))) {
		close(dup);
		return -errno;
	}
	while ((de = readdir(d))) {
		int sub;
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = openat(dfd, de->d_name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		(void)remove_children_at(sub, depth + 1);
		close(sub);
		/* a cgroup stays busy for a moment after its last process is
		 * reaped; the caller waited for "populated 0" already */
		for (int i = 0; i < 100; i++) {
			if (unlinkat(dfd, de->d_name, AT_REMOVEDIR) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY) {
				r = -errno;
				break;
			}
			poll(NULL, 0, 10);
		}
	}
	closedir(d);
	return r;
}

/* A VE cgroup is a directory on cgroup2 whose parent is named "vert". */
static bool is_ve_cgroup(const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	struct statfs fs;
	char *parent;

	if (path[0] != '/' || strstr(path, "/../") || str_endswith(path, "/.."))
		return false;
	if (statfs(path, &fs) == 0 && fs.f_type != CGROUP2_SUPER_MAGIC)
		return false;
	parent = dirname(copy);
	return strcmp(basename(parent), CG_SUBTREE) == 0;
}

/* On a hybrid host the vert subtree in the host's controller-less
 * cgroup2 hierarchy exists only while a VE needs it: the host is left as
 * it was.  (rmdir fails harmlessly while another VE is in it; a start
 * racing with this retries, see cg_prepare.) */
static void remove_hybrid_base(const char *ve_path)
{
	static const char prefix[] = CG_MOUNT "/unified/" CG_SUBTREE "/";
	if (strncmp(ve_path, prefix, sizeof(prefix) - 1) == 0)
		rmdir(CG_MOUNT "/unified/" CG_SUBTREE);
}

int cg_remove_path(const char *path, vert_error_t *err)
{
	_cleanup_close_ int dfd = -EBADF;
	uint64_t deadline;
	int r;

	if (!is_ve_cgroup(path))
		return vert_error_set(err, EINVAL, VERT_ERR_RUNTIME,
				      "refusing to remove '%s': not a cgroup vert made for a VE",
				      path);
	dfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOENT)
			return 0;
		return vert_error_sys(err, "open cgroup '%s'", path);
	}
	deadline = now_ns() + 5000000000ULL;
	while (populated_at(dfd)) {
		if ((r = kill_at(dfd)) < 0)
			return vert_error_set(err, -r, VERT_ERR_RUNTIME,
					      "kill the processes in cgroup '%s'", path);
		if (now_ns() > deadline)
			return vert_error_set(err, EBUSY, VERT_ERR_RUNTIME,
					      "remove cgroup '%s': processes still in it after "
					      "5 s",
					      path);
		poll(NULL, 0, 10);
	}
	if ((r = remove_children_at(dfd, 0)) < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "remove the cgroups in '%s'",
				      path);
	for (int i = 0; i < 500; i++) {
		if (rmdir(path) == 0 || errno == ENOENT) {
			remove_hybrid_base(path);
			return 0;
		}
		if (errno != EBUSY)
			break;
		poll(NULL, 0, 10);
	}
	return vert_error_sys(err, "remove cgroup '%s'", path);
}
