#!/usr/bin/env bats
# Failed and killed runs leave the host as it was.

load helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

# The VEs' long sleep, a number of this run's own: other vert test runs
# on the machine (another checkout's) run "sleep 1000" too.
NAP=$((1000000 + $$))

snapshot() {
	echo "mounts=$(count_mounts) state=$(count_state) procs=$(count_procs)"
}

@test "failed runs leave no mount, state dir or process" {
	before=$(snapshot)
	run vert run --rm no-such-template -- true
	assert_failure 125
	run vert run --rm -v /nonexistent:/x mini -- true
	assert_failure 125
	run -127 vert run --rm mini -- /no/such/cmd
	run vert run --rm -u nosuchuser mini -- true
	assert_failure 125
	run vert run --rm -w /etc/passwd mini -- true
	assert_failure
	[ "$(snapshot)" = "$before" ]
}

@test "commands on names that don't exist leave no lock file behind" {
	locks() { ls -A "$TEST_ROOT/run/locks" 2>/dev/null | sort; }
	before=$(locks)
	for cmd in "inspect" "stop" "start" "restart" "kill" "destroy" "logs" "stats" "top" \
		"set --hostname x" "exec"; do
		# shellcheck disable=SC2086
		run vert $cmd nosuch-ve
		assert_failure
	done
	run vert template rm nosuch-tpl
	assert_failure 3
	run vert create made-not --template nosuch-tpl
	assert_failure
	run vert run --rm nosuch-tpl -- true
	assert_failure 125
	[ "$(locks)" = "$before" ]
}

@test "a run that fails to start does not leave a half-made VE" {
	run -127 vert run --name halfmade mini -- /no/such/cmd
	[ ! -e "$TEST_ROOT/run/ves/halfmade" ]
	[ ! -e "$TEST_ROOT/ves/halfmade" ]
	# the name is free again
	run vert run --rm --name halfmade mini -- true
	assert_success
}

@test "SIGKILL of vert run: the VE dies with it and the next command cleans up" {
	before=$(snapshot)
	"$VERT_BIN" --root "$TEST_ROOT" run --rm --name killme mini -- sleep "$NAP" &
	pid=$!
	bg_track $pid
	wait_for [ -f "$TEST_ROOT/run/ves/killme/state.json" ]
	init=$(jq -r .pid "$TEST_ROOT/run/ves/killme/state.json")
	kill -KILL $pid
	wait $pid || true
	# the VE's processes die with vert (no orphaned sleep).  pgrep
	# stops matching an exiting task as soon as its mm is gone, but until
	# it has finished exiting (its mount namespace torn down) it still
	# counts as running, rightly: wait for the init to be really gone.
	init_gone() {
		! pgrep -xf "sleep $NAP" >/dev/null &&
			{ [ ! -e /proc/$init ] || grep -q ') [ZX] ' /proc/$init/stat 2>/dev/null; }
	}
	wait_for init_gone || true
	run pgrep -xf "sleep $NAP"
	assert_failure
	# mounts lived in the VE's own namespace: gone already
	[ "$(count_mounts)" = 0 ]
	# the next vert command reconciles the leftover state
	vert template ls >/dev/null
	after=$(snapshot)
	if [ "$after" != "$before" ]; then
		echo "before: $before after: $after" >&2
		cat "$TEST_ROOT/run/ves/killme/state.json" /proc/$init/stat >&2 || true
		"$VERT_BIN" --root "$TEST_ROOT" --debug ps -a >&2 || true
	fi
	[ "$after" = "$before" ]
}

@test "SIGKILL of vert at random points during startup leaks nothing" {
	before=$(snapshot)
	for delay in 0.001 0.005 0.01 0.02 0.05 0.1; do
		"$VERT_BIN" --root "$TEST_ROOT" run --rm mini -- sleep "$NAP" &
		pid=$!
		bg_track $pid
		sleep $delay  # the point of startup it is killed at
		kill -KILL $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
	done
	# the VEs die with vert, asynchronously; the next command reconciles
	sleeps_gone() { ! pgrep -xf "sleep $NAP" >/dev/null; }
	wait_for sleeps_gone || true
	settled() {
		vert template ls >/dev/null
		[ "$(snapshot)" = "$before" ]
	}
	wait_for -t 5 settled || true
	run pgrep -xf "sleep $NAP"
	assert_failure
	after=$(snapshot)
	if [ "$after" != "$before" ]; then
		echo "before: $before after: $after" >&2
		ls -laR "$TEST_ROOT/ves" "$TEST_ROOT/run/ves" >&2
	fi
	[ "$after" = "$before" ]
}

@test "a name in use by a running VE is busy, not clobbered" {
	"$VERT_BIN" --root "$TEST_ROOT" run --rm --name busy1 mini -- sh -c "$IDLE" &
	pid=$!
	bg_track $pid
	wait_for [ -f "$TEST_ROOT/run/ves/busy1/state.json" ]
	run vert run --rm --name busy1 mini -- true
	assert_failure 125
	assert_output --regexp "already exists|busy"
	[ -f "$TEST_ROOT/run/ves/busy1/state.json" ]
	wait_trap busy1 TERM
	kill -TERM $pid
	wait $pid
}
