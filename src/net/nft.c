/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nftables rules for VEs, with libnftnl over libmnl (no `nft` binary):
 * one netlink batch per VE, so the kernel applies all of a VE's rules or
 * none of them.
 *
 *   table inet T                      (NAT and published ports)
 *     chain prerouting  nat/dstnat    DNAT of published ports (traffic in)
 *     chain output      nat/dstnat    the same for connections from the host
 *     chain postrouting nat/srcnat    hairpin NAT for published ports; per
 *                                     network (subnet), one jump to:
 *     chain net2-SUBNET-PREFIX        masquerade of the network's outbound
 *                                     traffic (daddr outside the subnet)
 *   table netdev T-K                  (K = 0..63: a hash of the host veth)
 *     chain ve-NAME  ingress on the VE's host veth: anti-spoofing (the VE
 *                    may only send with its own MAC and IP addresses)
 *
 * Rules in the shared chains carry the comment "vert:NAME", which is how
 * teardown finds them again from the VE's name alone.  The tables and the
 * net2-* chains are shared by all VEs and never deleted by vert (an older
 * vert's net-* chains are emptied, not deleted: old_net_flush).
 *
 * Masquerade is per network, not per VE: a VE can only send from its own
 * address (the anti-spoofing chain), so "saddr in the subnet" is "from one
 * of its VEs".  One rule per VE in postrouting made every commit rebuild
 * and validate a chain of N rules and every teardown dump them: quadratic
 * in the number of VEs (10,000 of them: seconds per start).  Likewise the
 * anti-spoofing chains are spread over 64 netdev tables: a commit that adds
 * rules with verdicts validates every base chain of their table again (the
 * kernel's nft_table_validate), so one table of N chains made each start
 * O(N); 64 tables hold 10,000 VEs at ~160 chains each, and the kernel's
 * table lookup by name (a list) stays short.  A VE started by an older
 * vert has its chain in "netdev T": teardown looks there too.
 */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <time.h>

#include "net-internal.h"
#include "vert/net.h"
#include "vert/util.h"

#define BATCH_SIZE (64 * 1024)
#define TAG_PREFIX "vert:"

struct batch {
	char *buf;
	struct mnl_nlmsg_batch *b;
	uint32_t seq;
};

static void batch_begin(struct batch *bt)
{
	bt->buf = xmalloc(BATCH_SIZE);
	bt->b = mnl_nlmsg_batch_start(bt->buf, BATCH_SIZE);
	bt->seq = (uint32_t)time(NULL);
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
}

static void batch_free(struct batch *bt)
{
	if (bt->b)
		mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
	bt->b = NULL;
	bt->buf = NULL;
}

static struct nlmsghdr *batch_hdr(struct batch *bt, uint16_t type, uint16_t family, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, family,
				     flags | NLM_F_ACK, bt->seq++);
}

static void batch_table(struct batch *bt, int family, const char *name)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, (uint32_t)family);
	/* NLM_F_CREATE without EXCL: "add" (exists already: fine) */
	nlh = batch_hdr(bt, NFT_MSG_NEWTABLE, (uint16_t)family, NLM_F_CREATE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	mnl_nlmsg_batch_next(bt->b);
}

static void batch_chain(struct batch *bt, int family, const char *table, const char *name,
			const char *type, int hook, int prio, const char *dev)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, (uint32_t)family);
	if (type) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	if (dev)
		nftnl_chain_set_str(c, NFTNL_CHAIN_DEV, dev);
	nlh = batch_hdr(bt, NFT_MSG_NEWCHAIN, (uint16_t)family, NLM_F_CREATE);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	mnl_nlmsg_batch_next(bt->b);
}

static void batch_rule(struct batch *bt, struct nftnl_rule *r, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh =
		batch_hdr(bt, type, (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), flags);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	mnl_nlmsg_batch_next(bt->b);
}

/* Send the batch; the kernel processes it while we are in sendmsg, so
 * every ack or error is queued on the socket when it returns. */
