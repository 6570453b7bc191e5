/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The error kind table (exit codes, errnos) and what set/wrap/ret return. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vert/util.h"

/* README "Exit codes": every kind, its verb exit code, its run/exec exit
 * code and the errno it stands for without one. */
static const struct {
	enum vert_err_kind kind;
	int exit, run_exit, ret;
} rows[] = {
	{ VERT_ERR_RUNTIME, 1, 125, -EIO },	    { VERT_ERR_INVALID, 2, 125, -EINVAL },
	{ VERT_ERR_NOTFOUND, 3, 125, -ENOENT },	    { VERT_ERR_EXISTS, 4, 125, -EEXIST },
	{ VERT_ERR_NOTRUNNING, 5, 125, -ESRCH },    { VERT_ERR_RUNNING, 6, 125, -EBUSY },
	{ VERT_ERR_BUSY, 7, 125, -EBUSY },	    { VERT_ERR_EXEC_CANNOT, 126, 126, -EACCES },
	{ VERT_ERR_EXEC_NOENT, 127, 127, -ENOENT },
};

static void test_kind_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		assert_int_equal(vert_error_exit_code(rows[i].kind), rows[i].exit);
		assert_int_equal(vert_error_run_exit_code(rows[i].kind), rows[i].run_exit);
		assert_int_equal(vert_error_kind_ret(rows[i].kind), rows[i].ret);
	}
	/* no error, or a kind the table does not know: a generic failure */
	assert_int_equal(vert_error_exit_code(VERT_ERR_NONE), 1);
	assert_int_equal(vert_error_run_exit_code(VERT_ERR_NONE), 125);
	assert_int_equal(vert_error_exit_code((enum vert_err_kind)42), 1);
	assert_int_equal(vert_error_exit_code((enum vert_err_kind)1000), 1);
	assert_int_equal(vert_error_kind_ret((enum vert_err_kind) - 1), -EIO);
}

static void test_set_ret(void **state)
{
	vert_error_t e = VERT_ERROR_INIT;
	(void)state;
	/* an errno given is the one returned, whatever the kind */
	assert_int_equal(vert_error_set(&e, EPERM, VERT_ERR_NOTFOUND, "x"), -EPERM);
	assert_int_equal(vert_error_ret(&e), -EPERM);
	vert_error_clear(&e);
	/* without one, the kind's: never a blanket -EINVAL */
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		assert_int_equal(vert_error_set(&e, 0, rows[i].kind, "x"), rows[i].ret);
		assert_int_equal(e.errnum, 0);
		assert_int_equal(e.kind, rows[i].kind);
		assert_int_equal(vert_error_ret(&e), rows[i].ret);
		vert_error_clear(&e);
	}
	/* kind 0 is a runtime error; strerror is appended to runtime ones */
	assert_int_equal(vert_error_set(&e, ENOSPC, VERT_ERR_NONE, "write"), -ENOSPC);
	assert_int_equal(e.kind, VERT_ERR_RUNTIME);
	assert_string_equal(e.msg, "write: No space left on device");
	vert_error_clear(&e);
	/* a set error returns the first error's value, not the new one */
	vert_error_set(&e, 0, VERT_ERR_EXISTS, "first");
	assert_int_equal(vert_error_set(&e, EPERM, VERT_ERR_RUNTIME, "second"), -EEXIST);
	assert_string_equal(e.msg, "first");
	vert_error_clear(&e);
	/* without an err to fill, the value is still faithful */
	assert_int_equal(vert_error_set(NULL, 0, VERT_ERR_NOTFOUND, "x"), -ENOENT);
	assert_int_equal(vert_error_set(NULL, EXDEV, VERT_ERR_INVALID, "x"), -EXDEV);
	assert_int_equal(vert_error_ret(NULL), -EIO);
	assert_int_equal(vert_error_ret(&e), -EIO);
	errno = 0;
	assert_int_equal(vert_error_sys(&e, "nothing"), -EIO);
	assert_int_equal(e.errnum, EIO);
	vert_error_clear(&e);
}

