/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VE's own /proc and /sys views: meminfo, cpuinfo, stat, uptime,
 * loadavg, diskstats, swaps and /sys/devices/system/cpu/online, derived
 * from the VE's cgroup by lxcfs (the LXC project's FUSE filesystem) and
 * bind-mounted over the VE's own files (ve_compile_spec).
 *
 * vert runs one lxcfs of its own per state root, on <run>/lxcfs/mnt, the
 * way it creates its bridge: the first VE start that wants views starts
 * it, the stop of the last VE using it stops it, so nothing is left
 * running once no VE is.  Each VE using it has an entry in
 * <run>/lxcfs/users/, made and removed under <run>/lxcfs/lock; a crashed
 * VE's entry goes when the next command reconciles it
 * (ve_instance_cleanup).  Not the system's lxcfs.service on
 * /var/lib/lxcfs: its options are the admin's (without --enable-cfs its
 * cpuinfo ignores cpu.max), and so is its lifetime.
 *
 * Where lxcfs can't serve (rootless, no cgroup v2, not installed, no
 * /dev/fuse, it fails to mount), the VE keeps the host's view and vert
 * says why, once.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>

#include "ve-internal.h"
#include "vert/cgroup.h"
#include "vert/util.h"

#define FUSE_MAGIC 0x65735546
#define VIEWS_START_MS 10000 /* bounded wait for lxcfs's mount */
#define VIEWS_STOP_MS 3000   /* ... and for its exit */

const char *const ve_view_files[] = {
	"/proc/meminfo",
	"/proc/cpuinfo",
	"/proc/stat",
	"/proc/uptime",
	"/proc/loadavg",
	"/proc/diskstats",
	"/proc/swaps",
	"/sys/devices/system/cpu/online",
	NULL,
};

static char *views_dir(const struct ve_paths *p, const char *sub)
{
	return xasprintf("%s/lxcfs%s%s", p->run, sub ? "/" : "", sub ? sub : "");
}

/* lxcfs's own cgroup, <base>/.lxcfs@HASH: no VE name starts with a '.',
 * and the hash keeps state roots apart (ve_cgroup_name).  Its controllers
 * are the ones lxcfs sees, and it outlives the session or service of the
 * command that happened to start it. */
static char *helper_cgroup(const struct ve_paths *p)
{
	_cleanup_free_ char *name = ve_cgroup_name(p, ".lxcfs");
	vert_error_t e = VERT_ERROR_INIT;
	char *path = NULL;

	if (cg_helper_cgroup(name, &path, &e) < 0)
		vert_debug("no cgroup for lxcfs: %s", e.msg);
	vert_error_clear(&e);
	return path;
}

/* The lxcfs binary: $VERT_LXCFS, else the first lxcfs on $PATH. */
static char *find_lxcfs(void)
{
	const char *env = getenv("VERT_LXCFS");
	const char *path = getenv("PATH");

	if (env && *env)
		return access(env, X_OK) == 0 ? xstrdup(env) : NULL;
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (const char *s = path; *s;) {
		size_t l = strcspn(s, ":");
		if (l > 0) {
			char *cand = xasprintf("%.*s/lxcfs", (int)l, s);
			if (access(cand, X_OK) == 0)
				return cand;
			free(cand);
		}
		s += l;
		if (*s == ':')
			s++;
	}
	return NULL;
}

static bool is_fuse(const char *mnt)
{
	struct statfs fs;
	return statfs(mnt, &fs) == 0 && (uint32_t)fs.f_type == FUSE_MAGIC;
}

/* The running lxcfs of this state root, from its pidfile, as a pidfd
 * (-1: none). */
