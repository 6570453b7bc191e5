/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The JSON layer: types, ranges, mandatory, permissive, unknown keys,
 * nesting, and messages that name the file and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "vert/json.h"
#include "vert/util.h"

struct inner {
	int64_t n;
	char *tag;
};

struct doc {
	char *s;
	bool b;
	int i;
	pid_t pid;
	int64_t i64;
	uint64_t u64;
	uint32_t u32;
	char **v;
	char **map;
	struct inner in;
	bool seen;
	struct json_object *raw;
};

#define F(n, t, cb, m, fl)                                                                         \
	{                                                                                          \
		n, t, cb, offsetof(struct doc, m), fl, NULL                                        \
	}

static const struct vjson_field inner_table[] = {
	{ "n", VJSON_INT, vjson_int64, offsetof(struct inner, n), VJSON_MANDATORY, NULL },
	{ "tag", VJSON_STRING, vjson_string, offsetof(struct inner, tag), 0, NULL },
	{},
};

static const struct vjson_field table[] = {
	F("s", VJSON_STRING, vjson_string, s, 0),
	F("b", VJSON_BOOL, vjson_bool, b, 0),
	F("i", VJSON_INT, vjson_int, i, 0),
	F("pid", VJSON_INT, vjson_pid, pid, 0),
	F("i64", VJSON_INT, vjson_int64, i64, 0),
	F("u64", VJSON_INT, vjson_uint64, u64, 0),
	F("u32", VJSON_INT, vjson_uint32, u32, 0),
	F("v", VJSON_ARRAY, vjson_strv, v, 0),
	F("map", VJSON_OBJECT, vjson_strmap, map, 0),
	{ "in", VJSON_OBJECT, vjson_object, offsetof(struct doc, in), 0, inner_table },
	F("seen", VJSON_ANY, vjson_present, seen, 0),
	F("raw", VJSON_ARRAY, vjson_borrow, raw, 0),
	F("lax", VJSON_INT, vjson_int, i, VJSON_PERMISSIVE),
	F("maybe", VJSON_STRING, vjson_string, s, VJSON_NULLABLE),
	{},
};

static const struct vjson_field mandatory_table[] = {
	F("pid", VJSON_INT, vjson_pid, pid, VJSON_MANDATORY),
	F("s", VJSON_STRING, vjson_string, s, VJSON_MANDATORY | VJSON_NULLABLE),
	{},
};

static void doc_done(struct doc *d)
{
	free(d->s);
	strv_free(d->v);
	strv_free(d->map);
	free(d->in.tag);
	memset(d, 0, sizeof(*d));
}

/* Parse txt and dispatch it at "test.json"; the error message, or NULL. */
static char *run(const char *txt, const struct vjson_field *t, unsigned flags, struct doc *d)
{
	_cleanup_json_ struct json_object *o = NULL;
	vert_error_t e = VERT_ERROR_INIT;
	int r;

	memset(d, 0, sizeof(*d));
	r = vjson_parse(txt, strlen(txt), "test.json", &o, &e);
	if (r == 0)
		r = vjson_dispatch(o, t, flags, d, "test.json", &e);
	d->raw = NULL; /* borrowed from o, which goes now */
	if (r == 0) {
		assert_null(e.msg);
		return NULL;
	}
	assert_int_equal(r, -e.errnum);
	assert_non_null(e.msg);
	return e.msg;
}

static void expect_error(const char *txt, const struct vjson_field *t, unsigned flags,
			 const char *msg)
{
	struct doc d;
	_cleanup_free_ char *m = run(txt, t, flags, &d);

	if (!m || !strstr(m, msg))
		fail_msg("'%s': expected an error with \"%s\", got \"%s\"", txt, msg,
			 m ? m : "(accepted)");
	doc_done(&d);
}

/* Keys in any order (the lookup starts after the last field found), with
 * unknown ones between them, each land in their own field. */
