/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OCI runtime-spec config.json -> struct rt_spec.
 *
 * Only what the runtime acts on is parsed; fields it cannot honour are
 * rejected (an unknown namespace type, an unknown capability) instead of
 * being silently ignored, because a spec that asks for isolation vert does
 * not give would be a security bug.
 */
#include <json-c/json.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "rt-internal.h"
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

/* ---- json helpers ---- */

struct json_object *rt_jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	if (json_object_get_type(v) == json_type_null)
		return NULL;
	return v;
}

int rt_jstr(struct json_object *o, const char *key, char **ret, vert_error_t *err)
{
	struct json_object *v = rt_jget(o, key);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "spec: '%s' must be a string",
				      key);
	free(*ret);
	*ret = xstrdup(json_object_get_string(v));
	return 0;
}

int rt_jstrv(struct json_object *o, const char *key, char ***ret, vert_error_t *err)
{
	struct json_object *v = rt_jget(o, key);
	char **r = NULL;
	size_t n;

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: '%s' must be an array of strings", key);
	n = json_object_array_length(v);
	r = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string)) {
			strv_free(r);
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: '%s' must be an array of strings", key);
		}
		r[i] = xstrdup(json_object_get_string(e));
	}
	strv_free(*ret);
	*ret = r;
	return 0;
}

int rt_jbool(struct json_object *o, const char *key, bool *ret, vert_error_t *err)
{
	struct json_object *v = rt_jget(o, key);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "spec: '%s' must be a boolean",
				      key);
	*ret = json_object_get_boolean(v);
	return 0;
}

int rt_jint64(struct json_object *o, const char *key, int64_t *ret, vert_error_t *err)
{
	struct json_object *v = rt_jget(o, key);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: '%s' must be an integer", key);
	*ret = json_object_get_int64(v);
	return 0;
}

static int rt_juint32(struct json_object *o, const char *key, uint32_t *ret, vert_error_t *err)
{
	int64_t v = -1;
	int r = rt_jint64(o, key, &v, err);
	if (r < 0)
		return r;
	if (!rt_jget(o, key))
		return 0;
	if (v < 0 || v > UINT32_MAX)
		return vert_error_set(err, ERANGE, VERT_ERR_INVALID, "spec: '%s' out of range",
				      key);
	*ret = (uint32_t)v;
	return 0;
}

/* ---- sections ---- */

static int parse_caps(struct json_object *caps, const char *key, uint64_t *ret, vert_error_t *err)
{
	_cleanup_strv_ char **names = NULL;
	uint64_t mask = 0;
	int r;

	r = rt_jstrv(caps, key, &names, err);
	if (r < 0)
		return r;
	for (size_t i = 0; names && names[i]; i++) {
		int c = rt_cap_from_name(names[i]);
		if (c < 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: unknown capability '%s'", names[i]);
		mask |= CAP_BIT(c);
	}
	*ret = mask;
	return 0;
}

static int parse_process(struct rt_spec *s, struct json_object *p, vert_error_t *err)
{
	struct json_object *user, *caps, *rl;
	int r;

	if (!p)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "spec: 'process' is required");
	if ((r = rt_jbool(p, "terminal", &s->terminal, err)) < 0 ||
	    (r = rt_jstrv(p, "args", &s->args, err)) < 0 ||
	    (r = rt_jstrv(p, "env", &s->env, err)) < 0 ||
	    (r = rt_jstr(p, "cwd", &s->cwd, err)) < 0 ||
	    (r = rt_jbool(p, "noNewPrivileges", &s->no_new_privileges, err)) < 0)
		return r;
	if (!s->args || !s->args[0])
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: 'process.args' must not be empty");
	if (!s->cwd)
		s->cwd = xstrdup("/");
	if (s->cwd[0] != '/')
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: 'process.cwd' must be absolute, got '%s'", s->cwd);

	user = rt_jget(p, "user");
	if (user) {
		struct json_object *ag = rt_jget(user, "additionalGids");
		uint32_t u = 0, g = 0;
		if ((r = rt_juint32(user, "uid", &u, err)) < 0 ||
		    (r = rt_juint32(user, "gid", &g, err)) < 0)
			return r;
		s->uid = u;
		s->gid = g;
		if (ag && json_object_is_type(ag, json_type_array)) {
			s->n_groups = json_object_array_length(ag);
			s->groups = xcalloc(s->n_groups, sizeof(gid_t));
			for (size_t i = 0; i < s->n_groups; i++)
				s->groups[i] = (gid_t)json_object_get_int64(
					json_object_array_get_idx(ag, i));
		}
	}

	caps = rt_jget(p, "capabilities");
	if (caps) {
		if ((r = parse_caps(caps, "bounding", &s->cap_bounding, err)) < 0 ||
		    (r = parse_caps(caps, "effective", &s->cap_effective, err)) < 0 ||
		    (r = parse_caps(caps, "permitted", &s->cap_permitted, err)) < 0 ||
		    (r = parse_caps(caps, "inheritable", &s->cap_inheritable, err)) < 0 ||
		    (r = parse_caps(caps, "ambient", &s->cap_ambient, err)) < 0)
			return r;
	}

	rl = rt_jget(p, "rlimits");
	if (rl && json_object_is_type(rl, json_type_array)) {
		s->n_rlimits = json_object_array_length(rl);
		s->rlimits = xcalloc(s->n_rlimits, sizeof(*s->rlimits));
		for (size_t i = 0; i < s->n_rlimits; i++) {
			struct json_object *e = json_object_array_get_idx(rl, i);
			_cleanup_free_ char *type = NULL;
			int64_t soft = 0, hard = 0;
			if ((r = rt_jstr(e, "type", &type, err)) < 0 ||
			    (r = rt_jint64(e, "soft", &soft, err)) < 0 ||
			    (r = rt_jint64(e, "hard", &hard, err)) < 0)
				return r;
			s->rlimits[i].resource = type ? rt_rlimit_from_name(type) : -1;
			if (s->rlimits[i].resource < 0)
				return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
						      "spec: unknown rlimit '%s'",
						      type ? type : "");
			s->rlimits[i].soft = (uint64_t)soft;
			s->rlimits[i].hard = (uint64_t)hard;
		}
	}

	if (rt_jget(p, "oomScoreAdj")) {
		int64_t v = 0;
		if ((r = rt_jint64(p, "oomScoreAdj", &v, err)) < 0)
			return r;
		s->has_oom_score_adj = true;
		s->oom_score_adj = (int)v;
	}
	return 0;
}

