/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Looking at VEs: what `ps`, `inspect` and `top` show.  Every listing
 * reconciles first, so a VE whose vert was killed shows as stopped, not as
 * a ghost.
 */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "ve-internal.h"
#include "vert/cgroup.h"
#include "vert/json.h"
#include "vert/runtime.h"
#include "vert/util.h"

void ve_info_done(struct ve_info *i)
{
	ve_config_done(&i->cfg);
	ve_state_done(&i->state);
	free(i->status);
	free(i->last_reason);
	memset(i, 0, sizeof(*i));
}

static const struct vjson_field last_table[] = {
	VJSON_FIELD("exit_code", VJSON_INT, vjson_int, struct ve_info, last_code, 0),
	VJSON_FIELD("exit_signal", VJSON_INT, vjson_int, struct ve_info, last_signal, 0),
	VJSON_FIELD("reason", VJSON_STRING, vjson_string, struct ve_info, last_reason,
		    VJSON_MANDATORY),
	VJSON_FIELD("stopped_at", VJSON_INT, vjson_int64, struct ve_info, stopped_at,
		    VJSON_MANDATORY),
	{},
};

int ve_last_parse(struct json_object *o, const char *where, struct ve_info *i, vert_error_t *err)
{
	struct ve_info in = { .last_code = -1, .last_signal = -1 };
	int r = vjson_dispatch(o, last_table, 0, &in, where, err);

	if (r < 0) {
		free(in.last_reason);
		return r;
	}
	free(i->last_reason);
	i->last_code = in.last_code;
	i->last_signal = in.last_signal;
	i->last_reason = in.last_reason;
	i->stopped_at = in.stopped_at;
	return 0;
}

/* How the VE ended last time (last.json): none is "unknown"; a broken
 * record is reported, and shows as unknown too. */
static void read_last(const struct ve_paths *p, const char *name, struct ve_info *i)
{
	_cleanup_free_ char *path = ve_path(p->data, name, "last.json");
	_cleanup_json_ struct json_object *o = NULL;
	vert_error_t e = VERT_ERROR_INIT;
	int r;

	i->last_code = i->last_signal = -1;
	r = vjson_parse_file(AT_FDCWD, path, 1 << 16, &o, &e);
	if (r == 0)
		r = ve_last_parse(o, path, i, &e);
	if (r < 0 && r != -ENOENT)
		vert_log(VERT_LOG_WARNING, "VE '%s': %s", name, e.msg);
	vert_error_clear(&e);
}

/* The state of a VE whose init is alive and that no stop marker names,
 * read without its lock: what reconciling it would find too (for a running
 * VE, reconcile only removes the marker a killed stop left, and a VE it
 * cannot lock is read just so), minus the lock file's open, flock, stats
 * and close.  Anything else (no state, a dead init, a marker) goes the
 * locked way.  A listing of 10,000 VEs did ~26 system calls per VE. */
static bool running_unlocked(const struct ve_handle *h, struct ve_state *s)
{
	_cleanup_free_ char *marker = NULL;

	if (ve_state_read(h->p, h->name, s, NULL) < 0)
		return false;
	if (proc_alive(s->pid, s->start_time)) {
		marker = xasprintf("%s/stopping", h->run_dir);
		if (access(marker, F_OK) < 0 && errno == ENOENT)
			return true;
	}
	ve_state_done(s);
	return false;
}

/* What a listing shows beyond the state, read into i (which owns it):
 * only reads, so listings of many VEs run it in threads.  names: only the
 * name and whether it runs (ve_list_names). */
static int info_fill(struct ve_handle *h, const struct vnet_leases *ls, bool last, bool names,
		     struct ve_info *i, vert_error_t *err)
{
	int r;

