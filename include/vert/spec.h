/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The runtime spec: the subset of the OCI runtime-spec config.json that
 * vert's runtime core consumes, parsed with json-c into plain C structs.
 *
 * vert-specific knobs travel as OCI annotations (the spec's own extension
 * point, as crun does with run.oci.*):
 *   org.vert.rootfs.lower    overlay lower dir (the template rootfs)
 *   org.vert.rootfs.upper    overlay upper dir
 *   org.vert.rootfs.work     overlay work dir
 *   org.vert.net.loopback    "true": bring lo up in a new netns
 *   org.vert.rootfs.idmap    "true": the overlay's layers reach the VE
 *                            through idmapped mounts of its user namespace
 * With an overlay, root.path is the (empty) mountpoint the overlay is
 * mounted on inside the VE's private mount namespace.
 */
#ifndef VERT_SPEC_H
#define VERT_SPEC_H

#include <linux/capability.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vert/error.h"
#include "vert/util.h"

struct json_object;

enum rt_ns {
	RT_NS_MOUNT,
	RT_NS_PID,
	RT_NS_UTS,
	RT_NS_IPC,
	RT_NS_NET,
	RT_NS_CGROUP,
	RT_NS_USER,
	RT_NS_TIME,
	RT_NS_MAX,
};

struct rt_mount {
	char *destination;
	char *type;
	char *source;
	unsigned long flags;	   /* MS_* to set */
	unsigned long propagation; /* MS_PRIVATE/MS_SLAVE/... (+MS_REC) or 0 */
	char *data;		   /* fs-specific options, comma-joined */
	bool bind;
	bool recursive;
	bool readonly;
	bool idmap; /* OCI "idmap": a bind idmapped through the VE's userns */
};

struct rt_idmap {
	uint32_t inside;
	uint32_t outside;
	uint32_t count;
};

struct rt_rlimit {
	int resource;
	uint64_t soft;
	uint64_t hard;
};

enum rt_seccomp_action {
	RT_SCMP_ALLOW,
	RT_SCMP_ERRNO,
	RT_SCMP_KILL_PROCESS,
	RT_SCMP_KILL_THREAD,
	RT_SCMP_TRAP,
	RT_SCMP_LOG,
	/* to the listener vert serves (SECCOMP_RET_USER_NOTIF): sysinfo(2)
	 * answered from the VE's cgroup */
	RT_SCMP_NOTIFY,
};

enum rt_seccomp_op {
	RT_SCMP_CMP_NE = 1,
	RT_SCMP_CMP_LT,
	RT_SCMP_CMP_LE,
	RT_SCMP_CMP_EQ,
	RT_SCMP_CMP_GE,
	RT_SCMP_CMP_GT,
	RT_SCMP_CMP_MASKED_EQ,
};

struct rt_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	int op; /* enum rt_seccomp_op */
};

#define RT_SCMP_MAX_ARGS 6

struct rt_seccomp_rule {
	char **names;
	int action;
	int errnum;
	struct rt_seccomp_arg args[RT_SCMP_MAX_ARGS];
	size_t n_args;
};

struct rt_seccomp {
	int default_action;
	int default_errno;
	char **architectures; /* "SCMP_ARCH_X86_64", ... */
	struct rt_seccomp_rule *rules;
	size_t n_rules;
};

struct rt_device {
	char *path;
	char type; /* 'c' or 'b' */
	uint32_t major, minor;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

struct rt_sysctl {
	char *key;
	char *value;
};

/* cgroup v2 limits.  Sizes and counts: < 0 not set, INT64_MAX "max". */
struct rt_resources {
	int64_t memory_max, memory_high, memory_low, memory_swap_max;
	int64_t cpu_quota, cpu_period; /* cpu.max; quota INT64_MAX: no limit */
	int64_t cpu_weight;	       /* cpu.weight 1..10000 */
	char *cpuset_cpus, *cpuset_mems;
	int64_t pids_max;
	int64_t io_weight; /* io.weight 1..10000 */
	char **io_max;	   /* "MAJ:MIN rbps=.. wbps=.." lines */
	char **unified;	   /* raw "file", "value" pairs (OCI
			    * linux.resources.unified) */
};

struct rt_spec {
	/* process */
	bool terminal;
	char **args;
	char **env;
	char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
	bool no_new_privileges;
	/* bit CAP_BIT(CAP_xxx) per capability */
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
	struct rt_rlimit *rlimits;
	size_t n_rlimits;
	bool has_oom_score_adj;
	int oom_score_adj;

	/* root */
	char *root_path;
	bool root_readonly;
	char *overlay_lower, *overlay_upper, *overlay_work;
	bool rootfs_idmap;
	/* mount the overlay volatile: no sync of the upper fs (an --rm VE) */
	bool overlay_volatile;

	char *hostname;
	char *domainname;

	struct rt_mount *mounts;
	size_t n_mounts;

	/* linux */
	int ns_flags;		  /* CLONE_NEW* requested */
	char *ns_path[RT_NS_MAX]; /* join instead of create, when set */
	struct rt_idmap *uid_maps, *gid_maps;
	size_t n_uid_maps, n_gid_maps;
	char **masked_paths;
	char **readonly_paths;
	struct rt_device *devices;
	size_t n_devices;
	struct rt_sysctl *sysctls;
	size_t n_sysctls;
	struct rt_seccomp *seccomp;
	unsigned long rootfs_propagation;
	char *cgroups_path;
	struct rt_resources resources;
	bool loopback_up;
};

void rt_resources_init(struct rt_resources *r);
void rt_resources_done(struct rt_resources *r);
bool rt_resources_any(const struct rt_resources *r);

/* OCI (cgroup v1 scale) -> cgroup v2 conversions, as crun does them. */
int64_t rt_oci_shares_to_weight(uint64_t shares);   /* cpu.shares -> cpu.weight */
int64_t rt_oci_blkio_to_io_weight(uint64_t weight); /* blkio 10..1000 -> io 1..10000 */

/* Parse a config.json document (already parsed by json-c) into a spec. */
int rt_spec_from_json(struct json_object *root, struct rt_spec **ret, vert_error_t *err);
void rt_spec_free(struct rt_spec *s);

/* Helpers exposed for unit tests and the VE layer. */
int rt_mount_parse_options(struct rt_mount *m, char *const *options, vert_error_t *err);
/* A capability's bit in the uint64_t cap masks: CAP_BIT(CAP_SYS_ADMIN). */
#define CAP_BIT(c) (1ULL << (c))
int rt_cap_from_name(const char *name);	   /* "CAP_CHOWN" -> 0, -1 if unknown */
const char *rt_cap_name(int cap);	   /* 0 -> "CAP_CHOWN" */
int rt_ns_from_name(const char *type);	   /* "pid" -> RT_NS_PID */
int rt_ns_clone_flag(int ns);		   /* RT_NS_PID -> CLONE_NEWPID */
int rt_rlimit_from_name(const char *name); /* "RLIMIT_NOFILE" -> RLIMIT_NOFILE */
int rt_seccomp_action_from_name(const char *name);
int rt_seccomp_op_from_name(const char *name);

static inline void rt_spec_freep(struct rt_spec **s)
{
	rt_spec_free(*s);
}
#define _cleanup_spec_ _cleanup_(rt_spec_freep)

#endif
