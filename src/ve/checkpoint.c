/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vert checkpoint: a running VE saved through CRIU (libcriu) into one
 * self-contained image directory, so `vert restore --input` can bring it
 * up in a state root, or on a host, that never had it:
 *
 *   image.json     name, template, network identity (IP, MAC), the bind
 *                  mounts CRIU was told are external
 *   template.json  the template's content manifest: a restore refuses a
 *                  template that differs, naming the first difference
 *   config.json    the VE's config
 *   upper/         its overlay upper dir, copied while CRIU has it frozen
 *   criu/          CRIU's images
 *
 * The image is built in a temporary directory beside its destination and
 * renamed into place while CRIU still holds the VE frozen, before CRIU is
 * told to go on and stop it (struct dump_ctx): a failed checkpoint leaves
 * no image and the VE running; a killed one leaves either that, or the VE
 * stopped and its image whole.
 * CRIU's log stays in the VE's runtime dir (dump.log).
 *
 * The root mount is vert's own (the overlay, over idmapped layers for a
 * VE of its own user namespace, which CRIU does not know): CRIU is not
 * asked to dump it, the restore mounts it again and hands it to CRIU as
 * the root.  The network namespace is external too: the restore makes a
 * fresh one with vert's network code, as a start does.  A VE of its own
 * user namespace keeps it (CRIU restores it, with the ids of the image,
 * so the range must be free where it is restored); its network namespace
 * is then CRIU's own, not an external one (ve_criu_own_netns).
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <libgen.h>
#include <sched.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#ifdef HAVE_CRIU
#include <criu/criu.h>
#endif

#include "ve-internal.h"
#include "vert/fs.h"
#include "vert/json.h"
#include "vert/util.h"

bool ve_criu_built(void)
{
#ifdef HAVE_CRIU
	return true;
#else
	return false;
#endif
}

/* ---- the template's manifest ---- */

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

static struct {
	size_t root_len;
	struct json_object *m;
	int r;
} mf;

static int manifest_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *rel = path + mf.root_len;
	uint64_t h = FNV_INIT;
	char kind = '?', buf[65536];

	(void)flag;
	(void)ftw;
	if (!*rel)
		rel = "/";
	if (S_ISREG(st->st_mode)) {
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		ssize_t n;
		kind = 'f';
		if (fd < 0) {
			mf.r = -errno;
			return 1;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			h = fnv1a(h, buf, (size_t)n);
		close(fd);
		if (n < 0) {
			mf.r = -EIO;
			return 1;
		}
	} else if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlink(path, buf, sizeof(buf) - 1);
		kind = 'l';
		if (n > 0)
			h = fnv1a(h, buf, (size_t)n);
	} else if (S_ISDIR(st->st_mode)) {
		kind = 'd';
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		kind = S_ISCHR(st->st_mode) ? 'c' : 'b';
		h = st->st_rdev;
	} else if (S_ISFIFO(st->st_mode)) {
		kind = 'p';
	} else if (S_ISSOCK(st->st_mode)) {
		kind = 's';
	}
	{
		_cleanup_free_ char *v = xasprintf(
			"%c:%o:%u:%u:%016llx", kind, (unsigned)(st->st_mode & 07777),
			(unsigned)st->st_uid, (unsigned)st->st_gid, (unsigned long long)h);
		json_object_object_add(mf.m, rel, json_object_new_string(v));
	}
	return 0;
}

int ve_template_manifest(const char *rootfs, struct json_object **ret, vert_error_t *err)
{
	mf.root_len = strlen(rootfs);
	while (mf.root_len > 1 && rootfs[mf.root_len - 1] == '/')
		mf.root_len--;
	mf.m = json_object_new_object();
	mf.r = 0;
	if (nftw(rootfs, manifest_entry, 64, FTW_PHYS) != 0 || mf.r < 0) {
		int e = mf.r < 0 ? -mf.r : errno;
		json_object_put(mf.m);
		mf.m = NULL;
		return vert_error_set(err, e, VERT_ERR_RUNTIME, "read template '%s'", rootfs);
	}
	*ret = TAKE_PTR(mf.m);
	return 0;
}

char *ve_manifest_diff(struct json_object *want, struct json_object *have)
{
	_cleanup_free_ char *first = NULL;
	size_t n = 0;

	json_object_object_foreach(want, k, v)
	{
		struct json_object *o;
		if (!json_object_object_get_ex(have, k, &o)) {
			if (!first)
				first = xasprintf("'%s' is missing here", k);
			n++;
		} else if (strcmp(json_object_get_string(o), json_object_get_string(v)) != 0) {
			if (!first)
				first = xasprintf("'%s' differs", k);
			n++;
		}
	}
	json_object_object_foreach(have, k2, v2)
	{
		(void)v2;
		if (!json_object_object_get_ex(want, k2, NULL)) {
			if (!first)
				first = xasprintf("'%s' is not in the image's template", k2);
			n++;
		}
	}
	if (!first)
		return NULL;
	if (n > 1)
		return xasprintf("%s (%zu differences)", first, n);
	return TAKE_PTR(first);
}

