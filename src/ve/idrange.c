/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host uid/gid range of a VE's own user namespace (root mode).
 *
 * Every VE gets 65536 host ids of its own (root inside is the first),
 * like Incus's security.idmap.isolated or nspawn's --private-users=pick,
 * but allocated once at create and kept in the VE's config.  The range is
 * one "slot" of a pool (default: systemd's container range, 524288 up to
 * 1879048191, see systemd's docs/UIDS-GIDS.md), which DATA/idmap.json may
 * change: {"start": N, "size": M}.
 *
 * Slots are claimed host-wide, whatever state root a VE lives in: a file
 * per slot in IDMAP_REGISTRY, linked into place with its content (atomic,
 * no lock; link fails if the slot is taken), naming
 * its owner (state dir, VE name, the claiming pid).  A claim whose VE is
 * gone (its config missing or naming another range, and its claimer dead)
 * is stale and taken over under the registry's lock.  A slot that overlaps
 * a host user or group (NSS) or any /etc/subuid or /etc/subgid range is
 * never handed out.
 *
 * Each state root also keeps DATA/idmap.d/NAME -> BASE, the claims it
 * made: a create killed between its claim and its config is found and
 * given back by the next command (ve_idrange_sweep), and a create of the
 * same name takes its old range again.
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "ve-internal.h"
#include "vert/json.h"
#include "vert/util.h"

#define IDMAP_REGISTRY "/var/lib/vert/idmap"
#define POOL_START 524288U
#define POOL_END 1879048191U /* last id of systemd's container range */

struct pool {
	uint32_t start, size;
};

static const struct vjson_field pool_table[] = {
	VJSON_FIELD("start", VJSON_INT, vjson_uint32, struct pool, start, VJSON_MANDATORY),
	VJSON_FIELD("size", VJSON_INT, vjson_uint32, struct pool, size, VJSON_MANDATORY),
	{},
};

static int pool_load(const struct ve_paths *p, struct pool *ret, vert_error_t *err)
{
	_cleanup_free_ char *path = xasprintf("%s/idmap.json", p->data);
	_cleanup_json_ struct json_object *o = NULL;
	struct pool pl = { 0 };
	int r;

	r = vjson_parse_file(AT_FDCWD, path, 64 * 1024, &o, err);
	if (r == -ENOENT) {
		vert_error_clear(err);
		*ret = (struct pool){ POOL_START, POOL_END - POOL_START + 1 };
		return 0;
	}
	if (r < 0 || (r = vjson_dispatch(o, pool_table, 0, &pl, path, err)) < 0)
		return r;
	if (pl.start < VE_IDMAP_SIZE || pl.size < VE_IDMAP_SIZE || pl.size % VE_IDMAP_SIZE ||
	    (uint64_t)pl.start + pl.size > 0xFFFFFFFFULL)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "%s: the pool must start at %u or above, hold a multiple of "
				      "%u ids and end below 4294967295 (got start %u, size %u)",
				      path, VE_IDMAP_SIZE, VE_IDMAP_SIZE, pl.start, pl.size);
	*ret = pl;
	return 0;
}

/* ---- what must never be handed out ---- */

struct taken {
	uint32_t *lo, *hi; /* inclusive ranges */
	size_t n;
};

static void taken_add(struct taken *t, uint64_t lo, uint64_t count)
{
	if (!count)
		return;
	t->lo = xrealloc(t->lo, (t->n + 1) * sizeof(*t->lo));
	t->hi = xrealloc(t->hi, (t->n + 1) * sizeof(*t->hi));
	t->lo[t->n] = (uint32_t)lo;
	t->hi[t->n] = (uint32_t)(lo + count - 1 > 0xFFFFFFFFULL ? 0xFFFFFFFFULL : lo + count - 1);
	t->n++;
}

static void taken_subid_file(struct taken *t, const char *file)
{
	_cleanup_fclose_ FILE *f = fopen(file, "re");
	char line[512];

	while (f && fgets(line, sizeof(line), f)) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		uint64_t start, count;
		if (!b)
			continue;
		*b = '\0';
		b[strcspn(b + 1, "\n") + 1] = '\0';
		if (parse_u64(a + 1, &start) == 0 && parse_u64(b + 1, &count) == 0)
			taken_add(t, start, count);
	}
}

