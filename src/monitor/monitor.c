/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
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

/* ---- sysinfo(2) for the VE ---- */

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#define NATIVE_AUDIT_ARCH 0 /* unknown here: every call goes to the kernel */
#endif

/* A cgroup file of dir, NUL-terminated in buf; false when it can't be read. */
static bool cg_read(int dir, const char *name, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	if (dir < 0 || (fd = openat(dir, name, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* A cgroup file's number; "max" and absence give -1. */
static long long cg_num(int dir, const char *name)
{
	char buf[64];

	if (!cg_read(dir, name, buf, sizeof(buf)) || strncmp(buf, "max", 3) == 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

/* A key of memory.stat, or 0. */
static unsigned long long cg_stat(int dir, const char *key)
{
	char buf[4096], *p;
	size_t kl = strlen(key);

	if (!cg_read(dir, "memory.stat", buf, sizeof(buf)))
		return 0;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
			return strtoull(p + kl + 1, NULL, 10);
	return 0;
}

/* The host's figures with the VE's on top, in bytes (mem_unit 1). */
static void ve_sysinfo(const struct monitor_sysinfo *m, struct sysinfo *si)
{
	unsigned long long unit, total, swap, v;
	long long max, cur;
	struct timespec now;
	long hz = sysconf(_SC_CLK_TCK);

	sysinfo(si);
	unit = si->mem_unit ? si->mem_unit : 1;
	total = si->totalram * unit;
	swap = si->totalswap * unit;
	si->totalram *= unit;
	si->freeram *= unit;
	si->sharedram *= unit;
	si->bufferram *= unit;
	si->totalswap *= unit;
	si->freeswap *= unit;
	si->totalhigh = si->freehigh = 0;
	si->mem_unit = 1;

	if ((max = cg_num(m->cgroup, "memory.max")) >= 0 && (unsigned long long)max < total)
		total = (unsigned long long)max;
	if ((cur = cg_num(m->cgroup, "memory.current")) >= 0) {
		si->totalram = total;
		si->freeram = (unsigned long long)cur < total ? total - (unsigned long long)cur : 0;
		si->sharedram = cg_stat(m->cgroup, "shmem");
		si->bufferram = 0;
	}
	if ((cur = cg_num(m->cgroup, "memory.swap.current")) >= 0) {
		if ((max = cg_num(m->cgroup, "memory.swap.max")) >= 0 &&
		    (unsigned long long)max < swap)
			swap = (unsigned long long)max;
		si->totalswap = swap;
		si->freeswap = (unsigned long long)cur < swap ? swap - (unsigned long long)cur : 0;
	}
	if ((cur = cg_num(m->cgroup, "pids.current")) >= 0)
		si->procs = (unsigned short)(cur > 65535 ? 65535 : cur);
	if (m->start && hz > 0 && clock_gettime(CLOCK_BOOTTIME, &now) == 0) {
		v = m->start / (unsigned long long)hz;
		si->uptime = (unsigned long long)now.tv_sec > v ? (long)(now.tv_sec - (long)v) : 0;
	}
}

/* The answers are made outside the VE's cgroup, on the host's CPU time:
 * a VE calling sysinfo(2) in a loop must not get more of it than its
 * limits give it.  Past this many answers a second, the next ones wait
 * for the second to end (and so do the VE's callers). */
#define SYSINFO_PER_SEC 2000

static void throttle(void)
{
	static time_t window;
	static unsigned count;
	struct timespec now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
		return;
	if (now.tv_sec != window) {
		window = now.tv_sec;
		count = 0;
	}
	if (++count <= SYSINFO_PER_SEC)
		return;
	{
		struct timespec rest = { 0, 1000000000L - now.tv_nsec };
		while (nanosleep(&rest, &rest) < 0 && errno == EINTR)
			;
	}
	window = 0;
}

/* The CPUs a VE's cpu.max quota is worth, rounded up; 0 without one. */
static unsigned cpu_quota(int dir)
{
	char buf[64];
	long long quota, period;

	if (!cg_read(dir, "cpu.max", buf, sizeof(buf)) ||
	    sscanf(buf, "%lld %lld", &quota, &period) != 2 || quota <= 0 || period <= 0)
		return 0; /* "max": no quota */
	return (unsigned)((quota + period - 1) / period);
}

/* sched_getaffinity(2) of the caller itself (pid 0): its real mask cut
 * down to as many CPUs as its --cpus quota is worth, so that nproc, Go's
 * GOMAXPROCS and thread pools sized from it agree with cpuinfo.  Which of
 * its CPUs it is told of goes round with the VE (its cgroup's inode), so
 * one-CPU VEs that pin themselves by what they read don't all stack on
 * the first.  Returns 1 for the kernel's own answer, 0 with the mask in
 * buf (*ret_n bytes), or -errno. */
static int ve_affinity(const struct monitor_sysinfo *m, const struct seccomp_notif *req,
		       unsigned char *buf, size_t cap, size_t *ret_n)
{
	size_t len = (size_t)req->data.args[1] < cap ? (size_t)req->data.args[1] : cap;
	unsigned want = cpu_quota(m->cgroup), count = 0, first, k = 0;
	struct stat st;
	long r;

	if (req->data.args[0] != 0 || want == 0)
		return 1; /* another task's mask, or no quota */
	r = syscall(SYS_sched_getaffinity, (pid_t)req->pid, len, buf);
	if (r < 0)
		return -errno;
	for (long i = 0; i < r * 8; i++)
		count += (buf[i / 8] >> (i % 8)) & 1;
	if (count <= want)
		return 1;
	first = fstat(m->cgroup, &st) == 0 ? (unsigned)(st.st_ino % count) : 0;
	for (long i = 0; i < r * 8; i++) {
		if (!((buf[i / 8] >> (i % 8)) & 1))
			continue;
		/* the k-th CPU of the mask stays when it is one of want from first */
		if ((k + count - first) % count >= want)
			buf[i / 8] &= (unsigned char)~(1u << (i % 8));
		k++;
	}
	*ret_n = (size_t)r;
	return 0;
}

int monitor_sysinfo_serve(const struct monitor_sysinfo *m)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	union {
		struct sysinfo si;
		unsigned char b[8192];
	} ans;
	uint64_t addr = 0;
	size_t n = 0;
	char path[64];
	int fd, r;

	memset(&req, 0, sizeof(req));
	if (ioctl(m->listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
		/* ENOENT: the caller went away (a signal) before we read it */
		return errno == EINTR || errno == ENOENT ? 0 : -1;
	memset(&resp, 0, sizeof(resp));
	resp.id = req.id;
	if (req.data.arch != NATIVE_AUDIT_ARCH) {
		/* a 32-bit caller's struct is another shape: the kernel's answer */
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	} else if (req.data.nr == SYS_sysinfo) {
		ve_sysinfo(m, &ans.si);
		n = sizeof(ans.si);
		addr = req.data.args[0];
	} else if (req.data.nr == SYS_sched_getaffinity &&
		   (r = ve_affinity(m, &req, ans.b, sizeof(ans.b), &n)) <= 0) {
		if (r < 0)
			resp.error = r;
		else
			resp.val = (int64_t)n;
		addr = req.data.args[2];
	} else {
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	}
	if (n > 0) {
		/* the caller's memory through its mem file, opened before the
		 * check that the request still stands: a pid reused meanwhile
		 * fails the check instead of getting the write */
		snprintf(path, sizeof(path), "/proc/%u/mem", req.pid);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (ioctl(m->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) < 0) {
			if (fd >= 0)
				close(fd);
			return 0;
		}
		if (fd < 0) {
			resp.val = 0;
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		} else if (pwrite(fd, ans.b, n, (off_t)addr) != (ssize_t)n) {
			resp.val = 0;
			resp.error = -EFAULT;
		}
		if (fd >= 0)
			close(fd);
	}
	if (ioctl(m->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
		return -1;
	throttle();
	return 0;
}

void monitor_sysinfo_loop(const struct monitor_sysinfo *m)
{
	for (;;) {
		struct pollfd p = { .fd = m->listener, .events = POLLIN };
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if ((p.revents & POLLIN) && monitor_sysinfo_serve(m) < 0)
			return;
		/* POLLHUP: no process uses the filter any more */
		if (!(p.revents & POLLIN) && (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
			return;
	}
}

int monitor_run(int pidfd, int pty, int logdir, size_t cap, struct monitor_sysinfo *sys,
		siginfo_t *ret)
{
	struct log l = { .dir = logdir, .fd = -EBADF, .cap = cap };
	int peer = -EBADF, listener = sys ? sys->listener : -EBADF;

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
		struct pollfd p[3] = {
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = pty, .events = POLLIN },
			{ .fd = listener, .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0) {
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
		if (p[2].revents & POLLIN) {
			if (monitor_sysinfo_serve(sys) < 0)
				listener = -EBADF;
		} else if (p[2].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			listener = -EBADF; /* nobody left to ask; poll ignores < 0 */
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
