# shellcheck shell=bash
# start-net: start latency with a network: a veth pair with one end in the
# container's network namespace.  crun, runc and bwrap do no networking of
# their own (CNI plugins / slirp do it outside them), so the peers here are
# the floor and LXC, whose lxc.net.0.type = veth does the same job.

scenario_start_net() {
	local s=start-net d=$PEERS/start-net
	local vnet=${VERT_NET_ARGS:---net bridge}
	mkdir -p "$d"
	peer_reset

	if [ -x "$FLOOR" ]; then
		peer_add floor-veth "floor --veth (pair dies with the netns)" \
			"$FLOOR --veth $ROOTFS /bin/true"
		peer_add floor-veth-sync "floor --veth-sync (RTM_DELLINK, waits)" \
			"$FLOOR --veth-sync $ROOTFS /bin/true"
		peer_baseline floor "floor, no veth" "$FLOOR $ROOTFS /bin/true"
	else
		peer_unavailable floor-veth "floor --veth" "bench/floor did not build"
	fi

	if vert_check; then
		peer_add vert "vert run --rm $vnet" "$VERT --root $BENCH_ROOT run --rm $vnet mini -- /bin/true"
	else
		peer_unavailable vert "vert run --rm $vnet" "$VERT_REASON" \
			"$VERT --root $BENCH_ROOT run --rm $vnet mini -- /bin/true"
	fi

	if have lxc-execute; then
		lxc_conf "$d/lxc.conf" veth
		peer_add lxc "lxc-execute (veth, unbridged)" \
			"lxc-execute -P $(LXC_PATH) -n vb$$-net -f $d/lxc.conf -- /bin/true"
	else
		peer_unavailable lxc "lxc-execute (veth)" "lxc not installed"
	fi

	scenario_note "vert's network arguments come from VERT_NET_ARGS (default: --net bridge: veth on a bridge, lease, nftables NAT and anti-spoofing, generated /etc files, all torn down before vert returns)."
	scenario_note "Tearing a veth down synchronously costs RCU grace periods (tens of ms on 2 cores):" \
		"compare floor-veth (kernel destroys the pair with the netns, asynchronously) with" \
		"floor-veth-sync (explicit RTM_DELLINK). LXC deletes its veth before it returns."
	scenario_note "crun/runc/bwrap: no peer row, they leave networking to CNI/slirp outside the runtime."

	bench_hyperfine $s "Start latency with network (veth pair into the container's netns)"
	result_ratios $s vert
}
