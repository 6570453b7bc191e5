/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The network layer's pure parts: parsers, derived names, leases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <net/if.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>

#include "../../src/net/net-internal.h"
#include "vert/fs.h"
#include "vert/util.h"
#include "vert/vnet.h"

static void test_ipv4(void **state)
{
	const char *bad[] = {
		"",	      "1.2.3",	   "1.2.3.4.5",	      "256.1.1.1", "01.2.3.4x",
		"1.2.3.-4",   " 1.2.3.4",  "1.2.3.4 ",	      "a.b.c.d",   "1..2.3",
		"1.2.3.4/24", "0x1.2.3.4", "1234567890123456"
	};
	uint32_t a;
	(void)state;
	assert_int_equal(vnet_parse_ipv4("10.88.0.1", &a), 0);
	assert_int_equal(a, 0x0a580001);
	assert_int_equal(vnet_parse_ipv4("255.255.255.255", &a), 0);
	assert_int_equal(a, 0xffffffff);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (vnet_parse_ipv4(bad[i], &a) == 0)
			fail_msg("accepted '%s'", bad[i]);
	{
		char buf[16];
		vnet_format_ipv4(0x0a580002, buf);
		assert_string_equal(buf, "10.88.0.2");
	}
}

static void test_cidr(void **state)
{
	uint32_t a;
	int p;
	struct in6_addr a6;
	(void)state;
	assert_int_equal(vnet_parse_cidr4("10.88.0.0/16", true, &a, &p), 0);
	assert_int_equal(a, 0x0a580000);
	assert_int_equal(p, 16);
	assert_int_equal(vnet_parse_cidr4("10.88.0.1/16", false, &a, &p), 0);
	assert_int_not_equal(vnet_parse_cidr4("10.88.0.1/16", true, &a, &p), 0);
	assert_int_not_equal(vnet_parse_cidr4("10.88.0.0/33", false, &a, &p), 0);
	assert_int_not_equal(vnet_parse_cidr4("10.88.0.0", false, &a, &p), 0);
	assert_int_not_equal(vnet_parse_cidr4("10.88.0.0/", false, &a, &p), 0);
	assert_int_not_equal(vnet_parse_cidr4("10.88.0.0/1x", false, &a, &p), 0);
	assert_int_equal(vnet_parse_cidr6("fd00::/64", &a6, &p), 0);
	assert_int_equal(p, 64);
	assert_int_not_equal(vnet_parse_cidr6("fd00::/129", &a6, &p), 0);
	assert_int_not_equal(vnet_parse_cidr6("zz::/64", &a6, &p), 0);

	assert_int_equal(vnet_prefix_mask(0), 0);
	assert_int_equal(vnet_prefix_mask(16), 0xffff0000);
	assert_int_equal(vnet_prefix_mask(32), 0xffffffff);
	assert_true(vnet_cidr4_overlap(0x0a580000, 16, 0x0a000000, 8));
	assert_true(vnet_cidr4_overlap(0x0a580000, 16, 0x0a580100, 24));
	assert_false(vnet_cidr4_overlap(0x0a580000, 16, 0x0a590000, 16));
	assert_false(vnet_cidr4_overlap(0xc0000200, 24, 0x0a580000, 16));
}

static void test_publish(void **state)
{
	struct vnet_port p;
	vert_error_t e = VERT_ERROR_INIT;
	char buf[48];
	const char *bad[] = { "",
			      "80",
			      ":80",
			      "80:",
			      "0:80",
			      "80:0",
			      "65536:80",
			      "80:80/sctp",
			      "80:80/",
			      "1.2.3:80:80",
			      "a:80:80",
			      "1.2.3.4:80:80:80",
			      "x:y",
			      "[::1]:80:80",
			      "::1:80:80",
			      "[fd00::1]:80:80/udp",
			      "80:80/tcp/udp",
			      "-1:80",
			      "80:+80" };
	(void)state;
	assert_int_equal(vnet_parse_publish("8080:80", &p, &e), 0);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.host_ip, 0);
	assert_int_equal(p.host_port, 8080);
	assert_int_equal(p.ve_port, 80);
	vnet_format_publish(&p, buf);
	assert_string_equal(buf, "tcp:0.0.0.0:8080:80");
	assert_int_equal(vnet_parse_publish("192.0.2.2:53:5353/udp", &p, &e), 0);
	assert_int_equal(p.proto, IPPROTO_UDP);
	assert_int_equal(p.host_ip, 0xc0000202);
	vnet_format_publish(&p, buf);
	assert_string_equal(buf, "udp:192.0.2.2:53:5353");
	assert_int_equal(vnet_parse_publish("1:65535/tcp", &p, &e), 0);
	/* loopback: published for the host itself (issue 11, item 8) */
	assert_int_equal(vnet_parse_publish("127.0.0.1:8080:80", &p, &e), 0);
	assert_int_equal(p.host_ip, 0x7f000001);
	/* IPv6 host addresses are refused, and the message says so */
	assert_int_not_equal(vnet_parse_publish("[::1]:8080:80", &p, &e), 0);
	assert_non_null(strstr(e.msg, "publishing on an IPv6 address is not supported yet"));
	vert_error_clear(&e);
	assert_int_not_equal(vnet_parse_publish("1.2.3.4:80:80:80", &p, &e), 0);
	assert_null(strstr(e.msg, "IPv6"));
	vert_error_clear(&e);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (vnet_parse_publish(bad[i], &p, &e) == 0)
			fail_msg("accepted -p '%s'", bad[i]);
		assert_int_equal(e.kind, VERT_ERR_INVALID);
		assert_non_null(strstr(e.msg, "published port"));
		vert_error_clear(&e);
	}
}

