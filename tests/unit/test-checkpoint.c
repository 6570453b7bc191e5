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
#include <linux/filter.h>
#include <string.h>
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

/* ---- seccomp.img: vert's filters lose their notify returns ---- */

/* one protobuf length-delimited field (field number < 16, length < 128) */
static size_t pb_bytes(uint8_t *out, unsigned field, const void *data, size_t len)
{
	out[0] = (uint8_t)(field << 3 | 2);
	out[1] = (uint8_t)len;
	memcpy(out + 2, data, len);
	return len + 2;
}

static void img_write(int dfd, const struct sock_filter *a, size_t na, const struct sock_filter *b,
		      size_t nb)
{
	uint8_t f1[128], f2[128], entry[300], file[400];
	size_t l1, l2, le = 0, n = 0;
	uint32_t m[2] = { 0x54564319u, 0x55105940u }, size;

	/* seccomp_filter { filter = 1; prev = 2 (varint) } */
	l1 = pb_bytes(f1, 1, a, na * sizeof(*a));
	l2 = pb_bytes(f2, 1, b, nb * sizeof(*b));
	f2[l2++] = 2 << 3; /* prev: 0 */
	f2[l2++] = 0;
	le += pb_bytes(entry + le, 1, f1, l1);
	le += pb_bytes(entry + le, 1, f2, l2);
	memcpy(file, m, 8);
	n = 8;
	size = (uint32_t)le;
	memcpy(file + n, &size, 4);
	n += 4;
	memcpy(file + n, entry, le);
	n += le;
	assert_int_equal(write_file_atomic_at(dfd, "seccomp.img", file, n, 0600), 0);
}

static void test_seccomp_unlisten(void **state)
{
	/* vert's: sysinfo (99) to the listener, the rest allowed */
	struct sock_filter vert[] = {
		{ 0x20, 0, 0, 0 },	     /* ld nr */
		{ 0x15, 0, 1, 99 },	     /* jeq sysinfo */
		{ 0x06, 0, 0, 0x7fc00000u }, /* ret USER_NOTIF */
		{ 0x06, 0, 0, 0x7fff0000u }, /* ret ALLOW */
	};
	/* the payload's own, notifying too: not vert's, left alone */
	struct sock_filter other[] = {
		{ 0x20, 0, 0, 0 },
		{ 0x15, 0, 1, 165 },
		{ 0x06, 0, 0, 0x7fc00000u },
		{ 0x06, 0, 0, 0x7fff0000u },
	};
	struct sock_fprog prog = { .len = 4, .filter = vert };
	struct sock_fprog *progs[] = { &prog };
	char tmpl[] = "/tmp/vert-test-sc.XXXXXX";
	vert_error_t err = VERT_ERROR_INIT;
	_cleanup_free_ char *buf = NULL;
	struct sock_filter got;
	unsigned changed = 99, unmatched = 99;
	size_t n;
	int dfd;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	dfd = open(tmpl, O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	/* no seccomp.img: no filters, nothing to do */
	assert_int_equal(ve_criu_seccomp_unlisten(dfd, progs, 1, &changed, &unmatched, &err), 0);
	assert_int_equal(changed, 0);

	img_write(dfd, vert, 4, other, 4);
	assert_int_equal(ve_criu_seccomp_unlisten(dfd, progs, 1, &changed, &unmatched, &err), 0);
	assert_int_equal(changed, 1);
	/* the payload's filter notifies too, and is none of vert's */
	assert_int_equal(unmatched, 1);
	assert_int_equal(read_file_at(dfd, "seccomp.img", 1 << 16, &buf, &n), 0);
	/* header (8), size (4), entry field (2), filter field (2): vert's
	 * third instruction */
	memcpy(&got, buf + 8 + 4 + 2 + 2 + 2 * sizeof(got), sizeof(got));
	assert_int_equal(got.code, 0x06);
	assert_int_equal(got.k, 0x7fff0000u);
	/* the other filter's notify return is as it was */
	memcpy(&got, buf + 8 + 4 + 2 + 2 + sizeof(vert) + 2 + 2 + 2 * sizeof(got), sizeof(got));
	assert_int_equal(got.k, 0x7fc00000u);
	/* done once: nothing of vert's left to change */
	assert_int_equal(ve_criu_seccomp_unlisten(dfd, progs, 1, &changed, &unmatched, &err), 0);
	assert_int_equal(changed, 0);

	/* not a CRIU image: an error, the file left as it was */
	assert_int_equal(write_file_atomic_at(dfd, "seccomp.img", "garbage!", 8, 0600), 0);
	assert_true(ve_criu_seccomp_unlisten(dfd, progs, 1, &changed, &unmatched, &err) < 0);
	assert_non_null(strstr(err.msg, "not a CRIU image"));
	vert_error_clear(&err);
	/* a size past the end: an error */
	{
		uint32_t bad[3] = { 0x54564319u, 0x55105940u, 1000 };
		assert_int_equal(write_file_atomic_at(dfd, "seccomp.img", bad, sizeof(bad), 0600),
				 0);
		assert_true(ve_criu_seccomp_unlisten(dfd, progs, 1, &changed, &unmatched, &err) <
			    0);
		vert_error_clear(&err);
	}
	unlinkat(dfd, "seccomp.img", 0);
	close(dfd);
	rmdir(tmpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_diff),
		cmocka_unit_test(test_criu_reason),
		cmocka_unit_test(test_seccomp_unlisten),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
