/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VE's disk quota (--disk SIZE, --disk-inodes N).
 *
 * Two backends, chosen when the quota is made and kept in the config:
 *
 *   project  The state root's filesystem keeps project quotas (ext4 with
 *            the project feature mounted prjquota, xfs with prjquota):
 *            the upper and work dirs stay in the data dir, tagged with a
 *            project id of their own (inherited by what is created under
 *            them) whose limits the kernel enforces.
 *   image    Anywhere else: the upper and work dirs live inside a sparse
 *            file, data/ves/NAME/disk.img, holding an ext4 filesystem.
 *
 * Either way df inside shows the quota: overlayfs reports its upper
 * layer's statfs, and ext4 and xfs report a directory's project limits for
 * a directory that inherits its project.
 *
 * Where the image is mounted, and why.  The image is attached to a loop
 * device and mounted on the host side, at run/ves/NAME/disk, only while
 * the VE runs: the VE's overlay (made in its child, from the upper and work
 * paths of its spec, possibly through idmapped clones of them) needs it
 * mounted before the child starts, and a mount in our own private mount
 * namespace would be out of reach of `vert set` (online resize) and `vert
 * ps` (usage).  A host mount can outlive a vert that is killed, so:
 *   - the loop device has LO_FLAGS_AUTOCLEAR: it goes as soon as nothing
 *     holds it (a vert killed between attaching and mounting drops its fd,
 *     and the device with it); once mounted, the filesystem holds it, and
 *     unmounting it (lazily: the VE's own mount namespace may still hold
 *     its overlay for a moment) releases the device;
 *   - the mount lives in the VE's runtime dir, which every path that ends
 *     an instance cleans up (ve_instance_cleanup_ex, the reboot path), and
 *     reconciliation after a crash or a SIGKILL goes through the same
 *     cleanup, so the next vert command unmounts what was left;
 *   - a stopped VE holds no mount and no loop device; destroy removes the
 *     image with the data dir.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/quota.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "ve-internal.h"
#include "vert/fs.h"
#include "vert/util.h"

#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif
#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif

#define DISK_MIN (8LL << 20) /* ext4 with a journal needs some room */

int ve_parse_disk(const char *flag, const char *arg, struct ve_disk *d, vert_error_t *err)
{
	uint64_t v;

	if (strcmp(flag, "disk") == 0) {
		if (parse_size(arg, &v) < 0 || v > (uint64_t)INT64_MAX)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "invalid --disk '%s': expected a size like 512M, "
					      "10G or 1T",
					      arg);
		if ((int64_t)v < DISK_MIN)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "invalid --disk '%s': must be at least 8M", arg);
		d->size = (int64_t)v;
		return 0;
	}
	if (parse_u64(arg, &v) < 0 || v < 16 || v > UINT32_MAX)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid --disk-inodes '%s': expected a number of files, "
				      "16..4294967295",
				      arg);
	d->inodes = (int64_t)v;
	return 0;
}

static char *img_path(const struct ve_handle *h)
{
	return xasprintf("%s/disk.img", h->data_dir);
}

static char *mnt_path(const struct ve_handle *h)
{
	return xasprintf("%s/disk", h->run_dir);
}

static char *fmt_size(int64_t b, char buf[static 32])
{
	static const char *const u[] = { "", "k", "M", "G", "T" };
	double v = (double)b;
	size_t i = 0;

	while (v >= 1024 && i + 1 < ARRAY_SIZE(u)) {
		v /= 1024;
		i++;
	}
	snprintf(buf, 32, i ? "%.1f%s" : "%.0f%s", v, u[i]);
	return buf;
}

/* ---- project quotas ---- */

/* QCMD shifts an int: Q_GETINFO (0x800005) << 8 overflows it, which is
 * undefined (UBSan says so); the kernel reads the bits as unsigned */
#define QCMD_U(cmd, type) (((unsigned)(cmd) << SUBCMDSHIFT) | ((unsigned)(type)&SUBCMDMASK))

static int quotactl_fd(int fd, unsigned cmd, int id, void *addr)
{
	return (int)syscall(SYS_quotactl_fd, fd, cmd, id, addr);
}

