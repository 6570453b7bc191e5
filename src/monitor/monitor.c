/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor.h"

struct log {
	int dir, fd;
	size_t size, cap;
};

static void log_open(struct log *l)
{
	struct stat st;

	if (l->dir < 0)
		return;
	l->fd = openat(l->dir, MONITOR_LOG_NAME,
		       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	l->size = (l->fd >= 0 && fstat(l->fd, &st) == 0) ? (size_t)st.st_size : 0;
}

static void log_write(struct log *l, const char *buf, size_t n)
{
	if (l->fd < 0)
		return;
	if (l->size + n > l->cap) {
		/* keep one old generation: bounded disk use, recent history kept */
		close(l->fd);
		renameat(l->dir, MONITOR_LOG_NAME, l->dir, MONITOR_LOG_NAME ".1");
		log_open(l);
		if (l->fd < 0)
			return;
	}
	while (n > 0) {
		ssize_t w = write(l->fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
		l->size += (size_t)w;
	}
}

/* Returns -1 once the pty has no writer left (EIO) or fails. */
static int pump(int pty, struct log *l)
{
	char buf[8192];
	ssize_t n = read(pty, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	log_write(l, buf, (size_t)n);
	return 0;
}

int monitor_run(int pidfd, int pty, int logdir, size_t cap, siginfo_t *ret)
{
	struct log l = { .dir = logdir, .fd = -EBADF, .cap = cap };
	int peer = -EBADF;

	log_open(&l);
	if (pty >= 0) {
		fcntl(pty, F_SETFL, fcntl(pty, F_GETFL) | O_NONBLOCK);
		/* Hold the console's other end open, as a real console always
		 * is: when every process in the VE has closed it (systemd does,
		 * once its journal runs), the master would read EIO and, closed,
		 * leave /dev/console unopenable (EIO) for the VE's getty. */
		peer = ioctl(pty, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	}
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = pty, .events = POLLIN },
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (pump(pty, &l) < 0) {
				/* every writer closed the console: keep waiting
				 * for the exit without spinning on POLLHUP */
				close(pty);
				pty = -EBADF;
			}
		}
		if (p[0].revents & POLLIN)
			break;
	}
	while (pty >= 0 && pump(pty, &l) == 0) {
		/* drain what the VE wrote before it died */
		struct pollfd q = { .fd = pty, .events = POLLIN };
		if (poll(&q, 1, 0) <= 0)
			break;
	}
	if (l.fd >= 0)
		close(l.fd);
	if (peer >= 0)
		close(peer);
	memset(ret, 0, sizeof(*ret));
	while (waitid(P_PIDFD, (id_t)pidfd, ret, WEXITED) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}
