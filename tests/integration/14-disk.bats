#!/usr/bin/env bats
# Disk quota per VE (--disk, --disk-inodes): df inside, ENOSPC at the
# quota without the host or a neighbour noticing, live growth, refused
# shrinking, ps/stats/inspect figures, and no loop device, mount or image
# left behind by destroy, a crash or a SIGKILL of vert.
#
# Root mode only: the quota is a project quota or an ext4 image on a loop
# device, both the host root's (vert refuses --disk rootless).

load helpers

setup_file() {
	common_setup_file
}
teardown_file() { common_teardown_file; }

# Every test but the rootless one: the quota is the host root's.
need_disk() {
	is_root_mode || skip "--disk needs real root (loop devices, quotas): mode $VERT_TEST_MODE"
	[ -e /dev/loop-control ] || modprobe loop 2>/dev/null || true
	[ -e /dev/loop-control ] || skip "no loop devices on this host"
	command -v mkfs.ext4 >/dev/null || skip "no mkfs.ext4 (e2fsprogs)"
}

NAP=$((2000000 + $$))

# Loop devices whose backing file is under this file's state root (other
# test runs on the machine have theirs), and mounts of it.
my_loops() {
	local f
	for f in /sys/block/loop*/loop/backing_file; do
		[ -r "$f" ] || continue
		grep -q -- "$TEST_ROOT" "$f" && echo "$f"
	done
	return 0
}
no_leaks() {
	[ -z "$(my_loops)" ] && [ "$(count_mounts)" = 0 ]
}
# the next command reconciles: an init that is still a zombie counts as
# running until reaped, so ask again until it is gone
reconciled() {
	vert ps -a >/dev/null
	no_leaks
}
images() { find "$TEST_ROOT/ves" -name 'disk.img*' 2>/dev/null; }

# df inside NAME, in 1K blocks: "size used"
df_in() {
	vert exec "$1" -- df -k / | awk 'NR == 2 { print $2, $3 }'
}

@test "bad --disk input is refused clearly and changes nothing" {
	need_disk
	run vert create bad1 --template mini --disk 10X
	assert_failure
	assert_output --partial "invalid --disk '10X'"
	run vert run --rm --disk 10X mini -- true
	assert_failure 125
	assert_output --partial "invalid --disk '10X'"
	run vert create bad1 --template mini --disk-inodes lots
	assert_failure
	assert_output --partial "invalid --disk-inodes 'lots'"
	[ ! -e "$TEST_ROOT/ves/bad1" ]
	vert create bad2 --template mini --net none --disk 32M
	before=$(cat "$TEST_ROOT/ves/bad2/config.json")
	run vert set bad2 --disk 10X
	assert_failure
	assert_output --partial "invalid --disk '10X'"
	run vert set bad2 --disk 1k
	assert_failure
	assert_output --partial "at least 8M"
	[ "$(cat "$TEST_ROOT/ves/bad2/config.json")" = "$before" ]
	vert destroy bad2
	[ -z "$(images)" ]
}

@test "df inside shows the quota; ps, stats and inspect show the same figures" {
	need_disk
	vert create dq --template mini --net none --disk 64M -- sh -c "$IDLE"
	on_teardown vert destroy --force dq
	run vert inspect dq
	backend=$(jq -r .disk.backend <<<"$output")
	[ "$backend" = image ] || [ "$backend" = project ]
	[ "$(jq -r .config.disk.size <<<"$output")" = $((64 << 20)) ]
	vert start dq
	read -r size used < <(df_in dq)
	# the quota, less what ext4 keeps for itself (journal, inode tables)
	[ "$size" -le 65536 ] && [ "$size" -ge $((65536 * 8 / 10)) ]
	vert exec dq -- dd if=/dev/zero of=/ten bs=1M count=10 conv=fsync 2>/dev/null
	read -r size used < <(df_in dq)
	[ "$used" -ge 10240 ]
	run vert ps --json dq
	[ "$(jq -r '.[0].disk_limit' <<<"$output")" = $((size * 1024)) ]
	dused=$(jq -r '.[0].disk_used' <<<"$output")
	[ $((dused / 1024 - used)) -le 1024 ] && [ $((used - dused / 1024)) -le 1024 ]
	run vert ps -o name,disk dq
	assert_line --index 0 --regexp "^NAME +DISK$"
	assert_line --index 1 --regexp "^dq +[0-9.]+MiB/[0-9.]+MiB$"
	run vert stats --no-stream --json dq
	[ "$(jq -r '.[0].disk_limit' <<<"$output")" = $((size * 1024)) ]
	run vert stats --no-stream dq
	assert_line --index 0 --partial "DISK USED / LIMIT"
	run vert inspect dq
	[ "$(jq -r .disk.limit <<<"$output")" = $((size * 1024)) ]
	# stopped: still known
	vert stop dq
	run vert inspect dq
	[ "$(jq -r .disk.used <<<"$output")" -ge $((10 << 20)) ]
	vert destroy dq
	[ -z "$(images)" ]
	wait_for -t 30 no_leaks
}

