/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Users inside a VE (passwd/group parsing) and /etc/subuid lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "rt-internal.h"
#include "ve-internal.h"
#include "vert/fs.h"
#include "vert/util.h"

static char dir[64];

static void put(const char *name, const char *text)
{
	char p[128];
	FILE *f;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vert-ids-XXXXXX");
	assert_non_null(mkdtemp(dir));
	put("passwd", "root:x:0:0:root:/root:/bin/ash\n"
		      "# a comment line\n"
		      "broken-line-without-fields\n"
		      "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
		      "bob:x:1000:1000:Bob,,,:/home/bob:/bin/bash\n");
	put("group", "root:x:0:\nwww-data:x:33:\nbob:x:1000:\nusers:x:100:bob,alice\n"
		     "wheel:x:10:alice,bob\nstaff:x:50:carol\n");
	put("subuid", "alice:100000:65536\n1000:300000:1000\nbad:line\nzero:5:0\n");
	rt_user_set_etc(dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rt_user_set_etc(NULL);
	fs_rm_rf(dir);
	return 0;
}

static void test_by_name(void **state)
{
	struct rt_user u;
	vert_error_t e = VERT_ERROR_INIT;
	(void)state;
	assert_int_equal(rt_user_resolve("bob", &u, &e), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1000);
	assert_string_equal(u.home, "/home/bob");
	assert_string_equal(u.shell, "/bin/bash");
	/* supplementary groups: users and wheel list bob */
	assert_int_equal(u.n_groups, 2);
	assert_true((u.groups[0] == 100 && u.groups[1] == 10) ||
		    (u.groups[0] == 10 && u.groups[1] == 100));
	rt_user_done(&u);
	assert_int_equal(rt_user_resolve("www-data:bob", &u, &e), 0);
	assert_int_equal(u.uid, 33);
	assert_int_equal(u.gid, 1000);
	rt_user_done(&u);
}

static void test_by_number(void **state)
{
	struct rt_user u;
	vert_error_t e = VERT_ERROR_INIT;
	(void)state;
	/* a known uid gets its passwd gid and home */
	assert_int_equal(rt_user_resolve("33", &u, &e), 0);
	assert_int_equal(u.gid, 33);
	assert_string_equal(u.home, "/var/www");
	rt_user_done(&u);
	/* an unknown uid is fine: gid 0, no home (Docker does the same) */
	assert_int_equal(rt_user_resolve("4242", &u, &e), 0);
	assert_int_equal(u.uid, 4242);
	assert_int_equal(u.gid, 0);
	assert_null(u.home);
	rt_user_done(&u);
	assert_int_equal(rt_user_resolve("4242:77", &u, &e), 0);
	assert_int_equal(u.gid, 77);
	rt_user_done(&u);
	assert_int_equal(rt_user_resolve("0:staff", &u, &e), 0);
	assert_int_equal(u.gid, 50);
	rt_user_done(&u);
}

static void test_errors(void **state)
{
	struct rt_user u;
	vert_error_t e = VERT_ERROR_INIT;
	(void)state;
	assert_int_not_equal(rt_user_resolve("nobody-here", &u, &e), 0);
	assert_non_null(strstr(e.msg, "not found in the VE's /etc/passwd"));
	vert_error_clear(&e);
	assert_int_not_equal(rt_user_resolve("bob:nogroup", &u, &e), 0);
	assert_non_null(strstr(e.msg, "group 'nogroup'"));
	vert_error_clear(&e);
	assert_int_not_equal(rt_user_resolve("99999999999", &u, &e), 0);
	vert_error_clear(&e);
	assert_int_not_equal(rt_user_resolve(":5", &u, &e), 0);
	vert_error_clear(&e);
}

static void test_subid(void **state)
{
	char p[128];
	uint32_t s, c;
	(void)state;
	snprintf(p, sizeof(p), "%s/subuid", dir);
	assert_int_equal(ve_subid_lookup(p, 1001, "alice", &s, &c), 0);
	assert_int_equal(s, 100000);
	assert_int_equal(c, 65536);
	/* by numeric uid */
	assert_int_equal(ve_subid_lookup(p, 1000, NULL, &s, &c), 0);
	assert_int_equal(s, 300000);
	assert_int_equal(c, 1000);
	/* no entry, a zero-length range, a missing file */
	assert_int_equal(ve_subid_lookup(p, 2000, "carol", &s, &c), -ENOENT);
	assert_int_equal(ve_subid_lookup(p, 2001, "zero", &s, &c), -ENOENT);
	assert_int_equal(ve_subid_lookup("/nonexistent/subuid", 1, "x", &s, &c), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_name),
		cmocka_unit_test(test_by_number),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_subid),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
