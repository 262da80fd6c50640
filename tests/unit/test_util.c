// SPDX-License-Identifier: Apache-2.0
/* src/util: parse_u64, parse_u64_field, path_join, root-relative reads on a temp dir, strbuf
 * growth. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/fileio.h"
#include "util/strbuf.h"
#include "util/util.h"

static const struct {
	const char *in;
	int ret;
	uint64_t v;
} u64_cases[] = {
    {"0", 0, 0},
    {"42", 0, 42},
    {"42\n", 0, 42},
    {"  7  ", 0, 7},
    {"\t123\t\n", 0, 123},
    {"007", 0, 7},
    {"18446744073709551615", 0, UINT64_MAX},
    {"18446744073709551616", -ERANGE, 0},
    {"99999999999999999999999", -ERANGE, 0},
    {"", -EINVAL, 0},
    {"   ", -EINVAL, 0},
    {"-1", -EINVAL, 0},
    {"+1", -EINVAL, 0},
    {"abc", -EINVAL, 0},
    {"12abc", -EINVAL, 0},
    {"1 2", -EINVAL, 0},
    {"0x10", -EINVAL, 0},
    {"1.5", -EINVAL, 0},
    {"12\n13\n", -EINVAL, 0},
};

static void test_parse_u64(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(u64_cases); i++) {
		uint64_t v = 0xabad1dea;
		int r = parse_u64(u64_cases[i].in, &v);

		if (r != u64_cases[i].ret || (r == 0 && v != u64_cases[i].v))
			fail_msg("parse_u64(\"%s\") = %d, %llu; want %d, %llu", u64_cases[i].in, r,
				 (unsigned long long)v, u64_cases[i].ret,
				 (unsigned long long)u64_cases[i].v);
		if (r < 0)
			assert_int_equal(v, 0xabad1dea);
	}
}

/* A field of a space-separated line: what follows it stays for the next field. */
static void test_parse_u64_field(void **state)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t v;
		size_t used;
	} t[] = {
	    {"12 34", 0, 12, 2},
	    {"   7\n8", 0, 7, 4},
	    {"18446744073709551615", 0, UINT64_MAX, 20},
	    {"18446744073709551616 1", -ERANGE},
	    {"", -EINVAL},
	    {" ", -EINVAL},
	    {"-1 2", -EINVAL},
	    {"\t1", -EINVAL},
	    {"12x 3", -EINVAL},
	    {"1\t2", -EINVAL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		const char *p = t[i].in;
		uint64_t v = 0xabad1dea;
		int r = parse_u64_field(&p, &v);

		if (r != t[i].ret)
			fail_msg("case %zu: %d, want %d", i, r, t[i].ret);
		if (r == 0) {
			assert_true(v == t[i].v);
			assert_int_equal(p - t[i].in, t[i].used);
		} else {
			assert_ptr_equal(p, t[i].in);
			assert_int_equal(v, 0xabad1dea);
		}
	}
}

static const struct {
	const char *root, *rel;
	size_t size;
	int ret;
	const char *out;
} join_cases[] = {
    {"/sys", "class/powercap", 64, 0, "/sys/class/powercap"},
    {"/sys", "/class/powercap", 64, 0, "/sys/class/powercap"},
    {"/sys", "///x", 64, 0, "/sys/x"},
    {"/host/proc", "1/stat", 64, 0, "/host/proc/1/stat"},
    {"", "proc", 64, 0, "/proc"},
    {"/sys", "", 64, 0, "/sys/"},
    {"/sys", "abcd", 10, 0, "/sys/abcd"},	/* exactly fits: 9 chars + NUL */
    {"/sys", "abcde", 10, -ENAMETOOLONG, NULL}, /* one too many */
    {"/sys", "x", 1, -ENAMETOOLONG, NULL},
};

static void test_path_join(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(join_cases); i++) {
		char buf[64];
		int r;

		assert_true(join_cases[i].size <= sizeof(buf));
		r = path_join(buf, join_cases[i].size, join_cases[i].root, join_cases[i].rel);
		if (r != join_cases[i].ret)
			fail_msg("path_join(%s, %s, %zu) = %d; want %d", join_cases[i].root,
				 join_cases[i].rel, join_cases[i].size, r, join_cases[i].ret);
		if (r == 0)
			assert_string_equal(buf, join_cases[i].out);
	}
}

static char tmpdir[PATH_MAX];

