/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Table-driven JSON dispatch (see vert/json.h).  The only place in vert
 * that asks json-c for a member or a value: every reader goes through the
 * checks here, so a wrong type is an error with the file and the key, never
 * a silent 0.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>

#include "vert/json.h"
#include "vert/util.h"

const char *vjson_type_name(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "something else";
}

static const char *want_name(enum vjson_type t)
{
	static const char *const n[] = {
		[VJSON_ANY] = "a value",      [VJSON_STRING] = "a string",
		[VJSON_BOOL] = "a boolean",   [VJSON_INT] = "an integer",
		[VJSON_OBJECT] = "an object", [VJSON_ARRAY] = "an array",
	};
	return n[t];
}

static bool type_ok(struct json_object *v, enum vjson_type t)
{
	static const json_type jt[] = {
		[VJSON_STRING] = json_type_string, [VJSON_BOOL] = json_type_boolean,
		[VJSON_INT] = json_type_int,	   [VJSON_OBJECT] = json_type_object,
		[VJSON_ARRAY] = json_type_array,
	};
	return t == VJSON_ANY || json_object_is_type(v, jt[t]);
}

int vjson_error(vert_error_t *err, const struct vjson_loc *loc, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (loc->key[0])
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "%s: key '%s': %s", loc->where,
				      loc->key, msg);
	return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "%s: %s", loc->where, msg);
}

/* a key path longer than the buffer ends in "..." */
static void loc_truncated(struct vjson_loc *l, int n)
{
	if (n < 0 || (size_t)n >= sizeof(l->key))
		memcpy(l->key + sizeof(l->key) - 4, "...", 4);
}

void vjson_loc_child(const struct vjson_loc *parent, const char *name, struct vjson_loc *ret)
{
	ret->where = parent->where;
	ret->flags = parent->flags;
	loc_truncated(ret, parent->key[0] ? snprintf(ret->key, sizeof(ret->key), "%s.%s",
						     parent->key, name)
					  : snprintf(ret->key, sizeof(ret->key), "%s", name));
}

void vjson_loc_index(const struct vjson_loc *parent, size_t i, struct vjson_loc *ret)
{
	ret->where = parent->where;
	ret->flags = parent->flags;
	loc_truncated(ret, snprintf(ret->key, sizeof(ret->key), "%s[%zu]", parent->key, i));
}

static int wrong_type(struct json_object *v, const char *want, const struct vjson_loc *loc,
		      vert_error_t *err)
{
	return vjson_error(err, loc, "expected %s, got %s", want, vjson_type_name(v));
}

int vjson_dispatch_at(struct json_object *o, const struct vjson_field *table, void *base,
		      const struct vjson_loc *loc, vert_error_t *err)
{
	_cleanup_free_ bool *seen = NULL;
	size_t n = 0, next = 0;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return wrong_type(o, "an object", loc, err);
	while (table[n].name)
		n++;
	seen = xcalloc(n + 1, sizeof(*seen));
	json_object_object_foreach(o, k, v)
	{
		struct vjson_loc child;
		size_t i = n, j;

		vjson_loc_child(loc, k, &child);
		/* from the field after the last one found: what vert writes
		 * comes in the table's order, one comparison per key */
		for (j = 0; j < n; j++, next = next + 1 < n ? next + 1 : 0)
			if (strcmp(table[next].name, k) == 0) {
				i = next;
				next = next + 1 < n ? next + 1 : 0;
				break;
			}
		if (i == n) {
			if (loc->flags & VJSON_ALLOW_UNKNOWN)
				continue;
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "%s: unknown key '%s'",
					      loc->where, child.key);
		}
		if (!v && (table[i].flags & VJSON_NULLABLE))
			continue; /* null: as if absent */
		if (!type_ok(v, table[i].type)) {
			if (table[i].flags & VJSON_PERMISSIVE)
				continue;
			return wrong_type(v, want_name(table[i].type), &child, err);
		}
		seen[i] = true;
		if ((r = table[i].cb(v, (char *)base + table[i].offset, &table[i], &child, err)) <
		    0)
			return r;
	}
	for (size_t i = 0; i < n; i++)
		if ((table[i].flags & VJSON_MANDATORY) && !seen[i]) {
			struct vjson_loc child;
			vjson_loc_child(loc, table[i].name, &child);
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "%s: key '%s' is missing", loc->where, child.key);
		}
	return 0;
}

