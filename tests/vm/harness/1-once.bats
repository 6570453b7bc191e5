#!/usr/bin/env bats
# tests/vm/run's second boot after a guest kernel lockup (see 2-lockup.bats):
# a file that finished in the first boot does not run again in the second.

@test "a file done before the lockup does not run again after it" {
	[ "${VERT_IN_VM:-}" = 1 ] || skip "only inside the test VM (tests/vm/run)"
	grep -qw vert.attempt=1 /proc/cmdline
}
