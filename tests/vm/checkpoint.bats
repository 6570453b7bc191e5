#!/usr/bin/env bats
# vert checkpoint / restore on a stock Debian kernel (CRIU 3.17 works on
# 6.1; on the dev host's 6.18 it can't dump: tests/integration/15-*).
# A counter process in the VE keeps counting across checkpoint/restore,
# with the same pids; an image restores into a state root that never had
# the VE; restore refuses a template that is missing or differs and a name
# already in use.  Migrated to the second "host", a VE keeps the TCP
# connections a client (a third network namespace) has to it, its address
# and its published ports, which answer on the target's address.

load cgroup-helpers
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup_file() {
	vm_only
	modprobe nf_tables 2>/dev/null || true
	vm_setup_file
	export R2
	R2=$(mktemp -d /var/lib/vert/cktest2.XXXXXX)
	# the second "host": its own state root in its own network namespace,
	# with the same default network (bridge vert0, 10.88.0.0/16) as the first
	ip netns add vertck2
	ip -n vertck2 link set lo up
	# and its own mount namespace, where /var/lib/vert/idmap, the host-wide
	# registry of VE uid ranges (src/ve/idrange.c), is a directory of its
	# own: a range held here is free there, as on another machine
	export CK2DIR=/run/vertck2 CK2MNT=/run/vertck2/mnt CK2IDMAP=/run/vertck2/idmap
	mkdir -p "$CK2DIR" /var/lib/vert/idmap
	mount --bind "$CK2DIR" "$CK2DIR"
	mount --make-private "$CK2DIR"
	mkdir -p "$CK2IDMAP"
	touch "$CK2MNT"
	unshare --mount="$CK2MNT" --propagation slave mount --bind "$CK2IDMAP" /var/lib/vert/idmap
	v2 template create mini --from busybox >/dev/null
	# images on ext4: /tmp here is a tmpfs of 6.1, without user.* xattrs
	export IMGDIR
	IMGDIR=$(mktemp -d /var/lib/vert/ckimg.XXXXXX)
}

teardown_file() {
	local n
	if [ -n "${R2:-}" ]; then
		for n in $(v2 ps -aq 2>/dev/null); do
			v2 destroy --force "$n" >/dev/null 2>&1 || true
		done
		rm -rf "$R2"
	fi
	client_down
	[ -z "${IMGDIR:-}" ] || rm -rf "$IMGDIR"
	ip netns del vertck2 2>/dev/null || true
	if [ -n "${CK2DIR:-}" ]; then
		umount "$CK2MNT" 2>/dev/null || true
		umount "$CK2DIR" 2>/dev/null || true
		rm -rf "$CK2DIR"
	fi
	vm_teardown_file
}

