/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "vert/util.h"
#include "vert/ve.h"

static void test_names(void **state)
{
	(void)state;
	assert_true(ve_name_valid("web1"));
	assert_true(ve_name_valid("101"));
	assert_true(ve_name_valid("a.b-c_d"));
	assert_false(ve_name_valid(""));
	assert_false(ve_name_valid("."));
	assert_false(ve_name_valid(".."));
	assert_false(ve_name_valid("../x"));
	assert_false(ve_name_valid("a/b"));
	assert_false(ve_name_valid(".hidden"));
	assert_false(ve_name_valid("-x"));
	assert_false(ve_name_valid("a b"));
	assert_false(ve_name_valid("x\n"));
	assert_false(ve_name_valid(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 65 */
}

static void test_volume(void **state)
{
	struct ve_volume v;
	vert_error_t e = VERT_ERROR_INIT;
	const char *bad[] = { "",	    "/tmp",   "rel:/x",	      "/tmp:rel",
			      "/tmp:/x:rx", "/tmp:/", "/tmp:/a/../b", "/does/not/exist:/x",
			      ":/x",	    "/tmp:" };
	(void)state;
	assert_int_equal(ve_parse_volume("/tmp:/data:ro", &v, &e), 0);
	assert_string_equal(v.source, "/tmp");
	assert_string_equal(v.dest, "/data");
	assert_true(v.readonly);
	free(v.source);
	free(v.dest);
	assert_int_equal(ve_parse_volume("/tmp:/data", &v, &e), 0);
	assert_false(v.readonly);
	free(v.source);
	free(v.dest);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (ve_parse_volume(bad[i], &v, &e) == 0)
			fail_msg("accepted bad volume '%s'", bad[i]);
		assert_int_equal(e.kind, VERT_ERR_INVALID);
		vert_error_clear(&e);
	}
}

static void test_env_user_host(void **state)
{
	vert_error_t e = VERT_ERROR_INIT;
	(void)state;
	assert_int_equal(ve_parse_env("A=1", &e), 0);
	assert_int_equal(ve_parse_env("A_B=", &e), 0);
	assert_int_not_equal(ve_parse_env("=1", &e), 0);
	vert_error_clear(&e);
	assert_int_not_equal(ve_parse_env("NOEQ", &e), 0);
	vert_error_clear(&e);
	assert_int_not_equal(ve_parse_env("1A=x", &e), 0);
	vert_error_clear(&e);
	assert_int_not_equal(ve_parse_env("A-B=x", &e), 0);
	vert_error_clear(&e);

	assert_int_equal(ve_parse_user("1000", &e), 0);
	assert_int_equal(ve_parse_user("1000:1000", &e), 0);
	assert_int_equal(ve_parse_user("www-data:www-data", &e), 0);
	assert_int_equal(ve_parse_user("root", &e), 0);
	const char *bad[] = { "",    ":",	    "1000:",	  ":1000", "a:b:c",
			      "12x", "99999999999", "4294967295", "-x",	   "a b" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (ve_parse_user(bad[i], &e) == 0)
			fail_msg("accepted bad user '%s'", bad[i]);
		vert_error_clear(&e);
	}

	assert_true(ve_hostname_valid("web1"));
	assert_true(ve_hostname_valid("web-1.example.com"));
	assert_false(ve_hostname_valid(""));
	assert_false(ve_hostname_valid("-a"));
	assert_false(ve_hostname_valid("a-"));
	assert_false(ve_hostname_valid("a..b"));
	assert_false(ve_hostname_valid("a_b"));
	assert_false(ve_hostname_valid("a b"));
}

static void test_config_roundtrip(void **state)
{
	struct ve_config c, d;
	struct json_object *o;
	vert_error_t e = VERT_ERROR_INIT;
	(void)state;

	ve_config_init(&c);
	c.name = xstrdup("web1");
	c.template_name = xstrdup("mini");
	c.hostname = xstrdup("h");
	c.env = strv_push(NULL, xstrdup("A=1"));
	c.cmd = strv_push(NULL, xstrdup("/sbin/init"));
	c.n_volumes = 1;
	c.volumes = xcalloc(1, sizeof(*c.volumes));
	c.volumes[0].source = xstrdup("/srv");
	c.volumes[0].dest = xstrdup("/data");
	c.volumes[0].readonly = true;
	c.resources.memory_max = 512 << 20;
	c.resources.pids_max = 64;
	c.net = xstrdup("none");
	c.disk.size = 64 << 20;
	c.disk.inodes = 5000;
	c.disk.backend = xstrdup("project");
	c.disk.project_id = 70000;
	o = ve_config_to_json(&c);
	assert_int_equal(ve_config_from_json(o, &d, &e), 0);
	assert_int_equal(d.disk.size, 64 << 20);
	assert_int_equal(d.disk.inodes, 5000);
	assert_string_equal(d.disk.backend, "project");
	assert_int_equal(d.disk.project_id, 70000);
	assert_string_equal(d.name, "web1");
	assert_string_equal(d.template_name, "mini");
	assert_string_equal(d.env[0], "A=1");
	assert_string_equal(d.cmd[0], "/sbin/init");
	assert_int_equal(d.n_volumes, 1);
	assert_true(d.volumes[0].readonly);
	assert_int_equal(d.resources.memory_max, 512 << 20);
	assert_int_equal(d.resources.pids_max, 64);
	assert_int_equal(d.resources.cpu_quota, -1);
	ve_config_done(&d);

	/* unknown keys are rejected, naming the key */
	json_object_object_add(o, "colour", json_object_new_string("blue"));
	assert_int_not_equal(ve_config_from_json(o, &d, &e), 0);
	assert_non_null(strstr(e.msg, "'colour'"));
	vert_error_clear(&e);
	json_object_object_del(o, "colour");

	/* a future schema is refused rather than misread */
	json_object_object_add(o, "schema", json_object_new_int(99));
	assert_int_not_equal(ve_config_from_json(o, &d, &e), 0);
	assert_non_null(strstr(e.msg, "schema"));
	vert_error_clear(&e);

	json_object_put(o);
	ve_config_done(&c);
}

static char *config_error(const char *json)
{
	struct json_object *o = json_tokener_parse(json);
	vert_error_t e = VERT_ERROR_INIT;
	struct ve_config c;

	assert_non_null(o);
	if (ve_config_parse(o, "/x/config.json", &c, &e) == 0) {
		ve_config_done(&c);
		json_object_put(o);
		return NULL;
	}
	json_object_put(o);
	return e.msg;
}

/* wrong types name the file and the key */
static void test_config_strict(void **state)
{
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "{\"schema\":1,\"name\":\"a\",\"template\":\"t\",\"onboot\":\"yes\"}",
		  "/x/config.json: key 'onboot': expected a boolean, got a string" },
		{ "{\"schema\":1,\"name\":\"a\",\"template\":\"t\",\"volumes\":[{\"source\":\"/"
		  "s\"}]}",
		  "/x/config.json: key 'volumes[0].dest' is missing" },
		{ "{\"schema\":1,\"name\":\"a\",\"template\":\"t\",\"resources\":{\"colour\":1}}",
		  "/x/config.json: unknown key 'resources.colour'" },
		{ "{\"schema\":1,\"name\":\"a\",\"template\":\"t\",\"resources\":{\"pids_max\":"
		  "\"9\"}}",
		  "key 'resources.pids_max': expected an integer" },
		{ "{\"schema\":1,\"name\":\"a\",\"template\":\"t\",\"env\":[\"A=1\",2]}",
		  "key 'env[1]': expected a string" },
		{ "{\"schema\":1,\"name\":\"a\",\"template\":\"t\",\"stop_timeout\":99999}",
		  "key 'stop_timeout': stop_timeout out of range" },
		{ "{\"schema\":1,\"name\":\"a\"}", "key 'template' is missing" },
		{ "{\"schema\":\"1\",\"name\":\"a\",\"template\":\"t\"}",
		  "key 'schema': expected an integer" },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *m = config_error(bad[i].json);
		if (!m || !strstr(m, bad[i].msg))
			fail_msg("'%s': expected an error with '%s', got '%s'", bad[i].json,
				 bad[i].msg, m ? m : "(accepted)");
	}
}

