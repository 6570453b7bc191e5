/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to src/ve. */
#ifndef VERT_VE_INTERNAL_H
#define VERT_VE_INTERNAL_H

#include "vert/spec.h"
#include "vert/ve.h"
#include "vert/vnet.h"

static inline struct vnet_paths ve_vnet_paths(const struct ve_paths *p)
{
	return (struct vnet_paths){ p->data, p->run, p->rootless };
}

/* The id mapping a rootless VE gets: root -> the user, 1.. -> subuids. */
struct ve_idmap {
	struct rt_idmap uid[2], gid[2];
	size_t n;
	const char *single_reason; /* set when only one id could be mapped */
};

int ve_idmap_compute(const struct ve_paths *p, struct ve_idmap *m);
void ve_idmap_notice(const struct ve_paths *p, const struct ve_idmap *m);

/* Run fn(arg) as root of a user namespace with the VE mapping (rootless)
 * or directly (root). */
int ve_as_mapped_root(const struct ve_paths *p, int (*fn)(void *), void *arg, vert_error_t *err);
/* Run a host tool (tar, cp) the same way; err carries its stderr. */
int ve_run_tool(const struct ve_paths *p, char *const *argv, vert_error_t *err);
/* rm -rf, as mapped root when needed. */
int ve_remove_tree(const struct ve_paths *p, const char *path, vert_error_t *err);

#endif
