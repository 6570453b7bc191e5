# Shared by tests/vm/cgroup-*.bats: vert on a pure cgroup v2 kernel.
#
# Each file gets its own state root on the guest's tmpfs (/var/lib/vert),
# so VE names don't clash between files and overlay upper dirs are on a
# filesystem overlayfs accepts.  Run them with tests/vm/run.

bats_require_minimum_version 1.5.0

vm_only() {
	[ "${VERT_IN_VM:-}" = 1 ] || skip "needs the test VM: tests/vm/run $BATS_TEST_FILENAME"
}

vm_setup_file() {
	vm_only
	export R
	R=$(mktemp -d /var/lib/vert/cgtest.XXXXXX)
	vert template create mini --from busybox >/dev/null
}

vm_teardown_file() {
	[ -n "${R:-}" ] || return 0
	local n
	for n in $(vert ps -aq 2>/dev/null); do
		vert destroy --force "$n" >/dev/null 2>&1 || true
	done
	rm -rf "$R"
}

vert() {
	"$VERT" --root "$R" "$@"
}

# The VE's cgroup (<base>/NAME) as vert recorded it.
cg_of() {
	vert inspect "$1" | jq -r '.status.cgroup // empty'
}

init_pid() {
	vert inspect "$1" | jq -r '.status.pid // empty'
}

# usage_usec of a cgroup
cpu_usage() {
	awk '$1 == "usage_usec" { print $2 }' "$1/cpu.stat"
}

# key value from a flat keyed file (memory.events, pids.events, cpu.stat)
keyed() {
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}

# Predicates for wait_for (it runs them again and again: no "$(...)" in
# its arguments, they would be expanded once).
has_procs() { [ -n "$(cat "$1/cgroup.procs" 2>/dev/null)" ]; }
no_procs() { [ -z "$(cat "$1/cgroup.procs" 2>/dev/null)" ]; }
proc_gone() { [ ! -e "/proc/$1/stat" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
has_cgroup() { [ -n "$(cg_of "$1" 2>/dev/null)" ]; }

# Forks pids.max refused in a cgroup tree (before Linux 6.9 the kernel
# counts them where the fork happened, not where the limit is).
pids_refused() {
	find "$1" -name pids.events -exec awk '$1 == "max" { n += $2 } END { print n + 0 }' {} + |
		awk '{ n += $1 } END { print n + 0 }'
}

# Wait up to $1 seconds for the command to succeed.
wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# A line for the report (shows up as a TAP comment).
note() {
	echo "# $*" >&3
}
