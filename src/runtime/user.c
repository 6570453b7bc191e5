/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Look up a user inside the VE.  Runs in the child after pivot_root, so
 * /etc/passwd is the VE's own file.  NSS is deliberately not used: it
 * would load the host's NSS modules into a process that lives in the VE.
 */
#include <ctype.h>

#include "rt-internal.h"
#include "vert/util.h"

struct pwent {
	char *name;
	uid_t uid;
	gid_t gid;
	char *home;
	char *shell;
};

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Split a passwd/group line into up to n fields in place. */
static size_t split_fields(char *line, char **f, size_t n)
{
	size_t i = 0;
	f[i++] = line;
	for (char *p = line; *p && i < n; p++)
		if (*p == ':') {
			*p = '\0';
			f[i++] = p + 1;
		}
	return i;
}

/* The directory holding passwd and group: /etc inside the VE; tests
 * point it elsewhere. */
static const char *etc_dir = "/etc";

void rt_user_set_etc(const char *dir)
{
	etc_dir = dir ? dir : "/etc";
}

static FILE *open_etc(const char *file)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", etc_dir, file);
	return fopen(path, "re");
}

static int passwd_find(const char *name, uid_t uid, bool by_uid, struct pwent *ret)
{
	_cleanup_fclose_ FILE *f = open_etc("passwd");
	char line[1024];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *fld[7];
		uint32_t u, g;
		line[strcspn(line, "\n")] = '\0';
		if (split_fields(line, fld, 7) < 7)
			continue;
		if (parse_u32(fld[2], &u) < 0 || parse_u32(fld[3], &g) < 0)
			continue;
		if (by_uid ? u != uid : strcmp(fld[0], name) != 0)
			continue;
		ret->name = xstrdup(fld[0]);
		ret->uid = u;
		ret->gid = g;
		ret->home = xstrdup(fld[5]);
		ret->shell = xstrdup(fld[6]);
		return 0;
	}
	return -ENOENT;
}

static int group_find(const char *name, gid_t *ret)
{
	_cleanup_fclose_ FILE *f = open_etc("group");
	char line[4096];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *fld[4];
		uint32_t g;
		line[strcspn(line, "\n")] = '\0';
		if (split_fields(line, fld, 4) < 3 || parse_u32(fld[2], &g) < 0)
			continue;
		if (strcmp(fld[0], name) == 0) {
			*ret = g;
			return 0;
		}
	}
	return -ENOENT;
}

/* Supplementary groups: every group that lists the user as a member. */
static void group_members(const char *user, gid_t primary, struct rt_user *u)
{
	_cleanup_fclose_ FILE *f = open_etc("group");
	char line[4096];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *fld[4], *save = NULL;
		uint32_t g;
		line[strcspn(line, "\n")] = '\0';
		if (split_fields(line, fld, 4) < 4 || parse_u32(fld[2], &g) < 0 || g == primary)
			continue;
		for (char *m = strtok_r(fld[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
			if (strcmp(m, user) == 0) {
				u->groups = xrealloc(u->groups, (u->n_groups + 1) * sizeof(gid_t));
				u->groups[u->n_groups++] = g;
				break;
			}
		}
	}
}

int rt_user_resolve(const char *spec, struct rt_user *ret, vert_error_t *err)
{
	_cleanup_free_ char *copy = xstrdup(spec);
	char *user = copy, *group = strchr(copy, ':');
	struct pwent pw = { 0 };
	bool found;
	uint32_t n;

	if (group)
		*group++ = '\0';
	memset(ret, 0, sizeof(*ret));
	if (!*user)
		return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "invalid user '%s'", spec);

	if (is_number(user)) {
		if (parse_u32(user, &n) < 0)
			return vert_error_set(err, ERANGE, VERT_ERR_INVALID, "invalid uid '%s'",
					      user);
		found = passwd_find(NULL, n, true, &pw) == 0;
		ret->uid = n;
		ret->gid = found ? pw.gid : 0;
	} else {
		if (passwd_find(user, 0, false, &pw) < 0)
			return vert_error_set(err, ENOENT, VERT_ERR_INVALID,
					      "user '%s' not found in the VE's /etc/passwd", user);
		found = true;
		ret->uid = pw.uid;
		ret->gid = pw.gid;
	}
	if (group) {
		if (is_number(group)) {
			if (parse_u32(group, &n) < 0)
				goto badgroup;
			ret->gid = n;
		} else if (group_find(group, &ret->gid) < 0) {
			free(pw.name);
			free(pw.home);
			free(pw.shell);
			return vert_error_set(err, ENOENT, VERT_ERR_INVALID,
					      "group '%s' not found in the VE's /etc/group", group);
		}
	}
	if (found) {
		group_members(pw.name, ret->gid, ret);
		ret->home = pw.home;
		ret->shell = pw.shell;
		pw.home = pw.shell = NULL;
	}
	free(pw.name);
	free(pw.home);
	free(pw.shell);
	return 0;
badgroup:
	free(pw.name);
	free(pw.home);
	free(pw.shell);
	return vert_error_set(err, ERANGE, VERT_ERR_INVALID, "invalid gid '%s'", group);
}

void rt_user_done(struct rt_user *u)
{
	free(u->groups);
	free(u->home);
	free(u->shell);
	memset(u, 0, sizeof(*u));
}
