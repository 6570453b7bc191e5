#!/usr/bin/env bats
# --net routed (venet style): a /32 per VE routed by the host, no shared
# layer 2.  Real root only.

load helpers
load net-helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

setup() {
	skip_unless_net_root
	common_setup
}

@test "a routed VE has its address as a /32 and the host as its gateway" {
	run vert run --rm --net routed --ip "$(ve_routed_ip 10)" mini -- sh -c 'ip -4 -o addr show eth0; ip route'
	assert_success
	assert_output --partial "inet $(ve_routed_ip 10)/32"
	assert_output --partial "default via $NET_ROUTED_GW dev eth0"
}

@test "routed: host to VE, VE to VE through the host, VE to a bridged VE" {
	ve_bg ra --net routed --ip "$(ve_routed_ip 20)" mini -- sh -c 'nc -l -p 7000 -e echo routed-a; sleep 4'
	run busybox ping -c1 -W2 "$(ve_routed_ip 20)"
	assert_success
	# the host routes a /32 to the VE's veth, tagged as vert's
	run ip -4 route show proto 86
	assert_output --partial "$(ve_routed_ip 20) dev vr"
	wait_port ra 7000
	run vert run --rm --net routed mini -- sh -c "ping -c1 -W2 $(ve_routed_ip 20) && nc -w 2 $(ve_routed_ip 20) 7000"
	assert_success
	assert_output --partial "routed-a"
	run vert run --rm --net bridge mini -- ping -c1 -W2 "$(ve_routed_ip 20)"
	assert_success
	ve_kill ra
}

@test "routed: a port published on 127.0.0.1 answers there" {
	port=$(test_port 20)
	ve_bg rlo --net routed -p "127.0.0.1:$port:80" mini -- sh -c 'nc -l -p 80 -e echo routed-loopback; sleep 3'
	# the VE's server may not listen yet: a refused try doesn't use it up
	for i in $(seq 50); do
		run host_nc 127.0.0.1 "$port"
		[ "$output" = routed-loopback ] && break
		sleep 0.1
	done
	assert_output routed-loopback
	ve_kill rlo
}

@test "routed VEs don't share layer 2: no ARP between them, only the gateway's" {
	ve_bg rb --net routed --ip "$(ve_routed_ip 30)" mini -- sh -c "$IDLE"
	run vert run --rm --net routed mini -- sh -c "
		ping -c1 -W2 $(ve_routed_ip 30) >/dev/null && echo l3-ok
		arping -c1 -w1 -I eth0 $(ve_routed_ip 30) | grep -q 'Received 0' && echo no-l2
		ip neigh show dev eth0"
	assert_line l3-ok
	assert_line no-l2
	# the only neighbour is the gateway (the host's end)
	refute_output --partial "$(ve_routed_ip 30) "
	ve_kill rb
}

@test "routed: spoofing a neighbour's address gets nothing through" {
	ve_bg rc --net routed --ip "$(ve_routed_ip 40)" mini -- sh -c "$IDLE"
	run vert run --rm --net routed --cap-add NET_ADMIN mini -- sh -c "
		ip addr flush dev eth0; ip addr add $(ve_routed_ip 40)/32 dev eth0
		ip route add $NET_ROUTED_GW dev eth0; ip route add default via $NET_ROUTED_GW
		ping -c1 -W1 $NET_ROUTED_GW >/dev/null && echo LEAK || echo blocked"
	assert_line blocked
	run busybox ping -c1 -W2 "$(ve_routed_ip 40)"
	assert_success
	ve_kill rc
}

@test "routed: nothing left after exit and after SIGKILL" {
	before=$(net_snapshot)
	run vert run --rm --net routed mini -- true
	assert_success
	snapshot_is "$before"
	ve_bg rk --net routed mini -- sleep 1000
	ve_kill rk KILL
	# the VE dies with vert (asynchronously); then the next command cleans up
	snapshot_is "$before" reconcile
	run ip -o addr show
	refute_output --partial "$NET_ROUTED_GW/32"
}

@test "routed: an address a host route takes is refused, and nothing is left; one beside it starts" {
	dummy="vtr$$"
	on_teardown "ip link del $dummy 2>/dev/null"
	ip link add "$dummy" type veth peer name "${dummy}p"
	ip link set "$dummy" up
	ip route add "10.$NET_N.96.96/28" dev "$dummy"
	before=$(net_snapshot)
	run vert run --rm --net routed --ip "$(ve_routed_ip 100)" mini -- true
	assert_failure 125
	assert_output --partial "overlaps the host route 10.$NET_N.96.96/28 dev $dummy"
	assert_output --partial "traffic for $(ve_routed_ip 100)"
	snapshot_is "$before"
	# an address outside that route is the VE's alone
	run vert run --rm --net routed --ip "$(ve_routed_ip 90)" mini -- true
	assert_success
	snapshot_is "$before"
	ip link del "$dummy"
}
