/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VE configuration: validation of user input, and the persistent JSON
 * document (ves/NAME/config.json) with a schema version.  Unknown keys are
 * rejected with a message, never dropped.
 */
#include <ctype.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>

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
	rt_resources_done(&c->resources);
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
	if (mode && strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid volume '%s': mode '%s' is not 'ro' or 'rw'", spec,
				      mode);
	if (stat(src, &st) < 0)
		return vert_error_set(err, errno, VERT_ERR_INVALID,
				      "invalid volume '%s': source '%s': %s", spec, src,
				      strerror(errno));
	ret->source = xstrdup(src);
	ret->dest = xstrdup(dst);
	ret->readonly = mode && strcmp(mode, "ro") == 0;
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
		struct vnet_config nc = { c->net, c->ip, c->publish, c->dns, c->hostname };
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
	(void)p;
	return 0;
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
	json_object_object_add(o, "autoremove", json_object_new_boolean(c->autoremove));
	json_object_object_add(o, "onboot", json_object_new_boolean(c->onboot));
	json_object_object_add(o, "persistent", json_object_new_boolean(c->persistent));
	if (c->stop_signal > 0) {
		char b[16];
		add_str(o, "stop_signal", signal_name(c->stop_signal, b));
	}
	add_i64(o, "stop_timeout", c->stop_timeout);
	add_str(o, "machine_id", c->machine_id);
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
	return o;
}

static int bad_type(const char *key, const char *want, vert_error_t *err)
{
	return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "config: '%s' must be %s", key, want);
}

static int get_strv(struct json_object *v, const char *key, char ***ret, vert_error_t *err)
{
	char **r = NULL;
	if (!json_object_is_type(v, json_type_array))
		return bad_type(key, "an array of strings", err);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string)) {
			strv_free(r);
			return bad_type(key, "an array of strings", err);
		}
		r = strv_push(r, xstrdup(json_object_get_string(e)));
	}
	strv_free(*ret);
	*ret = r;
	return 0;
}

static int get_str(struct json_object *v, const char *key, char **ret, vert_error_t *err)
{
	if (!json_object_is_type(v, json_type_string))
		return bad_type(key, "a string", err);
	free(*ret);
	*ret = xstrdup(json_object_get_string(v));
	return 0;
}

static int get_bool(struct json_object *v, const char *key, bool *ret, vert_error_t *err)
{
	if (!json_object_is_type(v, json_type_boolean))
		return bad_type(key, "true or false", err);
	*ret = json_object_get_boolean(v);
	return 0;
}

static int get_i64(struct json_object *v, const char *key, int64_t *ret, vert_error_t *err)
{
	if (!json_object_is_type(v, json_type_int))
		return bad_type(key, "an integer", err);
	*ret = json_object_get_int64(v);
	return 0;
}

static int parse_resources(struct json_object *res, struct rt_resources *r, vert_error_t *err)
{
	int ret = 0;

	if (!json_object_is_type(res, json_type_object))
		return bad_type("resources", "an object", err);
	json_object_object_foreach(res, k, v)
	{
		if (strcmp(k, "memory_max") == 0)
			ret = get_i64(v, k, &r->memory_max, err);
		else if (strcmp(k, "memory_high") == 0)
			ret = get_i64(v, k, &r->memory_high, err);
		else if (strcmp(k, "memory_swap_max") == 0)
			ret = get_i64(v, k, &r->memory_swap_max, err);
		else if (strcmp(k, "cpu_quota") == 0)
			ret = get_i64(v, k, &r->cpu_quota, err);
		else if (strcmp(k, "cpu_period") == 0)
			ret = get_i64(v, k, &r->cpu_period, err);
		else if (strcmp(k, "cpu_weight") == 0)
			ret = get_i64(v, k, &r->cpu_weight, err);
		else if (strcmp(k, "cpuset_cpus") == 0)
			ret = get_str(v, k, &r->cpuset_cpus, err);
		else if (strcmp(k, "cpuset_mems") == 0)
			ret = get_str(v, k, &r->cpuset_mems, err);
		else if (strcmp(k, "pids_max") == 0)
			ret = get_i64(v, k, &r->pids_max, err);
		else if (strcmp(k, "io_weight") == 0)
			ret = get_i64(v, k, &r->io_weight, err);
		else if (strcmp(k, "io_max") == 0)
			ret = get_strv(v, k, &r->io_max, err);
		else
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "config: unknown key 'resources.%s'", k);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int parse_volumes(struct json_object *vols, struct ve_config *c, vert_error_t *err)
{
	if (!json_object_is_type(vols, json_type_array))
		return bad_type("volumes", "an array", err);
	c->n_volumes = json_object_array_length(vols);
	c->volumes = xcalloc(c->n_volumes, sizeof(*c->volumes));
	for (size_t i = 0; i < c->n_volumes; i++) {
		struct json_object *e = json_object_array_get_idx(vols, i);
		int r = 0;
		if (!json_object_is_type(e, json_type_object))
			return bad_type("volumes[]", "an object", err);
		json_object_object_foreach(e, k, v)
		{
			if (strcmp(k, "source") == 0)
				r = get_str(v, k, &c->volumes[i].source, err);
			else if (strcmp(k, "dest") == 0)
				r = get_str(v, k, &c->volumes[i].dest, err);
			else if (strcmp(k, "readonly") == 0)
				r = get_bool(v, k, &c->volumes[i].readonly, err);
			else
				return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
						      "config: unknown key 'volumes[].%s'", k);
			if (r < 0)
				return r;
		}
		if (!c->volumes[i].source || !c->volumes[i].dest)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "config: volume needs 'source' and 'dest'");
	}
	return 0;
}