/* state.json and last.json: strict, the file and the key in the message */
static void test_state_files(void **state)
{
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "{\"pid\":\"12\",\"start_time\":1}",
		  "/run/s.json: key 'pid': expected an integer, got a string" },
		{ "{\"start_time\":1}", "/run/s.json: key 'pid' is missing" },
		{ "{\"pid\":-4,\"start_time\":1}", "key 'pid': -4 is out of range" },
		{ "{\"pid\":1,\"start_time\":1,\"cgroup\":7}", "key 'cgroup': expected a string" },
		{ "{\"pid\":1,\"start_time\":1,\"autoremove\":1}",
		  "key 'autoremove': expected a boolean" },
		{ "{\"pid\":1,\"start_time\":1,\"colour\":1}", "unknown key 'colour'" },
		{ "{\"pid\":1,\"start_time\":1,\"name\":\"other\"}",
		  "names VE 'other', not 'web1'" },
		{ "[]", "/run/s.json: expected an object, got an array" },
	};
	vert_error_t e = VERT_ERROR_INIT;
	struct json_object *o;
	struct ve_state s;
	struct ve_info info = { .last_code = -1, .last_signal = -1 };
	(void)state;

	o = json_tokener_parse("{\"name\":\"web1\",\"status\":\"running\",\"pid\":12,"
			       "\"start_time\":99,\"supervisor_pid\":13,"
			       "\"supervisor_start_time\":98,\"started_at\":1700000000,"
			       "\"autoremove\":true,\"cgroup\":\"/sys/fs/cgroup/v\","
			       "\"device_filter\":true}");
	assert_int_equal(ve_state_parse(o, "/run/s.json", "web1", &s, &e), 0);
	json_object_put(o);
	assert_int_equal(s.pid, 12);
	assert_true(s.start_time == 99);
	assert_int_equal(s.supervisor_pid, 13);
	assert_true(s.autoremove);
	assert_true(s.device_filter);
	assert_string_equal(s.cgroup, "/sys/fs/cgroup/v");
	assert_string_equal(s.status, "running");
	ve_state_done(&s);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		o = json_tokener_parse(bad[i].json);
		if (ve_state_parse(o, "/run/s.json", "web1", &s, &e) == 0 || !e.msg ||
		    !strstr(e.msg, bad[i].msg))
			fail_msg("'%s': expected an error with '%s', got '%s'", bad[i].json,
				 bad[i].msg, e.msg ? e.msg : "(accepted)");
		/* nothing half-read is handed back */
		assert_int_equal(s.pid, 0);
		assert_null(s.cgroup);
		json_object_put(o);
		vert_error_clear(&e);
	}

	o = json_tokener_parse("{\"exit_signal\":9,\"reason\":\"lost\",\"stopped_at\":5}");
	assert_int_equal(ve_last_parse(o, "/d/last.json", &info, &e), 0);
	json_object_put(o);
	assert_int_equal(info.last_signal, 9);
	assert_int_equal(info.last_code, -1);
	assert_string_equal(info.last_reason, "lost");
	o = json_tokener_parse("{\"exit_code\":\"1\",\"reason\":\"exit\",\"stopped_at\":5}");
	assert_int_not_equal(ve_last_parse(o, "/d/last.json", &info, &e), 0);
	assert_non_null(strstr(e.msg, "/d/last.json: key 'exit_code': expected an integer"));
	json_object_put(o);
	vert_error_clear(&e);
	assert_string_equal(info.last_reason, "lost"); /* left as it was */
	free(info.last_reason);
}

