#!/usr/bin/env bats
# Resource limits on a real cgroup v2 kernel: each test checks the effect,
# not only the file.  Run with: tests/vm/run tests/vm/cgroup-limits.bats

load cgroup-helpers

setup_file() { vm_setup_file; }
teardown_file() { vm_teardown_file; }
setup() { vm_only; }

@test "a memory hog in a --memory 64M VE is OOM-killed; the host and a neighbour are not" {
	vert create neighbour -T mini --memory 64M -- sleep 100000
	vert start neighbour
	vert create hog -T mini --memory 64M --swap 0 -- sleep 100000
	vert start hog
	local ncg hcg npid hpid host
	ncg=$(cg_of neighbour) hcg=$(cg_of hog) npid=$(init_pid neighbour) hpid=$(init_pid hog)
	sleep 100000 &
	host=$!

	# dd's 128 MiB buffer, filled from /dev/zero, can't fit in 64 MiB
	run vert exec hog dd if=/dev/zero of=/dev/null bs=128M count=1
	[ "$status" -eq 137 ] # SIGKILL

	[ "$(keyed "$hcg/memory.events" oom_kill)" -ge 1 ]
	run vert stats --no-stream --json -i 0.2 hog
	[ "$status" -eq 0 ]
	[ "$(jq '.[0].oom_kills' <<<"$output")" -ge 1 ]
	# the kernel says whose limit it was
	dmesg | grep -q "oom_memcg=/vert/hog@"
	# the hog VE itself survives its hog (only the biggest process goes) ...
	[ "$(init_pid hog)" = "$hpid" ]
	# ... and nobody else noticed
	[ "$(init_pid neighbour)" = "$npid" ]
	[ "$(keyed "$ncg/memory.events" oom_kill)" -eq 0 ]
	kill -0 "$host"
	kill "$host"
	vert stop -t 1 hog neighbour
}

@test "a fork bomb in a --pids 64 VE stops at 64; the VE still stops and is destroyed" {
	vert create bomb -T mini --pids 64 -- sleep 100000
	vert start bomb
	local cg i cur peak=0
	cg=$(cg_of bomb)
	# a binary tree of shells 9 deep (1023 processes wanted), left running
	vert exec bomb sh -c 'f() { if [ $1 -gt 0 ]; then f $(($1 - 1)) & f $(($1 - 1)); wait; else sleep 1000; fi; }; f 9 </dev/null >/dev/null 2>&1 &'
	for ((i = 0; i < 100; i++)); do
		cur=$(cat "$cg/pids.current")
		((cur > peak)) && peak=$cur
		((i > 20)) && [ "$(pids_refused "$cg")" -gt 0 ] && break
		sleep 0.1
	done
	local refused
	refused=$(pids_refused "$cg")
	note "fork bomb: pids.current peaked at $peak, forks refused: $refused"
	[ "$peak" -le 64 ]
	[ "$peak" -ge 60 ]
	[ "$refused" -gt 0 ]
	run vert stats --no-stream --json -i 0.2 bomb
	[ "$(jq '.[0].pids_limit_hits' <<<"$output")" -ge "$refused" ]
	[ "$(jq '.[0].pids_max' <<<"$output")" -eq 64 ]

	vert stop -t 1 bomb
	[ ! -e "$cg" ]
	run pgrep -f "^sleep 1000$"
	[ "$status" -eq 1 ]
	vert destroy bomb
	run vert ps -aq
	[[ $output != *bomb* ]]
}

@test "--cpus 0.5 gets about half a CPU, --cpus 0.25 measurably less" {
	vert create half -T mini --cpus 0.5 -- sh -c 'while :; do :; done'
	vert create quarter -T mini --cpus 0.25 -- sh -c 'while :; do :; done'
	vert start half
	vert start quarter
	local a b a0 b0 a1 b1 t0 t1 sa sb
	a=$(cg_of half) b=$(cg_of quarter)
	[ "$(cat "$a/cpu.max")" = "50000 100000" ]
	[ "$(cat "$b/cpu.max")" = "25000 100000" ]
	sleep 1
	a0=$(cpu_usage "$a") b0=$(cpu_usage "$b") t0=$(date +%s%N)
	sleep 6
	a1=$(cpu_usage "$a") b1=$(cpu_usage "$b") t1=$(date +%s%N)
	# share of one CPU, in thousandths
	sa=$(((a1 - a0) * 1000000 / (t1 - t0)))
	sb=$(((b1 - b0) * 1000000 / (t1 - t0)))
	note "--cpus 0.5: $sa/1000 of a CPU; --cpus 0.25: $sb/1000 (over $(((t1 - t0) / 1000000)) ms)"
	# wide bounds: the vCPUs are TCG threads on a shared host
	[ "$sa" -ge 300 ] && [ "$sa" -le 560 ]
	[ "$sb" -ge 120 ] && [ "$sb" -le 300 ]
	[ $((sb * 10)) -le $((sa * 7)) ]
	[ "$(keyed "$a/cpu.stat" nr_throttled)" -gt 0 ]
	[ "$(keyed "$b/cpu.stat" nr_throttled)" -gt 0 ]
	vert stop -t 1 half quarter
}

