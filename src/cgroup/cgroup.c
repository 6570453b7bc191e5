/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup v2 for VEs.
 *
 * This file talks to cgroupfs directly rather than through libcgroup:
 * the spawn path needs an O_DIRECTORY fd for clone3(CLONE_INTO_CGROUP),
 * and removal needs cgroup.kill and cgroup.events, none of which
 * libcgroup 2.0 exposes; a library round trip would also cost start
 * latency on the hot path for writes that are one write(2) each.
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "vert/cgroup.h"
#include "vert/util.h"

#define CG_ROOT "/sys/fs/cgroup"
#define CG_BASE "vert"

enum cg_layout cg_detect_layout(void)
{
	struct statfs fs;

	if (statfs(CG_ROOT, &fs) < 0)
		return CG_LAYOUT_NONE;
	if (fs.f_type == CGROUP2_SUPER_MAGIC)
		return CG_LAYOUT_UNIFIED;
	if (statfs(CG_ROOT "/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		return CG_LAYOUT_HYBRID;
	if (access(CG_ROOT "/memory", F_OK) == 0 || access(CG_ROOT "/pids", F_OK) == 0)
		return CG_LAYOUT_LEGACY;
	return CG_LAYOUT_NONE;
}

const char *cg_layout_name(enum cg_layout l)
{
	switch (l) {
	case CG_LAYOUT_UNIFIED:
		return "unified (cgroup v2)";
	case CG_LAYOUT_HYBRID:
		return "hybrid (cgroup v1 controllers, cgroup2 without them)";
	case CG_LAYOUT_LEGACY:
		return "legacy (cgroup v1 only)";
	case CG_LAYOUT_NONE:
		break;
	}
	return "none (no cgroup filesystem mounted)";
}

#define CG_FIX "boot the host with systemd.unified_cgroup_hierarchy=1 (cgroup v2)"

static int enable_controllers(const char *dir, vert_error_t *err)
{
	_cleanup_free_ char *avail = NULL, *path = NULL;
	static const char *const want[] = { "cpuset", "cpu", "io", "memory", "pids" };
	int r;

	path = xasprintf("%s/cgroup.controllers", dir);
	r = read_file_at(AT_FDCWD, path, 4096, &avail, NULL);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "read '%s'", path);
	free(path);
	path = xasprintf("%s/cgroup.subtree_control", dir);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		char tok[32];
		bool found = false;
		for (char *p = avail; *p;) {
			size_t l = strcspn(p, " \n");
			if (l == strlen(want[i]) && strncmp(p, want[i], l) == 0)
				found = true;
			p += l;
			p += strspn(p, " \n");
		}
		if (!found)
			continue;
		snprintf(tok, sizeof(tok), "+%s", want[i]);
		/* one at a time: a controller that can't be enabled (e.g.
		 * cpuset busy) must not block the others */
		r = write_file_str(path, tok);
		if (r < 0 && r != -EBUSY && r != -ENOENT)
			vert_debug("enable %s in %s: %s", want[i], dir, strerror(-r));
	}
	return 0;
}

static int write_limit(int dfd, const char *file, const char *value, vert_error_t *err)
{
	int r = write_file_str_at(dfd, file, value);
	if (r == -ENOENT)
		return vert_error_set(err, ENOENT, VERT_ERR_RUNTIME,
				      "cgroup controller for '%s' is not available", file);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_INVALID, "set %s to '%s'", file, value);
	return 0;
}

