#!/usr/bin/env bats
# Rootless vert and cgroups: with the subtree a session has delegated
# (like systemd's user@.service), and without one.
# Run with: tests/vm/run tests/vm/cgroup-rootless.bats

load cgroup-helpers

# vertci from its delegated cgroup (tests/vm/rootless moves it there)
rl() {
	tests/vm/rootless "$VERT" --root /home/vertci/cgr "$@"
}

# vertci from this test's own cgroup, which root owns: nothing delegated
nodeleg() {
	setpriv --reuid=1500 --regid=1500 --init-groups -- \
		env HOME=/home/vertci USER=vertci XDG_RUNTIME_DIR=/run/user/1500 \
		"$VERT" --root /home/vertci/nocg "$@"
}

setup_file() {
	vm_only
	rl template create mini --from busybox >/dev/null
	nodeleg template create mini --from busybox >/dev/null
}

teardown_file() {
	[ "${VERT_IN_VM:-}" = 1 ] || return 0
	local n
	for n in $(rl ps -aq 2>/dev/null); do rl destroy --force "$n" >/dev/null 2>&1 || true; done
	rm -rf /home/vertci/cgr /home/vertci/nocg
}

setup() { vm_only; }

@test "rootless with a delegated cgroup: limits apply under the user's subtree" {
	rl create rl1 -T mini --memory 64M --pids 32 -- sleep 100000
	rl start rl1
	local cg
	cg=$(rl inspect rl1 | jq -r .status.cgroup)
	[[ $cg == "$VERT_VM_USER_CGROUP/vert/rl1@"* ]]
	[ "$(stat -c %U "$cg")" = vertci ]
	[ "$(cat "$cg/memory.max")" = 67108864 ]
	[ "$(cat "$cg/pids.max")" = 32 ]
	[ "$(cat "$cg/cgroup.procs")" = "$(rl inspect rl1 | jq .status.pid)" ]
	# the delegated cgroup itself is left as it was
	[ "$(stat -c %U "$VERT_VM_USER_CGROUP/cgroup.subtree_control")" = vertci ]
	# inside: its own cgroup namespace, writable by its root
	[ "$(rl exec rl1 cat /proc/self/cgroup)" = "0::/" ]
	rl exec rl1 sh -c 'mkdir /sys/fs/cgroup/sub && rmdir /sys/fs/cgroup/sub'
	# it sees its limits, and can't raise them: nsdelegate refuses writes
	# to its namespace root's limit files from inside
	[ "$(rl exec rl1 cat /sys/fs/cgroup/memory.max)" = 67108864 ]
	run rl exec rl1 sh -c 'echo max >/sys/fs/cgroup/memory.max'
	[ "$status" -ne 0 ]
	[ "$(cat "$cg/memory.max")" = 67108864 ]
	# the limit holds
	run rl exec rl1 dd if=/dev/zero of=/dev/null bs=128M count=1
	[ "$status" -eq 137 ]
	[ "$(rl stats --no-stream --json -i 0.2 rl1 | jq '.[0].oom_kills')" -ge 1 ]
	rl set rl1 --memory 32M
	[ "$(cat "$cg/memory.max")" = 33554432 ]
	rl stop -t 1 rl1
	[ ! -e "$cg" ]
}

@test "rootless without a delegated cgroup: limits refused with the fix, else one notice" {
	run nodeleg run --rm --memory 64M mini -- true
	[ "$status" -eq 125 ]
	[[ $output == *"no cgroup v2 subtree is delegated to uid 1500"* ]]
	[[ $output == *"Delegate=yes"* ]]
	run nodeleg create lim -T mini --pids 10
	[ "$status" -eq 2 ]
	[[ $output == *"delegated"* ]]
	run nodeleg ps -aq
	[[ $output != *lim* ]]

	run nodeleg run --rm mini -- echo ran
	[ "$status" -eq 0 ]
	[[ $output == *"running without a cgroup"* ]]
	[[ $output == *ran* ]]
	run nodeleg run --rm mini -- echo ran
	[ "$status" -eq 0 ]
	[ "$output" = ran ]
}
