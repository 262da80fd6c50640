/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Redfish meter's pure parts, driven from tables by tests/unit/test_redfish.c
 * and tests/fuzz/fuzz_redfish.c: the JSON walker (redfish_json.c: numbers, links,
 * collections, the chassis that is this node, the power resources), the
 * credentials and per-node map files, and the energy the meter reports from
 * power readings and energy counters (redfish_energy.c). docs/power.md
 * explains the rules.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for one @odata.id path or a URL. */
#define REDFISH_PATH_MAX 512
/* A BMC answer larger than this is refused, never buffered whole. */
#define REDFISH_MAX_BODY (4u << 20)
/* Chassis looked at during discovery; more are ignored. */
#define REDFISH_MAX_CHASSIS 64
/* Power supplies summed when PowerSubsystem's supplies are the only reading. */
#define REDFISH_MAX_PSU 16

/* ---- redfish_json.c ---- */

/*
 * A number as BMCs send it: a JSON integer, a real, or a string holding a
 * decimal number ("344", " 12.5 "). -ENODATA when v is NULL or null (the
 * member is missing or has no value); -EINVAL for anything else (a word, a
 * boolean, an object, NaN or infinity).
 */
int redfish_number(const json_t *v, double *ret);

/*
 * Normalise an @odata.id into buf: it must be an absolute path ("/redfish/...";
 * never a URL: a link may not send the session token to another host); a
 * "#fragment" and trailing slashes are dropped ("/redfish/v1/" becomes
 * "/redfish/v1"). -EINVAL when it is not such a path, -ENAMETOOLONG.
 */
int redfish_norm_path(const char *id, char *buf, size_t size);

/*
 * The link in member `name` of obj (obj.name["@odata.id"]) normalised into buf.
 * -ENODATA when obj, the member or its @odata.id is missing or null; -EINVAL
 * when it is not a path; -ENAMETOOLONG.
 */
int redfish_member_link(const json_t *obj, const char *name, char *buf, size_t size);

/*
 * The Members of a collection as normalised paths, in order, in one allocation
 * (*ret_paths, free() it). Members@odata.count is not trusted (BMCs get it
 * wrong): the array is. Members without a usable @odata.id are skipped; at most
 * max are kept. -EBADMSG when coll has no Members array, -ENOMEM.
 */
int redfish_collection(const json_t *coll, size_t max, char ***ret_paths, size_t *ret_n);

/* What discovery needs of one chassis. */
struct redfish_chassis {
	char path[REDFISH_PATH_MAX];	     /* its @odata.id, else the path it was fetched at */
	char id[128];			     /* "Id"; "" when missing */
	char type[32];			     /* "ChassisType"; "" when missing */
	char contained_by[REDFISH_PATH_MAX]; /* Links.ContainedBy; "" none */
	char **contains;		     /* Links.Contains paths (malloc'd) */
	size_t n_contains;
	bool has_system; /* Links.ComputerSystems is not empty: a node, not an enclosure */
	/* Power resources; "" when the chassis has none. */
	char env[REDFISH_PATH_MAX];	  /* EnvironmentMetrics */
	char subsystem[REDFISH_PATH_MAX]; /* PowerSubsystem */
	char power[REDFISH_PATH_MAX];	  /* the legacy Power */
};

/* Fill *ret from a Chassis resource fetched at path. -EBADMSG when c is no object, -ENOMEM. */
int redfish_parse_chassis(const json_t *c, const char *path, struct redfish_chassis *ret);
void redfish_chassis_release(struct redfish_chassis *c);

/*
 * The chassis to try for this node's reading, best first, as indices into v
 * (order has room for n). want (power.redfish.chassis: an @odata.id or an Id)
 * selects that one chassis, -ENOENT when none matches. Without it: first the
 * chassis that link a ComputerSystem and that no such chassis contains (the
 * node's own outermost chassis, not the boards nested in it and not an
 * enclosure around it), then the chassis no chassis contains; member order
 * within each. Containment is Links.ContainedBy of one or Links.Contains of
 * the other. *ret_ambiguous: more than one chassis of the first kind (a BMC
 * that manages several nodes: power.redfish.chassis must say which). Returns
 * how many indices were written.
 */
int redfish_chassis_order(const struct redfish_chassis *v, size_t n, const char *want,
			  size_t *order, bool *ret_ambiguous);

/*
 * EnvironmentMetrics: PowerWatts.Reading into *ret_w and EnergykWh.Reading into
 * *ret_kwh (-1 when there is none). -ENODATA without a power reading, -EINVAL
 * or -ERANGE (negative, above 10 MW) for a bad one.
 */
