#!/usr/bin/env bats
# --net bridge: addresses, VE<->VE, host<->VE, NAT, published ports,
# anti-spoofing, a VE's own firewall, IPv6.  Real root only.

load helpers
load net-helpers

setup_file() { common_setup_file; }
teardown_file() {
	outside_teardown
	common_teardown_file
}

setup() {
	skip_unless_net_root
	common_setup
}
teardown() {
	local pid r
	common_teardown
	outside_teardown
	for r in ${EXTRA_ROOTS:-}; do
		rm -rf "$r"
	done
	[ -z "${MID_TABLE:-}" ] || nft delete table ip "$MID_TABLE" 2>/dev/null || true
	if [ -n "${EXTRA_BRIDGE:-}" ]; then
		ip link del "$EXTRA_BRIDGE" 2>/dev/null || true
		nft_delete_tables "$EXTRA_TABLE"
	fi
	pid=$(cat "$BATS_TEST_TMPDIR/lo-listener.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# extra_root NETWORK_JSON: a state root of its own with this file's
# templates, removed by teardown; its path on stdout.
extra_root() {
	local r
	r=$(mktemp -d "${VERT_TEST_TMP:-/tmp}/vert-test2.XXXXXX")
	cp -a "$TEST_ROOT/templates" "$r/"
	printf '%s\n' "$1" >"$r/network.json"
	echo "$r"
}

@test "bridge is the default as root: eth0 with a leased address, routes, /etc files" {
	run vert run --rm --name addr1 --hostname web1 mini -- sh -c \
		'ip -4 -o addr show eth0; ip route; cat /etc/hosts /etc/resolv.conf /etc/hostname; cat /sys/class/net/eth0/address'
	assert_success
	assert_output --regexp "inet 10\.$NET_N\.0\.[0-9]+/18"
	assert_output --partial "default via $NET_GW dev eth0"
	assert_output --regexp "10\.$NET_N\.0\.[0-9]+	web1"
	assert_output --partial "nameserver"
	assert_line "web1"
	# a unicast, locally administered MAC
	tail -n1 <<<"$output" | grep -Eq '^[0-9a-f][26ae](:[0-9a-f]{2}){5}$'
	# the bridge exists now, up, with the gateway address and a fixed MAC
	run ip -o addr show "$NET_BRIDGE"
	assert_output --partial "$NET_GW/18"
}

@test "a VE keeps a stable MAC derived from its name" {
	run vert run --rm --name macve mini -- cat /sys/class/net/eth0/address
	assert_success
	mac1=$output
	run vert run --rm --name macve mini -- cat /sys/class/net/eth0/address
	[ "$output" = "$mac1" ]
	run vert run --rm --name othermac mini -- cat /sys/class/net/eth0/address
	[ "$output" != "$mac1" ]
}

@test "VE to VE across the bridge (IPv4 and IPv6), host to VE over TCP" {
	ve_bg srv --ip "$(ve_ip 10)" mini -- sh -c 'nc -l -p 7000 -e echo hello-from-srv; sleep 3'
	run vert run --rm mini -- sh -c "ping -c1 -W2 $(ve_ip 10) && ping6 -c1 -W2 $(ve_ip6 10)"
	assert_success
	assert_output --partial "1 packets received"
	wait_port srv 7000
	run host_nc "$(ve_ip 10)" 7000
	assert_output "hello-from-srv"
	ve_kill srv
}

@test "VE to a host service at the gateway, and outbound NAT to another network" {
	port=$(test_port 1)
	busybox nc -l -p "$port" -e echo hello-from-host &
	srv=$!
	bg_track $srv
	wait_host_port "$port"
	run vert run --rm mini -- nc -w 3 "$NET_GW" "$port"
	kill $srv 2>/dev/null || true
	assert_success
	assert_output "hello-from-host"

	outside_setup
	outside_peer_server 9000
	run vert run --rm mini -- nc -w 3 "$OUT_PEER" 9000
	wait $OUT_SERVER || true
	outside_teardown
	assert_success
	# the peer saw the host's address, not the VE's: masqueraded
	assert_output "peer=$OUT_HOST"
}

# the last whole line a client got, if it is a number
last_tick() { local l; l=$(tail -n 2 "$1" | head -n 1); [[ $l =~ ^[0-9]+$ ]] && echo "$l"; }
tick_above() { local t; t=$(last_tick "$1") && [ "$t" -gt "$2" ]; }

@test "a TCP connection to a VE that conntrack picks up in the middle (as a migrated VE's) is not masqueraded" {
	outside_setup
	port=$(test_port 5)
	ip=$(ve_ip 40)
	ve_bg mid --ip "$ip" mini -- \
		nc -l -p "$port" -e sh -c 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done'
	wait_port mid "$port"
	# conntrack sees none of the connection's start, and never the client's
	# side: from the VE's next line on, the VE's side from the middle, as a
	# target host sees a connection that came with a migrated VE
	MID_TABLE="vtmid$$"
	nft add table ip "$MID_TABLE"
	nft add chain ip "$MID_TABLE" pre '{ type filter hook prerouting priority -300; }'
	nft add rule ip "$MID_TABLE" pre tcp dport "$port" notrack
	nft add rule ip "$MID_TABLE" pre tcp sport "$port" notrack comment '"vt-ve-side"'
	mkfifo "$BATS_TEST_TMPDIR/in"
	: >"$BATS_TEST_TMPDIR/out"
	ip netns exec "$OUT_NS" busybox nc "$ip" "$port" <"$BATS_TEST_TMPDIR/in" \
		>"$BATS_TEST_TMPDIR/out" 3>&- &
	bg_track $!
	exec 6>"$BATS_TEST_TMPDIR/in"
	wait_for tick_above "$BATS_TEST_TMPDIR/out" 3
	h=$(nft -a list chain ip "$MID_TABLE" pre | sed -n 's/.*vt-ve-side.* handle \([0-9]*\)$/\1/p')
	nft delete rule ip "$MID_TABLE" pre handle "$h"
	t=$(last_tick "$BATS_TEST_TMPDIR/out")
	# masqueraded, its lines would come from the host's address, and the
	# client would refuse them
	wait_for -t 20 tick_above "$BATS_TEST_TMPDIR/out" $((t + 10))
	n=$(last_tick "$BATS_TEST_TMPDIR/out")
	[ "$(head -n "$n" "$BATS_TEST_TMPDIR/out")" = "$(seq "$n")" ]
	exec 6>&-
	ve_kill mid
}

@test "an older vert's masquerade chain, without the mid-stream return, is emptied when the new one is made" {
	alt="$TEST_ROOT/oldnet"
	mkdir -p "$alt"
	net_conf_second "$alt"
	"$VERT_BIN" --root "$alt" template create p --from busybox >/dev/null
	on_teardown "'$VERT_BIN' --root '$alt' template rm p"
	# its bridge holds the route of 10.N.128.0/18, which a later test's
	# root takes
	on_teardown "ip link del '${NET_BRIDGE}b'; nft_delete_tables '${NET_TABLE}_b'"
	t=${NET_TABLE}_b
	sub=10.$NET_N.128.0/18
	old=net-10.$NET_N.128.0-18
	# the table as a vert before the mid-stream return left it
	nft add table inet "$t"
	nft add chain inet "$t" prerouting '{ type nat hook prerouting priority -100; }'
	nft add chain inet "$t" output '{ type nat hook output priority -100; }'
	nft add chain inet "$t" postrouting '{ type nat hook postrouting priority 100; }'
	nft add chain inet "$t" "$old"
	nft add rule inet "$t" "$old" ip daddr != "$sub" masquerade
	nft add rule inet "$t" postrouting ip saddr "$sub" jump "$old"
	run "$VERT_BIN" --root "$alt" run --rm p -- true
	assert_success
	# the old chain masqueraded mid-stream connections too: empty now;
	# the new one returns them first
	[ -z "$(nft list chain inet "$t" "$old" | grep masquerade)" ]
	run nft list chain inet "$t" "net2-10.$NET_N.128.0-18"
	assert_success
	assert_line --index 2 --regexp "tcp flags != syn / syn,ack return"
	assert_output --partial masquerade
}

@test "a published port is reached from the host and from another network" {
	port=$(test_port 2)
	ve_bg pub -p "$port:80" mini -- sh -c 'nc -l -p 80 -e echo via-gw; nc -l -p 80 -e echo via-host-ip; nc -l -p 80 -e echo via-outside; sleep 3'
	# one server after the other: each client waits for its own
	wait_port pub 80
	run host_nc "$NET_GW" "$port"
	assert_output "via-gw"
	hostip=$(ip -4 -o route get 198.18.0.1 | sed -n 's/.* src \([0-9.]*\).*/\1/p')
	if [ -z "$hostip" ]; then hostip=$NET_GW; fi
	wait_port_next pub 80
	run host_nc "$hostip" "$port"
	assert_output --regexp "via-(host-ip|gw)"
	outside_setup
	wait_port_next pub 80
	run ip netns exec "$OUT_NS" timeout 5 busybox nc -w 3 "$OUT_HOST" "$port"
	outside_teardown
	assert_output "via-outside"
	ve_kill pub
}

# nc_until IP PORT TEXT: connect until the server says TEXT (a VE's
# server may not listen yet: a refused try doesn't use it up).
nc_until() {
	for i in $(seq 50); do
		output=$(host_nc "$1" "$2" 2>&1)
		[ "$output" = "$3" ] && return 0
		sleep 0.1
	done
	echo "$1:$2 said '$output', not '$3'" >&2
	return 1
}

# A TCP server on 127.0.0.1:PORT on the host that says "host-listener"
# (until killed, by teardown at the latest); returns once it listens.
host_lo_listener() {
	timeout 120 python3 -c 'import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
while True:
    c, _ = s.accept()
    c.sendall(b"host-listener\n")
    c.close()' "$1" &
	echo $! >"$BATS_TEST_TMPDIR/lo-listener.pid"
	for i in $(seq 100); do
		ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

@test "a port published on 127.0.0.1, or on all addresses, answers on 127.0.0.1" {
	port=$(test_port 10)
	# servers that answer every client, until the test is done
	ve_bg lo1 -p "127.0.0.1:$port:80" mini -- sh -c 'while :; do nc -l -p 80 -e echo via-loopback; done'
	wait_port lo1 80
	nc_until 127.0.0.1 "$port" via-loopback
	ve_kill lo1
	port=$(test_port 11)
	ve_bg lo2 -p "$port:80" mini -- sh -c 'while :; do nc -l -p 80 -e echo all-addresses; done'
	wait_port lo2 80
	nc_until 127.0.0.1 "$port" all-addresses
	ve_kill lo2
	# route_localnet lets loopback-sourced packets out to the VE
	run cat "/proc/sys/net/ipv4/conf/$NET_BRIDGE/route_localnet"
	assert_output 1
	snapshot_is "ports=0 routes=0 rules=0 chains=0 leases=0 records=0"
}

@test "a VE can't reach the host's loopback services through the bridge" {
	port=$(test_port 12)
	host_lo_listener "$port"
	# routed to the host instead of its own lo, 127.0.0.1 stays unreachable
	run vert run --rm --cap-add NET_ADMIN mini -- sh -c "
		ip route del 127.0.0.1 dev lo table local
		ip route del 127.0.0.0/8 dev lo table local
		ip route add 127.0.0.0/8 via $NET_GW dev eth0
		nc -w 2 127.0.0.1 $port </dev/null && echo LEAK || echo blocked"
	assert_line blocked
	refute_output --partial LEAK
	# a frame crafted past the VE's routing (a packet socket) meets its
	# ingress chain, which drops anything for 127.0.0.0/8
	ve_bg lochk mini -- sleep 30
	hostif=$(jq -r .host_if "$TEST_ROOT/run/net/lochk.json")
	run nft_list_netdev "$NET_TABLE" "ve-$hostif"
	assert_output --regexp "@nh,128,32 & 0xff000000 == 0x7f000000 drop"
	ve_kill lochk
}

@test "a host process listening on 127.0.0.1 is never shadowed by a published port" {
	port=$(test_port 13)
	host_lo_listener "$port"
	run vert run --rm -p "127.0.0.1:$port:80" mini -- true
	assert_failure 125
	assert_output --partial "port tcp/$port is already in use on the host"
	run vert run --rm -p "$port:80" mini -- true
	assert_failure 125
	assert_output --partial "port tcp/$port is already in use on the host"
	# published on another host address, 127.0.0.1 stays the host's
	ve_bg gwonly -p "$NET_GW:$port:80" mini -- sh -c 'nc -l -p 80 -e echo via-gw; sleep 3'
	run host_nc 127.0.0.1 "$port"
	assert_output "host-listener"
	nc_until "$NET_GW" "$port" via-gw
	ve_kill gwonly
	kill "$(cat "$BATS_TEST_TMPDIR/lo-listener.pid")" 2>/dev/null || true
	snapshot_is "ports=0 routes=0 rules=0 chains=0 leases=0 records=0"
}

@test "publishing on an IPv6 host address is refused with the reason" {
	for spec in "[::1]:8080:80" "[fd00::1]:8080:80/udp"; do
		run vert run --rm -p "$spec" mini -- true
		assert_failure 125
		assert_output --partial "publishing on an IPv6 address is not supported yet; publish on an IPv4 address or all addresses"
	done
}

@test "a neighbour VE reaches a published port through the host (hairpin NAT)" {
	port=$(test_port 8)
	ve_bg hp -p "$port:80" mini -- sh -c 'nc -l -p 80 -e echo hairpin; sleep 3'
	wait_port hp 80
	run vert run --rm mini -- nc -w 3 "$NET_GW" "$port"
	assert_success
	assert_output "hairpin"
	ve_kill hp
}

@test "bad -p, --ip and --net are refused with a clear error" {
	run vert run --rm -p 80 mini -- true
	assert_failure 125
	assert_output --partial "invalid published port '80'"
	run vert run --rm -p 70000:80 mini -- true
	assert_failure 125
	run vert run --rm --ip 10.1.2.300 mini -- true
	assert_failure 125
	assert_output --partial "invalid address '10.1.2.300'"
	run vert run --rm --ip 192.0.2.77 mini -- true
	assert_failure 125
	assert_output --partial "address 192.0.2.77 is outside the VE subnet $NET_SUBNET"
	run vert run --rm --ip "$NET_GW" mini -- true
	assert_failure 125
	assert_output --partial "address $NET_GW is the gateway address of the VE subnet $NET_SUBNET"
	snapshot_is "ports=0 routes=0 rules=0 chains=0 leases=0 records=0"
}

@test "an address or port already in use is an error that leaves nothing behind" {
	port=$(test_port 3)
	ve_bg holder --ip "$(ve_ip 20)" -p "$port:80" mini -- sh -c "$IDLE"
	before=$(net_snapshot)
	run vert run --rm --ip "$(ve_ip 20)" mini -- true
	assert_failure 125
	assert_output --partial "address $(ve_ip 20) is already in use by VE 'holder'"
	run vert run --rm -p "$port:81" mini -- true
	assert_failure 125
	assert_output --partial "port tcp/$port is already published by VE 'holder'"
	snapshot_is "$before"
	ve_kill holder
	# a port a host process listens on
	busybox nc -l -p "$((port + 1))" -e true &
	srv=$!
	bg_track $srv
	wait_host_port "$((port + 1))"
	run vert run --rm -p "$((port + 1)):80" mini -- true
	kill $srv 2>/dev/null || true
	assert_failure 125
	assert_output --partial "already in use on the host"
	snapshot_is "ports=0 routes=0 rules=0 chains=0 leases=0 records=0"
}

@test "a subnet that overlaps a host route is refused, and no bridge is made" {
	dummy="vtd$$"
	ip link add "$dummy" type veth peer name "${dummy}p"
	ip addr add "10.$NET_N.200.1/24" dev "$dummy"
	ip link set "$dummy" up
	ip link set "${dummy}p" up
	root2=$(mktemp -d)
	on_teardown "ip link del $dummy; '$VERT_BIN' --root '$root2' template rm mini; rm -rf '$root2'
		ip link del vto${NET_N}x$$; nft_delete_tables vertovl_$$"
	cp -a "$TEST_ROOT/templates" "$root2/" 2>/dev/null || true
	cat >"$root2/network.json" <<-EOF
	{"bridge": "vto${NET_N}x$$", "subnet": "10.$NET_N.192.0/18", "routed_subnet": "10.$NET_N.64.0/18",
	 "nft_table": "vertovl_$$"}
	EOF
	run "$VERT_BIN" --root "$root2" run --rm mini -- true
	ip link del "$dummy"
	"$VERT_BIN" --root "$root2" template rm mini >/dev/null 2>&1 || true
	rm -rf "$root2"
	assert_failure 125
	assert_output --partial "subnet 10.$NET_N.192.0/18 overlaps the host route 10.$NET_N.200.0/24 dev $dummy"
	run ip link show "vto${NET_N}x$$"
	assert_failure
}

@test "a spoofing VE (other IP, other MAC) gets no traffic through" {
	run vert run --rm --cap-add NET_ADMIN --ip "$(ve_ip 30)" mini -- sh -c "
		ping -c1 -W1 $NET_GW >/dev/null && echo own-ok
		ip addr flush dev eth0; ip addr add $(ve_ip 31)/18 dev eth0; ip route add default via $NET_GW
		ping -c1 -W1 $NET_GW >/dev/null && echo ip-LEAK || echo ip-blocked
		ip addr flush dev eth0; ip addr add $(ve_ip 30)/18 dev eth0; ip route add default via $NET_GW
		ping -c1 -W1 $NET_GW >/dev/null && echo restored-ok
		ip link set eth0 down; ip link set eth0 address 02:00:5e:00:53:01; ip link set eth0 up
		ip route add default via $NET_GW; ip neigh flush dev eth0
		ping -c1 -W1 $NET_GW >/dev/null && echo mac-LEAK || echo mac-blocked"
	assert_line own-ok
	assert_line ip-blocked
	assert_line restored-ok
	assert_line mac-blocked
	refute_output --partial LEAK
}

@test "a VE that claims its neighbour's address cannot reach anyone with it" {
	ve_bg victim --ip "$(ve_ip 40)" mini -- sh -c "$IDLE"
	run vert run --rm --cap-add NET_ADMIN mini -- sh -c "
		ip addr flush dev eth0; ip addr add $(ve_ip 40)/18 dev eth0; ip route add default via $NET_GW
		arping -c1 -w1 -I eth0 $NET_GW >/dev/null && echo arp-LEAK || echo arp-blocked
		ping -c1 -W1 $NET_GW >/dev/null && echo LEAK || echo blocked"
	assert_line arp-blocked
	assert_line blocked
	# the victim still works
	run vert run --rm mini -- ping -c1 -W2 "$(ve_ip 40)"
	assert_success
	ve_kill victim
}

@test "a VE's own nftables rules don't affect its neighbour or the host" {
	ve_bg nb --ip "$(ve_ip 50)" mini -- sh -c "$IDLE"
	run vert run --rm --cap-add NET_ADMIN "${NFT_IN_VE[@]}" mini -- sh -c "
		nft flush ruleset
		nft add table inet t && nft add chain inet t o '{ type filter hook output priority 0; policy drop; }'
		ping -c1 -W1 $(ve_ip 50) >/dev/null && echo own-LEAK || echo own-drop"
	assert_line own-drop
	run vert run --rm mini -- ping -c1 -W2 "$(ve_ip 50)"
	assert_success
	# the host's (vert's) tables are untouched: nb's chain is still there
	nb_if=$(jq -r .host_if "$TEST_ROOT/run/net/nb.json")
	run nft_list_netdev "$NET_TABLE"
	assert_output --partial "chain ve-$nb_if"
	ve_kill nb
}

@test "the lease of a kept VE survives, --rm and failures release theirs" {
	run vert run --name keeper mini -- sh -c 'ip -4 -o addr show eth0'
	assert_success
	ip1=$(grep -o "10\.$NET_N\.0\.[0-9]*" <<<"$output")
	# the claim of the address and the name's index entry
	[ "$(readlink "$TEST_ROOT/net/leases.d/$ip1")" = keeper ]
	[ "$(readlink "$TEST_ROOT/net/leases.d/by-name/keeper")" = "$ip1" ]
	run -127 vert run --rm --name failing mini -- /no/such/cmd
	[ ! -L "$TEST_ROOT/net/leases.d/by-name/failing" ]
	run find "$TEST_ROOT/net/leases.d" -maxdepth 1 -lname failing
	assert_output ""
}

@test "a state root of an older vert (one leases.json) keeps its leases: read as it is, converted by the first change" {
	vert create up1 --template mini
	vert start up1
	ip1=$(vert inspect up1 | jq -r .ip)
	[ -n "$ip1" ] && [ "$ip1" != null ]
	vert stop up1
	# the layout of an older vert: every lease there is, plus one of a
	# VE made by hand, in one file
	leases=$(cd "$TEST_ROOT/net/leases.d/by-name" && for n in *; do printf '"%s": "%s", ' "$n" "$(readlink "$n")"; done)
	printf '{"leases": {%s"old1": "%s"}, "ports": {}}\n' "$leases" "$(ve_ip 61)" >"$TEST_ROOT/net/leases.json"
	rm -rf "$TEST_ROOT/net/leases.d"
	# old1 is no VE: its lease goes with the test, however it ends
	on_teardown "rm -f '$TEST_ROOT/net/leases.d/by-name/old1' '$TEST_ROOT/net/leases.d/$(ve_ip 61)'"
	run vert ps -a --json
	echo "$output" | jq -e --arg ip "$ip1" '.[] | select(.name=="up1") | .ip == $ip'
	run vert run --rm --ip "$(ve_ip 61)" mini -- true
	assert_failure
	assert_output --partial "address $(ve_ip 61) is already in use by VE 'old1'"
	# a new lease converts: not an address of the file
	run vert run --rm mini -- ip -4 -o addr show eth0
	assert_success
	refute_output --partial "$ip1/"
	refute_output --partial "$(ve_ip 61)/"
	[ ! -e "$TEST_ROOT/net/leases.json" ]
	[ "$(readlink "$TEST_ROOT/net/leases.d/$(ve_ip 61)")" = old1 ]
	vert start up1
	[ "$(vert inspect up1 | jq -r .ip)" = "$ip1" ]
	run vert exec up1 -- ip -4 -o addr show eth0
	assert_output --partial "$ip1/"
	vert destroy --force up1
	[ ! -L "$TEST_ROOT/net/leases.d/by-name/up1" ]
	[ ! -L "$TEST_ROOT/net/leases.d/$ip1" ]
}

@test "50 VEs in parallel get 50 distinct addresses" {
	before=$(net_snapshot)
	sync=$(mktemp -d)
	on_teardown "rm -rf '$sync'"
	chmod 777 "$sync"
	pids=()
	for i in $(seq 50); do
		"$VERT_BIN" --root "$TEST_ROOT" run --rm --name "par$i" -v "$sync:/sync" mini -- sh -c \
			"ip -4 -o addr show eth0 | awk '{print \$4}' >/sync/par$i.tmp && mv /sync/par$i.tmp /sync/par$i
			 i=0; while [ ! -e /sync/go ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i+1)); done" \
			>"$BATS_TEST_TMPDIR/par$i.out" 2>&1 &
		pids+=($!)
		bg_track $!
	done
	# all 50 up at once, then let them go
	all_up() { [ "$(ls "$sync" | grep -c '^par[0-9]*$')" -ge 50 ]; }
	wait_for -t 60 all_up || true
	n=$(ls "$sync" | grep -c '^par[0-9]*$')
	uniq=$(cat "$sync"/par* 2>/dev/null | sort -u | wc -l)
	touch "$sync/go"
	for p in "${pids[@]}"; do wait "$p" || true; done
	rm -rf "$sync"
	echo "up: $n distinct: $uniq" >&3
	[ "$n" -eq 50 ]
	[ "$uniq" -eq 50 ]
	snapshot_is "$before"
}

@test "leak check: normal exit, failure and SIGKILL of vert" {
	base=$(net_snapshot)
	[[ "$base" = "ports=0 routes=0 rules=0 chains=0 "* ]]
	run vert run --rm -p "$(test_port 4):80" mini -- true
	assert_success
	snapshot_is "$base"
	run -127 vert run --rm -p "$(test_port 4):80" mini -- /no/such/cmd
	snapshot_is "$base"

	ve_bg killnet -p "$(test_port 5):80" mini -- sleep 1000
	kif=$(jq -r .host_if "$TEST_ROOT/run/net/killnet.json")
	[ "$(nft list table inet "$NET_TABLE" | grep -c "comment \"vert:$kif\"")" -gt 0 ]
	ve_kill killnet KILL
	# the VE died with vert; its veth with its netns (asynchronously)
	no_ports() { [ "$(ip -o link show master "$NET_BRIDGE" | wc -l)" = 0 ]; }
	wait_for -t 5 no_ports || true
	# the rules and the lease stay until the next vert command
	[ "$(nft list table inet "$NET_TABLE" | grep -c "comment \"vert:$kif\"")" -gt 0 ]
	snapshot_is "$base" reconcile
	# and the port is free again
	run vert run --rm -p "$(test_port 5):80" mini -- true
	assert_success
}

@test "a dead VE's stale published port is taken over by the next VE" {
	port=$(test_port 6)
	ve_bg stale -p "$port:80" mini -- sleep 1000
	ve_kill stale KILL
	ve_bg newowner -p "$port:80" mini -- sh -c 'nc -l -p 80 -e echo new-owner; sleep 2'
	wait_port newowner 80
	run host_nc "$NET_GW" "$port"
	assert_output "new-owner"
	ve_kill newowner
	vert template ls >/dev/null
}

@test "ps and inspect show the VE's address, running or stopped" {
	vert create addr1 --template mini --ip "$(ve_ip 77)"
	vert start addr1
	run vert ps --format name,ip -H
	assert_output --regexp "addr1 +$(ve_ip 77)"
	run vert inspect addr1
	echo "$output" | jq -e --arg ip "$(ve_ip 77)" '.ip == $ip'
	vert stop addr1
	run vert ps -a --json
	echo "$output" | jq -e --arg ip "$(ve_ip 77)" '.[] | select(.name=="addr1") | .ip == $ip'
	vert destroy addr1
}

@test "a VE keeps its address across restarts and reboots from inside" {
	vert create keep1 --template mini
	vert start keep1
	ip1=$(vert inspect keep1 | jq -r .ip)
	vert restart keep1
	[ "$(vert inspect keep1 | jq -r .ip)" = "$ip1" ]
	run vert exec keep1 -- ip -4 -o addr show eth0
	assert_output --partial "$ip1/"
	p1=$(vert inspect keep1 | jq -r .status.pid)
	vert exec keep1 -- reboot
	wait_rebooted keep1 "$p1"
	run vert exec keep1 -- ip -4 -o addr show eth0
	assert_output --partial "$ip1/"
	vert destroy --force keep1
}

# the ports a VE's rules publish (its DNAT rules name them)
published() { nft list table inet "$NET_TABLE" 2>/dev/null | grep -o "dport $1 " | wc -l; }

@test "set -p twice publishes one port, --publish-rm removes it, and restarts keep the VE up" {
	port=$(test_port 5)
	vert create pub1 --template mini
	vert start pub1
	vert set pub1 -p "$port:80"
	run vert set pub1 -p "$port:80"
	assert_success
	run vert inspect pub1
	echo "$output" | jq -e --arg p "$port:80" '.config.publish == [$p]'
	run vert restart pub1
	assert_success
	[ "$(vert inspect pub1 | jq -r .status.running)" = true ]
	[ "$(published "$port")" -ge 1 ]
	# the same host port again: the new VE port replaces the old one
	vert set pub1 -p "$port:81" -p "$((port + 1)):82/udp"
	run vert inspect pub1
	echo "$output" | jq -e --arg p "$port:81" --arg u "$((port + 1)):82/udp" \
		'.config.publish == [$p, $u]'
	run vert set pub1 --publish-rm "$((port + 2))"
	assert_failure 2
	assert_output --partial "--publish-rm '$((port + 2))': no such published port"
	run vert set pub1 --publish-rm "$port/udp"
	assert_failure 2
	run vert set pub1 --publish-rm "$port" --publish-rm "$((port + 1))/udp"
	assert_success
	run vert inspect pub1
	echo "$output" | jq -e '(.config.publish // []) == []'
	vert restart pub1
	[ "$(published "$port")" = 0 ]
	run vert set pub1 --publish-rm 70000
	assert_failure 2
	assert_output --partial "invalid --publish-rm '70000'"
	vert destroy --force pub1
}

@test "set and create refuse an unusable --ip; restart never stops a VE that can't start" {
	vert create ipa --template mini --ip "$(ve_ip 30)"
	vert start ipa
	vert create ipb --template mini
	vert start ipb
	p1=$(vert inspect ipb | jq -r .status.pid)
	run vert set ipb --ip 172.31.250.250
	assert_failure 2
	assert_output --partial "address 172.31.250.250 is outside the VE subnet $NET_SUBNET"
	run vert set ipb --ip "$NET_GW"
	assert_failure 2
	assert_output --partial "address $NET_GW is the gateway address of the VE subnet $NET_SUBNET"
	run vert set ipb --ip "$(ve_ip 30)"
	assert_failure 4
	assert_output --partial "address $(ve_ip 30) is already in use by VE 'ipa'"
	# nothing was saved
	vert inspect ipb | jq -e '.config.ip == null'
	run vert create ipc --template mini --ip "$(ve_ip 30)"
	assert_failure 4
	assert_output --partial "already in use by VE 'ipa'"
	[ ! -e "$TEST_ROOT/ves/ipc" ]
	# a config that can't start (edited by hand, or saved by an older
	# vert): restart says so and the VE keeps running
	cfg="$TEST_ROOT/ves/ipb/config.json"
	cp "$cfg" "$BATS_TEST_TMPDIR/ipb.json"
	jq --arg ip "$(ve_ip 30)" '.ip = $ip' "$BATS_TEST_TMPDIR/ipb.json" >"$cfg"
	run vert restart ipb
	assert_failure 4
	assert_output --partial "VE 'ipb' can't start: address $(ve_ip 30) is already in use by VE 'ipa'"
	[ "$(vert inspect ipb | jq -r .status.pid)" = "$p1" ]
	# the same port twice (what `set -p` used to save)
	port=$(test_port 6)
	jq --arg p "$port:80" '.publish = [$p, $p]' "$BATS_TEST_TMPDIR/ipb.json" >"$cfg"
	run vert restart ipb
	assert_failure 2
	assert_output --partial "port tcp/$port is published twice"
	[ "$(vert inspect ipb | jq -r .status.pid)" = "$p1" ]
	# a port another running VE publishes
	vert stop ipa
	vert set ipa -p "$port:80"
	vert start ipa
	jq --arg p "$port:81" '.publish = [$p]' "$BATS_TEST_TMPDIR/ipb.json" >"$cfg"
	run vert restart ipb
	assert_failure 4
	assert_output --partial "port tcp/$port is already published by VE 'ipa'"
	[ "$(vert inspect ipb | jq -r .status.pid)" = "$p1" ]
	# --ip auto gives a fixed address up
	cp "$BATS_TEST_TMPDIR/ipb.json" "$cfg"
	vert set ipa --ip auto
	vert inspect ipa | jq -e '.config.ip == "auto"'
	vert destroy --force ipa ipb
}

@test "two state roots never share a bridge (nor hand out its addresses twice)" {
	own=$(realpath "$TEST_ROOT")
	run vert run --rm mini -- true
	assert_success
	run ip -d link show "$NET_BRIDGE"
	assert_output --partial "alias vert state root $own"
	root2=$(extra_root "$(cat "$TEST_ROOT/network.json")")
	EXTRA_ROOTS=$root2
	run "$VERT_BIN" --root "$root2" run --rm mini -- true
	assert_failure 125
	assert_output --partial "bridge '$NET_BRIDGE' is in use by the state root '$own', which leases its addresses"
	run "$VERT_BIN" --root "$root2" run --rm --ip "$(ve_ip 40)" mini -- true
	assert_failure 125
	run ls -A "$root2/net/leases.d"
	refute_output --partial '10.'
	run vert run --rm mini -- true
	assert_success
	# a bridge whose state root is gone serves the next root
	EXTRA_BRIDGE="vto${NET_N}y$$" EXTRA_TABLE="vertown_$$"
	conf="{\"bridge\": \"$EXTRA_BRIDGE\", \"subnet\": \"10.$NET_N.128.0/18\", \"routed_subnet\": \"10.$NET_N.192.0/18\", \"nft_table\": \"$EXTRA_TABLE\"}"
	root3=$(extra_root "$conf")
	root4=$(extra_root "$conf")
	EXTRA_ROOTS="$root2 $root3 $root4"
	run "$VERT_BIN" --root "$root3" run --rm mini -- true
	assert_success
	run "$VERT_BIN" --root "$root4" run --rm mini -- true
	assert_failure 125
	assert_output --partial "in use by the state root '$(realpath "$root3")'"
	rm -rf "$root3"
	run "$VERT_BIN" --root "$root4" run --rm mini -- true
	assert_success
	run ip -d link show "$EXTRA_BRIDGE"
	assert_output --partial "alias vert state root $(realpath "$root4")"
}