	if (names) {
		/* a VE reconciled away (a create killed before its config) or
		 * destroyed meanwhile is no VE, as ve_config_load would say */
		if (access(h->config_path, F_OK) < 0) {
			ve_state_done(&i->state);
			free(i->status);
			i->status = NULL;
			return vert_error_set(err, ENOENT, VERT_ERR_NOTFOUND, "VE '%s' not found",
					      h->name);
		}
		ve_config_init(&i->cfg);
		i->cfg.name = xstrdup(h->name);
		i->last_code = i->last_signal = -1;
		return 0;
	}
	if ((r = ve_config_load(h->config_path, h->name, &i->cfg, err)) < 0) {
		ve_state_done(&i->state);
		free(i->status);
		i->status = NULL;
		return r;
	}
	cg_stats_init(&i->stats);
	if (i->running && i->state.cgroup)
		cg_stats_read(i->state.cgroup, &i->stats);
	i->sampled_ns = now_ns();
	ve_disk_usage_get(h, &i->cfg, i->running, &i->disk);
	if (last)
		read_last(h->p, h->name, i);
	else
		i->last_code = i->last_signal = -1;
	/* the address is the VE's for its whole life, running or not */
	if (!vnet_leases_get(ls, h->name, i->ip))
		i->ip[0] = '\0';
	return 0;
}

/* The running VE that no one is stopping, read without its lock (a
 * reader only: no reconcile, nothing written); false for every other. */
static bool info_running(struct ve_handle *h, struct ve_info *i)
{
	memset(i, 0, sizeof(*i));
	if (!running_unlocked(h, &i->state))
		return false;
	i->status = xstrdup(i->state.status ? i->state.status : "running");
	/* a start still under way is not running yet */
	i->running = strcmp(i->status, "starting") != 0;
	return true;
}

/* The state any other VE is in, reconciled (which may take its lock and
 * clean up after a killed vert). */
static void info_reconciled(struct ve_handle *h, struct ve_info *i)
{
	memset(i, 0, sizeof(*i));
	if (ve_reconcile_state(h, &i->state)) {
		/* one look at the state: reconciling reads it anyway */
		i->status = xstrdup(i->state.status ? i->state.status : "running");
		/* a start still under way (or dying) is not running yet */
		i->running = proc_alive(i->state.pid, i->state.start_time) &&
			     strcmp(i->status, "starting") != 0;
	} else {
		/* no state, and reconciling left the run dir: a restore that
		 * holds the VE's lock is making it */
		_cleanup_free_ char *mark = xasprintf("%s/" VE_RESTORING_MARK, h->run_dir);
		i->status = xstrdup(access(mark, F_OK) == 0 ? "restoring" : "stopped");
	}
}

static int info_get(struct ve_handle *h, const struct vnet_leases *ls, bool last, bool names,
		    struct ve_info *i, vert_error_t *err)
{
	if (!info_running(h, i))
		info_reconciled(h, i);
	return info_fill(h, ls, last, names, i, err);
}

int ve_info_get(struct ve_handle *h, struct ve_info *i, vert_error_t *err)
{
	struct vnet_leases *ls = vnet_leases_load(h->p->data);
	int r = info_get(h, ls, true, false, i, err);
	vnet_leases_free(ls);
	return r;
}

static int cmp_info(const void *a, const void *b)
{
	const struct ve_info *x = a, *y = b;
	return strcmp(x->cfg.name, y->cfg.name);
}

/* One VE of a listing.  A VE that is gone or whose config is broken is
 * left out: one broken config must not hide the others. */
enum slot {
	SLOT_SKIP = 0, /* what the zeroed slots of a listing start as */
	SLOT_OK,
	SLOT_RECONCILE
};

struct lister {
	const struct ve_paths *p;
	struct vnet_leases *ls;
	bool names;
	char **name;
	struct ve_info *v;
	unsigned char *slot;
	size_t n;
	atomic_size_t next;
};

