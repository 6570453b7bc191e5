/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VE is "a template + settings"; this file compiles it into a runtime
 * spec shaped like an OCI config.json.  The defaults here are vert's
 * security policy: namespaces, masked paths, capabilities, seccomp.
 */
#include <json-c/json.h>

#include "ve-internal.h"
#include "vert/util.h"

/* The usual container default (Docker/Podman/crun): 14 capabilities. */
const char *const ve_default_caps[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
	NULL,
};

const char *const ve_persistent_caps[] = { "CAP_NET_ADMIN", "CAP_SYS_BOOT", NULL };

/*
 * System calls that reach beyond the VE into the shared kernel or host
 * state: modules, kexec, keyrings, file handles, swap, the clock,
 * accounting, BPF and perf, obsolete and dangerous interfaces.  They fail
 * with EPERM, the way the kernel answers a missing privilege, so programs
 * degrade instead of crashing.  Names unknown on an architecture are
 * skipped when the filter is built.
 */
const char *const ve_default_seccomp_deny[] = {
	/* kernel modules, kexec */
	"init_module",
	"finit_module",
	"delete_module",
	"create_module",
	"get_kernel_syms",
	"query_module",
	"kexec_load",
	"kexec_file_load",
	/* keyrings are not namespaced */
	"add_key",
	"request_key",
	"keyctl",
	/* file handles bypass the mount namespace (shocker) */
	"open_by_handle_at",
	"name_to_handle_at",
	/* swap, clock, accounting, quotas */
	"swapon",
	"swapoff",
	"clock_settime",
	"clock_settime64",
	"clock_adjtime",
	"clock_adjtime64",
	"settimeofday",
	"stime",
	"adjtimex",
	"acct",
	"quotactl",
	"quotactl_fd",
	/* kernel introspection and instrumentation */
	"bpf",
	"perf_event_open",
	"lookup_dcookie",
	"kcmp",
	"syslog",
	"_sysctl",
	"sysfs",
	"ustat",
	"uselib",
	"userfaultfd",
	"vhangup",
	"nfsservctl",
	"iopl",
	"ioperm",
	"vm86",
	"vm86old",
	"pciconfig_read",
	"pciconfig_write",
	"pciconfig_iobase",
	/* io_uring: large attack surface, bypasses seccomp for its ops */
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	/* unused/unimplemented entry points */
	"afs_syscall",
	"tuxcall",
	"security",
	"getpmsg",
	"putpmsg",
	"vserver",
	NULL,
};

static const char *const masked_paths[] = {
	"/proc/acpi",
	"/proc/asound",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
	"/sys/kernel/debug",
	"/sys/kernel/tracing",
	NULL,
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static struct json_object *jstrv(const char *const *v)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static void add_mount(struct json_object *mounts, const char *dest, const char *type,
		      const char *src, const char *const *opts)
{
	struct json_object *m = json_object_new_object();
	json_object_object_add(m, "destination", json_object_new_string(dest));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "source", json_object_new_string(src));
	json_object_object_add(m, "options", jstrv(opts));
	json_object_array_add(mounts, m);
}

