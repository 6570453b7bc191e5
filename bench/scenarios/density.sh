# shellcheck shell=bash
# density: N containers whose init is `/bin/sleep 86399` (the same payload
# for every peer), for each N in DENSITY_NS (default "100 1000"), one
# runtime's population at a time (never two populations of N at once):
#
#   1. memory snapshot (sync, drop caches, settle 1 s)
#   2. create+start all, one after the other; every command timed
#      (per-VE p50/p99/max and the wall time)
#   3. memory snapshot; per-process PSS of the payloads and of the
#      runtime's own per-VE process (vert-monitor; crun/runc leave none)
#   4. lifecycle latency with N running (a "compare" part, hyperfine):
#      ps/list, exec, start one, stop one
#   5. stop all, then (vert) `ps -a` with N stopped, then destroy all;
#      each command timed
#   6. the same population again with DENSITY_PAR parallel commands
#      (xargs -P): create+start all, stop all, destroy all
#   7. memory snapshot after everything is gone (leak check)
#
# Memory per VE (KiB, deltas of /proc/meminfo between 1 and 3, over N):
#   Slab, KernelStack, PageTables, Percpu, Shmem, "unaccounted" kernel
#   memory (MemTotal minus every counter: large kmallocs, vmalloc pages
#   ...; shown, not summed: too noisy here), Cached (shared file pages;
#   not added up, see sharing), the PSS
#   of the payload and of the runtime's per-VE process, the v1 memcg of
#   crun/runc containers (vert runs without a cgroup on a hybrid host).
#   "beyond payload" = kernel deltas (Slab, KernelStack, PageTables,
#   Percpu, Shmem) + runtime process PSS - the payload's own kernel stack
#   and page tables.

meminfo_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# median of the numbers on stdin
median() { pctl 50; }

# seq_timed FILE N FUNC : FUNC 1 .. FUNC N one after the other, each timed
# (µs, one per line in FILE); sets SEQ_WALL_US and SEQ_FAILS
seq_timed() {
	local f=$1 n=$2 fn=$3 i a b t0
	local -a us=()
	SEQ_FAILS=0
	t0=${EPOCHREALTIME/./}
	for ((i = 1; i <= n; i++)); do
		a=${EPOCHREALTIME/./}
		"$fn" "$i" || SEQ_FAILS=$((SEQ_FAILS + 1))
		b=${EPOCHREALTIME/./}
		us+=($((b - a)))
	done
	SEQ_WALL_US=$((${EPOCHREALTIME/./} - t0))
	printf '%s\n' "${us[@]}" >"$f"
	# keep the series (µs per command, in order) with the raw results
	cp "$f" "$RESULTS_DIR/raw/$(basename "$(dirname "$f")").$(basename "$f")" 2>/dev/null
	return 0
}

# par_timed P ARGS_FILE CMD... : xargs -P P over ARGS_FILE (one argument
# set per line, -L1); sets PAR_WALL_US and PAR_RC
par_timed() {
	local p=$1 args=$2 t0
	shift 2
	t0=${EPOCHREALTIME/./}
	xargs -P "$p" -L 1 "$@" <"$args" >>"$DLOG" 2>&1
	PAR_RC=$?
	PAR_WALL_US=$((${EPOCHREALTIME/./} - t0))
}

s_of_us() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1e6 }'; }
ms_of_us() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1e3 }'; }

# dist_metrics PEER WHAT FILE N : p50, p99, max (ms) and wall (s) of a
# seq_timed run
dist_metrics() {
	local peer=$1 what=$2 f=$3
	metric "$peer" "$what: wall, all (sequential)" "$(s_of_us "$SEQ_WALL_US")" s
	metric "$peer" "$what: p50 per VE" "$(ms_of_us "$(pctl 50 <"$f")")" ms
	metric "$peer" "$what: p99 per VE" "$(ms_of_us "$(pctl 99 <"$f")")" ms
	metric "$peer" "$what: max per VE" "$(ms_of_us "$(pctl 100 <"$f")")" ms
	trend_metric "$peer" "$what" "$f" "$4"
	[ "$SEQ_FAILS" -gt 0 ] && S_NOTES+=("$peer: $what: $SEQ_FAILS of $4 commands failed: $(first_lines "$DLOG")")
	return 0
}

