/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Address leases and published-port claims, changed only under an
 * exclusive flock on DATA/net/ipam.lock (so parallel vert commands never
 * hand out one address twice), read without it.
 *
 * A lease costs O(1) in the number of VEs (issue 15): one entry per lease,
 * never a file of all of them.
 *
 *   DATA/net/leases.d/10.88.0.2 -> web1           the claim of an address
 *   DATA/net/leases.d/by-name/web1 -> 10.88.0.2   the name's index entry
 *   DATA/net/leases.d/.hint-10.88.0.0 -> 10.88.0.2   last address given
 *                                                  out in that subnet
 *   DATA/net/ports.json  { "ports": { "tcp:0.0.0.0:8080:80": "web1" } }
 *
 * Entries are symbolic links, never followed (readlinkat only): symlink(2)
 * makes one with its content in one step, and fails with EEXIST when the
 * name is taken, so there is no empty or half-written claim to see, and
 * making a claim is how an address is found free.  A name's lease is the
 * address its index entry names, if that address's claim names it back;
 * anything else is not a lease:
 *   - a claim whose name's index entry names another address (or none)
 *     is an orphan, left by a vert killed in the middle; the allocator
 *     takes such an address back when it comes to it (and a requested
 *     address is taken back at once), and no reader counts it;
 *   - an index entry whose claim doesn't name it back is no lease, and
 *     is replaced by the name's next lease; by the order below, vert
 *     never leaves one (it takes a hand edit), so a listing reads only
 *     the index entry.
 * A new lease makes the claim, then replaces the index entry (a link to
 * the address made under the temporary name .tmp-NAME, renamed over),
 * then removes the claim of the name's previous address, if any: killed
 * at any point, the name has its old lease or its new one, and the
 * address in between is an orphan.  A release removes the index entry
 * first, then the claim.  So an address is never handed out twice, a
 * lease is never lost, and a leftover (an orphan, a .tmp- entry) costs no
 * address for good: .tmp-NAME is reused by NAME's next lease and removed
 * by its release.
 *
 * The search for a free address starts after the subnet's hint (the last
 * address it gave out, a link under a temporary name renamed over, never
 * fsynced: a lost or bogus hint only moves where the search starts) and
 * wraps around, so addresses are given out in turn, a released one only
 * when the search comes round to it again; with the subnet far from full
 * that is O(1) tries.  A name's lease is 2 readlinkat()s; a listing
 * (vnet_leases_load) reads no directory, and one index entry for each name
 * it shows.
 *
 * Power loss: the directory of a claim is fsynced before the index entry
 * is made, and that of the index entry before the lease is returned, so a
 * lease a VE was started with survives (on a filesystem that journals its
 * metadata: ext4, xfs, btrfs).  A release fsyncs the removal of the index
 * entry (a destroyed VE's lease must not come back); the removal of a
 * claim that is no lease any more (a release's, a previous address's) is
 * not fsynced: lost, it comes back as an orphan (above).  The lease of an
 * --rm VE (VNET_LEASE_EPHEMERAL) skips these fsyncs, made and released:
 * a crash takes the VE along, whose leftover data the next command that
 * sees it removes, lease and all.  The journal still commits the changes in
 * the order they were made, so what a crash keeps is one of the states
 * above, and a release that did not last comes back with the VE data
 * removed after it.
 *
 * Port claims stay one small file, rewritten whole (temp, fsync, rename,
 * fsync of the directory): only VEs that publish ports are in it, and it
 * is read at the start and stop of a VE (O(VEs with ports)), not the
 * lease: that stays O(1).
 *
 * Upgrade: a state root of an older vert has DATA/net/leases.json
 * ({"leases": {NAME: ADDR}, "ports": {...}}).  The first change under the
 * lock (lease, release, port claim) converts it: every lease is made as
 * above (an entry already right is left alone, a wrong one replaced, so a
 * conversion killed halfway is just done again), both directories are
 * fsynced, the ports are written to ports.json, and only then is
 * leases.json removed (and DATA/net fsynced).  Until then, readers read leases.json.  A
 * leases.json that can't be read is refused and left as it is: its leases
 * would otherwise be handed out again.
 *
 * A lease belongs to the VE (it survives restarts) and goes away with it
 * (vnet_release); a port claim lives while the VE's network is up.
 */
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "net-internal.h"
#include "vert/json.h"
#include "vert/util.h"
#include "vert/vnet.h"

#define LEASES_DIR "leases.d"
#define NAMES_DIR "by-name"
#define LEGACY "leases.json"
#define PORTS "ports.json"

/* A document of leases.json or ports.json: "key", "value" pairs in file
 * order.  vnet_leases_load of a converted state root keeps the two
 * directories instead and looks each name up there. */
struct vnet_leases {
	char **leases, **ports;
	/* leases.json: the lease pairs sorted by name, for vnet_leases_get
	 * (a listing of N VEs looks up N names) */
	char ***by_name;
	size_t n_by_name;
	int claims, names; /* leases.d, leases.d/by-name (O_PATH) */
};

struct ipam {
	char *dir; /* DATA/net */
	int lock;
	int dfd;		/* DATA/net */
	int claims, names;	/* opened by ipam_dirs */
	struct vnet_leases doc; /* ports.json, loaded by ports_open */
	bool ephemeral;		/* VNET_LEASE_EPHEMERAL: no lease_sync */
};

static void leases_done(struct vnet_leases *ls)
{
	strv_free(ls->leases);
	strv_free(ls->ports);
	free(ls->by_name);
	if (ls->claims >= 0)
		close(ls->claims);
	if (ls->names >= 0)
		close(ls->names);
	memset(ls, 0, sizeof(*ls));
	ls->claims = ls->names = -EBADF;
}

static void ipam_close(struct ipam *m)
{
	leases_done(&m->doc);
	if (m->lock >= 0)
		close(m->lock);
	if (m->dfd >= 0)
		close(m->dfd);
	if (m->claims >= 0)
		close(m->claims);
	if (m->names >= 0)
		close(m->names);
	free(m->dir);
	memset(m, 0, sizeof(*m));
	m->lock = m->dfd = m->claims = m->names = m->doc.claims = m->doc.names = -EBADF;
}

#define IPAM_INIT                                                                                  \
	{                                                                                          \
		.lock = -EBADF, .dfd = -EBADF, .claims = -EBADF, .names = -EBADF,                  \
		.doc = {.claims = -EBADF,                                                          \
			.names = -EBADF }                                                          \
	}

static const char *pairs_get(char *const *kv, const char *k)
{
	for (size_t i = 0; kv && kv[i]; i += 2)
		if (strcmp(kv[i], k) == 0)
			return kv[i + 1];
	return NULL;
}

static void pairs_set(char ***kv, const char *k, const char *v)
{
	for (size_t i = 0; *kv && (*kv)[i]; i += 2)
		if (strcmp((*kv)[i], k) == 0) {
			free((*kv)[i + 1]);
			(*kv)[i + 1] = xstrdup(v);
			return;
		}
	*kv = strv_push(*kv, xstrdup(k));
	*kv = strv_push(*kv, xstrdup(v));
}

/* Drop the pairs whose value is v; how many there were. */
static size_t pairs_drop_value(char **kv, const char *v)
{
	size_t n = 0, j = 0;

	for (size_t i = 0; kv && kv[i]; i += 2) {
		if (strcmp(kv[i + 1], v) == 0) {
			free(kv[i]);
			free(kv[i + 1]);
			n++;
			continue;
		}
		kv[j++] = kv[i];
		kv[j++] = kv[i + 1];
	}
	if (kv)
		kv[j] = NULL;
	return n;
}

static struct json_object *pairs_json(char *const *kv)
{
	struct json_object *o = json_object_new_object();
	for (size_t i = 0; kv && kv[i]; i += 2)
		json_object_object_add(o, kv[i], json_object_new_string(kv[i + 1]));
	return o;
}

/* every lease is an IPv4 address */
static int set_leases(struct json_object *v, void *target, const struct vjson_field *f,
		      const struct vjson_loc *loc, vert_error_t *err)
{
	char ***kv = target;
	uint32_t a;
	int r;

	if ((r = vjson_strmap(v, target, f, loc, err)) < 0)
		return r;
	for (size_t i = 0; *kv && (*kv)[i]; i += 2)
		if (vnet_parse_ipv4((*kv)[i + 1], &a) < 0) {
			struct vjson_loc el;
			vjson_loc_child(loc, (*kv)[i], &el);
			return vjson_error(err, &el, "'%s' is not an IPv4 address", (*kv)[i + 1]);
		}
	return 0;
}

static const struct vjson_field leases_table[] = {
	VJSON_FIELD("leases", VJSON_OBJECT, set_leases, struct vnet_leases, leases, 0),
	VJSON_FIELD("ports", VJSON_OBJECT, vjson_strmap, struct vnet_leases, ports, 0),
	{},
};

static const struct vjson_field ports_table[] = {
	VJSON_FIELD("ports", VJSON_OBJECT, vjson_strmap, struct vnet_leases, ports, 0),
	{},
};

static int doc_parse(struct json_object *o, const struct vjson_field *table, const char *where,
		     struct vnet_leases *ls, vert_error_t *err)
{
	struct vnet_leases in = { .claims = -EBADF, .names = -EBADF };
	int r;

	if ((r = vjson_dispatch(o, table, 0, &in, where, err)) < 0) {
		leases_done(&in);
		return r;
	}
	*ls = in;
	return 0;
}

int vnet_leases_parse(struct json_object *o, const char *where, struct vnet_leases **ret,
		      vert_error_t *err)
{
	struct vnet_leases *ls = xcalloc(1, sizeof(*ls));
	int r = doc_parse(o, leases_table, where, ls, err);

	if (r < 0) {
		free(ls);
		return r;
	}
	*ret = ls;
	return 0;
}

/* leases.json or ports.json (by table) at path: -ENOENT (err left
 * alone) when there is none */
static int doc_read(const char *path, const struct vjson_field *table, struct vnet_leases *ls,
		    vert_error_t *err)
{
	_cleanup_json_ struct json_object *o = NULL;
	vert_error_t e = VERT_ERROR_INIT;
	int r;

	memset(ls, 0, sizeof(*ls));
	ls->claims = ls->names = -EBADF;
	r = vjson_parse_file(AT_FDCWD, path, 8 << 20, &o, &e);
	if (r == 0)
		r = doc_parse(o, table, path, ls, &e);
	if (r < 0 && r != -ENOENT)
		vert_error_move(err, &e);
	vert_error_clear(&e);
	return r;
}

/* The leases.json of a state root not converted yet (-ENOENT: none). */
static int legacy_read(const char *data_dir, struct vnet_leases *ls, vert_error_t *err)
{
	_cleanup_free_ char *path = xasprintf("%s/net/" LEGACY, data_dir);
	return doc_read(path, leases_table, ls, err);
}

/* ---- the entries ---- */

/* A VE name as the name of an entry (and of the .tmp- one beside it). */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n < NAME_MAX - 5 && s[0] != '.' && !strchr(s, '/');
}

