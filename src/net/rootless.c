/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rootless networking through a user-space TCP/IP stack: pasta (package
 * passt, preferred: faster, no NAT table, IPv6) or slirp4netns.  Both
 * attach a tap device to the VE's netns from outside and forward its
 * traffic through ordinary sockets of the invoking user, which is all an
 * unprivileged user may do.  The helper must not outlive the VE: teardown
 * kills pasta by its recorded pid and start time (it does not notice the
 * netns going away by itself); slirp4netns also gets an exit fd that
 * closes when vert does.
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "net-internal.h"
#include "vert/util.h"
#include "vert/vnet.h"

extern char **environ;

static const char *const tool_dirs[] = { "/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/",
					 "/usr/local/bin/" };

static char *tool_path(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(tool_dirs); i++) {
		char *p = xasprintf("%s%s", tool_dirs[i], name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

bool vnet_have_tool(const char *name)
{
	_cleanup_free_ char *p = tool_path(name);
	return p != NULL;
}

/* pasta and slirp4netns forward through the host's uplink: without a
 * default route they fail (pasta: "External interface not usable"). */
static bool have_default_route(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/net/route", "re");
	char line[256];

	while (f && fgets(line, sizeof(line), f)) {
		char ifname[64];
		unsigned long dest, gw, flags;
		if (sscanf(line, "%63s %lx %lx %lx", ifname, &dest, &gw, &flags) == 4 &&
		    dest == 0 && (flags & 1 /* RTF_UP */))
			return true;
	}
	f = f ? (fclose(f), NULL) : NULL;
	f = fopen("/proc/net/ipv6_route", "re");
	while (f && fgets(line, sizeof(line), f))
		/* ::/0 (destination and prefix length first) */
		if (strncmp(line, "00000000000000000000000000000000 00 ", 36) == 0)
			return true;
	return false;
}

const char *vnet_rootless_blocker(void)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		if (!have_default_route())
			return "the host has no default route for pasta or slirp4netns to "
			       "forward through";
		return NULL;
	}
	if (errno == ENOENT)
		return "/dev/net/tun does not exist (the tun module is missing)";
	return "this user cannot open /dev/net/tun (pasta and slirp4netns need it; Debian's "
	       "udev rule makes it mode 0666)";
}

/* The helper outlives this vert: it must not hold any fd of ours (a
 * caller's pipe would never see EOF).  Everything above stderr becomes
 * close-on-exec, then the fds the helper needs are let through. */
static void helper_fds(int errfd, const int *keep, size_t n)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	dup2(errfd, STDOUT_FILENO);
	dup2(errfd, STDERR_FILENO);
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = 3; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	for (size_t i = 0; i < n; i++)
		fcntl(keep[i], F_SETFD, 0);
}

/* Run argv with stdout/stderr into errfd (for the error message). */
static pid_t spawn(char *const *argv, int errfd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	helper_fds(errfd, NULL, 0);
	execve(argv[0], argv, environ);
	_exit(127);
}

static int tool_error(const char *tool, int errfd, int status, vert_error_t *err)
{
	_cleanup_free_ char *last = fd_last_line(errfd);

	if (*last)
		return vert_error_set(err, EIO, VERT_ERR_RUNTIME, "%s failed: %s", tool, last);
	return vert_error_set(err, EIO, VERT_ERR_RUNTIME, "%s failed (status %d)", tool, status);
}

static char **port_args(char **argv, const struct vnet_port *ports, size_t n, bool pasta)
{
	bool tcp = false, udp = false;

	for (size_t i = 0; i < n; i++) {
		char ip[16];
		vnet_format_ipv4(ports[i].host_ip, ip);
		argv = strv_push(argv, xstrdup(ports[i].proto == IPPROTO_UDP ? "-u" : "-t"));
		if (ports[i].host_ip)
			argv = strv_push(argv, xasprintf("%s/%u:%u", ip, ports[i].host_port,
							 ports[i].ve_port));
		else
			argv = strv_push(argv,
					 xasprintf("%u:%u", ports[i].host_port, ports[i].ve_port));
		tcp |= ports[i].proto == IPPROTO_TCP;
		udp |= ports[i].proto == IPPROTO_UDP;
	}
	if (pasta) {
		/* only what was asked for: no automatic forwarding either way */
		if (!tcp)
			argv = strv_push(strv_push(argv, xstrdup("-t")), xstrdup("none"));
		if (!udp)
			argv = strv_push(strv_push(argv, xstrdup("-u")), xstrdup("none"));
		argv = strv_push(strv_push(argv, xstrdup("-T")), xstrdup("none"));
		argv = strv_push(strv_push(argv, xstrdup("-U")), xstrdup("none"));
	}
	return argv;
}

