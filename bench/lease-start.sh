#!/bin/bash
# bench/lease-start.sh N REPS OLD_VERT NEW_VERT: `vert create xI --template
# mini -- sleep 600 && vert --debug start xI` REPS times with each of two
# vert binaries, interleaved, each in a state root of its own given N fake
# leases (bench/README.md, "Leases: one entry per lease").  Each root gets N fake
# leases in a leases.json (an old vert reads it, a new one converts it at
# the warm-up run); each run's wall time and `vert --debug`'s
# "net: prepare" time are printed.  Uses 10.231.0.0/16 and 10.233.0.0/16,
# bridges vtl{old,new}PID and tables vertl_{old,new}PID, all removed at exit.
set -eu
[ $# -eq 4 ] || { echo "usage: $0 N REPS OLD_VERT NEW_VERT" >&2; exit 2; }
if ip -4 route show table all | grep -q ' 10\.23[13]\.\|^10\.23[13]\.'; then
	echo "10.231/16 or 10.233/16 is routed on this host: not running" >&2
	exit 1
fi
N=$1 REPS=$2
B=${BENCH_TMP:-/var/tmp}/lease-start.$$
declare -A BIN=([old]=$3 [new]=$4) NET=([old]=231 [new]=233)
cleanup() {
	for t in old new; do
		R=$B-$t
		for v in $("${BIN[$t]}" --root "$R" ps -aq 2>/dev/null); do "${BIN[$t]}" --root "$R" destroy --force "$v" >/dev/null 2>&1 || true; done
		ip link del "vtl$t$$" 2>/dev/null || true
		nft delete table inet "vertl_$t$$" 2>/dev/null || true
		for x in $(nft list tables netdev 2>/dev/null | awk -v p="vertl_$t$$" 'index($3, p) == 1 {print $3}'); do nft delete table netdev "$x"; done
		"${BIN[$t]}" --root "$R" template rm mini >/dev/null 2>&1 || true
		rm -rf "$R"
	done
}
trap cleanup EXIT
for t in old new; do
	R=$B-$t; n=${NET[$t]}
	rm -rf "$R"; mkdir -p "$R/net"; chmod 755 "$R"
	printf '{"bridge": "vtl%s%s", "subnet": "10.%s.0.0/16", "routed_subnet": "10.%s.0.0/16", "subnet6": "", "nft_table": "vertl_%s%s"}\n' "$t" $$ "$n" $((n + 1)) "$t" $$ >"$R/network.json"
	"${BIN[$t]}" --root "$R" template create mini --from busybox >/dev/null
	python3 - "$R" "$N" "$n" <<'PY'
import json, sys
r, n, net = sys.argv[1], int(sys.argv[2]), sys.argv[3]
l = {'fake%d' % i: '10.%s.%d.%d' % (net, (i + 2) // 256, (i + 2) % 256) for i in range(n)}
json.dump({'leases': l, 'ports': {}}, open(r + '/net/leases.json', 'w'), indent=2)
PY
	"${BIN[$t]}" --root "$R" run --rm mini -- true 2>/dev/null
done
for i in $(seq 1 "$REPS"); do
	for t in old new; do
		R=$B-$t
		t0=$(date +%s%N)
		"${BIN[$t]}" --root "$R" create "x$i" --template mini -- sleep 600 >/dev/null 2>&1
		out=$("${BIN[$t]}" --debug --root "$R" start "x$i" 2>&1)
		t1=$(date +%s%N)
		echo "$t N=$N wall_ms $(( (t1 - t0) / 1000000 )) prepare_ms $(grep -o 'net: prepare [a-z]* [0-9.]* ms' <<<"$out" | awk '{print $4}')"
	done
done
