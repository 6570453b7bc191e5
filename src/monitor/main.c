/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vert-monitor PIDFD PTYFD LOGDIRFD [--sysinfo LISTENERFD CGROUPFD START] -- NEXT...
 * vert-monitor --sysinfo LISTENERFD CGROUPFD START
 *
 * The second form only answers the sysinfo(2) calls of the processes of
 * one seccomp filter (an exec's, an attached VE's: see monitor.h) and
 * ends when none is left.
 *
 * Inherits the VE init (its child), the init's pidfd, the console pty
 * and the log directory from the vert supervisor that execs it.  When the
 * init exits, execs NEXT... with "--exit-code=N" or "--exit-signal=N"
 * appended: vert's own code then cleans up, or boots the VE again after a
 * reboot from inside.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor.h"

/* An fd number from the command line; a negative one (-1, -EBADF) means
 * none and becomes -EBADF.  False when s is not a number. */
static bool parse_fd(const char *s, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < -4095 || v >= 1 << 20)
		return false;
	*ret = v < 0 ? -EBADF : (int)v;
	return true;
}

static bool parse_sysinfo(char **a, struct monitor_sysinfo *m)
{
	char *end;

	if (!parse_fd(a[0], &m->listener) || m->listener < 0 || !parse_fd(a[1], &m->cgroup))
		return false;
	errno = 0;
	m->start = strtoull(a[2], &end, 10);
	return *a[2] && !*end && !errno;
}

static int usage(void)
{
	fprintf(stderr, "usage: vert-monitor PIDFD PTYFD LOGDIRFD [--sysinfo LISTENERFD CGROUPFD "
			"START] -- COMMAND...\n"
			"       vert-monitor --sysinfo LISTENERFD CGROUPFD START\n"
			"(started by vert; not meant to be run by hand)\n");
	return 2;
}

int main(int argc, char **argv)
{
	char arg[32], **next;
	siginfo_t si;
	struct monitor_sysinfo sys = MONITOR_SYSINFO_NONE;
	int pidfd, pty, logdir, n, first = 5;

	if (argc == 5 && strcmp(argv[1], "--sysinfo") == 0) {
		if (!parse_sysinfo(argv + 2, &sys))
			return usage();
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		monitor_sysinfo_loop(&sys);
		return 0;
	}
	if (argc >= 10 && strcmp(argv[4], "--sysinfo") == 0) {
		if (!parse_sysinfo(argv + 5, &sys))
			return usage();
		first = 9;
	}
	if (argc < first + 2 || strcmp(argv[first - 1], "--") != 0)
		return usage();
	if (!parse_fd(argv[1], &pidfd) || pidfd < 0 || !parse_fd(argv[2], &pty) ||
	    !parse_fd(argv[3], &logdir))
		return 2;
	/* detached: terminal signals are not ours; stop goes to the init */
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	if (monitor_run(pidfd, pty, logdir, MONITOR_LOG_CAP, &sys, &si) < 0)
		return 1;
	close(pidfd);
	if (logdir >= 0)
		close(logdir);
	if (sys.listener >= 0)
		close(sys.listener);
	if (sys.cgroup >= 0)
		close(sys.cgroup);

	n = argc - first;
	next = calloc((size_t)n + 2, sizeof(char *));
	if (!next)
		return 1;
	memcpy(next, argv + first, (size_t)n * sizeof(char *));
	if (si.si_code == CLD_EXITED)
		snprintf(arg, sizeof(arg), "--exit-code=%d", si.si_status);
	else
		snprintf(arg, sizeof(arg), "--exit-signal=%d", si.si_status);
	next[n] = arg;
	signal(SIGHUP, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	execv(next[0], next);
	fprintf(stderr, "vert-monitor: exec %s: %s\n", next[0], strerror(errno));
	return 1;
}
