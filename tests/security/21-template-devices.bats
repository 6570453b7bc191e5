#!/usr/bin/env bats
# Templates never give a VE a device: device nodes in an imported tree are
# dropped at import (with one notice), and a node that reaches a template
# another way (a template made before imports dropped them) opens nothing:
# the VE's root filesystem is mounted nodev.

load ../integration/helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

teardown() {
	vert template rm devdir devtar >/dev/null 2>&1 || true
	rm -rf "$TEST_ROOT/devsrc" "$TEST_ROOT/devsrc.tar"
	common_teardown
}

# a copy of the mini template with a /dev-like tree under /opt: the host's
# /dev/zero (1,5: a device every VE may open in its own /dev), a block
# device, a FIFO
make_src() {
	mkdir "$TEST_ROOT/devsrc"
	cp -a "$TEST_ROOT/templates/mini/rootfs/." "$TEST_ROOT/devsrc/"
	mkdir -p "$TEST_ROOT/devsrc/opt/dev"
	mknod "$TEST_ROOT/devsrc/opt/dev/zero" c 1 5
	mknod "$TEST_ROOT/devsrc/opt/dev/loop0" b 7 0
	mknod "$TEST_ROOT/devsrc/dev/null" c 1 3
	mkfifo "$TEST_ROOT/devsrc/opt/fifo"
}

@test "device nodes in an imported directory or tarball are dropped, with one notice" {
	is_root_mode || skip "making device nodes on the host needs root (mode: $VERT_TEST_MODE)"
	make_src
	run vert template import devdir "$TEST_ROOT/devsrc"
	assert_success
	assert_output --partial "template 'devdir': dropped 3 device nodes (e.g. '/"
	[ "$(grep -c 'dropped' <<<"$output")" = 1 ]
	run find "$TEST_ROOT/templates/devdir/rootfs" -type b -o -type c
	assert_output ""
	[ -p "$TEST_ROOT/templates/devdir/rootfs/opt/fifo" ] # a FIFO is no device: kept
	tar -C "$TEST_ROOT/devsrc" -cf "$TEST_ROOT/devsrc.tar" .
	run vert template import devtar "$TEST_ROOT/devsrc.tar"
	assert_success
	assert_output --partial "template 'devtar': dropped"
	run find "$TEST_ROOT/templates/devtar/rootfs" -type b -o -type c
	assert_output ""
	run vert run --rm --net none devtar -- sh -c 'ls /opt/dev; head -c 1 /opt/dev/zero'
	assert_failure
}

@test "a device node already in a template opens nothing inside the VE" {
	is_root_mode || skip "making device nodes on the host needs root (mode: $VERT_TEST_MODE)"
	make_src
	vert template import devdir "$TEST_ROOT/devsrc" 2>/dev/null
	# as a template made before imports dropped them would have it
	rm -f "$TEST_ROOT/templates/devdir/rootfs/opt/dev/zero"
	mknod "$TEST_ROOT/templates/devdir/rootfs/opt/dev/zero" c 1 5
	run vert run --rm --net none devdir -- sh -c 'head -c 4 /opt/dev/zero | od -An -c'
	refute_output --partial '\0'
	assert_output --partial "Permission denied"
	# the VE's own /dev still works
	run vert run --rm --net none devdir -- sh -c 'head -c 2 /dev/zero | od -An -c; echo x >/dev/null'
	assert_success
	assert_output --partial '\0'
}
