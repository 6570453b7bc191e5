#!/usr/bin/env bats
# A host without usable cgroup v2 (this development machine: cgroup v1
# controllers, cgroup2 on /sys/fs/cgroup/unified with only hugetlb): VEs
# run without a cgroup and vert says so once; limits are refused with the
# boot parameter that fixes it; vert touches no cgroup.  The cgroup v2
# side is tested in the VM (tests/vm/cgroup-*.bats).

load helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

setup() {
	[ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ] ||
		skip "this host has cgroup v2 at /sys/fs/cgroup: see tests/vm/cgroup-*.bats"
	common_setup
}

# every cgroup named vert* anywhere in the host's hierarchies
host_vert_cgroups() {
	find /sys/fs/cgroup -maxdepth 3 -name 'vert*' -type d 2>/dev/null | sort
}

@test "without limits a VE runs without a cgroup, and vert says so once" {
	local r2
	r2=$(mktemp -d "${VERT_TEST_TMP:-/tmp}/vert-test.XXXXXX")
	on_teardown "'$VERT_BIN' --root '$r2' template rm mini; rm -rf '$r2'"
	chmod 755 "$r2"
	# this file's own network, never the host's real vert0 (a bridge of
	# its own: a bridge serves one state root)
	net_conf_second "$r2"
	"$VERT_BIN" --root "$r2" template create mini --from busybox >/dev/null
	run "$VERT_BIN" --root "$r2" run --rm mini -- echo ran
	assert_success
	assert_output --partial "running without a cgroup"
	assert_output --partial "systemd.unified_cgroup_hierarchy=1"
	assert_line ran
	run "$VERT_BIN" --root "$r2" run --rm mini -- echo ran
	assert_success
	refute_output --partial "cgroup"
	"$VERT_BIN" --root "$r2" template rm mini >/dev/null 2>&1 || true
	rm -rf "$r2" 2>/dev/null || true
}

@test "run with limits is refused (125) naming the boot parameter; nothing is left" {
	local before flag
	before=$(host_vert_cgroups)
	for flag in "--memory 64M" "--cpus 0.5" "--pids 10" "--cpu-weight 50" "--io-weight 100"; do
		# shellcheck disable=SC2086
		run vert run --rm --name limited $flag mini -- echo ran
		assert_failure 125
		assert_output --partial "resource limits need a cgroup v2"
		assert_output --partial "systemd.unified_cgroup_hierarchy=1"
		refute_output --partial ran
	done
	[ ! -e "$TEST_ROOT/ves/limited" ]
	[ "$(host_vert_cgroups)" = "$before" ]
}

@test "create with limits is refused (2); no VE is made" {
	run vert create capped -T mini --memory 64M
	assert_failure 2
	assert_output --partial "systemd.unified_cgroup_hierarchy=1"
	run vert ps -aq
	refute_output --partial capped
}

@test "set with limits is refused (2), stopped or running; other settings still apply" {
	vert create plain -T mini -- sleep 1000
	run vert set plain --memory 64M
	assert_failure 2
	assert_output --partial "systemd.unified_cgroup_hierarchy=1"
	vert start plain
	run vert set plain --pids 10
	assert_failure 2
	assert_output --partial "systemd.unified_cgroup_hierarchy=1"
	run vert set plain --hostname renamed
	assert_success
	[ "$(vert exec plain hostname)" = renamed ]
	[ "$(vert inspect plain | jq .config.resources)" = "{}" ]
	vert stop -t 1 plain
	vert destroy plain
}

@test "ps, stats and inspect work without a cgroup, counters unknown" {
	vert create counted -T mini -- sleep 1000
	vert start counted
	run vert stats --no-stream -i 0.2 counted
	assert_success
	assert_line --index 0 --partial "NAME"
	assert_line --index 1 --regexp '^counted +- +- / -'
	run vert stats --no-stream --json -i 0.2 counted
	assert_success
	[ "$(jq -r '.[0].state, .[0].memory_current, .[0].cgroup' <<<"$output")" = "running
null
null" ]
	[ "$(vert inspect counted | jq '.status.cgroup, .stats.pids_current')" = "null
null" ]
	run vert ps
	assert_line --regexp '^counted +running'
	run vert stats --no-stream -i 0.2 nosuchve
	assert_failure 3
	vert stop -t 1 counted
	vert destroy counted
}

@test "vert touches no cgroup: none made, none moved into" {
	local before self
	before=$(host_vert_cgroups)
	self=$(cat /proc/self/cgroup)
	run vert run --rm mini -- cat /proc/self/cgroup
	assert_success
	[ "$(host_vert_cgroups)" = "$before" ]
	[ "$(cat /proc/self/cgroup)" = "$self" ]
	# and nothing is mounted for the VE at /sys/fs/cgroup (as root its
	# /sys is a new sysfs; rootless runs may fall back to a bind of the
	# host's /sys, see src/fs/rootfs.c)
	if is_root_mode; then
		run vert run --rm mini -- sh -c 'ls /sys/fs/cgroup | wc -l'
		assert_success
		assert_output 0
	fi
}

@test "no /proc views here: vert says why once, starts no lxcfs, the VE sees the host" {
	local r2 lx_before
	r2=$(mktemp -d "${VERT_TEST_TMP:-/tmp}/vert-test.XXXXXX")
	on_teardown "'$VERT_BIN' --root '$r2' template rm mini; rm -rf '$r2'"
	chmod 755 "$r2"
	net_conf_second "$r2"
	lx_before=$(pgrep -xc lxcfs || true)
	"$VERT_BIN" --root "$r2" template create mini --from busybox >/dev/null
	run "$VERT_BIN" --root "$r2" run --rm mini -- awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo
	assert_success
	assert_output --partial "VEs see the host's /proc/meminfo"
	assert_output --partial "hybrid"
	assert_line "$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)"
	run "$VERT_BIN" --root "$r2" run --rm mini -- cat /proc/uptime
	assert_success
	refute_output --partial "/proc/meminfo"
	[ "$(pgrep -xc lxcfs || true)" = "$lx_before" ]
	[ ! -e "$r2/run/lxcfs/mnt" ]
	"$VERT_BIN" --root "$r2" template rm mini >/dev/null 2>&1 || true
	rm -rf "$r2" 2>/dev/null || true
}
