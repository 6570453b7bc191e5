# shellcheck shell=bash
# start: start latency with --net none.  Time to create a container on the
# shared busybox rootfs, run /bin/true in it, wait for it and tear it down.

# vert_tmpfs_root DIR : a vert --root whose ves/ and run/ are tmpfs and
# whose templates/ is a bind mount of the benchmark's template dir
vert_tmpfs_root() {
	local r=$1
	mkdir -p "$r/templates" "$r/ves" "$r/run" || return 1
	mount -t tmpfs -o mode=0700 vert-bench "$r/ves" || return 1
	on_exit umount -l "$r/ves"
	mount -t tmpfs -o mode=0700 vert-bench "$r/run" || return 1
	on_exit umount -l "$r/run"
	mount --bind "$BENCH_ROOT/templates" "$r/templates" || return 1
	on_exit umount -l "$r/templates"
	timeout 30 "$VERT" --root "$r" run --rm --net none mini -- /bin/true </dev/null >/dev/null 2>&1
}

scenario_start() {
	local s=start d=$PEERS/start
	mkdir -p "$d"
	peer_reset

	if [ -x "$FLOOR" ]; then
		peer_add floor "floor (unshare+fork+pivot_root+exec)" "$FLOOR $ROOTFS /bin/true"
	else
		peer_unavailable floor "floor" "bench/floor did not build (cc, libmnl-dev?)"
	fi

	if vert_check; then
		peer_add vert "vert run --rm --net none" \
			"$VERT --root $BENCH_ROOT run --rm --net none mini -- /bin/true"
		# what vert says about this host (e.g. that it runs without a
		# cgroup here, which the other runtimes do create) belongs in
		# the report next to its number
		timeout 30 "$VERT" --root "$BENCH_ROOT" run --rm --net none mini -- /bin/true \
			</dev/null >/dev/null 2>"$d/vert.stderr"
		[ -s "$d/vert.stderr" ] &&
			scenario_note "vert's stderr on this host: $(first_lines "$d/vert.stderr" 3)"
		# reference: the same with vert's state on tmpfs (the VE's upper
		# and work dirs, config.json, state.json and lock files are created
		# and removed on every start; here they are on the ext4 root
		# filesystem, mounted with online discard, like /run and /var/lib
		# on this VM)
		if vert_tmpfs_root "$d/tmpfs-root"; then
			peer_add vert-tmpfs "vert run --rm --net none, state root on tmpfs (reference)" \
				"$VERT --root $d/tmpfs-root run --rm --net none mini -- /bin/true"
			scenario_note "vert-tmpfs: the same vert command with --root on tmpfs (templates bind-mounted from the ext4 root): the difference to vert is what vert's per-start state files (dirs for the overlay upper/work, config.json, state.json, lock) cost on this VM's ext4 (mounted with discard), where /run and /var/lib live too."
		fi
	else
		peer_unavailable vert "vert run --rm --net none" "$VERT_REASON" \
			"$VERT --root $BENCH_ROOT run --rm --net none mini -- /bin/true"
	fi

	if have crun && oci_bundle crun "$d/crun" '["/bin/true"]' "$CG_PARENT/crun-start"; then
		if [ "$HYBRID" = yes ]; then
			peer_add crun "crun run (in hybridns)" \
				"$HYBRIDNS crun --root $(CRUN_STATE) run -b $d/crun vb$$-crun-start"
			scenario_note "crun 1.8 refuses hybrid cgroup hosts (\"cgroups in hybrid mode not supported\"):" \
				"it runs under bench/hybridns, which unshares a private mount namespace, unmounts" \
				"/sys/fs/cgroup/unified there (the host mount is untouched) and execs crun." \
				"The wrapper's own cost is the row hybridns-true minus true; crun-net subtracts it," \
				"and the crun target is judged against crun-net (the stricter comparison for vert)."
		else
			peer_add crun "crun run" "crun --root $(CRUN_STATE) run -b $d/crun vb$$-crun-start"
		fi
	else
		peer_unavailable crun "crun run" "crun not installed or crun spec failed"
	fi

	if have runc && oci_bundle runc "$d/runc" '["/bin/true"]' "$CG_PARENT/runc-start"; then
		peer_add runc "runc run" "runc --root $(RUNC_STATE) run -b $d/runc vb$$-runc-start"
	else
		peer_unavailable runc "runc run" "runc not installed or runc spec failed"
	fi

	if have bwrap; then
		peer_add bwrap "bwrap --unshare-all" \
			"bwrap --unshare-all --bind $ROOTFS / --proc /proc --dev /dev /bin/true"
		peer_add bwrap-nouser "bwrap, same namespaces minus userns" \
			"bwrap --unshare-ipc --unshare-pid --unshare-net --unshare-uts --unshare-cgroup --bind $ROOTFS / --proc /proc --dev /dev /bin/true"
		scenario_note "bwrap --unshare-all also creates a user namespace (as root too); bwrap-nouser" \
			"asks for exactly the namespaces the other peers create. Neither sets up cgroups."
	else
		peer_unavailable bwrap "bwrap --unshare-all" "bubblewrap not installed"
	fi

	if have lxc-execute; then
		lxc_conf "$d/lxc.conf" empty
		peer_add lxc "lxc-execute (empty net)" \
			"lxc-execute -P $(LXC_PATH) -n vb$$-start -f $d/lxc.conf -- /bin/true"
	else
		peer_unavailable lxc "lxc-execute" "lxc not installed"
	fi

	peer_baseline true "/bin/true on the host (fork+exec only)" "/bin/true"
	[ "$HYBRID" = yes ] && [ -x "$HYBRIDNS" ] &&
		peer_baseline hybridns-true "hybridns /bin/true (wrapper cost)" "$HYBRIDNS /bin/true"

	scenario_note "Namespaces: every peer creates mount, pid, net, ipc, uts and cgroup namespaces" \
		"(runc/crun keep the default spec's network namespace); the network namespace has only lo."
	scenario_note "Work beyond the floor: crun/runc mount /proc, /dev (tmpfs), /dev/pts, /dev/shm," \
		"/dev/mqueue, /sys, mask paths, drop capabilities and create v1 cgroups (below this" \
		"shell's memory cgroup); lxc-execute does the same plus init.lxc.static as pid 1; bwrap" \
		"mounts /proc and /dev and creates no cgroups; floor does none of it."
	scenario_note "All commands run without a wrapper shell (hyperfine -N); crun/runc/lxc reuse one" \
		"container name per benchmark run, which is safe because each run removes its container."

	bench_hyperfine $s "Start latency, --net none (run /bin/true, wait, remove)"
	if [ "$HYBRID" = yes ]; then
		result_derived $s crun-net "crun, net of the hybridns wrapper" crun hybridns-true true \
			"crun - (hybridns /bin/true - /bin/true)"
		result_ratios $s vert
		result_target $s vert crun-net 0.7 "start --net none at most 0.7x crun"
	else
		result_ratios $s vert
		result_target $s vert crun 0.7 "start --net none at most 0.7x crun"
	fi
	result_target $s vert bwrap 1.0 "start --net none at most 1.0x bwrap"
	result_target $s vert floor 2.0 "start --net none within 2x of the floor"
}
