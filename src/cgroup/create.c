/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VE's cgroup: created with its limits before the init exists, so the
 * init is born inside it (clone3 CLONE_INTO_CGROUP, through the cgroup's
 * directory fd) and not a single page or fork escapes the limits.
 *
 *   <base>/NAME           the VE's cgroup namespace root: its limits and
 *                         counters, its init and every exec
 *
 * So `cat /sys/fs/cgroup/memory.max` inside shows the VE's limit, as in a
 * Docker or Incus container with a private cgroup namespace, and `vert
 * set` shows at once.  The VE can't raise the limits on its own namespace
 * root: a cgroup2 mounted with nsdelegate (systemd's default) refuses a
 * write from inside a cgroup namespace to its root's files, delegatable
 * ones (cgroup.procs, cgroup.threads, cgroup.subtree_control) aside; and a
 * VE in its own user namespace gets only those files and the directory
 * chowned to its root (cg_delegate, like systemd's Delegate=yes), the
 * limit files staying host root's.  A systemd init moves itself to
 * init.scope and then enables controllers in its root, now free of
 * processes (the no-internal-processes rule): exactly what it does in
 * Docker's private cgroup namespaces.
 *
 * Inside, the limit files are also bound read-only over themselves
 * (cg_limit_files).  Only a root VE without a user namespace, with
 * CAP_SYS_ADMIN (which unmounts those), on a cgroup2 without nsdelegate
 * (the hybrid host's cgroup2, for one) could write its own limits there.
 * That VE gets one more level, as systemd-nspawn does, and its limits stay
 * out of its reach:
 *
 *   <base>/NAME/payload   the VE's cgroup namespace root
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include "cgroup-internal.h"
#include "vert/util.h"

void cg_handle_done(struct cg_handle *h)
{
	if (h->dirfd >= 0)
		close(h->dirfd);
	free(h->path);
	free(h->why_none);
	*h = (struct cg_handle)CG_HANDLE_INIT;
}

/* <base>, made once and kept: other VEs come and go in it. */
static int open_base(const struct cg_place *pl, vert_error_t *err)
{
	_cleanup_close_ int pfd = -EBADF;
	int bfd;

	pfd = open(pl->parent, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (pfd < 0)
		return vert_error_sys(err, "open cgroup '%s'", pl->parent);
	/* As root, the root cgroup may lack a controller in its
	 * subtree_control (systemd enables them all; a bare host may not).
	 * A delegated cgroup's subtree_control belongs to whoever delegated
	 * it: read (cg_place_find), never written. */
	if (!pl->delegated)
		cg_enable_controllers_at(pfd, pl->controllers);
	if (mkdirat(pfd, CG_SUBTREE, 0755) < 0 && errno != EEXIST)
		return vert_error_sys(err, "create cgroup '%s'", pl->base);
	bfd = openat(pfd, CG_SUBTREE, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (bfd < 0)
		return vert_error_sys(err, "open cgroup '%s'", pl->base);
	cg_enable_controllers_at(bfd, pl->controllers);
	return bfd;
}

/* How far a VE's cgroup tree may grow, set on <base>/NAME where the VE
 * can't raise it.  Every cgroup costs kernel memory (per controller, and
 * per CPU for memory and cpu) that no limit of the VE's pays for, and a
 * deep tree makes every charge walk up a longer path: a VE must not make
 * them without bound.  Both count from NAME, so the payload is depth 1.
 *   depth 32: systemd's deepest is about 6 below the payload
 *     (user.slice/user-N.slice/user@N.service/app.slice/X.scope), a
 *     nested container with its own systemd doubles that; 32 leaves room
 *     for one more level of nesting.
 *   descendants 1024: a systemd VE with a hundred services and a few
 *     sessions uses a few hundred; the rest is room for nested ones,
 *     while 1024 cgroups stay a few tens of MB of kernel memory at most. */
#define CG_VE_MAX_DEPTH "32"
#define CG_VE_MAX_DESCENDANTS "1024"

static int limit_tree(int vfd, const char *path, vert_error_t *err)
{
	static const char *const files[][2] = {
		{ "cgroup.max.depth", CG_VE_MAX_DEPTH },
		{ "cgroup.max.descendants", CG_VE_MAX_DESCENDANTS },
	};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		int r = write_file_str_at(vfd, files[i][0], files[i][1]);
		if (r < 0)
			return vert_error_set(err, -r, VERT_ERR_RUNTIME, "set %s of cgroup '%s'",
					      files[i][0], path);
	}
	return 0;
}

static int make_ve_cgroup(int bfd, const char *path, const char *cgname, vert_error_t *err)
{
	int r;

	if (mkdirat(bfd, cgname, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return vert_error_sys(err, "create cgroup '%s'", path);
	/* Left by a vert that died before its next command could reconcile
	 * (the state that recorded it is gone).  The name is this VE's own,
	 * unique to its state root, and we hold the VE's lock: whatever is
	 * in it belongs to a dead incarnation of this VE. */
	vert_debug("removing leftover cgroup '%s'", path);
	if ((r = cg_remove_path(path, err)) < 0)
		return r;
	if (mkdirat(bfd, cgname, 0755) < 0)
		return vert_error_sys(err, "create cgroup '%s'", path);
	return 0;
}

int cg_prepare(const char *cgname, const struct rt_resources *res, bool rootless, unsigned flags,
	       struct cg_handle *h, vert_error_t *err)
{
	struct cg_place pl;
	_cleanup_close_ int bfd = -EBADF, vfd = -EBADF;
	_cleanup_free_ char *path = NULL;
	int r;

	*h = (struct cg_handle)CG_HANDLE_INIT;
	/* limits need controllers, which the hybrid anchor has none of: the
	 * usual hybrid refusal then */
	if (rt_resources_any(res))
		flags &= ~CG_ANCHOR_ON_HYBRID;
	cg_place_find(rootless, flags, &pl);
	if (pl.why_none) {
		if (rt_resources_any(res))
			r = cg_refuse_none(&pl, err);
		else {
			h->why_none = xasprintf("running without a cgroup (no resource limits or "
						"accounting): %s; %s",
						pl.why_none, pl.fix ? pl.fix : "");
			r = 0;
		}
		cg_place_done(&pl);
		return r;
	}
	if ((r = cg_check_controllers(res, pl.controllers, pl.parent, pl.delegated, err)) < 0)
		goto out;
	if ((r = bfd = open_base(&pl, err)) < 0)
		goto out;
	path = xasprintf("%s/%s", pl.base, cgname);
	r = make_ve_cgroup(bfd, path, cgname, err);
	if (r == -ENOENT && pl.anchor) {
		/* the hybrid base was removed by the last VE leaving it
		 * between our mkdir and ours: once more */
		vert_error_clear(err);
		close(bfd);
		if ((r = bfd = open_base(&pl, err)) < 0)
			goto out;
		r = make_ve_cgroup(bfd, path, cgname, err);
	}
	if (r < 0)
		goto out;
	/* from here on, a failure removes what was made (house rule 4) */
	vfd = openat(bfd, cgname, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (vfd < 0) {
		r = vert_error_sys(err, "open cgroup '%s'", path);
		goto undo;
	}
	/* device access (root only: loading BPF needs CAP_SYS_ADMIN, and a
	 * rootless VE can't make device nodes anyway) */
	if (!rootless) {
		size_t nr;
		const struct cg_dev_rule *rules = cg_dev_default_rules(&nr);
		vert_error_t e = VERT_ERROR_INIT;
		if (cg_devices_attach(vfd, rules, nr, &e) == 0)
			h->devices_filtered = true;
		else
			vert_debug("%s", e.msg);
		vert_error_clear(&e);
	}
	if ((r = limit_tree(vfd, path, err)) < 0 || (r = cg_write_resources(vfd, res, err)) < 0)
		goto undo;
	h->nsdelegate = cg_nsdelegate();
	h->anchor = pl.anchor;
	h->dirfd = TAKE_FD(vfd);
	h->path = TAKE_PTR(path);
	r = 0;
	goto out;
undo : {
	vert_error_t e = VERT_ERROR_INIT;
	if (cg_remove_path(path, &e) < 0)
		vert_log(VERT_LOG_WARNING, "%s", e.msg);
	vert_error_clear(&e);
}
out:
	cg_place_done(&pl);
	return r;
}

/* The cgroup init_pid is in, when it lies below payload, the VE's
 * namespace root (else -EBADF). */
static int open_init_cgroup(const char *payload, pid_t init_pid)
{
	_cleanup_free_ char *buf = NULL, *rel = NULL, *abs = NULL;
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/%d/cgroup", init_pid);
	if (read_file_at(AT_FDCWD, proc, 1 << 16, &buf, NULL) < 0 ||
	    cg_parse_proc_cgroup(buf, &rel) < 0)
		return -EBADF;
	abs = xasprintf(CG_MOUNT "%s", rel);
	/* only below the payload: the init (the VE) chose this cgroup, and
	 * cgroupfs has no symlinks, so a prefix check on the kernel's own
	 * path is enough; ".." can't appear in it */
	if (!str_startswith(abs, payload) || abs[strlen(payload)] != '/' || strstr(abs, "/../"))
		return -EBADF;
	return open(abs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
}

/* Files that delegation hands over (Documentation/admin-guide/cgroup-v2.rst,
 * "Delegation"; systemd's Delegate=yes): with the directory, they let the
 * VE's root create cgroups below, move its processes and enable
 * controllers for its children, and nothing more. */
static const char *const delegated_files[] = { "cgroup.procs", "cgroup.subtree_control",
					       "cgroup.threads" };

int cg_delegate(struct cg_handle *h, const struct cg_owner *o, vert_error_t *err)
{
	int pfd;

	if (!h->path)
		return 0;
	if (!o->userns && !h->nsdelegate && o->can_unmount) {
		/* the one case where the VE's root could write the limits of
		 * its namespace root (its read-only binds of them, see
		 * cg_limit_files, it can unmount): a level of its own below */
		cg_enable_controllers_at(h->dirfd, CG_CTRL_ALL);
		if (mkdirat(h->dirfd, CG_PAYLOAD, 0755) < 0)
			return vert_error_sys(err, "create cgroup '%s/" CG_PAYLOAD "'", h->path);
		pfd = openat(h->dirfd, CG_PAYLOAD, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (pfd < 0)
			return vert_error_sys(err, "open cgroup '%s/" CG_PAYLOAD "'", h->path);
		close(h->dirfd);
		h->dirfd = pfd;
		h->nested = true;
		return 0;
	}
	if (!o->userns || !o->chown)
		return 0;
	if (fchownat(h->dirfd, "", o->uid, o->gid, AT_EMPTY_PATH) < 0)
		return vert_error_sys(err, "delegate cgroup '%s' to uid %u", h->path,
				      (unsigned)o->uid);
	for (size_t i = 0; i < ARRAY_SIZE(delegated_files); i++)
		if (fchownat(h->dirfd, delegated_files[i], o->uid, o->gid, 0) < 0 &&
		    errno != ENOENT)
			return vert_error_sys(err, "delegate '%s/%s' to uid %u", h->path,
					      delegated_files[i], (unsigned)o->uid);
	return 0;
}

int cg_exec_target(const char *path, pid_t init_pid, int *ret_fd, vert_error_t *err)
{
	_cleanup_free_ char *payload = xasprintf("%s/" CG_PAYLOAD, path);
	_cleanup_close_ int pfd = -EBADF;
	int fd;

	/* the VE's namespace root: NAME, or NAME/payload for a VE that can't
	 * be shown its limits (cg_delegate) */
	pfd = open(payload, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (pfd < 0 && errno == ENOENT) {
		free(payload);
		payload = xstrdup(path);
		pfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	}
	if (pfd < 0)
		return vert_error_sys(err, "open cgroup '%s'", payload);
	/* Controllers enabled in the namespace root mean the VE's init moved
	 * to a leaf (systemd: init.scope); processes can't join the root any
	 * more, so the exec joins the init where it is now, as runc does. */
	if (cg_read_controllers_at(pfd, "cgroup.subtree_control") == 0) {
		*ret_fd = TAKE_FD(pfd);
		return 0;
	}
	fd = open_init_cgroup(payload, init_pid);
	if (fd < 0)
		return vert_error_set(err, EBUSY, VERT_ERR_RUNTIME,
				      "the VE manages its cgroup '%s' and its init is in none "
				      "of its leaves that vert could join",
				      payload);
	*ret_fd = fd;
	return 0;
}

int cg_helper_cgroup(const char *cgname, char **ret_path, vert_error_t *err)
{
	struct cg_place pl;
	_cleanup_close_ int bfd = -EBADF;
	int r;

	cg_place_find(false, 0, &pl);
	if (pl.why_none) {
		r = vert_error_set(err, ENOENT, VERT_ERR_RUNTIME, "%s", pl.why_none);
		goto out;
	}
	if ((r = bfd = open_base(&pl, err)) < 0)
		goto out;
	if (mkdirat(bfd, cgname, 0755) < 0 && errno != EEXIST) {
		r = vert_error_sys(err, "create cgroup '%s/%s'", pl.base, cgname);
		goto out;
	}
	*ret_path = xasprintf("%s/%s", pl.base, cgname);
	r = 0;
out:
	cg_place_done(&pl);
	return r;
}

int cg_helper_enter(const char *path)
{
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", path);
	int r;

	/* A cgroup namespace rooted at the top, but not the initial one: a
	 * cgroup2 mount made from the initial cgroup namespace resets the
	 * hierarchy's nsdelegate (and memory_*) options for everyone
	 * (apply_cgroup_root_flags), and lxcfs mounts cgroup2 for itself
	 * without them.  Paths read from /proc/PID/cgroup stay the same. */
	if ((r = write_file_str(CG_MOUNT "/cgroup.procs", "0")) < 0)
		return r;
	if (unshare(CLONE_NEWCGROUP) < 0)
		return -errno;
	return write_file_str(procs, "0");
}

/* The files of a VE's cgroup that hold its limits (cg_write_resources and
 * the kernel's other knobs of the same kind). */
static const char *const limit_files[] = {
	"memory.max",
	"memory.high",
	"memory.low",
	"memory.min",
	"memory.swap.max",
	"memory.swap.high",
	"memory.zswap.max",
	"memory.oom.group",
	"cpu.max",
	"cpu.max.burst",
	"cpu.weight",
	"cpu.weight.nice",
	"cpu.idle",
	"cpuset.cpus",
	"cpuset.mems",
	"cpuset.cpus.partition",
	"pids.max",
	"io.max",
	"io.weight",
	"io.latency",
	"cgroup.max.descendants",
	"cgroup.max.depth",
	"cgroup.freeze",
	"cgroup.kill",
};

char **cg_limit_files(const struct cg_handle *h)
{
	char **v = NULL;

	if (!h->path || h->dirfd < 0 || h->anchor)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(limit_files); i++)
		if (faccessat(h->dirfd, limit_files[i], F_OK, 0) == 0)
			v = strv_push(v, xstrdup(limit_files[i]));
	return v;
}