static void test_mac_ifname(void **state)
{
	uint8_t a[6], b[6], c[6];
	char n1[16], n2[16], n3[16];
	struct in6_addr ll;
	char s[INET6_ADDRSTRLEN];
	(void)state;
	vnet_derive_mac("vert0", "web1", a);
	vnet_derive_mac("vert0", "web1", b);
	vnet_derive_mac("vert0", "web2", c);
	assert_memory_equal(a, b, 6);
	assert_memory_not_equal(a, c, 6);
	assert_int_equal(a[0] & 0x01, 0);    /* unicast */
	assert_int_equal(a[0] & 0x02, 0x02); /* locally administered */
	vnet_derive_mac("vert1", "web1", b);
	assert_memory_not_equal(a, b, 6);
	/* (salt, name) pairs that concatenate alike still differ */
	vnet_derive_mac("ab", "c", b);
	vnet_derive_mac("a", "bc", c);
	assert_memory_not_equal(b, c, 6);

	vnet_derive_ifname("vb", "/var/lib/vert", "web1", n1);
	vnet_derive_ifname("vb", "/var/lib/vert", "web1", n2);
	vnet_derive_ifname("vb", "/tmp/other", "web1", n3);
	assert_string_equal(n1, n2);
	assert_string_not_equal(n1, n3);
	assert_true(strlen(n1) < IFNAMSIZ);
	assert_true(str_startswith(n1, "vb"));
	assert_true(vnet_ifname_valid(n1));
	vnet_derive_ifname("averylongprefix", "s", "n", n1);
	assert_true(strlen(n1) <= 15);

	assert_true(vnet_ifname_valid("vert0"));
	assert_false(vnet_ifname_valid(""));
	assert_false(vnet_ifname_valid("a/b"));
	assert_false(vnet_ifname_valid("0123456789abcdef"));
	assert_false(vnet_ifname_valid(".."));

	{
		uint8_t m[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
		vnet_mac_to_ll6(m, &ll);
		inet_ntop(AF_INET6, &ll, s, sizeof(s));
		assert_string_equal(s, "fe80::11:22ff:fe33:4455");
	}
	{
		struct in6_addr pfx, r;
		inet_pton(AF_INET6, "fd76:6572:7430::", &pfx);
		vnet_ipv6_for(&pfx, 0x0a580002, &r);
		inet_ntop(AF_INET6, &r, s, sizeof(s));
		assert_string_equal(s, "fd76:6572:7430::a58:2");
	}
}

static void test_netconf(void **state)
{
	struct vnet_netconf nc;
	vert_error_t e = VERT_ERROR_INIT;
	const char *bad[] = {
		"[]",
		"{\"bridge\": 1}",
		"{\"bridge\": \"a/b\"}",
		"{\"bridge\": \"0123456789abcdef\"}",
		"{\"subnet\": \"10.88.0.1/16\"}",
		"{\"subnet\": \"10.0.0.0/4\"}",
		"{\"subnet\": \"10.0.0.0/30\"}",
		"{\"subnet6\": \"2001:db8::/64\"}",
		"{\"subnet6\": \"fd00::/48\"}",
		"{\"nft_table\": \"a b\"}",
		"{\"colour\": \"red\"}",
		"{\"subnet\": \"10.88.0.0/16\", \"routed_subnet\": \"10.88.128.0/24\"}",
	};
	(void)state;
	vnet_netconf_defaults(&nc);
	assert_string_equal(nc.bridge, "vert0");
	assert_int_equal(nc.subnet, 0x0a580000);
	assert_int_equal(nc.prefix, 16);
	assert_string_equal(nc.table, "vert");
	assert_true(nc.ipv6);
	assert_int_equal(vnet_netconf_parse("{\"bridge\": \"vt1\", \"subnet\": \"10.201.0.0/24\", "
					    "\"subnet6\": \"\", \"nft_table\": \"t_1\"}",
					    &nc, &e),
			 0);
	assert_string_equal(nc.bridge, "vt1");
	assert_int_equal(nc.subnet, 0x0ac90000);
	assert_int_equal(nc.prefix, 24);
	assert_false(nc.ipv6);
	assert_string_equal(nc.table, "t_1");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		vnet_netconf_defaults(&nc);
		if (vnet_netconf_parse(bad[i], &nc, &e) == 0)
			fail_msg("accepted network.json %s", bad[i]);
		assert_int_equal(e.kind, VERT_ERR_INVALID);
		vert_error_clear(&e);
	}
	/* the message names the key */
	assert_int_not_equal(vnet_netconf_parse("{\"bridge\": 5}", &nc, &e), 0);
	assert_non_null(strstr(e.msg, "network.json: key 'bridge': expected a string, got an "
				      "integer"));
	vert_error_clear(&e);
	assert_int_not_equal(vnet_netconf_parse("{\"subnet\": \"10.1.0.0/30\"}", &nc, &e), 0);
	assert_non_null(strstr(e.msg, "key 'subnet': '10.1.0.0/30'"));
	vert_error_clear(&e);
	/* an overlap names both ranges, and which one is the default */
	vnet_netconf_defaults(&nc);
	assert_int_not_equal(vnet_netconf_parse("{\"subnet\": \"10.89.128.0/18\"}", &nc, &e), 0);
	assert_non_null(strstr(e.msg, "'subnet' 10.89.128.0/18 and 'routed_subnet' 10.89.0.0/16 "
				      "(the default) overlap"));
	vert_error_clear(&e);
	assert_int_not_equal(vnet_netconf_parse("{\"bridge\": \"vt1\"", &nc, &e), 0);
	assert_non_null(strstr(e.msg, "network.json: invalid JSON"));
	vert_error_clear(&e);
}

