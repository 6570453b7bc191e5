#!/usr/bin/env bats
# A VE on the bridge can't be a router or a DHCP server for its neighbours
# and the host: its router advertisements and redirects (IPv6 and IPv4), neighbour
# advertisements for addresses not its own, and DHCP/DHCPv6 server
# messages are dropped at its veth; the host ends of VE links take no
# router advertisements.  Real root only (bridge networking).

load ../integration/helpers
load ../integration/net-helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }
setup() {
	skip_unless_net_root
	common_setup
}

# host_if_of NAME: the host end of the running VE NAME's eth0
host_if_of() {
	local idx
	# the init is recorded before its network is made: wait for eth0
	wait_for -t 20 vert exec "$1" test -e /sys/class/net/eth0/iflink || return 1
	idx=$(vert exec "$1" cat /sys/class/net/eth0/iflink) || return 1
	ip -o link show | awk -F': ' -v i="$idx" '$1 == i { sub(/@.*/, "", $2); print $2 }'
}

@test "the bridge and a VE's host-side veth accept no router advertisements" {
	[ -d /proc/sys/net/ipv6 ] || skip "no IPv6 on this host"
	ve_bg rave mini -- sh -c "$IDLE"
	local hif
	hif=$(host_if_of rave)
	[ -n "$hif" ]
	for i in "$NET_BRIDGE" "$hif"; do
		[ "$(cat "/proc/sys/net/ipv6/conf/$i/accept_ra")" = 0 ]
		[ "$(cat "/proc/sys/net/ipv6/conf/$i/autoconf")" = 0 ]
		[ "$(cat "/proc/sys/net/ipv6/conf/$i/accept_redirects")" = 0 ]
	done
	ve_kill rave
	vert run --rm --name rart --net routed --ip "$(ve_routed_ip 30)" mini -- sh -c "$IDLE" &
	bg_track $!
	wait_for -t 20 test -f "$TEST_ROOT/run/ves/rart/state.json"
	hif=$(host_if_of rart)
	[ -n "$hif" ]
	[ "$(cat "/proc/sys/net/ipv6/conf/$hif/accept_ra")" = 0 ]
	vert stop -t 1 rart
}

@test "RAs, redirects, NAs for others' addresses and DHCP offers from a VE never reach the bridge" {
	[ -n "${NET_SUBNET6:-}" ] || skip "no IPv6 subnet"
	local gw6="${NET_SUBNET6%::/64}::1" cap="$BATS_TEST_TMPDIR/cap"
	"$PROBE" capture "$NET_BRIDGE" 60 >"$cap" 2>&1 &
	bg_track $!
	wait_for -t 10 grep -q ready "$cap"
	# wait for the VE's link-local address to leave DAD, so that every
	# message has a source address the old rules let through
	run vert run --rm -v "$PROBE:/probe:ro" mini -- sh -c '
		i=0; while ip -6 addr show dev eth0 | grep -q tentative && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
		ll=$(ip -6 addr show dev eth0 scope link | awk "/inet6/ { sub(/\/.*/, \"\", \$2); print \$2 }")
		/probe icmp6 eth0 134
		/probe icmp6 eth0 137 '"$gw6"'
		/probe icmp6 eth0 136 '"$gw6"'
		/probe udp 67 255.255.255.255 68
		/probe udp 547 ff02::1:2%eth0 546
		/probe icmp6 eth0 136 "$ll"
		/probe icmp4 '"$NET_GW"' 5
		/probe icmp4 '"$NET_GW"' 9
		/probe icmp4 '"$NET_GW"' 8
		echo "ll=$ll"
		/probe udp 40000 '"$NET_GW"' 9999'
	assert_success
	local ll
	ll=$(sed -n 's/^ll=//p' <<<"$output")
	[ -n "$ll" ]
	echo "$output"
	wait_for -t 20 grep -q "^udp4 40000 9999" "$cap" || { cat "$cap"; false; }
	# what may pass did: the VE's own NA, an echo request, and the sentinel
	grep -qx "icmp6 136 $ll" "$cap" || { cat "$cap"; false; }
	grep -qx "icmp4 8" "$cap" || { cat "$cap"; false; }
	# what must not, didn't (IPv4 too: redirects, router advertisements)
	run grep -E "^icmp6 13[478] |^icmp6 136 $gw6\$|^udp4 67 |^udp6 547 |^icmp4 [59]\$" "$cap"
	assert_failure 1
}
