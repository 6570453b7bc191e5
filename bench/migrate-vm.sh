#!/bin/bash
# Freeze time and total time of `vert migrate` against runc's
# stop-and-copy (`runc checkpoint`, the image copied to the second host
# through the same transport, `runc restore` from it: the same CRIU), for an
# idle busybox workload and for one dirtying 256 MiB at a steady rate
# (issue 14, "Speed").  CRIU 3.17 works only on the VM's stock 6.1 kernel,
# so this runs in the tests/vm VM and prints TAP (the figures are TAP
# comments, a summary table at the end):
#
#   VERT=/path/to/vert tests/vm/run --timeout 1200 bench/migrate-vm.sh
#
# The second "host" is the one of tests/vm/checkpoint.bats: a second state
# root in the network namespace vertck2 with its own uid range registry
# (mount namespace), reached through tests/vm/netns-ssh as VERT_SSH.
# VERT_BENCH_MIGRATE_RUNS (default 2) runs of each of the four rows;
# VERT_BENCH_MIGRATE_ONLY=vert or runc: only that runtime's rows
# (tests/vm/run passes VERT_* on).
# Benchmarks are never tests: a row fails only when its command fails.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
RUNS=${VERT_BENCH_MIGRATE_RUNS:-2}
VERT=${VERT:-$repo/build/vert}
RUNC=${RUNC:-runc}
ONLY=${VERT_BENCH_MIGRATE_ONLY:-} # vert or runc: only those rows

if [ "${VERT_IN_VM:-}" != 1 ]; then
	echo "1..0 # SKIP needs the test VM: tests/vm/run $0"
	exit 0
fi

# The workloads: the same argv for vert and runc.  Pid 1 is busybox awk;
# the dirtying one first fills 256 strings of 1 MiB (its heap: process
# memory, which CRIU's pre-dumps track, unlike a tmpfs file), then
# replaces one of them every ~50 ms round robin (a new 1 MiB mmap chunk
# each time: dirty pages at a steady rate of at most ~20 MiB/s, the
# whole 256 MiB rewritten in ~13 s or more).  Both write a counter to
# /dev/shm/n so the restored copy can be seen running on.  stdio is the
# container's own /dev/null (CRIU cannot dump an fd on a mount it
# does not see).
IDLE='exec </dev/null >/dev/null 2>&1; exec awk '\''BEGIN { for (r = 0; ; r++) { print r > "/dev/shm/n"; close("/dev/shm/n"); system("sleep 1") } }'\'
DIRTY='exec </dev/null >/dev/null 2>&1; exec awk '\''BEGIN { for (i = 0; i < 256; i++) a[i] = sprintf("%1048576d", i); print "ready" > "/dev/shm/ready"; close("/dev/shm/ready"); for (r = 0; ; r++) { a[r % 256] = sprintf("%1048576d", r); print r > "/dev/shm/n"; close("/dev/shm/n"); system("sleep 0.05") } }'\'

T=$(mktemp -d /tmp/bench-migrate.XXXXXX)
mkdir -p /var/lib/vert
R=$(mktemp -d /var/lib/vert/bench1.XXXXXX)
R2=$(mktemp -d /var/lib/vert/bench2.XXXXXX)
CK2DIR=/run/vertck2 CK2MNT=/run/vertck2/mnt CK2IDMAP=/run/vertck2/idmap
RROOT=$T/runc-state

