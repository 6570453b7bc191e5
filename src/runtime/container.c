/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parent side of container creation: compile seccomp, clone3 into the new
 * namespaces (and cgroup), write id maps, run the caller's hook, release
 * the child, and collect either its error or the EOF that means "exec
 * succeeded".  Until then the child is held in a cleanup variable that
 * kills and reaps it (house rule 5).
 */
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "rt-internal.h"
#include "vert/fs.h"
#include "vert/util.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

struct child_guard {
	pid_t pid;
	int pidfd;
};

static void child_guard_cleanup(struct child_guard *g)
{
	if (g->pid > 0) {
		int st;
		if (g->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, g->pidfd, SIGKILL, NULL, 0);
		else
			kill(g->pid, SIGKILL);
		while (waitpid(g->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (g->pidfd >= 0)
		close(g->pidfd);
}

static pid_t do_clone(uint64_t flags, int cgroup_fd, int *ret_pidfd)
{
	struct clone_args args = {
		.flags = flags | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)ret_pidfd,
		.exit_signal = SIGCHLD,
	};
	static int have_clone3 = 1;
	pid_t pid;

	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	if (have_clone3) {
		pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
		if (pid >= 0 || (errno != ENOSYS && errno != E2BIG))
			return pid;
		have_clone3 = 0;
	}
	if (cgroup_fd >= 0) {
		/* clone() can't place the child in a cgroup, and moving it in
		 * afterwards would root its cgroup namespace (made by the same
		 * clone) at our cgroup instead of the VE's */
		errno = ENOSYS;
		return -1;
	}
	/* x86_64 raw clone(flags, stack, parent_tid, child_tid, tls): with
	 * CLONE_PIDFD the fd lands in parent_tid */
	return (pid_t)syscall(SYS_clone, (unsigned long)(flags | CLONE_PIDFD | SIGCHLD), NULL,
			      ret_pidfd, NULL, 0);
}

/* The overlay's layers as idmapped mounts of the child's user namespace
 * (src/fs/idmap.c): the template, and the directory that holds the upper
 * and work dirs (overlayfs needs both on one mount). */
static int send_idmapped_layers(int sock, pid_t pid, const struct rt_spec *s, vert_error_t *err)
{
	_cleanup_free_ char *nspath = xasprintf("/proc/%d/ns/user", (int)pid);
	_cleanup_free_ char *updir = NULL, *wdir = NULL;
	_cleanup_close_ int userns = -EBADF;
	const char *paths[RT_LAYER_MAX];
	const char *what[RT_LAYER_MAX] = { "the template", "the VE's upper layer" };
	char *slash;
	int r;

	if (!(s->ns_flags & CLONE_NEWUSER) || !s->overlay_lower || !s->overlay_upper ||
	    !s->overlay_work || strchr(s->overlay_lower, ':'))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: org.vert.rootfs.idmap needs a user namespace and an "
				      "overlay of one lower dir");
	updir = xstrdup(s->overlay_upper);
	wdir = xstrdup(s->overlay_work);
	if ((slash = strrchr(updir, '/')))
		*slash = '\0';
	if ((slash = strrchr(wdir, '/')))
		*slash = '\0';
	if (strcmp(updir, wdir) != 0 || !*updir)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: idmapped layers need the upper and work dirs in one "
				      "directory ('%s', '%s')",
				      s->overlay_upper, s->overlay_work);
	paths[RT_LAYER_LOWER] = s->overlay_lower;
	paths[RT_LAYER_UPPER] = updir;
	if ((userns = open(nspath, O_RDONLY | O_CLOEXEC)) < 0)
		return vert_error_sys(err, "open the VE's user namespace");
	for (int i = 0; i < RT_LAYER_MAX; i++) {
		_cleanup_close_ int fd = -EBADF;
		struct rt_sync_msg m = { .type = RT_SYNC_MOUNT, .index = i };
		if ((r = fs_idmap_clone(paths[i], userns, what[i], &fd, err)) < 0)
			return r;
		if ((r = rt_sync_send(sock, &m, fd)) < 0)
			return vert_error_set(err, -r, VERT_ERR_RUNTIME,
					      "pass the idmapped layers to the VE");
	}
	/* Bind sources too: the VE's root may not walk the host's path to
	 * them (a 0700 directory on the way), host root can.  Plain clones,
	 * not idmapped: the VE's files in a volume are its own ids on the
	 * host, and host root's files are nobody's inside. */
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct rt_mount *mt = &s->mounts[i];
		_cleanup_close_ int fd = -EBADF;
		struct rt_sync_msg m = { .type = RT_SYNC_MOUNT, .index = RT_LAYER_MAX + (int)i };
		if (!mt->bind)
			continue;
		if (mt->idmap) {
			if ((r = fs_idmap_clone(mt->source, userns, "volume", &fd, err)) < 0)
				return r;
		} else if ((fd = fs_tree_clone(mt->source, mt->recursive)) < 0) {
			return vert_error_set(err, -fd, VERT_ERR_INVALID, "bind source '%s'",
					      mt->source);
		}
		if ((r = rt_sync_send(sock, &m, fd)) < 0)
			return vert_error_set(err, -r, VERT_ERR_RUNTIME,
					      "pass the bind mounts to the VE");
	}
	return 0;
}

