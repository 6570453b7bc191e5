/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Starting VEs, and the supervisor that stays with each running VE.
 *
 * Host state a boot creates, each undone in reverse on failure (house
 * rule 4): run/ves/NAME (state, rootfs mountpoint), the cgroup, the init.
 * The init is recorded in state.json from the parent *before* it is let
 * go (the after_clone hook), so no moment exists where a VE runs without a
 * record the next command can find.  Mounts live only in the VE's own
 * mount namespace and vanish with it.
 *
 * Every running VE has a supervisor: the process whose child the init is.
 *   - `vert run` / `vert start --attach`: the foreground vert itself.
 *   - `vert start`: a forked, detached vert that boots the VE and then
 *     execs the tiny static `vert-monitor` (libc only: a few pages per
 *     VE), which copies the console into the log and waits.  When the
 *     init exits, vert-monitor execs `vert __after-exit NAME`, which
 *     cleans up and, after a reboot from inside the VE, boots it again and
 *     execs vert-monitor once more.  The supervisor's pid never changes.
 * The init has PR_SET_PDEATHSIG: a killed supervisor takes its VE down
 * with it, and the next command reconciles the state.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "../monitor/monitor.h"
#include "ve-internal.h"
#include "vert/cgroup.h"
#include "vert/fs.h"
#include "vert/runtime.h"
#include "vert/util.h"

#ifndef VERT_LIBEXECDIR
#define VERT_LIBEXECDIR "/usr/libexec/vert"
#endif

/* Our own start time never changes (exec keeps it): read it once. */
static uint64_t self_start_time(void)
{
	static uint64_t t;
	if (!t)
		t = proc_start_time(getpid());
	return t;
}

/* The after_clone hook: runs in the parent after clone3, before the child
 * goes on.  The init is recorded first (a crash from here on leaves a
 * record), then its network is made, with its firewall rules, before
 * the VE's first instruction. */
static int record_init(pid_t pid, void *data, vert_error_t *err)
{
	struct ve_boot *b = data;
	int r;
	/* "starting" until the start has completed (ve_boot): a start that
	 * dies from here on never shows as running */
	struct ve_state s = {
		.status = (char *)"starting",
		.pid = pid,
		.start_time = proc_start_time(pid),
		.supervisor_pid = getpid(),
		.supervisor_start_time = self_start_time(),
		.started_at = (int64_t)time(NULL),
		.autoremove = b->cfg->autoremove,
		.cgroup = b->cgroup,
		.device_filter = b->device_filter,
	};
	if ((r = ve_state_write(b->h, &s, err)) < 0)
		return r;
	if (b->net &&
	    ((r = vnet_attach(b->net, pid, err)) < 0 || (r = vnet_commit(b->net, err)) < 0))
		return r;
	return 0;
}

/* The start completed: the state recorded by record_init says so now.
 * Failing to say it leaves the VE shown as "starting", not stopped or
 * broken: worth a warning, not a failed start. */
static void mark_running(const struct ve_handle *h)
{
	vert_error_t e = VERT_ERROR_INIT;

	if (ve_state_mark_started(h, &e) < 0)
		vert_log(VERT_LOG_WARNING, "%s", e.msg);
	vert_error_clear(&e);
}

void ve_boot_done(struct ve_boot *b)
{
	rt_container_release(&b->ct);
	free(b->cgroup);
	b->cgroup = NULL;
	if (b->cgroup_fd >= 0)
		close(TAKE_FD(b->cgroup_fd));
	b->cgroup_fd = -EBADF;
}

/* VERT_VIEWS=off: the host's /proc and /sys views (no lxcfs). */
static bool views_off(void)
{
	const char *v = getenv("VERT_VIEWS");
	return v && (strcmp(v, "off") == 0 || strcmp(v, "0") == 0);
}

/* The VE's root on the host: the outside id of the map entry whose inside
 * id is 0. */
static bool root_outside(const struct rt_idmap *m, size_t n, uint32_t *ret)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].inside == 0 && m[i].count > 0) {
			*ret = m[i].outside;
			return true;
		}
	return false;
}

/* Hand the VE its cgroup (src/cgroup/create.c): delegated to its root
 * when it has a user namespace, one level below its limits when nothing
 * else would keep it from raising them. */
