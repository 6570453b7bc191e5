/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "vert/util.h"

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		abort();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *xstrdup(const char *s)
{
	char *r = strdup(s ? s : "");
	if (!r)
		abort();
	return r;
}

char *xstrndup(const char *s, size_t n)
{
	char *r = strndup(s, n);
	if (!r)
		abort();
	return r;
}

char *xasprintf(const char *fmt, ...)
{
	char *r;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&r, fmt, ap) < 0)
		abort();
	va_end(ap);
	return r;
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

char **strv_push(char **v, char *take)
{
	size_t n = strv_len(v);
	v = xrealloc(v, (n + 2) * sizeof(char *));
	v[n] = take;
	v[n + 1] = NULL;
	return v;
}

char **strv_copy(char *const *v)
{
	size_t n = strv_len(v);
	char **r = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		r[i] = xstrdup(v[i]);
	return r;
}

bool strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static size_t env_keylen(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : strlen(kv);
}

char **strv_env_set(char **v, char *take_kv)
{
	size_t kl = env_keylen(take_kv);

	for (size_t i = 0; v && v[i]; i++) {
		if (env_keylen(v[i]) == kl && strncmp(v[i], take_kv, kl) == 0) {
			free(v[i]);
			v[i] = take_kv;
			return v;
		}
	}
	return strv_push(v, take_kv);
}

const char *strv_env_get(char *const *v, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; v && v[i]; i++)
		if (strncmp(v[i], key, kl) == 0 && v[i][kl] == '=')
			return v[i] + kl + 1;
	return NULL;
}

bool str_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_endswith(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_u32(const char *s, uint32_t *ret)
{
	uint64_t v;
	int r = parse_u64(s, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

int parse_int(const char *s, int *ret)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE || v > INT_MAX || v < INT_MIN)
		return -ERANGE;
	if (*end || isspace((unsigned char)*s))
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1ULL << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mult = 1ULL << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mult = 1ULL << 30;
		end++;
		break;
	case 't':
	case 'T':
		mult = 1ULL << 40;
		end++;
		break;
	default:
		return -EINVAL;
	}
	/* accept "512M", "512MB", "512MiB", "512m", "512mb" */
	if (mult > 1 && (*end == 'i' || *end == 'I'))
		end++;
	if (mult > 1 && (*end == 'b' || *end == 'B'))
		end++;
	if (*end)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*ret = v * mult;
	return 0;
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP },	 { "INT", SIGINT },   { "QUIT", SIGQUIT },   { "ILL", SIGILL },
	{ "TRAP", SIGTRAP },	 { "ABRT", SIGABRT }, { "BUS", SIGBUS },     { "FPE", SIGFPE },
	{ "KILL", SIGKILL },	 { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },   { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE },	 { "ALRM", SIGALRM }, { "TERM", SIGTERM },   { "CHLD", SIGCHLD },
	{ "CONT", SIGCONT },	 { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },   { "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU },	 { "URG", SIGURG },   { "XCPU", SIGXCPU },   { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "PWR", SIGPWR },	 { "SYS", SIGSYS },
};

int parse_signal(const char *s, int *ret)
{
	int n;

	if (!s || !*s)
		return -EINVAL;
	if (isdigit((unsigned char)*s)) {
		if (parse_int(s, &n) < 0 || n <= 0 || n > SIGRTMAX)
			return -EINVAL;
		*ret = n;
		return 0;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++) {
		if (strcasecmp(s, signals[i].name) == 0) {
			*ret = signals[i].sig;
			return 0;
		}
	}
	if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
		bool min = strncasecmp(s, "RTMIN", 5) == 0;
		int base = min ? SIGRTMIN : SIGRTMAX, off = 0;
		const char *rest = s + 5;
		if (*rest) {
			if ((min && *rest != '+') || (!min && *rest != '-'))
				return -EINVAL;
			if (parse_int(rest + 1, &off) < 0 || off < 0)
				return -EINVAL;
		}
		n = min ? base + off : base - off;
		if (n < SIGRTMIN || n > SIGRTMAX)
			return -EINVAL;
		*ret = n;
		return 0;
	}
	return -EINVAL;
}

const char *signal_name(int sig, char buf[static 16])
{
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		if (signals[i].sig == sig) {
			snprintf(buf, 16, "SIG%s", signals[i].name);
			return buf;
		}
	if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, 16, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, 16, "%d", sig);
	return buf;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 4096;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t n;
		if (len == cap) {
			if (cap >= max)
				return -EFBIG;
			cap = cap * 2 > max ? max : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

ssize_t write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int write_atomic(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
			bool sync)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	char rnd[9];
	int r;

	random_hex(rnd, 8);
	tmp = xasprintf("%s.tmp-%s", path, rnd);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	r = (int)write_all(fd, data, len);
	if (r >= 0 && sync && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && renameat(dirfd, tmp, dirfd, path) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	return 0;
}

int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode)
{
	return write_atomic(dirfd, path, data, len, mode, true);
}

