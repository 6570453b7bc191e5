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
#include <math.h>
#include <stddef.h>

#include "rt-internal.h"
#include "vert/json.h"
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

static int unsupported(const struct vjson_loc *loc, const char *what, vert_error_t *err)
{
	return vert_error_set(err, EOPNOTSUPP, VERT_ERR_INVALID,
			      "%s: linux.resources.%s is not supported", loc->where, what);
}

#define F(n, t, cb, st, m) VJSON_FIELD(n, t, cb, st, m, VJSON_NULLABLE)

/* an integer that may be absent */
struct opt_i64 {
	int64_t v;
	bool set;
};

static int set_opt(struct json_object *v, void *target, const struct vjson_field *f,
		   const struct vjson_loc *loc, vert_error_t *err)
{
	struct opt_i64 *o = target;
	int r = vjson_int64(v, &o->v, f, loc, err);

	if (r == 0)
		o->set = true;
	return r;
}

struct mem_in {
	struct opt_i64 limit, swap;
	int64_t reservation;
	bool disable_oom, swappiness;
};

static const struct vjson_field mem_table[] = {
	F("limit", VJSON_INT, set_opt, struct mem_in, limit),
	F("reservation", VJSON_INT, vjson_int64, struct mem_in, reservation),
	F("swap", VJSON_INT, set_opt, struct mem_in, swap),
	F("disableOOMKiller", VJSON_BOOL, vjson_bool, struct mem_in, disable_oom),
	/* kernel and kernelTCP are deprecated in the spec; on v2 kernel
	 * memory is part of memory.max anyway */
	F("swappiness", VJSON_ANY, vjson_present, struct mem_in, swappiness),
	{},
};

static int set_memory(struct json_object *v, void *target, const struct vjson_field *f,
		      const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_resources *r = *(struct rt_resources **)target;
	struct mem_in in = { .limit.v = -1, .swap.v = -1, .reservation = r->memory_low };
	int ret;

	if ((ret = vjson_dispatch_at(v, mem_table, &in, loc, err)) < 0)
		return ret;
	if (in.swappiness)
		return unsupported(loc, "memory.swappiness (no per-cgroup swappiness on cgroup v2)",
				   err);
	if (in.disable_oom)
		return unsupported(loc, "memory.disableOOMKiller", err);
	if (in.limit.set)
		r->memory_max = in.limit.v < 0 ? INT64_MAX : in.limit.v;
	r->memory_low = in.reservation <= 0 ? -1 : in.reservation; /* none: nothing to protect */
	if (in.swap.set) {
		if (in.swap.v < 0)
			r->memory_swap_max = INT64_MAX;
		else if (!in.limit.set || in.limit.v < 0)
			return vjson_error(err, loc,
					   "memory.swap needs memory.limit (it is their sum)");
		else if (in.swap.v < in.limit.v)
			return vjson_error(err, loc,
					   "memory.swap (%lld) is memory + swap and must not be "
					   "below memory.limit (%lld)",
					   (long long)in.swap.v, (long long)in.limit.v);
		else
			r->memory_swap_max = in.swap.v - in.limit.v;
	}
	return 0;
}

static char **unified_add(char **u, const char *key, char *take_value)
{
	u = strv_push(u, xstrdup(key));
	return strv_push(u, take_value);
}

struct cpu_in {
	int64_t shares, burst, idle, rt;
	struct opt_i64 quota, period;
	char *cpus, *mems;
};

static const struct vjson_field cpu_table[] = {
	F("shares", VJSON_INT, vjson_int64, struct cpu_in, shares),
	F("quota", VJSON_INT, set_opt, struct cpu_in, quota),
	F("period", VJSON_INT, set_opt, struct cpu_in, period),
	F("burst", VJSON_INT, vjson_int64, struct cpu_in, burst),
	F("idle", VJSON_INT, vjson_int64, struct cpu_in, idle),
	F("realtimeRuntime", VJSON_INT, vjson_int64, struct cpu_in, rt),
	F("cpus", VJSON_STRING, vjson_string, struct cpu_in, cpus),
	F("mems", VJSON_STRING, vjson_string, struct cpu_in, mems),
	{},
};

/* an empty cpuset string means "not set" */
static void take_cpuset(char **dst, char *take)
{
	if (!take)
		return;
	free(*dst);
	*dst = *take ? take : NULL;
	if (!*dst)
		free(take);
}

