#!/usr/bin/env bats
# A full Debian (debootstrap minbase with systemd) as a template: it boots
# with systemd as PID 1, reaches a running state, its services are
# managed with vert exec, and it stops cleanly.

load helpers

DEB_CACHE=/var/cache/vert-tests
DEB_TAR=$DEB_CACHE/bookworm-minbase-systemd.tar.gz

# The mirror apt is configured with (deb822 or one-line sources).
apt_mirror() {
	local m
	m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' |
		grep -v security | head -1)
	[ -n "$m" ] || m=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | head -1)
	echo "${m:-http://deb.debian.org/debian}"
}

build_template_tarball() {
	[ -s "$DEB_TAR" ] && return 0
	command -v debootstrap >/dev/null || { echo "debootstrap is not installed"; return 1; }
	mkdir -p "$DEB_CACHE"
	local dir
	dir=$(mktemp -d "$DEB_CACHE/build.XXXXXX")
	if ! timeout 900 debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus \
		bookworm "$dir" "$(apt_mirror)" >"$DEB_CACHE/debootstrap.log" 2>&1; then
		rm -rf "$dir"
		echo "debootstrap from $(apt_mirror) failed: $(tail -1 "$DEB_CACHE/debootstrap.log")"
		return 1
	fi
	tar -C "$dir" -czf "$DEB_TAR.tmp" . && mv "$DEB_TAR.tmp" "$DEB_TAR"
	rm -rf "$dir"
}

setup_file() {
	common_setup_file
	export SKIP_WHY=""
	if ! is_root_mode; then
		SKIP_WHY="a systemd VE needs real root here (mode: $VERT_TEST_MODE)"
		return 0
	fi
	if ! why=$(build_template_tarball); then
		SKIP_WHY="no Debian template: $why"
		return 0
	fi
	vert template import deb12 "$DEB_TAR"
	# every cgroup on the host, to prove the VE left them alone
	for h in /sys/fs/cgroup/*/; do find "$h" -mindepth 1 -type d 2>/dev/null; done | sort \
		>"$TEST_ROOT/cgroups.before"
}
teardown_file() { common_teardown_file; }

setup() {
	[ -z "$SKIP_WHY" ] || skip "$SKIP_WHY"
	common_setup
}

wait_running() {
	local st i
	for i in $(seq 240); do
		st=$(vert exec sd -- systemctl is-system-running 2>/dev/null || true)
		case "$st" in running|degraded) echo "$st"; return 0 ;; esac
		sleep 0.5
	done
	echo "still '$st'"
	return 1
}

@test "systemd boots as PID 1 and reaches a running state" {
	# the template's init is systemd: create gives the VE what it needs
	run vert create sd --template deb12 --net none
	assert_success
	assert_output --partial "boots systemd"
	run vert inspect sd
	echo "$output" | jq -e '(.config.cap_add | index("CAP_SYS_ADMIN")) and .config.new_privileges'
	vert start sd
	# PID 1 is the systemd binary (exec'd as /sbin/init: its comm reads
	# "init" until systemd renames itself, so check the executable)
	run vert exec sd -- readlink /proc/1/exe
	assert_output --regexp '/systemd$'
	run wait_running
	assert_success
	run vert exec sd -- cat /proc/1/comm
	assert_output "systemd"
	run vert exec sd -- systemctl --failed --no-legend
	assert_output ""
	run vert exec sd -- systemctl is-active systemd-journald dbus
	assert_success
}

@test "a systemd VE keeps --hostname and runs in its own user namespace" {
	run vert create sdh --template deb12 --net none --hostname sd-host-1
	assert_success
	on_teardown "vert destroy --force sdh"
	vert start sdh
	for i in $(seq 240); do
		st=$(vert exec sdh -- systemctl is-system-running 2>/dev/null || true)
		case "$st" in running|degraded) break ;; esac
		sleep 0.5
	done
	run vert exec sdh -- hostname
	assert_output "sd-host-1"
	run vert exec sdh -- cat /etc/hostname
	assert_output "sd-host-1"
	# its CAP_SYS_ADMIN is its own user namespace's
	run vert exec sdh -- cat /proc/1/uid_map
	refute_output --regexp "^ *0 +0 +4294967295"
	run vert exec sdh -- sh -c 'umount /proc/sys 2>/dev/null; echo 1 >/proc/sys/kernel/sysrq && echo wrote'
	refute_output --partial wrote
	vert stop sdh
}

@test "services are managed with vert exec -- systemctl" {
	run vert exec sd -- systemd-run --unit=vert-test-svc sleep 300
	assert_success
	run vert exec sd -- systemctl is-active vert-test-svc
	assert_output "active"
	run vert exec sd -- systemctl stop vert-test-svc
	assert_success
	run vert exec sd -- systemctl is-active vert-test-svc
	refute_output "active"
	run vert exec sd -- systemctl restart dbus
	assert_success
	run vert exec sd -- systemctl is-active dbus
	assert_output "active"
}

@test "the console works for systemd's getty and ends up in the log" {
	run vert exec sd -- systemctl is-active console-getty
	assert_output "active"
	run vert logs sd
	assert_output --partial "Reached target"
}

@test "enter and exec -t leave systemd's console alone; enter ends at end of input" {
	run script -qec "'$VERT_BIN' --root '$TEST_ROOT' exec -t sd -- true" /dev/null
	assert_success
	# bash, interactive on a pty: end of input ends it
	run timeout -k 10 60 bash -c "printf 'exit 0\n' | script -qec \"'$VERT_BIN' --root '$TEST_ROOT' enter sd\" /dev/null"
	assert_success
	# without a terminal, bash reads /dev/null and is done
	run timeout -k 10 60 "$VERT_BIN" --root "$TEST_ROOT" enter sd </dev/null
	assert_success
	run vert exec sd -- stat -L -c '%h' /dev/console
	assert_output "1"
	run vert exec sd -- systemctl is-active console-getty
	assert_output "active"
}

@test "SIGTERM to vert ends an enter into systemd's bash" {
	# fd 3 closed (bats waits for whoever holds it) and the group killed
	# in teardown: a failure anywhere below must not leave the sleep
	# behind to hang the run
	setsid bash -c 'sleep 86400 | script -qec "$1" /dev/null' _ \
		"'$VERT_BIN' --root '$TEST_ROOT' enter sd" >/dev/null 2>&1 3>&- &
	grp=$!
	on_teardown "kill -KILL -- -$grp"
	for i in $(seq 100); do
		# (minbase has no procps)
		vert exec sd -- sh -c 'grep -qx bash /proc/[0-9]*/comm' 2>/dev/null && break
		sleep 0.2
	done
	pid=$(pgrep -f -- "--root $TEST_ROOT enter sd" || true)
	[ -n "$pid" ]
	kill -TERM "$pid"
	for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then false; fi
}

