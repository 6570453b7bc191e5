/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VE manager: state locations, names, templates, VE configs, and the
 * compilation of a VE into a runtime spec.
 */
#ifndef VERT_VE_H
#define VERT_VE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vert/cgroup.h"
#include "vert/error.h"
#include "vert/spec.h"
#include "vert/vnet.h"

struct json_object;

/* ---- where state lives ---- */

struct ve_paths {
	char *data;	/* persistent: templates/, ves/ */
	char *run;	/* runtime: ves/, locks/ (tmpfs: gone at reboot) */
	bool rootless;	/* not real root: user namespaces, XDG dirs */
	char *root_arg; /* the --root / $VERT_ROOT in effect, or NULL */
	uid_t host_uid; /* the invoking user's uid on the host */
	gid_t host_gid;
};

/* root_override: --root DIR or $VERT_ROOT (NULL: defaults). */
int ve_paths_init(struct ve_paths *p, const char *root_override, vert_error_t *err);
void ve_paths_done(struct ve_paths *p);
/* The name of a VE's cgroup under vert's cgroup subtree: the VE name for
 * the default state dirs; with --root, the name plus a hash of the state
 * root ("web1@1a2b3c4d"), so VEs of the same name in different roots
 * (tests run side by side) never share, or remove, each other's cgroup.
 * Names with a '.' always get the suffix: "io.stat" is a cgroupfs file. */
char *ve_cgroup_name(const struct ve_paths *p, const char *name);
/* Print a notice once per runtime dir (marker file `key`). */
void ve_notice_once(const struct ve_paths *p, const char *key, const char *msg);

/* ---- names ---- */

#define VE_NAME_MAX 64
/* Letters, digits, '-', '_', '.'; not starting with '.' or '-'; at most
 * VE_NAME_MAX; numeric names like "101" are fine (vzctl CTIDs). */
bool ve_name_valid(const char *name);
int ve_name_check(const char *what, const char *name, vert_error_t *err);

/* ---- templates ---- */

struct ve_template_info {
	char *name;
	char *source;	 /* "busybox", "import:PATH" */
	int64_t created; /* unix time */
	uint64_t size;	 /* bytes on disk (apparent) */
};

int ve_template_rootfs(const struct ve_paths *p, const char *name, char **ret, vert_error_t *err);
int ve_template_create_busybox(const struct ve_paths *p, const char *name, const char *busybox_path,
			       vert_error_t *err);
int ve_template_import(const struct ve_paths *p, const char *name, const char *src,
		       vert_error_t *err);
int ve_template_list(const struct ve_paths *p, struct ve_template_info **ret, size_t *n_ret,
		     vert_error_t *err);
void ve_template_info_free(struct ve_template_info *t, size_t n);
/* A template.json document (found at where) into t's source, created, size. */
int ve_template_meta_parse(struct json_object *o, const char *where, struct ve_template_info *t,
			   vert_error_t *err);
int ve_template_remove(const struct ve_paths *p, const char *name, vert_error_t *err);

/* ---- VE configuration ---- */

#define VE_CONFIG_SCHEMA 1

struct ve_volume {
	char *source;
	char *dest;
	bool readonly;
	bool idmap; /* :idmap, the VE's ids are the volume's (trusted data) */
};

/* The VE's disk quota (--disk, --disk-inodes): see src/ve/disk.c. */
struct ve_disk {
	int64_t size;	    /* bytes; 0: no quota (the upper dir lives in the data dir) */
	int64_t inodes;	    /* 0: the filesystem's default for the size */
	char *backend;	    /* "image" or "project", chosen when the quota is made */
	int64_t project_id; /* the project quota's id ("project" only) */
};

