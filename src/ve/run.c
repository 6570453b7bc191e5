/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `vert run`: create a VE, start it in the foreground, wait, and (with
 * --rm) destroy it.
 *
 * Host state a run creates, in order, each undone in reverse on failure
 * (house rule 4): the VE lock, data/ves/NAME (config, upper, work),
 * run/ves/NAME (state, rootfs mountpoint), the network (vnet_prepare:
 * bridge, lease, port claims, /etc files; vnet_attach/commit from the
 * after_clone hook: veth, nftables rules), the cgroup.  Mounts live only
 * in the VE's own mount namespace and vanish with it.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "ve-internal.h"
#include "vert/cgroup.h"
#include "vert/fs.h"
#include "vert/runtime.h"
#include "vert/util.h"

struct run_ctx {
	const struct ve_paths *p;
	char *vedir, *rundir;
	bool made_vedir, made_rundir;
	struct cg_handle cg;
	int lock;
	struct vnet_state *net; /* set once vnet_prepare ran */
};

static void run_rollback(struct run_ctx *x, bool remove_ve)
{
	vert_error_t e = VERT_ERROR_INIT;

	if (x->cg.path)
		cg_remove_path(x->cg.path, &e);
	vert_error_clear(&e);
	cg_handle_done(&x->cg);
	if (x->net) {
		struct vnet_paths np = ve_vnet_paths(x->p);
		vnet_teardown(&np, vnet_state_name(x->net), &e);
		vert_error_clear(&e);
		/* the lease lives as long as the VE */
		if (remove_ve && x->made_vedir)
			vnet_release(&np, vnet_state_name(x->net), &e);
		vert_error_clear(&e);
		vnet_state_free(x->net);
		x->net = NULL;
	}
	if (x->made_rundir)
		fs_rm_rf(x->rundir);
	if (remove_ve && x->made_vedir)
		ve_remove_tree(x->p, x->vedir, &e);
	vert_error_clear(&e);
}

static int write_json_at(const char *dir, const char *file, struct json_object *o,
			 vert_error_t *err)
{
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	int r;

	if (dfd < 0)
		return vert_error_sys(err, "open '%s'", dir);
	r = write_file_atomic_at(dfd, file, s, strlen(s), 0600);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "write '%s/%s'", dir, file);
	return 0;
}

static int write_state(struct run_ctx *x, const struct ve_config *c, const struct rt_container *ct,
		       bool rm, vert_error_t *err)
{
	struct json_object *o = json_object_new_object();
	int r;

	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "status", json_object_new_string("running"));
	json_object_object_add(o, "pid", json_object_new_int(ct->pid));
	json_object_object_add(o, "start_time", json_object_new_int64((int64_t)ct->start_time));
	json_object_object_add(o, "supervisor_pid", json_object_new_int(getpid()));
	json_object_object_add(o, "supervisor_start_time",
			       json_object_new_int64((int64_t)rt_proc_start_time(getpid())));
	json_object_object_add(o, "started_at", json_object_new_int64((int64_t)time(NULL)));
	json_object_object_add(o, "autoremove", json_object_new_boolean(rm));
	if (x->cg.path)
		json_object_object_add(o, "cgroup", json_object_new_string(x->cg.path));
	r = write_json_at(x->rundir, "state.json", o, err);
	json_object_put(o);
	return r;
}

/* Runs in the parent after clone3, before the child goes on: the VE's
 * network exists, with its firewall rules, before its first instruction. */
static int net_after_clone(pid_t pid, void *data, vert_error_t *err)
{
	int r = vnet_attach(data, pid, err);
	return r < 0 ? r : vnet_commit(data, err);
}

static int make_dirs(struct run_ctx *x, const char *name, vert_error_t *err)
{
	const char *sub[] = { "upper", "work" };
	struct stat st;

	x->vedir = xasprintf("%s/ves/%s", x->p->data, name);
	x->rundir = xasprintf("%s/ves/%s", x->p->run, name);
	if (mkdir(x->vedir, 0700) < 0) {
		if (errno == EEXIST)
			return vert_error_set(err, EEXIST, VERT_ERR_EXISTS,
					      "VE '%s' already exists", name);
		return vert_error_sys(err, "create '%s'", x->vedir);
	}
	x->made_vedir = true;
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", x->vedir, sub[i]);
		if (mkdir(d, 0755) < 0)
			return vert_error_sys(err, "create '%s'", d);
	}
	/* a stale runtime dir of a VE that no longer exists: ours now */
	if (lstat(x->rundir, &st) == 0)
		fs_rm_rf(x->rundir);
	if (mkdir(x->rundir, 0700) < 0)
		return vert_error_sys(err, "create '%s'", x->rundir);
	x->made_rundir = true;
	{
		_cleanup_free_ char *mp = xasprintf("%s/rootfs", x->rundir);
		if (mkdir(mp, 0755) < 0)
			return vert_error_sys(err, "create '%s'", mp);
	}
	return 0;
}

