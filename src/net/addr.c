/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pure helpers of the network layer: address and -p parsing, derived MACs
 * and interface names.  No system state: unit-tested in test-vnet.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <net/if.h>
#include <netinet/in.h>

#include "vert/util.h"
#include "vert/vnet.h"

int vnet_parse_ipv4(const char *s, uint32_t *ret)
{
	struct in_addr a;
	int dots = 0;

	/* inet_pton is strict (no octal, no short forms); only check the
	 * length so an overlong string can't hide anything */
	if (!s || strlen(s) > 15)
		return -EINVAL;
	for (const char *c = s; *c; c++) {
		if (*c == '.')
			dots++;
		else if (!isdigit((unsigned char)*c))
			return -EINVAL;
	}
	if (dots != 3 || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ret = ntohl(a.s_addr);
	return 0;
}

uint32_t vnet_prefix_mask(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int vnet_parse_cidr4(const char *s, bool want_network, uint32_t *ret_addr, int *ret_prefix)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	char buf[16];
	uint32_t a, p;

	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (vnet_parse_ipv4(buf, &a) < 0 || parse_u32(slash + 1, &p) < 0 || p > 32)
		return -EINVAL;
	if (want_network && (a & ~vnet_prefix_mask((int)p)))
		return -EINVAL;
	*ret_addr = a;
	*ret_prefix = (int)p;
	return 0;
}

int vnet_parse_cidr6(const char *s, struct in6_addr *ret_addr, int *ret_prefix)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	char buf[INET6_ADDRSTRLEN];
	uint32_t p;

	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (inet_pton(AF_INET6, buf, ret_addr) != 1 || parse_u32(slash + 1, &p) < 0 || p > 128)
		return -EINVAL;
	*ret_prefix = (int)p;
	return 0;
}

void vnet_format_ipv4(uint32_t a, char buf[static 16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

bool vnet_cidr4_overlap(uint32_t a, int pa, uint32_t b, int pb)
{
	uint32_t m = vnet_prefix_mask(pa < pb ? pa : pb);
	return (a & m) == (b & m);
}

static int parse_port(const char *s, uint16_t *ret)
{
	uint32_t v;
	if (!*s || parse_u32(s, &v) < 0 || v == 0 || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

/* Is the host part of a -p spec an IPv6 address ("[::1]:80:80", or
 * "::1:80:80" without brackets: an address before the last two colons)? */
static bool publish_ipv6(const char *spec)
{
	_cleanup_free_ char *host = NULL;
	const char *end = strchr(spec, '/'), *c;
	struct in6_addr a;
	int colons = 0;

	if (!end)
		end = spec + strlen(spec);
	if (spec[0] == '[') {
		c = memchr(spec, ']', (size_t)(end - spec));
		if (!c)
			return false;
		host = xstrndup(spec + 1, (size_t)(c - spec - 1));
	} else {
		for (c = end; c > spec; c--)
			if (c[-1] == ':' && ++colons == 2)
				break;
		if (colons < 2 || c - 1 == spec)
			return false;
		host = xstrndup(spec, (size_t)(c - 1 - spec));
	}
	return inet_pton(AF_INET6, host, &a) == 1;
}

int vnet_parse_publish(const char *spec, struct vnet_port *ret, vert_error_t *err)
{
	_cleanup_free_ char *copy = xstrdup(spec ? spec : "");
	char *proto, *parts[3];
	size_t n = 0;
	struct vnet_port p = { .proto = IPPROTO_TCP };

	if (publish_ipv6(copy))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "invalid published port '%s': publishing on an IPv6 address "
				      "is not supported yet; publish on an IPv4 address or all "
				      "addresses",
				      spec);
	proto = strchr(copy, '/');
	if (proto) {
		*proto++ = '\0';
		if (strcmp(proto, "tcp") == 0)
			p.proto = IPPROTO_TCP;
		else if (strcmp(proto, "udp") == 0)
			p.proto = IPPROTO_UDP;
		else
			goto bad;
	}
	for (char *s = copy, *c; n < 3; s = c + 1) {
		parts[n++] = s;
		c = strchr(s, ':');
		if (!c)
			break;
		*c = '\0';
		if (n == 3)
			goto bad; /* a fourth part */
	}
	if (n == 3) {
		if (vnet_parse_ipv4(parts[0], &p.host_ip) < 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "invalid published port '%s': '%s' is not an IPv4 "
					      "address",
					      spec, parts[0]);
	}
	if (n < 2 || parse_port(parts[n - 2], &p.host_port) < 0 ||
	    parse_port(parts[n - 1], &p.ve_port) < 0)
		goto bad;
	*ret = p;
	return 0;
bad:
	return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
			      "invalid published port '%s': expected "
			      "[HOSTIP:]HOSTPORT:VEPORT[/tcp|udp] with ports 1-65535",
			      spec ? spec : "");
}

int vnet_ipv4_usable(uint32_t subnet, int prefix, uint32_t a, vert_error_t *err)
{
	uint32_t mask = vnet_prefix_mask(prefix);
	const char *what = NULL;
	char ip[16], net[16];

	vnet_format_ipv4(a, ip);
	vnet_format_ipv4(subnet, net);
	if ((a & mask) != subnet)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "address %s is outside the VE subnet %s/%d", ip, net, prefix);
	if (a == subnet)
		what = "network";
	else if (a == subnet + 1)
		what = "gateway";
	else if (a == (subnet | ~mask))
		what = "broadcast";
	if (what)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "address %s is the %s address of the VE subnet %s/%d", ip,
				      what, net, prefix);
	return 0;
}

