/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup v2: where VEs live in the hierarchy, their limits, their
 * counters, their removal.
 *
 * A VE with a cgroup gets <base>/NAME: its limits and counters, and the
 * root of its cgroup namespace, where its init and every exec start; the
 * VE may create children and enable controllers below it.  A root VE
 * without a user namespace, with CAP_SYS_ADMIN, on a cgroup2 without
 * nsdelegate gets its
 * namespace root one level down, <base>/NAME/payload, out of reach of its
 * limits (see src/cgroup/create.c).
 *
 * <base> is /sys/fs/cgroup/vert as root, and <delegated>/vert rootless.
 */
#ifndef VERT_CGROUP_H
#define VERT_CGROUP_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vert/error.h"
#include "vert/spec.h"

enum cg_layout {
	CG_LAYOUT_UNIFIED, /* cgroup2 on /sys/fs/cgroup */
	CG_LAYOUT_HYBRID,  /* v1 controllers + cgroup2 on /sys/fs/cgroup/unified */
	CG_LAYOUT_LEGACY,  /* v1 only */
	CG_LAYOUT_NONE,	   /* nothing mounted */
};

enum cg_layout cg_detect_layout(void);
const char *cg_layout_name(enum cg_layout l);

/* The controllers vert uses, as bits.  A VE's cgroup gets all of them
 * that its parent has, so a systemd inside can manage its own services. */
enum {
	CG_CTRL_CPU = 1u << 0,
	CG_CTRL_CPUSET = 1u << 1,
	CG_CTRL_IO = 1u << 2,
	CG_CTRL_MEMORY = 1u << 3,
	CG_CTRL_PIDS = 1u << 4,
	CG_CTRL_ALL = (1u << 5) - 1,
};

/* "cpu io memory\n" -> bits (unknown names are ignored). */
unsigned cg_controllers_parse(const char *list);
/* bits -> "cpu io memory" ("none" for 0); free() the result. */
char *cg_controllers_format(unsigned mask);
/* The controllers the limits in res need. */
unsigned cg_resources_need(const struct rt_resources *res);
/* The flags (for messages) that need one controller bit: "--memory". */
const char *cg_controller_flags(unsigned bit);

/* The cgroup v2 path in the content of /proc/PID/cgroup ("0::/a/b"):
 * 0 and *ret = "/a/b", or -ENOENT when there is no v2 line. */
int cg_parse_proc_cgroup(const char *content, char **ret);

/* Where this process can put VE cgroups. */
struct cg_place {
	char *parent;	      /* absolute cgroupfs dir that holds <base> */
	char *base;	      /* parent + "/vert" */
	unsigned controllers; /* controllers VE cgroups can get */
	bool delegated;	      /* rootless: parent is a delegated subtree */
	char *why_none;	      /* when no cgroup can be used: the reason */
	char *fix;	      /* ... and what would fix it */
	bool anchor;	      /* CG_ANCHOR_ON_HYBRID: cgroup2 without controllers */
};
#define CG_PLACE_INIT                                                                              \
	{                                                                                          \
		.parent = NULL, .base = NULL, .controllers = 0, .delegated = false,                \
		.why_none = NULL, .fix = NULL, .anchor = false                                     \
	}
void cg_place_find(bool rootless, unsigned flags, struct cg_place *pl);
void cg_place_done(struct cg_place *pl);

/* Fail (VERT_ERR_INVALID, naming the cause and the fix) when the limits
 * in res can't be honoured here; succeed when there are none, or when
 * they can.  For `create` and `set`, so they refuse before a start would. */
int cg_check(const struct rt_resources *res, bool rootless, vert_error_t *err);

/* A device access rule: type 'c' or 'b', major/minor (-1: any), and
 * accesses from "rwm". */
struct cg_dev_rule {
	char type;
	int major, minor;
	const char *access;
};
const struct cg_dev_rule *cg_dev_default_rules(size_t *n);
struct bpf_insn;
/* The BPF program for rules; returns its length (may exceed max: then
 * only max instructions were written). */
size_t cg_dev_program(const struct cg_dev_rule *rules, size_t n, struct bpf_insn *out, size_t max);
int cg_devices_attach(int cgroup_fd, const struct cg_dev_rule *rules, size_t n, vert_error_t *err);

struct cg_handle {
	char *path;	       /* <base>/NAME, NULL when running without a cgroup */
	int dirfd;	       /* the namespace root for CLONE_INTO_CGROUP, -EBADF without */
	char *why_none;	       /* when path is NULL: the reason, for a one-time warning */
	bool devices_filtered; /* a device filter is attached (root, cgroup v2) */
	bool nsdelegate;       /* cgroup2 is mounted with nsdelegate */
	bool nested;	       /* dirfd is NAME/payload (cg_delegate) */
	bool anchor;	       /* the hybrid host's cgroup2: no controllers, no limits */
};

#define CG_HANDLE_INIT                                                                             \
	{                                                                                          \
		.path = NULL, .dirfd = -EBADF, .why_none = NULL                                    \
	}

/* Create the VE's cgroup <base>/cgname with res applied (cg_delegate
 * then hands it over).
 * Without usable cgroup v2 and without limits requested, succeeds with no
 * cgroup (h->path NULL, h->why_none set); with limits requested, fails
 * with a message naming the fix.  On failure nothing is left behind. */
/* Flags of cg_prepare. */
enum {
	/* On a hybrid host (cgroup2 without controllers beside the v1 ones),
	 * a root VE that could mount cgroupfs itself (CAP_SYS_ADMIN: a
	 * systemd VE) would see the host's hierarchies through a cgroup
	 * namespace rooted at the top, and systemd in it creates its
	 * slices there (seen in tests).  Such a VE gets a cgroup of vert's
	 * own in the cgroup2 hierarchy: no limits (no controllers), but its
	 * namespace, its processes and its device filter are confined there. */
	CG_ANCHOR_ON_HYBRID = 1 << 0,
};