static void test_config_check(void **state)
{
	vert_error_t e = VERT_ERROR_INIT;
	char *dns_ok[] = { "192.0.2.53", "2001:db8::53", NULL };
	char *dns_bad[] = { "dns.example", NULL };
	char *pub_bad[] = { "80", NULL };
	struct vnet_config c = { 0 };
	const char *modes[] = {
		"bridge", "routed", "none", "host", "pasta", "slirp4netns", "auto"
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		c.mode = modes[i];
		assert_int_equal(vnet_config_check(&c, &e), 0);
	}
	c.mode = "veth";
	assert_int_not_equal(vnet_config_check(&c, &e), 0);
	assert_non_null(strstr(e.msg, "'veth'"));
	vert_error_clear(&e);
	c.mode = NULL;
	c.ip = "auto";
	assert_int_equal(vnet_config_check(&c, &e), 0);
	c.ip = "10.88.0.300";
	assert_int_not_equal(vnet_config_check(&c, &e), 0);
	vert_error_clear(&e);
	c.ip = NULL;
	c.dns = dns_ok;
	assert_int_equal(vnet_config_check(&c, &e), 0);
	c.dns = dns_bad;
	assert_int_not_equal(vnet_config_check(&c, &e), 0);
	vert_error_clear(&e);
	c.dns = NULL;
	c.publish = pub_bad;
	assert_int_not_equal(vnet_config_check(&c, &e), 0);
	vert_error_clear(&e);
}

static char *tmpdir(void)
{
	char *t = xstrdup("/tmp/vert-unit-ipam.XXXXXX");
	assert_non_null(mkdtemp(t));
	return t;
}

