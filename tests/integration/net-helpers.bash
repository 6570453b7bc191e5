# Helpers of the network tests (10-net*.bats), on top of helpers.bash.
#
# VEs that must stay up while a test talks to them run in the background
# (`vert run --rm ... &`); ve_bg starts one and waits until it runs (its
# network is made before its init runs), ve_kill ends it.  Traffic
# stays on this machine: VEs, the host and an "outside" network namespace
# the tests make themselves (198.18.N.0/30, RFC 2544 benchmarking space).

# ve_bg NAME [vert run options...] -- command...: start, wait until running.
ve_bg() {
	local name=$1
	shift
	"$VERT_BIN" --root "$TEST_ROOT" run --rm --name "$name" "$@" \
		>"$BATS_TEST_TMPDIR/$name.out" 2>&1 &
	echo $! >"$BATS_TEST_TMPDIR/$name.pid"
	local i
	for i in $(seq 200); do
		[ -f "$TEST_ROOT/run/ves/$name/state.json" ] && return 0
		kill -0 "$(cat "$BATS_TEST_TMPDIR/$name.pid")" 2>/dev/null || break
		sleep 0.05
	done
	echo "VE '$name' did not start:" >&2
	cat "$BATS_TEST_TMPDIR/$name.out" >&2
	return 1
}

# ve_kill NAME [SIG]: signal a background VE's vert (TERM: vert forwards
# it; KILL: vert dies and its VE with it) and wait for it.  (A VE that
# ve_kill does not end, in a test that fails first, teardown kills.)
ve_kill() {
	local pid
	pid=$(cat "$BATS_TEST_TMPDIR/$1.pid" 2>/dev/null) || return 0
	kill -"${2:-TERM}" "$pid" 2>/dev/null || true
	# bounded: a VE that ignores the signal is killed after 20 s
	wait_for -t 20 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$BATS_TEST_TMPDIR/$1.pid"
}

# Fixed addresses in this file's subnets: ve_ip 10 -> 10.N.32.10.  Away
# from the start of the subnets: automatic leases go up from .0.2 (the
# next free one after the last given out), so over a file they pass .0.X.
ve_ip() { echo "10.$NET_N.32.$1"; }
ve_routed_ip() { echo "10.$NET_N.96.$1"; }
# the IPv6 address is the prefix + the IPv4 address: ...::a<N>:20<X>
ve_ip6() { printf '%s::a%02x:%x\n' "${NET_SUBNET6%%::/64}" "$NET_N" $((0x2000 + $1)); }

# A TCP port for this test file (host side), away from common services.
test_port() { echo $((20000 + ($$ + ${1:-0}) % 20000)); }

# Connect to IP PORT from the host, print what the server says.
host_nc() { timeout 5 busybox nc -w 3 "$1" "$2" </dev/null; }

# What vert leaves on the host for this state root, in one line.
net_snapshot() {
	local ports rules chains leases recs routes
	ports=$(ip -o link show master "$NET_BRIDGE" 2>/dev/null | wc -l)
	routes=$(ip -4 route show proto 86 2>/dev/null | grep -c "^10\.$NET_N\." || true)
	rules=$(nft list table inet "$NET_TABLE" 2>/dev/null | grep -c 'comment "vert:' || true)
	chains=$(nft_list_netdev "$NET_TABLE" 2>/dev/null | grep -c 'chain ' || true)
	leases=$(ls "$TEST_ROOT/net/leases.d/by-name" 2>/dev/null | wc -l)
	recs=$(ls "$TEST_ROOT/run/net" 2>/dev/null | wc -l)
	echo "ports=$ports routes=$routes rules=$rules chains=$chains leases=${leases:-0} records=$recs"
}

# snapshot_is SNAPSHOT [CMD...]: the host's view settles: a VE's veth
# goes with its network namespace, which the kernel tears down
# asynchronously after its last process (for 50 VEs at once on a loaded
# machine, that takes seconds).  CMD, when given, runs before each look
# (a vert command that reconciles what a killed vert left).
snapshot_is() {
	local i
	for i in $(seq 300); do
		[ $# -gt 1 ] && "${@:2}"
		[ "$(net_snapshot)" = "$1" ] && return 0
		sleep 0.05
	done
	echo "net snapshot: $(net_snapshot), expected: $1" >&2
	return 1
}

# nft inside a VE: the host's binary and its libraries, read-only.
NFT_IN_VE=(-v /usr/sbin/nft:/usr/sbin/nft:ro
	-v /usr/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:ro
	-v /usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro
	-v /lib64:/lib64:ro)

# An "outside" network: a netns behind a veth, routed by the host, for
# traffic that must cross the host's NAT.
outside_setup() {
	OUT_NS="vtout$$"
	OUT_IF="vto$$"
	OUT_HOST="198.18.$NET_N.1"
	OUT_PEER="198.18.$NET_N.2"
	ip netns add "$OUT_NS"
	ip link add "$OUT_IF" type veth peer name eth0 netns "$OUT_NS"
	ip addr add "$OUT_HOST/30" dev "$OUT_IF"
	ip link set "$OUT_IF" up
	ip -n "$OUT_NS" addr add "$OUT_PEER/30" dev eth0
	ip -n "$OUT_NS" link set eth0 up
	ip -n "$OUT_NS" link set lo up
	ip -n "$OUT_NS" route add default via "$OUT_HOST"
}

outside_teardown() {
	[ -n "${OUT_NS:-}" ] || return 0
	ip link del "$OUT_IF" 2>/dev/null || true
	ip netns del "$OUT_NS" 2>/dev/null || true
}

# A one-shot TCP server in the outside netns that tells the client the
# address it came from.
outside_peer_server() {
	ip netns exec "$OUT_NS" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1); s.settimeout(10)
c, a = s.accept(); c.sendall(("peer=%s\n" % a[0]).encode()); c.close()' "$1" &
	OUT_SERVER=$!
	bg_track "$OUT_SERVER"
	# `ip netns exec` execs python: its pid is in the outside netns
	wait_for listening "$OUT_SERVER" "$1"
}

# A vert command whose only effect here is the reconcile it starts with.
reconcile() { vert template ls >/dev/null; }

skip_unless_net_root() {
	is_root_mode || skip "bridge/routed networking needs real root (mode: $VERT_TEST_MODE)"
	command -v nft >/dev/null || skip "nft (package nftables) is needed to inspect rules"
}
