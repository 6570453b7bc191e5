/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert stats [NAME...] [--json] [--no-stream] [-i SECS]: live usage. */
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <sys/sysinfo.h>

#include "cli.h"
#include "vert/cgroup.h"
#include "vert/util.h"

static void stats_usage(FILE *f)
{
	fprintf(f, "Usage: vert stats [NAME...] [--json] [--no-stream] [-i SECS]\n"
		   "\n"
		   "Live resource usage of running VEs (all of them, or the NAMEs), read\n"
		   "from their cgroups, refreshed like top until interrupted:\n"
		   "  CPU %%               CPU used over the last interval (100%% = one CPU)\n"
		   "  MEM USAGE / LIMIT   memory.current / memory.max (the host's memory\n"
		   "                      when unlimited), and MEM %% of it\n"
		   "  PIDS / LIMIT        pids.current / pids.max\n"
		   "  BLOCK I/O           bytes read / written (io.stat)\n"
		   "  OOM                 processes the OOM killer killed in the VE\n"
		   "                      (memory.events oom_kill)\n"
		   "  DISK USED / LIMIT   its --disk quota, as df inside the VE counts it\n"
		   "  CPUS                the CPUs the VE sees in /proc/cpuinfo (its cpuset,\n"
		   "                      capped by --cpus)\n"
		   "\n"
		   "Options:\n"
		   "  --no-stream      print one sample (taken over one interval) and exit\n"
		   "  --json           JSON: an array of objects per sample, one line each\n"
		   "                   when streaming (see vert-stats(1) for the fields)\n"
		   "  -i, --interval SECS  refresh interval, 0.1 to 3600 (default 1)\n"
		   "  -h, --help       show this help\n");
}

struct sample {
	struct ve_info *v;
	size_t n;
};

static void sample_free(struct sample *s)
{
	ve_list_free(s->v, s->n);
	s->v = NULL;
	s->n = 0;
}

/* The named VEs, opened once for every sample. */
struct handles {
	struct ve_handle **v;
	size_t n;
};

static void handles_done(struct handles *hs)
{
	for (size_t i = 0; i < hs->n; i++)
		ve_close(hs->v[i]);
	free(hs->v);
}

/* The VEs to show: the running ones, or the named ones (stopped too). */
static int collect(struct cli *c, const struct handles *hs, struct sample *s, vert_error_t *err)
{
	size_t n_names = hs->n;

	s->v = NULL;
	s->n = 0;
	if (n_names == 0) {
		struct ve_info *all = NULL;
		size_t n = 0;
		if (ve_list(&c->paths, &all, &n, err) < 0)
			return vert_error_ret(err);
		s->v = xcalloc(n ? n : 1, sizeof(*s->v));
		for (size_t i = 0; i < n; i++) {
			if (all[i].running)
				s->v[s->n++] = all[i];
			else
				ve_info_done(&all[i]);
		}
		free(all);
		return 0;
	}
	s->v = xcalloc(n_names, sizeof(*s->v));
	for (size_t i = 0; i < n_names; i++) {
		if (ve_info_get(hs->v[i], &s->v[s->n], err) < 0) {
			sample_free(s);
			return vert_error_ret(err);
		}
		s->n++;
	}
	return 0;
}

/* CPU % of cur since the same instance's prev sample; -1 unknown. */
static double cpu_since(const struct sample *prev, const struct ve_info *cur)
{
	for (size_t i = 0; prev && i < prev->n; i++) {
		const struct ve_info *p = &prev->v[i];
		if (strcmp(p->cfg.name, cur->cfg.name) != 0)
			continue;
		if (!p->running || !cur->running || p->state.pid != cur->state.pid)
			return -1;
		return cg_cpu_percent(p->stats.cpu_usage_usec, cur->stats.cpu_usage_usec,
				      cur->sampled_ns - p->sampled_ns);
	}
	return -1;
}

static int64_t host_memory(void)
{
	struct sysinfo si;
	if (sysinfo(&si) < 0)
		return -1;
	return (int64_t)si.totalram * (int64_t)si.mem_unit;
}

/* memory.current against memory.max, or the host's memory when unlimited */
static double mem_percent(const struct cg_stats *st)
{
	int64_t lim = st->memory_max >= 0 ? st->memory_max : host_memory();
	if (st->memory_current < 0 || lim <= 0)
		return -1;
	return (double)st->memory_current * 100.0 / (double)lim;
}

/* two decimals, printed as such (a plain double prints 0.28000000000000003) */
static struct json_object *json_pct(double v)
{
	char buf[32];
	if (v < 0)
		return NULL;
	snprintf(buf, sizeof(buf), "%.2f", v);
	return json_object_new_double_s(strtod(buf, NULL), buf);
}

static struct json_object *sample_json(const struct sample *prev, const struct sample *cur)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < cur->n; i++) {
		const struct ve_info *v = &cur->v[i];
		struct json_object *o = json_object_new_object();
		double cpu = cpu_since(prev, v), mem = mem_percent(&v->stats);
		json_object_object_add(o, "name", json_object_new_string(v->cfg.name));
		json_object_object_add(o, "state", json_object_new_string(v->status));
		json_object_object_add(o, "pid",
				       v->running ? json_object_new_int(v->state.pid) : NULL);
		json_object_object_add(o, "cgroup",
				       v->running && v->state.cgroup
					       ? json_object_new_string(v->state.cgroup)
					       : NULL);
		json_object_object_add(o, "cpu_percent", json_pct(cpu));
		json_object_object_add(o, "memory_percent", json_pct(mem));
		ve_stats_json(&v->stats, o);
		json_object_object_add(o, "disk_used",
				       v->disk.used >= 0 ? json_object_new_int64(v->disk.used)
							 : NULL);
		json_object_object_add(o, "disk_limit",
				       v->disk.limit >= 0 ? json_object_new_int64(v->disk.limit)
							  : NULL);
		json_object_array_add(a, o);
	}
	return a;
}

