#!/usr/bin/env bats
# Nesting only when asked (issue 10, item 4): without --nesting a VE can't
# make user namespaces or use the new mount API; with it, it can.

load ../integration/helpers.bash

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

probe() {
	vert run --rm --net none -v "$PROBE:/probe:ro" "$@"
}

@test "by default a VE can't create user namespaces or use the new mount API" {
	run probe mini -- /probe nesting
	assert_success
	for s in clone_newuser unshare_newuser setns_user fsopen fspick fsconfig fsmount \
	         open_tree move_mount mount_setattr; do
		assert_line "$s=EPERM"
	done
	# glibc falls back from clone3 to clone, whose flags seccomp sees
	assert_line "clone3=ENOSYS"
	assert_line "clone_plain=allowed"
	# what a tenant would type
	run vert run --rm --net none mini -- sh -c 'unshare -U true 2>&1; echo rc=$?'
	assert_line "rc=1"
	run vert run --rm --net none mini -- sh -c 'echo ok | cat; (sleep 0 &) ; wait; echo forked'
	assert_line "ok"
	assert_line "forked"
}

@test "--nesting lifts the refusal" {
	run probe --nesting mini -- /probe nesting
	assert_success
	assert_line "clone_newuser=allowed"
	assert_line "unshare_newuser=allowed"
	assert_line "clone3=allowed"
	# our own user namespace: EINVAL from the kernel, not EPERM from seccomp
	assert_line "setns_user=EINVAL"
	assert_line "open_tree=allowed"
	refute_line "fsconfig=EPERM"
	refute_line "mount_setattr=EPERM"
	run vert run --rm --net none --nesting mini -- unshare -U sh -c 'echo in-userns'
	assert_success
	assert_output --partial "in-userns"
}

@test "nesting is persisted by create and set, and shown by inspect" {
	vert create nest1 --template mini --net none -- sh -c "$IDLE"
	run vert inspect nest1
	assert_output --regexp '"nesting": ?false'
	vert set nest1 --nesting
	run vert inspect nest1
	assert_output --regexp '"nesting": ?true'
	vert start nest1
	run vert exec nest1 -- unshare -U true
	assert_success
	vert stop -t 2 nest1
	vert set nest1 --no-nesting
	run vert inspect nest1
	assert_output --regexp '"nesting": ?false'
	vert start nest1
	run vert exec nest1 -- unshare -U true
	assert_failure
	vert destroy --force nest1
}

@test "TIOCSTI and TIOCLINUX fail with EPERM in every VE" {
	command -v script >/dev/null || skip "no script(1) to give the VE a terminal"
	# -t: the VE's own pty; TIOCSTI into it would type into its session
	run script -qec "$VERT_BIN --root $TEST_ROOT run --rm -t --net none -v $PROBE:/probe:ro mini -- /probe tiocsti" /dev/null </dev/null
	assert_success
	assert_output --partial "fd0=EPERM"
	assert_output --partial "devtty=EPERM"
	assert_output --partial "fd0_linux=EPERM"
	refute_output --partial "=allowed"
	run script -qec "$VERT_BIN --root $TEST_ROOT run --rm -t --nesting --net none -v $PROBE:/probe:ro mini -- /probe tiocsti" /dev/null </dev/null
	assert_output --partial "fd0=EPERM"
	refute_output --partial "=allowed"
}