int ve_run(const struct ve_paths *p, struct ve_config *c, const struct ve_run_opts *o,
	   int *ret_status, vert_error_t *err)
{
	struct run_ctx x = { .p = p, .cg = CG_HANDLE_INIT, .lock = -1 };
	_cleanup_free_ char *lower = NULL, *upper = NULL, *work = NULL, *mp = NULL;
	struct json_object *spec_json = NULL, *cfg_json;
	_cleanup_spec_ struct rt_spec *spec = NULL;
	struct rt_create_opts co = RT_CREATE_OPTS_INIT;
	struct rt_container ct = { .pidfd = -1, .pty_master = -1 };
	struct ve_idmap im;
	int r, status = 0;

	if (!c->name) {
		char id[13];
		random_hex(id, 12);
		c->name = xstrdup(id);
	}
	c->autoremove = o->rm;
	if ((r = ve_config_validate(p, c, err)) < 0)
		return r;
	if ((r = ve_template_rootfs(p, c->template_name, &lower, err)) < 0)
		return r;

	/* leftovers of a killed run under this name must not block it */
	ve_reconcile(p, c->name);
	x.lock = ve_lock(p, "ve", c->name, false, err);
	if (x.lock < 0)
		return x.lock;
	if ((r = make_dirs(&x, c->name, err)) < 0)
		goto fail;

	cfg_json = ve_config_to_json(c);
	r = write_json_at(x.vedir, "config.json", cfg_json, err);
	json_object_put(cfg_json);
	if (r < 0)
		goto fail;

	{
		struct vnet_paths np = ve_vnet_paths(p);
		struct vnet_config nc = { c->net, c->ip, c->publish, c->dns, c->hostname };
		if ((r = vnet_prepare(&np, c->name, &nc, &x.net, err)) < 0)
			goto fail;
		if (vnet_state_notice(x.net)) {
			_cleanup_free_ char *msg = xasprintf(
				"rootless networking unavailable: %s; VEs get --net none "
				"(loopback only)",
				vnet_state_notice(x.net));
			ve_notice_once(p, "net-none", msg);
		}
	}

	upper = xasprintf("%s/upper", x.vedir);
	work = xasprintf("%s/work", x.vedir);
	mp = xasprintf("%s/rootfs", x.rundir);
	{
		struct ve_compile_in in = { p, c, lower, upper, work, mp };
		in.n_net_mounts = vnet_state_mounts(x.net, &in.net_mounts);
		in.host_netns = !vnet_mode_new_netns(vnet_state_mode(x.net));
		if ((r = ve_compile_spec(&in, &spec_json, err)) < 0)
			goto fail;
	}
	r = rt_spec_from_json(spec_json, &spec, err);
	json_object_put(spec_json);
	if (r < 0)
		goto fail;
	if (p->rootless) {
		ve_idmap_compute(p, &im);
		ve_idmap_notice(p, &im);
	}

	if ((r = cg_prepare(c->name, &c->resources, p->rootless, &x.cg, err)) < 0)
		goto fail;
	if (x.cg.why_none)
		ve_notice_once(p, "no-cgroup", x.cg.why_none);

	rt_block_forwarded_signals(NULL);
	co.cgroup_fd = x.cg.dirfd;
	co.die_with_parent = true;
	co.user = c->user;
	co.after_clone = net_after_clone;
	co.after_clone_data = x.net;
	r = rt_container_create(spec, &co, &ct, err);
	if (r < 0)
		goto fail;
	if ((r = write_state(&x, c, &ct, o->rm, err)) < 0) {
		rt_signal_init(ct.pidfd, ct.pid, SIGKILL, NULL);
		rt_container_wait(&ct, &status, NULL);
		rt_container_release(&ct);
		goto fail;
	}
	/* others may stop or exec into the VE while it runs */
	close(x.lock);
	x.lock = -1;

	r = rt_container_wait(&ct, &status, err);
	rt_container_release(&ct);

	/* tear down under the lock again */
	{
		vert_error_t e2 = VERT_ERROR_INIT;
		x.lock = ve_lock(p, "ve", c->name, true, &e2);
		vert_error_clear(&e2);
	}
	run_rollback(&x, o->rm);
	if (x.lock >= 0)
		close(x.lock);
	free(x.vedir);
	free(x.rundir);
	if (r < 0)
		return r;
	*ret_status = status;
	return 0;

fail:
	run_rollback(&x, true);
	if (x.lock >= 0)
		close(x.lock);
	free(x.vedir);
	free(x.rundir);
	return r;
}
