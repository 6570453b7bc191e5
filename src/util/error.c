/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vert/error.h"
#include "vert/util.h"

/* The one table from kind to exit codes and to the errno that stands for
 * the kind when the cause has none.  A kind missing here is a bug; it
 * gets the RUNTIME row. */
static const struct kind_row {
	int exit;     /* a verb's exit code */
	int run_exit; /* `run`/`exec`'s, when the command did not run */
	int errnum;   /* for a cause without an errno */
} kind_table[] = {
	[VERT_ERR_RUNTIME] = { .exit = VERT_EXIT_FAIL,
			       .run_exit = VERT_EXIT_RUN_FAILED,
			       .errnum = EIO },
	[VERT_ERR_INVALID] = { .exit = VERT_EXIT_USAGE,
			       .run_exit = VERT_EXIT_RUN_FAILED,
			       .errnum = EINVAL },
	[VERT_ERR_NOTFOUND] = { .exit = VERT_EXIT_NOTFOUND,
				.run_exit = VERT_EXIT_RUN_FAILED,
				.errnum = ENOENT },
	[VERT_ERR_EXISTS] = { .exit = VERT_EXIT_EXISTS,
			      .run_exit = VERT_EXIT_RUN_FAILED,
			      .errnum = EEXIST },
	[VERT_ERR_NOTRUNNING] = { .exit = VERT_EXIT_NOTRUNNING,
				  .run_exit = VERT_EXIT_RUN_FAILED,
				  .errnum = ESRCH },
	[VERT_ERR_RUNNING] = { .exit = VERT_EXIT_RUNNING,
			       .run_exit = VERT_EXIT_RUN_FAILED,
			       .errnum = EBUSY },
	[VERT_ERR_BUSY] = { .exit = VERT_EXIT_BUSY,
			    .run_exit = VERT_EXIT_RUN_FAILED,
			    .errnum = EBUSY },
	[VERT_ERR_EXEC_CANNOT] = { .exit = VERT_EXIT_CANNOT_EXEC,
				   .run_exit = VERT_EXIT_CANNOT_EXEC,
				   .errnum = EACCES },
	[VERT_ERR_EXEC_NOENT] = { .exit = VERT_EXIT_NOT_FOUND_EXEC,
				  .run_exit = VERT_EXIT_NOT_FOUND_EXEC,
				  .errnum = ENOENT },
};

static const struct kind_row *kind_row(enum vert_err_kind kind)
{
	if ((unsigned)kind < ARRAY_SIZE(kind_table) && kind_table[kind].exit)
		return &kind_table[kind];
	return &kind_table[VERT_ERR_RUNTIME];
}

int vert_error_exit_code(enum vert_err_kind kind)
{
	return kind_row(kind)->exit;
}

int vert_error_run_exit_code(enum vert_err_kind kind)
{
	return kind_row(kind)->run_exit;
}

int vert_error_kind_ret(enum vert_err_kind kind)
{
	return -kind_row(kind)->errnum;
}

static int error_ret(int errnum, enum vert_err_kind kind)
{
	return errnum > 0 ? -errnum : vert_error_kind_ret(kind);
}

__attribute__((format(printf, 4, 0))) static int
error_vset(vert_error_t *err, int errnum, enum vert_err_kind kind, const char *fmt, va_list ap)
{
	char *m = NULL;

	if (!kind)
		kind = VERT_ERR_RUNTIME;
	if (!err)
		return error_ret(errnum, kind);
	if (err->kind) /* keep the first (root-cause) error */
		return vert_error_ret(err);
	if (vasprintf(&m, fmt, ap) < 0)
		abort();
	/* the errno text explains system failures; for invalid input,
	 * "not found" and the like, the message says it all */
	if (errnum > 0 && kind == VERT_ERR_RUNTIME) {
		char *full = xasprintf("%s: %s", m, strerror(errnum));
		free(m);
		m = full;
	}
	err->msg = m;
	err->errnum = errnum > 0 ? errnum : 0;
	err->kind = kind;
	return error_ret(errnum, kind);
}

int vert_error_set(vert_error_t *err, int errnum, enum vert_err_kind kind, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = error_vset(err, errnum, kind, fmt, ap);
	va_end(ap);
	return r;
}

int vert_error_sys(vert_error_t *err, const char *fmt, ...)
{
	int e = errno ? errno : EIO;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = error_vset(err, e, VERT_ERR_RUNTIME, fmt, ap);
	va_end(ap);
	return r;
}

int vert_error_wrap(vert_error_t *err, const char *fmt, ...)
{
	char *ctx = NULL, *m;
	va_list ap;

	if (!err)
		return vert_error_kind_ret(VERT_ERR_RUNTIME);
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		abort();
	va_end(ap);
	m = xasprintf("%s: %s", ctx, err->msg ? err->msg : "unknown error");
	free(ctx);
	free(err->msg);
	err->msg = m;
	if (!err->kind)
		err->kind = VERT_ERR_RUNTIME;
	return vert_error_ret(err);
}

int vert_error_ret(const vert_error_t *err)
{
	if (!err || !err->kind)
		return vert_error_kind_ret(VERT_ERR_RUNTIME);
	return error_ret(err->errnum, err->kind);
}

void vert_error_clear(vert_error_t *err)
{
	if (!err)
		return;
	free(err->msg);
	err->msg = NULL;
	err->errnum = 0;
	err->kind = VERT_ERR_NONE;
}

void vert_error_move(vert_error_t *dst, vert_error_t *src)
{
	if (dst && !dst->kind) {
		*dst = *src;
		src->msg = NULL;
	}
	vert_error_clear(src);
}

void vert_error_pack(const vert_error_t *err, struct vert_error_wire *w)
{
	*w = (struct vert_error_wire){ 0 };
	if (!err || !err->kind)
		return;
	w->kind = err->kind;
	w->errnum = err->errnum;
	snprintf(w->msg, sizeof(w->msg), "%s", err->msg ? err->msg : "");
}

int vert_error_unpack(vert_error_t *err, const struct vert_error_wire *w, const char *fallback)
{
	enum vert_err_kind kind = w->kind > 0 ? (enum vert_err_kind)w->kind : VERT_ERR_RUNTIME;
	size_t len = strnlen(w->msg, sizeof(w->msg));

	if (!err)
		return error_ret(w->errnum, kind);
	if (err->kind)
		return vert_error_ret(err);
	err->msg = len ? xstrndup(w->msg, len) : xstrdup(fallback ? fallback : "unknown error");
	err->errnum = w->errnum > 0 ? w->errnum : 0;
	err->kind = kind;
	return vert_error_ret(err);
}

/* ---- log sink ---- */

static vert_log_fn log_sink;
static int log_debug;

void vert_log_set_sink(vert_log_fn fn)
{
	log_sink = fn;
}

void vert_log_set_debug(int on)
{
	log_debug = on;
}

int vert_log_debug_enabled(void)
{
	return log_debug;
}

void vert_debug_mark(const char *what)
{
	static struct timespec t0;
	struct timespec t;

	if (!log_debug)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (!t0.tv_sec)
		t0 = t;
	vert_log(VERT_LOG_DEBUG, "+%.3f ms %s",
		 (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) / 1e6,
		 what);
}

void vert_log(int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!log_sink)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_sink(level, buf);
}
