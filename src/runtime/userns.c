/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uid/gid maps for a new user namespace, written by the parent.
 *
 * Root (or root inside `unshare -r`) writes /proc/PID/{uid,gid}_map
 * directly.  An unprivileged user may only map its own uid that way (after
 * setgroups=deny); anything wider goes through the setuid helpers
 * newuidmap/newgidmap from shadow's uidmap package, which check
 * /etc/subuid and /etc/subgid.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <spawn.h>
#include <sys/wait.h>

#include "rt-internal.h"
#include "vert/util.h"

extern char **environ;

bool rt_in_init_userns(void)
{
	static int cached = -1;
	_cleanup_free_ char *buf = NULL;
	unsigned a, b, c;

	if (cached >= 0)
		return cached;
	/* the initial namespace maps the whole 32-bit range onto itself */
	if (read_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &buf, NULL) < 0)
		return (cached = 1);
	cached = sscanf(buf, " %u %u %u", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295U;
	return cached;
}

/* Is our root not our mount namespace's (chroot(2))?  The kernel then
 * refuses CLONE_NEWUSER: compare "/" with /proc/1/root only where that
 * pid 1 shares our mount namespace. */
bool rt_in_chroot(void)
{
	struct stat a, b;
	char m1[64] = "", m2[64] = "";

	if (readlink("/proc/self/ns/mnt", m1, sizeof(m1) - 1) < 0 ||
	    readlink("/proc/1/ns/mnt", m2, sizeof(m2) - 1) < 0 || strcmp(m1, m2) != 0)
		return false;
	if (stat("/", &a) < 0 || stat("/proc/1/root/", &b) < 0)
		return false;
	return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

static char *format_map(const struct rt_idmap *m, size_t n)
{
	char *s = xstrdup("");
	for (size_t i = 0; i < n; i++) {
		char *t = xasprintf("%s%u %u %u\n", s, m[i].inside, m[i].outside, m[i].count);
		free(s);
		s = t;
	}
	return s;
}

static int write_map_direct(pid_t pid, const char *file, const char *map)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	return write_file_str(path, map);
}

static int run_helper(const char *helper, pid_t pid, const struct rt_idmap *m, size_t n,
		      vert_error_t *err)
{
	char **argv = NULL;
	pid_t child;
	int status, r;

	argv = strv_push(argv, xstrdup(helper));
	argv = strv_push(argv, xasprintf("%d", pid));
	for (size_t i = 0; i < n; i++) {
		argv = strv_push(argv, xasprintf("%u", m[i].inside));
		argv = strv_push(argv, xasprintf("%u", m[i].outside));
		argv = strv_push(argv, xasprintf("%u", m[i].count));
	}
	r = posix_spawnp(&child, helper, NULL, NULL, argv, environ);
	strv_free(argv);
	if (r != 0)
		return vert_error_set(err, r, VERT_ERR_RUNTIME, "run %s", helper);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return vert_error_sys(err, "wait for %s", helper);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return vert_error_set(err, EPERM, VERT_ERR_RUNTIME,
				      "%s failed (check /etc/subuid and /etc/subgid)", helper);
	return 0;
}

static bool is_own_single_map(const struct rt_idmap *m, size_t n, uid_t own)
{
	return n == 1 && m[0].count == 1 && m[0].outside == own;
}

int rt_write_idmaps(pid_t pid, const struct rt_spec *s, vert_error_t *err)
{
	_cleanup_free_ char *umap = format_map(s->uid_maps, s->n_uid_maps);
	_cleanup_free_ char *gmap = format_map(s->gid_maps, s->n_gid_maps);
	int r;

	if (!s->n_uid_maps || !s->n_gid_maps)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: a user namespace needs uid and gid mappings");

	/* gid first: writing setgroups=deny is only needed (and only
	 * allowed) for the unprivileged single-id case */
	r = write_map_direct(pid, "gid_map", gmap);
	if (r == -EACCES)
		r = -EPERM;
	if (r == -EPERM && is_own_single_map(s->gid_maps, s->n_gid_maps, getegid())) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
		if (write_file_str(path, "deny") < 0)
			return vert_error_sys(err, "write %s", path);
		r = write_map_direct(pid, "gid_map", gmap);
	}
	if (r == -EPERM)
		r = run_helper("newgidmap", pid, s->gid_maps, s->n_gid_maps, err);
	else if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "write gid_map of %d", pid);
	if (r < 0)
		return r;

	r = write_map_direct(pid, "uid_map", umap);
	if (r == -EACCES)
		r = -EPERM;
	if (r == -EPERM)
		r = run_helper("newuidmap", pid, s->uid_maps, s->n_uid_maps, err);
	else if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "write uid_map of %d", pid);
	return r;
}
