/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Counters of a VE's cgroup, for `vert ps`, `vert stats` and `vert
 * inspect`.  Read at <base>/NAME, which the kernel aggregates over the
 * whole tree below it (memory.events counts hierarchically unless the
 * mount says memory_localevents).
 */
#include <dirent.h>
#include <fcntl.h>

#include "cgroup-internal.h"
#include "vert/util.h"

int cg_parse_keyed(const char *buf, const char *key, int64_t *ret)
{
	size_t kl = strlen(key);

	for (const char *l = buf; l && *l;) {
		long long v;
		if (strncmp(l, key, kl) == 0 && l[kl] == ' ' &&
		    sscanf(l + kl + 1, "%lld", &v) == 1) {
			*ret = (int64_t)v;
			return 0;
		}
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return -ENOENT;
}

int cg_parse_max(const char *buf, int64_t *ret)
{
	long long v;
	int n = 0;

	if (strncmp(buf, "max", 3) == 0 && (buf[3] == '\0' || buf[3] == '\n')) {
		*ret = -1;
		return 0;
	}
	if (sscanf(buf, "%lld%n", &v, &n) != 1 || v < 0 || (buf[n] && buf[n] != '\n'))
		return -EINVAL;
	*ret = (int64_t)v;
	return 0;
}

int cg_parse_cpu_max(const char *buf, int64_t *ret_quota, int64_t *ret_period)
{
	long long q, p;

	if (sscanf(buf, "max %lld", &p) == 1) {
		*ret_quota = -1;
		*ret_period = p;
		return 0;
	}
	if (sscanf(buf, "%lld %lld", &q, &p) == 2) {
		*ret_quota = q;
		*ret_period = p;
		return 0;
	}
	return -EINVAL;
}

/* io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" */
void cg_parse_io_stat(const char *buf, int64_t *rbytes, int64_t *wbytes, int64_t *rios,
		      int64_t *wios)
{
	static const char *const keys[] = { "rbytes=", "wbytes=", "rios=", "wios=" };
	int64_t *out[] = { rbytes, wbytes, rios, wios };

	for (size_t k = 0; k < ARRAY_SIZE(out); k++)
		*out[k] = 0;
	for (const char *p = buf; p && *p;) {
		size_t len = strcspn(p, " \n");
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
			size_t kl = strlen(keys[k]);
			if (len > kl && strncmp(p, keys[k], kl) == 0)
				*out[k] += strtoll(p + kl, NULL, 10);
		}
		p += len;
		p += strspn(p, " \n");
	}
}

double cg_cpu_percent(int64_t usage0, int64_t usage1, uint64_t wall_ns)
{
	if (usage0 < 0 || usage1 < 0 || wall_ns == 0 || usage1 < usage0)
		return -1;
	/* usec of CPU per usec of wall clock, in percent */
	return (double)(usage1 - usage0) * 1000.0 * 100.0 / (double)wall_ns;
}

void cg_stats_init(struct cg_stats *st)
{
	memset(st, 0xff, sizeof(*st)); /* every int64_t field -1 */
}

static int64_t read_max(int dfd, const char *file)
{
	_cleanup_free_ char *buf = NULL;
	int64_t v;

	if (cg_read_at(dfd, file, &buf) < 0 || cg_parse_max(buf, &v) < 0)
		return -1;
	return v;
}

/* one read of a keyed file, several keys out of it */
static void read_keys(int dfd, const char *file, const char *const *keys, int64_t **out, size_t n)
{
	_cleanup_free_ char *buf = NULL;

	if (cg_read_at(dfd, file, &buf) < 0)
		return;
	/* a missing key leaves its value as it was (-1: unknown) */
	for (size_t i = 0; i < n; i++)
		cg_parse_keyed(buf, keys[i], out[i]);
}

/*
 * Forks refused by pids.max.  Before Linux 6.9, pids.events counts them
 * in the cgroup of the process that forked (the payload, or a leaf the
 * VE made), not where the limit sits; 6.9 made pids.events hierarchical
 * and added pids.events.local.  So: NAME's own file where that exists,
 * else the sum over NAME's tree.
 */
static int64_t tree_limit_hits(int dfd, int depth)
{
	_cleanup_free_ char *buf = NULL;
	int64_t sum = -1, v;
	struct dirent *de;
	DIR *d;
	int dup;

	if (cg_read_at(dfd, "pids.events", &buf) == 0 && cg_parse_keyed(buf, "max", &v) == 0)
		sum = v;
	if (depth > 32 || (dup = openat(dfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0)
		return sum;
	if (!(d = fdopendir(dup))) {
		close(dup);
		return sum;
	}
	while ((de = readdir(d))) {
		int sub;
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = openat(dfd, de->d_name, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (sub < 0)
			continue;
		v = tree_limit_hits(sub, depth + 1);
		close(sub);
		if (v > 0)
			sum = sum < 0 ? v : sum + v;
	}
	closedir(d);
	return sum;
}

static int64_t read_limit_hits(int dfd)
{
	if (faccessat(dfd, "pids.events.local", F_OK, 0) == 0) {
		static const char *const k[] = { "max" };
		int64_t v = -1, *o[] = { &v };
		read_keys(dfd, "pids.events", k, o, 1);
		return v;
	}
	return tree_limit_hits(dfd, 0);
}

int cg_stats_read(const char *path, struct cg_stats *st)
{
	_cleanup_close_ int dfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;

	cg_stats_init(st);
	if (dfd < 0)
		return -errno;
	st->memory_current = read_max(dfd, "memory.current");
	st->memory_max = read_max(dfd, "memory.max");
	st->memory_high = read_max(dfd, "memory.high");
	st->memory_peak = read_max(dfd, "memory.peak");
	st->swap_current = read_max(dfd, "memory.swap.current");
	st->swap_max = read_max(dfd, "memory.swap.max");
	st->pids_current = read_max(dfd, "pids.current");
	st->pids_max = read_max(dfd, "pids.max");
	st->cpu_weight = read_max(dfd, "cpu.weight");
	{
		static const char *const k[] = { "usage_usec", "user_usec", "system_usec",
						 "nr_throttled", "throttled_usec" };
		int64_t *o[] = { &st->cpu_usage_usec, &st->cpu_user_usec, &st->cpu_system_usec,
				 &st->cpu_nr_throttled, &st->cpu_throttled_usec };
		read_keys(dfd, "cpu.stat", k, o, ARRAY_SIZE(o));
	}
	{
		static const char *const k[] = { "oom_kill", "oom", "max" };
		int64_t *o[] = { &st->oom_kills, &st->oom_events, &st->memory_max_events };
		read_keys(dfd, "memory.events", k, o, ARRAY_SIZE(o));
	}
	st->pids_limit_hits = read_limit_hits(dfd);
	if (cg_read_at(dfd, "cpu.max", &buf) == 0) /* unparseable: stays unknown */
		cg_parse_cpu_max(buf, &st->cpu_quota, &st->cpu_period);
	free(TAKE_PTR(buf));
	if (cg_read_at(dfd, "io.stat", &buf) == 0)
		cg_parse_io_stat(buf, &st->io_rbytes, &st->io_wbytes, &st->io_rios, &st->io_wios);
	free(TAKE_PTR(buf));
	{
		int64_t n = -1;
		if (cg_read_at(dfd, "cpuset.cpus.effective", &buf) == 0)
			n = cg_parse_cpu_count(buf);
		if (n <= 0)
			n = sysconf(_SC_NPROCESSORS_ONLN);
		st->cpus = cg_visible_cpus(n, st->cpu_quota, st->cpu_period);
	}
	return 0;
}

int64_t cg_parse_cpu_count(const char *list)
{
	int64_t n = 0;
	const char *s = list;

	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b;
		if (end == s || a < 0)
			return -1;
		b = a;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a)
				return -1;
		}
		n += b - a + 1;
		s = end;
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -1;
	}
	return n;
}

int64_t cg_visible_cpus(int64_t cpuset_count, int64_t quota, int64_t period)
{
	int64_t n = cpuset_count;

	if (quota > 0 && period > 0) {
		int64_t q = (quota + period - 1) / period;
		if (n <= 0 || q < n)
			n = q;
	}
	return n > 0 ? n : -1;
}
