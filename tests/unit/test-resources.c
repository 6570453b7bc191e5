/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "vert/util.h"
#include "vert/ve.h"

static void test_values(void **state)
{
	struct rt_resources r;
	vert_error_t e = VERT_ERROR_INIT;
	(void)state;
	rt_resources_init(&r);
	assert_false(rt_resources_any(&r));
	assert_int_equal(ve_parse_resource("memory", "512M", &r, &e), 0);
	assert_int_equal(r.memory_max, 512LL << 20);
	assert_int_equal(ve_parse_resource("memory", "max", &r, &e), 0);
	assert_int_equal(r.memory_max, INT64_MAX);
	assert_int_equal(ve_parse_resource("cpus", "1.5", &r, &e), 0);
	assert_int_equal(r.cpu_quota, 150000);
	assert_int_equal(r.cpu_period, 100000);
	assert_int_equal(ve_parse_resource("cpus", "0.25", &r, &e), 0);
	assert_int_equal(r.cpu_quota, 25000);
	assert_int_equal(ve_parse_resource("cpus", "2", &r, &e), 0);
	assert_int_equal(r.cpu_quota, 200000);
	assert_int_equal(ve_parse_resource("cpus", "max", &r, &e), 0);
	assert_int_equal(r.cpu_quota, INT64_MAX);
	assert_int_equal(r.cpu_period, 100000);
	assert_int_equal(ve_parse_resource("pids", "64", &r, &e), 0);
	assert_int_equal(r.pids_max, 64);
	assert_int_equal(ve_parse_resource("cpu-weight", "100", &r, &e), 0);
	assert_int_equal(ve_parse_resource("cpuset", "0-1,3", &r, &e), 0);
	assert_string_equal(r.cpuset_cpus, "0-1,3");
	assert_int_equal(ve_parse_resource("io-max", "8:0:rbps=1M,wiops=100", &r, &e), 0);
	assert_string_equal(r.io_max[0], "8:0 rbps=1048576 wiops=100");
	assert_true(rt_resources_any(&r));
	free(r.cpuset_cpus);
	strv_free(r.io_max);
}

static void test_bad(void **state)
{
	struct rt_resources r;
	const char *bad[][2] = {
		{ "memory", "" },
		{ "memory", "12X" },
		{ "memory", "-5" },
		{ "memory", "1" },
		{ "cpus", "0" },
		{ "cpus", "abc" },
		{ "cpus", "-1" },
		{ "cpus", "1.5x" },
		{ "cpus", "0.001" },
		{ "pids", "0" },
		{ "pids", "x" },
		{ "cpu-weight", "0" },
		{ "cpu-weight", "10001" },
		{ "cpuset", "a" },
		{ "cpuset", "1-" },
		{ "cpuset", "1,," },
		{ "io-max", "8:0" },
		{ "io-max", "8:0:foo=1" },
		{ "io-max", "sda:rbps=1" },
		{ "io-weight", "0" },
		{ "nope", "1" },
	};
	(void)state;
	rt_resources_init(&r);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		vert_error_t e = VERT_ERROR_INIT;
		if (ve_parse_resource(bad[i][0], bad[i][1], &r, &e) == 0)
			fail_msg("accepted --%s '%s'", bad[i][0], bad[i][1]);
		assert_int_equal(e.kind, VERT_ERR_INVALID);
		/* the message names the flag */
		assert_non_null(strstr(e.msg, bad[i][0]));
		vert_error_clear(&e);
	}
	free(r.cpuset_cpus);
	strv_free(r.io_max);
}

/* --disk and --disk-inodes */
static void test_disk(void **state)
{
	struct ve_disk d = { 0 };
	vert_error_t e = VERT_ERROR_INIT;
	(void)state;

	assert_int_equal(ve_parse_disk("disk", "10G", &d, &e), 0);
	assert_int_equal(d.size, 10LL << 30);
	assert_int_equal(ve_parse_disk("disk-inodes", "100000", &d, &e), 0);
	assert_int_equal(d.inodes, 100000);
	assert_int_not_equal(ve_parse_disk("disk", "10X", &d, &e), 0);
	assert_non_null(strstr(e.msg, "invalid --disk '10X'"));
	vert_error_clear(&e);
	assert_int_not_equal(ve_parse_disk("disk", "4M", &d, &e), 0);
	assert_non_null(strstr(e.msg, "at least 8M"));
	vert_error_clear(&e);
	assert_int_not_equal(ve_parse_disk("disk-inodes", "-1", &d, &e), 0);
	vert_error_clear(&e);
	assert_int_not_equal(ve_parse_disk("disk-inodes", "3", &d, &e), 0);
	vert_error_clear(&e);
	/* refused values leave what was set */
	assert_int_equal(d.size, 10LL << 30);
	assert_int_equal(d.inodes, 100000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_disk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
