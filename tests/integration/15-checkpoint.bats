#!/usr/bin/env bats
# vert checkpoint / restore on this host.  CRIU 3.17 can't dump on kernels
# whose vDSO layout it doesn't know (6.18 here): the checkpoint must fail
# cleanly, with CRIU's reason, the VE still running and no image left.
# The real checkpoint/restore tests run in the VM (tests/vm/checkpoint.bats).

load helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

setup() {
	is_root_mode || skip "CRIU needs real root (mode $VERT_TEST_MODE)"
	"$VERT_BIN" --version | grep -q '+CRIU' || skip "vert built without CRIU"
	command -v criu >/dev/null || skip "criu is not installed"
	common_setup
}

ve_running() { vert ps --format name,state -H | grep -q "^$1 .*running"; }

@test "checkpoint of a running VE: works, or fails with CRIU's reason in one line and leaves the VE running" {
	vert create ck1 --template mini --userns host
	vert start ck1
	wait_for -t 5 ve_running ck1
	pid=$(ve_init_pid ck1)
	out="$BATS_TEST_TMPDIR/img"
	run vert checkpoint ck1 --output "$out"
	if [ "$status" = 0 ]; then
		# a kernel CRIU knows: the image is complete and the VE stopped
		[ -f "$out/image.json" ] && [ -d "$out/criu" ] && [ -d "$out/upper" ]
		run vert ps -a --format name,state -H
		assert_output --regexp "ck1 +stopped"
		skip "CRIU works on this kernel: see tests/vm/checkpoint.bats for restore"
	fi
	assert_failure
	[ "${#lines[@]}" = 1 ]
	assert_output --regexp "^vert: checkpoint: checkpoint VE 'ck1': criu: .+"
	# the VE runs on, same init
	ve_running ck1
	[ "$(ve_init_pid ck1)" = "$pid" ]
	run vert exec ck1 -- echo alive
	assert_output alive
	# nothing left: no image, no temporary dir beside it, none in the VE's dir
	[ ! -e "$out" ]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep -v '^ves.before$' | grep img || true)" ]
	[ ! -e "$TEST_ROOT/ves/ck1/checkpoint" ]
	! ls -A "$TEST_ROOT/ves/ck1" | grep -q tmp
	[ ! -e "$TEST_ROOT/run/ves/ck1/stopping" ]
	run vert stop ck1
	assert_success
	vert destroy ck1
}

@test "checkpoint of a default VE refuses an output without user xattrs before the dump, and it runs on" {
	vert create ckx --template mini
	vert start ckx
	wait_for -t 5 ve_running ckx
	pid=$(ve_init_pid ckx)
	# ramfs has no user.* xattrs (nor has tmpfs before 6.6), where the VE's
	# overlay keeps its opaque dirs: cp -a dropped them without a word
	mnt="$BATS_TEST_TMPDIR/ramfs"
	mkdir "$mnt"
	mount -t ramfs ramfs "$mnt"
	on_teardown "umount '$mnt'"
	run vert checkpoint ckx --output "$mnt/img"
	assert_failure 2
	[ "${#lines[@]}" = 1 ]
	assert_output --partial "'$mnt' is on a filesystem without user.* extended attributes"
	assert_output --partial "VE 'ckx'"
	[ -z "$(ls -A "$mnt")" ]
	[ "$(ve_init_pid ckx)" = "$pid" ]
	run vert exec ckx -- echo alive
	assert_output alive
	vert stop ckx
	vert destroy ckx
}

