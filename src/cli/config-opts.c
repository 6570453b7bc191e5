/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>

#include "cli-resources.h"
#include "config-opts.h"
#include "vert/util.h"

enum {
	OPT_HOSTNAME = 0x200,
	OPT_NET,
	OPT_READONLY,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_NEW_PRIVS,
	OPT_NO_NEW_PRIVS,
	OPT_ONBOOT,
	OPT_NO_ONBOOT,
	OPT_STOP_SIGNAL,
	OPT_STOP_TIMEOUT,
	OPT_IP,
	OPT_DNS,
	OPT_USERNS,
	OPT_PRIVILEGED,
	OPT_DISK,
	OPT_DISK_INODES,
	OPT_NESTING,
	OPT_NO_NESTING,
};

static const struct option cfg_options[] = {
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
	{ "no-new-privileges", no_argument, NULL, OPT_NO_NEW_PRIVS },
	{ "nesting", no_argument, NULL, OPT_NESTING },
	{ "no-nesting", no_argument, NULL, OPT_NO_NESTING },
	{ "onboot", no_argument, NULL, OPT_ONBOOT },
	{ "no-onboot", no_argument, NULL, OPT_NO_ONBOOT },
	{ "stop-signal", required_argument, NULL, OPT_STOP_SIGNAL },
	{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
	{ "userns", required_argument, NULL, OPT_USERNS },
	{ "privileged", no_argument, NULL, OPT_PRIVILEGED },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "disk-inodes", required_argument, NULL, OPT_DISK_INODES },
};

void cli_cfg_options(struct option *opts, const struct option *base, size_t n_base)
{
	size_t n = n_base;

	memcpy(opts, base, n_base * sizeof(*base));
	for (size_t i = 0; i < ARRAY_SIZE(cfg_options); i++)
		opts[n++] = cfg_options[i];
	for (size_t i = 0; cli_resource_options[i].name; i++)
		opts[n++] = cli_resource_options[i];
	memset(&opts[n], 0, sizeof(opts[n]));
}

