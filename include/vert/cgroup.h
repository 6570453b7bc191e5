/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup v2: where VEs live in the hierarchy, their limits, their removal.
 */
#ifndef VERT_CGROUP_H
#define VERT_CGROUP_H

#include <stdbool.h>

#include "vert/error.h"
#include "vert/spec.h"

enum cg_layout {
	CG_LAYOUT_UNIFIED, /* cgroup2 on /sys/fs/cgroup */
	CG_LAYOUT_HYBRID,  /* v1 controllers + cgroup2 on /sys/fs/cgroup/unified */
	CG_LAYOUT_LEGACY,  /* v1 only */
	CG_LAYOUT_NONE,    /* nothing mounted */
};

enum cg_layout cg_detect_layout(void);
const char *cg_layout_name(enum cg_layout l);

struct cg_handle {
	char *path;  /* absolute cgroupfs path, NULL when running without one */
	int dirfd;   /* O_DIRECTORY fd for CLONE_INTO_CGROUP, -1 without */
	char *why_none; /* when path is NULL: the reason, for a one-time warning */
};

#define CG_HANDLE_INIT { NULL, -1, NULL }

/* Create the VE's cgroup ("<base>/<name>") and apply res.  Without
 * usable cgroup v2 and without limits requested, succeeds with no cgroup
 * (h->path NULL, h->why_none set); with limits requested, fails with a
 * message naming the fix. */
int cg_prepare(const char *name, const struct rt_resources *res, bool rootless,
	       struct cg_handle *h, vert_error_t *err);
/* Write limits into an existing cgroup (live `vert set`). */
int cg_apply_resources(const char *path, const struct rt_resources *res, vert_error_t *err);
/* Live counters of a cgroup; -1 where unknown. */
struct cg_stats {
	int64_t memory_current, memory_max; /* bytes; max -1 = unlimited */
	int64_t memory_high;
	int64_t swap_current;
	int64_t pids_current, pids_max;
	int64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
	int64_t cpu_quota, cpu_period;      /* cpu.max; quota -1 = max */
	int64_t io_rbytes, io_wbytes;
	int64_t oom_kills, oom_events;      /* memory.events oom_kill, oom */
};
int cg_stats_read(const char *path, struct cg_stats *st);

/* Kill whatever is left in the cgroup and remove it. */
int cg_remove_path(const char *path, vert_error_t *err);
void cg_handle_done(struct cg_handle *h);

#endif
