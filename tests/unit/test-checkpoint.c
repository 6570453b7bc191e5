/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pure parts of checkpoint/restore: the template manifest and its
 * diff, and CRIU's reason taken from its log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ve-internal.h"
#include "vert/fs.h"
#include "vert/util.h"

static int put(const char *path, const char *s)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	fputs(s, f);
	return fclose(f);
}

static char *mktree(void)
{
	char tmpl[] = "/tmp/vert-test-ck.XXXXXX";
	char *d = xstrdup(mkdtemp(tmpl));
	_cleanup_free_ char *etc = xasprintf("%s/etc", d), *f = xasprintf("%s/etc/motd", d);
	_cleanup_free_ char *l = xasprintf("%s/sh", d);
	assert_int_equal(mkdir(etc, 0755), 0);
	assert_int_equal(put(f, "hello\n"), 0);
	assert_int_equal(symlink("busybox", l), 0);
	return d;
}

static void test_manifest_diff(void **state)
{
	_cleanup_free_ char *d = mktree(), *f = xasprintf("%s/etc/motd", d);
	_cleanup_free_ char *n = xasprintf("%s/etc/new", d);
	struct json_object *a = NULL, *b = NULL;
	vert_error_t err = VERT_ERROR_INIT;
	char *diff;

	(void)state;
	assert_int_equal(ve_template_manifest(d, &a, &err), 0);
	assert_non_null(json_object_object_get(a, "/etc/motd"));
	assert_non_null(json_object_object_get(a, "/sh"));
	assert_non_null(json_object_object_get(a, "/"));
	assert_int_equal(ve_template_manifest(d, &b, &err), 0);
	assert_null(ve_manifest_diff(a, b));
	json_object_put(b);

	/* same size, other content */
	assert_int_equal(put(f, "HELLO\n"), 0);
	assert_int_equal(ve_template_manifest(d, &b, &err), 0);
	diff = ve_manifest_diff(a, b);
	assert_string_equal(diff, "'/etc/motd' differs");
	free(diff);
	json_object_put(b);

	/* an extra file too: both counted, the first named */
	assert_int_equal(put(n, "x"), 0);
	assert_int_equal(ve_template_manifest(d, &b, &err), 0);
	diff = ve_manifest_diff(a, b);
	assert_string_equal(diff, "'/etc/motd' differs (2 differences)");
	free(diff);
	diff = ve_manifest_diff(b, a);
	assert_non_null(strstr(diff, "is missing here") ? diff : strstr(diff, "differs"));
	free(diff);
	json_object_put(b);
	json_object_put(a);
	assert_int_equal(fs_rm_rf(d), 0);
}

static void test_criu_reason(void **state)
{
	char tmpl[] = "/tmp/vert-test-ck.XXXXXX";
	_cleanup_free_ char *d = xstrdup(mkdtemp(tmpl)), *log = xasprintf("%s/dump.log", d);
	_cleanup_close_ int dfd = open(d, O_DIRECTORY | O_CLOEXEC);
	char *why;

	(void)state;
	assert_int_equal(put(log, "(00.000001) Version: 3.17.1\n"
				  "(00.000747) Error (criu/util.c:642): exited, status=1\n"
				  "(00.006049) Error (criu/vdso.c:381): vdso: Unexpected rt "
				  "vDSO area bounds\n"
				  "(00.006051) Error (criu/cr-dump.c:2093): Dumping FAILED.\n"),
			 0);
	why = ve_criu_reason(dfd, "dump.log");
	assert_string_equal(why, "vdso: Unexpected rt vDSO area bounds");
	free(why);
	assert_int_equal(put(log, "(00.000001) nothing wrong\n"), 0);
	assert_null(ve_criu_reason(dfd, "dump.log"));
	assert_null(ve_criu_reason(dfd, "missing.log"));
	assert_int_equal(fs_rm_rf(d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_diff),
		cmocka_unit_test(test_criu_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