static int boot_delegate(const struct ve_paths *p, const struct ve_config *c,
			 const struct rt_spec *spec, struct cg_handle *cg, vert_error_t *err)
{
	struct cg_owner o = { .userns = (spec->ns_flags & CLONE_NEWUSER) != 0,
			      .chown = !p->rootless,
			      .can_unmount = (ve_config_caps(c) & CAP_BIT(CAP_SYS_ADMIN)) != 0 };
	uint32_t uid = 0, gid = 0;
	int r;

	if (!cg->path)
		return 0;
	if (o.userns && (!root_outside(spec->uid_maps, spec->n_uid_maps, &uid) ||
			 !root_outside(spec->gid_maps, spec->n_gid_maps, &gid)))
		o.chown = false; /* no root inside: nobody to delegate to */
	o.uid = uid;
	o.gid = gid;
	if ((r = cg_delegate(cg, &o, err)) < 0)
		return r;
	if (cg->nested && !cg->anchor)
		ve_notice_once(p, "cgroup-nested",
			       "a VE with CAP_SYS_ADMIN runs a cgroup level below its limits "
			       "(they are shown, read-only, but its cpu view counts the host's "
			       "CPUs): the host's cgroup2 is mounted without nsdelegate and the "
			       "VE has no user namespace of its own, so on its namespace root "
			       "its root could raise them");
	return 0;
}

int ve_boot(struct ve_boot *b, vert_error_t *err)
{
	const struct ve_config *c = b->cfg;
	const struct ve_handle *h = b->h;
	const struct ve_paths *p = h->p;
	const char *vedir = h->data_dir, *rundir = h->run_dir, *cgname = h->cgroup_name;
	_cleanup_free_ char *lower = NULL, *upper = NULL, *work = NULL, *mp = NULL;
	_cleanup_free_ char *views = NULL;
	_cleanup_strv_ char **guard = NULL;
	struct rt_create_opts co = RT_CREATE_OPTS_INIT;
	struct json_object *spec_json = NULL;
	_cleanup_spec_ struct rt_spec *spec = NULL;
	struct cg_handle cg = CG_HANDLE_INIT;
	struct ve_config eff;
	struct vnet_mount etc_m[8], etc_keep[8];
	size_t n_etc = 0;
	bool no_device_filter;
	int r;

	b->ct = (struct rt_container){ .pidfd = -EBADF, .pty_master = -EBADF, .listener = -EBADF };
	b->cgroup = NULL;
	b->cgroup_fd = -EBADF;

	/* the command decided before it did anything (main, ve_run): a VE
	 * that needs the sealed copy and has none is a bug, not started */
	if ((r = ve_exe_guard(p, c, false, err)) < 0)
		return r;
	if ((r = ve_template_rootfs(p, c->template_name, &lower, err)) < 0)
		return r;
	if (mkdir(rundir, 0700) < 0 && errno != EEXIST)
		return vert_error_sys(err, "create '%s'", rundir);
	mp = xasprintf("%s/mnt", p->run);
	upper = xasprintf("%s/upper", vedir);
	work = xasprintf("%s/work", vedir);
	/* a disk image: mounted on this side, so the child's overlay (and
	 * any idmapped clone of its upper) finds it there */
	if ((r = ve_disk_attach(h, c, &upper, &work, err)) < 0)
		goto fail;
	/* an --rm VE that rebooted from inside mounts its volatile overlay
	 * again */
	if (ve_overlay_volatile(c) && (r = ve_overlay_work_reset(p, work, err)) < 0)
		goto fail;
	vert_debug_mark("disk");

	/* the cgroup first: whether the VE has one decides its mounts */
	if ((r = cg_prepare(cgname, &c->resources, p->rootless,
			    (ve_config_caps(c) & CAP_BIT(CAP_SYS_ADMIN)) ? CG_ANCHOR_ON_HYBRID : 0,
			    &cg, err)) < 0)
		goto fail;
	if (cg.why_none)
		ve_notice_once(p, "no-cgroup", cg.why_none);
	b->cgroup = cg.path ? xstrdup(cg.path) : NULL;
	b->device_filter = cg.devices_filtered;
	no_device_filter = !p->rootless && !cg.devices_filtered;
	vert_debug_mark("cgroup");

	{
		struct vnet_paths np = ve_vnet_paths(p);
		struct vnet_config nc = { c->net, c->ip,       c->publish,
					  c->dns, c->hostname, .ephemeral = c->autoremove };
		if ((r = vnet_prepare(&np, c->name, &nc, &b->net, err)) < 0)
			goto fail;
		if (vnet_state_notice(b->net)) {
			_cleanup_free_ char *msg =
				xasprintf("rootless networking unavailable: %s; VEs get --net none "
					  "(loopback only)",
					  vnet_state_notice(b->net));
			ve_notice_once(p, "net-none", msg);
		}
	}
	vert_debug_mark("network prepared");

	if (!views_off()) {
		_cleanup_free_ char *why = NULL;
		if (!cg.path || cg.anchor)
			why = xasprintf("they come from the VE's cgroup v2 controllers, and this "
					"host's cgroup layout is %s; %s",
					cg_layout_name(cg_detect_layout()),
					"boot it with systemd.unified_cgroup_hierarchy=1");
		views = ve_views_acquire(p, c->name, why);
		vert_debug_mark("views");
	}

	/* a detached VE's console is a pty whose output goes to the log */
	eff = *c;
	if (b->detached)
		eff.terminal = true;
	{
		struct ve_compile_in in = { p, &eff, lower, upper, work, mp };
		in.cgroup = cg.path != NULL;
		in.no_device_filter = no_device_filter;
		in.ssh_keygen = c->ssh_keygen;
		in.views = views;
		in.sysinfo = ve_sysinfo_wanted(p, c, views != NULL, cg.path);
		in.cgroup_path = cg.path;
		in.cgroup_guard = guard = cg_limit_files(&cg);
		{
			const struct vnet_mount *nm;
			size_t nn = vnet_state_mounts(b->net, &nm);
			/* a volume of the user's own at one of these places wins */
			for (size_t i = 0; i < nn && n_etc < ARRAY_SIZE(etc_m); i++) {
				bool user_has = false;
				for (size_t j = 0; j < c->n_volumes; j++)
					if (strcmp(c->volumes[j].dest, nm[i].dest) == 0)
						user_has = true;
				if (!user_has)
					etc_m[n_etc++] = nm[i];
			}
			bool hn_file = false, hn_user = false;
			for (size_t i = 0; i < n_etc; i++)
				hn_file |= strcmp(etc_m[i].dest, "/etc/hostname") == 0;
			for (size_t j = 0; j < c->n_volumes; j++)
				hn_user |= strcmp(c->volumes[j].dest, "/etc/hostname") == 0;
			if (!hn_file && !hn_user &&
			    ve_hostname_file_install(upper, lower,
						     c->hostname ? c->hostname : c->name) < 0)
				vert_debug("VE '%s': no /etc/hostname written", c->name);
			n_etc = ve_etc_files_install(upper, lower, etc_m, n_etc, etc_keep);
			in.net_mounts = etc_keep;
			in.n_net_mounts = n_etc;
		}
		in.host_netns = !vnet_mode_new_netns(vnet_state_mode(b->net));
		if ((r = ve_compile_spec(&in, &spec_json, err)) < 0)
			goto fail;
	}
	vert_debug_mark("compiled");
	r = rt_spec_from_json(spec_json, &spec, err);
	json_object_put(spec_json);
	if (r < 0)
		goto fail;
	vert_debug_mark("spec parsed");
	if ((r = boot_delegate(p, c, spec, &cg, err)) < 0)
		goto fail;
	b->cgroup_fd = TAKE_FD(cg.dirfd);
	cg_handle_done(&cg);
	if (p->rootless) {
		struct ve_idmap im;
		ve_idmap_compute(p, &im);
		ve_idmap_notice(p, &im);
	}

	co.cgroup_fd = b->cgroup_fd;
	co.die_with_parent = true;
	co.user = c->user;
	co.after_clone = record_init;
	co.after_clone_data = b;
	co.raw_console = b->detached;
	co.console = true;
	co.seccomp_cache = p->run;
	if (!b->detached)
		rt_block_forwarded_signals(NULL);
	r = rt_container_create(spec, &co, &b->ct, err);
	if (r < 0)
		goto fail;
	vert_debug_mark("init running");
	if (c->ssh_keygen) {
		/* the init runs behind the ssh-keygen wrapper: only the first
		 * start makes keys (a shallow copy, to save the flag off) */
		struct ve_config saved = *c;
		saved.ssh_keygen = false;
		if (ve_config_save(h, &saved, true, err) < 0)
			vert_log(VERT_LOG_WARNING, "VE '%s': %s", c->name, err->msg);
		vert_error_clear(err);
	}
	mark_running(h);
	vnet_state_free(b->net);
	b->net = NULL;
	return 0;

fail:
	cg_handle_done(&cg);
	/* tears the network down too, from its record */
	ve_instance_cleanup(h, b->cgroup);
	vnet_state_free(b->net);
	b->net = NULL;
	ve_boot_done(b);
	return vert_error_wrap(err, "start VE '%s'", c->name);
}

