#!/usr/bin/env bats
# Persistent VEs: create, start, stop, restart, kill, destroy, set, exec,
# enter, ps, top, inspect, logs.

load helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

ve_running() { vert ps --format name,state -H | grep -q "^$1 .*running"; }
wait_running() { wait_for -t 5 ve_running "$1"; }

# VEs and templates a test names in CLEANUP_VES / CLEANUP_TEMPLATES go,
# whatever the test's outcome.
teardown() {
	local v pid
	# a start left blocked on its FIFO (the test failed before unblocking
	# it): let it read, so it ends
	pid=$(jq -r '.pid // empty' "$TEST_ROOT/run/ves/dying1/state.json" 2>/dev/null) || true
	if [ -n "$pid" ] && [ -p "/proc/$pid/root/etc/passwd" ]; then
		timeout 5 sh -c "echo >/proc/$pid/root/etc/passwd" || true
	fi
	[ -n "${spid:-}" ] && { wait "$spid" 2>/dev/null || true; }
	for v in ${CLEANUP_VES:-}; do
		vert destroy --force "$v" >/dev/null 2>&1 || true
	done
	for v in ${CLEANUP_TEMPLATES:-}; do
		vert template rm "$v" >/dev/null 2>&1 || true
	done
	rm -rf "$TEST_ROOT/fakesd-src"
	common_teardown
}

@test "create makes a stopped VE; start boots /sbin/init detached; stop brings it down" {
	run vert create web1 --template mini
	assert_success
	[ -f "$TEST_ROOT/ves/web1/config.json" ]
	run vert ps -a --format name,state -H
	assert_output --regexp "^web1 +stopped$"
	run vert ps -q
	refute_output --partial web1
	run vert start web1
	assert_success
	wait_running web1
	pid=$(vert inspect web1 | jq -r .status.pid)
	[ "$(cat /proc/$pid/comm)" = init ]
	# detached: the init is not our child and has no terminal of ours
	[ "$(awk '{print $7}' /proc/$pid/stat)" = 0 ] || [ "$(readlink /proc/$pid/fd/0)" != "$(readlink /proc/$$/fd/0)" ]
	run vert stop web1
	assert_success
	[ ! -e /proc/$pid ]
	run vert ps -a --format name,state -H
	assert_output --regexp "^web1 +stopped$"
	[ ! -e "$TEST_ROOT/run/ves/web1" ]
}

@test "exit codes: not found 3, exists 4, not running 5, running 6, invalid 2" {
	run vert start nosuchve
	assert_failure 3
	assert_output --partial "VE 'nosuchve' not found"
	run vert create web1 --template mini
	assert_failure 4
	assert_output --partial "already exists"
	run vert stop web1
	assert_failure 5
	assert_output --partial "not running"
	vert start web1
	run vert start web1
	assert_failure 6
	assert_output --partial "already running"
	run vert destroy web1
	assert_failure 6
	run vert create 'bad/name' --template mini
	assert_failure 2
	run vert create ok1 --template nosuchtemplate
	assert_failure 3
	run vert create ok2
	assert_failure 2
	assert_output --partial "--template"
	run vert kill nosuchve
	assert_failure 3
	vert stop web1
}

@test "numeric names work, as vzctl users expect" {
	run vert create 101 --template mini
	assert_success
	vert start 101
	run vert exec 101 -- hostname
	assert_success
	assert_output "101"
	vert destroy --force 101
	run vert ps -aq
	refute_name "101"
}

