/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vert-probe: a static helper bind-mounted into VEs by the integration
 * tests.  It asks the kernel directly what busybox can't:
 *   vert-probe syscalls          try blocked syscalls, print NAME=errno
 *   vert-probe fds               list open fds with their targets
 *   vert-probe zombies N         leave N orphaned zombies, print "ok"
 *   vert-probe exe-write         try to open /proc/1/exe for writing
 *   vert-probe deep DIR N        make DIR/d/d/... N levels deep, print "ok"
 *   vert-probe icmp6 IF TYPE [TARGET]  send an ICMPv6 router advertisement
 *                                (134), neighbour advertisement (136, for
 *                                TARGET) or redirect (137) to ff02::1
 *   vert-probe icmp4 DST TYPE    send an ICMP echo request (8), redirect (5,
 *                                gateway DST) or router advertisement (9)
 *                                to the IPv4 address DST
 *   vert-probe udp SPORT DST DPORT     send "probe" from SPORT (DST: IPv4,
 *                                or IPv6 with %IF for link-local scope)
 *   vert-probe capture IF SECS   (on the host) print "ready", then one line
 *                                per ICMPv6/UDP packet IF receives, until a
 *                                ICMP/UDP packet to port 9999 or SECS pass
 *   vert-probe nesting           try to make user namespaces and use the
 *                                new mount API, print NAME=errno
 *   vert-probe tiocsti           push a byte into each tty of fds 0-2
 *                                and /dev/tty (TIOCSTI), print the result
 *   vert-probe open-write PATH   open PATH for writing, print the result
 *   vert-probe exe-attack ARG FIFO
 *                                the runc CVE-2019-5736 attack: find the
 *                                process whose argv[0] or [1] is ARG, open its
 *                                /proc/PID/exe, release it (open FIFO for
 *                                writing), and once it is gone try to
 *                                write its first byte back through the fd
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void try(const char *name, long nr, long a, long b, long c, long d, long e)
{
	long r = syscall(nr, a, b, c, d, e);
	printf("%s=%s\n", name, r < 0 ? strerrorname_np(errno) : "allowed");
}

static int syscalls(void)
{
	char desc[] = "vert-test";
	try("add_key", SYS_add_key, (long)"user", (long)desc, (long)"x", 1, -2 /* session */);
	try("keyctl", SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 0, 0, 0);
	try("userfaultfd", SYS_userfaultfd, 0, 0, 0, 0, 0);
	try("io_uring_setup", SYS_io_uring_setup, 1, 0, 0, 0, 0);
	try("bpf", SYS_bpf, 0, 0, 0, 0, 0);
	try("perf_event_open", SYS_perf_event_open, 0, 0, -1, -1, 0);
	try("kexec_load", SYS_kexec_load, 0, 0, 0, 0, 0);
	try("init_module", SYS_init_module, 0, 0, (long)"", 0, 0);
	try("open_by_handle_at", SYS_open_by_handle_at, -1, 0, 0, 0, 0);
	try("swapoff", SYS_swapoff, (long)"/nonexistent", 0, 0, 0, 0);
	try("acct", SYS_acct, 0, 0, 0, 0, 0);
	try("clock_settime", SYS_clock_settime, 0, 0, 0, 0, 0);
	/* a harmless one that must work */
	try("getpid", SYS_getpid, 0, 0, 0, 0, 0);
	return 0;
}

static int fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self = dirfd(d);
	while ((de = readdir(d))) {
		char p[PATH_MAX], t[PATH_MAX];
		ssize_t n;
		if (de->d_name[0] == '.' || atoi(de->d_name) == self)
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%s", de->d_name);
		n = readlink(p, t, sizeof(t) - 1);
		t[n > 0 ? n : 0] = '\0';
		printf("%s %s\n", de->d_name, t);
	}
	closedir(d);
	return 0;
}

static int zombies(int n)
{
	/* children that exit while we never wait: once we exit they are
	 * reparented to PID 1, which must reap them */
	for (int i = 0; i < n; i++)
		if (fork() == 0)
			_exit(0);
	usleep(100000);
	puts("ok");
	return 0;
}

static int exe_write(void)
{
	int fd = open("/proc/1/exe", O_WRONLY);
	printf("%s\n", fd < 0 ? strerrorname_np(errno) : "opened");
	return 0;
}

/* Relative to an fd per level: no path length limit, one fd open. */
static int deep(const char *dir, long n)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	for (long i = 0; fd >= 0 && i < n; i++) {
		int c;
		if (mkdirat(fd, "d", 0755) < 0 && errno != EEXIST)
			break;
		c = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		close(fd);
		fd = c;
	}
	if (fd < 0) {
		perror("deep");
		return 1;
	}
	close(fd);
	puts("ok");
	return 0;
}

