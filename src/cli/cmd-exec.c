/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert exec [-t] [-i] [-e K=V] [-u U[:G]] [-w DIR] NAME -- CMD...  and  vert enter NAME */
#include <getopt.h>

#include "cli.h"
#include "vert/util.h"

int cmd_exec(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tty", no_argument, NULL, 't' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "env", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	_cleanup_strv_ char **env = NULL, **args = NULL;
	struct ve_exec_opts xo = { 0 };
	const char *name;
	int o, status = 0;

	while ((o = getopt_long(argc, argv, "+tie:u:w:h", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			xo.terminal = true;
			break;
		case 'i':
			break;
		case 'e':
			if (ve_parse_env(optarg, &err) < 0)
				return cli_fail_run("exec", &err);
			env = strv_push(env, xstrdup(optarg));
			break;
		case 'u':
			if (ve_parse_user(optarg, &err) < 0)
				return cli_fail_run("exec", &err);
			xo.user = optarg;
			break;
		case 'w':
			if (optarg[0] != '/') {
				fprintf(stderr, "vert: exec: --workdir must be absolute\n");
				return EXIT_RUN_FAILED;
			}
			xo.workdir = optarg;
			break;
		case 'h':
			printf("Usage: vert exec [OPTIONS] NAME [--] COMMAND [ARG...]\n"
			       "\n"
			       "Run COMMAND inside the running VE NAME: in all its namespaces, "
			       "its\n"
			       "cgroup, with its id mapping, capabilities and seccomp filter.  The "
			       "exit\n"
			       "status is the command's; 125 when vert fails, 126/127 when the "
			       "command\n"
			       "can't be executed / isn't found.\n"
			       "\n"
			       "Options:\n"
			       "  -t, --tty             allocate a pty\n"
			       "  -i, --interactive     keep stdin open (always; for "
			       "compatibility)\n"
			       "  -e, --env KEY=VALUE   set an environment variable (repeatable)\n"
			       "  -u, --user USER[:GROUP]  run as this user (default: the VE's)\n"
			       "  -w, --workdir DIR     working directory\n"
			       "  -h, --help            show this help\n");
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'vert exec --help'.\n");
			return EXIT_RUN_FAILED;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vert: exec: no VE name given\n");
		return EXIT_RUN_FAILED;
	}
	name = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc) {
		fprintf(stderr, "vert: exec: no command given\n");
		return EXIT_RUN_FAILED;
	}
	for (int i = optind; i < argc; i++)
		args = strv_push(args, xstrdup(argv[i]));
	/* the caller's terminal type, as ssh passes it on */
	if (xo.terminal && getenv("TERM") && !strv_env_get(env, "TERM"))
		env = strv_push(env, xasprintf("TERM=%s", getenv("TERM")));
	xo.args = args;
	xo.env = env;
	if (cli_paths(c, &err) < 0 || ve_open(&c->paths, name, 0, &h, &err) < 0 ||
	    ve_exec(h, &xo, &status, &err) < 0)
		return cli_fail_run("exec", &err);
	return status;
}

int cmd_enter(struct cli *c, int argc, char **argv)
{
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	_cleanup_strv_ char **env = NULL;
	/* a pty only for a terminal, as ssh does: from a pipe or /dev/null
	 * the shell reads the input itself, and its end ends the shell */
	struct ve_exec_opts xo = { .terminal = isatty(STDIN_FILENO), .login = true, .user = "0" };
	int status = 0;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("Usage: vert enter NAME\n"
		       "\n"
		       "A root login shell inside the running VE NAME (the shell is root's\n"
		       "from the VE's /etc/passwd), started in root's home with the caller's\n"
		       "TERM.  On a pty when standard input is a terminal; otherwise the shell\n"
		       "reads standard input itself and ends at its end.  SIGTERM or SIGHUP to\n"
		       "vert hangs the session up.\n");
		return EXIT_OK;
	}
	if (argc != 2) {
		fprintf(stderr, "vert: enter: expected NAME\n");
		return EXIT_RUN_FAILED;
	}
	if (getenv("TERM"))
		env = strv_push(env, xasprintf("TERM=%s", getenv("TERM")));
	xo.env = env;
	if (cli_paths(c, &err) < 0 || ve_open(&c->paths, argv[1], 0, &h, &err) < 0 ||
	    ve_exec(h, &xo, &status, &err) < 0)
		return cli_fail_run("enter", &err);
	return status;
}

int cmd_after_exit(struct cli *c, int argc, char **argv)
{
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	int code = 0, sig = 0;

	/* vert __after-exit NAME --exit-code=N|--exit-signal=N (vert-monitor) */
	if (argc != 3)
		return EXIT_USAGE;
	if (str_startswith(argv[2], "--exit-code=")) {
		if (parse_int(argv[2] + 12, &code) < 0)
			return EXIT_USAGE;
	} else if (str_startswith(argv[2], "--exit-signal=")) {
		if (parse_int(argv[2] + 14, &sig) < 0)
			return EXIT_USAGE;
	} else {
		return EXIT_USAGE;
	}
	if (cli_paths(c, &err) < 0 || ve_open(&c->paths, argv[1], 0, &h, &err) < 0 ||
	    ve_supervisor_after_exit(h, code, sig, &err) < 0)
		return cli_fail("after-exit", &err);
	return EXIT_OK;
}
