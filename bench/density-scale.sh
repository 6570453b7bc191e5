#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/density-scale.sh: one population of networked VEs grown to each N
# of BENCH_SCALE_NS (default "100 1000 10000"), started with xargs -P 4
# (create all, then start all), and at each N: the wall time of the step,
# `vert ps`, starting and stopping one more VE (median of 7), host memory
# per VE beyond its payload (the density table's formula, see
# bench/README.md) and a ping of 20 VEs spread over the population from the
# host.  Then stop + destroy all (-P 4) and a check that the host is as it
# was (links, netns, nft tables, routes, mounts, uid-range claims).
# Benchmark, not a test: exits 0 whatever the numbers are.
#
#   VERT=build/vert VERT_VE_NET_ARGS="--net routed" bench/density-scale.sh
#
# Output: a markdown table on stdout, progress on stderr, raw data in
# $BENCH_TMP (kept with BENCH_KEEP=1).
set -u
VERT_SRC=${VERT:-build/vert}
NS=${BENCH_SCALE_NS:-"100 1000 10000"}
NET=${VERT_VE_NET_ARGS:---net routed}
PAR=${BENCH_DENSITY_PAR:-4}
[ "$(id -u)" = 0 ] || {
	echo "density-scale: must run as root" >&2
	exit 1
}
T=$(mktemp -d "${TMPDIR:-/tmp}/vert-scale.XXXXXX")
mkdir -p "$T/bin"
cp "$VERT_SRC" "$(dirname "$VERT_SRC")/vert-monitor" "$T/bin/"
R=$T/vert
V="$T/bin/vert --root $R"
log() { echo "[$(date -u +%T)] $*" >&2; }
us() { echo "${EPOCHREALTIME/./}"; }

# the network: a /17 for routed VEs (32,766 addresses), a bridge subnet of
# its own, a table of its own; all removed at the end
for n in $(seq 100 249); do
	ip -4 route show table all | grep -q "^\(local \|broadcast \)\?10\.$n\." || break
done
BR="vscale$(($$ % 90000 + 10000))" NFT="vertscale_$$"
mkdir -p "$R"
cat >"$R/network.json" <<EOF
{"bridge": "$BR", "subnet": "10.$n.0.0/20", "routed_subnet": "10.$n.128.0/17",
 "subnet6": "fd76:6572:7473:$(printf %x "$n")::/64", "nft_table": "$NFT"}
EOF

