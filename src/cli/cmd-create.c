/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert create NAME --template T [OPTIONS] [-- INIT...] */
#include <getopt.h>

#include "cli-resources.h"
#include "cli.h"
#include "config-opts.h"
#include "vert/util.h"

static void create_usage(FILE *f)
{
	fprintf(f,
		"Usage: vert create NAME --template TEMPLATE [OPTIONS] [-- INIT [ARG...]]\n"
		"\n"
		"Define a persistent VE from TEMPLATE.  'vert start NAME' boots it: INIT\n"
		"(default: the template's /sbin/init) runs as PID 1, detached, its console\n"
		"going to the VE's log.  A persistent VE's root may also manage its own\n"
		"network (CAP_NET_ADMIN) and reboot or halt it (CAP_SYS_BOOT).\n"
		"\n"
		"Options:\n"
		"  -T, --template NAME   the OS template (required)\n"
		"%s%s"
		"  -h, --help            show this help\n",
		cli_cfg_help, cli_resource_help);
}

int cmd_create(struct cli *c, int argc, char **argv)
{
	static const struct option base[] = {
		{ "template", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option opts[ARRAY_SIZE(base) + CLI_CFG_OPTIONS_MAX];
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_ve_config_ struct ve_config cfg;
	unsigned fields = 0;
	int o, r;

	ve_config_init(&cfg);
	cli_cfg_options(opts, base, ARRAY_SIZE(base));
	cfg.persistent = true;
	while ((o = getopt_long(argc, argv, "T:" CLI_CFG_SHORTOPTS "h", opts, NULL)) != -1) {
		switch (o) {
		case 'T':
			free(cfg.template_name);
			cfg.template_name = xstrdup(optarg);
			break;
		case 'h':
			create_usage(stdout);
			return EXIT_OK;
		default:
			if ((r = cli_cfg_parse(o, optarg, &cfg, &fields, &err)) < 0)
				return cli_fail("create", &err);
			if (r == 0)
				return cli_usage_error("create", "bad option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("create", "no VE name given");
	cfg.name = xstrdup(argv[optind++]);
	/* getopt has moved NAME first and dropped the "--" */
	for (int i = optind; i < argc; i++)
		cfg.cmd = strv_push(cfg.cmd, xstrdup(argv[i]));
	if (!cfg.template_name)
		return cli_usage_error("create", "--template is required");
	if (cli_paths(c, &err) < 0 || ve_create(&c->paths, &cfg, &err) < 0)
		return cli_fail("create", &err);
	return EXIT_OK;
}
