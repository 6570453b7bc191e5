/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert stop NAME... [-t SECS] | vert stop --all [-t SECS]  and  vert restart NAME... */
#include <getopt.h>
#include <sys/wait.h>
#include <time.h>

#include "cli.h"
#include "vert/util.h"

/* Stop every running VE at once, each in its own process within its own
 * timeout, so a host shutdown (vert.service) takes as long as the slowest
 * VE, not the sum of them.  Says what it stopped, for the journal. */
static int stop_all(struct cli *c, int timeout)
{
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	struct ve_info *v = NULL;
	size_t n = 0, started = 0;
	pid_t *pids;
	int rc = EXIT_OK;

	if (cli_paths(c, &err) < 0 || ve_list(&c->paths, &v, &n, &err) < 0)
		return cli_fail("stop", &err);
	pids = xcalloc(n ? n : 1, sizeof(*pids));
	fflush(stdout);
	fflush(stderr);
	for (size_t i = 0; i < n; i++) {
		if (!v[i].running)
			continue;
		pids[i] = fork();
		if (pids[i] < 0) {
			fprintf(stderr, "vert: stop: fork for '%s': %m\n", v[i].cfg.name);
			rc = EXIT_FAIL;
			continue;
		}
		if (pids[i] == 0) {
			_cleanup_error_ vert_error_t e = VERT_ERROR_INIT;
			_cleanup_ve_handle_ struct ve_handle *h = NULL;
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			/* one that went down by itself meanwhile is not a failure */
			if (ve_open(&c->paths, v[i].cfg.name, 0, &h, &e) < 0 ||
			    ve_stop(h, timeout, &e) < 0)
				_exit(e.kind == VERT_ERR_NOTRUNNING ? EXIT_OK
								    : cli_fail("stop", &e));
			clock_gettime(CLOCK_MONOTONIC, &t1);
			printf("stopped %s (%.1f s)\n", v[i].cfg.name,
			       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
			fflush(stdout);
			_exit(EXIT_OK);
		}
		started++;
	}
	for (size_t i = 0; i < n; i++) {
		int st;
		if (pids[i] <= 0)
			continue;
		while (waitpid(pids[i], &st, 0) < 0 && errno == EINTR)
			;
		if (rc == EXIT_OK && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
			rc = WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_FAIL;
	}
	if (started == 0)
		printf("no running VE\n");
	free(pids);
	ve_list_free(v, n);
	return rc;
}

static int stop_or_restart(struct cli *c, int argc, char **argv, bool restart)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 't' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = restart ? "restart" : "stop";
	int o, timeout = -1, rc = EXIT_OK;
	bool all = false;
	uint32_t t;

	while ((o = getopt_long(argc, argv, restart ? "t:h" : "t:ah", opts, NULL)) != -1) {
		switch (o) {
		case 'a':
			if (restart)
				return cli_usage_error(cmd, "bad option");
			all = true;
			break;
		case 't':
			if (parse_u32(optarg, &t) < 0 || t > 86400)
				return cli_usage_error(
					cmd, "invalid timeout '%s': seconds, 0..86400", optarg);
			timeout = (int)t;
			break;
		case 'h':
			printf("Usage: vert %s [-t SECS] NAME...\n"
			       "%s"
			       "\n"
			       "%s\n"
			       "\n"
			       "Options:\n"
			       "%s"
			       "  -t, --time SECS  seconds to wait after the stop signal before "
			       "every\n"
			       "                   process in the VE is killed (default: the VE's\n"
			       "                   --stop-timeout, 10)\n"
			       "  -h, --help       show this help\n",
			       cmd, restart ? "" : "       vert stop --all [-t SECS]\n",
			       restart ? "Stop the VEs if they run, then start them again."
				       : "Send each VE's stop signal (SIGRTMIN+3 for systemd, else "
					 "SIGTERM),\nkill everything left after the timeout, and "
					 "return once the VE is\ndown and its resources are "
					 "released.",
			       restart ? ""
				       : "  -a, --all        stop every running VE, all at once, "
					 "each "
					 "within its\n"
					 "                   own timeout; print what was "
					 "stopped\n");
			return EXIT_OK;
		default:
			return cli_usage_error(cmd, "bad option");
		}
	}
	if (all) {
		if (optind != argc)
			return cli_usage_error(cmd, "--all takes no names");
		return stop_all(c, timeout);
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "no VE name given");
	for (int i = optind; i < argc; i++) {
		_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
		_cleanup_ve_handle_ struct ve_handle *h = NULL;
		int r;
		if (cli_paths(c, &err) < 0)
			return cli_fail(cmd, &err);
		r = ve_open(&c->paths, argv[i], 0, &h, &err);
		if (r >= 0)
			r = restart ? ve_restart(h, timeout, &err) : ve_stop(h, timeout, &err);
		if (r < 0)
			rc = cli_fail(cmd, &err);
	}
	return rc;
}

int cmd_stop(struct cli *c, int argc, char **argv)
{
	return stop_or_restart(c, argc, argv, false);
}

int cmd_restart(struct cli *c, int argc, char **argv)
{
	return stop_or_restart(c, argc, argv, true);
}
