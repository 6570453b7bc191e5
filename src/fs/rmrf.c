/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rm -rf without following symlinks or crossing mount points: a VE's
 * upper dir is written by the VE's root, so it is hostile input too.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "vert/fs.h"
#include "vert/util.h"

/* Directories already given up on (a mount point, one we can't open or
 * empty): skipped when seen again, so the walk always ends. */
struct rm_walk {
	ino_t *path; /* inode of each directory from the top down to the current one */
	size_t depth, cap;
	struct {
		dev_t dev;
		ino_t ino;
	} * skip;
	size_t n_skip;
	int r; /* the first error */
};

static void walk_fail(struct rm_walk *w, int r)
{
	if (!w->r)
		w->r = r;
}

static bool walk_skipped(const struct rm_walk *w, const struct stat *st)
{
	for (size_t i = 0; i < w->n_skip; i++)
		if (w->skip[i].dev == st->st_dev && w->skip[i].ino == st->st_ino)
			return true;
	return false;
}

static void walk_skip(struct rm_walk *w, const struct stat *st)
{
	w->skip = xrealloc(w->skip, (w->n_skip + 1) * sizeof(*w->skip));
	w->skip[w->n_skip].dev = st->st_dev;
	w->skip[w->n_skip].ino = st->st_ino;
	w->n_skip++;
}

static int open_subdir(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == EACCES) {
		/* a 000 directory written by the VE: make it ours */
		if (fchmodat(dfd, name, 0700, 0) == 0)
			fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	return fd;
}

/* One pass over the directory fd: unlink what is not a directory, remove
 * empty subdirectories.  Returns an fd for the first subdirectory that is
 * not empty (to descend into; *ret_st is its stat), or -ENOENT when none
 * is left. */
static int rm_pass(int fd, dev_t dev, struct rm_walk *w, struct stat *ret_st, bool *left)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	struct dirent *de;
	DIR *d;
	int found = -ENOENT;

	if (dup_fd < 0)
		return -errno;
	d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return -errno;
	}
	while (found < 0 && (de = readdir(d))) {
		struct stat st;
		int cfd;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) {
				*left = true;
				walk_fail(w, -errno);
			}
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT) {
				*left = true;
				walk_fail(w, -errno);
			}
			continue;
		}
		if (walk_skipped(w, &st)) {
			*left = true;
			continue;
		}
		if (st.st_dev != dev) {
			/* a mount point: refuse rather than wipe another fs */
			*left = true;
			walk_fail(w, -EBUSY);
			walk_skip(w, &st);
			continue;
		}
		if (unlinkat(fd, de->d_name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			continue;
		if (errno != ENOTEMPTY && errno != EEXIST) {
			*left = true;
			walk_fail(w, -errno);
			walk_skip(w, &st);
			continue;
		}
		cfd = open_subdir(fd, de->d_name);
		if (cfd < 0) {
			*left = true;
			walk_fail(w, -errno);
			walk_skip(w, &st);
			continue;
		}
		*ret_st = st;
		found = cfd;
	}
	closedir(d);
	return found;
}

/* Empties the directory fd (taken).  Iterative, with one directory fd
 * open at a time and the path kept as inode numbers on the heap: a VE
 * can make a tree as deep as its disk allows, and a recursive walk would
 * run out of stack or fds (or stop at a depth limit) and leave the VE's
 * data behind.  The way back up is "..", checked against the inode the
 * walk came from. */
static int rm_rf_children(int fd, dev_t dev)
{
	struct rm_walk w = { 0 };
	struct stat top;

	if (fstat(fd, &top) < 0) {
		close(fd);
		return -errno;
	}
	for (;;) {
		struct stat st;
		bool left = false;
		int cfd = rm_pass(fd, dev, &w, &st, &left);

		if (cfd >= 0) {
			struct stat self;
			if (fstat(fd, &self) < 0) {
				walk_fail(&w, -errno);
				close(cfd);
				break;
			}
			if (w.depth == w.cap) {
				w.cap = w.cap ? w.cap * 2 : 64;
				w.path = xrealloc(w.path, w.cap * sizeof(*w.path));
			}
			w.path[w.depth++] = self.st_ino;
			close(fd);
			fd = cfd;
			continue;
		}
		if (cfd != -ENOENT) {
			walk_fail(&w, cfd);
			left = true;
		}
		if (w.depth == 0)
			break;
		/* something here stays: the parent must not come back for it */
		if (left && fstat(fd, &st) == 0)
			walk_skip(&w, &st);
		/* done here: back to the parent, whose next pass removes us */
		cfd = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0 || fstat(cfd, &st) < 0 || st.st_dev != dev ||
		    st.st_ino != w.path[w.depth - 1]) {
			/* moved under our feet: stop rather than walk elsewhere */
			walk_fail(&w, cfd < 0 ? -errno : -ESTALE);
			if (cfd >= 0)
				close(cfd);
			break;
		}
		w.depth--;
		close(fd);
		fd = cfd;
	}
	close(fd);
	free(w.path);
	free(w.skip);
	return w.r;
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
	r = rm_rf_children(fd, st.st_dev);
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
