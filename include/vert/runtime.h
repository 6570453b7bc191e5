/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The runtime core: a struct rt_spec in, a running process out.
 */
#ifndef VERT_RUNTIME_H
#define VERT_RUNTIME_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vert/error.h"
#include "vert/spec.h"

struct sock_fprog;

struct rt_create_opts {
	/* A cgroup v2 directory fd to spawn into (CLONE_INTO_CGROUP), or -EBADF. */
	int cgroup_fd;
	/* Kill the VE when the creating process dies (foreground `run`). */
	bool die_with_parent;
	/* Resolve this user ("name", "name:group", "uid:gid") inside the VE's
	 * /etc/passwd and /etc/group after pivot_root; NULL: spec uid/gid. */
	const char *user;
	/* Hook run in the parent after clone, before the child goes on: the
	 * network layer moves veths into the child's netns here. */
	int (*after_clone)(pid_t pid, void *data, vert_error_t *err);
	void *after_clone_data;
	/* Where the VE's stdio goes when not a terminal: -EBADF = inherit. */
	int stdin_fd, stdout_fd, stderr_fd;
	/* Run the user's login shell (from the VE's passwd) instead of args. */
	bool login_shell;
	/* Make the pty raw (a console read into a log, not a terminal). */
	bool raw_console;
	/* The pty is the VE's console: bind it over /dev/console.  Only a
	 * VE's init sets this; an exec'd session must never take the console
	 * over (its pty dies with it, and the init's console with it). */
	bool console;
	/* Where compiled seccomp filters are cached (NULL: no cache). */
	const char *seccomp_cache;
};

#define RT_CREATE_OPTS_INIT                                                                        \
	{                                                                                          \
		.cgroup_fd = -EBADF, .stdin_fd = -EBADF, .stdout_fd = -EBADF, .stderr_fd = -EBADF, \
	}

struct rt_relay;

struct rt_container {
	pid_t pid;	/* in the caller's pid namespace */
	int pidfd;	/* CLONE_PIDFD */
	int pty_master; /* -EBADF unless spec->terminal */
	/* the seccomp listener of a filter with notify rules (sysinfo), to
	 * be served for as long as the VE's processes use it, or -EBADF */
	int listener;
	uint64_t start_time; /* /proc/PID/stat field 22, to detect pid reuse */
	/* A session exec'd into a running VE (not its init): SIGTERM or
	 * SIGHUP to vert hangs its terminal up, as sshd does when the
	 * connection goes, so a shell that ignores SIGTERM still ends. */
	bool session;
	/* The caller's stdio that is a terminal, relayed through pipes when
	 * the VE has no terminal of its own (NULL: none). */
	struct rt_relay *relay;
};

/* Create the VE's init from spec and exec its process.  Returns once the
 * command has been executed (or failed: err says why; err->kind is
 * VERT_ERR_EXEC_NOENT / VERT_ERR_EXEC_CANNOT for exec failures).  On
 * failure nothing is left running. */
int rt_container_create(const struct rt_spec *spec, const struct rt_create_opts *o,
			struct rt_container *ret, vert_error_t *err);
void rt_container_release(struct rt_container *c);

struct rt_exec_opts {
	struct rt_create_opts create; /* user, login_shell, stdio */
	int init_pidfd;		      /* the VE's init */
	pid_t init_pid;
	int cgroup_fd; /* the VE's cgroup dir, or -EBADF */
};

/* Run spec's process (args, env, cwd, caps, seccomp, terminal) inside the
 * running VE whose init is o->init_pidfd.  Returns once it is executing;
 * wait for it with rt_container_wait(). */
int rt_container_exec(const struct rt_spec *spec, const struct rt_exec_opts *o,
		      struct rt_container *ret, vert_error_t *err);

/* Wait for the container's init to exit, forwarding signals sent to us and
 * proxying the terminal when there is one.  *ret_status is the shell-style
 * status: the exit code, or 128+signal. */
int rt_container_wait(struct rt_container *c, int *ret_status, vert_error_t *err);

/* Deliver `sig` to a VE init the way it would land outside a pid
 * namespace: a namespace init ignores default-action signals sent from
 * outside, so for a fatal signal the init neither catches nor ignores, the
 * kill is carried out with SIGKILL and *ret_emulated set. */
int rt_signal_init(int pidfd, pid_t pid, int sig, bool *ret_emulated);

/* Block the signals rt_container_wait forwards; call before creating the
 * container so none is lost between clone and wait. */
void rt_block_forwarded_signals(sigset_t *old);

/* Seccomp: compile in the parent, load in the child (house rule 8). */
int rt_seccomp_compile(const struct rt_seccomp *sc, struct sock_fprog **ret, vert_error_t *err);
void rt_seccomp_prog_free(struct sock_fprog *p);
/* The same through a cache of compiled filters in cache_dir (NULL: none). */
int rt_seccomp_compile_cached(const struct rt_seccomp *sc, const char *cache_dir,
			      struct sock_fprog **ret, vert_error_t *err);

/* Write the spec's uid/gid maps for pid's new user namespace: directly
 * when allowed, else through newuidmap/newgidmap. */
int rt_write_idmaps(pid_t pid, const struct rt_spec *s, vert_error_t *err);

/* True when this process is in the initial user namespace (real root
 * rather than root inside `unshare -r`). */
bool rt_in_init_userns(void);
/* chrooted (root is not the mount namespace's): no CLONE_NEWUSER then */
bool rt_in_chroot(void);

#endif
