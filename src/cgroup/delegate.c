/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Delegation of a VE's cgroup namespace root to the root of its own user
 * namespace, as systemd's Delegate=yes and the kernel's cgroup-v2.rst
 * ("Delegation Containment") describe it: the directory (to make child
 * cgroups) and the files that move processes and hand controllers on
 * (cgroup.procs, cgroup.threads, cgroup.subtree_control) belong to the
 * delegatee.  Everything else, the limits above all, stays the host
 * root's: the VE sees them and can't raise them.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "vert/cgroup.h"
#include "vert/util.h"

int cg_delegate(int dirfd, uid_t uid, gid_t gid, vert_error_t *err)
{
	static const char *const files[] = { "cgroup.procs", "cgroup.threads",
					     "cgroup.subtree_control" };

	if (fchown(dirfd, uid, gid) < 0)
		return vert_error_sys(err, "delegate the VE's cgroup to its root (uid %u)",
				      (unsigned)uid);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		/* cgroup v1 hierarchies have no cgroup.threads or
		 * subtree_control: nothing to hand over there */
		if (fchownat(dirfd, files[i], uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
			return vert_error_sys(err, "delegate '%s' of the VE's cgroup", files[i]);
	return 0;
}
