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
	# a bridge serves one state root: the second gets a network of its own
	echo '{"bridge": "vertck2", "subnet": "10.92.0.0/16", "routed_subnet": "10.93.0.0/16",
	       "subnet6": "", "table": "vertck2"}' >"$R2/network.json"
	"$VERT" --root "$R2" template create mini --from busybox >/dev/null
}

teardown_file() {
	local n
	if [ -n "${R2:-}" ]; then
		for n in $("$VERT" --root "$R2" ps -aq 2>/dev/null); do
			"$VERT" --root "$R2" destroy --force "$n" >/dev/null 2>&1 || true
		done
		rm -rf "$R2"
	fi
	vm_teardown_file
}

v2() { "$VERT" --root "$R2" "$@"; }

# The counter: PID 1 counts in memory (a shell variable) and writes the
# count to a file in the VE's /dev/shm every 0.1 s.
COUNTER='i=0; while :; do i=$((i+1)); echo $i >/dev/shm/count; sleep 0.1; done'

count_of() { "$VERT" --root "$1" exec "$2" -- cat /dev/shm/count 2>/dev/null; }
count_above() { local c; c=$(count_of "$1" "$2") && [ -n "$c" ] && [ "$c" -gt "$3" ]; }
running_in() { "$VERT" --root "$1" ps --format name,state -H | grep -q "^$2 .*running"; }
# the pid namespace's view of the init's and a child's pids
ns_pids() { "$VERT" --root "$1" exec "$2" -- sh -c 'cat /proc/1/cmdline | tr "\0" " "; ls /proc | grep -E "^[0-9]+$" | sort -n | head -1'; }

@test "checkpoint and restore: the counter goes on from where it was, same pids, exec and stop work" {
	vert create cnt --template mini -- sh -c "$COUNTER"
	vert start cnt
	wait_for 10 count_above "$R" cnt 5
	before_pids=$(ns_pids "$R" cnt)
	ip_before=$(vert inspect cnt | jq -r '.status.ip // .config.ip // empty')
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
	vert create mv1 --template mini -- sh -c "$COUNTER"
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
	vert stop mv1
	run v2 restore mv1 --input "$img"
	echo "$output"
	assert_success
	running_in "$R2" mv1
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

@test "restore refuses a template that is missing or differs, naming the difference" {
	vert create tp1 --template mini -- sh -c "$COUNTER"
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
	# and the own checkpoint restores
	run vert restore tp1
	assert_success
	vert stop tp1
	vert destroy tp1
}
