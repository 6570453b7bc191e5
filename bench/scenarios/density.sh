# shellcheck shell=bash
# density: start N containers whose init is a long `sleep`, one after the
# other, and measure wall time, memory per container, listing time with N
# running, and stop+remove time.  crun and runc today; vert once its
# lifecycle commands (create/start/stop/destroy/ps) exist.
#
# Memory per container, four views (KiB, averaged over N):
#   MemAvailable drop   whole-system cost, noisy (page cache, other tasks)
#   Slab growth         kernel objects: namespaces, mounts, cgroups, tasks
#   memcg usage         the container's v1 memory cgroup (user + kmem)
#   PSS                 Pss of the container's processes (smaps_rollup)

meminfo_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# cgroup_pss_kb CGDIR -> summed Pss (kB) of the processes in a v1 cgroup
cgroup_pss_kb() {
	local p sum=0 v
	for p in $(cat "$1/cgroup.procs" 2>/dev/null); do
		v=$(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo $sum
}

# median of the numbers on stdin
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# density_oci RUNTIME : crun or runc
density_oci() {
	local rt=$1 n=$DENSITY_N d=$PEERS/density-$1 i ok=0 t0 t1 st
	local memcg_root=/sys/fs/cgroup/memory${CG_PARENT}
	local ma0 sl0 ma1 sl1 cgsum=0 psssum=0 measured=0
	local -a ids=()
	st=$([ "$rt" = crun ] && CRUN_STATE || RUNC_STATE)
	mkdir -p "$d"
	if ! have "$rt" || ! oci_bundle "$rt" "$d/tmpl" "[\"/bin/sleep\",\"$SLEEP_SECS\"]" "@CGPATH@"; then
		metrics_unavailable "$rt" "$rt not installed or spec failed"
		return
	fi
	for ((i = 1; i <= n; i++)); do
		mkdir -p "$d/b$i"
		sed "s|@CGPATH@|$CG_PARENT/$rt-d$i|" "$d/tmpl/config.json" >"$d/b$i/config.json"
		ids+=("vb$$-$rt-d$i")
	done
	on_exit density_oci_remove "$rt" "$st" "${ids[*]}"

	sync
	sleep 1
	ma0=$(meminfo_kb MemAvailable) sl0=$(meminfo_kb Slab)
	log "density: starting $n $rt containers"
	t0=$(now_ns)
	for ((i = 1; i <= n; i++)); do
		if [ "$rt" = crun ]; then
			crun_create --root "$st" run -d -b "$d/b$i" "${ids[$((i - 1))]}" </dev/null >>"$d/start.log" 2>&1
		else
			runc --root "$st" run -d -b "$d/b$i" "${ids[$((i - 1))]}" </dev/null >>"$d/start.log" 2>&1
		fi && ok=$((ok + 1))
	done
	t1=$(now_ns)
	sleep 2
	ma1=$(meminfo_kb MemAvailable) sl1=$(meminfo_kb Slab)
	for ((i = 1; i <= n; i++)); do
		local cg=$memcg_root/$rt-d$i
		[ -r "$cg/memory.usage_in_bytes" ] || continue
		cgsum=$((cgsum + $(cat "$cg/memory.usage_in_bytes") / 1024))
		psssum=$((psssum + $(cgroup_pss_kb "$cg")))
		measured=$((measured + 1))
	done

	metric "$rt" "containers requested" "$n" count
	metric "$rt" "containers running" "$ok" count
	metric "$rt" "start all, wall" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" s
	if [ "$ok" -gt 0 ]; then
		metric "$rt" "start, per container" "$(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.3f", (b - a) / 1e6 / n }')" ms
		metric "$rt" "MemAvailable drop, per container (system-wide)" "$(((ma0 - ma1) / ok))" KiB
		metric "$rt" "Slab growth, per container (system-wide)" "$(((sl1 - sl0) / ok))" KiB
	fi
	if [ "$measured" -gt 0 ]; then
		metric "$rt" "memcg usage, per container" "$((cgsum / measured))" KiB
		metric "$rt" "PSS of its processes, per container" "$((psssum / measured))" KiB
	fi
	[ "$ok" -lt "$n" ] && S_NOTES+=("$rt: $((n - ok)) of $n starts failed: $(first_lines "$d/start.log")")

	# `ps` with N running: median of 5 listings
	local lst
	lst=$(for i in 1 2 3 4 5; do
		t0=$(now_ns)
		"$rt" --root "$st" list >/dev/null 2>&1
		t1=$(now_ns)
		echo $(((t1 - t0) / 1000))
	done | median)
	metric "$rt" "list with N running (median of 5)" "$(awk -v u="$lst" 'BEGIN { printf "%.3f", u / 1000 }')" ms

	log "density: stopping $n $rt containers"
	t0=$(now_ns)
	for id in "${ids[@]}"; do
		"$rt" --root "$st" delete -f "$id" >/dev/null 2>&1
	done
	t1=$(now_ns)
	metric "$rt" "stop+remove (delete -f), per container" "$(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.3f", (b - a) / 1e6 / n }')" ms
}

density_oci_remove() {
	local rt=$1 st=$2 id
	for id in $3; do
		"$rt" --root "$st" delete -f "$id" >/dev/null 2>&1
	done
}

density_vert() {
	# TODO(vert lifecycle): once `vert create/start/stop/destroy/ps` exist,
	# mirror density_oci: create+start N VEs from `mini` with init
	# a long `sleep`, read the same four memory views (the VE's cgroup and
	# init pid from vert's state), time `vert ps`, then stop+destroy.
	local c missing=""
	for c in create start stop destroy ps; do
		vert_supports "$c" || missing+=" $c"
	done
	if ! vert_check; then
		metrics_unavailable vert "$VERT_REASON"
	elif [ -n "$missing" ]; then
		metrics_unavailable vert "lifecycle commands missing:$missing"
	else
		metrics_unavailable vert "density for vert not wired up yet (bench/scenarios/density.sh)"
	fi
}

scenario_density() {
	metrics_begin density "Density: $DENSITY_N containers with a sleeping init"
	density_vert
	density_oci crun
	density_oci runc
	S_NOTES+=("Containers are started one after the other; crun/runc -d leave no shim process, so PSS is the sleep(1) init alone.")
	S_NOTES+=("MemAvailable and Slab are system-wide and noisy on a 2-core VM; memcg usage is the v1 memory.usage_in_bytes (user + kernel memory charged to the container).")
	metrics_end
}
