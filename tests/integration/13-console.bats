#!/usr/bin/env bats
# The VE's console belongs to its init (and to vert logs); sessions that
# exec or enter get terminals of their own, start where a login starts,
# and end when their input ends or vert is told to stop.

load helpers

setup_file() {
	common_setup_file
	vert create con1 --template mini --net none -- sh -c 'exec sleep 86400'
	vert start con1
}
teardown_file() { common_teardown_file; }

# Processes a test started in the background: killed whatever happened;
# then what every test's teardown does.
teardown() {
	local p
	for p in $(cat "$BATS_TEST_TMPDIR"/bg.pids 2>/dev/null); do
		kill -KILL -- "-$p" 2>/dev/null || true
	done
	common_teardown
}

# A command line on a fresh pty whose input never ends (util-linux
# script; `sleep` keeps its stdin open), in the background, in a process
# group of its own that teardown kills.
on_pty_bg() {
	local out=$1
	shift
	setsid bash -c 'sleep 86400 | script -qec "$1" /dev/null' _ "$*" >"$out" 2>&1 &
	echo $! >>"$BATS_TEST_TMPDIR/bg.pids"
}

# wait_until TRIES CMD...: retry CMD every 0.1 s, at most TRIES times.
wait_until() {
	local n=$1 i
	shift
	for i in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

console_id() { vert exec con1 -- stat -L -c '%t:%T links=%h' /dev/console; }
log_has() { vert logs con1 2>/dev/null | grep -q -- "$1"; }
gone() { ! kill -0 "$1" 2>/dev/null; }

@test "exec -t and enter leave the VE's console to its init" {
	before=$(console_id)
	run script -qec "'$VERT_BIN' --root '$TEST_ROOT' exec -t con1 -- tty" /dev/null
	assert_success
	assert_output --partial "/dev/pts/"
	run bash -c "printf 'exit 0\n' | script -qec \"'$VERT_BIN' --root '$TEST_ROOT' enter con1\" /dev/null"
	assert_success
	# the same device, still linked, and writable: what the init writes
	# there still reaches the log
	[ "$(console_id)" = "$before" ]
	[[ "$before" == *"links=1" ]]
	run vert exec con1 -- sh -c 'echo console-still-works > /dev/console'
	assert_success
	wait_until 50 log_has console-still-works
}

@test "enter starts the login shell in root's home with the caller's TERM" {
	run bash -c "printf 'echo \"T=\$TERM P=\$PWD\"; exit\n' | TERM=vt220 script -qec \"'$VERT_BIN' --root '$TEST_ROOT' enter con1\" /dev/null"
	assert_success
	assert_output --partial "T=vt220 P=/root"
	# exec -t passes the caller's TERM on too
	run env TERM=vt100 script -qec "'$VERT_BIN' --root '$TEST_ROOT' exec -t con1 -- sh -c 'echo T=\$TERM'" /dev/null
	assert_output --partial "T=vt100"
}

@test "enter without a terminal: the shell reads the input and ends at its end" {
	run timeout -k 10 30 "$VERT_BIN" --root "$TEST_ROOT" enter con1 </dev/null
	assert_success
	run bash -c "echo 'echo from-pipe \$PWD; exit 4' | timeout -k 10 30 '$VERT_BIN' --root '$TEST_ROOT' enter con1"
	assert_failure 4
	assert_output --partial "from-pipe /root"
}

@test "SIGTERM to vert ends an exec -t session whose shell ignores it" {
	on_pty_bg "$BATS_TEST_TMPDIR/sess.out" \
		"'$VERT_BIN' --root '$TEST_ROOT' exec -t con1 -- sh -c 'trap \"\" TERM; echo ready; while :; do sleep 1; done'"
	wait_until 100 grep -q ready "$BATS_TEST_TMPDIR/sess.out"
	pid=$(pgrep -f -- "--root $TEST_ROOT exec -t con1")
	[ -n "$pid" ]
	kill -TERM "$pid"
	wait_until 100 gone "$pid"
	# and nothing of the session is left inside
	run vert exec con1 -- ps -o args
	assert_success
	refute_output --partial "trap"
}