/* The target of the link name in dirfd, in buf: its length, -ENOENT,
 * -errno, or -ENAMETOOLONG when it doesn't fit. */
static int link_read(int dirfd, const char *name, char *buf, size_t size)
{
	ssize_t n = readlinkat(dirfd, name, buf, size);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return (int)n;
}

/* The address the index entry of name names (0 if none or not one). */
static uint32_t index_get(int names, const char *name)
{
	char buf[32];
	uint32_t a;

	if (!name_ok(name) || link_read(names, name, buf, sizeof(buf)) < 0 ||
	    vnet_parse_ipv4(buf, &a) < 0)
		return 0;
	return a;
}

/* The name the claim of a names, in buf (false if none or not a name). */
static bool claim_get(int claims, uint32_t a, char buf[static NAME_MAX + 1])
{
	char ip[16];

	vnet_format_ipv4(a, ip);
	return link_read(claims, ip, buf, NAME_MAX + 1) > 0 && name_ok(buf);
}

/* The lease of name (0 if none): its index entry's address, claimed by it. */
static uint32_t lease_of(int claims, int names, const char *name)
{
	uint32_t a = index_get(names, name);
	char holder[NAME_MAX + 1];

	return a && claim_get(claims, a, holder) && strcmp(holder, name) == 0 ? a : 0;
}