@test "stop uses SIGRTMIN+3: a clean shutdown, quickly" {
	start=$(date +%s)
	run vert stop sd
	assert_success
	[ $(( $(date +%s) - start )) -lt 30 ]
	run vert logs sd
	assert_output --partial "Halting system"
	run vert inspect sd
	echo "$output" | jq -e '.status.running == false and .status.last_exit.reason == "stop"'
}

@test "a systemd VE has its own machine-id, not the template's" {
	tmpl=$(cat "$TEST_ROOT/templates/deb12/rootfs/etc/machine-id")
	vert create sdid --template deb12 --net none
	id=$(vert inspect sdid | jq -r .config.machine_id)
	[[ "$id" =~ ^[0-9a-f]{32}$ ]]
	[ "$id" != "$tmpl" ]
	vert start sdid
	run vert exec sdid -- cat /etc/machine-id
	assert_output "$id"
	# the id systemd itself uses
	run vert exec sdid -- systemd-id128 machine-id
	assert_output "$id"
	run vert stop sdid
	assert_success
	vert destroy sdid
	[ "$(cat "$TEST_ROOT/templates/deb12/rootfs/etc/machine-id")" = "$tmpl" ]
}

@test "systemd's cgroups stayed inside the VE's own; the host's are untouched" {
	for h in /sys/fs/cgroup/*/; do find "$h" -mindepth 1 -type d 2>/dev/null; done | sort \
		>"$TEST_ROOT/cgroups.after"
	# what systemd makes is named by its units; other cgroups may come and
	# go on a busy host meanwhile (a session manager's, a CI runner's)
	added=$(comm -13 "$TEST_ROOT/cgroups.before" "$TEST_ROOT/cgroups.after" |
		grep -E '\.(slice|scope|service|socket|mount|swap)(/|$)' || true)
	[ -z "$added" ] || { echo "systemd made cgroups on the host: $added"; false; }
	vert destroy sd
}
