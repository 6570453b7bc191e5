/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VE networking, host side: prepare / attach / commit / teardown /
 * release (see include/vert/vnet.h for the contract).
 *
 * What teardown needs is persisted in RUN/net/NAME.json before the host
 * state it describes is made (written atomically), so a vert killed at
 * any point leaves enough for the next command to clean up.  It lives in
 * a directory of its own rather than in the VE's runtime dir, so removing
 * that dir can never lose it.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "net-internal.h"
#include "vert/fs.h"
#include "vert/json.h"
#include "vert/net.h"
#include "vert/util.h"
#include "vert/vnet.h"

static const char *const mode_names[] = {
	[VNET_NONE] = "none",	  [VNET_HOST] = "host",	  [VNET_BRIDGE] = "bridge",
	[VNET_ROUTED] = "routed", [VNET_PASTA] = "pasta", [VNET_SLIRP] = "slirp4netns",
	[VNET_AUTO] = "auto",
};

const char *vnet_mode_name(enum vnet_mode m)
{
	return (unsigned)m < ARRAY_SIZE(mode_names) ? mode_names[m] : "?";
}

bool vnet_mode_new_netns(enum vnet_mode m)
{
	return m != VNET_HOST;
}

static int mode_from_name(const char *s)
{
	if (!s || !*s)
		return VNET_AUTO;
	for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++)
		if (strcmp(s, mode_names[i]) == 0)
			return (int)i;
	if (strcmp(s, "slirp") == 0)
		return VNET_SLIRP;
	return -1;
}

int vnet_config_check(const struct vnet_config *c, vert_error_t *err)
{
	uint32_t a;
	int r;

	if (mode_from_name(c->mode) < 0)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid network mode '%s': use bridge, routed, none, host, "
				      "pasta or slirp4netns",
				      c->mode);
	if (c->ip && strcmp(c->ip, "auto") != 0 && vnet_parse_ipv4(c->ip, &a) < 0)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid address '%s': expected an IPv4 address A.B.C.D or "
				      "'auto'",
				      c->ip);
	for (size_t i = 0; c->publish && c->publish[i]; i++) {
		struct vnet_port p;
		if ((r = vnet_parse_publish(c->publish[i], &p, err)) < 0)
			return r;
	}
	for (size_t i = 0; c->dns && c->dns[i]; i++) {
		struct in6_addr a6;
		if (vnet_parse_ipv4(c->dns[i], &a) < 0 && inet_pton(AF_INET6, c->dns[i], &a6) != 1)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "invalid DNS server '%s': expected an IP address",
					      c->dns[i]);
	}
	return 0;
}

int vnet_resolve_mode(const struct vnet_paths *p, const char *mode, enum vnet_mode *ret,
		      const char **ret_why, vert_error_t *err)
{
	int m = mode_from_name(mode);
	const char *blocker;

	if (ret_why)
		*ret_why = NULL;
	if (m < 0) {
		struct vnet_config c = { .mode = mode };
		return vnet_config_check(&c, err);
	}
	if (m == VNET_AUTO) {
		if (!p->rootless) {
			*ret = VNET_BRIDGE;
			return 0;
		}
		blocker = vnet_rootless_blocker();
		if (!blocker && vnet_have_tool("pasta"))
			*ret = VNET_PASTA;
		else if (!blocker && vnet_have_tool("slirp4netns"))
			*ret = VNET_SLIRP;
		else {
			*ret = VNET_NONE;
			if (ret_why)
				*ret_why = blocker ? blocker
						   : "neither pasta (package 'passt') nor "
						     "slirp4netns is installed";
		}
		return 0;
	}
	if ((m == VNET_BRIDGE || m == VNET_ROUTED) && p->rootless)
		return vert_error_set(err, EPERM, VERT_ERR_INVALID,
				      "network mode '%s' needs root; rootless VEs use 'pasta' or "
				      "'slirp4netns'",
				      mode);
	if ((m == VNET_PASTA || m == VNET_SLIRP) && !p->rootless)
		/* pasta drops its privileges as root and then can't open the
		 * VE's netns; root has the real thing anyway */
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "network mode '%s' is for rootless VEs; as root use "
				      "'bridge' or 'routed'",
				      mode);
	if (m == VNET_PASTA || m == VNET_SLIRP) {
		const char *tool = m == VNET_PASTA ? "pasta" : "slirp4netns";
		if (!vnet_have_tool(tool))
			return vert_error_set(err, ENOENT, VERT_ERR_INVALID,
					      "network mode '%s': '%s' is not installed (package "
					      "'%s')",
					      mode, tool,
					      m == VNET_PASTA ? "passt" : "slirp4netns");
		if ((blocker = vnet_rootless_blocker()))
			return vert_error_set(err, EACCES, VERT_ERR_INVALID,
					      "network mode '%s': %s", mode, blocker);
	}
	*ret = (enum vnet_mode)m;
	return 0;
}

