/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to src/ve. */
#ifndef VERT_VE_INTERNAL_H
#define VERT_VE_INTERNAL_H

#include "vert/runtime.h"
#include "vert/spec.h"
#include "vert/ve.h"
#include "vert/vnet.h"

static inline struct vnet_paths ve_vnet_paths(const struct ve_paths *p)
{
	return (struct vnet_paths){ .data = p->data, .run = p->run, .rootless = p->rootless };
}

/* The id mapping a rootless VE gets: root -> the user, 1.. -> subuids. */
struct ve_idmap {
	struct rt_idmap uid[2], gid[2];
	size_t n;
	const char *single_reason; /* set when only one id could be mapped */
};

int ve_idmap_compute(const struct ve_paths *p, struct ve_idmap *m);
int ve_subid_lookup(const char *file, uid_t uid, const char *name, uint32_t *start,
		    uint32_t *count);
void ve_idmap_notice(const struct ve_paths *p, const struct ve_idmap *m);

/* Run fn(arg) as root of a user namespace with the VE mapping (rootless)
 * or directly (root). */
int ve_as_mapped_root(const struct ve_paths *p, int (*fn)(void *), void *arg, vert_error_t *err);
/* Run a host tool (tar, cp) the same way; err carries its stderr. */
int ve_run_tool(const struct ve_paths *p, char *const *argv, vert_error_t *err);
/* ve_run_tool, the tool and all it starts (a shell's pipeline, its ssh)
 * in a process group of their own that is killed whole when vert dies */
int ve_run_tool_group(const struct ve_paths *p, char *const *argv, vert_error_t *err);
/* rm -rf, as mapped root when needed. */
int ve_remove_tree(const struct ve_paths *p, const char *path, vert_error_t *err);
/* Before a VE's volatile overlay (ve_overlay_volatile, src/fs/rootfs.c)
 * mounts its dirs again: the kernel refuses a work dir a volatile mount
 * has marked (WORK/work/incompat/volatile: after a crash of the host the
 * upper may miss writes) until the mark is gone.  Removes WORK/work, the
 * overlay's scratch dir, emptied at every mount anyway.  For a VE that
 * mounts them again with no crash in between (a reboot from inside, a
 * restore; reconcile removes an --rm VE whose vert died). */
int ve_overlay_work_reset(const struct ve_paths *p, const char *work, vert_error_t *err);

/* idrange.c: host uid/gid ranges of VEs' own user namespaces */
/* Pick and claim a free range for VE name (host-wide, persistent). */
int ve_idrange_alloc(const struct ve_paths *p, const char *name, uint32_t *ret_base,
		     vert_error_t *err);
/* Make sure the VE's range is claimed by it (again, after a crash or by
 * a config copied from elsewhere); refuses one held by another VE. */
int ve_idrange_claim(const struct ve_paths *p, const char *name, uint32_t base, vert_error_t *err);
void ve_idrange_release(const struct ve_paths *p, const char *name, uint32_t base);
/* The range name's last create claimed in this state root (its index
 * entry), given back: for a VE whose config was never written. */
void ve_idrange_release_claimed(const struct ve_paths *p, const char *name);
void ve_idrange_sweep(const struct ve_paths *p, bool (*listed)(const void *set, const char *name),
		      const void *set);

/* identity.c: the generated /etc files into the VE's upper layer; the
 * mounts still needed go to keep (as many as returned, at most n) */
size_t ve_etc_files_install(const char *upper, const char *lower, const struct vnet_mount *m,
			    size_t n, struct vnet_mount *keep);

int ve_hostname_file_install(const char *upper, const char *lower, const char *hostname);

/* userns.c */
/* Claim (or, for an old config, allocate) the VE's range before a start. */
int ve_userns_prepare(struct ve_handle *h, vert_error_t *err);
/* What a VE of its own user namespace needs of the host (a searchable
 * "/"), for a start whose range was just claimed by its create. */
int ve_userns_host_check(const struct ve_handle *h, vert_error_t *err);
/* Copy the upper layer's overlay xattrs from trusted.overlay.* (host
 * root's overlay) to user.overlay.* (the VE's own, userxattr), or back. */