static int parse_mounts(struct rt_spec *s, struct json_object *mounts, vert_error_t *err)
{
	size_t n;

	if (!mounts)
		return 0;
	if (!json_object_is_type(mounts, json_type_array))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: 'mounts' must be an array");
	n = json_object_array_length(mounts);
	s->mounts = xcalloc(n, sizeof(*s->mounts));
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(mounts, i);
		struct rt_mount *m = &s->mounts[s->n_mounts++];
		_cleanup_strv_ char **opts = NULL;
		int r;

		if ((r = rt_jstr(e, "destination", &m->destination, err)) < 0 ||
		    (r = rt_jstr(e, "type", &m->type, err)) < 0 ||
		    (r = rt_jstr(e, "source", &m->source, err)) < 0 ||
		    (r = rt_jstrv(e, "options", &opts, err)) < 0)
			return r;
		if (!m->destination || m->destination[0] != '/')
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: mount destination must be an absolute path, "
					      "got '%s'",
					      m->destination ? m->destination : "");
		if ((r = rt_mount_parse_options(m, opts, err)) < 0)
			return r;
		if (m->type && strcmp(m->type, "bind") == 0)
			m->bind = true;
		if (m->bind && !m->source)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: bind mount '%s' has no source",
					      m->destination);
	}
	return 0;
}

static int parse_idmaps(struct json_object *arr, struct rt_idmap **ret, size_t *n_ret,
			vert_error_t *err)
{
	size_t n;

	if (!arr)
		return 0;
	n = json_object_array_length(arr);
	*ret = xcalloc(n, sizeof(**ret));
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		int r;
		if ((r = rt_juint32(e, "containerID", &(*ret)[i].inside, err)) < 0 ||
		    (r = rt_juint32(e, "hostID", &(*ret)[i].outside, err)) < 0 ||
		    (r = rt_juint32(e, "size", &(*ret)[i].count, err)) < 0)
			return r;
		if ((*ret)[i].count == 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: id mapping with size 0");
	}
	*n_ret = n;
	return 0;
}

/* syscalls[].args: [{ "index", "value", "valueTwo", "op" }] */
static int parse_seccomp_args(struct json_object *args, struct rt_seccomp_rule *rule,
			      vert_error_t *err)
{
	size_t n;

	if (!args)
		return 0;
	if (!json_object_is_type(args, json_type_array))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: seccomp 'args' must be an array");
	n = json_object_array_length(args);
	if (n > RT_SCMP_MAX_ARGS)
		return vert_error_set(err, E2BIG, VERT_ERR_INVALID,
				      "spec: at most %d seccomp argument filters per rule",
				      RT_SCMP_MAX_ARGS);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(args, i);
		struct rt_seccomp_arg *a = &rule->args[i];
		_cleanup_free_ char *op = NULL;
		int64_t index = -1, v = 0, v2 = 0;
		int r;

		if ((r = rt_jint64(e, "index", &index, err)) < 0 ||
		    (r = rt_jint64(e, "value", &v, err)) < 0 ||
		    (r = rt_jint64(e, "valueTwo", &v2, err)) < 0 ||
		    (r = rt_jstr(e, "op", &op, err)) < 0)
			return r;
		if (index < 0 || index > 5)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: seccomp argument index must be 0..5");
		a->op = op ? rt_seccomp_op_from_name(op) : -1;
		if (a->op < 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: unknown seccomp operator '%s'", op ? op : "");
		a->index = (unsigned)index;
		a->value = (uint64_t)v;
		a->value_two = (uint64_t)v2;
		rule->n_args++;
	}
	return 0;
}

