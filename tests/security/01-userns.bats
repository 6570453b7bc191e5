#!/usr/bin/env bats
# A VE's root is not the host's root: every VE vert starts as root runs in
# a user namespace of its own, with a persistent range of 65536 host ids,
# over the one template, unchanged (issue 10, items 1-3).  Each test here
# passed before only as an escape: it fails on a vert without them.

load ../integration/helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

root_only() {
	is_root_mode || skip "root mode only (rootless VEs map the user's subuids)"
}

# first host uid of a VE's range (inspect)
range_of() {
	vert inspect "$1" | jq -r '.config.idmap.host_uid // .idmap.host_uid // empty'
}

@test "a root-mode VE's root is not the host's uid 0" {
	root_only
	run vert run --rm --net none mini -- cat /proc/self/uid_map /proc/self/gid_map
	assert_success
	read -r in out count <<<"$(echo "$output" | head -1)"
	[ "$in" = 0 ] && [ "$count" = 65536 ]
	[ "$out" -ge 65536 ]
	# the same range for gids
	[ "$(echo "$output" | sed -n 2p | awk '{print $2}')" = "$out" ]
	# and the user namespace is not the host's
	run vert run --rm --net none mini -- readlink /proc/self/ns/user
	[ "$output" != "$(readlink /proc/self/ns/user)" ]
}

@test "ranges are allocated at create, kept, shown, and never shared" {
	root_only
	vert create u1 --template mini --net none
	vert create u2 --template mini --net none
	on_teardown "vert destroy --force u1; vert destroy --force u2"
	a=$(range_of u1)
	b=$(range_of u2)
	[ -n "$a" ] && [ -n "$b" ]
	[ "$a" != "$b" ]
	# 64K-aligned slots: distinct bases never overlap
	[ $(( a > b ? a - b : b - a )) -ge 65536 ]
	vert start u1
	run vert exec u1 -- cat /proc/self/uid_map
	assert_output --regexp "^ *0 +$a +65536"
	run vert ps --json u1
	[ "$(echo "$output" | jq -r '.[0].idmap.host_uid')" = "$a" ]
	[ "$(echo "$output" | jq -r '.[0].userns')" = private ]
	vert stop u1
	vert start u1
	[ "$(range_of u1)" = "$a" ]
	run vert exec u1 -- cat /proc/self/uid_map
	assert_output --regexp "^ *0 +$a +65536"
	vert stop u1
	# the claim is host-wide and goes with the VE
	[ -f "/var/lib/vert/idmap/$a" ]
	vert destroy u1
	[ ! -f "/var/lib/vert/idmap/$a" ]
}

@test "the template stays root-owned and unchanged on the host; inside, root owns it" {
	root_only
	tpl="$TEST_ROOT/templates/mini/rootfs"
	before=$(find "$tpl" -printf '%U:%G %m %s %p\n' | sort | md5sum)
	run vert run --rm --net none mini -- sh -c 'stat -c "%u:%g" /bin/busybox /etc; echo x >/bin/new; rm /etc/passwd; ls -ln /bin/new'
	assert_success
	assert_line --index 0 "0:0"
	assert_line --index 1 "0:0"
	assert_output --partial " 0        0 "
	after=$(find "$tpl" -printf '%U:%G %m %s %p\n' | sort | md5sum)
	[ "$before" = "$after" ]
	[ "$(stat -c %u "$tpl/bin/busybox")" = 0 ]
}

@test "what the VE deletes from its template stays deleted across restarts" {
	root_only
	vert create del1 --template mini --net none
	on_teardown "vert destroy --force del1"
	vert start del1
	vert exec del1 -- sh -c 'rm -rf /etc && mkdir /etc && echo mine >/etc/own'
	vert stop del1
	vert start del1
	# (vert writes the VE's hostname there at every start, as vzctl does)
	run vert exec del1 -- sh -c 'ls /etc | grep -vx hostname'
	assert_output "own"
	vert stop del1
}

@test "a setuid-root file left in a volume is not setuid root on the host" {
	root_only
	vol="$TEST_ROOT/vol-suid"
	mkdir -m 1777 "$vol"
	run vert run --rm --net none -v "$vol:/vol" mini -- sh -c 'cp /bin/busybox /vol/sh && chmod 4755 /vol/sh && chown 0:0 /vol/sh; ls -ln /vol/sh'
	assert_success
	[ -f "$vol/sh" ]
	[ "$(stat -c %u "$vol/sh")" != 0 ]
	rm -f "$vol/sh"
}