/* INT64_MAX means "no limit": cgroupfs spells that "max" */
static const char *fmt_max(int64_t v, char buf[static 24])
{
	if (v == INT64_MAX)
		return "max";
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

static int apply_resources(int dfd, const struct rt_resources *res, vert_error_t *err)
{
	char buf[64], num[24];
	int r;

#define LIMIT(cond, file, ...)                                                                     \
	do {                                                                                       \
		if (cond) {                                                                        \
			snprintf(buf, sizeof(buf), __VA_ARGS__);                                   \
			if ((r = write_limit(dfd, file, buf, err)) < 0)                            \
				return r;                                                          \
		}                                                                                  \
	} while (0)

	LIMIT(res->memory_max >= 0, "memory.max", "%s", fmt_max(res->memory_max, num));
	LIMIT(res->memory_high >= 0, "memory.high", "%s", fmt_max(res->memory_high, num));
	LIMIT(res->memory_swap_max >= 0, "memory.swap.max", "%s",
	      fmt_max(res->memory_swap_max, num));
	LIMIT(res->cpu_quota >= 0, "cpu.max", "%lld %lld", (long long)res->cpu_quota,
	      (long long)(res->cpu_period > 0 ? res->cpu_period : 100000));
	LIMIT(res->cpu_weight >= 0, "cpu.weight", "%lld", (long long)res->cpu_weight);
	LIMIT(res->cpuset_cpus != NULL, "cpuset.cpus", "%s", res->cpuset_cpus);
	LIMIT(res->cpuset_mems != NULL, "cpuset.mems", "%s", res->cpuset_mems);
	LIMIT(res->pids_max >= 0, "pids.max", "%s", fmt_max(res->pids_max, num));
	LIMIT(res->io_weight >= 0, "io.weight", "default %lld", (long long)res->io_weight);
#undef LIMIT
	for (size_t i = 0; res->io_max && res->io_max[i]; i++)
		if ((r = write_limit(dfd, "io.max", res->io_max[i], err)) < 0)
			return r;
	return 0;
}

int cg_prepare(const char *name, const struct rt_resources *res, bool rootless,
	       struct cg_handle *h, vert_error_t *err)
{
	enum cg_layout l = cg_detect_layout();
	_cleanup_free_ char *base = NULL, *path = NULL;
	int r;

	h->path = NULL;
	h->dirfd = -1;
	h->why_none = NULL;

	if (l != CG_LAYOUT_UNIFIED) {
		if (rt_resources_any(res))
			return vert_error_set(err, EOPNOTSUPP, VERT_ERR_INVALID,
					      "resource limits need cgroup v2, but this host's "
					      "cgroup layout is %s; %s",
					      cg_layout_name(l), CG_FIX);
		h->why_none = xasprintf("cgroup v2 is not available (layout: %s); running "
					"without a cgroup: no resource limits or accounting (%s)",
					cg_layout_name(l), CG_FIX);
		return 0;
	}
	if (rootless) {
		if (rt_resources_any(res))
			return vert_error_set(err, EPERM, VERT_ERR_INVALID,
					      "resource limits need a delegated cgroup v2 subtree, "
					      "which rootless vert does not have here; run as root, "
					      "or run vert under 'systemd-run --user --scope "
					      "-p Delegate=yes'");
		h->why_none = xstrdup("rootless: no delegated cgroup; running without a cgroup "
				      "(no resource limits or accounting)");
		return 0;
	}

	base = xstrdup(CG_ROOT "/" CG_BASE);
	if (mkdir(base, 0755) < 0 && errno != EEXIST)
		return vert_error_sys(err, "create cgroup '%s'", base);
	if ((r = enable_controllers(CG_ROOT, err)) < 0 || (r = enable_controllers(base, err)) < 0)
		return r;
	path = xasprintf("%s/%s", base, name);
	if (mkdir(path, 0755) < 0) {
		if (errno != EEXIST)
			return vert_error_sys(err, "create cgroup '%s'", path);
		/* left over by a crashed vert: it belongs to this VE name */
		if ((r = cg_remove_path(path, err)) < 0)
			return r;
		if (mkdir(path, 0755) < 0)
			return vert_error_sys(err, "create cgroup '%s'", path);
	}
	h->dirfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (h->dirfd < 0) {
		r = vert_error_sys(err, "open cgroup '%s'", path);
		rmdir(path);
		return r;
	}
	r = apply_resources(h->dirfd, res, err);
	if (r < 0) {
		close(h->dirfd);
		h->dirfd = -1;
		rmdir(path);
		return r;
	}
	h->path = TAKE_PTR(path);
	return 0;
}

int cg_apply_resources(const char *path, const struct rt_resources *res, vert_error_t *err)
{
	_cleanup_close_ int dfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	if (dfd < 0)
		return vert_error_sys(err, "open cgroup '%s'", path);
	return apply_resources(dfd, res, err);
}

static bool cg_populated(const char *path)
{
	_cleanup_free_ char *p = xasprintf("%s/cgroup.events", path), *buf = NULL;
	if (read_file_at(AT_FDCWD, p, 4096, &buf, NULL) < 0)
		return false;
	return strstr(buf, "populated 1") != NULL;
}

int cg_remove_path(const char *path, vert_error_t *err)
{
	_cleanup_free_ char *killf = xasprintf("%s/cgroup.kill", path);

	if (access(path, F_OK) < 0)
		return 0;
	if (cg_populated(path) && write_file_str(killf, "1") < 0) {
		/* pre-5.14 kernels: no cgroup.kill; kill the listed pids */
		_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", path), *buf = NULL;
		if (read_file_at(AT_FDCWD, procs, 1 << 20, &buf, NULL) == 0)
			for (char *p = buf; *p;) {
				pid_t pid = (pid_t)strtol(p, &p, 10);
				if (pid > 0)
					kill(pid, SIGKILL);
				while (*p == '\n')
					p++;
			}
	}
	for (int i = 0; i < 500; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		poll(NULL, 0, 10);
	}
	return vert_error_sys(err, "remove cgroup '%s'", path);
}

void cg_handle_done(struct cg_handle *h)
{
	if (h->dirfd >= 0)
		close(h->dirfd);
	free(h->path);
	free(h->why_none);
	h->dirfd = -1;
	h->path = h->why_none = NULL;
}

/* ---- statistics ---- */

static int64_t read_i64_or_max(int dfd, const char *file)
{
	_cleanup_free_ char *buf = NULL;
	long long v;

	if (read_file_at(dfd, file, 4096, &buf, NULL) < 0)
		return -1;
	if (strncmp(buf, "max", 3) == 0)
		return -1;
	if (sscanf(buf, "%lld", &v) != 1)
		return -1;
	return (int64_t)v;
}

/* "key value" lines (cpu.stat, memory.events) */
static int64_t read_keyed(int dfd, const char *file, const char *key)
{
	_cleanup_free_ char *buf = NULL;
	size_t kl = strlen(key);

	if (read_file_at(dfd, file, 1 << 16, &buf, NULL) < 0)
		return -1;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		long long v;
		if (strncmp(l, key, kl) == 0 && l[kl] == ' ' && sscanf(l + kl + 1, "%lld", &v) == 1)
			return (int64_t)v;
	}
	return -1;
}