struct ve_config {
	char *name;
	char *template_name;
	char *hostname;
	char **env; /* KEY=VALUE */
	char **cmd; /* the command / init; NULL: template default */
	struct ve_volume *volumes;
	size_t n_volumes;
	char *user; /* "uid[:gid]" or "name[:group]" or NULL */
	char *workdir;
	bool terminal;
	char *net;		    /* network mode (NULL: the default, see vnet.h) */
	char *ip;		    /* --ip: an IPv4 address or "auto" (NULL: auto) */
	char **publish;		    /* -p [HOSTIP:]HOSTPORT:VEPORT[/tcp|udp] */
	char **publish_rm;	    /* set --publish-rm: ports to remove (not saved) */
	char **dns;		    /* --dns servers (NULL: the host's) */
	bool new_privileges;	    /* false: no_new_privs set */
	bool no_new_privileges_set; /* --no-new-privileges given (not saved) */
	char **cap_add, **cap_drop;
	bool read_only;
	bool nesting;	  /* user namespaces and the new mount API allowed */
	bool autoremove;  /* --rm: destroyed as soon as it stops */
	bool onboot;	  /* started by `vert start --onboot` */
	int stop_signal;  /* 0: SIGRTMIN+3 for systemd, SIGTERM otherwise */
	int stop_timeout; /* seconds before everything is killed; -1: default */
	bool persistent;  /* made by `vert create`: the system-VE profile */
	char *machine_id; /* 32 hex digits, its own /etc/machine-id */
	bool ssh_keygen;  /* the template's ssh host keys are replaced at its
			   * first start (then false) */
	/* root mode: "private" (its own user namespace, the default) or
	 * "host" (unsafe: the VE's root is the host's); NULL in a config
	 * made before vert had user namespaces (private from its next
	 * start on). Rootless VEs always have their own. */
	char *userns;
	uint32_t idmap_base; /* first host uid/gid of its range; 0: none */
	bool privileged;     /* --privileged: host root, every capability */
	struct rt_resources resources;
	struct ve_disk disk;
};

#define VE_DEFAULT_STOP_TIMEOUT 10
/* ids in a VE's own user namespace (root mode) */
#define VE_IDMAP_SIZE 65536U

void ve_config_init(struct ve_config *c);
bool ve_userns_mode_valid(const char *m);
bool ve_config_userns_private(const struct ve_paths *p, const struct ve_config *c);
/* Whether this process may start VE c's processes as it runs, or (with
 * may_reexec) re-executes from vert's sealed copy first; c NULL: a config
 * not read yet (config.c). */
int ve_exe_guard(const struct ve_paths *p, const struct ve_config *c, bool may_reexec,
		 vert_error_t *err);
void ve_config_done(struct ve_config *c);
static inline void ve_config_donep(struct ve_config *c)
{
	ve_config_done(c);
}
#define _cleanup_ve_config_ _cleanup_(ve_config_donep)

/* The persistent document (strict: unknown keys are errors). */
struct json_object *ve_config_to_json(const struct ve_config *c);
int ve_config_from_json(struct json_object *o, struct ve_config *c, vert_error_t *err);
/* The same, with errors naming where (the file) and the key. */
int ve_config_parse(struct json_object *o, const char *where, struct ve_config *c,
		    vert_error_t *err);

/* Parsers for CLI flags, exposed for unit tests. */
int ve_parse_volume(const char *spec, struct ve_volume *ret, vert_error_t *err);
int ve_parse_env(const char *kv, vert_error_t *err);
int ve_parse_user(const char *spec, vert_error_t *err);
bool ve_hostname_valid(const char *h);
/* ve_hostname_valid, as an error naming what is allowed. */
int ve_hostname_check(const char *h, vert_error_t *err);
/* A resource flag by its long name ("memory", "cpus", ...). */
int ve_parse_resource(const char *flag, const char *arg, struct rt_resources *r, vert_error_t *err);

/* --publish-rm [HOSTIP:]HOSTPORT[:VEPORT][/tcp|udp]: what it matches (an
 * absent part matches anything). */
struct ve_publish_rm {
	int proto; /* 0: tcp and udp */
	bool match_ip;
	uint32_t host_ip;
	uint16_t host_port;
	uint16_t ve_port; /* 0: any */
};
int ve_parse_publish_rm(const char *spec, struct ve_publish_rm *ret, vert_error_t *err);
/* Drop the entries of *publish that m matches; none is an error. */
int ve_publish_remove(char ***publish, const struct ve_publish_rm *m, const char *spec,
		      vert_error_t *err);
/* Add spec to *publish, replacing the entries of the same host port. */
void ve_publish_add(char ***publish, const char *spec);