# nsenter, not ip netns exec: that one mounts a /sys of its own, without
# /sys/fs/cgroup, and the second "host" would run its VEs without cgroups
v2() { nsenter --net=/run/netns/vertck2 --mount="$CK2MNT" "$VERT" --root "$R2" "$@"; }
# a failed test's VEs, on either "host", must not fail the next ones
teardown() {
	local n
	for n in $(v2 ps -aq 2>/dev/null); do
		v2 destroy --force "$n" >/dev/null 2>&1 || true
	done
	for n in $(vert ps -aq 2>/dev/null); do
		vert destroy --force "$n" >/dev/null 2>&1 || true
	done
	client_down
	[ -z "${IMGDIR:-}" ] || rm -rf "$IMGDIR"/*
	rm -rf /tmp/uimg.img
	# a stage a failed test left (a test that keeps one removes it)
	rm -rf /var/tmp/vert-migrate.*
}
# no staging dir of a migration left: the source's in /var/tmp, the
# target's in its state root (`vert migrate --incoming`)
no_stage_left() { [ -z "$(ls -d /var/tmp/vert-migrate* "$R2"/migrate-in/* 2>/dev/null)" ]; }
# migrate_to_host2 NAME LABEL: `vert migrate NAME host2 --json` succeeds;
# its JSON is noted as LABEL and left in $output
migrate_to_host2() {
	run vert migrate "$1" host2 --json
	echo "$output"
	assert_success
	echo "# $2: $(echo "$output" | jq -c .)" >&3
}
# killed_vert [VAR=VALUE...] -- ARGS: vert ARGS in the first root, in the
# background, its pid in $KILL_PIDFILE for the killer (an ssh or criu
# stand-in); it must die of SIGKILL
killed_vert() {
	local envs=() pid st=0
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	env "${envs[@]}" "$VERT" --root "$R" "$@" 3>&- &
	pid=$!
	echo "$pid" >"$KILL_PIDFILE"
	wait "$pid" || st=$?
	[ "$st" = 137 ]
}
# a second state root on this host (the same uid range registry)
v2same() { nsenter --net=/run/netns/vertck2 "$VERT" --root "$R2" "$@"; }

# The counter: PID 1 counts in memory (a shell variable) and writes the
# count to a file in the VE's /dev/shm every 0.1 s; a child sleeps, its
# pid noted, to check that pids survive.
COUNTER='sleep 100000 & echo $! >/dev/shm/bg; i=0; while :; do i=$((i+1)); echo $i >/dev/shm/count; sleep 0.1; done'

# in_root ROOT VERT-ARGS...: the first root here, the second in its netns
in_root() {
	local r=$1
	shift
	if [ "$r" = "$R2" ]; then v2 "$@"; else "$VERT" --root "$r" "$@"; fi
}
# The counter rewrites its file (truncate, then write) ten times a second: a
# read in between sees it empty, so read until it holds a number (bounded).
count_of() {
	local i c
	for i in $(seq 50); do
		c=$(in_root "$1" exec "$2" -- cat /dev/shm/count 2>/dev/null)
		[ -n "$c" ] && break
		sleep 0.1
	done
	echo "$c"
}
count_above() { local c; c=$(count_of "$1" "$2") && [ -n "$c" ] && [ "$c" -gt "$3" ]; }
stopped_in() { in_root "$1" ps -a --format name,state -H | grep -q "^$2 .*stopped"; }
running_in() { in_root "$1" ps --format name,state -H | grep -q "^$2 .*running"; }
# the pid namespace's view of the init's and a child's pids
ns_pids() { in_root "$1" exec "$2" -- sh -c 'b=$(cat /dev/shm/bg); echo "1:$(cat /proc/1/comm) $b:$(cat /proc/$b/comm)"'; }
# the VE's uid map as its processes see it, and its host base
# the VE's global IPv6 address on eth0, from /proc/net/if_inet6
ip6_of() {
	in_root "$1" exec "$2" -- cat /proc/net/if_inet6 |
		awk '$6 == "eth0" && $4 == "00" { print $1 }' |
		sed 's/..../&:/g; s/:$//'
}
uid_map_of() { in_root "$1" exec "$2" -- cat /proc/self/uid_map; }
base_of() { echo $1 | awk '{ print $2 }'; }

@test "checkpoint and restore: the counter goes on from where it was, same pids, exec and stop work" {
	vert create cnt --template mini --userns host -- sh -c "$COUNTER"
	vert start cnt
	wait_for 10 count_above "$R" cnt 5
	before_pids=$(ns_pids "$R" cnt)
	run vert checkpoint cnt
	echo "$output"
	assert_success
	img=$output
	[ -f "$img/image.json" ]
	at=$(cat "$img/upper/dev/shm/count" 2>/dev/null || true)
	run vert ps -a --format name,state -H
	assert_output --regexp "cnt +stopped"
	t0=$(date +%s%N)
	run vert restore cnt
	echo "$output"
	assert_success
	t1=$(date +%s%N)
	echo "# restore took $(( (t1 - t0) / 1000000 )) ms" >&3
	running_in "$R" cnt
	c=$(count_of "$R" cnt)
	echo "# count after restore: $c" >&3
	# not from zero: at least the count it had when it was dumped (>5)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R" cnt "$c"
	echo "# pids before: $before_pids, after: $(ns_pids "$R" cnt)" >&3
	[ "$(ns_pids "$R" cnt)" = "$before_pids" ]
	run vert exec cnt -- echo hi
	assert_output hi
	run vert stop cnt
	assert_success
	run vert ps -a --format name,state -H
	assert_output --regexp "cnt +stopped"
	vert destroy cnt
}

@test "checkpoint --leave-running keeps the VE running; the image restores into a state root that never had it" {
	vert create mv1 --template mini --userns host -- sh -c "$COUNTER"
	vert start mv1
	wait_for 10 count_above "$R" mv1 5
	mac=$(vert exec mv1 -- cat /sys/class/net/eth0/address)
	img=$IMGDIR/mv1.img
	run vert checkpoint mv1 --leave-running --output "$img"
	echo "$output"
	assert_success
	running_in "$R" mv1
	at=$(jq -r .name "$img/image.json")
	[ "$at" = mv1 ]
	ip=$(vert inspect mv1 | jq -r .ip)
	vert stop mv1
	run v2 restore mv1 --input "$img"
	echo "$output"
	assert_success
	running_in "$R2" mv1
	[ "$(v2 inspect mv1 | jq -r .ip)" = "$ip" ]
	c=$(count_of "$R2" mv1)
	echo "# count in the second root after restore: $c" >&3
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R2" mv1 "$c"
	# its network identity: the same MAC on eth0
	[ "$(v2 exec mv1 -- cat /sys/class/net/eth0/address)" = "$mac" ]
	# the name is in use there now
	run v2 restore mv1 --input "$img"
	assert_failure 4
	assert_output --partial "already exists"
	v2 stop mv1
	v2 destroy mv1
	vert destroy mv1
}

# Bash's /dev/tcp on fd 5: the host's end of a connection into the VE.
tcp_listening() { [ -n "$(ip netns identify "$1" 2>/dev/null; nsenter -t "$1" -n ss -Htln 'sport = :5000' 2>/dev/null)" ]; }

@test "an established TCP connection from the host to the VE survives checkpoint and restore" {
	vert create tcp1 --template mini --userns host -- nc -l -p 5000 -e cat
	vert start tcp1
	ip=$(vert inspect tcp1 | jq -r .ip)
	wait_for 10 tcp_listening "$(init_pid tcp1)"
	exec 5<>"/dev/tcp/$ip/5000"
	echo one >&5
	read -r -t 10 a <&5
	[ "$a" = one ]
	run vert checkpoint tcp1
	echo "$output"
	assert_success
	run vert restore tcp1
	echo "$output"
	assert_success
	[ "$(vert inspect tcp1 | jq -r .ip)" = "$ip" ]
	echo two >&5
	read -r -t 30 b <&5
	exec 5>&-
	echo "# read back after restore: '$b'" >&3
	[ "$b" = two ]
	# the connection closed, nc (the init) ends, and the VE with it
	wait_for 10 stopped_in "$R" tcp1
	vert destroy tcp1
}

@test "restore refuses a template that is missing or differs, naming the difference" {
	vert create tp1 --template mini --userns host -- sh -c "$COUNTER"
	vert start tp1
	wait_for 10 count_above "$R" tp1 2
	img=$IMGDIR/tp1.img
	run vert checkpoint tp1 --output "$img"
	assert_success
	# a root without the template
	R3=$(mktemp -d /var/lib/vert/cktest3.XXXXXX)
	run "$VERT" --root "$R3" restore tp1 --input "$img"
	assert_failure
	assert_output --partial "template 'mini'"
	assert_output --partial "not found"
	[ -z "$(ls -A "$R3/ves" 2>/dev/null)" ]
	# a template of that name with other content
	"$VERT" --root "$R3" template create mini --from busybox >/dev/null
	echo changed >"$R3/templates/mini/rootfs/etc/motd"
	run "$VERT" --root "$R3" restore tp1 --input "$img"
	assert_failure
	assert_output --partial "template 'mini' differs"
	assert_output --partial "'/etc/motd'"
	[ -z "$(ls -A "$R3/ves" 2>/dev/null)" ]
	"$VERT" --root "$R3" template rm mini >/dev/null 2>&1 || true
	rm -rf "$R3"
	# and in its own state root, the image restores over the stopped VE
	run vert restore tp1 --input "$img"
	echo "$output"
	assert_success
	running_in "$R" tp1
	vert stop tp1
	vert destroy tp1
}

migrate_env() {
	export VERT_SSH="$BATS_TEST_DIRNAME/netns-ssh" VERT_REMOTE="$VERT --root $R2"
	export VERTCK2_MNT=$CK2MNT
}

@test "migrate: live to a second host; the counter goes on there, the source goes; times and bytes printed" {
	migrate_env
	vert create mg1 --template mini --userns host -- sh -c "$COUNTER"
	vert start mg1
	wait_for 10 count_above "$R" mg1 5
	before_pids=$(ns_pids "$R" mg1)
	# its IPv6 address (the bridge's ULA /64) answers here
	ip6=$(ip6_of "$R" mg1)
	[ -n "$ip6" ]
	busybox ping6 -c 1 -W 5 "$ip6"
	migrate_to_host2 mg1 "migrate"
	echo "$output" | jq -e '.freeze_ms > 0 and .total_ms >= .freeze_ms and .bytes > 0 and .pre_dumps >= 1'
	running_in "$R2" mg1
	# and there, the same
	[ "$(ip6_of "$R2" mg1)" = "$ip6" ]
	nsenter --net=/run/netns/vertck2 busybox ping6 -c 1 -W 5 "$ip6"
	c=$(count_of "$R2" mg1)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R2" mg1 "$c"
	[ "$(ns_pids "$R2" mg1)" = "$before_pids" ]
	# gone here; nothing staged is left on either side
	run vert ps -a -q
	refute_output --partial mg1
	no_stage_left
	v2 stop mg1
	v2 destroy mg1
}

@test "migrate a routed VE: on the target its address has its host route and answers; here neither route nor veth is left" {
	migrate_env
	vert create mr1 --template mini --net routed -- sh -c "$COUNTER"
	vert start mr1
	wait_for 10 count_above "$R" mr1 5
	ip=$(vert inspect mr1 | jq -r .ip)
	[ -n "$ip" ] && [ "$ip" != null ]
	[ -n "$(ip route show "$ip")" ]
	busybox ping -c 1 -W 5 "$ip"
	migrate_to_host2 mr1 "migrate, routed"
	running_in "$R2" mr1
	c=$(count_of "$R2" mr1)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R2" mr1 "$c"
	[ "$(v2 inspect mr1 | jq -r .ip)" = "$ip" ]
	[ -n "$(ip -n vertck2 route show "$ip")" ]
	nsenter --net=/run/netns/vertck2 busybox ping -c 1 -W 5 "$ip"
	[ -z "$(ip route show "$ip")" ]
	[ -z "$(ip -o link show type veth)" ]
	run vert ps -a -q
	refute_output --partial mr1
	no_stage_left
	v2 stop mr1
	v2 destroy mr1
}

@test "migrate refuses an unreachable host, a name in use there and a missing template, and the VE runs on" {
	migrate_env
	vert create mg2 --template mini --userns host -- sh -c "$COUNTER"
	vert start mg2
	wait_for 10 count_above "$R" mg2 2
	pid=$(init_pid mg2)
	VERT_SSH=false run vert migrate mg2 host2
	assert_failure
	assert_output --partial "unreachable"
	v2 create mg2 --template mini
	run vert migrate mg2 host2
	assert_failure
	assert_output --partial "already exists there"
	v2 destroy mg2
	vert template create other --from busybox >/dev/null
	vert create mg3 --template other --userns host -- sh -c "$COUNTER"
	vert start mg3
	run vert migrate mg3 host2
	assert_failure
	assert_output --partial "template other not found there"
	[ "$(init_pid mg2)" = "$pid" ]
	running_in "$R" mg3
	no_stage_left
	vert stop mg2 mg3
	vert destroy mg2 mg3
	vert template rm other
}

# The client: a third network namespace, a router upstream of both
# "hosts", with a link of its own to each (TEST-NET addresses: the
# client's end .2, the host's .1).  The VE's address is reached through
# the host that runs it: after a migration the test moves the client's
# route to the target, as the network outside the hosts does in a real
# one (a routing protocol, or proxy ARP on a shared LAN); vert moves the
# VE, with its address, MAC, veth, rules and published ports.
CL1=198.51.100
CL2=203.0.113
client_up() {
	ip netns add vertckc
	ip -n vertckc link set lo up
	ip link add ckh1 type veth peer name ckc1 netns vertckc
	ip -n vertck2 link add ckh2 type veth peer name ckc2 netns vertckc
	ip addr add "$CL1.1/24" dev ckh1
	ip link set ckh1 up
	ip -n vertck2 addr add "$CL2.1/24" dev ckh2
	ip -n vertck2 link set ckh2 up
	ip -n vertckc addr add "$CL1.2/24" dev ckc1
	ip -n vertckc addr add "$CL2.2/24" dev ckc2
	ip -n vertckc link set ckc1 up
	ip -n vertckc link set ckc2 up
	# each host reaches the client's other address through the client
	ip route add "$CL2.0/24" via "$CL1.2"
	ip -n vertck2 route add "$CL1.0/24" via "$CL2.2"
}
client_down() {
	local p
	for p in $(ip netns pids vertckc 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null || true
	done
	ip netns del vertckc 2>/dev/null || true
	ip link del ckh1 2>/dev/null || true
	ip -n vertck2 link del ckh2 2>/dev/null || true
}
cl() { nsenter --net=/run/netns/vertckc "$@"; }
# the client's route to the VE's address: through host 1 or 2
route_via() { ip -n vertckc route replace "$1/32" via "$2.1"; }
web_answers() { [ "$(cl curl -s -m 5 "$1" 2>/dev/null)" = pong ]; }
# what vert made for VE $2 on host ROOT $1: its net record's host veth
host_if_of() { jq -r .host_if "$1/run/net/$2.json"; }
# nft ruleset of a "host": 1 (this netns) or 2 (vertck2)
ruleset_of() { if [ "$1" = 2 ]; then nsenter --net=/run/netns/vertck2 nft list ruleset; else nft list ruleset; fi; }
# nothing of VE $1 (host veth $2) is left on host 1
nothing_left_here() {
	run vert ps -a -q
	refute_output --partial "$1"
	[ ! -e "$R/ves/$1" ]
	[ ! -e "$R/run/net/$1.json" ]
	run ip link show "$2"
	assert_failure
	run ruleset_of 1
	refute_output --partial "vert:$2"
	refute_output --partial "ve-$2"
	[ ! -L "$R/net/leases.d/by-name/$1" ]
	no_stage_left
}

@test "migrate: a TCP connection from a client to the VE carries data both ways after it; here nothing of the VE is left" {
	migrate_env
	client_up
	vert create mtcp --template mini --userns host -- nc -l -p 5000 -e cat
	vert start mtcp
	ip=$(vert inspect mtcp | jq -r .ip)
	mac=$(vert exec mtcp -- cat /sys/class/net/eth0/address)
	hif=$(host_if_of "$R" mtcp)
	route_via "$ip" "$CL1"
	wait_for 10 tcp_listening "$(init_pid mtcp)"
	mkfifo "$BATS_TEST_TMPDIR/in"
	: >"$BATS_TEST_TMPDIR/out"
	cl busybox nc "$ip" 5000 <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 3>&- &
	exec 6>"$BATS_TEST_TMPDIR/in"
	echo one >&6
	wait_for 20 grep -qx one "$BATS_TEST_TMPDIR/out"
	migrate_to_host2 mtcp "migrate"
	running_in "$R2" mtcp
	[ "$(v2 inspect mtcp | jq -r .ip)" = "$ip" ]
	[ "$(v2 exec mtcp -- cat /sys/class/net/eth0/address)" = "$mac" ]
	# the same connection, now through the target
	route_via "$ip" "$CL2"
	echo two >&6
	wait_for 60 grep -qx two "$BATS_TEST_TMPDIR/out"
	echo three >&6
	wait_for 20 grep -qx three "$BATS_TEST_TMPDIR/out"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(printf 'one\ntwo\nthree')" ]
	# there: its veth, with its anti-spoofing chain (while the connection
	# lasts: nc is the VE's init, it ends when the client goes)
	hif2=$(host_if_of "$R2" mtcp)
	ip -n vertck2 link show "$hif2"
	run ruleset_of 2
	assert_output --partial "chain ve-$hif2"
	exec 6>&-
	wait_for 20 stopped_in "$R2" mtcp
	nothing_left_here mtcp "$hif"
	v2 destroy --force mtcp
}

@test "migrate: the VE's address answers from the client on the target, and its published port on the target's address, no longer here" {
	migrate_env
	client_up
	vert create mweb --template mini --userns host -p 8080:80 -- \
		sh -c 'mkdir -p /www && echo pong >/www/index.html && exec httpd -f -p 80 -h /www'
	vert start mweb
	ip=$(vert inspect mweb | jq -r .ip)
	hif=$(host_if_of "$R" mweb)
	route_via "$ip" "$CL1"
	wait_for 20 web_answers "http://$ip/"
	wait_for 20 web_answers "http://$CL1.1:8080/"
	run vert migrate mweb host2
	echo "$output"
	assert_success
	running_in "$R2" mweb
	route_via "$ip" "$CL2"
	wait_for 20 web_answers "http://$ip/"
	cl busybox ping -c 1 -W 5 "$ip"
	# the published port: on the target's address, DNAT rules there ...
	wait_for 20 web_answers "http://$CL2.1:8080/"
	hif2=$(host_if_of "$R2" mweb)
	run ruleset_of 2
	assert_output --regexp "dport 8080 .*dnat (ip )?to $ip:80 comment \"vert:$hif2\""
	# ... and no longer here
	run cl curl -s -m 5 "http://$CL1.1:8080/"
	assert_failure
	nothing_left_here mweb "$hif"
	v2 destroy --force mweb
}

# the last whole line the client got, if it is a number
last_tick() { local l; l=$(tail -n 2 "$1" | head -n 1); [[ $l =~ ^[0-9]+$ ]] && echo "$l"; }
tick_above() { local t; t=$(last_tick "$1") && [ "$t" -gt "$2" ]; }

@test "migrate: a connection on which the VE speaks first after it (a server pushing lines) goes on, unNATed, through the target" {
	migrate_env
	client_up
	vert create mpush --template mini --userns host -- \
		nc -l -p 5000 -e sh -c 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done'
	vert start mpush
	ip=$(vert inspect mpush | jq -r .ip)
	route_via "$ip" "$CL1"
	wait_for 10 tcp_listening "$(init_pid mpush)"
	mkfifo "$BATS_TEST_TMPDIR/in"
	: >"$BATS_TEST_TMPDIR/out"
	cl busybox nc "$ip" 5000 <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 3>&- &
	exec 6>"$BATS_TEST_TMPDIR/in"
	wait_for 20 tick_above "$BATS_TEST_TMPDIR/out" 3
	run vert migrate mpush host2
	echo "$output"
	assert_success
	# it pushes from the target at once, before the client's route moves:
	# the target's conntrack first sees the connection from the VE's side
	# (a masquerade would rewrite its source and the client would reset it)
	t=$(last_tick "$BATS_TEST_TMPDIR/out")
	route_via "$ip" "$CL2"
	wait_for 60 tick_above "$BATS_TEST_TMPDIR/out" $((t + 5))
	# one stream, no gap and no restart
	[ "$(head -n 1 "$BATS_TEST_TMPDIR/out")" = 1 ]
	n=$(last_tick "$BATS_TEST_TMPDIR/out")
	[ "$(head -n "$n" "$BATS_TEST_TMPDIR/out")" = "$(seq "$n")" ]
	exec 6>&-
	v2 destroy --force mpush
}

# A VE of its own user namespace (no --userns flag: the default).  CRIU
# restores the namespace with the ids it was dumped with; vert gives it
# its overlay root made from inside a namespace of those ids.

@test "a default VE (own user namespace): checkpoint and restore keep the counter, the pids and its uid range, still claimed" {
	vert create ucnt --template mini -- sh -c "$COUNTER"
	vert start ucnt
	wait_for 10 count_above "$R" ucnt 5
	map=$(uid_map_of "$R" ucnt)
	base=$(base_of "$map")
	echo "# uid map: $map" >&3
	[ "$(echo $map | awk '{ print $1, $3 }')" = "0 65536" ]
	[ "$base" -ge 65536 ]
	before_pids=$(ns_pids "$R" ucnt)
	run vert checkpoint ucnt
	echo "$output"
	assert_success
	run vert ps -a --format name,state -H
	assert_output --regexp "ucnt +stopped"
	run vert restore ucnt
	echo "$output"
	assert_success
	running_in "$R" ucnt
	c=$(count_of "$R" ucnt)
	echo "# count after restore: $c" >&3
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R" ucnt "$c"
	[ "$(ns_pids "$R" ucnt)" = "$before_pids" ]
	[ "$(uid_map_of "$R" ucnt)" = "$map" ]
	# the init runs as the range's first id on the host
	[ "$(stat -c %u "/proc/$(init_pid ucnt)")" = "$base" ]
	# its root writes its root fs as itself: uid 0 on disk, in the upper dir
	vert exec ucnt -- sh -c 'echo hi >/after-restore'
	[ "$(stat -c %u "$R/ves/ucnt/upper/after-restore")" = 0 ]
	# the range is still its own, and given back when it goes
	[ "$(sed -n 2p "/var/lib/vert/idmap/$base")" = ucnt ]
	run vert checkpoint ucnt
	assert_success
	run vert restore ucnt
	assert_success
	running_in "$R" ucnt
	vert stop ucnt
	vert destroy ucnt
	[ ! -e "/var/lib/vert/idmap/$base" ]
}

@test "a default VE's image: refused in another state root while its range is held here; another host runs it with the same range" {
	vert create uimg --template mini -- sh -c "$COUNTER"
	vert start uimg
	wait_for 10 count_above "$R" uimg 5
	map=$(uid_map_of "$R" uimg)
	base=$(base_of "$map")
	# an opaque dir (user.overlay.opaque in its upper): the template's
	# /etc/init.d made anew
	vert exec uimg -- sh -c 'rm -rf /etc/init.d && mkdir /etc/init.d && : >/etc/init.d/o'
	# /tmp here is a tmpfs of 6.1, without user.* xattrs: cp -a dropped
	# the mark without a word, and the template's files came back.  Now
	# refused before the dump, and the VE runs on.
	if ! python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.t", b"1")' /tmp 2>/dev/null; then
		run vert checkpoint uimg --output /tmp/uimg.img
		echo "$output"
		assert_failure 2
		assert_output --partial "without user.* extended attributes"
		[ ! -e /tmp/uimg.img ] && [ -z "$(ls -d /tmp/.uimg.tmp-* 2>/dev/null)" ]
		running_in "$R" uimg
	fi
	img=$IMGDIR/uimg.img
	run vert checkpoint uimg --leave-running --output "$img"
	echo "$output"
	assert_success
	vert stop uimg
	# this host: the range is uimg's here, and CRIU can't give it others
	run v2same restore uimg --input "$img"
	echo "$output"
	assert_failure
	assert_output --partial "is held by VE 'uimg'"
	run v2same ps -a -q
	refute_output --partial uimg
	[ ! -e "$R2/ves/uimg" ]
	[ "$(sed -n 2p "/var/lib/vert/idmap/$base")" = uimg ]
	# another host: free there
	run v2 restore uimg --input "$img"
	echo "$output"
	assert_success
	running_in "$R2" uimg
	c=$(count_of "$R2" uimg)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R2" uimg "$c"
	[ "$(uid_map_of "$R2" uimg)" = "$map" ]
	[ "$(sed -n 2p "$CK2IDMAP/$base")" = uimg ]
	run v2 exec uimg -- ls /etc/init.d
	assert_output o
	v2 stop uimg
	v2 destroy uimg
	[ ! -e "$CK2IDMAP/$base" ]
	vert destroy uimg
	[ ! -e "/var/lib/vert/idmap/$base" ]
}

@test "migrate a default VE: the counter and its uid range go on on the second host; the range is given back here, held there" {
	migrate_env
	vert create umg --template mini -- sh -c "$COUNTER"
	vert start umg
	wait_for 10 count_above "$R" umg 5
	map=$(uid_map_of "$R" umg)
	base=$(base_of "$map")
	before_pids=$(ns_pids "$R" umg)
	migrate_to_host2 umg "migrate"
	running_in "$R2" umg
	c=$(count_of "$R2" umg)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R2" umg "$c"
	[ "$(ns_pids "$R2" umg)" = "$before_pids" ]
	[ "$(uid_map_of "$R2" umg)" = "$map" ]
	run vert ps -a -q
	refute_output --partial umg
	[ ! -e "/var/lib/vert/idmap/$base" ]
	[ "$(sed -n 2p "$CK2IDMAP/$base")" = umg ]
	no_stage_left
	v2 stop umg
	v2 destroy umg
	[ ! -e "$CK2IDMAP/$base" ]
}

@test "migrate of a default VE whose range is held on the target: refused there, it runs here again, nothing is left there" {
	migrate_env
	vert create uhd --template mini -- sh -c "$COUNTER"
	vert start uhd
	wait_for 10 count_above "$R" uhd 5
	base=$(base_of "$(uid_map_of "$R" uhd)")
	# the target's registry: the range is another VE's there (its claimer lives)
	sleep 1000 3>&- &
	holder=$!
	printf '%s\nholder\n%d\n' "$R2" "$holder" >"$CK2IDMAP/$base"
	run vert migrate uhd host2
	echo "$output"
	assert_failure
	assert_output --partial "is held by VE 'holder'"
	running_in "$R" uhd
	c=$(count_of "$R" uhd)
	wait_for 10 count_above "$R" uhd "$c"
	[ "$(sed -n 2p "/var/lib/vert/idmap/$base")" = uhd ]
	# nothing half-made there: no VE, no veth, the claim is the holder's
	run v2 ps -a -q
	refute_output --partial uhd
	[ ! -e "$R2/ves/uhd" ]
	[ "$(sed -n 2p "$CK2IDMAP/$base")" = holder ]
	[ -z "$(ip -n vertck2 -o link show type veth)" ]
	no_stage_left
	kill "$holder"
	rm -f "$CK2IDMAP/$base"
	vert stop uhd
	vert destroy uhd
}

# netns-ssh that SIGKILLs the migrating vert when the target's restore is
# asked for: the VE is dumped (and stopped) here, the image sent there.
# KILL_AFTER=1: once the target's restore is done.
kill_ssh() {
	cat >"$BATS_TEST_TMPDIR/kill-ssh" <<'SH'
#!/bin/sh
case "$2" in
*" restore "*)
	rc=255
	[ -z "$KILL_AFTER" ] || { "$NETNS_SSH" "$@"; rc=$?; }
	kill -KILL "$(cat "$KILL_PIDFILE")"
	exit $rc
	;;
esac
exec "$NETNS_SSH" "$@"
SH
	chmod +x "$BATS_TEST_TMPDIR/kill-ssh"
	export KILL_PIDFILE=$BATS_TEST_TMPDIR/migrate.pid NETNS_SSH=$VERT_SSH
}

@test "a vert killed mid-migration is reconciled by the next command: the VE runs here again, nothing is left there" {
	migrate_env
	kill_ssh
	vert create ukill --template mini -- sh -c "$COUNTER"
	vert start ukill
	wait_for 10 count_above "$R" ukill 5
	map=$(uid_map_of "$R" ukill)
	base=$(base_of "$map")
	before_pids=$(ns_pids "$R" ukill)
	killed_vert VERT_SSH=$BATS_TEST_TMPDIR/kill-ssh -- migrate ukill host2
	# the next command here finds the migration's journal, its vert dead
	run vert ps -a
	echo "$output"
	running_in "$R" ukill
	c=$(count_of "$R" ukill)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R" ukill "$c"
	[ "$(ns_pids "$R" ukill)" = "$before_pids" ]
	[ "$(uid_map_of "$R" ukill)" = "$map" ]
	[ "$(sed -n 2p "/var/lib/vert/idmap/$base")" = ukill ]
	[ -z "$(ls -A "$R/run/migrate" 2>/dev/null)" ]
	no_stage_left
	# and there: no VE, no veth, no claim
	run v2 ps -a -q
	refute_output --partial ukill
	[ ! -e "$R2/ves/ukill" ]
	[ ! -e "$CK2IDMAP/$base" ]
	[ -z "$(ip -n vertck2 -o link show type veth)" ]
	vert stop ukill
	vert destroy ukill
}

@test "a vert killed once the target restored the VE: the next command here finishes the migration" {
	migrate_env
	kill_ssh
	vert create ukil2 --template mini -- sh -c "$COUNTER"
	vert start ukil2
	wait_for 10 count_above "$R" ukil2 5
	map=$(uid_map_of "$R" ukil2)
	base=$(base_of "$map")
	killed_vert KILL_AFTER=1 VERT_SSH=$BATS_TEST_TMPDIR/kill-ssh -- migrate ukil2 host2
	running_in "$R2" ukil2
	run vert ps -a -q
	echo "$output"
	assert_output --partial "VE 'ukil2' runs on 'host2': its interrupted migration is finished"
	run vert ps -a -q
	refute_output --partial ukil2
	[ ! -e "$R/ves/ukil2" ]
	[ ! -e "/var/lib/vert/idmap/$base" ]
	[ -z "$(ls -A "$R/run/migrate" 2>/dev/null)" ]
	no_stage_left
	c=$(count_of "$R2" ukil2)
	[ -n "$c" ]
	wait_for 10 count_above "$R2" ukil2 "$c"
	[ "$(uid_map_of "$R2" ukil2)" = "$map" ]
	v2 stop ukil2
	v2 destroy ukil2
}

# netns-ssh that SIGKILLs the migrating vert at the first remote command
# matching the case pattern KILL_AT, which is not run.
kill_ssh_at() {
	cat >"$BATS_TEST_TMPDIR/kill-ssh-at" <<'SH'
#!/bin/sh
case "$2" in
$KILL_AT)
	kill -KILL "$(cat "$KILL_PIDFILE")"
	exit 255
	;;
esac
exec "$NETNS_SSH" "$@"
SH
	chmod +x "$BATS_TEST_TMPDIR/kill-ssh-at"
	export KILL_PIDFILE=$BATS_TEST_TMPDIR/migrate.pid NETNS_SSH=$VERT_SSH KILL_AT=$1
}
gone() { [ ! -e "/proc/$1" ]; }
# nothing a migration of NAME stages is left on either side
no_migration_left() {
	[ -z "$(ls -A "$R/run/migrate" 2>/dev/null)" ]
	no_stage_left
	[ -z "$(ls -d "$R/ves/$1"/.*tmp* 2>/dev/null)" ]
	run v2 ps -a -q
	refute_output --partial "$1"
	[ ! -e "$R2/ves/$1" ]
	[ -z "$(ip -n vertck2 -o link show type veth)" ]
}

@test "a vert killed in the pre-copy: the VE ran on, the next command clears the stages on both sides" {
	migrate_env
	kill_ssh_at '*/img -xf*'
	vert create ukil3 --template mini -- sh -c "$COUNTER"
	vert start ukil3
	wait_for 10 count_above "$R" ukil3 5
	before_pids=$(ns_pids "$R" ukil3)
	base=$(base_of "$(uid_map_of "$R" ukil3)")
	killed_vert VERT_SSH=$BATS_TEST_TMPDIR/kill-ssh-at -- migrate ukil3 host2
	# killed at its first send (the upper dir's first pass), the VE never
	# frozen for good: no stop marker (its next exit would be taken for a
	# stop)
	[ -e "$R/run/migrate/ukil3.json" ]
	[ ! -e "$R/run/ves/ukil3/stopping" ]
	run vert ps -a
	echo "$output"
	running_in "$R" ukil3
	c=$(count_of "$R" ukil3)
	wait_for 10 count_above "$R" ukil3 "$c"
	[ "$(ns_pids "$R" ukil3)" = "$before_pids" ]
	[ "$(sed -n 2p "/var/lib/vert/idmap/$base")" = ukil3 ]
	[ ! -e "$CK2IDMAP/$base" ]
	no_migration_left ukil3
	vert stop ukil3
	vert destroy ukil3
}