# what this run could leave on the host (other engineers' work changes
# the rest of it meanwhile): veths (new names), named netns, our nft
# tables, routes into our subnets, mounts under $T, uid-range claims of
# our state root, monitors of our root, ip_forward
host_state() {
	{
		ip -o link show type veth | awk -F': ' '{ print "link " $2 }' | sed 's/@.*//' |
			grep -vxF -f "$T/links.before"
		ip netns list | sed 's/^/netns /'
		nft list tables | grep -w -e "$NFT" -e "$NFT-[0-9]*" | sed 's/^/nft /'
		ip -4 route show table all | grep "10\.$n\." | grep -v "^local\|^broadcast" | sed 's/^/route /'
		awk -v t="$T/" 'index($5, t) == 1 { print "mount " $5 }' /proc/self/mountinfo
		grep -l -s -F "$R" /var/lib/vert/idmap/* 2>/dev/null | sed 's/^/idmap /'
		pgrep -f -a "vert-monitor.*$T" | sed 's/^/proc /'
		echo "ip_forward $(sysctl -n net.ipv4.ip_forward)"
	} 2>/dev/null
}
ip -o link show type veth | awk -F': ' '{ print "link " $2 }' | sed 's/@.*//' >"$T/links.before"
host_state >"$T/host.before"

cleanup() {
	log "cleanup: stop + destroy everything left"
	$V ps -a -q 2>/dev/null | xargs -r -P "$PAR" -n 16 $V destroy --force >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	nft delete table inet "$NFT" 2>/dev/null
	for t in $(nft list tables netdev 2>/dev/null | awk '{ print $3 }'); do
		case $t in "$NFT" | "$NFT"-*) nft delete table netdev "$t" ;; esac
	done
	sysctl -qw kernel.pty.max="$PTY_MAX"
	# what vert turned on for routing, if it was off before
	[ "$(head -c1 "$T/fwd.before" 2>/dev/null)" = 0 ] && sysctl -qw net.ipv4.ip_forward=0
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -rf --one-file-system "$T"
	else
		log "kept $T"
	fi
}
sysctl -n net.ipv4.ip_forward >"$T/fwd.before"
trap cleanup EXIT

# Every VE holds a pty (its console), and the devpts instances of all
# VEs share kernel.pty.max - kernel.pty.reserve (4096 - 1024 by default):
# a 3073rd VE fails with "open /dev/ptmx in the VE: No space left on
# device".  Raised for the run only when the largest N needs it, and put
# back in cleanup.  No other host limit needs raising for 10,000 idle
# routed VEs here (bench/README.md, "Density at scale").
PTY_MAX=$(cat /proc/sys/kernel/pty/max)
need=$(($(cat /proc/sys/kernel/pty/reserve) + $(cat /proc/sys/kernel/pty/nr) + ${NS##* } + 64))
if [ "$PTY_MAX" -lt "$need" ]; then
	log "kernel.pty.max $PTY_MAX -> $need for this run"
	sysctl -qw kernel.pty.max="$need"
fi

# memory: as bench/lib's mem_snapshot (sync, drop caches, compact, settle)
snap() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	echo 1 >/proc/sys/vm/compact_memory 2>/dev/null
	sleep 1
	cp /proc/meminfo "$1"
}
mi() { awk -v k="$1:" '$1 == k { print $2 }' "$2"; }

$V template create mini --from busybox >/dev/null 2>&1 || {
	log "template create failed"
	exit 0
}
snap "$T/m0"
have=0
echo "| N | create all (-P $PAR) | start all (-P $PAR) | per VE (create+start) | ps | start one | stop one | beyond payload per VE | ping 20 VEs |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for N in $NS; do
	seq $((have + 1)) "$N" | sed 's/^/d/' >"$T/names"
	log "N=$N: create $((N - have))"
	a=$(us)
	xargs -P "$PAR" -I{} $V create {} --template mini $NET -- /bin/sleep 86399 <"$T/names" >/dev/null 2>>"$T/err"
	b=$(us)
	log "N=$N: start $((N - have))"
	xargs -P "$PAR" -n 8 $V start <"$T/names" >/dev/null 2>>"$T/err"
	c=$(us)
	have=$N
	running=$($V ps -q 2>/dev/null | grep -c '^d')
	log "N=$N: $running running; lifecycle"
	# ps: median of 5; start/stop one more VE (x$N): median of 7
	for i in 1 2 3 4 5; do
		s=$(us)
		$V ps >/dev/null 2>&1
		echo $(($(us) - s))
	done | sort -n | sed -n 3p >"$T/ps.$N"
	# another vert's listing of the same population (a before/after in
	# one run): VERT_PS_BASELINE=/path/to/old/vert, on stderr
	if [ -n "${VERT_PS_BASELINE:-}" ]; then
		for i in 1 2 3 4 5; do
			s=$(us)
			"$VERT_PS_BASELINE" --root "$R" ps >/dev/null 2>&1
			echo $(($(us) - s))
		done | sort -n | sed -n 3p >"$T/psb.$N"
		log "N=$N: ps median $(($(cat "$T/ps.$N") / 1000)) ms, $VERT_PS_BASELINE's $(($(cat "$T/psb.$N") / 1000)) ms"
	fi
	$V create "x$N" --template mini $NET -- /bin/sleep 86399 >/dev/null 2>&1
	: >"$T/st.$N"
	: >"$T/sp.$N"
	for i in 1 2 3 4 5 6 7; do
		s=$(us)
		$V start "x$N" >/dev/null 2>&1
		echo $(($(us) - s)) >>"$T/st.$N"
		s=$(us)
		$V stop "x$N" >/dev/null 2>&1
		echo $(($(us) - s)) >>"$T/sp.$N"
	done
	$V destroy "x$N" >/dev/null 2>&1
	# reachability: 20 VEs spread over the population
	ok=0
	for i in $(seq 1 $(((N + 19) / 20)) "$N" | head -n 20); do
		ip=$($V ps --json "d$i" 2>/dev/null | jq -r '.[0].ip // empty')
		[ -n "$ip" ] && busybox ping -c 1 -W 2 "$ip" >/dev/null 2>&1 && ok=$((ok + 1))
	done
	# memory beyond payload, per VE (bench/README.md, "Density, lifecycle
	# and memory method"): deltas of Slab KernelStack PageTables Percpu
	# Shmem + the vert-monitors' PSS - the payload's kernel stack and
	# page tables
	snap "$T/m.$N"
	pids=$($V ps --json 2>/dev/null | jq -r '.[] | select(.name | test("^d[0-9]+$")) | .pid // empty')
	mpss=0 ppte=0
	for p in $pids; do
		m=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)
		[ -n "$m" ] && mpss=$((mpss + $(awk '/^Pss:/ { print $2 }' "/proc/$m/smaps_rollup" 2>/dev/null || echo 0)))
		ppte=$((ppte + $(awk '/^VmPTE:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
	done
	k=0
	for f in Slab KernelStack PageTables Percpu Shmem; do
		k=$((k + $(mi $f "$T/m.$N") - $(mi $f "$T/m0")))
	done
	beyond=$(((k + mpss - 16 * N - ppte) / N))
	cp "$T/m.$N" "$T/m.$N.kept"
	med() { sort -n "$1" | sed -n 4p; }
	printf '| %s | %.1f s | %.1f s | %.1f ms | %.0f ms | %.1f ms | %.1f ms | %s KiB | %s/20 |\n' \
		"$N ($running running)" "$(echo "($b - $a) / 1000000" | bc -l)" \
		"$(echo "($c - $b) / 1000000" | bc -l)" \
		"$(echo "($c - $a) / 1000 / ($N - ${prev:-0})" | bc -l)" \
		"$(echo "$(cat "$T/ps.$N") / 1000" | bc -l)" \
		"$(echo "$(med "$T/st.$N") / 1000" | bc -l)" "$(echo "$(med "$T/sp.$N") / 1000" | bc -l)" \
		"$beyond" "$ok"
	prev=$N
done
log "stop all"
a=$(us)
$V ps -q 2>/dev/null | xargs -r -P "$PAR" -n 8 $V stop >/dev/null 2>>"$T/err"
b=$(us)
$V ps -a -q 2>/dev/null | xargs -r -P "$PAR" -n 8 $V destroy >/dev/null 2>>"$T/err"
c=$(us)
echo
printf 'stop all (-P %s): %.1f s; destroy all: %.1f s\n' "$PAR" \
	"$(echo "($b - $a) / 1000000" | bc -l)" "$(echo "($c - $b) / 1000000" | bc -l)"
ip link del "$BR" 2>/dev/null
nft delete table inet "$NFT" 2>/dev/null
for t in $(nft list tables netdev 2>/dev/null | awk '{ print $3 }'); do
	case $t in "$NFT" | "$NFT"-*) nft delete table netdev "$t" ;; esac
done
[ "$(cat "$T/fwd.before")" = 0 ] && sysctl -qw net.ipv4.ip_forward=0
# the kernel frees a netns and its veth after the last process, later
for i in $(seq 120); do
	host_state >"$T/host.after"
	diff -q "$T/host.before" "$T/host.after" >/dev/null && break
	sleep 1
done
if diff "$T/host.before" "$T/host.after" >"$T/host.diff"; then
	echo "host as it was: links, netns, nft tables, routes, mounts, idmap claims, ip_forward"
else
	echo "host differs after cleanup:"
	head -n 20 "$T/host.diff"
fi
sort "$T/err" | uniq -c | sort -rn | grep -v "running without a cgroup\|VEs see the host" | head -n 5 | sed 's/^/errors: /'
exit 0