/* Does the filesystem under dir enforce project quotas? */
static bool project_quota_on(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct if_dqinfo info;
	uint32_t fmt;

	if (fd < 0 || quotactl_fd(fd, QCMD_U(Q_GETINFO, PRJQUOTA), 0, &info) < 0)
		return false;
	/* accounting alone (xfs pqnoenforce) limits nothing */
	return quotactl_fd(fd, QCMD_U(Q_GETFMT, PRJQUOTA), 0, &fmt) == 0;
}

static int project_get(int fd, int64_t id, struct if_dqblk *q)
{
	memset(q, 0, sizeof(*q));
	return quotactl_fd(fd, QCMD_U(Q_GETQUOTA, PRJQUOTA), (int)id, q);
}

static int project_limit(int fd, int64_t id, int64_t size, int64_t inodes)
{
	struct if_dqblk q = { .dqb_valid = QIF_LIMITS };

	/* quota blocks are 1 KiB */
	q.dqb_bhardlimit = q.dqb_bsoftlimit = (uint64_t)size / 1024;
	q.dqb_ihardlimit = q.dqb_isoftlimit = (uint64_t)inodes;
	return quotactl_fd(fd, QCMD_U(Q_SETQUOTA, PRJQUOTA), (int)id, &q);
}

/* An id no other VE uses: derived from the VE's data dir, then the next
 * one that has no usage and no limits. */
static int64_t project_pick(int fd, const char *dir)
{
	uint32_t h = 2166136261u;
	struct if_dqblk q;

	for (const char *c = dir; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	for (uint32_t i = 0; i < 4096; i++) {
		int64_t id = 0x10000 + (int64_t)((h + i) % 0x7fff0000u);
		if (project_get(fd, id, &q) < 0) {
			if (errno == ENOENT || errno == ESRCH)
				return id; /* nothing recorded for it */
			continue;
		}
		if (!q.dqb_curspace && !q.dqb_curinodes && !q.dqb_bhardlimit && !q.dqb_ihardlimit)
			return id;
	}
	return -1;
}

static uint32_t tag_id;
static int tag_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	struct fsxattr fx;
	int fd;

	(void)f;
	if (type != FTW_D && type != FTW_F)
		return 0; /* symlinks, devices: not openable to tag, tiny */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fx) == 0) {
		fx.fsx_projid = tag_id;
		if (S_ISDIR(st->st_mode))
			fx.fsx_xflags |= FS_XFLAG_PROJINHERIT;
		if (ioctl(fd, FS_IOC_FSSETXATTR, &fx) < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
	}
	close(fd);
	return 0;
}

static int project_create(const struct ve_handle *h, struct ve_config *c, vert_error_t *err)
{
	_cleanup_close_ int fd = open(h->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *sub[] = { "upper", "work" };
	int64_t id;

	if (fd < 0)
		return vert_error_sys(err, "open '%s'", h->data_dir);
	if ((id = project_pick(fd, h->data_dir)) < 0)
		return vert_error_set(err, ENOSPC, VERT_ERR_RUNTIME, "no free project quota id");
	/* limits first: files tagged from here on are counted against them */
	if (project_limit(fd, id, c->disk.size, c->disk.inodes) < 0)
		return vert_error_sys(err, "set the project quota of '%s'", h->data_dir);
	tag_id = (uint32_t)id;
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", h->data_dir, sub[i]);
		if (nftw(d, tag_one, 16, FTW_PHYS | FTW_MOUNT) != 0) {
			int e = errno;
			project_limit(fd, id, 0, 0);
			return vert_error_set(err, e, VERT_ERR_RUNTIME,
					      "set the project of '%s' to %lld", d, (long long)id);
		}
	}
	free(c->disk.backend);
	c->disk.backend = xstrdup("project");
	c->disk.project_id = id;
	return 0;
}

/* ---- the image ---- */

static int64_t tree_bytes;
static int count_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)path;
	(void)type;
	(void)f;
	tree_bytes += (int64_t)st->st_blocks * 512;
	return 0;
}

