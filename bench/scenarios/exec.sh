# shellcheck shell=bash
# exec: latency of running /bin/true inside an already running container
# (vert exec VE vs crun exec CID).  Each peer gets a container whose init
# is a long `sleep`; the floor is nsenter(1) into the crun container's
# namespaces and root (setns + fork + exec, no cgroup join, no runtime).

# start a vert VE named $1 whose init is `/bin/sleep 86399` (the same
# payload as the crun/runc/LXC containers), or, with $2 = init, the
# template's own /sbin/init (busybox init); 0 on success.
# VERT_EXEC_SETUP, if set, is a shell snippet that does it instead (VE
# name in $VE).
vert_start_sleeper() {
	local ve=$1 log=$BENCH_TMP/vert-exec-setup.log
	local -a init=(-- /bin/sleep "$SLEEP_SECS")
	[ "${2:-}" = init ] && init=()
	if [ -n "${VERT_EXEC_SETUP:-}" ]; then
		VE=$ve timeout 30 bash -c "$VERT_EXEC_SETUP" </dev/null >"$log" 2>&1 && return 0
	elif vert_supports create && vert_supports start; then
		# shellcheck disable=SC2086
		timeout 30 "$VERT" --root "$BENCH_ROOT" create "$ve" --template mini $VERT_VE_NET_ARGS "${init[@]}" \
			</dev/null >"$log" 2>&1 &&
			timeout 30 "$VERT" --root "$BENCH_ROOT" start "$ve" </dev/null >>"$log" 2>&1 &&
			return 0
	else
		echo "no way to start a long-running VE (needs vert create + start)" >"$log"
	fi
	VERT_REASON="could not start a VE: $(first_lines "$log")"
	return 1
}

vert_remove() {
	local ve
	for ve in "$@"; do
		"$VERT" --root "$BENCH_ROOT" destroy --force "$ve" >/dev/null 2>&1
	done
	true
}

scenario_exec() {
	local s=exec d=$PEERS/exec pid cid
	mkdir -p "$d"
	peer_reset

	# vert
	if ! vert_check; then
		peer_unavailable vert "vert exec" "$VERT_REASON" "$VERT --root $BENCH_ROOT exec vb-exec -- /bin/true"
	elif ! vert_supports exec; then
		peer_unavailable vert "vert exec" "vert has no exec command yet" \
			"$VERT --root $BENCH_ROOT exec vb-exec -- /bin/true"
	else
		on_exit vert_remove vb-exec vb-exec-init
		if vert_start_sleeper vb-exec; then
			peer_add vert "vert exec (init: sleep)" "$VERT --root $BENCH_ROOT exec vb-exec -- /bin/true"
		else
			peer_unavailable vert "vert exec" "$VERT_REASON" "$VERT --root $BENCH_ROOT exec vb-exec -- /bin/true"
		fi
		if vert_start_sleeper vb-exec-init init; then
			peer_add vert-init "vert exec (init: the template's busybox init)" \
				"$VERT --root $BENCH_ROOT exec vb-exec-init -- /bin/true"
		else
			peer_unavailable vert-init "vert exec (busybox init)" "$VERT_REASON"
		fi
	fi

	# crun (+ the nsenter floor into its container)
	cid=vb$$-crun-exec
	if have crun && oci_bundle crun "$d/crun" "[\"/bin/sleep\",\"$SLEEP_SECS\"]" "$CG_PARENT/crun-exec" &&
		crun_create --root "$(CRUN_STATE)" run -d -b "$d/crun" "$cid" \
			</dev/null >"$d/crun.log" 2>&1; then
		on_exit crun --root "$(CRUN_STATE)" delete -f "$cid"
		pid=$(crun_pid "$cid")
		peer_add crun "crun exec" "crun --root $(CRUN_STATE) exec $cid /bin/true"
		if [ -n "$pid" ] && have nsenter; then
			peer_add floor "nsenter into the crun container (setns+fork+exec)" \
				"nsenter -t $pid -m -u -i -n -p -C -r -w /bin/true"
		else
			peer_unavailable floor "nsenter" "no pid for the crun container or no nsenter"
		fi
	else
		peer_unavailable crun "crun exec" "could not start a crun container: $(first_lines "$d/crun.log" 2>/dev/null)"
		peer_unavailable floor "nsenter" "needs the crun container"
	fi

	# runc
	cid=vb$$-runc-exec
	if have runc && oci_bundle runc "$d/runc" "[\"/bin/sleep\",\"$SLEEP_SECS\"]" "$CG_PARENT/runc-exec" &&
		runc --root "$(RUNC_STATE)" run -d -b "$d/runc" "$cid" </dev/null >"$d/runc.log" 2>&1; then
		on_exit runc --root "$(RUNC_STATE)" delete -f "$cid"
		peer_add runc "runc exec" "runc --root $(RUNC_STATE) exec $cid /bin/true"
	else
		peer_unavailable runc "runc exec" "could not start a runc container: $(first_lines "$d/runc.log" 2>/dev/null)"
	fi

	# lxc
	cid=vb$$-lxc-exec
	if have lxc-start && lxc_conf "$d/lxc.conf" empty "/bin/sleep $SLEEP_SECS" &&
		lxc-start -P "$(LXC_PATH)" -n "$cid" -f "$d/lxc.conf" -d </dev/null >"$d/lxc.log" 2>&1; then
		on_exit lxc-stop -P "$(LXC_PATH)" -n "$cid" -k
		peer_add lxc "lxc-attach" "lxc-attach -P $(LXC_PATH) -n $cid -- /bin/true"
	else
		peer_unavailable lxc "lxc-attach" "could not start an LXC container: $(first_lines "$d/lxc.log" 2>/dev/null)"
	fi

	scenario_note "crun exec runs directly (no hybridns): only crun create/run refuses hybrid hosts."
	scenario_note "The exec'd process joins all the container's namespaces and (except nsenter) its cgroups" \
		"(vert: none on this hybrid host, it runs VEs without a cgroup)."
	scenario_note "Every container's init is /bin/sleep $SLEEP_SECS (vert: vert create NAME --template mini $VERT_VE_NET_ARGS -- /bin/sleep $SLEEP_SECS; vert start NAME);" \
		"vert-init is a VE booted with the template's default init (busybox init) instead."

	bench_hyperfine $s "Exec latency (/bin/true in a running container)"
	result_ratios $s vert
	result_target $s vert crun 0.7 "exec at most 0.7x crun exec"
}