char *ve_criu_reason(int dirfd, const char *log)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	char *line, *save = NULL;

	if (read_file_at(dirfd, log, 64 << 20, &buf, &len) < 0 || !buf)
		return NULL;
	/* the first error is the cause; later ones say "Dumping FAILED."
	 * Not the exit status of a helper CRIU probes with (criu/util.c:
	 * "exited, status=1"), which it goes on after. */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *e = strstr(line, "Error (");
		char *msg;
		if (!e || str_startswith(e, "Error (criu/util.c"))
			continue;
		msg = strstr(e, "): ");
		msg = msg ? msg + 3 : e;
		while (*msg == ' ')
			msg++;
		return xstrdup(msg);
	}
	return NULL;
}

/* ---- seccomp filters whose listener a restore can't bring back ----
 *
 * CRIU dumps a task's seccomp filters (the classic BPF the kernel keeps
 * for it) but not a filter's SECCOMP_RET_USER_NOTIF listener: restored,
 * vert's sysinfo(2) and sched_getaffinity(2) hand-over has nobody to hand
 * to, and the kernel fails both with ENOSYS (busybox free and nproc,
 * glibc's sysconf(_SC_PHYS_PAGES), Go's GOMAXPROCS in every process the
 * VE starts after).  So before a restore, the filters of the image that
 * are vert's own, byte for byte, get their notify returns turned into
 * allows: the VE's processes get the kernel's own answers, as without
 * views, until it restarts.  Any other filter (the payload's own) stays
 * as it was.
 *
 * seccomp.img: two magics (u32), then entries of a u32 size and a
 * protobuf seccomp_entry { repeated seccomp_filter seccomp_filters = 1; },
 * seccomp_filter { required bytes filter = 1; optional uint32 prev = 2;
 * optional uint32 flags = 3; } (CRIU's images/seccomp.proto).  The
 * filters are patched in place: no length changes. */

#define CRIU_IMG_COMMON_MAGIC 0x54564319u
#define SCMP_RET_USER_NOTIF 0x7fc00000u
#define SCMP_RET_ALLOW 0x7fff0000u
#define BPF_RET_K 0x06 /* BPF_RET | BPF_K */

