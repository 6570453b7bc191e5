/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Seccomp through libseccomp.  The filter is compiled to BPF in the parent
 * (house rule 8: the child does as little as possible and never calls into
 * a library that allocates a lot); the child only loads the program.
 *
 * libseccomp 2.5 (Debian 12) can export BPF only to an fd, so the program
 * goes through a memfd and is read back.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "rt-internal.h"
#include "vert/util.h"

/* The filter's form, SCMP_FLTATR_CTL_OPTIMIZE's value: 2 is a binary tree
 * of the syscall numbers (see rt_seccomp_compile).  It is part of the filter
 * cache's key too, so a cached filter of another form is not reused. */
#define FILTER_FORM 2

static uint32_t to_scmp(int action, int errnum)
{
	switch (action) {
	case RT_SCMP_ALLOW:
		return SCMP_ACT_ALLOW;
	case RT_SCMP_ERRNO:
		return SCMP_ACT_ERRNO((uint16_t)errnum);
	case RT_SCMP_KILL_PROCESS:
		return SCMP_ACT_KILL_PROCESS;
	case RT_SCMP_KILL_THREAD:
		return SCMP_ACT_KILL_THREAD;
	case RT_SCMP_TRAP:
		return SCMP_ACT_TRAP;
	case RT_SCMP_LOG:
		return SCMP_ACT_LOG;
	case RT_SCMP_NOTIFY:
		return SCMP_ACT_NOTIFY;
	}
	return SCMP_ACT_KILL_PROCESS;
}

