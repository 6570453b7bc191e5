/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OS templates: read-only root filesystems that VEs share through
 * overlayfs.  data/templates/NAME/{rootfs/,template.json}.
 *
 * Every template is built in a hidden staging directory and renamed into
 * place at the end, so a killed `vert template create` never leaves a
 * half-made template behind under its real name.
 */
#include <dirent.h>
#include <elf.h>
#include <ftw.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "ve-internal.h"
#include "vert/fs.h"
#include "vert/json.h"
#include "vert/util.h"

int ve_template_rootfs(const struct ve_paths *p, const char *name, char **ret, vert_error_t *err)
{
	_cleanup_free_ char *rootfs = NULL;
	struct stat st;
	int r;

	if ((r = ve_name_check("template", name, err)) < 0)
		return r;
	rootfs = ve_template_path(p, name, "rootfs");
	if (stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
		return vert_error_set(err, ENOENT, VERT_ERR_NOTFOUND,
				      "template '%s' not found (see 'vert template ls')", name);
	*ret = TAKE_PTR(rootfs);
	return 0;
}

/* Is the ELF file at path statically linked (no PT_INTERP)? */
static int elf_is_static(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;

	if (fd < 0)
		return -errno;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return -ENOEXEC;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return -ENOEXEC;
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph),
			  (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) != sizeof(ph))
			return -ENOEXEC;
		if (ph.p_type == PT_INTERP)
			return 0;
	}
	return 1;
}

static char *find_busybox(void)
{
	const char *path = getenv("PATH");
	const char *fixed[] = { "/bin/busybox", "/usr/bin/busybox", "/sbin/busybox" };

	if (path) {
		_cleanup_free_ char *copy = xstrdup(path);
		char *save = NULL;
		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			char *c = xasprintf("%s/busybox", d);
			if (access(c, X_OK) == 0)
				return c;
			free(c);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (access(fixed[i], X_OK) == 0)
			return xstrdup(fixed[i]);
	return NULL;
}

static int write_text(int dirfd, const char *name, const char *text, mode_t mode, vert_error_t *err)
{
	int r = write_file_atomic_at(dirfd, name, text, strlen(text), mode);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "write template file '%s'", name);
	return 0;
}

/* The applet list comes from the binary itself (`busybox --list-full`),
 * so the template matches whatever applets this busybox was built with. */