int cli_cfg_parse(int opt, const char *arg, struct ve_config *c, unsigned *fields,
		  vert_error_t *err)
{
	struct ve_volume v;
	int r, sig;
	uint32_t t;

	switch (opt) {
	case OPT_HOSTNAME:
		if ((r = ve_hostname_check(arg, err)) < 0)
			return r;
		free(c->hostname);
		c->hostname = xstrdup(arg);
		*fields |= VE_F_HOSTNAME;
		return 1;
	case 'e':
		if ((r = ve_parse_env(arg, err)) < 0)
			return r;
		c->env = strv_env_set(c->env, xstrdup(arg));
		*fields |= VE_F_ENV;
		return 1;
	case 'v':
		if ((r = ve_parse_volume(arg, &v, err)) < 0)
			return r;
		c->volumes = xrealloc(c->volumes, (c->n_volumes + 1) * sizeof(v));
		c->volumes[c->n_volumes++] = v;
		*fields |= VE_F_VOLUMES;
		return 1;
	case 'w':
		free(c->workdir);
		c->workdir = xstrdup(arg);
		*fields |= VE_F_WORKDIR;
		return 1;
	case 'u':
		if ((r = ve_parse_user(arg, err)) < 0)
			return r;
		free(c->user);
		c->user = xstrdup(arg);
		*fields |= VE_F_USER;
		return 1;
	case OPT_NET:
		free(c->net);
		c->net = xstrdup(arg);
		*fields |= VE_F_NET;
		return 1;
	case OPT_IP: {
		struct vnet_config nc = { .ip = (char *)arg };
		if ((r = vnet_config_check(&nc, err)) < 0)
			return r;
		free(c->ip);
		c->ip = xstrdup(arg);
		*fields |= VE_F_NET;
		return 1;
	}
	case 'p': {
		struct vnet_port port;
		if ((r = vnet_parse_publish(arg, &port, err)) < 0)
			return r;
		c->publish = strv_push(c->publish, xstrdup(arg));
		*fields |= VE_F_NET;
		return 1;
	}
	case OPT_DNS: {
		char *const dns[] = { (char *)arg, NULL };
		struct vnet_config nc = { .dns = dns };
		if ((r = vnet_config_check(&nc, err)) < 0)
			return r;
		c->dns = strv_push(c->dns, xstrdup(arg));
		*fields |= VE_F_NET;
		return 1;
	}
	case OPT_READONLY:
		c->read_only = true;
		*fields |= VE_F_READONLY;
		return 1;
	case OPT_CAP_ADD:
		c->cap_add = strv_push(c->cap_add, xstrdup(arg));
		*fields |= VE_F_CAPS;
		return 1;
	case OPT_CAP_DROP:
		c->cap_drop = strv_push(c->cap_drop, xstrdup(arg));
		*fields |= VE_F_CAPS;
		return 1;
	case OPT_NEW_PRIVS:
	case OPT_NO_NEW_PRIVS:
		c->new_privileges = opt == OPT_NEW_PRIVS;
		c->no_new_privileges_set = opt == OPT_NO_NEW_PRIVS;
		*fields |= VE_F_NEWPRIVS;
		return 1;
	case OPT_NESTING:
	case OPT_NO_NESTING:
		c->nesting = opt == OPT_NESTING;
		*fields |= VE_F_NESTING;
		return 1;
	case OPT_ONBOOT:
	case OPT_NO_ONBOOT:
		c->onboot = opt == OPT_ONBOOT;
		*fields |= VE_F_ONBOOT;
		return 1;
	case OPT_STOP_SIGNAL:
		if (parse_signal(arg, &sig) < 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "invalid --stop-signal '%s'", arg);
		c->stop_signal = sig;
		*fields |= VE_F_STOP_SIGNAL;
		return 1;
	case OPT_USERNS:
		if (!ve_userns_mode_valid(arg))
			return vert_error_set(
				err, EINVAL, VERT_ERR_INVALID,
				"invalid --userns '%s': private (the default) or host "
				"(unsafe: the VE's root is the host's root)",
				arg);
		free(c->userns);
		c->userns = xstrdup(arg);
		*fields |= VE_F_USERNS;
		return 1;
	case OPT_PRIVILEGED:
		c->privileged = true;
		*fields |= VE_F_USERNS;
		return 1;
	case OPT_STOP_TIMEOUT:
		if (parse_u32(arg, &t) < 0 || t > 86400)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "invalid --stop-timeout '%s': seconds, 0..86400",
					      arg);
		c->stop_timeout = (int)t;
		*fields |= VE_F_STOP_TIMEOUT;
		return 1;
	case OPT_DISK:
	case OPT_DISK_INODES:
		if ((r = ve_parse_disk(opt == OPT_DISK ? "disk" : "disk-inodes", arg, &c->disk,
				       err)) < 0)
			return r;
		*fields |= VE_F_DISK;
		return 1;
	}
	if (cli_is_resource_opt(opt)) {
		if ((r = cli_parse_resource_opt(opt, arg, &c->resources, err)) < 0)
			return r;
		*fields |= VE_F_RESOURCES;
		return 1;
	}
	return 0;
}

const char *cli_cfg_help =
	"VE settings:\n"
	"  --hostname NAME       hostname inside the VE (default: the VE name)\n"
	"  -e, --env KEY=VALUE   set an environment variable (repeatable)\n"
	"  -v, --volume SRC:DST[:ro|rw][,idmap]\n"
	"                        bind-mount host path SRC at DST (repeatable);\n"
	"                        idmap: the VE's root owns host root's files there\n"
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
	"  --no-new-privileges   set no_new_privs (the default)\n"
	"  --nesting             allow new user namespaces and the new mount API\n"
	"                        (fsopen, open_tree, move_mount...) inside the VE\n"
	"  --no-nesting          refuse them with EPERM (the default)\n"
	"  --onboot, --no-onboot start with 'vert start --onboot' (or not)\n"
	"  --stop-signal SIG     signal that asks the init to stop\n"
	"                        (default: SIGRTMIN+3 for systemd, else SIGTERM)\n"
	"  --stop-timeout SECS   seconds before everything is killed (default 10)\n"
	"  --userns private|host the VE's own user namespace and host uid range\n"
	"                        (private, the default as root), or the host's\n"
	"                        (host: unsafe, the VE's root is the host's root)\n"
	"  --privileged          unsafe: the host's root with every capability\n"
	"  --disk SIZE           disk quota of the VE's own files (k/M/G/T; root only):\n"
	"                        a project quota where the state root's filesystem\n"
	"                        has them, else an ext4 image; set grows it live\n"
	"  --disk-inodes N       the most files the VE may have (with --disk)\n";
