/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <sched.h>
#include <sys/mount.h>

#include "vert/spec.h"
#include "vert/util.h"

static struct rt_spec *parse(const char *txt, vert_error_t *err)
{
	struct json_object *o = json_tokener_parse(txt);
	struct rt_spec *s = NULL;
	if (!o)
		return NULL;
	if (rt_spec_from_json(o, &s, err) < 0)
		s = NULL;
	json_object_put(o);
	return s;
}

static const char *minimal =
	"{\"process\":{\"args\":[\"/bin/true\"],\"cwd\":\"/\"},\"root\":{\"path\":\"/r\"},"
	"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"network\"}]"
	"}}";

static void test_minimal(void **state)
{
	vert_error_t e = VERT_ERROR_INIT;
	struct rt_spec *s = parse(minimal, &e);
	(void)state;
	assert_non_null(s);
	assert_string_equal(s->args[0], "/bin/true");
	assert_string_equal(s->root_path, "/r");
	assert_int_equal(s->ns_flags, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET);
	assert_false(s->terminal);
	rt_spec_free(s);
}

static void test_full(void **state)
{
	vert_error_t e = VERT_ERROR_INIT;
	const char *txt =
		"{\"process\":{\"terminal\":true,\"args\":[\"sh\"],\"env\":[\"A=1\"],\"cwd\":\"/"
		"w\","
		"\"user\":{\"uid\":1000,\"gid\":100,\"additionalGids\":[5,6]},"
		"\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"effective\":[\"CAP_"
		"KILL\"]},"
		"\"noNewPrivileges\":true,"
		"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1024,\"hard\":2048}]},"
		"\"root\":{\"path\":\"/r\",\"readonly\":true},\"hostname\":\"h\","
		"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\","
		"\"options\":[\"nosuid\",\"noexec\"]},"
		"{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv\","
		"\"options\":[\"rbind\",\"ro\",\"rprivate\"]},"
		"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
		"\"options\":[\"mode=755\",\"size=64k\",\"nosuid\"]}],"
		"\"linux\":{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"net\",\"path\":\"/"
		"x\"}],"
		"\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
		"\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
		"\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"],"
		"\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
		"\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":["
		"\"kexec_load\"],"
		"\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}},"
		"\"annotations\":{\"org.vert.rootfs.lower\":\"/l\",\"org.vert.rootfs.upper\":\"/"
		"u\","
		"\"org.vert.rootfs.work\":\"/w\",\"org.vert.net.loopback\":\"true\"}}";
	struct rt_spec *s;
	(void)state;

	/* "net" is not an OCI namespace type: rejected, not ignored */
	s = parse(txt, &e);
	assert_null(s);
	assert_non_null(strstr(e.msg, "unknown namespace type 'net'"));
	vert_error_clear(&e);

	{
		/* build the accepted variant */
		const char *needle = "{\"type\":\"net\",\"path\":\"/x\"}";
		const char *rep = "{\"type\":\"network\",\"path\":\"/x\"}";
		const char *at = strstr(txt, needle);
		char *ok = xasprintf("%.*s%s%s", (int)(at - txt), txt, rep, at + strlen(needle));
		s = parse(ok, &e);
		free(ok);
	}
	assert_non_null(s);
	assert_true(s->terminal);
	assert_int_equal(s->uid, 1000);
	assert_int_equal(s->gid, 100);
	assert_int_equal(s->n_groups, 2);
	assert_int_equal(s->cap_bounding, CAP_BIT(CAP_CHOWN) | CAP_BIT(CAP_KILL));
	assert_int_equal(s->cap_effective, CAP_BIT(CAP_KILL));
	assert_true(s->no_new_privileges);
	assert_int_equal(s->n_rlimits, 1);
	assert_true(s->root_readonly);
	assert_int_equal(s->n_mounts, 3);
	assert_true(s->mounts[1].bind);
	assert_true(s->mounts[1].recursive);
	assert_true(s->mounts[1].readonly);
	assert_int_equal(s->mounts[1].propagation, MS_PRIVATE | MS_REC);
	assert_string_equal(s->mounts[2].data, "mode=755,size=64k");
	assert_int_equal(s->mounts[2].flags, MS_NOSUID);
	assert_int_equal(s->ns_flags, CLONE_NEWUSER);
	assert_string_equal(s->ns_path[RT_NS_NET], "/x");
	assert_int_equal(s->n_uid_maps, 1);
	assert_int_equal(s->uid_maps[0].outside, 1000);
	assert_int_equal(s->n_sysctls, 1);
	assert_non_null(s->seccomp);
	assert_int_equal(s->seccomp->n_rules, 1);
	assert_string_equal(s->overlay_lower, "/l");
	assert_true(s->loopback_up);
	rt_spec_free(s);
}