static int batch_send(struct nl_sock *s, struct batch *bt, const char *what, vert_error_t *err)
{
	char buf[16384];
	uint32_t first = 0;
	int first_err = 0;
	char first_msg[256] = "";

	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
	if (mnl_socket_sendto(s->nl, mnl_nlmsg_batch_head(bt->b), mnl_nlmsg_batch_size(bt->b)) < 0)
		return vert_error_sys(err, "%s: netlink send", what);
	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(s->nl), buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return vert_error_sys(err, "%s: netlink receive", what);
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; mnl_nlmsg_ok(h, (int)n);
		     h = mnl_nlmsg_next(h, (int *)&n)) {
			const struct nlmsgerr *e;
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			e = mnl_nlmsg_get_payload(h);
			/* the failing message with the lowest sequence number
			 * is the cause; later ones fail because it did */
			if (e->error && (!first_err || h->nlmsg_seq < first)) {
				first = h->nlmsg_seq;
				first_err = -e->error;
				snprintf(first_msg, sizeof(first_msg), "%s",
					 nl_extack_text(h) ? nl_extack_text(h) : "");
			}
		}
	}
	if (first_err)
		return vert_error_set(err, first_err, VERT_ERR_RUNTIME, "%s%s%s", what,
				      *first_msg ? ": " : "", first_msg);
	return 0;
}

/* ---- expressions ---- */

static void e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_rule_add_expr(r, e);
}

static void e_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	nftnl_rule_add_expr(r, e);
}

static void e_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
}

static void e_mask(struct nftnl_rule *r, const void *mask, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	static const uint8_t zero[16];
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	nftnl_rule_add_expr(r, e);
}

static void e_imm(struct nftnl_rule *r, uint32_t reg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	nftnl_rule_add_expr(r, e);
}

static void e_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	nftnl_rule_add_expr(r, e);
}

static void e_u8_eq(struct nftnl_rule *r, uint32_t meta_key, uint8_t v)
{
	e_meta(r, meta_key);
	e_cmp(r, NFT_CMP_EQ, &v, 1);
}

/* ip saddr/daddr (off 12/16) [& mask] op value, values in host order */
static void e_ip4(struct nftnl_rule *r, uint32_t off, uint32_t op, uint32_t v, int prefix)
{
	uint32_t nv = htonl(v), nm = htonl(vnet_prefix_mask(prefix));
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, 4);
	if (prefix < 32)
		e_mask(r, &nm, 4);
	e_cmp(r, op, &nv, 4);
}

static void e_ether_type(struct nftnl_rule *r, uint32_t op, uint16_t type)
{
	uint16_t t = htons(type);
	e_payload(r, NFT_PAYLOAD_LL_HEADER, 12, 2);
	e_cmp(r, op, &t, 2);
}

static struct nftnl_rule *rule_new(int family, const char *table, const char *chain,
				   const char *tag)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (tag) {
		struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
		nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, tag);
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
				    nftnl_udata_buf_len(u));
		nftnl_udata_buf_free(u);
	}
	return r;
}

static void add_rule(struct batch *bt, struct nftnl_rule *r)
{
	batch_rule(bt, r, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	nftnl_rule_free(r);
}

/* ---- per-VE rule sets ---- */

static void dnat_rule(struct batch *bt, const struct nft_ve *v, const char *chain,
		      const struct vnet_port *p, const char *tag)
{
	struct nftnl_rule *r = rule_new(NFPROTO_INET, v->table, chain, tag);
	uint32_t ip = htonl(v->ip4), local = RTN_LOCAL;
	uint16_t dport = htons(p->host_port), vport = htons(p->ve_port);
	struct nftnl_expr *e;

	e_u8_eq(r, NFT_META_NFPROTO, NFPROTO_IPV4);
	if (p->host_ip) {
		e_ip4(r, 16, NFT_CMP_EQ, p->host_ip, 32);
	} else {
		/* fib daddr type local: any address of this host */
		e = nftnl_expr_alloc("fib");
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
		nftnl_rule_add_expr(r, e);
		e_cmp(r, NFT_CMP_EQ, &local, 4);
	}
	e_u8_eq(r, NFT_META_L4PROTO, (uint8_t)p->proto);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	e_cmp(r, NFT_CMP_EQ, &dport, 2);
	e_imm(r, NFT_REG_1, &ip, 4);
	e_imm(r, NFT_REG_2, &vport, 2);
	e = nftnl_expr_alloc("nat");
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
	nftnl_rule_add_expr(r, e);
	add_rule(bt, r);
}

/* "net2-": the chain with the mid-stream return (midstream_return); an
 * older vert's "net-" chain (old: true) lacks it and is emptied when the
 * new one is made (old_net_flush). */
static void net_chain_name(int family, const void *subnet, int prefix, bool old,
			   char buf[static 80])
{
	char a[INET6_ADDRSTRLEN];

	if (family == AF_INET) {
		uint32_t n = htonl(*(const uint32_t *)subnet);
		inet_ntop(AF_INET, &n, a, sizeof(a));
	} else {
		inet_ntop(AF_INET6, subnet, a, sizeof(a));
	}
	snprintf(buf, 80, "%s-%s-%d", old ? "net" : "net2", a, prefix);
}

/* An older vert's masquerade chain, emptied: its jump in postrouting then
 * returns at once, and the new chain's jump after it does the work.  Its
 * last rule masqueraded whatever left the subnet, connections that came
 * with a migrated VE included, and ended the chain. */
static void old_net_flush(struct batch *bt, const char *table, const char *chain)
{
	struct nftnl_rule *d = nftnl_rule_alloc();

	nftnl_rule_set_u32(d, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(d, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(d, NFTNL_RULE_CHAIN, chain);
	batch_rule(bt, d, NFT_MSG_DELRULE, 0);
	nftnl_rule_free(d);
}

static void e_jump(struct nftnl_rule *r, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NFT_JUMP);
	nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	nftnl_rule_add_expr(r, e);
}

static void batch_chain_excl(struct batch *bt, int family, const char *table, const char *name)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, (uint32_t)family);
	nlh = batch_hdr(bt, NFT_MSG_NEWCHAIN, (uint16_t)family, NLM_F_CREATE | NLM_F_EXCL);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	mnl_nlmsg_batch_next(bt->b);
}

