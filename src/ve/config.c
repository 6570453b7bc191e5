/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VE configuration: validation of user input, and the persistent JSON
 * document (ves/NAME/config.json) with a schema version.  Unknown keys are
 * rejected with a message, never dropped.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>

#include "vert/json.h"
#include "vert/util.h"
#include "vert/ve.h"

void ve_config_init(struct ve_config *c)
{
	memset(c, 0, sizeof(*c));
	c->stop_timeout = -1;
	rt_resources_init(&c->resources);
}

void ve_config_done(struct ve_config *c)
{
	free(c->name);
	free(c->template_name);
	free(c->hostname);
	strv_free(c->env);
	strv_free(c->cmd);
	for (size_t i = 0; i < c->n_volumes; i++) {
		free(c->volumes[i].source);
		free(c->volumes[i].dest);
	}
	free(c->volumes);
	free(c->user);
	free(c->workdir);
	free(c->net);
	free(c->ip);
	strv_free(c->publish);
	strv_free(c->publish_rm);
	strv_free(c->dns);
	strv_free(c->cap_add);
	strv_free(c->cap_drop);
	free(c->machine_id);
	free(c->userns);
	rt_resources_done(&c->resources);
	free(c->disk.backend);
	memset(c, 0, sizeof(*c));
}

static bool path_clean(const char *p)
{
	/* absolute, no "..", no empty segments that hide tricks */
	if (!p || p[0] != '/')
		return false;
	for (const char *s = p; *s; s++) {
		if (s[0] == '/' && s[1] == '.' && s[2] == '.' && (s[3] == '/' || s[3] == '\0'))
			return false;
	}
	return true;
}

int ve_parse_volume(const char *spec, struct ve_volume *ret, vert_error_t *err)
{
	_cleanup_free_ char *copy = xstrdup(spec ? spec : "");
	char *src = copy, *dst, *mode = NULL;
	struct stat st;

	memset(ret, 0, sizeof(*ret));
	dst = strchr(src, ':');
	if (!dst)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid volume '%s': expected SRC:DST[:ro|rw]", spec);
	*dst++ = '\0';
	mode = strchr(dst, ':');
	if (mode)
		*mode++ = '\0';
	if (!*src || !*dst)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid volume '%s': expected SRC:DST[:ro|rw]", spec);
	if (src[0] != '/')
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid volume '%s': source '%s' must be an absolute path",
				      spec, src);
	if (!path_clean(dst))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid volume '%s': destination '%s' must be an absolute "
				      "path without '..'",
				      spec, dst);
	if (strcmp(dst, "/") == 0)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid volume '%s': cannot mount over the VE's /", spec);
	/* options: ro or rw, and idmap, comma-separated */
	for (char *save = NULL, *o = mode ? strtok_r(mode, ",", &save) : NULL; o;
	     o = strtok_r(NULL, ",", &save)) {
		if (strcmp(o, "ro") == 0)
			ret->readonly = true;
		else if (strcmp(o, "idmap") == 0)
			ret->idmap = true;
		else if (strcmp(o, "rw") != 0)
			return vert_error_set(
				err, EINVAL, VERT_ERR_INVALID,
				"invalid volume '%s': option '%s' is not 'ro', 'rw' or "
				"'idmap'",
				spec, o);
	}
	if (stat(src, &st) < 0)
		return vert_error_set(err, errno, VERT_ERR_INVALID,
				      "invalid volume '%s': source '%s': %s", spec, src,
				      strerror(errno));
	ret->source = xstrdup(src);
	ret->dest = xstrdup(dst);

	return 0;
}

int ve_parse_env(const char *kv, vert_error_t *err)
{
	const char *eq = kv ? strchr(kv, '=') : NULL;

	if (!eq || eq == kv)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid environment variable '%s': expected KEY=VALUE",
				      kv ? kv : "");
	for (const char *c = kv; c < eq; c++)
		if (!isalnum((unsigned char)*c) && *c != '_')
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "invalid environment variable name in '%s'", kv);
	if (isdigit((unsigned char)kv[0]))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid environment variable name in '%s'", kv);
	return 0;
}

