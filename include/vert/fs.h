/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Filesystem helpers: safe path resolution inside a VE root, recursive
 * removal, and the rootfs setup run by the container child.
 */
#ifndef VERT_FS_H
#define VERT_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vert/error.h"

struct rt_spec;

/* Open `path` (absolute or relative) inside the directory `rootfd`, as if
 * rootfd were "/": ".." and absolute symlinks cannot escape it.
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), with a userspace
 * walker as the fallback for kernels before 5.6. */
int fs_open_in_root(int rootfd, const char *path, int flags, mode_t mode);
/* The userspace fallback, exposed for unit tests. */
int fs_open_in_root_walk(int rootfd, const char *path, int flags, mode_t mode);
/* Force the fallback (tests). */
void fs_resolve_force_fallback(bool on);

/* mkdir -p inside rootfd; returns an O_PATH|O_DIRECTORY fd of the leaf. */
int fs_mkdir_in_root(int rootfd, const char *path, mode_t mode);
/* Make sure `path` exists inside rootfd as a file (creating parents and an
 * empty file if needed) or as a directory; returns an O_PATH fd to it. */
int fs_mkfile_in_root(int rootfd, const char *path, mode_t mode);

/* rm -rf of dirfd/name (does not follow symlinks, stays on one fs). */
int fs_rm_rf_at(int dirfd, const char *name);
int fs_rm_rf(const char *path);

/* Escape ',', ':' and '\' for overlayfs mount options. */
char *fs_overlay_escape(const char *path);

/* Path component sanity: no '/', not "", ".", "..". */
bool fs_valid_component(const char *s);

/* Copy a file (regular, mode preserved). */
int fs_copy_file(const char *src, int dstdirfd, const char *dstname, mode_t mode);

/* Child side: build the VE's root filesystem and pivot into it. Runs in
 * the new mount namespace.  `rootless`: no mknod, bind host devices. */
struct fs_setup_opts {
	bool rootless;
	bool terminal;
	/* detached idmapped mounts of the overlay's lower dir and of the
	 * directory holding its upper and work dirs (fs_idmap_clone), or
	 * -EBADF: the overlay is mounted over the paths themselves */
	int idmap_lower_fd, idmap_upper_fd;
	/* per spec mount, NULL or -EBADF: the bind source, a detached clone
	 * the parent made (the VE's root may not reach the host path) */
	const int *bind_fds;
};
/* A detached clone of the mount at path, idmapped through the user
 * namespace userns_fd; what names it in errors ("template"). */
/* A detached clone of the mount tree at path (a bind source), or -errno. */
int fs_tree_clone(const char *path, bool recursive);
int fs_idmap_clone(const char *path, int userns_fd, const char *what, int *ret_fd,
		   vert_error_t *err);
/* Idmapped overlay layers staged for a mount from inside the VE's user
 * namespace: a private tmpfs on the cwd (at names it in errors) holds the
 * detached layer mounts as "lower" and "layer" and an empty "root"; the
 * cwd is the tmpfs after.  The overlay's options for a mount on "root"
 * come from fs_idmap_overlay_data. */
int fs_idmap_stage(int lower_fd, int layer_fd, const char *at, int *ret_stagefd, vert_error_t *err);
char *fs_idmap_overlay_data(const char *upper, const char *work);
/* The overlay a VE of its own user namespace gets at start, made the same
 * way by a helper in a new user namespace mapping 0 to host id base
 * (count ids), so its superblock is that namespace's: a detached mount
 * (ret_fd) for the caller to attach (a restore, src/ve/restore.c).
 * layer_dir holds the upper and work dirs; stage_at is a directory the
 * helper stages the layers on, in its own mount namespace. */
int fs_idmap_overlay_detached(const char *lower, const char *layer_dir, const char *upper,
			      const char *work, uint32_t base, uint32_t count, const char *stage_at,
			      int *ret_fd, vert_error_t *err);
int fs_setup_rootfs(const struct rt_spec *spec, const struct fs_setup_opts *o, vert_error_t *err);
/* After pivot_root: masked/readonly paths and final remounts. */
int fs_finish_rootfs(const struct rt_spec *spec, vert_error_t *err);

#endif