/* Whose lease a is: true and the name in holder, or false (no claim, or
 * an orphan). */
static bool holder_of(int claims, int names, uint32_t a, char holder[static NAME_MAX + 1])
{
	return claim_get(claims, a, holder) && index_get(names, holder) == a;
}

/* Make or replace the link name -> target in dirfd: made as .tmp-NAME,
 * renamed over (a .tmp-NAME left by a killed vert is reused). */
static int link_replace(int dirfd, const char *target, const char *name)
{
	char tmp[NAME_MAX + 1];

	snprintf(tmp, sizeof(tmp), ".tmp-%s", name);
	if (symlinkat(target, dirfd, tmp) < 0) {
		if (errno != EEXIST || unlinkat(dirfd, tmp, 0) < 0 ||
		    symlinkat(target, dirfd, tmp) < 0)
			return -errno;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int r = -errno;
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	return 0;
}

static int sync_dir(int dirfd, const char *what, const char *dir, vert_error_t *err)
{
	if (fsync(dirfd) < 0)
		return vert_error_sys(err, "sync '%s/%s'", dir, what);
	return 0;
}

/* sync_dir for a lease's claim or index entry, unless it is ephemeral */
static int lease_sync(const struct ipam *m, int dirfd, const char *what, vert_error_t *err)
{
	return m->ephemeral ? 0 : sync_dir(dirfd, what, m->dir, err);
}

/* Claim a for name: 0, -EEXIST when it is someone's lease, or an error.
 * An orphan claim is taken back; one naming name already is kept. */
static int claim_make(struct ipam *m, uint32_t a, const char *name, vert_error_t *err)
{
	char ip[16], holder[NAME_MAX + 1];

	vnet_format_ipv4(a, ip);
	for (int tries = 0; tries < 2; tries++) {
		if (symlinkat(name, m->claims, ip) == 0)
			return 0;
		if (errno != EEXIST)
			break;
		if (claim_get(m->claims, a, holder)) {
			if (strcmp(holder, name) == 0)
				return 0; /* an orphan of its own */
			if (index_get(m->names, holder) == a)
				return -EEXIST;
		}
		vert_debug("lease: taking back the orphan claim of %s", ip);
		if (unlinkat(m->claims, ip, 0) < 0 && errno != ENOENT)
			break;
	}
	return vert_error_sys(err, "claim '%s/" LEASES_DIR "/%s'", m->dir, ip);
}

/* Make name's lease a (claimed already), replacing its previous one. */
static int index_set(struct ipam *m, const char *name, uint32_t a, uint32_t prev, vert_error_t *err)
{
	char ip[16];
	int r;

	vnet_format_ipv4(a, ip);
	r = lease_sync(m, m->claims, LEASES_DIR, err);
	if (r == 0 && (r = link_replace(m->names, ip, name)) < 0)
		r = vert_error_set(err, -r, VERT_ERR_RUNTIME,
				   "write '%s/" LEASES_DIR "/" NAMES_DIR "/%s'", m->dir, name);
	if (r < 0) {
		unlinkat(m->claims, ip, 0); /* not its lease: an orphan otherwise */
		return r;
	}
	/* from here on, a is name's lease (if not a durable one yet) */
	if ((r = lease_sync(m, m->names, LEASES_DIR "/" NAMES_DIR, err)) < 0)
		return r;
	if (prev && prev != a) {
		vnet_format_ipv4(prev, ip);
		unlinkat(m->claims, ip, 0); /* failing, an orphan */
	}
	return 0;
}

/* ---- the lock, the directories, the upgrade ---- */

/* Take the network lock (DATA/net/ipam.lock), making DATA/net if needed. */
static int ipam_lock(const char *data_dir, struct ipam *m, vert_error_t *err)
{
	_cleanup_free_ char *lockp = NULL;

	ipam_close(m);
	m->dir = xasprintf("%s/net", data_dir);
	if (mkdir(m->dir, 0700) < 0 && errno != EEXIST)
		return vert_error_sys(err, "create '%s'", m->dir);
	lockp = xasprintf("%s/ipam.lock", m->dir);
	m->lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (m->lock < 0)
		return vert_error_sys(err, "open '%s'", lockp);
	while (flock(m->lock, LOCK_EX) < 0)
		if (errno != EINTR)
			return vert_error_sys(err, "lock '%s'", lockp);
	m->dfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (m->dfd < 0)
		return vert_error_sys(err, "open '%s'", m->dir);
	return 0;
}

/* Open (making them if needed) leases.d and leases.d/by-name. */
static int ipam_dirs(struct ipam *m, vert_error_t *err)
{
	const int fl = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW;

	if (m->names >= 0)
		return 0;
	if (mkdirat(m->dfd, LEASES_DIR, 0700) == 0 && fsync(m->dfd) < 0)
		return vert_error_sys(err, "sync '%s'", m->dir);
	if ((m->claims = openat(m->dfd, LEASES_DIR, fl)) < 0)
		return vert_error_sys(err, "open '%s/" LEASES_DIR "'", m->dir);
	if (mkdirat(m->claims, NAMES_DIR, 0700) == 0 && fsync(m->claims) < 0)
		return vert_error_sys(err, "sync '%s/" LEASES_DIR "'", m->dir);
	if ((m->names = openat(m->claims, NAMES_DIR, fl)) < 0)
		return vert_error_sys(err, "open '%s/" LEASES_DIR "/" NAMES_DIR "'", m->dir);
	return 0;
}

static int ports_save(struct ipam *m, vert_error_t *err)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	const char *s;
	int r;

	json_object_object_add(o, "ports", pairs_json(m->doc.ports));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	r = write_file_atomic_at(m->dfd, PORTS, s, strlen(s), 0600);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "write '%s/" PORTS "'", m->dir);
	return sync_dir(m->dfd, "", m->dir, err);
}