int rt_container_create(const struct rt_spec *spec, const struct rt_create_opts *o,
			struct rt_container *ret, vert_error_t *err)
{
	_cleanup_(child_guard_cleanup) struct child_guard guard = { .pid = 0, .pidfd = -EBADF };
	struct sock_fprog *prog = NULL;
	_cleanup_close_ int psock = -EBADF, csock = -EBADF;
	_cleanup_close_ int pty = -EBADF, listener = -EBADF, self_pidfd = -EBADF,
			    saved_cwd = -EBADF;
	struct rt_sync_msg go = { .type = RT_SYNC_GO };
	bool userns = (spec->ns_flags & CLONE_NEWUSER) != 0, rootless_fs;
	_cleanup_(rt_relay_freep) struct rt_relay *relay = NULL;
	struct rt_create_opts oc = *o;
	int sp[2], r;
	pid_t pid;

	/* the caller's terminal reaches a VE without one only through pipes */
	if ((r = rt_relay_prepare(spec, &oc, &relay, err)) < 0)
		return r;
	o = &oc;
	if (spec->seccomp &&
	    (r = rt_seccomp_compile_cached(spec->seccomp, o->seccomp_cache, &prog, err)) < 0)
		return r;
	vert_debug_mark("seccomp compiled");

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		rt_seccomp_prog_free(prog);
		return vert_error_sys(err, "socketpair");
	}
	psock = sp[0];
	csock = sp[1];

	if (spec->terminal) {
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 ||
		    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
			go.rows = ws.ws_row;
			go.cols = ws.ws_col;
		}
	}

	rootless_fs = userns || !rt_in_init_userns(); /* cached for the child too */
	if (o->die_with_parent)
		self_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	/* the idmapped rootfs is staged on the child's cwd (src/fs/rootfs.c):
	 * the VE's root can't walk the host path to it */
	if (spec->rootfs_idmap) {
		if ((saved_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
		    chdir(spec->root_path) < 0) {
			rt_seccomp_prog_free(prog);
			return vert_error_sys(err, "enter the VE's mountpoint '%s'",
					      spec->root_path);
		}
	}
	pid = do_clone((uint64_t)spec->ns_flags, o->cgroup_fd, &guard.pidfd);
	if (saved_cwd >= 0 && pid != 0 && fchdir(saved_cwd) < 0)
		vert_debug("return to the working directory: %s", strerror(errno));
	if (pid < 0) {
		int e = errno;
		rt_seccomp_prog_free(prog);
		if (e == ENOSYS && o->cgroup_fd >= 0)
			return vert_error_set(
				err, e, VERT_ERR_RUNTIME,
				"start the VE in its cgroup: this needs clone3() with "
				"CLONE_INTO_CGROUP (Linux 5.7 or later)");
		if ((e == EPERM || e == EACCES) && userns && rt_in_chroot())
			return vert_error_set(
				err, e, VERT_ERR_RUNTIME,
				"create namespaces (clone3): the kernel makes no user "
				"namespace for a chrooted process; run vert outside the "
				"chroot (or in a mount namespace pivoted into it), or use "
				"--userns host (unsafe)");
		if (e == EPERM || e == EACCES)
			return vert_error_set(
				err, e, VERT_ERR_RUNTIME, "create namespaces (clone3)%s",
				userns ? "" : " (are you root? try as root or rootless)");
		return vert_error_set(err, e, VERT_ERR_RUNTIME, "create namespaces (clone3)");
	}
	if (pid == 0) {
		struct rt_child_args a = {
			.spec = spec,
			.opts = o,
			.seccomp = prog,
			.sync_fd = csock,
			.rootless_fs = rootless_fs,
			.parent_pidfd = self_pidfd,
		};
		close(psock);
		rt_child_main(&a);
	}
	guard.pid = pid;
	vert_debug_mark("cloned");
	rt_seccomp_prog_free(prog);
	close(TAKE_FD(csock));
	rt_relay_close_ve(relay);

	if (userns && (r = rt_write_idmaps(pid, spec, err)) < 0)
		return vert_error_wrap(err, "set up the user namespace");
	if (spec->rootfs_idmap && (r = send_idmapped_layers(psock, pid, spec, err)) < 0)
		return r;
	if (o->after_clone && (r = o->after_clone(pid, o->after_clone_data, err)) < 0)
		return r;

	if (rt_sync_send(psock, &go, -EBADF) < 0) /* #1 */
		return vert_error_sys(err, "start the VE process");
	vert_debug_mark("go sent");

	if ((r = rt_sync_until_exec(psock, &pty, &listener, err)) < 0)
		return r;

	/* EOF: the sync socket was closed by execve (O_CLOEXEC).  A child
	 * killed before exec also gives EOF; its status then shows up in
	 * rt_container_wait like any other death. */
	ret->pid = pid;
	ret->pidfd = TAKE_FD(guard.pidfd);
	ret->pty_master = TAKE_FD(pty);
	ret->listener = TAKE_FD(listener);
	ret->start_time = proc_start_time(pid);
	ret->relay = TAKE_PTR(relay);
	guard.pid = 0;
	return 0;
}

void rt_container_release(struct rt_container *c)
{
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->pty_master >= 0)
		close(c->pty_master);
	if (c->listener >= 0)
		close(c->listener);
	c->pidfd = c->pty_master = c->listener = -EBADF;
	rt_relay_free(c->relay);
	c->relay = NULL;
}