/* A TCP connection whose first packet here is not a SYN was picked up in
 * the middle by conntrack: one that came with a VE migrated (or restored)
 * to this host.  It was opened to the VE, on its address, not by it
 * through this host's masquerade (that one died with the source's
 * address), so it keeps its addresses.  Masqueraded, it would reach its
 * peer from this host's address and be reset, whenever the VE spoke
 * first after the move (a server pushing, a retransmission).
 *   net2-SUBNET: meta l4proto tcp tcp flags & (syn | ack) != syn return */
static void midstream_return(struct batch *bt, const struct nft_ve *v, const char *chain)
{
	struct nftnl_rule *r = rule_new(NFPROTO_INET, v->table, chain, NULL);
	uint8_t mask = 0x12, syn = 0x02; /* TCP flags: SYN 0x02, ACK 0x10 */

	e_u8_eq(r, NFT_META_L4PROTO, IPPROTO_TCP);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1);
	e_mask(r, &mask, 1);
	e_cmp(r, NFT_CMP_NEQ, &syn, 1);
	e_verdict(r, NFT_RETURN);
	add_rule(bt, r);
}

/* The network's masquerade, added with its chain (EXCL: of two first
 * uses racing, one batch fails whole and is retried without it):
 *   postrouting: meta nfproto ipv4 ip saddr SUBNET jump net2-SUBNET
 *   net2-SUBNET: (midstream_return) ip daddr != SUBNET masquerade
 * (the same with ip6 for the IPv6 subnet, a /64) */
static void net4_masq(struct batch *bt, const struct nft_ve *v, const char *chain)
{
	struct nftnl_rule *r;

	batch_chain_excl(bt, NFPROTO_INET, v->table, chain);
	midstream_return(bt, v, chain);
	r = rule_new(NFPROTO_INET, v->table, chain, NULL);
	e_u8_eq(r, NFT_META_NFPROTO, NFPROTO_IPV4);
	e_ip4(r, 16, NFT_CMP_NEQ, v->subnet, v->prefix);
	nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
	add_rule(bt, r);
	r = rule_new(NFPROTO_INET, v->table, "postrouting", NULL);
	e_u8_eq(r, NFT_META_NFPROTO, NFPROTO_IPV4);
	e_ip4(r, 12, NFT_CMP_EQ, v->subnet, v->prefix);
	e_jump(r, chain);
	add_rule(bt, r);
}

static void net6_masq(struct batch *bt, const struct nft_ve *v, const char *chain)
{
	struct nftnl_rule *r;
	uint8_t m6[16];

	memset(m6, 0, sizeof(m6));
	memset(m6, 0xff, 8);
	batch_chain_excl(bt, NFPROTO_INET, v->table, chain);
	midstream_return(bt, v, chain);
	r = rule_new(NFPROTO_INET, v->table, chain, NULL);
	e_u8_eq(r, NFT_META_NFPROTO, NFPROTO_IPV6);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 24, 16);
	e_mask(r, m6, 16);
	e_cmp(r, NFT_CMP_NEQ, &v->subnet6, 16);
	nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
	add_rule(bt, r);
	r = rule_new(NFPROTO_INET, v->table, "postrouting", NULL);
	e_u8_eq(r, NFT_META_NFPROTO, NFPROTO_IPV6);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16);
	e_mask(r, m6, 16);
	e_cmp(r, NFT_CMP_EQ, &v->subnet6, 16);
	e_jump(r, chain);
	add_rule(bt, r);
}

