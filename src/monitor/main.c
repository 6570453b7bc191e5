/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vert-monitor PIDFD PTYFD LOGDIRFD -- NEXT...
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

int main(int argc, char **argv)
{
	char arg[32], **next;
	siginfo_t si;
	int pidfd, pty, logdir, n;

	if (argc < 6 || strcmp(argv[4], "--") != 0) {
		fprintf(stderr, "usage: vert-monitor PIDFD PTYFD LOGDIRFD -- COMMAND...\n"
				"(started by vert; not meant to be run by hand)\n");
		return 2;
	}
	if (!parse_fd(argv[1], &pidfd) || pidfd < 0 || !parse_fd(argv[2], &pty) ||
	    !parse_fd(argv[3], &logdir))
		return 2;
	/* detached: terminal signals are not ours; stop goes to the init */
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	if (monitor_run(pidfd, pty, logdir, MONITOR_LOG_CAP, &si) < 0)
		return 1;
	close(pidfd);
	if (logdir >= 0)
		close(logdir);

	n = argc - 5;
	next = calloc((size_t)n + 2, sizeof(char *));
	if (!next)
		return 1;
	memcpy(next, argv + 5, (size_t)n * sizeof(char *));
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
