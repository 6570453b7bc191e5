#!/usr/bin/env bats
# Denial of service: a VE whose init reboots as soon as it is up is backed
# off (the first reboots in a row are immediate, then 1s, 2s, 4s, ... up
# to a minute), says so in its console log, and can still be stopped
# while it waits.

load ../integration/helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

teardown() {
	vert destroy --force loop >/dev/null 2>&1 || true
	common_teardown
}

boots() { vert logs loop 2>/dev/null | grep -c '^booted' || true; }
logged() { vert logs loop 2>/dev/null | grep -q "$1"; }
ve_state() { vert ps -a --format name,state --no-header | awk '$1 == "loop" { print $2 }'; }

@test "a VE that reboots in a loop is backed off, and a stop ends the wait" {
	vert create loop -T mini --net none -- sh -c 'echo booted; reboot -f'
	vert start loop
	# unbounded, it boots many times a second; backed off, the 6th reboot
	# in a row waits 4s and the 7th 8s
	wait_for -t 60 logged "rebooted 7 times in a row, each within 120s of booting: next boot in 8s"
	# 3 immediate reboots + 4 waits (1 2 4 8 s): 7 boots so far, none more
	[ "$(boots)" -le 8 ]
	[ "$(boots)" -ge 7 ]
	[ "$(ve_state)" = rebooting ]
	# a stop during the 8s wait: the VE stays down, at once
	run timeout 6 "$VERT_BIN" --root "$TEST_ROOT" stop -t 1 loop
	assert_success
	[ "$(ve_state)" = stopped ]
	n=$(boots)
	[ "$n" -le 8 ]
	# a new start is a new count: it boots again at once
	vert start loop
	wait_for -t 20 eval '[ "$(boots)" -gt '"$n"' ]'
	vert stop -t 1 loop
}
