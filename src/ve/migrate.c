/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vert migrate NAME [USER@]HOST: live migration over ssh, by iterative
 * pre-copy (P.Haul, Incus): pre-dumps of the running VE's memory, each
 * incremental to the last and sent at once, until the dirty set stops
 * shrinking; then the final dump (the VE frozen: only what changed since
 * the last pre-dump, plus the upper dir), sent, and restored on HOST by
 * its own `vert restore --input`, which checks the template there.
 *
 * The target is reached as `$VERT_SSH HOST CMD` (default "ssh -o
 * BatchMode=yes"), its vert as $VERT_REMOTE (default "vert").  Before
 * anything is frozen, the target must answer, have the template and not
 * have the name.  A failure before the final dump leaves the VE running
 * here; after it, the local image restores the VE here.  The target's
 * staging dir goes in every case.
 */
#include <ctype.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <sys/stat.h>
#include <time.h>

#include "ve-internal.h"
#include "vert/util.h"

#ifdef HAVE_CRIU

#define MIGRATE_MAX_PRE_DUMPS 8

struct migrate {
	const char *host, *ssh, *remote, *name;
	char *rdir; /* the target's staging dir */
	int n_pre;
	uint64_t bytes, t_freeze;
};

static bool host_valid(const char *h)
{
	if (!*h || *h == '-')
		return false;
	for (const char *c = h; *c; c++)
		if (!(isalnum((unsigned char)*c) || strchr("@._-:[]", *c)))
			return false;
	return true;
}

static int sh(const struct ve_paths *p, const char *cmd, vert_error_t *err)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
	vert_debug("migrate: %s", cmd);
	return ve_run_tool(p, argv, err);
}

/* CMD on the target */
static int remote(const struct ve_paths *p, const struct migrate *m, const char *cmd,
		  vert_error_t *err)
{
	_cleanup_free_ char *q = xasprintf("%s %s '%s'", m->ssh, m->host, cmd);
	return sh(p, q, err);
}

static uint64_t tree_bytes_total;
static int tree_bytes_fn(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		tree_bytes_total += (uint64_t)st->st_size;
	return 0;
}

/* Send DIR/SUB... to the target's RDIR/img. */
static int send_dirs(const struct ve_paths *p, struct migrate *m, const char *dir, const char *subs,
		     vert_error_t *err)
{
	_cleanup_free_ char *cmd =
		xasprintf("cd '%s' && tar -cf - %s | %s %s 'tar -C %s/img -xf -'", dir, subs,
			  m->ssh, m->host, m->rdir);
	_cleanup_free_ char *copy = xstrdup(subs);
	char *save = NULL;

	for (char *s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, s);
		tree_bytes_total = 0;
		nftw(path, tree_bytes_fn, 32, FTW_PHYS);
		m->bytes += tree_bytes_total;
	}
	return sh(p, cmd, err);
}

static int pre_copy(void *data, struct ve_handle *h, const struct ve_state *s, const char *tmp,
		    char **ret_parent, vert_error_t *err)
{
	struct migrate *m = data;
	uint64_t prev = 0, bytes = 0;
	int r, i;

	for (i = 1; i <= MIGRATE_MAX_PRE_DUMPS; i++) {
		_cleanup_free_ char *sub = xasprintf("pre-%d", i);
		_cleanup_free_ char *parent = i > 1 ? xasprintf("../pre-%d", i - 1) : NULL;
		if ((r = ve_criu_pre_dump(h, s, tmp, sub, parent, &bytes, err)) < 0)
			return r;
		if ((r = send_dirs(h->p, m, tmp, sub, err)) < 0)
			return vert_error_wrap(err, "send pre-dump %d", i);
		m->n_pre = i;
		vert_debug("migrate: pre-dump %d: %llu bytes of pages", i,
			   (unsigned long long)bytes);
		/* stop once the dirty set no longer shrinks by a tenth, or is small */
		if (i > 1 && (bytes * 10 >= prev * 9 || bytes < (1U << 20)))
			break;
		prev = bytes;
	}
	*ret_parent = xasprintf("../pre-%d", m->n_pre);
	m->t_freeze = now_ns();
	return 0;
}

