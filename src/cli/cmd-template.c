/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert template: create, import, ls, rm. */
#include <getopt.h>
#include <json-c/json.h>

#include "cli.h"
#include "vert/util.h"

static void tpl_usage(FILE *f)
{
	fprintf(f, "Usage: vert template COMMAND [OPTIONS]\n"
		   "\n"
		   "Commands:\n"
		   "  create NAME --from busybox [--busybox PATH]\n"
		   "                      build a template from the host's static busybox\n"
		   "                      (no network needed)\n"
		   "  import NAME PATH    import a root filesystem from a directory or a tar\n"
		   "                      archive (gzip/xz/zstd/bzip2 detected)\n"
		   "  ls [--json] [-q]    list templates\n"
		   "  rm NAME...          remove templates no VE uses\n"
		   "\n"
		   "Options:\n"
		   "  --json              machine-readable output (ls)\n"
		   "  -q, --quiet         print names only (ls)\n"
		   "  -h, --help          show this help\n");
}

static int tpl_create(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "busybox", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	const char *from = NULL, *bb = NULL;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'f':
			from = optarg;
			break;
		case 'b':
			bb = optarg;
			break;
		case 'h':
			tpl_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("template create", "bad option");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("template create", "expected exactly one NAME");
	if (!from)
		return cli_usage_error("template create",
				       "--from is required (supported: busybox)");
	if (strcmp(from, "busybox") != 0)
		return cli_usage_error("template create",
				       "unknown source '%s' (supported: busybox; use 'vert "
				       "template import' for a directory or tarball)",
				       from);
	if (cli_paths(c, &err) < 0 ||
	    ve_template_create_busybox(&c->paths, argv[optind], bb, &err) < 0)
		return cli_fail("template create", &err);
	return EXIT_OK;
}

static int tpl_import(struct cli *c, int argc, char **argv)
{
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		tpl_usage(stdout);
		return EXIT_OK;
	}
	if (argc != 3)
		return cli_usage_error("template import", "expected NAME PATH");
	if (cli_paths(c, &err) < 0 || ve_template_import(&c->paths, argv[1], argv[2], &err) < 0)
		return cli_fail("template import", &err);
	return EXIT_OK;
}

static int tpl_ls(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	struct ve_template_info *t = NULL;
	bool json = false, quiet = false;
	size_t n = 0;
	int o;

	while ((o = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			tpl_usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("template ls", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error("template ls", "unexpected argument '%s'", argv[optind]);
	if (cli_paths(c, &err) < 0)
		return cli_fail("template ls", &err);
	ve_reconcile_all(&c->paths);
	if (ve_template_list(&c->paths, &t, &n, &err) < 0)
		return cli_fail("template ls", &err);
	if (json) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_new_object();
			char tb[32];
			json_object_object_add(e, "name", json_object_new_string(t[i].name));
			json_object_object_add(e, "source", json_object_new_string(t[i].source));
			json_object_object_add(
				e, "created",
				json_object_new_string(cli_format_time(t[i].created, tb)));
			json_object_object_add(e, "size",
					       json_object_new_int64((int64_t)t[i].size));
			json_object_array_add(a, e);
		}
		cli_print_json(a);
		json_object_put(a);
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			puts(t[i].name);
	} else {
		printf("%-20s %-10s %-21s %s\n", "NAME", "SIZE", "CREATED", "SOURCE");
		for (size_t i = 0; i < n; i++) {
			char sb[16], tb[32];
			printf("%-20s %-10s %-21s %s\n", t[i].name, cli_format_size(t[i].size, sb),
			       cli_format_time(t[i].created, tb), t[i].source);
		}
	}
	ve_template_info_free(t, n);
	return EXIT_OK;
}

static int tpl_rm(struct cli *c, int argc, char **argv)
{
	int rc = EXIT_OK;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		tpl_usage(stdout);
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error("template rm", "expected NAME...");
	for (int i = 1; i < argc; i++) {
		_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
		if (cli_paths(c, &err) < 0 || ve_template_remove(&c->paths, argv[i], &err) < 0)
			rc = cli_fail("template rm", &err);
	}
	return rc;
}

int cmd_template(struct cli *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub || strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		tpl_usage(sub ? stdout : stderr);
		return sub ? EXIT_OK : EXIT_USAGE;
	}
	argc--;
	argv++;
	optind = 0;
	if (strcmp(sub, "create") == 0)
		return tpl_create(c, argc, argv);
	if (strcmp(sub, "import") == 0)
		return tpl_import(c, argc, argv);
	if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0)
		return tpl_ls(c, argc, argv);
	if (strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0)
		return tpl_rm(c, argc, argv);
	fprintf(stderr, "vert: template: unknown command '%s'\nTry 'vert template --help'.\n", sub);
	return EXIT_USAGE;
}