int vjson_dispatch(struct json_object *o, const struct vjson_field *table, unsigned flags,
		   void *base, const char *where, vert_error_t *err)
{
	struct vjson_loc loc = { .where = where, .flags = flags };
	return vjson_dispatch_at(o, table, base, &loc, err);
}

int vjson_dispatch_elem(struct json_object *a, size_t i, const struct vjson_field *table,
			void *base, const struct vjson_loc *loc, vert_error_t *err)
{
	struct vjson_loc child;

	vjson_loc_index(loc, i, &child);
	return vjson_dispatch_at(json_object_array_get_idx(a, i), table, base, &child, err);
}

size_t vjson_array_length(struct json_object *a)
{
	return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* ---- stock setters ---- */

int vjson_get_string(struct json_object *v, const struct vjson_loc *loc, const char **ret,
		     vert_error_t *err)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return wrong_type(v, "a string", loc, err);
	s = json_object_get_string(v);
	/* "a\u0000b" would silently become "a" in every C string use */
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return vjson_error(err, loc, "the string contains a NUL byte");
	*ret = s;
	return 0;
}

int vjson_string(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err)
{
	char **p = target;
	const char *s;
	int r;

	(void)f;
	if ((r = vjson_get_string(v, loc, &s, err)) < 0)
		return r;
	free(*p);
	*p = xstrdup(s);
	return 0;
}

int vjson_bool(struct json_object *v, void *target, const struct vjson_field *f,
	       const struct vjson_loc *loc, vert_error_t *err)
{
	(void)f;
	if (!json_object_is_type(v, json_type_boolean))
		return wrong_type(v, "a boolean", loc, err);
	*(bool *)target = json_object_get_boolean(v);
	return 0;
}

int vjson_get_int64(struct json_object *v, const struct vjson_loc *loc, int64_t *ret,
		    vert_error_t *err)
{
	int64_t i;

	if (!json_object_is_type(v, json_type_int))
		return wrong_type(v, "an integer", loc, err);
	i = json_object_get_int64(v);
	/* json-c keeps integers above INT64_MAX as uint64 and clamps here */
	if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return vjson_error(err, loc, "%s is out of range", json_object_to_json_string(v));
	*ret = i;
	return 0;
}

static int get_ranged(struct json_object *v, int64_t min, int64_t max, const struct vjson_loc *loc,
		      int64_t *ret, vert_error_t *err)
{
	int64_t i = 0;
	int r;

	if ((r = vjson_get_int64(v, loc, &i, err)) < 0)
		return r;
	if (i < min || i > max)
		return vjson_error(err, loc, "%lld is out of range (%lld..%lld)", (long long)i,
				   (long long)min, (long long)max);
	*ret = i;
	return 0;
}

int vjson_int(struct json_object *v, void *target, const struct vjson_field *f,
	      const struct vjson_loc *loc, vert_error_t *err)
{
	int64_t i = 0;
	int r;

	(void)f;
	if ((r = get_ranged(v, INT_MIN, INT_MAX, loc, &i, err)) < 0)
		return r;
	*(int *)target = (int)i;
	return 0;
}

int vjson_pid(struct json_object *v, void *target, const struct vjson_field *f,
	      const struct vjson_loc *loc, vert_error_t *err)
{
	int64_t i = 0;
	int r;

	(void)f;
	if ((r = get_ranged(v, 0, INT_MAX, loc, &i, err)) < 0)
		return r;
	*(pid_t *)target = (pid_t)i;
	return 0;
}

int vjson_int64(struct json_object *v, void *target, const struct vjson_field *f,
		const struct vjson_loc *loc, vert_error_t *err)
{
	(void)f;
	return vjson_get_int64(v, loc, target, err);
}

int vjson_uint64(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err)
{
	(void)f;
	if (!json_object_is_type(v, json_type_int))
		return wrong_type(v, "an integer", loc, err);
	if (json_object_get_int64(v) < 0)
		return vjson_error(err, loc, "%lld is out of range (must not be negative)",
				   (long long)json_object_get_int64(v));
	*(uint64_t *)target = json_object_get_uint64(v);
	return 0;
}

int vjson_uint32(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err)
{
	int64_t i = 0;
	int r;

	(void)f;
	if ((r = get_ranged(v, 0, UINT32_MAX, loc, &i, err)) < 0)
		return r;
	*(uint32_t *)target = (uint32_t)i;
	return 0;
}

