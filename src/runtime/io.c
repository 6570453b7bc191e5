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

int rt_relay_prepare(const struct rt_spec *s, struct rt_create_opts *o, struct rt_relay **ret,
		     vert_error_t *err)
{
	int *target[3] = { &o->stdin_fd, &o->stdout_fd, &o->stderr_fd };
	struct rt_relay *r = NULL;

	*ret = NULL;
	if (s->terminal)
		return 0;
	for (int i = 0; i < 3; i++) {
		int p[2];
		if (*target[i] >= 0 || !isatty(i))
			continue;
		if (!r) {
			r = xcalloc(1, sizeof(*r));
			for (int k = 0; k < 3; k++)
				r->fd[k] = r->ve[k] = -EBADF;
		}
		if (pipe2(p, O_CLOEXEC) < 0) {
			rt_relay_free(r);
			return vert_error_sys(err, "pipe for the VE's std%s",
					      i == 0   ? "in"
					      : i == 1 ? "out"
						       : "err");
		}
		/* stdin: the VE reads p[0]; stdout/stderr: it writes p[1] */
		r->ve[i] = i == 0 ? p[0] : p[1];
		r->fd[i] = i == 0 ? p[1] : p[0];
		/* vert never blocks on a VE that doesn't read its stdin */
		if (i == 0)
			fcntl(r->fd[0], F_SETFL, fcntl(r->fd[0], F_GETFL) | O_NONBLOCK);
		*target[i] = r->ve[i];
	}
	*ret = r;
	return 0;
}

void rt_relay_close_ve(struct rt_relay *r)
{
	if (!r)
		return;
	for (int i = 0; i < 3; i++)
		if (r->ve[i] >= 0) {
			close(r->ve[i]);
			r->ve[i] = -EBADF;
		}
}

void rt_relay_free(struct rt_relay *r)
{
	if (!r)
		return;
	rt_relay_close_ve(r);
	for (int i = 0; i < 3; i++)
		if (r->fd[i] >= 0)
			close(r->fd[i]);
	free(r);
}

static void relay_close(struct rt_relay *r, int i)
{
	close(r->fd[i]);
	r->fd[i] = -EBADF;
}

/* stdin -> the VE: read only when the last read is written */
static void relay_stdin(struct rt_relay *r, short in_revents, short out_revents)
{
	if (r->len == 0 && (in_revents & (POLLIN | POLLHUP | POLLERR))) {
		/* in the background of a job-controlled shell: EIO, not a
		 * stop (SIGTTIN is ignored while vert waits), and that ends
		 * the VE's stdin */
		ssize_t n = read(STDIN_FILENO, r->buf, sizeof(r->buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			relay_close(r, 0);
			return;
		}
		r->len = (size_t)n;
		r->off = 0;
	}
	if (r->len > 0 && (out_revents & (POLLOUT | POLLERR | POLLHUP))) {
		ssize_t n = write(r->fd[0], r->buf + r->off, r->len - r->off);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			/* the VE closed its stdin; take back the SIGPIPE this
			 * write queued, it is ours and not the VE's */
			sigset_t pipe_set;
			struct timespec zero = { 0 };
			sigemptyset(&pipe_set);
			sigaddset(&pipe_set, SIGPIPE);
			sigtimedwait(&pipe_set, NULL, &zero);
			relay_close(r, 0);
			r->len = 0;
			return;
		}
		r->off += (size_t)n;
		if (r->off == r->len)
			r->len = 0;
	}
}

/* What the VE wrote and vert has not relayed yet, once it exited (its
 * children may keep the pipes open: never wait for their EOF). */
static void relay_drain(struct rt_relay *r)
{
	for (int i = 1; i < 3; i++) {
		if (r->fd[i] < 0)
			continue;
		fcntl(r->fd[i], F_SETFL, fcntl(r->fd[i], F_GETFL) | O_NONBLOCK);
		for (int k = 0; k < 1024; k++) {
			char buf[16384];
			ssize_t n = read(r->fd[i], buf, sizeof(buf));
			if (n <= 0 || write_all(i, buf, (size_t)n) < 0)
				break;
		}
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
	struct rt_relay *rl = c->relay;
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
	if (rl && rl->fd[0] >= 0)
		signal(SIGTTIN, SIG_IGN);

	for (;;) {
		struct pollfd p[8] = {
			{ .fd = c->pidfd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = c->pty_master, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -EBADF, .events = POLLIN },
			{ .fd = rl && rl->fd[0] >= 0 && rl->len == 0 ? STDIN_FILENO : -EBADF,
			  .events = POLLIN },
			{ .fd = rl && rl->len > 0 ? rl->fd[0] : -EBADF, .events = POLLOUT },
			{ .fd = rl ? rl->fd[1] : -EBADF, .events = POLLIN },
			{ .fd = rl ? rl->fd[2] : -EBADF, .events = POLLIN },
		};
		int n = poll(p, 8, -1);

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
		if (rl) {
			relay_stdin(rl, p[4].revents, p[5].revents);
			for (int i = 1; i < 3; i++)
				if ((p[5 + i].revents & (POLLIN | POLLHUP | POLLERR)) &&
				    pump(rl->fd[i], i) < 0)
					relay_close(rl, i);
		}
		if (p[0].revents & POLLIN)
			break;
	}
	if (c->pty_master >= 0)
		drain(c->pty_master);
	if (rl)
		relay_drain(rl);
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
