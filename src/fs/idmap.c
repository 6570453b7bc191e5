/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Idmapped mounts: one template on disk, owned by the host's root, seen by
 * every VE as owned by its own root.
 *
 * The parent (host root) clones the template and the VE's upper-layer
 * directory into detached mounts (open_tree(OPEN_TREE_CLONE)) and marks
 * them with the VE's user namespace (mount_setattr(MOUNT_ATTR_IDMAP)).
 * Only a process privileged over the filesystem's own user namespace may
 * do that, so it can't be done in the VE.  The child gets the fds over its
 * sync socket, attaches them in its private mount namespace and mounts
 * the overlay over them from inside its user namespace (the mounter's
 * ids must be mapped in the layers, or overlayfs makes it read-only).
 * Files keep their ids on disk: the template's uid 0 is root inside,
 * and what the VE's root writes lands on disk as uid 0 of the upper dir,
 * which only the host's root can reach (the VE dir is 0700).
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "vert/fs.h"
#include "vert/util.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif

static const char *fs_type_name(long t)
{
	switch ((unsigned long)t) {
	case TMPFS_MAGIC:
		return "tmpfs";
	case OVERLAYFS_SUPER_MAGIC:
		return "overlayfs";
	case NFS_SUPER_MAGIC:
		return "nfs";
	case 0x65735546: /* FUSE_SUPER_MAGIC */
		return "fuse";
	case 0x01021997: /* V9FS_MAGIC */
		return "9p";
	case EXT4_SUPER_MAGIC:
		return "ext4";
	case XFS_SUPER_MAGIC:
		return "xfs";
	case BTRFS_SUPER_MAGIC:
		return "btrfs";
	case 0x2fc12fc1: /* ZFS */
		return "zfs";
	}
	return NULL;
}

int fs_idmap_clone(const char *path, int userns_fd, const char *what, int *ret_fd,
		   vert_error_t *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
	_cleanup_close_ int fd = -EBADF;
	struct statfs sf = { 0 };

	fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOSYS)
			return vert_error_set(
				err, errno, VERT_ERR_RUNTIME,
				"a VE of its own user namespace needs idmapped mounts (Linux "
				"5.12 or later, overlayfs over them 5.19): this kernel has none; "
				"upgrade it, or start the VE with --userns host (unsafe: its root "
				"is the host's root)");
		return vert_error_sys(err, "open %s '%s'", what, path);
	}
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0) {
		*ret_fd = TAKE_FD(fd);
		return 0;
	}
	{
		int e = errno;
		const char *t = statfs(path, &sf) == 0 ? fs_type_name(sf.f_type) : NULL;
		char hex[32];
		if (!t) {
			snprintf(hex, sizeof(hex), "type 0x%lx", (unsigned long)sf.f_type);
			t = hex;
		}
		return vert_error_set(
			err, e, VERT_ERR_RUNTIME,
			"%s '%s' is on a filesystem (%s) that can't be idmapped on this kernel "
			"(%s): a VE of its own user namespace needs its state root on ext4, xfs "
			"or btrfs (tmpfs: Linux 6.3 or later); use another --root, or start the "
			"VE with --userns host (unsafe: its root is the host's root)",
			what, path, t, strerror(e));
	}
}

int fs_tree_clone(const char *path, bool recursive)
{
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path,
			      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
	return fd < 0 ? -errno : fd;
}
