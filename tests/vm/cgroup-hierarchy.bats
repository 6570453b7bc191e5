#!/usr/bin/env bats
# Where VEs live in the cgroup v2 hierarchy, what they see of it, and the
# removal of their cgroups, also after vert was killed.
# Run with: tests/vm/run tests/vm/cgroup-hierarchy.bats

load cgroup-helpers

setup_file() { vm_setup_file; }
teardown_file() { vm_teardown_file; }
setup() { vm_only; }

@test "the init and every exec live in the VE's cgroup, its namespace root; the VE sees only its subtree" {
	vert create ns -T mini --memory 64M -- sleep 100000
	vert start ns
	local cg pid
	cg=$(cg_of ns) pid=$(init_pid ns)
	[[ $cg == /sys/fs/cgroup/vert/ns@* ]]
	[ "$(cat "$cg/cgroup.procs")" = "$pid" ]
	[ ! -e "$cg/payload" ] # no level below the limits
	# an exec starts there too, and sees it as its root
	[ "$(vert exec ns cat /proc/self/cgroup)" = "0::/" ]
	run vert exec ns sh -c 'echo $$; cat /sys/fs/cgroup/cgroup.procs'
	[ "${lines[1]}" = 1 ] # the init, by its VE pid
	[ "${lines[2]}" = "${lines[0]}" ] # the exec (sh exec'd cat)
	[ "${#lines[@]}" -eq 3 ]
	# cgroup2 is mounted there, read-write, with the VE's controllers
	run vert exec ns sh -c 'grep " /sys/fs/cgroup " /proc/self/mountinfo; cat /sys/fs/cgroup/cgroup.controllers; ls /sys/fs/cgroup'
	[[ ${lines[0]} == *" / /sys/fs/cgroup rw,"*" - cgroup2 "* ]]
	for c in cpu cpuset io memory pids; do [[ " ${lines[1]} " == *" $c "* ]]; done
	[[ $output != *vert* && $output != *vm-tests* && $output != *vertci* ]]
	# it sees its own limit, and can't raise it (nsdelegate)
	[ "$(vert exec ns cat /sys/fs/cgroup/memory.max)" = 67108864 ]
	run vert exec ns sh -c 'echo max >/sys/fs/cgroup/memory.max'
	[ "$status" -ne 0 ]
	[ "$(cat "$cg/memory.max")" = 67108864 ]
	vert stop -t 1 ns
	[ ! -e "$cg" ]
}

@test "an exec into a VE at its process limit fails instead of running outside the cgroup" {
	vert create full -T mini --pids 1 -- sleep 100000
	vert start full
	local cg
	cg=$(cg_of full)
	run vert exec full sh -c 'echo escaped'
	[ "$status" -eq 125 ]
	[[ $output == *"process limit (pids.max)"* ]]
	[[ $output != *escaped* ]]
	[ "$(cat "$cg/pids.current")" = 1 ]
	vert stop -t 1 full
}

# A stand-in for systemd as PID 1: move itself to init.scope, enable
# controllers in its root (now free of processes), start a service in a
# sibling cgroup.
FAKE_INIT='
set -e
mkdir /sys/fs/cgroup/init.scope /sys/fs/cgroup/system.slice
echo $$ >/sys/fs/cgroup/init.scope/cgroup.procs
echo "+cpu +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
mkdir /sys/fs/cgroup/system.slice/svc.service
sh -c "echo \$\$ >/sys/fs/cgroup/system.slice/svc.service/cgroup.procs; exec sleep 100000" &
echo 16M >/sys/fs/cgroup/system.slice/memory.max
exec sleep 100000
'

@test "an init that manages its cgroup tree like systemd works, execs and stops" {
	vert create sysd -T mini --memory 64M -- sh -c "$FAKE_INIT"
	vert start sysd
	local cg
	cg=$(cg_of sysd)
	wait_for 10 has_procs "$cg/system.slice/svc.service"
	wait_for 10 grep -q 16777216 "$cg/system.slice/memory.max"
	[ "$(cat "$cg/cgroup.subtree_control")" = "cpu memory pids" ]
	[ "$(cat "$cg/init.scope/cgroup.procs")" = "$(init_pid sysd)" ]
	# the VE's root is an inner node now: an exec joins the init's cgroup
	[ "$(vert exec sysd cat /proc/self/cgroup)" = "0::/init.scope" ]
	# the VE's own limit below vert's holds, and counters cover the tree
	run vert exec sysd sh -c 'echo $$ >/sys/fs/cgroup/system.slice/svc.service/cgroup.procs && exec dd if=/dev/zero of=/dev/null bs=32M count=1'
	[ "$status" -eq 137 ]
	[ "$(keyed "$cg/system.slice/memory.events" oom_kill)" -ge 1 ]
	[ "$(keyed "$cg/memory.events" oom_kill)" -ge 1 ]
	[ "$(vert stats --no-stream --json -i 0.2 sysd | jq '.[0].pids_current')" -eq 2 ]
	vert stop -t 1 sysd
	[ ! -e "$cg" ]
}

