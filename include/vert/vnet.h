/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VE networking: the host side of a VE's network, independent of the VE
 * lifecycle that drives it.
 *
 *   vnet_prepare   before the VE's init exists: validate, ensure the bridge,
 *                  lease the address, claim published ports, write
 *                  /etc/hosts, /etc/resolv.conf and /etc/hostname for the
 *                  VE, persist what teardown needs (run/net/NAME.json)
 *   vnet_attach    after clone, before the child goes on: veth pair, eth0
 *                  inside (address, MAC, routes), or pasta/slirp4netns
 *   vnet_commit    nftables: NAT, published ports, anti-spoofing
 *   vnet_teardown  idempotent, from the persisted state only: rules, host
 *                  veth, helper process, port claims
 *   vnet_release   drops the address lease (the VE is destroyed)
 *
 * Every piece of host state is recorded before it is made, so a failure at
 * any step (or a vert killed at any point) is undone by vnet_teardown.
 * The bridge and the nftables tables are shared infrastructure: created on
 * first use, never removed by vert.
 */
#ifndef VERT_VNET_H
#define VERT_VNET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vert/error.h"
#include "vert/util.h"

/* Where state lives (the VE layer's data and runtime roots). */
struct vnet_paths {
	const char *data; /* network.json, net/leases.d/ */
	const char *run;  /* net/NAME.json, net/NAME/{hosts,resolv.conf,hostname} */
	bool rootless;	  /* not real root in the initial user namespace */
};

enum vnet_mode {
	VNET_NONE,   /* new netns, loopback only */
	VNET_HOST,   /* the host's netns (unsafe: no network isolation) */
	VNET_BRIDGE, /* veth on a bridge, NAT, published ports */
	VNET_ROUTED, /* veth, /32 routed by the host, no shared L2 (venet) */
	VNET_PASTA,  /* rootless: pasta (passt) */
	VNET_SLIRP,  /* rootless: slirp4netns */
	VNET_AUTO,   /* root: bridge; rootless: pasta, slirp4netns or none */
};

/* Per-VE settings, as the user gave them. */
struct vnet_config {
	const char *mode;     /* NULL or "auto": the default for who we are */
	const char *ip;	      /* NULL or "auto": allocate; else an IPv4 address */
	char *const *publish; /* -p specs, NULL-terminated (may be NULL) */
	char *const *dns;     /* nameservers, NULL-terminated (may be NULL) */
	const char *hostname; /* for /etc/hosts and /etc/hostname */
	const uint8_t *mac;   /* NULL: derived from the bridge and the name */
	bool ephemeral;	      /* the VE goes with its run (--rm): VNET_LEASE_EPHEMERAL */
};

/* Host settings: DATA/network.json, all keys optional. */
struct vnet_netconf {
	char bridge[16];	 /* "vert0" */
	uint32_t subnet;	 /* 10.88.0.0 (host order) */
	int prefix;		 /* 16 */
	uint32_t routed_subnet;	 /* 10.89.0.0: --net routed takes /32s from here */
	int routed_prefix;	 /* 16 */
	bool ipv6;		 /* false when "subnet6" is "" */
	struct in6_addr subnet6; /* fd76:6572:7400::/64: ULA on the bridge */
	char table[64];		 /* "vert": nftables tables inet/netdev NAME */
};

/* A published port: -p [HOSTIP:]HOSTPORT:VEPORT[/tcp|udp]. */
struct vnet_port {
	int proto;	  /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t host_ip; /* host order; 0: every host address */
	uint16_t host_port;
	uint16_t ve_port;
};

/* Bind mounts the VE needs (generated /etc files). */
struct vnet_mount {
	const char *source;
	const char *dest;
};

struct vnet_state;

/* Which mode a config resolves to for this caller (root / rootless and
 * what is installed); *ret_why explains a fallback to none (static). */
int vnet_resolve_mode(const struct vnet_paths *p, const char *mode, enum vnet_mode *ret,
		      const char **ret_why, vert_error_t *err);
const char *vnet_mode_name(enum vnet_mode m);
/* Does the mode need a new network namespace? Bring up lo? */
bool vnet_mode_new_netns(enum vnet_mode m);

/* Validate user input without touching the host (for the CLI). */
int vnet_config_check(const struct vnet_config *c, vert_error_t *err);

/* What vnet_prepare would refuse, checked without changing the host, so
 * `set`, `create` and `restart` refuse a config that can't start while
 * the VE still runs: the address (outside the subnet, its network,
 * gateway or broadcast address, leased to another VE, an address of the
 * host) and a port published twice; with ports, also a port that another
 * running VE publishes or a host process uses. */
int vnet_precheck(const struct vnet_paths *p, const char *ve_name, const struct vnet_config *c,
		  bool ports, vert_error_t *err);

int vnet_prepare(const struct vnet_paths *p, const char *ve_name, const struct vnet_config *c,
		 struct vnet_state **ret, vert_error_t *err);
/* Runs in the parent after clone, before the child goes on. */
int vnet_attach(struct vnet_state *s, pid_t pid, vert_error_t *err);
int vnet_commit(struct vnet_state *s, vert_error_t *err);
/* Undo everything of a VE's network that exists (persisted state only).
 * Returns the first error, after trying every step. */
