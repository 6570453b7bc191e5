/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the host offers: its cgroup layout, the controllers, and where this
 * process may put VE cgroups.
 *
 * Why cgroupfs and not libcgroup, for the whole of src/cgroup: vert needs
 * an O_DIRECTORY fd for clone3(CLONE_INTO_CGROUP), cgroup.kill,
 * cgroup.events, memory.events, cgroup namespaces and delegation checks,
 * none of which libcgroup (2.0.2 in Debian 12) offers.  What it does
 * offer, creating a cgroup and writing limits, is a mkdir and a write(2)
 * each here, and measured in the test VM it would cost more than it saves:
 * cgroup_init() parses the mount table in every process (10-38 ms under
 * TCG), cgroup_create_cgroup() enables controllers in every ancestor by
 * itself (vert must not touch a delegated subtree's root it did not
 * create), its errors lose which file and value failed, and
 * cgroup_get_current_controller_path() fails on a pure v2 host.  So vert
 * does not link it.
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "cgroup-internal.h"
#include "vert/util.h"

enum cg_layout cg_detect_layout(void)
{
	struct statfs fs;

	if (statfs(CG_MOUNT, &fs) < 0)
		return CG_LAYOUT_NONE;
	if (fs.f_type == CGROUP2_SUPER_MAGIC)
		return CG_LAYOUT_UNIFIED;
	if (statfs(CG_MOUNT "/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		return CG_LAYOUT_HYBRID;
	if (access(CG_MOUNT "/memory", F_OK) == 0 || access(CG_MOUNT "/pids", F_OK) == 0)
		return CG_LAYOUT_LEGACY;
	return CG_LAYOUT_NONE;
}

const char *cg_layout_name(enum cg_layout l)
{
	switch (l) {
	case CG_LAYOUT_UNIFIED:
		return "unified (cgroup v2)";
	case CG_LAYOUT_HYBRID:
		return "hybrid (cgroup v1 controllers, cgroup2 without them)";
	case CG_LAYOUT_LEGACY:
		return "legacy (cgroup v1 only)";
	case CG_LAYOUT_NONE:
		break;
	}
	return "none (no cgroup filesystem mounted)";
}

/* ---- controllers ---- */

static const struct {
	const char *name;
	unsigned bit;
	const char *flags;
} controllers[] = {
	{ "cpu", CG_CTRL_CPU, "--cpus/--cpu-weight" },
	{ "cpuset", CG_CTRL_CPUSET, "--cpuset" },
	{ "io", CG_CTRL_IO, "--io-weight/--io-max" },
	{ "memory", CG_CTRL_MEMORY, "--memory/--memory-high/--swap" },
	{ "pids", CG_CTRL_PIDS, "--pids" },
};

unsigned cg_controllers_parse(const char *list)
{
	unsigned mask = 0;

	for (const char *p = list ? list : ""; *p;) {
		size_t l;
		p += strspn(p, " \t\n");
		l = strcspn(p, " \t\n");
		for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
			if (l == strlen(controllers[i].name) &&
			    strncmp(p, controllers[i].name, l) == 0)
				mask |= controllers[i].bit;
		p += l;
	}
	return mask;
}

char *cg_controllers_format(unsigned mask)
{
	char buf[64] = "";

	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
		if (mask & controllers[i].bit) {
			if (buf[0])
				strcat(buf, " ");
			strcat(buf, controllers[i].name);
		}
	return xstrdup(buf[0] ? buf : "none");
}

const char *cg_controller_flags(unsigned bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
		if (controllers[i].bit == bit)
			return controllers[i].flags;
	return "?";
}

unsigned cg_resources_need(const struct rt_resources *r)
{
	unsigned m = 0;

	if (r->memory_max >= 0 || r->memory_high >= 0 || r->memory_low >= 0 ||
	    r->memory_swap_max >= 0)
		m |= CG_CTRL_MEMORY;
	if (r->cpu_quota >= 0 || r->cpu_weight >= 0)
		m |= CG_CTRL_CPU;
	if (r->cpuset_cpus || r->cpuset_mems)
		m |= CG_CTRL_CPUSET;
	if (r->pids_max >= 0)
		m |= CG_CTRL_PIDS;
	if (r->io_weight >= 0 || r->io_max)
		m |= CG_CTRL_IO;
	/* linux.resources.unified keys name their controller: "memory.max" */
	for (size_t i = 0; r->unified && r->unified[i] && r->unified[i + 1]; i += 2) {
		_cleanup_free_ char *c = xstrndup(r->unified[i], strcspn(r->unified[i], "."));
		m |= cg_controllers_parse(c);
	}
	return m;
}

int cg_check_controllers(const struct rt_resources *res, unsigned have, const char *where,
			 bool delegated, vert_error_t *err)
{
	unsigned missing = cg_resources_need(res) & ~have;
	_cleanup_free_ char *avail = NULL;

	if (!missing)
		return 0;
	avail = cg_controllers_format(have);
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
		if (!(missing & controllers[i].bit))
			continue;
		if (delegated)
			return vert_error_set(
				err, EOPNOTSUPP, VERT_ERR_INVALID,
				"%s needs the '%s' cgroup controller, which the delegated cgroup "
				"'%s' does not pass on (it passes: %s); have it delegated, e.g. "
				"with systemd: 'Delegate=cpu cpuset io memory pids' in a drop-in "
				"for user@.service",
				controllers[i].flags, controllers[i].name, where, avail);
		return vert_error_set(err, EOPNOTSUPP, VERT_ERR_INVALID,
				      "%s needs the '%s' cgroup controller, which is not available "
				      "in '%s' (available: %s)",
				      controllers[i].flags, controllers[i].name, where, avail);
	}
	return 0;
}

int cg_read_at(int dfd, const char *file, char **ret)
{
	return read_file_at(dfd, file, 1 << 20, ret, NULL);
}

unsigned cg_read_controllers_at(int dfd, const char *file)
{
	_cleanup_free_ char *buf = NULL;

	if (cg_read_at(dfd, file, &buf) < 0)
		return 0;
	return cg_controllers_parse(buf);
}

void cg_enable_controllers_at(int dfd, unsigned want)
{
	unsigned have = cg_read_controllers_at(dfd, "cgroup.subtree_control");
	unsigned avail = cg_read_controllers_at(dfd, "cgroup.controllers");

	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
		char tok[16];
		int r;
		if (!(want & avail & controllers[i].bit) || (have & controllers[i].bit))
			continue;
		snprintf(tok, sizeof(tok), "+%s", controllers[i].name);
		r = write_file_str_at(dfd, "cgroup.subtree_control", tok);
		if (r < 0)
			vert_debug("enable the %s controller: %s", controllers[i].name,
				   strerror(-r));
	}
}