v1() { "$VERT" --root "$R" "$@"; }
v2() { nsenter --net=/run/netns/vertck2 --mount="$CK2MNT" "$VERT" --root "$R2" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_for() { # SECS CMD...
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		"${@:2}" && return 0
		sleep 0.1
	done
	"${@:2}"
}

cleanup() {
	local n
	for n in $(v2 ps -aq 2>/dev/null); do v2 destroy --force "$n" >/dev/null 2>&1; done
	for n in $(v1 ps -aq 2>/dev/null); do v1 destroy --force "$n" >/dev/null 2>&1; done
	for n in $("$RUNC" --root "$RROOT" list -q 2>/dev/null); do
		"$RUNC" --root "$RROOT" delete -f "$n" >/dev/null 2>&1
	done
	ip netns del vertck2 2>/dev/null
	umount "$CK2MNT" 2>/dev/null
	umount "$CK2DIR" 2>/dev/null
	rm -rf "$CK2DIR" "$R" "$R2" "$T"
}
trap cleanup EXIT

modprobe nf_tables 2>/dev/null
ip netns add vertck2
ip -n vertck2 link set lo up
mkdir -p "$CK2DIR" /var/lib/vert/idmap
mount --bind "$CK2DIR" "$CK2DIR"
mount --make-private "$CK2DIR"
mkdir -p "$CK2IDMAP"
touch "$CK2MNT"
unshare --mount="$CK2MNT" --propagation slave mount --bind "$CK2IDMAP" /var/lib/vert/idmap
v1 template create mini --from busybox >/dev/null || { echo "Bail out! template create failed"; exit 1; }
v2 template create mini --from busybox >/dev/null || { echo "Bail out! template create failed there"; exit 1; }
# The target's vert: its restore runs with --debug, whose timed marks
# (vert_debug_mark) go to $T/remote.log as well; the rest of its stderr
# goes back as it is.
cat >"$T/vert-remote" <<EOF
#!/bin/bash
if [ "\$1" = restore ]; then
	"$VERT" --debug --root "$R2" "\$@" 2> >(tee -a "$T/remote.log" | grep -v '^vert: debug: ' >&2)
	rc=\$?
	wait \$!
	exit \$rc
fi
exec "$VERT" --root "$R2" "\$@"
EOF
chmod 755 "$T/vert-remote"
export VERT_SSH="$repo/tests/vm/netns-ssh" VERT_REMOTE="$T/vert-remote" VERTCK2_MNT=$CK2MNT

# the runc bundle: a copy of the same busybox rootfs, writable
mkdir -p "$T/bundle" "$RROOT"
cp -a "$R/templates/mini/rootfs" "$T/bundle/rootfs"
(cd "$T/bundle" && "$RUNC" spec)
# runc's CRIU locks the container's network while it is frozen with
# iptables-restore (CRIU's default; runc 1.1.5 cannot ask for nftables, and
# CRIU 3.17 segfaults in RPC mode on a config file with "network-lock
# nftables", which is what vert asks libcriu for).  Without iptables
# installed, VERT_BENCH_IPTABLES_DIR names the root of an extracted
# iptables and its libraries (dpkg -x of the .debs, see bench/README.md).
if ! command -v iptables-restore >/dev/null && [ -n "${VERT_BENCH_IPTABLES_DIR:-}" ]; then
	ipt=$VERT_BENCH_IPTABLES_DIR
	mkdir -p "$T/ipt-bin"
	for b in iptables iptables-restore iptables-save ip6tables ip6tables-restore ip6tables-save; do
		ln -s "$ipt/usr/sbin/xtables-nft-multi" "$T/ipt-bin/$b"
	done
	export PATH="$T/ipt-bin:$PATH" LD_LIBRARY_PATH="$ipt/usr/lib/x86_64-linux-gnu"
	export XTABLES_LIBDIR="$ipt/usr/lib/x86_64-linux-gnu/xtables"
fi
echo "# iptables-restore for runc's CRIU: $(command -v iptables-restore || echo none) $(iptables-restore --version 2>&1 | head -1)"
n=0
declare -A FREEZE TOTAL BYTES PRE
result() { # ROW FREEZE TOTAL BYTES PRE
	FREEZE[$1]+="$2 "
	TOTAL[$1]+="$3 "
	BYTES[$1]+="$4 "
	PRE[$1]+="$5 "
}
ok() { n=$((n + 1)); echo "ok $n $*"; }
notok() { n=$((n + 1)); echo "not ok $n $*"; }

count_in() { "$@" 2>/dev/null | grep -q '^[0-9]'; }
ready_vert() { v1 exec "$1" -- cat /dev/shm/ready 2>/dev/null | grep -q ready; }
ready_runc() { "$RUNC" --root "$RROOT" exec "$1" cat /dev/shm/ready 2>/dev/null | grep -q ready; }
# the restored copy runs on: its counter moves past $3
moves_vert() { local c; c=$(v2 exec "$1" -- cat /dev/shm/n 2>/dev/null) && [ -n "$c" ] && [ "$c" -gt "$2" ]; }
moves_runc() { local c; c=$("$RUNC" --root "$RROOT" exec "$1" cat /dev/shm/n 2>/dev/null) && [ -n "$c" ] && [ "$c" -gt "$2" ]; }

bench_vert() { # ROW WORKLOAD I
	local name=bm$1$3 out c
	v1 create "$name" --template mini -- sh -c "$2" >/dev/null || { notok "vert $1 run $3: create"; return; }
	v1 start "$name" >/dev/null || { notok "vert $1 run $3: start"; return; }
	if [ "$1" = dirty ]; then
		wait_for 300 ready_vert "$name" || { notok "vert $1 run $3: workload never ready"; return; }
		sleep 2 # the steady state
	else
		wait_for 30 count_in v1 exec "$name" -- cat /dev/shm/n || { notok "vert $1 run $3: never counted"; return; }
	fi
	: >"$T/remote.log"
	if ! out=$(v1 --debug migrate "$name" host2 --json 2>"$T/local.log"); then
		notok "vert $1 run $3: migrate"
		{ echo "$out"; grep -v '^vert: debug: ' "$T/local.log"
		  # CRIU's own account (the VE's run dir goes with it below), and
		  # what was stuck where
		  log=$(grep -o '(log: [^)]*)' "$T/local.log" | tail -1 | sed 's/^(log: //; s/)$//')
		  [ -z "$log" ] || tail -n 25 "$log" 2>/dev/null
		  ps -e -o pid,ppid,stat,wchan:24,comm | awk '$3 ~ /D/' ; } | sed 's/^/# /'
		v1 destroy --force "$name" >/dev/null 2>&1
		return
	fi
	echo "# vert $1 run $3: $(echo "$out" | jq -c .)"
	# where the time went: vert's timed marks here and the target's restore's
	grep -h '^vert: debug: +' "$T/local.log" | sed "s/^vert: debug: /# here: /"
	grep -h '^vert: debug: +' "$T/remote.log" | sed "s/^vert: debug: /# there: /"
	c=$(v2 exec "$name" -- cat /dev/shm/n 2>/dev/null)
	if wait_for 30 moves_vert "$name" "${c:-0}"; then
		ok "vert migrate, $1, run $3 (the workload runs on there)"
		result "vert-$1" "$(echo "$out" | jq .freeze_ms)" "$(echo "$out" | jq .total_ms)" \
			"$(echo "$out" | jq .bytes)" "$(echo "$out" | jq .pre_dumps)"
	else
		notok "vert migrate, $1, run $3: the workload does not run on there"
	fi
	v2 destroy --force "$name" >/dev/null 2>&1
}

bench_runc() { # ROW WORKLOAD I
	local name=bm$1$3 img=$T/img-$1-$3 there=$R2/runc-in/bm$1$3 t0 t1 t2 t3 c bytes
	jq --arg sh "$2" '.root.readonly = false | .process.terminal = false |
		.process.args = ["sh", "-c", $sh]' "$T/bundle/config.json" >"$T/bundle/c.json" &&
		mv "$T/bundle/c.json" "$T/bundle/config.json"
	"$RUNC" --root "$RROOT" run -d -b "$T/bundle" "$name" </dev/null >/dev/null 2>"$T/err" ||
		{ notok "runc $1 run $3: run -d"; sed 's/^/# /' "$T/err"; return; }
	if [ "$1" = dirty ]; then
		wait_for 300 ready_runc "$name" || { notok "runc $1 run $3: workload never ready"; return; }
		sleep 2
	else
		wait_for 30 count_in "$RUNC" --root "$RROOT" exec "$name" cat /dev/shm/n ||
			{ notok "runc $1 run $3: never counted"; return; }
	fi
	t0=$(now_ms)
	if ! "$RUNC" --root "$RROOT" checkpoint --image-path "$img" "$name" 2>"$T/err"; then
		notok "runc checkpoint, $1, run $3"
		sed 's/^/# /' "$T/err"
		grep -E 'Error|Warn' "$img/dump.log" 2>/dev/null | tail -15 | sed 's/^/# dump.log: /'
		"$RUNC" --root "$RROOT" delete -f "$name" >/dev/null 2>&1
		return
	fi
	t1=$(now_ms)
	# the copy of stop-and-copy: the image to the second host, through the
	# transport vert's migrate uses (VERT_SSH, tar), onto its state root's
	# filesystem, where vert's target stages what it receives
	if ! tar -C "$img" -cf - . | $VERT_SSH host2 "mkdir -p $there && tar -C $there -xf -" 2>"$T/err"; then
		notok "runc image copy, $1, run $3"
		sed 's/^/# /' "$T/err"
		"$RUNC" --root "$RROOT" delete -f "$name" >/dev/null 2>&1
		rm -rf "$img" "$there"
		return
	fi
	t2=$(now_ms)
	# restored from the copy (runc's state is this host's; the container
	# has a network namespace of its own either way)
	if ! "$RUNC" --root "$RROOT" restore -d --image-path "$there" -b "$T/bundle" "$name" \
		</dev/null >/dev/null 2>"$T/err"; then
		notok "runc restore, $1, run $3"
		sed 's/^/# /' "$T/err"
		grep -E 'Error|Warn' "$there/restore.log" 2>/dev/null | tail -15 | sed 's/^/# restore.log: /'
		rm -rf "$img" "$there"
		return
	fi
	t3=$(now_ms)
	bytes=$(du -sb "$img" | awk '{ print $1 }')
	echo "# runc $1 run $3: checkpoint $((t1 - t0)) ms, copy $((t2 - t1)) ms, restore $((t3 - t2)) ms, image $bytes bytes"
	c=$("$RUNC" --root "$RROOT" exec "$name" cat /dev/shm/n 2>/dev/null)
	if wait_for 30 moves_runc "$name" "${c:-0}"; then
		ok "runc checkpoint + copy + restore, $1, run $3 (the workload runs on)"
		# stop-and-copy: stopped from the checkpoint's start to the
		# restore's end; without the copy: one host's checkpoint + restore
		result "runc-$1" $((t3 - t0)) $((t3 - t0)) "$bytes" 0
		result "runc-nocopy-$1" $((t1 - t0 + t3 - t2)) $((t1 - t0 + t3 - t2)) "$bytes" 0
	else
		notok "runc checkpoint + copy + restore, $1, run $3: the workload does not run on"
	fi
	"$RUNC" --root "$RROOT" delete -f "$name" >/dev/null 2>&1
	rm -rf "$img" "$there"
}

case $ONLY in vert | runc) echo "1..$((2 * RUNS))" ;; *) echo "1..$((4 * RUNS))" ;; esac
echo "# $(uname -r), $(nproc) CPUs, $("$RUNC" --version | head -1), $(criu --version | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
# interleaved: each run does the four rows back to back
for ((i = 1; i <= RUNS; i++)); do
	[ "$ONLY" = runc ] || bench_vert idle "$IDLE" "$i"
	[ "$ONLY" = vert ] || bench_runc idle "$IDLE" "$i"
	[ "$ONLY" = runc ] || bench_vert dirty "$DIRTY" "$i"
	[ "$ONLY" = vert ] || bench_runc dirty "$DIRTY" "$i"
