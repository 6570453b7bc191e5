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
#include <grp.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>

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

/* ---- the overlay of a VE's user namespace, detached (restore) ---- */

/* One message with up to two fds. */
static int msg_send(int sock, const void *buf, size_t len, const int *fds, size_t n_fds)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (n_fds) {
		struct cmsghdr *c;
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* Receives a message of up to len bytes: its length, or -EIO; fds[] gets
 * what came, -EBADF for the rest. */
static ssize_t msg_recv(int sock, void *buf, size_t len, int *fds, size_t n_fds)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	size_t got = 0;
	ssize_t n;

	for (size_t i = 0; i < n_fds; i++)
		fds[i] = -EBADF;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n > 0 && c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t off = 0; CMSG_LEN(off + sizeof(int)) <= c->cmsg_len;
		     off += sizeof(int)) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + off, sizeof(int));
			if (got < n_fds)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	return n > 0 ? n : -EIO;
}

/* In the helper: the new user namespace is mapped; be its root, stage
 * the layers and mount the overlay as a start does (src/fs/rootfs.c),
 * then clone it into a detached mount. */
static int overlay_helper(int sock, const char *upper, const char *work, const char *at,
			  int *ret_fd, vert_error_t *err)
{
	_cleanup_close_ int lower_fd = -EBADF, layer_fd = -EBADF, stage = -EBADF;
	_cleanup_free_ char *data = NULL;
	int fds[2], r;
	char c;

	if (msg_recv(sock, &c, 1, fds, 2) != 1 || fds[0] < 0 || fds[1] < 0) {
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return vert_error_set(err, EIO, VERT_ERR_RUNTIME, "receive the idmapped layers");
	}
	lower_fd = fds[0];
	layer_fd = fds[1];
	if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0)
		return vert_error_sys(err, "become root of the new user namespace");
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return vert_error_sys(err, "make a mount namespace of the new user namespace");
	if ((r = fs_idmap_stage(lower_fd, layer_fd, at, &stage, err)) < 0)
		return r;
	data = fs_idmap_overlay_data(upper, work);
	if (mount("overlay", "root", "overlay", MS_NODEV, data) < 0)
		return vert_error_sys(err,
				      "mount the overlay (upper '%s') from the VE's user "
				      "namespace",
				      upper);
	*ret_fd = (int)syscall(SYS_open_tree, stage, "root", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (*ret_fd < 0)
		return vert_error_sys(err, "clone the VE's overlay");
	return 0;
}

static int write_map(pid_t pid, const char *file, uint32_t base, uint32_t count)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
	_cleanup_free_ char *line = xasprintf("0 %u %u\n", base, count);
	return write_file_str(path, line);
}

int fs_idmap_overlay_detached(const char *lower, const char *layer_dir, const char *upper,
			      const char *work, uint32_t base, uint32_t count, const char *stage_at,
			      int *ret_fd, vert_error_t *err)
{
	_cleanup_free_ char *nspath = NULL;
	_cleanup_close_ int userns = -EBADF, lower_fd = -EBADF, layer_fd = -EBADF;
	struct vert_error_wire m = { 0 };
	int sp[2], fd = -EBADF, st, r = 0;
	ssize_t got;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return vert_error_sys(err, "socketpair");
	pid = fork();
	if (pid < 0) {
		r = vert_error_sys(err, "fork");
		close(sp[0]);
		close(sp[1]);
		return r;
	}
	if (pid == 0) {
		vert_error_t e = VERT_ERROR_INIT;
		int out = -EBADF;
		close(sp[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* the staging dir is reached as the cwd, before the ids change */
		if (chdir(stage_at) < 0 || unshare(CLONE_NEWUSER) < 0)
			vert_error_sys(&e, "make a user namespace for the VE's root");
		else if (msg_send(sp[1], "u", 1, NULL, 0) < 0)
			_exit(1);
		else if (overlay_helper(sp[1], upper, work, stage_at, &out, &e) < 0 && !e.kind)
			vert_error_set(&e, EIO, VERT_ERR_RUNTIME, "mount the VE's root");
		vert_error_pack(&e, &m);
		_exit(msg_send(sp[1], &m, sizeof(m), &out, out >= 0 ? 1 : 0) < 0 ? 1 : 0);
	}
	close(sp[1]);
	nspath = xasprintf("/proc/%d/ns/user", (int)pid);
	/* "u": its user namespace is made; or its error */
	if ((got = msg_recv(sp[0], &m, sizeof(m), NULL, 0)) != 1) {
		if (got == (ssize_t)sizeof(m) && m.kind)
			r = vert_error_unpack(err, &m, NULL);
		else
			r = vert_error_set(err, EIO, VERT_ERR_RUNTIME,
					   "the helper for the VE's root died");
		goto out;
	}
	if (write_map(pid, "uid_map", base, count) < 0 ||
	    write_map(pid, "gid_map", base, count) < 0) {
		r = vert_error_sys(err, "map the helper's user namespace to host ids %u-%u", base,
				   base + count - 1);
		goto out;
	}
	if ((userns = open(nspath, O_RDONLY | O_CLOEXEC)) < 0) {
		r = vert_error_sys(err, "open '%s'", nspath);
		goto out;
	}
	if ((r = fs_idmap_clone(lower, userns, "the template", &lower_fd, err)) < 0 ||
	    (r = fs_idmap_clone(layer_dir, userns, "the VE's upper layer", &layer_fd, err)) < 0)
		goto out;
	{
		int fds[2] = { lower_fd, layer_fd };
		if (msg_send(sp[0], "l", 1, fds, 2) < 0) {
			r = vert_error_set(err, EIO, VERT_ERR_RUNTIME,
					   "pass the idmapped layers to the helper");
			goto out;
		}
	}
	m = (struct vert_error_wire){ 0 };
	if (msg_recv(sp[0], &m, sizeof(m), &fd, 1) != (ssize_t)sizeof(m)) {
		r = vert_error_set(err, EIO, VERT_ERR_RUNTIME, "the helper for the VE's root died");
		goto out;
	}
	if (m.kind || fd < 0) {
		r = m.kind ? vert_error_unpack(err, &m, NULL)
			   : vert_error_set(err, EIO, VERT_ERR_RUNTIME, "the helper sent no mount");
		goto out;
	}
	*ret_fd = TAKE_FD(fd);
out:
	if (fd >= 0)
		close(fd);
	close(sp[0]);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return r;
}