static int daemon_pidfd(const struct ve_paths *p)
{
	_cleanup_free_ char *pidfile = views_dir(p, "pid"), *buf = NULL, *comm = NULL;
	_cleanup_free_ char *cpath = NULL;
	uint32_t pid;
	int fd;

	if (read_file_at(AT_FDCWD, pidfile, 64, &buf, NULL) < 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	if (parse_u32(buf, &pid) < 0 || pid == 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (fd < 0)
		return -1;
	/* a recycled pid is not ours */
	cpath = xasprintf("/proc/%u/comm", pid);
	if (read_file_at(AT_FDCWD, cpath, 64, &comm, NULL) < 0 || !str_startswith(comm, "lxcfs")) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The path of lxcfs's cgroup if it exists (no creating it on the way out). */
static char *existing_helper_cgroup(const struct ve_paths *p)
{
	_cleanup_free_ char *name = ve_cgroup_name(p, ".lxcfs");
	struct cg_place pl;
	char *path = NULL;
	struct stat st;

	cg_place_find(false, 0, &pl);
	if (!pl.why_none) {
		path = xasprintf("%s/%s", pl.base, name);
		if (stat(path, &st) < 0) {
			free(path);
			path = NULL;
		}
	}
	cg_place_done(&pl);
	return path;
}

/* Stop this state root's lxcfs and remove its mount point (lock held).
 * The mount goes first (lazily: a VE's reader that still holds a file
 * gets ENOTCONN), then lxcfs with SIGKILL: it keeps nothing worth a clean
 * exit, and its SIGTERM path waits for its loadavg thread's sleep. */
static void stop_daemon(const struct ve_paths *p)
{
	_cleanup_free_ char *mnt = views_dir(p, "mnt"), *pidfile = views_dir(p, "pid");
	_cleanup_close_ int pfd = daemon_pidfd(p);

	/* a dead lxcfs leaves its mount behind (ENOTCONN) */
	if (umount2(mnt, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		vert_debug("unmount '%s': %s", mnt, strerror(errno));
	if (pfd >= 0) {
		struct pollfd pl = { .fd = pfd, .events = POLLIN };
		syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		/* its cgroup goes once it is gone */
		while (poll(&pl, 1, VIEWS_STOP_MS) < 0 && errno == EINTR)
			;
	}
	rmdir(mnt);
	unlink(pidfile);
	{
		/* whatever is left of it goes with its cgroup */
		_cleanup_free_ char *cg = existing_helper_cgroup(p);
		vert_error_t e = VERT_ERROR_INIT;
		if (cg && cg_remove_path(cg, &e) < 0)
			vert_debug("%s", e.msg);
		vert_error_clear(&e);
	}
}

static int lock_views(const struct ve_paths *p)
{
	_cleanup_free_ char *dir = views_dir(p, NULL), *lock = views_dir(p, "lock");
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int e = -errno;
			close(fd);
			return e;
		}
	return fd;
}

/* The grandchild that becomes lxcfs: into its cgroup, stdio to /dev/null
 * and the log, exec.  Its pid and, if it fails before the exec, its errno
 * go to the parent over the pipe rfd (close-on-exec: EOF means exec'd). */
/* libfuse's options for lxcfs: at most 4 worker threads, and only one
 * kept idle.  libfuse 3.14's defaults (10 workers, 10 idle) let workers
 * come and go as requests overlap, each with its own receive buffer, and
 * glibc keeps what they leave in its per-thread arenas: lxcfs grew by
 * ~110 KiB per VE that read its views, against ~5 KiB so (bench/README.md,
 * "/proc views").  max_threads is libfuse 3.12's: an older one refuses
 * it, and lxcfs starts again without (start_daemon). */
#define LXCFS_FUSE_OPTS "max_threads=4,max_idle_threads=1"

static _Noreturn void exec_daemon(int rfd, const char *bin, const char *cg, const char *log,
				  const char *pidfile, const char *mnt, bool lean)
{
	int pid = getpid(), e, nul, lfd;
	sigset_t none;

	if (write(rfd, &pid, sizeof(pid)) != sizeof(pid))
		_exit(127);
	/* without it, lxcfs's cgroup2 mount would reset nsdelegate */
	if ((e = cg_helper_enter(cg)) < 0)
		goto fail;
	/* lxcfs's stdio: with fds 0-2 closed an open lands on one of them,
	 * where dup2 is a no-op that would keep close-on-exec */
	nul = open("/dev/null", O_RDWR);		     /* NOLINT(android-cloexec-open) */
	lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600); /* NOLINT(android-cloexec-open) */
	if (nul < 0 || lfd < 0) {
		e = -errno;
		goto fail;
	}
	dup2(nul, 0);
	dup2(nul, 1);
	dup2(lfd, 2);
	if (dup2(rfd, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0) {
		e = -errno;
		goto fail;
	}
	syscall(SYS_close_range, 4, ~0U, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* --enable-cfs: cpuinfo and cpu/online follow cpu.max; -l: the
	 * loadavg of the VE's own tasks */
	if (lean) {
		/* one malloc arena for all its threads: they take turns */
		setenv("MALLOC_ARENA_MAX", "1", 1);
		execl(bin, "lxcfs", "--enable-cfs", "-l", "-o", LXCFS_FUSE_OPTS, "-p", pidfile, mnt,
		      (char *)NULL);
	} else
		execl(bin, "lxcfs", "--enable-cfs", "-l", "-p", pidfile, mnt, (char *)NULL);
	e = -errno;
	rfd = 3;
fail:
	e = -e;
	(void)!write(rfd, &e, sizeof(e));
	_exit(127);
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait, bounded by VIEWS_START_MS, until lxcfs has mounted mnt (0), or
 * has exited (-1).  No polling interval: the mount table of our mount
 * namespace wakes poll(2) (POLLPRI on /proc/self/mountinfo) at each
 * change, and lxcfs's pidfd at its exit. */
static int wait_mount(const char *mnt, int pidfd)
{
	_cleanup_close_ int mfd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	int64_t end = now_ms() + VIEWS_START_MS;

	for (;;) {
		struct pollfd pl[2] = { { .fd = mfd, .events = POLLPRI },
					{ .fd = pidfd, .events = POLLIN } };
		int64_t left = end - now_ms();
		/* without mountinfo to wake us, look again every 2 ms */
		int tmo = mfd < 0 ? 2 : (int)(left > 0 ? left : 0);

		if (is_fuse(mnt))
			return 0;
		if (left <= 0)
			return -1;
		if (poll(pl, 2, tmo) < 0 && errno != EINTR)
			return -1;
		if (pidfd >= 0 && (pl[1].revents & POLLIN))
			return is_fuse(mnt) ? 0 : -1;
	}
}

/* Start lxcfs on mnt, detached (its own session, reparented to init), and
 * wait for its mount.  On failure, *why says what happened. */
static int start_daemon_opts(const struct ve_paths *p, const char *bin, const char *mnt, bool lean,
			     char **why)
{
	_cleanup_free_ char *pidfile = views_dir(p, "pid"), *log = views_dir(p, "log");
	_cleanup_free_ char *cg = NULL;
	_cleanup_close_ int rfd = -EBADF, wfd = -EBADF, pidfd = -EBADF;
	int fds[2], dpid = 0, e = 0, status, r = -1;
	pid_t pid;

	unlink(pidfile);
	if (!(cg = helper_cgroup(p))) {
		*why = xstrdup("no cgroup of vert's own for lxcfs");
		return -1;
	}
	if (mkdir(mnt, 0755) < 0 && errno != EEXIST) {
		*why = xasprintf("create '%s': %s", mnt, strerror(errno));
		return -1;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		*why = xasprintf("pipe: %s", strerror(errno));
		return -1;
	}
	rfd = fds[0];
	wfd = fds[1];
	pid = fork();
	if (pid < 0) {
		*why = xasprintf("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		exec_daemon(wfd, bin, cg, log, pidfile, mnt, lean);
	}
	close(TAKE_FD(wfd));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (read(rfd, &dpid, sizeof(dpid)) != sizeof(dpid)) {
		*why = xstrdup("lxcfs: its process did not start");
		goto fail;
	}
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)dpid, 0);
	if (read(rfd, &e, sizeof(e)) == sizeof(e)) {
		*why = xasprintf("run '%s': %s", bin, strerror(e));
		goto fail;
	}
	/* exec'd: wait for its mount, or for it to give up */
	if (wait_mount(mnt, pidfd) == 0)
		return 0;
	{
		_cleanup_close_ int lfd = open(log, O_RDONLY | O_CLOEXEC);
		_cleanup_free_ char *last = lfd >= 0 ? fd_last_line(lfd) : NULL;
		*why = xasprintf("lxcfs did not mount '%s'%s%s", mnt, last ? ": " : "",
				 last ? last : "");
	}
	r = -2;
fail:
	if (pidfd >= 0)
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	stop_daemon(p);
	return r;
}

/* Start lxcfs with LXCFS_FUSE_OPTS, or, if it ran but did not mount with
 * them (a libfuse before 3.12), with its defaults. */
static int start_daemon(const struct ve_paths *p, const char *bin, const char *mnt, char **why)
{
	int r = start_daemon_opts(p, bin, mnt, true, why);

	if (r != -2)
		return r;
	vert_debug("%s; again without -o %s", *why, LXCFS_FUSE_OPTS);
	free(*why);
	*why = NULL;
	return start_daemon_opts(p, bin, mnt, false, why) < 0 ? -1 : 0;
}

char *ve_views_acquire(const struct ve_paths *p, const char *name, const char *no_cgroup_why)
{
	_cleanup_free_ char *bin = NULL, *mnt = NULL, *users = NULL, *entry = NULL;
	_cleanup_free_ char *why = NULL;
	_cleanup_close_ int lock = -EBADF, pfd = -EBADF;
	int fd;

	if (p->rootless)
		why = xstrdup("rootless VEs keep the host's view (lxcfs must run as root)");
	else if (no_cgroup_why)
		why = xstrdup(no_cgroup_why);
	else if (!(bin = find_lxcfs()))
		why = xstrdup("lxcfs is not installed (apt-get install lxcfs, or set VERT_LXCFS)");
	else if ((fd = open("/dev/fuse", O_RDWR | O_CLOEXEC)) < 0)
		why = xasprintf("/dev/fuse: %s (modprobe fuse)", strerror(errno));
	else
		close(fd);
	if (why)
		goto none;
	if ((lock = lock_views(p)) < 0) {
		why = xasprintf("lock '%s/lxcfs/lock': %s", p->run, strerror(-lock));
		goto none;
	}
	mnt = views_dir(p, "mnt");
	pfd = daemon_pidfd(p);
	if (pfd < 0 || !is_fuse(mnt)) {
		stop_daemon(p); /* whatever is left of a dead one */
		if (start_daemon(p, bin, mnt, &why) < 0)
			goto none;
	}
	users = views_dir(p, "users");
	if (mkdir(users, 0700) < 0 && errno != EEXIST) {
		why = xasprintf("create '%s': %s", users, strerror(errno));
		goto none;
	}
	entry = xasprintf("%s/%s", users, name);
	fd = open(entry, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		why = xasprintf("create '%s': %s", entry, strerror(errno));
		goto none;
	}
	close(fd);
	return TAKE_PTR(mnt);
none : {
	_cleanup_free_ char *msg = xasprintf("VEs see the host's /proc/meminfo, cpuinfo, uptime "
					     "and the like, not their own: %s",
					     why);
	ve_notice_once(p, "views", msg);
}
	return NULL;
}

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool empty = true;

	if (!d)
		return true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = false;
			break;
		}
	closedir(d);
	return empty;
}

void ve_views_release(const struct ve_paths *p, const char *name)
{
	_cleanup_free_ char *dir = views_dir(p, NULL), *users = views_dir(p, "users");
	_cleanup_free_ char *entry = xasprintf("%s/%s", users, name);
	_cleanup_close_ int lock = -EBADF;
	struct stat st;

	/* no lxcfs was ever started for this state root */
	if (p->rootless || stat(dir, &st) < 0)
		return;
	if ((lock = lock_views(p)) < 0)
		return;
	unlink(entry);
	if (dir_empty(users))
		stop_daemon(p);
}