static void masq_rules(struct batch *bt, const struct nft_ve *v, const char *tag)
{
	struct nftnl_rule *r;
	uint32_t dnat = IPS_DST_NAT, zero = 0; /* ct status: host byte order */
	struct nftnl_expr *e;

	/* hairpin: a neighbour reaching this VE through a published port
	 * must see the replies come from the host, not from the VE */
	if (v->n_ports) {
		r = rule_new(NFPROTO_INET, v->table, "postrouting", tag);
		e_u8_eq(r, NFT_META_NFPROTO, NFPROTO_IPV4);
		e_ip4(r, 16, NFT_CMP_EQ, v->ip4, 32);
		e_ip4(r, 12, NFT_CMP_EQ, v->subnet, v->prefix);
		e = nftnl_expr_alloc("ct");
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
		nftnl_rule_add_expr(r, e);
		e_mask(r, &dnat, 4);
		e_cmp(r, NFT_CMP_NEQ, &zero, 4);
		nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
		add_rule(bt, r);

		/* the host reaching a port published on 127.0.0.1 (or on all
		 * addresses) via loopback: the VE can't answer 127.0.0.1, so
		 * it sees the gateway (with route_localnet on the outgoing
		 * interface, which lets such a packet leave at all) */
		r = rule_new(NFPROTO_INET, v->table, "postrouting", tag);
		e_u8_eq(r, NFT_META_NFPROTO, NFPROTO_IPV4);
		e_ip4(r, 16, NFT_CMP_EQ, v->ip4, 32);
		e_ip4(r, 12, NFT_CMP_EQ, 0x7f000000, 8);
		nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
		add_rule(bt, r);
	}
}

/* ether type T, l4 protocol P, and the first LEN bytes of its header
 * (a UDP source port, an ICMP type) VAL: drop.  The netdev family finds
 * the transport header past IPv6 extension headers; a later fragment
 * has none and doesn't match (its first fragment holds those bytes). */
static void l4_drop(struct batch *bt, const struct nft_ve *v, const char *chain, uint16_t ethertype,
		    uint8_t proto, const void *val, uint32_t len)
{
	struct nftnl_rule *r = rule_new(NFPROTO_NETDEV, v->table, chain, NULL);

	e_ether_type(r, NFT_CMP_EQ, ethertype);
	e_u8_eq(r, NFT_META_L4PROTO, proto);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, len);
	e_cmp(r, NFT_CMP_EQ, val, len);
	e_verdict(r, NF_DROP);
	add_rule(bt, r);
}

static void udp_sport_drop(struct batch *bt, const struct nft_ve *v, const char *chain,
			   uint16_t ethertype, uint16_t port)
{
	uint16_t p = htons(port);
	l4_drop(bt, v, chain, ethertype, IPPROTO_UDP, &p, 2);
}

static void icmp4_drop(struct batch *bt, const struct nft_ve *v, const char *chain, uint8_t type)
{
	l4_drop(bt, v, chain, ETHERTYPE_IP, IPPROTO_ICMP, &type, 1);
}

/* icmpv6 type T drop; with own1 (and own2), only when the message's
 * target address (neighbour discovery: at offset 8) is neither */
static void icmp6_drop(struct batch *bt, const struct nft_ve *v, const char *chain, uint8_t type,
		       const struct in6_addr *own1, const struct in6_addr *own2)
{
	struct nftnl_rule *r = rule_new(NFPROTO_NETDEV, v->table, chain, NULL);

	e_ether_type(r, NFT_CMP_EQ, ETHERTYPE_IPV6);
	e_u8_eq(r, NFT_META_L4PROTO, IPPROTO_ICMPV6);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
	e_cmp(r, NFT_CMP_EQ, &type, 1);
	if (own1) {
		e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 8, 16);
		e_cmp(r, NFT_CMP_NEQ, own1, 16);
		if (own2)
			e_cmp(r, NFT_CMP_NEQ, own2, 16);
	}
	e_verdict(r, NF_DROP);
	add_rule(bt, r);
}