static void test_ipam(void **state)
{
	_cleanup_free_ char *d = tmpdir();
	vert_error_t e = VERT_ERROR_INIT;
	uint32_t a, b, c, subnet = 0x0a580000;
	bool fresh;
	(void)state;
	assert_int_equal(vnet_ipam_lease(d, "a", subnet, 16, 0, &a, &fresh, 0, &e), 0);
	assert_int_equal(a, 0x0a580002); /* .0 network, .1 gateway */
	assert_true(fresh);
	assert_int_equal(vnet_ipam_lease(d, "b", subnet, 16, 0, &b, &fresh, 0, &e), 0);
	assert_int_equal(b, 0x0a580003);
	/* the same VE keeps its address (persistent across restarts) */
	assert_int_equal(vnet_ipam_lease(d, "a", subnet, 16, 0, &c, &fresh, 0, &e), 0);
	assert_int_equal(c, a);
	assert_false(fresh);
	/* a requested address in use */
	assert_int_not_equal(vnet_ipam_lease(d, "c", subnet, 16, b, &c, &fresh, 0, &e), 0);
	assert_int_equal(e.kind, VERT_ERR_EXISTS);
	assert_non_null(strstr(e.msg, "'b'"));
	vert_error_clear(&e);
	/* network, gateway, broadcast, outside */
	assert_int_not_equal(vnet_ipam_lease(d, "c", subnet, 16, subnet, &c, &fresh, 0, &e), 0);
	assert_string_equal(
		e.msg, "address 10.88.0.0 is the network address of the VE subnet 10.88.0.0/16");
	vert_error_clear(&e);
	assert_int_not_equal(vnet_ipam_lease(d, "c", subnet, 16, subnet + 1, &c, &fresh, 0, &e), 0);
	assert_string_equal(
		e.msg, "address 10.88.0.1 is the gateway address of the VE subnet 10.88.0.0/16");
	vert_error_clear(&e);
	assert_int_not_equal(vnet_ipam_lease(d, "c", subnet, 16, 0x0a58ffff, &c, &fresh, 0, &e), 0);
	assert_non_null(strstr(e.msg, "is the broadcast address of the VE subnet"));
	vert_error_clear(&e);
	assert_int_not_equal(vnet_ipam_lease(d, "c", subnet, 16, 0x0a590005, &c, &fresh, 0, &e), 0);
	assert_string_equal(e.msg, "address 10.89.0.5 is outside the VE subnet 10.88.0.0/16");
	vert_error_clear(&e);
	assert_int_equal(vnet_ipam_lease(d, "c", subnet, 16, 0x0a580063, &c, &fresh, 0, &e), 0);
	assert_int_equal(c, 0x0a580063);
	/* a freed address is not given out again until the search (which
	 * goes on after the last address it gave) comes round to it */
	assert_int_equal(vnet_ipam_release(d, "a", 0, &e), 0);
	assert_int_equal(vnet_ipam_lookup(d, "a", &c), -ENOENT);
	assert_int_equal(vnet_ipam_lease(d, "d", subnet, 16, 0, &c, &fresh, 0, &e), 0);
	assert_int_equal(c, 0x0a580004);
	assert_true(fresh);
	assert_int_equal(vnet_ipam_lookup(d, "d", &c), 0);
	assert_int_equal(c, 0x0a580004);
	/* a requested address: its own, or a free one; moving frees the old */
	assert_int_equal(vnet_ipam_lease(d, "d", subnet, 16, 0x0a580004, &c, &fresh, 0, &e), 0);
	assert_false(fresh);
	assert_int_equal(vnet_ipam_lease(d, "d", subnet, 16, 0x0a580002, &c, &fresh, 0, &e), 0);
	assert_int_equal(c, 0x0a580002);
	assert_true(fresh);
	assert_int_equal(vnet_ipam_lease(d, "e", subnet, 16, 0x0a580004, &c, &fresh, 0, &e), 0);
	/* another subnet (network.json changed): a new lease there */
	assert_int_equal(vnet_ipam_lease(d, "d", 0x0a590000, 16, 0, &c, &fresh, 0, &e), 0);
	assert_int_equal(c, 0x0a590002);
	assert_true(fresh);
	assert_int_equal(vnet_ipam_lease(d, "x", subnet, 16, 0x0a580002, &c, &fresh, 0, &e), 0);
	/* a /29 (.2 to .6): the search wraps round to a freed address */
	for (int i = 0; i < 5; i++) {
		char n[8];
		snprintf(n, sizeof(n), "w%d", i);
		assert_int_equal(vnet_ipam_lease(d, n, 0xc0a80100, 29, 0, &c, &fresh, 0, &e), 0);
		assert_int_equal(c, 0xc0a80102 + (uint32_t)i);
	}
	assert_int_not_equal(vnet_ipam_lease(d, "w5", 0xc0a80100, 29, 0, &c, &fresh, 0, &e), 0);
	assert_non_null(strstr(e.msg, "no free address left in 192.168.1.0/29"));
	vert_error_clear(&e);
	assert_int_equal(vnet_ipam_release(d, "w2", 0, &e), 0);
	assert_int_equal(vnet_ipam_lease(d, "w5", 0xc0a80100, 29, 0, &c, &fresh, 0, &e), 0);
	assert_int_equal(c, 0xc0a80104);
	/* a full /30: .1 gateway, .2 the only one */
	assert_int_equal(vnet_ipam_lease(d, "s1", 0xc0a80000, 30, 0, &c, &fresh, 0, &e), 0);
	assert_int_equal(c, 0xc0a80002);
	assert_int_not_equal(vnet_ipam_lease(d, "s2", 0xc0a80000, 30, 0, &c, &fresh, 0, &e), 0);
	assert_non_null(strstr(e.msg, "no free address"));
	vert_error_clear(&e);
	/* not a name an entry can have */
	assert_int_not_equal(vnet_ipam_lease(d, "../x", subnet, 16, 0, &c, &fresh, 0, &e), 0);
	vert_error_clear(&e);
	fs_rm_rf(d);
}

/* An --rm VE's lease (VNET_LEASE_EPHEMERAL: no fsyncs) is a lease like
 * any other: counted against the others, found, kept by its name, given
 * back by its release. */
static void test_ipam_ephemeral(void **state)
{
	_cleanup_free_ char *d = tmpdir();
	vert_error_t e = VERT_ERROR_INIT;
	uint32_t a, b, c, subnet = 0x0a580000;
	char *holder = NULL;
	bool fresh;
	(void)state;
	assert_int_equal(
		vnet_ipam_lease(d, "rm1", subnet, 16, 0, &a, &fresh, VNET_LEASE_EPHEMERAL, &e), 0);
	assert_true(fresh);
	assert_int_equal(vnet_ipam_lease(d, "kept", subnet, 16, 0, &b, &fresh, 0, &e), 0);
	assert_int_not_equal(a, b);
	/* nobody else gets it, by request either */
	assert_int_not_equal(vnet_ipam_lease(d, "other", subnet, 16, a, &c, &fresh, 0, &e), 0);
	assert_non_null(strstr(e.msg, "rm1"));
	vert_error_clear(&e);
	assert_int_equal(vnet_ipam_lookup(d, "rm1", &c), 0);
	assert_int_equal(c, a);
	assert_int_equal(vnet_ipam_holder(d, "other", a, &holder), 1);
	assert_string_equal(holder, "rm1");
	free(holder);
	/* its name keeps it */
	assert_int_equal(
		vnet_ipam_lease(d, "rm1", subnet, 16, 0, &c, &fresh, VNET_LEASE_EPHEMERAL, &e), 0);
	assert_int_equal(c, a);
	assert_false(fresh);
	/* given back: free for a request, the kept lease untouched */
	assert_int_equal(vnet_ipam_release(d, "rm1", VNET_LEASE_EPHEMERAL, &e), 0);
	assert_int_equal(vnet_ipam_lookup(d, "rm1", &c), -ENOENT);
	assert_int_equal(vnet_ipam_lease(d, "other", subnet, 16, a, &c, &fresh, 0, &e), 0);
	assert_int_equal(c, a);
	assert_int_equal(vnet_ipam_lookup(d, "kept", &c), 0);
	assert_int_equal(c, b);
	fs_rm_rf(d);
}