/* ---- persisted state ---- */

char *vnet_state_path(const char *run, const char *name)
{
	return xasprintf("%s/net/%s.json", run, name);
}

char *vnet_pasta_pidfile(const char *run, const char *name)
{
	return xasprintf("%s/net/%s/pasta.pid", run, name);
}

pid_t vnet_pidfile_read(const char *path)
{
	_cleanup_free_ char *buf = NULL;
	int pid = 0;

	if (read_file_at(AT_FDCWD, path, 64, &buf, NULL) < 0 ||
	    parse_int(strtok(buf, "\n") ? buf : "", &pid) < 0)
		return 0;
	return pid;
}

int vnet_state_save(const struct vnet_state *s, vert_error_t *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/net", s->run);
	_cleanup_free_ char *file = xasprintf("%s.json", s->name);
	_cleanup_close_ int dfd = -EBADF;
	struct json_object *o = json_object_new_object();
	const char *txt;
	int r;

	json_object_object_add(o, "mode", json_object_new_string(vnet_mode_name(s->mode)));
	json_object_object_add(o, "owner_pid", json_object_new_int(getpid()));
	json_object_object_add(o, "owner_start",
			       json_object_new_int64((int64_t)proc_start_time(getpid())));
	if (s->mode == VNET_BRIDGE || s->mode == VNET_ROUTED) {
		json_object_object_add(o, "table", json_object_new_string(s->nc.table));
		json_object_object_add(o, "host_if", json_object_new_string(s->host_if));
	}
	if (s->ip4)
		json_object_object_add(o, "ipv4", json_object_new_string(s->ip4s));
	if (s->helper_pid > 0) {
		json_object_object_add(o, "helper_pid", json_object_new_int(s->helper_pid));
		json_object_object_add(
			o, "helper_start",
			json_object_new_int64((int64_t)proc_start_time(s->helper_pid)));
	}
	if (s->n_ports) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < s->n_ports; i++) {
			char b[48];
			vnet_format_publish(&s->ports[i], b);
			json_object_array_add(a, json_object_new_string(b));
		}
		json_object_object_add(o, "ports", a);
	}
	txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	r = mkdir(dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
	if (r == 0) {
		dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		/* atomic but not fsync'd: the record describes kernel
		 * objects (links, rules, processes) that a reboot removes
		 * anyway, and it lives on the runtime tmpfs */
		r = dfd < 0 ? -errno
			    : write_file_atomic_nosync_at(dfd, file, txt, strlen(txt), 0600);
	}
	json_object_put(o);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "write '%s/%s'", dir, file);
	return 0;
}

/* a string that must fit a fixed buffer (f->data: its size) */
static int set_fixed(struct json_object *v, void *target, const struct vjson_field *f,
		     const struct vjson_loc *loc, vert_error_t *err)
{
	size_t size = (size_t)(uintptr_t)f->data;
	const char *s;
	int r;

	if ((r = vjson_get_string(v, loc, &s, err)) < 0)
		return r;
	if (strlen(s) >= size)
		return vjson_error(err, loc, "'%s' is longer than %zu bytes", s, size - 1);
	memcpy(target, s, strlen(s) + 1);
	return 0;
}