static void write_file(const char *rel, const char *data, size_t len)
{
	char path[PATH_MAX];
	int fd;

	assert_int_equal(path_join(path, sizeof(path), tmpdir, rel), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static int setup_tmp(void **state)
{
	char path[PATH_MAX];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/kepler-test-util-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	if (path_join(path, sizeof(path), tmpdir, "sub") < 0)
		return -1;
	if (mkdir(path, 0755) < 0)
		return -1;
	write_file("sub/energy_uj", "123456789\n", 10);
	write_file("sub/name", "package-0  \n", 12);
	write_file("empty", "", 0);
	write_file("garbage", "12ab\n", 5);
	write_file("huge", "99999999999999999999999\n", 24);
	write_file("twolines", "first\nsecond\n", 13);
	write_file("exact7", "1234567", 7);
	if (path_join(path, sizeof(path), tmpdir, "fifo") < 0 || mkfifo(path, 0600) < 0)
		return -1;
	write_file("nul",
		   "12\0"
		   "34\n",
		   6);
	return 0;
}

static int teardown_tmp(void **state)
{
	static const char *const files[] = {"sub/energy_uj", "sub/name", "empty", "garbage", "huge",
					    "twolines",	     "exact7",	 "nul",	  "fifo"};
	char path[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		path_join(path, sizeof(path), tmpdir, files[i]);
		unlink(path);
	}
	path_join(path, sizeof(path), tmpdir, "sub");
	rmdir(path);
	rmdir(tmpdir);
	return 0;
}

static const struct {
	const char *rel;
	size_t size;
	int ret; /* bytes or -errno */
	const char *out;
} read_cases[] = {
    {"sub/energy_uj", 64, 10, "123456789\n"},
    {"/sub/energy_uj", 64, 10, "123456789\n"},
    {"empty", 64, 0, ""},
    {"twolines", 64, 13, "first\nsecond\n"},
    {"exact7", 8, 7, "1234567"}, /* exactly fills the buffer */
    {"exact7", 7, -EFBIG, NULL}, /* one byte short */
    {"exact7", 2, -EFBIG, NULL},
    {"exact7", 1, -EFBIG, NULL}, /* no room for any byte */
    {"empty", 1, 0, ""},
    {"missing", 64, -ENOENT, NULL},
    {"sub/missing/deeper", 64, -ENOENT, NULL},
    {"sub", 64, -EISDIR, NULL},
    {"fifo", 64, -EINVAL, NULL}, /* refused at once, never a reader blocked for a writer */
    {"exact7", 0, -EINVAL, NULL},
};

static void test_read_file_at(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(read_cases); i++) {
		char buf[64];
		int r;

		memset(buf, 'Z', sizeof(buf));
		r = read_file_at(tmpdir, read_cases[i].rel, buf, read_cases[i].size);
		if (r != read_cases[i].ret)
			fail_msg("read_file_at(%s, %zu) = %d; want %d", read_cases[i].rel,
				 read_cases[i].size, r, read_cases[i].ret);
		if (r >= 0) {
			assert_memory_equal(buf, read_cases[i].out, (size_t)r + 1);
		}
	}
}

/* read_file_alloc: the same files by absolute path, bounded by max. */
static const struct {
	const char *rel;
	size_t max;
	int ret;
	const char *out;
	size_t len;
} alloc_cases[] = {
    {"exact7", 7, 0, "1234567", 7},
    {"exact7", 6, -EFBIG, NULL, 0},
    {"empty", 0, 0, "", 0},
    {"nul", 64, 0, "12", 6}, /* the length counts past an embedded NUL */
    {"missing", 64, -ENOENT, NULL, 0},
    {"sub", 64, -EISDIR, NULL, 0},
    {"fifo", 64, -EINVAL, NULL, 0},
};

static void test_read_file_alloc(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(alloc_cases); i++) {
		char path[PATH_MAX], *buf = (char *)0x1;
		size_t len = 12345;
		int r;

		assert_int_equal(path_join(path, sizeof(path), tmpdir, alloc_cases[i].rel), 0);
		r = read_file_alloc(path, alloc_cases[i].max, &buf, &len);
		if (r != alloc_cases[i].ret)
			fail_msg("case %zu (%s): %d, want %d", i, alloc_cases[i].rel, r,
				 alloc_cases[i].ret);
		if (r < 0) {
			assert_ptr_equal(buf, (char *)0x1); /* untouched on failure */
			continue;
		}
		assert_int_equal(len, alloc_cases[i].len);
		assert_string_equal(buf, alloc_cases[i].out);
		free(buf);
	}
}

static void test_read_file_at_bad_root(void **state)
{
	char buf[16];
	char longrel[PATH_MAX + 16];

	(void)state;
	assert_int_equal(read_file_at("/nonexistent-kepler-root", "x", buf, sizeof(buf)), -ENOENT);
	memset(longrel, 'a', sizeof(longrel) - 1);
	longrel[sizeof(longrel) - 1] = '\0';
	assert_int_equal(read_file_at(tmpdir, longrel, buf, sizeof(buf)), -ENAMETOOLONG);
}