/* 32 lowercase hex digits, not all zero (machine-id(5)). */
bool ve_machine_id_valid(const char *s);
/* A new random one (a v4 UUID, as systemd makes them). */
char *ve_machine_id_new(void);
/* hosts(5) text with the name old (and its first label) renamed to new;
 * a "127.0.1.1 new" line is added when old was not in it. */
char *ve_hosts_rename(const char *hosts, const char *old, const char *new);

/* Validate a whole config (paths, template existence; the VE name is
 * ve_open's to check). */
int ve_config_validate(const struct ve_paths *p, const struct ve_config *c, vert_error_t *err);

/* ---- a VE, opened ---- */

/* One VE (or template) as every verb sees it: its name, checked once,
 * every path of it, spelled once, its lock and its config.  Opened by
 * ve_open, released by ve_close (or _cleanup_ve_handle_), which also
 * releases the lock: its file goes when nothing it guards exists. */
struct ve_handle {
	const struct ve_paths *p;
	char *name;
	char *data_dir;	       /* data/ves/NAME (a template: data/templates/NAME) */
	char *run_dir;	       /* run/ves/NAME (a template: NULL) */
	char *config_path;     /* data/ves/NAME/config.json */
	char *state_path;      /* run/ves/NAME/state.json */
	char *cgroup_name;     /* see ve_cgroup_name */
	char *lock_path;       /* run/locks/KIND.NAME.lock */
	const char *lock_kind; /* "ve" or "template" */
	int lock_fd;	       /* flock()ed; -EBADF: not held */
	struct ve_config cfg;  /* valid when have_cfg */
	bool have_cfg;
	/* its init's last exit came while a `vert stop` had marked it
	 * stopping (the supervisor's after_exit): that stop holds the lock
	 * until the supervisor is gone */
	bool exit_in_stop;
};

enum {
	VE_OPEN_LOCK = 1 << 0,	    /* take its lock; a held one is VERT_ERR_BUSY */
	VE_OPEN_LOCK_WAIT = 1 << 1, /* take its lock, waiting for it */
	VE_OPEN_CONFIG = 1 << 2,    /* load its config: VERT_ERR_NOTFOUND when none */
};

/* Check the name (VERT_ERR_INVALID), then lock and load as flags say. */
int ve_open(const struct ve_paths *p, const char *name, unsigned flags, struct ve_handle **ret,
	    vert_error_t *err);
void ve_close(struct ve_handle *h);
static inline void ve_closep(struct ve_handle **h)
{
	ve_close(*h);
}
#define _cleanup_ve_handle_ _cleanup_(ve_closep)
/* Load h->cfg unless loaded (reload: read it again from disk). */
int ve_handle_config(struct ve_handle *h, vert_error_t *err);
int ve_handle_reload(struct ve_handle *h, vert_error_t *err);

/* ---- compile a VE into a runtime spec ---- */

struct ve_compile_in {
	const struct ve_paths *paths;
	const struct ve_config *cfg;
	const char *lower; /* template rootfs */
	const char *upper;
	const char *work;
	const char *mountpoint;
	/* from the network layer: /etc files to bind, netns choice */
	const struct vnet_mount *net_mounts;
	size_t n_net_mounts;
	bool host_netns; /* --net host: no network namespace */
	bool cgroup;	 /* the VE has a cgroup: mount its namespace's view */
	/* root VE without a device filter: seccomp refuses device nodes */
	bool no_device_filter;
	/* its first start: the init goes behind the ssh-keygen wrapper */
	bool ssh_keygen;
	/* lxcfs's mount point: bind its files over the VE's (NULL: none) */
	const char *views;
	/* the VE's cgroup and its limit files, bound read-only over the
	 * VE's /sys/fs/cgroup (cg_limit_files) */
	const char *cgroup_path;
	char *const *cgroup_guard;
	/* sysinfo(2) goes to a listener that answers with the VE's figures
	 * (src/monitor/monitor.h) */
	bool sysinfo;
};
/* Whether c's overlay is mounted volatile (src/fs/rootfs.c): an --rm VE
 * without a disk of its own.  Its upper dir goes with it, and its end
 * syncs nothing of the host's filesystem under the data dir; with a disk
 * the filesystem is the VE's alone, and the fsyncs in it are kept. */
