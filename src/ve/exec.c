/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `vert exec` / `vert enter`: a process inside a running VE with the same
 * namespaces, cgroup, id mapping, capabilities and seccomp filter as its
 * init (the VE's config is compiled the same way, with the exec's
 * command instead of the init's).
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/vfs.h>

#include "ve-internal.h"
#include "vert/cgroup.h"
#include "vert/runtime.h"
#include "vert/util.h"

#define FUSE_MAGIC 0x65735546

static bool has_views(pid_t init)
{
	char path[64];
	struct statfs sf;

	snprintf(path, sizeof(path), "/proc/%d/root/proc/meminfo", (int)init);
	return statfs(path, &sf) == 0 && sf.f_type == FUSE_MAGIC;
}

int ve_exec(struct ve_handle *h, const struct ve_exec_opts *o, int *ret_status, vert_error_t *err)
{
	const struct ve_paths *p = h->p;
	struct ve_config *c = &h->cfg;
	_cleanup_close_ int pidfd = -EBADF, cgfd = -EBADF;
	_cleanup_spec_ struct rt_spec *spec = NULL;
	struct rt_exec_opts xo = { .create = RT_CREATE_OPTS_INIT, .cgroup_fd = -EBADF };
	struct rt_container ct = { .pidfd = -EBADF, .pty_master = -EBADF, .listener = -EBADF };
	struct json_object *sj = NULL;
	struct ve_state s;
	int r;

	if ((r = ve_handle_config(h, err)) < 0 || (r = ve_exe_guard(p, c, true, err)) < 0)
		return r;
	if ((r = ve_open_init(h, &s, &pidfd, err)) < 0)
		goto out_cfg;
	vert_debug_mark("init opened");

	/* the VE's own settings, with the exec's command on top (the
	 * handle's copy: it is not saved) */
	strv_free(c->cmd);
	c->cmd = o->args ? strv_copy(o->args) : strv_push(NULL, xstrdup("/bin/sh"));
	for (size_t i = 0; o->env && o->env[i]; i++)
		c->env = strv_env_set(c->env, xstrdup(o->env[i]));
	if (o->workdir) {
		free(c->workdir);
		c->workdir = xstrdup(o->workdir);
	}
	c->terminal = o->terminal;
	{
		struct ve_compile_in in = { p, c, "/", "/", "/", "/" };
		/* the same filter as the init's: where no BPF device filter
		 * guards the VE's cgroup, seccomp refuses device nodes */
		in.no_device_filter = !p->rootless && !s.device_filter;
		/* sysinfo(2) answered like the init's: where the VE has its
		 * views (its /proc/meminfo is lxcfs's) */
		in.sysinfo = ve_sysinfo_wanted(p, c, has_views(s.pid), s.cgroup);
		if ((r = ve_compile_spec(&in, &sj, err)) < 0)
			goto out;
	}
	vert_debug_mark("compiled");
	r = rt_spec_from_json(sj, &spec, err);
	json_object_put(sj);
	if (r < 0)
		goto out;
	vert_debug_mark("spec parsed");

	xo.init_pidfd = pidfd;
	xo.init_pid = s.pid;
	xo.create.user = o->user ? o->user : c->user;
	xo.create.login_shell = o->login;
	xo.create.seccomp_cache = p->run;
	rt_block_forwarded_signals(NULL);
	/* The cgroup to start in can change under us: a systemd init moves
	 * to init.scope and enables controllers in the payload, after which
	 * joining the payload fails with EBUSY.  Look again once. */
	for (int attempt = 0;; attempt++) {
		if (s.cgroup && (r = cg_exec_target(s.cgroup, s.pid, &cgfd, err)) < 0)
			goto out;
		xo.cgroup_fd = cgfd;
		r = rt_container_exec(spec, &xo, &ct, err);
		if (r != -EBUSY || !s.cgroup || attempt > 0)
			break;
		vert_error_clear(err);
		close(TAKE_FD(cgfd));
	}
	if (r < 0)
		goto out;
	vert_debug_mark("exec'd");
	ve_sysinfo_serve(&ct, s.cgroup);
	if (ct.listener >= 0)
		close(TAKE_FD(ct.listener));
	r = rt_container_wait(&ct, ret_status, err);
	vert_debug_mark("exited");
	rt_container_release(&ct);
out:
	ve_state_done(&s);
out_cfg:
	if (r < 0)
		return vert_error_wrap(err, "exec in VE '%s'", h->name);
	return 0;
}