/* Drop everything the VE sends that isn't from its own MAC and
 * addresses.  Chain policy accept, so each rule names what to drop. */
static void antispoof_rules(struct batch *bt, const struct nft_ve *v, const char *chain)
{
	struct nftnl_rule *r;
	uint32_t ip = htonl(v->ip4);
	static const uint8_t any6[16];

	r = rule_new(NFPROTO_NETDEV, v->table, chain, NULL); /* ether saddr != MAC drop */
	e_payload(r, NFT_PAYLOAD_LL_HEADER, 6, 6);
	e_cmp(r, NFT_CMP_NEQ, v->mac, 6);
	e_verdict(r, NF_DROP);
	add_rule(bt, r);

	r = rule_new(NFPROTO_NETDEV, v->table, chain, NULL); /* arp sha != MAC drop */
	e_ether_type(r, NFT_CMP_EQ, ETHERTYPE_ARP);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 6);
	e_cmp(r, NFT_CMP_NEQ, v->mac, 6);
	e_verdict(r, NF_DROP);
	add_rule(bt, r);

	r = rule_new(NFPROTO_NETDEV, v->table, chain, NULL); /* arp spa != IP drop */
	e_ether_type(r, NFT_CMP_EQ, ETHERTYPE_ARP);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 14, 4);
	e_cmp(r, NFT_CMP_NEQ, &ip, 4);
	e_verdict(r, NF_DROP);
	add_rule(bt, r);

	r = rule_new(NFPROTO_NETDEV, v->table, chain, NULL); /* ip saddr != IP drop */
	e_ether_type(r, NFT_CMP_EQ, ETHERTYPE_IP);
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
	e_cmp(r, NFT_CMP_NEQ, &ip, 4);
	e_verdict(r, NF_DROP);
	add_rule(bt, r);

	/* ip daddr 127.0.0.0/8 drop: route_localnet (for ports published on
	 * 127.0.0.1) would let the VE reach the host's loopback services */
	r = rule_new(NFPROTO_NETDEV, v->table, chain, NULL);
	e_ether_type(r, NFT_CMP_EQ, ETHERTYPE_IP);
	e_ip4(r, 16, NFT_CMP_EQ, 0x7f000000, 8);
	e_verdict(r, NF_DROP);
	add_rule(bt, r);

	/* no DHCP server: a VE answering DHCP on the bridge would hand its
	 * neighbours (and whatever else the bridge reaches) addresses,
	 * routes and DNS of its choosing; vert assigns the addresses */
	udp_sport_drop(bt, v, chain, ETHERTYPE_IP, 67);
	udp_sport_drop(bt, v, chain, ETHERTYPE_IPV6, 547);

	/* no router: router advertisements, redirects and router
	 * renumbering reroute or readdress every IPv6 host on the bridge,
	 * whatever their source address says */
	icmp6_drop(bt, v, chain, 134, NULL, NULL);
	icmp6_drop(bt, v, chain, 137, NULL, NULL);
	icmp6_drop(bt, v, chain, 138, NULL, NULL);
	/* and IPv4's: redirects and (RFC 1256) router advertisements */
	icmp4_drop(bt, v, chain, 5);
	icmp4_drop(bt, v, chain, 9);
	/* neighbour advertisements only for its own addresses: one for a
	 * neighbour's or the gateway's address would take its traffic */
	icmp6_drop(bt, v, chain, 136, &v->ll6, v->has_ip6 ? &v->ip6 : NULL);
	/* and none of that in fragments, where the type or the target may
	 * sit past the first one (neighbour discovery is never fragmented,
	 * RFC 6980) */
	{
		struct nftnl_expr *e = nftnl_expr_alloc("exthdr");
		uint8_t one = 1;

		r = rule_new(NFPROTO_NETDEV, v->table, chain, NULL);
		e_ether_type(r, NFT_CMP_EQ, ETHERTYPE_IPV6);
		e_u8_eq(r, NFT_META_L4PROTO, IPPROTO_ICMPV6);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_DREG, NFT_REG_1);
		nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, IPPROTO_FRAGMENT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, 0);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, 1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_FLAGS, NFT_EXTHDR_F_PRESENT);
		nftnl_rule_add_expr(r, e);
		e_cmp(r, NFT_CMP_EQ, &one, 1);
		e_verdict(r, NF_DROP);
		add_rule(bt, r);
	}

	/* IPv6: its address, its link-local address, and :: (DAD) pass */
	{
		const struct in6_addr *ok[3] = { &v->ll6, (const struct in6_addr *)any6,
						 v->has_ip6 ? &v->ip6 : NULL };
		for (size_t i = 0; i < 3; i++) {
			if (!ok[i])
				continue;
			r = rule_new(NFPROTO_NETDEV, v->table, chain, NULL);
			e_ether_type(r, NFT_CMP_EQ, ETHERTYPE_IPV6);
			e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16);
			e_cmp(r, NFT_CMP_EQ, ok[i], 16);
			e_verdict(r, NF_ACCEPT);
			add_rule(bt, r);
		}
	}
	r = rule_new(NFPROTO_NETDEV, v->table, chain, NULL);
	e_ether_type(r, NFT_CMP_EQ, ETHERTYPE_IPV6);
	e_verdict(r, NF_DROP);
	add_rule(bt, r);

	/* anything but ARP, IPv4 and IPv6 (VLAN tags, other protocols) */
	r = rule_new(NFPROTO_NETDEV, v->table, chain, NULL);
	e_payload(r, NFT_PAYLOAD_LL_HEADER, 12, 2);
	{
		uint16_t t[3] = { htons(ETHERTYPE_ARP), htons(ETHERTYPE_IP),
				  htons(ETHERTYPE_IPV6) };
		for (size_t i = 0; i < 3; i++)
			e_cmp(r, NFT_CMP_NEQ, &t[i], 2);
	}
	e_verdict(r, NF_DROP);
	add_rule(bt, r);
}