/* What upper and work take now, as du counts it. */
static int64_t upper_bytes(const struct ve_handle *h)
{
	_cleanup_free_ char *u = xasprintf("%s/upper", h->data_dir),
			    *w = xasprintf("%s/work", h->data_dir);
	tree_bytes = 0;
	nftw(u, count_one, 16, FTW_PHYS | FTW_MOUNT);
	nftw(w, count_one, 16, FTW_PHYS | FTW_MOUNT);
	return tree_bytes;
}

/* Make the image from the VE's upper and work dirs, which move into it
 * (mkfs.ext4 -d copies them, with owners, modes, xattrs and whiteouts);
 * on failure they are put back where they were. */
static int image_create(const struct ve_handle *h, struct ve_config *c, vert_error_t *err)
{
	_cleanup_free_ char *img = img_path(h), *tmp = xasprintf("%s.tmp", img);
	_cleanup_free_ char *seed = xasprintf("%s/.disk-seed", h->data_dir);
	_cleanup_free_ char *sz = NULL, *nodes = NULL;
	const char *sub[] = { "upper", "work" };
	size_t moved = 0;
	int64_t used = upper_bytes(h);
	char a[32], b[32];
	int r = 0;

	if (used > c->disk.size)
		return vert_error_set(err, ENOSPC, VERT_ERR_INVALID,
				      "--disk %s is below what VE '%s' already uses (%s)",
				      fmt_size(c->disk.size, a), h->name, fmt_size(used, b));
	if (access("/dev/loop-control", F_OK) < 0)
		return vert_error_set(err, ENODEV, VERT_ERR_RUNTIME,
				      "the filesystem of '%s' has no project quota and this host "
				      "has no loop devices (/dev/loop-control; modprobe loop) for "
				      "a disk image",
				      h->data_dir);
	fs_rm_rf(seed);
	unlink(tmp);
	if (mkdir(seed, 0700) < 0)
		return vert_error_sys(err, "create '%s'", seed);
	{
		_cleanup_close_ int fd =
			open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 || ftruncate(fd, c->disk.size) < 0) {
			r = vert_error_sys(err, "create the disk image '%s'", tmp);
			goto fail;
		}
	}
	for (; moved < ARRAY_SIZE(sub); moved++) {
		_cleanup_free_ char *from = xasprintf("%s/%s", h->data_dir, sub[moved]),
				    *to = xasprintf("%s/%s", seed, sub[moved]);
		if (rename(from, to) < 0) {
			r = vert_error_sys(err, "move '%s' into the disk image", from);
			goto fail;
		}
	}
	sz = xasprintf("%lldk", (long long)(c->disk.size / 1024));
	nodes = xasprintf("%lld", (long long)c->disk.inodes);
	{
		/* -m 0: the VE's root may use all of it; no lazy init: the
		 * image is a sparse file, zeroed tables cost nothing on disk */
		char *argv[] = { (char *)"mkfs.ext4",
				 (char *)"-q",
				 (char *)"-F",
				 (char *)"-m",
				 (char *)"0",
				 (char *)"-L",
				 (char *)"vert-disk",
				 (char *)"-E",
				 (char *)"root_owner=0:0,nodiscard",
				 (char *)"-d",
				 seed,
				 c->disk.inodes > 0 ? (char *)"-N" : tmp,
				 c->disk.inodes > 0 ? nodes : sz,
				 c->disk.inodes > 0 ? tmp : NULL,
				 c->disk.inodes > 0 ? sz : NULL,
				 NULL };
		if ((r = ve_run_tool(h->p, argv, err)) < 0) {
			vert_error_wrap(err,
					"VE '%s': the filesystem of '%s' keeps no project quota, "
					"and a disk image can't be made there",
					h->name, h->data_dir);
			goto fail;
		}
	}
	if (rename(tmp, img) < 0) {
		r = vert_error_sys(err, "rename '%s'", tmp);
		goto fail;
	}
	fs_rm_rf(seed);
	free(c->disk.backend);
	c->disk.backend = xstrdup("image");
	c->disk.project_id = 0;
	return 0;