int redfish_parse_env(const json_t *j, double *ret_w, double *ret_kwh);

/*
 * The legacy Power resource: the first PowerControl entry with a reading whose
 * PhysicalContext is absent, "Chassis", "SystemBoard" or "PowerSupply" (the
 * whole chassis); else the sum of every PowerControl entry with a reading; else
 * the sum of PowerSupplies[].PowerInputWatts. -ENODATA when none of these has
 * a reading.
 */
int redfish_parse_power(const json_t *j, double *ret_w);

/* PowerSupplyMetrics: InputPowerWatts.Reading. -ENODATA without one. */
int redfish_parse_psu_metrics(const json_t *j, double *ret_w);

/* ---- credentials and node map (redfish_json.c) ---- */

struct redfish_bmc {
	char *endpoint; /* NULL: none given (the credentials file has none) */
	char *username;
	char *password;
	bool insecure; /* the node map's `insecure: true` */
};

/* Zero the secrets, free everything, zero *b. */
void redfish_bmc_clear(struct redfish_bmc *b);

/*
 * A credentials file: YAML with `username:` and `password:` (strings, both
 * required, nothing else). -EINVAL with err naming the key (never a value).
 */
int redfish_parse_credentials(const char *text, size_t len, struct redfish_bmc *ret, char *err,
			      size_t errsz);

/*
 * A per-node map in Kepler 0.11's format:
 *   nodes: {<node>: <bmc id>, ...}
 *   bmcs: {<bmc id>: {endpoint:, username:, password:, insecure:}, ...}
 * The entry of node into *ret. -ENOENT when the map does not name the node (or
 * its BMC), -EINVAL for a malformed file; err says which key (never a value
 * of a password).
 */
int redfish_parse_nodes(const char *text, size_t len, const char *node, struct redfish_bmc *ret,
			char *err, size_t errsz);

/*
 * The endpoint for node: tmpl with every "{node}" replaced. -EINVAL when tmpl
 * needs a node name and node is empty or not a host-name label sequence
 * (letters, digits, '-', '.', '_'), -ENAMETOOLONG.
 */
int redfish_endpoint_for(const char *tmpl, const char *node, char *buf, size_t size);

/*
 * "scheme://host[:port]" of an http(s) URL into buf (a path after it is
 * dropped: every @odata.id is absolute). -EINVAL for another scheme, an empty
 * host or user info in the URL (credentials belong in the credentials file).
 */
int redfish_origin(const char *url, char *buf, size_t size);

/* ---- redfish_energy.c ---- */

/*
 * Energy from BMC readings. A power reading holds from when it was taken
 * until the next (zero-order hold); an energy counter, when the BMC has a fine
 * enough one, steers the rate so that long-term energy follows it. Pure: the
 * caller passes the times.
 */
struct redfish_energy {
	uint64_t stale_ns;  /* a reading older than this is no reading (3 intervals) */
	bool have;	    /* a reading is held */
	bool any_power;	    /* some reading was above 0 W: 0 W is then a reading */
	uint64_t t_ns;	    /* when the held reading was taken */
	double rate_w;	    /* the rate held since t_ns (the reading, corrected) */
	double e_uj;	    /* energy at t_ns */
	double reported_uj; /* the most read has returned: never decreases */
	/* The counter: off once found too coarse. */
	bool counter_off;
	bool have_counter;
	double counter0_kwh; /* the counter at the baseline */
	double e0_uj;	     /* our energy at the baseline */
	double last_kwh;
	double last_w; /* the reading itself (without correction) */
	uint64_t interval_ns;
};

void redfish_energy_init(struct redfish_energy *e, uint64_t interval_ns);

/*
 * A reading taken at now_ns: watts, and kwh the BMC's energy counter (< 0:
 * none). Returns 0; 1 when the counter has just been found too coarse (it did
 * not move while the BMC reported power: it is ignored from then on; the
 * caller logs it once); -ENODATA for 0 W from a BMC that has never reported
 * more (no meter behind it: not a reading).
 */
int redfish_energy_sample(struct redfish_energy *e, uint64_t now_ns, double watts, double kwh);

/*
 * Cumulative microjoules at now_ns into *ret_uj, never less than before.
 * -ENODATA before the first reading, -ESTALE when the last one is older than
 * stale_ns (the energy of the gap is not invented: after it the count goes on
 * from what was last returned).
 */
int redfish_energy_read(struct redfish_energy *e, uint64_t now_ns, uint64_t *ret_uj);