int cg_stats_read(const char *path, struct cg_stats *st)
{
	_cleanup_close_ int dfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;

	memset(st, 0xff, sizeof(*st)); /* every field -1 */
	if (dfd < 0)
		return -errno;
	st->memory_current = read_i64_or_max(dfd, "memory.current");
	st->memory_max = read_i64_or_max(dfd, "memory.max");
	st->memory_high = read_i64_or_max(dfd, "memory.high");
	st->swap_current = read_i64_or_max(dfd, "memory.swap.current");
	st->pids_current = read_i64_or_max(dfd, "pids.current");
	st->pids_max = read_i64_or_max(dfd, "pids.max");
	st->cpu_usage_usec = read_keyed(dfd, "cpu.stat", "usage_usec");
	st->cpu_user_usec = read_keyed(dfd, "cpu.stat", "user_usec");
	st->cpu_system_usec = read_keyed(dfd, "cpu.stat", "system_usec");
	st->oom_kills = read_keyed(dfd, "memory.events", "oom_kill");
	st->oom_events = read_keyed(dfd, "memory.events", "oom");
	if (read_file_at(dfd, "cpu.max", 4096, &buf, NULL) == 0) {
		long long q, per;
		if (sscanf(buf, "%lld %lld", &q, &per) == 2) {
			st->cpu_quota = q;
			st->cpu_period = per;
		} else if (sscanf(buf, "max %lld", &per) == 1) {
			st->cpu_period = per;
		}
		free(buf);
		buf = NULL;
	}
	/* io.stat: "MAJ:MIN rbytes=N wbytes=N rios=.. ..." per device */
	if (read_file_at(dfd, "io.stat", 1 << 20, &buf, NULL) == 0) {
		st->io_rbytes = st->io_wbytes = 0;
		for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n")) {
			long long v;
			if (sscanf(t, "rbytes=%lld", &v) == 1)
				st->io_rbytes += v;
			else if (sscanf(t, "wbytes=%lld", &v) == 1)
				st->io_wbytes += v;
		}
	}
	return 0;
}
