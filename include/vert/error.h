/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Errors: every function that can fail returns a negative errno-style int
 * and fills a vert_error_t.  Library code never prints; src/cli does, and
 * maps the error kind to a stable exit code.
 */
#ifndef VERT_ERROR_H
#define VERT_ERROR_H

#include <stdarg.h>

/* What went wrong, from a script's point of view.  The CLI turns these
 * into the exit codes documented in man/vert.1; keep the table there in
 * sync. */
enum vert_err_kind {
	VERT_ERR_RUNTIME = 1,  /* generic failure of vert or the kernel */
	VERT_ERR_INVALID = 2,  /* bad argument, bad config, bad spec */
	VERT_ERR_NOTFOUND = 3, /* no such VE / template */
	VERT_ERR_EXISTS = 4,   /* VE / template already exists */
	VERT_ERR_NOTRUNNING = 5,
	VERT_ERR_RUNNING = 6,
	VERT_ERR_BUSY = 7,	    /* another vert holds the lock */
	VERT_ERR_EXEC_CANNOT = 126, /* the command could not be executed */
	VERT_ERR_EXEC_NOENT = 127,  /* the command was not found */
};

typedef struct vert_error {
	int errnum; /* errno of the root cause, 0 if none */
	int kind;   /* enum vert_err_kind, 0 when no error is set */
	char *msg;  /* "what: why", lowercase, no trailing newline */
} vert_error_t;

#define VERT_ERROR_INIT                                                                            \
	{                                                                                          \
		0, 0, NULL                                                                         \
	}

/* Set err (if not already set) and return -errnum (or -EINVAL when errnum
 * is 0).  strerror(errnum) is appended for VERT_ERR_RUNTIME errors. */
int vert_error_set(vert_error_t *err, int errnum, int kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Like vert_error_set with kind VERT_ERR_RUNTIME, errnum taken from errno. */
int vert_error_sys(vert_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the message with "ctx: "; returns -err->errnum (or -EINVAL). */
int vert_error_wrap(vert_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Retrieve the return value the error corresponds to (negative). */
int vert_error_ret(const vert_error_t *err);
void vert_error_clear(vert_error_t *err);
/* Move src into dst when dst is empty; src is cleared either way. */
void vert_error_move(vert_error_t *dst, vert_error_t *src);

/* Warnings and notices from library code go through a sink installed by
 * the CLI (library code must not print). */
enum vert_log_level {
	VERT_LOG_DEBUG,
	VERT_LOG_NOTICE,
	VERT_LOG_WARNING
};
typedef void (*vert_log_fn)(int level, const char *msg);
void vert_log_set_sink(vert_log_fn fn);
void vert_log_set_debug(int on);
int vert_log_debug_enabled(void);
void vert_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* With --debug, phase timings on the hot path ("+1.234 ms what"). */
void vert_debug_mark(const char *what);

#define vert_debug(...)                                                                            \
	do {                                                                                       \
		if (vert_log_debug_enabled())                                                      \
			vert_log(VERT_LOG_DEBUG, __VA_ARGS__);                                     \
	} while (0)

#endif