static struct json_object *build_mounts(const struct ve_compile_in *in)
{
	const struct ve_config *c = in->cfg;
	struct json_object *mounts = json_object_new_array();
	static const char *const o_proc[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const o_dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k",
					     NULL };
	static const char *const o_pts[] = { "nosuid",	  "noexec", "newinstance", "ptmxmode=0666",
					     "mode=0620", "gid=5",  NULL };
	static const char *const o_shm[] = { "nosuid",	  "noexec",	 "nodev",
					     "mode=1777", "size=65536k", NULL };
	static const char *const o_mq[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const o_sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const o_cg[] = { "nosuid", "noexec", "nodev", "rw", NULL };

	add_mount(mounts, "/proc", "proc", "proc", o_proc);
	add_mount(mounts, "/dev", "tmpfs", "tmpfs", o_dev);
	add_mount(mounts, "/dev/pts", "devpts", "devpts", o_pts);
	add_mount(mounts, "/dev/shm", "tmpfs", "shm", o_shm);
	add_mount(mounts, "/dev/mqueue", "mqueue", "mqueue", o_mq);
	add_mount(mounts, "/sys", "sysfs", "sysfs", o_sys);
	/* The VE's own cgroup namespace: cgroup2 mounted there shows the
	 * VE's cgroup as its root, and nothing above it.  Read-write, so an init
	 * like systemd can move itself to init.scope and delegate controllers
	 * to its services.  Its root shows the VE's limits, which the VE
	 * can't raise (src/cgroup/create.c). */
	if (in->cgroup)
		add_mount(mounts, "/sys/fs/cgroup", "cgroup2", "cgroup", o_cg);
	/* ... and its limits read-only over themselves (or over the payload's
	 * own, src/cgroup/create.c): not writable from inside even where the
	 * hierarchy lacks nsdelegate (which any cgroup2 mount made from the
	 * initial cgroup namespace can reset) and the VE has no user
	 * namespace of its own */
	for (size_t i = 0; in->cgroup && in->cgroup_path && in->cgroup_guard && in->cgroup_guard[i];
	     i++) {
		static const char *const o[] = { "bind", "rprivate", "ro", NULL };
		_cleanup_free_ char *dst = xasprintf("/sys/fs/cgroup/%s", in->cgroup_guard[i]);
		_cleanup_free_ char *src = xasprintf("%s/%s", in->cgroup_path, in->cgroup_guard[i]);
		add_mount(mounts, dst, "bind", src, o);
	}
	/* lxcfs's files over the kernel's: meminfo, cpuinfo, uptime ... as
	 * the VE's cgroup sees them (src/ve/views.c) */
	for (size_t i = 0; in->views && ve_view_files[i]; i++) {
		static const char *const o[] = { "bind", "rprivate", "ro", NULL };
		_cleanup_free_ char *src = xasprintf("%s%s", in->views, ve_view_files[i]);
		add_mount(mounts, ve_view_files[i], "bind", src, o);
	}
	for (size_t i = 0; i < c->n_volumes; i++) {
		/* idmap: only where the VE has a range; nosuid there, since its
		 * root's files are the host root's */
		bool idm = c->volumes[i].idmap && in->cfg->idmap_base &&
			   ve_config_userns_private(in->paths, c);
		const char *o[] = { idm ? "bind" : "rbind",
				    "rprivate",
				    c->volumes[i].readonly ? "ro" : "rw",
				    idm ? "idmap" : NULL,
				    idm ? "nosuid" : NULL,
				    NULL };
		add_mount(mounts, c->volumes[i].dest, "bind", c->volumes[i].source, o);
	}
	/* generated /etc/hosts, /etc/resolv.conf, /etc/hostname, unless a
	 * volume of the user's own takes that place */
	for (size_t i = 0; i < in->n_net_mounts; i++) {
		static const char *const o[] = { "bind", "rprivate", "rw", NULL };
		bool user_has = false;
		for (size_t j = 0; j < c->n_volumes; j++)
			if (strcmp(c->volumes[j].dest, in->net_mounts[i].dest) == 0)
				user_has = true;
		if (!user_has)
			add_mount(mounts, in->net_mounts[i].dest, "bind", in->net_mounts[i].source,
				  o);
	}
	return mounts;
}

uint64_t ve_config_caps(const struct ve_config *c)
{
	uint64_t m = 0;
	for (size_t i = 0; ve_default_caps[i]; i++)
		m |= 1ULL << rt_cap_from_name(ve_default_caps[i]);
	/* A persistent VE is a whole server: its root manages its own
	 * network stack (addresses, routes, firewall: scoped to the VE's
	 * network namespace) and can reboot or halt it (reboot(2) in a child
	 * pid namespace only ends that namespace). */
	if (c->persistent)
		for (size_t i = 0; ve_persistent_caps[i]; i++)
			m |= 1ULL << rt_cap_from_name(ve_persistent_caps[i]);
	/* --privileged: every capability, of the host's root */
	if (c->privileged)
		m = ~0ULL;
	for (size_t i = 0; c->cap_add && c->cap_add[i]; i++) {
		if (strcasecmp(c->cap_add[i], "ALL") == 0)
			m = ~0ULL;
		else
			m |= 1ULL << rt_cap_from_name(c->cap_add[i]);
	}
	for (size_t i = 0; c->cap_drop && c->cap_drop[i]; i++) {
		if (strcasecmp(c->cap_drop[i], "ALL") == 0)
			m = 0;
		else
			m &= ~(1ULL << rt_cap_from_name(c->cap_drop[i]));
	}
	return m;
}

static struct json_object *caps_json(uint64_t mask)
{
	struct json_object *a = json_object_new_array();
	for (int i = 0; i < 64; i++) {
		const char *n = rt_cap_name(i);
		if ((mask & (1ULL << i)) && n)
			json_object_array_add(a, json_object_new_string(n));
	}
	return a;
}

/* The first start of a VE whose template has ssh host keys: before its
 * init, the VE's own shell drops the template's keys (deleted through the
 * overlay: whiteouts in the VE's upper layer) and the VE's own ssh-keygen
 * makes new ones, as vzctl does; then the init is exec'd, as PID 1. */
static struct json_object *ssh_keygen_args(const struct ve_config *c,
					   const char *const *default_cmd)
{
	static const char *const pre[] = {
		"/bin/sh", "-c",
		"rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub; "
		"if command -v ssh-keygen >/dev/null 2>&1; then ssh-keygen -A; fi; "
		"exec \"$@\"",
		"vert-ssh-keygen"
	};
	const char *const *cmd = c->cmd ? (const char *const *)c->cmd : default_cmd;
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < ARRAY_SIZE(pre); i++)
		json_object_array_add(a, json_object_new_string(pre[i]));
	for (size_t i = 0; cmd[i]; i++)
		json_object_array_add(a, json_object_new_string(cmd[i]));
	return a;
}

