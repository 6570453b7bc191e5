/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Limits: struct rt_resources -> cgroup v2 interface files.  Written into
 * the VE's cgroup before its init exists (cg_prepare), and live by
 * `vert set` (cg_apply_resources): one write(2) per file, through the
 * cgroup's directory fd.
 */
#include <fcntl.h>

#include "cgroup-internal.h"
#include "vert/util.h"

static int write_limit(int dfd, const char *file, const char *value, vert_error_t *err)
{
	int r = write_file_str_at(dfd, file, value);

	if (r == -ENOENT)
		return vert_error_set(err, ENOENT, VERT_ERR_INVALID,
				      "set %s: the cgroup has no such file (its controller is not "
				      "enabled, or the kernel lacks the feature)",
				      file);
	if (r == -EINVAL || r == -ERANGE || r == -EOVERFLOW)
		return vert_error_set(err, -r, VERT_ERR_INVALID,
				      "set %s to '%s': the kernel rejects the value", file, value);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "set %s to '%s'", file, value);
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

int cg_write_resources(int dfd, const struct rt_resources *res, vert_error_t *err)
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

	/* memory.max before memory.high: lowering both at once must not
	 * leave high above max for a moment (harmless, but odd in events) */
	LIMIT(res->memory_max >= 0, "memory.max", "%s", fmt_max(res->memory_max, num));
	LIMIT(res->memory_high >= 0, "memory.high", "%s", fmt_max(res->memory_high, num));
	LIMIT(res->memory_low >= 0, "memory.low", "%s", fmt_max(res->memory_low, num));
	LIMIT(res->memory_swap_max >= 0, "memory.swap.max", "%s",
	      fmt_max(res->memory_swap_max, num));
	LIMIT(res->cpu_quota >= 0, "cpu.max", "%s %lld", fmt_max(res->cpu_quota, num),
	      (long long)(res->cpu_period > 0 ? res->cpu_period : 100000));
	LIMIT(res->cpu_weight >= 0, "cpu.weight", "%lld", (long long)res->cpu_weight);
	/* cpuset.mems first: a cpuset needs memory nodes before it can run */
	LIMIT(res->cpuset_mems != NULL, "cpuset.mems", "%s", res->cpuset_mems);
	LIMIT(res->cpuset_cpus != NULL, "cpuset.cpus", "%s", res->cpuset_cpus);
	LIMIT(res->pids_max >= 0, "pids.max", "%s", fmt_max(res->pids_max, num));
	LIMIT(res->io_weight >= 0, "io.weight", "default %lld", (long long)res->io_weight);
#undef LIMIT
	for (size_t i = 0; res->io_max && res->io_max[i]; i++)
		if ((r = write_limit(dfd, "io.max", res->io_max[i], err)) < 0)
			return r;
	for (size_t i = 0; res->unified && res->unified[i] && res->unified[i + 1]; i += 2)
		if ((r = write_limit(dfd, res->unified[i], res->unified[i + 1], err)) < 0)
			return r;
	return 0;
}

int cg_apply_resources(const char *path, const struct rt_resources *res, vert_error_t *err)
{
	_cleanup_close_ int dfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int r;

	if (dfd < 0)
		return vert_error_sys(err, "open cgroup '%s'", path);
	r = cg_check_controllers(res, cg_read_controllers_at(dfd, "cgroup.controllers"), path,
				 false, err);
	if (r < 0)
		return r;
	return cg_write_resources(dfd, res, err);
}