/* Host users and groups (NSS: files, and whatever the host enumerates)
 * and every subordinate id range. */
static void taken_host(struct taken *t)
{
	struct passwd *pw;
	struct group *gr;

	setpwent();
	while ((pw = getpwent()))
		taken_add(t, pw->pw_uid, 1);
	endpwent();
	setgrent();
	while ((gr = getgrent()))
		taken_add(t, gr->gr_gid, 1);
	endgrent();
	taken_subid_file(t, "/etc/subuid");
	taken_subid_file(t, "/etc/subgid");
}

static bool range_free(const struct taken *t, uint32_t base)
{
	uint32_t last = base + VE_IDMAP_SIZE - 1;

	for (size_t i = 0; i < t->n; i++)
		if (t->lo[i] <= last && t->hi[i] >= base)
			return false;
	/* a directory service that doesn't enumerate still answers these */
	return !getpwuid(base) && !getpwuid(last) && !getgrgid(base) && !getgrgid(last);
}

/* ---- the registry ---- */

static char *slot_path(uint32_t base)
{
	return xasprintf("%s/%u", IDMAP_REGISTRY, base);
}

static char *claim_text(const struct ve_paths *p, const char *name)
{
	return xasprintf("%s\n%s\n%d\n", p->data, name, (int)getpid());
}

static bool claim_is(const char *text, const struct ve_paths *p, const char *name)
{
	_cleanup_free_ char *want = xasprintf("%s\n%s\n", p->data, name);
	return str_startswith(text, want);
}

/* Stale: the VE it names has no config, or one with another range, and
 * the process that claimed it (in the middle of a create) is gone. */
static bool claim_stale(const char *text, uint32_t base)
{
	_cleanup_free_ char *copy = xstrdup(text), *cfgpath = NULL;
	char *data = copy, *name, *pid;
	struct ve_config c;
	int ipid;
	bool stale;

	if (!(name = strchr(data, '\n')) || !(pid = strchr(name + 1, '\n')))
		return true;
	*name++ = '\0';
	*pid++ = '\0';
	pid[strcspn(pid, "\n")] = '\0';
	if (parse_int(pid, &ipid) == 0 && ipid > 0 && kill(ipid, 0) == 0)
		return false;
	cfgpath = xasprintf("%s/ves/%s/config.json", data, name);
	if (ve_config_load(cfgpath, name, &c, NULL) < 0)
		return access(cfgpath, F_OK) < 0; /* unreadable: keep it */
	stale = c.idmap_base != base;
	ve_config_done(&c);
	return stale;
}