@test "a vert killed once CRIU stopped the VE in the final dump: the next command restores it here from the whole image" {
	migrate_env
	kill_ssh
	vert create ukil4 --template mini -- sh -c "$COUNTER"
	vert start ukil4
	wait_for 10 count_above "$R" ukil4 5
	before_pids=$(ns_pids "$R" ukil4)
	map=$(uid_map_of "$R" ukil4)
	base=$(base_of "$map")
	pid=$(vert ps --format pid -H ukil4)
	[ -n "$pid" ]
	VERT_SSH=$BATS_TEST_TMPDIR/kill-ssh "$VERT" --root "$R" migrate ukil4 host2 3>&- &
	mpid=$!
	echo "$mpid" >"$KILL_PIDFILE"
	# killed the moment the init is gone (or, later, at the target's
	# restore by kill-ssh): CRIU has dumped, the image was never sent
	wait_for 300 gone "$pid"
	kill -KILL "$mpid" 2>/dev/null || true
	st=0
	wait "$mpid" || st=$?
	[ "$st" = 137 ]
	[ -e "$R/run/migrate/ukil4.json" ]
	run vert ps -a
	echo "$output"
	assert_output --partial "VE 'ukil4' runs here again"
	running_in "$R" ukil4
	c=$(count_of "$R" ukil4)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R" ukil4 "$c"
	[ "$(ns_pids "$R" ukil4)" = "$before_pids" ]
	[ "$(uid_map_of "$R" ukil4)" = "$map" ]
	[ "$(sed -n 2p "/var/lib/vert/idmap/$base")" = ukil4 ]
	[ ! -e "$CK2IDMAP/$base" ]
	no_migration_left ukil4
	vert stop ukil4
	vert destroy ukil4
}