static void test_key_order(void **state)
{
	struct doc d;
	(void)state;

	assert_null(run("{\"raw\":[1],\"u32\":7,\"s\":\"x\",\"zz\":1,\"u32x\":2,\"in\":{\"tag\":"
			"\"t\",\"n\":3},"
			"\"b\":true,\"pid\":9,\"seen\":1,\"i\":4}",
			table, VJSON_ALLOW_UNKNOWN, &d));
	assert_string_equal(d.s, "x");
	assert_true(d.b);
	assert_int_equal(d.i, 4);
	assert_int_equal(d.pid, 9);
	assert_int_equal(d.u32, 7);
	assert_int_equal(d.in.n, 3);
	assert_string_equal(d.in.tag, "t");
	assert_true(d.seen);
	doc_done(&d);
	/* the last field, then the first */
	assert_null(run("{\"maybe\":\"m\",\"s\":\"y\"}", table, 0, &d));
	assert_string_equal(d.s, "y");
	doc_done(&d);
	expect_error("{\"b\":true,\"s\":\"x\",\"nope\":1}", table, 0, "unknown key 'nope'");
}

static void test_types(void **state)
{
	struct doc d;
	(void)state;

	assert_null(run("{\"s\":\"x\",\"b\":true,\"i\":-5,\"pid\":42,\"i64\":-9000000000,"
			"\"u64\":18446744073709551615,\"u32\":4294967295,\"v\":[\"a\",\"b\"],"
			"\"map\":{\"k\":\"v\",\"k2\":\"v2\"},\"in\":{\"n\":7,\"tag\":\"t\"},"
			"\"seen\":null,\"raw\":[1]}",
			table, 0, &d));
	assert_string_equal(d.s, "x");
	assert_true(d.b);
	assert_int_equal(d.i, -5);
	assert_int_equal(d.pid, 42);
	assert_true(d.i64 == -9000000000LL);
	assert_true(d.u64 == UINT64_MAX);
	assert_int_equal(d.u32, UINT32_MAX);
	assert_string_equal(d.v[0], "a");
	assert_string_equal(d.v[1], "b");
	assert_null(d.v[2]);
	assert_string_equal(d.map[0], "k");
	assert_string_equal(d.map[1], "v");
	assert_string_equal(d.map[3], "v2");
	assert_null(d.map[4]);
	assert_int_equal(d.in.n, 7);
	assert_string_equal(d.in.tag, "t");
	assert_true(d.seen);
	doc_done(&d);
	/* absent keys leave the target alone */
	assert_null(run("{}", table, 0, &d));
	assert_null(d.s);
	assert_false(d.seen);
	doc_done(&d);
}

static void test_wrong_type(void **state)
{
	(void)state;
	expect_error("{\"pid\":\"12\"}", table, 0,
		     "test.json: key 'pid': expected an integer, got a string");
	expect_error("{\"s\":1}", table, 0,
		     "test.json: key 's': expected a string, got an integer");
	expect_error("{\"b\":1}", table, 0, "key 'b': expected a boolean, got an integer");
	expect_error("{\"i\":1.5}", table, 0, "key 'i': expected an integer, got a number");
	expect_error("{\"s\":null}", table, 0, "key 's': expected a string, got null");
	expect_error("{\"v\":\"a\"}", table, 0, "key 'v': expected an array, got a string");
	expect_error("{\"v\":[\"a\",2]}", table, 0,
		     "key 'v[1]': expected a string, got an integer");
	expect_error("{\"map\":{\"k\":[]}}", table, 0,
		     "key 'map.k': expected a string, got an array");
	expect_error("{\"in\":[]}", table, 0, "key 'in': expected an object, got an array");
	expect_error("{\"s\":\"a\\u0000b\"}", table, 0, "key 's': the string contains a NUL byte");
	expect_error("[1]", table, 0, "test.json: expected an object, got an array");
	expect_error("null", table, 0, "test.json: expected an object, got null");
}

static void test_ranges(void **state)
{
	(void)state;
	expect_error("{\"pid\":-1}", table, 0, "key 'pid': -1 is out of range");
	expect_error("{\"i\":2147483648}", table, 0, "key 'i': 2147483648 is out of range");
	expect_error("{\"u32\":4294967296}", table, 0, "key 'u32': 4294967296 is out of range");
	expect_error("{\"u32\":-1}", table, 0, "key 'u32': -1 is out of range");
	expect_error("{\"u64\":-1}", table, 0, "key 'u64': -1 is out of range");
	expect_error("{\"i64\":9223372036854775808}", table, 0, "key 'i64'");
}