static void test_invalid(void **state)
{
	const char *bad[] = {
		"[]",
		"{\"root\":{\"path\":\"/r\"}}",
		"{\"process\":{\"args\":[]},\"root\":{\"path\":\"/r\"}}",
		"{\"process\":{\"args\":[\"x\"],\"cwd\":\"rel\"},\"root\":{\"path\":\"/r\"}}",
		"{\"process\":{\"args\":[\"x\"]}}",
		"{\"process\":{\"args\":[\"x\"],\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}},"
		"\"root\":{\"path\":\"/r\"}}",
		"{\"process\":{\"args\":[\"x\"]},\"root\":{\"path\":\"/r\"},"
		"\"mounts\":[{\"destination\":\"rel\",\"type\":\"tmpfs\"}]}",
		"{\"process\":{\"args\":[\"x\"]},\"root\":{\"path\":\"/r\"},"
		"\"mounts\":[{\"destination\":\"/a\",\"type\":\"bind\"}]}",
		"{\"process\":{\"args\":[\"x\"]},\"root\":{\"path\":\"/r\"},"
		"\"linux\":{\"sysctl\":{\"../../etc\":\"1\"}}}",
		"{\"process\":{\"args\":[\"x\"]},\"root\":{\"path\":\"/r\"},"
		"\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_WHAT\"}}}",
		"{\"process\":{\"args\":[\"x\"]},\"root\":{\"path\":\"/r\"},"
		"\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":0}]}}",
		"{\"process\":{\"args\":[\"x\"],\"user\":{\"uid\":-1}},\"root\":{\"path\":\"/r\"}}",
		"{\"process\":{\"args\":[\"x\"]},\"root\":{\"path\":\"/r\"},"
		"\"annotations\":{\"org.vert.rootfs.lower\":\"/l\"}}",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		vert_error_t e = VERT_ERROR_INIT;
		struct rt_spec *s = parse(bad[i], &e);
		if (s)
			fail_msg("accepted bad spec #%zu: %s", i, bad[i]);
		assert_int_equal(e.kind, VERT_ERR_INVALID);
		assert_non_null(e.msg);
		vert_error_clear(&e);
	}
}

/* values of the wrong type are errors naming the key, not silently skipped */
static void test_wrong_types(void **state)
{
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "{\"process\":{\"args\":[\"x\"],\"user\":{\"additionalGids\":5}},"
		  "\"root\":{\"path\":\"/r\"}}",
		  "key 'process.user.additionalGids': expected an array" },
		{ "{\"process\":{\"args\":[\"x\"],\"user\":{\"additionalGids\":[\"5\"]}},"
		  "\"root\":{\"path\":\"/r\"}}",
		  "key 'process.user.additionalGids[0]': expected an integer" },
		{ "{\"process\":{\"args\":[\"x\"],\"rlimits\":{}},\"root\":{\"path\":\"/r\"}}",
		  "key 'process.rlimits': expected an array" },
		{ "{\"process\":{\"args\":[\"x\"]},\"root\":{\"path\":\"/r\"},"
		  "\"linux\":{\"namespaces\":[{\"type\":1}]}}",
		  "key 'linux.namespaces[0].type': expected a string" },
		{ "{\"process\":{\"args\":[\"x\"]},\"root\":{\"path\":\"/r\"},"
		  "\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":1}}}",
		  "key 'linux.sysctl.net.ipv4.ip_forward': expected a string" },
		{ "{\"process\":{\"args\":[\"x\"]},\"root\":{\"path\":\"/r\"},"
		  "\"annotations\":{\"org.vert.net.loopback\":true}}",
		  "key 'annotations.org.vert.net.loopback': expected a string" },
		{ "{\"process\":{\"args\":[\"x\"],\"terminal\":\"yes\"},\"root\":{\"path\":\"/"
		  "r\"}}",
		  "spec: key 'process.terminal': expected a boolean, got a string" },
		{ "{\"process\":{\"args\":[\"x\"]},\"root\":{}}",
		  "spec: key 'root.path' is missing" },
		{ "{\"root\":{\"path\":\"/r\"}}", "spec: key 'process' is missing" },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		vert_error_t e = VERT_ERROR_INIT;
		struct rt_spec *s = parse(bad[i].json, &e);
		if (s || !e.msg || !strstr(e.msg, bad[i].msg))
			fail_msg("'%s': expected an error with '%s', got '%s'", bad[i].json,
				 bad[i].msg, e.msg ? e.msg : "(accepted)");
		vert_error_clear(&e);
	}
}

