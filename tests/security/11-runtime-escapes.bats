#!/usr/bin/env bats
# The runtime's own escape classes (issue 10, item 5): no host fd while a
# VE path is resolved (runc CVE-2024-21626), and nothing in a VE can open
# or overwrite the host's vert binary (runc CVE-2019-5736).

load ../integration/helpers.bash

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

# -v options that give a busybox VE the loader and libraries of the vert
# binary, as a Debian VE has them: the host's vert can then run inside.
vert_libs() {
	local p
	for p in $(ldd "$VERT_BIN" | grep -o '/[^ ]*'); do
		[ -e "$p" ] && printf -- '-v %s:%s:ro ' "$(readlink -f "$p")" "$p"
	done
}

@test "a host directory fd is never open when the VE's cwd is resolved" {
	mkdir -p "$TEST_ROOT/hostdir"
	echo host-secret >"$TEST_ROOT/hostdir/secret"
	# fd 7: a host directory the caller happens to hold
	run vert run --rm --net none -w /proc/self/fd/7 mini -- sh -c 'readlink /proc/self/cwd; cat secret' 7<"$TEST_ROOT/hostdir"
	refute_output --partial host-secret
	refute_output --partial "$TEST_ROOT"
	assert_failure
}

@test "exec -w and a login home of the VE's own making can't reach a host fd" {
	mkdir -p "$TEST_ROOT/hostdir"
	echo host-secret >"$TEST_ROOT/hostdir/secret"
	vert create esc1 --template mini --net none -- sh -c "$IDLE"
	vert start esc1
	# the tenant points a symlink and root's home at /proc/self/fd/7
	vert exec esc1 -- sh -c 'ln -s /proc/self/fd/7 /tmp/l &&
		sed -i "s|^root:x:0:0:\([^:]*\):[^:]*:|root:x:0:0:\1:/tmp/l:|" /etc/passwd'
	run vert exec -w /tmp/l esc1 -- sh -c 'readlink /proc/self/cwd; cat secret' 7<"$TEST_ROOT/hostdir"
	refute_output --partial host-secret
	assert_failure
	run bash -c "echo 'readlink /proc/self/cwd; cat secret' | '$VERT_BIN' --root '$TEST_ROOT' enter esc1 7<'$TEST_ROOT/hostdir'"
	refute_output --partial host-secret
	refute_output --partial "$TEST_ROOT"
	# the cgroup directory fd (CLONE_INTO_CGROUP) and the init's pidfd
	# are not there either: only stdio and the sync socket are open
	run vert exec esc1 -- sh -c 'for n in 3 4 6 7 8 9 10 11 12 13 14 15 16; do cd /proc/self/fd/$n 2>/dev/null && pwd; done; echo done'
	assert_output "done"
	vert destroy --force esc1
}

# exe_attack_script NAME VERT CREATE-OPTS...: in VE NAME (made by VERT with
# the options), a #!/proc/self/exe script run by `VERT exec`, held by its
# loader, is attacked as runc CVE-2019-5736 was: its /proc/PID/exe opened,
# and written back through once it is gone.  The probe's lines in $output.
exe_attack_script() {
	local name=$1 bin=$2
	shift 2
	"$bin" --root "$TEST_ROOT" create "$name" --template mini --net none $(vert_libs) \
		-v "$PROBE:/probe:ro" "$@" -- sh -c "$IDLE"
	"$bin" --root "$TEST_ROOT" start "$name"
	vert exec "$name" -- sh -c 'printf "#!/proc/self/exe\n" >/tmp/evil && chmod +x /tmp/evil &&
		mkfifo /tmp/fifo'
	# the loader blocks on the preload FIFO: the process holds its exe
	"$bin" --root "$TEST_ROOT" exec -e LD_PRELOAD=/tmp/fifo "$name" -- /tmp/evil >/dev/null 2>&1 &
	bg_track $!
	run vert exec "$name" -- /probe exe-attack /tmp/evil /tmp/fifo
	assert_success
}

@test "a #!/proc/self/exe script run by exec in a VE without a user namespace runs a sealed copy, not the host's vert" {
	is_root_mode || skip "--userns host needs real root (mode $VERT_TEST_MODE)"
	sum=$(sha256sum <"$VERT_BIN")
	exe_attack_script esc2 "$VERT_BIN" --userns host
	assert_line --regexp '^exe='
	refute_line "exe=$(readlink -f "$VERT_BIN")"
	assert_line --regexp '^exe=/memfd:vert'
	refute_line "write=ok"
	assert_line --regexp "^write=E"
	[ "$(sha256sum <"$VERT_BIN")" = "$sum" ]
	vert destroy --force esc2
}

@test "a #!/proc/self/exe script run by exec in a VE of its own user namespace reaches the host's vert, and can't write it" {
	# no sealed copy for it (ve_exe_guard): its root maps no host uid 0,
	# so the kernel refuses it a write to the root-owned binary
	[ "$(stat -c %u "$(readlink -f "$VERT_BIN")")" = 0 ] || skip "the vert binary is not root's"
	sum=$(sha256sum <"$VERT_BIN")
	exe_attack_script esc2u "$VERT_BIN"
	assert_line "exe=$(readlink -f "$VERT_BIN")"
	refute_line "write=ok"
	assert_line "write=EACCES"
	[ "$(sha256sum <"$VERT_BIN")" = "$sum" ]
	vert destroy --force esc2u
}

@test "a vert binary others may write gets the sealed copy for a VE of its own user namespace too" {
	# a copy of vert (and vert-monitor beside it) whose group may write it
	d=$BATS_TEST_TMPDIR/gw
	mkdir -p "$d"
	cp "$VERT_BIN" "$d/vert"
	cp "$(dirname "$VERT_BIN")/vert-monitor" "$d/" 2>/dev/null || true
	chmod 0775 "$d/vert"
	sum=$(sha256sum <"$d/vert")
	exe_attack_script esc2g "$d/vert"
	# the script was run by the group-writable copy: the sealed one held it
	assert_line --regexp '^exe=/memfd:vert'
	refute_line "write=ok"
	[ "$(sha256sum <"$d/vert")" = "$sum" ]
	vert destroy --force esc2g
}

@test "a login shell of /proc/self/exe in the passwd of a VE without a user namespace runs the sealed copy" {
	is_root_mode || skip "--userns host needs real root (mode $VERT_TEST_MODE)"
	# every process of this VE preloads the FIFO (busybox and the probe
	# are static: only a dynamic vert's loader reads it)
	vert create esc3 --template mini --net none --userns host -e LD_PRELOAD=/tmp/fifo $(vert_libs) \
		-v "$PROBE:/probe:ro" -- sh -c "$IDLE"
	vert start esc3
	vert exec esc3 -- sh -c 'sed -i "s|^\(root:.*:\)[^:]*$|\1/proc/self/exe|" /etc/passwd &&
		grep "^root:.*:/proc/self/exe$" /etc/passwd && mkfifo /tmp/fifo'
	# enter: the login shell from the VE's passwd, argv[0] "-exe"
	"$VERT_BIN" --root "$TEST_ROOT" enter esc3 </dev/null >/dev/null 2>&1 &
	bg_track $!
	run vert exec esc3 -- /probe exe-attack -exe /tmp/fifo
	assert_success
	assert_line --regexp '^exe=/memfd:vert'
	refute_line "write=ok"
	assert_line --regexp "^write=E"
	vert destroy --force esc3
}
