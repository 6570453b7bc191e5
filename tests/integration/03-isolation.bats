#!/usr/bin/env bats
# What must be true inside a VE: namespaces, filesystem, privileges.

load helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

probe() {
	vert run --rm -v "$PROBE:/probe:ro" "$@"
}

@test "every namespace differs from the host's" {
	run vert run --rm mini -- sh -c 'for n in mnt pid uts ipc net cgroup; do echo "$n $(readlink /proc/self/ns/$n)"; done'
	assert_success
	for n in mnt pid uts ipc net cgroup; do
		host=$(readlink /proc/self/ns/$n)
		inside=$(echo "$output" | awk -v n=$n '$1==n {print $2}')
		[ -n "$inside" ]
		[ "$inside" != "$host" ]
	done
}

@test "every VE gets a user namespace; --userns host is the host's" {
	run vert run --rm mini -- readlink /proc/self/ns/user
	assert_success
	[ "$output" != "$(readlink /proc/self/ns/user)" ]
	if is_root_mode; then
		run vert run --rm --userns host mini -- readlink /proc/self/ns/user
		assert_success
		[ "$output" = "$(readlink /proc/self/ns/user)" ]
	fi
}

# A VE's root is an unprivileged host uid, and its init reaches every
# mount target through /proc/self/fd/N, walked from the host's "/": under
# a "/" of mode 0700 (a root unpacked from a tarball can have it) that
# failed as "mount proc on '/proc': Permission denied".
@test "a host '/' that others can't search is named, with what to do" {
	is_root_mode || skip "needs real root: a mount namespace with another /"
	local nr=$BATS_TEST_TMPDIR/nr d
	mkdir -p "$nr"
	run unshare -m --propagation private sh -c '
		nr=$1 bin=$2; shift 2
		mount -t tmpfs -o mode=0700 tmpfs "$nr" || exit 90
		for d in /usr /lib /lib64 /bin /sbin /etc /proc /sys /dev /tmp /run /var "${bin%/*}"; do
			[ -e "$d" ] && [ ! -e "$nr$d" ] || continue
			if [ -L "$d" ]; then cp -P "$d" "$nr$d"
			else mkdir -p "$nr$d" && mount --rbind "$d" "$nr$d" || exit 91; fi
		done
		cd "$nr" && pivot_root . . && umount -l . || exit 92
		"$@"; echo "rc=$?"
		stat -c %a /' sh "$nr" "$VERT_BIN" "$VERT_BIN" --root "$TEST_ROOT" run --rm --net none mini -- true
	assert_success
	assert_output --partial "the host's '/' is mode 0700"
	assert_output --partial "--userns host"
	assert_line "rc=125"
	assert_line "700"
	# the --rm VE that could not start is gone, its uid range with it
	run vert ps -a -q
	assert_success
	assert_output ""
}

@test "only loopback, and it is up" {
	run vert run --rm --net none mini -- sh -c 'ls /sys/class/net; ip -o link show lo'
	assert_success
	assert_line --index 0 "lo"
	assert_output --partial "UP"
	[ "$(echo "$output" | head -n -1 | wc -l)" = 1 ]
	run vert run --rm mini -- ping -c1 -W1 127.0.0.1
	assert_success
}

@test "only the VE's processes are visible" {
	run vert run --rm mini -- sh -c 'ls /proc | grep -c "^[0-9]"'
	assert_success
	[ "$output" -le 3 ]
}

@test "the host's mounts are invisible; propagation is private" {
	run vert run --rm mini -- cat /proc/self/mountinfo
	assert_success
	# no host filesystem is mounted in (only the VE's own mounts), but
	# for the generated /etc/hosts, /etc/resolv.conf and /etc/hostname,
	# bound from vert's runtime dir (tmpfs /run/vert outside tests)
	output=$(grep -Ev " /etc/(hosts|resolv\.conf|hostname) " <<<"$output")
	refute_output --regexp " - (ext4|xfs|btrfs|vfat|9p) "
	refute_output --partial "shared:"
	[ "$(echo "$output" | wc -l)" -lt 30 ]
	# the root is an overlay whose lower layer is the template (as root:
	# an idmapped mount of it, attached by fd)
	assert_output --regexp " / rw[^ ]* .*- overlay overlay .*lowerdir=($TEST_ROOT/templates/mini/rootfs|lower,)"
}

@test "writes in a VE reach neither the template nor another VE" {
	run vert run --name w1 mini -- sh -c 'echo secret > /etc/w1-file; rm /bin/ls; echo done'
	assert_success
	[ ! -e "$TEST_ROOT/templates/mini/rootfs/etc/w1-file" ]
	[ -e "$TEST_ROOT/templates/mini/rootfs/bin/ls" ]
	run vert run --rm mini -- sh -c 'cat /etc/w1-file 2>&1; ls /bin/ls'
	assert_output --partial "No such file"
	assert_output --partial "/bin/ls"
}

