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
		nft delete table inet "$t" 2>/dev/null || true
		nft delete table netdev "$t" 2>/dev/null || true
	done
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
		# rootless trees hold files of subordinate ids: vert removes them
		"$VERT_BIN" --root "$TEST_ROOT" template ls >/dev/null 2>&1 || true
		for t in $("$VERT_BIN" --root "$TEST_ROOT" template ls -q 2>/dev/null); do
			"$VERT_BIN" --root "$TEST_ROOT" template rm "$t" >/dev/null 2>&1 || true
		done
		rm -rf "$TEST_ROOT" 2>/dev/null || true
	fi
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