static bool user_part_valid(const char *s, size_t n)
{
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.' &&
		    s[i] != '$')
			return false;
	if (isdigit((unsigned char)s[0])) {
		/* numeric: must be all digits and fit in 32 bits */
		uint32_t v;
		char buf[33];
		memcpy(buf, s, n);
		buf[n] = '\0';
		return parse_u32(buf, &v) == 0 && v != UINT32_MAX;
	}
	return s[0] != '-';
}

int ve_parse_user(const char *spec, vert_error_t *err)
{
	const char *colon = spec ? strchr(spec, ':') : NULL;
	size_t ul = colon ? (size_t)(colon - spec) : (spec ? strlen(spec) : 0);

	if (!spec || !user_part_valid(spec, ul) ||
	    (colon && !user_part_valid(colon + 1, strlen(colon + 1))))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid user '%s': expected UID[:GID] or NAME[:GROUP]",
				      spec ? spec : "");
	return 0;
}

bool ve_hostname_valid(const char *h)
{
	size_t n = h ? strlen(h) : 0, label = 0;

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return h[n - 1] != '-' && h[n - 1] != '.';
}

int ve_hostname_check(const char *h, vert_error_t *err)
{
	if (ve_hostname_valid(h))
		return 0;
	return vert_error_set(
		err, EINVAL, VERT_ERR_INVALID,
		"invalid hostname '%s': use letters, digits, '-' and '.' (at most 64)", h);
}

int ve_config_validate(const struct ve_paths *p, const struct ve_config *c, vert_error_t *err)
{
	int r;

	/* the VE name was checked by ve_open */
	if (!c->template_name)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "no template given");
	if ((r = ve_name_check("template", c->template_name, err)) < 0)
		return r;
	if (c->hostname && (r = ve_hostname_check(c->hostname, err)) < 0)
		return r;
	for (size_t i = 0; c->env && c->env[i]; i++)
		if ((r = ve_parse_env(c->env[i], err)) < 0)
			return r;
	if (c->user && (r = ve_parse_user(c->user, err)) < 0)
		return r;
	if (c->workdir && !path_clean(c->workdir))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid working directory '%s': must be an absolute path",
				      c->workdir);
	{
		struct vnet_config nc = { .mode = c->net,
					  .ip = c->ip,
					  .publish = c->publish,
					  .dns = c->dns,
					  .hostname = c->hostname };
		if ((r = vnet_config_check(&nc, err)) < 0)
			return r;
	}
	for (size_t i = 0; c->cap_add && c->cap_add[i]; i++)
		if (rt_cap_from_name(c->cap_add[i]) < 0 && strcasecmp(c->cap_add[i], "ALL") != 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "unknown capability '%s'", c->cap_add[i]);
	for (size_t i = 0; c->cap_drop && c->cap_drop[i]; i++)
		if (rt_cap_from_name(c->cap_drop[i]) < 0 && strcasecmp(c->cap_drop[i], "ALL") != 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "unknown capability '%s'", c->cap_drop[i]);
	if (c->userns && !ve_userns_mode_valid(c->userns))
		return vert_error_set(
			err, EINVAL, VERT_ERR_INVALID,
			"invalid --userns '%s': private (the default) or host (unsafe: "
			"the VE's root is the host's root)",
			c->userns);
	if (p->rootless && c->userns && strcmp(c->userns, "host") == 0)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "--userns host needs real root: a rootless VE always has a "
				      "user namespace of its own");
	if (p->rootless && c->privileged)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "--privileged needs real root");
	if (c->privileged && c->userns && strcmp(c->userns, "private") == 0)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "--privileged gives the VE the host's root: it can't have "
				      "--userns private");
	return 0;
}

bool ve_userns_mode_valid(const char *m)
{
	return m && (strcmp(m, "private") == 0 || strcmp(m, "host") == 0);
}

/* Does the VE run in a user namespace of its own with a range from the
 * pool (root mode, not --userns host)? */
bool ve_config_userns_private(const struct ve_paths *p, const struct ve_config *c)
{
	return !p->rootless && !c->privileged && !(c->userns && strcmp(c->userns, "host") == 0);
}