static struct json_object *build_process(const struct ve_compile_in *in)
{
	const struct ve_config *c = in->cfg;
	struct json_object *p = json_object_new_object(), *env, *caps, *user;
	static const char *const sh_cmd[] = { "/bin/sh", NULL };
	static const char *const init_cmd[] = { "/sbin/init", NULL };
	const char *const *default_cmd = c->persistent ? init_cmd : sh_cmd;
	uint64_t cm = ve_config_caps(c);

	json_object_object_add(p, "terminal", json_object_new_boolean(c->terminal));
	json_object_object_add(p, "args",
			       in->ssh_keygen
				       ? ssh_keygen_args(c, default_cmd)
				       : jstrv(c->cmd ? (const char *const *)c->cmd : default_cmd));
	env = json_object_new_array();
	json_object_array_add(env, json_object_new_string(
					   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
					   "/sbin:/bin"));
	json_object_array_add(env, json_object_new_string("container=vert"));
	{
		char *h = xasprintf("HOSTNAME=%s", c->hostname ? c->hostname : c->name);
		json_object_array_add(env, json_object_new_string(h));
		free(h);
	}
	/* a terminal's type: the caller's when it gave one (enter, exec -t) */
	if (c->terminal && !strv_env_get(c->env, "TERM"))
		json_object_array_add(env, json_object_new_string("TERM=xterm"));
	for (size_t i = 0; c->env && c->env[i]; i++)
		json_object_array_add(env, json_object_new_string(c->env[i]));
	json_object_object_add(p, "env", env);
	json_object_object_add(p, "cwd", json_object_new_string(c->workdir ? c->workdir : "/"));
	user = json_object_new_object();
	json_object_object_add(user, "uid", json_object_new_int(0));
	json_object_object_add(user, "gid", json_object_new_int(0));
	json_object_object_add(p, "user", user);
	caps = json_object_new_object();
	json_object_object_add(caps, "bounding", caps_json(cm));
	json_object_object_add(caps, "effective", caps_json(cm));
	json_object_object_add(caps, "permitted", caps_json(cm));
	json_object_object_add(p, "capabilities", caps);
	json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(!c->new_privileges));
	return p;
}