@test "a restore killed as CRIU starts leaves no stage behind: the next command clears it, a restore then works" {
	vert create ukil5 --template mini -- sh -c "$COUNTER"
	vert start ukil5
	wait_for 10 count_above "$R" ukil5 5
	before_pids=$(ns_pids "$R" ukil5)
	run vert checkpoint ukil5
	assert_success
	# a criu that SIGKILLs the restoring vert and its supervisor (its
	# parent) as the supervisor calls it, its stage made
	mkdir "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/criu" <<'SH'
#!/bin/sh
for i in $(seq 100); do [ -s "$KILL_PIDFILE" ] && break; sleep 0.1; done
kill -KILL "$(cat "$KILL_PIDFILE")" $PPID
exit 1
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/criu"
	export KILL_PIDFILE=$BATS_TEST_TMPDIR/restore.pid
	killed_vert PATH=$BATS_TEST_TMPDIR/bin:$PATH -- restore ukil5
	# the killed restore's stage, an empty dir on the host
	[ -n "$(ls -d /tmp/.vert-restore-* 2>/dev/null)" ]
	run vert ps -a --format name,state -H
	echo "$output"
	assert_output --regexp "ukil5 +stopped"
	[ -z "$(ls -d /tmp/.vert-restore-* 2>/dev/null)" ]
	[ ! -e "$R/run/ves/ukil5" ]
	[ -z "$(ip -o link show type veth)" ]
	run vert restore ukil5
	echo "$output"
	assert_success
	running_in "$R" ukil5
	c=$(count_of "$R" ukil5)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R" ukil5 "$c"
	[ "$(ns_pids "$R" ukil5)" = "$before_pids" ]
	vert stop ukil5
	vert destroy ukil5
}

