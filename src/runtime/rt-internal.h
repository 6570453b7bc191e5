/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to src/runtime: the parent/child sync protocol and helpers. */
#ifndef VERT_RT_INTERNAL_H
#define VERT_RT_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "vert/runtime.h"
#include "vert/spec.h"

/*
 * Sync protocol over a SOCK_SEQPACKET socketpair.  Steps are numbered the
 * same on both sides (see container.c and child.c):
 *   #1 parent -> child  GO: id maps written, parent-side setup done;
 *                       carries the terminal window size (a VE's init
 *                       only: an exec'd process has it in its copy of
 *                       vert's memory and doesn't wait, see exec.c)
 *   #2 child -> parent  PTY: the pty master fd (SCM_RIGHTS), terminal only
 *   #3 child -> parent  ERROR: errno, kind and message; the child exits
 *   #4 child -> parent  NOTIFY: the seccomp listener fd (SCM_RIGHTS), when
 *                       the filter has notify rules
 *   EOF                 the child's execve succeeded (the socket is
 *                       O_CLOEXEC), the command is running
 */
enum rt_sync_type {
	RT_SYNC_GO = 1,
	RT_SYNC_PTY = 2,
	RT_SYNC_ERROR = 3,
	RT_SYNC_MOUNT = 4,  /* before #1: a layer or bind source; index: which */
	RT_SYNC_NOTIFY = 5, /* after #1: the seccomp listener (SCM_RIGHTS) */
};
enum {
	RT_LAYER_LOWER,
	RT_LAYER_UPPER,
	RT_LAYER_MAX
};

struct rt_sync_msg {
	uint32_t type;
	int32_t index;		    /* RT_SYNC_MOUNT: the layer, or RT_LAYER_MAX + the bind */
	uint16_t rows, cols;	    /* RT_SYNC_GO: the terminal's size */
	struct vert_error_wire err; /* RT_SYNC_ERROR */
};

int rt_sync_send(int sock, const struct rt_sync_msg *m, int fd_to_pass);
/* Returns 1 on a message, 0 on EOF, negative errno on error. */
int rt_sync_recv(int sock, struct rt_sync_msg *m, int *ret_fd);
/* Read #2/#3 until the EOF that means the child's execve succeeded;
 * *ret_pty gets the pty master (or -EBADF).  A #3 becomes err, with the
 * child's message and kind. */
int rt_sync_until_exec(int sock, int *ret_pty, int *ret_listener, vert_error_t *err);

/* Child side. */
struct rt_child_args {
	const struct rt_spec *spec;
	const struct rt_create_opts *opts;
	const struct sock_fprog *seccomp;
	int sync_fd;
	bool rootless_fs;
	int parent_pidfd; /* the creating process, to detect its death, or < 0 */
};
void rt_reset_signals(void);

/* io.c: without a terminal of the VE's own, the caller's stdio that is a
 * terminal reaches the VE only through pipes vert relays (as lxc-attach
 * does): a VE process never holds the admin's terminal, so it can't read
 * it, push input into it or keep it after vert is gone.  Points o's
 * stdin/stdout/stderr at the VE's ends; *ret stays NULL when nothing is
 * a terminal (or spec has one). */
struct rt_relay {
	int fd[3]; /* vert's ends: [0] feeds the VE's stdin, [1] [2] read its output */
	int ve[3]; /* the VE's ends, closed in vert once the child has them */
	char buf[16384];
	size_t len, off; /* stdin read, not yet written */
};
int rt_relay_prepare(const struct rt_spec *s, struct rt_create_opts *o, struct rt_relay **ret,
		     vert_error_t *err);
void rt_relay_close_ve(struct rt_relay *r);
void rt_relay_free(struct rt_relay *r);
static inline void rt_relay_freep(struct rt_relay **r)
{
	rt_relay_free(*r);
}
__attribute__((noreturn)) void rt_child_main(const struct rt_child_args *a);
__attribute__((noreturn)) void rt_child_process(const struct rt_spec *s,
						const struct rt_create_opts *o,
						const struct sock_fprog *seccomp, int sync_fd,
						const struct rt_sync_msg *go, bool userns);

/* spec-resources.c: linux.resources, a vjson setter into struct rt_resources */
struct json_object;
struct vjson_field;
struct vjson_loc;
int rt_parse_resources(struct json_object *v, void *target, const struct vjson_field *f,
		       const struct vjson_loc *loc, vert_error_t *err);

/* caps.c */
int rt_caps_apply_bounding(uint64_t bounding, vert_error_t *err);
int rt_caps_apply(const struct rt_spec *s, vert_error_t *err);

/* seccomp.c */
/* With ret_listener, the filter's notifications go to a new listener fd
 * (SECCOMP_FILTER_FLAG_NEW_LISTENER) returned there. */
int rt_seccomp_load(const struct sock_fprog *prog, int *ret_listener, vert_error_t *err);
bool rt_seccomp_wants_listener(const struct rt_seccomp *sc);

/* user.c: look up a user inside the VE (after pivot_root) */
struct rt_user {
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
	char *home;
	char *shell;
};
int rt_user_resolve(const char *spec_user, struct rt_user *ret, vert_error_t *err);
void rt_user_done(struct rt_user *u);
/* Where rt_user_resolve reads passwd/group (default /etc; for tests). */
void rt_user_set_etc(const char *dir);

#endif
