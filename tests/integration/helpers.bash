# Shared setup for the integration tests (bats).
#
# Every test file gets its own state root (--root), so tests never touch
# the real /var/lib/vert or each other.  VERT_TEST_MODE says how the suite
# runs: "root", "user" (an unprivileged user, rootless), or "unshare"
# (that user inside `unshare -r`: rootless in an unprivileged container).

bats_require_minimum_version 1.5.0

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

: "${VERT_TEST_MODE:=root}"
: "${VERT_BUILD:=$(cd "$BATS_TEST_DIRNAME/../../build" && pwd)}"
VERT_BIN="${VERT_BIN:-$VERT_BUILD/vert}"
PROBE="$VERT_BUILD/tests/helpers/vert-probe"

# The root for this file: shared by its tests, removed at the end.
common_setup_file() {
	export TEST_ROOT
	TEST_ROOT="$(mktemp -d "${VERT_TEST_TMP:-/tmp}/vert-test.XXXXXX")"
	chmod 755 "$TEST_ROOT"
	vert template create mini --from busybox >/dev/null 2>&1 ||
		vert template create mini --from busybox
	# one-time notices (no cgroup v2, single-id map) are said once per
	# state root: say them here, not in the middle of a test's output
	vert run --rm mini -- true 2>/dev/null
}

common_teardown_file() {
	if [ -n "${TEST_ROOT:-}" ] && [ -d "$TEST_ROOT" ]; then
		# every VE a test left, running or not
		for v in $("$VERT_BIN" --root "$TEST_ROOT" ps -aq 2>/dev/null); do
			"$VERT_BIN" --root "$TEST_ROOT" destroy --force "$v" >/dev/null 2>&1 || true
		done
		# rootless trees hold files of subordinate ids: vert removes them
		"$VERT_BIN" --root "$TEST_ROOT" template ls >/dev/null 2>&1 || true
		for t in $("$VERT_BIN" --root "$TEST_ROOT" template ls -q 2>/dev/null); do
			"$VERT_BIN" --root "$TEST_ROOT" template rm "$t" >/dev/null 2>&1 || true
		done
		rm -rf "$TEST_ROOT" 2>/dev/null || true
	fi
}

vert() {
	"$VERT_BIN" --root "$TEST_ROOT" "$@"
}

is_root_mode() { [ "$VERT_TEST_MODE" = root ]; }

skip_unless_root_mode() {
	is_root_mode || skip "needs real root (mode: $VERT_TEST_MODE)"
}

# Other uids inside the VE need a full id map: root, or a user with a
# subordinate id range.  `unshare -r` maps one id only.
skip_if_single_idmap() {
	[ "$VERT_TEST_MODE" = unshare ] && skip "single-id user namespace (mode: unshare)"
	return 0
}

# Mounts of this test's state root in this mount namespace.
count_mounts() {
	grep -c -- "$TEST_ROOT" /proc/self/mountinfo || true
}

# Entries in the VE state dirs (data and runtime).
count_state() {
	local n=0
	n=$(( $(ls -A "$TEST_ROOT/ves" 2>/dev/null | wc -l) + $(ls -A "$TEST_ROOT/run/ves" 2>/dev/null | wc -l) ))
	echo "$n"
}

# Processes whose command line mentions this test's root.
count_procs() {
	pgrep -f -- "$TEST_ROOT" | grep -v "^$$\$" | wc -l
}

# refute_line fails on an empty output with this bats-assert; a name
# missing from a listing is what these tests mean
refute_name() {
	! grep -qxF -- "$1" <<<"$output"
}