/*
 * The sealed copy of vert (util/exe.c) keeps a VE's root from writing the
 * host's vert binary through /proc/PID/exe (runc CVE-2019-5736).  That
 * needs a VE root that could write it: one without a user namespace of its
 * own (--userns host, --privileged), or a binary owned or writable by
 * others than the host's root.  A VE in a user namespace of its own (the
 * default; rootless: the user's) maps no host uid 0, so whatever it
 * reaches, the kernel refuses its root a write to a binary owned by root
 * with no write bit for group or others: EACCES, as its CAP_DAC_OVERRIDE
 * covers only inodes whose owner its namespace maps.  LXC's unprivileged
 * containers were never open to CVE-2019-5736 for that reason.  There the
 * copy and its second exec (1.3 ms of a `vert exec`) protect nothing, and
 * run and exec (which main lets decide) skip them; every other VE gets
 * them.  may_reexec: re-execute this command from the copy now (nothing
 * done yet); otherwise a missing copy is an error.  c NULL: a VE whose
 * config can't be read yet gets the copy where it can be had, and is no
 * error here (the command fails on the config later, in its own words).
 */
int ve_exe_guard(const struct ve_paths *p, const struct ve_config *c, bool may_reexec,
		 vert_error_t *err)
{
	if (c && (p->rootless || ve_config_userns_private(p, c)) && vert_exe_root_only())
		return 0;
	if (vert_exe_sealed())
		return 0;
	if (may_reexec && vert_exe_saved_argv())
		return vert_exe_reexec_sealed(vert_exe_saved_argv(), err);
	if (!c)
		return 0;
	return vert_error_set(err, EPERM, VERT_ERR_RUNTIME,
			      "VE '%s': its root could write the vert binary (no user namespace "
			      "of its own, or a binary not root's alone), and this vert does not "
			      "run from its sealed copy",
			      c->name ? c->name : "?");
}

/* ---- persistent JSON ---- */

static struct json_object *strv_json(char *const *v)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static void add_i64(struct json_object *o, const char *k, int64_t v)
{
	if (v >= 0)
		json_object_object_add(o, k, json_object_new_int64(v));
}

struct json_object *ve_config_to_json(const struct ve_config *c)
{
	struct json_object *o = json_object_new_object(), *vols, *res;
	const struct rt_resources *r = &c->resources;

	json_object_object_add(o, "schema", json_object_new_int(VE_CONFIG_SCHEMA));
	add_str(o, "name", c->name);
	add_str(o, "template", c->template_name);
	add_str(o, "hostname", c->hostname);
	json_object_object_add(o, "env", strv_json(c->env));
	if (c->cmd)
		json_object_object_add(o, "cmd", strv_json(c->cmd));
	vols = json_object_new_array();
	for (size_t i = 0; i < c->n_volumes; i++) {
		struct json_object *v = json_object_new_object();
		add_str(v, "source", c->volumes[i].source);
		add_str(v, "dest", c->volumes[i].dest);
		json_object_object_add(v, "readonly",
				       json_object_new_boolean(c->volumes[i].readonly));
		if (c->volumes[i].idmap)
			json_object_object_add(v, "idmap", json_object_new_boolean(true));
		json_object_array_add(vols, v);
	}
	json_object_object_add(o, "volumes", vols);
	add_str(o, "user", c->user);
	add_str(o, "workdir", c->workdir);
	json_object_object_add(o, "terminal", json_object_new_boolean(c->terminal));
	add_str(o, "net", c->net);
	add_str(o, "ip", c->ip);
	if (c->publish)
		json_object_object_add(o, "publish", strv_json(c->publish));
	if (c->dns)
		json_object_object_add(o, "dns", strv_json(c->dns));
	json_object_object_add(o, "new_privileges", json_object_new_boolean(c->new_privileges));
	json_object_object_add(o, "cap_add", strv_json(c->cap_add));
	json_object_object_add(o, "cap_drop", strv_json(c->cap_drop));
	json_object_object_add(o, "read_only", json_object_new_boolean(c->read_only));
	json_object_object_add(o, "nesting", json_object_new_boolean(c->nesting));
	json_object_object_add(o, "autoremove", json_object_new_boolean(c->autoremove));
	json_object_object_add(o, "onboot", json_object_new_boolean(c->onboot));
	json_object_object_add(o, "persistent", json_object_new_boolean(c->persistent));
	if (c->stop_signal > 0) {
		char b[16];
		add_str(o, "stop_signal", signal_name(c->stop_signal, b));
	}
	add_i64(o, "stop_timeout", c->stop_timeout);
	add_str(o, "machine_id", c->machine_id);
	add_str(o, "userns", c->userns);
	if (c->idmap_base) {
		struct json_object *m = json_object_new_object();
		add_i64(m, "host_uid", c->idmap_base);
		add_i64(m, "host_gid", c->idmap_base);
		add_i64(m, "size", VE_IDMAP_SIZE);
		json_object_object_add(o, "idmap", m);
	}
	if (c->privileged)
		json_object_object_add(o, "privileged", json_object_new_boolean(true));
	if (c->ssh_keygen)
		json_object_object_add(o, "ssh_keygen", json_object_new_boolean(true));
	res = json_object_new_object();
	add_i64(res, "memory_max", r->memory_max);
	add_i64(res, "memory_high", r->memory_high);
	add_i64(res, "memory_swap_max", r->memory_swap_max);
	add_i64(res, "cpu_quota", r->cpu_quota);
	add_i64(res, "cpu_period", r->cpu_period);
	add_i64(res, "cpu_weight", r->cpu_weight);
	add_str(res, "cpuset_cpus", r->cpuset_cpus);
	add_str(res, "cpuset_mems", r->cpuset_mems);
	add_i64(res, "pids_max", r->pids_max);
	add_i64(res, "io_weight", r->io_weight);
	if (r->io_max)
		json_object_object_add(res, "io_max", strv_json(r->io_max));
	json_object_object_add(o, "resources", res);
	if (c->disk.size > 0) {
		struct json_object *d = json_object_new_object();
		add_i64(d, "size", c->disk.size);
		if (c->disk.inodes > 0)
			add_i64(d, "inodes", c->disk.inodes);
		add_str(d, "backend", c->disk.backend);
		if (c->disk.project_id > 0)
			add_i64(d, "project_id", c->disk.project_id);
		json_object_object_add(o, "disk", d);
	}
	return o;
}

