/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert checkpoint NAME [--leave-running] [--output DIR] | vert restore NAME [--input DIR]
 * | vert migrate NAME [USER@]HOST [--keep-source] [--json] | vert migrate --incoming */
#include <getopt.h>
#include <json-c/json.h>

#include "cli.h"
#include "vert/util.h"

static void checkpoint_usage(FILE *f)
{
	fprintf(f, "Usage: vert checkpoint [--leave-running] [--output DIR] NAME\n"
		   "\n"
		   "Save a running VE through CRIU: its processes (same pids), memory, open\n"
		   "files, TCP connections, its upper dir, config and network identity, into\n"
		   "one image directory.  The VE stops, unless --leave-running.\n"
		   "\n"
		   "Options:\n"
		   "  -R, --leave-running  keep the VE running after the dump\n"
		   "  -o, --output DIR     the image (must not exist; default: the VE's own,\n"
		   "                       which 'vert restore NAME' uses)\n"
		   "  -h, --help           show this help\n");
}

static void restore_usage(FILE *f)
{
	fprintf(f, "Usage: vert restore [--input DIR] NAME\n"
		   "\n"
		   "Run a checkpointed VE again, where it was.  With --input, the image of\n"
		   "another state root or host: the VE must not exist here, and its template\n"
		   "must, with the same content.\n"
		   "\n"
		   "Options:\n"
		   "  -i, --input DIR  the image (default: the VE's own checkpoint)\n"
		   "  -h, --help       show this help\n");
}

int cmd_checkpoint(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "leave-running", no_argument, NULL, 'R' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	_cleanup_free_ char *image = NULL;
	struct ve_checkpoint_opts co = { 0 };
	int o;

	while ((o = getopt_long(argc, argv, "Ro:h", opts, NULL)) != -1) {
		switch (o) {
		case 'R':
			co.leave_running = true;
			break;
		case 'o':
			co.output = optarg;
			break;
		case 'h':
			checkpoint_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("checkpoint", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("checkpoint", "give exactly one VE name");
	if (cli_paths(c, &err) < 0 || ve_open(&c->paths, argv[optind], 0, &h, &err) < 0 ||
	    ve_checkpoint(h, &co, &image, &err) < 0)
		return cli_fail("checkpoint", &err);
	printf("%s\n", image);
	return EXIT_OK;
}

int cmd_restore(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	struct ve_restore_opts ro = { 0 };
	int o;

	while ((o = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			ro.input = optarg;
			break;
		case 'h':
			restore_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("restore", "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("restore", "give exactly one VE name");
	if (cli_paths(c, &err) < 0 || ve_restore(&c->paths, argv[optind], &ro, &err) < 0)
		return cli_fail("restore", &err);
	return EXIT_OK;
}

static void migrate_usage(FILE *f)
{
	fprintf(f, "Usage: vert migrate [--keep-source] [--json] NAME [USER@]HOST\n"
		   "       vert migrate --incoming\n"
		   "       vert migrate --abandon DIR\n"
		   "\n"
		   "Move a running VE to the vert on HOST, live, over ssh: pre-dumps of its\n"
		   "memory while it runs, until the dirty set stops shrinking, then a short\n"
		   "freeze for the last dump, the copy and the restore there.  HOST must have\n"
		   "the template (same content) and not the name.  On failure the VE runs\n"
		   "here again.  Prints the freeze time, the total time and the bytes moved.\n"
		   "\n"
		   "Environment: VERT_SSH (default 'ssh -o BatchMode=yes'), VERT_REMOTE (the\n"
		   "target's vert command, default 'vert').\n"
		   "\n"
		   "Options:\n"
		   "  --keep-source  keep the VE here (stopped) instead of destroying it\n"
		   "  --json         print the result as JSON\n"
		   "  --incoming     (what the source runs on HOST) make a staging dir in\n"
		   "                 this state root and print its path\n"
		   "  --abandon DIR  (what the source runs on HOST when it could not hear\n"
		   "                 how the restore there ended) wait for a restore from\n"
		   "                 image DIR under way, and refuse any later one\n"
		   "  -h, --help     show this help\n");
}

int cmd_migrate(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep-source", no_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "incoming", no_argument, NULL, 'i' },
		{ "abandon", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	struct ve_migrate_opts mo = { 0 };
	struct ve_migrate_result res = { 0 };
	bool json = false, incoming = false;
	const char *abandon = NULL;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'k':
			mo.keep_source = true;
			break;
		case 'j':
			json = true;
			break;
		case 'i':
			incoming = true;
			break;
		case 'a':
			abandon = optarg;
			break;
		case 'h':
			migrate_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("migrate", "bad option");
		}
	}
	if (abandon) {
		if (argc != optind || incoming)
			return cli_usage_error("migrate", "--abandon takes only its image dir");
		if (ve_migrate_abandon(abandon, &err) < 0)
			return cli_fail("migrate", &err);
		return EXIT_OK;
	}
	if (incoming) {
		_cleanup_free_ char *dir = NULL;
		if (argc != optind)
			return cli_usage_error("migrate", "--incoming takes no VE name or host");
		if (cli_paths(c, &err) < 0 || ve_migrate_incoming(&c->paths, &dir, &err) < 0)
			return cli_fail("migrate", &err);
		printf("%s\n", dir);
		return EXIT_OK;
	}
	if (argc - optind != 2)
		return cli_usage_error("migrate", "give a VE name and a host");
	mo.host = argv[optind + 1];
	if (cli_paths(c, &err) < 0 || ve_open(&c->paths, argv[optind], 0, &h, &err) < 0 ||
	    ve_migrate(h, &mo, &res, &err) < 0)
		return cli_fail("migrate", &err);
	if (json) {
		struct json_object *j = json_object_new_object();
		json_object_object_add(j, "name", json_object_new_string(argv[optind]));
		json_object_object_add(j, "host", json_object_new_string(mo.host));
		json_object_object_add(j, "freeze_ms",
				       json_object_new_double((double)res.freeze_ns / 1e6));
		json_object_object_add(j, "dump_ms",
				       json_object_new_double((double)res.dump_ns / 1e6));
		json_object_object_add(j, "send_ms",
				       json_object_new_double((double)res.send_ns / 1e6));
		json_object_object_add(j, "restore_ms",
				       json_object_new_double((double)res.restore_ns / 1e6));
		json_object_object_add(j, "total_ms",
				       json_object_new_double((double)res.total_ns / 1e6));
		json_object_object_add(j, "bytes", json_object_new_int64((int64_t)res.bytes));
		json_object_object_add(j, "pre_dumps", json_object_new_int(res.pre_dumps));
		json_object_object_add(j, "last_pre_dump_bytes",
				       json_object_new_int64((int64_t)res.last_pre_dump_bytes));
		json_object_object_add(j, "final_dump_bytes",
				       json_object_new_int64((int64_t)res.final_dump_bytes));
		cli_print_json(j);
		json_object_put(j);
	} else {
		char b[16];
		printf("migrated '%s' to %s: freeze %.0f ms, total %.0f ms, %s moved, %d "
		       "pre-dump%s\n",
		       argv[optind], mo.host, (double)res.freeze_ns / 1e6,
		       (double)res.total_ns / 1e6, cli_format_size(res.bytes, b), res.pre_dumps,
		       res.pre_dumps == 1 ? "" : "s");
	}
	return EXIT_OK;
}