@test "the cgroup goes away when the VE stops, exits by itself, or vert run ends" {
	vert run --rm --name once --memory 32M mini -- true
	# a VE name that is also a cgroupfs file name
	vert run --rm --name memory.max --memory 32M mini -- true
	run ls /sys/fs/cgroup/vert
	[[ $output != *once@* && $output != *memory.max@* ]]

	# it exits by itself when told to (a fixed `sleep 1` could end before
	# the test looked at its cgroup on a slow machine)
	vert create brief -T mini --pids 10 -- sh -c 'rm -f /go; until [ -e /go ]; do sleep 0.1; done'
	vert start brief
	local cg
	cg=$(cg_of brief)
	[ -d "$cg" ]
	vert exec brief -- touch /go
	wait_for 10 test ! -e "$cg"
	[ "$(vert inspect brief | jq -r .status.status)" = stopped ]

	vert start brief
	cg=$(cg_of brief)
	vert stop -t 1 brief
	[ ! -e "$cg" ]
}

@test "after SIGKILL of a VE's supervisor, the next command removes the cgroup" {
	vert create orphan -T mini --memory 32M -- sleep 100000
	vert start orphan
	local cg pid sup
	cg=$(cg_of orphan) pid=$(init_pid orphan)
	sup=$(vert inspect orphan | jq .status.supervisor_pid)
	kill -9 "$sup"
	# the init dies with its supervisor (PR_SET_PDEATHSIG) ...
	wait_for 10 proc_gone "$pid"
	# ... its cgroup stays until a vert command comes by
	[ -d "$cg" ]
	run vert ps -a
	[ ! -e "$cg" ]
	[[ $output == *orphan*stopped* ]]
	# and it boots again under the same name
	vert start orphan
	[ -d "$(cg_of orphan)" ]
	vert stop -t 1 orphan
}

@test "after SIGKILL of a foreground vert run, the next command removes the cgroup" {
	"$VERT" --root "$R" run --name fg --memory 32M mini -- sleep 100000 </dev/null >/dev/null 2>&1 3>&- &
	local vpid=$! cg=""
	wait_for 20 has_cgroup fg
	cg=$(cg_of fg)
	wait_for 10 has_procs "$cg"
	kill -9 "$vpid"
	wait "$vpid" || true
	wait_for 10 no_procs "$cg"
	[ -d "$cg" ]
	vert ps -a >/dev/null
	[ ! -e "$cg" ]
}

@test "VEs of one name in two state roots get separate cgroups" {
	local R2 cg1 cg2
	R2=$(mktemp -d /var/lib/vert/cgtest2.XXXXXX)
	# a bridge serves one state root: the second gets a network of its own
	echo '{"bridge": "vertcg2", "subnet": "10.90.0.0/16", "routed_subnet": "10.91.0.0/16",
	       "subnet6": "", "nft_table": "vertcg2"}' >"$R2/network.json"
	"$VERT" --root "$R2" template create mini --from busybox >/dev/null
	vert create same -T mini -- sleep 100000
	"$VERT" --root "$R2" create same -T mini -- sleep 100000
	vert start same
	"$VERT" --root "$R2" start same
	cg1=$(cg_of same)
	cg2=$("$VERT" --root "$R2" inspect same | jq -r .status.cgroup)
	[ "$cg1" != "$cg2" ]
	"$VERT" --root "$R2" stop -t 1 same
	[ ! -e "$cg2" ]
	[ -d "$cg1" ]
	[ "$(vert inspect same | jq .status.running)" = true ]
	"$VERT" --root "$R2" destroy same
	rm -rf "$R2"
	vert stop -t 1 same
}
