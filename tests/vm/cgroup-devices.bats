#!/usr/bin/env bats
# cgroup v2 device filter: a VE of the host's user namespace (--userns
# host) may make device nodes but only use the standard ones (null, zero,
# full, random, urandom, tty, console, ptmx, pts).  A VE of its own user
# namespace (the default) can't make any.  Runs in the VM (pure cgroup v2).

load cgroup-helpers

setup_file() { vm_setup_file; }
teardown_file() { vm_teardown_file; }

@test "a root VE can make a node for host memory but not read it" {
	# the host (the VM's root) can read it: the filter is what stops the VE
	head -c 16 /dev/mem >/dev/null
	# on the VE's /dev (its rootfs is nodev: there the node is dead anyway)
	run vert run --rm --net none --userns host mini -- sh -c "
		mknod /dev/mem2 c 1 1 && echo made
		head -c 16 /dev/mem2 >/dev/null 2>/tmp/err || cat /tmp/err
		echo x > /dev/null && echo null-ok
		head -c 4 /dev/urandom | wc -c"
	[[ $output == *made* ]]
	[[ $output == *"Operation not permitted"* ]]
	[[ $output == *null-ok* ]]
	[[ $output == *4* ]]
}

@test "a VE of its own user namespace can't make a device node at all" {
	run vert run --rm --net none mini -- sh -c "
		mknod /tmp/mem c 1 1 && echo made
		echo x > /dev/null && echo null-ok"
	[[ $output != *made* ]]
	[[ $output == *null-ok* ]]
}

@test "a root VE can't read a host block device, even after mknod" {
	modprobe loop 2>/dev/null || modprobe -d /run/vert-vm/kernel loop 2>/dev/null || true
	img=$(mktemp /tmp/disk.XXXXXX)
	printf 'SECRETDATA' > "$img"
	truncate -s 1M "$img"
	loop=$(losetup -f --show "$img" 2>/dev/null) || skip "no loop device in the guest"
	maj=$((0x$(stat -c %t "$loop")))
	min=$((0x$(stat -c %T "$loop")))
	run vert run --rm --net none --userns host mini -- sh -c "
		mknod /dev/disk2 b $maj $min && echo made
		head -c 10 /dev/disk2 2>&1"
	losetup -d "$loop"
	rm -f "$img"
	[[ $output == *made* ]]
	[[ $output != *SECRETDATA* ]]
	[[ $output == *"Operation not permitted"* ]]
}
