#!/usr/bin/env bats
# vert run: the command, its environment, exit codes, stdio.

load helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

@test "the command runs as PID 1, root, with the VE's hostname" {
	run vert run --rm --name pid1test mini -- sh -c 'echo $$; hostname; id -u'
	assert_success
	assert_line --index 0 "1"
	assert_line --index 1 "pid1test"
	assert_line --index 2 "0"
}

@test "--hostname, -e, -w and -v with :ro" {
	mkdir -p "$TEST_ROOT/data"
	echo content > "$TEST_ROOT/data/file"
	run vert run --rm --hostname web1 -e A=1 -e B="two words" -v "$TEST_ROOT/data:/data:ro" -w /data mini -- \
		sh -c 'hostname; echo "$A|$B"; pwd; cat file; touch new 2>&1; echo rc=$?'
	assert_success
	assert_line --index 0 "web1"
	assert_line --index 1 "1|two words"
	assert_line --index 2 "/data"
	assert_line --index 3 "content"
	assert_output --partial "Read-only file system"
	assert_line "rc=1"
	[ ! -e "$TEST_ROOT/data/new" ]
}

@test "a rw volume writes through to the host" {
	mkdir -p "$TEST_ROOT/rw"
	# the VE's root is a uid of its own range, not the host's root: it
	# writes where others may (see vert(1), VOLUMES)
	is_root_mode && chmod 1777 "$TEST_ROOT/rw"
	run vert run --rm -v "$TEST_ROOT/rw:/mnt/rw" mini -- sh -c 'echo written > /mnt/rw/out'
	assert_success
	[ "$(cat "$TEST_ROOT/rw/out")" = written ]
	# owned on the host by the VE's root, which is not the host's
	is_root_mode && [ "$(stat -c %u "$TEST_ROOT/rw/out")" -ge 65536 ]
	true
}

@test "-u UID:GID runs as that user" {
	skip_if_single_idmap
	mkdir -p "$TEST_ROOT/srvdata"
	run vert run --rm -u 1000:1000 -v "$TEST_ROOT/srvdata:/data:ro" -w /data mini -- sh -c 'id -u; id -g; ls'
	assert_success
	assert_line --index 0 "1000"
	assert_line --index 1 "1000"
}

@test "-u NAME is looked up in the VE's /etc/passwd" {
	skip_if_single_idmap
	run vert run --rm -u daemon mini -- id
	assert_success
	assert_output --partial "uid=1(daemon) gid=1(daemon)"
	run vert run --rm -u nosuchuser mini -- id
	assert_failure 125
	assert_output --partial "user 'nosuchuser' not found"
}

@test "exit status is the command's own" {
	run vert run --rm mini -- sh -c 'exit 7'
	assert_failure 7
	run vert run --rm mini -- true
	assert_success
	run vert run --rm mini -- sh -c 'kill -TERM $$; sleep 1; exit 0'
	# PID 1 ignores its own default-action signals, as in any pid namespace
	assert_success
	run vert run --rm mini -- sh -c 'sh -c "kill -KILL \$\$"; echo $?'
	assert_line "137"
}

@test "127 for a missing command, 126 for one that can't run, 125 for vert errors" {
	run -127 vert run --rm mini -- /no/such/binary
	assert_failure 127
	assert_output --partial "not found"
	run -127 vert run --rm mini -- nosuchcmd
	assert_failure 127
	run vert run --rm mini -- /etc/passwd
	assert_failure 126
	assert_output --partial "cannot execute"
	run vert run --rm no-such-template -- true
	assert_failure 125
	assert_output --partial "template 'no-such-template' not found"
}

@test "stdin, stdout and stderr pass through untouched" {
	run bash -c "printf 'line1\nline2\n' | '$VERT_BIN' --root '$TEST_ROOT' run --rm mini -- sh -c 'cat; echo err >&2' 2>'$TEST_ROOT/err'"
	assert_success
	assert_output "$(printf 'line1\nline2')"
	[ "$(cat "$TEST_ROOT/err")" = "err" ]
	# binary-safe
	head -c 65536 /dev/urandom > "$TEST_ROOT/blob"
	"$VERT_BIN" --root "$TEST_ROOT" run --rm mini -- cat < "$TEST_ROOT/blob" > "$TEST_ROOT/blob.out"
	cmp "$TEST_ROOT/blob" "$TEST_ROOT/blob.out"
}

@test "--rm leaves no state; without --rm the VE stays defined" {
	before=$(count_state)
	run vert run --rm mini -- true
	assert_success
	[ "$(count_state)" = "$before" ]
	run vert run --name kept mini -- sh -c 'echo data > /root/f'
	assert_success
	[ -f "$TEST_ROOT/ves/kept/config.json" ]
	[ -f "$TEST_ROOT/ves/kept/upper/root/f" ]
	run vert run --name kept mini -- true
	assert_failure 125
	assert_output --partial "already exists"
}

@test "an --rm VE's overlay is volatile (no sync of the host's filesystem at its end); a kept VE's is not" {
	run vert run --rm mini -- sh -c 'grep "^overlay / " /proc/mounts'
	assert_success
	assert_output --partial "volatile"
	run vert run --name durable mini -- sh -c 'grep "^overlay / " /proc/mounts'
	assert_success
	assert_output --partial "upperdir="
	refute_output --partial "volatile"
	# its second boot mounts the same work dir: the kernel refuses one a
	# volatile mount has marked, so the kept VE must not have been one
	run vert start --attach durable
	assert_success
	vert destroy durable
}

