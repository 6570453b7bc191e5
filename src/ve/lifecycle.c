/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Persistent VEs: create, load, destroy, kill, set.
 *
 * A VE exists once data/ves/NAME/config.json exists: the config is the
 * last thing create writes (its commit point) and the first thing destroy
 * removes (by renaming the VE dir away).  Everything else a crash leaves
 * is reconciled by the next command.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ve-internal.h"
#include "vert/cgroup.h"
#include "vert/fs.h"
#include "vert/json.h"
#include "vert/runtime.h"
#include "vert/util.h"

int ve_config_save(const struct ve_paths *p, const struct ve_config *c, bool sync,
		   vert_error_t *err)
{
	_cleanup_free_ char *dir = ve_data_dir(p, c->name);
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct json_object *o;
	const char *txt;
	int r;

	if (dfd < 0)
		return vert_error_sys(err, "open '%s'", dir);
	o = ve_config_to_json(c);
	txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	r = sync ? write_file_atomic_at(dfd, "config.json", txt, strlen(txt), 0600)
		 : write_file_atomic_nosync_at(dfd, "config.json", txt, strlen(txt), 0600);
	json_object_put(o);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "write config of VE '%s'",
				      c->name);
	return 0;
}

int ve_load(const struct ve_paths *p, const char *name, struct ve_config *c, vert_error_t *err)
{
	_cleanup_free_ char *path = NULL;
	struct json_object *o;
	int r;

	if ((r = ve_name_check("VE", name, err)) < 0)
		return r;
	path = xasprintf("%s/ves/%s/config.json", p->data, name);
	r = vjson_parse_file(AT_FDCWD, path, 1 << 20, &o, err);
	if (r == -ENOENT) {
		vert_error_clear(err);
		return vert_error_set(err, ENOENT, VERT_ERR_NOTFOUND, "VE '%s' not found", name);
	}
	if (r < 0)
		return r;
	r = ve_config_parse(o, path, c, err);
	json_object_put(o);
	if (r < 0)
		return r;
	if (strcmp(c->name, name) != 0) {
		ve_config_done(c);
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "'%s' names another VE", path);
	}
	return 0;
}

int ve_create_locked(const struct ve_paths *p, struct ve_config *c, bool sync, vert_error_t *err)
{
	_cleanup_free_ char *dir = NULL, *lower = NULL;
	const char *sub[] = { "upper", "work" };
	int r;

	/* the config was validated by ve_lock_new, before the lock */
	/* limits this host can't enforce: refuse now, not at every start */
	if ((r = cg_check(&c->resources, p->rootless, err)) < 0)
		return r;
	if ((r = ve_template_rootfs(p, c->template_name, &lower, err)) < 0)
		return r;
	/* leftovers of a killed run or create under this name */
	ve_reconcile_locked(p, c->name);
	dir = ve_data_dir(p, c->name);
	if (mkdir(dir, 0700) < 0) {
		if (errno == EEXIST)
			return vert_error_set(err, EEXIST, VERT_ERR_EXISTS,
					      "VE '%s' already exists", c->name);
		return vert_error_sys(err, "create '%s'", dir);
	}
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", dir, sub[i]);
		if (mkdir(d, 0755) < 0) {
			r = vert_error_sys(err, "create '%s'", d);
			goto fail;
		}
	}
	/* the commit point: from here on the VE exists */
	if ((r = ve_config_save(p, c, sync, err)) < 0)
		goto fail;
	return 0;
fail:
	fs_rm_rf(dir);
	return r;
}

/* Does the template boot systemd (its /sbin/init, resolved inside it)? */
static bool template_boots_systemd(const struct ve_paths *p, const struct ve_config *c)
{
	_cleanup_free_ char *rootfs = NULL;
	_cleanup_close_ int rfd = -EBADF, ifd = -EBADF;
	char link[64], target[4096];
	const char *init = c->cmd && c->cmd[0] ? c->cmd[0] : "/sbin/init";
	ssize_t n;

	if (ve_template_rootfs(p, c->template_name, &rootfs, NULL) < 0 || init[0] != '/')
		return false;
	rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0 || (ifd = fs_open_in_root(rfd, init, O_PATH, 0)) < 0)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", ifd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return str_endswith(target, "/systemd");
}

