/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OCI linux.resources -> struct rt_resources (cgroup v2 values).
 *
 * The OCI runtime-spec describes resources in cgroup v1 terms; on cgroup
 * v2 they are converted the way crun converts them, so a config.json
 * means the same under vert as under crun:
 *   memory.limit        -> memory.max
 *   memory.reservation  -> memory.low (a protection, not a cap; <= 0: none)
 *   memory.swap         -> memory.swap.max = swap - limit (OCI's swap is
 *                          memory + swap; -1 is unlimited)
 *   cpu.shares          -> cpu.weight, on a log scale so that the default
 *                          1024 shares are the default weight 100
 *   cpu.quota/period    -> cpu.max;  cpu.cpus/mems -> cpuset.cpus/mems
 *   cpu.burst, cpu.idle -> cpu.max.burst, cpu.idle
 *   pids.limit          -> pids.max (0 or -1: max)
 *   blockIO.weight      -> io.weight, 10..1000 scaled to 1..10000
 *   blockIO.weightDevice, throttle*Device -> io.weight / io.max lines
 *   unified             -> written as given (the v2-native way)
 * What has no v2 meaning or is not implemented (device rules, hugepage
 * limits, network classes, rdma, swappiness, realtime, disabling the OOM
 * killer) is rejected rather than ignored: a spec that asks for a limit
 * vert would not enforce is an error (see spec.c).
 */
#include <json-c/json.h>
#include <math.h>

#include "rt-internal.h"
#include "vert/util.h"

void rt_resources_init(struct rt_resources *r)
{
	memset(r, 0, sizeof(*r));
	r->memory_max = r->memory_high = r->memory_low = r->memory_swap_max = -1;
	r->cpu_quota = r->cpu_period = r->cpu_weight = -1;
	r->pids_max = r->io_weight = -1;
}

void rt_resources_done(struct rt_resources *r)
{
	free(r->cpuset_cpus);
	free(r->cpuset_mems);
	strv_free(r->io_max);
	strv_free(r->unified);
	rt_resources_init(r);
}

bool rt_resources_any(const struct rt_resources *r)
{
	return r->memory_max >= 0 || r->memory_high >= 0 || r->memory_low >= 0 ||
	       r->memory_swap_max >= 0 || r->cpu_quota >= 0 || r->cpu_weight >= 0 ||
	       r->cpuset_cpus || r->cpuset_mems || r->pids_max >= 0 || r->io_weight >= 0 ||
	       r->io_max || r->unified;
}

int64_t rt_oci_shares_to_weight(uint64_t shares)
{
	double l, e;

	/* crun's curve through (2, 1), (1024, 100) and (262144, 10000);
	 * the linear map runc used first put 1024 shares at weight 39 */
	if (shares == 0)
		return -1;
	if (shares <= 2)
		return 1;
	if (shares >= 262144)
		return 10000;
	l = log2((double)shares);
	e = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
	/* the epsilon keeps 10^2.0000000000000004 from rounding up to 101 */
	return (int64_t)ceil(pow(10, e) - 1e-9);
}

int64_t rt_oci_blkio_to_io_weight(uint64_t w)
{
	if (w == 0)
		return -1;
	if (w < 10)
		w = 10;
	if (w > 1000)
		w = 1000;
	return (int64_t)(1 + (w - 10) * 9999 / 990);
}

static int unsupported(const char *what, vert_error_t *err)
{
	return vert_error_set(err, EOPNOTSUPP, VERT_ERR_INVALID,
			      "spec: linux.resources.%s is not supported", what);
}

static bool present(struct json_object *o, const char *key)
{
	return rt_jget(o, key) != NULL;
}

