#!/usr/bin/env bats
# --net none / host, and rootless networking (pasta, slirp4netns, or none
# with the reason said once), in every mode.

load helpers
load net-helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

# Can this user's VEs have pasta/slirp4netns networking here?
rootless_net_blocker() {
	if ! command -v pasta >/dev/null && ! command -v slirp4netns >/dev/null; then
		echo "neither pasta nor slirp4netns is installed"
	elif ! (exec 3<>/dev/net/tun) 2>/dev/null; then
		echo "this user cannot open /dev/net/tun ($(stat -c %a /dev/net/tun 2>/dev/null))"
	fi
}

@test "--net none: loopback only" {
	run vert run --rm --net none mini -- sh -c 'ls /sys/class/net; ip -4 -o addr'
	assert_success
	assert_output --partial "lo"
	refute_output --partial "eth0"
	refute_output --regexp "inet (10|192)\."
}

@test "--net host shares the host's interfaces" {
	hostifs=$(ls /sys/class/net | sort | tr '\n' ' ')
	run vert run --rm --net host mini -- sh -c 'ls /sys/class/net | sort | tr "\n" " "'
	assert_success
	assert_output "$hostifs"
}

@test "--net bridge and routed need real root" {
	is_root_mode && skip "real root has them"
	run vert run --rm --net bridge mini -- true
	assert_failure 125
	assert_output --partial "needs root"
	run vert run --rm --net routed --ip 10.1.2.3 mini -- true
	assert_failure 125
}

@test "pasta and slirp4netns are for rootless VEs" {
	is_root_mode || skip "rootless mode has them"
	run vert run --rm --net pasta mini -- true
	assert_failure 125
	assert_output --partial "for rootless VEs"
}

@test "rootless default: pasta or slirp4netns when usable, else none with the reason said once" {
	is_root_mode && skip "the root default is bridge (10-net-bridge.bats)"
	why=$(rootless_net_blocker)
	if [ -n "$why" ]; then
		# common_setup_file's first VE said it; the marker remembers
		[ -e "$TEST_ROOT/run/.notice-net-none" ]
		run vert run --rm mini -- sh -c 'ls /sys/class/net'
		assert_success
		assert_output "lo"
		refute_output --partial "warning"
		# an explicit request fails with the reason instead
		run vert run --rm --net pasta mini -- true
		assert_failure 125
		skip "rootless networking unavailable here: $why (checked: falls back to none)"
	fi
	run vert run --rm mini -- sh -c 'ip -4 -o addr | grep -v " lo "'
	assert_success
	assert_output --regexp "inet [0-9.]+/"
}

@test "rootless: a published port through pasta/slirp4netns" {
	is_root_mode && skip "rootless only"
	why=$(rootless_net_blocker)
	[ -n "$why" ] && skip "rootless networking unavailable here: $why"
	port=$(test_port 7)
	ve_bg rpub -p "$port:80" mini -- sh -c 'nc -l -p 80 -e echo via-userspace; sleep 2'
	# the server in the VE, and pasta's or slirp4netns's end on the host
	wait_port rpub 80
	wait_host_port "$port"
	run host_nc 127.0.0.1 "$port"
	assert_output "via-userspace"
	ve_kill rpub
	# the helper goes with the VE (pasta notices within moments)
	helper_gone() { ! pgrep -f "(pasta|slirp4netns).*$port" >/dev/null; }
	wait_for -t 2 helper_gone || true
	run pgrep -f "(pasta|slirp4netns).*$port"
	assert_failure
}

@test "rootless: -p and --ip are checked, --ip needs bridge or routed" {
	is_root_mode && skip "rootless only"
	run vert run --rm -p 1:2:3:4 mini -- true
	assert_failure 125
	assert_output --partial "invalid published port"
	run vert run --rm --net none --ip 10.1.2.3 mini -- true
	assert_failure 125
	assert_output --partial "--ip needs network mode bridge or routed"
}
