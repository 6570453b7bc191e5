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

int rt_container_create(const struct rt_spec *spec, const struct rt_create_opts *o,
			struct rt_container *ret, vert_error_t *err)
{
	_cleanup_(child_guard_cleanup) struct child_guard guard = { .pid = 0, .pidfd = -EBADF };
	struct sock_fprog *prog = NULL;
	_cleanup_close_ int psock = -EBADF, csock = -EBADF;
	_cleanup_close_ int pty = -EBADF, self_pidfd = -EBADF;
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
	pid = do_clone((uint64_t)spec->ns_flags, o->cgroup_fd, &guard.pidfd);
	if (pid < 0) {
		int e = errno;
		rt_seccomp_prog_free(prog);
		if (e == ENOSYS && o->cgroup_fd >= 0)
			return vert_error_set(
				err, e, VERT_ERR_RUNTIME,
				"start the VE in its cgroup: this needs clone3() with "
				"CLONE_INTO_CGROUP (Linux 5.7 or later)");
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
	if (o->after_clone && (r = o->after_clone(pid, o->after_clone_data, err)) < 0)
		return r;

	if (rt_sync_send(psock, &go, -EBADF) < 0) /* #1 */
		return vert_error_sys(err, "start the VE process");
	vert_debug_mark("go sent");

	if ((r = rt_sync_until_exec(psock, &pty, err)) < 0)
		return r;

	/* EOF: the sync socket was closed by execve (O_CLOEXEC).  A child
	 * killed before exec also gives EOF; its status then shows up in
	 * rt_container_wait like any other death. */
	ret->pid = pid;
	ret->pidfd = TAKE_FD(guard.pidfd);
	ret->pty_master = TAKE_FD(pty);
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
	c->pidfd = c->pty_master = -EBADF;
	rt_relay_free(c->relay);
	c->relay = NULL;
}
