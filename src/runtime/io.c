/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Waiting for a VE's init: signal forwarding and the terminal proxy.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "rt-internal.h"
#include "vert/util.h"

static bool sig_default_fatal(int sig)
{
	switch (sig) {
	case SIGCHLD:
	case SIGCONT:
	case SIGURG:
	case SIGWINCH:
	case SIGSTOP:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
		return false;
	default:
		return true;
	}
}

/* The signals pid blocks, ignores and catches (/proc/PID/status, one
 * read: the three masks of one moment). */
static int read_sigmasks(pid_t pid, uint64_t *blk, uint64_t *ign, uint64_t *cgt)
{
	static const char *const keys[] = { "SigBlk:", "SigIgn:", "SigCgt:" };
	uint64_t *out[] = { blk, ign, cgt };
	char path[64], line[256];
	_cleanup_fclose_ FILE *f = NULL;
	unsigned found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (found != 7 && fgets(line, sizeof(line), f))
		for (size_t i = 0; i < 3; i++)
			if (strncmp(line, keys[i], 7) == 0) {
				*out[i] = strtoull(line + 7, NULL, 16);
				found |= 1U << i;
			}
	return found == 7 ? 0 : -ENOENT;
}

/* An init that waits for signals in sigtimedwait() (busybox init does)
 * has them unblocked only for the wait, where /proc can't show the set:
 * such a wait means it takes signals itself. */
static bool in_sigtimedwait(pid_t pid)
{
	char path[64], buf[64];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	return strtol(buf, NULL, 10) == SYS_rt_sigtimedwait;
}

int rt_signal_init(int pidfd, pid_t pid, int sig, bool *ret_emulated)
{
	uint64_t cgt = 0, ign = 0, blk = 0, bit = 1ULL << (sig - 1);
	int s = sig;

	if (ret_emulated)
		*ret_emulated = false;
	if (sig_default_fatal(sig) && sig != SIGKILL && read_sigmasks(pid, &blk, &ign, &cgt) == 0 &&
	    !((cgt | ign | blk) & bit) && !in_sigtimedwait(pid)) {
		/* the kernel would drop it (namespace init, default action):
		 * carry out the default action, as outside a VE */
		s = SIGKILL;
		if (ret_emulated)
			*ret_emulated = true;
	}
	if (syscall(SYS_pidfd_send_signal, pidfd, s, NULL, 0) < 0)
		return -errno;
	return 0;
}

struct tty_state {
	bool raw;
	struct termios saved;
};

static void tty_restore(struct tty_state *t)
{
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &t->saved);
	t->raw = false;
}

static void tty_make_raw(struct tty_state *t)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->saved) < 0)
		return;
	raw = t->saved;
	cfmakeraw(&raw);
	raw.c_oflag = t->saved.c_oflag; /* keep output post-processing */
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0)
		t->raw = true;
}

static void copy_winsize(int master)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

/* Move what is available from in to out; returns -1 on EOF/error. */
static int pump(int in, int out)
{
	char buf[16384];
	ssize_t n = read(in, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	if (write_all(out, buf, (size_t)n) < 0)
		return -1;
	return 0;
}

static void drain(int master)
{
	int fl = fcntl(master, F_GETFL);
	fcntl(master, F_SETFL, fl | O_NONBLOCK);
	for (int i = 0; i < 1024; i++) {
		char buf[16384];
		ssize_t n = read(master, buf, sizeof(buf));
		if (n <= 0)
			break;
		if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			break;
	}
}

static const int forwarded[] = { SIGINT,  SIGTERM,  SIGHUP,  SIGQUIT, SIGUSR1,
				 SIGUSR2, SIGWINCH, SIGPIPE, SIGALRM, SIGCONT };

void rt_block_forwarded_signals(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

int rt_container_wait(struct rt_container *c, int *ret_status, vert_error_t *err)
{
	struct tty_state tty = { 0 };
	_cleanup_close_ int sfd = -EBADF;
	bool stdin_open = c->pty_master >= 0, hung_up = false;
	int emulated = 0;
	sigset_t set;
	siginfo_t si;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return vert_error_sys(err, "signalfd");

	if (c->pty_master >= 0) {
		tty_make_raw(&tty);
		copy_winsize(c->pty_master);
	}

	for (;;) {
		struct pollfd p[4] = {
			{ .fd = c->pidfd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = c->pty_master, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -EBADF, .events = POLLIN },
		};
		int n = poll(p, 4, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			tty_restore(&tty);
			return vert_error_sys(err, "poll");
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo ssi;
			while (read(sfd, &ssi, sizeof(ssi)) == sizeof(ssi)) {
				int sig = (int)ssi.ssi_signo;
				bool em = false;
				if (sig == SIGWINCH) {
					if (c->pty_master >= 0)
						copy_winsize(c->pty_master);
					continue;
				}
				if (c->session && (sig == SIGTERM || sig == SIGHUP) && hung_up) {
					/* asked twice: end it */
					syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
					continue;
				}
				if (rt_signal_init(c->pidfd, c->pid, sig, &em) == 0 && em)
					emulated = sig;
				if (c->session && (sig == SIGTERM || sig == SIGHUP) &&
				    c->pty_master >= 0) {
					/* hang up: the kernel sends SIGHUP to the
					 * session, which interactive shells obey */
					drain(c->pty_master);
					close(c->pty_master);
					c->pty_master = -EBADF;
					stdin_open = false;
					hung_up = true;
				}
			}
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (pump(c->pty_master, STDOUT_FILENO) < 0) {
				/* EIO: every slave fd is closed; wait for the exit */
				close(c->pty_master);
				c->pty_master = -EBADF;
				stdin_open = false;
			}
		}
		if (p[3].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (c->pty_master >= 0 && pump(STDIN_FILENO, c->pty_master) < 0) {
				/* stdin closed: send the terminal's end-of-file
				 * character (^D unless the VE side changed it) */
				struct termios t;
				char eof = 4;
				if (tcgetattr(c->pty_master, &t) == 0 && t.c_cc[VEOF])
					eof = (char)t.c_cc[VEOF];
				if (write(c->pty_master, &eof, 1) < 0)
					(void)0;
				stdin_open = false;
			}
		}
		if (p[0].revents & POLLIN)
			break;
	}
	if (c->pty_master >= 0)
		drain(c->pty_master);
	tty_restore(&tty);

	memset(&si, 0, sizeof(si));
	while (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED) < 0) {
		if (errno != EINTR)
			return vert_error_sys(err, "wait for the VE");
	}
	if (si.si_code == CLD_EXITED)
		*ret_status = si.si_status;
	else if (emulated && si.si_status == SIGKILL)
		*ret_status = 128 + emulated;
	else
		*ret_status = 128 + si.si_status;
	return 0;
}