@test "exec joins every namespace, the capabilities and the seccomp filter of the init" {
	vert create ns1 --template mini
	vert start ns1
	pid=$(vert inspect ns1 | jq -r .status.pid)
	run vert exec ns1 -- sh -c 'for n in mnt pid uts ipc net cgroup user; do echo "$n $(readlink /proc/self/ns/$n)"; done; grep -E "^(CapBnd|NoNewPrivs|Seccomp):" /proc/self/status'
	assert_success
	for n in mnt pid uts ipc net cgroup user; do
		want=$(readlink /proc/$pid/ns/$n)
		echo "$output" | grep -qxF "$n $want"
	done
	init_caps=$(grep '^CapBnd' /proc/$pid/status | awk '{print $2}')
	assert_line --regexp "^CapBnd:\s+$init_caps$"
	assert_line --regexp "^NoNewPrivs:\s+1$"
	assert_line --regexp "^Seccomp:\s+2$"
	# the exec'd process is inside the VE's pid namespace, not PID 1
	run vert exec ns1 -- sh -c 'echo $$'
	[ "$output" -gt 1 ]
	vert stop ns1
}

@test "exec returns the command's status, 126/127, env, user and workdir" {
	vert create ex1 --template mini -e FROMCFG=yes
	vert start ex1
	run vert exec ex1 -- sh -c 'exit 42'
	assert_failure 42
	run -127 vert exec ex1 -- nosuchcmd
	run vert exec ex1 -- /etc/passwd
	assert_failure 126
	run vert exec -e X=1 -w /tmp ex1 -- sh -c 'echo "$X $FROMCFG $(pwd)"'
	assert_output "1 yes /tmp"
	if [ "$VERT_TEST_MODE" != unshare ]; then
		run vert exec -u 1000:1000 ex1 -- id -u
		assert_output "1000"
	fi
	run bash -c "echo piped | '$VERT_BIN' --root '$TEST_ROOT' exec ex1 -- cat"
	assert_output "piped"
	run vert exec ex1
	assert_failure 125
	run vert exec nosuchve -- true
	assert_failure 125
	assert_output --partial "not found"
	vert stop ex1
	run vert exec ex1 -- true
	assert_failure 125
	assert_output --partial "not running"
}

@test "exec -t and enter give a pty; enter is root's login shell" {
	vert create tty1 --template mini
	vert start tty1
	run script -qec "'$VERT_BIN' --root '$TEST_ROOT' exec -t tty1 -- sh -c 'tty; id -u'" /dev/null
	assert_success
	assert_output --regexp "/dev/pts/[0-9]+"
	run bash -c "printf 'echo \$0; id -u; exit 5\n' | script -qec \"'$VERT_BIN' --root '$TEST_ROOT' enter tty1\" /dev/null"
	assert_failure 5
	assert_output --partial "-sh"
	vert stop tty1
}

@test "a process started by exec dies with the VE on stop" {
	vert create ex2 --template mini
	vert start ex2
	# a number of this run's own: other test runs on the machine sleep too
	nap=$((7770000 + $$))
	vert exec ex2 -- sh -c "sleep $nap & echo started" </dev/null
	# the shell may be gone before its background child has exec'd sleep
	wait_for pgrep -xf "sleep $nap"
	vert stop ex2
	run pgrep -xf "sleep $nap"
	assert_failure
}

@test "reboot inside the VE restarts it alone; poweroff stops it" {
	vert create rb1 --template mini
	vert create rb2 --template mini
	vert start rb1
	vert start rb2
	p1=$(vert inspect rb1 | jq -r .status.pid)
	p2=$(vert inspect rb2 | jq -r .status.pid)
	vert exec rb1 -- reboot
	wait_rebooted rb1 "$p1"
	run vert inspect rb1
	echo "$output" | jq -e '.status.running == true'
	echo "$output" | jq -e '.status.last_exit.reason == "reboot"'
	# the neighbour was not touched
	[ "$(vert inspect rb2 | jq -r .status.pid)" = "$p2" ]
	vert exec rb1 -- poweroff
	wait_stopped rb1
	run vert inspect rb1
	echo "$output" | jq -e '.status.running == false and .status.last_exit.reason == "halt"'
	[ "$(vert inspect rb2 | jq -r .status.pid)" = "$p2" ]
	# the init is gone (not running) before its supervisor has torn the
	# VE down and removed the run dir: on a loaded host that takes a while
	wait_for test ! -e "$TEST_ROOT/run/ves/rb1"
	vert stop rb2
}

