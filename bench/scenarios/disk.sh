# shellcheck shell=bash
# disk: what a VE's disk quota (--disk) costs in sequential write
# throughput.  `dd if=/dev/zero of=/f bs=1M count=MB conv=fsync` in a
# `vert run --rm` VE whose upper dir is the state root's (no quota), and
# in one with `--disk` (a project quota where the state root's
# filesystem keeps them, else an ext4 image on a loop device), the two
# interleaved, BENCH_DISK_RUNS times each (default 5; --quick 2),
# BENCH_DISK_MB MiB each (default 256; --quick 64).  Reported: median MiB/s
# of each and the ratio quota/no quota (target >= 0.8x).

disk_median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# disk_dd MB [VERT RUN ARGS...] -> MiB/s.  This busybox dd prints no
# timing: the VE times it with /proc/uptime (10 ms steps, < 1 % of a
# write of this size), so the VE's start is not counted.
disk_dd() {
	local mb=$1
	shift
	"$VERT" --root "$BENCH_ROOT" run --rm --net none "$@" mini -- sh -c "
		read a _ </proc/uptime
		dd if=/dev/zero of=/f bs=1M count=$mb conv=fsync 2>/dev/null || exit 1
		read b _ </proc/uptime
		echo \$a \$b" 2>/dev/null |
		awk -v mb="$mb" 'NF == 2 && $2 > $1 { printf "%.1f\n", mb / ($2 - $1) }'
}

scenario_disk() {
	local runs=${BENCH_DISK_RUNS:-5} mb=${BENCH_DISK_MB:-256} i v
	local plain=() quota=() backend
	if [ "${QUICK:-no}" = yes ]; then
		runs=${BENCH_DISK_RUNS:-2}
		mb=${BENCH_DISK_MB:-64}
	fi
	metrics_begin disk "VE disk quota: sequential write throughput"
	if ! vert_check; then
		metrics_unavailable vert "$VERT_REASON"
		metrics_end
		return
	fi
	backend=$("$VERT" --root "$BENCH_ROOT" create vb-disk-probe --template mini --net none \
		--disk $((mb * 2 + 64))M >/dev/null 2>&1 &&
		"$VERT" --root "$BENCH_ROOT" inspect vb-disk-probe | jq -r .disk.backend)
	"$VERT" --root "$BENCH_ROOT" destroy --force vb-disk-probe >/dev/null 2>&1
	if [ -z "$backend" ]; then
		metrics_unavailable "vert --disk" "$(first_lines "$("$VERT" --root "$BENCH_ROOT" run --rm --net none --disk 64M mini -- true 2>&1)")"
		metrics_end
		return
	fi
	scenario_note "dd if=/dev/zero of=/f bs=1M count=$mb conv=fsync (busybox dd: no fdatasync), timed inside the VE, in vert run --rm --net none mini, $runs runs each, interleaved; median MiB/s. With --disk $((mb * 2 + 64))M the upper dir is under a quota (backend: $backend)."
	for ((i = 0; i < runs; i++)); do
		v=$(disk_dd "$mb") && [ -n "$v" ] && plain+=("$v")
		v=$(disk_dd "$mb" --disk $((mb * 2 + 64))M) && [ -n "$v" ] && quota+=("$v")
	done
	local p q
	p=$(printf '%s\n' "${plain[@]}" | disk_median)
	q=$(printf '%s\n' "${quota[@]}" | disk_median)
	metric vert "write, no quota (median of ${#plain[@]})" "$p" MiB/s
	metric vert "write, --disk ($backend) (median of ${#quota[@]})" "$q" MiB/s
	if [ -n "$p" ] && [ -n "$q" ]; then
		v=$(awk -v a="$q" -v b="$p" 'BEGIN { printf "%.2f", a / b }')
		metric vert "ratio --disk / no quota" "$v" x
		metrics_target "write throughput with a quota >= 0.8x without" "$v" ">=" 0.8 x
	fi
	metrics_end
}
