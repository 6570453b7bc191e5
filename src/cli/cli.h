/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line: one file per command, this header for what they share. */
#ifndef VERT_CLI_H
#define VERT_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "vert/error.h"
#include "vert/ve.h"

struct cli {
	const char *root; /* --root */
	struct ve_paths paths;
	bool paths_ready;
};

/* Exit codes (man/vert.1, EXIT STATUS): short names for vert_exit_code,
 * whose error kinds vert_error_exit_code() maps. */
enum {
	EXIT_OK = VERT_EXIT_OK,
	EXIT_FAIL = VERT_EXIT_FAIL,
	EXIT_USAGE = VERT_EXIT_USAGE,
	EXIT_NOTFOUND = VERT_EXIT_NOTFOUND,
	EXIT_EXISTS = VERT_EXIT_EXISTS,
	EXIT_NOTRUNNING = VERT_EXIT_NOTRUNNING,
	EXIT_RUNNING = VERT_EXIT_RUNNING,
	EXIT_BUSY = VERT_EXIT_BUSY,
	EXIT_RUN_FAILED = VERT_EXIT_RUN_FAILED,
	EXIT_CANNOT_EXEC = VERT_EXIT_CANNOT_EXEC,
	EXIT_NOT_FOUND_EXEC = VERT_EXIT_NOT_FOUND_EXEC,
};

int cli_paths(struct cli *c, vert_error_t *err);
/* Print "vert: <cmd>: <msg>" and return the exit code for err's kind. */
int cli_fail(const char *cmd, vert_error_t *err);
/* Same, for `run`/`exec`: vert's own failures are 125. */
int cli_fail_run(const char *cmd, vert_error_t *err);
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Output helpers. */
void cli_print_json(struct json_object *o);
const char *cli_format_size(uint64_t bytes, char buf[static 16]);
const char *cli_format_time(int64_t t, char buf[static 32]);

typedef int (*cli_cmd_fn)(struct cli *c, int argc, char **argv);
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_template(struct cli *c, int argc, char **argv);
int cmd_create(struct cli *c, int argc, char **argv);
int cmd_start(struct cli *c, int argc, char **argv);
int cmd_stop(struct cli *c, int argc, char **argv);
int cmd_restart(struct cli *c, int argc, char **argv);
int cmd_kill(struct cli *c, int argc, char **argv);
int cmd_destroy(struct cli *c, int argc, char **argv);
int cmd_set(struct cli *c, int argc, char **argv);
int cmd_exec(struct cli *c, int argc, char **argv);
int cmd_enter(struct cli *c, int argc, char **argv);
int cmd_ps(struct cli *c, int argc, char **argv);
int cmd_top(struct cli *c, int argc, char **argv);
int cmd_stats(struct cli *c, int argc, char **argv);
int cmd_inspect(struct cli *c, int argc, char **argv);
int cmd_logs(struct cli *c, int argc, char **argv);
int cmd_after_exit(struct cli *c, int argc, char **argv);
int cmd_checkpoint(struct cli *c, int argc, char **argv);
int cmd_restore(struct cli *c, int argc, char **argv);
int cmd_migrate(struct cli *c, int argc, char **argv);

#endif