static int install_applets(const struct ve_paths *p, const char *bb, int rootfd, vert_error_t *err)
{
	_cleanup_close_ int lfd = memfd_create("vert-applets", MFD_CLOEXEC);
	_cleanup_free_ char *list = NULL;
	char *argv[] = { (char *)bb, (char *)"--list-full", NULL };
	pid_t pid;
	int status;
	ssize_t n;
	size_t cap = 0, len = 0;

	(void)p;
	if (lfd < 0)
		return vert_error_sys(err, "memfd_create");
	pid = fork();
	if (pid < 0)
		return vert_error_sys(err, "fork");
	if (pid == 0) {
		dup2(lfd, STDOUT_FILENO);
		execv(bb, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return vert_error_sys(err, "wait for busybox");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return vert_error_set(err, EIO, VERT_ERR_RUNTIME, "'%s --list-full' failed", bb);
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 16384;
			list = xrealloc(list, cap + 1);
		}
		n = pread(lfd, list + len, cap - len, (off_t)len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (!list)
		return vert_error_set(err, EIO, VERT_ERR_RUNTIME, "busybox listed no applets");
	list[len] = '\0';

	for (char *save = NULL, *l = strtok_r(list, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		_cleanup_free_ char *dir = NULL;
		_cleanup_close_ int dfd = -EBADF;
		char *slash = strrchr(l, '/');
		const char *base = slash ? slash + 1 : l;

		if (!*base || strcmp(base, "busybox") == 0 || strcmp(base, "linuxrc") == 0 ||
		    strstr(l, ".."))
			continue;
		dir = slash ? xstrndup(l, (size_t)(slash - l)) : xstrdup("bin");
		dfd = fs_mkdir_in_root(rootfd, dir, 0755);
		if (dfd < 0)
			return vert_error_set(err, -dfd, VERT_ERR_RUNTIME, "create '/%s'", dir);
		if (symlinkat("/bin/busybox", dfd, base) < 0 && errno != EEXIST)
			return vert_error_sys(err, "link applet '%s'", l);
	}
	return 0;
}

static const char *const bb_dirs[] = {
	"bin",	   "sbin",    "usr",	 "usr/bin", "usr/sbin", "etc",	"etc/init.d",
	"dev",	   "proc",    "sys",	 "tmp",	    "root",	"home", "var",
	"var/log", "var/tmp", "var/run", "run",	    "mnt",	"opt",	"srv",
};

static int populate_busybox(const struct ve_paths *p, const char *bb, const char *rootfs,
			    vert_error_t *err)
{
	_cleanup_close_ int rootfd = -EBADF, bindir = -EBADF, etc = -EBADF, initd = -EBADF;
	int r;

	rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return vert_error_sys(err, "open '%s'", rootfs);
	for (size_t i = 0; i < ARRAY_SIZE(bb_dirs); i++) {
		if (mkdirat(rootfd, bb_dirs[i], 0755) < 0 && errno != EEXIST)
			return vert_error_sys(err, "create '/%s'", bb_dirs[i]);
	}
	if (fchmodat(rootfd, "tmp", 01777, 0) < 0 || fchmodat(rootfd, "var/tmp", 01777, 0) < 0 ||
	    fchmodat(rootfd, "root", 0700, 0) < 0)
		return vert_error_sys(err, "set template directory modes");

	bindir = openat(rootfd, "bin", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (bindir < 0)
		return vert_error_sys(err, "open /bin");
	r = fs_copy_file(bb, bindir, "busybox", 0755);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "copy '%s' into the template", bb);
	if ((r = install_applets(p, bb, rootfd, err)) < 0)
		return r;

	etc = openat(rootfd, "etc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (etc < 0)
		return vert_error_sys(err, "open /etc");
	if ((r = write_text(etc, "passwd",
			    "root:x:0:0:root:/root:/bin/sh\n"
			    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
			    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
			    0644, err)) < 0 ||
	    (r = write_text(etc, "group",
			    "root:x:0:\ndaemon:x:1:\ntty:x:5:\nusers:x:100:\nnogroup:x:65534:\n",
			    0644, err)) < 0 ||
	    (r = write_text(etc, "shadow", "root:*:19000:0:99999:7:::\n", 0600, err)) < 0 ||
	    (r = write_text(etc, "hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n",
			    0644, err)) < 0 ||
	    (r = write_text(etc, "hostname", "localhost\n", 0644, err)) < 0 ||
	    (r = write_text(etc, "resolv.conf", "", 0644, err)) < 0 ||
	    (r = write_text(etc, "shells", "/bin/sh\n/bin/ash\n", 0644, err)) < 0 ||
	    (r = write_text(etc, "os-release",
			    "NAME=\"vert busybox\"\nID=busybox\nPRETTY_NAME=\"vert busybox "
			    "template\"\n",
			    0644, err)) < 0 ||
	    /* busybox init: no getty on a console nobody watches; init stays
	     * as PID 1 reaping orphans until it is told to stop */
	    (r = write_text(etc, "inittab",
			    "::sysinit:/etc/init.d/rcS\n"
			    "::ctrlaltdel:/sbin/reboot\n"
			    "::shutdown:/bin/sync\n",
			    0644, err)) < 0)
		return r;
	initd = openat(etc, "init.d", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (initd < 0)
		return vert_error_sys(err, "open /etc/init.d");
	if ((r = write_text(initd, "rcS",
			    "#!/bin/sh\n"
			    "# vert busybox template: run the VE's own start scripts\n"
			    "for s in /etc/init.d/S??*; do [ -x \"$s\" ] && \"$s\" start; done\n"
			    "exit 0\n",
			    0755, err)) < 0)
		return r;
	return 0;
}

static uint64_t tree_size(int dfd, int depth)
{
	DIR *d;
	struct dirent *de;
	uint64_t sum = 0;

	if (depth > 256 || !(d = fdopendir(dfd))) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d))) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int c = openat(dirfd(d), de->d_name,
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (c >= 0)
				sum += tree_size(c, depth + 1);
		} else if (S_ISREG(st.st_mode) && st.st_nlink <= 1) {
			sum += (uint64_t)st.st_size;
		} else if (S_ISREG(st.st_mode)) {
			sum += (uint64_t)st.st_size / st.st_nlink;
		}
	}
	closedir(d);
	return sum;
}

static int write_meta(const char *dir, const char *name, const char *source, const char *rootfs,
		      vert_error_t *err)
{
	struct json_object *o = json_object_new_object();
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *s;
	int r;

	json_object_object_add(o, "schema", json_object_new_int(1));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_object_add(o, "created", json_object_new_int64((int64_t)time(NULL)));
	json_object_object_add(o, "size",
			       json_object_new_int64(rfd >= 0 ? (int64_t)tree_size(rfd, 0) : 0));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	r = dfd < 0 ? -errno : write_file_atomic_at(dfd, "template.json", s, strlen(s), 0644);
	json_object_put(o);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "write template metadata");
	return 0;
}

