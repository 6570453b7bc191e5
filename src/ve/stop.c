/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stopping a VE: the stop signal, then, after the timeout, everything in
 * the VE is killed.  Returns only when the VE is fully down: its init
 * gone, its supervisor done cleaning up (or cleaned up here when the
 * supervisor is gone too).
 *
 * A "stopping" marker in the runtime dir tells the supervisor not to
 * treat the init's death as a reboot.  Whatever init is current gets the
 * signal: a VE rebooting from inside while the stop arrives is stopped
 * in its next incarnation.
 */
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "ve-internal.h"
#include "vert/cgroup.h"
#include "vert/runtime.h"
#include "vert/util.h"

/* systemd stops cleanly on SIGRTMIN+3; other inits (busybox, sysvinit,
 * a plain command) on SIGTERM. */
static int auto_stop_signal(pid_t pid)
{
	char path[64], buf[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		if (strcmp(basename(buf), "systemd") == 0)
			return SIGRTMIN + 3;
	}
	return SIGTERM;
}

static void kill_everything(const struct ve_state *s, int init_pidfd)
{
	/* cgroup.kill reaches processes that left the pid namespace's
	 * tree (none should) in one go; killing the init makes the kernel
	 * kill every process of its pid namespace */
	if (s->cgroup)
		cg_kill(s->cgroup);
	syscall(SYS_pidfd_send_signal, init_pidfd, SIGKILL, NULL, 0);
}

int ve_stop_locked(struct ve_handle *h, int timeout, vert_error_t *err)
{
	const struct ve_paths *p = h->p;
	const char *name = h->name;
	_cleanup_free_ char *marker = NULL;
	_cleanup_close_ int sup = -EBADF, fd = -EBADF;
	struct ve_state s;
	uint64_t deadline, sup_deadline;
	pid_t signalled = 0;
	bool killed = false;
	int r, sig;

	if ((r = ve_handle_config(h, err)) < 0)
		return r;
	if (timeout < 0)
		timeout = h->cfg.stop_timeout >= 0 ? h->cfg.stop_timeout : VE_DEFAULT_STOP_TIMEOUT;
	sig = h->cfg.stop_signal;

	if ((r = ve_state_read(p, name, &s, err)) < 0 && r != -ENOENT)
		return r; /* a broken state: whether it runs is unknown */
	if (r < 0 || !ve_state_running(&s)) {
		ve_state_done(&s);
		ve_reconcile_locked(h);
		return vert_error_set(err, ESRCH, VERT_ERR_NOTRUNNING, "VE '%s' is not running",
				      name);
	}
	marker = xasprintf("%s/stopping", h->run_dir);
	fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(TAKE_FD(fd));
	sup = ve_pidfd_open_alive(s.supervisor_pid, s.supervisor_start_time);
	ve_state_done(&s);

	deadline = now_ns() + (uint64_t)timeout * 1000000000ULL;
	/* the supervisor's cleanup is quick; don't wait forever on a wedged one */
	sup_deadline = deadline + 30ULL * 1000000000ULL;
	for (;;) {
		_cleanup_close_ int init = -EBADF;
		uint64_t now = now_ns();
		struct pollfd pf;

		if (ve_state_read(p, name, &s, NULL) < 0)
			memset(&s, 0, sizeof(s));
		init = ve_pidfd_open_alive(s.pid, s.start_time);
		if (init >= 0) {
			if (signalled != s.pid) {
				int use = sig > 0 ? sig : auto_stop_signal(s.pid);
				rt_signal_init(init, s.pid, use, NULL);
				signalled = s.pid;
			}
			if (now >= deadline && !killed) {
				kill_everything(&s, init);
				killed = true;
			}
			pf = (struct pollfd){ .fd = init, .events = POLLIN };
			poll(&pf, 1, now >= deadline ? 100 : 50);
			ve_state_done(&s);
			continue;
		}
		ve_state_done(&s);
		if (sup < 0)
			break;
		pf = (struct pollfd){ .fd = sup, .events = POLLIN };
		if (poll(&pf, 1, 50) > 0)
			break; /* the supervisor finished */
		if (now >= sup_deadline) {
			vert_log(VERT_LOG_WARNING,
				 "VE '%s': supervisor did not finish; cleaning up without it",
				 name);
			syscall(SYS_pidfd_send_signal, sup, SIGKILL, NULL, 0);
			break;
		}
	}
	/* what a dead supervisor could not do, and the marker */
	ve_reconcile_locked(h);
	unlink(marker);
	return 0;
}

int ve_stop(struct ve_handle *h, int timeout, vert_error_t *err)
{
	int r;

	if ((r = ve_handle_lock(h, false, err)) < 0)
		return r;
	r = ve_stop_locked(h, timeout, err);
	/* an --rm VE is gone now: so goes its lock file */
	ve_handle_unlock(h, VE_UNLOCK_AUTO);
	return r;
}
