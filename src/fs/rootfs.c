/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VE's root filesystem, built by the container child inside its new
 * mount namespace: overlay of the template and the VE's upper dir, the
 * spec's mounts (/proc, /dev, /sys, binds), device nodes, pivot_root, then
 * masked and read-only paths.
 *
 * Everything happens in the child's private mount namespace, so when the
 * VE dies the kernel tears all of it down: a crash of vert cannot leak a
 * mount into the host's table.
 */
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "vert/fs.h"
#include "vert/spec.h"
#include "vert/util.h"

#define PROC_FD_PATH_MAX 32

static char *proc_fd_path(int fd, char buf[static PROC_FD_PATH_MAX])
{
	snprintf(buf, PROC_FD_PATH_MAX, "/proc/self/fd/%d", fd);
	return buf;
}

/* Change mount attributes without touching the ones we don't name: in a
 * user namespace a plain MS_REMOUNT that drops a locked flag (nosuid, nodev
 * inherited from the host) fails with EPERM; mount_setattr has no such
 * trap.  Falls back to remount with the current flags preserved. */
static int mount_set_attr(int fd, const char *path, bool recursive, uint64_t set, uint64_t clr)
{
	struct mount_attr attr = { .attr_set = set, .attr_clr = clr };
	char p[PROC_FD_PATH_MAX];
	struct statvfs sv;
	unsigned long flags = MS_REMOUNT | MS_BIND;
	const char *target = fd >= 0 ? proc_fd_path(fd, p) : path;

	if (mount_setattr(fd >= 0 ? fd : AT_FDCWD, fd >= 0 ? "" : path,
			  (fd >= 0 ? AT_EMPTY_PATH : 0) | (recursive ? AT_RECURSIVE : 0), &attr,
			  sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	if (statvfs(target, &sv) < 0)
		return -errno;
	if (sv.f_flag & ST_NOSUID)
		flags |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		flags |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		flags |= MS_RDONLY;
	if (set & MOUNT_ATTR_RDONLY)
		flags |= MS_RDONLY;
	if (set & MOUNT_ATTR_NOSUID)
		flags |= MS_NOSUID;
	if (set & MOUNT_ATTR_NODEV)
		flags |= MS_NODEV;
	if (set & MOUNT_ATTR_NOEXEC)
		flags |= MS_NOEXEC;
	if (clr & MOUNT_ATTR_RDONLY)
		flags &= ~(unsigned long)MS_RDONLY;
	return mount(NULL, target, NULL, flags, NULL) < 0 ? -errno : 0;
}

static uint64_t ms_to_attr(unsigned long ms)
{
	uint64_t a = 0;
	if (ms & MS_RDONLY)
		a |= MOUNT_ATTR_RDONLY;
	if (ms & MS_NOSUID)
		a |= MOUNT_ATTR_NOSUID;
	if (ms & MS_NODEV)
		a |= MOUNT_ATTR_NODEV;
	if (ms & MS_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	return a;
}

static int overlay_error(const struct rt_spec *s, const char *at, vert_error_t *err)
{
	int e = errno;
	if (e == EBUSY)
		return vert_error_set(
			err, e, VERT_ERR_BUSY,
			"mount overlay on '%s': upper dir '%s' is in use by another mount", at,
			s->overlay_upper);
	return vert_error_set(err, e, VERT_ERR_RUNTIME,
			      "mount overlay (lower '%s', upper '%s') on '%s'", s->overlay_lower,
			      s->overlay_upper, at);
}

static int attach_at(int fd, int dirfd, const char *name, vert_error_t *err)
{
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return vert_error_sys(err, "create '%s' to stage the VE's layers", name);
	if (syscall(SYS_move_mount, fd, "", dirfd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return vert_error_sys(err, "attach the VE's idmapped layer at '%s'", name);
	return 0;
}

static const char *base_name(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

/*
 * The overlay over idmapped layers (src/fs/idmap.c): a private tmpfs on
 * the mountpoint holds the two detached mounts the parent made, and the
 * overlay goes on a directory of it, which becomes the VE's root.  The
 * staging tmpfs and the layers' own mounts go with the old root at
 * pivot_root; the overlay keeps what it needs.  userxattr: trusted.*
 * xattrs are the host root's, so the overlay keeps its whiteouts and
 * opaque dirs in user.overlay.* (Linux 5.11).
 */
int fs_idmap_stage(int lower_fd, int layer_fd, const char *at, int *ret_stagefd, vert_error_t *err)
{
	_cleanup_close_ int ctx = -EBADF, mfd = -EBADF;
	int r;

	/* The VE's root can't walk the host's path to the mountpoint (its
	 * ids aren't the host's): the parent made it our cwd.  A new tmpfs,
	 * made by fd, goes on ".", and everything after is relative to it. */
	if ((ctx = fsopen("tmpfs", FSOPEN_CLOEXEC)) < 0 ||
	    fsconfig(ctx, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 ||
	    fsconfig(ctx, FSCONFIG_SET_STRING, "size", "64k", 0) < 0 ||
	    fsconfig(ctx, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (mfd = fsmount(ctx, FSMOUNT_CLOEXEC,
			   MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)) < 0 ||
	    move_mount(mfd, "", AT_FDCWD, ".", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return vert_error_sys(err, "stage the VE's layers on '%s'", at);
	if ((r = attach_at(lower_fd, mfd, "lower", err)) < 0 ||
	    (r = attach_at(layer_fd, mfd, "layer", err)) < 0)
		return r;
	if (mkdirat(mfd, "root", 0755) < 0)
		return vert_error_sys(err, "create the VE's root mountpoint");
	/* Paths relative to the staging tmpfs, made the cwd: an absolute
	 * one (even /proc/self/fd/N) is walked from "/", which the VE's root
	 * may not search (a root dir of mode 0700). */
	if (fchdir(mfd) < 0)
		return vert_error_sys(err, "enter the VE's staged layers");
	*ret_stagefd = TAKE_FD(mfd);
	return 0;
}

char *fs_idmap_overlay_data(const char *upper, const char *work)
{
	return xasprintf("lowerdir=lower,upperdir=layer/%s,workdir=layer/%s,userxattr",
			 base_name(upper), base_name(work));
}

/*
 * The overlay of a VE thrown away when it stops (--rm) is mounted
 * "volatile": its unmount, when the VE's last process exits, then skips
 * the sync of the whole filesystem under the upper dir (the host's, where
 * the data dir is), which otherwise waits for every dirty page and a
 * journal commit of that filesystem, other work's too (0.6 ms on a quiet
 * host here, tens of ms on a busy disk).  fsync in the VE skips it too:
 * the data goes with the VE anyway.  A kernel before 5.10 has no such
 * option (EINVAL): mounted as any other.
 */
static int mount_overlay(const struct rt_spec *s, const char *target, const char *data)
{
	if (s->overlay_volatile) {
		_cleanup_free_ char *v = xasprintf("%s,volatile", data);
		if (mount("overlay", target, "overlay", MS_NODEV, v) == 0)
			return 0;
		if (errno != EINVAL)
			return -1;
	}
	return mount("overlay", target, "overlay", MS_NODEV, data);
}

static int mount_rootfs_idmapped(const struct rt_spec *s, const struct fs_setup_opts *o,
				 int *ret_rootfd, vert_error_t *err)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_close_ int mfd = -EBADF;
	int r;

	if ((r = fs_idmap_stage(o->idmap_lower_fd, o->idmap_upper_fd, s->root_path, &mfd, err)) < 0)
		return r;
	data = fs_idmap_overlay_data(s->overlay_upper, s->overlay_work);
	if (mount_overlay(s, "root", data) < 0)
		return overlay_error(s, s->root_path, err);
	/* "root" now leads into the overlay */
	if ((*ret_rootfd = openat(mfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return vert_error_sys(err, "open the VE's root");
	return 0;
}

static int open_root(const char *path, int *ret_rootfd, vert_error_t *err)
{
	if ((*ret_rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return vert_error_sys(err, "open rootfs '%s'", path);
	return 0;
}

static int mount_rootfs(const struct rt_spec *s, const struct fs_setup_opts *o, int *ret_rootfd,
			vert_error_t *err)
{
	_cleanup_free_ char *lower = NULL, *upper = NULL, *work = NULL, *data = NULL;
	bool rootless = o->rootless;

	if (!s->overlay_lower) {
		/* a plain directory: bind it onto itself so it is a mount point
		 * pivot_root accepts */
		if (mount(s->root_path, s->root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
			return vert_error_sys(err, "bind-mount rootfs '%s'", s->root_path);
		return open_root(s->root_path, ret_rootfd, err);
	}
	if (o->idmap_lower_fd >= 0 && o->idmap_upper_fd >= 0)
		return mount_rootfs_idmapped(s, o, ret_rootfd, err);
	lower = fs_overlay_escape(s->overlay_lower);
	upper = fs_overlay_escape(s->overlay_upper);
	work = fs_overlay_escape(s->overlay_work);
	data = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s%s", lower, upper, work,
			 rootless ? ",userxattr" : "");
	/* nodev: a device node in a template or an upper dir is no way to a
	 * host device (the VE's own /dev is a tmpfs of its own) */
	if (mount_overlay(s, s->root_path, data) < 0)
		return overlay_error(s, s->root_path, err);
	return open_root(s->root_path, ret_rootfd, err);
}

static int bind_mount_fd(int srcfd, int dstfd, bool recursive)
{
	char sp[PROC_FD_PATH_MAX], dp[PROC_FD_PATH_MAX];
	if (mount(proc_fd_path(srcfd, sp), proc_fd_path(dstfd, dp), NULL,
		  MS_BIND | (recursive ? MS_REC : 0), NULL) < 0)
		return -errno;
	return 0;
}

static int do_bind(int rootfd, const struct rt_mount *m, int tree_fd, vert_error_t *err)
{
	_cleanup_close_ int src = -EBADF, dst = -EBADF;
	struct stat st;
	uint64_t set;
	int r;

	/* the source is a host path chosen by the admin: resolved normally,
	 * or opened by the parent already */
	src = tree_fd >= 0 ? fcntl(tree_fd, F_DUPFD_CLOEXEC, 3)
			   : open(m->source, O_PATH | O_CLOEXEC);
	if (src < 0)
		return vert_error_set(err, errno, VERT_ERR_INVALID, "bind source '%s'", m->source);
	if (fstat(src, &st) < 0)
		return vert_error_sys(err, "stat '%s'", m->source);
	if (S_ISDIR(st.st_mode))
		dst = fs_mkdir_in_root(rootfd, m->destination, 0755);
	else
		dst = fs_mkfile_in_root(rootfd, m->destination, 0644);
	if (dst < 0)
		return vert_error_set(err, -dst, VERT_ERR_RUNTIME,
				      "create bind target '%s' inside the VE", m->destination);
	if (tree_fd >= 0)
		r = move_mount(src, "", dst, "",
			       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0
			    ? -errno
			    : 0;
	else
		r = bind_mount_fd(src, dst, m->recursive);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "bind-mount '%s' on '%s'",
				      m->source, m->destination);
	set = ms_to_attr(m->flags);
	if (set) {
		/* re-open the target: it now refers to the new mount */
		_cleanup_close_ int nd = fs_open_in_root(rootfd, m->destination, O_PATH, 0);
		if (nd < 0)
			return vert_error_set(err, -nd, VERT_ERR_RUNTIME, "reopen '%s'",
					      m->destination);
		r = mount_set_attr(nd, NULL, m->recursive, set, 0);
		if (r < 0)
			return vert_error_set(err, -r, VERT_ERR_RUNTIME, "set mount flags on '%s'",
					      m->destination);
	}
	if (m->propagation) {
		char p[PROC_FD_PATH_MAX];
		_cleanup_close_ int nd = fs_open_in_root(rootfd, m->destination, O_PATH, 0);
		if (nd >= 0 && mount(NULL, proc_fd_path(nd, p), NULL, m->propagation, NULL) < 0)
			return vert_error_sys(err, "set propagation of '%s'", m->destination);
	}
	return 0;
}

/* Mounts of a kernel filesystem (proc, tmpfs, devpts, sysfs, mqueue, ...). */
static int do_fs_mount(int rootfd, const struct rt_mount *m, bool rootless, vert_error_t *err)
{
	_cleanup_close_ int dst = -EBADF;
	char dp[PROC_FD_PATH_MAX];
	const char *type = m->type ? m->type : "none";
	unsigned long flags = m->flags & ~(unsigned long)MS_REMOUNT;

	dst = fs_mkdir_in_root(rootfd, m->destination, 0755);
	if (dst < 0)
		return vert_error_set(err, -dst, VERT_ERR_RUNTIME,
				      "create mount point '%s' inside the VE", m->destination);
	proc_fd_path(dst, dp);
	if (mount(m->source ? m->source : type, dp, type, flags, m->data) == 0)
		goto propagation;

	if (rootless && (errno == EPERM || errno == EINVAL)) {
		int e = errno;
		/* sysfs cannot be mounted without owning the netns, and devpts
		 * rejects gid= when that gid is not mapped: degrade the way
		 * rootless runtimes do, rather than fail the VE. */
		if (strcmp(type, "sysfs") == 0) {
			if (mount("/sys", dp, NULL, MS_BIND | MS_REC, NULL) == 0) {
				/* dst still names the directory under the new
				 * mount: mount_setattr needs the mount itself */
				_cleanup_close_ int nd =
					fs_open_in_root(rootfd, m->destination, O_PATH, 0);
				int r2 = nd < 0 ? nd
						: mount_set_attr(nd, NULL, true, MOUNT_ATTR_RDONLY,
								 0);
				if (r2 < 0)
					return vert_error_set(err, -r2, VERT_ERR_RUNTIME,
							      "make /sys read-only");
				return 0;
			}
		} else if (strcmp(type, "devpts") == 0 && m->data && strstr(m->data, "gid=")) {
			if (mount("devpts", dp, "devpts", flags,
				  "newinstance,ptmxmode=0666,mode=0620") == 0)
				goto propagation;
		} else if (strcmp(type, "mqueue") == 0) {
			if (mount("/dev/mqueue", dp, NULL, MS_BIND | MS_REC, NULL) == 0)
				goto propagation;
		}
		errno = e;
	}
	return vert_error_sys(err, "mount %s on '%s'", type, m->destination);

propagation:
	if (m->propagation && mount(NULL, dp, NULL, m->propagation, NULL) < 0)
		return vert_error_sys(err, "set propagation of '%s'", m->destination);
	return 0;
}

static const struct {
	const char *path;
	uint32_t major, minor;
} default_devices[] = {
	{ "/dev/null", 1, 3 },	 { "/dev/zero", 1, 5 },	   { "/dev/full", 1, 7 },
	{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

static int make_device(int rootfd, const char *path, char type, uint32_t maj, uint32_t min,
		       mode_t mode, uid_t uid, gid_t gid, bool rootless, vert_error_t *err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	char *base = strrchr(dir, '/');

	*base++ = '\0';
	dfd = fs_mkdir_in_root(rootfd, *dir ? dir : "/", 0755);
	if (dfd < 0)
		return vert_error_set(err, -dfd, VERT_ERR_RUNTIME, "create '%s'", dir);
	if (!rootless) {
		if (mknodat(dfd, base, (type == 'b' ? S_IFBLK : S_IFCHR) | mode,
			    makedev(maj, min)) < 0 &&
		    errno != EEXIST)
			return vert_error_sys(err, "mknod '%s'", path);
		if (fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
			return vert_error_sys(err, "chown '%s'", path);
		return 0;
	}
	/* No mknod in a user namespace: bind the host's node instead. */
	{
		_cleanup_free_ char *host = xasprintf("/dev/char/%u:%u", maj, min);
		_cleanup_close_ int src = open(type == 'c' ? host : path, O_PATH | O_CLOEXEC);
		if (src < 0)
			src = open(path, O_PATH | O_CLOEXEC);
		if (src < 0)
			return vert_error_sys(err, "open host device for '%s'", path);
		fd = fs_mkfile_in_root(rootfd, path, 0644);
		if (fd < 0)
			return vert_error_set(err, -fd, VERT_ERR_RUNTIME, "create '%s'", path);
		if (bind_mount_fd(src, fd, false) < 0)
			return vert_error_sys(err, "bind host device onto '%s'", path);
	}
	return 0;
}

static int setup_devices(int rootfd, const struct rt_spec *s, bool rootless, vert_error_t *err)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" },	      { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
		{ "pts/ptmx", "/dev/ptmx" },
	};
	_cleanup_close_ int devfd = -EBADF;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
		r = make_device(rootfd, default_devices[i].path, 'c', default_devices[i].major,
				default_devices[i].minor, 0666, 0, 0, rootless, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < s->n_devices; i++) {
		const struct rt_device *d = &s->devices[i];
		r = make_device(rootfd, d->path, d->type, d->major, d->minor, d->mode, d->uid,
				d->gid, rootless, err);
		if (r < 0)
			return r;
	}
	devfd = fs_mkdir_in_root(rootfd, "/dev", 0755);
	if (devfd < 0)
		return vert_error_set(err, -devfd, VERT_ERR_RUNTIME, "open /dev in the VE");
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		const char *name = links[i][1] + 5;
		/* /dev/ptmx: devpts' own ptmx, so ptys are the VE's */
		if (strcmp(name, "ptmx") == 0)
			unlinkat(devfd, name, 0);
		if (symlinkat(links[i][0], devfd, name) < 0 && errno != EEXIST)
			return vert_error_sys(err, "symlink '%s'", links[i][1]);
	}
	return 0;
}

static int do_pivot_root(int rootfd, vert_error_t *err)
{
	if (fchdir(rootfd) < 0)
		return vert_error_sys(err, "chdir to rootfs");
	/* pivot_root(".", "."): stack the old root under the new one, then
	 * detach it; no temporary directory inside the rootfs is needed. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return vert_error_sys(err, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return vert_error_sys(err, "detach old root");
	if (chdir("/") < 0)
		return vert_error_sys(err, "chdir /");
	return 0;
}

int fs_setup_rootfs(const struct rt_spec *s, const struct fs_setup_opts *o, vert_error_t *err)
{
	_cleanup_close_ int rootfd = -EBADF;
	unsigned long prop = s->rootfs_propagation ? s->rootfs_propagation : MS_PRIVATE | MS_REC;
	bool have_dev_mount = false;
	int r;

	/* Nothing we mount may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return vert_error_sys(err, "make mounts private");

	r = mount_rootfs(s, o, &rootfd, err);
	if (r < 0)
		return r;
	/* No device node on the root filesystem opens a device: not one a
	 * template made before imports dropped them, nor one the VE makes
	 * with CAP_MKNOD.  The VE's devices live on its /dev, a mount of
	 * its own; this flag is on the rootfs mount only. */
	if ((r = mount_set_attr(rootfd, NULL, false, MOUNT_ATTR_NODEV, 0)) < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "make rootfs '%s' nodev",
				      s->root_path);

	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct rt_mount *m = &s->mounts[i];
		if (m->bind)
			r = do_bind(rootfd, m, o->bind_fds ? o->bind_fds[i] : -EBADF, err);
		else
			r = do_fs_mount(rootfd, m, o->rootless, err);
		if (r < 0)
			return r;
		if (strcmp(m->destination, "/dev") == 0)
			have_dev_mount = true;
	}
	if (have_dev_mount) {
		r = setup_devices(rootfd, s, o->rootless, err);
		if (r < 0)
			return r;
	}

	r = do_pivot_root(rootfd, err);
	if (r < 0)
		return r;
	if (prop != (MS_PRIVATE | MS_REC) && mount(NULL, "/", NULL, prop, NULL) < 0)
		return vert_error_sys(err, "set rootfs propagation");
	return 0;
}

/* first_dir: a directory already masked; later ones get a bind of it
 * (a bind is cheaper than a new tmpfs superblock for each) */
static int mask_path(const char *path, const char **first_dir, vert_error_t *err)
{
	_cleanup_close_ int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	char p[PROC_FD_PATH_MAX];
	struct stat st;

	if (fd < 0)
		return (errno == ENOENT || errno == ENOTDIR)
			       ? 0
			       : vert_error_sys(err, "mask '%s'", path);
	if (fstat(fd, &st) < 0)
		return vert_error_sys(err, "stat '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		if (*first_dir) {
			if (mount(*first_dir, proc_fd_path(fd, p), NULL, MS_BIND, NULL) < 0)
				return vert_error_sys(err, "mask directory '%s'", path);
			return 0;
		}
		if (mount("tmpfs", proc_fd_path(fd, p), "tmpfs",
			  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555") < 0)
			return vert_error_sys(err, "mask directory '%s'", path);
		*first_dir = path;
	} else if (mount("/dev/null", proc_fd_path(fd, p), NULL, MS_BIND, NULL) < 0) {
		return vert_error_sys(err, "mask file '%s'", path);
	}
	return 0;
}

static int readonly_path(const char *path, vert_error_t *err)
{
	_cleanup_close_ int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int nfd = -EBADF;
	char p[PROC_FD_PATH_MAX];
	int r;

	if (fd < 0)
		return (errno == ENOENT || errno == ENOTDIR)
			       ? 0
			       : vert_error_sys(err, "read-only path '%s'", path);
	if (mount(proc_fd_path(fd, p), p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vert_error_sys(err, "bind read-only path '%s'", path);
	nfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0)
		return vert_error_sys(err, "reopen '%s'", path);
	r = mount_set_attr(
		nfd, NULL, true,
		MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "make '%s' read-only", path);
	return 0;
}

static int apply_sysctls(const struct rt_spec *s, vert_error_t *err)
{
	for (size_t i = 0; i < s->n_sysctls; i++) {
		_cleanup_free_ char *path = xasprintf("/proc/sys/%s", s->sysctls[i].key);
		int r;
		for (char *c = path + 10; *c; c++)
			if (*c == '.')
				*c = '/';
		r = write_file_str(path, s->sysctls[i].value);
		if (r < 0)
			return vert_error_set(err, -r, VERT_ERR_RUNTIME, "set sysctl '%s'",
					      s->sysctls[i].key);
	}
	return 0;
}

int fs_finish_rootfs(const struct rt_spec *s, vert_error_t *err)
{
	const char *first_dir = NULL;
	int r;

	r = apply_sysctls(s, err);
	if (r < 0)
		return r;
	for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++)
		if ((r = readonly_path(s->readonly_paths[i], err)) < 0)
			return r;
	for (size_t i = 0; s->masked_paths && s->masked_paths[i]; i++)
		if ((r = mask_path(s->masked_paths[i], &first_dir, err)) < 0)
			return r;
	if (s->root_readonly) {
		r = mount_set_attr(-EBADF, "/", false, MOUNT_ATTR_RDONLY, 0);
		if (r < 0)
			return vert_error_set(err, -r, VERT_ERR_RUNTIME, "make / read-only");
	}
	return 0;
}
