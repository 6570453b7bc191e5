/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VE, opened: its checked name, its paths, its lock and its config, in
 * one handle every verb takes (as LXC's struct lxc_container, crun's
 * libcrun_container_t).  A template's handle has only its lock and its
 * directory.
 *
 * Lock files are removed with what they guard (VE_UNLOCK_REMOVE, and
 * VE_UNLOCK_AUTO when nothing of it exists), so /run doesn't fill with
 * the lock files of every --rm VE ever run.  That makes the classic race
 * possible: we open a lock file, its holder unlinks it, we get the lock
 * on a deleted inode.  So after locking, the path must still name the
 * inode we hold; otherwise try again.
 */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "ve-internal.h"
#include "vert/util.h"

static int handle_open(struct ve_handle *h, unsigned flags, vert_error_t *err)
{
	int r;

	if ((flags & (VE_OPEN_LOCK | VE_OPEN_LOCK_WAIT)) &&
	    (r = ve_handle_lock(h, flags & VE_OPEN_LOCK_WAIT, err)) < 0)
		return r;
	if ((flags & VE_OPEN_CONFIG) && (r = ve_handle_config(h, err)) < 0)
		return r;
	return 0;
}

int ve_open(const struct ve_paths *p, const char *name, unsigned flags, struct ve_handle **ret,
	    vert_error_t *err)
{
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	int r;

	if ((r = ve_name_check("VE", name, err)) < 0)
		return r;
	h = xcalloc(1, sizeof(*h));
	h->p = p;
	h->lock_fd = -EBADF;
	h->lock_kind = "ve";
	h->name = xstrdup(name);
	h->data_dir = ve_path(p->data, name, NULL);
	h->run_dir = ve_path(p->run, name, NULL);
	h->config_path = ve_path(p->data, name, "config.json");
	h->state_path = ve_path(p->run, name, "state.json");
	h->cgroup_name = ve_cgroup_name(p, name);
	h->lock_path = ve_lock_path(p, h->lock_kind, name);
	if ((r = handle_open(h, flags, err)) < 0)
		return r;
	*ret = TAKE_PTR(h);
	return 0;
}

int ve_template_open(const struct ve_paths *p, const char *name, unsigned flags,
		     struct ve_handle **ret, vert_error_t *err)
{
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	int r;

	if ((r = ve_name_check("template", name, err)) < 0)
		return r;
	h = xcalloc(1, sizeof(*h));
	h->p = p;
	h->lock_fd = -EBADF;
	h->lock_kind = "template";
	h->name = xstrdup(name);
	h->data_dir = ve_template_path(p, name, NULL);
	h->lock_path = ve_lock_path(p, h->lock_kind, name);
	if ((r = handle_open(h, flags & ~VE_OPEN_CONFIG, err)) < 0)
		return r;
	*ret = TAKE_PTR(h);
	return 0;
}

void ve_close(struct ve_handle *h)
{
	if (!h)
		return;
	ve_handle_unlock(h, VE_UNLOCK_AUTO);
	if (h->have_cfg)
		ve_config_done(&h->cfg);
	free(h->name);
	free(h->data_dir);
	free(h->run_dir);
	free(h->config_path);
	free(h->state_path);
	free(h->cgroup_name);
	free(h->lock_path);
	free(h);
}

int ve_handle_config(struct ve_handle *h, vert_error_t *err)
{
	int r;

	if (h->have_cfg)
		return 0;
	if ((r = ve_config_load(h->config_path, h->name, &h->cfg, err)) < 0)
		return r;
	h->have_cfg = true;
	return 0;
}

int ve_handle_reload(struct ve_handle *h, vert_error_t *err)
{
	if (h->have_cfg)
		ve_config_done(&h->cfg);
	h->have_cfg = false;
	return ve_handle_config(h, err);
}

int ve_handle_lock(struct ve_handle *h, bool wait, vert_error_t *err)
{
	const char *kind = h->lock_kind;

	if (h->lock_fd >= 0)
		return 0;
	for (;;) {
		_cleanup_close_ int fd =
			open(h->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		struct stat a, b;

		if (fd < 0)
			return vert_error_sys(err, "open lock '%s'", h->lock_path);
		while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EWOULDBLOCK)
				return vert_error_set(err, EBUSY, VERT_ERR_BUSY,
						      "%s '%s' is busy: another vert command is "
						      "working on it",
						      kind, h->name);
			return vert_error_sys(err, "lock %s '%s'", kind, h->name);
		}
		if (fstat(fd, &a) == 0 && stat(h->lock_path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			h->lock_fd = TAKE_FD(fd);
			/* a config read before the lock may be stale under it:
			 * the next ve_handle_config reads it again */
			if (h->have_cfg)
				ve_config_done(&h->cfg);
			h->have_cfg = false;
			return 0;
		}
		/* removed under us: the lock we hold guards nothing */
	}
}

/* A VE exists while its data or its runtime dir does; a template while
 * its directory does. */
static bool lock_target_exists(const struct ve_handle *h)
{
	struct stat st;

	return lstat(h->data_dir, &st) == 0 || (h->run_dir && lstat(h->run_dir, &st) == 0);
}

void ve_handle_unlock(struct ve_handle *h, enum ve_unlock how)
{
	if (h->lock_fd < 0)
		return;
	/* unlink while holding it: waiters re-check and start over */
	if (how == VE_UNLOCK_REMOVE || (how == VE_UNLOCK_AUTO && !lock_target_exists(h)))
		unlink(h->lock_path);
	close(TAKE_FD(h->lock_fd));
}