@test "stop: SIGTERM first; after the timeout everything is killed" {
	# an init that ignores SIGTERM: stop must fall back to killing it
	vert create stubborn --template mini -- sh -c 'trap "echo got TERM" TERM; while :; do sleep 0.1; done'
	vert start stubborn
	wait_trap stubborn TERM
	start=$(date +%s%N)
	run vert stop -t 1 stubborn
	assert_success
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$ms" -ge 900 ]
	run vert logs stubborn
	assert_output --partial "got TERM"
	# an init without a handler (sleep as PID 1) stops at once
	vert create sleeper --template mini -- sleep 10000
	vert start sleeper
	run vert stop -t 30 sleeper
	assert_success
	run vert inspect sleeper
	echo "$output" | jq -e '.status.running == false'
}

@test "stop --all stops every running VE in parallel, each within its own timeout" {
	# one that ignores SIGTERM (killed after its 2 s), one that stops at once
	vert create all1 --template mini --stop-timeout 2 -- sh -c 'trap "" TERM; while :; do sleep 0.1; done'
	vert create all2 --template mini --stop-timeout 2 -- sh -c 'trap "" TERM; while :; do sleep 0.1; done'
	vert create all3 --template mini -- sleep 10000
	vert create all4 --template mini
	vert start all1 all2 all3
	sleep 0.3
	start=$(date +%s%N)
	run vert stop --all
	assert_success
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_line --regexp "^stopped all1 \([0-9.]+ s\)$"
	assert_line --regexp "^stopped all2 "
	assert_line --regexp "^stopped all3 "
	refute_output --partial all4
	# in parallel: both slow ones in about one timeout, not two
	[ "$ms" -ge 1900 ] && [ "$ms" -lt 3900 ]
	run vert ps -q
	refute_name all1
	refute_name all3
	run vert stop --all
	assert_success
	assert_output "no running VE"
	run vert stop --all all1
	assert_failure 2
	vert destroy all1 all2 all3 all4
}

@test "--stop-signal is used by stop" {
	vert create sig1 --template mini --stop-signal USR1 -- sh -c 'trap "echo got USR1; exit 0" USR1; while :; do sleep 0.1; done'
	vert start sig1
	wait_trap sig1 USR1
	run vert stop sig1
	assert_success
	run vert logs sig1
	assert_output --partial "got USR1"
	run vert inspect sig1
	echo "$output" | jq -e '.config.stop_signal == "SIGUSR1"'
}

@test "restart and kill" {
	vert create rk1 --template mini
	vert start rk1
	p1=$(vert inspect rk1 | jq -r .status.pid)
	run vert restart rk1
	assert_success
	p2=$(vert inspect rk1 | jq -r .status.pid)
	[ "$p1" != "$p2" ]
	run vert kill rk1 TERM
	assert_success
	run vert kill rk1 BOGUS
	assert_failure 2
	run vert kill rk1
	assert_success
	wait_stopped rk1 50
	run vert inspect rk1
	echo "$output" | jq -e '.status.running == false'
	run vert restart rk1
	assert_success
	vert stop rk1
}

@test "destroy removes everything; --force stops first" {
	vert create d1 --template mini
	vert start d1
	vert exec d1 -- sh -c 'echo data > /root/file'
	[ -f "$TEST_ROOT/ves/d1/upper/root/file" ]
	run vert destroy d1
	assert_failure 6
	run vert destroy --force d1
	assert_success
	[ ! -e "$TEST_ROOT/ves/d1" ]
	[ ! -e "$TEST_ROOT/run/ves/d1" ]
	run vert destroy d1
	assert_failure 3
}

