/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container child: runs right after clone3() in the new namespaces,
 * builds the VE and execs the command.  Every failure is sent to the
 * parent over the sync socket (#3) and the child exits; the parent turns
 * it into the user's error message.
 */
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>

#include "rt-internal.h"
#include "vert/fs.h"
#include "vert/net.h"
#include "vert/util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

__attribute__((noreturn)) static void child_fail(int sync_fd, vert_error_t *err)
{
	struct rt_sync_msg m = { .type = RT_SYNC_ERROR };

	vert_error_pack(err, &m.err);
	rt_sync_send(sync_fd, &m, -EBADF);
	_exit(vert_error_run_exit_code(err->kind));
}

void rt_reset_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t all;

	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static int setup_terminal(int sync_fd, const struct rt_sync_msg *go, bool raw, bool console,
			  vert_error_t *err)
{
	_cleanup_close_ int master = -EBADF, slave = -EBADF;
	struct rt_sync_msg m = { .type = RT_SYNC_PTY };
	int unlock = 0;
	struct winsize ws = { .ws_row = go->rows, .ws_col = go->cols };

	/* /dev/ptmx is the devpts instance of the VE (pts/ptmx), so the pty
	 * belongs to the VE, not to the host */
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 && errno == ENOSPC)
		/* the VEs' devpts instances share kernel.pty.max minus
		 * kernel.pty.reserve: 3072 ptys by default */
		return vert_error_sys(err, "open /dev/ptmx in the VE (the host's ptys are used up: "
					   "every VE's console is one; raise kernel.pty.max)");
	if (master < 0)
		return vert_error_sys(err, "open /dev/ptmx in the VE");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return vert_error_sys(err, "unlock pty");
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return vert_error_sys(err, "open pty peer");
	if (ws.ws_row && ws.ws_col)
		ioctl(slave, TIOCSWINSZ, &ws);
	if (raw) {
		/* a console read into a log: no echo, no \r\n translation */
		struct termios t;
		if (tcgetattr(slave, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(slave, TCSANOW, &t);
		}
	}

	/* /dev/console is the init's terminal, as on a real console */
	if (console) {
		char p[32];
		int cfd = open("/dev/console", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (cfd >= 0) {
			close(cfd);
			snprintf(p, sizeof(p), "/proc/self/fd/%d", slave);
			if (mount(p, "/dev/console", NULL, MS_BIND, NULL) < 0)
				return vert_error_sys(err, "bind pty to /dev/console");
		}
	}
	if (rt_sync_send(sync_fd, &m, master) < 0) /* #2 */
		return vert_error_sys(err, "send pty to vert");
	if (setsid() < 0)
		return vert_error_sys(err, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return vert_error_sys(err, "set controlling terminal");
	for (int i = 0; i <= 2; i++)
		if (dup2(slave, i) < 0)
			return vert_error_sys(err, "dup pty");
	return 0;
}

static int redirect_stdio(const struct rt_create_opts *o, vert_error_t *err)
{
	int fds[3] = { o->stdin_fd, o->stdout_fd, o->stderr_fd };
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0 && fds[i] != i && dup2(fds[i], i) < 0)
			return vert_error_sys(err, "redirect fd %d", i);
	return 0;
}

/* Close every fd but stdio and the sync socket. */
static int close_host_fds(int sync_fd, vert_error_t *err)
{
	int r;

	if (sync_fd > 3)
		r = (int)syscall(SYS_close_range, 3, (unsigned)sync_fd - 1, 0);
	else
		r = 0;
	if (r == 0)
		r = (int)syscall(SYS_close_range, (unsigned)(sync_fd < 3 ? 3 : sync_fd + 1), ~0U,
				 0);
	if (r < 0 && errno == ENOSYS) {
		/* before Linux 5.9: every fd up to the limit */
		struct rlimit rl;
		int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1U << 20)
				  ? (int)rl.rlim_cur
				  : 1 << 20;
		for (int fd = 3; fd < max; fd++)
			if (fd != sync_fd)
				close(fd);
		r = 0;
	}
	if (r < 0)
		return vert_error_sys(err, "close the host's fds");
	return 0;
}

/* The working directory must be inside the VE's root: the kernel's
 * getcwd(2) names a directory the root can't reach "(unreachable)/...". */
static int check_cwd(const char *cwd, vert_error_t *err)
{
	char buf[4096];
	long n = syscall(SYS_getcwd, buf, sizeof(buf));

	if (n > 0 && buf[0] == '/')
		return 0;
	return vert_error_set(err, EPERM, VERT_ERR_EXEC_CANNOT,
			      "working directory '%s' is outside the VE", cwd);
}

static int set_rlimits(const struct rt_spec *s, vert_error_t *err)
{
	for (size_t i = 0; i < s->n_rlimits; i++) {
		struct rlimit rl = { .rlim_cur = s->rlimits[i].soft,
				     .rlim_max = s->rlimits[i].hard };
		if (setrlimit(s->rlimits[i].resource, &rl) < 0)
			return vert_error_sys(err, "setrlimit %d", s->rlimits[i].resource);
	}
	if (s->has_oom_score_adj) {
		char v[16];
		snprintf(v, sizeof(v), "%d", s->oom_score_adj);
		if (write_file_str("/proc/self/oom_score_adj", v) < 0)
			return vert_error_sys(err, "set oom_score_adj");
	}
	return 0;
}

static int switch_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, bool userns,
		       vert_error_t *err)
{
	/* keep permitted caps across the uid change; the spec's sets are
	 * applied right after */
	if (prctl(PR_SET_KEEPCAPS, 1) < 0)
		return vert_error_sys(err, "keep capabilities");
	if (setgroups(n_groups, groups) < 0 && !(userns && errno == EPERM && n_groups == 0))
		return vert_error_sys(err, "setgroups");
	if (setresgid(gid, gid, gid) < 0) {
		if (errno == EINVAL)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "gid %u is not mapped in the VE's user namespace",
					      gid);
		return vert_error_sys(err, "setgid %u", gid);
	}
	if (setresuid(uid, uid, uid) < 0) {
		if (errno == EINVAL)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "uid %u is not mapped in the VE's user namespace",
					      uid);
		return vert_error_sys(err, "setuid %u", uid);
	}
	return 0;
}