@test "a checkpoint killed as CRIU starts: its temporary image is removed by the VE's next command, default image or --output" {
	# a criu that SIGKILLs the checkpointing vert (libcriu's swrk is its child)
	mkdir "$BATS_TEST_TMPDIR/bin" "$BATS_TEST_TMPDIR/out"
	printf '#!/bin/sh\nkill -KILL $PPID\nexit 1\n' >"$BATS_TEST_TMPDIR/bin/criu"
	chmod +x "$BATS_TEST_TMPDIR/bin/criu"
	vert create ckk --template mini --userns host
	vert start ckk
	wait_for -t 5 ve_running ckk
	pid=$(ve_init_pid ckk)
	for out in "" "$BATS_TEST_TMPDIR/out/img"; do
		st=0
		PATH=$BATS_TEST_TMPDIR/bin:$PATH "$VERT_BIN" --root "$TEST_ROOT" checkpoint ckk \
			${out:+--output "$out"} || st=$?
		[ "$st" = 137 ]
		# what it left: the temporary image beside where the image goes
		[ -n "$(ls -d "$TEST_ROOT"/ves/ckk/.ckk.tmp-* "$BATS_TEST_TMPDIR"/out/.ckk.tmp-* 2>/dev/null)" ]
		# the next command that takes the VE's lock removes it; the VE runs on
		run vert set ckk --hostname ckk2
		assert_success
		[ -z "$(ls -d "$TEST_ROOT"/ves/ckk/.ckk.tmp-* "$BATS_TEST_TMPDIR"/out/.ckk.tmp-* 2>/dev/null)" ]
		[ ! -e "$TEST_ROOT/run/ves/ckk/checkpoint-tmp" ]
		[ "$(ve_init_pid ckk)" = "$pid" ]
	done
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/out")" ]
	vert stop ckk
	vert destroy ckk
}

@test "checkpoint refuses a VE that is not running, and an output that exists" {
	vert create ck2 --template mini --userns host
	run vert checkpoint ck2
	assert_failure 5
	assert_output --partial "VE 'ck2' is not running"
	vert start ck2
	wait_for -t 5 ve_running ck2
	mkdir "$BATS_TEST_TMPDIR/exists"
	run vert checkpoint ck2 --output "$BATS_TEST_TMPDIR/exists"
	assert_failure 4
	assert_output --partial "exists"
	ve_running ck2
	vert stop ck2
	vert destroy ck2
}

@test "restore refuses a missing image and a VE name in use" {
	run vert restore nosuch
	assert_failure 3
	vert create ck3 --template mini --userns host
	run vert restore ck3
	assert_failure
	assert_output --partial "checkpoint"
	mkdir -p "$BATS_TEST_TMPDIR/fake"
	run vert restore ck3 --input "$BATS_TEST_TMPDIR/fake"
	assert_failure 3
	assert_output --partial "image.json"
	# an image of a VE of that name from another state root
	echo '{"format": 1, "name": "ck3", "template": "mini", "data_root": "/elsewhere"}' \
		>"$BATS_TEST_TMPDIR/fake/image.json"
	echo '{}' >"$BATS_TEST_TMPDIR/fake/template.json"
	run vert restore ck3 --input "$BATS_TEST_TMPDIR/fake"
	assert_failure 4
	assert_output --partial "VE 'ck3' already exists"
	run vert ps -a --format name,state -H
	assert_output --regexp "ck3 +stopped"
	vert destroy ck3
}

@test "checkpoint of a default VE (its own user namespace): works, or fails cleanly and it runs on; migrate refuses an unreachable host" {
	vert create ckp --template mini
	on_teardown "vert destroy --force ckp"
	vert start ckp
	wait_for -t 5 ve_running ckp
	pid=$(ve_init_pid ckp)
	# CRIU runs in the VE's network namespace (src/ve/checkpoint.c); vert
	# comes back to its own whatever CRIU does
	run vert checkpoint ckp --output "$BATS_TEST_TMPDIR/img2"
	if [ "$status" = 0 ]; then
		[ -f "$BATS_TEST_TMPDIR/img2/image.json" ] && [ -d "$BATS_TEST_TMPDIR/img2/criu" ]
		skip "CRIU works on this kernel: see tests/vm/checkpoint.bats for restore"
	fi
	[ "${#lines[@]}" = 1 ]
	assert_output --regexp "^vert: checkpoint: checkpoint VE 'ckp': criu: .+"
	[ ! -e "$BATS_TEST_TMPDIR/img2" ]
	[ -z "$(ls -d "$BATS_TEST_TMPDIR"/.ckp.tmp-* 2>/dev/null)" ]
	ve_running ckp
	[ "$(ve_init_pid ckp)" = "$pid" ]
	VERT_SSH=false run vert migrate ckp nowhere.invalid
	assert_failure
	assert_output --partial "unreachable"
	[ "$(ve_init_pid ckp)" = "$pid" ]
	vert stop ckp
}