@test "an --rm VE that reboots from inside boots again on its volatile overlay" {
	# reboot(2) in the VE ends its init with SIGHUP: vert boots it again
	# on the same upper and work dirs, which the first (volatile) mount
	# has marked
	run vert run --rm --cap-add SYS_BOOT mini -- sh -c \
		'if [ -f /booted ]; then echo "second boot"; exit 7; fi; touch /booted; reboot -f'
	assert_failure 7
	assert_output --partial "second boot"
}

@test "bad names and bad flags get one-line errors and exit 125" {
	for n in "../x" "a/b" ".." ".x"; do
		run vert run --rm --name "$n" mini -- true
		assert_failure 125
		assert_output --partial "invalid VE name"
	done
	run vert run --rm -v relative:/x mini -- true
	assert_failure 125
	assert_output --partial "invalid volume"
	run vert run --rm -v /nonexistent-src:/x mini -- true
	assert_failure 125
	assert_output --partial "No such file or directory"
	run vert run --rm -u 'a:b:c' mini -- true
	assert_failure 125
	assert_output --partial "invalid user"
	run vert run --rm -e '=x' mini -- true
	assert_failure 125
	run vert run --rm --hostname 'bad_host!' mini -- true
	assert_failure 125
	assert_output --partial "invalid hostname"
	run vert run --rm -w relative mini -- true
	assert_failure 125
	run vert run --rm --net bridge0 mini -- true
	assert_failure 125
	assert_output --partial "network mode"
	run vert run --rm --memory 12X mini -- true
	assert_failure 125
	assert_output --partial "--memory"
	run vert run --rm
	assert_failure 125
	[ "$(count_state)" = "0" ] || [ "$(ls "$TEST_ROOT/ves")" = "kept" ]
}

@test "--help and the version" {
	run "$VERT_BIN" --help
	assert_success
	assert_output --partial "Usage: vert"
	run "$VERT_BIN" run --help
	assert_success
	assert_output --partial "--rm"
	run "$VERT_BIN" --version
	assert_success
	assert_output --regexp "^vert [0-9]+\.[0-9]+"
	run "$VERT_BIN" frobnicate
	assert_failure 2
}

@test "run -d starts the VE detached and prints its name; --rm removes it when it stops" {
	run vert run -d --name det1 mini -- sleep 1000
	assert_success
	assert_output "det1"
	run vert ps --format name,state -H
	assert_output --regexp "det1 +running"
	vert stop det1
	run vert ps -a --format name,state -H
	assert_output --regexp "det1 +stopped"
	vert destroy det1
	name=$(vert run -d --rm mini -- sleep 1000)
	vert stop "$name"
	! vert ps -aq | grep -qx "$name"
	[ ! -e "$TEST_ROOT/ves/$name" ]
}

@test "stop of an attached --rm VE returns once it is gone, with its run, and leaves no lock file" {
	# the run's removal used to wait for the lock the stop held while the
	# stop waited for the run: both stood 30 s, until the stop gave up
	"$VERT_BIN" --root "$TEST_ROOT" run --rm --name arm mini -- sh -c "$IDLE" \
		>"$BATS_TEST_TMPDIR/arm.out" 2>&1 &
	runpid=$!
	bg_track $runpid
	arm_running() { vert ps --format name,state -H | grep -Eq '^arm +running'; }
	wait_for -t 20 arm_running
	run timeout 15 "$VERT_BIN" --root "$TEST_ROOT" stop -t 5 arm
	assert_success
	# the stop returns after the run's process is done with the VE
	! vert ps -aq | grep -qx arm
	[ ! -e "$TEST_ROOT/ves/arm" ]
	[ ! -e "$TEST_ROOT/run/locks/ve.arm.lock" ]
	wait_for -t 10 pid_gone $runpid
	wait $runpid || { cat "$BATS_TEST_TMPDIR/arm.out"; false; }
}

@test "lock files of removed VEs do not pile up" {
	before=$(ls "$TEST_ROOT/run/locks" | wc -l)
	for i in 1 2 3 4 5; do vert run --rm mini -- true; done
	vert run --name lk1 mini -- true
	vert destroy lk1
	[ "$(ls "$TEST_ROOT/run/locks" | wc -l)" = "$before" ]
}

@test "VERT_ROOT moves all state like --root" {
	alt="$TEST_ROOT/alt"
	mkdir -p "$alt"
	# this file's own network, never the host's real vert0 (a bridge of
	# its own: a bridge serves one state root)
	net_conf_second "$alt"
	VERT_ROOT="$alt" "$VERT_BIN" template create alt --from busybox
	[ -d "$alt/templates/alt/rootfs" ]
	run env VERT_ROOT="$alt" "$VERT_BIN" run --rm alt -- echo via-env
	assert_output --partial "via-env"
	VERT_ROOT="$alt" "$VERT_BIN" template rm alt
}

@test "rootless state lives under XDG_DATA_HOME and XDG_RUNTIME_DIR" {
	is_root_mode && skip "rootless only (mode: $VERT_TEST_MODE)"
	home="$TEST_ROOT/home"
	mkdir -p "$home/data" "$home/run"
	chmod 700 "$home/run"
	run env -u VERT_ROOT HOME="$home" XDG_DATA_HOME="$home/data" XDG_RUNTIME_DIR="$home/run" \
		"$VERT_BIN" template create xdg --from busybox
	assert_success
	[ -d "$home/data/vert/templates/xdg/rootfs" ]
	run env HOME="$home" XDG_DATA_HOME="$home/data" XDG_RUNTIME_DIR="$home/run" \
		"$VERT_BIN" run --rm xdg -- echo xdg-ok
	assert_output --partial "xdg-ok"
	[ -d "$home/run/vert/ves" ]
	env HOME="$home" XDG_DATA_HOME="$home/data" XDG_RUNTIME_DIR="$home/run" \
		"$VERT_BIN" template rm xdg
}