static int set_cpu(struct json_object *v, void *target, const struct vjson_field *f,
		   const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_resources *r = *(struct rt_resources **)target;
	struct cpu_in in = { -1, -1, -1, 0, { -1, false }, { -1, false }, NULL, NULL };
	int ret = vjson_dispatch_at(v, cpu_table, &in, loc, err);

	take_cpuset(&r->cpuset_cpus, in.cpus);
	take_cpuset(&r->cpuset_mems, in.mems);
	if (ret < 0)
		return ret;
	if (in.rt > 0)
		return unsupported(loc, "cpu.realtimeRuntime", err);
	if (in.shares > 0)
		r->cpu_weight = rt_oci_shares_to_weight((uint64_t)in.shares);
	if (in.quota.set || in.period.set) {
		r->cpu_quota = in.quota.v > 0 ? in.quota.v : INT64_MAX;
		r->cpu_period = in.period.v > 0 ? in.period.v : 100000;
	}
	if (in.burst >= 0)
		r->unified = unified_add(r->unified, "cpu.max.burst",
					 xasprintf("%lld", (long long)in.burst));
	if (in.idle >= 0)
		r->unified =
			unified_add(r->unified, "cpu.idle", xasprintf("%lld", (long long)in.idle));
	return 0;
}

static const struct vjson_field pids_table[] = {
	F("limit", VJSON_INT, set_opt, struct opt_i64, v),
	{},
};

static int set_pids(struct json_object *v, void *target, const struct vjson_field *f,
		    const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_resources *r = *(struct rt_resources **)target;
	struct opt_i64 limit = { -1, false };
	int ret;

	if ((ret = vjson_dispatch_at(v, pids_table, &limit, loc, err)) < 0)
		return ret;
	if (limit.set)
		r->pids_max = limit.v > 0 ? limit.v : INT64_MAX;
	return 0;
}

/* {"major": 8, "minor": 0, "rate"/"weight": N} */
struct devrate_in {
	int64_t major, minor, rate, weight;
};

static const struct vjson_field devrate_table[] = {
	F("major", VJSON_INT, vjson_int64, struct devrate_in, major),
	F("minor", VJSON_INT, vjson_int64, struct devrate_in, minor),
	F("rate", VJSON_INT, vjson_int64, struct devrate_in, rate),
	F("weight", VJSON_INT, vjson_int64, struct devrate_in, weight),
	{},
};

/* [{"major": 8, "minor": 0, "rate": N}] -> "8:0 KEY=N" lines in io.max */
static int parse_throttle(struct rt_resources *r, struct json_object *a, const char *field,
			  const char *key, const struct vjson_loc *bloc, vert_error_t *err)
{
	struct vjson_loc loc;
	int ret;

	vjson_loc_child(bloc, field, &loc);
	for (size_t i = 0; i < vjson_array_length(a); i++) {
		struct devrate_in e = { -1, -1, -1, -1 };
		if ((ret = vjson_dispatch_elem(a, i, devrate_table, &e, &loc, err)) < 0)
			return ret;
		if (e.major < 0 || e.minor < 0 || e.rate < 0)
			return vjson_error(err, &loc,
					   "blockIO.%s entries need major, minor and rate", field);
		r->io_max = strv_push(
			r->io_max, e.rate == 0
					   ? xasprintf("%lld:%lld %s=max", (long long)e.major,
						       (long long)e.minor, key)
					   : xasprintf("%lld:%lld %s=%lld", (long long)e.major,
						       (long long)e.minor, key, (long long)e.rate));
	}
	return 0;
}

static const struct {
	const char *field, *key;
} throttles[] = {
	{ "throttleReadBpsDevice", "rbps" },
	{ "throttleWriteBpsDevice", "wbps" },
	{ "throttleReadIOPSDevice", "riops" },
	{ "throttleWriteIOPSDevice", "wiops" },
};

struct blkio_in {
	int64_t weight;
	struct json_object *weight_device, *throttle[ARRAY_SIZE(throttles)];
};