static void ve_chain_name(const char *ve, char buf[static 80])
{
	snprintf(buf, 80, "ve-%s", ve);
}

#define NETDEV_SHARDS 64

/* the netdev table of a VE's chain: T-K, K a hash (FNV-1a) of its name */
static char *netdev_table(const char *table, const char *ve)
{
	uint32_t h = 2166136261u;

	for (const char *c = ve; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	return xasprintf("%s-%u", table, h % NETDEV_SHARDS);
}

static int chain_exists(struct nl_sock *s, int family, const char *table, const char *chain,
			vert_error_t *err);

int nft_ve_add(const struct nft_ve *v, vert_error_t *err)
{
	_cleanup_free_ char *tag = xasprintf(TAG_PREFIX "%s", v->host_if);
	_cleanup_free_ char *ntable = netdev_table(v->table, v->host_if);
	struct nft_ve vd = *v;
	struct batch bt = { 0 };
	struct nl_sock s;
	char chain[80], net4[80], net6[80], old4[80], old6[80];
	int r, have_inet = 0, have_net4 = 0, have_net6 = 1, have_old4 = 0, have_old6 = 0, tries = 0;

	if ((r = nl_open(&s, NETLINK_NETFILTER, err)) < 0)
		return r;
	net_chain_name(AF_INET, &v->subnet, v->prefix, false, net4);
	net_chain_name(AF_INET6, &v->subnet6, 64, false, net6);
	net_chain_name(AF_INET, &v->subnet, v->prefix, true, old4);
	net_chain_name(AF_INET6, &v->subnet6, 64, true, old6);
again:
	/* "Adding" an existing base chain updates it, and a base chain update
	 * costs the commit an RCU grace period (~10 ms here): only what is
	 * missing is added.  Two first uses racing both add; the loser's add
	 * is then such an update, once. */
	if ((have_inet = chain_exists(&s, NFPROTO_INET, v->table, "postrouting", err)) < 0 ||
	    (have_net4 = have_inet ? chain_exists(&s, NFPROTO_INET, v->table, net4, err) : 0) < 0 ||
	    (v->has_ip6 &&
	     (have_net6 = have_inet ? chain_exists(&s, NFPROTO_INET, v->table, net6, err) : 0) <
		     0)) {
		nl_close(&s);
		return have_inet < 0 ? have_inet : have_net4 < 0 ? have_net4 : have_net6;
	}
	/* only when a network chain is made: once per network and host */
	if (have_inet && ((!have_net4 &&
			   (have_old4 = chain_exists(&s, NFPROTO_INET, v->table, old4, err)) < 0) ||
			  (!have_net6 && (have_old6 = chain_exists(&s, NFPROTO_INET, v->table, old6,
								   err)) < 0))) {
		nl_close(&s);
		return have_old4 < 0 ? have_old4 : have_old6;
	}
	batch_begin(&bt);
	if (!have_inet) {
		batch_table(&bt, NFPROTO_INET, v->table);
		batch_chain(&bt, NFPROTO_INET, v->table, "prerouting", "nat", NF_INET_PRE_ROUTING,
			    -100, NULL);
		batch_chain(&bt, NFPROTO_INET, v->table, "output", "nat", NF_INET_LOCAL_OUT, -100,
			    NULL);
		batch_chain(&bt, NFPROTO_INET, v->table, "postrouting", "nat", NF_INET_POST_ROUTING,
			    100, NULL);
	}
	for (size_t i = 0; i < v->n_ports; i++) {
		dnat_rule(&bt, v, "prerouting", &v->ports[i], tag);
		dnat_rule(&bt, v, "output", &v->ports[i], tag);
	}
	if (!have_net4)
		net4_masq(&bt, v, net4);
	if (!have_net6)
		net6_masq(&bt, v, net6);
	if (have_old4 > 0)
		old_net_flush(&bt, v->table, old4);
	if (have_old6 > 0)
		old_net_flush(&bt, v->table, old6);
	masq_rules(&bt, v, tag);
	ve_chain_name(v->host_if, chain);
	/* "add table" of an existing table with the same flags changes
	 * nothing (no transaction): cheaper than asking first */
	vd.table = ntable;
	batch_table(&bt, NFPROTO_NETDEV, ntable);
	batch_chain(&bt, NFPROTO_NETDEV, ntable, chain, "filter", NF_NETDEV_INGRESS, -500,
		    v->host_if);
	antispoof_rules(&bt, &vd, chain);
	{
		vert_error_t e = VERT_ERROR_INIT;
		r = batch_send(&s, &bt, "add nftables rules", &e);
		batch_free(&bt);
		/* another first use made a network chain meanwhile */
		if (r == -EEXIST && (!have_net4 || !have_net6) && ++tries < 3) {
			vert_error_clear(&e);
			goto again;
		}
		if (r < 0)
			vert_error_move(err, &e);
	}
	nl_close(&s);
	return r;
}

/* ---- removal ---- */

struct found {
	const char *tag;
	struct nftnl_rule **rules;
	size_t n;
};

static int udata_cb(const struct nftnl_udata *a, void *data)
{
	const char **comment = data;
	if (nftnl_udata_type(a) == NFTNL_UDATA_RULE_COMMENT && nftnl_udata_len(a) > 0) {
		const char *s = nftnl_udata_get(a);
		if (s[nftnl_udata_len(a) - 1] == '\0')
			*comment = s;
	}
	return 0;
}

static int rule_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct found *f = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	const char *comment = NULL;
	const void *ud;
	uint32_t len;

	if (nftnl_rule_nlmsg_parse(nlh, r) < 0)
		goto skip;
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	if (ud && nftnl_udata_parse(ud, len, udata_cb, &comment) >= 0 && comment &&
	    strcmp(comment, f->tag) == 0) {
		f->rules = xrealloc(f->rules, (f->n + 1) * sizeof(*f->rules));
		f->rules[f->n++] = r;
		return 0;
	}
skip:
	nftnl_rule_free(r);
	return 0;
}

