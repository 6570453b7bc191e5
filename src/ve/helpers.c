/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running host tools (tar, cp) for template import, and doing filesystem
 * work inside the user's id mapping when rootless.
 *
 * Rootless templates and upper dirs hold files owned by subordinate ids,
 * which the invoking user cannot create or remove directly; like podman's
 * `unshare`, such work runs in a child that sits in a user namespace with
 * the same mapping a VE gets.
 */
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ve-internal.h"
#include "vert/fs.h"
#include "vert/runtime.h"
#include "vert/util.h"

extern char **environ;

/* /etc/subuid lookup for the host user: "name:start:count" or
 * "uid:start:count" (name may be NULL). */
int ve_subid_lookup(const char *file, uid_t uid, const char *name, uint32_t *start, uint32_t *count)
{
	_cleanup_fclose_ FILE *f = fopen(file, "re");
	char line[512], idbuf[16];

	if (!f)
		return -errno;
	snprintf(idbuf, sizeof(idbuf), "%u", (unsigned)uid);
	while (fgets(line, sizeof(line), f)) {
		char *a = strtok(line, ":\n"), *b = strtok(NULL, ":\n"), *c = strtok(NULL, ":\n");
		if (!a || !b || !c)
			continue;
		if (strcmp(a, idbuf) != 0 && !(name && strcmp(a, name) == 0))
			continue;
		if (parse_u32(b, start) < 0 || parse_u32(c, count) < 0 || *count == 0)
			continue;
		return 0;
	}
	return -ENOENT;
}

static bool have_helper(const char *name)
{
	const char *dirs[] = { "/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = xasprintf("%s%s", dirs[i], name);
		if (access(p, X_OK) == 0)
			return true;
	}
	return false;
}

int ve_idmap_compute(const struct ve_paths *p, struct ve_idmap *m)
{
	uint32_t us, uc, gs, gc;
	struct passwd *pw;

	memset(m, 0, sizeof(*m));
	m->uid[0] = (struct rt_idmap){ 0, p->host_uid, 1 };
	m->gid[0] = (struct rt_idmap){ 0, p->host_gid, 1 };
	m->n = 1;
	if (!p->rootless)
		return 0;
	/* Root inside `unshare -r` has only its one id to give. */
	if (geteuid() == 0) {
		m->uid[0].outside = 0;
		m->gid[0].outside = 0;
		m->single_reason = "running inside a user namespace that maps a single id";
		return 0;
	}
	if (!have_helper("newuidmap") || !have_helper("newgidmap")) {
		m->single_reason = "newuidmap/newgidmap not installed (package 'uidmap')";
		return 0;
	}
	pw = getpwuid(p->host_uid);
	if (ve_subid_lookup("/etc/subuid", p->host_uid, pw ? pw->pw_name : NULL, &us, &uc) < 0 ||
	    ve_subid_lookup("/etc/subgid", p->host_uid, pw ? pw->pw_name : NULL, &gs, &gc) < 0) {
		m->single_reason = "no range for this user in /etc/subuid and /etc/subgid";
		return 0;
	}
	m->uid[1] = (struct rt_idmap){ 1, us, uc };
	m->gid[1] = (struct rt_idmap){ 1, gs, gc };
	m->n = 2;
	return 0;
}

void ve_idmap_notice(const struct ve_paths *p, const struct ve_idmap *m)
{
	if (m->single_reason) {
		_cleanup_free_ char *msg = xasprintf(
			"%s: mapping only uid %u (as root) into VEs; other users inside a VE "
			"won't work",
			m->single_reason, (unsigned)p->host_uid);
		ve_notice_once(p, "single-idmap", msg);
	}
}

/*
 * Run fn(arg) in a child process inside a new user namespace with the
 * VE mapping (rootless), or directly (root).
 */
