# shellcheck shell=bash
# views: what a VE's own /proc and /sys views (lxcfs, src/ve/views.c) cost.
#   1. start latency (vert run --rm --net none mini /bin/true) with views,
#      with views while another VE keeps lxcfs up (the usual case on a
#      server), and with VERT_VIEWS=off; target: <= 1.1x without.
#   2. memory per idle VE: lxcfs's PSS with 1 and with N VEs (the shared
#      helper's share per VE; target far below 0.1 MiB), and the kernel's
#      Slab per VE with and without views (the 8 bind mounts).
# Needs cgroup v2, lxcfs and /dev/fuse: on a hybrid host (this dev VM)
# it reports why it can't run; run it in the cgroup v2 test VM.

views_unavailable() {
	[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] ||
		{ echo "no cgroup v2 at /sys/fs/cgroup (the views come from the VE's cgroup v2)"; return; }
	have lxcfs || { echo "lxcfs not installed"; return; }
	[ -c /dev/fuse ] || modprobe fuse 2>/dev/null
	[ -c /dev/fuse ] || { echo "no /dev/fuse"; return; }
}

# PSS (KiB) of this state root's lxcfs, 0 when none runs
views_lxcfs_pss() {
	local pid
	pid=$(cat "$BENCH_ROOT/run/lxcfs/pid" 2>/dev/null) || { echo 0; return; }
	awk '$1 == "Pss:" { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0
}

# its threads (libfuse workers, the loadavg thread, the main one)
views_lxcfs_threads() {
	local pid
	pid=$(cat "$BENCH_ROOT/run/lxcfs/pid" 2>/dev/null) || { echo 0; return; }
	awk '$1 == "Threads:" { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0
}

# views_fleet N [env...]: N sleeping VEs vw1..vwN, started
views_fleet() {
	local n=$1 i
	shift
	for i in $(seq "$n"); do
		env "$@" "$VERT" --root "$BENCH_ROOT" create "vw$i" --template mini --net none \
			-- /bin/sleep 86399 >/dev/null &&
			env "$@" "$VERT" --root "$BENCH_ROOT" start "vw$i" >/dev/null 2>&1 || return 1
	done
}

views_fleet_rm() {
	local n=$1 i
	for i in $(seq "$n"); do
		"$VERT" --root "$BENCH_ROOT" destroy --force "vw$i" >/dev/null 2>&1
	done
}

scenario_views() {
	local s=views why n=${BENCH_VIEWS_N:-20}
	local cmd="$VERT --root $BENCH_ROOT run --rm --net none mini -- /bin/true"
	peer_reset
	why=$(views_unavailable)
	if [ -n "$why" ] || ! vert_check; then
		why=${why:-$VERT_REASON}
		peer_unavailable vert-views "vert run --rm --net none, views (lxcfs)" "$why" "$cmd"
		peer_unavailable vert-noviews "the same, VERT_VIEWS=off" "$why" "env VERT_VIEWS=off $cmd"
		bench_hyperfine $s "Start latency with and without /proc views"
		part_tag "$RESULTS_DIR/parts/$s.json" views
		metrics_begin views-mem "Memory of the /proc views per idle VE"
		metrics_unavailable vert "$why"
		metrics_end
		part_tag "$RESULTS_DIR/parts/views-mem.json" views
		return 0
	fi

	peer_add vert-noviews "vert run --rm --net none, VERT_VIEWS=off" "env VERT_VIEWS=off $cmd"
	peer_add vert-views-cold "vert run --rm --net none, views, lxcfs started and stopped by each run" "$cmd"
	bench_hyperfine $s-cold "Start latency, views with no other VE running (lxcfs starts each time)"
	result_ratios $s-cold vert-views-cold
	part_tag "$RESULTS_DIR/parts/$s-cold.json" views

	# the usual case: other VEs run, lxcfs is up
	views_fleet 1 || warn "views: keeper VE did not start"
	peer_reset
	peer_add vert-noviews "vert run --rm --net none, VERT_VIEWS=off" "env VERT_VIEWS=off $cmd"
	peer_add vert-views "vert run --rm --net none, views (lxcfs already up)" "$cmd"
	scenario_note "A VE 'vw1' runs throughout, so lxcfs is up, as on a server with VEs; the cold table above has none."
	bench_hyperfine $s "Start latency with and without /proc views"
	result_ratios $s vert-views
	result_target $s vert-views vert-noviews 1.1 "start with views at most 1.1x without"
	part_tag "$RESULTS_DIR/parts/$s.json" views

	# memory: lxcfs PSS at 1 and N VEs, kernel Slab per VE with and without
	local pss1 pssn thrn slab0 slabv slabn
	pss1=$(views_lxcfs_pss)
	views_fleet_rm 1
	sync
	slab0=$(mi Slab)
	views_fleet "$n" || warn "views: not all $n VEs started"
	pssn=$(views_lxcfs_pss)
	# lxcfs's caches fill as VEs read: every VE reads its views once
	local i
	for i in $(seq "$n"); do
		"$VERT" --root "$BENCH_ROOT" exec "vw$i" cat /proc/meminfo /proc/cpuinfo /proc/stat \
			/proc/uptime /proc/loadavg >/dev/null 2>&1
	done
	pssn=$(views_lxcfs_pss)
	thrn=$(views_lxcfs_threads)
	slabv=$(mi Slab)
	views_fleet_rm "$n"
	sync
	views_fleet "$n" VERT_VIEWS=off || warn "views: not all $n VEs started without views"
	slabn=$(mi Slab)
	views_fleet_rm "$n"

	metrics_begin views-mem "Memory of the /proc views per idle VE (N=$n)"
	metric vert "lxcfs PSS with 1 VE" "$pss1" KiB
	metric vert "lxcfs PSS with $n VEs (each read its views)" "$pssn" KiB
	local per_lx per_slab
	per_lx=$(awk -v a="$pss1" -v b="$pssn" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / (n - 1) }')
	per_slab=$(awk -v v="$slabv" -v o="$slabn" -v z="$slab0" -v n="$n" \
		'BEGIN { printf "%.1f", ((v - z) - (o - z)) / n }')
	metric vert "lxcfs PSS growth per VE" "$per_lx" KiB
	metric vert "lxcfs PSS with $n VEs / $n (its fixed cost shared out)" \
		"$(awk -v b="$pssn" -v n="$n" 'BEGIN { printf "%.1f", b / n }')" KiB
	metric vert "lxcfs threads with $n VEs" "$thrn" ""
	metric vert "kernel Slab per VE, views minus no views (8 bind mounts)" "$per_slab" KiB
	metrics_target "a helper shared by all VEs costs far less than 0.1 MiB per VE" "$per_lx" "<=" 102 KiB
	scenario_note "lxcfs PSS growth per VE = (PSS at N VEs - PSS at 1 VE) / (N-1), after every VE read meminfo, cpuinfo, stat, uptime and loadavg once."
	scenario_note "Slab per VE is a system-wide delta (noisy with other work on the machine)."
	metrics_end
	part_tag "$RESULTS_DIR/parts/views-mem.json" views
}