done

median() {
	tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END {
		if (!NR) print "-"
		else if (NR % 2) printf "%.0f\n", a[(NR + 1) / 2]
		else printf "%.0f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
echo "# load at end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# | row | freeze ms (median) | all runs | total ms (median) | all runs | bytes (median) | pre-dumps |"
for row in vert-idle runc-idle runc-nocopy-idle vert-dirty runc-dirty runc-nocopy-dirty; do
	echo "# | $row | $(echo "${FREEZE[$row]:-}" | median) | ${FREEZE[$row]:-} | $(echo "${TOTAL[$row]:-}" | median) | ${TOTAL[$row]:-} | $(echo "${BYTES[$row]:-}" | median) | ${PRE[$row]:-} |"
done
for w in idle dirty; do
	fv=$(echo "${FREEZE[vert-$w]:-}" | median) fr=$(echo "${FREEZE[runc-$w]:-}" | median)
	fl=$(echo "${FREEZE[runc-nocopy-$w]:-}" | median)
	[ "$fv" != - ] && [ "$fr" != - ] && [ "$fr" -gt 0 ] &&
		echo "# freeze vert/runc stop-and-copy, $w: $(awk -v a="$fv" -v b="$fr" 'BEGIN { printf "%.2fx", a / b }')"
	[ "$fv" != - ] && [ "$fl" != - ] && [ "$fl" -gt 0 ] &&
		echo "# freeze vert/runc checkpoint + restore without the copy, $w: $(awk -v a="$fv" -v b="$fl" 'BEGIN { printf "%.2fx", a / b }')"
done
exit 0
