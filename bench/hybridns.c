// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hybridns - run CMD in a private mount namespace in which the cgroup2
 * mount at /sys/fs/cgroup/unified is gone, so that a host with hybrid
 * cgroups (v1 controllers + an empty-ish cgroup2 at .../unified) looks
 * like a pure cgroup v1 host to CMD.  The host's mounts are untouched.
 *
 * Debian 12's crun 1.8 refuses hybrid hosts ("cgroups in hybrid mode not
 * supported"); the shell equivalent is
 *   unshare -m sh -c 'umount /sys/fs/cgroup/unified; exec crun ...'
 * but that adds an unshare(1) and a sh exec to every measured start, so
 * bench/run uses this one-exec helper instead and measures its own cost
 * (hybridns /bin/true vs /bin/true) in the same hyperfine run.
 *
 * usage: hybridns CMD [ARG...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>

#ifndef HYBRID_UNIFIED
#define HYBRID_UNIFIED "/sys/fs/cgroup/unified"
#endif

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: hybridns CMD [ARG...]\n");
		return 125;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "hybridns: private mount ns: %s\n", strerror(errno));
		return 125;
	}
	if (umount2(HYBRID_UNIFIED, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
		fprintf(stderr, "hybridns: umount %s: %s\n", HYBRID_UNIFIED, strerror(errno));
		return 125;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "hybridns: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