int ve_userns_convert_upper(const struct ve_handle *h, bool to_user, vert_error_t *err);
/* Release the range of the VE whose data dir is dir. */
void ve_userns_release_dir(const struct ve_paths *p, const char *name, const char *dir);

/* paths.c: the one place state paths are spelled */
/* BASE/ves/NAME, or BASE/ves/NAME/FILE (BASE: p->data or p->run) */
char *ve_path(const char *base, const char *name, const char *file);
/* data/templates/NAME, or data/templates/NAME/FILE */
char *ve_template_path(const struct ve_paths *p, const char *name, const char *file);
/* run/locks/KIND.NAME.lock */
char *ve_lock_path(const struct ve_paths *p, const char *kind, const char *name);

/* handle.c */
/* A template's handle: its lock (kind "template") and its directory. */
int ve_template_open(const struct ve_paths *p, const char *name, unsigned flags,
		     struct ve_handle **ret, vert_error_t *err);
/* flock() the handle's lock file (nothing when held already).  Not
 * waiting, a held lock is a VERT_ERR_BUSY error. */
int ve_handle_lock(struct ve_handle *h, bool wait, vert_error_t *err);
enum ve_unlock {
	VE_UNLOCK_AUTO,	  /* its file goes when nothing it guards exists */
	VE_UNLOCK_REMOVE, /* what it guards is gone: its file goes */
	VE_UNLOCK_KEEP,	  /* only the fd: a child's copy, a VE that runs on */
};
void ve_handle_unlock(struct ve_handle *h, enum ve_unlock how);

/* state.c */
int ve_state_write(const struct ve_handle *h, const struct ve_state *s, vert_error_t *err);
/* RUN/ves/NAME/started: the start recorded as "starting" completed */
#define VE_STARTED_MARK "started"
/* in the run dir while a restore makes the VE (restore.c, list.c) */
#define VE_RESTORING_MARK "restoring"
int ve_state_mark_started(const struct ve_handle *h, vert_error_t *err);
/* An empty file MARK in the VE's run dir ("mark VE 'NAME' as WHAT"). */
int ve_run_mark(const struct ve_handle *h, const char *mark, const char *what, vert_error_t *err);
bool ve_state_running(const struct ve_state *s);
void ve_last_write(const struct ve_handle *h, int code, int sig, const char *reason);
void ve_instance_cleanup(const struct ve_handle *h, const char *cgroup);
/* in a VE's run dir while a restore has its stage (restore.c) */
#define VE_RESTORE_STAGE "restore-stage"
#define VE_RESTORE_STAGE_PREFIX "/tmp/.vert-restore-"
/* in a VE's run dir while a checkpoint makes its image: the temporary
 * directory beside it, DIR/.NAME.tmp-XXXXXX (checkpoint.c) */
#define VE_CHECKPOINT_TMP "checkpoint-tmp"
#define VE_CHECKPOINT_TMP_MID ".tmp-"
void ve_checkpoint_tmp_sweep(const struct ve_handle *h);
/* leave_link: an --rm VE's veth goes with its netns, asynchronously */
/* The VE's /proc and /sys views (src/ve/views.c): this state root's lxcfs
 * mount point, started on first use, with name recorded as a user; NULL,
 * with a notice once, when there are none (no_cgroup_why: the reason the
 * VE has no cgroup v2 to derive them from, or NULL). */
char *ve_views_acquire(const struct ve_paths *p, const char *name, const char *no_cgroup_why);
/* name no longer uses them; the last user stops lxcfs. */
void ve_views_release(const struct ve_paths *p, const char *name);
void ve_instance_cleanup_ex(const struct ve_handle *h, const char *cgroup, bool leave_link);
/* Under the VE's lock: clean up after a dead instance; true when the VE
 * really is running. */
bool ve_reconcile_locked(const struct ve_handle *h);
/* 0 when the VE has no state or one that reads; else the error naming the
 * file and the key (whether it runs is then unknown) */