@test "/proc: kcore, keys, timer_list, sched_debug masked; sys, sysrq-trigger, irq, bus read-only" {
	run vert run --rm mini -- sh -c '
		for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
			[ -e $f ] || continue; echo "$f $(wc -c < $f)"; done
		ls /sys/firmware | wc -l
		echo x > /proc/sys/kernel/domainname 2>/dev/null && echo sys-writable
		[ -e /proc/sysrq-trigger ] && { echo x > /proc/sysrq-trigger 2>/dev/null && echo sysrq-writable; }
		touch /proc/irq/x 2>/dev/null && echo irq-writable
		for p in sys bus irq sysrq-trigger; do
			[ -e /proc/$p ] || continue
			grep -q " /proc/$p ro," /proc/self/mountinfo && echo "ro $p" || echo "rw $p"
		done'
	assert_success
	refute_output --partial "writable"
	for f in kcore keys timer_list sched_debug; do
		if echo "$output" | grep -q "^/proc/$f "; then
			echo "$output" | grep -q "^/proc/$f 0$"
		fi
	done
	assert_line "0"   # /sys/firmware is empty
	refute_output --regexp "^rw "
	assert_line "ro sys"
}

@test "/sys is read-only" {
	run vert run --rm mini -- sh -c 'grep " /sys " /proc/self/mountinfo; touch /sys/x 2>&1'
	assert_output --regexp " /sys ro,"
	assert_output --partial "Read-only file system"
}

@test "/dev is a small tmpfs with the standard nodes and links" {
	run vert run --rm mini -- sh -c '
		grep " /dev " /proc/self/mountinfo | grep -c tmpfs
		for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo "c $d"; done
		for l in fd stdin stdout stderr ptmx; do [ -L /dev/$l ] && echo "l $l $(readlink /dev/$l)"; done
		[ -d /dev/pts ] && echo pts; [ -d /dev/shm ] && echo shm; [ -d /dev/mqueue ] && echo mqueue
		echo hello > /dev/null && head -c 4 /dev/zero | wc -c
		ls /dev | grep -c -E "^(sd|vd|nvme|mem|kmsg|port)" || true'
	assert_success
	assert_line --index 0 "1"
	for d in null zero full random urandom tty; do assert_line "c $d"; done
	assert_line "l fd /proc/self/fd"
	assert_line "l stdin /proc/self/fd/0"
	assert_line "l stdout /proc/self/fd/1"
	assert_line "l stderr /proc/self/fd/2"
	assert_line "l ptmx pts/ptmx"
	assert_line "pts"
	assert_line "shm"
	assert_line "mqueue"
	assert_line "4"
	assert_line --index -1 "0"  # no host disks or memory devices
}

@test "capabilities: reduced bounding set, NoNewPrivs and seccomp filter mode" {
	run vert run --rm mini -- grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp):' /proc/self/status
	assert_success
	assert_line --regexp "^CapBnd:\s+00000000a80425fb$"
	assert_line --regexp "^CapEff:\s+00000000a80425fb$"
	assert_line --regexp "^NoNewPrivs:\s+1$"
	assert_line --regexp "^Seccomp:\s+2$"
	run vert run --rm --new-privileges --cap-add NET_ADMIN --cap-drop MKNOD mini -- grep -E '^(CapBnd|NoNewPrivs):' /proc/self/status
	assert_line --regexp "^CapBnd:\s+00000000a00435fb$"
	assert_line --regexp "^NoNewPrivs:\s+0$"
}

@test "host-affecting syscalls are blocked by the default seccomp filter" {
	run probe mini -- /probe syscalls
	assert_success
	for s in add_key keyctl userfaultfd io_uring_setup bpf perf_event_open kexec_load \
	         init_module open_by_handle_at swapoff acct clock_settime; do
		assert_line "$s=EPERM"
	done
	assert_line "getpid=allowed"
}

@test "no host file descriptor leaks in; cwd is inside the VE" {
	exec 7<"$BATS_TEST_FILENAME"
	run probe -w /tmp mini -- /probe fds
	exec 7<&-
	assert_success
	refute_output --regexp "^7 "
	refute_output --partial "$BATS_TEST_FILENAME"
	run vert run --rm -w /tmp mini -- readlink /proc/self/cwd
	assert_output "/tmp"
}

@test "the host vert binary is not reachable from inside" {
	run vert run --rm mini -- sh -c "ls '$VERT_BIN' 2>&1; readlink /proc/1/exe"
	assert_output --partial "No such file"
	assert_line --index 1 "/bin/busybox"
	run probe mini -- /probe exe-write
	refute_output "opened"
}

@test "PID 1 reaps orphaned zombies of its children" {
	# bounded wait (5 s) for PID 1 to reap them
	run probe mini -- sh -c '/probe zombies 5; i=0
		while ps -o stat | grep -q "^Z" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		ps -o stat,comm | grep -c "^Z" || true'
	assert_success
	assert_line --index 0 "ok"
	assert_line --index 1 "0"
}

@test "a root VE cannot make device nodes for host devices; FIFOs are fine" {
	run vert run --rm mini -- sh -c '
		mknod /tmp/disk b 8 0 2>/dev/null && echo block-made
		mknod /tmp/mem c 1 1 2>/dev/null && echo char-made
		mknod /tmp/fifo p && echo fifo-made
		echo ok > /dev/null && echo null-works'
	assert_success
	refute_output --partial "block-made"
	refute_output --partial "char-made"
	assert_line "fifo-made"
	assert_line "null-works"
}
