// SPDX-License-Identifier: Apache-2.0
/*
 * The Redfish meter's pure parts from tables: numbers, links, collections, the
 * chassis rule, the power resources (DMTF mockups in tests/fixtures/redfish
 * and edge cases), the credentials and node map files, {node}, the energy
 * logic; and the meter's open and read without a BMC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "power/internal.h"
#include "power/redfish.h"
#include "util/util.h"

#define SEC 1000000000ULL
#define RF FIXTURES "/redfish/"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (!j)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return j;
}

static json_t *load(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);

	if (!j)
		fail_msg("%s: %s", path, e.text);
	return j;
}

static void test_number(void **state)
{
	static const struct {
		const char *json; /* the value of member "v"; NULL: no member */
		int r;
		double v;
	} t[] = {
	    {"344", 0, 344},	       {"374.5", 0, 374.5},
	    {"\"344\"", 0, 344},       {"\" 12.5 \"", 0, 12.5},
	    {"\"1e3\"", 0, 1000},      {"\"-3\"", 0, -3},
	    {"\".5\"", 0, 0.5},	       {"0", 0, 0},
	    {"null", -ENODATA, 0},     {NULL, -ENODATA, 0},
	    {"\"\"", -EINVAL, 0},      {"\"N/A\"", -EINVAL, 0},
	    {"\"12 W\"", -EINVAL, 0},  {"\"0x10\"", -EINVAL, 0},
	    {"\"inf\"", -EINVAL, 0},   {"\"nan\"", -EINVAL, 0},
	    {"\"1e999\"", -EINVAL, 0}, {"true", -EINVAL, 0},
	    {"{}", -EINVAL, 0},	       {"[1]", -EINVAL, 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char text[128];
		json_t *j;
		double v = -1;
		int r;

		snprintf(text, sizeof(text), t[i].json ? "{\"v\": %s}" : "{}", t[i].json);
		j = parse(text);
		r = redfish_number(json_object_get(j, "v"), &v);
		if (r != t[i].r || (r == 0 && fabs(v - t[i].v) > 1e-9))
			fail_msg("case %zu (%s): r %d v %g, want %d %g", i, t[i].json, r, v, t[i].r,
				 t[i].v);
		json_decref(j);
	}
}

static void test_norm_path(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: -EINVAL */
	} t[] = {
	    {"/redfish/v1/Chassis/1U", "/redfish/v1/Chassis/1U"},
	    {"/redfish/v1/", "/redfish/v1"},
	    {"/redfish/v1/Chassis/1U//", "/redfish/v1/Chassis/1U"},
	    {"/redfish/v1/Chassis/1U/Power#/PowerControl/0", "/redfish/v1/Chassis/1U/Power"},
	    {"/redfish/v1/Chassis/1U/#", "/redfish/v1/Chassis/1U"},
	    {"/redfish/v1/Chassis/Blade%2F1", "/redfish/v1/Chassis/Blade%2F1"}, /* Id "Blade/1" */
	    {"/", "/"},
	    {"https://evil.example/redfish/v1", NULL},
	    {"//evil.example/redfish/v1", NULL},
	    {"redfish/v1", NULL},
	    {"", NULL},
	    {"/redfish/v1/a b", NULL},
	};
	char buf[REDFISH_PATH_MAX];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		int r = redfish_norm_path(t[i].in, buf, sizeof(buf));

		if (!t[i].out) {
			if (r != -EINVAL)
				fail_msg("case %zu (%s): %d, want -EINVAL", i, t[i].in, r);
			continue;
		}
		if (r != 0)
			fail_msg("case %zu (%s): %d", i, t[i].in, r);
		assert_string_equal(buf, t[i].out);
	}
	assert_int_equal(redfish_norm_path("/redfish/v1/Chassis", buf, 8), -ENAMETOOLONG);
}

