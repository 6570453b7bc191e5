/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Networking over rtnetlink with libmnl (house rule 9: no shelling out to
 * ip; the kernel's extended ack text reaches the user).
 */
#ifndef VERT_NET_H
#define VERT_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "vert/error.h"

struct mnl_socket;
struct nlmsghdr;

struct nl_sock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

int nl_open(struct nl_sock *s, int bus, vert_error_t *err);
void nl_close(struct nl_sock *s);
/* Send one request and wait for its ack; err carries the extack text. */
int nl_request(struct nl_sock *s, struct nlmsghdr *nlh, const char *what, vert_error_t *err);

/* Set a link up by index (1 is lo in a fresh netns). */
int nl_link_up(struct nl_sock *s, int ifindex, vert_error_t *err);
/* Bring loopback up in the current network namespace. */
int net_loopback_up(vert_error_t *err);

#endif
