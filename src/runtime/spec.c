/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OCI runtime-spec config.json -> struct rt_spec.
 *
 * Only what the runtime acts on is parsed; fields it cannot honour are
 * rejected (an unknown namespace type, an unknown capability) instead of
 * being silently ignored, because a spec that asks for isolation vert does
 * not give would be a security bug.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <stddef.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "rt-internal.h"
#include "vert/json.h"
#include "vert/spec.h"
#include "vert/util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

int rt_cap_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (strcasecmp(name, cap_names[i]) == 0 ||
		    (strncasecmp(name, "CAP_", 4) != 0 && strcasecmp(name, cap_names[i] + 4) == 0))
			return (int)i;
	return -1;
}

const char *rt_cap_name(int cap)
{
	if (cap < 0 || (size_t)cap >= ARRAY_SIZE(cap_names))
		return NULL;
	return cap_names[cap];
}

static const struct {
	const char *name;
	int ns;
	int flag;
} ns_table[] = {
	{ "mount", RT_NS_MOUNT, CLONE_NEWNS },	{ "pid", RT_NS_PID, CLONE_NEWPID },
	{ "uts", RT_NS_UTS, CLONE_NEWUTS },	{ "ipc", RT_NS_IPC, CLONE_NEWIPC },
	{ "network", RT_NS_NET, CLONE_NEWNET }, { "cgroup", RT_NS_CGROUP, CLONE_NEWCGROUP },
	{ "user", RT_NS_USER, CLONE_NEWUSER },	{ "time", RT_NS_TIME, CLONE_NEWTIME },
};

int rt_ns_from_name(const char *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(ns_table); i++)
		if (strcmp(type, ns_table[i].name) == 0)
			return ns_table[i].ns;
	return -1;
}

int rt_ns_clone_flag(int ns)
{
	for (size_t i = 0; i < ARRAY_SIZE(ns_table); i++)
		if (ns_table[i].ns == ns)
			return ns_table[i].flag;
	return 0;
}

static const struct {
	const char *name;
	int res;
} rlimit_table[] = {
	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

int rt_rlimit_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_table); i++)
		if (strcmp(name, rlimit_table[i].name) == 0)
			return rlimit_table[i].res;
	return -1;
}

