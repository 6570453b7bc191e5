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

/* Run until the process behind pidfd (our child) exits; its wait status
 * goes to *ret.  pty: the console master, or negative (-EBADF) without.
 * logdir: where console.log lives, or negative to discard.  Returns 0, or
 * -errno. */
int monitor_run(int pidfd, int pty, int logdir, size_t cap, siginfo_t *ret);

#endif
