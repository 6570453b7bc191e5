#!/usr/bin/env bats
# vert template: create from busybox, import, ls, rm.

load helpers

setup_file() { common_setup_file; }
teardown_file() { common_teardown_file; }

@test "template create from busybox builds a usable rootfs" {
	run vert template ls
	assert_success
	assert_output --partial "mini"
	assert_output --partial "busybox"
	[ -x "$TEST_ROOT/templates/mini/rootfs/bin/busybox" ]
	[ -L "$TEST_ROOT/templates/mini/rootfs/bin/sh" ]
	grep -q '^root:x:0:0:' "$TEST_ROOT/templates/mini/rootfs/etc/passwd"
}

@test "template ls --json is valid JSON with the documented fields" {
	run vert template ls --json
	assert_success
	echo "$output" | jq -e '.[] | select(.name=="mini") | .source=="busybox" and (.size > 0) and (.created | test("^[0-9]{4}-"))'
}

@test "template ls -q prints names only" {
	run vert template ls -q
	assert_success
	assert_line "mini"
}

@test "creating an existing template fails with exit 4 and changes nothing" {
	before=$(stat -c %Y "$TEST_ROOT/templates/mini")
	run vert template create mini --from busybox
	assert_failure 4
	assert_output --partial "already exists"
	[ "$(stat -c %Y "$TEST_ROOT/templates/mini")" = "$before" ]
}

@test "template names with '/' or '..' are rejected" {
	for bad in "../x" "a/b" ".." "." ".hidden" "-x" ""; do
		run vert template create --from busybox -- "$bad"
		assert_failure 2
		assert_output --partial "invalid template name"
	done
	[ ! -e "$TEST_ROOT/x" ]
	[ ! -e "$TEST_ROOT/templates/a" ]
}

@test "template create with an unknown source or a dynamic busybox fails clearly" {
	run vert template create t1 --from ubuntu
	assert_failure 2
	assert_output --partial "unknown source 'ubuntu'"
	run vert template create t1 --from busybox --busybox /bin/ls
	assert_failure
	assert_output --partial "dynamically linked"
	run vert template ls -q
	refute_name "t1"
	# no staging leftovers
	[ -z "$(ls -A "$TEST_ROOT/templates" | grep -v '^mini$')" ]
}

@test "template import from a directory and from a tar.gz" {
	src="$TEST_ROOT/src"
	mkdir -p "$src"
	cp -a "$TEST_ROOT/templates/mini/rootfs/." "$src/"
	echo imported-dir > "$src/etc/marker"
	run vert template import fromdir "$src"
	assert_success
	run vert run --rm fromdir -- cat /etc/marker
	assert_success
	assert_output "imported-dir"

	echo imported-tar > "$src/etc/marker"
	tar -C "$src" -czf "$TEST_ROOT/rootfs.tar.gz" .
	run vert template import fromtar "$TEST_ROOT/rootfs.tar.gz"
	assert_success
	run vert run --rm fromtar -- cat /etc/marker
	assert_success
	assert_output "imported-tar"
	vert template rm fromdir fromtar
}

@test "template import of a missing or corrupt source fails and leaves nothing" {
	run vert template import bad1 /nonexistent/path
	assert_failure 3
	echo "not a tarball" > "$TEST_ROOT/junk.tar"
	run vert template import bad2 "$TEST_ROOT/junk.tar"
	assert_failure
	assert_output --partial "tar failed"
	run vert template ls -q
	refute_name "bad1"
	refute_name "bad2"
	[ -z "$(ls -A "$TEST_ROOT/templates" | grep -v '^mini$')" ]
}

@test "template rm removes it; unknown names exit 3" {
	vert template create gone --from busybox
	run vert template rm gone
	assert_success
	[ ! -e "$TEST_ROOT/templates/gone" ]
	run vert template rm gone
	assert_failure 3
	assert_output --partial "not found"
}

@test "template rm refuses while a VE uses the template" {
	vert template create used --from busybox
	run vert run --name keeper used -- true
	assert_success
	run vert template rm used
	assert_failure 7
	assert_output --partial "used by VE 'keeper'"
	[ -d "$TEST_ROOT/templates/used/rootfs" ]
}

@test "a hostile template (/etc -> /) cannot redirect writes to the host" {
	src="$TEST_ROOT/hostile"
	mkdir -p "$src"
	cp -a "$TEST_ROOT/templates/mini/rootfs/." "$src/"
	rm -rf "$src/etc" "$src/tmp"
	ln -s / "$src/etc"
	ln -s /../../../../tmp "$src/tmp"
	vert template import hostile "$src"
	marker="vert-hostile-$$-$RANDOM"
	mkdir -p "$TEST_ROOT/vol"
	# a bind mount aimed at /etc/<marker> must land inside the VE's root
	run vert run --rm -v "$TEST_ROOT/vol:/etc/$marker" hostile -- sh -c "echo hi > /tmp/$marker; ls -d /etc/$marker"
	assert_success
	[ ! -e "/$marker" ]
	[ ! -e "/etc/$marker" ]
	[ ! -e "/tmp/$marker" ]
	vert template rm hostile
}
