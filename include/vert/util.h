/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small helpers shared by every layer: cleanup attributes, fd and string
 * utilities, atomic file writes.
 */
#ifndef VERT_UTIL_H
#define VERT_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "vert/error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
	*fd = -EBADF;
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

void strv_free(char **v);
static inline void strv_freep(char ***v)
{
	strv_free(*v);
}

static inline void vert_error_clearp(vert_error_t *e)
{
	vert_error_clear(e);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_ _cleanup_(strv_freep)
#define _cleanup_error_ _cleanup_(vert_error_clearp)

/* Hand ownership out of a cleanup variable. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -EBADF;                                                                     \
		_fd;                                                                               \
	})

/* Allocation failure is not recoverable in a CLI tool: abort loudly. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* strv: NULL-terminated string vectors. */
size_t strv_len(char *const *v);
char **strv_push(char **v, char *take); /* appends, takes ownership */
char **strv_copy(char *const *v);
bool strv_contains(char *const *v, const char *s);
/* For KEY=VALUE vectors: replace or append by key (takes ownership). */
char **strv_env_set(char **v, char *take_kv);
const char *strv_env_get(char *const *v, const char *key);

bool str_startswith(const char *s, const char *prefix);
bool str_endswith(const char *s, const char *suffix);

/* Number parsing with full validation (no trailing garbage, no overflow). */
int parse_u64(const char *s, uint64_t *ret);
int parse_u32(const char *s, uint32_t *ret);
int parse_int(const char *s, int *ret);
/* "512M", "1g", "4096", "64k": bytes (binary multiples). */
int parse_size(const char *s, uint64_t *ret);
/* Signal by name ("TERM", "SIGTERM", "RTMIN+3") or number. */
int parse_signal(const char *s, int *ret);
const char *signal_name(int sig, char buf[static 16]);

/* Read a whole small file (at most max bytes), NUL-terminated. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);
/* Write data to dirfd/path atomically: temp file, fsync, rename. */
int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode);
/* Same, without the fsync: for runtime state on tmpfs and data that is
 * thrown away with the process (the rename still makes it all-or-nothing). */
int write_file_atomic_nosync_at(int dirfd, const char *path, const void *data, size_t len,
				mode_t mode);
/* Write a string to an existing file (e.g. /proc, cgroupfs). */
int write_file_str(const char *path, const char *s);
int write_file_str_at(int dirfd, const char *path, const char *s);

/* The start time (clock ticks since boot) of pid, 0 if it is gone or a
 * zombie; with the pid it names one process across pid reuse. */
uint64_t proc_start_time(pid_t pid);
/* pid is alive and still the process that started at start_time. */
bool proc_alive(pid_t pid, uint64_t start_time);

/* mkdir -p for host paths (not inside a VE root: see fs/resolve.c). */
int mkdir_p(const char *path, mode_t mode);

/* The last non-empty line of what a tool wrote to fd (a memfd of its
 * stderr), from the start of the file: for error messages. */
char *fd_last_line(int fd);

/* Loop on EINTR / partial writes. */
ssize_t write_all(int fd, const void *buf, size_t len);

/* Random hex id, n hex chars (n <= 64). */
void random_hex(char *buf, size_t n);

/* exe.c: vert runs from a sealed memfd copy of itself while it starts
 * processes in VEs (see there).  Re-executes argv from such a copy unless
 * this process already is one; returns only on error. */
int vert_exe_reexec_sealed(char **argv, vert_error_t *err);
/* fcntl(F_ADD_SEALS), tried again for a while on EBUSY (pages the kernel
 * finds referenced); -errno on failure, errno set. */
int vert_memfd_seal(int fd, int seals);
bool vert_exe_sealed(void);
/* main's argv, kept for a command that decides about the sealed copy
 * once it knows its VE (ve_exe_guard) */
void vert_exe_save_argv(char **argv);
char **vert_exe_saved_argv(void);
/* Whether the vert binary (the one this process was started from) can be
 * written by no one but the host's root: owned by uid 0, no write bit for
 * its group (or an ACL's mask) or others. */
bool vert_exe_root_only(void);
/* The path of the vert binary on the host (also from the sealed copy). */
char *vert_exe_path(void);

/* Text that came from a VE, made safe for a terminal: C0 controls (but
 * \n and \t when keep_nl_tab), DEL and bytes that are not UTF-8 become
 * \xNN, the C1 controls U+0080..U+009F \u00NN; the rest is copied.
 * *ret (malloc'd, NUL-terminated, length *ret_len) gets the escaped text;
 * returns how much of in was used: all of it, unless in ends inside a
 * UTF-8 sequence and !final (the rest belongs with what follows). */
size_t str_escape_term(const char *in, size_t n, bool keep_nl_tab, bool final, char **ret,
		       size_t *ret_len);
char *str_escape_term_dup(const char *s, bool keep_nl_tab);
/* s as valid UTF-8 (bytes that are not: U+FFFD), for JSON output. */
char *str_utf8_valid(const char *s);

/* Monotonic time in nanoseconds. */
uint64_t now_ns(void);

#endif
