/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vnet_prepare: everything on the host before the VE's init exists.
 *
 * Order; vnet_teardown (plus vnet_release for a new lease) undoes any
 * prefix of it, finding each piece by the VE's name:
 *   1. the bridge, on first use (shared: never removed), ip_forward
 *   2. the address lease (DATA/net/leases.d/, by name)
 *   3. /etc/hosts, /etc/resolv.conf, /etc/hostname (RUN/net/NAME/)
 *   4. the record RUN/net/NAME.json (mode, nft table, host veth name),
 *      written before vnet_attach makes the links and rules it names
 *   5. published-port claims (DATA/net/ports.json, by name)
 * The record comes before the claims: a claim whose holder has no record
 * (or a dead one) is stale and taken over, so a claim must never exist
 * without its record, and a VE without a record holds no claim.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "net-internal.h"
#include "vert/fs.h"
#include "vert/net.h"
#include "vert/util.h"
#include "vert/vnet.h"

/* ---- the bridge ---- */

/* IPv4 forwarding is what NAT and routed mode need; vert turns it on and
 * never off (other users of the host may rely on it by then).  IPv6
 * forwarding is left alone: turning on net.ipv6.conf.all.forwarding makes
 * the host stop accepting router advertisements, which can cut its own
 * IPv6 connectivity (README: IPv6). */
static int enable_ip_forward(vert_error_t *err)
{
	_cleanup_free_ char *cur = NULL;
	int r;

	if (read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", 16, &cur, NULL) == 0 &&
	    cur[0] == '1')
		return 0;
	r = write_file_str("/proc/sys/net/ipv4/ip_forward", "1");
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "enable net.ipv4.ip_forward");
	vert_debug("enabled net.ipv4.ip_forward");
	return 0;
}

/* Ports published on 127.0.0.1 (or on all addresses, which 127.0.0.1 is
 * one of) are DNATed to the VE with their loopback source, which Linux
 * lets leave through an interface only with route_localnet on it (as
 * Docker does on docker0).  The VE can't use it to reach the host's
 * loopback: its packets to 127.0.0.0/8 are dropped at its veth (nft.c). */
int vnet_route_localnet(const char *ifname, vert_error_t *err)
{
	_cleanup_free_ char *path = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", ifname);
	_cleanup_free_ char *cur = NULL;
	int r;

	if (read_file_at(AT_FDCWD, path, 16, &cur, NULL) == 0 && cur[0] == '1')
		return 0;
	r = write_file_str(path, "1");
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME,
				      "enable net.ipv4.conf.%s.route_localnet", ifname);
	vert_debug("enabled net.ipv4.conf.%s.route_localnet", ifname);
	return 0;
}

/* The host's ends of VE links (the bridge, host-side veths) never take
 * router advertisements or redirects: a VE on the bridge could otherwise
 * hand the host a default route, an address or a prefix of its choosing
 * (the VE's own RAs are dropped at its veth as well, nft.c: this holds
 * even for a packet that got past).  No IPv6 on the host (no conf
 * directory): nothing to do. */
int vnet_no_ra(const char *ifname, vert_error_t *err)
{
	static const char *const knobs[] = { "accept_ra", "autoconf", "accept_redirects" };

	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++) {
		_cleanup_free_ char *path =
			xasprintf("/proc/sys/net/ipv6/conf/%s/%s", ifname, knobs[i]);
		_cleanup_free_ char *cur = NULL;
		int r;

		if (read_file_at(AT_FDCWD, path, 16, &cur, NULL) < 0 || cur[0] == '0')
			continue;
		r = write_file_str(path, "0");
		if (r < 0 && r != -ENOENT)
			return vert_error_set(err, -r, VERT_ERR_RUNTIME,
					      "set net.ipv6.conf.%s.%s to 0", ifname, knobs[i]);
	}
	return 0;
}

static int overlap_error(uint32_t subnet, int prefix, const char *route, vert_error_t *err)
{
	char net[16];
	vnet_format_ipv4(subnet, net);
	return vert_error_set(err, EADDRINUSE, VERT_ERR_INVALID,
			      "subnet %s/%d overlaps the host route %s (choose another 'subnet' "
			      "in network.json)",
			      net, prefix, route);
}

#define BRIDGE_OWNER "vert state root "

/* Is the state root that the bridge names as its owner gone (no such
 * directory, or its network.json names another bridge now)? */
static bool bridge_owner_gone(const char *root, const char *bridge)
{
	struct vnet_netconf nc;
	vert_error_t e = VERT_ERROR_INIT;
	struct stat st;
	bool gone;

	if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode))
		return true;
	/* a network.json it can't read either: it can't run VEs on it */
	gone = vnet_netconf_load(root, &nc, &e) < 0 || strcmp(nc.bridge, bridge) != 0;
	vert_error_clear(&e);
	return gone;
}