/* An execve() of name failed with errno: not there (VERT_ERR_EXEC_NOENT,
 * exit 127) or not runnable (VERT_ERR_EXEC_CANNOT, 126). */
static int exec_failed(const char *name, vert_error_t *err)
{
	if (errno == ENOENT || errno == ENOTDIR)
		return vert_error_set(err, ENOENT, VERT_ERR_EXEC_NOENT,
				      "executable '%s' not found in the VE", name);
	return vert_error_set(err, errno, VERT_ERR_EXEC_CANNOT, "cannot execute '%s': %s", name,
			      strerror(errno));
}

static int exec_path(const char *path, char *const *args, char *const *env, vert_error_t *err)
{
	execve(path, args, env);
	return exec_failed(path, err);
}

/* execvpe() searches the *caller's* PATH; the VE's PATH is in its env. */
static int exec_cmd(char *const *args, char *const *env, vert_error_t *err)
{
	const char *path = strv_env_get(env, "PATH");
	bool eacces = false;
	char buf[4096];

	if (strchr(args[0], '/')) {
		execve(args[0], args, env);
		goto fail;
	}
	if (!path)
		path = DEFAULT_PATH;
	for (const char *p = path; *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		if (len + strlen(args[0]) + 2 < sizeof(buf)) {
			if (len == 0)
				snprintf(buf, sizeof(buf), "%s", args[0]);
			else
				snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, args[0]);
			execve(buf, args, env);
			if (errno == EACCES)
				eacces = true;
			else if (errno != ENOENT && errno != ENOTDIR)
				goto fail;
		}
		p += len;
		if (*p == ':')
			p++;
	}
	errno = eacces ? EACCES : ENOENT;