static void test_read_line_at(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(read_line_at(tmpdir, "sub/name", buf, sizeof(buf)), 9);
	assert_string_equal(buf, "package-0");
	assert_int_equal(read_line_at(tmpdir, "twolines", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "first");
	assert_int_equal(read_line_at(tmpdir, "empty", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(read_line_at(tmpdir, "missing", buf, sizeof(buf)), -ENOENT);
}

static void test_read_u64_at(void **state)
{
	uint64_t v = 1;

	(void)state;
	assert_int_equal(read_u64_at(tmpdir, "sub/energy_uj", &v), 0);
	assert_int_equal(v, 123456789);
	v = 1;
	assert_int_equal(read_u64_at(tmpdir, "empty", &v), -EINVAL);
	assert_int_equal(read_u64_at(tmpdir, "garbage", &v), -EINVAL);
	assert_int_equal(read_u64_at(tmpdir, "huge", &v), -ERANGE);
	assert_int_equal(read_u64_at(tmpdir, "twolines", &v), -EINVAL);
	assert_int_equal(read_u64_at(tmpdir, "nul", &v), -EINVAL); /* "12\0" "34": not one number */
	assert_int_equal(read_u64_at(tmpdir, "missing", &v), -ENOENT);
	assert_int_equal(v, 1);
}

static void test_strbuf_growth(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;
	size_t len;

	(void)state;
	/* Crossing the initial capacity several times, one byte at a time */
	for (int i = 0; i < 5000; i++)
		strbuf_putc(&sb, (char)('a' + i % 26));
	assert_int_equal(sb.len, 5000);
	assert_true(sb.cap > sb.len);
	assert_int_equal(strbuf_error(&sb), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(sb.buf[i], 'a' + i % 26);
	assert_int_equal(sb.buf[5000], '\0');

	/* printf output longer than the 64 bytes it first reserves, at a capacity edge */
	strbuf_reset(&sb);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.buf, "");
	strbuf_append(&sb, "x", 1);
	strbuf_printf(&sb, "%0300d|%s", 7, "tail");
	assert_int_equal(sb.len, 1 + 300 + 5);
	assert_int_equal(strlen(sb.buf), sb.len);
	assert_int_equal(sb.buf[0], 'x');
	assert_int_equal(sb.buf[300], '7');
	assert_string_equal(sb.buf + 301, "|tail");

	/* Many printf calls, each exactly filling what is left */
	strbuf_reset(&sb);
	for (int i = 0; i < 1000; i++)
		strbuf_printf(&sb, "%d,", i);
	s = strbuf_detach(&sb, &len);
	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	assert_true(startswith(s, "0,1,2,3,"));
	assert_non_null(strstr(s, ",998,999,"));
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
	free(s);

	/* Embedded NULs through append, puts */
	strbuf_append(&sb, "a\0b", 3);
	strbuf_puts(&sb, "cd");
	assert_int_equal(sb.len, 5);
	assert_memory_equal(sb.buf, "a\0bcd", 6);
	strbuf_release(&sb);
	assert_null(sb.buf);
}

static void test_strbuf_detach_empty(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;
	size_t len = 99;

	(void)state;
	s = strbuf_detach(&sb, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
}

static void test_strbuf_copy_out(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[6] = "xxxxx";

	(void)state;
	strbuf_puts(&sb, "hello!");
	assert_int_equal(strbuf_copy_out(&sb, buf, sizeof(buf)), -ENAMETOOLONG);
	assert_string_equal(buf, "xxxxx");
	assert_null(sb.buf);
	strbuf_puts(&sb, "hello");
	assert_int_equal(strbuf_copy_out(&sb, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "hello");
	assert_null(sb.buf);
}

static void test_strbuf_sticky_error(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len = 99;

	(void)state;
	strbuf_puts(&sb, "abc");
	/* A size no allocation can satisfy: the error sticks and the content stays as it was */
	strbuf_append(&sb, "x", SIZE_MAX / 2);
	assert_int_equal(strbuf_error(&sb), -ENOMEM);
	strbuf_puts(&sb, "def");
	assert_int_equal(sb.len, 3);
	assert_int_equal(strbuf_error(&sb), -ENOMEM);
	assert_null(strbuf_detach(&sb, &len));
	assert_int_equal(len, 99);
	assert_null(sb.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_u64),
	    cmocka_unit_test(test_parse_u64_field),
	    cmocka_unit_test(test_path_join),
	    cmocka_unit_test(test_read_file_at),
	    cmocka_unit_test(test_read_file_at_bad_root),
	    cmocka_unit_test(test_read_file_alloc),
	    cmocka_unit_test(test_read_line_at),
	    cmocka_unit_test(test_read_u64_at),
	    cmocka_unit_test(test_strbuf_growth),
	    cmocka_unit_test(test_strbuf_detach_empty),
	    cmocka_unit_test(test_strbuf_copy_out),
	    cmocka_unit_test(test_strbuf_sticky_error),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
