/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert ps [-a] [--json] [--format FIELDS] [--no-header] [NAME...] (also: list, ls) */
#include <getopt.h>
#include <json-c/json.h>
#include <strings.h>

#include "cli.h"
#include "vert/util.h"

enum col {
	C_NAME,
	C_STATE,
	C_PID,
	C_IP,
	C_MEM,
	C_CPU,
	C_PIDS,
	C_UPTIME,
	C_TEMPLATE,
	C_ONBOOT,
	C_DISK,
	C_MEMLIMIT,
	C_CPUS
};

static const struct {
	const char *name;
	int width;
} cols[] = {
	[C_NAME] = { "NAME", 16 },
	[C_STATE] = { "STATE", 9 },
	[C_PID] = { "PID", 8 },
	[C_IP] = { "IP", 15 },
	[C_MEM] = { "MEM", 9 },
	[C_CPU] = { "CPU", 6 },
	[C_PIDS] = { "PIDS", 5 },
	[C_UPTIME] = { "UPTIME", 8 },
	[C_TEMPLATE] = { "TEMPLATE", 12 },
	[C_ONBOOT] = { "ONBOOT", 6 },
	[C_DISK] = { "DISK", 15 },
	[C_MEMLIMIT] = { "MEMLIMIT", 9 },
	[C_CPUS] = { "CPUS", 4 },
};

static const char *fmt_uptime(int64_t s, char buf[static 32])
{
	if (s < 0)
		snprintf(buf, 32, "-");
	else if (s < 60)
		snprintf(buf, 32, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, 32, "%lldm%llds", (long long)s / 60, (long long)s % 60);
	else if (s < 86400)
		snprintf(buf, 32, "%lldh%lldm", (long long)s / 3600, (long long)(s % 3600) / 60);
	else
		snprintf(buf, 32, "%lldd%lldh", (long long)s / 86400,
			 (long long)(s % 86400) / 3600);
	return buf;
}

static const char *cell(const struct ve_info *i, enum col c, char buf[static 64])
{
	char tmp[32];
	double cpu;

	switch (c) {
	case C_NAME:
		return i->cfg.name;
	case C_STATE:
		return i->status;
	case C_PID:
		if (!i->running)
			return "-";
		snprintf(buf, 64, "%d", i->state.pid);
		return buf;
	case C_IP:
		return i->ip[0] ? i->ip : "-";
	case C_MEM:
		if (i->stats.memory_current < 0)
			return "-";
		return cli_format_size((uint64_t)i->stats.memory_current, buf);
	case C_MEMLIMIT:
		/* what the VE's /proc/meminfo says is its MemTotal */
		if (!i->running || i->stats.memory_current < 0)
			return "-";
		if (i->stats.memory_max < 0)
			return "max";
		return cli_format_size((uint64_t)i->stats.memory_max, buf);
	case C_CPUS:
		if (!i->running || i->stats.cpus < 0)
			return "-";
		snprintf(buf, 64, "%lld", (long long)i->stats.cpus);
		return buf;
	case C_CPU:
		cpu = ve_info_cpu_percent(i);
		if (cpu < 0)
			return "-";
		snprintf(buf, 64, "%.1f%%", cpu);
		return buf;
	case C_PIDS:
		if (i->stats.pids_current < 0)
			return "-";
		snprintf(buf, 64, "%lld", (long long)i->stats.pids_current);
		return buf;
	case C_UPTIME:
		snprintf(buf, 64, "%s", fmt_uptime(ve_info_uptime(i), tmp));
		return buf;
	case C_TEMPLATE:
		return i->cfg.template_name;
	case C_ONBOOT:
		return i->cfg.onboot ? "yes" : "no";
	case C_DISK: {
		/* used/limit of its disk quota, as df inside counts them */
		char a[16], b[16];
		if (i->disk.limit < 0)
			return "-";
		snprintf(buf, 64, "%s/%s",
			 i->disk.used < 0 ? "-" : cli_format_size((uint64_t)i->disk.used, a),
			 cli_format_size((uint64_t)i->disk.limit, b));
		return buf;
	}
	}
	return "-";
}

static void print_cell(const char *s, int width, bool last)
{
	/* nothing a VE could have set reaches the terminal unescaped */
	_cleanup_free_ char *e = str_escape_term_dup(s, false);
	if (last)
		printf("%s\n", e);
	else
		printf("%-*s ", width, e);
}

