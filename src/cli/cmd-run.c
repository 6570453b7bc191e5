/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert run: create + start + attach (+ destroy with --rm). */
#include <getopt.h>

#include "cli-resources.h"
#include "cli.h"
#include "config-opts.h"
#include "vert/util.h"

static void run_usage(FILE *f)
{
	fprintf(f,
		"Usage: vert run [OPTIONS] TEMPLATE [--] [COMMAND [ARG...]]\n"
		"\n"
		"Create a VE from TEMPLATE, run COMMAND in it (default /bin/sh) and wait.\n"
		"The exit status is the command's; 125 when vert fails, 126 when the\n"
		"command can't be executed, 127 when it isn't found.\n"
		"\n"
		"Options:\n"
		"  --rm                  remove the VE when the command exits\n"
		"  -d, --detach          start it detached (console to 'vert logs') and\n"
		"                        print its name\n"
		"  --name NAME           name the VE (default: a random id)\n"
		"  -t, --tty             give the command a terminal (pty)\n"
		"  -i, --interactive     keep stdin open (always the case; for compatibility)\n"
		"%s%s"
		"  -h, --help            show this help\n",
		cli_cfg_help, cli_resource_help);
}

enum {
	OPT_RM = 0x100,
	OPT_NAME
};

/* the init's terminal when detached is the console pty; -t is moot */

int cmd_run(struct cli *c, int argc, char **argv)
{
	static const struct option base[] = {
		{ "rm", no_argument, NULL, OPT_RM },	       { "detach", no_argument, NULL, 'd' },
		{ "name", required_argument, NULL, OPT_NAME }, { "tty", no_argument, NULL, 't' },
		{ "interactive", no_argument, NULL, 'i' },     { "help", no_argument, NULL, 'h' },
	};
	struct option opts[ARRAY_SIZE(base) + CLI_CFG_OPTIONS_MAX];
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_ve_config_ struct ve_config cfg;
	struct ve_run_opts ro = { 0 };
	unsigned fields = 0;
	int o, status = 0, r;

	ve_config_init(&cfg);
	cli_cfg_options(opts, base, ARRAY_SIZE(base));
	while ((o = getopt_long(argc, argv, "+tid" CLI_CFG_SHORTOPTS "h", opts, NULL)) != -1) {
		switch (o) {
		case OPT_RM:
			ro.rm = true;
			break;
		case OPT_NAME:
			free(cfg.name);
			cfg.name = xstrdup(optarg);
			break;
		case 't':
			cfg.terminal = true;
			break;
		case 'i':
			break;
		case 'd':
			ro.detach = true;
			break;
		case 'h':
			run_usage(stdout);
			return EXIT_OK;
		default:
			if ((r = cli_cfg_parse(o, optarg, &cfg, &fields, &err)) < 0)
				return cli_fail_run("run", &err);
			if (r == 0) {
				fprintf(stderr, "Try 'vert run --help'.\n");
				return EXIT_RUN_FAILED;
			}
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vert: run: no template given\nTry 'vert run --help'.\n");
		return EXIT_RUN_FAILED;
	}
	cfg.template_name = xstrdup(argv[optind++]);
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	for (int i = optind; i < argc; i++)
		cfg.cmd = strv_push(cfg.cmd, xstrdup(argv[i]));

	if (cli_paths(c, &err) < 0 || ve_run(&c->paths, &cfg, &ro, &status, &err) < 0)
		return cli_fail_run("run", &err);
	if (ro.detach)
		printf("%s\n", cfg.name);
	return ro.detach ? EXIT_OK : status;
}