static void test_publish_edit(void **state)
{
	struct ve_publish_rm m;
	vert_error_t e = VERT_ERROR_INIT;
	char **v = NULL;
	(void)state;

	/* the same -p twice is one entry; the same host port replaces */
	ve_publish_add(&v, "8080:80");
	ve_publish_add(&v, "8080:80");
	ve_publish_add(&v, "9090:90/udp");
	assert_int_equal(strv_len(v), 2);
	ve_publish_add(&v, "0.0.0.0:8080:81");
	assert_int_equal(strv_len(v), 2);
	assert_string_equal(v[0], "0.0.0.0:8080:81");
	ve_publish_add(&v, "8080:82/udp");
	assert_int_equal(strv_len(v), 3);

	/* without /PROTO: both; with: only that one */
	assert_int_equal(ve_parse_publish_rm("8080/udp", &m, &e), 0);
	assert_int_equal(ve_publish_remove(&v, &m, "8080/udp", &e), 0);
	assert_int_equal(strv_len(v), 2);
	assert_int_equal(ve_parse_publish_rm("8080:81", &m, &e), 0);
	assert_int_equal(ve_publish_remove(&v, &m, "8080:81", &e), 0);
	assert_string_equal(v[0], "9090:90/udp");
	assert_int_equal(ve_parse_publish_rm("10.0.0.1:9090", &m, &e), 0);
	assert_int_not_equal(ve_publish_remove(&v, &m, "10.0.0.1:9090", &e), 0);
	assert_non_null(strstr(e.msg, "no such published port"));
	vert_error_clear(&e);
	assert_int_equal(ve_parse_publish_rm("9090", &m, &e), 0);
	assert_int_equal(ve_publish_remove(&v, &m, "9090", &e), 0);
	assert_int_equal(strv_len(v), 0);
	assert_int_not_equal(ve_parse_publish_rm("80/sctp", &m, &e), 0);
	vert_error_clear(&e);
	assert_int_not_equal(ve_parse_publish_rm("1:2:3", &m, &e), 0);
	vert_error_clear(&e);
	assert_int_not_equal(ve_parse_publish_rm("0", &m, &e), 0);
	vert_error_clear(&e);
	strv_free(v);
}

