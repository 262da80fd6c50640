// SPDX-License-Identifier: Apache-2.0
/*
 * The Redfish walker on the input as a BMC's JSON answer (exact length): every
 * power resource parser, the collection, the chassis (an object, or an array of
 * them through the chassis rule); and the input as a credentials file and as a
 * node map. Checked: the return contracts, readings finite and within range,
 * paths normalised (absolute, no fragment, no trailing slash), the chassis
 * order a list of distinct indices, and no secret in a message.
 */
#include "fuzz.h"
#include "power/redfish.h"

static void check_path(const char *p)
{
	size_t n = strlen(p);

	fuzz_check(n < REDFISH_PATH_MAX);
	if (!n)
		return;
	fuzz_check(p[0] == '/');
	fuzz_check(!strchr(p, '#') && !strchr(p, '?'));
	fuzz_check(n == 1 || p[n - 1] != '/');
}

static void check_watts(int r, double w)
{
	fuzz_check(r == 0 || r == -ENODATA || r == -EINVAL || r == -ERANGE);
	if (r == 0)
		fuzz_check(w >= 0 && w <= 1e7);
}

static void walk(const json_t *j)
{
	struct redfish_chassis c[REDFISH_MAX_CHASSIS];
	size_t order[REDFISH_MAX_CHASSIS], n = 0, k;
	double w = -1, kwh = -2;
	char **paths = NULL;
	const json_t *e;
	bool amb;
	int r;

	r = redfish_parse_env(j, &w, &kwh);
	check_watts(r, w);
	if (r == 0)
		fuzz_check(kwh == -1 || (kwh >= 0 && kwh <= 1e10));
	check_watts(redfish_parse_power(j, &w), w);
	check_watts(redfish_parse_psu_metrics(j, &w), w);
	r = redfish_collection(j, REDFISH_MAX_CHASSIS, &paths, &n);
	fuzz_check(r == 0 || r == -EBADMSG);
	if (r == 0) {
		fuzz_check(n <= REDFISH_MAX_CHASSIS && paths[n] == NULL);
		for (size_t i = 0; i < n; i++)
			check_path(paths[i]);
		free(paths);
	}
	/* An object is one chassis; an array, a chassis collection's resources. */
	n = 0;
	if (json_is_object(j)) {
		if (redfish_parse_chassis(j, "/redfish/v1/Chassis/x", &c[n]) == 0)
			n++;
	} else {
		json_array_foreach(j, k, e)
		{
			if (n == REDFISH_MAX_CHASSIS)
				break;
			if (redfish_parse_chassis(e, "/redfish/v1/Chassis/x", &c[n]) == 0)
				n++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		check_path(c[i].path);
		check_path(c[i].contained_by);
		check_path(c[i].env);
		check_path(c[i].subsystem);
		check_path(c[i].power);
		for (size_t m = 0; m < c[i].n_contains; m++)
			check_path(c[i].contains[m]);
	}
	r = redfish_chassis_order(c, n, n ? c[n - 1].id : NULL, order, &amb);
	fuzz_check(r == 1 || (n == 0 && r == 0) || (n > 0 && !c[n - 1].id[0] && r >= 0));
	r = redfish_chassis_order(c, n, NULL, order, &amb);
	fuzz_check(r >= 0 && (size_t)r <= n);
	for (int i = 0; i < r; i++) {
		fuzz_check(order[i] < n);
		for (int m = 0; m < i; m++)
			fuzz_check(order[m] != order[i]);
	}
	for (size_t i = 0; i < n; i++)
		redfish_chassis_release(&c[i]);
}

static void files(const char *text, size_t size)
{
	struct redfish_bmc b = {0};
	char err[256];
	int r;

	err[0] = '\0';
	r = redfish_parse_credentials(text, size, &b, err, sizeof(err));
	fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r == 0)
		fuzz_check(b.username && b.password && !b.endpoint);
	else
		fuzz_check(err[0] && memchr(err, '\0', sizeof(err)));
	redfish_bmc_clear(&b);
	r = redfish_parse_nodes(text, size, "worker-1", &b, err, sizeof(err));
	fuzz_check(r == 0 || r == -EINVAL || r == -ENOENT || r == -ENOMEM);
	if (r == 0)
		fuzz_check(b.username && b.password && b.endpoint);
	redfish_bmc_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t e;
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &e);
	char *s;

	if (j) {
		walk(j);
		json_decref(j);
	}
	s = fuzz_str(data, size);
	files(s, strlen(s));
	free(s);
	return 0;
}
