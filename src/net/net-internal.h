/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to src/net. */
#ifndef VERT_NET_INTERNAL_H
#define VERT_NET_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "vert/vnet.h"

struct json_object;

/* Routes vert adds carry this protocol number, so they are told apart
 * from the admin's (e.g. in the subnet overlap check).  RTPROT values
 * above RTPROT_STATIC (4) are free for routing daemons; 0x56 is 'V'. */
#define VNET_RTPROT 0x56

/* One VE's network while vert sets it up (vnet*.c). */
struct vnet_state {
	char *data, *run; /* copies of the paths */
	bool rootless;
	char *name;
	enum vnet_mode mode;
	const char *notice;
	bool chosen; /* the mode was picked by vert (auto), not the user */
	struct vnet_netconf nc;
	uint32_t ip4, gw4, subnet;
	int prefix;
	char ip4s[16];
	bool has_ip6;
	struct in6_addr ip6, gw6;
	uint8_t mac[6];
	char host_if[16];
	int bridge_ifindex;
	struct vnet_port *ports;
	size_t n_ports;
	char *etc_dir;
	char *m_src[3];
	struct vnet_mount mounts[3];
	size_t n_mounts;
	pid_t helper_pid;
	bool lease_new;
};

int vnet_state_save(const struct vnet_state *s, vert_error_t *err);

/* What a saved record (RUN/net/NAME.json) says that teardown and the
 * stale-claim check need. */
struct vnet_saved {
	char table[64], host_if[16];
	pid_t owner, helper;
	uint64_t owner_start, helper_start;
};
char *vnet_state_path(const char *run, const char *name);
/* The pid file pasta writes for a VE, and reading a pid file (0: none). */
char *vnet_pasta_pidfile(const char *run, const char *name);
pid_t vnet_pidfile_read(const char *path);
/* -ENOENT (err left alone) when there is none; a broken record is an
 * error naming the file and the key */
int vnet_state_load(const char *run, const char *name, struct vnet_saved *sv, vert_error_t *err);
struct json_object;
int vnet_saved_parse(struct json_object *o, const char *where, struct vnet_saved *sv,
		     vert_error_t *err);

/* The host port is free for the host's own sockets (vnet-prepare.c). */
int vnet_port_free(const struct vnet_port *p, vert_error_t *err);
/* What a mode refuses of a config: ports without a VE network, --ip
 * outside bridge and routed (vnet-check.c). */
int vnet_mode_check(enum vnet_mode m, const struct vnet_config *c, size_t n_ports,
		    vert_error_t *err);
/* Who else holds addr (a lease) / a claim of the port (1, *ret: the
 * VE; 0: nobody); own: whether name itself holds a claim of the port.
 * Read only, no lock: a check, not an allocation. */
int vnet_ipam_holder(const char *data_dir, const char *name, uint32_t addr, char **ret);
int vnet_ipam_port_holder(const char *data_dir, const char *name, const struct vnet_port *p,
			  bool own, char **ret);

/* ---- nftables (nft.c) ---- */

struct nft_ve {
	const char *table;
	/* the host end of the VE's veth: names its rules and its
	 * anti-spoofing chain */
	const char *host_if;
	uint8_t mac[6];
	uint32_t ip4; /* host order */
	uint32_t subnet;
	int prefix;
	bool has_ip6;
	struct in6_addr ip6, ll6, subnet6;
	const struct vnet_port *ports;
	size_t n_ports;
};

int nft_ve_add(const struct nft_ve *v, vert_error_t *err);
/* net.ipv4.conf.IFNAME.route_localnet=1 (vnet-prepare.c) */
int vnet_route_localnet(const char *ifname, vert_error_t *err);
int vnet_no_ra(const char *ifname, vert_error_t *err);
/* Idempotent: whatever of the VE's rules exists is removed. */
int nft_ve_del(const char *table, const char *ve, vert_error_t *err);

/* ---- port claims (ipam.c) ---- */

int vnet_ipam_claim_ports(const char *data_dir, const char *name, const struct vnet_port *ports,
			  size_t n, bool (*stale)(const char *holder, void *data), void *data,
			  vert_error_t *err);
int vnet_ipam_unclaim_ports(const char *data_dir, const char *name, vert_error_t *err);
int vnet_ipam_locked(const char *data_dir, int (*fn)(void *data, vert_error_t *err), void *data,
		     vert_error_t *err);

/* ---- rootless helpers (rootless.c) ---- */

/* Start pasta / slirp4netns for the netns of pid; *ret_pid is the helper
 * that stays (0 if it daemonized without telling). */
int vnet_pasta_start(pid_t pid, bool userns, const struct vnet_port *ports, size_t n,
		     const char *pidfile, vert_error_t *err);
int vnet_slirp_start(pid_t pid, const struct vnet_port *ports, size_t n, const char *apisock,
		     pid_t *ret_pid, vert_error_t *err);
bool vnet_have_tool(const char *name);
/* Why rootless networking can't work here (static string), or NULL. */
const char *vnet_rootless_blocker(void);

#endif
