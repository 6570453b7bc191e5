/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What makes a VE itself rather than a copy of its template: its own
 * machine-id, its own ssh host keys, and its hostname in /etc.
 *
 * - The machine-id is a random 128-bit id made at create and kept in the
 *   VE's config (systemd-nspawn derives it from the container's UUID the
 *   same way), written into the VE's upper layer as /etc/machine-id when
 *   the template has one or boots systemd.
 * - A `vert create` VE whose template carries ssh host keys gets new ones
 *   at its first start, made inside the VE by its own ssh-keygen, as
 *   vzctl does (compile.c wraps the init once; start.c clears the flag).
 * - `vert set --hostname` on a running VE rewrites its /etc/hostname and
 *   /etc/hosts, resolved inside the VE's root.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "ve-internal.h"
#include "vert/fs.h"
#include "vert/util.h"

bool ve_machine_id_valid(const char *s)
{
	bool nonzero = false;
	size_t i;

	for (i = 0; s && s[i]; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
		nonzero |= s[i] != '0';
	}
	return i == 32 && nonzero;
}

/* A random v4 UUID, as sd_id128_randomize makes them. */
char *ve_machine_id_new(void)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	char *s = xcalloc(33, 1);

	do {
		if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
			abort();
		b[6] = (b[6] & 0x0f) | 0x40;
		b[8] = (b[8] & 0x3f) | 0x80;
		for (size_t i = 0; i < 16; i++) {
			s[2 * i] = hex[b[i] >> 4];
			s[2 * i + 1] = hex[b[i] & 15];
		}
	} while (!ve_machine_id_valid(s));
	return s;
}

static bool exists_in(int rootfd, const char *path)
{
	_cleanup_close_ int fd = fs_open_in_root(rootfd, path, O_PATH | O_NOFOLLOW, 0);
	return fd >= 0;
}

