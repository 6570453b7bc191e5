# shellcheck shell=bash
# net: what a VE's network costs.
#
#   setup time   `vert --debug run --rm --net bridge` prints how long each
#                network step took (prepare, attach, commit, teardown);
#                medians over BENCH_NET_RUNS runs (default 30; --quick 10)
#   throughput   iperf3, VE -> host over vert's bridge (the server listens on
#                the bridge's gateway address), against the same over a
#                veth pair made by hand (netns + veth, no bridge, no nft)
#                BENCH_NET_SECS seconds each (default 5; --quick 2)
#
# vert's bridge, subnet and nft table for the benchmark come from
# $BENCH_ROOT/network.json (bench/run writes it); traffic stays on this
# machine (host <-> network namespaces).

net_median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# iperf3 and its libraries, read-only, for a busybox VE
NET_IPERF_IN_VE=(-v /usr/bin/iperf3:/usr/bin/iperf3:ro
	-v /usr/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:ro
	-v /usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro
	-v /lib64:/lib64:ro)

# iperf3 JSON on stdin -> received Gbit/s
net_gbps() { jq -r '.end.sum_received.bits_per_second // empty | . / 1e9 | . * 100 | round / 100' 2>/dev/null; }

net_setup_times() {
	local runs=$1 i log=$BENCH_TMP/net-setup.log phase v
	: >"$log"
	for ((i = 0; i < runs; i++)); do
		"$VERT" --debug --root "$BENCH_ROOT" run --rm --net bridge mini -- /bin/true 2>>"$log" >/dev/null ||
			{ metrics_unavailable vert "vert run --net bridge failed: $(grep -v debug "$log" | tail -1)"; return 1; }
	done
	for phase in prepare attach commit teardown; do
		v=$(awk -v p="$phase" '$3 == "net:" && $4 == p { print $(NF - 1) }' "$log" | net_median)
		metric vert "setup: $phase (median of $runs)" "$v" ms
	done
	v=$(awk '$3 == "net:" && $4 == "prepare" { t = $(NF - 1) }
		 $3 == "net:" && $4 == "attach" { t += $(NF - 1) }
		 $3 == "net:" && $4 == "commit" { print t + $(NF - 1) }' "$log" | net_median)
	metric vert "setup: prepare+attach+commit (median)" "$v" ms
}

net_throughput_vert() {
	local secs=$1 port=$((5201 + $$ % 1000)) gw out gbps
	gw=$(jq -r '.subnet' "$BENCH_ROOT/network.json" | awk -F'[./]' '{ printf "%d.%d.%d.%d", $1, $2, $3, $4 + 1 }')
	iperf3 -s -1 -B "$gw" -p "$port" >/dev/null 2>&1 &
	local srv=$!
	sleep 0.3
	out=$("$VERT" --root "$BENCH_ROOT" run --rm --net bridge "${NET_IPERF_IN_VE[@]}" mini -- \
		iperf3 -c "$gw" -p "$port" -t "$secs" -J 2>&1)
	wait $srv 2>/dev/null
	gbps=$(net_gbps <<<"$out")
	if [ -z "$gbps" ]; then
		metrics_unavailable vert "iperf3 in the VE failed: $(tail -c 200 <<<"$out" | tr '\n' ' ')"
		return 1
	fi
	metric vert "throughput VE->host (bridge+nft)" "$gbps" Gbit/s
	NET_VERT_GBPS=$gbps
}

net_throughput_veth() {
	local secs=$1 port=$((6201 + $$ % 1000)) ns="vbnet$$" h="vbh$$" n a out gbps
	# a /30 in 198.18.0.0/15 (benchmarking space) that no route uses
	for n in $(seq 0 250); do
		a="198.18.$n"
		ip -4 route show table all | grep -q " $a\.\|^$a\." || break
	done
	ip netns add "$ns" && on_exit ip netns del "$ns"
	ip link add "$h" type veth peer name eth0 netns "$ns" && on_exit ip link del "$h"
	ip addr add "$a.1/30" dev "$h"
	ip link set "$h" up
	ip -n "$ns" addr add "$a.2/30" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	iperf3 -s -1 -B "$a.1" -p "$port" >/dev/null 2>&1 &
	local srv=$!
	sleep 0.3
	out=$(ip netns exec "$ns" iperf3 -c "$a.1" -p "$port" -t "$secs" -J 2>&1)
	wait $srv 2>/dev/null
	gbps=$(net_gbps <<<"$out")
	if [ -z "$gbps" ]; then
		metrics_unavailable veth "iperf3 over a hand-made veth failed: $(tail -c 200 <<<"$out" | tr '\n' ' ')"
		return 1
	fi
	metric veth "throughput netns->host (hand-made veth)" "$gbps" Gbit/s
	NET_VETH_GBPS=$gbps
}

scenario_net() {
	local runs=${BENCH_NET_RUNS:-30} secs=${BENCH_NET_SECS:-5}
	if [ "${QUICK:-no}" = yes ]; then
		runs=${BENCH_NET_RUNS:-10}
		secs=${BENCH_NET_SECS:-2}
	fi
	metrics_begin net "VE network: setup time and throughput"
	scenario_note "Setup times are vert's own measurements (vert --debug prints each network step)."
	scenario_note "prepare: bridge check, lease, port claims, /etc files; attach: veth pair into the VE's netns and eth0 config; commit: one nftables batch (NAT, anti-spoofing); teardown: nft rules and host veth removed."
	scenario_note "Throughput: iperf3 -t $secs, one TCP stream, client in the VE (or the netns), server on the host. Both paths are veth; vert's adds a bridge, br_netfilter (if the host has it on) and vert's netdev/NAT chains."
	if ! vert_check; then
		metrics_unavailable vert "$VERT_REASON"
	else
		net_setup_times "$runs"
		if have iperf3; then
			net_throughput_vert "$secs"
		else
			metrics_unavailable vert "iperf3 not installed"
		fi
	fi
	if have iperf3; then
		net_throughput_veth "$secs"
	else
		metrics_unavailable veth "iperf3 not installed"
	fi
	if [ -n "${NET_VERT_GBPS:-}" ] && [ -n "${NET_VETH_GBPS:-}" ]; then
		metric vert "throughput ratio vert/veth" \
			"$(awk -v a="$NET_VERT_GBPS" -v b="$NET_VETH_GBPS" 'BEGIN { printf "%.2f", a / b }')" x
	fi
	metrics_end
}
