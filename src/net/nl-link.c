/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rtnetlink links: lookup, bridge, veth pair, delete. */
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>

#include "vert/net.h"
#include "vert/util.h"

#define NL_MSG_SIZE 4096

static struct nlmsghdr *link_msg(char *buf, int type, int flags, int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nlh;
}

struct lookup {
	int ifindex;
	char kind[16];
	char alias[256]; /* IFALIASZ */
};

static int linkinfo_cb(const struct nlattr *a, void *data)
{
	struct lookup *l = data;
	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
		snprintf(l->kind, sizeof(l->kind), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data)
{
	struct lookup *l = data;
	if (mnl_attr_get_type(a) == IFLA_LINKINFO)
		mnl_attr_parse_nested(a, linkinfo_cb, data);
	else if (mnl_attr_get_type(a) == IFLA_IFALIAS && mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
		snprintf(l->alias, sizeof(l->alias), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int lookup_cb(const struct nlmsghdr *nlh, void *data)
{
	struct lookup *l = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	l->ifindex = ifi->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, l);
	return 1;
}

static int link_lookup(struct nl_sock *s, const char *name, struct lookup *ret, vert_error_t *err);

int nl_link_lookup(struct nl_sock *s, const char *name, char *ret_kind /* [16] or NULL */,
		   vert_error_t *err)
{
	struct lookup l;
	int r = link_lookup(s, name, &l, err);

	if (r > 0 && ret_kind)
		snprintf(ret_kind, 16, "%s", l.kind);
	return r;
}

int nl_link_get_alias(struct nl_sock *s, const char *name, char ret[static 256], vert_error_t *err)
{
	struct lookup l;
	int r = link_lookup(s, name, &l, err);

	if (r > 0)
		snprintf(ret, 256, "%s", l.alias);
	return r;
}

int nl_link_set_alias(struct nl_sock *s, int ifindex, const char *alias, vert_error_t *err)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, ifindex);

	mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	return nl_request(s, nlh, "set link alias", err);
}

static int link_lookup(struct nl_sock *s, const char *name, struct lookup *ret, vert_error_t *err)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, 0, 0);
	struct lookup l = { 0 };
	vert_error_t e = VERT_ERROR_INIT;
	int r;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	r = nl_request_cb(s, nlh, lookup_cb, &l, "look up link", &e);
	if (r < 0) {
		if (e.errnum == ENODEV) {
			vert_error_clear(&e);
			return -ENODEV;
		}
		vert_error_move(err, &e);
		return vert_error_wrap(err, "link '%s'", name);
	}
	if (l.ifindex <= 0)
		return -ENODEV;
	*ret = l;
	return l.ifindex;
}

int nl_bridge_create(struct nl_sock *s, const char *name, const uint8_t mac[6], vert_error_t *err)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nlattr *li, *data;

	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* no STP: ports forward at once (a VE's first packets must not wait
	 * for listening/learning) */
	mnl_attr_put_u32(nlh, IFLA_BR_STP_STATE, 0);
	mnl_attr_put_u32(nlh, IFLA_BR_FORWARD_DELAY, 0);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	return nl_request(s, nlh, "create bridge", err);
}

int nl_veth_create(struct nl_sock *s, const char *host, int master, const char *peer,
		   const uint8_t peer_mac[6], pid_t netns_pid, vert_error_t *err)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh), *pifi;
	struct nlattr *li, *data, *pinfo;

	/* the host end comes up at once; the peer is brought up inside */
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	if (master > 0)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	/* one queue each way per end: veth takes one per possible CPU by
	 * default (for XDP), each with its structures and sysfs nodes, and
	 * without XDP a veth never uses more than one (10 KiB of slab per
	 * pair on 2 CPUs, bench/README.md "Density at scale") */
	mnl_attr_put_u32(nlh, IFLA_NUM_TX_QUEUES, 1);
	mnl_attr_put_u32(nlh, IFLA_NUM_RX_QUEUES, 1);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
	mnl_attr_put_u32(nlh, IFLA_NUM_TX_QUEUES, 1);
	mnl_attr_put_u32(nlh, IFLA_NUM_RX_QUEUES, 1);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)netns_pid);
	mnl_attr_nest_end(nlh, pinfo);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	return nl_request(s, nlh, "create veth pair", err);
}

int nl_link_del(struct nl_sock *s, const char *name, vert_error_t *err)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, 0, 0);
	vert_error_t e = VERT_ERROR_INIT;
	int r;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	r = nl_request(s, nlh, "delete link", &e);
	if (r < 0 && (e.errnum == ENODEV || e.errnum == ENOENT)) {
		vert_error_clear(&e);
		return 0;
	}
	if (r < 0) {
		vert_error_move(err, &e);
		return vert_error_wrap(err, "link '%s'", name);
	}
	return 0;
}
