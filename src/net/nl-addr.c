/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rtnetlink addresses and routes. */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "vert/net.h"
#include "vert/util.h"
#include "vert/vnet.h"

#define NL_MSG_SIZE 4096

static size_t alen(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

int nl_addr_add(struct nl_sock *s, int family, int ifindex, const void *addr, int prefix,
		bool nodad, vert_error_t *err)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	/* REPLACE: adding what is there already is fine (the bridge) */
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, alen(family), addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen(family), addr);
	if (nodad) {
		/* no duplicate address detection: the address is ours by
		 * lease, and DAD would keep it "tentative" (unusable) for a
		 * second or more after start */
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	if (family == AF_INET && prefix < 31) {
		uint32_t a, b;
		memcpy(&a, addr, 4);
		b = htonl(ntohl(a) | ~vnet_prefix_mask(prefix));
		mnl_attr_put(nlh, IFA_BROADCAST, 4, &b);
	}
	return nl_request(s, nlh, "add address", err);
}

int nl_route_add(struct nl_sock *s, int family, const void *dst, int prefix, const void *gw,
		 int ifindex, int proto, vert_error_t *err)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rt;

	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = (uint8_t)family;
	rt->rtm_dst_len = (uint8_t)(dst ? prefix : 0);
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = (uint8_t)(proto ? proto : RTPROT_BOOT);
	rt->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rt->rtm_type = RTN_UNICAST;
	if (dst)
		mnl_attr_put(nlh, RTA_DST, alen(family), dst);
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, alen(family), gw);
	if (ifindex > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	return nl_request(s, nlh, "add route", err);
}

struct overlap {
	uint32_t subnet;
	int prefix, ignore_ifindex, ignore_proto;
	char *desc;
};

struct rt_attrs {
	uint32_t dst;
	int oif;
	bool has_dst;
};

static int rt_attr_cb(const struct nlattr *a, void *data)
{
	struct rt_attrs *r = data;
	if (mnl_attr_get_type(a) == RTA_DST && mnl_attr_get_payload_len(a) == 4) {
		memcpy(&r->dst, mnl_attr_get_payload(a), 4);
		r->dst = ntohl(r->dst);
		r->has_dst = true;
	} else if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_get_payload_len(a) == 4) {
		r->oif = (int)mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

static int overlap_cb(const struct nlmsghdr *nlh, void *data)
{
	struct overlap *o = data;
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	struct rt_attrs a = { 0 };
	char ifname[IF_NAMESIZE] = "?", ip[16];

	if (nlh->nlmsg_type != RTM_NEWROUTE || rt->rtm_family != AF_INET ||
	    rt->rtm_table != RT_TABLE_MAIN || rt->rtm_dst_len == 0)
		return 0;
	mnl_attr_parse(nlh, sizeof(*rt), rt_attr_cb, &a);
	if (!a.has_dst || (o->ignore_ifindex > 0 && a.oif == o->ignore_ifindex) ||
	    (o->ignore_proto && rt->rtm_protocol == o->ignore_proto))
		return 0;
	if (!vnet_cidr4_overlap(a.dst, rt->rtm_dst_len, o->subnet, o->prefix))
		return 0;
	if (a.oif > 0)
		if_indextoname((unsigned)a.oif, ifname);
	vnet_format_ipv4(a.dst, ip);
	snprintf(o->desc, 64, "%s/%d dev %s", ip, rt->rtm_dst_len, ifname);
	return 1;
}

int nl_route4_overlap(struct nl_sock *s, uint32_t subnet, int prefix, int ignore_ifindex,
		      int ignore_proto, char ret_desc[static 64], vert_error_t *err)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rt;
	struct overlap o = { .subnet = subnet,
			     .prefix = prefix,
			     .ignore_ifindex = ignore_ifindex,
			     .ignore_proto = ignore_proto,
			     .desc = ret_desc };

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = AF_INET;
	ret_desc[0] = '\0';
	return nl_request_cb(s, nlh, overlap_cb, &o, "list routes", err);
}

struct route_match {
	int ignore_ifindex, ignore_proto;
	char *desc;
};

static int route_match_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_match *m = data;
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	struct rt_attrs a = { 0 };
	char ifname[IF_NAMESIZE] = "?", ip[16];

	if (nlh->nlmsg_type != RTM_NEWROUTE || rt->rtm_family != AF_INET)
		return 0;
	mnl_attr_parse(nlh, sizeof(*rt), rt_attr_cb, &a);
	/* a default route (or none) is no overlap; a local address is */
	if (rt->rtm_type != RTN_LOCAL && (rt->rtm_dst_len == 0 || !a.has_dst ||
					  (m->ignore_ifindex > 0 && a.oif == m->ignore_ifindex) ||
					  (m->ignore_proto && rt->rtm_protocol == m->ignore_proto)))
		return 0;
	if (a.oif > 0)
		if_indextoname((unsigned)a.oif, ifname);
	vnet_format_ipv4(a.dst, ip);
	snprintf(m->desc, 64, "%s%s/%d dev %s", rt->rtm_type == RTN_LOCAL ? "local " : "", ip,
		 rt->rtm_dst_len, ifname);
	return 1;
}

int nl_route4_match(struct nl_sock *s, uint32_t addr, int ignore_ifindex, int ignore_proto,
		    char ret_desc[static 64], vert_error_t *err)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rt;
	struct route_match m = { .ignore_ifindex = ignore_ifindex,
				 .ignore_proto = ignore_proto,
				 .desc = ret_desc };
	uint32_t dst = htonl(addr);
	vert_error_t e = VERT_ERROR_INIT;
	int r;

	/* `ip route get fibmatch ADDR`: the one route the kernel picks for
	 * the address (longest prefix, through the policy rules), not a
	 * dump of the table */
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = AF_INET;
	rt->rtm_dst_len = 32;
	rt->rtm_flags = RTM_F_FIB_MATCH;
	mnl_attr_put(nlh, RTA_DST, 4, &dst);
	ret_desc[0] = '\0';
	r = nl_request_cb(s, nlh, route_match_cb, &m, "look up route", &e);
	/* no route at all (no default route), or a policy rule's unreachable,
	 * prohibit or blackhole action (no route either): nothing overlaps */
	if (r == -ENETUNREACH || r == -EHOSTUNREACH || r == -EACCES || r == -EINVAL) {
		vert_error_clear(&e);
		return 0;
	}
	if (r < 0)
		vert_error_move(err, &e);
	return r;
}

struct addr_find {
	uint32_t addr;
};

static int addr_attr_cb(const struct nlattr *a, void *data)
{
	struct addr_find *f = data;
	uint32_t v;
	if ((mnl_attr_get_type(a) == IFA_LOCAL || mnl_attr_get_type(a) == IFA_ADDRESS) &&
	    mnl_attr_get_payload_len(a) == 4) {
		memcpy(&v, mnl_attr_get_payload(a), 4);
		if (ntohl(v) == f->addr)
			return MNL_CB_STOP;
	}
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET)
		return 0;
	return mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, data) == MNL_CB_STOP ? 1 : 0;
}

int nl_addr4_local(struct nl_sock *s, uint32_t addr, vert_error_t *err)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	struct addr_find f = { addr };

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	return nl_request_cb(s, nlh, addr_cb, &f, "list addresses", err);
}
