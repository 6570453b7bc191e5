/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vert migrate NAME [USER@]HOST: live migration over ssh, by iterative
 * pre-copy (P.Haul, Incus): pre-dumps of the running VE's memory, each
 * incremental to the last and sent at once, until the dirty set stops
 * shrinking; then the final dump (the VE frozen: only what changed since
 * the last pre-dump, plus the upper dir's last changes), sent, and
 * restored on HOST by its own `vert restore --input`, which checks the
 * template there.
 *
 * The target is reached as `$VERT_SSH HOST CMD` (default "ssh -o
 * BatchMode=yes"), its vert as $VERT_REMOTE (default "vert").  Before
 * anything is frozen, the target must answer, have the template and not
 * have the name.  A failure before the final dump leaves the VE running
 * here; after it, the local image restores the VE here.  The target's
 * staging dir goes in every case; ours too, unless that restore here
 * failed (the image, all that is left of the VE, stays).
 */
#include <ctype.h>
#include <fcntl.h>
#include <ftw.h>
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "ve-internal.h"
#include "vert/json.h"
#include "vert/util.h"

#ifdef HAVE_CRIU

#define MIGRATE_MAX_PRE_DUMPS 8

struct migrate {
	const char *host, *ssh, *remote, *name;
	char *rdir; /* the target's staging dir */
	int n_pre;
	uint64_t bytes, t_freeze, last_pre_bytes;
	time_t upper_since; /* the last upper pass sent what changed up to then */
	/* and the target's copy was whole then: that pass read every file and
	 * brought what the target lacked (upper_unchanged) */
	bool upper_whole;
	bool upper_tried; /* a pass ran: the target's copy may hold anything */
	/* the final send, started once the image was whole (send_early) */
	pid_t send_pid;
	int send_fd;
	/* the VE's init, as the pre-copy found it */
	pid_t init_pid;
	uint64_t init_start;
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

/* A timed mark of --debug (vert_debug_mark), with its own words. */
static void mark(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mark(const char *fmt, ...)
{
	_cleanup_free_ char *what = NULL;
	va_list ap;

	if (!vert_log_debug_enabled())
		return;
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	vert_debug_mark(what ? what : fmt);
}

static int sh(const struct ve_paths *p, const char *cmd, vert_error_t *err)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
	vert_debug("migrate: %s", cmd);
	/* a killed vert leaves no ssh or tar of its pipelines running */
	return ve_run_tool_group(p, argv, err);
}

/* CMD on the target; with out, its stdout goes to that local file */
static int remote_to(const struct ve_paths *p, const struct migrate *m, const char *cmd,
		     const char *out, vert_error_t *err)
{
	_cleanup_free_ char *q = out ? xasprintf("%s %s '%s' >'%s'", m->ssh, m->host, cmd, out)
				     : xasprintf("%s %s '%s'", m->ssh, m->host, cmd);
	return sh(p, q, err);
}

static int remote(const struct ve_paths *p, const struct migrate *m, const char *cmd,
		  vert_error_t *err)
{
	return remote_to(p, m, cmd, NULL, err);
}

static uint64_t tree_bytes_total;
static time_t tree_bytes_since;
static int tree_bytes_fn(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F && st->st_ctime >= tree_bytes_since)
		tree_bytes_total += (uint64_t)st->st_size;
	return 0;
}

static int tree_changed_fn(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	return st->st_ctime >= tree_bytes_since;
}

/* Whether anything under path (itself included, any type) changed since
 * a time: data, mode, owner, xattrs, links (a file created, deleted or
 * renamed changes its dir) */
static bool tree_changed(const char *path, time_t since)
{
	tree_bytes_since = since;
	return nftw(path, tree_changed_fn, 32, FTW_PHYS) != 0;
}

/* Bytes of the regular files under path changed (ctime) since a time. */
static uint64_t tree_bytes(const char *path, time_t since)
{
	tree_bytes_total = 0;
	tree_bytes_since = since;
	nftw(path, tree_bytes_fn, 32, FTW_PHYS);
	return tree_bytes_total;
}

/* tar's options on both sides for the upper dir: the ids as numbers
 * (names differ between hosts), every xattr (overlayfs keeps opaque dirs
 * and redirects in trusted.* or user.*), no "file is unchanged" chatter
 * of --newer */
#define TAR_OPTS "--numeric-owner --xattrs --xattrs-include=\"*\" --warning=none"

#define MIGRATE_LOW_SPACE (64ULL << 20)

/* A failed send or dump: when a stage is (nearly) full, say so, with its
 * free space, since the tools' own last words ("tar: Exiting with failure
 * status") don't. */
static int space_wrap(const struct ve_paths *p, const struct migrate *m, const char *stage,
		      vert_error_t *err)
{
	/* the target's free KiB; unknown (no df, no answer) says nothing */
	_cleanup_free_ char *cmd = xasprintf(
		"a=$(df -Pk %s | awk \"NR == 2 { print \\$4 }\"); case $a in \"\" | *[!0-9]*) exit "
		"0 ;; esac; test $a -ge %llu || { echo \"vert-low-space $((a / 1024))\" >&2; exit "
		"1; "
		"}",
		m->rdir, MIGRATE_LOW_SPACE >> 10);
	vert_error_t e = VERT_ERROR_INIT;
	struct statvfs sv;
	const char *low;

	if (stage && statvfs(stage, &sv) == 0 &&
	    (uint64_t)sv.f_bavail * sv.f_frsize < MIGRATE_LOW_SPACE)
		return vert_error_wrap(
			err, "no space left in '%s' here (%llu MiB free)", stage,
			(unsigned long long)((uint64_t)sv.f_bavail * sv.f_frsize >> 20));
	if (remote(p, m, cmd, &e) < 0 && e.msg && (low = strstr(e.msg, "vert-low-space "))) {
		int r = vert_error_wrap(err, "no space left in '%s' on '%s' (%s MiB free)", m->rdir,
					m->host, low + strlen("vert-low-space "));
		vert_error_clear(&e);
		return r;
	}
	vert_error_clear(&e);
	return vert_error_ret(err);
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
		m->bytes += tree_bytes(path, 0);
	}
	return sh(p, cmd, err);
}

/*
 * The upper dir goes while the VE runs, as its memory does: a first pass
 * sends all of it, a second what changed (ctime: data, mode, xattrs, a
 * rename) during the pre-dumps; once CRIU stopped the VE, the last pass
 * (send_final) sends what changed since, after the target removed what
 * is gone or changed its type (prune_upper): a whiteout (a char device)
 * or an opaque dir is a change like any other.  Times go a second early
 * (file times are coarse).  The final dump then holds no upper dir
 * (ve_checkpoint_opts.no_upper): the freeze no longer copies all of it.
 * A pass that read every file (no failed-read warning from tar) and, after
 * the first, brought what the target lacked leaves the target's copy whole
 * as of its start (upper_whole): while nothing under the upper dir has
 * changed since, a later pass has nothing to do, and is not run, in the
 * freeze least of all (for a VE whose files don't change, the freeze
 * sends only the final dump).
 */
static int prune_upper(const struct ve_handle *h, struct migrate *m, const char *missing,
		       vert_error_t *err);

/* A pass while the VE runs: files vanish and change under it (tar is told
 * to go on), and a path that changed its type there can fail to extract.
 * A pass that fails is not fatal: its start is not taken as the time the
 * next pass sends changes from, so they send what it may have missed. */
static bool upper_unchanged(const struct ve_handle *h, const struct migrate *m)
{
	_cleanup_free_ char *upper = xasprintf("%s/upper", h->data_dir);
	return m->upper_whole && !tree_changed(upper, m->upper_since);
}

/* A pass while the VE runs, with the stage dir for its lists.  After the
 * first it sends what changed, and what the target lacks (prune_upper),
 * whatever its times. */
static int send_upper(const struct ve_handle *h, struct migrate *m, const char *stage,
		      vert_error_t *err)
{
	_cleanup_free_ char *upper = xasprintf("%s/upper", h->data_dir);
	_cleanup_free_ char *missing = xasprintf("%s/upper.missing", stage);
	_cleanup_free_ char *warn = xasprintf("%s/upper.warn", stage);
	_cleanup_free_ char *rc = xasprintf("%s/upper.rc", stage), *rcs = NULL;
	_cleanup_free_ char *newer =
		m->upper_since ? xasprintf(" --newer=@%lld", (long long)m->upper_since)
			       : xstrdup("");
	time_t start = time(NULL) - 1;
	/* tar's failed reads are told (its other warnings are not: a file
	 * that changed as it was read changed its ctime) */
	_cleanup_free_ char *cmd = xasprintf(
		"{ tar -C '%s' -cSf - " TAR_OPTS " --warning=failed-read --ignore-failed-read%s "
		"upper && { [ ! -s '%s' ] || tar -cSf - " TAR_OPTS " --warning=failed-read "
		"--ignore-failed-read --no-recursion -C '%s' --null -T '%s'; }; echo $? >'%s'; } "
		"2>'%s' | %s %s 'tar -C %s/img -x -i -f - " TAR_OPTS "'",
		h->data_dir, newer, missing, h->data_dir, missing, rc, warn, m->ssh, m->host,
		m->rdir);
	vert_error_t e = VERT_ERROR_INIT;
	struct stat st;
	int r;

	if (upper_unchanged(h, m)) {
		mark("migrate: the upper dir unchanged since the last pass, whole there");
		return 0;
	}
	m->upper_whole = false;
	if (m->upper_tried && (r = prune_upper(h, m, missing, err)) < 0)
		return r;
	if (!m->upper_tried)
		unlink(missing);
	m->upper_tried = true;
	m->bytes += tree_bytes(upper, m->upper_since);
	if (sh(h->p, cmd, &e) < 0) {
		vert_debug("migrate: an upper dir pass, left to the next: %s", e.msg);
		vert_error_clear(&e);
		return 0;
	}
	m->upper_since = start;
	m->upper_whole = stat(warn, &st) == 0 && st.st_size == 0 &&
			 read_file_at(AT_FDCWD, rc, 64, &rcs, NULL) == 0 && rcs &&
			 strcmp(rcs, "0\n") == 0;
	if (!m->upper_whole)
		vert_debug("migrate: an upper dir pass did not read every file (%s)", warn);
	return 0;
}

/* The target's copy of the upper dir loses what is no longer here, by
 * type and path (a path whose type changed goes, the next pass brings it
 * anew); with missing, the paths it lacks go there (NUL-separated,
 * "upper/..."), for the last pass to send whatever their times. */
static int prune_upper(const struct ve_handle *h, struct migrate *m, const char *missing,
		       vert_error_t *err)
{
	_cleanup_free_ char *cmd = xasprintf(
		"cd '%s/upper' && find . -mindepth 1 -printf \"%%y %%p\\0\" | %s %s 'cat "
		">%s/upper.list && cd %s/img/upper && find . -mindepth 1 -printf \"%%y %%p\\0\" | "
		"LC_ALL=C sort -z >../../upper.have && LC_ALL=C sort -z ../../upper.list "
		">../../upper.want && LC_ALL=C comm -z -23 ../../upper.have ../../upper.want | cut "
		"-z -d\" \" -f2- | xargs -0r rm -rf -- && LC_ALL=C comm -z -13 ../../upper.have "
		"../../upper.want | cut -z -d\" \" -f2- | sed -z \"s|^\\./|upper/|\"' >'%s'",
		h->data_dir, m->ssh, m->host, m->rdir, m->rdir, missing ? missing : "/dev/null");
	int r = sh(h->p, cmd, err);
	return r < 0 ? vert_error_wrap(err, "remove what left the upper dir there") : 0;
}

/* The frozen part: the final dump's images and the upper dir's last
 * changes, with what the target lacks (a pass that failed), in one
 * stream of two archives; both sides' tar must succeed.  Only the images
 * when the target's upper dir is whole and nothing changed here since
 * (upper_unchanged). */
static int send_final(const struct ve_handle *h, struct migrate *m, const char *img,
		      vert_error_t *err)
{
	static const char subs[] = "criu config.json image.json template.json";
	_cleanup_free_ char *upper = xasprintf("%s/upper", h->data_dir);
	_cleanup_free_ char *missing = xasprintf("%s/../upper.missing", img);
	_cleanup_free_ char *rc = xasprintf("%s/../tar.rc", img);
	_cleanup_free_ char *cmd = xasprintf(
		"{ tar -cSf - " TAR_OPTS " --newer=@%lld -C '%s' %s -C '%s' upper && { [ ! -s "
		"'%s' ] || tar -cSf - " TAR_OPTS " --no-recursion -C '%s' --null -T '%s'; }; echo "
		"$? >'%s'; } | %s %s 'tar -C %s/img -x -i -f - " TAR_OPTS "' && [ \"$(cat '%s')\" "
		"= 0 ]",
		(long long)m->upper_since, img, subs, h->data_dir, missing, h->data_dir, missing,
		rc, m->ssh, m->host, m->rdir, rc);
	_cleanup_free_ char *copy = xstrdup(subs);
	char *save = NULL;
	bool with_upper = true;
	int r;

	if (upper_unchanged(h, m)) {
		/* nothing of the upper dir to send (upper_whole) */
		free(cmd);
		cmd = xasprintf("{ tar -cSf - -C '%s' %s; echo $? >'%s'; } | %s %s 'tar -C %s/img "
				"-xf -' && [ \"$(cat '%s')\" = 0 ]",
				img, subs, rc, m->ssh, m->host, m->rdir, rc);
		mark("migrate: the upper dir unchanged since the last pass, whole there");
		with_upper = false;
	} else if ((r = prune_upper(h, m, missing, err)) < 0) {
		return r;
	}
	for (char *s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
		_cleanup_free_ char *path = xasprintf("%s/%s", img, s);
		m->bytes += tree_bytes(path, 0);
	}
	if (with_upper)
		m->bytes += tree_bytes(upper, m->upper_since);
	return sh(h->p, cmd, err);
}

/* What the early send's child reports. */
struct send_report {
	int32_t r;
	uint64_t bytes;
	struct vert_error_wire err;
};

/*
 * The final dump sent while CRIU ends the dump: once the image is whole at
 * its place (its post-dump notification), CRIU still has to kill the VE's
 * frozen processes and free their memory, which for a VE of 256 MiB took
 * longer than the send itself (1.4 s under TCG) and was all freeze time.
 * The send needs only the image and the upper dir, which nothing changes
 * any more (the VE is frozen, then dead), so a child sends it meanwhile.
 * The target's restore still waits for both: the VE is gone here first.
 * No child (no pipe or fork): the send runs after the dump, as before.
 */
static void send_early(void *data, struct ve_handle *h, const char *image)
{
	struct migrate *m = data;
	pid_t parent = getpid();
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return;
	m->send_pid = fork();
	if (m->send_pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		m->send_pid = 0;
		return;
	}
	if (m->send_pid == 0) {
		struct send_report rep = { 0 };
		vert_error_t e = VERT_ERROR_INIT;

		close(pfd[0]);
		/* a killed vert's send goes with it (its pipeline too:
		 * ve_run_tool_group) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		/* nothing of vert's but the report's pipe: no copy of the VE's
		 * or the journal's lock (the next command must find them free
		 * the moment vert is gone), no CRIU socket */
		if (pfd[1] != 3 && dup3(pfd[1], 3, O_CLOEXEC) < 0)
			_exit(1);
		pfd[1] = 3;
		syscall(SYS_close_range, 4, ~0U, 0);
		rep.r = send_final(h, m, image, &e);
		vert_error_pack(&e, &rep.err);
		rep.bytes = m->bytes;
		_exit(write(pfd[1], &rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : 1);
	}
	close(pfd[1]);
	m->send_fd = pfd[0];
	mark("migrate: the final send started, CRIU ends the dump");
}

/* The early send's outcome (abort: the dump failed after all, its send is
 * of no use: killed); -ECHILD when there was none. */
static int send_wait(struct migrate *m, bool abort, vert_error_t *err)
{
	struct send_report rep = { 0 };
	ssize_t got;
	int st;

	if (m->send_pid <= 0)
		return -ECHILD;
	if (abort)
		kill(m->send_pid, SIGKILL);
	got = read(m->send_fd, &rep, sizeof(rep));
	close(m->send_fd);
	while (waitpid(m->send_pid, &st, 0) < 0 && errno == EINTR)
		;
	m->send_pid = 0;
	if (abort)
		return 0;
	if (got != (ssize_t)sizeof(rep))
		return vert_error_set(err, EIO, VERT_ERR_RUNTIME,
				      "send the final dump: its process died");
	m->bytes = rep.bytes;
	if (rep.r < 0)
		return vert_error_unpack(err, &rep.err, "send the final dump: failed");
	return 0;
}

static int pre_copy(void *data, struct ve_handle *h, const struct ve_state *s, const char *tmp,
		    char **ret_parent, vert_error_t *err)
{
	struct migrate *m = data;
	_cleanup_free_ char *stage = xasprintf("%s/..", tmp);
	uint64_t prev = 0, bytes = 0;
	/* a pre-dump is only a head start: one failed pre-dump per
	 * migration is taken again (dump_into) */
	int retries = 1;
	int r, i;

	m->init_pid = s->pid;
	m->init_start = s->start_time;
	if ((r = send_upper(h, m, stage, err)) < 0)
		return r;
	for (i = 1; i <= MIGRATE_MAX_PRE_DUMPS; i++) {
		_cleanup_free_ char *sub = xasprintf("pre-%d", i);
		_cleanup_free_ char *parent = i > 1 ? xasprintf("../pre-%d", i - 1) : NULL;
		_cleanup_free_ char *what = xasprintf("pre-dump %d", i);
		bool last;
		if ((r = ve_criu_pre_dump(h, s, tmp, sub, parent, what, &retries, &bytes, err)) < 0)
			return space_wrap(h->p, m, tmp, err);
		mark("migrate: pre-dump %d taken", i);
		/* the last once the dirty set no longer shrinks by a tenth, or is
		 * small */
		last = i == MIGRATE_MAX_PRE_DUMPS ||
		       (i > 1 && (bytes * 10 >= prev * 9 || bytes < (1U << 20)));
		if ((r = send_dirs(h->p, m, tmp, sub, err)) < 0) {
			vert_error_wrap(err, "send pre-dump %d", i);
			return space_wrap(h->p, m, tmp, err);
		}
		/* not after the last: what the VE dirties from its pre-dump to
		 * the final dump is what the freeze dumps and sends, so nothing
		 * that can wait goes between (the stage there keeps at most the
		 * last pre-dump's size more) */
		if (i > 1 && !last) {
			/* and there, the pages sent again are holes in the ones
			 * before (as CRIU's auto-dedup did here) */
			_cleanup_free_ char *dd =
				xasprintf("criu dedup -D %s/img/%s", m->rdir, sub);
			vert_error_t e = VERT_ERROR_INIT;
			if (remote(h->p, m, dd, &e) < 0)
				vert_debug("migrate: %s: %s", dd, e.msg);
			vert_error_clear(&e);
		}
		m->n_pre = i;
		m->last_pre_bytes = bytes;
		mark("migrate: pre-dump %d sent: %llu bytes of pages", i,
		     (unsigned long long)bytes);
		if (last)
			break;
		prev = bytes;
	}
	/* what changed in the upper dir while the pre-dumps ran */
	if ((r = send_upper(h, m, stage, err)) < 0)
		return r;
	*ret_parent = xasprintf("../pre-%d", m->n_pre);
	mark("migrate: upper dir sent; the final dump");
	m->t_freeze = now_ns();
	return 0;
}

/*
 * The migration's journal, RUN/migrate/NAME.json, says how far it got,
 * for the next command (ve_migrate_sweep) should this vert be killed:
 * "precopy" (the VE runs here), "dumped" (CRIU stopped it, the image is
 * whole in the stage and never went to the target's restore),
 * "restoring" (the target's restore was started, with what outcome the
 * target knows).  NAME.lock, locked while the migrating vert lives (the
 * kernel drops a dead process's lock), tells a live one from a dead one.
 */
struct journal {
	const char *phase, *host, *ssh, *remote, *stage, *rdir;
	bool keep_source;
};

/* a string of the document, borrowed: it lives as long as the document */
static int borrow_string(struct json_object *v, void *target, const struct vjson_field *f,
			 const struct vjson_loc *loc, vert_error_t *err)
{
	(void)f;
	return vjson_get_string(v, loc, (const char **)target, err);
}

static const struct vjson_field journal_table[] = {
	VJSON_FIELD("phase", VJSON_STRING, borrow_string, struct journal, phase, VJSON_MANDATORY),
	VJSON_FIELD("host", VJSON_STRING, borrow_string, struct journal, host, VJSON_MANDATORY),
	VJSON_FIELD("ssh", VJSON_STRING, borrow_string, struct journal, ssh, VJSON_MANDATORY),
	VJSON_FIELD("remote", VJSON_STRING, borrow_string, struct journal, remote, VJSON_MANDATORY),
	VJSON_FIELD("stage", VJSON_STRING, borrow_string, struct journal, stage, VJSON_MANDATORY),
	VJSON_FIELD("rdir", VJSON_STRING, borrow_string, struct journal, rdir, VJSON_MANDATORY),
	VJSON_FIELD("keep_source", VJSON_BOOL, vjson_bool, struct journal, keep_source, 0),
	{},
};

static char *journal_path(const struct ve_paths *p, const char *name, const char *ext)
{
	return xasprintf("%s/migrate/%s.%s", p->run, name, ext);
}

/* The lock, taken without waiting: -EWOULDBLOCK while its vert lives. */
static int journal_lock(const struct ve_paths *p, const char *name, vert_error_t *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/migrate", p->run);
	_cleanup_free_ char *path = journal_path(p, name, "lock");
	int fd, r;

	if ((r = mkdir_p(dir, 0700)) < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "create '%s'", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return vert_error_sys(err, "open '%s'", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		close(fd);
		return vert_error_set(err, -r, VERT_ERR_BUSY, "VE '%s' is being migrated", name);
	}
	return fd;
}

static int journal_write(const struct ve_paths *p, const struct migrate *m, const char *stage,
			 bool keep, const char *phase, vert_error_t *err)
{
	_cleanup_free_ char *path = journal_path(p, m->name, "json");
	_cleanup_json_ struct json_object *o = json_object_new_object();
	const char *s;

	json_object_object_add(o, "phase", json_object_new_string(phase));
	json_object_object_add(o, "host", json_object_new_string(m->host));
	json_object_object_add(o, "ssh", json_object_new_string(m->ssh));
	json_object_object_add(o, "remote", json_object_new_string(m->remote));
	json_object_object_add(o, "stage", json_object_new_string(stage));
	json_object_object_add(o, "rdir", json_object_new_string(m->rdir));
	json_object_object_add(o, "keep_source", json_object_new_boolean(keep));
	s = json_object_to_json_string(o);
	if (write_file_atomic_at(AT_FDCWD, path, s, strlen(s), 0600) < 0)
		return vert_error_sys(err, "write '%s'", path);
	return 0;
}

static void journal_done(const struct ve_paths *p, const char *name, int lockfd)
{
	_cleanup_free_ char *path = journal_path(p, name, "json");
	_cleanup_free_ char *lock = journal_path(p, name, "lock");
	unlink(path);
	unlink(lock);
	if (lockfd >= 0)
		close(lockfd);
}

/* Whether VE NAME runs here, once settled.  dying: its image is whole,
 * so CRIU was told to go on and stop it; its init is waited for (a while:
 * CRIU kills it at once, unless it failed after all), then its
 * supervisor's cleanup, as after a checkpoint (ve_stop_locked). */
static bool runs_here(const struct ve_paths *p, const char *name, bool dying)
{
	for (int i = 0; i < 100; i++) {
		_cleanup_ve_handle_ struct ve_handle *h = NULL;
		struct ve_state s = { 0 };
		vert_error_t e = VERT_ERROR_INIT;
		bool init;

		if (ve_open(p, name, 0, &h, NULL) < 0 || ve_handle_lock(h, true, NULL) < 0 ||
		    !ve_reconcile_state(h, &s))
			return false;
		init = proc_alive(s.pid, s.start_time);
		ve_state_done(&s);
		if (init && !dying)
			return true;
		if (!init) {
			if (ve_stop_locked(h, 0, &e) < 0 && e.kind != VERT_ERR_NOTRUNNING)
				vert_log(VERT_LOG_WARNING, "VE '%s': %s", name, e.msg);
			vert_error_clear(&e);
			return false;
		}
		ve_close(TAKE_PTR(h));
		usleep(100 * 1000);
	}
	return true;
}

/* Where VE NAME is, once the target can no longer restore it from the
 * migration's image (ve_migrate_abandon, below): the answer is final. */
enum target_has {
	TARGET_UNKNOWN,
	TARGET_RUNS,
	TARGET_NOT
};

static enum target_has target_settle(const struct ve_paths *p, const struct migrate *m,
				     const char *stage, vert_error_t *err)
{
	_cleanup_free_ char *out = xasprintf("%s/there", stage), *buf = NULL, *cmd = NULL;
	int r;

	/* a stage an admin or a tmp cleaner removed: only this answer goes in */
	if (mkdir(stage, 0700) < 0 && errno != EEXIST) {
		vert_error_sys(err, "create '%s'", stage);
		return TARGET_UNKNOWN;
	}
	cmd = xasprintf("%s migrate --abandon %s/img && if %s ps -q | grep -qx %s; then echo "
			"runs; elif %s inspect %s >/dev/null 2>&1; then echo stopped; else echo "
			"gone; fi",
			m->remote, m->rdir, m->remote, m->name, m->remote, m->name);
	if (remote_to(p, m, cmd, out, err) < 0)
		return TARGET_UNKNOWN;
	if ((r = read_file_at(AT_FDCWD, out, 64, &buf, NULL)) < 0) {
		vert_error_set(err, -r, VERT_ERR_RUNTIME, "read '%s'", out);
		return TARGET_UNKNOWN;
	}
	unlink(out);
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, "runs") == 0)
		return TARGET_RUNS;
	if (strcmp(buf, "stopped") == 0)
		/* a restore there killed with the VE made, not booted: it can
		 * never boot from this image now, and its name is taken there */
		vert_log(VERT_LOG_WARNING,
			 "VE '%s' also exists, stopped, on '%s' (its restore there was "
			 "interrupted); it runs here: destroy it there",
			 m->name, m->host);
	else if (strcmp(buf, "gone") != 0) {
		vert_error_set(err, EPROTO, VERT_ERR_RUNTIME, "'%s' answered '%s'", m->host, buf);
		return TARGET_UNKNOWN;
	}
	return TARGET_NOT;
}

/* A migration whose vert died, finished: the VE runs here again, or,
 * when the target's restore was started and the VE runs there, goes from
 * here; the stages go on both sides.  What is done follows what is, not
 * only the journal's phase: the phase is written after each step, so a
 * vert killed between a step and its record leaves the one before (the
 * image may be whole, and the VE stopped, in "precopy").  False: the
 * target could not be asked, or its restore is not finished, and the
 * journal stays for a later command. */
static bool recover(const struct ve_paths *p, const char *name, const struct journal *j)
{
	struct migrate m = { .host = j->host, .ssh = j->ssh, .remote = j->remote, .name = name };
	_cleanup_free_ char *img = xasprintf("%s/img", j->stage), *cmd = NULL;
	_cleanup_free_ char *meta = xasprintf("%s/image.json", img);
	vert_error_t e = VERT_ERROR_INIT;
	bool there = false, whole = access(meta, F_OK) == 0;

	m.rdir = (char *)j->rdir;
	if (strcmp(j->phase, "restoring") == 0) {
		/* a restore there may be under way (a killed vert's ssh lives
		 * on) or still to begin: given up first, then asked */
		enum target_has t = target_settle(p, &m, j->stage, &e);
		if (t == TARGET_UNKNOWN) {
			vert_log(VERT_LOG_WARNING,
				 "VE '%s': its migration to '%s' was interrupted and '%s' can't be "
				 "asked how far it got (%s); tried again by the next command",
				 name, j->host, j->host, e.msg ? e.msg : "no answer");
			vert_error_clear(&e);
			return false;
		}
		there = t == TARGET_RUNS;
	}
	if (there) {
		_cleanup_ve_handle_ struct ve_handle *h = NULL;
		vert_log(VERT_LOG_NOTICE,
			 "VE '%s' runs on '%s': its interrupted migration is finished", name,
			 j->host);
		/* CRIU stopped it here: its supervisor's cleanup, which the
		 * dead vert waited for only after the target's restore, first */
		runs_here(p, name, true);
		if (!j->keep_source &&
		    (ve_open(p, name, 0, &h, &e) < 0 || ve_destroy(h, false, &e) < 0))
			vert_log(VERT_LOG_WARNING, "VE '%s' (migrated): %s", name, e.msg);
	} else if (runs_here(p, name, whole)) {
		/* killed before CRIU stopped it (a dump never answered is
		 * undone by CRIU: checkpoint.c) */
		vert_log(VERT_LOG_NOTICE,
			 "VE '%s' runs here: its migration to '%s' was interrupted", name, j->host);
	} else if (whole) {
		/* dumped, the image whole here, never restored there */
		struct ve_restore_opts ro = { .input = img };
		if (ve_restore(p, name, &ro, &e) < 0)
			vert_log(VERT_LOG_WARNING,
				 "VE '%s': its migration to '%s' was interrupted, and it could not "
				 "be restored here from '%s': %s",
				 name, j->host, img, e.msg);
		else
			vert_log(VERT_LOG_NOTICE,
				 "VE '%s' runs here again: its migration to '%s' was interrupted",
				 name, j->host);
		if (e.msg) {
			/* the image stays for a restore by hand */
			vert_error_clear(&e);
			return true;
		}
	} else {
		vert_log(VERT_LOG_WARNING,
			 "VE '%s': its migration to '%s' was interrupted; it does not run here "
			 "and left no image",
			 name, j->host);
	}
	vert_error_clear(&e);
	ve_remove_tree(p, j->stage, NULL);
	free(cmd);
	cmd = xasprintf("rm -rf %s", j->rdir);
	remote(p, &m, cmd, &e);
	vert_error_clear(&e);
	return true;
}

void ve_migrate_sweep(const struct ve_paths *p)
{
	_cleanup_free_ char *dir = xasprintf("%s/migrate", p->run);
	struct dirent *de;
	DIR *d;

	if (p->rootless || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *name = NULL, *where = NULL;
		_cleanup_json_ struct json_object *o = NULL;
		struct journal j = { 0 };
		vert_error_t e = VERT_ERROR_INIT;
		int lock;
		if (!str_endswith(de->d_name, ".json"))
			continue;
		name = xstrndup(de->d_name, strlen(de->d_name) - 5);
		if ((lock = journal_lock(p, name, NULL)) < 0)
			continue; /* its vert lives */
		where = journal_path(p, name, "json");
		if (access(where, F_OK) < 0) {
			/* finished since we looked */
			journal_done(p, name, lock);
			continue;
		}
		if (vjson_parse_file(AT_FDCWD, where, 1 << 16, &o, &e) < 0 ||
		    vjson_dispatch(o, journal_table, 0, &j, where, &e) < 0) {
			vert_log(VERT_LOG_WARNING, "an interrupted migration: %s", e.msg);
			vert_error_clear(&e);
			close(lock);
			continue;
		}
		if (recover(p, name, &j))
			journal_done(p, name, lock);
		else
			close(lock);
	}
	closedir(d);
}

/* The target's staging dir, made by the target's vert in its own state
 * root (`vert migrate --incoming`): there the upper dir's overlay xattrs
 * (user.overlay.* of a VE of its own user namespace) can be kept, which a
 * tmpfs /var/tmp before Linux 6.6 can't, and tar drops an xattr it can't
 * set without a word, so deleted template dirs came back after a move.
 * A target vert without --incoming gets a new 0700 dir in /var/tmp
 * (mkdir without -p: never one another user made).  Either way the check
 * that the name is free and the template there comes first. */
static int remote_stage(const struct ve_paths *p, struct migrate *m, const struct ve_handle *h,
			const char *stage, vert_error_t *err)
{
	_cleanup_free_ char *out = xasprintf("%s/rdir", stage), *buf = NULL, *cmd = NULL;
	char id[9];
	int r;

	random_hex(id, 8);
	cmd = xasprintf("if %s inspect %s >/dev/null 2>&1; then echo \"VE %s already exists "
			"there\" >&2; exit 1; fi; %s template ls -q | grep -qx %s || { echo "
			"\"template %s not found there\" >&2; exit 1; }; %s migrate --incoming "
			"2>/dev/null || { umask 077 && mkdir /var/tmp/vert-migrate-in.%s && mkdir "
			"/var/tmp/vert-migrate-in.%s/img && echo /var/tmp/vert-migrate-in.%s; }",
			m->remote, h->name, h->name, m->remote, h->cfg.template_name,
			h->cfg.template_name, m->remote, id, id, id);
	if ((r = remote_to(p, m, cmd, out, err)) < 0)
		return r;
	if ((r = read_file_at(AT_FDCWD, out, 4096, &buf, NULL)) < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "read '%s'", out);
	buf[strcspn(buf, "\n")] = '\0';
	/* it goes into shell commands, in single quotes or none */
	if (buf[0] != '/' || strpbrk(buf, "'\"\\ $`;&|<>*?()[]{}!#~") || strstr(buf, ".."))
		return vert_error_set(err, EINVAL, VERT_ERR_RUNTIME,
				      "the target named a bad staging dir '%s'", buf);
	m->rdir = TAKE_PTR(buf);
	return 0;
}

int ve_migrate_incoming(const struct ve_paths *p, char **ret_dir, vert_error_t *err)
{
	_cleanup_free_ char *parent = xasprintf("%s/migrate-in", p->data), *dir = NULL, *img = NULL;

	if (mkdir(parent, 0700) < 0 && errno != EEXIST)
		return vert_error_sys(err, "create '%s'", parent);
	dir = xasprintf("%s/XXXXXX", parent);
	if (!mkdtemp(dir)) /* 0700: the images hold the VE's memory */
		return vert_error_sys(err, "create a staging dir in '%s'", parent);
	img = xasprintf("%s/img", dir);
	if (mkdir(img, 0700) < 0) {
		int r = vert_error_sys(err, "create '%s'", img);
		rmdir(dir);
		return r;
	}
	*ret_dir = TAKE_PTR(dir);
	return 0;
}

int ve_migrate(struct ve_handle *h, const struct ve_migrate_opts *o, struct ve_migrate_result *res,
	       vert_error_t *err)
{
	const struct ve_paths *p = h->p;
	struct migrate m = { .host = o->host, .name = h->name, .send_fd = -EBADF };
	/* the source's cleanup of the VE CRIU stopped (network, cgroup) is
	 * not the target's business: it runs while the image goes and the
	 * target restores, out of the freeze, and is waited for after */
	struct ve_checkpoint_opts co = { .before_dump = pre_copy,
					 .after_commit = send_early,
					 .data = &m,
					 .no_upper = true,
					 .no_stop_wait = true,
					 .retry_dump = true };
	char stage[] = "/var/tmp/vert-migrate.XXXXXX";
	_cleanup_free_ char *image = NULL, *img = NULL, *cmd = NULL;
	uint64_t t0 = now_ns(), t_dumped = 0, t_sent = 0, t_end = 0;
	bool keep_stage = false;
	int r, lockfd = -EBADF;

	m.ssh = getenv("VERT_SSH") ? getenv("VERT_SSH") : "ssh -o BatchMode=yes";
	m.remote = getenv("VERT_REMOTE") ? getenv("VERT_REMOTE") : "vert";
	if (!host_valid(o->host))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "bad host '%s'", o->host);
	if ((r = ve_handle_config(h, err)) < 0)
		return r;
	/* the target, before anything is frozen */
	if ((r = remote(p, &m, "true", err)) < 0) {
		_cleanup_free_ char *why = xstrdup(err->msg ? err->msg : "ssh failed");
		vert_error_clear(err);
		return vert_error_set(err, 0, VERT_ERR_RUNTIME,
				      "migrate VE '%s': '%s' is unreachable (%s)", h->name, o->host,
				      why);
	}
	if (!mkdtemp(stage))
		return vert_error_sys(err, "create '%s'", stage);
	if ((r = remote_stage(p, &m, h, stage, err)) < 0) {
		r = vert_error_wrap(err, "migrate VE '%s' to '%s'", h->name, o->host);
		ve_remove_tree(p, stage, NULL);
		return r;
	}
	if ((lockfd = journal_lock(p, h->name, err)) < 0 ||
	    (r = journal_write(p, &m, stage, o->keep_source, "precopy", err)) < 0) {
		r = lockfd < 0 ? lockfd : r;
		goto out;
	}
	img = xasprintf("%s/img", stage);
	co.output = img;
	if ((r = ve_checkpoint(h, &co, &image, err)) < 0) {
		send_wait(&m, true, NULL);
		if (m.init_pid > 0 && !proc_alive(m.init_pid, m.init_start)) {
			/* what failed is the VE: its cleanup took the images
			 * along ("create '.../pre-3': No such file") */
			_cleanup_free_ char *why = xstrdup(err->msg ? err->msg : "failed");
			vert_error_clear(err);
			r = vert_error_set(
				err, 0, VERT_ERR_NOTRUNNING,
				"migrate VE '%s' to '%s': the VE stopped while it was being "
				"migrated (its init exited or was killed, out of memory "
				"perhaps: see 'vert inspect %s'), and nothing of it stays "
				"on '%s' (%s)",
				h->name, o->host, h->name, o->host, why);
		}
		goto out; /* CRIU resumed the VE, or never stopped it */
	}
	t_dumped = now_ns();
	mark("migrate: dumped, the VE stopped here");
	if ((r = journal_write(p, &m, stage, o->keep_source, "dumped", err)) < 0) {
		send_wait(&m, true, NULL);
		goto restore_here;
	}
	r = send_wait(&m, false, err);
	if (r == -ECHILD)
		r = send_final(h, &m, img, err);
	if (r < 0) {
		space_wrap(p, &m, stage, err);
		goto restore_here;
	}
	t_sent = now_ns();
	mark("migrate: the final dump and upper dir sent");
	free(cmd);
	cmd = xasprintf("%s restore %s --input %s/img", m.remote, h->name, m.rdir);
	if ((r = journal_write(p, &m, stage, o->keep_source, "restoring", err)) < 0)
		goto restore_here;
	if ((r = remote(p, &m, cmd, err)) < 0) {
		/* failed, or its answer lost on the way (ssh died after the
		 * restore there): which one, the target tells once it can no
		 * longer restore from the image; never two copies running */
		vert_error_t e = VERT_ERROR_INIT;
		enum target_has t = target_settle(p, &m, stage, &e);
		if (t == TARGET_NOT) {
			vert_error_clear(&e);
			goto restore_here;
		}
		if (t == TARGET_UNKNOWN) {
			_cleanup_free_ char *why = xstrdup(err->msg ? err->msg : "failed");
			vert_error_clear(err);
			vert_error_set(
				err, 0, VERT_ERR_RUNTIME,
				"migrate VE '%s' to '%s': its restore there failed or its "
				"answer was lost (%s), and '%s' can't be asked whether the VE "
				"runs there (%s): it stays stopped here, with its image; the "
				"next vert command finishes the migration once '%s' answers",
				h->name, o->host, why, o->host, e.msg ? e.msg : "no answer",
				o->host);
			vert_error_clear(&e);
			ve_checkpoint_settle(h);
			/* the journal ("restoring"), the stage and the target's dir
			 * stay for ve_migrate_sweep */
			close(TAKE_FD(lockfd));
			free(m.rdir);
			return vert_error_ret(err);
		}
		vert_log(VERT_LOG_WARNING, "VE '%s': %s; it runs on '%s' all the same", h->name,
			 err->msg, o->host);
		vert_error_clear(err);
		vert_error_clear(&e);
	}
	mark("migrate: restored there");
	t_end = now_ns();
	ve_checkpoint_settle(h);
	res->freeze_ns = t_end - m.t_freeze;
	res->dump_ns = t_dumped - m.t_freeze;
	res->send_ns = t_sent - t_dumped;
	res->restore_ns = t_end - t_sent;
	res->total_ns = t_end - t0;
	res->bytes = m.bytes;
	res->pre_dumps = m.n_pre;
	res->last_pre_dump_bytes = m.last_pre_bytes;
	{
		_cleanup_free_ char *crit = xasprintf("%s/criu", img);
		res->final_dump_bytes = ve_criu_pages_bytes(crit);
	}
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
	ve_checkpoint_settle(h);
	if (ve_restore(p, h->name, &ro, &e) < 0) {
		/* the image is all that is left of the VE: it stays */
		vert_log(VERT_LOG_WARNING,
			 "VE '%s' could not be restored here either: %s; its image stays in '%s' "
			 "(vert restore %s --input %s)",
			 h->name, e.msg, img, h->name, img);
		keep_stage = true;
	} else
		vert_log(VERT_LOG_WARNING, "VE '%s' runs here again", h->name);
	vert_error_clear(&e);
}
out:
	if (*stage != '\0' && !keep_stage && access(stage, F_OK) == 0)
		ve_remove_tree(p, stage, NULL);
	if (lockfd >= 0)
		journal_done(p, h->name, TAKE_FD(lockfd));
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