static int parse_format(const char *s, enum col *out, size_t *n)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *save = NULL;

	*n = 0;
	for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		size_t k;
		if (strcasecmp(t, "memory") == 0)
			t = (char *)"mem";
		for (k = 0; k < ARRAY_SIZE(cols); k++)
			if (strcasecmp(t, cols[k].name) == 0)
				break;
		if (k == ARRAY_SIZE(cols) || *n >= 16)
			return -1;
		out[(*n)++] = (enum col)k;
	}
	return *n ? 0 : -1;
}

static int cmp_info_name(const void *a, const void *b)
{
	const struct ve_info *x = a, *y = b;
	return strcmp(x->cfg.name, y->cfg.name);
}

int cmd_ps(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'o' },
		{ "no-header", no_argument, NULL, 'H' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	enum col fmt[16] = { C_NAME, C_STATE, C_PID,	C_IP,	   C_MEM,
			     C_CPU,  C_PIDS,  C_UPTIME, C_TEMPLATE };
	size_t nfmt = 9, n = 0;
	bool all = false, json = false, header = true, quiet = false;
	struct ve_info *v = NULL;
	int o, rc = EXIT_OK;

	while ((o = getopt_long(argc, argv, "ao:Hqh", opts, NULL)) != -1) {
		switch (o) {
		case 'a':
			all = true;
			break;
		case 'j':
			json = true;
			break;
		case 'o':
			if (parse_format(optarg, fmt, &nfmt) < 0)
				return cli_usage_error(
					"ps",
					"invalid --format '%s': fields are name, state, "
					"pid, ip, mem, cpu, pids, uptime, template, onboot, disk",
					optarg);
			break;
		case 'H':
			header = false;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			printf("Usage: vert ps [-a] [--json] [--format FIELDS] [--no-header] [-q] "
			       "[NAME...]\n"
			       "\n"
			       "List running VEs (-a: all VEs; NAME...: these VEs, running or "
			       "not).\n"
			       "Columns: NAME STATE PID IP MEM CPU PIDS UPTIME TEMPLATE; CPU is "
			       "the\n"
			       "average over the VE's uptime.  More with -o: ONBOOT, MEMLIMIT\n"
			       "(memory.max: the MemTotal the VE sees), CPUS (the CPUs it sees).\n"
			       "'vert list' and 'vert ls' are the same.\n"
			       "\n"
			       "  -a, --all            all VEs, not only running ones\n"
			       "  -o, --format FIELDS  columns, comma-separated (e.g. "
			       "name,state,pid)\n"
			       "  -H, --no-header      no header line\n"
			       "  -q, --quiet          names only\n"
			       "  --json               an array of objects (see vert-ps(1))\n"
			       "  -h, --help           show this help\n");
			return EXIT_OK;
		default:
			return cli_usage_error("ps", "bad option");
		}
	}
	if (cli_paths(c, &err) < 0)
		return cli_fail("ps", &err);
	if (optind < argc) {
		/* the VEs named, in any state, in the listing's order; a name
		 * that is no VE is an error (exit 3), the others still listed.
		 * Only those are read: listing all of 10,000 VEs to show one
		 * took seconds */
		v = xcalloc((size_t)(argc - optind), sizeof(*v));
		for (int a = optind; a < argc; a++) {
			_cleanup_ve_handle_ struct ve_handle *h = NULL;
			vert_error_t e = VERT_ERROR_INIT;
			bool dup = false;
			for (size_t i = 0; i < n && !dup; i++)
				dup = strcmp(v[i].cfg.name, argv[a]) == 0;
			if (dup)
				continue;
			if (ve_open(&c->paths, argv[a], 0, &h, NULL) < 0 ||
			    ve_info_get(h, &v[n], &e) < 0) {
				/* as in the listing: a broken config is said */
				if (e.msg && e.kind != VERT_ERR_NOTFOUND)
					vert_log(VERT_LOG_WARNING, "%s", e.msg);
				vert_error_clear(&e);
				fprintf(stderr, "vert: ps: VE '%s' not found\n", argv[a]);
				rc = EXIT_NOTFOUND;
				continue;
			}
			n++;
		}
		if (n)
			qsort(v, n, sizeof(*v), cmp_info_name);
		all = true;
	} else if ((quiet && !json ? ve_list_names(&c->paths, &v, &n, &err)
				   : ve_list(&c->paths, &v, &n, &err)) < 0) {
		return cli_fail("ps", &err);
	}

	if (json) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < n; i++)
			if (all || v[i].running)
				json_object_array_add(a, ve_info_to_json(&c->paths, &v[i], false));
		cli_print_json(a);
		json_object_put(a);
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			if (all || v[i].running)
				puts(v[i].cfg.name);
	} else {
		if (header) {
			for (size_t k = 0; k < nfmt; k++)
				print_cell(cols[fmt[k]].name, cols[fmt[k]].width, k + 1 == nfmt);
		}
		for (size_t i = 0; i < n; i++) {
			if (!all && !v[i].running)
				continue;
			for (size_t k = 0; k < nfmt; k++) {
				char b[64];
				print_cell(cell(&v[i], fmt[k], b), cols[fmt[k]].width,
					   k + 1 == nfmt);
			}
		}
	}
	ve_list_free(v, n);
	return rc;
}