@test "vert set changes memory.max, pids.max and cpu.max of a running VE live" {
	vert create live -T mini --memory 64M -- sleep 100000
	vert start live
	local cg pid
	cg=$(cg_of live) pid=$(init_pid live)
	[ "$(cat "$cg/memory.max")" = 67108864 ]
	vert set live --memory 32M --pids 20 --cpus 1.5
	[ "$(cat "$cg/memory.max")" = 33554432 ]
	[ "$(cat "$cg/pids.max")" = 20 ]
	[ "$(cat "$cg/cpu.max")" = "150000 100000" ]
	[ "$(init_pid live)" = "$pid" ]
	[ "$(vert inspect live | jq .config.resources.memory_max)" = 33554432 ]
	# and the new limit bites: 48 MiB no longer fits
	run vert exec live dd if=/dev/zero of=/dev/null bs=48M count=1
	[ "$status" -eq 137 ]
	vert set live --memory max --cpus max
	[ "$(cat "$cg/memory.max")" = max ]
	[ "$(cat "$cg/cpu.max")" = "max 100000" ]
	# a bad value is refused by name, and nothing changes
	run vert set live --memory 12X
	[ "$status" -eq 2 ]
	[[ $output == *"--memory"* ]]
	[ "$(cat "$cg/pids.max")" = 20 ]
	vert stop -t 1 live
}

@test "vert stats --json numbers match what the cgroup files say" {
	vert create st -T mini --memory 48M --pids 50 --cpus 1 --cpu-weight 300 -- \
		sh -c 'head -c 8000000 /dev/zero >/tmp/f; sleep 100000'
	vert start st
	local cg j
	cg=$(cg_of st)
	sleep 1
	local u0 u1 m
	u0=$(cpu_usage "$cg")
	j=$(vert stats --no-stream --json -i 0.3 st)
	u1=$(cpu_usage "$cg")
	m=$(cat "$cg/memory.current")
	[ "$(jq -r '.[0].cgroup' <<<"$j")" = "$cg" ]
	[ "$(jq '.[0].memory_max' <<<"$j")" = "$(cat "$cg/memory.max")" ]
	[ "$(jq '.[0].pids_max' <<<"$j")" = "$(cat "$cg/pids.max")" ]
	[ "$(jq '.[0].pids_current' <<<"$j")" = "$(cat "$cg/pids.current")" ]
	[ "$(jq '.[0].cpu_weight' <<<"$j")" = "$(cat "$cg/cpu.weight")" ]
	[ "$(jq -r '"\(.[0].cpu_quota_usec) \(.[0].cpu_period_usec)"' <<<"$j")" = "$(cat "$cg/cpu.max")" ]
	[ "$(jq '.[0].oom_kills' <<<"$j")" = "$(keyed "$cg/memory.events" oom_kill)" ]
	[ "$(jq '.[0].swap_max' <<<"$j")" = null ] # "max" in the file
	# moving counters: between the reads around it
	local ju jm
	ju=$(jq '.[0].cpu_usage_usec' <<<"$j") jm=$(jq '.[0].memory_current' <<<"$j")
	[ "$ju" -ge "$u0" ] && [ "$ju" -le "$u1" ]
	[ $((jm * 100)) -ge $((m * 90)) ] && [ $((jm * 100)) -le $((m * 110)) ]
	[ "$jm" -ge 8000000 ] # the file on the VE's tmpfs is charged to it
	jq -e '.[0].cpu_percent >= 0 and .[0].memory_percent > 0' <<<"$j"
	# ps and inspect read the same counters
	[ "$(vert ps --json | jq '.[] | select(.name == "st") | .pids')" = "$(cat "$cg/pids.current")" ]
	[ "$(vert inspect st | jq .stats.memory_max)" = "$(cat "$cg/memory.max")" ]
	# the table
	run vert stats --no-stream -i 0.2 st
	[ "${lines[0]:0:4}" = NAME ]
	[[ ${lines[1]} == "st "*"/ 48.0MiB"*"/ 50"* ]]
	vert stop -t 1 st
}

@test "every limit flag lands in its cgroup file" {
	local dev="" loopf
	loopf=$(mktemp /var/tmp/loop.XXXXXX)
	truncate -s 8M "$loopf"
	modprobe loop 2>/dev/null || true
	dev=$(losetup -f --show "$loopf" 2>/dev/null) || dev=""
	local io=()
	[ -n "$dev" ] && io=(--io-max "$dev:rbps=1M,wiops=100")
	vert create all -T mini --memory 64M --memory-high 48M --swap 16M --cpus 0.5 \
		--cpu-weight 200 --cpuset 0 --pids 30 --io-weight 300 "${io[@]}" -- sleep 100000
	vert start all
	local cg
	cg=$(cg_of all)
	[ "$(cat "$cg/memory.max")" = 67108864 ]
	[ "$(cat "$cg/memory.high")" = 50331648 ]
	[ "$(cat "$cg/memory.swap.max")" = 16777216 ]
	[ "$(cat "$cg/cpu.max")" = "50000 100000" ]
	[ "$(cat "$cg/cpu.weight")" = 200 ]
	[ "$(cat "$cg/cpuset.cpus")" = 0 ]
	[ "$(cat "$cg/pids.max")" = 30 ]
	[ "$(cat "$cg/io.weight")" = "default 300" ]
	if [ -n "$dev" ]; then
		local mm
		mm=$(lsblk -dno MAJ:MIN "$dev" | tr -d ' ')
		grep -q "^$mm rbps=1048576 wbps=max riops=max wiops=100" "$cg/io.max"
	else
		note "no loop device: --io-max not checked"
	fi
	# the VE runs where cpuset says
	[ "$(vert exec all sh -c 'grep Cpus_allowed_list /proc/self/status')" = "Cpus_allowed_list:	0" ]
	vert stop -t 1 all
	[ -z "$dev" ] || losetup -d "$dev"
	rm -f "$loopf"
}
