# Shared setup for the integration tests (bats).
#
# Every test file gets its own state root (--root), so tests never touch
# the real /var/lib/vert or each other.  VERT_TEST_MODE says how the suite
# runs: "root", "user" (an unprivileged user, rootless), or "unshare"
# (that user inside `unshare -r`: rootless in an unprivileged container).

bats_require_minimum_version 1.5.0

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

: "${VERT_TEST_MODE:=root}"
: "${VERT_BUILD:=$(cd "$BATS_TEST_DIRNAME/../../build" && pwd)}"
# in the test VM, $VERT names the binary under test (tests/vm/run)
if [ "${VERT_IN_VM:-}" = 1 ] && [ -n "${VERT:-}" ]; then
	VERT_BIN="${VERT_BIN:-$VERT}"
fi
VERT_BIN="${VERT_BIN:-$VERT_BUILD/vert}"
PROBE="$VERT_BUILD/tests/helpers/vert-probe"

# A network of this file's own (DATA/network.json): its own bridge,
# subnets and nftables table, so tests never touch a real vert0 or each
# other.  The subnet is 10.N.0.0/18 (routed VEs: 10.N.64.0/18) for an N no
# host route uses yet.
net_setup_conf() {
	local n i routes
	routes=$(ip -4 route show table all 2>/dev/null)
	n=$(( ($$ + RANDOM) % 200 ))
	for i in $(seq 0 199); do
		NET_N=$(( (n + i) % 200 + 30 ))
		grep -q "^\(local \|broadcast \)\?10\.$NET_N\." <<<"$routes" || break
	done
	export NET_N NET_BRIDGE="vtb$$x$NET_N" NET_TABLE="verttest_$$_$NET_N"
	export NET_SUBNET="10.$NET_N.0.0/18" NET_GW="10.$NET_N.0.1"
	export NET_ROUTED="10.$NET_N.64.0/18" NET_ROUTED_GW="10.$NET_N.64.1"
	export NET_SUBNET6
	NET_SUBNET6="fd76:6572:$(printf %x $(($$ % 65536))):$(printf %x "$NET_N")::/64"
	cat >"$TEST_ROOT/network.json" <<-EOF
	{"bridge": "$NET_BRIDGE", "subnet": "$NET_SUBNET", "routed_subnet": "$NET_ROUTED",
	 "subnet6": "$NET_SUBNET6", "nft_table": "$NET_TABLE"}
	EOF
}

# net_conf_second DIR: a network.json for a second state root of this
# file (DIR): a bridge serves one state root only, so it gets its own
# (10.N.128.0/18, no IPv6), removed with this file's.
net_conf_second() {
	cat >"$1/network.json" <<-EOF
	{"bridge": "${NET_BRIDGE}b", "subnet": "10.$NET_N.128.0/18", "routed_subnet": "10.$NET_N.192.0/18",
	 "subnet6": "", "nft_table": "${NET_TABLE}_b"}
	EOF
}

# The bridge and tables are shared infrastructure vert never removes: the
# test file that made them does.
net_teardown_conf() {
	[ -n "${NET_BRIDGE:-}" ] || return 0
	is_root_mode || return 0
	ip link del "$NET_BRIDGE" 2>/dev/null || true
	ip link del "${NET_BRIDGE}b" 2>/dev/null || true
	local t
	for t in "$NET_TABLE" "${NET_TABLE}_b"; do
		nft_delete_tables "$t"
	done
}

# vert's nftables tables for nft_table T: inet T, and netdev T-K, the 64
# tables its VEs' anti-spoofing chains are spread over (and netdev T, where
# an older vert put them); src/net/nft.c
nft_netdev_tables() {
	nft list tables netdev 2>/dev/null | awk -v t="$1" '$3 == t ||
		(index($3, t "-") == 1 && substr($3, length(t) + 2) ~ /^[0-9]+$/) { print $3 }'
}
nft_delete_tables() {
	local t
	nft delete table inet "$1" 2>/dev/null || true
	for t in $(nft_netdev_tables "$1"); do
		nft delete table netdev "$t" 2>/dev/null || true
	done
}
# nft_list_netdev T [CHAIN]: those tables (or only CHAIN in them) listed
nft_list_netdev() {
	local t found=1
	for t in $(nft_netdev_tables "$1"); do
		if [ -n "${2:-}" ]; then
			nft list chain netdev "$t" "$2" 2>/dev/null && found=0
		else
			nft list table netdev "$t" && found=0
		fi
	done
	return $found
}

# The root for this file: shared by its tests, removed at the end.
common_setup_file() {
	export TEST_ROOT
	TEST_ROOT="$(mktemp -d "${VERT_TEST_TMP:-/tmp}/vert-test.XXXXXX")"
	chmod 755 "$TEST_ROOT"
	net_setup_conf
	vert template create mini --from busybox >/dev/null 2>&1 ||
		vert template create mini --from busybox
	# one-time notices (no cgroup v2, single-id map) are said once per
	# state root: say them here, not in the middle of a test's output
	vert run --rm mini -- true 2>/dev/null
}