/* systemd as PID 1 mounts file systems (/run, its cgroups) and runs
 * setuid programs for its services: like systemd-nspawn, such a VE gets
 * CAP_SYS_ADMIN and no no_new_privs, unless the caller said otherwise.
 * Written into the config, so inspect shows it and set can change it. */
static void systemd_profile(const struct ve_paths *p, struct ve_config *c)
{
	if (!c->persistent || !template_boots_systemd(p, c))
		return;
	if (!strv_contains(c->cap_drop, "SYS_ADMIN") &&
	    !strv_contains(c->cap_drop, "CAP_SYS_ADMIN") &&
	    !strv_contains(c->cap_add, "SYS_ADMIN") && !strv_contains(c->cap_add, "CAP_SYS_ADMIN"))
		c->cap_add = strv_push(c->cap_add, xstrdup("CAP_SYS_ADMIN"));
	if (!c->no_new_privileges_set)
		c->new_privileges = true;
	vert_log(VERT_LOG_NOTICE,
		 "template '%s' boots systemd: VE '%s' gets CAP_SYS_ADMIN and setuid programs "
		 "work in it (as systemd needs)",
		 c->template_name, c->name);
}

int ve_lock_new(const struct ve_paths *p, const struct ve_config *c, vert_error_t *err)
{
	int r;

	if (!c->name)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "a VE needs a name");
	/* bad input (the name first) is refused before anything exists on
	 * the host */
	if ((r = ve_config_validate(p, c, err)) < 0)
		return r;
	return ve_lock(p, "ve", c->name, false, err);
}

int ve_create(const struct ve_paths *p, struct ve_config *c, vert_error_t *err)
{
	int lock, r;

	lock = ve_lock_new(p, c, err);
	if (lock < 0)
		return lock;
	systemd_profile(p, c);
	r = ve_create_locked(p, c, true, err);
	ve_unlock(p, "ve", c->name, lock); /* no VE made: no lock file */
	return r;
}

/* An --rm VE at the end of its run: nobody looks at it any more, so no
 * rename dance, just the removal. */
int ve_remove_data_now(const struct ve_paths *p, const char *name, vert_error_t *err)
{
	_cleanup_free_ char *dir = ve_data_dir(p, name);
	struct vnet_paths np = ve_vnet_paths(p);
	vert_error_t e = VERT_ERROR_INIT;

	/* the address lease lives as long as the VE */
	vnet_release(&np, name, &e);
	vert_error_clear(&e);
	return ve_remove_tree(p, dir, err);
}

/* Rename the VE dir away first (destroy is atomic from the user's point
 * of view), then remove it. */
int ve_remove_data(const struct ve_paths *p, const char *name, vert_error_t *err)
{
	_cleanup_free_ char *dir = ve_data_dir(p, name), *trash = NULL;
	char rnd[9];

	random_hex(rnd, 8);
	trash = xasprintf("%s/ves/.trash-%s-%s", p->data, name, rnd);
	if (rename(dir, trash) < 0) {
		if (errno == ENOENT)
			return 0;
		return vert_error_sys(err, "remove VE '%s'", name);
	}
	{
		/* the address lease lives as long as the VE */
		struct vnet_paths np = ve_vnet_paths(p);
		vert_error_t e = VERT_ERROR_INIT;
		vnet_release(&np, name, &e);
		vert_error_clear(&e);
	}
	return ve_remove_tree(p, trash, err);
}

int ve_destroy(const struct ve_paths *p, const char *name, bool force, vert_error_t *err)
{
	int lock;
	struct ve_config c;
	int r;

	if ((r = ve_name_check("VE", name, err)) < 0)
		return r;
	lock = ve_lock(p, "ve", name, false, err);
	if (lock < 0)
		return lock;
	if ((r = ve_load(p, name, &c, err)) < 0)
		goto out;
	ve_config_done(&c);
	if (ve_reconcile_locked(p, name)) {
		if (!force) {
			r = vert_error_set(err, EBUSY, VERT_ERR_RUNNING,
					   "VE '%s' is running; stop it first or use --force",
					   name);
			goto out;
		}
		if ((r = ve_stop_locked(p, name, 0, err)) < 0)
			goto out;
	}
	r = ve_remove_data(p, name, err);
out:
	ve_unlock(p, "ve", name, lock);
	return r;
}