@test "set: persisted always, hostname live, the rest at the next start" {
	vert create s1 --template mini
	vert start s1
	run vert set s1 --hostname newname -e K=v
	assert_success
	assert_output --partial "next start"
	run vert exec s1 -- hostname
	assert_output "newname"
	run vert exec s1 -- sh -c 'echo "${K:-unset}"'
	# exec compiles the current config: new env applies to new processes
	assert_output "v"
	run vert inspect s1
	echo "$output" | jq -e '.config.hostname == "newname" and (.config.env | index("K=v"))'
	run vert set s1 --hostname 'bad host'
	assert_failure 2
	run vert set s1
	assert_failure 2
	run vert set nosuch --hostname x
	assert_failure 3
	vert stop s1
	run vert set s1 --onboot
	assert_success
	run vert inspect s1
	echo "$output" | jq -e '.config.onboot == true'
}

@test "set --hostname on a running VE renames it in /etc/hostname and /etc/hosts too" {
	# the network's generated files (bind mounts) and, with --net none,
	# the VE's own files (through its overlay, into its upper layer)
	vert create hn1 --template mini --hostname old1
	vert create hn2 --template mini --net none
	vert start hn1
	vert start hn2
	vert exec hn2 -- sh -c 'printf "127.0.0.1 localhost\n127.0.1.1 hn2 # me\n" >/etc/hosts'
	run vert set hn1 --hostname new1.example.org
	assert_success
	run vert exec hn1 -- cat /etc/hostname /etc/hosts
	assert_line "new1.example.org"
	assert_line --regexp "^[0-9.]+	new1\.example\.org$"
	refute_output --partial old1
	run vert set hn2 --hostname renamed2
	assert_success
	run vert exec hn2 -- sh -c 'hostname; cat /etc/hostname /etc/hosts'
	assert_output "$(printf 'renamed2\nrenamed2\n127.0.0.1 localhost\n127.0.1.1 renamed2 # me')"
	[ "$(cat "$TEST_ROOT/ves/hn2/upper/etc/hostname")" = renamed2 ]
	# and the next start agrees
	vert restart hn1
	run vert exec hn1 -- cat /etc/hostname
	assert_output "new1.example.org"
	# a read-only root: the hostname is set, the files can't follow
	vert create hn3 --template mini --net none --read-only
	vert start hn3
	run vert set hn3 --hostname ro3
	assert_success
	assert_output --partial "/etc/hostname and /etc/hosts still say 'hn3'"
	run vert exec hn3 -- hostname
	assert_output ro3
	vert destroy --force hn1 hn2 hn3
}

# A template with an identity to copy: mini plus a machine-id and ssh host
# keys, and (keygen) an ssh-keygen that makes a new, random key.
identity_template() {
	local src=$BATS_TEST_TMPDIR/$1
	cp -a "$TEST_ROOT/templates/mini/rootfs" "$src"
	echo 0123456789abcdef0123456789abcdef >"$src/etc/machine-id"
	mkdir -p "$src/etc/ssh"
	echo template-key >"$src/etc/ssh/ssh_host_ed25519_key"
	echo template-pub >"$src/etc/ssh/ssh_host_ed25519_key.pub"
	if [ "$2" = keygen ]; then
		mkdir -p "$src/usr/bin"
		cat >"$src/usr/bin/ssh-keygen" <<-'EOF'
		#!/bin/sh
		[ "$1" = -A ] || exit 1
		[ -e /etc/ssh/ssh_host_ed25519_key ] && exit 0
		cat /proc/sys/kernel/random/uuid >/etc/ssh/ssh_host_ed25519_key
		echo pub >/etc/ssh/ssh_host_ed25519_key.pub
		EOF
		chmod 755 "$src/usr/bin/ssh-keygen"
	fi
	vert template import "$1" "$src"
	rm -rf "$src"
}

