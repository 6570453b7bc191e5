// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * floor - the kernel floor for "start a container" benchmarks.
 *
 * Does only what every container runtime must do, and nothing else:
 *   unshare(NEWNS|NEWPID|NEWUTS|NEWIPC|NEWNET|NEWCGROUP), fork (so the
 *   child is pid 1 of the new pid namespace), make all mounts private,
 *   bind-mount ROOTFS onto itself, pivot_root into it, drop the old root
 *   and exec CMD.  The parent waits and returns the child's exit status.
 *
 * With --veth it also creates a veth pair over rtnetlink (libmnl): the
 * host end stays in the host network namespace, the peer is created
 * directly inside the new network namespace (one RTM_NEWLINK with
 * IFLA_NET_NS_FD in the peer info).  That is the floor for "start with
 * network".  When the child is gone the pair goes away with its network
 * namespace (the kernel tears both down asynchronously, as it does when a
 * container's last process exits).  --veth-sync instead deletes the host
 * end with RTM_DELLINK and waits for it (~15-40 ms of RCU grace periods
 * on a 2-core VM): the floor for a runtime that tears its veth down
 * synchronously before returning.
 *
 * No cgroups, no /proc, /dev or /sys mounts, no capabilities, seccomp,
 * rlimits, hooks or state files: those are what a runtime adds on top.
 *
 * usage: floor [--veth|--veth-sync] ROOTFS CMD [ARG...]
 * Built by bench/run: cc -O2 -o bench/floor bench/floor.c -lmnl
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <libmnl/libmnl.h>

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(125);
}

static int nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int portid = mnl_socket_get_portid(nl);
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (unsigned int)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -1;
	return mnl_cb_run(buf, n, nlh->nlmsg_seq, portid, NULL, NULL) < 0 ? -1 : 0;
}

/* ip link add HOST type veth peer name PEER netns NSFD */
static int veth_create(struct mnl_socket *nl, const char *host, const char *peer, int nsfd)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	struct nlattr *linkinfo, *data, *peerinfo;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peerinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)nsfd);
	mnl_attr_nest_end(nlh, peerinfo);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return nl_talk(nl, nlh);
}

/* ip link del NAME */
static int link_delete(struct mnl_socket *nl, const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = RTM_DELLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_talk(nl, nlh);
}

static void child(const char *rootfs, char **argv)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("make / private");
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("bind rootfs");
	if (chdir(rootfs) < 0)
		die("chdir rootfs");
	/* pivot_root(".", ".") stacks the old root on top of the new one */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		die("umount old root");
	if (chdir("/") < 0)
		die("chdir /");
	execvp(argv[0], argv);
	die(argv[0]);
}

int main(int argc, char **argv)
{
	struct mnl_socket *nl = NULL;
	char host[IFNAMSIZ], peer[IFNAMSIZ];
	int veth = 0, status, nsfd;
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "--veth") == 0) {
		veth = 1;
		argv++;
		argc--;
	} else if (argc > 1 && strcmp(argv[1], "--veth-sync") == 0) {
		veth = 2;
		argv++;
		argc--;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: floor [--veth|--veth-sync] ROOTFS CMD [ARG...]\n");
		return 125;
	}

	if (veth) {
		/* bound in the host netns; keeps talking to it after unshare */
		nl = mnl_socket_open(NETLINK_ROUTE);
		if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
			die("netlink");
		snprintf(host, sizeof(host), "fl%dh", (int)getpid());
		snprintf(peer, sizeof(peer), "eth0");
	}

	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
		    CLONE_NEWCGROUP) < 0)
		die("unshare");

	if (veth) {
		nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (nsfd < 0)
			die("open netns");
		if (veth_create(nl, host, peer, nsfd) < 0)
			die("create veth");
		close(nsfd);
	}

	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		child(argv[1], argv + 2);

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");

	if (veth == 2 && link_delete(nl, host) < 0)
		die("delete veth");
	if (veth)
		mnl_socket_close(nl);

	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