static bool pb_varint(const uint8_t *b, size_t n, size_t *off, uint64_t *v)
{
	uint64_t r = 0;

	for (unsigned sh = 0; sh < 64 && *off < n; sh += 7) {
		uint8_t c = b[(*off)++];
		r |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}

/* The next field of b[*off..n): its number, wire type and, for a
 * length-delimited one, where its bytes are; *off goes past it. */
static bool pb_field(const uint8_t *b, size_t n, size_t *off, uint64_t *num, size_t *start,
		     size_t *len)
{
	uint64_t key, v;

	if (!pb_varint(b, n, off, &key))
		return false;
	*num = key >> 3;
	*start = *len = 0;
	switch (key & 7) {
	case 0:
		return pb_varint(b, n, off, &v);
	case 1:
		if (n - *off < 8)
			return false;
		*off += 8;
		return true;
	case 2:
		if (!pb_varint(b, n, off, &v) || v > n - *off)
			return false;
		*start = *off;
		*len = (size_t)v;
		*off += (size_t)v;
		return true;
	case 5:
		if (n - *off < 4)
			return false;
		*off += 4;
		return true;
	}
	return false;
}

/* In the filter at f (len bytes), when it is one of progs: every notify
 * return becomes an allow.  The number of returns changed; *unmatched
 * counts a filter with notify returns that is none of progs. */
static unsigned unlisten_filter(uint8_t *f, size_t len, struct sock_fprog *const *progs,
				size_t n_progs, unsigned *unmatched)
{
	unsigned changed = 0, notify = 0;
	size_t k;

	for (k = 0; k < n_progs; k++)
		if (progs[k] && len == (size_t)progs[k]->len * sizeof(struct sock_filter) &&
		    memcmp(f, progs[k]->filter, len) == 0)
			break;
	for (size_t i = 0; i + sizeof(struct sock_filter) <= len; i += sizeof(struct sock_filter)) {
		struct sock_filter insn;
		memcpy(&insn, f + i, sizeof(insn));
		if (insn.code != BPF_RET_K || insn.k != SCMP_RET_USER_NOTIF)
			continue;
		notify++;
		if (k == n_progs)
			continue;
		insn.k = SCMP_RET_ALLOW;
		memcpy(f + i, &insn, sizeof(insn));
		changed++;
	}
	if (notify && k == n_progs)
		(*unmatched)++;
	return changed;
}

int ve_criu_seccomp_unlisten(int imgfd, struct sock_fprog *const *progs, size_t n_progs,
			     unsigned *ret_changed, unsigned *ret_unmatched, vert_error_t *err)
{
	_cleanup_free_ char *buf = NULL;
	unsigned changed = 0, unmatched = 0;
	size_t n = 0, off = 8;
	uint32_t magic = 0;
	struct stat st;
	int r;

	*ret_changed = *ret_unmatched = 0;
	if ((r = read_file_at(imgfd, "seccomp.img", 16 << 20, &buf, &n)) < 0)
		return r == -ENOENT
			       ? 0
			       : vert_error_set(err, -r, VERT_ERR_RUNTIME,
						"read the image's seccomp.img: %s", strerror(-r));
	if (n >= 8)
		memcpy(&magic, buf, 4);
	if (n < 8 || magic != CRIU_IMG_COMMON_MAGIC)
		return vert_error_set(err, EINVAL, VERT_ERR_RUNTIME,
				      "the image's seccomp.img is not a CRIU image");
	while (off < n) {
		uint32_t size;
		size_t end, e;
		if (n - off < 4)
			goto bad;
		memcpy(&size, buf + off, 4);
		off += 4;
		if (size > n - off)
			goto bad;
		end = off + size;
		for (e = off; e < end;) {
			uint64_t num, fnum;
			size_t fs, fl, m, ms, ml;
			if (!pb_field((uint8_t *)buf, end, &e, &num, &fs, &fl))
				goto bad;
			if (num != 1 || !fl)
				continue;
			/* a seccomp_filter: its field 1 is the BPF */
			for (m = fs; m < fs + fl;) {
				if (!pb_field((uint8_t *)buf, fs + fl, &m, &fnum, &ms, &ml))
					goto bad;
				if (fnum == 1 && ml)
					changed += unlisten_filter((uint8_t *)buf + ms, ml, progs,
								   n_progs, &unmatched);
			}
		}
		off = end;
	}
	/* as the file was: a VE of its own user namespace has its images
	 * chowned to its root for CRIU (restore.c, images_chown) */
	if (changed &&
	    (fstatat(imgfd, "seccomp.img", &st, 0) < 0 ||
	     write_file_atomic_at(imgfd, "seccomp.img", buf, n, st.st_mode & 07777) < 0 ||
	     fchownat(imgfd, "seccomp.img", st.st_uid, st.st_gid, 0) < 0 ||
	     fchmodat(imgfd, "seccomp.img", st.st_mode & 07777, 0) < 0))
		return vert_error_sys(err, "write the image's seccomp.img");
	*ret_changed = changed;
	*ret_unmatched = unmatched;
	return 0;
bad:
	return vert_error_set(err, EINVAL, VERT_ERR_RUNTIME,
			      "the image's seccomp.img is not what vert can read");
}

#ifdef HAVE_CRIU

/* ---- checkpoint ---- */

/* The external bind mounts of the init's mount namespace: volumes, the
 * generated /etc files and host device nodes (a user namespace binds
 * them).  Recorded with what the restore needs to find their sources. */
static int external_mounts(const struct ve_handle *h, pid_t pid, struct json_object *list,
			   vert_error_t *err)
{
	static const char *const net_files[] = { "/etc/hosts", "/etc/resolv.conf",
						 "/etc/hostname" };
	_cleanup_free_ char *path = xasprintf("/proc/%d/mountinfo", pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return vert_error_sys(err, "read '%s'", path);
	while (getline(&line, &cap, f) > 0) {
		char root[4096], mp[4096], *sep = strstr(line, " - "), fstype[64];
		const char *kind = NULL;
		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		for (size_t i = 0; i < h->cfg.n_volumes && !kind; i++)
			if (strcmp(h->cfg.volumes[i].dest, mp) == 0)
				kind = "volume";
		for (size_t i = 0; i < ARRAY_SIZE(net_files) && !kind; i++)
			if (strcmp(net_files[i], mp) == 0)
				kind = "net";
		if (!kind && strcmp(fstype, "devtmpfs") == 0)
			kind = "dev";
		/* a VE of its own user namespace: its sysfs is of a network
		 * namespace the restored one can't mount (ve_criu_own_netns) */
		if (!kind && strcmp(fstype, "sysfs") == 0 && strcmp(mp, "/sys") == 0 &&
		    ve_criu_own_netns(h))
			kind = "sysfs";
		/* the VE's cgroup2 and its limit files bound read-only over
		 * themselves: a restore from the host's cgroup namespace would
		 * mount the hierarchy's top there, so both are the new cgroup's,
		 * bound (restore.c) */
		if (!kind && strcmp(fstype, "cgroup2") == 0 &&
		    (strcmp(mp, "/sys/fs/cgroup") == 0 || str_startswith(mp, "/sys/fs/cgroup/")))
			kind = "cgroup";
		/* the VE's views: lxcfs's files bound over its /proc and /sys
		 * files (views.c), whose FUSE filesystem CRIU can't dump; the
		 * restore binds them from its host's lxcfs */
		if (!kind && strcmp(fstype, "fuse.lxcfs") == 0)
			kind = "views";
		if (!kind)
			continue;
		if (criu_add_ext_mount(mp, mp) < 0) {
			free(line);
			return vert_error_set(err, ENOMEM, VERT_ERR_RUNTIME,
					      "tell CRIU about the mount '%s'", mp);
		}
		{
			struct json_object *m = json_object_new_object();
			json_object_object_add(m, "dest", json_object_new_string(mp));
			json_object_object_add(m, "kind", json_object_new_string(kind));
			json_object_object_add(m, "root", json_object_new_string(root));
			json_object_array_add(list, m);
		}
	}
	free(line);
	return 0;
}

/* What the final dump's post-dump notification completes: the upper dir
 * copied, the image's own files written and the image renamed into place,
 * all while CRIU still holds the VE frozen.  Only once that is done does
 * CRIU hear "go on" and stop the VE; a vert killed before that point
 * leaves no answer, and CRIU resumes the VE (criu/cr-dump.c,
 * cr_dump_finish), so there is never a stopped VE without a whole image. */
struct dump_ctx {
	struct ve_handle *h;
	const struct ve_state *s;
	const char *tmp, *image;
	bool is_default; /* DATA/ves/NAME/checkpoint: an old one is moved aside */
	bool no_upper;	 /* ve_checkpoint_opts.no_upper */
	struct json_object *ext, *manifest;
	char *old;	/* the old checkpoint, moved aside */
	bool notified;	/* CRIU said the dump is done (post-dump) */
	bool committed; /* the image is at its place */
	const struct ve_checkpoint_opts *o;
	int r;
	vert_error_t err;
};
static struct dump_ctx *dump_cur;

static int finish_image(struct ve_handle *h, const struct ve_state *s, const char *tmp,
			struct json_object *ext, struct json_object *manifest, vert_error_t *err);

/* The image is made in a directory beside it, .NAME.tmp-XXXXXX, recorded
 * in the run dir (VE_CHECKPOINT_TMP) before it is made: what a killed
 * checkpoint leaves there is removed by the VE's next reconcile. */
static char *tmp_make(const struct ve_handle *h, const char *dir, const char *image,
		      vert_error_t *err)
{
	_cleanup_close_ int rfd = open(h->run_dir, O_DIRECTORY | O_CLOEXEC);
	char id[7];
	char *tmp;

	random_hex(id, 6);
	tmp = xasprintf("%s/."
			"%s" VE_CHECKPOINT_TMP_MID "%s",
			dir, h->name, id);
	if (rfd < 0 || write_file_atomic_at(rfd, VE_CHECKPOINT_TMP, tmp, strlen(tmp), 0600) < 0) {
		vert_error_sys(err, "record '%s' in '%s'", tmp, h->run_dir);
		free(tmp);
		return NULL;
	}
	if (mkdir(tmp, 0700) < 0) {
		vert_error_sys(err, "create a directory beside '%s'", image);
		unlinkat(rfd, VE_CHECKPOINT_TMP, 0);
		free(tmp);
		return NULL;
	}
	return tmp;
}

static void tmp_forget(const struct ve_handle *h)
{
	_cleanup_free_ char *rec = xasprintf("%s/%s", h->run_dir, VE_CHECKPOINT_TMP);
	unlink(rec);
}

/* A VE in its own user namespace keeps its overlay's whiteouts and opaque
 * dirs in user.overlay.* xattrs (fs_idmap_overlay_data), and tmpfs before
 * Linux 6.6 has no user.* xattrs: from an image there, the template's
 * files under every dir the VE had replaced would come back at restore.  Refused before the dump,
 * so the VE runs on untouched. */
static int image_dir_holds_upper(const struct ve_handle *h, const char *dir, vert_error_t *err)
{
	_cleanup_free_ char *parent = xstrdup(dir);

	if (!ve_config_userns_private(h->p, &h->cfg))
		return 0;
	if (lsetxattr(dir, "user.vert.probe", "", 0, 0) == 0) {
		lremovexattr(dir, "user.vert.probe");
		return 0;
	}
	if (errno != EOPNOTSUPP)
		return vert_error_sys(err, "set an extended attribute on '%s'", dir);
	return vert_error_set(err, EOPNOTSUPP, VERT_ERR_INVALID,
			      "'%s' is on a filesystem without user.* extended attributes, where "
			      "the upper dir of VE '%s' (in its own user namespace) marks the "
			      "template dirs it replaced (user.overlay.*); write the image to "
			      "another filesystem (tmpfs has them from Linux 6.6)",
			      dirname(parent), h->name);
}

static int commit_image(struct dump_ctx *c)
{
	_cleanup_free_ char *upper_src = xasprintf("%s/upper", c->h->data_dir);
	_cleanup_free_ char *upper_dst = xasprintf("%s/upper", c->tmp);
	/* --preserve=xattr on top of -a: -a alone drops an xattr the target
	 * can't hold without a word, and the upper dir's opaque dirs and
	 * redirects are xattrs */
	char *argv[] = { (char *)"cp",
			 (char *)"-a",
			 (char *)"--preserve=xattr",
			 (char *)"--reflink=auto",
			 (char *)"--",
			 upper_src,
			 upper_dst,
			 NULL };
	int r;

	if (!c->no_upper && (r = ve_run_tool(c->h->p, argv, &c->err)) < 0)
		return vert_error_wrap(&c->err, "copy the upper dir");
	if ((r = finish_image(c->h, c->s, c->tmp, c->ext, c->manifest, &c->err)) < 0)
		return r;
	if (c->is_default && access(c->image, F_OK) == 0) {
		c->old = xasprintf("%s.old", c->tmp);
		if (rename(c->image, c->old) < 0) {
			r = vert_error_sys(&c->err, "move the old checkpoint '%s' aside", c->image);
			free(TAKE_PTR(c->old));
			return r;
		}
	}
	if (rename(c->tmp, c->image) < 0) {
		r = vert_error_sys(&c->err, "rename '%s' to '%s'", c->tmp, c->image);
		if (c->old && rename(c->old, c->image) == 0)
			free(TAKE_PTR(c->old));
		return r;
	}
	c->committed = true;
	return 0;
}

/* The image back to its temporary name (CRIU failed after all, the VE
 * runs on): no image is left of a failed checkpoint. */
static void uncommit_image(struct dump_ctx *c)
{
	if (!c->committed || rename(c->image, c->tmp) < 0)
		return;
	c->committed = false;
	if (c->old && rename(c->old, c->image) == 0)
		free(TAKE_PTR(c->old));
}

/* CRIU has the VE frozen and dumped: its upper dir is copied now, so the
 * files and the memory are of one moment (a --leave-running VE goes on
 * writing after that), and the image is completed (struct dump_ctx). */
static int dump_notify(char *action, criu_notify_arg_t na)
{
	(void)na;
	if (!dump_cur || strcmp(action, "post-dump") != 0)
		return 0;
	vert_debug_mark("checkpoint: dumped, the VE frozen");
	dump_cur->notified = true;
	dump_cur->r = commit_image(dump_cur);
	vert_debug_mark("checkpoint: image committed");
	if (dump_cur->r >= 0 && dump_cur->o && dump_cur->o->after_commit)
		dump_cur->o->after_commit(dump_cur->o->data, dump_cur->h, dump_cur->image);
	return dump_cur->r < 0 ? -1 : 0;
}

static bool on_cgroup2(const char *path)
{
	struct statfs sf;
	return path && statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static int set_external_netns(pid_t pid, vert_error_t *err)
{
	_cleanup_free_ char *ns = xasprintf("/proc/%d/ns/net", pid);
	_cleanup_free_ char *key = NULL;
	struct stat st, self;

	if (stat(ns, &st) < 0)
		return vert_error_sys(err, "stat '%s'", ns);
	if (stat("/proc/self/ns/net", &self) == 0 && self.st_ino == st.st_ino)
		return 0; /* --net host: the host's, which CRIU leaves alone */
	key = xasprintf("net[%lu]:extRootNetNS", (unsigned long)st.st_ino);
	if (criu_add_external(key) < 0)
		return vert_error_set(err, ENOMEM, VERT_ERR_RUNTIME, "tell CRIU '%s'", key);
	return 0;
}

/*
 * A VE of its own user namespace is dumped and restored with CRIU running
 * in the VE's network namespace, which CRIU then leaves alone, as the
 * host's: CRIU 3.17 restores the user namespace itself, and a process of
 * that new namespace may not join (setns) a network namespace it does not
 * own, as an external one is joined.  So the restored VE inherits the
 * namespace vert made for it, owned by the host's user namespace: its
 * addresses, routes and the host's rules are vert's as at a start, but
 * its root can't reconfigure them (no CAP_NET_ADMIN there), and its /sys
 * is a sysfs of that namespace bound from outside (kind "sysfs").
 */
bool ve_criu_own_netns(const struct ve_handle *h)
{
	return ve_config_userns_private(h->p, &h->cfg) && h->cfg.idmap_base;
}

/* Into the network namespace of pid (or netfd), the current one kept in
 * *ret_self to come back to. */
int ve_criu_enter_netns(pid_t pid, int netfd, int *ret_self, vert_error_t *err)
{
	_cleanup_free_ char *ns = pid > 0 ? xasprintf("/proc/%d/ns/net", pid) : NULL;
	_cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int fd = -EBADF;

	if (self < 0)
		return vert_error_sys(err, "open our network namespace");
	if (ns && (fd = open(ns, O_RDONLY | O_CLOEXEC)) < 0)
		return vert_error_sys(err, "open '%s'", ns);
	if (setns(ns ? fd : netfd, CLONE_NEWNET) < 0)
		return vert_error_sys(err, "enter the VE's network namespace");
	*ret_self = TAKE_FD(self);
	return 0;
}

static struct json_object *image_meta(const struct ve_handle *h, pid_t pid, struct json_object *ext)
{
	struct json_object *o = json_object_new_object();
	_cleanup_free_ char *macp = xasprintf("/proc/%d/root/sys/class/net/eth0/address", pid);
	_cleanup_free_ char *mac = NULL;
	uint32_t ip = 0;
	size_t n = 0;

	json_object_object_add(o, "format", json_object_new_int(VE_IMAGE_FORMAT));
	json_object_object_add(o, "name", json_object_new_string(h->name));
	json_object_object_add(o, "template", json_object_new_string(h->cfg.template_name));
	/* the state root it was taken in: there, it may replace the VE */
	json_object_object_add(o, "data_root", json_object_new_string(h->p->data));
	json_object_object_add(o, "created_at", json_object_new_int64((int64_t)time(NULL)));
	if (vnet_ipam_lookup(h->p->data, h->name, &ip) == 0 && ip) {
		char b[16];
		vnet_format_ipv4(ip, b);
		json_object_object_add(o, "ip", json_object_new_string(b));
	}
	if (read_file_at(AT_FDCWD, macp, 64, &mac, &n) == 0 && mac) {
		mac[strcspn(mac, "\n")] = '\0';
		json_object_object_add(o, "mac", json_object_new_string(mac));
	}
	json_object_object_add(o, "external_mounts", json_object_get(ext));
	return o;
}

static int write_json(int dirfd, const char *file, struct json_object *o, vert_error_t *err)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	int r = write_file_atomic_at(dirfd, file, s, strlen(s), 0600);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "write '%s'", file);
	return 0;
}

/* Bytes of memory pages in a dump's images (pages-N.img). */
uint64_t ve_criu_pages_bytes(const char *dir)
{
	_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
	uint64_t n = 0;
	struct dirent *de;
	DIR *d;

	if (dfd < 0 || !(d = fdopendir(TAKE_FD(dfd))))
		return 0;
	while ((de = readdir(d))) {
		struct stat st;
		if (str_startswith(de->d_name, "pages-") &&
		    fstatat(dirfd(d), de->d_name, &st, 0) == 0)
			n += (uint64_t)st.st_size;
	}
	closedir(d);
	return n;
}

int ve_criu_opts(int imgfd, int workfd, const char *log, int cg_mode, vert_error_t *err)
{
	if (criu_init_opts() < 0)
		return vert_error_set(err, 0, VERT_ERR_RUNTIME, "initialize libcriu");
	criu_set_images_dir_fd(imgfd);
	criu_set_work_dir_fd(workfd);
	criu_set_log_file(log);
	criu_set_log_level(4);
	criu_set_tcp_established(true);
	/* nftables, not CRIU's default iptables (not installed, or legacy) */
	if (criu_set_network_lock(CRIU_NETWORK_LOCK_NFTABLES) < 0)
		return vert_error_set(err, ENOMEM, VERT_ERR_RUNTIME, "set CRIU's network lock");
	criu_set_file_locks(true);
	criu_set_ext_unix_sk(false);
	criu_set_shell_job(false);
	/* the console: vert holds the pty's master, the VE only the slave */
	criu_set_orphan_pts_master(true);
	criu_set_manage_cgroups(true);
	criu_set_manage_cgroups_mode((enum criu_cg_mode)cg_mode);
	return 0;
}

/* One try of dump_into. */
static int dump_once(struct ve_handle *h, const struct ve_state *s, const char *tmp,
		     const char *sub, const char *parent, bool leave, struct json_object *ext,
		     struct dump_ctx *ctx, uint64_t *ret_bytes, vert_error_t *err)
{
	_cleanup_free_ char *criu_dir = xasprintf("%s/%s", tmp, sub);
	_cleanup_close_ int imgfd = -EBADF, workfd = -EBADF, selfnet = -EBADF;
	bool pre = !ctx;
	int r;

	if (mkdir(criu_dir, 0700) < 0)
		return vert_error_sys(err, "create '%s'", criu_dir);
	imgfd = open(criu_dir, O_DIRECTORY | O_CLOEXEC);
	workfd = open(h->run_dir, O_DIRECTORY | O_CLOEXEC);
	if (imgfd < 0 || workfd < 0)
		return vert_error_sys(err, "open '%s'", imgfd < 0 ? criu_dir : h->run_dir);
	if ((r = ve_criu_opts(imgfd, workfd, pre ? "pre-dump.log" : "dump.log", CRIU_CG_MODE_SOFT,
			      err)) < 0)
		return r;
	criu_set_pid(s->pid);
	criu_set_leave_running(leave);
	if (pre || parent)
		criu_set_track_mem(true);
	if (parent && criu_set_parent_images(parent) < 0)
		return vert_error_set(err, ENOMEM, VERT_ERR_RUNTIME, "tell CRIU the parent images");
	/* the pages dumped again are holes in the parent's images (sent
	 * already): the stage holds about the VE's memory, not every copy of
	 * it the pre-copy made */
	if (parent)
		criu_set_auto_dedup(true);
	if (on_cgroup2(s->cgroup) && criu_set_freeze_cgroup(s->cgroup) < 0)
		return vert_error_set(err, ENOMEM, VERT_ERR_RUNTIME, "tell CRIU the cgroup");
	if ((!ve_criu_own_netns(h) && (r = set_external_netns(s->pid, err)) < 0) ||
	    (r = external_mounts(h, s->pid, ext, err)) < 0)
		return r;
	if (ve_criu_own_netns(h) && (r = ve_criu_enter_netns(s->pid, -EBADF, &selfnet, err)) < 0)
		return r;
	if (pre) {
		r = criu_pre_dump();
	} else {
		criu_set_notify_cb(dump_notify);
		dump_cur = ctx;
		r = criu_dump();
		dump_cur = NULL;
		criu_set_notify_cb(NULL);
	}
	if (selfnet >= 0 && setns(selfnet, CLONE_NEWNET) < 0)
		vert_log(VERT_LOG_WARNING, "back to the host's network namespace: %s",
			 strerror(errno));
	if (ctx && ctx->r < 0) {
		vert_error_move(err, &ctx->err);
		return vert_error_ret(err);
	}
	if (r < 0 && ctx)
		uncommit_image(ctx);
	if (r < 0) {
		const char *log = pre ? "pre-dump.log" : "dump.log";
		_cleanup_free_ char *why = ve_criu_reason(workfd, log);
		return vert_error_set(err, 0, VERT_ERR_RUNTIME, "criu: %s (log: %s/%s)",
				      why ? why : "dump failed", h->run_dir, log);
	}
	if (ctx && !ctx->committed)
		return vert_error_set(err, EIO, VERT_ERR_RUNTIME,
				      "criu: dumped without notifying the end of the dump");
	if (ret_bytes)
		*ret_bytes = ve_criu_pages_bytes(criu_dir);
	return 0;
}

/* Into tmp/sub: a pre-dump (memory only, the VE runs on, its pages
 * tracked from now; ctx NULL) or the final dump, which ctx completes into
 * the image; parent: the previous pre-dump, relative to tmp/sub
 * ("../pre-1"), whose unchanged pages are not dumped again; what: the
 * dump as a warning names it ("pre-dump 2").
 *
 * A dump that failed before it was made is taken again while *retries
 * (NULL: none) lasts: CRIU can't seize a process waiting for its vfork
 * child, so a freeze that caught the child before its exec times out
 * ("Timeout reached") and CRIU resumes the VE.  "Before it was made": the
 * VE lives on and, for a final dump, CRIU never notified its end (after
 * that the image may be in place and the VE killed). */
static int dump_into(struct ve_handle *h, const struct ve_state *s, const char *tmp,
		     const char *sub, const char *parent, const char *what, bool leave,
		     struct json_object *ext, struct dump_ctx *ctx, int *retries,
		     uint64_t *ret_bytes, vert_error_t *err)
{
	int r = dump_once(h, s, tmp, sub, parent, leave, ext, ctx, ret_bytes, err);

	while (r < 0 && retries && *retries > 0 && !(ctx && ctx->notified) &&
	       proc_alive(s->pid, s->start_time)) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", tmp, sub);
		if (ve_remove_tree(h->p, dir, NULL) < 0)
			break;
		(*retries)--;
		vert_log(VERT_LOG_WARNING, "VE '%s': %s failed (%s); once more", h->name, what,
			 err->msg);
		vert_error_clear(err);
		/* the external mounts are found again */
		json_object_array_del_idx(ext, 0, json_object_array_length(ext));
		r = dump_once(h, s, tmp, sub, parent, leave, ext, ctx, ret_bytes, err);
	}
	return r;
}