int vnet_pasta_start(pid_t pid, bool userns, const struct vnet_port *ports, size_t n,
		     const char *pidfile, vert_error_t *err)
{
	_cleanup_close_ int errfd = memfd_create("vert-pasta", MFD_CLOEXEC);
	_cleanup_strv_ char **argv = NULL;
	char *path = tool_path("pasta");
	int status;
	pid_t child;

	if (!path)
		return vert_error_set(err, ENOENT, VERT_ERR_RUNTIME, "pasta is not installed");
	argv = strv_push(argv, path);
	argv = strv_push(argv, xstrdup("--config-net"));
	argv = strv_push(argv, xstrdup("--quiet"));
	argv = strv_push(argv, xstrdup("--pid"));
	argv = strv_push(argv, xstrdup(pidfile));
	argv = port_args(argv, ports, n, true);
	/* By PID: pasta joins that process's user namespace (which owns
	 * the netns: there it gets the capabilities to configure it) and
	 * quits when the process is gone.  Only rootless: given the
	 * initial user namespace that way, pasta fails. */
	if (userns) {
		argv = strv_push(argv, xasprintf("%d", pid));
	} else {
		argv = strv_push(argv, xstrdup("--netns"));
		argv = strv_push(argv, xasprintf("/proc/%d/ns/net", pid));
	}
	/* pasta forks to the background once the namespace is configured:
	 * the foreground process's exit says "ready" */
	child = spawn(argv, errfd);
	if (child < 0)
		return vert_error_sys(err, "fork pasta");
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return vert_error_sys(err, "wait for pasta");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return tool_error("pasta", errfd, status, err);
	return 0;
}

static int slirp_api(const char *sock, const char *json, vert_error_t *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char reply[512];
	ssize_t n;

	if (fd < 0)
		return vert_error_sys(err, "socket");
	if (strlen(sock) >= sizeof(sa.sun_path))
		return vert_error_set(err, ENAMETOOLONG, VERT_ERR_RUNTIME,
				      "slirp4netns socket path too long");
	strcpy(sa.sun_path, sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vert_error_sys(err, "connect to slirp4netns");
	if (write_all(fd, json, strlen(json)) < 0)
		return vert_error_sys(err, "talk to slirp4netns");
	shutdown(fd, SHUT_WR);
	n = read(fd, reply, sizeof(reply) - 1);
	if (n < 0)
		return vert_error_sys(err, "read from slirp4netns");
	reply[n] = '\0';
	if (strstr(reply, "\"error\""))
		return vert_error_set(err, EIO, VERT_ERR_RUNTIME, "slirp4netns: %s", reply);
	return 0;
}

int vnet_slirp_start(pid_t pid, const struct vnet_port *ports, size_t n, const char *apisock,
		     pid_t *ret_pid, vert_error_t *err)
{
	_cleanup_close_ int errfd = memfd_create("vert-slirp", MFD_CLOEXEC);
	_cleanup_strv_ char **argv = NULL;
	char *path = tool_path("slirp4netns");
	int ready[2], exitp[2], r;
	char c;
	pid_t child;
	struct pollfd pfd;

	if (!path)
		return vert_error_set(err, ENOENT, VERT_ERR_RUNTIME,
				      "slirp4netns is not installed");
	if (pipe2(ready, O_CLOEXEC) < 0) {
		free(path);
		return vert_error_sys(err, "pipe");
	}
	if (pipe2(exitp, O_CLOEXEC) < 0) {
		free(path);
		close(ready[0]);
		close(ready[1]);
		return vert_error_sys(err, "pipe");
	}
	unlink(apisock);
	argv = strv_push(argv, path);
	argv = strv_push(argv, xstrdup("--configure"));
	argv = strv_push(argv, xstrdup("--mtu=65520"));
	argv = strv_push(argv, xstrdup("--disable-host-loopback"));
	argv = strv_push(argv, xasprintf("--ready-fd=%d", ready[1]));
	/* the read end of a pipe whose write end only vert holds: slirp4netns
	 * sees POLLHUP and exits when vert is gone */
	argv = strv_push(argv, xasprintf("--exit-fd=%d", exitp[0]));
	argv = strv_push(argv, xasprintf("--api-socket=%s", apisock));
	argv = strv_push(argv, xasprintf("%d", pid));
	argv = strv_push(argv, xstrdup("tap0"));
	child = fork();
	if (child == 0) {
		int keep[2] = { ready[1], exitp[0] };
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		helper_fds(errfd, keep, 2);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	close(ready[1]);
	close(exitp[0]);
	if (child < 0) {
		close(ready[0]);
		close(exitp[1]);
		return vert_error_sys(err, "fork slirp4netns");
	}
	/* exitp[1] stays open (CLOEXEC) for vert's lifetime on purpose */
	pfd = (struct pollfd){ .fd = ready[0], .events = POLLIN };
	r = poll(&pfd, 1, 10000);
	if (r <= 0 || read(ready[0], &c, 1) != 1) {
		int status = 0;
		close(ready[0]);
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		return tool_error("slirp4netns", errfd, status, err);
	}
	close(ready[0]);
	for (size_t i = 0; i < n; i++) {
		char ip[16];
		_cleanup_free_ char *json = NULL;
		vnet_format_ipv4(ports[i].host_ip, ip);
		json = xasprintf(
			"{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"%s\", "
			"\"host_addr\": \"%s\", \"host_port\": %u, \"guest_port\": %u}}",
			ports[i].proto == IPPROTO_UDP ? "udp" : "tcp", ip, ports[i].host_port,
			ports[i].ve_port);
		if ((r = slirp_api(apisock, json, err)) < 0) {
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
			return r;
		}
	}
	*ret_pid = child;
	return 0;
}