/* Device nodes found in an imported tree (nftw has no user pointer). */
static struct {
	size_t n;
	char *example;
	int err;
} scrub;

static int scrub_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)f;
	if (type == FTW_DNR || type == FTW_NS) {
		scrub.err = EACCES;
		return 1;
	}
	if (!S_ISBLK(st->st_mode) && !S_ISCHR(st->st_mode))
		return 0;
	if (unlink(path) < 0) {
		scrub.err = errno;
		return 1;
	}
	if (!scrub.example)
		scrub.example = xstrdup(path);
	scrub.n++;
	return 0;
}

/* A template never gives a VE a device: block and character device nodes
 * of an imported tree are dropped, with one notice.  Not refused: distro
 * tarballs and copied root directories carry /dev/null, /dev/console and
 * the like, and every VE gets its own /dev (a tmpfs with the few nodes it
 * may use) anyway; Incus and LXC drop them the same way when they unpack
 * an image.  FIFOs and sockets stay: they name no host object (a socket
 * file nobody is bound to refuses connections; each VE's overlay has its
 * own pipe for a FIFO).  Rootless: a user namespace can't make device
 * nodes, so there are none to find. */
static int scrub_devices(const struct ve_paths *p, const char *name, const char *rootfs,
			 vert_error_t *err)
{
	_cleanup_free_ char *example = NULL;
	size_t n, skip = strlen(rootfs);
	int r, e;

	if (p->rootless)
		return 0;
	scrub.n = 0;
	scrub.example = NULL;
	scrub.err = 0;
	r = nftw(rootfs, scrub_one, 16, FTW_PHYS | FTW_MOUNT);
	example = scrub.example;
	n = scrub.n;
	e = scrub.err ? scrub.err : errno;
	scrub.example = NULL;
	if (r != 0)
		/* a tree we can't walk through may hide a device: refuse */
		return vert_error_set(err, e ? e : EIO, VERT_ERR_RUNTIME,
				      "check the imported tree for device nodes");
	if (n > 0)
		vert_log(VERT_LOG_NOTICE,
			 "template '%s': dropped %zu device node%s (e.g. '%s'): a VE never gets a "
			 "device from its template",
			 name, n, n == 1 ? "" : "s", example + skip);
	return 0;
}

/* Common frame: lock, check the name is free, build in staging, rename. */
typedef int (*populate_fn)(const struct ve_paths *p, const char *arg, const char *rootfs,
			   vert_error_t *err);

