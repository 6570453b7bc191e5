#!/usr/bin/env bats
# vert checkpoint / restore on a stock Debian kernel (CRIU 3.17 works on
# 6.1; on the dev host's 6.18 it can't dump: tests/integration/15-*).
# A counter process in the VE keeps counting across checkpoint/restore,
# with the same pids; an image restores into a state root that never had
# the VE; restore refuses a template that is missing or differs and a name
# already in use.

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
	v2 template create mini --from busybox >/dev/null
}

teardown_file() {
	local n
	if [ -n "${R2:-}" ]; then
		for n in $(v2 ps -aq 2>/dev/null); do
			v2 destroy --force "$n" >/dev/null 2>&1 || true
		done
		rm -rf "$R2"
	fi
	ip netns del vertck2 2>/dev/null || true
	vm_teardown_file
}

# nsenter, not ip netns exec: that one mounts a /sys of its own, without
# /sys/fs/cgroup, and the second "host" would run its VEs without cgroups
v2() { nsenter --net=/run/netns/vertck2 "$VERT" --root "$R2" "$@"; }

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
count_of() { in_root "$1" exec "$2" -- cat /dev/shm/count 2>/dev/null; }
count_above() { local c; c=$(count_of "$1" "$2") && [ -n "$c" ] && [ "$c" -gt "$3" ]; }
stopped_in() { in_root "$1" ps -a --format name,state -H | grep -q "^$2 .*stopped"; }
running_in() { in_root "$1" ps --format name,state -H | grep -q "^$2 .*running"; }
# the pid namespace's view of the init's and a child's pids
ns_pids() { in_root "$1" exec "$2" -- sh -c 'b=$(cat /dev/shm/bg); echo "1:$(cat /proc/1/comm) $b:$(cat /proc/$b/comm)"'; }

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
	img=$BATS_TEST_TMPDIR/mv1.img
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
	img=$BATS_TEST_TMPDIR/tp1.img
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
}

@test "migrate: live to a second host; the counter goes on there, the source goes; times and bytes printed" {
	migrate_env
	vert create mg1 --template mini --userns host -- sh -c "$COUNTER"
	vert start mg1
	wait_for 10 count_above "$R" mg1 5
	before_pids=$(ns_pids "$R" mg1)
	run vert migrate mg1 host2 --json
	echo "$output"
	assert_success
	echo "# migrate: $(echo "$output" | jq -c .)" >&3
	echo "$output" | jq -e '.freeze_ms > 0 and .total_ms >= .freeze_ms and .bytes > 0 and .pre_dumps >= 1'
	running_in "$R2" mg1
	c=$(count_of "$R2" mg1)
	[ "$c" -gt 5 ]
	wait_for 10 count_above "$R2" mg1 "$c"
	[ "$(ns_pids "$R2" mg1)" = "$before_pids" ]
	# gone here; nothing staged is left on either side
	run vert ps -a -q
	refute_output --partial mg1
	[ -z "$(ls -d /var/tmp/vert-migrate* 2>/dev/null)" ]
	v2 stop mg1
	v2 destroy mg1
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
	[ -z "$(ls -d /var/tmp/vert-migrate* 2>/dev/null)" ]
	vert stop mg2 mg3
	vert destroy mg2 mg3
	vert template rm other
}
