/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert: entry point, global options, dispatch, error printing. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <time.h>

#include "cli.h"
#include "vert/util.h"

static void log_sink(int level, const char *msg)
{
	const char *pfx = level == VERT_LOG_WARNING ? "warning: "
			  : level == VERT_LOG_DEBUG ? "debug: "
						    : "";
	fprintf(stderr, "vert: %s%s\n", pfx, msg);
}

int cli_paths(struct cli *c, vert_error_t *err)
{
	int r;
	if (c->paths_ready)
		return 0;
	r = ve_paths_init(&c->paths, c->root, err);
	if (r < 0)
		return r;
	c->paths_ready = true;
	return 0;
}

int cli_fail(const char *cmd, vert_error_t *err)
{
	fprintf(stderr, "vert: %s: %s\n", cmd, err->msg ? err->msg : "failed");
	return vert_error_exit_code(err->kind);
}

int cli_fail_run(const char *cmd, vert_error_t *err)
{
	fprintf(stderr, "vert: %s: %s\n", cmd, err->msg ? err->msg : "failed");
	return vert_error_run_exit_code(err->kind);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vert: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'vert %s --help'.\n", cmd);
	return EXIT_USAGE;
}

void cli_print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
}

const char *cli_format_size(uint64_t b, char buf[static 16])
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, 16, "%lluB", (unsigned long long)b);
	else
		snprintf(buf, 16, "%.1f%s", v, u[i]);
	return buf;
}

const char *cli_format_time(int64_t t, char buf[static 32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (t <= 0 || !gmtime_r(&tt, &tm)) {
		snprintf(buf, 32, "-");
		return buf;
	}
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static const struct {
	const char *name;
	cli_cmd_fn fn;
	const char *summary;
} commands[] = {
	{ "run", cmd_run, "run a command in a new VE (create + start + attach)" },
	{ "create", cmd_create, "define a persistent VE from a template" },
	{ "start", cmd_start, "boot VEs (detached, or --attach)" },
	{ "stop", cmd_stop, "stop VEs and release their resources" },
	{ "restart", cmd_restart, "stop, then start VEs" },
	{ "kill", cmd_kill, "send a signal to a VE's init" },
	{ "destroy", cmd_destroy, "remove VEs and their files" },
	{ "set", cmd_set, "change a VE's settings (live where possible)" },
	{ "exec", cmd_exec, "run a command inside a running VE" },
	{ "enter", cmd_enter, "a root login shell inside a running VE" },
	{ "ps", cmd_ps, "list VEs (also: list, ls)" },
	/* the names vzlist and lxc-ls users type */
	{ "list", cmd_ps, NULL },
	{ "ls", cmd_ps, NULL },
	{ "top", cmd_top, "list the processes inside a VE" },
	{ "stats", cmd_stats, "live CPU, memory, pids and IO usage of VEs" },
	{ "inspect", cmd_inspect, "a VE's config and state as JSON" },
	{ "logs", cmd_logs, "a VE init's console output" },
	{ "checkpoint", cmd_checkpoint, "save a running VE through CRIU" },
	{ "restore", cmd_restore, "run a checkpointed VE again" },
	{ "migrate", cmd_migrate, "move a running VE to another host, live" },
	{ "template", cmd_template, "manage OS templates (create, import, ls, rm)" },
	/* internal: run by vert-monitor in a VE's supervisor */
	{ "__after-exit", cmd_after_exit, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: vert [--root DIR] [--debug] COMMAND [OPTIONS] [ARGS]\n"
		   "\n"
		   "OS-level virtualization: isolated virtual environments (VEs) sharing one\n"
		   "kernel, built from shared read-only templates.\n"
		   "\n"
		   "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].summary)
			fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n"
		   "Global options:\n"
		   "  --root DIR   keep all state under DIR (also $VERT_ROOT)\n"
		   "  --debug      print debug messages\n"
		   "  -h, --help   show this help\n"
		   "  --version    show the version\n"
		   "\n"
		   "Run 'vert COMMAND --help' for a command's options; see vert(1).\n");
}

/* Like crun's: the version, then what this build can do.  Only what is
 * compiled in is named (+CRIU: built with libcriu). */
static void print_version(void)
{
	printf("vert %s\n"
	       "+CAP +SECCOMP +USERNS +CGROUPV2 +EBPF +OVERLAYFS +OPENAT2 +NFTABLES +PASTA "
	       "+SLIRP4NETNS%s\n",
	       VERT_VERSION, ve_criu_built() ? " +CRIU" : "");
}

/* Commands that never start a process in a VE: they don't need the
 * sealed copy of vert (src/util/exe.c) and keep their fast start.  stop,
 * kill and destroy only signal a VE's init and clean up after it; create
 * writes its files on the host's side.  (run, start and restart boot it,
 * exec and enter join it, set may join it to change its hostname, and
 * __after-exit may boot it again.) */
static bool starts_no_ve_process(const char *cmd)
{
	static const char *const t[] = { "ps",	 "list", "ls",	 "top",	    "stats", "inspect",
					 "logs", "stop", "kill", "destroy", "create" };
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (strcmp(cmd, t[i]) == 0)
			return true;
	return false;
}

static bool decides_sealing(const char *cmd)
{
	return strcmp(cmd, "run") == 0 || strcmp(cmd, "exec") == 0 || strcmp(cmd, "enter") == 0 ||
	       strcmp(cmd, "restore") == 0;
}

int main(int argc, char **argv)
{
	char **all_argv = argv;
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "debug", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c = { 0 };
	int o, r;

	vert_log_set_sink(log_sink);
	/* '+': stop at the command name; its options are its own */
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'r':
			c.root = optarg;
			break;
		case 'D':
			vert_log_set_debug(1);
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			print_version();
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		vert_exe_save_argv(all_argv);
		/* run, exec, enter and restore decide once they know their VE
		 * (ve_exe_guard): for a VE of its own user namespace the
		 * sealed copy protects nothing */
		if (!starts_no_ve_process(commands[i].name) && !decides_sealing(commands[i].name)) {
			_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
			if (vert_exe_reexec_sealed(all_argv, &err) < 0)
				return cli_fail(commands[i].name, &err);
		}
		argc -= optind;
		argv += optind;
		optind = 0; /* reset getopt for the command's own parsing */
		vert_debug_mark("start");
		r = commands[i].fn(&c, argc, argv);
		if (c.paths_ready)
			ve_paths_done(&c.paths);
		fflush(stdout);
		return r;
	}
	fprintf(stderr, "vert: unknown command '%s'\nTry 'vert --help'.\n", argv[optind]);
	return EXIT_USAGE;
}
