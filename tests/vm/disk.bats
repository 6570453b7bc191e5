#!/usr/bin/env bats
# Disk quota per VE on a stock Debian kernel, as real root (all
# capabilities: ext4 online resize needs CAP_SYS_RESOURCE, which the dev
# machine's container lacks).  Both backends: the ext4 image on a loop
# device (the state root on tmpfs, which keeps no project quota) and
# project quotas (a state root on ext4 with the project feature, mounted
# prjquota).  Run with tests/vm/run.

load cgroup-helpers

setup_file() {
	vm_only
	modprobe loop 2>/dev/null || modprobe -d /run/vert-vm/kernel loop 2>/dev/null || true
	vm_setup_file
}
teardown_file() {
	vm_teardown_file
	if [ -n "${PRJ:-}" ]; then
		umount "$PRJ" 2>/dev/null || true
		rm -rf "$PRJ" "$PRJ.img"
	fi
}

setup() {
	vm_only
	[ -e /dev/loop-control ] || skip "no loop devices in the guest"
}

# Loop devices backed by a file under the state root $1, and its mounts.
loops_of() {
	local f
	for f in /sys/block/loop*/loop/backing_file; do
		[ -r "$f" ] && grep -q -- "$1" "$f" && echo "$f"
	done
	return 0
}
clean_of() { [ -z "$(loops_of "$1")" ] && ! grep -q -- "$1/run" /proc/self/mountinfo; }

df_size() { vert exec "$1" -- df -k / | awk 'NR == 2 { print $2 }'; }

@test "image: df shows the quota, ENOSPC at it, set --disk grows it live" {
	vert create vi --template mini --net none --disk 32M -- sh -c 'sleep 100000'
	[ "$(vert inspect vi | jq -r .disk.backend)" = image ]
	vert start vi
	s0=$(df_size vi)
	[ "$s0" -le 32768 ] && [ "$s0" -ge 24000 ]
	run vert exec vi -- dd if=/dev/zero of=/fill bs=1M count=64
	[ "$status" -ne 0 ]
	[[ $output == *"No space left on device"* ]]
	vert exec vi -- rm /fill
	run vert set vi --disk 128M
	[ "$status" -eq 0 ]
	[[ $output != *"next start"* ]]
	s1=$(df_size vi)
	echo "# df size: $s0 K, live after set --disk 128M: $s1 K" >&3
	[ "$s1" -gt $((s0 * 3)) ]
	vert exec vi -- dd if=/dev/zero of=/big bs=1M count=64 conv=fsync 2>/dev/null
	run vert set vi --disk 48M
	[ "$status" -ne 0 ]
	[[ $output == *"is below what VE 'vi' already uses"* ]]
	[ "$(vert ps --json vi | jq -r '.[0].disk_limit')" = $((s1 * 1024)) ]
	vert destroy --force vi
	wait_for 10 clean_of "$R"
	[ -z "$(find "$R/ves" -name 'disk.img*')" ]
}

@test "image: SIGKILL of vert and a crashed supervisor leave no loop device or mount" {
	"$VERT" --root "$R" run --rm --net none --name vk --disk 32M mini -- sleep 100001 &
	pid=$!
	wait_for 20 test -f "$R/run/ves/vk/state.json"
	kill -KILL $pid
	wait $pid || true
	wait_for 20 eval '! pgrep -xf "sleep 100001" >/dev/null'
	vert ps -a >/dev/null
	wait_for 10 clean_of "$R"
	vert create vc --template mini --net none --disk 32M -- sh -c 'sleep 100002'
	vert start vc
	[ -n "$(loops_of "$R")" ]
	kill -KILL "$(vert inspect vc | jq -r .status.supervisor_pid)" "$(init_pid vc)"
	wait_for 20 eval '! pgrep -xf "sleep 100002" >/dev/null'
	vert ps -a >/dev/null
	wait_for 10 clean_of "$R"
	vert destroy vc
	[ -z "$(ls -A "$R/ves")" ]
}

@test "project quota: used where the state root's filesystem keeps them" {
	command -v mkfs.ext4 >/dev/null || skip "no mkfs.ext4"
	export PRJ
	PRJ=$(mktemp -d /var/lib/vert/prj.XXXXXX)
	truncate -s 512M "$PRJ.img"
	mkfs.ext4 -q -O quota,project -E quotatype=prjquota "$PRJ.img"
	mount -o loop,prjquota "$PRJ.img" "$PRJ" || skip "this kernel can't mount ext4 with prjquota"
	pv() { "$VERT" --root "$PRJ" "$@"; }
	pv template create mini --from busybox >/dev/null
	pv create vp --template mini --net none --disk 32M --disk-inodes 500 -- sh -c 'sleep 100003'
	[ "$(pv inspect vp | jq -r .disk.backend)" = project ]
	[ "$(pv inspect vp | jq -r .config.disk.project_id)" -gt 0 ]
	[ ! -e "$PRJ/ves/vp/disk.img" ]
	pv start vp
	size=$(pv exec vp -- df -k / | awk 'NR == 2 { print $2 }')
	echo "# project quota: df size $size K" >&3
	[ "$size" = 32768 ]
	run pv exec vp -- dd if=/dev/zero of=/fill bs=1M count=64
	[ "$status" -ne 0 ]
	[[ $output == *"Disk quota exceeded"* || $output == *"No space left"* ]]
	used=$(pv ps --json vp | jq -r '.[0].disk_used')
	[ "$used" -ge $((30 << 20)) ]
	run pv set vp --disk 16M
	[ "$status" -ne 0 ]
	[[ $output == *"is below what VE 'vp' already uses"* ]]
	pv set vp --disk 64M
	size=$(pv exec vp -- df -k / | awk 'NR == 2 { print $2 }')
	[ "$size" = 65536 ]
	# the host's own files on that filesystem are not counted
	dd if=/dev/zero of="$PRJ/host-file" bs=1M count=40 2>/dev/null
	[ "$(pv ps --json vp | jq -r '.[0].disk_used')" -lt $((40 << 20)) ]
	pv destroy --force vp
	pv template rm mini
	umount "$PRJ"
	rm -rf "$PRJ" "$PRJ.img"
	PRJ=
}
