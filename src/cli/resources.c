/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Resource-limit flags shared by run/create/set; parsing lives in the core
 * (src/ve/resources.c) where unit tests reach it. */
#include <getopt.h>

#include "cli-resources.h"
#include "vert/util.h"
#include "vert/ve.h"

const struct option cli_resource_options[] = {
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "memory-high", required_argument, NULL, OPT_MEMORY_HIGH },
	{ "swap", required_argument, NULL, OPT_SWAP },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "cpu-weight", required_argument, NULL, OPT_CPU_WEIGHT },
	{ "cpuset", required_argument, NULL, OPT_CPUSET },
	{ "pids", required_argument, NULL, OPT_PIDS },
	{ "io-weight", required_argument, NULL, OPT_IO_WEIGHT },
	{ "io-max", required_argument, NULL, OPT_IO_MAX },
	{ NULL, 0, NULL, 0 },
};

int cli_parse_resource_opt(int opt, const char *arg, struct rt_resources *r, vert_error_t *err)
{
	for (size_t i = 0; cli_resource_options[i].name; i++)
		if (cli_resource_options[i].val == opt)
			return ve_parse_resource(cli_resource_options[i].name, arg, r, err);
	return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "unknown resource option");
}

const char *cli_resource_help =
	"Resource limits (cgroup v2):\n"
	"  --memory SIZE       memory.max (k/M/G suffixes, or max)\n"
	"  --memory-high SIZE  memory.high (throttle above this)\n"
	"  --swap SIZE         memory.swap.max\n"
	"  --cpus N            CPU bandwidth, e.g. 0.5 or 1.5, or max (cpu.max)\n"
	"  --cpu-weight N      relative CPU share 1..10000 (cpu.weight)\n"
	"  --cpuset LIST       CPUs to run on, e.g. 0-1 (cpuset.cpus)\n"
	"  --pids N            maximum number of processes (pids.max)\n"
	"  --io-weight N       relative IO share 1..10000 (io.weight)\n"
	"  --io-max DEV:K=V,.. IO limits, keys rbps wbps riops wiops (io.max)\n";
