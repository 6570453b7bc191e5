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

#include "vert/json.h"
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

static int bad(vert_error_t *err, const struct vjson_loc *loc, const char *val, const char *want)
{
	return vjson_error(err, loc, "'%s': %s", val, want);
}

static int set_bridge(struct json_object *v, void *target, const struct vjson_field *f,
		      const struct vjson_loc *loc, vert_error_t *err)
{
	struct vnet_netconf *nc = target;
	const char *s;
	int r;

	if ((r = vjson_get_string(v, loc, &s, err)) < 0)
		return r;
	if (!vnet_ifname_valid(s))
		return bad(err, loc, s, "not a valid interface name");
	snprintf(nc->bridge, sizeof(nc->bridge), "%s", s);
	return 0;
}

static int subnet4(struct json_object *v, uint32_t *a, int *p, const struct vjson_loc *loc,
		   vert_error_t *err)
{
	const char *s;
	int r;

	if ((r = vjson_get_string(v, loc, &s, err)) < 0)
		return r;
	if (vnet_parse_cidr4(s, true, a, p) < 0 || *p < 8 || *p > 28)
		return bad(err, loc, s, "expected an IPv4 network A.B.C.D/N with N from 8 to 28");
	return 0;
}

static int set_subnet(struct json_object *v, void *target, const struct vjson_field *f,
		      const struct vjson_loc *loc, vert_error_t *err)
{
	struct vnet_netconf *nc = target;
	return subnet4(v, &nc->subnet, &nc->prefix, loc, err);
}

static int set_routed(struct json_object *v, void *target, const struct vjson_field *f,
		      const struct vjson_loc *loc, vert_error_t *err)
{
	struct vnet_netconf *nc = target;
	return subnet4(v, &nc->routed_subnet, &nc->routed_prefix, loc, err);
}

static int set_subnet6(struct json_object *v, void *target, const struct vjson_field *f,
		       const struct vjson_loc *loc, vert_error_t *err)
{
	struct vnet_netconf *nc = target;
	const char *s;
	int r, p;

	if ((r = vjson_get_string(v, loc, &s, err)) < 0)
		return r;
	if (!*s) {
		nc->ipv6 = false;
		return 0;
	}
	if (vnet_parse_cidr6(s, &nc->subnet6, &p) < 0 || p != 64 ||
	    (nc->subnet6.s6_addr[0] & 0xfe) != 0xfc)
		return bad(err, loc, s, "expected a ULA /64 (fc00::/7), or \"\" for no IPv6");
	nc->ipv6 = true;
	memset(&nc->subnet6.s6_addr[8], 0, 8);
	return 0;
}

static int set_table(struct json_object *v, void *target, const struct vjson_field *f,
		     const struct vjson_loc *loc, vert_error_t *err)
{
	struct vnet_netconf *nc = target;
	const char *s;
	int r;

	if ((r = vjson_get_string(v, loc, &s, err)) < 0)
		return r;
	if (!table_name_valid(s))
		return bad(err, loc, s, "use letters, digits, '_' and '-'");
	snprintf(nc->table, sizeof(nc->table), "%s", s);
	return 0;
}

static const struct vjson_field netconf_table[] = {
	{ .name = "bridge", .type = VJSON_STRING, .cb = set_bridge },
	{ .name = "subnet", .type = VJSON_STRING, .cb = set_subnet },
	{ .name = "routed_subnet", .type = VJSON_STRING, .cb = set_routed },
	{ .name = "subnet6", .type = VJSON_STRING, .cb = set_subnet6 },
	{ .name = "nft_table", .type = VJSON_STRING, .cb = set_table },
	{},
};

static int netconf_parse(const char *buf, size_t len, const char *where, struct vnet_netconf *nc,
			 vert_error_t *err)
{
	_cleanup_json_ struct json_object *o = NULL;
	struct vnet_netconf in = *nc;
	int r;

	if ((r = vjson_parse(buf, len, where, &o, err)) < 0 ||
	    (r = vjson_dispatch(o, netconf_table, 0, &in, where, err)) < 0)
		return r;
	if (vnet_cidr4_overlap(in.subnet, in.prefix, in.routed_subnet, in.routed_prefix)) {
		char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
		struct in_addr x = { htonl(in.subnet) }, y = { htonl(in.routed_subnet) };

		inet_ntop(AF_INET, &x, a, sizeof(a));
		inet_ntop(AF_INET, &y, b, sizeof(b));
		return vert_error_set(
			err, EINVAL, VERT_ERR_INVALID,
			"%s: 'subnet' %s/%d and 'routed_subnet' %s/%d%s overlap; give "
			"each a range of its own",
			where, a, in.prefix, b, in.routed_prefix,
			in.routed_subnet == nc->routed_subnet &&
					in.routed_prefix == nc->routed_prefix
				? " (the default)"
				: "");
	}
	*nc = in;
	return 0;
}

int vnet_netconf_parse(const char *json, struct vnet_netconf *nc, vert_error_t *err)
{
	return netconf_parse(json, strlen(json), "network.json", nc, err);
}

int vnet_netconf_load(const char *data_dir, struct vnet_netconf *nc, vert_error_t *err)
{
	_cleanup_free_ char *path = xasprintf("%s/network.json", data_dir), *buf = NULL;
	size_t len = 0;
	int r;

	vnet_netconf_defaults(nc);
	r = read_file_at(AT_FDCWD, path, 1 << 16, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "read '%s'", path);
	return netconf_parse(buf, len, path, nc, err);
}