@test "a restore under way shows as restoring in vert ps, and as running once it is done" {
	vert create ures --template mini -- sh -c "$COUNTER"
	vert start ures
	wait_for 10 count_above "$R" ures 5
	run vert checkpoint ures
	assert_success
	# a criu that waits for the test's word before it restores
	mkdir "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/criu" <<SH
#!/bin/sh
: >"$BATS_TEST_TMPDIR/criu.called"
for i in \$(seq 600); do [ -e "$BATS_TEST_TMPDIR/criu.go" ] && break; sleep 0.1; done
exec $(command -v criu) "\$@"
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/criu"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH "$VERT" --root "$R" restore ures 3>&- &
	rpid=$!
	wait_for 30 test -e "$BATS_TEST_TMPDIR/criu.called"
	run vert ps -a --format name,state -H
	echo "$output"
	assert_output --regexp "ures +restoring"
	# not among the running ones yet
	run vert ps -q
	refute_output --regexp "^ures$"
	: >"$BATS_TEST_TMPDIR/criu.go"
	wait "$rpid"
	running_in "$R" ures
	[ ! -e "$R/run/ves/ures/restoring" ]
	c=$(count_of "$R" ures)
	wait_for 10 count_above "$R" ures "$c"
	vert stop ures
	vert destroy ures
}

