#!/usr/bin/env bats
# A VE sees itself: its limits on its cgroup namespace root, and /proc and
# /sys views (lxcfs) derived from its cgroup.
# Run with: tests/vm/run tests/vm/views.bats

load cgroup-helpers

setup_file() {
	vm_setup_file
	# lxcfs needs fuse: a module on the stock kernel, not loaded at boot
	modprobe fuse
	[ -c /dev/fuse ]
}
teardown_file() {
	vm_teardown_file
	# nothing of vert's lxcfs outlives its VEs
	! pgrep -x lxcfs
	! grep -q " fuse.lxcfs " /proc/mounts
}
setup() { vm_only; }
# a failed test must not leave a VE (and so lxcfs) running for the next
teardown() {
	local n
	for n in $(vert ps -aq 2>/dev/null); do
		vert destroy --force "$n" >/dev/null 2>&1 || true
	done
}

lxcfs_of_root() { pgrep -x lxcfs -a | grep -F -- "$R/"; }
no_lxcfs_of_root() { ! lxcfs_of_root >/dev/null; }

@test "the VE's cgroup namespace root carries its limits; vert set shows at once" {
	vert create lim -T mini --memory 64M --cpus 1 --pids 50 -- sleep 100000
	vert start lim
	local cg
	cg=$(cg_of lim)
	[ "$(vert exec lim cat /proc/self/cgroup)" = "0::/" ]
	[ "$(vert exec lim cat /sys/fs/cgroup/memory.max)" = 67108864 ]
	[ "$(vert exec lim cat /sys/fs/cgroup/cpu.max)" = "100000 100000" ]
	[ "$(vert exec lim cat /sys/fs/cgroup/pids.max)" = 50 ]
	vert set lim --memory 128M --pids 60
	[ "$(vert exec lim cat /sys/fs/cgroup/memory.max)" = 134217728 ]
	[ "$(vert exec lim cat /sys/fs/cgroup/pids.max)" = 60 ]
	# the VE's root can't raise them
	local f
	for f in memory.max memory.high pids.max cpu.max cpu.weight; do
		run vert exec lim sh -c "echo max >/sys/fs/cgroup/$f"
		[ "$status" -ne 0 ]
	done
	[ "$(cat "$cg/memory.max")" = 134217728 ]
	[ "$(cat "$cg/pids.max")" = 60 ]
	[ "$(cat "$cg/cpu.max")" = "100000 100000" ]
	# but it may manage the subtree: the delegatable files are its own
	vert exec lim sh -c 'mkdir /sys/fs/cgroup/sub && rmdir /sys/fs/cgroup/sub'
	vert stop -t 1 lim
}