static void test_mount_options(void **state)
{
	struct rt_mount m = { .destination = (char *)"/x" };
	char *opts[] = { (char *)"ro",	    (char *)"nosuid",  (char *)"rw", (char *)"mode=1777",
			 (char *)"rshared", (char *)"size=1m", NULL };
	char *bad[] = { (char *)"", NULL };
	vert_error_t e = VERT_ERROR_INIT;
	(void)state;
	assert_int_equal(rt_mount_parse_options(&m, opts, &e), 0);
	assert_int_equal(m.flags, MS_NOSUID); /* rw cleared ro */
	assert_false(m.readonly);
	assert_int_equal(m.propagation, MS_SHARED | MS_REC);
	assert_string_equal(m.data, "mode=1777,size=1m");
	free(m.data);
	m.data = NULL;
	assert_int_not_equal(rt_mount_parse_options(&m, bad, &e), 0);
	vert_error_clear(&e);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(rt_cap_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
	assert_int_equal(rt_cap_from_name("sys_admin"), 21);
	assert_int_equal(rt_cap_from_name("CAP_NOPE"), -1);
	assert_string_equal(rt_cap_name(0), "CAP_CHOWN");
	assert_int_equal(rt_ns_from_name("cgroup"), RT_NS_CGROUP);
	assert_int_equal(rt_ns_from_name("net"), -1);
	assert_int_equal(rt_ns_clone_flag(RT_NS_UTS), CLONE_NEWUTS);
	assert_int_equal(rt_seccomp_action_from_name("SCMP_ACT_ERRNO"), RT_SCMP_ERRNO);
	assert_int_equal(rt_rlimit_from_name("RLIMIT_NPROC") >= 0, 1);
}

/* minimal spec with linux.resources = res */
static struct rt_spec *parse_res(const char *res, vert_error_t *err)
{
	char *txt = xasprintf("{\"process\":{\"args\":[\"/bin/true\"]},\"root\":{\"path\":\"/r\"},"
			      "\"linux\":{\"resources\":%s}}",
			      res);
	struct rt_spec *s = parse(txt, err);
	free(txt);
	return s;
}

static void test_oci_conversions(void **state)
{
	(void)state;
	/* crun's curve: the defaults meet (1024 shares = weight 100) */
	assert_int_equal(rt_oci_shares_to_weight(1024), 100);
	assert_int_equal(rt_oci_shares_to_weight(2), 1);
	assert_int_equal(rt_oci_shares_to_weight(1), 1);
	assert_int_equal(rt_oci_shares_to_weight(262144), 10000);
	assert_int_equal(rt_oci_shares_to_weight(1000000), 10000);
	assert_int_equal(rt_oci_shares_to_weight(0), -1);
	assert_true(rt_oci_shares_to_weight(512) < 100 && rt_oci_shares_to_weight(512) > 1);
	assert_true(rt_oci_shares_to_weight(2048) > 100);
	assert_int_equal(rt_oci_blkio_to_io_weight(10), 1);
	assert_int_equal(rt_oci_blkio_to_io_weight(1000), 10000);
	assert_int_equal(rt_oci_blkio_to_io_weight(500), 4950);
	assert_int_equal(rt_oci_blkio_to_io_weight(0), -1);
}

static void test_resources(void **state)
{
	vert_error_t e = VERT_ERROR_INIT;
	struct rt_spec *s;
	(void)state;

	s = parse_res("{\"memory\":{\"limit\":67108864,\"reservation\":33554432,"
		      "\"swap\":100663296},"
		      "\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,"
		      "\"cpus\":\"0-1\",\"mems\":\"0\",\"burst\":1000,\"idle\":0},"
		      "\"pids\":{\"limit\":64},"
		      "\"blockIO\":{\"weight\":500,\"weightDevice\":[{\"major\":8,\"minor\":0,"
		      "\"weight\":1000}],\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,"
		      "\"rate\":1048576}],\"throttleWriteIOPSDevice\":[{\"major\":8,"
		      "\"minor\":16,\"rate\":0}]},"
		      "\"devices\":[],"
		      "\"unified\":{\"memory.oom.group\":\"1\"}}",
		      &e);
	assert_non_null(s);
	assert_int_equal(s->resources.memory_max, 67108864);
	/* reservation is a protection on v2, not memory.high */
	assert_int_equal(s->resources.memory_low, 33554432);
	assert_int_equal(s->resources.memory_high, -1);
	/* OCI swap is memory + swap */
	assert_int_equal(s->resources.memory_swap_max, 100663296 - 67108864);
	/* shares are not a weight */
	assert_int_equal(s->resources.cpu_weight, 100);
	assert_int_equal(s->resources.cpu_quota, 50000);
	assert_int_equal(s->resources.cpu_period, 100000);
	assert_string_equal(s->resources.cpuset_cpus, "0-1");
	assert_string_equal(s->resources.cpuset_mems, "0");
	assert_int_equal(s->resources.pids_max, 64);
	assert_int_equal(s->resources.io_weight, 4950);
	assert_int_equal(strv_len(s->resources.io_max), 2);
	assert_string_equal(s->resources.io_max[0], "8:0 rbps=1048576");
	assert_string_equal(s->resources.io_max[1], "8:16 wiops=max");
	/* file/value pairs, in order */
	assert_int_equal(strv_len(s->resources.unified), 8);
	assert_string_equal(s->resources.unified[0], "cpu.max.burst");
	assert_string_equal(s->resources.unified[1], "1000");
	assert_string_equal(s->resources.unified[2], "cpu.idle");
	assert_string_equal(s->resources.unified[4], "io.weight");
	assert_string_equal(s->resources.unified[5], "8:0 10000");
	assert_string_equal(s->resources.unified[6], "memory.oom.group");
	assert_string_equal(s->resources.unified[7], "1");
	assert_true(rt_resources_any(&s->resources));
	rt_spec_free(s);

	/* -1 and 0 mean unlimited where OCI says so */
	s = parse_res("{\"memory\":{\"limit\":-1,\"swap\":-1},\"pids\":{\"limit\":0},"
		      "\"cpu\":{\"quota\":-1}}",
		      &e);
	assert_non_null(s);
	assert_int_equal(s->resources.memory_max, INT64_MAX);
	assert_int_equal(s->resources.memory_swap_max, INT64_MAX);
	assert_int_equal(s->resources.pids_max, INT64_MAX);
	assert_int_equal(s->resources.cpu_quota, INT64_MAX);
	assert_int_equal(s->resources.cpu_period, 100000);
	rt_spec_free(s);

	s = parse_res("{}", &e);
	assert_non_null(s);
	assert_false(rt_resources_any(&s->resources));
	rt_spec_free(s);
}

static void test_resources_invalid(void **state)
{
	static const struct {
		const char *res, *msg;
	} bad[] = {
		{ "{\"memory\":{\"swap\":1000}}", "needs memory.limit" },
		{ "{\"memory\":{\"limit\":2000,\"swap\":1000}}", "must not be below" },
		{ "{\"memory\":{\"swappiness\":10}}", "swappiness" },
		{ "{\"memory\":{\"disableOOMKiller\":true}}", "disableOOMKiller" },
		{ "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}", "devices" },
		{ "{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":1}]}", "hugepage" },
		{ "{\"network\":{\"classID\":1}}", "network" },
		{ "{\"cpu\":{\"realtimeRuntime\":100}}", "realtime" },
		{ "{\"unified\":{\"../memory.max\":\"1\"}}", "invalid" },
		{ "{\"unified\":{\"memory.max/x\":\"1\"}}", "invalid" },
		{ "{\"unified\":{\"cgroup.procs\":\"1\"}}", "invalid" },
		{ "{\"unified\":{\"memory.max\":1}}", "expected a string" },
		{ "{\"memory\":{\"limit\":\"1G\"}}", "integer" },
		{ "[]", "expected an object" },
		{ "{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8}]}}", "major, minor" },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		vert_error_t e = VERT_ERROR_INIT;
		struct rt_spec *s = parse_res(bad[i].res, &e);
		if (s || !e.msg || !strstr(e.msg, bad[i].msg))
			fail_msg("'%s': expected an error with '%s', got '%s'", bad[i].res,
				 bad[i].msg, e.msg ? e.msg : "(accepted)");
		vert_error_clear(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),		  cmocka_unit_test(test_full),
		cmocka_unit_test(test_invalid),		  cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_mount_options),	  cmocka_unit_test(test_names),
		cmocka_unit_test(test_oci_conversions),	  cmocka_unit_test(test_resources),
		cmocka_unit_test(test_resources_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