static int build_locked(const struct ve_paths *p, const char *name, const char *source,
			populate_fn fn, const char *arg, vert_error_t *err)
{
	_cleanup_free_ char *final = NULL, *entry = NULL, *staging = NULL, *rootfs = NULL;
	char rnd[9];
	struct stat st;
	int r;

	final = ve_template_path(p, name, NULL);
	if (lstat(final, &st) == 0)
		return vert_error_set(err, EEXIST, VERT_ERR_EXISTS, "template '%s' already exists",
				      name);
	random_hex(rnd, 8);
	entry = xasprintf(".staging-%s-%s", name, rnd);
	staging = ve_template_path(p, entry, NULL);
	rootfs = xasprintf("%s/rootfs", staging);
	if (mkdir(staging, 0755) < 0 || mkdir(rootfs, 0755) < 0) {
		r = vert_error_sys(err, "create '%s'", staging);
		goto fail;
	}
	if ((r = fn(p, arg, rootfs, err)) < 0 || (r = scrub_devices(p, name, rootfs, err)) < 0 ||
	    (r = write_meta(staging, name, source, rootfs, err)) < 0)
		goto fail;
	if (rename(staging, final) < 0) {
		r = vert_error_sys(err, "install template '%s'", name);
		goto fail;
	}
	return 0;
fail : {
	vert_error_t e2 = VERT_ERROR_INIT;
	ve_remove_tree(p, staging, &e2);
	vert_error_clear(&e2);
}
	return r;
}

static int template_build(const struct ve_paths *p, const char *name, const char *source,
			  populate_fn fn, const char *arg, vert_error_t *err)
{
	/* no template made: no lock file */
	_cleanup_ve_handle_ struct ve_handle *t = NULL;
	int r;

	if ((r = ve_template_open(p, name, VE_OPEN_LOCK, &t, err)) < 0)
		return r;
	return build_locked(p, name, source, fn, arg, err);
}

static int populate_bb(const struct ve_paths *p, const char *bb, const char *rootfs,
		       vert_error_t *err)
{
	return populate_busybox(p, bb, rootfs, err);
}

int ve_template_create_busybox(const struct ve_paths *p, const char *name, const char *bb_path,
			       vert_error_t *err)
{
	_cleanup_free_ char *bb = bb_path ? xstrdup(bb_path) : find_busybox();
	int st;

	if (!bb)
		return vert_error_set(err, ENOENT, VERT_ERR_NOTFOUND,
				      "busybox not found: install the 'busybox-static' package or "
				      "pass --busybox PATH");
	st = elf_is_static(bb);
	if (st < 0)
		return vert_error_set(err, -st, VERT_ERR_INVALID, "'%s' is not a usable busybox",
				      bb);
	if (st == 0)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "'%s' is dynamically linked; a template needs a static "
				      "busybox (install 'busybox-static')",
				      bb);
	return template_build(p, name, "busybox", populate_bb, bb, err);
}

static int populate_import(const struct ve_paths *p, const char *src, const char *rootfs,
			   vert_error_t *err)
{
	struct stat st;
	int r;

	if (stat(src, &st) < 0)
		return vert_error_sys(err, "import source '%s'", src);
	if (S_ISDIR(st.st_mode)) {
		_cleanup_free_ char *from = xasprintf("%s/.", src);
		char *argv[] = { (char *)"cp", (char *)"-a",   (char *)"--reflink=auto",
				 from,	       (char *)rootfs, NULL };
		r = ve_run_tool(p, argv, err);
	} else {
		/* GNU tar detects gzip/xz/zstd/bzip2 itself; leading "/" and
		 * "../" are stripped from member names by default */
		char *argv[] = { (char *)"tar", (char *)"-xpf", (char *)src, (char *)"-C",
				 (char *)rootfs, (char *)"--numeric-owner", (char *)"--xattrs",
				 (char *)"--xattrs-include=*",
				 /* device nodes can't be made in a user namespace, and
				  * /dev is a tmpfs in every VE anyway */
				 p->rootless ? (char *)"--exclude=./dev/*" : NULL,
				 (char *)"--exclude=dev/*", NULL };
		if (!p->rootless)
			argv[8] = NULL;
		r = ve_run_tool(p, argv, err);
	}
	if (r < 0)
		return vert_error_wrap(err, "import '%s'", src);
	return 0;
}

