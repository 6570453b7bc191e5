#!/usr/bin/env bats
# Denial of service through the VE's own disk: a directory tree deeper
# than any recursion or fd limit, made inside the VE, doesn't stop
# `vert destroy` (nor leave the VE's data behind).

load ../integration/helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

@test "a 10,000-level directory tree made inside the VE is removed by destroy" {
	vert create deep -T mini --net none -v "$PROBE:/probe:ro"
	vert start deep
	# made relative to one fd per level (no path length limit); the depth is past
	# the old walk's 4096 limit and past a default 1024-fd limit
	run vert exec deep /probe deep /root 10000
	assert_output ok
	vert stop -t 1 deep
	[ -d "$TEST_ROOT/ves/deep/upper/root/d/d/d" ]
	run vert destroy deep
	assert_success
	[ ! -e "$TEST_ROOT/ves/deep" ]
	run vert ps -a -q
	assert_success
	[[ $output != *deep* ]]
}