/* Leases live in a state root (DATA/net/leases.d/): two roots on one
 * bridge would hand out the same addresses.  So a bridge serves one
 * state root, which it names in its alias (host-wide, as long as the
 * bridge lives, and shown by `ip link`); another root is refused while
 * that one exists and still uses the bridge. */
static int bridge_owner_claim(struct nl_sock *nl, const struct vnet_state *s, int idx,
			      vert_error_t *err)
{
	_cleanup_free_ char *root = realpath(s->data, NULL);
	const char *bridge = s->nc.bridge;
	char alias[256], want[256];
	int r;

	if (!root)
		return vert_error_sys(err, "resolve '%s'", s->data);
	if ((r = nl_link_get_alias(nl, bridge, alias, err)) < 0)
		return r == -ENODEV ? vert_error_set(err, ENODEV, VERT_ERR_RUNTIME,
						     "bridge '%s' vanished", bridge)
				    : r;
	snprintf(want, sizeof(want), BRIDGE_OWNER "%s", root);
	if (strcmp(alias, want) == 0)
		return 0;
	if (*alias && !str_startswith(alias, BRIDGE_OWNER)) {
		vert_debug("bridge '%s' has the alias '%s': not claimed", bridge, alias);
		return 0;
	}
	if (*alias && !bridge_owner_gone(alias + strlen(BRIDGE_OWNER), bridge))
		return vert_error_set(err, EBUSY, VERT_ERR_INVALID,
				      "bridge '%s' is in use by the state root '%s', which leases "
				      "its addresses; give this state root a 'bridge' and 'subnet' "
				      "of its own in '%s/network.json'",
				      bridge, alias + strlen(BRIDGE_OWNER), s->data);
	if ((r = nl_link_set_alias(nl, idx, want, err)) < 0)
		return vert_error_wrap(err, "bridge '%s'", bridge);
	return 0;
}

static int ensure_bridge_locked(void *data, vert_error_t *err)
{
	struct vnet_state *s = data;
	const struct vnet_netconf *nc = &s->nc;
	char kind[16], route[64];
	uint8_t mac[6];
	struct nl_sock nl;
	uint32_t gw = htonl(s->gw4);
	int r, idx;

	if ((r = nl_open(&nl, NETLINK_ROUTE, err)) < 0)
		return r;
	idx = nl_link_lookup(&nl, nc->bridge, kind, err);
	if (idx == -ENODEV) {
		r = nl_route4_overlap(&nl, nc->subnet, nc->prefix, 0, VNET_RTPROT, route, err);
		if (r > 0)
			r = overlap_error(nc->subnet, nc->prefix, route, err);
		if (r < 0)
			goto out;
		vnet_derive_mac("bridge", nc->bridge, mac);
		r = nl_bridge_create(&nl, nc->bridge, mac, err);
		if (r < 0) {
			vert_error_wrap(err, "bridge '%s'", nc->bridge);
			goto out;
		}
		idx = nl_link_lookup(&nl, nc->bridge, kind, err);
	}
	if (idx < 0) {
		r = idx == -ENODEV ? vert_error_set(err, ENODEV, VERT_ERR_RUNTIME,
						    "bridge '%s' vanished", nc->bridge)
				   : idx;
		goto out;
	}
	if (strcmp(kind, "bridge") != 0) {
		r = vert_error_set(err, EEXIST, VERT_ERR_INVALID,
				   "'%s' exists and is not a bridge (set 'bridge' in network.json)",
				   nc->bridge);
		goto out;
	}
	if ((r = bridge_owner_claim(&nl, s, idx, err)) < 0)
		goto out;
	/* a route for the subnet over anything but our bridge: someone else's
	 * network (checked every time: it may have appeared since) */
	r = nl_route4_overlap(&nl, nc->subnet, nc->prefix, idx, VNET_RTPROT, route, err);
	if (r > 0)
		r = overlap_error(nc->subnet, nc->prefix, route, err);
	if (r < 0)
		goto out;
	/* (re)adding the addresses is idempotent and repairs a bridge whose
	 * addresses an admin removed */
	if ((r = nl_addr_add(&nl, AF_INET, idx, &gw, nc->prefix, false, err)) < 0) {
		vert_error_wrap(err, "bridge '%s'", nc->bridge);
		goto out;
	}
	if (s->has_ip6 && (r = nl_addr_add(&nl, AF_INET6, idx, &s->gw6, 64, true, err)) < 0) {
		vert_error_wrap(err, "bridge '%s'", nc->bridge);
		goto out;
	}
	s->bridge_ifindex = idx;
	if ((r = vnet_route_localnet(nc->bridge, err)) < 0 || (r = vnet_no_ra(nc->bridge, err)) < 0)
		goto out;
	r = enable_ip_forward(err);
out:
	nl_close(&nl);
	return r;
}