common_teardown_file() {
	if [ -n "${TEST_ROOT:-}" ] && [ -d "$TEST_ROOT" ]; then
		# every VE a test left, running or not
		for v in $("$VERT_BIN" --root "$TEST_ROOT" ps -aq 2>/dev/null); do
			"$VERT_BIN" --root "$TEST_ROOT" destroy --force "$v" >/dev/null 2>&1 || true
		done
		net_teardown_conf
		# uid-range claims a failed test left in the host-wide registry
		grep -lx -- "$TEST_ROOT" /var/lib/vert/idmap/[0-9]* 2>/dev/null | xargs -r rm -f --
		# rootless trees hold files of subordinate ids: vert removes them
		"$VERT_BIN" --root "$TEST_ROOT" template ls >/dev/null 2>&1 || true
		for t in $("$VERT_BIN" --root "$TEST_ROOT" template ls -q 2>/dev/null); do
			"$VERT_BIN" --root "$TEST_ROOT" template rm "$t" >/dev/null 2>&1 || true
		done
		rm -rf "$TEST_ROOT" 2>/dev/null || true
	fi
}

# Per test: what was there before it, so teardown removes what the test
# made when it fails (and with it what it left running): one failure must
# not cascade into the next tests.  A file that defines its own setup or
# teardown calls these.
common_setup() {
	vert ps -a --format name,state --no-header 2>/dev/null |
		awk '{ print $1, $2 }' >"$BATS_TEST_TMPDIR/ves.before" || true
}
setup() { common_setup; }
teardown() { common_teardown; }

# No VE port on this file's bridge, no route to a routed VE.
net_settled() {
	[ "$(ip -o link show master "$NET_BRIDGE" 2>/dev/null | wc -l)" = 0 ] &&
		! ip -4 route show proto 86 2>/dev/null | grep -q "^10\.$NET_N\."
}