int vnet_teardown(const struct vnet_paths *p, const char *ve_name, vert_error_t *err);
/* Whether anything of a VE's network (its record, its /etc files) is on
 * the host: nothing to tear down when not. */
bool vnet_has_traces(const struct vnet_paths *p, const char *ve_name);
/* The same; leave_link: don't delete the host's veth end, whose network
 * namespace (the VE's init just died) is going away and takes it along.
 * For VEs whose name won't be reused at once (--rm). */
int vnet_teardown_ex(const struct vnet_paths *p, const char *ve_name, bool leave_link,
		     vert_error_t *err);
int vnet_release(const struct vnet_paths *p, const char *ve_name, unsigned flags,
		 vert_error_t *err);
void vnet_state_free(struct vnet_state *s);

enum vnet_mode vnet_state_mode(const struct vnet_state *s);
size_t vnet_state_mounts(const struct vnet_state *s, const struct vnet_mount **ret);
/* A one-time notice the caller should show (mode fallback), or NULL. */
const char *vnet_state_notice(const struct vnet_state *s);

static inline void vnet_state_freep(struct vnet_state **s)
{
	vnet_state_free(*s);
}
#define _cleanup_vnet_ _cleanup_(vnet_state_freep)

/* ---- pure helpers (unit-tested) ---- */

/* Strict dotted quad; host order. */
int vnet_parse_ipv4(const char *s, uint32_t *ret);
/* "A.B.C.D/N"; the address must be the network address when
 * want_network is set. */
int vnet_parse_cidr4(const char *s, bool want_network, uint32_t *ret_addr, int *ret_prefix);
int vnet_parse_cidr6(const char *s, struct in6_addr *ret_addr, int *ret_prefix);
void vnet_format_ipv4(uint32_t a, char buf[static 16]);
uint32_t vnet_prefix_mask(int prefix);
/* a is a VE address in subnet/prefix: inside it, not its network,
 * gateway (.1) or broadcast address; else an error that says which. */
int vnet_ipv4_usable(uint32_t subnet, int prefix, uint32_t a, vert_error_t *err);
bool vnet_cidr4_overlap(uint32_t a, int pa, uint32_t b, int pb);
int vnet_parse_publish(const char *s, struct vnet_port *ret, vert_error_t *err);
/* Normalized form: "tcp:0.0.0.0:8080:80". */
void vnet_format_publish(const struct vnet_port *p, char buf[static 48]);
/* Stable, locally administered unicast MAC from (salt, name). */
void vnet_derive_mac(const char *salt, const char *name, uint8_t mac[6]);
/* Host-side interface name: prefix + hex of a hash of (salt, name), at
 * most 15 characters. */
void vnet_derive_ifname(const char *prefix, const char *salt, const char *name, char buf[16]);
/* EUI-64 link-local address of a MAC. */
void vnet_mac_to_ll6(const uint8_t mac[6], struct in6_addr *ret);
/* The VE's IPv6 address: the /64 prefix + the IPv4 host part. */
void vnet_ipv6_for(const struct in6_addr *prefix, uint32_t ipv4, struct in6_addr *ret);
bool vnet_ifname_valid(const char *s);

/* network.json: defaults, then the file if it exists. */
void vnet_netconf_defaults(struct vnet_netconf *nc);
int vnet_netconf_load(const char *data_dir, struct vnet_netconf *nc, vert_error_t *err);
int vnet_netconf_parse(const char *json, struct vnet_netconf *nc, vert_error_t *err);

/* ---- address leases (DATA/net/leases.d/, under DATA/net/ipam.lock) ---- */

/* Lease an address in subnet/prefix for name: its existing lease in that
 * subnet, the requested one (0: any) if free, or the next free one after
 * the last address given out in that subnet (wrapping round; ipam.c).
 * .0, the broadcast address and the gateway (.1) are never given out.
 * *ret_new says whether the lease was made now. */
int vnet_ipam_lease(const char *data_dir, const char *name, uint32_t subnet, int prefix,
		    uint32_t want, uint32_t *ret, bool *ret_new, unsigned flags, vert_error_t *err);
int vnet_ipam_release(const char *data_dir, const char *name, unsigned flags, vert_error_t *err);
/* flags of vnet_ipam_lease, vnet_ipam_release and vnet_release */
enum {
	/* the lease of a VE that a crash takes along (an --rm VE: its data
	 * is removed by the next command that sees it after the reboot): made and
	 * dropped without the directory fsyncs that make a kept VE's lease
	 * survive power loss, and its release outlive it.  The order of the
	 * changes is the same, and the journal keeps it (ipam.c) */
	VNET_LEASE_EPHEMERAL = 1 << 0,
};
/* The address leased to name in any subnet (0 if none). */
int vnet_ipam_lookup(const char *data_dir, const char *name, uint32_t *ret);

/* The leases, for listings of many VEs (each name looked up in O(1));
 * NULL when there are none. */
struct vnet_leases;
struct vnet_leases *vnet_leases_load(const char *data_dir);
bool vnet_leases_get(const struct vnet_leases *ls, const char *name, char buf[static 16]);
void vnet_leases_free(struct vnet_leases *ls);
/* A leases.json document of an older vert (found at where): strict,
 * every lease an IPv4 address. */
struct json_object;
int vnet_leases_parse(struct json_object *o, const char *where, struct vnet_leases **ret,
		      vert_error_t *err);

#endif
