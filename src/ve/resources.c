/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsers for resource-limit values (--memory, --cpus, ...). */
#include <ctype.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "vert/util.h"
#include "vert/ve.h"

static int bad(const char *flag, const char *val, const char *why, vert_error_t *err)
{
	return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "invalid --%s '%s': %s", flag, val,
			      why);
}

static int parse_cpus(const char *s, int64_t *quota, int64_t *period, vert_error_t *err)
{
	/* fixed-point: up to 3 decimals, no floating point surprises */
	uint64_t whole = 0, frac = 0;
	int fd = 0;
	const char *p = s;

	if (strcmp(s, "max") == 0) {
		/* no limit ("max" in cpu.max), e.g. to lift one with vert set */
		*quota = INT64_MAX;
		*period = 100000;
		return 0;
	}
	if (!isdigit((unsigned char)*p))
		return bad("cpus", s, "expected a positive number like 0.5 or 2, or max", err);
	while (isdigit((unsigned char)*p)) {
		whole = whole * 10 + (uint64_t)(*p++ - '0');
		if (whole > 4096)
			return bad("cpus", s, "too large", err);
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p) && fd < 3) {
			frac = frac * 10 + (uint64_t)(*p++ - '0');
			fd++;
		}
		while (fd < 3) {
			frac *= 10;
			fd++;
		}
	}
	if (*p)
		return bad("cpus", s, "expected a positive number like 0.5 or 2", err);
	*period = 100000;
	*quota = (int64_t)((whole * 1000 + frac) * 100);
	if (*quota < 1000)
		return bad("cpus", s, "must be at least 0.01", err);
	return 0;
}

static bool cpuset_valid(const char *s)
{
	/* "0-3,5,7-8" */
	const char *p = s;
	if (!*p)
		return false;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return false;
			while (isdigit((unsigned char)*p))
				p++;
		}
		if (*p == ',') {
			p++;
			if (!*p)
				return false;
		} else if (*p) {
			return false;
		}
	}
	return true;
}

/* DEV:rbps=N,wbps=N,riops=N,wiops=N  ->  "MAJ:MIN rbps=N wbps=N ..." */
static int parse_io_max(const char *s, char **ret, vert_error_t *err)
{
	_cleanup_free_ char *copy = xstrdup(s), *out = NULL;
	char *colon, *save = NULL;
	unsigned maj, min;

	/* the device is a path (/dev/sda) or MAJ:MIN */
	if (copy[0] == '/') {
		struct stat st;
		colon = strchr(copy, ':');
		if (!colon)
			return bad("io-max", s, "expected DEV:rbps=N,wbps=N", err);
		*colon = '\0';
		if (stat(copy, &st) < 0 || !S_ISBLK(st.st_mode))
			return bad("io-max", s, "device is not a block device", err);
		maj = major(st.st_rdev);
		min = minor(st.st_rdev);
	} else {
		int n = 0;
		if (sscanf(copy, "%u:%u%n", &maj, &min, &n) != 2 || copy[n] != ':')
			return bad("io-max", s, "expected DEV:rbps=N,wbps=N", err);
		colon = copy + n;
	}
	out = xasprintf("%u:%u", maj, min);
	for (char *kv = strtok_r(colon + 1, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		uint64_t v;
		char *n;
		if (!eq)
			return bad("io-max", s, "expected KEY=VALUE after the device", err);
		*eq = '\0';
		if (strcmp(kv, "rbps") != 0 && strcmp(kv, "wbps") != 0 &&
		    strcmp(kv, "riops") != 0 && strcmp(kv, "wiops") != 0)
			return bad("io-max", s, "keys are rbps, wbps, riops, wiops", err);
		if (strcmp(eq + 1, "max") != 0 && parse_size(eq + 1, &v) < 0)
			return bad("io-max", s, "values are numbers (with k/M/G) or 'max'", err);
		n = strcmp(eq + 1, "max") == 0
			    ? xasprintf("%s %s=max", out, kv)
			    : xasprintf("%s %s=%llu", out, kv, (unsigned long long)v);
		free(out);
		out = n;
	}
	if (!strchr(out, '='))
		return bad("io-max", s, "no limit given", err);
	*ret = TAKE_PTR(out);
	return 0;
}

static int parse_mem(const char *flag, const char *s, int64_t *ret, vert_error_t *err)
{
	uint64_t v;
	if (strcmp(s, "max") == 0 || strcmp(s, "-1") == 0) {
		*ret = INT64_MAX; /* "no limit", written as max */
		return 0;
	}
	if (parse_size(s, &v) < 0 || v > (uint64_t)INT64_MAX - 1)
		return bad(flag, s, "expected a size like 512M, 2G or 65536", err);
	if (v < 4096 && strcmp(flag, "swap") != 0)
		return bad(flag, s, "must be at least 4k", err);
	*ret = (int64_t)v;
	return 0;
}

int ve_parse_resource(const char *flag, const char *arg, struct rt_resources *r, vert_error_t *err)
{
	uint64_t v;
	char *io = NULL;

	if (strcmp(flag, "memory") == 0)
		return parse_mem("memory", arg, &r->memory_max, err);
	if (strcmp(flag, "memory-high") == 0)
		return parse_mem("memory-high", arg, &r->memory_high, err);
	if (strcmp(flag, "swap") == 0)
		return parse_mem("swap", arg, &r->memory_swap_max, err);
	if (strcmp(flag, "cpus") == 0)
		return parse_cpus(arg, &r->cpu_quota, &r->cpu_period, err);
	if (strcmp(flag, "cpu-weight") == 0) {
		if (parse_u64(arg, &v) < 0 || v < 1 || v > 10000)
			return bad("cpu-weight", arg, "expected 1..10000", err);
		r->cpu_weight = (int64_t)v;
		return 0;
	}
	if (strcmp(flag, "cpuset") == 0) {
		if (!cpuset_valid(arg))
			return bad("cpuset", arg, "expected a CPU list like 0-1 or 0,2", err);
		free(r->cpuset_cpus);
		r->cpuset_cpus = xstrdup(arg);
		return 0;
	}
	if (strcmp(flag, "pids") == 0) {
		if (strcmp(arg, "max") == 0) {
			r->pids_max = INT64_MAX;
			return 0;
		}
		if (parse_u64(arg, &v) < 0 || v < 1 || v > 4194304)
			return bad("pids", arg,
				   "expected a number of processes (1..4194304) or max", err);
		r->pids_max = (int64_t)v;
		return 0;
	}
	if (strcmp(flag, "io-weight") == 0) {
		if (parse_u64(arg, &v) < 0 || v < 1 || v > 10000)
			return bad("io-weight", arg, "expected 1..10000", err);
		r->io_weight = (int64_t)v;
		return 0;
	}
	if (strcmp(flag, "io-max") == 0) {
		if (parse_io_max(arg, &io, err) < 0)
			return vert_error_ret(err);
		r->io_max = strv_push(r->io_max, io);
		return 0;
	}
	return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "unknown resource flag --%s", flag);
}