static void put_file(const char *path, const char *txt)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(txt, f);
	fclose(f);
}

/* a leases.json that is wrong is refused, naming the file and the key,
 * and never overwritten (its leases would be handed out again) */
static void test_ipam_corrupt(void **state)
{
	_cleanup_free_ char *d = tmpdir();
	_cleanup_free_ char *net = xasprintf("%s/net", d);
	_cleanup_free_ char *path = xasprintf("%s/net/leases.json", d);
	_cleanup_free_ char *buf = NULL;
	vert_error_t e = VERT_ERROR_INIT;
	struct vnet_leases *ls;
	struct json_object *o;
	char ip[16];
	uint32_t a;
	bool fresh;
	(void)state;

	assert_int_equal(mkdir(net, 0700), 0);
	put_file(path, "{\"leases\":{\"a\":\"10.88.0.2\",\"b\":7}}");
	assert_int_not_equal(vnet_ipam_lease(d, "c", 0x0a580000, 16, 0, &a, &fresh, 0, &e), 0);
	assert_non_null(strstr(e.msg, "leases.json: key 'leases.b': expected a string, got an "
				      "integer"));
	assert_non_null(strstr(e.msg, path));
	vert_error_clear(&e);
	put_file(path, "{\"leases\":{\"a\":\"not-an-ip\"}}");
	assert_int_not_equal(vnet_ipam_release(d, "a", 0, &e), 0);
	assert_non_null(strstr(e.msg, "key 'leases.a': 'not-an-ip' is not an IPv4 address"));
	vert_error_clear(&e);
	assert_int_not_equal(vnet_ipam_lookup(d, "a", &a), 0);
	assert_null(vnet_leases_load(d));
	put_file(path, "{\"leases\":{},\"colour\":{}}");
	assert_int_not_equal(vnet_ipam_lease(d, "c", 0x0a580000, 16, 0, &a, &fresh, 0, &e), 0);
	assert_non_null(strstr(e.msg, "unknown key 'colour'"));
	vert_error_clear(&e);
	put_file(path, "{\"leases\":{\"a\":\"10.88.0.2\"},\"ports\":{\"tcp:0.0.0.0:80:80\":1}}");
	assert_int_not_equal(vnet_ipam_lease(d, "c", 0x0a580000, 16, 0, &a, &fresh, 0, &e), 0);
	assert_non_null(strstr(e.msg, "key 'ports.tcp:0.0.0.0:80:80': expected a string"));
	vert_error_clear(&e);
	/* untouched */
	assert_int_equal(read_file_at(AT_FDCWD, path, 4096, &buf, NULL), 0);
	assert_string_equal(
		buf, "{\"leases\":{\"a\":\"10.88.0.2\"},\"ports\":{\"tcp:0.0.0.0:80:80\":1}}");

	/* a good one: converted, and gone */
	put_file(path, "{\"leases\":{\"a\":\"10.88.0.2\"},\"ports\":{}}");
	assert_int_equal(vnet_ipam_lease(d, "b", 0x0a580000, 16, 0, &a, &fresh, 0, &e), 0);
	assert_int_equal(a, 0x0a580003);
	assert_int_equal(access(path, F_OK), -1);
	ls = vnet_leases_load(d);
	assert_non_null(ls);
	assert_true(vnet_leases_get(ls, "a", ip));
	assert_string_equal(ip, "10.88.0.2");
	assert_true(vnet_leases_get(ls, "b", ip));
	assert_string_equal(ip, "10.88.0.3");
	assert_false(vnet_leases_get(ls, "c", ip));
	vnet_leases_free(ls);
	o = json_tokener_parse("{\"leases\":{\"x\":\"10.0.0.1\"}}");
	assert_int_equal(vnet_leases_parse(o, "mem", &ls, &e), 0);
	assert_true(vnet_leases_get(ls, "x", ip));
	vnet_leases_free(ls);
	json_object_put(o);
	fs_rm_rf(d);
}

/* 50 processes lease at once: 50 distinct addresses, each the lease the
 * state root has for that name. */
