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

int ve_config_save(const struct ve_handle *h, const struct ve_config *c, bool sync,
		   vert_error_t *err)
{
	_cleanup_close_ int dfd = open(h->data_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct json_object *o;
	const char *txt;
	int r;

	if (dfd < 0)
		return vert_error_sys(err, "open '%s'", h->data_dir);
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

int ve_config_load(const char *path, const char *name, struct ve_config *c, vert_error_t *err)
{
	struct json_object *o;
	int r;

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

int ve_create_locked(struct ve_handle *h, struct ve_config *c, bool sync, vert_error_t *err)
{
	const struct ve_paths *p = h->p;
	const char *dir = h->data_dir;
	_cleanup_free_ char *lower = NULL;
	const char *sub[] = { "upper", "work" };
	int r;

	/* the config was validated by ve_open_new, before the lock */
	/* limits this host can't enforce: refuse now, not at every start */
	if ((r = cg_check(&c->resources, p->rootless, err)) < 0)
		return r;
	if ((r = ve_template_rootfs(p, c->template_name, &lower, err)) < 0)
		return r;
	/* leftovers of a killed run or create under this name */
	ve_reconcile_locked(h);
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
	if ((r = ve_identity_create(h, c, lower, err)) < 0 || (r = ve_disk_create(h, c, err)) < 0)
		goto fail;
	if (ve_config_userns_private(p, c)) {
		if (!c->userns)
			c->userns = xstrdup("private");
		if ((r = ve_idrange_alloc(p, c->name, &c->idmap_base, err)) < 0)
			goto fail;
	}
	/* the commit point: from here on the VE exists */
	if ((r = ve_config_save(h, c, sync, err)) < 0)
		goto fail;
	return 0;
fail:
	if (c->idmap_base)
		ve_idrange_release(p, c->name, c->idmap_base);
	c->idmap_base = 0;
	fs_rm_rf(dir);
	return r;
}

/* Does the template boot systemd (its /sbin/init, resolved inside it)? */
bool ve_template_boots_systemd(const struct ve_paths *p, const struct ve_config *c)
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
 * Written into the config, so inspect shows it and set can change it.
 * True when applied; the caller says so once the VE exists. */
static bool systemd_profile(const struct ve_paths *p, struct ve_config *c)
{
	if (!c->persistent || !ve_template_boots_systemd(p, c))
		return false;
	/* The capability counts in the VE's own user namespace only.  With
	 * the host's (--userns host) it would be host root's: no template
	 * grants itself that; --privileged is the explicit way. */
	if (!p->rootless && !ve_config_userns_private(p, c)) {
		if (!c->privileged)
			vert_log(VERT_LOG_NOTICE,
				 "template '%s' boots systemd, and VE '%s' shares the host's "
				 "user namespace (--userns host): it gets no CAP_SYS_ADMIN, so "
				 "systemd may fail; --privileged grants it (unsafe)",
				 c->template_name, c->name);
		return false;
	}
	if (!strv_contains(c->cap_drop, "SYS_ADMIN") &&
	    !strv_contains(c->cap_drop, "CAP_SYS_ADMIN") &&
	    !strv_contains(c->cap_add, "SYS_ADMIN") && !strv_contains(c->cap_add, "CAP_SYS_ADMIN"))
		c->cap_add = strv_push(c->cap_add, xstrdup("CAP_SYS_ADMIN"));
	if (!c->no_new_privileges_set)
		c->new_privileges = true;
	return true;
}

int ve_open_new(const struct ve_paths *p, const struct ve_config *c, struct ve_handle **ret,
		vert_error_t *err)
{
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	int r;

	if (!c->name)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "a VE needs a name");
	/* bad input (the name first) is refused before anything exists on
	 * the host */
	if ((r = ve_open(p, c->name, 0, &h, err)) < 0 || (r = ve_config_validate(p, c, err)) < 0 ||
	    (r = ve_handle_lock(h, false, err)) < 0)
		return r;
	*ret = TAKE_PTR(h);
	return 0;
}

int ve_create(const struct ve_paths *p, struct ve_config *c, vert_error_t *err)
{
	/* no VE made: no lock file */
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	bool systemd;
	int r;

	if ((r = ve_open_new(p, c, &h, err)) < 0 || (r = ve_net_precheck(h, c, false, err)) < 0)
		return r;
	systemd = systemd_profile(p, c);
	if ((r = ve_create_locked(h, c, true, err)) < 0)
		return r;
	if (systemd)
		vert_log(VERT_LOG_NOTICE,
			 "template '%s' boots systemd: VE '%s' gets CAP_SYS_ADMIN in its own user "
			 "namespace and setuid programs work in it (as systemd needs)",
			 c->template_name, c->name);
	return 0;
}

/* An --rm VE at the end of its run: nobody looks at it any more, so no
 * rename dance, just the removal. */
int ve_remove_data_now(const struct ve_handle *h, vert_error_t *err)
{
	struct vnet_paths np = ve_vnet_paths(h->p);
	vert_error_t e = VERT_ERROR_INIT;

	/* the address lease lives as long as the VE, and so do its uid
	 * range and the limits of its project quota.  The release is not
	 * synced (an --rm VE's lease was made so too; reconcile's other
	 * leftovers, a VE without its config, are as disposable): a crash
	 * that undoes it undoes the removal of the data after it, and the
	 * leftover comes back whole, to be removed again */
	vnet_release(&np, h->name, VNET_LEASE_EPHEMERAL, &e);
	vert_error_clear(&e);
	ve_userns_release_dir(h->p, h->name, h->data_dir);
	if (h->have_cfg)
		ve_disk_release(h, &h->cfg);
	return ve_remove_tree(h->p, h->data_dir, err);
}

/* Rename the VE dir away first (destroy is atomic from the user's point
 * of view), then remove it. */
int ve_remove_data(const struct ve_handle *h, vert_error_t *err)
{
	_cleanup_free_ char *trash = NULL, *entry = NULL;
	char rnd[9];

	random_hex(rnd, 8);
	ve_userns_release_dir(h->p, h->name, h->data_dir);
	entry = xasprintf(".trash-%s-%s", h->name, rnd);
	trash = ve_path(h->p->data, entry, NULL);
	if (rename(h->data_dir, trash) < 0) {
		if (errno == ENOENT)
			return 0;
		return vert_error_sys(err, "remove VE '%s'", h->name);
	}
	{
		/* the address lease lives as long as the VE */
		struct vnet_paths np = ve_vnet_paths(h->p);
		vert_error_t e = VERT_ERROR_INIT;
		vnet_release(&np, h->name, 0, &e);
		vert_error_clear(&e);
	}
	if (h->have_cfg)
		ve_disk_release(h, &h->cfg);
	return ve_remove_tree(h->p, trash, err);
}

int ve_destroy(struct ve_handle *h, bool force, vert_error_t *err)
{
	int r;

	if ((r = ve_handle_lock(h, false, err)) < 0 || (r = ve_handle_config(h, err)) < 0)
		return r;
	if (ve_reconcile_locked(h)) {
		if (!force)
			return vert_error_set(err, EBUSY, VERT_ERR_RUNNING,
					      "VE '%s' is running; stop it first or use --force",
					      h->name);
		if ((r = ve_stop_locked(h, 0, err)) < 0) {
			/* its init died between the look and the stop (a
			 * killed destroy's SIGKILL reached it): stopped, and
			 * settled by one more reconcile */
			if (err->kind != VERT_ERR_NOTRUNNING)
				return r;
			vert_error_clear(err);
			ve_reconcile_locked(h);
		}
	}
	return ve_remove_data(h, err);
}

int ve_pidfd_open_alive(pid_t pid, uint64_t start_time)
{
	_cleanup_close_ int fd = -EBADF;

	if (!proc_alive(pid, start_time))
		return -EBADF;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* the pid could have been reused between the check and the open:
	 * check again now that the pidfd pins the process */
	if (fd < 0 || !proc_alive(pid, start_time))
		return -EBADF;
	return TAKE_FD(fd);
}

/* The live init of a VE, by pidfd, verified against its start time. */
int ve_open_init(const struct ve_handle *h, struct ve_state *s, int *ret_pidfd, vert_error_t *err)
{
	int fd = -EBADF, r;

	if ((r = ve_state_read(h->p, h->name, s, err)) == 0)
		fd = ve_pidfd_open_alive(s->pid, s->start_time);
	else if (r != -ENOENT)
		return r; /* a broken state: not "not running", which it may be */
	if (fd < 0) {
		ve_state_done(s);
		return vert_error_set(err, ESRCH, VERT_ERR_NOTRUNNING, "VE '%s' is not running",
				      h->name);
	}
	*ret_pidfd = fd;
	return 0;
}

int ve_kill(struct ve_handle *h, int sig, vert_error_t *err)
{
	_cleanup_close_ int pidfd = -EBADF;
	struct ve_state s;
	int r;

	if ((r = ve_handle_config(h, err)) < 0)
		return r;
	if ((r = ve_open_init(h, &s, &pidfd, err)) < 0)
		return r;
	ve_state_done(&s);
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		return vert_error_sys(err, "signal VE '%s'", h->name);
	return 0;
}

/* ---- set ---- */

int ve_net_precheck(const struct ve_handle *h, const struct ve_config *c, bool ports,
		    vert_error_t *err)
{
	struct vnet_paths np = ve_vnet_paths(h->p);
	struct vnet_config nc = { c->net, c->ip, c->publish, c->dns, c->hostname };

	return vnet_precheck(&np, h->name, &nc, ports, err);
}

int ve_start_precheck(struct ve_handle *h, vert_error_t *err)
{
	_cleanup_free_ char *lower = NULL;
	int r;

	if ((r = ve_handle_config(h, err)) < 0 ||
	    (r = ve_config_validate(h->p, &h->cfg, err)) < 0 ||
	    (r = ve_template_rootfs(h->p, h->cfg.template_name, &lower, err)) < 0 ||
	    (r = ve_net_precheck(h, &h->cfg, true, err)) < 0)
		return vert_error_wrap(err, "VE '%s' can't start", h->name);
	return 0;
}

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

static int set_locked(struct ve_handle *h, const struct ve_config *patch, unsigned fields,
		      char **notes, vert_error_t *err)
{
	const struct ve_paths *p = h->p;
	_cleanup_close_ int pidfd = -EBADF;
	struct ve_config *c = &h->cfg;
	_cleanup_free_ char *old_hn = NULL;
	struct ve_state s = { 0 };
	struct ve_disk old_disk;
	bool running;
	int r;

	if ((r = ve_handle_config(h, err)) < 0)
		return r;
	old_disk = c->disk; /* its backend string stays c's */
	old_hn = xstrdup(c->hostname ? c->hostname : c->name);
	for (size_t i = 0; patch->publish_rm && patch->publish_rm[i]; i++) {
		struct ve_publish_rm m;
		if ((r = ve_parse_publish_rm(patch->publish_rm[i], &m, err)) < 0 ||
		    (r = ve_publish_remove(&c->publish, &m, patch->publish_rm[i], err)) < 0)
			return r;
	}
	ve_config_merge(c, patch, fields);
	if ((r = ve_config_validate(p, c, err)) < 0 ||
	    ((fields & VE_F_NET) && (r = ve_net_precheck(h, c, false, err)) < 0))
		goto out;
	ve_reconcile_locked(h);
	running = ve_open_init(h, &s, &pidfd, NULL) == 0;
	if (fields & VE_F_USERNS) {
		if (running) {
			r = vert_error_set(
				err, EBUSY, VERT_ERR_RUNNING,
				"VE '%s' is running: stop it to change its user namespace",
				h->name);
			goto out;
		}
		if (!ve_config_userns_private(p, c) && c->idmap_base) {
			/* back to the host's root: its overlay reads trusted.* */
			if ((r = ve_userns_convert_upper(h, false, err)) < 0)
				goto out;
			ve_idrange_release(p, h->name, c->idmap_base);
			c->idmap_base = 0;
		}
	}

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
	if ((fields & VE_F_DISK) && (r = ve_disk_set(h, c, &old_disk, running, err)) < 0)
		goto out;
	if ((fields & VE_F_DISK) && r > 0 && notes && !*notes)
		*notes = xstrdup("this host can't resize a mounted filesystem (vert lacks "
				 "CAP_SYS_RESOURCE): the disk grows at the VE's next start");
	if (running && (fields & VE_F_HOSTNAME)) {
		const char *hn = c->hostname ? c->hostname : c->name;
		vert_error_t e = VERT_ERROR_INIT;
		if ((r = set_hostname_live(pidfd, hn, err)) < 0)
			goto out;
		/* the kernel's hostname is set: files that can't follow (a
		 * read-only root) are the user's to know, not a failure */
		if (ve_hostname_files_live(pidfd, s.pid, old_hn, hn, &e) < 0 && notes) {
			char *t = xasprintf("%s%s%s", *notes ? *notes : "", *notes ? "; " : "",
					    e.msg);
			free(*notes);
			*notes = t;
		}
		vert_error_clear(&e);
	}
	if (running && (fields & VE_SET_NEXT_START) && notes && !*notes)
		*notes = xstrdup("some changes take effect at the next start");
	r = ve_config_save(h, c, true, err);
out:
	ve_state_done(&s);
	return r;
}

int ve_set(struct ve_handle *h, const struct ve_config *patch, unsigned fields, char **notes,
	   vert_error_t *err)
{
	int r;

	if ((r = ve_handle_lock(h, false, err)) < 0)
		return r;
	/* the merged config in h is only what is saved when all went well */
	r = set_locked(h, patch, fields, notes, err);
	if (r < 0 && h->have_cfg) {
		ve_config_done(&h->cfg);
		h->have_cfg = false;
	}
	return r;
}
