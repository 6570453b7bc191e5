/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Errors: every function that can fail returns a negative errno-style int
 * and fills a vert_error_t.  Library code never prints; src/cli does, and
 * maps the error kind to a stable exit code.
 */
#ifndef VERT_ERROR_H
#define VERT_ERROR_H

#include <stdarg.h>
#include <stdint.h>

/* What went wrong, from a script's point of view.  The values are the
 * exit codes of the verbs (README "Exit codes", man/vert.1 EXIT STATUS);
 * vert_error_exit_code() is the one table that turns a kind into an exit
 * code and, when the cause has no errno, into a return value. */
enum vert_err_kind {
	VERT_ERR_NONE = 0,     /* no error set */
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

/* The exit codes of vert: the verbs return 0..7, `run` and `exec` return
 * the command's status or one of 125..127. */
enum vert_exit_code {
	VERT_EXIT_OK = 0,
	VERT_EXIT_FAIL = 1,
	VERT_EXIT_USAGE = 2,
	VERT_EXIT_NOTFOUND = 3,
	VERT_EXIT_EXISTS = 4,
	VERT_EXIT_NOTRUNNING = 5,
	VERT_EXIT_RUNNING = 6,
	VERT_EXIT_BUSY = 7,
	VERT_EXIT_RUN_FAILED = 125,	/* vert failed before the command ran */
	VERT_EXIT_CANNOT_EXEC = 126,	/* the command could not be executed */
	VERT_EXIT_NOT_FOUND_EXEC = 127, /* the command was not found */
};

typedef struct vert_error {
	int errnum;		 /* errno of the root cause, 0 if none */
	enum vert_err_kind kind; /* VERT_ERR_NONE when no error is set */
	char *msg;		 /* "what: why", lowercase, no trailing newline */
} vert_error_t;

#define VERT_ERROR_INIT                                                                            \
	{                                                                                          \
		.errnum = 0, .kind = VERT_ERR_NONE, .msg = NULL                                    \
	}

/* The exit code of a verb that failed with kind: 1..7, or 126/127 for a
 * command that could not be run; 1 for kinds it does not know. */
int vert_error_exit_code(enum vert_err_kind kind);
/* The exit code of `run`/`exec`, and of the VE's child, when the command
 * did not run: 126/127 for the exec kinds, 125 (vert failed) otherwise. */
int vert_error_run_exit_code(enum vert_err_kind kind);
/* The negative errno that stands for kind when the root cause has none:
 * RUNTIME -EIO, INVALID -EINVAL, NOTFOUND -ENOENT, EXISTS -EEXIST,
 * NOTRUNNING -ESRCH, RUNNING and BUSY -EBUSY, EXEC_CANNOT -EACCES,
 * EXEC_NOENT -ENOENT (the errnos the tree sets for these kinds). */
int vert_error_kind_ret(enum vert_err_kind kind);

/* Set err (if not already set: the first error is the root cause, and it
 * keeps its errno) and return -errnum, or vert_error_kind_ret(kind) when
 * errnum is 0.  strerror(errnum) is appended for VERT_ERR_RUNTIME errors. */
int vert_error_set(vert_error_t *err, int errnum, enum vert_err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Like vert_error_set with kind VERT_ERR_RUNTIME, errnum taken from errno
 * (EIO when errno is 0). */
int vert_error_sys(vert_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the message with "ctx: "; the errno and kind stay.  Returns
 * vert_error_ret(err).  Wrapping an error that was never set is a bug of
 * the caller: it becomes a VERT_ERR_RUNTIME error "ctx: unknown error"
 * (-EIO), so it is at least reported. */
int vert_error_wrap(vert_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The return value err stands for: -errnum, or vert_error_kind_ret(kind)
 * when it has no errno (-EIO for NULL or an error not set). */
int vert_error_ret(const vert_error_t *err);
void vert_error_clear(vert_error_t *err);
/* Move src into dst when dst is empty; src is cleared either way. */
void vert_error_move(vert_error_t *dst, vert_error_t *src);

/* An error as one of vert's processes reports it to another over a pipe
 * or socket (a child to the parent that forked it): fixed size, no
 * pointers.  kind VERT_ERR_NONE: no error. */
struct vert_error_wire {
	int32_t kind;
	int32_t errnum;
	char msg[1024];
};
/* w from err (all zero when err is NULL or not set); a message too long
 * for w is cut. */
void vert_error_pack(const vert_error_t *err, struct vert_error_wire *w);
/* err from w, word for word (its message already holds its errno's
 * text), if err is not set yet: kind VERT_ERR_RUNTIME when w has none,
 * fallback when w's message is empty.  Returns vert_error_ret(err). */
int vert_error_unpack(vert_error_t *err, const struct vert_error_wire *w, const char *fallback);

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