static void test_ipam_parallel(void **state)
{
	_cleanup_free_ char *d = tmpdir();
	pid_t pids[50];
	uint32_t seen[50];
	int pfd[2];
	(void)state;
	assert_int_equal(pipe(pfd), 0);
	for (int i = 0; i < 50; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			uint32_t msg[2] = { (uint32_t)i, 0 };
			char name[16];
			close(pfd[0]);
			snprintf(name, sizeof(name), "ve%d", i);
			if (vnet_ipam_lease(d, name, 0x0a580000, 16, 0, &msg[1], NULL, 0, NULL) < 0)
				_exit(1);
			_exit(write(pfd[1], msg, sizeof(msg)) != sizeof(msg));
		}
	}
	close(pfd[1]);
	for (int i = 0; i < 50; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (int i = 0; i < 50; i++) {
		uint32_t msg[2], a;
		char name[16];
		assert_int_equal(read(pfd[0], msg, sizeof(msg)), sizeof(msg));
		for (int j = 0; j < i; j++)
			assert_int_not_equal(seen[j], msg[1]);
		seen[i] = msg[1];
		snprintf(name, sizeof(name), "ve%u", msg[0]);
		assert_int_equal(vnet_ipam_lookup(d, name, &a), 0);
		assert_int_equal(a, msg[1]);
	}
	close(pfd[0]);
	fs_rm_rf(d);
}

static void put_link(const char *d, const char *rel, const char *target)
{
	_cleanup_free_ char *p = xasprintf("%s/net/leases.d/%s", d, rel);
	assert_int_equal(symlink(target, p), 0);
}

static bool has_entry(const char *d, const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/net/leases.d/%s", d, rel);
	struct stat st;
	return lstat(p, &st) == 0;
}

/* What a vert killed in the middle of a lease or release leaves: no lease
 * for anyone, and it costs no address for good. */
static void test_ipam_leftovers(void **state)
{
	_cleanup_free_ char *d = tmpdir();
	_cleanup_free_ char *holder = NULL;
	vert_error_t e = VERT_ERROR_INIT;
	struct vnet_leases *ls;
	uint32_t a, sub = 0x0a580000;
	char ip[16];
	bool fresh;
	(void)state;
	assert_int_equal(vnet_ipam_lease(d, "a", sub, 16, 0, &a, &fresh, 0, &e), 0);
	assert_int_equal(a, 0x0a580002);
	/* killed after the claim (of someone else's, and of a's own next
	 * address): orphans; before the index rename: a .tmp- entry */
	put_link(d, "10.88.0.3", "ghost");
	put_link(d, "10.88.0.4", "a");
	put_link(d, "10.88.0.9", "gone");
	put_link(d, "by-name/.tmp-b", "10.88.0.3");
	/* an index entry alone (vert leaves none: a hand edit) */
	put_link(d, "by-name/z", "10.88.0.7");
	/* a claim naming what can't be a VE */
	put_link(d, "10.88.0.5", "../../x");

	assert_int_equal(vnet_ipam_lookup(d, "ghost", &a), -ENOENT);
	assert_int_equal(vnet_ipam_lookup(d, "z", &a), -ENOENT);
	assert_int_equal(vnet_ipam_lookup(d, "a", &a), 0);
	assert_int_equal(a, 0x0a580002);
	assert_int_equal(vnet_ipam_holder(d, "q", 0x0a580003, &holder), 0);
	assert_int_equal(vnet_ipam_holder(d, "q", 0x0a580002, &holder), 1);
	assert_string_equal(holder, "a");
	ls = vnet_leases_load(d);
	assert_non_null(ls);
	assert_true(vnet_leases_get(ls, "a", ip));
	assert_false(vnet_leases_get(ls, "ghost", ip));
	assert_false(vnet_leases_get(ls, ".tmp-b", ip));
	vnet_leases_free(ls);

	/* the search takes the orphans back in turn */
	assert_int_equal(vnet_ipam_lease(d, "b", sub, 16, 0, &a, &fresh, 0, &e), 0);
	assert_int_equal(a, 0x0a580003);
	assert_false(has_entry(d, "by-name/.tmp-b"));
	assert_int_equal(vnet_ipam_lease(d, "c", sub, 16, 0, &a, &fresh, 0, &e), 0);
	assert_int_equal(a, 0x0a580004);
	assert_int_equal(vnet_ipam_lease(d, "f", sub, 16, 0, &a, &fresh, 0, &e), 0);
	assert_int_equal(a, 0x0a580005);
	/* a requested address held by an orphan: taken back at once */
	assert_int_equal(vnet_ipam_lease(d, "g", sub, 16, 0x0a580009, &a, &fresh, 0, &e), 0);
	/* the lone index entry is replaced by the name's next lease */
	assert_int_equal(vnet_ipam_lease(d, "z", sub, 16, 0, &a, &fresh, 0, &e), 0);
	assert_int_equal(a, 0x0a580006);
	assert_true(fresh);
	assert_int_equal(vnet_ipam_lookup(d, "a", &a), 0);
	assert_int_equal(a, 0x0a580002);
	/* a release removes a .tmp- entry a killed lease left */
	put_link(d, "by-name/.tmp-c", "10.88.0.20");
	assert_int_equal(vnet_ipam_release(d, "c", 0, &e), 0);
	assert_false(has_entry(d, "by-name/.tmp-c"));
	assert_false(has_entry(d, "by-name/c"));
	assert_false(has_entry(d, "10.88.0.4"));
	fs_rm_rf(d);
}