static int parse_seccomp(struct rt_spec *s, struct json_object *sc, vert_error_t *err)
{
	_cleanup_free_ char *def = NULL;
	struct json_object *calls;
	int64_t derr = EPERM;
	int r;

	if (!sc)
		return 0;
	s->seccomp = xcalloc(1, sizeof(*s->seccomp));
	if ((r = rt_jstr(sc, "defaultAction", &def, err)) < 0 ||
	    (r = rt_jint64(sc, "defaultErrnoRet", &derr, err)) < 0 ||
	    (r = rt_jstrv(sc, "architectures", &s->seccomp->architectures, err)) < 0)
		return r;
	s->seccomp->default_action = rt_seccomp_action_from_name(def ? def : "SCMP_ACT_ALLOW");
	if (s->seccomp->default_action < 0)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: unknown seccomp action '%s'", def);
	s->seccomp->default_errno = (int)derr;
	calls = rt_jget(sc, "syscalls");
	if (!calls)
		return 0;
	s->seccomp->n_rules = json_object_array_length(calls);
	s->seccomp->rules = xcalloc(s->seccomp->n_rules, sizeof(struct rt_seccomp_rule));
	for (size_t i = 0; i < s->seccomp->n_rules; i++) {
		struct json_object *e = json_object_array_get_idx(calls, i);
		struct rt_seccomp_rule *rule = &s->seccomp->rules[i];
		_cleanup_free_ char *act = NULL;
		int64_t e_ret = EPERM;

		if ((r = parse_seccomp_args(rt_jget(e, "args"), rule, err)) < 0)
			return r;
		if ((r = rt_jstrv(e, "names", &rule->names, err)) < 0 ||
		    (r = rt_jstr(e, "action", &act, err)) < 0 ||
		    (r = rt_jint64(e, "errnoRet", &e_ret, err)) < 0)
			return r;
		rule->action = rt_seccomp_action_from_name(act ? act : "");
		if (rule->action < 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: unknown seccomp action '%s'", act ? act : "");
		rule->errnum = (int)e_ret;
	}
	return 0;
}

static int parse_devices(struct rt_spec *s, struct json_object *devs, vert_error_t *err)
{
	size_t n;

	if (!devs)
		return 0;
	n = json_object_array_length(devs);
	s->devices = xcalloc(n, sizeof(*s->devices));
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(devs, i);
		struct rt_device *d = &s->devices[s->n_devices++];
		_cleanup_free_ char *type = NULL;
		uint32_t mode = 0666, uid = 0, gid = 0;
		int64_t maj = 0, min = 0;
		int r;

		if ((r = rt_jstr(e, "path", &d->path, err)) < 0 ||
		    (r = rt_jstr(e, "type", &type, err)) < 0 ||
		    (r = rt_jint64(e, "major", &maj, err)) < 0 ||
		    (r = rt_jint64(e, "minor", &min, err)) < 0 ||
		    (r = rt_juint32(e, "fileMode", &mode, err)) < 0 ||
		    (r = rt_juint32(e, "uid", &uid, err)) < 0 ||
		    (r = rt_juint32(e, "gid", &gid, err)) < 0)
			return r;
		if (!d->path || d->path[0] != '/' || !type ||
		    (strcmp(type, "c") != 0 && strcmp(type, "b") != 0 && strcmp(type, "u") != 0))
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: invalid device entry '%s'",
					      d->path ? d->path : "");
		d->type = type[0] == 'b' ? 'b' : 'c';
		d->major = (uint32_t)maj;
		d->minor = (uint32_t)min;
		d->mode = mode & 07777;
		d->uid = uid;
		d->gid = gid;
	}
	return 0;
}