int ve_config_from_json(struct json_object *o, struct ve_config *c, vert_error_t *err)
{
	int64_t schema = -1;
	int r = 0;

	ve_config_init(c);
	if (!json_object_is_type(o, json_type_object))
		return bad_type("config", "an object", err);
	json_object_object_foreach(o, k, v)
	{
		if (strcmp(k, "schema") == 0)
			r = get_i64(v, k, &schema, err);
		else if (strcmp(k, "name") == 0)
			r = get_str(v, k, &c->name, err);
		else if (strcmp(k, "template") == 0)
			r = get_str(v, k, &c->template_name, err);
		else if (strcmp(k, "hostname") == 0)
			r = get_str(v, k, &c->hostname, err);
		else if (strcmp(k, "env") == 0)
			r = get_strv(v, k, &c->env, err);
		else if (strcmp(k, "cmd") == 0)
			r = get_strv(v, k, &c->cmd, err);
		else if (strcmp(k, "volumes") == 0)
			r = parse_volumes(v, c, err);
		else if (strcmp(k, "user") == 0)
			r = get_str(v, k, &c->user, err);
		else if (strcmp(k, "workdir") == 0)
			r = get_str(v, k, &c->workdir, err);
		else if (strcmp(k, "terminal") == 0)
			r = get_bool(v, k, &c->terminal, err);
		else if (strcmp(k, "net") == 0)
			r = get_str(v, k, &c->net, err);
		else if (strcmp(k, "ip") == 0)
			r = get_str(v, k, &c->ip, err);
		else if (strcmp(k, "publish") == 0)
			r = get_strv(v, k, &c->publish, err);
		else if (strcmp(k, "dns") == 0)
			r = get_strv(v, k, &c->dns, err);
		else if (strcmp(k, "new_privileges") == 0)
			r = get_bool(v, k, &c->new_privileges, err);
		else if (strcmp(k, "cap_add") == 0)
			r = get_strv(v, k, &c->cap_add, err);
		else if (strcmp(k, "cap_drop") == 0)
			r = get_strv(v, k, &c->cap_drop, err);
		else if (strcmp(k, "read_only") == 0)
			r = get_bool(v, k, &c->read_only, err);
		else if (strcmp(k, "autoremove") == 0)
			r = get_bool(v, k, &c->autoremove, err);
		else if (strcmp(k, "onboot") == 0)
			r = get_bool(v, k, &c->onboot, err);
		else if (strcmp(k, "persistent") == 0)
			r = get_bool(v, k, &c->persistent, err);
		else if (strcmp(k, "machine_id") == 0) {
			r = get_str(v, k, &c->machine_id, err);
			if (r == 0 && !ve_machine_id_valid(c->machine_id))
				r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
						   "config: 'machine_id' must be 32 hex digits");
		} else if (strcmp(k, "ssh_keygen") == 0)
			r = get_bool(v, k, &c->ssh_keygen, err);
		else if (strcmp(k, "stop_signal") == 0) {
			_cleanup_free_ char *sig = NULL;
			r = get_str(v, k, &sig, err);
			if (r == 0 && parse_signal(sig, &c->stop_signal) < 0)
				r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
						   "config: invalid stop_signal '%s'", sig);
		} else if (strcmp(k, "stop_timeout") == 0) {
			int64_t t = -1;
			r = get_i64(v, k, &t, err);
			if (r == 0 && (t < 0 || t > 86400))
				r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
						   "config: stop_timeout out of range");
			c->stop_timeout = (int)t;
		} else if (strcmp(k, "resources") == 0)
			r = parse_resources(v, &c->resources, err);
		else
			r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					   "config: unknown key '%s'", k);
		if (r < 0)
			goto fail;
	}
	if (schema != VE_CONFIG_SCHEMA) {
		r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				   "config: unsupported schema %lld (this vert reads %d)",
				   (long long)schema, VE_CONFIG_SCHEMA);
		goto fail;
	}
	if (!c->name || !c->template_name) {
		r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				   "config: 'name' and 'template' are required");
		goto fail;
	}
	return 0;
fail:
	ve_config_done(c);
	return r;
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
}