fail:
	while (moved-- > 0) {
		_cleanup_free_ char *from = xasprintf("%s/%s", seed, sub[moved]),
				    *to = xasprintf("%s/%s", h->data_dir, sub[moved]);
		rename(from, to);
	}
	fs_rm_rf(seed);
	unlink(tmp);
	return r;
}

int ve_disk_create(const struct ve_handle *h, struct ve_config *c, vert_error_t *err)
{
	if (c->disk.size <= 0)
		return 0;
	if (h->p->rootless)
		return vert_error_set(err, EPERM, VERT_ERR_INVALID,
				      "--disk needs vert run as real root: project quotas and "
				      "loop devices are the host's");
	if (project_quota_on(h->data_dir))
		return project_create(h, c, err);
	return image_create(h, c, err);
}

static bool is_image(const struct ve_config *c)
{
	return c->disk.size > 0 && c->disk.backend && strcmp(c->disk.backend, "image") == 0;
}

static int image_resize_offline(const struct ve_handle *h, int64_t size, vert_error_t *err);

/* Attach the image to a free loop device that goes away by itself once
 * nothing holds it; returns its fd, *ret_dev its node.  bs: the image
 * filesystem's block size, the loop device's logical block size (0: the
 * kernel's 512). */
static int loop_attach(int img, const char *backing, uint32_t bs, char **ret_dev, vert_error_t *err)
{
	_cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);

	if (ctl < 0)
		return vert_error_sys(err, "open /dev/loop-control");
	/* another process may take the free device first: try again */
	for (int tries = 0; tries < 64; tries++) {
		struct loop_config lc = { .fd = (uint32_t)img };
		_cleanup_close_ int fd = -EBADF;
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		char dev[32];

		if (n < 0)
			return vert_error_sys(err, "get a free loop device");
		snprintf(dev, sizeof(dev), "/dev/loop%d", n);
		if ((fd = open(dev, O_RDWR | O_CLOEXEC)) < 0) {
			if (errno == ENOENT)
				continue; /* its node not made yet */
			return vert_error_sys(err, "open '%s'", dev);
		}
		/* direct I/O: the image's pages are cached once, by the VE's
		 * filesystem, not a second time as the backing file's (half
		 * the write throughput, and the memory, otherwise); a backing
		 * filesystem without O_DIRECT gets buffered I/O */
		lc.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO;
		/* the filesystem's block size: the kernel keeps direct I/O
		 * only while the loop device's logical blocks are no smaller
		 * than those of the disk under the backing file (a 4Kn disk
		 * would get buffered I/O with 512), and the VE's filesystem
		 * never issues a smaller block */
		lc.block_size = bs;
		snprintf((char *)lc.info.lo_file_name, LO_NAME_SIZE, "%s", backing);
		if (ioctl(fd, LOOP_CONFIGURE, &lc) == 0) {
			*ret_dev = xstrdup(dev);
			return TAKE_FD(fd);
		}
		if (errno == EBUSY)
			continue;
		lc.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		lc.block_size = 0;
		if (errno == EINVAL && ioctl(fd, LOOP_CONFIGURE, &lc) == 0) {
			*ret_dev = xstrdup(dev);
			return TAKE_FD(fd);
		}
		if (errno == EBUSY)
			continue;
		if (errno != EINVAL && errno != ENOTTY)
			return vert_error_sys(err, "attach '%s' to '%s'", backing, dev);
		/* before Linux 5.8: two steps */
		if (ioctl(fd, LOOP_SET_FD, img) < 0) {
			if (errno == EBUSY)
				continue;
			return vert_error_sys(err, "attach '%s' to '%s'", backing, dev);
		}
		if (ioctl(fd, LOOP_SET_STATUS64, &lc.info) < 0) {
			int e = errno;
			ioctl(fd, LOOP_CLR_FD, 0);
			return vert_error_set(err, e, VERT_ERR_RUNTIME, "configure '%s'", dev);
		}
		ioctl(fd, LOOP_SET_DIRECT_IO, 1UL); /* where it can */
		*ret_dev = xstrdup(dev);
		return TAKE_FD(fd);
	}
	return vert_error_set(err, EBUSY, VERT_ERR_RUNTIME, "no free loop device");
}