@test "a restore whose vert is killed as CRIU starts keeps the VE locked until its supervisor is done: the next command finds it whole" {
	vert create ukil6 --template mini -- sh -c "$COUNTER"
	vert start ukil6
	wait_for 10 count_above "$R" ukil6 5
	run vert checkpoint ukil6
	assert_success
	# a criu that SIGKILLs only the restoring vert (not its supervisor,
	# which calls it), lets another vert command in (from the host's
	# namespaces), then restores.  That command found the lock free and
	# no state yet: its reconcile took the VE's network (its record, veth
	# and rules) and run dir from under the restore going on.
	real=$(command -v criu)
	mkdir "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/criu" <<SH
#!/bin/sh
for i in \$(seq 100); do [ -s "$BATS_TEST_TMPDIR/restore.pid" ] && break; sleep 0.1; done
kill -KILL "\$(cat "$BATS_TEST_TMPDIR/restore.pid")"
nsenter -t 1 -m -n "$VERT" --root "$R" ps -a >/dev/null 2>&1
if [ -e "$R/run/net/ukil6.json" ]; then echo kept; else echo removed; fi >"$BATS_TEST_TMPDIR/during"
exec "$real" "\$@"
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/criu"
	export KILL_PIDFILE=$BATS_TEST_TMPDIR/restore.pid
	killed_vert PATH=$BATS_TEST_TMPDIR/bin:$PATH -- restore ukil6
	wait_for 120 test -s "$BATS_TEST_TMPDIR/during"
	[ "$(cat "$BATS_TEST_TMPDIR/during")" = kept ]
	# once the supervisor is done (its report found no reader), the VE is
	# whole either way: running with its network, or stopped with
	# nothing left, and restorable
	wait_for 120 sh -c '! pgrep -x criu >/dev/null'
	run vert ps -a --format name,state -H
	echo "$output"
	if [[ $output =~ ukil6\ +running ]]; then
		echo "# the supervisor went on: the VE runs" >&3
		[ -n "$(ip -o link show type veth)" ]
		c=$(count_of "$R" ukil6)
		wait_for 10 count_above "$R" ukil6 "$c"
	else
		echo "# the supervisor died with its report: the VE is stopped" >&3
		assert_output --regexp "ukil6 +stopped"
		[ ! -e "$R/run/ves/ukil6" ]
		[ -z "$(ip -o link show type veth)" ]
		run vert restore ukil6
		echo "$output"
		assert_success
		c=$(count_of "$R" ukil6)
		[ "$c" -gt 5 ]
		wait_for 10 count_above "$R" ukil6 "$c"
	fi
	vert stop ukil6
	vert destroy ukil6
}

# The churn: PID 1 keeps its upper dir changing, every kind of change,
# and checks before each step that the files are as its last step left
# them (a counter in memory against the files): /f holds the last three
# numbers, /d the last three dirs, /m the number, /r.N was renamed on from
# /r.(N-1), /bin/vi (the template's) is deleted (a whiteout) at odd
# numbers and a new link at even ones, /t a dir (odd) or a file (even),
# the template's /usr/sbin an opaque dir with only "o" (odd) or gone (even:
# a whiteout); a 48 MiB file gives the upper some size.  A wrong file after the
# migration is written to /dev/shm/bad.
CHURN='dd if=/dev/zero of=/big bs=1M count=48 2>/dev/null; mkdir -p /f /d; echo 0 >/m; : >/r.0; i=0
while :; do
	bad=
	for k in $(ls /f); do [ "$k" -gt $((i - 3)) ] && [ "$k" -le $i ] || bad="$bad f$k"; done
	for k in $(ls /d); do [ "$k" -gt $((i - 3)) ] && [ "$k" -le $i ] || bad="$bad d$k"; done
	[ "$(cat /m)" = $i ] || bad="$bad m"
	[ -e /r.$i ] && [ "$(ls / | grep -c "^r\.")" = 1 ] || bad="$bad r"
	if [ $((i % 2)) = 1 ]; then
		[ ! -e /bin/vi ] && [ -d /t ] && [ -f /t/x ] && [ "$(ls /usr/sbin)" = o ] || bad="$bad odd"
	elif [ $i -gt 0 ]; then
		[ -L /bin/vi ] && [ -f /t ] && [ "$(cat /t)" = $i ] && [ ! -e /usr/sbin ] || bad="$bad even"
	fi
	[ -z "$bad" ] || echo "$i:$bad" >>/dev/shm/bad
	i=$((i + 1))
	echo $i >/f/$i; rm -f /f/$((i - 3)); mkdir /d/$i; rmdir /d/$((i - 3)) 2>/dev/null
	echo $i >/m; mv /r.$((i - 1)) /r.$i; rm -rf /t
	rm -rf /usr/sbin
	if [ $((i % 2)) = 1 ]; then
		rm /bin/vi; mkdir /t; : >/t/x; mkdir /usr/sbin; : >/usr/sbin/o
	else
		ln -s /bin/busybox /bin/vi; echo $i >/t
	fi
	echo $i >/dev/shm/count; sleep 0.2
