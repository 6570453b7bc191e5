/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert run: run a command in a new VE. */
#include <getopt.h>

#include "cli-resources.h"
#include "cli.h"
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
		"  --name NAME           name the VE (default: a random id)\n"
		"  -t, --tty             give the command a terminal (pty)\n"
		"  -i, --interactive     keep stdin open (always the case; for compatibility)\n"
		"  --hostname NAME       hostname inside the VE (default: the VE name)\n"
		"  -e, --env KEY=VALUE   set an environment variable (repeatable)\n"
		"  -v, --volume SRC:DST[:ro|rw]\n"
		"                        bind-mount host path SRC at DST (repeatable)\n"
		"  -w, --workdir DIR     working directory inside the VE\n"
		"  -u, --user USER[:GROUP]\n"
		"                        run as this uid/gid or name (looked up in the VE)\n"
		"  --net MODE            network: bridge (default as root), routed, none,\n"
		"                        host (unsafe: no isolation), pasta, slirp4netns\n"
		"                        (rootless default: pasta or slirp4netns if usable)\n"
		"  --ip ADDR|auto        the VE's IPv4 address (bridge/routed; default: leased)\n"
		"  -p, --publish [HOSTIP:]HOSTPORT:VEPORT[/tcp|udp]\n"
		"                        publish a VE port on the host (repeatable)\n"
		"  --dns ADDR            nameserver for the VE (repeatable; default: the host's)\n"
		"  --read-only           mount the VE's root read-only\n"
		"  --cap-add CAP         add a capability (repeatable, ALL for all)\n"
		"  --cap-drop CAP        drop a capability (repeatable, ALL for all)\n"
		"  --new-privileges      allow setuid binaries to gain privileges\n"
		"                        (default: no_new_privs is set)\n"
		"%s"
		"  -h, --help            show this help\n",
		cli_resource_help);
}

enum {
	OPT_RM = 0x100,
	OPT_NAME,
	OPT_HOSTNAME,
	OPT_NET,
	OPT_IP,
	OPT_DNS,
	OPT_READONLY,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_NEW_PRIVS,
};

int cmd_run(struct cli *c, int argc, char **argv)
{
	static const struct option base[] = {
		{ "rm", no_argument, NULL, OPT_RM },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "tty", no_argument, NULL, 't' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "hostname", required_argument, NULL, OPT_HOSTNAME },
		{ "env", required_argument, NULL, 'e' },
		{ "volume", required_argument, NULL, 'v' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "net", required_argument, NULL, OPT_NET },
		{ "ip", required_argument, NULL, OPT_IP },
		{ "publish", required_argument, NULL, 'p' },
		{ "dns", required_argument, NULL, OPT_DNS },
		{ "read-only", no_argument, NULL, OPT_READONLY },
		{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
		{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
		{ "new-privileges", no_argument, NULL, OPT_NEW_PRIVS },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option opts[ARRAY_SIZE(base) + 16];
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	struct ve_config cfg;
	struct ve_run_opts ro = { 0 };
	size_t n = 0;
	int o, status = 0, r;

	memcpy(opts, base, sizeof(base));
	n = ARRAY_SIZE(base);
	for (size_t i = 0; cli_resource_options[i].name; i++)
		opts[n++] = cli_resource_options[i];
	memset(&opts[n], 0, sizeof(opts[n]));

	ve_config_init(&cfg);
	while ((o = getopt_long(argc, argv, "+tie:v:w:u:p:h", opts, NULL)) != -1) {
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
		case OPT_HOSTNAME:
			free(cfg.hostname);
			cfg.hostname = xstrdup(optarg);
			break;
		case 'e':
			if (ve_parse_env(optarg, &err) < 0)
				goto fail;
			cfg.env = strv_push(cfg.env, xstrdup(optarg));
			break;
		case 'v': {
			struct ve_volume v;
			if (ve_parse_volume(optarg, &v, &err) < 0)
				goto fail;
			cfg.volumes = xrealloc(cfg.volumes, (cfg.n_volumes + 1) * sizeof(v));
			cfg.volumes[cfg.n_volumes++] = v;
			break;
		}
		case 'w':
			free(cfg.workdir);
			cfg.workdir = xstrdup(optarg);
			break;
		case 'u':
			if (ve_parse_user(optarg, &err) < 0)
				goto fail;
			free(cfg.user);
			cfg.user = xstrdup(optarg);
			break;
		case OPT_NET:
			free(cfg.net);
			cfg.net = xstrdup(optarg);
			break;
		case OPT_IP: {
			struct vnet_config nc = { .ip = optarg };
			if (vnet_config_check(&nc, &err) < 0)
				goto fail;
			free(cfg.ip);
			cfg.ip = xstrdup(optarg);
			break;
		}
		case 'p': {
			struct vnet_port port;
			if (vnet_parse_publish(optarg, &port, &err) < 0)
				goto fail;
			cfg.publish = strv_push(cfg.publish, xstrdup(optarg));
			break;
		}
		case OPT_DNS: {
			char *const dns[] = { optarg, NULL };
			struct vnet_config nc = { .dns = dns };
			if (vnet_config_check(&nc, &err) < 0)
				goto fail;
			cfg.dns = strv_push(cfg.dns, xstrdup(optarg));
			break;
		}
		case OPT_READONLY:
			cfg.read_only = true;
			break;
		case OPT_CAP_ADD:
			cfg.cap_add = strv_push(cfg.cap_add, xstrdup(optarg));
			break;
		case OPT_CAP_DROP:
			cfg.cap_drop = strv_push(cfg.cap_drop, xstrdup(optarg));
			break;
		case OPT_NEW_PRIVS:
			cfg.new_privileges = true;
			break;
		case 'h':
			run_usage(stdout);
			ve_config_done(&cfg);
			return EXIT_OK;
		default:
			if (cli_is_resource_opt(o)) {
				if (cli_parse_resource_opt(o, optarg, &cfg.resources, &err) < 0)
					goto fail;
				break;
			}
			ve_config_done(&cfg);
			fprintf(stderr, "Try 'vert run --help'.\n");
			return EXIT_RUN_FAILED;
		}
	}
	if (optind >= argc) {
		ve_config_done(&cfg);
		fprintf(stderr, "vert: run: no template given\nTry 'vert run --help'.\n");
		return EXIT_RUN_FAILED;
	}
	cfg.template_name = xstrdup(argv[optind++]);
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			cfg.cmd = strv_push(cfg.cmd, xstrdup(argv[i]));
	}

	if ((r = cli_paths(c, &err)) < 0 || (r = ve_run(&c->paths, &cfg, &ro, &status, &err)) < 0)
		goto fail;
	ve_config_done(&cfg);
	return status;
fail:
	ve_config_done(&cfg);
	return cli_fail_run("run", &err);
}