# trend_metric PEER WHAT FILE N : p50 of the first and the last 10% of
# a sequential series (does the cost grow with the population?)
trend_metric() {
	local n10=$(($4 / 10))
	[ "$n10" -ge 10 ] || return 0
	metric "$1" "$2: p50 of the first / last 10%" \
		"$(ms_of_us "$(head -n "$n10" "$3" | pctl 50)") / $(ms_of_us "$(tail -n "$n10" "$3" | pctl 50)")" ms
}

# mem_metrics PEER N M0 M1 PAYLOAD_PIDS RUNTIME_PIDS [MEMCG_SUM_KB MEMCG_COUNT]
# Sets MEM_BEYOND (KiB per VE beyond the payload).
mem_metrics() {
	local peer=$1 n=$2 m0=$3 m1=$4 pp=$5 rp=$6 cgsum=${7:-} cgn=${8:-0}
	local k plm rtm u0 u1 slab ks pt pc sh un beyond
	read -r -a plm <<<"$(procs_mem $pp)" # count pss anon file rss pte threads
	read -r -a rtm <<<"$(procs_mem $rp)"
	slab=$(mi_delta_per Slab "$m0" "$m1" "$n")
	ks=$(mi_delta_per KernelStack "$m0" "$m1" "$n")
	pt=$(mi_delta_per PageTables "$m0" "$m1" "$n")
	pc=$(mi_delta_per Percpu "$m0" "$m1" "$n")
	sh=$(mi_delta_per Shmem "$m0" "$m1" "$n")
	u0=$(mi_unaccounted "$m0") u1=$(mi_unaccounted "$m1")
	un=$(awk -v a="$u0" -v b="$u1" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
	metric "$peer" "mem: Slab, per VE" "$slab" KiB
	metric "$peer" "mem: of which SUnreclaim" "$(mi_delta_per SUnreclaim "$m0" "$m1" "$n")" KiB
	metric "$peer" "mem: KernelStack, per VE" "$ks" KiB
	metric "$peer" "mem: PageTables, per VE" "$pt" KiB
	metric "$peer" "mem: Percpu, per VE" "$pc" KiB
	metric "$peer" "mem: Shmem (tmpfs), per VE" "$sh" KiB
	metric "$peer" "mem: unaccounted kernel pages, per VE (not summed, unreliable)" "$un" KiB
	metric "$peer" "mem: Cached growth, per VE (not summed)" "$(mi_delta_per Cached "$m0" "$m1" "$n")" KiB
	metric "$peer" "mem: MemAvailable drop, per VE (noisy)" \
		"$(awk -v a="$(mi MemAvailable "$m0")" -v b="$(mi MemAvailable "$m1")" -v n="$n" 'BEGIN { printf "%.1f", (a - b) / n }')" KiB
	metric "$peer" "payload (init) PSS, per VE" "$(per "${plm[0]}" "${plm[1]}")" KiB
	metric "$peer" "payload PSS anon / file" "$(per "${plm[0]}" "${plm[2]}") / $(per "${plm[0]}" "${plm[3]}")" KiB
	if [ "${rtm[0]}" -gt 0 ]; then
		metric "$peer" "runtime process per VE: count" "$(per "$n" "${rtm[0]}")" count
		metric "$peer" "runtime process PSS, per VE" "$(per "$n" "${rtm[1]}")" KiB
		metric "$peer" "runtime process PSS anon / file" "$(per "$n" "${rtm[2]}") / $(per "$n" "${rtm[3]}")" KiB
		metric "$peer" "runtime process RSS, per VE" "$(per "$n" "${rtm[4]}")" KiB
		metric "$peer" "runtime process page tables, per VE" "$(per "$n" "${rtm[5]}")" KiB
	else
		metric "$peer" "runtime process per VE: count" 0 count
	fi
	if [ -n "$cgsum" ] && [ "$cgn" -gt 0 ]; then
		metric "$peer" "memcg usage (v1, user+kernel), per VE" "$(per "$cgn" "$cgsum")" KiB
	fi
	# beyond the payload: the kernel's deltas, minus the payload's own
	# kernel stack (16 KiB per thread on x86-64) and page tables, plus
	# the runtime's per-VE process (its stack and page tables are in
	# the kernel deltas already)
	beyond=$(awk -v s="$slab" -v k="$ks" -v p="$pt" -v c="$pc" -v h="$sh" -v u="$un" \
		-v th="${plm[6]}" -v pte="${plm[5]}" -v np="${plm[0]}" -v rp="${rtm[1]}" -v n="$n" '
		BEGIN { if (np == 0) np = n
			v = s + k + p + c + (h > 0 ? h : 0) - (th * 16 + pte) / np + rp / n
			printf "%.1f", v }')
	MEM_BEYOND=$beyond
	metric "$peer" "mem: beyond payload, per VE" "$beyond" KiB
	metric "$peer" "mem: payload total (PSS + kernel stack + page tables), per VE" \
		"$(awk -v a="${plm[1]}" -v th="${plm[6]}" -v pte="${plm[5]}" -v np="${plm[0]}" \
			'BEGIN { if (np > 0) printf "%.1f", (a + th * 16 + pte) / np; else print 0 }')" KiB
	S_NOTES+=("$peer: slab caches that grew most (KiB per VE): $(slab_top "$m0.slab" "$m1.slab" "$n" 10)")
	# keep the snapshots with the raw results (slab diffs between peers)
	local f
	for f in "$m0" "$m0.slab" "$m1" "$m1.slab"; do
		cp "$f" "$RESULTS_DIR/raw/density-N$n.$peer.$(basename "$f")" 2>/dev/null
	done
}

# ---------------------------------------------------------------- vert
# shellcheck disable=SC2086
dv_create() { "$VERT" --root "$BENCH_ROOT" create "d$1" --template mini $VERT_VE_NET_ARGS -- /bin/sleep "$SLEEP_SECS" </dev/null >>"$DLOG" 2>&1; }
dv_start() { "$VERT" --root "$BENCH_ROOT" start "d$1" </dev/null >>"$DLOG" 2>&1; }
dv_stop() { "$VERT" --root "$BENCH_ROOT" stop "d$1" </dev/null >>"$DLOG" 2>&1; }
dv_destroy() { "$VERT" --root "$BENCH_ROOT" destroy "d$1" </dev/null >>"$DLOG" 2>&1; }

density_vert_remove() {
	local ve
	for ve in $("$VERT" --root "$BENCH_ROOT" ps -a -q 2>/dev/null); do
		case $ve in d[0-9]*) "$VERT" --root "$BENCH_ROOT" destroy --force "$ve" >/dev/null 2>&1 ;; esac
	done
}

vert_running_count() { "$VERT" --root "$BENCH_ROOT" ps -q 2>/dev/null | grep -c '^d[0-9]'; }

# density_ping N: how many of 20 VEs spread over d1..dN answer one ping
# from the host (networked VEs: VERT_VE_NET_ARGS other than --net none)
density_ping() {
	local n=$1 i ip ok=0 ping=(ping)
	have ping || ping=(busybox ping)
	for i in $(seq 1 $(((n + 19) / 20)) "$n" | head -n 20); do
		ip=$("$VERT" --root "$BENCH_ROOT" ps --json "d$i" 2>/dev/null | jq -r '.[0].ip // empty')
		[ -n "$ip" ] && "${ping[@]}" -c 1 -W 2 "$ip" >/dev/null 2>&1 && ok=$((ok + 1))
	done
	echo "$ok"
}

density_vert() {
	local n=$1 d k running pids mons cs_wall
	d=$PEERS/density-vert-$n
	local V="$VERT --root $BENCH_ROOT"
	mkdir -p "$d"
	DLOG=$d/log
	: >"$DLOG"
	if ! vert_check; then
		metrics_unavailable vert "$VERT_REASON"
		return
	fi
	on_exit density_vert_remove
	mem_snapshot "$d/m0"
	log "density N=$n: vert create x$n"
	seq_timed "$d/create.us" "$n" dv_create
	local cw=$SEQ_WALL_US
	dist_metrics vert "create" "$d/create.us" "$n"
	log "density N=$n: vert start x$n"
	seq_timed "$d/start.us" "$n" dv_start
	local sw=$SEQ_WALL_US
	dist_metrics vert "start" "$d/start.us" "$n"
	paste "$d/create.us" "$d/start.us" | awk '{ print $1 + $2 }' >"$d/cs.us"
	cs_wall=$((cw + sw))
	metric vert "create+start: wall, all (sequential)" "$(s_of_us "$cs_wall")" s
	metric vert "create+start: p50 per VE" "$(ms_of_us "$(pctl 50 <"$d/cs.us")")" ms
	metric vert "create+start: p99 per VE" "$(ms_of_us "$(pctl 99 <"$d/cs.us")")" ms
	metric vert "create+start: max per VE" "$(ms_of_us "$(pctl 100 <"$d/cs.us")")" ms
	trend_metric vert "create+start" "$d/cs.us" "$n"
	running=$(vert_running_count)
	metric vert "VEs running at once" "$running" count
	case " $VERT_VE_NET_ARGS " in
	*" none "* | *"=none "*) ;;
	*) metric vert "of 20 VEs spread over the N, answering a ping from the host" "$(density_ping "$n")" count ;;
	esac
	DENSITY_VERT_WALL_S=$(s_of_us "$cs_wall") DENSITY_VERT_RUNNING=$running

	sleep 1
	mem_snapshot "$d/m1"
	pids=$($V ps --json 2>/dev/null | jq -r '.[] | select(.name | test("^d[0-9]+$")) | .pid // empty')
	# the per-VE vert-monitor is the parent of the init
	# shellcheck disable=SC2086
	mons=$(for p in $pids; do awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null; done | sort -u)
	# shellcheck disable=SC2086
	mem_metrics vert "$n" "$d/m0" "$d/m1" "$pids" "$mons"
	DENSITY_VERT_BEYOND=$MEM_BEYOND
	local mc
	# shellcheck disable=SC2086
	mc=$(for p in $mons; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -d' ' -f1 | xargs -r basename; done | sort | uniq -c | tr -s ' ' | head -n 3)
	S_NOTES+=("vert: the per-VE runtime process is the init's parent: $mc (one per VE, static binary)")

	# lifecycle with N running (one VE in the middle of the population)
	k=$(((n + 1) / 2))
	cmp_queue vert ps "ps / list (N running)" "$V ps"
	cmp_queue vert ps-a "ps -a / list (N running)" "$V ps -a"
	cmp_queue vert exec "exec /bin/true (N running)" "$V exec d$k -- /bin/true"
	cmp_queue vert start-one "start one more (N-1 running)" "$V start d$k" \
		"sh -c '$V stop d$k >/dev/null 2>&1; exit 0'"
	cmp_queue vert stop-one "stop one (N running)" "$V stop d$k" \
		"sh -c '$V start d$k >/dev/null 2>&1; exit 0'"
	CMP_BEFORE_ROUND="$V start d$k"
	cmp_run vert "$LC_RUNS" 2 "$LC_ROUNDS"
	CMP_BEFORE_ROUND=""
	$V start "d$k" >/dev/null 2>&1

	log "density N=$n: vert stop x$n"
	seq_timed "$d/stop.us" "$n" dv_stop
	local stw=$SEQ_WALL_US
	dist_metrics vert "stop" "$d/stop.us" "$n"
	cmp_queue vert ps-a-stopped "ps -a (N defined, stopped)" "$V ps -a"
	cmp_run vert "$LC_RUNS" 2 "$LC_ROUNDS"
	log "density N=$n: vert destroy x$n"
	seq_timed "$d/destroy.us" "$n" dv_destroy
	dist_metrics vert "destroy" "$d/destroy.us" "$n"
	metric vert "stop+destroy: wall, all (sequential)" \
		"$(s_of_us $((stw + SEQ_WALL_US)))" s
	paste "$d/stop.us" "$d/destroy.us" | awk '{ print $1 + $2 }' >"$d/sd.us"
	metric vert "stop+destroy: p50 per VE" "$(ms_of_us "$(pctl 50 <"$d/sd.us")")" ms
	metric vert "stop+destroy: p99 per VE" "$(ms_of_us "$(pctl 99 <"$d/sd.us")")" ms
	metric vert "stop+destroy: max per VE" "$(ms_of_us "$(pctl 100 <"$d/sd.us")")" ms
	trend_metric vert "stop+destroy" "$d/sd.us" "$n"

	# again, DENSITY_PAR commands at a time
	local p=$DENSITY_PAR
	seq 1 "$n" | sed 's/^/d/' >"$d/names"
	log "density N=$n: vert, $p in parallel"
	par_timed "$p" "$d/names" sh -c "exec $V create \"\$0\" --template mini $VERT_VE_NET_ARGS -- /bin/sleep $SLEEP_SECS"
	local pc=$PAR_WALL_US
	par_timed "$p" "$d/names" $V start
	local ps_=$PAR_WALL_US
	metric vert "create+start: wall, all (-P $p)" "$(s_of_us $((pc + ps_)))" s
	metric vert "  of which start (-P $p)" "$(s_of_us "$ps_")" s
	metric vert "VEs running after -P $p start" "$(vert_running_count)" count
	par_timed "$p" "$d/names" $V stop
	local pst=$PAR_WALL_US
	par_timed "$p" "$d/names" $V destroy
	metric vert "stop+destroy: wall, all (-P $p)" "$(s_of_us $((pst + PAR_WALL_US)))" s
	density_vert_remove
	mem_snapshot "$d/m2"
	metric vert "leak check: Slab after destroy vs before, per VE" "$(mi_delta_per Slab "$d/m0" "$d/m2" "$n")" KiB
}

