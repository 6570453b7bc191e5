/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Path resolution inside a hostile rootfs: absolute symlinks, "..",
 * symlink loops.  Each case runs against openat2(RESOLVE_IN_ROOT) and the
 * userspace fallback, which must agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "vert/fs.h"
#include "vert/util.h"

static char root[256];
static int rootfd = -1;

static void mk(const char *rel, bool dir)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (dir)
		assert_int_equal(mkdir(p, 0755), 0);
	else {
		int fd = open(p, O_CREAT | O_WRONLY, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, rel, strlen(rel)), (ssize_t)strlen(rel));
		close(fd);
	}
}

static void ln(const char *target, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/vert-resolve-XXXXXX");
	assert_non_null(mkdtemp(root));
	mk("etc", true);
	mk("etc/passwd", false);
	mk("data", true);
	mk("data/file", false);
	ln("/", "evil_root");	     /* /evil_root -> / */
	ln("/etc", "etc_abs");	     /* absolute, stays inside */
	ln("../../../../etc", "up"); /* climbs, clamped at root */
	ln("loop2", "loop1");
	ln("loop1", "loop2");
	ln("/data/file", "data/abs_file");
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(rootfd >= 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(rootfd);
	fs_rm_rf(root);
	return 0;
}

static void read_through(const char *path, const char *expect)
{
	char buf[128] = "";
	int fd = fs_open_in_root(rootfd, path, O_RDONLY, 0);
	if (fd < 0)
		fail_msg("open '%s' in root: %s", path, strerror(-fd));
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_string_equal(buf, expect);
}

static void run_cases(void)
{
	struct stat a, b;
	int fd;

	read_through("/etc/passwd", "etc/passwd");
	read_through("etc/passwd", "etc/passwd");
	read_through("/evil_root/etc/passwd", "etc/passwd"); /* not the host's */
	read_through("/etc_abs/passwd", "etc/passwd");
	read_through("/up/passwd", "etc/passwd");
	read_through("/../../../etc/passwd", "etc/passwd");
	read_through("/data/abs_file", "data/file");
	read_through("/data/../etc/./passwd", "etc/passwd");
	/* "/evil_root" resolves to the root itself */
	fd = fs_open_in_root(rootfd, "/evil_root", O_PATH | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(rootfd, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(fd);
	assert_int_equal(fs_open_in_root(rootfd, "/loop1", O_RDONLY, 0), -ELOOP);
	assert_int_equal(fs_open_in_root(rootfd, "/nope/x", O_RDONLY, 0), -ENOENT);
	assert_int_equal(fs_open_in_root(rootfd, "/etc/passwd/x", O_RDONLY, 0), -ENOTDIR);
}

static void test_openat2(void **state)
{
	(void)state;
	fs_resolve_force_fallback(false);
	run_cases();
}

static void test_fallback(void **state)
{
	(void)state;
	fs_resolve_force_fallback(true);
	run_cases();
	fs_resolve_force_fallback(false);
}

static void test_mkdir_in_root(void **state)
{
	struct stat st;
	char p[512];
	int fd;
	(void)state;

	/* creating under an absolute symlink to "/" must land inside root */
	fd = fs_mkdir_in_root(rootfd, "/evil_root/newdir/sub", 0755);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/newdir/sub", root);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_not_equal(stat("/newdir", &st), 0);

	fd = fs_mkfile_in_root(rootfd, "/etc_abs/newfile", 0644);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/etc/newfile", root);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* a component that is a file can't become a directory */
	assert_true(fs_mkdir_in_root(rootfd, "/etc/passwd/x", 0755) < 0);
}

static void test_rm_rf_no_follow(void **state)
{
	char outside[256], p[512];
	struct stat st;
	int fd;
	(void)state;

	snprintf(outside, sizeof(outside), "/tmp/vert-outside-XXXXXX");
	assert_non_null(mkdtemp(outside));
	snprintf(p, sizeof(p), "%s/keep", outside);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	close(fd);
	snprintf(p, sizeof(p), "%s/tree", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/tree/link", root);
	assert_int_equal(symlink(outside, p), 0);
	snprintf(p, sizeof(p), "%s/tree/locked", root);
	assert_int_equal(mkdir(p, 0), 0);
	snprintf(p, sizeof(p), "%s/tree", root);
	assert_int_equal(fs_rm_rf(p), 0);
	assert_int_not_equal(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/keep", outside);
	assert_int_equal(stat(p, &st), 0); /* the link target survived */
	fs_rm_rf(outside);
}

static void test_misc(void **state)
{
	char *e;
	(void)state;
	e = fs_overlay_escape("/a,b:c\\d");
	assert_string_equal(e, "/a\\,b\\:c\\\\d");
	free(e);
	assert_true(fs_valid_component("abc"));
	assert_false(fs_valid_component(".."));
	assert_false(fs_valid_component("a/b"));
	assert_false(fs_valid_component(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openat2),	      cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_mkdir_in_root), cmocka_unit_test(test_rm_rf_no_follow),
		cmocka_unit_test(test_misc),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
