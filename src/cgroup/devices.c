/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device access of a VE: cgroup v2 has no devices.allow file; the
 * controller is a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
 * cgroup (as crun and systemd do).  Without it, a VE whose root keeps
 * CAP_MKNOD could make a node for a host disk and read it.
 *
 * The program is attached to the VE's limits cgroup (NAME), which the VE
 * cannot write to, with BPF_F_ALLOW_MULTI: programs the VE attaches below
 * (systemd does, for its services) can only narrow access further, since
 * every program in effect must allow an access.
 *
 * The program is a list of rules, each "type, major (or any), minor (or
 * any), accesses"; the first rule that covers the request allows it,
 * everything else is denied.
 */
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "cgroup-internal.h"
#include "vert/util.h"

#define ANY -1

/* The usual container set (Docker's, runc's): any node may be created
 * (a node nobody can open is harmless), and these may be used. */
static const struct cg_dev_rule default_rules[] = {
	{ 'c', ANY, ANY, "m" }, { 'b', ANY, ANY, "m" },
	{ 'c', 1, 3, "rwm" },					     /* null */
	{ 'c', 1, 5, "rwm" },	/* zero */ { 'c', 1, 7, "rwm" },     /* full */
	{ 'c', 1, 8, "rwm" },	/* random */ { 'c', 1, 9, "rwm" },   /* urandom */
	{ 'c', 5, 0, "rwm" },	/* tty */ { 'c', 5, 1, "rwm" },	     /* console */
	{ 'c', 5, 2, "rwm" },	/* ptmx */ { 'c', 136, ANY, "rwm" }, /* pts */
};

const struct cg_dev_rule *cg_dev_default_rules(size_t *n)
{
	*n = ARRAY_SIZE(default_rules);
	return default_rules;
}

/* instruction builders (uapi linux/bpf.h has the opcodes, not these) */
static struct bpf_insn ldx_w(int dst, int src, int16_t off)
{
	return (struct bpf_insn){ .code = BPF_LDX | BPF_MEM | BPF_W,
				  .dst_reg = (uint8_t)dst,
				  .src_reg = (uint8_t)src,
				  .off = off };
}

static struct bpf_insn alu_imm(int op, int dst, int32_t imm)
{
	return (struct bpf_insn){ .code = BPF_ALU | op | BPF_K,
				  .dst_reg = (uint8_t)dst,
				  .imm = imm };
}

static struct bpf_insn mov_reg(int dst, int src)
{
	return (struct bpf_insn){ .code = BPF_ALU | BPF_MOV | BPF_X,
				  .dst_reg = (uint8_t)dst,
				  .src_reg = (uint8_t)src };
}

static struct bpf_insn jne_imm(int dst, int32_t imm, int16_t off)
{
	return (struct bpf_insn){
		.code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = (uint8_t)dst, .off = off, .imm = imm
	};
}

static struct bpf_insn exit_insn(void)
{
	return (struct bpf_insn){ .code = BPF_JMP | BPF_EXIT };
}

static uint32_t access_bits(const char *a)
{
	uint32_t b = 0;
	for (; a && *a; a++)
		b |= *a == 'm'	 ? BPF_DEVCG_ACC_MKNOD
		     : *a == 'r' ? BPF_DEVCG_ACC_READ
		     : *a == 'w' ? BPF_DEVCG_ACC_WRITE
				 : 0;
	return b;
}

/* Length of a rule's block: the checks it needs, then "r0 = 1; exit". */
static int rule_len(const struct cg_dev_rule *r)
{
	return 1 + (r->major != ANY) + (r->minor != ANY) + 3 + 2;
}

size_t cg_dev_program(const struct cg_dev_rule *rules, size_t n, struct bpf_insn *out, size_t max)
{
	size_t k = 0;

#define EMIT(i)                                                                                    \
	do {                                                                                       \
		if (k < max)                                                                       \
			out[k] = (i);                                                              \
		k++;                                                                               \
	} while (0)

	/* r2 = access_type; r3 = type (low 16 bits); r2 = access (high 16);
	 * r4 = major; r5 = minor */
	EMIT(ldx_w(BPF_REG_2, BPF_REG_1, 0));
	EMIT(mov_reg(BPF_REG_3, BPF_REG_2));
	EMIT(alu_imm(BPF_AND, BPF_REG_3, 0xffff));
	EMIT(alu_imm(BPF_RSH, BPF_REG_2, 16));
	EMIT(ldx_w(BPF_REG_4, BPF_REG_1, 4));
	EMIT(ldx_w(BPF_REG_5, BPF_REG_1, 8));
	for (size_t i = 0; i < n; i++) {
		const struct cg_dev_rule *r = &rules[i];
		int len = rule_len(r), pos = 0;
		int32_t type = r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;

		/* each "skip" jumps to the instruction after this block:
		 * offset = remaining instructions of the block after this one */
		EMIT(jne_imm(BPF_REG_3, type, (int16_t)(len - ++pos)));
		if (r->major != ANY)
			EMIT(jne_imm(BPF_REG_4, r->major, (int16_t)(len - ++pos)));
		if (r->minor != ANY)
			EMIT(jne_imm(BPF_REG_5, r->minor, (int16_t)(len - ++pos)));
		/* r6 = requested & ~allowed: anything left is not allowed */
		EMIT(mov_reg(BPF_REG_6, BPF_REG_2));
		EMIT(alu_imm(BPF_AND, BPF_REG_6, (int32_t)~access_bits(r->access)));
		pos += 2;
		EMIT(jne_imm(BPF_REG_6, 0, (int16_t)(len - ++pos)));
		EMIT(alu_imm(BPF_MOV, BPF_REG_0, 1));
		EMIT(exit_insn());
	}
	EMIT(alu_imm(BPF_MOV, BPF_REG_0, 0));
	EMIT(exit_insn());
#undef EMIT
	return k;
}

int cg_devices_attach(int cgroup_fd, const struct cg_dev_rule *rules, size_t n, vert_error_t *err)
{
	struct bpf_insn prog[512];
	static char log[16384];
	union bpf_attr attr;
	size_t len = cg_dev_program(rules, n, prog, ARRAY_SIZE(prog));
	_cleanup_close_ int pfd = -EBADF;

	if (len > ARRAY_SIZE(prog))
		return vert_error_set(err, E2BIG, VERT_ERR_INVALID, "too many device rules");
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = (uint32_t)len;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	/* no verifier log on the way that works: a log too small for it
	 * would make the load fail (ENOSPC) */
	pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (pfd < 0) {
		int e = errno;
		const char *last;
		log[0] = '\0';
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = sizeof(log);
		attr.log_level = 1;
		if (syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)) < 0 && log[0]) {
			/* the verifier's verdict is its last line */
			size_t ln = strlen(log);
			while (ln && log[ln - 1] == '\n')
				log[--ln] = '\0';
			last = strrchr(log, '\n');
			return vert_error_set(err, e, VERT_ERR_RUNTIME,
					      "load the device filter (BPF): %s",
					      last ? last + 1 : log);
		}
		return vert_error_set(err, e, VERT_ERR_RUNTIME, "load the device filter (BPF)");
	}
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)pfd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0)
		return vert_error_sys(err, "attach the device filter to the VE's cgroup");
	/* the attachment holds the program: our fd may go */
	return 0;
}