fail:
	return exec_failed(args[0], err);
}

static char **build_env(const struct rt_spec *s, const struct rt_user *u)
{
	char **env = strv_copy(s->env);
	if (!strv_env_get(env, "PATH"))
		env = strv_push(env, xstrdup("PATH=" DEFAULT_PATH));
	if (!strv_env_get(env, "HOME"))
		env = strv_push(env,
				xasprintf("HOME=%s", u && u->home && *u->home ? u->home : "/"));
	return env;
}

__attribute__((noreturn)) void rt_child_main(const struct rt_child_args *a)
{
	const struct rt_spec *s = a->spec;
	const struct rt_create_opts *o = a->opts;
	struct rt_sync_msg go;
	vert_error_t err = VERT_ERROR_INIT;
	bool userns = (s->ns_flags & CLONE_NEWUSER) != 0;
	int layer[RT_LAYER_MAX] = { -EBADF, -EBADF }, *bind_fds = NULL;
	int r;

	if (o->die_with_parent) {
		struct pollfd pfd = { .fd = a->parent_pidfd, .events = POLLIN };
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The parent may have died before the prctl: then no signal
		 * comes, and a GO it queued before dying would still be read.
		 * getppid() can't tell (0 across a pid namespace); its pidfd,
		 * readable once it exited, can. */
		if (a->parent_pidfd >= 0 && poll(&pfd, 1, 0) != 0)
			_exit(VERT_EXIT_RUN_FAILED);
	}
	rt_reset_signals();

	/* #1: wait for the parent (id maps, network), taking the idmapped
	 * layers it sends first */
	for (;;) {
		int fd;
		r = rt_sync_recv(a->sync_fd, &go, &fd);
		if (r <= 0)
			_exit(VERT_EXIT_RUN_FAILED);
		if (go.type == RT_SYNC_GO)
			break;
		if (go.type != RT_SYNC_MOUNT || fd < 0 || go.index < 0 ||
		    (size_t)go.index >= RT_LAYER_MAX + s->n_mounts)
			_exit(VERT_EXIT_RUN_FAILED);
		if (go.index < RT_LAYER_MAX) {
			if (layer[go.index] >= 0)
				_exit(VERT_EXIT_RUN_FAILED);
			layer[go.index] = fd;
			continue;
		}
		if (!bind_fds) {
			bind_fds = xcalloc(s->n_mounts, sizeof(int));
			for (size_t i = 0; i < s->n_mounts; i++)
				bind_fds[i] = -EBADF;
		}
		if (bind_fds[go.index - RT_LAYER_MAX] >= 0)
			_exit(VERT_EXIT_RUN_FAILED);
		bind_fds[go.index - RT_LAYER_MAX] = fd;
	}
	/* /proc/self/exe of this process is the host's vert binary until the
	 * execve below: not dumpable, so nothing in the VE can open it.  Not
	 * before #1: the parent (or newuidmap) must open /proc/PID/uid_map,
	 * and nothing of the VE runs yet at that point. */
	prctl(PR_SET_DUMPABLE, 0);

	if (userns) {
		/* the uid map is written: become root of the new namespace */
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
			vert_error_sys(&err, "become root in the user namespace");
			child_fail(a->sync_fd, &err);
		}
		/* A change of the host ids (root mode: host 0 -> the VE's
		 * range) clears the parent-death signal and resets dumpable:
		 * set both again, and look once more for a parent that died
		 * in between. */
		prctl(PR_SET_DUMPABLE, 0);
		if (o->die_with_parent) {
			struct pollfd pfd = { .fd = a->parent_pidfd, .events = POLLIN };
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (a->parent_pidfd >= 0 && poll(&pfd, 1, 0) != 0)
				_exit(VERT_EXIT_RUN_FAILED);
		}
	}
	if (s->hostname && (s->ns_flags & CLONE_NEWUTS) &&
	    sethostname(s->hostname, strlen(s->hostname)) < 0) {
		vert_error_sys(&err, "set hostname '%s'", s->hostname);
		child_fail(a->sync_fd, &err);
	}
	if (s->domainname && (s->ns_flags & CLONE_NEWUTS) &&
	    setdomainname(s->domainname, strlen(s->domainname)) < 0) {
		vert_error_sys(&err, "set domainname");
		child_fail(a->sync_fd, &err);
	}
	if (s->loopback_up && (s->ns_flags & CLONE_NEWNET) && net_loopback_up(&err) < 0)
		child_fail(a->sync_fd, &err);

	vert_debug_mark("child: go received");
	if (s->ns_flags & CLONE_NEWNS) {
		struct fs_setup_opts fo = { .rootless = a->rootless_fs,
					    .terminal = s->terminal,
					    .idmap_lower_fd = layer[RT_LAYER_LOWER],
					    .idmap_upper_fd = layer[RT_LAYER_UPPER],
					    .bind_fds = bind_fds };
		if (s->rootfs_idmap && (fo.idmap_lower_fd < 0 || fo.idmap_upper_fd < 0)) {
			vert_error_set(&err, EPROTO, VERT_ERR_RUNTIME,
				       "the idmapped layers of the VE did not arrive");
			child_fail(a->sync_fd, &err);
		}
		if (fs_setup_rootfs(s, &fo, &err) < 0)
			child_fail(a->sync_fd, &err);
		/* attached now, or never: no host mount fd stays open */
		for (int i = 0; i < RT_LAYER_MAX; i++)
			if (layer[i] >= 0)
				close(layer[i]);
		for (size_t i = 0; bind_fds && i < s->n_mounts; i++)
			if (bind_fds[i] >= 0)
				close(bind_fds[i]);
		free(bind_fds);
		vert_debug_mark("child: rootfs set up");
		if (fs_finish_rootfs(s, &err) < 0)
			child_fail(a->sync_fd, &err);
		vert_debug_mark("child: masks done");
	} else if (chroot(s->root_path) < 0 || chdir("/") < 0) {
		vert_error_sys(&err, "chroot '%s'", s->root_path);
		child_fail(a->sync_fd, &err);
	}

	rt_child_process(s, o, a->seccomp, a->sync_fd, &go, userns);
}