/* mknod(2)/mknodat(2) of a character or block device fails with EPERM:
 * for a root VE on a host where vert can't attach a device filter (no
 * cgroup v2), a node for a host disk would otherwise be readable by the
 * VE's root.  FIFOs, sockets and regular files are still allowed. */
static void add_mknod_rules(struct json_object *calls)
{
	static const struct {
		const char *name;
		int mode_arg;
	} calls_t[] = { { "mknod", 1 }, { "mknodat", 2 } };
	static const int kinds[] = { 0020000 /* S_IFCHR */, 0060000 /* S_IFBLK */ };

	for (size_t i = 0; i < ARRAY_SIZE(calls_t); i++)
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			struct json_object *rule = json_object_new_object(), *args, *a;
			const char *names[] = { calls_t[i].name, NULL };
			json_object_object_add(rule, "names", jstrv(names));
			json_object_object_add(rule, "action",
					       json_object_new_string("SCMP_ACT_ERRNO"));
			json_object_object_add(rule, "errnoRet", json_object_new_int(1));
			args = json_object_new_array();
			a = json_object_new_object();
			json_object_object_add(a, "index",
					       json_object_new_int(calls_t[i].mode_arg));
			json_object_object_add(a, "value",
					       json_object_new_int(0170000 /* S_IFMT */));
			json_object_object_add(a, "valueTwo", json_object_new_int(kinds[k]));
			json_object_object_add(a, "op",
					       json_object_new_string("SCMP_CMP_MASKED_EQ"));
			json_object_array_add(args, a);
			json_object_object_add(rule, "args", args);
			json_object_array_add(calls, rule);
		}
}

/* One rule: name fails with errnum when (args[index] & mask) == value. */
static void add_masked_rule(struct json_object *calls, const char *name, int errnum, unsigned index,
			    uint64_t mask, uint64_t value)
{
	struct json_object *rule = json_object_new_object(), *args = json_object_new_array(), *a;
	const char *names[] = { name, NULL };

	json_object_object_add(rule, "names", jstrv(names));
	json_object_object_add(rule, "action", json_object_new_string("SCMP_ACT_ERRNO"));
	json_object_object_add(rule, "errnoRet", json_object_new_int(errnum));
	a = json_object_new_object();
	json_object_object_add(a, "index", json_object_new_int((int)index));
	json_object_object_add(a, "value", json_object_new_int64((int64_t)mask));
	json_object_object_add(a, "valueTwo", json_object_new_int64((int64_t)value));
	json_object_object_add(a, "op", json_object_new_string("SCMP_CMP_MASKED_EQ"));
	json_object_array_add(args, a);
	json_object_object_add(rule, "args", args);
	json_object_array_add(calls, rule);
}

static void add_errno_rule(struct json_object *calls, const char *const *names, int errnum)
{
	struct json_object *rule = json_object_new_object();
	json_object_object_add(rule, "names", jstrv(names));
	json_object_object_add(rule, "action", json_object_new_string("SCMP_ACT_ERRNO"));
	json_object_object_add(rule, "errnoRet", json_object_new_int(errnum));
	json_object_array_add(calls, rule);
}

/* The new mount API: refused without --nesting (Incus security.nesting).
 * It reaches mount code that the classic mount(2) path does not (fsconfig
 * parsing: CVE-2022-0185) and, with a user namespace of the VE's own,
 * lets it build and attach mount trees of its own making. */
