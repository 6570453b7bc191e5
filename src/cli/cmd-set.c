/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert set NAME [OPTIONS]: change a VE's settings, live where possible. */
#include <getopt.h>

#include "cli-resources.h"
#include "cli.h"
#include "config-opts.h"
#include "vert/util.h"

int cmd_set(struct cli *c, int argc, char **argv)
{
	enum {
		OPT_PUBLISH_RM = 0x300
	};
	static const struct option base[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "publish-rm", required_argument, NULL, OPT_PUBLISH_RM },
	};
	struct option opts[ARRAY_SIZE(base) + CLI_CFG_OPTIONS_MAX];
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	_cleanup_free_ char *notes = NULL;
	_cleanup_ve_config_ struct ve_config patch;
	unsigned fields = 0;
	int o, r;

	ve_config_init(&patch);
	cli_cfg_options(opts, base, ARRAY_SIZE(base));
	while ((o = getopt_long(argc, argv, CLI_CFG_SHORTOPTS "h", opts, NULL)) != -1) {
		if (o == 'h') {
			printf("Usage: vert set NAME [OPTIONS]\n"
			       "\n"
			       "Change a VE's settings.  They are always saved; on a running VE,\n"
			       "resource limits and the hostname apply at once, the rest at the\n"
			       "next start.\n"
			       "\n"
			       "%s"
			       "  --publish-rm [HOSTIP:]HOSTPORT[:VEPORT][/tcp|udp]\n"
			       "                        stop publishing a port (repeatable; "
			       "without\n"
			       "                        /PROTO: tcp and udp); -p on a published "
			       "host\n"
			       "                        port replaces it, an identical -p is a "
			       "no-op\n"
			       "  --ip auto             give up a fixed --ip: an allocated "
			       "address\n"
			       "%s"
			       "  -h, --help            show this help\n",
			       cli_cfg_help, cli_resource_help);
			return EXIT_OK;
		}
		if (o == OPT_PUBLISH_RM) {
			struct ve_publish_rm m;
			if (ve_parse_publish_rm(optarg, &m, &err) < 0)
				return cli_fail("set", &err);
			patch.publish_rm = strv_push(patch.publish_rm, xstrdup(optarg));
			fields |= VE_F_NET;
			continue;
		}
		if ((r = cli_cfg_parse(o, optarg, &patch, &fields, &err)) < 0)
			return cli_fail("set", &err);
		if (r == 0)
			return cli_usage_error("set", "bad option");
	}
	if (optind != argc - 1)
		return cli_usage_error("set", "expected exactly one VE name");
	if (!fields)
		return cli_usage_error("set", "nothing to change");
	if (cli_paths(c, &err) < 0 || ve_open(&c->paths, argv[optind], 0, &h, &err) < 0 ||
	    ve_set(h, &patch, fields, &notes, &err) < 0)
		return cli_fail("set", &err);
	if (notes)
		fprintf(stderr, "vert: set: %s\n", notes);
	return EXIT_OK;
}