int ve_as_mapped_root(const struct ve_paths *p, int (*fn)(void *), void *arg, vert_error_t *err)
{
	struct ve_idmap m;
	struct rt_spec spec = { 0 };
	int sp[2], status;
	pid_t pid;
	char c;

	if (!p->rootless)
		return fn(arg);
	ve_idmap_compute(p, &m);
	spec.uid_maps = m.uid;
	spec.gid_maps = m.gid;
	spec.n_uid_maps = spec.n_gid_maps = m.n;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return vert_error_sys(err, "socketpair");
	pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL,
			     0);
	if (pid < 0) {
		close(sp[0]);
		close(sp[1]);
		return vert_error_sys(err, "create user namespace");
	}
	if (pid == 0) {
		close(sp[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(sp[1], &c, 1) != 1)
			_exit(126);
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			_exit(126);
		_exit(fn(arg) < 0 ? 1 : 0);
	}
	close(sp[1]);
	if (rt_write_idmaps(pid, &spec, err) < 0) {
		kill(pid, SIGKILL);
		close(sp[0]);
		waitpid(pid, &status, 0);
		return vert_error_ret(err);
	}
	c = 1;
	if (write(sp[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
	}
	close(sp[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return vert_error_sys(err, "wait");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return vert_error_set(err, EIO, VERT_ERR_RUNTIME, "operation in the user namespace failed");
}

struct spawn_args {
	char *const *argv;
	int errfd;
};

static int exec_tool(void *data)
{
	struct spawn_args *a = data;
	dup2(a->errfd, STDERR_FILENO);
	dup2(a->errfd, STDOUT_FILENO);
	execvp(a->argv[0], a->argv);
	_exit(127);
}

/* The first line a tool wrote to fd (at most 4 KiB of it). */
static char *fd_first_line(int fd)
{
	char buf[4096] = "";
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : 0;

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return xstrdup(buf);
}

static void group_kill(int sig)
{
	(void)sig;
	kill(0, SIGKILL);
}

/* The child of ve_run_tool_group: leader of a process group of its own,
 * in which the tool and whatever it starts run, killed whole when vert
 * dies (PR_SET_PDEATHSIG reaches only the one process it is set on: a
 * shell's ssh or tar outlived a killed vert). */
static __attribute__((noreturn)) void group_leader(const struct ve_paths *p, struct spawn_args *a,
						   pid_t parent)
{
	struct sigaction sa = { .sa_handler = group_kill };
	int status;
	pid_t pid;

	setpgid(0, 0);
	sigaction(SIGTERM, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		group_kill(0);
	pid = fork();
	if (pid == 0) {
		vert_error_t e = VERT_ERROR_INIT;
		signal(SIGTERM, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(ve_as_mapped_root(p, exec_tool, a, &e) < 0 ? 1 : 0);
	}
	if (pid < 0)
		_exit(1);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* Run argv (as mapped root when rootless); on failure the error carries
 * the tool's first and last lines of stderr. */
static int run_tool(const struct ve_paths *p, char *const *argv, bool group, vert_error_t *err)
{
	_cleanup_close_ int efd = memfd_create("vert-tool-err", MFD_CLOEXEC);
	struct spawn_args a = { argv, efd };
	pid_t pid, self = getpid();
	int status, r;

	if (efd < 0)
		return vert_error_sys(err, "memfd_create");
	pid = fork();
	if (pid < 0)
		return vert_error_sys(err, "fork");
	if (pid == 0 && group)
		group_leader(p, &a, self);
	if (pid == 0) {
		vert_error_t e2 = VERT_ERROR_INIT;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		r = ve_as_mapped_root(p, exec_tool, &a, &e2);
		_exit(r < 0 ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return vert_error_sys(err, "wait for %s", argv[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	{
		/* the first line too: the cause, where the last is a summary
		 * ("tar: Exiting with failure status due to previous errors") */
		_cleanup_free_ char *last = fd_last_line(efd), *first = fd_first_line(efd);
		/* no errno: the tool's own words say why, and "Input/output
		 * error" after them would say something false (-EIO all the
		 * same, VERT_ERR_RUNTIME's) */
		if (*first && strcmp(first, last) != 0)
			return vert_error_set(err, 0, VERT_ERR_RUNTIME, "%s failed: %s; %s",
					      argv[0], first, last);
		return vert_error_set(err, 0, VERT_ERR_RUNTIME, "%s failed%s%s", argv[0],
				      *last ? ": " : "", last);
	}
}

int ve_run_tool(const struct ve_paths *p, char *const *argv, vert_error_t *err)
{
	return run_tool(p, argv, false, err);
}

int ve_run_tool_group(const struct ve_paths *p, char *const *argv, vert_error_t *err)
{
	return run_tool(p, argv, true, err);
}

static int rm_rf_fn(void *path)
{
	return fs_rm_rf((const char *)path);
}

int ve_overlay_work_reset(const struct ve_paths *p, const char *work, vert_error_t *err)
{
	_cleanup_free_ char *scratch = xasprintf("%s/work", work);
	return ve_remove_tree(p, scratch, err);
}

int ve_remove_tree(const struct ve_paths *p, const char *path, vert_error_t *err)
{
	int r;

	if (!p->rootless) {
		r = fs_rm_rf(path);
		if (r < 0)
			return vert_error_set(err, -r, VERT_ERR_RUNTIME, "remove '%s'", path);
		return 0;
	}
	/* try as ourselves first (trees we own entirely need no userns) */
	if (fs_rm_rf(path) == 0)
		return 0;
	r = ve_as_mapped_root(p, rm_rf_fn, (void *)path, err);
	if (r < 0)
		return vert_error_wrap(err, "remove '%s'", path);
	return 0;
}