done'

@test "migrate syncs the upper dir while the VE runs: changes, renames, deletions, whiteouts and type changes between passes are right there" {
	migrate_env
	vert create up1 --template mini -- sh -c "$CHURN"
	vert start up1
	wait_for 60 count_above "$R" up1 5
	# and one opaque dir that stays: the template's /etc/init.d made anew
	# (its mark, user.overlay.opaque, was lost in the target's tmpfs
	# /var/tmp stage, and the template's rcS showed through there)
	vert exec up1 -- sh -c 'rm -rf /etc/init.d && mkdir /etc/init.d && : >/etc/init.d/o'
	[ "$(vert exec up1 -- ls /etc/init.d)" = o ]
	migrate_to_host2 up1 "migrate, a 48 MiB upper changing"
	# the upper went, all of it, besides the memory
	echo "$output" | jq -e '.bytes > 48 * 1048576'
	running_in "$R2" up1
	c=$(count_of "$R2" up1)
	[ "$c" -gt 5 ]
	wait_for 30 count_above "$R2" up1 $((c + 2))
	run v2 exec up1 -- ls /etc/init.d
	assert_output o
	run v2 exec up1 -- cat /dev/shm/bad
	echo "$output"
	assert_failure
	[ "$(v2 exec up1 -- stat -c %s /big)" = $((48 * 1048576)) ]
	no_stage_left
	v2 stop up1
	v2 destroy up1
}

later_than() { [ "$(date +%s)" -ge "$1" ]; }

@test "migrate of a VE whose files no longer change: the upper dir goes whole before the freeze, which sends only the dump" {
	migrate_env
	vert create up2 --template mini -- sh -c "$COUNTER"
	vert start up2
	wait_for 10 count_above "$R" up2 5
	# a new file, a template file deleted (a whiteout), a template dir
	# made anew (opaque) with a file in it
	vert exec up2 -- sh -c 'echo kept >/kept && rm /bin/vi && rm -rf /etc/init.d && mkdir /etc/init.d && : >/etc/init.d/o'
	# the changes older than the second before the first pass, which
	# that pass takes as its start (file times are coarse)
	t=$(date +%s)
	wait_for 10 later_than $((t + 2))
	"$VERT" --root "$R" --debug migrate up2 host2 --json >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/dbg" ||
		{ cat "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/dbg"; false; }
	echo "# migrate, an upper dir that no longer changes: $(jq -c . "$BATS_TEST_TMPDIR/out")" >&3
	grep 'debug: +' "$BATS_TEST_TMPDIR/dbg"
	# the first pass sent it all; the second and the frozen one had
	# nothing to do and did not ask the target
	[ "$(grep -c 'the upper dir unchanged since the last pass, whole there' "$BATS_TEST_TMPDIR/dbg")" = 2 ]
	run grep -c upper.list "$BATS_TEST_TMPDIR/dbg"
	assert_output 0
	running_in "$R2" up2
	c=$(count_of "$R2" up2)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R2" up2 "$c"
	[ "$(v2 exec up2 -- cat /kept)" = kept ]
	run v2 exec up2 -- ls /bin/vi
	assert_failure
	run v2 exec up2 -- ls /etc/init.d
	assert_output o
	no_stage_left
	v2 stop up2
	v2 destroy up2
}

@test "a migration whose restore fails there and then here keeps the image here, for a restore by hand" {
	migrate_env
	vert create ufail --template mini -- sh -c "$COUNTER"
	vert start ufail
	wait_for 10 count_above "$R" ufail 5
	before_pids=$(ns_pids "$R" ufail)
	# the target's restore is refused by its ssh; CRIU here fails once
	# the migration is past the dump and the send (its journal says so)
	mkdir "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/fail-ssh" <<'SH'
#!/bin/sh
case "$2" in
*" restore "*) echo "restore refused" >&2; exit 1 ;;
esac
exec "$NETNS_SSH" "$@"
SH
	cat >"$BATS_TEST_TMPDIR/bin/criu" <<'SH'
#!/bin/sh
grep -Eq '"phase": ?"restoring"' "$JOURNAL" 2>/dev/null && { echo "criu refused" >&2; exit 1; }
exec "$REAL_CRIU" "$@"
SH
	chmod +x "$BATS_TEST_TMPDIR/fail-ssh" "$BATS_TEST_TMPDIR/bin/criu"
	export NETNS_SSH=$VERT_SSH REAL_CRIU=$(command -v criu) JOURNAL=$R/run/migrate/ufail.json
	run env VERT_SSH="$BATS_TEST_TMPDIR/fail-ssh" PATH="$BATS_TEST_TMPDIR/bin:$PATH" \
		"$VERT" --root "$R" migrate ufail host2
	echo "$output"
	assert_failure
	assert_output --partial "could not be restored here either"
	assert_output --partial "its image stays in"
	stopped_in "$R" ufail
	img=$(ls -d /var/tmp/vert-migrate.*/img)
	[ -e "$img/image.json" ]
	[ -z "$(ls -A "$R2/migrate-in" 2>/dev/null)" ]
	# the way out it names
	run vert restore ufail --input "$img"
	assert_success
	running_in "$R" ufail
	c=$(count_of "$R" ufail)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R" ufail "$c"
	[ "$(ns_pids "$R" ufail)" = "$before_pids" ]
	rm -rf "$(dirname "$img")"
	vert stop ufail
	vert destroy ufail
}

# netns-ssh for which the target is down (every command fails as ssh does,
# 255) while $DOWN exists; the restore runs (AFTER_RESTORE=lost: and then
# its answer is lost, 255) or not (AFTER_RESTORE=down: the target goes down
# just as it was to run)
flaky_ssh() {
	cat >"$BATS_TEST_TMPDIR/flaky-ssh" <<'SH'
#!/bin/sh
[ -e "$DOWN" ] && { echo "ssh: connect to host $1: No route to host" >&2; exit 255; }
case "$2" in
*" restore "*)
	if [ "$AFTER_RESTORE" = down ]; then
		touch "$DOWN"
		exit 255
	fi
	"$NETNS_SSH" "$@"
	echo "client_loop: send disconnect: Broken pipe" >&2
	exit 255
	;;
esac
exec "$NETNS_SSH" "$@"
SH
	chmod +x "$BATS_TEST_TMPDIR/flaky-ssh"
	export NETNS_SSH=$VERT_SSH DOWN=$BATS_TEST_TMPDIR/down
}

@test "a migration whose restore there worked but whose answer was lost: it runs there only, not also here" {
	migrate_env
	flaky_ssh
	vert create ulost --template mini -- sh -c "$COUNTER"
	vert start ulost
	wait_for 10 count_above "$R" ulost 5
	before_pids=$(ns_pids "$R" ulost)
	# before: the lost answer was taken for a failure and the VE restored
	# here too, two copies with one address
	run env AFTER_RESTORE=lost VERT_SSH="$BATS_TEST_TMPDIR/flaky-ssh" "$VERT" --root "$R" \
		migrate ulost host2
	echo "$output"
	assert_success
	assert_output --partial "it runs on 'host2' all the same"
	running_in "$R2" ulost
	run vert ps -a -q
	refute_output --partial ulost
	[ ! -e "$R/ves/ulost" ]
	c=$(count_of "$R2" ulost)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R2" ulost "$c"
	[ "$(ns_pids "$R2" ulost)" = "$before_pids" ]
	[ -z "$(ls -A "$R/run/migrate" 2>/dev/null)" ]
	no_stage_left
	v2 stop ulost
	v2 destroy ulost
}

