/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VE's own user namespace (root mode): its range is allocated at
 * create (idrange.c) and claimed again at every start; a VE made before
 * vert had user namespaces gets one at its next start.
 */
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "ve-internal.h"
#include "vert/util.h"

/* Overlayfs keeps its whiteouts and opaque dirs in trusted.overlay.*
 * when host root mounts it, in user.overlay.* when the VE's root does
 * (userxattr).  An upper layer of the first kind is copied into the
 * second once, so what the VE deleted stays deleted. */
static int conv_errors;
static const char *conv_from, *conv_to;

static int conv_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	char names[4096], val[4096];
	ssize_t n;

	(void)f;
	if (flag == FTW_SL || S_ISLNK(st->st_mode))
		return 0; /* no user.* xattrs on symlinks; overlay puts none there */
	n = llistxattr(path, names, sizeof(names));
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *k = names + i;
		_cleanup_free_ char *uk = NULL;
		ssize_t vn;
		if (!str_startswith(k, conv_from))
			continue;
		uk = xasprintf("%s%s", conv_to, k + strlen(conv_from));
		vn = lgetxattr(path, k, val, sizeof(val));
		if (vn < 0 || lsetxattr(path, uk, val, (size_t)vn, 0) < 0)
			conv_errors++;
	}
	return 0;
}

static int convert_tree(const char *upper, bool to_user, vert_error_t *err)
{
	conv_errors = 0;
	conv_from = to_user ? "trusted.overlay." : "user.overlay.";
	conv_to = to_user ? "user.overlay." : "trusted.overlay.";
	if (nftw(upper, conv_one, 32, FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return vert_error_sys(err, "convert the overlay attributes of '%s'", upper);
	if (conv_errors)
		return vert_error_set(err, EIO, VERT_ERR_RUNTIME,
				      "convert the overlay attributes of '%s': %d failed", upper,
				      conv_errors);
	return 0;
}

/* The VE is stopped.  Its upper layer is in its disk image when it has
 * one: that is mounted for the while (converting the empty mount point
 * under it would leave the image's opaque dirs to the other prefix, and
 * what the VE deleted would come back). */
int ve_userns_convert_upper(const struct ve_handle *h, bool to_user, vert_error_t *err)
{
	_cleanup_free_ char *plain = xasprintf("%s/upper", h->data_dir);
	_cleanup_free_ char *upper = xstrdup(plain);
	_cleanup_free_ char *work = xasprintf("%s/work", h->data_dir);
	bool image, made_run = false;
	int r;

	/* the image is mounted under the run dir, which a stopped VE lacks */
	if (h->cfg.disk.size && mkdir(h->run_dir, 0700) == 0)
		made_run = true;
	r = ve_disk_attach(h, &h->cfg, &upper, &work, err);
	if (r < 0) {
		vert_error_wrap(err, "convert the overlay attributes of VE '%s'", h->name);
	} else {
		image = strcmp(upper, plain) != 0;
		r = convert_tree(upper, to_user, err);
		if (image)
			ve_disk_detach(h);
	}
	if (made_run)
		rmdir(h->run_dir);
	return r;
}

/* The VE's init walks the host's "/" to reach /proc/self/fd/N (every mount
 * it makes goes through a magic link there) as the VE's root, an unprivileged
 * host uid: a "/" that others can't search (0700, as an unpacked tarball's "."
 * can leave it) would fail it with EACCES on its first mount. */
static int root_searchable(vert_error_t *err)
{
	struct stat st;

	if (stat("/", &st) < 0)
		return vert_error_sys(err, "stat '/'");
	if (st.st_mode & S_IXOTH)
		return 0;
	return vert_error_set(err, EACCES, VERT_ERR_INVALID,
			      "the host's '/' is mode %04o: a VE's root, an unprivileged host uid "
			      "in its own user namespace, can't search it; make it 0755 (chmod o+x "
			      "/), or use --userns host (unsafe: the VE's root is the host's)",
			      (unsigned)(st.st_mode & 07777));
}

int ve_userns_host_check(const struct ve_handle *h, vert_error_t *err)
{
	return ve_config_userns_private(h->p, &h->cfg) ? root_searchable(err) : 0;
}

int ve_userns_prepare(struct ve_handle *h, vert_error_t *err)
{
	struct ve_config *c = &h->cfg;
	int r;

	if (!ve_config_userns_private(h->p, c))
		return 0;
	if ((r = root_searchable(err)) < 0)
		return r;
	if (c->idmap_base)
		return ve_idrange_claim(h->p, h->name, c->idmap_base, err);
	/* a config of an older vert (or one written by hand): allocate now */
	if ((r = ve_idrange_alloc(h->p, h->name, &c->idmap_base, err)) < 0)
		return r;
	if ((r = ve_userns_convert_upper(h, true, err)) < 0)
		goto fail;
	if (!c->userns)
		c->userns = xstrdup("private");
	if ((r = ve_config_save(h, c, true, err)) < 0)
		goto fail;
	vert_log(VERT_LOG_NOTICE,
		 "VE '%s' now runs in a user namespace of its own: host uids %u-%u (--userns "
		 "host gives it the host's root back, unsafely)",
		 h->name, c->idmap_base, c->idmap_base + VE_IDMAP_SIZE - 1);
	return 0;
fail:
	ve_idrange_release(h->p, h->name, c->idmap_base);
	c->idmap_base = 0;
	return r;
}

/* The range of the VE whose config is in dir, given back (destroy). */
void ve_userns_release_dir(const struct ve_paths *p, const char *name, const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/config.json", dir);
	struct ve_config c;

	if (p->rootless)
		return;
	if (ve_config_load(path, name, &c, NULL) < 0) {
		/* a create killed before its config: the range it claimed */
		ve_idrange_release_claimed(p, name);
		return;
	}
	ve_idrange_release(p, name, c.idmap_base);
	ve_config_done(&c);
}