int ve_state_check(const struct ve_paths *p, const char *name, vert_error_t *err);
/* Reconcile one VE; true (and *ret filled) when it runs. */
bool ve_reconcile_state(struct ve_handle *h, struct ve_state *ret);
/* Only the runtime leftovers of VEs whose directory is gone: the caller
 * reconciles the VEs it walks. */
void ve_reconcile_runtime(const struct ve_paths *p);

/* lifecycle.c */
/* Read the config at path, of the VE name. */
int ve_config_load(const char *path, const char *name, struct ve_config *c, vert_error_t *err);
int ve_config_save(const struct ve_handle *h, const struct ve_config *c, bool sync,
		   vert_error_t *err);
int ve_remove_data(const struct ve_handle *h, vert_error_t *err);
int ve_remove_data_now(const struct ve_handle *h, vert_error_t *err);
/* Open a new VE (c->name) locked, once its config is valid. */
int ve_open_new(const struct ve_paths *p, const struct ve_config *c, struct ve_handle **ret,
		vert_error_t *err);
int ve_create_locked(struct ve_handle *h, struct ve_config *c, bool sync, vert_error_t *err);
/* pidfd of pid if it is alive with that start time, else -EBADF */
int ve_pidfd_open_alive(pid_t pid, uint64_t start_time);
int ve_open_init(const struct ve_handle *h, struct ve_state *s, int *ret_pidfd, vert_error_t *err);

/* Does the template boot systemd (its init, resolved inside it)? */
bool ve_template_boots_systemd(const struct ve_paths *p, const struct ve_config *c);
/* vnet_precheck of c's network for the VE (ports: their claims and host
 * sockets too). */
int ve_net_precheck(const struct ve_handle *h, const struct ve_config *c, bool ports,
		    vert_error_t *err);
/* What would make a start of the VE's saved config fail, found before
 * restart stops it. */
int ve_start_precheck(struct ve_handle *h, vert_error_t *err);

/* identity.c */
/* At create: its machine-id (kept in c, written into the upper layer) and
 * whether its template's ssh host keys are replaced at the first start. */
int ve_identity_create(const struct ve_handle *h, struct ve_config *c, const char *lower,
		       vert_error_t *err);
/* /etc/hostname and /etc/hosts of the running init (pidfd, pid) say new
 * where they said old. */
int ve_hostname_files_live(int pidfd, pid_t pid, const char *old, const char *new,
			   vert_error_t *err);

/* disk.c */
/* Put the VE's upper and work dirs under c->disk's quota (when it has
 * one), choosing its backend; the VE is stopped. */
int ve_disk_create(const struct ve_handle *h, struct ve_config *c, vert_error_t *err);
/* Before the VE's child starts: mount its disk image on the host side and
 * point *upper and *work into it (nothing without an image). */
int ve_disk_attach(const struct ve_handle *h, const struct ve_config *c, char **upper, char **work,
		   vert_error_t *err);
/* Unmount what ve_disk_attach mounted (its loop device goes with it). */
void ve_disk_detach(const struct ve_handle *h);
/* c: the merged config, old: the disk before the patch.  1: a running
 * VE's growth is left to its next start (no online resize here). */
int ve_disk_set(const struct ve_handle *h, struct ve_config *c, const struct ve_disk *old,
		bool running, vert_error_t *err);
void ve_disk_release(const struct ve_handle *h, const struct ve_config *c);

/* stop.c */
int ve_stop_locked(struct ve_handle *h, int timeout, vert_error_t *err);

/* start.c */
struct ve_boot {
	const struct ve_handle *h;
	const struct ve_config *cfg;
	bool detached;		/* console on a pty read into the log */
	struct rt_container ct; /* out: the init */
	char *cgroup;		/* out: its cgroup path, or NULL */
	int cgroup_fd;		/* out: -EBADF without */
	bool device_filter;	/* out: a BPF device filter guards the cgroup */
	struct vnet_state *net; /* during the boot: the network being set up */
};
int ve_boot(struct ve_boot *b, vert_error_t *err);
void ve_boot_done(struct ve_boot *b);
/* What happened to an instance whose init exited; returns true when the
 * VE must boot again (reboot from inside, no stop asked). */