/* by_name entries point at a pair: [0] the name, [1] the address */
static int cmp_pair_key(const void *a, const void *b)
{
	char **const *x = a, **const *y = b;
	return strcmp((*x)[0], (*y)[0]);
}

static int cmp_pair_value(const void *a, const void *b)
{
	char **const *x = a, **const *y = b;
	uint32_t p, q;

	vnet_parse_ipv4((*x)[1], &p); /* checked on load */
	vnet_parse_ipv4((*y)[1], &q);
	return p < q ? -1 : p > q;
}

/* No address leased twice in a leases.json (one would lose its lease in
 * the conversion). */
static int legacy_unique(const struct vnet_leases *old, const char *dir, vert_error_t *err)
{
	size_t n = strv_len(old->leases) / 2;
	_cleanup_free_ char ***v = xcalloc(n + 1, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = &old->leases[2 * i];
	qsort(v, n, sizeof(*v), cmp_pair_value);
	for (size_t i = 1; i < n; i++)
		if (cmp_pair_value(&v[i - 1], &v[i]) == 0)
			return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					      "%s/" LEGACY ": %s is leased to both '%s' and '%s'",
					      dir, v[i][1], v[i - 1][0], v[i][0]);
	return 0;
}

/* Convert a leases.json (under the lock; see the top of the file). */
static int ipam_upgrade(struct ipam *m, const char *data_dir, vert_error_t *err)
{
	struct vnet_leases old;
	int r;

	if (faccessat(m->dfd, LEGACY, F_OK, 0) < 0 && errno == ENOENT)
		return 0;
	/* a broken file is not converted nor removed: its leases would be
	 * handed out again */
	if ((r = legacy_read(data_dir, &old, err)) < 0)
		return r == -ENOENT ? 0 : r;
	for (size_t i = 0; old.leases && old.leases[i]; i += 2) {
		const char *name = old.leases[i];
		if (!name_ok(name)) {
			r = vert_error_set(err, EINVAL, VERT_ERR_INVALID,
					   "%s/" LEGACY ": '%s' is not a VE name", m->dir, name);
			goto out;
		}
	}
	if ((r = legacy_unique(&old, m->dir, err)) < 0)
		goto out;
	if ((r = ipam_dirs(m, err)) < 0)
		goto out;
	for (size_t i = 0; old.leases && old.leases[i]; i += 2) {
		const char *name = old.leases[i];
		char cur[NAME_MAX + 1];
		uint32_t a;

		vnet_parse_ipv4(old.leases[i + 1], &a); /* checked on load */
		/* leases.json is the truth: what a conversion killed halfway
		 * made is right or replaced (and so is the index entry of a
		 * name whose claim it replaces) */
		if (claim_get(m->claims, a, cur) && strcmp(cur, name) != 0 &&
		    index_get(m->names, cur) == a)
			unlinkat(m->names, cur, 0);
		if (!(claim_get(m->claims, a, cur) && strcmp(cur, name) == 0) &&
		    (r = link_replace(m->claims, name, old.leases[i + 1])) < 0) {
			r = vert_error_set(err, -r, VERT_ERR_RUNTIME,
					   "write '%s/" LEASES_DIR "/%s'", m->dir,
					   old.leases[i + 1]);
			goto out;
		}
		if (index_get(m->names, name) != a &&
		    (r = link_replace(m->names, old.leases[i + 1], name)) < 0) {
			r = vert_error_set(err, -r, VERT_ERR_RUNTIME,
					   "write '%s/" LEASES_DIR "/" NAMES_DIR "/%s'", m->dir,
					   name);
			goto out;
		}
	}
	if ((r = sync_dir(m->claims, LEASES_DIR, m->dir, err)) < 0 ||
	    (r = sync_dir(m->names, LEASES_DIR "/" NAMES_DIR, m->dir, err)) < 0)
		goto out;
	m->doc.ports = TAKE_PTR(old.ports);
	if (m->doc.ports && m->doc.ports[0] && (r = ports_save(m, err)) < 0)
		goto out;
	strv_free(m->doc.ports);
	m->doc.ports = NULL;
	if (unlinkat(m->dfd, LEGACY, 0) < 0 && errno != ENOENT) {
		r = vert_error_sys(err, "remove '%s/" LEGACY "'", m->dir);
		goto out;
	}
	r = sync_dir(m->dfd, "", m->dir, err);
	vert_debug("converted '%s/" LEGACY "' (%zu leases) to '%s/" LEASES_DIR "'", m->dir,
		   strv_len(old.leases) / 2, m->dir);
out:
	leases_done(&old);
	return r;
}