void vnet_format_publish(const struct vnet_port *p, char buf[static 48])
{
	char ip[16];
	vnet_format_ipv4(p->host_ip, ip);
	snprintf(buf, 48, "%s:%s:%u:%u", p->proto == IPPROTO_UDP ? "udp" : "tcp", ip, p->host_port,
		 p->ve_port);
}

/* FNV-1a, 64 bit: stable across versions and architectures, which is all
 * derived names need (not a security boundary). */
static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	/* a separator, so ("ab","c") and ("a","bc") differ */
	h ^= 0xff;
	h *= 0x100000001b3ULL;
	return h;
}

static uint64_t hash2(const char *salt, const char *name)
{
	return fnv1a(fnv1a(0xcbf29ce484222325ULL, salt), name);
}

void vnet_derive_mac(const char *salt, const char *name, uint8_t mac[6])
{
	uint64_t h = hash2(salt, name);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02); /* unicast, locally administered */
}

void vnet_derive_ifname(const char *prefix, const char *salt, const char *name, char buf[16])
{
	uint64_t h = hash2(salt, name);
	size_t pl = strlen(prefix);
	int hex = (int)(15 - (pl > 7 ? 7 : pl));

	if (hex > 12)
		hex = 12;
	snprintf(buf, 16, "%.*s%0*llx", (int)(pl > 7 ? 7 : pl), prefix, hex,
		 (unsigned long long)(h >> (64 - 4 * hex)));
}

void vnet_mac_to_ll6(const uint8_t mac[6], struct in6_addr *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->s6_addr[0] = 0xfe;
	ret->s6_addr[1] = 0x80;
	ret->s6_addr[8] = mac[0] ^ 0x02;
	ret->s6_addr[9] = mac[1];
	ret->s6_addr[10] = mac[2];
	ret->s6_addr[11] = 0xff;
	ret->s6_addr[12] = 0xfe;
	ret->s6_addr[13] = mac[3];
	ret->s6_addr[14] = mac[4];
	ret->s6_addr[15] = mac[5];
}

void vnet_ipv6_for(const struct in6_addr *prefix, uint32_t ipv4, struct in6_addr *ret)
{
	memcpy(ret, prefix, 8);
	memset(&ret->s6_addr[8], 0, 4);
	ret->s6_addr[12] = (uint8_t)(ipv4 >> 24);
	ret->s6_addr[13] = (uint8_t)(ipv4 >> 16);
	ret->s6_addr[14] = (uint8_t)(ipv4 >> 8);
	ret->s6_addr[15] = (uint8_t)ipv4;
}

bool vnet_ifname_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}