static void slot_fill(struct lister *l, size_t k, struct ve_handle *h)
{
	vert_error_t e = VERT_ERROR_INIT;

	if (info_fill(h, l->ls, false, l->names, &l->v[k], &e) < 0) {
		if (e.kind != VERT_ERR_NOTFOUND)
			vert_log(VERT_LOG_WARNING, "%s", e.msg);
		vert_error_clear(&e);
		return;
	}
	l->slot[k] = SLOT_OK;
}

/* A thread of a listing: the running VEs, which need no lock and write
 * nothing (info_running); the others are left to the caller. */
static void *list_worker(void *arg)
{
	struct lister *l = arg;
	size_t k;

	while ((k = atomic_fetch_add(&l->next, 1)) < l->n) {
		_cleanup_ve_handle_ struct ve_handle *h = NULL;
		if (ve_open(l->p, l->name[k], 0, &h, NULL) < 0)
			continue;
		if (info_running(h, &l->v[k]))
			slot_fill(l, k, h);
		else
			l->slot[k] = SLOT_RECONCILE;
	}
	return NULL;
}

/* Threads for a listing of n VEs: a VE costs ~40-55 us of CPU (a dozen
 * system calls: its state, config, /proc/PID/stat, marks), so 10,000 took
 * ~0.55 s on one core.  Small listings stay on one thread. */
static unsigned list_threads(size_t n)
{
	cpu_set_t set;
	int cpus;

	if (n < 256 || sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	cpus = CPU_COUNT(&set);
	if (cpus > 8)
		cpus = 8;
	return cpus > 1 ? (unsigned)cpus : 1;
}

static int list(const struct ve_paths *p, bool names, struct ve_info **ret, size_t *n_ret,
		vert_error_t *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/ves", p->data);
	struct lister l = { .p = p, .names = names };
	pthread_t tid[8];
	unsigned nt, started = 0;
	struct dirent *de;
	size_t cap = 0, n = 0;
	DIR *d;

	/* runtime leftovers of VEs whose data is gone; the VEs themselves
	 * are reconciled as they are listed */
	ve_reconcile_runtime(p);
	d = opendir(dir);
	if (!d)
		return vert_error_sys(err, "read '%s'", dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (l.n == cap) {
			cap = cap ? 2 * cap : 64;
			l.name = xrealloc(l.name, cap * sizeof(*l.name));
		}
		l.name[l.n++] = xstrdup(de->d_name);
	}
	closedir(d);
	l.v = xcalloc(l.n ? l.n : 1, sizeof(*l.v));
	l.slot = xcalloc(l.n ? l.n : 1, 1);
	l.ls = names ? NULL : vnet_leases_load(p->data);

	nt = list_threads(l.n);
	for (unsigned t = 1; t < nt; t++)
		if (pthread_create(&tid[started], NULL, list_worker, &l) == 0)
			started++;
	list_worker(&l);
	for (unsigned t = 0; t < started; t++)
		pthread_join(tid[t], NULL);

	/* the VEs that need reconciling (stopped, or a vert killed), one at
	 * a time in this thread: that may lock them and clean up */
	for (size_t k = 0; k < l.n; k++) {
		_cleanup_ve_handle_ struct ve_handle *h = NULL;
		if (l.slot[k] != SLOT_RECONCILE)
			continue;
		l.slot[k] = SLOT_SKIP;
		if (ve_open(p, l.name[k], 0, &h, NULL) < 0)
			continue;
		info_reconciled(h, &l.v[k]);
		slot_fill(&l, k, h);
	}
	for (size_t k = 0; k < l.n; k++) {
		if (l.slot[k] == SLOT_OK)
			l.v[n++] = l.v[k];
		free(l.name[k]);
	}
	free(l.name);
	free(l.slot);
	vnet_leases_free(l.ls);
	if (n)
		qsort(l.v, n, sizeof(*l.v), cmp_info);
	*ret = l.v;
	*n_ret = n;
	return 0;
}

int ve_list(const struct ve_paths *p, struct ve_info **ret, size_t *n_ret, vert_error_t *err)
{
	return list(p, false, ret, n_ret, err);
}

int ve_list_names(const struct ve_paths *p, struct ve_info **ret, size_t *n_ret, vert_error_t *err)
{
	return list(p, true, ret, n_ret, err);
}

void ve_list_free(struct ve_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ve_info_done(&v[i]);
	free(v);
}

int64_t ve_info_uptime(const struct ve_info *i)
{
	return i->running && i->state.started_at > 0 ? (int64_t)time(NULL) - i->state.started_at
						     : -1;
}

/* CPU use over the VE's lifetime, in percent of one CPU; -1 unknown. */
double ve_info_cpu_percent(const struct ve_info *i)
{
	int64_t up = ve_info_uptime(i);
	if (i->stats.cpu_usage_usec < 0 || up <= 0)
		return -1;
	return (double)i->stats.cpu_usage_usec / 1e4 / (double)up;
}

static void add_i64_or_null(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, v >= 0 ? json_object_new_int64(v) : NULL);
}