static int parse_memory(struct rt_resources *r, struct json_object *mem, vert_error_t *err)
{
	int64_t limit = -1, swap = -1;
	bool disable_oom = false;
	int ret;

	if ((ret = rt_jint64(mem, "limit", &limit, err)) < 0 ||
	    (ret = rt_jint64(mem, "reservation", &r->memory_low, err)) < 0 ||
	    (ret = rt_jint64(mem, "swap", &swap, err)) < 0 ||
	    (ret = rt_jbool(mem, "disableOOMKiller", &disable_oom, err)) < 0)
		return ret;
	/* kernel and kernelTCP are deprecated in the spec; on v2 kernel
	 * memory is part of memory.max anyway */
	if (present(mem, "swappiness"))
		return unsupported("memory.swappiness (no per-cgroup swappiness on cgroup v2)",
				   err);
	if (disable_oom)
		return unsupported("memory.disableOOMKiller", err);
	if (present(mem, "limit"))
		r->memory_max = limit < 0 ? INT64_MAX : limit;
	if (r->memory_low <= 0)
		r->memory_low = -1; /* no reservation: nothing to protect */
	if (present(mem, "swap")) {
		if (swap < 0)
			r->memory_swap_max = INT64_MAX;
		else if (!present(mem, "limit") || limit < 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: memory.swap needs memory.limit (it is their "
					      "sum)");
		else if (swap < limit)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: memory.swap (%lld) is memory + swap and must "
					      "not be below memory.limit (%lld)",
					      (long long)swap, (long long)limit);
		else
			r->memory_swap_max = swap - limit;
	}
	return 0;
}

static char **unified_add(char **u, const char *key, char *take_value)
{
	u = strv_push(u, xstrdup(key));
	return strv_push(u, take_value);
}

static int parse_cpu(struct rt_resources *r, struct json_object *cpu, vert_error_t *err)
{
	int64_t shares = -1, quota = -1, period = -1, burst = -1, idle = -1, rt = 0;
	int ret;

	if ((ret = rt_jint64(cpu, "shares", &shares, err)) < 0 ||
	    (ret = rt_jint64(cpu, "quota", &quota, err)) < 0 ||
	    (ret = rt_jint64(cpu, "period", &period, err)) < 0 ||
	    (ret = rt_jint64(cpu, "burst", &burst, err)) < 0 ||
	    (ret = rt_jint64(cpu, "idle", &idle, err)) < 0 ||
	    (ret = rt_jint64(cpu, "realtimeRuntime", &rt, err)) < 0 ||
	    (ret = rt_jstr(cpu, "cpus", &r->cpuset_cpus, err)) < 0 ||
	    (ret = rt_jstr(cpu, "mems", &r->cpuset_mems, err)) < 0)
		return ret;
	if (rt > 0)
		return unsupported("cpu.realtimeRuntime", err);
	if (shares > 0)
		r->cpu_weight = rt_oci_shares_to_weight((uint64_t)shares);
	if (present(cpu, "quota") || present(cpu, "period")) {
		r->cpu_quota = quota > 0 ? quota : INT64_MAX;
		r->cpu_period = period > 0 ? period : 100000;
	}
	if (burst >= 0)
		r->unified = unified_add(r->unified, "cpu.max.burst",
					 xasprintf("%lld", (long long)burst));
	if (idle >= 0)
		r->unified =
			unified_add(r->unified, "cpu.idle", xasprintf("%lld", (long long)idle));
	if (r->cpuset_cpus && !*r->cpuset_cpus) {
		free(r->cpuset_cpus);
		r->cpuset_cpus = NULL;
	}
	if (r->cpuset_mems && !*r->cpuset_mems) {
		free(r->cpuset_mems);
		r->cpuset_mems = NULL;
	}
	return 0;
}

/* [{"major": 8, "minor": 0, "rate": N}] -> "8:0 KEY=N" lines in io.max */
static int parse_throttle(struct rt_resources *r, struct json_object *bio, const char *field,
			  const char *key, vert_error_t *err)
{
	struct json_object *a = rt_jget(bio, field);
	int ret;

	if (!a)
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: blockIO.%s must be an array", field);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		int64_t maj = -1, min = -1, rate = -1;
		if ((ret = rt_jint64(e, "major", &maj, err)) < 0 ||
		    (ret = rt_jint64(e, "minor", &min, err)) < 0 ||
		    (ret = rt_jint64(e, "rate", &rate, err)) < 0)
			return ret;
		if (maj < 0 || min < 0 || rate < 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: blockIO.%s entries need major, minor and rate",
					      field);
		r->io_max = strv_push(r->io_max,
				      rate == 0 ? xasprintf("%lld:%lld %s=max", (long long)maj,
							    (long long)min, key)
						: xasprintf("%lld:%lld %s=%lld", (long long)maj,
							    (long long)min, key, (long long)rate));
	}
	return 0;
}