static const char *size_or_dash(int64_t v, char buf[static 16])
{
	if (v < 0)
		return "-";
	return cli_format_size((uint64_t)v, buf);
}

static void print_table(const struct sample *prev, const struct sample *cur)
{
	printf("%-16s %7s  %-23s %6s  %-13s %-21s %-4s %-4s %s\n", "NAME", "CPU %",
	       "MEM USAGE / LIMIT", "MEM %", "PIDS / LIMIT", "BLOCK I/O (R / W)", "OOM", "CPUS",
	       "DISK USED / LIMIT");
	for (size_t i = 0; i < cur->n; i++) {
		const struct ve_info *v = &cur->v[i];
		const struct cg_stats *st = &v->stats;
		char cpu[16] = "-", memp[16] = "-", mem[48], pids[48], io[48], oom[24] = "-";
		char disk[48] = "-";
		char cpus[24] = "-";
		char a[16], b[16];
		double c = cpu_since(prev, v), m = mem_percent(st);
		/* only numbers and the VE's name (which vert checked): escaped
		 * like every other table */
		_cleanup_free_ char *name = str_escape_term_dup(v->cfg.name, false);

		if (c >= 0)
			snprintf(cpu, sizeof(cpu), "%.1f%%", c);
		if (m >= 0)
			snprintf(memp, sizeof(memp), "%.1f%%", m);
		snprintf(mem, sizeof(mem), "%s / %s", size_or_dash(st->memory_current, a),
			 st->memory_current < 0 ? "-"
						: size_or_dash(st->memory_max >= 0 ? st->memory_max
										   : host_memory(),
							       b));
		if (st->pids_current < 0)
			snprintf(pids, sizeof(pids), "-");
		else if (st->pids_max < 0)
			snprintf(pids, sizeof(pids), "%lld / max", (long long)st->pids_current);
		else
			snprintf(pids, sizeof(pids), "%lld / %lld", (long long)st->pids_current,
				 (long long)st->pids_max);
		snprintf(io, sizeof(io), "%s / %s", size_or_dash(st->io_rbytes, a),
			 size_or_dash(st->io_wbytes, b));
		if (st->oom_kills >= 0)
			snprintf(oom, sizeof(oom), "%lld", (long long)st->oom_kills);
		if (v->disk.limit >= 0)
			snprintf(disk, sizeof(disk), "%s / %s", size_or_dash(v->disk.used, a),
				 size_or_dash(v->disk.limit, b));
		if (st->cpus >= 0)
			snprintf(cpus, sizeof(cpus), "%lld", (long long)st->cpus);
		printf("%-16s %7s  %-23s %6s  %-13s %-21s %-4s %-4s %s\n", name,
		       v->running ? cpu : v->status, mem, memp, pids, io, oom, cpus, disk);
	}
}

static int parse_interval(const char *s, uint64_t *ret_ns)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= 0.1 && v <= 3600))
		return -1;
	*ret_ns = (uint64_t)(v * 1e9);
	return 0;
}

static void sleep_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns, now;
	while ((now = now_ns()) < end)
		poll(NULL, 0, (int)((end - now + 999999) / 1000000));
}

int cmd_stats(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-stream", no_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_(handles_done) struct handles hs = { 0 };
	struct sample prev = { 0 }, cur = { 0 };
	bool json = false, stream = true, clear = false;
	uint64_t interval = 1000000000ULL;
	int o;

	while ((o = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			json = true;
			break;
		case 'n':
			stream = false;
			break;
		case 'i':
			if (parse_interval(optarg, &interval) < 0)
				return cli_usage_error(
					"stats", "invalid --interval '%s': seconds, 0.1 to 3600",
					optarg);
			break;
		case 'h':
			stats_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("stats", "bad option");
		}
	}
	if (cli_paths(c, &err) < 0)
		return cli_fail("stats", &err);
	hs.v = xcalloc((size_t)(argc - optind) + 1, sizeof(*hs.v));
	for (int i = optind; i < argc; i++) {
		if (ve_open(&c->paths, argv[i], 0, &hs.v[hs.n], &err) < 0)
			return cli_fail("stats", &err);
		hs.n++;
	}
	if (collect(c, &hs, &prev, &err) < 0)
		return cli_fail("stats", &err);
	/* clear the screen between tables, like top, only on a terminal */
	clear = stream && !json && isatty(STDOUT_FILENO);
	for (;;) {
		sleep_ns(interval);
		if (collect(c, &hs, &cur, &err) < 0) {
			sample_free(&prev);
			return cli_fail("stats", &err);
		}
		if (json) {
			struct json_object *a = sample_json(&prev, &cur);
			if (stream)
				puts(json_object_to_json_string_ext(
					a,
					JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			else
				cli_print_json(a);
			json_object_put(a);
		} else {
			if (clear)
				fputs("\033[H\033[2J", stdout);
			print_table(&prev, &cur);
		}
		fflush(stdout);
		sample_free(&prev);
		prev = cur;
		cur = (struct sample){ 0 };
		if (!stream)
			break;
	}
	sample_free(&prev);
	return EXIT_OK;
}