@test "each VE has its own machine-id, and new ssh host keys from its first start on" {
	identity_template idt keygen
	vert create id1 --template idt
	vert create id2 --template idt
	m1=$(vert inspect id1 | jq -r .config.machine_id)
	m2=$(vert inspect id2 | jq -r .config.machine_id)
	[[ "$m1" =~ ^[0-9a-f]{32}$ ]]
	[ "$m1" != "$m2" ]
	vert start id1
	run vert exec id1 -- cat /etc/machine-id
	assert_output "$m1"
	# the keys are made by the init's first steps, after start returned
	wait_for vert exec id1 -- test -s /etc/ssh/ssh_host_ed25519_key.pub
	run vert exec id1 -- cat /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub
	refute_output --partial template-
	assert_line pub
	key1=$(vert exec id1 -- cat /etc/ssh/ssh_host_ed25519_key)
	# the template's keys are deleted through the overlay (whiteouts in the
	# upper layer); the template itself is untouched
	[ "$(cat "$TEST_ROOT/templates/idt/rootfs/etc/ssh/ssh_host_ed25519_key")" = template-key ]
	vert inspect id1 | jq -e '.config.ssh_keygen != true'
	# later starts keep the VE's keys
	vert restart id1
	[ "$(vert exec id1 -- cat /etc/ssh/ssh_host_ed25519_key)" = "$key1" ]
	vert start id2
	wait_for vert exec id2 -- test -s /etc/ssh/ssh_host_ed25519_key.pub
	[ "$(vert exec id2 -- cat /etc/ssh/ssh_host_ed25519_key)" != "$key1" ]
	[ "$(vert exec id2 -- cat /etc/machine-id)" = "$m2" ]
	vert destroy --force id1 id2
	vert template rm idt
}

@test "a template with ssh host keys and no ssh-keygen: the VE gets none, and is told so" {
	identity_template idn
	run vert create idn1 --template idn
	assert_success
	assert_output --partial "no ssh-keygen"
	vert start idn1
	run vert exec idn1 -- ls /etc/ssh
	assert_success
	assert_output ""
	vert destroy --force idn1
	vert template rm idn
}

@test "start --onboot starts the VEs marked onboot, and only those" {
	vert create ob1 --template mini --onboot
	vert create ob2 --template mini
	run vert start --onboot
	assert_success
	run vert ps -q
	assert_line "ob1"
	refute_name "ob2"
	vert stop ob1
	vert set ob1 --no-onboot
}

@test "start --attach stays in the foreground with the init's status" {
	vert create att1 --template mini -- sh -c 'echo attached-output; exit 3'
	run vert start --attach att1
	assert_failure 3
	assert_output --partial "attached-output"
	run vert inspect att1
	echo "$output" | jq -e '.status.running == false'
}

@test "ps, --json, --format, top, inspect" {
	vert create p1 --template mini
	vert create p0stopped --template mini
	vert start p1
	run vert ps
	assert_success
	assert_line --index 0 --regexp "^NAME +STATE +PID +IP +MEM +CPU +PIDS +UPTIME +TEMPLATE$"
	assert_output --regexp "p1 +running +[0-9]+ "
	run vert ps --json
	echo "$output" | jq -e '.[] | select(.name=="p1") | .state=="running" and (.pid > 1) and .template=="mini" and (.uptime >= 0)'
	run vert ps -a --json
	echo "$output" | jq -e 'map(.name) | index("p0stopped")'
	run vert ps --json
	echo "$output" | jq -e 'map(.name) | index("p0stopped") == null'
	run vert ps --format name,pid --no-header
	assert_output --regexp "p1 +[0-9]+"
	run vert ps --format name,bogus
	assert_failure 2
	run vert top p1
	assert_success
	assert_line --index 0 --regexp "^HOST-PID +VE-PID"
	assert_output --regexp "[0-9]+ +1 +0 .*init"
	vert exec p1 -- sh -c 'sleep 600 &'
	# the backgrounded child may not have exec'd sleep yet when exec returns
	wait_for sh -c "'$VERT_BIN' --root '$TEST_ROOT' top p1 --json | jq -e 'map(select(.comm==\"sleep\")) | length == 1'"
	run vert top p1 --json
	echo "$output" | jq -e 'map(select(.comm=="sleep")) | length == 1'
	echo "$output" | jq -e 'map(select(.ve_pid==1)) | length == 1'
	run vert inspect p1
	echo "$output" | jq -e '.config.schema == 1 and .config.name == "p1" and .status.running and .paths.data'
	run vert inspect nosuch
	assert_failure 3
	vert stop p1
}

