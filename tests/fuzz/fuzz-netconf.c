/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: DATA/network.json, the host network settings. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>

#include "vert/util.h"
#include "vert/vnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *txt = xmalloc(size + 1);
	vert_error_t e = VERT_ERROR_INIT;
	struct vnet_netconf nc;
	int r;

	memcpy(txt, data, size);
	txt[size] = '\0';
	vnet_netconf_defaults(&nc);
	r = vnet_netconf_parse(txt, &nc, &e);
	if (r < 0 && (!e.msg || e.kind != VERT_ERR_INVALID))
		__builtin_trap();
	if (r == 0) {
		/* what is accepted is what the rest of vert relies on */
		if (!vnet_ifname_valid(nc.bridge) || nc.prefix < 8 || nc.prefix > 28 ||
		    nc.routed_prefix < 8 || nc.routed_prefix > 28 ||
		    strnlen(nc.table, sizeof(nc.table)) == sizeof(nc.table) ||
		    vnet_cidr4_overlap(nc.subnet, nc.prefix, nc.routed_subnet, nc.routed_prefix))
			__builtin_trap();
		if (nc.ipv6 && (nc.subnet6.s6_addr[0] & 0xfe) != 0xfc)
			__builtin_trap();
	}
	vert_error_clear(&e);
	return 0;
}