struct json_object *ve_stats_json(const struct cg_stats *st, struct json_object *o)
{
	static const struct {
		const char *key;
		size_t off;
	} f[] = {
#define F(k, m) { .key = (k), .off = offsetof(struct cg_stats, m) }
		F("memory_current", memory_current),
		F("memory_max", memory_max),
		F("memory_high", memory_high),
		F("memory_peak", memory_peak),
		F("swap_current", swap_current),
		F("swap_max", swap_max),
		F("pids_current", pids_current),
		F("pids_max", pids_max),
		F("pids_limit_hits", pids_limit_hits),
		F("cpu_usage_usec", cpu_usage_usec),
		F("cpu_user_usec", cpu_user_usec),
		F("cpu_system_usec", cpu_system_usec),
		F("cpu_nr_throttled", cpu_nr_throttled),
		F("cpu_throttled_usec", cpu_throttled_usec),
		F("cpu_quota_usec", cpu_quota),
		F("cpu_period_usec", cpu_period),
		F("cpu_weight", cpu_weight),
		F("io_read_bytes", io_rbytes),
		F("io_write_bytes", io_wbytes),
		F("io_read_ops", io_rios),
		F("io_write_ops", io_wios),
		F("oom_kills", oom_kills),
		F("oom_events", oom_events),
		F("memory_max_events", memory_max_events),
		F("cpus", cpus),
#undef F
	};

	if (!o)
		o = json_object_new_object();
	for (size_t k = 0; k < ARRAY_SIZE(f); k++)
		add_i64_or_null(o, f[k].key, *(const int64_t *)((const char *)st + f[k].off));
	return o;
}

struct json_object *ve_info_to_json(const struct ve_paths *p, const struct ve_info *i, bool full)
{
	struct json_object *o = json_object_new_object(), *st;
	double cpu = ve_info_cpu_percent(i);

	json_object_object_add(o, "name", json_object_new_string(i->cfg.name));
	json_object_object_add(o, "state", json_object_new_string(i->status));
	json_object_object_add(o, "pid", i->running ? json_object_new_int(i->state.pid) : NULL);
	json_object_object_add(o, "ip", i->ip[0] ? json_object_new_string(i->ip) : NULL);
	add_i64_or_null(o, "memory", i->stats.memory_current);
	if (cpu >= 0) {
		/* two decimals as printed: a bare double shows 12.300000000000001 */
		char b[32];
		snprintf(b, sizeof(b), "%.2f", cpu);
		json_object_object_add(o, "cpu", json_object_new_double_s(strtod(b, NULL), b));
	} else {
		json_object_object_add(o, "cpu", NULL);
	}
	add_i64_or_null(o, "pids", i->stats.pids_current);
	add_i64_or_null(o, "uptime", ve_info_uptime(i));
	json_object_object_add(o, "template", json_object_new_string(i->cfg.template_name));
	json_object_object_add(o, "onboot", json_object_new_boolean(i->cfg.onboot));
	/* whose ids its root has: its own range, the user's (rootless), or
	 * the host's */
	json_object_object_add(o, "userns",
			       json_object_new_string(i->cfg.idmap_base ? "private"
						      : ve_config_userns_private(p, &i->cfg)
							      ? "private"
							      : "host"));
	if (i->cfg.idmap_base) {
		struct json_object *m = json_object_new_object();
		json_object_object_add(m, "host_uid", json_object_new_int64(i->cfg.idmap_base));
		json_object_object_add(m, "host_gid", json_object_new_int64(i->cfg.idmap_base));
		json_object_object_add(m, "size", json_object_new_int64(VE_IDMAP_SIZE));
		json_object_object_add(o, "idmap", m);
	}
	add_i64_or_null(o, "disk_used", i->disk.used);
	add_i64_or_null(o, "disk_limit", i->disk.limit);
	if (!full)
		return o;

