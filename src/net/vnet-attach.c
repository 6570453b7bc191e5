/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vnet_attach and vnet_commit: the start-latency hot path.
 *
 * One RTM_NEWLINK creates the veth pair with the peer already inside the
 * VE's netns (IFLA_NET_NS_PID), named eth0, with its MAC; the host end
 * comes up on the bridge in the same message.  The inside (addresses,
 * routes) is configured through a netlink socket opened in the VE's netns
 * by a short-lived thread: setns(CLONE_NEWNET) changes only the calling
 * thread's namespace, so the main thread never leaves the host's and no
 * process is forked.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>

#include "net-internal.h"
#include "vert/net.h"
#include "vert/util.h"
#include "vert/vnet.h"

struct inside {
	const struct vnet_state *s;
	int nsfd;
	int r;
	vert_error_t err;
};

static int configure_inside(const struct vnet_state *s, struct nl_sock *nl, vert_error_t *err)
{
	uint32_t ip = htonl(s->ip4), gw = htonl(s->gw4);
	int idx, r;

	idx = nl_link_lookup(nl, "eth0", NULL, err);
	if (idx < 0)
		return idx == -ENODEV ? vert_error_set(err, ENODEV, VERT_ERR_RUNTIME,
						       "eth0 missing in the VE")
				      : idx;
	if ((r = nl_link_up(nl, idx, err)) < 0)
		return r;
	if (s->mode == VNET_ROUTED) {
		/* venet style: the address alone (/32), the host's end as an
		 * on-link gateway */
		if ((r = nl_addr_add(nl, AF_INET, idx, &ip, 32, false, err)) < 0 ||
		    (r = nl_route_add(nl, AF_INET, &gw, 32, NULL, idx, RTPROT_BOOT, err)) < 0)
			return r;
	} else if ((r = nl_addr_add(nl, AF_INET, idx, &ip, s->prefix, false, err)) < 0) {
		return r;
	}
	if ((r = nl_route_add(nl, AF_INET, NULL, 0, &gw, idx, RTPROT_BOOT, err)) < 0)
		return vert_error_wrap(err, "default route");
	if (s->has_ip6) {
		if ((r = nl_addr_add(nl, AF_INET6, idx, &s->ip6, 64, true, err)) < 0)
			return r;
		if ((r = nl_route_add(nl, AF_INET6, NULL, 0, &s->gw6, idx, RTPROT_BOOT, err)) < 0)
			return vert_error_wrap(err, "IPv6 default route");
	}
	return 0;
}

static void *inside_thread(void *data)
{
	struct inside *in = data;
	struct nl_sock nl;

	if (setns(in->nsfd, CLONE_NEWNET) < 0) {
		in->r = vert_error_sys(&in->err, "enter the VE's network namespace");
		return NULL;
	}
	/* sockets keep the netns they were created in */
	if ((in->r = nl_open(&nl, NETLINK_ROUTE, &in->err)) < 0)
		return NULL;
	in->r = configure_inside(in->s, &nl, &in->err);
	nl_close(&nl);
	return NULL;
}

static int attach_veth(struct vnet_state *s, pid_t pid, vert_error_t *err)
{
	_cleanup_free_ char *nspath = xasprintf("/proc/%d/ns/net", pid);
	struct inside in = { .s = s, .nsfd = -EBADF };
	struct nl_sock nl;
	pthread_t t;
	int r;

	if ((r = nl_open(&nl, NETLINK_ROUTE, err)) < 0)
		return r;
	r = nl_veth_create(&nl, s->host_if, s->mode == VNET_BRIDGE ? s->bridge_ifindex : 0, "eth0",
			   s->mac, pid, err);
	/* The veth of this VE's previous instance, whose namespace the
	 * kernel is still tearing down (teardown leaves it to it): this
	 * instance takes another name rather than wait for that, recorded
	 * first (teardown finds its link and rules by the recorded name). */
	for (int i = 1; r == -EEXIST && i <= 3; i++) {
		_cleanup_free_ char *alt = xasprintf("%s#%d", s->name, i);
		vert_error_clear(err);
		vert_debug("host interface '%s' exists (a previous instance's, going away?)",
			   s->host_if);
		vnet_derive_ifname(s->mode == VNET_BRIDGE ? "vb" : "vr", s->data, alt, s->host_if);
		if ((r = vnet_state_save(s, err)) < 0)
			goto out;
		r = nl_veth_create(&nl, s->host_if, s->mode == VNET_BRIDGE ? s->bridge_ifindex : 0,
				   "eth0", s->mac, pid, err);
	}
	if (r == -EEXIST) {
		/* all of them: delete the last one's */
		vert_error_t e2 = VERT_ERROR_INIT;
		vert_error_clear(err);
		if (nl_link_del(&nl, s->host_if, &e2) < 0)
			vert_debug("delete leftover '%s': %s", s->host_if, e2.msg);
		vert_error_clear(&e2);
		r = nl_veth_create(&nl, s->host_if, s->mode == VNET_BRIDGE ? s->bridge_ifindex : 0,
				   "eth0", s->mac, pid, err);
	}
	if (r < 0) {
		if (-r == EEXIST)
			vert_error_wrap(err, "host interface '%s' exists", s->host_if);
		goto out;
	}
	if ((r = vnet_no_ra(s->host_if, err)) < 0)
		goto out;
	if (s->mode == VNET_ROUTED) {
		/* the host's end: the gateway address (/32, shared by all routed
		 * VEs' host ends) and a /32 route to the VE */
		uint32_t ip = htonl(s->ip4), gw = htonl(s->gw4);
		int idx = nl_link_lookup(&nl, s->host_if, NULL, err);
		if (idx < 0) {
			r = idx == -ENODEV ? vert_error_set(err, ENODEV, VERT_ERR_RUNTIME,
							    "'%s' vanished", s->host_if)
					   : idx;
			goto out;
		}
		/* IPv4 only (README: IPv6): no IPv6 on the host end either.
		 * Its link-local, local and multicast routes would put 3
		 * routes per VE in the host's IPv6 FIB, which the kernel
		 * walks whole at every link event (fib6_ifdown): at 10,000
		 * VEs a quarter of each start */
		{
			_cleanup_free_ char *p6 =
				xasprintf("/proc/sys/net/ipv6/conf/%s/disable_ipv6", s->host_if);
			r = write_file_str(p6, "1");
			if (r < 0 && r != -ENOENT) {
				r = vert_error_set(err, -r, VERT_ERR_RUNTIME,
						   "set net.ipv6.conf.%s.disable_ipv6 to 1",
						   s->host_if);
				goto out;
			}
		}
		if ((r = nl_addr_add(&nl, AF_INET, idx, &gw, 32, false, err)) < 0 ||
		    (r = nl_route_add(&nl, AF_INET, &ip, 32, NULL, idx, VNET_RTPROT, err)) < 0)
			goto out;
		/* published ports reached over loopback leave through it */
		if (s->n_ports && (r = vnet_route_localnet(s->host_if, err)) < 0)
			goto out;
	}
	in.nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (in.nsfd < 0) {
		r = vert_error_sys(err, "open '%s'", nspath);
		goto out;
	}
	r = pthread_create(&t, NULL, inside_thread, &in);
	if (r != 0) {
		errno = r;
		r = vert_error_sys(err, "start a thread");
		goto out;
	}
	pthread_join(t, NULL);
	r = in.r;
	if (r < 0) {
		vert_error_move(err, &in.err);
		vert_error_wrap(err, "configure eth0 in the VE");
	}
out:
	vert_error_clear(&in.err);
	if (in.nsfd >= 0)
		close(in.nsfd);
	nl_close(&nl);
	return r;
}