@test "logs: the init's console output, --tail and -f" {
	vert create l1 --template mini -- sh -c 'for i in 1 2 3 4 5; do echo line$i; done; sleep 1; echo late; sleep 600'
	vert start l1
	logged() { vert logs l1 | grep -qx "$1"; }
	wait_for logged line5
	run vert logs l1
	assert_success
	assert_line "line1"
	assert_line "line5"
	run vert logs --tail 2 l1
	assert_output "$(printf 'line4\nline5')"
	# stop once "late" is logged and logs -f follows
	following() { pgrep -f -- "--root $TEST_ROOT logs -f l1" >/dev/null; }
	( wait_for logged late && wait_for following; "$VERT_BIN" --root "$TEST_ROOT" stop l1 ) &
	bg_track $!
	run timeout 10 "$VERT_BIN" --root "$TEST_ROOT" logs -f l1
	assert_success
	assert_line "late"
	wait
}

@test "config.json: unknown keys and a newer schema are refused with a clear message" {
	vert create cfg1 --template mini
	cp "$TEST_ROOT/ves/cfg1/config.json" "$TEST_ROOT/cfg1.bak"
	jq '.colour = "blue"' "$TEST_ROOT/cfg1.bak" > "$TEST_ROOT/ves/cfg1/config.json"
	run vert start cfg1
	assert_failure 2
	assert_output --partial "unknown key 'colour'"
	jq '.schema = 7' "$TEST_ROOT/cfg1.bak" > "$TEST_ROOT/ves/cfg1/config.json"
	run vert start cfg1
	assert_failure 2
	assert_output --partial "schema"
	cp "$TEST_ROOT/cfg1.bak" "$TEST_ROOT/ves/cfg1/config.json"
	run vert start cfg1
	assert_success
	vert stop cfg1
}

@test "state.json of the wrong type: an error naming file and key; the VE is neither running nor lost" {
	vert create bad1 --template mini
	vert start bad1
	wait_running bad1
	sf="$TEST_ROOT/run/ves/bad1/state.json"
	cp "$sf" "$TEST_ROOT/bad1-state.bak"
	pid=$(jq -r .pid "$sf")
	jq '.pid = (.pid | tostring)' "$TEST_ROOT/bad1-state.bak" > "$TEST_ROOT/bad1-state.bad"
	cp "$TEST_ROOT/bad1-state.bad" "$sf"
	run vert ps -a --format name,state -H
	assert_success
	assert_output --partial "$sf: key 'pid': expected an integer, got a string"
	assert_output --regexp "bad1 +stopped"
	# nothing cleaned up on a guess: config, state and the init are there
	[ -f "$TEST_ROOT/ves/bad1/config.json" ]
	[ -f "$sf" ]
	kill -0 "$pid"
	# verbs that act on the instance refuse, saying why
	run vert stop bad1
	assert_failure
	assert_output --partial "$sf: key 'pid': expected an integer"
	run vert exec bad1 -- true
	assert_failure
	assert_output --partial "$sf: key 'pid'"
	# and a start, which would make a second instance
	run vert start bad1
	assert_failure
	assert_output --partial "$sf: key 'pid'"
	cmp "$sf" "$TEST_ROOT/bad1-state.bad"
	run vert inspect bad1
	assert_output --partial "key 'pid'"
	# repaired, it is the running VE it was
	cp "$TEST_ROOT/bad1-state.bak" "$sf"
	wait_running bad1
	[ "$(vert inspect bad1 | jq -r .status.pid)" = "$pid" ]
	vert stop bad1
	vert destroy bad1
}