@test "the VE's root can't write the host root's files through a volume" {
	root_only
	vol="$TEST_ROOT/vol-ro"
	mkdir "$vol"
	echo host >"$vol/file"
	chmod 644 "$vol/file"
	run vert run --rm --net none -v "$vol:/vol" mini -- sh -c 'echo owned >/vol/file'
	assert_failure
	[ "$(cat "$vol/file")" = host ]
	# it reads them, as nobody's
	run vert run --rm --net none -v "$vol:/vol" mini -- sh -c 'cat /vol/file; stat -c %u /vol/file'
	assert_line --index 0 host
	assert_line --index 1 65534
}

@test "a volume under a directory the VE's root can't enter still mounts" {
	root_only
	deep="$TEST_ROOT/private/vol"
	mkdir -p "$deep"
	chmod 700 "$TEST_ROOT/private"
	chmod 1777 "$deep"
	run vert run --rm --net none -v "$deep:/vol" mini -- sh -c 'echo in >/vol/x && cat /vol/x'
	assert_success
	assert_output in
}

@test "CAP_SYS_ADMIN in a VE is not the host's: /proc/sys/kernel/core_pattern stays" {
	root_only
	orig=$(cat /proc/sys/kernel/core_pattern)
	on_teardown "printf '%s\n' '$orig' >/proc/sys/kernel/core_pattern"
	run vert run --rm --net none --cap-add SYS_ADMIN mini -- sh -c 'umount /proc/sys 2>/dev/null; umount -l /proc/sys 2>/dev/null; echo "|/bin/evil" >/proc/sys/kernel/core_pattern && echo written'
	refute_output --partial written
	[ "$(cat /proc/sys/kernel/core_pattern)" = "$orig" ]
}

@test "--userns host is explicit, named unsafe, and gives the host's ids" {
	root_only
	run vert run --rm --net none --userns host mini -- cat /proc/self/uid_map
	assert_success
	assert_output --regexp "^ *0 +0 +4294967295"
	run vert run --rm --net none --userns bogus mini -- true
	assert_failure
	assert_output --partial "unsafe"
	run vert run --help
	assert_output --partial "--userns"
}

@test "a systemd template grants itself no host privilege under --userns host" {
	root_only
	tpl="$TEST_ROOT/templates/fakesd/rootfs"
	vert template create fakesd --from busybox
	on_teardown "vert template rm fakesd"
	mkdir -p "$tpl/lib/systemd"
	cp "$tpl/bin/busybox" "$tpl/lib/systemd/systemd"
	rm -f "$tpl/sbin/init"
	ln -s /lib/systemd/systemd "$tpl/sbin/init"
	run vert create sd1 --template fakesd --net none --userns host
	on_teardown "vert destroy --force sd1"
	assert_success
	run vert inspect sd1
	refute_output --partial CAP_SYS_ADMIN
	# with its own user namespace it gets it there
	run vert create sd2 --template fakesd --net none
	on_teardown "vert destroy --force sd2"
	run vert inspect sd2
	assert_output --partial CAP_SYS_ADMIN
}

@test "an exhausted pool is a clear error that leaves nothing behind" {
	root_only
	alt="$TEST_ROOT/pool"
	mkdir -p "$alt"
	net_conf_second "$alt"
	# one slot, far from any other pool
	echo '{"start": 4000000000, "size": 65536}' >"$alt/idmap.json"
	"$VERT_BIN" --root "$alt" template create p --from busybox
	on_teardown "'$VERT_BIN' --root '$alt' destroy --force one; '$VERT_BIN' --root '$alt' template rm p"
	"$VERT_BIN" --root "$alt" create one --template p --net none
	[ "$("$VERT_BIN" --root "$alt" inspect one | jq -r '.config.idmap.host_uid // .idmap.host_uid')" = 4000000000 ]
	run "$VERT_BIN" --root "$alt" create two --template p --net none
	assert_failure
	assert_output --partial "no free range"
	[ ! -d "$alt/ves/two" ]
	run "$VERT_BIN" --root "$alt" ps -aq
	assert_output one
}

@test "a pool slot that overlaps /etc/subuid is never handed out" {
	root_only
	line=$(awk -F: '$3 >= 65536 { print; exit }' /etc/subuid)
	[ -n "$line" ] || skip "no /etc/subuid range of 65536 ids or more"
	start=$(echo "$line" | cut -d: -f2)
	alt="$TEST_ROOT/subuid"
	mkdir -p "$alt"
	net_conf_second "$alt"
	# the only slot starts inside that range
	echo "{\"start\": $start, \"size\": 65536}" >"$alt/idmap.json"
	"$VERT_BIN" --root "$alt" template create p --from busybox
	on_teardown "'$VERT_BIN' --root '$alt' template rm p"
	run "$VERT_BIN" --root "$alt" create s1 --template p --net none
	assert_failure
	assert_output --partial "no free range"
}