int ve_pidfd_open_alive(pid_t pid, uint64_t start_time)
{
	int fd;

	if (!proc_alive(pid, start_time))
		return -1;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* the pid could have been reused between the check and the open:
	 * check again now that the pidfd pins the process */
	if (fd >= 0 && !proc_alive(pid, start_time)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The live init of a VE, by pidfd, verified against its start time. */
int ve_open_init(const struct ve_paths *p, const char *name, struct ve_state *s, int *ret_pidfd,
		 vert_error_t *err)
{
	int fd = -1, r;

	if ((r = ve_state_read(p, name, s, err)) == 0)
		fd = ve_pidfd_open_alive(s->pid, s->start_time);
	else if (r != -ENOENT)
		return r; /* a broken state: not "not running", which it may be */
	if (fd < 0) {
		ve_state_done(s);
		return vert_error_set(err, ESRCH, VERT_ERR_NOTRUNNING, "VE '%s' is not running",
				      name);
	}
	*ret_pidfd = fd;
	return 0;
}

int ve_kill(const struct ve_paths *p, const char *name, int sig, vert_error_t *err)
{
	_cleanup_close_ int pidfd = -EBADF;
	struct ve_config c;
	struct ve_state s;
	int r;

	if ((r = ve_load(p, name, &c, err)) < 0)
		return r;
	ve_config_done(&c);
	if ((r = ve_open_init(p, name, &s, &pidfd, err)) < 0)
		return r;
	ve_state_done(&s);
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		return vert_error_sys(err, "signal VE '%s'", name);
	return 0;
}

/* ---- set ---- */

/* sethostname() inside a running VE: join its UTS namespace (and its
 * user namespace when it has one) in a short-lived child. */
static int set_hostname_live(int pidfd, const char *hostname, vert_error_t *err)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return vert_error_sys(err, "fork");
	if (pid == 0) {
		int flags = CLONE_NEWUTS;
		if (setns(pidfd, CLONE_NEWUSER | CLONE_NEWUTS) < 0 && setns(pidfd, flags) < 0)
			_exit(1);
		_exit(sethostname(hostname, strlen(hostname)) < 0 ? 2 : 0);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return vert_error_sys(err, "wait");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return vert_error_set(err, EPERM, VERT_ERR_RUNTIME,
				      "set the hostname inside the running VE");
	return 0;
}

static int set_locked(const struct ve_paths *p, const char *name, const struct ve_config *patch,
		      unsigned fields, char **notes, vert_error_t *err)
{
	_cleanup_close_ int pidfd = -EBADF;
	struct ve_config c;
	struct ve_state s = { 0 };
	bool running;
	int r;

	if ((r = ve_load(p, name, &c, err)) < 0)
		return r;
	ve_config_merge(&c, patch, fields);
	if ((r = ve_config_validate(p, &c, err)) < 0)
		goto out;
	ve_reconcile_locked(p, name);
	running = ve_open_init(p, name, &s, &pidfd, NULL) == 0;

	if ((fields & VE_F_RESOURCES) && rt_resources_any(&patch->resources)) {
		/* refuse what this host can't enforce, now rather than at the
		 * next start; then, when it runs, apply at once */
		if ((r = cg_check(&patch->resources, p->rootless, err)) < 0)
			goto out;
		if (running && s.cgroup &&
		    (r = cg_apply_resources(s.cgroup, &patch->resources, err)) < 0)
			goto out;
		if (running && !s.cgroup && notes)
			*notes = xstrdup("the VE runs without a cgroup: the limits take effect at "
					 "its next start");
	}
	if (running && (fields & VE_F_HOSTNAME) &&
	    (r = set_hostname_live(pidfd, c.hostname ? c.hostname : c.name, err)) < 0)
		goto out;
	if (running && (fields & VE_SET_NEXT_START) && notes && !*notes)
		*notes = xstrdup("some changes take effect at the next start");
	r = ve_config_save(p, &c, true, err);
out:
	ve_state_done(&s);
	ve_config_done(&c);
	return r;
}

int ve_set(const struct ve_paths *p, const char *name, const struct ve_config *patch,
	   unsigned fields, char **notes, vert_error_t *err)
{
	int lock = ve_lock(p, "ve", name, false, err), r;

	if (lock < 0)
		return lock;
	r = set_locked(p, name, patch, fields, notes, err);
	ve_unlock(p, "ve", name, lock);
	return r;
}