@test "a VE at its quota gets ENOSPC; the host and a neighbour don't notice" {
	need_disk
	vert create full --template mini --net none --disk 32M -- sh -c "$IDLE"
	vert create neigh --template mini --net none -- sh -c "$IDLE"
	on_teardown vert destroy --force full
	on_teardown vert destroy --force neigh
	vert start full
	vert start neigh
	run vert exec full -- dd if=/dev/zero of=/fill bs=1M count=64
	assert_failure
	assert_output --partial "No space left on device"
	# what is left of it, in the smallest blocks
	run vert exec full -- dd if=/dev/zero of=/fill2 bs=1k count=65536
	assert_failure
	run vert exec full -- sh -c 'echo x > /more'
	assert_failure
	assert_output --partial "No space left on device"
	# the neighbour and the host write on
	vert exec neigh -- dd if=/dev/zero of=/n bs=1M count=40 2>/dev/null
	dd if=/dev/zero of="$TEST_ROOT/host-file" bs=1M count=8 2>/dev/null
	rm -f "$TEST_ROOT/host-file"
	# making room makes it writable again
	vert exec full -- rm /fill
	vert exec full -- sh -c 'echo x > /more'
	vert destroy --force full
	vert destroy --force neigh
	wait_for -t 30 no_leaks
}

@test "--disk-inodes limits the number of files" {
	need_disk
	vert create fin --template mini --net none --disk 32M --disk-inodes 200 -- sh -c "$IDLE"
	on_teardown vert destroy --force fin
	vert start fin
	run vert exec fin -- df -i /
	total=$(awk 'NR == 2 { print $2 }' <<<"$output")
	[ "$total" -ge 200 ] && [ "$total" -le 1024 ]
	run vert exec fin -- sh -c 'i=0; while [ $i -lt 2000 ]; do touch /f$i || exit 1; i=$((i+1)); done'
	assert_failure
	assert_output --partial "No space left on device"
	vert destroy --force fin
}