@test "a volume with :idmap is the VE's root's as the host's root's, and nosuid" {
	root_only
	vol="$TEST_ROOT/vol-idmap"
	mkdir "$vol"
	echo host >"$vol/file"
	run vert run --rm --net none -v "$vol:/vol:idmap" mini -- sh -c 'stat -c %u /vol/file; echo ve >>/vol/file; cp /bin/busybox /vol/sh; chmod 4755 /vol/sh; grep " /vol " /proc/self/mountinfo'
	assert_success
	assert_line --index 0 0
	assert_output --partial nosuid
	[ "$(tail -1 "$vol/file")" = ve ]
	[ "$(stat -c %u "$vol/sh")" = 0 ]
	rm -f "$vol/sh"
	run vert run --rm --net none -v "$vol:/vol:ro,idmap" mini -- touch /vol/x
	assert_failure
	run vert run --rm --net none -v "$vol:/vol:bogus" mini -- true
	assert_failure
	assert_output --partial "'idmap'"
}

# the registry's claims that name this state root
claims_of_root() {
	grep -lx -- "$TEST_ROOT" /var/lib/vert/idmap/[0-9]* 2>/dev/null | while read -r f; do
		sed -n 2p "$f"
	done
}

@test "a create killed at any point leaves no uid range claimed once the next command ran" {
	root_only
	for delay in 0.001 0.005 0.01 0.02 0.04 0.08; do
		"$VERT_BIN" --root "$TEST_ROOT" create "kc$RANDOM" --template mini --net none &
		pid=$!
		sleep $delay
		kill -KILL $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
	done
	vert ps -a >/dev/null
	# every claim left belongs to a VE that exists
	for n in $(claims_of_root); do
		[ -f "$TEST_ROOT/ves/$n/config.json" ] || { echo "stale claim of '$n'"; false; }
	done
	for v in $(vert ps -aq); do vert destroy --force "$v"; done
	[ -z "$(claims_of_root)" ]
}

@test "a create killed just after its uid range's claim was linked leaves no claim once the next command ran" {
	root_only
	command -v strace >/dev/null || skip "strace is not installed"
	# the claim is linked, then the create sleeps 5 s (in linkat's exit)
	# and is killed there: with the index written after the claim, nothing
	# pointed the sweep at this claim and the range stayed taken for good
	strace -f -o /dev/null -e trace=linkat -e inject=linkat:delay_exit=5000000 \
		"$VERT_BIN" --root "$TEST_ROOT" create kl --template mini --net none &
	spid=$!
	bg_track $spid
	wait_for -t 20 sh -c "grep -qx kl \$(grep -lx -- '$TEST_ROOT' /var/lib/vert/idmap/[0-9]* 2>/dev/null | head -1) 2>/dev/null"
	vpid=$(pgrep -P $spid -x vert)
	[ -n "$vpid" ]
	kill -KILL "$vpid"
	wait $spid || true
	[ ! -e "$TEST_ROOT/ves/kl/config.json" ]
	[ "$(claims_of_root)" = kl ]
	vert ps -a >/dev/null
	[ -z "$(claims_of_root)" ]
}

@test "a create that finds a slot being claimed never takes it too" {
	root_only
	command -v strace >/dev/null || skip "strace is not installed"
	alt="$TEST_ROOT/race"
	slot=/var/lib/vert/idmap/4100000000
	mkdir -p "$alt"
	net_conf_second "$alt"
	# one slot, far from any other pool
	echo '{"start": 4100000000, "size": 65536}' >"$alt/idmap.json"
	"$VERT_BIN" --root "$alt" template create p --from busybox
	on_teardown "'$VERT_BIN' --root '$alt' destroy --force a b; '$VERT_BIN' --root '$alt' template rm p"
	# a's writes to the slot's claim file wait 3 s: a claim created empty
	# and written after was seen empty by b, taken for a stale one and
	# taken over, and both VEs had the range
	strace -f -o /dev/null -P "$slot" -e trace=write -e inject=write:delay_enter=3000000 \
		"$VERT_BIN" --root "$alt" create a --template p --net none &
	apid=$!
	bg_track $apid
	wait_for -t 20 test -e "$slot"
	run "$VERT_BIN" --root "$alt" create b --template p --net none
	assert_failure
	assert_output --partial "no free range"
	wait $apid
	[ "$("$VERT_BIN" --root "$alt" inspect a | jq -r '.config.idmap.host_uid // .idmap.host_uid')" = 4100000000 ]
	[ "$(sed -n 2p "$slot")" = a ]
	run "$VERT_BIN" --root "$alt" ps -aq
	assert_output a
}