int ve_migrate(struct ve_handle *h, const struct ve_migrate_opts *o, struct ve_migrate_result *res,
	       vert_error_t *err)
{
	const struct ve_paths *p = h->p;
	struct migrate m = { .host = o->host, .name = h->name };
	struct ve_checkpoint_opts co = { .before_dump = pre_copy, .data = &m };
	char stage[] = "/var/tmp/vert-migrate.XXXXXX";
	_cleanup_free_ char *image = NULL, *img = NULL, *cmd = NULL;
	uint64_t t0 = now_ns();
	int r;

	m.ssh = getenv("VERT_SSH") ? getenv("VERT_SSH") : "ssh -o BatchMode=yes";
	m.remote = getenv("VERT_REMOTE") ? getenv("VERT_REMOTE") : "vert";
	if (!host_valid(o->host))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "bad host '%s'", o->host);
	if ((r = ve_handle_config(h, err)) < 0)
		return r;
	{
		char id[9];
		random_hex(id, 8);
		m.rdir = xasprintf("/var/tmp/vert-migrate-in.%s", id);
	}
	/* the target, before anything is frozen */
	if ((r = remote(p, &m, "true", err)) < 0) {
		_cleanup_free_ char *why = xstrdup(err->msg ? err->msg : "ssh failed");
		vert_error_clear(err);
		free(m.rdir);
		return vert_error_set(err, 0, VERT_ERR_RUNTIME,
				      "migrate VE '%s': '%s' is unreachable (%s)", h->name, o->host,
				      why);
	}
	cmd = xasprintf("if %s inspect %s >/dev/null 2>&1; then echo \"VE %s already exists "
			"there\" >&2; exit 1; fi; %s template ls -q | grep -qx %s || { echo "
			"\"template %s not found there\" >&2; exit 1; }; mkdir -p %s/img",
			m.remote, h->name, h->name, m.remote, h->cfg.template_name,
			h->cfg.template_name, m.rdir);
	if ((r = remote(p, &m, cmd, err)) < 0) {
		r = vert_error_wrap(err, "migrate VE '%s' to '%s'", h->name, o->host);
		goto out_remote;
	}
	if (!mkdtemp(stage)) {
		r = vert_error_sys(err, "create '%s'", stage);
		goto out_remote;
	}
	img = xasprintf("%s/img", stage);
	co.output = img;
	if ((r = ve_checkpoint(h, &co, &image, err)) < 0)
		goto out; /* CRIU resumed the VE, or never stopped it */
	if ((r = send_dirs(p, &m, img, "criu upper config.json image.json template.json", err)) < 0)
		goto restore_here;
	free(cmd);
	cmd = xasprintf("%s restore %s --input %s/img", m.remote, h->name, m.rdir);
	if ((r = remote(p, &m, cmd, err)) < 0)
		goto restore_here;
	res->freeze_ns = now_ns() - m.t_freeze;
	res->total_ns = now_ns() - t0;
	res->bytes = m.bytes;
	res->pre_dumps = m.n_pre;
	r = 0;
	if (!o->keep_source) {
		vert_error_t e = VERT_ERROR_INIT;
		if (ve_destroy(h, false, &e) < 0)
			vert_log(VERT_LOG_WARNING, "VE '%s' (migrated): %s", h->name, e.msg);
		vert_error_clear(&e);
	}
	goto out;

restore_here : {
	/* the VE runs again here, from the image that could not go */
	struct ve_restore_opts ro = { .input = img };
	vert_error_t e = VERT_ERROR_INIT;
	vert_error_wrap(err, "migrate VE '%s' to '%s'", h->name, o->host);
	if (ve_restore(p, h->name, &ro, &e) < 0)
		vert_log(VERT_LOG_WARNING, "VE '%s' could not be restored here either: %s", h->name,
			 e.msg);
	else
		vert_log(VERT_LOG_WARNING, "VE '%s' runs here again", h->name);
	vert_error_clear(&e);
}
out:
	if (*stage != '\0' && access(stage, F_OK) == 0)
		ve_remove_tree(p, stage, NULL);
out_remote:
	free(cmd);
	cmd = xasprintf("rm -rf %s", m.rdir);
	{
		vert_error_t e = VERT_ERROR_INIT;
		remote(p, &m, cmd, &e);
		vert_error_clear(&e);
	}
	free(m.rdir);
	return r;
}

#else

int ve_migrate(struct ve_handle *h, const struct ve_migrate_opts *o, struct ve_migrate_result *res,
	       vert_error_t *err)
{
	(void)o;
	(void)res;
	return vert_error_set(err, ENOTSUP, VERT_ERR_INVALID,
			      "migrate VE '%s': this vert was built without CRIU (libcriu)",
			      h->name);
}

#endif