@test "a migration whose target went down at the restore: the VE waits, stopped, and runs here again once the target answers that it never ran there" {
	migrate_env
	flaky_ssh
	vert create udown --template mini -- sh -c "$COUNTER"
	vert start udown
	wait_for 10 count_above "$R" udown 5
	before_pids=$(ns_pids "$R" udown)
	run env AFTER_RESTORE=down VERT_SSH="$BATS_TEST_TMPDIR/flaky-ssh" "$VERT" --root "$R" \
		migrate udown host2
	echo "$output"
	assert_failure
	assert_output --partial "can't be asked whether the VE runs there"
	assert_output --partial "the next vert command finishes the migration"
	# not restored here blindly (it might run there): stopped, the
	# image and the journal kept
	stopped_in "$R" udown
	[ -e "$R/run/migrate/udown.json" ]
	[ -e "$(ls -d /var/tmp/vert-migrate.*/img)/image.json" ]
	# still down: the next command can't ask, and leaves it so
	run env VERT_SSH="$BATS_TEST_TMPDIR/flaky-ssh" "$VERT" --root "$R" ps -a
	echo "$output"
	assert_output --partial "can't be asked how far it got"
	stopped_in "$R" udown
	# back: it never ran there, so it runs here again
	rm "$DOWN"
	run env VERT_SSH="$BATS_TEST_TMPDIR/flaky-ssh" "$VERT" --root "$R" ps -a
	echo "$output"
	assert_output --partial "runs here again"
	running_in "$R" udown
	c=$(count_of "$R" udown)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R" udown "$c"
	[ "$(ns_pids "$R" udown)" = "$before_pids" ]
	no_migration_left udown
	vert stop udown
	vert destroy udown
}

@test "migrate sends the final dump while CRIU ends the dump, and restores there only once CRIU is done" {
	migrate_env
	vert create mgearly --template mini -- sh -c "$COUNTER"
	vert start mgearly
	wait_for 10 count_above "$R" mgearly 5
	"$VERT" --root "$R" --debug migrate mgearly host2 2>"$BATS_TEST_TMPDIR/dbg"
	grep -n 'migrate:\|checkpoint:' "$BATS_TEST_TMPDIR/dbg" | sed 's/^/# /' >&3
	started=$(grep -n 'migrate: the final send started' "$BATS_TEST_TMPDIR/dbg" | cut -d: -f1)
	criu_done=$(grep -n 'checkpoint: criu done' "$BATS_TEST_TMPDIR/dbg" | cut -d: -f1)
	restored=$(grep -n 'migrate: restored there' "$BATS_TEST_TMPDIR/dbg" | cut -d: -f1)
	committed=$(grep -n 'checkpoint: image committed' "$BATS_TEST_TMPDIR/dbg" | cut -d: -f1)
	[ -n "$started" ] && [ -n "$criu_done" ] && [ -n "$restored" ] && [ -n "$committed" ]
	# the send begins once the image is whole, before CRIU has stopped
	# the VE; the restore there only after
	[ "$committed" -lt "$started" ]
	[ "$started" -lt "$criu_done" ]
	[ "$criu_done" -lt "$restored" ]
	running_in "$R2" mgearly
	c=$(count_of "$R2" mgearly)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R2" mgearly "$c"
	run vert ps -a -q
	refute_output --partial mgearly
	no_stage_left
	v2 stop mgearly
	v2 destroy mgearly
}

# counter_started NAME: a counter VE of mini here, counting
counter_started() {
	vert create "$1" --template mini -- sh -c "$COUNTER"
	vert start "$1"
	wait_for 10 count_above "$R" "$1" 5
}
# migrate_criu NAME: `vert migrate NAME host2` with the criu of
# $BATS_TEST_TMPDIR/bin first in PATH, its outcome in $status and $output
migrate_criu() {
	run env PATH="$BATS_TEST_TMPDIR/bin:$PATH" "$VERT" --root "$R" migrate "$1" host2
	echo "$output"
}

# criu_failing N: a criu on $BATS_TEST_TMPDIR/bin whose first N service
# starts fail, as one does whose freeze of the VE ran out of time
criu_failing() {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/criu" <<'SH'
#!/bin/sh
if [ "$1" = swrk ]; then
	for n in $(seq "$CRIU_FAILS"); do
		if mkdir "$CRIU_FAILED.$n" 2>/dev/null; then
			echo "Timeout reached. Try to interrupt: 0" >&2
			exit 1
		fi
	done
fi
exec "$REAL_CRIU" "$@"
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/criu"
	export REAL_CRIU=$(command -v criu) CRIU_FAILS=$1 CRIU_FAILED=$BATS_TEST_TMPDIR/failed
}

@test "migrate takes a failed pre-dump once more, and the VE goes all the same" {
	migrate_env
	criu_failing 1
	counter_started mgretry
	migrate_criu mgretry
	assert_success
	assert_output --partial "pre-dump 1 failed"
	assert_output --partial "once more"
	[ -d "$CRIU_FAILED.1" ]
	running_in "$R2" mgretry
	c=$(count_of "$R2" mgretry)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R2" mgretry "$c"
	no_stage_left
	run vert ps -a -q
	refute_output --partial mgretry
	v2 stop mgretry
	v2 destroy mgretry
}

@test "migrate gives up after a pre-dump failed twice: the VE runs on here, nothing is left there" {
	migrate_env
	criu_failing 2
	counter_started mgfail2
	before_pids=$(ns_pids "$R" mgfail2)
	migrate_criu mgfail2
	assert_failure
	assert_output --partial "pre-dump 1 failed"
	[ -d "$CRIU_FAILED.2" ]
	running_in "$R" mgfail2
	c=$(count_of "$R" mgfail2)
	wait_for 10 count_above "$R" mgfail2 "$c"
	[ "$(ns_pids "$R" mgfail2)" = "$before_pids" ]
	no_migration_left mgfail2
	vert stop mgfail2
	vert destroy mgfail2
}

@test "migrate takes a failed final dump once more, and the VE goes all the same" {
	migrate_env
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	# the final dump's first CRIU fails (its images' dir is made first)
	cat >"$BATS_TEST_TMPDIR/bin/criu" <<'SH'
#!/bin/sh
if [ "$1" = swrk ] && ls -d /var/tmp/vert-migrate.*/.*.tmp-*/criu >/dev/null 2>&1 &&
	mkdir "$CRIU_FAILED" 2>/dev/null; then
	echo "Timeout reached. Try to interrupt: 0" >&2
	exit 1
fi
exec "$REAL_CRIU" "$@"
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/criu"
	export REAL_CRIU=$(command -v criu) CRIU_FAILED=$BATS_TEST_TMPDIR/failed
	counter_started mgfinal
	before_pids=$(ns_pids "$R" mgfinal)
	migrate_criu mgfinal
	assert_success
	assert_output --partial "the final dump failed"
	assert_output --partial "once more"
	[ -d "$CRIU_FAILED" ]
	running_in "$R2" mgfinal
	c=$(count_of "$R2" mgfinal)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R2" mgfinal "$c"
	[ "$(ns_pids "$R2" mgfinal)" = "$before_pids" ]
	no_stage_left
	run vert ps -a -q
	refute_output --partial mgfinal
	v2 stop mgfinal
	v2 destroy mgfinal
}
