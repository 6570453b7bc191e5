#!/usr/bin/env bats
# logs, top and ps escape control bytes that come from a VE (issue 10,
# item 5): a VE's console output or process names must not drive the
# admin's terminal.

load ../integration/helpers.bash

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

ESC=$'\033'

@test "logs escapes ESC, BEL, CR, DEL and C1 from the VE; --raw gives the bytes" {
	vert create cb1 --template mini --net none -- sh -c \
		'printf "a\033]0;pwned\007b\tc\rd\177e\302\233f\nline2 caf\303\251\n"; exec sleep 1000'
	vert start cb1
	wait_for -t 10 sh -c "'$VERT_BIN' --root '$TEST_ROOT' logs cb1 | grep -q line2"
	run vert logs cb1
	assert_success
	[[ "$output" != *"$ESC"* ]]
	[[ "$output" != *$'\r'* ]]
	[[ "$output" != *$'\177'* ]]
	[[ "$output" != *$'\302\233'* ]]
	assert_output --partial 'a\x1b]0;pwned\x07b'$'\t''c\x0dd\x7fe\u009bf'
	assert_output --partial $'line2 caf\303\251'
	run vert logs --raw cb1
	[[ "$output" == *"$ESC]0;pwned"* ]]
	vert destroy --force cb1
}

@test "top escapes a process name of the VE's making; --json stays valid JSON" {
	vert create cb2 --template mini --net none -- sh -c "$IDLE"
	vert start cb2
	# a process whose argv carries an escape sequence and a byte that is
	# not UTF-8
	vert exec cb2 -- sh -c "sh -c 'sleep 1000; :' \"\$(printf 'evil\\033[2J\\377')\" >/dev/null 2>&1 &"
	# the inner shell, whose argv has the bytes (not the outer ones, whose
	# command line only spells the printf that makes them)
	wait_for sh -c "'$VERT_BIN' --root '$TEST_ROOT' top cb2 | grep -qF 'evil\\x1b[2J\\xff'"
	run vert top cb2
	assert_success
	[[ "$output" != *"$ESC"* ]]
	assert_output --partial 'evil\x1b[2J\xff'
	run vert top cb2 --json
	assert_success
	[[ "$output" != *"$ESC"* ]]
	echo "$output" | python3 -c 'import json, sys; d = json.load(sys.stdin); assert any("evil\x1b[2J" in p["cmd"] for p in d), d'
	vert destroy --force cb2
}