const char *const ve_nesting_seccomp_deny[] = {
	"fsopen", "fsconfig", "fsmount", "fspick", "open_tree", "move_mount", "mount_setattr", NULL,
};

/* Without --nesting a VE can't create user namespaces: a nested user
 * namespace gives its code every capability over new namespaces of its
 * own, and so the whole kernel surface behind them (CVE-2022-0185,
 * CVE-2024-1086).  clone(2) and unshare(2) are refused by their flags
 * argument, which seccomp can see; clone3(2) passes its flags in memory,
 * which seccomp can't read, so it fails with ENOSYS and glibc falls back
 * to clone(2).  setns(2) into a user namespace is refused too (nstype is
 * a set of CLONE_NEW* flags for a pidfd). */
static void add_nesting_rules(struct json_object *calls)
{
	static const char *const clone3[] = { "clone3", NULL };
	const uint64_t newuser = 0x10000000; /* CLONE_NEWUSER */

	add_masked_rule(calls, "unshare", 1 /* EPERM */, 0, newuser, newuser);
	/* clone(2)'s flags are its first argument on x86 and most
	 * architectures (the second on s390, which vert doesn't build for) */
	add_masked_rule(calls, "clone", 1, 0, newuser, newuser);
	add_masked_rule(calls, "setns", 1, 1, newuser, newuser);
	add_errno_rule(calls, clone3, 38 /* ENOSYS */);
	add_errno_rule(calls, ve_nesting_seccomp_deny, 1);
}

/* TIOCSTI pushes bytes into a terminal's input queue and TIOCLINUX can
 * paste the console's selection: either would let a VE type commands into
 * a terminal it shares with the admin.  The request is an unsigned int in
 * the kernel, so only its low 32 bits are compared (a request with high
 * bits set is the same request). */
static void add_tty_rules(struct json_object *calls)
{
	add_masked_rule(calls, "ioctl", 1, 1, 0xffffffffu, 0x5412 /* TIOCSTI */);
	add_masked_rule(calls, "ioctl", 1, 1, 0xffffffffu, 0x541C /* TIOCLINUX */);
}

static struct json_object *build_seccomp(const struct ve_compile_in *in)
{
	struct json_object *sc = json_object_new_object(), *calls = json_object_new_array(), *rule;
	static const char *const archs[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
					     NULL };

	json_object_object_add(sc, "defaultAction", json_object_new_string("SCMP_ACT_ALLOW"));
#if defined(__x86_64__)
	json_object_object_add(sc, "architectures", jstrv(archs));
#else
	(void)archs;
#endif
	rule = json_object_new_object();
	json_object_object_add(rule, "names", jstrv(ve_default_seccomp_deny));
	json_object_object_add(rule, "action", json_object_new_string("SCMP_ACT_ERRNO"));
	json_object_object_add(rule, "errnoRet", json_object_new_int(1 /* EPERM */));
	json_object_array_add(calls, rule);
	if (in->no_device_filter)
		add_mknod_rules(calls);
	if (!in->cfg->nesting)
		add_nesting_rules(calls);
	add_tty_rules(calls);
	if (in->sysinfo) {
		static const char *const si[] = { "sysinfo", "sched_getaffinity", NULL };
		rule = json_object_new_object();
		json_object_object_add(rule, "names", jstrv(si));
		json_object_object_add(rule, "action", json_object_new_string("SCMP_ACT_NOTIFY"));
		json_object_array_add(calls, rule);
	}
	json_object_object_add(sc, "syscalls", calls);
	return sc;
}

static struct json_object *idmaps_json(const struct rt_idmap *m, size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "containerID", json_object_new_int64(m[i].inside));
		json_object_object_add(e, "hostID", json_object_new_int64(m[i].outside));
		json_object_object_add(e, "size", json_object_new_int64(m[i].count));
		json_object_array_add(a, e);
	}
	return a;
}

