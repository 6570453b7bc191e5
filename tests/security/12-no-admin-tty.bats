#!/usr/bin/env bats
# exec/run without -t never hand the VE the admin's terminal (issue 10,
# item 5): vert relays the caller's terminal through pipes, as lxc-attach
# does, so nothing in the VE can read it, type into it (TIOCSTI) or keep
# it once vert is gone.

load ../integration/helpers.bash

setup_file() {
	common_setup_file
	vert create tty1 --template mini --net none -v "$PROBE:/probe:ro" -- sh -c "$IDLE"
	vert start tty1
}
teardown_file() { common_teardown_file; }

# on_pty COMMAND-LINE: run it with a terminal as stdin, stdout and stderr
on_pty() {
	command -v script >/dev/null || skip "no script(1) for a terminal"
	script -qec "$*" /dev/null </dev/null
}

V() { printf '%q --root %q' "$VERT_BIN" "$TEST_ROOT"; }

@test "exec without -t: the VE's stdio are pipes, and its output arrives" {
	run on_pty "$(V) exec tty1 -- sh -c 'if test -t 0 || test -t 1 || test -t 2; then echo is-a-tty; else echo not-a-tty; fi; readlink /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2; echo to-stderr >&2'"
	assert_success
	assert_output --partial "not-a-tty"
	refute_output --partial "is-a-tty"
	refute_output --partial "/dev/pts"
	assert_output --partial "to-stderr"
}

@test "run without -t: the VE's stdio are pipes; stdin still reaches it" {
	run bash -c "printf 'line-in\n' | script -qec \"$(V) run --rm --net none mini -- sh -c 'test -t 0 || test -t 1 || echo not-a-tty; read x; echo got=\\\$x'\" /dev/null"
	assert_success
	assert_output --partial "not-a-tty"
	assert_output --partial "got=line-in"
}

@test "without -t a VE process can't push input into the admin's terminal" {
	run on_pty "$(V) exec tty1 -- /probe tiocsti"
	assert_success
	assert_output --partial "fd0="
	refute_output --partial "=allowed"
	refute_output --partial "fd0=EPERM"   # not a tty at all, not merely refused
	assert_output --partial "fd0=notty"
}

@test "a VE process left behind holds no fd of the admin's terminal" {
	# a daemon the exec leaves running keeps its stdio (the VE's own
	# console, /dev/pts of its own devpts, is not what this is about)
	run on_pty "$(V) exec tty1 -- sh -c 'exec 3<&0; sleep 300 <&3 3<&- & echo started'"
	assert_output --partial "started"
	run vert exec tty1 -- sh -c 'for p in /proc/[0-9]*; do
		[ "$(tr "\0" " " <$p/cmdline 2>/dev/null)" = "sleep 300 " ] || continue
		for f in 0 1 2; do readlink $p/fd/$f; done; done'
	refute_output --partial "/dev/pts"
	refute_output --partial "/dev/tty"
	assert_output --partial "pipe:"
}