static void test_identity(void **state)
{
	char *id = ve_machine_id_new(), *id2 = ve_machine_id_new(), *h;
	(void)state;

	assert_true(ve_machine_id_valid(id));
	assert_string_not_equal(id, id2);
	assert_int_equal(id[12], '4');
	assert_false(ve_machine_id_valid("00000000000000000000000000000000"));
	assert_false(ve_machine_id_valid("ABCDEF0123456789abcdef0123456789"));
	assert_false(ve_machine_id_valid("abc"));
	free(id);
	free(id2);

	h = ve_hosts_rename("127.0.0.1\tlocalhost\n# old here\n10.0.0.2\told.example.org old\n",
			    "old.example.org", "new.example.org");
	assert_string_equal(h, "127.0.0.1\tlocalhost\n# old here\n10.0.0.2\tnew.example.org new\n");
	free(h);
	/* an address is not a name, and a name not there is added */
	h = ve_hosts_rename("127.0.0.1 localhost", "127.0.0.1", "web");
	assert_string_equal(h, "127.0.0.1 localhost\n127.0.1.1\tweb\n");
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),	      cmocka_unit_test(test_volume),
		cmocka_unit_test(test_env_user_host), cmocka_unit_test(test_config_roundtrip),
		cmocka_unit_test(test_config_strict), cmocka_unit_test(test_state_files),
		cmocka_unit_test(test_publish_edit),  cmocka_unit_test(test_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
