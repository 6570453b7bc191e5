/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pure parts of src/cgroup: parsers of cgroupfs files, controllers,
 * the refusals that must never touch a cgroup. */
#include <fcntl.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <linux/bpf.h>

#include "vert/cgroup.h"
#include "vert/util.h"
#include "vert/ve.h"

static void test_controllers(void **state)
{
	char *s;
	(void)state;

	assert_int_equal(cg_controllers_parse("cpuset cpu io memory hugetlb pids rdma misc\n"),
			 CG_CTRL_ALL);
	assert_int_equal(cg_controllers_parse("memory pids"), CG_CTRL_MEMORY | CG_CTRL_PIDS);
	assert_int_equal(cg_controllers_parse("  cpu\tio\n"), CG_CTRL_CPU | CG_CTRL_IO);
	/* a prefix is not a name */
	assert_int_equal(cg_controllers_parse("cpus memoryx"), 0);
	assert_int_equal(cg_controllers_parse(""), 0);
	assert_int_equal(cg_controllers_parse(NULL), 0);
	s = cg_controllers_format(CG_CTRL_MEMORY | CG_CTRL_CPU);
	assert_string_equal(s, "cpu memory");
	free(s);
	s = cg_controllers_format(0);
	assert_string_equal(s, "none");
	free(s);
	assert_string_equal(cg_controller_flags(CG_CTRL_PIDS), "--pids");
}

static void test_resources_need(void **state)
{
	struct rt_resources r;
	(void)state;

	rt_resources_init(&r);
	assert_int_equal(cg_resources_need(&r), 0);
	r.memory_high = 1 << 20;
	assert_int_equal(cg_resources_need(&r), CG_CTRL_MEMORY);
	r.cpu_weight = 200;
	r.pids_max = 10;
	assert_int_equal(cg_resources_need(&r), CG_CTRL_MEMORY | CG_CTRL_CPU | CG_CTRL_PIDS);
	rt_resources_init(&r);
	r.cpuset_mems = xstrdup("0");
	r.io_max = strv_push(NULL, xstrdup("8:0 rbps=1"));
	assert_int_equal(cg_resources_need(&r), CG_CTRL_CPUSET | CG_CTRL_IO);
	rt_resources_done(&r);
	r.unified = strv_push(strv_push(NULL, xstrdup("memory.oom.group")), xstrdup("1"));
	assert_int_equal(cg_resources_need(&r), CG_CTRL_MEMORY);
	rt_resources_done(&r);
	assert_false(rt_resources_any(&r));
}

static void test_proc_cgroup(void **state)
{
	char *p = NULL;
	(void)state;

	assert_int_equal(cg_parse_proc_cgroup("0::/user.slice/session-2.scope\n", &p), 0);
	assert_string_equal(p, "/user.slice/session-2.scope");
	free(p);
	assert_int_equal(cg_parse_proc_cgroup("0::/\n", &p), 0);
	assert_string_equal(p, "/");
	free(p);
	/* hybrid: v1 lines first, the v2 one (systemd's) last */
	assert_int_equal(cg_parse_proc_cgroup("12:pids:/user.slice\n1:name=systemd:/x\n"
					      "0::/user.slice/a.scope\n",
					      &p),
			 0);
	assert_string_equal(p, "/user.slice/a.scope");
	free(p);
	p = NULL;
	assert_int_equal(cg_parse_proc_cgroup("12:pids:/\n1:name=systemd:/\n", &p), -ENOENT);
	assert_int_equal(cg_parse_proc_cgroup("", &p), -ENOENT);
	assert_int_equal(cg_parse_proc_cgroup("0::\n", &p), -ENOENT);
	assert_null(p);
}