# ---------------------------------------------------------------- OCI
DO_RT="" DO_ST="" DO_D=""
do_id() { echo "vb$$-$DO_RT-d$1"; }
do_run() {
	if [ "$DO_RT" = crun ]; then
		crun_create --root "$DO_ST" run -d -b "$DO_D/b$1" "vb$$-crun-d$1" </dev/null >>"$DLOG" 2>&1
	else
		runc --root "$DO_ST" run -d -b "$DO_D/b$1" "vb$$-runc-d$1" </dev/null >>"$DLOG" 2>&1
	fi
}
do_delete() { "$DO_RT" --root "$DO_ST" delete -f "vb$$-$DO_RT-d$1" </dev/null >>"$DLOG" 2>&1; }

density_oci_remove() {
	local rt=$1 st=$2 id
	for id in $("$rt" --root "$st" list -q 2>/dev/null); do
		case $id in "vb$$-$rt-d"*) "$rt" --root "$st" delete -f "$id" >/dev/null 2>&1 ;; esac
	done
}

# oci_list RUNTIME STATE OUT : `RUNTIME list -f json` of our containers
# into OUT (a JSON array); falls back to one `state` per container when
# the listing is not valid JSON
oci_list() {
	local rt=$1 st=$2 out=$3 id
	if "$rt" --root "$st" list -f json 2>"$out.err" >"$out.raw" &&
		jq --arg p "vb$$-$rt-d" '[.[]? | select(.id | startswith($p))]' "$out.raw" >"$out" 2>>"$out.err"; then
		return 0
	fi
	S_NOTES+=("$rt list -f json failed ($(first_lines "$out.err")); used $rt state per container instead")
	for id in "$st"/"vb$$-$rt-d"*; do
		[ -e "$id" ] && "$rt" --root "$st" state "$(basename "$id")" 2>/dev/null
	done | jq -s '[.[] | {id, pid, status}]' >"$out"
}