	{
		/* which quota holds it, and what it counts (as df inside) */
		struct json_object *d = json_object_new_object();
		json_object_object_add(d, "backend",
				       i->cfg.disk.size > 0 && i->cfg.disk.backend
					       ? json_object_new_string(i->cfg.disk.backend)
					       : NULL);
		add_i64_or_null(d, "size", i->cfg.disk.size > 0 ? i->cfg.disk.size : -1);
		add_i64_or_null(d, "used", i->disk.used);
		add_i64_or_null(d, "limit", i->disk.limit);
		add_i64_or_null(d, "inodes_used", i->disk.inodes_used);
		add_i64_or_null(d, "inodes_limit", i->disk.inodes_limit);
		json_object_object_add(o, "disk", d);
	}

	json_object_object_add(o, "config", ve_config_to_json(&i->cfg));
	st = json_object_new_object();
	json_object_object_add(st, "status", json_object_new_string(i->status));
	json_object_object_add(st, "running", json_object_new_boolean(i->running));
	if (i->running) {
		json_object_object_add(st, "pid", json_object_new_int(i->state.pid));
		json_object_object_add(st, "supervisor_pid",
				       json_object_new_int(i->state.supervisor_pid));
		json_object_object_add(st, "started_at",
				       json_object_new_int64(i->state.started_at));
		json_object_object_add(st, "cgroup",
				       i->state.cgroup ? json_object_new_string(i->state.cgroup)
						       : NULL);
	}
	if (i->last_reason) {
		struct json_object *l = json_object_new_object();
		add_i64_or_null(l, "exit_code", i->last_code);
		add_i64_or_null(l, "exit_signal", i->last_signal);
		json_object_object_add(l, "reason", json_object_new_string(i->last_reason));
		json_object_object_add(l, "stopped_at", json_object_new_int64(i->stopped_at));
		json_object_object_add(st, "last_exit", l);
	}
	json_object_object_add(o, "status", st);
	json_object_object_add(o, "stats", ve_stats_json(&i->stats, NULL));
	{
		struct json_object *pa = json_object_new_object();
		char *d = ve_path(p->data, i->cfg.name, NULL),
		     *r = ve_path(p->run, i->cfg.name, NULL);
		char *log = ve_path(p->data, i->cfg.name, "console.log");
		json_object_object_add(pa, "data", json_object_new_string(d));
		json_object_object_add(pa, "runtime", json_object_new_string(r));
		json_object_object_add(pa, "log", json_object_new_string(log));
		free(d);
		free(r);
		free(log);
		json_object_object_add(o, "paths", pa);
	}
	return o;
}

/* ---- processes of a VE ---- */

void ve_procs_free(struct ve_proc *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].comm);
		free(v[i].cmdline);
	}
	free(v);
}