static int add_arch(scmp_filter_ctx ctx, const char *name, vert_error_t *err)
{
	static const struct {
		const char *n;
		uint32_t a;
	} t[] = {
		{ "SCMP_ARCH_X86", SCMP_ARCH_X86 },
		{ "SCMP_ARCH_X86_64", SCMP_ARCH_X86_64 },
		{ "SCMP_ARCH_X32", SCMP_ARCH_X32 },
		{ "SCMP_ARCH_ARM", SCMP_ARCH_ARM },
		{ "SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64 },
		{ "SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE },
		{ "SCMP_ARCH_S390X", SCMP_ARCH_S390X },
		{ "SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		if (strcmp(name, t[i].n) != 0)
			continue;
		int r = seccomp_arch_add(ctx, t[i].a);
		if (r < 0 && r != -EEXIST && r != -EINVAL)
			return vert_error_set(err, -r, VERT_ERR_RUNTIME, "seccomp: add arch %s",
					      name);
		return 0;
	}
	return vert_error_set(err, EINVAL, VERT_ERR_INVALID, "seccomp: unknown architecture '%s'",
			      name);
}

int rt_seccomp_compile(const struct rt_seccomp *sc, struct sock_fprog **ret, vert_error_t *err)
{
	scmp_filter_ctx ctx;
	_cleanup_close_ int mfd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	uint32_t def = to_scmp(sc->default_action, sc->default_errno);
	struct sock_fprog *prog;
	size_t len = 0;
	int r;

	ctx = seccomp_init(def);
	if (!ctx)
		return vert_error_set(err, ENOMEM, VERT_ERR_RUNTIME, "seccomp_init");
	/* We load the filter ourselves, with no_new_privs handled by the
	 * caller; don't let libseccomp set it at export time. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* A binary tree of the syscall numbers, not a list (libseccomp's
	 * default): the kernel runs the filter for every syscall number of
	 * every arch when it is loaded, to cache the constant answers
	 * (seccomp_cache_prepare), with the VE's siglock held; that was ~5%
	 * of a `vert exec`.  A syscall the cache can't answer (one whose
	 * rule looks at its arguments) goes down the tree too.  Older
	 * libseccomp without the attribute keeps the list. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, FILTER_FORM);
	for (size_t i = 0; sc->architectures && sc->architectures[i]; i++)
		if ((r = add_arch(ctx, sc->architectures[i], err)) < 0)
			goto out;
	for (size_t i = 0; i < sc->n_rules; i++) {
		const struct rt_seccomp_rule *rule = &sc->rules[i];
		uint32_t act = to_scmp(rule->action, rule->errnum);
		if (act == def)
			continue;
		for (size_t j = 0; rule->names && rule->names[j]; j++) {
			int nr = seccomp_syscall_resolve_name(rule->names[j]);
			/* not a syscall on this architecture: nothing to filter */
			if (nr == __NR_SCMP_ERROR)
				continue;
			struct scmp_arg_cmp cmp[RT_SCMP_MAX_ARGS];
			for (size_t k = 0; k < rule->n_args; k++)
				cmp[k] = (struct scmp_arg_cmp){
					.arg = rule->args[k].index,
					.op = (enum scmp_compare)rule->args[k].op,
					.datum_a = rule->args[k].value,
					.datum_b = rule->args[k].value_two,
				};
			r = seccomp_rule_add_array(ctx, act, nr, (unsigned)rule->n_args,
						   rule->n_args ? cmp : NULL);
			if (r < 0 && r != -EEXIST) {
				r = vert_error_set(err, -r, VERT_ERR_RUNTIME,
						   "seccomp: add rule for '%s'", rule->names[j]);
				goto out;
			}
		}
	}
	mfd = memfd_create("vert-seccomp", MFD_CLOEXEC);
	if (mfd < 0) {
		r = vert_error_sys(err, "memfd_create");
		goto out;
	}
	r = seccomp_export_bpf(ctx, mfd);
	if (r < 0) {
		r = vert_error_set(err, -r, VERT_ERR_RUNTIME, "seccomp: export BPF");
		goto out;
	}
	if (lseek(mfd, 0, SEEK_SET) < 0) {
		r = vert_error_sys(err, "seccomp: rewind");
		goto out;
	}
	{
		char tmp[4096];
		ssize_t n;
		while ((n = read(mfd, tmp, sizeof(tmp))) > 0) {
			buf = xrealloc(buf, len + (size_t)n);
			memcpy(buf + len, tmp, (size_t)n);
			len += (size_t)n;
		}
		if (n < 0) {
			r = vert_error_sys(err, "seccomp: read BPF");
			goto out;
		}
	}
	if (len == 0 || len % sizeof(struct sock_filter)) {
		r = vert_error_set(err, EINVAL, VERT_ERR_RUNTIME, "seccomp: bad BPF size %zu", len);
		goto out;
	}
	prog = xcalloc(1, sizeof(*prog));
	prog->len = (unsigned short)(len / sizeof(struct sock_filter));
	prog->filter = (struct sock_filter *)TAKE_PTR(buf);
	*ret = prog;
	r = 0;
out:
	seccomp_release(ctx);
	return r;
}

/* ---- a cache of compiled filters ----
 *
 * Compiling the default profile costs ~1.5M instructions in libseccomp,
 * about as much as everything else vert does before clone().  The BPF
 * only depends on the profile, the architecture and libseccomp's version,
 * so it is kept in the runtime dir (tmpfs, per boot) under a hash of
 * those, written atomically, and read back on the next start. */

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t profile_hash(const struct rt_seccomp *sc)
{
	const struct scmp_version *v = seccomp_version();
	uint64_t h = 14695981039346656037ULL;
	int32_t ints[5];

	ints[0] = sc->default_action;
	ints[1] = sc->default_errno;
	ints[2] = (int32_t)seccomp_arch_native();
	ints[3] = v ? (int32_t)(v->major * 10000 + v->minor * 100 + v->micro) : 0;
	ints[4] = FILTER_FORM;
	h = fnv(h, ints, sizeof(ints));
	for (size_t i = 0; sc->architectures && sc->architectures[i]; i++)
		h = fnv(h, sc->architectures[i], strlen(sc->architectures[i]) + 1);
	for (size_t i = 0; i < sc->n_rules; i++) {
		int32_t r[2] = { sc->rules[i].action, sc->rules[i].errnum };
		h = fnv(h, r, sizeof(r));
		for (size_t k = 0; k < sc->rules[i].n_args; k++) {
			const struct rt_seccomp_arg *a = &sc->rules[i].args[k];
			uint64_t av[4] = { a->index, a->value, a->value_two, (uint64_t)a->op };
			h = fnv(h, av, sizeof(av));
		}
		for (size_t j = 0; sc->rules[i].names && sc->rules[i].names[j]; j++)
			h = fnv(h, sc->rules[i].names[j], strlen(sc->rules[i].names[j]) + 1);
		h = fnv(h, "\n", 1);
	}
	return h;
}

int rt_seccomp_compile_cached(const struct rt_seccomp *sc, const char *cache_dir,
			      struct sock_fprog **ret, vert_error_t *err)
{
	_cleanup_free_ char *name = NULL, *buf = NULL;
	_cleanup_close_ int dfd = -EBADF;
	struct sock_fprog *prog;
	size_t len = 0;
	int r;

	if (!cache_dir)
		return rt_seccomp_compile(sc, ret, err);
	name = xasprintf("seccomp-%016llx.bpf", (unsigned long long)profile_hash(sc));
	dfd = open(cache_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && read_file_at(dfd, name, 1 << 20, &buf, &len) == 0 && len > 0 &&
	    len % sizeof(struct sock_filter) == 0 && len / sizeof(struct sock_filter) <= 65535) {
		prog = xcalloc(1, sizeof(*prog));
		prog->len = (unsigned short)(len / sizeof(struct sock_filter));
		prog->filter = (struct sock_filter *)TAKE_PTR(buf);
		*ret = prog;
		return 0;
	}
	r = rt_seccomp_compile(sc, &prog, err);
	if (r < 0)
		return r;
	if (dfd >= 0)
		write_file_atomic_nosync_at(dfd, name, prog->filter,
					    prog->len * sizeof(struct sock_filter), 0600);
	*ret = prog;
	return 0;
}

void rt_seccomp_prog_free(struct sock_fprog *p)
{
	if (!p)
		return;
	free(p->filter);
	free(p);
}

bool rt_seccomp_wants_listener(const struct rt_seccomp *sc)
{
	for (size_t i = 0; sc && i < sc->n_rules; i++)
		if (sc->rules[i].action == RT_SCMP_NOTIFY)
			return true;
	return false;
}

int rt_seccomp_load(const struct sock_fprog *prog, int *ret_listener, vert_error_t *err)
{
	unsigned flags = ret_listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);

	if (r < 0)
		return vert_error_sys(err, "load seccomp filter");
	if (ret_listener)
		*ret_listener = (int)r;
	return 0;
}
