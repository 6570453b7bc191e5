/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert start NAME... [--attach] | vert start --onboot */
#include <dirent.h>
#include <getopt.h>

#include "cli.h"
#include "vert/util.h"

static void start_usage(FILE *f)
{
	fprintf(f, "Usage: vert start [--attach] NAME...\n"
		   "       vert start --onboot\n"
		   "\n"
		   "Boot VEs.  Detached (the default), the init runs with its console going\n"
		   "to the VE's log ('vert logs') and the command returns once it runs.\n"
		   "\n"
		   "Options:\n"
		   "  -a, --attach   stay in the foreground with stdio attached until the VE\n"
		   "                 stops; the exit status is the init's (one VE only)\n"
		   "  --onboot       start every VE created or set with --onboot\n"
		   "  -h, --help     show this help\n");
}

static int start_onboot(struct cli *c)
{
	_cleanup_free_ char *dir = xasprintf("%s/ves", c->paths.data);
	struct dirent *de;
	int rc = EXIT_OK;
	DIR *d = opendir(dir);

	if (!d)
		return EXIT_OK;
	while ((de = readdir(d))) {
		_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
		_cleanup_ve_handle_ struct ve_handle *h = NULL;
		if (de->d_name[0] == '.' ||
		    ve_open(&c->paths, de->d_name, VE_OPEN_CONFIG, &h, &err) < 0)
			continue;
		if (h->cfg.onboot && ve_start(h, NULL, NULL, &err) < 0 &&
		    err.kind != VERT_ERR_RUNNING)
			rc = cli_fail("start", &err);
	}
	closedir(d);
	return rc;
}

int cmd_start(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "attach", no_argument, NULL, 'a' },
		{ "onboot", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ve_start_opts so = { 0 };
	bool onboot = false;
	int o, rc = EXIT_OK;

	while ((o = getopt_long(argc, argv, "ah", opts, NULL)) != -1) {
		switch (o) {
		case 'a':
			so.attach = true;
			break;
		case 'o':
			onboot = true;
			break;
		case 'h':
			start_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("start", "bad option");
		}
	}
	if (onboot) {
		_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
		if (optind != argc)
			return cli_usage_error("start", "--onboot takes no names");
		if (cli_paths(c, &err) < 0)
			return cli_fail("start", &err);
		return start_onboot(c);
	}
	if (optind >= argc)
		return cli_usage_error("start", "no VE name given");
	if (so.attach && argc - optind != 1)
		return cli_usage_error("start", "--attach takes exactly one VE");
	for (int i = optind; i < argc; i++) {
		_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
		_cleanup_ve_handle_ struct ve_handle *h = NULL;
		int status = 0;
		if (cli_paths(c, &err) < 0 || ve_open(&c->paths, argv[i], 0, &h, &err) < 0 ||
		    ve_start(h, &so, &status, &err) < 0)
			rc = cli_fail("start", &err);
		else if (so.attach)
			rc = status;
	}
	return rc;
}
