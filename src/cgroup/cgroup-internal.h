/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to src/cgroup. */
#ifndef VERT_CGROUP_INTERNAL_H
#define VERT_CGROUP_INTERNAL_H

#include "vert/cgroup.h"

#define CG_MOUNT "/sys/fs/cgroup"
#define CG_SUBTREE "vert"    /* the cgroup that holds the VE cgroups */
#define CG_PAYLOAD "payload" /* the VE's own part, its cgroup namespace root */

#define CG_FIX_V2 "boot the host with systemd.unified_cgroup_hierarchy=1 (cgroup v2)"

/* Small cgroupfs files: a whole read, NUL-terminated. */
int cg_read_at(int dfd, const char *file, char **ret);
/* The controllers listed in dfd/file (cgroup.controllers or
 * cgroup.subtree_control), restricted to the ones vert knows; 0 if it
 * can't be read. */
unsigned cg_read_controllers_at(int dfd, const char *file);
/* Enable the wanted controllers that dfd's cgroup.controllers offers in
 * its cgroup.subtree_control, one by one (one that can't be enabled must
 * not block the others).  Only for cgroups vert may change. */
void cg_enable_controllers_at(int dfd, unsigned want);
/* Fail when the limits in res need a controller missing from have. */
int cg_check_controllers(const struct rt_resources *res, unsigned have, const char *where,
			 bool delegated, vert_error_t *err);
/* The refusal when limits were asked for and pl has no cgroup to offer. */
int cg_refuse_none(const struct cg_place *pl, vert_error_t *err);
/* Write the limits in res into the cgroup dfd. */
int cg_write_resources(int dfd, const struct rt_resources *res, vert_error_t *err);

#endif