# ext4 resizes a mounted filesystem only for CAP_SYS_RESOURCE, which a
# container may not have (this machine's doesn't): then the growth waits
# for the next start, and says so.
have_sys_resource() {
	(( (16#$(awk '/^CapEff:/ { print $2 }' /proc/self/status) >> 24) & 1 ))
}

@test "set --disk grows a running VE, and refuses to shrink below what it uses" {
	need_disk
	vert create grow --template mini --net none --disk 32M -- sh -c "$IDLE"
	on_teardown vert destroy --force grow
	vert start grow
	read -r size0 _ < <(df_in grow)
	vert exec grow -- dd if=/dev/zero of=/data bs=1M count=20 conv=fsync 2>/dev/null
	# below what is used: refused with the figures, nothing changed
	before=$(cat "$TEST_ROOT/ves/grow/config.json")
	run vert set grow --disk 16M
	assert_failure
	assert_output --regexp "--disk 16.0M is below what VE 'grow' already uses \(2[0-9.]+M\)"
	[ "$(cat "$TEST_ROOT/ves/grow/config.json")" = "$before" ]
	run vert set grow --disk 96M
	assert_success
	if have_sys_resource; then
		read -r size1 _ < <(df_in grow)
	else
		assert_output --partial "the disk grows at the VE's next start"
		[ "$(df_in grow | cut -d' ' -f1)" = "$size0" ]
		vert restart grow
		read -r size1 _ < <(df_in grow)
	fi
	[ "$size1" -gt $((size0 * 2)) ]
	vert exec grow -- test -s /data
	vert exec grow -- dd if=/dev/zero of=/data2 bs=1M count=40 conv=fsync 2>/dev/null
	# shrinking: only while stopped, and not below what is used
	run vert set grow --disk 80M
	assert_failure
	assert_output --partial "shrinks only while it is stopped"
	vert stop grow
	run vert set grow --disk 40M
	assert_failure
	assert_output --partial "is below what VE 'grow' already uses"
	vert start grow
	vert exec grow -- rm /data2
	vert stop grow
	vert set grow --disk 64M
	vert start grow
	read -r size2 _ < <(df_in grow)
	[ "$size2" -lt "$size1" ] && [ "$size2" -le 65536 ]
	vert exec grow -- test -s /data
	vert destroy --force grow
	wait_for -t 30 no_leaks
}

@test "set --disk puts a stopped VE without a quota under one, keeping its files" {
	need_disk
	vert create late --template mini --net none -- sh -c "$IDLE"
	on_teardown vert destroy --force late
	vert start late
	vert exec late -- sh -c 'mkdir -p /srv && echo kept > /srv/f && rm /bin/ls'
	run vert set late --disk 64M
	assert_failure
	assert_output --partial "is running"
	vert stop late
	run vert set late --disk 1M
	assert_failure
	vert set late --disk 64M
	[ "$(vert inspect late | jq -r .config.disk.size)" = $((64 << 20)) ]
	vert start late
	[ "$(vert exec late -- cat /srv/f)" = kept ]
	# a whiteout moved with the upper dir
	run vert exec late -- test -e /bin/ls
	assert_failure
	read -r size _ < <(df_in late)
	[ "$size" -le 65536 ]
	vert destroy --force late
	wait_for -t 30 no_leaks
}

@test "destroy, a crash and SIGKILL of vert leave no loop device, mount or image" {
	need_disk
	# a crash: the supervisor and the init die without cleaning up
	vert create crash --template mini --net none --disk 32M -- sh -c "$IDLE"
	on_teardown vert destroy --force crash
	vert start crash
	[ -n "$(my_loops)" ]
	sup=$(jq -r .supervisor_pid "$TEST_ROOT/run/ves/crash/state.json")
	init=$(ve_init_pid crash)
	kill -KILL "$sup" "$init"
	wait_for pid_gone "$init"
	wait_for -t 30 reconciled
	[ "$(vert inspect crash | jq -r .status.running)" = false ]
	# and it starts again on its image
	vert start crash
	vert exec crash -- true
	vert destroy --force crash
	wait_for -t 30 no_leaks
	[ -z "$(images)" ]

	# SIGKILL of an attached vert run --rm
	"$VERT_BIN" --root "$TEST_ROOT" run --rm --net none --name killed --disk 32M mini -- sleep "$NAP" &
	pid=$!
	bg_track $pid
	wait_for [ -f "$TEST_ROOT/run/ves/killed/state.json" ]
	kill -KILL $pid
	wait $pid || true
	wait_for -t 20 eval '! pgrep -xf "sleep $NAP" >/dev/null'
	wait_for -t 30 reconciled
	[ -z "$(images)" ]

	# SIGKILL at points all through the start
	for delay in 0.001 0.01 0.03 0.06 0.1 0.2; do
		"$VERT_BIN" --root "$TEST_ROOT" run --rm --net none --disk 32M mini -- sleep "$NAP" &
		pid=$!
		bg_track $pid
		sleep $delay # the point of the start it is killed at
		kill -KILL $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
	done
	wait_for -t 20 eval '! pgrep -xf "sleep $NAP" >/dev/null'
	wait_for -t 30 reconciled
	[ -z "$(images)" ]
	[ -z "$(ls -A "$TEST_ROOT/ves")" ]
}

@test "a filesystem that holds neither a quota nor an image: a clear error, nothing changed" {
	need_disk
	# a tmpfs (no project quota) too full for even a sparse image
	small="$TEST_ROOT/small"
	mkdir -p "$small"
	mount -t tmpfs -o size=3M tmpfs "$small"
	on_teardown "$VERT_BIN --root $small destroy --force keep; umount -l $small"
	"$VERT_BIN" --root "$small" template create mini --from busybox >/dev/null 2>&1
	run "$VERT_BIN" --root "$small" create nope --template mini --net none --disk 16G
	assert_failure
	assert_output --partial "keeps no project quota, and a disk image can't be made there"
	[ ! -e "$small/ves/nope" ]
	"$VERT_BIN" --root "$small" create keep --template mini --net none
	before=$(cat "$small/ves/keep/config.json")
	run "$VERT_BIN" --root "$small" set keep --disk 16G
	assert_failure
	assert_output --partial "a disk image can't be made there"
	[ "$(cat "$small/ves/keep/config.json")" = "$before" ]
	[ -d "$small/ves/keep/upper" ] && [ -d "$small/ves/keep/work" ]
	[ -z "$(find "$small/ves" -name 'disk.img*' -o -name '.disk-seed')" ]
	"$VERT_BIN" --root "$small" run --rm --net none mini -- true
	"$VERT_BIN" --root "$small" destroy keep
	"$VERT_BIN" --root "$small" template rm mini
	umount "$small"
}

@test "a reboot from inside keeps the VE on its disk, mounted once" {
	need_disk
	vert create rb --template mini --net none --disk 32M
	on_teardown vert destroy --force rb
	vert start rb
	vert exec rb -- sh -c 'echo before > /root/mark'
	old=$(ve_init_pid rb)
	vert exec rb -- reboot
	wait_rebooted rb "$old"
	wait_for vert exec rb -- true
	[ "$(vert exec rb -- cat /root/mark)" = before ]
	[ "$(df_in rb | cut -d' ' -f1)" -le 32768 ]
	[ "$(my_loops | wc -l)" = 1 ]
	[ "$(grep -c -- "$TEST_ROOT/run/ves/rb/disk" /proc/self/mountinfo)" = 1 ]
	vert destroy --force rb
	wait_for -t 30 no_leaks
}

# The upper layer of a VE with an image is in the image: set --userns must
# convert the overlay's attributes there (trusted.overlay.* for the host's
# root, user.overlay.* for a VE's own), or an opaque dir the VE made stops
# being opaque and what it deleted comes back.
@test "set --userns converts the upper layer inside a disk image: deletions stay deleted" {
	need_disk
	local n
	vert create uns --template mini --net none --userns host --disk 64M -- /bin/sleep 86399
	# /usr replaced by a new dir: opaque, the template's binaries hidden
	vert start uns
	vert exec uns -- sh -c 'rm -rf /usr && mkdir /usr && touch /usr/mine'
	vert stop uns
	for mode in private host private; do
		run vert set uns --userns $mode
		assert_success
		vert start uns
		run vert exec uns -- ls /usr
		assert_success
		assert_output "mine"
		vert stop uns
	done
	n=$(my_loops | wc -l)
	[ "$n" = 0 ]
	vert destroy uns
}

@test "rootless, --disk is refused clearly and nothing is made" {
	is_root_mode && skip "the rootless refusal (modes user, unshare)"
	run vert create rl --template mini --net none --disk 32M
	assert_failure
	assert_output --partial "--disk needs vert run as real root"
	[ ! -e "$TEST_ROOT/ves/rl" ]
	vert create rl2 --template mini --net none
	before=$(cat "$TEST_ROOT/ves/rl2/config.json")
	run vert set rl2 --disk 32M
	assert_failure
	assert_output --partial "--disk needs vert run as real root"
	[ "$(cat "$TEST_ROOT/ves/rl2/config.json")" = "$before" ]
	vert destroy rl2
}
