/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VE's published ports as `vert set` edits them: -p adds a port (the
 * same host port again replaces it, an identical one changes nothing),
 * --publish-rm takes one away, as `docker service update --publish-add
 * / --publish-rm` do.
 */
#include "vert/util.h"
#include "vert/ve.h"

static int parse_port_num(const char *s, uint16_t *ret)
{
	uint32_t v;
	if (parse_u32(s, &v) < 0 || v < 1 || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

int ve_parse_publish_rm(const char *spec, struct ve_publish_rm *ret, vert_error_t *err)
{
	_cleanup_free_ char *copy = xstrdup(spec ? spec : "");
	struct ve_publish_rm m = { 0 };
	char *proto, *parts[3];
	size_t n = 0;

	proto = strchr(copy, '/');
	if (proto) {
		*proto++ = '\0';
		if (strcmp(proto, "tcp") == 0)
			m.proto = IPPROTO_TCP;
		else if (strcmp(proto, "udp") == 0)
			m.proto = IPPROTO_UDP;
		else
			goto bad;
	}
	for (char *s = copy, *c; n < 3; s = c + 1) {
		parts[n++] = s;
		if (!(c = strchr(s, ':')))
			break;
		*c = '\0';
		if (n == 3)
			goto bad;
	}
	/* HOSTIP:HOSTPORT[:VEPORT] or HOSTPORT[:VEPORT]: an address has dots */
	if (n >= 2 && strchr(parts[0], '.')) {
		if (vnet_parse_ipv4(parts[0], &m.host_ip) < 0)
			goto bad;
		m.match_ip = true;
	} else if (n == 3) {
		goto bad;
	}
	if (parse_port_num(parts[m.match_ip ? 1 : 0], &m.host_port) < 0)
		goto bad;
	if ((size_t)(m.match_ip ? 3 : 2) == n && parse_port_num(parts[n - 1], &m.ve_port) < 0)
		goto bad;
	*ret = m;
	return 0;
bad:
	return vert_error_set(err, EINVAL, VERT_ERR_INVALID,
			      "invalid --publish-rm '%s': expected "
			      "[HOSTIP:]HOSTPORT[:VEPORT][/tcp|udp] with ports 1-65535",
			      spec ? spec : "");
}

static bool rm_matches(const struct ve_publish_rm *m, const char *entry)
{
	struct vnet_port p;

	if (vnet_parse_publish(entry, &p, NULL) < 0)
		return false;
	return p.host_port == m->host_port && (!m->proto || p.proto == m->proto) &&
	       (!m->match_ip || p.host_ip == m->host_ip) &&
	       (!m->ve_port || p.ve_port == m->ve_port);
}

int ve_publish_remove(char ***publish, const struct ve_publish_rm *m, const char *spec,
		      vert_error_t *err)
{
	char **v = *publish;
	size_t j = 0, n = 0;

	for (size_t i = 0; v && v[i]; i++) {
		if (rm_matches(m, v[i])) {
			free(v[i]);
			n++;
		} else {
			v[j++] = v[i];
		}
	}
	if (v)
		v[j] = NULL;
	if (!n)
		return vert_error_set(err, ENOENT, VERT_ERR_INVALID,
				      "--publish-rm '%s': no such published port", spec);
	return 0;
}

static bool overlap(const struct vnet_port *a, const struct vnet_port *b)
{
	return a->proto == b->proto && a->host_port == b->host_port &&
	       (!a->host_ip || !b->host_ip || a->host_ip == b->host_ip);
}

void ve_publish_add(char ***publish, const char *spec)
{
	char **v = *publish;
	struct vnet_port a, b;
	bool done = false;
	size_t j = 0;

	if (vnet_parse_publish(spec, &a, NULL) < 0) {
		*publish = strv_push(v, xstrdup(spec));
		return;
	}
	/* the same host port (on any address it shares): the new entry
	 * takes the first one's place and the others go, so the list never
	 * publishes a port twice */
	for (size_t i = 0; v && v[i]; i++) {
		if (vnet_parse_publish(v[i], &b, NULL) < 0 || !overlap(&a, &b)) {
			v[j++] = v[i];
			continue;
		}
		free(v[i]);
		if (!done)
			v[j++] = xstrdup(spec);
		done = true;
	}
	if (v)
		v[j] = NULL;
	if (!done)
		*publish = strv_push(v, xstrdup(spec));
}