static bool read_proc(pid_t pid, struct ve_proc *pr)
{
	char path[64];
	_cleanup_free_ char *buf = NULL, *cmd = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file_at(AT_FDCWD, path, 1 << 16, &buf, NULL) < 0)
		return false;
	memset(pr, 0, sizeof(*pr));
	pr->host_pid = pid;
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
		if (str_startswith(l, "Name:"))
			pr->comm = xstrdup(l + 5 + strspn(l + 5, " \t"));
		else if (str_startswith(l, "State:"))
			pr->state = l[6 + strspn(l + 6, " \t")];
		else if (str_startswith(l, "Uid:"))
			pr->uid = (uid_t)strtoul(l + 4, NULL, 10);
		else if (str_startswith(l, "VmRSS:"))
			pr->rss_kb = strtoll(l + 6, NULL, 10);
		else if (str_startswith(l, "NSpid:")) {
			char *last = strrchr(l, '\t');
			char *sp = strrchr(l, ' ');
			if (sp > last)
				last = sp;
			pr->ve_pid = (pid_t)strtol(last ? last + 1 : l + 6, NULL, 10);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	if (read_file_at(AT_FDCWD, path, 1 << 16, &cmd, &len) == 0 && len > 0) {
		for (size_t k = 0; k + 1 < len; k++)
			if (cmd[k] == '\0')
				cmd[k] = ' ';
		pr->cmdline = TAKE_PTR(cmd);
	} else {
		pr->cmdline = xasprintf("[%s]", pr->comm ? pr->comm : "?");
	}
	return true;
}

/* /proc/PID/status shows uids as our user namespace sees them; the VE
 * user's view goes through the init's uid_map (inside outside count). */
static uid_t uid_inside(const char *map, uid_t outside)
{
	for (const char *l = map; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned in, out, cnt;
		if (sscanf(l, " %u %u %u", &in, &out, &cnt) == 3 && outside >= out &&
		    outside - out < cnt)
			return in + (outside - out);
	}
	return 65534; /* unmapped: the overflow uid, as the kernel shows it */
}

int ve_top(struct ve_handle *h, struct ve_proc **ret, size_t *n_ret, vert_error_t *err)
{
	_cleanup_close_ int pidfd = -EBADF;
	_cleanup_free_ char *map = NULL;
	struct ve_state s;
	struct stat init_ns;
	struct ve_proc *v = NULL;
	size_t n = 0;
	char path[64];
	struct dirent *de;
	DIR *d;
	int r;

	if ((r = ve_handle_config(h, err)) < 0 || (r = ve_open_init(h, &s, &pidfd, err)) < 0)
		return r;
	close(TAKE_FD(pidfd));
	snprintf(path, sizeof(path), "/proc/%d/uid_map", s.pid);
	if (read_file_at(AT_FDCWD, path, 1 << 16, &map, NULL) < 0)
		map = NULL;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", s.pid);
	if (stat(path, &init_ns) < 0) {
		ve_state_done(&s);
		return vert_error_set(err, ESRCH, VERT_ERR_NOTRUNNING, "VE '%s' is not running",
				      h->name);
	}
	/* Every process whose pid namespace is the init's (nested
	 * namespaces inside the VE are not looked into).  The cgroup would
	 * be quicker, but a VE on a host without cgroup v2 has none. */
	d = opendir("/proc");
	if (!d) {
		ve_state_done(&s);
		return vert_error_sys(err, "read /proc");
	}
	while ((de = readdir(d))) {
		struct stat ns;
		struct ve_proc pr;
		pid_t pid;
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
		if (stat(path, &ns) < 0 || ns.st_ino != init_ns.st_ino ||
		    ns.st_dev != init_ns.st_dev)
			continue;
		if (!read_proc(pid, &pr))
			continue;
		if (map)
			pr.uid = uid_inside(map, pr.uid);
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = pr;
	}
	closedir(d);
	ve_state_done(&s);
	*ret = v;
	*n_ret = n;
	return 0;
}

char *ve_log_path(const struct ve_handle *h, bool old)
{
	return ve_path(h->p->data, h->name, old ? "console.log.1" : "console.log");
}