#define F(n, t, cb, st, m) VJSON_FIELD(n, t, cb, st, m, 0)
#define FM(n, t, cb, st, m) VJSON_FIELD(n, t, cb, st, m, VJSON_MANDATORY)

static const struct vjson_field resources_table[] = {
	F("memory_max", VJSON_INT, vjson_int64, struct rt_resources, memory_max),
	F("memory_high", VJSON_INT, vjson_int64, struct rt_resources, memory_high),
	F("memory_swap_max", VJSON_INT, vjson_int64, struct rt_resources, memory_swap_max),
	F("cpu_quota", VJSON_INT, vjson_int64, struct rt_resources, cpu_quota),
	F("cpu_period", VJSON_INT, vjson_int64, struct rt_resources, cpu_period),
	F("cpu_weight", VJSON_INT, vjson_int64, struct rt_resources, cpu_weight),
	F("cpuset_cpus", VJSON_STRING, vjson_string, struct rt_resources, cpuset_cpus),
	F("cpuset_mems", VJSON_STRING, vjson_string, struct rt_resources, cpuset_mems),
	F("pids_max", VJSON_INT, vjson_int64, struct rt_resources, pids_max),
	F("io_weight", VJSON_INT, vjson_int64, struct rt_resources, io_weight),
	F("io_max", VJSON_ARRAY, vjson_strv, struct rt_resources, io_max),
	{},
};

static const struct vjson_field disk_table[] = {
	FM("size", VJSON_INT, vjson_int64, struct ve_disk, size),
	F("inodes", VJSON_INT, vjson_int64, struct ve_disk, inodes),
	FM("backend", VJSON_STRING, vjson_string, struct ve_disk, backend),
	F("project_id", VJSON_INT, vjson_int64, struct ve_disk, project_id),
	{},
};

static const struct vjson_field volume_table[] = {
	FM("source", VJSON_STRING, vjson_string, struct ve_volume, source),
	FM("dest", VJSON_STRING, vjson_string, struct ve_volume, dest),
	F("readonly", VJSON_BOOL, vjson_bool, struct ve_volume, readonly),
	F("idmap", VJSON_BOOL, vjson_bool, struct ve_volume, idmap),
	{},
};

