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

@test "a #!/proc/self/exe script run by exec runs a sealed copy, not the host's vert" {
	vert create esc2 --template mini --net none $(vert_libs) -v "$PROBE:/probe:ro" -- sh -c "$IDLE"
	vert start esc2
	vert exec esc2 -- sh -c 'printf "#!/proc/self/exe\n" >/tmp/evil && chmod +x /tmp/evil &&
		mkfifo /tmp/fifo'
	# the loader blocks on the preload FIFO: the process holds its exe
	"$VERT_BIN" --root "$TEST_ROOT" exec -e LD_PRELOAD=/tmp/fifo esc2 -- /tmp/evil >/dev/null 2>&1 &
	bg_track $!
	run vert exec esc2 -- /probe exe-attack /tmp/evil /tmp/fifo
	assert_success
	assert_line --regexp '^exe='
	refute_line "exe=$(readlink -f "$VERT_BIN")"
	assert_line --regexp '^exe=/memfd:vert'
	refute_line "write=ok"
	assert_line --regexp "^write=E"
	vert destroy --force esc2
}

@test "a login shell of /proc/self/exe in the VE's passwd runs the sealed copy" {
	# every process of this VE preloads the FIFO (busybox and the probe
	# are static: only a dynamic vert's loader reads it)
	vert create esc3 --template mini --net none -e LD_PRELOAD=/tmp/fifo $(vert_libs) \
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