/* Lock, and convert a leases.json. */
static int ipam_open(const char *data_dir, struct ipam *m, vert_error_t *err)
{
	int r;

	if ((r = ipam_lock(data_dir, m, err)) < 0)
		return r;
	return ipam_upgrade(m, data_dir, err);
}

/* ipam_open, then load ports.json (no claims when there is none). */
static int ports_open(const char *data_dir, struct ipam *m, vert_error_t *err)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if ((r = ipam_open(data_dir, m, err)) < 0)
		return r;
	path = xasprintf("%s/" PORTS, m->dir);
	/* a broken file is not overwritten: its claims would be lost */
	r = doc_read(path, ports_table, &m->doc, err);
	return r == -ENOENT ? 0 : r;
}

/* Open leases.d and by-name of a state root to read (no lock): 0, or
 * -ENOENT when there are none. */
static int dirs_read(const char *data_dir, int *claims, int *names)
{
	_cleanup_free_ char *p = xasprintf("%s/net/" LEASES_DIR, data_dir);
	const int fl = O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW;

	*claims = open(p, fl);
	if (*claims < 0)
		return -errno;
	*names = openat(*claims, NAMES_DIR, fl);
	if (*names < 0) {
		int r = -errno;
		close(*claims);
		*claims = -EBADF;
		return r;
	}
	return 0;
}