int vjson_strv(struct json_object *v, void *target, const struct vjson_field *f,
	       const struct vjson_loc *loc, vert_error_t *err)
{
	_cleanup_strv_ char **r = NULL;
	char ***p = target;
	size_t n;

	(void)f;
	if (!json_object_is_type(v, json_type_array))
		return wrong_type(v, "an array of strings", loc, err);
	n = json_object_array_length(v);
	r = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		struct vjson_loc child;
		const char *s;
		int ret;

		vjson_loc_index(loc, i, &child);
		if ((ret = vjson_get_string(json_object_array_get_idx(v, i), &child, &s, err)) < 0)
			return ret;
		r[i] = xstrdup(s);
	}
	strv_free(*p);
	*p = TAKE_PTR(r);
	return 0;
}

int vjson_strmap(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err)
{
	_cleanup_strv_ char **r = NULL;
	char ***p = target;
	size_t n = 0, old;

	(void)f;
	if (!json_object_is_type(v, json_type_object))
		return wrong_type(v, "an object", loc, err);
	/* sized once: strv_push per pair would make a map of N keys (the
	 * leases of 10,000 VEs) cost N^2 */
	r = xcalloc(2 * (size_t)json_object_object_length(v) + 1, sizeof(*r));
	json_object_object_foreach(v, k, e)
	{
		struct vjson_loc child;
		const char *s;
		int ret;

		vjson_loc_child(loc, k, &child);
		if ((ret = vjson_get_string(e, &child, &s, err)) < 0)
			return ret;
		r[n++] = xstrdup(k);
		r[n++] = xstrdup(s);
	}
	/* appended: a map adds to what other keys already put there */
	old = strv_len(*p);
	*p = xrealloc(*p, (old + n + 1) * sizeof(**p));
	for (size_t i = 0; i < n; i++)
		(*p)[old + i] = TAKE_PTR(r[i]);
	(*p)[old + n] = NULL;
	return 0;
}

int vjson_object(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err)
{
	return vjson_dispatch_at(v, f->data, target, loc, err);
}

int vjson_present(struct json_object *v, void *target, const struct vjson_field *f,
		  const struct vjson_loc *loc, vert_error_t *err)
{
	(void)v, (void)f, (void)loc, (void)err;
	*(bool *)target = true;
	return 0;
}

int vjson_ignore(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err)
{
	(void)v, (void)target, (void)f, (void)loc, (void)err;
	return 0;
}

int vjson_borrow(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err)
{
	(void)f, (void)loc, (void)err;
	*(struct json_object **)target = v;
	return 0;
}

/* ---- parsing ---- */

int vjson_parse(const char *buf, size_t len, const char *where, struct json_object **ret,
		vert_error_t *err)
{
	_cleanup_free_ char *copy = NULL;
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;
	size_t end;

	if (memchr(buf, '\0', len))
		return vert_error_set(err, EBADMSG, VERT_ERR_INVALID,
				      "%s: invalid JSON: a NUL byte", where);
	if (len >= INT_MAX)
		return vert_error_set(err, EFBIG, VERT_ERR_INVALID, "%s: too large", where);
	tok = json_tokener_new();
	if (!tok)
		abort();
	/* with its NUL: the end of the text ends a number or literal at the
	 * top ("null", "1") instead of asking for more */
	copy = xmalloc(len + 1);
	memcpy(copy, buf, len);
	copy[len] = '\0';
	o = json_tokener_parse_ex(tok, copy, (int)len + 1);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (e == json_tokener_continue) {
		json_object_put(o);
		return vert_error_set(err, EBADMSG, VERT_ERR_INVALID,
				      "%s: invalid JSON: unexpected end of the document", where);
	}
	if (e != json_tokener_success) {
		json_object_put(o);
		return vert_error_set(err, EBADMSG, VERT_ERR_INVALID, "%s: invalid JSON: %s", where,
				      json_tokener_error_desc(e));
	}
	for (; end < len; end++)
		if (!strchr(" \t\r\n", buf[end])) {
			json_object_put(o);
			return vert_error_set(err, EBADMSG, VERT_ERR_INVALID,
					      "%s: invalid JSON: data after the document", where);
		}
	*ret = o;
	return 0;
}

int vjson_parse_file(int dirfd, const char *path, size_t max, struct json_object **ret,
		     vert_error_t *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_file_at(dirfd, path, max, &buf, &len);
	if (r == -ENOENT)
		return vert_error_set(err, ENOENT, VERT_ERR_NOTFOUND, "'%s' does not exist", path);
	if (r == -EFBIG)
		return vert_error_set(err, EFBIG, VERT_ERR_INVALID, "%s: larger than %zu bytes",
				      path, max);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "read '%s'", path);
	return vjson_parse(buf, len, path, ret, err);
}
