/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vnet_precheck: what vnet_prepare would refuse, found without changing
 * the host.  `vert set` and `create` run it on the new config, `restart`
 * before it stops the VE, so a typo is an error while the VE still runs
 * rather than an outage at the next start.  vnet_prepare checks again
 * under its locks: this is advice, the allocation is there.
 */
#include <linux/rtnetlink.h>

#include "net-internal.h"
#include "vert/net.h"
#include "vert/util.h"
#include "vert/vnet.h"

int vnet_mode_check(enum vnet_mode m, const struct vnet_config *c, size_t n_ports,
		    vert_error_t *err)
{
	if (n_ports && (m == VNET_HOST || m == VNET_NONE))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "published ports need a VE network, not --net %s%s",
				      vnet_mode_name(m),
				      m == VNET_HOST ? " (the VE binds host ports itself)" : "");
	if (c->ip && strcmp(c->ip, "auto") != 0 && m != VNET_BRIDGE && m != VNET_ROUTED)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "--ip needs network mode bridge or routed (not '%s')",
				      vnet_mode_name(m));
	return 0;
}

static int check_address(const struct vnet_paths *p, const char *name, enum vnet_mode m,
			 const char *ip, vert_error_t *err)
{
	_cleanup_free_ char *holder = NULL;
	struct vnet_netconf nc;
	struct nl_sock nl;
	uint32_t a;
	int r;

	vnet_parse_ipv4(ip, &a); /* checked by vnet_config_check */
	if ((r = vnet_netconf_load(p->data, &nc, err)) < 0)
		return r;
	if (m == VNET_BRIDGE)
		r = vnet_ipv4_usable(nc.subnet, nc.prefix, a, err);
	else
		r = vnet_ipv4_usable(nc.routed_subnet, nc.routed_prefix, a, err);
	if (r < 0)
		return r;
	if (vnet_ipam_holder(p->data, name, a, &holder) > 0)
		return vert_error_set(err, EADDRINUSE, VERT_ERR_EXISTS,
				      "address %s is already in use by VE '%s'", ip, holder);
	if ((r = nl_open(&nl, NETLINK_ROUTE, err)) < 0)
		return r;
	r = nl_addr4_local(&nl, a, err);
	nl_close(&nl);
	if (r > 0)
		return vert_error_set(err, EADDRINUSE, VERT_ERR_EXISTS,
				      "address %s is already in use on the host", ip);
	return r < 0 ? r : 0;
}

static bool ports_overlap(const struct vnet_port *a, const struct vnet_port *b)
{
	return a->proto == b->proto && a->host_port == b->host_port &&
	       (!a->host_ip || !b->host_ip || a->host_ip == b->host_ip);
}

static const char *proto_name(const struct vnet_port *p)
{
	return p->proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* A claim of another VE counts while the vert that owns its network
 * record lives (as vnet_prepare's stale-claim check has it). */
static int check_port(const struct vnet_paths *p, const char *name, const struct vnet_port *port,
		      vert_error_t *err)
{
	_cleanup_free_ char *holder = NULL, *mine = NULL;
	struct vnet_saved sv;

	if (vnet_ipam_port_holder(p->data, name, port, false, &holder) > 0 &&
	    vnet_state_load(p->run, holder, &sv, NULL) == 0 && proc_alive(sv.owner, sv.owner_start))
		return vert_error_set(err, EADDRINUSE, VERT_ERR_EXISTS,
				      "port %s/%u is already published by VE '%s'",
				      proto_name(port), port->host_port, holder);
	/* a port the VE publishes now may hold a host socket of its own (a
	 * proxy): only the others are tried on the host */
	if (vnet_ipam_port_holder(p->data, name, port, true, &mine) > 0)
		return 0;
	return vnet_port_free(port, err);
}

int vnet_precheck(const struct vnet_paths *p, const char *name, const struct vnet_config *c,
		  bool ports, vert_error_t *err)
{
	_cleanup_free_ struct vnet_port *pv = NULL;
	enum vnet_mode m;
	size_t n = 0;
	int r;

	if ((r = vnet_config_check(c, err)) < 0 ||
	    (r = vnet_resolve_mode(p, c->mode, &m, NULL, err)) < 0)
		return r;
	for (size_t i = 0; c->publish && c->publish[i]; i++) {
		pv = xrealloc(pv, (n + 1) * sizeof(*pv));
		vnet_parse_publish(c->publish[i], &pv[n], NULL);
		for (size_t j = 0; j < n; j++)
			if (ports_overlap(&pv[j], &pv[n]))
				return vert_error_set(err, EADDRINUSE, VERT_ERR_INVALID,
						      "port %s/%u is published twice",
						      proto_name(&pv[n]), pv[n].host_port);
		n++;
	}
	if ((r = vnet_mode_check(m, c, n, err)) < 0)
		return r;
	if (m != VNET_BRIDGE && m != VNET_ROUTED)
		return 0;
	if (c->ip && strcmp(c->ip, "auto") != 0 && (r = check_address(p, name, m, c->ip, err)) < 0)
		return r;
	for (size_t i = 0; ports && i < n; i++)
		if ((r = check_port(p, name, &pv[i], err)) < 0)
			return r;
	return 0;
}