common_teardown() {
	local f pid
	# deferred cleanups (on_teardown), last first
	if [ -f "$BATS_TEST_TMPDIR/defer" ]; then
		tac "$BATS_TEST_TMPDIR/defer" | while IFS= read -r f; do
			eval "$f" >/dev/null 2>&1 || true
		done
		rm -f "$BATS_TEST_TMPDIR/defer"
	fi
	# background processes: ve_bg VEs, servers (bg_track)
	for f in "$BATS_TEST_TMPDIR"/*.pid; do
		[ -f "$f" ] || continue
		while read -r pid; do
			kill_wait "$pid"
		done <"$f"
		rm -f "$f"
	done
	if [ "${BATS_TEST_COMPLETED:-}" != 1 ] && [ -f "$BATS_TEST_TMPDIR/ves.before" ]; then
		teardown_failed
	fi
	# the network of VEs that are gone goes with their network namespace
	# (asynchronously): the next test starts from a settled host
	if [ -n "${NET_BRIDGE:-}" ] && is_root_mode && [ -z "$(vert ps -q 2>/dev/null)" ]; then
		wait_for -t 15 net_settled || true
	fi
}

teardown_failed() {
	local name state
	# a failed test: stop the VEs it started, destroy the VEs it made
	vert ps -a --format name,state --no-header 2>/dev/null | awk '{ print $1, $2 }' |
		while read -r name state; do
			if ! grep -q "^$name " "$BATS_TEST_TMPDIR/ves.before"; then
				vert destroy --force "$name" >/dev/null 2>&1 || true
			elif [ "$state" = running ] && ! grep -qx "$name running" "$BATS_TEST_TMPDIR/ves.before"; then
				vert stop -t 2 "$name" >/dev/null 2>&1 || true
			fi
		done
	# what a killed vert left is reconciled by the next command
	vert ps -a >/dev/null 2>&1 || true
}

# on_teardown 'COMMAND...': run COMMAND (a shell string) in this test's
# teardown, pass or fail.
on_teardown() {
	printf '%s\n' "$*" >>"$BATS_TEST_TMPDIR/defer"
}

# bg_track PID...: a background process that teardown kills if it is
# still there.
bg_track() {
	printf '%s\n' "$@" >>"$BATS_TEST_TMPDIR/bg.pid"
}

# kill_wait PID: TERM, and KILL if it is still there after 5 s; reap it.
kill_wait() {
	local i
	kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
	kill -TERM "$1" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# wait_for [-t SECONDS] COMMAND...: retry COMMAND every 0.1 s until it
# succeeds; fails naming it after SECONDS (default 10).
wait_for() {
	local t=10 i
	if [ "$1" = -t ]; then
		t=$2
		shift 2
	fi
	for i in $(seq $((t * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	"$@" && return 0
	echo "timed out after ${t}s waiting for: $*" >&2
	return 1
}

pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# A VE command that idles until TERM ends it (for ve_kill or kill -TERM
# of its vert): a VE that must stay up for as long as its test needs it,
# not for a number of seconds a loaded machine may exceed.
IDLE='trap "exit 0" TERM; sleep 1000 & wait'

# The host pid of a running VE's init.
ve_init_pid() {
	jq -r .pid "$TEST_ROOT/run/ves/$1/state.json" 2>/dev/null
}

# listen_inodes PID PORT: the inodes of the TCP sockets listening on PORT
# in the network namespace of PID (IPv4 and IPv6).
listen_inodes() {
	[ -n "$1" ] || return 1
	cat "/proc/$1/net/tcp" "/proc/$1/net/tcp6" 2>/dev/null |
		awk -v port="$(printf '%04X' "$2")" \
			'$4 == "0A" && substr($2, index($2, ":") + 1) == port { print $10 }'
}

# listening PID PORT [OLD_INODE]: something listens on PORT in PID's
# network namespace (other than the socket OLD_INODE, a server that has
# served its one client and is on its way out).
listening() {
	local inodes
	inodes=$(listen_inodes "$1" "$2")
	[ -n "$inodes" ] || return 1
	[ -z "${3:-}" ] && return 0
	grep -qvx -- "$3" <<<"$inodes"
}

# wait_port NAME PORT: wait until a server in VE NAME accepts on PORT;
# LISTEN_INODE is its socket, for wait_port_next.
wait_port() {
	wait_for listening_in "$1" "$2" || return 1
	LISTEN_INODE=$(listen_inodes "$(ve_init_pid "$1")" "$2" | head -1)
}

# wait_port_next NAME PORT: the next server of a VE that serves one
# client per server in turn (a new socket, not the one just used).
wait_port_next() {
	wait_for listening_in "$1" "$2" "${LISTEN_INODE:-}" || return 1
	LISTEN_INODE=$(listen_inodes "$(ve_init_pid "$1")" "$2" | grep -vx -- "${LISTEN_INODE:-}" | head -1)
}

listening_in() { listening "$(ve_init_pid "$1")" "$2" "${3:-}"; }

# wait_host_port PORT: wait until a server on the host accepts on PORT.
wait_host_port() { wait_for listening "$$" "$1"; }

# wait_trap NAME SIGNAL: wait until VE NAME's init handles SIGNAL (a
# shell has installed its trap), so a signal sent now is not lost.
wait_trap() {
	local sig=$2
	[[ "$sig" =~ ^[0-9]+$ ]] || sig=$(kill -l "${sig#SIG}")
	wait_for trap_set "$1" "$sig"
}

trap_set() {
	local cgt
	cgt=$(awk '/^SigCgt:/ { print $2 }' "/proc/$(ve_init_pid "$1")/status" 2>/dev/null)
	[ -n "$cgt" ] && (( (16#$cgt >> ($2 - 1)) & 1 ))
}

vert() {
	"$VERT_BIN" --root "$TEST_ROOT" "$@"
}

is_root_mode() { [ "$VERT_TEST_MODE" = root ]; }

# Other uids inside the VE need a full id map: root, or a user with a
# subordinate id range.  `unshare -r` maps one id only.
skip_if_single_idmap() {
	[ "$VERT_TEST_MODE" = unshare ] && skip "single-id user namespace (mode: unshare)"
	return 0
}

# wait_rebooted NAME OLDPID: wait until the VE runs again under a new init
# (busybox init takes a couple of seconds to shut down); fails if not.
wait_rebooted() {
	local i np=""
	for i in $(seq 100); do
		np=$(vert inspect "$1" | jq -r '.status.pid // empty')
		[ -n "$np" ] && [ "$np" != "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_stopped NAME [TRIES]: wait (0.1 s a try, default 100) until the VE
# no longer runs; the caller asserts on the state it finds.
wait_stopped() {
	local i
	for i in $(seq "${2:-100}"); do
		[ "$(vert inspect "$1" | jq -r .status.running)" = false ] && return 0
		sleep 0.1
	done
	return 0
}

# Mounts of this test's state root in this mount namespace.
count_mounts() {
	grep -c -- "$TEST_ROOT" /proc/self/mountinfo || true
}

# Entries in the VE state dirs (data and runtime).
count_state() {
	local n=0
	n=$(( $(ls -A "$TEST_ROOT/ves" 2>/dev/null | wc -l) + $(ls -A "$TEST_ROOT/run/ves" 2>/dev/null | wc -l) ))
	echo "$n"
}

# Processes whose command line mentions this test's root.
count_procs() {
	pgrep -f -- "$TEST_ROOT" | grep -v "^$$\$" | wc -l
}

# refute_line fails on an empty output with this bats-assert; a name
# missing from a listing is what these tests mean
refute_name() {
	! grep -qxF -- "$1" <<<"$output"
}
