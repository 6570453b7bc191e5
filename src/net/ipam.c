/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Address leases and published-port claims: DATA/net/leases.json, changed
 * only under an exclusive flock on DATA/net/ipam.lock and written
 * atomically (temp file, fsync, rename), so parallel vert commands never
 * hand out one address twice and a crash leaves the old or the new file.
 *
 *   { "leases": { "web1": "10.88.0.2", ... },
 *     "ports":  { "tcp:0.0.0.0:8080": "web1", ... } }
 *
 * A lease belongs to the VE (it survives restarts) and goes away with it
 * (vnet_release); a port claim lives while the VE's network is up.
 */
#include <fcntl.h>
#include <stddef.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "net-internal.h"
#include "vert/json.h"
#include "vert/util.h"
#include "vert/vnet.h"

/* leases and ports as "key", "value" pairs, in file order */
struct vnet_leases {
	char **leases, **ports;
	/* vnet_leases_load: the lease pairs sorted by name, for
	 * vnet_leases_get (a listing of N VEs looks up N names) */
	char ***by_name;
	size_t n_by_name;
};

struct ipam {
	char *dir;
	int lock;
	struct vnet_leases doc;
};

static void leases_done(struct vnet_leases *ls)
{
	strv_free(ls->leases);
	strv_free(ls->ports);
	free(ls->by_name);
	memset(ls, 0, sizeof(*ls));
}

