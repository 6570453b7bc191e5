#!/usr/bin/env bats
# Denial of service through cgroups: a VE can't make an unbounded number of
# cgroups, nor an unboundedly deep tree of them (each costs kernel memory
# no limit of the VE pays for).  The limits sit on the VE's cgroup
# namespace root (or, for a VE that could unmount its read-only limit
# files, one level above it, on NAME with NAME/payload as its root), out of
# its reach either way.

load ../integration/helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

teardown() {
	vert destroy --force cgtree >/dev/null 2>&1 || true
	common_teardown
}

# cgroup2 mounted read-write in the VE: only with a cgroup v2 VE cgroup
start_cgtree() {
	vert create cgtree -T mini --net none -- sh -c "$IDLE"
	vert start cgtree
	CG=$(vert inspect cgtree | jq -r '.status.cgroup // empty')
	[ -n "$CG" ] || skip "the VE has no cgroup here (no cgroup v2 with controllers: see tests/vm)"
	# levels and cgroups the VE itself may make: all of them on its own
	# namespace root, one fewer below a payload level
	NESTED=0
	if [ -d "$CG/payload" ]; then NESTED=1; fi
}

@test "a VE's cgroup tree stops at 32 levels, and the VE can't lift the limit" {
	start_cgtree
	[ "$(cat "$CG/cgroup.max.depth")" = 32 ]
	# 32 levels below the limits' cgroup (a payload level is the first)
	run vert exec cgtree sh -c 'cd /sys/fs/cgroup; i=0; while mkdir d 2>/dev/null && cd d; do i=$((i+1)); [ $i -lt 100 ] || break; done; echo $i'
	assert_output $((32 - NESTED))
	run vert exec cgtree sh -c 'echo max >/sys/fs/cgroup/cgroup.max.depth; cat /sys/fs/cgroup/cgroup.max.depth'
	[ "$(cat "$CG/cgroup.max.depth")" = 32 ]
	# removed again: the VE stops cleanly
	vert stop -t 1 cgtree
	[ ! -e "$CG" ]
}

@test "a VE can make at most 1024 cgroups" {
	start_cgtree
	[ "$(cat "$CG/cgroup.max.descendants")" = 1024 ]
	run vert exec cgtree sh -c 'cd /sys/fs/cgroup; i=0; while mkdir c$i 2>/dev/null; do i=$((i+1)); [ $i -lt 2000 ] || break; done; echo $i'
	assert_output $((1024 - NESTED))
	vert stop -t 1 cgtree
	[ ! -e "$CG" ]
}
