/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cost of an address lease with N leases already made (issue 15,
 * "nothing grows quadratically").  In a fresh directory (a state root
 * with nothing else in it), lease ve0..ve(N-1) one after the other (a
 * mass first start, as far as the leases go), then time K more first
 * leases one by one, then one listing (vnet_leases_load + a lookup of
 * every name), as `vert ps` does.
 *
 * Built against the library of a build tree (bench/README.md, "Leases"):
 *   cc -O2 -Iinclude -o /tmp/lease bench/lease.c build/src/libvert_core.a \
 *      $(pkg-config --libs json-c libmnl libnftnl libcap libseccomp)
 *   /tmp/lease DIR N [K [BASE [nolist]]]
 * BASE: the first name is ve<BASE> (to add K leases to a DIR filled with
 * ve0..ve<BASE-1>: N=0); the listing looks up ve0..ve<BASE+N+K-1>
 * (nolist: none, to count the syscalls of leases alone with strace -c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vert/util.h"
#include "vert/vnet.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static unsigned base;

static int lease(const char *dir, unsigned i)
{
	vert_error_t e = VERT_ERROR_INIT;
	char name[32];
	uint32_t a;

	snprintf(name, sizeof(name), "ve%u", base + i);
	if (vnet_ipam_lease(dir, name, 0x0a580000, 16, 0, &a, NULL, &e) < 0) {
		fprintf(stderr, "lease %s: %s\n", name, e.msg);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned n, k;
	double t0, fill, *one, list;
	struct vnet_leases *ls;
	size_t shown = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DIR N [K]\n", argv[0]);
		return 2;
	}
	n = (unsigned)strtoul(argv[2], NULL, 10);
	k = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 20;
	base = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 0;
	one = calloc(k ? k : 1, sizeof(*one));
	t0 = now_ms();
	for (unsigned i = 0; i < n; i++)
		if (lease(argv[1], i) < 0)
			return 1;
	fill = now_ms() - t0;
	for (unsigned i = 0; i < k; i++) {
		t0 = now_ms();
		if (lease(argv[1], n + i) < 0)
			return 1;
		one[i] = now_ms() - t0;
	}
	qsort(one, k, sizeof(*one), cmp_d);
	if (argc > 5 && strcmp(argv[5], "nolist") == 0) {
		printf("N=%u fill=%.1f ms, next %u leases: median %.3f ms\n", n, fill, k,
		       k ? one[k / 2] : 0);
		free(one);
		return 0;
	}
	t0 = now_ms();
	ls = vnet_leases_load(argv[1]);
	for (unsigned i = 0; i < base + n + k; i++) {
		char name[32], ip[16];
		snprintf(name, sizeof(name), "ve%u", i);
		shown += vnet_leases_get(ls, name, ip);
	}
	vnet_leases_free(ls);
	list = now_ms() - t0;
	printf("N=%u fill=%.1f ms (%.3f ms/lease) next %u leases: median %.3f ms (min %.3f, "
	       "max %.3f) listing of %zu: %.1f ms\n",
	       n, fill, n ? fill / n : 0, k, k ? one[k / 2] : 0, k ? one[0] : 0, k ? one[k - 1] : 0,
	       shown, list);
	free(one);
	return 0;
}