#define F(n, t, cb, m, fl) VJSON_FIELD(n, t, cb, struct vnet_saved, m, fl)
#define FIXED(n, m)                                                                                \
	{                                                                                          \
		.name = (n), .type = VJSON_STRING, .cb = set_fixed,                                \
		.offset = offsetof(struct vnet_saved, m),                                          \
		.data = (const void *)(uintptr_t)sizeof(((struct vnet_saved *)0)->m)               \
	}

static const struct vjson_field saved_table[] = {
	{ .name = "mode", .type = VJSON_STRING, .cb = vjson_ignore },
	F("owner_pid", VJSON_INT, vjson_pid, owner, VJSON_MANDATORY),
	F("owner_start", VJSON_INT, vjson_uint64, owner_start, VJSON_MANDATORY),
	FIXED("table", table),
	FIXED("host_if", host_if),
	{ .name = "ipv4", .type = VJSON_STRING, .cb = vjson_ignore },
	F("helper_pid", VJSON_INT, vjson_pid, helper, 0),
	F("helper_start", VJSON_INT, vjson_uint64, helper_start, 0),
	{ .name = "ports", .type = VJSON_ARRAY, .cb = vjson_ignore },
	{},
};

int vnet_saved_parse(struct json_object *o, const char *where, struct vnet_saved *sv,
		     vert_error_t *err)
{
	struct vnet_saved in = { 0 };
	int r;

	memset(sv, 0, sizeof(*sv));
	if ((r = vjson_dispatch(o, saved_table, 0, &in, where, err)) < 0)
		return r;
	*sv = in;
	return 0;
}

int vnet_state_load(const char *run, const char *name, struct vnet_saved *sv, vert_error_t *err)
{
	_cleanup_free_ char *path = vnet_state_path(run, name);
	_cleanup_json_ struct json_object *o = NULL;
	vert_error_t e = VERT_ERROR_INIT;
	int r;

	memset(sv, 0, sizeof(*sv));
	r = vjson_parse_file(AT_FDCWD, path, 1 << 16, &o, &e);
	if (r == 0)
		r = vnet_saved_parse(o, path, sv, &e);
	if (r < 0 && r != -ENOENT)
		vert_error_move(err, &e);
	vert_error_clear(&e);
	return r;
}

/* ---- teardown / release ---- */

/* A vert killed between starting pasta and recording its pid: pasta wrote
 * its pid file itself, and its command line names that file (unique to
 * this VE), which tells a reused pid from it. */
