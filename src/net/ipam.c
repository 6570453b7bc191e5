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
#include <json-c/json.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "net-internal.h"
#include "vert/util.h"
#include "vert/vnet.h"

struct ipam {
	char *dir;
	int lock;
	struct json_object *doc, *leases, *ports;
};

static void ipam_close(struct ipam *m)
{
	json_object_put(m->doc);
	if (m->lock >= 0)
		close(m->lock);
	free(m->dir);
	memset(m, 0, sizeof(*m));
	m->lock = -1;
}

static struct json_object *obj_member(struct json_object *o, const char *k)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_object))
		return v;
	v = json_object_new_object();
	json_object_object_add(o, k, v);
	return v;
}

/* Take the network lock (DATA/net/ipam.lock), making DATA/net if needed. */
static int ipam_lock(const char *data_dir, struct ipam *m, vert_error_t *err)
{
	_cleanup_free_ char *lockp = NULL;

	memset(m, 0, sizeof(*m));
	m->lock = -1;
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
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int dfd = -EBADF;
	int r;

	if ((r = ipam_lock(data_dir, m, err)) < 0)
		return r;
	dfd = open(m->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	r = dfd < 0 ? -errno : read_file_at(dfd, "leases.json", 8 << 20, &buf, NULL);
	if (r == -ENOENT) {
		m->doc = json_object_new_object();
	} else if (r < 0) {
		return vert_error_set(err, -r, VERT_ERR_RUNTIME, "read '%s/leases.json'", m->dir);
	} else {
		m->doc = json_tokener_parse(buf);
		if (!m->doc || !json_object_is_type(m->doc, json_type_object))
			return vert_error_set(err, EBADMSG, VERT_ERR_RUNTIME,
					      "'%s/leases.json' is corrupt", m->dir);
	}
	m->leases = obj_member(m->doc, "leases");
	m->ports = obj_member(m->doc, "ports");
	return 0;
}

/* Drop every port claim held by name; how many there were. */
static size_t ports_drop(struct json_object *ports, const char *name)
{
	char **del = NULL;
	size_t n = 0;
	json_object_object_foreach(ports, k, v)
	{
		if (strcmp(json_object_get_string(v), name) == 0)
			del = strv_push(del, xstrdup(k));
	}
	for (; del && del[n]; n++)
		json_object_object_del(ports, del[n]);
	strv_free(del);
	return n;
}

static int ipam_save(struct ipam *m, vert_error_t *err)
{
	_cleanup_close_ int dfd = open(m->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	const char *s = json_object_to_json_string_ext(m->doc, JSON_C_TO_STRING_PRETTY);
	int r;

	if (dfd < 0)
		return vert_error_sys(err, "open '%s'", m->dir);
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
	struct ipam m __attribute__((cleanup(ipam_close))) = { .lock = -1 };
	uint32_t mask = vnet_prefix_mask(prefix), gw = subnet + 1, bcast = subnet | ~mask;
	_cleanup_free_ uint32_t *used = NULL;
	size_t n = 0, cap;
	uint32_t mine = 0, pick = 0;
	char ip[16];
	int r;

	if ((r = ipam_open(data_dir, &m, err)) < 0)
		return r;
	cap = (size_t)json_object_object_length(m.leases) + 1;
	used = xcalloc(cap, sizeof(*used));
	json_object_object_foreach(m.leases, k, v)
	{
		uint32_t a;
		if (vnet_parse_ipv4(json_object_get_string(v), &a) < 0)
			continue;
		if (strcmp(k, name) == 0)
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
			json_object_object_foreach(m.leases, k2, v2)
			{
				uint32_t a;
				if (vnet_parse_ipv4(json_object_get_string(v2), &a) == 0 &&
				    a == want)
					holder = k2;
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
		json_object_object_add(m.leases, name, json_object_new_string(ip));
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
	struct ipam m __attribute__((cleanup(ipam_close))) = { .lock = -1 };
	bool changed = false;
	int r;

	if ((r = ipam_open(data_dir, &m, err)) < 0)
		return r;
	if (json_object_object_get_ex(m.leases, name, NULL)) {
		json_object_object_del(m.leases, name);
		changed = true;
	}
	/* claims are dropped by teardown; a destroyed VE keeps none */
	if (ports_drop(m.ports, name) > 0)
		changed = true;
	return changed ? ipam_save(&m, err) : 0;
}

int vnet_ipam_holder(const char *data_dir, const char *name, uint32_t addr, char **ret)
{
	_cleanup_free_ char *path = xasprintf("%s/net/leases.json", data_dir), *buf = NULL;
	struct json_object *o, *l;

	*ret = NULL;
	if (read_file_at(AT_FDCWD, path, 8 << 20, &buf, NULL) < 0 || !(o = json_tokener_parse(buf)))
		return 0;
	if (json_object_object_get_ex(o, "leases", &l) &&
	    json_object_is_type(l, json_type_object)) {
		json_object_object_foreach(l, k, v)
		{
			uint32_t a;
			if (strcmp(k, name) != 0 && json_object_is_type(v, json_type_string) &&
			    vnet_parse_ipv4(json_object_get_string(v), &a) == 0 && a == addr) {
				*ret = xstrdup(k);
				break;
			}
		}
	}
	json_object_put(o);
	return *ret ? 1 : 0;
}

int vnet_ipam_port_holder(const char *data_dir, const char *name, const struct vnet_port *p,
			  bool own, char **ret)
{
	_cleanup_free_ char *path = xasprintf("%s/net/leases.json", data_dir), *buf = NULL;
	struct json_object *o, *ports;

	*ret = NULL;
	if (read_file_at(AT_FDCWD, path, 8 << 20, &buf, NULL) < 0 || !(o = json_tokener_parse(buf)))
		return 0;
	if (json_object_object_get_ex(o, "ports", &ports) &&
	    json_object_is_type(ports, json_type_object)) {
		json_object_object_foreach(ports, k, v)
		{
			char proto[8], ip[16];
			unsigned hp, vp;
			uint32_t a;
			if (!json_object_is_type(v, json_type_string) ||
			    (strcmp(json_object_get_string(v), name) == 0) != own ||
			    sscanf(k, "%7[a-z]:%15[0-9.]:%u:%u", proto, ip, &hp, &vp) != 4 ||
			    vnet_parse_ipv4(ip, &a) < 0)
				continue;
			if ((strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP) == p->proto &&
			    hp == p->host_port && (a == 0 || p->host_ip == 0 || a == p->host_ip)) {
				*ret = xstrdup(json_object_get_string(v));
				break;
			}
		}
	}
	json_object_put(o);
	return *ret ? 1 : 0;
}

int vnet_ipam_lookup(const char *data_dir, const char *name, uint32_t *ret)
{
	_cleanup_free_ char *path = xasprintf("%s/net/leases.json", data_dir), *buf = NULL;
	struct json_object *o, *l, *v;
	int r = -ENOENT;

	*ret = 0;
	if (read_file_at(AT_FDCWD, path, 8 << 20, &buf, NULL) < 0 || !(o = json_tokener_parse(buf)))
		return -ENOENT;
	if (json_object_object_get_ex(o, "leases", &l) && json_object_object_get_ex(l, name, &v))
		r = vnet_parse_ipv4(json_object_get_string(v), ret);
	json_object_put(o);
	return r;
}

struct vnet_leases *vnet_leases_load(const char *data_dir)
{
	_cleanup_free_ char *path = xasprintf("%s/net/leases.json", data_dir), *buf = NULL;
	struct json_object *o;

	if (read_file_at(AT_FDCWD, path, 8 << 20, &buf, NULL) < 0 || !(o = json_tokener_parse(buf)))
		return NULL;
	return (struct vnet_leases *)o;
}

bool vnet_leases_get(const struct vnet_leases *ls, const char *name, char buf[static 16])
{
	struct json_object *l, *v;
	uint32_t ip;

	if (!ls || !json_object_object_get_ex((struct json_object *)ls, "leases", &l) ||
	    !json_object_object_get_ex(l, name, &v) ||
	    vnet_parse_ipv4(json_object_get_string(v), &ip) < 0)
		return false;
	vnet_format_ipv4(ip, buf);
	return true;
}

void vnet_leases_free(struct vnet_leases *ls)
{
	json_object_put((struct json_object *)ls);
}

/* Claim "proto:ip:hostport" keys for name.  A key held by another VE is a
 * conflict unless stale(holder) says that VE's network is gone.  A claim on
 * every address (0.0.0.0) conflicts with any claim of the port, and the
 * other way round. */
int vnet_ipam_claim_ports(const char *data_dir, const char *name, const struct vnet_port *ports,
			  size_t n, bool (*stale)(const char *holder, void *data), void *data,
			  vert_error_t *err)
{
	struct ipam m __attribute__((cleanup(ipam_close))) = { .lock = -1 };
	int r;

	if ((r = ipam_open(data_dir, &m, err)) < 0)
		return r;
	ports_drop(m.ports, name);
	for (size_t i = 0; i < n; i++) {
		char key[48];
		const char *holder = NULL;
		vnet_format_publish(&ports[i], key);
		json_object_object_foreach(m.ports, k, v)
		{
			struct vnet_port q;
			char proto[8];
			char ip[16];
			unsigned hp, vp;
			uint32_t a;
			if (sscanf(k, "%7[a-z]:%15[0-9.]:%u:%u", proto, ip, &hp, &vp) != 4 ||
			    vnet_parse_ipv4(ip, &a) < 0)
				continue;
			q.proto = strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
			if (q.proto == ports[i].proto && hp == ports[i].host_port &&
			    (a == 0 || ports[i].host_ip == 0 || a == ports[i].host_ip)) {
				holder = json_object_get_string(v);
				break;
			}
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
			ports_drop(m.ports, h);
		}
		json_object_object_add(m.ports, key, json_object_new_string(name));
	}
	return ipam_save(&m, err);
}

int vnet_ipam_unclaim_ports(const char *data_dir, const char *name, vert_error_t *err)
{
	struct ipam m __attribute__((cleanup(ipam_close))) = { .lock = -1 };
	int r;

	if ((r = ipam_open(data_dir, &m, err)) < 0)
		return r;
	return ports_drop(m.ports, name) > 0 ? ipam_save(&m, err) : 0;
}

/* Run fn under the network lock (bridge creation is serialised with the
 * allocations so 50 parallel first uses create one bridge). */
int vnet_ipam_locked(const char *data_dir, int (*fn)(void *data, vert_error_t *err), void *data,
		     vert_error_t *err)
{
	struct ipam m __attribute__((cleanup(ipam_close))) = { .lock = -1 };
	int r;

	if ((r = ipam_lock(data_dir, &m, err)) < 0)
		return r;
	return fn(data, err);
}