int rt_seccomp_op_from_name(const char *name)
{
	static const struct {
		const char *n;
		int op;
	} t[] = {
		{ "SCMP_CMP_NE", RT_SCMP_CMP_NE },
		{ "SCMP_CMP_LT", RT_SCMP_CMP_LT },
		{ "SCMP_CMP_LE", RT_SCMP_CMP_LE },
		{ "SCMP_CMP_EQ", RT_SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", RT_SCMP_CMP_GE },
		{ "SCMP_CMP_GT", RT_SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", RT_SCMP_CMP_MASKED_EQ },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (strcmp(name, t[i].n) == 0)
			return t[i].op;
	return -1;
}

int rt_seccomp_action_from_name(const char *name)
{
	static const struct {
		const char *n;
		int a;
	} t[] = {
		{ "SCMP_ACT_ALLOW", RT_SCMP_ALLOW },
		{ "SCMP_ACT_ERRNO", RT_SCMP_ERRNO },
		{ "SCMP_ACT_KILL", RT_SCMP_KILL_THREAD },
		{ "SCMP_ACT_KILL_THREAD", RT_SCMP_KILL_THREAD },
		{ "SCMP_ACT_KILL_PROCESS", RT_SCMP_KILL_PROCESS },
		{ "SCMP_ACT_TRAP", RT_SCMP_TRAP },
		{ "SCMP_ACT_LOG", RT_SCMP_LOG },
		{ "SCMP_ACT_NOTIFY", RT_SCMP_NOTIFY },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (strcmp(name, t[i].n) == 0)
			return t[i].a;
	return -1;
}

/* ---- mount options ---- */

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_flag_table[] = {
	{ "ro", false, MS_RDONLY },
	{ "rw", true, MS_RDONLY },
	{ "nosuid", false, MS_NOSUID },
	{ "suid", true, MS_NOSUID },
	{ "nodev", false, MS_NODEV },
	{ "dev", true, MS_NODEV },
	{ "noexec", false, MS_NOEXEC },
	{ "exec", true, MS_NOEXEC },
	{ "sync", false, MS_SYNCHRONOUS },
	{ "async", true, MS_SYNCHRONOUS },
	{ "dirsync", false, MS_DIRSYNC },
	{ "remount", false, MS_REMOUNT },
	{ "mand", false, MS_MANDLOCK },
	{ "nomand", true, MS_MANDLOCK },
	{ "atime", true, MS_NOATIME },
	{ "noatime", false, MS_NOATIME },
	{ "diratime", true, MS_NODIRATIME },
	{ "nodiratime", false, MS_NODIRATIME },
	{ "relatime", false, MS_RELATIME },
	{ "norelatime", true, MS_RELATIME },
	{ "strictatime", false, MS_STRICTATIME },
	{ "nostrictatime", true, MS_STRICTATIME },
	{ "defaults", false, 0 },
};

static const struct {
	const char *name;
	unsigned long prop;
} propagation_table[] = {
	{ "private", MS_PRIVATE },	 { "rprivate", MS_PRIVATE | MS_REC },
	{ "slave", MS_SLAVE },		 { "rslave", MS_SLAVE | MS_REC },
	{ "shared", MS_SHARED },	 { "rshared", MS_SHARED | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

static int parse_propagation(const char *s, unsigned long *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(propagation_table); i++)
		if (strcmp(s, propagation_table[i].name) == 0) {
			*ret = propagation_table[i].prop;
			return 0;
		}
	return -EINVAL;
}

int rt_mount_parse_options(struct rt_mount *m, char *const *options, vert_error_t *err)
{
	_cleanup_free_ char *data = NULL;

	for (size_t i = 0; options && options[i]; i++) {
		const char *o = options[i];
		bool known = false;

		if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
			m->bind = true;
			m->recursive = o[0] == 'r';
			continue;
		}
		if (strcmp(o, "idmap") == 0) {
			m->idmap = true;
			continue;
		}
		if (parse_propagation(o, &m->propagation) == 0)
			continue;
		for (size_t j = 0; j < ARRAY_SIZE(mount_flag_table); j++) {
			if (strcmp(o, mount_flag_table[j].name) != 0)
				continue;
			if (mount_flag_table[j].clear)
				m->flags &= ~mount_flag_table[j].flag;
			else
				m->flags |= mount_flag_table[j].flag;
			known = true;
			break;
		}
		if (known)
			continue;
		if (!*o || strchr(o, ','))
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "invalid mount option '%s' for '%s'", o,
					      m->destination ? m->destination : "?");
		/* anything else is filesystem data (mode=755, size=64k, ...) */
		if (data) {
			char *n = xasprintf("%s,%s", data, o);
			free(data);
			data = n;
		} else {
			data = xstrdup(o);
		}
	}
	m->readonly = (m->flags & MS_RDONLY) != 0;
	free(m->data);
	m->data = TAKE_PTR(data);
	return 0;
}

/* ---- sections ----
 * Every table lets keys it does not know pass (the OCI spec has many that
 * vert does not act on) and reads null as absent; a key vert knows with a
 * value of the wrong type is an error naming the key. */

#define F(n, t, cb, st, m) VJSON_FIELD(n, t, cb, st, m, VJSON_NULLABLE)
#define FM(n, t, cb, st, m) VJSON_FIELD(n, t, cb, st, m, VJSON_NULLABLE | VJSON_MANDATORY)
/* a setter or sub-table that works on the whole struct */
#define FW(n, t, setter)                                                                           \
	{                                                                                          \
		.name = (n), .type = (t), .cb = (setter), .flags = VJSON_NULLABLE                  \
	}
#define FSUB(n, sub, fl)                                                                           \
	{                                                                                          \
		.name = (n), .type = VJSON_OBJECT, .cb = vjson_object,                             \
		.flags = VJSON_NULLABLE | (fl), .data = (sub)                                      \
	}

_Static_assert(sizeof(uid_t) == sizeof(uint32_t) && sizeof(gid_t) == sizeof(uint32_t),
	       "ids are read as uint32");

static int set_caps(struct json_object *v, void *target, const struct vjson_field *f,
		    const struct vjson_loc *loc, vert_error_t *err)
{
	_cleanup_strv_ char **names = NULL;
	uint64_t mask = 0;
	int r;

	if ((r = vjson_strv(v, &names, f, loc, err)) < 0)
		return r;
	for (size_t i = 0; names[i]; i++) {
		int c = rt_cap_from_name(names[i]);
		if (c < 0)
			return vjson_error(err, loc, "unknown capability '%s'", names[i]);
		mask |= CAP_BIT(c);
	}
	*(uint64_t *)target = mask;
	return 0;
}

static int set_groups(struct json_object *v, void *target, const struct vjson_field *f,
		      const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_spec *s = target;
	size_t n = vjson_array_length(v);

	free(s->groups);
	s->groups = xcalloc(n + 1, sizeof(gid_t));
	s->n_groups = n;
	for (size_t i = 0; i < n; i++) {
		struct vjson_loc el;
		int r;
		vjson_loc_index(loc, i, &el);
		if ((r = vjson_uint32(json_object_array_get_idx(v, i), &s->groups[i], f, &el,
				      err)) < 0)
			return r;
	}
	return 0;
}

struct rlimit_in {
	char *type;
	uint64_t soft, hard;
};

static const struct vjson_field rlimit_fields[] = {
	F("type", VJSON_STRING, vjson_string, struct rlimit_in, type),
	F("soft", VJSON_INT, vjson_uint64, struct rlimit_in, soft),
	F("hard", VJSON_INT, vjson_uint64, struct rlimit_in, hard),
	{},
};

static int set_rlimits(struct json_object *v, void *target, const struct vjson_field *f,
		       const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_spec *s = target;
	size_t n = vjson_array_length(v);

	free(s->rlimits);
	s->rlimits = xcalloc(n + 1, sizeof(*s->rlimits));
	s->n_rlimits = n;
	for (size_t i = 0; i < n; i++) {
		struct rlimit_in in = { 0 };
		_cleanup_free_ char *type = NULL;
		struct vjson_loc el;
		int r = vjson_dispatch_elem(v, i, rlimit_fields, &in, loc, err);

		type = in.type;
		if (r < 0)
			return r;
		s->rlimits[i].resource = type ? rt_rlimit_from_name(type) : -1;
		if (s->rlimits[i].resource < 0) {
			vjson_loc_index(loc, i, &el);
			return vjson_error(err, &el, "unknown rlimit '%s'", type ? type : "");
		}
		s->rlimits[i].soft = in.soft;
		s->rlimits[i].hard = in.hard;
	}
	return 0;
}

static int set_oom(struct json_object *v, void *target, const struct vjson_field *f,
		   const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_spec *s = target;
	int r = vjson_int(v, &s->oom_score_adj, f, loc, err);

	if (r == 0)
		s->has_oom_score_adj = true;
	return r;
}

static const struct vjson_field user_table[] = {
	F("uid", VJSON_INT, vjson_uint32, struct rt_spec, uid),
	F("gid", VJSON_INT, vjson_uint32, struct rt_spec, gid),
	FW("additionalGids", VJSON_ARRAY, set_groups),
	{},
};

static const struct vjson_field caps_table[] = {
	F("bounding", VJSON_ARRAY, set_caps, struct rt_spec, cap_bounding),
	F("effective", VJSON_ARRAY, set_caps, struct rt_spec, cap_effective),
	F("permitted", VJSON_ARRAY, set_caps, struct rt_spec, cap_permitted),
	F("inheritable", VJSON_ARRAY, set_caps, struct rt_spec, cap_inheritable),
	F("ambient", VJSON_ARRAY, set_caps, struct rt_spec, cap_ambient),
	{},
};

static const struct vjson_field process_table[] = {
	F("terminal", VJSON_BOOL, vjson_bool, struct rt_spec, terminal),
	F("args", VJSON_ARRAY, vjson_strv, struct rt_spec, args),
	F("env", VJSON_ARRAY, vjson_strv, struct rt_spec, env),
	F("cwd", VJSON_STRING, vjson_string, struct rt_spec, cwd),
	F("noNewPrivileges", VJSON_BOOL, vjson_bool, struct rt_spec, no_new_privileges),
	FSUB("user", user_table, 0),
	FSUB("capabilities", caps_table, 0),
	FW("rlimits", VJSON_ARRAY, set_rlimits),
	FW("oomScoreAdj", VJSON_INT, set_oom),
	{},
};

struct mount_in {
	char *destination, *type, *source;
	char **options;
};

static const struct vjson_field mount_table[] = {
	F("destination", VJSON_STRING, vjson_string, struct mount_in, destination),
	F("type", VJSON_STRING, vjson_string, struct mount_in, type),
	F("source", VJSON_STRING, vjson_string, struct mount_in, source),
	F("options", VJSON_ARRAY, vjson_strv, struct mount_in, options),
	{},
};

static int set_mounts(struct json_object *v, void *target, const struct vjson_field *f,
		      const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_spec *s = target;
	size_t n = vjson_array_length(v);

	s->mounts = xcalloc(n + 1, sizeof(*s->mounts));
	for (size_t i = 0; i < n; i++) {
		struct rt_mount *m = &s->mounts[s->n_mounts++];
		struct mount_in in = { 0 };
		_cleanup_strv_ char **opts = NULL;
		struct vjson_loc el;
		int r = vjson_dispatch_elem(v, i, mount_table, &in, loc, err);

		/* the mount owns what was read, so rt_spec_free frees it */
		m->destination = in.destination;
		m->type = in.type;
		m->source = in.source;
		opts = in.options;
		if (r < 0)
			return r;
		vjson_loc_index(loc, i, &el);
		if (!m->destination || m->destination[0] != '/')
			return vjson_error(err, &el,
					   "mount destination must be an absolute path, got '%s'",
					   m->destination ? m->destination : "");
		if ((r = rt_mount_parse_options(m, opts, err)) < 0)
			return r;
		if (m->type && strcmp(m->type, "bind") == 0)
			m->bind = true;
		if (m->bind && !m->source)
			return vjson_error(err, &el, "bind mount '%s' has no source",
					   m->destination);
	}
	return 0;
}

static const struct vjson_field idmap_table[] = {
	F("containerID", VJSON_INT, vjson_uint32, struct rt_idmap, inside),
	F("hostID", VJSON_INT, vjson_uint32, struct rt_idmap, outside),
	F("size", VJSON_INT, vjson_uint32, struct rt_idmap, count),
	{},
};

static int parse_idmaps(struct json_object *v, struct rt_idmap **ret, size_t *n_ret,
			const struct vjson_loc *loc, vert_error_t *err)
{
	size_t n = vjson_array_length(v);

	free(*ret);
	*ret = xcalloc(n + 1, sizeof(**ret));
	*n_ret = 0;
	for (size_t i = 0; i < n; i++) {
		int r = vjson_dispatch_elem(v, i, idmap_table, &(*ret)[i], loc, err);
		if (r < 0)
			return r;
		if ((*ret)[i].count == 0) {
			struct vjson_loc el;
			vjson_loc_index(loc, i, &el);
			return vjson_error(err, &el, "id mapping with size 0");
		}
	}
	*n_ret = n;
	return 0;
}

static int set_uidmaps(struct json_object *v, void *target, const struct vjson_field *f,
		       const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_spec *s = target;
	return parse_idmaps(v, &s->uid_maps, &s->n_uid_maps, loc, err);
}

static int set_gidmaps(struct json_object *v, void *target, const struct vjson_field *f,
		       const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_spec *s = target;
	return parse_idmaps(v, &s->gid_maps, &s->n_gid_maps, loc, err);
}

struct ns_in {
	char *type, *path;
};

static const struct vjson_field ns_fields[] = {
	F("type", VJSON_STRING, vjson_string, struct ns_in, type),
	F("path", VJSON_STRING, vjson_string, struct ns_in, path),
	{},
};

static int set_namespaces(struct json_object *v, void *target, const struct vjson_field *f,
			  const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_spec *s = target;

	for (size_t i = 0; i < vjson_array_length(v); i++) {
		struct ns_in in = { 0 };
		_cleanup_free_ char *type = NULL, *path = NULL;
		struct vjson_loc el;
		int r = vjson_dispatch_elem(v, i, ns_fields, &in, loc, err), ns;

		type = in.type;
		path = in.path;
		if (r < 0)
			return r;
		ns = type ? rt_ns_from_name(type) : -1;
		if (ns < 0) {
			vjson_loc_index(loc, i, &el);
			return vjson_error(err, &el, "unknown namespace type '%s'",
					   type ? type : "");
		}
		if (path) {
			free(s->ns_path[ns]);
			s->ns_path[ns] = TAKE_PTR(path);
		} else {
			s->ns_flags |= rt_ns_clone_flag(ns);
		}
	}
	return 0;
}

struct arg_in {
	int64_t index;
	uint64_t value, value_two;
	char *op;
};

static const struct vjson_field arg_table[] = {
	F("index", VJSON_INT, vjson_int64, struct arg_in, index),
	F("value", VJSON_INT, vjson_uint64, struct arg_in, value),
	F("valueTwo", VJSON_INT, vjson_uint64, struct arg_in, value_two),
	F("op", VJSON_STRING, vjson_string, struct arg_in, op),
	{},
};

/* syscalls[].args: [{ "index", "value", "valueTwo", "op" }] */
static int parse_seccomp_args(struct json_object *args, struct rt_seccomp_rule *rule,
			      const struct vjson_loc *loc, vert_error_t *err)
{
	size_t n = vjson_array_length(args);

	if (n > RT_SCMP_MAX_ARGS)
		return vjson_error(err, loc, "at most %d seccomp argument filters per rule",
				   RT_SCMP_MAX_ARGS);
	for (size_t i = 0; i < n; i++) {
		struct arg_in in = { .index = -1 };
		_cleanup_free_ char *op = NULL;
		struct rt_seccomp_arg *a = &rule->args[i];
		struct vjson_loc el;
		int r = vjson_dispatch_elem(args, i, arg_table, &in, loc, err);

		op = in.op;
		if (r < 0)
			return r;
		vjson_loc_index(loc, i, &el);
		if (in.index < 0 || in.index > 5)
			return vjson_error(err, &el, "seccomp argument index must be 0..5");
		a->op = op ? rt_seccomp_op_from_name(op) : -1;
		if (a->op < 0)
			return vjson_error(err, &el, "unknown seccomp operator '%s'", op ? op : "");
		a->index = (unsigned)in.index;
		a->value = in.value;
		a->value_two = in.value_two;
		rule->n_args++;
	}
	return 0;
}

struct rule_in {
	char **names;
	char *action;
	int64_t errno_ret;
	struct json_object *args;
};

static const struct vjson_field rule_table[] = {
	F("names", VJSON_ARRAY, vjson_strv, struct rule_in, names),
	F("action", VJSON_STRING, vjson_string, struct rule_in, action),
	F("errnoRet", VJSON_INT, vjson_int64, struct rule_in, errno_ret),
	F("args", VJSON_ARRAY, vjson_borrow, struct rule_in, args),
	{},
};

struct seccomp_in {
	char *default_action;
	int64_t default_errno;
	char **architectures;
	struct json_object *syscalls;
};

static const struct vjson_field seccomp_table[] = {
	F("defaultAction", VJSON_STRING, vjson_string, struct seccomp_in, default_action),
	F("defaultErrnoRet", VJSON_INT, vjson_int64, struct seccomp_in, default_errno),
	F("architectures", VJSON_ARRAY, vjson_strv, struct seccomp_in, architectures),
	F("syscalls", VJSON_ARRAY, vjson_borrow, struct seccomp_in, syscalls),
	{},
};

static int parse_rules(struct rt_seccomp *sc, struct json_object *calls,
		       const struct vjson_loc *loc, vert_error_t *err)
{
	struct vjson_loc cl;

	vjson_loc_child(loc, "syscalls", &cl);
	sc->n_rules = vjson_array_length(calls);
	sc->rules = xcalloc(sc->n_rules + 1, sizeof(struct rt_seccomp_rule));
	for (size_t i = 0; i < sc->n_rules; i++) {
		struct rt_seccomp_rule *rule = &sc->rules[i];
		struct rule_in in = { .errno_ret = EPERM };
		_cleanup_free_ char *act = NULL;
		struct vjson_loc el, al;
		int r = vjson_dispatch_elem(calls, i, rule_table, &in, &cl, err);

		rule->names = in.names;
		act = in.action;
		if (r < 0)
			return r;
		vjson_loc_index(&cl, i, &el);
		vjson_loc_child(&el, "args", &al);
		if ((r = parse_seccomp_args(in.args, rule, &al, err)) < 0)
			return r;
		rule->action = rt_seccomp_action_from_name(act ? act : "");
		if (rule->action < 0)
			return vjson_error(err, &el, "unknown seccomp action '%s'", act ? act : "");
		rule->errnum = (int)in.errno_ret;
	}
	return 0;
}

static int set_seccomp(struct json_object *v, void *target, const struct vjson_field *f,
		       const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_spec *s = target;
	struct seccomp_in in = { .default_errno = EPERM };
	_cleanup_free_ char *def = NULL;
	int r;

	if (!s->seccomp)
		s->seccomp = xcalloc(1, sizeof(*s->seccomp));
	r = vjson_dispatch_at(v, seccomp_table, &in, loc, err);
	def = in.default_action;
	strv_free(s->seccomp->architectures);
	s->seccomp->architectures = in.architectures;
	if (r < 0)
		return r;
	s->seccomp->default_action = rt_seccomp_action_from_name(def ? def : "SCMP_ACT_ALLOW");
	if (s->seccomp->default_action < 0)
		return vjson_error(err, loc, "unknown seccomp action '%s'", def);
	s->seccomp->default_errno = (int)in.default_errno;
	return parse_rules(s->seccomp, in.syscalls, loc, err);
}

struct dev_in {
	char *path, *type;
	int64_t major, minor;
	uint32_t mode, uid, gid;
};

static const struct vjson_field dev_table[] = {
	F("path", VJSON_STRING, vjson_string, struct dev_in, path),
	F("type", VJSON_STRING, vjson_string, struct dev_in, type),
	F("major", VJSON_INT, vjson_int64, struct dev_in, major),
	F("minor", VJSON_INT, vjson_int64, struct dev_in, minor),
	F("fileMode", VJSON_INT, vjson_uint32, struct dev_in, mode),
	F("uid", VJSON_INT, vjson_uint32, struct dev_in, uid),
	F("gid", VJSON_INT, vjson_uint32, struct dev_in, gid),
	{},
};

static int set_devices(struct json_object *v, void *target, const struct vjson_field *f,
		       const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_spec *s = target;
	size_t n = vjson_array_length(v);

	s->devices = xcalloc(n + 1, sizeof(*s->devices));
	for (size_t i = 0; i < n; i++) {
		struct rt_device *d = &s->devices[s->n_devices++];
		struct dev_in in = { .mode = 0666 };
		_cleanup_free_ char *type = NULL;
		struct vjson_loc el;
		int r = vjson_dispatch_elem(v, i, dev_table, &in, loc, err);

		d->path = in.path;
		type = in.type;
		if (r < 0)
			return r;
		if (!d->path || d->path[0] != '/' || !type ||
		    (strcmp(type, "c") != 0 && strcmp(type, "b") != 0 && strcmp(type, "u") != 0)) {
			vjson_loc_index(loc, i, &el);
			return vjson_error(err, &el, "invalid device entry '%s'",
					   d->path ? d->path : "");
		}
		d->type = type[0] == 'b' ? 'b' : 'c';
		d->major = (uint32_t)in.major;
		d->minor = (uint32_t)in.minor;
		d->mode = in.mode & 07777;
		d->uid = in.uid;
		d->gid = in.gid;
	}
	return 0;
}

static int set_propagation(struct json_object *v, void *target, const struct vjson_field *f,
			   const struct vjson_loc *loc, vert_error_t *err)
{
	const char *s;
	int r;

	if ((r = vjson_get_string(v, loc, &s, err)) < 0)
		return r;
	if (parse_propagation(s, target) < 0)
		return vjson_error(err, loc, "invalid rootfsPropagation '%s'", s);
	return 0;
}

static int set_sysctl(struct json_object *v, void *target, const struct vjson_field *f,
		      const struct vjson_loc *loc, vert_error_t *err)
{
	struct rt_spec *s = target;
	_cleanup_strv_ char **kv = NULL;
	size_t n;
	int r;

	if ((r = vjson_strmap(v, &kv, f, loc, err)) < 0)
		return r;
	n = strv_len(kv) / 2;
	s->sysctls = xcalloc(n + 1, sizeof(*s->sysctls));
	for (size_t i = 0; i < n; i++) {
		const char *k = kv[2 * i];
		struct rt_sysctl *e = &s->sysctls[s->n_sysctls++];
		if (strstr(k, "..") || k[0] == '/' || k[0] == '.')
			return vjson_error(err, loc, "invalid sysctl '%s'", k);
		e->key = xstrdup(k);
		e->value = xstrdup(kv[2 * i + 1]);
	}
	return 0;
}

static const struct vjson_field linux_table[] = {
	FW("namespaces", VJSON_ARRAY, set_namespaces),
	FW("uidMappings", VJSON_ARRAY, set_uidmaps),
	FW("gidMappings", VJSON_ARRAY, set_gidmaps),
	F("maskedPaths", VJSON_ARRAY, vjson_strv, struct rt_spec, masked_paths),
	F("readonlyPaths", VJSON_ARRAY, vjson_strv, struct rt_spec, readonly_paths),
	F("cgroupsPath", VJSON_STRING, vjson_string, struct rt_spec, cgroups_path),
	F("rootfsPropagation", VJSON_STRING, set_propagation, struct rt_spec, rootfs_propagation),
	FW("seccomp", VJSON_OBJECT, set_seccomp),
	F("resources", VJSON_OBJECT, rt_parse_resources, struct rt_spec, resources),
	FW("devices", VJSON_ARRAY, set_devices),
	FW("sysctl", VJSON_OBJECT, set_sysctl),
	{},
};

static int set_true_string(struct json_object *v, void *target, const struct vjson_field *f,
			   const struct vjson_loc *loc, vert_error_t *err)
{
	const char *s;
	int r;

	if ((r = vjson_get_string(v, loc, &s, err)) < 0)
		return r;
	*(bool *)target = strcmp(s, "true") == 0;
	return 0;
}

static const struct vjson_field annotations_table[] = {
	F("org.vert.rootfs.lower", VJSON_STRING, vjson_string, struct rt_spec, overlay_lower),
	F("org.vert.rootfs.upper", VJSON_STRING, vjson_string, struct rt_spec, overlay_upper),
	F("org.vert.rootfs.work", VJSON_STRING, vjson_string, struct rt_spec, overlay_work),
	F("org.vert.net.loopback", VJSON_STRING, set_true_string, struct rt_spec, loopback_up),
	F("org.vert.rootfs.idmap", VJSON_STRING, set_true_string, struct rt_spec, rootfs_idmap),
	F("org.vert.rootfs.volatile", VJSON_STRING, set_true_string, struct rt_spec,
	  overlay_volatile),
	{},
};

static const struct vjson_field root_table[] = {
	FM("path", VJSON_STRING, vjson_string, struct rt_spec, root_path),
	F("readonly", VJSON_BOOL, vjson_bool, struct rt_spec, root_readonly),
	{},
};

static const struct vjson_field spec_table[] = {
	FSUB("process", process_table, VJSON_MANDATORY),
	FSUB("root", root_table, VJSON_MANDATORY),
	F("hostname", VJSON_STRING, vjson_string, struct rt_spec, hostname),
	F("domainname", VJSON_STRING, vjson_string, struct rt_spec, domainname),
	FW("mounts", VJSON_ARRAY, set_mounts),
	FSUB("linux", linux_table, 0),
	FSUB("annotations", annotations_table, 0),
	{},
};

static int spec_parse(struct json_object *root, const char *where, struct rt_spec **ret,
		      vert_error_t *err)
{
	struct rt_spec *s = xcalloc(1, sizeof(*s));
	int r;

	rt_resources_init(&s->resources);
	s->no_new_privileges = false;
	if ((r = vjson_dispatch(root, spec_table, VJSON_ALLOW_UNKNOWN, s, where, err)) < 0)
		goto fail;
	if (!s->args || !s->args[0]) {
		r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				   "%s: 'process.args' must not be empty", where);
		goto fail;
	}
	if (!s->cwd)
		s->cwd = xstrdup("/");
	if (s->cwd[0] != '/') {
		r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				   "%s: 'process.cwd' must be absolute, got '%s'", where, s->cwd);
		goto fail;
	}
	if (s->overlay_lower && (!s->overlay_upper || !s->overlay_work)) {
		r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				   "%s: overlay root needs lower, upper and work dirs", where);
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	rt_spec_free(s);
	return r;
}

int rt_spec_from_json(struct json_object *root, struct rt_spec **ret, vert_error_t *err)
{
	return spec_parse(root, "spec", ret, err);
}

void rt_spec_free(struct rt_spec *s)
{
	if (!s)
		return;
	strv_free(s->args);
	strv_free(s->env);
	free(s->cwd);
	free(s->groups);
	free(s->rlimits);
	free(s->root_path);
	free(s->overlay_lower);
	free(s->overlay_upper);
	free(s->overlay_work);
	free(s->hostname);
	free(s->domainname);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].data);
	}
	free(s->mounts);
	for (int i = 0; i < RT_NS_MAX; i++)
		free(s->ns_path[i]);
	free(s->uid_maps);
	free(s->gid_maps);
	strv_free(s->masked_paths);
	strv_free(s->readonly_paths);
	for (size_t i = 0; i < s->n_devices; i++)
		free(s->devices[i].path);
	free(s->devices);
	for (size_t i = 0; i < s->n_sysctls; i++) {
		free(s->sysctls[i].key);
		free(s->sysctls[i].value);
	}
	free(s->sysctls);
	if (s->seccomp) {
		strv_free(s->seccomp->architectures);
		for (size_t i = 0; i < s->seccomp->n_rules; i++)
			strv_free(s->seccomp->rules[i].names);
		free(s->seccomp->rules);
		free(s->seccomp);
	}
	free(s->cgroups_path);
	rt_resources_done(&s->resources);
	free(s);
}
