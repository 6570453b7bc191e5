/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert stop NAME... [-t SECS]  and  vert restart NAME... [-t SECS] */
#include <getopt.h>

#include "cli.h"
#include "vert/util.h"

static int stop_or_restart(struct cli *c, int argc, char **argv, bool restart)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = restart ? "restart" : "stop";
	int o, timeout = -1, rc = EXIT_OK;
	uint32_t t;

	while ((o = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			if (parse_u32(optarg, &t) < 0 || t > 86400)
				return cli_usage_error(
					cmd, "invalid timeout '%s': seconds, 0..86400", optarg);
			timeout = (int)t;
			break;
		case 'h':
			printf("Usage: vert %s [-t SECS] NAME...\n"
			       "\n"
			       "%s\n"
			       "\n"
			       "Options:\n"
			       "  -t, --time SECS  seconds to wait after the stop signal before "
			       "every\n"
			       "                   process in the VE is killed (default: the VE's\n"
			       "                   --stop-timeout, 10)\n"
			       "  -h, --help       show this help\n",
			       cmd,
			       restart ? "Stop the VEs if they run, then start them again."
				       : "Send each VE's stop signal (SIGRTMIN+3 for systemd, else "
					 "SIGTERM),\nkill everything left after the timeout, and "
					 "return once the VE is\ndown and its resources are "
					 "released.");
			return EXIT_OK;
		default:
			return cli_usage_error(cmd, "bad option");
		}
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
