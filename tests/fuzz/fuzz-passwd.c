/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer: the VE's /etc/passwd and /etc/group as `-u USER[:GROUP]`
 * reads them (src/runtime/user.c).  The template owner writes those
 * files, so they are the most hostile input vert reads.  Input: the user
 * spec on the first line, then passwd, then a "%%" line, then group.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt-internal.h"
#include "vert/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/vert-fuzz-passwd.XXXXXX";
static char passwd_path[sizeof(dir) + 8], group_path[sizeof(dir) + 8];

static void cleanup(void)
{
	unlink(passwd_path);
	unlink(group_path);
	rmdir(dir);
}

static void write_file(const char *path, const char *p, size_t n)
{
	FILE *f = fopen(path, "we");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

static void resolve(const char *spec)
{
	vert_error_t e = VERT_ERROR_INIT;
	struct rt_user u;

	if (rt_user_resolve(spec, &u, &e) == 0) {
		/* the supplementary groups leave out the primary one */
		for (size_t i = 0; i < u.n_groups; i++)
			if (u.groups[i] == u.gid)
				__builtin_trap();
		rt_user_done(&u);
	}
	vert_error_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = { "root", "0", "daemon", "1000:1000", "nobody:nogroup" };
	static bool ready;
	const char *p = (const char *)data, *end = p + size, *nl, *sep;
	char *spec;

	if (!ready) {
		if (!mkdtemp(dir))
			abort();
		snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", dir);
		snprintf(group_path, sizeof(group_path), "%s/group", dir);
		rt_user_set_etc(dir);
		atexit(cleanup);
		ready = true;
	}

	nl = memchr(p, '\n', size);
	if (!nl)
		return 0;
	spec = xstrndup(p, (size_t)(nl - p));
	p = nl + 1;
	sep = memmem(p, (size_t)(end - p), "\n%%\n", 4);
	write_file(passwd_path, p, sep ? (size_t)(sep - p) + 1 : (size_t)(end - p));
	if (sep)
		write_file(group_path, sep + 4, (size_t)(end - sep - 4));
	else
		unlink(group_path);

	resolve(spec);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		resolve(fixed[i]);
	free(spec);
	return 0;
}