int cg_prepare(const char *cgname, const struct rt_resources *res, bool rootless, unsigned flags,
	       struct cg_handle *h, vert_error_t *err);
void cg_handle_done(struct cg_handle *h);

/* The files of h's cgroup that hold limits and whole-VE controls
 * (memory.max, cpu.max, pids.max, io.max, cgroup.kill ...) that exist
 * there, by name; NULL for none (strv_free).  The VE gets them read-only
 * over its own view (ve_compile_spec): whatever nsdelegate or its user
 * namespace say, it can read them and never write them. */
char **cg_limit_files(const struct cg_handle *h);
/* Who the VE's root is on the host, for cg_delegate. */
struct cg_owner {
	bool userns;	  /* the VE has a user namespace of its own */
	bool chown;	  /* ... and vert may chown to its root (real root) */
	bool can_unmount; /* CAP_SYS_ADMIN: it can unmount its read-only limit files */
	uid_t uid;	  /* the host uid and gid of the VE's root */
	gid_t gid;
};
/* Hand the VE its cgroup once its owner is known: with a user namespace
 * (and o->chown), the directory and the delegatable files go to its root,
 * the limits stay host root's; without one, with CAP_SYS_ADMIN, on a
 * cgroup2 without nsdelegate, h->dirfd moves to a NAME/payload below the limits
 * (h->nested).  On failure the caller removes h->path. */
int cg_delegate(struct cg_handle *h, const struct cg_owner *o, vert_error_t *err);
/* cgroup2 is mounted with nsdelegate (writes from inside a cgroup
 * namespace to its root's limits are refused). */
bool cg_nsdelegate(void);
/* A cgroup of vert's own, <base>/cgname, without limits, for a helper
 * shared by VEs (lxcfs): out of the cgroup (session, service) of whoever
 * started it first, and removed with cg_remove_path.  Root only. */
int cg_helper_cgroup(const char *cgname, char **ret_path, vert_error_t *err);
/* Move the calling process into the helper cgroup path, in a cgroup
 * namespace of its own rooted at the top of the hierarchy (so that its
 * cgroup2 mounts can't reset nsdelegate; see create.c).  -errno. */
int cg_helper_enter(const char *path);

/* Write limits into a VE's existing cgroup (live `vert set`). */
int cg_apply_resources(const char *path, const struct rt_resources *res, vert_error_t *err);

/* An O_DIRECTORY fd of the cgroup an exec into the VE whose cgroup is
 * path and whose init is init_pid should start in: its namespace root,
 * or, once the VE's init has enabled controllers there (systemd does),
 * the init's own cgroup inside it. */
int cg_exec_target(const char *path, pid_t init_pid, int *ret_fd, vert_error_t *err);

/* Live counters of a cgroup; -1 where unknown (or unlimited, for *_max). */
struct cg_stats {
	int64_t memory_current, memory_max; /* bytes; max -1 = unlimited */
	int64_t memory_high, memory_peak;
	int64_t swap_current, swap_max;
	int64_t pids_current, pids_max;
	int64_t pids_limit_hits; /* pids.events max: forks refused */
	int64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
	int64_t cpu_nr_throttled, cpu_throttled_usec;
	int64_t cpu_quota, cpu_period; /* cpu.max; quota -1 = max */
	int64_t cpu_weight;
	int64_t io_rbytes, io_wbytes, io_rios, io_wios;
	int64_t oom_kills, oom_events; /* memory.events oom_kill, oom */
	int64_t memory_max_events;     /* memory.events max */
	int64_t cpus;		       /* CPUs the VE sees (its /proc/cpuinfo, cpu/online):
					* cpuset.cpus.effective, capped by cpu.max */
};
void cg_stats_init(struct cg_stats *st); /* every field -1 */
int cg_stats_read(const char *path, struct cg_stats *st);

/* Parsers of cgroupfs files, exposed for unit tests. */
/* "key value" lines (cpu.stat, memory.events): -ENOENT if key is absent */
int cg_parse_keyed(const char *buf, const char *key, int64_t *ret);
/* a number, or "max" (*ret = -1) */
int cg_parse_max(const char *buf, int64_t *ret);
/* cpu.max: "max 100000" or "50000 100000" */
int cg_parse_cpu_max(const char *buf, int64_t *ret_quota, int64_t *ret_period);
/* A CPU list ("0-3,6"): how many CPUs; -1 if unparseable. */
int64_t cg_parse_cpu_count(const char *list);
/* The CPUs a cgroup's VE sees, as lxcfs --enable-cfs shows them: the
 * quota's CPUs rounded up, at most the cpuset's (host's) CPUs. */
int64_t cg_visible_cpus(int64_t cpuset_count, int64_t quota, int64_t period);
/* io.stat: sums over devices */
void cg_parse_io_stat(const char *buf, int64_t *rbytes, int64_t *wbytes, int64_t *rios,
		      int64_t *wios);
/* CPU use between two usage_usec samples taken wall_ns apart, in percent
 * of one CPU (150.0: one and a half CPUs); -1 when unknown. */
double cg_cpu_percent(int64_t usage0_usec, int64_t usage1_usec, uint64_t wall_ns);

/* Kill every process in the cgroup and its descendants. */
int cg_kill(const char *path);
/* Kill whatever is left in a VE cgroup and remove it with its
 * descendants.  Refuses paths that are not VE cgroups (not directly under
 * a "vert" cgroup on a cgroup2 filesystem): vert removes only its own. */
int cg_remove_path(const char *path, vert_error_t *err);

#endif