# oci_running_count RUNTIME STATE : sets OCI_RUNNING (not in a subshell:
# it may add notes)
oci_running_count() {
	local f=$PEERS/oci-list.$$.json
	oci_list "$1" "$2" "$f"
	OCI_RUNNING=$(jq '[.[] | select(.status == "running")] | length' "$f")
	# anything not running is worth a note
	jq -r 'group_by(.status) | map("\(.[0].status)=\(length)") | join(", ")' "$f" |
		grep -v '^running=[0-9]*$' | grep . >"$f.st" &&
		S_NOTES+=("$1 containers by status after the start loop: $(cat "$f.st")")
	cp "$f.raw" "$RESULTS_DIR/raw/$1-list-$(date +%s%N).json" 2>/dev/null
	return 0
}

# density_oci RUNTIME N : crun or runc
density_oci() {
	local rt=$1 n=$2 d=$PEERS/density-$1-$2 i k st pids running cgsum cgn
	local memcg_root=/sys/fs/cgroup/memory${CG_PARENT}
	st=$([ "$rt" = crun ] && CRUN_STATE || RUNC_STATE)
	DO_RT=$rt DO_ST=$st DO_D=$d
	mkdir -p "$d"
	DLOG=$d/log
	: >"$DLOG"
	if ! have "$rt" || ! oci_bundle "$rt" "$d/tmpl" "[\"/bin/sleep\",\"$SLEEP_SECS\"]" "@CGPATH@"; then
		metrics_unavailable "$rt" "$rt not installed or spec failed"
		return
	fi
	for ((i = 1; i <= n; i++)); do
		mkdir -p "$d/b$i"
		sed "s|@CGPATH@|$CG_PARENT/$rt-d$i|" "$d/tmpl/config.json" >"$d/b$i/config.json"
	done
	on_exit density_oci_remove "$rt" "$st"

	mem_snapshot "$d/m0"
	log "density N=$n: $rt run -d x$n"
	seq_timed "$d/run.us" "$n" do_run
	dist_metrics "$rt" "create+start" "$d/run.us" "$n"
	oci_running_count "$rt" "$st"
	metric "$rt" "VEs running at once" "$OCI_RUNNING" count
	[ "$rt" = crun ] && DENSITY_CRUN_WALL_S=$(s_of_us "$SEQ_WALL_US")
	sleep 1
	mem_snapshot "$d/m1"
	oci_list "$rt" "$st" "$d/list.json"
	pids=$(jq -r '.[] | select(.status == "running") | .pid' "$d/list.json")
	cgsum=0 cgn=0
	for ((i = 1; i <= n; i++)); do
		local f=$memcg_root/$rt-d$i/memory.usage_in_bytes
		[ -r "$f" ] || continue
		cgsum=$((cgsum + $(cat "$f") / 1024)) cgn=$((cgn + 1))
	done
	# shellcheck disable=SC2086
	mem_metrics "$rt" "$n" "$d/m0" "$d/m1" "$pids" "" "$cgsum" "$cgn"
	[ "$rt" = crun ] && DENSITY_CRUN_BEYOND=$MEM_BEYOND

	k=$(((n + 1) / 2))
	local id=vb$$-$rt-d$k create
	if [ "$rt" = crun ]; then
		create=$([ "$HYBRID" = yes ] && echo "$HYBRIDNS crun" || echo crun)
	else
		create=runc
	fi
	cmp_queue "$rt" ps "ps / list (N running)" "$rt --root $st list"
	cmp_queue "$rt" exec "exec /bin/true (N running)" "$rt --root $st exec $id /bin/true"
	cmp_queue "$rt" start-one "start one more (N-1 running)" "$create --root $st run -d -b $d/b$k $id" \
		"sh -c '$rt --root $st delete -f $id >/dev/null 2>&1; exit 0'"
	cmp_queue "$rt" stop-one "stop one (N running): delete -f" "$rt --root $st delete -f $id" \
		"sh -c '$create --root $st run -d -b $d/b$k $id >/dev/null 2>&1; exit 0'"
	CMP_BEFORE_ROUND="do_run $k"
	cmp_run "$rt" "$LC_RUNS" 2 "$LC_ROUNDS"
	CMP_BEFORE_ROUND=""
	do_run "$k"

	log "density N=$n: $rt delete -f x$n"
	seq_timed "$d/delete.us" "$n" do_delete
	dist_metrics "$rt" "stop+destroy" "$d/delete.us" "$n"

	local p=$DENSITY_PAR
	for ((i = 1; i <= n; i++)); do echo "$d/b$i vb$$-$rt-d$i"; done >"$d/args"
	log "density N=$n: $rt, $p in parallel"
	if [ "$rt" = crun ]; then
		par_timed "$p" "$d/args" $create --root "$st" run -d -b
	else
		par_timed "$p" "$d/args" runc --root "$st" run -d -b
	fi
	metric "$rt" "create+start: wall, all (-P $p)" "$(s_of_us "$PAR_WALL_US")" s
	oci_running_count "$rt" "$st"
	metric "$rt" "VEs running after -P $p start" "$OCI_RUNNING" count
	awk '{ print $2 }' "$d/args" >"$d/ids"
	par_timed "$p" "$d/ids" "$rt" --root "$st" delete -f
	metric "$rt" "stop+destroy: wall, all (-P $p)" "$(s_of_us "$PAR_WALL_US")" s
	density_oci_remove "$rt" "$st"
	mem_snapshot "$d/m2"
	metric "$rt" "leak check: Slab after destroy vs before, per VE" "$(mi_delta_per Slab "$d/m0" "$d/m2" "$n")" KiB
}