/* SIGKILL at any point of leases and releases: afterwards every address
 * of a /27 can still be leased, to distinct names. */
static void test_ipam_killed(void **state)
{
	_cleanup_free_ char *d = tmpdir();
	vert_error_t e = VERT_ERROR_INIT;
	uint32_t sub = 0x0a580000, seen[29];
	(void)state;
	for (int round = 0; round < 40; round++) {
		char c;
		int pfd[2], st, want = 1 + (int)((unsigned)rand() % 120);
		pid_t pid;
		assert_int_equal(pipe(pfd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			for (unsigned i = 0;; i++) {
				char name[8];
				uint32_t a;
				snprintf(name, sizeof(name), "k%u", i % 20);
				if (i % 3 == 2)
					vnet_ipam_release(d, name, 0, NULL);
				else
					vnet_ipam_lease(d, name, sub, 27, 0, &a, NULL, 0, NULL);
				if (write(pfd[1], "x", 1) != 1)
					_exit(1);
			}
		}
		close(pfd[1]);
		for (int i = 0; i < want; i++)
			assert_int_equal(read(pfd[0], &c, 1), 1);
		/* anywhere in its next operation */
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		close(pfd[0]);
		for (int i = 0; i < 20; i++) {
			char name[8];
			snprintf(name, sizeof(name), "k%d", i);
			assert_int_equal(vnet_ipam_release(d, name, 0, &e), 0);
		}
		for (int i = 0; i < 29; i++) {
			char name[8];
			snprintf(name, sizeof(name), "n%d", i);
			assert_int_equal(
				vnet_ipam_lease(d, name, sub, 27, 0, &seen[i], NULL, 0, &e), 0);
			for (int j = 0; j < i; j++)
				assert_int_not_equal(seen[j], seen[i]);
		}
		for (int i = 0; i < 29; i++) {
			char name[8];
			snprintf(name, sizeof(name), "n%d", i);
			assert_int_equal(vnet_ipam_release(d, name, 0, &e), 0);
		}
	}
	fs_rm_rf(d);
}

/* An older state root's leases.json: read as it is until the first
 * change, which converts it; a conversion killed halfway is done again;
 * one that can't be converted is left alone. */
static void test_ipam_upgrade(void **state)
{
	_cleanup_free_ char *d = tmpdir();
	_cleanup_free_ char *net = xasprintf("%s/net", d);
	_cleanup_free_ char *path = xasprintf("%s/net/leases.json", d);
	_cleanup_free_ char *dir = xasprintf("%s/net/leases.d", d);
	_cleanup_free_ char *names = xasprintf("%s/net/leases.d/by-name", d);
	_cleanup_free_ char *holder = NULL, *buf = NULL;
	const char *doc = "{\"leases\":{\"a\":\"10.88.0.2\",\"b\":\"10.88.0.7\"},"
			  "\"ports\":{\"tcp:0.0.0.0:8080:80\":\"a\"}}";
	struct vnet_port p = { .proto = IPPROTO_TCP, .host_port = 8080, .ve_port = 80 };
	vert_error_t e = VERT_ERROR_INIT;
	struct vnet_leases *ls;
	uint32_t a;
	char ip[16];
	bool fresh;
	(void)state;

	assert_int_equal(mkdir(net, 0700), 0);
	put_file(path, doc);
	/* read before any change */
	assert_int_equal(vnet_ipam_lookup(d, "b", &a), 0);
	assert_int_equal(a, 0x0a580007);
	assert_int_equal(vnet_ipam_holder(d, "c", 0x0a580002, &holder), 1);
	assert_string_equal(holder, "a");
	free(holder);
	assert_int_equal(vnet_ipam_port_holder(d, "c", &p, false, &holder), 1);
	assert_string_equal(holder, "a");
	free(holder);
	ls = vnet_leases_load(d);
	assert_true(vnet_leases_get(ls, "b", ip));
	assert_string_equal(ip, "10.88.0.7");
	vnet_leases_free(ls);

	/* killed halfway before: one claim made, one wrong, a stray index */
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(mkdir(names, 0700), 0);
	put_link(d, "10.88.0.2", "a");
	put_link(d, "10.88.0.7", "zz");
	put_link(d, "by-name/zz", "10.88.0.7");
	assert_int_equal(vnet_ipam_lease(d, "c", 0x0a580000, 16, 0, &a, &fresh, 0, &e), 0);
	assert_true(fresh);
	assert_true(a != 0x0a580002 && a != 0x0a580007);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(vnet_ipam_lookup(d, "a", &a), 0);
	assert_int_equal(a, 0x0a580002);
	assert_int_equal(vnet_ipam_lookup(d, "b", &a), 0);
	assert_int_equal(a, 0x0a580007);
	assert_int_equal(vnet_ipam_lookup(d, "zz", &a), -ENOENT);
	assert_false(has_entry(d, "by-name/zz"));
	ls = vnet_leases_load(d);
	assert_false(vnet_leases_get(ls, "zz", ip));
	assert_true(vnet_leases_get(ls, "b", ip));
	assert_string_equal(ip, "10.88.0.7");
	vnet_leases_free(ls);
	assert_int_equal(vnet_ipam_lease(d, "a", 0x0a580000, 16, 0, &a, &fresh, 0, &e), 0);
	assert_int_equal(a, 0x0a580002);
	assert_false(fresh);
	/* the port claim moved to ports.json */
	assert_int_equal(vnet_ipam_port_holder(d, "c", &p, false, &holder), 1);
	assert_string_equal(holder, "a");
	free(holder);
	holder = NULL;
	assert_int_equal(vnet_ipam_unclaim_ports(d, "a", &e), 0);
	assert_int_equal(vnet_ipam_port_holder(d, "c", &p, false, &holder), 0);

	/* the same file again (a conversion killed before its unlink was
	 * durable): the same leases, nothing given twice */
	put_file(path, doc);
	assert_int_equal(vnet_ipam_release(d, "c", 0, &e), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(vnet_ipam_lookup(d, "a", &a), 0);
	assert_int_equal(a, 0x0a580002);
	assert_int_equal(vnet_ipam_lookup(d, "b", &a), 0);
	assert_int_equal(a, 0x0a580007);

	/* an address twice: refused, the file left as it is */
	put_file(path, "{\"leases\":{\"p\":\"10.88.0.9\",\"q\":\"10.88.0.9\"}}");
	assert_int_not_equal(vnet_ipam_lease(d, "r", 0x0a580000, 16, 0, &a, &fresh, 0, &e), 0);
	assert_non_null(strstr(e.msg, "10.88.0.9 is leased to both 'p' and 'q'"));
	vert_error_clear(&e);
	assert_int_equal(read_file_at(AT_FDCWD, path, 4096, &buf, NULL), 0);
	assert_non_null(strstr(buf, "\"q\""));
	fs_rm_rf(d);
}

/* 20 first leases at once in a state root with a leases.json: converted
 * once, the old leases kept, the new ones distinct and none of theirs. */
static void test_ipam_upgrade_parallel(void **state)
{
	_cleanup_free_ char *d = tmpdir();
	_cleanup_free_ char *net = xasprintf("%s/net", d);
	_cleanup_free_ char *path = xasprintf("%s/net/leases.json", d);
	_cleanup_free_ char *doc = xstrdup("{\"leases\":{");
	uint32_t seen[30];
	pid_t pids[20];
	int pfd[2];
	(void)state;

	for (int i = 0; i < 10; i++) {
		char *t =
			xasprintf("%s%s\"old%d\":\"10.88.0.%d\"", doc, i ? "," : "", i, 2 + 3 * i);
		free(doc);
		doc = t;
		seen[i] = 0x0a580002 + 3 * (uint32_t)i;
	}
	{
		char *t = xasprintf("%s}}", doc);
		free(doc);
		doc = t;
	}
	assert_int_equal(mkdir(net, 0700), 0);
	put_file(path, doc);
	assert_int_equal(pipe(pfd), 0);
	for (int i = 0; i < 20; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char name[16];
			uint32_t a;
			close(pfd[0]);
			snprintf(name, sizeof(name), "new%d", i);
			if (vnet_ipam_lease(d, name, 0x0a580000, 16, 0, &a, NULL, 0, NULL) < 0)
				_exit(1);
			_exit(write(pfd[1], &a, sizeof(a)) != sizeof(a));
		}
	}
	close(pfd[1]);
	for (int i = 0; i < 20; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (int i = 10; i < 30; i++) {
		assert_int_equal(read(pfd[0], &seen[i], sizeof(seen[i])), sizeof(seen[i]));
		for (int j = 0; j < i; j++)
			assert_int_not_equal(seen[j], seen[i]);
	}
	close(pfd[0]);
	assert_int_equal(access(path, F_OK), -1);
	for (int i = 0; i < 10; i++) {
		char name[16];
		uint32_t a;
		snprintf(name, sizeof(name), "old%d", i);
		assert_int_equal(vnet_ipam_lookup(d, name, &a), 0);
		assert_int_equal(a, seen[i]);
	}
	fs_rm_rf(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),	       cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_publish),	       cmocka_unit_test(test_mac_ifname),
		cmocka_unit_test(test_netconf),	       cmocka_unit_test(test_config_check),
		cmocka_unit_test(test_ipam),	       cmocka_unit_test(test_ipam_ephemeral),
		cmocka_unit_test(test_ipam_corrupt),   cmocka_unit_test(test_ipam_parallel),
		cmocka_unit_test(test_ipam_leftovers), cmocka_unit_test(test_ipam_killed),
		cmocka_unit_test(test_ipam_upgrade),   cmocka_unit_test(test_ipam_upgrade_parallel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
