// SPDX-License-Identifier: Apache-2.0
#include "util/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};

	return syscall(SYS_capget, &h, d) < 0 ? -errno : 0;
}

int caps_effective(uint64_t *ret)
{
	struct __user_cap_data_struct d[2];
	int r = get(d);

	if (r < 0)
		return r;
	*ret = (uint64_t)d[0].effective | (uint64_t)d[1].effective << 32;
	return 0;
}

int caps_drop_except(uint64_t keep)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	uint64_t perm;
	int r;

	r = get(d);
	if (r < 0)
		return r;
	perm = (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
	keep &= perm;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	/* The bounding set needs CAP_SETPCAP, which goes with the capset below. */
	if (perm & CAPBIT(CAP_SETPCAP))
		for (int c = 0; c <= CAP_LAST_CAP; c++)
			if (!(keep & CAPBIT(c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
			    errno != EINVAL)
				return -errno;

	d[0].effective = d[0].permitted = (uint32_t)keep;
	d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
	d[0].inheritable = d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}