int ve_template_import(const struct ve_paths *p, const char *name, const char *src,
		       vert_error_t *err)
{
	_cleanup_free_ char *abs = NULL, *source = NULL;
	struct stat st;

	if (stat(src, &st) < 0) {
		int e = errno;
		/* a "not found" error carries no errno text: say why here */
		return vert_error_set(err, e, e == ENOENT ? VERT_ERR_NOTFOUND : VERT_ERR_INVALID,
				      "import source '%s': %s", src, strerror(e));
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "import source '%s' must be a directory or a tar archive",
				      src);
	abs = realpath(src, NULL);
	if (!abs)
		return vert_error_sys(err, "resolve '%s'", src);
	source = xasprintf("import:%s", abs);
	return template_build(p, name, source, populate_import, abs, err);
}

/* Leftovers of a killed create/import/rm: ".trash-*" always (the rename
 * committed the removal), ".staging-NAME-*" when nobody holds NAME's lock. */
static void template_gc(const struct ve_paths *p, const char *dir, const char *entry)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, entry);
	vert_error_t e = VERT_ERROR_INIT;

	if (str_startswith(entry, ".staging-")) {
		_cleanup_free_ char *name = xstrdup(entry + strlen(".staging-"));
		_cleanup_ve_handle_ struct ve_handle *t = NULL;
		char *dash = strrchr(name, '-');
		if (!dash)
			return;
		*dash = '\0';
		if (ve_template_open(p, name, VE_OPEN_LOCK, &t, &e) < 0) {
			vert_error_clear(&e);
			return;
		}
		ve_remove_tree(p, path, &e);
	} else if (str_startswith(entry, ".trash-")) {
		ve_remove_tree(p, path, &e);
	}
	vert_error_clear(&e);
}

static const struct vjson_field meta_table[] = {
	{ .name = "schema", .type = VJSON_INT, .cb = vjson_ignore },
	{ .name = "name", .type = VJSON_STRING, .cb = vjson_ignore },
	VJSON_FIELD("source", VJSON_STRING, vjson_string, struct ve_template_info, source, 0),
	VJSON_FIELD("created", VJSON_INT, vjson_int64, struct ve_template_info, created, 0),
	VJSON_FIELD("size", VJSON_INT, vjson_uint64, struct ve_template_info, size, 0),
	{},
};

int ve_template_meta_parse(struct json_object *o, const char *where, struct ve_template_info *t,
			   vert_error_t *err)
{
	struct ve_template_info in = { 0 };
	int r;

	if ((r = vjson_dispatch(o, meta_table, 0, &in, where, err)) < 0) {
		free(in.source);
		return r;
	}
	free(t->source);
	t->source = in.source;
	t->created = in.created;
	t->size = in.size;
	return 0;
}

static int ve_template_meta_read(const char *path, struct ve_template_info *t, vert_error_t *err)
{
	_cleanup_json_ struct json_object *o = NULL;
	int r;

	if ((r = vjson_parse_file(AT_FDCWD, path, 1 << 20, &o, err)) < 0)
		return r;
	return ve_template_meta_parse(o, path, t, err);
}

