/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What makes a VE itself rather than a copy of its template.
 *
 * - `vert set --hostname` on a running VE rewrites its /etc/hostname and
 *   /etc/hosts, resolved inside the VE's root.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "ve-internal.h"
#include "vert/fs.h"
#include "vert/util.h"

static bool exists_in(int rootfd, const char *path)
{
	_cleanup_close_ int fd = fs_open_in_root(rootfd, path, O_PATH | O_NOFOLLOW, 0);
	return fd >= 0;
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
				      "update /etc/hostname and /etc/hosts in the VE: %s",
				      strerror(-r));
	return 0;
}
