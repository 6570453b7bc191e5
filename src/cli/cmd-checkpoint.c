/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert checkpoint NAME [--leave-running] [--output DIR] | vert restore NAME [--input DIR] */
#include <getopt.h>

#include "cli.h"
#include "vert/util.h"

static void checkpoint_usage(FILE *f)
{
	fprintf(f, "Usage: vert checkpoint [--leave-running] [--output DIR] NAME\n"
		   "\n"
		   "Save a running VE through CRIU: its processes (same pids), memory, open\n"
		   "files, TCP connections, its upper dir, config and network identity, into\n"
		   "one image directory.  The VE stops, unless --leave-running.\n"
		   "\n"
		   "Options:\n"
		   "  -R, --leave-running  keep the VE running after the dump\n"
		   "  -o, --output DIR     the image (must not exist; default: the VE's own,\n"
		   "                       which 'vert restore NAME' uses)\n"
		   "  -h, --help           show this help\n");
}

static void restore_usage(FILE *f)
{
	fprintf(f, "Usage: vert restore [--input DIR] NAME\n"
		   "\n"
		   "Run a checkpointed VE again, where it was.  With --input, the image of\n"
		   "another state root or host: the VE must not exist here, and its template\n"
		   "must, with the same content.\n"
		   "\n"
		   "Options:\n"
		   "  -i, --input DIR  the image (default: the VE's own checkpoint)\n"
		   "  -h, --help       show this help\n");
}

int cmd_checkpoint(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "leave-running", no_argument, NULL, 'R' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	_cleanup_free_ char *image = NULL;
	struct ve_checkpoint_opts co = { 0 };
	int o;

	while ((o = getopt_long(argc, argv, "Ro:h", opts, NULL)) != -1) {
		switch (o) {
		case 'R':
			co.leave_running = true;
			break;
		case 'o':
			co.output = optarg;
			break;
		case 'h':
			checkpoint_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("checkpoint", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("checkpoint", "give exactly one VE name");
	if (cli_paths(c, &err) < 0 || ve_open(&c->paths, argv[optind], 0, &h, &err) < 0 ||
	    ve_checkpoint(h, &co, &image, &err) < 0)
		return cli_fail("checkpoint", &err);
	printf("%s\n", image);
	return EXIT_OK;
}

int cmd_restore(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	struct ve_restore_opts ro = { 0 };
	int o;

	while ((o = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			ro.input = optarg;
			break;
		case 'h':
			restore_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("restore", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("restore", "give exactly one VE name");
	if (cli_paths(c, &err) < 0 || ve_restore(&c->paths, argv[optind], &ro, &err) < 0)
		return cli_fail("restore", &err);
	return EXIT_OK;
}