/* The named temporary files of claimers that died before their link. */
static void tmp_sweep(void)
{
	DIR *d = opendir(IDMAP_REGISTRY);
	struct dirent *de;
	int pid;

	while (d && (de = readdir(d)))
		if (str_startswith(de->d_name, ".claim.") && parse_int(de->d_name + 7, &pid) == 0 &&
		    pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
}

/* Make path hold text, or fail with EEXIST if it exists: the file is
 * written first and then linked into place, so a claim is never seen
 * empty.  (An O_EXCL create followed by a write was: a second create
 * reading it in between took the empty claim for a stale one, removed it
 * and claimed the slot too, and both VEs got the same range.)  O_TMPFILE
 * leaves nothing behind if vert dies before the link; a filesystem
 * without it gets a named temporary file, which the sweep removes. */
static int claim_create(const char *path, const char *text)
{
	_cleanup_free_ char *tmp = NULL, *fdpath = NULL;
	_cleanup_close_ int fd = open(IDMAP_REGISTRY, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	int r = 0;

	if (fd < 0) {
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -errno;
		tmp_sweep();
		tmp = xasprintf("%s/.claim.%d", IDMAP_REGISTRY, (int)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return -errno;
	} else {
		fdpath = xasprintf("/proc/self/fd/%d", fd);
	}
	if (write_all(fd, text, strlen(text)) < 0 ||
	    (tmp ? link(tmp, path) : linkat(AT_FDCWD, fdpath, AT_FDCWD, path, AT_SYMLINK_FOLLOW)) <
		    0)
		r = -errno;
	if (tmp)
		unlink(tmp);
	return r;
}

/* Claim base for (p, name): 0, -EEXIST (someone else's, live), or an
 * error. */
static int slot_claim(const struct ve_paths *p, const char *name, uint32_t base, bool take_stale,
		      vert_error_t *err)
{
	_cleanup_free_ char *path = slot_path(base), *text = claim_text(p, name), *cur = NULL;
	_cleanup_close_ int lock = -EBADF;

	for (int attempt = 0; attempt < 2; attempt++) {
		/* no fsync: a claim lost in a crash is made again by the VE's
		 * next start (its config has the range), and an empty one (a
		 * crash before its data reached the disk) reads as stale */
		int c = claim_create(path, text);
		if (c == 0)
			return 0;
		if (c != -EEXIST)
			return vert_error_set(err, -c, VERT_ERR_RUNTIME,
					      "claim uid range: create '%s'", path);
		if (read_file_at(AT_FDCWD, path, 8192, &cur, NULL) < 0)
			return -EEXIST;
		if (claim_is(cur, p, name))
			return 0;
		if (!take_stale || attempt)
			return -EEXIST;
		/* under the registry lock, so two takers don't both win */
		lock = open(IDMAP_REGISTRY "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lock < 0 || flock(lock, LOCK_EX) < 0)
			return vert_error_sys(err, "lock '%s'", IDMAP_REGISTRY);
		free(cur);
		cur = NULL;
		if (read_file_at(AT_FDCWD, path, 8192, &cur, NULL) == 0 && !claim_stale(cur, base))
			return -EEXIST;
		unlink(path);
	}
	return -EEXIST;
}

static char *index_path(const struct ve_paths *p, const char *name)
{
	return name ? xasprintf("%s/idmap.d/%s", p->data, name) : xasprintf("%s/idmap.d", p->data);
}

static void index_set(const struct ve_paths *p, const char *name, uint32_t base)
{
	_cleanup_free_ char *dir = index_path(p, NULL), *path = index_path(p, name);
	_cleanup_free_ char *tmp = xasprintf("%s.new", path), *target = xasprintf("%u", base);

	mkdir(dir, 0700);
	unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
}

static void index_unset(const struct ve_paths *p, const char *name)
{
	_cleanup_free_ char *path = index_path(p, name);
	unlink(path);
}

static uint32_t index_get(const struct ve_paths *p, const char *name)
{
	_cleanup_free_ char *path = index_path(p, name);
	char buf[16];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	uint32_t base;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return parse_u32(buf, &base) == 0 ? base : 0;
}

int ve_idrange_alloc(const struct ve_paths *p, const char *name, uint32_t *ret_base,
		     vert_error_t *err)
{
	struct taken t = { 0 };
	struct pool pl = { 0 };
	uint32_t slots, first;
	int r;

	if ((r = pool_load(p, &pl, err)) < 0)
		return r;
	if ((r = mkdir_p(IDMAP_REGISTRY, 0700)) < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "create '%s'", IDMAP_REGISTRY);
	taken_host(&t);
	slots = pl.size / VE_IDMAP_SIZE;
	/* The index names a slot before its claim is made: a create killed
	 * right after the claim's link leaves an index entry for the sweep to
	 * find.  (Written after, the claim of a create killed between the two
	 * was found by nothing and kept its range for good.)  An entry whose
	 * slot another VE holds is harmless: release checks the owner. */
	/* a range this name claimed before (a create that was killed) */
	{
		uint32_t old = index_get(p, name);
		if (old >= pl.start && old - pl.start < pl.size &&
		    (old - pl.start) % VE_IDMAP_SIZE == 0 && range_free(&t, old) &&
		    slot_claim(p, name, old, true, NULL) == 0) {
			free(t.lo);
			free(t.hi);
			*ret_base = old;
			return 0;
		}
	}
	/* start at a random slot: creates running side by side rarely meet */
	{
		char hex[9];
		random_hex(hex, 8);
		first = (uint32_t)strtoul(hex, NULL, 16) % slots;
	}
	r = -ENOSPC;
	for (uint32_t i = 0; i < slots && r == -ENOSPC; i++) {
		uint32_t base = pl.start + ((first + i) % slots) * VE_IDMAP_SIZE;
		int c;
		if (!range_free(&t, base))
			continue;
		index_set(p, name, base);
		c = slot_claim(p, name, base, true, err);
		if (c == 0) {
			*ret_base = base;
			r = 0;
		} else if (c != -EEXIST) {
			r = c;
		}
	}
	free(t.lo);
	free(t.hi);
	if (r < 0)
		index_unset(p, name);
	if (r == -ENOSPC)
		return vert_error_set(err, ENOSPC, VERT_ERR_RUNTIME,
				      "no free range of %u host uids left in the pool %u-%u (%u "
				      "ranges; set another pool in '%s/idmap.json')",
				      VE_IDMAP_SIZE, pl.start, pl.start + (pl.size - 1), slots,
				      p->data);
	return r;
}

int ve_idrange_claim(const struct ve_paths *p, const char *name, uint32_t base, vert_error_t *err)
{
	_cleanup_free_ char *path = slot_path(base), *cur = NULL;
	struct taken t = { 0 };
	bool ok;
	int r;

	if ((r = mkdir_p(IDMAP_REGISTRY, 0700)) < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "create '%s'", IDMAP_REGISTRY);
	/* a host user or subuid range may have appeared since create */
	taken_host(&t);
	ok = range_free(&t, base);
	free(t.lo);
	free(t.hi);
	if (!ok)
		return vert_error_set(
			err, EEXIST, VERT_ERR_INVALID,
			"the host uid range %u-%u of VE '%s' now overlaps a host user, "
			"group or /etc/subuid range",
			base, base + VE_IDMAP_SIZE - 1, name);
	/* the index first, as in ve_idrange_alloc; the VE's config names
	 * the range anyway, so the entry is only for a claim's sweep */
	index_set(p, name, base);
	r = slot_claim(p, name, base, true, err);
	if (r == -EEXIST) {
		char *owner = NULL;
		if (read_file_at(AT_FDCWD, path, 8192, &cur, NULL) == 0) {
			char *nl = strchr(cur, '\n');
			if (nl) {
				*nl = '\0';
				owner = nl + 1;
				owner[strcspn(owner, "\n")] = '\0';
			}
		}
		return vert_error_set(err, EEXIST, VERT_ERR_BUSY,
				      "the host uid range %u-%u of VE '%s' is held by VE '%s' of "
				      "'%s' (%s)",
				      base, base + VE_IDMAP_SIZE - 1, name, owner ? owner : "?",
				      cur ? cur : "?", path);
	}
	return r;
}

void ve_idrange_release(const struct ve_paths *p, const char *name, uint32_t base)
{
	_cleanup_free_ char *path = slot_path(base), *cur = NULL;

	if (!base)
		return;
	if (read_file_at(AT_FDCWD, path, 8192, &cur, NULL) == 0 && claim_is(cur, p, name))
		unlink(path);
	if (index_get(p, name) == base)
		index_unset(p, name);
}

void ve_idrange_release_claimed(const struct ve_paths *p, const char *name)
{
	ve_idrange_release(p, name, index_get(p, name));
}

/* Claims of VEs that don't exist (a create killed before its config was
 * written): given back.  Names for which listed(set, name) is true are
 * skipped: the caller reconciles every VE directory, which gives a
 * config-less one's range back (ve_remove_data_now), and a listing of
 * 10,000 VEs saves as many access(2) calls. */
void ve_idrange_sweep(const struct ve_paths *p, bool (*listed)(const void *set, const char *name),
		      const void *set)
{
	_cleanup_free_ char *dir = index_path(p, NULL);
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		_cleanup_free_ char *cfg = NULL;
		uint32_t base;
		if (de->d_name[0] == '.' || !ve_name_valid(de->d_name) ||
		    (listed && listed(set, de->d_name)))
			continue;
		cfg = xasprintf("%s/ves/%s/config.json", p->data, de->d_name);
		if (access(cfg, F_OK) == 0 || !(base = index_get(p, de->d_name)))
			continue;
		{
			/* only while nobody creates it: its lock is free */
			_cleanup_ve_handle_ struct ve_handle *h = NULL;
			if (ve_open(p, de->d_name, VE_OPEN_LOCK, &h, NULL) < 0)
				continue;
			if (access(cfg, F_OK) < 0)
				ve_idrange_release(p, de->d_name, base);
		}
	}
	if (d)
		closedir(d);
}
