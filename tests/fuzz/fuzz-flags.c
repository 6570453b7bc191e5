/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: command-line values (sizes, signals, volumes, users,
 * resource flags, names, hostnames).  Input: a selector byte, then the
 * value. */
#include <stdint.h>

#include "vert/util.h"
#include "vert/ve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const flags[] = { "memory", "memory-high", "swap",
					     "cpus",   "cpu-weight",  "cpuset",
					     "pids",   "io-weight",   "io-max" };
	vert_error_t e = VERT_ERROR_INIT;
	struct rt_resources r;
	struct ve_volume v;
	char *s;
	uint64_t u;
	int sig;

	if (size < 1)
		return 0;
	s = xstrndup((const char *)data + 1, size - 1);
	switch (data[0] % 8) {
	case 0:
		parse_size(s, &u);
		break;
	case 1:
		parse_signal(s, &sig);
		break;
	case 2:
		if (ve_parse_volume(s, &v, &e) == 0) {
			free(v.source);
			free(v.dest);
		}
		break;
	case 3:
		ve_parse_user(s, &e);
		break;
	case 4:
		ve_parse_env(s, &e);
		break;
	case 5:
		(void)ve_name_valid(s);
		(void)ve_hostname_valid(s);
		break;
	default:
		rt_resources_init(&r);
		ve_parse_resource(flags[(data[0] >> 3) % 9], s, &r, &e);
		free(r.cpuset_cpus);
		free(r.cpuset_mems);
		strv_free(r.io_max);
		break;
	}
	vert_error_clear(&e);
	free(s);
	return 0;
}