int ve_migrate_incoming(const struct ve_paths *p, char **ret_dir, vert_error_t *err)
{
	(void)p;
	(void)ret_dir;
	return vert_error_set(err, ENOTSUP, VERT_ERR_INVALID,
			      "this vert was built without CRIU (libcriu): it can't take a VE in");
}

int ve_migrate(struct ve_handle *h, const struct ve_migrate_opts *o, struct ve_migrate_result *res,
	       vert_error_t *err)
{
	(void)o;
	(void)res;
	return vert_error_set(err, ENOTSUP, VERT_ERR_INVALID,
			      "migrate VE '%s': this vert was built without CRIU (libcriu)",
			      h->name);
}

void ve_migrate_sweep(const struct ve_paths *p)
{
	(void)p;
}

#endif

/*
 * A migration's image on its target, and who may restore from it.  A
 * source whose `vert restore` there failed, or could not be heard (ssh
 * died with the answer), or whose vert was killed while it ran, must know
 * whether the VE runs there before it restores its own copy: two copies
 * with one address is the worst a migration can do.  Asking once is not
 * enough, as a restore can still be on its way (its ssh slow to start, a
 * killed source's ssh living on).  So the restore holds a lock on its
 * image dir from before it reads it until it is over (ve_image_hold), and
 * the source first gives the image up (ve_migrate_abandon): that waits
 * for a restore under way and marks the dir, so one that comes later is
 * refused.  Only then is the answer of `vert ps` there final.
 */