static const struct vjson_field blkio_table[] = {
	F("weight", VJSON_INT, vjson_int64, struct blkio_in, weight),
	F("weightDevice", VJSON_ARRAY, vjson_borrow, struct blkio_in, weight_device),
	F("throttleReadBpsDevice", VJSON_ARRAY, vjson_borrow, struct blkio_in, throttle[0]),
	F("throttleWriteBpsDevice", VJSON_ARRAY, vjson_borrow, struct blkio_in, throttle[1]),
	F("throttleReadIOPSDevice", VJSON_ARRAY, vjson_borrow, struct blkio_in, throttle[2]),
	F("throttleWriteIOPSDevice", VJSON_ARRAY, vjson_borrow, struct blkio_in, throttle[3]),
	{},
};

static int set_blockio(struct json_object *v, void *target, const struct vjson_field *f,
		       const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_resources *r = *(struct rt_resources **)target;
	struct blkio_in in = { .weight = -1 };
	struct vjson_loc wl;
	int ret;

	if ((ret = vjson_dispatch_at(v, blkio_table, &in, loc, err)) < 0)
		return ret;
	if (in.weight > 0)
		r->io_weight = rt_oci_blkio_to_io_weight((uint64_t)in.weight);
	vjson_loc_child(loc, "weightDevice", &wl);
	for (size_t i = 0; i < vjson_array_length(in.weight_device); i++) {
		struct devrate_in e = { -1, -1, -1, -1 };
		if ((ret = vjson_dispatch_elem(in.weight_device, i, devrate_table, &e, &wl, err)) <
		    0)
			return ret;
		if (e.major < 0 || e.minor < 0 || e.weight <= 0)
			return vjson_error(err, &wl,
					   "blockIO.weightDevice entries need major, minor and "
					   "weight");
		r->unified = unified_add(
			r->unified, "io.weight",
			xasprintf("%lld:%lld %lld", (long long)e.major, (long long)e.minor,
				  (long long)rt_oci_blkio_to_io_weight((uint64_t)e.weight)));
	}
	for (size_t i = 0; i < ARRAY_SIZE(throttles); i++)
		if ((ret = parse_throttle(r, in.throttle[i], throttles[i].field, throttles[i].key,
					  loc, err)) < 0)
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

static int set_unified(struct json_object *v, void *target, const struct vjson_field *f,
		       const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_resources *r = *(struct rt_resources **)target;
	_cleanup_strv_ char **kv = NULL;
	int ret;

	if ((ret = vjson_strmap(v, &kv, f, loc, err)) < 0)
		return ret;
	for (size_t i = 0; kv && kv[i]; i += 2) {
		if (!unified_key_valid(kv[i]))
			return vjson_error(err, loc, "invalid linux.resources.unified key '%s'",
					   kv[i]);
		r->unified = unified_add(r->unified, kv[i], xstrdup(kv[i + 1]));
	}
	return 0;
}

static int set_nonempty(struct json_object *v, void *target, const struct vjson_field *f,
			const struct vjson_loc *loc, vert_error_t *err)
{
	*(bool *)target = !json_object_is_type(v, json_type_array) || vjson_array_length(v) > 0;
	return 0;
}

struct res_in {
	struct rt_resources *r;
	bool devices, hugepages, network, rdma;
};

static const struct vjson_field res_table[] = {
	F("devices", VJSON_ANY, set_nonempty, struct res_in, devices),
	F("hugepageLimits", VJSON_ANY, set_nonempty, struct res_in, hugepages),
	F("network", VJSON_ANY, vjson_present, struct res_in, network),
	F("rdma", VJSON_ANY, vjson_present, struct res_in, rdma),
	F("memory", VJSON_OBJECT, set_memory, struct res_in, r),
	F("cpu", VJSON_OBJECT, set_cpu, struct res_in, r),
	F("pids", VJSON_OBJECT, set_pids, struct res_in, r),
	F("blockIO", VJSON_OBJECT, set_blockio, struct res_in, r),
	F("unified", VJSON_OBJECT, set_unified, struct res_in, r),
	{},
};

int rt_parse_resources(struct json_object *v, void *target, const struct vjson_field *f,
		       const struct vjson_loc *loc, vert_error_t *err)
{
	struct res_in in = { .r = target };
	int ret;

	if ((ret = vjson_dispatch_at(v, res_table, &in, loc, err)) < 0)
		return ret;
	if (in.devices)
		return unsupported(loc, "devices (no device filter on cgroup v2 yet)", err);
	if (in.hugepages)
		return unsupported(loc, "hugepageLimits", err);
	if (in.network)
		return unsupported(loc, "network (a cgroup v1 feature)", err);
	if (in.rdma)
		return unsupported(loc, "rdma", err);
	return 0;
}
