/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the runtime state files whoever owns the state dirs can edit:
 * a VE's state.json and last.json, template.json, a network record
 * (run/net/NAME.json) and the leases.json of an older vert (net/, read
 * until the first change converts it).  One input goes
 * through every reader: each must accept or refuse it with a message. */
#include <stdint.h>
#include <stdlib.h>

#include "net-internal.h"
#include "vert/json.h"
#include "vert/util.h"
#include "vert/ve.h"
#include "vert/vnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int r, vert_error_t *e)
{
	/* a refusal always says why, naming the file */
	if (r < 0 && (!e->msg || !strstr(e->msg, "fuzz.json")))
		__builtin_trap();
	if (r == 0 && e->msg)
		__builtin_trap();
	vert_error_clear(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vert_error_t e = VERT_ERROR_INIT;
	struct json_object *o = NULL;
	struct ve_state s;
	struct ve_info info = { .last_code = -1, .last_signal = -1 };
	struct ve_template_info t = { 0 };
	struct vnet_saved sv;
	struct vnet_leases *ls = NULL;
	char ip[16];
	int r;

	if (vjson_parse((const char *)data, size, "fuzz.json", &o, &e) < 0) {
		check(-1, &e);
		return 0;
	}
	r = ve_state_parse(o, "fuzz.json", "web1", &s, &e);
	check(r, &e);
	if (r == 0) {
		/* what is accepted is usable as it is */
		if (s.pid < 0 || s.supervisor_pid < 0)
			__builtin_trap();
		ve_state_done(&s);
	}
	r = ve_last_parse(o, "fuzz.json", &info, &e);
	check(r, &e);
	if (r == 0 && !info.last_reason)
		__builtin_trap(); /* mandatory */
	free(info.last_reason);
	r = ve_template_meta_parse(o, "fuzz.json", &t, &e);
	check(r, &e);
	free(t.source);
	r = vnet_saved_parse(o, "fuzz.json", &sv, &e);
	check(r, &e);
	if (r == 0 && (strnlen(sv.table, sizeof(sv.table)) == sizeof(sv.table) ||
		       strnlen(sv.host_if, sizeof(sv.host_if)) == sizeof(sv.host_if)))
		__builtin_trap();
	r = vnet_leases_parse(o, "fuzz.json", &ls, &e);
	check(r, &e);
	if (r == 0) {
		(void)vnet_leases_get(ls, "web1", ip);
		vnet_leases_free(ls);
	}
	json_object_put(o);
	return 0;
}
