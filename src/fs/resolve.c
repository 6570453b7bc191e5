/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Resolving paths inside a VE root.
 *
 * A template is untrusted input: it may contain "/etc -> /" or
 * "../../../" symlinks.  Every path inside a rootfs is therefore resolved
 * relative to a directory fd with openat2(RESOLVE_IN_ROOT), which makes
 * the kernel treat that fd as "/" for "..", absolute paths and absolute
 * symlink targets.  Kernels older than 5.6 get a userspace walker with the
 * same semantics (one component at a time with O_NOFOLLOW, symlinks
 * re-resolved from the root, bounded by the usual 40-link limit).
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "vert/fs.h"
#include "vert/util.h"

static bool force_fallback;
static int have_openat2 = -1;

void fs_resolve_force_fallback(bool on)
{
	force_fallback = on;
}

static int sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	return (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

#define MAX_SYMLINKS 40

/* Walk `path` below rootfd.  Intermediate components must be directories;
 * the last one is opened with `flags` (O_CREAT allowed). */
int fs_open_in_root_walk(int rootfd, const char *path, int flags, mode_t mode)
{
	_cleanup_free_ char *todo = xstrdup(path);
	_cleanup_close_ int cur = -EBADF;
	int links = 0;
	char *p;

	cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -errno;

	p = todo;
	for (;;) {
		char *slash, *comp;
		bool last;
		struct stat st;
		int next;

		while (*p == '/')
			p++;
		if (*p == '\0') {
			/* path resolved to a directory (root or trailing slash) */
			if (flags & O_PATH)
				return TAKE_FD(cur);
			return openat(cur, ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
		}
		comp = p;
		slash = strchr(p, '/');
		if (slash) {
			*slash = '\0';
			p = slash + 1;
		} else {
			p += strlen(p);
		}
		while (*p == '/')
			p++;
		last = *p == '\0';

		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			struct stat a, b;
			/* never above the root */
			if (fstat(cur, &a) == 0 && fstat(rootfd, &b) == 0 && a.st_dev == b.st_dev &&
			    a.st_ino == b.st_ino)
				continue;
			next = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (next < 0)
				return -errno;
			close(cur);
			cur = next;
			continue;
		}

		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT && last && (flags & O_CREAT)) {
				int fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
				return fd < 0 ? -errno : fd;
			}
			return -errno;
		}
		if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
			char target[PATH_MAX];
			ssize_t n;
			char *rest;

			if (++links > MAX_SYMLINKS)
				return -ELOOP;
			n = readlinkat(cur, comp, target, sizeof(target) - 1);
			if (n < 0)
				return -errno;
			target[n] = '\0';
			rest = xasprintf("%s/%s", target, p);
			free(todo);
			todo = rest;
			p = todo;
			if (target[0] == '/') {
				close(cur);
				cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (cur < 0)
					return -errno;
			}
			continue;
		}
		if (last) {
			int fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			return fd < 0 ? -errno : fd;
		}
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return -errno;
		close(cur);
		cur = next;
	}
}

int fs_open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (!force_fallback && have_openat2 != 0) {
		fd = sys_openat2(rootfd, path, &how);
		if (fd >= 0) {
			have_openat2 = 1;
			return fd;
		}
		if (errno != ENOSYS) {
			/* EAGAIN: a concurrent rename raced the lookup; retry once */
			if (errno == EAGAIN)
				fd = sys_openat2(rootfd, path, &how);
			return fd >= 0 ? fd : -errno;
		}
		have_openat2 = 0;
	}
	return fs_open_in_root_walk(rootfd, path, flags, mode);
}

int fs_mkdir_in_root(int rootfd, const char *path, mode_t mode)
{
	_cleanup_free_ char *copy = xstrdup(path), *prefix = xstrdup("");
	_cleanup_close_ int cur = -EBADF;
	char *save = NULL, *comp;
	int fd;

	/* fast path: it already exists */
	fd = fs_open_in_root(rootfd, path, O_PATH | O_DIRECTORY, 0);
	if (fd >= 0 || fd != -ENOENT)
		return fd;

	cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		char *np;
		int next;

		if (strcmp(comp, ".") == 0)
			continue;
		/* Always resolve the whole prefix from the VE root, so that a
		 * symlink anywhere in it is interpreted inside the VE. */
		np = xasprintf("%s/%s", prefix, comp);
		free(prefix);
		prefix = np;
		next = fs_open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0);
		if (next == -ENOENT) {
			if (!fs_valid_component(comp))
				return -EINVAL;
			if (mkdirat(cur, comp, mode) < 0 && errno != EEXIST)
				return -errno;
			next = fs_open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0);
		}
		if (next < 0)
			return next;
		close(cur);
		cur = next;
	}
	return TAKE_FD(cur);
}

int fs_mkfile_in_root(int rootfd, const char *path, mode_t mode)
{
	_cleanup_free_ char *dir = xstrdup(path);
	_cleanup_close_ int dfd = -EBADF;
	char *slash, *base;
	int fd;

	fd = fs_open_in_root(rootfd, path, O_PATH, 0);
	if (fd >= 0 || fd != -ENOENT)
		return fd;

	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		dfd = fs_mkdir_in_root(rootfd, *dir ? dir : "/", 0755);
	} else {
		base = dir;
		dfd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return -errno;
	}
	if (dfd < 0)
		return dfd; /* -errno, and -EPERM is -1 too */
	if (!fs_valid_component(base))
		return -EINVAL;
	fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno != EEXIST)
		return -errno;
	if (fd >= 0)
		close(fd);
	fd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

bool fs_valid_component(const char *s)
{
	return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

char *fs_overlay_escape(const char *path)
{
	size_t n = strlen(path);
	char *r = xmalloc(2 * n + 1), *o = r;

	for (const char *p = path; *p; p++) {
		if (*p == ',' || *p == ':' || *p == '\\')
			*o++ = '\\';
		*o++ = *p;
	}
	*o = '\0';
	return r;
}
