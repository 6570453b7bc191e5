/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Networking over rtnetlink with libmnl (house rule 9: no shelling out to
 * ip; the kernel's extended ack text reaches the user).
 */
#ifndef VERT_NET_H
#define VERT_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vert/error.h"

struct mnl_socket;
struct nlmsghdr;

struct nl_sock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	/* the last dump was interrupted by a concurrent change
	 * (NLM_F_DUMP_INTR): it may have missed entries */
	bool dump_intr;
};

/* Called for every reply message of a request (dump entries, the echo of
 * a GET); return 0 to go on, anything else is kept and returned by
 * nl_request_cb once the exchange is complete. */
typedef int (*nl_msg_cb)(const struct nlmsghdr *nlh, void *data);

int nl_open(struct nl_sock *s, int bus, vert_error_t *err);
void nl_close(struct nl_sock *s);
/* the same, without waiting for a netfilter socket's release (nl.c) */
void nl_close_detached(struct nl_sock *s);
/* Send one request and wait for its ack; err carries the extack text. */
int nl_request(struct nl_sock *s, struct nlmsghdr *nlh, const char *what, vert_error_t *err);

/* The extended ack text of an NLMSG_ERROR message, or NULL. */
const char *nl_extack_text(const struct nlmsghdr *nlh);
int nl_request_cb(struct nl_sock *s, struct nlmsghdr *nlh, nl_msg_cb cb, void *data,
		  const char *what, vert_error_t *err);

/* Set a link up by index (1 is lo in a fresh netns). */
int nl_link_up(struct nl_sock *s, int ifindex, vert_error_t *err);
/* Bring loopback up in the current network namespace. */
int net_loopback_up(vert_error_t *err);

/* ---- links (nl-link.c) ---- */

/* ifindex of a link by name: > 0, or -ENODEV.  *ret_kind (optional) gets
 * its IFLA_INFO_KIND ("bridge", "veth", "" for none). */
int nl_link_lookup(struct nl_sock *s, const char *name, char *ret_kind /* [16] or NULL */,
		   vert_error_t *err);
/* A bridge, up, with a fixed MAC (so it doesn't change as ports come and
 * go). -EEXIST when it exists. */
/* A link's alias (IFLA_IFALIAS, "" for none): ifindex, or -ENODEV. */
int nl_link_get_alias(struct nl_sock *s, const char *name, char ret[static 256], vert_error_t *err);
int nl_link_set_alias(struct nl_sock *s, int ifindex, const char *alias, vert_error_t *err);
int nl_bridge_create(struct nl_sock *s, const char *name, const uint8_t mac[6], vert_error_t *err);
/* A veth pair in one message: host end `host` (up, on `master` if > 0),
 * peer `peer` with MAC `peer_mac` created directly in the network
 * namespace of `netns_pid`. */
int nl_veth_create(struct nl_sock *s, const char *host, int master, const char *peer,
		   const uint8_t peer_mac[6], pid_t netns_pid, vert_error_t *err);
/* Delete a link by name; a missing link is not an error (returns 0). */
int nl_link_del(struct nl_sock *s, const char *name, vert_error_t *err);

/* ---- addresses and routes (nl-addr.c) ---- */

/* family AF_INET (addr: 4 bytes, network order) or AF_INET6 (16 bytes). */
int nl_addr_add(struct nl_sock *s, int family, int ifindex, const void *addr, int prefix,
		bool nodad, vert_error_t *err);
/* Route dst/prefix (dst NULL: default) via gw (NULL: on-link) over
 * ifindex (0: any), with protocol proto (RTPROT_*, 0: boot). */
int nl_route_add(struct nl_sock *s, int family, const void *dst, int prefix, const void *gw,
		 int ifindex, int proto, vert_error_t *err);
/* The first main-table IPv4 route (other than a default route, or one over
 * ifindex `ignore_ifindex`, or one with protocol `ignore_proto`) that
 * overlaps subnet/prefix, written as "A.B.C.D/N dev IF"; 0: none. */
int nl_route4_overlap(struct nl_sock *s, uint32_t subnet, int prefix, int ignore_ifindex,
		      int ignore_proto, char ret_desc[static 64], vert_error_t *err);
/* The route the kernel picks for the IPv4 address addr (host order; one
 * lookup, `ip route get fibmatch`, however long the table): 1 if it is a
 * local address of the host, or a route other than a default route, one
 * over ifindex `ignore_ifindex` or one with protocol `ignore_proto`,
 * written as "[local ]A.B.C.D/N dev IF"; 0: none (or no route at all, or
 * a policy rule that refuses the lookup). */
int nl_route4_match(struct nl_sock *s, uint32_t addr, int ignore_ifindex, int ignore_proto,
		    char ret_desc[static 64], vert_error_t *err);
/* Is this IPv4 address (host order) configured on any host interface? */
int nl_addr4_local(struct nl_sock *s, uint32_t addr, vert_error_t *err);

#endif