/* ---- where VE cgroups go ---- */

int cg_parse_proc_cgroup(const char *content, char **ret)
{
	for (const char *l = content; l && *l;) {
		size_t len = strcspn(l, "\n");
		if (len >= 3 && strncmp(l, "0::", 3) == 0 && len > 3 && l[3] == '/') {
			*ret = xstrndup(l + 3, len - 3);
			return 0;
		}
		l += len;
		if (*l == '\n')
			l++;
	}
	return -ENOENT;
}

/* A cgroup this process may create children in and move processes into
 * (migration needs write access to the common ancestor's cgroup.procs). */
static bool cg_writable(const char *dir)
{
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
	return access(dir, W_OK) == 0 && access(procs, W_OK) == 0;
}

/*
 * Rootless: the delegated subtree is the topmost cgroup above (or at) our
 * own that we can still write to.  Under systemd that is
 * user@UID.service (or a scope run with Delegate=yes inside it); in the
 * test VM, /vertci.  VEs go into <that>/vert, beside the session, never
 * into our own cgroup: that one holds processes, and the no-internal-
 * processes rule would keep its children from getting controllers.
 */
static void place_delegated(struct cg_place *pl)
{
	_cleanup_free_ char *buf = NULL, *self = NULL, *dir = NULL, *best = NULL;
	_cleanup_close_ int dfd = -EBADF;

	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 16, &buf, NULL) < 0 ||
	    cg_parse_proc_cgroup(buf, &self) < 0) {
		pl->why_none = xstrdup("vert can't tell which cgroup it runs in "
				       "(no cgroup v2 line in /proc/self/cgroup)");
		return;
	}
	dir = xasprintf(CG_MOUNT "%s", strcmp(self, "/") == 0 ? "" : self);
	for (;;) {
		char *slash;
		if (cg_writable(dir)) {
			free(best);
			best = xstrdup(dir);
		} else if (best) {
			break;
		}
		if (strcmp(dir, CG_MOUNT) == 0)
			break;
		slash = strrchr(dir, '/');
		*slash = '\0';
	}
	if (!best) {
		pl->why_none = xasprintf("no cgroup v2 subtree is delegated to uid %u (vert runs "
					 "in cgroup '%s', which it can't write to, nor to any "
					 "cgroup above it)",
					 (unsigned)geteuid(), self);
		pl->fix = xstrdup("run vert in a delegated cgroup, e.g. under 'systemd-run --user "
				  "--scope -p Delegate=yes', or run it as root");
		return;
	}
	dfd = open(best, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	pl->parent = TAKE_PTR(best);
	pl->base = xasprintf("%s/" CG_SUBTREE, pl->parent);
	pl->delegated = true;
	/* what the delegated cgroup passes on to its children: vert must not
	 * change it, it belongs to whoever delegated it */
	pl->controllers = dfd >= 0 ? cg_read_controllers_at(dfd, "cgroup.subtree_control") : 0;
}

