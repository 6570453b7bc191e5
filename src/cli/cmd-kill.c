/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert kill NAME [SIGNAL] */
#include <signal.h>

#include "cli.h"
#include "vert/util.h"

int cmd_kill(struct cli *c, int argc, char **argv)
{
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	int sig = SIGKILL;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("Usage: vert kill NAME [SIGNAL]\n"
		       "\n"
		       "Send SIGNAL (name like TERM or SIGUSR1, or number; default KILL) to the\n"
		       "VE's init.  Killing the init ends every process of the VE.\n");
		return EXIT_OK;
	}
	if (argc < 2 || argc > 3)
		return cli_usage_error("kill", "expected NAME [SIGNAL]");
	if (argc == 3 && parse_signal(argv[2], &sig) < 0)
		return cli_usage_error("kill", "invalid signal '%s'", argv[2]);
	if (cli_paths(c, &err) < 0 || ve_open(&c->paths, argv[1], 0, &h, &err) < 0 ||
	    ve_kill(h, sig, &err) < 0)
		return cli_fail("kill", &err);
	return EXIT_OK;
}