static inline bool ve_overlay_volatile(const struct ve_config *c)
{
	return c->autoremove && c->disk.size <= 0;
}
/* Returns a new json object (OCI config.json shape). */
int ve_compile_spec(const struct ve_compile_in *in, struct json_object **ret, vert_error_t *err);

/* The capability set a VE's processes get (bit n: capability n). */
uint64_t ve_config_caps(const struct ve_config *c);

/* The files a VE gets from lxcfs (ve_compile_in.views), NULL-terminated. */
extern const char *const ve_view_files[];

/* Default capabilities and seccomp deny list (for docs and tests). */
extern const char *const ve_default_caps[];
extern const char *const ve_persistent_caps[]; /* added for `vert create` VEs */
extern const char *const ve_default_seccomp_deny[];
/* Refused unless the VE has --nesting. */
extern const char *const ve_nesting_seccomp_deny[];

/* ---- runtime state ---- */

struct ve_state {
	pid_t pid; /* the VE's init, host pid namespace */
	uint64_t start_time;
	pid_t supervisor_pid; /* the vert process that waits for it */
	uint64_t supervisor_start_time;
	int64_t started_at; /* unix time */
	bool autoremove;
	char *cgroup;
	bool device_filter; /* a BPF device filter guards the cgroup */
	char *status;
};

/* -ENOENT (err left alone) when there is none; a state that cannot be
 * read or is wrong is an error naming the file and the key. */
int ve_state_read(const struct ve_paths *p, const char *name, struct ve_state *s,
		  vert_error_t *err);
/* The document of a state.json found at where; name: the VE it must name. */
int ve_state_parse(struct json_object *o, const char *where, const char *name, struct ve_state *s,
		   vert_error_t *err);
void ve_state_done(struct ve_state *s);
/* Clean up what a killed vert left behind for one VE / for all VEs. */
void ve_reconcile(const struct ve_paths *p, const char *name);
void ve_reconcile_all(const struct ve_paths *p);

/* ---- the lifecycle ---- */

/* Fields of a config, for `vert set` (which ones a patch changes). */
enum {
	VE_F_HOSTNAME = 1 << 0,
	VE_F_ENV = 1 << 1,
	VE_F_VOLUMES = 1 << 2,
	VE_F_CMD = 1 << 3,
	VE_F_USER = 1 << 4,
	VE_F_WORKDIR = 1 << 5,
	VE_F_RESOURCES = 1 << 6,
	VE_F_ONBOOT = 1 << 7,
	VE_F_STOP_SIGNAL = 1 << 8,
	VE_F_STOP_TIMEOUT = 1 << 9,
	VE_F_CAPS = 1 << 10,
	VE_F_NET = 1 << 11,
	VE_F_READONLY = 1 << 12,
	VE_F_NEWPRIVS = 1 << 13,
	VE_F_USERNS = 1 << 14, /* userns, privileged: only while stopped */
	VE_F_DISK = 1 << 15,
	VE_F_NESTING = 1 << 16,
};
/* changes a running VE only picks up when it starts again */
#define VE_SET_NEXT_START                                                                          \
	(VE_F_ENV | VE_F_VOLUMES | VE_F_CMD | VE_F_USER | VE_F_WORKDIR | VE_F_CAPS | VE_F_NET |    \
	 VE_F_READONLY | VE_F_NEWPRIVS | VE_F_USERNS | VE_F_NESTING)

/* Apply the `fields` of patch onto c (env and volumes are merged by key). */
void ve_config_merge(struct ve_config *c, const struct ve_config *patch, unsigned fields);

int ve_create(const struct ve_paths *p, struct ve_config *c, vert_error_t *err);
int ve_destroy(struct ve_handle *h, bool force, vert_error_t *err);
int ve_kill(struct ve_handle *h, int sig, vert_error_t *err);
/* Persist the patch; apply resources and hostname live when running.
 * *notes (may be NULL) receives a message for the user, or stays NULL. */
int ve_set(struct ve_handle *h, const struct ve_config *patch, unsigned fields, char **notes,
	   vert_error_t *err);

struct ve_start_opts {
	bool attach; /* stay in the foreground, stdio attached, until it stops */
};
/* Detached: returns once the init runs.  Attached: *ret_status is its
 * exit status (shell style) when it stops. */
int ve_start(struct ve_handle *h, const struct ve_start_opts *o, int *ret_status,
	     vert_error_t *err);