/*
 * The part shared by a VE's init and by `exec` into a running VE: runs
 * inside the VE's namespaces and root, and ends in execve().
 */
__attribute__((noreturn)) void rt_child_process(const struct rt_spec *s,
						const struct rt_create_opts *o,
						const struct sock_fprog *seccomp, int sync_fd,
						const struct rt_sync_msg *go, bool userns)
{
	vert_error_t err = VERT_ERROR_INIT;
	struct rt_user user = { 0 };
	bool chdir_done = false;
	char **env, **args = s->args, *login[2] = { NULL, NULL };
	/* a filter with notify rules: its listener goes to the parent (#4) */
	int listener = -EBADF,
	    *want_listener = rt_seccomp_wants_listener(s->seccomp) ? &listener : NULL;

	/* stdio first: the fds it comes from are closed next */
	if (!s->terminal && redirect_stdio(o, &err) < 0)
		child_fail(sync_fd, &err);
	/* From here on paths of the VE are resolved (its passwd, ptmx, the
	 * cwd, the command), so no host fd may be open: the cgroup directory
	 * fd of CLONE_INTO_CGROUP, the init's pidfd, lock and state fds.  A
	 * chdir to, or an exec of, /proc/self/fd/N (or a symlink of the VE's
	 * pointing there) would otherwise land on the host (the runc
	 * CVE-2024-21626 class).  Close them, not just mark them
	 * close-on-exec: that only helps after the exec. */
	if (close_host_fds(sync_fd, &err) < 0)
		child_fail(sync_fd, &err);

	if (o->user && rt_user_resolve(o->user, &user, &err) < 0)
		child_fail(sync_fd, &err);

	if (s->terminal) {
		if (setup_terminal(sync_fd, go, o->raw_console, o->console, &err) < 0)
			child_fail(sync_fd, &err);
	} else {
		/* own session: terminal signals go to vert, which forwards them
		 * once, instead of hitting both vert and the VE */
		setsid();
	}
	if (set_rlimits(s, &err) < 0)
		child_fail(sync_fd, &err);

	/* cwd before dropping privileges (it may be root-only), again after
	 * if that failed */
	if (chdir(s->cwd) == 0)
		chdir_done = true;

	/* Privileges, in an order where each step still has what it needs:
	 * the bounding set needs CAP_SETPCAP (before the uid change), a filter
	 * without no_new_privs needs CAP_SYS_ADMIN (ditto), and the final
	 * capability sets come after the uid change, which clears them. */
	if (rt_caps_apply_bounding(s->cap_bounding, &err) < 0)
		child_fail(sync_fd, &err);
	if (seccomp && !s->no_new_privileges && rt_seccomp_load(seccomp, want_listener, &err) < 0)
		child_fail(sync_fd, &err);
	{
		uid_t uid = o->user ? user.uid : s->uid;
		gid_t gid = o->user ? user.gid : s->gid;
		const gid_t *groups = o->user ? user.groups : s->groups;
		size_t ng = o->user ? user.n_groups : s->n_groups;
		if (switch_user(uid, gid, groups, ng, userns || !rt_in_init_userns(), &err) < 0)
			child_fail(sync_fd, &err);
	}
	if (!chdir_done && chdir(s->cwd) < 0) {
		vert_error_set(&err, errno, VERT_ERR_EXEC_CANNOT, "chdir to '%s' in the VE: %s",
			       s->cwd, strerror(errno));
		child_fail(sync_fd, &err);
	}
	if (check_cwd(s->cwd, &err) < 0)
		child_fail(sync_fd, &err);
	if (rt_caps_apply(s, &err) < 0)
		child_fail(sync_fd, &err);
	if (s->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		vert_error_sys(&err, "set no_new_privs");
		child_fail(sync_fd, &err);
	}
	if (seccomp && s->no_new_privileges && rt_seccomp_load(seccomp, want_listener, &err) < 0)
		child_fail(sync_fd, &err);
	if (listener >= 0) {
		struct rt_sync_msg m = { .type = RT_SYNC_NOTIFY };
		if (rt_sync_send(sync_fd, &m, listener) < 0) {
			vert_error_sys(&err, "pass the seccomp listener");
			child_fail(sync_fd, &err);
		}
		close(listener);
	}

	vert_debug_mark("child: exec");
	env = build_env(s, o->user ? &user : NULL);
	/* No host fd survives exec (the leaked-fd class of escapes): mark
	 * everything above stderr close-on-exec; the sync socket already is,
	 * and its EOF tells the parent the exec succeeded. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = 3; fd < 1024; fd++)
			if (fd != sync_fd)
				close(fd);
	}
	if (o->login_shell) {
		vert_error_t e2 = VERT_ERROR_INIT;
		if (!o->user && rt_user_resolve("0", &user, &e2) < 0)
			vert_error_clear(&e2); /* no passwd entry: /bin/sh */
		/* a login shell: the user's shell from the VE's passwd, with
		 * argv[0] "-name" as login(1) does */
		const char *sh = user.shell && *user.shell ? user.shell : "/bin/sh";
		/* login(1) starts the shell in the user's home */
		if (user.home && *user.home && chdir(user.home) < 0)
			vert_debug("login shell: chdir '%s': %s", user.home, strerror(errno));
		/* the home comes from the VE's passwd: check it like a cwd */
		if (check_cwd(user.home ? user.home : "/", &err) < 0)
			child_fail(sync_fd, &err);
		const char *base = strrchr(sh, '/');
		login[0] = xasprintf("-%s", base ? base + 1 : sh);
		args = login;
		if (exec_path(sh, args, env, &err) < 0)
			child_fail(sync_fd, &err);
	}
	exec_cmd(args, env, &err);
	child_fail(sync_fd, &err);
}
