#!/usr/bin/env bats
# Guest-side checks that the VM harness gives vert's tests what they need.
# Run with: tests/vm/run tests/vm/selftest.bats

setup() {
	[ "${VERT_IN_VM:-}" = 1 ] || skip "only inside the test VM (tests/vm/run)"
	scratch=$(mktemp -d)
}

teardown() {
	[ -n "${scratch:-}" ] || return 0
	umount -R "$scratch" 2>/dev/null || true
	rm -rf "$scratch"
}

@test "runs a Debian kernel as root with VERT set" {
	[ "$(id -u)" = 0 ]
	[ -n "$VERT" ]
	[[ $(uname -r) == *-amd64 ]]
}

@test "cgroup2 is mounted at /sys/fs/cgroup, nothing of cgroup v1" {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]
	run awk '$3 == "cgroup" { print }' /proc/mounts
	[ -z "$output" ]
}

@test "memory, cpu, pids and io controllers are enabled for children" {
	local ctl
	ctl=" $(cat /sys/fs/cgroup/cgroup.subtree_control) "
	for c in memory cpu pids io; do
		[[ $ctl == *" $c "* ]] || {
			echo "missing controller $c in:$ctl"
			return 1
		}
	done
}

@test "a child cgroup takes memory.max and pids.max and a process" {
	local cg=/sys/fs/cgroup/vm-selftest-$$
	mkdir "$cg"
	echo 64M >"$cg/memory.max"
	echo 16 >"$cg/pids.max"
	[ "$(cat "$cg/memory.max")" = 67108864 ]
	sleep 30 &
	local pid=$!
	echo "$pid" >"$cg/cgroup.procs"
	[ "$(cat "/proc/$pid/cgroup")" = "0::/vm-selftest-$$" ]
	kill "$pid"
	wait "$pid" || true
	rmdir "$cg"
}

@test "memory.max is enforced (OOM kill inside the cgroup)" {
	local cg=/sys/fs/cgroup/vm-selftest-oom-$$
	mkdir "$cg"
	echo 32M >"$cg/memory.max"
	[ ! -e "$cg/memory.swap.max" ] || echo 0 >"$cg/memory.swap.max"
	# The child joins the cgroup, then tries to hold 128 MiB.
	run sh -c "echo \$\$ >$cg/cgroup.procs && exec head -c 128M /dev/zero | tail >/dev/null"
	[ "$status" -ne 0 ]
	grep -q '^oom_kill [1-9]' "$cg/memory.events"
	rmdir "$cg"
}

@test "user namespaces: unshare -Urn works" {
	unshare -Urn true
	[ "$(unshare -Ur id -u)" = 0 ]
}

@test "overlayfs mounts on tmpfs" {
	mount -t tmpfs tmpfs "$scratch"
	mkdir "$scratch"/{lower,upper,work,merged}
	echo lower >"$scratch/lower/f"
	mount -t overlay overlay \
		-o "lowerdir=$scratch/lower,upperdir=$scratch/upper,workdir=$scratch/work" \
		"$scratch/merged"
	[ "$(cat "$scratch/merged/f")" = lower ]
	echo changed >"$scratch/merged/f"
	[ "$(cat "$scratch/upper/f")" = changed ]
	[ "$(cat "$scratch/lower/f")" = lower ]
}

@test "/var/lib/vert is ext4 (idmapped mounts, user xattrs) and /tmp tmpfs: both overlay uppers" {
	[ "$(stat -f -c %T /var/lib/vert)" = ext2/ext3 ]
	[ "$(stat -f -c %T /tmp)" = tmpfs ]
	touch /var/lib/vert/probe
	rm /var/lib/vert/probe
}

@test "veth pair and bridge can be created with ip (modules load on demand)" {
	local sfx=$$
	ip link add "vsbr$sfx" type bridge
	ip link add "vsa$sfx" type veth peer name "vsb$sfx"
	ip link set "vsa$sfx" master "vsbr$sfx"
	ip link set "vsbr$sfx" up
	ip link set "vsa$sfx" up
	ip -o link show "vsa$sfx" | grep -q "master vsbr$sfx"
	ip link del "vsa$sfx"
	ip link del "vsbr$sfx"
}

@test "a veth end moves into a new network namespace" {
	ip netns add "vs$$"
	ip link add "vsx$$" type veth peer name eth0 netns "vs$$"
	ip -n "vs$$" addr add 192.0.2.2/24 dev eth0
	ip -n "vs$$" link set eth0 up
	ip addr add 192.0.2.1/24 dev "vsx$$"
	ip link set "vsx$$" up
	ip -n "vs$$" -o addr show eth0 | grep -q 192.0.2.2
	ip link del "vsx$$"
	ip netns del "vs$$"
}

@test "nf_tables loads and nft takes a NAT rule (modules load on demand)" {
	command -v nft >/dev/null || skip "nft not installed on the host"
	nft add table ip vmselftest
	nft add chain ip vmselftest post '{ type nat hook postrouting priority 100; }'
	nft add rule ip vmselftest post ip saddr 192.0.2.0/24 masquerade
	nft list table ip vmselftest | grep -q masquerade
	nft delete table ip vmselftest
}

@test "/dev/net/tun opens (tun loads on demand) and makes a tap device" {
	[ -c /dev/net/tun ]
	ip tuntap add dev "vstap$$" mode tap
	[ -d /sys/module/tun ]
	ip link del "vstap$$"
}

@test "rootless user vertci exists with a subuid/subgid range" {
	[ "$(id -u vertci)" = 1500 ]
	[ "$(id -g vertci)" = 1500 ]
	grep -qx 'vertci:200000:65536' /etc/subuid
	grep -qx 'vertci:200000:65536' /etc/subgid
	[ "$VERT_VM_USER" = vertci ]
}

@test "rootless helper runs as vertci in its delegated cgroup" {
	# shellcheck disable=SC2016 # expanded by the inner shell
	run "$BATS_TEST_DIRNAME/rootless" sh -c 'id -u; cat /proc/self/cgroup; echo $HOME'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1500 ]
	[ "${lines[1]}" = 0::/vertci/session ]
	[ "${lines[2]}" = /home/vertci ]
	# The user may create and fill its own child cgroups.
	# shellcheck disable=SC2016
	run "$BATS_TEST_DIRNAME/rootless" sh -c '
		mkdir $VERT_VM_USER_CGROUP/c1 &&
		echo 32M >$VERT_VM_USER_CGROUP/c1/memory.max &&
		echo $$ >$VERT_VM_USER_CGROUP/c1/cgroup.procs &&
		cat /proc/self/cgroup'
	[ "$status" -eq 0 ]
	[ "$output" = 0::/vertci/c1 ]
	rmdir "$VERT_VM_USER_CGROUP/c1"
}

@test "rootless user namespace maps the subuid range (newuidmap)" {
	command -v newuidmap >/dev/null || skip "uidmap not installed on the host"
	# unshare --map-auto uses newuidmap/newgidmap with /etc/subuid.
	run "$BATS_TEST_DIRNAME/rootless" unshare --user --map-root-user --map-auto \
		cat /proc/self/uid_map
	[ "$status" -eq 0 ]
	echo "$output"
	# inside: 0 -> vertci, then 1.. -> the subuid range
	grep -qE '^ *1 +200000 +65535$' <<<"$output"
}

@test "the root is a tmpfs overlay of the host's: writable, host untouched" {
	[ "$(findmnt -n -o FSTYPE /)" = overlay ]
	touch /etc/vm-selftest-probe
	rm /etc/vm-selftest-probe
}
