/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vert restore: a checkpoint image (src/ve/checkpoint.c) running again.
 *
 * Checked first, before anything changes: the image's format, that its
 * template exists here with the same content (the first difference is
 * named), and, for --input, that the name is free in this state root.
 * The VE's data then comes from the image (config, upper dir).
 *
 * The restore runs in a forked process that becomes the VE's supervisor,
 * as a detached start does (CRIU restores the process tree as a child of
 * its caller): it makes the cgroup with the VE's limits, the network
 * (vnet_prepare/attach/commit, with the image's address and MAC) in a
 * fresh network namespace held by a small helper process, mounts the
 * overlay root itself in a private mount namespace, and hands all three
 * to CRIU: the netns as an inherited external namespace, the root with
 * criu_set_root, the cgroup by restoring from inside it.  A VE of its own
 * user namespace: its range is claimed here first (CRIU can't remap it: a
 * range another VE holds is refused), its root is the overlay a start
 * makes, mounted from inside a user namespace of its ids and handed over
 * detached (fs_idmap_overlay_detached), and CRIU, whose restored tasks
 * can't join a network namespace of the host's user namespace, runs in
 * the new one (ve_criu_own_netns).  The state is
 * written, then the process execs vert-monitor like any supervisor.
 * A failure at any step undoes the instance (ve_instance_cleanup) and,
 * for --input, the VE's data.
 */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#ifdef HAVE_CRIU
#include <criu/criu.h>
#endif

#include "ve-internal.h"
#include "vert/cgroup.h"
#include "vert/fs.h"
#include "vert/json.h"
#include "vert/runtime.h"
#include "vert/spec.h"
#include "vert/util.h"

#ifdef HAVE_CRIU

struct image {
	char *dir;
	struct json_object *meta, *manifest;
	const char *name, *template_name, *ip, *mac, *data_root;
	struct json_object *ext;
};

static void image_done(struct image *im)
{
	json_object_put(im->meta);
	json_object_put(im->manifest);
	free(im->dir);
}

/* a string of the document, borrowed: it lives as long as im->meta */
static int set_borrowed_string(struct json_object *v, void *target, const struct vjson_field *f,
			       const struct vjson_loc *loc, vert_error_t *err)
{
	(void)f;
	return vjson_get_string(v, loc, (const char **)target, err);
}

struct image_in {
	struct image *im;
	int64_t format;
};

#define IMG(n, t, cb, m, fl) VJSON_FIELD(n, t, cb, struct image, m, fl)
static const struct vjson_field image_table[] = {
	IMG("name", VJSON_STRING, set_borrowed_string, name, VJSON_MANDATORY),
	IMG("template", VJSON_STRING, set_borrowed_string, template_name, VJSON_MANDATORY),
	IMG("ip", VJSON_STRING, set_borrowed_string, ip, VJSON_NULLABLE),
	IMG("mac", VJSON_STRING, set_borrowed_string, mac, VJSON_NULLABLE),
	IMG("data_root", VJSON_STRING, set_borrowed_string, data_root, 0),
	IMG("external_mounts", VJSON_ARRAY, vjson_borrow, ext, 0),
	{},
};
#undef IMG

static const struct vjson_field image_format_table[] = {
	VJSON_FIELD("format", VJSON_INT, vjson_int64, struct image_in, format, VJSON_MANDATORY),
	{},
};

struct ext_mount_in {
	const char *dest, *kind, *root;
};

static const struct vjson_field ext_mount_table[] = {
	VJSON_FIELD("dest", VJSON_STRING, set_borrowed_string, struct ext_mount_in, dest,
		    VJSON_MANDATORY),
	VJSON_FIELD("kind", VJSON_STRING, set_borrowed_string, struct ext_mount_in, kind,
		    VJSON_MANDATORY),
	VJSON_FIELD("root", VJSON_STRING, set_borrowed_string, struct ext_mount_in, root, 0),
	{},
};

static int image_load(const char *dir, struct image *im, vert_error_t *err)
{
	_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *where = xasprintf("%s/image.json", dir);
	struct image_in in = { .im = im, .format = -1 };
	int r;

	*im = (struct image){ .dir = xstrdup(dir) };
	if (dfd < 0)
		return vert_error_set(err, errno,
				      errno == ENOENT ? VERT_ERR_NOTFOUND : VERT_ERR_RUNTIME,
				      "checkpoint image '%s'", dir);
	if ((r = vjson_parse_file(dfd, "image.json", 1 << 20, &im->meta, err)) < 0 ||
	    (r = vjson_parse_file(dfd, "template.json", 256 << 20, &im->manifest, err)) < 0)
		return vert_error_wrap(err, "checkpoint image '%s'", dir);
	/* the format first: another one is refused as such */
	if ((r = vjson_dispatch(im->meta, image_format_table, VJSON_ALLOW_UNKNOWN, &in, where,
				err)) < 0 ||
	    in.format != VE_IMAGE_FORMAT) {
		vert_error_clear(err);
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "checkpoint image '%s': not an image of format %d", dir,
				      VE_IMAGE_FORMAT);
	}
	/* the rest: strict types, other keys (format, config...) are others' */
	if ((r = vjson_dispatch(im->meta, image_table, VJSON_ALLOW_UNKNOWN, im, where, err)) < 0)
		return r;
	return 0;
}