static int attach(struct vnet_state *s, pid_t pid, vert_error_t *err)
{
	_cleanup_free_ char *pidfile = NULL;
	int r = 0;

	switch (s->mode) {
	case VNET_BRIDGE:
	case VNET_ROUTED:
		r = attach_veth(s, pid, err);
		break;
	case VNET_PASTA:
		pidfile = vnet_pasta_pidfile(s->run, s->name);
		r = vnet_pasta_start(pid, s->rootless, s->ports, s->n_ports, pidfile, err);
		if (r >= 0)
			s->helper_pid = vnet_pidfile_read(pidfile);
		break;
	case VNET_SLIRP: {
		_cleanup_free_ char *sock = xasprintf("%s/net/%s/slirp.sock", s->run, s->name);
		r = vnet_slirp_start(pid, s->ports, s->n_ports, sock, &s->helper_pid, err);
		break;
	}
	default:
		return 0;
	}
	if (r < 0 && s->chosen && s->n_ports == 0 &&
	    (s->mode == VNET_PASTA || s->mode == VNET_SLIRP)) {
		/* a rootless default that turns out not to work on this host
		 * (e.g. no usable uplink): the VE keeps its own netns with
		 * loopback, as with --net none, and the user is told */
		_cleanup_free_ char *marker = xasprintf("%s/.notice-net-fallback", s->run);
		int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) { /* said once per runtime dir, like vert's other notices */
			close(fd);
			vert_log(VERT_LOG_WARNING,
				 "%s: %s; rootless VEs run with loopback only (--net none)",
				 vnet_mode_name(s->mode), err->msg ? err->msg : "failed");
		}
		vert_error_clear(err);
		s->mode = VNET_NONE;
		return 0;
	}
	if (r < 0)
		return vert_error_wrap(err, "network (%s)", vnet_mode_name(s->mode));
	if (s->helper_pid > 0 && (r = vnet_state_save(s, err)) < 0)
		return r;
	return 0;
}

static int commit(struct vnet_state *s, vert_error_t *err)
{
	struct nft_ve v = { 0 };
	int r;

	if (s->mode != VNET_BRIDGE && s->mode != VNET_ROUTED)
		return 0;
	v.table = s->nc.table;
	/* rules and chains are keyed by the host interface name, which is
	 * derived from the state root and the VE name: VEs of one name under
	 * two --root dirs sharing a table don't collide */
	v.host_if = s->host_if;
	memcpy(v.mac, s->mac, 6);
	v.ip4 = s->ip4;
	v.subnet = s->subnet;
	v.prefix = s->prefix;
	v.has_ip6 = s->has_ip6;
	v.ip6 = s->ip6;
	v.subnet6 = s->nc.subnet6;
	vnet_mac_to_ll6(s->mac, &v.ll6);
	v.ports = s->ports;
	v.n_ports = s->n_ports;
	r = nft_ve_add(&v, err);
	if (r < 0)
		return vert_error_wrap(err, "network of '%s'", s->name);
	return 0;
}

int vnet_attach(struct vnet_state *s, pid_t pid, vert_error_t *err)
{
	uint64_t t0 = now_ns();
	int r = attach(s, pid, err);
	if (r == 0 && s->mode != VNET_NONE && s->mode != VNET_HOST)
		vert_debug("net: attach %s %.3f ms", vnet_mode_name(s->mode),
			   (double)(now_ns() - t0) / 1e6);
	return r;
}

int vnet_commit(struct vnet_state *s, vert_error_t *err)
{
	uint64_t t0 = now_ns();
	int r = commit(s, err);
	if (r == 0 && (s->mode == VNET_BRIDGE || s->mode == VNET_ROUTED))
		vert_debug("net: commit %s %.3f ms", vnet_mode_name(s->mode),
			   (double)(now_ns() - t0) / 1e6);
	return r;
}
