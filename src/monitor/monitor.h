/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-VE monitor loop: the only code that runs for the whole life of
 * a detached VE.  It copies the VE's console into a size-capped log and
 * waits for the VE's init to exit.  libc only, so it also builds as the
 * tiny static `vert-monitor` binary (src/monitor/main.c) that a
 * supervisor execs into: a VE's supervision then costs a few pages of
 * memory instead of a whole vert process.
 */
#ifndef VERT_MONITOR_H
#define VERT_MONITOR_H

#include <signal.h>
#include <stddef.h>

#define MONITOR_LOG_NAME "console.log"
#define MONITOR_LOG_CAP (1024 * 1024) /* then rotated to console.log.1 */

/* sysinfo(2) as the VE sees it.  The kernel answers it from the host's
 * figures, and no /proc view can change that (busybox free and uptime,
 * glibc's sysconf(_SC_PHYS_PAGES) call it), so the VE's seccomp filter
 * sends it to a listener instead (SECCOMP_RET_USER_NOTIF, as Incus's
 * security.syscalls.intercept.sysinfo does), answered here from the VE's
 * cgroup: memory.max/current, swap, shmem, pids.current, and the uptime
 * of its init.  The load averages stay the host's. */
struct monitor_sysinfo {
	int listener;		  /* the seccomp listener, or -EBADF */
	int cgroup;		  /* the VE's cgroup directory (its limits), or -EBADF */
	unsigned long long start; /* the VE init's start, in clock ticks after boot */
};
#define MONITOR_SYSINFO_NONE                                                                       \
	{                                                                                          \
		-EBADF, -EBADF, 0                                                                  \
	}
/* Answer one pending notification.  Returns -1 once the listener has no
 * process left to serve (or broke), 0 otherwise. */
int monitor_sysinfo_serve(const struct monitor_sysinfo *m);
/* Serve until no process uses the filter any more. */
void monitor_sysinfo_loop(const struct monitor_sysinfo *m);

/* Run until the process behind pidfd (our child) exits; its wait status
 * goes to *ret.  pty: the console master, or negative (-EBADF) without.
 * logdir: where console.log lives, or negative to discard.  sys (or NULL):
 * the init's sysinfo listener, served meanwhile.  Returns 0, or -errno. */
int monitor_run(int pidfd, int pty, int logdir, size_t cap, struct monitor_sysinfo *sys,
		siginfo_t *ret);

#endif