/* What is known about the instance that ended; the attached supervisor
 * knows it all already, the detached one reads it back from disk. */
struct exit_info {
	int code, sig;
	int autoremove;	    /* -1: read the config */
	const char *cgroup; /* NULL with known: no cgroup */
	bool known;	    /* cgroup is authoritative */
};

static bool after_exit(struct ve_handle *h, const struct exit_info *x)
{
	const struct ve_paths *p = h->p;
	const char *name = h->name, *rundir = h->run_dir;
	_cleanup_free_ char *marker = NULL, *cgroup = NULL;
	bool stopping, reboot, autoremove;
	const char *reason;
	struct stat st;

	marker = xasprintf("%s/stopping", rundir);
	stopping = access(marker, F_OK) == 0;
	h->exit_in_stop = stopping;
	/* a reboot(2) inside a pid namespace kills its init with SIGHUP,
	 * halt and power-off with SIGINT (kernel/pid_namespace.c) */
	reason = x->sig == SIGHUP ? "reboot" : x->sig == SIGINT ? "halt" : "exit";
	reboot = x->sig == SIGHUP && !stopping && stat(h->config_path, &st) == 0;

	/* the instance's cgroup: known to an attached supervisor, else
	 * recorded in its state */
	if (x->known) {
		cgroup = x->cgroup ? xstrdup(x->cgroup) : NULL;
	} else {
		struct ve_state s;
		if (ve_state_read(p, name, &s, NULL) == 0) {
			cgroup = s.cgroup ? xstrdup(s.cgroup) : NULL;
			ve_state_done(&s);
		}
	}
	autoremove = x->autoremove >= 0 ? x->autoremove : false;
	if (x->autoremove < 0 && ve_handle_reload(h, NULL) == 0)
		autoremove = h->cfg.autoremove;
	/* an --rm VE's data is about to go: no point recording how it ended */
	if (reboot || !autoremove)
		ve_last_write(h, x->code, x->sig, stopping ? "stop" : reason);
	if (reboot) {
		/* keep the runtime dir (a stop arriving now leaves its marker
		 * there); only the dead init's state goes, and its network
		 * (made again by the next boot; the lease stays) */
		vert_error_t e = VERT_ERROR_INIT;
		struct vnet_paths np = ve_vnet_paths(p);
		if (cgroup && cg_remove_path(cgroup, &e) < 0)
			vert_log(VERT_LOG_WARNING, "VE '%s': %s", name, e.msg);
		vert_error_clear(&e);
		vnet_teardown(&np, name, &e);
		vert_error_clear(&e);
		ve_disk_detach(h);
		struct ve_state rs = { .status = (char *)"rebooting",
				       .supervisor_pid = getpid(),
				       .supervisor_start_time = self_start_time() };
		if (ve_state_write(h, &rs, NULL) < 0)
			unlink(h->state_path);
		return true;
	}
	/* the init is gone, and with it the last process of the VE's
	 * network namespace: its veth goes with the namespace, which the
	 * kernel destroys asynchronously, instead of holding up the exit by
	 * ~15-40 ms of RCU grace periods (RTM_DELLINK).  Its rules go now;
	 * a start before the kernel is done names its veth otherwise
	 * (attach_veth). */
	ve_instance_cleanup_ex(h, cgroup, true);
	return false;
}