/* ---- leases ---- */

static uint32_t hint_get(struct ipam *m, uint32_t subnet)
{
	char key[32], buf[32];
	uint32_t a;

	snprintf(key, sizeof(key), ".hint-%u.%u.%u.%u", subnet >> 24, (subnet >> 16) & 255,
		 (subnet >> 8) & 255, subnet & 255);
	if (link_read(m->claims, key, buf, sizeof(buf)) < 0 || vnet_parse_ipv4(buf, &a) < 0)
		return 0;
	return a;
}

static void hint_set(struct ipam *m, uint32_t subnet, uint32_t a)
{
	char key[32], ip[16];

	snprintf(key, sizeof(key), ".hint-%u.%u.%u.%u", subnet >> 24, (subnet >> 16) & 255,
		 (subnet >> 8) & 255, subnet & 255);
	vnet_format_ipv4(a, ip);
	link_replace(m->claims, ip, key); /* only a hint */
}

/* Claim the next free address after the hint, wrapping around. */
static int lease_search(struct ipam *m, const char *name, uint32_t subnet, int prefix,
			uint32_t *ret, vert_error_t *err)
{
	uint32_t mask = vnet_prefix_mask(prefix), bcast = subnet | ~mask;
	uint32_t lo = subnet + 2, hi = bcast - 1, hint = hint_get(m, subnet);
	uint64_t size = hi >= lo ? (uint64_t)hi - lo + 1 : 0;
	uint64_t start = hint >= lo && hint < hi ? hint - lo + 1 : 0;
	char net[16];
	int r;

	for (uint64_t i = 0; i < size; i++) {
		uint32_t a = lo + (uint32_t)((start + i) % size);
		r = claim_make(m, a, name, err);
		if (r == -EEXIST)
			continue;
		if (r < 0)
			return r;
		hint_set(m, subnet, a);
		*ret = a;
		return 0;
	}
	vnet_format_ipv4(subnet, net);
	return vert_error_set(err, ENOSPC, VERT_ERR_RUNTIME, "no free address left in %s/%d", net,
			      prefix);
}

int vnet_ipam_lease(const char *data_dir, const char *name, uint32_t subnet, int prefix,
		    uint32_t want, uint32_t *ret, bool *ret_new, unsigned flags, vert_error_t *err)
{
	_cleanup_(ipam_close) struct ipam m = IPAM_INIT;
	uint32_t mask = vnet_prefix_mask(prefix), mine, pick = 0;
	int r;

	if (!name_ok(name))
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
				      "'%s' can't hold an address lease", name);
	if ((r = ipam_open(data_dir, &m, err)) < 0 || (r = ipam_dirs(&m, err)) < 0)
		return r;
	m.ephemeral = flags & VNET_LEASE_EPHEMERAL;
	mine = lease_of(m.claims, m.names, name);
	if (want) {
		char ip[16], holder[NAME_MAX + 1];
		vnet_format_ipv4(want, ip);
		if ((r = vnet_ipv4_usable(subnet, prefix, want, err)) < 0)
			return r;
		if (want != mine && holder_of(m.claims, m.names, want, holder))
			return vert_error_set(err, EADDRINUSE, VERT_ERR_EXISTS,
					      "address %s is already in use by VE '%s'", ip,
					      holder);
		if (want != mine && (r = claim_make(&m, want, name, err)) < 0)
			return r; /* not -EEXIST: no holder (and the lock is held) */
		pick = want;
	} else if (mine && (mine & mask) == subnet) {
		pick = mine;
	} else if ((r = lease_search(&m, name, subnet, prefix, &pick, err)) < 0) {
		return r;
	}
	if (pick != mine && (r = index_set(&m, name, pick, mine, err)) < 0)
		return r;
	*ret = pick;
	if (ret_new)
		*ret_new = pick != mine;
	return 0;
}

