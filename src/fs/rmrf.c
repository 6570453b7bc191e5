/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rm -rf without following symlinks or crossing mount points: a VE's
 * upper dir is written by the VE's root, so it is hostile input too.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "vert/fs.h"
#include "vert/util.h"

static int rm_rf_children(int dfd, dev_t dev, int depth)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > 4096)
		return -ELOOP;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT && !r)
				r = -errno;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			int cfd;
			if (st.st_dev != dev) {
				/* a mount point: refuse rather than wipe another fs */
				if (!r)
					r = -EBUSY;
				continue;
			}
			cfd = openat(dirfd(d), de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0 && errno == EACCES) {
				/* a 000 directory written by the VE: make it ours */
				if (fchmodat(dirfd(d), de->d_name, 0700, 0) == 0)
					cfd = openat(dirfd(d), de->d_name,
						     O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
							     O_CLOEXEC);
			}
			if (cfd < 0) {
				if (!r)
					r = -errno;
				continue;
			}
			int k = rm_rf_children(cfd, dev, depth + 1);
			if (k < 0 && !r)
				r = k;
			if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT &&
			    !r)
				r = -errno;
		} else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && !r) {
			r = -errno;
		}
	}
	closedir(d);
	return r;
}

int fs_rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	int fd, r;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = rm_rf_children(fd, st.st_dev, 0);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !r)
		r = -errno;
	return r;
}

int fs_rm_rf(const char *path)
{
	return fs_rm_rf_at(AT_FDCWD, path);
}

int fs_copy_file(const char *src, int dstdirfd, const char *dstname, mode_t mode)
{
	_cleanup_close_ int in = -EBADF, out = -EBADF;
	char buf[65536];
	ssize_t n;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = openat(dstdirfd, dstname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		     mode);
	if (out < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write_all(out, buf, (size_t)n) < 0)
			return -errno;
	if (n < 0)
		return -errno;
	if (fchmod(out, mode) < 0)
		return -errno;
	return 0;
}