static void test_wrap(void **state)
{
	vert_error_t e = VERT_ERROR_INIT;
	(void)state;
	/* wrap keeps the errno and the kind */
	vert_error_set(&e, EACCES, VERT_ERR_INVALID, "bad '%s'", "x");
	assert_int_equal(vert_error_wrap(&e, "load '%s'", "c"), -EACCES);
	assert_int_equal(vert_error_wrap(&e, "start"), -EACCES);
	assert_string_equal(e.msg, "start: load 'c': bad 'x'");
	assert_int_equal(e.errnum, EACCES);
	assert_int_equal(e.kind, VERT_ERR_INVALID);
	vert_error_clear(&e);
	/* ... and without an errno returns the kind's */
	vert_error_set(&e, 0, VERT_ERR_NOTRUNNING, "not running");
	assert_int_equal(vert_error_wrap(&e, "stop"), -ESRCH);
	assert_int_equal(e.errnum, 0);
	vert_error_clear(&e);
	vert_error_set(&e, 0, VERT_ERR_BUSY, "locked");
	assert_int_equal(vert_error_wrap(&e, "stop"), -EBUSY);
	assert_int_equal(vert_error_exit_code(e.kind), 7);
	vert_error_clear(&e);
	/* wrapping nothing is reported, as a runtime failure */
	assert_int_equal(vert_error_wrap(&e, "ctx %d", 1), -EIO);
	assert_int_equal(e.kind, VERT_ERR_RUNTIME);
	assert_string_equal(e.msg, "ctx 1: unknown error");
	vert_error_clear(&e);
	assert_int_equal(vert_error_wrap(NULL, "ctx"), -EIO);
}

static void test_move(void **state)
{
	vert_error_t a = VERT_ERROR_INIT, b = VERT_ERROR_INIT;
	(void)state;
	vert_error_set(&b, 0, VERT_ERR_EXEC_NOENT, "no 'sh'");
	vert_error_move(&a, &b);
	assert_int_equal(a.kind, VERT_ERR_EXEC_NOENT);
	assert_int_equal(b.kind, VERT_ERR_NONE);
	assert_null(b.msg);
	assert_int_equal(vert_error_run_exit_code(a.kind), 127);
	vert_error_clear(&a);
}

/* An error across a pipe: the same kind, errno and words, the errno's
 * text not appended twice; a report without a kind or words still is an
 * error; an error already set stays the root cause. */
static void test_wire(void **state)
{
	vert_error_t e = VERT_ERROR_INIT, got = VERT_ERROR_INIT;
	struct vert_error_wire w, bare = { 0 };
	char *text;
	(void)state;

	vert_error_pack(NULL, &w);
	assert_int_equal(w.kind, VERT_ERR_NONE);
	vert_error_pack(&e, &w);
	assert_int_equal(w.kind, VERT_ERR_NONE);

	errno = EPERM;
	vert_error_sys(&e, "make a user namespace");
	text = xstrdup(e.msg);
	vert_error_pack(&e, &w);
	assert_int_equal(vert_error_unpack(&got, &w, NULL), -EPERM);
	assert_int_equal(got.kind, VERT_ERR_RUNTIME);
	assert_int_equal(got.errnum, EPERM);
	assert_string_equal(got.msg, text);
	vert_error_clear(&e);
	vert_error_clear(&got);
	free(text);

	vert_error_set(&e, 0, VERT_ERR_NOTFOUND, "no such VE 'x'");
	vert_error_pack(&e, &w);
	assert_int_equal(vert_error_unpack(&got, &w, NULL), -ENOENT);
	assert_int_equal(got.kind, VERT_ERR_NOTFOUND);
	assert_int_equal(got.errnum, 0);
	assert_string_equal(got.msg, "no such VE 'x'");
	/* the first error stays */
	assert_int_equal(vert_error_unpack(&got, &bare, "other"), -ENOENT);
	assert_string_equal(got.msg, "no such VE 'x'");
	vert_error_clear(&got);

	assert_int_equal(vert_error_unpack(&got, &bare, "the helper failed"), -EIO);
	assert_int_equal(got.kind, VERT_ERR_RUNTIME);
	assert_string_equal(got.msg, "the helper failed");
	vert_error_clear(&got);

	/* a message that fills the buffer, unterminated: cut, not overrun */
	memset(w.msg, 'a', sizeof(w.msg));
	vert_error_unpack(&got, &w, NULL);
	assert_int_equal(strlen(got.msg), sizeof(w.msg));
	vert_error_clear(&got);
	vert_error_clear(&e);
	assert_int_equal(vert_error_unpack(NULL, &w, NULL), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_table), cmocka_unit_test(test_set_ret),
		cmocka_unit_test(test_wrap),	   cmocka_unit_test(test_move),
		cmocka_unit_test(test_wire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
