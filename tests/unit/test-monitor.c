/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The monitor loop: console to a size-capped log, exit status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
	assert_int_equal(monitor_run(pidfd, pfd[0], dfd, MONITOR_LOG_CAP, &si), 0);
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
	assert_int_equal(monitor_run(pidfd, -1, -1, MONITOR_LOG_CAP, &si), 0);
	assert_int_equal(si.si_code, CLD_KILLED);
	assert_int_equal(si.si_status, SIGHUP);
	close(pidfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_and_status),
		cmocka_unit_test(test_signal_no_pty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