/* The kernel fills in the ICMPv6 checksum of a raw ICMPv6 socket. */
static int icmp6(const char *ifname, int type, const char *target)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
	unsigned char pkt[64] = { 0 };
	size_t len = 0;
	int fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6), hops = 255;

	if (fd < 0 || inet_pton(AF_INET6, "ff02::1", &to.sin6_addr) != 1)
		return perror("icmp6 socket"), 1;
	to.sin6_scope_id = if_nametoindex(ifname);
	setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops));
	setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &to.sin6_scope_id, sizeof(int));
	pkt[0] = (unsigned char)type;
	if (type == 134) { /* hop limit 64, router lifetime 1800 s */
		pkt[4] = 64;
		pkt[6] = 1800 >> 8;
		pkt[7] = 1800 & 0xff;
		len = 16;
	} else if (type == 136 || type == 137) { /* NA: override flag; target */
		if (type == 136)
			pkt[4] = 0x20;
		if (!target || inet_pton(AF_INET6, target, pkt + 8) != 1)
			return fprintf(stderr, "icmp6: need a target address\n"), 2;
		len = type == 136 ? 24 : 40;
		if (type == 137) /* destination: the target too */
			memcpy(pkt + 24, pkt + 8, 16);
	} else {
		return fprintf(stderr, "icmp6: type 134, 136 or 137\n"), 2;
	}
	if (sendto(fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return perror("icmp6 send"), 1;
	puts("sent");
	return 0;
}

/* Unlike ICMPv6, a raw ICMP socket leaves the checksum to the sender. */
static int icmp4(const char *dst, int type)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	unsigned char pkt[36] = { 0 };
	size_t len = 8;
	uint32_t sum = 0;
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), one = 1;

	if (fd < 0)
		return perror("icmp4 socket"), 1;
	if (inet_pton(AF_INET, dst, &to.sin_addr) != 1)
		return fprintf(stderr, "icmp4: bad address\n"), 2;
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	pkt[0] = (unsigned char)type;
	if (type == 5) { /* host redirect to gateway DST, about a datagram to DST */
		pkt[1] = 1;
		memcpy(pkt + 4, &to.sin_addr, 4);
		pkt[8] = 0x45;
		pkt[8 + 9] = IPPROTO_UDP;
		memcpy(pkt + 8 + 16, &to.sin_addr, 4);
		len = 36;
	} else if (type == 9) { /* one address, lifetime 1800 s: DST itself */
		pkt[4] = 1;
		pkt[5] = 2;
		pkt[6] = 1800 >> 8;
		pkt[7] = 1800 & 0xff;
		memcpy(pkt + 8, &to.sin_addr, 4);
		len = 16;
	} else if (type != 8) {
		return fprintf(stderr, "icmp4: type 5, 8 or 9\n"), 2;
	}
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)pkt[i] << 8 | pkt[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	pkt[2] = (unsigned char)(~sum >> 8);
	pkt[3] = (unsigned char)~sum;
	if (sendto(fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return perror("icmp4 send"), 1;
	puts("sent");
	return 0;
}

static int udp(int sport, const char *dst, int dport)
{
	struct sockaddr_storage from = { 0 }, to = { 0 };
	socklen_t len;
	char host[128], *pct;
	int fd, one = 1;

	snprintf(host, sizeof(host), "%s", dst);
	pct = strchr(host, '%');
	if (pct)
		*pct++ = '\0';
	if (strchr(host, ':')) {
		struct sockaddr_in6 *f = (void *)&from, *t = (void *)&to;
		f->sin6_family = t->sin6_family = AF_INET6;
		f->sin6_port = htons((uint16_t)sport);
		t->sin6_port = htons((uint16_t)dport);
		t->sin6_scope_id = pct ? if_nametoindex(pct) : 0;
		if (inet_pton(AF_INET6, host, &t->sin6_addr) != 1)
			return fprintf(stderr, "udp: bad address\n"), 2;
		len = sizeof(*t);
	} else {
		struct sockaddr_in *f = (void *)&from, *t = (void *)&to;
		f->sin_family = t->sin_family = AF_INET;
		f->sin_port = htons((uint16_t)sport);
		t->sin_port = htons((uint16_t)dport);
		if (inet_pton(AF_INET, host, &t->sin_addr) != 1)
			return fprintf(stderr, "udp: bad address\n"), 2;
		len = sizeof(*t);
	}
	fd = socket(to.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return perror("udp socket"), 1;
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (pct && to.ss_family == AF_INET)
		setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, pct, (socklen_t)strlen(pct));
	if (bind(fd, (struct sockaddr *)&from, len) < 0)
		return perror("udp bind"), 1;
	if (sendto(fd, "probe", 5, 0, (struct sockaddr *)&to, len) < 0)
		return perror("udp send"), 1;
	puts("sent");
	return 0;
}

static int capture(const char *ifname, int secs)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	time_t end = time(NULL) + secs;
	unsigned char f[2048];
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	ll.sll_ifindex = (int)if_nametoindex(ifname);
	if (fd < 0 || !ll.sll_ifindex || bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0)
		return perror("capture"), 1;
	puts("ready");
	fflush(stdout);
	while (time(NULL) < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;
		unsigned et, proto;
		const unsigned char *l4;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recvfrom(fd, f, sizeof(f), 0, (struct sockaddr *)&from, &fl);
		if (n < 14 + 20 + 8 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		et = (unsigned)f[12] << 8 | f[13];
		if (et == ETHERTYPE_IPV6 && n >= 14 + 40 + 8) {
			proto = f[14 + 6];
			l4 = f + 14 + 40;
		} else if (et == ETHERTYPE_IP) {
			proto = f[14 + 9];
			l4 = f + 14 + (f[14] & 0xf) * 4;
		} else {
			continue;
		}
		if (proto == IPPROTO_ICMPV6 && et == ETHERTYPE_IPV6) {
			char t[INET6_ADDRSTRLEN] = "-";
			if (l4[0] == 136 && n >= 14 + 40 + 24)
				inet_ntop(AF_INET6, l4 + 8, t, sizeof(t));
			printf("icmp6 %u %s\n", l4[0], t);
		} else if (proto == IPPROTO_ICMP && et == ETHERTYPE_IP) {
			printf("icmp4 %u\n", l4[0]);
		} else if (proto == IPPROTO_UDP) {
			unsigned sp = (unsigned)l4[0] << 8 | l4[1],
				 dp = (unsigned)l4[2] << 8 | l4[3];
			printf("udp%c %u %u\n", et == ETHERTYPE_IP ? '4' : '6', sp, dp);
			if (dp == 9999)
				return fflush(stdout), 0;
		}
		fflush(stdout);
	}
	puts("timeout");
	return 1;
}

static void try_clone(const char *name, unsigned long flags)
{
	/* the raw syscall (x86 order: flags, stack, parent_tid, child_tid,
	 * tls): the child exits at once */
	long r = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	printf("%s=%s\n", name, r < 0 ? strerrorname_np(errno) : "allowed");
}

static int nesting(void)
{
	struct {
		unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack,
			stack_size, tls;
	} ca = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
	long r;

	try_clone("clone_newuser", CLONE_NEWUSER);
	/* a plain fork through clone(2) must still work */
	try_clone("clone_plain", 0);
	r = syscall(SYS_clone3, &ca, sizeof(ca));
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	printf("clone3=%s\n", r < 0 ? strerrorname_np(errno) : "allowed");
	/* setns(2) of our own user namespace: EINVAL when allowed */
	{
		int fd = open("/proc/self/ns/user", O_RDONLY);
		try("setns_user", SYS_setns, fd, CLONE_NEWUSER, 0, 0, 0);
		if (fd >= 0)
			close(fd);
	}
	try("fsopen", SYS_fsopen, (long)"tmpfs", 0, 0, 0, 0);
	try("fspick", SYS_fspick, AT_FDCWD, (long)"/", 0, 0, 0);
	try("fsconfig", SYS_fsconfig, -1, 0, 0, 0, 0);
	try("fsmount", SYS_fsmount, -1, 0, 0, 0, 0);
	try("open_tree", SYS_open_tree, AT_FDCWD, (long)"/", 0, 0, 0);
	try("move_mount", SYS_move_mount, -1, (long)"", -1, (long)"", 0);
	try("mount_setattr", SYS_mount_setattr, -1, (long)"", 0, 0, 0);
	/* the last: unshare(2) succeeds when allowed, and we are then in a
	 * new user namespace */
	try("unshare_newuser", SYS_unshare, CLONE_NEWUSER, 0, 0, 0, 0);
	return 0;
}

static void sti(const char *what, int fd)
{
	char c = '\n';
	if (!isatty(fd)) {
		printf("%s=notty\n", what);
		return;
	}
	/* the request with high bits set too: the kernel only reads 32 */
	if (ioctl(fd, TIOCSTI, &c) == 0 || syscall(SYS_ioctl, fd, 0x100000000UL | TIOCSTI, &c) == 0)
		printf("%s=allowed\n", what);
	else
		printf("%s=%s\n", what, strerrorname_np(errno));
	/* TIOCLINUX subcode 11 (TIOCL_GETKMSGREDIRECT): harmless, but on a
	 * pty the kernel answers ENOTTY, not EPERM */
	c = 11;
	printf("%s_linux=%s\n", what,
	       ioctl(fd, TIOCLINUX, &c) == 0 ? "allowed" : strerrorname_np(errno));
}

static int tiocsti(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	sti("fd0", 0);
	sti("fd1", 1);
	sti("fd2", 2);
	if (fd < 0)
		printf("devtty=%s\n", strerrorname_np(errno));
	else
		sti("devtty", fd);
	return 0;
}

static int open_write(const char *path)
{
	int fd = open(path, O_WRONLY);
	printf("%s\n", fd < 0 ? strerrorname_np(errno) : "opened");
	return 0;
}

static pid_t find_argv1(const char *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	while (d && (de = readdir(d)) && !found) {
		char p[64], buf[4096];
		ssize_t n;
		int fd;
		if (atoi(de->d_name) <= 0 || atoi(de->d_name) == getpid())
			continue;
		snprintf(p, sizeof(p), "/proc/%d/cmdline", atoi(de->d_name));
		fd = open(p, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		size_t l0 = strlen(buf);
		if (strcmp(buf, arg) == 0 ||
		    ((ssize_t)l0 + 1 < n && strcmp(buf + l0 + 1, arg) == 0))
			found = atoi(de->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

static int exe_attack(const char *arg, const char *fifo)
{
	char p[64], t[PATH_MAX];
	pid_t pid = 0;
	int fd, wfd;
	ssize_t n;
	char c;

	for (int i = 0; i < 200 && !(pid = find_argv1(arg)); i++)
		usleep(50000);
	if (!pid) {
		puts("target=notfound");
		return 1;
	}
	snprintf(p, sizeof(p), "/proc/%d/exe", pid);
	fd = open(p, O_RDONLY);
	if (fd < 0) {
		printf("exe=%s\n", strerrorname_np(errno));
	} else {
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		n = readlink(p, t, sizeof(t) - 1);
		t[n > 0 ? n : 0] = '\0';
		printf("exe=%s\n", t);
	}
	/* release the target: its loader reads an empty preload */
	close(open(fifo, O_WRONLY));
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		usleep(50000);
	if (fd < 0)
		return 0;
	/* what is written is what was there: a write that works changes
	 * nothing, but shows that it could */
	wfd = open(p, O_WRONLY);
	if (wfd < 0) {
		printf("write=%s\n", strerrorname_np(errno));
		return 0;
	}
	if (pread(fd, &c, 1, 0) != 1 || pwrite(wfd, &c, 1, 0) != 1)
		printf("write=%s\n", strerrorname_np(errno));
	else
		puts("write=ok");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "syscalls") == 0)
		return syscalls();
	if (argc >= 2 && strcmp(argv[1], "fds") == 0)
		return fds();
	if (argc >= 3 && strcmp(argv[1], "zombies") == 0)
		return zombies(atoi(argv[2]));
	if (argc >= 2 && strcmp(argv[1], "exe-write") == 0)
		return exe_write();
	if (argc >= 4 && strcmp(argv[1], "icmp4") == 0)
		return icmp4(argv[2], atoi(argv[3]));
	if (argc >= 4 && strcmp(argv[1], "icmp6") == 0)
		return icmp6(argv[2], atoi(argv[3]), argc >= 5 ? argv[4] : NULL);
	if (argc >= 5 && strcmp(argv[1], "udp") == 0)
		return udp(atoi(argv[2]), argv[3], atoi(argv[4]));
	if (argc >= 4 && strcmp(argv[1], "capture") == 0)
		return capture(argv[2], atoi(argv[3]));
	if (argc >= 4 && strcmp(argv[1], "deep") == 0)
		return deep(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: vert-probe syscalls|fds|zombies "
			"N|exe-write|deep|icmp4|icmp6|udp|capture\n");
	if (argc >= 2 && strcmp(argv[1], "nesting") == 0)
		return nesting();
	if (argc >= 2 && strcmp(argv[1], "tiocsti") == 0)
		return tiocsti();
	if (argc >= 3 && strcmp(argv[1], "open-write") == 0)
		return open_write(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "exe-attack") == 0)
		return exe_attack(argv[2], argv[3]);
	fprintf(stderr, "usage: vert-probe syscalls|fds|zombies N|exe-write|nesting|tiocsti|"
			"open-write PATH|exe-attack ARG FIFO\n");
	return 2;
}