int write_file_atomic_nosync_at(int dirfd, const char *path, const void *data, size_t len,
				mode_t mode)
{
	return write_atomic(dirfd, path, data, len, mode, false);
}

int write_file_str_at(int dirfd, const char *path, const char *s)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, s, strlen(s));
	return r < 0 ? (int)r : 0;
}

int write_file_str(const char *path, const char *s)
{
	return write_file_str_at(AT_FDCWD, path, s);
}

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = NULL;

	/* the common case: it exists, or only the last component is missing */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

void random_hex(char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[32];

	if (n > 64)
		n = 64;
	if (getrandom(raw, (n + 1) / 2, 0) < 0) {
		/* getrandom only fails on ancient kernels; fall back to time+pid */
		uint64_t x = now_ns() ^ ((uint64_t)getpid() << 32);
		for (size_t i = 0; i < sizeof(raw); i++, x = x * 6364136223846793005ULL + 1)
			raw[i] = (unsigned char)(x >> 56);
	}
	for (size_t i = 0; i < n; i++)
		buf[i] = hex[(raw[i / 2] >> ((i & 1) ? 0 : 4)) & 0xf];
	buf[n] = '\0';
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

char *fd_last_line(int fd)
{
	char buf[4096] = "";
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : 0;
	char *last;

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	last = strrchr(buf, '\n');
	return xstrdup(last ? last + 1 : buf);
}

/* ---- processes ---- */

uint64_t proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	_cleanup_close_ int fd = -EBADF;
	unsigned long long st = 0;
	ssize_t n;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may contain spaces and ')': skip to the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* field 3 is the state, right after ") "; starttime is field 22.
	 * A zombie is gone for our purposes: its pid and start time linger
	 * only until its parent (maybe a slow subreaper) reaps it. */
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return 0;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &st) != 1)
		return 0;
	return st;
}

bool proc_alive(pid_t pid, uint64_t start_time)
{
	return pid > 0 && start_time != 0 && proc_start_time(pid) == start_time;
}

/* The length of the valid UTF-8 sequence at p (n bytes available), 0 when
 * it is not one; *incomplete: p[0..n) is a valid start cut short. */
static size_t utf8_seq(const unsigned char *p, size_t n, bool *incomplete)
{
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	*incomplete = false;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* no overlong forms, surrogates or code points above U+10FFFF */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	for (size_t i = 1; i < len; i++) {
		if (i >= n) {
			*incomplete = true;
			return 0;
		}
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
			return 0;
	}
	return len;
}

static void buf_add(char **out, size_t *len, size_t *cap, const void *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*out = xrealloc(*out, *cap);
	}
	memcpy(*out + *len, s, n);
	*len += n;
	(*out)[*len] = '\0';
}

size_t str_escape_term(const char *in, size_t n, bool keep_nl_tab, bool final, char **ret,
		       size_t *ret_len)
{
	const unsigned char *p = (const unsigned char *)in;
	char *out = NULL;
	size_t len = 0, cap = 0, i = 0;

	buf_add(&out, &len, &cap, "", 0);
	while (i < n) {
		bool incomplete;
		size_t l = utf8_seq(p + i, n - i, &incomplete);
		char esc[8];

		if (l == 0 && incomplete && !final)
			break; /* the rest comes with the next chunk */
		if (l == 1 && (p[i] >= 0x20 && p[i] != 0x7f)) {
			buf_add(&out, &len, &cap, p + i, 1);
		} else if (l == 1 && keep_nl_tab && (p[i] == '\n' || p[i] == '\t')) {
			buf_add(&out, &len, &cap, p + i, 1);
		} else if (l == 1 || l == 0) {
			/* C0, DEL, a byte that is not UTF-8 (8-bit C1 among them) */
			snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
			buf_add(&out, &len, &cap, esc, 4);
			l = 1;
		} else if (l == 2 && p[i] == 0xc2 && p[i + 1] <= 0x9f) {
			/* U+0080..U+009F: C1 controls (CSI is U+009B) */
			snprintf(esc, sizeof(esc), "\\u%04x", p[i + 1]);
			buf_add(&out, &len, &cap, esc, 6);
		} else {
			buf_add(&out, &len, &cap, p + i, l);
		}
		i += l;
	}
	*ret = out;
	if (ret_len)
		*ret_len = len;
	return i;
}

char *str_escape_term_dup(const char *s, bool keep_nl_tab)
{
	char *out;
	str_escape_term(s ? s : "", s ? strlen(s) : 0, keep_nl_tab, true, &out, NULL);
	return out;
}

char *str_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), len = 0, cap = 0, i = 0;
	char *out = NULL;

	buf_add(&out, &len, &cap, "", 0);
	while (i < n) {
		bool incomplete;
		size_t l = utf8_seq(p + i, n - i, &incomplete);
		if (l == 0) {
			buf_add(&out, &len, &cap, "\xef\xbf\xbd", 3); /* U+FFFD */
			l = 1;
		} else {
			buf_add(&out, &len, &cap, p + i, l);
		}
		i += l;
	}
	return out;
}