static int parse_linux(struct rt_spec *s, struct json_object *l, vert_error_t *err)
{
	struct json_object *nss, *sysctl;
	_cleanup_free_ char *prop = NULL;
	int r;

	if (!l)
		return 0;
	nss = rt_jget(l, "namespaces");
	for (size_t i = 0; nss && i < json_object_array_length(nss); i++) {
		struct json_object *e = json_object_array_get_idx(nss, i);
		_cleanup_free_ char *type = NULL, *path = NULL;
		int ns;
		if ((r = rt_jstr(e, "type", &type, err)) < 0 ||
		    (r = rt_jstr(e, "path", &path, err)) < 0)
			return r;
		ns = type ? rt_ns_from_name(type) : -1;
		if (ns < 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "spec: unknown namespace type '%s'",
					      type ? type : "");
		if (path)
			s->ns_path[ns] = TAKE_PTR(path);
		else
			s->ns_flags |= rt_ns_clone_flag(ns);
	}
	if ((r = parse_idmaps(rt_jget(l, "uidMappings"), &s->uid_maps, &s->n_uid_maps, err)) < 0 ||
	    (r = parse_idmaps(rt_jget(l, "gidMappings"), &s->gid_maps, &s->n_gid_maps, err)) < 0 ||
	    (r = rt_jstrv(l, "maskedPaths", &s->masked_paths, err)) < 0 ||
	    (r = rt_jstrv(l, "readonlyPaths", &s->readonly_paths, err)) < 0 ||
	    (r = rt_jstr(l, "cgroupsPath", &s->cgroups_path, err)) < 0 ||
	    (r = rt_jstr(l, "rootfsPropagation", &prop, err)) < 0 ||
	    (r = parse_seccomp(s, rt_jget(l, "seccomp"), err)) < 0 ||
	    (r = rt_parse_resources(&s->resources, rt_jget(l, "resources"), err)) < 0 ||
	    (r = parse_devices(s, rt_jget(l, "devices"), err)) < 0)
		return r;
	if (prop && parse_propagation(prop, &s->rootfs_propagation) < 0)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: invalid rootfsPropagation '%s'", prop);

	sysctl = rt_jget(l, "sysctl");
	if (sysctl) {
		s->sysctls = xcalloc(json_object_object_length(sysctl), sizeof(*s->sysctls));
		json_object_object_foreach(sysctl, k, v)
		{
			struct rt_sysctl *e = &s->sysctls[s->n_sysctls++];
			if (strstr(k, "..") || k[0] == '/' || k[0] == '.')
				return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
						      "spec: invalid sysctl '%s'", k);
			e->key = xstrdup(k);
			e->value = xstrdup(json_object_get_string(v));
		}
	}
	return 0;
}

static int parse_annotations(struct rt_spec *s, struct json_object *a, vert_error_t *err)
{
	struct json_object *lo;
	int r;

	if (!a)
		return 0;
	if ((r = rt_jstr(a, "org.vert.rootfs.lower", &s->overlay_lower, err)) < 0 ||
	    (r = rt_jstr(a, "org.vert.rootfs.upper", &s->overlay_upper, err)) < 0 ||
	    (r = rt_jstr(a, "org.vert.rootfs.work", &s->overlay_work, err)) < 0)
		return r;
	lo = rt_jget(a, "org.vert.net.loopback");
	if (lo)
		s->loopback_up = strcmp(json_object_get_string(lo), "true") == 0;
	if (s->overlay_lower && (!s->overlay_upper || !s->overlay_work))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "spec: overlay root needs lower, upper and work dirs");
	return 0;
}

int rt_spec_from_json(struct json_object *root, struct rt_spec **ret, vert_error_t *err)
{
	struct rt_spec *s = xcalloc(1, sizeof(*s));
	struct json_object *rootobj;
	int r;

	rt_resources_init(&s->resources);
	s->no_new_privileges = false;
	if (!root || !json_object_is_type(root, json_type_object)) {
		r = vert_error_set(err, EINVAL, VERT_ERR_INVALID, "spec: not a JSON object");
		goto fail;
	}
	if ((r = parse_process(s, rt_jget(root, "process"), err)) < 0)
		goto fail;
	rootobj = rt_jget(root, "root");
	if (!rootobj) {
		r = vert_error_set(err, EINVAL, VERT_ERR_INVALID, "spec: 'root' is required");
		goto fail;
	}
	if ((r = rt_jstr(rootobj, "path", &s->root_path, err)) < 0 ||
	    (r = rt_jbool(rootobj, "readonly", &s->root_readonly, err)) < 0 ||
	    (r = rt_jstr(root, "hostname", &s->hostname, err)) < 0 ||
	    (r = rt_jstr(root, "domainname", &s->domainname, err)) < 0 ||
	    (r = parse_mounts(s, rt_jget(root, "mounts"), err)) < 0 ||
	    (r = parse_linux(s, rt_jget(root, "linux"), err)) < 0 ||
	    (r = parse_annotations(s, rt_jget(root, "annotations"), err)) < 0)
		goto fail;
	if (!s->root_path) {
		r = vert_error_set(err, EINVAL, VERT_ERR_INVALID, "spec: 'root.path' is required");
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	rt_spec_free(s);
	return r;
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
