/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vert runs from a sealed copy of itself (the runc CVE-2019-5736 class).
 *
 * Every process vert starts in a VE runs the vert binary until its final
 * execve(), and the kernel resolves a `#!/proc/self/exe` interpreter, a
 * login shell of /proc/self/exe in the VE's passwd, or a command of
 * /proc/self/exe, *before* the new image replaces ours: with /proc/self/exe
 * the host's binary, the VE would run the host's vert, dumpable again
 * after that exec, and could open it through /proc/PID/exe and, once it
 * exits, write through the fd.  PR_SET_DUMPABLE(0) only covers the time
 * before that exec.
 *
 * So, as crun and runc do, a vert that is about to start processes in a
 * VE first re-executes itself from a memfd copy sealed against writes,
 * growth and shrinking.  Then /proc/self/exe of everything it starts is
 * the copy, whatever the VE execs: the host's binary is never executed or
 * opened from inside.  That holds in every mode (rootless too, where a
 * read-only bind mount of the binary is not possible) and does not depend
 * on recognising every path that could resolve to the binary (scripts,
 * binfmt_misc, symlinks the VE can change between a check and the exec),
 * which refusing such paths would need.  Cost: a copy of the binary in
 * page cache while the process lives, ~1 ms at start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vert/util.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define VERT_EXE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
/* the path of the binary the sealed copy was made from */
#define VERT_EXE_ENV "VERT_SELF_EXE"

extern char **environ;

bool vert_exe_sealed(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int seals;

	if (fd < 0)
		return false;
	seals = fcntl(fd, F_GET_SEALS);
	close(fd);
	return seals >= 0 && (seals & VERT_EXE_SEALS) == VERT_EXE_SEALS;
}

char *vert_exe_path(void)
{
	char buf[4096];
	const char *env = getenv(VERT_EXE_ENV);
	ssize_t n;

	/* only our own copy's note is believed */
	if (env && *env == '/' && vert_exe_sealed())
		return xstrdup(env);
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

int vert_exe_reexec_sealed(char **argv, vert_error_t *err)
{
	_cleanup_close_ int src = -EBADF, mfd = -EBADF;
	_cleanup_free_ char *path = NULL;
	struct stat st;
	off_t off = 0;

	if (vert_exe_sealed())
		return 0;
	src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (src < 0 || fstat(src, &st) < 0)
		return vert_error_sys(err, "open the vert binary (/proc/self/exe)");
	path = vert_exe_path();
	mfd = memfd_create("vert", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (mfd < 0 && errno == EINVAL) /* before Linux 6.3: no MFD_EXEC */
		mfd = memfd_create("vert", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return vert_error_sys(err, "memfd_create for a sealed copy of vert");
	while (off < st.st_size) {
		ssize_t n = sendfile(mfd, src, &off, (size_t)(st.st_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return vert_error_sys(err, "copy the vert binary into a memfd");
	}
	if (fcntl(mfd, F_ADD_SEALS, VERT_EXE_SEALS) < 0)
		return vert_error_sys(err, "seal the copy of vert");
	if (path)
		setenv(VERT_EXE_ENV, path, 1);
	syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
	return vert_error_sys(err, "execute the sealed copy of vert%s",
			      errno == EACCES ? " (is vm.memfd_noexec set?)" : "");
}