@test "ps NAME... lists those VEs, running or not; list and ls are ps" {
	CLEANUP_VES="pn1 pn2 pn3"
	vert create pn1 --template mini
	vert create pn2 --template mini
	vert create pn3 --template mini
	vert start pn1
	run vert ps --format name,state -H pn2 pn1
	assert_success
	assert_line --index 0 --regexp "^pn1 +running$"
	assert_line --index 1 --regexp "^pn2 +stopped$"
	refute_output --partial pn3
	run vert ps -q pn2 nosuchve
	assert_failure 3
	assert_line "vert: ps: VE 'nosuchve' not found"
	assert_line pn2
	for alias in list ls; do
		run vert "$alias" -q
		assert_success
		assert_line pn1
		refute_output --partial pn2
		run vert "$alias" -a -q
		assert_line pn2
		assert_line pn3
		run vert "$alias" --json pn3
		echo "$output" | jq -e 'length == 1 and .[0].name == "pn3" and .[0].state == "stopped"'
	done
	run vert --help
	assert_output --partial "(also: list, ls)"
	vert stop pn1
}

@test "set --help has -h; man pages name only pages that exist; import says why it fails" {
	run vert set --help
	assert_success
	assert_line --regexp "^ +-h, --help +show this help$"
	man="$BATS_TEST_DIRNAME/../../man"
	refs=$(grep -ho '^\.BR vert[-a-z]* ([0-9])' "$man"/*.[0-9] | awk '{print $2}' | sort -u)
	[ -n "$refs" ]
	for ref in $refs; do
		[ -f "$man/$ref.1" ] || { echo "$ref(1) is referred to but has no page"; return 1; }
	done
	run vert template import imp1 /nonexistent
	assert_failure 3
	assert_output "vert: template import: import source '/nonexistent': No such file or directory"
}

@test "the 'boots systemd' notice comes only with a create that succeeded" {
	CLEANUP_VES="sdn1"
	CLEANUP_TEMPLATES="fakesd"
	# a template whose /sbin/init resolves to a file named systemd
	src="$TEST_ROOT/fakesd-src"
	cp -a "$TEST_ROOT/templates/mini/rootfs" "$src"
	mkdir -p "$src/lib/systemd"
	cp "$src/bin/busybox" "$src/lib/systemd/systemd"
	ln -sfn /lib/systemd/systemd "$src/sbin/init"
	vert template import fakesd "$src"
	run vert create sdn1 --template fakesd
	assert_success
	assert_output --partial "boots systemd"
	# the second create fails (the name exists): no notice
	run vert create sdn1 --template fakesd
	assert_failure 4
	assert_output --partial "already exists"
	refute_output --partial "boots systemd"
}

@test "a start that dies after its init exists never shows as running" {
	# the test reaches the VE's root through /proc/PID/root, which needs
	# the host's root (the init is not dumpable while it starts)
	is_root_mode || skip "needs real root to hold a start (mode: $VERT_TEST_MODE)"
	CLEANUP_VES="dying1"
	vert create dying1 --template mini --user nosuchuser
	# the init blocks reading the VE's /etc/passwd (a FIFO) between clone
	# and exec: the start is under way, its outcome not known yet
	mkdir -p "$TEST_ROOT/ves/dying1/upper/etc"
	mkfifo "$TEST_ROOT/ves/dying1/upper/etc/passwd"
	timeout 60 "$VERT_BIN" --root "$TEST_ROOT" start dying1 >"$BATS_TEST_TMPDIR/start.out" 2>&1 &
	spid=$!
	state=""
	for i in $(seq 100); do
		state=$(vert ps -a --format state -H dying1)
		[ "$state" != stopped ] && break
		sleep 0.05
	done
	[ "$state" = starting ]
	run vert ps -q
	refute_output --partial dying1
	run vert inspect dying1
	echo "$output" | jq -e '.status.status == "starting" and .status.running == false'
	# no such user: the start fails (the FIFO as the init sees it: an
	# overlay inode of its own)
	pid=$(jq -r .pid "$TEST_ROOT/run/ves/dying1/state.json")
	timeout 10 sh -c "echo root:x:0:0:root:/root:/bin/sh >/proc/$pid/root/etc/passwd"
	rc=0
	wait "$spid" || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
	run cat "$BATS_TEST_TMPDIR/start.out"
	assert_output --partial "user 'nosuchuser' not found"
	run vert ps -a --format state -H dying1
	assert_output stopped
}