# ---------------------------------------------------------------- floor
# The kernel floor of a VE's memory: N `bench/floor ROOTFS /bin/sleep`,
# each the same namespaces (mount pid net ipc uts cgroup) + one bind
# mount + pivot_root, and, like vert-monitor, a parent process waiting
# for the sleeping pid 1.  Memory only (they are started in the
# background, there is no start latency to speak of).
DF_PIDS=()
density_floor_remove() {
	local p c
	for p in "${DF_PIDS[@]}"; do
		for c in $(cat "/proc/$p/task/$p/children" 2>/dev/null); do
			kill -KILL "$c" 2>/dev/null
		done
		kill -KILL "$p" 2>/dev/null
	done
	DF_PIDS=()
}

density_floor() {
	local n=$1 d i p pl="" rl="" c
	d=$PEERS/density-floor-$n
	mkdir -p "$d"
	if [ ! -x "$FLOOR" ]; then
		metrics_unavailable floor "bench/floor did not build"
		return
	fi
	DF_PIDS=()
	on_exit density_floor_remove
	mem_snapshot "$d/m0"
	log "density N=$n: floor x$n (memory only)"
	for ((i = 1; i <= n; i++)); do
		"$FLOOR" "$ROOTFS" /bin/sleep "$SLEEP_SECS" </dev/null >/dev/null 2>&1 &
		DF_PIDS+=($!)
	done
	sleep 2
	mem_snapshot "$d/m1"
	for p in "${DF_PIDS[@]}"; do
		c=$(cat "/proc/$p/task/$p/children" 2>/dev/null)
		[ -n "$c" ] && pl+=" $c" rl+=" $p"
	done
	metric floor "VEs running at once" "$(echo $pl | wc -w)" count
	# shellcheck disable=SC2086
	mem_metrics floor "$n" "$d/m0" "$d/m1" "$pl" "$rl"
	density_floor_remove
	wait 2>/dev/null
}