int ve_template_list(const struct ve_paths *p, struct ve_template_info **ret, size_t *n_ret,
		     vert_error_t *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/templates", p->data);
	struct ve_template_info *v = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return vert_error_sys(err, "read '%s'", dir);
	while ((de = readdir(d))) {
		_cleanup_free_ char *meta = NULL;
		vert_error_t e = VERT_ERROR_INIT;
		struct ve_template_info t = { 0 };
		int r;

		if (de->d_name[0] == '.') {
			template_gc(p, dir, de->d_name);
			continue;
		}
		if (!ve_name_valid(de->d_name))
			continue;
		meta = xasprintf("%s/%s/template.json", dir, de->d_name);
		t.name = xstrdup(de->d_name);
		r = ve_template_meta_read(meta, &t, &e);
		if (r < 0 && r != -ENOENT)
			vert_log(VERT_LOG_WARNING, "template '%s': %s", t.name, e.msg);
		vert_error_clear(&e);
		if (!t.source)
			t.source = xstrdup("unknown");
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = t;
	}
	closedir(d);
	/* stable output: sorted by name */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(v[j - 1].name, v[j].name) > 0; j--) {
			struct ve_template_info t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*ret = v;
	*n_ret = n;
	return 0;
}

void ve_template_info_free(struct ve_template_info *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].name);
		free(t[i].source);
	}
	free(t);
}

static const struct vjson_field config_template_table[] = {
	{ .name = "template", .type = VJSON_STRING, .cb = vjson_string },
	{},
};

/* Which VE uses template `name`?  Returns a VE name or NULL. */
static char *template_user(const struct ve_paths *p, const char *name)
{
	_cleanup_free_ char *dir = xasprintf("%s/ves", p->data);
	struct dirent *de;
	char *found = NULL;
	DIR *d = opendir(dir);

	if (!d)
		return NULL;
	while (!found && (de = readdir(d))) {
		_cleanup_free_ char *cfg = NULL, *tpl = NULL;
		_cleanup_json_ struct json_object *o = NULL;
		int r;

		if (de->d_name[0] == '.')
			continue;
		cfg = ve_path(p->data, de->d_name, "config.json");
		r = vjson_parse_file(AT_FDCWD, cfg, 1 << 20, &o, NULL);
		if (r == -ENOENT)
			continue;
		/* a config that cannot be read may well name this template:
		 * its VE counts as a user rather than losing its root */
		if (r < 0 ||
		    vjson_dispatch(o, config_template_table, VJSON_ALLOW_UNKNOWN, &tpl, cfg, NULL) <
			    0 ||
		    !tpl || strcmp(tpl, name) == 0)
			found = xstrdup(de->d_name);
	}
	closedir(d);
	return found;
}

static int remove_locked(const struct ve_paths *p, const char *name, vert_error_t *err)
{
	_cleanup_free_ char *dir = NULL, *entry = NULL, *trash = NULL, *user = NULL;
	char rnd[9];
	struct stat st;

	dir = ve_template_path(p, name, NULL);
	if (lstat(dir, &st) < 0)
		return vert_error_set(err, ENOENT, VERT_ERR_NOTFOUND, "template '%s' not found",
				      name);
	ve_reconcile_all(p);
	user = template_user(p, name);
	if (user)
		return vert_error_set(err, EBUSY, VERT_ERR_BUSY,
				      "template '%s' is used by VE '%s'; destroy the VE first",
				      name, user);
	/* rename first: the template disappears atomically, the slow
	 * removal can't leave a half-template under the real name */
	random_hex(rnd, 8);
	entry = xasprintf(".trash-%s-%s", name, rnd);
	trash = ve_template_path(p, entry, NULL);
	if (rename(dir, trash) < 0)
		return vert_error_sys(err, "remove template '%s'", name);
	return ve_remove_tree(p, trash, err);
}

int ve_template_remove(const struct ve_paths *p, const char *name, vert_error_t *err)
{
	/* removed: so goes its lock file */
	_cleanup_ve_handle_ struct ve_handle *t = NULL;
	int r;

	if ((r = ve_template_open(p, name, VE_OPEN_LOCK, &t, err)) < 0)
		return r;
	return remove_locked(p, name, err);
}
