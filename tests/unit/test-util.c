/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "vert/util.h"

static void test_parse_size(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("64k", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(parse_size("512M", &v), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(parse_size("2G", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("1GiB", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(parse_size("3mb", &v), 0);
	assert_int_equal(v, 3ULL << 20);
	assert_int_not_equal(parse_size("", &v), 0);
	assert_int_not_equal(parse_size("-1", &v), 0);
	assert_int_not_equal(parse_size("12X", &v), 0);
	assert_int_not_equal(parse_size("1.5G", &v), 0);
	assert_int_not_equal(parse_size("G", &v), 0);
	assert_int_not_equal(parse_size("99999999999999999999", &v), 0);
	assert_int_not_equal(parse_size("17179869184G", &v), 0); /* overflows */
}

static void test_parse_numbers(void **state)
{
	uint32_t u;
	int i;
	(void)state;
	assert_int_equal(parse_u32("4294967295", &u), 0);
	assert_int_equal(u, 4294967295U);
	assert_int_not_equal(parse_u32("4294967296", &u), 0);
	assert_int_not_equal(parse_u32(" 1", &u), 0);
	assert_int_not_equal(parse_u32("1 ", &u), 0);
	assert_int_equal(parse_int("-5", &i), 0);
	assert_int_equal(i, -5);
	assert_int_not_equal(parse_int("5x", &i), 0);
}

static void test_parse_signal(void **state)
{
	int s;
	char buf[16];
	(void)state;
	assert_int_equal(parse_signal("TERM", &s), 0);
	assert_int_equal(s, SIGTERM);
	assert_int_equal(parse_signal("SIGKILL", &s), 0);
	assert_int_equal(s, SIGKILL);
	assert_int_equal(parse_signal("sigint", &s), 0);
	assert_int_equal(s, SIGINT);
	assert_int_equal(parse_signal("9", &s), 0);
	assert_int_equal(s, 9);
	assert_int_equal(parse_signal("RTMIN+3", &s), 0);
	assert_int_equal(s, SIGRTMIN + 3);
	assert_int_equal(parse_signal("SIGRTMIN+3", &s), 0);
	assert_int_equal(s, SIGRTMIN + 3);
	assert_int_not_equal(parse_signal("NOPE", &s), 0);
	assert_int_not_equal(parse_signal("0", &s), 0);
	assert_int_not_equal(parse_signal("999", &s), 0);
	assert_int_not_equal(parse_signal("RTMIN+999", &s), 0);
	assert_string_equal(signal_name(SIGTERM, buf), "SIGTERM");
	assert_string_equal(signal_name(SIGRTMIN + 3, buf), "SIGRTMIN+3");
}

static void test_strv_env(void **state)
{
	char **v = NULL;
	(void)state;
	v = strv_env_set(v, xstrdup("A=1"));
	v = strv_env_set(v, xstrdup("B=2"));
	v = strv_env_set(v, xstrdup("A=3"));
	assert_int_equal(strv_len(v), 2);
	assert_string_equal(strv_env_get(v, "A"), "3");
	assert_string_equal(strv_env_get(v, "B"), "2");
	assert_null(strv_env_get(v, "AB"));
	assert_true(strv_contains(v, "B=2"));
	strv_free(v);
}

static void test_error_chain(void **state)
{
	vert_error_t e = VERT_ERROR_INIT;
	int r;
	(void)state;
	r = vert_error_set(&e, ENOENT, VERT_ERR_NOTFOUND, "template '%s' not found", "x");
	assert_int_equal(r, -ENOENT);
	/* the first error wins */
	vert_error_set(&e, EPERM, VERT_ERR_RUNTIME, "later");
	assert_int_equal(e.kind, VERT_ERR_NOTFOUND);
	vert_error_wrap(&e, "start '%s'", "web1");
	assert_string_equal(e.msg, "start 'web1': template 'x' not found");
	vert_error_clear(&e);
	errno = EACCES;
	vert_error_sys(&e, "open '%s'", "/p");
	assert_string_equal(e.msg, "open '/p': Permission denied");
	assert_int_equal(e.kind, VERT_ERR_RUNTIME);
	vert_error_clear(&e);
}

static void test_random_hex(void **state)
{
	char a[13], b[13];
	(void)state;
	random_hex(a, 12);
	random_hex(b, 12);
	assert_int_equal(strlen(a), 12);
	assert_string_not_equal(a, b);
	for (int i = 0; i < 12; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
}

static void test_escape_term(void **state)
{
	char *e;
	size_t len, used;

	(void)state;
	e = str_escape_term_dup("a\x1b]0;pwned\x07"
				"b\tc\nd\x7f",
				true);
	assert_string_equal(e, "a\\x1b]0;pwned\\x07b\tc\nd\\x7f");
	free(e);
	e = str_escape_term_dup("x\ty\nz\r", false);
	assert_string_equal(e, "x\\x09y\\x0az\\x0d");
	free(e);
	/* C1 as UTF-8 (U+009B, CSI) and as a raw 8-bit byte; valid UTF-8 stays */
	e = str_escape_term_dup("\xc2\x9b"
				"31m \x9b"
				"1m caf\xc3\xa9 \xe2\x82\xac",
				false);
	assert_string_equal(e, "\\u009b31m \\x9b1m caf\xc3\xa9 \xe2\x82\xac");
	free(e);
	/* overlong, surrogate, truncated */
	e = str_escape_term_dup("\xc0\x80\xed\xa0\x80\xe2\x82", false);
	assert_string_equal(e, "\\xc0\\x80\\xed\\xa0\\x80\\xe2\\x82");
	free(e);
	/* a sequence cut at the end of a chunk waits for its rest */
	used = str_escape_term("ab\xe2\x82", 4, true, false, &e, &len);
	assert_int_equal(used, 2);
	assert_string_equal(e, "ab");
	assert_int_equal(len, 2);
	free(e);
}

static void test_utf8_valid(void **state)
{
	char *v;

	(void)state;
	v = str_utf8_valid("ok \xc3\xa9 \xff\x1b");
	assert_string_equal(v, "ok \xc3\xa9 \xef\xbf\xbd\x1b");
	free(v);
}

static void *busy_map;

static void unmap_busy(int sig)
{
	(void)sig;
	munmap(busy_map, 4096);
}

/* F_SEAL_WRITE is EBUSY while a shared writable mapping exists: tried
 * again until a timer's handler removes it, given up on while it stays,
 * and any other error is at once. */
static void test_memfd_seal(void **state)
{
	struct itimerval it = { .it_value = { .tv_usec = 50 * 1000 } };
	int fd, plain;

	(void)state;
	fd = memfd_create("seal-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	busy_map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(busy_map != MAP_FAILED);
	assert_int_equal(vert_memfd_seal(fd, F_SEAL_WRITE), -EBUSY);
	signal(SIGALRM, unmap_busy);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(vert_memfd_seal(fd, F_SEAL_WRITE), 0);
	assert_true(fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE);
	signal(SIGALRM, SIG_DFL);
	close(fd);
	plain = memfd_create("seal-test", MFD_CLOEXEC);
	assert_true(plain >= 0);
	assert_int_equal(vert_memfd_seal(plain, F_SEAL_WRITE), -EPERM);
	close(plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),   cmocka_unit_test(test_parse_numbers),
		cmocka_unit_test(test_parse_signal), cmocka_unit_test(test_strv_env),
		cmocka_unit_test(test_error_chain),  cmocka_unit_test(test_random_hex),
		cmocka_unit_test(test_escape_term),  cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_memfd_seal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