int vnet_ipam_release(const char *data_dir, const char *name, unsigned flags, vert_error_t *err)
{
	_cleanup_(ipam_close) struct ipam m = IPAM_INIT;
	char tmp[NAME_MAX + 1], holder[NAME_MAX + 1];
	uint32_t a;
	int r;

	if ((r = ports_open(data_dir, &m, err)) < 0)
		return r;
	/* claims are dropped by teardown; a destroyed VE keeps none */
	if (pairs_drop_value(m.doc.ports, name) > 0 && (r = ports_save(&m, err)) < 0)
		return r;
	if (!name_ok(name))
		return 0; /* it has no lease */
	if ((r = ipam_dirs(&m, err)) < 0)
		return r;
	a = index_get(m.names, name);
	m.ephemeral = flags & VNET_LEASE_EPHEMERAL;
	if (unlinkat(m.names, name, 0) == 0) {
		if ((r = lease_sync(&m, m.names, LEASES_DIR "/" NAMES_DIR, err)) < 0)
			return r;
	} else if (errno != ENOENT) {
		return vert_error_sys(err, "remove '%s/" LEASES_DIR "/" NAMES_DIR "/%s'", m.dir,
				      name);
	}
	snprintf(tmp, sizeof(tmp), ".tmp-%s", name);
	unlinkat(m.names, tmp, 0); /* what a killed lease left */
	if (a && claim_get(m.claims, a, holder) && strcmp(holder, name) == 0) {
		char ip[16];
		vnet_format_ipv4(a, ip);
		unlinkat(m.claims, ip, 0); /* failing, an orphan */
	}
	return 0;
}

int vnet_ipam_holder(const char *data_dir, const char *name, uint32_t addr, char **ret)
{
	struct vnet_leases ls;
	int claims, names;

	*ret = NULL;
	if (legacy_read(data_dir, &ls, NULL) == 0) {
		for (size_t i = 0; ls.leases && ls.leases[i]; i += 2) {
			uint32_t a;
			if (strcmp(ls.leases[i], name) != 0 &&
			    vnet_parse_ipv4(ls.leases[i + 1], &a) == 0 && a == addr) {
				*ret = xstrdup(ls.leases[i]);
				break;
			}
		}
		leases_done(&ls);
	} else if (dirs_read(data_dir, &claims, &names) == 0) {
		char holder[NAME_MAX + 1];
		if (holder_of(claims, names, addr, holder) && strcmp(holder, name) != 0)
			*ret = xstrdup(holder);
		close(claims);
		close(names);
	}
	/* unreadable leases: no holder known here; the lease itself refuses */
	return *ret ? 1 : 0;
}

int vnet_ipam_lookup(const char *data_dir, const char *name, uint32_t *ret)
{
	struct vnet_leases ls;
	int claims, names, r;

	*ret = 0;
	r = legacy_read(data_dir, &ls, NULL);
	if (r == 0) {
		const char *ip = pairs_get(ls.leases, name);
		r = ip ? vnet_parse_ipv4(ip, ret) : -ENOENT;
		leases_done(&ls);
		return r;
	}
	if (r != -ENOENT)
		return r;
	if ((r = dirs_read(data_dir, &claims, &names)) < 0)
		return r;
	*ret = lease_of(claims, names, name);
	close(claims);
	close(names);
	return *ret ? 0 : -ENOENT;
}

struct vnet_leases *vnet_leases_load(const char *data_dir)
{
	struct vnet_leases *ls = xcalloc(1, sizeof(*ls));
	vert_error_t e = VERT_ERROR_INIT;
	int r = legacy_read(data_dir, ls, &e);

	if (r == -ENOENT) {
		/* converted (or never leased): each name is looked up */
		if (dirs_read(data_dir, &ls->claims, &ls->names) == 0)
			return ls;
		free(ls);
		return NULL;
	}
	if (r < 0) {
		/* a listing shows no addresses then, and says why */
		vert_log(VERT_LOG_WARNING, "%s", e.msg);
		vert_error_clear(&e);
		free(ls);
		return NULL;
	}
	ls->n_by_name = strv_len(ls->leases) / 2;
	ls->by_name = xcalloc(ls->n_by_name + 1, sizeof(*ls->by_name));
	for (size_t i = 0; i < ls->n_by_name; i++)
		ls->by_name[i] = &ls->leases[2 * i];
	qsort(ls->by_name, ls->n_by_name, sizeof(*ls->by_name), cmp_pair_key);
	return ls;
}

bool vnet_leases_get(const struct vnet_leases *ls, const char *name, char buf[static 16])
{
	const char *v = NULL;
	uint32_t ip;

	if (!ls)
		return false;
	if (ls->names >= 0) {
		/* the index entry alone: it always names a claim naming it
		 * back (the top of the file) */
		ip = index_get(ls->names, name);
		if (ip)
			vnet_format_ipv4(ip, buf);
		return ip != 0;
	}
	if (ls->by_name) {
		char *key[1] = { (char *)name }, **k = key;
		char ***hit =
			bsearch(&k, ls->by_name, ls->n_by_name, sizeof(*ls->by_name), cmp_pair_key);
		if (hit)
			v = (*hit)[1];
	} else {
		v = pairs_get(ls->leases, name);
	}

	if (!v || vnet_parse_ipv4(v, &ip) < 0)
		return false;
	vnet_format_ipv4(ip, buf);
	return true;
}