void cg_place_find(bool rootless, unsigned flags, struct cg_place *pl)
{
	enum cg_layout l = cg_detect_layout();

	*pl = (struct cg_place)CG_PLACE_INIT;
	if (l == CG_LAYOUT_HYBRID && !rootless && (flags & CG_ANCHOR_ON_HYBRID)) {
		/* vert's own subtree in the controller-less cgroup2 hierarchy:
		 * no limits, but a confined namespace (see cgroup.h) */
		pl->parent = xstrdup(CG_MOUNT "/unified");
		pl->base = xstrdup(CG_MOUNT "/unified/" CG_SUBTREE);
		pl->controllers = 0;
		pl->anchor = true;
		return;
	}
	if (l != CG_LAYOUT_UNIFIED) {
		pl->why_none = xasprintf("cgroup v2 is not available (this host's cgroup layout is "
					 "%s)",
					 cg_layout_name(l));
		pl->fix = xstrdup(CG_FIX_V2);
		return;
	}
	if (rootless) {
		place_delegated(pl);
		return;
	}
	/* root: a subtree of the root cgroup, like systemd's machine.slice */
	pl->parent = xstrdup(CG_MOUNT);
	pl->base = xstrdup(CG_MOUNT "/" CG_SUBTREE);
	{
		_cleanup_close_ int dfd = open(CG_MOUNT, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		pl->controllers = dfd >= 0 ? cg_read_controllers_at(dfd, "cgroup.controllers") : 0;
	}
}

void cg_place_done(struct cg_place *pl)
{
	free(pl->parent);
	free(pl->base);
	free(pl->why_none);
	free(pl->fix);
	*pl = (struct cg_place)CG_PLACE_INIT;
}

/* The refusal when limits were asked for and no cgroup can be had. */
int cg_refuse_none(const struct cg_place *pl, vert_error_t *err)
{
	return vert_error_set(err, EOPNOTSUPP, VERT_ERR_INVALID,
			      "resource limits need a cgroup v2 vert can use, but %s; %s",
			      pl->why_none, pl->fix ? pl->fix : "run vert as root");
}

int cg_check(const struct rt_resources *res, bool rootless, vert_error_t *err)
{
	struct cg_place pl;
	int r = 0;

	if (!rt_resources_any(res))
		return 0;
	cg_place_find(rootless, 0, &pl);
	if (pl.why_none)
		r = cg_refuse_none(&pl, err);
	else
		r = cg_check_controllers(res, pl.controllers, pl.parent, pl.delegated, err);
	cg_place_done(&pl);
	return r;
}

/* Whether the cgroup2 hierarchy is mounted with nsdelegate: a superblock
 * flag, so any cgroup2 line of the mount table tells. */
bool cg_nsdelegate(void)
{
	_cleanup_free_ char *buf = NULL;

	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", 1 << 20, &buf, NULL) < 0)
		return false;
	for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		const char *sep;
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		sep = strstr(line, " - cgroup2 ");
		if (sep && strstr(sep, "nsdelegate"))
			return true;
	}
	return false;
}
