/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host network settings: DATA/network.json (strict keys, all optional).
 *
 *   { "bridge": "vert0", "subnet": "10.88.0.0/16",
 *     "routed_subnet": "10.89.0.0/16", "subnet6": "fd76:6572:7430::/64",
 *     "nft_table": "vert" }
 *
 * Tests give every state root its own bridge, subnets and table so they
 * never collide with each other or with a real vert0.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <json-c/json.h>

#include "vert/util.h"
#include "vert/vnet.h"

void vnet_netconf_defaults(struct vnet_netconf *nc)
{
	memset(nc, 0, sizeof(*nc));
	snprintf(nc->bridge, sizeof(nc->bridge), "vert0");
	nc->subnet = 0x0a580000; /* 10.88.0.0/16 */
	nc->prefix = 16;
	nc->routed_subnet = 0x0a590000; /* 10.89.0.0/16 */
	nc->routed_prefix = 16;
	nc->ipv6 = true;
	inet_pton(AF_INET6, "fd76:6572:7430::", &nc->subnet6);
	snprintf(nc->table, sizeof(nc->table), "vert");
}

static bool table_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

static int bad(vert_error_t *err, const char *key, const char *val, const char *want)
{
	return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "network.json: '%s' = '%s': %s", key,
			      val, want);
}

static int subnet4(const char *key, const char *v, uint32_t *a, int *p, vert_error_t *err)
{
	if (vnet_parse_cidr4(v, true, a, p) < 0 || *p < 8 || *p > 28)
		return bad(err, key, v, "expected an IPv4 network A.B.C.D/N with N from 8 to 28");
	return 0;
}

int vnet_netconf_parse(const char *json, struct vnet_netconf *nc, vert_error_t *err)
{
	struct json_object *o = json_tokener_parse(json);
	int r = 0;

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "network.json: not a JSON object");
	}
	json_object_object_foreach(o, k, v)
	{
		const char *s = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string)) {
			r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					   "network.json: '%s' must be a string", k);
		} else if (strcmp(k, "bridge") == 0) {
			if (!vnet_ifname_valid(s))
				r = bad(err, k, s, "not a valid interface name");
			else
				snprintf(nc->bridge, sizeof(nc->bridge), "%s", s);
		} else if (strcmp(k, "subnet") == 0) {
			r = subnet4(k, s, &nc->subnet, &nc->prefix, err);
		} else if (strcmp(k, "routed_subnet") == 0) {
			r = subnet4(k, s, &nc->routed_subnet, &nc->routed_prefix, err);
		} else if (strcmp(k, "subnet6") == 0) {
			int p;
			if (!*s) {
				nc->ipv6 = false;
			} else if (vnet_parse_cidr6(s, &nc->subnet6, &p) < 0 || p != 64 ||
				   (nc->subnet6.s6_addr[0] & 0xfe) != 0xfc) {
				r = bad(err, k, s,
					"expected a ULA /64 (fc00::/7), or \"\" for no IPv6");
			} else {
				nc->ipv6 = true;
				memset(&nc->subnet6.s6_addr[8], 0, 8);
			}
		} else if (strcmp(k, "nft_table") == 0) {
			if (!table_name_valid(s))
				r = bad(err, k, s, "use letters, digits, '_' and '-'");
			else
				snprintf(nc->table, sizeof(nc->table), "%s", s);
		} else {
			r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					   "network.json: unknown key '%s'", k);
		}
		if (r < 0)
			break;
	}
	json_object_put(o);
	if (r == 0 &&
	    vnet_cidr4_overlap(nc->subnet, nc->prefix, nc->routed_subnet, nc->routed_prefix))
		r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				   "network.json: 'subnet' and 'routed_subnet' overlap");
	return r;
}

int vnet_netconf_load(const char *data_dir, struct vnet_netconf *nc, vert_error_t *err)
{
	_cleanup_free_ char *path = xasprintf("%s/network.json", data_dir), *buf = NULL;
	int r;

	vnet_netconf_defaults(nc);
	r = read_file_at(AT_FDCWD, path, 1 << 16, &buf, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "read '%s'", path);
	r = vnet_netconf_parse(buf, nc, err);
	if (r < 0)
		return vert_error_wrap(err, "%s", path);
	return 0;
}