void vnet_leases_free(struct vnet_leases *ls)
{
	if (!ls)
		return;
	leases_done(ls);
	free(ls);
}

/* ---- published ports (ports.json) ---- */

/* Does the claim key ("proto:ip:hostport:veport") cover port p? */
static bool key_covers(const char *k, const struct vnet_port *p)
{
	char proto[8], ip[16];
	unsigned hp, vp;
	uint32_t a;

	if (sscanf(k, "%7[a-z]:%15[0-9.]:%u:%u", proto, ip, &hp, &vp) != 4 ||
	    vnet_parse_ipv4(ip, &a) < 0)
		return false;
	return (strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP) == p->proto &&
	       hp == p->host_port && (a == 0 || p->host_ip == 0 || a == p->host_ip);
}

int vnet_ipam_port_holder(const char *data_dir, const char *name, const struct vnet_port *p,
			  bool own, char **ret)
{
	_cleanup_free_ char *path = xasprintf("%s/net/" PORTS, data_dir);
	struct vnet_leases ls;

	*ret = NULL;
	if (legacy_read(data_dir, &ls, NULL) < 0 && doc_read(path, ports_table, &ls, NULL) < 0)
		return 0;
	for (size_t i = 0; ls.ports && ls.ports[i]; i += 2) {
		const char *holder = ls.ports[i + 1];
		if ((strcmp(holder, name) == 0) == own && key_covers(ls.ports[i], p)) {
			*ret = xstrdup(holder);
			break;
		}
	}
	leases_done(&ls);
	return *ret ? 1 : 0;
}

/* Claim "proto:ip:hostport" keys for name.  A key held by another VE is a
 * conflict unless stale(holder) says that VE's network is gone.  A claim on
 * every address (0.0.0.0) conflicts with any claim of the port, and the
 * other way round. */
int vnet_ipam_claim_ports(const char *data_dir, const char *name, const struct vnet_port *ports,
			  size_t n, bool (*stale)(const char *holder, void *data), void *data,
			  vert_error_t *err)
{
	_cleanup_(ipam_close) struct ipam m = IPAM_INIT;
	int r;

	if ((r = ports_open(data_dir, &m, err)) < 0)
		return r;
	pairs_drop_value(m.doc.ports, name);
	for (size_t i = 0; i < n; i++) {
		char key[48];
		const char *holder = NULL;
		vnet_format_publish(&ports[i], key);
		for (size_t k = 0; m.doc.ports && m.doc.ports[k] && !holder; k += 2)
			if (key_covers(m.doc.ports[k], &ports[i]))
				holder = m.doc.ports[k + 1];
		/* the same port twice in one VE's list */
		for (size_t j = 0; j < i && !holder; j++)
			if (ports[j].proto == ports[i].proto &&
			    ports[j].host_port == ports[i].host_port &&
			    (!ports[j].host_ip || !ports[i].host_ip ||
			     ports[j].host_ip == ports[i].host_ip))
				return vert_error_set(err, EADDRINUSE, VERT_ERR_INVALID,
						      "port %s/%u is published twice",
						      ports[i].proto == IPPROTO_UDP ? "udp" : "tcp",
						      ports[i].host_port);
		if (holder && !(stale && stale(holder, data)))
			return vert_error_set(err, EADDRINUSE, VERT_ERR_EXISTS,
					      "port %s/%u is already published by VE '%s'",
					      ports[i].proto == IPPROTO_UDP ? "udp" : "tcp",
					      ports[i].host_port, holder);
		if (holder) {
			_cleanup_free_ char *h = xstrdup(holder);
			pairs_drop_value(m.doc.ports, h);
		}
		pairs_set(&m.doc.ports, key, name);
	}
	return ports_save(&m, err);
}

int vnet_ipam_unclaim_ports(const char *data_dir, const char *name, vert_error_t *err)
{
	_cleanup_(ipam_close) struct ipam m = IPAM_INIT;
	int r;

	if ((r = ports_open(data_dir, &m, err)) < 0)
		return r;
	return pairs_drop_value(m.doc.ports, name) > 0 ? ports_save(&m, err) : 0;
}

/* Run fn under the network lock (bridge creation is serialised with the
 * allocations so 50 parallel first uses create one bridge). */
int vnet_ipam_locked(const char *data_dir, int (*fn)(void *data, vert_error_t *err), void *data,
		     vert_error_t *err)
{
	_cleanup_(ipam_close) struct ipam m = IPAM_INIT;
	int r;

	if ((r = ipam_lock(data_dir, &m, err)) < 0)
		return r;
	return fn(data, err);
}