static void test_mandatory(void **state)
{
	struct doc d;
	(void)state;

	expect_error("{\"s\":\"x\"}", mandatory_table, 0, "test.json: key 'pid' is missing");
	/* null for a nullable key counts as absent */
	expect_error("{\"pid\":1,\"s\":null}", mandatory_table, 0, "key 's' is missing");
	assert_null(run("{\"pid\":1,\"s\":\"x\"}", mandatory_table, 0, &d));
	doc_done(&d);
	/* in a nested object, the path names it */
	expect_error("{\"in\":{\"tag\":\"t\"}}", table, 0, "key 'in.n' is missing");
	expect_error("{\"in\":{\"n\":\"7\"}}", table, 0,
		     "key 'in.n': expected an integer, got a string");
}

static void test_permissive_nullable(void **state)
{
	struct doc d;
	(void)state;

	/* a wrong type is skipped, the right one read */
	assert_null(run("{\"lax\":\"x\"}", table, 0, &d));
	assert_int_equal(d.i, 0);
	doc_done(&d);
	assert_null(run("{\"lax\":3}", table, 0, &d));
	assert_int_equal(d.i, 3);
	doc_done(&d);
	assert_null(run("{\"maybe\":null}", table, 0, &d));
	assert_null(d.s);
	doc_done(&d);
	expect_error("{\"maybe\":1}", table, 0, "key 'maybe': expected a string");
}

static void test_unknown(void **state)
{
	struct doc d;
	(void)state;

	expect_error("{\"colour\":\"blue\"}", table, 0, "test.json: unknown key 'colour'");
	expect_error("{\"in\":{\"n\":1,\"x\":2}}", table, 0, "unknown key 'in.x'");
	assert_null(run("{\"colour\":\"blue\",\"in\":{\"n\":1,\"x\":2}}", table,
			VJSON_ALLOW_UNKNOWN, &d));
	assert_int_equal(d.in.n, 1);
	doc_done(&d);
}

static void test_parse(void **state)
{
	char dir[] = "/tmp/vert-test-json-XXXXXX";
	_cleanup_free_ char *path = NULL;
	struct json_object *o = NULL;
	vert_error_t e = VERT_ERROR_INIT;
	(void)state;

	assert_int_equal(vjson_parse("{\"a\":1}  \n", 10, "x", &o, &e), 0);
	json_object_put(o);
	assert_int_not_equal(vjson_parse("{\"a\":1} x", 9, "x", &o, &e), 0);
	assert_non_null(strstr(e.msg, "x: invalid JSON: data after the document"));
	vert_error_clear(&e);
	assert_int_not_equal(vjson_parse("{\"a\":", 5, "x", &o, &e), 0);
	assert_non_null(strstr(e.msg, "unexpected end"));
	vert_error_clear(&e);
	assert_int_not_equal(vjson_parse("{\"a\"\0:1}", 8, "x", &o, &e), 0);
	assert_non_null(strstr(e.msg, "NUL"));
	vert_error_clear(&e);
	assert_int_not_equal(vjson_parse("{a}", 3, "x", &o, &e), 0);
	assert_non_null(strstr(e.msg, "x: invalid JSON"));
	vert_error_clear(&e);

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/f.json", dir);
	assert_int_equal(vjson_parse_file(AT_FDCWD, path, 100, &o, &e), -ENOENT);
	assert_int_equal(e.kind, VERT_ERR_NOTFOUND);
	vert_error_clear(&e);
	{
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs("{\"a\": [1, 2, 3]}", f);
		fclose(f);
	}
	assert_int_equal(vjson_parse_file(AT_FDCWD, path, 100, &o, &e), 0);
	json_object_put(o);
	{
		/* read_file_at reads 4 KiB at least: a bigger file */
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs("{", f);
		for (int i = 0; i < 5000; i++)
			fputc(' ', f);
		fputs("}", f);
		fclose(f);
	}
	assert_int_not_equal(vjson_parse_file(AT_FDCWD, path, 4096, &o, &e), 0);
	assert_non_null(strstr(e.msg, "larger than"));
	vert_error_clear(&e);
	unlink(path);
	rmdir(dir);
}

static void test_cleanup(void **state)
{
	(void)state;
	{
		_cleanup_json_ struct json_object *o = json_object_new_object();
		json_object_object_add(o, "k", json_object_new_string("v"));
	}
	{
		_cleanup_json_ struct json_object *none = NULL;
		(void)none;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),	   cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_wrong_type), cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_mandatory),  cmocka_unit_test(test_permissive_nullable),
		cmocka_unit_test(test_unknown),	   cmocka_unit_test(test_parse),
		cmocka_unit_test(test_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
