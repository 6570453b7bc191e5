/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rtnetlink plumbing on libmnl, with NETLINK_EXT_ACK error strings. */
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vert/net.h"
#include "vert/util.h"

/* MNL_SOCKET_BUFFER_SIZE depends on the page size at run time (a VLA);
 * 32 KiB holds any reply we read. */
#define NL_BUF_SIZE 32768

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

int nl_open(struct nl_sock *s, int bus, vert_error_t *err)
{
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!s->nl)
		return vert_error_sys(err, "open netlink socket");
	/* best effort: older kernels just don't give the text */
	mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(s->nl);
		s->nl = NULL;
		return vert_error_set(err, e, VERT_ERR_RUNTIME, "bind netlink socket");
	}
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = (uint32_t)time(NULL);
	return 0;
}

void nl_close(struct nl_sock *s)
{
	if (s->nl)
		mnl_socket_close(s->nl);
	s->nl = NULL;
}

/* This process's command line (/proc/PID/cmdline), overwritten in
 * place: it names the caller's state root, and what the caller started is
 * over while the grandchild below lingers.  (PR_SET_MM would need
 * CAP_SYS_RESOURCE.)  Best effort. */
static void retitle(const char *title)
{
	char buf[1024], *p;
	unsigned long start = 0, end = 0;
	ssize_t n;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* fields 48 and 49 (arg_start, arg_end); the 2nd, (comm), may hold
	 * spaces: count from the last ')' */
	if (!(p = strrchr(buf, ')')))
		return;
	p++;
	for (int field = 2; p && field < 47; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %lu %lu", &start, &end) != 2 || end <= start)
		return;
	memset((void *)start, 0, end - start);
	memcpy((void *)start, title, strlen(title) < end - start ? strlen(title) : end - start - 1);
}

/* The release of a NETLINK_NETFILTER socket waits for nf_tables' cleanup
 * of the last commits that deleted something (nft_rcv_nl_event flushes
 * its destroy work, which waits for an RCU grace period: 7-10 ms here,
 * after every deletion of a VE's rules).  The commit itself is complete
 * before; only the wait is left.  So the last reference to the socket
 * goes to a grandchild that closes it and exits on its own (its parent
 * exits at once, init reaps it) and the caller's close only drops a
 * reference.  The grandchild holds nothing else: no caller's pipe stays
 * open for the time it waits.  It waits for a grace period of its own
 * first (membarrier's global command is a synchronize_rcu()): the flush
 * happens under nf_tables' commit mutex, and by then there is nothing
 * left to flush, so the next VE's rules are not held up behind it. */
void nl_close_detached(struct nl_sock *s)
{
	int fd, st;
	pid_t pid;

	if (!s->nl)
		return;
	fd = mnl_socket_get_fd(s->nl);
	pid = fork();
	if (pid == 0) {
		if (fd > 0)
			syscall(SYS_close_range, 0U, (unsigned)fd - 1, 0U);
		syscall(SYS_close_range, (unsigned)fd + 1, ~0U, 0U);
		if (fork() == 0) {
			retitle("vert: nftables socket release");
			syscall(SYS_membarrier, 0x1 /* MEMBARRIER_CMD_GLOBAL */, 0U, 0);
			close(fd);
			_exit(0);
		}
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	nl_close(s);
}

/* Find NLMSGERR_ATTR_MSG in an error message's extended ack TLVs. */
const char *nl_extack_text(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += mnl_nlmsg_get_payload_len(&e->msg);
	mnl_attr_for_each_payload((const void *)((const char *)e + off),
				  mnl_nlmsg_get_payload_len(nlh) - off)
	{
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

int nl_request_cb(struct nl_sock *s, struct nlmsghdr *nlh, nl_msg_cb cb, void *data,
		  const char *what, vert_error_t *err)
{
	char buf[NL_BUF_SIZE];
	ssize_t n;
	int cbr = 0;

	/* always: NLM_F_DUMP shares its bits with NLM_F_REPLACE|NLM_F_EXCL, so
	 * flags can't tell a dump; a dump ends with NLMSG_DONE (any ack after
	 * it is skipped by the next request's sequence check) */
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++s->seq;
	s->dump_intr = false;
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
		return vert_error_sys(err, "%s: netlink send", what);
	for (;;) {
		n = mnl_socket_recvfrom(s->nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vert_error_sys(err, "%s: netlink receive", what);
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; mnl_nlmsg_ok(h, (int)n);
		     h = mnl_nlmsg_next(h, (int *)&n)) {
			if (h->nlmsg_seq != s->seq)
				continue;
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				s->dump_intr = true;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
				const char *txt;
				if (e->error == 0)
					return cbr;
				txt = nl_extack_text(h);
				if (txt)
					return vert_error_set(err, -e->error, VERT_ERR_RUNTIME,
							      "%s: %s", what, txt);
				return vert_error_set(err, -e->error, VERT_ERR_RUNTIME, "%s", what);
			}
			if (h->nlmsg_type == NLMSG_DONE)
				return cbr;
			/* keep reading to the ack/DONE even after the callback
			 * said "stop", so the socket stays in step */
			if (cb && cbr == 0)
				cbr = cb(h, data);
		}
	}
}

int nl_request(struct nl_sock *s, struct nlmsghdr *nlh, const char *what, vert_error_t *err)
{
	return nl_request_cb(s, nlh, NULL, NULL, what, err);
}

int nl_link_up(struct nl_sock *s, int ifindex, vert_error_t *err)
{
	char buf[NL_BUF_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return nl_request(s, nlh, "set link up", err);
}

int net_loopback_up(vert_error_t *err)
{
	struct nl_sock s;
	int r;

	/* lo is always ifindex 1 in a new network namespace */
	r = nl_open(&s, NETLINK_ROUTE, err);
	if (r < 0)
		return r;
	r = nl_link_up(&s, 1, err);
	nl_close(&s);
	if (r < 0)
		return vert_error_wrap(err, "bring up loopback");
	return 0;
}
