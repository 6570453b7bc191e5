/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The VE handle: one name check, every path, the lock and its file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>

#include "ve-internal.h"
#include "vert/fs.h"
#include "vert/util.h"
#include "vert/ve.h"

struct fixture {
	char root[64];
	struct ve_paths p;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	vert_error_t e = VERT_ERROR_INIT;

	snprintf(f->root, sizeof(f->root), "/tmp/vert-test-handle-XXXXXX");
	if (!mkdtemp(f->root) || ve_paths_init(&f->p, f->root, &e) < 0) {
		vert_error_clear(&e);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ve_paths_done(&f->p);
	fs_rm_rf(f->root);
	free(f);
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static char *lock_file(const struct fixture *f, const char *kind, const char *name)
{
	return xasprintf("%s/run/locks/%s.%s.lock", f->root, kind, name);
}

static void write_config(const struct fixture *f, const char *dir_name, const char *name)
{
	_cleanup_free_ char *dir = xasprintf("%s/ves/%s", f->root, dir_name);
	_cleanup_free_ char *path = xasprintf("%s/config.json", dir);
	struct ve_config c;
	struct json_object *o;
	const char *txt;

	ve_config_init(&c);
	c.name = xstrdup(name);
	c.template_name = xstrdup("tpl");
	c.onboot = true;
	o = ve_config_to_json(&c);
	txt = json_object_to_json_string(o);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(write_file_atomic_at(AT_FDCWD, path, txt, strlen(txt), 0600), 0);
	json_object_put(o);
	ve_config_done(&c);
}

static void test_paths(void **state)
{
	struct fixture *f = *state;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	_cleanup_free_ char *want = NULL, *cg = ve_cgroup_name(&f->p, "web1");
	vert_error_t e = VERT_ERROR_INIT;

	assert_int_equal(ve_open(&f->p, "web1", 0, &h, &e), 0);
	assert_string_equal(h->name, "web1");
	want = xasprintf("%s/ves/web1", f->root);
	assert_string_equal(h->data_dir, want);
	free(want);
	want = xasprintf("%s/run/ves/web1", f->root);
	assert_string_equal(h->run_dir, want);
	free(want);
	want = xasprintf("%s/ves/web1/config.json", f->root);
	assert_string_equal(h->config_path, want);
	free(want);
	want = xasprintf("%s/run/ves/web1/state.json", f->root);
	assert_string_equal(h->state_path, want);
	free(want);
	want = lock_file(f, "ve", "web1");
	assert_string_equal(h->lock_path, want);
	/* --root: the name plus a hash of the state root */
	assert_string_equal(h->cgroup_name, cg);
	assert_non_null(strchr(h->cgroup_name, '@'));
	assert_string_equal(h->lock_kind, "ve");
	/* opened without VE_OPEN_LOCK: no lock, no lock file */
	assert_int_equal(h->lock_fd, -EBADF);
	assert_false(exists(want));
	assert_false(h->have_cfg);
	free(want);
	want = ve_log_path(h, true);
	assert_true(str_endswith(want, "/ves/web1/console.log.1"));
}

static void test_invalid_name(void **state)
{
	struct fixture *f = *state;
	const char *bad[] = { "", "../x", "a/b", ".hidden", "-x", "a b", NULL };
	vert_error_t e = VERT_ERROR_INIT;
	struct ve_handle *h = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_true(ve_open(&f->p, bad[i], VE_OPEN_LOCK | VE_OPEN_CONFIG, &h, &e) < 0);
		assert_int_equal(e.kind, VERT_ERR_INVALID);
		assert_non_null(strstr(e.msg, "invalid VE name"));
		assert_null(h);
		vert_error_clear(&e);
	}
	assert_true(ve_template_open(&f->p, "../t", VE_OPEN_LOCK, &h, &e) < 0);
	assert_int_equal(e.kind, VERT_ERR_INVALID);
	assert_non_null(strstr(e.msg, "invalid template name"));
	assert_null(h);
	vert_error_clear(&e);
	/* nothing was locked for any of them */
	{
		_cleanup_free_ char *locks = xasprintf("%s/run/locks", f->root);
		DIR *d = opendir(locks);
		struct dirent *de;
		int n = 0;
		assert_non_null(d);
		while ((de = readdir(d)))
			n += de->d_name[0] != '.';
		closedir(d);
		assert_int_equal(n, 0);
	}
}

static void test_missing(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *lock = lock_file(f, "ve", "nope");
	vert_error_t e = VERT_ERROR_INIT;
	struct ve_handle *h = NULL;

	assert_true(ve_open(&f->p, "nope", VE_OPEN_LOCK | VE_OPEN_CONFIG, &h, &e) < 0);
	assert_int_equal(e.kind, VERT_ERR_NOTFOUND);
	assert_string_equal(e.msg, "VE 'nope' not found");
	assert_null(h);
	vert_error_clear(&e);
	/* the lock it took is gone with its file: nothing of the VE exists */
	assert_false(exists(lock));
}

static void test_config(void **state)
{
	struct fixture *f = *state;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	struct ve_handle *other = NULL;
	vert_error_t e = VERT_ERROR_INIT;

	write_config(f, "web2", "web2");
	assert_int_equal(ve_open(&f->p, "web2", VE_OPEN_CONFIG, &h, &e), 0);
	assert_true(h->have_cfg);
	assert_string_equal(h->cfg.name, "web2");
	assert_string_equal(h->cfg.template_name, "tpl");
	assert_true(h->cfg.onboot);
	/* read before the lock: read again under it */
	assert_int_equal(ve_handle_lock(h, false, &e), 0);
	assert_false(h->have_cfg);
	assert_int_equal(ve_handle_config(h, &e), 0);
	assert_true(h->have_cfg);
	assert_int_equal(ve_handle_reload(h, &e), 0);
	assert_string_equal(h->cfg.name, "web2");

	/* a config.json that names another VE */
	write_config(f, "web3", "web4");
	assert_true(ve_open(&f->p, "web3", VE_OPEN_CONFIG, &other, &e) < 0);
	assert_int_equal(e.kind, VERT_ERR_INVALID);
	assert_non_null(strstr(e.msg, "names another VE"));
	assert_null(other);
	vert_error_clear(&e);
}

static void test_busy(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *lock = lock_file(f, "ve", "web5");
	struct ve_handle *a = NULL, *b = NULL;
	vert_error_t e = VERT_ERROR_INIT;

	assert_int_equal(ve_open(&f->p, "web5", VE_OPEN_LOCK, &a, &e), 0);
	assert_true(a->lock_fd >= 0);
	assert_true(exists(lock));
	/* locking again through the same handle is a no-op */
	assert_int_equal(ve_handle_lock(a, false, &e), 0);
	assert_true(ve_open(&f->p, "web5", VE_OPEN_LOCK, &b, &e) < 0);
	assert_int_equal(e.kind, VERT_ERR_BUSY);
	assert_string_equal(e.msg, "ve 'web5' is busy: another vert command is working on it");
	assert_null(b);
	vert_error_clear(&e);
	/* the failed open did not take the file from the holder */
	assert_true(exists(lock));
	ve_close(a);
	/* nothing of web5 exists: its lock file went with the lock */
	assert_false(exists(lock));
	assert_int_equal(ve_open(&f->p, "web5", VE_OPEN_LOCK_WAIT, &b, &e), 0);
	assert_true(b->lock_fd >= 0);
	ve_close(b);
	assert_false(exists(lock));
}

static void test_unlock_modes(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *lock = lock_file(f, "ve", "web6");
	_cleanup_free_ char *dir = xasprintf("%s/ves/web6", f->root);
	_cleanup_free_ char *rundir = xasprintf("%s/run/ves/web6", f->root);
	struct ve_handle *h = NULL;
	vert_error_t e = VERT_ERROR_INIT;

	/* the VE's data dir exists: the lock file stays */
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(ve_open(&f->p, "web6", VE_OPEN_LOCK, &h, &e), 0);
	ve_close(h);
	assert_true(exists(lock));
	/* only its runtime dir exists: the lock file stays */
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(mkdir(rundir, 0700), 0);
	assert_int_equal(ve_open(&f->p, "web6", VE_OPEN_LOCK, &h, &e), 0);
	ve_close(h);
	assert_true(exists(lock));
	/* told it is gone: the lock file goes, whatever exists */
	assert_int_equal(ve_open(&f->p, "web6", VE_OPEN_LOCK, &h, &e), 0);
	ve_handle_unlock(h, VE_UNLOCK_REMOVE);
	assert_int_equal(h->lock_fd, -EBADF);
	assert_false(exists(lock));
	/* keep: only the fd goes, even with nothing left to guard */
	assert_int_equal(rmdir(rundir), 0);
	assert_int_equal(ve_handle_lock(h, false, &e), 0);
	ve_handle_unlock(h, VE_UNLOCK_KEEP);
	assert_int_equal(h->lock_fd, -EBADF);
	assert_true(exists(lock));
	/* a released handle locks again; closed, the file goes */
	assert_int_equal(ve_handle_lock(h, false, &e), 0);
	ve_close(h);
	assert_false(exists(lock));
}

/* A start's "starting" record and its "started" mark (state.c). */
static void test_started_mark(void **state)
{
	struct fixture *f = *state;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	vert_error_t e = VERT_ERROR_INIT;
	struct ve_state w = { .status = (char *)"starting", .pid = 42 }, r;

	assert_int_equal(ve_open(&f->p, "web9", VE_OPEN_LOCK, &h, &e), 0);
	assert_int_equal(mkdir_p(h->run_dir, 0700), 0);
	assert_int_equal(ve_state_write(h, &w, &e), 0);
	assert_int_equal(ve_state_read(&f->p, "web9", &r, &e), 0);
	assert_string_equal(r.status, "starting");
	assert_int_equal(r.pid, 42);
	ve_state_done(&r);
	/* the start completed */
	assert_int_equal(ve_state_mark_started(h, &e), 0);
	assert_int_equal(ve_state_read(&f->p, "web9", &r, &e), 0);
	assert_string_equal(r.status, "running");
	assert_int_equal(r.pid, 42);
	ve_state_done(&r);
	/* a record of another status is what it says, mark or not */
	w.status = (char *)"rebooting";
	assert_int_equal(ve_state_write(h, &w, &e), 0);
	assert_int_equal(ve_state_read(&f->p, "web9", &r, &e), 0);
	assert_string_equal(r.status, "rebooting");
	ve_state_done(&r);
	/* the next boot's record: the old mark must not say it completed */
	w.status = (char *)"starting";
	assert_int_equal(ve_state_write(h, &w, &e), 0);
	assert_int_equal(ve_state_read(&f->p, "web9", &r, &e), 0);
	assert_string_equal(r.status, "starting");
	ve_state_done(&r);
}

static void test_template(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *lock = lock_file(f, "template", "tpl");
	_cleanup_free_ char *dir = xasprintf("%s/templates/tpl", f->root);
	struct ve_handle *a = NULL, *b = NULL;
	vert_error_t e = VERT_ERROR_INIT;

	assert_int_equal(ve_template_open(&f->p, "tpl", VE_OPEN_LOCK, &a, &e), 0);
	assert_string_equal(a->data_dir, dir);
	assert_null(a->run_dir);
	assert_string_equal(a->lock_kind, "template");
	assert_true(exists(lock));
	/* a VE of the same name has a lock of its own */
	assert_int_equal(ve_open(&f->p, "tpl", VE_OPEN_LOCK, &b, &e), 0);
	ve_close(b);
	assert_true(ve_template_open(&f->p, "tpl", VE_OPEN_LOCK, &b, &e) < 0);
	assert_int_equal(e.kind, VERT_ERR_BUSY);
	assert_non_null(strstr(e.msg, "template 'tpl' is busy"));
	vert_error_clear(&e);
	/* no template made: no lock file */
	ve_close(a);
	assert_false(exists(lock));
	/* a template that exists keeps it */
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(ve_template_open(&f->p, "tpl", VE_OPEN_LOCK, &a, &e), 0);
	ve_close(a);
	assert_true(exists(lock));
	ve_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlock_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_started_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_template, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
