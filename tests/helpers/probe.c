/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vert-probe: a static helper bind-mounted into VEs by the integration
 * tests.  It asks the kernel directly what busybox can't:
 *   vert-probe syscalls          try blocked syscalls, print NAME=errno
 *   vert-probe fds               list open fds with their targets
 *   vert-probe zombies N         leave N orphaned zombies, print "ok"
 *   vert-probe exe-write         try to open /proc/1/exe for writing
 *   vert-probe deep DIR N        make DIR/d/d/... N levels deep, print "ok"
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void try(const char *name, long nr, long a, long b, long c, long d, long e)
{
	long r = syscall(nr, a, b, c, d, e);
	printf("%s=%s\n", name, r < 0 ? strerrorname_np(errno) : "allowed");
}

static int syscalls(void)
{
	char desc[] = "vert-test";
	try("add_key", SYS_add_key, (long)"user", (long)desc, (long)"x", 1, -2 /* session */);
	try("keyctl", SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 0, 0, 0);
	try("userfaultfd", SYS_userfaultfd, 0, 0, 0, 0, 0);
	try("io_uring_setup", SYS_io_uring_setup, 1, 0, 0, 0, 0);
	try("bpf", SYS_bpf, 0, 0, 0, 0, 0);
	try("perf_event_open", SYS_perf_event_open, 0, 0, -1, -1, 0);
	try("kexec_load", SYS_kexec_load, 0, 0, 0, 0, 0);
	try("init_module", SYS_init_module, 0, 0, (long)"", 0, 0);
	try("open_by_handle_at", SYS_open_by_handle_at, -1, 0, 0, 0, 0);
	try("swapoff", SYS_swapoff, (long)"/nonexistent", 0, 0, 0, 0);
	try("acct", SYS_acct, 0, 0, 0, 0, 0);
	try("clock_settime", SYS_clock_settime, 0, 0, 0, 0, 0);
	/* a harmless one that must work */
	try("getpid", SYS_getpid, 0, 0, 0, 0, 0);
	return 0;
}

static int fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self = dirfd(d);
	while ((de = readdir(d))) {
		char p[PATH_MAX], t[PATH_MAX];
		ssize_t n;
		if (de->d_name[0] == '.' || atoi(de->d_name) == self)
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%s", de->d_name);
		n = readlink(p, t, sizeof(t) - 1);
		t[n > 0 ? n : 0] = '\0';
		printf("%s %s\n", de->d_name, t);
	}
	closedir(d);
	return 0;
}

static int zombies(int n)
{
	/* children that exit while we never wait: once we exit they are
	 * reparented to PID 1, which must reap them */
	for (int i = 0; i < n; i++)
		if (fork() == 0)
			_exit(0);
	usleep(100000);
	puts("ok");
	return 0;
}

static int exe_write(void)
{
	int fd = open("/proc/1/exe", O_WRONLY);
	printf("%s\n", fd < 0 ? strerrorname_np(errno) : "opened");
	return 0;
}

/* Relative to an fd per level: no path length limit, one fd open. */
static int deep(const char *dir, long n)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	for (long i = 0; fd >= 0 && i < n; i++) {
		int c;
		if (mkdirat(fd, "d", 0755) < 0 && errno != EEXIST)
			break;
		c = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		close(fd);
		fd = c;
	}
	if (fd < 0) {
		perror("deep");
		return 1;
	}
	close(fd);
	puts("ok");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "syscalls") == 0)
		return syscalls();
	if (argc >= 2 && strcmp(argv[1], "fds") == 0)
		return fds();
	if (argc >= 3 && strcmp(argv[1], "zombies") == 0)
		return zombies(atoi(argv[2]));
	if (argc >= 2 && strcmp(argv[1], "exe-write") == 0)
		return exe_write();
	if (argc >= 4 && strcmp(argv[1], "deep") == 0)
		return deep(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: vert-probe syscalls|fds|zombies N|exe-write|deep DIR N\n");
	return 2;
}
