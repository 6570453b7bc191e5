/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Exec into a running VE: join every namespace of its init through its
 * pidfd, its cgroup, and apply the same process setup (user, terminal,
 * capabilities, seccomp) as the init got.
 *
 * Where vert may point its own pid_for_children at the VE's pid namespace
 * and back (root: see direct_spawn), as nsenter(1):
 *
 *   P (vert)  setns(pidfd, pid)  --clone3(CLONE_INTO_CGROUP)-->  G
 *             setns(self, pid)   G  setns(pidfd, all but pid and cgroup)
 *                                G  setns(pidfd, cgroup)
 *
 * Otherwise (a rootless vert, or one inside `unshare -r`: the VE's user
 * namespace must be joined first, by a process that then can't make P's
 * child in it), through M:
 *
 *   P (vert)  --clone-->  M  setns(pidfd, all namespaces but cgroup)
 *                         M  --clone3(CLONE_PARENT|CLONE_INTO_CGROUP)-->  G
 *                         G  setns(pidfd, cgroup)
 *   G is P's child (CLONE_PARENT), inside the VE's pid namespace (M's
 *   pid_for_children); M reports G's pid and exits.
 *
 * Either way G runs rt_child_process(), and P waits for G like for any
 * container process.
 *
 * G does not wait for a GO (#1) from P, as a VE's init does: P has nothing
 * to do before G may go on (no id maps to write, no network, G is born in
 * the VE's cgroup), and the GO's terminal size is in G's copy of P's
 * memory.  That saves a wakeup of G and a wakeup of P, both on the exec
 * path, and lets G set itself up while P opens its pidfd.
 * What the wait gave besides, G checks itself: a P killed meanwhile (its
 * end of the sync socket is closed) starts no command.  G being P's child,
 * its pid can't be reused before P has opened its pidfd.
 *
 * The cgroup namespace is joined by G, once it is in the VE's cgroup: the
 * kernel lets a process move (or be born) only between cgroups below its
 * own cgroup namespace's root, and P's cgroup (M's) is not below the
 * VE's.
 *
 * A VE with a cgroup only exists on a kernel with CLONE_INTO_CGROUP (5.7,
 * rt_container_create refuses to start one without), so G is born in it.
 *
 * M and G are not dumpable from the moment M joins the VE, or G is born in
 * it, so nothing in the VE can open /proc/PID/exe of the host's vert
 * binary while they run it (the runc CVE-2019-5736 class).
 *
 * M shares P's memory and P waits until it is gone (CLONE_VM |
 * CLONE_VFORK, as posix_spawn does): only G copies P's address space, not
 * both (a fork of vert's page tables and P's copy-on-write faults after
 * it: ~0.2 ms of every exec).  M touches nothing of P's but its own
 * stack, fd table and signal handlers (both its own copies), and the mm's
 * dumpable flag, which P sets back once M is gone.  (A sanitizer build
 * forks M: see MIDDLE_FORKS.)
 */
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "rt-internal.h"
#include "vert/util.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

/* Which namespaces of pid differ from ours (setns refuses to re-enter our
 * own user namespace, and joining the same one is pointless). */
static int differing_ns(pid_t pid)
{
	static const struct {
		const char *name;
		int flag;
	} t[] = {
		{ "user", CLONE_NEWUSER },     { "mnt", CLONE_NEWNS },	{ "pid", CLONE_NEWPID },
		{ "uts", CLONE_NEWUTS },       { "ipc", CLONE_NEWIPC }, { "net", CLONE_NEWNET },
		{ "cgroup", CLONE_NEWCGROUP },
	};
	int flags = 0;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char p[64];
		struct stat a, b;
		snprintf(p, sizeof(p), "/proc/%d/ns/%s", pid, t[i].name);
		if (stat(p, &a) < 0)
			continue;
		snprintf(p, sizeof(p), "/proc/self/ns/%s", t[i].name);
		if (stat(p, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			flags |= t[i].flag;
	}
	return flags;
}

struct exec_report {
	int32_t pid; /* G in P's pid namespace, or -errno */
	char msg[256];
};

/* a process that can't start in the VE's cgroup must not start outside
 * it (pids.max reached is EAGAIN, a cgroup the VE turned into an inner
 * node is EBUSY) */
static const char *clone_failure(int e, const struct rt_exec_opts *o)
{
	return e == EAGAIN && o->cgroup_fd >= 0
		       ? "create the process in the VE: it has reached its process limit (pids.max)"
		       : "create the process in the VE";
}

/* G: joins what M did not join for it (join: a direct spawn's namespaces,
 * 0 after M), then the VE's cgroup namespace, and becomes the command.
 * Reports a failure as #3. */
__attribute__((noreturn)) static void g_main(const struct rt_spec *s, const struct rt_exec_opts *o,
					     const struct sock_fprog *prog,
					     const struct rt_sync_msg *go, int sync_fd, int nsflags,
					     int join)
{
	struct pollfd pfd = { .fd = sync_fd, .events = POLLIN };
	vert_error_t e = VERT_ERROR_INIT;
	struct rt_sync_msg m = { .type = RT_SYNC_ERROR };

	/* P sends nothing before our exec: a readable or hung-up socket is a
	 * P that is gone (see the top of this file) */
	if (poll(&pfd, 1, 0) != 0)
		_exit(VERT_EXIT_RUN_FAILED);
	if (join && setns(o->init_pidfd, join) < 0) {
		vert_error_sys(&e, "join the VE's namespaces");
		goto fail;
	}
	/* born in the VE's cgroup, we may join its cgroup namespace */
	if ((nsflags & CLONE_NEWCGROUP) && setns(o->init_pidfd, CLONE_NEWCGROUP) < 0) {
		vert_error_sys(&e, "join the VE's cgroup namespace");
		goto fail;
	}
	rt_child_process(s, &o->create, prog, sync_fd, go,
			 (nsflags & CLONE_NEWUSER) != 0 || !rt_in_init_userns());
fail:
	vert_error_pack(&e, &m.err);
	rt_sync_send(sync_fd, &m, -EBADF); /* #3 */
	_exit(VERT_EXIT_RUN_FAILED);
}

__attribute__((noreturn)) static void
middle_main(const struct rt_spec *s, const struct rt_exec_opts *o, const struct sock_fprog *prog,
	    const struct rt_sync_msg *go, int sync_fd, int report_fd, int nsflags)
{
	struct clone_args args = { .flags = CLONE_PARENT, .exit_signal = 0 };
	struct exec_report rep = { 0 };
	pid_t g;

	/* P's too (one mm): P waits, and sets it back (rt_container_exec) */
	prctl(PR_SET_DUMPABLE, 0);
	rt_reset_signals();
	if (setns(o->init_pidfd, nsflags & ~CLONE_NEWCGROUP) < 0) {
		rep.pid = -errno;
		snprintf(rep.msg, sizeof(rep.msg), "join the VE's namespaces");
		goto out;
	}
	if (o->cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)o->cgroup_fd;
	}
	g = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (g < 0 && errno == ENOSYS && o->cgroup_fd < 0)
		g = (pid_t)syscall(SYS_clone, (unsigned long)CLONE_PARENT, NULL, NULL, NULL, 0);
	if (g < 0) {
		rep.pid = -errno;
		snprintf(rep.msg, sizeof(rep.msg), "%s", clone_failure(errno, o));
		goto out;
	}
	if (g == 0) {
		close(report_fd);
		g_main(s, o, prog, go, sync_fd, nsflags, 0);
	}
	rep.pid = g;
out:
	if (write(report_fd, &rep, sizeof(rep)) != sizeof(rep))
		_exit(1);
	_exit(0);
}

struct middle_args {
	const struct rt_spec *s;
	const struct rt_exec_opts *o;
	const struct sock_fprog *prog;
	const struct rt_sync_msg *go; /* #1's content, never sent */
	int sync_fd, report_fd, nsflags;
	int close_a, close_b; /* P's ends, not M's */
};

static int middle_fn(void *data)
{
	const struct middle_args *a = data;
	close(a->close_a);
	close(a->close_b);
	middle_main(a->s, a->o, a->prog, a->go, a->sync_fd, a->report_fd, a->nsflags);
}

/* M's stack: G goes on on its copy of it into rt_child_process */
#define MIDDLE_STACK (512 << 10)

/* M forked, not sharing P's memory: ASan can't follow a clone onto a
 * stack it did not make ("ignoring requested __asan_handle_no_return"),
 * so a sanitizer build forks as before */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define MIDDLE_FORKS 1
#else
#define MIDDLE_FORKS 0
#endif

static pid_t middle_spawn(struct middle_args *ma)
{
	int dumpable, e;
	void *stack;
	pid_t mid;

	if (MIDDLE_FORKS) {
		mid = fork();
		if (mid == 0)
			middle_fn(ma);
		return mid;
	}
	dumpable = prctl(PR_GET_DUMPABLE);
	stack = mmap(NULL, MIDDLE_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -1;
	/* returns once M is gone: it has reported */
	mid = clone(middle_fn, (char *)stack + MIDDLE_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, ma);
	e = errno;
	if (dumpable > 0)
		prctl(PR_SET_DUMPABLE, dumpable);
	munmap(stack, MIDDLE_STACK);
	errno = e;
	return mid;
}

/* Where P may point its own pid_for_children at the VE's pid namespace and
 * back (CAP_SYS_ADMIN over both: root), P forks G itself, without M, and G
 * joins the other namespaces, as nsenter(1) does: one process less to
 * make, run and wait for on every exec.  1: P may not (a rootless vert, or
 * one inside `unshare -r`), M it is. */
static int direct_spawn(const struct middle_args *a, pid_t *ret, vert_error_t *err)
{
	struct clone_args args = { .exit_signal = SIGCHLD };
	_cleanup_close_ int self = -EBADF;
	int dumpable, e;
	pid_t g;

	/* whether we could come back, first: inside `unshare -r` vert may
	 * enter the pid namespace of a VE it made, but not go back to the
	 * host's, whose user namespace is not its own (so M it is there) */
	self = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (self < 0 || setns(self, CLONE_NEWPID) < 0 || setns(a->o->init_pidfd, CLONE_NEWPID) < 0)
		return 1;
	/* G's copy of our mm is born not dumpable (see the top of this file) */
	dumpable = prctl(PR_GET_DUMPABLE);
	prctl(PR_SET_DUMPABLE, 0);
	if (a->o->cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)a->o->cgroup_fd;
	}
	g = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (g < 0 && errno == ENOSYS && a->o->cgroup_fd < 0)
		g = (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0);
	if (g == 0) {
		close(a->close_a);
		close(a->close_b);
		rt_reset_signals();
		g_main(a->s, a->o, a->prog, a->go, a->sync_fd, a->nsflags,
		       a->nsflags & ~(CLONE_NEWPID | CLONE_NEWCGROUP));
	}
	e = errno;
	/* our own again, at once: no later fork of ours may land in the VE
	 * (what was allowed a moment ago is not refused now) */
	if (setns(self, CLONE_NEWPID) < 0)
		abort();
	if (dumpable > 0)
		prctl(PR_SET_DUMPABLE, dumpable);
	if (g < 0)
		return vert_error_set(err, e, VERT_ERR_RUNTIME, "%s", clone_failure(e, a->o));
	*ret = g;
	return 0;
}

int rt_container_exec(const struct rt_spec *s, const struct rt_exec_opts *xo,
		      struct rt_container *ret, vert_error_t *err)
{
	_cleanup_(rt_relay_freep) struct rt_relay *relay = NULL;
	struct rt_exec_opts oc = *xo;
	const struct rt_exec_opts *o = &oc;
	struct sock_fprog *prog = NULL;
	_cleanup_close_ int psock = -EBADF, csock = -EBADF, pty = -EBADF, listener = -EBADF;
	_cleanup_close_ int gpidfd = -EBADF;
	struct rt_sync_msg go = { .type = RT_SYNC_GO };
	struct exec_report rep = { 0 };
	int sp[2], rp[2], nsflags, r, st;
	pid_t mid, g = -1;

	nsflags = differing_ns(o->init_pid);
	if (!(nsflags & CLONE_NEWPID))
		return vert_error_set(err, ESRCH, VERT_ERR_NOTRUNNING,
				      "the VE's init (pid %d) is gone", o->init_pid);
	/* the caller's terminal reaches a VE without one only through pipes */
	if ((r = rt_relay_prepare(s, &oc.create, &relay, err)) < 0)
		return r;
	if (s->seccomp &&
	    (r = rt_seccomp_compile_cached(s->seccomp, o->create.seccomp_cache, &prog, err)) < 0)
		return r;
	vert_debug_mark("seccomp compiled");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		rt_seccomp_prog_free(prog);
		return vert_error_sys(err, "socketpair");
	}
	psock = sp[0];
	csock = sp[1];
	if (s->terminal) {
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 ||
		    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
			go.rows = ws.ws_row;
			go.cols = ws.ws_col;
		}
	}

	r = direct_spawn(
		&(struct middle_args){ s, o, prog, &go, csock, -EBADF, nsflags, psock, -EBADF }, &g,
		err);
	if (r <= 0) {
		rt_seccomp_prog_free(prog);
		if (r < 0)
			return r;
		close(TAKE_FD(csock));
		rt_relay_close_ve(relay);
	} else {
		if (pipe2(rp, O_CLOEXEC) < 0) {
			rt_seccomp_prog_free(prog);
			return vert_error_sys(err, "pipe");
		}
		mid = middle_spawn(&(struct middle_args){ s, o, prog, &go, csock, rp[1], nsflags,
							  psock, rp[0] });
		if (mid < 0) {
			close(rp[0]);
			close(rp[1]);
			rt_seccomp_prog_free(prog);
			/* a fork, or M's stack and its clone */
			return vert_error_sys(err, "start the process that joins the VE");
		}
		rt_seccomp_prog_free(prog);
		close(TAKE_FD(csock));
		close(rp[1]);
		rt_relay_close_ve(relay);
		r = (int)read(rp[0], &rep, sizeof(rep));
		close(rp[0]);
		while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
			;
		if (r != (int)sizeof(rep))
			return vert_error_set(err, EPROTO, VERT_ERR_RUNTIME, "exec helper died");
		if (rep.pid < 0)
			return vert_error_set(err, -rep.pid, VERT_ERR_RUNTIME, "%s", rep.msg);
		g = rep.pid;
	}
	vert_debug_mark("joined");
	/* G is our child (CLONE_PARENT): nobody else can reap it, so its pid
	 * can't be reused before we open the pidfd */
	gpidfd = (int)syscall(SYS_pidfd_open, g, 0);
	if (gpidfd < 0) {
		kill(g, SIGKILL);
		waitpid(g, &st, 0);
		return vert_error_sys(err, "pidfd_open");
	}

	if ((r = rt_sync_until_exec(psock, &pty, &listener, err)) < 0) {
		while (waitpid(g, &st, 0) < 0 && errno == EINTR)
			;
		return r;
	}
	ret->pid = g;
	ret->pidfd = TAKE_FD(gpidfd);
	ret->pty_master = TAKE_FD(pty);
	ret->listener = TAKE_FD(listener);
	ret->start_time = proc_start_time(g);
	ret->session = true;
	ret->relay = TAKE_PTR(relay);
	return 0;
}