static bool image_mounted(const struct ve_handle *h, struct statvfs *sv);
static int image_super(const char *img, struct ve_disk_usage *u);

/* A stopped VE's usage as df inside counted it last (the superblock
 * alone can't say what the filesystem's own metadata takes). */
static char *usage_path(const struct ve_handle *h)
{
	return xasprintf("%s/disk.usage", h->data_dir);
}

static void usage_save(const struct ve_handle *h)
{
	_cleanup_close_ int dfd = open(h->data_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *txt = NULL;
	struct statvfs sv;

	if (dfd < 0 || !image_mounted(h, &sv))
		return;
	txt = xasprintf("%llu %llu %llu %llu\n",
			(unsigned long long)((sv.f_blocks - sv.f_bfree) * sv.f_frsize),
			(unsigned long long)(sv.f_blocks * sv.f_frsize),
			(unsigned long long)(sv.f_files - sv.f_ffree),
			(unsigned long long)sv.f_files);
	write_file_atomic_nosync_at(dfd, "disk.usage", txt, strlen(txt), 0600);
}

static int usage_load(const struct ve_handle *h, struct ve_disk_usage *u)
{
	_cleanup_free_ char *path = usage_path(h), *txt = NULL;
	long long a, b, c, d;

	if (read_file_at(AT_FDCWD, path, 256, &txt, NULL) < 0 ||
	    sscanf(txt, "%lld %lld %lld %lld", &a, &b, &c, &d) != 4)
		return -1;
	u->used = a;
	u->limit = b;
	u->inodes_used = c;
	u->inodes_limit = d;
	return 0;
}

void ve_disk_detach(const struct ve_handle *h)
{
	_cleanup_free_ char *mp = mnt_path(h);

	usage_save(h);

	/* lazily: the VE's own mount namespace may hold the overlay on it a
	 * moment longer; the loop device goes with the last reference */
	while (umount2(mp, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		;
	rmdir(mp);
}

/* Is img still attached to a loop device?  After a lazy unmount its
 * filesystem lives on as long as something holds it (the mount namespace
 * of the instance that just ended, for a moment): mounting the image
 * again from a second loop device meanwhile would have two ext4
 * instances write one image. */
static bool image_attached(const char *img)
{
	_cleanup_free_ char *want = xasprintf("%s\n", img);
	DIR *d = opendir("/sys/block");
	struct dirent *de;
	bool found = false;

	while (d && !found && (de = readdir(d))) {
		_cleanup_free_ char *f = NULL, *txt = NULL;
		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		f = xasprintf("/sys/block/%s/loop/backing_file", de->d_name);
		found = read_file_at(AT_FDCWD, f, 4096, &txt, NULL) >= 0 && strcmp(txt, want) == 0;
	}
	if (d)
		closedir(d);
	return found;
}

int ve_disk_attach(const struct ve_handle *h, const struct ve_config *c, char **upper, char **work,
		   vert_error_t *err)
{
	_cleanup_free_ char *img = NULL, *mp = NULL, *dev = NULL;
	_cleanup_close_ int ifd = -EBADF, lfd = -EBADF;

	if (!is_image(c))
		return 0;
	img = img_path(h);
	mp = mnt_path(h);
	ve_disk_detach(h); /* what a killed instance left */
	if (mkdir(mp, 0700) < 0 && errno != EEXIST)
		return vert_error_sys(err, "create '%s'", mp);
	{
		/* a growth `vert set` could not make live */
		struct stat st;
		if (stat(img, &st) == 0 && st.st_size < c->disk.size &&
		    image_resize_offline(h, c->disk.size, err) < 0)
			return vert_error_wrap(err, "grow the disk of VE '%s'", h->name);
	}
	/* bounded: the previous instance's namespace goes within moments */
	for (int i = 0; i < 100 && image_attached(img); i++)
		usleep(50 * 1000);
	if (image_attached(img))
		return vert_error_set(err, EBUSY, VERT_ERR_RUNTIME,
				      "the disk image '%s' is still attached to a loop device "
				      "(its previous instance holds it)",
				      img);
	if ((ifd = open(img, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return vert_error_sys(err, "open the disk image '%s'", img);
	{
		struct ve_disk_usage u;
		uint32_t bs = 0;
		if (image_super(img, &u) == 0 && u.block_size >= 512 && u.block_size <= 4096)
			bs = (uint32_t)u.block_size;
		if ((lfd = loop_attach(ifd, img, bs, &dev, err)) < 0)
			return lfd;
	}
	if (mount(dev, mp, "ext4", MS_NOATIME, NULL) < 0)
		return vert_error_sys(err, "mount the disk image '%s' on '%s'", img, mp);
	free(*upper);
	free(*work);
	*upper = xasprintf("%s/upper", mp);
	*work = xasprintf("%s/work", mp);
	return 0;
}

/* The filesystem of the mounted image, when it is mounted. */
static bool image_mounted(const struct ve_handle *h, struct statvfs *sv)
{
	_cleanup_free_ char *mp = mnt_path(h);
	struct stat a, b;

	return stat(mp, &a) == 0 && stat(h->run_dir, &b) == 0 && a.st_dev != b.st_dev &&
	       statvfs(mp, sv) == 0;
}

/* The counts an unmounted image's superblock holds (exact once it has
 * been unmounted cleanly). */
static int image_super(const char *img, struct ve_disk_usage *u)
{
	_cleanup_close_ int fd = open(img, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	unsigned char sb[1024];
	uint64_t blocks, freeb, over;
	uint32_t log_bs;

#define LE32(o)                                                                                    \
	((uint32_t)sb[o] | (uint32_t)sb[o + 1] << 8 | (uint32_t)sb[o + 2] << 16 |                  \
	 (uint32_t)sb[o + 3] << 24)
	if (fd < 0 || pread(fd, sb, sizeof(sb), 1024) != (ssize_t)sizeof(sb) || sb[56] != 0x53 ||
	    sb[57] != 0xef)
		return -1;
	log_bs = LE32(24);
	if (log_bs > 6)
		return -1;
	blocks = LE32(4) | (uint64_t)LE32(0x150) << 32;
	freeb = LE32(12) | (uint64_t)LE32(0x158) << 32;
	over = LE32(0x248);
	if (freeb + over > blocks)
		over = 0;
	u->limit = (int64_t)((blocks - over) << (10 + log_bs));
	u->used = (int64_t)((blocks - over - freeb) << (10 + log_bs));
	u->inodes_limit = LE32(0);
	u->inodes_used = (int64_t)LE32(0) - (int64_t)LE32(16);
	u->block_size = 1024LL << log_bs;
#undef LE32
	return 0;
}

void ve_disk_usage_get(const struct ve_handle *h, const struct ve_config *c, bool running,
		       struct ve_disk_usage *u)
{
	struct statvfs sv;

	u->used = u->limit = u->inodes_used = u->inodes_limit = -1;
	u->block_size = 0;
	if (c->disk.size <= 0 || !c->disk.backend)
		return;
	if (strcmp(c->disk.backend, "project") == 0) {
		_cleanup_close_ int fd = open(h->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct if_dqblk q;
		if (fd < 0 || project_get(fd, c->disk.project_id, &q) < 0)
			return;
		u->used = (int64_t)q.dqb_curspace;
		u->limit = (int64_t)q.dqb_bhardlimit * 1024;
		u->inodes_used = (int64_t)q.dqb_curinodes;
		u->inodes_limit = q.dqb_ihardlimit ? (int64_t)q.dqb_ihardlimit : -1;
		return;
	}
	/* running: what df inside shows; stopped: the image's own counts */
	if (running && image_mounted(h, &sv)) {
		u->limit = (int64_t)(sv.f_blocks * sv.f_frsize);
		u->used = (int64_t)((sv.f_blocks - sv.f_bfree) * sv.f_frsize);
		u->inodes_limit = (int64_t)sv.f_files;
		u->inodes_used = (int64_t)(sv.f_files - sv.f_ffree);
		return;
	}
	if (usage_load(h, u) == 0)
		return;
	{
		_cleanup_free_ char *img = img_path(h);
		if (image_super(img, u) < 0)
			u->used = u->limit = u->inodes_used = u->inodes_limit = -1;
	}
}

/* ---- resize ---- */

static int refuse_below(const struct ve_handle *h, const char *what, int64_t want, int64_t used,
			vert_error_t *err)
{
	char a[32], b[32];

	if (strcmp(what, "--disk-inodes") == 0)
		return vert_error_set(err, ENOSPC, VERT_ERR_INVALID,
				      "%s %lld is below what VE '%s' already uses (%lld files)",
				      what, (long long)want, h->name, (long long)used);
	return vert_error_set(err, ENOSPC, VERT_ERR_INVALID,
			      "%s %s is below what VE '%s' already uses (%s)", what,
			      fmt_size(want, a), h->name, fmt_size(used, b));
}

/* The running image grows: the file, then the loop device's capacity,
 * then the mounted filesystem (ext4 online resize). */
static int image_grow_live(const struct ve_handle *h, int64_t size, vert_error_t *err)
{
	_cleanup_free_ char *img = img_path(h), *mp = mnt_path(h), *ue = NULL, *dev = NULL;
	_cleanup_close_ int ifd = -EBADF, lfd = -EBADF, mfd = -EBADF;
	struct stat st;
	struct statvfs sv;
	uint64_t blocks;
	char sys[64], *name;
	off_t old;

	if ((mfd = open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(mfd, &st) < 0 ||
	    fstatvfs(mfd, &sv) < 0)
		return vert_error_sys(err, "open the mounted disk '%s'", mp);
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/uevent", major(st.st_dev),
		 minor(st.st_dev));
	if (read_file_at(AT_FDCWD, sys, 4096, &ue, NULL) < 0 || !(name = strstr(ue, "DEVNAME=")))
		return vert_error_set(err, ENODEV, VERT_ERR_RUNTIME, "find the loop device of '%s'",
				      mp);
	name += strlen("DEVNAME=");
	name[strcspn(name, "\n")] = '\0';
	dev = xasprintf("/dev/%s", name);
	if ((ifd = open(img, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(ifd, &st) < 0)
		return vert_error_sys(err, "open the disk image '%s'", img);
	old = st.st_size;
	if ((lfd = open(dev, O_RDONLY | O_CLOEXEC)) < 0)
		return vert_error_sys(err, "open '%s'", dev);
	if (ftruncate(ifd, size) < 0)
		return vert_error_sys(err, "grow the disk image '%s'", img);
	if (ioctl(lfd, LOOP_SET_CAPACITY, 0) < 0) {
		int e = errno;
		if (ftruncate(ifd, old) < 0)
			vert_debug("shrink '%s' back: %s", img, strerror(errno));
		return vert_error_set(err, e, VERT_ERR_RUNTIME, "resize '%s'", dev);
	}
	blocks = (uint64_t)size / sv.f_bsize;
	if (ioctl(mfd, EXT4_IOC_RESIZE_FS, &blocks) < 0) {
		int e = errno;
		/* put the image back as the filesystem knows it */
		if (ftruncate(ifd, old) < 0 || ioctl(lfd, LOOP_SET_CAPACITY, 0) < 0)
			vert_debug("shrink '%s' back: %s", img, strerror(errno));
		/* ext4 lets only CAP_SYS_RESOURCE resize (a container may
		 * lack it): the next start grows it, offline */
		if (e == EPERM)
			return 1;
		return vert_error_set(err, e, VERT_ERR_RUNTIME, "grow the mounted disk of VE '%s'",
				      h->name);
	}
	return 0;
}

static int image_resize_offline(const struct ve_handle *h, int64_t size, vert_error_t *err)
{
	_cleanup_free_ char *img = img_path(h), *sz = xasprintf("%lldk", (long long)(size / 1024));
	char *fsck[] = { (char *)"e2fsck", (char *)"-f", (char *)"-p", img, NULL };
	char *rs[] = { (char *)"resize2fs", img, sz, NULL };
	_cleanup_free_ char *up = usage_path(h);
	struct stat st;
	int r;

	if (stat(img, &st) < 0)
		return vert_error_sys(err, "stat the disk image '%s'", img);
	unlink(up); /* its figures are the old size's */
	/* resize2fs wants a checked filesystem; e2fsck -p exits 1 when it
	 * fixed something, which ve_run_tool calls a failure: run it again */
	if (ve_run_tool(h->p, fsck, NULL) < 0 && (r = ve_run_tool(h->p, fsck, err)) < 0)
		return r;
	if (size > st.st_size && truncate(img, size) < 0)
		return vert_error_sys(err, "grow the disk image '%s'", img);
	if ((r = ve_run_tool(h->p, rs, err)) < 0) {
		const char *m = err && err->msg ? strstr(err->msg, "smaller than minimum (") : NULL;
		struct ve_disk_usage u;
		long long min;
		char a[32], b[32];

		if (size > st.st_size && truncate(img, st.st_size) < 0)
			vert_debug("shrink '%s' back: %s", img, strerror(errno));
		/* what ext4 needs is more than what the files take: say how
		 * much, as the user's figures */
		if (m && sscanf(m, "smaller than minimum (%lld)", &min) == 1 &&
		    image_super(img, &u) == 0 && u.block_size > 0) {
			vert_error_clear(err);
			return vert_error_set(err, ENOSPC, VERT_ERR_INVALID,
					      "--disk %s is below what VE '%s' needs (%s: its "
					      "files and the filesystem's own data)",
					      fmt_size(size, a), h->name,
					      fmt_size(min * u.block_size, b));
		}
		return r;
	}
	if (size < st.st_size && truncate(img, size) < 0)
		return vert_error_sys(err, "shrink the disk image '%s'", img);
	return 0;
}

int ve_disk_set(const struct ve_handle *h, struct ve_config *c, const struct ve_disk *old,
		bool running, vert_error_t *err)
{
	struct ve_disk_usage u;
	int r;

	if (c->disk.size <= 0)
		return 0;
	if (old->size <= 0) {
		/* a quota for a VE that had none */
		if (running)
			return vert_error_set(err, EBUSY, VERT_ERR_RUNNING,
					      "VE '%s' is running: a disk quota is added to a "
					      "stopped VE (its files move under the quota)",
					      h->name);
		return ve_disk_create(h, c, err);
	}
	ve_disk_usage_get(h, c, running, &u);
	if (u.used >= 0 && c->disk.size < u.used)
		return refuse_below(h, "--disk", c->disk.size, u.used, err);
	if (c->disk.inodes > 0 && u.inodes_used >= 0 && c->disk.inodes < u.inodes_used)
		return refuse_below(h, "--disk-inodes", c->disk.inodes, u.inodes_used, err);
	if (strcmp(c->disk.backend, "project") == 0) {
		_cleanup_close_ int fd = open(h->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 ||
		    project_limit(fd, c->disk.project_id, c->disk.size, c->disk.inodes) < 0)
			return vert_error_sys(err, "set the project quota of VE '%s'", h->name);
		return 0;
	}
	if (c->disk.inodes != old->inodes)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "VE '%s': the number of files of a disk image is fixed when "
				      "it is made (it grows with --disk)",
				      h->name);
	if (c->disk.size == old->size)
		return 0;
	if (running) {
		if (c->disk.size < old->size)
			return vert_error_set(err, EBUSY, VERT_ERR_RUNNING,
					      "VE '%s' is running: its disk image grows live but "
					      "shrinks only while it is stopped",
					      h->name);
		r = image_grow_live(h, c->disk.size, err);
	} else {
		r = image_resize_offline(h, c->disk.size, err);
	}
	return r < 0 ? vert_error_wrap(err, "resize the disk of VE '%s'", h->name) : r;
}

/* Destroy: a project's limits go with its VE (an image goes with the data
 * dir). */
void ve_disk_release(const struct ve_handle *h, const struct ve_config *c)
{
	_cleanup_free_ char *base = NULL;
	_cleanup_close_ int fd = -EBADF;

	if (c->disk.size <= 0 || !c->disk.backend || strcmp(c->disk.backend, "project") != 0)
		return;
	base = xasprintf("%s/ves", h->p->data);
	if ((fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		project_limit(fd, c->disk.project_id, 0, 0);
}
