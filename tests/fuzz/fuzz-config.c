/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: a VE's config.json (editable by whoever owns the state dir). */
#include <json-c/json.h>
#include <stdint.h>

#include "vert/util.h"
#include "vert/ve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	vert_error_t e = VERT_ERROR_INIT;
	struct ve_config c;

	if (o && ve_config_from_json(o, &c, &e) == 0) {
		/* what was accepted must survive a round trip */
		struct json_object *back = ve_config_to_json(&c);
		struct ve_config d;
		if (ve_config_from_json(back, &d, &e) != 0)
			__builtin_trap();
		ve_config_done(&d);
		json_object_put(back);
		ve_config_done(&c);
	}
	vert_error_clear(&e);
	json_object_put(o);
	json_tokener_free(tok);
	return 0;
}
