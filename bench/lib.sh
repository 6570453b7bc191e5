# shellcheck shell=bash
# bench/lib.sh - helpers shared by bench/run and bench/scenarios/*.sh.
#
# Sourced, never executed.  Everything here works on the globals that
# bench/run sets up (BENCH_TMP, BENCH_ROOT, ROOTFS, RESULTS_DIR, ...).
#
# A scenario builds a list of "peers" (one command each), then calls
# bench_hyperfine, which probes every peer once, runs all that work in ONE
# hyperfine invocation (so they are measured back to back under the same
# machine conditions) and writes $RESULTS_DIR/parts/<scenario>.json in the
# common result format (see README.md, "Result format").

# ---------------------------------------------------------------- logging
log() { printf '[bench] %s\n' "$*" >&2; }
warn() { printf '[bench] WARNING: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

# first non-empty line(s) of a file, squeezed onto one line, for "reason" fields
first_lines() {
	local f=$1 n=${2:-2}
	[ -s "$f" ] || { echo "no output"; return; }
	grep -v '^[[:space:]]*$' "$f" | head -n "$n" | tr '\n\t' '  ' | cut -c1-300 | sed 's/[[:space:]]*$//'
}

# ---------------------------------------------------------------- cleanup
# Cleanups run in reverse order of registration from the EXIT trap.
CLEANUPS=()
on_exit() { CLEANUPS+=("$*"); }
run_cleanups() {
	local i
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUPS[$i]}" >/dev/null 2>&1 || true
	done
	CLEANUPS=()
}

# ---------------------------------------------------------------- timing
now_ns() { date +%s%N; }
# ms with 3 decimals from a nanosecond difference
ns_to_ms() { awk -v n="$1" 'BEGIN { printf "%.3f", n / 1e6 }'; }

# ---------------------------------------------------------------- peers
# peer_reset
# peer_add ID LABEL COMMAND        (COMMAND: plain words, no quoting; it is
#                                   split on whitespace by bash for the
#                                   probe and by hyperfine -N for the run)
# peer_baseline ID LABEL COMMAND   (a reference row: measured, no ratio)
# peer_unavailable ID LABEL REASON [COMMAND]
# peer_note ID TEXT                (shown under the table)
P_IDS=() P_LABELS=() P_CMDS=() P_STATE=() P_REASON=() P_KIND=()
S_NOTES=()
peer_reset() { P_IDS=() P_LABELS=() P_CMDS=() P_STATE=() P_REASON=() P_KIND=() S_NOTES=(); }
peer_add() {
	P_IDS+=("$1") P_LABELS+=("$2") P_CMDS+=("$3") P_STATE+=(todo) P_REASON+=("") P_KIND+=(peer)
}
peer_baseline() {
	P_IDS+=("$1") P_LABELS+=("$2") P_CMDS+=("$3") P_STATE+=(todo) P_REASON+=("") P_KIND+=(baseline)
}
peer_unavailable() {
	P_IDS+=("$1") P_LABELS+=("$2") P_CMDS+=("${4:-}") P_STATE+=(unavailable) P_REASON+=("$3")
	P_KIND+=(peer)
}
scenario_note() { S_NOTES+=("$*"); }

# probe_cmd COMMAND -> 0 if it runs twice with exit 0; stderr kept in $PROBE_ERR
PROBE_ERR=""
probe_cmd() {
	local cmd=$1 i rc
	local -a argv
	read -r -a argv <<<"$cmd"
	PROBE_ERR=$(mktemp "$BENCH_TMP/probe.XXXXXX")
	for i in 1 2; do
		timeout 60 "${argv[@]}" </dev/null >"$PROBE_ERR.out" 2>"$PROBE_ERR"
		rc=$?
		if [ $rc -ne 0 ]; then
			[ -s "$PROBE_ERR" ] || cp "$PROBE_ERR.out" "$PROBE_ERR"
			echo "exit $rc: $(first_lines "$PROBE_ERR")" >"$PROBE_ERR"
			return 1
		fi
	done
	return 0
}