static void test_keyed(void **state)
{
	const char *events = "low 0\nhigh 3\nmax 17\noom 2\noom_kill 1\noom_group_kill 0\n";
	int64_t v = -1;
	(void)state;

	assert_int_equal(cg_parse_keyed(events, "oom_kill", &v), 0);
	assert_int_equal(v, 1);
	/* "oom" is not "oom_kill" or "oom_group_kill" */
	assert_int_equal(cg_parse_keyed(events, "oom", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(cg_parse_keyed(events, "max", &v), 0);
	assert_int_equal(v, 17);
	assert_int_equal(cg_parse_keyed(events, "oom_k", &v), -ENOENT);
	assert_int_equal(cg_parse_keyed("usage_usec 123456789012\nuser_usec 5", "usage_usec", &v),
			 0);
	assert_int_equal(v, 123456789012LL);
	assert_int_equal(cg_parse_keyed("populated 0\nfrozen 0\n", "populated", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cg_parse_keyed("", "x", &v), -ENOENT);
}

static void test_max(void **state)
{
	int64_t v = 0, q = 0, p = 0;
	(void)state;

	assert_int_equal(cg_parse_max("max\n", &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(cg_parse_max("67108864\n", &v), 0);
	assert_int_equal(v, 67108864);
	assert_int_equal(cg_parse_max("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_not_equal(cg_parse_max("maximum", &v), 0);
	assert_int_not_equal(cg_parse_max("12k", &v), 0);
	assert_int_not_equal(cg_parse_max("", &v), 0);

	assert_int_equal(cg_parse_cpu_max("max 100000\n", &q, &p), 0);
	assert_int_equal(q, -1);
	assert_int_equal(p, 100000);
	assert_int_equal(cg_parse_cpu_max("50000 100000\n", &q, &p), 0);
	assert_int_equal(q, 50000);
	assert_int_equal(p, 100000);
	assert_int_not_equal(cg_parse_cpu_max("50000", &q, &p), 0);
}

static void test_io_stat(void **state)
{
	int64_t r = -1, w = -1, ri = -1, wi = -1;
	(void)state;

	cg_parse_io_stat("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
			 "254:0 rbytes=100 wbytes=0 rios=3 wios=0 dbytes=0 dios=0\n",
			 &r, &w, &ri, &wi);
	assert_int_equal(r, 4196);
	assert_int_equal(w, 8192);
	assert_int_equal(ri, 4);
	assert_int_equal(wi, 2);
	/* nothing read yet: an empty file, zero bytes (not unknown) */
	cg_parse_io_stat("", &r, &w, &ri, &wi);
	assert_int_equal(r, 0);
	assert_int_equal(wi, 0);
}

static void test_cpu_percent(void **state)
{
	(void)state;
	/* half a second of CPU in one second: 50% */
	assert_true(cg_cpu_percent(1000000, 1500000, 1000000000ULL) == 50.0);
	/* two CPUs flat out */
	assert_true(cg_cpu_percent(0, 4000000, 2000000000ULL) == 200.0);
	assert_true(cg_cpu_percent(5, 5, 1000) == 0.0);
	/* unknown or nonsense: -1 */
	assert_true(cg_cpu_percent(-1, 5, 1000) < 0);
	assert_true(cg_cpu_percent(10, 5, 1000) < 0); /* a new instance */
	assert_true(cg_cpu_percent(1, 5, 0) < 0);
}

static void test_stats_init(void **state)
{
	struct cg_stats st;
	(void)state;
	cg_stats_init(&st);
	assert_int_equal(st.memory_current, -1);
	assert_int_equal(st.memory_max_events, -1);
	assert_int_equal(st.oom_kills, -1);
	/* a path that isn't a cgroup: counters stay unknown */
	assert_int_not_equal(cg_stats_read("/nonexistent/vert/x", &st), 0);
	assert_int_equal(st.pids_current, -1);
}

static void test_remove_refuses(void **state)
{
	vert_error_t e = VERT_ERROR_INIT;
	(void)state;

	/* never anything vert did not make: not cgroupfs, not under "vert" */
	assert_int_not_equal(cg_remove_path("/tmp", &e), 0);
	assert_non_null(strstr(e.msg, "refusing"));
	vert_error_clear(&e);
	assert_int_not_equal(cg_remove_path("/sys/fs/cgroup/system.slice", &e), 0);
	vert_error_clear(&e);
	assert_int_not_equal(cg_remove_path("relative/vert/x", &e), 0);
	vert_error_clear(&e);
	assert_int_not_equal(cg_remove_path("/sys/fs/cgroup/vert/../init.scope", &e), 0);
	vert_error_clear(&e);
	/* a VE cgroup that is already gone is fine */
	assert_int_equal(cg_remove_path("/nonexistent/vert/web1", &e), 0);
}

static void test_cpus(void **state)
{
	(void)state;
	assert_int_equal(cg_parse_cpu_count("0-3\n"), 4);
	assert_int_equal(cg_parse_cpu_count("0,2-3,7"), 4);
	assert_int_equal(cg_parse_cpu_count("5"), 1);
	assert_int_equal(cg_parse_cpu_count("3-1"), -1);
	assert_int_equal(cg_parse_cpu_count("x"), -1);
	/* --cpus 1 on 2 CPUs: 1; 1.5: 2; unlimited: the cpuset's */
	assert_int_equal(cg_visible_cpus(2, 100000, 100000), 1);
	assert_int_equal(cg_visible_cpus(2, 150000, 100000), 2);
	assert_int_equal(cg_visible_cpus(2, 800000, 100000), 2);
	assert_int_equal(cg_visible_cpus(4, -1, 100000), 4);
	assert_int_equal(cg_visible_cpus(-1, -1, -1), -1);
}

/* cg_delegate on a plain directory standing in for a VE's cgroup: the
 * files delegation hands over go to the VE's root, the limits stay. */
static void test_delegate(void **state)
{
	static const char *const files[] = { "cgroup.procs", "cgroup.subtree_control",
					     "cgroup.threads", "memory.max" };
	char dir[] = "/tmp/vert-test-delegate.XXXXXX";
	struct cg_handle h = CG_HANDLE_INIT;
	struct cg_owner o = { .userns = true, .chown = true, .uid = 4242, .gid = 4343 };
	vert_error_t e = VERT_ERROR_INIT;
	struct stat st;
	(void)state;

	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *f = xasprintf("%s/%s", dir, files[i]);
		int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
	h.path = xstrdup(dir);
	h.dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	assert_int_equal(cg_delegate(&h, &o, &e), 0);
	assert_false(h.nested);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, 4242);
	assert_int_equal(st.st_gid, 4343);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *f = xasprintf("%s/%s", dir, files[i]);
		bool limit = strcmp(files[i], "memory.max") == 0;
		assert_int_equal(stat(f, &st), 0);
		assert_int_equal(st.st_uid, limit ? 0 : 4242);
		assert_int_equal(st.st_gid, limit ? 0 : 4343);
		unlink(f);
	}
	cg_handle_done(&h);
	rmdir(dir);
}

static void test_cgroup_name(void **state)
{
	struct ve_paths p = { 0 };
	char *a, *b, *c;
	(void)state;

	p.run = (char *)"/run/vert";
	a = ve_cgroup_name(&p, "web1");
	assert_string_equal(a, "web1");
	free(a);
	/* never the name of a cgroupfs file */
	a = ve_cgroup_name(&p, "io.stat");
	assert_true(str_startswith(a, "io.stat@"));
	p.root_arg = (char *)"/tmp/t1";
	p.run = (char *)"/tmp/t1/run";
	b = ve_cgroup_name(&p, "web1");
	p.root_arg = (char *)"/tmp/t2";
	p.run = (char *)"/tmp/t2/run";
	c = ve_cgroup_name(&p, "web1");
	assert_true(str_startswith(b, "web1@"));
	assert_int_equal(strlen(b), strlen("web1@") + 8);
	assert_string_not_equal(b, c);
	free(a);
	free(b);
	free(c);
}

/* The device filter program: every jump lands inside it, every path ends
 * in an exit, and rules are checked in order. */
static void test_dev_program(void **state)
{
	struct bpf_insn prog[256];
	size_t n, len;
	const struct cg_dev_rule *rules = cg_dev_default_rules(&n);
	(void)state;

	len = cg_dev_program(rules, n, prog, 256);
	assert_true(len > 6 && len < 256);
	assert_int_equal(prog[len - 1].code, BPF_JMP | BPF_EXIT);
	for (size_t i = 0; i < len; i++) {
		if (BPF_CLASS(prog[i].code) == BPF_JMP && BPF_OP(prog[i].code) != BPF_EXIT) {
			long target = (long)i + 1 + prog[i].off;
			assert_true(target > (long)i && target < (long)len);
		}
	}
	/* too small an output buffer: the length is still right */
	assert_int_equal(cg_dev_program(rules, n, prog, 3), len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dev_program),    cmocka_unit_test(test_controllers),
		cmocka_unit_test(test_resources_need), cmocka_unit_test(test_proc_cgroup),
		cmocka_unit_test(test_keyed),	       cmocka_unit_test(test_max),
		cmocka_unit_test(test_io_stat),	       cmocka_unit_test(test_cpu_percent),
		cmocka_unit_test(test_stats_init),     cmocka_unit_test(test_remove_refuses),
		cmocka_unit_test(test_cgroup_name),    cmocka_unit_test(test_delegate),
		cmocka_unit_test(test_cpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