/* A GET request answered with ENOENT means "no such object": 0; found: 1. */
static int exists_request(struct nl_sock *s, struct nlmsghdr *nlh, const char *what,
			  vert_error_t *err)
{
	vert_error_t e = VERT_ERROR_INIT;
	int r = nl_request(s, nlh, what, &e);

	if (r < 0 && e.errnum == ENOENT) {
		vert_error_clear(&e);
		return 0;
	}
	if (r < 0) {
		vert_error_move(err, &e);
		return r;
	}
	return 1;
}

static int chain_exists(struct nl_sock *s, int family, const char *table, const char *chain,
			vert_error_t *err)
{
	char buf[4096];
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, (uint16_t)family, 0, 0);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return exists_request(s, nlh, "look up nftables chain", err);
}

int nft_ve_del(const char *table, const char *ve, vert_error_t *err)
{
	_cleanup_free_ char *tag = xasprintf(TAG_PREFIX "%s", ve);
	_cleanup_free_ char *ntable = netdev_table(table, ve);
	const char *ctable = ntable;
	struct found f = { .tag = tag };
	struct batch bt = { 0 };
	char buf[4096], chain[80];
	struct nftnl_rule *q;
	struct nlmsghdr *nlh;
	vert_error_t e = VERT_ERROR_INIT;
	struct nl_sock s;
	int r, have_chain, retries = 0;
	bool sent = false;

	if ((r = nl_open(&s, NETLINK_NETFILTER, err)) < 0)
		return r;
again:
	/* other VEs change the table meanwhile: a dump they interrupt may
	 * miss this VE's rules, which would then stay; list again */
	for (int tries = 0;; tries++) {
		q = nftnl_rule_alloc();
		nftnl_rule_set_str(q, NFTNL_RULE_TABLE, table);
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, 0);
		nftnl_rule_nlmsg_build_payload(nlh, q);
		nftnl_rule_free(q);
		r = nl_request_cb(&s, nlh, rule_dump_cb, &f, "list nftables rules", &e);
		if (r < 0 && e.errnum == ENOENT) { /* no table: no rules */
			vert_error_clear(&e);
			r = 0;
		}
		if (r < 0) {
			vert_error_move(err, &e);
			goto out;
		}
		if (!s.dump_intr)
			break;
		if (tries == 20) {
			r = vert_error_set(
				err, EAGAIN, VERT_ERR_RUNTIME,
				"list nftables rules: interrupted by concurrent changes");
			goto out;
		}
		for (size_t i = 0; i < f.n; i++)
			nftnl_rule_free(f.rules[i]);
		f.n = 0;
	}
	ve_chain_name(ve, chain);
	ctable = ntable;
	have_chain = chain_exists(&s, NFPROTO_NETDEV, ntable, chain, err);
	if (have_chain == 0) { /* started by a vert of one netdev table */
		ctable = table;
		have_chain = chain_exists(&s, NFPROTO_NETDEV, table, chain, err);
	}
	if (have_chain < 0) {
		r = have_chain;
		goto out;
	}
	if (f.n == 0 && !have_chain)
		goto out;
	batch_begin(&bt);
	for (size_t i = 0; i < f.n; i++) {
		struct nftnl_rule *d = nftnl_rule_alloc();
		nftnl_rule_set_u32(d, NFTNL_RULE_FAMILY, NFPROTO_INET);
		nftnl_rule_set_str(d, NFTNL_RULE_TABLE, table);
		nftnl_rule_set_str(d, NFTNL_RULE_CHAIN,
				   nftnl_rule_get_str(f.rules[i], NFTNL_RULE_CHAIN));
		nftnl_rule_set_u64(d, NFTNL_RULE_HANDLE,
				   nftnl_rule_get_u64(f.rules[i], NFTNL_RULE_HANDLE));
		batch_rule(&bt, d, NFT_MSG_DELRULE, 0);
		nftnl_rule_free(d);
	}
	if (have_chain) {
		struct nftnl_rule *d = nftnl_rule_alloc();
		struct nftnl_chain *c = nftnl_chain_alloc();
		/* flush the chain (a rule without handle), then delete it */
		nftnl_rule_set_u32(d, NFTNL_RULE_FAMILY, NFPROTO_NETDEV);
		nftnl_rule_set_str(d, NFTNL_RULE_TABLE, ctable);
		nftnl_rule_set_str(d, NFTNL_RULE_CHAIN, chain);
		batch_rule(&bt, d, NFT_MSG_DELRULE, 0);
		nftnl_rule_free(d);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, ctable);
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
		nlh = batch_hdr(&bt, NFT_MSG_DELCHAIN, NFPROTO_NETDEV, 0);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		nftnl_chain_free(c);
		mnl_nlmsg_batch_next(bt.b);
	}
	r = batch_send(&s, &bt, "delete nftables rules", &e);
	sent = true;
	batch_free(&bt);
	/* the batch is all or nothing: a rule or the chain that went away
	 * between the listing and the delete (the kernel drops a netdev
	 * chain with its device, which an exiting VE's netns takes along)
	 * fails it whole, and the rest would stay; look again */
	if (r == -ENOENT && ++retries < 5) {
		vert_error_clear(&e);
		for (size_t i = 0; i < f.n; i++)
			nftnl_rule_free(f.rules[i]);
		f.n = 0;
		goto again;
	}
	if (r < 0)
		vert_error_move(err, &e);
out:
	for (size_t i = 0; i < f.n; i++)
		nftnl_rule_free(f.rules[i]);
	free(f.rules);
	/* a batch that deleted something: its socket's release would wait */
	if (sent)
		nl_close_detached(&s);
	else
		nl_close(&s);
	return r;
}
