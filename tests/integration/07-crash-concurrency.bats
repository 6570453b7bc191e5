#!/usr/bin/env bats
# Concurrency and crash safety of the lifecycle.

load helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

# Every VE is either running with a live init and supervisor, or stopped
# with no runtime dir, no cgroup and no process left.
check_consistent() {
	local name st pid d
	vert ps -a --json > "$TEST_ROOT/ps.json"
	for name in $(jq -r '.[].name' "$TEST_ROOT/ps.json"); do
		st=$(jq -r --arg n "$name" '.[] | select(.name==$n) | .state' "$TEST_ROOT/ps.json")
		if [ "$st" = stopped ]; then
			[ ! -e "$TEST_ROOT/run/ves/$name" ] || { echo "stale run dir: $name"; return 1; }
		else
			pid=$(jq -r --arg n "$name" '.[] | select(.name==$n) | .pid' "$TEST_ROOT/ps.json")
			[ -e "/proc/$pid" ] || { echo "dead init listed running: $name"; return 1; }
		fi
	done
	# no leftover directories of half-made or half-destroyed VEs
	for d in "$TEST_ROOT"/ves/*; do
		[ -e "$d" ] || continue
		[ -f "$d/config.json" ] || { echo "VE dir without config: $d"; return 1; }
	done
	return 0
}

# nobody holds VE $1's lock (flock -n fails while someone does)
lock_free() {
	flock -n "$TEST_ROOT/run/locks/ve.$1.lock" true
}

# monitors whose VE is gone
orphan_monitors() {
	local n=0 m
	for m in $(pgrep -f "vert-monitor .*$TEST_ROOT" || true); do
		name=$(tr '\0' ' ' < /proc/$m/cmdline | awk '{print $NF}')
		vert ps -q | grep -qx "$name" || n=$((n + 1))
	done
	echo $n
}

@test "concurrent start/stop/destroy on one VE: correct results or busy, never corruption" {
	vert create race --template mini
	for round in 1 2 3; do
		pids=()
		for cmd in start stop start "destroy" stop start restart; do
			"$VERT_BIN" --root "$TEST_ROOT" $cmd race >"$TEST_ROOT/out.$round.$cmd.$RANDOM" 2>&1 &
			pids+=($!)
		done
		for p in "${pids[@]}"; do
			rc=0; wait $p || rc=$?
			# success, or: not found 3, not running 5, running 6, busy 7
			case $rc in 0|3|5|6|7) ;; *) echo "unexpected exit $rc"; cat "$TEST_ROOT"/out.$round.*; false ;; esac
		done
		grep -h "busy" "$TEST_ROOT"/out.$round.* | head -1 || true
		check_consistent
		vert ps -aq | grep -qx race || vert create race --template mini
	done
	vert destroy --force race
	[ "$(orphan_monitors)" = 0 ]
}

@test "50 VEs created and started in parallel all come up" {
	for i in $(seq 1 50); do
		( "$VERT_BIN" --root "$TEST_ROOT" create par$i --template mini &&
		  "$VERT_BIN" --root "$TEST_ROOT" start par$i ) >"$TEST_ROOT/par$i.out" 2>&1 &
	done
	wait
	run vert ps --format name -H
	n=$(echo "$output" | grep -c '^par')
	if [ "$n" != 50 ]; then cat "$TEST_ROOT"/par*.out; fi
	[ "$n" = 50 ]
	# every one really runs its own init
	[ "$(vert ps --json | jq '[.[] | select(.name|startswith("par")) | .pid] | unique | length')" = 50 ]
	for i in $(seq 1 50); do
		"$VERT_BIN" --root "$TEST_ROOT" destroy --force par$i &
	done
	wait
	run vert ps -aq
	refute_output --partial par
	[ -z "$(ls "$TEST_ROOT/run/ves")" ]
	[ "$(orphan_monitors)" = 0 ]
}

@test "a listing of 300 VEs, read in threads, holds each VE once, in its true state" {
	# from 256 VEs on, vert ps reads the running ones in a thread per CPU
	# and reconciles the others after; taskset -c 0 gives it one thread
	seq 1 300 | sed 's/^/many/' >"$TEST_ROOT/many"
	xargs -P 4 -I{} "$VERT_BIN" --root "$TEST_ROOT" create {} --template mini \
		<"$TEST_ROOT/many" >/dev/null 2>"$TEST_ROOT/many.err" || { cat "$TEST_ROOT/many.err"; false; }
	head -200 "$TEST_ROOT/many" | xargs -P 4 -n 20 "$VERT_BIN" --root "$TEST_ROOT" start \
		>/dev/null 2>>"$TEST_ROOT/many.err" || { cat "$TEST_ROOT/many.err"; false; }
	# five die behind vert's back, supervisor and init: nobody is left
	# to clean up, so the listing must reconcile them
	pids=()
	for i in 3 50 99 150 200; do
		pids+=($(jq -r '.supervisor_pid, .pid' "$TEST_ROOT/run/ves/many$i/state.json"))
	done
	kill -9 "${pids[@]}"
	for p in "${pids[@]}"; do
		wait_for -t 10 bash -c "! [ -e /proc/$p ] || grep -q '^State:.*Z' /proc/$p/status"
	done
	[ -e "$TEST_ROOT/run/ves/many3" ]
	vert ps -a --json >"$TEST_ROOT/ps.threads"
	[ "$(jq '[.[] | select(.name|startswith("many"))] | length' "$TEST_ROOT/ps.threads")" = 300 ]
	[ "$(jq '[.[] | select(.name|startswith("many")) | .name] | unique | length' "$TEST_ROOT/ps.threads")" = 300 ]
	[ "$(jq '[.[] | select(.name|startswith("many")) | select(.state=="running") | .pid] | unique | length' "$TEST_ROOT/ps.threads")" = 195 ]
	for i in 3 50 99 150 200; do
		[ "$(jq -r --arg n many$i '.[] | select(.name==$n) | .state' "$TEST_ROOT/ps.threads")" = stopped ]
		[ ! -e "$TEST_ROOT/run/ves/many$i" ]
	done
	[ "$(jq -r '.[] | select(.name=="many201") | .state' "$TEST_ROOT/ps.threads")" = stopped ]
	check_consistent
	# the same listing from one thread
	taskset -c 0 "$VERT_BIN" --root "$TEST_ROOT" ps -a --json >"$TEST_ROOT/ps.one"
	diff <(jq -S 'map(del(.uptime, .cpu))' "$TEST_ROOT/ps.threads") \
		<(jq -S 'map(del(.uptime, .cpu))' "$TEST_ROOT/ps.one")
	[ "$(vert ps -q | grep -c '^many')" = 195 ]
	xargs -P 4 -n 20 "$VERT_BIN" --root "$TEST_ROOT" destroy --force <"$TEST_ROOT/many"
	run vert ps -aq
	refute_output --partial many
}

@test "SIGKILL of vert during create, start, stop, set and destroy: the next command reconciles" {
	for round in $(seq 1 6); do
		d="0.00$round"
		name=k$round
		"$VERT_BIN" --root "$TEST_ROOT" create $name --template mini & p=$!
		sleep $d; kill -KILL $p 2>/dev/null || true; wait $p 2>/dev/null || true
		vert ps -aq | grep -qx $name || vert create $name --template mini
		"$VERT_BIN" --root "$TEST_ROOT" start $name & p=$!
		sleep $d; kill -KILL $p 2>/dev/null || true; wait $p 2>/dev/null || true
		"$VERT_BIN" --root "$TEST_ROOT" set $name --hostname h$round & p=$!
		sleep $d; kill -KILL $p 2>/dev/null || true; wait $p 2>/dev/null || true
		"$VERT_BIN" --root "$TEST_ROOT" stop $name & p=$!
		sleep $d; kill -KILL $p 2>/dev/null || true; wait $p 2>/dev/null || true
		# what the killed commands started (a detached supervisor) settles:
		# consistent, and no process of theirs holds the VE's lock (a
		# supervisor still booting it does, and the next command would
		# be refused as busy)
		wait_for -t 5 check_consistent
		wait_for -t 10 lock_free $name
		# whatever state it is in, the VE still works
		vert stop $name 2>/dev/null || true
		run vert start $name
		assert_success
		run vert exec $name -- true
		assert_success
		"$VERT_BIN" --root "$TEST_ROOT" destroy --force $name & p=$!
		sleep $d; kill -KILL $p 2>/dev/null || true; wait $p 2>/dev/null || true
		vert ps -aq | grep -qx $name && vert destroy --force $name
		check_consistent
	done
	no_orphans() { [ "$(orphan_monitors)" = 0 ]; }
	wait_for -t 5 no_orphans || true
	[ "$(orphan_monitors)" = 0 ]
	run pgrep -f "vert-monitor .*$TEST_ROOT .*k[0-9]"
	assert_failure
}

@test "a killed supervisor takes its VE down; the next command cleans up" {
	vert create sup1 --template mini
	vert start sup1
	pid=$(vert inspect sup1 | jq -r .status.pid)
	sup=$(vert inspect sup1 | jq -r .status.supervisor_pid)
	kill -KILL $sup
	wait_for [ ! -e /proc/$pid ]
	run vert ps -a --format name,state -H
	assert_output --regexp "sup1 +stopped"
	[ ! -e "$TEST_ROOT/run/ves/sup1" ]
	run vert start sup1
	assert_success
	vert stop sup1
}

@test "a stop killed half-way does not turn the next reboot into a halt" {
	vert create half --template mini
	vert start half
	touch "$TEST_ROOT/run/ves/half/stopping"   # what a killed stop leaves
	vert ps >/dev/null                           # reconciles
	[ ! -e "$TEST_ROOT/run/ves/half/stopping" ]
	p1=$(vert inspect half | jq -r .status.pid)
	vert exec half -- reboot
	wait_rebooted half "$p1"
	vert stop half
}