/* Stop: the stop signal, then after timeout (seconds; <0: the VE's
 * setting) everything in the VE is killed.  Returns when it is down and
 * its resources are released. */
int ve_stop(struct ve_handle *h, int timeout, vert_error_t *err);

/* Checkpoint and restore through CRIU (src/ve/checkpoint.c, restore.c).
 * An image is a directory: image.json (the VE's name, template and its
 * content manifest, network identity), config.json, upper/ and criu/. */
struct ve_state;
struct ve_checkpoint_opts {
	bool leave_running;
	const char *output; /* NULL: DATA/ves/NAME/checkpoint */
	/* migrate: the image leaves out the upper dir, which the caller sends
	 * itself; the VE's own, unchanged once CRIU stopped it, serves a
	 * restore of the image here (restore.c) */
	bool no_upper;
	/* migrate: runs while the VE still runs, just before the final dump,
	 * with the image's temporary dir; may name (*ret_parent, relative to
	 * TMP/criu) the pre-dump the final dump is incremental to */
	int (*before_dump)(void *data, struct ve_handle *h, const struct ve_state *s,
			   const char *tmp, char **ret_parent, vert_error_t *err);
	void *data;
	/* migrate: once CRIU stopped the VE, return without waiting for its
	 * supervisor's cleanup here, with the VE's lock still held; the
	 * caller waits for the cleanup later and lets the lock go
	 * (ve_checkpoint_settle) */
	bool no_stop_wait;
	/* migrate: once the image is whole at its place, while CRIU still
	 * holds the VE frozen, just before CRIU is told to go on and stop it
	 * (what it starts runs on meanwhile; a dump that fails after all is
	 * the caller's to tell it) */
	void (*after_commit)(void *data, struct ve_handle *h, const char *image);
	/* migrate: a final dump that failed before its image was made, the
	 * VE resumed by CRIU, is taken once more (a dump that caught a vfork
	 * child before its exec times out: CRIU can't seize its parent) */
	bool retry_dump;
};
int ve_checkpoint(struct ve_handle *h, const struct ve_checkpoint_opts *o, char **ret_image,
		  vert_error_t *err);
struct ve_restore_opts {
	const char *input; /* NULL: the VE's own DATA/ves/NAME/checkpoint */
};
int ve_restore(const struct ve_paths *p, const char *name, const struct ve_restore_opts *o,
	       vert_error_t *err);
/* Live migration over ssh (src/ve/migrate.c). */
struct ve_migrate_opts {
	const char *host; /* [USER@]HOST */
	bool keep_source; /* keep the (stopped) VE here */
};
struct ve_migrate_result {
	uint64_t freeze_ns, total_ns, bytes;
	/* the freeze's parts: the final dump (to the VE stopped here), its
	 * send, the target's restore */
	uint64_t dump_ns, send_ns, restore_ns;
	/* pages of the last pre-dump and of the final dump */
	uint64_t last_pre_dump_bytes, final_dump_bytes;
	int pre_dumps;
};
int ve_migrate(struct ve_handle *h, const struct ve_migrate_opts *o, struct ve_migrate_result *res,
	       vert_error_t *err);
/* The target's side (`vert migrate --incoming`): a new 0700 staging dir
 * (with an "img" dir) in this state root, for a source to send a VE to. */
int ve_migrate_incoming(const struct ve_paths *p, char **ret_dir, vert_error_t *err);
/* The target's side of a migration its source gave up (`vert migrate
 * --abandon DIR`): waits for a restore from image DIR under way, then
 * marks DIR so that a restore from it not begun yet is refused.  A DIR
 * that is gone is no error (nothing can restore from it). */
int ve_migrate_abandon(const char *dir, vert_error_t *err);
/* A restore's hold on its --input image DIR: its lock, which
 * ve_migrate_abandon waits for, taken, and DIR not abandoned.  The fd (to
 * close when the restore is over) in *ret_fd. */
int ve_image_hold(const char *dir, int *ret_fd, vert_error_t *err);
/* Whether this build has CRIU (libcriu). */
bool ve_criu_built(void);
int ve_restart(struct ve_handle *h, int timeout, vert_error_t *err);