static int parse_blockio(struct rt_resources *r, struct json_object *bio, vert_error_t *err)
{
	static const struct {
		const char *field, *key;
	} thr[] = {
		{ "throttleReadBpsDevice", "rbps" },
		{ "throttleWriteBpsDevice", "wbps" },
		{ "throttleReadIOPSDevice", "riops" },
		{ "throttleWriteIOPSDevice", "wiops" },
	};
	struct json_object *wd;
	int64_t w = -1;
	int ret;

	if ((ret = rt_jint64(bio, "weight", &w, err)) < 0)
		return ret;
	if (w > 0)
		r->io_weight = rt_oci_blkio_to_io_weight((uint64_t)w);
	wd = rt_jget(bio, "weightDevice");
	for (size_t i = 0; wd && i < json_object_array_length(wd); i++) {
		struct json_object *e = json_object_array_get_idx(wd, i);
		int64_t maj = -1, min = -1, dw = -1;
		if ((ret = rt_jint64(e, "major", &maj, err)) < 0 ||
		    (ret = rt_jint64(e, "minor", &min, err)) < 0 ||
		    (ret = rt_jint64(e, "weight", &dw, err)) < 0)
			return ret;
		if (maj < 0 || min < 0 || dw <= 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: blockIO.weightDevice entries need major, "
					      "minor and weight");
		r->unified =
			unified_add(r->unified, "io.weight",
				    xasprintf("%lld:%lld %lld", (long long)maj, (long long)min,
					      (long long)rt_oci_blkio_to_io_weight((uint64_t)dw)));
	}
	for (size_t i = 0; i < ARRAY_SIZE(thr); i++)
		if ((ret = parse_throttle(r, bio, thr[i].field, thr[i].key, err)) < 0)
			return ret;
	return 0;
}

/* A unified key names a file of the cgroup itself: "memory.high", never
 * a path, never the cgroup core's own files. */
static bool unified_key_valid(const char *k)
{
	const char *dot = strchr(k, '.');
	if (!dot || dot == k || !dot[1] || strchr(k, '/') || strstr(k, ".."))
		return false;
	return !str_startswith(k, "cgroup.");
}

static int parse_unified(struct rt_resources *r, struct json_object *u, vert_error_t *err)
{
	if (!json_object_is_type(u, json_type_object))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: linux.resources.unified must be an object");
	json_object_object_foreach(u, k, v)
	{
		if (!unified_key_valid(k))
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: invalid linux.resources.unified key '%s'", k);
		if (!json_object_is_type(v, json_type_string))
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: linux.resources.unified '%s' must be a string",
					      k);
		r->unified = unified_add(r->unified, k, xstrdup(json_object_get_string(v)));
	}
	return 0;
}

static bool nonempty_array(struct json_object *o, const char *key)
{
	struct json_object *a = rt_jget(o, key);
	return a && (!json_object_is_type(a, json_type_array) || json_object_array_length(a) > 0);
}

int rt_parse_resources(struct rt_resources *r, struct json_object *res, vert_error_t *err)
{
	struct json_object *o;
	int ret;

	if (!res)
		return 0;
	if (!json_object_is_type(res, json_type_object))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: linux.resources must be an object");
	if (nonempty_array(res, "devices"))
		return unsupported("devices (no device filter on cgroup v2 yet)", err);
	if (nonempty_array(res, "hugepageLimits"))
		return unsupported("hugepageLimits", err);
	if (present(res, "network"))
		return unsupported("network (a cgroup v1 feature)", err);
	if (present(res, "rdma"))
		return unsupported("rdma", err);
	if ((o = rt_jget(res, "memory")) && (ret = parse_memory(r, o, err)) < 0)
		return ret;
	if ((o = rt_jget(res, "cpu")) && (ret = parse_cpu(r, o, err)) < 0)
		return ret;
	if ((o = rt_jget(res, "pids"))) {
		int64_t limit = -1;
		if ((ret = rt_jint64(o, "limit", &limit, err)) < 0)
			return ret;
		if (present(o, "limit"))
			r->pids_max = limit > 0 ? limit : INT64_MAX;
	}
	if ((o = rt_jget(res, "blockIO")) && (ret = parse_blockio(r, o, err)) < 0)
		return ret;
	if ((o = rt_jget(res, "unified")) && (ret = parse_unified(r, o, err)) < 0)
		return ret;
	return 0;
}
