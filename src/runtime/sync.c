/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <sys/socket.h>

#include "rt-internal.h"
#include "vert/util.h"

int rt_sync_send(int sock, const struct rt_sync_msg *m, int fd_to_pass)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd_to_pass >= 0) {
		struct cmsghdr *c;
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*m) ? 0 : -EIO;
}

int rt_sync_recv(int sock, struct rt_sync_msg *m, int *ret_fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	ssize_t n;

	if (ret_fd)
		*ret_fd = -EBADF;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? 0 : -errno;
	if (n == 0)
		return 0;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
			if (ret_fd)
				*ret_fd = fd;
			else
				close(fd);
		}
	}
	if (n != (ssize_t)sizeof(*m))
		return -EPROTO;
	return 1;
}

int rt_sync_until_exec(int sock, int *ret_pty, int *ret_listener, vert_error_t *err)
{
	_cleanup_close_ int pty = -EBADF, listener = -EBADF;
	struct rt_sync_msg m;
	int r, fd;

	for (;;) {
		r = rt_sync_recv(sock, &m, &fd);
		if (r < 0)
			return vert_error_set(err, -r, VERT_ERR_RUNTIME,
					      "read from the VE process");
		if (r == 0)
			break;		     /* EOF: the socket was closed by execve (O_CLOEXEC) */
		if (m.type == RT_SYNC_PTY) { /* #2 */
			if (fd < 0)
				return vert_error_set(err, EPROTO, VERT_ERR_RUNTIME,
						      "no pty received from the VE");
			if (pty >= 0)
				close(pty);
			pty = fd;
			continue;
		}
		if (m.type == RT_SYNC_NOTIFY && fd >= 0) { /* #4 */
			if (listener >= 0)
				close(listener);
			listener = fd;
			continue;
		}
		if (fd >= 0)
			close(fd);
		if (m.type == RT_SYNC_ERROR) { /* #3 */
			/* report the child's own words, with its kind */
			return vert_error_unpack(err, &m.err, NULL);
		}
	}
	*ret_pty = TAKE_FD(pty);
	*ret_listener = TAKE_FD(listener);
	return 0;
}
