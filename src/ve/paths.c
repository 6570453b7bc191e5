/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where vert keeps state (the one place its paths are spelled), and VE
 * names.
 *
 *   root:      /var/lib/vert (data)          /run/vert (runtime)
 *   rootless:  $XDG_DATA_HOME/vert           $XDG_RUNTIME_DIR/vert
 *   --root D:  D                             D/run
 */
#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "vert/runtime.h"
#include "vert/util.h"
#include "vert/ve.h"
#include "ve-internal.h"

/* A rootless vert may run as uid 0 inside `unshare -r`: the host uid is
 * what the first line of our uid_map maps 0 to. */
static uid_t host_uid_of(uid_t uid, const char *mapfile)
{
	_cleanup_free_ char *buf = NULL;
	unsigned in, out, cnt;

	if (read_file_at(AT_FDCWD, mapfile, 4096, &buf, NULL) < 0)
		return uid;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (sscanf(l, " %u %u %u", &in, &out, &cnt) == 3 && uid >= in && uid - in < cnt)
			return out + (uid - in);
	return uid;
}

static int ensure_dir(const char *path, mode_t mode, vert_error_t *err)
{
	int r = mkdir_p(path, mode);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "create state directory '%s'",
				      path);
	return 0;
}

int ve_paths_init(struct ve_paths *p, const char *root, vert_error_t *err)
{
	const char *sub[] = { "templates", "ves" };
	int r;

	memset(p, 0, sizeof(*p));
	p->rootless = geteuid() != 0 || !rt_in_init_userns();
	p->host_uid = host_uid_of(geteuid(), "/proc/self/uid_map");
	p->host_gid = host_uid_of(getegid(), "/proc/self/gid_map");

	if (!root || !*root)
		root = getenv("VERT_ROOT");
	if (root && *root) {
		if (root[0] != '/')
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "--root must be an absolute path, got '%s'", root);
		p->data = xstrdup(root);
		p->run = xasprintf("%s/run", root);
		p->root_arg = xstrdup(root);
	} else if (!p->rootless) {
		p->data = xstrdup("/var/lib/vert");
		p->run = xstrdup("/run/vert");
	} else {
		const char *xd = getenv("XDG_DATA_HOME"), *xr = getenv("XDG_RUNTIME_DIR");
		const char *home = getenv("HOME");
		if (xd && xd[0] == '/')
			p->data = xasprintf("%s/vert", xd);
		else if (home && home[0] == '/')
			p->data = xasprintf("%s/.local/share/vert", home);
		else
			return vert_error_set(err, ENOENT, VERT_ERR_INVALID,
					      "rootless: set HOME, XDG_DATA_HOME or --root");
		if (xr && xr[0] == '/' && access(xr, W_OK) == 0)
			p->run = xasprintf("%s/vert", xr);
		else
			p->run = xasprintf("/tmp/vert-run-%u", (unsigned)p->host_uid);
	}

	if ((r = ensure_dir(p->data, 0700, err)) < 0 || (r = ensure_dir(p->run, 0700, err)) < 0)
		return r;
	/* a shared /tmp fallback must really be ours */
	{
		struct stat st;
		if (stat(p->run, &st) < 0 || (st.st_uid != geteuid() && geteuid() != 0))
			return vert_error_set(err, EPERM, VERT_ERR_RUNTIME,
					      "runtime directory '%s' is not owned by you", p->run);
	}
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", p->data, sub[i]);
		if ((r = ensure_dir(d, 0700, err)) < 0)
			return r;
	}
	{
		_cleanup_free_ char *a = xasprintf("%s/ves", p->run),
				    *b = xasprintf("%s/locks", p->run);
		_cleanup_free_ char *c = xasprintf("%s/mnt", p->run);
		/* mnt: the mountpoint every VE mounts its root overlay on, each
		 * in its own mount namespace, so they never see each other's */
		if ((r = ensure_dir(a, 0700, err)) < 0 || (r = ensure_dir(b, 0700, err)) < 0 ||
		    (r = ensure_dir(c, 0755, err)) < 0)
			return r;
	}
	return 0;
}

void ve_paths_done(struct ve_paths *p)
{
	free(p->data);
	free(p->run);
	free(p->root_arg);
	p->data = p->run = p->root_arg = NULL;
}

char *ve_cgroup_name(const struct ve_paths *p, const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	/* every cgroupfs interface file has a '.' in its name ("io.stat",
	 * "cgroup.procs"): a VE name with one gets the suffix too, so that
	 * no VE name can collide with a file of vert's cgroup */
	if (!p->root_arg && !strchr(name, '.'))
		return xstrdup(name);
	for (const char *c = p->run; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	/* '@' can't be part of a VE name: no clash with another VE's name */
	return xasprintf("%s@%08x", name, h);
}

void ve_notice_once(const struct ve_paths *p, const char *key, const char *msg)
{
	_cleanup_free_ char *marker = xasprintf("%s/.notice-%s", p->run, key);
	int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return; /* said before (or can't remember: stay quiet) */
	close(fd);
	vert_log(VERT_LOG_WARNING, "%s", msg);
}

bool ve_name_valid(const char *name)
{
	size_t n;

	if (!name || !*name)
		return false;
	n = strlen(name);
	if (n > VE_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
			return false;
	return true;
}

int ve_name_check(const char *what, const char *name, vert_error_t *err)
{
	if (ve_name_valid(name))
		return 0;
	return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
			      "invalid %s name '%s': use 1-%d letters, digits, '-', '_' or '.', "
			      "not starting with '.' or '-'",
			      what, name ? name : "", VE_NAME_MAX);
}

char *ve_path(const char *base, const char *name, const char *file)
{
	if (file)
		return xasprintf("%s/ves/%s/%s", base, name, file);
	return xasprintf("%s/ves/%s", base, name);
}

char *ve_template_path(const struct ve_paths *p, const char *name, const char *file)
{
	if (file)
		return xasprintf("%s/templates/%s/%s", p->data, name, file);
	return xasprintf("%s/templates/%s", p->data, name);
}

char *ve_lock_path(const struct ve_paths *p, const char *kind, const char *name)
{
	return xasprintf("%s/locks/%s.%s.lock", p->run, kind, name);
}