bool ve_after_exit(struct ve_handle *h, int code, int sig);
/* Whether a VE's seccomp filter sends sysinfo(2) to a listener vert
 * serves (src/monitor/monitor.h): with its views and cgroup only. */
bool ve_sysinfo_wanted(const struct ve_paths *p, const struct ve_config *c, bool views,
		       const char *cgroup);
/* Serve ct's listener (when it has one) from a process of its own until
 * no process uses the filter; cgroup: the VE's, for its figures. */
void ve_sysinfo_serve(const struct rt_container *ct, const char *cgroup);
/* Fork the VE's supervisor, which runs boot(data, b) with b's h and cfg
 * set and, once it has reported, supervises b's init; the caller waits
 * for the report.  ve_boot_lock_fd: the caller's lock, which the child
 * holds until it is about to report; a helper it forks that lives on without
 * exec closes it. */
int ve_boot_detached(struct ve_handle *h, const struct ve_config *c,
		     int (*boot)(void *data, struct ve_boot *b, vert_error_t *err), void *data,
		     vert_error_t *err);
extern int ve_boot_lock_fd;

/* checkpoint.c, shared with restore.c */
/* libcriu's options for a dump or a restore of a VE, those both share:
 * CRIU's images in imgfd, its work files and log in workfd, established
 * TCP connections with the network locked by nftables, file locks, the
 * console's pty master outside; cgroups managed in cg_mode (enum
 * criu_cg_mode).  0, or an error. */
int ve_criu_opts(int imgfd, int workfd, const char *log, int cg_mode, vert_error_t *err);
#define VE_IMAGE_FORMAT 1
/* What a template holds, file by file: {"/path": "kind:mode:uid:gid:hash"}. */
int ve_template_manifest(const char *rootfs, struct json_object **ret, vert_error_t *err);
/* The first difference of two manifests ("'/bin/sh' differs", "'/x' is
 * missing"), NULL when they match. */
char *ve_manifest_diff(struct json_object *want, struct json_object *have);
/* A pre-dump of the running VE into TMP/SUB (memory, tracked from now),
 * incremental to parent (relative to TMP/SUB) when set; one that fails
 * with the VE resumed is taken again while *retries (NULL: none) lasts,
 * with a warning that names it what ("pre-dump 2"). */
int ve_criu_pre_dump(struct ve_handle *h, const struct ve_state *s, const char *tmp,
		     const char *sub, const char *parent, const char *what, int *retries,
		     uint64_t *ret_bytes, vert_error_t *err);
/* The filters in the CRIU image at imgfd that are one of progs (vert's
 * own, as it loads them) with their notify returns made allows: CRIU
 * restores a filter without its listener, and the kernel fails a notify
 * with nobody listening with ENOSYS.  *ret_changed: returns changed;
 * *ret_unmatched: filters with notify returns that are none of progs. */
struct sock_fprog;
int ve_criu_seccomp_unlisten(int imgfd, struct sock_fprog *const *progs, size_t n_progs,
			     unsigned *ret_changed, unsigned *ret_unmatched, vert_error_t *err);
/* Bytes of memory pages in a dump's images (DIR/pages-N.img). */
uint64_t ve_criu_pages_bytes(const char *dir);
/* After a checkpoint with no_stop_wait: wait, under the VE's lock (held
 * since), for the supervisor of the VE CRIU stopped to finish its
 * cleanup, as the checkpoint would have (a problem is logged), and let
 * the lock go; before anything restores or removes the VE here. */
int ve_checkpoint_settle(struct ve_handle *h);
/* CRIU's own reason for a failure, one line, from its log in dirfd. */
char *ve_criu_reason(int dirfd, const char *log);
/* A VE of its own user namespace: CRIU runs in its network namespace
 * (checkpoint.c); ve_criu_enter_netns enters pid's (or netfd's). */
bool ve_criu_own_netns(const struct ve_handle *h);
/* Migrations whose vert died, finished (migrate.c). */
void ve_migrate_sweep(const struct ve_paths *p);
int ve_criu_enter_netns(pid_t pid, int netfd, int *ret_self, vert_error_t *err);

#endif
