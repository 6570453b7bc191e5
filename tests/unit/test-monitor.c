/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The monitor loop: console to a size-capped log, exit status; sysinfo(2)
 * answered from a cgroup. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>

#include "../../src/monitor/monitor.h"
#include "vert/fs.h"
#include "vert/util.h"

static void test_log_and_status(void **state)
{
	char dir[] = "/tmp/vert-mon-XXXXXX";
	int pfd[2], pidfd, dfd;
	siginfo_t si;
	struct stat a, b;
	pid_t pid;
	char *log = NULL;
	size_t n;
	(void)state;

	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_PATH | O_DIRECTORY);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		/* 3000 lines of 1000 bytes: three rotations with a 1 MiB cap */
		char line[1000];
		close(pfd[0]);
		memset(line, 'x', sizeof(line) - 1);
		line[sizeof(line) - 1] = '\n';
		for (int i = 0; i < 3000; i++)
			if (write(pfd[1], line, sizeof(line)) != sizeof(line))
				_exit(1);
		if (write(pfd[1], "the end\n", 8) != 8)
			_exit(1);
		_exit(7);
	}
	close(pfd[1]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(pidfd >= 0);
	assert_int_equal(monitor_run(pidfd, pfd[0], dfd, MONITOR_LOG_CAP, NULL, &si), 0);
	assert_int_equal(si.si_code, CLD_EXITED);
	assert_int_equal(si.si_status, 7);

	assert_int_equal(fstatat(dfd, MONITOR_LOG_NAME, &a, 0), 0);
	assert_int_equal(fstatat(dfd, MONITOR_LOG_NAME ".1", &b, 0), 0);
	assert_true((size_t)a.st_size <= MONITOR_LOG_CAP);
	assert_true((size_t)b.st_size <= MONITOR_LOG_CAP);
	/* only the newest output is kept, and nothing of it is lost */
	assert_int_equal(read_file_at(dfd, MONITOR_LOG_NAME, 1 << 22, &log, &n), 0);
	assert_true(n >= 8);
	assert_memory_equal(log + n - 8, "the end\n", 8);
	free(log);
	close(pidfd);
	close(dfd);
	fs_rm_rf(dir);
}

static void test_signal_no_pty(void **state)
{
	siginfo_t si;
	pid_t pid;
	int pidfd;
	(void)state;

	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	kill(pid, SIGHUP);
	/* no console, no log dir: just the status */
	assert_int_equal(monitor_run(pidfd, -1, -1, MONITOR_LOG_CAP, NULL, &si), 0);
	assert_int_equal(si.si_code, CLD_KILLED);
	assert_int_equal(si.si_status, SIGHUP);
	close(pidfd);
}

static void put(const char *dir, const char *name, const char *val)
{
	char *p = NULL;
	FILE *f;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	assert_non_null(f = fopen(p, "w"));
	fputs(val, f);
	fclose(f);
	free(p);
}

/* A process whose sysinfo(2) goes to a listener (as a VE's does) gets the
 * figures of a cgroup directory: here a plain one with the same files. */
static void test_sysinfo_from_cgroup(void **state)
{
	char dir[] = "/tmp/vert-si-XXXXXX";
	struct monitor_sysinfo m = MONITOR_SYSINFO_NONE;
	struct sysinfo got, host;
	int fdpipe[2], outpipe[2], pidfd, cfd = -1;
	pid_t pid;
	(void)state;

	assert_non_null(mkdtemp(dir));
	put(dir, "memory.max", "67108864\n");
	put(dir, "memory.current", "16777216\n");
	put(dir, "memory.stat", "anon 100\nfile 200\nshmem 4096\nshmem_thp 0\n");
	put(dir, "memory.swap.max", "max\n");
	put(dir, "memory.swap.current", "0\n");
	put(dir, "pids.current", "3\n");
	put(dir, "cpu.max", "100000 100000\n");
	assert_int_equal(pipe(fdpipe), 0);
	assert_int_equal(pipe(outpipe), 0);
	pid = fork();
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 4),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sysinfo, 1, 0),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sched_getaffinity, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
		struct sysinfo si;
		int l;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    (l = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				      SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog)) < 0)
			_exit(1);
		if (write(fdpipe[1], &l, sizeof(l)) != sizeof(l))
			_exit(2);
		if (sysinfo(&si) < 0 || write(outpipe[1], &si, sizeof(si)) != sizeof(si))
			_exit(3);
		{
			cpu_set_t set;
			int c;
			CPU_ZERO(&set);
			c = sched_getaffinity(0, sizeof(set), &set) < 0 ? -1 : CPU_COUNT(&set);
			if (write(outpipe[1], &c, sizeof(c)) != sizeof(c))
				_exit(4);
		}
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(read(fdpipe[0], &m.listener, sizeof(int)), sizeof(int));
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(pidfd >= 0);
	m.listener = (int)syscall(SYS_pidfd_getfd, pidfd, m.listener, 0);
	assert_true(m.listener >= 0);
	m.cgroup = cfd = open(dir, O_PATH | O_DIRECTORY);
	/* the child is blocked in sysinfo until this answers */
	assert_int_equal(monitor_sysinfo_serve(&m), 0);
	assert_int_equal(read(outpipe[0], &got, sizeof(got)), sizeof(got));
	assert_int_equal(sysinfo(&host), 0);
	assert_int_equal(got.mem_unit, 1);
	assert_int_equal(got.totalram, 67108864);
	assert_int_equal(got.freeram, 67108864 - 16777216);
	assert_int_equal(got.sharedram, 4096);
	assert_int_equal(got.procs, 3);
	/* no swap limit: the host's swap */
	assert_int_equal(got.totalswap, (unsigned long)host.totalswap * host.mem_unit);
	/* a quota of one CPU: sched_getaffinity names one of the CPUs */
	{
		int c;
		assert_int_equal(monitor_sysinfo_serve(&m), 0);
		assert_int_equal(read(outpipe[0], &c, sizeof(c)), sizeof(c));
		assert_int_equal(c, 1);
	}
	/* the child exits: the loop ends on the listener's hang-up */
	monitor_sysinfo_loop(&m);
	{
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	close(m.listener);
	close(cfd);
	close(pidfd);
	for (const char *const *n =
		     (const char *const[]){ "memory.max", "memory.current", "memory.stat",
					    "memory.swap.max", "memory.swap.current",
					    "pids.current", "cpu.max", NULL };
	     *n; n++) {
		char *p = NULL;
		assert_true(asprintf(&p, "%s/%s", dir, *n) > 0);
		unlink(p);
		free(p);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_and_status),
		cmocka_unit_test(test_signal_no_pty),
		cmocka_unit_test(test_sysinfo_from_cgroup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
