/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vert/error.h"
#include "vert/util.h"

static int error_ret(int errnum)
{
	return errnum > 0 ? -errnum : -EINVAL;
}

__attribute__((format(printf, 4, 0))) static int error_vset(vert_error_t *err, int errnum, int kind,
							    const char *fmt, va_list ap)
{
	char *m = NULL;

	if (!err)
		return error_ret(errnum);
	if (err->kind) /* keep the first (root-cause) error */
		return error_ret(err->errnum);
	if (vasprintf(&m, fmt, ap) < 0)
		abort();
	/* the errno text explains system failures; for invalid input,
	 * "not found" and the like, the message says it all */
	if (errnum > 0 && (kind == 0 || kind == VERT_ERR_RUNTIME)) {
		char *full = xasprintf("%s: %s", m, strerror(errnum));
		free(m);
		m = full;
	}
	err->msg = m;
	err->errnum = errnum;
	err->kind = kind ? kind : VERT_ERR_RUNTIME;
	return error_ret(errnum);
}

int vert_error_set(vert_error_t *err, int errnum, int kind, const char *fmt, ...)
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

	if (!err || !err->kind)
		return -EINVAL;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		abort();
	va_end(ap);
	m = xasprintf("%s: %s", ctx, err->msg ? err->msg : "unknown error");
	free(ctx);
	free(err->msg);
	err->msg = m;
	return error_ret(err->errnum);
}

int vert_error_ret(const vert_error_t *err)
{
	return error_ret(err ? err->errnum : 0);
}

void vert_error_clear(vert_error_t *err)
{
	if (!err)
		return;
	free(err->msg);
	err->msg = NULL;
	err->errnum = 0;
	err->kind = 0;
}

void vert_error_move(vert_error_t *dst, vert_error_t *src)
{
	if (dst && !dst->kind) {
		*dst = *src;
		src->msg = NULL;
	}
	vert_error_clear(src);
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