static int check_routed_locked(void *data, vert_error_t *err)
{
	(void)data;
	return enable_ip_forward(err);
}

/* A routed VE's address must not be routed anywhere but to the VE: the
 * kernel's own pick for it (one lookup, after the lease and before the
 * VE's /32 exists) is a default route, a /32 of ours or nothing.  Not a
 * dump of the whole table: that holds a /32 per running routed VE and
 * made each start O(N) (bench/README.md, "Density at scale"), and a host
 * route that no VE's address falls in harms nobody. */
static int check_routed_address(const struct vnet_state *s, vert_error_t *err)
{
	char route[64], net[16];
	struct nl_sock nl;
	int r;

	if ((r = nl_open(&nl, NETLINK_ROUTE, err)) < 0)
		return r;
	r = nl_route4_match(&nl, s->ip4, 0, VNET_RTPROT, route, err);
	nl_close(&nl);
	if (r <= 0)
		return r;
	if (str_startswith(route, "local "))
		return vert_error_set(err, EADDRINUSE, VERT_ERR_EXISTS,
				      "address %s is already in use on the host (%s)", s->ip4s,
				      route);
	vnet_format_ipv4(s->subnet, net);
	return vert_error_set(err, EADDRINUSE, VERT_ERR_INVALID,
			      "routed_subnet %s/%d overlaps the host route %s, which would take "
			      "the traffic for %s (choose another 'routed_subnet' in network.json)",
			      net, s->prefix, route, s->ip4s);
}

/* ---- published ports ---- */

struct stale_ctx {
	const char *run;
	char **stale;
};

/* A claim is stale when the VE holding it has no network record, or the
 * process that owns that record (the vert that runs it) is gone. */
static bool port_holder_stale(const char *holder, void *data)
{
	struct stale_ctx *c = data;
	struct vnet_saved sv;

	if (vnet_state_load(c->run, holder, &sv, NULL) == 0 && proc_alive(sv.owner, sv.owner_start))
		return false;
	c->stale = strv_push(c->stale, xstrdup(holder));
	return true;
}

/* The host port must be free for the host's own sockets too: a DNAT rule
 * would silently steal it from a running service. */
int vnet_port_free(const struct vnet_port *p, vert_error_t *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(p->host_port),
				  .sin_addr.s_addr = htonl(p->host_ip) };
	int type = p->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	_cleanup_close_ int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	char ip[16];

	if (fd < 0)
		return vert_error_sys(err, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	vnet_format_ipv4(p->host_ip, ip);
	if (errno == EADDRINUSE)
		return vert_error_set(err, EADDRINUSE, VERT_ERR_EXISTS,
				      "port %s/%u is already in use on the host",
				      p->proto == IPPROTO_UDP ? "udp" : "tcp", p->host_port);
	if (errno == EADDRNOTAVAIL)
		return vert_error_set(err, EADDRNOTAVAIL, VERT_ERR_INVALID,
				      "cannot publish on %s: not an address of this host", ip);
	return 0; /* EACCES etc.: the DNAT rule doesn't need the bind */
}

static int claim_ports(struct vnet_state *s, vert_error_t *err)
{
	struct stale_ctx c = { .run = s->run };
	struct vnet_paths p = { .data = s->data, .run = s->run, .rootless = s->rootless };
	int r;

	if (!s->n_ports)
		return 0;
	r = vnet_ipam_claim_ports(s->data, s->name, s->ports, s->n_ports, port_holder_stale, &c,
				  err);
	/* a VE whose vert died still has its DNAT rules: take them away
	 * before ours go in (same match, earlier in the chain) */
	for (size_t i = 0; c.stale && c.stale[i]; i++) {
		vert_error_t e = VERT_ERROR_INIT;
		vert_debug("published port of '%s' was stale: tearing its network down",
			   c.stale[i]);
		vnet_teardown(&p, c.stale[i], &e);
		vert_error_clear(&e);
	}
	strv_free(c.stale);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n_ports; i++)
		if ((r = vnet_port_free(&s->ports[i], err)) < 0)
			return r;
	return 0;
}

/* ---- /etc files ---- */

static bool is_loopback_ns(const char *a)
{
	return str_startswith(a, "127.") || strcmp(a, "::1") == 0;
}