scenario_density() {
	local n
	for n in $DENSITY_NS; do
		DENSITY_VERT_WALL_S="" DENSITY_VERT_RUNNING="" DENSITY_VERT_BEYOND="" DENSITY_CRUN_BEYOND=""
		metrics_begin "density-N$n" "Density: $n containers with a sleeping init (/bin/sleep $SLEEP_SECS)"
		cmp_begin "lifecycle-N$n" "Lifecycle latency with $n containers running (hyperfine, ms)"
		density_vert "$n"
		run_cleanups
		density_floor "$n"
		run_cleanups
		density_oci crun "$n"
		run_cleanups
		if [ "$n" -le "$DENSITY_RUNC_MAX" ]; then
			density_oci runc "$n"
			run_cleanups
		else
			metrics_unavailable runc "skipped at N=$n (runc takes ~25 ms per start and ~100 ms per delete here; DENSITY_RUNC_MAX=$DENSITY_RUNC_MAX)"
		fi

		if [ "$n" -ge 1000 ]; then
			metrics_target "$n VEs running at once" "$DENSITY_VERT_RUNNING" ">=" "$n" count
			metrics_target "$n VEs started (create+start, sequential) in under 15 s" "$DENSITY_VERT_WALL_S" "<=" 15 s
		fi
		metrics_target "under 0.5 MiB of host memory per idle VE beyond its payload" "$DENSITY_VERT_BEYOND" "<=" 512 KiB
		S_NOTES+=("floor: N x bench/floor ROOTFS /bin/sleep (unshare of the same namespaces, one bind mount, pivot_root; its waiting parent plays the role of vert-monitor): the kernel's own price of a namespaced process, memory only.")
		S_NOTES+=("One runtime's population at a time: vert's N VEs are stopped and destroyed before crun's are started; memory snapshots after sync + drop_caches + 1 s settle.")
		S_NOTES+=("vert VEs: vert create dI --template mini $VERT_VE_NET_ARGS -- /bin/sleep $SLEEP_SECS (VERT_VE_NET_ARGS; a netns with only lo, like the crun/runc containers). vert create and start are separate commands; crun/runc 'run -d' does both (crun through bench/hybridns on this host: ~1 ms of its time per start is the wrapper, see the start scenario). crun/runc leave no per-container process, so their runtime PSS is 0; vert keeps one vert-monitor per VE.")
		S_NOTES+=("vert runs without a cgroup on this hybrid host; crun/runc create v1 cgroups (memcg usage row), so their Slab includes cgroup objects vert does not create here.")
		S_NOTES+=("beyond payload = Slab + KernelStack + PageTables + Percpu + Shmem (deltas per VE) + the runtime process's PSS - the payload's own kernel stack (16 KiB) and page tables. System-wide deltas pick up other work on this machine (noisy); N=1000 divides that noise by 1000. Memory that no /proc/meminfo counter covers ('unaccounted': MemTotal - MemFree - every counter) is shown but not summed: even after draining the per-CPU page lists (compact_memory) it moves by tens of MiB between snapshots here, i.e. +-50-150 KiB per VE at N=300..1000 in either direction.")
		[ "$DENSITY_PAR" -gt 1 ] && S_NOTES+=("-P $DENSITY_PAR rows: the same population again, commands run by xargs -P $DENSITY_PAR (vert: create all, then start all; stop all, then destroy all).")
		metrics_end
		part_tag "$RESULTS_DIR/parts/density-N$n.json" density

		cmp_note "Per runtime, one hyperfine run over its operations per round, $LC_RUNS runs (warmup 2) in $LC_ROUNDS round(s); the runtimes' populations are measured one after the other, not interleaved (N=$n of each cannot run at once here)."
		cmp_note "start-one/stop-one use one container in the middle of the population; their --prepare step (untimed) stops/starts it. crun 'stop' is delete -f (kill + remove: crun has no stop that waits); crun start is run -d (create + start) through hybridns."
		cmp_end vert
		part_tag "$RESULTS_DIR/parts/lifecycle-N$n.json" density
	done
}