/* /etc/ssh/ssh_host_*_key in the template */
static bool has_ssh_host_keys(int rootfd)
{
	int fd = fs_open_in_root(rootfd, "/etc/ssh", O_RDONLY | O_DIRECTORY, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	bool found = false;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (!found && (e = readdir(d)))
		found = str_startswith(e->d_name, "ssh_host_") && str_endswith(e->d_name, "_key");
	closedir(d);
	return found;
}

static int write_machine_id(const struct ve_handle *h, const char *id, vert_error_t *err)
{
	_cleanup_free_ char *upper = xasprintf("%s/upper", h->data_dir), *txt = NULL;
	_cleanup_close_ int ufd = -EBADF, etc = -EBADF, fd = -EBADF;

	txt = xasprintf("%s\n", id);
	if ((ufd = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return vert_error_sys(err, "open '%s'", upper);
	if ((etc = fs_mkdir_in_root(ufd, "/etc", 0755)) < 0 ||
	    (fd = fs_open_in_root(ufd, "/etc/machine-id", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
				  0444)) < 0 ||
	    write_all(fd, txt, strlen(txt)) < 0)
		return vert_error_set(err, fd < 0 ? -fd : errno, VERT_ERR_RUNTIME,
				      "write '%s/etc/machine-id'", upper);
	return 0;
}

int ve_identity_create(const struct ve_handle *h, struct ve_config *c, const char *lower,
		       vert_error_t *err)
{
	_cleanup_close_ int rfd = open(lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int etc = -EBADF;
	int r;

	if (!c->machine_id)
		c->machine_id = ve_machine_id_new();
	if (rfd < 0)
		return vert_error_sys(err, "open '%s'", lower);
	/* a template whose /etc is no directory (a symlink) gets nothing:
	 * an upper /etc would hide it */
	etc = fs_open_in_root(rfd, "/etc", O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
	if (etc < 0)
		return 0;
	if ((exists_in(rfd, "/etc/machine-id") || ve_template_boots_systemd(h->p, c)) &&
	    (r = write_machine_id(h, c->machine_id, err)) < 0)
		return r;
	/* a system VE (create, not run) becomes a server of its own */
	if (!c->persistent || !has_ssh_host_keys(rfd))
		return 0;
	if (!exists_in(rfd, "/bin/sh")) {
		vert_log(VERT_LOG_NOTICE,
			 "template '%s' has ssh host keys and no /bin/sh to replace them: VE '%s' "
			 "shares them with the template",
			 c->template_name, c->name);
		return 0;
	}
	c->ssh_keygen = true;
	if (!exists_in(rfd, "/usr/bin/ssh-keygen") && !exists_in(rfd, "/bin/ssh-keygen"))
		vert_log(VERT_LOG_NOTICE,
			 "template '%s' has ssh host keys and no ssh-keygen: VE '%s' gets none "
			 "(they are removed at its first start)",
			 c->template_name, c->name);
	return 0;
}

/* ---- the hostname in /etc of a running VE ---- */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* The names of one hosts line that are old (or old's first label) become
 * new's (or its first label); comments and addresses stay as they are. */
static void rename_line(char **out, const char *l, size_t n, const char *old, const char *new,
			bool *found)
{
	size_t ol = strcspn(old, "."), nl = strcspn(new, ".");
	bool addr = true, old_short = old[ol] == '.';
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		char *t;
		if (l[i] == '#') {
			j = n;
		} else if (is_blank(l[i])) {
			while (j < n && is_blank(l[j]))
				j++;
		} else {
			const char *w = l + i;
			size_t wl;
			while (j < n && !is_blank(l[j]) && l[j] != '#')
				j++;
			wl = j - i;
			if (!addr && wl == strlen(old) && strncmp(w, old, wl) == 0) {
				t = xasprintf("%s%s", *out, new);
				free(*out);
				*out = t;
				*found = true;
				i = j;
				continue;
			}
			if (!addr && old_short && wl == ol && strncmp(w, old, ol) == 0) {
				t = xasprintf("%s%.*s", *out, (int)nl, new);
				free(*out);
				*out = t;
				i = j;
				continue;
			}
			addr = false;
		}
		t = xasprintf("%s%.*s", *out, (int)(j - i), l + i);
		free(*out);
		*out = t;
		i = j;
	}
}

char *ve_hosts_rename(const char *hosts, const char *old, const char *new)
{
	char *out = xstrdup(""), *t;
	bool found = false;

	for (const char *l = hosts; *l;) {
		size_t n = strcspn(l, "\n");
		rename_line(&out, l, n, old, new, &found);
		l += n;
		if (*l == '\n') {
			t = xasprintf("%s\n", out);
			free(out);
			out = t;
			l++;
		}
	}
	/* the VE's name resolves locally, as Debian has it */
	if (!found) {
		t = xasprintf("%s%s127.0.1.1\t%s\n", out,
			      *out && !str_endswith(out, "\n") ? "\n" : "", new);
		free(out);
		out = t;
	}
	return out;
}

/* Rewrite an existing file in place: /etc/hosts and /etc/hostname may be
 * bind mounts of the network layer's generated files, whose inode must
 * stay the one mounted. */
static int rewrite_in_root(int rootfd, const char *path, const char *txt)
{
	_cleanup_close_ int fd = fs_open_in_root(rootfd, path, O_WRONLY | O_TRUNC | O_NOFOLLOW, 0);
	if (fd < 0)
		return fd;
	return write_all(fd, txt, strlen(txt)) < 0 ? -errno : 0;
}

int ve_hostname_files_live(int pidfd, pid_t pid, const char *old, const char *new,
			   vert_error_t *err)
{
	_cleanup_free_ char *root = xasprintf("/proc/%d/root", (int)pid), *hosts = NULL;
	_cleanup_free_ char *hn = xasprintf("%s\n", new), *renamed = NULL;
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int hfd = -EBADF;
	int r = 0;

	/* the pidfd pins the init: still alive, the root we opened is its */
	if (rfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return vert_error_set(err, ESRCH, VERT_ERR_NOTRUNNING, "the VE stopped");
	if (exists_in(rfd, "/etc/hostname"))
		r = rewrite_in_root(rfd, "/etc/hostname", hn);
	if (r == 0 && (hfd = fs_open_in_root(rfd, "/etc/hosts", O_RDONLY | O_NOFOLLOW, 0)) >= 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", hfd);
		if ((r = read_file_at(AT_FDCWD, path, 1 << 20, &hosts, NULL)) == 0) {
			renamed = ve_hosts_rename(hosts, old, new);
			r = rewrite_in_root(rfd, "/etc/hosts", renamed);
		}
	}
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME,
				      "the VE's /etc/hostname and /etc/hosts still say '%s': %s",
				      old, strerror(-r));
	return 0;
}

/* ---- /etc/hosts, /etc/resolv.conf, /etc/hostname ---- */

/* Replace upper/etc/NAME with data: a new file renamed over whatever is
 * there (a VE's symlink or whiteout too), in the upper dir only. */
static int install_etc_file(int etcfd, const char *name, const char *data)
{
	_cleanup_free_ char *tmp = xasprintf(".%s.vert-new", name);
	_cleanup_close_ int fd = -EBADF;

	unlinkat(etcfd, tmp, 0);
	fd = openat(etcfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write_all(fd, data, strlen(data)) < 0 || renameat(etcfd, tmp, etcfd, name) < 0) {
		int e = -errno;
		unlinkat(etcfd, tmp, 0);
		return e;
	}
	return 0;
}

/*
 * The generated hosts, resolv.conf and hostname go into the VE's own
 * upper layer, as vzctl writes them into the VE: its root may edit them
 * (they are its files, on its disk, under its quota), systemd reads the
 * VE's hostname from /etc/hostname, and nothing the VE writes lands in the
 * host's /run.  Written at every start.  A file that can't go there (the
 * template's /etc is no directory) keeps its bind mount: *ret_keep gets
 * the mounts still needed (n returned).
 */
size_t ve_etc_files_install(const char *upper, const char *lower, const struct vnet_mount *m,
			    size_t n, struct vnet_mount *keep)
{
	_cleanup_close_ int lfd = open(lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int ufd = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int letc = -EBADF, etc = -EBADF;
	size_t k = 0;

	if (lfd >= 0)
		letc = fs_open_in_root(lfd, "/etc", O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
	if (letc >= 0 && ufd >= 0)
		etc = fs_mkdir_in_root(ufd, "/etc", 0755);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *data = NULL;
		const char *base = strrchr(m[i].dest, '/');
		bool done = false;

		if (etc >= 0 && base && str_startswith(m[i].dest, "/etc/") &&
		    !strchr(m[i].dest + 5, '/') &&
		    read_file_at(AT_FDCWD, m[i].source, 1 << 20, &data, NULL) == 0)
			done = install_etc_file(etc, base + 1, data) == 0;
		if (!done)
			keep[k++] = m[i];
	}
	return k;
}

/* The VE's hostname in its /etc/hostname even without generated network
 * files (--net none, host...): systemd, and whatever else reads it, sees
 * the VE's name rather than the template's.  Not over a volume of the
 * user's own (the caller checks) or a template /etc that is no dir. */
int ve_hostname_file_install(const char *upper, const char *lower, const char *hostname)
{
	_cleanup_free_ char *data = xasprintf("%s\n", hostname);
	_cleanup_close_ int lfd = open(lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int ufd = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int letc = -EBADF, etc = -EBADF;

	if (lfd < 0 || ufd < 0)
		return -EBADF;
	letc = fs_open_in_root(lfd, "/etc", O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
	if (letc < 0)
		return 0;
	if ((etc = fs_mkdir_in_root(ufd, "/etc", 0755)) < 0)
		return etc;
	return install_etc_file(etc, "hostname", data);
}