static char *resolv_conf(const struct vnet_state *s, char *const *dns)
{
	_cleanup_free_ char *host = NULL;
	char *out = xstrdup("# generated by vert\n"), *t;
	size_t n = 0;

	for (size_t i = 0; dns && dns[i]; i++) {
		t = xasprintf("%snameserver %s\n", out, dns[i]);
		free(out);
		out = t;
		n++;
	}
	if (read_file_at(AT_FDCWD, "/etc/resolv.conf", 1 << 16, &host, NULL) < 0)
		return out;
	for (char *l = strtok(host, "\n"); l; l = strtok(NULL, "\n")) {
		char ns[64];
		bool keep = false;
		if (sscanf(l, "nameserver %63s", ns) == 1) {
			/* a resolver on the host's loopback (systemd-resolved,
			 * dnsmasq) is not reachable from a VE's own netns */
			keep = !dns && (s->mode == VNET_HOST || !is_loopback_ns(ns));
		} else if (str_startswith(l, "search ") || str_startswith(l, "domain ") ||
			   str_startswith(l, "options ")) {
			keep = true;
		}
		if (keep) {
			t = xasprintf("%s%s\n", out, l);
			free(out);
			out = t;
		}
	}
	return out;
}

static int write_etc(struct vnet_state *s, const struct vnet_config *c, vert_error_t *err)
{
	static const char *const dest[] = { "/etc/hosts", "/etc/resolv.conf", "/etc/hostname" };
	static const char *const file[] = { "hosts", "resolv.conf", "hostname" };
	const char *hn = c->hostname ? c->hostname : s->name;
	_cleanup_free_ char *netdir = xasprintf("%s/net", s->run);
	_cleanup_close_ int dfd = -EBADF;
	char *content[3], ip6[INET6_ADDRSTRLEN] = "";
	int r = 0;

	if (s->has_ip6)
		inet_ntop(AF_INET6, &s->ip6, ip6, sizeof(ip6));
	/* the VE's own name on its address (127.0.1.1 without one, as
	 * Debian does), so `hostname -i` and local lookups work */
	content[0] = xasprintf("127.0.0.1\tlocalhost\n"
			       "::1\tlocalhost ip6-localhost ip6-loopback\n"
			       "%s\t%s\n%s%s%s%s",
			       s->ip4 ? s->ip4s : "127.0.1.1", hn, ip6, *ip6 ? "\t" : "",
			       *ip6 ? hn : "", *ip6 ? "\n" : "");
	content[1] = resolv_conf(s, c->dns);
	content[2] = xasprintf("%s\n", hn);

	s->etc_dir = xasprintf("%s/net/%s", s->run, s->name);
	if ((mkdir(netdir, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(s->etc_dir, 0755) < 0 && errno != EEXIST)) {
		r = vert_error_sys(err, "create '%s'", s->etc_dir);
		goto out;
	}
	dfd = open(s->etc_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = vert_error_sys(err, "open '%s'", s->etc_dir);
		goto out;
	}
	for (size_t i = 0; i < 3; i++) {
		/* no fsync needed: runtime files, rewritten at every start */
		_cleanup_close_ int fd = openat(
			dfd, file[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0 || write_all(fd, content[i], strlen(content[i])) < 0) {
			r = vert_error_sys(err, "write '%s/%s'", s->etc_dir, file[i]);
			goto out;
		}
		s->m_src[i] = xasprintf("%s/%s", s->etc_dir, file[i]);
		s->mounts[i].source = s->m_src[i];
		s->mounts[i].dest = dest[i];
		s->n_mounts = i + 1;
	}
out:
	for (size_t i = 0; i < 3; i++)
		free(content[i]);
	return r;
}

/* ---- prepare ---- */

static int prepare_addresses(struct vnet_state *s, const struct vnet_config *c, vert_error_t *err)
{
	uint32_t want = 0;
	int r;

	if (c->ip && strcmp(c->ip, "auto") != 0)
		vnet_parse_ipv4(c->ip, &want); /* checked by vnet_config_check */
	if (s->mode == VNET_BRIDGE) {
		s->subnet = s->nc.subnet;
		s->prefix = s->nc.prefix;
		s->has_ip6 = s->nc.ipv6;
		if (s->has_ip6) {
			s->gw6 = s->nc.subnet6;
			s->gw6.s6_addr[15] = 1;
		}
	} else {
		/* routed: no IPv6 yet (README: IPv6) */
		s->subnet = s->nc.routed_subnet;
		s->prefix = s->nc.routed_prefix;
	}
	s->gw4 = s->subnet + 1;
	r = vnet_ipam_locked(s->data,
			     s->mode == VNET_BRIDGE ? ensure_bridge_locked : check_routed_locked, s,
			     err);
	if (r < 0)
		return r;
	if (want) {
		struct nl_sock nl;
		/* what the address is (the gateway is also the host's) first */
		if ((r = vnet_ipv4_usable(s->subnet, s->prefix, want, err)) < 0)
			return r;
		if ((r = nl_open(&nl, NETLINK_ROUTE, err)) < 0)
			return r;
		r = nl_addr4_local(&nl, want, err);
		nl_close(&nl);
		if (r > 0)
			return vert_error_set(err, EADDRINUSE, VERT_ERR_EXISTS,
					      "address %s is already in use on the host", c->ip);
		if (r < 0)
			return r;
	}
	r = vnet_ipam_lease(s->data, s->name, s->subnet, s->prefix, want, &s->ip4, &s->lease_new,
			    c->ephemeral ? VNET_LEASE_EPHEMERAL : 0, err);
	if (r < 0)
		return r;
	vnet_format_ipv4(s->ip4, s->ip4s);
	if (s->mode == VNET_ROUTED && (r = check_routed_address(s, err)) < 0)
		return r;
	if (s->has_ip6)
		vnet_ipv6_for(&s->nc.subnet6, s->ip4, &s->ip6);
	return 0;
}

static int prepare(const struct vnet_paths *p, const char *name, const struct vnet_config *c,
		   struct vnet_state **ret, vert_error_t *err)
{
	_cleanup_vnet_ struct vnet_state *s = xcalloc(1, sizeof(*s));
	int r;

	s->data = xstrdup(p->data);
	s->run = xstrdup(p->run);
	s->rootless = p->rootless;
	s->name = xstrdup(name);
	if ((r = vnet_config_check(c, err)) < 0 ||
	    (r = vnet_resolve_mode(p, c->mode, &s->mode, &s->notice, err)) < 0)
		goto fail_early;
	s->chosen = !c->mode || strcmp(c->mode, "auto") == 0;
	for (size_t i = 0; c->publish && c->publish[i]; i++) {
		s->ports = xrealloc(s->ports, (s->n_ports + 1) * sizeof(*s->ports));
		vnet_parse_publish(c->publish[i], &s->ports[s->n_ports++], NULL);
	}
	if ((r = vnet_mode_check(s->mode, c, s->n_ports, err)) < 0)
		goto fail_early;
	if (s->mode == VNET_NONE) {
		*ret = TAKE_PTR(s);
		return 0;
	}
	if ((r = vnet_netconf_load(p->data, &s->nc, err)) < 0)
		goto fail_early;
	/* leftovers of an earlier run of this VE (a killed vert) */
	if ((r = vnet_teardown(p, name, err)) < 0)
		goto fail_early;
	if (s->mode == VNET_BRIDGE || s->mode == VNET_ROUTED) {
		vnet_derive_ifname(s->mode == VNET_BRIDGE ? "vb" : "vr", p->data, name, s->host_if);
		if (c->mac)
			memcpy(s->mac, c->mac, 6); /* a restored VE keeps its own */
		else
			vnet_derive_mac(s->nc.bridge, name, s->mac);
		if ((r = prepare_addresses(s, c, err)) < 0)
			goto fail;
	}
	/* the record, before the port claims and before vnet_attach makes
	 * the links and rules it names; what exists before it (files, lease)
	 * teardown finds by the VE's name */
	if ((r = write_etc(s, c, err)) < 0 || (r = vnet_state_save(s, err)) < 0)
		goto fail;
	if ((s->mode == VNET_BRIDGE || s->mode == VNET_ROUTED) && (r = claim_ports(s, err)) < 0)
		goto fail;
	*ret = TAKE_PTR(s);
	return 0;
fail : {
	vert_error_t e = VERT_ERROR_INIT;
	vnet_teardown(p, name, &e);
	if (s->lease_new)
		vnet_ipam_release(p->data, name, c->ephemeral ? VNET_LEASE_EPHEMERAL : 0, &e);
	vert_error_clear(&e);
}
fail_early:
	return r;
}

int vnet_prepare(const struct vnet_paths *p, const char *name, const struct vnet_config *c,
		 struct vnet_state **ret, vert_error_t *err)
{
	uint64_t t0 = now_ns();
	int r = prepare(p, name, c, ret, err);
	/* bench/scenarios/net.sh reads these lines (vert --debug) */
	if (r == 0)
		vert_debug("net: prepare %s %.3f ms", vnet_mode_name((*ret)->mode),
			   (double)(now_ns() - t0) / 1e6);
	return r;
}
