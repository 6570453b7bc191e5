# shellcheck shell=bash
# sharing: N VEs booted from the one `mini` template with its default init
# (busybox init, i.e. /bin/busybox from the template's lower layer).  How
# much does each VE add compared with the first one, and are the
# template's pages shared?
#
#   snapshot 0 (no VE) -> 1 VE -> snapshot 1 -> N-1 more -> snapshot N
#   (each snapshot: sync, drop caches, settle 1 s)
#
# Evidence of sharing:
#   - the template's /bin/busybox pages in the page cache (fincore on the
#     lower file): the same count for 1 and N VEs;
#   - Cached growth for the first VE vs per additional VE;
#   - the inits' busybox mappings: RSS per init vs PSS per init (PSS =
#     RSS / number of sharers for shared pages), and the mapped inode is
#     the template's file (overlayfs maps the lower file itself).

sh_create_start() {
	# shellcheck disable=SC2086
	"$VERT" --root "$BENCH_ROOT" create "s$1" --template mini $VERT_VE_NET_ARGS </dev/null >>"$DLOG" 2>&1 &&
		"$VERT" --root "$BENCH_ROOT" start "s$1" </dev/null >>"$DLOG" 2>&1
}

sharing_remove() {
	local ve
	for ve in $("$VERT" --root "$BENCH_ROOT" ps -a -q 2>/dev/null); do
		case $ve in s[0-9]*) "$VERT" --root "$BENCH_ROOT" destroy --force "$ve" >/dev/null 2>&1 ;; esac
	done
}

# fincore_pages FILE -> pages of FILE in the page cache
fincore_pages() { fincore -n -b -o PAGES "$1" 2>/dev/null | awk '{ print $1 + 0 }'; }

# busybox text mapping of PID: "rss pss" (KiB) of the r-xp /bin/busybox map
bb_text() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { m = ($2 ~ /x/ && $6 ~ /busybox$/) }
		m && $1 == "Rss:" { r += $2 } m && $1 == "Pss:" { p += $2 }
		END { printf "%d %d\n", r, p }' "/proc/$1/smaps" 2>/dev/null
}

scenario_sharing() {
	local n=$SHARING_N d=$PEERS/sharing bb i pids p1 f0 f1 fn
	local -a a1 an t1 tn
	mkdir -p "$d"
	DLOG=$d/log
	: >"$DLOG"
	metrics_begin sharing "Template sharing: $n VEs running busybox init from one template"
	if ! vert_check; then
		metrics_unavailable vert "$VERT_REASON"
		metrics_end
		part_tag "$RESULTS_DIR/parts/sharing.json" sharing
		return
	fi
	[ "$n" -ge 2 ] || n=2
	bb=$ROOTFS/bin/busybox
	on_exit sharing_remove

	mem_snapshot "$d/m0"
	f0=$(fincore_pages "$bb")
	sh_create_start 1 || {
		metrics_unavailable vert "could not start a VE: $(first_lines "$DLOG")"
		metrics_end
		part_tag "$RESULTS_DIR/parts/sharing.json" sharing
		return
	}
	sleep 1
	mem_snapshot "$d/m1"
	f1=$(fincore_pages "$bb")
	p1=$("$VERT" --root "$BENCH_ROOT" ps --json | jq -r '.[] | select(.name == "s1") | .pid')
	read -r -a a1 <<<"$(procs_mem "$p1")"
	read -r -a t1 <<<"$(bb_text "$p1")"
	local inode_ok
	inode_ok=$(awk -v ino="$(stat -c %i "$bb")" '$6 ~ /busybox$/ && $5 == ino { ok = 1 } END { print ok ? "yes" : "no" }' "/proc/$p1/maps")

	log "sharing: starting $((n - 1)) more VEs"
	for ((i = 2; i <= n; i++)); do
		sh_create_start "$i"
	done
	sleep 1
	mem_snapshot "$d/mN"
	fn=$(fincore_pages "$bb")
	pids=$("$VERT" --root "$BENCH_ROOT" ps --json | jq -r '.[] | select(.name | test("^s[0-9]+$")) | .pid')
	local running
	running=$(echo "$pids" | grep -c .)
	# shellcheck disable=SC2086
	read -r -a an <<<"$(procs_mem $pids)"
	read -r -a tn <<<"$(bb_text "$p1")"

	local k
	metric vert "VEs running" "$running" count
	metric vert "template busybox pages in page cache: 0 VEs" "$f0" pages
	metric vert "template busybox pages in page cache: 1 VE" "$f1" pages
	metric vert "template busybox pages in page cache: $n VEs" "$fn" pages
	metric vert "busybox text mapped from the template's inode (overlay passes the lower file through)" "$inode_ok" ""
	for k in Cached Slab KernelStack PageTables AnonPages Shmem; do
		metric vert "$k: first VE" "$(mi_delta_per "$k" "$d/m0" "$d/m1" 1)" KiB
		metric vert "$k: per additional VE" "$(mi_delta_per "$k" "$d/m1" "$d/mN" $((n - 1)))" KiB
	done
	metric vert "init PSS: 1 VE" "${a1[1]}" KiB
	metric vert "init PSS: per init with $n VEs" "$(per "${an[0]}" "${an[1]}")" KiB
	metric vert "init PSS file-backed: 1 VE" "${a1[3]}" KiB
	metric vert "init PSS file-backed: per init with $n VEs" "$(per "${an[0]}" "${an[3]}")" KiB
	metric vert "init PSS anon: per init with $n VEs" "$(per "${an[0]}" "${an[2]}")" KiB
	metric vert "init RSS: per init with $n VEs" "$(per "${an[0]}" "${an[4]}")" KiB
	metric vert "busybox text of s1: RSS / PSS, 1 VE" "${t1[0]} / ${t1[1]}" KiB
	metric vert "busybox text of s1: RSS / PSS, $n VEs" "${tn[0]} / ${tn[1]}" KiB
	S_NOTES+=("VEs booted with 'vert create sI --template mini $VERT_VE_NET_ARGS' + 'vert start sI' (busybox init, idle). Snapshots after sync + drop_caches + 1 s; system-wide counters are noisy on this shared machine (other builds), the fincore and PSS rows are exact.")
	S_NOTES+=("Shared pages: the template's busybox is cached once (fincore of the lower file), every init maps that same inode, and PSS splits the shared text between the $n inits; a VE's private memory is its anon pages and kernel objects.")
	metrics_end
	part_tag "$RESULTS_DIR/parts/sharing.json" sharing
}