@test "a migrate killed while its ssh runs leaves no ssh behind; the VE runs on" {
	vert create ckm --template mini --userns host
	vert start ckm
	wait_for -t 5 ve_running ckm
	pid=$(ve_init_pid ckm)
	# an ssh that SIGKILLs the migrating vert and then hangs on: a shell's
	# ssh was no child of vert's, and PR_SET_PDEATHSIG reached only the shell
	cat >"$BATS_TEST_TMPDIR/hang-ssh" <<SH
#!/bin/sh
echo \$\$ >"$BATS_TEST_TMPDIR/ssh.pid"
for i in \$(seq 100); do [ -s "$BATS_TEST_TMPDIR/vert.pid" ] && break; sleep 0.1; done
kill -KILL "\$(cat "$BATS_TEST_TMPDIR/vert.pid")"
exec sleep 300
SH
	chmod +x "$BATS_TEST_TMPDIR/hang-ssh"
	on_teardown "kill -KILL \$(cat '$BATS_TEST_TMPDIR/ssh.pid')"
	VERT_SSH=$BATS_TEST_TMPDIR/hang-ssh "$VERT_BIN" --root "$TEST_ROOT" migrate ckm host2 &
	echo $! >"$BATS_TEST_TMPDIR/vert.pid"
	st=0
	wait $! || st=$?
	[ "$st" = 137 ]
	wait_for -t 10 test -s "$BATS_TEST_TMPDIR/ssh.pid"
	wait_for -t 10 sh -c "! kill -0 $(cat "$BATS_TEST_TMPDIR/ssh.pid") 2>/dev/null"
	run vert ps --format name,state -H
	assert_output --regexp "ckm +running"
	[ "$(ve_init_pid ckm)" = "$pid" ]
	vert stop ckm
	vert destroy ckm
}

@test "a VE killed while it is migrated: the migration says so, and nothing of it stays on the target" {
	vert create ckd --template mini
	on_teardown "vert destroy --force ckd"
	vert start ckd
	wait_for -t 5 ve_running ckd
	echo "$(ve_init_pid ckd)" >"$BATS_TEST_TMPDIR/kill.pid"
	# the target: a second state root on this host, through an ssh
	# stand-in that SIGKILLs the VE's init as the pre-copy sends its upper
	# dir (as the OOM killer did to a VE dirtying its memory in the VM)
	t2="$BATS_TEST_TMPDIR/target"
	"$VERT_BIN" --root "$t2" template create mini --from busybox >/dev/null
	cat >"$BATS_TEST_TMPDIR/ssh" <<SH
#!/bin/sh
shift
case "\$*" in *--xattrs*) [ -s "$BATS_TEST_TMPDIR/kill.pid" ] && kill -KILL "\$(cat "$BATS_TEST_TMPDIR/kill.pid")" && : >"$BATS_TEST_TMPDIR/kill.pid" ;; esac
exec sh -c "\$*"
SH
	chmod +x "$BATS_TEST_TMPDIR/ssh"
	VERT_SSH=$BATS_TEST_TMPDIR/ssh VERT_REMOTE="$VERT_BIN --root $t2" run vert migrate ckd host2
	assert_failure 5
	assert_output --partial "migrate VE 'ckd' to 'host2': the VE stopped while it was being migrated"
	# the kill did happen, and the target has no stage left, nor a VE
	[ ! -s "$BATS_TEST_TMPDIR/kill.pid" ]
	[ -z "$(ls -A "$t2/migrate-in" 2>/dev/null)" ]
	[ ! -e "$t2/ves/ckd" ]
	run vert ps -a --format name,state -H ckd
	assert_output --regexp "^ckd +stopped"
	vert destroy ckd
}

