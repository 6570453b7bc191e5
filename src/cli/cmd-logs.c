/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vert logs NAME [-f] [--tail N]: the VE init's console output. */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sys/stat.h>

#include "cli.h"
#include "vert/util.h"

/* --raw: the bytes as the VE wrote them */
static bool raw_output;

static void put_raw(const char *buf, size_t n)
{
	if (write_all(STDOUT_FILENO, buf, n) < 0)
		exit(EXIT_FAIL);
}

/* What a VE wrote to its console is escaped (control bytes but newline
 * and tab, DEL, C1, bytes that are not UTF-8), wherever the output goes:
 * through a pipe to a pager or cat it would still reach a terminal, where
 * an escape sequence can retitle the window, remap keys or answer back.
 * Returns how much was used: a UTF-8 sequence cut short at the end waits
 * for its rest unless final. */
static size_t put_esc(const char *buf, size_t n, bool final)
{
	_cleanup_free_ char *e = NULL;
	size_t len, used;

	if (raw_output) {
		put_raw(buf, n);
		return n;
	}
	used = str_escape_term(buf, n, true, final, &e, &len);
	put_raw(e, len);
	return used;
}

static void put(const char *buf, size_t n)
{
	put_esc(buf, n, true);
}

/* Print the last `tail` lines of old+cur (tail < 0: everything). */
static void print_tail(const char *old, size_t on, const char *cur, size_t cn, long tail)
{
	const char *parts[2] = { old, cur };
	size_t lens[2] = { on, cn };
	long lines = 0;
	int start_part = 0;
	size_t start_off = 0;

	if (tail >= 0) {
		/* walk backwards over both generations counting newlines */
		bool found = false;
		for (int p = 1; p >= 0 && !found; p--) {
			size_t len = lens[p];
			for (size_t k = len; k > 0; k--) {
				/* a final line without newline counts as a line too */
				bool last_char = p == 1 ? (k == len) : (k == len && cn == 0);
				if (parts[p][k - 1] == '\n' && !last_char) {
					if (++lines == tail) {
						start_part = p;
						start_off = k;
						found = true;
						break;
					}
				}
			}
		}
		if (tail == 0) {
			start_part = 1;
			start_off = cn;
		}
	}
	for (int p = start_part; p < 2; p++)
		if (lens[p] > (p == start_part ? start_off : 0))
			put(parts[p] + (p == start_part ? start_off : 0),
			    lens[p] - (p == start_part ? start_off : 0));
}

static bool ve_running(struct ve_handle *h)
{
	struct ve_info i;
	bool r;
	if (ve_info_get(h, &i, NULL) < 0)
		return false;
	r = i.running || strcmp(i.status, "rebooting") == 0 || strcmp(i.status, "starting") == 0;
	ve_info_done(&i);
	return r;
}

static int follow(struct ve_handle *h, const char *path, off_t pos)
{
	struct stat st, prev = { 0 };
	int idle = 0;

	stat(path, &prev);
	for (;;) {
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0) {
			if (st.st_ino != prev.st_ino || st.st_size < pos)
				pos = 0; /* rotated: the new file starts over */
			prev = st;
			if (st.st_size > pos) {
				char buf[65536];
				ssize_t n;
				lseek(fd, pos, SEEK_SET);
				while ((n = read(fd, buf, sizeof(buf))) > 0) {
					size_t used = put_esc(buf, (size_t)n, false);
					pos += (off_t)used;
					if (used < (size_t)n) {
						/* the end of a UTF-8 sequence is yet to come */
						lseek(fd, pos, SEEK_SET);
						break;
					}
				}
				idle = 0;
			}
		}
		/* stop following once the VE is down and all was printed */
		if (++idle % 10 == 0 && !ve_running(h)) {
			if (fd >= 0 && st.st_size > pos) {
				char buf[8];
				ssize_t n = pread(fd, buf, sizeof(buf), pos);
				if (n > 0)
					put(buf, (size_t)n);
			}
			return EXIT_OK;
		}
		poll(NULL, 0, 100);
	}
}

int cmd_logs(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "tail", required_argument, NULL, 'n' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ vert_error_t err = VERT_ERROR_INIT;
	_cleanup_ve_handle_ struct ve_handle *h = NULL;
	_cleanup_free_ char *cur = NULL, *old = NULL, *cb = NULL, *ob = NULL;
	size_t cn = 0, on = 0;
	bool fol = false;
	long tail = -1;
	int o;

	while ((o = getopt_long(argc, argv, "fn:rh", opts, NULL)) != -1) {
		switch (o) {
		case 'f':
			fol = true;
			break;
		case 'r':
			raw_output = true;
			break;
		case 'n': {
			uint32_t t;
			if (strcmp(optarg, "all") == 0)
				tail = -1;
			else if (parse_u32(optarg, &t) < 0)
				return cli_usage_error("logs", "invalid --tail '%s'", optarg);
			else
				tail = t;
			break;
		}
		case 'h':
			printf("Usage: vert logs [-f] [--tail N] [--raw] NAME\n"
			       "\n"
			       "The console output of the VE's init (kept up to 1 MiB, plus one\n"
			       "older generation).  Control characters from the VE (but newline\n"
			       "and tab), DEL, C1 controls and bytes that are not UTF-8 are\n"
			       "printed escaped (\\xNN, \\u00NN), wherever the output goes.\n"
			       "\n"
			       "  -f, --follow   keep printing new output until the VE stops\n"
			       "  -n, --tail N   only the last N lines\n"
			       "  --raw          the bytes as the VE wrote them (unsafe on a "
			       "terminal)\n");
			return EXIT_OK;
		default:
			return cli_usage_error("logs", "bad option");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("logs", "expected exactly one VE name");
	if (cli_paths(c, &err) < 0 ||
	    ve_open(&c->paths, argv[optind], VE_OPEN_CONFIG, &h, &err) < 0)
		return cli_fail("logs", &err);
	cur = ve_log_path(h, false);
	old = ve_log_path(h, true);
	if (read_file_at(AT_FDCWD, cur, 64 << 20, &cb, &cn) < 0)
		cb = xstrdup(""), cn = 0;
	if (read_file_at(AT_FDCWD, old, 64 << 20, &ob, &on) < 0)
		ob = xstrdup(""), on = 0;
	print_tail(ob, on, cb, cn, tail);
	if (fol)
		return follow(h, cur, (off_t)cn);
	return EXIT_OK;
}