static int set_volumes(struct json_object *v, void *target, const struct vjson_field *f,
		       const struct vjson_loc *loc, vert_error_t *err)
{
	struct ve_config *c = target;

	for (size_t i = 0; i < c->n_volumes; i++) {
		free(c->volumes[i].source);
		free(c->volumes[i].dest);
	}
	free(c->volumes);
	c->n_volumes = vjson_array_length(v);
	c->volumes = xcalloc(c->n_volumes + 1, sizeof(*c->volumes));
	for (size_t i = 0; i < c->n_volumes; i++) {
		int r = vjson_dispatch_elem(v, i, volume_table, &c->volumes[i], loc, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int set_stop_signal(struct json_object *v, void *target, const struct vjson_field *f,
			   const struct vjson_loc *loc, vert_error_t *err)
{
	const char *sig;
	int r;

	if ((r = vjson_get_string(v, loc, &sig, err)) < 0)
		return r;
	if (parse_signal(sig, target) < 0)
		return vjson_error(err, loc, "invalid stop_signal '%s'", sig);
	return 0;
}

static int set_machine_id(struct json_object *v, void *target, const struct vjson_field *f,
			  const struct vjson_loc *loc, vert_error_t *err)
{
	const char *id;
	int r;

	if ((r = vjson_get_string(v, loc, &id, err)) < 0)
		return r;
	if (!ve_machine_id_valid(id))
		return vjson_error(err, loc, "must be 32 hex digits");
	free(*(char **)target);
	*(char **)target = xstrdup(id);
	return 0;
}

static int set_userns(struct json_object *v, void *target, const struct vjson_field *f,
		      const struct vjson_loc *loc, vert_error_t *err)
{
	const char *m;
	int r;

	if ((r = vjson_get_string(v, loc, &m, err)) < 0)
		return r;
	if (!ve_userns_mode_valid(m))
		return vjson_error(err, loc, "must be \"private\" or \"host\"");
	free(*(char **)target);
	*(char **)target = xstrdup(m);
	return 0;
}

struct idmap_in {
	uint32_t uid, gid, size;
};

static const struct vjson_field idmap_table[] = {
	VJSON_FIELD("host_uid", VJSON_INT, vjson_uint32, struct idmap_in, uid, VJSON_MANDATORY),
	VJSON_FIELD("host_gid", VJSON_INT, vjson_uint32, struct idmap_in, gid, VJSON_MANDATORY),
	VJSON_FIELD("size", VJSON_INT, vjson_uint32, struct idmap_in, size, VJSON_MANDATORY),
	{},
};

/* One range for uids and gids, of VE_IDMAP_SIZE ids (all this vert makes). */
static int set_idmap(struct json_object *v, void *target, const struct vjson_field *f,
		     const struct vjson_loc *loc, vert_error_t *err)
{
	struct idmap_in m = { 0 };
	int r;

	(void)f;
	if ((r = vjson_dispatch_at(v, idmap_table, &m, loc, err)) < 0)
		return r;
	if (m.uid != m.gid || m.size != VE_IDMAP_SIZE || m.uid < VE_IDMAP_SIZE ||
	    (uint64_t)m.uid + m.size > 0xFFFFFFFFULL)
		return vjson_error(
			err, loc,
			"must be one range of %u ids above %u, the same for uids and gids",
			VE_IDMAP_SIZE, VE_IDMAP_SIZE - 1);
	*(uint32_t *)target = m.uid;
	return 0;
}

static int set_stop_timeout(struct json_object *v, void *target, const struct vjson_field *f,
			    const struct vjson_loc *loc, vert_error_t *err)
{
	int t = -1, r;

	if ((r = vjson_int(v, &t, f, loc, err)) < 0)
		return r;
	if (t < 0 || t > 86400)
		return vjson_error(err, loc, "stop_timeout out of range");
	*(int *)target = t;
	return 0;
}

/* the config and what is only checked (the schema): the dispatch base */
struct config_in {
	struct ve_config c;
	int64_t schema;
};

#define C(n, t, cb, m) VJSON_FIELD(n, t, cb, struct config_in, m, 0)
#define CM(n, t, cb, m) VJSON_FIELD(n, t, cb, struct config_in, m, VJSON_MANDATORY)

static const struct vjson_field config_table[] = {
	C("schema", VJSON_INT, vjson_int64, schema),
	CM("name", VJSON_STRING, vjson_string, c.name),
	CM("template", VJSON_STRING, vjson_string, c.template_name),
	C("hostname", VJSON_STRING, vjson_string, c.hostname),
	C("env", VJSON_ARRAY, vjson_strv, c.env),
	C("cmd", VJSON_ARRAY, vjson_strv, c.cmd),
	C("volumes", VJSON_ARRAY, set_volumes, c),
	C("user", VJSON_STRING, vjson_string, c.user),
	C("workdir", VJSON_STRING, vjson_string, c.workdir),
	C("terminal", VJSON_BOOL, vjson_bool, c.terminal),
	C("net", VJSON_STRING, vjson_string, c.net),
	C("ip", VJSON_STRING, vjson_string, c.ip),
	C("publish", VJSON_ARRAY, vjson_strv, c.publish),
	C("dns", VJSON_ARRAY, vjson_strv, c.dns),
	C("new_privileges", VJSON_BOOL, vjson_bool, c.new_privileges),
	C("cap_add", VJSON_ARRAY, vjson_strv, c.cap_add),
	C("cap_drop", VJSON_ARRAY, vjson_strv, c.cap_drop),
	C("read_only", VJSON_BOOL, vjson_bool, c.read_only),
	C("nesting", VJSON_BOOL, vjson_bool, c.nesting),
	C("autoremove", VJSON_BOOL, vjson_bool, c.autoremove),
	C("onboot", VJSON_BOOL, vjson_bool, c.onboot),
	C("persistent", VJSON_BOOL, vjson_bool, c.persistent),
	C("machine_id", VJSON_STRING, set_machine_id, c.machine_id),
	C("ssh_keygen", VJSON_BOOL, vjson_bool, c.ssh_keygen),
	C("userns", VJSON_STRING, set_userns, c.userns),
	C("idmap", VJSON_OBJECT, set_idmap, c.idmap_base),
	C("privileged", VJSON_BOOL, vjson_bool, c.privileged),
	C("stop_signal", VJSON_STRING, set_stop_signal, c.stop_signal),
	C("stop_timeout", VJSON_INT, set_stop_timeout, c.stop_timeout),
	{ .name = "resources",
	  .type = VJSON_OBJECT,
	  .cb = vjson_object,
	  .offset = offsetof(struct config_in, c.resources),
	  .data = resources_table },
	{ .name = "disk",
	  .type = VJSON_OBJECT,
	  .cb = vjson_object,
	  .offset = offsetof(struct config_in, c.disk),
	  .data = disk_table },
	{},
};

/* read first: a document of another schema is refused as such, not for
 * the first key it names differently */
static const struct vjson_field schema_table[] = {
	C("schema", VJSON_INT, vjson_int64, schema),
	{},
};

int ve_config_parse(struct json_object *o, const char *where, struct ve_config *c,
		    vert_error_t *err)
{
	struct config_in in = { .schema = -1 };
	int r;

	ve_config_init(&in.c);
	memset(c, 0, sizeof(*c));
	if ((r = vjson_dispatch(o, schema_table, VJSON_ALLOW_UNKNOWN, &in, where, err)) < 0)
		goto fail;
	if (in.schema != VE_CONFIG_SCHEMA) {
		r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				   "%s: unsupported schema %lld (this vert reads %d)", where,
				   (long long)in.schema, VE_CONFIG_SCHEMA);
		goto fail;
	}
	if ((r = vjson_dispatch(o, config_table, 0, &in, where, err)) < 0)
		goto fail;
	*c = in.c;
	return 0;
fail:
	ve_config_done(&in.c);
	return r;
}

int ve_config_from_json(struct json_object *o, struct ve_config *c, vert_error_t *err)
{
	return ve_config_parse(o, "config", c, err);
}

/* ---- merging a `vert set` patch ---- */

static void merge_resources(struct rt_resources *r, const struct rt_resources *p)
{
#define TAKE(f)                                                                                    \
	if (p->f >= 0)                                                                             \
	r->f = p->f
	TAKE(memory_max);
	TAKE(memory_high);
	TAKE(memory_swap_max);
	TAKE(cpu_quota);
	TAKE(cpu_period);
	TAKE(cpu_weight);
	TAKE(pids_max);
	TAKE(io_weight);
#undef TAKE
	if (p->cpuset_cpus) {
		free(r->cpuset_cpus);
		r->cpuset_cpus = xstrdup(p->cpuset_cpus);
	}
	if (p->cpuset_mems) {
		free(r->cpuset_mems);
		r->cpuset_mems = xstrdup(p->cpuset_mems);
	}
	for (size_t i = 0; p->io_max && p->io_max[i]; i++)
		r->io_max = strv_push(r->io_max, xstrdup(p->io_max[i]));
}

static void replace_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? xstrdup(src) : NULL;
}

void ve_config_merge(struct ve_config *c, const struct ve_config *p, unsigned fields)
{
	if (fields & VE_F_HOSTNAME)
		replace_str(&c->hostname, p->hostname);
	if (fields & VE_F_ENV)
		for (size_t i = 0; p->env && p->env[i]; i++)
			c->env = strv_env_set(c->env, xstrdup(p->env[i]));
	if (fields & VE_F_VOLUMES) {
		for (size_t i = 0; i < p->n_volumes; i++) {
			size_t j;
			for (j = 0; j < c->n_volumes; j++)
				if (strcmp(c->volumes[j].dest, p->volumes[i].dest) == 0)
					break;
			if (j == c->n_volumes) {
				c->volumes = xrealloc(c->volumes,
						      (c->n_volumes + 1) * sizeof(*c->volumes));
				c->n_volumes++;
			} else {
				free(c->volumes[j].source);
				free(c->volumes[j].dest);
			}
			c->volumes[j].source = xstrdup(p->volumes[i].source);
			c->volumes[j].dest = xstrdup(p->volumes[i].dest);
			c->volumes[j].readonly = p->volumes[i].readonly;
			c->volumes[j].idmap = p->volumes[i].idmap;
		}
	}
	if (fields & VE_F_CMD) {
		strv_free(c->cmd);
		c->cmd = p->cmd ? strv_copy(p->cmd) : NULL;
	}
	if (fields & VE_F_USER)
		replace_str(&c->user, p->user);
	if (fields & VE_F_WORKDIR)
		replace_str(&c->workdir, p->workdir);
	if (fields & VE_F_RESOURCES)
		merge_resources(&c->resources, &p->resources);
	if (fields & VE_F_ONBOOT)
		c->onboot = p->onboot;
	if (fields & VE_F_STOP_SIGNAL)
		c->stop_signal = p->stop_signal;
	if (fields & VE_F_STOP_TIMEOUT)
		c->stop_timeout = p->stop_timeout;
	if (fields & VE_F_CAPS) {
		for (size_t i = 0; p->cap_add && p->cap_add[i]; i++)
			c->cap_add = strv_push(c->cap_add, xstrdup(p->cap_add[i]));
		for (size_t i = 0; p->cap_drop && p->cap_drop[i]; i++)
			c->cap_drop = strv_push(c->cap_drop, xstrdup(p->cap_drop[i]));
	}
	if (fields & VE_F_NET) {
		if (p->net)
			replace_str(&c->net, p->net);
		if (p->ip)
			replace_str(&c->ip, p->ip);
		for (size_t i = 0; p->publish && p->publish[i]; i++)
			ve_publish_add(&c->publish, p->publish[i]);
		for (size_t i = 0; p->dns && p->dns[i]; i++)
			c->dns = strv_push(c->dns, xstrdup(p->dns[i]));
	}
	if (fields & VE_F_READONLY)
		c->read_only = p->read_only;
	if (fields & VE_F_NEWPRIVS)
		c->new_privileges = p->new_privileges;
	if (fields & VE_F_USERNS) {
		if (p->userns)
			replace_str(&c->userns, p->userns);
		if (p->privileged)
			c->privileged = true;
	}
	/* the backend and project id stay: they are the disk's, not the
	 * patch's */
	if ((fields & VE_F_DISK) && p->disk.size > 0)
		c->disk.size = p->disk.size;
	if ((fields & VE_F_DISK) && p->disk.inodes > 0)
		c->disk.inodes = p->disk.inodes;
	if (fields & VE_F_NESTING)
		c->nesting = p->nesting;
}