int ve_criu_pre_dump(struct ve_handle *h, const struct ve_state *s, const char *tmp,
		     const char *sub, const char *parent, const char *what, int *retries,
		     uint64_t *ret_bytes, vert_error_t *err)
{
	struct json_object *ext = json_object_new_array();
	int r = dump_into(h, s, tmp, sub, parent, what, true, ext, NULL, retries, ret_bytes, err);
	json_object_put(ext);
	return r;
}

static int finish_image(struct ve_handle *h, const struct ve_state *s, const char *tmp,
			struct json_object *ext, struct json_object *manifest, vert_error_t *err)
{
	_cleanup_close_ int dfd = open(tmp, O_DIRECTORY | O_CLOEXEC);
	struct json_object *meta;
	int r;

	if (dfd < 0)
		return vert_error_sys(err, "open '%s'", tmp);
	if (fs_copy_file(h->config_path, dfd, "config.json", 0600) < 0)
		return vert_error_sys(err, "copy '%s'", h->config_path);
	if ((r = write_json(dfd, "template.json", manifest, err)) < 0)
		return r;
	meta = image_meta(h, s->pid, ext);
	r = write_json(dfd, "image.json", meta, err);
	json_object_put(meta);
	return r;
}

static int checkpoint_locked(struct ve_handle *h, const struct ve_checkpoint_opts *o,
			     const char *image, vert_error_t *err)
{
	_cleanup_free_ char *copy = xstrdup(image), *lower = NULL, *tmp = NULL;
	_cleanup_free_ char *parent = NULL;
	_cleanup_free_ char *marker = xasprintf("%s/stopping", h->run_dir);
	struct json_object *ext = NULL, *manifest = NULL;
	struct dump_ctx ctx = {
		.h = h, .image = image, .is_default = !o->output, .no_upper = o->no_upper, .o = o
	};
	struct ve_state s = { 0 };
	int r, fd, retries;

	if ((r = ve_handle_config(h, err)) < 0)
		return r;
	if (!ve_reconcile_locked(h) || ve_state_read(h->p, h->name, &s, NULL) < 0 ||
	    !proc_alive(s.pid, s.start_time)) {
		ve_state_done(&s);
		return vert_error_set(err, ESRCH, VERT_ERR_NOTRUNNING, "VE '%s' is not running",
				      h->name);
	}
	if (!ctx.is_default && access(image, F_OK) == 0) {
		r = vert_error_set(err, EEXIST, VERT_ERR_EXISTS, "'%s' exists", image);
		goto out;
	}
	if ((r = ve_template_rootfs(h->p, h->cfg.template_name, &lower, err)) < 0 ||
	    (r = ve_template_manifest(lower, &manifest, err)) < 0)
		goto out;
	if (!(tmp = tmp_make(h, dirname(copy), image, err))) {
		r = -EIO;
		goto out;
	}
	if (!o->no_upper && (r = image_dir_holds_upper(h, tmp, err)) < 0)
		goto out;
	ext = json_object_new_array();
	if (o->before_dump && (r = o->before_dump(o->data, h, &s, tmp, &parent, err)) < 0)
		goto out;
	/* the init's death after the dump is a stop, not a crash or reboot;
	 * only now, so a vert killed in the pre-copy (the VE runs on) leaves
	 * no marker (a reconcile of a running VE removes one anyway) */
	if (!o->leave_running && (fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	ctx.s = &s;
	ctx.tmp = tmp;
	ctx.ext = ext;
	ctx.manifest = manifest;
	retries = o->retry_dump ? 1 : 0;
	r = dump_into(h, &s, tmp, "criu", parent, "the final dump", o->leave_running, ext, &ctx,
		      &retries, NULL, err);
	if (r < 0) {
		unlink(marker);
		goto out;
	}
	free(TAKE_PTR(tmp)); /* it is the image now */
	vert_debug_mark("checkpoint: criu done");
	if (!o->leave_running && !o->no_stop_wait) {
		vert_error_t e = VERT_ERROR_INIT;
		/* CRIU killed the VE: wait for its supervisor's cleanup */
		if (ve_stop_locked(h, 0, &e) < 0 && e.kind != VERT_ERR_NOTRUNNING)
			vert_log(VERT_LOG_WARNING, "VE '%s': %s", h->name, e.msg);
		vert_error_clear(&e);
		vert_debug_mark("checkpoint: the VE's supervisor finished");
	}
	r = 0;
out:
	if (tmp)
		ve_remove_tree(h->p, tmp, NULL);
	tmp_forget(h);
	if (ctx.old)
		ve_remove_tree(h->p, ctx.old, NULL);
	free(ctx.old);
	vert_error_clear(&ctx.err);
	json_object_put(ext);
	json_object_put(manifest);
	ve_state_done(&s);
	return r;
}

int ve_checkpoint_settle(struct ve_handle *h)
{
	vert_error_t e = VERT_ERROR_INIT;
	/* held since the checkpoint (taken again, waiting, if not) */
	int r = ve_handle_lock(h, true, &e);

	if (r == 0 && ve_stop_locked(h, 0, &e) < 0 && e.kind != VERT_ERR_NOTRUNNING)
		r = -1;
	if (r < 0)
		vert_log(VERT_LOG_WARNING, "VE '%s': %s", h->name, e.msg);
	vert_error_clear(&e);
	ve_handle_unlock(h, VE_UNLOCK_AUTO);
	vert_debug_mark("checkpoint: the VE's supervisor finished");
	return r;
}

int ve_checkpoint(struct ve_handle *h, const struct ve_checkpoint_opts *o, char **ret_image,
		  vert_error_t *err)
{
	_cleanup_free_ char *image = NULL;
	int r;

	if (h->p->rootless)
		return vert_error_set(err, EPERM, VERT_ERR_INVALID,
				      "checkpoint VE '%s': CRIU needs real root", h->name);
	if (o->output) {
		/* an absolute path: the image may be read from anywhere */
		_cleanup_free_ char *d = xstrdup(o->output), *b = xstrdup(o->output);
		char *abs = realpath(dirname(d), NULL);
		if (!abs)
			return vert_error_sys(err, "checkpoint VE '%s': '%s'", h->name, o->output);
		image = xasprintf("%s/%s", abs, basename(b));
		free(abs);
	} else {
		image = xasprintf("%s/checkpoint", h->data_dir);
	}
	if ((r = ve_handle_lock(h, false, err)) < 0)
		return r;
	r = checkpoint_locked(h, o, image, err);
	/* no_stop_wait: kept until ve_checkpoint_settle, so that no other
	 * command reconciles the VE (a second cleanup, its exit "lost")
	 * while its supervisor cleans up */
	if (r < 0 || !o->no_stop_wait || o->leave_running)
		ve_handle_unlock(h, VE_UNLOCK_AUTO);
	if (r < 0)
		return vert_error_wrap(err, "checkpoint VE '%s'", h->name);
	if (ret_image)
		*ret_image = TAKE_PTR(image);
	return 0;
}

#else

int ve_checkpoint(struct ve_handle *h, const struct ve_checkpoint_opts *o, char **ret_image,
		  vert_error_t *err)
{
	(void)o;
	(void)ret_image;
	return vert_error_set(err, ENOTSUP, VERT_ERR_INVALID,
			      "checkpoint VE '%s': this vert was built without CRIU (libcriu)",
			      h->name);
}

#endif
