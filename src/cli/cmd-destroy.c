/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert destroy NAME... [--force] */
#include <getopt.h>

#include "cli.h"
#include "vert/util.h"

int cmd_destroy(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	int o, rc = EXIT_OK;

	while ((o = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (o) {
		case 'f':
			force = true;
			break;
		case 'h':
			printf("Usage: vert destroy [--force] NAME...\n"
			       "\n"
			       "Remove VEs: configuration, files (upper layer), logs.  A running "
			       "VE\n"
			       "is refused (exit 6) unless --force, which stops it first.\n");
			return EXIT_OK;
		default:
			return cli_usage_error("destroy", "bad option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("destroy", "no VE name given");
	for (int i = optind; i < argc; i++) {
		_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
		_cleanup_ve_handle_ struct ve_handle *h = NULL;
		if (cli_paths(c, &err) < 0 || ve_open(&c->paths, argv[i], 0, &h, &err) < 0 ||
		    ve_destroy(h, force, &err) < 0)
			rc = cli_fail("destroy", &err);
	}
	return rc;
}