bool ve_after_exit(struct ve_handle *h, int code, int sig)
{
	struct exit_info x = { .code = code, .sig = sig, .autoremove = -1 };
	return after_exit(h, &x);
}

/* The lock for the removal of an --rm VE that stopped for good, by its
 * supervisor: waited for (wait) unless a `vert stop` ended the VE, for
 * that stop holds the lock until the supervisor is gone (waiting would
 * hold both up until the stop gives up on the supervisor, 30 s).  Not
 * got: the data goes all the same, and the holder removes the lock file
 * once it is done (ve_stop: the VE is gone). */
static void lock_for_autoremove(struct ve_handle *h, bool wait)
{
	ve_handle_lock(h, wait && !h->exit_in_stop, NULL);
}

/* A VE that stopped for good: when it is an --rm VE, its data goes, and
 * its lock file with it (lock_for_autoremove). */
static void autoremove(struct ve_handle *h, bool wait)
{
	if (ve_handle_reload(h, NULL) < 0 || !h->cfg.autoremove)
		return;
	lock_for_autoremove(h, wait);
	ve_remove_data(h, NULL);
	ve_handle_unlock(h, VE_UNLOCK_REMOVE);
}

/* ---- reboot loops ----
 *
 * A VE whose init reboots as soon as it is up (a broken or hostile
 * template) would otherwise boot again and again at full speed: a new
 * network, cgroup and mount namespace each time, costing the host CPU
 * and netlink/nftables churn.  The first reboots in a row are immediate
 * (an admin's reboot, an upgrade that reboots twice), then each waits
 * twice as long as the one before, up to a minute: the kind of curve
 * systemd's restart rate limit and Kubernetes' CrashLoopBackOff use.  A
 * VE that stays up for two minutes starts over.  The count lives in the
 * runtime dir, which a reboot keeps and a stop removes.  Each wait is said
 * in the VE's console log (`vert logs`); `vert ps` shows it "rebooting". */
#define REBOOT_FREE 3
#define REBOOT_BASE_MS 1000ULL
#define REBOOT_CAP_MS 60000ULL
#define REBOOT_RESET_S 120

static uint64_t reboot_delay_ms(unsigned long long count)
{
	unsigned long long k;

	if (count <= REBOOT_FREE)
		return 0;
	k = count - REBOOT_FREE - 1;
	if (k >= 16 || (REBOOT_BASE_MS << k) > REBOOT_CAP_MS)
		return REBOOT_CAP_MS;
	return REBOOT_BASE_MS << k;
}