# hf_merge FILE... : hyperfine JSON exports -> one, per command: all
# times pooled, statistics recomputed over the pool
hf_merge() {
	jq -s '
		{results: ([.[].results[]] | group_by(.command) | map(
		  (map(.times) | add | sort) as $t | ($t | length) as $n |
		  ($t | add / $n) as $mean |
		  {command: .[0].command, times: $t, runs: $n, mean: $mean,
		   median: (if $n % 2 == 1 then $t[($n - 1) / 2] else ($t[$n / 2 - 1] + $t[$n / 2]) / 2 end),
		   min: $t[0], max: $t[-1],
		   stddev: (if $n > 1 then (($t | map((. - $mean) * (. - $mean)) | add) / ($n - 1) | sqrt) else 0 end),
		   user: (map(.user) | add / length), system: (map(.system) | add / length)}))}' "$@"
}

# bench_hyperfine SCENARIO TITLE
#   Probes the peers, runs hyperfine once over all available peers and
#   writes $RESULTS_DIR/parts/SCENARIO.json.  Targets and derived rows are
#   added afterwards by the scenario with result_* helpers.
bench_hyperfine() {
	local scen=$1 title=$2
	local out=$RESULTS_DIR/parts/$scen.json
	local hf_json=$RESULTS_DIR/raw/$scen.hyperfine.json
	local i interleaved=true
	local -a hf_args=() live=()

	for i in "${!P_IDS[@]}"; do
		[ "${P_STATE[$i]}" = todo ] || continue
		log "$scen: probing ${P_IDS[$i]}: ${P_CMDS[$i]}"
		if probe_cmd "${P_CMDS[$i]}"; then
			P_STATE[$i]=ok
			live+=("$i")
			hf_args+=(-n "${P_IDS[$i]}" "${P_CMDS[$i]}")
		else
			P_STATE[$i]=unavailable
			P_REASON[$i]=$(cat "$PROBE_ERR")
			warn "$scen: ${P_IDS[$i]} unavailable: ${P_REASON[$i]}"
		fi
	done

	mkdir -p "$RESULTS_DIR/raw" "$RESULTS_DIR/parts"
	echo '{"results":[]}' >"$hf_json"
	if [ ${#live[@]} -gt 0 ]; then
		# ROUNDS hyperfine runs over all peers, RUNS/ROUNDS runs each: slow
		# drift of the machine (other work starting or stopping) then hits
		# every peer alike instead of whichever peer happened to run then.
		local r per=$(((RUNS + ROUNDS - 1) / ROUNDS)) wu=$WARMUP
		local -a parts=()
		for ((r = 1; r <= ROUNDS; r++)); do
			log "$scen: round $r/$ROUNDS: hyperfine over ${#live[@]} peers (warmup $wu, runs $per)"
			if ! hyperfine -N --style basic --warmup "$wu" --runs "$per" \
				--export-json "$hf_json.r$r" "${hf_args[@]}" </dev/null >&2; then
				interleaved=false
				break
			fi
			parts+=("$hf_json.r$r")
			wu=1
		done
		if [ $interleaved = true ]; then
			hf_merge "${parts[@]}" >"$hf_json"
		else
			# one peer failed mid-run: measure the peers one by one
			warn "$scen: combined hyperfine run failed; measuring peers separately"
			parts=()
			for i in "${live[@]}"; do
				if hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
					--export-json "$hf_json.p$i" -n "${P_IDS[$i]}" "${P_CMDS[$i]}" \
					</dev/null >&2; then
					parts+=("$hf_json.p$i")
				else
					P_STATE[$i]=unavailable
					P_REASON[$i]="failed during the timed runs (hyperfine: non-zero exit)"
				fi
			done
			[ ${#parts[@]} -gt 0 ] && hf_merge "${parts[@]}" >"$hf_json"
		fi
		rm -f "$hf_json".r* "$hf_json".p*
	fi

	# peers table -> JSON, joined with hyperfine's numbers by id
	local peers_tsv=$RESULTS_DIR/raw/$scen.peers.tsv
	: >"$peers_tsv"
	for i in "${!P_IDS[@]}"; do
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "${P_IDS[$i]}" "${P_LABELS[$i]}" "${P_CMDS[$i]}" \
			"${P_STATE[$i]}" "${P_REASON[$i]//$'\t'/ }" "${P_KIND[$i]}" >>"$peers_tsv"
	done
	local notes_json
	notes_json=$(printf '%s\n' "${S_NOTES[@]}" | jq -R . | jq -s 'map(select(length > 0))')
	jq -n --arg name "$scen" --arg title "$title" --argjson interleaved "$interleaved" \
		--argjson notes "$notes_json" --rawfile tsv "$peers_tsv" \
		--slurpfile hf "$hf_json" --argjson runs "$RUNS" --argjson warmup "$WARMUP" --argjson rounds "$ROUNDS" '
		def ms: . * 1000 * 1000 | round / 1000;
		($hf[0].results | map({key: .command, value: .}) | from_entries) as $by |
		{
		  name: $name, title: $title, kind: "latency",
		  interleaved: $interleaved, runs: $runs, warmup: $warmup, rounds: $rounds, notes: $notes,
		  rows: [ $tsv | split("\n")[] | select(length > 0) | split("\t") |
		    {id: .[0], label: .[1], command: .[2], state: .[3], reason: .[4],
		     baseline: (.[5] == "baseline")} as $p |
		    if $p.state == "ok" and $by[$p.id] != null then
		      ($by[$p.id]) as $r |
		      {id: $p.id, label: $p.label, command: $p.command, available: true,
		       baseline: $p.baseline, median_ms: ($r.median | ms), min_ms: ($r.min | ms), max_ms: ($r.max | ms),
		       mean_ms: ($r.mean | ms), stddev_ms: (($r.stddev // 0) | ms),
		       user_ms: ($r.user | ms), system_ms: ($r.system | ms),
		       runs: ($r.times | length)}
		    else
		      {id: $p.id, label: $p.label, command: $p.command, available: false,
		       baseline: $p.baseline, reason: (if $p.reason == "" then "not measured" else $p.reason end)}
		    end ],
		  targets: [], ratios: []
		}' >"$out"
}

# result_derived SCENARIO ID LABEL BASE_ID MINUS_ID PLUS_ID NOTE
#   Adds a derived row: median(BASE) - median(MINUS) + median(PLUS).
#   Used for "crun net of the hybridns wrapper" = crun - hybridns_true + true.
result_derived() {
	local f=$RESULTS_DIR/parts/$1.json
	jq --arg id "$2" --arg lbl "$3" --arg b "$4" --arg m "$5" --arg p "$6" --arg note "$7" '
		def row($i): (.rows | map(select(.id == $i and .available)) | first);
		if row($b) != null and row($m) != null and row($p) != null then
		  .rows += [{id: $id, label: $lbl, available: true, derived: true, note: $note,
		    median_ms: ((row($b).median_ms - row($m).median_ms + row($p).median_ms)
		                * 1000 | round / 1000)}]
		else
		  .rows += [{id: $id, label: $lbl, available: false, derived: true,
		    reason: "needs \($b), \($m) and \($p)"}]
		end' "$f" >"$f.new" && mv "$f.new" "$f"
}

# result_ratios SCENARIO NUM_ID
#   ratio NUM/peer (by median) for every other available row.
result_ratios() {
	local f=$RESULTS_DIR/parts/$1.json
	jq --arg n "$2" '
		(.rows | map(select(.id == $n and .available)) | first) as $num |
		.headline = $n |
		.ratios = (if $num == null then [] else
		  [ .rows[] | select(.available and .id != $n and ((.baseline // false) | not)) |
		    {num: $n, den: .id, ratio: (($num.median_ms / .median_ms) * 1000 | round / 1000)} ]
		end)' "$f" >"$f.new" && mv "$f.new" "$f"
}

# result_target SCENARIO NUM_ID DEN_ID LIMIT TEXT
#   MET if median(NUM)/median(DEN) <= LIMIT; N/A when either is missing.
result_target() {
	local f=$RESULTS_DIR/parts/$1.json
	jq --arg n "$2" --arg d "$3" --argjson lim "$4" --arg text "$5" '
		def row($i): (.rows | map(select(.id == $i)) | first);
		(row($n)) as $a | (row($d)) as $b |
		.targets += [
		  if ($a.available // false) and ($b.available // false) then
		    (($a.median_ms / $b.median_ms) * 1000 | round / 1000) as $r |
		    {num: $n, den: $d, limit: $lim, text: $text, ratio: $r,
		     status: (if $r <= $lim then "MET" else "MISSED" end)}
		  else
		    {num: $n, den: $d, limit: $lim, text: $text, ratio: null, status: "N/A",
		     reason: ([$a, $b] | map(select(. != null and (.available | not)) |
		                "\(.id) unavailable") | join(", ") |
		              if . == "" then "not measured" else . end)}
		  end ]' "$f" >"$f.new" && mv "$f.new" "$f"
}

# ---------------------------------------------------------------- metrics
# For scenarios that are not a hyperfine latency table (density): a list
# of {peer, metric, value, unit} plus per-peer availability.
# metrics_begin SCENARIO TITLE ; metric PEER NAME VALUE UNIT ;
# metrics_unavailable PEER REASON ; metrics_end
M_SCEN="" M_TITLE="" M_TSV=""
metrics_begin() {
	M_SCEN=$1 M_TITLE=$2
	mkdir -p "$RESULTS_DIR/raw" "$RESULTS_DIR/parts"
	M_TSV=$RESULTS_DIR/raw/$1.metrics.tsv
	: >"$M_TSV"
	: >"$M_TSV.unavail"
	: >"$M_TSV.targets"
	S_NOTES=()
}
# metrics_target TEXT VALUE OP LIMIT UNIT : MET when VALUE OP LIMIT
# (OP is <= or >=); VALUE empty -> N/A
metrics_target() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$M_TSV.targets"
}
metric() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$M_TSV"; }
metrics_unavailable() { printf '%s\t%s\n' "$1" "${2//$'\t'/ }" >>"$M_TSV.unavail"; }
metrics_end() {
	local notes_json
	notes_json=$(printf '%s\n' "${S_NOTES[@]}" | jq -R . | jq -s 'map(select(length > 0))')
	jq -n --arg name "$M_SCEN" --arg title "$M_TITLE" --argjson notes "$notes_json" \
		--rawfile m "$M_TSV" --rawfile u "$M_TSV.unavail" --rawfile t "$M_TSV.targets" '
		{name: $name, title: $title, kind: "metrics", notes: $notes,
		 targets: [ $t | split("\n")[] | select(length > 0) | split("\t") |
		   {text: .[0], value: ((.[1] | tonumber?) // null), op: .[2], limit: (.[3] | tonumber), unit: .[4]} |
		   .status = (if .value == null then "N/A"
		              elif (.op == "<=" and .value <= .limit) or (.op == ">=" and .value >= .limit) then "MET"
		              else "MISSED" end) ],
		 metrics: [ $m | split("\n")[] | select(length > 0) | split("\t") |
		   {peer: .[0], metric: .[1], value: ((.[2] | tonumber?) // .[2]), unit: .[3]} ],
		 unavailable: [ $u | split("\n")[] | select(length > 0) | split("\t") |
		   {peer: .[0], reason: .[1]} ]}' >"$RESULTS_DIR/parts/$M_SCEN.json"
}

# ---------------------------------------------------------------- cgroups
# Memory cgroup (v1) of this shell: containers that the peers create are
# put below it, so nothing escapes the cgroup the benchmark started in.
own_cgroup() {
	awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' \
		/proc/self/cgroup | head -n 1
}

# cgroup dirs created while benchmarking are removed (deepest first) if
# they did not exist before and are empty.
CG_WATCH=()
cg_watch() { # cg_watch RELPATH : remember which prefixes exist now, in every hierarchy
	local rel=$1 h p
	for h in /sys/fs/cgroup/*/; do
		[ -e "${h}cgroup.procs" ] || continue
		p=$rel
		while [ -n "$p" ] && [ "$p" != / ]; do
			[ -d "$h${p#/}" ] || CG_WATCH+=("$h${p#/}")
			p=$(dirname "$p")
		done
	done
}
cg_cleanup() {
	local d
	# children first: sort by path length, longest first
	for d in $(printf '%s\n' "${CG_WATCH[@]}" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-); do
		[ -d "$d" ] || continue
		find "$d" -depth -mindepth 1 -type d -exec rmdir {} \; 2>/dev/null
		rmdir "$d" 2>/dev/null || warn "cgroup left behind (not empty?): $d"
	done
}

# ---------------------------------------------------------------- parts
# Every part file may carry "scenario" (the bench/run scenario that wrote
# it) so that one scenario can write several parts (density-N100,
# lifecycle-N100, ...); bench/run orders parts by scenario, then by the
# order they were written (a "seq" number).
PART_SEQ=0
part_seq() { PART_SEQ=$((PART_SEQ + 1)); echo "$PART_SEQ"; }
# part_tag FILE SCENARIO : add scenario and seq to a part file
part_tag() {
	jq --arg s "$2" --argjson q "$(part_seq)" '.scenario = $s | .seq = $q' "$1" >"$1.new" &&
		mv "$1.new" "$1"
}

# ---------------------------------------------------------------- clocks
# microseconds since the epoch, without a fork (bash 5 $EPOCHREALTIME)
us_now() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# pctl P : nearest-rank percentile P (0..100) of the numbers on stdin
pctl() {
	sort -n | awk -v p="$1" '{ a[NR] = $1 }
		END { if (NR == 0) { print 0; exit }
		      i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print a[i] }'
}

# ---------------------------------------------------------------- memory
# mem_snapshot FILE : sync, let the machine settle a second, drop the
# page/dentry/inode caches, drain the per-CPU page lists, then save /proc/meminfo (FILE) and
# /proc/slabinfo (FILE.slab).  Taken before and after a population of
# containers is started, for per-container deltas.
mem_snapshot() {
	sync
	sleep 1
	echo 3 >/proc/sys/vm/drop_caches
	# compaction drains the per-CPU free page lists (which can hold
	# hundreds of MiB on this kernel, uncounted in MemFree): without it
	# the "unaccounted" kernel memory swings by tens of MiB
	echo 1 >/proc/sys/vm/compact_memory 2>/dev/null
	cat /proc/meminfo >"$1"
	cat /proc/slabinfo >"$1.slab" 2>/dev/null || : >"$1.slab"
}
# mi FILE KEY -> kB value of KEY in a saved meminfo
mi() { awk -v k="$1:" '$1 == k { v = $2 } END { print v + 0 }' "${2:-/proc/meminfo}"; }
# mi_delta_per KEY BEFORE AFTER N -> (after - before) / N in KiB, 1 decimal
mi_delta_per() {
	awk -v a="$(mi "$1" "$2")" -v b="$(mi "$1" "$3")" -v n="$4" \
		'BEGIN { printf "%.1f", (b - a) / n }'
}
# kernel memory that is in no meminfo counter (page allocations by the
# kernel: large kmallocs, vmalloc backing, ...): MemTotal minus free,
# user, cache and the kernel counters
mi_unaccounted() {
	awk '{ v[$1] = $2 }
		END { print v["MemTotal:"] - v["MemFree:"] - v["AnonPages:"] - v["Cached:"] \
			- v["Buffers:"] - v["SwapCached:"] - v["Slab:"] - v["KernelStack:"] - v["PageTables:"] \
			- v["SecPageTables:"] - v["Percpu:"] - v["Unevictable:"] * 0 }' "$1"
}
# slab_top BEFORE AFTER N K : the K slab caches that grew most, as
# "name +X KiB/container" (object size x active objects)
slab_top() {
	awk -v n="$3" 'FNR == 1 { f++ } $1 ~ /^#|^slabinfo/ { next }
		{ kb = $2 * $4 / 1024; if (f == 1) a[$1] = kb; else b[$1] = kb }
		END { for (k in b) { d = (b[k] - a[k]) / n; if (d > 0.05) printf "%.2f %s\n", d, k } }' "$1" "$2" |
		sort -rn | head -n "$4" | awk '{ printf "%s%s +%.1f", (NR > 1 ? ", " : ""), $2, $1 } END { print "" }'
}
# procs_mem PID... -> "count pss pss_anon pss_file rss pte_kb threads"
# (KiB, summed over the processes; one awk over all the smaps_rollup and
# status files, no fork per process)
procs_mem() {
	[ $# -gt 0 ] || { echo "0 0 0 0 0 0 0"; return; }
	local -a files=() p
	for p in "$@"; do
		files+=("/proc/$p/smaps_rollup" "/proc/$p/status")
	done
	awk 'FNR == 1 && FILENAME ~ /smaps_rollup$/ { n++ }
		$1 == "Pss:" { pss += $2 } $1 == "Pss_Anon:" { pa += $2 } $1 == "Pss_File:" { pf += $2 }
		$1 == "Rss:" { rss += $2 } $1 == "VmPTE:" { pte += $2 } $1 == "Threads:" { th += $2 }
		END { printf "%d %d %d %d %d %d %d\n", n, pss, pa, pf, rss, pte, th }' "${files[@]}" 2>/dev/null
}
# per N X -> X / N with 1 decimal
per() { awk -v x="$2" -v n="$1" 'BEGIN { if (n > 0) printf "%.1f", x / n; else print 0 }'; }

# ---------------------------------------------------------------- compare
# A "compare" part: operations (rows) x peers (columns), each cell one
# hyperfine measurement of one command, used when the peers cannot run in
# the same hyperfine call (density: N containers of ONE runtime at a
# time).  Per peer, all its operations run in one hyperfine call per
# round.
#   cmp_begin NAME TITLE
#   cmp_queue PEER OP LABEL COMMAND [PREPARE]   (queue for cmp_run)
#   cmp_run PEER RUNS WARMUP ROUNDS             (hyperfine over PEER's queue;
#                                                $CMP_BEFORE_ROUND is eval'd
#                                                before each round)
#   cmp_unavailable PEER OP LABEL REASON
#   cmp_end BASE_PEER                           (ratios BASE_PEER/other)
C_NAME="" C_TITLE="" C_TSV="" C_Q=()
cmp_begin() {
	C_NAME=$1 C_TITLE=$2
	mkdir -p "$RESULTS_DIR/raw" "$RESULTS_DIR/parts"
	C_TSV=$RESULTS_DIR/raw/$1.cmp.tsv
	: >"$C_TSV"
	C_Q=()
	C_NOTES=()
}
cmp_note() { C_NOTES+=("$*"); }
cmp_queue() { C_Q+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"$'\t'"${5:-}"); }
cmp_unavailable() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "unavailable" "${4//$'\t'/ }" >>"$C_TSV"
}
cmp_run() {
	local peer=$1 runs=$2 warm=$3 rounds=$4 q r per wu p op label cmd prep
	local -a args=() ops=() labels=() cmds=() parts=()
	local hf=$RESULTS_DIR/raw/$C_NAME.$peer.hyperfine.json
	for q in "${C_Q[@]}"; do
		IFS=$'\t' read -r p op label cmd prep <<<"$q"
		[ "$p" = "$peer" ] || continue
		ops+=("$op") labels+=("$label") cmds+=("$cmd")
		[ -n "$prep" ] && args+=(--prepare "$prep") || args+=(--prepare true)
		args+=(-n "$peer:$op" "$cmd")
	done
	[ ${#ops[@]} -gt 0 ] || return 0
	[ "$rounds" -ge 1 ] && [ "$rounds" -le "$runs" ] || rounds=1
	per=$(((runs + rounds - 1) / rounds)) wu=$warm
	for ((r = 1; r <= rounds; r++)); do
		# put the population back as the operations expect it (the last
		# operation of a round may have stopped a container)
		[ -n "${CMP_BEFORE_ROUND:-}" ] && eval "$CMP_BEFORE_ROUND" >/dev/null 2>&1
		log "$C_NAME: $peer round $r/$rounds: ${#ops[@]} operations (warmup $wu, runs $per)"
		hyperfine -N --style basic --warmup "$wu" --runs "$per" -i \
			--export-json "$hf.r$r" "${args[@]}" </dev/null >&2 || break
		parts+=("$hf.r$r")
		wu=1
	done
	if [ ${#parts[@]} -gt 0 ]; then
		# -i keeps going on failures: a command that failed is unavailable
		jq -s '[.[].results[] | {command, fails: ([.exit_codes[] | select(. != 0)] | length)}]
			| group_by(.command) | map({key: .[0].command, value: (map(.fails) | add)}) | from_entries' \
			"${parts[@]}" >"$hf.fails"
		hf_merge "${parts[@]}" >"$hf"
	else
		echo '{"results":[]}' >"$hf"
		echo '{}' >"$hf.fails"
	fi
	local i
	for i in "${!ops[@]}"; do
		jq -r --arg c "$peer:${ops[$i]}" --arg cmd "${cmds[$i]}" --slurpfile f "$hf.fails" --arg p "$peer" --arg op "${ops[$i]}" \
			--arg l "${labels[$i]}" '
			def ms: . * 1000 * 1000 | round / 1000;
			(.results | map(select(.command == $c)) | first) as $r |
			if $r == null then [$p, $op, $l, "unavailable", "hyperfine did not run", $cmd]
			elif ($f[0][$c] // 0) > 0 then [$p, $op, $l, "unavailable", "exit status non-zero in \($f[0][$c]) of \($r.runs) runs", $cmd]
			else [$p, $op, $l, "ok", "", $cmd, ($r.median | ms), ($r.min | ms), ($r.max | ms), $r.runs] end
			| map(tostring) | join("\t")' "$hf" >>"$C_TSV"
	done
	rm -f "$hf".r* "$hf.fails"
	# dequeue
	local -a keep=()
	for q in "${C_Q[@]}"; do
		[ "${q%%$'\t'*}" = "$peer" ] || keep+=("$q")
	done
	C_Q=("${keep[@]}")
}
cmp_end() {
	local base=$1 notes_json
	notes_json=$(printf '%s\n' "${C_NOTES[@]}" | jq -R . | jq -s 'map(select(length > 0))')
	jq -n --arg name "$C_NAME" --arg title "$C_TITLE" --arg base "$base" --argjson notes "$notes_json" \
		--rawfile t "$C_TSV" '
		[ $t | split("\n")[] | select(length > 0) | split("\t") |
		  {peer: .[0], op: .[1], label: .[2], available: (.[3] == "ok"), reason: .[4],
		   command: .[5], median_ms: (((.[6] // "") | tonumber?) // null),
		   min_ms: (((.[7] // "") | tonumber?) // null), max_ms: (((.[8] // "") | tonumber?) // null),
		   runs: (((.[9] // "") | tonumber?) // null)} ] as $cells |
		{name: $name, title: $title, kind: "compare", base: $base, notes: $notes,
		 peers: ($cells | map(.peer) | unique | ([$base] + map(select(. != $base)))),
		 ops: ($cells | reduce .[] as $c ([]; if any(.[]; .op == $c.op) then . else . + [{op: $c.op, label: $c.label}] end)),
		 cells: $cells,
		 ratios: [ $cells[] | select(.peer == $base and .available) as $b |
		   $cells[] | select(.op == $b.op and .peer != $base and .available) |
		   {op: .op, num: $base, den: .peer, ratio: (($b.median_ms / .median_ms) * 1000 | round / 1000)} ]}
		' >"$RESULTS_DIR/parts/$C_NAME.json"
}
