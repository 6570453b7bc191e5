/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One JSON layer: every reader of a JSON document (spec, VE config, state
 * files, network.json, leases) describes the keys it knows in a table and
 * lets vjson_dispatch() check types, ranges, mandatory keys and unknown
 * keys, in the spirit of systemd's JsonDispatch.  Errors name the file and
 * the key path:
 *   /run/vert/ves/web1/state.json: key 'pid': expected an integer, got a string
 */
#ifndef VERT_JSON_H
#define VERT_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vert/error.h"

enum vjson_type {
	VJSON_ANY, /* the setter checks */
	VJSON_STRING,
	VJSON_BOOL,
	VJSON_INT,
	VJSON_OBJECT,
	VJSON_ARRAY,
};

/* field flags */
#define VJSON_MANDATORY (1u << 0)  /* absent: an error */
#define VJSON_PERMISSIVE (1u << 1) /* wrong type: skipped, not an error */
#define VJSON_NULLABLE (1u << 2)   /* null: as if absent */

/* dispatch flags (inherited by nested objects) */
#define VJSON_ALLOW_UNKNOWN (1u << 0) /* keys not in the table are skipped */

/* Where a value sits: the document (a file name) and the key path in it. */
struct vjson_loc {
	const char *where;
	char key[256]; /* "process.user.uid", "mounts[2].source"; "" at the top */
	unsigned flags;
};

struct vjson_field;

/* Store v (already of f->type unless VJSON_ANY) at target (base + offset). */
typedef int (*vjson_setter_t)(struct json_object *v, void *target, const struct vjson_field *f,
			      const struct vjson_loc *loc, vert_error_t *err);

struct vjson_field {
	const char *name;
	enum vjson_type type;
	vjson_setter_t cb;
	size_t offset;
	unsigned flags;
	const void *data; /* vjson_object: its sub-table */
};

/* The table entry for member m of struct st (designated initializers:
 * one place that knows the field order of struct vjson_field). */
#define VJSON_FIELD(n, t, setter, st, m, fl)                                                       \
	{                                                                                          \
		.name = (n), .type = (t), .cb = (setter), .offset = offsetof(st, m), .flags = (fl) \
	}

/* Dispatch the members of object o into base by table (ends with a NULL
 * name).  A key not in the table is an error unless VJSON_ALLOW_UNKNOWN. */
int vjson_dispatch(struct json_object *o, const struct vjson_field *table, unsigned flags,
		   void *base, const char *where, vert_error_t *err);
/* The same for a nested object o found at loc (setters use it). */
int vjson_dispatch_at(struct json_object *o, const struct vjson_field *table, void *base,
		      const struct vjson_loc *loc, vert_error_t *err);
/* Element i of array a must be an object: dispatch it at "KEY[i]". */
int vjson_dispatch_elem(struct json_object *a, size_t i, const struct vjson_field *table,
			void *base, const struct vjson_loc *loc, vert_error_t *err);

/* "WHERE: key 'KEY': MESSAGE" (or "WHERE: MESSAGE" at the top), VERT_ERR_INVALID. */
int vjson_error(vert_error_t *err, const struct vjson_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vjson_loc_child(const struct vjson_loc *parent, const char *name, struct vjson_loc *ret);
void vjson_loc_index(const struct vjson_loc *parent, size_t i, struct vjson_loc *ret);
const char *vjson_type_name(struct json_object *v); /* "a string", "null", ... */

/* Stock setters. */
int vjson_string(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err); /* char *, strdup */
int vjson_bool(struct json_object *v, void *target, const struct vjson_field *f,
	       const struct vjson_loc *loc, vert_error_t *err); /* bool */
int vjson_int(struct json_object *v, void *target, const struct vjson_field *f,
	      const struct vjson_loc *loc, vert_error_t *err); /* int */
int vjson_pid(struct json_object *v, void *target, const struct vjson_field *f,
	      const struct vjson_loc *loc, vert_error_t *err); /* pid_t, >= 0 */
int vjson_int64(struct json_object *v, void *target, const struct vjson_field *f,
		const struct vjson_loc *loc, vert_error_t *err); /* int64_t */
int vjson_uint64(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err); /* uint64_t, >= 0 */
int vjson_uint32(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err); /* uint32_t */
int vjson_strv(struct json_object *v, void *target, const struct vjson_field *f,
	       const struct vjson_loc *loc, vert_error_t *err); /* char **, array of strings */
int vjson_strmap(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err); /* char **: k1, v1, k2, v2... */
int vjson_object(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err); /* f->data: sub-table */
int vjson_present(struct json_object *v, void *target, const struct vjson_field *f,
		  const struct vjson_loc *loc, vert_error_t *err); /* bool: the key is there */
int vjson_ignore(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err); /* known, type-checked, unused */
int vjson_borrow(struct json_object *v, void *target, const struct vjson_field *f,
		 const struct vjson_loc *loc, vert_error_t *err); /* struct json_object *, no ref */

/* Typed reads of one value at loc (for arrays and maps). */
int vjson_get_string(struct json_object *v, const struct vjson_loc *loc, const char **ret,
		     vert_error_t *err);
int vjson_get_int64(struct json_object *v, const struct vjson_loc *loc, int64_t *ret,
		    vert_error_t *err);
size_t vjson_array_length(struct json_object *a); /* 0 for a non-array */

/* Parse text (a NUL inside is an error) / a file (at most max bytes). */
int vjson_parse(const char *buf, size_t len, const char *where, struct json_object **ret,
		vert_error_t *err);
/* -ENOENT (err set, kind VERT_ERR_NOTFOUND) when there is no such file. */
int vjson_parse_file(int dirfd, const char *path, size_t max, struct json_object **ret,
		     vert_error_t *err);

static inline void vjson_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(vjson_putp)))

#endif
