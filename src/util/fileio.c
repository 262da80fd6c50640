// SPDX-License-Identifier: Apache-2.0
#include "util/fileio.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util/util.h"

int path_join(char *buf, size_t size, const char *root, const char *rel)
{
	int n;

	while (*rel == '/')
		rel++;
	n = snprintf(buf, size, "%s/%s", root, rel);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Open a regular file for reading. Anything else is refused without blocking:
 * a FIFO or device planted where a sysfs or procfs attribute belongs would
 * otherwise hang the reader (sysfs and procfs attributes are regular files).
 */
static int open_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	return fd;
}

int open_regular_at(const char *root, const char *rel)
{
	char path[PATH_MAX];
	int r = path_join(path, sizeof(path), root, rel);

	return r < 0 ? r : open_regular(path);
}

int read_file_at(const char *root, const char *rel, char *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	size_t len = 0;

	if (size == 0)
		return -EINVAL;
	fd = open_regular_at(root, rel);
	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t k;

		if (len == size - 1) {
			/* Full: one more byte means the file does not fit. */
			char extra;

			do
				k = read(fd, &extra, 1);
			while (k < 0 && errno == EINTR);
			if (k < 0)
				return -errno;
			if (k > 0)
				return -EFBIG;
			break;
		}
		k = read(fd, buf + len, size - 1 - len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	buf[len] = '\0';
	return (int)len;
}

int read_file_alloc(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t n = 0, cap = 4096;
	ssize_t k;

	fd = open_regular(path);
	if (fd < 0)
		return fd;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n + 1 == cap) {
			char *b;

			if (cap > max + 1)
				return -EFBIG;
			b = realloc(buf, cap * 2);
			if (!b)
				return -ENOMEM;
			buf = b;
			cap *= 2;
		}
		k = read(fd, buf + n, cap - 1 - n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > max)
		return -EFBIG;
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = n;
	return 0;
}

int read_line_at(const char *root, const char *rel, char *buf, size_t size)
{
	int r = read_file_at(root, rel, buf, size);
	char *nl;
	size_t len;

	if (r < 0)
		return r;
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	len = strlen(buf);
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	return (int)len;
}

/* Unsigned decimal digits at s (no sign, no base prefix); *end after them. */
static int scan_u64(const char *s, char **end, uint64_t *ret)
{
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v;
	char *end;
	int r;

	while (isspace((unsigned char)*s))
		s++;
	r = scan_u64(s, &end, &v);
	if (r < 0)
		return r;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_u64_field(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v;
	char *end;
	int r;

	while (*s == ' ')
		s++;
	r = scan_u64(s, &end, &v);
	if (r < 0)
		return r;
	if (*end != ' ' && *end != '\n' && *end != '\0')
		return -EINVAL;
	*ret = v;
	*p = end;
	return 0;
}

int read_u64_at(const char *root, const char *rel, uint64_t *ret)
{
	char buf[64];
	int r = read_file_at(root, rel, buf, sizeof(buf));

	if (r < 0)
		return r;
	if (strlen(buf) != (size_t)r)
		return -EINVAL; /* a NUL byte inside: not one number */
	return parse_u64(buf, ret);
}
