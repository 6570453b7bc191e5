/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VERT_CLI_RESOURCES_H
#define VERT_CLI_RESOURCES_H

#include <getopt.h>

#include "vert/error.h"
#include "vert/spec.h"

enum {
	OPT_MEMORY = 0x1000,
	OPT_MEMORY_HIGH,
	OPT_SWAP,
	OPT_CPUS,
	OPT_CPU_WEIGHT,
	OPT_CPUSET,
	OPT_PIDS,
	OPT_IO_WEIGHT,
	OPT_IO_MAX,
	OPT_RESOURCE_LAST,
};

extern const struct option cli_resource_options[];
extern const char *cli_resource_help;
int cli_parse_resource_opt(int opt, const char *arg, struct rt_resources *r, vert_error_t *err);

static inline int cli_is_resource_opt(int opt)
{
	return opt >= OPT_MEMORY && opt < OPT_RESOURCE_LAST;
}

#endif