/* The template must be here, with the content the image was taken on. */
static int check_template(const struct ve_paths *p, const struct image *im, vert_error_t *err)
{
	_cleanup_free_ char *lower = NULL, *diff = NULL;
	struct json_object *have = NULL;
	int r;

	if ((r = ve_template_rootfs(p, im->template_name, &lower, err)) < 0)
		return r;
	if ((r = ve_template_manifest(lower, &have, err)) < 0)
		return r;
	diff = ve_manifest_diff(im->manifest, have);
	json_object_put(have);
	if (diff)
		return vert_error_set(
			err, EINVAL, VERT_ERR_INVALID,
			"template '%s' differs from the one the image was taken on: %s",
			im->template_name, diff);
	return 0;
}

static int copy_tree(const struct ve_paths *p, const char *src, const char *dst, vert_error_t *err)
{
	/* xattrs explicitly: with -a alone, cp drops what the target can't
	 * hold without a word (the upper's opaque dirs and redirects) */
	char *argv[] = { (char *)"cp",
			 (char *)"-a",
			 (char *)"--preserve=xattr",
			 (char *)"--reflink=auto",
			 (char *)"--",
			 (char *)src,
			 (char *)dst,
			 NULL };
	return ve_run_tool(p, argv, err);
}

static bool image_has_upper(const struct image *im)
{
	_cleanup_free_ char *upper = xasprintf("%s/upper", im->dir);
	struct stat st;
	return lstat(upper, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A migration's stage in this state root (vert migrate --incoming): the
 * image is the migration's alone, and goes once it is over. */
static bool image_is_stage(const struct ve_paths *p, const struct image *im)
{
	_cleanup_free_ char *data = realpath(p->data, NULL), *pre = NULL;

	if (!data)
		return false;
	pre = xasprintf("%s/migrate-in/", data);
	return str_startswith(im->dir, pre);
}

/* The VE's upper and work dirs become the image's (an old upper goes).
 * A stage's upper dir moves, one rename on the state root's filesystem,
 * rather than being copied by a cp: "VE created, upper dir installed"
 * took ~100 ms of a migration's freeze under TCG, ~20 ms since. */
static int install_upper(const struct ve_handle *h, const struct image *im, vert_error_t *err)
{
	_cleanup_free_ char *src = xasprintf("%s/upper", im->dir);
	_cleanup_free_ char *upper = xasprintf("%s/upper", h->data_dir);
	_cleanup_free_ char *work = xasprintf("%s/work", h->data_dir);
	_cleanup_free_ char *tmp = xasprintf("%s/.upper-restore", h->data_dir);
	_cleanup_free_ char *old = xasprintf("%s/.upper-old", h->data_dir);
	int r;

	ve_remove_tree(h->p, tmp, NULL);
	ve_remove_tree(h->p, old, NULL);
	if (!(image_is_stage(h->p, im) && rename(src, tmp) == 0) &&
	    (r = copy_tree(h->p, src, tmp, err)) < 0) {
		ve_remove_tree(h->p, tmp, NULL);
		return vert_error_wrap(err, "copy the image's upper dir");
	}
	if (rename(upper, old) < 0 && errno != ENOENT) {
		r = vert_error_sys(err, "move '%s' aside", upper);
		ve_remove_tree(h->p, tmp, NULL);
		return r;
	}
	if (rename(tmp, upper) < 0) {
		r = vert_error_sys(err, "rename '%s'", tmp);
		rename(old, upper);
		return r;
	}
	ve_remove_tree(h->p, old, NULL);
	ve_remove_tree(h->p, work, NULL);
	if (mkdir(work, 0755) < 0)
		return vert_error_sys(err, "create '%s'", work);
	return 0;
}

/* ---- the restoring supervisor ---- */

/* A process that holds the VE's new network namespace while vert sets it
 * up and CRIU restores into it; it goes when its pipe closes. */
static pid_t netns_holder(int *ret_fd, vert_error_t *err)
{
	int pfd[2], ready[2];
	char c;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0)
		return vert_error_sys(err, "pipe");
	pid = fork();
	if (pid < 0)
		return vert_error_sys(err, "fork");
	if (pid == 0) {
		struct ifreq ifr = { 0 };
		int s;
		close(pfd[1]);
		close(ready[0]);
		/* it lives on without exec: not a holder of the VE's lock */
		if (ve_boot_lock_fd >= 0)
			close(ve_boot_lock_fd);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		/* lo up: CRIU leaves an external netns as it finds it */
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
		if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
			_exit(1);
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			_exit(1);
		if (write(ready[1], "1", 1) != 1)
			_exit(1);
		while (read(pfd[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(pfd[0]);
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		close(pfd[1]);
		waitpid(pid, NULL, 0);
		return vert_error_set(err, EIO, VERT_ERR_RUNTIME,
				      "make a network namespace for the VE");
	}
	close(ready[0]);
	*ret_fd = pfd[1];
	return pid;
}

static int add_ext_mounts(const struct image *im, const struct ve_config *c,
			  const struct vnet_state *net, const char *cgroup, const char *views,
			  const char *stage, vert_error_t *err)
{
	const struct vnet_mount *nm = NULL;
	size_t n_nm = net ? vnet_state_mounts(net, &nm) : 0;

	for (size_t i = 0; i < vjson_array_length(im->ext); i++) {
		struct ext_mount_in em = { 0 };
		struct vjson_loc loc = { .where = "image.json", .key = "external_mounts" };

		const char *dest, *kind, *root, *src = NULL;
		_cleanup_free_ char *dev = NULL;
		int r = vjson_dispatch_elem(im->ext, i, ext_mount_table, &em, &loc, err);
		if (r < 0)
			return r;
		dest = em.dest;
		kind = em.kind;
		root = em.root;
		if (strcmp(kind, "volume") == 0) {
			for (size_t j = 0; j < c->n_volumes && !src; j++)
				if (strcmp(c->volumes[j].dest, dest) == 0)
					src = c->volumes[j].source;
		} else if (strcmp(kind, "net") == 0) {
			for (size_t j = 0; j < n_nm && !src; j++)
				if (strcmp(nm[j].dest, dest) == 0)
					src = nm[j].source;
		} else if (strcmp(kind, "dev") == 0 && root) {
			src = dev = xasprintf("/dev%s", root);
		} else if (strcmp(kind, "sysfs") == 0 && stage) {
			src = dev = xasprintf("%s/sys", stage);
		} else if (strcmp(kind, "cgroup") == 0 && cgroup &&
			   str_startswith(dest, "/sys/fs/cgroup")) {
			/* the new cgroup, or one of its files */
			src = dev = xasprintf("%s%s", cgroup, dest + strlen("/sys/fs/cgroup"));
		} else if (strcmp(kind, "views") == 0 && views && root) {
			/* the same file of this host's lxcfs */
			src = dev = xasprintf("%s%s", views, root);
		}
		if (!src && strcmp(kind, "views") == 0)
			return vert_error_set(
				err, ENOENT, VERT_ERR_INVALID,
				"the image's VE has lxcfs views ('%s'), and this host "
				"can't give it any (they need lxcfs and /dev/fuse)",
				dest);
		if (!src)
			return vert_error_set(err, ENOENT, VERT_ERR_INVALID,
					      "the image's mount '%s' (%s) has no source here",
					      dest, kind);
		if (stage && strcmp(kind, "sysfs") != 0) {
			/* bound where the VE's root, which binds it, can reach it */
			_cleanup_free_ char *at = xasprintf("%s/%zu", stage, i);
			struct stat st;
			int fd;
			if (stat(src, &st) < 0)
				return vert_error_sys(err, "the source '%s' of the mount '%s'", src,
						      dest);
			if (S_ISDIR(st.st_mode)
				    ? mkdir(at, 0755)
				    : (fd = open(at, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0 ||
					      close(fd) < 0)
				return vert_error_sys(err, "create '%s'", at);
			if (mount(src, at, NULL, MS_BIND | MS_REC, NULL) < 0)
				return vert_error_sys(err, "bind '%s' on '%s'", src, at);
			free(dev);
			src = dev = TAKE_PTR(at);
		}
		if (criu_add_ext_mount(dest, src) < 0)
			return vert_error_set(err, ENOMEM, VERT_ERR_RUNTIME,
					      "tell CRIU about the mount '%s'", dest);
	}
	return 0;
}

/* Does the image's VE have lxcfs views among its external mounts?  Read
 * through the table add_ext_mounts dispatches with: an entry it would
 * refuse counts as none here, and add_ext_mounts names the fault */
static bool image_has_views(const struct image *im)
{
	for (size_t i = 0; i < vjson_array_length(im->ext); i++) {
		struct ext_mount_in em = { 0 };
		struct vjson_loc loc = { .where = "image.json", .key = "external_mounts" };
		vert_error_t e = VERT_ERROR_INIT;

		if (vjson_dispatch_elem(im->ext, i, ext_mount_table, &em, &loc, &e) < 0) {
			vert_error_clear(&e);
			continue;
		}
		if (strcmp(em.kind, "views") == 0)
			return true;
	}
	return false;
}

/* For a VE of its own user namespace: a tmpfs on a new directory of
 * /tmp, in our private mount namespace, that the process of the VE's
 * user namespace CRIU binds the external mounts from can walk to (a VE's
 * run dir is 0700); the VE's sysfs goes on its "sys".  On the host it is
 * an empty directory, recorded in the run dir (VE_RESTORE_STAGE) before it
 * is made: a restore killed before it removes it leaves it to
 * ve_instance_cleanup. */
static int make_stage(const struct ve_handle *h, char *stage, vert_error_t *err)
{
	_cleanup_free_ char *sys = NULL;
	_cleanup_close_ int rfd = open(h->run_dir, O_DIRECTORY | O_CLOEXEC);
	char id[7];

	random_hex(id, 6);
	memcpy(stage + strlen(stage) - 6, id, 6);
	if (rfd < 0 || write_file_atomic_at(rfd, VE_RESTORE_STAGE, stage, strlen(stage), 0600) < 0)
		return vert_error_sys(err, "record '%s' in '%s'", stage, h->run_dir);
	if (mkdir(stage, 0700) < 0)
		return vert_error_sys(err, "create '%s'", stage);
	if (chmod(stage, 0755) < 0 ||
	    mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") <
		    0)
		return vert_error_sys(err, "mount a tmpfs on '%s'", stage);
	sys = xasprintf("%s/sys", stage);
	if (mkdir(sys, 0755) < 0 ||
	    mount("sysfs", sys, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return vert_error_sys(err, "mount a sysfs of the VE's network namespace");
	return 0;
}

static int pty_master = -EBADF;

static int restore_notify(char *action, criu_notify_arg_t na)
{
	(void)na;
	if (strcmp(action, "orphan-pts-master") == 0) {
		int fd = criu_get_orphan_pts_master_fd();
		if (fd >= 0) {
			if (pty_master >= 0)
				close(pty_master);
			pty_master = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		}
	}
	return 0;
}

/* Our own cgroup (v2), to come back to once CRIU has restored the VE's
 * processes from inside the VE's. */
static char *self_cgroup(void)
{
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;
	char *l;

	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", 65536, &buf, &n) < 0 || !buf)
		return NULL;
	l = strstr(buf, "0::");
	if (!l)
		return NULL;
	l += 3;
	l[strcspn(l, "\n")] = '\0';
	return xasprintf("/sys/fs/cgroup%s", l);
}

/* The VE's root in a private mount namespace of the restoring process,
 * for CRIU to bind (criu_set_root).  A VE of its own user namespace gets
 * the overlay it gets at start, made from inside a user namespace of its
 * ids over idmapped layers (src/fs/idmap.c), whose superblock is not the
 * host's: CRIU can't mount that one itself, it restores the user
 * namespace (with the ids of the image) and binds what it is given. */
static int mount_root(const struct ve_handle *h, const char *root, vert_error_t *err)
{
	_cleanup_free_ char *lower = NULL, *l = NULL, *u = NULL, *w = NULL, *data = NULL;
	_cleanup_free_ char *upper = xasprintf("%s/upper", h->data_dir);
	_cleanup_free_ char *work = xasprintf("%s/work", h->data_dir);
	int r;

	if ((r = ve_template_rootfs(h->p, h->cfg.template_name, &lower, err)) < 0)
		return r;
	/* an --rm VE ran on a volatile overlay, whose mark in the work dir
	 * would refuse this mount (the VE's data is its, no crash since) */
	if (ve_overlay_volatile(&h->cfg) && (r = ve_overlay_work_reset(h->p, work, err)) < 0)
		return r;
	if (unshare(CLONE_NEWNS) < 0)
		return vert_error_sys(err, "unshare the mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return vert_error_sys(err, "make mounts private");
	if (mkdir(root, 0755) < 0 && errno != EEXIST)
		return vert_error_sys(err, "create '%s'", root);
	if (ve_config_userns_private(h->p, &h->cfg) && h->cfg.idmap_base) {
		_cleanup_close_ int fd = -EBADF;
		if ((r = fs_idmap_overlay_detached(lower, h->data_dir, upper, work,
						   h->cfg.idmap_base, VE_IDMAP_SIZE, root, &fd,
						   err)) < 0)
			return r;
		if (syscall(SYS_move_mount, fd, "", AT_FDCWD, root, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return vert_error_sys(err, "attach the VE's overlay on '%s'", root);
		return 0;
	}
	l = fs_overlay_escape(lower);
	u = fs_overlay_escape(upper);
	w = fs_overlay_escape(work);
	data = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", l, u, w);
	if (mount("overlay", root, "overlay", 0, data) < 0)
		return vert_error_sys(err, "mount overlay (lower '%s', upper '%s') on '%s'", lower,
				      upper, root);
	return 0;
}

/* vert's own filters with the sysinfo(2) listener, as a start and an exec
 * load them for this VE (with a device filter on its cgroup and without),
 * turned into plain allows in the image (ve_criu_seccomp_unlisten): CRIU
 * brings them back without their listener.  A VE that never had the
 * listener (nesting, rootless) has nothing to turn. */
static void unlisten_sysinfo(const struct ve_handle *h, int imgfd)
{
	struct sock_fprog *progs[2] = { NULL, NULL };
	vert_error_t e = VERT_ERROR_INIT;
	unsigned changed = 0, unmatched = 0;
	size_t n = 0;

	if (h->cfg.nesting || h->p->rootless)
		return;
	for (int ndf = 0; ndf < 2; ndf++) {
		struct ve_compile_in in = { h->p, &h->cfg, "/", "/", "/", "/" };
		_cleanup_spec_ struct rt_spec *spec = NULL;
		struct json_object *sj = NULL;
		in.no_device_filter = ndf;
		in.sysinfo = true;
		if (ve_compile_spec(&in, &sj, &e) == 0 && rt_spec_from_json(sj, &spec, &e) == 0 &&
		    spec->seccomp &&
		    rt_seccomp_compile_cached(spec->seccomp, h->p->run, &progs[n], &e) == 0)
			n++;
		else if (e.msg)
			vert_debug("VE '%s': compile its seccomp filter: %s", h->name, e.msg);
		json_object_put(sj);
		vert_error_clear(&e);
	}
	if (ve_criu_seccomp_unlisten(imgfd, progs, n, &changed, &unmatched, &e) < 0)
		vert_log(VERT_LOG_WARNING,
			 "VE '%s': %s; its sysinfo(2) fails with ENOSYS until it restarts", h->name,
			 e.msg);
	else if (unmatched && !changed)
		/* an image of another vert (another libseccomp, other rules)
		 * or of a config changed since: not the filter vert makes now */
		vert_log(VERT_LOG_WARNING,
			 "VE '%s': its seccomp filter is not the one this vert makes for it; "
			 "its sysinfo(2) and sched_getaffinity(2) fail with ENOSYS until it "
			 "restarts",
			 h->name);
	if (changed)
		vert_debug("VE '%s': %u sysinfo hand-overs of its seccomp filters made allows",
			   h->name, changed);
	vert_error_clear(&e);
	for (size_t k = 0; k < n; k++)
		rt_seccomp_prog_free(progs[k]);
}

static int criu_run(const struct ve_handle *h, const struct image *im, int netfd,
		    const struct vnet_state *net, const char *root, int cgfd, const char *cgroup,
		    const char *views, pid_t *ret, vert_error_t *err)
{
	_cleanup_free_ char *imgdir = xasprintf("%s/criu", im->dir), *back = self_cgroup();
	_cleanup_free_ char *back_procs = back ? xasprintf("%s/cgroup.procs", back) : NULL;
	_cleanup_close_ int imgfd = open(imgdir, O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int workfd = open(h->run_dir, O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int selfnet = -EBADF;
	char stage[] = VE_RESTORE_STAGE_PREFIX "XXXXXX";
	bool own_netns = ve_criu_own_netns(h);
	int r;

	if (imgfd < 0 || workfd < 0)
		return vert_error_sys(err, "open '%s'", imgfd < 0 ? imgdir : h->run_dir);
	unlisten_sysinfo(h, imgfd);
	/* vert made the cgroup with the VE's limits: CRIU's tasks land in it
	 * because CRIU runs in it; it touches no cgroup itself (IGNORE) */
	if ((r = ve_criu_opts(imgfd, workfd, "restore.log", CRIU_CG_MODE_IGNORE, err)) < 0)
		return r;
	if (criu_set_root(root) < 0)
		return vert_error_set(err, ENOMEM, VERT_ERR_RUNTIME, "tell CRIU the root");
	if (own_netns && netfd >= 0) {
		/* CRIU runs in the VE's network namespace, and the VE's /sys
		 * is a sysfs of it (checkpoint.c, ve_criu_own_netns) */
		if ((r = ve_criu_enter_netns(0, netfd, &selfnet, err)) < 0)
			return r;
	} else if (netfd >= 0 && criu_add_inherit_fd(netfd, "extRootNetNS") < 0) {
		return vert_error_set(err, ENOMEM, VERT_ERR_RUNTIME, "tell CRIU the netns");
	}
	if (own_netns && (r = make_stage(h, stage, err)) < 0)
		goto out;
	if ((r = add_ext_mounts(im, &h->cfg, net, cgroup, views, own_netns ? stage : NULL, err)) <
	    0)
		goto out;
	criu_set_notify_cb(restore_notify);
	if (cgfd >= 0 && write_file_str_at(cgfd, "cgroup.procs", "0") < 0) {
		r = vert_error_sys(err, "enter the VE's cgroup");
		goto out;
	}
	{
		/* CRIU's own stderr (a failed unlock of the network lock table
		 * that went with the old netns) is noise next to its log */
		int save = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		r = criu_restore_child();
		if (save >= 0) {
			dup2(save, STDERR_FILENO);
			close(save);
		}
		if (null >= 0)
			close(null);
	}
	if (cgfd >= 0 && back && write_file_str(back_procs, "0") < 0)
		vert_debug("leave the VE's cgroup: %s", strerror(errno));
	criu_set_notify_cb(NULL);
	if (r <= 0) {
		_cleanup_free_ char *why = ve_criu_reason(workfd, "restore.log");
		r = vert_error_set(err, 0, VERT_ERR_RUNTIME, "criu: %s (log: %s/restore.log)",
				   why ? why : "restore failed", h->run_dir);
		goto out;
	}
	*ret = r;
	r = 0;
out:
	if (selfnet >= 0 && setns(selfnet, CLONE_NEWNET) < 0)
		vert_debug("back to our network namespace: %s", strerror(errno));
	if (strcmp(stage + strlen(stage) - 6, "XXXXXX") != 0) {
		umount2(stage, MNT_DETACH);
		if (rmdir(stage) == 0 || errno == ENOENT) {
			_cleanup_free_ char *rec = xasprintf("%s/" VE_RESTORE_STAGE, h->run_dir);
			unlink(rec);
		}
	}
	return r;
}

/* The image's CRIU dirs (criu/, and pre-N/ of a migration, its parents)
 * owned by uid and searchable, and the image's own dir searchable (the
 * parent links lead through it): a VE of its own user namespace is
 * restored by a process of it, which reads its images itself.  Given back
 * to root (0700, the image dir its *mode) after. */
static void images_chown(const char *dir, uid_t uid, mode_t *mode)
{
	_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (dfd < 0 || fstat(dfd, &st) < 0)
		return;
	if (uid)
		*mode = st.st_mode & 07777;
	if (fchmod(dfd, uid ? (*mode | 0111) : *mode) < 0)
		vert_debug("chmod '%s': %s", dir, strerror(errno));
	if (!(d = fdopendir(TAKE_FD(dfd))))
		return;
	while ((de = readdir(d))) {
		_cleanup_close_ int sub = -EBADF;
		struct dirent *e;
		DIR *sd;
		if (strcmp(de->d_name, "criu") != 0 && !str_startswith(de->d_name, "pre-"))
			continue;
		sub = openat(dirfd(d), de->d_name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || fchown(sub, uid, uid) < 0 || fchmod(sub, uid ? 0755 : 0700) < 0 ||
		    !(sd = fdopendir(TAKE_FD(sub))))
			continue;
		while ((e = readdir(sd)))
			if (e->d_name[0] != '.' &&
			    fchownat(dirfd(sd), e->d_name, uid, uid, AT_SYMLINK_NOFOLLOW) < 0)
				vert_debug("chown '%s': %s", e->d_name, strerror(errno));
		closedir(sd);
	}
	closedir(d);
}

/* In the forked supervisor: the VE's instance, restored.  Fills b (the
 * init's pidfd, the console's master) for ve_supervise. */
static int restore_boot(struct ve_handle *h, const struct image *im, struct ve_boot *b,
			vert_error_t *err)
{
	const struct ve_config *c = &h->cfg;
	_cleanup_free_ char *root = xasprintf("%s/root", h->run_dir);
	_cleanup_free_ char *marker = xasprintf("%s/" VE_RESTORING_MARK, h->run_dir);
	_cleanup_close_ int hostns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	struct cg_handle cg = CG_HANDLE_INIT;
	_cleanup_vnet_ struct vnet_state *net = NULL;
	_cleanup_free_ char *views = NULL;
	uint8_t mac[6], *macp = NULL;
	mode_t im_mode = 0700;
	int netfd = -EBADF, holder_fd = -EBADF, r;
	pid_t holder = 0, pid = 0;

	b->ct = (struct rt_container){ .pidfd = -EBADF, .pty_master = -EBADF, .listener = -EBADF };
	b->cgroup = NULL;
	b->cgroup_fd = -EBADF;
	if (mkdir(h->run_dir, 0700) < 0 && errno != EEXIST)
		return vert_error_sys(err, "create '%s'", h->run_dir);
	/* what a listing says while we hold the VE's lock (list.c); the
	 * run dir, and it with it, goes if we fail or are killed.  Only a
	 * listing's word: without it the VE reads "stopped" meanwhile */
	ve_run_mark(h, VE_RESTORING_MARK, "restoring", NULL);
	if ((r = cg_prepare(h->cgroup_name, &c->resources, false,
			    (ve_config_caps(c) & CAP_BIT(CAP_SYS_ADMIN)) ? CG_ANCHOR_ON_HYBRID : 0,
			    &cg, err)) < 0)
		goto fail;
	b->cgroup = TAKE_PTR(cg.path);
	b->cgroup_fd = TAKE_FD(cg.dirfd);
	b->device_filter = cg.devices_filtered;
	cg_handle_done(&cg);
	vert_debug_mark("restore: cgroup");
	if (im->mac && sscanf(im->mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2],
			      &mac[3], &mac[4], &mac[5]) == 6)
		macp = mac;
	{
		struct vnet_paths np = ve_vnet_paths(h->p);
		struct vnet_config nc = { c->net,      im->ip ? im->ip : c->ip,
					  c->publish,  c->dns,
					  c->hostname, macp };
		if ((r = vnet_prepare(&np, c->name, &nc, &net, err)) < 0)
			goto fail;
	}
	if (vnet_mode_new_netns(vnet_state_mode(net))) {
		_cleanup_free_ char *ns = NULL;
		if ((holder = netns_holder(&holder_fd, err)) < 0) {
			r = holder;
			holder = 0;
			goto fail;
		}
		if ((r = vnet_attach(net, holder, err)) < 0 || (r = vnet_commit(net, err)) < 0)
			goto fail;
		ns = xasprintf("/proc/%d/ns/net", holder);
		/* NOLINTNEXTLINE(android-cloexec-open): CRIU, exec'd by libcriu, inherits it */
		if ((netfd = open(ns, O_RDONLY)) < 0) {
			r = vert_error_sys(err, "open '%s'", ns);
			goto fail;
		}
	}
	vert_debug_mark("restore: network");
	/* the image's VE had views: this host's lxcfs gives them again (and
	 * ve_instance_cleanup gives them back).  Before mount_root, which
	 * unshares our mount namespace: an lxcfs started from that one would
	 * mount its files where only we see them */
	if (image_has_views(im))
		views = ve_views_acquire(h->p, c->name, NULL);
	if ((r = mount_root(h, root, err)) < 0)
		goto fail;
	vert_debug_mark("restore: root mounted");
	if (ve_criu_own_netns(h))
		images_chown(im->dir, (uid_t)c->idmap_base, &im_mode);
	r = criu_run(h, im, netfd, net, root, b->cgroup_fd, b->cgroup, views, &pid, err);
	vert_debug_mark("restore: criu done");
	if (ve_criu_own_netns(h))
		images_chown(im->dir, 0, &im_mode);
	/* back to the host's mounts: the VE has its root, bound by CRIU */
	umount2(root, MNT_DETACH);
	if (hostns >= 0 && setns(hostns, CLONE_NEWNS) < 0)
		vert_debug("back to the host mount namespace: %s", strerror(errno));
	rmdir(root);
	if (r < 0)
		goto fail;
	{
		struct ve_state s = {
			.status = (char *)"running",
			.pid = pid,
			.start_time = proc_start_time(pid),
			.supervisor_pid = getpid(),
			.supervisor_start_time = proc_start_time(getpid()),
			.started_at = (int64_t)time(NULL),
			.autoremove = c->autoremove,
			.cgroup = b->cgroup,
			.device_filter = b->device_filter,
		};
		b->ct.pid = pid;
		b->ct.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (b->ct.pidfd < 0) {
			r = vert_error_sys(err, "pidfd of the restored init");
			kill(pid, SIGKILL);
			goto fail;
		}
		fcntl(b->ct.pidfd, F_SETFD, FD_CLOEXEC);
		b->ct.pty_master = TAKE_FD(pty_master);
		if ((r = ve_state_write(h, &s, err)) < 0) {
			kill(pid, SIGKILL);
			goto fail;
		}
		unlink(marker);
	}
	if (netfd >= 0)
		close(netfd);
	if (holder > 0) {
		close(holder_fd);
		waitpid(holder, NULL, 0);
	}
	return 0;
fail:
	if (netfd >= 0)
		close(netfd);
	if (holder > 0) {
		close(holder_fd);
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (pty_master >= 0)
		close(TAKE_FD(pty_master));
	ve_instance_cleanup(h, b->cgroup);
	ve_boot_done(b);
	return r;
}

struct restore_boot {
	struct ve_handle *h;
	const struct image *im;
	int image_lock; /* ve_image_hold's, or -EBADF */
};

static int restore_boot_fn(void *data, struct ve_boot *b, vert_error_t *err)
{
	struct restore_boot *rb = data;
	int r = restore_boot(rb->h, rb->im, b, err);
	/* the supervisor's copy of the image's hold goes once the VE runs
	 * (the caller's stays until it returns): a supervisor that does not
	 * become vert-monitor must not keep a source's give-up waiting */
	if (r == 0 && rb->image_lock >= 0)
		close(rb->image_lock);
	return r;
}

/* --input into a state root without the VE: its data from the image,
 * the config last (the commit point of a create). */
static int create_from_image(const struct ve_paths *p, const char *name, const struct image *im,
			     struct ve_handle **ret, vert_error_t *err)
{
	_cleanup_free_ char *cfgpath = xasprintf("%s/config.json", im->dir);
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	struct ve_config c;
	int r;

	ve_config_init(&c);
	if ((r = ve_config_load(cfgpath, name, &c, err)) < 0)
		goto out;
	if ((r = ve_open_new(p, &c, &h, err)) < 0)
		goto out;
	if (access(h->data_dir, F_OK) == 0) {
		r = vert_error_set(err, EEXIST, VERT_ERR_EXISTS,
				   "VE '%s' already exists in this state root", name);
		goto out;
	}
	ve_reconcile_locked(h);
	if (mkdir(h->data_dir, 0700) < 0) {
		r = vert_error_sys(err, "create '%s'", h->data_dir);
		goto out;
	}
	if ((r = install_upper(h, im, err)) < 0 || (r = ve_config_save(h, &c, true, err)) < 0) {
		ve_remove_tree(p, h->data_dir, NULL);
		goto out;
	}
	if ((r = ve_handle_reload(h, err)) < 0)
		goto out;
	*ret = TAKE_PTR(h);
out:
	ve_config_done(&c);
	return r;
}

/* Before anything is done (main lets restore decide, like run): the
 * sealed copy of vert only where the VE's config, the image's or its
 * own, says the VE's root could write the binary (ve_exe_guard; a config
 * that can't be read gets the copy).  Once in the copy, the config isn't
 * read for this. */
static int restore_exe_guard(const struct ve_paths *p, const char *name,
			     const struct ve_restore_opts *o, vert_error_t *err)
{
	_cleanup_free_ char *path = NULL;
	struct ve_config c;
	bool loaded;
	int r;

	if (vert_exe_sealed())
		return 0;
	path = o->input ? xasprintf("%s/config.json", o->input)
			: ve_path(p->data, name, "config.json");
	ve_config_init(&c);
	loaded = ve_name_check("VE", name, NULL) == 0 && ve_config_load(path, name, &c, NULL) == 0;
	r = ve_exe_guard(p, loaded ? &c : NULL, true, err);
	ve_config_done(&c);
	return r;
}

static int restore(const struct ve_paths *p, const char *name, const struct ve_restore_opts *o,
		   vert_error_t *err)
{
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int hold = -EBADF;
	struct image im = { 0 };
	bool created = false, own = false;
	int r;

	if (p->rootless)
		return vert_error_set(err, EPERM, VERT_ERR_INVALID, "CRIU needs real root");
	if ((r = restore_exe_guard(p, name, o, err)) < 0)
		return r;
	if (o->input) {
		dir = realpath(o->input, NULL);
		if (!dir)
			return vert_error_set(
				err, errno, errno == ENOENT ? VERT_ERR_NOTFOUND : VERT_ERR_RUNTIME,
				"checkpoint image '%s'", o->input);
		/* held until the restore is over, or undone: a migration's
		 * source that gave the image up waits for it (migrate.c) */
		if ((r = ve_image_hold(dir, &hold, err)) < 0)
			return r;
		if ((r = ve_open(p, name, 0, &h, err)) < 0)
			return r;
		if (access(h->config_path, F_OK) == 0) {
			/* the VE's own image, in the state root it was taken in,
			 * replaces it; anywhere else the name is in use */
			if ((r = image_load(dir, &im, err)) < 0)
				goto out;
			if (!im.data_root || strcmp(im.data_root, p->data) != 0 ||
			    strcmp(im.name, name) != 0) {
				r = vert_error_set(err, EEXIST, VERT_ERR_EXISTS,
						   "VE '%s' already exists in this state root",
						   name);
				goto out;
			}
			own = true;
			if ((r = ve_handle_lock(h, false, err)) < 0 ||
			    (r = ve_handle_config(h, err)) < 0)
				goto out;
		} else {
			ve_close(TAKE_PTR(h));
		}
	} else {
		if ((r = ve_open(p, name, VE_OPEN_LOCK | VE_OPEN_CONFIG, &h, err)) < 0)
			return r;
		dir = xasprintf("%s/checkpoint", h->data_dir);
		own = true;
	}
	if (!im.meta && (r = image_load(dir, &im, err)) < 0)
		goto out;
	if (strcmp(im.name, name) != 0) {
		r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				   "the image holds VE '%s', not '%s'", im.name, name);
		goto out;
	}
	vert_debug_mark("restore: image read");
	if ((r = check_template(p, &im, err)) < 0)
		goto out;
	vert_debug_mark("restore: template checked");
	if (!own) {
		if (!image_has_upper(&im)) {
			r = vert_error_set(err, ENOENT, VERT_ERR_INVALID,
					   "checkpoint image '%s' has no upper dir: it restores "
					   "only VE '%s' where it was taken",
					   dir, name);
			goto out;
		}
		if ((r = create_from_image(p, name, &im, &h, err)) < 0)
			goto out;
		created = true;
		vert_debug_mark("restore: VE created, upper dir installed");
	} else {
		if ((r = ve_state_check(p, name, err)) < 0)
			goto out;
		if (ve_reconcile_locked(h)) {
			r = vert_error_set(err, EBUSY, VERT_ERR_RUNNING, "VE '%s' is running",
					   name);
			goto out;
		}
		/* an image without an upper dir (a migration's, whose upper
		 * is sent apart: ve_checkpoint_opts.no_upper) runs on the
		 * VE's own, as CRIU left it */
		if (image_has_upper(&im) && (r = install_upper(h, &im, err)) < 0)
			goto out;
	}
	/* CRIU restores the VE's user namespace with the ids it was dumped
	 * with: its range must be free here (a range another VE holds is
	 * refused, not remapped) */
	if (ve_config_userns_private(p, &h->cfg) && h->cfg.idmap_base &&
	    (r = ve_idrange_claim(p, name, h->cfg.idmap_base, err)) < 0)
		vert_error_wrap(err, "the image's user namespace keeps its host ids");
	else
		r = ve_boot_detached(h, &h->cfg, restore_boot_fn,
				     &(struct restore_boot){ h, &im, hold }, err);
	if (r < 0 && created)
		ve_remove_data(h, NULL);
out:
	if (h)
		ve_handle_unlock(h, r < 0 && created ? VE_UNLOCK_REMOVE : VE_UNLOCK_AUTO);
	image_done(&im);
	return r;
}

int ve_restore(const struct ve_paths *p, const char *name, const struct ve_restore_opts *o,
	       vert_error_t *err)
{
	int r = restore(p, name, o, err);
	if (r < 0)
		return vert_error_wrap(err, "restore VE '%s'", name);
	return 0;
}

#else

int ve_restore(const struct ve_paths *p, const char *name, const struct ve_restore_opts *o,
	       vert_error_t *err)
{
	(void)p;
	(void)o;
	return vert_error_set(err, ENOTSUP, VERT_ERR_INVALID,
			      "restore VE '%s': this vert was built without CRIU (libcriu)", name);
}

#endif
