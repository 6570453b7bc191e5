/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runtime state (run/ves/NAME/state.json) and its reconciliation.
 *
 * A vert killed at any point leaves files the next command must make
 * sense of.  A VE is "running" only if the process recorded in its state
 * (its init, or its supervisor) is alive with the same start time (pid
 * numbers alone get reused); any other leftover is cleaned up: the
 * cgroup, the runtime dir, and for an --rm VE its data dir too.  Work on
 * a VE always happens under its lock, so a VE whose lock is free is not
 * being created, started, stopped or destroyed right now.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "ve-internal.h"
#include "vert/cgroup.h"
#include "vert/fs.h"
#include "vert/json.h"
#include "vert/runtime.h"
#include "vert/util.h"

void ve_state_done(struct ve_state *s)
{
	free(s->cgroup);
	free(s->status);
	memset(s, 0, sizeof(*s));
}

#define F(n, t, cb, st, m) VJSON_FIELD(n, t, cb, st, m, 0)
#define FM(n, t, cb, st, m) VJSON_FIELD(n, t, cb, st, m, VJSON_MANDATORY)

struct state_in {
	struct ve_state s;
	char *name;
};

static const struct vjson_field state_table[] = {
	F("name", VJSON_STRING, vjson_string, struct state_in, name),
	F("status", VJSON_STRING, vjson_string, struct state_in, s.status),
	FM("pid", VJSON_INT, vjson_pid, struct state_in, s.pid),
	FM("start_time", VJSON_INT, vjson_uint64, struct state_in, s.start_time),
	F("supervisor_pid", VJSON_INT, vjson_pid, struct state_in, s.supervisor_pid),
	F("supervisor_start_time", VJSON_INT, vjson_uint64, struct state_in,
	  s.supervisor_start_time),
	F("started_at", VJSON_INT, vjson_int64, struct state_in, s.started_at),
	F("autoremove", VJSON_BOOL, vjson_bool, struct state_in, s.autoremove),
	F("cgroup", VJSON_STRING, vjson_string, struct state_in, s.cgroup),
	F("device_filter", VJSON_BOOL, vjson_bool, struct state_in, s.device_filter),
	{},
};

int ve_state_parse(struct json_object *o, const char *where, const char *name, struct ve_state *s,
		   vert_error_t *err)
{
	struct state_in in = { 0 };
	int r;

	memset(s, 0, sizeof(*s));
	r = vjson_dispatch(o, state_table, 0, &in, where, err);
	if (r == 0 && name && in.name && strcmp(in.name, name) != 0)
		r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				   "%s: key 'name': names VE '%s', not '%s'", where, in.name, name);
	free(in.name);
	if (r < 0) {
		ve_state_done(&in.s);
		return r;
	}
	*s = in.s;
	return 0;
}

int ve_state_read(const struct ve_paths *p, const char *name, struct ve_state *s, vert_error_t *err)
{
	_cleanup_free_ char *path = ve_path(p->run, name, "state.json");
	_cleanup_json_ struct json_object *o = NULL;
	vert_error_t e = VERT_ERROR_INIT;
	int r;

	memset(s, 0, sizeof(*s));
	r = vjson_parse_file(AT_FDCWD, path, 1 << 20, &o, &e);
	if (r == 0)
		r = ve_state_parse(o, path, name, s, &e);
	if (r == 0 && s->status && strcmp(s->status, "starting") == 0) {
		/* the start completed: see ve_state_mark_started */
		_cleanup_free_ char *mark = ve_path(p->run, name, VE_STARTED_MARK);
		if (access(mark, F_OK) == 0) {
			free(s->status);
			s->status = xstrdup("running");
		}
	}
	/* no state is the common case of a VE that is not running: not an
	 * error to report */
	if (r < 0 && r != -ENOENT)
		vert_error_move(err, &e);
	vert_error_clear(&e);
	return r;
}

int ve_state_check(const struct ve_paths *p, const char *name, vert_error_t *err)
{
	struct ve_state s;
	int r = ve_state_read(p, name, &s, err);

	if (r == -ENOENT)
		return 0;
	if (r == 0)
		ve_state_done(&s);
	return r;
}

/* A start records its init as "starting" (ve_state_write) before the
 * child may go on, and says it completed with an empty file next to the
 * record rather than with a second state.json: no second JSON text, no
 * rename, and on a filesystem that discards freed blocks no discard of
 * the first record's block waited for in the middle of every start.  A
 * reader sees "starting" with the mark as "running" (ve_state_read). */
int ve_state_mark_started(const struct ve_handle *h, vert_error_t *err)
{
	return ve_run_mark(h, VE_STARTED_MARK, "started", err);
}