static void console_note(const struct ve_handle *h, const char *msg)
{
	_cleanup_close_ int dfd = open(h->data_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -EBADF;

	if (dfd < 0)
		return;
	fd = openat(dfd, MONITOR_LOG_NAME, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd >= 0 && write_all(fd, msg, strlen(msg)) < 0)
		vert_debug("write console log: %s", strerror(errno));
}

/* Called between a reboot's cleanup and the next boot.  False: a stop or
 * a destroy came while it waited, and the VE must not boot again.  !quiet:
 * said on stderr too (an attached supervisor's terminal). */
static bool reboot_backoff(struct ve_handle *h, bool quiet)
{
	_cleanup_close_ int dfd = open(h->run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL, *marker = xasprintf("%s/stopping", h->run_dir);
	unsigned long long count = 0, last = 0;
	uint64_t now = now_ns(), delay, until;
	char msg[200], txt[256];

	if (dfd < 0)
		return true;
	if (read_file_at(dfd, "reboots", 256, &buf, NULL) == 0 &&
	    sscanf(buf, "%llu %llu", &count, &last) == 2 && now >= last &&
	    now - last < REBOOT_RESET_S * 1000000000ULL)
		count++;
	else
		count = 1;
	delay = reboot_delay_ms(count) * 1000000ULL;
	until = now + delay;
	snprintf(txt, sizeof(txt), "%llu %llu\n", count, (unsigned long long)until);
	if (write_file_atomic_nosync_at(dfd, "reboots", txt, strlen(txt), 0600) < 0)
		vert_debug("record reboot count: %s", strerror(errno));
	if (!delay)
		return true;
	snprintf(msg, sizeof(msg),
		 "VE '%s' rebooted %llu times in a row, each within %ds of booting: next boot "
		 "in %llus",
		 h->name, count, REBOOT_RESET_S, (unsigned long long)(delay / 1000000000ULL));
	snprintf(txt, sizeof(txt), "\r\nvert: %s\r\n", msg);
	console_note(h, txt);
	if (!quiet)
		vert_log(VERT_LOG_NOTICE, "%s", msg);
	while (now_ns() < until) {
		struct stat st;
		if (access(marker, F_OK) == 0 || stat(h->config_path, &st) < 0)
			return false;
		usleep(100 * 1000);
	}
	return true;
}

/* The instance's init exited: clean up after it and, when it rebooted
 * from inside, boot the VE again into *b (true: it runs again; a boot
 * that fails has cleaned up after itself). */
static bool exit_and_reboot(struct ve_handle *h, int code, int sig, struct ve_boot *b,
			    vert_error_t *err)
{
	if (!ve_after_exit(h, code, sig))
		return false;
	if (!reboot_backoff(h, true)) {
		/* stopped (or destroyed) while it waited: it stays down */
		ve_last_write(h, code, sig, "stop");
		ve_instance_cleanup(h, NULL);
		return false;
	}
	if (ve_handle_reload(h, err) < 0) {
		/* destroyed meanwhile: nothing to boot, the reboot's state goes */
		ve_instance_cleanup(h, NULL);
		return false;
	}
	*b = (struct ve_boot){ .h = h, .cfg = &h->cfg, .detached = true };
	return ve_boot(b, err) == 0;
}

/* ---- the detached supervisor ---- */

static char *self_exe(void)
{
	/* the host path, also when running from the sealed copy */
	return vert_exe_path();
}

static char *monitor_path(const char *exe)
{
	_cleanup_free_ char *copy = exe ? xstrdup(exe) : NULL;
	char *c;

	if (copy) {
		c = xasprintf("%s/vert-monitor", dirname(copy));
		if (access(c, X_OK) == 0)
			return c;
		free(c);
	}
	c = xstrdup(VERT_LIBEXECDIR "/vert-monitor");
	if (access(c, X_OK) == 0)
		return c;
	free(c);
	return NULL;
}

static void clear_cloexec(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETFD, 0);
}

bool ve_sysinfo_wanted(const struct ve_paths *p, const struct ve_config *c, bool views,
		       const char *cgroup)
{
	/* with the VE's views (its cgroup v2 figures), never for a nesting
	 * VE: a filter with a listener makes the kernel refuse its payload's
	 * own listeners (EBUSY), and nested runtimes use them */
	return views && cgroup && !c->nesting && !p->rootless;
}

/* What serves an instance's sysinfo(2): its listener, a directory fd of
 * its cgroup (the one holding the limits), its init's start. */
static void sysinfo_of(const struct ve_boot *b, struct monitor_sysinfo *m)
{
	if (m->cgroup >= 0)
		close(m->cgroup);
	*m = (struct monitor_sysinfo)MONITOR_SYSINFO_NONE;
	if (b->ct.listener < 0)
		return;
	m->listener = b->ct.listener;
	m->cgroup = b->cgroup ? open(b->cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC) : -EBADF;
	m->start = b->ct.start_time;
}

/* "--sysinfo LISTENER CGROUP START" of vert-monitor's command line, into
 * argv (4 entries) with its numbers in buf. */
static void sysinfo_argv(const struct monitor_sysinfo *m, char buf[3][24], char **argv)
{
	snprintf(buf[0], sizeof(buf[0]), "%d", m->listener);
	snprintf(buf[1], sizeof(buf[1]), "%d", m->cgroup);
	snprintf(buf[2], sizeof(buf[2]), "%llu", m->start);
	argv[0] = (char *)"--sysinfo";
	argv[1] = buf[0];
	argv[2] = buf[1];
	argv[3] = buf[2];
}

void ve_sysinfo_serve(const struct rt_container *ct, const char *cgroup)
{
	_cleanup_free_ char *exe = NULL, *mon = NULL;
	int st;
	pid_t pid;

	if (ct->listener < 0)
		return;
	exe = self_exe();
	mon = monitor_path(exe);
	/* a grandchild of ours, in a session of its own: it outlives this
	 * vert (an exec's daemon keeps asking) and ends with the filter's
	 * last process (the listener's POLLHUP) */
	pid = fork();
	if (pid < 0) {
		vert_debug("sysinfo: fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		struct monitor_sysinfo m = { ct->listener, -EBADF, ct->start_time };
		char buf[3][24], *argv[6];
		if (fork() != 0)
			_exit(0);
		setsid();
		/* to 3 and 4, by way of fds above both (either may be 3 now) */
		m.cgroup = cgroup ? open(cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC) : -EBADF;
		m.listener = fcntl(m.listener, F_DUPFD_CLOEXEC, 64);
		m.cgroup = m.cgroup >= 0 ? fcntl(m.cgroup, F_DUPFD_CLOEXEC, 64) : -EBADF;
		if (m.listener < 0 || dup2(m.listener, 3) < 0 ||
		    (m.cgroup >= 0 && dup2(m.cgroup, 4) < 0))
			_exit(1);
		m.listener = 3;
		m.cgroup = m.cgroup >= 0 ? 4 : -EBADF;
		syscall(SYS_close_range, 5, ~0U, 0);
		if (mon) {
			argv[0] = mon;
			sysinfo_argv(&m, buf, argv + 1);
			argv[5] = NULL;
			execv(mon, argv);
		}
		/* no vert-monitor: this copy of vert serves */
		monitor_sysinfo_loop(&m);
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

/* Never returns: becomes vert-monitor, or runs the monitor loop here. */
__attribute__((noreturn)) static void supervise(struct ve_handle *h, struct ve_boot *b)
{
	_cleanup_free_ char *exe = self_exe(), *mon = monitor_path(exe);
	/* NOLINTNEXTLINE(android-cloexec-open): vert-monitor writes the console log into it */
	int logdir = open(h->data_dir, O_PATH | O_DIRECTORY);
	char a1[16], a2[16], a3[16], sbuf[3][24];
	struct monitor_sysinfo sys = MONITOR_SYSINFO_NONE;
	siginfo_t si;

	sysinfo_of(b, &sys);
	if (mon && exe) {
		char *argv[16];
		int n = 0;
		clear_cloexec(b->ct.pidfd);
		clear_cloexec(b->ct.pty_master);
		snprintf(a1, sizeof(a1), "%d", b->ct.pidfd);
		snprintf(a2, sizeof(a2), "%d", b->ct.pty_master);
		snprintf(a3, sizeof(a3), "%d", logdir);
		argv[n++] = mon;
		argv[n++] = a1;
		argv[n++] = a2;
		argv[n++] = a3;
		if (sys.listener >= 0) {
			clear_cloexec(sys.listener);
			clear_cloexec(sys.cgroup);
			sysinfo_argv(&sys, sbuf, argv + n);
			n += 4;
		}
		argv[n++] = (char *)"--";
		argv[n++] = exe;
		if (h->p->root_arg) {
			argv[n++] = (char *)"--root";
			argv[n++] = h->p->root_arg;
		}
		argv[n++] = (char *)"__after-exit";
		argv[n++] = h->name;
		argv[n] = NULL;
		execv(mon, argv);
		/* fall through to the in-process loop */
		vert_debug("exec %s: %s", mon, strerror(errno));
	}
	for (;;) {
		vert_error_t e = VERT_ERROR_INIT;
		int code = 0, sig = 0;
		bool again;

		if (monitor_run(b->ct.pidfd, b->ct.pty_master, logdir, MONITOR_LOG_CAP, &sys, &si) <
		    0)
			_exit(1);
		if (si.si_code == CLD_EXITED)
			code = si.si_status;
		else
			sig = si.si_status;
		ve_boot_done(b);
		again = exit_and_reboot(h, code, sig, b, &e);
		vert_error_clear(&e);
		if (!again)
			break;
		sysinfo_of(b, &sys);
	}
	autoremove(h, false);
	_exit(0);
}

int ve_supervisor_after_exit(struct ve_handle *h, int code, int sig, vert_error_t *err)
{
	struct ve_boot b = { 0 };
	vert_error_t e = VERT_ERROR_INIT;

	if (exit_and_reboot(h, code, sig, &b, &e))
		supervise(h, &b);
	autoremove(h, false);
	if (e.kind) {
		vert_error_move(err, &e);
		return vert_error_ret(err);
	}
	return 0;
}

/* ---- start ---- */

/* The lock copy a detached supervisor holds until it has reported
 * (ve_boot_detached); a helper it forks that doesn't exec closes it. */
int ve_boot_lock_fd = -EBADF;

/*
 * Fork the VE's supervisor: the child runs boot and, once it has reported
 * to the caller (who waits for its word), supervises b's init.
 *
 * The child keeps its copy of the caller's lock until it is about to
 * report, so a caller killed in the middle (a `vert restore` in CRIU's restore takes
 * seconds) does not free the VE for the next command while the boot goes
 * on: that command's reconcile saw no state yet and took the network and
 * run dir from under the VE being made.  It finds the VE busy instead, and the child,
 * its report undeliverable (SIGPIPE), dies with the VE it made; the
 * reconcile then cleans up a VE that is plainly not running.
 */
int ve_boot_detached(struct ve_handle *h, const struct ve_config *c,
		     int (*boot)(void *data, struct ve_boot *b, vert_error_t *err), void *data,
		     vert_error_t *err)
{
	struct vert_error_wire n = { 0 };
	int pfd[2], st;
	pid_t pid;
	ssize_t got;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return vert_error_sys(err, "pipe");
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return vert_error_sys(err, "fork");
	}
	if (pid == 0) {
		struct ve_boot b = { .h = h, .cfg = c, .detached = true };
		vert_error_t e = VERT_ERROR_INIT;
		int null;

		close(pfd[0]);
		/* ours now: h no longer holds it (nothing may unlink it) */
		ve_boot_lock_fd = TAKE_FD(h->lock_fd);
		/* The supervisor outlives the command: whatever the caller had
		 * open (a pipe a script reads to EOF, a test runner's fd 3)
		 * must not stay open for the VE's lifetime.  Close-on-exec, not
		 * closed: fds of this process stay valid until vert-monitor
		 * takes over. */
		syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
		setsid();
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		if (boot(data, &b, &e) < 0) {
			vert_error_pack(&e, &n);
			if (!n.kind)
				n.kind = VERT_ERR_RUNTIME;
			if (write(pfd[1], &n, sizeof(n)) < 0)
				_exit(1);
			_exit(1);
		}
		/* booted, the VE whole: the caller's copy is the lock from
		 * here on (closed after the report, ours would still be held
		 * when the caller returns, and its next command found the VE
		 * busy) */
		close(TAKE_FD(ve_boot_lock_fd));
		if (write(pfd[1], &n, sizeof(n)) != sizeof(n))
			_exit(1);
		close(pfd[1]);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		supervise(h, &b);
	}
	close(pfd[1]);
	got = read(pfd[0], &n, sizeof(n));
	close(pfd[0]);
	if (got != (ssize_t)sizeof(n)) {
		waitpid(pid, &st, 0);
		return vert_error_set(err, EIO, VERT_ERR_RUNTIME,
				      "VE '%s': its supervisor died before it reported", c->name);
	}
	if (n.kind) {
		waitpid(pid, &st, 0);
		return vert_error_unpack(err, &n, "failed");
	}
	return 0;
}

static int boot_fn(void *data, struct ve_boot *b, vert_error_t *err)
{
	(void)data;
	return ve_boot(b, err);
}

/* The foreground supervisor of `run` and `start --attach`.  Called with
 * the lock held; releases it while the VE runs. */
static int start_attached(struct ve_handle *h, int *ret_status, vert_error_t *err)
{
	struct ve_boot b = { .h = h, .cfg = &h->cfg, .detached = false };
	int r, status = 0;

	r = ve_boot(&b, err);
	if (r < 0)
		return r;
	for (;;) {
		int code = 0, sig = 0;
		ve_sysinfo_serve(&b.ct, b.cgroup);
		if (b.ct.listener >= 0)
			close(TAKE_FD(b.ct.listener));
		/* others may stop or exec into the VE while it runs */
		ve_handle_unlock(h, VE_UNLOCK_KEEP);
		r = rt_container_wait(&b.ct, &status, err);
		vert_debug_mark("init exited");
		if (r < 0)
			status = 125;
		if (status >= 128)
			sig = status - 128;
		else
			code = status;
		{
			struct exit_info x = { .code = code,
					       .sig = sig,
					       .autoremove = h->cfg.autoremove,
					       .cgroup = b.cgroup,
					       .known = true };
			bool again = after_exit(h, &x);
			ve_boot_done(&b);
			if (!again)
				break;
		}
		/* rebooted from inside: boot again, same terminal */
		if (!reboot_backoff(h, false)) {
			ve_last_write(h, code, sig, "stop");
			ve_instance_cleanup(h, NULL);
			break;
		}
		if ((r = ve_handle_reload(h, err)) < 0)
			break;
		b = (struct ve_boot){ .h = h, .cfg = &h->cfg, .detached = false };
		if ((r = ve_boot(&b, err)) < 0)
			break;
	}
	*ret_status = status;
	return r < 0 ? r : 0;
}

/* reconciled: the caller holds the lock and has reconciled (restart) or
 * just created the VE under it (run: an --rm VE that never ran must not be
 * mistaken for a leftover), so the VE is known not to be running;
 * created: the latter, so its uid range was checked and claimed by this
 * process a moment ago, under the same lock */
static int start_locked(struct ve_handle *h, const struct ve_start_opts *o, int *ret_status,
			bool reconciled, bool created, vert_error_t *err)
{
	int r;

	if ((r = ve_handle_config(h, err)) < 0)
		return r;
	/* a broken state: the VE may run, and a start would make two of it */
	if ((r = ve_state_check(h->p, h->name, err)) < 0)
		return r;
	if (!reconciled && ve_reconcile_locked(h))
		return vert_error_set(err, EBUSY, VERT_ERR_RUNNING, "VE '%s' is already running",
				      h->name);
	if ((r = created ? ve_userns_host_check(h, err) : ve_userns_prepare(h, err)) < 0)
		return vert_error_wrap(err, "start VE '%s'", h->name);
	if (o && o->attach)
		return start_attached(h, ret_status, err);
	return ve_boot_detached(h, &h->cfg, boot_fn, NULL, err);
}

int ve_start(struct ve_handle *h, const struct ve_start_opts *o, int *ret_status, vert_error_t *err)
{
	int r, status = 0;

	if ((r = ve_handle_lock(h, false, err)) < 0)
		return r;
	r = start_locked(h, o, &status, false, false, err);
	ve_handle_unlock(h, VE_UNLOCK_AUTO);
	if (ret_status)
		*ret_status = status;
	/* an attached --rm VE goes away with its command */
	if (r == 0 && o && o->attach)
		autoremove(h, true);
	return r;
}

int ve_restart(struct ve_handle *h, int timeout, vert_error_t *err)
{
	int r;

	if ((r = ve_handle_lock(h, false, err)) < 0)
		return r;
	/* a running VE whose config can't start again keeps running */
	if ((r = ve_start_precheck(h, err)) < 0)
		goto out;
	if (ve_reconcile_locked(h) && (r = ve_stop_locked(h, timeout, err)) < 0)
		goto out;
	r = start_locked(h, NULL, NULL, true, false, err);
out:
	ve_handle_unlock(h, VE_UNLOCK_AUTO);
	return r;
}

/* ---- run ---- */

int ve_run(const struct ve_paths *p, struct ve_config *c, const struct ve_run_opts *o,
	   int *ret_status, vert_error_t *err)
{
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	struct ve_start_opts so = { .attach = !o->detach };
	int r, status = 0;

	if ((r = ve_exe_guard(p, c, true, err)) < 0)
		return r;
	if (!c->name) {
		char id[13];
		random_hex(id, 12);
		c->name = xstrdup(id);
	}
	c->autoremove = o->rm;
	if ((r = ve_open_new(p, c, &h, err)) < 0)
		return r;
	/* an --rm VE is thrown away: its config needs no fsync */
	r = ve_create_locked(h, c, !o->rm, err);
	vert_debug_mark("created");
	if (r < 0) {
		/* not created (e.g. the name exists: then the lock file is
		 * that VE's and stays) */
		if (r != -EEXIST)
			ve_handle_unlock(h, VE_UNLOCK_REMOVE);
		return r;
	}
	r = start_locked(h, &so, &status, true, true, err);
	if (r < 0) {
		/* it never ran: leave nothing behind, --rm or not */
		ve_handle_lock(h, true, NULL);
		ve_remove_data(h, NULL);
		ve_handle_unlock(h, VE_UNLOCK_REMOVE);
		return r;
	}
	vert_debug_mark("after exit");
	if (o->rm && !o->detach) {
		lock_for_autoremove(h, true);
		ve_remove_data_now(h, NULL);
		ve_handle_unlock(h, VE_UNLOCK_REMOVE);
		vert_debug_mark("removed");
	}
	*ret_status = status;
	return r;
}
