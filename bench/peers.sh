# shellcheck shell=bash
# bench/peers.sh - how each peer is set up on the shared busybox rootfs.
# Sourced by bench/run after lib.sh.  All state lives under $PEERS
# ($BENCH_TMP/peers); nothing touches /run/crun, /run/runc or /var/lib/lxc.

CRUN_STATE() { echo "$PEERS/crun-state"; }
RUNC_STATE() { echo "$PEERS/runc-state"; }
LXC_PATH() { echo "$PEERS/lxc"; }

# crun_bundle RUNTIME DIR ARGS_JSON CGROUP_PATH
#   OCI bundle for crun or runc on $ROOTFS: `RUNTIME spec` adjusted with jq.
#   All namespaces the other peers create (mount pid net ipc uts cgroup;
#   the default spec already has a network namespace, we keep it, and add
#   cgroup), no terminal, read-only root, cgroup below our own.
oci_bundle() {
	local rt=$1 dir=$2 args=$3 cg=$4
	mkdir -p "$dir" || return 1
	(cd "$dir" && rm -f config.json && "$rt" spec >/dev/null 2>&1) || return 1
	jq --arg root "$ROOTFS" --argjson args "$args" --arg cg "$cg" '
		.root = {path: $root, readonly: true} |
		.process.args = $args | .process.terminal = false |
		.hostname = "bench" |
		.linux.namespaces = ((.linux.namespaces // []) |
		    if any(.type == "cgroup") then . else . + [{type: "cgroup"}] end) |
		.linux.cgroupsPath = $cg' "$dir/config.json" >"$dir/config.json.new" &&
		mv "$dir/config.json.new" "$dir/config.json"
}

# lxc_conf FILE NET(empty|veth) [INIT_CMD]
lxc_conf() {
	local f=$1 net=$2 init=${3:-}
	mkdir -p "$(dirname "$f")" "$(LXC_PATH)"
	{
		echo "lxc.uts.name = bench"
		echo "lxc.rootfs.path = dir:$ROOTFS"
		echo "lxc.net.0.type = $net"
		[ "$net" = veth ] && echo "lxc.net.0.name = eth0"
		echo "lxc.mount.auto = proc:mixed sys:ro"
		echo "lxc.autodev = 1"
		echo "lxc.apparmor.profile = unconfined"
		# create the container's cgroups below our own, not at the root
		echo "lxc.cgroup.relative = 1"
		[ -n "$init" ] && echo "lxc.init.cmd = $init"
	} >"$f"
}

# vert_check -> 0 if $VERT is there; reason in VERT_REASON otherwise
# shellcheck disable=SC2034 # VERT_REASON is read by the scenarios
vert_check() {
	if [ ! -x "$VERT" ]; then
		VERT_REASON="binary not found at $VERT (build it: meson setup build && ninja -C build)"
		return 1
	fi
	if [ "$VERT_TEMPLATE" != yes ]; then
		VERT_REASON="template 'mini' not created: $VERT_TEMPLATE_ERR"
		return 1
	fi
	return 0
}

# vert_supports SUBCOMMAND -> 0 if `vert SUBCOMMAND --help` exits 0
vert_supports() {
	[ -x "$VERT" ] && timeout 10 "$VERT" "$@" --help </dev/null >/dev/null 2>&1
}

# crun_create ARGS... : crun for commands that create containers; on a
# hybrid cgroup host through bench/hybridns (see hybridns.c)
crun_create() {
	if [ "$HYBRID" = yes ]; then
		"$HYBRIDNS" crun "$@"
	else
		crun "$@"
	fi
}

# pid1_of_crun ID / pid1_of_runc ID
crun_pid() { crun --root "$(CRUN_STATE)" state "$1" 2>/dev/null | jq -r '.pid // empty'; }
runc_pid() { runc --root "$(RUNC_STATE)" state "$1" 2>/dev/null | jq -r '.pid // empty'; }

# Last-resort cleanup of every peer's state dir (scenarios register their
# own precise cleanups; this catches anything left by an interrupted run).
peers_cleanup() {
	local id
	if have crun && [ -d "$(CRUN_STATE)" ]; then
		for id in $(crun --root "$(CRUN_STATE)" list -q 2>/dev/null); do
			crun --root "$(CRUN_STATE)" delete -f "$id" >/dev/null 2>&1 ||
				"$HYBRIDNS" crun --root "$(CRUN_STATE)" delete -f "$id" >/dev/null 2>&1
		done
	fi
	if have runc && [ -d "$(RUNC_STATE)" ]; then
		for id in $(runc --root "$(RUNC_STATE)" list -q 2>/dev/null); do
			runc --root "$(RUNC_STATE)" delete -f "$id" >/dev/null 2>&1
		done
	fi
	if have lxc-ls && [ -d "$(LXC_PATH)" ]; then
		for id in $(lxc-ls -P "$(LXC_PATH)" --running 2>/dev/null); do
			lxc-stop -P "$(LXC_PATH)" -n "$id" -k >/dev/null 2>&1
		done
	fi
}