@test "/proc and /sys show the VE's memory, CPUs and uptime; free agrees" {
	vert create v -T mini --memory 64M --cpus 1 -v /usr:/hostusr:ro -- sleep 100000
	run vert start v
	[ "$status" -eq 0 ]
	[[ $output != *"host's /proc"* ]]
	local kb cpus online up hostup
	kb=$(vert exec v awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
	echo "# MemTotal inside: $kb kB"
	[ "$kb" -eq 65536 ]
	# procps free (the host's, through a volume) reads /proc/meminfo: the
	# same total (busybox free asks sysinfo(2): see the sysinfo test)
	local ld=/hostusr/lib/x86_64-linux-gnu
	[ "$(vert exec v "$ld/ld-linux-x86-64.so.2" --library-path "$ld" /hostusr/bin/free -k |
		awk '$1 == "Mem:" { print $2 }')" -eq 65536 ]
	cpus=$(vert exec v grep -c ^processor /proc/cpuinfo)
	online=$(vert exec v cat /sys/devices/system/cpu/online)
	echo "# inside: $cpus processors in cpuinfo, online '$online' (host: $(nproc))"
	[ "$cpus" -eq 1 ]
	[ "$online" = 0 ]
	# /proc/stat is lxcfs's: the VE's own CPU time (its per-CPU lines follow
	# the cpuset, not the quota)
	echo "# /proc/stat inside: $(vert exec v grep -c '^cpu[0-9]' /proc/stat) per-CPU lines"
	vert exec v grep -q ' /proc/stat /proc/stat .* - fuse.lxcfs ' /proc/self/mountinfo
	# uptime: since the VE's init started, not since the VM booted
	up=$(vert exec v cut -d. -f1 /proc/uptime)
	hostup=$(cut -d. -f1 /proc/uptime)
	echo "# uptime inside ${up}s, VM ${hostup}s"
	[ "$up" -lt 30 ]
	[ "$up" -lt "$hostup" ]
	vert exec v cat /proc/loadavg /proc/swaps /proc/diskstats >/dev/null
	# the live change shows at once
	vert set v --memory 96M
	kb=$(vert exec v awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
	[ "$kb" -eq 98304 ]
	# vert stats and ps say what the VE sees
	run vert stats --no-stream --json -i 0.2 v
	[ "$(jq '.[0].memory_max' <<<"$output")" -eq $((96 << 20)) ]
	[ "$(jq '.[0].cpus' <<<"$output")" -eq 1 ]
	[ "$(vert ps -H -o name,memlimit,cpus v)" = "$(printf '%-16s %-9s %s' v 96.0MiB 1)" ]
	vert stop -t 1 v
}

@test "nproc tells the --cpus count, a quota, and the --cpuset pinning (vert(1))" {
	# --cpus alone: cpuinfo says 1, and so does sched_getaffinity (busybox
	# nproc), answered by vert from cpu.max; the VE still runs on any CPU
	vert create q -T mini --cpus 1 -- sleep 100000
	vert start q
	[ "$(vert exec q grep -c ^processor /proc/cpuinfo)" -eq 1 ]
	[ "$(vert exec q nproc)" -eq 1 ]
	[ "$(vert run --rm --cpus 1 mini -- nproc)" -eq 1 ]
	local pid
	pid=$(vert inspect q | jq -r .status.pid)
	[ "$(taskset -pc "$pid" | sed 's/.*: //')" = "0,1" ] || [ "$(taskset -pc "$pid" | sed 's/.*: //')" = "0-1" ]
	vert destroy --force q
	# 1.5 CPUs' worth: 2
	[ "$(vert run --rm --cpus 1.5 mini -- nproc)" -eq 2 ]
	# pinned: every view agrees
	vert create p -T mini --cpuset 1 -- sleep 100000
	vert start p
	echo "# pinned: nproc $(vert exec p nproc), cpuinfo $(vert exec p grep -c ^processor /proc/cpuinfo), online '$(vert exec p cat /sys/devices/system/cpu/online)'"
	[ "$(vert exec p nproc)" -eq 1 ]
	[ "$(vert exec p grep -c ^processor /proc/cpuinfo)" -eq 1 ]
	vert destroy --force p
}

@test "one lxcfs serves every VE of a state root and stops with the last" {
	vert create a -T mini -- sleep 100000
	vert create b -T mini -- sleep 100000
	vert start a
	vert start b
	[ "$(lxcfs_of_root | wc -l)" -eq 1 ]
	vert stop -t 1 a
	# b still reads its views
	[ -n "$(vert exec b cat /proc/uptime)" ]
	[ "$(lxcfs_of_root | wc -l)" -eq 1 ]
	vert stop -t 1 b
	wait_for 10 no_lxcfs_of_root
	! grep -qF "$R/" /proc/mounts
	# and it comes back on the next start; destroy of a running VE is fine
	vert start a
	[ "$(lxcfs_of_root | wc -l)" -eq 1 ]
	vert destroy --force a
	wait_for 10 no_lxcfs_of_root
	vert destroy b
}

@test "after SIGKILL of a VE's supervisor, the next command stops lxcfs" {
	vert create k -T mini -- sleep 100000
	vert start k
	local sup pid
	sup=$(vert inspect k | jq .status.supervisor_pid) pid=$(init_pid k)
	[ "$(lxcfs_of_root | wc -l)" -eq 1 ]
	kill -9 "$sup"
	wait_for 10 proc_gone "$pid"
	vert ps -a >/dev/null
	wait_for 10 no_lxcfs_of_root
	vert destroy k
}

@test "without lxcfs a VE keeps the host's view, said once" {
	export VERT_LXCFS=/nonexistent/lxcfs
	vert create nol -T mini --memory 64M -- sleep 100000
	run vert start nol
	[ "$status" -eq 0 ]
	[[ $output == *"host's /proc/meminfo"*"lxcfs is not installed"* ]]
	local kb
	kb=$(vert exec nol awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
	[ "$kb" -gt 65536 ]
	# the limit itself is still in sight
	[ "$(vert exec nol cat /sys/fs/cgroup/memory.max)" = 67108864 ]
	vert stop -t 1 nol
	run vert start nol
	[[ $output != *"host's /proc"* ]]
	vert destroy --force nol
}

@test "lxcfs runs with a small libfuse pool; a libfuse that refuses it gets lxcfs's defaults" {
	vert create pool -T mini --memory 64M -- sleep 100000
	vert start pool
	[[ $(lxcfs_of_root) == *" -o max_threads=4,max_idle_threads=1 "* ]]
	[ "$(tr '\0' '\n' </proc/"$(cat "$R/run/lxcfs/pid")"/environ | grep -c '^MALLOC_ARENA_MAX=1$')" -eq 1 ]
	vert stop -t 1 pool
	wait_for 10 no_lxcfs_of_root
	# a libfuse before 3.12: lxcfs exits on the option, and starts again
	local w=$BATS_TEST_TMPDIR/lxcfs
	cat >"$w" <<-'EOF'
		#!/bin/sh
		for a; do
			[ "$a" = -o ] && { echo "fuse: unknown option(s): \`-o max_threads=4'" >&2; exit 1; }
		done
		exec /usr/bin/lxcfs "$@"
	EOF
	chmod +x "$w"
	VERT_LXCFS=$w run vert start pool
	[ "$status" -eq 0 ]
	[[ $output != *"host's /proc"* ]]
	[[ $(lxcfs_of_root) != *max_threads* ]]
	[ "$(vert exec pool awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)" -eq 65536 ]
	vert destroy --force pool
	wait_for 10 no_lxcfs_of_root
}

@test "a rootless VE: its cgroup is its user's, its limits in sight and out of reach" {
	local RR=/home/vertci/views
	rm -rf "$RR"
	tests/vm/rootless "$VERT" --root "$RR" template create mini --from busybox >/dev/null
	tests/vm/rootless "$VERT" --root "$RR" create rv -T mini --memory 64M -- sleep 100000
	run tests/vm/rootless "$VERT" --root "$RR" start rv
	[ "$status" -eq 0 ]
	[[ $output == *"rootless VEs keep the host's view"* ]]
	local cg
	cg=$(tests/vm/rootless "$VERT" --root "$RR" inspect rv | jq -r .status.cgroup)
	# delegation: the directory and cgroup.procs, subtree_control and
	# threads belong to the VE's root on the host (uid 1500)
	local f
	for f in "" /cgroup.procs /cgroup.subtree_control /cgroup.threads; do
		[ "$(stat -c %u "$cg$f")" = 1500 ]
	done
	[ "$(tests/vm/rootless "$VERT" --root "$RR" exec rv cat /sys/fs/cgroup/memory.max)" = 67108864 ]
	run tests/vm/rootless "$VERT" --root "$RR" exec rv sh -c 'echo max >/sys/fs/cgroup/memory.max'
	[ "$status" -ne 0 ]
	[ "$(cat "$cg/memory.max")" = 67108864 ]
	tests/vm/rootless "$VERT" --root "$RR" destroy --force rv
	rm -rf "$RR"
}

# busybox free and uptime (and glibc's sysconf(_SC_PHYS_PAGES)) ask
# sysinfo(2), which no /proc view changes: vert answers it from the VE's
# cgroup through a seccomp listener, for the init, an attached run and an
# exec, and a daemon the exec leaves keeps its answers.
@test "sysinfo(2) tells the VE's memory and uptime: busybox free and uptime agree" {
	local total up hostup
	mem_total() { awk '$1 == "Mem:" { print $2 }'; }
	hostup=$(cut -d. -f1 /proc/uptime)
	# an attached run
	total=$(vert run --rm --memory 64M mini -- free -k | mem_total)
	echo "# busybox free in a 64M run: $total kB"
	[ "$total" -eq 65536 ]
	# a detached VE: its init's tree and an exec
	vert create si -T mini --memory 96M -- sh -c 'while :; do free -k >/tmp/free.out; sleep 1; done'
	vert start si
	total=$(vert exec si free -k | mem_total)
	[ "$total" -eq 98304 ]
	# total_in FILE: the Mem: total a process in the VE wrote there, once it has
	total_in() {
		local i t
		for i in $(seq 50); do
			t=$(vert exec si cat "$1" 2>/dev/null | mem_total)
			[ -n "$t" ] && break
			sleep 0.2
		done
		echo "$t"
	}
	[ "$(total_in /tmp/free.out)" -eq 98304 ]
	run vert exec si uptime
	echo "# busybox uptime inside: $output (VM up ${hostup}s)"
	[ "$status" -eq 0 ]
	[ "$hostup" -lt 180 ] || [[ $output == *"up 0 min"* || $output == *"up 1 min"* || $output == *"up 2 min"* ]]
	# a live change shows at once
	vert set si --memory 128M
	[ "$(vert exec si free -k | mem_total)" -eq 131072 ]
	# a daemon an exec leaves behind is still answered after the exec is gone
	vert exec si sh -c 'setsid sh -c "sleep 1; free -k >/tmp/daemon.out" </dev/null >/dev/null 2>&1 &'
	[ "$(total_in /tmp/daemon.out)" -eq 131072 ]
	vert stop -t 1 si
	vert destroy si
	# the listeners' servers end with the processes they served
	local i
	for i in $(seq 50); do
		pgrep -f '^[^ ]*vert-monitor --sysinfo' >/dev/null || break
		sleep 0.2
	done
	! pgrep -af '^[^ ]*vert-monitor --sysinfo'
}

@test "after checkpoint and restore, the VE's new processes still get sysinfo(2) and sched_getaffinity(2)" {
	# CRIU restores vert's filter without its listener: left as it was,
	# both would fail with ENOSYS in every process the VE starts after
	modprobe nf_tables 2>/dev/null || true
	command -v criu >/dev/null || skip "no criu"
	cat >"$BATS_TEST_TMPDIR/probe.c" <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
int main(void)
{
	struct sysinfo si;
	cpu_set_t set;
	int a = sysinfo(&si), ea = errno;
	int b = sched_getaffinity(0, sizeof(set), &set), eb = errno;
	printf("sysinfo %s %llu affinity %s\n", a ? strerror(ea) : "ok",
	       a ? 0ULL : (unsigned long long)si.totalram * si.mem_unit, b ? strerror(eb) : "ok");
	return 0;
}
C
	gcc -static -O1 -o "$BATS_TEST_TMPDIR/probe" "$BATS_TEST_TMPDIR/probe.c"
	vert create sir -T mini --memory 64M -- sh -c 'while :; do /probe >/tmp/probe.new; mv /tmp/probe.new /tmp/probe.out; sleep 0.2; done'
	install -m 0755 "$BATS_TEST_TMPDIR/probe" "$R/ves/sir/upper/probe"
	vert start sir
	probe_out() {
		local i o
		for i in $(seq 100); do
			o=$(vert exec sir cat /tmp/probe.out 2>/dev/null)
			[ -n "$o" ] && break
			sleep 0.2
		done
		echo "$o"
	}
	run probe_out
	echo "# before: $output"
	[ "$output" = "sysinfo ok 67108864 affinity ok" ]
	run vert checkpoint sir
	echo "$output"
	[ "$status" -eq 0 ]
	# a host that can't give the views again: refused before CRIU runs,
	# with the reason; the VE stays stopped, its image and its address
	# are kept, nothing of the attempt is left
	links=$(ip -o link show | wc -l)
	export VERT_LXCFS=/nonexistent
	run vert restore sir
	unset VERT_LXCFS
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"has lxcfs views"*"can't give it any"* ]]
	[ "$(vert ps -a --format name,state -H | awk '$1 == "sir" { print $2 }')" = stopped ]
	no_lxcfs_of_root
	! grep -q " fuse.lxcfs " /proc/self/mountinfo
	[ "$(ip -o link show | wc -l)" = "$links" ]
	run vert --debug restore sir
	echo "$output" | grep -v "debug: +"
	[ "$status" -eq 0 ]
	# what the restored init's loop writes from now on
	vert exec sir rm -f /tmp/probe.out
	run probe_out
	echo "# after restore: $output"
	if [ -z "$output" ]; then
		# what the VE looks like when its loop wrote nothing
		vert ps -a
		vert exec sir ps || echo "exec: exit $?"
		vert exec sir ls -la /tmp || true
	fi
	[[ $output == "sysinfo ok "*" affinity ok" ]]
	# an exec gets the VE's own figures again
	run vert exec sir /probe
	[ "$output" = "sysinfo ok 67108864 affinity ok" ]
	# the lxcfs the restore started (the checkpoint stopped the last one)
	# mounted where the host sees it: another VE's start uses it, and
	# the restored VE's views go on
	lxcfs_of_root
	grep -q " fuse.lxcfs " /proc/self/mountinfo
	vert create si2 -T mini --memory 32M -- sleep 100000
	vert start si2
	[ "$(vert exec si2 awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)" = 32768 ]
	[ "$(vert exec sir awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)" = 65536 ]
	[ "$(lxcfs_of_root | wc -l)" = 1 ]
	vert destroy --force si2
	vert stop -t 1 sir
	vert destroy sir
}