static void ipam_close(struct ipam *m)
{
	leases_done(&m->doc);
	if (m->lock >= 0)
		close(m->lock);
	free(m->dir);
	memset(m, 0, sizeof(*m));
	m->lock = -EBADF;
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

/* Drop the pairs for which drop(pair) is true; how many there were. */
static size_t pairs_drop(char **kv, bool (*drop)(char *const *pair, const char *arg),
			 const char *arg)
{
	size_t n = 0, j = 0;

	for (size_t i = 0; kv && kv[i]; i += 2) {
		if (drop(&kv[i], arg)) {
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

static bool key_is(char *const *pair, const char *k)
{
	return strcmp(pair[0], k) == 0;
}

static bool value_is(char *const *pair, const char *v)
{
	return strcmp(pair[1], v) == 0;
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

static int leases_parse(struct json_object *o, const char *where, struct vnet_leases *ls,
			vert_error_t *err)
{
	struct vnet_leases in = { 0 };
	int r;

	if ((r = vjson_dispatch(o, leases_table, 0, &in, where, err)) < 0) {
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
	int r = leases_parse(o, where, ls, err);

	if (r < 0) {
		free(ls);
		return r;
	}
	*ret = ls;
	return 0;
}

/* -ENOENT (err left alone) when there is no leases.json */
static int leases_read(const char *path, struct vnet_leases *ls, vert_error_t *err)
{
	_cleanup_json_ struct json_object *o = NULL;
	vert_error_t e = VERT_ERROR_INIT;
	int r;

	memset(ls, 0, sizeof(*ls));
	r = vjson_parse_file(AT_FDCWD, path, 8 << 20, &o, &e);
	if (r == 0)
		r = leases_parse(o, path, ls, &e);
	if (r < 0 && r != -ENOENT)
		vert_error_move(err, &e);
	vert_error_clear(&e);
	return r;
}

/* Take the network lock (DATA/net/ipam.lock), making DATA/net if needed. */
static int ipam_lock(const char *data_dir, struct ipam *m, vert_error_t *err)
{
	_cleanup_free_ char *lockp = NULL;

	memset(m, 0, sizeof(*m));
	m->lock = -EBADF;
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
	return 0;
}

/* Lock, then load leases.json (an empty document when there is none). */
static int ipam_open(const char *data_dir, struct ipam *m, vert_error_t *err)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if ((r = ipam_lock(data_dir, m, err)) < 0)
		return r;
	path = xasprintf("%s/leases.json", m->dir);
	/* a broken file is not overwritten: its leases would be handed out
	 * again */
	r = leases_read(path, &m->doc, err);
	return r == -ENOENT ? 0 : r;
}

/* Drop every port claim held by name; how many there were. */
static size_t ports_drop(struct ipam *m, const char *name)
{
	return pairs_drop(m->doc.ports, value_is, name);
}

static int ipam_save(struct ipam *m, vert_error_t *err)
{
	_cleanup_close_ int dfd = open(m->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_json_ struct json_object *o = json_object_new_object();
	const char *s;
	int r;

	if (dfd < 0)
		return vert_error_sys(err, "open '%s'", m->dir);
	json_object_object_add(o, "leases", pairs_json(m->doc.leases));
	json_object_object_add(o, "ports", pairs_json(m->doc.ports));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	r = write_file_atomic_at(dfd, "leases.json", s, strlen(s), 0600);
	if (r < 0)
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "write '%s/leases.json'", m->dir);
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int vnet_ipam_lease(const char *data_dir, const char *name, uint32_t subnet, int prefix,
		    uint32_t want, uint32_t *ret, bool *ret_new, vert_error_t *err)
{
	_cleanup_(ipam_close) struct ipam m = { .lock = -EBADF };
	uint32_t mask = vnet_prefix_mask(prefix), gw = subnet + 1, bcast = subnet | ~mask;
	_cleanup_free_ uint32_t *used = NULL;
	size_t n = 0, cap;
	uint32_t mine = 0, pick = 0;
	char ip[16];
	int r;

	if ((r = ipam_open(data_dir, &m, err)) < 0)
		return r;
	cap = strv_len(m.doc.leases) / 2 + 1;
	used = xcalloc(cap, sizeof(*used));
	for (size_t i = 0; m.doc.leases && m.doc.leases[i]; i += 2) {
		uint32_t a;
		vnet_parse_ipv4(m.doc.leases[i + 1], &a); /* checked on load */
		if (strcmp(m.doc.leases[i], name) == 0)
			mine = a;
		else if ((a & mask) == subnet)
			used[n++] = a;
	}
	qsort(used, n, sizeof(*used), cmp_u32);

	if (want) {
		vnet_format_ipv4(want, ip);
		if ((r = vnet_ipv4_usable(subnet, prefix, want, err)) < 0)
			return r;
		if (bsearch(&want, used, n, sizeof(*used), cmp_u32)) {
			const char *holder = "";
			for (size_t i = 0; m.doc.leases && m.doc.leases[i]; i += 2) {
				uint32_t a;
				if (vnet_parse_ipv4(m.doc.leases[i + 1], &a) == 0 && a == want)
					holder = m.doc.leases[i];
			}
			return vert_error_set(err, EADDRINUSE, VERT_ERR_EXISTS,
					      "address %s is already in use by VE '%s'", ip,
					      holder);
		}
		pick = want;
	} else if (mine && (mine & mask) == subnet) {
		pick = mine;
	} else {
		/* the lowest free address: walk the sorted used list */
		size_t i = 0;
		for (uint32_t a = gw + 1; a < bcast; a++) {
			while (i < n && used[i] < a)
				i++;
			if (i < n && used[i] == a)
				continue;
			pick = a;
			break;
		}
		if (!pick) {
			char net[16];
			vnet_format_ipv4(subnet, net);
			return vert_error_set(err, ENOSPC, VERT_ERR_RUNTIME,
					      "no free address left in %s/%d", net, prefix);
		}
	}
	if (pick != mine) {
		vnet_format_ipv4(pick, ip);
		pairs_set(&m.doc.leases, name, ip);
		if ((r = ipam_save(&m, err)) < 0)
			return r;
	}
	*ret = pick;
	if (ret_new)
		*ret_new = pick != mine;
	return 0;
}

int vnet_ipam_release(const char *data_dir, const char *name, vert_error_t *err)
{
	_cleanup_(ipam_close) struct ipam m = { .lock = -EBADF };
	bool changed = false;
	int r;

	if ((r = ipam_open(data_dir, &m, err)) < 0)
		return r;
	if (pairs_drop(m.doc.leases, key_is, name) > 0)
		changed = true;
	/* claims are dropped by teardown; a destroyed VE keeps none */
	if (ports_drop(&m, name) > 0)
		changed = true;
	return changed ? ipam_save(&m, err) : 0;
}

int vnet_ipam_holder(const char *data_dir, const char *name, uint32_t addr, char **ret)
{
	_cleanup_free_ char *path = xasprintf("%s/net/leases.json", data_dir);
	struct vnet_leases ls;

	*ret = NULL;
	/* unreadable leases: no holder known here; the lease itself refuses */
	if (leases_read(path, &ls, NULL) < 0)
		return 0;
	for (size_t i = 0; ls.leases && ls.leases[i]; i += 2) {
		uint32_t a;
		if (strcmp(ls.leases[i], name) != 0 && vnet_parse_ipv4(ls.leases[i + 1], &a) == 0 &&
		    a == addr) {
			*ret = xstrdup(ls.leases[i]);
			break;
		}
	}
	leases_done(&ls);
	return *ret ? 1 : 0;
}

int vnet_ipam_port_holder(const char *data_dir, const char *name, const struct vnet_port *p,
			  bool own, char **ret)
{
	_cleanup_free_ char *path = xasprintf("%s/net/leases.json", data_dir);
	struct vnet_leases ls;

	*ret = NULL;
	if (leases_read(path, &ls, NULL) < 0)
		return 0;
	for (size_t i = 0; ls.ports && ls.ports[i]; i += 2) {
		const char *k = ls.ports[i], *holder = ls.ports[i + 1];
		char proto[8], ip[16];
		unsigned hp, vp;
		uint32_t a;
		if ((strcmp(holder, name) == 0) != own ||
		    sscanf(k, "%7[a-z]:%15[0-9.]:%u:%u", proto, ip, &hp, &vp) != 4 ||
		    vnet_parse_ipv4(ip, &a) < 0)
			continue;
		if ((strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP) == p->proto &&
		    hp == p->host_port && (a == 0 || p->host_ip == 0 || a == p->host_ip)) {
			*ret = xstrdup(holder);
			break;
		}
	}
	leases_done(&ls);
	return *ret ? 1 : 0;
}

int vnet_ipam_lookup(const char *data_dir, const char *name, uint32_t *ret)
{
	_cleanup_free_ char *path = xasprintf("%s/net/leases.json", data_dir);
	struct vnet_leases ls;
	const char *ip;
	int r;

	*ret = 0;
	if ((r = leases_read(path, &ls, NULL)) < 0)
		return r;
	ip = pairs_get(ls.leases, name);
	r = ip ? vnet_parse_ipv4(ip, ret) : -ENOENT;
	leases_done(&ls);
	return r;
}

/* by_name entries point at a pair: [0] the name, [1] the address */
static int cmp_pair_key(const void *a, const void *b)
{
	char **const *x = a, **const *y = b;
	return strcmp((*x)[0], (*y)[0]);
}

struct vnet_leases *vnet_leases_load(const char *data_dir)
{
	_cleanup_free_ char *path = xasprintf("%s/net/leases.json", data_dir);
	struct vnet_leases *ls = xcalloc(1, sizeof(*ls));
	vert_error_t e = VERT_ERROR_INIT;
	int r = leases_read(path, ls, &e);

	if (r < 0) {
		/* a listing shows no addresses then, and says why */
		if (r != -ENOENT)
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

	if (ls && ls->by_name) {
		char *key[1] = { (char *)name }, **k = key;
		char ***hit =
			bsearch(&k, ls->by_name, ls->n_by_name, sizeof(*ls->by_name), cmp_pair_key);
		if (hit)
			v = (*hit)[1];
	} else if (ls) {
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

/* Claim "proto:ip:hostport" keys for name.  A key held by another VE is a
 * conflict unless stale(holder) says that VE's network is gone.  A claim on
 * every address (0.0.0.0) conflicts with any claim of the port, and the
 * other way round. */
int vnet_ipam_claim_ports(const char *data_dir, const char *name, const struct vnet_port *ports,
			  size_t n, bool (*stale)(const char *holder, void *data), void *data,
			  vert_error_t *err)
{
	_cleanup_(ipam_close) struct ipam m = { .lock = -EBADF };
	int r;

	if ((r = ipam_open(data_dir, &m, err)) < 0)
		return r;
	ports_drop(&m, name);
	for (size_t i = 0; i < n; i++) {
		char key[48];
		const char *holder = NULL;
		vnet_format_publish(&ports[i], key);
		for (size_t k = 0; m.doc.ports && m.doc.ports[k] && !holder; k += 2) {
			struct vnet_port q;
			char proto[8];
			char ip[16];
			unsigned hp, vp;
			uint32_t a;
			if (sscanf(m.doc.ports[k], "%7[a-z]:%15[0-9.]:%u:%u", proto, ip, &hp,
				   &vp) != 4 ||
			    vnet_parse_ipv4(ip, &a) < 0)
				continue;
			q.proto = strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
			if (q.proto == ports[i].proto && hp == ports[i].host_port &&
			    (a == 0 || ports[i].host_ip == 0 || a == ports[i].host_ip))
				holder = m.doc.ports[k + 1];
		}
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
			ports_drop(&m, h);
		}
		pairs_set(&m.doc.ports, key, name);
	}
	return ipam_save(&m, err);
}

int vnet_ipam_unclaim_ports(const char *data_dir, const char *name, vert_error_t *err)
{
	_cleanup_(ipam_close) struct ipam m = { .lock = -EBADF };
	int r;

	if ((r = ipam_open(data_dir, &m, err)) < 0)
		return r;
	return ports_drop(&m, name) > 0 ? ipam_save(&m, err) : 0;
}

/* Run fn under the network lock (bridge creation is serialised with the
 * allocations so 50 parallel first uses create one bridge). */
int vnet_ipam_locked(const char *data_dir, int (*fn)(void *data, vert_error_t *err), void *data,
		     vert_error_t *err)
{
	_cleanup_(ipam_close) struct ipam m = { .lock = -EBADF };
	int r;

	if ((r = ipam_lock(data_dir, &m, err)) < 0)
		return r;
	return fn(data, err);
}