int ve_run_mark(const struct ve_handle *h, const char *mark, const char *what, vert_error_t *err)
{
	_cleanup_close_ int dfd = open(h->run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -EBADF;

	if (dfd < 0 ||
	    (fd = openat(dfd, mark, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return vert_error_sys(err, "mark VE '%s' as %s", h->name, what);
	return 0;
}

int ve_state_write(const struct ve_handle *h, const struct ve_state *s, vert_error_t *err)
{
	_cleanup_close_ int dfd = open(h->run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct json_object *o = json_object_new_object();
	const char *txt;
	int r;

	/* a new "starting" record: an earlier boot's mark must not say it
	 * completed (a reboot keeps the runtime dir) */
	if (dfd >= 0 && s->status && strcmp(s->status, "starting") == 0 &&
	    unlinkat(dfd, VE_STARTED_MARK, 0) < 0 && errno != ENOENT) {
		json_object_put(o);
		return vert_error_sys(err, "write state of VE '%s'", h->name);
	}

	json_object_object_add(o, "name", json_object_new_string(h->name));
	json_object_object_add(o, "status",
			       json_object_new_string(s->status ? s->status : "running"));
	json_object_object_add(o, "pid", json_object_new_int(s->pid));
	json_object_object_add(o, "start_time", json_object_new_int64((int64_t)s->start_time));
	json_object_object_add(o, "supervisor_pid", json_object_new_int(s->supervisor_pid));
	json_object_object_add(o, "supervisor_start_time",
			       json_object_new_int64((int64_t)s->supervisor_start_time));
	json_object_object_add(o, "started_at", json_object_new_int64(s->started_at));
	json_object_object_add(o, "autoremove", json_object_new_boolean(s->autoremove));
	if (s->cgroup)
		json_object_object_add(o, "cgroup", json_object_new_string(s->cgroup));
	if (s->device_filter)
		json_object_object_add(o, "device_filter", json_object_new_boolean(true));
	txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	/* runtime state lives on tmpfs and dies with the boot: no fsync
	 * needed for it to be consistent, only the atomic rename */
	r = dfd < 0 ? -errno
		    : write_file_atomic_nosync_at(dfd, "state.json", txt, strlen(txt), 0600);
	json_object_put(o);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "write state of VE '%s'", h->name);
	return 0;
}

bool ve_state_running(const struct ve_state *s)
{
	return proc_alive(s->pid, s->start_time) ||
	       proc_alive(s->supervisor_pid, s->supervisor_start_time);
}

void ve_last_write(const struct ve_handle *h, int code, int sig, const char *reason)
{
	_cleanup_close_ int dfd = open(h->data_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct json_object *o;
	const char *txt;

	if (dfd < 0)
		return; /* destroyed meanwhile */
	o = json_object_new_object();
	if (sig)
		json_object_object_add(o, "exit_signal", json_object_new_int(sig));
	else
		json_object_object_add(o, "exit_code", json_object_new_int(code));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "stopped_at", json_object_new_int64((int64_t)time(NULL)));
	txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	write_file_atomic_nosync_at(dfd, "last.json", txt, strlen(txt), 0600);
	json_object_put(o);
}

/* Release what a VE instance holds on the host once its init is gone:
 * cgroup, runtime dir (state, stop marker, rootfs mountpoint). */
void ve_instance_cleanup(const struct ve_handle *h, const char *cgroup)
{
	ve_instance_cleanup_ex(h, cgroup, false);
}

/* A killed checkpoint's temporary image, named in the run dir: called
 * with the VE's lock held, so no checkpoint is making it. */
void ve_checkpoint_tmp_sweep(const struct ve_handle *h)
{
	/* by path: one failed open in the common case (no checkpoint was
	 * killed), on every locked reconcile of a running VE */
	_cleanup_free_ char *rec = xasprintf("%s/%s", h->run_dir, VE_CHECKPOINT_TMP);
	_cleanup_free_ char *tmp = NULL, *want = NULL;
	const char *base;
	size_t n = 0;

	if (read_file_at(AT_FDCWD, rec, 4096, &tmp, &n) < 0 || !tmp)
		return;
	want = xasprintf(".%s" VE_CHECKPOINT_TMP_MID, h->name);
	base = strrchr(tmp, '/');
	/* only what checkpoint.c names: an absolute DIR/.NAME.tmp-ID */
	if (tmp[0] == '/' && base && str_startswith(base + 1, want) && !strchr(tmp, '\n') &&
	    !strstr(tmp, "/../") && strlen(base + 1) == strlen(want) + 6)
		ve_remove_tree(h->p, tmp, NULL);
	unlink(rec);
}

void ve_instance_cleanup_ex(const struct ve_handle *h, const char *cgroup, bool leave_link)
{
	const char *name = h->name;
	vert_error_t e = VERT_ERROR_INIT;
	struct stat st;

	if (cgroup && cg_remove_path(cgroup, &e) < 0)
		vert_log(VERT_LOG_WARNING, "VE '%s': %s", name, e.msg);
	vert_error_clear(&e);
	/* the network record lives outside rundir (run/net/NAME.json), so
	 * removing rundir can never lose what teardown needs */
	{
		struct vnet_paths np = ve_vnet_paths(h->p);
		if (vnet_teardown_ex(&np, name, leave_link, &e) < 0)
			vert_log(VERT_LOG_WARNING, "VE '%s': %s", name, e.msg);
		vert_error_clear(&e);
	}
	ve_views_release(h->p, name);
	if (lstat(h->run_dir, &st) == 0) {
		/* a killed restore's stage (restore.c, make_stage): an empty
		 * directory on the host once its mount namespace is gone */
		_cleanup_close_ int rfd = open(h->run_dir, O_DIRECTORY | O_CLOEXEC);
		_cleanup_free_ char *stage = NULL;
		size_t n = 0;
		if (rfd >= 0 && read_file_at(rfd, VE_RESTORE_STAGE, 4096, &stage, &n) == 0 &&
		    stage && str_startswith(stage, VE_RESTORE_STAGE_PREFIX) &&
		    !strchr(stage, '\n') && !strstr(stage, "/.."))
			rmdir(stage);
		ve_checkpoint_tmp_sweep(h);
		/* its disk image's mount first (fs_rm_rf does not cross it) */
		ve_disk_detach(h);
		fs_rm_rf(h->run_dir);
	}
}

static const struct vjson_field autoremove_table[] = {
	{ .name = "autoremove", .type = VJSON_BOOL, .cb = vjson_bool },
	{},
};

/* Only "autoremove" matters here, and a config.json that cannot be read
 * keeps its VE: the error is for ve_load to report. */
static bool config_autoremove(const char *path)
{
	_cleanup_json_ struct json_object *o = NULL;
	bool r = false;

	if (vjson_parse_file(AT_FDCWD, path, 1 << 20, &o, NULL) < 0 ||
	    vjson_dispatch(o, autoremove_table, VJSON_ALLOW_UNKNOWN, &r, path, NULL) < 0)
		return false;
	return r;
}

static bool reconcile_locked(const struct ve_handle *h, struct ve_state *ret);

bool ve_reconcile_locked(const struct ve_handle *h)
{
	struct ve_state s;
	if (!reconcile_locked(h, &s))
		return false;
	ve_state_done(&s);
	return true;
}

/* Reconcile, and when the VE runs, hand its state back (*ret filled,
 * true returned) so a listing needn't read it again. */
static bool reconcile_locked(const struct ve_handle *h, struct ve_state *ret)
{
	const struct ve_paths *p = h->p;
	const char *name = h->name, *rundir = h->run_dir, *vedir = h->data_dir;
	const char *cfg = h->config_path;
	vert_error_t e = VERT_ERROR_INIT;
	struct ve_state s;
	struct stat st;
	int r = ve_state_read(p, name, &s, &e);
	bool have_state = r == 0;

	if (r < 0 && r != -ENOENT) {
		/* a state that cannot be read says nothing about whether the
		 * VE runs: cleaning up on a guess could pull the cgroup,
		 * network and data from under a live VE.  Not running, and
		 * left as it is for someone to look at. */
		vert_log(VERT_LOG_WARNING,
			 "VE '%s': %s; its state is unknown, nothing was cleaned up "
			 "(remove the file once the VE is known to be stopped)",
			 name, e.msg);
		vert_error_clear(&e);
		return false;
	}
	if (!have_state && lstat(rundir, &st) < 0 && lstat(vedir, &st) < 0) {
		/* a name nothing exists for (every new VE): nothing to do,
		 * unless a network record outlived both */
		struct vnet_paths np = ve_vnet_paths(p);
		if (!vnet_has_traces(&np, name))
			return false;
	}
	if (have_state && ve_state_running(&s)) {
		/* really running; a stop marker left by a stop that was killed
		 * (we hold the lock: no stop is in progress) would turn the
		 * VE's next reboot into a halt */
		_cleanup_free_ char *marker = xasprintf("%s/stopping", rundir);
		unlink(marker);
		/* and what a killed checkpoint left of its image */
		ve_checkpoint_tmp_sweep(h);
		*ret = s;
		return true;
	}
	if (have_state) {
		vert_debug("reconcile '%s': stale state (pid %d gone)", name, s.pid);
		ve_instance_cleanup(h, s.cgroup);
		ve_last_write(h, 0, SIGKILL, "lost");
	} else {
		/* a start killed before it recorded anything: its runtime dir
		 * and network record, if any */
		ve_instance_cleanup(h, NULL);
	}
	/* an --rm VE whose vert died, or a create that died before its
	 * config was written: nothing a user could still want */
	if ((have_state && s.autoremove) || config_autoremove(cfg) ||
	    (lstat(vedir, &st) == 0 && lstat(cfg, &st) < 0)) {
		/* the one removal an --rm VE gets: lease, uid range, data */
		vert_debug("reconcile '%s': removing leftover VE data", name);
		ve_remove_data_now(h, &e);
		vert_error_clear(&e);
	}
	if (have_state)
		ve_state_done(&s);
	return false;
}

bool ve_reconcile_state(struct ve_handle *h, struct ve_state *ret)
{
	vert_error_t e = VERT_ERROR_INIT;
	bool held = h->lock_fd >= 0, running;

	if (ve_handle_lock(h, false, &e) < 0) {
		vert_error_clear(&e);
		/* busy: its owner is alive and will finish the job; the state
		 * is whatever it says now */
		memset(ret, 0, sizeof(*ret));
		if (ve_state_read(h->p, h->name, ret, NULL) == 0 && ve_state_running(ret))
			return true;
		ve_state_done(ret);
		return false;
	}
	running = reconcile_locked(h, ret);
	if (!held)
		ve_handle_unlock(h, VE_UNLOCK_AUTO);
	return running;
}

void ve_reconcile(const struct ve_paths *p, const char *name)
{
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	struct ve_state s;

	if (ve_open(p, name, 0, &h, NULL) < 0)
		return;
	if (ve_reconcile_state(h, &s))
		ve_state_done(&s);
}

/* The names in DATA/ves, sorted: one readdir instead of a stat of each
 * VE's directory per runtime entry (run/ves/NAME, run/net/NAME.json: two
 * per running VE). */
struct name_set {
	char **v;
	size_t n;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void name_set_load(const struct ve_paths *p, struct name_set *set)
{
	_cleanup_free_ char *dir = xasprintf("%s/ves", p->data);
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	set->v = NULL;
	set->n = 0;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (set->n == cap) {
			cap = cap ? 2 * cap : 64;
			set->v = xrealloc(set->v, cap * sizeof(*set->v));
		}
		set->v[set->n++] = xstrdup(de->d_name);
	}
	if (d)
		closedir(d);
	if (set->n)
		qsort(set->v, set->n, sizeof(*set->v), cmp_str);
}

static void name_set_done(struct name_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i]);
	free(set->v);
}

static bool name_set_has(const struct name_set *set, const char *name)
{
	return set->n && bsearch(&name, set->v, set->n, sizeof(*set->v), cmp_str);
}

static bool name_set_listed(const void *set, const char *name)
{
	return name_set_has(set, name);
}

/* A name whose VE directory is gone: only runtime leftovers remain.
 * Names with a VE directory are left to the caller's pass over the VEs
 * (ve_list, ve_reconcile_all), which reconciles each of them once.  A
 * name in `dirs` had one a moment ago; one that is not is looked at
 * again (it may have been created since). */
static void reconcile_orphan(const struct ve_paths *p, const struct name_set *dirs,
			     const char *name)
{
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	struct ve_state s;
	struct stat st;

	if (name_set_has(dirs, name) || ve_open(p, name, 0, &h, NULL) < 0 ||
	    lstat(h->data_dir, &st) == 0)
		return;
	if (ve_reconcile_state(h, &s))
		ve_state_done(&s);
}

static void reconcile_dir(const struct ve_paths *p, const char *base, const struct name_set *dirs)
{
	_cleanup_free_ char *dir = xasprintf("%s/ves", base);
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (dirs)
			reconcile_orphan(p, dirs, de->d_name);
		else
			ve_reconcile(p, de->d_name);
	}
	closedir(d);
}

void ve_reconcile_runtime(const struct ve_paths *p)
{
	struct name_set dirs;

	name_set_load(p, &dirs);
	/* runtime leftovers of VEs whose directory is gone: run/ves/NAME */
	reconcile_dir(p, p->run, &dirs);
	/* uid ranges claimed by creates that never finished (those of a
	 * directory left: the VE's own reconcile, which every caller runs) */
	if (!p->rootless)
		ve_idrange_sweep(p, name_set_listed, &dirs);
	/* migrations whose vert was killed */
	ve_migrate_sweep(p);
	/* and network records */
	{
		_cleanup_free_ char *dir = xasprintf("%s/net", p->run);
		struct dirent *de;
		DIR *d = opendir(dir);
		while (d && (de = readdir(d))) {
			_cleanup_free_ char *n = NULL;
			if (!str_endswith(de->d_name, ".json"))
				continue;
			n = xstrndup(de->d_name, strlen(de->d_name) - 5);
			reconcile_orphan(p, &dirs, n);
		}
		if (d)
			closedir(d);
	}
	name_set_done(&dirs);
}

void ve_reconcile_all(const struct ve_paths *p)
{
	ve_reconcile_runtime(p);
	reconcile_dir(p, p->data, NULL);
}
