#!/usr/bin/env bats
# tests/vm/run boots the guest once more when its kernel locked up.  Run by
# tests/run as
#   VERT_VM_STALL=20 tests/vm/run --timeout 900 tests/vm/harness/*.bats
# The first boot fakes a lockup: the kernel's line on the console, then no
# test output.  Only a second boot can pass this test.

@test "a guest whose kernel locked up is booted once more for the files left" {
	[ "${VERT_IN_VM:-}" = 1 ] || skip "only inside the test VM (tests/vm/run)"
	if grep -qw vert.attempt=1 /proc/cmdline; then
		echo "<2>watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [vm-harness-test]" >/dev/kmsg
		sleep 100000
	fi
	grep -qw vert.attempt=2 /proc/cmdline
}