@test "ps says restoring while a restore holds the VE's lock, and stopped once a killed one is reconciled" {
	vert create ckr --template mini --net none
	on_teardown "vert destroy --force ckr"
	# what restore_boot leaves while it runs: the VE's lock held, a run
	# dir with the mark and no state yet
	mkdir -p "$TEST_ROOT/run/ves/ckr"
	: >"$TEST_ROOT/run/ves/ckr/restoring"
	lock="$TEST_ROOT/run/locks/ve.ckr.lock"
	flock "$lock" sh -c "echo \$\$ >'$BATS_TEST_TMPDIR/holder'; exec sleep 300" 3>&- &
	on_teardown "kill \$(cat '$BATS_TEST_TMPDIR/holder')"
	wait_for -t 5 test -s "$BATS_TEST_TMPDIR/holder"
	run vert ps -a --format name,state -H ckr
	assert_output --regexp "^ckr +restoring"
	run vert ps -a --json ckr
	[ "$(echo "$output" | jq -r '.[0].state')" = restoring ]
	run vert ps -q
	refute_output "ckr"
	# the restore killed: the next listing cleans up after it
	kill "$(cat "$BATS_TEST_TMPDIR/holder")"
	wait_for -t 5 flock -n "$lock" true
	run vert ps -a --format name,state -H ckr
	assert_output --regexp "^ckr +stopped"
	[ ! -e "$TEST_ROOT/run/ves/ckr" ]
	vert destroy ckr
}

@test "migrate --incoming makes a 0700 staging dir in the state root and prints it" {
	run vert migrate --incoming
	assert_success
	d=$output
	case $d in "$TEST_ROOT"/migrate-in/* | "$(realpath "$TEST_ROOT")"/migrate-in/*) ;; *) false ;; esac
	[ -d "$d/img" ]
	[ "$(stat -c %a "$d")" = 700 ] && [ "$(stat -c %a "$d/img")" = 700 ]
	run vert migrate --incoming
	[ "$output" != "$d" ]
	rm -rf "$TEST_ROOT/migrate-in"
	run vert migrate --incoming some-ve
	assert_failure 2
	assert_output --partial "--incoming takes no VE name or host"
}

@test "migrate --abandon waits for a restore that holds the image, then a restore from it is refused; a gone dir is no error" {
	img="$BATS_TEST_TMPDIR/in/img"
	mkdir -p "$img"
	echo '{"format": 1, "name": "cka", "template": "mini"}' >"$img/image.json"
	# a restore under way holds its image's lock (flock(2) on the dir)
	# (the sleep's pid is written: the sleep holds the lock, not flock)
	flock "$img" sh -c "echo \$\$ >'$BATS_TEST_TMPDIR/held'; exec sleep 60" 3>&- &
	holder=$!
	wait_for -t 10 test -s "$BATS_TEST_TMPDIR/held"
	# given up while it is held: the give-up waits (old vert: no such option)
	run timeout 2 "$VERT_BIN" --root "$TEST_ROOT" migrate --abandon "$img"
	[ "$status" = 124 ]
	[ ! -e "$img/abandoned" ]
	kill "$(cat "$BATS_TEST_TMPDIR/held")"
	wait "$holder" || true
	run vert migrate --abandon "$img"
	assert_success
	[ -f "$img/abandoned" ]
	# a restore that comes later is refused before it reads anything
	run vert restore cka --input "$img"
	assert_failure 2
	assert_output --partial "was given up by the migration that sent it"
	run vert ps -a -q
	refute_output --partial cka
	[ ! -e "$TEST_ROOT/ves/cka" ]
	# nothing to restore from: nothing to give up
	run vert migrate --abandon "$BATS_TEST_TMPDIR/nosuch/img"
	assert_success
	run vert migrate --abandon relative/img
	assert_failure 2
	assert_output --partial "absolute path"
	run vert migrate --abandon "$img" cka
	assert_failure 2
}
