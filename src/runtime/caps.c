/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Capabilities, through libcap. */
#include <sys/capability.h>
#include <sys/prctl.h>

#include "rt-internal.h"
#include "vert/util.h"

int rt_caps_apply_bounding(uint64_t bounding, vert_error_t *err)
{
	cap_value_t max = cap_max_bits();

	for (cap_value_t c = 0; c < max && c < 64; c++) {
		if (bounding & CAP_BIT(c))
			continue;
		if (cap_drop_bound(c) < 0 && errno != EINVAL)
			return vert_error_sys(err, "drop capability %d from the bounding set", c);
	}
	return 0;
}

static int set_flag(cap_t caps, cap_flag_t flag, uint64_t mask)
{
	cap_value_t list[64];
	int n = 0;
	cap_value_t max = cap_max_bits();

	for (cap_value_t c = 0; c < max && c < 64; c++)
		if (mask & CAP_BIT(c))
			list[n++] = c;
	return n ? cap_set_flag(caps, flag, n, list, CAP_SET) : 0;
}

/* Set effective/permitted/inheritable and the ambient set.  The bounding
 * set has been applied already. */
int rt_caps_apply(const struct rt_spec *s, vert_error_t *err)
{
	cap_t caps = cap_init();
	cap_value_t max = cap_max_bits();
	int r = 0;

	if (!caps)
		return vert_error_sys(err, "cap_init");
	if (set_flag(caps, CAP_EFFECTIVE, s->cap_effective) < 0 ||
	    set_flag(caps, CAP_PERMITTED, s->cap_permitted) < 0 ||
	    set_flag(caps, CAP_INHERITABLE, s->cap_inheritable) < 0) {
		r = vert_error_sys(err, "build capability set");
		goto out;
	}
	if (cap_set_proc(caps) < 0) {
		r = vert_error_sys(err, "set capabilities");
		goto out;
	}
	if (CAP_AMBIENT_SUPPORTED()) {
		cap_reset_ambient();
		for (cap_value_t c = 0; c < max && c < 64; c++) {
			if (!(s->cap_ambient & CAP_BIT(c)))
				continue;
			if (cap_set_ambient(c, CAP_SET) < 0) {
				r = vert_error_sys(err, "raise ambient capability %d", c);
				goto out;
			}
		}
	}
out:
	cap_free(caps);
	return r;
}