#define IMAGE_ABANDONED "abandoned"

static int image_lock(const char *dir, int *ret_fd, vert_error_t *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return vert_error_set(err, errno,
				      errno == ENOENT ? VERT_ERR_NOTFOUND : VERT_ERR_RUNTIME,
				      "checkpoint image '%s'", dir);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = vert_error_sys(err, "lock checkpoint image '%s'", dir);
			close(fd);
			return r;
		}
	}
	*ret_fd = fd;
	return 0;
}

int ve_image_hold(const char *dir, int *ret_fd, vert_error_t *err)
{
	int fd, r;

	if ((r = image_lock(dir, &fd, err)) < 0)
		return r;
	if (faccessat(fd, IMAGE_ABANDONED, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		close(fd);
		return vert_error_set(
			err, ESTALE, VERT_ERR_INVALID,
			"checkpoint image '%s' was given up by the migration that sent "
			"it (the VE runs on its source again)",
			dir);
	}
	*ret_fd = fd;
	return 0;
}

int ve_migrate_abandon(const char *dir, vert_error_t *err)
{
	_cleanup_close_ int fd = -EBADF, mark = -EBADF;
	int r;

	if (dir[0] != '/')
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "--abandon needs an absolute path, not '%s'", dir);
	if ((r = image_lock(dir, &fd, err)) < 0) {
		if (err->kind == VERT_ERR_NOTFOUND) {
			vert_error_clear(err);
			return 0;
		}
		return r;
	}
	mark = openat(fd, IMAGE_ABANDONED, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (mark < 0)
		return vert_error_sys(err, "mark checkpoint image '%s' given up", dir);
	return 0;
}