static void kill_unrecorded_pasta(const struct vnet_paths *p, const char *name)
{
	_cleanup_free_ char *pidfile = vnet_pasta_pidfile(p->run, name);
	_cleanup_free_ char *cmd = NULL, *cpath = NULL;
	pid_t pid = vnet_pidfile_read(pidfile);
	size_t len = 0;

	if (pid <= 1)
		return;
	cpath = xasprintf("/proc/%d/cmdline", pid);
	if (read_file_at(AT_FDCWD, cpath, 1 << 16, &cmd, &len) < 0)
		return;
	for (size_t i = 0; i + 1 < len; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
	if (strstr(cmd, pidfile))
		kill(pid, SIGKILL);
}

static int teardown(const struct vnet_paths *p, const char *name, bool leave_link, bool *ret_had,
		    vert_error_t *err)
{
	_cleanup_free_ char *path = vnet_state_path(p->run, name);
	_cleanup_free_ char *etc = xasprintf("%s/net/%s", p->run, name);
	vert_error_t e = VERT_ERROR_INIT;
	struct vnet_saved sv;
	struct stat st;
	int r, first = 0;

	r = vnet_state_load(p->run, name, &sv, &e);
	*ret_had = r != -ENOENT;
	if (r == -ENOENT) {
		/* none, or killed before the record was written: what prepare
		 * made by then is its /etc files (port claims come after the
		 * record; the lease is released by whoever removes the VE) */
		if (lstat(etc, &st) == 0)
			fs_rm_rf(etc);
		return 0;
	}
	if (r < 0) {
		/* the VE is gone (teardown runs after it): what the record
		 * would have named cannot be trusted, the rest is cleaned */
		vert_log(VERT_LOG_WARNING, "VE '%s': %s; removing the network record", name, e.msg);
		vert_error_clear(&e);
	}
	/* each step on its own: one failing must not keep the others from
	 * cleaning up; the first error is reported */
	/* the link before the rules: deleting the device drops the netdev
	 * chain's hook inside the grace period the deletion waits for anyway;
	 * deleting the hooked chain first would wait for one more */
	/* leave_link: the VE's network namespace is going away with its last
	 * process and takes the veth pair with it; an RTM_DELLINK would only
	 * make the caller wait ~30 ms of RCU grace periods for the same */
	if (r == 0 && !leave_link && sv.host_if[0] && vnet_ifname_valid(sv.host_if)) {
		struct nl_sock s;
		int r2 = nl_open(&s, NETLINK_ROUTE, &e);
		if (r2 == 0) {
			r2 = nl_link_del(&s, sv.host_if, &e);
			nl_close(&s);
		}
		if (r2 < 0) {
			first = first ? first : r2;
			vert_error_move(err, &e);
		}
	}
	if (r == 0 && sv.table[0]) {
		int r2 = nft_ve_del(sv.table, sv.host_if[0] ? sv.host_if : name, &e);
		if (r2 < 0) {
			first = first ? first : r2;
			vert_error_move(err, &e);
		}
	}
	/* pasta (Debian 12's at least) outlives the netns it serves, and it
	 * runs as pid 1 of a namespace of its own, where SIGTERM without a
	 * handler is ignored: SIGKILL, checked against pid reuse */
	if (proc_alive(sv.helper, sv.helper_start))
		kill(sv.helper, SIGKILL);
	else
		kill_unrecorded_pasta(p, name);
	if (!p->rootless && (r = vnet_ipam_unclaim_ports(p->data, name, &e)) < 0) {
		first = first ? first : r;
		vert_error_move(err, &e);
	}
	vert_error_clear(&e);
	if (first < 0)
		return vert_error_wrap(err, "tear down the network of '%s'", name);
	/* everything is gone: now the record can go */
	if (lstat(etc, &st) == 0)
		fs_rm_rf(etc);
	unlink(path);
	return 0;
}

int vnet_teardown_ex(const struct vnet_paths *p, const char *name, bool leave_link,
		     vert_error_t *err)
{
	uint64_t t0 = now_ns();
	bool had = false;
	int r = teardown(p, name, leave_link, &had, err);
	if (had)
		vert_debug("net: teardown %.3f ms", (double)(now_ns() - t0) / 1e6);
	return r;
}

bool vnet_has_traces(const struct vnet_paths *p, const char *name)
{
	_cleanup_free_ char *rec = vnet_state_path(p->run, name);
	_cleanup_free_ char *dir = xasprintf("%s/net/%s", p->run, name);
	return access(rec, F_OK) == 0 || access(dir, F_OK) == 0;
}

int vnet_teardown(const struct vnet_paths *p, const char *name, vert_error_t *err)
{
	return vnet_teardown_ex(p, name, false, err);
}

int vnet_release(const struct vnet_paths *p, const char *name, unsigned flags, vert_error_t *err)
{
	_cleanup_free_ char *lock = xasprintf("%s/net/ipam.lock", p->data);
	int r;

	if (access(lock, F_OK) < 0)
		return 0; /* never leased anything (rootless, --net none) */
	r = vnet_ipam_release(p->data, name, flags, err);
	if (r < 0)
		return vert_error_wrap(err, "release the address of '%s'", name);
	return 0;
}

void vnet_state_free(struct vnet_state *s)
{
	if (!s)
		return;
	free(s->data);
	free(s->run);
	free(s->name);
	free(s->ports);
	free(s->etc_dir);
	for (size_t i = 0; i < ARRAY_SIZE(s->m_src); i++)
		free(s->m_src[i]);
	free(s);
}

enum vnet_mode vnet_state_mode(const struct vnet_state *s)
{
	return s->mode;
}

size_t vnet_state_mounts(const struct vnet_state *s, const struct vnet_mount **ret)
{
	*ret = s->mounts;
	return s->n_mounts;
}

const char *vnet_state_notice(const struct vnet_state *s)
{
	return s->notice;
}
