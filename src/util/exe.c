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
 * VE whose root could write the binary first re-executes itself from a
 * memfd copy sealed against writes, growth and shrinking.  Then
 * /proc/self/exe of everything it starts is the copy, whatever the VE
 * execs: the host's binary is never executed or opened from inside.  That
 * does not depend on recognising every path that could resolve to the
 * binary (scripts, binfmt_misc, symlinks the VE can change between a check
 * and the exec), which refusing such paths would need.  Cost: a copy of
 * the binary in page cache while the process lives, and the copy and a
 * second exec at start (1.3 ms of a `vert exec`).
 *
 * Which VEs those are is ve_exe_guard's call (ve/config.c): one without a
 * user namespace of its own, or any VE when the binary is not root's
 * alone.  A VE of its own user namespace maps no host uid 0, and the
 * kernel refuses its root a write to a binary only root may write, so
 * `vert run` and `vert exec` of such a VE skip the copy; every other
 * command makes it at its start (main).
 *
 * Only what the kernel and the dynamic loader read goes into the copy:
 * the file up to the end of the last segment its program headers name.
 * What follows (section headers, symbols, debug info: 70% of a
 * debugoptimized build) is never mapped, and the copy's ELF header stops
 * pointing at it.  The image that runs is byte for byte the one the host
 * binary's program headers describe.
 */
#include <elf.h>
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

static char **saved_argv;

void vert_exe_save_argv(char **argv)
{
	saved_argv = argv;
}

char **vert_exe_saved_argv(void)
{
	return saved_argv;
}

bool vert_exe_root_only(void)
{
	struct stat st;

	/* the inode behind /proc/self/exe: what a VE would reach */
	if (stat("/proc/self/exe", &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	/* no write bit for the group: with an ACL that bit is the mask,
	 * which a named user's write entry needs */
	return st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH));
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

/* How much of the ELF file at fd the kernel and ld.so need: up to the
 * end of the last extent a program header names (the headers too), and
 * whether the section header table lies beyond that.  0: copy it all. */
static off_t elf_image_size(int fd, off_t size, bool *ret_cut_sections)
{
	Elf64_Ehdr eh;
	off_t end;

	*ret_cut_sections = false;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum >= PN_XNUM ||
	    eh.e_phoff < sizeof(eh) || (off_t)eh.e_phoff >= size)
		return 0;
	end = (off_t)(eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr));
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
			    (ssize_t)sizeof(ph) ||
		    ph.p_offset > (uint64_t)size || ph.p_filesz > (uint64_t)size - ph.p_offset)
			return 0;
		if ((off_t)(ph.p_offset + ph.p_filesz) > end)
			end = (off_t)(ph.p_offset + ph.p_filesz);
	}
	if (end > size)
		return 0;
	*ret_cut_sections = eh.e_shoff != 0 && (off_t)eh.e_shoff >= end;
	return end;
}

/*
 * F_SEAL_WRITE fails with EBUSY while a page of the memfd has a reference
 * beyond its mappings, which the kernel waits ~150 ms for
 * (memfd_wait_for_pins).  A page isolated for reclaim or migration holds
 * one longer: a DAMON "pageout" scheme on physical memory (the CI machines
 * run one) isolates whole regions at a time, and a fresh copy nobody has
 * touched is cold to it.  So EBUSY gets up to ten tries more, 20 ms apart,
 * not an error at once (one start in a suite run failed so).
 */
int vert_memfd_seal(int fd, int seals)
{
	for (int i = 0; fcntl(fd, F_ADD_SEALS, seals) < 0; i++) {
		if (errno != EBUSY || i == 10)
			return -errno;
		usleep(20 * 1000);
	}
	return 0;
}

int vert_exe_reexec_sealed(char **argv, vert_error_t *err)
{
	_cleanup_close_ int src = -EBADF, mfd = -EBADF;
	_cleanup_free_ char *path = NULL;
	struct stat st;
	off_t off = 0, len;
	bool cut = false;

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
	len = elf_image_size(src, st.st_size, &cut);
	if (len <= 0)
		len = st.st_size;
	while (off < len) {
		ssize_t n = sendfile(mfd, src, &off, (size_t)(len - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return vert_error_sys(err, "copy the vert binary into a memfd");
	}
	if (cut) {
		/* the section headers stayed behind: say there are none */
		Elf64_Ehdr eh;
		if (pread(mfd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
			return vert_error_sys(err, "read the copy of vert");
		eh.e_shoff = 0;
		eh.e_shnum = 0;
		eh.e_shstrndx = SHN_UNDEF;
		if (pwrite(mfd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
			return vert_error_sys(err, "write the copy of vert");
	}
	if (vert_memfd_seal(mfd, VERT_EXE_SEALS) < 0)
		return vert_error_sys(err, "seal the copy of vert");
	if (path)
		setenv(VERT_EXE_ENV, path, 1);
	syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
	return vert_error_sys(err, "execute the sealed copy of vert%s",
			      errno == EACCES ? " (is vm.memfd_noexec set?)" : "");
}