/* Run in the supervisor after its VE's init exited (`vert __after-exit`):
 * clean up, and boot again after a reboot from inside. Never returns on
 * a reboot (becomes the monitor again). */
int ve_supervisor_after_exit(struct ve_handle *h, int code, int sig, vert_error_t *err);

struct ve_run_opts {
	bool rm;     /* remove the VE when the command exits */
	bool detach; /* create + start detached, return at once */
};

/* Create the VE named cfg->name (a generated name when NULL), run its
 * command in the foreground and wait.  *ret_status: the command's status. */
int ve_run(const struct ve_paths *p, struct ve_config *cfg, const struct ve_run_opts *o,
	   int *ret_status, vert_error_t *err);

/* ---- disk quota (src/ve/disk.c) ---- */

struct ve_disk_usage {
	int64_t used, limit; /* bytes, as df inside counts them */
	int64_t inodes_used, inodes_limit;
	int64_t block_size; /* of the filesystem, when known (else 0) */
};
/* --disk SIZE / --disk-inodes N into c->disk (fields |= VE_F_DISK). */
int ve_parse_disk(const char *flag, const char *arg, struct ve_disk *d, vert_error_t *err);
/* The usage of h's disk (running or not); -1 fields when it has none. */
void ve_disk_usage_get(const struct ve_handle *h, const struct ve_config *c, bool running,
		       struct ve_disk_usage *u);

/* ---- looking at VEs ---- */

struct ve_info {
	struct ve_config cfg;
	struct ve_state state;	    /* valid when running */
	bool running;		    /* the init is alive, its start done */
	char *status;		    /* running, starting, rebooting, stopped */
	struct cg_stats stats;	    /* -1 fields when unknown */
	uint64_t sampled_ns;	    /* when stats were read (CLOCK_MONOTONIC) */
	int last_code, last_signal; /* of the last stop, -1 unknown */
	char *last_reason;	    /* stop, exit, reboot, halt, lost */
	int64_t stopped_at;
	char ip[16];		   /* its leased IPv4 address, or "" */
	struct ve_disk_usage disk; /* -1 fields when unknown or no quota */
};

int ve_info_get(struct ve_handle *h, struct ve_info *i, vert_error_t *err);
void ve_info_done(struct ve_info *i);
/* A last.json document (found at where) into i's last_* fields. */
int ve_last_parse(struct json_object *o, const char *where, struct ve_info *i, vert_error_t *err);
/* Every VE, by name; without how each ended last (last_*: unknown), which
 * only ve_info_get reads. */
int ve_list(const struct ve_paths *p, struct ve_info **ret, size_t *n_ret, vert_error_t *err);
/* ve_list with only each VE's name (cfg.name), status and state filled
 * in: no config, statistics, disk usage or address read (`ps -q`). */
int ve_list_names(const struct ve_paths *p, struct ve_info **ret, size_t *n_ret, vert_error_t *err);
void ve_list_free(struct ve_info *v, size_t n);
int64_t ve_info_uptime(const struct ve_info *i);
double ve_info_cpu_percent(const struct ve_info *i);
/* The counters as JSON members of o (a new object when NULL): null where
 * unknown, and for *_max where unlimited. */
struct json_object *ve_stats_json(const struct cg_stats *st, struct json_object *o);
/* full: inspect's document (config, status, stats, paths); else ps's row */
struct json_object *ve_info_to_json(const struct ve_paths *p, const struct ve_info *i, bool full);

struct ve_proc {
	pid_t host_pid, ve_pid;
	uid_t uid;
	char state;
	long long rss_kb;
	char *comm, *cmdline;
};
int ve_top(struct ve_handle *h, struct ve_proc **ret, size_t *n_ret, vert_error_t *err);
void ve_procs_free(struct ve_proc *v, size_t n);

/* The console log (old: the rotated generation). */
char *ve_log_path(const struct ve_handle *h, bool old);

struct ve_exec_opts {
	char **args;	  /* NULL with login: the user's login shell */
	char **env;	  /* added to the VE's environment */
	const char *user; /* default: the VE's user setting, else root */
	const char *workdir;
	bool terminal;
	bool login;
};
int ve_exec(struct ve_handle *h, const struct ve_exec_opts *o, int *ret_status, vert_error_t *err);

#endif
