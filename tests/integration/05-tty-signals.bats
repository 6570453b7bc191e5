#!/usr/bin/env bats
# Terminals and signals.

load helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

# Run a command line on a fresh pty of the given size (util-linux script).
on_pty() {
	local rows=$1 cols=$2
	shift 2
	script -qec "stty rows $rows cols $cols; $*" /dev/null
}

@test "-t gives a real pty with the caller's window size" {
	run on_pty 33 101 "'$VERT_BIN' --root '$TEST_ROOT' run --rm -t mini -- sh -c 'tty; stty size; [ -t 0 ] && echo stdin-tty'"
	assert_success
	assert_output --partial "/dev/pts/0"
	assert_output --partial "33 101"
	assert_output --partial "stdin-tty"
}

@test "-t: /dev/console is the VE's terminal" {
	run on_pty 24 80 "'$VERT_BIN' --root '$TEST_ROOT' run --rm -t mini -- sh -c 'ls -l /dev/console; echo hi > /dev/console'"
	assert_success
	assert_output --partial "136,"
	assert_output --partial "hi"
}

@test "-t: an interactive shell reads commands and its exit status comes back" {
	run bash -c "printf 'echo from-shell\nexit 3\n' | script -qec \"'$VERT_BIN' --root '$TEST_ROOT' run --rm -t mini\" /dev/null"
	assert_output --partial "from-shell"
	assert_failure 3
}

@test "without -t there is no terminal" {
	run vert run --rm mini -- sh -c '[ -t 0 ] || echo no-tty; tty'
	assert_output --partial "no-tty"
}

@test "SIGTERM to vert run reaches the command (default action: 143)" {
	"$VERT_BIN" --root "$TEST_ROOT" run --rm --name sigterm mini -- sleep 1000 &
	pid=$!
	bg_track $pid
	wait_for [ -f "$TEST_ROOT/run/ves/sigterm/state.json" ]
	kill -TERM $pid
	rc=0; wait $pid || rc=$?
	[ "$rc" = 143 ]
}

@test "a command's own signal handler runs and chooses the exit status" {
	"$VERT_BIN" --root "$TEST_ROOT" run --rm --name sigtrap mini -- sh -c 'trap "echo trapped; exit 9" TERM INT; while :; do sleep 0.1; done' > "$TEST_ROOT/trap.out" &
	pid=$!
	bg_track $pid
	wait_for [ -f "$TEST_ROOT/run/ves/sigtrap/state.json" ]
	wait_trap sigtrap INT
	kill -INT $pid
	rc=0; wait $pid || rc=$?
	[ "$rc" = 9 ]
	grep -q trapped "$TEST_ROOT/trap.out"
}

@test "SIGUSR1 and SIGHUP are forwarded too" {
	"$VERT_BIN" --root "$TEST_ROOT" run --rm --name sigusr mini -- sh -c 'trap "echo usr1" USR1; trap "echo hup; exit 4" HUP; while :; do sleep 0.1; done' > "$TEST_ROOT/usr.out" &
	pid=$!
	bg_track $pid
	wait_for [ -f "$TEST_ROOT/run/ves/sigusr/state.json" ]
	wait_trap sigusr USR1
	wait_trap sigusr HUP
	kill -USR1 $pid
	wait_for grep -q usr1 "$TEST_ROOT/usr.out"
	kill -HUP $pid
	rc=0; wait $pid || rc=$?
	[ "$rc" = 4 ]
	grep -q usr1 "$TEST_ROOT/usr.out"
}