static void test_collection(void **state)
{
	char **v = NULL;
	size_t n = 0;
	json_t *j;

	(void)state;
	/* Members@odata.count says 7; the array holds 4. */
	j = load(RF "dmtf-public-telemetry/_redfish_v1_Chassis.json");
	assert_int_equal(redfish_collection(j, 64, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0], "/redfish/v1/Chassis/1");
	assert_string_equal(v[3], "/redfish/v1/Chassis/Tray_3");
	assert_null(v[4]);
	free(v);
	assert_int_equal(redfish_collection(j, 2, &v, &n), 0);
	assert_int_equal(n, 2);
	free(v);
	json_decref(j);

	/* Members without a usable @odata.id are skipped; odd spellings are normalised. */
	j = parse("{\"Members@odata.count\": 1, \"Members\": [{\"@odata.id\": null}, 3, {}, "
		  "{\"@odata.id\": \"https://x/redfish/v1/Chassis/A\"}, "
		  "{\"@odata.id\": \"/redfish/v1/Chassis/B/\"}, "
		  "{\"@odata.id\": \"/redfish/v1/Chassis/C#frag\"}]}");
	assert_int_equal(redfish_collection(j, 64, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "/redfish/v1/Chassis/B");
	assert_string_equal(v[1], "/redfish/v1/Chassis/C");
	free(v);
	json_decref(j);

	j = parse("{\"Members\": []}");
	assert_int_equal(redfish_collection(j, 64, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	json_decref(j);
	j = parse("{\"Members\": null}");
	assert_int_equal(redfish_collection(j, 64, &v, &n), -EBADMSG);
	json_decref(j);
}

/* The power resources of the DMTF mockups. */
static void test_mockups(void **state)
{
	double w = 0, kwh = 0;
	json_t *j;

	(void)state;
	j = load(RF "dmtf-public-rackmount1/_redfish_v1_Chassis_1U_EnvironmentMetrics.json");
	assert_int_equal(redfish_parse_env(j, &w, &kwh), 0);
	assert_true(w == 374 && kwh == -1);
	json_decref(j);
	j = load(RF
		 "dmtf-public-liquid-cooled-server/_redfish_v1_Chassis_1U_EnvironmentMetrics.json");
	assert_int_equal(redfish_parse_env(j, &w, &kwh), 0);
	assert_true(w == 374);
	json_decref(j);
	/* The same server's legacy resource disagrees: 344 W from the first PowerControl. */
	j = load(RF "dmtf-public-rackmount1/_redfish_v1_Chassis_1U_Power.json");
	assert_int_equal(redfish_parse_power(j, &w), 0);
	assert_true(w == 344);
	json_decref(j);
	j = load(RF
		 "dmtf-public-rackmount1/_redfish_v1_Chassis_1U_PowerSubsystem_PowerSupplies_Bay1_"
		 "Metrics.json");
	assert_int_equal(redfish_parse_psu_metrics(j, &w), 0);
	assert_true(fabs(w - 937.4) < 1e-9);
	json_decref(j);
	j = load(RF "dmtf-public-telemetry/_redfish_v1_Chassis_1_Power.json");
	assert_int_equal(redfish_parse_power(j, &w), 0);
	assert_true(w == 8000);
	json_decref(j);
	/* Power supplies with output but no input reading, no PowerControl: no reading. */
	j = load(RF "dmtf-public-bladed/_redfish_v1_Chassis_MultiBladeEncl_Power.json");
	assert_int_equal(redfish_parse_power(j, &w), -ENODATA);
	json_decref(j);
}

static void test_power_resource(void **state)
{
	static const struct {
		const char *json;
		int r;
		double w;
	} t[] = {
	    /* The whole chassis first, wherever it stands. */
	    {"{\"PowerControl\": [{\"PhysicalContext\": \"CPUSubsystem\", \"PowerConsumedWatts\": "
	     "80}, {\"PhysicalContext\": \"Chassis\", \"PowerConsumedWatts\": 300}]}",
	     0, 300},
	    {"{\"PowerControl\": [{\"PowerConsumedWatts\": \"250\"}, {\"PowerConsumedWatts\": "
	     "99}]}",
	     0, 250},
	    {"{\"PowerControl\": [{\"PhysicalContext\": null, \"PowerConsumedWatts\": 12.5}]}", 0,
	     12.5},
	    {"{\"PowerControl\": [{\"PhysicalContext\": \"SystemBoard\", \"PowerConsumedWatts\": "
	     "210}]}",
	     0, 210},
	    /* No whole-chassis entry: the sum. */
	    {"{\"PowerControl\": [{\"PhysicalContext\": \"CPUSubsystem\", \"PowerConsumedWatts\": "
	     "80}, {\"PhysicalContext\": \"MemorySubsystem\", \"PowerConsumedWatts\": \"20\"}]}",
	     0, 100},
	    /* Entries without a usable reading are skipped. */
	    {"{\"PowerControl\": [{\"PowerConsumedWatts\": null}, {\"PowerConsumedWatts\": "
	     "\"N/A\"}, "
	     "{\"PowerConsumedWatts\": -5}, {}, {\"PowerConsumedWatts\": 1e9}, "
	     "{\"PowerConsumedWatts\": 420}]}",
	     0, 420},
	    /* Only power supplies: their input, summed. */
	    {"{\"PowerControl\": [], \"PowerSupplies\": [{\"PowerInputWatts\": 120}, "
	     "{\"PowerInputWatts\": \"130.5\"}, {\"LastPowerOutputWatts\": 600}]}",
	     0, 250.5},
	    {"{\"PowerControl\": [{\"PowerConsumedWatts\": null}]}", -ENODATA, 0},
	    {"{\"PowerControl\": {\"PowerConsumedWatts\": 5}}", -ENODATA, 0},
	    {"{}", -ENODATA, 0},
	    {"[]", -ENODATA, 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		json_t *j = parse(t[i].json);
		double w = -1;
		int r = redfish_parse_power(j, &w);

		if (r != t[i].r || (r == 0 && fabs(w - t[i].w) > 1e-9))
			fail_msg("case %zu: r %d w %g, want %d %g", i, r, w, t[i].r, t[i].w);
		json_decref(j);
	}
}

static void test_env(void **state)
{
	static const struct {
		const char *json;
		int r;
		double w, kwh;
	} t[] = {
	    {"{\"PowerWatts\": {\"Reading\": 300}, \"EnergykWh\": {\"Reading\": 1234.5}}", 0, 300,
	     1234.5},
	    {"{\"PowerWatts\": {\"Reading\": \"300\"}, \"EnergykWh\": {\"Reading\": null}}", 0, 300,
	     -1},
	    {"{\"PowerWatts\": {\"Reading\": 300}, \"EnergykWh\": {\"Reading\": -1}}", 0, 300, -1},
	    {"{\"PowerWatts\": {\"Reading\": 300}, \"EnergykWh\": 5}", 0, 300, -1},
	    {"{\"PowerWatts\": {\"Reading\": null}, \"EnergykWh\": {\"Reading\": 5}}", -ENODATA, 0,
	     0},
	    {"{\"PowerWatts\": null}", -ENODATA, 0, 0},
	    {"{\"PowerWatts\": {\"Reading\": \"high\"}}", -EINVAL, 0, 0},
	    {"{\"PowerWatts\": {\"Reading\": -1}}", -ERANGE, 0, 0},
	    {"{\"PowerWatts\": {\"Reading\": 2e7}}", -ERANGE, 0, 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		json_t *j = parse(t[i].json);
		double w = -7, kwh = -7;
		int r = redfish_parse_env(j, &w, &kwh);

		if (r != t[i].r || (r == 0 && (w != t[i].w || kwh != t[i].kwh)))
			fail_msg("case %zu: r %d w %g kwh %g, want %d %g %g", i, r, w, kwh, t[i].r,
				 t[i].w, t[i].kwh);
		json_decref(j);
	}
}

/* Chassis from a JSON array of resources (each with its @odata.id). */
static size_t chassis_from(const char *json, struct redfish_chassis *v)
{
	json_t *a = parse(json), *c;
	size_t i;

	json_array_foreach(a, i, c)
	{
		assert_int_equal(redfish_parse_chassis(c, "/fetched", &v[i]), 0);
	}
	json_decref(a);
	return i;
}

#define NODE(id, links)                                                                            \
	"{\"@odata.id\": \"/redfish/v1/Chassis/" id "\", \"Id\": \"" id "\", " links "}"
#define SYS "\"Links\": {\"ComputerSystems\": [{\"@odata.id\": \"/redfish/v1/Systems/1\"}]}"

static void test_chassis_order(void **state)
{
	static const struct {
		const char *name, *json, *want;
		int r;
		const char *order; /* the Ids tried, in order, comma-separated */
		bool ambiguous;
	} t[] = {
	    {"one", "[" NODE("1U", SYS) "]", NULL, 1, "1U", false},
	    {"boards nested in the node (ContainedBy)",
	     "[" NODE("GPU",
		      "\"Links\": {\"ComputerSystems\": [{\"@odata.id\": "
		      "\"/redfish/v1/Systems/"
		      "1\"}], \"ContainedBy\": {\"@odata.id\": "
		      "\"/redfish/v1/Chassis/Node/\"}}") "," NODE("Node", SYS) "," NODE("CPU",
											"\"Links"
											"\": "
											"{\"Conta"
											"inedBy\""
											": "
											"{\"@"
											"odata."
											"id\": "
											"\"/"
											"redfish/"
											"v1/"
											"Chassis/"
											"Node\"}"
											"}") "]",
	     NULL, 1, "Node", false},
	    {"a storage enclosure beside the node",
	     "[" NODE("Storage", "\"ChassisType\": \"StorageEnclosure\"") "," NODE("Node", SYS) "]",
	     NULL, 2, "Node,Storage", false},
	    {"a blade in an enclosure (Contains)",
	     "[" NODE("Encl",
		      "\"Links\": {\"Contains\": [{\"@odata.id\": "
		      "\"/redfish/v1/Chassis/"
		      "Blade1\"}, {\"@odata.id\": "
		      "\"/redfish/v1/Chassis/Blade2#x\"}]}") "," NODE("Blade1",
								      SYS) "," NODE("Blade2",
										    SYS) "]",
	     NULL, 3, "Blade1,Blade2,Encl", true},
	    {"no ComputerSystems links: the uncontained ones",
	     "[" NODE("A", "\"Links\": {\"ContainedBy\": [{\"@odata.id\": "
			   "\"/redfish/v1/Chassis/B\"}]}") "," NODE("B", "\"Links\": null") "]",
	     NULL, 1, "B", false},
	    {"chosen by Id, an Id with a slash",
	     "[" NODE("Node", SYS) ",{\"@odata.id\": \"/redfish/v1/Chassis/Blade%2F1\", \"Id\": "
				   "\"Blade/1\"}]",
	     "Blade/1", 1, "Blade/1", false},
	    {"chosen by @odata.id with a trailing slash",
	     "[" NODE("Node", SYS) "," NODE("X", "\"Links\": {}") "]", "/redfish/v1/Chassis/X/", 1,
	     "X", false},
	    {"chosen but absent", "[" NODE("Node", SYS) "]", "Nope", -ENOENT, "", false},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct redfish_chassis v[8];
		size_t order[8], n = chassis_from(t[i].json, v);
		char got[256] = "";
		bool amb = !t[i].ambiguous;
		int r = redfish_chassis_order(v, n, t[i].want, order, &amb);

		for (int k = 0; k < r; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", k ? "," : "",
				 v[order[k]].id);
		if (r != t[i].r || !streq(got, t[i].order) || (r > 0 && amb != t[i].ambiguous))
			fail_msg("%s: r %d order \"%s\" ambiguous %d, want %d \"%s\" %d", t[i].name,
				 r, got, amb, t[i].r, t[i].order, t[i].ambiguous);
		for (size_t k = 0; k < n; k++)
			redfish_chassis_release(&v[k]);
	}
}

static void load_chassis(const char *file, struct redfish_chassis *c)
{
	json_t *j = load(file);

	assert_int_equal(redfish_parse_chassis(j, "/fetched", c), 0);
	json_decref(j);
}

static void test_chassis_mockups(void **state)
{
	struct redfish_chassis v[4];
	size_t order[4];
	bool amb;

	(void)state;
	load_chassis(RF "dmtf-public-rackmount1/_redfish_v1_Chassis_1U.json", &v[0]);
	assert_string_equal(v[0].path, "/redfish/v1/Chassis/1U");
	assert_string_equal(v[0].env, "/redfish/v1/Chassis/1U/EnvironmentMetrics");
	assert_string_equal(v[0].subsystem, "/redfish/v1/Chassis/1U/PowerSubsystem");
	assert_string_equal(v[0].power, "/redfish/v1/Chassis/1U/Power");
	assert_true(v[0].has_system);
	assert_int_equal(redfish_chassis_order(v, 1, NULL, order, &amb), 1);
	redfish_chassis_release(&v[0]);

	/* Two rack-mount chassis link the same system: ambiguous, the first member first. */
	load_chassis(RF "dmtf-public-telemetry/_redfish_v1_Chassis_1.json", &v[0]);
	load_chassis(RF "dmtf-public-telemetry/_redfish_v1_Chassis_Tray_1.json", &v[1]);
	assert_int_equal(redfish_chassis_order(v, 2, NULL, order, &amb), 2);
	assert_true(amb);
	assert_int_equal(order[0], 0);
	assert_int_equal(redfish_chassis_order(v, 2, "Tray_1", order, &amb), 1);
	assert_int_equal(order[0], 1);
	redfish_chassis_release(&v[0]);
	redfish_chassis_release(&v[1]);

	/* The bladed enclosure lists its blades in Links.Contains; it is never a node. */
	load_chassis(RF "dmtf-public-bladed/_redfish_v1_Chassis_MultiBladeEncl.json", &v[0]);
	assert_int_equal(v[0].n_contains, 4);
	assert_false(v[0].has_system);
	assert_string_equal(v[0].env, "");
	redfish_chassis_release(&v[0]);
}

static void test_credentials(void **state)
{
	static const struct {
		const char *text;
		int r;
		const char *user, *err; /* err: a substring of the message */
	} t[] = {
	    {"username: admin\npassword: s3cret\n", 0, "admin", NULL},
	    {"username: \"root\"\npassword: 'a: b#c'\n", 0, "root", NULL},
	    {"username: admin\n", -EINVAL, NULL, "password missing"},
	    {"password: s3cret\n", -EINVAL, NULL, "username missing"},
	    {"username: admin\npassword: s3cret\nuser: s3cret\n", -EINVAL, NULL, "user: unknown"},
	    {"username: admin\npassword: \n", -EINVAL, NULL, "password: not a non-empty string"},
	    {"username: admin\npassword: [s3cret]\n", -EINVAL, NULL, "password: not a non-empty"},
	    {"username: admin\npassword: s3cret\npassword: s3cret\n", -EINVAL, NULL, "duplicate"},
	    {"- s3cret\n", -EINVAL, NULL, "mapping"},
	    {"", -EINVAL, NULL, "missing"},
	    {"username: [s3cret\n", -EINVAL, NULL, "line"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct redfish_bmc b = {0};
		char err[256] = "";
		int r =
		    redfish_parse_credentials(t[i].text, strlen(t[i].text), &b, err, sizeof(err));

		if (r != t[i].r)
			fail_msg("case %zu: %d (%s), want %d", i, r, err, t[i].r);
		if (r == 0) {
			assert_string_equal(b.username, t[i].user);
			assert_non_null(b.password);
			assert_null(b.endpoint);
		} else {
			if (!strstr(err, t[i].err))
				fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, t[i].err);
			/* The secret never shows in a message. */
			if (strstr(err, "s3cret"))
				fail_msg("case %zu: the password in \"%s\"", i, err);
		}
		redfish_bmc_clear(&b);
	}
}

/* Kepler 0.11's map file (docs/developer/proposal/EP_001-redfish-support.md). */
static const char nodes_map[] = "nodes:\n"
				"  worker-1: bmc-1\n"
				"  vm-3: shared\n"
				"  vm-4: shared\n"
				"  lost: nowhere\n"
				"bmcs:\n"
				"  bmc-1:\n"
				"    endpoint: \"https://192.168.1.100\"\n"
				"    username: admin\n"
				"    password: s3cret\n"
				"    insecure: true\n"
				"  shared:\n"
				"    endpoint: https://bmc.example:8443\n"
				"    username: ops\n"
				"    password: s3cret\n"
				"    insecure: false\n";

static void test_nodes(void **state)
{
	static const struct {
		const char *text, *node;
		int r;
		const char *endpoint, *user, *err;
		bool insecure;
	} t[] = {
	    {nodes_map, "worker-1", 0, "https://192.168.1.100", "admin", NULL, true},
	    {nodes_map, "vm-4", 0, "https://bmc.example:8443", "ops", NULL, false},
	    {nodes_map, "worker-9", -ENOENT, NULL, NULL, "no entry for node \"worker-9\"", false},
	    {nodes_map, "lost", -ENOENT, NULL, NULL, "bmcs: no entry \"nowhere\"", false},
	    {"nodes: {n: b}\nbmcs: {b: {endpoint: https://x, username: u}}\n", "n", -EINVAL, NULL,
	     NULL, "password missing", false},
	    {"nodes: {n: b}\nbmcs: {b: {username: u, password: s3cret}}\n", "n", -EINVAL, NULL,
	     NULL, "bmcs.b.endpoint missing", false},
	    {"nodes: {n: b}\nbmcs: {b: {endpoint: https://x, username: u, password: s3cret, "
	     "insecure: maybe}}\n",
	     "n", -EINVAL, NULL, NULL, "insecure: not true or false", false},
	    {"nodes: [n]\nbmcs: {}\n", "n", -EINVAL, NULL, NULL, "nodes: and bmcs:", false},
	    {"bmcs: {}\n", "n", -EINVAL, NULL, NULL, "nodes: and bmcs:", false},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct redfish_bmc b = {0};
		char err[256] = "";
		int r = redfish_parse_nodes(t[i].text, strlen(t[i].text), t[i].node, &b, err,
					    sizeof(err));

		if (r != t[i].r)
			fail_msg("case %zu: %d (%s), want %d", i, r, err, t[i].r);
		if (r == 0) {
			assert_string_equal(b.endpoint, t[i].endpoint);
			assert_string_equal(b.username, t[i].user);
			assert_string_equal(b.password, "s3cret");
			assert_int_equal(b.insecure, t[i].insecure);
		} else if (!strstr(err, t[i].err) || strstr(err, "s3cret")) {
			fail_msg("case %zu: \"%s\", want \"%s\" and no password", i, err, t[i].err);
		}
		redfish_bmc_clear(&b);
	}
}

static void test_endpoint(void **state)
{
	static const struct {
		const char *tmpl, *node;
		int r;
		const char *out;
	} t[] = {
	    {"https://{node}-bmc.example.com", "worker-1", 0, "https://worker-1-bmc.example.com"},
	    {"https://bmc.example.com", "", 0, "https://bmc.example.com"},
	    {"https://{node}.{node}:8443", "n1", 0, "https://n1.n1:8443"},
	    {"https://{node}-bmc", "", -EINVAL, NULL},
	    {"https://{node}-bmc", "evil.com/x?", -EINVAL, NULL},
	    {"https://{node}-bmc", "a@b", -EINVAL, NULL},
	    {"https://{nod}", "n", 0, "https://{nod}"},
	};
	static const struct {
		const char *url, *origin; /* NULL: -EINVAL */
	} o[] = {
	    {"https://bmc.example:8443", "https://bmc.example:8443"},
	    {"https://bmc.example/redfish/v1/", "https://bmc.example"},
	    {"http://[fd00::1]:80/", "http://[fd00::1]:80"},
	    {"https://admin:pw@bmc.example", NULL},
	    {"ftp://bmc", NULL},
	    {"https://", NULL},
	    {"https:///redfish", NULL},
	};
	char buf[REDFISH_PATH_MAX];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		int r = redfish_endpoint_for(t[i].tmpl, t[i].node, buf, sizeof(buf));

		if (r != t[i].r || (r == 0 && !streq(buf, t[i].out)))
			fail_msg("case %zu: %d \"%s\"", i, r, r == 0 ? buf : "");
	}
	assert_int_equal(redfish_endpoint_for("https://{node}", "longer-than-this", buf, 12),
			 -ENAMETOOLONG);
	for (size_t i = 0; i < ARRAY_SIZE(o); i++) {
		int r = redfish_origin(o[i].url, buf, sizeof(buf));

		if (!o[i].origin ? r != -EINVAL : r != 0 || !streq(buf, o[i].origin))
			fail_msg("origin case %zu (%s): %d", i, o[i].url, r);
	}
}

/*
 * The energy logic from a script: a sample (watts, counter kWh, < 0 none) or a
 * read at time t in seconds, with what it must return.
 */
enum op { SAMPLE, READ };
struct step {
	enum op op;
	double t, w, kwh;
	int r;
	double uj; /* READ: the energy, within 1 uJ */
};

static void run_energy(const char *name, const struct step *s, size_t n, uint64_t interval_ns)
{
	struct redfish_energy e;

	redfish_energy_init(&e, interval_ns);
	for (size_t i = 0; i < n; i++) {
		uint64_t t = (uint64_t)(s[i].t * SEC), uj = 0;
		int r;

		if (s[i].op == SAMPLE) {
			r = redfish_energy_sample(&e, t, s[i].w, s[i].kwh);
			if (r != s[i].r)
				fail_msg("%s step %zu: sample %d, want %d", name, i, r, s[i].r);
			continue;
		}
		r = redfish_energy_read(&e, t, &uj);
		if (r != s[i].r || (r == 0 && fabs((double)uj - s[i].uj) > 1))
			fail_msg("%s step %zu: read %d %llu uJ, want %d %.0f", name, i, r,
				 (unsigned long long)uj, s[i].r, s[i].uj);
	}
}

#define MJ 1e6 /* microjoules per joule */

static void test_energy(void **state)
{
	/* Zero-order hold: between polls the last reading holds; no step at a poll. */
	static const struct step hold[] = {
	    {READ, 0, 0, 0, -ENODATA, 0},   {SAMPLE, 1, 100, -1, 0, 0},
	    {READ, 1, 0, 0, 0, 0},	    {READ, 6, 0, 0, 0, 500 * MJ},
	    {READ, 11, 0, 0, 0, 1000 * MJ}, {SAMPLE, 31, 200, -1, 0, 0},
	    {READ, 31, 0, 0, 0, 3000 * MJ}, /* 100 W x 30 s, exactly where the hold was */
	    {READ, 36, 0, 0, 0, 4000 * MJ}, {READ, 35, 0, 0, 0, 4000 * MJ}, /* never decreases */
	};
	/* Stale after 3 intervals; the gap is not invented, nor dumped into one interval. */
	static const struct step stale[] = {
	    {SAMPLE, 0, 100, -1, 0, 0},	     {READ, 30, 0, 0, 0, 3000 * MJ},
	    {READ, 90, 0, 0, 0, 9000 * MJ},  {READ, 90.5, 0, 0, -ESTALE, 0},
	    {READ, 200, 0, 0, -ESTALE, 0},   {SAMPLE, 300, 500, -1, 0, 0},
	    {READ, 300, 0, 0, 0, 9000 * MJ}, {READ, 310, 0, 0, 0, 14000 * MJ},
	};
	/* 0 W from a BMC without a meter is no reading; once it has read more, 0 W is a reading. */
	static const struct step zero[] = {
	    {SAMPLE, 0, 0, -1, -ENODATA, 0},  {READ, 1, 0, 0, -ENODATA, 0},
	    {SAMPLE, 30, 0, -1, -ENODATA, 0}, {SAMPLE, 60, 50, -1, 0, 0},
	    {SAMPLE, 90, 0, -1, 0, 0},	      {READ, 100, 0, 0, 0, 1500 * MJ},
	};
	/*
	 * A counter steers the rate: 100 W read, but the counter says 120 W (0.001 kWh =
	 * 3600 J per 30 s is 120 W). A quarter of the difference is closed per interval:
	 * no step, and the rate converges on the counter's.
	 */
	static const struct step counter[] = {
	    {SAMPLE, 0, 100, 10.000, 0, 0},
	    {READ, 30, 0, 0, 0, 3000 * MJ},
	    {SAMPLE, 30, 100, 10.001, 0, 0}, /* 600 J behind: + 600 / (4 x 30) = 5 W */
	    {READ, 30, 0, 0, 0, 3000 * MJ},
	    {READ, 60, 0, 0, 0, 6150 * MJ},
	    {SAMPLE, 60, 100, 10.002, 0, 0}, /* 1050 J behind: + 8.75 W */
	    {READ, 90, 0, 0, 0, 9412.5 * MJ},
	    {SAMPLE, 90, 100, 10.003, 0, 0}, /* 1387.5 J behind: + 11.5625 W */
	    {READ, 120, 0, 0, 0, 12759.375 * MJ},
	    {SAMPLE, 120, 100, 9.0, 0, 0}, /* reset: a new baseline, no jump */
	    {READ, 150, 0, 0, 0, 15759.375 * MJ},
	};
	/* A counter far off moves the rate by half the reading at most. */
	static const struct step counter_far[] = {
	    {SAMPLE, 0, 100, 1.0, 0, 0},
	    {SAMPLE, 30, 100, 2.0, 0, 0}, /* 3.6 MJ ahead: capped at + 50 W */
	    {READ, 60, 0, 0, 0, 7500 * MJ},
	};
	/* A counter that does not move while the BMC reads power is ignored from then on. */
	static const struct step coarse[] = {
	    {SAMPLE, 0, 100, 5.0, 0, 0},
	    {SAMPLE, 30, 100, 5.0, 1, 0},
	    {SAMPLE, 60, 100, 5.1, 0, 0}, /* would add 360 kJ if still steered by */
	    {READ, 90, 0, 0, 0, 9000 * MJ},
	};
	(void)state;
	run_energy("hold", hold, ARRAY_SIZE(hold), 30 * SEC);
	run_energy("stale", stale, ARRAY_SIZE(stale), 30 * SEC);
	run_energy("zero", zero, ARRAY_SIZE(zero), 30 * SEC);
	run_energy("counter", counter, ARRAY_SIZE(counter), 30 * SEC);
	run_energy("counter_far", counter_far, ARRAY_SIZE(counter_far), 30 * SEC);
	run_energy("coarse", coarse, ARRAY_SIZE(coarse), 30 * SEC);
}

/* The power.redfish.* keys: defaults, and a file that sets them. */
static void test_config(void **state)
{
	static const char yaml[] = "power:\n"
				   "  redfish:\n"
				   "    endpoint: https://{node}-bmc:8443\n"
				   "    credentialsFile: /etc/kepler/redfish/credentials.yaml\n"
				   "    caFile: /etc/kepler/redfish/ca.crt\n"
				   "    insecureSkipVerify: true\n"
				   "    interval: 1m\n"
				   "    timeout: 3s\n"
				   "    chassis: System.Embedded.1\n";
	struct kepler_config cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(config_defaults(&cfg), 0);
	assert_null(cfg.redfish_endpoint);
	assert_int_equal(cfg.redfish_interval_ns, 30 * SEC);
	assert_int_equal(cfg.redfish_timeout_ns, 10 * SEC);
	assert_false(cfg.redfish_insecure_skip_verify);
	assert_int_equal(config_parse_yaml(&cfg, yaml, strlen(yaml), err, sizeof(err)), 0);
	assert_string_equal(cfg.redfish_endpoint, "https://{node}-bmc:8443");
	assert_string_equal(cfg.redfish_credentials_file, "/etc/kepler/redfish/credentials.yaml");
	assert_string_equal(cfg.redfish_chassis, "System.Embedded.1");
	assert_true(cfg.redfish_insecure_skip_verify);
	assert_int_equal(cfg.redfish_interval_ns, 60 * SEC);
	assert_int_equal(cfg.redfish_timeout_ns, 3 * SEC);
	assert_false(config_key_reloadable("power.redfish.endpoint"));
	config_free(&cfg);

	assert_int_equal(config_defaults(&cfg), 0);
	assert_int_equal(
	    config_parse_yaml(&cfg, "power: {redfish: {endpoint: bmc:443}}", 37, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "power.redfish.endpoint"));
	assert_int_equal(
	    config_parse_yaml(&cfg, "power: {redfish: {interval: 10ms}}", 34, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "power.redfish.interval"));
	config_free(&cfg);
}

static char tmpdir[64];

static char *write_tmp(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/kepler-redfish-XXXXXX");
		assert_non_null(mkdtemp(tmpdir));
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Kepler 0.11's Redfish keys: configFile and httpTimeout count only with enabled: true. */
static void test_config_kepler011(void **state)
{
	static const struct {
		const char *yaml, *nodes_file;
		uint64_t timeout_ns;
	} t[] = {
	    {"experimental:\n  platform:\n    redfish:\n      enabled: true\n      nodeID: w1\n"
	     "      configFile: /etc/kepler/redfish.yaml\n      httpTimeout: 5s\n"
	     "      staleness: 30s\n",
	     "/etc/kepler/redfish.yaml", 5 * SEC},
	    {"experimental:\n  platform:\n    redfish:\n      enabled: false\n"
	     "      configFile: /etc/kepler/redfish.yaml\n      httpTimeout: 5s\n",
	     NULL, 10 * SEC},
	    {"experimental:\n  platform:\n    redfish:\n      configFile: /x.yaml\n", NULL,
	     10 * SEC},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct kepler_config cfg;
		char err[256] = "";

		assert_int_equal(config_defaults(&cfg), 0);
		if (config_parse_yaml(&cfg, t[i].yaml, strlen(t[i].yaml), err, sizeof(err)) < 0)
			fail_msg("case %zu: %s", i, err);
		if (t[i].nodes_file)
			assert_string_equal(cfg.redfish_nodes_file, t[i].nodes_file);
		else
			assert_null(cfg.redfish_nodes_file);
		assert_int_equal(cfg.redfish_timeout_ns, t[i].timeout_ns);
		/* The rest of the block is still named in one warning. */
		assert_int_equal(cfg.n_warnings, 1);
		assert_true(startswith(cfg.warnings[0], "experimental: not supported"));
		config_free(&cfg);
	}
}

/* open's configuration faults: fatal, one line naming the key and why, no secret. */
static void test_open_faults(void **state)
{
	static const struct {
		const char *endpoint, *creds, *ca, *nodes, *err;
	} t[] = {
	    {"https://admin:s3cret@bmc", NULL, NULL, NULL,
	     "power.redfish.endpoint: the endpoint is not an http:// or https:// URL without user "
	     "info"},
	    {"https://bmc", "/nonexistent/creds.yaml", NULL, NULL,
	     "power.redfish.credentialsFile: cannot read /nonexistent/creds.yaml: No such file"},
	    {"https://bmc", "nopass", NULL, NULL, "password missing"},
	    {"https://bmc", "extra", NULL, NULL, "pasword: unknown key"},
	    {"https://bmc", NULL, "/nonexistent/ca.crt", NULL,
	     "power.redfish.caFile: cannot read /nonexistent/ca.crt"},
	    {NULL, NULL, NULL, "nodes", "power.redfish.nodesFile: "},
	    {"https://bmc", NULL, NULL, "nodes", "set one of them"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct kepler_config cfg;
		struct power_meter *m = NULL;
		char err[512] = "", creds[128] = "", nodes[128] = "";
		int r;

		assert_int_equal(config_defaults(&cfg), 0);
		free(cfg.kube_node_name);
		cfg.kube_node_name = strdup("worker-404");
		if (t[i].creds && streq(t[i].creds, "nopass"))
			snprintf(creds, sizeof(creds), "%s", write_tmp("c", "username: u\n"));
		else if (t[i].creds && streq(t[i].creds, "extra"))
			snprintf(
			    creds, sizeof(creds), "%s",
			    write_tmp("c", "username: u\npassword: s3cret\npasword: s3cret\n"));
		else if (t[i].creds)
			snprintf(creds, sizeof(creds), "%s", t[i].creds);
		if (t[i].nodes)
			snprintf(nodes, sizeof(nodes), "%s", write_tmp("n", nodes_map));
		cfg.redfish_endpoint = t[i].endpoint ? strdup(t[i].endpoint) : NULL;
		cfg.redfish_credentials_file = creds[0] ? strdup(creds) : NULL;
		cfg.redfish_ca_file = t[i].ca ? strdup(t[i].ca) : NULL;
		cfg.redfish_nodes_file = nodes[0] ? strdup(nodes) : NULL;
		r = redfish_meter_ops.open(&m, &cfg, err, sizeof(err));
		if (r >= 0 || !strstr(err, t[i].err) || strstr(err, "s3cret"))
			fail_msg("case %zu: %d \"%s\", want \"%s\"", i, r, err, t[i].err);
		config_free(&cfg);
	}
}

/* No BMC: open succeeds, the thread keeps trying, read says why without waiting. */
static void test_unreachable(void **state)
{
	struct kepler_config cfg;
	struct power_meter *m = NULL;
	struct energy_reading rd;
	char err[512] = "", *creds;
	int r = -1;

	(void)state;
	creds = write_tmp("c2", "username: admin\npassword: s3cret\n");
	assert_int_equal(config_defaults(&cfg), 0);
	/* Port 9 (discard) on loopback: refused at once. */
	cfg.redfish_endpoint = strdup("http://127.0.0.1:9");
	cfg.redfish_credentials_file = strdup(creds);
	cfg.redfish_interval_ns = SEC;
	assert_int_equal(redfish_meter_ops.open(&m, &cfg, err, sizeof(err)), 0);
	assert_true(m->has_platform);
	assert_int_equal(m->zones, 0);
	/* The first poll fails at once; read then quotes it. */
	for (int i = 0; i < 200 && !strstr(err, "GET "); i++) {
		err[0] = '\0';
		r = redfish_meter_ops.read(m, &(struct meter_input){.now_ns = 1}, &rd, err,
					   sizeof(err));
		usleep(10000);
	}
	assert_true(r < 0);
	assert_false(rd.platform_valid);
	assert_true(rd.has_platform);
	if (!startswith(err, "no reading from http://127.0.0.1:9 since ") ||
	    !strstr(err, "GET /redfish/v1/: ") || strstr(err, "s3cret") || strstr(err, "admin"))
		fail_msg("read said \"%s\"", err);
	redfish_meter_ops.close(m);
	config_free(&cfg);
	unlink(creds);
	snprintf(err, sizeof(err), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_number),	   cmocka_unit_test(test_norm_path),
	    cmocka_unit_test(test_collection),	   cmocka_unit_test(test_mockups),
	    cmocka_unit_test(test_power_resource), cmocka_unit_test(test_env),
	    cmocka_unit_test(test_chassis_order),  cmocka_unit_test(test_chassis_mockups),
	    cmocka_unit_test(test_credentials),	   cmocka_unit_test(test_nodes),
	    cmocka_unit_test(test_endpoint),	   cmocka_unit_test(test_energy),
	    cmocka_unit_test(test_config),	   cmocka_unit_test(test_config_kepler011),
	    cmocka_unit_test(test_open_faults),	   cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