static struct json_object *build_linux(const struct ve_compile_in *in)
{
	struct json_object *l = json_object_new_object(), *nss = json_object_new_array();
	static const char *const types[] = { "mount", "pid", "uts", "ipc", "network", "cgroup" };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		struct json_object *ns;
		if (in->host_netns && strcmp(types[i], "network") == 0)
			continue;
		ns = json_object_new_object();
		json_object_object_add(ns, "type", json_object_new_string(types[i]));
		json_object_array_add(nss, ns);
	}
	if (in->paths->rootless) {
		struct json_object *ns = json_object_new_object();
		struct ve_idmap m;
		ve_idmap_compute(in->paths, &m);
		json_object_object_add(ns, "type", json_object_new_string("user"));
		json_object_array_add(nss, ns);
		json_object_object_add(l, "uidMappings", idmaps_json(m.uid, m.n));
		json_object_object_add(l, "gidMappings", idmaps_json(m.gid, m.n));
	}
	if (ve_config_userns_private(in->paths, in->cfg) && in->cfg->idmap_base) {
		/* its own 64K ids (idrange.c); the overlay's layers come
		 * idmapped through that namespace (src/fs/idmap.c) */
		struct rt_idmap m = { 0, in->cfg->idmap_base, VE_IDMAP_SIZE };
		struct json_object *ns = json_object_new_object();
		json_object_object_add(ns, "type", json_object_new_string("user"));
		json_object_array_add(nss, ns);
		json_object_object_add(l, "uidMappings", idmaps_json(&m, 1));
		json_object_object_add(l, "gidMappings", idmaps_json(&m, 1));
	}
	json_object_object_add(l, "namespaces", nss);
	json_object_object_add(l, "maskedPaths", jstrv(masked_paths));
	json_object_object_add(l, "readonlyPaths", jstrv(readonly_paths));
	json_object_object_add(l, "rootfsPropagation", json_object_new_string("rprivate"));
	json_object_object_add(l, "seccomp", build_seccomp(in));
	return l;
}

int ve_compile_spec(const struct ve_compile_in *in, struct json_object **ret, vert_error_t *err)
{
	const struct ve_config *c = in->cfg;
	struct json_object *o = json_object_new_object(), *root, *ann;

	(void)err;
	json_object_object_add(o, "ociVersion", json_object_new_string("1.0.2"));
	json_object_object_add(o, "process", build_process(in));
	root = json_object_new_object();
	json_object_object_add(root, "path", json_object_new_string(in->mountpoint));
	json_object_object_add(root, "readonly", json_object_new_boolean(c->read_only));
	json_object_object_add(o, "root", root);
	json_object_object_add(o, "hostname",
			       json_object_new_string(c->hostname ? c->hostname : c->name));
	json_object_object_add(o, "mounts", build_mounts(in));
	json_object_object_add(o, "linux", build_linux(in));
	ann = json_object_new_object();
	json_object_object_add(ann, "org.vert.rootfs.lower", json_object_new_string(in->lower));
	json_object_object_add(ann, "org.vert.rootfs.upper", json_object_new_string(in->upper));
	json_object_object_add(ann, "org.vert.rootfs.work", json_object_new_string(in->work));
	if (ve_config_userns_private(in->paths, c) && c->idmap_base)
		json_object_object_add(ann, "org.vert.rootfs.idmap",
				       json_object_new_string("true"));
	/* an --rm VE's upper goes with it: no sync of the host's filesystem
	 * at its end (src/fs/rootfs.c).  Not with a disk of its own: its
	 * filesystem is the VE's alone, and the fsyncs in it are kept. */
	if (ve_overlay_volatile(c))
		json_object_object_add(ann, "org.vert.rootfs.volatile",
				       json_object_new_string("true"));
	json_object_object_add(ann, "org.vert.net.loopback",
			       json_object_new_string(in->host_netns ? "false" : "true"));
	json_object_object_add(ann, "org.vert.name", json_object_new_string(c->name));
	json_object_object_add(o, "annotations", ann);
	*ret = o;
	return 0;
}