int cmd_inspect(struct cli *c, int argc, char **argv)
{
	struct json_object *a;
	int rc = EXIT_OK;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("Usage: vert inspect NAME...\n"
		       "\n"
		       "Print each VE's configuration, state, counters and paths as JSON (an\n"
		       "object for one VE, an array for several).\n");
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error("inspect", "no VE name given");
	a = json_object_new_array();
	for (int i = 1; i < argc; i++) {
		_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
		_cleanup_ve_handle_ struct ve_handle *h = NULL;
		struct ve_info info;
		if (cli_paths(c, &err) < 0 || ve_open(&c->paths, argv[i], 0, &h, &err) < 0 ||
		    ve_info_get(h, &info, &err) < 0) {
			rc = cli_fail("inspect", &err);
			continue;
		}
		json_object_array_add(a, ve_info_to_json(&c->paths, &info, true));
		ve_info_done(&info);
	}
	if (json_object_array_length(a) == 1 && argc == 2)
		cli_print_json(json_object_array_get_idx(a, 0));
	else if (json_object_array_length(a) > 0)
		cli_print_json(a);
	json_object_put(a);
	return rc;
}

int cmd_top(struct cli *c, int argc, char **argv)
{
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	struct ve_proc *v = NULL;
	bool json = false;
	const char *name = NULL;
	size_t n = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("Usage: vert top NAME [--json]\n"
			       "\n"
			       "The processes inside a running VE, with their host and VE pids.\n");
			return EXIT_OK;
		} else if (!name)
			name = argv[i];
		else
			return cli_usage_error("top", "unexpected argument '%s'", argv[i]);
	}
	if (!name)
		return cli_usage_error("top", "no VE name given");
	if (cli_paths(c, &err) < 0 || ve_open(&c->paths, name, 0, &h, &err) < 0 ||
	    ve_top(h, &v, &n, &err) < 0)
		return cli_fail("top", &err);
	if (json) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_new_object();
			char st[2] = { v[i].state, 0 };
			json_object_object_add(e, "host_pid", json_object_new_int(v[i].host_pid));
			json_object_object_add(e, "ve_pid", json_object_new_int(v[i].ve_pid));
			json_object_object_add(e, "uid", json_object_new_int64(v[i].uid));
			json_object_object_add(e, "state", json_object_new_string(st));
			json_object_object_add(e, "rss", json_object_new_int64(v[i].rss_kb * 1024));
			/* the VE's bytes as valid UTF-8: json-c escapes the
			 * control characters */
			_cleanup_free_ char *comm = str_utf8_valid(v[i].comm);
			_cleanup_free_ char *cmd = str_utf8_valid(v[i].cmdline);
			json_object_object_add(e, "comm", json_object_new_string(comm));
			json_object_object_add(e, "cmd", json_object_new_string(cmd));
			json_object_array_add(a, e);
		}
		cli_print_json(a);
		json_object_put(a);
	} else {
		printf("%-8s %-7s %-6s %-2s %8s %s\n", "HOST-PID", "VE-PID", "UID", "S", "RSS",
		       "CMD");
		for (size_t i = 0; i < n; i++) {
			char b[16];
			/* a process in the VE names itself: escaped */
			_cleanup_free_ char *cmd = str_escape_term_dup(v[i].cmdline, false);
			printf("%-8d %-7d %-6u %-2c %8s %s\n", v[i].host_pid, v[i].ve_pid, v[i].uid,
			       v[i].state, cli_format_size((uint64_t)v[i].rss_kb * 1024, b), cmd);
		}
	}
	ve_procs_free(v, n);
	return EXIT_OK;
}
