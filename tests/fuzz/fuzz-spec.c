/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: an OCI config.json (a bundle is untrusted input). */
#include <json-c/json.h>
#include <stdint.h>

#include "vert/spec.h"
#include "vert/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	vert_error_t e = VERT_ERROR_INIT;
	struct rt_spec *s = NULL;

	if (o && rt_spec_from_json(o, &s, &e) == 0)
		rt_spec_free(s);
	vert_error_clear(&e);
	json_object_put(o);
	json_tokener_free(tok);
	return 0;
}
